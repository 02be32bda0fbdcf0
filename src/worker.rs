//! The Cloudflare Workers adapter: HTTP in, zone snapshot from KV, HTTP out.
//!
//! It holds no DNS logic. Per isolate it keeps the manifest of the version it serves and the
//! shards its queries needed (decoded, within a budget). A cold isolate's first query reads
//! the manifest (`snapshot:current`), then the one shard holding the name (with
//! `health:current` in the same round trip when the shard holds routed sets): two KV reads,
//! whatever the size of the zones. Afterwards at most one request every
//! [`DEFAULT_REFRESH_MS`] (or `SNAPSHOT_REFRESH_SECONDS`) re-reads the manifest and the health
//! keys in the background (`waitUntil`), loading a new version's shards only when the version
//! changed. A steady stream of queries therefore does zero KV reads on its own path (counted:
//! `/admin/isolate`). GeoIP tables and the firewall's rules load in the background too. When a
//! load fails, the last good version keeps serving; with none at all, queries get SERVFAIL with
//! EDE 14 and a log line says why.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{console_error, console_log, event, Context, Env, Headers, Request, Response, Result};
use worker_sys::ext::RequestExt;

use crate::admin::{self, AdminError, AdminRequest};
use crate::client::{Client, EdgeLocation};
use crate::doh::{HttpError, HttpRequest, MAX_MESSAGE};
use crate::geo::ipdb::IpTable;
use crate::geo::{geoip_key, GeoIp, GEOIP_CURRENT_KEY};
use crate::health::{machine, overrides_from_json, schedule, status, HealthError, HealthSnapshot, Overrides, HEALTH_KEY, OVERRIDES_KEY};
use crate::policy::SplitMix;
use crate::resolver::firewall::{self, Firewall};
use crate::resolver::ResolverConfig;
use crate::server::{self, Environment, Outcome, Recursion, Zones};
use crate::snapshot::{self, Index};
use crate::zone::Catalog;
use hickory_proto::rr::Name;
use std::collections::HashMap;

/// The KV namespace binding holding the snapshots.
const ZONES_BINDING: &str = "ZONES";
/// How often an isolate checks whether a new snapshot was published, unless the
/// `SNAPSHOT_REFRESH_SECONDS` variable says otherwise.
const DEFAULT_REFRESH_MS: f64 = 30_000.0;
/// After a failed first load, how long queries get SERVFAIL before the next attempt.
const RETRY_MS: f64 = 5_000.0;

/// How many bytes of encoded shards an isolate keeps decoded, unless `SHARD_CACHE_KIB` says
/// otherwise. Decoded records take about twenty times their encoded size (BENCHMARKS.md §6),
/// so this holds some 50 MB of the 128 MB an isolate has; beyond it the least recently used
/// shard goes (and is read again when asked for).
const DEFAULT_SHARD_CACHE_BYTES: usize = 1024 * 1024;

thread_local! {
    /// The shard budget in force (read from the variables when the manifest is (re)read).
    static SHARD_CACHE_BYTES: std::cell::Cell<usize> = const { std::cell::Cell::new(DEFAULT_SHARD_CACHE_BYTES) };
}

thread_local! {
    /// The refresh interval in ms (`SNAPSHOT_REFRESH_SECONDS`), read on the first request.
    static REFRESH_MS: std::cell::OnceCell<f64> = const { std::cell::OnceCell::new() };
}

fn shard_budget() -> usize {
    SHARD_CACHE_BYTES.with(std::cell::Cell::get)
}

/// The version an isolate serves: its manifest, and the shards queries have needed so far.
struct Loaded {
    index: Rc<Index>,
    /// Decoded shards by number, with the tick each was last used at.
    shards: HashMap<usize, (Rc<Catalog>, u64)>,
    /// The encoded size of the shards held.
    bytes: usize,
    /// No zones, the manifest's settings: for names no zone holds (no shard is read).
    none: Rc<Catalog>,
    /// Shards whose read failed, with when: queries for them get SERVFAIL without another
    /// read until [`RETRY_MS`] has passed.
    failed: HashMap<usize, f64>,
}

impl Loaded {
    fn new(index: Index) -> std::result::Result<Self, snapshot::SnapshotError> {
        let none = Rc::new(index.manifest().empty_catalog()?);
        Ok(Self { index: Rc::new(index), shards: HashMap::new(), bytes: 0, none, failed: HashMap::new() })
    }

    fn version(&self) -> &str {
        &self.index.manifest().version
    }

    /// A shard now held, marked as used at `tick`.
    fn shard(&mut self, n: usize, tick: u64) -> Option<Rc<Catalog>> {
        let (catalog, used) = self.shards.get_mut(&n)?;
        *used = tick;
        Some(Rc::clone(catalog))
    }

    /// Holds a decoded shard, letting the least recently used ones go past the budget.
    fn insert(&mut self, n: usize, catalog: Rc<Catalog>, tick: u64) {
        let size = |n: usize, index: &Index| index.manifest().shards().get(n).map_or(0, |shard| shard.bytes as usize);
        if self.shards.insert(n, (catalog, tick)).is_none() {
            self.bytes += size(n, &self.index);
        }
        while self.bytes > shard_budget() && self.shards.len() > 1 {
            let Some((&oldest, _)) = self.shards.iter().filter(|(&held, _)| held != n).min_by_key(|(_, (_, used))| *used) else { break };
            self.shards.remove(&oldest);
            self.bytes -= size(oldest, &self.index);
        }
    }
}

#[derive(Default)]
struct State {
    loaded: Option<Loaded>,
    /// Counts uses of shards, for eviction.
    tick: u64,
    /// The last health snapshot read (empty until one is published).
    health: Rc<HealthSnapshot>,
    /// Whether the health keys were read at least once.
    health_read: bool,
    /// Whether a background read of the health keys is under way.
    health_loading: bool,
    /// The random source, seeded once per isolate from the platform's randomness.
    random: Option<SplitMix>,
    /// The GeoIP tables, loaded in the background after the first request.
    geoip: Option<Rc<GeoIp>>,
    /// The GeoIP version loaded (or last tried).
    geoip_version: Option<String>,
    /// The resolver settings, read from the variables once per isolate (`None` inside:
    /// authoritative only).
    resolver: Option<Option<Rc<ResolverConfig>>>,
    /// The DNS firewall's rules, loaded in the background.
    firewall: Option<Rc<Firewall>>,
    /// The firewall version loaded (or last tried).
    firewall_version: Option<String>,
    /// When the pointer was last read (or a load last failed), in ms since the epoch.
    checked_at: f64,
    /// Whether a background refresh is running.
    refreshing: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// On whose behalf a KV read is made: the counts prove (rather than assume) that queries
/// cost zero KV reads once an isolate has its data.
#[derive(Debug, Clone, Copy)]
enum ReadPath {
    /// While a query waits: only an isolate's very first load.
    Request,
    /// After the response (`waitUntil`): refreshes, GeoIP and firewall loads.
    Background,
    /// Admin requests and the scheduled health run.
    Operator,
}

/// This isolate's KV reads by path (and the bytes they returned), and the requests it served.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Counts {
    requests: u64,
    kv_reads_request: u64,
    kv_reads_background: u64,
    kv_reads_operator: u64,
    kv_bytes_request: u64,
    kv_bytes_background: u64,
    kv_bytes_operator: u64,
}

