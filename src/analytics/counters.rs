//! The isolate's own rolling counters: what `GET /admin/traffic` answers when Analytics
//! Engine is not configured (and in local development, which drops its writes).
//!
//! Sixty per-minute buckets in a ring, each holding totals and small tallies by zone,
//! RCODE, question type, policy leaf, country, edge location and name. Every tally has a
//! fixed capacity, so memory stays bounded whatever arrives: a dimension with few values
//! (RCODEs, countries) gathers what does not fit under `(other)`; names, which a flood of
//! random labels would make unbounded, are kept by the Space-Saving algorithm (Metwally,
//! Agrawal, El Abbadi 2005): a new name replaces the least counted one and inherits its
//! count, so a name asked more than 1/capacity of a minute's queries is always listed, and
//! counts err only upwards, by at most the smallest count kept.

use std::collections::HashMap;

use super::report::{self, Count, Series, Source, Timeline, Totals, Traffic, MINUTE_MS};
use super::{rcode_name, Answered};

/// The minutes kept.
pub const MINUTES: usize = 60;
/// Capacities of a minute's tallies.
const ZONES: usize = 32;
const RCODES: usize = 16;
const RECORD_TYPES: usize = 16;
const POLICIES: usize = 32;
const COUNTRIES: usize = 48;
const COLOS: usize = 48;
/// The names a minute keeps (Space-Saving).
pub const NAMES: usize = 32;
/// What a tally with fixed values counts past its capacity under.
pub const OTHER: &str = "(other)";
/// The key of an unknown country or edge location, and of a name in no hosted zone.
pub const UNKNOWN: &str = "(unknown)";
/// The zone key of a name no hosted zone holds.
pub const NO_ZONE: &str = super::point::NO_ZONE;

/// What a full tally does with a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Full {
    /// Counts it under [`OTHER`] (the last slot is kept for it).
    Other,
    /// Replaces the least counted key (Space-Saving).
    Evict,
}

/// Counts by key, at most `capacity` keys.
#[derive(Debug, Clone)]
struct Tally {
    entries: Vec<(String, u64)>,
    capacity: usize,
    full: Full,
}

impl Tally {
    fn new(capacity: usize, full: Full) -> Self {
        Self { entries: Vec::new(), capacity, full }
    }

    fn add(&mut self, key: &str, weight: u64) {
        if let Some((_, count)) = self.entries.iter_mut().find(|(known, _)| known == key) {
            *count += weight;
            return;
        }
        match self.full {
            Full::Other if self.entries.len() + 1 < self.capacity => self.entries.push((key.to_owned(), weight)),
            Full::Other => self.add_other(weight),
            Full::Evict if self.entries.len() < self.capacity => self.entries.push((key.to_owned(), weight)),
            Full::Evict => {
                if let Some((known, count)) = self.entries.iter_mut().min_by_key(|(_, count)| *count) {
                    // The slot's text is reused: no allocation once names are this long.
                    known.clear();
                    known.push_str(key);
                    *count += weight;
                }
            }
        }
    }

    fn add_other(&mut self, weight: u64) {
        match self.entries.iter_mut().find(|(known, _)| known == OTHER) {
            Some((_, count)) => *count += weight,
            None => self.entries.push((OTHER.to_owned(), weight)),
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
    }

    fn count(&self, key: &str) -> u64 {
        self.entries.iter().find(|(known, _)| known == key).map_or(0, |(_, count)| *count)
    }

    fn merge_into(&self, into: &mut HashMap<String, u64>) {
        for (key, count) in &self.entries {
            *into.entry(key.clone()).or_default() += count;
        }
    }
}

/// One minute's counts.
#[derive(Debug, Clone)]
struct Bucket {
    /// The minute (ms since the epoch / 60,000) counted; `None` before the first query.
    minute: Option<u64>,
    totals: Totals,
    zones: Tally,
    rcodes: Tally,
    record_types: Tally,
    policies: Tally,
    countries: Tally,
    colos: Tally,
    names: Tally,
}

impl Bucket {
    fn new() -> Self {
        Self {
            minute: None,
            totals: Totals::default(),
            zones: Tally::new(ZONES, Full::Other),
            rcodes: Tally::new(RCODES, Full::Other),
            record_types: Tally::new(RECORD_TYPES, Full::Other),
            policies: Tally::new(POLICIES, Full::Other),
            countries: Tally::new(COUNTRIES, Full::Other),
            colos: Tally::new(COLOS, Full::Other),
            names: Tally::new(NAMES, Full::Evict),
        }
    }

