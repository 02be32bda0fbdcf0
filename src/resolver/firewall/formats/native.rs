//! The firewall's own rule syntax (the firewall's module doc): `allow|alert|block <name,
//! *.domain or network> [answer]`, `#` comments. A line that does not read is an error and
//! the list is refused as a whole (it is the operator's own list: a typo must not pass).

use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData};
use ipnet::IpNet;

use super::{numbered_lines, wildcard_pattern, Entry, Reading, Skipped, Target};
use crate::resolver::firewall::rules::{Action, BlockAnswer, Rank, DEFAULT_OVERRIDE_TTL};

/// Reads a native rule list.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    for (line, raw) in numbered_lines(text) {
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        match parse_rule(content, line) {
            Ok(entry) => reading.entries.push(entry),
            Err(reason) => reading.errors.push(Skipped { line, reason }),
        }
    }
    reading
}

/// Whether a line holds a rule (counted before a list is parsed).
pub(crate) fn holds_rule(raw: &str) -> bool {
    raw.split('#').next().unwrap_or("").split_whitespace().nth(1).is_some()
}

fn parse_rule(content: &str, line: usize) -> Result<Entry, String> {
    let mut fields = content.split_whitespace();
    let action_word = fields.next().unwrap_or("");
    let pattern = fields.next().ok_or("a rule is `<allow|alert|block> <name, *.domain or network> [answer]`")?;
    let rest: Vec<&str> = fields.collect();
    let action = rule_action(action_word, &rest)?;
    let entry = |target| Entry { target, action, rank: Rank::Plain, line, text: pattern.to_owned() };
    if pattern.contains('/') {
        let network: IpNet = pattern.parse().map_err(|_| format!("{pattern:?} is not a network (192.0.2.0/24, 2001:db8::/32)"))?;
        if network.trunc() != network {
            return Err(format!("{pattern:?} has host bits set: the network is {}", network.trunc()));
        }
        return Ok(entry(Target::Network(network)));
    }
    let (wildcard, domain) = wildcard_pattern(pattern)?;
    Ok(entry(if wildcard { Target::Below(domain) } else { Target::Name(domain) }))
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
