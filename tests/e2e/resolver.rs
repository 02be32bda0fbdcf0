//! Resolver mode through workerd: a second stack (`EDGEDNS_RESOLVER_HTTP`) with upstreams
//! configured, the first one dead, the second hanging and the third dnsdist's plain-HTTP DoH listener in front of
//! BIND serving `upstream.test` (scripts/upstream.sh). dnsdist's query counter shows what
//! reached the upstream.

use std::sync::Mutex;

use super::*;
use hickory_proto::rr::rdata::opt::EdnsOption;

/// The upstream is shared (and one test stops it): resolver tests run one at a time.
static UPSTREAM: Mutex<()> = Mutex::new(());

fn resolver_base() -> String {
    env("EDGEDNS_RESOLVER_HTTP")
}

fn ask(name: &str, record_type: RecordType, id: u16) -> Message {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message.edns = Some(Edns::new());
    curl_post(&format!("{}/dns-query", resolver_base()), &message.to_vec().unwrap(), &[]).message()
}

/// Queries dnsdist has received so far.
fn upstream_queries() -> u64 {
    let exchange = curl(&["-H", "X-API-Key: edgedns-test", "http://127.0.0.1:18955/jsonstat?command=stats"]);
    let stats: serde_json::Value = serde_json::from_slice(&exchange.body).expect("dnsdist statistics");
    stats["queries"].as_u64().expect("a query counter")
}

fn extended_error(message: &Message) -> Option<u16> {
    message.edns.as_ref()?.options().options.iter().find_map(|(code, option)| match option {
        EdnsOption::Unknown(15, data) if u16::from(*code) == 15 => data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])),
        _ => None,
    })
}

fn data(message: &Message) -> Vec<String> {
    message.answers.iter().map(|record| record.data.to_string()).collect()
}

fn upstream(action: &str) {
    let status = Command::new("scripts/upstream.sh").arg(action).status().expect("scripts/upstream.sh runs");
    assert!(status.success(), "scripts/upstream.sh {action}");
}

#[test]
fn forwards_names_outside_the_hosted_zones_keeping_id_and_case() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    // Mixed case on the wire (hickory's encoder would lower-case it): 0x20 clients check it.
    let mut query = Message::new(0x1234, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_str("www.upstream.test.").unwrap(), RecordType::A));
    let lower: &[u8] = b"\x03www\x08upstream\x04test\x00";
    let mixed: &[u8] = b"\x03WwW\x08UpStReAm\x04TeSt\x00";
    let mut bytes = query.to_vec().unwrap();
    let at = bytes.windows(lower.len()).position(|window| window == lower).unwrap();
    bytes[at..at + lower.len()].copy_from_slice(mixed);
    let exchange = curl_post(&format!("{}/dns-query", resolver_base()), &bytes, &[]);
    assert_eq!(&exchange.body[12..12 + mixed.len()], mixed, "0x20: the question comes back as asked");
    let message = exchange.message();
    assert_eq!(message.metadata.id, 0x1234);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    assert!(message.metadata.recursion_available, "RA in resolver mode");
    assert!(!message.metadata.authoritative, "forwarded answers are not authoritative");
    assert_eq!(data(&message), vec!["127.0.0.1"]);
    let chain = ask("alias.upstream.test.", RecordType::A, 7);
    assert_eq!(data(&chain), vec!["www.upstream.test.", "127.0.0.1"]);
    assert_eq!(data(&ask("v6.upstream.test.", RecordType::AAAA, 8)), vec!["::1"]);
    // A hosted CNAME chain that leaves the hosted zones is finished upstream.
    assert_eq!(data(&ask("cdn.browser.test.", RecordType::A, 11)), vec!["www.upstream.test.", "127.0.0.1"]);
    // Hosted zones are still answered by the engine, authoritatively.
    let hosted = ask("www.example.com.", RecordType::A, 9);
    assert!(hosted.metadata.authoritative && hosted.metadata.recursion_available);
    // An upstream that answers with an error (BIND refuses names it does not serve) is a
    // failure: SERVFAIL with EDE 22, the first upstream being unreachable.
    let refused = ask("elsewhere.example.", RecordType::A, 10);
    assert_eq!((refused.metadata.response_code, extended_error(&refused)), (ResponseCode::ServFail, Some(22)));
}

