//! The operators' API on the Worker side: authorization, bodies, and the KV reads and writes
//! behind each admin request (the decisions are in [`crate::admin`]).

use super::*;

use crate::publish::{self, PublishError, Retention, StoreError, WholeCatalog, WORKER_LIMIT};

/// An admin request: authorized first (before its body is read: without the token nothing
/// is said, not even 413), then its body read within the endpoint's limit (413 as soon as
/// `Content-Length` or the bytes arriving pass it: [`body::request_body`]), parsed, and served
/// from fresh KV reads.
pub(super) async fn admin(
    request: &Request,
    method: &str,
    url: &worker::Url,
    address: Option<std::net::IpAddr>,
    env: &Env,
    context: &Context,
) -> crate::doh::HttpResponse {
    let authorization = request.headers().get("authorization").ok().flatten();
    let now = js_sys::Date::now().max(0.0) as u64;
    if let Err(error) = super::rate_limit::authorize_admin(env, address, authorization.as_deref(), now).await {
        return error.response();
    }
    let body = if matches!(method, "POST" | "PUT") {
        let limit = admin::body_limit(method, url.path());
        match body::request_body(request.inner(), limit).await {
            Ok(body) => body,
            Err(body::BodyError::TooLarge) => return AdminError::PayloadTooLarge(limit).response(),
            Err(error) => return AdminError::BadRequest(error.to_string()).response(),
        }
    } else {
        Vec::new()
    };
    let http = HttpRequest { method, path: url.path(), query: url.query().unwrap_or(""), body: &body, ..HttpRequest::default() };
    let parsed = match admin::parse(&http, now) {
        Ok(parsed) => parsed,
        Err(error) => return error.response(),
    };
    match serve_admin(parsed, env, context, now).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

pub(super) async fn serve_admin(request: AdminRequest, env: &Env, context: &Context, now: u64) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let kv = Kv::open(env, ReadPath::Operator).map_err(|e| AdminError::Unavailable(format!("KV binding {ZONES_BINDING}: {e}")))?;
    match request {
        AdminRequest::Zones => return list_zones(&kv).await,
        AdminRequest::PutZone { apex, upload, dry_run } => return edit_zones(&kv, &apex, Some(&upload), dry_run, now).await,
        AdminRequest::DeleteZone { apex, dry_run } => return edit_zones(&kv, &apex, None, dry_run, now).await,
        AdminRequest::ZoneSources { apex } => {
            let index = current_manifest(&kv).await?.ok_or_else(|| AdminError::UnknownZone(apex.to_string()))?;
            let version = index.manifest().version.clone();
            let sources = read_sources(&kv, &version).await?;
            return Ok(admin::json(200, &admin::zone_sources(&sources, &apex, &version)?));
        }
        AdminRequest::Rollback { to } => return rollback(&kv, to.as_deref(), now).await,
        AdminRequest::Diff { from, to } => return diff_versions(&kv, &from, &to).await,
        AdminRequest::FirewallSubscriptions => {
            let subscriptions = resolver_config(env).map(|config| config.subscriptions.clone()).unwrap_or_default();
            let status = super::subscriptions::read_status(&kv).await.map_err(AdminError::Unavailable)?;
            let held: Vec<(String, String)> =
                STATE.with(|state| state.borrow().firewall_parts.iter().filter_map(|(name, version)| Some((name.clone()?, version.clone()))).collect());
            return Ok(admin::json(200, &status.report(&subscriptions, &held, now / 1000)));
        }
        AdminRequest::Traffic { minutes } => return Ok(Box::pin(super::analytics::traffic(env, minutes, now)).await),
        AdminRequest::Policy { name, record_type } => {
            // The zone holding the name, from the version this isolate serves (the shard a
            // query for it would read), as `/explain` sees it.
            let catalog = zones_for(env, context, Some(&name)).await.ok_or_else(|| AdminError::Unavailable("no zone data published".into()))?;
            return Ok(admin::json(200, &admin::policy_tree(&catalog, &name, record_type)?));
        }
        _ => {}
    }
    let index = current_index(env).await.ok_or_else(|| AdminError::Unavailable("no zone data published".into()))?;
    let health_checks = index.manifest().health_checks();
    // Read, not yet judged: a corrupt value is shown by the status and replaced by the next
    // change, so it never locks the operator out of the repair.
    let overrides = super::health::read_stored(&kv, OVERRIDES_KEY, overrides_from_json).await;
    match request {
        AdminRequest::ResolverStatus => {
            let resolver = resolver_config(env);
            let (firewall_parts, firewall_rules) = STATE.with(|state| {
                let state = state.borrow();
                (state.firewall_parts.clone(), state.firewall.as_ref().map_or(0, |rules| rules.len()))
            });
            let firewall_version = firewall_parts.iter().find(|(name, _)| name.is_none()).map(|(_, version)| version.clone());
            let subscribed: serde_json::Map<String, serde_json::Value> =
                firewall_parts.into_iter().filter_map(|(name, version)| Some((name?, serde_json::Value::String(version)))).collect();
            let status = serde_json::json!({
                "mode": if resolver.is_some() { "resolver" } else { "authoritative" },
                "upstreams": resolver.as_ref().map(|config| config.upstreams.clone()).unwrap_or_default(),
                "firewall": { "version": firewall_version, "rules": firewall_rules, "subscriptions": subscribed },
                "isolate": crate::upstream::stats(),
            });
            Ok(admin::json(200, &status))
        }
        AdminRequest::FirewallStats => Ok(admin::json(200, &crate::upstream::block_report())),
        AdminRequest::IsolateStatus => {
            let isolate = with_isolate(env, |isolate| isolate.status());
            let counts = COUNTS.with(|counts| *counts.borrow());
            // The isolate's wasm linear memory (64 KiB pages; it grows and never shrinks).
            let memory_bytes = core::arch::wasm32::memory_size::<0>() * 65_536;
            let status = serde_json::json!({
                "snapshot": isolate.snapshot,
                "shards": { "total": isolate.total, "held": isolate.held, "held_bytes": isolate.held_bytes },
                "reads_in_flight": isolate.in_flight,
                "fallback": { "snapshot": isolate.fallback, "broken_shards": isolate.broken },
                "counts": counts,
                "memory_bytes": memory_bytes,
            });
            Ok(admin::json(200, &status))
        }
        AdminRequest::HealthStatus => {
            let overrides = overrides.map_err(AdminError::Unavailable)?;
            let measured = super::health::read_stored(&kv, HEALTH_KEY, HealthSnapshot::from_json).await.map_err(AdminError::Unavailable)?;
            let problems = [measured.problem(HEALTH_KEY), overrides.problem(OVERRIDES_KEY)].into_iter().flatten().collect();
            let mut report = status::report(health_checks, &measured.value().unwrap_or_default(), &overrides.value().unwrap_or_default(), now);
            report.problems = problems;
            report.checker = Some(super::health::checker_counts());
            Ok(admin::json(200, &report))
        }
        change => {
            let overrides = overrides.map_err(AdminError::Unavailable)?;
            let corrupt = overrides.problem(OVERRIDES_KEY);
            let mut overrides = overrides.value().unwrap_or_default();
            // A corrupt value is replaced (by the change applied to no overrides), even when
            // the change itself is a no-op such as clearing an override that is not there.
            if admin::change_overrides(&mut overrides, health_checks, change)? || corrupt.is_some() {
                if let Some(problem) = &corrupt {
                    console_error!("edgedns: replacing it: {problem}");
                }
                let json = serde_json::to_string(&overrides).map_err(|e| AdminError::Unavailable(e.to_string()))?;
                let put = kv.put(OVERRIDES_KEY, json).map_err(|e| AdminError::Unavailable(format!("writing {OVERRIDES_KEY}: {e}")))?;
                put.execute().await.map_err(|e| AdminError::Unavailable(format!("writing {OVERRIDES_KEY}: {e}")))?;
                // The copy `health:current` carries, which cold isolates read alone (a corrupt
                // value is replaced by "no data" with the overrides).
                let measured =
                    super::health::read_stored(&kv, HEALTH_KEY, HealthSnapshot::from_json).await.map_err(AdminError::Unavailable)?.value().unwrap_or_default();
                let patched =
                    serde_json::to_string(&measured.with_overrides_replaced(overrides.clone())).map_err(|e| AdminError::Unavailable(e.to_string()))?;
                let put = kv.put(HEALTH_KEY, patched).map_err(|e| AdminError::Unavailable(format!("writing {HEALTH_KEY}: {e}")))?;
                put.execute().await.map_err(|e| AdminError::Unavailable(format!("writing {HEALTH_KEY}: {e}")))?;
                console_log!("edgedns: health overrides are now {}", serde_json::to_string(&overrides).unwrap_or_default());
                // This isolate answers with the change at once; others at their next refresh.
                with_isolate(env, |isolate| isolate.set_overrides(overrides.clone()));
            }
            Ok(admin::json(200, &overrides))
        }
    }
}