thread_local! {
    static COUNTS: RefCell<Counts> = RefCell::new(Counts::default());
}

/// The KV namespace, counting reads by path.
struct Kv {
    store: worker::KvStore,
    path: ReadPath,
}

impl Kv {
    fn open(env: &Env, path: ReadPath) -> Result<Self> {
        Ok(Self { store: env.kv(ZONES_BINDING)?, path })
    }

    /// Counts one read on this path, and the bytes it returned (0 for a missing key).
    fn count(&self, bytes: usize) {
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
    async fn text(&self, key: &str) -> std::result::Result<Option<String>, worker::kv::KvError> {
        let value = self.store.get(key).text().await;
        self.count(value.as_ref().ok().and_then(Option::as_ref).map_or(0, String::len));
        value
    }

    /// Reads a value as bytes (`None` when the key is missing).
    async fn bytes(&self, key: &str) -> std::result::Result<Option<Vec<u8>>, worker::kv::KvError> {
        let value = self.store.get(key).bytes().await;
        self.count(value.as_ref().ok().and_then(Option::as_ref).map_or(0, Vec::len));
        value
    }

    fn put<T: ToRawKvValue>(&self, key: &str, value: T) -> std::result::Result<worker::kv::PutOptionsBuilder, worker::kv::KvError> {
        self.store.put(key, value)
    }
}

use worker::kv::ToRawKvValue;

/// Why a snapshot could not be loaded.
enum LoadError {
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
async fn read_key(kv: &Kv, key: &str) -> std::result::Result<Vec<u8>, LoadError> {
    let value = kv.bytes(key).await.map_err(|e| LoadError::Kv(e.to_string()))?.ok_or_else(|| LoadError::MissingImage(key.to_owned()))?;
    Ok(snapshot::from_text(value))
}

/// The manifest `snapshot:current` holds (the first read of a cold isolate), with its bytes.
async fn read_current(kv: &Kv) -> std::result::Result<(Index, Vec<u8>), LoadError> {
    let bytes = match read_key(kv, snapshot::CURRENT_KEY).await {
        Err(LoadError::MissingImage(_)) => return Err(LoadError::NothingPublished),
        other => other?,
    };
    Ok((Index::decode(&bytes).map_err(LoadError::Corrupt)?, bytes))
}

/// A version's manifest (`snapshot:<version>`), with its bytes.
async fn read_manifest(kv: &Kv, version: &str) -> std::result::Result<(Index, Vec<u8>), LoadError> {
    let bytes = read_key(kv, &snapshot::version_key(version)).await?;
    Ok((Index::decode(&bytes).map_err(LoadError::Corrupt)?, bytes))
}

/// One shard, decoded.
async fn read_shard(kv: &Kv, index: &Index, n: usize) -> std::result::Result<Catalog, LoadError> {
    let bytes = read_key(kv, &snapshot::shard_key(&index.manifest().version, n)).await?;
    index.manifest().decode_shard(n, &bytes).map_err(LoadError::Corrupt)
}

/// A whole version, every shard read (concurrently) and reassembled: for the admin API,
/// which compares and edits whole catalogs. Answering never reads this.
async fn read_version(kv: &Kv, version: &str) -> std::result::Result<(Index, Vec<u8>, Catalog), LoadError> {
    let (index, bytes) = read_manifest(kv, version).await?;
    let keys: Vec<String> = (0..index.manifest().shards().len()).map(|n| snapshot::shard_key(version, n)).collect();
    let shards = futures_util::future::join_all(keys.iter().map(|key| read_key(kv, key))).await.into_iter().collect::<std::result::Result<Vec<_>, _>>()?;
    let catalog = index.manifest().assemble(&shards).map_err(LoadError::Corrupt)?;
    Ok((index, bytes, catalog))
}

/// Reads a JSON value from KV: `Ok(None)` when the key is missing, `Err` (logged) when KV
/// fails or the value does not parse.
async fn read_json<T>(kv: &Kv, key: &str, parse: impl FnOnce(&str) -> std::result::Result<T, HealthError>) -> std::result::Result<Option<T>, String> {
    let outcome = match kv.text(key).await {
        Ok(Some(text)) => parse(&text).map(Some).map_err(|error| format!("{key} is unreadable: {}", error.0)),
        Ok(None) => Ok(None),
        Err(error) => Err(format!("reading {key} failed: {error}")),
    };
    if let Err(message) = &outcome {
        console_error!("edgedns: {message}");
    }
    outcome
}

/// The measured health states and the operators' overrides, as answering uses them; `None`
/// when a read failed (the isolate keeps what it has). On a query's path one read:
/// `health:current` with the copy of the overrides it carries; otherwise (`both`) the
/// overrides key too, whose content replaces the copy.
async fn read_health(kv: &Kv, both: bool) -> Option<HealthSnapshot> {
    if !both {
        return Some(read_json(kv, HEALTH_KEY, HealthSnapshot::from_json).await.ok()?.unwrap_or_default());
    }
    let (measured, overrides) =
        futures_util::future::join(read_json(kv, HEALTH_KEY, HealthSnapshot::from_json), read_json(kv, OVERRIDES_KEY, overrides_from_json)).await;
    let (measured, overrides) = (measured.ok()?, overrides.ok()?);
    Some(measured.unwrap_or_default().with_overrides_replaced(overrides.unwrap_or_default()))
}

/// Reads the health keys into the isolate state (checks that never reported start from
/// their initial state).
async fn load_health(kv: &Kv, both: bool) {
    if let Some(health) = read_health(kv, both).await {
        STATE.with(|state| {
            let mut state = state.borrow_mut();
            let checks = state.loaded.as_ref().map(|loaded| loaded.index.manifest().health_checks().clone()).unwrap_or_default();
            state.health = Rc::new(health.with_initial_states(&checks));
            state.health_read = true;
        });
    }
}

/// Whether the isolate serves routed sets but has not read the health state yet.
fn health_missing() -> bool {
    STATE.with(|state| {
        let state = state.borrow();
        !state.health_read && state.loaded.as_ref().is_some_and(|loaded| loaded.index.manifest().uses_health())
    })
}

/// A cold isolate's first read: the manifest, on the request path. Failures are logged and
/// leave the isolate without zones (SERVFAIL, retried after [`RETRY_MS`]).
async fn load_first(kv: &Kv) {
    let outcome = read_current(kv).await.and_then(|(index, _)| Loaded::new(index).map_err(LoadError::Corrupt));
    let now = js_sys::Date::now();
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.checked_at = now;
        state.refreshing = false;
        match outcome {
            Ok(loaded) => {
                console_log!(
                    "edgedns: serving snapshot {} ({} zones, {} shards)",
                    loaded.version(),
                    loaded.index.manifest().zones().len(),
                    loaded.index.manifest().shards().len()
                );
                state.loaded = Some(loaded);
            }
            Err(error) => console_error!("edgedns: no zone data, answering SERVFAIL: {error}"),
        }
    });
}

