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

/// Entries an isolate keeps at most (the oldest go first).
pub const DEFAULT_CAPACITY: usize = 10_000;

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
    (config.max_ttl > 0).then(|| ttl.clamp(config.min_ttl, config.max_ttl))
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
}

/// A bounded map of answers by cache key, oldest evicted first. Generic over what is kept
/// (the Worker keeps checked upstream answers behind `Rc`).
pub struct AnswerCache<T> {
    entries: HashMap<String, Entry<T>>,
    order: VecDeque<String>,
    capacity: usize,
}

impl<T: Clone> AnswerCache<T> {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self { entries: HashMap::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    /// The entry for `key` at `now_ms`: fresh, stale, or gone (dropped when past the window).
    pub fn get(&mut self, key: &str, now_ms: u64, stale_s: u32) -> Option<Found<T>> {
        let entry = self.entries.get(key)?;
        match freshness(now_ms.saturating_sub(entry.stored_at_ms), entry.ttl_s, stale_s) {
            Some(Found::Fresh((), age)) => Some(Found::Fresh(entry.value.clone(), age)),
            Some(Found::Stale(())) => Some(Found::Stale(entry.value.clone())),
            None => {
                self.entries.remove(key);
                None
            }
        }
    }

    /// Stores an answer for `ttl_s` seconds from `now_ms`.
    pub fn insert(&mut self, key: String, value: T, ttl_s: u32, now_ms: u64) {
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= self.capacity {
                let Some(oldest) = self.order.pop_front() else { break };
                self.entries.remove(&oldest);
            }
            self.order.push_back(key.clone());
        }
        self.entries.insert(key, Entry { value, stored_at_ms: now_ms, ttl_s });
        // Keys dropped by `get` may linger in `order`; keep it from growing without bound.
        if self.order.len() > self.capacity.saturating_mul(2) {
            let entries = &self.entries;
            self.order.retain(|key| entries.contains_key(key));
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
        let mut cache = AnswerCache::new(10);
        cache.insert("k".into(), 7, 60, 1_000);
        assert_eq!(cache.get("k", 1_000, 100), Some(Found::Fresh(7, 0)));
        assert_eq!(cache.get("k", 31_500, 100), Some(Found::Fresh(7, 30)));
        assert_eq!(cache.get("k", 61_000, 100), Some(Found::Stale(7)), "past the TTL: stale");
        assert_eq!(cache.get("k", 1_000 + 159_000, 100), Some(Found::Stale(7)));
        assert_eq!(cache.get("k", 1_000 + 160_000, 100), None, "past the stale window: gone");
        assert!(cache.is_empty());
        assert_eq!(cache.get("other", 0, 100), None);
    }

    #[test]
    fn oldest_entries_go_first_when_full() {
        let mut cache = AnswerCache::new(3);
        for (n, key) in ["a", "b", "c", "d"].iter().enumerate() {
            cache.insert((*key).to_owned(), n, 60, 0);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("a", 0, 0), None);
        assert_eq!(cache.get("d", 0, 0), Some(Found::Fresh(3, 0)));
        cache.insert("b".into(), 9, 60, 0);
        assert_eq!(cache.len(), 3, "replacing does not grow it");
        for n in 0..100 {
            cache.insert(format!("k{n}"), n, 60, 0);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.order.len() <= 6);
    }
}
