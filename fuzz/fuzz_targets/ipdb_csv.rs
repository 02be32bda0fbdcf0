//! `edgedns::geo::ipdb::parse_csv` and `build` on ip-location-db CSV lists (third-party data
//! the CLI turns into GeoIP tables).
//!
//! Asserts: no panic; every image `build` makes from what `parse_csv` accepts is one
//! `IpTable::decode` accepts, of the kind asked; and the first and last address of every
//! range that overlaps no other range of the list is found with exactly that range's value
//! (ranges inside `::ffff:0:0/96` excepted: lookups of mapped addresses use IPv4 data).

#![no_main]

use edgedns::geo::ipdb::{self, IpTable, Kind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let kind = if selector & 1 == 0 { Kind::Country } else { Kind::Asn };
    let Ok(ranges) = ipdb::parse_csv(text, kind) else { return };
    let Ok(image) = ipdb::build(ranges.clone()) else { return };
    let table = IpTable::decode(image).unwrap_or_else(|error| panic!("build made an image decode rejects: {error}"));
    assert_eq!(table.kind(), kind);
    for (index, (start, end, value)) in ranges.iter().enumerate().take(64) {
        let mapped = |address: &std::net::IpAddr| matches!(address, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
        if mapped(start) || mapped(end) {
            continue;
        }
        let overlapped = ranges.iter().enumerate().any(|(other, (s, e, _))| {
            other != index && s.is_ipv4() == start.is_ipv4() && *s <= *end && *start <= *e
        });
        for address in [start, end] {
            let found = table.lookup(*address);
            if !overlapped {
                assert_eq!(found.map(|found| found.value), Some(value.clone()), "{address} in {start}-{end}");
            }
        }
    }
});
