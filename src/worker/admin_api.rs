//! The operators' API on the Worker side: authorization, bodies, and the KV reads and writes
//! behind each admin request (the decisions are in [`crate::admin`]).

use super::*;

/// An admin request: authorized first (before its body is read: without the token nothing
/// is said, not even 413), then its body read within the endpoint's limit (checked against
/// `Content-Length` before reading and against the bytes read in `admin::parse`), parsed,
/// and served from fresh KV reads.
pub(super) async fn admin(request: &mut Request, method: &str, url: &worker::Url, env: &Env, context: &Context) -> crate::doh::HttpResponse {
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

pub(super) async fn serve_admin(request: AdminRequest, env: &Env, context: &Context, now: u64) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
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
    // Read, not yet judged: a corrupt value is shown by the status and replaced by the next
    // change, so it never locks the operator out of the repair.
    let overrides = super::health::read_stored(&kv, OVERRIDES_KEY, overrides_from_json).await;
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
pub(super) async fn current_version(kv: &Kv) -> std::result::Result<Option<String>, AdminError> {
    match read_current(kv).await {
        Ok((index, _)) => Ok(Some(index.manifest().version.clone())),
        Err(LoadError::NothingPublished) => Ok(None),
        Err(error) => Err(AdminError::Unavailable(error.to_string())),
    }
}

/// `snapshot:history`: empty when missing, `Err` when KV fails or it does not parse.
pub(super) async fn read_history(kv: &Kv) -> std::result::Result<Vec<snapshot::Published>, String> {
    match kv.text(snapshot::HISTORY_KEY).await {
        Ok(Some(text)) => snapshot::history_from_json(&text).map_err(|error| error.to_string()),
        Ok(None) => Ok(Vec::new()),
        Err(error) => Err(format!("reading {} failed: {error}", snapshot::HISTORY_KEY)),
    }
}

/// Writes one KV value, binary ones as text ([`snapshot::storable`], as the CLI does).
pub(super) async fn put_value(kv: &Kv, key: &str, value: &[u8]) -> std::result::Result<(), AdminError> {
    let failed = |error: String| AdminError::Unavailable(format!("writing {key} failed: {error}"));
    let put = kv.store.put_bytes(key, &snapshot::storable(value)).map_err(|e| failed(e.to_string()))?;
    put.execute().await.map_err(|e| failed(e.to_string()))
}

/// This isolate serves `index`'s version from now on (after a publish or rollback through the
/// API), reading its shards as queries need them; other isolates pick the version up at
/// their next pointer check.
pub(super) fn serve_from_now(index: Index) {
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
pub(super) async fn list_zones(kv: &Kv) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
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
pub(super) async fn edit_zones(
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
pub(super) async fn record_publish(kv: &Kv, version: &str, now_s: u64, zones: usize) -> (Vec<String>, Vec<String>) {
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
pub(super) async fn rollback(kv: &Kv, to: Option<&str>) -> std::result::Result<crate::doh::HttpResponse, AdminError> {
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
