//! When each check runs, within the platform's limits. Cron Triggers fire at most once a
//! minute, so a scheduled run covers its minute in rounds: the rounds are as far apart as the
//! shortest interval among the checks (at least [`MIN_INTERVAL_S`]), and a check runs in each
//! round where its own interval has come round again. A check whose interval is longer than a
//! minute runs in the first round of every `ceil(interval / 60)`-th minute, or in the first
//! round of any run once it is overdue (deferred, or never probed).
//!
//! No run overlaps the next: a check is only planned in rounds where its timeout ends within
//! the minute, and a round admits ([`admit`]) only the probes that finish before the minute
//! ends in the worst case (every probe taking its whole timeout, at most [`CONNECTIONS`] in
//! flight). A run that starts late folds the rounds it missed into the next one
//! ([`catch_up`]) and defers what can no longer finish. Every invocation stays within the
//! plan's subrequests ([`Limits`]: 50 on the free plan), the KV operations it may make set
//! aside first; probes that do not fit are deferred, the least recently probed going first
//! next time, so every check gets its turn (round robin).
//!
//! A Durable Object alarm could fire more often, but it would move health state out of KV
//! into a second storage system and cost a Durable Object per deployment; ten-second rounds
//! inside the minute give Route 53's fastest interval without either.

use std::collections::BTreeMap;

use super::spec::HealthCheckSpec;
pub use super::spec::{DEFAULT_INTERVAL_S, DEFAULT_PROBE_TIMEOUT_S, MAX_INTERVAL_S, MAX_PROBE_TIMEOUT_S, MIN_INTERVAL_S};
use super::CheckState;

/// The length of one scheduled run: the Cron Trigger's period.
pub const RUN_SECONDS: u32 = 60;
/// The same in ms.
const RUN_MS: u64 = RUN_SECONDS as u64 * 1000;
/// Simultaneous open connections a Worker invocation may have, on every plan; the checker
/// keeps at most this many probes in flight.
pub const CONNECTIONS: usize = 6;
/// KV operations a run may make besides its writes: the manifest (a cold isolate), the health
/// state and the overrides. Counted against the subrequest limit, in case KV calls count
/// towards it (they are also under KV's own 1,000 operations per invocation).
pub const KV_READS_PER_RUN: u32 = 3;
/// KV operations a round may make: one write of `health:current`.
pub const KV_WRITES_PER_ROUND: u32 = 1;

/// The Workers plan, which sets how many subrequests one invocation may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Workers Free: 50 subrequests per invocation.
    Free,
    /// Workers Paid: 10,000 subrequests per invocation.
    Paid,
}

impl Plan {
    /// `free` or `paid` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "free" => Some(Self::Free),
            "paid" => Some(Self::Paid),
            _ => None,
        }
    }

    /// The plan's limits (Cloudflare's Workers limits: subrequests per invocation, and six
    /// simultaneous open connections on both plans).
    pub fn limits(self) -> Limits {
        let subrequests = match self {
            Self::Free => 50,
            Self::Paid => 10_000,
        };
        Limits { subrequests, connections: CONNECTIONS }
    }

    /// The plan's name as the variable and the flag spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Paid => "paid",
        }
    }
}

/// What one invocation of the checker may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Subrequests (probes and, to be safe, KV operations).
    pub subrequests: u32,
    /// Probes in flight at once.
    pub connections: usize,
}

impl Limits {
    /// The limits from the Worker's variables: `WORKERS_PLAN` (`free`, the default, or
    /// `paid`) and `SUBREQUEST_LIMIT` (a number, replacing the plan's). Unusable values are
    /// reported and the free plan's limits used.
    pub fn from_vars(plan: Option<&str>, subrequest_limit: Option<&str>) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let plan = match plan.map(|text| (text, Plan::parse(text))) {
            None => Plan::Free,
            Some((_, Some(plan))) => plan,
            Some((text, None)) => {
                problems.push(format!("WORKERS_PLAN {text:?} is neither free nor paid: using the free plan's limits"));
                Plan::Free
            }
        };
        let mut limits = plan.limits();
        if let Some(text) = subrequest_limit {
            match text.trim().parse::<u32>() {
                Ok(limit) if limit > 0 => limits.subrequests = limit,
                _ => problems.push(format!("SUBREQUEST_LIMIT {text:?} is not a positive number: using {}", limits.subrequests)),
            }
        }
        (limits, problems)
    }

    /// Subrequests left for probes in a run of `rounds` rounds, its KV operations set aside.
    pub fn probe_budget(&self, rounds: usize) -> u32 {
        let rounds = u32::try_from(rounds).unwrap_or(u32::MAX);
        self.subrequests.saturating_sub(KV_READS_PER_RUN.saturating_add(rounds.saturating_mul(KV_WRITES_PER_ROUND)))
    }
}

