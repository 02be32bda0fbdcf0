//! Resolver mode's I/O in the Worker (wasm32 only): the in-isolate answer cache, the Workers
//! Cache API per edge location behind it, and the upstream DoH fetches with per-upstream
//! timeouts, failover and hedging. What is sent, accepted, cached and for how long is decided
//! by the sans-IO [`crate::resolver`] modules; this file only moves bytes and keeps counts.
//!
//! Order for a forwarded query: the isolate's cache (fresh) → the edge cache (fresh) → the
//! upstreams → a stale copy from either cache (EDE 3) → SERVFAIL with EDE 22 or 23. Past the
//! isolate's cache, identical questions in flight share one lookup ([`coalesce`]): the first
//! query asks, the others watch it on their own timers and answer from its outcome.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine;
use futures_util::future::{select, Either};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use worker::{console_log, Context, Fetch, Headers, Method, Request, RequestInit, Response};

use crate::doh::MAX_MESSAGE;
use crate::resolver::cache::{self, AnswerCache, Found};
use crate::resolver::coalesce::{self, FlightId, Flights, Role, Watch};
use crate::resolver::firewall::FirewallSet;
use crate::resolver::forward::{self, Freshness, UpstreamFailure, Upstreamed};
use crate::resolver::{log, ResolverConfig};
use crate::server::{self, Forward, Forwarded};
use crate::worker::body::BodyError;

/// Counts an isolate keeps for the status endpoint (per isolate: each has its own).
#[derive(Debug, Default, Clone, Serialize)]
pub struct ResolverStats {
    /// Queries forwarded (answered from a cache or an upstream).
    pub forwarded: u64,
    /// Answered from the isolate's cache.
    pub isolate_hits: u64,
    /// Answered from the edge location's cache.
    pub edge_hits: u64,
    /// Looked up upstream (by this query alone, or for identical questions in flight too).
    pub misses: u64,
    /// Answered from another query's lookup of the same question in flight (its answer, or
    /// its failure), without one of their own.
    pub coalesced: u64,
    /// Answered with a stale copy because every upstream failed.
    pub stale: u64,
    /// SERVFAIL because every upstream failed and nothing was cached.
    pub failures: u64,
    /// Times the next upstream was asked because the previous one was slow (hedging).
    pub hedged: u64,
    /// Questions being looked up now (each by one query, the others following it).
    pub in_flight: usize,
    /// Answers the isolate's cache holds.
    pub cached: usize,
    /// Their estimated size in bytes ([`cache::footprint`]), at most [`cache::DEFAULT_CAPACITY_BYTES`].
    pub cached_bytes: usize,
    /// Per upstream URL.
    pub upstreams: BTreeMap<String, UpstreamStats>,
}

/// One upstream's record in this isolate.
#[derive(Debug, Default, Clone, Serialize)]
pub struct UpstreamStats {
    /// Usable answers.
    pub answered: u64,
    /// Failures (unreachable, timeouts, unusable answers).
    pub failed: u64,
    /// Latency of the last usable answer, ms.
    pub last_ms: Option<u32>,
    /// Moving average latency of usable answers (weight 1/8), ms.
    pub average_ms: Option<f64>,
    /// The last failure, as text.
    pub last_failure: Option<String>,
}

struct Resolver {
    answers: AnswerCache<Rc<Upstreamed>>,
    /// The lookups in flight, shared by identical questions.
    flights: Flights<Shared>,
    stats: ResolverStats,
}

thread_local! {
    static RESOLVER: RefCell<Resolver> = RefCell::new(Resolver {
        answers: AnswerCache::new(cache::DEFAULT_CAPACITY_BYTES),
        flights: Flights::new(coalesce::DEFAULT_CAPACITY),
        stats: ResolverStats::default(),
    });
}

thread_local! {
    /// This isolate's counts of blocked queries (bounded: [`crate::resolver::blocks`]).
    static BLOCKS: RefCell<crate::resolver::blocks::BlockCounts> = RefCell::new(crate::resolver::blocks::BlockCounts::default());
}

/// Counts a block (of a question, or of a forwarded answer) in this isolate's counts.
pub fn record_block(reason: &crate::resolver::profile::Reason<'_>) {
    BLOCKS.with(|blocks| blocks.borrow_mut().record(reason));
}

