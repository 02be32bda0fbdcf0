//! The benchmark's client, defined once for every harness that runs the engine benchmark:
//! `benches/engine.rs` (natively under criterion, and on wasm32-wasip1) and the `bench-loop`
//! build's `/__bench` route inside workerd (`src/bench_worker.rs`). Each includes this file
//! with `#[path]` beside `zonegen.rs`; the crate refers to itself as `edgedns` for it
//! (`extern crate self as edgedns` in `src/lib.rs` under the `bench-loop` feature).

use edgedns::client::{Client, EdgeLocation};
use edgedns::doh::HttpRequest;
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::server::{handle, Environment, Zones};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;

use super::zonegen;

/// The generated zone of `records` records (`zonegen`), compiled; and how many hosts it has.
pub fn catalog(records: usize) -> Result<(Catalog, usize), String> {
    let zone = zonegen::generate(records);
    let sources = [SourceFile { path: "bench.test.zone".into(), text: zone.master }, SourceFile { path: "bench.test.routes.toml".into(), text: zone.routes }];
    let catalog = compile_all(&sources).map_err(|errors| format!("{errors:?}"))?;
    Ok((catalog, zone.hosts))
}

/// `catalog` as an isolate holds it: published as a snapshot in one shard and read back
/// compact (`src/zone/compact.rs`), so plain sets are answered from the shard's bytes.
// The workerd loop (`src/bench_worker.rs`) answers from the catalog it compiles only.
#[cfg_attr(feature = "bench-loop", allow(dead_code))]
pub fn held_compact(catalog: &Catalog) -> Result<Catalog, String> {
    let built = edgedns::snapshot::build(catalog, usize::MAX / 2, 1).map_err(|error| format!("{error:?}"))?;
    let shard = built.shards.first().ok_or("no shard")?;
    built.manifest.decode_shard(0, shard).map_err(|error| format!("{error:?}"))
}

/// The client every case asks as: an edge in Seattle, US-WA.
pub fn client() -> Client {
    Client {
        address: "198.51.100.7".parse().ok(),
        location: EdgeLocation {
            country: Some("US".into()),
            continent: Some("NA".into()),
            region_code: Some("WA".into()),
            latitude: Some(47.61),
            longitude: Some(-122.33),
            colo: Some("SEA".into()),
            asn: Some(64501),
            ..EdgeLocation::default()
        },
        location_source: None,
    }
}

/// (case id, DoH POST body) for a zone with `hosts` hosts; cases without a body are left out.
pub fn cases(hosts: usize) -> Vec<(&'static str, Vec<u8>)> {
    zonegen::cases(hosts).into_iter().filter_map(|case| Some((case.id, case.body()?))).collect()
}

/// A DoH POST of `body`.
pub fn post(body: &[u8]) -> HttpRequest<'_> {
    HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body, ..HttpRequest::default() }
}

/// One query through the whole handler (parse, answer, encode, HTTP headers): the HTTP status
/// and the response body's length (so nothing is optimised out).
pub fn answer(request: &HttpRequest<'_>, catalog: &Catalog, client: &Client, random: &mut SplitMix) -> (u16, usize) {
    let mut environment = Environment { client, health: &NoHealthData, random, locator: None, signer: None, signing_errors: Vec::new() };
    let response = handle(request, Zones::Loaded(catalog), &mut environment);
    (response.status, response.body.len())
}
