//! Counts of blocked queries, per profile, per list and per rule, as one isolate saw them
//! (`GET /admin/firewall/stats`): what NextDNS and AdGuard Home show as "top blocked". Kept in
//! bounded memory: past [`MAX_RULES_COUNTED`] rules (or [`MAX_LISTS_COUNTED`] profile and list
//! pairs) a new one is counted in the totals only, and the report says how many blocks were
//! left out of the finer counts. Sans IO: the Worker calls [`BlockCounts::record`] with the
//! reason of each block it answers and renders [`BlockCounts::report`].

use std::collections::HashMap;

use serde::Serialize;

use super::firewall::Action;
use super::profile::Reason;

/// The most rules counted one by one.
pub const MAX_RULES_COUNTED: usize = 2_048;
/// The most (profile, list) pairs counted one by one.
pub const MAX_LISTS_COUNTED: usize = 1_024;
/// How many rules a report lists, most blocks first.
pub const REPORT_RULES: usize = 100;

/// The name a block without a profile (no `PROFILES`, or `/dns-query` without a `default`)
/// is counted under; a list without a name (one native list published as written) likewise.
const NONE: &str = "";

/// A rule, as counted: its profile, list, line and text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RuleKey {
    profile: String,
    list: String,
    line: usize,
    pattern: String,
}

/// The counts (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockCounts {
    total: u64,
    profiles: HashMap<String, u64>,
    lists: HashMap<(String, String), u64>,
    rules: HashMap<RuleKey, u64>,
    /// Blocks counted in the totals only (their rule or list came when the maps were full).
    uncounted: u64,
}

/// A count of one rule in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// The profile ("" for none).
    pub profile: String,
    /// The list ("" for an unnamed one).
    pub list: String,
    /// The rule's line.
    pub line: usize,
    /// The rule as written.
    pub rule: String,
    /// Blocks.
    pub blocked: u64,
}

/// A count of one profile's blocks from one list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListCount {
    /// The profile ("" for none).
    pub profile: String,
    /// The list ("" for an unnamed one).
    pub list: String,
    /// Blocks.
    pub blocked: u64,
}

/// What `GET /admin/firewall/stats` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockReport {
    /// Every block this isolate answered.
    pub blocked: u64,
    /// Per profile ("" for none), by name.
    pub profiles: Vec<(String, u64)>,
    /// Per profile and list, most first.
    pub lists: Vec<ListCount>,
    /// The rules that blocked most, at most [`REPORT_RULES`], most first.
    pub rules: Vec<RuleCount>,
    /// Blocks in `blocked` but in no finer count (the maps were full).
    pub uncounted: u64,
}

impl BlockCounts {
    /// Counts a block; a reason whose rule is no block (an alert, an allow) is not counted.
    pub fn record(&mut self, reason: &Reason<'_>) {
        if !matches!(reason.rule.action, Action::Block(_)) {
            return;
        }
        self.total += 1;
        let profile = reason.profile.unwrap_or(NONE);
        let list = reason.rule.list.as_deref().unwrap_or(NONE);
        // Profiles are bounded by the configuration (256): always counted.
        match self.profiles.get_mut(profile) {
            Some(count) => *count += 1,
            None => {
                self.profiles.insert(profile.to_owned(), 1);
            }
        }
        let key = (profile.to_owned(), list.to_owned());
        let lists_full = self.lists.len() >= MAX_LISTS_COUNTED;
        let listed = match self.lists.get_mut(&key) {
            Some(count) => {
                *count += 1;
                true
            }
            None if !lists_full => {
                self.lists.insert(key, 1);
                true
            }
            None => false,
        };
        let key = RuleKey { profile: profile.to_owned(), list: list.to_owned(), line: reason.rule.line, pattern: reason.rule.pattern.clone() };
        let rules_full = self.rules.len() >= MAX_RULES_COUNTED;
        let ruled = match self.rules.get_mut(&key) {
            Some(count) => {
                *count += 1;
                true
            }
            None if !rules_full => {
                self.rules.insert(key, 1);
                true
            }
            None => false,
        };
        if !(listed && ruled) {
            self.uncounted += 1;
        }
    }

