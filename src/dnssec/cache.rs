//! Signatures kept per isolate, by RRset, so a hot answer is signed once: an entry is used
//! until half of its validity has passed, then the set is signed again (RFC 6781 §4.4.2:
//! re-sign well before expiry). The cache is bounded in entries and in bytes; the oldest
//! entries go first.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use super::canonical;
use super::key::SigningKey;
use super::rrset::RrSet;
use super::sign::{rrsig, SignError, Validity};

/// How much the cache may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// At most this many signatures.
    pub entries: usize,
    /// At most this many octets of RRSIG RDATA (plus [`ENTRY_OVERHEAD`] per entry).
    pub bytes: usize,
}

impl Default for CacheLimits {
    /// 20,000 signatures or 4 MiB, whichever comes first (an isolate has 128 MB).
    fn default() -> Self {
        Self { entries: 20_000, bytes: 4 << 20 }
    }
}

/// What an entry is counted for beyond its RRSIG: its key, times and map slot.
pub const ENTRY_OVERHEAD: usize = 64;

/// One cached signature.
struct Entry {
    /// The RRSIG RDATA.
    rrsig: Vec<u8>,
    /// When to sign again (Unix seconds): half the validity after signing.
    refresh_at_s: u64,
    /// Its place in the insertion order (older entries in the queue with another number are
    /// stale places of a re-signed set).
    sequence: u64,
}

/// The signature cache of one isolate.
pub struct SignatureCache {
    limits: CacheLimits,
    /// Keyed by [`SignatureCache::fingerprint`], which is already a keyed hash: the map takes
    /// its bits as they are ([`Fingerprints`]).
    entries: HashMap<u128, Entry, Fingerprints>,
    order: VecDeque<(u128, u64)>,
    bytes: usize,
    sequence: u64,
    hits: u64,
    signatures: u64,
    /// The secret the fingerprints are keyed with.
    seed: u64,
}

impl SignatureCache {
    /// An empty cache whose fingerprints are keyed with `seed`. The Worker gives a random
    /// seed per isolate: the map is indexed by the fingerprints' bits, which a client must not
    /// be able to choose (by the names it asks) to crowd one slot of the table.
    pub fn new(limits: CacheLimits, seed: u64) -> Self {
        Self { limits, entries: HashMap::default(), order: VecDeque::new(), bytes: 0, sequence: 0, hits: 0, signatures: 0, seed }
    }

    /// The RRSIG RDATA for `set` by `key` at `now_s`: the cached one while it is less than half
    /// its validity old, else a new signature (kept).
    pub fn rrsig(&mut self, key: &SigningKey, set: &RrSet<'_>, now_s: u64, validity: &Validity) -> Result<&[u8], SignError> {
        let id = self.fingerprint(key, set);
        let fresh = self.entries.get(&id).is_some_and(|entry| now_s < entry.refresh_at_s);
        if fresh {
            self.hits += 1;
        } else {
            let signature = rrsig(key, set, now_s, validity)?;
            self.signatures += 1;
            self.insert(id, signature, now_s.saturating_add(u64::from(validity.lifetime_s / 2)));
        }
        // Present: found fresh above, or just inserted (an entry larger than the whole cache is
        // still kept until the next insertion).
        self.entries.get(&id).map(|entry| entry.rrsig.as_slice()).ok_or(SignError::Empty)
    }

    /// Signatures in the cache.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Octets counted against [`CacheLimits::bytes`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Answers from the cache and signatures made, since the cache was made.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits, self.signatures)
    }

    fn insert(&mut self, id: u128, rrsig: Vec<u8>, refresh_at_s: u64) {
        self.sequence += 1;
        let size = rrsig.len() + ENTRY_OVERHEAD;
        if let Some(old) = self.entries.insert(id, Entry { rrsig, refresh_at_s, sequence: self.sequence }) {
            self.bytes -= old.rrsig.len() + ENTRY_OVERHEAD;
        }
        self.bytes += size;
        self.order.push_back((id, self.sequence));
        while self.entries.len() > self.limits.entries.max(1) || (self.bytes > self.limits.bytes && self.entries.len() > 1) {
            let Some((oldest, sequence)) = self.order.pop_front() else { break };
            if self.entries.get(&oldest).is_some_and(|entry| entry.sequence == sequence) && oldest != id {
                if let Some(entry) = self.entries.remove(&oldest) {
                    self.bytes -= entry.rrsig.len() + ENTRY_OVERHEAD;
                }
            }
        }
        // Stale places of re-signed sets are dropped once they outnumber the entries.
        if self.order.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.order.retain(|(id, sequence)| entries.get(id).is_some_and(|entry| entry.sequence == *sequence));
        }
    }
}

