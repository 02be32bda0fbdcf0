//! The scheduled health run (Cron Trigger) and the probes it makes.

use super::*;

/// Longest a probe may take when its check gives no `timeout` (seconds).
pub(super) const DEFAULT_PROBE_TIMEOUT_S: u32 = 5;

/// One probe of an HTTP(S) or TCP check, bounded by its timeout; never fails, only reports.
pub(super) async fn probe(spec: &crate::zone::routes::HealthCheckSpec) -> crate::health::machine::ProbeResult {
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
                let Ok(response) = worker::Fetch::Request(request).send().await else { return false };
                let status_ok = (200..400).contains(&response.status_code());
                match &spec.search {
                    None => status_ok,
                    // The search string must be in the first 5,120 bytes of the body; the rest
                    // is cancelled, never read.
                    Some(needle) => {
                        let head = body::response_head(&response, 5_120).await.unwrap_or_default();
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

/// The scheduled run (a Cron Trigger, or `/cdn-cgi/handler/scheduled` locally): the minute
/// is covered in rounds (see [`schedule`]); each round probes its due checks concurrently,
/// each with its own timeout, applies the state machine, derives calculated checks, and
/// writes one health snapshot. A flip is logged once.
#[event(scheduled)]
pub(super) async fn scheduled(event: worker::ScheduledEvent, env: Env, _context: worker::ScheduleContext) {
    let Ok(kv) = Kv::open(&env, ReadPath::Operator) else {
        console_error!("edgedns: KV binding {ZONES_BINDING} is missing");
        return;
    };
    // The isolate's manifest (the last good version, as answering uses), loaded if need be.
    let Some(index) = current_index(&env).await else {
        console_error!("edgedns: health run skipped: no zone data to read the checks from");
        return;
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
pub(super) async fn write_health(kv: &Kv, snapshot: &HealthSnapshot) {
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
