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
//! * A wildcard expansion must also prove that no closer name exists (RFC 4035 §5.3.4): an NSEC
//!   whose range holds only the next closer name and the names below it, from its immediate
//!   predecessor (RFC 4471 §3.2) to the first name after its subtree, in the manner of RFC
//!   4470's minimally covering NSEC ([`wildcard_nsec`]).
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

/// The owner and RDATA of the NSEC that proves a wildcard expansion had no closer match
/// (RFC 4035 §5.3.4). `next_closer` is the name one label below the closest encloser on the
/// way to the query name (RFC 5155 §1.3's term; the query name itself when the wildcard's
/// parent is its parent). The range runs from the immediate predecessor of `next_closer` to
/// the first name after it and all the names below it ([`sibling_successor`]), so it holds
/// exactly `next_closer` and its descendants, none of which exists when the wildcard applies
/// (RFC 4592 §2.2.2); the names both ends share with the query name are the closest encloser,
/// which is how a validator finds the wildcard the answer came from. The bitmap is RRSIG and
/// NSEC (RFC 4470 §3).
pub fn wildcard_nsec(next_closer: &Name) -> Result<(Name, Vec<u8>), NameTooLong> {
    let owner = predecessor(next_closer)?;
    let mut rdata = Vec::with_capacity(next_closer.len() + 16);
    sibling_successor(next_closer, &mut rdata)?;
    type_bitmap(&[RRSIG, NSEC], &mut rdata);
    Ok((owner, rdata))
}