    fn restart(&mut self, minute: u64) {
        self.minute = Some(minute);
        self.totals = Totals::default();
        for tally in self.tallies_mut() {
            tally.clear();
        }
    }

    fn tallies_mut(&mut self) -> [&mut Tally; 7] {
        [&mut self.zones, &mut self.rcodes, &mut self.record_types, &mut self.policies, &mut self.countries, &mut self.colos, &mut self.names]
    }
}

/// The isolate's rolling counters over the last hour.
#[derive(Debug, Clone)]
pub struct Counters {
    buckets: Vec<Bucket>,
    /// How many queries a counted one stands for (1 / the sampling rate, rounded).
    weight: u64,
    sample_rate: f64,
}

impl Counters {
    /// Counters for queries sampled at `sample_rate` (each counted one stands for
    /// 1 / rate; made only when the rate is above 0).
    pub fn new(sample_rate: f64) -> Self {
        let weight = if sample_rate > 0.0 { (1.0 / sample_rate).round().max(1.0) as u64 } else { 1 };
        Self { buckets: Vec::new(), weight, sample_rate }
    }

    /// Counts a sampled answered query at `now_ms`.
    pub fn record(&mut self, answered: &Answered<'_>, now_ms: u64) {
        let minute = now_ms / MINUTE_MS;
        if self.buckets.is_empty() {
            self.buckets = (0..MINUTES).map(|_| Bucket::new()).collect();
        }
        let slot = (minute % MINUTES as u64) as usize;
        let Some(bucket) = self.buckets.get_mut(slot) else { return };
        if bucket.minute != Some(minute) {
            bucket.restart(minute);
        }
        let weight = self.weight;
        bucket.totals.queries += weight;
        if answered.blocked {
            bucket.totals.blocked += weight;
        }
        if let Some(cache) = answered.cache {
            bucket.totals.forwarded += weight;
            if cache.is_hit() {
                bucket.totals.cache_hits += weight;
            }
        }
        bucket.zones.add(answered.zone.unwrap_or(NO_ZONE), weight);
        bucket.rcodes.add(&rcode_name(answered.rcode), weight);
        bucket.record_types.add(answered.record_type, weight);
        if let Some(policy) = answered.policy {
            bucket.policies.add(policy, weight);
        }
        bucket.countries.add(answered.country.unwrap_or(UNKNOWN), weight);
        bucket.colos.add(answered.colo.unwrap_or(UNKNOWN), weight);
        bucket.names.add(answered.name, weight);
    }

