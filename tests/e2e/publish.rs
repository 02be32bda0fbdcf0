//! Publishing under query load in the real runtime: retention never pulls a version out from
//! under a reader. Each test runs workerds of its own (ports 18811-18819) over one writable
//! disk KV directory, as isolates at the edge share a namespace. One serves the admin API that
//! publishes (`PUT /admin/zones/<apex>`) and rolls back; the others answer queries, each with
//! its own refresh interval (`SNAPSHOT_REFRESH_SECONDS`) and a budget of one shard
//! (`SHARD_CACHE_KIB=1`), so that a query for a name in another shard reads that shard of the
//! version the isolate serves from KV, while publishes move the pointer on. A version deleted
//! under such an isolate answers SERVFAIL; every answer is checked against the versions
//! published.

use super::workerd::{Launch, Workerd};
use super::*;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;
use std::time::Instant;

use edgedns::snapshot::{self, Built, Index};
use edgedns::zone::compile::{compile_all, SourceFile};

const TOKEN: &str = "publish-e2e-token-0123456789";
/// The zone published, in versions `n` = 0, 1, ...
const APEX: &str = "rapid.test";
/// Its hosts: enough for three shards of the default size (128 KiB of records).
const HOSTS: u32 = 12_000;

/// A fresh workerd on `port` in `dir`, serving the built Worker with the shared directory `kv`
/// as its KV namespace, writable. `vars` are more worker variables (`NAME=VALUE ...`).
fn start(dir: &Path, kv: &Path, port: u16, vars: &str) -> Workerd {
    Launch::new(dir, port).kv(kv).writable().var("ADMIN_TOKEN", TOKEN).vars(vars.split_whitespace()).start()
}

/// A fresh directory for a test's workerds and KV.
fn fresh(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let kv = dir.join("kv");
    std::fs::create_dir_all(&kv).unwrap();
    (dir, kv)
}

/// Version `n` of the zone: `www` at 203.0.113.n, host `h<i>` at 10.n.(i / 256).(i % 256).
fn zone(n: u32) -> String {
    let mut text = format!("$TTL 60\n@ SOA ns1 hostmaster {n} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 203.0.113.{n}\n");
    for i in 0..HOSTS {
        text.push_str(&format!("h{i} A 10.{n}.{}.{}\n", i >> 8, i & 255));
    }
    text
}

/// A name the load asks about, and what it answers in version `n`.
#[derive(Clone)]
enum Probe {
    Www,
    Host(u32),
}

impl Probe {
    fn name(&self) -> String {
        match self {
            Self::Www => format!("www.{APEX}."),
            Self::Host(i) => format!("h{i}.{APEX}."),
        }
    }

    /// The version an answer's address belongs to, if it is one this name has in some version.
    fn version_of(&self, address: std::net::Ipv4Addr) -> Option<u32> {
        let [a, b, c, d] = address.octets();
        match self {
            Self::Www => ([a, b, c] == [203, 0, 113]).then_some(u32::from(d)),
            Self::Host(i) => (a == 10 && u32::from(c) == i >> 8 && u32::from(d) == i & 255).then_some(u32::from(b)),
        }
    }
}

/// One host in each shard the admin API splits the zone into, then `www`: consecutive
/// queries ask about different shards.
fn probes() -> Vec<Probe> {
    let catalog = compile_all(&[SourceFile { path: format!("{APEX}.zone"), text: zone(0) }]).unwrap();
    let index = Index::new(snapshot::build(&catalog, snapshot::DEFAULT_SHARD_BYTES, 0).unwrap().manifest).unwrap();
    let mut seen = BTreeSet::new();
    let mut probes = Vec::new();
    for i in (0..HOSTS).step_by(97) {
        if seen.insert(index.shard_for(&Name::from_str(&Probe::Host(i).name()).unwrap())) {
            probes.push(Probe::Host(i));
        }
    }
    assert!(probes.len() >= 3, "the zone fits in {} shard(s)", probes.len());
    probes.push(Probe::Www);
    probes
}

/// An admin request to the workerd on `port`: (status, JSON body).
fn admin_on(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let url = format!("http://127.0.0.1:{port}{path}");
    let authorization = format!("authorization: Bearer {TOKEN}");
    let mut args = vec!["-X", method, "-H", &authorization];
    let file = body.map(|body| post_file(body.as_bytes()));
    let data = file.as_ref().map(|file| format!("@{}", file.display()));
    if let Some(data) = &data {
        args.extend(["-H", "content-type: application/json", "--data-binary", data]);
    }
    args.push(&url);
    let exchange = curl(&args);
    if let Some(file) = file {
        let _ = std::fs::remove_file(file);
    }
    (exchange.status, serde_json::from_slice(&exchange.body).unwrap_or(serde_json::Value::Null))
}

