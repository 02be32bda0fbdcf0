//! After a trap the isolate answers again: the Worker built with `--features test-trap`
//! (`make trap-worker`, `.run/trap-build`; `EDGEDNS_TRAP_BUILD` names another), whose
//! `/__trap-<kind>` routes fail as a bug would (src/worker/test_trap.rs), served by a workerd of
//! its own. For each kind of failure (a Rust panic, a bare wasm trap; before the Worker awaits
//! anything or after), the failing request ends (an error, not a hang), the next DoH query is
//! answered, and the isolate's counters start from zero: the wasm instance was started anew
//! (worker-build's recovery, kept by scripts/object-entry.mjs), not left running on the state
//! the trap interrupted.

use std::path::PathBuf;
use std::time::Instant;

use super::shards::{compile_into, TOKEN};
use super::workerd::Launch;
use super::*;

const PORT: u16 = 18851;

fn trap_build() -> PathBuf {
    PathBuf::from(std::env::var("EDGEDNS_TRAP_BUILD").unwrap_or_else(|_| ".run/trap-build".into()))
}

/// Requests this isolate has served (its wasm instance's count).
fn requests_served() -> u64 {
    let exchange = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT}/admin/isolate")]);
    assert_eq!(exchange.status, 200, "{}", String::from_utf8_lossy(&exchange.body));
    let status: serde_json::Value = serde_json::from_slice(&exchange.body).unwrap();
    status["counts"]["requests"].as_u64().unwrap()
}

fn answers_a_query() {
    let message = curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes("www.example.com.", RecordType::A, false), &[]).message();
    assert_eq!(message.metadata.response_code, ResponseCode::NoError, "{message:?}");
    assert!(!message.answers.is_empty(), "{message:?}");
}

/// The failing request: its HTTP status (0 when the connection ended without one) and how
/// long it took.
fn trap(kind: &str) -> (u16, Duration) {
    let started = Instant::now();
    let output = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "20", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{PORT}/__trap-{kind}"))
        .output()
        .expect("curl runs");
    (String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0), started.elapsed())
}

#[test]
fn after_a_panic_or_a_trap_the_instance_starts_anew_and_answers() {
    let build = trap_build();
    assert!(build.join("index.js").exists(), "{}: run `make trap-worker`", build.display());
    let dir = scratch("recovery");
    let _ = std::fs::remove_dir_all(&dir);
    compile_into(&dir, &[]);
    let workerd = Launch::new(&dir, PORT).build(&build).var("ADMIN_TOKEN", TOKEN).start();
    for kind in ["panic", "unreachable", "panic-later", "unreachable-later"] {
        answers_a_query();
        answers_a_query();
        let before = requests_served();
        assert!(before >= 3, "{kind}: {before} requests before the trap");
        let (status, took) = trap(kind);
        assert!(status == 0 || status >= 500, "{kind}: the failing request answered {status}");
        assert!(took < Duration::from_secs(15), "{kind}: the failing request hung for {took:?}");
        answers_a_query();
        // The query and this read: the counts of a fresh instance.
        let after = requests_served();
        assert!(after <= 2, "{kind}: {after} requests counted after the trap (before: {before}): the instance was not started anew\n{}", workerd.log());
    }
    answers_a_query();
}