    /// The keys held, over every minute (what bounds the counters' memory).
    pub fn keys_held(&self) -> usize {
        self.buckets
            .iter()
            .map(|bucket| {
                [&bucket.zones, &bucket.rcodes, &bucket.record_types, &bucket.policies, &bucket.countries, &bucket.colos, &bucket.names]
                    .iter()
                    .map(|tally| tally.entries.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// The aggregates over the `minutes` (1 to 60) up to and including the minute of `now_ms`.
    pub fn report(&self, now_ms: u64, minutes: u32) -> Traffic {
        let minutes = report::window(Some(minutes));
        let start_ms = report::window_start(now_ms, minutes);
        let first = start_ms / MINUTE_MS;
        let current = now_ms / MINUTE_MS;
        let in_window: Vec<&Bucket> = self.buckets.iter().filter(|bucket| bucket.minute.is_some_and(|minute| minute >= first && minute <= current)).collect();
        let mut totals = Totals::default();
        let mut merged: [HashMap<String, u64>; 7] = Default::default();
        for bucket in &in_window {
            totals.queries += bucket.totals.queries;
            totals.blocked += bucket.totals.blocked;
            totals.forwarded += bucket.totals.forwarded;
            totals.cache_hits += bucket.totals.cache_hits;
            let tallies = [&bucket.zones, &bucket.rcodes, &bucket.record_types, &bucket.policies, &bucket.countries, &bucket.colos, &bucket.names];
            for (tally, into) in tallies.iter().zip(merged.iter_mut()) {
                tally.merge_into(into);
            }
        }
        let [zones, rcodes, record_types, policies, countries, colos, names] = merged.map(report::top);
        let points = (current - first + 1) as usize;
        let mut timeline = Timeline { start_ms, step_ms: MINUTE_MS, total: vec![0; points], zones: Vec::new() };
        let busiest: Vec<&Count> = zones.iter().take(report::TIMELINE_ZONES).collect();
        let mut series: Vec<Series> = busiest.iter().map(|zone| Series { key: zone.key.clone(), counts: vec![0; points] }).collect();
        for bucket in &in_window {
            let Some(at) = bucket.minute.map(|minute| (minute - first) as usize) else { continue };
            if let Some(total) = timeline.total.get_mut(at) {
                *total = bucket.totals.queries;
            }
            for line in &mut series {
                if let Some(count) = line.counts.get_mut(at) {
                    *count = bucket.zones.count(&line.key);
                }
            }
        }
        timeline.zones = series;
        Traffic {
            source: Source::Isolate,
            minutes,
            sample_rate: self.sample_rate,
            totals: totals.with_rate(),
            timeline,
            zones,
            rcodes,
            record_types,
            policies,
            countries,
            colos,
            names,
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::CacheOutcome;

    const T0: u64 = 1_800_000_000_000; // a minute's start

    fn query<'a>(name: &'a str, zone: Option<&'a str>) -> Answered<'a> {
        Answered { zone, name, record_type: "A", country: Some("DE"), colo: Some("FRA"), ..Answered::default() }
    }

    #[test]
    fn queries_are_counted_by_every_dimension_within_the_window() {
        let mut counters = Counters::new(1.0);
        let routed = Answered { policy: Some("europe"), ..query("geo.example.com.", Some("example.com.")) };
        for _ in 0..3 {
            counters.record(&routed, T0);
        }
        counters.record(&Answered { rcode: 3, country: None, colo: Some("DFW"), ..query("nope.example.com.", Some("example.com.")) }, T0 + MINUTE_MS);
        counters.record(&Answered { cache: Some(CacheOutcome::Miss), ..query("one.one.one.one.", None) }, T0 + 2 * MINUTE_MS);
        counters.record(&Answered { cache: Some(CacheOutcome::Isolate), blocked: true, ..query("ads.example.", None) }, T0 + 2 * MINUTE_MS + 5);

        let report = counters.report(T0 + 2 * MINUTE_MS + 10, 60);
        assert_eq!(report.source, Source::Isolate);
        assert_eq!(report.totals, Totals { queries: 6, blocked: 1, forwarded: 2, cache_hits: 1, cache_hit_rate: Some(0.5) });
        assert_eq!(report.zones, [Count { key: "example.com.".into(), queries: 4 }, Count { key: NO_ZONE.into(), queries: 2 }]);
        assert_eq!(report.rcodes, [Count { key: "NOERROR".into(), queries: 5 }, Count { key: "NXDOMAIN".into(), queries: 1 }]);
        assert_eq!(report.policies, [Count { key: "europe".into(), queries: 3 }]);
        assert_eq!(report.countries, [Count { key: "DE".into(), queries: 5 }, Count { key: UNKNOWN.into(), queries: 1 }]);
        assert_eq!(report.colos[0], Count { key: "FRA".into(), queries: 5 });
        assert_eq!(report.names[0], Count { key: "geo.example.com.".into(), queries: 3 });
        assert_eq!(report.timeline.total.len(), 60);
        assert_eq!(report.timeline.start_ms, T0 + 2 * MINUTE_MS - 59 * MINUTE_MS);
        assert_eq!(&report.timeline.total[57..], [3, 1, 2]);
        assert_eq!(report.timeline.zones[0].key, "example.com.");
        assert_eq!(&report.timeline.zones[0].counts[57..], [3, 1, 0]);

        // The last two minutes only; then, an hour on, nothing is left.
        let recent = counters.report(T0 + 2 * MINUTE_MS, 2);
        assert_eq!(recent.totals.queries, 3);
        assert_eq!(recent.timeline.total, [1, 2]);
        assert_eq!(counters.report(T0 + 62 * MINUTE_MS, 60).totals.queries, 0);
    }

    #[test]
    fn a_minute_an_hour_later_replaces_the_old_one_in_its_slot() {
        let mut counters = Counters::new(1.0);
        counters.record(&query("old.example.", None), T0);
        counters.record(&query("new.example.", None), T0 + 60 * MINUTE_MS);
        let report = counters.report(T0 + 60 * MINUTE_MS, 60);
        assert_eq!(report.totals.queries, 1);
        assert_eq!(report.names, [Count { key: "new.example.".into(), queries: 1 }]);
    }

    #[test]
    fn sampled_queries_stand_for_the_inverse_of_the_rate() {
        let mut counters = Counters::new(0.1);
        counters.record(&query("a.example.", None), T0);
        let report = counters.report(T0, 1);
        assert_eq!(report.totals.queries, 10);
        assert_eq!(report.sample_rate, 0.1);
    }

    #[test]
    fn a_flood_of_random_names_keeps_memory_bounded_and_the_heavy_hitter_listed() {
        let mut counters = Counters::new(1.0);
        let mut random = crate::policy::SplitMix::new(1);
        let mut now = T0;
        for i in 0..200_000u64 {
            let name = format!("{:016x}.flood.example.", random.next_u64());
            let country = format!("C{}", i % 500);
            let answered = Answered { country: Some(&country), colo: Some(&country), policy: Some(&country), ..query(&name, Some(&name)) };
            counters.record(&answered, now);
            if i % 10 == 0 {
                counters.record(&query("popular.example.", Some("example.")), now);
            }
            now += 20; // 200,000 queries over 66 minutes
        }
        let bound = MINUTES * (ZONES + RCODES + RECORD_TYPES + POLICIES + COUNTRIES + COLOS + NAMES);
        assert!(counters.keys_held() <= bound, "{} keys held", counters.keys_held());
        let report = counters.report(now, 60);
        assert_eq!(report.names[0].key, "popular.example.");
        assert!(report.names[0].queries >= 17_000, "{:?}", report.names[0]);
        assert_eq!(report.zones.iter().find(|zone| zone.key == OTHER).map(|zone| zone.queries > 100_000), Some(true));
        assert!(report.countries.iter().any(|country| country.key == OTHER));
        assert_eq!(report.names.len(), report::TOP);
    }

    #[test]
    fn space_saving_replaces_the_least_counted_name_reusing_its_text() {
        let mut tally = Tally::new(2, Full::Evict);
        tally.add("a", 5);
        tally.add("b", 1);
        tally.add("c", 1);
        assert_eq!(tally.entries, [("a".to_owned(), 5), ("c".to_owned(), 2)]);
        let mut fixed = Tally::new(2, Full::Other);
        for key in ["x", "y", "z", "x"] {
            fixed.add(key, 1);
        }
        assert_eq!(fixed.entries, [("x".to_owned(), 2), (OTHER.to_owned(), 2)]);
    }
}
