//! Identical forwarded questions in flight share one upstream query (issue 12, item 1, the
//! resolver's half), in the real runtime: the built Worker in fresh workerds of its own
//! (ports 18841-18849) in resolver mode, its only upstream a loopback DoH server (plain
//! HTTP/1.1 on 127.0.0.1) that counts the queries it gets and answers each after 300 ms.
//! Fifty identical questions sent at once (one ID and one letter case each) are all answered,
//! each under its own ID and question, from one upstream query; an upstream failure is every
//! follower's failure, from one query too; a leader whose client hung up still answers its
//! followers.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::MessageType;
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

use super::workerd::{Launch, Workerd};
use super::*;

/// Fifty identical questions: the Worker, and its upstream.
const PORT_BURST: u16 = 18841;
const PORT_BURST_UPSTREAM: u16 = 18842;
/// A leader whose client goes away: the Worker, and its upstream.
const PORT_GONE: u16 = 18843;
const PORT_GONE_UPSTREAM: u16 = 18844;
const TOKEN: &str = "coalesce-e2e-token-0123456789";
/// How long the upstream takes to answer: every question of a burst arrives meanwhile.
const UPSTREAM_DELAY: Duration = Duration::from_millis(300);
/// Questions sent at once.
const BURST: usize = 50;

/// A fresh workerd on `port` serving the sample zones from `dir/kv`, in resolver mode with
/// the loopback upstream on `upstream` (workerd's network service allows local addresses
/// for it), and `vars` (`NAME=VALUE`).
fn start(dir: &Path, port: u16, upstream: u16, vars: &[&str]) -> Workerd {
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg("zones").output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Launch::new(dir, port)
        .network()
        .var("ADMIN_TOKEN", TOKEN)
        .var("UPSTREAMS", &format!("http://127.0.0.1:{upstream}/dns-query"))
        .var("SNAPSHOT_REFRESH_SECONDS", "300")
        .vars(vars.iter().copied())
        .start()
}

/// The loopback DoH upstream: counts the queries per (lower-cased) name and answers each
/// after [`UPSTREAM_DELAY`]: names starting with `fail` with SERVFAIL, others with an A
/// record (TTL 300). Stopped on drop.
struct Upstream {
    queries: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Upstream {
    fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let queries = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (counting, stopping) = (Arc::clone(&queries), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let counting = Arc::clone(&counting);
                        std::thread::spawn(move || answer_upstream(stream, &counting));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { queries, stop, thread: Some(thread) }
    }

    /// Queries received so far for `name`.
    fn queries(&self, name: &str) -> usize {
        self.queries.lock().unwrap().get(&name.to_ascii_lowercase()).copied().unwrap_or(0)
    }
}

fn answer_upstream(mut stream: TcpStream, queries: &Mutex<HashMap<String, usize>>) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let Some((_, _, body)) = read_http(&mut stream, true) else { return };
    let Ok(query) = Message::from_vec(&body) else { return };
    let name = query.queries.first().map(|question| question.name().clone()).unwrap_or_default();
    *queries.lock().unwrap().entry(name.to_ascii().to_ascii_lowercase()).or_default() += 1;
    std::thread::sleep(UPSTREAM_DELAY);
    let mut reply = Message::new(query.metadata.id, MessageType::Response, query.metadata.op_code);
    reply.metadata.recursion_desired = true;
    reply.metadata.recursion_available = true;
    reply.add_queries(query.queries.clone());
    if name.to_ascii().to_ascii_lowercase().starts_with("fail") {
        reply.metadata.response_code = ResponseCode::ServFail;
    } else {
        reply.add_answer(Record::from_rdata(name, 300, RData::A(A::new(192, 0, 2, 77))));
    }
    let bytes = reply.to_vec().unwrap();
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len());
    let _ = stream.write_all(&[head.as_bytes(), &bytes].concat());
}

/// Reads one HTTP/1.1 message (a request when `request`, else a response) from `stream`:
/// its first line, its headers (lower-cased names) and its body (by content-length, chunked,
/// or up to the end). `None` if the stream ends or times out first.
fn read_http(stream: &mut TcpStream, request: bool) -> Option<(String, HashMap<String, String>, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("").to_owned();
    let headers: HashMap<String, String> =
        lines.filter_map(|line| line.split_once(':')).map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned())).collect();
    let mut body = bytes[end + 4..].to_vec();
    let chunked = headers.get("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked"));
    let length = headers.get("content-length").and_then(|value| value.parse::<usize>().ok());
    let complete = |body: &[u8]| match (length, chunked) {
        (Some(length), _) => body.len() >= length,
        (None, true) => body.ends_with(b"0\r\n\r\n"),
        (None, false) => request,
    };
    while !complete(&body) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&buffer[..n]),
            Err(_) => return None,
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Some((first, headers, body))
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&bytes[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        body.extend_from_slice(&bytes[end + 2..(end + 2 + size).min(bytes.len())]);
        bytes = &bytes[(end + 4 + size).min(bytes.len())..];
    }
    body
}

