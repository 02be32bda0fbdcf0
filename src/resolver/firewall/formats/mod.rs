//! The list formats the firewall reads, each turned into the same [`Entry`] values: its own
//! rule syntax ([`native`]), hosts files ([`hosts`]), plain domain lists ([`domains`]),
//! AdBlock-style DNS rules as AdGuard Home reads them ([`adblock`]) and RPZ zone files
//! ([`rpz`]). A line a format cannot express here is [`Skipped`] with the reason, never
//! dropped without a word: `edgedns firewall check|publish` prints each one as file:line.

use std::net::IpAddr;
use std::str::FromStr;

use hickory_proto::rr::Name;
use ipnet::IpNet;

use super::rules::{Action, Rank};

pub mod adblock;
pub mod domains;
pub mod hosts;
pub mod native;
pub mod rpz;

/// A list format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `allow|alert|block <name|*.domain|network> [answer]` (the module doc of the firewall).
    Native,
    /// `0.0.0.0 ads.example tracker.example`.
    Hosts,
    /// One domain a line.
    Domains,
    /// `||ads.example^`, `@@||good.example^`, `$important`, `$dnsrewrite`.
    Adblock,
    /// An RPZ zone file.
    Rpz,
}

impl Format {
    /// Its name on the command line and in a published bundle.
    pub fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Hosts => "hosts",
            Self::Domains => "domains",
            Self::Adblock => "adblock",
            Self::Rpz => "rpz",
        }
    }

    /// The format of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Native, Self::Hosts, Self::Domains, Self::Adblock, Self::Rpz].into_iter().find(|format| format.name() == name)
    }

    /// The format a list is written in, from its first lines that say: a native action word,
    /// an AdBlock anchor (`||`, `@@`, `^`) or `!` comment, a zone file's `$ORIGIN`/`$TTL`/SOA
    /// or `CNAME`, an address first (hosts); else a domain list.
    pub fn detect(text: &str) -> Self {
        for line in text.lines().take(1000) {
            let line = line.trim();
            if line.starts_with('!') || line.starts_with("[Adblock") || line.starts_with("||") || line.starts_with("@@") || line.starts_with('|') {
                return Self::Adblock;
            }
            if line.starts_with('$') || line.starts_with(';') {
                return Self::Rpz;
            }
            let content = line.split('#').next().unwrap_or("");
            let mut words = content.split_whitespace();
            let Some(first) = words.next() else { continue };
            if ["allow", "alert", "block"].contains(&first.to_ascii_lowercase().as_str()) {
                return Self::Native;
            }
            if content.contains('^') {
                return Self::Adblock;
            }
            if content.split_whitespace().any(|word| word.eq_ignore_ascii_case("SOA") || word.eq_ignore_ascii_case("CNAME")) {
                return Self::Rpz;
            }
            if first.parse::<IpAddr>().is_ok() {
                return Self::Hosts;
            }
        }
        Self::Domains
    }
}

/// What a rule's pattern covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One name (lower case, no trailing dot, punycode).
    Name(String),
    /// Every name below a domain, not the domain ("" is the root: every name).
    Below(String),
    /// A domain and every name below it (`||example.com^`).
    Domain(String),
    /// Answer addresses in a network (its host bits zero).
    Network(IpNet),
}

/// A rule read from a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it covers.
    pub target: Target,
    /// What it does.
    pub action: Action,
    /// How it ranks against other rules ([`Rank`]).
    pub rank: Rank,
    /// Its line (from 1).
    pub line: usize,
    /// The rule as written (see [`super::Rule::pattern`]).
    pub text: String,
}

/// A line not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its line (from 1).
    pub line: usize,
    /// Why it was not taken.
    pub reason: String,
}

/// A list read in one format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// The rules, in the order of their lines.
    pub entries: Vec<Entry>,
    /// Lines whose rule cannot be expressed here (reported; the rest of the list applies).
    pub skipped: Vec<Skipped>,
    /// Lines that are wrong (native lists only: such a list is refused as a whole).
    pub errors: Vec<Skipped>,
    /// Lines ignored by design and not worth a report (a hosts file's `localhost` entries).
    pub ignored: usize,
}

