//! The scheduled health run (Cron Trigger) and the probes it makes: the I/O around
//! [`schedule::Run`] (which rounds, which probes, within the plan's limits) and
//! [`checker::Checker`] (which state to start from, when to write).

use std::collections::BTreeMap;

use super::*;
use crate::health::checker::{self, Checker, WriteReason};
use crate::health::spec::{HealthCheckSpec, Probe};
use crate::health::Overrides;
use crate::health::{Stored, DEFAULT_HEARTBEAT_S};
use worker::Headers;

thread_local! {
    /// This isolate's checker: its latest state (written or not) and counts, kept between runs.
    static CHECKER: RefCell<Checker> = RefCell::new(Checker::default());
}

/// What this isolate's checker has done (for `/admin/health`).
pub(super) fn checker_counts() -> checker::CheckerCounts {
    CHECKER.with(|checker| checker.borrow().counts().clone())
}

/// Reads a JSON key, telling a missing or corrupt value (a [`Stored`]) from a failed read
/// (`Err`, logged): a corrupt value never stops the operator's repair.
pub(super) async fn read_stored<T>(
    kv: &Kv,
    key: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, HealthError>,
) -> std::result::Result<Stored<T>, String> {
    match kv.text(key).await {
        Ok(text) => {
            let stored = Stored::parse(text.as_deref(), parse);
            if let Some(problem) = stored.problem(key) {
                console_error!("edgedns: {problem}");
            }
            Ok(stored)
        }
        Err(error) => {
            let message = format!("reading {key} failed: {error}");
            console_error!("edgedns: {message}");
            Err(message)
        }
    }
}

/// One probe of an HTTP(S) or TCP check, bounded by its timeout from the start of the
/// connection to the end of reading what it reads; never fails, only reports. Redirects are
/// not followed: a 3xx is a success, as Route 53 counts it. Whatever the outcome, the fetch
/// is aborted at the end, so an unread or endless body holds no connection past its probe.
/// The target comes from [`HealthCheckSpec::probe`] (a URL built from the typed parts); a
/// check without one (unusable in the snapshot) fails without a request, and says why.
pub(super) async fn probe(id: &str, spec: &HealthCheckSpec) -> crate::health::machine::ProbeResult {
    use futures_util::future::{select, Either};
    let started = js_sys::Date::now();
    let timeout = std::time::Duration::from_secs(u64::from(schedule::timeout(spec)));
    let target = match spec.probe() {
        Ok(target) => target,
        Err(error) => {
            console_error!("edgedns: health check {id} is not probed, it counts as failing: {error}");
            return failed(started);
        }
    };
    let success = match target {
        Probe::Tcp { host, port } => {
            let Ok(mut socket) = worker::Socket::builder().connect(host.to_string(), port) else {
                return failed(started);
            };
            let opened = match select(Box::pin(socket.opened()), worker::Delay::from(timeout)).await {
                Either::Left((opened, _)) => opened.is_ok(),
                Either::Right(_) => false,
            };
            let _ = socket.close().await;
            opened
        }
        Probe::Http { url, host_header, search } => {
            let headers = Headers::new();
            if let Some(host_header) = host_header {
                let _ = headers.set("host", host_header);
            }
            let mut init = worker::RequestInit::new();
            init.with_headers(headers).with_redirect(worker::RequestRedirect::Manual);
            let Ok(request) = Request::new_with_init(url.as_str(), &init) else { return failed(started) };
            let controller = worker::AbortController::default();
            let signal = controller.signal();
            let attempt = async {
                let Ok(response) = worker::Fetch::Request(request).send_with_signal(&signal).await else { return false };
                let status_ok = (200..400).contains(&response.status_code());
                match search {
                    None => status_ok,
                    // The search string must be in the first 5,120 bytes of the body; the rest
                    // is cancelled, never read.
                    Some(needle) => {
                        let head = body::response_head(&response, 5_120).await.unwrap_or_default();
                        status_ok && head.windows(needle.len().max(1)).any(|window| window == needle.as_bytes())
                    }
                }
            };
            let success = match select(Box::pin(attempt), worker::Delay::from(timeout)).await {
                Either::Left((success, _)) => success,
                Either::Right(_) => false,
            };
            // Ends the request, its body and its connection (a no-op once they are done).
            controller.abort();
            success
        }
    };
    crate::health::machine::ProbeResult { success, latency_ms: Some(elapsed_ms(started)) }
}

