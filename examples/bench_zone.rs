//! Writes the benchmarks' generated zone (`benches/support/zonegen.rs`, fixed seed) and a
//! dnsperf query file over it, for `scripts/bench-e2e.sh`:
//!
//! ```text
//! cargo run --release --example bench_zone -- RECORDS DIR [QUERY_LINES]
//! ```
//!
//! creates `DIR/zone/bench.test.zone`, `DIR/zone/bench.test.routes.toml` and
//! `DIR/queries.txt` (default 10,000 lines).

#[path = "../benches/support/zonegen.rs"]
mod zonegen;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(records), Some(dir)) = (args.first().and_then(|a| a.parse::<usize>().ok()), args.get(1)) else {
        eprintln!("usage: bench_zone RECORDS DIR [QUERY_LINES]");
        return ExitCode::from(2);
    };
    let lines = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = PathBuf::from(dir);
    let zone = zonegen::generate(records);
    let written = std::fs::create_dir_all(dir.join("zone"))
        .and_then(|()| std::fs::write(dir.join("zone/bench.test.zone"), &zone.master))
        .and_then(|()| std::fs::write(dir.join("zone/bench.test.routes.toml"), &zone.routes))
        .and_then(|()| std::fs::write(dir.join("queries.txt"), zonegen::query_mix(zone.hosts, lines)));
    match written {
        Ok(()) => {
            println!("{}: bench.test. with {records} records, {lines} queries", dir.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench_zone: {error}");
            ExitCode::FAILURE
        }
    }
}
