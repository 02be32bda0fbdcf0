//! The JSON API (`GET /resolve?name=&type=`, or `/dns-query` with
//! `Accept: application/dns-json`), in the shape public resolvers use, answered by the same
//! engine as the wire format.

use std::str::FromStr;

use hickory_proto::op::Query as Question;
use hickory_proto::rr::rdata::svcb::SvcParamValue;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ipnet::IpNet;
use serde::Serialize;

use crate::answer::Resolution;
use crate::client::{Client, ClientSubnet};
use crate::doh::{parameter, percent_decode, HttpError};
use crate::policy::{ClientView, HealthSummary};
use crate::query::{EdnsRequest, HeaderEcho, Query};

/// Reads a JSON API request's parameters into a query: `name` (required), `type` (number or
/// mnemonic, default A), `cd`, `do`, and `edns_client_subnet` (an address or a network).
pub fn parse(query_string: &str) -> Result<Query, HttpError> {
    let name =
        parameter(query_string, "name").and_then(percent_decode).filter(|name| !name.is_empty()).ok_or(HttpError::BadRequest("missing name parameter"))?;
    let mut name = Name::from_utf8(&name).map_err(|_| HttpError::BadRequest("invalid name"))?;
    name.set_fqdn(true);
    let query_type = match parameter(query_string, "type").and_then(percent_decode) {
        None => RecordType::A,
        Some(text) => record_type(&text).ok_or(HttpError::BadRequest("invalid type"))?,
    };
    let flag = |key: &str| parameter(query_string, key).is_some_and(|value| matches!(value, "1" | "true" | "True" | "TRUE"));
    let client_subnet = match parameter(query_string, "edns_client_subnet").and_then(percent_decode) {
        None => None,
        Some(text) if text.is_empty() => None,
        Some(text) => Some(subnet(&text).ok_or(HttpError::BadRequest("invalid edns_client_subnet"))?),
    };
    let dnssec_ok = flag("do");
    Ok(Query {
        header: HeaderEcho { id: 0, opcode: 0, recursion_desired: true, checking_disabled: flag("cd"), authentic_data: flag("do") },
        question: Question::query(name, query_type),
        edns: Some(EdnsRequest { dnssec_ok, compact_ok: false, client_subnet }),
    })
}

/// A record type by number (`28`, `TYPE28`) or mnemonic (`aaaa`).
fn record_type(text: &str) -> Option<RecordType> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper.strip_prefix("TYPE").unwrap_or(&upper);
    if let Ok(code) = number.parse::<u16>() {
        return Some(RecordType::from(code));
    }
    // Types hickory does not read by name: asked, they get what the wire format answers them.
    match upper.as_str() {
        "OPT" => Some(RecordType::from(41)),
        "TKEY" => Some(RecordType::from(249)),
        "TSIG" => Some(RecordType::from(250)),
        "IXFR" => Some(RecordType::from(251)),
        _ => RecordType::from_str(&upper).ok(),
    }
}

/// A client subnet given as `address/prefix`, or a bare address (then /24 for IPv4 and /56
/// for IPv6, the usual privacy-preserving lengths).
fn subnet(text: &str) -> Option<ClientSubnet> {
    if let Ok(network) = IpNet::from_str(text) {
        return Some(ClientSubnet::new(network));
    }
    let address = std::net::IpAddr::from_str(text).ok()?;
    let prefix = if address.is_ipv4() { 24 } else { 56 };
    IpNet::new(address, prefix).ok().map(ClientSubnet::new)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonResponse {
    status: u16,
    #[serde(rename = "TC")]
    tc: bool,
    #[serde(rename = "RD")]
    rd: bool,
    #[serde(rename = "RA")]
    ra: bool,
    #[serde(rename = "AD")]
    ad: bool,
    #[serde(rename = "CD")]
    cd: bool,
    question: Vec<JsonQuestion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answer: Vec<JsonRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authority: Vec<JsonRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "edns_client_subnet", skip_serializing_if = "Option::is_none")]
    edns_client_subnet: Option<String>,
}

