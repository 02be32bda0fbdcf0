//! Resolver mode through `server::serve` and `server::complete`, natively: what is forwarded,
//! what goes upstream, and what the client gets back from an upstream's answer, a failure,
//! or the firewall. (The fetching, caching and timing are the Worker's, tested end to end in
//! tests/e2e/resolver.rs.)

use std::str::FromStr;
use std::sync::OnceLock;

use edgedns::client::Client;
use edgedns::doh::{HttpRequest, HttpResponse};
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::resolver::firewall::{Firewall, FirewallSet};
use edgedns::resolver::forward::{self, Freshness, UpstreamFailure};
use edgedns::resolver::profile::Screen;
use edgedns::resolver::ResolverConfig;
use edgedns::server::{complete, complete_in, serve, Environment, Forward, Forwarded, Outcome, Recursion, Zones};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut sources = Vec::new();
        for dir in ["zones", "tests/zones"] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if !path.is_file() {
                    continue;
                }
                sources.push(SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() });
            }
        }
        compile_all(&sources).unwrap_or_else(|errors| panic!("{errors:?}"))
    })
}

fn config() -> ResolverConfig {
    ResolverConfig::from_vars(|name| (name == "UPSTREAMS").then(|| "https://dns.example/dns-query".to_owned())).unwrap().unwrap()
}

fn query_bytes(name: &str, record_type: RecordType, dnssec_ok: bool) -> Vec<u8> {
    let mut message = Message::new(0xbeef, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok);
    message.edns = Some(edns);
    message.to_vec().unwrap()
}

fn run(request: &HttpRequest<'_>, recursion: Recursion<'_>) -> Outcome {
    let mut random = SplitMix::new(7);
    let client = Client { address: Some("203.0.113.77".parse().unwrap()), ..Client::default() };
    let mut environment = Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
    serve(request, Zones::Loaded(catalog()), &mut environment, recursion)
}

fn post(bytes: &[u8], recursion: Recursion<'_>) -> Outcome {
    run(&HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body: bytes, ..HttpRequest::default() }, recursion)
}

fn responded(outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Respond(response) => response,
        Outcome::Forward(forward) => panic!("forwarded {:?}", forward.upstream.question),
    }
}

fn forwarded(outcome: Outcome) -> Box<Forward> {
    match outcome {
        Outcome::Forward(forward) => forward,
        Outcome::Respond(response) => panic!("answered {}: {:?}", response.status, Message::from_vec(&response.body)),
    }
}

/// An upstream's answer to `forward`'s upstream query, as a resolver would send it.
fn upstream_answer(forward: &Forward, ttl: u32, authentic_data: bool) -> Vec<u8> {
    let sent = Message::from_vec(&forward.upstream_query).unwrap();
    let mut message = Message::new(sent.metadata.id, MessageType::Response, OpCode::Query);
    message.metadata.recursion_available = true;
    message.metadata.authentic_data = authentic_data;
    message.queries = sent.queries.clone();
    let name = sent.queries[0].name.clone();
    message.answers.push(Record::from_rdata(name, ttl, RData::A(A::new(192, 0, 2, 77))));
    message.to_vec().unwrap()
}

fn extended_error(message: &Message) -> Option<u16> {
    message.edns.as_ref()?.options().options.iter().find_map(|(_, option)| match option {
        EdnsOption::Unknown(15, data) => Some(u16::from_be_bytes([data[0], data[1]])),
        _ => None,
    })
}

#[test]
fn without_upstreams_names_outside_the_zones_are_refused() {
    let response = responded(post(&query_bytes("www.example.net.", RecordType::A, false), Recursion::default()));
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!(message.metadata.response_code, ResponseCode::Refused);
    assert!(!message.metadata.recursion_available);
}

