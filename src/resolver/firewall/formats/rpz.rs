//! RPZ zone files (Response Policy Zones, draft-vixie-dnsop-dns-rpz section 3 and 4): each
//! record's owner below the zone's origin is a trigger, its data the action.
//!
//! ```text
//! $ORIGIN rpz.example.
//! ads.example          CNAME .                NXDOMAIN
//! *.ads.example        CNAME *.               NODATA (the names below ads.example)
//! ok.ads.example       CNAME rpz-passthru.    allow
//! portal.example  300  A     192.0.2.1        local data: an override
//! alias.example        CNAME walled.example.  local data: a CNAME override
//! 24.0.2.0.192.rpz-ip  CNAME .                answers with an address in 192.0.2.0/24
//! ```
//!
//! The most specific trigger decides, as in one policy zone. Skipped and reported: `rpz-drop.`
//! and `rpz-tcp-only.` (no such answer here), `rpz-nsdname`, `rpz-nsip` and `rpz-client-ip`
//! triggers, local data other than A, AAAA and CNAME, and `$INCLUDE`. A second record for one
//! owner (an A and an AAAA of local data) is reported: a trigger has one override here.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{address_data, cname_data, numbered_lines, wildcard_pattern, Entry, Reading, Skipped, Target};
use crate::resolver::firewall::rules::{Action, BlockAnswer, Rank, DEFAULT_OVERRIDE_TTL};

/// Reads an RPZ zone file.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    let mut origin: Option<String> = None;
    let mut owner: Option<String> = None;
    let mut pending: Option<(usize, String)> = None;
    for (line, raw) in numbered_lines(text) {
        let content = raw.split(';').next().unwrap_or("");
        // A record in parentheses goes on over lines (RFC 1035 section 5.1).
        let (first, mut joined) = match pending.take() {
            Some((first, before)) => (first, format!("{before} {content}")),
            None => (line, content.to_owned()),
        };
        if joined.matches('(').count() > joined.matches(')').count() {
            pending = Some((first, joined));
            continue;
        }
        joined = joined.replace(['(', ')'], " ");
        if joined.trim().is_empty() {
            continue;
        }
        let continued = joined.starts_with([' ', '\t']);
        let mut words: Vec<&str> = joined.split_whitespace().collect();
        let text = joined.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(directive) = words.first().filter(|word| word.starts_with('$')) {
            match directive.to_ascii_uppercase().as_str() {
                "$ORIGIN" => origin = words.get(1).map(|name| name.trim_end_matches('.').to_ascii_lowercase()),
                "$TTL" => {}
                other => reading.skipped.push(Skipped { line: first, reason: format!("{other}: not supported in a policy zone here") }),
            }
            continue;
        }
        if !continued {
            owner = words.first().map(|word| (*word).to_owned());
            words.remove(0);
        }
        let Some(owner) = owner.clone() else { continue };
        // [ttl] [class] type data, TTL and class in either order.
        let mut ttl = None;
        while let Some(word) = words.first() {
            if let Ok(seconds) = word.parse::<u32>() {
                ttl = Some(seconds);
            } else if !["IN", "CH", "HS"].iter().any(|class| word.eq_ignore_ascii_case(class)) {
                break;
            }
            words.remove(0);
        }
        let Some((kind, data)) = words.split_first() else {
            reading.skipped.push(Skipped { line: first, reason: "a record with no type".into() });
            continue;
        };
        let kind = kind.to_ascii_uppercase();
        if kind == "SOA" {
            if origin.is_none() && owner.ends_with('.') {
                origin = Some(owner.trim_end_matches('.').to_ascii_lowercase());
            }
            continue;
        }
        if owner == "@" || kind == "NS" {
            continue;
        }
        match record(&owner, origin.as_deref(), &kind, data, ttl) {
            Ok((target, action)) => reading.entries.push(Entry { target, action, rank: Rank::Plain, line: first, text }),
            Err(reason) => reading.skipped.push(Skipped { line: first, reason }),
        }
    }
    if let Some((line, _)) = pending {
        reading.skipped.push(Skipped { line, reason: "a `(` never closed".into() });
    }
    reading
}

fn record(owner: &str, origin: Option<&str>, kind: &str, data: &[&str], ttl: Option<u32>) -> Result<(Target, Action), String> {
    let trigger = trigger_name(owner, origin)?;
    let action = match (kind, data) {
        ("CNAME", ["."]) => Action::Block(BlockAnswer::NxDomain),
        ("CNAME", ["*."]) => Action::Block(BlockAnswer::NoData),
        ("CNAME", [target]) if target.eq_ignore_ascii_case("rpz-passthru.") => Action::Allow,
        ("CNAME", [target]) if target.eq_ignore_ascii_case("rpz-drop.") => return Err("rpz-drop. (no answer at all) is not an answer here".into()),
        ("CNAME", [target]) if target.eq_ignore_ascii_case("rpz-tcp-only.") => return Err("rpz-tcp-only. is not an answer over DoH".into()),
        ("CNAME", [target]) if target.starts_with("*.") => return Err("a CNAME to *.target (the query name rewritten) is not supported".into()),
        ("CNAME", [target]) => override_of(cname_data(target)?, ttl),
        ("A" | "AAAA", [address]) => {
            let address: IpAddr = address.parse().map_err(|_| format!("{address:?} is not an address"))?;
            if address.is_ipv4() != (kind == "A") {
                return Err(format!("{address} is not an {kind} address"));
            }
            override_of(address_data(address), ttl)
        }
        (other, _) => return Err(format!("local data of type {other} (an override is A, AAAA or CNAME)")),
    };
    let lower = trigger.to_ascii_lowercase();
    for unsupported in ["rpz-nsdname", "rpz-nsip", "rpz-client-ip"] {
        if lower.ends_with(&format!(".{unsupported}")) || lower == unsupported {
            return Err(format!("an {unsupported} trigger (not supported: names and answer addresses are)"));
        }
    }
    if let Some(address) = lower.strip_suffix(".rpz-ip") {
        return Ok((Target::Network(rpz_ip(address)?), action));
    }
    let (wildcard, domain) = wildcard_pattern(&trigger)?;
    Ok((if wildcard { Target::Below(domain) } else { Target::Name(domain) }, action))
}

