//! The operators' view of health: every declared check with its definition, measured state,
//! last result, latency, consecutive count and override, plus the value overrides and the
//! snapshot's age, and what is wrong with the health keys if they do not parse. The admin
//! endpoint serves it as JSON (with the isolate's checker counts); the CLI prints it as a table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checker::CheckerCounts;
use super::spec::{CheckKind, HealthCheckSpec, Probe};
use super::{schedule, CheckState, HealthSnapshot, Override, Overrides, VALUE_PREFIX};
use crate::health::machine::DEFAULT_THRESHOLD;

/// The whole status listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// When the checker last wrote the snapshot (ms since the epoch); `None`: never.
    pub updated_at: Option<u64>,
    /// The snapshot's age when the report was made, in ms.
    pub age_ms: Option<u64>,
    /// Whether the snapshot is too old to trust (answers then count every check as healthy).
    pub stale: bool,
    /// The age at which it counts as stale (two of the checker's heartbeats and a margin).
    #[serde(default)]
    pub stale_after_ms: u64,
    /// What is wrong with the health keys (a value that does not parse, read as missing
    /// until it is replaced).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What the checker of the isolate that answered has done (the admin endpoint only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checker: Option<CheckerCounts>,
    /// Every declared check, by id.
    pub checks: Vec<CheckStatus>,
    /// Overrides of single values (`value:<rdata>`), and of checks no longer declared.
    pub other_overrides: BTreeMap<String, Override>,
}

/// One check's line in the listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    /// The check's id.
    pub id: String,
    /// `http`, `https`, `tcp` or `calculated`.
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// What is probed (`https://host:port/path`, `tcp://host:port`), or the children, or why
    /// the check cannot be probed.
    pub target: String,
    /// Seconds between probes.
    pub interval_s: u32,
    /// Consecutive results needed to flip.
    pub threshold: u32,
    /// Whether results are read backwards.
    pub inverted: bool,
    /// Whether the check is disabled (always healthy).
    pub disabled: bool,
    /// The state answers follow now: the override if any, else the measured state (healthy
    /// when the snapshot is stale or has no data for the check).
    pub healthy: bool,
    /// The measured state, if the checker has written one.
    pub measured: Option<CheckState>,
    /// The operator's override, if any.
    #[serde(rename = "override")]
    pub forced: Option<Override>,
}

/// The report at `now_ms` for the declared `checks`.
pub fn report(checks: &BTreeMap<String, HealthCheckSpec>, snapshot: &HealthSnapshot, overrides: &Overrides, now_ms: u64) -> StatusReport {
    let written = snapshot.updated_at != 0;
    let age_ms = written.then(|| now_ms.saturating_sub(snapshot.updated_at));
    let stale = snapshot.is_stale(now_ms);
    let lines = checks
        .iter()
        .map(|(id, spec)| {
            let measured = snapshot.checks.get(id).cloned();
            let forced = overrides.get(id).cloned();
            let measured_healthy = if stale { None } else { measured.as_ref().map(|state| state.healthy) };
            CheckStatus {
                id: id.clone(),
                kind: spec.kind,
                target: target(spec),
                interval_s: schedule::interval(spec),
                threshold: spec.threshold.unwrap_or(DEFAULT_THRESHOLD),
                inverted: spec.inverted,
                disabled: spec.disabled,
                healthy: forced.as_ref().map(|o| o.healthy).or(measured_healthy).unwrap_or(true),
                measured,
                forced,
            }
        })
        .collect();
    let other_overrides = overrides
        .iter()
        .filter(|(target, _)| target.starts_with(VALUE_PREFIX) || !checks.contains_key(*target))
        .map(|(target, forced)| (target.clone(), forced.clone()))
        .collect();
    StatusReport {
        updated_at: written.then_some(snapshot.updated_at),
        age_ms,
        stale,
        stale_after_ms: snapshot.stale_after_ms(),
        problems: checks
            .iter()
            .filter_map(|(id, spec)| {
                spec.unusable.as_ref().map(|unusable| format!("health check {id} is unusable in the snapshot (probed as failing): {}", unusable.reason))
            })
            .collect(),
        checker: None,
        checks: lines,
        other_overrides,
    }
}

/// What a check probes, as one line.
fn target(spec: &HealthCheckSpec) -> String {
    if spec.kind == CheckKind::Calculated {
        let needed = spec.min_healthy.map_or(spec.children.len(), |n| n as usize);
        return format!("{needed} of [{}]", spec.children.join(", "));
    }
    match spec.probe() {
        Ok(Probe::Http { url, .. }) => url.into(),
        Ok(Probe::Tcp { host: crate::health::spec::Host::Ip(std::net::IpAddr::V6(address)), port }) => format!("tcp://[{address}]:{port}"),
        Ok(Probe::Tcp { host, port }) => format!("tcp://{host}:{port}"),
        Err(error) => format!("({error})"),
    }
}

