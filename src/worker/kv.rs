//! KV reads and writes of the adapter, counted by whose behalf they are made, and the readers of
//! snapshot keys (manifest, shards, whole versions) and JSON values.

use super::*;

/// On whose behalf a KV read is made: the counts prove (rather than assume) that queries
/// cost zero KV reads once an isolate has its data.
#[derive(Debug, Clone, Copy)]
pub(super) enum ReadPath {
    /// While a query waits: only an isolate's very first load.
    Request,
    /// After the response (`waitUntil`): refreshes, GeoIP and firewall loads.
    Background,
    /// Admin requests and the scheduled health run.
    Operator,
}

impl From<crate::isolate::ReadPath> for ReadPath {
    fn from(path: crate::isolate::ReadPath) -> Self {
        match path {
            crate::isolate::ReadPath::Request => Self::Request,
            crate::isolate::ReadPath::Background => Self::Background,
        }
    }
}

/// This isolate's KV reads by path (and the bytes they returned), and the requests it served.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub(super) struct Counts {
    pub(super) requests: u64,
    kv_reads_request: u64,
    kv_reads_background: u64,
    kv_reads_operator: u64,
    kv_bytes_request: u64,
    kv_bytes_background: u64,
    kv_bytes_operator: u64,
}

thread_local! {
    pub(super) static COUNTS: RefCell<Counts> = RefCell::new(Counts::default());
}

/// The KV namespace, counting reads by path.
pub(super) struct Kv {
    pub(super) store: worker::KvStore,
    pub(super) path: ReadPath,
}

impl Kv {
    pub(super) fn open(env: &Env, path: ReadPath) -> Result<Self> {
        Ok(Self { store: env.kv(ZONES_BINDING)?, path })
    }

    /// Counts one read on this path, and the bytes it returned (0 for a missing key).
    pub(super) fn count(&self, bytes: usize) {
        COUNTS.with(|counts| {
            let counts = &mut *counts.borrow_mut();
            let (reads, total) = match self.path {
                ReadPath::Request => (&mut counts.kv_reads_request, &mut counts.kv_bytes_request),
                ReadPath::Background => (&mut counts.kv_reads_background, &mut counts.kv_bytes_background),
                ReadPath::Operator => (&mut counts.kv_reads_operator, &mut counts.kv_bytes_operator),
            };
            *reads += 1;
            *total += bytes as u64;
        });
    }

    /// Reads a value as text (`None` when the key is missing).
    pub(super) async fn text(&self, key: &str) -> std::result::Result<Option<String>, worker::kv::KvError> {
        let value = self.store.get(key).text().await;
        self.count(value.as_ref().ok().and_then(Option::as_ref).map_or(0, String::len));
        value
    }

    /// Reads a value as bytes (`None` when the key is missing).
    pub(super) async fn bytes(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, worker::kv::KvError> {
        let value = self.store.get(key).bytes().await;
        self.count(value.as_ref().ok().and_then(Option::as_ref).map_or(0, Vec::len));
        value
    }

    pub(super) fn put<T: ToRawKvValue>(&self, key: &str, value: T) -> std::result::Result<worker::kv::PutOptionsBuilder, worker::kv::KvError> {
        self.store.put(key, value)
    }
}

use worker::kv::ToRawKvValue;

/// Why a snapshot could not be loaded.
pub(super) enum LoadError {
    Kv(String),
    NothingPublished,
    MissingImage(String),
    Corrupt(snapshot::SnapshotError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kv(error) => write!(f, "KV read failed: {error}"),
            Self::NothingPublished => write!(f, "no snapshot published ({} is missing)", snapshot::CURRENT_KEY),
            Self::MissingImage(key) => write!(f, "{key} is missing from KV"),
            Self::Corrupt(error) => write!(f, "snapshot is unusable: {error}"),
        }
    }
}

/// Reads a key that must be there.
pub(super) async fn read_key(kv: &Kv, key: &str) -> std::result::Result<Vec<u8>, LoadError> {
    let value = kv.bytes(key).await.map_err(|e| LoadError::Kv(e.to_string()))?.ok_or_else(|| LoadError::MissingImage(key.to_owned()))?;
    Ok(snapshot::from_text(value))
}

/// The manifest `snapshot:current` holds (the first read of a cold isolate), with its bytes.
pub(super) async fn read_current(kv: &Kv) -> std::result::Result<(Index, Vec<u8>), LoadError> {
    let bytes = match read_key(kv, snapshot::CURRENT_KEY).await {
        Err(LoadError::MissingImage(_)) => return Err(LoadError::NothingPublished),
        other => other?,
    };
    Ok((Index::decode(&bytes).map_err(LoadError::Corrupt)?, bytes))
}

/// A version's manifest (`snapshot:<version>`), with its bytes.
pub(super) async fn read_manifest(kv: &Kv, version: &str) -> std::result::Result<(Index, Vec<u8>), LoadError> {
    let bytes = read_key(kv, &snapshot::version_key(version)).await?;
    Ok((Index::decode(&bytes).map_err(LoadError::Corrupt)?, bytes))
}

/// A whole version, every shard read (concurrently) and reassembled: for the admin API,
/// which compares and edits whole catalogs. Answering never reads this.
pub(super) async fn read_version(kv: &Kv, version: &str) -> std::result::Result<(Index, Vec<u8>, Catalog), LoadError> {
    let (index, bytes) = read_manifest(kv, version).await?;
    let keys: Vec<String> = (0..index.manifest().shards().len()).map(|n| snapshot::shard_key(version, n)).collect();
    let shards = futures_util::future::join_all(keys.iter().map(|key| read_key(kv, key))).await.into_iter().collect::<std::result::Result<Vec<_>, _>>()?;
    let catalog = index.manifest().assemble(&shards).map_err(LoadError::Corrupt)?;
    Ok((index, bytes, catalog))
}
