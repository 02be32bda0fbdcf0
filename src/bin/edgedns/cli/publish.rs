//! `publish`, `diff`, `versions`, `rollback`: the shared sequences of `edgedns::publish`, run
//! against KV through wrangler, and printed.

use std::time::{SystemTime, UNIX_EPOCH};

use edgedns::publish;
use edgedns::snapshot;
use edgedns::zone::compile::SourceFile;
use edgedns::zone::diff::{Against, CatalogDiff, Format};
use edgedns::zone::Catalog;

use super::args::Target;
use super::kv::{current_version, published_version, Wrangler};
use super::sources::build;

/// `edgedns diff`: the comparison is `edgedns::zone::diff`; this only fetches and prints.
pub(super) fn diff(catalog: &Catalog, target: &Target, format: Format) -> Result<(), String> {
    let (changes, against) = compare(catalog, target)?;
    print!("{}", changes.render(&against, format));
    Ok(())
}

/// What publishing `catalog` to `target` would change, and what it was compared with.
pub(super) fn compare(catalog: &Catalog, target: &Target) -> Result<(CatalogDiff, Against), String> {
    let version = current_version(target)?;
    let served = match &version {
        Some(version) => published_version(target, version)?,
        None => Catalog::default(),
    };
    Ok((edgedns::zone::diff::diff(&served, catalog), Against { version, place: target.place() }))
}

/// Publishes through [`edgedns::publish::publish`]: the shards, manifest and sources (one
/// bulk write), then `snapshot:current`, which readers follow, then the history and the
/// deletion of versions past retention. The version published.
pub(super) fn publish(catalog: &Catalog, files: &[SourceFile], target: &Target, shard_bytes: usize) -> Result<String, String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let built = build(catalog, shard_bytes, now)?;
    let report = publish::block_on(publish::publish(&Wrangler(target), &built, files, now, &publish::Retention::DEFAULT)).map_err(|error| match error {
        // Some of the version's keys may be written, but not the pointer readers follow.
        publish::PublishError::Store(error) => format!(
            "{error}\npublish stopped before {} named {}: the Worker serves the version it served before (`edgedns versions`); publish again",
            snapshot::CURRENT_KEY,
            built.manifest.version
        ),
        other => other.to_string(),
    })?;
    println!("published {}: {} zones, {} shard(s), {} bytes, to {}", report.version, catalog.zones().len(), built.shards.len(), built.bytes(), target.place());
    print_settled(&report.deleted, &report.warnings);
    Ok(report.version)
}

/// What a publish or rollback deleted (retention), and its warnings (on stderr).
pub(super) fn print_settled(deleted: &[String], warnings: &[String]) {
    if !deleted.is_empty() {
        println!(
            "deleted {} version(s) past retention (not among the last {}, not current for {} minutes): {}",
            deleted.len(),
            publish::HISTORY_LENGTH,
            publish::GRACE_SECONDS / 60,
            deleted.join(", ")
        );
    }
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

/// `edgedns versions`: the history, the current version marked with `*`.
pub(super) fn versions(target: &Target) -> Result<(), String> {
    let state = publish::block_on(publish::state(&Wrangler(target))).map_err(|e| e.to_string())?;
    let current = state.current_version();
    let history = state.history.as_ref().map_err(ToString::to_string)?;
    if history.is_empty() {
        match (&state.current, current) {
            (_, Some(version)) => println!("no publish history yet; current: {version}"),
            (Err(error), None) => println!("no publish history yet; {} is unusable: {error}", snapshot::CURRENT_KEY),
            (Ok(_), None) => println!("nothing published yet"),
        }
        return Ok(());
    }
    for entry in history {
        let mark = if current == Some(entry.version.as_str()) { "*" } else { " " };
        println!("{mark} {}  {}  {} zones", entry.version, utc(entry.published_at), entry.zones);
    }
    match (&state.current, current) {
        (_, Some(version)) if !history.iter().any(|entry| entry.version == version) => println!("current: {version} (not in the history)"),
        (Err(error), _) => println!("{} is unusable: {error}", snapshot::CURRENT_KEY),
        (Ok(None), _) => println!("{} is missing", snapshot::CURRENT_KEY),
        _ => {}
    }
    Ok(())
}

/// `edgedns rollback` through [`edgedns::publish::rollback`]: checks the version's manifest
/// and every shard, then rewrites the pointer (the Worker picks it up at its next refresh,
/// like a publish) and records the move in the history.
pub(super) fn rollback(to: Option<&str>, target: &Target) -> Result<(), String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let report = publish::block_on(publish::rollback(&Wrangler(target), to, now, None, &publish::Retention::DEFAULT)).map_err(|e| e.to_string())?;
    let previous = report.previous.as_deref().unwrap_or("(unreadable)");
    println!("{}: {previous} -> {} ({} zones)", snapshot::CURRENT_KEY, report.version, report.manifest.public_zones());
    print_settled(&report.deleted, &report.warnings);
    Ok(())
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub(super) fn utc(unix_seconds: u64) -> String {
    edgedns::calendar::Utc::from_unix(unix_seconds).readable()
}