/// This isolate's counts of blocked queries (`GET /admin/firewall/stats`).
pub fn block_report() -> crate::resolver::blocks::BlockReport {
    BLOCKS.with(|blocks| blocks.borrow().report())
}

/// At most this many rounds of following flights that are lost (abandoned by age, or their
/// leader went away) before a query looks its question up alone.
const MAX_ROUNDS: usize = 3;

/// This isolate's counts.
pub fn stats() -> ResolverStats {
    RESOLVER.with(|resolver| {
        let resolver = resolver.borrow();
        ResolverStats {
            cached: resolver.answers.len(),
            cached_bytes: resolver.answers.bytes(),
            in_flight: resolver.flights.in_flight(),
            ..resolver.stats.clone()
        }
    })
}

fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// What a lookup past the isolate's cache found, shared by the queries that followed it: plain
/// data only (each query answers in its own request, from its own copy of the `Rc`).
#[derive(Clone)]
enum Shared {
    /// An answer, stored (fetched, or put in the edge cache) at `stored_at` (ms): its TTLs
    /// count down from then.
    Answer { answer: Rc<Upstreamed>, stored_at: u64, source: Source },
    /// Every upstream failed; with the stale copy the lookup found, if any.
    Failed { failures: Rc<[UpstreamFailure]>, stale: Option<Rc<Upstreamed>> },
}

/// Where a shared answer came from, for the leader's log line and counts.
#[derive(Clone)]
enum Source {
    Edge,
    Upstream { url: Rc<str>, elapsed_ms: u32 },
}

/// A flight this query leads: abandoned if the query goes away before it lands (its future
/// dropped), so that its followers stop waiting at once.
struct Leading {
    key: String,
    flight: FlightId,
    landed: bool,
}

impl Leading {
    fn land(mut self, shared: &Shared) {
        let now = now_ms();
        RESOLVER.with(|resolver| resolver.borrow_mut().flights.land(&self.key, self.flight, shared.clone(), now));
        self.landed = true;
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        if !self.landed {
            let _ = RESOLVER.try_with(|resolver| {
                if let Ok(mut resolver) = resolver.try_borrow_mut() {
                    resolver.flights.abandon(&self.key, self.flight);
                }
            });
        }
    }
}

/// Answers a forwarded query: the isolate's cache first; then, unless an identical question
/// is already being looked up (then its outcome is this query's too), the edge cache and the
/// upstreams.
pub async fn answer(forwarded: &Forward, config: &ResolverConfig, firewall: Option<&FirewallSet>, context: &Context) -> (crate::doh::HttpResponse, Served) {
    let key = &forwarded.cache_key;
    let mut stale: Option<Rc<Upstreamed>> = None;
    let mut round = 0;
    loop {
        round += 1;
        let now = now_ms();
        match RESOLVER.with(|resolver| resolver.borrow_mut().answers.get(key, now, config.stale_s)) {
            Some(Found::Fresh(answer, age)) => {
                count(|stats| stats.isolate_hits += 1);
                return finish(forwarded, config, firewall, Forwarded::Answer(&answer, Freshness::Aged(age)), "isolate", None);
            }
            Some(Found::Stale(answer)) => stale = Some(answer),
            None => {}
        }
        let role = if round < MAX_ROUNDS {
            RESOLVER.with(|resolver| resolver.borrow_mut().flights.begin(key, now, coalesce::abandon_after_ms(config, forwarded.upstreams(config).len())))
        } else {
            Role::Alone
        };
        let leading = match role {
            Role::Follow(flight) => match follow(key, flight).await {
                Some(shared) => return respond(forwarded, config, firewall, shared, stale, true),
                // Abandoned: ask again (the cache first: the answer may have come meanwhile).
                None => continue,
            },
            Role::Lead(flight) => Some(Leading { key: key.clone(), flight, landed: false }),
            Role::Alone => None,
        };
        let shared = look_up(forwarded, config, context, stale, now).await;
        if let Some(leading) = leading {
            leading.land(&shared);
        }
        return respond(forwarded, config, firewall, shared, None, false);
    }
}

