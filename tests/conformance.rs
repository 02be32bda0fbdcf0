//! Conformance scenarios, one or more per line of CONFORMANCE.md, through the whole sans-IO
//! pipeline (`server::handle`: HTTP in, HTTP out) with the example zones and the test zones.
//! The same behaviours are checked through workerd with real clients in `tests/e2e.rs`.

use std::str::FromStr;
use std::sync::OnceLock;

use base64::Engine;
use edgedns::client::Client;
use edgedns::doh::{HttpRequest, HttpResponse};
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::server::{handle, Environment, Zones};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut sources = Vec::new();
        for dir in ["zones", "tests/zones"] {
            let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|path| path.is_file()).collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).unwrap();
                sources.push(SourceFile { path: path.display().to_string(), text });
            }
        }
        compile_all(&sources).unwrap_or_else(|errors| panic!("{errors:?}"))
    })
}

fn respond(request: &HttpRequest<'_>, zones: Zones<'_>) -> HttpResponse {
    let mut random = SplitMix::new(7);
    let mut environment =
        Environment { client: &Client::default(), health: &NoHealthData, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
    handle(request, zones, &mut environment)
}

fn send(request: HttpRequest<'_>) -> HttpResponse {
    respond(&request, Zones::Loaded(catalog()))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn get(query: &str) -> HttpResponse {
    send(HttpRequest { method: "GET", path: "/dns-query", query, ..HttpRequest::default() })
}

fn post(body: &[u8]) -> HttpResponse {
    send(HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body, ..HttpRequest::default() })
}

fn question(name: &str, record_type: RecordType) -> Message {
    let mut message = Message::new(0xbeef, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message
}

fn with_edns(mut message: Message, options: Vec<EdnsOption>) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(512);
    for option in options {
        edns.options_mut().insert(option);
    }
    message.edns = Some(edns);
    message
}

/// POSTs a message and decodes the DNS response (asserting HTTP 200).
fn exchange(message: &Message) -> Message {
    let response = post(&message.to_vec().unwrap());
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.header("content-type"), Some("application/dns-message"));
    Message::from_vec(&response.body).unwrap()
}

fn ask(name: &str, record_type: RecordType) -> Message {
    exchange(&question(name, record_type))
}

fn rdata(records: &[Record]) -> Vec<String> {
    records.iter().map(|record| format!("{} {} {}", record.name, record.record_type(), record.data)).collect()
}

fn extended_error(message: &Message) -> Option<u16> {
    let edns = message.edns.as_ref()?;
    match edns.option(EdnsCode::from(15))? {
        EdnsOption::Unknown(15, data) => Some(u16::from_be_bytes([data[0], data[1]])),
        _ => None,
    }
}

fn raw_header(id: u16, flags: u16, qdcount: u16, arcount: u16) -> Vec<u8> {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.extend(flags.to_be_bytes());
    bytes.extend(qdcount.to_be_bytes());
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(arcount.to_be_bytes());
    bytes
}

const WWW_QUESTION: &[u8] = b"\x03www\x0bconformance\x04test\x00\x00\x01\x00\x01";

// ---- HTTP layer (RFC 8484, RFC 9110) ----

#[test]
fn get_with_rfc8484_example() {
    let response = get("dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB");
    assert_eq!(response.status, 200);
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!(message.metadata.id, 0);
    assert_eq!(rdata(&message.answers), vec!["www.example.com. A 192.0.2.10"]);
}

#[test]
fn get_with_rfc8484_long_label_example() {
    let response = get("dns=AAABAAABAAAAAAAAAWE-NjJjaGFyYWN0ZXJsYWJlbC1tYWtlcy1iYXNlNjR1cmwtZGlzdGluY3QtZnJvbS1zdGFuZGFyZC1iYXNlNjQHZXhhbXBsZQNjb20AAAEAAQ");
    assert_eq!(response.status, 200);
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(message.queries[0].name.iter().nth(1).map(<[u8]>::len), Some(62));
}

#[test]
fn get_tolerates_padding_and_rejects_standard_alphabet() {
    let padded = get("dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB==");
    assert_eq!(padded.status, 200);
    // The 94-byte example encodes a `-` (62) that standard base64 would write as `+`.
    let standard = get("dns=AAABAAABAAAAAAAAAWE+NjJjaGFyYWN0ZXJsYWJlbC1tYWtlcy1iYXNlNjR1cmwtZGlzdGluY3QtZnJvbS1zdGFuZGFyZC1iYXNlNjQHZXhhbXBsZQNjb20AAAEAAQ");
    assert_eq!(standard.status, 400);
    let slash = get("dns=AAAB/AABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB");
    assert_eq!(slash.status, 400);
}

