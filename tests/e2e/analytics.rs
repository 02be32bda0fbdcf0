//! Query analytics end to end (README "Operator console", Traffic), in workerds of their own
//! over the sample zones (`edgedns compile --kv-dir`):
//!
//! - with the test Analytics Engine binding ([`Launch::analytics`]: a `wrapped` binding whose
//!   `writeDataPoint` hands each point to a recorder worker), answered queries write one data
//!   point each, in the documented layout, and nothing else does (the page, the admin API);
//!   `GET /admin/traffic` answers from the isolate's counters (`"source": "isolate"`);
//! - at `ANALYTICS_SAMPLE_RATE=0` nothing is written or counted;
//! - in resolver mode (a loopback DoH upstream) a forwarded query's point says how it was
//!   answered: upstream (`miss`), then from the isolate's cache;
//! - with `ANALYTICS_ACCOUNT_ID` and `ANALYTICS_API_TOKEN`, `GET /admin/traffic` runs the
//!   documented SQL against the SQL API (a stand-in on loopback, `ANALYTICS_API_BASE`) and
//!   answers from its rows (`"source": "analytics-engine"`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::workerd::{Launch, Workerd};
use super::*;

const PORT: u16 = 18890;
const RECORDER: u16 = 18891;
const PORT_OFF: u16 = 18892;
const RECORDER_OFF: u16 = 18893;
const PORT_SQL: u16 = 18894;
const SQL_API: u16 = 18895;
const PORT_RESOLVER: u16 = 18896;
const RECORDER_RESOLVER: u16 = 18897;
const UPSTREAM: u16 = 18898;
const TOKEN: &str = "analytics-e2e-token-0123456789";

fn start(dir: &Path, port: u16, launch: impl FnOnce(Launch) -> Launch) -> Workerd {
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg("zones").output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    launch(Launch::new(dir, port).var("ADMIN_TOKEN", TOKEN)).clean_up().start()
}