/// The background refresh: re-reads the pointer and the health keys; when the version
/// changed, reads the new version's shards covering the names the old shards held (so queries
/// keep finding their shard loaded), and only then switches.
async fn refresh(kv: &Kv, known_version: String) {
    let (current, health) = futures_util::future::join(read_current(kv), async {
        let wanted = STATE.with(|state| state.borrow().loaded.as_ref().is_some_and(|loaded| loaded.index.manifest().uses_health()));
        if wanted {
            read_health(kv, true).await
        } else {
            None
        }
    })
    .await;
    let mut replacement = None;
    match current {
        Ok((index, _)) if index.manifest().version != known_version => {
            // The old shards' ranges, most recently used first, as shards of the new version.
            let old: Vec<Name> = STATE.with(|state| {
                let state = state.borrow();
                let Some(loaded) = state.loaded.as_ref() else { return Vec::new() };
                let mut held: Vec<(&usize, &(Rc<Catalog>, u64))> = loaded.shards.iter().collect();
                held.sort_by_key(|(_, (_, used))| std::cmp::Reverse(*used));
                held.iter().filter_map(|(&n, _)| loaded.index.first(n)).collect()
            });
            let mut wanted: Vec<usize> = Vec::new();
            let mut budget = 0;
            for first in &old {
                let n = index.shard_for(first);
                let bytes = index.manifest().shards().get(n).map_or(0, |shard| shard.bytes as usize);
                if !wanted.contains(&n) && (wanted.is_empty() || budget + bytes <= shard_budget()) {
                    wanted.push(n);
                    budget += bytes;
                }
            }
            let loaded_shards = futures_util::future::join_all(wanted.iter().map(|&n| read_shard(kv, &index, n))).await;
            match Loaded::new(index) {
                Ok(mut loaded) => {
                    let mut failed = None;
                    for (n, shard) in wanted.into_iter().zip(loaded_shards) {
                        match shard {
                            Ok(catalog) => loaded.insert(n, Rc::new(catalog), 0),
                            Err(error) => failed = Some(error),
                        }
                    }
                    match failed {
                        // A half-readable version is not switched to: the next refresh tries again.
                        Some(error) => console_error!("edgedns: keeping snapshot {known_version}: {error}"),
                        None => replacement = Some(loaded),
                    }
                }
                Err(error) => console_error!("edgedns: keeping snapshot {known_version}: {error}"),
            }
        }
        Ok(_) => {}
        Err(error) => console_error!("edgedns: keeping snapshot {known_version}: {error}"),
    }
    let now = js_sys::Date::now();
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.checked_at = now;
        state.refreshing = false;
        if let Some(loaded) = replacement {
            console_log!(
                "edgedns: serving snapshot {} ({} zones, {} shards)",
                loaded.version(),
                loaded.index.manifest().zones().len(),
                loaded.index.manifest().shards().len()
            );
            state.loaded = Some(loaded);
        }
        if let Some(health) = health {
            let checks = state.loaded.as_ref().map(|loaded| loaded.index.manifest().health_checks().clone()).unwrap_or_default();
            state.health = Rc::new(health.with_initial_states(&checks));
            state.health_read = true;
        }
    });
}

/// Loads the GeoIP tables when `geoip:current` names a version this isolate does not have.
/// Runs in the background (`waitUntil`): until it finishes, ECS subnets are not located and
/// answers use the edge's location data with scope 0.
async fn load_geoip(kv: &Kv) {
    let version = match kv.text(GEOIP_CURRENT_KEY).await {
        Ok(Some(version)) if !version.trim().is_empty() => version.trim().to_owned(),
        Ok(_) => return,
        Err(error) => {
            console_error!("edgedns: reading {GEOIP_CURRENT_KEY} failed: {error}");
            return;
        }
    };
    if STATE.with(|state| state.borrow().geoip_version.as_deref() == Some(version.as_str())) {
        return;
    }
    let mut tables = GeoIp::default();
    for kind in ["country", "asn"] {
        let key = geoip_key(kind, &version);
        match kv.bytes(&key).await {
            Ok(Some(bytes)) => match IpTable::decode(bytes) {
                Ok(table) if kind == "country" => tables.country = Some(table),
                Ok(table) => tables.asn = Some(table),
                Err(error) => console_error!("edgedns: ignoring corrupt {key}: {error}"),
            },
            Ok(None) => {}
            Err(error) => console_error!("edgedns: reading {key} failed: {error}"),
        }
    }
    console_log!("edgedns: GeoIP {version} loaded (country: {}, asn: {})", tables.country.is_some(), tables.asn.is_some());
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.geoip_version = Some(version);
        state.geoip = Some(Rc::new(tables));
    });
}

