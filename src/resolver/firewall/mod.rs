//! The DNS firewall: rule lists in the formats people have ([`formats`]: the firewall's own
//! syntax below, hosts files, domain lists, AdBlock-style DNS rules, RPZ zones), compiled into
//! one index matched by hash lookups (one for the exact name, one per parent domain for
//! wildcards), never by a scan, so 100k-rule lists cost the same per query as ten-rule ones.
//!
//! The firewall's own rule list is text, one rule per line (`#` starts a comment):
//!
//! ```text
//! block  ads.example.com              nxdomain
//! block  *.tracker.example            nodata
//! block  phish.example.net            A 192.0.2.1     ttl=300
//! block  *.bad.example                CNAME walled-garden.example.com.
//! allow  good.tracker.example
//! alert  *.suspicious.example
//! ```
//!
//! `name` matches that name only; `*.domain` matches every name below `domain` (not `domain`
//! itself: list both to cover both). The most specific matching rule decides: the exact name,
//! else the wildcard of the closest parent. `allow` answers normally and stops there (an
//! exception inside a blocked domain); `alert` answers normally and logs; `block` answers
//! NXDOMAIN, NODATA or the override record (A, AAAA or CNAME; TTL 60 s unless `ttl=`), each
//! with Extended DNS Error 15 (Blocked).
//!
//! Rules rank before they are compared by specificity ([`Rank`]): an AdBlock-style exception
//! (`@@`) beats a block wherever it matches, unless the block is `$important`. Between two
//! lists' rules of one rank for one pattern, an allow beats a block, which beats an alert.
//!
//! Rules apply to the answer as well as to the question ([`Firewall::screen`]): every owner
//! and CNAME target in the answer's chain is checked like the question name (a blocked domain
//! reached through a CNAME, "CNAME cloaking", is blocked), and a network pattern
//! (`block 198.51.100.0/24 nxdomain`, RPZ's `rpz-ip` trigger) matches answers whose A or AAAA
//! records point into it, the longest prefix deciding. A question an `allow` rule matched is
//! not screened: the exception covers its answer.
//!
//! What is published to KV ([`bundle`]): one native list as it is written, or a bundle of
//! named lists, each with its format and text, read again by the Worker (explain and the log
//! name the list, the line and the rule as written: `block ||ads.example^ (ads.txt line 3)`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::{Name, RData, Record};
use ipnet::IpNet;

pub mod bundle;
pub mod formats;
mod matching;
mod rules;
pub mod store;

pub use formats::{Format, Reading, Skipped, Target};
pub use rules::{Action, BlockAnswer, Rank, Rule, DEFAULT_OVERRIDE_TTL};

/// The KV key naming the published rule list's version.
pub const CURRENT_KEY: &str = "firewall:current";

/// The largest published value accepted, in bytes: checked by `edgedns firewall
/// check|publish` and again by the Worker before it parses a value it reads. 100,000 rules of
/// 40 characters fit.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// The most rules a published value may hold (lines with a rule on them, counted before
/// anything is parsed, and rules read), checked with [`MAX_LIST_BYTES`]. An isolate holds the
/// parsed rules in its 128 MB: 100,000 wildcard rules grew the Worker's wasm memory by 35 MB
/// in workerd (`/admin/isolate` `memory_bytes`; 50,000: 17 MB).
pub const MAX_RULES: usize = 100_000;

/// The KV key of a rule list version.
pub fn version_key(version: &str) -> String {
    format!("firewall:{version}")
}

/// A rule list that could not be read: every bad line, with its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallError(pub Vec<(usize, String)>);

impl std::fmt::Display for FirewallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, (line, message)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "line {line}: {message}")?;
        }
        Ok(())
    }
}

