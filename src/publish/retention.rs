//! Retention: how the history changes when `snapshot:current` moves, and which versions' keys
//! may then be deleted. Pure functions of the history, the move and the time.
//!
//! A version's keys are deleted only when all of these hold:
//! * it is not current;
//! * it was not current within the grace period ([`Retention::grace_seconds`], default
//!   [`GRACE_SECONDS`], 10 minutes): an isolate keeps serving the version it loaded until its
//!   next pointer check (`SNAPSHOT_REFRESH_SECONDS`, default 30 s), reading that version's
//!   shards as queries need them, and KV takes up to about 60 s to carry the new pointer to
//!   every location, so a version that stopped being current a moment ago is still being read;
//! * it is not among the last [`Retention::versions`] published (default [`HISTORY_LENGTH`],
//!   10), which stay for rollbacks.
//!
//! There is no maximum age: a zone published rarely keeps its last ten versions however old
//! they are. The history lists every version whose keys are kept (so it may hold more than
//! ten entries during a burst of publishes, until their grace ends), and a version leaves it
//! only once its keys are deleted.

use super::history::{published_at_of, Published};

/// How many published versions are kept whatever their age (for rollbacks).
pub const HISTORY_LENGTH: usize = 10;

/// How long (seconds) a version that stopped being current is kept whatever its place in the
/// history: longer than KV's propagation (about 60 s) plus an isolate's refresh interval
/// (`SNAPSHOT_REFRESH_SECONDS`, 30 s unless set), with room to spare. A deployment with a
/// longer refresh interval needs a longer grace.
pub const GRACE_SECONDS: u64 = 600;

/// The retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How many of the last published versions are kept.
    pub versions: usize,
    /// How long (seconds) a version is kept after it stopped being current.
    pub grace_seconds: u64,
    /// How many keys one move may delete: the Worker's invocations have an operation budget
    /// (1,000 KV operations); versions that do not fit stay listed and go with a later move.
    pub deletion_budget: usize,
}

impl Retention {
    /// The defaults, with no budget on deletions (the CLI's bulk deletes).
    pub const DEFAULT: Self = Self { versions: HISTORY_LENGTH, grace_seconds: GRACE_SECONDS, deletion_budget: usize::MAX };
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How the pointer moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveKind {
    /// To a version just published.
    Publish,
    /// Back (or forward) to a version published earlier.
    Rollback,
}

/// A version as the pointer names it: its id and how many zones it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named<'a> {
    /// The version id.
    pub version: &'a str,
    /// Its (public) zones.
    pub zones: usize,
}

/// A move of `snapshot:current`, as the history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move<'a> {
    /// Publish or rollback.
    pub kind: MoveKind,
    /// The version now current.
    pub to: Named<'a>,
    /// The version the pointer named before, when it could be read.
    pub from: Option<Named<'a>>,
    /// When (Unix seconds).
    pub at: u64,
}

/// The history after `change`:
/// * a publish puts its version first (an earlier entry of the same version goes);
/// * a rollback marks its target current where it stands (publish order is kept, so the next
///   rollback steps back further), adding it by its publish time if the history lost it;
/// * the version the pointer named before is marked replaced now, added if the history lost
///   it (its keys would otherwise never be deleted);
/// * every other entry not yet marked replaced is marked replaced now: it stopped being
///   current at a time the history does not know (written before these times were recorded,
///   or a move whose history update was lost), and now is the safe side.
///
/// Duplicate entries (a hand-edited history) keep their first occurrence.
pub fn moved(history: &[Published], change: &Move<'_>) -> Vec<Published> {
    let mut entries: Vec<Published> = Vec::with_capacity(history.len() + 2);
    for entry in history {
        if !entries.iter().any(|kept: &Published| kept.version == entry.version) {
            entries.push(entry.clone());
        }
    }
    let to = change.to;
    let current = Published { version: to.version.to_owned(), published_at: change.at, zones: to.zones, current_since: Some(change.at), replaced_at: None };
    match change.kind {
        MoveKind::Publish => {
            entries.retain(|entry| entry.version != to.version);
            entries.insert(0, current);
        }
        MoveKind::Rollback => match entries.iter_mut().find(|entry| entry.version == to.version) {
            Some(entry) => {
                entry.current_since = Some(change.at);
                entry.replaced_at = None;
            }
            None => insert_by_publish_time(&mut entries, Published { published_at: published_at_of(to.version).unwrap_or(0), ..current }),
        },
    }
    if let Some(from) = change.from.filter(|from| from.version != to.version) {
        if !entries.iter().any(|entry| entry.version == from.version) {
            let lost = Published {
                version: from.version.to_owned(),
                published_at: published_at_of(from.version).unwrap_or(0),
                zones: from.zones,
                current_since: None,
                replaced_at: None,
            };
            insert_by_publish_time(&mut entries, lost);
        }
    }
    for entry in entries.iter_mut().filter(|entry| entry.version != to.version) {
        let was_current = change.from.is_some_and(|from| from.version == entry.version);
        if was_current || entry.replaced_at.is_none() {
            entry.replaced_at = Some(change.at);
        }
    }
    entries
}

