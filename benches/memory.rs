//! What an isolate's shards cost in memory and time, natively, on the generated 1M-record zone
//! (`support/zonegen.rs`, fixed seed; `EDGEDNS_BENCH_SIZES` picks other sizes):
//!
//! 1. **Per shard**: the heap a decoded shard holds (a counting global allocator: bytes
//!    allocated and not yet freed) against its encoded size, and how long decoding it takes
//!    (every shard of the version, [`Manifest::decode_shard`]).
//! 2. **The sweep**: an [`Isolate`] with the default settings, driven as `src/isolate/tests.rs`
//!    does (an in-memory KV, a virtual clock), answers `A` for every name of the zone in
//!    canonical order, twice; per pass, the KV reads it made, the shards it holds and the heap
//!    it holds at the end (isolate and shards; the KV map is not counted).
//!
//! `cargo bench --bench memory` prints one Markdown table per part. In wasm (V8, 32-bit
//! pointers): `cargo build --release --bench memory --target wasm32-wasip1`, then
//! `node benches/run-wasi.mjs target/wasm32-wasip1/release/deps/memory-*.wasm 100000`. A
//! benchmark, not a test: it asserts nothing about time or memory.

#[path = "support/zonegen.rs"]
mod zonegen;

#[path = "support/counting.rs"]
mod counting;

use std::collections::HashMap;
use std::time::Instant;

use counting::live;
use edgedns::answer::{resolve, Inputs};
use edgedns::isolate::{Demand, Isolate, Settings};
use edgedns::policy::{ClientView, NoHealthData, SplitMix};
use edgedns::snapshot;
use edgedns::zone::compile::{compile_all, SourceFile};
use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// The time this thread has spent on a CPU, in ns (Linux's schedstat; 0 elsewhere): on a
/// machine shared with other jobs, wall time also counts the time the thread waited for a core.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok().and_then(|text| text.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn main() {
    // Sizes from the arguments (the wasm harness passes them; `cargo bench` passes `--bench`),
    // else from `EDGEDNS_BENCH_SIZES`, else 1M.
    let from_arguments: Vec<usize> = std::env::args().skip(1).filter_map(|argument| argument.parse().ok()).collect();
    let sizes: Vec<usize> = if from_arguments.is_empty() {
        std::env::var("EDGEDNS_BENCH_SIZES")
            .ok()
            .map(|sizes| sizes.split([',', ' ']).filter_map(|size| size.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![1_000_000])
    } else {
        from_arguments
    };
    for records in sizes {
        run(records);
    }
}

/// The mean cost of answering every name of the middle shard from the shard (compact) and from
/// the whole catalog (decoded): (shard, ns compact, ns decoded).
fn answer_cost(catalog: &edgedns::zone::Catalog, index: &snapshot::Index, built: &snapshot::Built, names: &[Name]) -> (usize, f64, f64) {
    let n = built.shards.len() / 2;
    let shard = index.manifest().decode_shard(n, &built.shards[n]).unwrap();
    let in_range: Vec<Query> = names.iter().filter(|name| index.shard_for(name) == n).map(|name| Query::query(name.clone(), RecordType::A)).collect();
    let client = ClientView::default();
    let mut random = SplitMix::new(7);
    let mut time = |from: &edgedns::zone::Catalog| {
        let started = Instant::now();
        let mut sections = 0usize;
        for _ in 0..20 {
            for question in &in_range {
                let mut inputs = Inputs { client: &client, health: &NoHealthData, random: &mut random, trace: None };
                let resolution = resolve(from, question, &mut inputs);
                sections += resolution.answers.len() + resolution.authority.len();
            }
        }
        assert!(sections >= 20 * in_range.len());
        started.elapsed().as_secs_f64() * 1e9 / (20 * in_range.len()) as f64
    };
    let compact = time(&shard);
    let decoded = time(catalog);
    (n, compact, decoded)
}