fn failed(started: f64) -> crate::health::machine::ProbeResult {
    crate::health::machine::ProbeResult { success: false, latency_ms: Some(elapsed_ms(started)) }
}

fn elapsed_ms(started: f64) -> u32 {
    (js_sys::Date::now() - started).max(0.0).min(f64::from(u32::MAX)) as u32
}

/// The checker's settings from the Worker's variables: the heartbeat
/// (`HEALTH_HEARTBEAT_SECONDS`, default [`DEFAULT_HEARTBEAT_S`]) and the limits
/// (`WORKERS_PLAN`, `SUBREQUEST_LIMIT`); unusable values are logged and the defaults used.
fn settings(env: &Env) -> (u32, schedule::Limits) {
    let var = |name: &str| env.var(name).ok().map(|value| value.to_string());
    let heartbeat = match var("HEALTH_HEARTBEAT_SECONDS") {
        None => DEFAULT_HEARTBEAT_S,
        Some(text) => match text.trim().parse::<u32>() {
            Ok(seconds) => crate::health::heartbeat_within_limits(seconds),
            Err(_) => {
                console_error!("edgedns: HEALTH_HEARTBEAT_SECONDS {text:?} is not a number of seconds: using {DEFAULT_HEARTBEAT_S}");
                DEFAULT_HEARTBEAT_S
            }
        },
    };
    let (limits, problems) = schedule::Limits::from_vars(var("WORKERS_PLAN").as_deref(), var("SUBREQUEST_LIMIT").as_deref());
    for problem in problems {
        console_error!("edgedns: {problem}");
    }
    (heartbeat, limits)
}

/// The health part of a scheduled run ([`super::scheduled`]), scheduled at `scheduled_ms`: the
/// minute is covered in rounds ([`schedule::Run`]): each round probes what it admits (at most
/// [`schedule::CONNECTIONS`] at once, each within its timeout, all ending before the minute
/// does, within the invocation's subrequests), applies the state machine from the checker's
/// latest state, derives calculated checks, and writes `health:current` when a state changed
/// or the heartbeat is due. A flip is logged once; each run logs one line of counts.
pub(super) async fn run(env: &Env, scheduled_ms: u64) {
    let Ok(kv) = Kv::open(env, ReadPath::Operator) else {
        console_error!("edgedns: KV binding {ZONES_BINDING} is missing");
        return;
    };
    // The isolate's manifest (the last good version, as answering uses), loaded if need be.
    let Some(index) = current_index(env).await else {
        console_error!("edgedns: health run skipped: no zone data to read the checks from");
        return;
    };
    let checks = index.manifest().health_checks();
    if !checks.values().any(schedule::is_probed) {
        return;
    }
    let (heartbeat_s, limits) = settings(env);
    let started = js_sys::Date::now();
    let (stored, overrides) =
        futures_util::future::join(read_stored(&kv, HEALTH_KEY, HealthSnapshot::from_json), read_stored(&kv, OVERRIDES_KEY, overrides_from_json)).await;
    let mut previous = CHECKER.with(|checker| {
        let mut checker = checker.borrow_mut();
        checker.read(2);
        checker.start(stored.ok())
    });
    // The overrides as they are now travel in the snapshot (cold isolates read it alone); an
    // unreadable key keeps the copy the checker had.
    let overrides = match overrides {
        Ok(stored) => match stored {
            Stored::Value(overrides) => Some(overrides),
            Stored::Missing => Some(Overrides::new()),
            Stored::Corrupt(_) => None,
        },
        Err(_) => None,
    };
    let mut run = schedule::Run::new(checks, scheduled_ms, &previous.checks, limits);
    let (mut probes, mut deferred, mut writes) = (0, 0, Vec::new());
    let carried = |previous: &HealthSnapshot| overrides.clone().unwrap_or_else(|| previous.overrides.clone());
    loop {
        let now = js_sys::Date::now().max(0.0) as u64;
        let Some(step) = run.next(checks, &previous.checks, now) else { break };
        let admission = &step.admission;
        if !admission.late.is_empty() {
            console_log!("edgedns: health checks deferred, they cannot finish before the minute ends: {}", admission.late.join(", "));
        }
        if !admission.over_budget.is_empty() {
            console_log!(
                "edgedns: health checks deferred to the next run, this one's {} subrequests are spent: {}",
                limits.subrequests,
                admission.over_budget.join(", ")
            );
        }
        deferred += admission.late.len() + admission.over_budget.len();
        CHECKER.with(|checker| checker.borrow_mut().probed(admission.probes.len(), admission.late.len(), admission.over_budget.len()));
        if admission.probes.is_empty() {
            continue;
        }
        let wait_ms = step.start_ms.saturating_sub(now);
        if wait_ms > 0 {
            worker::Delay::from(std::time::Duration::from_millis(wait_ms)).await;
        }
        probes += admission.probes.len();
        let results = probe_all(checks, &admission.probes).await;
        let now = js_sys::Date::now().max(0.0) as u64;
        let (next, flips) = machine::advance(checks, &previous, &results, now);
        for flip in &flips {
            console_log!("edgedns: health check {} is now {}", flip.id, if flip.healthy { "healthy" } else { "unhealthy" });
        }
        let next = HealthSnapshot { heartbeat_s: Some(heartbeat_s), ..next.with_overrides_replaced(carried(&previous)) };
        let reason = CHECKER.with(|checker| checker.borrow_mut().after_round(&next, now, heartbeat_s));
        if let Some(reason) = reason {
            if write_health(&kv, &next).await {
                CHECKER.with(|checker| checker.borrow_mut().wrote(&next, reason));
                writes.push(reason);
            }
        }
        previous = next;
    }
    if probes == 0 {
        // Nothing probed this minute: the heartbeat still shows the checker is alive.
        let now = js_sys::Date::now().max(0.0) as u64;
        let idle = HealthSnapshot { updated_at: now, heartbeat_s: Some(heartbeat_s), ..previous.clone().with_overrides_replaced(carried(&previous)) };
        let reason = CHECKER.with(|checker| checker.borrow_mut().idle(&idle, now, heartbeat_s));
        if let Some(reason) = reason {
            if write_health(&kv, &idle).await {
                CHECKER.with(|checker| checker.borrow_mut().wrote(&idle, reason));
                writes.push(reason);
            }
        }
    }
    let ended = js_sys::Date::now().max(0.0) as u64;
    CHECKER.with(|checker| checker.borrow_mut().ended(ended));
    let reasons: Vec<&str> = writes.iter().map(|reason| write_reason(*reason)).collect();
    console_log!(
        "edgedns: health run: {probes} probes, {deferred} deferred, {} KV writes{}, 2 KV reads, {} ms",
        writes.len(),
        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
        ended.saturating_sub(scheduled_ms.max(started.max(0.0) as u64))
    );
}

