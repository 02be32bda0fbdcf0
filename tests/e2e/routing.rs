//! Routing scenarios through workerd: the location comes in per request through the local
//! runtime's `MF-CF-Blob` header (what `request.cf` would carry at the edge) or through an ECS
//! option; health comes from `health:current` in local KV, written here as the checker would.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};

/// Health writes are global to the stack: scenarios that set health run one at a time.
pub(super) static HEALTH: Mutex<()> = Mutex::new(());

pub(super) fn set_health(states: &[(&str, bool)]) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let checks: serde_json::Map<String, serde_json::Value> =
        states.iter().map(|(id, healthy)| ((*id).to_owned(), serde_json::json!({ "healthy": healthy }))).collect();
    let value = serde_json::json!({ "updated_at": now as u64, "checks": checks }).to_string();
    let state = env("EDGEDNS_STATE");
    let output = Command::new("node_modules/.bin/wrangler")
        .args(["kv", "key", "put", "--local", "--binding", "ZONES", "--persist-to", &state, "health:current", &value])
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .expect("wrangler runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The stack re-reads KV every second (SNAPSHOT_REFRESH_SECONDS=1), after a request.
    let _ = ask("www.example.org.", None, None);
    std::thread::sleep(Duration::from_millis(1_500));
    let _ = ask("www.example.org.", None, None);
    std::thread::sleep(Duration::from_millis(300));
}

/// Asks for an A record with an optional `request.cf` blob and ECS option; returns the
/// exchange and the decoded message.
pub(super) fn ask(name: &str, cf: Option<serde_json::Value>, subnet: Option<(&str, u8)>) -> (Exchange, Message) {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    if let Some((address, source)) = subnet {
        let mut edns = Edns::new();
        edns.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(address.parse().unwrap(), source, 0)));
        message.edns = Some(edns);
    }
    let exchange = post_as(&message.to_vec().unwrap(), cf);
    let decoded = exchange.message();
    (exchange, decoded)
}

/// Posts a DoH query to the test stack, with `cf` as the runtime's `MF-CF-Blob` header (what
/// `request.cf` carries at the edge) when given.
pub(super) fn post_as(query: &[u8], cf: Option<serde_json::Value>) -> Exchange {
    let mut extra = Vec::new();
    let blob;
    if let Some(mut cf) = cf {
        cf["clientAcceptEncoding"] = serde_json::json!("");
        blob = format!("mf-cf-blob: {cf}");
        extra = vec!["-H", blob.as_str()];
    }
    curl_post(&format!("{}/dns-query", http_base()), query, &extra)
}

pub(super) fn addresses(message: &Message) -> Vec<String> {
    let mut found: Vec<String> = message.answers.iter().map(|r| r.data.to_string()).collect();
    found.sort();
    found
}

fn tally(name: &str, cf: Option<serde_json::Value>, draws: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..draws {
        let (_, message) = ask(name, cf.clone(), None);
        *counts.entry(addresses(&message).join(",")).or_insert(0) += 1;
    }
    counts
}

fn us(region: &str) -> serde_json::Value {
    serde_json::json!({ "country": "US", "continent": "NA", "regionCode": region, "colo": "DFW", "latitude": "32.9", "longitude": "-97.0", "asn": 64496 })
}

#[test]
fn weighted_split_follows_health() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[("site-a", true), ("site-b", true)]);
    let counts = tally("www.example.org.", None, 100);
    let a = counts.get("192.0.2.10").copied().unwrap_or(0);
    let b = counts.get("192.0.2.20").copied().unwrap_or(0);
    assert_eq!(a + b, 100, "{counts:?}");
    // 80/20 over 100 draws: b is 20 ± 12 with overwhelming probability (fixed bounds, not timing).
    assert!((8..=32).contains(&b), "{counts:?}");
    let (exchange, message) = ask("www.example.org.", None, None);
    assert_eq!(message.answers[0].ttl, 60);
    assert_eq!(exchange.header("cache-control"), Some("private, max-age=60"), "a weighted pick is not shared");

    set_health(&[("site-a", false), ("site-b", true)]);
    assert_eq!(tally("www.example.org.", None, 20).keys().cloned().collect::<Vec<_>>(), vec!["192.0.2.20"]);
    set_health(&[("site-a", false), ("site-b", false)]);
    let both = tally("www.example.org.", None, 60);
    assert_eq!(both.len(), 2, "every site unhealthy: all are used again: {both:?}");
    set_health(&[]);
}

#[test]
fn apex_alias_answers_the_target_with_its_ttl() {
    let (_, message) = ask("example.org.", None, None);
    assert_eq!(message.answers.len(), 1);
    assert_eq!(message.answers[0].name.to_ascii(), "example.org.");
    assert_eq!(message.answers[0].ttl, 60);
    assert!(["192.0.2.10", "192.0.2.20"].contains(&message.answers[0].data.to_string().as_str()));
}

