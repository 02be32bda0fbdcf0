//! What a rule is: its action, what a block answers, its rank, and where it came from (the
//! list, the line and the rule as written there), for explain and the log.

use std::sync::Arc;

use hickory_proto::rr::{RData, RecordType};

/// The TTL of an override record when the rule gives none.
pub const DEFAULT_OVERRIDE_TTL: u32 = 60;

/// What a block answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockAnswer {
    /// NXDOMAIN.
    NxDomain,
    /// NOERROR with no records.
    NoData,
    /// This record instead (for its type; NODATA for other types).
    Override {
        /// The record data.
        data: RData,
        /// Its TTL.
        ttl: u32,
    },
}

impl BlockAnswer {
    /// The override record's type, if it has one.
    pub fn record_type(&self) -> Option<RecordType> {
        match self {
            Self::Override { data, .. } => Some(data.record_type()),
            _ => None,
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer normally; no less specific rule of the same rank applies.
    Allow,
    /// Answer normally and log.
    Alert,
    /// Answer as given, with EDE 15.
    Block(BlockAnswer),
}

impl Action {
    /// The word for it in explain and the log.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Alert => "alert",
            Self::Block(_) => "block",
        }
    }

    /// Between rules of one rank for one pattern (from two lists): an allow beats a block,
    /// which beats an alert.
    pub(super) fn precedence(&self) -> u8 {
        match self {
            Self::Allow => 2,
            Self::Block(_) => 1,
            Self::Alert => 0,
        }
    }
}

/// Which rules beat which, before specificity is considered: a rule of a higher rank decides
/// wherever it matches, and among rules of one rank the most specific pattern decides. Native
/// rules, hosts files, domain lists and RPZ zones hold [`Rank::Plain`] rules only, so the most
/// specific rule decides there; AdBlock-style lists use the other ranks, as AdGuard Home reads
/// them: an exception (`@@`) beats a block unless the block is `$important`, and an
/// `@@...$important` exception beats that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Rank {
    /// A rule, most specific first.
    #[default]
    Plain,
    /// An AdBlock-style exception (`@@||good.example^`).
    Exception,
    /// An AdBlock-style `$important` block.
    Important,
    /// An AdBlock-style `@@...$important` exception.
    ImportantException,
}

/// One rule, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What it does.
    pub action: Action,
    /// The rule as written: the pattern of a native rule (`ads.example.com`,
    /// `*.tracker.example`), the source line's rule otherwise (`||ads.example^$important`,
    /// `0.0.0.0 ads.example`, `ads.example CNAME .`).
    pub pattern: String,
    /// Its line in the list.
    pub line: usize,
    /// The list it came from (a published list's name: its file name), if it was named.
    pub list: Option<Arc<str>>,
    /// Its rank.
    pub rank: Rank,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.list {
            Some(list) => write!(f, "{} {} ({list} line {})", self.action.word(), self.pattern, self.line),
            None => write!(f, "{} {} (line {})", self.action.word(), self.pattern, self.line),
        }
    }
}
