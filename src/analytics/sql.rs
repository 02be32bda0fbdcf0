//! Reading the Analytics Engine dataset back through the SQL API: the queries the Traffic
//! view runs (README "Operator console" lists them) and the bounded parsing of the answers.
//!
//! The API is `POST <base>/accounts/<account id>/analytics_engine/sql` with the SQL as the
//! body and the API token as a bearer token; `FORMAT JSON` answers
//! `{"meta": [...], "data": [{"column": value, ...}, ...], "rows": n}`. Counts are
//! `SUM(_sample_interval * double1)`: the points Analytics Engine's own sampling stood for,
//! times the queries each point stands for under `ANALYTICS_SAMPLE_RATE`
//! ([`super::point`]).

use std::collections::HashMap;

use serde::Deserialize;

use super::report::{self, Count, Series, Source, Timeline, Totals, Traffic, MINUTE_MS};

/// The secret holding the Cloudflare account id.
pub const ACCOUNT_VAR: &str = "ANALYTICS_ACCOUNT_ID";
/// The secret holding an API token with Account Analytics Read.
pub const TOKEN_VAR: &str = "ANALYTICS_API_TOKEN";
/// The variable naming the dataset (the binding's `dataset` in wrangler.toml).
pub const DATASET_VAR: &str = "ANALYTICS_DATASET";
/// The variable overriding the API's base URL (a local stand-in in tests).
pub const API_BASE_VAR: &str = "ANALYTICS_API_BASE";
/// The dataset without [`DATASET_VAR`].
pub const DEFAULT_DATASET: &str = "edgedns_queries";
/// The API's base URL without [`API_BASE_VAR`].
pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The largest SQL answer read, in bytes (the adapter stops reading past it).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// The most rows taken from one answer.
pub const MAX_ROWS: usize = 4_000;

/// Where and how to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlConfig {
    /// The endpoint's URL.
    pub endpoint: String,
    /// The API token.
    pub token: String,
    /// The dataset (table) name, checked to be an identifier.
    pub dataset: String,
}

/// Why the SQL API's settings or answer are unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlError {
    /// A setting is malformed.
    Setting(String),
    /// The answer is not the JSON expected.
    Answer(String),
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Setting(message) => write!(f, "analytics settings: {message}"),
            Self::Answer(message) => write!(f, "Analytics Engine SQL answer: {message}"),
        }
    }
}

impl SqlConfig {
    /// The settings from the secrets and variables (`read(name)`); `None` unless both the
    /// account id and the token are set.
    pub fn from_vars(read: impl Fn(&str) -> Option<String>) -> Option<Result<Self, SqlError>> {
        let account = read(ACCOUNT_VAR).filter(|value| !value.trim().is_empty())?;
        let token = read(TOKEN_VAR).filter(|value| !value.trim().is_empty())?;
        Some(Self::new(account.trim(), token.trim(), read(DATASET_VAR).as_deref(), read(API_BASE_VAR).as_deref()))
    }

    fn new(account: &str, token: &str, dataset: Option<&str>, base: Option<&str>) -> Result<Self, SqlError> {
        let is_word = |text: &str, max: usize| !text.is_empty() && text.len() <= max && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !is_word(account, 64) {
            return Err(SqlError::Setting(format!("{ACCOUNT_VAR} is not an account id")));
        }
        if token.len() > 512 || token.bytes().any(|byte| !byte.is_ascii_graphic()) {
            return Err(SqlError::Setting(format!("{TOKEN_VAR} is not a token")));
        }
        let dataset = dataset.map(str::trim).filter(|name| !name.is_empty()).unwrap_or(DEFAULT_DATASET);
        if !is_word(dataset, 64) || dataset.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(SqlError::Setting(format!("{DATASET_VAR} {dataset:?} is not a dataset name (letters, digits, _)")));
        }
        let base = base.map(str::trim).filter(|base| !base.is_empty()).unwrap_or(DEFAULT_API_BASE).trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://127.0.0.1:") || base.starts_with("http://localhost:")) {
            return Err(SqlError::Setting(format!("{API_BASE_VAR} must be an https URL (or a loopback one)")));
        }
        Ok(Self { endpoint: format!("{base}/accounts/{account}/analytics_engine/sql"), token: token.to_owned(), dataset: dataset.to_owned() })
    }
}

