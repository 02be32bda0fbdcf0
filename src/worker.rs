//! The Cloudflare Workers adapter: HTTP in, zone snapshot from KV, HTTP out.
//!
//! It holds no DNS logic. Per isolate it keeps the decoded catalog in memory; the first
//! request loads it (two KV reads: the pointer, then the image), and afterwards at most one
//! request every [`DEFAULT_REFRESH_MS`] (or `SNAPSHOT_REFRESH_SECONDS`) re-reads the pointer in the background (`waitUntil`), loading
//! a new image only when the version changed. A steady stream of queries therefore does zero
//! KV reads on its own path. When a load fails, the last good catalog keeps serving; with
//! none at all, queries get SERVFAIL with EDE 14 and a log line says why.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{console_error, console_log, event, Context, Env, Headers, KvStore, Request, Response, Result};
use worker_sys::ext::RequestExt;

use crate::client::{Client, EdgeLocation};
use crate::doh::{HttpError, HttpRequest, MAX_MESSAGE};
use crate::geo::ipdb::IpTable;
use crate::geo::{geoip_key, GeoIp, GEOIP_CURRENT_KEY};
use crate::health::{HealthSnapshot, HEALTH_KEY};
use crate::policy::SplitMix;
use crate::server::{self, Environment, Zones};
use crate::snapshot;
use crate::zone::Catalog;

/// The KV namespace binding holding the snapshots.
const ZONES_BINDING: &str = "ZONES";
/// How often an isolate checks whether a new snapshot was published, unless the
/// `SNAPSHOT_REFRESH_SECONDS` variable says otherwise.
const DEFAULT_REFRESH_MS: f64 = 30_000.0;
/// After a failed first load, how long queries get SERVFAIL before the next attempt.
const RETRY_MS: f64 = 5_000.0;

/// The catalog an isolate serves, with its version.
struct Loaded {
    catalog: Rc<Catalog>,
    version: String,
}

#[derive(Default)]
struct State {
    loaded: Option<Loaded>,
    /// The last health snapshot read (empty until one is published).
    health: Rc<HealthSnapshot>,
    /// The random source, seeded once per isolate from the platform's randomness.
    random: Option<SplitMix>,
    /// The GeoIP tables, loaded in the background after the first request.
    geoip: Option<Rc<GeoIp>>,
    /// The GeoIP version loaded (or last tried).
    geoip_version: Option<String>,
    /// When the pointer was last read (or a load last failed), in ms since the epoch.
    checked_at: f64,
    /// Whether a background refresh is running.
    refreshing: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

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
            Self::MissingImage(version) => write!(f, "snapshot {version} is missing from KV"),
            Self::Corrupt(error) => write!(f, "snapshot is unusable: {error}"),
        }
    }
}

async fn read_pointer(kv: &KvStore) -> std::result::Result<String, LoadError> {
    let version = kv.get(snapshot::CURRENT_KEY).text().await.map_err(|e| LoadError::Kv(e.to_string()))?;
    version.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).ok_or(LoadError::NothingPublished)
}

async fn read_image(kv: &KvStore, version: &str) -> std::result::Result<Catalog, LoadError> {
    let bytes = kv
        .get(&snapshot::version_key(version))
        .bytes()
        .await
        .map_err(|e| LoadError::Kv(e.to_string()))?
        .ok_or_else(|| LoadError::MissingImage(version.to_owned()))?;
    snapshot::decode(&bytes).map_err(LoadError::Corrupt)
}

