//! `edgedns::zone::delegation::parse` on delegation-sets TOML files, then the compiler on the
//! file beside `zones/shared.example.zone` (no SOA or NS of its own) and its routes file,
//! which names the set `edge`.
//!
//! Asserts: no panic; the compiler fails whenever the reader does; when the compiler accepts
//! the file, shared.example has the generated SOA and apex NS of `edge`, and every answer
//! about the zone encodes, goes out as HTTP 200 and survives the snapshot round trip.

#![no_main]

use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::delegation;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const PROBE_TYPES: &[RecordType] = &[RecordType::SOA, RecordType::NS, RecordType::A, RecordType::AAAA, RecordType::ANY];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let read = delegation::parse(text);
    if let Err(errors) = &read {
        assert!(!errors.is_empty(), "an error result with no error");
    }
    let sources = [
        SourceFile { path: "zones/delegation-sets.toml".to_owned(), text: text.to_owned() },
        SourceFile { path: "zones/shared.example.zone".to_owned(), text: common::SHARED_EXAMPLE_ZONE.to_owned() },
        SourceFile { path: "zones/shared.example.routes.toml".to_owned(), text: common::SHARED_EXAMPLE_ROUTES.to_owned() },
    ];
    let Ok(catalog) = compile_all(&sources) else { return };
    let Ok(sets) = read else { panic!("the compiler accepted a delegation-sets file the reader rejects") };
    let Some((_, edge)) = sets.get("edge") else { panic!("the compiler accepted a zone whose delegation set is missing") };
    let apex = Name::from_ascii("shared.example.").unwrap();
    let zone = catalog.find(&apex).expect("the zone compiled");
    let node = zone.node(&apex).expect("the apex");
    let name_servers = node.rrset(RecordType::NS).expect("a generated NS RRset");
    assert_eq!(name_servers.records.len(), edge.name_servers.len());
    assert!(edge.name_servers.len() >= delegation::MIN_NAME_SERVERS);

    let mut names = common::catalog_names(&catalog, 12);
    names.push(Name::from_ascii("nope.shared.example.").unwrap());
    common::check_encodable(&catalog, &names, PROBE_TYPES);
    common::check_snapshot_round_trip(&catalog, &names, PROBE_TYPES);
});
