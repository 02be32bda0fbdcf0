//! `edgedns::import::octodns` on octoDNS zone files (YAML) and `edgedns::import::bind` on
//! BIND master files, one input fuzzed at a time beside the fixtures of
//! `tests/fixtures/octodns/` and `tests/fixtures/bind/`.
//!
//! Asserts: no panic (malformed input is an `ImportError`); `summary.passes_check` tells the
//! truth: the files written compile with the project's compiler exactly when it says so, and
//! when they do not, the report says why (an invalid or unresolved finding); files that pass
//! can be served: their snapshot round-trips and every answer about their names encodes and
//! goes out as HTTP 200.

#![no_main]

use edgedns::import::{bind, octodns, FindingKind};
use edgedns::zone::compile::{compile_all, SourceFile};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const PROBE_TYPES: &[RecordType] = &[RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::TXT, RecordType::ANY];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let imported = match selector % 3 {
        0 => octodns::import(&Name::from_ascii("example.com.").unwrap(), text, &octodns::Options::default()),
        1 => octodns::import(&Name::from_ascii("example.com.").unwrap(), text, &octodns::Options { without_health_checks: true }),
        _ => bind::import(&Name::from_ascii("example.org.").unwrap(), text),
    };
    let Ok(imported) = imported else { return };
    let Some(master) = imported.master_file.clone() else { return };
    let mut sources = vec![SourceFile { path: imported.master_file_name(), text: master }];
    if !imported.routes_file.is_empty() {
        sources.push(SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() });
    }
    let compiled = compile_all(&sources);
    assert_eq!(
        compiled.is_ok(),
        imported.summary.passes_check,
        "passes_check says {} but the compiler says {:?}\n--- master:\n{}\n--- routes:\n{}",
        imported.summary.passes_check,
        compiled.as_ref().err(),
        sources[0].text,
        imported.routes_file
    );
    if !imported.summary.passes_check {
        assert!(
            imported.report.iter().any(|f| matches!(f.kind, FindingKind::Invalid | FindingKind::Unresolved)),
            "the files do not compile and the report does not say why: {:#?}",
            imported.report
        );
    }
    let Ok(catalog) = compiled else { return };
    let names = common::catalog_names(&catalog, 16);
    common::check_encodable(&catalog, &names, PROBE_TYPES);
    common::check_snapshot_round_trip(&catalog, &names, PROBE_TYPES);
});
