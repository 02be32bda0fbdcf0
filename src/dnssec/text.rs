//! The presentation form of the records the signer makes (RRSIG, NSEC, DNSKEY, RFC 4034 §2.2,
//! §3.2, §4.2), for the JSON API, explain and the CLI: hickory is not asked to understand these
//! types here, so they travel as opaque RDATA.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable as _, BinDecoder};

use crate::calendar::Utc;

/// The presentation form of `rdata` when `record_type` is RRSIG, NSEC or DNSKEY and the RDATA
/// is well-formed; `None` otherwise (the caller falls back to RFC 3597's generic form).
pub fn presentation(record_type: RecordType, rdata: &[u8]) -> Option<String> {
    match record_type {
        RecordType::RRSIG => rrsig(rdata),
        RecordType::NSEC => nsec(rdata),
        RecordType::DNSKEY => dnskey(rdata),
        _ => None,
    }
}

/// RFC 3597 §5: `\# <length> <hex>`.
pub fn generic(rdata: &[u8]) -> String {
    let hex: String = rdata.iter().map(|octet| format!("{octet:02X}")).collect();
    if hex.is_empty() {
        "\\# 0".to_owned()
    } else {
        format!("\\# {} {hex}", rdata.len())
    }
}

fn rrsig(rdata: &[u8]) -> Option<String> {
    let (fixed, rest) = rdata.split_at_checked(18)?;
    let covered = RecordType::from(u16::from_be_bytes([*fixed.first()?, *fixed.get(1)?]));
    let field = |at: usize| fixed.get(at..at + 4).and_then(|bytes| bytes.try_into().ok()).map(u32::from_be_bytes);
    let (algorithm, labels) = (*fixed.get(2)?, *fixed.get(3)?);
    let (original_ttl, expiration, inception) = (field(4)?, field(8)?, field(12)?);
    let key_tag = u16::from_be_bytes([*fixed.get(16)?, *fixed.get(17)?]);
    let mut decoder = BinDecoder::new(rest);
    let signer = Name::read(&mut decoder).ok()?;
    let signature = decoder.read_slice(decoder.len()).ok()?.unverified();
    let time = |serial: u32| {
        let utc = Utc::from_unix(u64::from(serial));
        format!("{:04}{:02}{:02}{:02}{:02}{:02}", utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    };
    Some(format!("{covered} {algorithm} {labels} {original_ttl} {} {} {key_tag} {signer} {}", time(expiration), time(inception), BASE64.encode(signature)))
}

fn nsec(rdata: &[u8]) -> Option<String> {
    let mut decoder = BinDecoder::new(rdata);
    let next = Name::read(&mut decoder).ok()?;
    let mut bitmap = decoder.read_slice(decoder.len()).ok()?.unverified();
    let mut text = next.to_string();
    while let [window, length, rest @ ..] = bitmap {
        let (bits, after) = rest.split_at_checked(usize::from(*length))?;
        for (index, octet) in bits.iter().enumerate() {
            for bit in 0..8u16 {
                if octet & (0x80 >> bit) != 0 {
                    let code = u16::from(*window) << 8 | (index as u16) << 3 | bit;
                    // NXNAME (RFC 9824 §5) has no mnemonic in hickory.
                    let mnemonic = if code == super::NXNAME { "NXNAME".to_owned() } else { RecordType::from(code).to_string() };
                    text.push(' ');
                    text.push_str(&mnemonic);
                }
            }
        }
        bitmap = after;
    }
    Some(text)
}

fn dnskey(rdata: &[u8]) -> Option<String> {
    let (fixed, key) = rdata.split_at_checked(4)?;
    let flags = u16::from_be_bytes([*fixed.first()?, *fixed.get(1)?]);
    Some(format!("{flags} {} {} {}", fixed.get(2)?, fixed.get(3)?, BASE64.encode(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::SigningKey;
    use crate::dnssec::rrset::RrSet;
    use crate::dnssec::sign::rrsig;
    use crate::dnssec::{denial, Algorithm, Validity};
    use hickory_proto::rr::DNSClass;
    use std::str::FromStr;

    #[test]
    fn the_signers_records_read_as_their_rfcs_write_them() {
        let zone = Name::from_str("example.com.").unwrap();
        let key = SigningKey::from_private(&zone, 257, Algorithm::Ed25519, &[5; 32]).unwrap();
        let dnskey = presentation(RecordType::DNSKEY, key.dnskey_rdata()).unwrap();
        assert_eq!(dnskey, format!("257 3 15 {}", BASE64.encode(key.public_key())));
        let owner = Name::from_str("www.example.com.").unwrap();
        let set = RrSet { owner: &owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &[&[192, 0, 2, 1]] };
        // Signed at 2027-01-15 07:00:00 UTC: inception an hour before, expiration 7 days later.
        let signature = rrsig(&key, &set, 1_799_996_400, &Validity::default()).unwrap();
        let text = presentation(RecordType::RRSIG, &signature).unwrap();
        let fields: Vec<&str> = text.split(' ').collect();
        assert_eq!(fields[..4], ["A", "15", "3", "300"]);
        assert_eq!((fields[4], fields[5]), ("20270122060000", "20270115060000"));
        assert_eq!(fields[6], key.key_tag().to_string());
        assert_eq!(fields[7], "example.com.");
        assert_eq!(BASE64.decode(fields[8]).unwrap().len(), 64);
        let nsec = denial::nxdomain_nsec(&Name::from_str("nope.example.com.").unwrap()).unwrap();
        assert_eq!(presentation(RecordType::NSEC, &nsec).unwrap(), "\\000.nope.example.com. RRSIG NSEC NXNAME");
        assert_eq!(presentation(RecordType::RRSIG, &signature[..10]), None, "truncated");
        assert_eq!(generic(&[1, 0xAB]), "\\# 2 01AB");
    }
}
