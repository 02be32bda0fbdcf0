//! `edgedns geoip`: builds the GeoIP tables the Worker locates client subnets with
//! (format and semantics: `edgedns::geo::ipdb`) and looks addresses up in them.

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
pub(super) enum GeoipCommand {
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
        target: super::args::Target,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("outputs").required(true).multiple(true).args(["output", "asn_output"])))]
pub(super) struct BuildArgs {
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

pub(super) fn run(command: GeoipCommand) -> Result<(), String> {
    match command {
        GeoipCommand::Build(args) => build(args),
        GeoipCommand::Lookup { file, address } => lookup(&file, &address),
        GeoipCommand::Publish { country, asn, target } => publish(country, asn, &target),
    }
}

/// Checks each table, writes it under `geoip:<kind>:<version>`, then points
/// `geoip:current` at the version (readers never see a half-published pair).
pub(super) fn publish(country: Option<PathBuf>, asn: Option<PathBuf>, target: &super::args::Target) -> Result<(), String> {
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
        super::kv::put(target, &edgedns::geo::geoip_key(kind, &version), path)?;
    }
    let pointer = std::env::temp_dir().join(format!("edgedns-geoip-{}.txt", std::process::id()));
    std::fs::write(&pointer, &version).map_err(|e| format!("{}: {e}", pointer.display()))?;
    let result = super::kv::put(target, edgedns::geo::GEOIP_CURRENT_KEY, &pointer);
    let _ = std::fs::remove_file(&pointer);
    result?;
    println!("published GeoIP {version} ({} table(s))", images.len());
    Ok(())
}

pub(super) fn build(args: BuildArgs) -> Result<(), String> {
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

pub(super) fn build_table(kind: Kind, inputs: &[PathBuf], output: &Path, keep_special: bool) -> Result<(), String> {
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

pub(super) fn lookup(file: &Path, address: &str) -> Result<(), String> {
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
