//! The wire writer: a DNS message written straight into one byte vector, names compressed
//! through a fixed table ([`Compression`]), so a record costs no allocation.
//!
//! RDATA of the types the engine answers from zones is written here. Names in it are
//! compressed only in the RFC 1035 types that allow it (CNAME, NS, PTR, MX, SOA; RFC 3597 §4),
//! as hickory's encoder does; other names are written whole but remembered, so later names may
//! point into them. Any other RDATA is written by hickory's own encoder over the same bytes, its
//! names uncompressed (always valid).

use hickory_proto::op::Query as Question;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::compression::Compression;
use super::EncodeError;
use crate::answer::WireRrSet;

/// The largest DNS message (its length is 16 bits: RFC 1035 §4.2.2, RFC 8484 §6).
pub(super) const MAX_MESSAGE: usize = u16::MAX as usize;

/// The longest name on the wire (RFC 1035 §2.3.4), and the longest label.
const MAX_NAME: usize = 255;
const MAX_LABEL: usize = 63;

/// Whether a name may be replaced by a pointer to an earlier copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compress {
    Yes,
    /// Written whole (RDATA of types after RFC 1035, RFC 3597 §4), but remembered.
    No,
}

/// A message being written.
pub(super) struct Writer<'b> {
    bytes: &'b mut Vec<u8>,
    names: Compression,
}

impl<'b> Writer<'b> {
    /// Starts a message at the beginning of `bytes` (which should be empty).
    pub(super) fn new(bytes: &'b mut Vec<u8>) -> Self {
        Self { bytes, names: Compression::new() }
    }

