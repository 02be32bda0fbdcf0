//! The whole pipeline, `edgedns::server::handle`, with every HTTP input fuzzed (method, path,
//! query string, Content-Type, Accept, body) and the environment too (client address and
//! edge location, health snapshot, GeoIP tables, random seed), on the fixed catalog compiled
//! from `zones/` and `tests/zones/`.
//!
//! Asserts: no panic; the status is one the endpoint documents (never 500); CORS on every
//! response, `no-store` on every error, `Allow` on 405; a DNS-message body always decodes
//! as a response, and a JSON body is JSON with a numeric `Status`; a DoH GET or POST whose
//! message the parser accepts, asking for the wire format, gets HTTP 200 with a response
//! echoing its ID and question (RFC 8484 §4.2.1).

#![no_main]

use std::net::IpAddr;

use arbitrary::Arbitrary;
use base64::Engine;
use edgedns::client::{Client, EdgeLocation};
use edgedns::doh::{self, Format, HttpRequest, DNS_JSON, DNS_MESSAGE, MAX_MESSAGE, MAX_TARGET};
use edgedns::health::HealthSnapshot;
use edgedns::policy::{HealthView, NoHealthData};
use edgedns::server::{Zones, DOH_PATH, EXPLAIN_PATH, JSON_PATH};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Post,
    Head,
    Options,
    Put,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Path {
    DnsQuery,
    DnsQuerySlash,
    Resolve,
    Explain,
    Root,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum MediaType {
    DnsMessage,
    DnsJson,
    Json,
    Any,
    ApplicationAny,
    Html,
    /// A list of the above with parameters and q-values.
    List(Vec<(u8, Option<u8>)>),
    Other(String),
}

/// A DNS message: built from a catalog name (so answers come from the zones and their
/// policies) or raw bytes.
#[derive(Arbitrary, Debug)]
enum Message {
    Built { id: u16, name: u8, labels: Option<String>, record_type: u16, edns: Option<Edns> },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Edns {
    dnssec_ok: bool,
    /// A well-formed client subnet from an address and prefix length, or raw option bytes.
    subnet: Option<Result<(IpAddr, u8), Vec<u8>>>,
}

#[derive(Arbitrary, Debug)]
enum QueryString {
    Dns { message: Message, padding: u8, extra: Option<String> },
    Json { name: u8, raw_name: Option<String>, record_type: Option<String>, flags: u8, subnet: Option<String>, extra: Option<String> },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Location {
    Fields { country: u8, continent: Option<u8>, region: Option<u8>, coordinates: Option<(f64, f64)>, asn: Option<u32>, colo: Option<u8> },
    Json(String),
}

#[derive(Arbitrary, Debug)]
enum Health {
    None,
    /// Fresh (or stale) states and overrides for the catalog's checks, one bit each.
    States { stale: bool, healthy: u32, overridden: u32, forced_up: u32 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: Method,
    path: Path,
    query: QueryString,
    content_type: Option<MediaType>,
    accept: Option<MediaType>,
    address: Option<IpAddr>,
    location: Location,
    health: Health,
    geo: bool,
    zones_loaded: bool,
    seed: u64,
    body: Message,
}

const NOW_MS: u64 = 1_800_000_000_000;

fn pick<'a>(list: &[&'a str], index: u8) -> &'a str {
    list[usize::from(index) % list.len()]
}

fn media_type(media: &MediaType) -> String {
    const PARTS: &[&str] = &[DNS_MESSAGE, DNS_JSON, "application/json", "*/*", "application/*", "text/html", "Application/DNS-Message", ""];
    match media {
        MediaType::DnsMessage => DNS_MESSAGE.to_owned(),
        MediaType::DnsJson => DNS_JSON.to_owned(),
        MediaType::Json => "application/json".to_owned(),
        MediaType::Any => "*/*".to_owned(),
        MediaType::ApplicationAny => "application/*".to_owned(),
        MediaType::Html => "text/html".to_owned(),
        MediaType::List(items) => items
            .iter()
            .map(|(part, q)| match q {
                Some(q) => format!("{};q={}", pick(PARTS, *part), f32::from(*q % 11) / 10.0),
                None => pick(PARTS, *part).to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        MediaType::Other(text) => text.clone(),
    }
}

fn message_bytes(message: &Message) -> Vec<u8> {
    match message {
        Message::Raw(bytes) => bytes.clone(),
        Message::Built { id, name, labels, record_type, edns } => {
            let mut name = Name::from_ascii(pick(common::NAMES, *name)).unwrap();
            if let Some(prefix) = labels.as_deref().and_then(|text| Name::from_ascii(text).ok()) {
                name = prefix.append_domain(&name).unwrap_or(name);
            }
            let options = match edns.as_ref().and_then(|edns| edns.subnet.as_ref()) {
                Some(Ok((address, prefix))) => {
                    let max = if address.is_ipv4() { 32 } else { 128 };
                    common::client_subnet_option(ipnet::IpNet::new(*address, prefix % (max + 1)).unwrap())
                }
                Some(Err(raw)) => {
                    let mut option = vec![0, 8];
                    option.extend_from_slice(&(raw.len().min(1000) as u16).to_be_bytes());
                    option.extend_from_slice(&raw[..raw.len().min(1000)]);
                    option
                }
                None => Vec::new(),
            };
            let record_type = RecordType::from(match record_type % 4 {
                0 => *record_type,
                _ => u16::from(common::TYPES[usize::from(*record_type >> 2) % common::TYPES.len()]),
            });
            common::query_bytes(*id, &name, record_type, edns.as_ref().map(|edns| (edns.dnssec_ok, options.as_slice()))).unwrap_or_default()
        }
    }
}

fn query_string(query: &QueryString) -> String {
    match query {
        QueryString::Dns { message, padding, extra } => {
            let mut text = format!("dns={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message_bytes(message)));
            for _ in 0..padding % 3 {
                text.push_str(if padding & 0x80 == 0 { "=" } else { "%3D" });
            }
            if let Some(extra) = extra {
                text.push('&');
                text.push_str(extra);
            }
            text
        }
        QueryString::Json { name, raw_name, record_type, flags, subnet, extra } => {
            let mut text = format!("name={}", raw_name.as_deref().unwrap_or_else(|| pick(common::NAMES, *name)));
            if let Some(record_type) = record_type {
                text.push_str("&type=");
                text.push_str(record_type);
            }
            if flags & 1 != 0 {
                text.push_str("&do=1");
            }
            if flags & 2 != 0 {
                text.push_str("&cd=true");
            }
            if flags & 4 != 0 {
                text.push_str(&format!("&country={}", pick(common::COUNTRIES, flags >> 4)));
            }
            if let Some(subnet) = subnet {
                text.push_str("&edns_client_subnet=");
                text.push_str(subnet);
            }
            if let Some(extra) = extra {
                text.push('&');
                text.push_str(extra);
            }
            text
        }
        QueryString::Raw(text) => text.clone(),
    }
}

fn location(location: &Location) -> EdgeLocation {
    match location {
        Location::Fields { country, continent, region, coordinates, asn, colo } => EdgeLocation {
            country: Some(pick(common::COUNTRIES, *country).to_owned()),
            continent: continent.map(|c| pick(common::CONTINENTS, c).to_owned()),
            region_code: region.map(|r| pick(common::REGIONS, r).to_owned()),
            city: None,
            latitude: coordinates.map(|c| c.0),
            longitude: coordinates.map(|c| c.1),
            asn: *asn,
            colo: colo.map(|c| pick(common::COLOS, c).to_owned()),
        },
        Location::Json(json) => EdgeLocation::from_json(json),
    }
}

fn health(health: &Health) -> Option<HealthSnapshot> {
    let Health::States { stale, healthy, overridden, forced_up } = health else { return None };
    let mut snapshot = HealthSnapshot {
        updated_at: if *stale { NOW_MS - edgedns::health::STALE_AFTER_MS - 1 } else { NOW_MS - 30_000 },
        ..HealthSnapshot::default()
    };
    for (index, id) in common::catalog().health_checks().keys().enumerate().take(32) {
        let bit = |word: u32| word >> index & 1 != 0;
        snapshot.checks.insert(id.clone(), edgedns::health::CheckState { healthy: bit(*healthy), ..Default::default() });
        if bit(*overridden) {
            snapshot.overrides.insert(id.clone(), edgedns::health::Override { healthy: bit(*forced_up), reason: String::new(), set_at: None });
        }
    }
    Some(snapshot)
}

fuzz_target!(|input: Input| {
    let method = match &input.method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Head => "HEAD",
        Method::Options => "OPTIONS",
        Method::Put => "PUT",
        Method::Other(text) => text.as_str(),
    };
    let path = match &input.path {
        Path::DnsQuery => DOH_PATH.to_owned(),
        Path::DnsQuerySlash => format!("{DOH_PATH}/"),
        Path::Resolve => JSON_PATH.to_owned(),
        Path::Explain => EXPLAIN_PATH.to_owned(),
        Path::Root => "/".to_owned(),
        Path::Other(text) => text.clone(),
    };
    let query = query_string(&input.query);
    let content_type = input.content_type.as_ref().map(media_type);
    let accept = input.accept.as_ref().map(media_type);
    let body = message_bytes(&input.body);
    let request = HttpRequest {
        method,
        path: &path,
        query: &query,
        content_type: content_type.as_deref(),
        accept: accept.as_deref(),
        body: &body,
    };

    let client = Client { address: input.address, location: location(&input.location), location_source: None };
    let snapshot = health(&input.health);
    let view = snapshot.as_ref().map(|snapshot| snapshot.view(NOW_MS));
    let health: &dyn HealthView = match &view {
        Some(view) => view,
        None => &NoHealthData,
    };
    let zones = if input.zones_loaded { Zones::Loaded(common::catalog()) } else { Zones::Unavailable };
    let response = common::handle(&request, zones, &client, health, input.seed, input.geo);
    common::check_http(&response);

    // A DoH request for the wire format whose message the parser accepts: 200 and an echo.
    let is_doh = path.trim_end_matches('/') == DOH_PATH && path.len() + query.len() + 1 <= MAX_TARGET;
    if !is_doh || doh::negotiate(request.accept) != Ok(Format::Wire) {
        return;
    }
    let message = match method {
        "GET" | "HEAD" => doh::parameter(&query, "dns").and_then(|value| doh::decode_dns_parameter(value).ok()),
        "POST" if content_type.as_deref().map(doh::essence).as_deref() == Some(DNS_MESSAGE) && body.len() <= MAX_MESSAGE => {
            Some(body.clone()).filter(|body| !body.is_empty())
        }
        _ => None,
    };
    match message {
        Some(message) => {
            common::check_wire_answer(&message, &response);
        }
        None => assert_ne!(response.status, 200, "a DoH request without a message is an error: {response:?}"),
    }
});
