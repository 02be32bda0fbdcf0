//! A compact, read-only map from domain names to small numbers, for lists of a million names:
//! the names reversed by label (`ads.example.com` → `com.example.ads`, so a domain's names sit
//! together), sorted, and front-coded in blocks of [`BLOCK`] names (each name after a block's
//! first is the length of the prefix it shares with the one before, then the rest), with an
//! index of where each block starts, and a table of the names' fingerprints in front, each
//! slot also naming its name's block. A name whose fingerprint is missing is known absent
//! after a probe or two (most lookups: a query's name and parents are on no list); one whose
//! fingerprint is there is looked for in the block its slot names, a scan of at most 16
//! names: two random reads, where a binary search over the blocks' first names took one per
//! halving (about 16 at 1M names). No allocation; at 1M domains about 26 bytes a domain, the
//! size of the names themselves (benches/firewall.rs, BENCHMARKS.md part 10).

use std::cmp::Ordering;

/// Names per block: the scan after the binary search reads at most this many.
pub const BLOCK: usize = 16;

/// The map (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameStore {
    /// The blocks, one after the other: per name `shared` (varint), `length` (varint), that
    /// many bytes, then its value (varint); a block's first name shares nothing.
    data: Vec<u8>,
    /// Where each block starts in `data`.
    blocks: Vec<u32>,
    /// A slot for every name (open addressing, linear probing, at most three quarters full;
    /// 0 is an empty slot): its fingerprint in the high bits and its block in the low
    /// [`NameStore::block_bits`]. A name whose fingerprint is missing is not held, and is
    /// known so after one probe or two (most queries' names and parents are on no list); one
    /// that is found is looked for in the slot's block alone, with no binary search.
    fingerprints: Vec<u32>,
    /// The bits of a slot that give a block (0: the slots give none, over
    /// [`MAX_BLOCK_BITS`], and a hit is a binary search over the blocks).
    block_bits: u32,
    /// How many names the store holds.
    len: usize,
}

/// Why a store was not built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Over 4 GiB of names.
    TooLarge,
    /// Front-coded names that do not read ([`NameStore::from_front_coded`]): why.
    Corrupt(&'static str),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => f.write_str("over 4 GiB of names"),
            Self::Corrupt(why) => write!(f, "the names do not read: {why}"),
        }
    }
}

/// What separates the labels of a reversed name: a byte below any a key's label holds (keys
/// are names in their printable form, `\DDD` escapes for the rest), so that plain byte order
/// puts a domain before its longer siblings and its names together: `com.example` before
/// `com.example-2` and before `com.example.ads`, and comparing is `memcmp`.
pub const SEPARATOR: u8 = 1;

/// A name reversed by label, into `out` (cleared first): `ads.example.com` → `com`, `example`,
/// `ads` joined by [`SEPARATOR`].
pub fn reverse_into(name: &str, out: &mut Vec<u8>) {
    out.clear();
    for (index, label) in name.rsplit('.').enumerate() {
        if index > 0 {
            out.push(SEPARATOR);
        }
        out.extend_from_slice(label.as_bytes());
    }
}

/// The most bits a slot gives its block: 2^20 blocks (16M names), leaving 12 bits of
/// fingerprint, so that a name not held passes for one in about one probe of 4,096.
pub const MAX_BLOCK_BITS: u32 = 20;

/// FNV-1a (64 bits) of a reversed name: its low bits pick a slot, its high 32 bits are the
/// fingerprint (of which a slot keeps the top `32 - block_bits`).
fn hash(reversed: &[u8]) -> (usize, u32) {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in reversed {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash as usize, (hash >> 32) as u32)
}

/// The bits a slot needs to give one of `blocks` blocks (0 past `max` bits).
fn block_bits(blocks: usize, max: u32) -> u32 {
    let bits = usize::BITS - blocks.saturating_sub(1).leading_zeros();
    if bits > max {
        0
    } else {
        bits
    }
}