/// Why a rule list was not loaded ([`Firewall::load`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// Over [`MAX_LIST_BYTES`] (checked before anything is parsed).
    TooLarge {
        /// The list's size.
        bytes: usize,
    },
    /// Over [`MAX_RULES`] rules (lines counted before anything is parsed, then rules read).
    TooManyRules {
        /// How many lines hold a rule, or how many rules were read.
        rules: usize,
    },
    /// A published bundle that does not read ([`bundle`]).
    Bundle(String),
    /// Lines of a native list that do not read.
    Lines(FirewallError),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(f, "the list is {bytes} bytes, over the limit of {MAX_LIST_BYTES}"),
            Self::TooManyRules { rules } => write!(f, "the list has {rules} rules, over the limit of {MAX_RULES}"),
            Self::Bundle(message) => write!(f, "the published lists do not read: {message}"),
            Self::Lines(error) => error.fmt(f),
        }
    }
}

/// One list, read, ready to compile: its name (explain and the log name it) and its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedReading {
    /// The list's name, if it has one (a published list's file name).
    pub name: Option<String>,
    /// Its format.
    pub format: Format,
    /// What was read.
    pub reading: Reading,
}

/// What compiling a list found besides its rules, for `edgedns firewall check|publish`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListReport {
    /// Rules taken.
    pub rules: usize,
    /// Lines whose rule cannot be expressed here.
    pub skipped: Vec<Skipped>,
    /// Rules another line of the same list already gave: (line, the first line).
    pub duplicates: Vec<(usize, usize)>,
    /// Lines ignored by design (`localhost` in a hosts file).
    pub ignored: usize,
}

/// A loaded rule list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Firewall {
    /// Every rule, numbered by the index below.
    rules: Vec<Rule>,
    /// The rules for names: each name once, in a compact store ([`matching`]).
    names: matching::NameIndex,
    /// Rules for answer addresses, by network (its host bits zero).
    networks: HashMap<IpNet, Vec<u32>>,
    /// The prefix lengths `networks` holds, longest first, IPv4 and IPv6 apart: an address is
    /// looked up once per length in use, never by a scan of the rules.
    v4_lengths: Vec<u8>,
    v6_lengths: Vec<u8>,
    /// The names of the lists compiled (the unnamed ones left out), in their order.
    list_names: Vec<Arc<str>>,
}

/// A rule's pattern, for grouping rules by it: a name or a network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Name(String),
    Network(IpNet),
}

/// The rule deciding among the rules of the slots offered, most specific first: the highest
/// rank, then the most specific slot, then (in one slot) an allow over a block over an alert.
struct Decision<'a> {
    firewall: &'a Firewall,
    lists: Lists<'a>,
    best: Option<&'a Rule>,
}

/// Which of the published lists a check uses: a profile's selection
/// ([`crate::resolver::profile`]), or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists<'a> {
    /// Every list (what `/dns-query` uses when no profile names its lists).
    All,
    /// The lists of these names only (a rule of an unnamed list is in none).
    Named(&'a [String]),
}

impl Lists<'_> {
    /// Whether `rule`'s list is selected.
    pub fn holds(&self, rule: &Rule) -> bool {
        match self {
            Self::All => true,
            Self::Named(names) => rule.list.as_deref().is_some_and(|list| names.iter().any(|name| name == list)),
        }
    }
}

impl<'a> Decision<'a> {
    /// Offers the rules of the next slot (less specific than the ones before).
    fn offer(&mut self, slot: &mut dyn Iterator<Item = u32>) {
        if self.best.is_some_and(|best| best.rank == Rank::ImportantException) {
            return;
        }
        let lists = self.lists;
        let in_slot = slot.filter_map(|index| self.firewall.rules.get(index as usize)).filter(|rule| lists.holds(rule)).max_by(|a, b| {
            // Ties keep the first (earlier list): max_by keeps the last of equals.
            (a.rank, a.action.precedence()).cmp(&(b.rank, b.action.precedence())).then(std::cmp::Ordering::Greater)
        });
        if let Some(rule) = in_slot {
            if self.best.is_none_or(|best| rule.rank > best.rank) {
                self.best = Some(rule);
            }
        }
    }
}