#[test]
fn failover_to_a_geolocation_tree_and_to_the_trouble_page() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let answer = |cf| addresses(&ask("app.example.org.", Some(cf), None).1);
    assert_eq!(answer(us("TX")), vec!["192.0.2.30"], "USA");
    assert_eq!(answer(us("WA")), vec!["192.0.2.31"], "Washington state is more specific");
    assert_eq!(answer(serde_json::json!({ "country": "FR", "continent": "EU" })), vec!["192.0.2.40"], "default");
    assert_eq!(answer(serde_json::json!({})), vec!["192.0.2.40"], "no location at all: default");
    // Washington's endpoint down: walk up to USA.
    set_health(&[("us-wa", false)]);
    assert_eq!(answer(us("WA")), vec!["192.0.2.30"]);
    // The whole tree down: the alias is unhealthy, failover answers the trouble page.
    set_health(&[("us", false), ("us-wa", false), ("rest-of-world", false)]);
    assert_eq!(answer(us("WA")), vec!["192.0.2.99"]);
    assert_eq!(answer(serde_json::json!({ "country": "FR", "continent": "EU" })), vec!["192.0.2.99"]);
    set_health(&[]);
}

#[test]
fn latency_follows_the_edge_location() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let answer = |cf| addresses(&ask("api.example.org.", Some(cf), None).1);
    assert_eq!(answer(serde_json::json!({ "colo": "NRT", "country": "JP" })), vec!["192.0.2.53"]);
    assert_eq!(answer(serde_json::json!({ "colo": "DUB", "country": "IE" })), vec!["192.0.2.52"]);
    assert_eq!(answer(serde_json::json!({ "latitude": "40.7", "longitude": "-74.0" })), vec!["192.0.2.51"]);
    // The operator's latency matrix beats distance: Honolulu measures Virginia faster.
    assert_eq!(answer(serde_json::json!({ "colo": "HNL", "country": "US" })), vec!["192.0.2.51"]);
    set_health(&[("tokyo", false)]);
    let fallback = answer(serde_json::json!({ "colo": "NRT", "country": "JP" }));
    assert_ne!(fallback, vec!["192.0.2.53"], "an unhealthy region is skipped");
    set_health(&[]);
}

#[test]
fn multivalue_drops_failed_values() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[("pool-2", false)]);
    for _ in 0..10 {
        let found = addresses(&ask("pool.example.org.", None, None).1);
        assert_eq!(found, vec!["192.0.2.61", "192.0.2.63", "192.0.2.64"]);
    }
    set_health(&[]);
    assert_eq!(addresses(&ask("pool.example.org.", None, None).1).len(), 4);
}

#[test]
fn wildcard_routes_by_weight() {
    let counts = tally("anything.cdn.example.org.", None, 40);
    assert_eq!(counts.len(), 2, "{counts:?}");
    let (_, message) = ask("Other.CDN.example.org.", None, None);
    assert_eq!(message.answers[0].name.to_ascii().to_ascii_lowercase(), "other.cdn.example.org.");
}

#[test]
fn cidr_rule_sends_a_customer_network_to_its_endpoint_with_a_scope() {
    let subnet_of = |message: &Message| match message.edns.as_ref().and_then(|e| e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)) {
        Some(EdnsOption::Subnet(subnet)) => Some((subnet.source_prefix(), subnet.scope_prefix())),
        _ => None,
    };
    let (exchange, acme) = ask("portal.example.org.", None, Some(("203.0.113.0", 24)));
    assert_eq!(addresses(&acme), vec!["192.0.2.71"]);
    assert_eq!(subnet_of(&acme), Some((24, 24)));
    assert!(exchange.header("cache-control").unwrap().starts_with("private"));
    let (_, lab) = ask("portal.example.org.", None, Some(("203.0.113.200", 32)));
    assert_eq!((addresses(&lab), subnet_of(&lab)), (vec!["192.0.2.72".to_owned()], Some((32, 25))));
    let (_, other) = ask("portal.example.org.", None, Some(("198.51.100.0", 24)));
    assert_eq!(addresses(&other), vec!["192.0.2.70"]);
    let (source, scope) = subnet_of(&other).unwrap();
    assert_eq!(source, 24);
    assert!(scope <= 24 && scope > 0, "scope {scope}");
    // No ECS: the connecting address (loopback here) decides, and no ECS is echoed.
    let (_, plain) = ask("portal.example.org.", None, None);
    assert_eq!(addresses(&plain), vec!["192.0.2.70"]);
    assert!(plain.edns.is_none());
}

