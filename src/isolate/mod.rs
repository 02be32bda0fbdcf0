//! What an isolate holds and when it reads KV, as a state machine with no I/O.
//!
//! The Worker adapter asks [`Isolate`] for the zones a query needs ([`Isolate::zones`]) and
//! for the reads due after a response ([`Isolate::background`]); the isolate answers with the
//! data, or with the KV reads to start and the reads in flight to wait for. The adapter only
//! performs the reads and hands every result back ([`Isolate::complete`]), which may ask for
//! more (a new version's shards). Time comes in as an argument, so every decision (first
//! load, refresh, retry and back-off, the shard cache and its eviction, switching versions,
//! single flight) is tested natively with a virtual clock (`tests.rs`).
//!
//! Rules:
//! * **Single flight.** One read per key at a time: a query that needs a manifest, a shard or
//!   the health state already being read waits for that read rather than failing or reading it
//!   again. A read that has not come back after [`Settings::stuck_ms`] (a dropped request, a
//!   hung KV read) is abandoned: the next query that needs the key reads it again, so an
//!   isolate cannot stay stuck.
//! * **Cold start.** The first query reads `snapshot:current` (the manifest), then the shard
//!   holding its name, with `health:current` in the same round trip when that shard holds
//!   routed sets: two or three KV reads, whatever the size of the zones. A name under no zone
//!   reads no shard.
//! * **Back-off.** A read that failed is not repeated for [`Settings::retry_ms`]; queries that
//!   need it meanwhile are [`Unavailable`] (SERVFAIL with EDE 14). A failed health read fails
//!   open: answers go on without the health state, as with no data.
//! * **Refresh.** Once per [`Settings::refresh_ms`] the manifest (and, when answers depend on
//!   them, both health keys) are read again in the background. A new version's shards covering
//!   the ranges held are read before switching; a version that does not fully load is not
//!   switched to, and the last good one keeps serving.
//! * **Bounded memory.** Decoded shards are held within [`Settings::shard_budget`] encoded
//!   bytes, least recently used first out.

mod health;
mod shards;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use hickory_proto::rr::Name;

use crate::health::{HealthSnapshot, Overrides, HEALTH_KEY, OVERRIDES_KEY};
use crate::snapshot::{self, Index, SnapshotError};
use crate::zone::Catalog;

use health::HealthLoad;
use shards::ShardCache;

/// How often an isolate checks for a new version unless configured otherwise.
pub const DEFAULT_REFRESH_MS: u64 = 30_000;
/// How long a failed read is not repeated.
pub const DEFAULT_RETRY_MS: u64 = 5_000;
/// How long a read may be in flight before it is given up and made again.
pub const DEFAULT_STUCK_MS: u64 = 10_000;
/// How many bytes of encoded shards an isolate keeps decoded unless configured otherwise.
/// Decoded records take about twenty times their encoded size (BENCHMARKS.md §6), so this
/// holds some 50 MB of the 128 MB an isolate has.
pub const DEFAULT_SHARD_BUDGET: usize = 1024 * 1024;

/// The isolate's settings (from the Worker's variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How often the manifest is read again, in ms.
    pub refresh_ms: u64,
    /// How long a failed read is not repeated, in ms.
    pub retry_ms: u64,
    /// How long a read may stay in flight before it is abandoned, in ms.
    pub stuck_ms: u64,
    /// The encoded bytes of shards held decoded.
    pub shard_budget: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { refresh_ms: DEFAULT_REFRESH_MS, retry_ms: DEFAULT_RETRY_MS, stuck_ms: DEFAULT_STUCK_MS, shard_budget: DEFAULT_SHARD_BUDGET }
    }
}

