//! Per-query cost of the engine: one DoH POST body through `server::handle` (parse, answer,
//! encode, HTTP headers), for each kind of answer and each routing policy, on generated zones
//! of 1k, 100k and 1M records (`support/zonegen.rs`, fixed seed).
//!
//! * Natively: `cargo bench --bench engine` runs it under criterion (estimates in
//!   `target/criterion/engine-<size>/<case>/new/estimates.json`). `EDGEDNS_BENCH_SIZES=1000`
//!   limits the zone sizes.
//! * wasm32-wasip1 (criterion does not build there): `cargo build --release --bench engine
//!   --target wasm32-wasip1`, then `node benches/run-wasi.mjs FILE.wasm [sizes...]` runs a plain
//!   timed loop and prints one line per case.
//! * wasm32-unknown-unknown, the target the Worker is built for: the same loop, with
//!   `--target wasm32-unknown-unknown`; `run-wasi.mjs` gives it a clock and an output (the
//!   `bench` import module, [`host`]) in place of WASI.
//!
//! The `budget` group measures the policy engine alone on trees at the evaluation budget
//! (`EDGEDNS_BENCH_SIZES=1000 cargo bench --bench engine -- budget`): the dearest trees the
//! compiler accepts, evaluated in the health state that costs them most, and a hostile tree
//! (a snapshot the compiler did not make) that stops at the budget.
//!
//! A benchmark, not a test: it asserts nothing about time.

#[path = "support/zonegen.rs"]
mod zonegen;

#[path = "support/client.rs"]
mod bench_client;

use bench_client::{cases, client, held_compact, post};
use edgedns::client::Client;
use edgedns::doh::HttpRequest;
use edgedns::policy::SplitMix;
use edgedns::zone::Catalog;

/// Zone sizes (records in the master file) measured unless `EDGEDNS_BENCH_SIZES` (or the wasm
/// harness's arguments) say otherwise.
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// The generated zone of `records` records, compiled; and how many hosts it has.
fn catalog(records: usize) -> (Catalog, usize) {
    bench_client::catalog(records).unwrap_or_else(|errors| panic!("{errors}"))
}

/// One query through the whole handler; the response body length (so nothing is optimised out).
fn answer(request: &HttpRequest<'_>, catalog: &Catalog, client: &Client, random: &mut SplitMix) -> usize {
    let (status, length) = bench_client::answer(request, catalog, client, random);
    assert_eq!(status, 200);
    length
}

fn label(records: usize) -> String {
    zonegen::size_label(records)
}

