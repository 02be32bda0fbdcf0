//! The scheduled run's subscriptions: the I/O around [`subscription::due`] and
//! [`subscription::settle`]. Each due list is fetched (conditionally, within its timeout and
//! byte bound; redirects followed, as list hosts use them), its outcome settled, a new version
//! written before the status that names it, and the version two back deleted after. The
//! status is written once per run that fetched anything, so the KV writes a day are the
//! fetches a day (a list every 6 hours: 4), plus one per new version.

use futures_util::future::{select, Either};

use super::*;
use crate::resolver::subscription::{self, Fetched, Request as Download, Status, STATUS_KEY};

/// Fetches the lists that are due at `now_ms` (the run's scheduled time) and publishes what
/// changed. Logs one line per list fetched; never fails the run.
pub(super) async fn run(env: &Env, now_ms: u64) {
    let Some(config) = resolver_config(env) else { return };
    let subscriptions = &config.subscriptions;
    if subscriptions.is_empty() {
        return;
    }
    let Ok(kv) = Kv::open(env, ReadPath::Operator) else { return };
    let mut status = match read_status(&kv).await {
        Ok(status) => status,
        // Unreadable (a failed read): nothing is fetched, so nothing good is overwritten.
        Err(error) => {
            console_error!("edgedns: subscriptions skipped this run: {error}");
            return;
        }
    };
    let now = now_ms / 1000;
    let mut retired = status.retain(subscriptions);
    let due = subscription::due(subscriptions, &status, now);
    if due.is_empty() && retired.is_empty() {
        return;
    }
    let mut published = false;
    for request in due {
        let Some(list) = subscriptions.get(&request.name) else { continue };
        let fetched = download(&request).await;
        let settled = subscription::settle(list, status.lists.get(&request.name), fetched, now);
        if let Some((version, value)) = &settled.publish {
            if let Err(error) = write_version(&kv, version, value).await {
                console_error!("edgedns: subscription {}: writing firewall {version} failed, it is fetched again next run: {error}", request.name);
                continue;
            }
            published = true;
        }
        if settled.entry.error.is_some() {
            console_error!("edgedns: {}", settled.said);
        } else {
            console_log!("edgedns: {}", settled.said);
        }
        retired.extend(settled.retire);
        status.lists.insert(request.name, settled.entry);
    }
    let written = match kv.put(STATUS_KEY, status.encode()) {
        Ok(put) => put.execute().await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = written {
        console_error!("edgedns: writing {STATUS_KEY} failed: {error}");
        return;
    }
    for version in retired {
        delete_version(&kv, &version).await;
    }
    // This isolate serves what it published at once; the others at their next table check.
    if published {
        load_firewall(&kv).await;
    }
}

/// The stored status: empty when there is none; a corrupt one is logged and started again
/// (the lists are fetched anew); `Err` when the read failed.
pub(super) async fn read_status(kv: &Kv) -> std::result::Result<Status, String> {
    match kv.bytes(STATUS_KEY).await {
        Ok(None) => Ok(Status::default()),
        Ok(Some(bytes)) => Ok(Status::decode(&bytes).unwrap_or_else(|error| {
            console_error!("edgedns: {STATUS_KEY} is unusable, the lists are fetched anew: {error}");
            Status::default()
        })),
        Err(error) => Err(format!("reading {STATUS_KEY} failed: {error}")),
    }
}

/// One download, bounded by its timeout from the request to the last byte and by its byte
/// count (the stream is cancelled past it). The fetch is aborted at the end either way.
async fn download(request: &Download) -> Fetched {
    let headers = worker::Headers::new();
    for (name, value) in &request.headers {
        if headers.set(name, value).is_err() {
            return Fetched::Failed(format!("the {name} header would not be set"));
        }
    }
    let mut init = worker::RequestInit::new();
    init.with_headers(headers);
    let fetch = match worker::Request::new_with_init(&request.url, &init) {
        Ok(fetch) => fetch,
        Err(error) => return Fetched::Failed(error.to_string()),
    };
    let controller = worker::AbortController::default();
    let signal = controller.signal();
    let attempt = async {
        let response = match worker::Fetch::Request(fetch).send_with_signal(&signal).await {
            Ok(response) => response,
            Err(error) => return Fetched::Failed(error.to_string()),
        };
        let header = |name: &str| response.headers().get(name).ok().flatten();
        match response.status_code() {
            304 => Fetched::NotModified,
            200..=299 => {
                let (etag, last_modified, content_type) = (header("etag"), header("last-modified"), header("content-type"));
                match body::response_body(&response, request.max_bytes).await {
                    Ok(body) => Fetched::Body { etag, last_modified, content_type, body },
                    Err(body::BodyError::TooLarge) => Fetched::TooLarge(request.max_bytes),
                    Err(error) => Fetched::Failed(error.to_string()),
                }
            }
            status => Fetched::Status(status),
        }
    };
    let timer = worker::Delay::from(std::time::Duration::from_millis(request.timeout_ms));
    let fetched = match select(Box::pin(attempt), timer).await {
        Either::Left((fetched, _)) => fetched,
        Either::Right(_) => Fetched::TimedOut(request.timeout_ms),
    };
    controller.abort();
    fetched
}

/// Writes a compiled version, in parts over KV's value limit (the first under the version's
/// key, written last, so a reader never finds the first without the rest).
async fn write_version(kv: &Kv, version: &str, value: &[u8]) -> std::result::Result<(), String> {
    let parts: Vec<&[u8]> = value.chunks(firewall::compiled::PART_BYTES).collect();
    for (part, bytes) in parts.iter().enumerate().rev() {
        let key = firewall::compiled::part_key(version, part);
        kv.store.put_bytes(&key, bytes).map_err(|e| e.to_string())?.execute().await.map_err(|e| format!("{key}: {e}"))?;
    }
    Ok(())
}

/// Deletes a version no isolate serves any more, every part it may have (a compiled value
/// is at most [`firewall::compiled::MAX_COMPILED_BYTES`]; a missing key is no error); a
/// failure is only logged.
async fn delete_version(kv: &Kv, version: &str) {
    let parts = firewall::compiled::MAX_COMPILED_BYTES.div_ceil(firewall::compiled::PART_BYTES);
    for part in 0..parts {
        let key = firewall::compiled::part_key(version, part);
        if let Err(error) = kv.store.delete(&key).await {
            console_error!("edgedns: {key} is left in KV: {error}");
        }
    }
}