impl Settings {
    /// The settings from the Worker's variables (`SNAPSHOT_REFRESH_SECONDS`, `SHARD_CACHE_KIB`);
    /// unusable values keep the defaults.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut settings = Self::default();
        if let Some(seconds) = var("SNAPSHOT_REFRESH_SECONDS").and_then(|value| value.trim().parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0) {
            settings.refresh_ms = (seconds * 1000.0).min(u64::MAX as f64) as u64;
        }
        if let Some(kib) = var("SHARD_CACHE_KIB").and_then(|value| value.trim().parse::<usize>().ok()) {
            settings.shard_budget = kib.saturating_mul(1024);
        }
        settings
    }
}

/// Names one KV read the isolate asked for.
pub type ReadId = u64;

/// What a read returned: the value, `None` for a missing key, or the KV error.
pub type ReadResult = Result<Option<Vec<u8>>, String>;

/// On whose behalf a read is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// A query waits for it.
    Request,
    /// After the response (`waitUntil`).
    Background,
}

/// A KV read to perform, then hand back with [`Isolate::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Names the read in [`Isolate::complete`].
    pub id: ReadId,
    /// The KV key.
    pub key: String,
    /// Whether a query waits for it.
    pub path: ReadPath,
}

/// Why a query cannot be answered from zone data now (SERVFAIL, EDE 14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No version could be loaded yet; retried after the back-off.
    NoVersion,
    /// The shard holding the name failed to load; retried after the back-off.
    Shard(usize),
}

/// What a query gets: the data, or reads to make and wait for.
#[derive(Debug)]
pub enum Demand<T> {
    /// The data is here.
    Ready(T),
    /// Start `start` (this query makes them), wait until one of `on` (which includes
    /// `start`'s ids) comes back or `until` (ms) passes, then ask again.
    Wait {
        /// Reads this query is to make.
        start: Vec<Read>,
        /// Reads in flight the answer depends on.
        on: Vec<ReadId>,
        /// When the oldest of them counts as stuck.
        until: u64,
    },
    /// Not available now.
    Unavailable(Unavailable),
}

/// What happened, for the adapter to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A version is being served from now on.
    Serving {
        /// The version.
        version: String,
        /// How many zones it has.
        zones: usize,
        /// How many shards it has.
        shards: usize,
    },
    /// A cold isolate could not load a version.
    NoVersion(String),
    /// A refresh found a version that could not be switched to.
    Kept {
        /// The version still served.
        version: String,
        /// Why.
        reason: String,
    },
    /// A shard of the served version failed to load.
    ShardFailed {
        /// Its number.
        n: usize,
        /// Why.
        reason: String,
    },
    /// The health keys could not be used.
    HealthFailed(String),
    /// A read in flight too long was given up.
    Abandoned(String),
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serving { version, zones, shards } => write!(f, "serving snapshot {version} ({zones} zones, {shards} shards)"),
            Self::NoVersion(reason) => write!(f, "no zone data, answering SERVFAIL: {reason}"),
            Self::Kept { version, reason } => write!(f, "keeping snapshot {version}: {reason}"),
            Self::ShardFailed { n, reason } => write!(f, "shard {n} is unavailable, answering SERVFAIL: {reason}"),
            Self::HealthFailed(reason) => write!(f, "health state not updated: {reason}"),
            Self::Abandoned(key) => write!(f, "reading {key} took too long: reading it again"),
        }
    }
}

/// What the isolate holds, for `/admin/isolate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// The version served.
    pub snapshot: Option<String>,
    /// Its shards.
    pub total: usize,
    /// The shards held, by number.
    pub held: Vec<usize>,
    /// Their encoded bytes.
    pub held_bytes: usize,
    /// Reads in flight.
    pub in_flight: usize,
}

/// A read in flight.
#[derive(Debug, Clone, Copy)]
struct Flight {
    id: ReadId,
    started: u64,
}

/// What a read in flight is for.
#[derive(Debug, Clone)]
enum Purpose {
    /// `snapshot:current`.
    Manifest,
    /// A shard of the version served.
    Shard { version: String, n: usize },
    /// A shard of the version a refresh is switching to.
    Prefetch { n: usize },
    /// One of the health keys.
    Health,
}

