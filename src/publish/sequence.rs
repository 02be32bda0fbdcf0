//! The sequence over a [`Store`]: what is read, written and deleted, in what order. The
//! decisions are the pure functions of [`super::retention`] and [`writes`]; this only carries
//! them out and turns failures into errors (before the pointer moves) or warnings (after).

use std::borrow::Cow;

use super::history::{self, HistoryError, Published, RollbackError, HISTORY_KEY};
use super::limit::{CatalogLimit, CatalogTooLarge, WholeCatalog};
use super::retention::{self, Move, MoveKind, Named, Retention};
use super::store::{Store, StoreError};
use crate::snapshot::{self, Built, Manifest, SnapshotError, CURRENT_KEY};
use crate::zone::compile::SourceFile;

/// How many keys one read asks for while checking shards (`wrangler kv bulk get` takes 100).
const READ_BATCH: usize = 100;

/// Why a publish or rollback did not move the pointer (nothing readers see has changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// A read or write failed.
    Store(StoreError),
    /// A rollback with nothing published.
    NothingPublished,
    /// A rollback without a target while `snapshot:current` is not a manifest.
    CurrentUnreadable(SnapshotError),
    /// A rollback without a target while the history does not parse.
    History(HistoryError),
    /// Nothing to roll back to.
    Rollback(RollbackError),
    /// The version's manifest is not in the store.
    UnknownVersion(String),
    /// The version's manifest or a shard is missing or does not decode.
    Unusable {
        /// The version.
        version: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The version is over the caller's limit for reading it whole.
    TooLarge(CatalogTooLarge),
    /// A value of the version is over KV's value limit once stored (nothing was written).
    ValueTooLarge {
        /// Its key.
        key: String,
        /// Its stored bytes.
        bytes: usize,
    },
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(error) => write!(f, "{error}"),
            Self::NothingPublished => write!(f, "nothing published yet ({CURRENT_KEY} is missing)"),
            Self::CurrentUnreadable(error) => write!(f, "{CURRENT_KEY} is unusable ({error}): name the version to serve (--to VERSION)"),
            Self::History(error) => write!(f, "{error}: name the version to serve (--to VERSION)"),
            Self::Rollback(error) => write!(f, "{error}"),
            Self::UnknownVersion(version) => write!(f, "snapshot {version} is missing from KV"),
            Self::Unusable { version, reason } => write!(f, "snapshot {version} is unusable: {reason}"),
            Self::TooLarge(error) => write!(f, "{error}"),
            Self::ValueTooLarge { key, bytes } => write!(
                f,
                "{key} would be {bytes} bytes stored, over KV's 25 MiB value limit ({} bytes): nothing was written; \
                 publish with smaller shards (--shard-kib)",
                snapshot::KV_VALUE_LIMIT
            ),
        }
    }
}

impl std::error::Error for PublishError {}

/// What the pointer and the history say, read together (one round trip).
#[derive(Debug, Clone)]
pub struct State {
    /// The manifest `snapshot:current` holds: `Ok(None)` when nothing was published, `Err`
    /// when it is not a manifest.
    pub current: Result<Option<Manifest>, SnapshotError>,
    /// The history, newest first (empty when missing).
    pub history: Result<Vec<Published>, HistoryError>,
}

impl State {
    /// The version `snapshot:current` names, when it is a manifest.
    pub fn current_version(&self) -> Option<&str> {
        self.current.as_ref().ok().and_then(Option::as_ref).map(|manifest| manifest.version.as_str())
    }
}

/// Reads `snapshot:current` and the history.
pub async fn state<S: Store>(store: &S) -> Result<State, StoreError> {
    let keys = [CURRENT_KEY.to_owned(), HISTORY_KEY.to_owned()];
    let values = store.get_many(&keys).await?;
    let mut values = values.into_iter();
    let current = match values.next().flatten() {
        Some(text) => Manifest::decode(&stored_bytes(text)).map(Some),
        None => Ok(None),
    };
    let history = match values.next().flatten() {
        Some(text) => history::history_from_json(&String::from_utf8_lossy(&stored_bytes(text))),
        None => Ok(Vec::new()),
    };
    Ok(State { current, history })
}

/// A value as stored ([`snapshot::storable`]; always text).
fn stored_text(value: &[u8]) -> String {
    // `storable` returns text, or base64 behind a text prefix: valid UTF-8 either way.
    String::from_utf8_lossy(&snapshot::storable(value)).into_owned()
}

