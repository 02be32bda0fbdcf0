//! AdBlock-style DNS rules, as AdGuard Home reads them for DNS:
//!
//! ```text
//! ! a comment (and `# a comment`, `[Adblock Plus 2.0]`)
//! ||ads.example^                      the domain and every name below it
//! ||*.cdn.example^                    the names below it only
//! |exact.example^                     that name only
//! @@||good.ads.example^               an exception: beats blocks...
//! ||tracker.example^$important        ...unless the block is $important
//! ||home.example^$dnsrewrite=192.0.2.1           an override (A, AAAA, or CNAME for a name)
//! ||gone.example^$dnsrewrite=NXDOMAIN;;          NXDOMAIN (NOERROR;; : NODATA)
//! ||alias.example^$dnsrewrite=NOERROR;CNAME;target.example
//! 0.0.0.0 ads.example                 hosts syntax, as in a hosts file
//! ads.example                         a bare domain, as in a domain list
//! ```
//!
//! A block answers NXDOMAIN. What has no meaning here is skipped and reported: cosmetic rules
//! (`##`, `#@#`...), regular expressions, wildcards inside a name, patterns that end inside a
//! label (`||ads` or `ads.example` without `^` after `||`), and modifiers for clients, tags,
//! record types or browsers (`$client`, `$ctag`, `$dnstype`, `$denyallow`, `$badfilter`,
//! `$third-party`...).

use std::net::IpAddr;

use super::{address_data, cname_data, domain_key, hosts, numbered_lines, Entry, Reading, Skipped, Target};
use crate::resolver::firewall::rules::{Action, BlockAnswer, Rank, DEFAULT_OVERRIDE_TTL};

/// The markers of cosmetic (element hiding, CSS, scriptlet) rules: a browser's, not DNS's.
const COSMETIC: &[&str] = &["##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "$$", "$@$"];

/// Reads an AdBlock-style list.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    for (line, raw) in numbered_lines(text) {
        let content = raw.trim();
        if content.is_empty() || content.starts_with('!') || (content.starts_with('[') && content.ends_with(']')) {
            continue;
        }
        if COSMETIC.iter().any(|marker| content.contains(marker)) {
            reading.skipped.push(Skipped { line, reason: "a cosmetic rule (it hides page elements: a browser's, not DNS's)".into() });
            continue;
        }
        if content.starts_with('#') {
            continue;
        }
        if content.split_whitespace().next().is_some_and(|first| first.parse::<IpAddr>().is_ok()) {
            let mut hosts = hosts::read(content);
            reading.ignored += hosts.ignored;
            reading.entries.extend(hosts.entries.drain(..).map(|entry| Entry { line, ..entry }));
            reading.skipped.extend(hosts.skipped.drain(..).map(|skipped| Skipped { line, ..skipped }));
            continue;
        }
        match rule(content, line) {
            Ok(entry) => reading.entries.push(entry),
            Err(reason) => reading.skipped.push(Skipped { line, reason }),
        }
    }
    reading
}

fn rule(content: &str, line: usize) -> Result<Entry, String> {
    let (exception, body) = match content.strip_prefix("@@") {
        Some(body) => (true, body),
        None => (false, content),
    };
    if body.starts_with('/') && body.len() > 1 {
        return Err("a regular expression (not expressible as names)".into());
    }
    let (pattern, modifiers) = match body.split_once('$') {
        Some((pattern, modifiers)) => (pattern, Some(modifiers)),
        None => (body, None),
    };
    let mut important = false;
    let mut rewrite = None;
    for modifier in modifiers.into_iter().flat_map(|modifiers| modifiers.split(',')) {
        let modifier = modifier.trim();
        let (key, value) = modifier.split_once('=').map_or((modifier, None), |(key, value)| (key, Some(value)));
        match key {
            "important" if value.is_none() => important = true,
            "dnsrewrite" if !exception => rewrite = Some(dns_rewrite(value.unwrap_or(""))?),
            "dnsrewrite" => return Err("an exception to $dnsrewrite rules (no rewrite here to except)".into()),
            "client" => return Err("$client: rules for some clients only (every client gets the same rules here)".into()),
            "ctag" => return Err("$ctag: rules for tagged clients only (every client gets the same rules here)".into()),
            "dnstype" => return Err("$dnstype: rules for some record types only (a rule here covers every type)".into()),
            "denyallow" => return Err("$denyallow: a block with domains carved out of it (not expressible as one rule)".into()),
            "badfilter" => return Err("$badfilter: disables another rule (not supported)".into()),
            other => return Err(format!("${other}: a browser filter's modifier, with no meaning for DNS")),
        }
    }
    let target = target(pattern)?;
    let action = match rewrite {
        Some(answer) => Action::Block(answer),
        None if exception => Action::Allow,
        None => Action::Block(BlockAnswer::NxDomain),
    };
    let rank = match (exception, important) {
        (true, true) => Rank::ImportantException,
        (true, false) => Rank::Exception,
        (false, true) => Rank::Important,
        (false, false) => Rank::Plain,
    };
    Ok(Entry { target, action, rank, line, text: content.to_owned() })
}

