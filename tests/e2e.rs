//! End-to-end tests: the built Worker running in workerd (`wrangler dev`), with local KV
//! loaded by the CLI, queried by real clients: curl over HTTP/1.1, and curl, kdig and dig over
//! the local TLS + HTTP/2 front.
//!
//! `scripts/test.sh` (`make test`) starts the stack and sets:
//! * `EDGEDNS_HTTP`: the wrangler dev base URL (e.g. `http://127.0.0.1:18787`);
//! * `EDGEDNS_H2`: `host:port` of the HTTP/2 front;
//! * `EDGEDNS_CLI` and `EDGEDNS_STATE`: the CLI binary and the local KV state directory, for
//!   the publishing tests.
//!
//! Run without them, every test fails with a message saying so: these tests never pass by
//! skipping.

use std::collections::HashMap;
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} is not set: run the end-to-end tests through `make test` (scripts/test.sh), which starts the stack"))
}

fn http_base() -> String {
    env("EDGEDNS_HTTP")
}

fn h2_address() -> (String, String) {
    let address = env("EDGEDNS_H2");
    let (host, port) = address.rsplit_once(':').expect("EDGEDNS_H2 is host:port");
    (host.to_owned(), port.to_owned())
}

/// A finished HTTP exchange as curl saw it.
struct Exchange {
    status: u16,
    version: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    fn message(&self) -> Message {
        assert_eq!(self.status, 200, "body: {}", String::from_utf8_lossy(&self.body));
        Message::from_vec(&self.body).expect("a DNS message")
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("edgedns-e2e-{}-{n}-{name}", std::process::id()))
}

/// The `Authorization` header value that opens the admin API and explain on the test stacks.
fn admin_authorization() -> String {
    format!("authorization: Bearer {}", env("EDGEDNS_ADMIN_TOKEN"))
}

/// Runs curl with extra arguments and returns the exchange.
fn curl(args: &[&str]) -> Exchange {
    let headers = scratch("headers");
    let body = scratch("body");
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "20", "-D"])
        .arg(&headers)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code} %{http_version}"])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let written = String::from_utf8_lossy(&output.stdout).to_string();
    let (status, version) = written.split_once(' ').unwrap_or((&written, ""));
    let header_text = std::fs::read_to_string(&headers).unwrap_or_default();
    let body_bytes = std::fs::read(&body).unwrap_or_default();
    let _ = std::fs::remove_file(&headers);
    let _ = std::fs::remove_file(&body);
    let headers =
        header_text.lines().filter_map(|line| line.split_once(':')).map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned())).collect();
    Exchange { status: status.parse().unwrap_or(0), version: version.to_owned(), headers, body: body_bytes }
}

fn query_bytes(name: &str, record_type: RecordType, edns: bool) -> Vec<u8> {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    if edns {
        message.edns = Some(Edns::new());
    }
    message.to_vec().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn post_file(bytes: &[u8]) -> std::path::PathBuf {
    let path = scratch("query");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn curl_post(url: &str, bytes: &[u8], extra: &[&str]) -> Exchange {
    let file = post_file(bytes);
    let data = format!("@{}", file.display());
    let mut args = vec!["-H", "content-type: application/dns-message", "--data-binary", &data];
    args.extend_from_slice(extra);
    args.push(url);
    let exchange = curl(&args);
    let _ = std::fs::remove_file(&file);
    exchange
}

fn answers(message: &Message) -> Vec<String> {
    message.answers.iter().map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data)).collect()
}

// ---- curl over HTTP/1.1 straight to wrangler dev ----

#[test]
fn curl_get_rfc8484_example() {
    let exchange = curl(&["-H", "accept: application/dns-message", &format!("{}/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB", http_base())]);
    let message = exchange.message();
    assert_eq!(exchange.header("content-type"), Some("application/dns-message"));
    assert_eq!(exchange.header("cache-control"), Some("max-age=300"));
    assert_eq!(exchange.header("access-control-allow-origin"), Some("*"));
    assert_eq!(message.metadata.id, 0);
    assert!(message.metadata.authoritative);
    assert_eq!(answers(&message), vec!["www.example.com. 300 A 192.0.2.10"]);
}

#[test]
fn curl_post_wire_format() {
    let exchange = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.conformance.test.", RecordType::AAAA, false), &[]);
    let message = exchange.message();
    assert_eq!(answers(&message), vec!["www.conformance.test. 3600 AAAA 2001:db8::10"]);
    assert!(message.edns.is_none());
}