/// A breakdown of the queries by one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// blob1.
    Zone,
    /// blob2.
    Name,
    /// blob3.
    RecordType,
    /// blob4.
    Rcode,
    /// blob5 (routed answers only).
    Policy,
    /// blob6.
    Country,
    /// blob7.
    Colo,
}

impl Breakdown {
    /// Every breakdown the Traffic view shows.
    pub const ALL: [Self; 7] = [Self::Zone, Self::Name, Self::RecordType, Self::Rcode, Self::Policy, Self::Country, Self::Colo];

    fn column(self) -> &'static str {
        match self {
            Self::Zone => "blob1",
            Self::Name => "blob2",
            Self::RecordType => "blob3",
            Self::Rcode => "blob4",
            Self::Policy => "blob5",
            Self::Country => "blob6",
            Self::Colo => "blob7",
        }
    }

    /// What an empty value is listed as.
    fn empty(self) -> &'static str {
        match self {
            Self::Zone => super::point::NO_ZONE,
            _ => super::counters::UNKNOWN,
        }
    }
}

/// One query the Traffic view runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Queries, blocked, forwarded and cache hits.
    Totals,
    /// Queries per minute and zone.
    Timeline,
    /// The top entries of one column.
    Breakdown(Breakdown),
}

/// The queries for a `minutes`-minute window (1 to 60), one per part.
pub fn queries(dataset: &str, minutes: u32) -> Vec<(Part, String)> {
    let minutes = report::window(Some(minutes));
    let window = format!("timestamp > NOW() - INTERVAL '{minutes}' MINUTE");
    let count = "SUM(_sample_interval * double1)";
    let mut all = vec![
        (
            Part::Totals,
            format!(
                "SELECT {count} AS queries, SUM(_sample_interval * double1 * double2) AS blocked, SUM(_sample_interval * double1 * double4) AS forwarded, \
                 SUM(_sample_interval * double1 * double3) AS cache_hits FROM {dataset} WHERE {window} FORMAT JSON"
            ),
        ),
        (
            Part::Timeline,
            format!(
                "SELECT toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '1' MINUTE)) AS minute, blob1 AS key, {count} AS queries FROM {dataset} \
                 WHERE {window} GROUP BY minute, key ORDER BY minute LIMIT {MAX_ROWS} FORMAT JSON"
            ),
        ),
    ];
    for breakdown in Breakdown::ALL {
        let column = breakdown.column();
        let routed = if breakdown == Breakdown::Policy { format!(" AND {column} != ''") } else { String::new() };
        all.push((
            Part::Breakdown(breakdown),
            format!(
                "SELECT {column} AS key, {count} AS queries FROM {dataset} WHERE {window}{routed} GROUP BY key ORDER BY queries DESC LIMIT {} FORMAT JSON",
                report::TOP
            ),
        ));
    }
    all
}

/// The answer's rows, each a map of column to value.
type Row = serde_json::Map<String, serde_json::Value>;

#[derive(Deserialize)]
struct Answer {
    data: Vec<Row>,
}

/// The rows of an SQL API answer (at most [`MAX_ROWS`]; the adapter has bounded the body to
/// [`MAX_ANSWER_BYTES`]).
pub fn rows(body: &[u8]) -> Result<Vec<Row>, SqlError> {
    if body.len() > MAX_ANSWER_BYTES {
        return Err(SqlError::Answer(format!("over {MAX_ANSWER_BYTES} bytes")));
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|error| SqlError::Answer(error.to_string()))?;
    let mut data = answer.data;
    data.truncate(MAX_ROWS);
    Ok(data)
}

