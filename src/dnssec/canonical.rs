//! The canonical form of DNS names and RDATA that signatures are computed over (RFC 4034 §6).
//!
//! Names are written uncompressed with their ASCII letters lower-cased (§6.2). Inside RDATA,
//! names are lower-cased only for the types RFC 4034 §6.2 lists, as corrected by RFC 6840
//! §5.1 (which removed HINFO, which holds no name, and NSEC). RDATA is taken in wire form and
//! must be uncompressed (RFC 3597 §4: the only form a signer can be handed safely).

use hickory_proto::rr::{Name, RecordType};

/// Appends `name` in canonical wire form: uncompressed, lower-case, ending with the root label.
pub fn name(name: &Name, out: &mut Vec<u8>) {
    for label in name.iter() {
        // A label is at most 63 octets (RFC 1035 §2.3.4), which `Name` guarantees.
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

/// `name` in canonical wire form (as [`name`] writes it) in a buffer on the stack, without
/// allocating: for keys looked up per answer. A `Name` is at most 255 octets, so it fits.
pub fn name_on_stack<'b>(name: &Name, buffer: &'b mut [u8; 255]) -> &'b [u8] {
    let mut length = 0;
    for label in name.iter() {
        let Some(slot) = buffer.get_mut(length..length + 1 + label.len()) else { break };
        if let Some((size, text)) = slot.split_first_mut() {
            *size = label.len() as u8;
            for (out, octet) in text.iter_mut().zip(label) {
                *out = octet.to_ascii_lowercase();
            }
        }
        length += 1 + label.len();
    }
    if let Some(root) = buffer.get_mut(length) {
        *root = 0;
        length += 1;
    }
    buffer.get(..length).unwrap_or_default()
}

/// The RRSIG Labels field for an owner name: its labels, not counting the root nor a leading
/// wildcard label `*` (RFC 4034 §3.1.3).
pub fn label_count(name: &Name) -> u8 {
    let mut labels = name.iter();
    let first_is_wildcard = labels.next().is_some_and(|label| label == b"*");
    // A name has at most 127 labels (255 octets, two per label), so the count fits.
    let count = name.iter().count() as u8;
    if first_is_wildcard {
        count.saturating_sub(1)
    } else {
        count
    }
}

/// RDATA that cannot be put in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedRdata;

/// One field of an RDATA layout, for the types whose names are lower-cased.
#[derive(Clone, Copy)]
enum Field {
    /// A domain name (uncompressed).
    Name,
    /// A number of octets copied as they are.
    Fixed(usize),
    /// A character-string: a length octet and that many octets (RFC 1035 §3.3).
    Text,
    /// The rest of the RDATA, copied as it is.
    Rest,
}

/// The layout of the RDATA of the types RFC 4034 §6.2 (as updated by RFC 6840 §5.1) lists,
/// `None` for every other type (its RDATA is copied as it is). A6 is handled apart: its
/// prefix name is there only when the prefix length is not 0 (RFC 2874 §3.1.1).
fn layout(record_type: RecordType) -> Option<&'static [Field]> {
    use Field::{Fixed, Name, Rest, Text};
    let layout: &'static [Field] = match u16::from(record_type) {
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME.
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name],
        // SOA: MNAME, RNAME, then five 32-bit numbers.
        6 => &[Name, Name, Rest],
        // MINFO, RP: two names.
        14 | 17 => &[Name, Name],
        // MX, AFSDB, RT, KX: a 16-bit number, then a name.
        15 | 18 | 21 | 36 => &[Fixed(2), Name],
        // PX: preference, MAP822, MAPX400.
        26 => &[Fixed(2), Name, Name],
        // SRV: priority, weight, port, target.
        33 => &[Fixed(6), Name],
        // NAPTR: order, preference, flags, services, regexp, replacement.
        35 => &[Fixed(4), Text, Text, Text, Name],
        // SIG, RRSIG: 18 octets of fixed fields, the signer's name, the signature.
        24 | 46 => &[Fixed(18), Name, Rest],
        // NXT: the next name, then its bitmap.
        30 => &[Name, Rest],
        _ => return None,
    };
    Some(layout)
}

/// Appends the canonical form of `rdata` (wire form, uncompressed) of type `record_type`.
pub fn rdata(record_type: RecordType, rdata: &[u8], out: &mut Vec<u8>) -> Result<(), MalformedRdata> {
    if u16::from(record_type) == 38 {
        return a6(rdata, out);
    }
    let Some(fields) = layout(record_type) else {
        out.extend_from_slice(rdata);
        return Ok(());
    };
    let mut rest = rdata;
    for field in fields {
        rest = match field {
            Field::Name => lower_name(rest, out)?,
            Field::Fixed(length) => copy(rest, *length, out)?,
            Field::Text => {
                let length = usize::from(*rest.first().ok_or(MalformedRdata)?);
                copy(rest, 1 + length, out)?
            }
            Field::Rest => copy(rest, rest.len(), out)?,
        };
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(MalformedRdata)
    }
}