fn override_of(data: hickory_proto::rr::RData, ttl: Option<u32>) -> Action {
    Action::Block(BlockAnswer::Override { data, ttl: ttl.unwrap_or(DEFAULT_OVERRIDE_TTL).min(604_800) })
}

/// The trigger an owner names: relative to the origin (`ads.example` in `$ORIGIN rpz.`), or
/// absolute below it (`ads.example.rpz.`).
fn trigger_name(owner: &str, origin: Option<&str>) -> Result<String, String> {
    let Some(absolute) = owner.strip_suffix('.') else { return Ok(owner.to_owned()) };
    let lower = absolute.to_ascii_lowercase();
    match origin {
        Some(origin) if lower.len() > origin.len() && lower.ends_with(origin) && lower.as_bytes().get(lower.len() - origin.len() - 1) == Some(&b'.') => {
            Ok(absolute.get(..absolute.len() - origin.len() - 1).unwrap_or_default().to_owned())
        }
        Some(origin) => Err(format!("{owner} is not below the zone's origin {origin}.")),
        None => Err(format!("{owner} is absolute and the zone has no $ORIGIN or SOA to take it from")),
    }
}

/// An `rpz-ip` trigger's network: `<prefix>.<address labels, last first>`, IPv6 words in hex
/// with `zz` for the `::` (draft-vixie-dnsop-dns-rpz section 4.2).
fn rpz_ip(labels: &str) -> Result<IpNet, String> {
    let mut labels: Vec<&str> = labels.split('.').collect();
    let prefix = labels.remove(0);
    labels.reverse();
    let address = if labels.len() == 4 && labels.iter().all(|label| label.parse::<u8>().is_ok()) {
        labels.join(".")
    } else {
        let joined = labels.iter().map(|label| if label.eq_ignore_ascii_case("zz") { "" } else { label }).collect::<Vec<_>>().join(":");
        match (joined.starts_with(':'), joined.ends_with(':')) {
            (true, _) => format!(":{joined}"),
            (_, true) => format!("{joined}:"),
            _ => joined,
        }
    };
    let network: IpNet =
        format!("{address}/{prefix}").parse().map_err(|_| format!("{labels:?} is not an rpz-ip trigger (prefix.address, last label first)"))?;
    if network.trunc() != network {
        return Err(format!("the rpz-ip trigger has host bits set: the network is {}", network.trunc()));
    }
    Ok(network)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "$TTL 300\r\n\
$ORIGIN rpz.example.\r\n\
@ IN SOA ns.rpz.example. admin.rpz.example. (\r\n  1 3600 600 86400 60 )\r\n\
  IN NS ns.rpz.example.\r\n\
ads.example CNAME .\r\n\
*.ads.example CNAME *.\r\n\
ok.ads.example.rpz.example. CNAME rpz-passthru.\r\n\
portal.example 120 IN A 192.0.2.1 ; walled garden\r\n\
alias.example CNAME walled.example.\r\n\
24.0.2.0.192.rpz-ip CNAME .\r\n\
48.zz.db8.2001.rpz-ip CNAME *.\r\n\
drop.example CNAME rpz-drop.\r\n\
ns.example.rpz-nsdname CNAME .\r\n\
txt.example TXT \"x\"\r\n\
outside.example. CNAME .\r\n";

    #[test]
    fn triggers_and_actions_read_as_policy() {
        let reading = read(ZONE);
        let entries: Vec<(Target, Action, usize)> = reading.entries.iter().map(|entry| (entry.target.clone(), entry.action.clone(), entry.line)).collect();
        assert_eq!(entries[0], (Target::Name("ads.example".into()), Action::Block(BlockAnswer::NxDomain), 6));
        assert_eq!(entries[1], (Target::Below("ads.example".into()), Action::Block(BlockAnswer::NoData), 7));
        assert_eq!(entries[2], (Target::Name("ok.ads.example".into()), Action::Allow, 8));
        assert!(matches!(&entries[3].1, Action::Block(BlockAnswer::Override { data, ttl: 120 }) if data.to_string() == "192.0.2.1"));
        assert!(matches!(&entries[4].1, Action::Block(BlockAnswer::Override { data, ttl: 60 }) if data.to_string() == "walled.example."));
        assert_eq!(entries[5].0, Target::Network("192.0.2.0/24".parse().unwrap()));
        assert_eq!((entries[6].0.clone(), entries[6].1.clone()), (Target::Network("2001:db8::/48".parse().unwrap()), Action::Block(BlockAnswer::NoData)));
        assert_eq!(entries.len(), 7);
        assert_eq!(reading.entries[3].text, "portal.example 120 IN A 192.0.2.1", "the record as written, without its comment");
        let skipped: Vec<usize> = reading.skipped.iter().map(|skipped| skipped.line).collect();
        assert_eq!(skipped, vec![13, 14, 15, 16], "{:?}", reading.skipped);
    }
}
