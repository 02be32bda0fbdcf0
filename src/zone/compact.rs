//! The compact form of a zone's nodes, for the zones an isolate holds from snapshot shards.
//!
//! Decoded into hickory `Record`s, a shard's records take about 25 times their encoded size
//! (BENCHMARKS.md §7). Here they stay as they came, about 1.7 times: the shard's wire-format
//! chunks (names compressed, as published), with a sorted index of the names they hold and, per
//! name, the offsets and types of its records. A plain set of a type whose RDATA holds no name
//! (A, AAAA, TXT: [`WIRE_TYPES`]) is answered from those bytes ([`CompactNodes::wire_rrset`]);
//! any other set decodes only the records of the name and type asked; routed sets, few and
//! already small, stay decoded. Every record is decoded once when the shard is indexed, so a
//! corrupt shard is refused then, not found out by a query.
//!
//! A name's key ([`super::key`]) is its labels below the apex, from the apex down, lower-cased, each ended by
//! `00 00` (a zero byte in a label is written `00 01`): compared as bytes, keys sort in the
//! canonical order of their names (RFC 4034 §6.1), the order a shard publishes its records in,
//! so indexing a shard sorts data that is already sorted; a name's ancestors' keys are prefixes
//! of its own. A name's node is found by binary search.

use std::sync::Arc;

use hickory_proto::rr::{DNSClass, LowerName, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::key::{KeyHasher, NameKey};
use super::routes::RoutedSet;
use super::{group_rrsets, label_count, AssembleError, Node, RrSet};

/// The nodes of one zone: its records as wire-format chunks and a sorted index of its names.
#[derive(Clone)]
pub struct CompactNodes {
    /// The records in wire form, chunk after chunk; each chunk is its own compression context.
    data: Box<[u8]>,
    /// Where each chunk ends in `data`.
    chunk_ends: Box<[u32]>,
    /// Every node's key, in node order.
    keys: Box<[u8]>,
    /// Per node (sorted by key), where its key and records start; one more entry closes the last.
    nodes: Box<[NodeEntry]>,
    /// Where each record starts in `data`, node after node (a node's in the order published).
    record_offsets: Box<[u32]>,
    /// Each record's type code, beside `record_offsets`.
    record_types: Box<[u16]>,
    /// Routed sets with the position of their node, sorted by it.
    routed: Box<[(u32, Arc<RoutedSet>)]>,
    /// The nodes by their key's hash ([`KeyHasher`]), open addressing with linear probing: a
    /// slot holds a node's position + 1, 0 when empty; a power of two in size, at most two
    /// thirds full. Empty when a shard has too many nodes for 16 bits (then `find` searches
    /// the sorted keys). A lookup hashes the key once and compares one or two keys, where a
    /// binary search compares a dozen: a query looks up two or three keys.
    slots: Box<[u16]>,
}

#[derive(Debug, Clone, Copy)]
struct NodeEntry {
    key: u32,
    records: u32,
}

impl std::fmt::Debug for CompactNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactNodes").field("nodes", &self.len()).field("records", &self.record_offsets.len()).field("bytes", &self.data.len()).finish()
    }
}

/// A node key's hash, for [`CompactNodes::slots`].
fn key_hash(key: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = KeyHasher::default();
    hasher.write(key);
    hasher.finish()
}

/// The types whose RDATA holds no domain name, so a shard's bytes for it stand alone (no
/// compression pointer into the chunk, RFC 1035 §4.1.4; RFC 3597 §4 forbids them in the RDATA
/// of types defined since): an answer copies them as they are.
pub(super) const WIRE_TYPES: [RecordType; 3] = [RecordType::A, RecordType::AAAA, RecordType::TXT];

/// An RRset of a compact zone in wire form, borrowed from the shard's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSet<'a> {
    /// The class of every record.
    pub class: DNSClass,
    /// The set's TTL: the smallest of its records' (RFC 2181 §5.2).
    pub ttl: u32,
    /// Each distinct RDATA, in the order published.
    pub rdatas: Vec<&'a [u8]>,
}