/// Reads `text` as `format`.
pub fn read(format: Format, text: &str) -> Reading {
    match format {
        Format::Native => native::read(text),
        Format::Hosts => hosts::read(text),
        Format::Domains => domains::read(text),
        Format::Adblock => adblock::read(text),
        Format::Rpz => rpz::read(text),
    }
}

/// The lines of a list, numbered from 1, without their line ends (`\n` or `\r\n`).
pub(super) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
}

/// A domain name as rules are keyed by: parsed (Unicode names in their punycode form, as
/// queries carry them: RFC 5891 section 4.4), lower case, no trailing dot.
pub fn domain_key(text: &str) -> Result<String, String> {
    let text = text.trim_end_matches('.');
    if text.is_empty() {
        return Ok(String::new());
    }
    if text.split('.').any(str::is_empty) {
        return Err(format!("{text:?} has an empty label"));
    }
    let name = if text.is_ascii() { Name::from_ascii(text) } else { Name::from_utf8(text) };
    let name = name.map_err(|error| format!("{text:?} is not a domain name: {error}"))?;
    Ok(name.to_ascii().trim_end_matches('.').to_ascii_lowercase())
}

/// A name pattern: `name`, or `*.domain` for the names below it (`*` alone: every name).
/// Returns whether it is a wildcard, and the domain's key.
pub(super) fn wildcard_pattern(pattern: &str) -> Result<(bool, String), String> {
    let (wildcard, domain) = match pattern.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None if pattern == "*" => (true, ""),
        None => (false, pattern),
    };
    if domain.contains('*') {
        return Err(format!("{pattern:?}: a wildcard is only allowed as the first label (*.domain)"));
    }
    if !wildcard && domain.trim_end_matches('.').is_empty() {
        return Err(format!("{pattern:?} is not a domain name"));
    }
    Ok((wildcard, domain_key(domain)?))
}

/// An address as an override record's data.
pub(super) fn address_data(address: IpAddr) -> hickory_proto::rr::RData {
    use hickory_proto::rr::rdata::{A, AAAA};
    match address {
        IpAddr::V4(address) => hickory_proto::rr::RData::A(A(address)),
        IpAddr::V6(address) => hickory_proto::rr::RData::AAAA(AAAA(address)),
    }
}

/// A CNAME target as an override record's data.
pub(super) fn cname_data(target: &str) -> Result<hickory_proto::rr::RData, String> {
    let key = domain_key(target)?;
    let mut name = Name::from_str(&key).map_err(|error| format!("{target:?} is not a domain name: {error}"))?;
    name.set_fqdn(true);
    Ok(hickory_proto::rr::RData::CNAME(hickory_proto::rr::rdata::CNAME(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_their_first_telling_line() {
        let cases = [
            ("# rules\nblock ads.example nxdomain\n", Format::Native),
            ("# hosts\n0.0.0.0 ads.example\n", Format::Hosts),
            ("::1 localhost\n", Format::Hosts),
            ("! Title: list\n||ads.example^\n", Format::Adblock),
            ("ads.example^\n", Format::Adblock),
            ("$TTL 300\n@ SOA a. b. 1 2 3 4 5\n", Format::Rpz),
            ("ads.example CNAME .\n", Format::Rpz),
            ("# domains\nads.example\ntracker.example\n", Format::Domains),
            ("", Format::Domains),
        ];
        for (text, format) in cases {
            assert_eq!(Format::detect(text), format, "{text:?}");
        }
    }

    #[test]
    fn names_are_keyed_in_punycode_whichever_form_they_are_written_in() {
        assert_eq!(domain_key("Bücher.Example.").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(domain_key("xn--bcher-kva.example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(domain_key("_dmarc.Example").as_deref(), Ok("_dmarc.example"));
        assert!(domain_key("a..example").is_err());
        assert!(domain_key(&"a".repeat(64)).is_err(), "a label over 63 octets");
    }
}