/// Loads the firewall's rule list when `firewall:current` names a version this isolate does
/// not have. Runs in the background: a large list is parsed off the query path, and until it
/// is loaded the previous one (or none) applies. An unreadable list is logged and skipped.
async fn load_firewall(kv: &Kv) {
    let version = match kv.text(firewall::CURRENT_KEY).await {
        Ok(Some(version)) => version.trim().to_owned(),
        Ok(None) => String::new(),
        Err(error) => {
            console_error!("edgedns: reading {} failed: {error}", firewall::CURRENT_KEY);
            return;
        }
    };
    if STATE.with(|state| state.borrow().firewall_version.as_deref() == Some(version.as_str())) {
        return;
    }
    let rules = if version.is_empty() {
        None
    } else {
        match kv.text(&firewall::version_key(&version)).await {
            Ok(Some(text)) => match Firewall::parse(&text) {
                Ok(rules) => Some(Rc::new(rules)),
                Err(error) => {
                    console_error!("edgedns: firewall {version} is unreadable, keeping the previous rules: {error}");
                    return;
                }
            },
            Ok(None) => {
                console_error!("edgedns: firewall {version} is missing from KV");
                return;
            }
            Err(error) => {
                console_error!("edgedns: reading firewall {version} failed: {error}");
                return;
            }
        }
    };
    console_log!("edgedns: firewall {} loaded ({} rules)", if version.is_empty() { "(none)" } else { &version }, rules.as_ref().map_or(0, |r| r.len()));
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.firewall_version = Some(version);
        state.firewall = rules;
    });
}

/// The resolver settings, read once per isolate; unusable settings are logged and leave
/// the endpoint authoritative only.
fn resolver_config(env: &Env) -> Option<Rc<ResolverConfig>> {
    if let Some(config) = STATE.with(|state| state.borrow().resolver.clone()) {
        return config;
    }
    let config = match ResolverConfig::from_vars(|name| env.var(name).ok().map(|value| value.to_string())) {
        Ok(config) => config.map(Rc::new),
        Err(error) => {
            console_error!("edgedns: resolver mode off, the settings are unusable: {error}");
            None
        }
    };
    STATE.with(|state| state.borrow_mut().resolver = Some(config.clone()));
    config
}

/// The manifest this isolate serves, loading it first (cold isolate: on the request path) or
/// scheduling a background refresh when one is due.
async fn index(env: &Env, context: &Context) -> Option<Rc<Index>> {
    let now = js_sys::Date::now();
    // Variables are fixed for an isolate's life: read once, not on every query.
    let refresh_ms = REFRESH_MS.with(|cell| {
        *cell.get_or_init(|| {
            env.var("SNAPSHOT_REFRESH_SECONDS")
                .ok()
                .and_then(|value| value.to_string().trim().parse::<f64>().ok())
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .map_or(DEFAULT_REFRESH_MS, |seconds| seconds * 1000.0)
        })
    });
    let (current, due, known_version) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let interval = if state.loaded.is_some() { refresh_ms } else { RETRY_MS.min(refresh_ms) };
        let due = !state.refreshing && (now - state.checked_at >= interval || state.checked_at == 0.0);
        if due {
            state.refreshing = true;
        }
        let current = state.loaded.as_ref().map(|loaded| Rc::clone(&loaded.index));
        // The version is only needed when a refresh is due: no per-query copy otherwise.
        let known_version = if due { state.loaded.as_ref().map(|loaded| loaded.version().to_owned()) } else { None };
        (current, due, known_version)
    });
    if !due {
        return current;
    }
    let budget = env
        .var("SHARD_CACHE_KIB")
        .ok()
        .and_then(|value| value.to_string().trim().parse::<usize>().ok())
        .map_or(DEFAULT_SHARD_CACHE_BYTES, |kib| kib.saturating_mul(1024));
    SHARD_CACHE_BYTES.with(|cell| cell.set(budget));
    let path = if current.is_some() { ReadPath::Background } else { ReadPath::Request };
    let kv = match Kv::open(env, path) {
        Ok(kv) => kv,
        Err(error) => {
            console_error!("edgedns: KV binding {ZONES_BINDING} is missing: {error}");
            STATE.with(|state| {
                let mut state = state.borrow_mut();
                state.refreshing = false;
                state.checked_at = now;
            });
            return current;
        }
    };
    match (current, known_version) {
        // Serve what we have; refresh after the response.
        (Some(index), Some(known_version)) => {
            context.wait_until(async move {
                refresh(&kv, known_version).await;
                load_geoip(&kv).await;
                load_firewall(&kv).await;
            });
            Some(index)
        }
        _ => {
            load_first(&kv).await;
            if let Ok(background) = Kv::open(env, ReadPath::Background) {
                context.wait_until(async move {
                    load_geoip(&background).await;
                    load_firewall(&background).await;
                });
            }
            STATE.with(|state| state.borrow().loaded.as_ref().map(|loaded| Rc::clone(&loaded.index)))
        }
    }
}

/// The zones to answer `request` from: the shard whose range holds the name it asks about
/// (read on the request path if this isolate does not hold it yet, with the health keys when
/// the shard's answers depend on them and they were never read), or no zones when no zone
/// holds the name or it asks about none.
async fn zones_for(env: &Env, context: &Context, name: Option<&Name>) -> Option<Rc<Catalog>> {
    let index = index(env, context).await?;
    let shard = name.filter(|name| index.hosts(name)).map(|name| index.shard_for(name));
    let held = STATE.with(|state| {
        let state = &mut *state.borrow_mut();
        state.tick += 1;
        let loaded = state.loaded.as_mut()?;
        if loaded.version() != index.manifest().version {
            return None;
        }
        Some(match shard {
            Some(n) => match loaded.shard(n, state.tick) {
                Some(catalog) => Ok(catalog),
                // A shard that just failed to load is not read again before the retry time.
                None if loaded.failed.get(&n).is_some_and(|at| js_sys::Date::now() - at < RETRY_MS) => return None,
                None => Err(n),
            },
            None => Ok(Rc::clone(&loaded.none)),
        })
    })?;
    let n = match held {
        Ok(catalog) => {
            if health_missing() {
                schedule_health(env, context);
            }
            return Some(catalog);
        }
        Err(n) => n,
    };
    let kv = Kv::open(env, ReadPath::Request).ok()?;
    let routed = index.manifest().shards().get(n).is_some_and(|shard| shard.routed);
    let with_health = routed && health_missing();
    let (shard, ()) = futures_util::future::join(read_shard(&kv, &index, n), async {
        if with_health {
            load_health(&kv, false).await;
        }
    })
    .await;
    if !with_health && health_missing() {
        schedule_health(env, context);
    }
    match shard {
        Ok(catalog) => {
            let catalog = Rc::new(catalog);
            STATE.with(|state| {
                let state = &mut *state.borrow_mut();
                if let Some(loaded) = state.loaded.as_mut().filter(|loaded| loaded.version() == index.manifest().version) {
                    loaded.insert(n, Rc::clone(&catalog), state.tick);
                }
            });
            Some(catalog)
        }
        Err(error) => {
            console_error!("edgedns: shard {n} of snapshot {} is unavailable, answering SERVFAIL: {error}", index.manifest().version);
            STATE.with(|state| {
                if let Some(loaded) = state.borrow_mut().loaded.as_mut().filter(|loaded| loaded.version() == index.manifest().version) {
                    loaded.failed.insert(n, js_sys::Date::now());
                }
            });
            None
        }
    }
}