/// The retention the admin API publishes and rolls back with: the defaults, deleting at most
/// 400 keys a move, so that a move's reads, writes and deletions stay within an invocation's
/// 1,000 KV operations (the versions it reads whole are at most [`WORKER_LIMIT`]'s 64 shards);
/// versions that do not fit are deleted by later moves.
const RETENTION: Retention = Retention { deletion_budget: 400, ..Retention::DEFAULT };

/// The KV namespace as the publish sequence's store: one KV call per key, all at once.
struct KvStore<'a>(&'a Kv);

impl publish::Store for KvStore<'_> {
    async fn get_many(&self, keys: &[String]) -> std::result::Result<Vec<Option<String>>, StoreError> {
        let values = futures_util::future::join_all(keys.iter().map(|key| self.0.text(key))).await;
        keys.iter().zip(values).map(|(key, value)| value.map_err(|e| StoreError(format!("reading {key} failed: {e}")))).collect()
    }

    async fn put_many(&self, entries: &[(String, String)]) -> std::result::Result<(), StoreError> {
        let writes = futures_util::future::join_all(entries.iter().map(|(key, value)| async move {
            let failed = |e: worker::kv::KvError| StoreError(format!("writing {key} failed: {e}"));
            self.0.put(key, value.as_str()).map_err(failed)?.execute().await.map_err(failed)
        }))
        .await;
        writes.into_iter().collect()
    }

    async fn delete_many(&self, keys: &[String]) -> std::result::Result<(), StoreError> {
        let deletes = futures_util::future::join_all(
            keys.iter().map(|key| async move { self.0.store.delete(key).await.map_err(|e| StoreError(format!("deleting {key} failed: {e}"))) }),
        )
        .await;
        deletes.into_iter().collect()
    }
}