/// The points the recorder holds, once there are `count` of them (or after 5 s).
fn points(recorder: u16, count: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exchange = curl(&[&format!("http://127.0.0.1:{recorder}/points")]);
        let points: Vec<serde_json::Value> = serde_json::from_slice(&exchange.body).unwrap();
        if points.len() >= count || Instant::now() > deadline {
            return points;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn traffic(port: u16, minutes: u32) -> serde_json::Value {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{port}/admin/traffic?minutes={minutes}")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    serde_json::from_slice(&exchange.body).unwrap()
}

fn ask(port: u16, name: &str, record_type: RecordType) -> Exchange {
    curl_post(&format!("http://127.0.0.1:{port}/dns-query"), &query_bytes(name, record_type, false), &[])
}

#[test]
fn answered_queries_write_one_data_point_each_to_the_analytics_engine_binding() {
    let dir = scratch("analytics");
    let workerd = start(&dir, PORT, |launch| launch.analytics(RECORDER));
    assert_eq!(ask(PORT, "www.example.com.", RecordType::A).status, 200);
    assert_eq!(ask(PORT, "NOPE.example.com.", RecordType::AAAA).status, 200);
    let json = curl(&[&format!("http://127.0.0.1:{PORT}/resolve?name=example.org&type=MX")]);
    assert_eq!(json.status, 200);
    // No query, no point.
    assert_eq!(curl(&[&format!("http://127.0.0.1:{PORT}/")]).status, 200);
    assert_eq!(curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT}/admin/zones")]).status, 200);

    let points = points(RECORDER, 3);
    assert_eq!(points.len(), 3, "one point per answered query: {points:?}\n{}", workerd.log());
    let blobs = |point: &serde_json::Value| point["blobs"].as_array().unwrap().iter().map(|blob| blob.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    // Local workerd has no request.cf: no country, no edge location.
    assert_eq!(blobs(&points[0]), ["example.com.", "www.example.com.", "A", "NOERROR", "", "", "", "", ""]);
    assert_eq!(points[0]["indexes"], serde_json::json!(["example.com."]));
    assert_eq!(points[0]["doubles"], serde_json::json!([1, 0, 0, 0]));
    assert_eq!(blobs(&points[1])[..4], ["example.com.", "nope.example.com.", "AAAA", "NXDOMAIN"], "names are counted in lower case");
    assert_eq!(blobs(&points[2])[..4], ["example.org.", "example.org.", "MX", "NOERROR"], "the JSON API's answers too");

    let report = traffic(PORT, 5);
    assert_eq!(report["source"], "isolate");
    assert_eq!(report["minutes"], 5);
    assert_eq!(report["totals"]["queries"], 3);
    assert_eq!(report["zones"][0], serde_json::json!({"key": "example.com.", "queries": 2}));
    assert!(report["rcodes"].as_array().unwrap().contains(&serde_json::json!({"key": "NXDOMAIN", "queries": 1})), "{report}");
    assert_eq!(report["timeline"]["total"].as_array().unwrap().iter().map(|count| count.as_u64().unwrap()).sum::<u64>(), 3);
}

#[test]
fn at_sample_rate_zero_nothing_is_written_or_counted() {
    let dir = scratch("analytics-off");
    let workerd = start(&dir, PORT_OFF, |launch| launch.analytics(RECORDER_OFF).var("ANALYTICS_SAMPLE_RATE", "0"));
    for _ in 0..3 {
        assert_eq!(ask(PORT_OFF, "www.example.com.", RecordType::A).status, 200);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(points(RECORDER_OFF, 0), Vec::<serde_json::Value>::new(), "{}", workerd.log());
    let report = traffic(PORT_OFF, 60);
    assert_eq!(report["totals"]["queries"], 0);
    assert_eq!(report["sample_rate"], 0.0);
}

/// One HTTP/1.1 request from `stream`: its head and its body (by `content-length`).
fn read_request(stream: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_string();
            let length = head
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()))
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return Some((head, bytes[end + 4..end + 4 + length].to_vec()));
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
}

/// A stand-in for the Analytics Engine SQL API on loopback: records each request (path,
/// authorization, SQL) and answers by the SQL's shape, as `FORMAT JSON` does.
fn sql_stand_in(port: u16) -> Arc<Mutex<Vec<(String, String, String)>>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recording = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let recording = Arc::clone(&recording);
            std::thread::spawn(move || {
                let Some((head, body)) = read_request(&mut stream) else { return };
                let body = String::from_utf8_lossy(&body).into_owned();
                let path = head.lines().next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
                let authorization = head
                    .lines()
                    .find_map(|line| line.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.trim().to_owned()))
                    .unwrap_or_default();
                let now_minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 60 * 60;
                let answer = if body.contains("AS cache_hits") {
                    r#"{"meta":[],"data":[{"queries":120,"blocked":3,"forwarded":"40","cache_hits":30}],"rows":1}"#.to_owned()
                } else if body.contains("toUnixTimestamp") {
                    format!(
                        r#"{{"data":[{{"minute":{now_minute},"key":"example.com.","queries":100}},{{"minute":"{now_minute}","key":"","queries":20}}],"rows":2}}"#
                    )
                } else if body.contains("SELECT blob4 AS key") {
                    r#"{"data":[{"key":"NOERROR","queries":110},{"key":"NXDOMAIN","queries":10}],"rows":2}"#.to_owned()
                } else if body.contains("SELECT blob6 AS key") {
                    // An error for one part: the others still answer.
                    let reply =
                        "HTTP/1.1 422 Unprocessable\r\ncontent-type: application/json\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{\"error\":\"no\"}\n";
                    recording.lock().unwrap().push((path, authorization, body));
                    let _ = stream.write_all(reply.as_bytes());
                    return;
                } else {
                    r#"{"data":[{"key":"example.com.","queries":100}],"rows":1}"#.to_owned()
                };
                recording.lock().unwrap().push((path, authorization, body));
                let reply =
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
                let _ = stream.write_all(reply.as_bytes());
            });
        }
    });
    seen
}

