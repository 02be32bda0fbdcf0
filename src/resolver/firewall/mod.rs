//! The DNS firewall: rule lists in the formats people have ([`formats`]: the firewall's own
//! syntax below, hosts files, domain lists, AdBlock-style DNS rules, RPZ zones), compiled into
//! one index looked up for the name and each parent domain (for wildcards), never by a scan,
//! so million-rule lists cost about what ten-rule ones do per query.
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
//! What is held ([`table`]): each name once in a compact store ([`store`]), and per rule eight
//! bytes (its kind: action, rank, list, the text around the name; and its line), so a
//! 1M-domain list takes 37.7 MiB of an isolate's 128 MB (BENCHMARKS.md part 10). The rule
//! that decides is rebuilt whole the first time it does (explain and the log name the list,
//! the line and the rule as written: `block ||ads.example^ (ads.txt line 3)`).
//!
//! What is published to KV ([`compiled`]): the lists compiled, the store's bytes as they are
//! held and the rule table, versioned and checksummed, read by the Worker without parsing a
//! list. Lists as text (one native list, or a [`bundle`] of named lists) still load: what
//! was published before, and what the tests write.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::{Name, RData, Record};
use ipnet::IpNet;

pub mod bundle;
pub mod compiled;
pub mod formats;
mod matching;
mod rules;
mod set;
pub mod store;
mod table;

pub use formats::{Format, Reading, Skipped, Target};
pub use rules::{Action, BlockAnswer, Rank, Rule, DEFAULT_OVERRIDE_TTL};
pub use set::FirewallSet;

/// The KV key naming the published rule list's version.
pub const CURRENT_KEY: &str = "firewall:current";

/// The largest list text accepted, in bytes: checked by `edgedns firewall check|publish`
/// before a file is read, and by [`Firewall::load`] before a text is parsed. A hosts file of
/// 1,500,000 names of 25 characters fits (the aggregated lists hold about a million).
pub const MAX_LIST_BYTES: usize = 64 * 1024 * 1024;
/// The most rules a firewall may hold (lines with a rule on them, counted before anything is
/// parsed, and rules read; and rules a compiled firewall holds, checked as it is read). An
/// isolate holds about 40 bytes a rule compiled (BENCHMARKS.md part 10): 1.5M rules take
/// some 57 MiB of its 128 MB, and their compiled form (about 22 bytes a rule) fits KV's value
/// limit in two parts ([`compiled`]).
pub const MAX_RULES: usize = 1_500_000;

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
    /// A compiled firewall that does not read ([`compiled`]).
    Compiled(compiled::CompiledError),
    /// Lines of a native list that do not read.
    Lines(FirewallError),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(f, "the list is {bytes} bytes, over the limit of {MAX_LIST_BYTES}"),
            Self::TooManyRules { rules } => write!(f, "the list has {rules} rules, over the limit of {MAX_RULES}"),
            Self::Bundle(message) => write!(f, "the published lists do not read: {message}"),
            Self::Compiled(error) => error.fmt(f),
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
    /// The rules for names, numbered slot by slot ([`table`]).
    table: table::RuleTable,
    /// The names of those rules: each name once, in a compact store ([`matching`]).
    names: matching::NameIndex,
    /// The rules for answer addresses (a few: each is held whole).
    address_rules: Vec<Rule>,
    /// Those rules by network (its host bits zero).
    networks: HashMap<IpNet, Vec<u32>>,
    /// The prefix lengths `networks` holds, longest first, IPv4 and IPv6 apart: an address is
    /// looked up once per length in use, never by a scan of the rules.
    v4_lengths: Vec<u8>,
    v6_lengths: Vec<u8>,
    /// The names of the lists compiled (the unnamed ones left out), in their order.
    list_names: Vec<Arc<str>>,
    /// The name rules built for the queries they decided ([`table::Explained`]).
    explained: table::Explained,
}

/// A rule's pattern, for grouping rules by it: a name or a network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Name(String),
    Network(IpNet),
}

/// The rule chosen so far: a name rule (by number, with the length of the domain that matched
/// it, the end of the name checked) or an address rule (with its network's prefix length).
#[derive(Debug, Clone, Copy)]
enum Chosen {
    Name { rule: u32, length: usize },
    Address { index: u32, length: u8 },
}

impl Chosen {
    /// How specific its pattern is: the length of the matching domain, or of the prefix.
    fn specificity(self) -> usize {
        match self {
            Self::Name { length, .. } => length,
            Self::Address { length, .. } => usize::from(length),
        }
    }
}

/// How strongly a rule decides, for comparing the rules that different firewalls of a
/// [`FirewallSet`] chose (each decided within itself): the rank first, then the more specific
/// pattern, then an allow over a block over an alert; what one firewall decides is the
/// greatest of its own rules by this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Strength {
    rank: Rank,
    specificity: usize,
    precedence: u8,
}

