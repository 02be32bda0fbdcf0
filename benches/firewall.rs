//! What the firewall's lists cost, natively, on generated domain lists of 10k, 100k and 1M
//! names (a fixed seed; `EDGEDNS_BENCH_SIZES` picks other sizes):
//!
//! 1. **The compact store** (`src/resolver/firewall/store.rs`): build time, the heap it holds
//!    (a counting global allocator, as benches/memory.rs counts) against the bytes of the
//!    names, and a lookup of the name and every parent domain, for names on the list (a hit
//!    on the name itself) and names off it (a miss: every parent looked up).
//! 2. **The firewall** (`Firewall::compile` of a domain list: the store, the slots and the
//!    rule table), its published form (`Firewall::to_published`: size, encode time) read back
//!    as the Worker reads it (`Firewall::from_published`: decode time, heap held), and
//!    `Firewall::check`: a hit the first time (the deciding rule's text rebuilt) and after,
//!    and a miss; up to its [`MAX_RULES`] cap.
//!
//! `cargo bench --bench firewall` prints one Markdown table per part. A benchmark, not a test:
//! it asserts nothing about time or memory.

#[path = "support/counting.rs"]
mod counting;

use std::hint::black_box;
use std::time::Instant;

use edgedns::resolver::firewall::store::{reverse_into, NameStore};
use edgedns::resolver::firewall::{formats, Firewall, Format, NamedReading, MAX_RULES};
use hickory_proto::rr::Name;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// A list of `count` names shaped like the aggregated blocklists': a random host label (4 to
/// 14 letters and digits), sometimes a second one, below one of `count / 20` registrable
/// domains under a handful of TLDs. Deterministic (a fixed-seed xorshift).
fn domains(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tlds = ["com", "net", "org", "io", "info", "xyz", "ru", "de"];
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let label = |next: &mut dyn FnMut() -> u64| -> String {
        let length = 4 + (next() % 11) as usize;
        (0..length).map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize])).collect()
    };
    let registrable = (count / 20).max(1) as u64;
    let mut names = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::with_capacity(count);
    while names.len() < count {
        let domain = next() % registrable;
        let tld = tlds[(domain % tlds.len() as u64) as usize];
        let host = label(&mut next);
        let name = if next() % 4 == 0 { format!("{}.{host}.site{domain}.{tld}", label(&mut next)) } else { format!("{host}.site{domain}.{tld}") };
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

/// Nanoseconds per call of `f` over `probes`, the median of five rounds.
fn per_call(probes: &[String], mut f: impl FnMut(&str) -> usize) -> f64 {
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let mut sum = 0;
            for probe in probes {
                sum += f(probe);
            }
            black_box(sum);
            start.elapsed().as_nanos() as f64 / probes.len() as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn main() {
    let sizes: Vec<usize> = std::env::var("EDGEDNS_BENCH_SIZES")
        .ok()
        .map(|sizes| sizes.split_whitespace().filter_map(|size| size.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    let lists: Vec<(usize, Vec<String>)> = sizes.iter().map(|&size| (size, domains(size))).collect();
    // Probes: 100,000 names on the list and as many off it (a label no name has, in front).
    let probes = |names: &[String]| -> (Vec<String>, Vec<String>) {
        let hits: Vec<String> = names.iter().step_by((names.len() / 100_000).max(1)).cloned().collect();
        let misses = hits.iter().map(|name| format!("nx-{name}")).collect();
        (hits, misses)
    };

    println!("### The compact store (names reversed, sorted, front-coded in blocks of 16)\n");
    println!("| domains | names (bytes) | build | heap held | bytes per domain | heap / names | lookup, hit | lookup, miss |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (size, names) in &lists {
        let bytes: usize = names.iter().map(String::len).sum();
        let before = counting::live();
        let start = Instant::now();
        let input: Vec<(String, u32)> = names.iter().cloned().zip(0..).collect();
        let store = NameStore::build(input).expect("the store builds");
        let build = start.elapsed();
        let held = counting::live() - before;
        let (hits, misses) = probes(names);
        let (mut reversed, mut scratch) = (Vec::new(), Vec::new());
        let mut lookup = |name: &str| {
            reverse_into(name, &mut reversed);
            let mut found = 0;
            store.each_match(&reversed, &mut scratch, |_, value| found += value as usize + 1);
            found
        };
        let hit = per_call(&hits, &mut lookup);
        let miss = per_call(&misses, &mut lookup);
        println!(
            "| {size} | {} | {:.0} ms | {} | {:.1} | {:.2} | {hit:.0} ns | {miss:.0} ns |",
            mib(bytes),
            build.as_secs_f64() * 1000.0,
            mib(held),
            held as f64 / *size as f64,
            held as f64 / bytes as f64
        );
        drop(store);
    }

    println!("\n### The firewall (`Firewall::compile` of a domain list: the store, the slots and the rule table; `Firewall::check`)\n");
    println!(
        "| domains | build | heap held | bytes per domain | published | encode | decode | heap held, decoded | check, hit (first) | check, hit | check, miss |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (size, names) in lists.iter().filter(|(size, _)| *size <= MAX_RULES) {
        let text: String = names.iter().map(|name| format!("{name}\n")).collect();
        let before = counting::live();
        let start = Instant::now();
        let reading = NamedReading { name: Some("bench".into()), format: Format::Domains, reading: formats::read(Format::Domains, &text) };
        let (compiled, _) = Firewall::compile(&[reading]).expect("the list compiles");
        let build = start.elapsed();
        let held = counting::live() - before;
        drop(text);
        let start = Instant::now();
        let value = compiled.to_published();
        let encode = start.elapsed();
        let published = value.len();
        drop(compiled);
        // Decoded as the Worker decodes it: the value moved in, the names kept in place.
        let before = counting::live() - published;
        let start = Instant::now();
        let firewall = Firewall::from_published(value).expect("the value reads");
        let decode = start.elapsed();
        let decoded = counting::live() - before;
        let (hits, misses) = probes(names);
        let to_names = |probes: &[String]| -> Vec<Name> { probes.iter().map(|probe| Name::from_ascii(probe).expect("a name")).collect() };
        let (hits, misses) = (to_names(&hits), to_names(&misses));
        let round = |names: &[Name]| {
            let start = Instant::now();
            let found = names.iter().filter(|name| firewall.check(name).is_some()).count();
            black_box(found);
            start.elapsed().as_nanos() as f64 / names.len() as f64
        };
        // The first round builds each deciding rule (its text rebuilt); the next find it built.
        let first = round(&hits);
        let time = |names: &[Name]| {
            let mut rounds: Vec<f64> = (0..5).map(|_| round(names)).collect();
            rounds.sort_by(f64::total_cmp);
            rounds[2]
        };
        let (hit, miss) = (time(&hits), time(&misses));
        println!(
            "| {size} | {:.0} ms | {} | {:.1} | {} | {:.0} ms | {:.0} ms | {} | {first:.0} ns | {hit:.0} ns | {miss:.0} ns |",
            build.as_secs_f64() * 1000.0,
            mib(held),
            held as f64 / *size as f64,
            mib(published),
            encode.as_secs_f64() * 1000.0,
            decode.as_secs_f64() * 1000.0,
            mib(decoded),
        );
        drop(firewall);
    }
    println!("\n(over {MAX_RULES} domains the firewall refuses the list: its cap)");
}
