//! What the fuzz targets share: the fixed catalog compiled from the repository's zones, the
//! GeoIP tables built from the test fixtures, and the checks every DNS response must pass.
//!
//! Fixtures are compiled in with `include_str!`, so a target does not depend on the directory
//! it runs in, and the catalog cannot change under a running campaign.

#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::OnceLock;

use edgedns::client::Client;
use edgedns::doh::{HttpRequest, HttpResponse, DNS_JSON, DNS_MESSAGE};
use edgedns::geo::ipdb::{self, IpTable, Kind};
use edgedns::geo::GeoIp;
use edgedns::policy::{HealthView, SplitMix};
use edgedns::query::{self, Parsed};
use edgedns::server::{self, Environment, Zones};
use edgedns::snapshot;
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{Message, MessageType, OpCode, Query as Question};
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

/// The zone sources of the fixed catalog: `zones/` and the conformance zones of `tests/zones/`.
pub const ZONE_SOURCES: &[(&str, &str)] = &[
    ("zones/2.0.192.in-addr.arpa.zone", include_str!("../../zones/2.0.192.in-addr.arpa.zone")),
    ("zones/example.com.zone", include_str!("../../zones/example.com.zone")),
    ("zones/example.org.zone", include_str!("../../zones/example.org.zone")),
    ("zones/example.org.routes.toml", include_str!("../../zones/example.org.routes.toml")),
    ("zones/delegation-sets.toml", include_str!("../../zones/delegation-sets.toml")),
    ("zones/shared.example.zone", include_str!("../../zones/shared.example.zone")),
    ("zones/shared.example.routes.toml", include_str!("../../zones/shared.example.routes.toml")),
    ("tests/zones/conformance.test.zone", include_str!("../../tests/zones/conformance.test.zone")),
    ("tests/zones/nested.conformance.test.zone", include_str!("../../tests/zones/nested.conformance.test.zone")),
];

/// The example.org master file, which the routes target pairs with fuzzed routes files.
pub const EXAMPLE_ORG_ZONE: &str = include_str!("../../zones/example.org.zone");
/// The shared.example master file, which has no SOA or NS: a delegation set supplies them.
pub const SHARED_EXAMPLE_ZONE: &str = include_str!("../../zones/shared.example.zone");
/// The shared.example routes file (`delegation_set = "edge"`).
pub const SHARED_EXAMPLE_ROUTES: &str = include_str!("../../zones/shared.example.routes.toml");
/// The example.com master file (alias targets across zones).
pub const EXAMPLE_COM_ZONE: &str = include_str!("../../zones/example.com.zone");

/// Names worth asking about in the fixed catalog (plain data, CNAME chains, wildcards,
/// delegations, routed sets, names outside every zone).
pub const NAMES: &[&str] = &[
    "example.com.",
    "www.example.com.",
    "blog.example.com.",
    "x.apps.example.com.",
    "_imaps._tcp.example.com.",
    "shop.example.com.",
    "a.b.shop.example.com.",
    "nope.example.com.",
    "example.org.",
    "www.example.org.",
    "app.example.org.",
    "geo.app.example.org.",
    "api.example.org.",
    "pool.example.org.",
    "x.cdn.example.org.",
    "portal.example.org.",
    "edge.example.org.",
    "isp.example.org.",
    "sticky.example.org.",
    "10.2.0.192.in-addr.arpa.",
    "shared.example.",
    "nope.shared.example.",
    "conformance.test.",
    "chain1.conformance.test.",
    "loop1.conformance.test.",
    "tochild.conformance.test.",
    "tonested.conformance.test.",
    "x.wild.conformance.test.",
    "x.sub.wild.conformance.test.",
    "a.cwild.conformance.test.",
    "host.child.conformance.test.",
    "big.conformance.test.",
    "www.nested.conformance.test.",
    "example.net.",
    ".",
];

