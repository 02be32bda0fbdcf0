//! What the scheduled checker remembers between runs, and when it writes. Workers KV allows a
//! free account 1,000 writes a day, so `health:current` is written when a state changes (a
//! check's `healthy`, the copy of the overrides, the heartbeat setting) and otherwise once a
//! heartbeat ([`should_write`]): a day without flips costs 86,400 / heartbeat writes (288 with
//! the default five minutes), not one per round.
//!
//! Consecutive counts, latencies and `checked_at` move every round but are written only with
//! the next write, so the checker keeps its latest state in the isolate ([`Checker`]) and
//! starts each run from it, unless KV holds a newer one (another isolate's checker, or an
//! operator's reset). KV is eventually consistent: a read may return a value older than the
//! one this isolate wrote, and counting from it would undo rounds already counted. No I/O
//! here: the Worker passes what it read and does what it is told.

use serde::{Deserialize, Serialize};

use super::{HealthSnapshot, Stored};

/// A heartbeat is due this much before its time: runs start a little late or early (the
/// Cron Trigger's jitter), and a write due at 300 s must not wait for the next run at 360 s.
pub const HEARTBEAT_SLACK_MS: u64 = 5_000;

/// Why the checker writes `health:current` after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteReason {
    /// Nothing readable is known to be stored (missing, corrupt, or never written).
    Unwritten,
    /// A check's state (healthy or not) changed, or checks were added or removed.
    StateChanged,
    /// The copy of the overrides it carries changed.
    OverridesChanged,
    /// The heartbeat setting changed (readers derive staleness from it).
    HeartbeatChanged,
    /// The heartbeat interval has passed since the last write.
    Heartbeat,
}

/// Whether to write `next` at `now_ms`, given what was last `written` (what readers see), and
/// why. Counts, latencies and times alone never cause a write.
pub fn should_write(written: Option<&HealthSnapshot>, next: &HealthSnapshot, now_ms: u64, heartbeat_s: u32) -> Option<WriteReason> {
    let Some(written) = written else { return Some(WriteReason::Unwritten) };
    let same_states = written.checks.len() == next.checks.len()
        && written.checks.iter().zip(&next.checks).all(|((id, before), (next_id, after))| id == next_id && before.healthy == after.healthy);
    if !same_states {
        return Some(WriteReason::StateChanged);
    }
    if written.overrides != next.overrides {
        return Some(WriteReason::OverridesChanged);
    }
    if written.heartbeat_s != next.heartbeat_s {
        return Some(WriteReason::HeartbeatChanged);
    }
    let heartbeat_ms = u64::from(super::heartbeat_within_limits(heartbeat_s)) * 1000;
    (now_ms.saturating_add(HEARTBEAT_SLACK_MS) >= written.updated_at.saturating_add(heartbeat_ms)).then_some(WriteReason::Heartbeat)
}

/// This isolate's checker: its latest state and what it last wrote, kept between runs.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    /// The state after the last round, written or not.
    latest: Option<HealthSnapshot>,
    /// The last state known to be in KV (written here, or read newer): what readers see.
    written: Option<HealthSnapshot>,
    /// What this isolate's checker has done.
    counts: CheckerCounts,
}

/// What an isolate's checker has done since the isolate started (`/admin/health`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerCounts {
    /// Scheduled runs.
    pub runs: u64,
    /// Rounds that probed something.
    pub rounds: u64,
    /// Probes made.
    pub probes: u64,
    /// Probes deferred because they could not finish within the minute.
    pub deferred_late: u64,
    /// Probes deferred because the invocation's subrequests were spent.
    pub deferred_over_budget: u64,
    /// KV reads made by runs.
    pub kv_reads: u64,
    /// Writes of `health:current` made by runs.
    pub kv_writes: u64,
    /// Rounds that probed and did not write.
    pub writes_skipped: u64,
    /// Why the last write was made.
    pub last_write: Option<WriteReason>,
    /// When the last run ended (ms since the epoch).
    pub last_run_ended_at: Option<u64>,
}