fn resolver_status() -> serde_json::Value {
    let token = env("EDGEDNS_ADMIN_TOKEN");
    let exchange = curl(&["-H", &format!("authorization: Bearer {token}"), &format!("{}/admin/resolver", resolver_base())]);
    serde_json::from_slice(&exchange.body).unwrap()
}

/// Connections the hanging upstream has accepted.
fn hanging_upstream_connections() -> u64 {
    let path = std::path::Path::new(&env("EDGEDNS_STATE")).parent().unwrap().join("upstream/hang.count");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().parse().unwrap()
}

#[test]
fn failover_and_hedging_get_past_dead_and_hanging_upstreams() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    // The first upstream refuses connections (failover at once), the second accepts and never
    // answers (the third is asked after HEDGE_AFTER_MS), the third answers.
    let hanging = hanging_upstream_connections();
    let before = upstream_queries();
    let hedged = resolver_status()["isolate"]["hedged"].as_u64().unwrap();
    let message = ask("hedge.upstream.test.", RecordType::A, 1);
    assert_eq!(message.metadata.response_code, ResponseCode::NXDomain, "answered by the third upstream");
    assert!(hanging_upstream_connections() > hanging, "the hanging upstream was asked");
    assert!(upstream_queries() > before, "and dnsdist answered");
    assert_eq!(resolver_status()["isolate"]["hedged"].as_u64().unwrap(), hedged + 1, "by hedging, not after the timeout");
}

#[test]
fn a_second_query_is_answered_from_the_cache() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let before = upstream_queries();
    let first = ask("cached.upstream.test.", RecordType::A, 1);
    assert_eq!(data(&first), vec!["192.0.2.201"]);
    let after_first = upstream_queries();
    assert!(after_first > before, "the first query reaches the upstream (past the dead and the hanging one)");
    std::thread::sleep(Duration::from_millis(1_100));
    let second = ask("CACHED.upstream.test.", RecordType::A, 2);
    assert_eq!(data(&second), vec!["192.0.2.201"]);
    assert_eq!(upstream_queries(), after_first, "the second one does not");
    assert!(second.answers[0].ttl < first.answers[0].ttl, "TTLs count down: {} then {}", first.answers[0].ttl, second.answers[0].ttl);
    // Negative answers are cached for the SOA's negative TTL (min(300, 60) here).
    let missing = ask("missing.upstream.test.", RecordType::A, 3);
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    let count = upstream_queries();
    let again = ask("missing.upstream.test.", RecordType::A, 4);
    assert_eq!(again.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(upstream_queries(), count, "NXDOMAIN is cached too");
    assert!(again.authorities.iter().any(|record| record.record_type() == RecordType::SOA && record.ttl <= 60));
}

#[test]
fn stale_answers_when_every_upstream_is_down() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    // TTL 1: cached, then expired.
    assert_eq!(data(&ask("short.upstream.test.", RecordType::A, 1)), vec!["192.0.2.202"]);
    upstream("stop-doh");
    std::thread::sleep(Duration::from_millis(2_500));
    let stale = ask("short.upstream.test.", RecordType::A, 2);
    let never_seen = ask("json.upstream.test.", RecordType::AAAA, 3);
    upstream("start-doh");
    assert_eq!(data(&stale), vec!["192.0.2.202"], "an expired answer beats no answer (RFC 8767)");
    assert_eq!((stale.answers[0].ttl, extended_error(&stale)), (30, Some(3)), "stale answers: TTL 30 s and EDE 3");
    assert_eq!(never_seen.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(extended_error(&never_seen), Some(23), "no upstream reachable: EDE 23");
    assert!(never_seen.metadata.recursion_available);
}

