//! A fresh isolate under a burst: 200 DoH queries sent at once, the moment workerd listens,
//! for names spread over many shards (the repository's zones in 1 KiB shards). Every query
//! must be answered as a warm isolate answers it (no SERVFAIL because another query is
//! loading), and the isolate must read each key once: the manifest, each distinct shard, and
//! `health:current` when a shard of routed sets is among them.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use super::shards::{compile_into, counts_on, start_on};
use super::*;

use edgedns::snapshot::Index;
use edgedns::zone::compile::{compile_all, SourceFile};

const PORT: u16 = 18831;
const BURST: usize = 200;

/// The public zones' sources (zones/ and tests/zones/, not the private views).
fn public_sources() -> Vec<SourceFile> {
    let mut sources = Vec::new();
    for dir in ["zones", "tests/zones"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                sources.push(SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() });
            }
        }
    }
    sources
}

/// An HTTP status and body, or why there is none.
pub(super) type Exchanged = Result<(u16, Vec<u8>), String>;

/// One DoH POST on its own HTTP/1.1 connection: the status and the body.
fn post(port: u16, query: &[u8]) -> Exchanged {
    post_with(port, query, "")
}

/// [`post`] with more header lines (each ending in `\r\n`).
pub(super) fn post_with(port: u16, query: &[u8], headers: &str) -> Exchanged {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let head = format!(
        "POST /dns-query HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/dns-message\r\naccept: application/dns-message\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
        query.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(query)).map_err(|e| e.to_string())?;
    // workerd keeps the connection open whatever `connection: close` says: read the head,
    // then the body by its length (or its chunks).
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    let (status, headers, split) = loop {
        let read = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("closed before the end of the headers".into());
        }
        response.extend_from_slice(&buffer[..read]);
        if let Some(split) = response.windows(4).position(|window| window == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
            let status: u16 = headers.split(' ').nth(1).and_then(|code| code.parse().ok()).ok_or("no status")?;
            break (status, headers, split);
        }
    };
    let length = headers.lines().find_map(|line| line.strip_prefix("content-length:")).and_then(|value| value.trim().parse::<usize>().ok());
    let complete = |data: &[u8]| match length {
        Some(length) => data.len() >= length,
        None => data.ends_with(b"0\r\n\r\n"),
    };
    while !complete(&response[split + 4..]) {
        let read = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        if read == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..read]);
    }
    let mut body = response[split + 4..].to_vec();
    if length.is_none() && headers.contains("transfer-encoding: chunked") {
        body = unchunk(&body)?;
    }
    Ok((status, body))
}

fn unchunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line = data.windows(2).position(|window| window == b"\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line]).trim(), 16).map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(data.get(line + 2..line + 2 + size).ok_or("short chunk")?);
        data = data.get(line + 4 + size..).ok_or("short chunk")?;
    }
}

/// The RCODE and the sorted answer records.
fn summary(message: &Message) -> (ResponseCode, Vec<String>) {
    let mut records = answers(message);
    records.sort();
    (message.metadata.response_code, records)
}

