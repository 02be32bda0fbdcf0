//! The health checker within the platform's limits, in a workerd of its own per test (ports
//! 18821-18829) with writable disk KV, triggered by a small worker that calls the Worker's
//! `scheduled` handler through a service binding (as wrangler's `/cdn-cgi/handler/scheduled`
//! does): probes against loopback servers this file starts (a redirect loop, a body that
//! streams forever, one that trickles a byte a second, endpoints that never answer), a late
//! run that must not overlap the next minute, six probes in flight at most, a subrequest
//! budget shared out in turns, the KV writes a run makes, and missing and corrupt health and
//! overrides keys through the admin API and the CLI.
//!
//! `EDGEDNS_WORKER_BUILD` (default `build`) names the built Worker to run, so the same tests
//! run against an older build to show what they catch.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::workerd::{Launch, Workerd};
use super::*;

const TOKEN: &str = "health-limits-token-0123456789";

/// Compiles `zone` (a master file) and `routes` (its routes file) for `limits.test` into
/// `dir/kv`, then starts workerd on `port` with these extra variables.
fn start(name: &str, port: u16, routes: &str, vars: &[(&str, &str)]) -> Workerd {
    let dir = scratch(name);
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(zones.join("limits.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    std::fs::write(zones.join("limits.test.routes.toml"), routes).unwrap();
    let output = Command::new(env("EDGEDNS_CLI")).arg("compile").arg("--kv-dir").arg(dir.join("kv")).arg(&zones).output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let launch = Launch::new(&dir, port).writable().network().scheduler(port).clean_up().var("ADMIN_TOKEN", TOKEN);
    vars.iter().fold(launch, |launch, (name, value)| launch.var(name, value)).start()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

impl Workerd {
    /// Runs the scheduled handler as if scheduled at `scheduled_ms`; returns how long it took.
    fn run_at(&self, scheduled_ms: u64) -> Duration {
        let started = Instant::now();
        let exchange = curl(&["--max-time", "90", &format!("http://127.0.0.1:{}/__scheduled?time={scheduled_ms}", self.port())]);
        assert_eq!(exchange.status, 200, "{} {}", String::from_utf8_lossy(&exchange.body), self.log());
        started.elapsed()
    }

    /// Runs the scheduled handler scheduled now.
    fn run(&self) -> Duration {
        self.run_at(now_ms())
    }

    /// An admin API call: status and JSON body.
    fn admin(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        let authorization = format!("authorization: Bearer {TOKEN}");
        let url = format!("http://127.0.0.1:{}{path}", self.port());
        let mut args = vec!["-X", method, "-H", authorization.as_str()];
        if let Some(body) = body {
            args.extend(["-H", "content-type: application/json", "--data-binary", body]);
        }
        args.push(&url);
        let exchange = curl(&args);
        let json = serde_json::from_slice(&exchange.body).unwrap_or_else(|_| serde_json::json!({ "text": String::from_utf8_lossy(&exchange.body) }));
        (exchange.status, json)
    }

    /// `/admin/health`, which must answer.
    fn status(&self) -> serde_json::Value {
        let (status, report) = self.admin("GET", "/admin/health", None);
        assert_eq!(status, 200, "{report}");
        report
    }

    /// The checker's counts this isolate reports.
    fn counts(&self) -> serde_json::Value {
        self.status()["checker"].clone()
    }

    /// `health:current` as stored (`None`: missing).
    fn stored(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.dir().join("kv").join(key)).ok()
    }

    fn store(&self, key: &str, value: &str) {
        std::fs::write(self.dir().join("kv").join(key), value).unwrap();
    }

    /// The stored measured state of a check.
    fn measured(&self, id: &str) -> serde_json::Value {
        let text = self.stored("health:current").expect("health:current is written");
        let snapshot: serde_json::Value = serde_json::from_str(&text).unwrap();
        snapshot["checks"][id].clone()
    }
}

/// What a loopback endpoint does with each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 200 with this body.
    Page(&'static str),
    /// 302 to the same URL, every time.
    RedirectLoop,
    /// 200, then a chunked body that never ends.
    StreamForever,
    /// 200 with a 1,000-byte body, sent a byte a second.
    Trickle,
    /// Reads the request, never answers.
    Hang,
}

/// What an endpoint saw: each connection's acceptance and the peer's close (if seen), and
/// the request paths.
#[derive(Default)]
struct Seen {
    connections: Vec<(Instant, Option<Instant>)>,
    paths: Vec<String>,
}

/// A loopback HTTP endpoint on an ephemeral port.
struct Endpoint {
    port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Endpoint {
    fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&seen), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let index = {
                            let mut seen = shared.lock().unwrap();
                            seen.connections.push((Instant::now(), None));
                            seen.connections.len() - 1
                        };
                        let (seen, stopping) = (Arc::clone(&shared), Arc::clone(&stopping));
                        std::thread::spawn(move || {
                            serve(stream, behaviour, &seen, &stopping);
                            if let Some(connection) = seen.lock().unwrap().connections.get_mut(index) {
                                connection.1.get_or_insert_with(Instant::now);
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { port, seen, stop, thread: Some(thread) }
    }

    fn connections(&self) -> Vec<(Instant, Option<Instant>)> {
        self.seen.lock().unwrap().connections.clone()
    }

    fn paths(&self) -> Vec<String> {
        self.seen.lock().unwrap().paths.clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether the peer has closed the connection (without blocking).
fn peer_closed(stream: &TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut byte = [0u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Serves one connection until the peer closes it (or the endpoint stops): returns then.
fn serve(mut stream: TcpStream, behaviour: Behaviour, seen: &Mutex<Seen>, stopping: &AtomicBool) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let path = String::from_utf8_lossy(&request).split_whitespace().nth(1).unwrap_or("").to_owned();
    seen.lock().unwrap().paths.push(path.clone());
    let until_closed = |stream: &mut TcpStream, mut tick: Box<dyn FnMut(&mut TcpStream) -> bool>| {
        let started = Instant::now();
        while !stopping.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
            if peer_closed(stream) || !tick(stream) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    match behaviour {
        Behaviour::Page(body) => {
            let response = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(response.as_bytes());
        }
        Behaviour::RedirectLoop => {
            let response = format!("HTTP/1.1 302 Found\r\nlocation: {path}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = stream.write_all(response.as_bytes());
        }
        Behaviour::StreamForever => {
            if stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n").is_err() {
                return;
            }
            let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
            until_closed(&mut stream, Box::new(move |stream| stream.write_all(chunk.as_bytes()).is_ok()));
        }
        Behaviour::Trickle => {
            if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\ncontent-type: text/plain\r\n\r\n").is_err() {
                return;
            }
            let mut last = Instant::now() - Duration::from_secs(1);
            until_closed(
                &mut stream,
                Box::new(move |stream| {
                    if last.elapsed() < Duration::from_secs(1) {
                        return true;
                    }
                    last = Instant::now();
                    stream.write_all(b".").is_ok()
                }),
            );
        }
        Behaviour::Hang => until_closed(&mut stream, Box::new(|_| true)),
    }
}

/// An HTTP check's routes-file section.
fn http_check(id: &str, port: u16, path: &str, extra: &str) -> String {
    format!("[health_checks.{id}]\ntype = \"http\"\nhost = \"127.0.0.1\"\nport = {port}\npath = \"{path}\"\nthreshold = 1\n{extra}\n")
}

#[test]
fn a_redirect_loop_is_a_success_and_is_not_followed() {
    let endpoint = Endpoint::start(Behaviour::RedirectLoop);
    let routes = http_check("looping", endpoint.port, "/loop", "timeout = 5\ninverted = true");
    let workerd = start("limits-redirect", 18821, &routes, &[]);
    workerd.run();
    // Inverted with threshold 1: a success reads as unhealthy, so a 3xx flips it at once.
    let measured = workerd.measured("looping");
    assert_eq!(measured["last_success"], true, "a 3xx is a success: {measured}");
    assert_eq!(endpoint.paths(), vec!["/loop"], "one request per probe: the redirect is not followed");
    workerd.run();
    assert_eq!(endpoint.paths().len(), 2);
}

/// Runs the scheduled handler once with `target` (a body that does not end in time, read
/// for a search string) and `plain` (the same without a search string) probed beside `hold`
/// (an endpoint that never answers, with an 8 s timeout, keeping the run going); returns the
/// run's duration and how long each of the target's connections stayed open.
fn body_outlives_its_probe(name: &str, port: u16, behaviour: Behaviour, latency_ms: std::ops::Range<u64>) {
    let target = Endpoint::start(behaviour);
    let hold = Endpoint::start(Behaviour::Hang);
    let routes = [
        http_check("searched", target.port, "/searched", "timeout = 2\nsearch = \"GREEN\""),
        http_check("plain", target.port, "/plain", "timeout = 2"),
        http_check("hold", hold.port, "/", "timeout = 8"),
    ]
    .concat();
    let workerd = start(name, port, &routes, &[]);
    let took = workerd.run();
    assert!(took >= Duration::from_millis(7_500) && took < Duration::from_secs(12), "the run took {took:?}");
    assert_eq!(workerd.measured("searched")["last_success"], false, "the search string never came in the first 5,120 bytes");
    assert_eq!(workerd.measured("plain")["last_success"], true, "200 in time, no search string: the body is not needed");
    assert!(workerd.measured("searched")["latency_ms"].as_u64().is_some_and(|ms| latency_ms.contains(&ms)), "{}", workerd.measured("searched"));
    // The body is not read on after its probe ends: its connection is closed then, not when
    // the invocation ends (it would hold one of the six connections an invocation has).
    let connections = target.connections();
    assert_eq!(connections.len(), 2);
    for (accepted, closed) in connections {
        let open = closed.map(|closed| closed - accepted);
        assert!(open.is_some_and(|open| open < Duration::from_millis(3_500)), "a connection stayed open {open:?} (the run took {took:?})");
    }
}

#[test]
fn a_body_that_streams_forever_is_cut_at_5120_bytes() {
    // Its first 5,120 bytes come at once and hold no search string: decided then, the rest cut.
    body_outlives_its_probe("limits-stream", 18822, Behaviour::StreamForever, 0..1_900);
}

#[test]
fn a_body_that_trickles_is_cut_by_the_timeout() {
    // A byte a second: the 5,120 bytes never come, the timeout (2 s) decides.
    body_outlives_its_probe("limits-trickle", 18823, Behaviour::Trickle, 1_900..4_000);
}

#[test]
fn a_late_run_defers_what_cannot_finish_before_the_next() {
    let hang = Endpoint::start(Behaviour::Hang);
    let routes = http_check("hang", hang.port, "/", "timeout = 3");
    let workerd = start("limits-late", 18825, &routes, &[]);
    // Scheduled 58.5 s ago: a 3 s probe would end in the next run's minute.
    let took = workerd.run_at(now_ms() - 58_500);
    assert!(took < Duration::from_millis(1_500), "the late run took {took:?}: it overlapped the next");
    assert!(hang.connections().is_empty(), "nothing was probed");
    let counts = workerd.counts();
    assert_eq!((counts["probes"].as_u64(), counts["deferred_late"].as_u64()), (Some(0), Some(1)), "{counts}");
    // The next run, on time, probes it: 3 s.
    let took = workerd.run();
    assert!(took >= Duration::from_millis(2_900), "{took:?}");
    assert_eq!(hang.connections().len(), 1);
    assert_eq!(workerd.measured("hang")["last_success"], false);
}

#[test]
fn at_most_six_probes_are_in_flight() {
    let hang = Endpoint::start(Behaviour::Hang);
    let routes: String = (0..8).map(|n| http_check(&format!("hang{n}"), hang.port, &format!("/{n}"), "timeout = 2")).collect();
    let workerd = start("limits-connections", 18826, &routes, &[]);
    let took = workerd.run();
    let mut accepted: Vec<Instant> = hang.connections().iter().map(|(accepted, _)| *accepted).collect();
    accepted.sort();
    assert_eq!(accepted.len(), 8);
    // Six start at once; the seventh and eighth wait for the first to time out (2 s).
    let waited = accepted[6] - accepted[0];
    assert!(waited >= Duration::from_millis(1_800), "the seventh probe started {waited:?} after the first");
    assert!(accepted[5] - accepted[0] < Duration::from_millis(1_000));
    assert!(took >= Duration::from_millis(3_800) && took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn a_subrequest_budget_is_shared_out_in_turns_and_unchanged_rounds_are_not_written() {
    let page = Endpoint::start(Behaviour::Page("ok"));
    let routes: String = (0..10).map(|n| http_check(&format!("c{n}"), page.port, &format!("/c{n}"), "timeout = 2")).collect();
    // 10 subrequests: 3 KV reads and a write set aside, 6 probes a run.
    let workerd = start("limits-budget", 18827, &routes, &[("SUBREQUEST_LIMIT", "10")]);
    workerd.run();
    let mut first: Vec<String> = page.paths();
    first.sort();
    assert_eq!(first, ["/c0", "/c1", "/c2", "/c3", "/c4", "/c5"].map(str::to_owned).to_vec(), "the first six by id");
    let counts = workerd.counts();
    assert_eq!((counts["probes"].as_u64(), counts["deferred_over_budget"].as_u64(), counts["kv_writes"].as_u64()), (Some(6), Some(4), Some(1)), "{counts}");
    let written = workerd.stored("health:current").unwrap();
    assert!(written.contains("\"heartbeat_s\":300"), "{written}");
    // The next run: the four deferred first, then the two probed longest ago. Nothing
    // changed state, so nothing is written.
    workerd.run();
    let mut second: Vec<String> = page.paths()[6..].to_vec();
    second.sort();
    assert_eq!(second, ["/c0", "/c1", "/c6", "/c7", "/c8", "/c9"].map(str::to_owned).to_vec());
    let counts = workerd.counts();
    assert_eq!((counts["runs"].as_u64(), counts["kv_writes"].as_u64(), counts["writes_skipped"].as_u64()), (Some(2), Some(1), Some(1)), "{counts}");
    assert_eq!(workerd.stored("health:current").unwrap(), written, "health:current is not rewritten");
    // A state change is written at once.
    drop(page);
    workerd.run();
    let counts = workerd.counts();
    assert_eq!((counts["kv_writes"].as_u64(), counts["last_write"].as_str()), (Some(2), Some("state_changed")), "{counts}");
}

#[test]
fn missing_and_corrupt_keys_never_lock_the_operator_out() {
    let page = Endpoint::start(Behaviour::Page("ok"));
    let routes = http_check("web", page.port, "/", "timeout = 2");
    let workerd = start("limits-keys", 18824, &routes, &[]);
    // Missing keys: no data, no problem.
    assert_eq!(workerd.stored("health:current"), None);
    let report = workerd.status();
    assert_eq!((report["updated_at"].clone(), report["problems"].clone()), (serde_json::Value::Null, serde_json::Value::Null), "{report}");
    workerd.run();
    assert_eq!(workerd.measured("web")["last_success"], true);

    // A corrupt overrides key: the status says so, the checker keeps running, and a PUT or a
    // DELETE replaces it.
    workerd.store("health:overrides", "{\"web\": {\"healthy\": \"maybe\"");
    let report = workerd.status();
    let problems = report["problems"].to_string();
    assert!(problems.contains("health:overrides is unreadable"), "{report}");
    let (status, overrides) = workerd.admin("GET", "/admin/isolate", None);
    assert_eq!(status, 200, "other admin endpoints answer: {overrides}");
    workerd.run();
    let (status, overrides) = workerd.admin("PUT", "/admin/health/overrides/web", Some(r#"{"healthy": false, "reason": "repair"}"#));
    assert_eq!(status, 200, "{overrides}");
    assert_eq!(overrides["web"]["reason"], "repair");
    let stored: serde_json::Value = serde_json::from_str(&workerd.stored("health:overrides").unwrap()).unwrap();
    assert_eq!(stored["web"]["healthy"], false);
    workerd.store("health:overrides", "[1, 2");
    let (status, overrides) = workerd.admin("DELETE", "/admin/health/overrides/web", None);
    assert_eq!((status, overrides), (200, serde_json::json!({})), "clearing a corrupt key replaces it");
    assert_eq!(workerd.stored("health:overrides").as_deref(), Some("{}"));
    assert!(workerd.status()["problems"].is_null());

    // A corrupt health:current: shown, replaced by an override change (no data, with the
    // overrides) and by the checker's next run.
    workerd.store("health:current", "not json");
    let report = workerd.status();
    assert!(report["problems"].to_string().contains("health:current is unreadable"), "{report}");
    let (status, _) = workerd.admin("PUT", "/admin/health/overrides/web", Some(r#"{"healthy": true}"#));
    assert_eq!(status, 200);
    let current: serde_json::Value = serde_json::from_str(&workerd.stored("health:current").unwrap()).expect("replaced with JSON");
    assert_eq!(current["overrides"]["web"]["healthy"], true);
    workerd.store("health:current", "{\"updated_at\": \"yesterday\"}");
    workerd.run();
    assert_eq!(workerd.measured("web")["last_success"], true, "the run rewrote it");
    assert_eq!(workerd.counts()["last_write"], "unwritten");
}

/// The CLI against wrangler's local KV: a corrupt key is shown by `health status` and
/// replaced by `health override` and `health clear`.
#[test]
fn the_cli_repairs_corrupt_keys() {
    let dir = scratch("limits-cli");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(zones.join("limits.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    std::fs::write(zones.join("limits.test.routes.toml"), http_check("web", 9, "/", "")).unwrap();
    let state = dir.join("state");
    let cli = |args: &[&str]| {
        let output =
            Command::new(env("EDGEDNS_CLI")).args(args).args(["--local", "--persist-to"]).arg(&state).env("WRANGLER_SEND_METRICS", "false").output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    };
    let put = |key: &str, value: &str| {
        let output = Command::new("node_modules/.bin/wrangler")
            .args(["kv", "key", "put", "--local", "--binding", "ZONES", "--persist-to"])
            .arg(&state)
            .args([key, value])
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    let (ok, text) = cli(&["publish", zones.to_str().unwrap()]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["health", "status"]);
    assert!(ok && text.contains("no health snapshot written yet"), "missing keys: {text}");

    put("health:overrides", "{\"web\": ");
    put("health:current", "[]");
    let (ok, text) = cli(&["health", "status"]);
    assert!(ok, "{text}");
    assert!(text.contains("problem: health:current is unreadable") && text.contains("problem: health:overrides is unreadable"), "{text}");
    let (ok, text) = cli(&["health", "clear", "web"]);
    assert!(ok, "{text}");
    assert!(text.contains("replacing it: health:overrides is unreadable"), "{text}");
    let (ok, text) = cli(&["health", "override", "web", "down", "--reason", "repair"]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["health", "status"]);
    assert!(ok, "{text}");
    assert!(!text.contains("problem:"), "both keys are readable again: {text}");
    assert!(text.lines().any(|line| line.starts_with("web ") && line.contains("forced down: repair")), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
