//! Health checks run by the Worker (the scheduled handler, triggered as a Cron Trigger would),
//! against servers this test controls on 127.0.0.1, and the admin API that shows and
//! overrides them. Zone: tests/zones/health.test.{zone,routes.toml}.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::routing::{addresses, answers_within, ask, run_health_checks, set_health, HEALTH};
use super::*;

/// What a controlled server does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 200 with this body.
    Page(&'static str),
    /// This status, empty body.
    Status(u16),
    /// Accept, read, never answer (until the server stops).
    Hang,
}

/// A loopback HTTP server whose behaviour the test changes while it runs.
struct Server {
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(port: u16, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let behaviour = Arc::new(Mutex::new(behaviour));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&behaviour), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let behaviour = *shared.lock().unwrap();
                        let stopping = Arc::clone(&stopping);
                        std::thread::spawn(move || serve(stream, behaviour, &stopping));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self { behaviour, stop, thread: Some(thread) }
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, stopping: &AtomicBool) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let (status, body) = match behaviour {
        Behaviour::Page(body) => (200, body),
        Behaviour::Status(status) => (status, ""),
        Behaviour::Hang => {
            let until = Instant::now() + Duration::from_secs(15);
            while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return;
        }
    };
    let response = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(response.as_bytes());
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn tally(name: &str, draws: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..draws {
        *counts.entry(addresses(&ask(name, None, None).1).join(",")).or_insert(0) += 1;
    }
    counts
}

/// Runs the checks and says how long the run took.
fn timed_run() -> Duration {
    let started = Instant::now();
    run_health_checks();
    started.elapsed()
}

#[test]
fn check_kinds_search_inverted_calculated_and_failures() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let search = Server::start(18912, Behaviour::Page("<html>status: GREEN</html>"));
    let inverted = Server::start(18913, Behaviour::Page("up"));
    let _error = Server::start(18914, Behaviour::Status(500));
    let _hang = Server::start(18915, Behaviour::Hang);
    // Nothing listens on 18916.

    // One run: 500, hang and refused are unhealthy at once (threshold 1), and the hanging
    // endpoint costs its 2 s timeout, not more: every probe runs concurrently.
    let took = timed_run();
    assert!(took < Duration::from_secs(12), "the run took {took:?}: a slow endpoint stalled it");
    assert!(answers_within("inverted.health.test.", "192.0.2.62"), "inverted: a server that answers is unhealthy");
    assert_eq!(addresses(&ask("multi.health.test.", None, None).1), vec!["192.0.2.31"], "500, hang and refused are dropped");
    let weighted = tally("weighted.health.test.", 20);
    assert_eq!(weighted.keys().collect::<Vec<_>>(), vec!["192.0.2.21"], "the failing half of a 50/50 split never answers: {weighted:?}");
    assert_eq!(addresses(&ask("search.health.test.", None, None).1), vec!["192.0.2.51"]);
    assert_eq!(addresses(&ask("calculated.health.test.", None, None).1), vec!["192.0.2.41"], "either: search is up");

    // The page loses its search string: one run is below the threshold (2), two flip it.
    search.set(Behaviour::Page("<html>status: RED</html>"));
    run_health_checks();
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(addresses(&ask("search.health.test.", None, None).1), vec!["192.0.2.51"], "one miss does not flip");
    run_health_checks();
    assert!(answers_within("search.health.test.", "192.0.2.52"), "two misses: the secondary");
    assert!(answers_within("calculated.health.test.", "192.0.2.42"), "either: both children are down");

    // The inverted check's server goes away: now it is healthy, and so is the calculated OR.
    drop(inverted);
    run_health_checks();
    assert!(answers_within("inverted.health.test.", "192.0.2.61"));
    assert!(answers_within("calculated.health.test.", "192.0.2.41"));

    // The string comes back: two runs bring the primary back.
    search.set(Behaviour::Page("status: GREEN"));
    run_health_checks();
    run_health_checks();
    assert!(answers_within("search.health.test.", "192.0.2.51"));
    set_health(&[]);
}