/// What a pattern covers of its name, while duplicates are found: the name, the names below.
const COVERS_NAME: u8 = 1;
const COVERS_BELOW: u8 = 2;

/// Lower case, no trailing dot: the form rules are keyed by.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Lines that may hold a rule, counted before a list is parsed: not blank, not a comment.
fn rule_lines(format: Format, text: &str) -> usize {
    text.lines()
        .filter(|line| match format {
            Format::Native => formats::native::holds_rule(line),
            _ => {
                let line = line.trim();
                !(line.is_empty() || line.starts_with(['#', '!', ';']))
            }
        })
        .count()
}

impl Firewall {
    /// Reads a published value within the size limits ([`MAX_LIST_BYTES`], [`MAX_RULES`],
    /// checked first): a [`bundle`] of named lists, or one native list as written. Every bad
    /// line of a native list is reported, nothing is half-loaded; lines another format cannot
    /// express are left out (`edgedns firewall publish` reported them). What the Worker loads.
    pub fn load(text: &str) -> Result<Self, ListError> {
        if text.len() > MAX_LIST_BYTES {
            return Err(ListError::TooLarge { bytes: text.len() });
        }
        let lists = match bundle::decode(text) {
            Some(lists) => lists.map_err(ListError::Bundle)?,
            None => vec![bundle::List { name: None, format: Format::Native, text }],
        };
        let lines: usize = lists.iter().map(|list| rule_lines(list.format, list.text)).sum();
        if lines > MAX_RULES {
            return Err(ListError::TooManyRules { rules: lines });
        }
        let readings: Vec<NamedReading> = lists
            .iter()
            .map(|list| NamedReading { name: list.name.map(str::to_owned), format: list.format, reading: formats::read(list.format, list.text) })
            .collect();
        Self::compile(&readings).map(|(firewall, _)| firewall)
    }

    /// Reads a native rule list, whatever its size; every bad line is reported, nothing is
    /// half-loaded.
    pub fn parse(text: &str) -> Result<Self, FirewallError> {
        let reading = NamedReading { name: None, format: Format::Native, reading: formats::native::read(text) };
        Self::compile(&[reading]).map(|(firewall, _)| firewall).map_err(|error| match error {
            ListError::Lines(error) => error,
            other => FirewallError(vec![(0, other.to_string())]),
        })
    }