    /// The message so far.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(super) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    pub(super) fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_be_bytes());
    }

    pub(super) fn slice(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
    }

    /// Overwrites two bytes written earlier (a count or a length).
    pub(super) fn patch_u16(&mut self, at: usize, value: u16) {
        if let Some(place) = self.bytes.get_mut(at..at + 2) {
            place.copy_from_slice(&value.to_be_bytes());
        }
    }

    /// A `<character-string>` (RFC 1035 §3.3): a length byte, then at most 255 bytes.
    fn character_string(&mut self, value: &[u8]) -> Result<(), EncodeError> {
        let length = u8::try_from(value.len()).map_err(|_| EncodeError::CharacterStringTooLong(value.len()))?;
        self.u8(length);
        self.slice(value);
        Ok(())
    }

    /// A name, compressed when allowed against the names already written (RFC 1035 §4.1.4).
    fn name(&mut self, name: &Name, compress: Compress) -> Result<(), EncodeError> {
        let start = self.bytes.len();
        let count = name.iter().len();
        // Found even when not used, so that a name written whole adds only what is new.
        let suffix = self.names.find(self.bytes, name);
        let known = suffix.map_or(0, |suffix| suffix.labels);
        let pointer = suffix.filter(|_| compress == Compress::Yes);
        let shared = pointer.map_or(0, |suffix| suffix.labels);
        let mut length = 1;
        for label in name.iter().take(count - shared) {
            if label.len() > MAX_LABEL {
                return Err(EncodeError::LabelTooLong(label.len()));
            }
            length += 1 + label.len();
            self.u8(label.len() as u8);
            self.slice(label);
        }
        match pointer {
            Some(suffix) => self.u16(0xC000 | suffix.offset),
            None => self.u8(0),
        }
        if length > MAX_NAME {
            return Err(EncodeError::NameTooLong(length));
        }
        self.names.remember(self.bytes, start, count - known, suffix);
        Ok(())
    }

    /// The header (RFC 1035 §4.1.1), counts left zero for [`Writer::counts`].
    pub(super) fn header(&mut self, id: u16, flags: u16) {
        self.u16(id);
        self.u16(flags);
        self.slice(&[0; 8]);
    }

    /// Sets the header's four counts.
    pub(super) fn counts(&mut self, counts: [usize; 4]) -> Result<(), EncodeError> {
        for (index, count) in counts.into_iter().enumerate() {
            let count = u16::try_from(count).map_err(|_| EncodeError::TooManyRecords(count))?;
            self.patch_u16(4 + 2 * index, count);
        }
        Ok(())
    }

    /// A question entry (RFC 1035 §4.1.2).
    pub(super) fn question(&mut self, question: &Question) -> Result<(), EncodeError> {
        self.name(&question.name, Compress::Yes)?;
        self.u16(question.query_type.into());
        self.u16(question.query_class.into());
        Ok(())
    }

    /// A resource record (RFC 1035 §4.1.3).
    pub(super) fn record(&mut self, record: &Record) -> Result<(), EncodeError> {
        self.name(&record.name, Compress::Yes)?;
        self.u16(record.record_type().into());
        self.u16(record.dns_class.into());
        self.u32(record.ttl);
        let length_at = self.bytes.len();
        self.u16(0);
        self.rdata(&record.data)?;
        let length = self.bytes.len() - length_at - 2;
        self.patch_u16(length_at, u16::try_from(length).map_err(|_| EncodeError::RdataTooLong(length))?);
        Ok(())
    }

    /// An RRset in wire form, then its RRSIGs if it is signed: the owner written once, each
    /// later record's owner a pointer to it (RFC 1035 §4.1.4), the RDATA copied as the zone
    /// holds it (the RRSIGs' as the signer made them, uncompressed: RFC 4034 §3.1.7).
    pub(super) fn wire_rrset(&mut self, set: &WireRrSet) -> Result<(), EncodeError> {
        // What the later owners are: the pointer the first one was written as (the name was
        // written before, as the question or a CNAME's target: nearly always), else a pointer
        // to where it was written in full, when that is within a pointer's reach.
        let mut owner: Option<[u8; 2]> = None;
        let records = set.rdatas().map(|rdata| (set.record_type, rdata));
        for (record_type, rdata) in records.chain(set.signatures().map(|rdata| (RecordType::RRSIG, rdata))) {
            match owner {
                Some(pointer) => self.slice(&pointer),
                None => {
                    let start = self.bytes.len();
                    self.name(&set.owner, Compress::Yes)?;
                    owner = match self.bytes.get(start..) {
                        Some(&[high, low]) => Some([high, low]),
                        _ => u16::try_from(start).ok().filter(|offset| *offset < 0x4000).map(|offset| (0xC000 | offset).to_be_bytes()),
                    };
                }
            }
            self.u16(record_type.into());
            self.u16(set.class.into());
            self.u32(set.ttl);
            let length = u16::try_from(rdata.len()).map_err(|_| EncodeError::RdataTooLong(rdata.len()))?;
            self.u16(length);
            self.slice(rdata);
        }
        Ok(())
    }

    fn rdata(&mut self, data: &RData) -> Result<(), EncodeError> {
        match data {
            RData::A(address) => self.slice(&address.0.octets()),
            RData::AAAA(address) => self.slice(&address.0.octets()),
            RData::CNAME(name) => self.name(&name.0, Compress::Yes)?,
            RData::NS(name) => self.name(&name.0, Compress::Yes)?,
            RData::PTR(name) => self.name(&name.0, Compress::Yes)?,
            RData::MX(mx) => {
                self.u16(mx.preference);
                self.name(&mx.exchange, Compress::Yes)?;
            }
            RData::SOA(soa) => {
                self.name(&soa.mname, Compress::Yes)?;
                self.name(&soa.rname, Compress::Yes)?;
                self.u32(soa.serial);
                self.u32(soa.refresh as u32);
                self.u32(soa.retry as u32);
                self.u32(soa.expire as u32);
                self.u32(soa.minimum);
            }
            RData::TXT(txt) => {
                for string in &txt.txt_data {
                    self.character_string(string)?;
                }
            }
            RData::SRV(srv) => {
                self.u16(srv.priority);
                self.u16(srv.weight);
                self.u16(srv.port);
                self.name(&srv.target, Compress::No)?;
            }
            RData::ANAME(name) => self.name(&name.0, Compress::No)?,
            RData::CAA(caa) => {
                self.u8(caa.flags());
                self.character_string(caa.tag.as_bytes())?;
                self.slice(&caa.value);
            }
            RData::HINFO(hinfo) => {
                self.character_string(&hinfo.cpu)?;
                self.character_string(&hinfo.os)?;
            }
            RData::NAPTR(naptr) => {
                self.u16(naptr.order);
                self.u16(naptr.preference);
                self.character_string(&naptr.flags)?;
                self.character_string(&naptr.services)?;
                self.character_string(&naptr.regexp)?;
                self.name(&naptr.replacement, Compress::No)?;
            }
            RData::SVCB(svcb) | RData::HTTPS(hickory_proto::rr::rdata::HTTPS(svcb)) => {
                self.u16(svcb.svc_priority);
                self.name(&svcb.target_name, Compress::No)?;
                // The parameters hold no names; hickory checks their order and writes them.
                let mut last = None;
                for (key, value) in &svcb.svc_params {
                    if last.is_some_and(|last| *key <= last) {
                        return Err(EncodeError::Rdata("SvcParams out of order".into()));
                    }
                    last = Some(*key);
                    self.hickory(|encoder| {
                        key.emit(encoder)?;
                        value.emit(encoder)
                    })?;
                }
            }
            // What the signer makes (RRSIG, NSEC, DNSKEY): written as it was built, uncompressed
            // (RFC 4034 §3.1.7, §4.1.1, RFC 3597 §4).
            RData::Unknown { rdata, .. } => self.slice(&rdata.anything),
            other => self.hickory(|encoder| other.emit(encoder))?,
        }
        Ok(())
    }

    /// Writes with hickory's encoder over the message's end, names uncompressed (its own
    /// compression would not know this message's names) and the message's size limit kept.
    fn hickory(&mut self, emit: impl FnOnce(&mut BinEncoder<'_>) -> Result<(), hickory_proto::ProtoError>) -> Result<(), EncodeError> {
        let offset = u32::try_from(self.bytes.len()).map_err(|_| EncodeError::MessageTooLong(self.bytes.len()))?;
        let mut encoder = BinEncoder::with_offset(self.bytes, offset);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        emit(&mut encoder).map_err(|error| match error {
            hickory_proto::ProtoError::MaxBufferSizeExceeded(_) => EncodeError::MessageTooLong(offset as usize),
            other => EncodeError::Rdata(other.to_string()),
        })
    }
}