#[test]
fn one_scheduled_run_probes_fast_checks_several_times() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    set_health(&[]);
    let server = Server::start(18917, Behaviour::Page("status: GREEN"));
    // A run scheduled 35 s ago: it has rounds left at 30 s (now), 40 s and 50 s of its minute;
    // the 10 s check `fast` (threshold 2) runs in each of them.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let url = format!("{}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*&time={}", http_base(), now - 35_000);
    let started = Instant::now();
    let run = std::thread::spawn(move || curl(&["--max-time", "90", &url]));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(addresses(&ask("fast.health.test.", None, None).1), vec!["192.0.2.71"]);
    drop(server);
    let stopped = Instant::now();
    // Rounds at 40 s and 50 s fail: the answer changes within this one run.
    let mut flipped = None;
    while stopped.elapsed() < Duration::from_secs(40) {
        if addresses(&ask("fast.health.test.", None, None).1) == vec!["192.0.2.72".to_owned()] {
            flipped = Some(stopped.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let exchange = run.join().unwrap();
    assert_eq!(exchange.status, 200);
    let flipped = flipped.expect("the answer changed after two failed rounds of one scheduled run");
    eprintln!("fast check: endpoint stopped -> answers changed in {flipped:?} (run took {:?})", started.elapsed());
    set_health(&[]);
}

/// An admin API call through curl: the status and the JSON body.
pub(super) fn admin(method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", http_base());
    let authorization = token.map(|token| format!("authorization: Bearer {token}"));
    let mut args = vec!["-X", method];
    if let Some(header) = &authorization {
        args.extend(["-H", header.as_str()]);
    }
    if let Some(body) = body {
        args.extend(["-H", "content-type: application/json", "--data-binary", body]);
    }
    args.push(&url);
    let exchange = curl(&args);
    assert_eq!(exchange.header("access-control-allow-origin"), None, "the admin API is not open to other origins");
    let json = serde_json::from_slice(&exchange.body).unwrap_or_else(|_| panic!("JSON from {path}: {}", String::from_utf8_lossy(&exchange.body)));
    (exchange.status, json)
}

#[test]
fn admin_api_lists_checks_and_overrides_them() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    let token = env("EDGEDNS_ADMIN_TOKEN");
    // Without the right token: 401 and nothing else, whatever the path.
    for (method, path, presented) in [
        ("GET", "/admin/health", None),
        ("GET", "/admin/health", Some("wrong-token-0123456789")),
        ("GET", "/admin/no-such-endpoint", None),
        ("PUT", "/admin/health/overrides/search", Some(&token[..token.len() - 1])),
    ] {
        let (status, json) = admin(method, path, presented, Some(r#"{"healthy": false}"#));
        assert_eq!((status, json), (401, serde_json::json!({"error": "unauthorized"})), "{method} {path} {presented:?}");
    }

    set_health(&[]);
    let _search = Server::start(18912, Behaviour::Page("status: GREEN"));
    run_health_checks();
    let (status, report) = admin("GET", "/admin/health", Some(&token), None);
    assert_eq!(status, 200);
    assert!(report["updated_at"].as_u64().is_some() && report["stale"] == false, "{report}");
    let checks = report["checks"].as_array().unwrap();
    let search = checks.iter().find(|check| check["id"] == "search").expect("every check is listed");
    assert_eq!(search["target"], "http://127.0.0.1:18912/status");
    assert_eq!(search["healthy"], true);
    assert_eq!(search["measured"]["last_success"], true);
    assert!(search["measured"]["latency_ms"].as_u64().is_some(), "{search}");
    let refused = checks.iter().find(|check| check["id"] == "refused").unwrap();
    assert_eq!((refused["healthy"].clone(), refused["measured"]["last_success"].clone()), (false.into(), false.into()));

    // Force a check down, and a single value up: answers follow at once (this isolate) or
    // after the next refresh (others).
    let (status, overrides) = admin("PUT", "/admin/health/overrides/search", Some(&token), Some(r#"{"healthy": false, "reason": "maintenance"}"#));
    assert_eq!(status, 200, "{overrides}");
    assert_eq!(overrides["search"]["reason"], "maintenance");
    assert!(answers_within("search.health.test.", "192.0.2.52"), "forced down");
    let (status, _) = admin("PUT", "/admin/health/overrides/value:192.0.2.32", Some(&token), Some(r#"{"healthy": true}"#));
    assert_eq!(status, 200);
    let mut multi = Vec::new();
    for _ in 0..20 {
        multi = addresses(&ask("multi.health.test.", None, None).1);
        if multi.contains(&"192.0.2.32".to_owned()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(multi.contains(&"192.0.2.32".to_owned()), "the value forced up answers despite its 500s: {multi:?}");
    let (_, report) = admin("GET", "/admin/health", Some(&token), None);
    let search = report["checks"].as_array().unwrap().iter().find(|check| check["id"] == "search").unwrap().clone();
    assert_eq!((search["healthy"].clone(), search["override"]["reason"].clone()), (false.into(), "maintenance".into()));
    assert_eq!(report["other_overrides"]["value:192.0.2.32"]["healthy"], true);

    // The CLI reads the same state from KV.
    let listing = Command::new(env("EDGEDNS_CLI")).args(["health", "status", "--local", "--persist-to", &env("EDGEDNS_STATE")]).output().unwrap();
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    assert!(text.lines().any(|line| line.starts_with("search ") && line.contains("DOWN") && line.contains("forced down: maintenance")), "{text}");

    // Bad requests say why and change nothing.
    let (status, json) = admin("PUT", "/admin/health/overrides/search", Some(&token), Some(r#"{"healthy": "no"}"#));
    assert_eq!(status, 400);
    assert!(json["error"].as_str().unwrap().contains("override body"), "{json}");
    let (status, json) = admin("PUT", "/admin/health/overrides/no-such-check", Some(&token), Some(r#"{"healthy": false}"#));
    assert_eq!(status, 404, "{json}");

    // Cleared: the measured state answers again.
    for target in ["search", "value:192.0.2.32"] {
        let (status, _) = admin("DELETE", &format!("/admin/health/overrides/{target}"), Some(&token), None);
        assert_eq!(status, 200);
    }
    assert!(answers_within("search.health.test.", "192.0.2.51"), "override cleared");
    assert!(!addresses(&ask("multi.health.test.", None, None).1).contains(&"192.0.2.32".to_owned()));
    set_health(&[]);
}