/// A hasher for keys that are hashes already (the cache's fingerprints): their low 64 bits.
#[derive(Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used; anything else is folded in, not lost.
        for octet in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*octet);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= value as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The [`FingerprintHasher`] for the cache's map.
type Fingerprints = BuildHasherDefault<FingerprintHasher>;

impl SignatureCache {
    /// A 128-bit fingerprint of what a signature depends on: the key ([`SigningKey::id`]), the
    /// owner (lower-cased), type, class, TTL and the RDATA, keyed with the cache's seed. The
    /// RDATA of a set of several records are summed as a multiset, so the same records in
    /// another order (a shuffled answer) find the same entry; a one-record set (most) is hashed
    /// directly. Each part is written to the hasher as one slice (per-octet writes cost most of
    /// a cache hit in wasm).
    fn fingerprint(&self, key: &SigningKey, set: &RrSet<'_>) -> u128 {
        let mut owner = [0u8; 255];
        let owner = canonical::name_on_stack(set.owner, &mut owner);
        let half = |seed: u64| {
            let mut hasher = DefaultHasher::new();
            (seed, key.id(), u16::from(set.record_type), u16::from(set.class), set.ttl, set.rdata.len()).hash(&mut hasher);
            owner.hash(&mut hasher);
            match set.rdata {
                [rdata] => rdata.hash(&mut hasher),
                several => {
                    let mut records: u64 = 0;
                    for rdata in several {
                        let mut record = DefaultHasher::new();
                        seed.hash(&mut record);
                        rdata.hash(&mut record);
                        records = records.wrapping_add(record.finish());
                    }
                    records.hash(&mut hasher);
                }
            }
            hasher.finish()
        };
        // Two halves under two keys: the seed, and the seed with the golden ratio's bits flipped in.
        (u128::from(half(self.seed)) << 64) | u128::from(half(self.seed ^ 0x9E37_79B9_7F4A_7C15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::Algorithm;
    use hickory_proto::rr::{DNSClass, Name, RecordType};
    use std::str::FromStr;

    fn key() -> SigningKey {
        SigningKey::from_private(&Name::from_str("example.com.").unwrap(), 257, Algorithm::Ed25519, &[3; 32]).unwrap()
    }

    #[test]
    fn a_set_is_signed_once_until_half_its_validity_has_passed() {
        let validity = Validity { backdate_s: 3600, lifetime_s: 1000 };
        let mut cache = SignatureCache::new(CacheLimits::default(), 0);
        let owner = Name::from_str("www.example.com.").unwrap();
        let rdata: [&[u8]; 2] = [&[192, 0, 2, 1], &[192, 0, 2, 2]];
        let set = RrSet { owner: &owner, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &rdata };
        let first = cache.rrsig(&key(), &set, 10_000, &validity).unwrap().to_vec();
        // Same records in another order, owner in another case: the same entry.
        let shuffled: [&[u8]; 2] = [&[192, 0, 2, 2], &[192, 0, 2, 1]];
        let upper = Name::from_str("WWW.example.com.").unwrap();
        let again = RrSet { owner: &upper, rdata: &shuffled, ..set };
        assert_eq!(cache.rrsig(&key(), &again, 10_499, &validity).unwrap(), first.as_slice());
        assert_eq!(cache.counts(), (1, 1));
        // Half the validity gone: a new signature with a new window.
        let renewed = cache.rrsig(&key(), &set, 10_500, &validity).unwrap().to_vec();
        assert_ne!(renewed, first);
        assert_eq!(cache.counts(), (1, 2));
        assert_eq!(cache.len(), 1);
        // Another TTL is another set.
        cache.rrsig(&key(), &RrSet { ttl: 60, ..set }, 10_500, &validity).unwrap();
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_cache_stays_within_its_limits() {
        let validity = Validity::default();
        let mut cache = SignatureCache::new(CacheLimits { entries: 10, bytes: 1 << 20 }, 0);
        let names: Vec<Name> = (0..50).map(|i| Name::from_str(&format!("h{i}.example.com.")).unwrap()).collect();
        let rdata: [&[u8]; 1] = [&[192, 0, 2, 1]];
        for name in &names {
            let set = RrSet { owner: name, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &rdata };
            cache.rrsig(&key(), &set, 0, &validity).unwrap();
            assert!(cache.len() <= 10);
        }
        let per_entry = cache.bytes() / cache.len();
        let mut small = SignatureCache::new(CacheLimits { entries: 1000, bytes: per_entry * 3 }, 0);
        for name in &names {
            let set = RrSet { owner: name, record_type: RecordType::A, class: DNSClass::IN, ttl: 300, rdata: &rdata };
            small.rrsig(&key(), &set, 0, &validity).unwrap();
            assert!(small.bytes() <= per_entry * 3);
        }
        assert_eq!(small.len(), 3);
    }
}