/// The version served and its shards.
struct Serving {
    index: Rc<Index>,
    /// No zones, the manifest's settings: for names no zone holds.
    none: Rc<Catalog>,
    shards: ShardCache,
    /// Shard reads in flight, by shard.
    flights: HashMap<usize, Flight>,
    /// Shards whose read failed, with when.
    failed: HashMap<usize, u64>,
}

impl Serving {
    fn new(index: Index) -> Result<Self, SnapshotError> {
        let none = Rc::new(index.manifest().empty_catalog()?);
        Ok(Self { index: Rc::new(index), none, shards: ShardCache::default(), flights: HashMap::new(), failed: HashMap::new() })
    }

    fn version(&self) -> &str {
        &self.index.manifest().version
    }
}

/// A refresh reading a new version's shards before switching to it.
struct Switch {
    serving: Serving,
    started: u64,
    /// Shard reads still out, by read.
    waiting: HashMap<ReadId, usize>,
    /// The first failure, if any (the switch is then dropped).
    failure: Option<String>,
}

/// Everything an isolate holds, and the reads it has asked for.
pub struct Isolate {
    settings: Settings,
    next_id: ReadId,
    /// Every read asked for and not yet handed back (or abandoned).
    pending: HashMap<ReadId, (Purpose, String)>,
    serving: Option<Serving>,
    /// The manifest read in flight (first load or refresh).
    manifest: Option<Flight>,
    /// When the manifest was last read (or its read failed).
    checked_at: Option<u64>,
    /// When a cold isolate's manifest read last failed.
    manifest_failed_at: Option<u64>,
    switch: Option<Switch>,
    health: Rc<HealthSnapshot>,
    /// Whether the health keys were read at least once.
    health_read: bool,
    health_load: Option<HealthLoad>,
    health_failed_at: Option<u64>,
    /// Whether the GeoIP tables and firewall rules are due a check (set when the manifest is
    /// read: they follow the same rhythm).
    tables_due: bool,
    /// Counts shard uses, for eviction.
    tick: u64,
    events: VecDeque<Event>,
}

