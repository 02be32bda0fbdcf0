//! `edgedns::snapshot::decode` on KV snapshot bundles (manifest and shards), and
//! `Manifest::decode_shard` on each of their shards.
//!
//! Asserts, once per process: the fixed catalog (compiled from `zones/` and `tests/zones/`)
//! round-trips, `encode(decode(encode(catalog))) == encode(catalog)`, and the decoded catalog
//! answers every probe question byte for byte as the compiled one does.
//! Per input: no panic; an image that decodes re-encodes, the re-encoded image decodes and is
//! a fixed point of decode∘encode; and the pipeline answers questions about every name the
//! decoded catalog holds with HTTP 200 and a decodable DNS response echoing the query (the
//! engine trusts snapshots, so a decodable image must never make it panic).

#![no_main]

use std::sync::Once;

use edgedns::policy::NoHealthData;
use edgedns::snapshot;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const PROBE_TYPES: &[RecordType] = &[RecordType::A, RecordType::AAAA, RecordType::CNAME, RecordType::NS, RecordType::ANY, RecordType::DS];

fuzz_target!(|data: &[u8]| {
    static FIXED: Once = Once::new();
    FIXED.call_once(|| {
        let names: Vec<Name> = common::NAMES.iter().map(|name| Name::from_ascii(name).unwrap()).collect();
        let image = common::check_snapshot_round_trip(common::catalog(), &names, common::TYPES);
        assert_eq!(image, common::catalog_image());
    });

    // Each shard alone, as a cold isolate decodes it: no panic, and the part it decodes to
    // answers without panicking.
    if let Ok((manifest, shards)) = snapshot::decode_bundle(data) {
        for (n, bytes) in shards.iter().enumerate() {
            if let Ok(part) = manifest.decode_shard(n, bytes) {
                let names = common::catalog_names(&part, 8);
                common::answer_all(&part, &names, PROBE_TYPES, &NoHealthData);
            }
        }
    }
    let Ok(catalog) = snapshot::decode(data) else { return };
    let image = snapshot::encode(&catalog).unwrap_or_else(|error| panic!("a decoded snapshot does not re-encode: {error:?}"));
    let again = snapshot::decode(&image).unwrap_or_else(|error| panic!("a re-encoded snapshot does not decode: {error}"));
    let twice = snapshot::encode(&again).unwrap_or_else(|error| panic!("does not re-encode twice: {error:?}"));
    assert!(twice == image, "decode∘encode is not idempotent:\n{image:02x?}\n{twice:02x?}");
    let names = common::catalog_names(&catalog, 24);
    common::answer_all(&catalog, &names, PROBE_TYPES, &NoHealthData);
});
