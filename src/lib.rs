//! edgedns: authoritative DNS over HTTPS, built to run as a Cloudflare Worker.
//!
//! Data flows one way through the modules:
//!
//! ```text
//!  HTTP request ─► doh ─► query ─► answer (zone) ─► response bytes ─► doh ─► HTTP response
//!                  │                  ▲
//!                  └─► json           │ snapshot (decoded once per isolate from KV)
//! ```
//!
//! * [`doh`]: the HTTP side of RFC 8484 (methods, media types, status codes, caching headers).
//! * [`json`]: the JSON API (`/resolve`, `application/dns-json`) on top of the same engine.
//! * [`query`]: parses and checks a DNS query (header, question, EDNS, client subnet).
//! * [`zone`]: the zone model, the master-file reader and the compiler that checks zones.
//! * [`snapshot`]: the binary image of compiled zones that is stored in KV.
//! * [`publish`]: publishing it: the pointer, the history, retention and rollback, once for
//!   the CLI and the Worker over a small store trait.
//! * [`answer`]: the authoritative algorithm (RFC 1034 §4.3.2) as a pure function.
//! * [`policy`]: the routing-policy engine that decides routed record sets.
//! * [`health`]: the health snapshot answering reads, the checks' state machine and schedule; [`geo`]: where places and addresses are.
//! * [`response`]: encodes the engine's decision as a DNS message (flags, EDNS, ECS, EDE).
//! * [`server`]: ties the layers into one sans-IO request handler.
//! * [`resolver`]: resolver mode: forwarding upstream, the answer cache, the DNS firewall.
//! * [`isolate`]: what a Worker isolate holds and when it reads KV, as a state machine the
//!   adapter drives (single-flight loads, refresh, back-off, the shard cache).
//! * [`rate_limit`]: what the Workers Rate Limiting binding counts (queries per client
//!   network in resolver mode, failed admin authentications) and what a client over a limit
//!   is told.
//! * [`dnssec`]: online DNSSEC signing: keys, RRSIGs over wire-form RRsets, the signature
//!   cache and compact denial of existence (RFC 9824).
//! * [`analytics`]: query analytics: sampling, the Analytics Engine data point, the
//!   isolate's rolling counters and the SQL the Traffic view reads them back with.
//! * [`admin`]: the operators' API (bearer token): health status and overrides, zone uploads,
//!   deletions and rollbacks.
//! * `worker` (wasm32 only): the thin Cloudflare Workers adapter (KV, request.cf, HTTP).
//!
//! Everything except `worker` is sans-IO: no clock, no randomness, no network inside;
//! those come in as arguments, so the whole pipeline is tested natively.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod admin;
pub mod analytics;
pub mod answer;
pub mod calendar;
pub mod client;
pub mod console;
pub mod dnssec;
pub mod doh;
pub mod geo;
pub mod health;
pub mod import;
pub mod isolate;
pub mod json;
pub mod policy;
pub mod publish;
pub mod query;
pub mod rate_limit;
pub mod resolver;
pub mod response;
pub mod server;
pub mod snapshot;
pub mod zone;

#[cfg(target_arch = "wasm32")]
mod upstream;
#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(all(feature = "bench-loop", target_arch = "wasm32"))]
mod bench_worker;
// The benchmark client (benches/support/client.rs) names the crate `edgedns` in both the
// benches and the bench-loop build.
#[cfg(all(feature = "bench-loop", target_arch = "wasm32"))]
extern crate self as edgedns;
