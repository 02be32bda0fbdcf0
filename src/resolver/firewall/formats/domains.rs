//! Plain domain lists: one domain a line, `#` comments. A domain is blocked (NXDOMAIN) with
//! every name below it, as such lists mean it (the AdGuard Home and RethinkDNS reading of a
//! domain list); `*.domain` blocks the names below it only.

use super::{numbered_lines, wildcard_pattern, Entry, Reading, Skipped, Target};
use crate::resolver::firewall::rules::{Action, BlockAnswer, Rank};

/// Reads a domain list.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    for (line, raw) in numbered_lines(text) {
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        if content.split_whitespace().nth(1).is_some() {
            reading.skipped.push(Skipped { line, reason: "a domain list holds one domain a line".into() });
            continue;
        }
        match wildcard_pattern(content) {
            Ok((true, domain)) => reading.entries.push(entry(Target::Below(domain), line, content)),
            Ok((false, domain)) => reading.entries.push(entry(Target::Domain(domain), line, content)),
            Err(reason) => reading.skipped.push(Skipped { line, reason }),
        }
    }
    reading
}

fn entry(target: Target, line: usize, text: &str) -> Entry {
    Entry { target, action: Action::Block(BlockAnswer::NxDomain), rank: Rank::Plain, line, text: text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_cover_their_subdomains_and_wildcards_only_below() {
        let reading = read("# list\r\nads.example\r\n*.tracker.example\nbücher.example.\nbad..example\ntwo words\n\n");
        let targets: Vec<&Target> = reading.entries.iter().map(|entry| &entry.target).collect();
        assert_eq!(
            targets,
            vec![&Target::Domain("ads.example".into()), &Target::Below("tracker.example".into()), &Target::Domain("xn--bcher-kva.example".into())]
        );
        assert_eq!(reading.entries[2].text, "bücher.example.", "the rule as written");
        assert_eq!(reading.skipped.iter().map(|skipped| skipped.line).collect::<Vec<_>>(), vec![5, 6]);
    }
}
