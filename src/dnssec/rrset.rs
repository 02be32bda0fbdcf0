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
/// what RFC 4034 §6.2 says).
pub fn rdata_wire(data: &hickory_proto::rr::RData) -> Result<Vec<u8>, RecordsError> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    data.emit(&mut encoder).map_err(|_| RecordsError::Encode)?;
    Ok(out)
}
