//! The firewall's name rules as a compact table: per rule one [`Record`] of 8 bytes (its
//! [`Kind`], what it covers of its name, its line), and per kind (what a list's rules share:
//! action, rank, list, and the text around the name as the list writes it, `0.0.0.0 ` before
//! and nothing after in a hosts file, `||` and `^` in an AdBlock list) one entry. The text of
//! a rule is rebuilt from its kind and its name, for the one rule that decides a query only
//! ([`Explained`]); a rule whose text does not hold its name as keyed (written in Unicode or in
//! capitals) keeps its text beside the table. So a million-domain list costs its names, four
//! bytes a slot and eight a rule.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::rules::{Action, Rank, Rule};

/// The rule covers its name itself.
pub(super) const EXACT: u8 = 1;
/// The rule covers the names below its name.
pub(super) const BELOW: u8 = 2;

/// The most kinds a table holds (a record keeps the kind in 30 bits).
pub(super) const MAX_KINDS: usize = 1 << 30;

/// What rules share: what they do, how they rank, their list and the text around their name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Kind {
    /// What the rules do.
    pub(super) action: Action,
    /// Their rank.
    pub(super) rank: Rank,
    /// Their list's number among the firewall's list names, if the list is named.
    pub(super) list: Option<u32>,
    /// The text before the name.
    pub(super) before: Box<str>,
    /// The text after the name.
    pub(super) after: Box<str>,
}

/// One rule: its kind and what it covers (`kind << 2 | covers`), and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Record {
    /// The kind's number, shifted, with [`EXACT`] and/or [`BELOW`].
    pub(super) kind_covers: u32,
    /// The rule's line in its list.
    pub(super) line: u32,
}

impl Record {
    /// A record of kind `kind` (below [`MAX_KINDS`]).
    pub(super) fn new(kind: u32, covers: u8, line: u32) -> Self {
        Self { kind_covers: (kind << 2) | u32::from(covers & 3), line }
    }

    /// The kind's number.
    pub(super) fn kind(self) -> u32 {
        self.kind_covers >> 2
    }

    /// Whether it covers the name itself (`exact`) or the names below it.
    pub(super) fn covers(self, exact: bool) -> bool {
        self.kind_covers & u32::from(if exact { EXACT } else { BELOW }) != 0
    }
}

/// The name rules (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RuleTable {
    /// The kinds, numbered.
    pub(super) kinds: Vec<Kind>,
    /// The rules, numbered slot by slot ([`super::matching`]).
    pub(super) records: Vec<Record>,
    /// The texts of rules whose text does not hold their name as keyed, by rule number.
    pub(super) verbatim: HashMap<u32, Box<str>>,
}

/// Kinds interned while a table is built: a list's rules share a handful.
#[derive(Default)]
pub(super) struct Kinds<'a> {
    numbers: HashMap<(Rank, Option<u32>, &'a str, &'a str, ActionKey), u32>,
}

/// An action as a key (an override by its record's text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ActionKey {
    Allow,
    Alert,
    NxDomain,
    NoData,
    Override(String, u32),
}

impl ActionKey {
    fn of(action: &Action) -> Self {
        use super::rules::BlockAnswer;
        match action {
            Action::Allow => Self::Allow,
            Action::Alert => Self::Alert,
            Action::Block(BlockAnswer::NxDomain) => Self::NxDomain,
            Action::Block(BlockAnswer::NoData) => Self::NoData,
            Action::Block(BlockAnswer::Override { data, ttl }) => Self::Override(format!("{} {data}", data.record_type()), *ttl),
        }
    }
}

impl<'a> Kinds<'a> {
    /// The number of the kind of a rule (`text` holding `name`, its key, or not), adding it
    /// to `table` if it is new; whether the text must be kept verbatim. `None` past
    /// [`MAX_KINDS`].
    pub(super) fn number(&mut self, table: &mut RuleTable, action: &Action, rank: Rank, list: Option<u32>, text: &'a str, name: &str) -> Option<(u32, bool)> {
        let (before, after, verbatim) = match text.find(name) {
            Some(at) => (text.get(..at).unwrap_or(""), text.get(at + name.len()..).unwrap_or(""), false),
            None => ("", "", true),
        };
        let key = (rank, list, before, after, ActionKey::of(action));
        if let Some(&number) = self.numbers.get(&key) {
            return Some((number, verbatim));
        }
        if table.kinds.len() >= MAX_KINDS {
            return None;
        }
        let number = u32::try_from(table.kinds.len()).ok()?;
        table.kinds.push(Kind { action: action.clone(), rank, list, before: before.into(), after: after.into() });
        self.numbers.insert(key, number);
        Some((number, verbatim))
    }
}