#[test]
fn with_an_account_and_token_traffic_comes_from_the_sql_api() {
    let seen = sql_stand_in(SQL_API);
    let dir = scratch("analytics-sql");
    let base = format!("http://127.0.0.1:{SQL_API}/client/v4");
    let workerd = start(&dir, PORT_SQL, |launch| {
        launch.network().var("ANALYTICS_ACCOUNT_ID", "0123456789abcdef").var("ANALYTICS_API_TOKEN", "sql-token").var("ANALYTICS_API_BASE", &base)
    });
    let report = traffic(PORT_SQL, 15);
    assert_eq!(report["source"], "analytics-engine", "{report}\n{}", workerd.log());
    assert_eq!(report["minutes"], 15);
    assert_eq!(report["totals"], serde_json::json!({"queries": 120, "blocked": 3, "forwarded": 40, "cache_hits": 30, "cache_hit_rate": 0.75}));
    assert_eq!(report["rcodes"], serde_json::json!([{"key": "NOERROR", "queries": 110}, {"key": "NXDOMAIN", "queries": 10}]));
    assert_eq!(report["zones"], serde_json::json!([{"key": "example.com.", "queries": 100}]));
    assert_eq!(report["timeline"]["total"].as_array().unwrap().last().unwrap(), 120);
    assert_eq!(report["timeline"]["zones"][1]["key"], "(none)");
    assert_eq!(report["countries"], serde_json::json!([]));
    assert!(report["problems"][0].as_str().unwrap().contains("Country") && report["problems"][0].as_str().unwrap().contains("422"), "{report}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 9, "totals, timeline and seven breakdowns: {seen:?}");
    for (path, authorization, sql) in seen.iter() {
        assert_eq!(path, "/client/v4/accounts/0123456789abcdef/analytics_engine/sql");
        assert_eq!(authorization, "Bearer sql-token");
        assert!(sql.contains("FROM edgedns_queries WHERE timestamp > NOW() - INTERVAL '15' MINUTE") && sql.ends_with("FORMAT JSON"), "{sql}");
    }
}

/// A DoH upstream on loopback: answers every query with an A record (TTL 300).
fn doh_upstream(port: u16) {
    use hickory_proto::op::MessageType;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let Some((_, body)) = read_request(&mut stream) else { return };
                let Ok(query) = Message::from_vec(&body) else { return };
                let name = query.queries.first().map(|question| question.name().clone()).unwrap_or_default();
                let mut reply = Message::new(query.metadata.id, MessageType::Response, query.metadata.op_code);
                reply.metadata.recursion_desired = true;
                reply.metadata.recursion_available = true;
                reply.add_queries(query.queries.clone());
                reply.add_answer(Record::from_rdata(name, 300, RData::A(A::new(192, 0, 2, 77))));
                let bytes = reply.to_vec().unwrap();
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len());
                let _ = stream.write_all(&[head.as_bytes(), &bytes].concat());
            });
        }
    });
}

#[test]
fn forwarded_queries_say_how_the_resolver_answered_them() {
    doh_upstream(UPSTREAM);
    let dir = scratch("analytics-resolver");
    let upstream = format!("http://127.0.0.1:{UPSTREAM}/dns-query");
    let workerd = start(&dir, PORT_RESOLVER, |launch| launch.network().analytics(RECORDER_RESOLVER).var("UPSTREAMS", &upstream));
    for _ in 0..2 {
        let exchange = ask(PORT_RESOLVER, "forwarded.test.", RecordType::A);
        assert_eq!(exchange.status, 200, "{}", workerd.log());
    }
    let points = points(RECORDER_RESOLVER, 2);
    assert_eq!(points.len(), 2, "{points:?}\n{}", workerd.log());
    let blobs = |point: &serde_json::Value| point["blobs"].as_array().unwrap().iter().map(|blob| blob.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(blobs(&points[0]), ["", "forwarded.test.", "A", "NOERROR", "", "", "", "miss", ""]);
    assert_eq!(points[0]["indexes"], serde_json::json!(["(none)"]));
    assert_eq!(points[0]["doubles"], serde_json::json!([1, 0, 0, 1]), "forwarded, not from a cache");
    assert_eq!(blobs(&points[1])[7], "isolate");
    assert_eq!(points[1]["doubles"], serde_json::json!([1, 0, 1, 1]), "forwarded, from the isolate's cache");
    let report = traffic(PORT_RESOLVER, 5);
    assert_eq!(report["totals"], serde_json::json!({"queries": 2, "blocked": 0, "forwarded": 2, "cache_hits": 1, "cache_hit_rate": 0.5}));
    assert_eq!(report["zones"], serde_json::json!([{"key": "(none)", "queries": 2}]));
}
