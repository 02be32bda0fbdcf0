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
        /// Check zone files; errors are printed as file:line: message.
        Check(Sources),
        /// Compile zone files into a snapshot image file.
        Compile {
            #[command(flatten)]
            sources: Sources,
            /// Where to write the image.
            #[arg(short, long)]
            output: PathBuf,
        },
        /// Compile and publish to Workers KV: the image first, then the pointer to it.
        Publish {
            #[command(flatten)]
            sources: Sources,
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
        },
    }

    #[derive(Args)]
    struct Sources {
        /// Zone files, or directories whose `*.zone` files are read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    }

    #[derive(Args)]
    struct Target {
        /// Write to the local dev KV (wrangler dev's state).
        #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
        local: bool,
        /// Write to the real namespace of the deployed Worker.
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
            Commands::Check(sources) => {
                let catalog = compile(&sources)?;
                let records: usize = catalog.zones().iter().map(count_records).sum();
                println!("ok: {} zones, {records} records", catalog.zones().len());
                Ok(())
            }
            Commands::Compile { sources, output } => {
                let image = image(&compile(&sources)?)?;
                std::fs::write(&output, &image).map_err(|e| format!("{}: {e}", output.display()))?;
                println!("wrote {} ({} bytes)", output.display(), image.len());
                Ok(())
            }
            Commands::Publish { sources, target } => publish(&compile(&sources)?, &target),
            Commands::Query { zones, name, record_type, subnet } => {
                query(&compile(&Sources { paths: zones })?, &name, &record_type, subnet.as_deref())
            }
        }
    }

    fn count_records(zone: &edgedns::zone::Zone) -> usize {
        zone.nodes().flat_map(|(_, node)| node.rrsets()).map(|set| set.records.len()).sum()
    }

    fn zone_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| path.extension().is_some_and(|ext| ext == "zone"))
                    .collect();
                found.sort();
                if found.is_empty() {
                    return Err(format!("{}: no *.zone files", path.display()));
                }
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        Ok(files)
    }

    fn compile(sources: &Sources) -> Result<Catalog, String> {
        let mut files = Vec::new();
        for path in zone_files(&sources.paths)? {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push(SourceFile { path: path.display().to_string(), text });
        }
        compile_all(&files).map_err(|errors| {
            let mut message: Vec<String> = errors.iter().map(ToString::to_string).collect();
            message.push(format!("{} error(s); nothing was compiled", errors.len()));
            message.join("\n")
        })
    }

    fn image(catalog: &Catalog) -> Result<Vec<u8>, String> {
        snapshot::encode(catalog).map_err(|e| format!("cannot encode snapshot: {}", e.0))
    }

    fn wrangler_command(target: &Target) -> Command {
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
        command.args(["kv", "key", "put", "--binding", &target.binding]);
        command.arg(if target.local { "--local" } else { "--remote" });
        if let Some(dir) = &target.persist_to {
            command.arg("--persist-to").arg(dir);
        }
        if let Some(config) = &target.config {
            command.arg("--config").arg(config);
        }
        command.env("WRANGLER_SEND_METRICS", "false");
        command
    }

    fn put(target: &Target, key: &str, file: &Path) -> Result<(), String> {
        let mut command = wrangler_command(target);
        command.arg(key).arg("--path").arg(file);
        let output = command.output().map_err(|e| format!("cannot run wrangler: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "wrangler failed writing {key}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Publishes atomically: readers follow `snapshot:current`, which is written only after
    /// the image it names is in KV.
    fn publish(catalog: &Catalog, target: &Target) -> Result<(), String> {
        let image = image(catalog)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let version = snapshot::version_id(&image, now);
        let dir = std::env::temp_dir().join(format!("edgedns-publish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let image_file = dir.join("image.bin");
        let pointer_file = dir.join("current.txt");
        std::fs::write(&image_file, &image).map_err(|e| format!("{}: {e}", image_file.display()))?;
        std::fs::write(&pointer_file, &version).map_err(|e| format!("{}: {e}", pointer_file.display()))?;
        let result = put(target, &snapshot::version_key(&version), &image_file)
            .and_then(|()| put(target, snapshot::CURRENT_KEY, &pointer_file));
        let _ = std::fs::remove_dir_all(&dir);
        result?;
        println!(
            "published {version}: {} zones, {} bytes, to {} KV binding {}",
            catalog.zones().len(),
            image.len(),
            if target.local { "local" } else { "remote" },
            target.binding
        );
        Ok(())
    }

    fn query(catalog: &Catalog, name: &str, record_type: &str, subnet: Option<&str>) -> Result<(), String> {
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
            header: HeaderEcho { id: 0, opcode: 0, recursion_desired: false, checking_disabled: false },
            question: Question::query(name, record_type),
            edns: Some(EdnsRequest { dnssec_ok: false, client_subnet }),
        };
        let resolution = server::resolve(&query, Zones::Loaded(catalog), &Client::default());
        println!(
            ";; status: {:?}, aa: {}, scope: {}",
            resolution.rcode, resolution.authoritative, resolution.scope
        );
        for (section, records) in [
            ("ANSWER", &resolution.answers),
            ("AUTHORITY", &resolution.authority),
            ("ADDITIONAL", &resolution.additional),
        ] {
            if !records.is_empty() {
                println!(";; {section}");
                for record in records {
                    println!("{record}");
                }
            }
        }
        Ok(())
    }
}