#[test]
fn names_outside_the_zones_are_forwarded_and_answered_under_the_clients_id() {
    let config = config();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let forward = forwarded(post(&query_bytes("www.example.net.", RecordType::A, true), recursion));
    let upstream = Message::from_vec(&forward.upstream_query).unwrap();
    assert_eq!((upstream.metadata.id, upstream.metadata.recursion_desired), (0, true), "RFC 8484 §4.1: ID 0");
    assert!(upstream.edns.as_ref().unwrap().flags().dnssec_ok, "DO is passed on");
    assert!(upstream.edns.as_ref().unwrap().options().options.is_empty(), "no client subnet by default");
    assert_eq!(forward.cache_key, "www.example.net.|1|1|10");
    let answer = forward::accept(&upstream_answer(&forward, 300, true), &forward.upstream).unwrap();
    let response = complete(&forward, Forwarded::Answer(&answer, Freshness::Aged(100)), None).0;
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!(message.metadata.id, 0xbeef);
    assert!(message.metadata.recursion_available && !message.metadata.authoritative);
    assert!(message.metadata.authentic_data, "AD passed on: the client asked with DO");
    assert_eq!((message.answers[0].ttl, message.answers[0].data.to_string()), (200, "192.0.2.77".to_owned()));
    assert_eq!(response.header("cache-control"), Some("max-age=200"));
}