/// The rule deciding among the rules of the slots offered, most specific first: the highest
/// rank, then the most specific slot, then (in one slot) an allow over a block over an alert.
struct Decision<'a> {
    firewall: &'a Firewall,
    lists: Lists<'a>,
    best: Option<(Rank, u8, Chosen)>,
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
        self.holds_list(rule.list.as_deref())
    }

    /// Whether the list of that name (`None`: an unnamed list) is selected.
    fn holds_list(&self, list: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Named(names) => list.is_some_and(|list| names.iter().any(|name| name == list)),
        }
    }
}

impl Decision<'_> {
    fn settled(&self) -> bool {
        self.best.is_some_and(|(rank, _, _)| rank == Rank::ImportantException)
    }

    /// Takes the slot's best rule (`rank` and `precedence`, or none) if it outranks the best
    /// so far: a less specific slot's rule decides only by a higher rank.
    fn take(&mut self, in_slot: Option<(Rank, u8, Chosen)>) {
        if let Some((rank, precedence, chosen)) = in_slot {
            if self.best.is_none_or(|(best, _, _)| rank > best) {
                self.best = Some((rank, precedence, chosen));
            }
        }
    }

    /// The rule decided and how strongly.
    fn decided(&self) -> Option<(Strength, Chosen)> {
        self.best.map(|(rank, precedence, chosen)| (Strength { rank, specificity: chosen.specificity(), precedence }, chosen))
    }

    /// Offers the name rules `rules` of the next slot (less specific than the ones before),
    /// the rules covering the name itself (`exact`) or the names below; `length` is the
    /// length of the slot's domain.
    fn offer_names(&mut self, rules: std::ops::Range<u32>, exact: bool, length: usize) {
        if self.settled() {
            return;
        }
        let firewall = self.firewall;
        let mut in_slot: Option<(Rank, u8, Chosen)> = None;
        for rule in rules {
            let Some(record) = firewall.table.records.get(rule as usize) else { continue };
            if !record.covers(exact) {
                continue;
            }
            let Some(kind) = firewall.table.kinds.get(record.kind() as usize) else { continue };
            let list = kind.list.and_then(|list| firewall.list_names.get(list as usize)).map(|name| &**name);
            if !self.lists.holds_list(list) {
                continue;
            }
            // Ties keep the first (the earlier list): only a strictly better rule replaces it.
            let key = (kind.rank, kind.action.precedence());
            if in_slot.is_none_or(|(rank, precedence, _)| key > (rank, precedence)) {
                in_slot = Some((key.0, key.1, Chosen::Name { rule, length }));
            }
        }
        self.take(in_slot);
    }

    /// Offers the address rules `rules` of the next network (shorter than the ones before).
    fn offer_addresses(&mut self, rules: &[u32], length: u8) {
        if self.settled() {
            return;
        }
        let mut in_slot: Option<(Rank, u8, Chosen)> = None;
        for &index in rules {
            let Some(rule) = self.firewall.address_rules.get(index as usize) else { continue };
            if !self.lists.holds(rule) {
                continue;
            }
            let key = (rule.rank, rule.action.precedence());
            if in_slot.is_none_or(|(rank, precedence, _)| key > (rank, precedence)) {
                in_slot = Some((key.0, key.1, Chosen::Address { index, length }));
            }
        }
        self.take(in_slot);
    }
}

/// What a pattern covers of its name, while duplicates are found: the name, the names below.
const COVERS_NAME: u8 = 1;
const COVERS_BELOW: u8 = 2;