#[derive(Serialize)]
struct JsonQuestion {
    name: String,
    #[serde(rename = "type")]
    record_type: u16,
}

#[derive(Serialize)]
struct JsonRecord {
    name: String,
    #[serde(rename = "type")]
    record_type: u16,
    #[serde(rename = "TTL")]
    ttl: u32,
    data: String,
}

impl From<&Record> for JsonRecord {
    fn from(record: &Record) -> Self {
        Self { name: record.name.to_utf8(), record_type: u16::from(record.record_type()), ttl: record.ttl, data: presentation(&record.data) }
    }
}

/// Record data in presentation format. SVCB and HTTPS are written here (RFC 9460 §2.1,
/// `key=value` pairs separated by spaces, lists joined by commas) because the library's
/// display leaves trailing commas.
pub fn presentation(data: &RData) -> String {
    let svcb = match data {
        RData::SVCB(svcb) => svcb,
        RData::HTTPS(https) => &https.0,
        // What the signer makes (RRSIG, NSEC, DNSKEY), in their RFCs' form; else RFC 3597's.
        RData::Unknown { code, rdata } => {
            return crate::dnssec::text::presentation(*code, &rdata.anything).unwrap_or_else(|| crate::dnssec::text::generic(&rdata.anything));
        }
        other => return other.to_string(),
    };
    let mut text = format!("{} {}", svcb.svc_priority, svcb.target_name);
    for (key, value) in &svcb.svc_params {
        let join = |items: Vec<String>| items.join(",");
        let value = match value {
            SvcParamValue::Mandatory(keys) => Some(join(keys.0.iter().map(ToString::to_string).collect())),
            SvcParamValue::Alpn(ids) => Some(join(ids.0.clone())),
            SvcParamValue::NoDefaultAlpn => None,
            SvcParamValue::Port(port) => Some(port.to_string()),
            SvcParamValue::Ipv4Hint(hints) => Some(join(hints.0.iter().map(ToString::to_string).collect())),
            SvcParamValue::Ipv6Hint(hints) => Some(join(hints.0.iter().map(ToString::to_string).collect())),
            other => Some(other.to_string()),
        };
        match value {
            Some(value) => text.push_str(&format!(" {key}={value}")),
            None => text.push_str(&format!(" {key}")),
        }
    }
    text
}

/// Renders a resolution as the JSON API's object.
pub fn render(query: &Query, resolution: &Resolution) -> String {
    let client_subnet = query.edns.and_then(|edns| edns.client_subnet);
    let response = JsonResponse {
        status: resolution.rcode.into(),
        tc: false,
        rd: query.header.recursion_desired,
        ra: resolution.recursion_available,
        ad: resolution.authentic_data,
        cd: query.header.checking_disabled,
        question: vec![JsonQuestion { name: query.question.name.to_utf8(), record_type: u16::from(query.question.query_type) }],
        answer: resolution.answers.records().iter().map(JsonRecord::from).collect(),
        authority: resolution.authority.iter().map(JsonRecord::from).collect(),
        comment: resolution.extended_error.map(|error| format!("EDE {}: {}", error.code(), error.text())),
        edns_client_subnet: client_subnet.map(|subnet| format!("{}/{}", subnet.network().addr(), resolution.scope.min(subnet.source_prefix()))),
    };
    serde_json::to_string(&response).unwrap_or_else(|_| String::from("{\"Status\":2}"))
}

