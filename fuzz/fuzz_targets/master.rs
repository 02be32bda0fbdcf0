//! `edgedns::zone::master::parse` on master files, then the whole compiler
//! (`zone::compile::compile_all`) on the same text.
//!
//! Asserts: no panic; the compiler fails whenever the reader does; every catalog the compiler
//! accepts is one the engine can serve: its snapshot round-trips (`decode(encode(c))` encodes
//! the same and answers identically), and every answer about its names encodes and goes out
//! as HTTP 200 with a DNS response echoing the query.

#![no_main]

use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::master;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

/// File names whose stem is the default `$ORIGIN` (the first one has none).
const PATHS: &[&str] = &["zone.txt", "example.com.zone", "conformance.test.zone", "2.0.192.in-addr.arpa.zone"];

const PROBE_TYPES: &[RecordType] =
    &[RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::NS, RecordType::TXT, RecordType::SOA, RecordType::ANY, RecordType::DS];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let path = PATHS[usize::from(selector) % PATHS.len()];
    let origin = edgedns::zone::compile::default_origin(path);
    let read = master::parse(text, origin.as_ref());
    if let Err(errors) = &read {
        assert!(!errors.is_empty(), "an error result with no error");
        assert!(errors.len() <= 101, "more errors than the cap: {}", errors.len());
        assert!(errors.iter().all(|error| error.line >= 1), "an error without a line: {errors:?}");
    }
    let compiled = compile_all(&[SourceFile { path: path.to_owned(), text: text.to_owned() }]);
    let catalog = match compiled {
        Ok(catalog) => catalog,
        Err(errors) => {
            assert!(!errors.is_empty(), "a failed compile with no error");
            return;
        }
    };
    assert!(read.is_ok(), "the compiler accepted a file the reader rejects");
    let mut names = common::catalog_names(&catalog, 16);
    names.push(Name::from_ascii("example.com.").unwrap());
    common::check_encodable(&catalog, &names, PROBE_TYPES);
    common::check_snapshot_round_trip(&catalog, &names, PROBE_TYPES);
});
