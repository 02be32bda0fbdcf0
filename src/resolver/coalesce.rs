//! One lookup for identical forwarded questions in flight (single flight), with no I/O.
//!
//! When a question misses the isolate's cache, the first query to ask it ([`Role::Lead`])
//! looks it up (the edge cache, then the upstreams); queries with the same cache key
//! ([`super::forward::cache_key`]) arriving meanwhile ([`Role::Follow`]) ask no one: they watch
//! the flight ([`Flights::watch`]) until the leader hands its outcome over ([`Flights::land`])
//! and answer from it, each under its own ID, question case and TTL count-down. The outcome
//! is whatever the Worker shares (a checked answer, or the failures): plain data, never a
//! platform object, since each query answers in its own request.
//!
//! Rules:
//! * **Abandoned by age.** A flight not landed by its deadline ([`abandon_after_ms`]: every
//!   upstream's timeout in turn, plus a margin) counts as abandoned (a dropped request, a hung
//!   fetch): its followers stop watching, and the next query that asks becomes a new leader,
//!   so a key cannot stay stuck. A leader that goes away says so ([`Flights::abandon`]) and its
//!   followers stop at once.
//! * **Bounded.** At most `capacity` keys are in flight; past that, a question is asked on
//!   its own ([`Role::Alone`]). A landed outcome is kept until each follower has taken it, or
//!   for [`LINGER_MS`] at most (a follower that went away never takes it).
//!
//! Time comes in as an argument (ms); the tests drive a virtual clock.

use std::collections::HashMap;

use super::ResolverConfig;

/// Keys an isolate keeps in flight at most (and landed outcomes waiting for followers).
pub const DEFAULT_CAPACITY: usize = 1_024;
/// Added to the upstreams' timeouts before a flight counts as abandoned: the edge cache read
/// before them, and the time to hand the outcome over.
pub const MARGIN_MS: u64 = 1_000;
/// How long a landed outcome waits for followers that have not taken it yet.
pub const LINGER_MS: u64 = 2_000;

/// How long a lookup asking `upstreams` may be in flight before it counts as abandoned: each
/// upstream asked in turn, each failing at its timeout (hedging only starts them sooner), plus
/// [`MARGIN_MS`].
pub fn abandon_after_ms(config: &ResolverConfig, upstreams: usize) -> u64 {
    let upstreams = u64::try_from(upstreams.max(1)).unwrap_or(u64::MAX);
    u64::from(config.timeout_ms).saturating_mul(upstreams).saturating_add(MARGIN_MS)
}

/// A flight, told apart from earlier and later flights for the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlightId(u64);

/// What a query does about a question that missed the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Look it up, then [`Flights::land`] the outcome (or [`Flights::abandon`] the flight).
    Lead(FlightId),
    /// Another query is looking it up: [`Flights::watch`] this flight.
    Follow(FlightId),
    /// Look it up alone (the table is full): nothing to land.
    Alone,
}

/// Where a followed flight stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch<T> {
    /// Still in flight, within its deadline: look again later.
    InFlight,
    /// The leader's outcome.
    Landed(T),
    /// Abandoned (past its deadline, or the leader went away) or its outcome no longer kept:
    /// ask again ([`Flights::begin`]).
    Lost,
}

struct Flight {
    id: FlightId,
    deadline: u64,
    followers: usize,
}

struct Landed<T> {
    outcome: T,
    at: u64,
    /// Followers that have not taken it yet.
    waiting: usize,
}

/// The lookups in flight in an isolate, by cache key, and the outcomes waiting for their
/// followers.
pub struct Flights<T> {
    in_flight: HashMap<String, Flight>,
    landed: HashMap<FlightId, Landed<T>>,
    capacity: usize,
    next: u64,
}

impl<T: Clone> Flights<T> {
    /// An empty table keeping at most `capacity` keys in flight.
    pub fn new(capacity: usize) -> Self {
        Self { in_flight: HashMap::new(), landed: HashMap::new(), capacity, next: 0 }
    }

