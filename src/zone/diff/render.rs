//! A [`CatalogDiff`] as people and tools read it: plain text for a terminal, Markdown for a
//! pull request's change summary, JSON for scripts (`edgedns diff --format`).

use std::fmt;

use serde_json::{json, Value};

use super::{CatalogDiff, HealthCheckChange, RecordChange, ZoneChange};

/// How `edgedns diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A heading line, then one line per change (the `Display` of [`CatalogDiff`]).
    #[default]
    Text,
    /// GitHub-flavoured Markdown: a summary table and a `diff` block per changed zone.
    Markdown,
    /// One JSON object: counts, then every change with its fields.
    Json,
}

impl Format {
    /// The names `--format` takes.
    pub const NAMES: [&'static str; 3] = ["text", "markdown", "json"];

    /// `text`, `markdown` (or `md`), `json`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "markdown" | "md" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// What the new zone files were compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Against {
    /// The version served there; `None` when nothing was published yet.
    pub version: Option<String>,
    /// Where, in words: `remote KV binding ZONES (env staging)`.
    pub place: String,
}

/// The counts a summary shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Zones only in the new catalog.
    pub zones_added: usize,
    /// Zones only in the served one.
    pub zones_removed: usize,
    /// Zones in both whose contents differ.
    pub zones_changed: usize,
    /// Records added inside changed zones.
    pub records_added: usize,
    /// Records removed inside changed zones.
    pub records_removed: usize,
    /// RRsets whose TTL alone changed.
    pub ttls_changed: usize,
    /// Routed record sets added, removed or changed.
    pub routed_sets_changed: usize,
    /// Health-check declarations added, removed or changed.
    pub health_checks_changed: usize,
}

impl CatalogDiff {
    /// The counts of each kind of change.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary { health_checks_changed: self.health_checks.len(), ..Summary::default() };
        for zone in &self.zones {
            match zone {
                ZoneChange::Added { .. } => summary.zones_added += 1,
                ZoneChange::Removed { .. } => summary.zones_removed += 1,
                ZoneChange::Changed { changes, .. } => {
                    summary.zones_changed += 1;
                    for change in changes {
                        match change {
                            RecordChange::Added(_) => summary.records_added += 1,
                            RecordChange::Removed(_) => summary.records_removed += 1,
                            RecordChange::TtlChanged { .. } => summary.ttls_changed += 1,
                            RecordChange::RoutedAdded { .. } | RecordChange::RoutedRemoved { .. } | RecordChange::RoutedChanged { .. } => {
                                summary.routed_sets_changed += 1;
                            }
                        }
                    }
                }
            }
        }
        summary
    }

    /// The whole report in `format`, ending with a newline.
    pub fn render(&self, against: &Against, format: Format) -> String {
        match format {
            Format::Text => {
                let heading = match &against.version {
                    Some(version) => format!("against snapshot {version} ({})", against.place),
                    None => format!("nothing published yet ({}): every zone is new", against.place),
                };
                format!("{heading}\n{self}\n")
            }
            Format::Markdown => self.markdown(against),
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&self.json(against)).unwrap_or_default();
                text.push('\n');
                text
            }
        }
    }

    fn markdown(&self, against: &Against) -> String {
        let mut out = format!("### edgedns diff: {}\n\n", against.place);
        match &against.version {
            Some(version) => out.push_str(&format!("Compared with the served snapshot {}.\n\n", code(version))),
            None => out.push_str("Nothing is published there yet: every zone is new.\n\n"),
        }
        if self.is_empty() {
            out.push_str("**No changes**: publishing would serve the same answers.\n");
            return out;
        }
        let s = self.summary();
        out.push_str(&format!(
            "**{} zone(s) added, {} removed, {} changed**: {} record(s) added, {} removed, {} TTL change(s), {} routed set change(s); \
             {} health check change(s){}.\n\n",
            s.zones_added,
            s.zones_removed,
            s.zones_changed,
            s.records_added,
            s.records_removed,
            s.ttls_changed,
            s.routed_sets_changed,
            s.health_checks_changed,
            if self.latency_matrix_changed { "; the latency matrix changed" } else { "" }
        ));
        out.push_str("| zone | change |\n|---|---|\n");
        for zone in &self.zones {
            let (apex, what) = match zone {
                ZoneChange::Added { apex, records, routed_sets } => (apex, format!("added ({records} records, {routed_sets} routed record sets)")),
                ZoneChange::Removed { apex } => (apex, "removed".to_owned()),
                ZoneChange::Changed { apex, changes } => (apex, format!("{} change(s)", changes.len())),
            };
            out.push_str(&format!("| {} | {what} |\n", cell(&code(&apex.to_string()))));
        }
        for check in &self.health_checks {
            let (id, what) = match check {
                HealthCheckChange::Added(id) => (id, "added"),
                HealthCheckChange::Removed(id) => (id, "removed"),
                HealthCheckChange::Changed(id) => (id, "changed"),
            };
            out.push_str(&format!("| health check {} | {what} |\n", cell(&code(id))));
        }
        for zone in &self.zones {
            if let ZoneChange::Changed { apex, changes } = zone {
                let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
                let block = lines.join("\n");
                let fence = fence(&block);
                out.push_str(&format!(
                    "\n<details><summary>{}: {} change(s)</summary>\n\n{fence}diff\n{block}\n{fence}\n\n</details>\n",
                    html(&apex.to_string()),
                    changes.len()
                ));
            }
        }
        out
    }

    /// The report as one JSON value (`--format json`): `changed`, the [`Summary`], and every
    /// change (records with owner, TTL, type and data, in presentation format).
    pub fn json(&self, against: &Against) -> Value {
        let s = self.summary();
        let zones: Vec<Value> = self
            .zones
            .iter()
            .map(|zone| match zone {
                ZoneChange::Added { apex, records, routed_sets } => {
                    json!({"zone": apex.to_string(), "change": "added", "records": records, "routed_sets": routed_sets})
                }
                ZoneChange::Removed { apex } => json!({"zone": apex.to_string(), "change": "removed"}),
                ZoneChange::Changed { apex, changes } => {
                    json!({"zone": apex.to_string(), "change": "changed", "changes": changes.iter().map(record_json).collect::<Vec<_>>()})
                }
            })
            .collect();
        let health_checks: Vec<Value> = self
            .health_checks
            .iter()
            .map(|check| match check {
                HealthCheckChange::Added(id) => json!({"id": id, "change": "added"}),
                HealthCheckChange::Removed(id) => json!({"id": id, "change": "removed"}),
                HealthCheckChange::Changed(id) => json!({"id": id, "change": "changed"}),
            })
            .collect();
        json!({
            "against": {"version": against.version, "place": against.place},
            "changed": !self.is_empty(),
            "summary": {
                "zones_added": s.zones_added,
                "zones_removed": s.zones_removed,
                "zones_changed": s.zones_changed,
                "records_added": s.records_added,
                "records_removed": s.records_removed,
                "ttls_changed": s.ttls_changed,
                "routed_sets_changed": s.routed_sets_changed,
                "health_checks_changed": s.health_checks_changed,
            },
            "zones": zones,
            "health_checks": health_checks,
            "latency_matrix_changed": self.latency_matrix_changed,
        })
    }
}