/// The client as `/explain` should see it: the real one, with any location fields the
/// parameters give (`country`, `continent`, `region`, `lat`, `lon`, `asn`, `colo`, `address`).
pub fn client_overrides(query_string: &str, client: &Client) -> Result<Client, HttpError> {
    // The real client's location, read now, with the overrides applied over it.
    let mut client = Client { address: client.address, location: client.edge_location().clone(), location_source: None };
    let text = |key: &str| parameter(query_string, key).and_then(percent_decode).filter(|v| !v.is_empty());
    let number = |key: &str| -> Result<Option<f64>, HttpError> {
        text(key).map(|v| v.parse::<f64>().map_err(|_| HttpError::BadRequest("lat, lon and asn are numbers"))).transpose()
    };
    if let Some(country) = text("country") {
        client.location.country = Some(country);
    }
    if let Some(continent) = text("continent") {
        client.location.continent = Some(continent);
    }
    if let Some(region) = text("region") {
        client.location.region_code = Some(region);
    }
    if let Some(colo) = text("colo") {
        client.location.colo = Some(colo);
        client.location.latitude = None;
        client.location.longitude = None;
    }
    if let Some(latitude) = number("lat")? {
        client.location.latitude = Some(latitude);
    }
    if let Some(longitude) = number("lon")? {
        client.location.longitude = Some(longitude);
    }
    if let Some(asn) = number("asn")? {
        client.location.asn = u32::try_from(asn as i64).ok();
    }
    if let Some(address) = text("address") {
        client.address = Some(address.parse().map_err(|_| HttpError::BadRequest("invalid address"))?);
    }
    Ok(client)
}

/// Renders the explain object: question, where the client was taken to be, the answer, the
/// ECS scope, whether the answer was tailored, and the decision trace.
pub fn render_explain(query: &Query, view: &ClientView, resolution: &Resolution, trace: &[String], health: &HealthSummary) -> String {
    let records = |records: &[Record]| -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|r| serde_json::json!({"name": r.name.to_utf8(), "type": r.record_type().to_string(), "TTL": r.ttl, "data": presentation(&r.data)}))
            .collect()
    };
    let value = serde_json::json!({
        "question": {"name": query.question.name.to_utf8(), "type": query.question.query_type.to_string()},
        "client": {
            "country": view.country,
            "continent": view.continent,
            "subdivision": view.subdivision,
            "coordinates": view.coordinates.map(|c| [c.latitude, c.longitude]),
            "asn": view.asn,
            "network": view.network.map(|n| n.to_string()),
            "from_subnet": view.from_subnet,
        },
        "status": resolution.rcode.to_string(),
        "answer": records(&resolution.answers.records()),
        "authority": records(&resolution.authority),
        "scope": resolution.scope,
        "tailored": resolution.tailored,
        "trace": trace,
        "health": {
            "updated_at": health.updated_at,
            "age_seconds": health.age_ms.map(|ms| ms / 1000),
            "stale": health.stale,
            "rule": "no snapshot or a stale one (over 10 minutes old): every check counts as healthy; overrides always apply",
        },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parameters() {
        let query = parse("name=www.example.com&type=aaaa&cd=1&edns_client_subnet=198.51.100.7").unwrap();
        assert_eq!(query.question.name.to_ascii(), "www.example.com.");
        assert_eq!(query.question.query_type, RecordType::AAAA);
        assert!(query.header.checking_disabled);
        let subnet = query.edns.unwrap().client_subnet.unwrap();
        assert_eq!(subnet.network().to_string(), "198.51.100.0/24");
        assert_eq!(parse("name=x.example&type=28").unwrap().question.query_type, RecordType::AAAA);
        assert_eq!(parse("name=x.example&type=TYPE65").unwrap().question.query_type, RecordType::HTTPS);
        assert_eq!(parse("name=x.example").unwrap().question.query_type, RecordType::A);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert_eq!(parse("type=A").unwrap_err().status(), 400);
        assert_eq!(parse("name=").unwrap_err().status(), 400);
        assert_eq!(parse("name=a..b").unwrap_err().status(), 400);
        assert_eq!(parse(&format!("name={}", "a".repeat(64))).unwrap_err().status(), 400);
        assert_eq!(parse("name=x.example&type=NOPE").unwrap_err().status(), 400);
        assert_eq!(parse("name=x.example&edns_client_subnet=300.1.1.1").unwrap_err().status(), 400);
    }
}
