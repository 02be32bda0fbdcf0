//! Split snapshots in the real runtime: the repository's zones published with 1 KiB shards
//! (`edgedns compile --kv-dir --shard-kib 1`, the keys `publish` writes) and served by a fresh
//! workerd of its own (read-only disk KV, as the cold-start benchmark does), so the isolate
//! is cold and its KV reads are counted from the first query: the manifest and the one shard
//! a name needs, the health state only with a shard of routed sets, nothing for a name no zone
//! holds, nothing again for a shard it holds.

use super::workerd::{Launch, Workerd};
use super::*;

use edgedns::snapshot::{Index, Manifest};

const PORT: u16 = 18791;
/// The second test's workerd.
const PORT_REFRESH: u16 = 18792;
pub(super) const TOKEN: &str = "shards-e2e-token-0123456789";

/// A fresh workerd on `port` serving `dir/kv` (read-only), with more worker variables (`NAME=VALUE ...`).
pub(super) fn start_on(dir: &std::path::Path, port: u16, vars: &str) -> Workerd {
    Launch::new(dir, port).var("ADMIN_TOKEN", TOKEN).vars(vars.split_whitespace()).start()
}

fn start(dir: &std::path::Path) -> Workerd {
    start_on(dir, PORT, "SNAPSHOT_REFRESH_SECONDS=300")
}

/// Compiles `zones`, `tests/zones` and `extra` into `dir/kv` with 1 KiB shards (every key a
/// publish writes, `snapshot:current` last), and returns the manifest.
pub(super) fn compile_into(dir: &std::path::Path, extra: &[&std::path::Path]) -> Manifest {
    let output = Command::new(env("EDGEDNS_CLI"))
        .args(["compile", "--shard-kib", "1", "--kv-dir"])
        .arg(dir.join("kv"))
        .args(["zones", "tests/zones"])
        .args(extra)
        .output()
        .expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Manifest::decode(&edgedns::snapshot::from_text(std::fs::read(dir.join("kv/snapshot:current")).unwrap())).unwrap()
}

fn ask(name: &str, record_type: RecordType) -> Message {
    ask_on(PORT, name, record_type)
}

fn ask_on(port: u16, name: &str, record_type: RecordType) -> Message {
    curl_post(&format!("http://127.0.0.1:{port}/dns-query"), &query_bytes(name, record_type, false), &[]).message()
}

/// (request-path KV reads, shards held).
fn counts() -> (u64, Vec<u64>) {
    counts_on(PORT)
}

pub(super) fn counts_on(port: u16) -> (u64, Vec<u64>) {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{port}/admin/isolate")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    let status: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    let held = status["shards"]["held"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    (status["counts"]["kv_reads_request"].as_u64().unwrap(), held)
}