/// The admin error for a publish or rollback that did not happen.
fn admin_error(error: PublishError) -> AdminError {
    match error {
        PublishError::Store(error) => AdminError::Unavailable(error.to_string()),
        PublishError::UnknownVersion(version) => AdminError::UnknownVersion(version),
        other => AdminError::Conflict(other.to_string()),
    }
}

/// The manifest `snapshot:current` holds, `None` when nothing was published.
async fn current_manifest(kv: &Kv) -> std::result::Result<Option<Index>, AdminError> {
    match read_current(kv).await {
        Ok((index, _)) => Ok(Some(index)),
        Err(LoadError::NothingPublished) => Ok(None),
        Err(error) => Err(AdminError::Unavailable(error.to_string())),
    }
}

/// `GET /admin/zones`: the current version's zones and the history, read fresh from KV (the
/// zones only of a version the Worker can read whole: [`WORKER_LIMIT`]).
pub(super) async fn list_zones(kv: &Kv) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let state = publish::state(&KvStore(kv)).await.map_err(|e| AdminError::Unavailable(e.to_string()))?;
    let current = state.current.map_err(|e| AdminError::Unavailable(format!("{}: {e}", snapshot::CURRENT_KEY)))?;
    let catalog = match &current {
        Some(manifest) => {
            WORKER_LIMIT.check(manifest, WholeCatalog::List).map_err(|e| AdminError::Conflict(e.to_string()))?;
            read_version(kv, &manifest.version).await.map_err(|error| AdminError::Unavailable(error.to_string()))?.2
        }
        None => Catalog::default(),
    };
    let history = state.history.map_err(|e| AdminError::Unavailable(e.to_string()))?;
    let current = current.map(|manifest| manifest.version);
    Ok(admin::json(200, &admin::zone_listing(current.as_deref(), &catalog, history)))
}

/// `PUT`/`DELETE /admin/zones/<apex>`: the current version's sources with the zone replaced,
/// added or removed ([`admin::edit_zone`]), compiled and, unless a dry run, published by the
/// sequence the CLI publishes with ([`publish::publish`]): the shards, manifest and sources,
/// then the pointer, then the history and retention. A reader follows the pointer, which is
/// written after everything it names, so it always finds a complete version. The served
/// catalog is read whole (for the list of changes) only within [`WORKER_LIMIT`].
/// The sources `version` was published with (`sources:<version>`); 409 when it has none.
async fn read_sources(kv: &Kv, version: &str) -> std::result::Result<Vec<crate::zone::compile::SourceFile>, AdminError> {
    let key = snapshot::sources_key(version);
    let text = kv.text(&key).await.map_err(|e| AdminError::Unavailable(format!("reading {key} failed: {e}")))?.ok_or_else(|| {
        AdminError::Conflict(format!(
            "{key} is missing: version {version} was published without its sources; publish once with `edgedns publish` to store them"
        ))
    })?;
    snapshot::sources_from_json(&text).map_err(|error| AdminError::Conflict(format!("{key}: {error}")))
}

