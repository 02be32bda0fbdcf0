//! Per-profile upstreams and ECS policy (issue 17, profiles) in the real runtime: the built
//! Worker in a workerd of its own (ports 18866-18868) with two loopback DoH upstreams that
//! answer one name differently and report the ECS option they were sent. `/dns-query` is
//! forwarded to the resolver's upstream with no subnet; `/dns-query/p/fam1` to the profile's
//! own upstream with the client's /24; each profile's answer comes from its upstream (cached
//! apart: the second default query after the profile's still gets the default's answer).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};

use super::workerd::Launch;
use super::*;

const PORT: u16 = 18866;
const PORT_RESOLVERS: u16 = 18867;
const PORT_FAMILY: u16 = 18868;

/// A DoH upstream on loopback answering every A question with `address`, keeping whether each
/// query carried an ECS option (and which).
struct Upstream {
    sent_subnets: Mutex<Vec<Option<String>>>,
    stop: AtomicBool,
}

impl Upstream {
    fn start(port: u16, address: A) -> Arc<Self> {
        let upstream = Arc::new(Self { sent_subnets: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let serving = Arc::clone(&upstream);
        std::thread::spawn(move || {
            while !serving.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => serving.serve(stream, address),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        upstream
    }

    fn serve(&self, mut stream: TcpStream, address: A) {
        let Some(request) = super::loopback::read_request(&mut stream) else { return };
        let Ok(query) = Message::from_vec(&request.body) else { return };
        let subnet = query.edns.as_ref().and_then(|edns| {
            edns.options().options.iter().find_map(|(_, option)| match option {
                EdnsOption::Subnet(subnet) => Some(format!("{}/{}", subnet.addr(), subnet.source_prefix())),
                _ => None,
            })
        });
        self.sent_subnets.lock().unwrap().push(subnet);
        let mut reply = Message::new(query.metadata.id, MessageType::Response, query.metadata.op_code);
        reply.metadata.recursion_desired = true;
        reply.metadata.recursion_available = true;
        reply.add_queries(query.queries.clone());
        if let Some(question) = query.queries.first() {
            reply.add_answer(Record::from_rdata(question.name().clone(), 300, RData::A(address)));
        }
        let bytes = reply.to_vec().unwrap();
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", bytes.len());
        let _ = stream.write_all(&[head.as_bytes(), &bytes].concat());
    }

    fn subnets(&self) -> Vec<Option<String>> {
        self.sent_subnets.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ask(path: &str, name: &str) -> Vec<String> {
    let message =
        curl_post(&format!("http://127.0.0.1:{PORT}{path}"), &query_bytes(name, RecordType::A, false), &["-H", "cf-connecting-ip: 203.0.113.77"]).message();
    message.answers.iter().map(|record| record.data.to_string()).collect()
}

#[test]
fn each_profile_forwards_to_its_own_upstreams_with_its_own_ecs_policy() {
    let dir = scratch("profile-upstreams");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::write(zones.join("profiles.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg(&zones).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let resolvers = Upstream::start(PORT_RESOLVERS, A::new(192, 0, 2, 1));
    let family = Upstream::start(PORT_FAMILY, A::new(192, 0, 2, 2));
    let profiles = format!(r#"{{"default": {{}}, "family": {{"id": "fam1", "upstreams": ["http://127.0.0.1:{PORT_FAMILY}/dns-query"], "ecs": "truncated"}}}}"#);
    let upstreams = format!("UPSTREAMS=http://127.0.0.1:{PORT_RESOLVERS}/dns-query");
    let workerd = Launch::new(&dir, PORT).network().var("PROFILES", &profiles).vars([upstreams.as_str(), "UPSTREAM_ECS=off"]).start();

    assert_eq!(ask("/dns-query", "www.example.net."), ["192.0.2.1"], "{}", workerd.log());
    assert_eq!(ask("/dns-query/p/fam1", "www.example.net."), ["192.0.2.2"], "{}", workerd.log());
    // Cached apart: each profile's answer again, from its own cache entry.
    assert_eq!(ask("/dns-query", "www.example.net."), ["192.0.2.1"]);
    assert_eq!(ask("/dns-query/p/fam1", "www.example.net."), ["192.0.2.2"]);
    assert_eq!(resolvers.subnets(), [None], "the default profile: one query, no subnet (UPSTREAM_ECS=off)");
    let sent = family.subnets();
    assert_eq!(sent.len(), 1, "the family profile: one query ({sent:?})");
    // The client (CF-Connecting-IP, as the edge sets it) cut to its /24 went upstream.
    assert_eq!(sent[0].as_deref(), Some("203.0.113.0/24"), "{sent:?}");
    drop(workerd);
    let _ = std::fs::remove_dir_all(&dir);
}
