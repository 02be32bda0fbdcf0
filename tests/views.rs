//! Private views (split horizon) through `server::serve`: who sees the private zones (the
//! connecting address in the view's networks, or the view's token in the path) and that
//! nobody else learns they exist, through DoH, the JSON API or explain. The view is
//! tests/zones/views/corp/.

use std::str::FromStr;
use std::sync::OnceLock;

use edgedns::client::Client;
use edgedns::doh::{HttpRequest, HttpResponse};
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::resolver::ResolverConfig;
use edgedns::server::{serve, Environment, Outcome, Recursion, Zones};
use edgedns::snapshot;
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

#[path = "support/sources.rs"]
mod sources_support;
use sources_support::repository_sources;

const TOKEN: &str = "corp-view-token-0123456789";
const INSIDE: &str = "198.51.100.7";
const OUTSIDE: &str = "203.0.113.9";

fn sources() -> Vec<SourceFile> {
    repository_sources()
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| compile_all(&sources()).unwrap_or_else(|errors| panic!("{errors:?}")))
}

fn request(catalog: &Catalog, address: &str, path: &str, query: &str, body: &[u8], recursion: Recursion<'_>) -> Outcome {
    let mut random = SplitMix::new(3);
    let client = Client { address: Some(address.parse().unwrap()), ..Client::default() };
    let mut environment = Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
    let method = if body.is_empty() { "GET" } else { "POST" };
    let request = HttpRequest { method, path, query, content_type: Some("application/dns-message"), body, ..HttpRequest::default() };
    serve(&request, Zones::Loaded(catalog), &mut environment, recursion)
}

fn wire(name: &str, subnet: Option<&str>) -> Vec<u8> {
    let mut message = Message::new(7, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    let mut edns = Edns::new();
    if let Some(subnet) = subnet {
        edns.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(subnet.parse().unwrap(), 24, 0)));
    }
    message.edns = Some(edns);
    message.to_vec().unwrap()
}

fn response(outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Respond(response) => response,
        Outcome::Forward(forward) => panic!("forwarded {}", forward.upstream.question.name),
    }
}

/// (RCODE, the answers' data) for `name` asked from `address` on `path`.
fn ask_on(catalog: &Catalog, address: &str, path: &str, name: &str) -> (ResponseCode, Vec<String>) {
    let message = Message::from_vec(&response(request(catalog, address, path, "", &wire(name, None), Recursion::default())).body).unwrap();
    (message.metadata.response_code, message.answers.iter().map(|r| r.data.to_string()).collect())
}

fn ask(address: &str, path: &str, name: &str) -> (ResponseCode, Vec<String>) {
    ask_on(catalog(), address, path, name)
}

fn answered(addresses: &[&str]) -> (ResponseCode, Vec<String>) {
    (ResponseCode::NoError, addresses.iter().map(|a| (*a).to_owned()).collect())
}

#[test]
fn the_views_clients_see_the_private_zones_in_place_of_the_public_ones() {
    assert_eq!(ask(INSIDE, "/dns-query", "www.example.com."), answered(&["10.0.0.80"]));
    assert_eq!(ask(INSIDE, "/dns-query", "intranet.example.com."), answered(&["10.0.0.81"]));
    assert_eq!(ask(INSIDE, "/dns-query", "wiki.corp.internal."), answered(&["10.0.0.90"]));
    // No fall-through: a name only the public zone has does not exist for the view.
    assert_eq!(ask(INSIDE, "/dns-query", "mail.example.com."), (ResponseCode::NXDomain, vec![]));
    // Other hosted zones are still public.
    assert_eq!(ask(INSIDE, "/dns-query", "www.conformance.test.").0, ResponseCode::NoError);
    assert_eq!(ask("2001:db8:c0::5", "/dns-query", "wiki.corp.internal."), answered(&["10.0.0.90"]));
}

#[test]
fn a_token_in_the_path_opens_the_view_from_anywhere() {
    let path = format!("/dns-query/{TOKEN}");
    assert_eq!(ask(OUTSIDE, &path, "www.example.com."), answered(&["10.0.0.80"]));
    assert_eq!(ask(OUTSIDE, &path, "wiki.corp.internal."), answered(&["10.0.0.90"]));
    // A wrong token is no token: public answers, nothing said about views.
    assert_eq!(ask(OUTSIDE, "/dns-query/wrong-token", "www.example.com."), answered(&["192.0.2.10"]));
    assert_eq!(ask(OUTSIDE, "/dns-query/wrong-token", "wiki.corp.internal.").0, ResponseCode::Refused);
}