impl StatusReport {
    /// The listing as a text table (the CLI's output), columns aligned.
    pub fn table(&self) -> String {
        let mut out = match (self.updated_at, self.age_ms) {
            (Some(at), Some(age)) => format!(
                "health snapshot written at {at} ms, {} s ago{}\n",
                age / 1000,
                if self.stale { " (STALE: answers treat every check as healthy)" } else { "" }
            ),
            _ => "no health snapshot written yet: every check counts as healthy\n".to_owned(),
        };
        for problem in &self.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
        let mut rows: Vec<Vec<String>> =
            vec![["CHECK", "STATE", "MEASURED", "LAST", "LATENCY", "CONSECUTIVE", "INTERVAL", "TARGET", "OVERRIDE"].map(str::to_owned).to_vec()];
        for check in &self.checks {
            let measured = check.measured.as_ref();
            rows.push(vec![
                check.id.clone(),
                if check.healthy { "up" } else { "DOWN" }.to_owned(),
                measured.map_or("-", |m| if m.healthy { "up" } else { "down" }).to_owned(),
                measured.and_then(|m| m.last_success).map_or("-", |ok| if ok { "ok" } else { "fail" }).to_owned(),
                measured.and_then(|m| m.latency_ms).map_or("-".to_owned(), |ms| format!("{ms}ms")),
                format!("{}/{}", measured.map_or(0, |m| m.consecutive), check.threshold),
                format!("{}s", check.interval_s),
                check.target.clone(),
                check.forced.as_ref().map_or("-".to_owned(), describe),
            ]);
        }
        for (target, forced) in &self.other_overrides {
            let mut row = vec![target.clone(), if forced.healthy { "up" } else { "DOWN" }.to_owned()];
            row.extend(std::iter::repeat_n("-".to_owned(), 6));
            row.push(describe(forced));
            rows.push(row);
        }
        let mut widths: Vec<usize> = Vec::new();
        for row in &rows {
            for (column, cell) in row.iter().enumerate() {
                match widths.get_mut(column) {
                    Some(width) => *width = (*width).max(cell.chars().count()),
                    None => widths.push(cell.chars().count()),
                }
            }
        }
        for row in &rows {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

fn describe(forced: &Override) -> String {
    let state = if forced.healthy { "forced up" } else { "forced down" };
    if forced.reason.is_empty() {
        state.to_owned()
    } else {
        format!("{state}: {}", forced.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> HealthCheckSpec {
        HealthCheckSpec {
            host: crate::health::spec::Host::parse("2001:db8::1").ok(),
            port: Some(8443),
            path: crate::health::spec::Path::parse("/health").ok(),
            interval: Some(10),
            children: vec!["a".into(), "b".into()],
            min_healthy: Some(1),
            ..HealthCheckSpec::new(kind.parse().unwrap())
        }
    }

    #[test]
    fn lists_every_check_with_state_and_overrides() {
        let checks = BTreeMap::from([("a".to_owned(), spec("https")), ("b".to_owned(), spec("tcp")), ("c".to_owned(), spec("calculated"))]);
        let snapshot =
            HealthSnapshot::from_json(r#"{"updated_at": 1000, "checks": {"a": {"healthy": false, "consecutive": 1, "latency_ms": 7, "last_success": true}}}"#)
                .unwrap();
        let overrides = Overrides::from([
            ("b".to_owned(), Override { healthy: false, reason: "maintenance".into(), set_at: None }),
            ("value:192.0.2.1".to_owned(), Override { healthy: false, reason: String::new(), set_at: None }),
        ]);
        let report = report(&checks, &snapshot, &overrides, 31_000);
        assert_eq!((report.updated_at, report.age_ms, report.stale), (Some(1000), Some(30_000), false));
        let by_id: BTreeMap<&str, &CheckStatus> = report.checks.iter().map(|c| (c.id.as_str(), c)).collect();
        assert!(!by_id["a"].healthy);
        assert_eq!(by_id["a"].target, "https://[2001:db8::1]:8443/health");
        assert_eq!((by_id["a"].interval_s, by_id["a"].threshold), (10, 3));
        assert!(!by_id["b"].healthy, "the override wins");
        assert_eq!(by_id["b"].target, "tcp://[2001:db8::1]:8443");
        assert!(by_id["c"].healthy && by_id["c"].measured.is_none(), "no data: healthy");
        assert_eq!(by_id["c"].target, "1 of [a, b]");
        assert_eq!(report.other_overrides.keys().collect::<Vec<_>>(), vec!["value:192.0.2.1"]);
        let table = report.table();
        assert!(table.lines().any(|line| line.split_whitespace().take(7).eq(["a", "DOWN", "down", "ok", "7ms", "1/3", "10s"])), "{table}");
        assert!(table.contains("forced down: maintenance"), "{table}");
    }

    #[test]
    fn problems_are_listed_first() {
        let checks = BTreeMap::from([("a".to_owned(), spec("http"))]);
        let mut report = report(&checks, &HealthSnapshot::default(), &Overrides::new(), 1000);
        report.problems.push("health:overrides is unreadable (expected value); writing it replaces it".into());
        let table = report.table();
        assert_eq!(table.lines().nth(1), Some("problem: health:overrides is unreadable (expected value); writing it replaces it"), "{table}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["problems"][0].as_str().map(|p| p.starts_with("health:overrides")), Some(true));
        assert_eq!(json["stale_after_ms"], crate::health::STALE_AFTER_MS);
    }

    #[test]
    fn stale_snapshots_read_as_healthy() {
        let checks = BTreeMap::from([("a".to_owned(), spec("http"))]);
        let snapshot = HealthSnapshot::from_json(r#"{"updated_at": 1000, "checks": {"a": {"healthy": false}}}"#).unwrap();
        let report = report(&checks, &snapshot, &Overrides::new(), 1000 + crate::health::STALE_AFTER_MS + 1);
        assert!(report.stale);
        assert!(report.checks.iter().all(|c| c.healthy));
        assert!(report.table().contains("STALE"));
    }
}