#[test]
fn composed_asn_and_sticky_policies() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let eu = serde_json::json!({ "country": "DE", "continent": "EU" });
    let eu_answers = tally("edge.example.org.", Some(eu), 30);
    assert!(eu_answers.keys().all(|k| k == "192.0.2.101" || k == "192.0.2.102"), "{eu_answers:?}");
    assert_eq!(addresses(&ask("edge.example.org.", Some(us("TX")), None).1), vec!["192.0.2.111"]);
    set_health(&[("us", false)]);
    assert_eq!(addresses(&ask("edge.example.org.", Some(us("TX")), None).1), vec!["192.0.2.112"]);
    set_health(&[]);

    assert_eq!(addresses(&ask("isp.example.org.", Some(serde_json::json!({ "asn": 64501 })), None).1), vec!["192.0.2.121"]);
    assert_eq!(addresses(&ask("isp.example.org.", Some(serde_json::json!({ "asn": 13335 })), None).1), vec!["192.0.2.120"]);

    let first = addresses(&ask("sticky.example.org.", None, Some(("198.51.100.0", 24))).1);
    for _ in 0..10 {
        assert_eq!(addresses(&ask("sticky.example.org.", None, Some(("198.51.100.0", 24))).1), first);
    }
    assert_ne!(first, vec!["192.0.2.133"], "a forced-down standby is never used while others are up");
}

/// Explain maps the operator's infrastructure (labels, weights, backends, which are down): it
/// takes the admin token by default, and no other origin may read it.
#[test]
fn explain_takes_the_admin_token() {
    let url = format!("{}/explain?name=www.example.org&type=A", http_base());
    let anonymous = curl(&["-H", "origin: https://elsewhere.example", &url]);
    assert_eq!((anonymous.status, anonymous.header("www-authenticate")), (401, Some("Bearer")), "{}", String::from_utf8_lossy(&anonymous.body));
    assert!(!String::from_utf8_lossy(&anonymous.body).contains("site-"), "nothing of the decision without the token");
    let wrong = curl(&["-H", "authorization: Bearer not-the-admin-token-at-all", &url]);
    assert_eq!(wrong.status, 401);
    let authorization = admin_authorization();
    let explained = curl(&["-H", &authorization, "-H", "origin: https://elsewhere.example", &url]);
    assert_eq!(explained.status, 200);
    assert!(String::from_utf8_lossy(&explained.body).contains("\"trace\""));
    assert_eq!((explained.header("access-control-allow-origin"), explained.header("cache-control")), (None, Some("no-store")));
    // No preflight lets another origin send the token: a browser needs a 2xx that allows the
    // `authorization` header, and gets a 405 that allows no header.
    let preflight = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        "origin: https://elsewhere.example",
        "-H",
        "access-control-request-method: GET",
        "-H",
        "access-control-request-headers: authorization",
        &url,
    ]);
    assert_eq!((preflight.status, preflight.header("access-control-allow-headers")), (405, None));
}

#[test]
fn explain_shows_the_decision() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[("site-a", false)]);
    let authorization = admin_authorization();
    let exchange = curl(&["-H", &authorization, &format!("{}/explain?name=www.example.org&type=A", http_base())]);
    assert_eq!(exchange.status, 200);
    let value: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    let trace = value["trace"].to_string();
    assert!(trace.contains("dropped site-a (unhealthy)"), "{value}");
    assert!(trace.contains("picked site-b"), "{value}");
    assert_eq!(value["answer"][0]["data"], "192.0.2.20");
    let geo = curl(&["-H", &authorization, &format!("{}/explain?name=app.example.org&country=US&region=WA&continent=NA", http_base())]);
    let value: serde_json::Value = serde_json::from_slice(&geo.body).unwrap();
    assert!(value["trace"].to_string().contains("matched US-WA"), "{value}");
    assert_eq!(value["client"]["subdivision"], "WA");
    set_health(&[]);
}