impl Isolate {
    /// A new isolate: nothing held, nothing read.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            next_id: 1,
            pending: HashMap::new(),
            serving: None,
            manifest: None,
            checked_at: None,
            manifest_failed_at: None,
            switch: None,
            health: Rc::new(HealthSnapshot::default()),
            health_read: false,
            health_load: None,
            health_failed_at: None,
            tables_due: false,
            tick: 0,
            events: VecDeque::new(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// The zones to answer a query about `name` from: the shard whose range holds it, or no
    /// zones when no zone holds it (or the query names none).
    pub fn zones(&mut self, name: Option<&Name>, now: u64) -> Demand<Rc<Catalog>> {
        self.tick += 1;
        let tick = self.tick;
        let (index, none) = match &self.serving {
            Some(serving) => (Rc::clone(&serving.index), Rc::clone(&serving.none)),
            None => {
                return match self.manifest_demand(now) {
                    Demand::Ready(_) => Demand::Unavailable(Unavailable::NoVersion),
                    Demand::Wait { start, on, until } => Demand::Wait { start, on, until },
                    Demand::Unavailable(why) => Demand::Unavailable(why),
                }
            }
        };
        let Some(n) = name.filter(|name| index.hosts(name)).map(|name| index.shard_for(name)) else {
            return Demand::Ready(none);
        };
        let mut start = Vec::new();
        let mut on = Vec::new();
        let mut until = u64::MAX;
        // Routed sets are answered with the health state: wait for its first read.
        let routed = index.manifest().shards().get(n).is_some_and(|shard| shard.routed);
        if routed && !self.health_read {
            // None when it recently failed: answer without it (fail open, as with no data).
            if let Some((started, reads, ids)) = self.health_demand(now, false, ReadPath::Request) {
                start.extend(reads);
                on.extend(ids);
                until = until.min(started.saturating_add(self.settings.stuck_ms));
            }
        }
        let stuck_ms = self.settings.stuck_ms;
        let retry_ms = self.settings.retry_ms;
        let Some(serving) = self.serving.as_mut() else { return Demand::Unavailable(Unavailable::NoVersion) };
        match serving.shards.get(n, tick) {
            Some(catalog) if on.is_empty() => return Demand::Ready(catalog),
            Some(_) => {}
            None => match serving.flights.get(&n).copied() {
                Some(flight) if now.saturating_sub(flight.started) < stuck_ms => {
                    on.push(flight.id);
                    until = until.min(flight.started.saturating_add(stuck_ms));
                }
                stale => {
                    if let Some(flight) = stale {
                        // In flight too long: given up, read again.
                        if let Some((_, key)) = self.pending.remove(&flight.id) {
                            self.events.push_back(Event::Abandoned(key));
                        }
                    } else if serving.failed.get(&n).is_some_and(|at| now.saturating_sub(*at) < retry_ms) {
                        return Demand::Unavailable(Unavailable::Shard(n));
                    }
                    let version = serving.version().to_owned();
                    let key = snapshot::shard_key(&version, n);
                    let id = self.next_id;
                    self.next_id += 1;
                    serving.flights.insert(n, Flight { id, started: now });
                    self.pending.insert(id, (Purpose::Shard { version, n }, key.clone()));
                    start.push(Read { id, key, path: ReadPath::Request });
                    on.push(id);
                    until = until.min(now.saturating_add(stuck_ms));
                }
            },
        }
        Demand::Wait { start, on, until }
    }

    /// The manifest served, loading it first when the isolate has none (the scheduled run and
    /// the admin API need the health checks it declares).
    pub fn manifest(&mut self, now: u64) -> Demand<Rc<Index>> {
        self.manifest_demand(now)
    }

    /// The health state answers use (empty until read).
    pub fn health(&self) -> Rc<HealthSnapshot> {
        Rc::clone(&self.health)
    }

    /// The reads due after a response: a refresh of the manifest (and of both health keys
    /// when answers depend on them) once per refresh interval, and the health keys when a
    /// served version needs them and they were never read.
    pub fn background(&mut self, now: u64) -> Vec<Read> {
        let mut reads = Vec::new();
        let Some(serving) = &self.serving else { return reads };
        let uses_health = serving.index.manifest().uses_health();
        let stuck_ms = self.settings.stuck_ms;
        // A switch that never finished is dropped; the next refresh starts again.
        if self.switch.as_ref().is_some_and(|switch| now.saturating_sub(switch.started) >= stuck_ms) {
            if let Some(switch) = self.switch.take() {
                for id in switch.waiting.keys() {
                    self.pending.remove(id);
                }
                self.events.push_back(Event::Abandoned(snapshot::version_key(switch.serving.version())));
            }
        }
        let due = self.checked_at.is_none_or(|at| now.saturating_sub(at) >= self.settings.refresh_ms);
        if due && self.switch.is_none() {
            if let Some(read) = self.manifest_read(now, ReadPath::Background) {
                reads.push(read);
                self.tables_due = true;
            }
            if uses_health {
                if let Some((_, health, _)) = self.health_demand(now, true, ReadPath::Background) {
                    reads.extend(health);
                }
            }
        } else if uses_health && !self.health_read {
            if let Some((_, health, _)) = self.health_demand(now, true, ReadPath::Background) {
                reads.extend(health);
            }
        }
        reads
    }

    /// Hands back the result of read `id`; returns the reads it leads to (a new version's
    /// shards, in the background). Results of reads given up on are ignored.
    pub fn complete(&mut self, id: ReadId, result: ReadResult, now: u64) -> Vec<Read> {
        let Some((purpose, key)) = self.pending.remove(&id) else { return Vec::new() };
        match purpose {
            Purpose::Manifest => self.manifest_read_back(id, &key, result, now),
            Purpose::Shard { version, n } => {
                self.shard_read_back(id, &version, n, &key, result, now);
                Vec::new()
            }
            Purpose::Prefetch { n } => {
                self.prefetch_read_back(id, n, &key, result);
                Vec::new()
            }
            Purpose::Health => {
                self.health_read_back(id, result, now);
                Vec::new()
            }
        }
    }

    /// Whether read `id` is still awaited (asked for, not handed back nor given up).
    pub fn is_pending(&self, id: ReadId) -> bool {
        self.pending.contains_key(&id)
    }

    /// Serves `index` from now on (a publish or rollback through the admin API).
    pub fn serve(&mut self, index: Index, now: u64) {
        // A refresh switching meanwhile would switch back to what it read.
        if let Some(switch) = self.switch.take() {
            for id in switch.waiting.keys() {
                self.pending.remove(id);
            }
        }
        match Serving::new(index) {
            Ok(serving) => self.switch_to(serving, now),
            Err(error) => self.events.push_back(Event::Kept { version: self.version().unwrap_or_default(), reason: error.to_string() }),
        }
    }

    /// Replaces the overrides the health state carries (an operator changed them here).
    pub fn set_overrides(&mut self, overrides: Overrides) {
        let measured = HealthSnapshot { overrides: Overrides::new(), ..(*self.health).clone() };
        self.health = Rc::new(measured.with_overrides(overrides));
    }

    /// Whether the GeoIP tables and firewall rules are due a check; resets the flag.
    pub fn take_tables_due(&mut self) -> bool {
        std::mem::take(&mut self.tables_due)
    }

    /// The next thing that happened, for the log.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The version served.
    pub fn version(&self) -> Option<String> {
        self.serving.as_ref().map(|serving| serving.version().to_owned())
    }

    /// What the isolate holds.
    pub fn status(&self) -> Status {
        let Some(serving) = &self.serving else { return Status { in_flight: self.pending.len(), ..Status::default() } };
        let mut held = serving.shards.by_recency();
        held.sort_unstable();
        Status {
            snapshot: Some(serving.version().to_owned()),
            total: serving.index.manifest().shards().len(),
            held,
            held_bytes: serving.shards.bytes(),
            in_flight: self.pending.len(),
        }
    }

    // ------------------------------------------------------------------ internals

    fn new_read(&mut self, purpose: Purpose, key: String, path: ReadPath) -> Read {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, (purpose, key.clone()));
        Read { id, key, path }
    }