    /// Compiles lists read ([`formats::read`]) into one firewall, with a report per list.
    /// A native list's bad lines and duplicate patterns refuse the whole (they are the
    /// operator's own); another list's duplicates are reported and the first line kept.
    pub fn compile(lists: &[NamedReading]) -> Result<(Self, Vec<ListReport>), ListError> {
        let total: usize = lists.iter().map(|list| list.reading.entries.len()).sum();
        if total > MAX_RULES {
            return Err(ListError::TooManyRules { rules: total });
        }
        // Every rule's pattern, grouped by it (a stable sort keeps the lists' order): a rule
        // that another of its list and rank already gives, for all it covers, is a duplicate.
        let mut patterns: Vec<(Key, u8, usize, usize)> = Vec::with_capacity(total);
        for (list_index, list) in lists.iter().enumerate() {
            for (entry_index, entry) in list.reading.entries.iter().enumerate() {
                let (key, covers) = match &entry.target {
                    Target::Name(name) => (Key::Name(name.clone()), COVERS_NAME),
                    Target::Below(domain) => (Key::Name(domain.clone()), COVERS_BELOW),
                    Target::Domain(domain) => (Key::Name(domain.clone()), COVERS_NAME | COVERS_BELOW),
                    Target::Network(network) => (Key::Network(*network), COVERS_NAME),
                };
                patterns.push((key, covers, list_index, entry_index));
            }
        }
        patterns.sort_by(|a, b| a.0.cmp(&b.0));
        // Per list, per entry: what it still covers once its list's earlier rules of its rank
        // are taken out, and the first line that took the rest. Per pattern, what each list
        // and rank took so far, and on which lines (the name, the names below): linear in
        // the rules, however often a list repeats one.
        let mut kept: Vec<Vec<(u8, usize)>> = lists.iter().map(|list| vec![(0, 0); list.reading.entries.len()]).collect();
        let mut taken: Vec<(usize, Rank, u8, [usize; 2])> = Vec::new();
        let mut previous: Option<&Key> = None;
        for (key, covers, list_index, entry_index) in &patterns {
            if previous != Some(key) {
                taken.clear();
                previous = Some(key);
            }
            let Some(entry) = lists.get(*list_index).and_then(|list| list.reading.entries.get(*entry_index)) else { continue };
            let line_of = |covers: u8| [if covers & COVERS_NAME != 0 { entry.line } else { 0 }, if covers & COVERS_BELOW != 0 { entry.line } else { 0 }];
            let outcome = match taken.iter_mut().find(|(list, rank, _, _)| list == list_index && *rank == entry.rank) {
                Some((_, _, already, lines)) => {
                    let left = *covers & !*already;
                    let first = if *covers & *already & COVERS_NAME != 0 { lines[0] } else { lines[1] };
                    for (bit, line) in [COVERS_NAME, COVERS_BELOW].into_iter().zip(lines.iter_mut()) {
                        if left & bit != 0 {
                            *line = entry.line;
                        }
                    }
                    *already |= left;
                    (left, first)
                }
                None => {
                    taken.push((*list_index, entry.rank, *covers, line_of(*covers)));
                    (*covers, 0)
                }
            };
            if let Some(slot) = kept.get_mut(*list_index).and_then(|list| list.get_mut(*entry_index)) {
                *slot = outcome;
            }
        }
        let mut firewall = Self { rules: Vec::with_capacity(total), ..Self::default() };
        let mut names = Vec::with_capacity(total);
        let mut errors = Vec::new();
        let mut reports = Vec::with_capacity(lists.len());
        for (list, kept) in lists.iter().zip(&kept) {
            let name: Option<Arc<str>> = list.name.as_deref().map(Arc::from);
            firewall.list_names.extend(name.clone());
            let mut report = ListReport { skipped: list.reading.skipped.clone(), ignored: list.reading.ignored, ..ListReport::default() };
            errors.extend(list.reading.errors.iter().map(|error| (error.line, error.reason.clone())));
            for (entry, &(covers, first_line)) in list.reading.entries.iter().zip(kept) {
                if covers == 0 {
                    if list.format == Format::Native {
                        errors.push((entry.line, format!("{} is already ruled on line {first_line}", entry.text)));
                    } else {
                        report.duplicates.push((entry.line, first_line));
                    }
                    continue;
                }
                let Ok(index) = u32::try_from(firewall.rules.len()) else {
                    return Err(ListError::TooManyRules { rules: total });
                };
                match &entry.target {
                    Target::Network(network) => firewall.networks.entry(*network).or_default().push(index),
                    Target::Name(domain) | Target::Below(domain) | Target::Domain(domain) => {
                        let covers = match covers {
                            COVERS_NAME => matching::Covers::Name,
                            COVERS_BELOW => matching::Covers::Below,
                            _ => matching::Covers::Both,
                        };
                        names.push((domain.clone(), index, covers));
                    }
                }
                firewall.rules.push(Rule { action: entry.action.clone(), pattern: entry.text.clone(), line: entry.line, list: name.clone(), rank: entry.rank });
                report.rules += 1;
            }
            reports.push(report);
        }
        drop(patterns);
        if !errors.is_empty() {
            errors.sort_by_key(|(line, _)| *line);
            return Err(ListError::Lines(FirewallError(errors)));
        }
        firewall.names = matching::NameIndex::build(names).map_err(|_| ListError::TooManyRules { rules: total })?;
        let lengths = |v4: bool| {
            let mut lengths: Vec<u8> = firewall.networks.keys().filter(|network| matches!(network, IpNet::V4(_)) == v4).map(IpNet::prefix_len).collect();
            lengths.sort_unstable_by(|a, b| b.cmp(a));
            lengths.dedup();
            lengths
        };
        firewall.v4_lengths = lengths(true);
        firewall.v6_lengths = lengths(false);
        Ok((firewall, reports))
    }

