//! Query analytics on the Worker side ([`crate::analytics`] decides): the sampling rate read
//! once per isolate, one Analytics Engine data point per sampled answered query when the
//! `ANALYTICS` binding is there, the isolate's rolling counters, and `GET /admin/traffic`
//! read from the SQL API when its account and token are configured, else from the counters.
//!
//! A query that is not sampled costs one check of the rate (and a random draw below 1);
//! nothing is allocated for it. Writing a point never affects the answer: it is a
//! synchronous call the runtime sends on its own, and a failure is logged once per isolate.

use std::cell::RefCell;

use hickory_proto::rr::{Name, RecordType};
use wasm_bindgen::{JsCast, JsValue};
use worker::{console_error, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::analytics::counters::Counters;
use crate::analytics::point::{data_point, DataPoint};
use crate::analytics::sql::{self, SqlConfig};
use crate::analytics::{self, Answered, CacheOutcome, Sampling};
use crate::client::Client;
use crate::doh::HttpResponse;
use crate::zone::Catalog;

/// The Analytics Engine binding (`[[analytics_engine_datasets]]` in wrangler.toml).
const BINDING: &str = "ANALYTICS";
/// How long one SQL query may take, in ms.
const SQL_TIMEOUT_MS: u64 = 10_000;

/// What an isolate holds for the analytics, made on the first answered query.
struct Analytics {
    sampling: Sampling,
    counters: Counters,
    dataset: Option<worker_sys::AnalyticsEngineDataset>,
    /// A failed write was logged (once per isolate).
    write_failed: bool,
}

thread_local! {
    static ANALYTICS: RefCell<Option<Analytics>> = const { RefCell::new(None) };
}

fn with<R>(env: &Env, f: impl FnOnce(&mut Analytics) -> R) -> R {
    ANALYTICS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let analytics = slot.get_or_insert_with(|| {
            let sampling = Sampling::from_var(env.var(analytics::SAMPLE_RATE_VAR).ok().map(|value| value.to_string()).as_deref()).unwrap_or_else(|error| {
                console_error!("edgedns: {error}; query analytics are off");
                Sampling::OFF
            });
            let dataset = js_sys::Reflect::get(env, &JsValue::from_str(BINDING)).ok().filter(JsValue::is_object).map(JsCast::unchecked_into);
            Analytics { sampling, counters: Counters::new(sampling.rate()), dataset, write_failed: false }
        });
        f(analytics)
    })
}

/// The isolate's sampling rate.
pub(super) fn sampling(env: &Env) -> Sampling {
    with(env, |analytics| analytics.sampling)
}

/// What is kept of a sampled query from before it is answered (the request it was parsed
/// from is consumed by answering).
pub(super) struct Sample {
    name: String,
    record_type: RecordType,
    zone: Option<String>,
    profile: Option<String>,
}

impl Sample {
    /// The question, the hosted zone holding the name and the path's profile.
    pub(super) fn new(name: &Name, record_type: RecordType, catalog: Option<&Catalog>, profile: Option<&str>) -> Self {
        let zone = catalog.and_then(|catalog| catalog.find(name)).map(|zone| zone.apex().to_ascii());
        Self { name: name.to_lowercase().to_ascii(), record_type, zone, profile: profile.map(str::to_owned) }
    }
}

/// How the answer went, after the engine (and the upstreams) answered.
pub(super) struct Outcome<'a> {
    /// The response sent.
    pub response: &'a HttpResponse,
    /// The resolver's `cache=` word when the query was forwarded.
    pub cache: Option<&'static str>,
    /// Whether the firewall blocked it.
    pub blocked: bool,
}

