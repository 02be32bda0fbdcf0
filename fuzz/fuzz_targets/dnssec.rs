//! The DNSSEC inputs that come from outside: the key secret (`DNSSEC_KEY_<ZONE>`, a Worker
//! secret an operator pastes), RDATA the signer puts in canonical form (RFC 4034 §6.2: names
//! inside it are read and lower-cased), and the signer's own records read back for people
//! (`dnssec::text`).
//!
//! Asserts: no panic; a secret that parses is for the zone it was read for; an RRset signed
//! from arbitrary RDATA is either refused or signed with an RRSIG of the key's tag.

#![no_main]

use edgedns::dnssec::key::SigningKey;
use edgedns::dnssec::sign::{rrsig, rrsig_key_tag};
use edgedns::dnssec::{text, Algorithm, KeySet, RrSet, Validity};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use libfuzzer_sys::fuzz_target;
use std::str::FromStr;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let zone = Name::from_str("example.com.").unwrap();
    match selector % 3 {
        0 => {
            let Ok(secret) = std::str::from_utf8(rest) else { return };
            if let Ok(keys) = KeySet::parse(secret, &zone) {
                assert!(keys.keys().all(|key| key.zone() == &zone));
            }
        }
        1 => {
            let Some((code, rdata)) = rest.split_first_chunk::<2>() else { return };
            let record_type = RecordType::from(u16::from_be_bytes(*code));
            let key = SigningKey::from_private(&zone, 257, Algorithm::Ed25519, &[1; 32]).unwrap();
            let owner = Name::from_str("www.example.com.").unwrap();
            let set = RrSet { owner: &owner, record_type, class: DNSClass::IN, ttl: 300, rdata: &[rdata, rdata] };
            if let Ok(signature) = rrsig(&key, &set, 1_800_000_000, &Validity::default()) {
                assert_eq!(rrsig_key_tag(&signature), Some(key.key_tag()));
                assert!(text::presentation(RecordType::RRSIG, &signature).is_some());
            }
        }
        _ => {
            for record_type in [RecordType::RRSIG, RecordType::NSEC, RecordType::DNSKEY] {
                let _ = text::presentation(record_type, rest);
            }
            let _ = text::generic(rest);
        }
    }
});