/// A stored value's bytes.
fn stored_bytes(text: String) -> Vec<u8> {
    snapshot::from_text(text.into_bytes())
}

/// Every key a publish writes before the pointer, with its stored value: the shards, the
/// manifest, then the sources (JSON text, stored as it is) when they fit in a KV value;
/// otherwise a warning that says so.
pub fn writes(built: &Built, sources: &[SourceFile]) -> (Vec<(String, String)>, Option<String>) {
    let mut entries: Vec<(String, String)> = built.entries().into_iter().map(|(key, value)| (key, stored_text(value))).collect();
    let json = snapshot::sources_to_json(sources);
    if json.len() <= snapshot::KV_VALUE_LIMIT {
        entries.push((snapshot::sources_key(&built.manifest.version), json));
        return (entries, None);
    }
    let warning = format!(
        "the zone sources ({} bytes) are over KV's 25 MiB value limit and were not stored: \
         this version's zones cannot be edited through the admin API (publish edits with the CLI)",
        json.len()
    );
    (entries, Some(warning))
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// The version published (now current).
    pub version: String,
    /// The version `snapshot:current` named before, when it was a manifest.
    pub previous: Option<String>,
    /// How many keys were written before the pointer.
    pub keys: usize,
    /// Their stored bytes.
    pub bytes: usize,
    /// Versions whose keys were deleted (retention), oldest first.
    pub deleted: Vec<String>,
    /// What went wrong after the pointer moved (the history, deletions), or was not stored.
    pub warnings: Vec<String>,
}

/// Publishes `built` with the `sources` it was compiled from, at `now` (Unix seconds):
/// 1. reads the pointer and the history (what was current, and since when);
/// 2. writes the shards, the manifest and the sources;
/// 3. writes `snapshot:current` (a copy of the manifest): readers follow it, so they never
///    see a version before all of it is written;
/// 4. updates the history and deletes the versions retention lets go ([`retention`]), then
///    writes the history.
///
/// An error means the pointer did not move. KV has no compare-and-swap: two publishes at the
/// same moment both succeed, the pointer written last wins, and one history update may
/// overwrite the other (the next move marks whatever the pointer names as replaced, so a
/// version lost from the history is put back and kept through its grace).
pub async fn publish<S: Store>(store: &S, built: &Built, sources: &[SourceFile], now: u64, retention: &Retention) -> Result<PublishReport, PublishError> {
    let version = built.manifest.version.clone();
    let zones = built.manifest.public_zones();
    let state = state(store).await.map_err(PublishError::Store)?;
    let mut warnings = Vec::new();
    let previous = match &state.current {
        Ok(current) => current.as_ref().map(|manifest| Named { version: &manifest.version, zones: manifest.public_zones() }),
        Err(error) => {
            warnings.push(format!("{CURRENT_KEY} was not a manifest ({error}); the publish replaces it"));
            None
        }
    };
    let history = match &state.history {
        Ok(history) => Cow::Borrowed(history.as_slice()),
        Err(error) => {
            warnings.push(format!("{error}; starting a new history"));
            Cow::Owned(Vec::new())
        }
    };
    let (entries, unstored) = writes(built, sources);
    // KV refuses a value over 25 MiB (a shard near the largest size, stored as base64, is
    // one), and a bulk write of several batches may be refused part way: check them all first.
    if let Some((key, value)) = entries.iter().find(|(_, value)| value.len() > snapshot::KV_VALUE_LIMIT) {
        return Err(PublishError::ValueTooLarge { key: key.clone(), bytes: value.len() });
    }
    warnings.extend(unstored);
    let bytes = entries.iter().map(|(_, value)| value.len()).sum();
    store.progress(&format!("writing {} keys of {version} ({bytes} bytes)", entries.len()));
    store.put_many(&entries).await.map_err(PublishError::Store)?;
    store.progress(&format!("pointing {CURRENT_KEY} at {version}"));
    store.put_many(&[(CURRENT_KEY.to_owned(), stored_text(&built.manifest_bytes))]).await.map_err(PublishError::Store)?;
    // Published: what follows is bookkeeping, whose failures are warnings.
    let change = Move { kind: MoveKind::Publish, to: Named { version: &version, zones }, from: previous, at: now };
    let deleted = settle(store, retention::moved(&history, &change), &version, now, retention, &mut warnings).await;
    let previous = previous.map(|named| named.version.to_owned());
    Ok(PublishReport { version, previous, keys: entries.len(), bytes, deleted, warnings })
}