/// `name` with its letters' case set by the bits of `n` (DNS 0x20 style): a different
/// spelling of the same question for each query of a burst.
fn spelled(name: &str, n: usize) -> String {
    name.chars().enumerate().map(|(i, c)| if (n >> (i % 12)) & 1 == 1 { c.to_ascii_uppercase() } else { c }).collect()
}

/// A name on the wire, its case kept (hickory's encoder lower-cases names).
fn wire_name(name: &str) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire
}

/// A query for `name` (A, with EDNS) under `id`, the name on the wire spelled as given.
fn query_with_id(name: &str, id: u16) -> Vec<u8> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    message.edns = Some(Edns::new());
    let mut bytes = message.to_vec().unwrap();
    let (lower, spelled) = (wire_name(&name.to_ascii_lowercase()), wire_name(name));
    let at = bytes.windows(lower.len()).position(|window| window == lower).expect("the name on the wire");
    bytes[at..at + lower.len()].copy_from_slice(&spelled);
    bytes
}

/// Sends `BURST` questions for `name` at once (each connection open first, then every
/// request written at the same moment), query `n` with ID `1000 + n` and spelled its way.
/// Checks each reply's question is spelled as asked; returns each (spelling, ID, answer) and
/// how long the slowest took.
fn burst(port: u16, name: &str) -> (Vec<(String, u16, Message)>, Duration) {
    let barrier = Arc::new(Barrier::new(BURST));
    let started = Instant::now();
    let threads: Vec<_> = (0..BURST)
        .map(|n| {
            let barrier = Arc::clone(&barrier);
            let spelling = spelled(name, n);
            let id = 1000 + n as u16;
            std::thread::spawn(move || {
                let body = query_with_id(&spelling, id);
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the Worker accepts");
                stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let head = format!(
                    "POST /dns-query HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/dns-message\r\naccept: application/dns-message\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                barrier.wait();
                stream.write_all(&[head.as_bytes(), &body].concat()).unwrap();
                let (status, _, reply) = read_http(&mut stream, false).unwrap_or_else(|| panic!("query {n}: no response"));
                assert!(status.contains(" 200 "), "query {n}: {status} {}", String::from_utf8_lossy(&reply));
                let question = reply.get(12..12 + wire_name(&spelling).len());
                assert_eq!(question, Some(&wire_name(&spelling)[..]), "query {n}: the question comes back as this client spelled it (0x20)");
                (spelling, id, Message::from_vec(&reply).unwrap_or_else(|e| panic!("query {n}: not a DNS message: {e}")))
            })
        })
        .collect();
    let replies = threads.into_iter().map(|thread| thread.join().expect("a query thread")).collect();
    (replies, started.elapsed())
}

fn extended_error(message: &Message) -> Option<u16> {
    message.edns.as_ref()?.options().options.iter().find_map(|(code, option)| match option {
        EdnsOption::Unknown(15, data) if u16::from(*code) == 15 => data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])),
        _ => None,
    })
}

/// This isolate's resolver counts (`/admin/resolver`).
fn resolver_counts(port: u16) -> serde_json::Value {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{port}/admin/resolver")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    let status: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    status["isolate"].clone()
}