/// Record types worth asking for.
pub const TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::NS,
    RecordType::SOA,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SRV,
    RecordType::CAA,
    RecordType::PTR,
    RecordType::HTTPS,
    RecordType::SVCB,
    RecordType::ANY,
    RecordType::AXFR,
    RecordType::DS,
];

/// Countries, continents, regions and edge locations the example routes mention.
pub const COUNTRIES: &[&str] = &["US", "DE", "JP", "AU", "FR", "NL", "CN", "BR", "ZA", "xx", ""];
pub const CONTINENTS: &[&str] = &["NA", "EU", "AS", "OC", "SA", "AF", "AN", "??"];
pub const REGIONS: &[&str] = &["WA", "TX", "CA", "BY", "13", ""];
pub const COLOS: &[&str] = &["IAD", "DFW", "SEA", "FRA", "AMS", "NRT", "SYD", "GRU", "JNB", "ZZZ"];

/// The sources as the compiler takes them.
pub fn sources() -> Vec<SourceFile> {
    ZONE_SOURCES.iter().map(|(path, text)| SourceFile { path: (*path).to_owned(), text: (*text).to_owned() }).collect()
}

/// The fixed catalog (compiled once per process).
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| compile_all(&sources()).unwrap_or_else(|errors| panic!("the fixture zones do not compile: {errors:?}")))
}

/// The fixed catalog's snapshot image.
pub fn catalog_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| snapshot::encode(catalog()).unwrap_or_else(|error| panic!("the fixed catalog does not encode: {error:?}")))
}

/// GeoIP tables built from `tests/fixtures/ipdb` (country and ASN, IPv4 and IPv6).
pub fn geoip() -> &'static GeoIp {
    static GEOIP: OnceLock<GeoIp> = OnceLock::new();
    GEOIP.get_or_init(|| GeoIp { country: Some(fixture_table(Kind::Country)), asn: Some(fixture_table(Kind::Asn)) })
}

/// The CSV fixtures of one kind, IPv4 then IPv6.
pub fn fixture_csv(kind: Kind) -> [&'static str; 2] {
    match kind {
        Kind::Country => [
            include_str!("../../tests/fixtures/ipdb/country-ipv4.csv"),
            include_str!("../../tests/fixtures/ipdb/country-ipv6.csv"),
        ],
        Kind::Asn => [
            include_str!("../../tests/fixtures/ipdb/asn-ipv4.csv"),
            include_str!("../../tests/fixtures/ipdb/asn-ipv6.csv"),
        ],
    }
}

/// A table built from the fixtures of one kind.
pub fn fixture_table(kind: Kind) -> IpTable {
    let mut ranges = Vec::new();
    for text in fixture_csv(kind) {
        ranges.extend(ipdb::parse_csv(text, kind).unwrap_or_else(|error| panic!("fixture CSV: {error}")));
    }
    let image = ipdb::build(ranges).unwrap_or_else(|error| panic!("fixture table: {error}"));
    IpTable::decode(image).unwrap_or_else(|error| panic!("fixture table does not decode: {error}"))
}

/// A client somewhere, with the edge's location data.
pub fn client(address: Option<IpAddr>, country: &str, colo: &str) -> Client {
    let mut client = Client { address, ..Client::default() };
    client.location.country = Some(country.to_owned()).filter(|c| !c.is_empty());
    client.location.colo = Some(colo.to_owned());
    client
}

/// Runs the handler with a fixed environment.
pub fn handle(request: &HttpRequest<'_>, zones: Zones<'_>, client: &Client, health: &dyn HealthView, seed: u64, geo: bool) -> HttpResponse {
    let mut random = SplitMix::new(seed);
    let locator: Option<&dyn edgedns::client::SubnetLocator> = if geo { Some(geoip()) } else { None };
    let mut environment = Environment { client, health, random: &mut random, locator, signer: None, signing_errors: Vec::new() };
    server::handle(request, zones, &mut environment)
}