/// Probes `ids` at most [`schedule::CONNECTIONS`] at a time, in order (the order
/// [`schedule::admit`] planned their worst-case times for); returns each check's result.
async fn probe_all(checks: &BTreeMap<String, HealthCheckSpec>, ids: &[String]) -> Vec<(String, machine::ProbeResult)> {
    use futures_util::StreamExt;
    let probed: Vec<(&String, &HealthCheckSpec)> = ids.iter().filter_map(|id| checks.get_key_value(id)).collect();
    futures_util::stream::iter(probed)
        .map(|(id, spec)| async move { (id.clone(), probe(id, spec).await) })
        .buffer_unordered(schedule::CONNECTIONS)
        .collect()
        .await
}

fn write_reason(reason: WriteReason) -> &'static str {
    match reason {
        WriteReason::Unwritten => "nothing readable stored",
        WriteReason::StateChanged => "a state changed",
        WriteReason::OverridesChanged => "the overrides changed",
        WriteReason::HeartbeatChanged => "the heartbeat setting changed",
        WriteReason::Heartbeat => "heartbeat",
    }
}

/// Writes the measured states; a failure is logged (and the next round tries again, as
/// nothing was recorded as written). Whether the write was made.
pub(super) async fn write_health(kv: &Kv, snapshot: &HealthSnapshot) -> bool {
    let outcome = match serde_json::to_string(snapshot) {
        Ok(json) => match kv.put(HEALTH_KEY, json) {
            Ok(put) => put.execute().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        },
        Err(error) => Err(error.to_string()),
    };
    match outcome {
        Ok(()) => true,
        Err(error) => {
            console_error!("edgedns: writing {HEALTH_KEY} failed: {error}");
            false
        }
    }
}