#[test]
fn curl_negative_answers_and_cache_control() {
    let exchange = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("nope.conformance.test.", RecordType::A, true), &[]);
    let message = exchange.message();
    assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(message.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(message.authorities[0].ttl, 300);
    assert_eq!(exchange.header("cache-control"), Some("max-age=300"));

    let refused = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("example.net.", RecordType::A, true), &[]);
    assert_eq!(refused.status, 200);
    assert_eq!(refused.message().metadata.response_code, ResponseCode::Refused);
    assert_eq!(refused.header("cache-control"), Some("no-store"));
}

#[test]
fn curl_http_errors_through_the_runtime() {
    let base = http_base();
    let query = query_bytes("www.conformance.test.", RecordType::A, false);
    let wrong_type = {
        let file = post_file(&query);
        let exchange = curl(&["-H", "content-type: text/plain", "--data-binary", &format!("@{}", file.display()), &format!("{base}/dns-query")]);
        let _ = std::fs::remove_file(file);
        exchange
    };
    assert_eq!(wrong_type.status, 415);
    assert_eq!(curl(&[&format!("{base}/dns-query")]).status, 400);
    assert_eq!(curl(&[&format!("{base}/dns-query?dns=AAAB+AAB")]).status, 400);
    assert_eq!(curl_post(&format!("{base}/dns-query"), b"not dns at all", &[]).status, 400);
    let put = curl(&["-X", "PUT", &format!("{base}/dns-query")]);
    assert_eq!(put.status, 405);
    assert_eq!(put.header("allow"), Some("GET, POST, OPTIONS"));
    let preflight = curl(&["-X", "OPTIONS", "-H", "origin: https://example.org", "-H", "access-control-request-method: POST", &format!("{base}/dns-query")]);
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let big = curl_post(&format!("{base}/dns-query"), &vec![0u8; 70_000], &[]);
    assert_eq!(big.status, 413);
    let long = curl(&[&format!("{base}/dns-query?dns={}", "A".repeat(9_000))]);
    assert_eq!(long.status, 414);
}

/// The runtime keeps each distinct header set of the responses it builds and is then told only
/// which one (src/doh/header_sets.rs): responses with different sets, taken in turn and again,
/// each carry their own.
#[test]
fn curl_header_sets_kept_by_the_runtime_stay_apart() {
    let base = http_base();
    let get = |name: &str| format!("{base}/dns-query?dns={}", b64(&query_bytes(name, RecordType::A, false)));
    let dns = Some("application/dns-message");
    let cases: Vec<(String, u16, Option<&str>, Option<&str>)> = vec![
        (get("www.conformance.test."), 200, dns, Some("max-age=300")),
        (get("lowttl.conformance.test."), 200, dns, Some("max-age=5")),
        (format!("{base}/dns-query"), 400, Some("text/plain; charset=utf-8"), Some("no-store")),
        (get("chain1.conformance.test."), 200, dns, Some("max-age=60")),
        (get("example.net."), 200, dns, Some("no-store")),
        (format!("{base}/resolve?name=www.conformance.test&type=A"), 200, Some("application/dns-json"), Some("max-age=300")),
    ];
    for round in 0..3 {
        for (url, status, content_type, cache_control) in &cases {
            let exchange = curl(&[url]);
            let seen = (exchange.status, exchange.header("content-type"), exchange.header("cache-control"), exchange.header("access-control-allow-origin"));
            assert_eq!(seen, (*status, *content_type, *cache_control, Some("*")), "round {round}: {url}");
        }
    }
}

#[test]
fn curl_json_api() {
    let exchange = curl(&[&format!("{}/resolve?name=www.conformance.test&type=AAAA", http_base())]);
    assert_eq!(exchange.status, 200);
    assert_eq!(exchange.header("content-type"), Some("application/dns-json"));
    assert_eq!(exchange.header("access-control-allow-origin"), Some("*"));
    let value: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    assert_eq!(value["Status"], 0);
    assert_eq!(value["Answer"][0]["data"], "2001:db8::10");
    let via_accept = curl(&["-H", "accept: application/dns-json", &format!("{}/dns-query?name=example.com&type=MX", http_base())]);
    let value: serde_json::Value = serde_json::from_slice(&via_accept.body).unwrap();
    assert_eq!(value["Answer"][0]["data"], "10 mail.example.com.");
    assert_eq!(curl(&[&format!("{}/resolve?name=a..b", http_base())]).status, 400);
}

