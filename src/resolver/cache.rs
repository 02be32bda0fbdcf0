//! What a forwarded answer is cached for, and the in-isolate cache in front of the Workers
//! Cache API. Positive answers live for their smallest Answer TTL; negative ones (NXDOMAIN,
//! NODATA) for min(SOA TTL, SOA MINIMUM) from the Authority section (RFC 2308 §5), and not at
//! all without a SOA (RFC 2308 §5: "SHOULD NOT be cached"); both within the configured
//! minimum and maximum. Entries are kept past expiry for the stale window, to be served only
//! when every upstream fails (RFC 8767).

use std::collections::{HashMap, VecDeque};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};

use super::forward::Upstreamed;
use super::ResolverConfig;

/// Bytes of answers an isolate's cache holds at most, estimated by [`footprint`] (the oldest
/// go first): some 10,000 answers of a few records each.
pub const DEFAULT_CAPACITY_BYTES: usize = 8 * 1024 * 1024;

/// Bookkeeping per cached answer besides its key and records: the map's and the queue's
/// slots, the entry, the `Rc` the Worker keeps it behind.
const ENTRY_OVERHEAD: usize = 128;

/// What caching `answer` under `key` costs an isolate, estimated from what it is made of: the
/// key (held twice: the map and the eviction queue), the encoded answer it was decoded from
/// (`encoded` bytes: the names and data the records own), and the records' and the entry's
/// fixed sizes.
pub fn footprint(key: &str, answer: &Upstreamed, encoded: usize) -> usize {
    let records = answer.answers.len() + answer.authority.len() + answer.additional.len();
    2 * key.len() + encoded + records * std::mem::size_of::<hickory_proto::rr::Record>() + std::mem::size_of::<Upstreamed>() + ENTRY_OVERHEAD
}

/// How long an answer may be cached, in seconds; `None`: not at all.
pub fn cache_ttl(answer: &Upstreamed, config: &ResolverConfig) -> Option<u32> {
    let ttl = match answer.rcode {
        ResponseCode::NoError if !answer.answers.is_empty() => answer.answers.iter().map(|record| record.ttl).min(),
        ResponseCode::NoError | ResponseCode::NXDomain => answer.authority.iter().find_map(|record| match &record.data {
            RData::SOA(soa) if record.record_type() == RecordType::SOA => Some(record.ttl.min(soa.minimum)),
            _ => None,
        }),
        _ => None,
    }?;
    (config.max_ttl > 0).then(|| config.ttl_bounds().apply(ttl))
}

/// A cached answer as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    /// Within its TTL; this many seconds old.
    Fresh(T, u32),
    /// Past its TTL but within the stale window.
    Stale(T),
}

/// Where an answer stands `age_ms` after it was stored with `ttl_s`, given the stale window.
pub fn freshness(age_ms: u64, ttl_s: u32, stale_s: u32) -> Option<Found<()>> {
    let age_s = u32::try_from(age_ms / 1000).unwrap_or(u32::MAX);
    if age_ms < u64::from(ttl_s) * 1000 {
        Some(Found::Fresh((), age_s))
    } else if age_s < ttl_s.saturating_add(stale_s) {
        Some(Found::Stale(()))
    } else {
        None
    }
}

struct Entry<T> {
    value: T,
    stored_at_ms: u64,
    ttl_s: u32,
    /// Its estimated size ([`footprint`]).
    bytes: usize,
    /// When it was inserted, in inserts: tells its place in `order` from a stale one.
    sequence: u64,
}

/// A map of answers by cache key bounded in bytes, oldest evicted first. Generic over what is
/// kept (the Worker keeps checked upstream answers behind `Rc`); each entry is weighed when
/// inserted ([`footprint`] for upstream answers).
pub struct AnswerCache<T> {
    entries: HashMap<String, Entry<T>>,
    /// Keys in insertion order, with the sequence number they were inserted under; a key
    /// whose entry was dropped or inserted again since lingers until it reaches the front.
    order: VecDeque<(String, u64)>,
    /// The estimated bytes held.
    bytes: usize,
    capacity_bytes: usize,
    inserted: u64,
}

impl<T: Clone> AnswerCache<T> {
    /// An empty cache holding at most `capacity_bytes` (estimated) of entries.
    pub fn new(capacity_bytes: usize) -> Self {
        Self { entries: HashMap::new(), order: VecDeque::new(), bytes: 0, capacity_bytes, inserted: 0 }
    }