#[test]
fn a_cold_isolate_answers_a_burst_and_reads_each_key_once() {
    let dir = scratch("isolate-burst");
    std::fs::create_dir_all(&dir).unwrap();
    // A zone of many names beside the repository's, so the burst spans dozens of shards.
    let zone = dir.join("burst.test.zone");
    let mut text = String::from("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
    for i in 0..1_000 {
        text.push_str(&format!("host-{i:04} A 198.51.{}.{}\n", i / 250, i % 250));
    }
    std::fs::write(&zone, &text).unwrap();
    let manifest = compile_into(&dir, &[&zone]);
    let index = Index::new(manifest.clone()).unwrap();
    // Every public owner name, in order: the burst cycles through them.
    let mut sources = public_sources();
    sources.push(SourceFile { path: zone.display().to_string(), text });
    let catalog = compile_all(&sources).unwrap_or_else(|errors| panic!("{errors:?}"));
    let mut names: Vec<Name> =
        catalog.zones().iter().flat_map(|zone| zone.nodes().map(|(name, _)| Name::from(name.into_owned())).collect::<Vec<_>>()).collect();
    names.sort();
    names.dedup();
    // Half as many names as queries, spread over the whole list (so over many shards).
    let stride = names.len().div_ceil(BURST / 2).max(1);
    let names: Vec<Name> = names.into_iter().step_by(stride).collect();
    let shards: std::collections::BTreeSet<usize> = names.iter().map(|name| index.shard_for(name)).collect();
    let routed = shards.iter().any(|&n| manifest.shards()[n].routed);
    assert!(shards.len() >= 20, "the burst spans {} shards", shards.len());
    let queries: Vec<(Name, Vec<u8>)> =
        (0..BURST).map(|i| names[i % names.len()].clone()).map(|name| (name.clone(), query_bytes(&name.to_ascii(), RecordType::A, false))).collect();

    let _workerd = start_on(&dir, PORT, "SNAPSHOT_REFRESH_SECONDS=300 SHARD_CACHE_KIB=100000");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(BURST));
    let threads: Vec<_> = queries
        .iter()
        .cloned()
        .map(|(name, query)| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (name, post(PORT, &query))
            })
        })
        .collect();
    let burst: Vec<(Name, Exchanged)> = threads.into_iter().map(|thread| thread.join().unwrap()).collect();
    let (reads, _) = counts_on(PORT);

    // Every answer is what the warm isolate says, asked one at a time afterwards.
    let mut failures = Vec::new();
    for (name, outcome) in &burst {
        let (status, body) = match outcome {
            Ok(exchange) => exchange.clone(),
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        let Ok(message) = Message::from_vec(&body).map_err(|_| ()).and_then(|m| if status == 200 { Ok(m) } else { Err(()) }) else {
            failures.push(format!("{name}: HTTP {status}"));
            continue;
        };
        if message.metadata.response_code == ResponseCode::ServFail {
            failures.push(format!("{name}: SERVFAIL"));
            continue;
        }
        // Routed sets may answer differently on each ask (weights, random picks).
        if manifest.shards()[index.shard_for(name)].routed {
            continue;
        }
        let (status, body) = post(PORT, &query_bytes(&name.to_ascii(), RecordType::A, false)).unwrap();
        assert_eq!(status, 200);
        let warm = Message::from_vec(&body).unwrap();
        if summary(&message) != summary(&warm) {
            failures.push(format!("{name}: {:?} in the burst, {:?} warm", summary(&message), summary(&warm)));
        }
    }
    assert!(failures.is_empty(), "{} of {BURST} queries went wrong:\n{}", failures.len(), failures.join("\n"));
    // health:current is read on a query's path only if no response has yet read it in the
    // background when the first routed shard is asked for.
    let expected = 1 + shards.len() as u64;
    assert!(
        reads == expected || (routed && reads == expected + 1),
        "KV reads on the queries' path: {reads}, not the manifest and {} shards{}",
        shards.len(),
        if routed { " (and health:current)" } else { "" }
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// (status, the first A record's address) for `name`.
fn address_of(port: u16, name: &str) -> (ResponseCode, Option<String>) {
    let message = curl_post(&format!("http://127.0.0.1:{port}/dns-query"), &query_bytes(name, RecordType::A, false), &[]).message();
    (message.metadata.response_code, message.answers.first().map(|record| record.data.to_string()))
}

#[test]
fn a_cold_isolate_answers_from_the_last_good_version_when_the_current_one_is_broken() {
    let dir = scratch("isolate-fallback");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).unwrap();
    let file = zones.join("fallback.test.zone");
    let zone = |address: &str| format!("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A {address}\n");
    std::fs::write(&file, zone("203.0.113.1")).unwrap();
    let old = compile_into(&dir, &[&file]);
    std::fs::write(&file, zone("203.0.113.2")).unwrap();
    let new = compile_into(&dir, &[&file]);
    let kv = dir.join("kv");
    let history = serde_json::json!([
        { "version": new.version, "published_at": 2, "zones": 1 },
        { "version": old.version, "published_at": 1, "zones": 1 },
    ]);
    std::fs::write(kv.join("snapshot:history"), history.to_string()).unwrap();
    let name = "www.fallback.test.";
    let shard = Index::new(new.clone()).unwrap().shard_for(&Name::from_str(name).unwrap());
    let shard_file = kv.join(edgedns::snapshot::shard_key(&new.version, shard));
    let shard_bytes = std::fs::read(&shard_file).unwrap();

    // The current version's shard is missing (as when a location sees the new pointer first).
    std::fs::remove_file(&shard_file).unwrap();
    {
        let _workerd = start_on(&dir, PORT + 1, "SNAPSHOT_REFRESH_SECONDS=300");
        assert_eq!(address_of(PORT + 1, name), (ResponseCode::NoError, Some("203.0.113.1".into())), "answered from the previous version");
        let status = curl(&["-H", &format!("authorization: Bearer {}", super::shards::TOKEN), &format!("http://127.0.0.1:{}/admin/isolate", PORT + 1)]);
        let status: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
        assert_eq!(status["snapshot"], serde_json::json!(new.version));
        assert_eq!(status["fallback"]["snapshot"], serde_json::json!(old.version), "{status}");
        // Names of the current version's other shards still come from it.
        assert_eq!(address_of(PORT + 1, "www.example.com.").0, ResponseCode::NoError);
    }

    // The pointer is corrupt: a cold isolate serves the newest version whose manifest loads.
    std::fs::write(&shard_file, &shard_bytes).unwrap();
    std::fs::write(kv.join("snapshot:current"), b"not a manifest").unwrap();
    {
        let _workerd = start_on(&dir, PORT + 2, "SNAPSHOT_REFRESH_SECONDS=300");
        assert_eq!(address_of(PORT + 2, name), (ResponseCode::NoError, Some("203.0.113.2".into())), "served from the history");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