/// Publishes version `n` of the zone through the admin API on `port`; its version id.
fn publish_version(port: u16, n: u32) -> String {
    let body = serde_json::json!({ "zone": zone(n) }).to_string();
    let (status, report) = admin_on(port, "PUT", &format!("/admin/zones/{APEX}"), Some(&body));
    assert_eq!(status, 200, "publishing version {n}: {report}");
    report["version"].as_str().expect("a version id").to_owned()
}

/// One DoH POST over a fresh HTTP/1.1 connection (lighter than a curl process, so the load
/// keeps up): the status and the body (`Content-Length` bytes: workerd keeps the connection
/// open a while after the response).
fn post(port: u16, query: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(20))).map_err(|e| e.to_string())?;
    let head = format!(
        "POST /dns-query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/dns-message\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        query.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(query)).map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if let Some(end) = response.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1).and_then(|status| status.parse().ok()).ok_or("no status")?;
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .ok_or_else(|| format!("no content-length: {head}"))?;
            if response.len() >= end + 4 + length {
                return Ok((status, response[end + 4..end + 4 + length].to_vec()));
            }
        }
        let read = stream.read(&mut buffer).map_err(|e| format!("read: {e}"))?;
        if read == 0 {
            return Err(format!("connection closed after {} bytes", response.len()));
        }
        response.extend_from_slice(&buffer[..read]);
    }
}

/// Asks the workerd on `port` about `probe`: the version its answer belongs to, or what is
/// wrong with the answer (an error status, an RCODE other than NOERROR, not exactly one A
/// record, an address no version has, a version not published yet).
fn ask_version(port: u16, probe: &Probe, latest: u32) -> Result<u32, String> {
    let (status, body) = post(port, &query_bytes(&probe.name(), RecordType::A, false))?;
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let message = Message::from_vec(&body).map_err(|e| format!("not a DNS message: {e}"))?;
    if message.metadata.response_code != ResponseCode::NoError {
        return Err(format!("{:?}", message.metadata.response_code));
    }
    let addresses: Vec<std::net::Ipv4Addr> = message.answers.iter().filter_map(|record| record.data.to_string().parse().ok()).collect();
    let [address] = addresses[..] else { return Err(format!("answers {:?}", answers(&message))) };
    match probe.version_of(address) {
        Some(n) if n <= latest => Ok(n),
        _ => Err(format!("{address} is in no version published (latest {latest})")),
    }
}

/// Waits (up to `seconds`) until the workerd on `port` answers from version `n`.
fn wait_serving(port: u16, n: u32, seconds: u64) {
    let started = Instant::now();
    let mut last = Err(String::new());
    while started.elapsed() < Duration::from_secs(seconds) {
        last = ask_version(port, &Probe::Www, u32::MAX);
        if last == Ok(n) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the workerd on {port} never served version {n} (last: {last:?})");
}

/// What a query loop saw.
#[derive(Default, Debug)]
struct Tally {
    queries: usize,
    failed: usize,
    /// The first failures, with the query's name.
    failures: Vec<String>,
    versions: BTreeSet<u32>,
}

/// Queries the workerd on `port` about `probes` in turn until `stop`, checking every answer
/// against the versions published up to `latest`.
fn load(port: u16, probes: Vec<Probe>, stop: Arc<AtomicBool>, latest: Arc<AtomicU32>) -> std::thread::JoinHandle<Tally> {
    std::thread::spawn(move || {
        let mut tally = Tally::default();
        for probe in probes.iter().cycle() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tally.queries += 1;
            match ask_version(port, probe, latest.load(Ordering::SeqCst)) {
                Ok(n) => {
                    tally.versions.insert(n);
                }
                Err(error) => {
                    tally.failed += 1;
                    if tally.failures.len() < 10 {
                        tally.failures.push(format!("{}: {error}", probe.name()));
                    }
                }
            }
        }
        tally
    })
}

/// Stops the load and returns each thread's tally.
fn finish(stop: &AtomicBool, threads: Vec<(&'static str, std::thread::JoinHandle<Tally>)>) -> Vec<(&'static str, Tally)> {
    stop.store(true, Ordering::Relaxed);
    threads.into_iter().map(|(name, thread)| (name, thread.join().expect("the load thread finishes"))).collect()
}

fn assert_no_failures(tallies: &[(&str, Tally)], readers: &[&Workerd]) {
    for (name, tally) in tallies {
        if tally.failed > 0 {
            let logs: Vec<String> = readers.iter().map(|workerd| workerd.log().lines().rev().take(8).collect::<Vec<_>>().join("\n")).collect();
            panic!(
                "{name}: {} of {} queries failed, first: {:#?}\nlogs (last lines, newest first):\n{}",
                tally.failed,
                tally.queries,
                tally.failures,
                logs.join("\n--\n")
            );
        }
        assert!(tally.queries >= 20, "{name}: only {} queries", tally.queries);
    }
}

/// The manifests in the KV directory (one per version whose keys are there).
fn stored_versions(kv: &Path) -> BTreeSet<String> {
    std::fs::read_dir(kv)
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().to_str()?.strip_prefix("snapshot:").map(str::to_owned))
        .filter(|rest| !rest.contains('.') && rest != "current" && rest != "history")
        .collect()
}