#[test]
fn everyone_else_never_learns_the_view_exists() {
    assert_eq!(ask(OUTSIDE, "/dns-query", "www.example.com."), answered(&["192.0.2.10"]), "the public zone's answer");
    assert_eq!(ask(OUTSIDE, "/dns-query", "intranet.example.com.").0, ResponseCode::NXDomain);
    let (rcode, answers) = ask(OUTSIDE, "/dns-query", "wiki.corp.internal.");
    assert_eq!((rcode, answers.len()), (ResponseCode::Refused, 0), "a private-only zone is not hosted, as far as they know");
    // ECS is the client's to choose: it never opens a view.
    let claimed = request(catalog(), OUTSIDE, "/dns-query", "", &wire("www.example.com.", Some("198.51.100.0")), Recursion::default());
    let message = Message::from_vec(&response(claimed).body).unwrap();
    assert_eq!(message.answers[0].data.to_string(), "192.0.2.10");
    // The JSON API says REFUSED and nothing more.
    let json = response(request(catalog(), OUTSIDE, "/resolve", "name=wiki.corp.internal", b"", Recursion::default()));
    let text = String::from_utf8(json.body).unwrap();
    assert!(text.contains("\"Status\":5") && !text.contains("10.0.0") && !text.contains("corp view"), "{text}");
    // Explain with `address=` inside the view's networks still explains the public data.
    let explained = response(request(catalog(), OUTSIDE, "/explain", "name=www.example.com&address=198.51.100.7", b"", Recursion::default()));
    let text = String::from_utf8(explained.body).unwrap();
    assert!(text.contains("192.0.2.10") && !text.contains("10.0.0.80"), "{text}");
    let refused = response(request(catalog(), OUTSIDE, "/explain", "name=wiki.corp.internal&address=198.51.100.7", b"", Recursion::default()));
    assert!(!String::from_utf8(refused.body).unwrap().contains("10.0.0"));
    // With its token, explain and the JSON API show the view.
    let explained = response(request(catalog(), OUTSIDE, &format!("/explain/{TOKEN}"), "name=www.example.com", b"", Recursion::default()));
    assert!(String::from_utf8(explained.body).unwrap().contains("10.0.0.80"));
    let json = response(request(catalog(), OUTSIDE, &format!("/resolve/{TOKEN}"), "name=wiki.corp.internal", b"", Recursion::default()));
    assert!(String::from_utf8(json.body).unwrap().contains("10.0.0.90"));
}

/// The CORS and caching headers of `name`'s answer, asked from `address` on `path` in `format`.
fn sharing(address: &str, path: &str, name: &str, json: bool) -> (Option<String>, Option<String>) {
    let query = format!("name={name}");
    let outcome = if json {
        request(catalog(), address, &path.replace("/dns-query", "/resolve"), &query, b"", Recursion::default())
    } else {
        request(catalog(), address, path, "", &wire(name, None), Recursion::default())
    };
    let response = response(outcome);
    (response.header("access-control-allow-origin").map(str::to_owned), response.header("cache-control").map(str::to_owned))
}

#[test]
fn answers_from_a_view_are_readable_by_the_asking_client_only() {
    let private = (None, Some("private, max-age=300".to_owned()));
    let public = (Some("*".to_owned()), Some("max-age=300".to_owned()));
    for json in [false, true] {
        // Inside by network: no other origin may read it (a page the employee visits cannot
        // fetch the private zone), and no shared cache may keep it.
        assert_eq!(sharing(INSIDE, "/dns-query", "www.example.com.", json), private, "json: {json}");
        assert_eq!(sharing(INSIDE, "/dns-query", "wiki.corp.internal.", json), private, "json: {json}");
        let negative = sharing(INSIDE, "/dns-query", "mail.example.com.", json);
        assert_eq!((negative.0, negative.1.map(|value| value.starts_with("private"))), (None, Some(true)), "a view's NXDOMAIN too");
        // By token: the same.
        assert_eq!(sharing(OUTSIDE, &format!("/dns-query/{TOKEN}"), "www.example.com.", json), private, "json: {json}");
        // A public zone's answer does not depend on the view: open as ever, for insiders too.
        assert_eq!(sharing(INSIDE, "/dns-query", "www.conformance.test.", json), public, "json: {json}");
        // Outsiders get the headers every public answer has: nothing says a view exists.
        assert_eq!(sharing(OUTSIDE, "/dns-query", "www.example.com.", json), public, "json: {json}");
        assert_eq!(sharing(OUTSIDE, "/dns-query/wrong-token", "www.example.com.", json), public, "json: {json}");
    }
}

