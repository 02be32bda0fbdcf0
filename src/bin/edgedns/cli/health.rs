//! `edgedns health`: the checks' states as the Worker sees them, and overrides.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;

use super::args::Target;
use super::kv::{get, published, put_bytes};

#[derive(Subcommand)]
pub(super) enum HealthCommand {
    /// Every check of the published zones: state, last result, latency, consecutive
    /// count, interval, target, override; and the health snapshot's age.
    Status {
        #[command(flatten)]
        target: Target,
        /// Print the JSON the admin endpoint serves instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Force a check (its id) or a single value (`value:192.0.2.10`) up or down until cleared.
    Override {
        /// A health check id, or value:<rdata>.
        name: String,
        /// The forced state.
        #[arg(value_parser = ["up", "down"])]
        state: String,
        /// Why (shown by `health status`).
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        target: Target,
    },
    /// Clear an override.
    Clear {
        /// As given to `override`.
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

pub(super) fn run(command: HealthCommand) -> Result<(), String> {
    use edgedns::admin::{change_overrides, AdminRequest};
    use edgedns::health::{override_target, overrides_from_json, status, HealthSnapshot, Override, Stored, HEALTH_KEY, OVERRIDES_KEY};
    // Corrupt values are reported and read as missing: writing replaces them.
    let read_overrides = |target: &Target| -> Result<Stored<edgedns::health::Overrides>, String> {
        let bytes = get(target, OVERRIDES_KEY)?;
        Ok(Stored::parse(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).as_deref(), overrides_from_json))
    };
    let read_measured = |target: &Target| -> Result<Stored<HealthSnapshot>, String> {
        let bytes = get(target, HEALTH_KEY)?;
        Ok(Stored::parse(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).as_deref(), HealthSnapshot::from_json))
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let (target, request) = match command {
        HealthCommand::Status { target, json } => {
            let manifest = published(&target)?;
            let (measured, overrides) = (read_measured(&target)?, read_overrides(&target)?);
            let problems = [measured.problem(HEALTH_KEY), overrides.problem(OVERRIDES_KEY)].into_iter().flatten().collect();
            let mut report = status::report(manifest.health_checks(), &measured.value().unwrap_or_default(), &overrides.value().unwrap_or_default(), now);
            report.problems = problems;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            } else {
                print!("{}", report.table());
            }
            return Ok(());
        }
        HealthCommand::Override { name, state, reason, target } => {
            let forced = Override { healthy: state == "up", reason, set_at: Some(now) };
            (target, AdminRequest::SetOverride { target: override_target(&name), forced })
        }
        HealthCommand::Clear { name, target } => (target, AdminRequest::ClearOverride { target: override_target(&name) }),
    };
    let manifest = published(&target)?;
    let stored = read_overrides(&target)?;
    let corrupt = stored.problem(OVERRIDES_KEY);
    let mut overrides = stored.value().unwrap_or_default();
    let changed = change_overrides(&mut overrides, manifest.health_checks(), request).map_err(|e| e.message())?;
    // A corrupt value is replaced even when the change itself is a no-op.
    if changed || corrupt.is_some() {
        if let Some(problem) = corrupt {
            eprintln!("replacing it: {problem}");
        }
        let json = serde_json::to_vec(&overrides).map_err(|e| e.to_string())?;
        put_bytes(&target, OVERRIDES_KEY, &json)?;
        // The copy `health:current` carries, which cold isolates read alone (a corrupt
        // value is replaced by "no data" with the overrides).
        let measured = read_measured(&target)?;
        if let Some(problem) = measured.problem(HEALTH_KEY) {
            eprintln!("replacing it: {problem}");
        }
        let measured = measured.value().unwrap_or_default();
        let patched = serde_json::to_vec(&measured.with_overrides_replaced(overrides.clone())).map_err(|e| e.to_string())?;
        put_bytes(&target, HEALTH_KEY, &patched)?;
        println!("overrides now: {}", serde_json::to_string(&overrides).map_err(|e| e.to_string())?);
    } else {
        println!("no such override: nothing changed");
    }
    Ok(())
}