/// A DoH POST of `body`.
pub fn post(body: &[u8]) -> HttpRequest<'_> {
    HttpRequest { method: "POST", path: server::DOH_PATH, query: "", content_type: Some(DNS_MESSAGE), accept: None, body }
}

/// A query message for a name and type, with an optional OPT record carrying `options`.
pub fn query_bytes(id: u16, name: &Name, record_type: RecordType, edns: Option<(bool, &[u8])>) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    let mut name = name.clone();
    name.set_fqdn(true);
    bytes.extend_from_slice(&name.to_bytes().ok()?);
    bytes.extend_from_slice(&u16::from(record_type).to_be_bytes());
    bytes.extend_from_slice(&[0, 1]);
    if let Some((dnssec_ok, options)) = edns {
        bytes.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
        bytes.extend_from_slice(&u16::try_from(options.len()).ok()?.to_be_bytes());
        bytes.extend_from_slice(options);
    }
    Some(bytes)
}

/// The RFC 7871 option (code 8) for a network.
pub fn client_subnet_option(network: ipnet::IpNet) -> Vec<u8> {
    let data = edgedns::client::ClientSubnet::new(network).encode_response(0);
    let mut option = vec![0, 8];
    option.extend_from_slice(&(data.len() as u16).to_be_bytes());
    option.extend_from_slice(&data);
    option
}

/// Checks a response to DNS message bytes sent over DoH with the wire format (RFC 8484
/// §4.2.1): when the bytes are a DNS message the parser accepts (a query, or one that earns
/// an error RCODE), the answer is HTTP 200 with a DNS response hickory decodes, whose ID,
/// opcode and question echo the query's and which carries OPT exactly when the query did.
/// Returns the parse outcome.
pub fn check_wire_answer(message: &[u8], response: &HttpResponse) -> Option<Parsed> {
    let Ok(parsed) = query::parse(message) else {
        assert_eq!(response.status, 400, "bytes that are not DNS are a 400, got {response:?}");
        return None;
    };
    assert_eq!(response.status, 200, "a DNS message always gets HTTP 200 (RFC 8484 §4.2.1): {response:?}");
    assert_eq!(response.header("content-type"), Some(DNS_MESSAGE));
    assert!(response.header("cache-control").is_some(), "no cache-control: {response:?}");
    let decoded = check_dns_message(&response.body);
    let (header, question, edns, rcode) = match &parsed {
        Ok(query) => (query.header, Some(&query.question), query.edns.as_ref(), None),
        Err(reply) => (reply.header, reply.question.as_ref(), reply.edns.as_ref(), Some(reply.rcode)),
    };
    assert_eq!(decoded.metadata.id, header.id, "the response ID must be the query's");
    assert_eq!(decoded.metadata.op_code, OpCode::from_u8(header.opcode), "the opcode is echoed");
    assert_eq!(decoded.metadata.recursion_desired, header.recursion_desired, "RD is copied");
    assert_eq!(decoded.metadata.checking_disabled, header.checking_disabled, "CD is copied");
    assert!(!decoded.metadata.recursion_available, "an authoritative server never sets RA");
    match question {
        Some(question) => {
            assert_eq!(decoded.queries.len(), 1, "the question is echoed");
            check_same_question(&decoded.queries[0], question);
        }
        None => assert!(decoded.queries.is_empty(), "no question was read, none is echoed"),
    }
    assert_eq!(decoded.edns.is_some(), edns.is_some(), "OPT in the response exactly when the query had one (RFC 6891 §7)");
    if let Some(rcode) = rcode {
        // Compared as numbers: 16 is both BADVERS and BADSIG, and hickory reads it as BADSIG.
        assert_eq!(u16::from(decoded.metadata.response_code), u16::from(rcode), "the error reply's RCODE");
        assert!(decoded.answers.is_empty() && decoded.authorities.is_empty(), "error replies carry no records");
    }
    Some(parsed)
}