#[test]
fn firewall_blocks_overrides_allows_and_explains() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let rules = scratch("firewall.txt");
    std::fs::write(
        &rules,
        "block ads.upstream.test nxdomain\nblock *.ads.upstream.test nodata\nallow ok.ads.upstream.test\n\
         block phish.upstream.test A 192.0.2.99 ttl=120\nalert watch.upstream.test\n\
         block *.tracker.upstream.test nxdomain\nblock 192.0.2.240/28 nodata\n",
    )
    .unwrap();
    let output = Command::new(env("EDGEDNS_CLI"))
        .args(["firewall", "publish"])
        .arg(&rules)
        .args(["--local", "--persist-to", &env("EDGEDNS_RESOLVER_STATE")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let _ = std::fs::remove_file(&rules);
    // The rule list loads in the background after a refresh (every second on this stack).
    let mut blocked = ask("ads.upstream.test.", RecordType::A, 1);
    for _ in 0..40 {
        if blocked.metadata.response_code == ResponseCode::NXDomain {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        blocked = ask("ads.upstream.test.", RecordType::A, 1);
    }
    let before = upstream_queries();
    assert_eq!((blocked.metadata.response_code, extended_error(&blocked)), (ResponseCode::NXDomain, Some(15)));
    let below = ask("x.ads.upstream.test.", RecordType::A, 2);
    assert_eq!((below.metadata.response_code, below.answers.len(), extended_error(&below)), (ResponseCode::NoError, 0, Some(15)));
    let phish = ask("phish.upstream.test.", RecordType::A, 3);
    assert_eq!((data(&phish), phish.answers[0].ttl, extended_error(&phish)), (vec!["192.0.2.99".to_owned()], 120, Some(15)));
    assert_eq!(upstream_queries(), before, "blocked names never reach the upstream");
    let allowed = ask("ok.ads.upstream.test.", RecordType::A, 4);
    assert_eq!((data(&allowed), extended_error(&allowed)), (vec!["192.0.2.206".to_owned()], None), "the exception is forwarded");
    assert_eq!(data(&ask("watch.upstream.test.", RecordType::A, 5)), vec!["192.0.2.209"], "alert answers normally");
    // CNAME cloaking: cloaked.upstream.test is no rule's name, but BIND answers it through
    // a.tracker.upstream.test, which is blocked; and an answer address in 192.0.2.240/28.
    let cloaked = ask("cloaked.upstream.test.", RecordType::A, 6);
    assert_eq!((cloaked.metadata.response_code, cloaked.answers.len(), extended_error(&cloaked)), (ResponseCode::NXDomain, 0, Some(15)), "{cloaked:?}");
    let pointed = ask("pointed.upstream.test.", RecordType::A, 7);
    assert_eq!((pointed.metadata.response_code, pointed.answers.len(), extended_error(&pointed)), (ResponseCode::NoError, 0, Some(15)), "{pointed:?}");
    let json = curl(&[&format!("{}/resolve?name=cloaked.upstream.test&type=A", resolver_base())]);
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(value["Status"], 3, "the JSON API too: {value}");
    let explained = curl(&["-H", &admin_authorization(), &format!("{}/explain?name=phish.upstream.test", resolver_base())]);
    let text = String::from_utf8_lossy(&explained.body);
    assert!(text.contains("firewall: rule block phish.upstream.test (line 4) matched"), "{text}");
}

/// The lists people have, published together: an AdBlock-style list (CRLF line ends, an
/// exception, a cosmetic rule the CLI reports) and a hosts file; explain names the list, the
/// line and the rule as written.
#[test]
fn adblock_and_hosts_lists_block_except_and_explain_their_lines() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("lists");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ads.txt"), "! e2e list\r\n||filter-ads.upstream.test^\r\n@@||ok.filter-ads.upstream.test^\r\nexample.com##.banner\r\n").unwrap();
    std::fs::write(dir.join("hosts"), "127.0.0.1 localhost\n0.0.0.0 filter-hosts.upstream.test\n").unwrap();
    let (stdout, stderr) = publish_lists(&[dir.join("ads.txt"), dir.join("hosts")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.contains("3 rules from ads.txt (adblock), hosts (hosts); 1 lines not expressible"), "{stdout}");
    assert!(stderr.contains("ads.txt:4: a cosmetic rule"), "publish reports what it leaves out: {stderr}");
    // The lists load in the background after a refresh (every second on this stack).
    let text = explain_once_loaded("filter-ads.upstream.test", "(ads.txt line 2)", 40);
    assert!(text.contains("firewall: rule block ||filter-ads.upstream.test^ (ads.txt line 2) matched"), "{text}");
    let blocked = ask("filter-ads.upstream.test.", RecordType::A, 11);
    assert_eq!((blocked.metadata.response_code, extended_error(&blocked)), (ResponseCode::NXDomain, Some(15)));
    let below = ask("x.filter-ads.upstream.test.", RecordType::A, 12);
    assert_eq!((below.metadata.response_code, extended_error(&below)), (ResponseCode::NXDomain, Some(15)), "||domain^ covers its subdomains");
    let allowed = ask("ok.filter-ads.upstream.test.", RecordType::A, 13);
    assert_eq!((data(&allowed), extended_error(&allowed)), (vec!["192.0.2.213".to_owned()], None), "the exception is forwarded");
    assert!(explain("ok.filter-ads.upstream.test").contains("firewall: rule allow @@||ok.filter-ads.upstream.test^ (ads.txt line 3) matched"));
    let hosts = ask("filter-hosts.upstream.test.", RecordType::A, 14);
    assert_eq!((hosts.metadata.response_code, extended_error(&hosts)), (ResponseCode::NXDomain, Some(15)));
    let text = explain("filter-hosts.upstream.test");
    assert!(text.contains("firewall: rule block 0.0.0.0 filter-hosts.upstream.test (hosts line 2) matched"), "{text}");
}

/// A list of the aggregated lists' size, published compiled (one KV value, loaded in the
/// background): a name on it is blocked and explained by list, line and rule, a name off it
/// passes, and the block is counted at /admin/firewall/stats. A million names (the
/// aggregated lists' size): the isolate's memory stays well inside its 128 MB.
#[test]
fn a_large_published_list_blocks_its_names_and_counts_them() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("large-list");
    std::fs::create_dir_all(&dir).unwrap();
    let mut hosts: String = (0..1_000_000u32).map(|n| format!("0.0.0.0 h{:x}{}.site{}.example\n", n.wrapping_mul(2_654_435_761), n % 7, n % 50_000)).collect();
    hosts.push_str("0.0.0.0 large-listed.upstream.test\n");
    std::fs::write(dir.join("big.txt"), &hosts).unwrap();
    let (stdout, _) = publish_lists(&[dir.join("big.txt")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.contains(": 1000001 rules from big.txt (hosts)"), "{stdout}");
    // The list loads in the background after a refresh (every second on this stack).
    let text = explain_once_loaded("large-listed.upstream.test", "(big.txt line 1000001)", 80);
    assert!(text.contains("firewall: rule block 0.0.0.0 large-listed.upstream.test (big.txt line 1000001) matched"), "{text}");
    let status = resolver_status();
    // The isolate's wasm memory with the list loaded (its high-water mark: the value read and
    // decoded), leaving room for the zones in its 128 MB: 41.9 MB when measured.
    let isolate = curl(&["-H", &admin_authorization(), &format!("{}/admin/isolate", resolver_base())]);
    let isolate: serde_json::Value = serde_json::from_slice(&isolate.body).unwrap();
    let memory = isolate["memory_bytes"].as_u64().unwrap();
    assert!(memory < 64 * 1024 * 1024, "{memory} bytes of wasm memory with a 1M-domain list");
    assert_eq!(status["firewall"]["rules"], 1_000_001, "{status}");
    let blocked = ask("large-listed.upstream.test.", RecordType::A, 31);
    assert_eq!((blocked.metadata.response_code, extended_error(&blocked)), (ResponseCode::NXDomain, Some(15)));
    let passed = ask("www.upstream.test.", RecordType::A, 32);
    assert_eq!((data(&passed), extended_error(&passed)), (vec!["127.0.0.1".to_owned()], None), "a name off the list passes");
    let stats = curl(&["-H", &admin_authorization(), &format!("{}/admin/firewall/stats", resolver_base())]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    let rule = stats["rules"].as_array().unwrap().iter().find(|rule| rule["list"] == "big.txt").cloned();
    let rule = rule.unwrap_or_else(|| panic!("no count for big.txt: {stats}"));
    assert_eq!(
        (rule["line"].as_u64(), rule["rule"].as_str(), rule["blocked"].as_u64()),
        (Some(1_000_001), Some("0.0.0.0 large-listed.upstream.test"), Some(1)),
        "{stats}"
    );
}

fn ask_at(path: &str, name: &str, record_type: RecordType, id: u16, get: bool) -> Message {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message.edns = Some(Edns::new());
    let url = format!("{}{path}", resolver_base());
    if get {
        curl(&[&format!("{url}?dns={}", b64(&message.to_vec().unwrap()))]).message()
    } else {
        curl_post(&url, &message.to_vec().unwrap(), &[]).message()
    }
}

/// Two profiles (scripts/test.sh writes them into the stack's wrangler.e2e.toml as a TOML
/// table): `strict` uses profiled.txt and answers blocks with 0.0.0.0, `open` uses no list
/// and holds Bing to safe search. The same name gets three answers by path; an unknown id
/// is the 404 of any path.
#[test]
fn profiles_answer_the_same_name_differently_by_path() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("profiled.txt"), "||profiled.upstream.test^\n").unwrap();
    let output = Command::new(env("EDGEDNS_CLI"))
        .args(["firewall", "publish"])
        .arg(dir.join("profiled.txt"))
        .args(["--format", "adblock", "--local", "--persist-to", &env("EDGEDNS_RESOLVER_STATE")])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (strict, open) = ("/dns-query/p/p7Xk2Qm9LwR4tZ8vN3bH6yJ1", "/dns-query/p/open-c5Vd8Rk1");
    // The list loads in the background after a refresh (every second on this stack).
    let mut blocked = ask_at(strict, "profiled.upstream.test.", RecordType::A, 21, false);
    for _ in 0..40 {
        if extended_error(&blocked) == Some(15) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        blocked = ask_at(strict, "profiled.upstream.test.", RecordType::A, 21, false);
    }
    assert_eq!(
        (blocked.metadata.response_code, data(&blocked), extended_error(&blocked)),
        (ResponseCode::NoError, vec!["0.0.0.0".to_owned()], Some(15)),
        "strict: its null answer"
    );
    let by_get = ask_at(strict, "profiled.upstream.test.", RecordType::AAAA, 22, true);
    assert_eq!((data(&by_get), extended_error(&by_get)), (vec!["::".to_owned()], Some(15)), "GET ?dns= takes the profile path too");
    let passed = ask_at(open, "profiled.upstream.test.", RecordType::A, 23, false);
    assert_eq!((data(&passed), extended_error(&passed)), (vec!["192.0.2.215".to_owned()], None), "open: no list, the upstream's answer");
    let default = ask("profiled.upstream.test.", RecordType::A, 24);
    assert_eq!((default.metadata.response_code, extended_error(&default)), (ResponseCode::NXDomain, Some(15)), "/dns-query: every list, as before profiles");
    let denied = ask_at(strict, "denied.upstream.test.", RecordType::A, 25, false);
    assert_eq!((data(&denied), extended_error(&denied)), (vec!["0.0.0.0".to_owned()], Some(15)), "strict's own deny entry");
    assert_eq!(data(&ask("denied.upstream.test.", RecordType::A, 26)), vec!["192.0.2.216"], "another profile's entries do not apply");
    // Safe search: open answers www.bing.com with Bing's strict.bing.com CNAME, then the
    // upstream's address for it; the default path gets the upstream's own answer.
    let safe = ask_at(open, "www.bing.com.", RecordType::A, 27, false);
    assert_eq!((safe.metadata.response_code, data(&safe)), (ResponseCode::NoError, vec!["strict.bing.com.".to_owned(), "192.0.2.222".to_owned()]), "{safe:?}");
    assert_eq!(safe.answers[0].name.to_string(), "www.bing.com.");
    assert_eq!(data(&ask("www.bing.com.", RecordType::A, 28)), vec!["192.0.2.221"]);
    // Unknown ids (a guess, a name, one character off) get the 404 any path gets.
    let nowhere = curl(&[&format!("{}/nowhere", resolver_base())]);
    assert_eq!(nowhere.status, 404);
    for id in ["guess", "strict", "open", "p7Xk2Qm9LwR4tZ8vN3bH6yJ2"] {
        let exchange = curl(&[&format!("{}/dns-query/p/{id}?dns=AAABAAABAAAAAAAAAWEHZXhhbXBsZQNuZXQAAAEAAQ", resolver_base())]);
        assert_eq!((exchange.status, &exchange.body), (404, &nowhere.body), "{id}");
    }
    // Explain names the profile and the rule.
    let explained = curl(&["-H", &admin_authorization(), &format!("{}/explain/p/p7Xk2Qm9LwR4tZ8vN3bH6yJ1?name=profiled.upstream.test", resolver_base())]);
    let text = String::from_utf8_lossy(&explained.body);
    assert!(text.contains("profile strict (lists: profiled.txt)"), "{text}");
    assert!(text.contains("firewall: profile strict: rule block ||profiled.upstream.test^ (profiled.txt line 1) matched"), "{text}");
    // The blocks are counted per profile, list and rule (explain counts none).
    let stats = curl(&["-H", &admin_authorization(), &format!("{}/admin/firewall/stats", resolver_base())]);
    assert_eq!(stats.status, 200);
    let stats: serde_json::Value = serde_json::from_slice(&stats.body).unwrap();
    let rule = stats["rules"].as_array().unwrap().iter().find(|rule| rule["profile"] == "strict" && rule["list"] == "profiled.txt").cloned();
    let rule = rule.unwrap_or_else(|| panic!("no count for strict's profiled.txt rule: {stats}"));
    assert_eq!((rule["line"].as_u64(), rule["rule"].as_str()), (Some(1), Some("||profiled.upstream.test^")), "{stats}");
    assert_eq!(rule["blocked"].as_u64(), Some(2), "the POST and the GET blocks, not the polling before the list loaded: {stats}");
    let own = stats["rules"].as_array().unwrap().iter().find(|rule| rule["list"] == "PROFILES.strict.deny").cloned();
    assert_eq!(own.map(|rule| rule["blocked"].clone()), Some(1.into()), "{stats}");
    let profiles = stats["profiles"].as_array().unwrap();
    assert!(profiles.contains(&serde_json::json!(["strict", 3])), "{stats}");
    let nothing = curl(&["-X", "POST", "-H", &admin_authorization(), &format!("{}/admin/firewall/stats", resolver_base())]);
    assert_eq!(nothing.status, 405, "read only");
}

/// A resolver's log of names is its users' browsing history: without `LOG_QUERIES` the Worker
/// logs no forwarded name, and upstream URLs without their path.
#[test]
fn forwarded_names_stay_out_of_the_log() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("browsing-history-{}.upstream.test.", std::process::id());
    assert_eq!(ask(&name, RecordType::A, 8).metadata.response_code, ResponseCode::NXDomain);
    let log = std::path::Path::new(&env("EDGEDNS_RESOLVER_STATE")).with_file_name("resolver-wrangler.log");
    let mut text = String::new();
    for _ in 0..20 {
        text = std::fs::read_to_string(&log).unwrap_or_else(|error| panic!("{}: {error}", log.display()));
        if text.contains("edgedns: forward") && text.contains("cache=miss") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("edgedns:")).collect();
    assert!(lines.iter().any(|line| line.contains("edgedns: forward") && line.contains("upstream=http://127.0.0.1:")), "{lines:#?}");
    assert!(!text.contains(name.trim_end_matches('.')), "the name is in the log: {lines:#?}");
    assert!(!lines.iter().any(|line| line.contains("/dns-query")), "an upstream path is in the log: {lines:#?}");
}

