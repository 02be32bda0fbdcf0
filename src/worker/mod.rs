//! The Cloudflare Workers adapter: HTTP in, zone snapshot from KV, HTTP out.
//!
//! It holds no DNS logic and decides nothing about loading: what the isolate holds and when it
//! reads KV is [`crate::isolate::Isolate`]'s decision. The adapter asks it for the zones a
//! query needs, performs the KV reads it is handed (or waits for those another query is
//! making: one read per key at a time), hands the results back, and after the response starts
//! the background reads it says are due (`waitUntil`). A steady stream of queries does zero
//! KV reads on its own path (counted: `/admin/isolate`). GeoIP tables and the firewall's rules
//! load in the background when the manifest is read.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{console_error, console_log, event, web_sys, Context, Env, Request, Result, Url};

use crate::admin::{self, AdminError, AdminRequest};
use crate::client::Client;
use crate::doh::{HttpError, HttpRequest, MAX_MESSAGE};
use crate::geo::ipdb::IpTable;
use crate::geo::{geoip_key, GeoIp, GEOIP_CURRENT_KEY};
use crate::health::{machine, overrides_from_json, schedule, status, HealthError, HealthSnapshot, HEALTH_KEY, OVERRIDES_KEY};
use crate::isolate::{Demand, Event, Isolate, Read, ReadId, Settings};
use crate::policy::SplitMix;
use crate::resolver::firewall::{self, Firewall, FirewallSet};
use crate::resolver::ResolverConfig;
use crate::server::{self, Environment, ExplainAccess, Outcome, Recursion, Zones};
use crate::snapshot::{self, Index};
use crate::zone::Catalog;
use hickory_proto::rr::Name;

mod admin_api;
mod analytics;
pub(crate) mod body;
mod health;
mod kv;
pub(crate) mod poll;
mod rate_limit;
mod runtime;
mod scheduled;
mod signing;
mod subscriptions;
mod tables;
#[cfg(feature = "test-trap")]
mod test_trap;

use admin_api::*;
use kv::*;
use runtime::{to_response, CfLocation, RequestHead};
use tables::*;

/// The KV namespace binding holding the snapshots.
const ZONES_BINDING: &str = "ZONES";
/// At most this many rounds of waiting for reads before a query gives up (each round ends
/// when a read it waits for comes back, or when that read counts as stuck).
const MAX_ROUNDS: usize = 8;

thread_local! {
    /// What this isolate holds and the reads it wants ([`Isolate`]), made on the first request
    /// from the variables (fixed for an isolate's life).
    static ISOLATE: RefCell<Option<Isolate>> = const { RefCell::new(None) };
}

/// Runs `f` on the isolate's state, making it on first use.
fn with_isolate<R>(env: &Env, f: impl FnOnce(&mut Isolate) -> R) -> R {
    ISOLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let isolate = slot.get_or_insert_with(|| Isolate::new(Settings::from_vars(|name| env.var(name).ok().map(|value| value.to_string()))));
        let result = f(isolate);
        while let Some(event) = isolate.poll_event() {
            match event {
                Event::Serving { .. } => console_log!("edgedns: {event}"),
                _ => console_error!("edgedns: {event}"),
            }
        }
        result
    })
}

/// The clock, in ms since the epoch.
fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// Performs `reads` concurrently and hands each result back, then the reads those lead to,
/// until none is left.
async fn perform(env: &Env, reads: Vec<Read>) {
    let mut reads = reads;
    while !reads.is_empty() {
        let results = futures_util::future::join_all(reads.iter().map(|read| async move {
            let result = match Kv::open(env, read.path.into()) {
                Ok(kv) => kv.bytes(&read.key).await.map_err(|error| error.to_string()),
                Err(error) => Err(format!("KV binding {ZONES_BINDING} is missing: {error}")),
            };
            (read.id, result)
        }))
        .await;
        let mut next = Vec::new();
        for (id, result) in results {
            next.extend(with_isolate(env, |isolate| isolate.complete(id, result, now_ms())));
        }
        reads = next;
    }
}

/// Resolves once one of `ids` (reads another query is making) is no longer in flight, or at
/// `until` (ms); see [`poll`] for why it looks rather than being woken.
async fn completion(env: &Env, ids: &[ReadId], until: u64) {
    poll::until(|| (now_ms() >= until || with_isolate(env, |isolate| ids.iter().any(|id| !isolate.is_pending(*id)))).then_some(())).await;
}