    /// A query needs `key` looked up at `now`: it leads a new flight (none in flight, or the
    /// one in flight is past its deadline), follows the one in flight, or goes alone when the
    /// table is full. A new flight is abandoned `abandon_after_ms` after it starts.
    pub fn begin(&mut self, key: &str, now: u64, abandon_after_ms: u64) -> Role {
        self.forget_lingering(now);
        if let Some(flight) = self.in_flight.get_mut(key) {
            if now < flight.deadline {
                flight.followers += 1;
                return Role::Follow(flight.id);
            }
            self.in_flight.remove(key);
        }
        if self.in_flight.len() >= self.capacity {
            self.in_flight.retain(|_, flight| now < flight.deadline);
            if self.in_flight.len() >= self.capacity {
                return Role::Alone;
            }
        }
        self.next += 1;
        let id = FlightId(self.next);
        self.in_flight.insert(key.to_owned(), Flight { id, deadline: now.saturating_add(abandon_after_ms), followers: 0 });
        Role::Lead(id)
    }

    /// The leader of `flight` hands its outcome over at `now`: kept for the followers, if it
    /// has any. A flight no longer in flight (abandoned by age and led again since) lands
    /// nowhere.
    pub fn land(&mut self, key: &str, flight: FlightId, outcome: T, now: u64) {
        self.forget_lingering(now);
        let followers = match self.in_flight.get(key) {
            Some(current) if current.id == flight => current.followers,
            _ => return,
        };
        self.in_flight.remove(key);
        if followers > 0 && self.landed.len() < self.capacity {
            self.landed.insert(flight, Landed { outcome, at: now, waiting: followers });
        }
    }

    /// The leader of `flight` went away without an outcome: its followers stop watching.
    pub fn abandon(&mut self, key: &str, flight: FlightId) {
        if self.in_flight.get(key).is_some_and(|current| current.id == flight) {
            self.in_flight.remove(key);
        }
    }

    /// A follower looks at `flight` (for `key`) at `now`; it takes the outcome once landed.
    pub fn watch(&mut self, key: &str, flight: FlightId, now: u64) -> Watch<T> {
        if let Some(landed) = self.landed.get_mut(&flight) {
            landed.waiting = landed.waiting.saturating_sub(1);
            let outcome = if landed.waiting == 0 { self.landed.remove(&flight).map(|landed| landed.outcome) } else { Some(landed.outcome.clone()) };
            return outcome.map_or(Watch::Lost, Watch::Landed);
        }
        match self.in_flight.get(key) {
            Some(current) if current.id == flight && now < current.deadline => Watch::InFlight,
            _ => Watch::Lost,
        }
    }

    /// How many keys are in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// How many landed outcomes wait for followers.
    pub fn landed(&self) -> usize {
        self.landed.len()
    }