/// Reads the health keys after the response, once (answers that needed them waited for them).
fn schedule_health(env: &Env, context: &Context) {
    let start = STATE.with(|state| !std::mem::replace(&mut state.borrow_mut().health_loading, true));
    if !start {
        return;
    }
    let Ok(kv) = Kv::open(env, ReadPath::Background) else { return };
    context.wait_until(async move {
        load_health(&kv, true).await;
        STATE.with(|state| state.borrow_mut().health_loading = false);
    });
}

fn client(request: &Request) -> Client {
    let address = request.headers().get("cf-connecting-ip").ok().flatten().and_then(|value| value.parse().ok());
    let location = request
        .inner()
        .cf()
        .and_then(|cf| js_sys::JSON::stringify(&JsValue::from(cf)).ok())
        .and_then(|json| json.as_string())
        .map(|json| EdgeLocation::from_json(&json))
        .unwrap_or_default();
    Client { address, location }
}

fn to_worker_response(response: crate::doh::HttpResponse) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(Response::from_bytes(response.body)?.with_status(response.status).with_headers(headers))
}

/// The `Content-Length` a request declares, if it is a number.
fn declared_length(request: &Request) -> Option<usize> {
    request.headers().get("content-length").ok().flatten().and_then(|value| value.trim().parse::<usize>().ok())
}

#[event(fetch)]
async fn fetch(mut request: Request, env: Env, context: Context) -> Result<Response> {
    COUNTS.with(|counts| counts.borrow_mut().requests += 1);
    #[cfg(feature = "bench-loop")]
    if let Some(response) = crate::bench_worker::intercept(&request).await {
        return response;
    }
    let method = request.method().to_string();
    let url = request.url()?;
    if url.path().starts_with(admin::ADMIN_PREFIX) {
        return to_worker_response(admin(&mut request, &method, &url, &env, &context).await);
    }
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let content_type = header("content-type");
    let accept = header("accept");
    if declared_length(&request).is_some_and(|length| length > MAX_MESSAGE) {
        return to_worker_response(HttpError::PayloadTooLarge.response());
    }
    let body = if method == "POST" { request.bytes().await? } else { Vec::new() };
    let client = client(&request);
    let http = HttpRequest {
        method: &method,
        path: url.path(),
        query: url.query().unwrap_or(""),
        content_type: content_type.as_deref(),
        accept: accept.as_deref(),
        body: &body,
    };
    // Parsed once: the name picks the shard, then the same parsed request is answered.
    let prepared = server::prepare(&http);
    let catalog = zones_for(&env, &context, prepared.question_name()).await;
    let zones = match &catalog {
        Some(catalog) => Zones::Loaded(catalog),
        None => Zones::Unavailable,
    };
    let resolver = resolver_config(&env);
    let (health, mut random, geoip, firewall) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let random = state.random.take().unwrap_or_else(|| SplitMix::new(seed()));
        (Rc::clone(&state.health), random, state.geoip.clone(), state.firewall.clone())
    });
    let now = js_sys::Date::now().max(0.0) as u64;
    let health_view = health.view(now);
    let locator = geoip.as_deref().map(|tables| tables as &dyn crate::client::SubnetLocator);
    let mut environment = Environment { client: &client, health: &health_view, random: &mut random, locator };
    let recursion = Recursion { config: resolver.as_deref(), firewall: firewall.as_deref() };
    let outcome = server::serve_prepared(prepared, zones, &mut environment, recursion);
    STATE.with(|state| state.borrow_mut().random = Some(random));
    let response = match (outcome, &resolver) {
        (Outcome::Respond(response), _) => response,
        (Outcome::Forward(forwarded), Some(config)) => crate::upstream::answer(&forwarded, config, &context).await,
        // `serve` forwards only with a configuration.
        (Outcome::Forward(_), None) => crate::doh::HttpResponse::error(500, "forwarding without a resolver configuration"),
    };
    to_worker_response(response)
}

/// 64 bits from the platform's cryptographic randomness (falling back to the clock).
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => js_sys::Date::now().to_bits(),
    }
}

/// Longest a probe may take when its check gives no `timeout` (seconds).
const DEFAULT_PROBE_TIMEOUT_S: u32 = 5;

/// One probe of an HTTP(S) or TCP check, bounded by its timeout; never fails, only reports.
async fn probe(spec: &crate::zone::routes::HealthCheckSpec) -> crate::health::machine::ProbeResult {
    use futures_util::future::{select, Either};
    let started = js_sys::Date::now();
    let timeout = std::time::Duration::from_secs(u64::from(spec.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT_S).clamp(1, crate::zone::routes::MAX_PROBE_TIMEOUT_S)));
    let host = spec.host.clone().unwrap_or_default();
    let attempt = async {
        match spec.kind.as_str() {
            "tcp" => {
                let Ok(socket) = worker::Socket::builder().connect(host.clone(), spec.port.unwrap_or(0)) else { return false };
                let opened = socket.opened().await.is_ok();
                let mut socket = socket;
                let _ = socket.close().await;
                opened
            }
            scheme => {
                let port = spec.port.map(|port| format!(":{port}")).unwrap_or_default();
                let path = spec.path.clone().unwrap_or_else(|| "/".to_owned());
                let url = format!("{scheme}://{host}{port}{path}");
                let headers = Headers::new();
                if let Some(host_header) = &spec.host_header {
                    let _ = headers.set("host", host_header);
                }
                let mut init = worker::RequestInit::new();
                init.with_headers(headers);
                let Ok(request) = Request::new_with_init(&url, &init) else { return false };
                let Ok(mut response) = worker::Fetch::Request(request).send().await else { return false };
                let status_ok = (200..400).contains(&response.status_code());
                match &spec.search {
                    None => status_ok,
                    // The search string must be in the first 5,120 bytes of the body.
                    Some(needle) => {
                        let body = response.bytes().await.unwrap_or_default();
                        let head = body.get(..body.len().min(5_120)).unwrap_or_default();
                        status_ok && head.windows(needle.len().max(1)).any(|window| window == needle.as_bytes())
                    }
                }
            }
        }
    };
    let success = match select(Box::pin(attempt), worker::Delay::from(timeout)).await {
        Either::Left((success, _)) => success,
        Either::Right(_) => false,
    };
    let elapsed = (js_sys::Date::now() - started).max(0.0);
    crate::health::machine::ProbeResult { success, latency_ms: Some(elapsed.min(f64::from(u32::MAX)) as u32) }
}