/// Counts a sampled answered query in the isolate and writes its data point.
pub(super) fn record(env: &Env, sample: &Sample, client: &Client, outcome: Outcome<'_>, now_ms: u64) {
    let content_type = outcome.response.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-type")).map_or("", |(_, value)| value.as_ref());
    let Some(rcode) = analytics::response_rcode(content_type, &outcome.response.body) else { return };
    let location = client.edge_location();
    let record_type = sample.record_type.to_string();
    let answered = Answered {
        zone: sample.zone.as_deref(),
        name: &sample.name,
        record_type: &record_type,
        rcode,
        policy: None,
        country: location.country.as_deref(),
        colo: location.colo.as_deref(),
        cache: outcome.cache.and_then(CacheOutcome::from_word),
        blocked: outcome.blocked,
        profile: sample.profile.as_deref(),
    };
    with(env, |analytics| {
        analytics.counters.record(&answered, now_ms);
        let Some(dataset) = &analytics.dataset else { return };
        let point = data_point(&answered, &analytics.sampling);
        if let Err(error) = dataset.write_data_point(point_object(&point)) {
            if !analytics.write_failed {
                analytics.write_failed = true;
                console_error!("edgedns: writing to Analytics Engine ({BINDING}) failed, answers go on: {error:?}");
            }
        }
    });
}

/// The point as `writeDataPoint` takes it: `{indexes: [...], blobs: [...], doubles: [...]}`.
fn point_object(point: &DataPoint<'_>) -> JsValue {
    let object = js_sys::Object::new();
    let indexes = js_sys::Array::of1(&JsValue::from_str(point.index));
    let blobs: js_sys::Array = point.blobs.iter().map(|blob| JsValue::from_str(blob)).collect();
    let doubles: js_sys::Array = point.doubles.iter().map(|double| JsValue::from_f64(*double)).collect();
    // Setting a property of a plain object made here cannot fail.
    let _ = js_sys::Reflect::set(&object, &JsValue::from_str("indexes"), &indexes);
    let _ = js_sys::Reflect::set(&object, &JsValue::from_str("blobs"), &blobs);
    let _ = js_sys::Reflect::set(&object, &JsValue::from_str("doubles"), &doubles);
    object.into()
}

/// `GET /admin/traffic?minutes=N`: from the SQL API when configured, else this isolate's
/// counters (`"source"` says which).
pub(super) async fn traffic(env: &Env, minutes: u32, now_ms: u64) -> HttpResponse {
    let rate = sampling(env).rate();
    let config = SqlConfig::from_vars(|name| super::variable_text(env, name).or_else(|| env.secret(name).ok().map(|value| value.to_string())));
    let report = match config {
        None => with(env, |analytics| analytics.counters.report(now_ms, minutes)),
        Some(Err(error)) => {
            let mut report = with(env, |analytics| analytics.counters.report(now_ms, minutes));
            report.problems.push(format!("{error}; showing this isolate's counters"));
            report
        }
        Some(Ok(config)) => {
            let parts = sql::queries(&config.dataset, minutes);
            let answers = futures_util::future::join_all(parts.into_iter().map(|(part, query)| {
                let config = &config;
                async move { (part, ask(config, query).await) }
            }))
            .await;
            sql::assemble(minutes, now_ms, rate, answers)
        }
    };
    crate::admin::json(200, &report)
}

/// One SQL query's rows, or why there are none.
async fn ask(config: &SqlConfig, query: String) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, String> {
    let attempt = async {
        let headers = Headers::new();
        headers.set("authorization", &format!("Bearer {}", config.token)).map_err(|e| e.to_string())?;
        headers.set("content-type", "text/plain").map_err(|e| e.to_string())?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(&query)));
        let request = Request::new_with_init(&config.endpoint, &init).map_err(|e| e.to_string())?;
        let response = Fetch::Request(request).send().await.map_err(|e| format!("unreachable: {e}"))?;
        let status = response.status_code();
        let body = super::body::response_body(&response, sql::MAX_ANSWER_BYTES).await.map_err(|e| format!("reading the answer: {e}"))?;
        if status != 200 {
            let head = String::from_utf8_lossy(body.get(..200).unwrap_or(&body)).into_owned();
            return Err(format!("HTTP {status}: {head}"));
        }
        sql::rows(&body).map_err(|e| e.to_string())
    };
    let timer = worker::Delay::from(std::time::Duration::from_millis(SQL_TIMEOUT_MS));
    match futures_util::future::select(Box::pin(attempt), timer).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(_) => Err(format!("no answer within {SQL_TIMEOUT_MS} ms")),
    }
}
