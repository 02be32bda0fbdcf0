//! The RRSIG over an RRset (RFC 4034 §3), computed over the canonical form of the set
//! (RFC 4034 §3.1.8.1, §6.3).

use std::fmt;

use hickory_proto::rr::{Name, RecordType};

use super::canonical;
use super::key::SigningKey;
use super::rrset::RrSet;

/// When signatures start and stop being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// How far before the signing time the inception is put (for validators whose clock is
    /// behind), in seconds.
    pub backdate_s: u32,
    /// How long after the inception a signature is valid, in seconds.
    pub lifetime_s: u32,
}

impl Default for Validity {
    /// An hour in the past, valid for 7 days (RFC 6781 §4.4.2 discusses the trade-off).
    fn default() -> Self {
        Self { backdate_s: 3_600, lifetime_s: 7 * 86_400 }
    }
}

impl Validity {
    /// The inception and expiration of a signature made at `now_s` (Unix seconds), as 32-bit
    /// serial numbers (RFC 4034 §3.1.5: the time modulo 2^32, compared by RFC 1982 arithmetic).
    pub fn window(&self, now_s: u64) -> (u32, u32) {
        let inception = now_s.saturating_sub(u64::from(self.backdate_s));
        // Truncation to 32 bits is the serial-number encoding itself.
        let inception = (inception & 0xffff_ffff) as u32;
        (inception, inception.wrapping_add(self.lifetime_s))
    }
}

/// Why an RRset was not signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The set has no record.
    Empty,
    /// The owner name is not at or below the key's zone.
    OutOfZone,
    /// RRSIG RRsets are not signed (RFC 4035 §2.2).
    Rrsig,
    /// A record's RDATA is not well-formed uncompressed wire form for its type.
    MalformedRdata {
        /// The type of the set.
        record_type: RecordType,
    },
    /// A record's RDATA is longer than 65,535 octets.
    TooLong,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "an RRset without records cannot be signed"),
            Self::OutOfZone => write!(f, "the RRset's owner is not in the key's zone"),
            Self::Rrsig => write!(f, "RRSIG RRsets are not signed"),
            Self::MalformedRdata { record_type } => write!(f, "the RDATA of a {record_type} record is malformed"),
            Self::TooLong => write!(f, "a record's RDATA is longer than 65,535 octets"),
        }
    }
}

impl std::error::Error for SignError {}

/// The RRSIG RDATA for `set` signed by `key` at `now_s` (Unix seconds).
pub fn rrsig(key: &SigningKey, set: &RrSet<'_>, now_s: u64, validity: &Validity) -> Result<Vec<u8>, SignError> {
    let mut data = Vec::with_capacity(256);
    let header_length = signed_data(key, set, validity.window(now_s), &mut data)?;
    let signature = key.sign(&data);
    data.truncate(header_length);
    data.extend_from_slice(&signature);
    Ok(data)
}

/// Writes the data a signature is computed over into `out` (RFC 4034 §3.1.8.1): the RRSIG
/// RDATA without the signature, then every record of the set in canonical form and order.
/// Returns the length of the RRSIG part.
pub fn signed_data(key: &SigningKey, set: &RrSet<'_>, (inception, expiration): (u32, u32), out: &mut Vec<u8>) -> Result<usize, SignError> {
    if set.rdata.is_empty() {
        return Err(SignError::Empty);
    }
    if set.record_type == RecordType::RRSIG {
        return Err(SignError::Rrsig);
    }
    if !key.zone().zone_of(set.owner) {
        return Err(SignError::OutOfZone);
    }
    // RFC 4034 §3.1: type covered, algorithm, labels, original TTL, expiration, inception,
    // key tag, signer's name (canonical, uncompressed: §3.1.7).
    out.extend_from_slice(&u16::from(set.record_type).to_be_bytes());
    out.push(key.algorithm().number());
    out.push(canonical::label_count(set.owner));
    out.extend_from_slice(&set.ttl.to_be_bytes());
    out.extend_from_slice(&expiration.to_be_bytes());
    out.extend_from_slice(&inception.to_be_bytes());
    out.extend_from_slice(&key.key_tag().to_be_bytes());
    canonical::name(key.zone(), out);
    let header_length = out.len();

    // The RDATA in canonical form, one after another in `scratch`; then sorted as unsigned
    // octet strings with duplicates removed (§6.3).
    let mut scratch = Vec::with_capacity(set.rdata.iter().map(|rdata| rdata.len()).sum());
    let mut ranges = Vec::with_capacity(set.rdata.len());
    for rdata in set.rdata {
        let start = scratch.len();
        canonical::rdata(set.record_type, rdata, &mut scratch).map_err(|_| SignError::MalformedRdata { record_type: set.record_type })?;
        if scratch.len() - start > usize::from(u16::MAX) {
            return Err(SignError::TooLong);
        }
        ranges.push(start..scratch.len());
    }
    let slice = |range: &std::ops::Range<usize>| scratch.get(range.clone()).unwrap_or_default();
    ranges.sort_by(|a, b| slice(a).cmp(slice(b)));
    ranges.dedup_by(|a, b| slice(a) == slice(b));

    // Each record: owner (canonical; for a wildcard answer the wildcard name itself, §3.1.8.1),
    // type, class, original TTL, RDATA length, RDATA.
    let mut owner = Vec::with_capacity(64);
    canonical::name(set.owner, &mut owner);
    for range in &ranges {
        let rdata = slice(range);
        out.extend_from_slice(&owner);
        out.extend_from_slice(&u16::from(set.record_type).to_be_bytes());
        out.extend_from_slice(&u16::from(set.class).to_be_bytes());
        out.extend_from_slice(&set.ttl.to_be_bytes());
        // At most 65,535 octets: checked above.
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    Ok(header_length)
}

/// The key tag an RRSIG RDATA names (octets 16 and 17), `None` if it is too short.
pub fn rrsig_key_tag(rrsig: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*rrsig.get(16)?, *rrsig.get(17)?]))
}

