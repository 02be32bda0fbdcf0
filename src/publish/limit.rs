//! What the Worker decodes whole. Listing the zones, comparing an edit against the served
//! catalog and checking every shard before a rollback read a whole version into one isolate
//! (128 MB, decoded records taking 20-30 times their encoded size, BENCHMARKS.md §6) within
//! one invocation's 1,000 KV operations. Above [`WORKER_LIMIT`] the admin API refuses those
//! operations and names the CLI command that does the same work from the operator's machine,
//! in batches.

use crate::snapshot::Manifest;

/// The largest version the Worker reads whole: its shard count and their encoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogLimit {
    /// At most this many shards (one KV read each).
    pub shards: usize,
    /// At most this many bytes of encoded shards (some 25 MB decoded per MiB).
    pub bytes: u64,
}

/// The admin API's limit: 64 shards and 1 MiB of encoded shards (about 20,000 records; the
/// default shard size makes the byte limit the one that binds).
pub const WORKER_LIMIT: CatalogLimit = CatalogLimit { shards: 64, bytes: 1024 * 1024 };

/// Which admin operation wanted a whole version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeCatalog {
    /// `GET /admin/zones`.
    List,
    /// `PUT`/`DELETE /admin/zones/<apex>` (the served catalog, to list the changes).
    Edit,
    /// `POST /admin/rollback` (every shard of the target, checked before the pointer moves).
    Rollback,
    /// `GET /admin/diff` (each of the two versions compared).
    Diff,
}

/// A version over the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTooLarge {
    /// The version.
    pub version: String,
    /// Its shards.
    pub shards: usize,
    /// Their encoded bytes.
    pub bytes: u64,
    /// The limit it is over.
    pub limit: CatalogLimit,
    /// What wanted it.
    pub wanted_for: WholeCatalog,
}

impl std::fmt::Display for CatalogTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (operation, instead) = match self.wanted_for {
            WholeCatalog::List => ("list its zones", "list the versions with `edgedns versions` and compare zone files with `edgedns diff`"),
            WholeCatalog::Edit => ("edit a zone of it", "edit the zone files and use `edgedns diff`, then `edgedns publish`"),
            WholeCatalog::Rollback => ("check it for a rollback", "use `edgedns rollback`"),
            WholeCatalog::Diff => ("compare it with another version", "compare zone files with `edgedns diff`"),
        };
        write!(
            f,
            "snapshot {} is too large for the Worker to {operation} ({} shards, {} bytes; the admin API reads at most {} shards or {} bytes whole): {instead}",
            self.version, self.shards, self.bytes, self.limit.shards, self.limit.bytes
        )
    }
}

impl std::error::Error for CatalogTooLarge {}

impl CatalogLimit {
    /// Whether the Worker may read `manifest`'s version whole for `wanted_for` (decided from
    /// the manifest alone, before any shard is read).
    pub fn check(&self, manifest: &Manifest, wanted_for: WholeCatalog) -> Result<(), CatalogTooLarge> {
        let shards = manifest.shards().len();
        let bytes: u64 = manifest.shards().iter().map(|shard| u64::from(shard.bytes)).sum();
        if shards <= self.shards && bytes <= self.bytes {
            return Ok(());
        }
        Err(CatalogTooLarge { version: manifest.version.clone(), shards, bytes, limit: *self, wanted_for })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::compile::{compile_all, SourceFile};

    fn manifest(hosts: u32, shard_bytes: usize) -> Manifest {
        let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for n in 0..hosts {
            text.push_str(&format!("h{n} A 10.0.{}.{}\n", n >> 8, n & 255));
        }
        let catalog = compile_all(&[SourceFile { path: "limit.test.zone".into(), text }]).unwrap();
        crate::snapshot::build(&catalog, shard_bytes, 0).unwrap().manifest
    }

    #[test]
    fn versions_over_either_limit_are_refused_with_the_cli_command_to_use() {
        let small = manifest(100, 1024);
        let shards = small.shards().len();
        let bytes: u64 = small.shards().iter().map(|shard| u64::from(shard.bytes)).sum();
        assert!(shards > 1);
        assert_eq!(CatalogLimit { shards, bytes }.check(&small, WholeCatalog::List), Ok(()));
        assert_eq!(WORKER_LIMIT.check(&small, WholeCatalog::Edit), Ok(()));

        let by_count = CatalogLimit { shards: shards - 1, bytes }.check(&small, WholeCatalog::List).unwrap_err();
        assert_eq!((by_count.shards, by_count.bytes), (shards, bytes));
        let message = by_count.to_string();
        assert!(
            message.starts_with(&format!("snapshot {} is too large for the Worker to list its zones ({shards} shards, {bytes} bytes", small.version)),
            "{message}"
        );
        assert!(message.contains("`edgedns versions`") && message.contains("`edgedns diff`"), "{message}");
        let by_bytes = CatalogLimit { shards, bytes: bytes - 1 }.check(&small, WholeCatalog::Edit).unwrap_err();
        assert!(by_bytes.to_string().ends_with("use `edgedns diff`, then `edgedns publish`"), "{by_bytes}");
        let rollback = CatalogLimit { shards: 0, bytes: 0 }.check(&small, WholeCatalog::Rollback).unwrap_err();
        assert!(rollback.to_string().ends_with("use `edgedns rollback`"), "{rollback}");
    }

    #[test]
    fn the_worker_limit_binds_on_bytes_at_the_default_shard_size() {
        // 60,000 hosts: over 1 MiB of records in about a dozen default-sized shards.
        let large = manifest(60_000, crate::snapshot::DEFAULT_SHARD_BYTES);
        assert!(large.shards().len() <= WORKER_LIMIT.shards, "{}", large.shards().len());
        let refused = WORKER_LIMIT.check(&large, WholeCatalog::List).unwrap_err();
        assert!(refused.bytes > WORKER_LIMIT.bytes);
    }
}