    /// The names of the lists it was compiled from (what a profile's `lists` select).
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.list_names.iter().map(|name| &**name)
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rule deciding `name`, if any: the exact name's, else the closest parent's wildcard
    /// (a higher [`Rank`] first).
    pub fn check(&self, name: &Name) -> Option<&Rule> {
        self.check_in(name, Lists::All)
    }

    /// [`Firewall::check`] with the rules of `lists` only: what compiling those lists alone
    /// would decide (duplicates are told apart per list, so no list's rule hides another's).
    pub fn check_in<'a>(&'a self, name: &Name, lists: Lists<'a>) -> Option<&'a Rule> {
        let name = key(&name.to_ascii());
        let mut decision = Decision { firewall: self, lists, best: None };
        self.names.each_slot(&name, |slot| decision.offer(slot));
        decision.best
    }

    /// The rule deciding an answer address, if any: the longest matching network's.
    pub fn check_address(&self, address: IpAddr) -> Option<&Rule> {
        self.check_address_in(address, Lists::All)
    }

    /// [`Firewall::check_address`] with the rules of `lists` only.
    pub fn check_address_in<'a>(&'a self, address: IpAddr, lists: Lists<'a>) -> Option<&'a Rule> {
        let lengths = match address {
            IpAddr::V4(_) => &self.v4_lengths,
            IpAddr::V6(_) => &self.v6_lengths,
        };
        let mut decision = Decision { firewall: self, lists, best: None };
        for network in lengths.iter().filter_map(|&length| IpNet::new(address, length).ok()) {
            if let Some(slot) = self.networks.get(&network.trunc()) {
                decision.offer(&mut slot.iter().copied());
            }
        }
        decision.best
    }

    /// Screens an answer section (see the module doc): the first `block` rule any owner, CNAME
    /// target or address in `records` meets, else the first `alert` rule, else `None`.
    /// Owners and targets that an `allow` rule matches pass, as the question would.
    pub fn screen(&self, records: &[Record]) -> Option<&Rule> {
        self.screen_in(records, Lists::All)
    }

    /// [`Firewall::screen`] with the rules of `lists` only.
    pub fn screen_in<'a>(&'a self, records: &[Record], lists: Lists<'a>) -> Option<&'a Rule> {
        let mut alert = None;
        for record in records {
            let owner = self.check_in(&record.name, lists);
            let data = match &record.data {
                RData::CNAME(target) => self.check_in(&target.0, lists),
                RData::A(address) => self.check_address_in(IpAddr::V4(address.0), lists),
                RData::AAAA(address) => self.check_address_in(IpAddr::V6(address.0), lists),
                _ => None,
            };
            for rule in [owner, data].into_iter().flatten() {
                match rule.action {
                    Action::Block(_) => return Some(rule),
                    Action::Alert => alert = alert.or(Some(rule)),
                    Action::Allow => {}
                }
            }
        }
        alert
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, CNAME};
    use std::str::FromStr;