    /// The entry for `key` at `now_ms`: fresh, stale, or gone (dropped when past the window).
    pub fn get(&mut self, key: &str, now_ms: u64, stale_s: u32) -> Option<Found<T>> {
        let entry = self.entries.get(key)?;
        match freshness(now_ms.saturating_sub(entry.stored_at_ms), entry.ttl_s, stale_s) {
            Some(Found::Fresh((), age)) => Some(Found::Fresh(entry.value.clone(), age)),
            Some(Found::Stale(())) => Some(Found::Stale(entry.value.clone())),
            None => {
                self.remove(key);
                None
            }
        }
    }

    /// Stores an answer of `bytes` (estimated) for `ttl_s` seconds from `now_ms`, letting the
    /// oldest entries go until it fits. One larger than the whole cache is not stored (and
    /// replaces nothing: an older copy of it goes).
    pub fn insert(&mut self, key: String, value: T, bytes: usize, ttl_s: u32, now_ms: u64) {
        self.remove(&key);
        if bytes > self.capacity_bytes {
            return;
        }
        while self.bytes + bytes > self.capacity_bytes {
            let Some((oldest, sequence)) = self.order.pop_front() else { break };
            if self.entries.get(&oldest).is_some_and(|entry| entry.sequence == sequence) {
                self.remove(&oldest);
            }
        }
        self.inserted += 1;
        self.order.push_back((key.clone(), self.inserted));
        self.bytes += bytes;
        self.entries.insert(key, Entry { value, stored_at_ms: now_ms, ttl_s, bytes, sequence: self.inserted });
        // Keys dropped by `get` or inserted again linger in `order`; keep it from growing
        // without bound.
        if self.order.len() > self.entries.len().saturating_mul(2).max(64) {
            let entries = &self.entries;
            self.order.retain(|(key, sequence)| entries.get(key).is_some_and(|entry| entry.sequence == *sequence));
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.bytes;
        }
    }

    /// How many answers are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, Record};

    use super::*;

    fn config(min_ttl: u32, max_ttl: u32) -> ResolverConfig {
        let mut config = ResolverConfig::from_vars(|name| (name == "UPSTREAMS").then(|| "https://dns.example/q".to_owned())).unwrap().unwrap();
        config.min_ttl = min_ttl;
        config.max_ttl = max_ttl;
        config
    }

    fn answer(rcode: ResponseCode, ttls: &[u32], soa: Option<(u32, u32)>) -> Upstreamed {
        let name = Name::from_str("a.example.").unwrap();
        Upstreamed {
            rcode,
            answers: ttls.iter().map(|ttl| Record::from_rdata(name.clone(), *ttl, RData::A(A::new(192, 0, 2, 1)))).collect(),
            authority: soa
                .map(|(ttl, minimum)| {
                    let data = SOA::new(Name::from_str("example.").unwrap(), Name::from_str("h.example.").unwrap(), 1, 7200, 900, 86400, minimum);
                    Record::from_rdata(Name::from_str("example.").unwrap(), ttl, RData::SOA(data))
                })
                .into_iter()
                .collect(),
            additional: Vec::new(),
            authentic_data: false,
            scope: 0,
        }
    }

    #[test]
    fn ttls_positive_negative_and_clamped() {
        assert_eq!(cache_ttl(&answer(ResponseCode::NoError, &[300, 60, 900], None), &config(0, 86_400)), Some(60));
        assert_eq!(cache_ttl(&answer(ResponseCode::NXDomain, &[], Some((3600, 120))), &config(0, 86_400)), Some(120), "min(SOA TTL, MINIMUM)");
        assert_eq!(cache_ttl(&answer(ResponseCode::NoError, &[], Some((30, 900))), &config(0, 86_400)), Some(30), "NODATA");
        assert_eq!(cache_ttl(&answer(ResponseCode::NXDomain, &[], None), &config(0, 86_400)), None, "no SOA: not cached");
        assert_eq!(cache_ttl(&answer(ResponseCode::NoError, &[5], None), &config(60, 3600)), Some(60), "minimum");
        assert_eq!(cache_ttl(&answer(ResponseCode::NoError, &[604_800], None), &config(0, 3600)), Some(3600), "maximum");
        assert_eq!(cache_ttl(&answer(ResponseCode::NoError, &[300], None), &config(0, 0)), None, "caching off");
    }