fn history_versions(port: u16) -> Vec<String> {
    let (status, listing) = admin_on(port, "GET", "/admin/zones", None);
    assert_eq!(status, 200, "{listing}");
    listing["history"].as_array().unwrap().iter().map(|entry| entry["version"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn twelve_publishes_within_a_minute_under_query_load_answer_every_query() {
    let (dir, kv) = fresh("publish-rapid");
    let probes = probes();
    let writer = start(&dir.join("writer"), &kv, 18814, "SNAPSHOT_REFRESH_SECONDS=1");
    let mut versions = vec![publish_version(18814, 0)];
    // A reader switching every second, and one at the default refresh (30 s), which serves
    // the first version throughout: both read shards of versions no longer current.
    let fast = start(&dir.join("fast"), &kv, 18815, "SNAPSHOT_REFRESH_SECONDS=1 SHARD_CACHE_KIB=1");
    let slow = start(&dir.join("slow"), &kv, 18816, "SHARD_CACHE_KIB=1");
    wait_serving(18815, 0, 10);
    wait_serving(18816, 0, 10);
    let stop = Arc::new(AtomicBool::new(false));
    let latest = Arc::new(AtomicU32::new(0));
    let threads: Vec<(&'static str, _)> = [("fast", 18815), ("fast", 18815), ("slow", 18816), ("slow", 18816)]
        .into_iter()
        .map(|(name, port)| (name, load(port, probes.clone(), Arc::clone(&stop), Arc::clone(&latest))))
        .collect();

    let started = Instant::now();
    for n in 1..=12 {
        latest.store(n, Ordering::SeqCst);
        versions.push(publish_version(18814, n));
    }
    let took = started.elapsed();
    wait_serving(18815, 12, 10);
    std::thread::sleep(Duration::from_secs(2));
    let tallies = finish(&stop, threads);
    assert!(took < Duration::from_secs(60), "12 publishes took {took:?}");
    assert_no_failures(&tallies, &[&fast, &slow, &writer]);
    let seen =
        |reader: &str| tallies.iter().filter(|(name, _)| *name == reader).flat_map(|(_, tally)| tally.versions.iter().copied()).collect::<BTreeSet<u32>>();
    assert!(seen("fast").len() >= 3, "the fast reader switched versions under load: {:?}", seen("fast"));
    assert!(seen("slow").contains(&0), "the slow reader served the first version: {:?}", seen("slow"));
    println!("12 publishes in {took:?}; {:?}", tallies.iter().map(|(name, tally)| (name, tally.queries, &tally.versions)).collect::<Vec<_>>());

    // Every version was current within the grace period: all are listed, all are in KV.
    let listed = history_versions(18814);
    assert_eq!(listed.len(), 13, "{listed:?}");
    assert_eq!(listed.first(), versions.last());
    assert_eq!(stored_versions(&kv), versions.iter().cloned().collect::<BTreeSet<_>>());
    drop((writer, fast, slow));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rolling_back_to_the_oldest_then_publishing_under_query_load_answers_every_query() {
    let (dir, kv) = fresh("publish-rollback");
    let probes = probes();
    let writer = start(&dir.join("writer"), &kv, 18817, "SNAPSHOT_REFRESH_SECONDS=1");
    let versions: Vec<String> = (0..10).map(|n| publish_version(18817, n)).collect();
    let fast = start(&dir.join("fast"), &kv, 18818, "SNAPSHOT_REFRESH_SECONDS=1 SHARD_CACHE_KIB=1");
    let slower = start(&dir.join("slower"), &kv, 18819, "SNAPSHOT_REFRESH_SECONDS=5 SHARD_CACHE_KIB=1");
    wait_serving(18818, 9, 10);
    wait_serving(18819, 9, 10);
    let stop = Arc::new(AtomicBool::new(false));
    let latest = Arc::new(AtomicU32::new(9));
    let threads: Vec<(&'static str, _)> = [("fast", 18818), ("fast", 18818), ("slower", 18819), ("slower", 18819)]
        .into_iter()
        .map(|(name, port)| (name, load(port, probes.clone(), Arc::clone(&stop), Arc::clone(&latest))))
        .collect();

    // Back to the oldest version the history lists, until both readers serve it.
    let listed = history_versions(18817);
    assert_eq!(listed.last(), versions.first(), "{listed:?}");
    let (status, rolled) = admin_on(18817, "POST", "/admin/rollback", Some(&serde_json::json!({ "to": versions[0] }).to_string()));
    assert_eq!(status, 200, "{rolled}");
    wait_serving(18818, 0, 10);
    wait_serving(18819, 0, 10);
    // Then a publish: the oldest falls beyond the last ten while both readers still serve it.
    latest.store(10, Ordering::SeqCst);
    let newest = publish_version(18817, 10);
    wait_serving(18818, 10, 10);
    wait_serving(18819, 10, 15);
    std::thread::sleep(Duration::from_secs(1));
    let tallies = finish(&stop, threads);
    assert_no_failures(&tallies, &[&fast, &slower, &writer]);
    for (name, tally) in &tallies {
        assert!(tally.versions.contains(&0) && tally.versions.contains(&10), "{name}: {:?}", tally.versions);
    }

    // The version current a moment ago is kept (and listed) through its grace period.
    let listed = history_versions(18817);
    assert_eq!(listed.len(), 11, "{listed:?}");
    assert_eq!((listed.first(), listed.last()), (Some(&newest), versions.first()));
    assert!(stored_versions(&kv).contains(&versions[0]));
    drop((writer, fast, slower));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writes every key of a built version into a KV directory as publishing stores it, with
/// sources, and points `snapshot:current` at it when `current`.
fn write_version(kv: &Path, built: &Built, sources: &[SourceFile], current: bool) {
    for (key, value) in built.entries() {
        std::fs::write(kv.join(key), snapshot::storable(value)).unwrap();
    }
    std::fs::write(kv.join(snapshot::sources_key(&built.manifest.version)), snapshot::sources_to_json(sources)).unwrap();
    if current {
        std::fs::write(kv.join(snapshot::CURRENT_KEY), snapshot::storable(&built.manifest_bytes)).unwrap();
    }
}

#[test]
fn admin_operations_on_a_version_too_large_to_read_whole_refuse_and_name_the_cli() {
    let (dir, kv) = fresh("publish-limit");
    let version = |hosts: u32, shard_bytes: usize| {
        let mut text = String::from("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for i in 0..hosts {
            text.push_str(&format!("h{i} A 10.9.{}.{}\n", i >> 8, i & 255));
        }
        let sources = vec![SourceFile { path: "limit.test.zone".into(), text }];
        (snapshot::build(&compile_all(&sources).unwrap(), shard_bytes, 0).unwrap(), sources)
    };
    // Over the admin API's 64 shards (1 KiB shards), and a small version.
    let (large, large_sources) = version(3_000, 1024);
    assert!(large.shards.len() > edgedns::publish::WORKER_LIMIT.shards, "{} shards", large.shards.len());
    let (small, small_sources) = version(10, snapshot::DEFAULT_SHARD_BYTES);
    write_version(&kv, &small, &small_sources, false);
    write_version(&kv, &large, &large_sources, true);
    let _workerd = start(&dir.join("workerd"), &kv, 18811, "");
    let refused = |(status, json): (u16, serde_json::Value), command: &str| {
        assert_eq!(status, 409, "{json}");
        let error = json["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.starts_with(&format!("snapshot {} is too large for the Worker to ", large.manifest.version)), "{error}");
        assert!(error.contains(command), "{error}");
    };
    refused(admin_on(18811, "GET", "/admin/zones", None), "`edgedns versions`");
    let upload = serde_json::json!({ "zone": "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n" }).to_string();
    refused(admin_on(18811, "PUT", "/admin/zones/other.test?dry_run=1", Some(&upload)), "`edgedns diff`");
    refused(admin_on(18811, "PUT", "/admin/zones/other.test", Some(&upload)), "`edgedns publish`");

    // From the small version, a rollback to the large one is refused before the pointer moves.
    std::fs::write(kv.join(snapshot::CURRENT_KEY), snapshot::storable(&small.manifest_bytes)).unwrap();
    let (status, listing) = admin_on(18811, "GET", "/admin/zones", None);
    assert_eq!((status, listing["current"].as_str()), (200, Some(small.manifest.version.as_str())), "{listing}");
    let to = serde_json::json!({ "to": large.manifest.version }).to_string();
    refused(admin_on(18811, "POST", "/admin/rollback", Some(&to)), "`edgedns rollback`");
    let pointer = snapshot::from_text(std::fs::read(kv.join(snapshot::CURRENT_KEY)).unwrap());
    assert_eq!(snapshot::Manifest::decode(&pointer).unwrap().version, small.manifest.version);
    let _ = std::fs::remove_dir_all(&dir);
}
