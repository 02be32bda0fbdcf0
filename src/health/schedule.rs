//! When each check runs. Cron Triggers fire at most once a minute, so a scheduled run covers
//! its minute in rounds: the rounds are as far apart as the shortest interval among the
//! checks (at least [`MIN_INTERVAL_S`]), and a check runs in each round where its own
//! interval has come round again. A check whose interval is longer than a minute runs in the
//! first round of every `ceil(interval / 60)`-th minute. Each round writes one health
//! snapshot, so KV sees at most one write to `health:current` every ten seconds.
//!
//! A Durable Object alarm could fire more often, but it would move health state out of KV
//! into a second storage system and cost a Durable Object per deployment; ten-second rounds
//! inside the minute give Route 53's fastest interval without either.

use std::collections::BTreeMap;

use crate::zone::routes::HealthCheckSpec;

/// The length of one scheduled run: the Cron Trigger's period.
pub const RUN_SECONDS: u32 = 60;
/// The shortest interval a check may have (Route 53's "fast" interval).
pub const MIN_INTERVAL_S: u32 = 10;
/// The longest interval a check may have.
pub const MAX_INTERVAL_S: u32 = 3_600;
/// A check's interval when it does not give one: once per scheduled run.
pub const DEFAULT_INTERVAL_S: u32 = 60;

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

/// Whether a check is measured by probing (as opposed to calculated from other checks).
pub fn is_probed(spec: &HealthCheckSpec) -> bool {
    spec.kind != "calculated"
}

/// The rounds of the run scheduled at `scheduled_ms` (ms since the epoch). Empty when no
/// check is due this minute.
pub fn plan(checks: &BTreeMap<String, HealthCheckSpec>, scheduled_ms: u64) -> Vec<Round> {
    let probed: Vec<(&String, u32)> = checks.iter().filter(|(_, spec)| is_probed(spec)).map(|(id, spec)| (id, interval(spec))).collect();
    let Some(round) = probed.iter().map(|(_, seconds)| (*seconds).min(RUN_SECONDS)).min() else {
        return Vec::new();
    };
    let minute = scheduled_ms / 60_000;
    (0..RUN_SECONDS)
        .step_by(round as usize)
        .map(|offset_s| {
            let checks = probed.iter().filter(|(_, seconds)| due(*seconds, offset_s, round, minute)).map(|(id, _)| (*id).clone()).collect();
            Round { offset_s, checks }
        })
        .filter(|round| !round.checks.is_empty())
        .collect()
}

/// The rounds still to run when the run starts `elapsed_s` after its scheduled time (a late
/// start, or a slow round before): a round whose successor's time has already come is not
/// run on its own; its checks join the first round that is run, so nothing is skipped.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: &str, interval: Option<u32>) -> HealthCheckSpec {
        HealthCheckSpec {
            kind: kind.into(),
            host: Some("192.0.2.1".into()),
            port: None,
            path: None,
            host_header: None,
            search: None,
            interval,
            threshold: None,
            timeout: None,
            inverted: false,
            disabled: false,
            children: Vec::new(),
            min_healthy: None,
        }
    }

    fn offsets(rounds: &[Round], id: &str) -> Vec<u32> {
        rounds.iter().filter(|round| round.checks.iter().any(|c| c == id)).map(|round| round.offset_s).collect()
    }

    #[test]
    fn one_round_a_minute_by_default() {
        let checks = BTreeMap::from([("a".to_owned(), check("http", None)), ("b".to_owned(), check("tcp", Some(60)))]);
        let rounds = plan(&checks, 0);
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
        let rounds = plan(&checks, 0);
        assert_eq!(offsets(&rounds, "fast"), vec![0, 10, 20, 30, 40, 50]);
        assert_eq!(offsets(&rounds, "half"), vec![0, 30]);
        assert_eq!(offsets(&rounds, "odd"), vec![0, 30, 50], "never more than 10 s late");
        assert_eq!(offsets(&rounds, "minute"), vec![0]);
        assert!(offsets(&rounds, "sum").is_empty(), "calculated checks are derived, not probed");
    }

    #[test]
    fn intervals_are_clamped() {
        let checks = BTreeMap::from([("tiny".to_owned(), check("http", Some(1)))]);
        assert_eq!(plan(&checks, 0).len(), 6, "1 s reads as the 10 s minimum");
    }

    #[test]
    fn long_intervals_skip_minutes() {
        let checks = BTreeMap::from([("slow".to_owned(), check("http", Some(300)))]);
        let due: Vec<u64> = (0..10).filter(|minute| !plan(&checks, minute * 60_000).is_empty()).collect();
        assert_eq!(due, vec![0, 5]);
    }

    #[test]
    fn late_runs_catch_up_without_skipping_checks() {
        let checks = BTreeMap::from([("fast".to_owned(), check("http", Some(10))), ("minute".to_owned(), check("http", None))]);
        let rounds = plan(&checks, 0);
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
        assert!(plan(&checks, 0).is_empty());
        assert!(plan(&BTreeMap::new(), 0).is_empty());
    }
}
