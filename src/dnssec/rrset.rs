//! RRsets as the signer takes them: owner, type, class, TTL and the RDATA in wire form, so
//! answers written from pre-encoded records are signed without decoding them.

use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable as _, BinEncoder, NameEncoding};

/// An RRset to sign, borrowed. `owner` is the owner name the RRset has in the zone: for an
/// answer synthesised from a wildcard, the wildcard's name (`*.example.com.`), which gives the
/// RRSIG the label count that tells a validator so (RFC 4034 §3.1.3, RFC 4035 §5.3.2).
#[derive(Debug, Clone, Copy)]
pub struct RrSet<'a> {
    /// The owner name (any case; signed lower-cased).
    pub owner: &'a Name,
    /// The type of every record of the set.
    pub record_type: RecordType,
    /// The class (IN).
    pub class: DNSClass,
    /// The TTL of the set as the zone has it (the RRSIG's Original TTL).
    pub ttl: u32,
    /// Each record's RDATA in uncompressed wire form.
    pub rdata: &'a [&'a [u8]],
}

/// An RRset that owns its RDATA: what [`OwnedRrSet::from_records`] makes of hickory records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRrSet {
    /// The owner name.
    pub owner: Name,
    /// The type.
    pub record_type: RecordType,
    /// The class.
    pub class: DNSClass,
    /// The TTL (the first record's: an RRset has one, RFC 2181 §5.2).
    pub ttl: u32,
    /// Each record's RDATA in uncompressed wire form.
    pub rdata: Vec<Vec<u8>>,
}

/// Records that do not make one RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    /// No record.
    Empty,
    /// The records differ in owner, type or class.
    Mixed,
    /// hickory could not encode a record's RDATA.
    Encode,
}

impl OwnedRrSet {
    /// The RRset of `records` (same owner, type and class; the TTL is the first record's).
    pub fn from_records(records: &[hickory_proto::rr::Record]) -> Result<Self, RecordsError> {
        let first = records.first().ok_or(RecordsError::Empty)?;
        let mut rdata = Vec::with_capacity(records.len());
        for record in records {
            if record.name != first.name || record.record_type() != first.record_type() || record.dns_class != first.dns_class {
                return Err(RecordsError::Mixed);
            }
            rdata.push(rdata_wire(&record.data)?);
        }
        Ok(Self { owner: first.name.clone(), record_type: first.record_type(), class: first.dns_class, ttl: first.ttl, rdata })
    }

    /// The RDATA as the slices an [`RrSet`] borrows (`set.borrowed(&refs)` below).
    pub fn rdata_slices(&self) -> Vec<&[u8]> {
        self.rdata.iter().map(Vec::as_slice).collect()
    }

    /// The borrowed form, over `slices` from [`OwnedRrSet::rdata_slices`].
    pub fn borrowed<'a>(&'a self, slices: &'a [&'a [u8]]) -> RrSet<'a> {
        RrSet { owner: &self.owner, record_type: self.record_type, class: self.class, ttl: self.ttl, rdata: slices }
    }
}

/// RDATA in uncompressed wire form, as hickory encodes it (case kept: the signer lower-cases
/// what RFC 4034 §6.2 says). The types answers carry most (addresses, the one-name types and
/// SOA, signed with every negative answer) are written here, without hickory's encoder; the
/// others by it.
pub fn rdata_wire(data: &hickory_proto::rr::RData) -> Result<Vec<u8>, RecordsError> {
    use hickory_proto::rr::RData;
    let mut out = Vec::new();
    match data {
        RData::A(address) => out.extend_from_slice(&address.0.octets()),
        RData::AAAA(address) => out.extend_from_slice(&address.0.octets()),
        RData::CNAME(target) => name_wire(&target.0, &mut out),
        RData::NS(target) => name_wire(&target.0, &mut out),
        RData::PTR(target) => name_wire(&target.0, &mut out),
        RData::SOA(soa) => {
            name_wire(&soa.mname, &mut out);
            name_wire(&soa.rname, &mut out);
            for number in [soa.serial, soa.refresh as u32, soa.retry as u32, soa.expire as u32, soa.minimum] {
                out.extend_from_slice(&number.to_be_bytes());
            }
        }
        other => {
            let mut encoder = BinEncoder::new(&mut out);
            encoder.set_name_encoding(NameEncoding::Uncompressed);
            other.emit(&mut encoder).map_err(|_| RecordsError::Encode)?;
        }
    }
    Ok(out)
}

/// A name uncompressed, its case kept, ending with the root label.
fn name_wire(name: &Name, out: &mut Vec<u8>) {
    for label in name.iter() {
        // A label is at most 63 octets (RFC 1035 §2.3.4), which `Name` guarantees.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA, TXT};
    use hickory_proto::rr::RData;

    use super::*;

    /// What hickory's encoder writes for `data`, uncompressed.
    fn hickory(data: &RData) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = BinEncoder::new(&mut out);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        data.emit(&mut encoder).unwrap();
        out
    }

    #[test]
    fn rdata_written_here_is_what_hickory_writes_octet_for_octet() {
        let name = |text: &str| Name::from_str(text).unwrap();
        let cases = [
            RData::A(A::new(192, 0, 2, 1)),
            RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)),
            RData::CNAME(CNAME(name("WWW.Example.com."))),
            RData::NS(NS(name("ns1.EXAMPLE.com."))),
            RData::PTR(PTR(name("host.example."))),
            RData::SOA(SOA::new(name("NS1.example.com."), name("hostmaster.Example.com."), 2_026_120_801, 7200, 900, 1_209_600, 300)),
            // Written by hickory's encoder itself.
            RData::TXT(TXT::new(vec!["hello".into(), String::new()])),
        ];
        for data in &cases {
            assert_eq!(rdata_wire(data).unwrap(), hickory(data), "{data:?}");
        }
        // The root as a target, and numbers with the top bit set.
        let root = RData::SOA(SOA::new(Name::root(), Name::root(), u32::MAX, -1, i32::MIN, i32::MAX, 0));
        assert_eq!(rdata_wire(&root).unwrap(), hickory(&root));
    }
}