/// The zone compiled (one hash map of every name, what `edgedns compile` checks), then held as
/// an isolate holds it (compact, from a snapshot shard: what the Worker answers from), with
/// the size label of each (`100k`, `100k-compact`).
fn forms(records: usize) -> (Vec<(String, Catalog)>, usize) {
    let (compiled, hosts) = catalog(records);
    let compact = held_compact(&compiled).unwrap_or_else(|error| panic!("{error}"));
    (vec![(label(records), compiled), (format!("{}-compact", label(records)), compact)], hosts)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::time::Duration;

    use std::collections::HashMap;

    use criterion::Criterion;
    use edgedns::policy::{
        evaluate, worst_case_visits, Action, Budget, ClientView, Context, HealthView, Rule, Target, Targets, Value, WeightedChoice, EVALUATION_BUDGET,
    };
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, RecordType};

    use super::*;

    fn sizes() -> Vec<usize> {
        match std::env::var("EDGEDNS_BENCH_SIZES") {
            Ok(list) => list.split([',', ' ']).filter_map(|s| s.trim().parse().ok()).collect(),
            Err(_) => SIZES.to_vec(),
        }
    }

    pub fn engine(c: &mut Criterion) {
        let client = client();
        for records in sizes() {
            let (forms, hosts) = forms(records);
            for (size, catalog) in &forms {
                let mut group = c.benchmark_group(format!("engine-{size}"));
                for (case, body) in cases(hosts) {
                    let request = post(&body);
                    let mut random = SplitMix::new(1);
                    group.bench_function(case, |b| b.iter(|| answer(black_box(&request), catalog, &client, &mut random)));
                }
                group.finish();
            }
        }
    }

    /// Every check down: each search for a healthy child runs to its end.
    struct AllDown;

    impl HealthView for AllDown {
        fn is_healthy(&self, _check: &str) -> Option<bool> {
            Some(false)
        }
    }

    /// Routed sets by name, as alias targets.
    struct Sets(HashMap<String, Rule>);

    impl Targets for Sets {
        fn target(&self, name: &str, _: RecordType) -> Option<Target<'_>> {
            self.0.get(name).map(|rule| Target::Routed { rule, ttl: 60 })
        }
    }

    fn leaf(last: u8) -> Rule {
        Rule { label: None, health_check: Some(format!("check-{last}")), force: None, action: Action::Values(vec![Value(RData::A(A::new(192, 0, 2, last)))]) }
    }

    fn weighted(children: impl Iterator<Item = Rule>) -> Rule {
        let choices = children.map(|rule| WeightedChoice { weight: 1, rule }).collect();
        Rule { label: None, health_check: None, force: None, action: Action::Weighted { choices, sticky: false } }
    }

    fn alias(target: &str) -> Rule {
        Rule { label: None, health_check: None, force: None, action: Action::Alias { target: target.to_owned(), evaluate_target_health: true } }
    }

    /// Sets `s0` … `s{depth - 1}`, each `width` aliases to the next, ending in a value.
    fn alias_chain(width: usize, depth: usize) -> Sets {
        let mut sets: HashMap<String, Rule> =
            (0..depth).map(|level| (format!("s{level}."), weighted((0..width).map(|_| alias(&format!("s{}.", level + 1)))))).collect();
        sets.insert(format!("s{depth}."), leaf(1));
        Sets(sets)
    }

    pub fn budget(c: &mut Criterion) {
        let mut group = c.benchmark_group("budget");
        let client = ClientView::default();
        // The widest node under the budget: one health check per child, then the pick.
        let wide = weighted((0..EVALUATION_BUDGET - 2).map(|i| leaf((i % 250) as u8)));
        // Aliases that fan out: the widest three-set chain under the budget.
        let chain = alias_chain(6, 3);
        let hostile = alias_chain(16, 20);
        let cases: [(&str, Rule, &dyn Targets); 3] =
            [("wide-at-budget", wide, &Sets(HashMap::new())), ("alias-fan-out", alias("s0."), &chain), ("hostile-stopped", alias("s0."), &hostile)];
        for (case, rule, targets) in cases {
            let worst = worst_case_visits(&rule, RecordType::A, targets);
            let mut random = SplitMix::new(1);
            let mut run = || {
                let mut budget = Budget::default();
                let mut context = Context { client: &client, health: &AllDown, targets, random: &mut random, trace: None, budget: &mut budget };
                evaluate(black_box(&rule), RecordType::A, &mut context).visited
            };
            eprintln!("budget/{case}: worst case {worst}, visits {} of {EVALUATION_BUDGET}", run());
            group.bench_function(case, |b| b.iter(&mut run));
        }
        group.finish();
    }

    pub fn config() -> Criterion {
        Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(40).without_plots()
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group! { name = benches; config = native::config(); targets = native::engine, native::budget }
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

/// What the wasm loop needs from its host (`support/host.rs`).
#[cfg(target_arch = "wasm32")]
#[path = "support/host.rs"]
mod host;

/// wasm32 (wasip1 or unknown-unknown): a plain timed loop (warm-up, then the mean of
/// `ITERATIONS`), one line per case: `<size> <case> <ns/query>`. Zone sizes come from the
/// arguments (default: all).
#[cfg(target_arch = "wasm32")]
fn main() {
    use std::hint::black_box;

    const ITERATIONS: u32 = 100_000;
    let sizes = host::sizes();
    let sizes = if sizes.is_empty() { SIZES.to_vec() } else { sizes };
    let client = client();
    let mut random = SplitMix::new(1);
    host::print(&format!("{:<12} {:<14} {:>10}", "zone", "case", "ns/query"));
    for records in sizes {
        let start = host::millis();
        let (forms, hosts) = forms(records);
        host::log(&format!("zone of {records} records compiled and held compact in {:.1} s", (host::millis() - start) / 1e3));
        for (size, catalog) in &forms {
            for (case, body) in cases(hosts) {
                let request = post(&body);
                for _ in 0..ITERATIONS / 10 {
                    black_box(answer(black_box(&request), catalog, &client, &mut random));
                }
                let start = host::millis();
                for _ in 0..ITERATIONS {
                    black_box(answer(black_box(&request), catalog, &client, &mut random));
                }
                let nanos = (host::millis() - start) * 1e6 / f64::from(ITERATIONS);
                host::print(&format!("{size:<12} {case:<14} {nanos:>10.0}"));
            }
        }
    }
}