impl RuleTable {
    /// Rule `rule` as written, its name (as keyed) `name`: its kept text, else rebuilt.
    pub(super) fn rule(&self, rule: u32, name: &str, list_names: &[Arc<str>]) -> Option<Rule> {
        let record = self.records.get(rule as usize)?;
        let kind = self.kinds.get(record.kind() as usize)?;
        let pattern = match self.verbatim.get(&rule) {
            Some(text) => text.to_string(),
            None => format!("{}{name}{}", kind.before, kind.after),
        };
        let list = kind.list.and_then(|list| list_names.get(list as usize)).cloned();
        Some(Rule { action: kind.action.clone(), pattern, line: record.line as usize, list, rank: kind.rank })
    }

    /// The bytes it holds (the kinds' texts and actions left out: a handful).
    pub(super) fn bytes(&self) -> usize {
        self.records.len() * std::mem::size_of::<Record>()
            + self.kinds.len() * std::mem::size_of::<Kind>()
            + self.verbatim.values().map(|text| text.len() + 32).sum::<usize>()
    }
}

/// Rules per chunk of [`Explained`].
const CHUNK: usize = 16;

/// When [`Explained::forget`] lets go of the rules built: past this many chunks (about 2 KB
/// each), a few thousand rules.
pub(super) const FORGET_PAST: usize = 2048;

/// The rules built for the queries they decided, so that a check hands out `&Rule`: built once
/// each, in chunks of [`CHUNK`] made when one of their rules is first needed (a pointer per
/// chunk until then). They are let go of by [`Explained::forget`] (which needs the firewall
/// alone: no rule handed out is still held), so a client asking for every name on a list
/// grows them only until then.
#[derive(Default)]
pub(super) struct Explained {
    chunks: Vec<OnceLock<Box<[OnceLock<Rule>]>>>,
    /// Chunks made.
    made: AtomicUsize,
}

impl Explained {
    /// Room for `rules` rules, none built.
    pub(super) fn new(rules: usize) -> Self {
        Self { chunks: (0..rules.div_ceil(CHUNK)).map(|_| OnceLock::new()).collect(), made: AtomicUsize::new(0) }
    }

    /// Rule `rule`, built by `build` the first time.
    pub(super) fn get_or(&self, rule: u32, build: impl FnOnce() -> Option<Rule>) -> Option<&Rule> {
        let index = rule as usize;
        let chunk = self.chunks.get(index / CHUNK)?.get_or_init(|| {
            self.made.fetch_add(1, Ordering::Relaxed);
            (0..CHUNK).map(|_| OnceLock::new()).collect()
        });
        let cell = chunk.get(index % CHUNK)?;
        if let Some(rule) = cell.get() {
            return Some(rule);
        }
        let built = build()?;
        Some(cell.get_or_init(|| built))
    }

    /// How many chunks are made.
    pub(super) fn made(&self) -> usize {
        self.made.load(Ordering::Relaxed)
    }

    /// Lets go of every rule built when more than `past` chunks are made; whether it did.
    pub(super) fn forget(&mut self, past: usize) -> bool {
        if *self.made.get_mut() <= past {
            return false;
        }
        for chunk in &mut self.chunks {
            chunk.take();
        }
        *self.made.get_mut() = 0;
        true
    }
}

impl Clone for Explained {
    /// A copy builds its own rules: none are copied.
    fn clone(&self) -> Self {
        Self::new(self.chunks.len() * CHUNK)
    }
}

impl PartialEq for Explained {
    /// What was built for queries is no part of what a firewall is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Explained {}

impl std::fmt::Debug for Explained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Explained({} chunks made)", self.made())
    }
}