    /// Starts a manifest read unless one is in flight (and not stuck).
    fn manifest_read(&mut self, now: u64, path: ReadPath) -> Option<Read> {
        if let Some(flight) = self.manifest {
            if now.saturating_sub(flight.started) < self.settings.stuck_ms {
                return None;
            }
            if let Some((_, key)) = self.pending.remove(&flight.id) {
                self.events.push_back(Event::Abandoned(key));
            }
        }
        let read = self.new_read(Purpose::Manifest, snapshot::CURRENT_KEY.to_owned(), path);
        self.manifest = Some(Flight { id: read.id, started: now });
        Some(read)
    }

    /// The manifest, or the read to wait for (single flight), or why not.
    fn manifest_demand(&mut self, now: u64) -> Demand<Rc<Index>> {
        if let Some(serving) = &self.serving {
            return Demand::Ready(Rc::clone(&serving.index));
        }
        if let Some(flight) = self.manifest.filter(|flight| now.saturating_sub(flight.started) < self.settings.stuck_ms) {
            return Demand::Wait { start: Vec::new(), on: vec![flight.id], until: flight.started.saturating_add(self.settings.stuck_ms) };
        }
        if self.manifest.is_none() && self.manifest_failed_at.is_some_and(|at| now.saturating_sub(at) < self.settings.retry_ms) {
            return Demand::Unavailable(Unavailable::NoVersion);
        }
        match self.manifest_read(now, ReadPath::Request) {
            Some(read) => {
                self.tables_due = true;
                let id = read.id;
                Demand::Wait { start: vec![read], on: vec![id], until: now.saturating_add(self.settings.stuck_ms) }
            }
            None => Demand::Unavailable(Unavailable::NoVersion),
        }
    }