/// One round of probes within a scheduled run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// Seconds after the run's scheduled time.
    pub offset_s: u32,
    /// The checks probed in this round (calculated checks are never probed).
    pub checks: Vec<String>,
}

/// A check's interval in seconds, within the allowed range.
pub fn interval(spec: &HealthCheckSpec) -> u32 {
    spec.interval.unwrap_or(DEFAULT_INTERVAL_S).clamp(MIN_INTERVAL_S, MAX_INTERVAL_S)
}

/// A check's probe timeout in seconds, within the allowed range.
pub fn timeout(spec: &HealthCheckSpec) -> u32 {
    spec.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT_S).clamp(1, MAX_PROBE_TIMEOUT_S)
}

/// Whether a check is measured by probing (as opposed to calculated from other checks).
pub fn is_probed(spec: &HealthCheckSpec) -> bool {
    spec.kind.is_probed()
}

/// The rounds of the run scheduled at `scheduled_ms` (ms since the epoch), given the checks'
/// last states (for overdue checks). Empty when no check is due this minute.
pub fn plan(checks: &BTreeMap<String, HealthCheckSpec>, scheduled_ms: u64, states: &BTreeMap<String, CheckState>) -> Vec<Round> {
    plan_rounds(checks, scheduled_ms, states, true)
}

/// [`plan`], optionally ignoring whether the timeouts fit in the minute (to tell what they cost).
fn plan_rounds(checks: &BTreeMap<String, HealthCheckSpec>, scheduled_ms: u64, states: &BTreeMap<String, CheckState>, fit: bool) -> Vec<Round> {
    let probed: Vec<(&String, u32, u32)> = checks.iter().filter(|(_, spec)| is_probed(spec)).map(|(id, spec)| (id, interval(spec), timeout(spec))).collect();
    let Some(round) = probed.iter().map(|(_, seconds, _)| (*seconds).min(RUN_SECONDS)).min() else {
        return Vec::new();
    };
    let minute = scheduled_ms / RUN_MS;
    (0..RUN_SECONDS)
        .step_by(round as usize)
        .map(|offset_s| {
            let checks = probed
                .iter()
                .filter(|(id, seconds, timeout_s)| {
                    let overdue = || overdue(*seconds, states.get(id.as_str()).and_then(|state| state.checked_at), scheduled_ms);
                    // No run overlaps the next: a probe starting here must end within the minute.
                    (!fit || offset_s + timeout_s <= RUN_SECONDS) && (due(*seconds, offset_s, round, minute) || (offset_s == 0 && overdue()))
                })
                .map(|(id, _, _)| (*id).clone())
                .collect();
            Round { offset_s, checks }
        })
        .filter(|round| !round.checks.is_empty())
        .collect()
}

/// The rounds still to run when the run starts `elapsed_s` after its scheduled time (a late
/// start, or a slow round before): a round whose successor's time has already come is not
/// run on its own; its checks join the first round that is run, so nothing is skipped (what
/// can no longer finish in the minute is deferred by [`admit`]).
pub fn catch_up(rounds: Vec<Round>, elapsed_s: u32) -> Vec<Round> {
    let offsets: Vec<u32> = rounds.iter().map(|round| round.offset_s).collect();
    let mut pending: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for (index, mut round) in rounds.into_iter().enumerate() {
        let superseded = offsets.get(index + 1).is_some_and(|next| *next <= elapsed_s);
        for id in round.checks.drain(..) {
            if !pending.contains(&id) {
                pending.push(id);
            }
        }
        if !superseded {
            round.checks = std::mem::take(&mut pending);
            kept.push(round);
        }
    }
    kept
}

