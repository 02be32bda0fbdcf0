//! Subscriptions: firewall lists named by URL (the lists people already use, kept fresh
//! without a redeploy), fetched by the scheduled handler on their own interval with
//! `If-None-Match` / `If-Modified-Since`, checked, compiled and published to KV only when
//! they changed. A bad download (an error status, a timeout, a page that is no list, a list
//! that does not compile) keeps the last good list and is reported.
//!
//! Configured in the `SUBSCRIPTIONS` variable (JSON, or a TOML table in wrangler.toml's
//! `[vars]`), each list by the name profiles select it by ([`config`]):
//!
//! ```json
//! {"oisd.txt": {"url": "https://big.oisd.nl/domainswild", "refresh_seconds": 21600},
//!  "hosts": {"url": "https://example.org/hosts", "format": "hosts"}}
//! ```
//!
//! Sans IO, as the health checker is: [`refresh::due`] says which lists to fetch now and
//! with which headers, [`refresh::settle`] what a fetch's outcome makes of a list's
//! [`status::Entry`] and what to publish; the Worker (`src/worker/subscriptions.rs`) only
//! fetches and writes. Each list is compiled and published alone (`firewall:<version>`, as
//! `edgedns firewall publish` writes them), so one list's change never recompiles another;
//! an isolate holds the published lists and each subscription's as one
//! [`super::firewall::FirewallSet`], which decides as compiling them together would.
//!
//! What is in KV: [`STATUS_KEY`] holds every list's [`status::Entry`] (the version serving,
//! the validators, when it was checked and changed, the last error), written by a scheduled
//! run that fetched something; isolates read it with the other tables.

pub mod config;
pub mod refresh;
pub mod status;

pub use config::{Subscription, Subscriptions};
pub use refresh::{due, settle, Fetched, Request, Settled};
pub use status::{Entry, Status};

/// The KV key of every subscription's status.
pub const STATUS_KEY: &str = "firewall:subscriptions";