#[test]
fn get_errors() {
    assert_eq!(get("").status, 400);
    assert_eq!(get("dns=").status, 400);
    assert_eq!(get("dns=!!!!").status, 400);
    assert_eq!(get(&format!("dns={}", b64(b"hello"))).status, 400);
    let long = format!("dns={}", "A".repeat(10_000));
    assert_eq!(get(&long).status, 414);
}

#[test]
fn post_media_types_and_bodies() {
    let query = question("www.conformance.test.", RecordType::A).to_vec().unwrap();
    let with = |content_type: Option<&'static str>, body: &[u8]| {
        send(HttpRequest { method: "POST", path: "/dns-query", content_type, body, ..HttpRequest::default() }).status
    };
    assert_eq!(with(Some("application/dns-message"), &query), 200);
    assert_eq!(with(Some("application/dns-message; charset=utf-8"), &query), 200);
    assert_eq!(with(Some("APPLICATION/DNS-MESSAGE"), &query), 200);
    assert_eq!(with(Some("application/x-www-form-urlencoded"), &query), 415);
    assert_eq!(with(None, &query), 415);
    assert_eq!(with(Some("application/dns-message"), b""), 400);
    assert_eq!(with(Some("application/dns-message"), b"\x00\x01garbage"), 400);
    assert_eq!(with(Some("application/dns-message"), &vec![0u8; 65_536]), 413);
}

