//! The health-check state machine, with no I/O: a check's state moves only after `threshold`
//! consecutive results disagree with it (ROUTING.md "Health"), inverted checks read results
//! the other way round, disabled checks are always healthy, and calculated checks are healthy
//! when at least `min_healthy` of their children are. The scheduled checker feeds results in
//! and writes the states to the snapshot; time comes in as an argument.

use std::collections::BTreeMap;

use super::spec::{CheckKind, HealthCheckSpec};
use super::{CheckState, HealthSnapshot};

/// Consecutive results needed to flip a state when the check does not say (Route 53's default).
pub const DEFAULT_THRESHOLD: u32 = 3;

/// One probe's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeResult {
    /// 2xx/3xx in time (HTTP), or a connection made in time (TCP), and the search string found.
    pub success: bool,
    /// How long the probe took, in ms.
    pub latency_ms: Option<u32>,
}

/// A check's state before any result: healthy, or unhealthy for an inverted check.
pub fn initial(spec: &HealthCheckSpec) -> CheckState {
    CheckState { healthy: spec.disabled || !spec.inverted, since: None, latency_ms: None, consecutive: 0, last_success: None, checked_at: None }
}

/// Applies one result at `now_ms`; returns the new state and whether it flipped (to log once).
pub fn apply(spec: &HealthCheckSpec, previous: Option<&CheckState>, result: ProbeResult, now_ms: u64) -> (CheckState, bool) {
    let mut state = previous.cloned().unwrap_or_else(|| initial(spec));
    state.latency_ms = result.latency_ms;
    state.last_success = Some(result.success);
    state.checked_at = Some(now_ms);
    if spec.disabled {
        let flipped = !state.healthy;
        state.healthy = true;
        state.consecutive = 0;
        if flipped {
            state.since = Some(now_ms);
        }
        return (state, flipped);
    }
    let reads_healthy = result.success != spec.inverted;
    if reads_healthy == state.healthy {
        state.consecutive = 0;
        return (state, false);
    }
    state.consecutive += 1;
    if state.consecutive >= spec.threshold.unwrap_or(DEFAULT_THRESHOLD).max(1) {
        state.healthy = reads_healthy;
        state.consecutive = 0;
        state.since = Some(now_ms);
        return (state, true);
    }
    (state, false)
}

/// A calculated check's state from its children's: healthy when at least `min_healthy` of
/// them are (all of them when unset, so AND is the default and `min_healthy = 1` is OR).
/// Children with no state yet count as healthy.
pub fn calculated(spec: &HealthCheckSpec, states: &BTreeMap<String, CheckState>) -> bool {
    if spec.disabled {
        return true;
    }
    let healthy = spec.children.iter().filter(|child| states.get(*child).is_none_or(|state| state.healthy)).count();
    let needed = spec.min_healthy.map_or(spec.children.len(), |n| n as usize);
    let healthy = healthy >= needed;
    healthy != spec.inverted
}

/// A check whose state changed in a round, for the log line said once per change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    /// The check.
    pub id: String,
    /// Its new state.
    pub healthy: bool,
}

