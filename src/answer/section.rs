//! The answer section as the engine hands it to the encoder: decoded records (a CNAME chain,
//! routed values, data of a decoded zone), then at most one RRset still in the wire form a
//! compact zone holds it in, written into the response as it is ([`WireRrSet`]). Whoever needs
//! records (the JSON API, the firewall's screening, the tools) asks [`Answers::records`],
//! which decodes the wire set; the encoder alone reads the parts.

use std::borrow::Cow;

use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

/// RDATA one after another, each as its length (two bytes, big-endian) then its bytes: a
/// set's records, or its signatures, in one allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedRdata {
    bytes: Vec<u8>,
    count: usize,
}

impl PackedRdata {
    /// None.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one RDATA (cut to 65,535 octets: RDATA read from a record's RDLENGTH fits).
    pub fn push(&mut self, rdata: &[u8]) {
        let length = u16::try_from(rdata.len()).unwrap_or(u16::MAX);
        self.bytes.extend_from_slice(&length.to_be_bytes());
        self.bytes.extend_from_slice(rdata.get(..usize::from(length)).unwrap_or_default());
        self.count += 1;
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each RDATA, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.bytes.as_slice();
        std::iter::from_fn(move || {
            let (&[high, low], after) = rest.split_first_chunk::<2>()?;
            let (rdata, after) = after.split_at_checked(usize::from(u16::from_be_bytes([high, low])))?;
            rest = after;
            Some(rdata)
        })
    }
}

/// A plain RRset copied from a compact zone: one owner, type, class and TTL, and each
/// record's RDATA in wire form, of a type whose RDATA holds no name
/// ([`crate::zone::NodeRef::wire_rrset`]), so it stands alone outside the shard. A signer adds
/// the set's RRSIG RDATA ([`WireRrSet::sign`]): they are written after the records, under the
/// same owner, TTL and class, without a record of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRrSet {
    /// The owner: the name asked (RFC 4592 §3.4.1 for a wildcard's).
    pub owner: Name,
    /// The type of every record.
    pub record_type: RecordType,
    /// The class of every record.
    pub class: DNSClass,
    /// The TTL of every record.
    pub ttl: u32,
    /// Each record's RDATA.
    rdata: PackedRdata,
    /// The RDATA of the set's RRSIGs, if it is signed.
    signatures: PackedRdata,
}

impl WireRrSet {
    /// A set of these RDATA, in this order.
    pub fn new<'a>(owner: Name, record_type: RecordType, class: DNSClass, ttl: u32, rdatas: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut rdata = PackedRdata::new();
        for one in rdatas {
            rdata.push(one);
        }
        Self { owner, record_type, class, ttl, rdata, signatures: PackedRdata::new() }
    }

    /// How many records the set puts in the section: its own and its RRSIGs.
    pub fn len(&self) -> usize {
        self.rdata.len() + self.signatures.len()
    }

    /// Whether the set holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each record's RDATA, in order (its RRSIGs aside).
    pub fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        self.rdata.iter()
    }

    /// Each RRSIG's RDATA.
    pub fn signatures(&self) -> impl Iterator<Item = &[u8]> {
        self.signatures.iter()
    }

    /// Adds the set's RRSIGs (RDATA made by [`crate::dnssec`] over the set as it stands).
    pub fn sign(&mut self, signatures: PackedRdata) {
        if self.signatures.is_empty() {
            self.signatures = signatures;
        } else {
            signatures.iter().for_each(|rdata| self.signatures.push(rdata));
        }
    }

    /// Removes the RRSIGs.
    pub fn unsign(&mut self) {
        self.signatures = PackedRdata::new();
    }

    /// The records, decoded (the zone's data decoded when its shard was indexed, so none fails;
    /// one that would is left out), then the RRSIGs, their RDATA as made (RFC 3597 form).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let signatures = self.signatures().map(|rdata| self.rrsig(rdata));
        self.rdatas().filter_map(|rdata| self.record(rdata)).chain(signatures)
    }

    /// The last of the set's own records, decoded (the others are not).
    pub fn last_record(&self) -> Option<Record> {
        self.rdatas().last().and_then(|rdata| self.record(rdata))
    }

    /// The record of one of the set's RDATA.
    fn record(&self, rdata: &[u8]) -> Option<Record> {
        let length = u16::try_from(rdata.len()).ok()?;
        let data = RData::read(&mut BinDecoder::new(rdata), self.record_type, Restrict::new(length)).ok()?;
        let mut record = Record::from_rdata(self.owner.clone(), self.ttl, data);
        record.dns_class = self.class;
        Some(record)
    }

    /// The record of one of the set's RRSIGs.
    fn rrsig(&self, rdata: &[u8]) -> Record {
        let data = RData::Unknown { code: RecordType::RRSIG, rdata: NULL::with(rdata.to_vec()) };
        let mut record = Record::from_rdata(self.owner.clone(), self.ttl, data);
        record.dns_class = self.class;
        record
    }
}

/// The answer section: decoded records, then at most one RRset in wire form.
#[derive(Clone, Default)]
pub struct Answers {
    records: Vec<Record>,
    wire: Option<WireRrSet>,
}