/// An admin request: authorized first (before its body is read: without the token nothing
/// is said, not even 413), then its body read within the endpoint's limit (checked against
/// `Content-Length` before reading and against the bytes read in `admin::parse`), parsed,
/// and served from fresh KV reads.
async fn admin(request: &mut Request, method: &str, url: &worker::Url, env: &Env, context: &Context) -> crate::doh::HttpResponse {
    let token = env.secret("ADMIN_TOKEN").ok().map(|token| token.to_string());
    let authorization = request.headers().get("authorization").ok().flatten();
    if let Err(error) = admin::authorize(token.as_deref(), authorization.as_deref()) {
        return error.response();
    }
    let limit = admin::body_limit(method, url.path());
    if declared_length(request).is_some_and(|length| length > limit) {
        return AdminError::PayloadTooLarge(limit).response();
    }
    let body = if matches!(method, "POST" | "PUT") {
        match request.bytes().await {
            Ok(body) => body,
            Err(error) => return AdminError::BadRequest(format!("the body could not be read: {error}")).response(),
        }
    } else {
        Vec::new()
    };
    let http = HttpRequest { method, path: url.path(), query: url.query().unwrap_or(""), body: &body, ..HttpRequest::default() };
    let now = js_sys::Date::now().max(0.0) as u64;
    let parsed = match admin::parse(&http, now) {
        Ok(parsed) => parsed,
        Err(error) => return error.response(),
    };
    match serve_admin(parsed, env, context, now).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn serve_admin(request: AdminRequest, env: &Env, context: &Context, now: u64) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let kv = Kv::open(env, ReadPath::Operator).map_err(|e| AdminError::Unavailable(format!("KV binding {ZONES_BINDING}: {e}")))?;
    match request {
        AdminRequest::Zones => return list_zones(&kv).await,
        AdminRequest::PutZone { apex, upload, dry_run } => return edit_zones(&kv, &apex, Some(&upload), dry_run, now).await,
        AdminRequest::DeleteZone { apex, dry_run } => return edit_zones(&kv, &apex, None, dry_run, now).await,
        AdminRequest::Rollback { to } => return rollback(&kv, to.as_deref()).await,
        _ => {}
    }
    let index = index(env, context).await.ok_or_else(|| AdminError::Unavailable("no zone data published".into()))?;
    let health_checks = index.manifest().health_checks();
    let overrides = read_json(&kv, OVERRIDES_KEY, overrides_from_json).await.map_err(AdminError::Unavailable)?.unwrap_or_default();
    match request {
        AdminRequest::ResolverStatus => {
            let resolver = resolver_config(env);
            let (firewall_version, firewall_rules) = STATE.with(|state| {
                let state = state.borrow();
                (state.firewall_version.clone(), state.firewall.as_ref().map_or(0, |rules| rules.len()))
            });
            let status = serde_json::json!({
                "mode": if resolver.is_some() { "resolver" } else { "authoritative" },
                "upstreams": resolver.as_ref().map(|config| config.upstreams.clone()).unwrap_or_default(),
                "firewall": { "version": firewall_version, "rules": firewall_rules },
                "isolate": crate::upstream::stats(),
            });
            Ok(admin::json(200, &status))
        }
        AdminRequest::IsolateStatus => {
            let (version, shards, held, bytes) = STATE.with(|state| {
                let state = state.borrow();
                match state.loaded.as_ref() {
                    Some(loaded) => {
                        let mut held: Vec<usize> = loaded.shards.keys().copied().collect();
                        held.sort_unstable();
                        (Some(loaded.version().to_owned()), loaded.index.manifest().shards().len(), held, loaded.bytes)
                    }
                    None => (None, 0, Vec::new(), 0),
                }
            });
            let counts = COUNTS.with(|counts| *counts.borrow());
            let status = serde_json::json!({
                "snapshot": version,
                "shards": { "total": shards, "held": held, "held_bytes": bytes },
                "counts": counts,
            });
            Ok(admin::json(200, &status))
        }
        AdminRequest::HealthStatus => {
            let measured = read_json(&kv, HEALTH_KEY, HealthSnapshot::from_json).await.map_err(AdminError::Unavailable)?.unwrap_or_default();
            Ok(admin::json(200, &status::report(health_checks, &measured, &overrides, now)))
        }
        change => {
            let mut overrides = overrides;
            if admin::change_overrides(&mut overrides, health_checks, change)? {
                let json = serde_json::to_string(&overrides).map_err(|e| AdminError::Unavailable(e.to_string()))?;
                let put = kv.put(OVERRIDES_KEY, json).map_err(|e| AdminError::Unavailable(format!("writing {OVERRIDES_KEY}: {e}")))?;
                put.execute().await.map_err(|e| AdminError::Unavailable(format!("writing {OVERRIDES_KEY}: {e}")))?;
                // The copy `health:current` carries, which cold isolates read alone.
                let measured = read_json(&kv, HEALTH_KEY, HealthSnapshot::from_json).await.map_err(AdminError::Unavailable)?.unwrap_or_default();
                let patched =
                    serde_json::to_string(&measured.with_overrides_replaced(overrides.clone())).map_err(|e| AdminError::Unavailable(e.to_string()))?;
                let put = kv.put(HEALTH_KEY, patched).map_err(|e| AdminError::Unavailable(format!("writing {HEALTH_KEY}: {e}")))?;
                put.execute().await.map_err(|e| AdminError::Unavailable(format!("writing {HEALTH_KEY}: {e}")))?;
                console_log!("edgedns: health overrides are now {}", serde_json::to_string(&overrides).unwrap_or_default());
                // This isolate answers with the change at once; others at their next refresh.
                STATE.with(|state| {
                    let mut state = state.borrow_mut();
                    let measured = HealthSnapshot { overrides: Overrides::new(), ..(*state.health).clone() };
                    state.health = Rc::new(measured.with_overrides(overrides.clone()));
                });
            }
            Ok(admin::json(200, &overrides))
        }
    }
}