#[test]
fn a_cold_isolate_reads_the_manifest_and_only_the_shards_its_queries_need() {
    let dir = scratch("shards");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = compile_into(&dir, &[]);
    let index = Index::new(manifest.clone()).unwrap();
    assert!(manifest.shards().len() >= 5, "{} shards", manifest.shards().len());
    let shard = |name: &str| index.shard_for(&Name::from_str(name).unwrap());
    let routed = |name: &str| manifest.shards()[shard(name)].routed;
    // Names in four different shards: two plain, one of routed sets, and a CNAME whose
    // target lives in another shard (and zone): its shard carries the target.
    let (plain, other, policy, chain) = ("www.example.com.", "10.2.0.192.in-addr.arpa.", "www.example.org.", "blog.example.com.");
    let shards = [shard(plain), shard(other), shard(policy)];
    assert!(shards[0] != shards[1] && shards[1] != shards[2] && shards[0] != shards[2], "{shards:?}");
    assert!(!routed(plain) && !routed(other) && routed(policy));
    let workerd = start(&dir);

    // First query: the manifest and one shard.
    let message = ask(plain, RecordType::A);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answers(&message), ["www.example.com. 300 A 192.0.2.10"]);
    assert_eq!(counts(), (2, vec![shards[0] as u64]), "a cold isolate's first query reads two keys");
    // The same shard again: nothing more.
    ask(plain, RecordType::AAAA);
    assert_eq!(counts().0, 2);
    // A name no zone holds: no shard is read.
    assert_eq!(ask("www.example.net.", RecordType::A).metadata.response_code, ResponseCode::Refused);
    assert_eq!(counts().0, 2);
    // Another shard: one read.
    let message = ask(other, RecordType::PTR);
    assert_eq!(answers(&message), ["10.2.0.192.in-addr.arpa. 3600 PTR www.example.com."]);
    assert_eq!(counts().0, 3);
    // A shard of routed sets: one read (the health keys were read after the first response).
    let message = ask(policy, RecordType::A);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    assert!(!message.answers.is_empty());
    assert_eq!(counts().0, 4);
    // A CNAME into another shard and zone is answered whole from the chain's first shard.
    let message = ask(chain, RecordType::A);
    let extra = u64::from(shard(chain) != shards[0]);
    assert_eq!(answers(&message), ["blog.example.com. 3600 CNAME www.example.com.", "www.example.com. 300 A 192.0.2.10"]);
    assert_eq!(counts().0, 4 + extra);
    let (_, held) = counts();
    assert!(held.contains(&(shards[0] as u64)) && held.contains(&(shards[2] as u64)), "{held:?}");
    drop(workerd);

    // A fresh isolate whose first query needs routed sets reads the health state with its
    // shard: `health:current` alone, which carries a copy of the overrides.
    let _workerd = start(&dir);
    let message = ask(policy, RecordType::A);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    assert_eq!(counts(), (3, vec![shards[2] as u64]), "manifest, shard, health:current");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shard_budget_evicts_and_a_new_version_arrives_with_its_shards_already_read() {
    let dir = scratch("shards-refresh");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    let zone = |address: &str| format!("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A {address}\n");
    let file = zones.join("shards-refresh.test.zone");
    std::fs::write(&file, zone("203.0.113.1")).unwrap();
    let manifest = compile_into(&dir, &[&file]);
    let index = Index::new(manifest).unwrap();
    let shard = |name: &str| index.shard_for(&Name::from_str(name).unwrap()) as u64;
    let (plain, other, changing) = ("www.example.com.", "10.2.0.192.in-addr.arpa.", "www.shards-refresh.test.");
    assert!(shard(plain) != shard(other) && shard(other) != shard(changing) && shard(plain) != shard(changing));
    // A budget smaller than any shard: the isolate holds only the shard it read last.
    let _workerd = start_on(&dir, PORT_REFRESH, "SNAPSHOT_REFRESH_SECONDS=1 SHARD_CACHE_KIB=1");
    let address = |message: Message| message.answers.first().map(|record| record.data.to_string());
    assert_eq!(ask_on(PORT_REFRESH, plain, RecordType::A).metadata.response_code, ResponseCode::NoError);
    assert_eq!(counts_on(PORT_REFRESH), (2, vec![shard(plain)]));
    ask_on(PORT_REFRESH, other, RecordType::PTR);
    assert_eq!(counts_on(PORT_REFRESH), (3, vec![shard(other)]), "the plain name's shard was evicted");
    ask_on(PORT_REFRESH, plain, RecordType::A);
    assert_eq!(counts_on(PORT_REFRESH), (4, vec![shard(plain)]), "and is read again");
    assert_eq!(address(ask_on(PORT_REFRESH, changing, RecordType::A)).as_deref(), Some("203.0.113.1"));
    assert_eq!(counts_on(PORT_REFRESH), (5, vec![shard(changing)]));

    // A new version: the next query after the refresh interval is answered from the old one
    // while the refresh reads the new manifest and the new shard covering what the isolate
    // held; then the new answer comes with no read on any query's path.
    std::fs::write(&file, zone("203.0.113.2")).unwrap();
    let next = Index::new(compile_into(&dir, &[&file])).unwrap();
    assert_ne!(next.manifest().version, index.manifest().version);
    std::thread::sleep(Duration::from_millis(1_200));
    let mut seen = None;
    for _ in 0..20 {
        seen = address(ask_on(PORT_REFRESH, changing, RecordType::A));
        if seen.as_deref() == Some("203.0.113.2") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(seen.as_deref(), Some("203.0.113.2"), "the new version never appeared");
    let (reads, held) = counts_on(PORT_REFRESH);
    assert_eq!(reads, 5, "the new version's shard was read by the refresh, after a response");
    assert_eq!(held, vec![next.shard_for(&Name::from_str(changing).unwrap()) as u64]);
    let _ = std::fs::remove_dir_all(&dir);
}