#[test]
fn explain_takes_the_admin_token_unless_made_public() {
    use edgedns::server::{prepare, serve_prepared, ExplainAccess};
    const ADMIN: &str = "admin-token-0123456789abcdef";
    let explain = |access: ExplainAccess, authorization: Option<&str>| -> HttpResponse {
        let mut random = SplitMix::new(3);
        let client = Client { address: Some(OUTSIDE.parse().unwrap()), ..Client::default() };
        let mut environment =
            Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
        let http = HttpRequest { method: "GET", path: "/explain", query: "name=www.example.com", ..HttpRequest::default() };
        let prepared = prepare(&http);
        // What the Worker does before answering (src/worker/rate_limit.rs adds the counting).
        if prepared.requires_admin_token(access) {
            if let Err(error) = edgedns::admin::authorize(Some(ADMIN), authorization) {
                return error.response();
            }
        }
        response(serve_prepared(prepared, Zones::Loaded(catalog()), &mut environment, Recursion::default()))
    };
    let refused = explain(ExplainAccess::AdminToken, None);
    assert_eq!((refused.status, refused.header("www-authenticate")), (401, Some("Bearer")));
    assert!(!String::from_utf8_lossy(&refused.body).contains("192.0.2.10"), "nothing of the answer");
    assert_eq!(explain(ExplainAccess::AdminToken, Some("Bearer not-the-token-0123456789")).status, 401);
    let allowed = explain(ExplainAccess::AdminToken, Some(&format!("Bearer {ADMIN}")));
    assert_eq!(allowed.status, 200);
    assert!(String::from_utf8_lossy(&allowed.body).contains("192.0.2.10"));
    assert_eq!((allowed.header("access-control-allow-origin"), allowed.header("cache-control")), (None, Some("no-store")), "the operator's eyes only");
    assert_eq!(explain(ExplainAccess::Public, None).status, 200, "EXPLAIN=public opens it");
    // Other routes are not affected by the explain setting.
    let http = HttpRequest { method: "GET", path: "/resolve", query: "name=www.example.com", ..HttpRequest::default() };
    assert!(!prepare(&http).requires_admin_token(ExplainAccess::AdminToken));
    let explain = HttpRequest { method: "GET", path: "/explain", query: "name=www.example.com", ..HttpRequest::default() };
    assert!(prepare(&explain).requires_admin_token(ExplainAccess::AdminToken) && !prepare(&explain).requires_admin_token(ExplainAccess::Public));
}

#[test]
fn in_resolver_mode_private_only_names_are_forwarded_for_outsiders() {
    let config = ResolverConfig::from_vars(|name| (name == "UPSTREAMS").then(|| "https://dns.example/dns-query".to_owned())).unwrap().unwrap();
    let recursion = Recursion { config: Some(&config), firewall: None };
    let outside = request(catalog(), OUTSIDE, "/dns-query", "", &wire("wiki.corp.internal.", None), recursion);
    assert!(matches!(outside, Outcome::Forward(_)), "as for any name it does not host");
    let inside = request(catalog(), INSIDE, "/dns-query", "", &wire("wiki.corp.internal.", None), recursion);
    assert!(matches!(inside, Outcome::Respond(_)));
}

#[test]
fn views_survive_the_snapshot() {
    let decoded = snapshot::decode(&snapshot::encode(catalog()).unwrap()).unwrap();
    assert_eq!(decoded.views().len(), 1);
    assert_eq!(ask_on(&decoded, INSIDE, "/dns-query", "www.example.com."), answered(&["10.0.0.80"]));
    assert_eq!(ask_on(&decoded, OUTSIDE, &format!("/dns-query/{TOKEN}"), "wiki.corp.internal."), answered(&["10.0.0.90"]));
    assert_eq!(ask_on(&decoded, OUTSIDE, "/dns-query", "www.example.com."), answered(&["192.0.2.10"]));
}

#[test]
fn view_declarations_are_checked() {
    let mut sources = sources();
    sources.retain(|source| !source.path.ends_with("view.toml"));
    let errors = compile_all(&sources).unwrap_err();
    assert!(errors.iter().any(|e| e.to_string().contains("needs its views/corp/view.toml")), "{errors:?}");
    for (text, expected) in [
        ("networks = []\n", "nobody could see it"),
        ("networks = [\"198.51.100.7/24\"]\n", "host bits"),
        ("token_sha256 = \"abc\"\n", "64 hex digits"),
        ("networks = [\"x\"]\n", "not a network"),
        ("colour = \"red\"\n", "unknown field"),
    ] {
        let mut sources = sources.clone();
        sources.push(SourceFile { path: "tests/zones/views/corp/view.toml".into(), text: text.into() });
        let errors = compile_all(&sources).unwrap_err();
        assert!(errors.iter().any(|e| e.to_string().contains(expected)), "{text}: {errors:?}");
    }
}