/// The echoed question is the query's, name case included (0x20 clients compare it).
pub fn check_same_question(echoed: &Question, asked: &Question) {
    assert_eq!(echoed.name.to_ascii(), asked.name.to_ascii(), "question name (case included)");
    assert_eq!(echoed.query_type, asked.query_type, "question type");
    assert_eq!(echoed.query_class, asked.query_class, "question class");
}

/// Decodes a DNS response and checks it is one.
pub fn check_dns_message(body: &[u8]) -> Message {
    let decoded = Message::from_vec(body).unwrap_or_else(|error| panic!("hickory cannot decode the response ({error}): {body:02x?}"));
    assert_eq!(decoded.metadata.message_type, MessageType::Response, "QR must be set");
    decoded
}

/// Checks what every HTTP response must satisfy, whatever the request.
pub fn check_http(response: &HttpResponse) {
    assert!(
        matches!(response.status, 200 | 204 | 400 | 404 | 405 | 406 | 413 | 414 | 415),
        "unexpected status (500 means a checked zone produced an unencodable answer): {} {:?}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    if response.status != 204 {
        assert_eq!(response.header("access-control-allow-origin"), Some("*"), "CORS on every response");
    }
    if response.status >= 400 {
        assert_eq!(response.header("cache-control"), Some("no-store"), "errors are never cached");
    }
    if response.status == 405 {
        assert!(response.header("allow").is_some(), "405 names the allowed methods");
    }
    match response.header("content-type").map(edgedns::doh::essence).as_deref() {
        Some(DNS_MESSAGE) => {
            check_dns_message(&response.body);
        }
        Some(DNS_JSON) => {
            let value: serde_json::Value = serde_json::from_slice(&response.body)
                .unwrap_or_else(|error| panic!("the JSON API answered invalid JSON ({error}): {:?}", String::from_utf8_lossy(&response.body)));
            assert!(value.get("Status").is_some_and(serde_json::Value::is_u64), "JSON answers carry a numeric Status: {value}");
        }
        Some("application/json") => {
            serde_json::from_slice::<serde_json::Value>(&response.body)
                .unwrap_or_else(|error| panic!("invalid JSON ({error}): {:?}", String::from_utf8_lossy(&response.body)));
        }
        _ => {}
    }
}

/// The names of a catalog's nodes (sorted, so a run is reproducible), at most `limit` per
/// zone, with a name below each (wildcards, delegations) and a name outside.
pub fn catalog_names(catalog: &Catalog, limit: usize) -> Vec<Name> {
    let mut names = Vec::new();
    for zone in catalog.zones().iter().take(8) {
        let mut nodes: Vec<_> = zone.nodes().map(|(name, _)| Name::from(name.into_owned())).collect();
        nodes.sort();
        for name in nodes.into_iter().take(limit) {
            if let Ok(below) = Name::from_ascii("zz").and_then(|label| label.append_domain(&name)) {
                names.push(below);
            }
            names.push(name);
        }
    }
    names.push(Name::root());
    names
}

/// The clients the catalog checks ask as: no location, a US client with a locatable ECS
/// subnet, a German one, and one whose edge gives coordinates and an ASN.
pub fn probe_clients() -> Vec<(Client, Option<ipnet::IpNet>)> {
    let mut anywhere = client(None, "", "ZZZ");
    anywhere.location.colo = None;
    let mut isp = client(Some("2001:db8::1".parse().unwrap()), "JP", "NRT");
    isp.location.asn = Some(64500);
    isp.location.latitude = Some(35.6);
    isp.location.longitude = Some(139.7);
    vec![
        (anywhere, None),
        (client(Some("8.8.8.8".parse().unwrap()), "US", "IAD"), Some("1.0.2.0/24".parse().unwrap())),
        (client(Some("2.58.196.1".parse().unwrap()), "DE", "FRA"), Some("203.0.113.0/24".parse().unwrap())),
        (isp, None),
    ]
}