/// What a rollback did.
#[derive(Debug, Clone)]
pub struct RollbackReport {
    /// The version `snapshot:current` named before, when it was a manifest.
    pub previous: Option<String>,
    /// The version now current.
    pub version: String,
    /// Its manifest (for the Worker to serve it at once).
    pub manifest: Manifest,
    /// Versions whose keys were deleted (retention), oldest first.
    pub deleted: Vec<String>,
    /// What went wrong after the pointer moved, or was unreadable and set aside.
    pub warnings: Vec<String>,
}

/// Points `snapshot:current` at `to`, or at the version published before the current one,
/// once its manifest and every shard are found to decode (and, with a `limit`, once the
/// version is found small enough to read whole). The history then records the target as
/// current from `now` and the version it replaces as replaced now, so retention keeps that one
/// through its grace; versions past retention are deleted as after a publish.
///
/// With `to`, a missing or unreadable pointer or history is set aside (a warning), so a
/// rollback can repair them.
pub async fn rollback<S: Store>(
    store: &S,
    to: Option<&str>,
    now: u64,
    limit: Option<&CatalogLimit>,
    retention: &Retention,
) -> Result<RollbackReport, PublishError> {
    let state = state(store).await.map_err(PublishError::Store)?;
    let mut warnings = Vec::new();
    let current = match state.current {
        Ok(Some(manifest)) => Some(manifest),
        Ok(None) if to.is_none() => return Err(PublishError::NothingPublished),
        Ok(None) => None,
        Err(error) if to.is_none() => return Err(PublishError::CurrentUnreadable(error)),
        Err(error) => {
            warnings.push(format!("{CURRENT_KEY} was not a manifest ({error}); the rollback replaces it"));
            None
        }
    };
    let history = match state.history {
        Ok(history) => history,
        Err(error) if to.is_none() => return Err(PublishError::History(error)),
        Err(error) => {
            warnings.push(format!("{error}; starting a new history"));
            Vec::new()
        }
    };
    let version = match (&current, to) {
        (Some(current), _) => history::rollback_target(&history, &current.version, to).map_err(PublishError::Rollback)?,
        (None, Some(to)) => to.to_owned(),
        (None, None) => return Err(PublishError::NothingPublished),
    };
    let key = snapshot::version_key(&version);
    let stored = store.get_many(std::slice::from_ref(&key)).await.map_err(PublishError::Store)?.into_iter().next().flatten();
    let stored = stored.ok_or_else(|| PublishError::UnknownVersion(version.clone()))?;
    let unusable = |reason: String| PublishError::Unusable { version: version.clone(), reason };
    let manifest = Manifest::decode(&stored_bytes(stored.clone())).map_err(|error| unusable(error.to_string()))?;
    if manifest.version != version {
        return Err(unusable(format!("{key} holds version {}", manifest.version)));
    }
    if let Some(limit) = limit {
        limit.check(&manifest, WholeCatalog::Rollback).map_err(PublishError::TooLarge)?;
    }
    verify(store, &manifest).await?;
    store.progress(&format!("pointing {CURRENT_KEY} at {version}"));
    // The manifest's stored text, as it is: the pointer is a copy of it.
    store.put_many(&[(CURRENT_KEY.to_owned(), stored)]).await.map_err(PublishError::Store)?;
    let from = current.as_ref().map(|manifest| Named { version: &manifest.version, zones: manifest.public_zones() });
    let change = Move { kind: MoveKind::Rollback, to: Named { version: &version, zones: manifest.public_zones() }, from, at: now };
    let deleted = settle(store, retention::moved(&history, &change), &version, now, retention, &mut warnings).await;
    let previous = current.map(|manifest| manifest.version);
    Ok(RollbackReport { previous, version, manifest, deleted, warnings })
}

/// Reads every shard of `manifest`'s version, [`READ_BATCH`] at a time, and decodes each as a
/// cold isolate would (one decoded shard in memory at a time).
async fn verify<S: Store>(store: &S, manifest: &Manifest) -> Result<(), PublishError> {
    let version = &manifest.version;
    let unusable = |reason: String| PublishError::Unusable { version: version.clone(), reason };
    let keys: Vec<String> = (0..manifest.shards().len()).map(|n| snapshot::shard_key(version, n)).collect();
    store.progress(&format!("checking {} shard(s) of {version}", keys.len()));
    let mut n = 0;
    for batch in keys.chunks(READ_BATCH) {
        let values = store.get_many(batch).await.map_err(PublishError::Store)?;
        if values.len() != batch.len() {
            return Err(PublishError::Store(StoreError(format!("asked for {} keys, got {} values", batch.len(), values.len()))));
        }
        for (key, value) in batch.iter().zip(values) {
            let value = value.ok_or_else(|| unusable(format!("{key} is missing from KV")))?;
            manifest.decode_shard(n, &stored_bytes(value)).map_err(|error| unusable(error.to_string()))?;
            n += 1;
        }
    }
    Ok(())
}