fn cli(args: &[&str]) -> String {
    let output = Command::new(env("EDGEDNS_CLI")).args(args).output().expect("the CLI runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "edgedns {args:?}: {text}");
    text
}

#[test]
fn geoip_locates_client_subnets_with_scopes() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let dir = scratch("geoip");
    std::fs::create_dir_all(&dir).unwrap();
    let country = dir.join("country.bin");
    let asn = dir.join("asn.bin");
    let fixture = "tests/fixtures/geoip-e2e";
    cli(&[
        "geoip",
        "build",
        "--country-v4",
        &format!("{fixture}/country-ipv4.csv"),
        "--country-v6",
        &format!("{fixture}/country-ipv6.csv"),
        "--asn-v4",
        &format!("{fixture}/asn-ipv4.csv"),
        "--asn-v6",
        &format!("{fixture}/asn-ipv6.csv"),
        "-o",
        country.to_str().unwrap(),
        "--asn-output",
        asn.to_str().unwrap(),
        // The fixture uses documentation prefixes, which a real build cuts out.
        "--keep-special-purpose",
    ]);
    let state = env("EDGEDNS_STATE");
    cli(&["geoip", "publish", "--country", country.to_str().unwrap(), "--asn", asn.to_str().unwrap(), "--local", "--persist-to", &state]);

    // The local runtime's placeholder request.cf says Austin, TX, US: until the tables are
    // loaded (in the background), the ECS subnet is not located and US answers.
    let subnet_of = |message: &Message| match message.edns.as_ref().and_then(|e| e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)) {
        Some(EdnsOption::Subnet(subnet)) => Some((subnet.source_prefix(), subnet.scope_prefix())),
        _ => None,
    };
    let mut located = None;
    for _ in 0..40 {
        let (_, message) = ask("app.example.org.", None, Some(("198.51.100.0", 24)));
        if addresses(&message) == vec!["192.0.2.40"] {
            located = Some(message);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let germany = located.expect("the GeoIP tables never reached the Worker");
    // 198.51.100.0/24 straddles DE (/25) and JP (/25): the answer depends on all 24 bits.
    assert_eq!(subnet_of(&germany), Some((24, 24)));
    let (_, germany_25) = ask("app.example.org.", None, Some(("198.51.100.0", 25)));
    assert_eq!((addresses(&germany_25), subnet_of(&germany_25)), (vec!["192.0.2.40".to_owned()], Some((25, 25))));
    let (_, usa) = ask("app.example.org.", None, Some(("203.0.113.0", 24)));
    assert_eq!((addresses(&usa), subnet_of(&usa)), (vec!["192.0.2.30".to_owned()], Some((24, 24))));
    // Japan's centroid is nearest to ap-northeast-1.
    let (_, japan) = ask("api.example.org.", None, Some(("198.51.100.128", 25)));
    assert_eq!((addresses(&japan), subnet_of(&japan)), (vec!["192.0.2.53".to_owned()], Some((25, 25))));
    // The ASN table decides the ASN rule.
    let (_, transit) = ask("isp.example.org.", None, Some(("198.51.100.0", 24)));
    assert_eq!((addresses(&transit), subnet_of(&transit)), (vec!["192.0.2.121".to_owned()], Some((24, 24))));
    // An answer that does not depend on the client keeps scope 0.
    let (_, plain) = ask("mail.example.org.", None, Some(("198.51.100.0", 24)));
    assert_eq!(subnet_of(&plain), Some((24, 0)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the scheduled handler once, as a Cron Trigger would, late in its minute: the checks
/// then run in one round however short their intervals (see `health::schedule::catch_up`).
pub(super) fn run_health_checks() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let exchange = curl(&[&format!("{}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time={}", http_base(), now - 55_000)]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
}

/// Waits until `name` answers `expected` (the Worker re-reads health every second).
pub(super) fn answers_within(name: &str, expected: &str) -> bool {
    for _ in 0..20 {
        if addresses(&ask(name, None, None).1) == vec![expected.to_owned()] {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

struct LocalServer(std::process::Child);

impl LocalServer {
    fn start() -> Self {
        let dir = scratch("www");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "ok").unwrap();
        let child = Command::new("python3")
            .args(["-m", "http.server", "18911", "--bind", "127.0.0.1", "--directory"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        for _ in 0..40 {
            if std::net::TcpStream::connect("127.0.0.1:18911").is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self(child)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn checks_run_by_the_worker_steer_answers_after_the_threshold() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    // Start from no data: every check healthy.
    set_health(&[]);
    let server = LocalServer::start();
    run_health_checks();
    assert!(answers_within("www.health.test.", "192.0.2.1"), "the primary serves while its server answers");
    assert!(answers_within("tcp.health.test.", "192.0.2.11"));

    // The server goes away: one failed run is below the threshold (2), the second flips it.
    drop(server);
    run_health_checks();
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(addresses(&ask("www.health.test.", None, None).1), vec!["192.0.2.1"], "one failure does not flip");
    run_health_checks();
    assert!(answers_within("www.health.test.", "192.0.2.2"), "two failures: the secondary answers");
    assert!(answers_within("tcp.health.test.", "192.0.2.12"), "the TCP check failed too");

    // Back up: two successes bring the primary back.
    let _server = LocalServer::start();
    run_health_checks();
    run_health_checks();
    assert!(answers_within("www.health.test.", "192.0.2.1"), "the primary is back");
    assert!(answers_within("tcp.health.test.", "192.0.2.11"));
    set_health(&[]);
}