    /// Starts the health reads unless they are in flight: `(started, reads to make, ids to wait
    /// for)`, or `None` when they failed within the back-off.
    fn health_demand(&mut self, now: u64, both: bool, path: ReadPath) -> Option<(u64, Vec<Read>, Vec<ReadId>)> {
        if let Some(load) = &self.health_load {
            if now.saturating_sub(load.started) < self.settings.stuck_ms {
                return Some((load.started, Vec::new(), load.ids()));
            }
            for id in load.ids() {
                if let Some((_, key)) = self.pending.remove(&id) {
                    self.events.push_back(Event::Abandoned(key));
                }
            }
            self.health_load = None;
        } else if path == ReadPath::Request && self.health_failed_at.is_some_and(|at| now.saturating_sub(at) < self.settings.retry_ms) {
            return None;
        }
        let current = self.new_read(Purpose::Health, HEALTH_KEY.to_owned(), path);
        let overrides = both.then(|| self.new_read(Purpose::Health, OVERRIDES_KEY.to_owned(), path));
        let load = HealthLoad::new(now, current.id, overrides.as_ref().map(|read| read.id));
        let ids = load.ids();
        self.health_load = Some(load);
        Some((now, std::iter::once(current).chain(overrides).collect(), ids))
    }

    fn manifest_read_back(&mut self, id: ReadId, key: &str, result: ReadResult, now: u64) -> Vec<Read> {
        if self.manifest.is_some_and(|flight| flight.id == id) {
            self.manifest = None;
        }
        self.checked_at = Some(now);
        let index = match result {
            Ok(Some(bytes)) => Index::decode(&snapshot::from_text(bytes)).map_err(|error| format!("snapshot is unusable: {error}")),
            Ok(None) => Err(format!("no snapshot published ({key} is missing)")),
            Err(error) => Err(format!("KV read of {key} failed: {error}")),
        };
        let Some(serving) = &self.serving else {
            match index.and_then(|index| Serving::new(index).map_err(|error| format!("snapshot is unusable: {error}"))) {
                Ok(serving) => {
                    self.manifest_failed_at = None;
                    self.switch_to(serving, now);
                }
                Err(reason) => {
                    self.manifest_failed_at = Some(now);
                    self.events.push_back(Event::NoVersion(reason));
                }
            }
            return Vec::new();
        };
        let served = serving.version().to_owned();
        let index = match index {
            Ok(index) if index.manifest().version == served => return Vec::new(),
            Ok(index) => index,
            Err(reason) => {
                self.events.push_back(Event::Kept { version: served, reason });
                return Vec::new();
            }
        };
        let next = match Serving::new(index) {
            Ok(next) => next,
            Err(error) => {
                self.events.push_back(Event::Kept { version: served, reason: format!("the new snapshot is unusable: {error}") });
                return Vec::new();
            }
        };
        // The new version's shards covering the ranges held, most recently used first, within
        // the budget (at least one), so queries keep finding their shard loaded.
        let mut wanted: Vec<usize> = Vec::new();
        let mut bytes = 0;
        for old in serving.shards.by_recency() {
            let Some(first) = serving.index.first(old) else { continue };
            let n = next.index.shard_for(&first);
            let weight = shards::weight(&next.index, n);
            if !wanted.contains(&n) && (wanted.is_empty() || bytes + weight <= self.settings.shard_budget) {
                wanted.push(n);
                bytes += weight;
            }
        }
        if wanted.is_empty() {
            self.switch_to(next, now);
            return Vec::new();
        }
        let version = next.version().to_owned();
        let reads: Vec<Read> = wanted.iter().map(|&n| self.new_read(Purpose::Prefetch { n }, snapshot::shard_key(&version, n), ReadPath::Background)).collect();
        let waiting = reads.iter().map(|read| read.id).zip(wanted).collect();
        self.switch = Some(Switch { serving: next, started: now, waiting, failure: None });
        reads
    }