/// The keys of the versions to delete that fit in the budget.
#[derive(Debug, Default, PartialEq, Eq)]
struct Deletion {
    /// The versions, oldest first.
    versions: Vec<String>,
    /// Their shards and sources.
    keys: Vec<String>,
    /// Their manifests (deleted last).
    manifests: Vec<String>,
}

/// Which of the `expired` versions (with their stored manifests, `None` when missing) to
/// delete within `budget` keys, and their keys. A version without a readable manifest loses
/// its manifest and sources keys (its shards cannot be named).
fn deletion(expired: &[String], manifests: Vec<Option<String>>, budget: usize) -> Deletion {
    let mut plan = Deletion::default();
    let mut left = budget;
    for (version, stored) in expired.iter().zip(manifests) {
        let manifest_key = snapshot::version_key(version);
        let keys = stored
            .and_then(|text| Manifest::decode(&stored_bytes(text)).ok())
            .filter(|manifest| &manifest.version == version)
            .map(|manifest| manifest.keys())
            .unwrap_or_else(|| vec![manifest_key.clone(), snapshot::sources_key(version)]);
        if keys.len() > left {
            continue;
        }
        left -= keys.len();
        plan.keys.extend(keys.into_iter().filter(|key| *key != manifest_key));
        plan.manifests.push(manifest_key);
        plan.versions.push(version.clone());
    }
    plan
}

