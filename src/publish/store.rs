//! Where a publish writes: a key-value store with batched reads, writes and deletes. The
//! Worker implements it over its KV binding (one call per key, concurrently), the CLI over
//! `wrangler kv bulk` (one process per batch), the tests over a map.
//!
//! Values are text: every snapshot value is stored as [`crate::snapshot::storable`] makes it,
//! so that text-only paths (`wrangler kv bulk get`, the pinned wrangler's local bulk put) keep
//! it intact; the sequence encodes and decodes, a store moves strings.

use std::future::Future;

/// A key-value store the publish sequence runs over.
///
/// Methods return futures so that one sequence serves the Worker (whose KV calls are
/// asynchronous) and the CLI (whose wrangler calls block: its futures are ready when first
/// polled, and [`block_on`] drives them).
pub trait Store {
    /// The values of `keys`, in order; `None` for a key that is missing.
    fn get_many(&self, keys: &[String]) -> impl Future<Output = Result<Vec<Option<String>>, StoreError>>;

    /// Writes every entry (key, value). On `Err`, any of them may or may not have been written.
    fn put_many(&self, entries: &[(String, String)]) -> impl Future<Output = Result<(), StoreError>>;

    /// Deletes every key (a missing key is not an error).
    fn delete_many(&self, keys: &[String]) -> impl Future<Output = Result<(), StoreError>>;

    /// Where a long sequence is, for an operator watching (the CLI prints it on stderr).
    fn progress(&self, _message: &str) {}
}

/// A store operation that failed, in the store's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Runs a future to completion on this thread (parking it while the future waits): the CLI's
/// executor for the sequence, whose store never actually waits, and the tests'.
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// An in-memory store that logs every operation, failing on demand: the tests' KV.
#[cfg(test)]
pub(crate) mod memory {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// One call the sequence made.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        Get(Vec<String>),
        Put(Vec<String>),
        Delete(Vec<String>),
    }

    #[derive(Default)]
    pub struct MemoryStore {
        pub values: RefCell<BTreeMap<String, String>>,
        pub calls: RefCell<Vec<Call>>,
        /// Calls whose keys include one starting with this fail.
        pub fail_on: RefCell<Option<String>>,
        /// Writes and deletes whose keys include one starting with this fail.
        pub fail_writes_on: RefCell<Option<String>>,
    }

    impl MemoryStore {
        fn check(&self, keys: &[String], write: bool) -> Result<(), StoreError> {
            let fails = |prefix: &Option<String>| prefix.as_ref().filter(|prefix| keys.iter().any(|key| key.starts_with(prefix.as_str()))).cloned();
            let failing = fails(&self.fail_on.borrow()).or_else(|| if write { fails(&self.fail_writes_on.borrow()) } else { None });
            match failing {
                Some(prefix) => Err(StoreError(format!("injected failure on {prefix}"))),
                None => Ok(()),
            }
        }

        /// The keys stored, in order.
        pub fn keys(&self) -> Vec<String> {
            self.values.borrow().keys().cloned().collect()
        }
    }

    impl Store for MemoryStore {
        async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
            self.calls.borrow_mut().push(Call::Get(keys.to_vec()));
            self.check(keys, false)?;
            let values = self.values.borrow();
            Ok(keys.iter().map(|key| values.get(key).cloned()).collect())
        }

        async fn put_many(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
            let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
            self.calls.borrow_mut().push(Call::Put(keys.clone()));
            self.check(&keys, true)?;
            self.values.borrow_mut().extend(entries.iter().cloned());
            Ok(())
        }

        async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
            self.calls.borrow_mut().push(Call::Delete(keys.to_vec()));
            self.check(keys, true)?;
            let mut values = self.values.borrow_mut();
            for key in keys {
                values.remove(key);
            }
            Ok(())
        }
    }
}