/// Asks the isolate with `ask` until the data is there: making the reads it hands this query,
/// or waiting for those another query is making (single flight), each round bounded by the
/// time the isolate gives a read before counting it stuck. `None` when unavailable.
async fn demand<T>(env: &Env, mut ask: impl FnMut(&mut Isolate, u64) -> Demand<T>) -> Option<T> {
    for _ in 0..MAX_ROUNDS {
        let now = now_ms();
        match with_isolate(env, |isolate| ask(isolate, now)) {
            Demand::Ready(data) => return Some(data),
            Demand::Unavailable(_) => return None,
            Demand::Wait { start, on, until } => {
                if start.is_empty() {
                    completion(env, &on, until).await;
                } else {
                    let deadline = worker::Delay::from(std::time::Duration::from_millis(until.saturating_sub(now).max(1)));
                    futures_util::future::select(Box::pin(perform(env, start)), deadline).await;
                }
            }
        }
    }
    None
}

/// Starts what is due after a response (`waitUntil`): a refresh of the manifest and health
/// keys, the health keys never read, and the GeoIP and firewall checks that follow a manifest
/// read.
fn schedule_background(env: &Env, context: &Context) {
    let (reads, tables) = with_isolate(env, |isolate| (isolate.background(now_ms()), isolate.take_tables_due()));
    if reads.is_empty() && !tables {
        return;
    }
    let env = env.clone();
    context.wait_until(async move {
        perform(&env, reads).await;
        if tables {
            if let Ok(kv) = Kv::open(&env, ReadPath::Background) {
                load_geoip(&kv).await;
                load_firewall(&kv).await;
            }
        }
    });
}

/// The manifest this isolate serves, loaded first when it has none (admin requests and the
/// scheduled run; they wait for a load in flight like queries do).
async fn current_index(env: &Env) -> Option<Rc<Index>> {
    demand(env, |isolate, now| isolate.manifest(now)).await
}

/// The zones to answer a query about `name` from (see [`Isolate::zones`]).
async fn zones_for(env: &Env, context: &Context, name: Option<&Name>) -> Option<Rc<Catalog>> {
    let zones = demand(env, |isolate, now| isolate.zones(name, now)).await;
    schedule_background(env, context);
    zones
}

/// This isolate serves `index`'s version from now on (after a publish or rollback through the
/// API), reading its shards as queries need them; other isolates pick the version up at
/// their next pointer check.
pub(super) fn serve_from_now(index: Index) {
    // An isolate that never served has nothing to replace: its first query reads the pointer.
    ISOLATE.with(|cell| {
        if let Some(isolate) = cell.borrow_mut().as_mut() {
            isolate.serve(index, now_ms());
            while let Some(event) = isolate.poll_event() {
                console_log!("edgedns: {event}, set through the admin API");
            }
        }
    });
}

/// The health state answers use.
fn health(env: &Env) -> Rc<HealthSnapshot> {
    with_isolate(env, |isolate| isolate.health())
}

