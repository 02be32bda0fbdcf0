//! Publishing: the sequence that makes a compiled version current, records it in the history,
//! lets old versions go, and points back at an earlier one. Written once, over a small
//! [`Store`] trait: the Worker's admin API runs it over its KV binding, the CLI over wrangler.
//!
//! * [`sequence`]: publish and rollback, step by step (what is written, in what order, what a
//!   failure means);
//! * [`history`]: `snapshot:history`, the versions published and when each was current;
//! * [`retention`]: which versions may be deleted: never the current one, nor one current
//!   within the grace period, nor one of the last ten published;
//! * [`limit`]: how large a version the Worker reads whole (listing, editing, rollback checks);
//! * [`store`]: the trait, and the CLI's executor.
//!
//! Everything but the [`Store`] implementations is sans-IO: the time comes in as an argument,
//! and the tests run the sequence over an in-memory store with a fixed clock.

pub mod history;
pub mod limit;
pub mod retention;
pub mod sequence;
pub mod store;

pub use history::{Published, HISTORY_KEY};
pub use limit::{CatalogLimit, CatalogTooLarge, WholeCatalog, WORKER_LIMIT};
pub use retention::{Retention, GRACE_SECONDS, HISTORY_LENGTH};
pub use sequence::{publish, rollback, state, PublishError, PublishReport, RollbackReport, State};
pub use store::{Store, StoreError};

#[cfg(not(target_arch = "wasm32"))]
pub use store::block_on;
