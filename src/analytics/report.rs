//! What `GET /admin/traffic` answers: the same aggregates whether they come from the
//! isolate's counters or from Analytics Engine.

use serde::{Deserialize, Serialize};

/// The most entries a breakdown lists (the rest are left out; `(other)` in the isolate's
/// counters gathers what did not fit while counting).
pub const TOP: usize = 10;
/// The most zones the timeline draws a series for.
pub const TIMELINE_ZONES: usize = 6;
/// A minute, in ms.
pub const MINUTE_MS: u64 = 60_000;
/// The longest window asked for, in minutes (the isolate keeps an hour).
pub const MAX_MINUTES: u32 = 60;

/// Where the aggregates came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// This isolate's own rolling counters: the queries this isolate answered.
    Isolate,
    /// The Analytics Engine dataset, through the SQL API: every isolate's sampled queries.
    AnalyticsEngine,
}

/// Query counts over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    /// Where they came from.
    pub source: Source,
    /// The window, in minutes up to now.
    pub minutes: u32,
    /// The sampling rate of this isolate (counts are scaled by its inverse).
    pub sample_rate: f64,
    /// Totals over the window.
    pub totals: Totals,
    /// Queries per minute, in all and for the busiest zones.
    pub timeline: Timeline,
    /// Queries by zone (`(none)`: no hosted zone holds the name).
    pub zones: Vec<Count>,
    /// Queries by RCODE mnemonic.
    pub rcodes: Vec<Count>,
    /// Queries by question type.
    pub record_types: Vec<Count>,
    /// Queries by the policy leaf that decided them.
    pub policies: Vec<Count>,
    /// Queries by client country.
    pub countries: Vec<Count>,
    /// Queries by edge location.
    pub colos: Vec<Count>,
    /// The most asked names.
    pub names: Vec<Count>,
    /// What went wrong reading them (an SQL query that failed), if anything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Totals over the window.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Answered queries.
    pub queries: u64,
    /// Queries the firewall blocked.
    pub blocked: u64,
    /// Queries forwarded in resolver mode.
    pub forwarded: u64,
    /// Forwarded queries a cache answered (the isolate's or the edge location's).
    pub cache_hits: u64,
    /// `cache_hits / forwarded`, `None` when nothing was forwarded.
    pub cache_hit_rate: Option<f64>,
}

impl Totals {
    /// The totals with the hit rate worked out.
    pub fn with_rate(mut self) -> Self {
        self.cache_hit_rate = (self.forwarded > 0).then(|| self.cache_hits as f64 / self.forwarded as f64);
        self
    }
}

/// Queries per minute.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// The first minute's start, in ms since the epoch.
    pub start_ms: u64,
    /// The width of a point, in ms.
    pub step_ms: u64,
    /// All queries, one count a minute.
    pub total: Vec<u64>,
    /// The busiest zones, one count a minute each.
    pub zones: Vec<Series>,
}

/// One zone's counts per minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The zone.
    pub key: String,
    /// A count a minute, aligned with [`Timeline::total`].
    pub counts: Vec<u64>,
}

/// One entry of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    /// What was counted (a zone, an RCODE, a country...).
    pub key: String,
    /// Queries.
    pub queries: u64,
}

/// The busiest `TOP` of `counts`, most first (ties by key).
pub fn top(counts: impl IntoIterator<Item = (String, u64)>) -> Vec<Count> {
    let mut all: Vec<Count> = counts.into_iter().filter(|(_, queries)| *queries > 0).map(|(key, queries)| Count { key, queries }).collect();
    all.sort_by(|a, b| b.queries.cmp(&a.queries).then_with(|| a.key.cmp(&b.key)));
    all.truncate(TOP);
    all
}

/// The window asked for: `minutes=N` clamped to 1..=[`MAX_MINUTES`], 60 without one.
pub fn window(minutes: Option<u32>) -> u32 {
    minutes.unwrap_or(MAX_MINUTES).clamp(1, MAX_MINUTES)
}

/// The first minute (its start, ms) of a `minutes`-minute window ending with the minute of
/// `now_ms`.
pub fn window_start(now_ms: u64, minutes: u32) -> u64 {
    let current = now_ms / MINUTE_MS;
    current.saturating_sub(u64::from(minutes).saturating_sub(1)) * MINUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breakdown_keeps_the_busiest_ten_most_first() {
        let counts = (0..15u64).map(|i| (format!("k{i:02}"), i)).chain([("tie-a".to_owned(), 14)]);
        let listed = top(counts);
        assert_eq!(listed.len(), TOP);
        assert_eq!(listed[0], Count { key: "k14".into(), queries: 14 });
        assert_eq!(listed[1], Count { key: "tie-a".into(), queries: 14 });
        assert_eq!(listed[9].queries, 6);
        assert!(top([("zero".to_owned(), 0)]).is_empty(), "nothing counted, nothing listed");
    }

    #[test]
    fn windows_are_clamped_and_end_with_the_current_minute() {
        assert_eq!(window(None), 60);
        assert_eq!(window(Some(0)), 1);
        assert_eq!(window(Some(5)), 5);
        assert_eq!(window(Some(500)), 60);
        assert_eq!(window_start(10 * MINUTE_MS + 59_999, 1), 10 * MINUTE_MS);
        assert_eq!(window_start(10 * MINUTE_MS + 1, 3), 8 * MINUTE_MS);
        assert_eq!(window_start(MINUTE_MS, 60), 0);
        assert_eq!(serde_json::to_value(Source::AnalyticsEngine).unwrap(), "analytics-engine");
        assert_eq!(Totals { forwarded: 4, cache_hits: 1, ..Totals::default() }.with_rate().cache_hit_rate, Some(0.25));
        assert_eq!(Totals::default().with_rate().cache_hit_rate, None);
    }
}
