//! Firewall subscriptions in the real runtime (issue 17): the built Worker in a workerd of its
//! own (ports 18875-18877) subscribed to a list served by a loopback HTTP server the test
//! scripts, its scheduled handler run as a Cron Trigger would at the times the test names.
//! The list is fetched and blocks; it is not fetched again before its refresh interval; then
//! asked for with `If-None-Match` and answered 304 (nothing written); changed and published
//! anew; a web page, a 500 and a download that never finishes within its timeout each keep
//! the last good list, say why in `/admin/firewall/subscriptions` and retry sooner; and the
//! version two back is deleted from KV. No redeploy, no CLI.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::workerd::{Launch, Workerd};
use super::*;

const PORT: u16 = 18875;
const PORT_SCHEDULER: u16 = 18876;
const PORT_LISTS: u16 = 18877;
const TOKEN: &str = "subscriptions-e2e-token-0123456789";

/// What the list server answers now.
#[derive(Clone)]
enum Script {
    /// 200 with this list and ETag; 304 to a request with that ETag in `If-None-Match`.
    List { body: &'static str, etag: &'static str },
    /// 200, `text/html`.
    Page,
    /// This status.
    Status(u16),
    /// Nothing for this long (past the subscription's timeout), then the list.
    Stall(Duration),
}