/// A6 (RFC 2874 §3.1.1): a prefix length, the address suffix (the octets that hold the
/// 128 − prefix bits), then the prefix name unless the prefix length is 0.
fn a6(rdata: &[u8], out: &mut Vec<u8>) -> Result<(), MalformedRdata> {
    let prefix = usize::from(*rdata.first().ok_or(MalformedRdata)?);
    if prefix > 128 {
        return Err(MalformedRdata);
    }
    let rest = copy(rdata, 1 + (128 - prefix).div_ceil(8), out)?;
    let rest = if prefix > 0 { lower_name(rest, out)? } else { rest };
    if rest.is_empty() {
        Ok(())
    } else {
        Err(MalformedRdata)
    }
}

/// Copies `length` octets of `input` to `out`; returns what follows them.
fn copy<'a>(input: &'a [u8], length: usize, out: &mut Vec<u8>) -> Result<&'a [u8], MalformedRdata> {
    let (head, rest) = input.split_at_checked(length).ok_or(MalformedRdata)?;
    out.extend_from_slice(head);
    Ok(rest)
}

/// Copies the uncompressed wire name at the start of `input` to `out` lower-cased; returns what
/// follows it. A compression pointer, a label longer than 63 octets or a name longer than 255
/// octets is malformed (RFC 1035 §3.1, RFC 3597 §4).
fn lower_name<'a>(input: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], MalformedRdata> {
    let mut rest = input;
    let mut length = 0usize;
    loop {
        let (&label_length, after) = rest.split_first().ok_or(MalformedRdata)?;
        let label_length = usize::from(label_length);
        if label_length > 63 {
            return Err(MalformedRdata);
        }
        length += 1 + label_length;
        if length > 255 {
            return Err(MalformedRdata);
        }
        let (label, after) = after.split_at_checked(label_length).ok_or(MalformedRdata)?;
        out.push(label_length as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
        rest = after;
        if label_length == 0 {
            return Ok(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn names_are_lower_cased_and_counted_without_the_wildcard() {
        let mut out = Vec::new();
        name(&Name::from_str("WWW.Example.").unwrap(), &mut out);
        assert_eq!(out, b"\x03www\x07example\x00");
        // The same on the stack, for the longest name too (255 octets).
        let mut buffer = [0; 255];
        assert_eq!(name_on_stack(&Name::from_str("WWW.Example.").unwrap(), &mut buffer), out.as_slice());
        let longest = Name::from_str(&format!("{}.", ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join("."))).unwrap();
        let mut out = Vec::new();
        name(&longest, &mut out);
        assert_eq!(out.len(), 255);
        assert_eq!(name_on_stack(&longest, &mut buffer), out.as_slice());
        assert_eq!(label_count(&Name::from_str("*.a.Example.").unwrap()), 2);
        assert_eq!(label_count(&Name::from_str("a.b.example.").unwrap()), 3);
        assert_eq!(label_count(&Name::root()), 0);
    }

    #[test]
    fn names_in_listed_types_are_lower_cased_and_others_kept() {
        let mx = b"\x00\x0a\x04MAIL\x07Example\x00";
        let mut out = Vec::new();
        rdata(RecordType::MX, mx, &mut out).unwrap();
        assert_eq!(out, b"\x00\x0a\x04mail\x07example\x00");
        // NSEC was removed from the list by RFC 6840 §5.1; TXT holds no name.
        let nsec = b"\x04MAIL\x00\x00\x01\x40";
        out.clear();
        rdata(RecordType::NSEC, nsec, &mut out).unwrap();
        assert_eq!(out, nsec);
        let naptr = b"\x00\x01\x00\x02\x01U\x07E2U+sip\x00\x03SIP\x00";
        out.clear();
        rdata(RecordType::NAPTR, naptr, &mut out).unwrap();
        assert_eq!(out, b"\x00\x01\x00\x02\x01U\x07E2U+sip\x00\x03sip\x00");
    }

    #[test]
    fn malformed_rdata_is_an_error() {
        let mut out = Vec::new();
        // A compression pointer, a truncated name, trailing octets.
        assert_eq!(rdata(RecordType::CNAME, b"\xc0\x0c", &mut out), Err(MalformedRdata));
        assert_eq!(rdata(RecordType::CNAME, b"\x03ab", &mut out), Err(MalformedRdata));
        assert_eq!(rdata(RecordType::CNAME, b"\x00\x01", &mut out), Err(MalformedRdata));
        assert_eq!(rdata(RecordType::MX, b"\x00", &mut out), Err(MalformedRdata));
    }
}
