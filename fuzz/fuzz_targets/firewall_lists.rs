//! `edgedns::resolver::firewall::formats::read` on a list in every format people publish
//! (hosts, domains, AdBlock, RPZ, native; `edgedns firewall check|publish`, and the Worker
//! reading a published bundle), then `Firewall::compile` of what was read.
//!
//! Asserts: no panic; every rule, skipped line and error names a line the text has; a list
//! that compiles answers a lookup of each rule's own name without a panic; format detection
//! picks one of the formats for any text.

#![no_main]

use edgedns::resolver::firewall::formats::{self, Format};
use edgedns::resolver::firewall::{Firewall, NamedReading};
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 5] = [Format::Native, Format::Hosts, Format::Domains, Format::Adblock, Format::Rpz];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count();
    let _ = Format::detect(text);
    for format in FORMATS {
        let reading = formats::read(format, text);
        for line in reading.entries.iter().map(|entry| entry.line).chain(reading.skipped.iter().chain(&reading.errors).map(|skipped| skipped.line)) {
            assert!((1..=lines).contains(&line), "{format:?}: line {line} of {lines}");
        }
        let names: Vec<String> = reading.entries.iter().map(|entry| entry.text.clone()).collect();
        let lists = [NamedReading { name: Some("fuzz".into()), format, reading }];
        if let Ok((firewall, _report)) = Firewall::compile(&lists) {
            for text in names {
                for word in text.split(|c: char| c.is_whitespace() || "|^@$,".contains(c)) {
                    if let Ok(name) = Name::from_ascii(word.trim_start_matches("*.")) {
                        let _ = firewall.check(&name);
                    }
                }
            }
        }
    }
});
