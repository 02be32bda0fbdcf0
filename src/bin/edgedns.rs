//! `edgedns`: the operator's command-line tool. Checks zone files, compiles them into the
//! snapshot the Worker serves, publishes it to Workers KV (through wrangler), and answers
//! queries offline with the same engine.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::{Command, ExitCode};
    use std::str::FromStr;
    use std::time::{SystemTime, UNIX_EPOCH};

    use clap::{Args, Parser, Subcommand};
    use edgedns::client::{Client, ClientSubnet};
    use edgedns::publish;
    use edgedns::query::{EdnsRequest, HeaderEcho, Query};
    use edgedns::server::{self, Zones};
    use edgedns::snapshot;
    use edgedns::zone::compile::{compile_all, SourceFile};
    use edgedns::zone::Catalog;
    use hickory_proto::op::Query as Question;
    use hickory_proto::rr::{Name, RecordType};

    #[derive(Parser)]
    #[command(name = "edgedns", version, about = "Zones for the edgedns DoH Worker: check, compile, publish, query")]
    struct Cli {
        #[command(subcommand)]
        command: Commands,
    }

    #[derive(Subcommand)]
    enum Commands {
        /// Check zone files; errors are printed as file:line: message. Also says what the
        /// health checks cost, and warns when they cannot be probed at their intervals within
        /// the plan's limits.
        Check {
            #[command(flatten)]
            sources: Sources,
            /// The Workers plan the checker runs on (the Worker's WORKERS_PLAN): free (50
            /// subrequests per invocation) or paid (10,000).
            #[arg(long, value_parser = ["free", "paid"], default_value = "free")]
            plan: String,
            /// The checker's heartbeat (the Worker's HEALTH_HEARTBEAT_SECONDS), for the KV
            /// writes a day.
            #[arg(long, default_value_t = edgedns::health::DEFAULT_HEARTBEAT_S)]
            heartbeat_seconds: u32,
        },
        /// Compile zone files into a snapshot: one bundle file, or (--kv-dir) one file per KV
        /// key as publishing would write them.
        Compile {
            #[command(flatten)]
            sources: Sources,
            /// Where to write the bundle.
            #[arg(short, long, required_unless_present = "kv_dir")]
            output: Option<PathBuf>,
            /// A directory to write every KV key into (file name = key), `snapshot:current` too.
            #[arg(long)]
            kv_dir: Option<PathBuf>,
            #[command(flatten)]
            split: Split,
        },
        /// Compile and publish to Workers KV: the shards and manifest first, then the pointer.
        Publish {
            #[command(flatten)]
            sources: Sources,
            #[command(flatten)]
            target: Target,
            #[command(flatten)]
            split: Split,
        },
        /// Show what publishing would change: the zone files compiled against the snapshot the
        /// Worker serves (zones, records, routed sets, health checks). Exit 0 either way.
        Diff {
            #[command(flatten)]
            sources: Sources,
            #[command(flatten)]
            target: Target,
        },
        /// The versions published last (newest first), marking the one the Worker serves.
        Versions {
            #[command(flatten)]
            target: Target,
        },
        /// Point `snapshot:current` back at the version published before the current one (or
        /// --to VERSION), once its image is found to decode.
        Rollback {
            /// The version to serve (as `versions` lists it).
            #[arg(long, value_name = "VERSION")]
            to: Option<String>,
            #[command(flatten)]
            target: Target,
        },
        /// Answer a query offline from the zone files, with the Worker's engine.
        Query {
            /// Zone files or directories to answer from.
            #[arg(short, long = "zones", default_value = "zones")]
            zones: Vec<PathBuf>,
            /// The name to ask for.
            name: String,
            /// The type (mnemonic or number).
            #[arg(default_value = "A")]
            record_type: String,
            /// Pretend the query carried this EDNS Client Subnet (address/prefix).
            #[arg(long)]
            subnet: Option<String>,
            /// Where the client is, as the edge would say it.
            #[command(flatten)]
            location: LocationArgs,
            /// A health snapshot (the JSON the Worker reads from KV) to answer with.
            #[arg(long)]
            health: Option<PathBuf>,
            /// Print the decision trace (what /explain shows).
            #[arg(long)]
            explain: bool,
        },
        /// Health checks as the Worker sees them: list their states, force one up or down.
        #[command(subcommand)]
        Health(HealthCommand),
        /// The DNS firewall's rule list (resolver mode): check it, publish it to KV.
        #[command(subcommand)]
        Firewall(FirewallCommand),
        /// GeoIP tables for locating client subnets: build them from the ip-location-db lists, look up.
        #[command(subcommand)]
        Geoip(geoip::GeoipCommand),
        /// Import another DNS service's configuration into DIR/<zone>.zone (and
        /// DIR/<zone>.routes.toml for routed record sets); prints what was not imported, or
        /// imported with a difference (non-zero exit only when an input is unusable).
        #[command(subcommand)]
        Import(ImportCommand),
    }

    #[derive(Subcommand)]
    enum ImportCommand {
        /// A Route 53 hosted zone (record sets, health checks, CIDR collections) and/or a
        /// traffic policy.
        Route53 {
            #[command(flatten)]
            destination: ImportDestination,
            /// `aws route53 list-resource-record-sets --hosted-zone-id Z...` output.
            #[arg(long, value_name = "FILE")]
            record_sets: Option<PathBuf>,
            /// `aws route53 list-health-checks` output: declares the health checks the sets use.
            #[arg(long, value_name = "FILE")]
            health_checks: Option<PathBuf>,
            /// CIDR collections: {"<CollectionId>": {"<location>": ["<cidr>", ...]}}, or per
            /// collection id the output of `aws route53 list-cidr-blocks --collection-id <id>`.
            #[arg(long, value_name = "FILE")]
            cidr: Option<PathBuf>,
            /// A traffic-policy document (or `aws route53 get-traffic-policy` output) to bind to --policy-name.
            #[arg(long, value_name = "FILE", requires = "policy_name")]
            traffic_policy: Option<PathBuf>,
            /// The name the traffic policy answers for (relative to the zone, @, or absolute).
            #[arg(long, requires = "traffic_policy")]
            policy_name: Option<String>,
            /// TTL of the traffic-policy record [default: 300].
            #[arg(long, requires = "traffic_policy")]
            policy_ttl: Option<u32>,
            /// Publish simple aliases to AWS resources (CloudFront, ELB, S3...) as CNAMEs to their
            /// DNS names where a CNAME may stand (lossy; reported). Default: reported and skipped.
            #[arg(long)]
            external_alias_as_cname: bool,
        },
        /// An octoDNS zone file (the YAML its YamlProvider reads), dynamic records included.
        Octodns {
            #[command(flatten)]
            destination: ImportDestination,
            /// The octoDNS zone file (example.com.yaml).
            #[arg(long, value_name = "FILE")]
            file: PathBuf,
            /// Do not declare the health checks octoDNS would make for dynamic values: values
            /// with `status: obey` then count as always healthy (reported).
            #[arg(long)]
            no_health_checks: bool,
        },
        /// A BIND master file (BIND's own, `dig AXFR` output, another provider's export);
        /// DNSSEC records are dropped (the edge does not sign) and reported.
        Bind {
            #[command(flatten)]
            destination: ImportDestination,
            /// The master file (db.example.com).
            #[arg(long, value_name = "FILE")]
            file: PathBuf,
        },
    }

    /// What every import shares: the zone and where its files go.
    #[derive(Args)]
    struct ImportDestination {
        /// The zone (example.com).
        #[arg(long)]
        zone: String,
        /// Directory to write the files to (created if missing).
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    }

    #[derive(Subcommand)]
    enum FirewallCommand {
        /// Check a rule list; errors are printed as file:line: message.
        Check {
            /// The rule list (one `allow|alert|block <name|*.domain> [answer]` per line).
            file: PathBuf,
        },
        /// Check a rule list and publish it: `firewall:<version>`, then `firewall:current`.
        Publish {
            /// The rule list.
            file: PathBuf,
            #[command(flatten)]
            target: Target,
        },
    }

    #[derive(Subcommand)]
    enum HealthCommand {
        /// Every check of the published zones: state, last result, latency, consecutive
        /// count, interval, target, override; and the health snapshot's age.
        Status {
            #[command(flatten)]
            target: Target,
            /// Print the JSON the admin endpoint serves instead of a table.
            #[arg(long)]
            json: bool,
        },
        /// Force a check (its id) or a single value (`value:192.0.2.10`) up or down until cleared.
        Override {
            /// A health check id, or value:<rdata>.
            name: String,
            /// The forced state.
            #[arg(value_parser = ["up", "down"])]
            state: String,
            /// Why (shown by `health status`).
            #[arg(long, default_value = "")]
            reason: String,
            #[command(flatten)]
            target: Target,
        },
        /// Clear an override.
        Clear {
            /// As given to `override`.
            name: String,
            #[command(flatten)]
            target: Target,
        },
    }

    #[derive(Args)]
    struct Sources {
        /// Zone files, or directories whose `*.zone`, `*.routes.toml` and `delegation-sets.toml`
        /// files are read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    }

    #[derive(Args, Default)]
    struct LocationArgs {
        /// ISO country code.
        #[arg(long)]
        country: Option<String>,
        /// Continent code.
        #[arg(long)]
        continent: Option<String>,
        /// Subdivision code (e.g. WA).
        #[arg(long)]
        region: Option<String>,
        /// Latitude.
        #[arg(long, allow_negative_numbers = true)]
        lat: Option<f64>,
        /// Longitude.
        #[arg(long, allow_negative_numbers = true)]
        lon: Option<f64>,
        /// Autonomous system number.
        #[arg(long)]
        asn: Option<u32>,
        /// Edge location (IATA code).
        #[arg(long)]
        colo: Option<String>,
        /// The connecting address.
        #[arg(long)]
        address: Option<std::net::IpAddr>,
    }

    /// How the snapshot is split into KV values.
    #[derive(Args)]
    struct Split {
        /// About how many KiB of records each shard holds (a cold isolate reads one).
        #[arg(long, default_value_t = (snapshot::DEFAULT_SHARD_BYTES / 1024) as u64, value_parser = clap::value_parser!(u64).range(1..=20_480))]
        shard_kib: u64,
    }

    impl Split {
        fn bytes(&self) -> usize {
            self.shard_kib as usize * 1024
        }
    }

    #[derive(Args)]
    struct Target {
        /// Use the local dev KV (wrangler dev's state).
        #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
        local: bool,
        /// Use the real namespace of the deployed Worker.
        #[arg(long)]
        remote: bool,
        /// The KV binding name in wrangler.toml.
        #[arg(long, default_value = "ZONES")]
        binding: String,
        /// Local state directory (wrangler's --persist-to), for --local.
        #[arg(long)]
        persist_to: Option<PathBuf>,
        /// wrangler configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The wrangler executable (default: ./node_modules/.bin/wrangler, else npx wrangler).
        #[arg(long)]
        wrangler: Option<PathBuf>,
    }

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        match run(cli.command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        }
    }

    fn run(command: Commands) -> Result<(), String> {
        match command {
            Commands::Check { sources, plan, heartbeat_seconds } => {
                let catalog = compile(&sources)?;
                let records: usize = catalog.zones().iter().map(count_records).sum();
                let routed: usize = catalog.zones().iter().flat_map(|zone| zone.nodes()).map(|(_, node)| node.routed_sets().len()).sum();
                let views = match catalog.views() {
                    [] => String::new(),
                    views => format!(
                        ", {} private view{} ({})",
                        views.len(),
                        if views.len() == 1 { "" } else { "s" },
                        views.iter().map(|view| format!("{}: {} zones", view.name, view.zones.zones().len())).collect::<Vec<_>>().join(", ")
                    ),
                };
                println!(
                    "ok: {} zones, {records} records, {routed} routed record sets, {} health checks{views}",
                    catalog.zones().len(),
                    catalog.health_checks().len()
                );
                health_capacity(catalog.health_checks(), &plan, heartbeat_seconds);
                Ok(())
            }
            Commands::Compile { sources, output, kv_dir, split } => {
                let built = build(&compile(&sources)?, split.bytes(), 0)?;
                if let Some(output) = output {
                    let bundle = built.bundle();
                    std::fs::write(&output, &bundle).map_err(|e| format!("{}: {e}", output.display()))?;
                    println!("wrote {} ({} bytes, {} shards)", output.display(), bundle.len(), built.shards.len());
                }
                if let Some(dir) = kv_dir {
                    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    let pointer = (snapshot::CURRENT_KEY.to_owned(), built.manifest_bytes.as_slice());
                    for (key, value) in built.entries().into_iter().chain(std::iter::once(pointer)) {
                        let path = dir.join(&key);
                        // As publishing stores it (binary values as text).
                        std::fs::write(&path, snapshot::storable(value)).map_err(|e| format!("{}: {e}", path.display()))?;
                    }
                    println!(
                        "wrote {} keys to {} (version {}, {} shards, {} bytes)",
                        built.shards.len() + 2,
                        dir.display(),
                        built.manifest.version,
                        built.shards.len(),
                        built.bytes()
                    );
                }
                Ok(())
            }
            Commands::Publish { sources, target, split } => {
                let files = read_sources(&sources)?;
                publish(&compile_files(&files)?, &files, &target, split.bytes())
            }
            Commands::Diff { sources, target } => diff(&compile(&sources)?, &target),
            Commands::Versions { target } => versions(&target),
            Commands::Rollback { to, target } => rollback(to.as_deref(), &target),
            Commands::Query { zones, name, record_type, subnet, location, health, explain } => {
                let health = match health {
                    Some(path) => {
                        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                        Some(edgedns::health::HealthSnapshot::from_json(&text).map_err(|e| format!("{}: {}", path.display(), e.0))?)
                    }
                    None => None,
                };
                let options = QueryOptions { subnet: subnet.as_deref(), location, health, explain };
                query(&compile(&Sources { paths: zones })?, &name, &record_type, options)
            }
            Commands::Geoip(command) => geoip::run(command),
            Commands::Health(command) => health(command),
            Commands::Firewall(command) => firewall(command),
            Commands::Import(command) => import(command),
        }
    }

    /// `edgedns import`: reads the source's files, writes the zone's files, prints the report
    /// (`edgedns::import`).
    fn import(command: ImportCommand) -> Result<(), String> {
        use edgedns::import::{bind, octodns, ImportOptions, Importer};
        let read = |path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
        let (imported, destination) = match command {
            ImportCommand::Route53 { destination, record_sets, health_checks, cidr, traffic_policy, policy_name, policy_ttl, external_alias_as_cname } => {
                if record_sets.is_none() && traffic_policy.is_none() {
                    return Err("give --record-sets FILE and/or --traffic-policy FILE --policy-name NAME".to_owned());
                }
                let zone = &destination.zone;
                let mut importer = Importer::new(&apex(zone)?, ImportOptions { external_alias_as_cname }).map_err(|e| format!("--zone {zone}: {e}"))?;
                if let Some(path) = &record_sets {
                    importer.record_sets(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                if let (Some(path), Some(name)) = (&traffic_policy, &policy_name) {
                    importer.traffic_policy(&read(path)?, name, policy_ttl).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                if let Some(path) = &health_checks {
                    importer.health_checks(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                if let Some(path) = &cidr {
                    importer.cidr_collections(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                (importer.finish(), destination)
            }
            ImportCommand::Octodns { destination, file, no_health_checks } => {
                let options = octodns::Options { without_health_checks: no_health_checks };
                // The error names its place and line: `www.ttl: expected an integer ... (line 3, column 8)`.
                let imported = octodns::import(&apex(&destination.zone)?, &read(&file)?, &options).map_err(|e| format!("{}: {e}", file.display()))?;
                (imported, destination)
            }
            ImportCommand::Bind { destination, file } => {
                // The error names its line: `line 4: $INCLUDE is not supported...`.
                let imported = bind::import(&apex(&destination.zone)?, &read(&file)?).map_err(|e| format!("{}: {e}", file.display()))?;
                (imported, destination)
            }
        };
        write_imported(&imported, &destination)
    }

    /// A zone name from the command line, absolute.
    fn apex(zone: &str) -> Result<Name, String> {
        let mut apex = Name::from_utf8(zone).map_err(|e| format!("bad zone {zone:?}: {e}"))?;
        apex.set_fqdn(true);
        Ok(apex)
    }

    /// Writes an import's files (a routes file only when there is one: a BIND import has
    /// none) and prints what was written and the report.
    fn write_imported(imported: &edgedns::import::Imported, destination: &ImportDestination) -> Result<(), String> {
        use edgedns::import::FindingKind;
        let ImportDestination { output, force, .. } = destination;
        std::fs::create_dir_all(output).map_err(|e| format!("{}: {e}", output.display()))?;
        let has_routes = !imported.routes_file.is_empty();
        let mut files = Vec::new();
        if let Some(master) = &imported.master_file {
            files.push((output.join(imported.master_file_name()), master.clone()));
        }
        if has_routes {
            files.push((output.join(imported.routes_file_name()), imported.routes_file.clone()));
        }
        if !force {
            if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
                return Err(format!("{} exists: give --force to overwrite it", path.display()));
            }
        }
        for (path, text) in &files {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let summary = &imported.summary;
        if imported.master_file.is_some() {
            println!("wrote {} ({} records)", output.join(imported.master_file_name()).display(), summary.master_records);
        } else {
            println!("no record sets given: {} must be beside the routes file (SOA, NS)", output.join(imported.master_file_name()).display());
        }
        if has_routes {
            println!(
                "wrote {} ({} routed record sets, {} health checks, {} CIDR collections)",
                output.join(imported.routes_file_name()).display(),
                summary.routed_sets,
                summary.health_checks,
                summary.cidr_collections
            );
        }
        for finding in &imported.report {
            println!("{finding}");
        }
        let count = |kind: FindingKind| imported.report.iter().filter(|f| f.kind == kind).count();
        println!(
            "{} not imported, {} lossy, {} unresolved, {} invalid",
            count(FindingKind::Skipped),
            count(FindingKind::Lossy),
            count(FindingKind::Unresolved),
            count(FindingKind::Invalid)
        );
        if summary.passes_check {
            println!("`edgedns check {}` passes", output.display());
        } else {
            println!("`edgedns check {}` fails until the unresolved/invalid lines above are dealt with", output.display());
        }
        Ok(())
    }

    fn count_records(zone: &edgedns::zone::Zone) -> usize {
        zone.record_count()
    }

    fn zone_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
                    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                        .filter(|path| {
                            let text = path.to_string_lossy();
                            path.extension().is_some_and(|ext| ext == "zone")
                                || text.ends_with(".routes.toml")
                                || edgedns::zone::delegation::is_delegation_sets_file(&text)
                                || path.file_name().is_some_and(|name| name == edgedns::zone::compile::VIEW_FILE)
                        })
                        .collect();
                    found.sort();
                    Ok(found)
                };
                let found = list(path)?;
                if found.is_empty() {
                    return Err(format!("{}: no *.zone files", path.display()));
                }
                files.extend(found);
                // Private views: DIR/views/<name>/ (view.toml, zone and routes files).
                let views = path.join("views");
                if views.is_dir() {
                    let mut names: Vec<PathBuf> = std::fs::read_dir(&views)
                        .map_err(|e| format!("{}: {e}", views.display()))?
                        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                        .filter(|path| path.is_dir())
                        .collect();
                    names.sort();
                    for view in names {
                        files.extend(list(&view)?);
                    }
                }
            } else {
                files.push(path.clone());
            }
        }
        Ok(files)
    }

    fn compile(sources: &Sources) -> Result<Catalog, String> {
        compile_files(&read_sources(sources)?)
    }

    /// Every zone and routes file the arguments name, read.
    fn read_sources(sources: &Sources) -> Result<Vec<SourceFile>, String> {
        let mut files = Vec::new();
        for path in zone_files(&sources.paths)? {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push(SourceFile { path: path.display().to_string(), text });
        }
        Ok(files)
    }

    /// A progress line on stderr (stdout stays the command's result), with the time since the
    /// command started: long operations (large zones, many keys) say where they are.
    fn progress(message: &str) {
        static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let started = STARTED.get_or_init(std::time::Instant::now);
        if std::env::var_os("EDGEDNS_QUIET").is_none() {
            eprintln!("[{:>7.2}s] {message}", started.elapsed().as_secs_f64());
        }
    }

    fn compile_files(files: &[SourceFile]) -> Result<Catalog, String> {
        let bytes: usize = files.iter().map(|file| file.text.len()).sum();
        progress(&format!("compiling {} files ({bytes} bytes)", files.len()));
        let catalog = compile_all(files).map_err(|errors| {
            let mut message: Vec<String> = errors.iter().map(ToString::to_string).collect();
            message.push(format!("{} error(s); nothing was compiled", errors.len()));
            message.join("\n")
        })?;
        let records: usize = catalog.zones().iter().map(count_records).sum();
        progress(&format!("compiled {} zones, {records} records", catalog.zones().len()));
        Ok(catalog)
    }

    fn build(catalog: &Catalog, shard_bytes: usize, now: u64) -> Result<snapshot::Built, String> {
        let built = snapshot::build(catalog, shard_bytes, now).map_err(|e| format!("cannot encode snapshot: {}", e.0))?;
        progress(&format!("split into {} shard(s), {} bytes", built.shards.len(), built.bytes()));
        Ok(built)
    }

    fn wrangler_command(target: &Target, verb: &str) -> Command {
        let local = Path::new("node_modules/.bin/wrangler");
        let mut command = match &target.wrangler {
            Some(path) => Command::new(path),
            None if local.exists() => Command::new(local),
            None => {
                let mut npx = Command::new("npx");
                npx.arg("wrangler");
                npx
            }
        };
        match verb.strip_prefix("bulk ") {
            Some(bulk) => command.args(["kv", "bulk", bulk, "--binding", &target.binding]),
            None => command.args(["kv", "key", verb, "--binding", &target.binding]),
        };
        command.arg(if target.local { "--local" } else { "--remote" });
        if let Some(dir) = &target.persist_to {
            command.arg("--persist-to").arg(dir);
        }
        if let Some(config) = &target.config {
            command.arg("--config").arg(config);
        }
        command.env("WRANGLER_SEND_METRICS", "false");
        // No banner: printing it asks the npm registry for a newer wrangler on every call.
        command.env("WRANGLER_HIDE_BANNER", "true");
        command
    }

    /// Reads a key through wrangler (`kv bulk get`, as [`get_many`]); `None` when it is
    /// missing. Not `kv key get`: remotely, wrangler 4.86 reports a missing key as an error (the
    /// API's 404, "Failed to fetch ... 404: Not Found"), locally as "Value not found", so a
    /// first deploy could not even read the missing `snapshot:current`. Every value read this
    /// way is text (the pointer and manifests as [`snapshot::storable`] makes them, JSON).
    fn get(target: &Target, key: &str) -> Result<Option<Vec<u8>>, String> {
        let value = get_many(target, &[key.to_owned()])?.pop().flatten();
        Ok(value.map(|text| snapshot::from_text(text.into_bytes())))
    }

    /// Writes a key's value through wrangler (from a temporary file: values may be binary).
    fn put_bytes(target: &Target, key: &str, value: &[u8]) -> Result<(), String> {
        let file = std::env::temp_dir().join(format!("edgedns-put-{}-{}", std::process::id(), key.replace(':', "_")));
        std::fs::write(&file, value).map_err(|e| format!("{}: {e}", file.display()))?;
        let result = put(target, key, &file);
        let _ = std::fs::remove_file(&file);
        result
    }

    /// Writes many keys with one wrangler call (`kv bulk put`) per batch. The values are text
    /// (the publish sequence stores binary ones as [`snapshot::storable`] makes them), locally
    /// and remotely alike: wrangler's local bulk put mangles binary base64 values
    /// (workers-sdk#15192, fixed after the wrangler pinned here), and `kv bulk get`, which reads
    /// values back for `diff` and `rollback`, returns text. Batches stay under the bulk API's
    /// limits (10,000 keys, 100 MB a request).
    fn put_many(target: &Target, entries: &[(String, String)]) -> Result<(), String> {
        const BATCH_BYTES: usize = 90 * 1024 * 1024;
        let mut batch: Vec<serde_json::Value> = Vec::new();
        let mut bytes = 0;
        for (key, value) in entries {
            if !batch.is_empty() && (batch.len() == 10_000 || bytes + value.len() > BATCH_BYTES) {
                bulk_put(target, &batch, batch.len())?;
                batch.clear();
                bytes = 0;
            }
            bytes += value.len();
            batch.push(serde_json::json!({"key": key, "value": value}));
        }
        if batch.is_empty() {
            Ok(())
        } else {
            bulk_put(target, &batch, batch.len())
        }
    }

    /// Reads many keys (`kv bulk get`, at most 100 a call) as the text stored; `None` for a
    /// missing key.
    fn get_many(target: &Target, keys: &[String]) -> Result<Vec<Option<String>>, String> {
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let output = bulk(target, "get", chunk, &format!("reading {} keys", chunk.len()))?;
            // The JSON object comes first; wrangler may print more after it.
            let start = output.iter().position(|&byte| byte == b'{').ok_or("wrangler kv bulk get printed no JSON")?;
            let read: serde_json::Map<String, serde_json::Value> = serde_json::Deserializer::from_slice(&output[start..])
                .into_iter()
                .next()
                .ok_or("wrangler kv bulk get printed no JSON")?
                .map_err(|e| format!("wrangler kv bulk get: {e}"))?;
            for key in chunk {
                let value = read.get(key).and_then(|entry| entry.get("value").or(Some(entry))).and_then(serde_json::Value::as_str);
                values.push(value.map(str::to_owned));
            }
        }
        Ok(values)
    }

    fn bulk_put(target: &Target, pairs: &[serde_json::Value], count: usize) -> Result<(), String> {
        bulk(target, "put", pairs, &format!("writing {count} keys")).map(drop)
    }

    /// Deletes many keys with one wrangler call (`kv bulk delete`) per 10,000.
    fn delete_many(target: &Target, keys: &[String]) -> Result<(), String> {
        for chunk in keys.chunks(10_000) {
            bulk(target, "delete", chunk, &format!("deleting {} keys", chunk.len()))?;
        }
        Ok(())
    }

    /// The namespace behind wrangler, as the publish sequence's store: each call one wrangler
    /// process (bulk, batched), done by the time its future is first polled.
    struct Wrangler<'a>(&'a Target);

    impl publish::Store for Wrangler<'_> {
        async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, publish::StoreError> {
            get_many(self.0, keys).map_err(publish::StoreError)
        }

        async fn put_many(&self, entries: &[(String, String)]) -> Result<(), publish::StoreError> {
            put_many(self.0, entries).map_err(publish::StoreError)
        }

        async fn delete_many(&self, keys: &[String]) -> Result<(), publish::StoreError> {
            delete_many(self.0, keys).map_err(publish::StoreError)
        }

        fn progress(&self, message: &str) {
            progress(message);
        }
    }

    /// `wrangler kv bulk <verb> FILE` with `list` as the JSON file; its standard output.
    fn bulk<T: serde::Serialize>(target: &Target, verb: &str, list: &[T], what: &str) -> Result<Vec<u8>, String> {
        let file = std::env::temp_dir().join(format!("edgedns-bulk-{verb}-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec(list).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut command = wrangler_command(target, &format!("bulk {verb}"));
        command.arg(&file);
        if verb == "delete" {
            command.arg("--force");
        }
        let output = command.output().map_err(|e| format!("cannot run wrangler: {e}"));
        let _ = std::fs::remove_file(&file);
        let output = output?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(wrangler_failed(what, &output))
        }
    }

    fn put(target: &Target, key: &str, file: &Path) -> Result<(), String> {
        let mut command = wrangler_command(target, "put");
        command.arg(key).arg("--path").arg(file);
        let output = command.output().map_err(|e| format!("cannot run wrangler: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(wrangler_failed(&format!("writing {key}"), &output))
        }
    }

    /// A failed wrangler call in words: what it was doing, what wrangler said, and what to do
    /// about the API's answers that have a remedy.
    fn wrangler_failed(what: &str, output: &std::process::Output) -> String {
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let mut message = format!("wrangler failed {what}:\n{said}");
        // The API's authentication error (an expired, revoked or mistyped token, or one
        // without the permission): wrangler names neither the variable nor the permission.
        if said.contains("[code: 10000]") {
            message.push_str(
                "the Cloudflare API refused the API token: check CLOUDFLARE_API_TOKEN (expired or revoked?) and that it has the \
                 Workers KV Storage Edit permission on the account CLOUDFLARE_ACCOUNT_ID names",
            );
        }
        // The API's rate limit (1,200 requests in five minutes for a user, all of their
        // tokens together; past it, every call is refused for a while): wrangler does not retry.
        if said.contains("[code: 971]") {
            message.push_str(
                "the Cloudflare API is rate limiting this account's calls (1,200 requests in five minutes): wait a few minutes, \
                 then run the command again",
            );
        }
        message
    }

    /// The manifest the Worker serves (`snapshot:current`); `None` when nothing was published.
    fn current(target: &Target) -> Result<Option<snapshot::Manifest>, String> {
        match get(target, snapshot::CURRENT_KEY)? {
            Some(bytes) => snapshot::Manifest::decode(&bytes).map(Some).map_err(|e| format!("{}: {e}", snapshot::CURRENT_KEY)),
            None => Ok(None),
        }
    }

    /// The version `snapshot:current` names; `None` when nothing was published.
    fn current_version(target: &Target) -> Result<Option<String>, String> {
        Ok(current(target)?.map(|manifest| manifest.version))
    }

    /// The manifest the Worker serves, which must exist.
    fn published(target: &Target) -> Result<snapshot::Manifest, String> {
        current(target)?.ok_or_else(|| "nothing published yet (snapshot:current is missing)".to_owned())
    }

    /// A published version's manifest.
    fn published_manifest(target: &Target, version: &str) -> Result<snapshot::Manifest, String> {
        let bytes = get(target, &snapshot::version_key(version))?.ok_or_else(|| format!("snapshot {version} is missing from KV"))?;
        snapshot::Manifest::decode(&bytes).map_err(|e| format!("snapshot {version} is unusable: {e}"))
    }

    /// A published version's shards (`kv bulk get`, 100 a call; every shard must be there).
    fn published_shards(target: &Target, manifest: &snapshot::Manifest) -> Result<Vec<Vec<u8>>, String> {
        let keys: Vec<String> = (0..manifest.shards().len()).map(|n| snapshot::shard_key(&manifest.version, n)).collect();
        progress(&format!("reading {} shard(s) of {}", keys.len(), manifest.version));
        let values = get_many(target, &keys)?;
        keys.iter()
            .zip(values)
            .map(|(key, value)| value.map(|text| snapshot::from_text(text.into_bytes())).ok_or_else(|| format!("{key} is missing from KV")))
            .collect()
    }

    /// A published version, reassembled from its shards.
    fn published_version(target: &Target, version: &str) -> Result<Catalog, String> {
        let manifest = published_manifest(target, version)?;
        let shards = published_shards(target, &manifest)?;
        manifest.assemble(&shards).map_err(|e| format!("snapshot {version} is unusable: {e}"))
    }

    /// `edgedns diff`: the comparison is `edgedns::zone::diff`; this only fetches and prints.
    fn diff(catalog: &Catalog, target: &Target) -> Result<(), String> {
        let place = if target.local { "local" } else { "remote" };
        let served = match current_version(target)? {
            Some(version) => {
                println!("against snapshot {version} ({place} KV binding {})", target.binding);
                published_version(target, &version)?
            }
            None => {
                println!("nothing published yet ({place} KV binding {}): every zone is new", target.binding);
                Catalog::default()
            }
        };
        println!("{}", edgedns::zone::diff::diff(&served, catalog));
        Ok(())
    }

    /// `edgedns check`'s account of the health checks: what they cost in their busiest minute
    /// and a day on `plan`, with a warning (stderr) for each way they do not fit.
    fn health_capacity(checks: &std::collections::BTreeMap<String, edgedns::health::spec::HealthCheckSpec>, plan: &str, heartbeat_s: u32) {
        use edgedns::health::schedule::{self, Plan};
        let probed = checks.values().filter(|spec| schedule::is_probed(spec)).count();
        if probed == 0 {
            return;
        }
        let plan = Plan::parse(plan).unwrap_or(Plan::Free);
        let capacity = schedule::capacity(checks, plan.limits());
        let heartbeat_s = edgedns::health::heartbeat_within_limits(heartbeat_s);
        let heartbeats = 86_400 / u64::from(heartbeat_s);
        // A run reads health:current and health:overrides (and the manifest when its isolate is cold).
        let reads = 2 * 1_440;
        println!(
            "health checks on the {} plan: {} probes in the busiest minute ({} rounds) of {} subrequests an invocation has for them, {} probes a day; \
             KV: {heartbeats} heartbeat writes a day (every {heartbeat_s} s) + 1 per state change, about {reads} reads a day",
            plan.name(),
            capacity.probes_per_minute,
            capacity.rounds,
            capacity.probe_budget,
            capacity.probes_per_day,
        );
        let mut warnings = capacity.warnings(plan.name());
        if plan == Plan::Free && heartbeats > 1_000 {
            warnings
                .push(format!("a heartbeat every {heartbeat_s} s writes health:current {heartbeats} times a day, over the free plan's 1,000 KV writes a day"));
        }
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
    }

    fn health(command: HealthCommand) -> Result<(), String> {
        use edgedns::admin::{change_overrides, AdminRequest};
        use edgedns::health::{override_target, overrides_from_json, status, HealthSnapshot, Override, Stored, HEALTH_KEY, OVERRIDES_KEY};
        // Corrupt values are reported and read as missing: writing replaces them.
        let read_overrides = |target: &Target| -> Result<Stored<edgedns::health::Overrides>, String> {
            let bytes = get(target, OVERRIDES_KEY)?;
            Ok(Stored::parse(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).as_deref(), overrides_from_json))
        };
        let read_measured = |target: &Target| -> Result<Stored<HealthSnapshot>, String> {
            let bytes = get(target, HEALTH_KEY)?;
            Ok(Stored::parse(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).as_deref(), HealthSnapshot::from_json))
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let (target, request) = match command {
            HealthCommand::Status { target, json } => {
                let manifest = published(&target)?;
                let (measured, overrides) = (read_measured(&target)?, read_overrides(&target)?);
                let problems = [measured.problem(HEALTH_KEY), overrides.problem(OVERRIDES_KEY)].into_iter().flatten().collect();
                let mut report = status::report(manifest.health_checks(), &measured.value().unwrap_or_default(), &overrides.value().unwrap_or_default(), now);
                report.problems = problems;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
                } else {
                    print!("{}", report.table());
                }
                return Ok(());
            }
            HealthCommand::Override { name, state, reason, target } => {
                let forced = Override { healthy: state == "up", reason, set_at: Some(now) };
                (target, AdminRequest::SetOverride { target: override_target(&name), forced })
            }
            HealthCommand::Clear { name, target } => (target, AdminRequest::ClearOverride { target: override_target(&name) }),
        };
        let manifest = published(&target)?;
        let stored = read_overrides(&target)?;
        let corrupt = stored.problem(OVERRIDES_KEY);
        let mut overrides = stored.value().unwrap_or_default();
        let changed = change_overrides(&mut overrides, manifest.health_checks(), request).map_err(|e| e.message())?;
        // A corrupt value is replaced even when the change itself is a no-op.
        if changed || corrupt.is_some() {
            if let Some(problem) = corrupt {
                eprintln!("replacing it: {problem}");
            }
            let json = serde_json::to_vec(&overrides).map_err(|e| e.to_string())?;
            put_bytes(&target, OVERRIDES_KEY, &json)?;
            // The copy `health:current` carries, which cold isolates read alone (a corrupt
            // value is replaced by "no data" with the overrides).
            let measured = read_measured(&target)?;
            if let Some(problem) = measured.problem(HEALTH_KEY) {
                eprintln!("replacing it: {problem}");
            }
            let measured = measured.value().unwrap_or_default();
            let patched = serde_json::to_vec(&measured.with_overrides_replaced(overrides.clone())).map_err(|e| e.to_string())?;
            put_bytes(&target, HEALTH_KEY, &patched)?;
            println!("overrides now: {}", serde_json::to_string(&overrides).map_err(|e| e.to_string())?);
        } else {
            println!("no such override: nothing changed");
        }
        Ok(())
    }

    fn firewall(command: FirewallCommand) -> Result<(), String> {
        use edgedns::resolver::firewall::{self, Firewall};
        let (FirewallCommand::Check { file } | FirewallCommand::Publish { file, .. }) = &command;
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let rules = Firewall::load(&text).map_err(|error| match error {
            firewall::ListError::Lines(error) => {
                error.0.iter().map(|(line, message)| format!("{}:{line}: {message}", file.display())).collect::<Vec<_>>().join("\n")
            }
            too_large => format!("{}: {too_large}", file.display()),
        })?;
        match command {
            FirewallCommand::Check { .. } => println!("ok: {} rules", rules.len()),
            FirewallCommand::Publish { target, .. } => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let version = snapshot::version_id(text.as_bytes(), now);
                put_bytes(&target, &firewall::version_key(&version), text.as_bytes())?;
                put_bytes(&target, firewall::CURRENT_KEY, version.as_bytes())?;
                println!("published firewall {version}: {} rules", rules.len());
            }
        }
        Ok(())
    }

    /// Publishes through [`edgedns::publish::publish`]: the shards, manifest and sources (one
    /// bulk write), then `snapshot:current`, which readers follow, then the history and the
    /// deletion of versions past retention.
    fn publish(catalog: &Catalog, files: &[SourceFile], target: &Target, shard_bytes: usize) -> Result<(), String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let built = build(catalog, shard_bytes, now)?;
        let report = publish::block_on(publish::publish(&Wrangler(target), &built, files, now, &publish::Retention::DEFAULT)).map_err(|error| match error {
            // Some of the version's keys may be written, but not the pointer readers follow.
            publish::PublishError::Store(error) => format!(
                "{error}\npublish stopped before {} named {}: the Worker serves the version it served before (`edgedns versions`); publish again",
                snapshot::CURRENT_KEY,
                built.manifest.version
            ),
            other => other.to_string(),
        })?;
        println!(
            "published {}: {} zones, {} shard(s), {} bytes, to {} KV binding {}",
            report.version,
            catalog.zones().len(),
            built.shards.len(),
            built.bytes(),
            if target.local { "local" } else { "remote" },
            target.binding
        );
        print_settled(&report.deleted, &report.warnings);
        Ok(())
    }

    /// What a publish or rollback deleted (retention), and its warnings (on stderr).
    fn print_settled(deleted: &[String], warnings: &[String]) {
        if !deleted.is_empty() {
            println!(
                "deleted {} version(s) past retention (not among the last {}, not current for {} minutes): {}",
                deleted.len(),
                publish::HISTORY_LENGTH,
                publish::GRACE_SECONDS / 60,
                deleted.join(", ")
            );
        }
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
    }

    /// `edgedns versions`: the history, the current version marked with `*`.
    fn versions(target: &Target) -> Result<(), String> {
        let state = publish::block_on(publish::state(&Wrangler(target))).map_err(|e| e.to_string())?;
        let current = state.current_version();
        let history = state.history.as_ref().map_err(ToString::to_string)?;
        if history.is_empty() {
            match (&state.current, current) {
                (_, Some(version)) => println!("no publish history yet; current: {version}"),
                (Err(error), None) => println!("no publish history yet; {} is unusable: {error}", snapshot::CURRENT_KEY),
                (Ok(_), None) => println!("nothing published yet"),
            }
            return Ok(());
        }
        for entry in history {
            let mark = if current == Some(entry.version.as_str()) { "*" } else { " " };
            println!("{mark} {}  {}  {} zones", entry.version, utc(entry.published_at), entry.zones);
        }
        match (&state.current, current) {
            (_, Some(version)) if !history.iter().any(|entry| entry.version == version) => println!("current: {version} (not in the history)"),
            (Err(error), _) => println!("{} is unusable: {error}", snapshot::CURRENT_KEY),
            (Ok(None), _) => println!("{} is missing", snapshot::CURRENT_KEY),
            _ => {}
        }
        Ok(())
    }

    /// `edgedns rollback` through [`edgedns::publish::rollback`]: checks the version's manifest
    /// and every shard, then rewrites the pointer (the Worker picks it up at its next refresh,
    /// like a publish) and records the move in the history.
    fn rollback(to: Option<&str>, target: &Target) -> Result<(), String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let report = publish::block_on(publish::rollback(&Wrangler(target), to, now, None, &publish::Retention::DEFAULT)).map_err(|e| e.to_string())?;
        let previous = report.previous.as_deref().unwrap_or("(unreadable)");
        println!("{}: {previous} -> {} ({} zones)", snapshot::CURRENT_KEY, report.version, report.manifest.public_zones());
        print_settled(&report.deleted, &report.warnings);
        Ok(())
    }

    /// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
    fn utc(unix_seconds: u64) -> String {
        let days = (unix_seconds / 86_400) as i64;
        let seconds = unix_seconds % 86_400;
        // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", seconds / 3_600, seconds / 60 % 60, seconds % 60)
    }

    struct QueryOptions<'a> {
        subnet: Option<&'a str>,
        location: LocationArgs,
        health: Option<edgedns::health::HealthSnapshot>,
        explain: bool,
    }

    fn query(catalog: &Catalog, name: &str, record_type: &str, options: QueryOptions<'_>) -> Result<(), String> {
        let subnet = options.subnet;
        let mut name = Name::from_utf8(name).map_err(|e| format!("bad name {name:?}: {e}"))?;
        name.set_fqdn(true);
        let record_type = record_type
            .parse::<u16>()
            .map(RecordType::from)
            .or_else(|_| RecordType::from_str(&record_type.to_ascii_uppercase()))
            .map_err(|_| format!("unknown type {record_type:?}"))?;
        let client_subnet = match subnet {
            Some(text) => Some(ClientSubnet::new(text.parse().map_err(|_| format!("bad subnet {text:?}"))?)),
            None => None,
        };
        let query = Query {
            header: HeaderEcho { id: 0, opcode: 0, recursion_desired: false, checking_disabled: false, authentic_data: false },
            question: Question::query(name, record_type),
            edns: Some(EdnsRequest { dnssec_ok: false, client_subnet }),
        };
        let explain = options.explain;
        let location = options.location;
        let client = Client {
            address: location.address,
            location: edgedns::client::EdgeLocation {
                country: location.country,
                continent: location.continent,
                region_code: location.region,
                city: None,
                latitude: location.lat,
                longitude: location.lon,
                asn: location.asn,
                colo: location.colo,
            },
            location_source: None,
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut random = edgedns::policy::SplitMix::new(now.as_nanos() as u64);
        let given = options.health.is_some();
        let snapshot = options.health.unwrap_or_default().with_initial_states(catalog.health_checks());
        let health = snapshot.view(now.as_millis() as u64);
        if given && health.stale {
            println!(";; health snapshot is stale (older than two heartbeats): every check counts as healthy");
        }
        let mut environment = server::Environment { client: &client, health: &health, random: &mut random, locator: None };
        let mut trace = Vec::new();
        let resolution = server::resolve(&query, Zones::Loaded(catalog), &mut environment, explain.then_some(&mut trace));
        for line in &trace {
            println!(";; explain: {line}");
        }
        println!(";; status: {:?}, aa: {}, scope: {}", resolution.rcode, resolution.authoritative, resolution.scope);
        for (section, records) in [("ANSWER", &resolution.answers), ("AUTHORITY", &resolution.authority), ("ADDITIONAL", &resolution.additional)] {
            if !records.is_empty() {
                println!(";; {section}");
                for record in records {
                    println!("{record}");
                }
            }
        }
        Ok(())
    }

    /// `edgedns geoip`: builds the GeoIP tables the Worker locates client subnets with
    /// (format and semantics: `edgedns::geo::ipdb`) and looks addresses up in them.
    mod geoip {
        use std::path::{Path, PathBuf};
        use std::time::Instant;

        use clap::{ArgGroup, Args, Subcommand};
        use edgedns::geo::ipdb::{self, IpTable, Kind};
        use ipnet::IpNet;

        /// Where `npm ci` puts the pinned ip-location-db lists.
        const COUNTRY_V4: &str = "node_modules/@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv4.csv";
        const COUNTRY_V6: &str = "node_modules/@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv6.csv";
        const ASN_V4: &str = "node_modules/@ip-location-db/asn/asn-ipv4.csv";
        const ASN_V6: &str = "node_modules/@ip-location-db/asn/asn-ipv6.csv";

        #[derive(Subcommand)]
        pub enum GeoipCommand {
            /// Build GeoIP tables from ip-location-db CSV lists: the country table (-o) and/or
            /// the ASN table (--asn-output). Lists default to the npm packages in node_modules/.
            Build(BuildArgs),
            /// Look an address or a client subnet (198.51.100.0/24) up in a table: prints the
            /// value (or "none") and the network it holds for (the ECS scope).
            Lookup {
                /// A table built by `geoip build`.
                file: PathBuf,
                /// An IPv4 or IPv6 address, or a network in CIDR notation.
                address: String,
            },
            /// Publish built tables to Workers KV: each image first, then `geoip:current`.
            Publish {
                /// The country table.
                #[arg(long, value_name = "FILE")]
                country: Option<PathBuf>,
                /// The ASN table.
                #[arg(long, value_name = "FILE")]
                asn: Option<PathBuf>,
                #[command(flatten)]
                target: super::Target,
            },
        }

        #[derive(Args)]
        #[command(group(ArgGroup::new("outputs").required(true).multiple(true).args(["output", "asn_output"])))]
        pub struct BuildArgs {
            /// IPv4 country list, start,end,country [default: node_modules/@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv4.csv].
            #[arg(long, value_name = "FILE")]
            country_v4: Option<PathBuf>,
            /// IPv6 country list [default: ...-ipv6.csv beside the IPv4 one].
            #[arg(long, value_name = "FILE")]
            country_v6: Option<PathBuf>,
            /// Where to write the country table.
            #[arg(short, long, value_name = "OUT")]
            output: Option<PathBuf>,
            /// IPv4 ASN list, start,end,asn,org [default: node_modules/@ip-location-db/asn/asn-ipv4.csv].
            #[arg(long, value_name = "FILE")]
            asn_v4: Option<PathBuf>,
            /// IPv6 ASN list [default: node_modules/@ip-location-db/asn/asn-ipv6.csv].
            #[arg(long, value_name = "FILE")]
            asn_v6: Option<PathBuf>,
            /// Where to write the ASN table (built only when given).
            #[arg(long, value_name = "OUT")]
            asn_output: Option<PathBuf>,
            /// Keep what the lists say about private, shared, loopback, link-local,
            /// documentation and multicast space (cut out by default: never located).
            #[arg(long)]
            keep_special_purpose: bool,
        }

        pub fn run(command: GeoipCommand) -> Result<(), String> {
            match command {
                GeoipCommand::Build(args) => build(args),
                GeoipCommand::Lookup { file, address } => lookup(&file, &address),
                GeoipCommand::Publish { country, asn, target } => publish(country, asn, &target),
            }
        }

        /// Checks each table, writes it under `geoip:<kind>:<version>`, then points
        /// `geoip:current` at the version (readers never see a half-published pair).
        fn publish(country: Option<PathBuf>, asn: Option<PathBuf>, target: &super::Target) -> Result<(), String> {
            if country.is_none() && asn.is_none() {
                return Err("give --country and/or --asn".to_owned());
            }
            let mut images = Vec::new();
            for (kind, path) in [("country", country), ("asn", asn)] {
                let Some(path) = path else { continue };
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                IpTable::decode(bytes.clone()).map_err(|e| format!("{}: {e}", path.display()))?;
                images.push((kind, path, bytes));
            }
            let all: Vec<u8> = images.iter().flat_map(|(_, _, bytes)| bytes.iter().copied()).collect();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let version = edgedns::snapshot::version_id(&all, now);
            for (kind, path, _) in &images {
                super::put(target, &edgedns::geo::geoip_key(kind, &version), path)?;
            }
            let pointer = std::env::temp_dir().join(format!("edgedns-geoip-{}.txt", std::process::id()));
            std::fs::write(&pointer, &version).map_err(|e| format!("{}: {e}", pointer.display()))?;
            let result = super::put(target, edgedns::geo::GEOIP_CURRENT_KEY, &pointer);
            let _ = std::fs::remove_file(&pointer);
            result?;
            println!("published GeoIP {version} ({} table(s))", images.len());
            Ok(())
        }

        fn build(args: BuildArgs) -> Result<(), String> {
            let pick = |given: Option<PathBuf>, default: &str| given.unwrap_or_else(|| PathBuf::from(default));
            match &args.output {
                Some(output) => {
                    let inputs = [pick(args.country_v4, COUNTRY_V4), pick(args.country_v6, COUNTRY_V6)];
                    build_table(Kind::Country, &inputs, output, args.keep_special_purpose)?;
                }
                None if args.country_v4.is_some() || args.country_v6.is_some() => {
                    return Err("--country-v4/--country-v6 need -o OUT (where to write the country table)".into());
                }
                None => {}
            }
            match &args.asn_output {
                Some(output) => {
                    let inputs = [pick(args.asn_v4, ASN_V4), pick(args.asn_v6, ASN_V6)];
                    build_table(Kind::Asn, &inputs, output, args.keep_special_purpose)?;
                }
                None if args.asn_v4.is_some() || args.asn_v6.is_some() => {
                    return Err("--asn-v4/--asn-v6 need --asn-output OUT (where to write the ASN table)".into());
                }
                None => {}
            }
            Ok(())
        }

        fn build_table(kind: Kind, inputs: &[PathBuf], output: &Path, keep_special: bool) -> Result<(), String> {
            let started = Instant::now();
            let mut ranges = Vec::new();
            for path in inputs {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    let hint = if path.starts_with("node_modules") { " (run `npm ci` first)" } else { "" };
                    format!("{}: {e}{hint}", path.display())
                })?;
                let read = ipdb::parse_csv(&text, kind).map_err(|e| match e {
                    ipdb::BuildError::Csv { line, message } => format!("{}:{line}: {message}", path.display()),
                    other => format!("{}: {other}", path.display()),
                })?;
                println!("{kind}: {} ranges from {}", read.len(), path.display());
                ranges.extend(read);
            }
            let cut = if keep_special {
                0
            } else {
                let (kept, cut) = ipdb::without_special_purpose(ranges);
                ranges = kept;
                cut
            };
            let (image, stats) = ipdb::build_with_stats(ranges).map_err(|e| format!("{kind} table: {e}"))?;
            let elapsed = started.elapsed();
            println!(
                "{kind}: {} IPv4 + {} IPv6 overlapping ranges resolved (narrowest wins); {cut} cut around special-purpose networks",
                stats.overlapping.0, stats.overlapping.1
            );
            println!(
                "{kind}: {} IPv4 + {} IPv6 records, {} bytes ({:.2} MiB), built in {:.2} s",
                stats.records.0,
                stats.records.1,
                image.len(),
                image.len() as f64 / (1024.0 * 1024.0),
                elapsed.as_secs_f64()
            );
            if image.len() >= ipdb::KV_VALUE_LIMIT {
                return Err(format!("{kind} table is {} bytes, over the 25 MiB Workers KV value limit: not written", image.len()));
            }
            std::fs::write(output, &image).map_err(|e| format!("{}: {e}", output.display()))?;
            println!("wrote {} ({} bytes)", output.display(), image.len());
            Ok(())
        }

        fn lookup(file: &Path, address: &str) -> Result<(), String> {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let table = IpTable::decode(bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            let network: IpNet = if address.contains('/') {
                address.parse().map_err(|_| format!("bad network {address:?}"))?
            } else {
                IpNet::from(address.parse::<std::net::IpAddr>().map_err(|_| format!("bad address {address:?}"))?)
            };
            let located = table.locate(network);
            match located.value {
                Some(value) => println!("{value} {}", located.network),
                None => println!("none {}", located.network),
            }
            Ok(())
        }
    }
}