/// Inserts `entry` before the first entry published before it (the history is newest first).
fn insert_by_publish_time(entries: &mut Vec<Published>, entry: Published) {
    let position = entries.iter().position(|other| other.published_at < entry.published_at).unwrap_or(entries.len());
    entries.insert(position, entry);
}

/// Whether `entry` is current or was within the grace period at `now`. An entry never marked
/// replaced counts as current.
pub fn recently_current(entry: &Published, now: u64, retention: &Retention) -> bool {
    match entry.replaced_at {
        None => true,
        // A time ahead of `now` (another machine's clock) counts as now.
        Some(at) => now.saturating_sub(at) < retention.grace_seconds,
    }
}

/// The versions of `history` whose keys may be deleted at `now`, oldest first: beyond the
/// last `retention.versions` published, not `current`, and not current within the grace.
pub fn expired(history: &[Published], current: &str, now: u64, retention: &Retention) -> Vec<String> {
    let mut expired: Vec<String> = history
        .iter()
        .enumerate()
        .filter(|(position, entry)| *position >= retention.versions && entry.version != current && !recently_current(entry, now, retention))
        .map(|(_, entry)| entry.version.clone())
        .collect();
    expired.reverse();
    expired
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Retention = Retention::DEFAULT;

    fn named(version: &str) -> Named<'_> {
        Named { version, zones: 1 }
    }

    fn publish<'a>(to: &'a str, from: Option<&'a str>, at: u64) -> Move<'a> {
        Move { kind: MoveKind::Publish, to: named(to), from: from.map(named), at }
    }

    fn rollback<'a>(to: &'a str, from: Option<&'a str>, at: u64) -> Move<'a> {
        Move { kind: MoveKind::Rollback, to: named(to), from: from.map(named), at }
    }

    fn versions(history: &[Published]) -> Vec<&str> {
        history.iter().map(|entry| entry.version.as_str()).collect()
    }

    /// Publishes `count` versions named `<time>-v<n>`, one every `every` seconds from `start`.
    fn publishes(count: u64, start: u64, every: u64) -> (Vec<Published>, Vec<String>) {
        let mut history = Vec::new();
        let mut names = Vec::new();
        let mut current: Option<String> = None;
        for n in 0..count {
            let at = start + n * every;
            let name = format!("{at}-v{n}");
            history = moved(&history, &publish(&name, current.as_deref(), at));
            current = Some(name.clone());
            names.push(name);
        }
        (history, names)
    }

    #[test]
    fn a_publish_goes_first_and_marks_the_previous_version_replaced() {
        let history = moved(&[], &publish("10-a", None, 10));
        assert_eq!(history, [Published { version: "10-a".into(), published_at: 10, zones: 1, current_since: Some(10), replaced_at: None }]);
        let history = moved(&history, &publish("20-b", Some("10-a"), 20));
        assert_eq!(versions(&history), ["20-b", "10-a"]);
        assert_eq!((history[0].current_since, history[0].replaced_at), (Some(20), None));
        assert_eq!((history[1].current_since, history[1].replaced_at), (Some(10), Some(20)));
        // Republished (the same content in the same second): one entry, current.
        let again = moved(&history, &publish("20-b", Some("20-b"), 21));
        assert_eq!(versions(&again), ["20-b", "10-a"]);
        assert_eq!((again[0].replaced_at, again[1].replaced_at), (None, Some(20)));
    }

    #[test]
    fn a_rollback_marks_its_target_current_in_place() {
        let (history, names) = publishes(3, 100, 10);
        let history = moved(&history, &rollback(&names[0], Some(&names[2]), 200));
        assert_eq!(versions(&history), [names[2].as_str(), names[1].as_str(), names[0].as_str()]);
        assert_eq!((history[2].current_since, history[2].replaced_at), (Some(200), None));
        assert_eq!(history[0].replaced_at, Some(200), "the version rolled back from was current until now");
        assert_eq!(history[1].replaced_at, Some(120), "the middle one keeps its own time");
        // A rollback to a version the history lost adds it by its publish time.
        let history = moved(&history, &rollback("115-lost", Some(&names[0]), 300));
        assert_eq!(versions(&history), [&names[2], "115-lost", &names[1], &names[0]]);
        assert_eq!((history[1].current_since, history[1].replaced_at), (Some(300), None));
        assert_eq!(history[3].replaced_at, Some(300));
    }

    #[test]
    fn a_lost_previous_version_and_old_entries_are_taken_as_replaced_now() {
        // As written before the times were recorded: no current_since, no replaced_at.
        let old: Vec<Published> =
            (0..3).map(|n| Published { version: format!("{}-old{n}", 30 - n), published_at: 30 - n, zones: 1, ..Published::default() }).collect();
        // The pointer named a version the history does not list (its update was lost).
        let history = moved(&old, &publish("100-new", Some("25-lost"), 100));
        assert_eq!(versions(&history), ["100-new", "30-old0", "29-old1", "28-old2", "25-lost"]);
        assert!(history[1..].iter().all(|entry| entry.replaced_at == Some(100)), "{history:?}");
        assert_eq!(history[4].current_since, None);
        // Nothing of it expires before the grace ends.
        let tight = Retention { versions: 1, ..R };
        assert!(expired(&history, "100-new", 100 + GRACE_SECONDS - 1, &tight).is_empty());
        assert_eq!(expired(&history, "100-new", 100 + GRACE_SECONDS, &tight), ["25-lost", "28-old2", "29-old1", "30-old0"]);
    }

    #[test]
    fn the_last_ten_are_kept_and_older_ones_go_once_their_grace_ends() {
        // Twelve publishes a minute apart: the two oldest stopped being current 11 and 10
        // minutes before the last one.
        let (history, names) = publishes(12, 1_000, 60);
        let now = 1_000 + 11 * 60;
        assert_eq!(history.len(), 12);
        assert_eq!(expired(&history, &names[11], now, &R), [names[0].as_str()]);
        // The second one's grace ends a minute later (it was replaced a minute later).
        assert_eq!(expired(&history, &names[11], now + 59, &R), [names[0].as_str()]);
        assert_eq!(expired(&history, &names[11], now + 60, &R), [names[0].as_str(), names[1].as_str()]);
        // Never a version among the last ten, however old.
        assert_eq!(expired(&history, &names[11], now + 1_000_000, &R), [names[0].as_str(), names[1].as_str()]);
    }

    #[test]
    fn twelve_publishes_within_a_minute_delete_nothing() {
        let (history, names) = publishes(12, 1_000, 5);
        assert_eq!(history.len(), 12);
        for now in [1_055, 1_060, 1_000 + GRACE_SECONDS] {
            assert!(expired(&history, &names[11], now, &R).is_empty(), "{now}");
        }
        // Once the grace of the two oldest has ended (replaced at 1,005 and 1,010).
        assert_eq!(expired(&history, &names[11], 1_005 + GRACE_SECONDS, &R), [names[0].as_str()]);
        assert_eq!(expired(&history, &names[11], 1_010 + GRACE_SECONDS, &R), [names[0].as_str(), names[1].as_str()]);
    }

    #[test]
    fn rolling_back_to_the_oldest_then_publishing_keeps_it_through_the_grace() {
        let (history, names) = publishes(10, 1_000, 60);
        let rolled = moved(&history, &rollback(&names[0], Some(&names[9]), 2_000));
        assert!(expired(&rolled, &names[0], 2_000, &R).is_empty());
        let published = moved(&rolled, &publish("2010-new", Some(&names[0]), 2_010));
        assert_eq!(published.len(), 11);
        assert_eq!(published[10].version, names[0], "the version rolled back to is now beyond the last ten");
        assert_eq!(published[10].replaced_at, Some(2_010));
        assert!(expired(&published, "2010-new", 2_010, &R).is_empty(), "it was current a moment ago");
        assert!(expired(&published, "2010-new", 2_010 + GRACE_SECONDS - 1, &R).is_empty());
        assert_eq!(expired(&published, "2010-new", 2_010 + GRACE_SECONDS, &R), [names[0].as_str()]);
        // The current version never expires, wherever it stands.
        assert!(expired(&rolled, &names[0], 1_000_000, &Retention { versions: 0, ..R }).iter().all(|v| v != &names[0]));
    }

    #[test]
    fn the_current_version_and_unmarked_entries_never_expire() {
        let entry = |version: &str, replaced_at: Option<u64>| Published { version: version.into(), replaced_at, ..Published::default() };
        let history = vec![entry("a", Some(0)), entry("b", None), entry("c", Some(0))];
        let none = Retention { versions: 0, ..R };
        assert_eq!(expired(&history, "c", 1_000_000, &none), ["a"]);
        // A time ahead of the clock counts as now.
        assert!(recently_current(&entry("d", Some(5_000)), 1_000, &R));
    }

    #[test]
    fn duplicates_keep_their_first_occurrence() {
        let entry = |version: &str, at: u64| Published { version: version.into(), published_at: at, ..Published::default() };
        let history = vec![entry("3-c", 3), entry("2-b", 2), entry("3-c", 1)];
        let next = moved(&history, &publish("4-d", Some("3-c"), 4));
        assert_eq!(versions(&next), ["4-d", "3-c", "2-b"]);
    }
}