    #[test]
    fn entries_age_go_stale_and_expire() {
        let mut cache = AnswerCache::new(1_000);
        cache.insert("k".into(), 7, 100, 60, 1_000);
        assert_eq!(cache.get("k", 1_000, 100), Some(Found::Fresh(7, 0)));
        assert_eq!(cache.get("k", 31_500, 100), Some(Found::Fresh(7, 30)));
        assert_eq!(cache.get("k", 61_000, 100), Some(Found::Stale(7)), "past the TTL: stale");
        assert_eq!(cache.get("k", 1_000 + 159_000, 100), Some(Found::Stale(7)));
        assert_eq!(cache.get("k", 1_000 + 160_000, 100), None, "past the stale window: gone");
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0, "its bytes went with it");
        assert_eq!(cache.get("other", 0, 100), None);
    }

    #[test]
    fn oldest_entries_go_first_when_the_bytes_are_spent() {
        let mut cache = AnswerCache::new(300);
        for (n, key) in ["a", "b", "c", "d"].iter().enumerate() {
            cache.insert((*key).to_owned(), n, 100, 60, 0);
        }
        assert_eq!((cache.len(), cache.bytes()), (3, 300));
        assert_eq!(cache.get("a", 0, 0), None);
        assert_eq!(cache.get("d", 0, 0), Some(Found::Fresh(3, 0)));
        cache.insert("b".into(), 9, 100, 60, 0);
        assert_eq!((cache.len(), cache.bytes()), (3, 300), "replacing does not grow it");
        // A large answer makes room for itself: the two oldest go ("c", then "d"; "b" was
        // inserted again after them).
        cache.insert("big".into(), 10, 200, 60, 0);
        assert_eq!(cache.get("c", 0, 0), None);
        assert_eq!(cache.get("d", 0, 0), None);
        assert_eq!(cache.get("b", 0, 0), Some(Found::Fresh(9, 0)));
        assert_eq!((cache.len(), cache.bytes()), (2, 300));
        // One larger than the whole cache is not kept, and its older copy goes.
        cache.insert("b".into(), 11, 301, 60, 0);
        assert_eq!(cache.get("b", 0, 0), None);
        assert_eq!((cache.len(), cache.bytes()), (1, 200));
        for n in 0..1_000 {
            cache.insert(format!("k{n}"), n, 1 + n % 150, 60, 0);
            assert!(cache.bytes() <= 300);
        }
        assert!(cache.order.len() <= 64.max(2 * cache.len()));
    }

    #[test]
    fn an_entry_dropped_and_inserted_again_is_not_evicted_by_its_old_place() {
        let mut cache = AnswerCache::new(200);
        cache.insert("a".into(), 1, 100, 1, 0);
        cache.insert("b".into(), 2, 100, 60, 0);
        assert_eq!(cache.get("a", 5_000, 0), None, "expired and dropped");
        cache.insert("a".into(), 3, 100, 60, 5_000);
        // Full: the oldest is now "b", not the new "a" (whose first place lingers in the queue).
        cache.insert("c".into(), 4, 100, 60, 5_000);
        assert_eq!(cache.get("a", 5_000, 0), Some(Found::Fresh(3, 0)));
        assert_eq!(cache.get("b", 5_000, 0), None);
    }

    #[test]
    fn footprints_grow_with_key_records_and_bytes() {
        let one = answer(ResponseCode::NoError, &[300], None);
        let three = answer(ResponseCode::NoError, &[300, 300, 300], None);
        let key = "a.example.|1|1|0|0";
        assert!(footprint(key, &three, 80) > footprint(key, &one, 48));
        assert_eq!(footprint(key, &one, 1_048), footprint(key, &one, 48) + 1_000);
        assert_eq!(footprint("x", &one, 48) + 2, footprint("xy", &one, 48));
        // The default holds some 10,000 typical answers (a few records, ~100 bytes encoded).
        let typical = footprint("www.example.com.|1|1|0|0", &three, 120);
        assert!((5_000..20_000).contains(&(DEFAULT_CAPACITY_BYTES / typical)), "{typical} bytes an answer");
    }
}
