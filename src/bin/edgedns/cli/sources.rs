//! Zone files read and compiled: what `check`, `compile`, `publish` and `diff` start from.

use std::path::{Path, PathBuf};

use edgedns::snapshot;
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;

use super::args::Sources;

pub(super) fn count_records(zone: &edgedns::zone::Zone) -> usize {
    zone.record_count()
}

pub(super) fn zone_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
                let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| {
                        let text = path.to_string_lossy();
                        path.extension().is_some_and(|ext| ext == "zone")
                            || text.ends_with(".routes.toml")
                            || edgedns::zone::delegation::is_delegation_sets_file(&text)
                            || path.file_name().is_some_and(|name| name == edgedns::zone::compile::VIEW_FILE)
                    })
                    .collect();
                found.sort();
                Ok(found)
            };
            let found = list(path)?;
            if found.is_empty() {
                return Err(format!("{}: no *.zone files", path.display()));
            }
            files.extend(found);
            // Private views: DIR/views/<name>/ (view.toml, zone and routes files).
            let views = path.join("views");
            if views.is_dir() {
                let mut names: Vec<PathBuf> = std::fs::read_dir(&views)
                    .map_err(|e| format!("{}: {e}", views.display()))?
                    .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                    .filter(|path| path.is_dir())
                    .collect();
                names.sort();
                for view in names {
                    files.extend(list(&view)?);
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

pub(super) fn compile(sources: &Sources) -> Result<Catalog, String> {
    compile_files(&read_sources(sources)?)
}

/// Every zone and routes file the arguments name, read.
pub(super) fn read_sources(sources: &Sources) -> Result<Vec<SourceFile>, String> {
    let mut files = Vec::new();
    for path in zone_files(&sources.paths)? {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(SourceFile { path: path.display().to_string(), text });
    }
    Ok(files)
}

/// A progress line on stderr (stdout stays the command's result), with the time since the
/// command started: long operations (large zones, many keys) say where they are.
pub(super) fn progress(message: &str) {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(std::time::Instant::now);
    if std::env::var_os("EDGEDNS_QUIET").is_none() {
        eprintln!("[{:>7.2}s] {message}", started.elapsed().as_secs_f64());
    }
}

pub(super) fn compile_files(files: &[SourceFile]) -> Result<Catalog, String> {
    let bytes: usize = files.iter().map(|file| file.text.len()).sum();
    progress(&format!("compiling {} files ({bytes} bytes)", files.len()));
    let catalog = compile_all(files).map_err(|errors| {
        let mut message: Vec<String> = errors.iter().map(ToString::to_string).collect();
        message.push(format!("{} error(s); nothing was compiled", errors.len()));
        message.join("\n")
    })?;
    let records: usize = catalog.zones().iter().map(count_records).sum();
    progress(&format!("compiled {} zones, {records} records", catalog.zones().len()));
    Ok(catalog)
}

pub(super) fn build(catalog: &Catalog, shard_bytes: usize, now: u64) -> Result<snapshot::Built, String> {
    let built = snapshot::build(catalog, shard_bytes, now).map_err(|e| format!("cannot encode snapshot: {}", e.0))?;
    progress(&format!("split into {} shard(s), {} bytes", built.shards.len(), built.bytes()));
    Ok(built)
}

/// `edgedns check`'s account of the health checks: what they cost in their busiest minute
/// and a day on `plan`, with a warning (stderr) for each way they do not fit.
pub(super) fn health_capacity(checks: &std::collections::BTreeMap<String, edgedns::health::spec::HealthCheckSpec>, plan: &str, heartbeat_s: u32) {
    use edgedns::health::schedule::{self, Plan};
    let probed = checks.values().filter(|spec| schedule::is_probed(spec)).count();
    if probed == 0 {
        return;
    }
    let plan = Plan::parse(plan).unwrap_or(Plan::Free);
    let capacity = schedule::capacity(checks, plan.limits());
    let heartbeat_s = edgedns::health::heartbeat_within_limits(heartbeat_s);
    let heartbeats = 86_400 / u64::from(heartbeat_s);
    // A run reads health:current and health:overrides (and the manifest when its isolate is cold).
    let reads = 2 * 1_440;
    println!(
        "health checks on the {} plan: {} probes in the busiest minute ({} rounds) of {} subrequests an invocation has for them, {} probes a day; \
         KV: {heartbeats} heartbeat writes a day (every {heartbeat_s} s) + 1 per state change, about {reads} reads a day",
        plan.name(),
        capacity.probes_per_minute,
        capacity.rounds,
        capacity.probe_budget,
        capacity.probes_per_day,
    );
    let mut warnings = capacity.warnings(plan.name());
    if plan == Plan::Free && heartbeats > 1_000 {
        warnings.push(format!("a heartbeat every {heartbeat_s} s writes health:current {heartbeats} times a day, over the free plan's 1,000 KV writes a day"));
    }
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}
