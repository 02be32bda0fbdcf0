//! What is known of each subscribed list ([`STATUS_KEY`](super::STATUS_KEY)): the version
//! serving (the last good download, compiled), the validators to fetch it conditionally with,
//! when it was checked and changed, and the last error. Read by the scheduled run (what is
//! due), by isolates (which versions to load) and by the admin API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::Subscriptions;

/// The largest status value read, in bytes (16 lists of a few hundred bytes each fit many
/// times over).
pub const MAX_STATUS_BYTES: usize = 256 * 1024;
/// The longest validator (`ETag`, `Last-Modified`) or error message kept.
pub const MAX_FIELD_LENGTH: usize = 512;

/// Every subscribed list's entry, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The entries.
    pub lists: BTreeMap<String, Entry>,
}

/// One list's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The URL its last download came from (a changed URL is fetched again unconditionally).
    pub url: String,
    /// The version serving (`firewall:<version>`): the last good download, compiled.
    #[serde(default)]
    pub version: Option<String>,
    /// The version before it, still in KV for isolates that have not moved on.
    #[serde(default)]
    pub previous_version: Option<String>,
    /// The last good download's `ETag`.
    #[serde(default)]
    pub etag: Option<String>,
    /// The last good download's `Last-Modified`.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// A fingerprint of the last good download (a server without validators that sends the
    /// same list again publishes nothing).
    #[serde(default)]
    pub digest: Option<String>,
    /// The format it was read as.
    #[serde(default)]
    pub format: Option<String>,
    /// Rules in the version serving.
    #[serde(default)]
    pub rules: usize,
    /// Lines of it that cannot be expressed here (skipped).
    #[serde(default)]
    pub skipped: usize,
    /// Its bytes as downloaded.
    #[serde(default)]
    pub bytes: usize,
    /// When it was last fetched (Unix seconds), successfully or not.
    #[serde(default)]
    pub checked_at: Option<u64>,
    /// When it last answered with a list or "not modified".
    #[serde(default)]
    pub fresh_at: Option<u64>,
    /// When the version serving was published.
    #[serde(default)]
    pub changed_at: Option<u64>,
    /// Why the last fetch failed, if it did (cleared by the next good one).
    #[serde(default)]
    pub error: Option<String>,
    /// Fetches failed in a row.
    #[serde(default)]
    pub failures: u32,
}

/// Why a status value was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// Over [`MAX_STATUS_BYTES`].
    TooLarge(usize),
    /// Not the JSON of a status.
    Corrupt(String),
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge(bytes) => write!(f, "{bytes} bytes, over the limit of {MAX_STATUS_BYTES}"),
            Self::Corrupt(why) => write!(f, "not a subscription status: {why}"),
        }
    }
}

impl Status {
    /// Reads a stored status, bounded before it is parsed.
    pub fn decode(bytes: &[u8]) -> Result<Self, StatusError> {
        if bytes.len() > MAX_STATUS_BYTES {
            return Err(StatusError::TooLarge(bytes.len()));
        }
        serde_json::from_slice(bytes).map_err(|e| StatusError::Corrupt(e.to_string()))
    }

    /// Its stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"lists\": {}}".to_owned())
    }

    /// Drops the entries of lists no longer subscribed to; returns the versions they held,
    /// to delete.
    pub fn retain(&mut self, subscriptions: &Subscriptions) -> Vec<String> {
        let gone: Vec<String> = self.lists.keys().filter(|name| subscriptions.get(name).is_none()).cloned().collect();
        let mut versions = Vec::new();
        for name in gone {
            if let Some(entry) = self.lists.remove(&name) {
                versions.extend(entry.version);
                versions.extend(entry.previous_version);
            }
        }
        versions
    }

    /// The versions isolates serve, subscription by subscription, in the configuration's
    /// order: `(name, version)` for each list with a good download.
    pub fn serving<'a>(&'a self, subscriptions: &'a Subscriptions) -> impl Iterator<Item = (&'a str, &'a str)> {
        subscriptions.iter().filter_map(|list| {
            let entry = self.lists.get(&list.name)?;
            Some((list.name.as_str(), entry.version.as_deref()?))
        })
    }
}

