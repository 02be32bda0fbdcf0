//! `edgedns import`: another DNS service's configuration as zone and routes files.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use hickory_proto::rr::Name;

#[derive(Subcommand)]
pub(super) enum ImportCommand {
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
pub(super) struct ImportDestination {
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

/// `edgedns import`: reads the source's files, writes the zone's files, prints the report
/// (`edgedns::import`).
pub(super) fn run(command: ImportCommand) -> Result<(), String> {
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
pub(super) fn apex(zone: &str) -> Result<Name, String> {
    let mut apex = Name::from_utf8(zone).map_err(|e| format!("bad zone {zone:?}: {e}"))?;
    apex.set_fqdn(true);
    Ok(apex)
}

/// Writes an import's files (a routes file only when there is one: a BIND import has
/// none) and prints what was written and the report.
pub(super) fn write_imported(imported: &edgedns::import::Imported, destination: &ImportDestination) -> Result<(), String> {
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
