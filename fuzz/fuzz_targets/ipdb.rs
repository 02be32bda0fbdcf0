//! `edgedns::geo::ipdb::IpTable::decode` on GeoIP table images from KV.
//!
//! Asserts: no panic; a table that decodes keeps its bytes (`as_bytes` is the input) and
//! decodes again from them; lookups are consistent: for probe networks (fixed ones and ones
//! taken from the input), `locate` returns a block containing the network asked (or the
//! network itself), whose first address has the value returned, and whose last address too
//! when the block is wider than the network asked (the whole block shares the value; for a
//! v6 block covering `::ffff:0:0/96`, see below);
//! `lookup_network` agrees with `locate`.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use edgedns::geo::ipdb::IpTable;
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

fn last_address(network: IpNet) -> IpAddr {
    network.broadcast()
}

fn is_mapped(address: IpAddr) -> bool {
    matches!(address, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

fn check(table: &IpTable, network: IpNet) {
    let located = table.locate(network);
    let asked = network.trunc();
    assert!(
        located.network == asked || (located.network.contains(&asked) && located.network.prefix_len() <= asked.prefix_len()),
        "locate({asked}) returned {} which does not contain it",
        located.network
    );
    let first = table.locate(IpNet::from(located.network.network()));
    assert_eq!(first.value, located.value, "locate({asked}) = {located:?} but its first address has {first:?}");
    // A v6 block wider than /96 around `::` can cover `::ffff:0:0/96`, whose addresses are
    // looked up in the IPv4 section: the table's blocks are per section, so the last address
    // is only compared when it is in the same section as the network asked.
    let last_address = last_address(located.network);
    if located.network != asked && is_mapped(last_address) == is_mapped(asked.network()) {
        let last = table.locate(IpNet::from(last_address));
        assert_eq!(last.value, located.value, "locate({asked}) = {located:?} but its last address has {last:?}");
    }
    match table.lookup_network(network) {
        Some(found) => assert_eq!((Some(found.value), found.network), (located.value, located.network)),
        None => assert_eq!(located.value, None),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(table) = IpTable::decode(data.to_vec()) else { return };
    assert_eq!(table.as_bytes(), data);
    let (v4, v6) = table.record_counts();
    assert!(v4 + v6 <= data.len());
    assert!(IpTable::decode(table.as_bytes().to_vec()).is_ok());

    let mut probes: Vec<IpNet> = [
        "0.0.0.0/0", "0.0.0.0/32", "1.0.2.0/24", "1.0.2.7/32", "8.8.8.0/25", "255.255.255.255/32", "::/0", "::/128",
        "2001:db8::/56", "::ffff:1.0.2.7/128", "::ffff:0.0.0.0/96", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    ]
    .iter()
    .map(|text| text.parse().unwrap())
    .collect();
    // Networks around the addresses the image itself holds (and around its bytes).
    for (index, chunk) in data.chunks(17).enumerate().take(24) {
        let prefix = chunk.first().copied().unwrap_or(0);
        if chunk.len() >= 17 {
            let octets: [u8; 16] = chunk[1..17].try_into().unwrap();
            probes.push(IpNet::new(IpAddr::V6(Ipv6Addr::from(octets)), prefix % 129).unwrap());
        }
        if chunk.len() >= 5 {
            let octets: [u8; 4] = chunk[1..5].try_into().unwrap();
            probes.push(IpNet::new(IpAddr::V4(Ipv4Addr::from(octets)), prefix % 33).unwrap());
            let mapped = Ipv4Addr::from(octets).to_ipv6_mapped();
            probes.push(IpNet::new(IpAddr::V6(mapped), 96 + (prefix ^ index as u8) % 33).unwrap());
        }
    }
    for network in probes {
        check(&table, network);
    }
});
