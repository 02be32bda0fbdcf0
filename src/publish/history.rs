//! The publish history (`snapshot:history`, JSON): the versions published, newest first, with
//! when each was last made current and when another replaced it. `edgedns versions` and
//! `GET /admin/zones` list it, a rollback steps back along it ([`rollback_target`]), and
//! retention ([`super::retention`]) decides from it which versions' keys may go. Answering
//! never reads it.

use serde::{Deserialize, Serialize};

/// The KV key of the publish history.
pub const HISTORY_KEY: &str = "snapshot:history";

/// One published version, as the history keeps it.
///
/// The last two fields were added after the first histories were written: a history without
/// them still parses, and the next move of the pointer fills them in ([`super::retention::moved`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The version id ([`crate::snapshot::version_id`]).
    pub version: String,
    /// When it was published (Unix seconds).
    pub published_at: u64,
    /// How many (public) zones it holds.
    pub zones: usize,
    /// When it was last made current, by its publish or by a rollback (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_since: Option<u64>,
    /// When another version was made current after it (Unix seconds); `None` while it is
    /// current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_at: Option<u64>,
}

/// The publish time a version id starts with (`<unix-seconds>-<hash>`), for versions the
/// history does not list.
pub fn published_at_of(version: &str) -> Option<u64> {
    version.split_once('-').and_then(|(seconds, _)| seconds.parse().ok())
}

/// Why the history key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError(pub String);

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{HISTORY_KEY} is not a publish history: {}", self.0)
    }
}

impl std::error::Error for HistoryError {}

/// Reads the history key's value (a JSON list of [`Published`], newest first).
pub fn history_from_json(text: &str) -> Result<Vec<Published>, HistoryError> {
    serde_json::from_str(text).map_err(|e| HistoryError(e.to_string()))
}

/// The history key's value.
pub fn history_to_json(history: &[Published]) -> String {
    // A list of plain structs of strings and integers always serializes.
    serde_json::to_string(history).unwrap_or_else(|_| "[]".to_owned())
}

/// Why there is nothing to roll back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackError {
    /// The current version is not in the history, so its predecessor is unknown.
    CurrentNotInHistory(String),
    /// The current version is the oldest the history holds.
    NothingBefore(String),
    /// The version asked for is already current.
    AlreadyCurrent(String),
}

impl std::fmt::Display for RollbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CurrentNotInHistory(version) => {
                write!(f, "the current version {version} is not in {HISTORY_KEY}: give --to VERSION")
            }
            Self::NothingBefore(version) => write!(f, "the current version {version} is the oldest in the history"),
            Self::AlreadyCurrent(version) => write!(f, "{version} is already current"),
        }
    }
}

impl std::error::Error for RollbackError {}

/// The version a rollback points `snapshot:current` at: `to` when given (any version whose
/// keys are still in KV; the sequence checks that it decodes), else the one published before
/// `current`. A rollback does not reorder the history (it records when the version was made
/// current, in place), so rolling back twice steps back twice.
pub fn rollback_target(history: &[Published], current: &str, to: Option<&str>) -> Result<String, RollbackError> {
    if let Some(to) = to {
        return if to == current { Err(RollbackError::AlreadyCurrent(to.to_owned())) } else { Ok(to.to_owned()) };
    }
    let position = history.iter().position(|entry| entry.version == current).ok_or_else(|| RollbackError::CurrentNotInHistory(current.to_owned()))?;
    history
        .iter()
        .skip(position + 1)
        .find(|entry| entry.version != current)
        .map(|entry| entry.version.clone())
        .ok_or_else(|| RollbackError::NothingBefore(current.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(versions: &[&str]) -> Vec<Published> {
        versions
            .iter()
            .enumerate()
            .map(|(i, v)| Published { version: (*v).to_owned(), published_at: 100 - i as u64, zones: 1, ..Published::default() })
            .collect()
    }

    #[test]
    fn the_history_round_trips_through_json_and_old_histories_still_parse() {
        let mut history = published(&["b", "a"]);
        history[0].current_since = Some(100);
        history[1].replaced_at = Some(100);
        assert_eq!(history_from_json(&history_to_json(&history)).unwrap(), history);
        assert_eq!(
            history_to_json(&history),
            r#"[{"version":"b","published_at":100,"zones":1,"current_since":100},{"version":"a","published_at":99,"zones":1,"replaced_at":100}]"#
        );
        // As written before the last two fields existed.
        let old = history_from_json(r#"[{"version":"b","published_at":100,"zones":1}]"#).unwrap();
        assert_eq!(old, published(&["b"]));
        assert_eq!(history_to_json(&old), r#"[{"version":"b","published_at":100,"zones":1}]"#);
        assert!(history_from_json("{").is_err());
        assert!(history_from_json("[{\"version\": 1}]").is_err());
    }

    #[test]
    fn version_ids_carry_their_publish_time() {
        assert_eq!(published_at_of("1718000000-00ff"), Some(1_718_000_000));
        assert_eq!(published_at_of(&crate::snapshot::version_id(b"x", 17)), Some(17));
        for bad in ["", "abc", "-1", "x-1", "12"] {
            assert_eq!(published_at_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn rollback_steps_back_along_the_history() {
        let history = published(&["c", "b", "a"]);
        assert_eq!(rollback_target(&history, "c", None), Ok("b".to_owned()));
        // After rolling back to b, the next rollback goes to a.
        assert_eq!(rollback_target(&history, "b", None), Ok("a".to_owned()));
        assert_eq!(rollback_target(&history, "a", None), Err(RollbackError::NothingBefore("a".to_owned())));
        assert_eq!(rollback_target(&history, "x", None), Err(RollbackError::CurrentNotInHistory("x".to_owned())));
        assert_eq!(rollback_target(&history, "x", Some("a")), Ok("a".to_owned()));
        assert_eq!(rollback_target(&history, "c", Some("c")), Err(RollbackError::AlreadyCurrent("c".to_owned())));
        assert_eq!(rollback_target(&[], "c", Some("old")), Ok("old".to_owned()));
    }
}