/// Watches a flight another query leads until it lands (its outcome) or is lost (`None`), on
/// this request's own timers ([`crate::worker::poll`]).
async fn follow(key: &str, flight: FlightId) -> Option<Shared> {
    crate::worker::poll::until(|| match RESOLVER.with(|resolver| resolver.borrow_mut().flights.watch(key, flight, now_ms())) {
        Watch::Landed(shared) => Some(Some(shared)),
        Watch::Lost => Some(None),
        Watch::InFlight => None,
    })
    .await
}

/// Looks a question that missed the isolate's cache up: the edge cache, then the upstreams
/// (caching what they answer). `stale` is the isolate's expired copy, kept for when every
/// upstream fails.
async fn look_up(forwarded: &Forward, config: &ResolverConfig, context: &Context, stale: Option<Rc<Upstreamed>>, now: u64) -> Shared {
    let key = &forwarded.cache_key;
    let mut stale = stale;
    match edge_get(forwarded, config, now).await {
        Some(Found::Fresh((answer, remaining, encoded), age)) => {
            let bytes = cache::footprint(key, &answer, encoded);
            let answer = Rc::new(answer);
            let stored_at = now.saturating_sub(u64::from(age) * 1000);
            RESOLVER.with(|resolver| resolver.borrow_mut().answers.insert(key.clone(), Rc::clone(&answer), bytes, remaining, stored_at));
            return Shared::Answer { answer, stored_at, source: Source::Edge };
        }
        Some(Found::Stale((answer, _, _))) if stale.is_none() => stale = Some(Rc::new(answer)),
        _ => {}
    }
    RESOLVER.with(|resolver| resolver.borrow_mut().stats.misses += 1);
    match ask_upstreams(config, forwarded).await {
        Ok((answer, upstream, elapsed_ms, raw)) => {
            let bytes = cache::footprint(key, &answer, raw.len());
            let answer = Rc::new(answer);
            let now = now_ms();
            if let Some(ttl) = cache::cache_ttl(&answer, config) {
                RESOLVER.with(|resolver| resolver.borrow_mut().answers.insert(key.clone(), Rc::clone(&answer), bytes, ttl, now));
                let url = edge_key(key);
                let keep_s = ttl.saturating_add(config.stale_s);
                context.wait_until(async move { edge_put(&url, raw, ttl, keep_s, now).await });
            }
            Shared::Answer { answer, stored_at: now, source: Source::Upstream { url: Rc::from(upstream), elapsed_ms } }
        }
        Err(failures) => Shared::Failed { failures: Rc::from(failures), stale },
    }
}

/// The client's response from a lookup's outcome (its own or, `followed`, another query's),
/// with one log line and the counts. `stale` is this query's own expired copy.
fn respond(
    forwarded: &Forward,
    config: &ResolverConfig,
    firewall: Option<&FirewallSet>,
    shared: Shared,
    stale: Option<Rc<Upstreamed>>,
    followed: bool,
) -> (crate::doh::HttpResponse, Served) {
    let followers = u64::from(followed);
    match shared {
        Shared::Answer { answer, stored_at, source } => {
            let age = u32::try_from(now_ms().saturating_sub(stored_at) / 1000).unwrap_or(u32::MAX);
            count(|stats| match (&source, followed) {
                (_, true) => stats.coalesced += 1,
                (Source::Edge, false) => stats.edge_hits += 1,
                (Source::Upstream { .. }, false) => {}
            });
            let answered = Forwarded::Answer(&answer, Freshness::Aged(age));
            match (&source, followed) {
                (_, true) => finish(forwarded, config, firewall, answered, "coalesced", None),
                (Source::Edge, false) => finish(forwarded, config, firewall, answered, "edge", None),
                (Source::Upstream { url, elapsed_ms }, false) => finish(forwarded, config, firewall, answered, "miss", Some((url.as_ref(), *elapsed_ms))),
            }
        }
        Shared::Failed { failures, stale: found } => match stale.or(found) {
            Some(answer) => {
                count(|stats| {
                    stats.stale += 1;
                    stats.coalesced += followers;
                });
                finish(forwarded, config, firewall, Forwarded::Answer(&answer, Freshness::Stale), "stale", None)
            }
            None => {
                count(|stats| {
                    stats.failures += 1;
                    stats.coalesced += followers;
                });
                finish(forwarded, config, firewall, Forwarded::Failed(&failures), "failed", None)
            }
        },
    }
}