/// Whether a check with `interval_s` is due in the round at `offset_s` of `minute`: a
/// multiple of its interval falls within the round (`(offset - round, offset]`).
fn due(interval_s: u32, offset_s: u32, round_s: u32, minute: u64) -> bool {
    if interval_s > RUN_SECONDS {
        let every = u64::from(interval_s.div_ceil(RUN_SECONDS));
        return offset_s == 0 && minute.is_multiple_of(every);
    }
    offset_s % interval_s < round_s
}

/// Whether a check with an interval over a minute missed its turn: never probed (new, or
/// deferred before its first probe), or last probed more than a minute past its interval
/// ago (deferred for lack of subrequests or time).
fn overdue(interval_s: u32, checked_at: Option<u64>, scheduled_ms: u64) -> bool {
    interval_s > RUN_SECONDS && checked_at.is_none_or(|at| scheduled_ms.saturating_sub(at) >= u64::from(interval_s) * 1000 + RUN_MS)
}

/// Which probes of a round to start, and which to defer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    /// The checks to probe, in the order to start them.
    pub probes: Vec<String>,
    /// Checks deferred because they could not finish before the minute ends.
    pub late: Vec<String>,
    /// Checks deferred because the invocation's subrequests are spent.
    pub over_budget: Vec<String>,
}

/// Admits a round's `candidates` (id and timeout in seconds, most deserving first) starting
/// `start_ms` after the run's scheduled time: each admitted probe takes a connection (at most
/// `connections` in flight, the next waiting for the first to end) and, in the worst case,
/// its whole timeout; a probe is admitted only if it then ends within the minute and the
/// `budget` of subrequests lasts. Probes started in this order on a pool of `connections`
/// end no later than these worst-case times whatever their real durations (a shorter probe
/// only frees its connection earlier).
pub fn admit(candidates: &[(String, u32)], start_ms: u64, connections: usize, budget: u32) -> Admission {
    let mut free_at = vec![start_ms; connections.max(1)];
    let mut admission = Admission::default();
    let mut budget = budget;
    for (id, timeout_s) in candidates {
        if budget == 0 {
            admission.over_budget.push(id.clone());
            continue;
        }
        let Some(slot) = free_at.iter_mut().min() else { break };
        let ends = *slot + u64::from(*timeout_s) * 1000;
        if ends > RUN_MS {
            admission.late.push(id.clone());
            continue;
        }
        *slot = ends;
        budget -= 1;
        admission.probes.push(id.clone());
    }
    admission
}

/// The order a round's checks are admitted in: the least recently probed first (never
/// probed before all), so that checks deferred once go first next time.
pub fn by_last_probe(checks: &mut [String], states: &BTreeMap<String, CheckState>) {
    checks.sort_by_cached_key(|id| (states.get(id).and_then(|state| state.checked_at), id.clone()));
}

/// One scheduled run as it goes: its rounds, and the subrequests it has left. It does no
/// I/O: the Worker asks it for the next round at the current time, waits until the round's
/// time, probes what it admits, and asks again.
#[derive(Debug, Clone)]
pub struct Run {
    scheduled_ms: u64,
    rounds: Vec<Round>,
    budget: u32,
    connections: usize,
}

/// A round to run now (or at `start_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// When to start the round (ms since the epoch).
    pub start_ms: u64,
    /// Seconds after the run's scheduled time the round was planned for.
    pub offset_s: u32,
    /// What to probe and what is deferred.
    pub admission: Admission,
}

impl Run {
    /// The run scheduled at `scheduled_ms`, within `limits`.
    pub fn new(checks: &BTreeMap<String, HealthCheckSpec>, scheduled_ms: u64, states: &BTreeMap<String, CheckState>, limits: Limits) -> Self {
        let rounds = plan(checks, scheduled_ms, states);
        let budget = limits.probe_budget(rounds.len());
        Self { scheduled_ms, rounds, budget, connections: limits.connections }
    }

