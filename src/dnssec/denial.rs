//! Compact denial of existence (RFC 9824): every negative answer carries one NSEC at the
//! query name whose next name is the name's immediate successor, so the answer proves only
//! that this name (or this type) is absent and reveals no other name of the zone.
//!
//! * A name that does not exist is answered as NODATA (RCODE NOERROR; the engine restores
//!   NXDOMAIN for a client that sets the CO flag, RFC 9824 §4) with an NSEC whose bitmap is
//!   RRSIG, NSEC and NXNAME (RFC 9824 §3.1, §5).
//! * A type that does not exist at a name is answered with an NSEC whose bitmap lists the
//!   types that do, plus RRSIG and NSEC (RFC 9824 §3.2). An empty non-terminal has RRSIG and
//!   NSEC only.
//!
//! The NSEC's TTL is the smaller of the SOA's TTL and its MINIMUM (RFC 9077 §3); the engine
//! picks it. The NSEC is signed like any RRset ([`super::sign::rrsig`]).

use hickory_proto::rr::{Name, RecordType};

use super::canonical;

/// The NXNAME pseudo-type (RFC 9824 §5): in an NSEC bitmap, "this name does not exist".
pub const NXNAME: u16 = 128;

/// The RRSIG type number.
const RRSIG: u16 = 46;
/// The NSEC type number.
const NSEC: u16 = 47;

/// A name whose successor is longer than a name can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameTooLong;

/// The NSEC RDATA that denies `qname` exists (RFC 9824 §3.1).
pub fn nxdomain_nsec(qname: &Name) -> Result<Vec<u8>, NameTooLong> {
    nsec(qname, &[RRSIG, NSEC, NXNAME])
}

/// The NSEC RDATA that denies every type at `qname` except `existing` (RFC 9824 §3.2).
pub fn nodata_nsec(qname: &Name, existing: &[RecordType]) -> Result<Vec<u8>, NameTooLong> {
    let mut types: Vec<u16> = existing.iter().map(|record_type| u16::from(*record_type)).collect();
    types.extend([RRSIG, NSEC]);
    nsec(qname, &types)
}

/// NSEC RDATA (RFC 4034 §4.1): the successor of `qname` and the bitmap of `types`.
fn nsec(qname: &Name, types: &[u16]) -> Result<Vec<u8>, NameTooLong> {
    let mut out = Vec::with_capacity(qname.len() + 16);
    successor(qname, &mut out)?;
    type_bitmap(types, &mut out);
    Ok(out)
}

/// Appends the immediate successor of `name` in canonical order (RFC 4034 §6.1), lower-cased:
/// `\000.name` (RFC 4470 §3.1.2, RFC 9824 §3.1); when that would pass 255 octets, the name
/// with a zero octet added to its first label, which is the next name that has no more labels.
pub fn successor(name: &Name, out: &mut Vec<u8>) -> Result<(), NameTooLong> {
    let mut wire = Vec::with_capacity(256);
    canonical::name(name, &mut wire);
    if wire.len() + 2 <= 255 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&wire);
        return Ok(());
    }
    // The root has no first label; a full first label cannot grow.
    let first = usize::from(*wire.first().ok_or(NameTooLong)?);
    if first == 0 || first >= 63 || wire.len() + 1 > 255 {
        return Err(NameTooLong);
    }
    out.push(first as u8 + 1);
    out.extend_from_slice(wire.get(1..=first).ok_or(NameTooLong)?);
    out.push(0);
    out.extend_from_slice(wire.get(first + 1..).ok_or(NameTooLong)?);
    Ok(())
}

/// Appends the type bitmap of `types` (RFC 4034 §4.1.2): for each 256-type window in use, its
/// number, the length of its bitmap (trailing zero octets left out) and the bitmap.
pub fn type_bitmap(types: &[u16], out: &mut Vec<u8>) {
    let mut types = types.to_vec();
    types.sort_unstable();
    types.dedup();
    let mut index = 0;
    while let Some(&first) = types.get(index) {
        let window = first >> 8;
        let mut bitmap = [0u8; 32];
        let mut used = 0;
        while let Some(&record_type) = types.get(index) {
            if record_type >> 8 != window {
                break;
            }
            let low = usize::from(record_type & 0xff);
            if let Some(octet) = bitmap.get_mut(low / 8) {
                *octet |= 0x80 >> (low % 8);
            }
            used = low / 8 + 1;
            index += 1;
        }
        // `window` < 256 and `used` <= 32.
        out.push(window as u8);
        out.push(used as u8);
        out.extend_from_slice(bitmap.get(..used).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn nxdomain_is_the_successor_and_rrsig_nsec_nxname() {
        let nsec = nxdomain_nsec(&Name::from_str("Nope.example.com.").unwrap()).unwrap();
        let mut expected = b"\x01\x00\x04nope\x07example\x03com\x00".to_vec();
        // Window 0: RRSIG (46) and NSEC (47) in octet 5 (0x03 = bits 6, 7); NXNAME (128) in
        // octet 16, its first bit.
        let mut bitmap = [0u8; 17];
        bitmap[5] = 0x03;
        bitmap[16] = 0x80;
        expected.extend_from_slice(&[0, 17]);
        expected.extend_from_slice(&bitmap);
        assert_eq!(nsec, expected);
    }

    #[test]
    fn nodata_lists_the_types_that_exist() {
        let nsec = nodata_nsec(&Name::from_str("www.example.com.").unwrap(), &[RecordType::A, RecordType::CAA]).unwrap();
        let bitmap = nsec.get(b"\x01\x00\x03www\x07example\x03com\x00".len()..).unwrap();
        // A (1) and RRSIG, NSEC in window 0; CAA (257) in window 1.
        assert_eq!(bitmap, [0, 6, 0x40, 0, 0, 0, 0, 0x03, 1, 1, 0x40]);
    }

    #[test]
    fn a_long_name_grows_its_first_label_or_is_an_error() {
        // 2 + 3 * 64 + 59 + 1 = 254 octets: `\000.` would make 256.
        let label = "a".repeat(63);
        let long = Name::from_str(&format!("b.{label}.{label}.{label}.{}.", "c".repeat(58))).unwrap();
        let mut out = Vec::new();
        successor(&long, &mut out).unwrap();
        assert_eq!(out.get(..3), Some(&[2, b'b', 0][..]));
        assert_eq!(out.len(), 255);
        let longest = Name::from_str(&format!("{}.{}.{}.{}.", "c".repeat(63), "d".repeat(63), "e".repeat(63), "f".repeat(61))).unwrap();
        assert_eq!(successor(&longest, &mut Vec::new()), Err(NameTooLong));
    }
}