/// Loads the current snapshot into the isolate state (first request, or a new version).
async fn load(kv: &KvStore, known_version: Option<String>) {
    let health = match kv.get(HEALTH_KEY).text().await {
        Ok(Some(text)) => match HealthSnapshot::from_json(&text) {
            Ok(snapshot) => Some(snapshot),
            Err(error) => {
                console_error!("edgedns: ignoring unreadable {HEALTH_KEY}: {}", error.0);
                None
            }
        },
        Ok(None) => None,
        Err(error) => {
            console_error!("edgedns: reading {HEALTH_KEY} failed: {error}");
            None
        }
    };
    let outcome = async {
        let version = read_pointer(kv).await?;
        if known_version.as_deref() == Some(version.as_str()) {
            return Ok(None);
        }
        let catalog = read_image(kv, &version).await?;
        Ok::<_, LoadError>(Some((version, catalog)))
    }
    .await;
    let now = js_sys::Date::now();
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.checked_at = now;
        state.refreshing = false;
        if let Some(health) = health {
            state.health = Rc::new(health);
        }
        match outcome {
            Ok(Some((version, catalog))) => {
                console_log!("edgedns: serving snapshot {version} ({} zones)", catalog.zones().len());
                state.loaded = Some(Loaded { catalog: Rc::new(catalog), version });
            }
            Ok(None) => {}
            Err(error) => match &state.loaded {
                Some(loaded) => console_error!("edgedns: keeping snapshot {}: {error}", loaded.version),
                None => console_error!("edgedns: no zone data, answering SERVFAIL: {error}"),
            },
        }
    });
}

/// Loads the GeoIP tables when `geoip:current` names a version this isolate does not have.
/// Runs in the background (`waitUntil`): until it finishes, ECS subnets are not located and
/// answers use the edge's location data with scope 0.
async fn load_geoip(kv: &KvStore) {
    let version = match kv.get(GEOIP_CURRENT_KEY).text().await {
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
        match kv.get(&key).bytes().await {
            Ok(Some(bytes)) => match IpTable::decode(bytes) {
                Ok(table) if kind == "country" => tables.country = Some(table),
                Ok(table) => tables.asn = Some(table),
                Err(error) => console_error!("edgedns: ignoring corrupt {key}: {error}"),
            },
            Ok(None) => {}
            Err(error) => console_error!("edgedns: reading {key} failed: {error}"),
        }
    }
    console_log!(
        "edgedns: GeoIP {version} loaded (country: {}, asn: {})",
        tables.country.is_some(),
        tables.asn.is_some()
    );
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.geoip_version = Some(version);
        state.geoip = Some(Rc::new(tables));
    });
}

/// The catalog to answer from, loading or scheduling a refresh as needed.
async fn catalog(env: &Env, context: &Context) -> Option<Rc<Catalog>> {
    let now = js_sys::Date::now();
    let refresh_ms = env
        .var("SNAPSHOT_REFRESH_SECONDS")
        .ok()
        .and_then(|value| value.to_string().trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map_or(DEFAULT_REFRESH_MS, |seconds| seconds * 1000.0);
    let (current, due, known_version) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let interval = if state.loaded.is_some() { refresh_ms } else { RETRY_MS.min(refresh_ms) };
        let due = !state.refreshing && (now - state.checked_at >= interval || state.checked_at == 0.0);
        if due {
            state.refreshing = true;
        }
        let current = state.loaded.as_ref().map(|loaded| Rc::clone(&loaded.catalog));
        // The version is only needed when a refresh is due: no per-query copy otherwise.
        let known_version = if due { state.loaded.as_ref().map(|loaded| loaded.version.clone()) } else { None };
        (current, due, known_version)
    });
    if !due {
        return current;
    }
    let kv = match env.kv(ZONES_BINDING) {
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
    match current {
        // Serve what we have; refresh after the response.
        Some(catalog) => {
            context.wait_until(async move {
                load(&kv, known_version).await;
                load_geoip(&kv).await;
            });
            Some(catalog)
        }
        None => {
            load(&kv, None).await;
            if let Ok(background) = env.kv(ZONES_BINDING) {
                context.wait_until(async move { load_geoip(&background).await });
            }
            STATE.with(|state| state.borrow().loaded.as_ref().map(|loaded| Rc::clone(&loaded.catalog)))
        }
    }
}

