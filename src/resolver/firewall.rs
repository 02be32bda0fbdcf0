//! The DNS firewall: the operator's rule lists, matched by hash lookups (one for the exact
//! name, one per parent domain for wildcards), never by a scan, so 100k-rule lists cost the
//! same per query as ten-rule ones.
//!
//! A rule list is text, one rule per line (`#` starts a comment):
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
//! Rules apply to the answer as well as to the question ([`Firewall::screen`]): every owner
//! and CNAME target in the answer's chain is checked like the question name (a blocked domain
//! reached through a CNAME, "CNAME cloaking", is blocked), and a network pattern
//! (`block 198.51.100.0/24 nxdomain`, RPZ's `rpz-ip` trigger) matches answers whose A or AAAA
//! records point into it, the longest prefix deciding. A question an `allow` rule matched is
//! not screened: the exception covers its answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ipnet::IpNet;

/// The TTL of an override record when the rule gives none.
pub const DEFAULT_OVERRIDE_TTL: u32 = 60;
/// The KV key naming the published rule list's version.
pub const CURRENT_KEY: &str = "firewall:current";

/// The largest rule list accepted, in bytes: checked by `edgedns firewall check|publish` and
/// again by the Worker before it parses a list it reads. 100,000 rules of 40 characters fit.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// The most rules a list may hold (lines with a rule on them), checked with [`MAX_LIST_BYTES`].
/// An isolate holds the parsed rules in its 128 MB: 100,000 wildcard rules grew the Worker's
/// wasm memory by 35 MB in workerd (`/admin/isolate` `memory_bytes`; 50,000: 17 MB).
pub const MAX_RULES: usize = 100_000;

/// The KV key of a rule list version.
pub fn version_key(version: &str) -> String {
    format!("firewall:{version}")
}

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

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer normally; no less specific rule applies.
    Allow,
    /// Answer normally and log.
    Alert,
    /// Answer as given, with EDE 15.
    Block(BlockAnswer),
}

/// One rule, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What it does.
    pub action: Action,
    /// The pattern as written (`ads.example.com`, `*.tracker.example`).
    pub pattern: String,
    /// Its line in the list.
    pub line: usize,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match &self.action {
            Action::Allow => "allow",
            Action::Alert => "alert",
            Action::Block(_) => "block",
        };
        write!(f, "{action} {} (line {})", self.pattern, self.line)
    }
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
    /// Over [`MAX_RULES`] rules (counted before anything is parsed).
    TooManyRules {
        /// How many lines hold a rule.
        rules: usize,
    },
    /// Lines that do not read.
    Lines(FirewallError),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(f, "the list is {bytes} bytes, over the limit of {MAX_LIST_BYTES}"),
            Self::TooManyRules { rules } => write!(f, "the list has {rules} rules, over the limit of {MAX_RULES}"),
            Self::Lines(error) => error.fmt(f),
        }
    }
}

/// A loaded rule list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Firewall {
    /// Rules for exact names (lower case, no trailing dot).
    exact: HashMap<String, Rule>,
    /// Rules for every name below a domain (the domain, lower case, no trailing dot).
    below: HashMap<String, Rule>,
    /// Rules for answer addresses, by network (its host bits zero).
    networks: HashMap<IpNet, Rule>,
    /// The prefix lengths `networks` holds, longest first, IPv4 and IPv6 apart: an address is
    /// looked up once per length in use, never by a scan of the rules.
    v4_lengths: Vec<u8>,
    v6_lengths: Vec<u8>,
}

/// What a rule pattern matches.
enum Pattern {
    /// One name.
    Exact(String),
    /// Every name below a domain.
    Below(String),
    /// Answer addresses in a network.
    Network(IpNet),
}