/// One round's results applied to the previous snapshot at `now_ms`: probed checks move by
/// the state machine, checks not probed this round keep their state, calculated checks are
/// derived from their children's new states, and checks no longer declared are dropped.
/// Overrides live under their own key and are not carried here.
pub fn advance(
    checks: &BTreeMap<String, HealthCheckSpec>,
    previous: &HealthSnapshot,
    results: &[(String, ProbeResult)],
    now_ms: u64,
) -> (HealthSnapshot, Vec<Flip>) {
    let mut next = HealthSnapshot { updated_at: now_ms, checks: BTreeMap::new(), overrides: BTreeMap::new(), heartbeat_s: previous.heartbeat_s };
    let mut flips = Vec::new();
    for (id, spec) in checks.iter().filter(|(_, spec)| spec.kind != CheckKind::Calculated) {
        let earlier = previous.checks.get(id);
        let state = match results.iter().find(|(probed, _)| probed == id) {
            Some((_, result)) => {
                let (state, flipped) = apply(spec, earlier, *result, now_ms);
                if flipped {
                    flips.push(Flip { id: id.clone(), healthy: state.healthy });
                }
                state
            }
            None => earlier.cloned().unwrap_or_else(|| initial(spec)),
        };
        next.checks.insert(id.clone(), state);
    }
    for (id, spec) in checks.iter().filter(|(_, spec)| spec.kind == CheckKind::Calculated) {
        let healthy = calculated(spec, &next.checks);
        let mut state = previous.checks.get(id).cloned().unwrap_or_else(|| initial(spec));
        if state.healthy != healthy {
            state.since = Some(now_ms);
            flips.push(Flip { id: id.clone(), healthy });
        }
        state.healthy = healthy;
        state.checked_at = Some(now_ms);
        next.checks.insert(id.clone(), state);
    }
    (next, flips)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(threshold: Option<u32>, inverted: bool) -> HealthCheckSpec {
        let host = crate::health::spec::Host::parse("192.0.2.1").ok();
        HealthCheckSpec { host, threshold, inverted, ..HealthCheckSpec::new(CheckKind::Http) }
    }

    fn run(spec: &HealthCheckSpec, results: &[bool]) -> Vec<(bool, bool)> {
        let mut state: Option<CheckState> = None;
        results
            .iter()
            .enumerate()
            .map(|(minute, success)| {
                let (next, flipped) = apply(spec, state.as_ref(), ProbeResult { success: *success, latency_ms: Some(5) }, minute as u64 * 60_000);
                let healthy = next.healthy;
                state = Some(next);
                (healthy, flipped)
            })
            .collect()
    }

    #[test]
    fn flips_only_after_threshold_consecutive_results() {
        let check = spec(None, false);
        let states = run(&check, &[false, false, true, false, false, false, true, true, true]);
        let healthy: Vec<bool> = states.iter().map(|s| s.0).collect();
        // Two failures, a success resets the count, then three failures flip it; three
        // successes flip it back.
        assert_eq!(healthy, vec![true, true, true, true, true, false, false, false, true]);
        let flips: Vec<usize> = states.iter().enumerate().filter(|(_, s)| s.1).map(|(i, _)| i).collect();
        assert_eq!(flips, vec![5, 8], "each change is reported once");
    }

    #[test]
    fn threshold_one_follows_every_result() {
        let healthy: Vec<bool> = run(&spec(Some(1), false), &[false, true, false]).iter().map(|s| s.0).collect();
        assert_eq!(healthy, vec![false, true, false]);
    }

    #[test]
    fn inverted_checks_start_unhealthy_and_read_results_backwards() {
        let check = spec(Some(2), true);
        assert!(!initial(&check).healthy, "no data: an inverted check counts as unhealthy");
        let healthy: Vec<bool> = run(&check, &[false, false, true, true]).iter().map(|s| s.0).collect();
        assert_eq!(healthy, vec![false, true, true, false]);
    }

    #[test]
    fn disabled_checks_are_always_healthy() {
        let mut check = spec(Some(1), false);
        check.disabled = true;
        assert!(run(&check, &[false, false, false]).iter().all(|s| s.0));
    }

    #[test]
    fn results_record_latency_and_time() {
        let (state, _) = apply(&spec(None, false), None, ProbeResult { success: true, latency_ms: Some(42) }, 1_000);
        assert_eq!((state.latency_ms, state.checked_at, state.last_success), (Some(42), Some(1_000), Some(true)));
    }

    #[test]
    fn rounds_advance_probed_keep_others_and_derive_calculated() {
        let mut both = spec(None, false);
        both.kind = CheckKind::Calculated;
        both.children = vec!["a".into(), "b".into()];
        let checks = BTreeMap::from([("a".to_owned(), spec(Some(2), false)), ("b".to_owned(), spec(Some(2), false)), ("both".to_owned(), both)]);
        let down = ProbeResult { success: false, latency_ms: Some(3) };
        let mut snapshot = HealthSnapshot::default();
        snapshot.checks.insert("gone".into(), initial(&spec(None, false)));
        // Minute 0: a fails once (no flip yet); b is not probed this round.
        let (next, flips) = advance(&checks, &snapshot, &[("a".to_owned(), down)], 60_000);
        assert!(flips.is_empty());
        assert_eq!(next.updated_at, 60_000);
        assert_eq!(next.checks["a"].consecutive, 1);
        assert!(next.checks["b"].healthy && next.checks["b"].checked_at.is_none(), "b keeps its state");
        assert!(!next.checks.contains_key("gone"), "undeclared checks are dropped");
        // Minute 1: a fails again and flips; the calculated AND flips with it, once.
        let (next, flips) = advance(&checks, &next, &[("a".to_owned(), down)], 120_000);
        assert_eq!(flips, vec![Flip { id: "a".into(), healthy: false }, Flip { id: "both".into(), healthy: false }]);
        assert_eq!(next.checks["both"].since, Some(120_000));
        // Minute 2: a still fails: nothing more to log.
        let (_, flips) = advance(&checks, &next, &[("a".to_owned(), down)], 180_000);
        assert!(flips.is_empty(), "a flip is reported once, not on every run");
    }

    #[test]
    fn calculated_checks_count_healthy_children() {
        let mut check = spec(None, false);
        check.kind = CheckKind::Calculated;
        check.children = vec!["a".into(), "b".into(), "c".into()];
        let state = |healthy| CheckState { healthy, ..initial(&spec(None, false)) };
        let states: BTreeMap<String, CheckState> = [("a".to_owned(), state(true)), ("b".to_owned(), state(false))].into_iter().collect();
        assert!(!calculated(&check, &states), "AND by default: b is down");
        check.min_healthy = Some(2);
        assert!(calculated(&check, &states), "a, and c without data, make two");
        check.min_healthy = Some(3);
        assert!(!calculated(&check, &states));
        check.inverted = true;
        assert!(calculated(&check, &states));
    }
}
