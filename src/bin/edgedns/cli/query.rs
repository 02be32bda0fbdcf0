//! `edgedns query`: one question answered offline by the Worker's engine.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use edgedns::client::{Client, ClientSubnet};
use edgedns::query::{EdnsRequest, HeaderEcho, Query};
use edgedns::server::{self, Zones};
use edgedns::zone::Catalog;
use hickory_proto::op::Query as Question;
use hickory_proto::rr::{Name, Record, RecordType};

#[derive(Args, Default)]
pub(super) struct LocationArgs {
    /// ISO country code.
    #[arg(long)]
    pub(crate) country: Option<String>,
    /// Continent code.
    #[arg(long)]
    pub(crate) continent: Option<String>,
    /// Subdivision code (e.g. WA).
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Latitude.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) lat: Option<f64>,
    /// Longitude.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) lon: Option<f64>,
    /// Autonomous system number.
    #[arg(long)]
    pub(crate) asn: Option<u32>,
    /// Edge location (IATA code).
    #[arg(long)]
    pub(crate) colo: Option<String>,
    /// The connecting address.
    #[arg(long)]
    pub(crate) address: Option<std::net::IpAddr>,
}

pub(super) struct QueryOptions<'a> {
    pub(crate) subnet: Option<&'a str>,
    pub(crate) location: LocationArgs,
    pub(crate) health: Option<edgedns::health::HealthSnapshot>,
    pub(crate) explain: bool,
}

/// A type from the command line or a probes file: a mnemonic (any case) or a number.
pub(super) fn record_type(text: &str) -> Result<RecordType, String> {
    text.parse::<u16>().map(RecordType::from).or_else(|_| RecordType::from_str(&text.to_ascii_uppercase())).map_err(|_| format!("unknown type {text:?}"))
}

/// A name from the command line, absolute.
pub(super) fn name(text: &str) -> Result<Name, String> {
    let mut name = Name::from_utf8(text).map_err(|e| format!("bad name {text:?}: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

/// `edgedns query --remote-url`: the question asked of a deployed Worker over DoH.
pub(super) fn query_remote(url: &str, name: &str, record_type: &str, subnet: Option<&str>) -> Result<(), String> {
    let subnet = match subnet {
        Some(text) => Some(text.parse::<ipnet::IpNet>().map_err(|_| format!("bad subnet {text:?}"))?.trunc()),
        None => None,
    };
    let url = super::remote::endpoint(url)?;
    let answer = super::remote::ask(&url, &super::remote::question(&self::name(name)?, self::record_type(record_type)?, subnet))?;
    super::remote::print(&answer);
    Ok(())
}

pub(super) fn query(catalog: &Catalog, name: &str, record_type: &str, options: QueryOptions<'_>) -> Result<(), String> {
    let subnet = options.subnet;
    let name = self::name(name)?;
    let record_type = self::record_type(record_type)?;
    let client_subnet = match subnet {
        Some(text) => Some(ClientSubnet::new(text.parse().map_err(|_| format!("bad subnet {text:?}"))?)),
        None => None,
    };
    let query = Query {
        header: HeaderEcho { id: 0, opcode: 0, recursion_desired: false, checking_disabled: false, authentic_data: false },
        question: Question::query(name, record_type),
        edns: Some(EdnsRequest { dnssec_ok: false, compact_ok: false, client_subnet }),
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
    let mut environment =
        server::Environment { client: &client, health: &health, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
    let mut trace = Vec::new();
    let resolution = server::resolve(&query, Zones::Loaded(catalog), &mut environment, explain.then_some(&mut trace));
    for line in &trace {
        println!(";; explain: {line}");
    }
    println!(";; status: {:?}, aa: {}, scope: {}", resolution.rcode, resolution.authoritative, resolution.scope);
    print_sections(&resolution.answers.records(), &resolution.authority, &resolution.additional);
    Ok(())
}

/// The answer, authority and additional records, each non-empty section under its heading: one
/// layout for the offline query and the remote one.
pub(super) fn print_sections(answers: &[Record], authority: &[Record], additional: &[Record]) {
    for (section, records) in [("ANSWER", answers), ("AUTHORITY", authority), ("ADDITIONAL", additional)] {
        if !records.is_empty() {
            println!(";; {section}");
            for record in records {
                println!("{record}");
            }
        }
    }
}