/// A query name in the form rules are keyed by: lower case, no trailing dot, in the one
/// string its text is written to.
fn name_key(name: &Name) -> String {
    let mut text = name.to_ascii();
    text.make_ascii_lowercase();
    let end = text.trim_end_matches('.').len();
    text.truncate(end);
    text
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

    /// Reads a published value: a compiled firewall ([`compiled`]), else a list as text
    /// ([`Firewall::load`], what was published before lists were compiled). What the Worker
    /// loads; `value` is every part of it joined ([`compiled::parts`]).
    pub fn from_published(value: Vec<u8>) -> Result<Self, ListError> {
        if value.starts_with(compiled::MAGIC) {
            return compiled::decode(value).map_err(ListError::Compiled);
        }
        if value.len() > MAX_LIST_BYTES {
            return Err(ListError::TooLarge { bytes: value.len() });
        }
        let text = String::from_utf8(value).map_err(|_| ListError::Bundle("the value is neither a compiled firewall nor text".into()))?;
        Self::load(&text)
    }

    /// Its compiled form, what `edgedns firewall publish` stores ([`compiled`]).
    pub fn to_published(&self) -> Vec<u8> {
        compiled::encode(self)
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
        let mut firewall = Self::default();
        let mut kinds = table::Kinds::default();
        // The name rules in the order of the lists, numbered again slot by slot below.
        let (mut names, mut records, mut verbatim) = (Vec::with_capacity(total), Vec::with_capacity(total), Vec::new());
        let mut errors = Vec::new();
        let mut reports = Vec::with_capacity(lists.len());
        for (list, kept) in lists.iter().zip(&kept) {
            let name: Option<Arc<str>> = list.name.as_deref().map(Arc::from);
            let number = match &name {
                Some(name) => {
                    firewall.list_names.push(name.clone());
                    u32::try_from(firewall.list_names.len() - 1).ok()
                }
                None => None,
            };
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
                match &entry.target {
                    Target::Network(network) => {
                        let Ok(index) = u32::try_from(firewall.address_rules.len()) else {
                            return Err(ListError::TooManyRules { rules: total });
                        };
                        firewall.networks.entry(*network).or_default().push(index);
                        firewall.address_rules.push(Rule {
                            action: entry.action.clone(),
                            pattern: entry.text.clone(),
                            line: entry.line,
                            list: name.clone(),
                            rank: entry.rank,
                        });
                    }
                    Target::Name(domain) | Target::Below(domain) | Target::Domain(domain) => {
                        let Some((kind, keep_text)) = kinds.number(&mut firewall.table, &entry.action, entry.rank, number, &entry.text, domain) else {
                            return Err(ListError::TooManyRules { rules: total });
                        };
                        let Ok(index) = u32::try_from(records.len()) else {
                            return Err(ListError::TooManyRules { rules: total });
                        };
                        if keep_text {
                            verbatim.push((index, entry.text.as_str()));
                        }
                        records.push(table::Record::new(kind, covers, u32::try_from(entry.line).unwrap_or(u32::MAX)));
                        names.push((domain.clone(), index));
                    }
                }
                report.rules += 1;
            }
            reports.push(report);
        }
        drop(patterns);
        if !errors.is_empty() {
            errors.sort_by_key(|(line, _)| *line);
            return Err(ListError::Lines(FirewallError(errors)));
        }
        let (index, order) = matching::NameIndex::build(names).map_err(|_| ListError::TooManyRules { rules: total })?;
        firewall.names = index;
        // Numbered again slot by slot: rule `new` is the one given `order[new]`-th.
        let mut renumbered = vec![0u32; records.len()];
        firewall.table.records = Vec::with_capacity(records.len());
        for (new, &given) in order.iter().enumerate() {
            if let (Some(record), Some(slot)) = (records.get(given as usize), renumbered.get_mut(given as usize)) {
                firewall.table.records.push(*record);
                *slot = u32::try_from(new).unwrap_or(u32::MAX);
            }
        }
        drop(records);
        firewall.table.verbatim = verbatim.into_iter().filter_map(|(given, text)| Some((*renumbered.get(given as usize)?, Box::from(text)))).collect();
        firewall.finish();
        Ok((firewall, reports))
    }

    /// Sets what is derived from the rules: the networks' prefix lengths, room for the rules
    /// built for explain.
    fn finish(&mut self) {
        let lengths = |v4: bool| {
            let mut lengths: Vec<u8> = self.networks.keys().filter(|network| matches!(network, IpNet::V4(_)) == v4).map(IpNet::prefix_len).collect();
            lengths.sort_unstable_by(|a, b| b.cmp(a));
            lengths.dedup();
            lengths
        };
        self.v4_lengths = lengths(true);
        self.v6_lengths = lengths(false);
        self.explained = table::Explained::new(self.table.records.len());
    }

    /// Lets go of the rules built for the queries they decided (explain, the log, block
    /// counts) once more than a few thousand are held; whether it did. It needs the firewall
    /// alone (`&mut`): the Worker calls it between queries, when no other holds it.
    pub fn forget_explained(&mut self) -> bool {
        self.explained.forget(table::FORGET_PAST)
    }

    /// The bytes its rules hold, about (the store, the slots and the rule table; the rules
    /// built for explain left out).
    pub fn bytes(&self) -> usize {
        self.names.bytes() + self.table.bytes() + self.address_rules.len() * (std::mem::size_of::<Rule>() + 32)
    }

    /// The names of the lists it was compiled from (what a profile's `lists` select).
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.list_names.iter().map(|name| &**name)
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.table.records.len() + self.address_rules.len()
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
    /// The deciding rule's text is rebuilt the first time it decides ([`table`]).
    pub fn check_in<'a>(&'a self, name: &Name, lists: Lists<'a>) -> Option<&'a Rule> {
        self.decide(&name_key(name), lists).map(|(_, rule)| rule)
    }

    /// The rule deciding `name` (lower case, no trailing dot) among `lists`, with its strength.
    fn decide<'a>(&'a self, name: &str, lists: Lists<'a>) -> Option<(Strength, &'a Rule)> {
        let mut decision = Decision { firewall: self, lists, best: None };
        self.names.each_slot(name, |rules, exact, length| decision.offer_names(rules, exact, length));
        let (strength, chosen) = decision.decided()?;
        Some((strength, self.chosen(chosen, name)?))
    }

    /// The rule chosen, `name` the name checked (a name rule's domain is its end).
    fn chosen(&self, chosen: Chosen, name: &str) -> Option<&Rule> {
        match chosen {
            Chosen::Address { index, .. } => self.address_rules.get(index as usize),
            Chosen::Name { rule, length } => {
                let domain = name.get(name.len().checked_sub(length)?..)?;
                self.explained.get_or(rule, || self.table.rule(rule, domain, &self.list_names))
            }
        }
    }

    /// The rule deciding an answer address, if any: the longest matching network's.
    pub fn check_address(&self, address: IpAddr) -> Option<&Rule> {
        self.check_address_in(address, Lists::All)
    }

    /// [`Firewall::check_address`] with the rules of `lists` only.
    pub fn check_address_in<'a>(&'a self, address: IpAddr, lists: Lists<'a>) -> Option<&'a Rule> {
        self.decide_address(address, lists).map(|(_, rule)| rule)
    }

    /// The rule deciding `address` among `lists`, with its strength.
    fn decide_address<'a>(&'a self, address: IpAddr, lists: Lists<'a>) -> Option<(Strength, &'a Rule)> {
        let lengths = match address {
            IpAddr::V4(_) => &self.v4_lengths,
            IpAddr::V6(_) => &self.v6_lengths,
        };
        let mut decision = Decision { firewall: self, lists, best: None };
        for (length, network) in lengths.iter().filter_map(|&length| Some((length, IpNet::new(address, length).ok()?))) {
            if let Some(slot) = self.networks.get(&network.trunc()) {
                decision.offer_addresses(slot, length);
            }
        }
        let (strength, chosen) = decision.decided()?;
        Some((strength, self.chosen(chosen, "")?))
    }

    /// Screens an answer section (see the module doc): the first `block` rule any owner, CNAME
    /// target or address in `records` meets, else the first `alert` rule, else `None`.
    /// Owners and targets that an `allow` rule matches pass, as the question would.
    pub fn screen(&self, records: &[Record]) -> Option<&Rule> {
        self.screen_in(records, Lists::All)
    }

    /// [`Firewall::screen`] with the rules of `lists` only.
    pub fn screen_in<'a>(&'a self, records: &[Record], lists: Lists<'a>) -> Option<&'a Rule> {
        screen_with(records, |name| self.check_in(name, lists), |address| self.check_address_in(address, lists))
    }
}

