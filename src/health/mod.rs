//! The health snapshot answering reads: per health check, whether it is healthy and since
//! when, plus operators' forced overrides. The scheduled checker writes the measured states
//! to KV as JSON (`health:current`, when a state changes and otherwise once a heartbeat, see
//! [`checker`]); operators write the overrides to
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
//! * a snapshot older than two of the checker's heartbeats and a margin
//!   ([`stale_after_ms`]; the heartbeat travels in the snapshot) is not trusted: every check
//!   counts as healthy again (fail open, so a stopped checker cannot take answers down), and
//!   explain says so.

pub mod checker;
pub mod machine;
pub mod schedule;
pub mod spec;
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
/// How often the checker writes `health:current` when no state changed (unless the Worker's
/// `HEALTH_HEARTBEAT_SECONDS` variable says otherwise): 288 writes a day.
pub const DEFAULT_HEARTBEAT_S: u32 = 300;
/// The shortest heartbeat the checker takes (a Cron Trigger runs once a minute).
pub const MIN_HEARTBEAT_S: u32 = 60;
/// The longest heartbeat the checker takes (answers fail open after two of them).
pub const MAX_HEARTBEAT_S: u32 = 3_600;
/// What staleness allows beyond two heartbeats: a heartbeat is written by the first round
/// after it is due (up to a minute late), and KV takes up to a minute to show a write in
/// other locations.
const STALE_MARGIN_MS: u64 = 2 * 60 * 1000;

/// A heartbeat within [`MIN_HEARTBEAT_S`]..=[`MAX_HEARTBEAT_S`].
pub const fn heartbeat_within_limits(heartbeat_s: u32) -> u32 {
    if heartbeat_s < MIN_HEARTBEAT_S {
        MIN_HEARTBEAT_S
    } else if heartbeat_s > MAX_HEARTBEAT_S {
        MAX_HEARTBEAT_S
    } else {
        heartbeat_s
    }
}

/// The age after which a snapshot written with `heartbeat_s` is ignored: one heartbeat may be
/// missed (a failed write) before answers stop trusting it. Derived, so that a longer
/// heartbeat cannot make a working checker's snapshot look stale.
pub const fn stale_after_ms(heartbeat_s: u32) -> u64 {
    2 * heartbeat_within_limits(heartbeat_s) as u64 * 1000 + STALE_MARGIN_MS
}

/// Age after which a snapshot written with the default heartbeat is ignored (12 minutes).
pub const STALE_AFTER_MS: u64 = stale_after_ms(DEFAULT_HEARTBEAT_S);

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

/// A JSON key's value as read from KV: missing, read, or there but unreadable. A corrupt
/// value is kept apart from a failed read so that it can be reported and replaced (an
/// operator repairs `health:overrides` by writing it), never an error that blocks the repair.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored<T> {
    /// The key does not exist.
    Missing,
    /// The key's value, parsed.
    Value(T),
    /// The key exists but its value does not parse: why.
    Corrupt(String),
}

impl<T> Stored<T> {
    /// Parses a key's text (`None`: the key is missing).
    pub fn parse(text: Option<&str>, parse: impl FnOnce(&str) -> Result<T, HealthError>) -> Self {
        match text.map(parse) {
            None => Self::Missing,
            Some(Ok(value)) => Self::Value(value),
            Some(Err(error)) => Self::Corrupt(error.0),
        }
    }

    /// The value, if there is a readable one.
    pub fn value(self) -> Option<T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Missing | Self::Corrupt(_) => None,
        }
    }

    /// What is wrong with the key, for a status listing: `None` unless it is corrupt.
    pub fn problem(&self, key: &str) -> Option<String> {
        match self {
            Self::Corrupt(why) => Some(format!("{key} is unreadable ({why}); writing it replaces it")),
            Self::Missing | Self::Value(_) => None,
        }
    }
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
    /// The heartbeat the checker wrote it with, in seconds ([`DEFAULT_HEARTBEAT_S`] when
    /// absent): staleness follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_s: Option<u32>,
}

/// Why a health snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthError(pub String);