    /// Subrequests left for probes.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// The next round at `now_ms` (rounds whose time has passed fold into it), with what it
    /// admits given the checks' `states`; `None` when the run is over. When the subrequests
    /// left do not cover every probe still planned, each round gets its share of them in
    /// proportion to its probes, so a run short of them spreads its probes over the minute
    /// rather than spending them in its first round.
    pub fn next(&mut self, checks: &BTreeMap<String, HealthCheckSpec>, states: &BTreeMap<String, CheckState>, now_ms: u64) -> Option<Step> {
        let elapsed_s = u32::try_from(now_ms.saturating_sub(self.scheduled_ms) / 1000).unwrap_or(u32::MAX);
        self.rounds = catch_up(std::mem::take(&mut self.rounds), elapsed_s);
        if self.rounds.is_empty() {
            return None;
        }
        let mut round = self.rounds.remove(0);
        let start_ms = now_ms.max(self.scheduled_ms + u64::from(round.offset_s) * 1000);
        let wanted = round.checks.len() as u64;
        let planned = wanted + self.rounds.iter().map(|later| later.checks.len() as u64).sum::<u64>();
        let budget = u64::from(self.budget);
        let share = if planned <= budget { wanted } else { (budget * wanted).div_ceil(planned.max(1)) };
        let share = u32::try_from(share).unwrap_or(u32::MAX);
        by_last_probe(&mut round.checks, states);
        let candidates: Vec<(String, u32)> = round.checks.into_iter().filter_map(|id| checks.get(&id).map(|spec| (id, timeout(spec)))).collect();
        let admission = admit(&candidates, start_ms - self.scheduled_ms, self.connections, share);
        self.budget -= u32::try_from(admission.probes.len()).unwrap_or(u32::MAX).min(self.budget);
        Some(Step { start_ms, offset_s: round.offset_s, admission })
    }
}

/// What the declared checks cost in their busiest minute (every check due), for `edgedns
/// check`: whether they can be probed at their intervals within a plan's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Rounds in the busiest minute.
    pub rounds: usize,
    /// Probes the busiest minute asks for.
    pub probes_per_minute: u32,
    /// Probes the plan allows per invocation, KV operations set aside.
    pub probe_budget: u32,
    /// Probes a day at the declared intervals.
    pub probes_per_day: u64,
    /// Probes (check, round offset) dropped because the check's timeout would run past the
    /// end of the minute.
    pub past_the_minute: Vec<(String, u32)>,
    /// Probes (check, round offset) that cannot finish in time with the connections allowed.
    pub out_of_connections: Vec<(String, u32)>,
}

/// The declared checks' cost within `limits`.
pub fn capacity(checks: &BTreeMap<String, HealthCheckSpec>, limits: Limits) -> Capacity {
    // Minute 0 is a multiple of every interval: every check is due.
    let none = BTreeMap::new();
    let rounds = plan(checks, 0, &none);
    let unfitted = plan_rounds(checks, 0, &none, false);
    let past_the_minute = unfitted
        .iter()
        .flat_map(|round| round.checks.iter().map(move |id| (id, round.offset_s)))
        .filter(|(id, offset_s)| !rounds.iter().any(|round| round.offset_s == *offset_s && round.checks.contains(id)))
        .map(|(id, offset_s)| (id.clone(), offset_s))
        .collect();
    let mut out_of_connections = Vec::new();
    let mut probes_per_minute = 0u32;
    for round in &rounds {
        let candidates: Vec<(String, u32)> = round.checks.iter().filter_map(|id| checks.get(id).map(|spec| (id.clone(), timeout(spec)))).collect();
        let admission = admit(&candidates, u64::from(round.offset_s) * 1000, limits.connections, u32::MAX);
        out_of_connections.extend(admission.late.into_iter().map(|id| (id, round.offset_s)));
        probes_per_minute = probes_per_minute.saturating_add(u32::try_from(round.checks.len()).unwrap_or(u32::MAX));
    }
    let probes_per_day = checks.values().filter(|spec| is_probed(spec)).map(|spec| 86_400 / u64::from(interval(spec))).sum();
    Capacity { rounds: rounds.len(), probes_per_minute, probe_budget: limits.probe_budget(rounds.len()), probes_per_day, past_the_minute, out_of_connections }
}