/// A count column: a number, or a number in a string (64-bit integers come quoted); 0 when
/// absent or unreadable, and never negative.
fn number(row: &Row, column: &str) -> u64 {
    let value = match row.get(column) {
        Some(serde_json::Value::Number(number)) => number.as_f64(),
        Some(serde_json::Value::String(text)) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    value.filter(|value| value.is_finite() && *value > 0.0).map_or(0, |value| value.round() as u64)
}

fn text(row: &Row, column: &str) -> Option<String> {
    match row.get(column) {
        Some(serde_json::Value::String(text)) => Some(text.chars().take(super::point::MAX_BLOB_BYTES).collect()),
        _ => None,
    }
}

/// The Traffic report from each part's rows (or why that part failed: a problem listed,
/// the part left empty), for the window of `minutes` ending at `now_ms`.
pub fn assemble(minutes: u32, now_ms: u64, sample_rate: f64, answers: Vec<(Part, Result<Vec<Row>, String>)>) -> Traffic {
    let minutes = report::window(Some(minutes));
    let start_ms = report::window_start(now_ms, minutes);
    let points = minutes as usize;
    let mut traffic = Traffic {
        source: Source::AnalyticsEngine,
        minutes,
        sample_rate,
        totals: Totals::default(),
        timeline: Timeline { start_ms, step_ms: MINUTE_MS, total: vec![0; points], zones: Vec::new() },
        zones: Vec::new(),
        rcodes: Vec::new(),
        record_types: Vec::new(),
        policies: Vec::new(),
        countries: Vec::new(),
        colos: Vec::new(),
        names: Vec::new(),
        problems: Vec::new(),
    };
    for (part, answer) in answers {
        let rows = match answer {
            Ok(rows) => rows,
            Err(problem) => {
                traffic.problems.push(format!("{part:?}: {problem}"));
                continue;
            }
        };
        match part {
            Part::Totals => {
                if let Some(row) = rows.first() {
                    traffic.totals = Totals {
                        queries: number(row, "queries"),
                        blocked: number(row, "blocked"),
                        forwarded: number(row, "forwarded"),
                        cache_hits: number(row, "cache_hits"),
                        cache_hit_rate: None,
                    }
                    .with_rate();
                }
            }
            Part::Timeline => {
                let mut by_zone: HashMap<String, Vec<u64>> = HashMap::new();
                for row in &rows {
                    let minute_ms = number(row, "minute").saturating_mul(1000);
                    let Some(at) = minute_ms.checked_sub(start_ms).map(|offset| (offset / MINUTE_MS) as usize).filter(|at| *at < points) else { continue };
                    let queries = number(row, "queries");
                    if let Some(total) = traffic.timeline.total.get_mut(at) {
                        *total += queries;
                    }
                    let zone = text(row, "key").filter(|key| !key.is_empty()).unwrap_or_else(|| super::point::NO_ZONE.to_owned());
                    // Bounded: at most MAX_ROWS rows make entries.
                    if let Some(count) = by_zone.entry(zone).or_insert_with(|| vec![0; points]).get_mut(at) {
                        *count += queries;
                    }
                }
                let mut series: Vec<Series> = by_zone.into_iter().map(|(key, counts)| Series { key, counts }).collect();
                series.sort_by(|a, b| b.counts.iter().sum::<u64>().cmp(&a.counts.iter().sum::<u64>()).then_with(|| a.key.cmp(&b.key)));
                series.truncate(report::TIMELINE_ZONES);
                traffic.timeline.zones = series;
            }
            Part::Breakdown(breakdown) => {
                let counts: Vec<(String, u64)> = rows
                    .iter()
                    .map(|row| (text(row, "key").filter(|key| !key.is_empty()).unwrap_or_else(|| breakdown.empty().to_owned()), number(row, "queries")))
                    .collect();
                let listed: Vec<Count> = report::top(counts);
                let slot = match breakdown {
                    Breakdown::Zone => &mut traffic.zones,
                    Breakdown::Name => &mut traffic.names,
                    Breakdown::RecordType => &mut traffic.record_types,
                    Breakdown::Rcode => &mut traffic.rcodes,
                    Breakdown::Policy => &mut traffic.policies,
                    Breakdown::Country => &mut traffic.countries,
                    Breakdown::Colo => &mut traffic.colos,
                };
                *slot = listed;
            }
        }
    }
    traffic
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_api_is_used_only_with_an_account_and_a_token() {
        assert_eq!(SqlConfig::from_vars(vars(&[(ACCOUNT_VAR, "abc")])), None);
        assert_eq!(SqlConfig::from_vars(vars(&[(TOKEN_VAR, "t")])), None);
        let config = SqlConfig::from_vars(vars(&[(ACCOUNT_VAR, "0123abcd"), (TOKEN_VAR, "secret-token")])).unwrap().unwrap();
        assert_eq!(config.endpoint, "https://api.cloudflare.com/client/v4/accounts/0123abcd/analytics_engine/sql");
        assert_eq!(config.dataset, DEFAULT_DATASET);
        let local =
            SqlConfig::from_vars(vars(&[(ACCOUNT_VAR, "a1"), (TOKEN_VAR, "t"), (DATASET_VAR, "dns_2"), (API_BASE_VAR, "http://127.0.0.1:18890/client/v4/")]))
                .unwrap()
                .unwrap();
        assert_eq!(local.endpoint, "http://127.0.0.1:18890/client/v4/accounts/a1/analytics_engine/sql");
        assert_eq!(local.dataset, "dns_2");
    }

    #[test]
    fn settings_that_could_change_the_sql_or_leak_the_token_are_refused() {
        for (name, value) in
            [(DATASET_VAR, "queries; DROP"), (DATASET_VAR, "1abc"), (ACCOUNT_VAR, "../x"), (API_BASE_VAR, "http://evil.example"), (TOKEN_VAR, "a b")]
        {
            let mut pairs = vec![(ACCOUNT_VAR, "a1"), (TOKEN_VAR, "t")];
            pairs.retain(|(known, _)| *known != name);
            pairs.push((name, value));
            assert!(matches!(SqlConfig::from_vars(vars(&pairs)), Some(Err(SqlError::Setting(_)))), "{name}={value}");
        }
    }

    #[test]
    fn the_queries_read_the_documented_columns_within_the_window() {
        let all = queries("edgedns_queries", 15);
        assert_eq!(all.len(), 2 + Breakdown::ALL.len());
        let (part, totals) = &all[0];
        assert_eq!(*part, Part::Totals);
        assert_eq!(
            totals,
            "SELECT SUM(_sample_interval * double1) AS queries, SUM(_sample_interval * double1 * double2) AS blocked, \
             SUM(_sample_interval * double1 * double4) AS forwarded, SUM(_sample_interval * double1 * double3) AS cache_hits \
             FROM edgedns_queries WHERE timestamp > NOW() - INTERVAL '15' MINUTE FORMAT JSON"
        );
        let policy = all.iter().find(|(part, _)| *part == Part::Breakdown(Breakdown::Policy)).unwrap();
        assert_eq!(
            policy.1,
            "SELECT blob5 AS key, SUM(_sample_interval * double1) AS queries FROM edgedns_queries \
             WHERE timestamp > NOW() - INTERVAL '15' MINUTE AND blob5 != '' GROUP BY key ORDER BY queries DESC LIMIT 10 FORMAT JSON"
        );
        assert!(all[1].1.starts_with("SELECT toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '1' MINUTE)) AS minute, blob1 AS key"));
        assert!(queries("d", 900)[0].1.contains("INTERVAL '60' MINUTE"), "clamped to the hour");
    }

    #[test]
    fn answers_become_the_same_report_the_isolate_gives() {
        let now = 1_800_000_000_000 + 30_000;
        let minute = |back: u64| ((now / MINUTE_MS - back) * 60).to_string();
        let totals = br#"{"meta":[{"name":"queries","type":"Float64"}],"data":[{"queries":12,"blocked":1,"forwarded":"4","cache_hits":3.0}],"rows":1}"#;
        let timeline = format!(
            r#"{{"data":[{{"minute":{},"key":"example.com.","queries":5}},{{"minute":"{}","key":"","queries":2}},{{"minute":{},"key":"example.com.","queries":5}},{{"minute":1,"key":"old.","queries":9}}]}}"#,
            minute(1),
            minute(0),
            minute(0)
        );
        let rcodes = br#"{"data":[{"key":"NOERROR","queries":10},{"key":"NXDOMAIN","queries":"2"}]}"#;
        let countries = br#"{"data":[{"key":"","queries":7},{"key":"DE","queries":5}]}"#;
        let answers = vec![
            (Part::Totals, rows(totals).map_err(|e| e.to_string())),
            (Part::Timeline, rows(timeline.as_bytes()).map_err(|e| e.to_string())),
            (Part::Breakdown(Breakdown::Rcode), rows(rcodes).map_err(|e| e.to_string())),
            (Part::Breakdown(Breakdown::Country), rows(countries).map_err(|e| e.to_string())),
            (Part::Breakdown(Breakdown::Name), Err("HTTP 401".to_owned())),
        ];
        let report = assemble(5, now, 1.0, answers);
        assert_eq!(report.source, Source::AnalyticsEngine);
        assert_eq!(report.totals, Totals { queries: 12, blocked: 1, forwarded: 4, cache_hits: 3, cache_hit_rate: Some(0.75) });
        assert_eq!(report.timeline.total, [0, 0, 0, 5, 7], "the row from long ago is outside the window");
        assert_eq!(report.timeline.zones[0], Series { key: "example.com.".into(), counts: vec![0, 0, 0, 5, 5] });
        assert_eq!(report.timeline.zones[1].key, super::super::point::NO_ZONE);
        assert_eq!(report.rcodes[1], Count { key: "NXDOMAIN".into(), queries: 2 });
        assert_eq!(report.countries[0], Count { key: "(unknown)".into(), queries: 7 });
        assert_eq!(report.problems, ["Breakdown(Name): HTTP 401"]);
    }

    #[test]
    fn malformed_or_hostile_answers_are_errors_or_zeros_never_panics() {
        for body in [&b""[..], b"[]", b"{\"data\":{}}", b"{\"errors\":[{\"message\":\"bad\"}]}", b"{\"data\":[1,2]}", b"\xff\xfe"] {
            assert!(matches!(rows(body), Err(SqlError::Answer(_))), "{:?}", String::from_utf8_lossy(body));
        }
        let huge = vec![b' '; MAX_ANSWER_BYTES + 1];
        assert!(rows(&huge).is_err());
        let many = format!("{{\"data\":[{}]}}", vec!["{\"key\":\"a\",\"queries\":1}"; MAX_ROWS + 10].join(","));
        assert_eq!(rows(many.as_bytes()).unwrap().len(), MAX_ROWS);
        let odd = rows(br#"{"data":[{"key":5,"queries":-3},{"key":"x","queries":"1e400"},{"key":"y","queries":1e300}]}"#).unwrap();
        let report = assemble(1, 0, 1.0, vec![(Part::Breakdown(Breakdown::Zone), Ok(odd.clone())), (Part::Totals, Ok(odd)), (Part::Timeline, Ok(vec![]))]);
        assert_eq!(report.zones, [Count { key: "y".into(), queries: 1e300f64 as u64 }]);
        assert_eq!(report.totals.queries, 0);
    }
}