/// What a pattern covers: `||domain^` a domain and below, `||*.domain^` below only,
/// `|name^` the name, and a bare `domain` a domain and below.
fn target(pattern: &str) -> Result<Target, String> {
    let trimmed = pattern.strip_suffix('|').unwrap_or(pattern);
    let (anchor, rest) = if let Some(rest) = trimmed.strip_prefix("||") {
        (2, rest)
    } else if let Some(rest) = trimmed.strip_prefix('|') {
        (1, rest)
    } else {
        (0, trimmed)
    };
    let (separator, name) = match rest.strip_suffix('^') {
        Some(name) => (true, name),
        None => (false, rest),
    };
    if name.contains(['/', ':', '?', '&', '=']) {
        return Err("a URL pattern (DNS sees names only)".into());
    }
    if name.contains('^') {
        return Err("a separator inside the pattern (not expressible as names)".into());
    }
    let (wildcard, name) = match name.strip_prefix("*.") {
        Some(name) => (true, name),
        None => (false, name),
    };
    if name.contains('*') {
        return Err("a wildcard inside a name (not expressible as names)".into());
    }
    match (anchor, separator) {
        (2, false) | (1, false) => return Err("no `^` after the name: the pattern would match inside a label (`||ads` matches adserver.example)".into()),
        (0, true) => return Err("no `||` before the name: the pattern would match inside a label (`ads.example^` matches bads.example)".into()),
        _ => {}
    }
    let key = domain_key(name)?;
    if key.is_empty() {
        return Err("an empty pattern (it would match every name)".into());
    }
    Ok(match (wildcard, anchor) {
        (true, 1) => return Err("`|*.` (an exact name with a wildcard) is not a pattern".into()),
        (true, _) => Target::Below(key),
        (false, 1) => Target::Name(key),
        (false, _) => Target::Domain(key),
    })
}

