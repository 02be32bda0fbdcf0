//! Hosts files (`0.0.0.0 ads.example tracker.example`): an address, then names, `#` comments.
//! A name answered by a sink address (`0.0.0.0`, `127.0.0.1`, `::`, `::1`) is blocked
//! (NXDOMAIN); a name given another address is answered with it (an A or AAAA override). A
//! hosts entry covers that name only, as AdGuard Home reads hosts files. The entries every
//! hosts file starts with (`localhost`, `broadcasthost`, `ip6-*`...) are ignored.

use std::net::IpAddr;

use super::{address_data, domain_key, numbered_lines, Entry, Reading, Skipped, Target};
use crate::resolver::firewall::rules::{Action, BlockAnswer, Rank, DEFAULT_OVERRIDE_TTL};

/// The names of a hosts file's own entries, not rules.
const LOCAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

/// Whether an address is a sink: it says "blocked", not "here".
fn is_sink(address: IpAddr) -> bool {
    address.is_unspecified() || address.is_loopback()
}

/// Reads a hosts file.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    for (line, raw) in numbered_lines(text) {
        let content = raw.split('#').next().unwrap_or("").trim();
        let mut words = content.split_whitespace();
        let Some(first) = words.next() else { continue };
        let Ok(address) = first.parse::<IpAddr>() else {
            reading.skipped.push(Skipped { line, reason: format!("{first:?} is not an address: a hosts line is `<address> <name>...`") });
            continue;
        };
        let action = if is_sink(address) {
            Action::Block(BlockAnswer::NxDomain)
        } else {
            Action::Block(BlockAnswer::Override { data: address_data(address), ttl: DEFAULT_OVERRIDE_TTL })
        };
        let mut names = 0;
        for name in words {
            names += 1;
            if LOCAL_NAMES.iter().any(|local| local.eq_ignore_ascii_case(name)) {
                reading.ignored += 1;
                continue;
            }
            match domain_key(name) {
                Ok(key) if !key.is_empty() => {
                    reading.entries.push(Entry { target: Target::Name(key), action: action.clone(), rank: Rank::Plain, line, text: format!("{first} {name}") })
                }
                Ok(_) => reading.skipped.push(Skipped { line, reason: "the root is no host name".into() }),
                Err(reason) => reading.skipped.push(Skipped { line, reason }),
            }
        }
        if names == 0 {
            reading.skipped.push(Skipped { line, reason: "an address with no name".into() });
        }
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_block_other_addresses_override_and_local_entries_are_ignored() {
        let reading = read("127.0.0.1 localhost\r\n::1 localhost ip6-localhost\r\n0.0.0.0 ads.example  Tracker.Example # two\r\n:: six.example\n192.0.2.7 here.example\nnonsense line\n0.0.0.0\n");
        let names: Vec<(&Target, usize, &str)> = reading.entries.iter().map(|entry| (&entry.target, entry.line, entry.text.as_str())).collect();
        assert_eq!(
            names,
            vec![
                (&Target::Name("ads.example".into()), 3, "0.0.0.0 ads.example"),
                (&Target::Name("tracker.example".into()), 3, "0.0.0.0 Tracker.Example"),
                (&Target::Name("six.example".into()), 4, ":: six.example"),
                (&Target::Name("here.example".into()), 5, "192.0.2.7 here.example"),
            ]
        );
        assert_eq!(reading.entries[0].action, Action::Block(BlockAnswer::NxDomain));
        assert!(matches!(&reading.entries[3].action, Action::Block(BlockAnswer::Override { data, .. }) if data.to_string() == "192.0.2.7"));
        assert_eq!(reading.ignored, 3);
        assert_eq!(reading.skipped.iter().map(|skipped| skipped.line).collect::<Vec<_>>(), vec![6, 7]);
        assert!(reading.errors.is_empty());
    }
}