/// After the pointer moved to `current`: deletes the versions retention lets go from
/// `history` (shards and sources first, manifests last, so an interrupted deletion leaves
/// each manifest to name its shards next time), then writes the history without them. A
/// version leaves the history only once its keys are gone; failures are warnings.
async fn settle<S: Store>(store: &S, mut history: Vec<Published>, current: &str, now: u64, retention: &Retention, warnings: &mut Vec<String>) -> Vec<String> {
    let expired = retention::expired(&history, current, now, retention);
    let mut deleted = Vec::new();
    if !expired.is_empty() {
        let keys: Vec<String> = expired.iter().map(|version| snapshot::version_key(version)).collect();
        match store.get_many(&keys).await {
            Ok(manifests) => {
                let plan = deletion(&expired, manifests, retention.deletion_budget);
                if !plan.versions.is_empty() {
                    store.progress(&format!("deleting {} version(s) past retention ({} keys)", plan.versions.len(), plan.keys.len() + plan.manifests.len()));
                    let outcome = match store.delete_many(&plan.keys).await {
                        Ok(()) => store.delete_many(&plan.manifests).await,
                        Err(error) => Err(error),
                    };
                    match outcome {
                        Ok(()) => deleted = plan.versions,
                        Err(error) => warnings.push(format!("deleting {} failed (kept in the history): {error}", plan.versions.join(", "))),
                    }
                }
            }
            Err(error) => warnings.push(format!("reading the manifests of {} failed (kept in the history): {error}", expired.join(", "))),
        }
    }
    history.retain(|entry| !deleted.contains(&entry.version));
    if let Err(error) = store.put_many(&[(HISTORY_KEY.to_owned(), history::history_to_json(&history))]).await {
        warnings.push(format!("writing {HISTORY_KEY} failed: {error}"));
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::super::retention::GRACE_SECONDS;
    use super::super::store::block_on;
    use super::super::store::memory::{Call, MemoryStore};
    use super::*;
    use crate::zone::compile::compile_all;

    const R: Retention = Retention::DEFAULT;

    fn sources(serial: u32) -> Vec<SourceFile> {
        let mut text = format!("$TTL 60\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.{}\n", serial % 250);
        for n in 0..40 {
            text.push_str(&format!("h{n} A 10.0.0.{n}\n"));
        }
        vec![SourceFile { path: "seq.test.zone".into(), text }]
    }

    /// A version of `serial` published at `now`, in several shards.
    fn built(serial: u32, now: u64) -> (Built, Vec<SourceFile>) {
        let files = sources(serial);
        let catalog = compile_all(&files).unwrap();
        (snapshot::build(&catalog, 256, now).unwrap(), files)
    }

    fn publish_at(store: &MemoryStore, serial: u32, now: u64) -> PublishReport {
        let (built, files) = built(serial, now);
        assert!(built.shards.len() > 2, "{} shards", built.shards.len());
        block_on(publish(store, &built, &files, now, &R)).unwrap()
    }

    fn current(store: &MemoryStore) -> String {
        let text = store.values.borrow().get(CURRENT_KEY).cloned().unwrap();
        Manifest::decode(&stored_bytes(text)).unwrap().version
    }

    fn history(store: &MemoryStore) -> Vec<Published> {
        history::history_from_json(&store.values.borrow()[HISTORY_KEY]).unwrap()
    }

    /// The versions whose manifest is stored.
    fn stored_versions(store: &MemoryStore) -> Vec<String> {
        let keys = store.keys();
        let mut versions: Vec<String> = keys
            .iter()
            .filter_map(|key| key.strip_prefix("snapshot:"))
            .filter(|rest| !rest.contains('.') && *rest != "current" && *rest != "history")
            .map(str::to_owned)
            .collect();
        versions.sort();
        versions
    }

    /// Whether every key of `version` (shards, manifest, sources) is stored.
    fn complete(store: &MemoryStore, version: &str) -> bool {
        let text = store.values.borrow().get(&snapshot::version_key(version)).cloned();
        let Some(text) = text else { return false };
        let manifest = Manifest::decode(&stored_bytes(text)).unwrap();
        manifest.keys().iter().all(|key| store.values.borrow().contains_key(key))
    }

    #[test]
    fn a_publish_writes_everything_then_the_pointer_then_the_history() {
        let store = MemoryStore::default();
        let (built, files) = built(1, 1_000);
        let report = block_on(publish(&store, &built, &files, 1_000, &R)).unwrap();
        let version = built.manifest.version.clone();
        assert_eq!(report.version, version);
        assert_eq!((report.previous.as_deref(), report.deleted.len(), report.warnings.len()), (None, 0, 0));
        let calls = store.calls.borrow().clone();
        let mut written: Vec<String> = built.entries().into_iter().map(|(key, _)| key).collect();
        written.push(snapshot::sources_key(&version));
        assert_eq!(report.keys, written.len());
        assert_eq!(
            calls,
            [
                Call::Get(vec![CURRENT_KEY.to_owned(), HISTORY_KEY.to_owned()]),
                Call::Put(written),
                Call::Put(vec![CURRENT_KEY.to_owned()]),
                Call::Put(vec![HISTORY_KEY.to_owned()]),
            ]
        );
        assert_eq!(current(&store), version);
        assert!(complete(&store, &version));
        // Binary values are stored as text, and read back as they were written.
        let stored = store.values.borrow()[&snapshot::shard_key(&version, 0)].clone();
        assert!(stored.starts_with("edgedns-base64:"));
        assert_eq!(stored_bytes(stored), built.shards[0]);
        assert_eq!(snapshot::sources_from_json(&store.values.borrow()[&snapshot::sources_key(&version)]).unwrap(), files);
        let recorded = history(&store);
        assert_eq!(recorded, [Published { version, published_at: 1_000, zones: 1, current_since: Some(1_000), replaced_at: None }]);
        // And a second one marks the first replaced.
        let second = publish_at(&store, 2, 1_010);
        assert_eq!(second.previous.as_deref(), Some(recorded[0].version.as_str()));
        assert_eq!(history(&store)[1].replaced_at, Some(1_010));
    }

    #[test]
    fn a_failed_write_leaves_the_pointer_where_it_was() {
        let store = MemoryStore::default();
        let first = publish_at(&store, 1, 1_000);
        // The shards fail: no pointer, no history change.
        let (built, files) = built(2, 1_010);
        *store.fail_on.borrow_mut() = Some(snapshot::shard_key(&built.manifest.version, 0));
        let error = block_on(publish(&store, &built, &files, 1_010, &R)).unwrap_err();
        assert!(matches!(error, PublishError::Store(_)), "{error:?}");
        assert_eq!(current(&store), first.version);
        assert_eq!(history(&store).len(), 1);
        // Writing the pointer fails (after the version's keys): an error, no history written.
        *store.fail_on.borrow_mut() = None;
        *store.fail_writes_on.borrow_mut() = Some(CURRENT_KEY.to_owned());
        store.calls.borrow_mut().clear();
        let error = block_on(publish(&store, &built, &files, 1_010, &R)).unwrap_err();
        assert_eq!(error.to_string(), "injected failure on snapshot:current");
        let calls = store.calls.borrow().clone();
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert!(matches!(&calls[1], Call::Put(keys) if keys.contains(&snapshot::version_key(&built.manifest.version))));
        assert_eq!(calls[2], Call::Put(vec![CURRENT_KEY.to_owned()]));
        assert_eq!(current(&store), first.version);
        // The history fails after the pointer moved: published, with a warning.
        *store.fail_writes_on.borrow_mut() = Some(HISTORY_KEY.to_owned());
        let report = block_on(publish(&store, &built, &files, 1_010, &R)).unwrap();
        assert_eq!(current(&store), built.manifest.version);
        assert_eq!(report.warnings, ["writing snapshot:history failed: injected failure on snapshot:history"]);
        assert_eq!(history(&store).len(), 1, "the old history stays");
    }

    #[test]
    fn twelve_publishes_within_a_minute_delete_nothing_until_the_grace_ends() {
        let store = MemoryStore::default();
        let versions: Vec<String> = (0..12).map(|n| publish_at(&store, n + 1, 1_000 + u64::from(n) * 5).version).collect();
        assert!(versions.iter().all(|version| complete(&store, version)));
        assert_eq!(history(&store).len(), 12);
        assert!(!store.calls.borrow().iter().any(|call| matches!(call, Call::Delete(_))));
        // The two oldest stopped being current at 1,005 and 1,010: beyond the last ten, they
        // go once their grace has ended; the shards and sources before the manifests.
        store.calls.borrow_mut().clear();
        let late = publish_at(&store, 13, 1_010 + GRACE_SECONDS);
        assert_eq!(late.deleted, [versions[0].clone(), versions[1].clone()]);
        let deletes: Vec<Vec<String>> =
            store.calls.borrow().iter().filter_map(|call| if let Call::Delete(keys) = call { Some(keys.clone()) } else { None }).collect();
        assert_eq!(deletes.len(), 2, "{deletes:?}");
        assert_eq!(deletes[1], [snapshot::version_key(&versions[0]), snapshot::version_key(&versions[1])]);
        assert!(deletes[0].contains(&snapshot::shard_key(&versions[0], 0)) && deletes[0].contains(&snapshot::sources_key(&versions[1])));
        assert_eq!(stored_versions(&store).len(), 11);
        assert!(versions[2..].iter().all(|version| complete(&store, version)));
        assert_eq!(history(&store).len(), 11, "the history lists exactly the versions kept");
        assert!(!store.keys().iter().any(|key| key.contains(&versions[0]) || key.contains(&versions[1])));
    }

    #[test]
    fn rolling_back_to_the_oldest_then_publishing_keeps_it_through_the_grace() {
        let store = MemoryStore::default();
        let versions: Vec<String> = (0..10).map(|n| publish_at(&store, n + 1, 1_000 + u64::from(n) * 60).version).collect();
        let rolled = block_on(rollback(&store, Some(&versions[0]), 2_000, None, &R)).unwrap();
        assert_eq!((rolled.previous.as_deref(), rolled.version.as_str()), (Some(versions[9].as_str()), versions[0].as_str()));
        assert_eq!(current(&store), versions[0]);
        let recorded = history(&store);
        assert_eq!(recorded.len(), 10, "a rollback does not reorder the history");
        assert_eq!((recorded[9].current_since, recorded[9].replaced_at), (Some(2_000), None));
        assert_eq!(recorded[0].replaced_at, Some(2_000));

        let next = publish_at(&store, 11, 2_010);
        assert!(next.deleted.is_empty(), "{next:?}");
        assert!(complete(&store, &versions[0]), "the version current a moment ago is kept");
        assert_eq!(history(&store)[10].version, versions[0]);
        // Within its grace it stays (the next oldest, long replaced, goes); after, it goes.
        let within = publish_at(&store, 12, 2_010 + GRACE_SECONDS - 1);
        assert_eq!(within.deleted, [versions[1].clone()]);
        assert!(complete(&store, &versions[0]));
        let after = publish_at(&store, 13, 2_010 + GRACE_SECONDS);
        assert_eq!(after.deleted, [versions[0].clone(), versions[2].clone()]);
        assert!(!complete(&store, &versions[0]));
        assert!(complete(&store, &after.version) && complete(&store, &versions[3]));
    }

    #[test]
    fn a_rollback_checks_every_shard_before_the_pointer_moves() {
        let store = MemoryStore::default();
        let versions: Vec<String> = (0..4).map(|n| publish_at(&store, n + 1, 1_000 + u64::from(n)).version).collect();
        let moved_to = |store: &MemoryStore| current(store);
        // A missing manifest, a corrupt one, a missing shard and a corrupt shard: refused.
        let error = block_on(rollback(&store, Some("1-none"), 2_000, None, &R)).unwrap_err();
        assert_eq!(error, PublishError::UnknownVersion("1-none".into()));
        assert_eq!(error.to_string(), "snapshot 1-none is missing from KV");
        store.values.borrow_mut().insert(snapshot::version_key(&versions[0]), "garbage".into());
        let error = block_on(rollback(&store, Some(&versions[0]), 2_000, None, &R)).unwrap_err();
        assert!(error.to_string().contains("is unusable: not a snapshot"), "{error}");
        store.values.borrow_mut().remove(&snapshot::shard_key(&versions[1], 1));
        let error = block_on(rollback(&store, Some(&versions[1]), 2_000, None, &R)).unwrap_err();
        assert_eq!(error.to_string(), format!("snapshot {0} is unusable: snapshot:{0}.1 is missing from KV", versions[1]));
        store.values.borrow_mut().insert(snapshot::shard_key(&versions[2], 2), stored_text(b"EDGESHD6garbage"));
        let error = block_on(rollback(&store, Some(&versions[2]), 2_000, None, &R)).unwrap_err();
        assert!(error.to_string().contains("is unusable: corrupt"), "{error}");
        // Too large for the caller's limit.
        let limit = CatalogLimit { shards: 1, bytes: u64::MAX };
        let error = block_on(rollback(&store, None, 2_000, Some(&limit), &R)).unwrap_err();
        assert!(matches!(&error, PublishError::TooLarge(refused) if refused.version == versions[2]), "{error:?}");
        assert_eq!(moved_to(&store), versions[3], "nothing moved the pointer");
        // Without a target: the one published before; then already current is refused.
        let back = block_on(rollback(&store, None, 2_000, None, &R));
        assert!(matches!(&back, Err(PublishError::Unusable { version, .. }) if *version == versions[2]), "{back:?}");
        let back = block_on(rollback(&store, Some(&versions[3]), 2_000, None, &R)).unwrap_err();
        assert_eq!(back, PublishError::Rollback(RollbackError::AlreadyCurrent(versions[3].clone())));
    }

    #[test]
    fn a_rollback_with_a_target_repairs_a_broken_pointer_and_history() {
        let store = MemoryStore::default();
        let first = publish_at(&store, 1, 1_000).version;
        publish_at(&store, 2, 1_010);
        store.values.borrow_mut().insert(CURRENT_KEY.into(), "no-such-version".into());
        store.values.borrow_mut().insert(HISTORY_KEY.into(), "{".into());
        assert!(matches!(block_on(rollback(&store, None, 2_000, None, &R)), Err(PublishError::CurrentUnreadable(_))));
        let repaired = block_on(rollback(&store, Some(&first), 2_000, None, &R)).unwrap();
        assert_eq!((repaired.previous, repaired.warnings.len()), (None, 2));
        assert_eq!(current(&store), first);
        assert_eq!(history(&store).len(), 1);
        // Nothing published at all.
        let empty = MemoryStore::default();
        assert_eq!(block_on(rollback(&empty, None, 2_000, None, &R)).unwrap_err().to_string(), "nothing published yet (snapshot:current is missing)");
    }

    #[test]
    fn a_history_written_before_the_times_were_recorded_is_kept_through_the_grace() {
        let store = MemoryStore::default();
        let versions: Vec<String> = (0..11).map(|n| publish_at(&store, n + 1, 1_000 + u64::from(n)).version).collect();
        // Rewrite the history as an older edgedns wrote it: no current_since, no replaced_at.
        let old: Vec<Published> = history(&store).into_iter().map(|entry| Published { current_since: None, replaced_at: None, ..entry }).collect();
        store.values.borrow_mut().insert(HISTORY_KEY.into(), history::history_to_json(&old));
        let next = publish_at(&store, 12, 500_000);
        assert!(next.deleted.is_empty(), "unknown times count as replaced now: {next:?}");
        assert!(history(&store)[1..].iter().all(|entry| entry.replaced_at == Some(500_000)));
        let later = publish_at(&store, 13, 500_000 + GRACE_SECONDS);
        assert_eq!(later.deleted, [versions[0].clone(), versions[1].clone(), versions[2].clone()]);
    }

    #[test]
    fn deletions_stay_within_the_budget_and_failures_keep_versions_listed() {
        let store = MemoryStore::default();
        let versions: Vec<String> = (0..12).map(|n| publish_at(&store, n + 1, 1_000 + u64::from(n)).version).collect();
        let keys_per_version = {
            let text = store.values.borrow()[&snapshot::version_key(&versions[0])].clone();
            Manifest::decode(&stored_bytes(text)).unwrap().keys().len()
        };
        // Room for one version: the oldest goes, the next waits for a later move.
        let budget = Retention { deletion_budget: keys_per_version + 1, ..R };
        let (next, files) = built(13, 10_000);
        let report = block_on(publish(&store, &next, &files, 10_000, &budget)).unwrap();
        assert_eq!(report.deleted, [versions[0].clone()]);
        assert!(history(&store).iter().any(|entry| entry.version == versions[1]), "the second stays listed");
        // A failed deletion keeps the versions listed, with a warning.
        *store.fail_on.borrow_mut() = Some(snapshot::shard_key(&versions[1], 0));
        let report = publish_at_with(&store, 14, 10_010);
        assert!(report.deleted.is_empty());
        let failed = format!("deleting {}, {}, {} failed", versions[1], versions[2], versions[3]);
        assert!(report.warnings.iter().any(|warning| warning.starts_with(&failed)), "{report:?}");
        assert!(history(&store).iter().any(|entry| entry.version == versions[1]));
        *store.fail_on.borrow_mut() = None;
        let report = publish_at(&store, 15, 10_020);
        assert_eq!(report.deleted, versions[1..5]);
        assert!(!store.keys().iter().any(|key| key.contains(&versions[1])));
    }

    fn publish_at_with(store: &MemoryStore, serial: u32, now: u64) -> PublishReport {
        let (built, files) = built(serial, now);
        block_on(publish(store, &built, &files, now, &R)).unwrap()
    }

    #[test]
    fn a_version_whose_manifest_is_gone_loses_its_manifest_and_sources_keys() {
        let plan = deletion(&["1-a".to_owned(), "2-b".to_owned()], vec![None, Some("garbage".into())], usize::MAX);
        assert_eq!(plan.versions, ["1-a", "2-b"]);
        assert_eq!(plan.keys, ["sources:1-a", "sources:2-b"]);
        assert_eq!(plan.manifests, ["snapshot:1-a", "snapshot:2-b"]);
        assert_eq!(deletion(&["1-a".to_owned()], vec![None], 1), Deletion::default());
    }

    #[test]
    fn a_value_over_the_limit_once_stored_is_refused_before_anything_is_written() {
        let store = MemoryStore::default();
        let first = publish_at(&store, 1, 1_000);
        let (mut built, files) = built(2, 1_010);
        // Binary, so stored as base64: 3/4 of the limit and a little is over it.
        built.shards[0] = vec![0xff; snapshot::KV_VALUE_LIMIT / 4 * 3 + 3];
        store.calls.borrow_mut().clear();
        let error = block_on(publish(&store, &built, &files, 1_010, &R)).unwrap_err();
        let key = snapshot::shard_key(&built.manifest.version, 0);
        assert!(matches!(&error, PublishError::ValueTooLarge { key: refused, bytes } if *refused == key && *bytes > snapshot::KV_VALUE_LIMIT), "{error:?}");
        assert!(error.to_string().ends_with("nothing was written; publish with smaller shards (--shard-kib)"), "{error}");
        assert!(store.calls.borrow().iter().all(|call| matches!(call, Call::Get(_))), "{:?}", store.calls.borrow());
        assert_eq!(current(&store), first.version);
    }

    #[test]
    fn sources_over_the_value_limit_are_not_written() {
        let (built, _) = built(1, 0);
        let huge = vec![SourceFile { path: "big.zone".into(), text: "x".repeat(snapshot::KV_VALUE_LIMIT) }];
        let (entries, warning) = writes(&built, &huge);
        assert_eq!(entries.len(), built.shards.len() + 1);
        assert!(warning.unwrap().contains("over KV's 25 MiB value limit"));
    }
}