impl HealthSnapshot {
    /// Parses the KV value.
    pub fn from_json(text: &str) -> Result<Self, HealthError> {
        serde_json::from_str(text).map_err(|e| HealthError(e.to_string()))
    }

    /// The age after which this snapshot is ignored, from the heartbeat it was written with.
    pub fn stale_after_ms(&self) -> u64 {
        stale_after_ms(self.heartbeat_s.unwrap_or(DEFAULT_HEARTBEAT_S))
    }

    /// Whether the snapshot is too old to trust at `now_ms` (one never written is "no data",
    /// not stale).
    pub fn is_stale(&self, now_ms: u64) -> bool {
        self.updated_at != 0 && now_ms.saturating_sub(self.updated_at) > self.stale_after_ms()
    }

    /// The snapshot as answering should use it at `now`: itself, or nothing when stale.
    pub fn view(&self, now_ms: u64) -> HealthAt<'_> {
        HealthAt { snapshot: self, now_ms, stale: self.is_stale(now_ms), value_overrides: self.overrides.keys().any(|target| target.starts_with(VALUE_PREFIX)) }
    }

    /// Fills in the state of every declared check the snapshot has no data for, as the
    /// checker would start it: healthy, except inverted checks (ROUTING.md: "a check that has
    /// no data yet counts as healthy; an inverted one as unhealthy").
    pub fn with_initial_states(mut self, checks: &BTreeMap<String, spec::HealthCheckSpec>) -> Self {
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
        use crate::health::spec::{CheckKind, HealthCheckSpec};
        let checks = BTreeMap::from([
            ("plain".to_owned(), HealthCheckSpec::new(CheckKind::Http)),
            ("inverted".to_owned(), HealthCheckSpec { inverted: true, ..HealthCheckSpec::new(CheckKind::Http) }),
            ("a".to_owned(), HealthCheckSpec { inverted: true, ..HealthCheckSpec::new(CheckKind::Http) }),
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
    fn staleness_follows_the_heartbeat_the_snapshot_was_written_with() {
        let mut snapshot = snapshot();
        assert_eq!(snapshot.stale_after_ms(), STALE_AFTER_MS, "no heartbeat recorded: the default");
        assert_eq!(STALE_AFTER_MS, 12 * 60 * 1000, "two 5-minute heartbeats and 2 minutes");
        snapshot.heartbeat_s = Some(600);
        assert_eq!(snapshot.stale_after_ms(), 22 * 60 * 1000);
        assert!(!snapshot.view(1_000_000 + 21 * 60 * 1000).stale, "one missed heartbeat is not stale yet");
        assert!(snapshot.view(1_000_000 + 22 * 60 * 1000 + 1).stale);
        // Out-of-range heartbeats (a hand-written value) are clamped: never trusted forever.
        snapshot.heartbeat_s = Some(u32::MAX);
        assert_eq!(snapshot.stale_after_ms(), stale_after_ms(MAX_HEARTBEAT_S));
        snapshot.heartbeat_s = Some(0);
        assert_eq!(snapshot.stale_after_ms(), stale_after_ms(MIN_HEARTBEAT_S));
        let json = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(HealthSnapshot::from_json(&json).unwrap().heartbeat_s, Some(0), "the field round-trips");
    }

    #[test]
    fn stored_values_tell_missing_from_corrupt() {
        assert_eq!(Stored::parse(None, overrides_from_json), Stored::Missing);
        let corrupt = Stored::parse(Some("{not json"), overrides_from_json);
        assert!(matches!(corrupt, Stored::Corrupt(_)));
        assert!(corrupt.problem(OVERRIDES_KEY).is_some_and(|problem| problem.starts_with("health:overrides is unreadable")));
        assert_eq!(corrupt.value(), None);
        let read = Stored::parse(Some(r#"{"a": {"healthy": true}}"#), overrides_from_json);
        assert_eq!(read.problem(OVERRIDES_KEY), None);
        assert_eq!(read.value().map(|overrides| overrides.len()), Some(1));
    }

    #[test]
    fn rejects_malformed_json() {
        assert!(HealthSnapshot::from_json("{").is_err());
        assert!(HealthSnapshot::from_json(r#"{"checks": {}}"#).is_err(), "updated_at is required");
    }
}