#[test]
fn json_api_and_http2_clients_are_forwarded_too() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let exchange = curl(&[&format!("{}/resolve?name=json.upstream.test&type=A", resolver_base())]);
    let json: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    assert_eq!((json["Status"].clone(), json["RA"].clone()), (0.into(), true.into()), "{json}");
    assert_eq!(json["Answer"][0]["data"], "192.0.2.207");
    let h2 = env("EDGEDNS_RESOLVER_H2");
    let (host, port) = h2.rsplit_once(':').unwrap();
    let output =
        Command::new("kdig").args([format!("@{host}").as_str(), "-p", port, "+https", "+timeout=10", "+retry=0", "www.upstream.test", "A"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("www.upstream.test.") && text.contains("127.0.0.1") && text.contains("ra"), "{text}");
}

#[test]
fn status_endpoint_shows_cache_hits_and_upstream_latency() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let _ = ask("www.upstream.test.", RecordType::A, 1);
    let _ = ask("www.upstream.test.", RecordType::A, 2);
    let token = env("EDGEDNS_ADMIN_TOKEN");
    let unauthorized = curl(&[&format!("{}/admin/resolver", resolver_base())]);
    assert_eq!(unauthorized.status, 401);
    let exchange = curl(&["-H", &format!("authorization: Bearer {token}"), &format!("{}/admin/resolver", resolver_base())]);
    let status: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    assert_eq!(status["mode"], "resolver", "{status}");
    let isolate = &status["isolate"];
    assert!(isolate["isolate_hits"].as_u64().unwrap() + isolate["edge_hits"].as_u64().unwrap() >= 1, "{status}");
    let live = &isolate["upstreams"]["http://127.0.0.1:18954/dns-query"];
    assert!(live["answered"].as_u64().unwrap() >= 1 && live["average_ms"].as_f64().is_some(), "{status}");
    assert!(isolate["upstreams"]["http://127.0.0.1:18956/dns-query"]["failed"].as_u64().unwrap() >= 1, "the dead upstream fails: {status}");
    assert!(isolate["upstreams"]["http://127.0.0.1:18957/dns-query"]["answered"].as_u64().unwrap_or(0) == 0, "the hanging one never answers: {status}");
}

