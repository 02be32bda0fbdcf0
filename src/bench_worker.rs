//! Benchmark route inside the isolate (feature `bench-loop`, off by default, wasm32 only):
//! `GET /__bench?records=1000&n=20000&rounds=5[&case=plain]` answers each case of the
//! benchmark zone (`benches/support/zonegen.rs`, the zones and queries of `cargo bench`)
//! `n` times through `server::handle` with the benchmark client (`benches/support/client.rs`,
//! shared with `benches/engine.rs`) and returns the time per query as JSON.
//!
//! Timing: workerd freezes `Date.now()` (and `performance.now()`) while JavaScript or wasm
//! runs, and moves it forward only when the isolate comes back from I/O (a Spectre
//! mitigation). So each round reads the clock after an awaited zero-length timer, runs the
//! loop, awaits another timer, reads the clock again, and subtracts the cost of one empty
//! timer round trip measured the same way. With the millisecond clock, `n` is chosen so a
//! round takes tens of milliseconds.
//!
//! The zone is generated and compiled inside the isolate on the first request for a size
//! (no KV), and kept for the next ones.

#[path = "../benches/support/zonegen.rs"]
mod zonegen;

#[path = "../benches/support/client.rs"]
mod bench_client;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use worker::{Request, Response, Result};

use crate::policy::SplitMix;
use crate::zone::Catalog;

/// The route.
pub const PATH: &str = "/__bench";

thread_local! {
    static CATALOGS: RefCell<HashMap<usize, (Rc<Catalog>, usize)>> = RefCell::new(HashMap::new());
}

/// The bench route's response for `request`, or `None` when it is for another path.
pub async fn intercept(request: &Request) -> Option<Result<Response>> {
    let url = request.url().ok()?;
    if url.path() != PATH {
        return None;
    }
    let parameter = |key: &str| url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned());
    let number = |key: &str, default: usize| parameter(key).and_then(|v| v.parse().ok()).unwrap_or(default);
    let records = number("records", 1_000);
    let n = number("n", 20_000).max(1);
    let rounds = number("rounds", 5).clamp(1, 100);
    let only = parameter("case");
    Some(run(records, n, rounds, only.as_deref()).await)
}

/// The clock as the isolate sees it after coming back from I/O (a zero-length timer).
async fn tick() -> f64 {
    worker::Delay::from(Duration::ZERO).await;
    js_sys::Date::now()
}

fn catalog(records: usize) -> std::result::Result<(Rc<Catalog>, usize), String> {
    if let Some(found) = CATALOGS.with(|catalogs| catalogs.borrow().get(&records).cloned()) {
        return Ok(found);
    }
    let (catalog, hosts) = bench_client::catalog(records)?;
    let entry = (Rc::new(catalog), hosts);
    CATALOGS.with(|catalogs| catalogs.borrow_mut().insert(records, entry.clone()));
    Ok(entry)
}

async fn run(records: usize, n: usize, rounds: usize, only: Option<&str>) -> Result<Response> {
    let compile_start = tick().await;
    let (catalog, hosts) = catalog(records).map_err(worker::Error::RustError)?;
    let compile_ms = tick().await - compile_start;
    let client = bench_client::client();
    let mut random = SplitMix::new(1);
    // One empty round trip through the timer: what each measured round also contains.
    let mut empty = Vec::new();
    for _ in 0..rounds {
        let start = tick().await;
        empty.push(tick().await - start);
    }
    let empty_ms = median(&mut empty);
    let mut results = Vec::new();
    for (id, body) in bench_client::cases(hosts).into_iter().filter(|(id, _)| only.is_none_or(|only| only == *id)) {
        let request = bench_client::post(&body);
        let mut answer = || bench_client::answer(&request, &catalog, &client, &mut random).1;
        // Warm-up (JIT tiers), then the rounds.
        let mut sink = 0usize;
        for _ in 0..n.min(2_000) {
            sink = sink.wrapping_add(answer());
        }
        let mut per_query_ns = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = tick().await;
            for _ in 0..n {
                sink = sink.wrapping_add(answer());
            }
            let elapsed_ms = tick().await - start - empty_ms;
            per_query_ns.push(elapsed_ms.max(0.0) * 1e6 / n as f64);
        }
        let fastest = per_query_ns.iter().copied().fold(f64::INFINITY, f64::min);
        let middle = median(&mut per_query_ns);
        results.push(format!(
            "{{\"case\":\"{}\",\"median_ns\":{middle:.0},\"min_ns\":{fastest:.0},\"response_bytes\":{}}}",
            id,
            sink / (n * rounds + n.min(2_000)).max(1)
        ));
    }
    let json = format!(
        "{{\"records\":{records},\"size\":\"{}\",\"n\":{n},\"rounds\":{rounds},\"compile_ms\":{compile_ms},\"empty_tick_ms\":{empty_ms},\"cases\":[{}]}}\n",
        zonegen::size_label(records),
        results.join(",")
    );
    let mut response = Response::ok(json)?;
    response.headers_mut().set("content-type", "application/json")?;
    Ok(response)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