/// The owner a wildcard answer is signed under: `*.` and the wildcard's parent. For the
/// engine, which knows the wildcard it expanded.
pub fn wildcard_owner(parent: &Name) -> Option<Name> {
    Name::from_ascii("*").ok()?.append_domain(parent).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::Algorithm;
    use hickory_proto::rr::DNSClass;
    use std::str::FromStr;

    fn key() -> SigningKey {
        SigningKey::from_private(&Name::from_str("example.com.").unwrap(), 257, Algorithm::EcdsaP256Sha256, &[9; 32]).unwrap()
    }

    #[test]
    fn signed_data_is_the_rrsig_header_and_the_sorted_canonical_records() {
        let owner = Name::from_str("WWW.example.com.").unwrap();
        let rdata: [&[u8]; 3] = [&[192, 0, 2, 2], &[192, 0, 2, 1], &[192, 0, 2, 2]];
        let set = RrSet { owner: &owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &rdata };
        let mut out = Vec::new();
        let header = signed_data(&key(), &set, (100, 200), &mut out).unwrap();
        let mut expected = vec![0, 1, 13, 3, 0, 0, 1, 44, 0, 0, 0, 200, 0, 0, 0, 100];
        expected.extend_from_slice(&key().key_tag().to_be_bytes());
        expected.extend_from_slice(b"\x07example\x03com\x00");
        assert_eq!(out.get(..header).unwrap(), expected.as_slice());
        let record = |last: u8| {
            let mut record = b"\x03www\x07example\x03com\x00\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02".to_vec();
            record.push(last);
            record
        };
        // Sorted, the duplicate dropped.
        assert_eq!(out.get(header..).unwrap(), [record(1), record(2)].concat().as_slice());
    }

    #[test]
    fn the_window_is_backdated_and_wraps_as_serial_numbers() {
        let validity = Validity { backdate_s: 3600, lifetime_s: 86_400 };
        assert_eq!(validity.window(10_000), (6_400, 92_800));
        assert_eq!(validity.window(0x1_0000_0e10 + 3600), (0xe10, 0xe10 + 86_400));
        assert_eq!(Validity { backdate_s: 0, lifetime_s: 10 }.window(0xffff_fffa), (0xffff_fffa, 4));
    }

    #[test]
    fn sets_that_cannot_be_signed_are_errors() {
        let owner = Name::from_str("www.example.org.").unwrap();
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let set = RrSet { owner: &owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &rdata };
        assert_eq!(rrsig(&key(), &set, 0, &Validity::default()), Err(SignError::OutOfZone));
        let owner = Name::from_str("www.example.com.").unwrap();
        let set = RrSet { owner: &owner, rdata: &[], ..set };
        assert_eq!(rrsig(&key(), &set, 0, &Validity::default()), Err(SignError::Empty));
        let bad: [&[u8]; 1] = [b"\x03www"];
        let set = RrSet { record_type: RecordType::CNAME, rdata: &bad, ..set };
        assert_eq!(rrsig(&key(), &set, 0, &Validity::default()), Err(SignError::MalformedRdata { record_type: RecordType::CNAME }));
    }

    #[test]
    fn a_wildcard_owner_counts_one_label_fewer() {
        let owner = wildcard_owner(&Name::from_str("wild.example.com.").unwrap()).unwrap();
        assert_eq!(owner.to_ascii(), "*.wild.example.com.");
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        let set = RrSet { owner: &owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 60, rdata: &rdata };
        let signature = rrsig(&key(), &set, 1_000_000, &Validity::default()).unwrap();
        assert_eq!(signature.get(3), Some(&3));
        assert_eq!(rrsig_key_tag(&signature), Some(key().key_tag()));
        // r and s after the header (18 octets) and the signer's name (13).
        assert_eq!(signature.len(), 18 + 13 + 64);
    }
}