#[test]
fn other_methods_get_405_with_allow_and_options_is_a_preflight() {
    for method in ["PUT", "DELETE", "PATCH"] {
        let response = send(HttpRequest { method, path: "/dns-query", ..HttpRequest::default() });
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, POST, OPTIONS"));
    }
    let preflight = send(HttpRequest { method: "OPTIONS", path: "/dns-query", ..HttpRequest::default() });
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(preflight.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(preflight.header("access-control-allow-headers").unwrap().contains("content-type"));
}

#[test]
fn every_dns_and_json_response_allows_any_origin() {
    let query = b64(&question("www.conformance.test.", RecordType::A).to_vec().unwrap());
    assert_eq!(get(&format!("dns={query}")).header("access-control-allow-origin"), Some("*"));
    let refused = b64(&question("example.net.", RecordType::A).to_vec().unwrap());
    assert_eq!(get(&format!("dns={refused}")).header("access-control-allow-origin"), Some("*"));
    let json = send(HttpRequest { method: "GET", path: "/resolve", query: "name=www.conformance.test", ..HttpRequest::default() });
    assert_eq!(json.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn accept_defaults_to_dns_message() {
    let query = format!("dns={}", b64(&question("www.conformance.test.", RecordType::A).to_vec().unwrap()));
    for accept in [None, Some("*/*"), Some("application/*"), Some("application/dns-message")] {
        let response = send(HttpRequest { method: "GET", path: "/dns-query", query: &query, accept, ..HttpRequest::default() });
        assert_eq!(response.status, 200, "{accept:?}");
        assert_eq!(response.header("content-type"), Some("application/dns-message"));
    }
    let response = send(HttpRequest { method: "GET", path: "/dns-query", query: &query, accept: Some("text/html"), ..HttpRequest::default() });
    assert_eq!(response.status, 406);
}

#[test]
fn every_rcode_is_http_200() {
    assert_eq!(ask("nope.conformance.test.", RecordType::A).metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(ask("example.net.", RecordType::A).metadata.response_code, ResponseCode::Refused);
    let unavailable = respond(
        &HttpRequest {
            method: "POST",
            path: "/dns-query",
            content_type: Some("application/dns-message"),
            body: &question("www.conformance.test.", RecordType::A).to_vec().unwrap(),
            ..HttpRequest::default()
        },
        Zones::Unavailable,
    );
    assert_eq!(unavailable.status, 200);
    assert_eq!(Message::from_vec(&unavailable.body).unwrap().metadata.response_code, ResponseCode::ServFail);
    let formerr = post(&[raw_header(7, 0x8100, 1, 0), WWW_QUESTION.to_vec()].concat());
    assert_eq!(formerr.status, 200);
    assert_eq!(Message::from_vec(&formerr.body).unwrap().metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn id_is_echoed() {
    assert_eq!(ask("www.conformance.test.", RecordType::A).metadata.id, 0xbeef);
    let mut zero = question("www.conformance.test.", RecordType::A);
    zero.metadata.id = 0;
    assert_eq!(exchange(&zero).metadata.id, 0);
}

#[test]
fn cache_control_follows_ttls() {
    let cache = |name: &str, record_type| {
        let response = post(&question(name, record_type).to_vec().unwrap());
        response.header("cache-control").unwrap().to_owned()
    };
    // Smallest TTL in the answer: www A is 300 (two records, one TTL), lowttl 5.
    assert_eq!(cache("www.conformance.test.", RecordType::A), "max-age=300");
    assert_eq!(cache("lowttl.conformance.test.", RecordType::A), "max-age=5");
    // CNAME chain: the smallest of the links (chain1 60, chain2 3600, alias 120, www 300).
    assert_eq!(cache("chain1.conformance.test.", RecordType::A), "max-age=60");
    // Negative: min(SOA TTL 3600, MINIMUM 300) = 300; nested zone: min(600, 60).
    assert_eq!(cache("nope.conformance.test.", RecordType::A), "max-age=300");
    assert_eq!(cache("www.conformance.test.", RecordType::MX), "max-age=300");
    assert_eq!(cache("nope.nested.conformance.test.", RecordType::A), "max-age=60");
    // Errors are not cached.
    assert_eq!(cache("example.net.", RecordType::A), "no-store");
}

/// zones/shared.example.zone has no SOA or NS: they come from the delegation set "edge"
/// (zones/delegation-sets.toml), with soa_negative_ttl = 60 from its routes file.
#[test]
fn a_zone_with_a_delegation_set_answers_with_the_sets_ns_and_soa() {
    let mut name_servers = rdata(&ask("shared.example.", RecordType::NS).answers);
    name_servers.sort();
    assert_eq!(name_servers, ["shared.example. NS ns1.example.com.", "shared.example. NS ns2.example.com."]);
    assert!(ask("shared.example.", RecordType::NS).answers.iter().all(|record| record.ttl == 172_800));

    let negative = ask("nope.shared.example.", RecordType::A);
    assert_eq!(negative.metadata.response_code, ResponseCode::NXDomain);
    assert!(negative.metadata.authoritative);
    let [soa] = &negative.authorities[..] else { panic!("one SOA in Authority: {negative:?}") };
    let RData::SOA(data) = &soa.data else { panic!("{soa:?}") };
    assert_eq!((data.mname.to_ascii(), data.rname.to_ascii()), ("ns1.example.com.".to_owned(), "hostmaster.example.com.".to_owned()));
    assert_eq!((data.refresh, data.retry, data.expire), (7200, 900, 1_209_600));
    // RFC 2308 §3: the negative answer's SOA carries min(SOA TTL 900, MINIMUM 60).
    assert_eq!((data.minimum, soa.ttl), (60, 60));
    let response = post(&question("nope.shared.example.", RecordType::A).to_vec().unwrap());
    assert_eq!(response.header("cache-control"), Some("max-age=60"));
    // The README's example: GET of nope.shared.example A, and the JSON API.
    assert_eq!(get("dns=AAABAAABAAAAAAAABG5vcGUGc2hhcmVkB2V4YW1wbGUAAAEAAQ").header("cache-control"), Some("max-age=60"));
    let json = send(HttpRequest { method: "GET", path: "/resolve", query: "name=nope.shared.example&type=A", ..HttpRequest::default() });
    assert_eq!(json.header("cache-control"), Some("max-age=60"));
    // The SOA itself, asked for, keeps the set's TTL.
    assert_eq!(ask("shared.example.", RecordType::SOA).answers[0].ttl, 900);
}

#[test]
fn udp_payload_size_is_ignored_and_tc_never_set() {
    let message = exchange(&with_edns(question("big.conformance.test.", RecordType::TXT), vec![]));
    assert!(!message.metadata.truncation);
    assert_eq!(message.answers.len(), 10);
    assert!(post(&with_edns(question("big.conformance.test.", RecordType::TXT), vec![]).to_vec().unwrap()).body.len() > 512);
}

// ---- JSON API ----

fn json(query: &str) -> (u16, serde_json::Value) {
    let response = send(HttpRequest { method: "GET", path: "/resolve", query, ..HttpRequest::default() });
    let value = serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
    (response.status, value)
}

#[test]
fn json_api_answers() {
    let (status, value) = json("name=www.conformance.test&type=A");
    assert_eq!(status, 200);
    assert_eq!(value["Status"], 0);
    for field in ["TC", "RD", "RA", "AD", "CD"] {
        assert!(value[field].is_boolean(), "{field}");
    }
    assert_eq!(value["Question"][0]["name"], "www.conformance.test.");
    assert_eq!(value["Question"][0]["type"], 1);
    assert_eq!(value["Answer"].as_array().unwrap().len(), 2);
    assert_eq!(value["Answer"][0]["TTL"], 300);
    let mut data: Vec<&str> = value["Answer"].as_array().unwrap().iter().map(|a| a["data"].as_str().unwrap()).collect();
    data.sort();
    assert_eq!(data, vec!["192.0.2.10", "192.0.2.11"]);

    let (_, by_number) = json("name=www.conformance.test&type=28");
    assert_eq!(by_number["Answer"][0]["data"], "2001:db8::10");
    let (_, negative) = json("name=nope.conformance.test&type=aaaa");
    assert_eq!(negative["Status"], 3);
    assert_eq!(negative["Authority"][0]["type"], 6);
    let (_, refused) = json("name=example.net");
    assert_eq!(refused["Status"], 5);
    assert!(refused["Comment"].as_str().unwrap().contains("20"));
    let (_, subnet) = json("name=www.conformance.test&edns_client_subnet=198.51.100.0/24");
    assert_eq!(subnet["edns_client_subnet"], "198.51.100.0/0");
}

#[test]
fn json_api_writes_svcb_in_presentation_format() {
    let (_, value) = json("name=svc.conformance.test&type=HTTPS");
    assert_eq!(value["Answer"][0]["data"], "1 . alpn=h2,h3 ipv4hint=192.0.2.60");
    let (_, value) = json("name=svcb.conformance.test&type=SVCB");
    assert_eq!(value["Answer"][0]["data"], "1 svc.conformance.test. port=8443");
}

#[test]
fn json_api_through_dns_query_with_accept() {
    let response = send(HttpRequest {
        method: "GET",
        path: "/dns-query",
        query: "name=www.conformance.test&type=AAAA",
        accept: Some("application/dns-json"),
        ..HttpRequest::default()
    });
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/dns-json"));
    let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(value["Answer"][0]["data"], "2001:db8::10");
}

#[test]
fn json_api_rejects_invalid_names_and_types() {
    assert_eq!(json("name=a..b").0, 400);
    assert_eq!(json(&format!("name={}.test", "x".repeat(64))).0, 400);
    assert_eq!(json("type=A").0, 400);
    assert_eq!(json("name=www.conformance.test&type=BOGUS").0, 400);
}

// ---- Authoritative answering (RFC 1034 §4.3.2, RFC 2308, RFC 4592, RFC 6604) ----

#[test]
fn names_outside_hosted_zones_are_refused() {
    let plain = ask("www.example.net.", RecordType::A);
    assert_eq!(plain.metadata.response_code, ResponseCode::Refused);
    assert!(!plain.metadata.authoritative);
    assert!(plain.edns.is_none());
    let with_opt = exchange(&with_edns(question("www.example.net.", RecordType::A), vec![]));
    assert_eq!(extended_error(&with_opt), Some(20));
}

#[test]
fn most_specific_zone_wins() {
    let message = ask("www.nested.conformance.test.", RecordType::A);
    assert_eq!(rdata(&message.answers), vec!["www.nested.conformance.test. A 198.51.100.1"]);
    let negative = ask("other.nested.conformance.test.", RecordType::A);
    assert_eq!(negative.authorities[0].name.to_ascii(), "nested.conformance.test.");
}

#[test]
fn in_zone_answers_are_authoritative_and_keep_question_case() {
    let mut bytes = raw_header(0x1234, 0x0100, 1, 0);
    bytes.extend(b"\x03WwW\x0bConFormance\x04TEST\x00\x00\x01\x00\x01");
    let response = post(&bytes);
    let message = Message::from_vec(&response.body).unwrap();
    assert!(message.metadata.authoritative);
    assert_eq!(message.answers.len(), 2);
    // The question section is copied byte for byte.
    assert_eq!(&response.body[12..12 + 26], &bytes[12..]);
}

#[test]
fn cname_is_answered_for_every_type_and_chased() {
    let message = ask("alias.conformance.test.", RecordType::AAAA);
    assert_eq!(rdata(&message.answers), vec!["alias.conformance.test. CNAME www.conformance.test.", "www.conformance.test. AAAA 2001:db8::10"]);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    let direct = ask("alias.conformance.test.", RecordType::CNAME);
    assert_eq!(rdata(&direct.answers), vec!["alias.conformance.test. CNAME www.conformance.test."]);
    let chain = ask("chain1.conformance.test.", RecordType::A);
    assert_eq!(chain.answers.len(), 5);
    // Chased into another hosted zone.
    let nested = ask("tonested.conformance.test.", RecordType::A);
    assert_eq!(rdata(&nested.answers).last().unwrap(), "www.nested.conformance.test. A 198.51.100.1");
    // A target outside every hosted zone ends the chain.
    let outside = ask("outside.conformance.test.", RecordType::A);
    assert_eq!(rdata(&outside.answers), vec!["outside.conformance.test. CNAME www.example.net."]);
    assert_eq!(outside.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn cname_to_a_missing_name_is_nxdomain_with_the_cname() {
    let message = ask("dangling.conformance.test.", RecordType::A);
    assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(rdata(&message.answers), vec!["dangling.conformance.test. CNAME missing.conformance.test."]);
    assert_eq!(message.authorities[0].record_type(), RecordType::SOA);
    assert!(message.metadata.authoritative);
}

#[test]
fn cname_loops_are_broken() {
    let message = ask("loop1.conformance.test.", RecordType::A);
    assert_eq!(message.answers.len(), 2);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn cname_into_a_delegation_gives_cname_and_referral() {
    let message = ask("tochild.conformance.test.", RecordType::A);
    assert_eq!(rdata(&message.answers), vec!["tochild.conformance.test. CNAME host.child.conformance.test."]);
    assert_eq!(message.authorities.len(), 2);
    assert!(message.authorities.iter().all(|r| r.record_type() == RecordType::NS));
}

#[test]
fn delegations_are_referrals_with_glue() {
    for name in ["child.conformance.test.", "host.child.conformance.test.", "anything.child.conformance.test."] {
        let message = ask(name, RecordType::A);
        assert_eq!(message.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(!message.metadata.authoritative, "{name}");
        assert!(message.answers.is_empty(), "{name}: never answered from below the cut");
        let mut servers = rdata(&message.authorities);
        servers.sort();
        assert_eq!(servers, vec!["child.conformance.test. NS ns.elsewhere.example.", "child.conformance.test. NS ns1.child.conformance.test.",]);
        assert_eq!(rdata(&message.additionals), vec!["ns1.child.conformance.test. A 192.0.2.70"]);
    }
    let response = post(&question("host.child.conformance.test.", RecordType::A).to_vec().unwrap());
    assert_eq!(response.header("cache-control"), Some("max-age=3600"));
}

#[test]
fn nxdomain_and_nodata_carry_the_soa_with_the_negative_ttl() {
    let nxdomain = ask("nope.conformance.test.", RecordType::A);
    assert_eq!(nxdomain.metadata.response_code, ResponseCode::NXDomain);
    assert!(nxdomain.metadata.authoritative);
    assert_eq!(nxdomain.authorities.len(), 1);
    assert_eq!(nxdomain.authorities[0].ttl, 300);
    assert_eq!(nxdomain.authorities[0].name.to_ascii(), "conformance.test.");

    let nodata = ask("www.conformance.test.", RecordType::MX);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(nodata.authorities[0].ttl, 300);
}

#[test]
fn empty_non_terminals_are_nodata() {
    for name in ["ent.conformance.test.", "b.ent.conformance.test."] {
        let message = ask(name, RecordType::A);
        assert_eq!(message.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(message.answers.is_empty());
        assert_eq!(message.authorities[0].record_type(), RecordType::SOA);
    }
    assert_eq!(ask("x.ent.conformance.test.", RecordType::A).metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn wildcards_follow_rfc4592() {
    let synthesized = ask("anything.wild.conformance.test.", RecordType::A);
    assert_eq!(rdata(&synthesized.answers), vec!["anything.wild.conformance.test. A 192.0.2.40"]);
    assert!(synthesized.metadata.authoritative);
    let deeper = ask("a.b.wild.conformance.test.", RecordType::TXT);
    assert_eq!(rdata(&deeper.answers), vec!["a.b.wild.conformance.test. TXT from the wildcard"]);
    // Wildcard present, type absent: NODATA.
    let nodata = ask("anything.wild.conformance.test.", RecordType::AAAA);
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    // An existing name blocks the wildcard, for every type.
    let blocked = ask("exists.wild.conformance.test.", RecordType::A);
    assert!(blocked.answers.is_empty());
    assert_eq!(blocked.metadata.response_code, ResponseCode::NoError);
    // So does an empty non-terminal, and names below it are not covered either.
    let ent = ask("sub.wild.conformance.test.", RecordType::A);
    assert!(ent.answers.is_empty());
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    assert_eq!(ask("y.sub.wild.conformance.test.", RecordType::A).metadata.response_code, ResponseCode::NXDomain);
    // Only *.<closest encloser> synthesises: nothing covers names under the apex.
    assert_eq!(ask("wild2.conformance.test.", RecordType::A).metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn wildcard_cname_wins_over_the_query_type() {
    let message = ask("foo.cwild.conformance.test.", RecordType::AAAA);
    assert_eq!(rdata(&message.answers), vec!["foo.cwild.conformance.test. CNAME www.conformance.test.", "www.conformance.test. AAAA 2001:db8::10"]);
}

#[test]
fn any_is_minimal() {
    let message = exchange(&with_edns(question("www.conformance.test.", RecordType::ANY), vec![]));
    let types: Vec<_> = message.answers.iter().map(Record::record_type).collect();
    assert!(!types.is_empty());
    assert!(types.iter().all(|t| *t == types[0]), "one RRset only: {types:?}");
    assert_eq!(extended_error(&message), Some(21));
    assert_eq!(ask("nope.conformance.test.", RecordType::ANY).metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn every_required_record_type_is_served() {
    let cases = [
        ("conformance.test.", RecordType::SOA, "SOA"),
        ("conformance.test.", RecordType::NS, "ns1.conformance.test."),
        ("conformance.test.", RecordType::MX, "10 mail.conformance.test."),
        ("conformance.test.", RecordType::CAA, "issue"),
        ("txt.conformance.test.", RecordType::TXT, "second; string"),
        ("_sip._tcp.conformance.test.", RecordType::SRV, "10 60 5060 sip.conformance.test."),
        ("ptr.conformance.test.", RecordType::PTR, "www.conformance.test."),
        ("svc.conformance.test.", RecordType::HTTPS, "alpn"),
        ("svcb.conformance.test.", RecordType::SVCB, "port"),
        ("ns2.conformance.test.", RecordType::AAAA, "2001:db8::53"),
        ("10.2.0.192.in-addr.arpa.", RecordType::PTR, "www.example.com."),
    ];
    for (name, record_type, expected) in cases {
        let message = ask(name, record_type);
        let answers = rdata(&message.answers).join("\n");
        assert!(answers.contains(expected) || record_type == RecordType::SOA && message.answers.len() == 1, "{name} {record_type}: {answers}");
        assert!(message.answers.iter().all(|r| r.record_type() == record_type), "{name} {record_type}");
    }
    // A type nobody defined is NODATA, not an error.
    let unknown = ask("www.conformance.test.", RecordType::Unknown(65_280));
    assert_eq!(unknown.metadata.response_code, ResponseCode::NoError);
    assert!(unknown.answers.is_empty());
    assert_eq!(unknown.authorities[0].record_type(), RecordType::SOA);
}

// ---- Header and EDNS (RFC 6891, RFC 8906, RFC 9619, RFC 8914) ----

fn raw_response(bytes: &[u8]) -> Message {
    let response = post(bytes);
    assert_eq!(response.status, 200);
    Message::from_vec(&response.body).unwrap()
}

#[test]
fn qr_set_or_wrong_question_count_is_formerr() {
    let qr = raw_response(&[raw_header(1, 0x8100, 1, 0), WWW_QUESTION.to_vec()].concat());
    assert_eq!(qr.metadata.response_code, ResponseCode::FormErr);
    let none = raw_response(&raw_header(2, 0x0100, 0, 0));
    assert_eq!(none.metadata.response_code, ResponseCode::FormErr);
    let two = raw_response(&[raw_header(3, 0x0100, 2, 0), WWW_QUESTION.to_vec(), WWW_QUESTION.to_vec()].concat());
    assert_eq!(two.metadata.response_code, ResponseCode::FormErr);
    assert_eq!(two.metadata.id, 3);
}

#[test]
fn other_opcodes_are_notimp_with_the_opcode_echoed() {
    let mut message = with_edns(question("www.conformance.test.", RecordType::A), vec![]);
    message.metadata.op_code = OpCode::Status;
    let reply = exchange(&message);
    assert_eq!(reply.metadata.response_code, ResponseCode::NotImp);
    assert_eq!(reply.metadata.op_code, OpCode::Status);
    assert_eq!(extended_error(&reply), Some(21));
    let notify = raw_response(&[raw_header(4, 0x2000, 1, 0), WWW_QUESTION.to_vec()].concat());
    assert_eq!(notify.metadata.op_code, OpCode::Notify);
    assert_eq!(notify.metadata.response_code, ResponseCode::NotImp);
}

#[test]
fn flags_rd_cd_copied_ra_ad_z_clear() {
    // RD=0, AD=1, CD=1, Z=1 in the query.
    let reply = raw_response(&[raw_header(5, 0x0070, 1, 0), WWW_QUESTION.to_vec()].concat());
    assert!(!reply.metadata.recursion_desired);
    assert!(reply.metadata.checking_disabled);
    assert!(!reply.metadata.recursion_available);
    assert!(!reply.metadata.authentic_data);
    let response = post(&[raw_header(5, 0x0070, 1, 0), WWW_QUESTION.to_vec()].concat());
    assert_eq!(response.body[3] & 0x40, 0, "Z bit clear");
    let with_rd = ask("www.conformance.test.", RecordType::A);
    assert!(with_rd.metadata.recursion_desired);
    assert!(!with_rd.metadata.checking_disabled);
}

#[test]
fn opt_in_opt_out() {
    assert!(ask("www.conformance.test.", RecordType::A).edns.is_none());
    let reply = exchange(&with_edns(question("www.conformance.test.", RecordType::A), vec![]));
    let edns = reply.edns.unwrap();
    assert_eq!(edns.version(), 0);
    assert!(!edns.flags().dnssec_ok);
    assert!(edns.options().as_ref().is_empty());
}

#[test]
fn dnssec_ok_is_copied_and_unknown_options_are_not_echoed() {
    let mut message = with_edns(question("www.conformance.test.", RecordType::A), vec![EdnsOption::Unknown(65_001, vec![1, 2, 3])]);
    message.edns.as_mut().unwrap().set_dnssec_ok(true);
    let reply = exchange(&message);
    let edns = reply.edns.unwrap();
    assert!(edns.flags().dnssec_ok);
    assert!(edns.options().as_ref().is_empty());
    assert_eq!(reply.answers.len(), 2);
}

fn opt_record(version: u8) -> Vec<u8> {
    vec![0, 0, 41, 0x04, 0xd0, 0, version, 0, 0, 0, 0]
}

#[test]
fn edns_version_above_zero_is_badvers() {
    let reply = raw_response(&[raw_header(6, 0x0100, 1, 1), WWW_QUESTION.to_vec(), opt_record(1)].concat());
    // Extended RCODE 16 (BADVERS; the decoder names the shared value BADSIG).
    assert_eq!(u16::from(reply.metadata.response_code), 16);
    assert_eq!(reply.edns.unwrap().version(), 0);
    assert!(reply.answers.is_empty());
}

#[test]
fn two_opt_records_are_formerr() {
    let reply = raw_response(&[raw_header(7, 0x0100, 1, 2), WWW_QUESTION.to_vec(), opt_record(0), opt_record(0)].concat());
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn extended_errors_only_with_opt() {
    assert_eq!(extended_error(&ask("example.net.", RecordType::A)), None);
    assert_eq!(extended_error(&exchange(&with_edns(question("example.net.", RecordType::A), vec![]))), Some(20));
    let body = with_edns(question("www.conformance.test.", RecordType::A), vec![]).to_vec().unwrap();
    let request = HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body: &body, ..HttpRequest::default() };
    let unavailable = respond(&request, Zones::Unavailable);
    let message = Message::from_vec(&unavailable.body).unwrap();
    assert_eq!(message.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(extended_error(&message), Some(14));
    assert_eq!(unavailable.header("cache-control"), Some("no-store"));
}

// ---- EDNS Client Subnet (RFC 7871) ----

fn subnet_option(address: &str, source: u8) -> EdnsOption {
    EdnsOption::Subnet(ClientSubnet::new(address.parse().unwrap(), source, 0))
}

fn echoed_subnet(message: &Message) -> Option<ClientSubnet> {
    match message.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(subnet) => Some(*subnet),
        _ => None,
    }
}

#[test]
fn client_subnet_is_echoed_with_scope_zero_for_untailored_answers() {
    for (name, record_type) in
        [("www.conformance.test.", RecordType::A), ("nope.conformance.test.", RecordType::A), ("host.child.conformance.test.", RecordType::A)]
    {
        let reply = exchange(&with_edns(question(name, record_type), vec![subnet_option("198.51.100.0", 24)]));
        let subnet = echoed_subnet(&reply).unwrap_or_else(|| panic!("{name}: no ECS echoed"));
        assert_eq!(subnet.addr(), "198.51.100.0".parse::<std::net::IpAddr>().unwrap());
        assert_eq!(subnet.source_prefix(), 24);
        assert_eq!(subnet.scope_prefix(), 0, "{name}");
    }
    let v6 = exchange(&with_edns(question("www.conformance.test.", RecordType::A), vec![subnet_option("2001:db8:1200::", 40)]));
    let subnet = echoed_subnet(&v6).unwrap();
    assert_eq!(subnet.source_prefix(), 40);
}

#[test]
fn no_client_subnet_in_means_none_out() {
    let reply = exchange(&with_edns(question("www.conformance.test.", RecordType::A), vec![]));
    assert!(echoed_subnet(&reply).is_none());
}

fn raw_ecs_query(option_data: &[u8]) -> Message {
    let mut opt = vec![0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0];
    opt.extend(((option_data.len() + 4) as u16).to_be_bytes());
    opt.extend([0, 8]);
    opt.extend((option_data.len() as u16).to_be_bytes());
    opt.extend(option_data);
    raw_response(&[raw_header(8, 0x0100, 1, 1), WWW_QUESTION.to_vec(), opt].concat())
}

#[test]
fn malformed_client_subnets_are_formerr() {
    for bad in [
        &[0, 3, 24, 0, 198, 51, 100][..],    // unknown family
        &[0, 1, 24, 0, 198, 51][..],         // address too short for /24
        &[0, 1, 24, 0, 198, 51, 100, 0][..], // address too long for /24
        &[0, 1, 23, 0, 198, 51, 101][..],    // bits set beyond the source prefix
        &[0, 1, 33, 0, 1, 2, 3, 4, 5][..],   // prefix longer than IPv4
    ] {
        assert_eq!(raw_ecs_query(bad).metadata.response_code, ResponseCode::FormErr, "{bad:?}");
    }
}

#[test]
fn source_prefix_zero_is_answered() {
    let reply = raw_ecs_query(&[0, 1, 0, 0]);
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(reply.answers.len(), 2);
    let subnet = echoed_subnet(&reply).unwrap();
    assert_eq!((subnet.source_prefix(), subnet.scope_prefix()), (0, 0));
}

#[test]
fn query_class_other_than_in_is_refused() {
    let mut message = question("www.conformance.test.", RecordType::A);
    message.queries[0].query_class = DNSClass::CH;
    assert_eq!(exchange(&message).metadata.response_code, ResponseCode::Refused);
}

#[test]
fn zone_transfers_are_refused() {
    let reply = exchange(&with_edns(question("conformance.test.", RecordType::AXFR), vec![]));
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert_eq!(extended_error(&reply), Some(18));
}

#[test]
fn positive_answers_are_minimal() {
    let message = ask("www.conformance.test.", RecordType::A);
    assert!(message.authorities.is_empty());
    assert!(message.additionals.is_empty());
    let rdata_kinds: Vec<_> = message.answers.iter().map(|r| matches!(r.data, RData::A(_))).collect();
    assert_eq!(rdata_kinds, vec![true, true]);
}