pub(super) fn push_varint(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A varint at `*at`, moving `*at` past it; `None` past the end or over 32 bits.
pub(super) fn read_varint(data: &[u8], at: &mut usize) -> Option<u32> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u32::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The order of reversed names ([`SEPARATOR`]).
fn order(a: &[u8], b: &[u8]) -> Ordering {
    a.cmp(b)
}

impl NameStore {
    /// Builds a store of `(name, value)` pairs (names as rules key them: lower case, no
    /// trailing dot). A name given twice keeps its first value.
    pub fn build(entries: impl IntoIterator<Item = (String, u32)>) -> Result<Self, StoreError> {
        Self::build_within(entries, MAX_BLOCK_BITS)
    }

    /// [`NameStore::build`], slots naming blocks only if `max_block_bits` bits do.
    fn build_within(entries: impl IntoIterator<Item = (String, u32)>, max_block_bits: u32) -> Result<Self, StoreError> {
        let mut reversed: Vec<(Vec<u8>, u32, usize)> = entries
            .into_iter()
            .enumerate()
            .map(|(position, (name, value))| {
                let mut key = Vec::with_capacity(name.len());
                reverse_into(&name, &mut key);
                (key, value, position)
            })
            .collect();
        reversed.sort_unstable_by(|a, b| order(&a.0, &b.0).then(a.2.cmp(&b.2)));
        reversed.dedup_by(|later, earlier| later.0 == earlier.0);
        let capacity = (reversed.len() + reversed.len() / 3 + 1).next_power_of_two();
        let blocks = reversed.len().div_ceil(BLOCK);
        let mut store = Self {
            data: Vec::new(),
            blocks: Vec::with_capacity(blocks),
            fingerprints: vec![0; capacity],
            block_bits: block_bits(blocks, max_block_bits),
            len: reversed.len(),
        };
        for (index, (key, _, _)) in reversed.iter().enumerate() {
            store.remember(key, index / BLOCK);
        }
        let mut previous: &[u8] = &[];
        for (index, (key, value, _)) in reversed.iter().enumerate() {
            let shared = if index % BLOCK == 0 {
                store.blocks.push(u32::try_from(store.data.len()).map_err(|_| StoreError::TooLarge)?);
                0
            } else {
                previous.iter().zip(key.iter()).take_while(|(a, b)| a == b).count()
            };
            let rest = key.get(shared..).unwrap_or_default();
            push_varint(&mut store.data, u32::try_from(shared).map_err(|_| StoreError::TooLarge)?);
            push_varint(&mut store.data, u32::try_from(rest.len()).map_err(|_| StoreError::TooLarge)?);
            store.data.extend_from_slice(rest);
            push_varint(&mut store.data, *value);
            previous = key;
        }
        store.data.shrink_to_fit();
        Ok(store)
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes it holds (its data and its block index).
    pub fn bytes(&self) -> usize {
        self.data.len() + (self.blocks.len() + self.fingerprints.len()) * 4
    }

    /// The bytes of its front-coded names and block index: what a compiled list would carry
    /// (the fingerprints are rebuilt from the names).
    pub fn front_coded_bytes(&self) -> usize {
        self.data.len() + self.blocks.len() * 4
    }

    /// A slot's value for a name of this fingerprint in block `block` (never 0).
    fn slot_value(&self, fingerprint: u32, block: usize) -> u32 {
        let block = if self.block_bits == 0 { 0 } else { block as u32 & ((1 << self.block_bits) - 1) };
        // The fingerprint's top bits above the block's; a fingerprint of zeros is made 1.
        let tag = fingerprint.checked_shr(self.block_bits).map_or(0, |top| top << self.block_bits);
        let tag = if tag == 0 { 1u32.checked_shl(self.block_bits).unwrap_or(1) } else { tag };
        tag | block
    }

    /// The tag part of a slot (its fingerprint bits).
    fn tag(&self, slot: u32) -> u32 {
        slot.checked_shr(self.block_bits).unwrap_or(0)
    }

    /// Enters a name (reversed) of block `block` in the fingerprint table. The table is never
    /// full (a quarter of it at least stays empty): the probe ends.
    fn remember(&mut self, reversed: &[u8], block: usize) {
        let capacity = self.fingerprints.len();
        let (mut slot, fingerprint) = hash(reversed);
        let fingerprint = self.slot_value(fingerprint, block);
        loop {
            slot &= capacity.wrapping_sub(1);
            match self.fingerprints.get_mut(slot) {
                Some(free @ 0) => {
                    *free = fingerprint;
                    break;
                }
                Some(_) => slot += 1,
                None => break,
            }
        }
    }

    /// Calls `found` with the block of each slot whose fingerprint is the name's (given
    /// reversed), until it returns a value; `None` when no slot matches (certain: the name is
    /// not held) or none of their blocks holds it.
    fn probe(&self, reversed: &[u8], mut found: impl FnMut(usize) -> Option<u32>) -> Option<u32> {
        let capacity = self.fingerprints.len();
        if capacity == 0 {
            return None;
        }
        let (mut slot, fingerprint) = hash(reversed);
        let tag = self.tag(self.slot_value(fingerprint, 0));
        let mask = 1u32.checked_shl(self.block_bits).map_or(u32::MAX, |bit| bit - 1);
        loop {
            slot &= capacity - 1;
            match self.fingerprints.get(slot) {
                Some(0) | None => return None,
                Some(&held) if self.tag(held) == tag => {
                    if let Some(value) = found((held & mask) as usize) {
                        return Some(value);
                    }
                    slot += 1;
                }
                Some(_) => slot += 1,
            }
        }
    }

    /// The value of the name (reversed) if block `block` holds it.
    fn in_block(&self, block: usize, reversed: &[u8], scratch: &mut Vec<u8>) -> Option<u32> {
        let mut at = *self.blocks.get(block)? as usize;
        let end = self.blocks.get(block + 1).map_or(self.data.len(), |&end| end as usize);
        scratch.clear();
        while at < end {
            let shared = read_varint(&self.data, &mut at)? as usize;
            let length = read_varint(&self.data, &mut at)? as usize;
            scratch.truncate(shared);
            scratch.extend_from_slice(self.data.get(at..at.checked_add(length)?)?);
            at += length;
            let value = read_varint(&self.data, &mut at)?;
            match order(scratch, reversed) {
                Ordering::Equal => return Some(value),
                Ordering::Greater => return None,
                Ordering::Less => {}
            }
        }
        None
    }

    /// The first name of block `block`, reversed.
    fn first_name(&self, block: usize) -> Option<&[u8]> {
        let mut at = *self.blocks.get(block)? as usize;
        let _shared = read_varint(&self.data, &mut at)?;
        let length = read_varint(&self.data, &mut at)? as usize;
        self.data.get(at..at.checked_add(length)?)
    }

    /// The value of a name given reversed ([`reverse_into`]), if the store holds it. `scratch`
    /// holds the block's names as they are rebuilt (reused between lookups: no allocation once
    /// it has grown).
    pub fn get_reversed(&self, reversed: &[u8], scratch: &mut Vec<u8>) -> Option<u32> {
        if self.block_bits > 0 || self.blocks.len() <= 1 {
            return self.probe(reversed, |block| self.in_block(block, reversed, scratch));
        }
        // Too many blocks for a slot to name one: the fingerprint says whether to look, a
        // binary search over the blocks' first names where.
        let mut candidate = false;
        self.probe(reversed, |_| {
            candidate = true;
            Some(0)
        });
        if !candidate {
            return None;
        }
        // The last block whose first name is not after the name.
        let (mut low, mut high) = (0, self.blocks.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match order(self.first_name(middle)?, reversed) {
                Ordering::Greater => high = middle,
                _ => low = middle + 1,
            }
        }
        self.in_block(low.checked_sub(1)?, reversed, scratch)
    }

    /// Calls `found` with each value held for the name given reversed and for each of its
    /// parent domains, the name first, then from the closest parent to the root's label
    /// (`com.example.ads`: itself, `com.example`, `com`); the flag says whether it is the name.
    /// One binary search each, no allocation once `scratch` has grown.
    pub fn each_match(&self, reversed: &[u8], scratch: &mut Vec<u8>, mut found: impl FnMut(bool, u32)) {
        self.each_match_sized(reversed, scratch, |exact, value, _| found(exact, value));
    }

    /// [`NameStore::each_match`], also giving the length of the name or parent matched: the
    /// length of its reversed form, which is the length of its name (a separator for a dot),
    /// so the matched domain is that many bytes at the end of the name looked up.
    pub fn each_match_sized(&self, reversed: &[u8], scratch: &mut Vec<u8>, mut found: impl FnMut(bool, u32, usize)) {
        if let Some(value) = self.get_reversed(reversed, scratch) {
            found(true, value, reversed.len());
        }
        let mut end = reversed.len();
        while let Some(dot) = reversed.get(..end).and_then(|head| head.iter().rposition(|&byte| byte == SEPARATOR)) {
            if let Some(value) = reversed.get(..dot).and_then(|parent| self.get_reversed(parent, scratch)) {
                found(false, value, dot);
            }
            end = dot;
        }
    }

    /// Its front-coded names as they are held (per name `shared`, `length`, the bytes, the
    /// value, each number a varint): what a compiled list publishes ([`super::compiled`]).
    pub fn front_coded(&self) -> &[u8] {
        &self.data
    }

    /// The store of `len` names front-coded as [`NameStore::front_coded`] gives them, checked
    /// as it is read (every number and length inside `data`, each block's first name sharing
    /// nothing, every name after the one before it, no value from `limit` up): the block index
    /// and the fingerprints are rebuilt, `data` is kept as it is (no copy).
    pub fn from_front_coded(data: Vec<u8>, len: usize, limit: u32) -> Result<Self, StoreError> {
        let bad = |why: &'static str| StoreError::Corrupt(why);
        // Every name takes three bytes at least: a bound before anything is allocated.
        if len > data.len() / 3 + 1 {
            return Err(bad("more names than the bytes could hold"));
        }
        let capacity = (len + len / 3 + 1).next_power_of_two();
        let blocks = len.div_ceil(BLOCK);
        let mut store =
            Self { data: Vec::new(), blocks: Vec::with_capacity(blocks), fingerprints: vec![0; capacity], block_bits: block_bits(blocks, MAX_BLOCK_BITS), len };
        let (mut previous, mut current): (Vec<u8>, Vec<u8>) = (Vec::with_capacity(256), Vec::with_capacity(256));
        let mut at = 0;
        for index in 0..len {
            let start = at;
            let shared = read_varint(&data, &mut at).ok_or(bad("a name cut short"))? as usize;
            let length = read_varint(&data, &mut at).ok_or(bad("a name cut short"))? as usize;
            let rest = at.checked_add(length).and_then(|end| data.get(at..end)).ok_or(bad("a name past the end"))?;
            at += length;
            let value = read_varint(&data, &mut at).ok_or(bad("a value cut short"))?;
            if value >= limit {
                return Err(bad("a value out of range"));
            }
            if index % BLOCK == 0 {
                if shared != 0 {
                    return Err(bad("a block's first name shares a prefix"));
                }
                store.blocks.push(u32::try_from(start).map_err(|_| StoreError::TooLarge)?);
            }
            if shared > previous.len() || shared + length > 255 * 4 {
                return Err(bad("a name longer than a name can be"));
            }
            current.clear();
            current.extend_from_slice(previous.get(..shared).unwrap_or_default());
            current.extend_from_slice(rest);
            // Strictly ascending: what the binary search and the block scan rely on (the
            // first name may be the root's, empty).
            if index > 0 && current <= previous {
                return Err(bad("names out of order"));
            }
            std::mem::swap(&mut current, &mut previous);
            store.remember(&previous, index / BLOCK);
        }
        if at != data.len() {
            return Err(bad("bytes after the last name"));
        }
        store.data = data;
        Ok(store)
    }

    /// The value of `name` (lower case, no trailing dot), if the store holds it.
    pub fn get(&self, name: &str) -> Option<u32> {
        let mut reversed = Vec::with_capacity(name.len());
        reverse_into(name, &mut reversed);
        self.get_reversed(&reversed, &mut Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_with_their_values_and_others_are_not() {
        let names = ["ads.example.com", "example.com", "a.b.c.example.com", "example-2.com", "com", "x.org", "tracker.example"];
        let store = NameStore::build(names.iter().enumerate().map(|(value, name)| (name.to_string(), value as u32))).unwrap();
        assert_eq!(store.len(), names.len());
        for (value, name) in names.iter().enumerate() {
            assert_eq!(store.get(name), Some(value as u32), "{name}");
        }
        for absent in ["example", "b.c.example.com", "org", "y.x.org", "", "zzz", "example.co", "ads.example.comm"] {
            assert_eq!(store.get(absent), None, "{absent}");
        }
        assert_eq!(NameStore::build([("a.example".to_owned(), 1), ("a.example".to_owned(), 2)]).unwrap().get("a.example"), Some(1), "the first value is kept");
        assert_eq!(NameStore::default().get("a.example"), None);
        let mut found = Vec::new();
        let mut reversed = Vec::new();
        reverse_into("x.a.b.c.example.com", &mut reversed);
        store.each_match(&reversed, &mut Vec::new(), |exact, value| found.push((exact, value)));
        assert_eq!(found, vec![(false, 2), (false, 1), (false, 4)], "a.b.c.example.com, example.com, com");
    }

    #[test]
    fn many_names_over_many_blocks() {
        let store = NameStore::build((0..10_000u32).map(|n| (format!("d{n}.list{}.example", n % 7), n))).unwrap();
        for n in (0..10_000u32).step_by(37) {
            assert_eq!(store.get(&format!("d{n}.list{}.example", n % 7)), Some(n));
            assert_eq!(store.get(&format!("d{n}.list{}.example", (n + 1) % 7)), None);
        }
        // Front coding: reversed names share their domains, so the store is smaller than the names.
        let names: usize = (0..10_000u32).map(|n| format!("d{n}.list{}.example", n % 7).len()).sum();
        assert!(store.bytes() < names, "{} bytes for {names} bytes of names", store.bytes());
    }
    #[test]
    fn slots_name_blocks_and_without_them_a_binary_search_finds_the_same() {
        let entries: Vec<(String, u32)> = (0..5_000u32).map(|n| (format!("h{n}.d{}.example", n % 13), n)).collect();
        let fast = NameStore::build(entries.clone()).unwrap();
        let searched = NameStore::build_within(entries.clone(), 4).unwrap();
        assert_eq!((fast.block_bits, searched.block_bits), (9, 0), "313 blocks: 9 bits, or none within 4");
        for (name, value) in &entries {
            assert_eq!(fast.get(name), Some(*value), "{name}");
            assert_eq!(searched.get(name), Some(*value), "{name}");
        }
        for n in 0..5_000u32 {
            let absent = format!("x{n}.d{}.example", n % 13);
            assert_eq!((fast.get(&absent), searched.get(&absent)), (None, None), "{absent}");
        }
        let one = NameStore::build([("only.example".to_owned(), 7)]).unwrap();
        assert_eq!((one.get("only.example"), one.get("other.example")), (Some(7), None));
    }

    #[test]
    fn front_coded_names_read_back_and_bad_ones_are_errors() {
        let names: Vec<(String, u32)> = (0..1000u32).map(|n| (format!("d{n}.list{}.example", n % 7), n)).chain([(String::new(), 1000)]).collect();
        let store = NameStore::build(names.clone()).unwrap();
        let read = NameStore::from_front_coded(store.front_coded().to_vec(), store.len(), 1001).unwrap();
        assert_eq!(read, store);
        for (name, value) in &names {
            assert_eq!(read.get(name), Some(*value), "{name}");
        }
        let data = store.front_coded().to_vec();
        let error = |data: Vec<u8>, len: usize, limit: u32| NameStore::from_front_coded(data, len, limit).unwrap_err();
        assert_eq!(error(data.clone(), store.len(), 1000), StoreError::Corrupt("a value out of range"));
        assert_eq!(error(data.clone(), store.len() + 1, 1001), StoreError::Corrupt("a name cut short"));
        assert_eq!(error(data.clone(), store.len() - 1, 1001), StoreError::Corrupt("bytes after the last name"));
        assert_eq!(error(data[..data.len() - 1].to_vec(), store.len(), 1001), StoreError::Corrupt("a value cut short"));
        assert_eq!(error(Vec::new(), 1_000_000, 1001), StoreError::Corrupt("more names than the bytes could hold"));
        // Two names swapped: out of order.
        let swapped = NameStore::build([("b.example".to_owned(), 0)]).unwrap().front_coded().to_vec();
        let first = NameStore::build([("a.example".to_owned(), 0)]).unwrap().front_coded().to_vec();
        assert_eq!(error([swapped.clone(), first].concat(), 2, 1), StoreError::Corrupt("names out of order"));
        assert_eq!(error([swapped.clone(), swapped].concat(), 2, 1), StoreError::Corrupt("names out of order"), "a name repeated");
        for length in 0..data.len() {
            assert!(NameStore::from_front_coded(data[..length].to_vec(), store.len(), 1001).is_err());
        }
    }
}