/// A page server on 127.0.0.1:18920 for the browser test.
struct PageServer(std::process::Child);

impl Drop for PageServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SHA-256 of the front's public key, base64: what `--ignore-certificate-errors-spki-list`
/// takes, so Chromium trusts the test front's self-signed certificate and nothing else.
fn front_spki() -> String {
    let script =
        format!("openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64", env("EDGEDNS_RESOLVER_CERT"));
    let output = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_browser_using_the_endpoint_as_its_secure_dns_server_loads_pages() {
    let _guard = UPSTREAM.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch("pages");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<html><body><h1 id=marker>served on loopback</h1></body></html>").unwrap();
    let _server = PageServer(
        Command::new("python3")
            .args(["-m", "http.server", "18920", "--bind", "127.0.0.1", "--directory"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..50 {
        if std::net::TcpStream::connect("127.0.0.1:18920").is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Secure DNS with no fallback to the system resolver, through the HTTP/2 front (POSTs,
    // as Chromium sends them), trusting only the front's key.
    let h2 = env("EDGEDNS_RESOLVER_H2");
    let local_state = serde_json::json!({ "dns_over_https": { "mode": "secure", "templates": format!("https://{h2}/dns-query") } }).to_string();
    let flags = [format!("--ignore-certificate-errors-spki-list={}", front_spki())];
    for host in ["www.browser.test", "app.upstream.test", "cdn.browser.test"] {
        let (success, dom, stderr) = chromium(&format!("http://{host}:18920/"), &flags, Some(&local_state));
        assert!(success && dom.contains("served on loopback"), "{host}: the page loads through the DoH endpoint\n{dom}\n{stderr}");
    }
    // A name neither the hosted zones nor the upstream know does not resolve: the browser is
    // not falling back to another resolver.
    let (_, dom, stderr) = chromium("http://nowhere.upstream.test:18920/", &flags, Some(&local_state));
    assert!(!dom.contains("served on loopback") && stderr.contains("ERR_NAME_NOT_RESOLVED"), "{dom}\n{stderr}");
}

/// Publishes firewall lists to the resolver stack's local KV with the CLI; its output and
/// error output (it must succeed).
fn publish_lists(files: &[std::path::PathBuf]) -> (String, String) {
    let output = Command::new(env("EDGEDNS_CLI"))
        .args(["firewall", "publish"])
        .args(files)
        .args(["--local", "--persist-to", &env("EDGEDNS_RESOLVER_STATE")])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    assert!(output.status.success(), "{stderr}");
    (stdout, stderr)
}

/// `/explain` of `name` from the resolver stack.
fn explain(name: &str) -> String {
    let exchange = curl(&["-H", &admin_authorization(), &format!("{}/explain?name={name}", resolver_base())]);
    String::from_utf8_lossy(&exchange.body).into_owned()
}

/// `/explain` of `name` once it holds `loaded` (lists load in the background), asked up to
/// `tries` times a quarter second apart; the last text either way.
fn explain_once_loaded(name: &str, loaded: &str, tries: usize) -> String {
    let mut text = explain(name);
    for _ in 0..tries {
        if text.contains(loaded) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        text = explain(name);
    }
    text
}