/// The immediate predecessor of `name` in canonical order (RFC 4471 §3.2.1, absolute method):
/// `\000.parent` is preceded by `parent`; otherwise the first label's last octet is
/// decremented (past the upper-case letters, which sort as lower case) and the label filled
/// with `\255`, or a trailing `\000` removed; then `\255` labels are added in front up to
/// the longest name. The root and names at the top of a zone are the caller's to avoid.
pub fn predecessor(name: &Name) -> Result<Name, NameTooLong> {
    let mut wire = Vec::with_capacity(256);
    canonical::name(name, &mut wire);
    let first_length = usize::from(*wire.first().ok_or(NameTooLong)?);
    let mut first: Vec<u8> = wire.get(1..=first_length).ok_or(NameTooLong)?.to_vec();
    let parent = wire.get(first_length + 1..).ok_or(NameTooLong)?;
    let Some(&last) = first.last() else {
        // The root has no predecessor here.
        return Err(NameTooLong);
    };
    if first == [0] {
        return from_wire(parent);
    }
    // The wire length of the name being built, root octet included.
    let mut length = wire.len();
    if last == 0 {
        first.pop();
        length -= 1;
    } else {
        // An upper-case letter would sort as its lower-case form, after the original octet.
        // `last` is not 0 here (that case is above).
        let decremented = if (last - 1).is_ascii_uppercase() { b'A' - 1 } else { last - 1 };
        first.pop();
        first.push(decremented);
        while first.len() < 63 && length < 255 {
            first.push(0xff);
            length += 1;
        }
    }
    let mut labels: Vec<Vec<u8>> = Vec::new();
    // Room for a label of at least one octet (its length octet and one).
    while length + 2 <= 255 {
        let size = (255 - length - 1).min(63);
        labels.push(vec![0xff; size]);
        length += 1 + size;
    }
    let mut out = Vec::with_capacity(255);
    for label in labels.iter().chain(std::iter::once(&first)) {
        // Every label is at most 63 octets.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.extend_from_slice(parent);
    from_wire(&out)
}

/// A name from canonical wire form.
fn from_wire(wire: &[u8]) -> Result<Name, NameTooLong> {
    let mut labels = Vec::new();
    let mut rest = wire;
    while let Some((&length, after)) = rest.split_first() {
        if length == 0 {
            break;
        }
        let (label, after) = after.split_at_checked(usize::from(length)).ok_or(NameTooLong)?;
        labels.push(label);
        rest = after;
    }
    Name::from_labels(labels).map_err(|_| NameTooLong)
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

/// Appends the first name after `name` and all the names below it, lower-cased: the first
/// label with a zero octet added, or when it cannot grow, its last octet incremented (past
/// the upper-case letters, which sort as lower case). `None` for a first label of 63 `\255`.
pub fn sibling_successor(name: &Name, out: &mut Vec<u8>) -> Result<(), NameTooLong> {
    let mut wire = Vec::with_capacity(256);
    canonical::name(name, &mut wire);
    let first = usize::from(*wire.first().ok_or(NameTooLong)?);
    let label = wire.get(1..=first).ok_or(NameTooLong)?;
    let parent = wire.get(first + 1..).ok_or(NameTooLong)?;
    if first == 0 {
        return Err(NameTooLong);
    }
    if first < 63 && wire.len() < 255 {
        out.push(first as u8 + 1);
        out.extend_from_slice(label);
        out.push(0);
    } else {
        // The longest prefix whose last octet can be incremented; what follows it is dropped.
        let keep = label.iter().rposition(|octet| *octet != 0xff).ok_or(NameTooLong)?;
        let (head, last) = (label.get(..keep).ok_or(NameTooLong)?, *label.get(keep).ok_or(NameTooLong)?);
        // `last` is not 255: `keep` is the last octet that is not.
        let incremented = if (last + 1).is_ascii_uppercase() { b'Z' + 1 } else { last + 1 };
        out.push(keep as u8 + 1);
        out.extend_from_slice(head);
        out.push(incremented);
    }
    out.extend_from_slice(parent);
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
    fn the_predecessor_sorts_just_before_the_name() {
        let name = |text: &str| Name::from_str(text).unwrap();
        let before = predecessor(&name("b.example.")).unwrap();
        assert!(before < name("b.example.") && before > name("a.example.") && before > name("zzz.a.example."));
        let mut wire = Vec::new();
        canonical::name(&before, &mut wire);
        assert_eq!(wire.len(), 255, "{before}");
        // Upper case sorts as lower case: before `[` comes `@`, not `Z`.
        let bracket = predecessor(&Name::from_labels([&b"["[..], b"example"]).unwrap()).unwrap();
        let first = bracket.iter().nth(bracket.num_labels() as usize - 2).unwrap();
        assert_eq!(first.get(..2), Some(&[b'@', 0xff][..]));
        let raw = |first: &[u8]| Name::from_labels([first, b"example"]).unwrap();
        assert_eq!(predecessor(&raw(b"\0")).unwrap(), name("example."));
        let trailing = predecessor(&raw(b"a\0")).unwrap();
        assert!(trailing < raw(b"a\0") && trailing > name("a.example.") && trailing > name("zz.a.example."));
        assert!(trailing.iter().nth(trailing.num_labels() as usize - 2).is_some_and(|label| label == b"a"));
    }

    #[test]
    fn the_wildcard_proof_covers_the_next_closer_name_and_the_query_name() {
        let name = |text: &str| Name::from_str(text).unwrap();
        let (owner, rdata) = wildcard_nsec(&name("y.apps.example.")).unwrap();
        assert!(owner < name("y.apps.example.") && owner > name("apps.example."));
        let next = b"\x02y\x00\x04apps\x07example\x00";
        assert_eq!(rdata.get(..next.len()), Some(&next[..]));
        assert_eq!(rdata.get(next.len()..), Some(&[0, 6, 0, 0, 0, 0, 0, 0x03][..]));
        assert_eq!(wildcard_nsec(&Name::root()), Err(NameTooLong));
    }

    #[test]
    fn the_sibling_successor_sorts_after_the_name_and_its_descendants() {
        let name = |text: &str| Name::from_str(text).unwrap();
        let mut out = Vec::new();
        sibling_successor(&name("b.example."), &mut out).unwrap();
        assert_eq!(out, b"\x02b\x00\x07example\x00");
        out.clear();
        let long = Name::from_labels([&[b'a'; 63][..], b"example"]).unwrap();
        sibling_successor(&long, &mut out).unwrap();
        let mut expected = vec![63];
        expected.extend_from_slice(&[b'a'; 62]);
        expected.push(b'b');
        expected.extend_from_slice(b"\x07example\x00");
        assert_eq!(out, expected);
        out.clear();
        // `@` + 1 is `A`, which sorts as `a`: the next octet is `[`.
        let mut at = [b'a'; 63];
        at[62] = b'@';
        sibling_successor(&Name::from_labels([&at[..], b"example"]).unwrap(), &mut out).unwrap();
        assert_eq!(out.get(63), Some(&b'['));
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
