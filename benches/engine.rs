//! Per-query cost of the engine, natively: `cargo bench --bench engine`.
//!
//! Each case sends one DoH POST body through `server::handle` (parse, answer, encode, HTTP
//! headers) in a loop with the example zones, and prints the mean time per query. A
//! benchmark, not a test: it asserts nothing about time.

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use edgedns::client::{Client, EdgeLocation};
use edgedns::doh::HttpRequest;
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::server::{handle, Environment, Zones};
use edgedns::zone::compile::{compile_all, SourceFile};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

fn query(name: &str, record_type: RecordType, subnet: Option<(&str, u8)>) -> Vec<u8> {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    if let Some((address, source)) = subnet {
        let mut edns = Edns::new();
        edns.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(address.parse().unwrap(), source, 0)));
        message.edns = Some(edns);
    }
    message.to_vec().unwrap()
}

fn main() {
    let mut sources = Vec::new();
    for dir in ["zones", "tests/zones"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            sources.push(SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() });
        }
    }
    let catalog = compile_all(&sources).unwrap();
    let client = Client {
        address: Some("198.51.100.7".parse().unwrap()),
        location: EdgeLocation {
            country: Some("US".into()),
            continent: Some("NA".into()),
            region_code: Some("WA".into()),
            colo: Some("SEA".into()),
            asn: Some(64501),
            ..EdgeLocation::default()
        },
    };
    let cases = [
        ("plain A", query("www.example.com.", RecordType::A, None)),
        ("NXDOMAIN", query("nope.example.com.", RecordType::A, None)),
        ("wildcard", query("x.apps.example.com.", RecordType::A, None)),
        ("CNAME chain (4 links)", query("chain1.conformance.test.", RecordType::A, None)),
        ("referral with glue", query("host.child.conformance.test.", RecordType::A, None)),
        ("weighted", query("www.example.org.", RecordType::A, None)),
        ("apex alias → weighted", query("example.org.", RecordType::A, None)),
        ("failover → alias → geolocation", query("app.example.org.", RecordType::A, None)),
        ("latency (3 regions)", query("api.example.org.", RecordType::A, None)),
        ("multivalue (4 values)", query("pool.example.org.", RecordType::A, None)),
        ("cidr with ECS", query("portal.example.org.", RecordType::A, Some(("203.0.113.0", 24)))),
        ("geolocation → weighted (composed)", query("edge.example.org.", RecordType::A, None)),
        ("sticky weighted with ECS", query("sticky.example.org.", RecordType::A, Some(("198.51.100.0", 24)))),
    ];
    let iterations = 200_000;
    let mut random = SplitMix::new(1);
    println!("{:<36} {:>12}", "case", "ns/query");
    for (label, body) in &cases {
        let request = HttpRequest {
            method: "POST",
            path: "/dns-query",
            content_type: Some("application/dns-message"),
            body,
            ..HttpRequest::default()
        };
        // Warm up, then measure.
        for _ in 0..10_000 {
            let mut environment = Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None };
            black_box(handle(&request, Zones::Loaded(&catalog), &mut environment));
        }
        let start = Instant::now();
        for _ in 0..iterations {
            let mut environment = Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None };
            black_box(handle(black_box(&request), Zones::Loaded(&catalog), &mut environment));
        }
        let nanos = start.elapsed().as_nanos() as f64 / f64::from(iterations);
        println!("{label:<36} {nanos:>12.0}");
    }
}
