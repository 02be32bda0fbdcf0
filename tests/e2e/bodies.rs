//! Bodies are bounded before they are buffered (issue 12, item 3), in the real runtime: the
//! built Worker in fresh workerds of its own (ports 18801-18807), driven by a raw HTTP/1.1
//! client that sends the headers and part of a chunked body and never finishes it. Each
//! request that takes a body gets its 413 as soon as its cap is passed; every other request
//! gets its answer without its body being read; concurrent 8 MiB bodies leave the isolate's
//! wasm memory where it was (`/admin/isolate` `memory_bytes`); an upstream's endless answer
//! and a probe's endless page are cut at their caps; an oversized firewall list is refused by
//! the CLI and skipped by the Worker.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::MessageType;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

use super::workerd::{Launch, Workerd};
use super::*;

/// Requests and their caps.
const PORT_PATHS: u16 = 18801;
/// Concurrent large bodies and the isolate's memory.
const PORT_MEMORY: u16 = 18802;
/// Resolver mode, with the upstream below.
const PORT_RESOLVER: u16 = 18803;
const PORT_UPSTREAM: u16 = 18804;
/// Health probes: the Worker, the front that runs its scheduled handler, the probed server.
const PORT_HEALTH: u16 = 18805;
const PORT_HEALTH_SCHEDULER: u16 = 18806;
const PORT_PROBED: u16 = 18807;
const TOKEN: &str = "bodies-e2e-token-0123456789";
/// How long a response may take once the cap is passed (the old code waited for the whole
/// body: for these never-finished bodies, forever).
const PROMPT: Duration = Duration::from_secs(5);

/// Compiles `sources` into `dir/kv`, the keys a publish writes.
fn compile_into(dir: &Path, sources: &[&Path]) {
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).args(sources).output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A fresh workerd on `port` serving `dir/kv` (writable: the health run writes to it), with
/// the admin token and `vars` (`NAME=VALUE`), allowed to fetch from loopback (the test's
/// upstream and probed servers); with `scheduler`, a second socket whose `/__scheduled` runs
/// the Worker's scheduled handler, as a Cron Trigger would.
fn start(dir: &Path, port: u16, scheduler: Option<u16>, vars: &[&str]) -> Workerd {
    let launch = Launch::new(dir, port).writable().network().var("ADMIN_TOKEN", TOKEN).vars(vars.iter().copied());
    match scheduler {
        Some(front) => launch.scheduler(front),
        None => launch,
    }
    .start()
}

/// What a raw request got back.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// From the end of the headers to the status line's arrival.
    after: Duration,
}

/// Sends `head` (request line and headers, with `transfer-encoding: chunked` added), then
/// `chunks` chunks of `chunk` bytes (stopping when the server stops taking them), and, if
/// `finish`, the last chunk; then reads the response. `None`: none within `wait`. A
/// response that arrives while the body is still being sent is read all the same.
fn chunked(port: u16, head: &str, chunk: usize, chunks: usize, finish: bool, wait: Duration) -> Option<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    stream.write_all(format!("{head}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
    let sent = Instant::now();
    let filler = vec![b'x'; chunk];
    let framed: Vec<u8> = [format!("{chunk:x}\r\n").as_bytes(), &filler, b"\r\n"].concat();
    let mut complete = true;
    for _ in 0..chunks {
        if stream.write_all(&framed).is_err() {
            complete = false;
            break;
        }
    }
    if finish && complete {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    read_reply(&mut stream, sent, wait)
}

fn read_reply(stream: &mut TcpStream, sent: Instant, wait: Duration) -> Option<Reply> {
    let deadline = Instant::now() + wait;
    let mut received = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let mut after = None;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                after.get_or_insert_with(|| sent.elapsed());
                received.extend_from_slice(&buffer[..n]);
            }
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if received.is_empty() {
                    return None;
                }
                break;
            }
            // Reset after the response (the server closed with our body unread).
            Err(_) => break,
        }
    }
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(received.len());
    let headers = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
    let status = headers.split(' ').nth(1)?.parse().ok()?;
    let body = received.get(end + 4..).unwrap_or_default();
    let body = if headers.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    Some(Reply { status, body, after: after? })
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..end]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 || bytes.len() < end + 2 + size {
            break;
        }
        body.extend_from_slice(&bytes[end + 2..end + 2 + size]);
        bytes = &bytes[(end + 4 + size).min(bytes.len())..];
    }
    body
}