/// Counts a forwarded query (once), and how it was answered.
fn count(change: impl FnOnce(&mut ResolverStats)) {
    RESOLVER.with(|resolver| {
        let mut resolver = resolver.borrow_mut();
        resolver.stats.forwarded += 1;
        change(&mut resolver.stats);
    });
}

/// The client's response ([`server::complete`]: screened by the firewall), and one log line
/// per forwarded query as key=value fields: how it was answered, the upstream asked, the
/// firewall rule that blocked or flagged it; names only when the operator turned them on
/// ([`crate::resolver::log`]).
fn finish(
    forwarded: &Forward,
    config: &ResolverConfig,
    firewall: Option<&FirewallSet>,
    answer: Forwarded<'_>,
    cache: &'static str,
    upstream: Option<(&str, u32)>,
) -> (crate::doh::HttpResponse, Served) {
    let rules = crate::resolver::profile::Screen { lists: firewall, profile: forwarded.profile(&config.profiles) };
    let (response, rule) = server::complete_in(forwarded, answer, rules);
    let blocked = rule.as_ref().is_some_and(|reason| matches!(reason.rule.action, crate::resolver::firewall::Action::Block(_)));
    if let Some(reason) = &rule {
        record_block(reason);
    }
    let rule = rule.map(|reason| reason.to_string()).or_else(|| forwarded.alert.clone());
    console_log!("{}", log::forward_line(&forwarded.upstream.question, cache, upstream, rule.as_deref(), config.log_query_names));
    (response, Served { cache, blocked })
}

/// How a forwarded query was answered, for the query analytics ([`crate::analytics`]).
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// The log's `cache=` word (`isolate`, `edge`, `coalesced`, `miss`, `stale`, `failed`).
    pub cache: &'static str,
    /// Whether the firewall blocked the answer.
    pub blocked: bool,
}

/// The Cache API key of a cache key: a URL under a reserved name (RFC 6761 `.invalid`).
fn edge_key(key: &str) -> String {
    format!("https://resolver-cache.edgedns.invalid/{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key))
}

/// The edge location's copy: the upstream's answer, the TTL it was stored with, and its
/// encoded size.
async fn edge_get(forwarded: &Forward, config: &ResolverConfig, now: u64) -> Option<Found<(Upstreamed, u32, usize)>> {
    let cache = worker::Cache::default();
    let response = cache.get(edge_key(&forwarded.cache_key), true).await.ok()??;
    let header = |name: &str| response.headers().get(name).ok().flatten().and_then(|value| value.parse::<u64>().ok());
    let (stored_at, ttl) = (header("x-edgedns-stored-at")?, header("x-edgedns-ttl")?);
    let ttl = u32::try_from(ttl).ok()?;
    let bytes = crate::worker::body::response_body(&response, MAX_MESSAGE).await.ok()?;
    let answer = forward::accept(&bytes, &forwarded.upstream).ok()?;
    match cache::freshness(now.saturating_sub(stored_at), ttl, config.stale_s)? {
        Found::Fresh((), age) => Some(Found::Fresh((answer, ttl, bytes.len()), age)),
        Found::Stale(()) => Some(Found::Stale((answer, ttl, bytes.len()))),
    }
}

async fn edge_put(url: &str, bytes: Vec<u8>, ttl: u32, keep_s: u32, now: u64) {
    let headers = Headers::new();
    let _ = headers.set("content-type", crate::doh::DNS_MESSAGE);
    let _ = headers.set("cache-control", &format!("public, max-age={keep_s}"));
    let _ = headers.set("x-edgedns-stored-at", &now.to_string());
    let _ = headers.set("x-edgedns-ttl", &ttl.to_string());
    let Ok(response) = Response::from_bytes(bytes) else { return };
    if let Err(error) = worker::Cache::default().put(url, response.with_headers(headers)).await {
        console_log!("edgedns: edge cache put failed: {error}");
    }
}

/// One upstream's answer (or failure), bounded by the timeout.
async fn ask(url: &str, body: &[u8], forwarded: &Forward, timeout_ms: u32) -> Result<(Upstreamed, Vec<u8>), UpstreamFailure> {
    let attempt = async {
        let headers = Headers::new();
        let _ = headers.set("content-type", crate::doh::DNS_MESSAGE);
        let _ = headers.set("accept", crate::doh::DNS_MESSAGE);
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(js_sys::Uint8Array::from(body).into()));
        let request = Request::new_with_init(url, &init).map_err(|e| UpstreamFailure::Unreachable(e.to_string()))?;
        let response = Fetch::Request(request).send().await.map_err(|e| UpstreamFailure::Unreachable(e.to_string()))?;
        if response.status_code() != 200 {
            return Err(UpstreamFailure::Unusable(format!("HTTP {}", response.status_code())));
        }
        // A DNS message is at most 65,535 bytes: a longer answer is not read past that.
        let bytes = match crate::worker::body::response_body(&response, MAX_MESSAGE).await {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge) => return Err(UpstreamFailure::Unusable(format!("an answer over {MAX_MESSAGE} bytes"))),
            Err(error) => return Err(UpstreamFailure::Unreachable(error.to_string())),
        };
        let answer = forward::accept(&bytes, &forwarded.upstream)?;
        Ok((answer, bytes))
    };
    let timer = worker::Delay::from(std::time::Duration::from_millis(u64::from(timeout_ms)));
    match select(Box::pin(attempt), timer).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => Err(UpstreamFailure::Unreachable(format!("no answer within {timeout_ms} ms"))),
    }
}