impl Checker {
    /// The state a run starts from, given what it read from KV (`None`: the read failed):
    /// the newer, by `updated_at`, of this checker's latest state and the stored one.
    /// Remembers what readers now see, so that a missing or corrupt value is rewritten at
    /// once.
    pub fn start(&mut self, stored: Option<Stored<HealthSnapshot>>) -> HealthSnapshot {
        self.counts.runs += 1;
        let stored = match stored {
            None => None,
            Some(Stored::Value(snapshot)) => Some(snapshot),
            Some(Stored::Missing | Stored::Corrupt(_)) => {
                self.written = None;
                None
            }
        };
        if let Some(snapshot) = &stored {
            if self.written.as_ref().is_none_or(|written| snapshot.updated_at >= written.updated_at) {
                self.written = Some(snapshot.clone());
            }
        }
        match (self.latest.take(), stored) {
            (Some(own), Some(stored)) if stored.updated_at > own.updated_at => stored,
            (Some(own), _) => own,
            (None, Some(stored)) => stored,
            (None, None) => HealthSnapshot::default(),
        }
    }

    /// After a round that produced `next` at `now_ms`: remembers it as the latest state and
    /// says whether to write it (the caller then reports the write with [`Checker::wrote`]).
    pub fn after_round(&mut self, next: &HealthSnapshot, now_ms: u64, heartbeat_s: u32) -> Option<WriteReason> {
        self.counts.rounds += 1;
        self.latest = Some(next.clone());
        let reason = should_write(self.written.as_ref(), next, now_ms, heartbeat_s);
        if reason.is_none() {
            self.counts.writes_skipped += 1;
        }
        reason
    }

    /// After a run that probed nothing (every check has a longer interval than a minute, or
    /// everything was deferred): `state` (the run's starting state, as of `now_ms`) is
    /// written if the heartbeat is due or the overrides' copy changed, so that readers do not
    /// take a working checker's snapshot for a stopped one's.
    pub fn idle(&mut self, state: &HealthSnapshot, now_ms: u64, heartbeat_s: u32) -> Option<WriteReason> {
        let reason = should_write(self.written.as_ref(), state, now_ms, heartbeat_s)?;
        self.latest = Some(state.clone());
        Some(reason)
    }

    /// `snapshot` was written for `reason`.
    pub fn wrote(&mut self, snapshot: &HealthSnapshot, reason: WriteReason) {
        self.counts.kv_writes += 1;
        self.counts.last_write = Some(reason);
        self.written = Some(snapshot.clone());
    }

    /// Counts a round's probes and deferrals.
    pub fn probed(&mut self, probes: usize, late: usize, over_budget: usize) {
        self.counts.probes += probes as u64;
        self.counts.deferred_late += late as u64;
        self.counts.deferred_over_budget += over_budget as u64;
    }

    /// Counts KV reads made by a run.
    pub fn read(&mut self, reads: u64) {
        self.counts.kv_reads += reads;
    }

    /// The run ended at `now_ms`.
    pub fn ended(&mut self, now_ms: u64) {
        self.counts.last_run_ended_at = Some(now_ms);
    }