#[derive(Default)]
struct State {
    /// The random source, seeded once per isolate from the platform's randomness.
    random: Option<SplitMix>,
    /// The GeoIP tables, loaded in the background after the first request.
    geoip: Option<Rc<GeoIp>>,
    /// The GeoIP version loaded (or last tried).
    geoip_version: Option<String>,
    /// The resolver settings, read from the variables once per isolate (`None` inside:
    /// authoritative only).
    resolver: Option<Option<Rc<ResolverConfig>>>,
    /// The DNS firewall's rules (the published lists, then each subscription's), loaded in
    /// the background.
    firewall: Option<Rc<FirewallSet>>,
    /// What each of the firewall's parts is, in its order: the published lists (no name) or a
    /// subscription (its name), and the version held.
    firewall_parts: Vec<(Option<String>, String)>,
    /// Who may ask `/explain`, read from the variables once per isolate.
    explain: Option<ExplainAccess>,
    /// The zones' signing keys and the signatures made ([`signing::Signing`]).
    signing: Option<signing::Signing>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Who may ask `/explain` (`EXPLAIN`), read once per isolate; an unusable value is logged and
/// leaves explain behind the admin token.
fn explain_access(env: &Env) -> ExplainAccess {
    if let Some(access) = STATE.with(|state| state.borrow().explain) {
        return access;
    }
    let access = ExplainAccess::from_var(env.var("EXPLAIN").ok().map(|value| value.to_string()).as_deref()).unwrap_or_else(|error| {
        console_error!("edgedns: {error}; explain stays behind the admin token");
        ExplainAccess::AdminToken
    });
    STATE.with(|state| state.borrow_mut().explain = Some(access));
    access
}

/// The resolver settings, read once per isolate; unusable settings are logged and leave
/// the endpoint authoritative only.
fn resolver_config(env: &Env) -> Option<Rc<ResolverConfig>> {
    if let Some(config) = STATE.with(|state| state.borrow().resolver.clone()) {
        return config;
    }
    let config = match ResolverConfig::from_vars(|name| variable_text(env, name)) {
        Ok(config) => config.map(Rc::new),
        Err(error) => {
            console_error!("edgedns: resolver mode off, the settings are unusable: {error}");
            None
        }
    };
    STATE.with(|state| state.borrow_mut().resolver = Some(config.clone()));
    config
}

/// A variable's value as text: a string as it is; a JSON value from wrangler.toml's
/// `[vars]` (a TOML table, such as `[vars.PROFILES]`) as its JSON.
fn variable_text(env: &Env, name: &str) -> Option<String> {
    if let Ok(value) = env.var(name) {
        return Some(value.to_string());
    }
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().filter(|value| value.is_object())?;
    js_sys::JSON::stringify(&value).ok().and_then(|text| text.as_string())
}

/// Who asked: the connecting address (`CF-Connecting-IP`), and where the edge says they are,
/// read from `request.cf` only if an answer asks ([`CfLocation`]).
fn client(request: &web_sys::Request, connecting_ip: Option<&str>) -> Client {
    let address = connecting_ip.and_then(|value| value.parse().ok());
    Client { address, location: Default::default(), location_source: Some(Rc::new(CfLocation::new(Clone::clone(request)))) }
}

/// The fetch handler as the runtime calls it: what `#[event(fetch)]` would export, except that a
/// request answered without waiting gets its response back at once rather than a promise of
/// it ([`runtime::now_or_later`]). An error is logged and answered 500, as `worker` does.
#[wasm_bindgen(js_name = fetch)]
pub fn fetch_entry(request: web_sys::Request, env: Env, context: worker_sys::Context) -> JsValue {
    let context = Context::new(context);
    runtime::now_or_later(async move {
        match fetch(request, env, context).await {
            Ok(response) => response.into(),
            Err(error) => {
                console_error!("{error}");
                worker::Response::error("INTERNAL SERVER ERROR", 500).map(web_sys::Response::from).map_or(JsValue::UNDEFINED, JsValue::from)
            }
        }
    })
}

/// Answers a request. What most requests never reach (the admin API, a body, the rate limits,
/// an upstream) is awaited boxed, so that this future stays small: it is made and moved on
/// every request ([`runtime::now_or_later`]).
async fn fetch(request: web_sys::Request, env: Env, context: Context) -> Result<web_sys::Response> {
    COUNTS.with(|counts| counts.borrow_mut().requests += 1);
    #[cfg(feature = "test-trap")]
    test_trap::intercept(&request).await;
    #[cfg(feature = "bench-loop")]
    if let Some(response) = crate::bench_worker::intercept(&Request::from(Clone::clone(&request))).await {
        return response.map(web_sys::Response::from);
    }
    // One call for the method, the URL and the headers an answer reads.
    let head = RequestHead::read(&request)?;
    let Some(head) = head.fields() else { return to_response(&crate::doh::HttpResponse::error(400, "unreadable request")) };
    let method = head.method;
    // The runtime's URL is already serialized: path and query are split off it, and parsed
    // in full only when the split cannot be trusted to agree with a parser.
    let parsed;
    let (path, query) = match crate::doh::split_target(head.url) {
        Some(target) => target,
        None => {
            parsed = Url::parse(head.url)?;
            (parsed.path(), parsed.query().unwrap_or(""))
        }
    };
    if crate::console::is_console(path) {
        return to_response(&crate::console::serve(method, path));
    }
    if path.starts_with(admin::ADMIN_PREFIX) {
        let url = Url::parse(head.url)?;
        let address = head.connecting_ip.and_then(|value| value.parse().ok());
        return to_response(&Box::pin(admin(&Request::from(Clone::clone(&request)), method, &url, address, &env, &context)).await);
    }
    // Only a DoH POST carries a body; any other request's is never read (RFC 8484 §4.1).
    let body = if server::takes_body(method, path) {
        match Box::pin(body::request_body(&request, MAX_MESSAGE)).await {
            Ok(body) => body,
            Err(body::BodyError::TooLarge) => return to_response(&HttpError::PayloadTooLarge.response()),
            Err(error) => return to_response(&crate::doh::HttpResponse::error(400, &error.to_string())),
        }
    } else {
        Vec::new()
    };
    let client = client(&request, head.connecting_ip);
    let http = HttpRequest { method, path, query, content_type: head.content_type, accept: head.accept, body: &body };
    // Parsed once: the name picks the shard, then the same parsed request is answered.
    let prepared = server::prepare(&http);
    let now = js_sys::Date::now().max(0.0) as u64;
    if prepared.requires_admin_token(explain_access(&env)) {
        let authorization = request.headers().get("authorization").ok().flatten();
        if let Err(error) = Box::pin(rate_limit::authorize_admin(&env, client.address, authorization.as_deref(), now)).await {
            return to_response(&error.response());
        }
    }
    let resolver = resolver_config(&env);
    // A public resolver counts every query against the client's network, before any work.
    if resolver.is_some() && prepared.is_query() && !Box::pin(rate_limit::query_allowed(&env, client.address)).await {
        return to_response(&prepared.rate_limited());
    }
    let catalog = zones_for(&env, &context, prepared.question_name()).await;
    let zones = match &catalog {
        Some(catalog) => Zones::Loaded(catalog),
        None => Zones::Unavailable,
    };
    let health = health(&env);
    let (mut random, geoip, firewall) = STATE.with(|state| {
        let mut state = state.borrow_mut();
        let random = state.random.take().unwrap_or_else(|| SplitMix::new(seed()));
        // The firewall's rules built for the queries they decided are let go of past a few
        // thousand, when no query holds the firewall (Firewall::forget_explained).
        if let Some(rules) = state.firewall.as_mut().and_then(Rc::get_mut) {
            rules.forget_explained();
        }
        (random, state.geoip.clone(), state.firewall.clone())
    });
    // Query analytics: sampled before answering (which consumes the parsed request); a query
    // not sampled costs a check of the rate and nothing is kept of it.
    let sample = sample_query(&env, &prepared, catalog.as_deref(), &mut random);
    let health_view = health.view(now);
    let locator = geoip.as_deref().map(|tables| tables as &dyn crate::client::SubnetLocator);
    // Taken out of the state while the (synchronous) engine answers, and put back after.
    let mut signing = STATE.with(|state| state.borrow_mut().signing.take()).unwrap_or_default();
    if let Some(catalog) = &catalog {
        signing.load_keys(&env, catalog);
    }
    let signer = signing.signer(now / 1000);
    let mut environment = Environment { client: &client, health: &health_view, random: &mut random, locator, signer, signing_errors: Vec::new() };
    let recursion = Recursion { config: resolver.as_deref(), firewall: firewall.as_deref() };
    let mut blocked = None;
    let outcome = server::serve_noting(prepared, zones, &mut environment, recursion, &mut blocked);
    if let Some(reason) = &blocked {
        crate::upstream::record_block(reason);
    }
    let blocked = blocked.is_some();
    for error in environment.signing_errors.drain(..) {
        console_error!("edgedns: dnssec: {error}");
    }
    drop(environment);
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.random = Some(random);
        state.signing = Some(signing);
    });
    let (response, served) = match (outcome, &resolver) {
        (Outcome::Respond(response), _) => (response, None),
        (Outcome::Forward(forwarded), Some(config)) => {
            let (response, served) = Box::pin(crate::upstream::answer(&forwarded, config, firewall.as_deref(), &context)).await;
            (response, Some(served))
        }
        // `serve` forwards only with a configuration.
        (Outcome::Forward(_), None) => (crate::doh::HttpResponse::error(500, "forwarding without a resolver configuration"), None),
    };
    if let Some(sample) = &sample {
        let outcome =
            analytics::Outcome { response: &response, cache: served.map(|served| served.cache), blocked: served.map_or(blocked, |served| served.blocked) };
        analytics::record(&env, sample, &client, outcome, now);
    }
    to_response(&response)
}

/// What the analytics keep of a query to answer, when it is sampled ([`analytics`]): a draw
/// from `random` only at a rate below 1.
fn sample_query(env: &Env, prepared: &server::Prepared<'_>, catalog: Option<&Catalog>, random: &mut SplitMix) -> Option<analytics::Sample> {
    let (name, record_type) = prepared.answered_question()?;
    let sampling = analytics::sampling(env);
    let draw = if sampling.needs_draw() { random.next_u64() } else { 0 };
    if sampling.is_off() || !sampling.sampled(draw) {
        return None;
    }
    Some(analytics::Sample::new(name, record_type, catalog, prepared.profile_id()))
}

/// 64 bits from the platform's cryptographic randomness (falling back to the clock).
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => js_sys::Date::now().to_bits(),
    }
}
