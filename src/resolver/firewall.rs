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

use std::collections::HashMap;
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, RecordType};

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
        let (mut exact, mut below) = (0, 0);
        for raw in text.lines() {
            match raw.split('#').next().unwrap_or("").split_whitespace().nth(1) {
                Some(pattern) if pattern.starts_with('*') => below += 1,
                Some(_) => exact += 1,
                None => {}
            }
        }
        if exact + below > MAX_RULES {
            return Err(ListError::TooManyRules { rules: exact + below });
        }
        Self::parse_into(Self { exact: HashMap::with_capacity(exact), below: HashMap::with_capacity(below) }, text).map_err(ListError::Lines)
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
            match parse_rule(content, line) {
                Ok((wildcard, domain, rule)) => {
                    let map = if wildcard { &mut firewall.below } else { &mut firewall.exact };
                    if let Some(first) = map.get(&domain) {
                        errors.push((line, format!("{} is already ruled on line {}", rule.pattern, first.line)));
                    } else {
                        map.insert(domain, rule);
                    }
                }
                Err(message) => errors.push((line, message)),
            }
        }
        if errors.is_empty() {
            Ok(firewall)
        } else {
            Err(FirewallError(errors))
        }
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.exact.len() + self.below.len()
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
}

fn parse_rule(content: &str, line: usize) -> Result<(bool, String, Rule), String> {
    let mut fields = content.split_whitespace();
    let action_word = fields.next().unwrap_or("");
    let pattern = fields.next().ok_or("a rule is `<allow|alert|block> <name or *.domain> [answer]`")?;
    let rest: Vec<&str> = fields.collect();
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
    let action = match (action_word.to_ascii_lowercase().as_str(), rest.as_slice()) {
        ("allow", []) => Action::Allow,
        ("alert", []) => Action::Alert,
        ("allow" | "alert", _) => return Err(format!("{action_word} takes no answer")),
        ("block", answer) => Action::Block(block_answer(answer)?),
        (other, _) => return Err(format!("unknown action {other:?} (allow, alert, block)")),
    };
    Ok((wildcard, key(&domain), Rule { action, pattern: pattern.to_owned(), line }))
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