    const RULES: &str = "\
# operator list
block  ads.example.com              nxdomain
block  *.tracker.example            nodata
block  Phish.Example.NET.           A 192.0.2.1     ttl=300
block  *.bad.example                CNAME walled-garden.example.com
allow  good.tracker.example
alert  *.suspicious.example   # watch these
";

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    #[test]
    fn most_specific_rule_decides() {
        let firewall = Firewall::parse(RULES).unwrap();
        assert_eq!(firewall.len(), 6);
        let line = |text: &str| firewall.check(&name(text)).map(|rule| rule.line);
        assert_eq!(line("ads.example.com."), Some(2));
        assert_eq!(line("ADS.example.COM"), Some(2), "case-insensitive");
        assert_eq!(line("sub.ads.example.com."), None, "an exact rule covers that name only");
        assert_eq!(line("x.y.tracker.example."), Some(3));
        assert_eq!(line("tracker.example."), None, "*.domain does not cover the domain itself");
        assert_eq!(line("good.tracker.example."), Some(6), "the exception is more specific");
        assert_eq!(line("phish.example.net."), Some(4));
        assert_eq!(line("example.org."), None);
        assert_eq!(line("."), None);
        match &firewall.check(&name("phish.example.net.")).unwrap().action {
            Action::Block(BlockAnswer::Override { data, ttl }) => assert_eq!((data.to_string(), *ttl), ("192.0.2.1".to_owned(), 300)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&firewall.check(&name("a.bad.example.")).unwrap().action, Action::Block(BlockAnswer::Override { data: RData::CNAME(_), ttl: 60 })));
    }

    fn record(owner: &str, data: RData) -> Record {
        Record::from_rdata(name(owner), 300, data)
    }

    #[test]
    fn address_rules_match_by_the_longest_prefix() {
        let firewall =
            Firewall::parse("block 10.0.0.0/8 nxdomain\nallow 10.1.0.0/16\nblock 10.1.2.3/32 nodata\nalert 2001:db8::/32\nblock ::/0 nodata\n").unwrap();
        let line = |text: &str| firewall.check_address(text.parse().unwrap()).map(|rule| rule.line);
        assert_eq!(line("10.200.0.1"), Some(1));
        assert_eq!(line("10.1.9.9"), Some(2), "the exception inside the blocked network");
        assert_eq!(line("10.1.2.3"), Some(3), "a host rule beats both");
        assert_eq!(line("192.0.2.1"), None);
        assert_eq!(line("2001:db8::1"), Some(4));
        assert_eq!(line("2001:db9::1"), Some(5), "::/0 covers every IPv6 address, no IPv4 one");
        let lookalike = Name::from_labels([&b"10"[..], b"0", b"0", b"0/8"]).unwrap();
        assert_eq!(firewall.check(&lookalike), None, "a network is not a name");
        let errors = Firewall::parse("block 10.0.0.1/8 nxdomain\nblock 10.0.0.0/33 nodata\nblock 10.0.0.0/8 nodata\nblock 10.0.0.0/8 nxdomain\n").unwrap_err();
        assert_eq!(errors.0.iter().map(|(line, _)| *line).collect::<Vec<_>>(), vec![1, 2, 4], "{errors}");
        assert!(errors.to_string().contains("host bits set: the network is 10.0.0.0/8"), "{errors}");
    }