/// Asks `catalog` every type of `types` for every name, over DoH POST, each question as one
/// of the probe clients in turn, and checks each response; returns the response bodies (to
/// compare two catalogs).
pub fn answer_all(catalog: &Catalog, names: &[Name], types: &[RecordType], health: &dyn HealthView) -> Vec<Vec<u8>> {
    let clients = probe_clients();
    let mut bodies = Vec::new();
    for (name_index, name) in names.iter().enumerate() {
        for (type_index, record_type) in types.iter().enumerate() {
            let index = (name_index + type_index) % clients.len();
            let (client, subnet) = &clients[index];
            let option = subnet.map(client_subnet_option).unwrap_or_default();
            let edns = (index % 2 == 1).then_some((true, option.as_slice()));
            let Some(message) = query_bytes(0x4242, name, *record_type, edns) else { continue };
            let response = handle(&post(&message), Zones::Loaded(catalog), client, health, index as u64, true);
            check_http(&response);
            check_wire_answer(&message, &response);
            bodies.push(response.body);
        }
    }
    bodies
}

/// Checks answers of a trusted catalog (compiled from sources, or decoded from a snapshot
/// made of compiled sources) at the engine level: every resolution encodes (`server` turns
/// an encoding failure into SERVFAIL, which must not happen for checked zones).
pub fn check_encodable(catalog: &Catalog, names: &[Name], types: &[RecordType]) {
    let clients = probe_clients();
    for (name_index, name) in names.iter().enumerate() {
        for (type_index, record_type) in types.iter().enumerate() {
            let index = (name_index + type_index) % clients.len();
            let (client, subnet) = &clients[index];
            let query = edgedns::query::Query {
                header: edgedns::query::HeaderEcho { id: 1, opcode: 0, recursion_desired: false, checking_disabled: false, authentic_data: false },
                question: Question::query(name.clone(), *record_type),
                edns: Some(edgedns::query::EdnsRequest { dnssec_ok: false, compact_ok: false, client_subnet: subnet.map(edgedns::client::ClientSubnet::new) }),
            };
            let mut random = SplitMix::new(index as u64);
            let mut environment =
                Environment { client, health: &edgedns::policy::NoHealthData, random: &mut random, locator: Some(geoip()), signer: None, signing_errors: Vec::new() };
            let resolution = server::resolve(&query, Zones::Loaded(catalog), &mut environment, None);
            if let Err(error) = edgedns::response::encode(&query.header, Some(&query.question), query.edns.as_ref(), &resolution) {
                panic!("a checked catalog's answer to {name} {record_type} does not encode ({error:?}): {resolution:?}");
            }
        }
    }
}

/// `decode(encode(catalog))` re-encodes to the same image and answers exactly as `catalog`
/// does; returns the image.
pub fn check_snapshot_round_trip(catalog: &Catalog, names: &[Name], types: &[RecordType]) -> Vec<u8> {
    let image = snapshot::encode(catalog).unwrap_or_else(|error| panic!("a compiled catalog does not encode: {error:?}"));
    let decoded = snapshot::decode(&image).unwrap_or_else(|error| panic!("a compiled catalog's image does not decode: {error}"));
    let again = snapshot::encode(&decoded).unwrap_or_else(|error| panic!("a decoded image does not re-encode: {error:?}"));
    assert!(again == image, "decode(encode(catalog)) encodes differently:\n{image:02x?}\n{again:02x?}");
    assert_eq!(decoded.health_checks(), catalog.health_checks());
    let before = answer_all(catalog, names, types, &edgedns::policy::NoHealthData);
    let after = answer_all(&decoded, names, types, &edgedns::policy::NoHealthData);
    for (index, (before, after)) in before.iter().zip(&after).enumerate() {
        assert!(before == after, "answer {index} differs after the snapshot round trip:\n{before:02x?}\n{after:02x?}");
    }
    image
}