    fn shard_read_back(&mut self, id: ReadId, version: &str, n: usize, key: &str, result: ReadResult, now: u64) {
        let tick = self.tick;
        let budget = self.settings.shard_budget;
        let Some(serving) = self.serving.as_mut().filter(|serving| serving.version() == version) else { return };
        if serving.flights.get(&n).is_some_and(|flight| flight.id == id) {
            serving.flights.remove(&n);
        }
        match decode_shard(&serving.index, n, key, result) {
            Ok(catalog) => {
                serving.failed.remove(&n);
                let index = Rc::clone(&serving.index);
                serving.shards.insert(&index, n, Rc::new(catalog), tick, budget);
            }
            Err(reason) => {
                serving.failed.insert(n, now);
                self.events.push_back(Event::ShardFailed { n, reason: format!("snapshot {version}: {reason}") });
            }
        }
    }

    fn prefetch_read_back(&mut self, id: ReadId, n: usize, key: &str, result: ReadResult) {
        let budget = self.settings.shard_budget;
        let Some(switch) = self.switch.as_mut() else { return };
        if switch.waiting.remove(&id).is_none() {
            return;
        }
        match decode_shard(&switch.serving.index, n, key, result) {
            Ok(catalog) => {
                let index = Rc::clone(&switch.serving.index);
                switch.serving.shards.insert(&index, n, Rc::new(catalog), 0, budget);
            }
            Err(reason) => {
                switch.failure.get_or_insert(reason);
            }
        }
        if !switch.waiting.is_empty() {
            return;
        }
        let Some(switch) = self.switch.take() else { return };
        let started = switch.started;
        match switch.failure {
            // A half-readable version is not switched to: the next refresh tries again.
            Some(reason) => {
                let version = self.version().unwrap_or_default();
                self.events.push_back(Event::Kept { version, reason: format!("snapshot {} is not switched to: {reason}", switch.serving.version()) });
            }
            None => self.switch_to(switch.serving, started),
        }
    }

    fn health_read_back(&mut self, id: ReadId, result: ReadResult, now: u64) {
        let Some(load) = self.health_load.as_mut() else { return };
        let Some(outcome) = load.take(id, result) else { return };
        self.health_load = None;
        match outcome {
            Ok(health) => {
                let checks = self.serving.as_ref().map(|serving| serving.index.manifest().health_checks().clone()).unwrap_or_default();
                self.health = Rc::new(health.with_initial_states(&checks));
                self.health_read = true;
                self.health_failed_at = None;
            }
            Err(reason) => {
                self.health_failed_at = Some(now);
                self.events.push_back(Event::HealthFailed(reason));
            }
        }
    }

    fn switch_to(&mut self, serving: Serving, now: u64) {
        self.events.push_back(Event::Serving {
            version: serving.version().to_owned(),
            zones: serving.index.manifest().zones().len(),
            shards: serving.index.manifest().shards().len(),
        });
        // Checks that never reported start from their initial state.
        self.health = Rc::new((*self.health).clone().with_initial_states(serving.index.manifest().health_checks()));
        // Shard reads of the version left behind are no longer waited for by anyone new;
        // those already waiting are woken when they come back and ask again.
        self.serving = Some(serving);
        self.checked_at = Some(self.checked_at.map_or(now, |at| at.max(now)));
    }
}

/// A shard read's result, decoded.
fn decode_shard(index: &Index, n: usize, key: &str, result: ReadResult) -> Result<Catalog, String> {
    match result {
        Ok(Some(bytes)) => index.manifest().decode_shard(n, &snapshot::from_text(bytes)).map_err(|error| format!("{key} is unusable: {error}")),
        Ok(None) => Err(format!("{key} is missing from KV")),
        Err(error) => Err(format!("KV read of {key} failed: {error}")),
    }
}