    #[test]
    fn answers_are_screened_through_their_cname_chain_and_addresses() {
        let firewall = Firewall::parse(&format!("{RULES}block 198.51.100.0/24 nxdomain\n")).unwrap();
        let cname = |target: &str| RData::CNAME(CNAME(name(target)));
        // x.site.example is no rule's name; its CNAME target is below a blocked domain.
        let cloaked = [record("x.site.example.", cname("a.tracker.example.")), record("a.tracker.example.", RData::A(A::new(192, 0, 2, 7)))];
        assert_eq!(firewall.screen(&cloaked).map(|rule| rule.line), Some(3), "CNAME cloaking is seen through");
        let excepted = [record("x.site.example.", cname("good.tracker.example.")), record("good.tracker.example.", RData::A(A::new(192, 0, 2, 7)))];
        assert_eq!(firewall.screen(&excepted), None, "an allowed target passes");
        let pointing = [record("fine.example.", RData::A(A::new(198, 51, 100, 9)))];
        assert_eq!(firewall.screen(&pointing).map(|rule| rule.pattern.as_str()), Some("198.51.100.0/24"), "an address rule");
        let watched = [record("x.site.example.", cname("b.suspicious.example.")), record("b.suspicious.example.", RData::A(A::new(192, 0, 2, 8)))];
        assert_eq!(firewall.screen(&watched).map(|rule| rule.line), Some(7), "alert when nothing blocks");
        let both = [watched[0].clone(), record("b.suspicious.example.", cname("ads.example.com."))];
        assert_eq!(firewall.screen(&both).map(|rule| rule.line), Some(2), "a block beats an earlier alert");
        assert_eq!(firewall.screen(&[record("clean.example.", RData::A(A::new(192, 0, 2, 1)))]), None);
    }

    #[test]
    fn escaped_names_match_as_parsed() {
        let firewall = Firewall::parse("block ok.t.1e\\xa_pl nxdomain\n").unwrap();
        assert!(firewall.check(&Name::from_str("ok.t.1e\\xa_pl").unwrap()).is_some());
    }

    #[test]
    fn a_rule_for_everything() {
        let firewall = Firewall::parse("alert *\nallow ok.example\n").unwrap();
        assert_eq!(firewall.check(&name("anything.example.")).map(|r| r.line), Some(1));
        assert_eq!(firewall.check(&name("ok.example.")).map(|r| r.line), Some(2));
    }

    #[test]
    fn bad_lines_are_all_reported_with_numbers() {
        let error = Firewall::parse(
            "block a.example\nfrobnicate b.example\nblock c.example MX x\nblock d.*.example nxdomain\nallow e.example nxdomain\n\
             block ads.example nxdomain\nblock ads.example nodata\nblock f.example A 300.1.1.1\nblock g.example nodata ttl=5\nblock\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = error.0.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 7, 8, 9, 10], "{error}");
        assert!(error.to_string().contains("line 7: ads.example is already ruled on line 6"), "{error}");
    }

    #[test]
    fn lists_over_the_limits_are_refused_before_parsing() {
        let rules = |n: usize| -> String { (0..n).map(|n| format!("block d{n}.example nxdomain\n")).collect() };
        assert_eq!(Firewall::load(&rules(MAX_RULES)).map(|firewall| firewall.len()), Ok(MAX_RULES));
        assert_eq!(Firewall::load(&rules(MAX_RULES + 1)), Err(ListError::TooManyRules { rules: MAX_RULES + 1 }));
        // Comments and blank lines count as bytes, not rules.
        let padded = format!("{}{}", "#".repeat(MAX_LIST_BYTES - 24), "\nblock a.example nxdomain");
        assert_eq!(padded.len(), MAX_LIST_BYTES + 1);
        let error = Firewall::load(&padded).unwrap_err();
        assert_eq!(error, ListError::TooLarge { bytes: MAX_LIST_BYTES + 1 });
        assert_eq!(error.to_string(), format!("the list is {} bytes, over the limit of {MAX_LIST_BYTES}", MAX_LIST_BYTES + 1));
        assert_eq!(Firewall::load(&padded[1..]).map(|firewall| firewall.len()), Ok(1));
        // Bad lines read as from `parse`.
        assert_eq!(Firewall::load("block\n").unwrap_err().to_string(), Firewall::parse("block\n").unwrap_err().to_string());
    }

    #[test]
    fn large_lists_load() {
        let text: String = (0..100_000).map(|n| format!("block *.d{n}.example nxdomain\n")).collect();
        let firewall = Firewall::parse(&text).unwrap();
        assert_eq!(firewall.len(), 100_000);
        assert_eq!(firewall.check(&name("x.d99999.example.")).map(|r| r.line), Some(100_000));
    }
}