/// The list server's script and what it was asked (each request's head, lower case).
struct Lists {
    script: Mutex<Script>,
    asked: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Lists {
    fn start(script: Script) -> Arc<Self> {
        let lists = Arc::new(Self { script: Mutex::new(script), asked: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let listener = TcpListener::bind(("127.0.0.1", PORT_LISTS)).unwrap_or_else(|e| panic!("port {PORT_LISTS}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let serving = Arc::clone(&lists);
        std::thread::spawn(move || {
            while !serving.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let serving = Arc::clone(&serving);
                        std::thread::spawn(move || serving.serve(stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        lists
    }

    fn set(&self, script: Script) {
        *self.script.lock().unwrap() = script;
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    fn serve(&self, mut stream: TcpStream) {
        let Some(request) = super::loopback::read_request(&mut stream) else { return };
        let head = request.head;
        self.asked.lock().unwrap().push(head.clone());
        let script = self.script.lock().unwrap().clone();
        let reply = |status: &str, content_type: &str, extra: &str, body: &[u8]| {
            let head = format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n", body.len());
            [head.as_bytes(), body].concat()
        };
        let bytes = match script {
            Script::List { etag, .. } if head.contains(&format!("if-none-match: {etag}")) => {
                reply("304 Not Modified", "text/plain", &format!("etag: {etag}\r\n"), b"")
            }
            Script::List { body, etag } => reply("200 OK", "text/plain", &format!("etag: {etag}\r\n"), body.as_bytes()),
            Script::Page => reply("200 OK", "text/html; charset=utf-8", "", b"<!DOCTYPE html><title>Down for maintenance</title>"),
            Script::Status(status) => reply(&format!("{status} Oops"), "text/plain", "", b"oops"),
            Script::Stall(wait) => {
                std::thread::sleep(wait);
                reply("200 OK", "text/plain", "", b"||late.example^\n")
            }
        };
        let _ = stream.write_all(&bytes);
    }
}

impl Drop for Lists {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ask(name: &str) -> Message {
    curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes(name, RecordType::A, false), &[]).message()
}

fn blocked(name: &str) -> bool {
    ask(name).metadata.response_code == ResponseCode::NXDomain
}

fn report() -> serde_json::Value {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT}/admin/firewall/subscriptions")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    let report: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    report["subscriptions"][0].clone()
}

/// Runs the scheduled handler as scheduled `at` (Unix ms).
fn run_at(workerd: &Workerd, at: u64) {
    let run = curl(&["--max-time", "30", &format!("http://127.0.0.1:{PORT_SCHEDULER}/__scheduled?time={at}")]);
    assert_eq!(run.status, 200, "{} {}", String::from_utf8_lossy(&run.body), workerd.log());
}

#[test]
fn a_subscribed_list_is_fetched_conditionally_published_when_it_changes_and_kept_through_bad_downloads() {
    let dir = scratch("subscriptions");
    std::fs::create_dir_all(&dir).unwrap();
    // One zone without health checks: the scheduled run's health part has nothing to probe.
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(zones.join("subscriptions.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg(&zones).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lists = Lists::start(Script::List { body: "! ads\n||ads.example^\n", etag: "\"v1\"" });
    let subscriptions = format!(r#"{{"ads.txt": {{"url": "http://127.0.0.1:{PORT_LISTS}/ads.txt", "refresh_seconds": 600, "timeout_seconds": 2}}}}"#);
    // The upstream is the list server: nothing here is forwarded but names not blocked, whose
    // answers this test does not read.
    let upstreams = format!("UPSTREAMS=http://127.0.0.1:{PORT_LISTS}/dns-query");
    let workerd = Launch::new(&dir, PORT)
        .writable()
        .network()
        .scheduler(PORT_SCHEDULER)
        .var("ADMIN_TOKEN", TOKEN)
        .var("SUBSCRIPTIONS", &subscriptions)
        .vars([upstreams.as_str(), "UPSTREAM_TIMEOUT_MS=500"])
        .start();
    assert!(!blocked("www.ads.example."), "nothing is subscribed before the first run");
    assert!(report()["status"].is_null());
    let t0 = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let minute = 60_000;

    // The first run fetches the list unconditionally, publishes it, and this isolate blocks.
    run_at(&workerd, t0);
    let asked = lists.asked();
    let fetches: Vec<&String> = asked.iter().filter(|head| head.starts_with("get /ads.txt")).collect();
    assert_eq!(fetches.len(), 1, "{asked:?}");
    assert!(!fetches[0].contains("if-none-match"), "{}", fetches[0]);
    assert!(blocked("www.ads.example."), "{}", workerd.log());
    let first = report();
    let v1 = first["status"]["version"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
    assert_eq!((first["status"]["rules"].as_u64(), first["status"]["format"].as_str(), first["held"].as_str()), (Some(1), Some("adblock"), Some(v1.as_str())));
    assert!(dir.join(format!("kv/firewall:{v1}")).exists());
    let explained = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT}/explain?name=www.ads.example")]);
    let explained = String::from_utf8_lossy(&explained.body);
    assert!(explained.contains("rule block ||ads.example^ (ads.txt line 2) matched"), "{explained}");

    // Before its refresh interval, no request.
    run_at(&workerd, t0 + 5 * minute);
    assert_eq!(lists.asked().len(), asked.len(), "not fetched before its refresh interval");

    // Then asked with If-None-Match: 304, nothing published.
    run_at(&workerd, t0 + 10 * minute);
    let conditional = lists.asked().last().cloned().unwrap();
    assert!(conditional.contains("if-none-match: \"v1\""), "{conditional}");
    let fresh = report();
    assert_eq!(fresh["status"]["version"].as_str(), Some(v1.as_str()));
    assert_eq!(fresh["status"]["fresh_at"].as_u64(), Some((t0 + 10 * minute) / 1000), "{fresh}");
    assert_eq!(fresh["status"]["changed_at"].as_u64(), Some(t0 / 1000));

    // The list changes: published anew, and blocks what it adds.
    lists.set(Script::List { body: "||ads.example^\n||tracker.example^\n", etag: "\"v2\"" });
    assert!(!blocked("x.tracker.example."));
    run_at(&workerd, t0 + 20 * minute);
    assert!(blocked("x.tracker.example.") && blocked("www.ads.example."), "{}", workerd.log());
    let changed = report();
    let v2 = changed["status"]["version"].as_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    assert_eq!(changed["status"]["previous_version"].as_str(), Some(v1.as_str()), "{changed}");
    assert!(dir.join(format!("kv/firewall:{v1}")).exists(), "the version before stays for isolates still on it");

    // Bad downloads keep the last good list, say why, and are retried a minute, then two later.
    let mut at = t0 + 30 * minute;
    for (script, why, failures) in [
        (Script::Page, "the download is a web page, not a list", 1),
        (Script::Status(500), "HTTP status 500", 2),
        (Script::Stall(Duration::from_secs(5)), "no whole download within 2 s", 3),
    ] {
        lists.set(script);
        let before = lists.asked().len();
        run_at(&workerd, at);
        assert_eq!(lists.asked().len(), before + 1, "fetched once at {at}");
        let failed = report();
        assert_eq!(failed["status"]["error"].as_str(), Some(why), "{failed}");
        assert_eq!(failed["status"]["failures"].as_u64(), Some(failures), "{failed}");
        assert_eq!(failed["status"]["version"].as_str(), Some(v2.as_str()), "the last good list serves");
        assert!(blocked("x.tracker.example."), "still blocked after: {why}");
        assert!(workerd.log().contains(&format!("subscription ads.txt: {why}; {v2} keeps serving")), "{}", workerd.log());
        let retry = 60_000u64 << (failures - 1);
        assert_eq!(failed["next_check_at"].as_u64(), Some((at + retry) / 1000), "{failed}");
        run_at(&workerd, at + retry - 1_000);
        assert_eq!(lists.asked().len(), before + 1, "no retry before {retry} ms");
        at += retry;
    }

    // A good list again clears the error, replaces the rules, and the version two back goes.
    lists.set(Script::List { body: "||other.example^\n", etag: "\"v3\"" });
    run_at(&workerd, at);
    let recovered = report();
    assert_eq!((recovered["status"]["error"].is_null(), recovered["status"]["failures"].as_u64()), (true, Some(0)), "{recovered}");
    assert!(blocked("www.other.example.") && !blocked("x.tracker.example."), "{}", workerd.log());
    assert!(!dir.join(format!("kv/firewall:{v1}")).exists(), "the version two back was deleted");
    assert!(dir.join(format!("kv/firewall:{v2}")).exists());
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}