/// Lower case, no trailing dot: the form rules are keyed by.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Firewall {
    /// Reads a rule list within the size limits ([`MAX_LIST_BYTES`], [`MAX_RULES`], checked
    /// first); every bad line is reported, nothing is half-loaded. What the CLI checks and
    /// publishes and what the Worker loads.
    pub fn load(text: &str) -> Result<Self, ListError> {
        if text.len() > MAX_LIST_BYTES {
            return Err(ListError::TooLarge { bytes: text.len() });
        }
        // Counted first, by kind: the maps are sized once (growing one holds the old and the
        // new table at the same time, and an isolate's memory never shrinks back).
        let (mut exact, mut below, mut networks) = (0, 0, 0);
        for raw in text.lines() {
            match raw.split('#').next().unwrap_or("").split_whitespace().nth(1) {
                Some(pattern) if pattern.starts_with('*') => below += 1,
                Some(pattern) if pattern.contains('/') => networks += 1,
                Some(_) => exact += 1,
                None => {}
            }
        }
        if exact + below + networks > MAX_RULES {
            return Err(ListError::TooManyRules { rules: exact + below + networks });
        }
        let sized =
            Self { exact: HashMap::with_capacity(exact), below: HashMap::with_capacity(below), networks: HashMap::with_capacity(networks), ..Self::default() };
        Self::parse_into(sized, text).map_err(ListError::Lines)
    }

    /// Reads a rule list, whatever its size; every bad line is reported, nothing is
    /// half-loaded.
    pub fn parse(text: &str) -> Result<Self, FirewallError> {
        Self::parse_into(Self::default(), text)
    }

    fn parse_into(mut firewall: Self, text: &str) -> Result<Self, FirewallError> {
        let mut errors = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let first = match parse_rule(content, line) {
                Ok((Pattern::Exact(domain), rule)) => firewall.exact.try_insert_rule(domain, rule),
                Ok((Pattern::Below(domain), rule)) => firewall.below.try_insert_rule(domain, rule),
                Ok((Pattern::Network(network), rule)) => firewall.networks.try_insert_rule(network, rule),
                Err(message) => {
                    errors.push((line, message));
                    continue;
                }
            };
            if let Err((pattern, first)) = first {
                errors.push((line, format!("{pattern} is already ruled on line {first}")));
            }
        }
        let lengths = |v4: bool| {
            let mut lengths: Vec<u8> = firewall.networks.keys().filter(|network| matches!(network, IpNet::V4(_)) == v4).map(IpNet::prefix_len).collect();
            lengths.sort_unstable_by(|a, b| b.cmp(a));
            lengths.dedup();
            lengths
        };
        firewall.v4_lengths = lengths(true);
        firewall.v6_lengths = lengths(false);
        if errors.is_empty() {
            Ok(firewall)
        } else {
            Err(FirewallError(errors))
        }
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.exact.len() + self.below.len() + self.networks.len()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rule deciding `name`, if any: the exact name's, else the closest parent's wildcard.
    pub fn check(&self, name: &Name) -> Option<&Rule> {
        let name = key(&name.to_ascii());
        if let Some(rule) = self.exact.get(&name) {
            return Some(rule);
        }
        let mut rest = name.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(rule) = self.below.get(parent) {
                return Some(rule);
            }
            rest = parent;
        }
        // Every name is below the root: `*.` (a rule for everything) is keyed "".
        if !name.is_empty() {
            return self.below.get("");
        }
        None
    }

    /// The rule deciding an answer address, if any: the longest matching network's.
    pub fn check_address(&self, address: IpAddr) -> Option<&Rule> {
        let lengths = match address {
            IpAddr::V4(_) => &self.v4_lengths,
            IpAddr::V6(_) => &self.v6_lengths,
        };
        lengths.iter().find_map(|&length| IpNet::new(address, length).ok().and_then(|network| self.networks.get(&network.trunc())))
    }

    /// Screens an answer section (see the module doc): the first `block` rule any owner, CNAME
    /// target or address in `records` meets, else the first `alert` rule, else `None`.
    /// Owners and targets that an `allow` rule matches pass, as the question would.
    pub fn screen(&self, records: &[Record]) -> Option<&Rule> {
        let mut alert = None;
        for record in records {
            let owner = self.check(&record.name);
            let data = match &record.data {
                RData::CNAME(target) => self.check(&target.0),
                RData::A(address) => self.check_address(IpAddr::V4(address.0)),
                RData::AAAA(address) => self.check_address(IpAddr::V6(address.0)),
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

/// Inserting a rule for a pattern no earlier line ruled.
trait RuleMap<K> {
    /// Inserts `rule` under `key`, or names the pattern and the line that already rules it.
    fn try_insert_rule(&mut self, key: K, rule: Rule) -> Result<(), (String, usize)>;
}

impl<K: std::hash::Hash + Eq> RuleMap<K> for HashMap<K, Rule> {
    fn try_insert_rule(&mut self, key: K, rule: Rule) -> Result<(), (String, usize)> {
        match self.get(&key) {
            Some(first) => Err((rule.pattern, first.line)),
            None => {
                self.insert(key, rule);
                Ok(())
            }
        }
    }
}

fn parse_rule(content: &str, line: usize) -> Result<(Pattern, Rule), String> {
    let mut fields = content.split_whitespace();
    let action_word = fields.next().unwrap_or("");
    let pattern = fields.next().ok_or("a rule is `<allow|alert|block> <name, *.domain or network> [answer]`")?;
    let rest: Vec<&str> = fields.collect();
    let action = rule_action(action_word, &rest)?;
    let rule = |action| Rule { action, pattern: pattern.to_owned(), line };
    if pattern.contains('/') {
        let network: IpNet = pattern.parse().map_err(|_| format!("{pattern:?} is not a network (192.0.2.0/24, 2001:db8::/32)"))?;
        if network.trunc() != network {
            return Err(format!("{pattern:?} has host bits set: the network is {}", network.trunc()));
        }
        return Ok((Pattern::Network(network), rule(action)));
    }
    let (wildcard, domain) = match pattern.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None if pattern == "*" => (true, ""),
        None => (false, pattern),
    };
    if domain.contains('*') {
        return Err(format!("{pattern:?}: a wildcard is only allowed as the first label (*.domain)"));
    }
    // Keyed by the name as parsed and printed again, the form `check` looks names up by
    // (escapes such as `\065` read the same whichever way they were written).
    let domain = if domain.is_empty() {
        String::new()
    } else {
        Name::from_str(domain).map_err(|error| format!("{pattern:?} is not a domain name: {error}"))?.to_ascii()
    };
    let domain = key(&domain);
    Ok((if wildcard { Pattern::Below(domain) } else { Pattern::Exact(domain) }, rule(action)))
}

fn rule_action(action_word: &str, rest: &[&str]) -> Result<Action, String> {
    Ok(match (action_word.to_ascii_lowercase().as_str(), rest) {
        ("allow", []) => Action::Allow,
        ("alert", []) => Action::Alert,
        ("allow" | "alert", _) => return Err(format!("{action_word} takes no answer")),
        ("block", answer) => Action::Block(block_answer(answer)?),
        (other, _) => return Err(format!("unknown action {other:?} (allow, alert, block)")),
    })
}

fn block_answer(fields: &[&str]) -> Result<BlockAnswer, String> {
    let (fields, ttl) = match fields.split_last() {
        Some((last, before)) if last.starts_with("ttl=") => {
            let ttl = last
                .trim_start_matches("ttl=")
                .parse::<u32>()
                .ok()
                .filter(|ttl| *ttl <= 604_800)
                .ok_or_else(|| format!("{last:?}: a TTL is seconds, at most 604800"))?;
            (before, Some(ttl))
        }
        _ => (fields, None),
    };
    let answer = match fields {
        [] => return Err("block needs an answer: nxdomain, nodata, or A/AAAA/CNAME <data>".into()),
        [word] if word.eq_ignore_ascii_case("nxdomain") => BlockAnswer::NxDomain,
        [word] if word.eq_ignore_ascii_case("nodata") => BlockAnswer::NoData,
        [kind, value] => {
            let data = match kind.to_ascii_uppercase().as_str() {
                "A" => value.parse().map(|ip| RData::A(A(ip))).map_err(|_| format!("{value:?} is not an IPv4 address"))?,
                "AAAA" => value.parse().map(|ip| RData::AAAA(AAAA(ip))).map_err(|_| format!("{value:?} is not an IPv6 address"))?,
                "CNAME" => {
                    let mut target = Name::from_str(value).map_err(|error| format!("{value:?} is not a domain name: {error}"))?;
                    target.set_fqdn(true);
                    RData::CNAME(CNAME(target))
                }
                other => return Err(format!("an override is A, AAAA or CNAME, not {other:?}")),
            };
            BlockAnswer::Override { data, ttl: ttl.unwrap_or(DEFAULT_OVERRIDE_TTL) }
        }
        other => return Err(format!("cannot read the answer {:?}", other.join(" "))),
    };
    if ttl.is_some() && !matches!(answer, BlockAnswer::Override { .. }) {
        return Err("ttl= goes with an override record only".into());
    }
    Ok(answer)
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

#[cfg(test)]
mod tests {
    use super::*;

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