/// The version `snapshot:current` names, `None` when nothing was published.
async fn current_version(kv: &Kv) -> std::result::Result<Option<String>, AdminError> {
    match read_current(kv).await {
        Ok((index, _)) => Ok(Some(index.manifest().version.clone())),
        Err(LoadError::NothingPublished) => Ok(None),
        Err(error) => Err(AdminError::Unavailable(error.to_string())),
    }
}

/// `snapshot:history`: empty when missing, `Err` when KV fails or it does not parse.
async fn read_history(kv: &Kv) -> std::result::Result<Vec<snapshot::Published>, String> {
    match kv.text(snapshot::HISTORY_KEY).await {
        Ok(Some(text)) => snapshot::history_from_json(&text).map_err(|error| error.to_string()),
        Ok(None) => Ok(Vec::new()),
        Err(error) => Err(format!("reading {} failed: {error}", snapshot::HISTORY_KEY)),
    }
}

/// Writes one KV value, binary ones as text ([`snapshot::storable`], as the CLI does).
async fn put_value(kv: &Kv, key: &str, value: &[u8]) -> std::result::Result<(), AdminError> {
    let failed = |error: String| AdminError::Unavailable(format!("writing {key} failed: {error}"));
    let put = kv.store.put_bytes(key, &snapshot::storable(value)).map_err(|e| failed(e.to_string()))?;
    put.execute().await.map_err(|e| failed(e.to_string()))
}

/// This isolate serves `index`'s version from now on (after a publish or rollback through the
/// API), reading its shards as queries need them; other isolates pick the version up at
/// their next pointer check.
fn serve_from_now(index: Index) {
    let now = js_sys::Date::now();
    let version = index.manifest().version.clone();
    let loaded = match Loaded::new(index) {
        Ok(loaded) => loaded,
        Err(error) => {
            console_error!("edgedns: keeping the current snapshot, {version} is unusable: {error}");
            return;
        }
    };
    console_log!("edgedns: serving snapshot {version} ({} zones), set through the admin API", loaded.index.manifest().zones().len());
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.health = Rc::new((*state.health).clone().with_initial_states(loaded.index.manifest().health_checks()));
        state.loaded = Some(loaded);
        state.checked_at = now;
    });
}

/// `GET /admin/zones`: the current version's zones and the history, read fresh from KV.
async fn list_zones(kv: &Kv) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let current = current_version(kv).await?;
    let catalog = match &current {
        Some(version) => read_version(kv, version).await.map_err(|error| AdminError::Unavailable(error.to_string()))?.2,
        None => Catalog::default(),
    };
    let history = read_history(kv).await.map_err(AdminError::Unavailable)?;
    Ok(admin::json(200, &admin::zone_listing(current.as_deref(), &catalog, history)))
}

/// `PUT`/`DELETE /admin/zones/<apex>`: the current version's sources with the zone replaced,
/// added or removed ([`admin::edit_zone`]), compiled and, unless a dry run, published the
/// way the CLI publishes.
///
/// Writes, in order: the shards, manifest and sources, the pointer, the history. A reader
/// follows the pointer, which is written last, so it always names a complete version. KV has no
/// compare-and-swap: two admins publishing at the same moment both succeed and the last
/// pointer written wins (the other edit is not in it; its version stays in the history, so
/// a rollback can reach it), and one history update may overwrite the other.
async fn edit_zones(
    kv: &Kv,
    apex: &hickory_proto::rr::Name,
    upload: Option<&admin::ZoneUpload>,
    dry_run: bool,
    now_ms: u64,
) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let previous = current_version(kv).await?;
    let (sources, served) = match &previous {
        Some(version) => {
            let key = snapshot::sources_key(version);
            let text = kv.text(&key).await.map_err(|e| AdminError::Unavailable(format!("reading {key} failed: {e}")))?.ok_or_else(|| {
                AdminError::Conflict(format!(
                    "{key} is missing: version {version} was published without its sources; publish once with `edgedns publish` to store them"
                ))
            })?;
            let sources = snapshot::sources_from_json(&text).map_err(|error| AdminError::Conflict(format!("{key}: {error}")))?;
            // Only for the list of changes: an unreadable version compares as empty.
            let served = read_version(kv, version).await.map(|(_, _, catalog)| catalog).unwrap_or_else(|error| {
                console_error!("edgedns: comparing against no zones: {error}");
                Catalog::default()
            });
            (sources, served)
        }
        None => (Vec::new(), Catalog::default()),
    };
    let edited = admin::edit_zone(&sources, apex, upload)?;
    let changes = admin::changes(&served, &edited.catalog);
    let zones = edited.catalog.zones().len();
    if dry_run {
        let report = admin::Publication { dry_run, version: None, previous, zones, changes, deleted: Vec::new(), warnings: Vec::new() };
        return Ok(admin::json(200, &report));
    }
    let now_s = now_ms / 1000;
    let built = snapshot::build(&edited.catalog, snapshot::DEFAULT_SHARD_BYTES, now_s)
        .map_err(|e| AdminError::Unavailable(format!("cannot encode the snapshot: {}", e.0)))?;
    let version = built.manifest.version.clone();
    let sources = snapshot::sources_to_json(&edited.sources);
    let mut entries = built.entries();
    let mut unstored = Vec::new();
    if snapshot::storable(sources.as_bytes()).len() <= snapshot::KV_VALUE_LIMIT {
        entries.push((snapshot::sources_key(&version), sources.as_bytes()));
    } else {
        unstored.push(format!(
            "the zone sources ({} bytes) are over KV's 25 MiB value limit and were not stored: this version's zones cannot be edited through the API",
            sources.len()
        ));
    }
    let writes = futures_util::future::join_all(entries.iter().map(|(key, value)| put_value(kv, key, value))).await;
    writes.into_iter().collect::<std::result::Result<Vec<()>, _>>()?;
    put_value(kv, snapshot::CURRENT_KEY, &built.manifest_bytes).await?;
    let index = Index::new(built.manifest).map_err(|e| AdminError::Unavailable(e.to_string()))?;
    serve_from_now(index);
    // The publish has happened: the history is bookkeeping, its failures are warnings.
    let (deleted, warnings) = record_publish(kv, &version, now_s, zones).await;
    unstored.extend(warnings);
    let report = admin::Publication { dry_run, version: Some(version), previous, zones, changes, deleted, warnings: unstored };
    Ok(admin::json(200, &report))
}