fn client(request: &Request) -> Client {
    let address = request
        .headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .and_then(|value| value.parse().ok());
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
async fn fetch(mut request: Request, env: Env, context: Context) -> Result<Response> {
    #[cfg(feature = "bench-loop")]
    if let Some(response) = crate::bench_worker::intercept(&request).await { return response; }
    let method = request.method().to_string();
    let url = request.url()?;
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let content_type = header("content-type");
    let accept = header("accept");
    let declared_length = header("content-length").and_then(|value| value.trim().parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > MAX_MESSAGE) {
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
    let catalog = catalog(&env, &context).await;
    let zones = match &catalog {
        Some(catalog) => Zones::Loaded(catalog),
        None => Zones::Unavailable,
    };
    let (health, mut random, geoip) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let random = state.random.take().unwrap_or_else(|| SplitMix::new(seed()));
        (Rc::clone(&state.health), random, state.geoip.clone())
    });
    let now = js_sys::Date::now().max(0.0) as u64;
    let health_view = health.view(now);
    let locator = geoip.as_deref().map(|tables| tables as &dyn crate::client::SubnetLocator);
    let mut environment = Environment { client: &client, health: &health_view, random: &mut random, locator };
    let response = server::handle(&http, zones, &mut environment);
    STATE.with(|state| state.borrow_mut().random = Some(random));
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
    let timeout = std::time::Duration::from_secs(u64::from(spec.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT_S).clamp(1, 30)));
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

/// The scheduled run (a Cron Trigger, or `/cdn-cgi/handler/scheduled` locally): probes every
/// declared HTTP/HTTPS/TCP check concurrently, each with its own timeout, applies the state
/// machine, derives calculated checks, and writes one health snapshot (one KV write per run,
/// overrides kept). A flip is logged once.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _context: worker::ScheduleContext) {
    let Ok(kv) = env.kv(ZONES_BINDING) else {
        console_error!("edgedns: KV binding {ZONES_BINDING} is missing");
        return;
    };
    // The isolate's catalog when it has one (the last good snapshot, as answering uses);
    // otherwise load the current one.
    let held = STATE.with(|state| state.borrow().loaded.as_ref().map(|loaded| Rc::clone(&loaded.catalog)));
    let catalog = match held {
        Some(catalog) => catalog,
        None => {
            load(&kv, None).await;
            match STATE.with(|state| state.borrow().loaded.as_ref().map(|loaded| Rc::clone(&loaded.catalog))) {
                Some(catalog) => catalog,
                None => {
                    console_error!("edgedns: health run skipped: no zone data to read the checks from");
                    return;
                }
            }
        }
    };
    let previous = match kv.get(HEALTH_KEY).text().await {
        Ok(Some(text)) => HealthSnapshot::from_json(&text).unwrap_or_default(),
        _ => HealthSnapshot::default(),
    };
    let probed: Vec<_> = catalog.health_checks().iter().filter(|(_, spec)| spec.kind != "calculated").collect();
    let results = futures_util::future::join_all(probed.iter().map(|(_, spec)| probe(spec))).await;
    let now = js_sys::Date::now().max(0.0) as u64;
    let mut next = HealthSnapshot { updated_at: now, checks: Default::default(), overrides: previous.overrides.clone() };
    for ((id, spec), result) in probed.iter().zip(results) {
        let (state, flipped) = crate::health::machine::apply(spec, previous.checks.get(*id), result, now);
        if flipped {
            console_log!("edgedns: health check {id} is now {}", if state.healthy { "healthy" } else { "unhealthy" });
        }
        next.checks.insert((*id).clone(), state);
    }
    for (id, spec) in catalog.health_checks().iter().filter(|(_, spec)| spec.kind == "calculated") {
        let healthy = crate::health::machine::calculated(spec, &next.checks);
        let mut state = previous.checks.get(id).cloned().unwrap_or_else(|| crate::health::machine::initial(spec));
        if state.healthy != healthy {
            console_log!("edgedns: health check {id} is now {}", if healthy { "healthy" } else { "unhealthy" });
            state.since = Some(now);
        }
        state.healthy = healthy;
        state.checked_at = Some(now);
        next.checks.insert(id.clone(), state);
    }
    match serde_json::to_string(&next) {
        Ok(json) => match kv.put(HEALTH_KEY, json) {
            Ok(put) => {
                if let Err(error) = put.execute().await {
                    console_error!("edgedns: writing {HEALTH_KEY} failed: {error}");
                }
            }
            Err(error) => console_error!("edgedns: writing {HEALTH_KEY} failed: {error}"),
        },
        Err(error) => console_error!("edgedns: encoding the health snapshot failed: {error}"),
    }
}