    fn forget_lingering(&mut self, now: u64) {
        if !self.landed.is_empty() {
            self.landed.retain(|_, landed| now < landed.at.saturating_add(LINGER_MS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABANDON: u64 = 5_000;

    fn lead(flights: &mut Flights<&'static str>, key: &str, now: u64) -> FlightId {
        match flights.begin(key, now, ABANDON) {
            Role::Lead(id) => id,
            other => panic!("{key} at {now}: {other:?}, expected to lead"),
        }
    }

    fn follow(flights: &mut Flights<&'static str>, key: &str, now: u64) -> FlightId {
        match flights.begin(key, now, ABANDON) {
            Role::Follow(id) => id,
            other => panic!("{key} at {now}: {other:?}, expected to follow"),
        }
    }

    #[test]
    fn identical_questions_follow_the_first_and_share_its_outcome() {
        let mut flights = Flights::new(DEFAULT_CAPACITY);
        let leader = lead(&mut flights, "a|1|1|00", 0);
        let followers: Vec<_> = (1..=49).map(|n| follow(&mut flights, "a|1|1|00", n)).collect();
        assert!(followers.iter().all(|id| *id == leader));
        // Another key is another flight.
        let other = lead(&mut flights, "b|1|1|00", 10);
        assert_ne!(other, leader);
        assert_eq!(flights.watch("a|1|1|00", leader, 300), Watch::InFlight);
        flights.land("a|1|1|00", leader, "answer", 300);
        assert_eq!(flights.in_flight(), 1);
        for n in 0..49 {
            assert_eq!(flights.watch("a|1|1|00", leader, 301 + n), Watch::Landed("answer"), "follower {n}");
        }
        assert_eq!(flights.landed(), 0, "taken by all 49: gone");
        // The next query for the key (a cache miss again: say, an uncacheable answer) leads.
        assert_ne!(lead(&mut flights, "a|1|1|00", 400), leader);
    }

    #[test]
    fn a_flight_without_followers_keeps_nothing() {
        let mut flights = Flights::new(DEFAULT_CAPACITY);
        let leader = lead(&mut flights, "a", 0);
        flights.land("a", leader, "answer", 100);
        assert_eq!((flights.in_flight(), flights.landed()), (0, 0));
    }

    #[test]
    fn a_flight_past_its_deadline_is_abandoned_and_led_again() {
        let mut flights = Flights::new(DEFAULT_CAPACITY);
        let stuck = lead(&mut flights, "a", 1_000);
        let follower = follow(&mut flights, "a", 2_000);
        assert_eq!(flights.watch("a", follower, 1_000 + ABANDON - 1), Watch::InFlight);
        assert_eq!(flights.watch("a", follower, 1_000 + ABANDON), Watch::Lost, "the follower stops at the deadline");
        // It asks again and leads a new flight; others follow that one.
        let next = lead(&mut flights, "a", 1_000 + ABANDON);
        assert_ne!(next, stuck);
        let late = follow(&mut flights, "a", 1_000 + ABANDON + 10);
        assert_eq!(late, next);
        // The stuck leader comes back at last: its outcome lands nowhere, the new flight goes on.
        flights.land("a", stuck, "late", 1_000 + ABANDON + 20);
        assert_eq!(flights.watch("a", late, 1_000 + ABANDON + 30), Watch::InFlight);
        flights.land("a", next, "fresh", 1_000 + ABANDON + 40);
        assert_eq!(flights.watch("a", late, 1_000 + ABANDON + 41), Watch::Landed("fresh"));
    }

    #[test]
    fn a_leader_that_goes_away_releases_its_followers_at_once() {
        let mut flights = Flights::new(DEFAULT_CAPACITY);
        let leader = lead(&mut flights, "a", 0);
        let follower = follow(&mut flights, "a", 5);
        flights.abandon("a", leader);
        assert_eq!(flights.watch("a", follower, 6), Watch::Lost);
        let next = lead(&mut flights, "a", 6);
        // Abandoning an old flight leaves the new one alone.
        flights.abandon("a", leader);
        assert_eq!(follow(&mut flights, "a", 7), next);
    }

    #[test]
    fn outcomes_wait_for_followers_that_went_away_only_so_long() {
        let mut flights = Flights::new(DEFAULT_CAPACITY);
        let leader = lead(&mut flights, "a", 0);
        follow(&mut flights, "a", 1);
        follow(&mut flights, "a", 2);
        flights.land("a", leader, "answer", 100);
        assert_eq!(flights.watch("a", leader, 101), Watch::Landed("answer"));
        // The second follower never looks again: its copy goes after LINGER_MS.
        assert_eq!(flights.landed(), 1);
        lead(&mut flights, "b", 100 + LINGER_MS);
        assert_eq!(flights.landed(), 0);
        assert_eq!(flights.watch("a", leader, 100 + LINGER_MS), Watch::Lost);
    }

    #[test]
    fn a_full_table_sends_questions_alone_until_flights_end_or_age_out() {
        let mut flights = Flights::new(3);
        let ids: Vec<_> = ["a", "b", "c"].iter().map(|key| lead(&mut flights, key, 0)).collect();
        assert_eq!(flights.begin("d", 10, ABANDON), Role::Alone);
        assert_eq!(follow(&mut flights, "a", 10), ids[0], "keys in flight are still followed");
        flights.land("b", ids[1], "answer", 20);
        lead(&mut flights, "d", 20);
        assert_eq!(flights.begin("e", 30, ABANDON), Role::Alone);
        // Once the flights are past their deadline, room is made for new ones.
        lead(&mut flights, "e", ABANDON);
        assert!(flights.in_flight() <= 3);
        for n in 0..10_000u64 {
            let _ = flights.begin(&format!("k{n}"), ABANDON + n, ABANDON);
            assert!(flights.in_flight() <= 3);
        }
    }

    #[test]
    fn abandoned_after_every_upstream_timed_out_in_turn() {
        let mut config = ResolverConfig::from_vars(|name| match name {
            "UPSTREAMS" => Some("https://a.example/q, https://b.example/q, https://c.example/q".to_owned()),
            "UPSTREAM_TIMEOUT_MS" => Some("1500".to_owned()),
            _ => None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(abandon_after_ms(&config, config.upstreams.len()), 3 * 1_500 + MARGIN_MS);
        assert_eq!(abandon_after_ms(&config, 2), 2 * 1_500 + MARGIN_MS, "a profile's own upstreams");
        config.upstreams.clear();
        assert_eq!(abandon_after_ms(&config, config.upstreams.len()), 1_500 + MARGIN_MS);
    }
}
