//! The health snapshot answering reads: per health check, whether it is healthy and since
//! when, plus operators' forced overrides. The scheduled checker writes the measured states
//! to KV as JSON (`health:current`, one write per round); operators write the overrides to
//! their own key (`health:overrides`, through the admin API or the CLI), so neither writer
//! can undo the other's change. `health:current` also carries a copy of the overrides as of
//! its writing (the checker copies them each round, the admin API and the CLI patch the copy
//! when they change them), so a cold isolate answers from one health read; its background
//! refreshes read both keys, and the overrides key wins. The Worker never reads them per query.
//!
//! Rules (ROUTING.md "Health"):
//! * a check with no data counts as healthy (an inverted one is evaluated by the checker);
//! * an override (`up`/`down`) beats the measured state until cleared; it names a check id,
//!   or a single value as `value:<rdata>` (`value:192.0.2.10`), which forces every policy
//!   node answering that value;
//! * a snapshot older than [`STALE_AFTER_MS`] is not trusted: every check counts as healthy
//!   again (fail open, so a stopped checker cannot take answers down), and explain says so.

pub mod machine;
pub mod schedule;
pub mod status;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::{HealthSummary, HealthView};

/// The KV key of the current health snapshot.
pub const HEALTH_KEY: &str = "health:current";
/// The KV key of the operators' overrides ([`Overrides`] as JSON).
pub const OVERRIDES_KEY: &str = "health:overrides";
/// The prefix of an override target naming a single value rather than a check.
pub const VALUE_PREFIX: &str = "value:";
/// Age after which a snapshot is ignored: ten minutes, ten missed one-minute runs.
pub const STALE_AFTER_MS: u64 = 10 * 60 * 1000;

/// One check's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// The state answers follow.
    pub healthy: bool,
    /// When the state last changed (ms since the epoch), if known.
    #[serde(default)]
    pub since: Option<u64>,
    /// Measured latency of the last check, in ms.
    #[serde(default)]
    pub latency_ms: Option<u32>,
    /// Consecutive results that disagree with `healthy` (the state flips at the threshold).
    #[serde(default)]
    pub consecutive: u32,
    /// The last result as the endpoint gave it (before inversion), if any.
    #[serde(default)]
    pub last_success: Option<bool>,
    /// When the last result came in (ms since the epoch).
    #[serde(default)]
    pub checked_at: Option<u64>,
}

/// An operator's forced state for a check or a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// Forced up (`true`) or down (`false`).
    pub healthy: bool,
    /// Why, for the status listing.
    #[serde(default)]
    pub reason: String,
    /// When it was set (ms since the epoch), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_at: Option<u64>,
}

/// The overrides in force, by target: a check id, or `value:<rdata>`.
pub type Overrides = BTreeMap<String, Override>;

/// Reads the overrides key's value.
pub fn overrides_from_json(text: &str) -> Result<Overrides, HealthError> {
    serde_json::from_str(text).map_err(|e| HealthError(e.to_string()))
}

/// The canonical form of an override target: check ids as given, values in the text form
/// answers print (`value:2001:db8::1`, `value:www.example.net.`), lower-cased.
pub fn override_target(target: &str) -> String {
    let target = target.trim();
    match target.get(..VALUE_PREFIX.len()).filter(|prefix| prefix.eq_ignore_ascii_case(VALUE_PREFIX)) {
        Some(prefix) => format!("{VALUE_PREFIX}{}", target.get(prefix.len()..).unwrap_or("").trim().to_ascii_lowercase()),
        None => target.to_owned(),
    }
}

/// The health snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthSnapshot {
    /// When the checker wrote it (ms since the epoch).
    pub updated_at: u64,
    /// Measured states by check id.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckState>,
    /// Forced states by check id.
    #[serde(default)]
    pub overrides: BTreeMap<String, Override>,
}

/// Why a health snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthError(pub String);

impl HealthSnapshot {
    /// Parses the KV value.
    pub fn from_json(text: &str) -> Result<Self, HealthError> {
        serde_json::from_str(text).map_err(|e| HealthError(e.to_string()))
    }

    /// The snapshot as answering should use it at `now`: itself, or nothing when stale.
    pub fn view(&self, now_ms: u64) -> HealthAt<'_> {
        HealthAt {
            snapshot: self,
            now_ms,
            // No snapshot written yet is "no data", not "stale".
            stale: self.updated_at != 0 && now_ms.saturating_sub(self.updated_at) > STALE_AFTER_MS,
            value_overrides: self.overrides.keys().any(|target| target.starts_with(VALUE_PREFIX)),
        }
    }

    /// Fills in the state of every declared check the snapshot has no data for, as the
    /// checker would start it: healthy, except inverted checks (ROUTING.md: "a check that has
    /// no data yet counts as healthy; an inverted one as unhealthy").
    pub fn with_initial_states(mut self, checks: &BTreeMap<String, crate::zone::routes::HealthCheckSpec>) -> Self {
        for (id, spec) in checks {
            let initial = machine::initial(spec);
            if !initial.healthy {
                self.checks.entry(id.clone()).or_insert(initial);
            }
        }
        self
    }

    /// The snapshot with exactly these overrides (from their own key, which is the truth),
    /// in place of the copy it carries.
    pub fn with_overrides_replaced(mut self, overrides: Overrides) -> Self {
        self.overrides.clear();
        self.with_overrides(overrides)
    }

    /// Adds the operators' overrides (from their own key) to those the snapshot carries.
    pub fn with_overrides(mut self, overrides: Overrides) -> Self {
        for (target, forced) in overrides {
            self.overrides.insert(override_target(&target), forced);
        }
        self
    }
}

