//! What one DNSSEC signature costs (src/dnssec/): an RRSIG over a one-record A RRset by an
//! ECDSA P-256 key (algorithm 13) and by an Ed25519 key (15), and the same RRSIG found in the
//! signature cache (a warm answer).
//!
//! * Natively: `cargo bench --bench dnssec` (criterion; estimates in
//!   `target/criterion/dnssec/<case>/new/estimates.json`).
//! * wasm32-unknown-unknown, the Worker's target: `cargo build --release --bench dnssec --target
//!   wasm32-unknown-unknown`, then `node benches/run-wasi.mjs FILE.wasm` runs a plain timed
//!   loop and prints one line per case (a wasm32-wasip1 build runs the same way).
//!
//! A benchmark, not a test: it asserts nothing about time.

use std::str::FromStr;

use edgedns::dnssec::{Algorithm, CacheLimits, RrSet, SignatureCache, SigningKey, Validity};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// A fixed signing time (Unix seconds).
const NOW: u64 = 1_800_000_000;

/// The keys measured, with their case names.
fn keys() -> Vec<(&'static str, SigningKey)> {
    let zone = Name::from_str("bench.test.").unwrap_or_else(|_| Name::root());
    [("p256-sign", Algorithm::EcdsaP256Sha256), ("ed25519-sign", Algorithm::Ed25519)]
        .into_iter()
        .filter_map(|(case, algorithm)| Some((case, SigningKey::from_private(&zone, 257, algorithm, &[0x5a; 32])?)))
        .collect()
}

/// The owner of the RRset signed.
fn owner() -> Name {
    Name::from_str("www.bench.test.").unwrap_or_else(|_| Name::root())
}

/// The RDATA of the RRset signed: one address.
const RDATA: [&[u8]; 1] = [&[192, 0, 2, 1]];

fn set(owner: &Name) -> RrSet<'_> {
    RrSet { owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &RDATA }
}

/// One signature, uncached: its length.
fn sign(key: &SigningKey, owner: &Name) -> usize {
    edgedns::dnssec::rrsig(key, &set(owner), NOW, &Validity::default()).map_or(0, |rrsig| rrsig.len())
}

/// One signature through the cache (warm after the first call): its length.
fn cached(cache: &mut SignatureCache, key: &SigningKey, owner: &Name) -> usize {
    cache.rrsig(key, &set(owner), NOW, &Validity::default()).map_or(0, <[u8]>::len)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::time::Duration;

    use criterion::Criterion;

    use super::*;

    pub fn dnssec(c: &mut Criterion) {
        let owner = owner();
        let mut group = c.benchmark_group("dnssec");
        for (case, key) in keys() {
            group.bench_function(case, |b| b.iter(|| sign(black_box(&key), black_box(&owner))));
        }
        if let Some((_, key)) = keys().into_iter().next() {
            let mut cache = SignatureCache::new(CacheLimits::default(), 0);
            group.bench_function("p256-cached", |b| b.iter(|| cached(&mut cache, black_box(&key), black_box(&owner))));
        }
        group.finish();
    }

    pub fn config() -> Criterion {
        Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(40).without_plots()
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group! { name = benches; config = native::config(); targets = native::dnssec }
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

/// What the wasm loop needs from its host (`support/host.rs`).
#[cfg(target_arch = "wasm32")]
#[path = "support/host.rs"]
#[allow(dead_code, reason = "the loop takes no arguments, so `sizes` is unused")]
mod host;

/// wasm32: a plain timed loop per case (warm-up, then the mean), one line each:
/// `<case> <ns/signature>`.
#[cfg(target_arch = "wasm32")]
fn main() {
    use std::hint::black_box;

    fn time(case: &str, iterations: u32, mut run: impl FnMut() -> usize) {
        for _ in 0..iterations / 10 {
            black_box(run());
        }
        let start = host::millis();
        for _ in 0..iterations {
            black_box(run());
        }
        let nanos = (host::millis() - start) * 1e6 / f64::from(iterations);
        host::print(&format!("{case:<14} {nanos:>10.0}"));
    }

    let owner = owner();
    host::print(&format!("{:<14} {:>10}", "case", "ns/op"));
    for (case, key) in keys() {
        time(case, 2_000, || sign(black_box(&key), black_box(&owner)));
    }
    if let Some((_, key)) = keys().into_iter().next() {
        let mut cache = SignatureCache::new(CacheLimits::default(), 0);
        time("p256-cached", 100_000, || cached(&mut cache, black_box(&key), black_box(&owner)));
    }
}
