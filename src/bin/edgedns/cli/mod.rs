//! The command line: the commands, their arguments, and where each is carried out.

mod args;
mod deploy;
mod dnssec;
mod firewall;
mod geoip;
mod health;
mod import;
mod kv;
mod publish;
mod query;
mod remote;
mod sources;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use std::path::PathBuf;

use args::{Sources, Split, Target};
use edgedns::snapshot;
use edgedns::zone::diff::Format;
use firewall::FirewallCommand;
use health::HealthCommand;
use import::ImportCommand;
use query::{LocationArgs, QueryOptions};
use sources::{build, compile, compile_files, count_records, health_capacity, read_sources};

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
        /// text (a terminal), markdown (a pull request's change summary), json (tools).
        #[arg(long, value_parser = Format::NAMES, default_value = "text")]
        format: String,
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
        /// Ask a deployed Worker instead, over DNS over HTTPS (its URL, `https://dns.example.com`
        /// or the full `.../dns-query` path); only --subnet applies then.
        #[arg(long, value_name = "URL", conflicts_with_all = ["health", "explain", "LocationArgs"])]
        remote_url: Option<String>,
    },
    /// Ask a deployed Worker every question of a probes file (`[[probe]]` tables: name, type,
    /// subnet, and answers, answers_within or rcode) and check the answers; exit 1 when one
    /// differs. For after a deploy, in CI.
    Probe {
        /// The Worker's URL (`https://dns.example.com`, or the full DoH path).
        #[arg(long, value_name = "URL")]
        remote_url: String,
        /// The probes file (TOML).
        file: PathBuf,
    },
    /// Release to a wrangler environment: check, diff, confirm, publish, `wrangler deploy`, and
    /// probe (with --probe), stopping at the first step that fails.
    Deploy(deploy::DeployArgs),
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
    /// DNSSEC keys: make a zone's key (a Worker secret), print its DS for the registrar, show
    /// its state.
    #[command(subcommand)]
    Dnssec(dnssec::DnssecCommand),
}

pub(super) fn main() -> ExitCode {
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
            publish::publish(&compile_files(&files)?, &files, &target, split.bytes()).map(drop)
        }
        Commands::Diff { sources, target, format } => publish::diff(&compile(&sources)?, &target, Format::parse(&format).unwrap_or_default()),
        Commands::Versions { target } => publish::versions(&target),
        Commands::Rollback { to, target } => publish::rollback(to.as_deref(), &target),
        Commands::Query { name, record_type, subnet, remote_url: Some(url), .. } => query::query_remote(&url, &name, &record_type, subnet.as_deref()),
        Commands::Query { zones, name, record_type, subnet, location, health, explain, remote_url: None } => {
            let health = match health {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    Some(edgedns::health::HealthSnapshot::from_json(&text).map_err(|e| format!("{}: {}", path.display(), e.0))?)
                }
                None => None,
            };
            let options = QueryOptions { subnet: subnet.as_deref(), location, health, explain };
            query::query(&compile(&Sources { paths: zones })?, &name, &record_type, options)
        }
        Commands::Probe { remote_url, file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            remote::run_probes(&remote::endpoint(&remote_url)?, &remote::probes(&file, &text)?)
        }
        Commands::Deploy(args) => deploy::run(args),
        Commands::Geoip(command) => geoip::run(command),
        Commands::Health(command) => health::run(command),
        Commands::Firewall(command) => firewall::run(command),
        Commands::Import(command) => import::run(command),
        Commands::Dnssec(command) => dnssec::run(command),
    }
}