/// A `$dnsrewrite` value as a block answer: `NXDOMAIN;;`, `NOERROR;;` (NODATA),
/// `NOERROR;A|AAAA|CNAME;<value>`, or the short forms `<address>` and `<name>`.
fn dns_rewrite(value: &str) -> Result<BlockAnswer, String> {
    let override_of = |data| BlockAnswer::Override { data, ttl: DEFAULT_OVERRIDE_TTL };
    let fields: Vec<&str> = value.split(';').collect();
    match fields.as_slice() {
        [""] => Err("$dnsrewrite needs a value".into()),
        [short] => match short.parse::<IpAddr>() {
            Ok(address) => Ok(override_of(address_data(address))),
            Err(_) => cname_data(short).map(override_of),
        },
        [code, "", ""] if code.eq_ignore_ascii_case("NXDOMAIN") => Ok(BlockAnswer::NxDomain),
        [code, "", ""] if code.eq_ignore_ascii_case("NOERROR") => Ok(BlockAnswer::NoData),
        [code, kind, data] if code.eq_ignore_ascii_case("NOERROR") => match kind.to_ascii_uppercase().as_str() {
            "A" | "AAAA" => {
                let address: IpAddr = data.parse().map_err(|_| format!("$dnsrewrite: {data:?} is not an address"))?;
                if address.is_ipv4() != kind.eq_ignore_ascii_case("A") {
                    return Err(format!("$dnsrewrite: {data:?} is not an {kind} address"));
                }
                Ok(override_of(address_data(address)))
            }
            "CNAME" => cname_data(data).map(override_of),
            other => Err(format!("$dnsrewrite of a {other} record (an override is A, AAAA or CNAME)")),
        },
        _ => Err(format!("$dnsrewrite={value}: only NXDOMAIN;;, NOERROR;; and NOERROR;A|AAAA|CNAME;value map to an answer here")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Entry, String> {
        let reading = read(text);
        match (reading.entries.first(), reading.skipped.first()) {
            (Some(entry), None) => Ok(entry.clone()),
            (None, Some(skipped)) => Err(skipped.reason.clone()),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn patterns_cover_what_adguard_home_covers() {
        let domain = one("||Ads.Example^").unwrap();
        assert_eq!((domain.target, domain.rank, domain.action), (Target::Domain("ads.example".into()), Rank::Plain, Action::Block(BlockAnswer::NxDomain)));
        assert_eq!(one("||*.cdn.example^").unwrap().target, Target::Below("cdn.example".into()));
        assert_eq!(one("|exact.example^").unwrap().target, Target::Name("exact.example".into()));
        assert_eq!(one("||end.example^|").unwrap().target, Target::Domain("end.example".into()));
        assert_eq!(one("bare.example").unwrap().target, Target::Domain("bare.example".into()));
        assert_eq!(one("||com^").unwrap().target, Target::Domain("com".into()), "a TLD");
        assert_eq!(one("||пример.рф^").unwrap().target, Target::Domain("xn--e1afmkfd.xn--p1ai".into()));
        let exception = one("@@||good.example^").unwrap();
        assert_eq!((exception.rank, exception.action), (Rank::Exception, Action::Allow));
        assert_eq!(one("||bad.example^$important").unwrap().rank, Rank::Important);
        assert_eq!(one("@@||good.example^$important").unwrap().rank, Rank::ImportantException);
        assert_eq!(one("@@||good.example^").unwrap().text, "@@||good.example^", "the rule as written");
    }

    #[test]
    fn dns_rewrites_map_to_overrides() {
        let data = |text: &str| match one(text).unwrap().action {
            Action::Block(BlockAnswer::Override { data, .. }) => data.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(data("||home.example^$dnsrewrite=192.0.2.1"), "192.0.2.1");
        assert_eq!(data("||home.example^$dnsrewrite=2001:db8::1"), "2001:db8::1");
        assert_eq!(data("||home.example^$dnsrewrite=target.example"), "target.example.");
        assert_eq!(data("||home.example^$dnsrewrite=NOERROR;CNAME;target.example"), "target.example.");
        assert_eq!(data("||home.example^$dnsrewrite=NOERROR;A;192.0.2.2"), "192.0.2.2");
        assert_eq!(one("||gone.example^$dnsrewrite=NXDOMAIN;;").unwrap().action, Action::Block(BlockAnswer::NxDomain));
        assert_eq!(one("||gone.example^$dnsrewrite=NOERROR;;").unwrap().action, Action::Block(BlockAnswer::NoData));
        assert!(one("||x.example^$dnsrewrite=NOERROR;MX;10 mail.example").unwrap_err().contains("MX"));
        assert!(one("||x.example^$dnsrewrite=NOERROR;A;2001:db8::1").is_err());
        assert!(one("||x.example^$dnsrewrite=REFUSED;;").is_err());
    }

    #[test]
    fn what_dns_cannot_express_is_reported_with_why() {
        for (text, why) in [
            ("example.com##.banner", "cosmetic"),
            ("##.ad", "cosmetic"),
            ("example.com#@#.banner", "cosmetic"),
            ("/ads[0-9]+\\.example/", "regular expression"),
            ("||ads.example^$client=192.168.1.2", "$client"),
            ("||ads.example^$ctag=kids", "$ctag"),
            ("||ads.example^$dnstype=AAAA", "$dnstype"),
            ("||ads.example^$denyallow=ok.example", "$denyallow"),
            ("||ads.example^$badfilter", "$badfilter"),
            ("||ads.example^$third-party", "browser"),
            ("||ad*.example^", "wildcard inside"),
            ("||ads", "no `^`"),
            ("ads.example^", "no `||`"),
            ("||example.com/ads/*", "URL"),
            ("@@||x.example^$dnsrewrite", "exception"),
        ] {
            let reason = one(text).unwrap_err();
            assert!(reason.contains(why), "{text}: {reason}");
        }
        let reading = read("! comment\r\n# comment\r\n[Adblock Plus 2.0]\r\n\r\n0.0.0.0 hosts.example\r\n");
        assert_eq!((reading.entries.len(), reading.skipped.len()), (1, 0));
        assert_eq!((reading.entries[0].line, reading.entries[0].target.clone()), (5, Target::Name("hosts.example".into())));
    }
}