impl Capacity {
    /// Warnings, one a line, for a plan named `plan`: empty when every check can be probed at
    /// its interval.
    pub fn warnings(&self, plan: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.probes_per_minute > self.probe_budget {
            warnings.push(format!(
                "health checks need {} probes in their busiest minute, but one invocation on the {plan} plan has {} subrequests for probes \
                 (KV operations set aside): {} are deferred to later minutes, so checks run less often than their intervals",
                self.probes_per_minute,
                self.probe_budget,
                self.probes_per_minute - self.probe_budget
            ));
        }
        for (id, offsets) in group(&self.past_the_minute) {
            warnings.push(format!("health check {id}: its timeout would run past the end of the minute from the round(s) at {offsets}: not probed there"));
        }
        for (id, offsets) in group(&self.out_of_connections) {
            warnings.push(format!(
                "health check {id}: with {CONNECTIONS} probes in flight at most, it cannot finish in the round(s) at {offsets} before the minute ends: deferred there"
            ));
        }
        warnings
    }
}

/// `(id, offset)` pairs as `id → "0 s, 30 s"`.
fn group(pairs: &[(String, u32)]) -> BTreeMap<&str, String> {
    let mut grouped: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (id, offset_s) in pairs {
        grouped.entry(id.as_str()).or_default().push(format!("{offset_s} s"));
    }
    grouped.into_iter().map(|(id, offsets)| (id, offsets.join(", "))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, interval: Option<u32>) -> HealthCheckSpec {
        let host = crate::health::spec::Host::parse("192.0.2.1").ok();
        HealthCheckSpec { host, interval, ..HealthCheckSpec::new(kind.parse().unwrap()) }
    }

    fn none() -> BTreeMap<String, CheckState> {
        BTreeMap::new()
    }

    fn offsets(rounds: &[Round], id: &str) -> Vec<u32> {
        rounds.iter().filter(|round| round.checks.iter().any(|c| c == id)).map(|round| round.offset_s).collect()
    }

    #[test]
    fn one_round_a_minute_by_default() {
        let checks = BTreeMap::from([("a".to_owned(), check("http", None)), ("b".to_owned(), check("tcp", Some(60)))]);
        let rounds = plan(&checks, 0, &none());
        assert_eq!(rounds, vec![Round { offset_s: 0, checks: vec!["a".into(), "b".into()] }]);
    }

    #[test]
    fn short_intervals_run_several_times_a_minute() {
        let checks = BTreeMap::from([
            ("fast".to_owned(), check("http", Some(10))),
            ("half".to_owned(), check("https", Some(30))),
            ("odd".to_owned(), check("tcp", Some(25))),
            ("minute".to_owned(), check("http", None)),
            ("sum".to_owned(), check("calculated", Some(10))),
        ]);
        let rounds = plan(&checks, 0, &none());
        assert_eq!(offsets(&rounds, "fast"), vec![0, 10, 20, 30, 40, 50]);
        assert_eq!(offsets(&rounds, "half"), vec![0, 30]);
        assert_eq!(offsets(&rounds, "odd"), vec![0, 30, 50], "never more than 10 s late");
        assert_eq!(offsets(&rounds, "minute"), vec![0]);
        assert!(offsets(&rounds, "sum").is_empty(), "calculated checks are derived, not probed");
    }

    #[test]
    fn intervals_are_clamped() {
        let checks = BTreeMap::from([("tiny".to_owned(), check("http", Some(1)))]);
        assert_eq!(plan(&checks, 0, &none()).len(), 6, "1 s reads as the 10 s minimum");
    }

    #[test]
    fn long_intervals_skip_minutes() {
        let checks = BTreeMap::from([("slow".to_owned(), check("http", Some(300)))]);
        let mut states = none();
        let mut due = Vec::new();
        for minute in 0..10u64 {
            if !plan(&checks, minute * 60_000, &states).is_empty() {
                due.push(minute);
                states.insert("slow".into(), CheckState { checked_at: Some(minute * 60_000 + 300), ..CheckState::default() });
            }
        }
        assert_eq!(due, vec![0, 5]);
    }

    #[test]
    fn overdue_checks_run_in_the_next_run() {
        let checks = BTreeMap::from([("slow".to_owned(), check("http", Some(300)))]);
        assert_eq!(offsets(&plan(&checks, 60_000, &none()), "slow"), vec![0], "never probed: at once, not at minute 5");
        let at = |ms| BTreeMap::from([("slow".to_owned(), CheckState { checked_at: Some(ms), ..CheckState::default() })]);
        assert!(plan(&checks, 240_000, &at(0)).is_empty());
        // Due at minute 5, deferred there: it runs at minute 6 rather than at minute 10.
        assert_eq!(offsets(&plan(&checks, 360_000, &at(0)), "slow"), vec![0]);
        assert!(plan(&checks, 360_000, &at(300_000)).is_empty());
    }

    #[test]
    fn probes_whose_timeout_would_run_past_the_minute_are_not_planned() {
        let mut slow = check("http", Some(10));
        slow.timeout = Some(30);
        let mut quick = check("http", Some(10));
        quick.timeout = Some(10);
        let checks = BTreeMap::from([("slow".to_owned(), slow), ("quick".to_owned(), quick)]);
        let rounds = plan(&checks, 0, &none());
        assert_eq!(offsets(&rounds, "slow"), vec![0, 10, 20, 30]);
        assert_eq!(offsets(&rounds, "quick"), vec![0, 10, 20, 30, 40, 50], "50 s + 10 s ends with the minute");
    }

    fn candidates(timeouts: &[u32]) -> Vec<(String, u32)> {
        timeouts.iter().enumerate().map(|(n, timeout)| (format!("c{n}"), *timeout)).collect()
    }

    #[test]
    fn admission_keeps_six_in_flight_and_ends_with_the_minute() {
        // Twelve 5 s probes from 45 s: two waves of six end at 55 s.
        let admitted = admit(&candidates(&[5; 12]), 45_000, CONNECTIONS, 50);
        assert_eq!((admitted.probes.len(), admitted.late.len()), (12, 0));
        // A thirteenth would start at 55 s and end at 60 s; a fourteenth too; the nineteenth
        // would start at 60 s.
        let admitted = admit(&candidates(&[5; 20]), 45_000, CONNECTIONS, 50);
        assert_eq!((admitted.probes.len(), admitted.late.len()), (18, 2));
        // A long probe that cannot fit does not block a short one behind it.
        let admitted = admit(&candidates(&[30, 2]), 40_000, CONNECTIONS, 50);
        assert_eq!(admitted.probes, vec!["c1".to_owned()]);
        assert_eq!(admitted.late, vec!["c0".to_owned()]);
        // The budget.
        let admitted = admit(&candidates(&[1; 10]), 0, CONNECTIONS, 4);
        assert_eq!((admitted.probes.len(), admitted.over_budget.len()), (4, 6));
        assert_eq!(admitted.probes, vec!["c0", "c1", "c2", "c3"]);
    }

    #[test]
    fn plans_and_their_limits() {
        assert_eq!(Plan::parse(" Free"), Some(Plan::Free));
        assert_eq!(Plan::parse("paid").map(Plan::limits), Some(Limits { subrequests: 10_000, connections: 6 }));
        assert_eq!(Plan::parse("pro"), None);
        let (limits, problems) = Limits::from_vars(None, None);
        assert_eq!((limits.subrequests, problems.len()), (50, 0), "free unless told");
        let (limits, problems) = Limits::from_vars(Some("paid"), Some("1000"));
        assert_eq!((limits.subrequests, problems.len()), (1000, 0));
        let (limits, problems) = Limits::from_vars(Some("gold"), Some("lots"));
        assert_eq!((limits.subrequests, problems.len()), (50, 2));
        // The KV operations a run may make come first: 3 reads and a write per round.
        assert_eq!(Plan::Free.limits().probe_budget(6), 41);
        assert_eq!(Limits { subrequests: 5, connections: 6 }.probe_budget(6), 0);
    }

    #[test]
    fn a_run_spreads_a_short_budget_over_its_rounds_least_recently_probed_first() {
        // Twelve 10 s checks want 72 probes a minute; the free plan has 41 for them.
        let checks: BTreeMap<String, HealthCheckSpec> = (0..12).map(|n| (format!("c{n:02}"), check("http", Some(10)))).collect();
        let mut states = none();
        let mut run = Run::new(&checks, 0, &states, Plan::Free.limits());
        assert_eq!(run.budget(), 41);
        let mut per_round = Vec::new();
        let mut now = 0;
        while let Some(step) = run.next(&checks, &states, now) {
            now = step.start_ms + 100;
            for id in &step.admission.probes {
                states.insert(id.clone(), CheckState { checked_at: Some(now), ..CheckState::default() });
            }
            assert_eq!(step.admission.probes.len() + step.admission.over_budget.len(), 12);
            per_round.push(step.admission.probes.len());
        }
        assert_eq!(per_round, vec![7, 7, 7, 7, 7, 6]);
        // Each round starts with the checks the one before deferred.
        let probed: Vec<u64> = checks.keys().map(|id| states[id].checked_at.unwrap_or(0)).collect();
        assert!(probed.iter().all(|at| *at >= 40_000), "every check had a turn in the last two rounds: {probed:?}");
    }

    #[test]
    fn a_run_with_subrequests_enough_probes_everything_in_its_first_round() {
        // Eighteen one-minute checks and a 10 s one: 23 probes, 41 subrequests for them.
        let mut checks: BTreeMap<String, HealthCheckSpec> = (0..18).map(|n| (format!("c{n:02}"), check("http", None))).collect();
        checks.insert("fast".into(), check("http", Some(10)));
        let mut run = Run::new(&checks, 0, &none(), Plan::Free.limits());
        let first = run.next(&checks, &none(), 0).unwrap();
        assert_eq!((first.admission.probes.len(), first.admission.over_budget.len()), (19, 0));
    }

    #[test]
    fn capacity_tells_what_does_not_fit() {
        let minute: BTreeMap<String, HealthCheckSpec> = (0..10).map(|n| (format!("c{n}"), check("http", None))).collect();
        let fits = capacity(&minute, Plan::Free.limits());
        assert_eq!((fits.rounds, fits.probes_per_minute, fits.probe_budget, fits.probes_per_day), (1, 10, 46, 14_400));
        assert!(fits.warnings("free").is_empty());
        // Sixty 10 s checks: 360 probes a minute, far over 41.
        let fast: BTreeMap<String, HealthCheckSpec> = (0..60).map(|n| (format!("c{n:02}"), check("http", Some(10)))).collect();
        let over = capacity(&fast, Plan::Free.limits());
        assert_eq!((over.probes_per_minute, over.probe_budget), (360, 41));
        let warnings = over.warnings("free");
        assert!(warnings.first().is_some_and(|w| w.contains("360 probes") && w.contains("41 subrequests")), "{warnings:?}");
        assert!(capacity(&fast, Plan::Paid.limits()).warnings("paid").iter().all(|w| !w.contains("subrequests")));
        // Sixty 5 s probes at 50 s: six at a time, only twelve end within the minute.
        assert!(over.out_of_connections.iter().filter(|(_, offset)| *offset == 50).count() == 48);
        assert!(warnings.iter().any(|w| w.contains("c59") && w.contains("probes in flight")), "{warnings:?}");
        // A 10 s check with a 30 s timeout is not probed at 40 s and 50 s.
        let mut slow = check("http", Some(10));
        slow.timeout = Some(30);
        let late = capacity(&BTreeMap::from([("slow".to_owned(), slow)]), Plan::Free.limits());
        assert_eq!(late.past_the_minute, vec![("slow".to_owned(), 40), ("slow".to_owned(), 50)]);
        assert_eq!(
            late.warnings("free"),
            vec!["health check slow: its timeout would run past the end of the minute from the round(s) at 40 s, 50 s: not probed there"]
        );
    }

    #[test]
    fn late_runs_catch_up_without_skipping_checks() {
        let checks = BTreeMap::from([("fast".to_owned(), check("http", Some(10))), ("minute".to_owned(), check("http", None))]);
        let rounds = plan(&checks, 0, &none());
        assert_eq!(catch_up(rounds.clone(), 0), rounds, "on time: every round");
        let late = catch_up(rounds.clone(), 35);
        assert_eq!(late.iter().map(|r| r.offset_s).collect::<Vec<_>>(), vec![30, 40, 50]);
        assert_eq!(late.first().map(|r| r.checks.clone()), Some(vec!["fast".to_owned(), "minute".to_owned()]), "the missed minute check runs");
        let last = catch_up(rounds, 59);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].checks.len(), 2);
    }

    #[test]
    fn nothing_to_probe() {
        let checks = BTreeMap::from([("sum".to_owned(), check("calculated", None))]);
        assert!(plan(&checks, 0, &none()).is_empty());
        assert!(plan(&BTreeMap::new(), 0, &none()).is_empty());
    }
}