#[test]
fn fifty_identical_questions_in_flight_make_one_upstream_query() {
    let dir = scratch("coalesce-burst");
    std::fs::create_dir_all(&dir).unwrap();
    let upstream = Upstream::start(PORT_BURST_UPSTREAM);
    let workerd = start(&dir, PORT_BURST, PORT_BURST_UPSTREAM, &["UPSTREAM_TIMEOUT_MS=5000"]);
    // A warm isolate (the zones loaded), so that the burst's questions meet in the resolver.
    assert_eq!(curl_post(&format!("http://127.0.0.1:{PORT_BURST}/dns-query"), &query_bytes("www.example.com.", RecordType::A, false), &[]).status, 200);

    // Fifty at once: one upstream query, every client answered under its own ID and question.
    let (replies, took) = burst(PORT_BURST, "www.coalesce.test.");
    for (spelling, id, message) in &replies {
        assert_eq!((message.metadata.id, message.metadata.response_code), (*id, ResponseCode::NoError), "{spelling}: {message}");
        assert!(message.metadata.recursion_available && !message.metadata.authoritative, "{spelling}: {message}");
        assert_eq!(message.queries.first().map(|question| question.name().to_ascii()).as_deref(), Some(spelling.as_str()), "{message}");
        let records: Vec<_> = message.answers.iter().map(|r| (r.name.to_ascii().to_ascii_lowercase(), r.ttl, r.data.to_string())).collect();
        assert_eq!(records, [("www.coalesce.test.".to_owned(), 300, "192.0.2.77".to_owned())], "{spelling}");
    }
    let counts = resolver_counts(PORT_BURST);
    assert_eq!(upstream.queries("www.coalesce.test."), 1, "one upstream query for {BURST} identical questions in flight; counts: {counts}");
    assert_eq!(counts["misses"], 1, "{counts}");
    assert_eq!(
        counts["coalesced"].as_u64().unwrap_or(0) + counts["isolate_hits"].as_u64().unwrap_or(0),
        BURST as u64 - 1,
        "the others followed the first (or came after it, from the cache): {counts}"
    );
    assert_eq!(counts["in_flight"], 0, "{counts}");
    eprintln!("{BURST} identical questions: {took:?}, one upstream query; counts: {counts}");

    // A failure is every follower's failure, from one upstream query too: SERVFAIL, EDE 22.
    let (replies, _) = burst(PORT_BURST, "fail.coalesce.test.");
    for (spelling, id, message) in &replies {
        assert_eq!((message.metadata.id, message.metadata.response_code), (*id, ResponseCode::ServFail), "{spelling}: {message}");
        assert_eq!(extended_error(message), Some(22), "{spelling}: {message}");
    }
    let counts = resolver_counts(PORT_BURST);
    assert_eq!(upstream.queries("fail.coalesce.test."), 1, "one upstream query for {BURST} failing questions; counts: {counts}");
    assert_eq!((counts["misses"].as_u64(), counts["failures"].as_u64()), (Some(2), Some(BURST as u64)), "{counts}");

    // Failures are not cached: the next question asks again.
    let message = Message::from_vec(&ask_one(PORT_BURST, "fail.coalesce.test.")).unwrap();
    assert_eq!(message.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(upstream.queries("fail.coalesce.test."), 2);
    assert!(!workerd.log().contains("on behalf of a different request"), "{}", workerd.log());
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ask_one(port: u16, name: &str) -> Vec<u8> {
    let exchange = curl_post(&format!("http://127.0.0.1:{port}/dns-query"), &query_with_id(name, 7), &[]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    exchange.body
}

/// A leader whose client hangs up mid-flight: its followers are answered all the same, within
/// the flight's deadline (1 upstream × 1,000 ms + 1,000 ms) at worst. (workerd lets the
/// leader's lookup run to its end, so the followers take its outcome; a flight that never
/// lands is abandoned by age: `src/resolver/coalesce.rs`'s tests, on a virtual clock.)
#[test]
fn a_leader_whose_client_hung_up_still_answers_its_followers() {
    let dir = scratch("coalesce-gone");
    std::fs::create_dir_all(&dir).unwrap();
    let upstream = Upstream::start(PORT_GONE_UPSTREAM);
    let workerd = start(&dir, PORT_GONE, PORT_GONE_UPSTREAM, &["UPSTREAM_TIMEOUT_MS=1000"]);
    assert_eq!(curl_post(&format!("http://127.0.0.1:{PORT_GONE}/dns-query"), &query_bytes("www.example.com.", RecordType::A, false), &[]).status, 200);

    let body = query_with_id("gone.coalesce.test.", 1);
    let mut leader = TcpStream::connect(("127.0.0.1", PORT_GONE)).unwrap();
    let head = format!("POST /dns-query HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/dns-message\r\ncontent-length: {}\r\n\r\n", body.len());
    leader.write_all(&[head.as_bytes(), &body].concat()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    drop(leader);
    let (replies, took) = burst(PORT_GONE, "gone.coalesce.test.");
    for (spelling, id, message) in &replies {
        assert_eq!((message.metadata.id, message.metadata.response_code), (*id, ResponseCode::NoError), "{spelling}: {message}");
        assert_eq!(message.answers.len(), 1, "{spelling}: {message}");
    }
    assert!(took < Duration::from_millis(2_000 + 1_500), "the followers waited {took:?}");
    let queries = upstream.queries("gone.coalesce.test.");
    assert!((1..=2).contains(&queries), "the hung-up leader's query, and at most one more: {queries}");
    eprintln!("after a leader's client hung up: {BURST} followers answered in {took:?}, {queries} upstream queries; counts: {}", resolver_counts(PORT_GONE));
    assert!(!workerd.log().contains("on behalf of a different request"), "{}", workerd.log());
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}
