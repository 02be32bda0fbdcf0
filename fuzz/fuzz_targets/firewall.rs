//! `edgedns::resolver::firewall::Firewall::parse` on an operator's rule list (KV
//! `firewall:<version>`, or the file `edgedns firewall publish` reads).
//!
//! Asserts: no panic; a list that reads holds at most one rule per non-empty line; every
//! pattern it holds is found again for a name it covers (the exact name, or a name below a
//! wildcard's domain) and the rule found is that one or a more specific one; errors name
//! lines that exist.

#![no_main]

use edgedns::resolver::firewall::Firewall;
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count();
    match Firewall::parse(text) {
        Err(error) => {
            assert!(!error.0.is_empty());
            assert!(error.0.iter().all(|(line, _)| (1..=lines).contains(line)), "{error}");
        }
        Ok(firewall) => {
            assert!(firewall.len() <= lines);
            for (index, raw) in text.lines().enumerate() {
                let content = raw.split('#').next().unwrap_or("").trim();
                let Some(pattern) = content.split_whitespace().nth(1) else { continue };
                let name = match pattern.strip_prefix("*.") {
                    Some(domain) => format!("fuzz.{domain}"),
                    None if pattern == "*" => "fuzz.".to_owned(),
                    None => pattern.to_owned(),
                };
                let Ok(name) = Name::from_ascii(&name) else { continue };
                let rule = firewall.check(&name).unwrap_or_else(|| panic!("{pattern} (line {}) is not found again", index + 1));
                assert!(rule.line >= 1 && rule.line <= lines);
            }
        }
    }
});
