//! `edgedns::import` on Route 53 exports (AWS CLI JSON: record sets, health checks, CIDR
//! collections, traffic policies), one input fuzzed at a time beside the fixtures of
//! `tests/fixtures/route53/`.
//!
//! Asserts: no panic ("no input panics", the module's promise); `summary.passes_check` tells
//! the truth: the files written compile with the project's compiler exactly when it says so;
//! and files that pass can be served: their snapshot round-trips (same image, same answers)
//! and every answer about their names encodes and goes out as HTTP 200.

#![no_main]

use edgedns::import::{import_record_sets, import_traffic_policy};
use edgedns::zone::compile::{compile_all, SourceFile};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const RECORD_SETS: &str = include_str!("../../tests/fixtures/route53/example.net.record-sets.json");
const HEALTH_CHECKS: &str = include_str!("../../tests/fixtures/route53/health-checks.json");
const CIDR: &str = include_str!("../../tests/fixtures/route53/cidr-collections.json");

const PROBE_TYPES: &[RecordType] = &[RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::TXT, RecordType::ANY];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let zone = Name::from_ascii("example.net.").unwrap();
    let imported = match selector % 4 {
        0 => import_record_sets(text, &zone, Some(HEALTH_CHECKS), Some(CIDR)),
        1 => import_record_sets(RECORD_SETS, &zone, Some(text), Some(CIDR)),
        2 => import_record_sets(RECORD_SETS, &zone, Some(HEALTH_CHECKS), Some(text)),
        _ => import_traffic_policy(text, &zone, "policy", Some(60), Some(HEALTH_CHECKS)),
    };
    let Ok(imported) = imported else { return };
    let Some(master) = imported.master_file.clone() else { return };
    let sources = [
        SourceFile { path: imported.master_file_name(), text: master },
        SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() },
    ];
    let compiled = compile_all(&sources);
    assert_eq!(
        compiled.is_ok(),
        imported.summary.passes_check,
        "passes_check says {} but the compiler says {:?}\n--- master:\n{}\n--- routes:\n{}",
        imported.summary.passes_check,
        compiled.as_ref().err(),
        sources[0].text,
        sources[1].text
    );
    let Ok(catalog) = compiled else { return };
    let names = common::catalog_names(&catalog, 16);
    common::check_encodable(&catalog, &names, PROBE_TYPES);
    common::check_snapshot_round_trip(&catalog, &names, PROBE_TYPES);
});