/// Adds a publish to the history and deletes the keys of the versions that fell off its end
/// (as the CLI does); returns those versions and any warnings (logged).
async fn record_publish(kv: &Kv, version: &str, now_s: u64, zones: usize) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let history = read_history(kv).await.unwrap_or_else(|message| {
        warnings.push(format!("{message}; starting a new history"));
        Vec::new()
    });
    let (history, dropped) = snapshot::record(&history, version, now_s, zones);
    match put_value(kv, snapshot::HISTORY_KEY, snapshot::history_to_json(&history).as_bytes()).await {
        Ok(()) => {
            for old in &dropped {
                let keys = match read_manifest(kv, old).await {
                    Ok((index, _)) => index.manifest().keys(),
                    // Without its manifest the shards cannot be counted: the manifest and sources go.
                    Err(_) => vec![snapshot::version_key(old), snapshot::sources_key(old)],
                };
                for key in keys {
                    if let Err(error) = kv.store.delete(&key).await {
                        warnings.push(format!("deleting {key} failed: {error}"));
                    }
                }
            }
        }
        Err(error) => warnings.push(error.message()),
    }
    for warning in &warnings {
        console_error!("edgedns: {warning}");
    }
    (dropped, warnings)
}

/// `POST /admin/rollback`: as `edgedns rollback`, the manifest and every shard are read and
/// decoded before the pointer moves.
async fn rollback(kv: &Kv, to: Option<&str>) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let previous = current_version(kv).await?.ok_or_else(|| AdminError::Conflict(format!("nothing published yet ({} is missing)", snapshot::CURRENT_KEY)))?;
    let history = read_history(kv).await.map_err(AdminError::Unavailable)?;
    let version = snapshot::rollback_target(&history, &previous, to).map_err(|error| AdminError::Conflict(error.to_string()))?;
    let (index, manifest_bytes, catalog) = match read_version(kv, &version).await {
        Ok(read) => read,
        Err(LoadError::MissingImage(key)) if key == snapshot::version_key(&version) => return Err(AdminError::UnknownVersion(version)),
        Err(LoadError::MissingImage(key)) => return Err(AdminError::Conflict(format!("snapshot {version} is unusable: {key} is missing"))),
        Err(LoadError::Corrupt(error)) => return Err(AdminError::Conflict(format!("snapshot {version} is unusable: {error}"))),
        Err(error) => return Err(AdminError::Unavailable(error.to_string())),
    };
    put_value(kv, snapshot::CURRENT_KEY, &manifest_bytes).await?;
    let zones = catalog.zones().len();
    serve_from_now(index);
    Ok(admin::json(200, &admin::RolledBack { previous, version, zones }))
}

/// The scheduled run (a Cron Trigger, or `/cdn-cgi/handler/scheduled` locally): the minute
/// is covered in rounds (see [`schedule`]); each round probes its due checks concurrently,
/// each with its own timeout, applies the state machine, derives calculated checks, and
/// writes one health snapshot. A flip is logged once.
#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _context: worker::ScheduleContext) {
    let Ok(kv) = Kv::open(&env, ReadPath::Operator) else {
        console_error!("edgedns: KV binding {ZONES_BINDING} is missing");
        return;
    };
    // The isolate's catalog when it has one (the last good snapshot, as answering uses);
    // otherwise load the current one.
    let held = || STATE.with(|state| state.borrow().loaded.as_ref().map(|loaded| Rc::clone(&loaded.index)));
    let index = match held() {
        Some(index) => index,
        None => {
            load_first(&kv).await;
            match held() {
                Some(index) => index,
                None => {
                    console_error!("edgedns: health run skipped: no zone data to read the checks from");
                    return;
                }
            }
        }
    };
    let checks = index.manifest().health_checks();
    let started = js_sys::Date::now();
    let scheduled_ms = if event.schedule().is_finite() && event.schedule() > 0.0 { event.schedule() } else { started };
    let mut previous = match read_json(&kv, HEALTH_KEY, HealthSnapshot::from_json).await {
        Ok(snapshot) => snapshot.unwrap_or_default(),
        // Unreadable: start again from "no data" rather than skip the run.
        Err(_) => HealthSnapshot::default(),
    };
    let mut rounds = schedule::plan(checks, scheduled_ms as u64);
    loop {
        // Rounds whose time has passed (a late start, a slow round) fold into the next one.
        let elapsed_s = ((js_sys::Date::now() - scheduled_ms).max(0.0) / 1000.0).min(f64::from(u32::MAX)) as u32;
        rounds = schedule::catch_up(rounds, elapsed_s);
        if rounds.is_empty() {
            break;
        }
        let round = rounds.remove(0);
        let wait_ms = scheduled_ms + f64::from(round.offset_s) * 1000.0 - js_sys::Date::now();
        if wait_ms > 0.0 {
            worker::Delay::from(std::time::Duration::from_millis(wait_ms as u64)).await;
        }
        let probed: Vec<(&String, &crate::zone::routes::HealthCheckSpec)> = round.checks.iter().filter_map(|id| checks.get_key_value(id)).collect();
        let results = futures_util::future::join_all(probed.iter().map(|(_, spec)| probe(spec))).await;
        let results: Vec<(String, machine::ProbeResult)> = probed.iter().map(|(id, _)| (*id).clone()).zip(results).collect();
        let now = js_sys::Date::now().max(0.0) as u64;
        let (next, flips) = machine::advance(checks, &previous, &results, now);
        for flip in &flips {
            console_log!("edgedns: health check {} is now {}", flip.id, if flip.healthy { "healthy" } else { "unhealthy" });
        }
        // The overrides as they are now travel in the snapshot (cold isolates read it alone).
        let next = match read_json(&kv, OVERRIDES_KEY, overrides_from_json).await {
            Ok(overrides) => next.with_overrides_replaced(overrides.unwrap_or_default()),
            Err(_) => next.with_overrides_replaced(previous.overrides.clone()),
        };
        write_health(&kv, &next).await;
        previous = next;
    }
}

/// Writes the measured states (the round's one KV write); a failure is logged and the next
/// round tries again.
async fn write_health(kv: &Kv, snapshot: &HealthSnapshot) {
    let outcome = match serde_json::to_string(snapshot) {
        Ok(json) => match kv.put(HEALTH_KEY, json) {
            Ok(put) => put.execute().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        },
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = outcome {
        console_error!("edgedns: writing {HEALTH_KEY} failed: {error}");
    }
}