    /// What the checker has done.
    pub fn counts(&self) -> &CheckerCounts {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::health::machine::{self, ProbeResult};
    use crate::health::schedule::{Limits, Run};
    use crate::health::spec::{CheckKind, HealthCheckSpec, Host};
    use crate::health::{CheckState, Override, DEFAULT_HEARTBEAT_S};

    const HEARTBEAT_MS: u64 = DEFAULT_HEARTBEAT_S as u64 * 1000;

    fn state(healthy: bool, consecutive: u32) -> CheckState {
        CheckState { healthy, consecutive, ..CheckState::default() }
    }

    fn snapshot(at: u64, states: &[(&str, CheckState)]) -> HealthSnapshot {
        HealthSnapshot {
            updated_at: at,
            checks: states.iter().map(|(id, state)| ((*id).to_owned(), state.clone())).collect(),
            heartbeat_s: Some(DEFAULT_HEARTBEAT_S),
            ..HealthSnapshot::default()
        }
    }

    #[test]
    fn writes_on_changes_and_heartbeats_only() {
        let written = snapshot(0, &[("a", state(true, 0)), ("b", state(true, 0))]);
        let at = |ms| snapshot(ms, &[("a", state(true, 2)), ("b", state(true, 0))]);
        assert_eq!(should_write(None, &at(10_000), 10_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::Unwritten));
        assert_eq!(should_write(Some(&written), &at(10_000), 10_000, DEFAULT_HEARTBEAT_S), None, "a count alone is not written");
        let flipped = snapshot(10_000, &[("a", state(false, 0)), ("b", state(true, 0))]);
        assert_eq!(should_write(Some(&written), &flipped, 10_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::StateChanged));
        let added = snapshot(10_000, &[("a", state(true, 0)), ("b", state(true, 0)), ("c", state(true, 0))]);
        assert_eq!(should_write(Some(&written), &added, 10_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::StateChanged));
        let mut forced = at(10_000);
        forced.overrides.insert("a".into(), Override { healthy: false, reason: String::new(), set_at: None });
        assert_eq!(should_write(Some(&written), &forced, 10_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::OverridesChanged));
        let mut longer = at(10_000);
        longer.heartbeat_s = Some(600);
        assert_eq!(should_write(Some(&written), &longer, 10_000, 600), Some(WriteReason::HeartbeatChanged));
        // The heartbeat: due at 300 s, a few seconds early being close enough.
        assert_eq!(should_write(Some(&written), &at(290_000), 290_000, DEFAULT_HEARTBEAT_S), None);
        assert_eq!(should_write(Some(&written), &at(296_000), 296_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::Heartbeat));
    }

    #[test]
    fn a_day_without_flips_costs_one_write_per_heartbeat() {
        // One check every 10 s: six rounds a minute, 8,640 a day. Each writes only when due.
        let mut checker = Checker::default();
        let mut writes = 0;
        let mut base = checker.start(Some(Stored::Missing));
        for round in 0..8_640u64 {
            let now = round * 10_000;
            let next = HealthSnapshot { updated_at: now, ..snapshot(now, &[("a", state(true, 0))]) };
            if let Some(reason) = checker.after_round(&next, now, DEFAULT_HEARTBEAT_S) {
                checker.wrote(&next, reason);
                writes += 1;
            }
            base = next;
        }
        assert_eq!(base.updated_at, 86_390_000);
        assert_eq!(writes, 288, "one write a heartbeat: 86,400 s / 300 s");
        assert_eq!(checker.counts().kv_writes, 288);
        assert_eq!(checker.counts().writes_skipped, 8_640 - 288);
        assert_eq!(86_400_000 / HEARTBEAT_MS, 288);
    }

    #[test]
    fn a_run_starts_from_the_newer_of_its_own_state_and_kv() {
        let mut checker = Checker::default();
        assert_eq!(checker.start(None), HealthSnapshot::default(), "nothing known: no data");
        // The checker counted two failures at 120 s but wrote only the state at 60 s.
        let written = snapshot(60_000, &[("a", state(true, 1))]);
        checker.wrote(&written, WriteReason::Unwritten);
        let latest = snapshot(120_000, &[("a", state(true, 2))]);
        assert_eq!(checker.after_round(&latest, 120_000, DEFAULT_HEARTBEAT_S), None);
        // KV returns the older value it holds (or an even older one, eventually consistent):
        // the run counts on from the checker's own state.
        for stale in [written.clone(), snapshot(0, &[("a", state(true, 0))])] {
            let mut again = checker.clone();
            assert_eq!(again.start(Some(Stored::Value(stale))).checks["a"].consecutive, 2);
            assert_eq!(again.written.as_ref().map(|w| w.updated_at), Some(60_000), "what readers see is not moved back");
        }
        // A newer value in KV (another isolate's checker, an operator's reset) wins.
        let reset = snapshot(150_000, &[]);
        let mut again = checker.clone();
        assert_eq!(again.start(Some(Stored::Value(reset.clone()))), reset);
        // A failed read: the checker's own state.
        let mut again = checker.clone();
        assert_eq!(again.start(None).updated_at, 120_000);
        // A missing or corrupt value is written at the end of the next round, whatever changed.
        for stored in [Stored::Missing, Stored::Corrupt("expected value".into())] {
            let mut again = checker.clone();
            let base = again.start(Some(stored));
            assert_eq!(base.checks["a"].consecutive, 2);
            assert_eq!(again.after_round(&base, 130_000, DEFAULT_HEARTBEAT_S), Some(WriteReason::Unwritten));
        }
    }

    #[test]
    fn runs_that_probe_nothing_still_write_heartbeats() {
        // Hourly checks: 59 runs in 60 probe nothing, yet the snapshot must not go stale.
        let mut checker = Checker::default();
        let written = snapshot(0, &[("hourly", state(true, 0))]);
        checker.wrote(&written, WriteReason::Unwritten);
        let mut writes = Vec::new();
        for minute in 1..60u64 {
            let now = minute * 60_000;
            let base = checker.start(Some(Stored::Value(written.clone())));
            let idle = HealthSnapshot { updated_at: now, ..base };
            if let Some(reason) = checker.idle(&idle, now, DEFAULT_HEARTBEAT_S) {
                checker.wrote(&idle, reason);
                writes.push(minute);
            }
        }
        assert_eq!(writes, vec![5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
        assert_eq!(checker.counts().rounds, 0);
    }

    fn check(interval: u32, timeout: u32) -> HealthCheckSpec {
        HealthCheckSpec { host: Host::parse("192.0.2.1").ok(), interval: Some(interval), timeout: Some(timeout), ..HealthCheckSpec::new(CheckKind::Http) }
    }

    /// What a simulation saw: probe times per check, the writes with their reasons, the final state.
    struct Simulated {
        probes: BTreeMap<String, Vec<u64>>,
        writes: Vec<(u64, WriteReason)>,
        last: HealthSnapshot,
    }

    /// Runs `minutes` scheduled runs against endpoints that answer `up(check, time)` after
    /// `latency_ms`, on a virtual clock.
    fn simulate(
        checks: &BTreeMap<String, HealthCheckSpec>,
        limits: Limits,
        minutes: u64,
        start_delay_ms: u64,
        latency_ms: u64,
        up: impl Fn(&str, u64) -> bool,
    ) -> Simulated {
        let mut checker = Checker::default();
        let mut kv: Option<HealthSnapshot> = None;
        let mut probes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut writes = Vec::new();
        let mut last = HealthSnapshot::default();
        for minute in 0..minutes {
            let scheduled = minute * 60_000;
            let mut now = scheduled + start_delay_ms;
            let stored = Some(kv.clone().map_or(Stored::Missing, Stored::Value));
            let mut previous = checker.start(stored);
            let mut run = Run::new(checks, scheduled, &previous.checks, limits);
            let mut spent = 0;
            while let Some(step) = run.next(checks, &previous.checks, now) {
                now = now.max(step.start_ms);
                let admitted = &step.admission.probes;
                assert!(admitted.len() <= limits.subrequests as usize);
                spent += admitted.len();
                if admitted.is_empty() {
                    continue;
                }
                // Six at a time, each taking `latency_ms`: the round ends when the last ends.
                let waves = admitted.len().div_ceil(limits.connections) as u64;
                let results: Vec<(String, ProbeResult)> = admitted
                    .iter()
                    .map(|id| {
                        probes.entry(id.clone()).or_default().push(now);
                        (id.clone(), ProbeResult { success: up(id, now), latency_ms: Some(latency_ms as u32) })
                    })
                    .collect();
                now += waves * latency_ms;
                assert!(now <= scheduled + 60_000, "a round ran past its minute: {now} > {}", scheduled + 60_000);
                let (next, _) = machine::advance(checks, &previous, &results, now);
                let next = HealthSnapshot { heartbeat_s: Some(DEFAULT_HEARTBEAT_S), ..next };
                if let Some(reason) = checker.after_round(&next, now, DEFAULT_HEARTBEAT_S) {
                    checker.wrote(&next, reason);
                    kv = Some(next.clone());
                    writes.push((now, reason));
                }
                previous = next;
            }
            let kv_ops = 3 + writes.iter().filter(|(at, _)| *at >= scheduled).count();
            assert!(spent + kv_ops <= limits.subrequests as usize, "minute {minute}: {spent} probes and {kv_ops} KV operations");
            last = previous;
        }
        Simulated { probes, writes, last }
    }

    #[test]
    fn checks_over_the_free_plan_take_turns() {
        // 100 one-minute checks on the free plan: 50 subrequests, 4 kept for KV.
        let checks: BTreeMap<String, HealthCheckSpec> = (0..100).map(|n| (format!("c{n:03}"), check(60, 2))).collect();
        let limits = crate::health::schedule::Plan::Free.limits();
        let Simulated { probes, .. } = simulate(&checks, limits, 6, 200, 50, |_, _| true);
        let counts: Vec<usize> = checks.keys().map(|id| probes.get(id).map_or(0, Vec::len)).collect();
        // 46 a minute, 276 in six minutes: every check probed twice or three times.
        assert_eq!(counts.iter().sum::<usize>(), 276);
        assert!(counts.iter().all(|n| (2..=3).contains(n)), "round robin: {counts:?}");
        // Round robin: no check waits more than three minutes for its next probe.
        for (id, times) in &probes {
            assert!(times[0] < 180_000, "{id} first probed at {}", times[0]);
            assert!(times.windows(2).all(|pair| pair[1] - pair[0] <= 180_000), "{id}: {times:?}");
        }
    }

    #[test]
    fn fast_checks_keep_their_counts_between_unwritten_rounds_and_runs() {
        // A 10 s check, threshold 3: it fails from 40 s on. Its count carries from round to
        // round and from one run into the next though nothing was written in between.
        let mut spec = check(10, 2);
        spec.threshold = Some(3);
        let checks = BTreeMap::from([("fast".to_owned(), spec)]);
        let limits = crate::health::schedule::Plan::Free.limits();
        let Simulated { probes, writes, last } = simulate(&checks, limits, 2, 100, 300, |_, now| now < 40_000);
        assert_eq!(probes["fast"].len(), 12, "six rounds a minute");
        assert_eq!(writes.iter().map(|(_, reason)| *reason).collect::<Vec<_>>(), vec![WriteReason::Unwritten, WriteReason::StateChanged]);
        // Failures at 40, 50 and 60 s: flipped in the first round of the second run.
        assert!((60_000..70_000).contains(&writes[1].0), "{writes:?}");
        assert!(!last.checks["fast"].healthy);
    }

    #[test]
    fn a_late_run_defers_what_cannot_finish_in_its_minute() {
        // Timeouts of 20 s: a run starting 45 s late cannot finish any probe within its
        // minute, so it defers them all rather than overlap the next run.
        let checks = BTreeMap::from([("slow".to_owned(), check(60, 20)), ("quick".to_owned(), check(60, 2))]);
        let limits = crate::health::schedule::Plan::Free.limits();
        let mut run = Run::new(&checks, 0, &BTreeMap::new(), limits);
        let step = run.next(&checks, &BTreeMap::new(), 45_000).unwrap();
        assert_eq!(step.admission.probes, vec!["quick".to_owned()]);
        assert_eq!(step.admission.late, vec!["slow".to_owned()]);
        assert!(run.next(&checks, &BTreeMap::new(), 47_000).is_none());
    }
}