    /// Every block counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The report, sorted (most blocks first; ties by name, so it reads the same each time).
    pub fn report(&self) -> BlockReport {
        let mut profiles: Vec<(String, u64)> = self.profiles.iter().map(|(name, count)| (name.clone(), *count)).collect();
        profiles.sort();
        let mut lists: Vec<ListCount> =
            self.lists.iter().map(|((profile, list), count)| ListCount { profile: profile.clone(), list: list.clone(), blocked: *count }).collect();
        lists.sort_by(|a, b| b.blocked.cmp(&a.blocked).then_with(|| (&a.profile, &a.list).cmp(&(&b.profile, &b.list))));
        let mut rules: Vec<RuleCount> = self
            .rules
            .iter()
            .map(|(key, count)| RuleCount { profile: key.profile.clone(), list: key.list.clone(), line: key.line, rule: key.pattern.clone(), blocked: *count })
            .collect();
        rules.sort_by(|a, b| b.blocked.cmp(&a.blocked).then_with(|| (&a.profile, &a.list, a.line).cmp(&(&b.profile, &b.list, b.line))));
        rules.truncate(REPORT_RULES);
        BlockReport { blocked: self.total, profiles, lists, rules, uncounted: self.uncounted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::firewall::{BlockAnswer, Rank, Rule};
    use std::sync::Arc;

    fn rule(list: Option<&str>, line: usize, action: Action) -> Rule {
        Rule { action, pattern: format!("||d{line}.example^"), line, list: list.map(Arc::from), rank: Rank::Plain }
    }

    #[test]
    fn blocks_are_counted_per_profile_list_and_rule() {
        let mut counts = BlockCounts::default();
        let ads = rule(Some("ads.txt"), 3, Action::Block(BlockAnswer::NxDomain));
        let adult = rule(Some("adult.txt"), 7, Action::Block(BlockAnswer::NoData));
        let alert = rule(Some("ads.txt"), 9, Action::Alert);
        for _ in 0..3 {
            counts.record(&Reason { profile: Some("kids"), rule: &ads });
        }
        counts.record(&Reason { profile: None, rule: &ads });
        counts.record(&Reason { profile: Some("kids"), rule: &adult });
        counts.record(&Reason { profile: Some("kids"), rule: &alert });
        let report = counts.report();
        assert_eq!(report.blocked, 5, "the alert is no block");
        assert_eq!(report.profiles, vec![(String::new(), 1), ("kids".to_owned(), 4)]);
        assert_eq!(
            report.lists,
            vec![
                ListCount { profile: "kids".into(), list: "ads.txt".into(), blocked: 3 },
                ListCount { profile: String::new(), list: "ads.txt".into(), blocked: 1 },
                ListCount { profile: "kids".into(), list: "adult.txt".into(), blocked: 1 },
            ]
        );
        assert_eq!(report.rules[0], RuleCount { profile: "kids".into(), list: "ads.txt".into(), line: 3, rule: "||d3.example^".into(), blocked: 3 });
        assert_eq!(report.rules.len(), 3);
        assert_eq!(report.uncounted, 0);
    }

    #[test]
    fn memory_stays_bounded_and_the_totals_exact() {
        let mut counts = BlockCounts::default();
        let rules: Vec<Rule> = (1..=MAX_RULES_COUNTED + 10).map(|line| rule(Some("big.txt"), line, Action::Block(BlockAnswer::NxDomain))).collect();
        for rule in &rules {
            counts.record(&Reason { profile: None, rule });
        }
        counts.record(&Reason { profile: None, rule: &rules[0] });
        assert_eq!(counts.rules.len(), MAX_RULES_COUNTED);
        let report = counts.report();
        assert_eq!(report.blocked, MAX_RULES_COUNTED as u64 + 11);
        assert_eq!(report.uncounted, 10, "the rules past the bound");
        assert_eq!(report.rules.len(), REPORT_RULES);
        assert_eq!((report.rules[0].line, report.rules[0].blocked), (1, 2), "the rule counted twice first");
        assert_eq!(report.lists, vec![ListCount { profile: String::new(), list: "big.txt".into(), blocked: MAX_RULES_COUNTED as u64 + 11 }]);
    }
}
