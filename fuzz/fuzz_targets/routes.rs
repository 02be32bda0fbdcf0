//! `edgedns::zone::routes::parse` on routes TOML files (for example.org.), then the compiler on
//! the file beside `zones/example.org.zone` and `zones/example.com.zone`.
//!
//! Asserts: no panic; the compiler fails whenever the routes reader does; every catalog the
//! compiler accepts can be served: answers about every routed name, for each probe client
//! location, ECS subnet and health state, encode and go out as HTTP 200 with a DNS
//! response echoing the query, and the snapshot round-trips (same image, same answers).

#![no_main]

use edgedns::health::{CheckState, HealthSnapshot};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::routes;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const PROBE_TYPES: &[RecordType] = &[RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::TXT, RecordType::MX, RecordType::ANY];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let apex = Name::from_ascii("example.org.").unwrap();
    let read = routes::parse(text, &apex);
    if let Err(errors) = &read {
        assert!(!errors.is_empty(), "an error result with no error");
    }
    let sources = [
        SourceFile { path: "zones/example.org.zone".to_owned(), text: common::EXAMPLE_ORG_ZONE.to_owned() },
        SourceFile { path: "zones/example.com.zone".to_owned(), text: common::EXAMPLE_COM_ZONE.to_owned() },
        SourceFile { path: "zones/example.org.routes.toml".to_owned(), text: text.to_owned() },
    ];
    let Ok(catalog) = compile_all(&sources) else { return };
    let Ok(parsed) = read else { panic!("the compiler accepted a routes file the reader rejects") };

    let mut names = common::catalog_names(&catalog, 12);
    for (_, set) in parsed.sets.iter().take(16) {
        if let Ok(name) = Name::from_ascii(&set.name) {
            if name.is_wildcard() {
                names.push(Name::from_ascii("zz").unwrap().append_domain(&name.base_name()).unwrap_or(name));
            } else {
                names.push(name);
            }
        }
    }
    common::check_encodable(&catalog, &names, PROBE_TYPES);
    // Every declared check down, then up (failover, fall back to all when all are down).
    for healthy in [false, true] {
        let mut snapshot = HealthSnapshot { updated_at: 1_000, ..HealthSnapshot::default() };
        for id in catalog.health_checks().keys() {
            snapshot.checks.insert(id.clone(), CheckState { healthy, ..Default::default() });
        }
        common::answer_all(&catalog, &names, &[RecordType::A, RecordType::AAAA], &snapshot.view(2_000));
    }
    common::check_snapshot_round_trip(&catalog, &names, PROBE_TYPES);
});