/// What screening an answer section decides (see [`Firewall::screen`]), with `name` and
/// `address` the checks of one firewall or of a set.
fn screen_with<'a>(records: &[Record], name: impl Fn(&Name) -> Option<&'a Rule>, address: impl Fn(IpAddr) -> Option<&'a Rule>) -> Option<&'a Rule> {
    let mut alert = None;
    for record in records {
        let owner = name(&record.name);
        let data = match &record.data {
            RData::CNAME(target) => name(&target.0),
            RData::A(a) => address(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => address(IpAddr::V6(aaaa.0)),
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
        // Lines holding a rule are counted before anything is parsed (these would not parse).
        let lines = "block x\n".repeat(MAX_RULES + 1);
        assert_eq!(Firewall::load(&lines), Err(ListError::TooManyRules { rules: MAX_RULES + 1 }));
        assert_eq!(Firewall::load(&lines).unwrap_err().to_string(), format!("the list has {} rules, over the limit of {MAX_RULES}", MAX_RULES + 1));
        // Comments and blank lines count as bytes, not rules.
        let padded = format!("{}{}", "#".repeat(MAX_LIST_BYTES - 24), "\nblock a.example nxdomain");
        assert_eq!(padded.len(), MAX_LIST_BYTES + 1);
        let error = Firewall::load(&padded).unwrap_err();
        assert_eq!(error, ListError::TooLarge { bytes: MAX_LIST_BYTES + 1 });
        assert_eq!(error.to_string(), format!("the list is {} bytes, over the limit of {MAX_LIST_BYTES}", MAX_LIST_BYTES + 1));
        assert_eq!(Firewall::load(&padded[1..]).map(|firewall| firewall.len()), Ok(1));
        // Rules read count too (a hosts line holds many).
        let mut reading = formats::read(Format::Hosts, "0.0.0.0 a.example\n");
        reading.entries = vec![reading.entries[0].clone(); MAX_RULES + 1];
        assert_eq!(
            Firewall::compile(&[NamedReading { name: None, format: Format::Hosts, reading }]).unwrap_err(),
            ListError::TooManyRules { rules: MAX_RULES + 1 }
        );
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