// ---- through the TLS + HTTP/2 front ----

#[test]
fn curl_over_http2() {
    let (host, port) = h2_address();
    let url = format!("https://{host}:{port}/dns-query");
    let exchange = curl_post(&url, &query_bytes("www.conformance.test.", RecordType::A, false), &["-k", "--http2"]);
    assert_eq!(exchange.version, "2");
    assert_eq!(answers(&exchange.message()).len(), 2);
    let get = curl(&["-k", "--http2", &format!("{url}?dns={}", b64(&query_bytes("mail.example.com.", RecordType::A, false)))]);
    assert_eq!(get.version, "2");
    assert_eq!(answers(&get.message()), vec!["mail.example.com. 3600 A 192.0.2.25"]);
}

/// What kdig or dig printed, parsed.
#[derive(Debug)]
struct Printed {
    status: String,
    flags: Vec<String>,
    sections: HashMap<String, Vec<Vec<String>>>,
    text: String,
}

impl Printed {
    fn section(&self, name: &str) -> Vec<Vec<String>> {
        self.sections.get(name).cloned().unwrap_or_default()
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

fn parse_printed(text: &str) -> Printed {
    let mut status = String::new();
    let mut flags = Vec::new();
    let mut sections: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(position) = trimmed.find("status: ") {
            status = trimmed[position + 8..].split([',', ';']).next().unwrap_or("").trim().to_owned();
        }
        let lower = trimmed.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix(";; flags:") {
            flags = rest.split(';').next().unwrap_or("").split_whitespace().map(str::to_owned).collect();
        }
        if let Some(name) = trimmed.strip_prefix(";; ").and_then(|rest| rest.strip_suffix(" SECTION:")) {
            current = Some(name.to_owned());
            continue;
        }
        if trimmed.is_empty() {
            current = None;
            continue;
        }
        if let Some(section) = &current {
            if !trimmed.starts_with(';') || section == "QUESTION" {
                let fields = trimmed.trim_start_matches(';').split_whitespace().map(str::to_owned).collect();
                sections.entry(section.clone()).or_default().push(fields);
            }
        }
    }
    Printed { status, flags, sections, text: text.to_owned() }
}

fn run(program: &str, args: &[String]) -> Printed {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{program} {args:?} failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    parse_printed(&text)
}

fn kdig(get: bool, query: &[&str]) -> Printed {
    let (host, port) = h2_address();
    let mut args = vec![format!("@{host}"), "-p".into(), port, if get { "+https-get".into() } else { "+https".into() }];
    args.extend(["+timeout=10".to_owned(), "+retry=0".to_owned()]);
    args.extend(query.iter().map(|s| (*s).to_owned()));
    run("kdig", &args)
}

fn dig(get: bool, query: &[&str]) -> Printed {
    let (host, port) = h2_address();
    let mut args = vec![format!("@{host}"), "-p".into(), port, if get { "+https-get".into() } else { "+https".into() }];
    args.extend(["+time=10".to_owned(), "+tries=1".to_owned()]);
    args.extend(query.iter().map(|s| (*s).to_owned()));
    run("dig", &args)
}

fn data_of(rows: &[Vec<String>]) -> Vec<String> {
    let mut data: Vec<String> = rows.iter().map(|row| row.get(4..).unwrap_or_default().join(" ")).collect();
    data.sort();
    data
}

#[test]
fn kdig_https_post_and_get() {
    for get in [false, true] {
        let printed = kdig(get, &["www.conformance.test", "A"]);
        assert_eq!(printed.status, "NOERROR", "{}", printed.text);
        assert!(printed.has_flag("aa"), "{}", printed.text);
        assert!(printed.has_flag("qr"));
        assert!(!printed.has_flag("ra"));
        assert_eq!(data_of(&printed.section("ANSWER")), vec!["192.0.2.10", "192.0.2.11"], "{}", printed.text);
        assert!(printed.section("ANSWER").iter().all(|row| row[1] == "300"));
    }
}

#[test]
fn dig_https_post_and_get() {
    for get in [false, true] {
        let printed = dig(get, &["www.example.com", "AAAA"]);
        assert_eq!(printed.status, "NOERROR", "{}", printed.text);
        assert!(printed.has_flag("aa"), "{}", printed.text);
        assert_eq!(data_of(&printed.section("ANSWER")), vec!["2001:db8::10"], "{}", printed.text);
    }
}

#[test]
fn dig_referral_with_glue() {
    let printed = dig(false, &["host.child.conformance.test", "A"]);
    assert_eq!(printed.status, "NOERROR", "{}", printed.text);
    assert!(!printed.has_flag("aa"), "{}", printed.text);
    assert!(printed.section("ANSWER").is_empty());
    assert_eq!(data_of(&printed.section("AUTHORITY")), vec!["ns.elsewhere.example.", "ns1.child.conformance.test."]);
    assert!(printed.section("ADDITIONAL").iter().any(|row| row.last().map(String::as_str) == Some("192.0.2.70")), "{}", printed.text);
}

#[test]
fn kdig_nxdomain_nodata_and_cname() {
    let nxdomain = kdig(false, &["dangling.conformance.test", "A"]);
    assert_eq!(nxdomain.status, "NXDOMAIN", "{}", nxdomain.text);
    assert_eq!(data_of(&nxdomain.section("ANSWER")), vec!["missing.conformance.test."]);
    let soa = nxdomain.section("AUTHORITY");
    assert_eq!(soa[0][3], "SOA");
    assert_eq!(soa[0][1], "300");
    let nodata = kdig(false, &["b.ent.conformance.test", "A"]);
    assert_eq!(nodata.status, "NOERROR");
    assert!(nodata.section("ANSWER").is_empty());
    assert_eq!(nodata.section("AUTHORITY")[0][3], "SOA");
    let wildcard = kdig(true, &["Some.Wild.conformance.test", "TXT"]);
    assert_eq!(wildcard.section("ANSWER")[0][0].to_ascii_lowercase(), "some.wild.conformance.test.");
}

#[test]
fn kdig_client_subnet_echo() {
    let printed = kdig(false, &["+subnet=198.51.100.0/24", "www.conformance.test", "A"]);
    assert!(printed.text.contains("CLIENT-SUBNET: 198.51.100.0/24/0"), "{}", printed.text);
    let none = kdig(false, &["+edns", "www.conformance.test", "A"]);
    assert!(!none.text.contains("CLIENT-SUBNET"), "{}", none.text);
}

#[test]
fn dig_badvers_and_ede() {
    let badvers = dig(false, &["+edns=1", "+noednsneg", "www.conformance.test", "A"]);
    assert_eq!(badvers.status, "BADVERS", "{}", badvers.text);
    let refused = dig(false, &["www.example.net", "A"]);
    assert_eq!(refused.status, "REFUSED", "{}", refused.text);
    assert!(refused.text.contains("EDE: 20"), "{}", refused.text);
}

// ---- the CLI asking the running Worker (`query --remote-url`, `probe`) ----

fn cli(args: &[&str]) -> (bool, String) {
    let output = Command::new(env("EDGEDNS_CLI")).args(args).env("EDGEDNS_QUIET", "1").output().expect("the CLI runs");
    (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn cli_query_remote_url_asks_the_worker_over_doh() {
    let (ok, text) = cli(&["query", "--remote-url", &http_base(), "blog.example.com", "A"]);
    assert!(ok, "{text}");
    assert!(text.contains(";; status: NoError, aa: true"), "{text}");
    assert!(text.contains("blog.example.com. 3600 IN CNAME www.example.com."), "{text}");
    assert!(text.contains("www.example.com. 300 IN A 192.0.2.10"), "{text}");
    // Something that is not a DoH endpoint is named as such.
    let (ok, text) = cli(&["query", "--remote-url", &format!("{}/no-such-path", http_base()), "www.example.com"]);
    assert!(!ok, "{text}");
    assert!(text.contains("HTTP 404"), "{text}");
}

#[test]
fn cli_probe_checks_the_example_zones_expected_answers_and_names_each_difference() {
    let (ok, text) = cli(&["probe", "--remote-url", &http_base(), "probes.toml"]);
    assert!(ok, "{text}");
    assert!(text.contains("8 probe(s) answered as expected"), "{text}");
    let wrong = scratch("probes.toml");
    std::fs::write(
        &wrong,
        "[[probe]]\nname = \"www.example.com\"\nanswers = [\"192.0.2.99\"]\n\n\
         [[probe]]\nname = \"no-such-name.example.com\"\n\n\
         [[probe]]\nname = \"www.example.org\"\nanswers_within = [\"192.0.2.10\", \"192.0.2.20\"]\n",
    )
    .unwrap();
    let (ok, text) = cli(&["probe", "--remote-url", &http_base(), &wrong.display().to_string()]);
    let _ = std::fs::remove_file(&wrong);
    assert!(!ok, "{text}");
    assert!(text.contains("FAIL  www.example.com. A: expected 192.0.2.99, got 192.0.2.10"), "{text}");
    assert!(text.contains("FAIL  no-such-name.example.com. A: expected NoError, got NXDomain (no records)"), "{text}");
    assert!(text.contains("ok    www.example.org. A"), "{text}");
    assert!(text.contains("2 of 3 probe(s) failed against"), "{text}");
}

// ---- publishing and reloading ----

fn publish(zones: &std::path::Path) {
    let cli = env("EDGEDNS_CLI");
    let state = env("EDGEDNS_STATE");
    let output =
        Command::new(cli).args(["publish", "--local", "--persist-to", &state]).arg(zones).arg("zones").arg("tests/zones").output().expect("the CLI runs");
    assert!(output.status.success(), "publish failed: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
}

fn reload_answer() -> Option<String> {
    let exchange = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.reload.test.", RecordType::A, false), &[]);
    let message = exchange.message();
    message.answers.first().map(|record| record.data.to_string())
}

/// Waits until the Worker serves `expected` for www.reload.test (the stack refreshes every
/// second); returns whether it did within the bound.
fn wait_for(expected: Option<&str>) -> bool {
    for _ in 0..40 {
        if reload_answer().as_deref() == expected {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// Publishing replaces what every test sees (the admin API and health tests publish or
/// write shared state too): one at a time, under the lock they share.
use routing::HEALTH as PUBLISHING;

#[test]
fn publishing_reaches_the_running_worker_and_corruption_keeps_the_last_good_data() {
    let _guard = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("zones");
    std::fs::create_dir_all(&dir).unwrap();
    let zone = |address: &str| format!("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A {address}\n");
    std::fs::write(dir.join("reload.test.zone"), zone("203.0.113.1")).unwrap();
    publish(&dir);
    assert!(wait_for(Some("203.0.113.1")), "the first version never appeared");
    std::fs::write(dir.join("reload.test.zone"), zone("203.0.113.2")).unwrap();
    publish(&dir);
    assert!(wait_for(Some("203.0.113.2")), "the second version never appeared");

    // Point `snapshot:current` at a version that does not exist, then at a corrupt image:
    // the Worker keeps answering from the last good snapshot.
    let state = env("EDGEDNS_STATE");
    let wrangler = std::path::Path::new("node_modules/.bin/wrangler");
    let put = |key: &str, value: &str| {
        let output = Command::new(wrangler)
            .args(["kv", "key", "put", "--local", "--binding", "ZONES", "--persist-to", &state, key, value])
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .expect("wrangler runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    put("snapshot:current", "no-such-version");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(reload_answer().as_deref(), Some("203.0.113.2"));
    put("snapshot:corrupt", "this is not an image");
    put("snapshot:current", "corrupt");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(reload_answer().as_deref(), Some("203.0.113.2"));
    assert_eq!(reload_answer().as_deref(), Some("203.0.113.2"));

    // A good publish recovers.
    std::fs::write(dir.join("reload.test.zone"), zone("203.0.113.3")).unwrap();
    publish(&dir);
    assert!(wait_for(Some("203.0.113.3")), "recovery never appeared");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_publishes_never_show_a_half_published_state() {
    let _guard = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
    // Two zones that change together: in version N, www.flip-a.test is a CNAME to
    // vN.flip-b.test, which exists only in version N of flip-b.test. An answer from a mix of
    // versions would be a CNAME with nothing behind it (or the wrong address).
    let versions: Vec<std::path::PathBuf> = (1..=2)
        .map(|n| {
            let dir = scratch(&format!("flip-v{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            let head = "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n";
            std::fs::write(dir.join("flip-a.test.zone"), format!("{head}www CNAME v{n}.flip-b.test.\n")).unwrap();
            std::fs::write(dir.join("flip-b.test.zone"), format!("{head}v{n} A 198.51.100.{n}\n")).unwrap();
            dir
        })
        .collect();
    publish(&versions[0]);
    let flip = || curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.flip-a.test.", RecordType::A, false), &[]).message();
    for _ in 0..40 {
        if flip().metadata.response_code == ResponseCode::NoError {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..3)
        .map(|_| {
            let stop = std::sync::Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen: HashMap<String, usize> = HashMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let exchange = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.flip-a.test.", RecordType::A, false), &[]);
                    assert_eq!(exchange.status, 200, "an error during publishing");
                    let message = exchange.message();
                    assert_eq!(message.metadata.response_code, ResponseCode::NoError, "{message:?}");
                    let answer: Vec<String> = message.answers.iter().map(|r| r.data.to_string()).collect();
                    *seen.entry(answer.join(" ")).or_insert(0) += 1;
                }
                seen
            })
        })
        .collect();
    for round in 0..4 {
        publish(&versions[(round + 1) % 2]);
        std::thread::sleep(Duration::from_millis(1_500));
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for thread in load {
        for (answer, count) in thread.join().expect("no errors under load") {
            *seen.entry(answer).or_insert(0) += count;
        }
    }
    let consistent = ["v1.flip-b.test. 198.51.100.1", "v2.flip-b.test. 198.51.100.2"];
    for (answer, count) in &seen {
        assert!(consistent.contains(&answer.as_str()), "{count} answers from a half-published state: {answer:?} (all: {seen:?})");
    }
    assert!(consistent.iter().all(|answer| seen.contains_key(*answer)), "both versions were served while publishing: {seen:?}");
    assert!(seen.values().sum::<usize>() > 100, "{seen:?}");
    for dir in versions {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// This isolate's counters, from the admin API.
fn isolate_counts() -> serde_json::Value {
    let token = env("EDGEDNS_ADMIN_TOKEN");
    let exchange = curl(&["-H", &format!("authorization: Bearer {token}"), &format!("{}/admin/isolate", http_base())]);
    assert_eq!(exchange.status, 200);
    serde_json::from_slice::<serde_json::Value>(&exchange.body).unwrap()["counts"].clone()
}

#[test]
fn queries_cost_zero_kv_reads_once_the_isolate_has_its_data() {
    let _ = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.example.com.", RecordType::A, false), &[]);
    let before = isolate_counts();
    for _ in 0..100 {
        let exchange = curl_post(&format!("{}/dns-query", http_base()), &query_bytes("www.example.com.", RecordType::A, false), &[]);
        assert_eq!(exchange.status, 200);
    }
    let after = isolate_counts();
    let counted = |counts: &serde_json::Value, key: &str| counts[key].as_u64().unwrap_or_else(|| panic!("{key} in {counts}"));
    assert!(counted(&after, "requests") >= counted(&before, "requests") + 100, "one isolate served them: {before} → {after}");
    assert_eq!(
        counted(&after, "kv_reads_request"),
        counted(&before, "kv_reads_request"),
        "no KV read on any query's path (refreshes run after the response): {before} → {after}"
    );
}

// ---- load with a real DoH client ----

#[test]
fn dnsperf_over_doh_loses_nothing() {
    let (host, port) = h2_address();
    let queries = scratch("dnsperf-queries");
    std::fs::write(&queries, "www.example.com A\nexample.com MX\nnope.example.com A\nblog.example.com AAAA\nx.apps.example.com A\n").unwrap();
    let output = Command::new("dnsperf")
        .args(["-m", "doh", "-s", &host, "-p", &port, "-n", "20", "-c", "2", "-t", "10", "-d"])
        .arg(&queries)
        .output()
        .expect("dnsperf runs");
    let _ = std::fs::remove_file(&queries);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    // 20 passes over 5 queries: 100 sent, every one answered, 1 in 5 NXDOMAIN, all HTTP 200.
    assert!(text.contains("Queries completed:    100 (100.00%)"), "{text}");
    assert!(text.contains("Queries lost:         0"), "{text}");
    assert!(text.contains("NOERROR 80 (80.00%), NXDOMAIN 20 (20.00%)"), "{text}");
    assert!(text.contains("200: 100"), "{text}");
}

/// The launcher of the tests that run the Worker in a workerd of their own (tests/e2e/workerd.rs).
#[path = "e2e/workerd.rs"]
mod workerd;

/// Routing-policy scenarios (tests/e2e/routing.rs).
#[path = "e2e/routing.rs"]
mod routing;

/// Health checks run by the Worker, and the admin API (tests/e2e/health.rs).
#[path = "e2e/health.rs"]
mod health;

/// The health checker within the platform's limits, in workerds of its own (tests/e2e/health_limits.rs).
#[path = "e2e/health_limits.rs"]
mod health_limits;

/// The zone admin API: upload, invalid upload, delete, rollback (tests/e2e/admin.rs).
#[path = "e2e/admin.rs"]
mod admin;

/// Private views: who sees them (tests/e2e/views.rs).
#[path = "e2e/views.rs"]
mod views;

/// Resolver mode: forwarding, caching, stale answers, the firewall (tests/e2e/resolver.rs).
#[path = "e2e/resolver.rs"]
mod resolver;

/// Split snapshots: a cold isolate's KV reads, in a workerd of its own (tests/e2e/shards.rs).
#[path = "e2e/shards.rs"]
mod shards;

/// A fresh isolate under a burst of concurrent queries (tests/e2e/isolate.rs).
#[path = "e2e/isolate.rs"]
mod isolate;

/// Bodies bounded before they are buffered, in workerds of its own (tests/e2e/bodies.rs).
/// The tests' loopback HTTP servers' request reader (tests/e2e/loopback.rs).
#[path = "e2e/loopback.rs"]
mod loopback;

#[path = "e2e/bodies.rs"]
mod bodies;

/// Publishes and rollbacks under query load, in workerds of their own sharing one KV (tests/e2e/publish.rs).
#[path = "e2e/publish.rs"]
mod publish;

/// Identical forwarded questions in flight share one upstream query, in workerds of its own (tests/e2e/coalesce.rs).
#[path = "e2e/coalesce.rs"]
mod coalesce;

/// Rate limits per client network and on failed admin authentications (tests/e2e/rate_limits.rs).
#[path = "e2e/rate_limits.rs"]
mod rate_limits;

/// After a panic or a trap the isolate starts its wasm instance anew and answers, in a workerd of its own (tests/e2e/recovery.rs).
#[path = "e2e/recovery.rs"]
mod recovery;

/// The operator console in headless Chromium, driven by playwright-core (tests/e2e/console.rs).
#[path = "e2e/console.rs"]
mod console;

/// Query analytics: the data points written to a test Analytics Engine binding, the SQL API
/// read back from a stand-in, in workerds of their own (tests/e2e/analytics.rs).
#[path = "e2e/analytics.rs"]
mod analytics;

// ---- a browser: the lookup page at `/`, in headless Chromium ----

/// Loads `url` in headless Chromium (a fresh profile each time) and returns the DOM as it is
/// once the page has gone idle: `--virtual-time-budget` keeps the page running while its
/// `fetch()`es are in flight, and `--dump-dom` prints the DOM after that. Killed after 60 s.
fn chromium_dom(url: &str) -> String {
    let (success, dom, stderr) = chromium(url, &[], None);
    assert!(success, "chromium failed loading {url}\n{stderr}");
    dom
}

/// Runs headless Chromium on `url` with extra flags and, optionally, a `Local State` file
/// for the fresh profile (browser-wide settings such as secure DNS); returns whether it
/// exited successfully, the DOM and its stderr.
fn chromium(url: &str, extra: &[String], local_state: Option<&str>) -> (bool, String, String) {
    use std::os::unix::process::CommandExt;
    let profile = scratch("chromium-profile");
    let out = scratch("chromium-dom");
    let err = scratch("chromium-stderr");
    std::fs::create_dir_all(&profile).unwrap();
    if let Some(settings) = local_state {
        std::fs::write(profile.join("Local State"), settings).unwrap();
    }
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .args(["--dump-dom", url])
        // Files, not pipes: a full pipe would block Chromium while we wait for it to exit.
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        // Its own process group, so a hung run is killed with every helper process it started.
        .process_group(0)
        .spawn()
        .expect("chromium runs (scripts/setup.sh installs it)");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    for path in [&out, &err] {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_dir_all(&profile);
    let status = status.unwrap_or_else(|| panic!("chromium did not finish within 60 s loading {url}\n{stderr}"));
    (status.success(), dom, stderr)
}

/// The opening tag of the first `<tag` in `dom` whose opening tag contains `marker`, and the
/// whole element (up to `</tag>`).
fn element<'a>(dom: &'a str, tag: &str, marker: &str) -> (&'a str, &'a str) {
    let mut from = 0;
    while let Some(start) = dom[from..].find(&format!("<{tag}")).map(|i| from + i) {
        let open_end = start + dom[start..].find('>').expect("a whole tag");
        if dom[start..open_end].contains(marker) {
            let close = dom[start..].find(&format!("</{tag}>")).map_or(dom.len(), |i| start + i);
            return (&dom[start..=open_end], &dom[start..close]);
        }
        from = open_end;
    }
    panic!("no <{tag} {marker}> in the page:\n{dom}")
}

/// The page's origin differs from the endpoint's (`localhost` against `127.0.0.1`), so every
/// lookup is a cross-origin `fetch()`: the POST with `content-type: application/dns-message`
/// only goes out after a CORS preflight, and the browser only hands any response to the page
/// when it carries `Access-Control-Allow-Origin`.
#[test]
fn browser_page_looks_up_through_json_and_wire_format_across_origins() {
    let base = http_base();
    let page_base = if base.contains("://127.0.0.1:") {
        base.replacen("://127.0.0.1:", "://localhost:", 1)
    } else {
        assert!(base.contains("://localhost:"), "EDGEDNS_HTTP should be http://127.0.0.1:PORT or http://localhost:PORT, not {base}");
        base.replacen("://localhost:", "://127.0.0.1:", 1)
    };
    let served = curl(&[&format!("{page_base}/")]);
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(String::from_utf8_lossy(&served.body).contains("<title>edgedns lookup</title>"));

    let sections = ["json", "wire-post", "wire-get"];
    let found = chromium_dom(&format!("{page_base}/?name=www.example.com&type=A&endpoint={base}"));
    let (body, _) = element(&found, "body", "");
    assert!(body.contains(r#"data-done="1""#), "the lookups never finished: {body}\n{found}");
    for id in sections {
        let (open, section) = element(&found, "section", &format!(r#"id="{id}""#));
        assert!(open.contains(r#"data-status="NOERROR""#), "{id}: {section}");
        assert!(section.contains("www.example.com. 300 A 192.0.2.10"), "{id}: {section}");
    }
    // The wire-format sections parsed the header; GET sent exactly the RFC 8484 example query.
    for id in ["wire-post", "wire-get"] {
        assert!(element(&found, "section", &format!(r#"id="{id}""#)).1.contains("flags: qr aa rd"), "{found}");
    }
    let (_, get) = element(&found, "section", r#"id="wire-get""#);
    assert!(get.contains(&format!("GET {base}/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB<")), "{get}");

    let missing = chromium_dom(&format!("{page_base}/?name=nope.example.com&type=A&endpoint={base}"));
    let (body, _) = element(&missing, "body", "");
    assert!(body.contains(r#"data-done="1""#), "the lookups never finished: {body}\n{missing}");
    for id in sections {
        let (open, section) = element(&missing, "section", &format!(r#"id="{id}""#));
        assert!(open.contains(r#"data-status="NXDOMAIN""#), "{id}: {section}");
        assert!(section.contains("example.com. 300 SOA ns1.example.com. hostmaster.example.com. "), "{id}: {section}");
    }
}

/// The page explains an answer with the admin token, which a link may carry in its fragment
/// (never sent, taken off the address bar); without it the section says the token is needed.
/// Explain answers its own origin only, so the page is loaded from the endpoint itself.
#[test]
fn browser_page_explains_with_the_admin_token() {
    let base = http_base();
    let token = env("EDGEDNS_ADMIN_TOKEN");
    let found = chromium_dom(&format!("{base}/?name=www.example.org&type=A#token={token}"));
    let (body, _) = element(&found, "body", "");
    assert!(body.contains(r#"data-done="1""#), "the lookups never finished: {body}\n{found}");
    let (open, section) = element(&found, "section", r#"id="explain""#);
    assert!(open.contains(r#"data-status="NOERROR""#), "{section}");
    assert!(section.contains(";; TRACE") && section.contains("picked"), "{section}");
    assert!(!found.contains(&token), "the token is not left in the page");
    let locked = chromium_dom(&format!("{base}/?name=www.example.org&type=A"));
    let (open, section) = element(&locked, "section", r#"id="explain""#);
    assert!(open.contains(r#"data-status="locked: "#), "{section}");
    assert!(section.contains("needs the admin token") && !section.contains("picked"), "{section}");
}

#[path = "e2e/dnssec.rs"]
mod dnssec;

/// Firewall lists subscribed to by URL, fetched by the scheduled handler, in a workerd of its own (tests/e2e/subscriptions.rs).
#[path = "e2e/subscriptions.rs"]
mod subscriptions;

/// Per-profile upstreams and ECS policy, in a workerd of its own (tests/e2e/profile_upstreams.rs).
#[path = "e2e/profile_upstreams.rs"]
mod profile_upstreams;