/// Why a shard's part of a zone could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompactError {
    /// The records do not decode.
    Corrupt,
    /// They decode but do not form a zone.
    Zone(AssembleError),
}

/// Appends the key of `labels` (below the apex, from the apex down) to `out`.
fn push_key<'n>(out: &mut Vec<u8>, labels: impl Iterator<Item = &'n [u8]>) {
    for label in labels {
        for byte in label {
            match byte.to_ascii_lowercase() {
                0 => out.extend_from_slice(&[0, 1]),
                other => out.push(other),
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// What an input item of the index is, before sorting.
struct Owner {
    /// Where its key is in the builder's key buffer.
    key: (u32, u32),
    what: Item,
}

#[derive(Clone, Copy)]
enum Item {
    Record { offset: u32, record_type: u16 },
    Routed(usize),
    Name,
}

impl CompactNodes {
    /// Indexes a zone's records, given as wire-format chunks of (count, bytes), with its routed
    /// sets and the empty non-terminals the records alone do not imply. Returns the index and the
    /// zone's SOA. The same checks as [`super::Zone::assemble_with_empty`]: every owner inside the
    /// zone, an SOA at the apex; and every record must decode.
    pub(super) fn build(apex: &Name, chunks: &[(u32, &[u8])], routed: Vec<RoutedSet>, empty: Vec<Name>) -> Result<(Self, Record), CompactError> {
        let apex_labels = label_count(apex);
        let total: usize = chunks.iter().map(|(_, bytes)| bytes.len()).sum();
        let offset_of = |value: usize| u32::try_from(value).map_err(|_| CompactError::Corrupt);
        let mut data = Vec::with_capacity(total);
        let mut chunk_ends = Vec::with_capacity(chunks.len());
        let mut key_bytes: Vec<u8> = Vec::new();
        let mut owners: Vec<Owner> = Vec::new();
        let add_key = |key_bytes: &mut Vec<u8>, name: &Name| -> Result<(u32, u32), CompactError> {
            // Inside the zone: the labels from the root match the apex's (as `zone_of` checks).
            let inside = name.is_fqdn()
                && label_count(name) >= apex_labels
                && name.iter().rev().zip(apex.iter().rev()).take(apex_labels).all(|(label, apex_label)| label.eq_ignore_ascii_case(apex_label));
            if !inside {
                return Err(CompactError::Zone(AssembleError::OutOfZone(name.clone())));
            }
            let start = offset_of(key_bytes.len())?;
            push_key(key_bytes, name.iter().rev().skip(apex_labels));
            Ok((start, offset_of(key_bytes.len())?))
        };
        for &(count, bytes) in chunks {
            let base = data.len();
            data.extend_from_slice(bytes);
            chunk_ends.push(offset_of(data.len())?);
            let mut decoder = BinDecoder::new(bytes);
            // Every record takes at least 11 bytes, which bounds a corrupt count.
            owners.reserve((count as usize).min(bytes.len() / 11));
            for _ in 0..count {
                let offset = offset_of(base + decoder.index())?;
                let record = Record::read(&mut decoder).map_err(|_| CompactError::Corrupt)?;
                let key = add_key(&mut key_bytes, &record.name)?;
                owners.push(Owner { key, what: Item::Record { offset, record_type: u16::from(record.record_type()) } });
            }
            if !decoder.is_empty() {
                return Err(CompactError::Corrupt);
            }
        }
        let mut routed_owners = Vec::with_capacity(routed.len());
        for (position, set) in routed.iter().enumerate() {
            let owner = Name::from_ascii(&set.name).map_err(|_| CompactError::Zone(AssembleError::OutOfZone(apex.clone())))?;
            let key = add_key(&mut key_bytes, &owner)?;
            routed_owners.push(Owner { key, what: Item::Routed(position) });
        }
        owners.extend(routed_owners);
        for name in &empty {
            let key = add_key(&mut key_bytes, name)?;
            owners.push(Owner { key, what: Item::Name });
        }
        // Every name between the apex and an owner exists, as an empty non-terminal if it holds
        // nothing itself (RFC 4592 §2.2.2): its key is a prefix of the owner's, ending at a
        // label's end. A prefix of the previous owner's key is one of its ancestors (or itself),
        // already there: owners come sorted, so that skips nearly every repeat.
        let slice = |key: (u32, u32)| key_bytes.get(key.0 as usize..key.1 as usize).unwrap_or_default();
        let mut ancestors = Vec::new();
        let mut previous: Option<&[u8]> = None;
        for owner in &owners {
            let key = slice(owner.key);
            // The prefixes ending where a label ends (the apex's, empty, first), short of the key.
            let mut end = Some(0);
            let mut position = 0;
            while let Some(prefix_end) = end.take().filter(|prefix_end| *prefix_end < key.len()) {
                let prefix = key.get(..prefix_end).unwrap_or_default();
                if !previous.is_some_and(|previous| previous.starts_with(prefix)) {
                    ancestors.push(Owner { key: (owner.key.0, owner.key.0 + offset_of(prefix_end)?), what: Item::Name });
                }
                // The next label's end: `00 00` ends a label, `00 01` is a zero byte.
                while let Some(&byte) = key.get(position) {
                    if byte == 0 {
                        position += 2;
                        if key.get(position - 1) == Some(&0) {
                            end = Some(position);
                            break;
                        }
                    } else {
                        position += 1;
                    }
                }
            }
            previous = Some(key);
        }
        owners.extend(ancestors);
        // Stable: a node's records keep their published order, as assembling keeps it.
        owners.sort_by(|a, b| slice(a.key).cmp(slice(b.key)));

        let mut keys = Vec::new();
        let mut nodes = Vec::new();
        let mut record_offsets = Vec::with_capacity(owners.len());
        let mut record_types = Vec::with_capacity(owners.len());
        let mut routed_sets: Vec<Option<RoutedSet>> = routed.into_iter().map(Some).collect();
        let mut routed_index = Vec::new();
        let mut previous: Option<&[u8]> = None;
        for owner in &owners {
            let key = slice(owner.key);
            if previous != Some(key) {
                nodes.push(NodeEntry { key: offset_of(keys.len())?, records: offset_of(record_offsets.len())? });
                keys.extend_from_slice(key);
                previous = Some(key);
            }
            let node = offset_of(nodes.len().saturating_sub(1))?;
            match owner.what {
                Item::Record { offset, record_type } => {
                    record_offsets.push(offset);
                    record_types.push(record_type);
                }
                Item::Routed(position) => {
                    if let Some(set) = routed_sets.get_mut(position).and_then(Option::take) {
                        routed_index.push((node, Arc::new(set)));
                    }
                }
                Item::Name => {}
            }
        }
        nodes.push(NodeEntry { key: offset_of(keys.len())?, records: offset_of(record_offsets.len())? });
        let compact = Self {
            data: data.into_boxed_slice(),
            chunk_ends: chunk_ends.into_boxed_slice(),
            keys: keys.into_boxed_slice(),
            nodes: nodes.into_boxed_slice(),
            record_offsets: record_offsets.into_boxed_slice(),
            record_types: record_types.into_boxed_slice(),
            routed: routed_index.into_boxed_slice(),
            slots: Box::default(),
        };
        let compact = Self { slots: compact.hash_slots(), ..compact };
        let soa = compact
            .find(&[])
            .map(|apex_node| compact.rrset(apex_node, RecordType::SOA))
            .and_then(|set| set.records.into_iter().next())
            .ok_or(CompactError::Zone(AssembleError::MissingSoa))?;
        Ok((compact, soa))
    }

    /// How many nodes.
    pub(super) fn len(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }

    fn key(&self, node: usize) -> &[u8] {
        let (Some(start), Some(end)) = (self.nodes.get(node), self.nodes.get(node + 1)) else { return &[] };
        self.keys.get(start.key as usize..end.key as usize).unwrap_or_default()
    }

    fn records(&self, node: usize) -> std::ops::Range<usize> {
        let (Some(start), Some(end)) = (self.nodes.get(node), self.nodes.get(node + 1)) else { return 0..0 };
        start.records as usize..end.records as usize
    }

    /// The hash slots of the nodes ([`CompactNodes::slots`]).
    fn hash_slots(&self) -> Box<[u16]> {
        let nodes = self.len();
        if nodes >= usize::from(u16::MAX) {
            return Box::default();
        }
        let mut slots = vec![0u16; (nodes + nodes / 2 + 1).next_power_of_two()];
        let mask = slots.len() - 1;
        for node in 0..nodes {
            let mut at = key_hash(self.key(node)) as usize & mask;
            // Fewer nodes than slots: an empty one is always found.
            while slots.get(at).is_some_and(|slot| *slot != 0) {
                at = (at + 1) & mask;
            }
            if let Some(slot) = slots.get_mut(at) {
                *slot = node as u16 + 1;
            }
        }
        slots.into_boxed_slice()
    }

    /// The node with this key ([`NameKey`]).
    pub(super) fn find(&self, key: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return self.search(key);
        }
        let mask = self.slots.len() - 1;
        let mut at = key_hash(key) as usize & mask;
        // At most two thirds of the slots are full: an empty one ends every probe.
        loop {
            let node = usize::from(*self.slots.get(at)?).checked_sub(1)?;
            if self.key(node) == key {
                return Some(node);
            }
            at = (at + 1) & mask;
        }
    }

    /// [`CompactNodes::find`] by a binary search of the sorted keys.
    fn search(&self, key: &[u8]) -> Option<usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.key(middle).cmp(key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The node of `name` exactly (which must be at or below `apex`).
    pub(super) fn position(&self, apex: &Name, name: &Name) -> Option<usize> {
        if !name.is_fqdn() {
            return None;
        }
        self.find(NameKey::below(name, apex)?.bytes())
    }

    /// Whether the node holds a record of this type.
    pub(super) fn has(&self, node: usize, record_type: RecordType) -> bool {
        let code = u16::from(record_type);
        self.record_types.get(self.records(node)).unwrap_or_default().contains(&code)
    }

    fn record(&self, offset: u32) -> Option<Record> {
        let chunk = self.chunk_ends.partition_point(|end| *end <= offset);
        let start = match chunk.checked_sub(1) {
            Some(previous) => *self.chunk_ends.get(previous)?,
            None => 0,
        };
        let end = *self.chunk_ends.get(chunk)?;
        let mut decoder = BinDecoder::new(self.data.get(start as usize..end as usize)?);
        decoder.read_slice(offset.checked_sub(start)? as usize).ok()?;
        Record::read(&mut decoder).ok()
    }

    /// The class, TTL and RDATA of the record at `offset`, read past its owner name, which is
    /// skipped, not decoded (RFC 1035 §4.1.3, §4.1.4: labels up to a zero byte or a pointer).
    fn wire_record(&self, offset: u32) -> Option<(u16, u32, &[u8])> {
        let record = self.data.get(offset as usize..)?;
        let mut at = 0;
        loop {
            let length = *record.get(at)?;
            match length {
                0 => {
                    at += 1;
                    break;
                }
                pointer if pointer & 0xC0 == 0xC0 => {
                    at += 2;
                    break;
                }
                label if label < 0x40 => at += 1 + usize::from(label),
                _ => return None,
            }
        }
        let fixed: [u8; 10] = record.get(at..at + 10)?.try_into().ok()?;
        let [_, _, class_high, class_low, ttl_0, ttl_1, ttl_2, ttl_3, length_high, length_low] = fixed;
        let length = usize::from(u16::from_be_bytes([length_high, length_low]));
        let rdata = record.get(at + 10..at + 10 + length)?;
        Some((u16::from_be_bytes([class_high, class_low]), u32::from_be_bytes([ttl_0, ttl_1, ttl_2, ttl_3]), rdata))
    }

    /// The RRset of a type at a node in wire form, when the type's RDATA holds no name (so
    /// no compression pointer into the shard: [`WIRE_TYPES`]) and the node has records of it:
    /// each distinct RDATA once, in the order published, with the set's TTL the smallest of
    /// its records' (as [`super::group_rrsets`] groups them). `None` sends the caller to the
    /// decoded form: another type, no such records, or records of more than one class.
    pub(super) fn wire_rrset(&self, node: usize, record_type: RecordType) -> Option<WireSet<'_>> {
        if !WIRE_TYPES.contains(&record_type) {
            return None;
        }
        let code = u16::from(record_type);
        let range = self.records(node);
        let offsets = self.record_offsets.get(range.clone())?;
        let types = self.record_types.get(range)?;
        let mut set: Option<WireSet<'_>> = None;
        for (offset, _) in offsets.iter().zip(types).filter(|(_, held)| **held == code) {
            let (class, ttl, rdata) = self.wire_record(*offset)?;
            match &mut set {
                None => set = Some(WireSet { class: DNSClass::from(class), ttl, rdatas: vec![rdata] }),
                Some(set) if u16::from(set.class) == class => {
                    set.ttl = set.ttl.min(ttl);
                    if !set.rdatas.contains(&rdata) {
                        set.rdatas.push(rdata);
                    }
                }
                Some(_) => return None,
            }
        }
        set
    }

    /// The lowest type code the node holds a record of, routed sets included.
    pub(super) fn lowest_type(&self, node: usize) -> Option<RecordType> {
        let held = self.record_types.get(self.records(node)).unwrap_or_default().iter().copied().min();
        let routed = self.routed_at(node).map(|set| u16::from(set.record_type())).min();
        held.into_iter().chain(routed).min().map(RecordType::from)
    }

    fn routed_at(&self, node: usize) -> impl Iterator<Item = &Arc<RoutedSet>> {
        let position = u32::try_from(node).unwrap_or(u32::MAX);
        let start = self.routed.partition_point(|(held, _)| *held < position);
        self.routed.get(start..).unwrap_or_default().iter().take_while(move |(held, _)| *held == position).map(|(_, set)| set)
    }

    /// The records of a node, of one type or all, decoded (each decoded once when indexed, so
    /// none fails here).
    fn decode(&self, node: usize, only: Option<RecordType>) -> Vec<Record> {
        let range = self.records(node);
        let offsets = self.record_offsets.get(range.clone()).unwrap_or_default();
        let types = self.record_types.get(range).unwrap_or_default();
        let only = only.map(u16::from);
        offsets.iter().zip(types).filter(|(_, code)| only.is_none_or(|only| only == **code)).filter_map(|(offset, _)| self.record(*offset)).collect()
    }

    /// The RRset of one type at a node (empty if none), grouped as a decoded zone groups it.
    pub(super) fn rrset(&self, node: usize, record_type: RecordType) -> RrSet {
        group_rrsets(self.decode(node, Some(record_type))).into_iter().next().unwrap_or(RrSet { record_type, ttl: 0, records: Vec::new() })
    }

    /// The routed set of a type at a node.
    pub(super) fn routed(&self, node: usize, record_type: RecordType) -> Option<&RoutedSet> {
        self.routed_at(node).map(|set| &**set).find(|set| set.record_type() == record_type)
    }

    /// A node, decoded.
    pub(super) fn node(&self, node: usize) -> Node {
        Node { rrsets: group_rrsets(self.decode(node, None)), routed: self.routed_at(node).cloned().collect() }
    }

    /// Every node's name under `apex`, with the node decoded.
    pub(super) fn iter<'a>(&'a self, apex: &'a Name) -> impl Iterator<Item = (LowerName, Node)> + 'a {
        (0..self.len()).filter_map(move |node| {
            let mut labels: Vec<Vec<u8>> = Vec::new();
            let mut label = Vec::new();
            let mut bytes = self.key(node).iter();
            while let Some(&byte) = bytes.next() {
                match (byte, byte == 0 && bytes.next() == Some(&0)) {
                    (0, true) => labels.push(std::mem::take(&mut label)),
                    (0, false) => label.push(0),
                    (other, _) => label.push(other),
                }
            }
            labels.reverse();
            let name = Name::from_labels(labels.iter().map(Vec::as_slice).chain(apex.iter())).ok()?;
            Some((LowerName::new(&name), self.node(node)))
        })
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::RData;
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    /// A zone of `hosts` names `h<i>.example.`, each with a name below it, in one chunk.
    fn nodes(hosts: usize) -> CompactNodes {
        let soa = SOA::new(name("ns1.example."), name("hostmaster.example."), 1, 3600, 600, 86400, 300);
        let mut records = vec![Record::from_rdata(name("example."), 3600, RData::SOA(soa))];
        for i in 0..hosts {
            records.push(Record::from_rdata(name(&format!("h{i}.example.")), 300, RData::A(A::new(192, 0, 2, 1))));
            records.push(Record::from_rdata(name(&format!("x.h{i}.example.")), 300, RData::A(A::new(192, 0, 2, 2))));
        }
        // Chunks as publishing makes them: each its own compression context, under 64 KiB.
        let chunks: Vec<(u32, Vec<u8>)> = records
            .chunks(500)
            .map(|chunk| {
                let mut bytes = Vec::new();
                let mut encoder = BinEncoder::new(&mut bytes);
                for record in chunk {
                    record.emit(&mut encoder).unwrap();
                }
                (chunk.len() as u32, bytes)
            })
            .collect();
        let chunks: Vec<(u32, &[u8])> = chunks.iter().map(|(count, bytes)| (*count, bytes.as_slice())).collect();
        CompactNodes::build(&name("example."), &chunks, Vec::new(), Vec::new()).unwrap().0
    }

    #[test]
    fn the_hash_slots_find_every_node_the_search_finds_and_nothing_else() {
        let apex = name("example.");
        for hosts in [0, 1, 7, 3000] {
            let nodes = nodes(hosts);
            assert_eq!(nodes.len(), 1 + 2 * hosts, "the apex and two names a host");
            assert!(nodes.slots.len().is_power_of_two() && nodes.slots.len() * 2 >= nodes.len() * 3, "at most two thirds full");
            for node in 0..nodes.len() {
                let key = nodes.key(node);
                assert_eq!(nodes.find(key), Some(node));
                assert_eq!(nodes.search(key), Some(node));
            }
            // Absent names, and keys that are prefixes or extensions of present ones.
            for i in hosts..hosts + 3000 {
                let absent = NameKey::below(&name(&format!("h{i}.example.")), &apex).unwrap();
                assert_eq!(nodes.find(absent.bytes()), None, "h{i}");
            }
            if let Some(node) = (hosts > 0).then(|| nodes.find(NameKey::below(&name("h0.example."), &apex).unwrap().bytes()).unwrap()) {
                let key = nodes.key(node);
                assert_eq!(nodes.find(&key[..key.len() - 1]), None);
                assert_eq!(nodes.find(&[key, b"\0"].concat()), None);
            }
        }
    }

    #[test]
    fn without_slots_a_lookup_searches_the_sorted_keys() {
        let mut nodes = nodes(50);
        let found: Vec<_> = (0..nodes.len()).map(|node| nodes.find(nodes.key(node))).collect();
        nodes.slots = Box::default();
        assert_eq!((0..nodes.len()).map(|node| nodes.find(nodes.key(node))).collect::<Vec<_>>(), found);
        assert_eq!(nodes.find(b"nowhere"), None);
    }
}