fn record_json(change: &RecordChange) -> Value {
    let record = |op: &str, record: &hickory_proto::rr::Record| {
        json!({
            "op": op,
            "owner": record.name.to_string(),
            "ttl": record.ttl,
            "type": record.record_type().to_string(),
            "data": record.data.to_string(),
        })
    };
    match change {
        RecordChange::Added(added) => record("add", added),
        RecordChange::Removed(removed) => record("remove", removed),
        RecordChange::TtlChanged { owner, record_type, old, new } => {
            json!({"op": "ttl", "owner": owner.to_string(), "type": record_type.to_string(), "old_ttl": old, "new_ttl": new})
        }
        RecordChange::RoutedAdded { owner, record_type, ttl } => {
            json!({"op": "add_routed", "owner": owner.to_string(), "type": record_type.to_string(), "ttl": ttl})
        }
        RecordChange::RoutedRemoved { owner, record_type } => json!({"op": "remove_routed", "owner": owner.to_string(), "type": record_type.to_string()}),
        RecordChange::RoutedChanged { owner, record_type, old_ttl, new_ttl } => json!({
            "op": "change_routed", "owner": owner.to_string(), "type": record_type.to_string(), "old_ttl": old_ttl, "new_ttl": new_ttl
        }),
    }
}

/// The longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A code fence no line of `block` can close (CommonMark: a fence is closed only by a run of
/// backticks at least as long).
fn fence(block: &str) -> String {
    "`".repeat(longest_backtick_run(block).max(2) + 1)
}

/// `text` as an inline code span (a TXT value may hold backticks: the span's delimiters are
/// longer than any run inside, with a space when it starts or ends with one).
fn code(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// A table cell: GFM splits cells at `|` even inside code spans unless it is escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Text inside HTML (the `<summary>` of a zone's details).
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl fmt::Display for RecordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added(record) => write!(f, "+ {record}"),
            Self::Removed(record) => write!(f, "- {record}"),
            Self::TtlChanged { owner, record_type, old, new } => write!(f, "~ {owner} {record_type} TTL {old} -> {new}"),
            Self::RoutedAdded { owner, record_type, ttl } => write!(f, "+ {owner} {ttl} {record_type} routed set"),
            Self::RoutedRemoved { owner, record_type } => write!(f, "- {owner} {record_type} routed set"),
            Self::RoutedChanged { owner, record_type, old_ttl, new_ttl } => {
                write!(f, "~ {owner} {record_type} routed set changed")?;
                if old_ttl != new_ttl {
                    write!(f, " (TTL {old_ttl} -> {new_ttl})")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for ZoneChange {
    /// One line for an added or removed zone; a heading and one indented line per change
    /// for a changed one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added { apex, records, routed_sets } => {
                write!(f, "zone {apex}: added ({records} records, {routed_sets} routed record sets)")
            }
            Self::Removed { apex } => write!(f, "zone {apex}: removed"),
            Self::Changed { apex, changes } => {
                write!(f, "zone {apex}: {} change(s)", changes.len())?;
                for change in changes {
                    write!(f, "\n  {change}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for HealthCheckChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Added(id) => write!(f, "health check {id}: added"),
            Self::Removed(id) => write!(f, "health check {id}: removed"),
            Self::Changed(id) => write!(f, "health check {id}: changed"),
        }
    }
}

impl fmt::Display for CatalogDiff {
    /// Every change, one zone or health check per paragraph; "no changes" when there is none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no changes");
        }
        let mut lines: Vec<String> = self.zones.iter().map(ToString::to_string).collect();
        lines.extend(self.health_checks.iter().map(ToString::to_string));
        if self.latency_matrix_changed {
            lines.push("latency matrix: changed".to_owned());
        }
        f.write_str(&lines.join("\n"))
    }
}
