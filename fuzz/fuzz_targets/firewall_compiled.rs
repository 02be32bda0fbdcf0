//! `edgedns::resolver::firewall::Firewall::from_published` on a KV value: what the Worker
//! reads from `firewall:<version>` (a compiled firewall, else a list as text). The input is
//! taken as it is, and also as a damaged compiled firewall: the first byte picks one of a few
//! lists, which is compiled and published, then the rest of the input overwrites its payload
//! from an offset and the checksum is made right, so the fields past the checksum are reached.
//!
//! Asserts: no panic; a value that reads answers lookups of the names the lists hold, and
//! encodes again into a value that reads.

#![no_main]

use edgedns::resolver::firewall::compiled::{self, HEADER_BYTES, MAGIC};
use edgedns::resolver::firewall::{bundle, Firewall, Format};
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

const LISTS: [&str; 3] = [
    "||ads.example^\n@@||ok.ads.example^\n||t.example^$important\n||h.example^$dnsrewrite=192.0.2.1\n||c.example^$dnsrewrite=NOERROR;CNAME;x.example\n",
    "0.0.0.0 a.example B.example\n192.0.2.7 here.example\n::1 six.example\n",
    "alert *\nblock 10.0.0.0/8 nodata\nallow 2001:db8::/32\nblock *.w.example AAAA 2001:db8::1 ttl=5\n",
];

const NAMES: [&str; 8] = ["ads.example.", "x.ok.ads.example.", "t.example.", "h.example.", "b.example.", "y.w.example.", "example.", "."];

/// Reads `value`, and what it reads is looked up and encoded again.
fn check(value: Vec<u8>) {
    if let Ok(firewall) = Firewall::from_published(value) {
        for name in NAMES {
            let _ = firewall.check(&Name::from_ascii(name).unwrap());
        }
        let _ = firewall.check_address("10.1.2.3".parse().unwrap());
        let again = firewall.to_published();
        assert!(Firewall::from_published(again).is_ok(), "a value read encodes into one that reads");
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = compiled::parts(data);
    check(data.to_vec());
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = LISTS[pick as usize % LISTS.len()];
    let lists = [bundle::List { name: Some("fuzz.txt"), format: Format::detect(text), text }];
    let Ok(firewall) = Firewall::load(&bundle::encode(&lists)) else { return };
    let mut value = firewall.to_published();
    let Some((&offset, patch)) = rest.split_first() else { return };
    let payload = value.len() - HEADER_BYTES;
    let at = HEADER_BYTES + (offset as usize * 7) % payload.max(1);
    for (index, byte) in patch.iter().enumerate() {
        if let Some(slot) = value.get_mut(at + index) {
            *slot = *byte;
        }
    }
    assert!(value.starts_with(MAGIC));
    check(compiled::seal(value));
});