/// Asks the upstreams in order: the first at once, the next when one fails or when
/// `hedge_after_ms` passes without an answer; the first usable answer wins. Returns it with
/// the upstream's URL, its latency and the raw bytes (for the edge cache), or every failure.
async fn ask_upstreams<'c>(config: &'c ResolverConfig, forwarded: &Forward) -> Result<(Upstreamed, &'c str, u32, Vec<u8>), Vec<UpstreamFailure>> {
    let body = &forwarded.upstream_query;
    let upstreams = forwarded.upstreams(config);
    let mut pending = FuturesUnordered::new();
    let mut next = 0usize;
    let mut failures = Vec::new();
    let start = |index: usize| {
        let url = upstreams.get(index).map(String::as_str).unwrap_or("");
        async move {
            let started = js_sys::Date::now();
            let outcome = ask(url, body, forwarded, config.timeout_ms).await;
            (url, (js_sys::Date::now() - started).max(0.0) as u32, outcome)
        }
    };
    loop {
        if pending.is_empty() {
            if next >= upstreams.len() {
                return Err(failures);
            }
            pending.push(start(next));
            next += 1;
        }
        let hedge = next < upstreams.len();
        let completed = if hedge {
            let timer = worker::Delay::from(std::time::Duration::from_millis(u64::from(config.hedge_after_ms)));
            match select(pending.next(), timer).await {
                Either::Left((completed, _)) => completed,
                Either::Right(_) => {
                    RESOLVER.with(|resolver| resolver.borrow_mut().stats.hedged += 1);
                    pending.push(start(next));
                    next += 1;
                    continue;
                }
            }
        } else {
            pending.next().await
        };
        let Some((url, elapsed_ms, outcome)) = completed else { continue };
        RESOLVER.with(|resolver| {
            let mut resolver = resolver.borrow_mut();
            let stats = resolver.stats.upstreams.entry(url.to_owned()).or_default();
            match &outcome {
                Ok(_) => {
                    stats.answered += 1;
                    stats.last_ms = Some(elapsed_ms);
                    let sample = f64::from(elapsed_ms);
                    stats.average_ms = Some(stats.average_ms.map_or(sample, |average| average + (sample - average) / 8.0));
                }
                Err(failure) => {
                    stats.failed += 1;
                    stats.last_failure = Some(failure.to_string());
                }
            }
        });
        match outcome {
            Ok((answer, bytes)) => return Ok((answer, url, elapsed_ms, bytes)),
            Err(failure) => {
                console_log!("edgedns: upstream {} failed: {failure}", log::redact_url(url));
                failures.push(failure);
            }
        }
    }
}