pub(super) async fn edit_zones(
    kv: &Kv,
    apex: &hickory_proto::rr::Name,
    upload: Option<&admin::ZoneUpload>,
    dry_run: bool,
    now_ms: u64,
) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let current = current_manifest(kv).await?;
    let previous = current.as_ref().map(|index| index.manifest().version.clone());
    let (sources, served) = match &current {
        Some(index) => {
            let version = &index.manifest().version;
            WORKER_LIMIT.check(index.manifest(), WholeCatalog::Edit).map_err(|e| AdminError::Conflict(e.to_string()))?;
            let sources = read_sources(kv, version).await?;
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
    drop(served);
    let zones = edited.catalog.zones().len();
    if dry_run {
        let report = admin::Publication { dry_run, version: None, previous, zones, changes, deleted: Vec::new(), warnings: Vec::new() };
        return Ok(admin::json(200, &report));
    }
    let now_s = now_ms / 1000;
    let built = snapshot::build(&edited.catalog, snapshot::DEFAULT_SHARD_BYTES, now_s)
        .map_err(|e| AdminError::Unavailable(format!("cannot encode the snapshot: {}", e.0)))?;
    let published = publish::publish(&KvStore(kv), &built, &edited.sources, now_s, &RETENTION).await.map_err(admin_error)?;
    // The pointer has moved: this isolate serves the new version at once.
    let index = Index::new(built.manifest).map_err(|e| AdminError::Unavailable(e.to_string()))?;
    serve_from_now(index);
    for warning in &published.warnings {
        console_error!("edgedns: {warning}");
    }
    let report =
        admin::Publication { dry_run, version: Some(published.version), previous, zones, changes, deleted: published.deleted, warnings: published.warnings };
    Ok(admin::json(200, &report))
}

/// `GET /admin/diff?from=&to=`: both versions read whole (each within [`WORKER_LIMIT`]) and
/// compared as `edgedns diff` compares them ([`admin::changes`]).
pub(super) async fn diff_versions(kv: &Kv, from: &str, to: &str) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let mut catalogs = Vec::with_capacity(2);
    for version in [from, to] {
        let unreadable = |error: LoadError| match error {
            LoadError::MissingImage(_) => AdminError::UnknownVersion(version.to_owned()),
            other => AdminError::Unavailable(other.to_string()),
        };
        let (index, _) = read_manifest(kv, version).await.map_err(unreadable)?;
        WORKER_LIMIT.check(index.manifest(), WholeCatalog::Diff).map_err(|e| AdminError::Conflict(e.to_string()))?;
        drop(index);
        catalogs.push(read_version(kv, version).await.map_err(unreadable)?.2);
    }
    let (Some(before), Some(after)) = (catalogs.first(), catalogs.get(1)) else {
        return Err(AdminError::Unavailable("comparing versions: not both read".into()));
    };
    let diff = admin::VersionDiff { from: from.to_owned(), to: to.to_owned(), changes: admin::changes(before, after) };
    Ok(admin::json(200, &diff))
}

/// `POST /admin/rollback`: as `edgedns rollback` ([`publish::rollback`]): the manifest and
/// every shard are read and decoded before the pointer moves, for versions within
/// [`WORKER_LIMIT`].
pub(super) async fn rollback(kv: &Kv, to: Option<&str>, now_ms: u64) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
    let rolled = publish::rollback(&KvStore(kv), to, now_ms / 1000, Some(&WORKER_LIMIT), &RETENTION).await.map_err(admin_error)?;
    for warning in &rolled.warnings {
        console_error!("edgedns: {warning}");
    }
    let zones = rolled.manifest.public_zones();
    let previous = rolled.previous.unwrap_or_else(|| "(unreadable)".to_owned());
    let index = Index::new(rolled.manifest).map_err(|e| AdminError::Unavailable(e.to_string()))?;
    serve_from_now(index);
    Ok(admin::json(200, &admin::RolledBack { previous, version: rolled.version, zones }))
}