/// A snapshot read at a given time.
#[derive(Debug, Clone, Copy)]
pub struct HealthAt<'a> {
    snapshot: &'a HealthSnapshot,
    now_ms: u64,
    /// Whether the snapshot is too old to trust.
    pub stale: bool,
    /// Whether any override names a value (otherwise values are never formatted).
    value_overrides: bool,
}

impl HealthView for HealthAt<'_> {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        if let Some(forced) = self.snapshot.overrides.get(check) {
            return Some(forced.healthy);
        }
        if self.stale {
            return None;
        }
        self.snapshot.checks.get(check).map(|state| state.healthy)
    }

    fn forced_value(&self, value: &hickory_proto::rr::RData) -> Option<bool> {
        if !self.value_overrides {
            return None;
        }
        let target = override_target(&format!("{VALUE_PREFIX}{value}"));
        self.snapshot.overrides.get(&target).map(|forced| forced.healthy)
    }

    fn summary(&self) -> HealthSummary {
        if self.snapshot.updated_at == 0 {
            return HealthSummary::default();
        }
        HealthSummary { updated_at: Some(self.snapshot.updated_at), age_ms: Some(self.now_ms.saturating_sub(self.snapshot.updated_at)), stale: self.stale }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> HealthSnapshot {
        HealthSnapshot::from_json(
            r#"{"updated_at": 1000000, "checks": {"a": {"healthy": false}, "b": {"healthy": true, "latency_ms": 12}},
                "overrides": {"b": {"healthy": false, "reason": "maintenance"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn reads_states_and_overrides() {
        let snapshot = snapshot();
        let view = snapshot.view(1_000_500);
        assert_eq!(view.is_healthy("a"), Some(false));
        assert_eq!(view.is_healthy("b"), Some(false), "the override wins");
        assert_eq!(view.is_healthy("unknown"), None);
    }

    #[test]
    fn stale_snapshots_are_ignored_but_overrides_stay() {
        let snapshot = snapshot();
        let view = snapshot.view(1_000_000 + STALE_AFTER_MS + 1);
        assert!(view.stale);
        assert_eq!(view.is_healthy("a"), None);
        assert_eq!(view.is_healthy("b"), Some(false));
    }

    #[test]
    fn the_overrides_key_replaces_the_copy_the_snapshot_carries() {
        // The copy says b is down; the operators' key has since cleared it and forced a.
        let overrides = overrides_from_json(r#"{"a": {"healthy": true}}"#).unwrap();
        let replaced = snapshot().with_overrides_replaced(overrides);
        let view = replaced.view(1_000_500);
        assert_eq!(view.is_healthy("a"), Some(true));
        assert_eq!(view.is_healthy("b"), Some(true), "the cleared override is gone");
        // The copy survives a round trip through the key's JSON, so a cold isolate sees it.
        let copy = HealthSnapshot::from_json(&serde_json::to_string(&snapshot()).unwrap()).unwrap();
        assert_eq!(copy.view(1_000_500).is_healthy("b"), Some(false));
        assert!(snapshot().with_overrides_replaced(Overrides::new()).overrides.is_empty());
    }

    #[test]
    fn value_overrides_force_single_values() {
        use hickory_proto::rr::{rdata::A, RData};
        let overrides = overrides_from_json(r#"{"value:192.0.2.10": {"healthy": false, "reason": "disk"}, "VALUE: 2001:DB8::1": {"healthy": true}}"#).unwrap();
        let forced = snapshot().with_overrides(overrides);
        let view = forced.view(1_000_500);
        assert_eq!(view.forced_value(&RData::A(A::new(192, 0, 2, 10))), Some(false));
        assert_eq!(view.forced_value(&RData::A(A::new(192, 0, 2, 11))), None);
        let v6 = RData::AAAA("2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().into());
        assert_eq!(view.forced_value(&v6), Some(true), "targets are canonicalised");
        assert_eq!(snapshot().view(1_000_500).forced_value(&RData::A(A::new(192, 0, 2, 10))), None);
    }

    #[test]
    fn inverted_checks_without_data_count_as_unhealthy() {
        use crate::zone::routes::HealthCheckSpec;
        let checks = BTreeMap::from([
            ("plain".to_owned(), HealthCheckSpec { kind: "http".into(), ..Default::default() }),
            ("inverted".to_owned(), HealthCheckSpec { kind: "http".into(), inverted: true, ..Default::default() }),
            ("a".to_owned(), HealthCheckSpec { kind: "http".into(), inverted: true, ..Default::default() }),
        ]);
        let empty = HealthSnapshot::default().with_initial_states(&checks);
        let view = empty.view(5 * STALE_AFTER_MS);
        assert!(!view.stale, "nothing written yet is no data, not stale data");
        assert_eq!((view.is_healthy("plain"), view.is_healthy("inverted")), (None, Some(false)));
        let measured = snapshot().with_initial_states(&checks);
        assert_eq!(measured.view(1_000_500).is_healthy("a"), Some(false), "measured data is kept");
        assert_eq!(measured.view(1_000_000 + STALE_AFTER_MS + 1).is_healthy("inverted"), None, "stale: fail open");
    }

    #[test]
    fn rejects_malformed_json() {
        assert!(HealthSnapshot::from_json("{").is_err());
        assert!(HealthSnapshot::from_json(r#"{"checks": {}}"#).is_err(), "updated_at is required");
    }
}