impl Answers {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record of the section, in order, the wire set decoded.
    pub fn records(&self) -> Cow<'_, [Record]> {
        match &self.wire {
            None => Cow::Borrowed(&self.records),
            Some(wire) => Cow::Owned(self.records.iter().cloned().chain(wire.records()).collect()),
        }
    }

    /// The records, owned, the wire set decoded.
    pub fn into_records(self) -> Vec<Record> {
        let mut records = self.records;
        if let Some(wire) = self.wire {
            records.extend(wire.records());
        }
        records
    }

    /// The decoded records and the wire set after them, owned.
    pub fn into_parts(self) -> (Vec<Record>, Option<WireRrSet>) {
        (self.records, self.wire)
    }

    /// A section of decoded records, then a wire set.
    pub fn from_parts(records: Vec<Record>, wire: Option<WireRrSet>) -> Self {
        Self { records, wire }
    }

    /// The decoded records and the wire set after them, as the encoder writes them.
    pub fn parts(&self) -> (&[Record], Option<&WireRrSet>) {
        (&self.records, self.wire.as_ref())
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len() + self.wire.as_ref().map_or(0, WireRrSet::len)
    }

    /// Whether the section is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest TTL in the section.
    pub fn min_ttl(&self) -> Option<u32> {
        let wire = self.wire.as_ref().filter(|wire| !wire.is_empty()).map(|wire| wire.ttl);
        self.records.iter().map(|record| record.ttl).chain(wire).min()
    }

    /// The last record, decoded.
    pub fn last(&self) -> Option<Cow<'_, Record>> {
        match &self.wire {
            Some(wire) if !wire.is_empty() => wire.last_record().map(Cow::Owned),
            _ => self.records.last().map(Cow::Borrowed),
        }
    }

    /// Adds a record at the end (after the wire set, which is decoded first to keep the order).
    pub fn push(&mut self, record: Record) {
        self.decode_wire();
        self.records.push(record);
    }

    /// Adds records at the end.
    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        self.decode_wire();
        self.records.extend(records);
    }

    /// Ends the section with a set in wire form (a set already there is decoded first).
    pub fn push_wire(&mut self, set: WireRrSet) {
        self.decode_wire();
        self.wire = Some(set);
    }

    /// Removes every record.
    pub fn clear(&mut self) {
        self.records.clear();
        self.wire = None;
    }

    fn decode_wire(&mut self) {
        if let Some(wire) = self.wire.take() {
            self.records.extend(wire.records());
        }
    }
}

impl From<Vec<Record>> for Answers {
    fn from(records: Vec<Record>) -> Self {
        Self { records, wire: None }
    }
}

/// Sections are equal when they hold the same records in the same order, whichever form
/// holds them.
impl PartialEq for Answers {
    fn eq(&self, other: &Self) -> bool {
        self.records() == other.records()
    }
}

impl Eq for Answers {}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.records().iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, TXT};

    use super::*;

    fn owner() -> Name {
        Name::from_str("WWW.example.com.").unwrap()
    }

    #[test]
    fn a_wire_set_decodes_to_the_records_it_was_made_of() {
        let set = WireRrSet::new(owner(), RecordType::TXT, DNSClass::IN, 300, [&b"\x05hello\x00"[..], b"\x03abc"]);
        assert_eq!(set.len(), 2);
        let records: Vec<Record> = set.records().collect();
        let txt = |parts: &[&str]| {
            let mut record = Record::from_rdata(owner(), 300, RData::TXT(TXT::new(parts.iter().map(|part| part.to_string()).collect())));
            record.dns_class = DNSClass::IN;
            record
        };
        assert_eq!(records, vec![txt(&["hello", ""]), txt(&["abc"])]);
    }

    #[test]
    fn records_pushed_after_a_wire_set_follow_it() {
        let mut answers = Answers::new();
        answers.push_wire(WireRrSet::new(owner(), RecordType::A, DNSClass::IN, 60, [&[192, 0, 2, 1][..]]));
        assert_eq!(answers.len(), 1);
        assert_eq!(answers.min_ttl(), Some(60));
        let later = Record::from_rdata(owner(), 30, RData::A(A(Ipv4Addr::new(192, 0, 2, 2))));
        answers.push(later.clone());
        assert_eq!(answers.parts().1, None, "the wire set was decoded to keep the order");
        let records = answers.records();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].data, RData::A(A(Ipv4Addr::new(192, 0, 2, 1))));
        assert_eq!(records[1], later);
        assert_eq!(answers.min_ttl(), Some(30));
    }

    #[test]
    fn sections_compare_by_their_records_whatever_the_form() {
        let record = Record::from_rdata(owner(), 60, RData::A(A(Ipv4Addr::new(192, 0, 2, 1))));
        let mut wire = Answers::new();
        wire.push_wire(WireRrSet::new(owner(), RecordType::A, DNSClass::IN, 60, [&[192, 0, 2, 1][..]]));
        assert_eq!(wire, Answers::from(vec![record]));
        assert_ne!(wire, Answers::new());
    }

    #[test]
    fn rdata_cut_short_ends_the_records_without_a_panic() {
        let mut set = WireRrSet::new(owner(), RecordType::A, DNSClass::IN, 60, [&[192, 0, 2, 1][..]]);
        set.rdata.bytes.extend_from_slice(&[0, 9, 1]);
        assert_eq!(set.rdatas().count(), 1);
    }
}
