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

mod admin_api;
pub(crate) mod body;
mod health;
mod kv;
mod tables;

use admin_api::*;
use kv::*;
use tables::*;

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

#[event(fetch)]
async fn fetch(request: Request, env: Env, context: Context) -> Result<Response> {
    COUNTS.with(|counts| counts.borrow_mut().requests += 1);
    #[cfg(feature = "bench-loop")]
    if let Some(response) = crate::bench_worker::intercept(&request).await {
        return response;
    }
    let method = request.method().to_string();
    let url = request.url()?;
    if url.path().starts_with(admin::ADMIN_PREFIX) {
        return to_worker_response(admin(&request, &method, &url, &env, &context).await);
    }
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let content_type = header("content-type");
    let accept = header("accept");
    // Only a DoH POST carries a body; any other request's is never read (RFC 8484 §4.1).
    let body = if server::takes_body(&method, url.path()) {
        match body::request_body(&request, MAX_MESSAGE).await {
            Ok(body) => body,
            Err(body::BodyError::TooLarge) => return to_worker_response(HttpError::PayloadTooLarge.response()),
            Err(error) => return to_worker_response(crate::doh::HttpResponse::error(400, &error.to_string())),
        }
    } else {
        Vec::new()
    };
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
