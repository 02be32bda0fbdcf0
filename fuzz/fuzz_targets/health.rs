//! `edgedns::health::HealthSnapshot::from_json` on the KV health value (`health:current`).
//!
//! Asserts: no panic; what it reads serializes back to JSON that reads as the same snapshot;
//! its view at any time is consistent (an override always wins; a stale snapshot's
//! measured states count as unknown; the summary's age is now − updated_at); and the
//! pipeline answers the routed names of the fixed catalog with it, HTTP 200 each.

#![no_main]

use edgedns::health::HealthSnapshot;
use edgedns::policy::HealthView;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(snapshot) = HealthSnapshot::from_json(text) else { return };
    let json = serde_json::to_string(&snapshot).expect("a snapshot serializes");
    assert_eq!(HealthSnapshot::from_json(&json).as_ref(), Ok(&snapshot), "JSON round trip: {json}");

    // Staleness follows the heartbeat the snapshot was written with.
    let stale_after = snapshot.stale_after_ms();
    for now in [0, snapshot.updated_at, snapshot.updated_at.saturating_add(stale_after + 1), u64::MAX] {
        let view = snapshot.view(now);
        assert_eq!(view.stale, snapshot.updated_at != 0 && now.saturating_sub(snapshot.updated_at) > stale_after);
        let ids = snapshot.checks.keys().chain(snapshot.overrides.keys()).map(String::as_str);
        for id in ids.chain(["site-a", "pool-1", ""]).take(64) {
            let expected = match (snapshot.overrides.get(id), view.stale) {
                (Some(forced), _) => Some(forced.healthy),
                (None, true) => None,
                (None, false) => snapshot.checks.get(id).map(|state| state.healthy),
            };
            assert_eq!(view.is_healthy(id), expected, "check {id:?} at {now}");
        }
        let summary = view.summary();
        if snapshot.updated_at != 0 {
            assert_eq!(summary.age_ms, Some(now.saturating_sub(snapshot.updated_at)));
            assert_eq!(summary.stale, view.stale);
        }
    }

    let view = snapshot.view(snapshot.updated_at.saturating_add(1_000));
    let names: Vec<Name> = ["www.example.org.", "app.example.org.", "pool.example.org.", "edge.example.org.", "example.org."]
        .iter()
        .map(|name| Name::from_ascii(name).unwrap())
        .collect();
    common::answer_all(common::catalog(), &names, &[RecordType::A], &view);
});