impl Status {
    /// What `GET /admin/firewall/subscriptions` shows at `now` (Unix seconds): each list
    /// subscribed to, in order, with its settings, its entry (null before its first fetch),
    /// when it is fetched next and the version this isolate holds of it (`held`).
    pub fn report(&self, subscriptions: &Subscriptions, held: &[(String, String)], now: u64) -> serde_json::Value {
        let lists: Vec<serde_json::Value> = subscriptions
            .iter()
            .map(|list| {
                let entry = self.lists.get(&list.name).filter(|entry| entry.url == list.url);
                let next = super::refresh::next_check(list, entry);
                serde_json::json!({
                    "name": list.name,
                    "url": list.url,
                    "format": list.format.map_or("auto", |format| format.name()),
                    "refresh_seconds": list.refresh_s,
                    "status": entry,
                    "next_check_at": next,
                    "next_check_in_seconds": next.map_or(0, |next| next.saturating_sub(now)),
                    "held": held.iter().find(|(name, _)| *name == list.name).map(|(_, version)| version),
                })
            })
            .collect();
        serde_json::json!({ "subscriptions": lists })
    }
}

/// `text` cut to [`MAX_FIELD_LENGTH`] bytes, at a character boundary.
pub(super) fn bounded(text: &str) -> String {
    let mut end = text.len().min(MAX_FIELD_LENGTH);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_no_status() {
        let mut status = Status::default();
        status.lists.insert("a".into(), Entry { url: "https://x.example/a".into(), version: Some("1-ab".into()), rules: 3, ..Entry::default() });
        assert_eq!(Status::decode(status.encode().as_bytes()).unwrap(), status);
        // Fields added later read as their defaults.
        let old = Status::decode(br#"{"lists": {"a": {"url": "https://x.example/a"}}}"#).unwrap();
        assert_eq!(old.lists.get("a").map(|entry| entry.failures), Some(0));
        assert!(matches!(Status::decode(b"[1, 2]"), Err(StatusError::Corrupt(_))));
        assert!(matches!(Status::decode(&vec![b' '; MAX_STATUS_BYTES + 1]), Err(StatusError::TooLarge(_))));
    }

    #[test]
    fn entries_of_lists_unsubscribed_are_dropped_with_their_versions() {
        let subscriptions = Subscriptions::parse(r#"{"kept": {"url": "https://x.example/k"}}"#).unwrap();
        let mut status = Status::default();
        let entry = |version: &str| Entry { url: "https://x.example/k".into(), version: Some(version.into()), ..Entry::default() };
        status.lists.insert("kept".into(), entry("1-k"));
        status.lists.insert("gone".into(), Entry { previous_version: Some("0-g".into()), ..entry("1-g") });
        assert_eq!(status.serving(&subscriptions).collect::<Vec<_>>(), [("kept", "1-k")]);
        assert_eq!(status.retain(&subscriptions), ["1-g", "0-g"]);
        assert_eq!(status.lists.keys().collect::<Vec<_>>(), ["kept"]);
    }

    #[test]
    fn the_report_shows_each_list_with_its_entry_and_next_check() {
        let subscriptions =
            Subscriptions::parse(r#"{"a": {"url": "https://x.example/a", "refresh_seconds": 600}, "b": {"url": "https://x.example/b", "format": "hosts"}}"#)
                .unwrap();
        let mut status = Status::default();
        status.lists.insert(
            "a".into(),
            Entry {
                url: "https://x.example/a".into(),
                version: Some("1-a".into()),
                checked_at: Some(1000),
                error: Some("HTTP status 503".into()),
                failures: 1,
                ..Entry::default()
            },
        );
        let report = status.report(&subscriptions, &[("a".to_owned(), "1-a".to_owned())], 1030);
        let lists = report["subscriptions"].as_array().unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!((lists[0]["name"].as_str(), lists[0]["held"].as_str()), (Some("a"), Some("1-a")));
        assert_eq!(lists[0]["status"]["error"], "HTTP status 503");
        assert_eq!(lists[0]["next_check_in_seconds"], 30, "a failing list is retried a minute after");
        assert_eq!(lists[0]["next_check_at"], 1060);
        assert_eq!((lists[1]["format"].as_str(), lists[1]["status"].is_null(), lists[1]["held"].is_null()), (Some("hosts"), true, true));
    }

    #[test]
    fn fields_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_FIELD_LENGTH);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_FIELD_LENGTH && cut.chars().all(|c| c == 'é'));
        assert_eq!(bounded("short"), "short");
    }
}