#[test]
fn hosted_zones_are_answered_by_the_engine_with_ra() {
    let config = config();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let response = responded(post(&query_bytes("www.example.com.", RecordType::A, false), recursion));
    let message = Message::from_vec(&response.body).unwrap();
    assert!(message.metadata.authoritative && message.metadata.recursion_available);
    // NXDOMAIN inside a hosted zone stays authoritative: never forwarded.
    let missing = responded(post(&query_bytes("nope.example.com.", RecordType::A, false), recursion));
    assert_eq!(Message::from_vec(&missing.body).unwrap().metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn hosted_cname_chains_leaving_the_zones_are_finished_upstream() {
    let config = config();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let forward = forwarded(post(&query_bytes("cdn.browser.test.", RecordType::A, false), recursion));
    assert_eq!(forward.upstream.question.name.to_string(), "www.upstream.test.");
    assert_eq!(forward.query.question.name.to_string(), "cdn.browser.test.");
    let answer = forward::accept(&upstream_answer(&forward, 60, false), &forward.upstream).unwrap();
    let message = Message::from_vec(&complete(&forward, Forwarded::Answer(&answer, Freshness::Aged(0)), None).0.body).unwrap();
    let records: Vec<String> = message.answers.iter().map(|r| format!("{} {}", r.name, r.data)).collect();
    assert_eq!(records, vec!["cdn.browser.test. www.upstream.test.", "www.upstream.test. 192.0.2.77"]);
    assert!(!message.metadata.authoritative);
    // Asking for the CNAME itself is answered from the zone.
    assert!(matches!(post(&query_bytes("cdn.browser.test.", RecordType::CNAME, false), recursion), Outcome::Respond(_)));
}

#[test]
fn upstream_failures_are_servfail_with_the_reason() {
    let config = config();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let forward = forwarded(post(&query_bytes("www.example.net.", RecordType::A, false), recursion));
    let down = [UpstreamFailure::Unreachable("refused".into())];
    let message = Message::from_vec(&complete(&forward, Forwarded::Failed(&down), None).0.body).unwrap();
    assert_eq!((message.metadata.response_code, extended_error(&message)), (ResponseCode::ServFail, Some(23)));
    let answer = forward::accept(&upstream_answer(&forward, 300, false), &forward.upstream).unwrap();
    let stale = Message::from_vec(&complete(&forward, Forwarded::Answer(&answer, Freshness::Stale), None).0.body).unwrap();
    assert_eq!((stale.answers[0].ttl, extended_error(&stale)), (30, Some(3)));
}

#[test]
fn the_firewall_applies_before_zones_and_upstreams() {
    let config = config();
    let firewall = FirewallSet::from(Firewall::parse("block *.example.net nxdomain\nblock www.example.com A 192.0.2.66\nalert watch.example.info\n").unwrap());
    let recursion = Recursion { config: Some(&config), firewall: Some(&firewall) };
    let blocked = Message::from_vec(&responded(post(&query_bytes("ads.example.net.", RecordType::A, false), recursion)).body).unwrap();
    assert_eq!((blocked.metadata.response_code, extended_error(&blocked)), (ResponseCode::NXDomain, Some(15)));
    let overridden = Message::from_vec(&responded(post(&query_bytes("www.example.com.", RecordType::A, false), recursion)).body).unwrap();
    assert_eq!(overridden.answers[0].data.to_string(), "192.0.2.66", "a hosted name can be overridden too");
    let other_type = Message::from_vec(&responded(post(&query_bytes("www.example.com.", RecordType::AAAA, false), recursion)).body).unwrap();
    assert!(other_type.answers.is_empty(), "an A override answers NODATA for AAAA");
    let watched = forwarded(post(&query_bytes("watch.example.info.", RecordType::A, false), recursion));
    assert_eq!(watched.alert.as_deref(), Some("alert watch.example.info (line 3)"));
    // The JSON API goes through the same path.
    let json = responded(run(&HttpRequest { method: "GET", path: "/resolve", query: "name=x.example.net", ..HttpRequest::default() }, recursion));
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!((value["Status"].clone(), value["RA"].clone()), (3.into(), true.into()));
    assert!(value["Comment"].as_str().unwrap().contains("EDE 15"));
}

/// An upstream answer to `forward`'s upstream question that goes through a CNAME first.
fn cloaked_answer(forward: &Forward, target: &str, address: A) -> Vec<u8> {
    let sent = Message::from_vec(&forward.upstream_query).unwrap();
    let mut message = Message::new(0, MessageType::Response, OpCode::Query);
    message.metadata.recursion_available = true;
    message.queries = sent.queries.clone();
    let target = Name::from_str(target).unwrap();
    message.answers.push(Record::from_rdata(sent.queries[0].name.clone(), 300, RData::CNAME(hickory_proto::rr::rdata::CNAME(target.clone()))));
    message.answers.push(Record::from_rdata(target, 300, RData::A(address)));
    message.to_vec().unwrap()
}

#[test]
fn the_firewall_sees_through_cname_chains_and_checks_answer_addresses() {
    let config = config();
    let firewall = FirewallSet::from(Firewall::parse(
        "block *.tracker.example nxdomain\nblock www.conformance.test nodata\nblock 198.51.100.0/24 nxdomain\nallow exempt.example.info\nblock *.upstream.test nxdomain\n",
    )
    .unwrap());
    let recursion = Recursion { config: Some(&config), firewall: Some(&firewall) };
    // An upstream's chain into a blocked domain: x.site.example CNAME a.tracker.example.
    let forward = forwarded(post(&query_bytes("x.site.example.", RecordType::A, false), recursion));
    let answer = forward::accept(&cloaked_answer(&forward, "a.tracker.example.", A::new(192, 0, 2, 9)), &forward.upstream).unwrap();
    let (response, rule) = complete(&forward, Forwarded::Answer(&answer, Freshness::Aged(0)), Some(&firewall));
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!((message.metadata.response_code, message.answers.len(), extended_error(&message)), (ResponseCode::NXDomain, 0, Some(15)));
    assert_eq!(rule.map(ToString::to_string).as_deref(), Some("block *.tracker.example (line 1)"), "the log names the rule");
    // An answer address in a blocked network (rpz-ip).
    let pointing = forwarded(post(&query_bytes("plain.example.", RecordType::A, false), recursion));
    let answer = forward::accept(&cloaked_answer(&pointing, "cdn.example.", A::new(198, 51, 100, 20)), &pointing.upstream).unwrap();
    let message = Message::from_vec(&complete(&pointing, Forwarded::Answer(&answer, Freshness::Aged(0)), Some(&firewall)).0.body).unwrap();
    assert_eq!((message.metadata.response_code, extended_error(&message)), (ResponseCode::NXDomain, Some(15)));
    // An allowed question's answer is not screened.
    let exempt = forwarded(post(&query_bytes("exempt.example.info.", RecordType::A, false), recursion));
    let answer = forward::accept(&cloaked_answer(&exempt, "a.tracker.example.", A::new(192, 0, 2, 9)), &exempt.upstream).unwrap();
    let message = Message::from_vec(&complete(&exempt, Forwarded::Answer(&answer, Freshness::Aged(0)), Some(&firewall)).0.body).unwrap();
    assert_eq!((message.answers.len(), extended_error(&message)), (2, None));
    // A hosted chain into a blocked name: chain1 -> chain2 -> alias -> www (blocked: NODATA).
    let hosted = Message::from_vec(&responded(post(&query_bytes("chain1.conformance.test.", RecordType::A, false), recursion)).body).unwrap();
    assert_eq!((hosted.metadata.response_code, hosted.answers.len(), extended_error(&hosted)), (ResponseCode::NoError, 0, Some(15)));
    // A hosted chain leaving the zones for a blocked domain is blocked before it is forwarded
    // (cdn.browser.test CNAME www.upstream.test).
    let leaving = Message::from_vec(&responded(post(&query_bytes("cdn.browser.test.", RecordType::A, false), recursion)).body).unwrap();
    assert_eq!((leaving.metadata.response_code, extended_error(&leaving)), (ResponseCode::NXDomain, Some(15)));
    // Explain names the rule that matched in the answer.
    let explained =
        responded(run(&HttpRequest { method: "GET", path: "/explain", query: "name=chain1.conformance.test", ..HttpRequest::default() }, recursion));
    let text = String::from_utf8(explained.body).unwrap();
    assert!(text.contains("firewall: rule block www.conformance.test (line 2) matched in the answer"), "{text}");
}

/// Two published lists and three profiles over them (src/resolver/profile.rs has the rules
/// in detail): the path picks the profile; an unknown id is the same 404 as any other path.
#[test]
fn profiles_chosen_by_path_answer_the_same_name_differently() {
    let profiles = r#"{"default": {"lists": ["ads.txt"]},
        "kids": {"id": "k7Qe3m9xV2pLr8TzW4nY", "lists": ["ads.txt", "adult.txt"], "deny": ["games.example.net"], "block": "nodata",
                 "safe_search": ["bing"]},
        "open": {"lists": []}}"#;
    let config = ResolverConfig::from_vars(|name| match name {
        "UPSTREAMS" => Some("https://dns.example/dns-query".to_owned()),
        "PROFILES" => Some(profiles.to_owned()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let bundle = edgedns::resolver::firewall::bundle::encode(&[
        edgedns::resolver::firewall::bundle::List { name: Some("ads.txt"), format: edgedns::resolver::firewall::Format::Adblock, text: "||ads.example.net^\n" },
        edgedns::resolver::firewall::bundle::List {
            name: Some("adult.txt"),
            format: edgedns::resolver::firewall::Format::Domains,
            text: "adult.example.net\n",
        },
    ]);
    let firewall = FirewallSet::from(Firewall::load(&bundle).unwrap());
    let recursion = Recursion { config: Some(&config), firewall: Some(&firewall) };
    let ask = |path: &str, name: &str, record_type| {
        let bytes = query_bytes(name, record_type, false);
        run(&HttpRequest { method: "POST", path, content_type: Some("application/dns-message"), body: &bytes, ..HttpRequest::default() }, recursion)
    };
    let message = |outcome| Message::from_vec(&responded(outcome).body).unwrap();
    let kids = "/dns-query/p/k7Qe3m9xV2pLr8TzW4nY";
    // adult.example.net: the default profile forwards it, kids blocks it with its NODATA.
    assert_eq!(forwarded(ask("/dns-query", "adult.example.net.", RecordType::A)).upstream.question.name.to_string(), "adult.example.net.");
    let blocked = message(ask(kids, "adult.example.net.", RecordType::A));
    assert_eq!((blocked.metadata.response_code, blocked.answers.len(), extended_error(&blocked)), (ResponseCode::NoError, 0, Some(15)));
    let blocked = message(ask(&format!("{kids}/"), "www.adult.example.net.", RecordType::A));
    assert_eq!(extended_error(&blocked), Some(15), "a trailing slash is the same path");
    // ads.example.net: NXDOMAIN by default, passed by the profile with no lists.
    assert_eq!(message(ask("/dns-query", "ads.example.net.", RecordType::A)).metadata.response_code, ResponseCode::NXDomain);
    forwarded(ask("/dns-query/p/open", "ads.example.net.", RecordType::A));
    assert_eq!(message(ask(kids, "games.example.net.", RecordType::A)).metadata.response_code, ResponseCode::NoError, "own deny, kids' NODATA");
    // Safe search: the CNAME, then the target is what goes upstream, screened through kids.
    let rewritten = forwarded(ask(kids, "www.bing.com.", RecordType::A));
    assert_eq!(rewritten.upstream.question.name.to_string(), "strict.bing.com.");
    let answer = forward::accept(&upstream_answer(&rewritten, 300, false), &rewritten.upstream).unwrap();
    let (response, reason) = complete_in(
        &rewritten,
        Forwarded::Answer(&answer, Freshness::Aged(0)),
        Screen { lists: Some(&firewall), profile: rewritten.profile(&config.profiles) },
    );
    let completed = Message::from_vec(&response.body).unwrap();
    assert_eq!(data(&completed), vec!["strict.bing.com.", "192.0.2.77"]);
    assert_eq!(completed.answers[0].name.to_string(), "www.bing.com.");
    assert!(reason.is_none());
    assert_eq!(forwarded(ask("/dns-query", "www.bing.com.", RecordType::A)).upstream.question.name.to_string(), "www.bing.com.", "no safe search by default");
    let cname = message(ask(kids, "www.bing.com.", RecordType::CNAME));
    assert_eq!(data(&cname), vec!["strict.bing.com."], "a CNAME question gets the CNAME alone");
    // A forwarded answer is screened through the query's profile: the kids' lists.
    let cloaking = forwarded(ask(kids, "x.site.example.", RecordType::A));
    let answer = forward::accept(&cloaked_answer(&cloaking, "cdn.adult.example.net.", A::new(192, 0, 2, 9)), &cloaking.upstream).unwrap();
    let (response, reason) =
        complete_in(&cloaking, Forwarded::Answer(&answer, Freshness::Aged(0)), Screen { lists: Some(&firewall), profile: cloaking.profile(&config.profiles) });
    assert_eq!(extended_error(&Message::from_vec(&response.body).unwrap()), Some(15));
    assert_eq!(reason.map(|reason| reason.to_string()).as_deref(), Some("profile kids: block adult.example.net (adult.txt line 1)"));
    let plain = forwarded(ask("/dns-query", "x.site.example.", RecordType::A));
    let answer = forward::accept(&cloaked_answer(&plain, "cdn.adult.example.net.", A::new(192, 0, 2, 9)), &plain.upstream).unwrap();
    let (response, _) =
        complete_in(&plain, Forwarded::Answer(&answer, Freshness::Aged(0)), Screen { lists: Some(&firewall), profile: plain.profile(&config.profiles) });
    assert_eq!(Message::from_vec(&response.body).unwrap().answers.len(), 2, "the default profile has no adult.txt");
    // Unknown ids, GET and JSON alike: the 404 of a path that leads nowhere, whatever the id.
    let nowhere = responded(run(&HttpRequest { method: "GET", path: "/nowhere", ..HttpRequest::default() }, recursion));
    for path in ["/dns-query/p/kids", "/dns-query/p/k7Qe3m9xV2pLr8TzW4nX", "/resolve/p/guess", "/explain/p/guess"] {
        let response = responded(run(
            &HttpRequest { method: "GET", path, query: "name=a.example.net&dns=AAABAAABAAAAAAAAAWEHZXhhbXBsZQNuZXQAAAEAAQ", ..HttpRequest::default() },
            recursion,
        ));
        assert_eq!((response.status, &response.body), (404, &nowhere.body), "{path}");
    }
    let json = forwarded(run(&HttpRequest { method: "GET", path: "/resolve/p/open", query: "name=ads.example.net", ..HttpRequest::default() }, recursion));
    assert_eq!(json.upstream.question.name.to_string(), "ads.example.net.", "the JSON API takes the profile path too");
    // Explain names the profile, its lists and the rule.
    let explained = responded(run(
        &HttpRequest { method: "GET", path: "/explain/p/k7Qe3m9xV2pLr8TzW4nY", query: "name=adult.example.net", ..HttpRequest::default() },
        recursion,
    ));
    let text = String::from_utf8(explained.body).unwrap();
    assert!(text.contains("profile kids (lists: ads.txt, adult.txt)"), "{text}");
    assert!(text.contains("firewall: profile kids: rule block adult.example.net (adult.txt line 1) matched"), "{text}");
    // Without PROFILES a profile path leads nowhere either.
    let plain_config = crate::config();
    let response = responded(run(
        &HttpRequest { method: "GET", path: "/resolve/p/open", query: "name=ads.example.net", ..HttpRequest::default() },
        Recursion { config: Some(&plain_config), firewall: Some(&firewall) },
    ));
    assert_eq!(response.status, 404);
}

fn data(message: &Message) -> Vec<String> {
    message.answers.iter().map(|record| record.data.to_string()).collect()
}

#[test]
fn explain_says_what_would_be_forwarded_and_which_rule_fired() {
    let config = config();
    let firewall = FirewallSet::from(Firewall::parse("alert *.example.net\n").unwrap());
    let recursion = Recursion { config: Some(&config), firewall: Some(&firewall) };
    let response = responded(run(&HttpRequest { method: "GET", path: "/explain", query: "name=www.example.net", ..HttpRequest::default() }, recursion));
    let text = String::from_utf8(response.body).unwrap();
    assert!(text.contains("firewall: rule alert *.example.net (line 1) matched"), "{text}");
    assert!(text.contains("forwarded to the upstream resolvers"), "{text}");
}

/// The JSON API takes a type by name or number; the types the wire format never answers (OPT,
/// TKEY, TSIG: FORMERR at parsing; zone transfers: REFUSED) get the same answer through it,
/// and resolver mode forwards none of them, asked either way.
#[test]
fn meta_types_and_zone_transfers_are_refused_in_every_format_and_never_forwarded() {
    let config = config();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let json = |query: &str| {
        let response = responded(run(&HttpRequest { method: "GET", path: "/resolve", query, ..HttpRequest::default() }, recursion));
        assert_eq!(response.status, 200, "{query}");
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        body["Status"].as_u64().unwrap()
    };
    for (type_, status) in [("OPT", 1), ("41", 1), ("TKEY", 1), ("TSIG", 1), ("250", 1), ("AXFR", 5), ("IXFR", 5), ("252", 5)] {
        // A name no zone holds (resolver mode would forward it) and a hosted one.
        assert_eq!(json(&format!("name=forwarded.example.net&type={type_}")), status, "type={type_}, not hosted");
        assert_eq!(json(&format!("name=www.example.com&type={type_}")), status, "type={type_}, hosted");
    }
    for record_type in [RecordType::AXFR, RecordType::IXFR] {
        let response = responded(post(&query_bytes("forwarded.example.net.", record_type, false), recursion));
        let message = Message::from_vec(&response.body).unwrap();
        assert_eq!(message.metadata.response_code, ResponseCode::Refused, "{record_type} over the wire");
    }
    // Ordinary types are still forwarded.
    forwarded(run(&HttpRequest { method: "GET", path: "/resolve", query: "name=forwarded.example.net&type=AAAA", ..HttpRequest::default() }, recursion));
}

/// A client network over its query limit (the Worker asks the Rate Limiting binding) gets an
/// answer its DoH client understands: REFUSED with EDE 18 under its own ID and question, in
/// the format it asked in, that no cache keeps; what is not a query gets HTTP 429.
#[test]
fn rate_limited_queries_get_refused_with_ede_18_in_their_own_format() {
    use edgedns::server::prepare;
    let bytes = query_bytes("www.example.net.", RecordType::AAAA, false);
    let wire = HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body: &bytes, ..HttpRequest::default() };
    let prepared = prepare(&wire);
    assert!(prepared.is_query());
    let response = prepared.rate_limited();
    assert_eq!((response.status, response.header("cache-control")), (200, Some("no-store")));
    let message = Message::from_vec(&response.body).unwrap();
    assert_eq!((message.metadata.id, message.metadata.response_code, extended_error(&message)), (0xbeef, ResponseCode::Refused, Some(18)));
    assert_eq!(message.queries[0].name.to_string(), "www.example.net.");
    assert!(message.answers.is_empty());
    let json = HttpRequest { method: "GET", path: "/resolve", query: "name=www.example.net&type=AAAA", ..HttpRequest::default() };
    let response = prepare(&json).rate_limited();
    let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(value["Status"], 5, "{value}");
    assert!(value["Comment"].as_str().unwrap().contains("rate limited"), "{value}");
    // The page, preflights and HTTP errors are not queries; they are never counted.
    for request in [
        HttpRequest { method: "GET", path: "/", ..HttpRequest::default() },
        HttpRequest { method: "OPTIONS", path: "/dns-query", ..HttpRequest::default() },
        HttpRequest { method: "GET", path: "/nowhere", ..HttpRequest::default() },
    ] {
        let prepared = prepare(&request);
        assert!(!prepared.is_query(), "{}", request.path);
        let response = prepared.rate_limited();
        assert_eq!((response.status, response.header("retry-after")), (429, Some("60")));
    }
}

/// A profile with its own upstreams and ECS policy: its queries go to its upstreams, with the
/// subnet it says, cached apart from the default profile's; profiles without keep the
/// resolver's.
#[test]
fn a_profile_forwards_to_its_own_upstreams_with_its_own_ecs_policy() {
    let config = ResolverConfig::from_vars(|name| match name {
        "UPSTREAMS" => Some("https://dns.example/dns-query".to_owned()),
        "UPSTREAM_ECS" => Some("off".to_owned()),
        "PROFILES" => Some(
            r#"{"default": {}, "family": {"id": "fam1", "upstreams": ["https://family.example/dns-query"], "ecs": "truncated"},
                "private": {"id": "priv1", "ecs": "off"}}"#
                .to_owned(),
        ),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let ask = |path: &str| {
        let bytes = query_bytes("www.example.net.", RecordType::A, false);
        forwarded(run(&HttpRequest { method: "POST", path, content_type: Some("application/dns-message"), body: &bytes, ..HttpRequest::default() }, recursion))
    };
    let (default, family, private) = (ask("/dns-query"), ask("/dns-query/p/fam1"), ask("/dns-query/p/priv1"));
    assert_eq!(default.upstreams(&config), ["https://dns.example/dns-query"]);
    assert_eq!(family.upstreams(&config), ["https://family.example/dns-query"]);
    assert_eq!(private.upstreams(&config), ["https://dns.example/dns-query"], "no upstreams of its own: the resolver's");
    // The family profile sends the client's /24 (the client is 203.0.113.77); the others none.
    assert_eq!(family.subnet, Some("203.0.113.0/24".parse().unwrap()));
    assert_eq!((default.subnet, private.subnet), (None, None));
    let sent = Message::from_vec(&family.upstream_query).unwrap();
    assert_eq!(sent.edns.as_ref().map(|edns| edns.options().options.len()), Some(1), "an ECS option upstream");
    // Cached apart: another upstream's answer, another subnet; the private profile shares the
    // default's answers (same upstreams, no subnet).
    assert_ne!(family.cache_key, default.cache_key);
    assert_eq!(private.cache_key, default.cache_key);
}