fn run(records: usize) {
    let zone = zonegen::generate(records);
    let hosts = zone.hosts;
    let sources = [SourceFile { path: "bench.test.zone".into(), text: zone.master }, SourceFile { path: "bench.test.routes.toml".into(), text: zone.routes }];
    let catalog = compile_all(&sources).unwrap_or_else(|errors| panic!("{errors:?}"));
    let built = snapshot::build(&catalog, snapshot::DEFAULT_SHARD_BYTES, 1).unwrap();
    let mut names: Vec<Name> =
        catalog.zones().iter().flat_map(|zone| zone.nodes().map(|(name, _)| Name::from(name.into_owned())).collect::<Vec<_>>()).collect();
    names.sort();
    let index = snapshot::Index::decode(&built.manifest_bytes).unwrap();
    let answering = answer_cost(&catalog, &index, &built, &names);
    drop(catalog);
    let encoded: usize = built.shards.iter().map(Vec::len).sum();
    println!(
        "{} records ({hosts} hosts): {} shards, {} bytes of shards, manifest {} bytes.\n",
        thousands(records),
        built.shards.len(),
        thousands(encoded),
        thousands(built.manifest_bytes.len())
    );

    // 1. Every shard decoded, alone: heap held and time.
    let (mut held, mut slowest, mut total_time) = (0usize, 0f64, 0f64);
    let cpu_before = cpu_ns();
    for (n, bytes) in built.shards.iter().enumerate() {
        let before = live();
        let started = Instant::now();
        let shard = index.manifest().decode_shard(n, bytes).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        held += live().saturating_sub(before);
        drop(shard);
        slowest = slowest.max(seconds);
        total_time += seconds;
    }
    let cpu = cpu_ns().saturating_sub(cpu_before) as f64 / 1e9;
    let shards = built.shards.len();
    println!("| shards | encoded bytes | held in memory | held / encoded | held per record | decode, mean per shard (on CPU) | slowest |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {shards} | {} | {} | {:.2}× | {:.0} B | {:.3} ms ({:.3} ms) | {:.3} ms |\n",
        thousands(encoded),
        thousands(held),
        held as f64 / encoded as f64,
        held as f64 / records as f64,
        total_time * 1e3 / shards as f64,
        cpu * 1e3 / shards as f64,
        slowest * 1e3
    );

    println!("Answering (`answer::resolve`, type A, every name of shard {} of {shards}, 20 rounds): {:.0} ns per query from the shard held compact, {:.0} ns from the whole catalog decoded (what `compile` builds: one hash map of every name).\n", answering.0, answering.1, answering.2);

    // 2. The sweep through an isolate with the default settings.
    let mut kv: HashMap<String, Vec<u8>> = HashMap::new();
    for (key, value) in built.entries() {
        kv.insert(key, snapshot::storable(value).into_owned());
    }
    kv.insert(snapshot::CURRENT_KEY.into(), snapshot::storable(&built.manifest_bytes).into_owned());
    drop(built);
    let settings = Settings::default();
    let baseline = live();
    let mut isolate = Isolate::new(settings);
    let client = ClientView::default();
    let mut random = SplitMix::new(7);
    let now = 1_000_000u64;
    println!("Default shard budget: {} KiB of encoded shards.\n", settings.shard_budget / 1024);
    println!("| pass | names | KV reads | shards held at the end | encoded bytes held | heap held (isolate) | µs per name |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for pass in 1..=2 {
        let mut reads = 0usize;
        let mut answered = 0usize;
        let started = Instant::now();
        for name in &names {
            let shard = loop {
                match isolate.zones(Some(name), now) {
                    Demand::Ready(shard) => break shard,
                    Demand::Unavailable(why) => panic!("{name}: {why:?}"),
                    Demand::Wait { start, .. } => {
                        for read in start {
                            reads += 1;
                            let value = kv.get(&read.key).cloned();
                            let more = isolate.complete(read.id, Ok(value), now);
                            assert!(more.is_empty());
                        }
                    }
                }
            };
            let question = Query::query(name.clone(), RecordType::A);
            let mut inputs = Inputs { client: &client, health: &NoHealthData, random: &mut random, trace: None };
            let resolution = resolve(&shard, &question, &mut inputs);
            answered += usize::from(!resolution.answers.is_empty() || !resolution.authority.is_empty());
        }
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(answered, names.len());
        let status = isolate.status();
        println!(
            "| {pass} | {} | {} | {} of {} | {} | {} | {:.2} |",
            thousands(names.len()),
            thousands(reads),
            status.held.len(),
            status.total,
            thousands(status.held_bytes),
            thousands(live().saturating_sub(baseline)),
            seconds * 1e6 / names.len() as f64
        );
    }
    println!();
}