fn isolate(port: u16) -> serde_json::Value {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{port}/admin/isolate")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    serde_json::from_slice(&exchange.body).unwrap()
}

fn ask_on(port: u16, name: &str, record_type: RecordType) -> Message {
    curl_post(&format!("http://127.0.0.1:{port}/dns-query"), &query_bytes(name, record_type, false), &[]).message()
}

#[test]
fn bodies_are_refused_at_their_cap_and_other_requests_never_read_theirs() {
    let dir = scratch("bodies-paths");
    std::fs::create_dir_all(&dir).unwrap();
    compile_into(&dir, &[Path::new("zones")]);
    let workerd = start(&dir, PORT_PATHS, None, &[]);
    assert_eq!(answers(&ask_on(PORT_PATHS, "www.example.com.", RecordType::A)), ["www.example.com. 300 A 192.0.2.10"]);

    let doh = "POST /dns-query HTTP/1.1\r\nhost: bodies.test\r\ncontent-type: application/dns-message";
    let admin = |method: &str, path: &str, token: bool| {
        let authorization = if token { format!("\r\nauthorization: Bearer {TOKEN}") } else { String::new() };
        format!("{method} {path} HTTP/1.1\r\nhost: bodies.test\r\ncontent-type: application/json{authorization}")
    };
    // (what, request head, chunks of 16 KiB sent before stalling, the status expected)
    let cases = [
        ("a DoH POST past 65,535 bytes", doh.to_owned(), 8, 413),
        ("a DoH POST with a view token past 65,535 bytes", doh.replace("/dns-query", "/dns-query/some-token"), 8, 413),
        ("a POST to the page", "POST / HTTP/1.1\r\nhost: bodies.test".to_owned(), 8, 404),
        ("a POST to no path we serve", "POST /nowhere HTTP/1.1\r\nhost: bodies.test".to_owned(), 8, 404),
        ("a POST to the JSON API", "POST /resolve HTTP/1.1\r\nhost: bodies.test".to_owned(), 8, 405),
        ("a GET with a body", "GET /dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB HTTP/1.1\r\nhost: bodies.test".to_owned(), 8, 200),
        ("a zone upload past 5 MiB", admin("PUT", "/admin/zones/bodies.test", true), 5 * 64 + 8, 413),
        ("a rollback body past 64 KiB", admin("POST", "/admin/rollback", true), 8, 413),
        ("an admin body without the token", admin("PUT", "/admin/zones/bodies.test", false), 8, 401),
    ];
    for (what, head, chunks, expected) in cases {
        let reply = chunked(PORT_PATHS, &head, 16 * 1024, chunks, false, PROMPT).unwrap_or_else(|| panic!("{what}: no response while the body was unfinished"));
        assert_eq!(reply.status, expected, "{what}: {}", String::from_utf8_lossy(&reply.body));
        assert!(reply.after < PROMPT, "{what}: {:?}", reply.after);
    }
    // Unauthorized admin requests say nothing else.
    let reply = chunked(PORT_PATHS, &admin("PUT", "/admin/zones/bodies.test", false), 16 * 1024, 400, false, PROMPT).unwrap();
    assert_eq!((reply.status, serde_json::from_slice::<serde_json::Value>(&reply.body).ok()), (401, Some(serde_json::json!({"error": "unauthorized"}))));

    // `Content-Length` alone: over the cap is 413 at once where a body is read, and means
    // nothing where none is.
    let declared = |head: &str| {
        let mut stream = TcpStream::connect(("127.0.0.1", PORT_PATHS)).unwrap();
        stream.write_all(format!("{head}\r\ncontent-length: 8388608\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
        read_reply(&mut stream, Instant::now(), PROMPT).map(|reply| reply.status)
    };
    assert_eq!(declared(doh), Some(413));
    assert_eq!(declared("POST /nowhere HTTP/1.1\r\nhost: bodies.test"), Some(404));
    assert_eq!(declared(&admin("PUT", "/admin/health/overrides/x", true)), Some(413));

    // Within the caps, bodies still read whole: a DoH POST sent in small chunks.
    let query = query_bytes("www.example.com.", RecordType::A, false);
    let mut stream = TcpStream::connect(("127.0.0.1", PORT_PATHS)).unwrap();
    stream.write_all(format!("{doh}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").as_bytes()).unwrap();
    for piece in query.chunks(7) {
        stream.write_all(&[format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat()).unwrap();
        stream.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let reply = read_reply(&mut stream, Instant::now(), PROMPT).expect("an answer");
    assert_eq!(reply.status, 200);
    assert_eq!(answers(&Message::from_vec(&reply.body).unwrap()), ["www.example.com. 300 A 192.0.2.10"]);
    // And one of exactly 65,535 bytes is read (and is not a DNS message: 400, not 413).
    let reply = chunked(PORT_PATHS, doh, 65_535, 1, true, PROMPT).expect("an answer");
    assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(&reply.body));
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_large_bodies_leave_the_isolate_memory_where_it_was() {
    let dir = scratch("bodies-memory");
    std::fs::create_dir_all(&dir).unwrap();
    compile_into(&dir, &[Path::new("zones")]);
    let workerd = start(&dir, PORT_MEMORY, None, &[]);
    assert_eq!(answers(&ask_on(PORT_MEMORY, "www.example.com.", RecordType::A)), ["www.example.com. 300 A 192.0.2.10"]);
    let before = isolate(PORT_MEMORY)["memory_bytes"].as_u64().expect("/admin/isolate says the wasm memory size");
    assert!(before > 0);

    // 20 at once, 8 MiB each (sent until the server stops taking them): DoH POSTs (413) and
    // POSTs to the page (404).
    let started = Instant::now();
    let senders: Vec<_> = (0..20)
        .map(|n| {
            std::thread::spawn(move || {
                let head = if n % 2 == 0 {
                    "POST /dns-query HTTP/1.1\r\nhost: bodies.test\r\ncontent-type: application/dns-message"
                } else {
                    "POST / HTTP/1.1\r\nhost: bodies.test"
                };
                (n, chunked(PORT_MEMORY, head, 64 * 1024, 128, true, Duration::from_secs(30)).map(|reply| reply.status))
            })
        })
        .collect();
    for sender in senders {
        let (n, status) = sender.join().unwrap();
        assert_eq!(status, Some(if n % 2 == 0 { 413 } else { 404 }), "request {n}");
    }
    eprintln!("20 bodies of 8 MiB answered in {:?}", started.elapsed());
    let status = isolate(PORT_MEMORY);
    let after = status["memory_bytes"].as_u64().unwrap();
    eprintln!("wasm memory: {before} bytes before, {after} after");
    // At most ten 64 KiB DoH buffers at once, and some slack; reading the bodies whole grows it
    // by 8 MiB a body.
    assert!(after <= before + 2 * 1024 * 1024, "the isolate's memory grew from {before} to {after} bytes");
    assert_eq!(status["counts"]["requests"].as_u64().map(|requests| requests >= 22), Some(true), "{status}");
    // The same isolate (its shard still held) answers.
    assert_eq!(answers(&ask_on(PORT_MEMORY, "www.example.com.", RecordType::A)), ["www.example.com. 300 A 192.0.2.10"]);
    assert_eq!(isolate(PORT_MEMORY)["counts"]["kv_reads_request"], status["counts"]["kv_reads_request"], "no reload: the isolate survived");
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loopback HTTP/1.1 server answering each request with `respond(path, body)` on its own
/// thread; stopped on drop.
struct Loopback {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a loopback server sends back.
enum Answer {
    /// 200 with this body and `content-length`.
    Whole(Vec<u8>),
    /// 200, chunked: this first, then 16 KiB chunks of filler, never finished (until the
    /// server stops, or 20 s).
    Endless(Vec<u8>),
}

impl Loopback {
    fn start(port: u16, content_type: &'static str, respond: fn(&str, &[u8]) -> Answer) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let stopping = Arc::clone(&stopping);
                        std::thread::spawn(move || serve(stream, content_type, respond, &stopping));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Self { stop, thread: Some(thread) }
    }
}

fn serve(mut stream: TcpStream, content_type: &str, respond: fn(&str, &[u8]) -> Answer, stopping: &AtomicBool) {
    let Some(request) = super::loopback::read_request(&mut stream) else { return };
    match respond(request.path(), &request.body) {
        Answer::Whole(bytes) => {
            let _ = stream.write_all(
                format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len()).as_bytes(),
            );
            let _ = stream.write_all(&bytes);
        }
        Answer::Endless(first) => {
            stream.set_write_timeout(Some(Duration::from_millis(200))).ok();
            let _ = stream.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n").as_bytes());
            let _ = stream.write_all(&[format!("{:x}\r\n", first.len()).as_bytes(), &first, b"\r\n"].concat());
            let filler: Vec<u8> = [b"4000\r\n".as_slice(), &[b'.'; 0x4000], b"\r\n"].concat();
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                match stream.write_all(&filler) {
                    Ok(()) => {}
                    // The reader stopped reading (a full socket buffer) or went away.
                    Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(_) => return,
                }
            }
        }
    }
}

/// The test upstream: names starting with `endless` get an answer that never ends; others an
/// A record.
fn upstream_answer(_path: &str, body: &[u8]) -> Answer {
    let Ok(query) = Message::from_vec(body) else { return Answer::Whole(b"not a query".to_vec()) };
    let name = query.queries.first().map(|question| question.name().clone()).unwrap_or_default();
    let mut reply = Message::new(query.metadata.id, MessageType::Response, query.metadata.op_code);
    reply.metadata.recursion_desired = true;
    reply.metadata.recursion_available = true;
    reply.add_queries(query.queries.clone());
    reply.add_answer(Record::from_rdata(name.clone(), 300, RData::A(A::new(192, 0, 2, 99))));
    let bytes = reply.to_vec().unwrap();
    if name.to_ascii().starts_with("endless") {
        Answer::Endless(bytes)
    } else {
        Answer::Whole(bytes)
    }
}

#[test]
fn upstream_answers_past_a_dns_message_fail_that_upstream_and_firewall_lists_over_the_limit_are_skipped() {
    let dir = scratch("bodies-resolver");
    std::fs::create_dir_all(&dir).unwrap();
    compile_into(&dir, &[Path::new("zones")]);
    // A firewall list over the limit, published as the CLI would (which refuses it: below).
    let rules: String = (0..edgedns::resolver::firewall::MAX_LIST_BYTES / 32 + 1).map(|n| format!("block d{n}.blocked.test nxdomain\n")).collect();
    assert!(rules.len() > edgedns::resolver::firewall::MAX_LIST_BYTES);
    std::fs::write(dir.join("kv/firewall:huge"), &rules).unwrap();
    std::fs::write(dir.join("kv/firewall:current"), "huge").unwrap();
    let _upstream = Loopback::start(PORT_UPSTREAM, "application/dns-message", upstream_answer);
    let upstreams = format!("UPSTREAMS=http://127.0.0.1:{PORT_UPSTREAM}/dns-query");
    let workerd = start(&dir, PORT_RESOLVER, None, &[&upstreams, "UPSTREAM_TIMEOUT_MS=10000", "SNAPSHOT_REFRESH_SECONDS=300"]);

    let message = ask_on(PORT_RESOLVER, "www.upstream.test.", RecordType::A);
    assert_eq!(answers(&message), ["www.upstream.test. 300 A 192.0.2.99"], "an ordinary answer is read whole");
    let started = Instant::now();
    let message = ask_on(PORT_RESOLVER, "endless.upstream.test.", RecordType::A);
    let took = started.elapsed();
    assert_eq!(message.metadata.response_code, ResponseCode::ServFail);
    assert!(took < PROMPT, "the endless answer was read for {took:?} (the timeout is 10 s)");
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT_RESOLVER}/admin/resolver")]);
    let status: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    let upstream = &status["isolate"]["upstreams"][format!("http://127.0.0.1:{PORT_UPSTREAM}/dns-query")];
    assert_eq!(upstream["failed"], 1, "{status}");
    assert_eq!(upstream["last_failure"], "unusable answer: an answer over 65535 bytes", "{status}");
    let cached = status["isolate"]["cached_bytes"].as_u64().unwrap();
    assert!(cached > 0 && cached < 4_096, "one small answer is cached: {cached} bytes");

    // The firewall list was read (in the background, after the first response) and skipped
    // with a log line: nothing is blocked.
    let skipped = "firewall huge is unreadable: the list is";
    for _ in 0..50 {
        if workerd.log().contains(skipped) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(workerd.log().contains(skipped), "{}", workerd.log());
    assert_eq!(status["firewall"], serde_json::json!({"version": null, "rules": 0, "subscriptions": {}}), "{status}");
    assert_eq!(ask_on(PORT_RESOLVER, "d1.blocked.test.", RecordType::A).metadata.response_code, ResponseCode::NoError);

    // The CLI refuses to check or publish it.
    for command in [&["firewall", "check"][..], &["firewall", "publish", "--local", "--persist-to"]] {
        let mut cli = Command::new(env("EDGEDNS_CLI"));
        cli.args(command);
        if command.len() > 2 {
            cli.arg(dir.join("state"));
        }
        let output = cli.arg(dir.join("kv/firewall:huge")).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?}");
        assert!(stderr.contains(&format!("bytes, over the limit of {}", edgedns::resolver::firewall::MAX_LIST_BYTES)), "{command:?}: {stderr}");
    }
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The probed server: `/near` has the search string in its first bytes and never ends;
/// `/far` has it after 6,000 bytes (past the 5,120 a probe reads).
fn probed_page(path: &str, _body: &[u8]) -> Answer {
    match path {
        "/near" => Answer::Endless(b"<html>status: GREEN".to_vec()),
        _ => Answer::Whole([vec![b' '; 6_000], b"GREEN".to_vec()].concat()),
    }
}

#[test]
fn probes_read_the_first_5120_bytes_of_a_page_and_no_more() {
    let dir = scratch("bodies-health");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(zones.join("bodies.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    let check = |id: &str, path: &str| {
        format!("[health_checks.{id}]\ntype = \"http\"\nhost = \"127.0.0.1\"\nport = {PORT_PROBED}\npath = \"{path}\"\nsearch = \"GREEN\"\nthreshold = 1\ntimeout = 8\n\n")
    };
    let record = |name: &str, id: &str| {
        format!(
            "[[records]]\nname = \"{name}\"\ntype = \"A\"\nttl = 30\n\n[records.failover.primary]\nhealth_check = \"{id}\"\nvalues = [\"192.0.2.1\"]\n\n\
             [records.failover.secondary]\nvalues = [\"192.0.2.2\"]\n\n"
        )
    };
    std::fs::write(
        zones.join("bodies.test.routes.toml"),
        [check("near", "/near"), check("far", "/far"), record("near", "near"), record("far", "far")].concat(),
    )
    .unwrap();
    // Only this zone: its checks are the only ones probed.
    compile_into(&dir, &[&zones]);
    let _probed = Loopback::start(PORT_PROBED, "text/html", probed_page);
    let workerd = start(&dir, PORT_HEALTH, Some(PORT_HEALTH_SCHEDULER), &[]);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let started = Instant::now();
    let run = curl(&["--max-time", "30", &format!("http://127.0.0.1:{PORT_HEALTH_SCHEDULER}/__scheduled?time={}", now)]);
    let took = started.elapsed();
    assert_eq!(run.status, 200, "{} {}", String::from_utf8_lossy(&run.body), workerd.log());
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT_HEALTH}/admin/health")]);
    let report: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&exchange.body)));
    let measured =
        |id: &str| report["checks"].as_array().unwrap().iter().find(|check| check["id"] == id).unwrap_or_else(|| panic!("{report}"))["measured"].clone();
    assert_eq!(measured("near")["last_success"], true, "the endless page's first bytes hold the string: {report}");
    assert!(measured("near")["latency_ms"].as_u64().unwrap() < 4_000, "{report}");
    assert_eq!(measured("far")["last_success"], false, "the string past 5,120 bytes is not seen: {report}");
    assert!(took < Duration::from_secs(8), "the run took {took:?}: the endless page was read to the probe's timeout");
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}
