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
//! * **Last good data.** A shard of the served version that is missing from KV or unusable, and
//!   a pointer (`snapshot:current`) that is unusable, do not leave queries with SERVFAIL: the
//!   history (`snapshot:history`) names the versions published before, and the newest one that
//!   loads answers instead (its manifest, then the shards queries need), logged.
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
use crate::publish::history::{history_from_json, HISTORY_KEY};
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
    /// The last good version answers what the current one cannot.
    FellBack {
        /// The version answering.
        version: String,
        /// Why.
        reason: String,
    },
    /// No good version was found to fall back on.
    NoFallback(String),
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
            Self::FellBack { version, reason } => write!(f, "answering from the last good snapshot {version}: {reason}"),
            Self::NoFallback(reason) => write!(f, "no good snapshot to fall back on, answering SERVFAIL: {reason}"),
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
    /// The last good version answering for the served one's missing or unusable shards.
    pub fallback: Option<String>,
    /// The served version's shards that are missing or unusable.
    pub broken: Vec<usize>,
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
    /// `snapshot:history`, to find the last good version.
    History,
    /// The manifest of a version the history names, as the last good one.
    RecoveryManifest { version: String },
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
    /// Shards found missing from KV or unusable, with when: their names are answered from the
    /// last good version, and the shard is read again after the back-off (a new version's
    /// pointer can reach a location before its shards do: KV propagates each key on its own).
    broken: HashMap<usize, u64>,
}

impl Serving {
    fn new(index: Index) -> Result<Self, SnapshotError> {
        let none = Rc::new(index.manifest().empty_catalog()?);
        Ok(Self { index: Rc::new(index), none, shards: ShardCache::default(), flights: HashMap::new(), failed: HashMap::new(), broken: HashMap::new() })
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

/// The reads asked for and not yet handed back (nor given up on).
struct Ledger {
    next_id: ReadId,
    pending: HashMap<ReadId, (Purpose, String)>,
}

impl Ledger {
    fn read(&mut self, purpose: Purpose, key: String, path: ReadPath) -> Read {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, (purpose, key.clone()));
        Read { id, key, path }
    }
}

/// How many versions of the history a recovery tries before giving up.
const RECOVERY_CANDIDATES: usize = 3;

/// Finding the last good version: the history first, then the manifests it names, newest first.
struct Recovery {
    /// Why it is needed (logged with the outcome).
    reason: String,
    /// The version that failed, never a candidate.
    broken: Option<String>,
    step: RecoveryStep,
}

enum RecoveryStep {
    History(Flight),
    Manifest {
        flight: Flight,
        rest: Vec<String>,
    },
    /// Found: [`Isolate::fallback`] holds it (or it is served, after an unusable pointer).
    Found,
    Failed(u64),
}

/// Where a shard a query needs stands.
enum ShardDemand {
    Held(Rc<Catalog>),
    /// Wait for read `id` (made by this query when `read` is given) until `until`.
    Wait {
        read: Option<Read>,
        id: ReadId,
        until: u64,
    },
    Failed(usize),
}

/// Where finding the last good version stands.
enum RecoveryDemand {
    Found,
    Wait { read: Option<Read>, id: ReadId, until: u64 },
    Failed,
}

/// Shard `n` of `serving`: held, or the read to make or wait for (one at a time), or failed
/// within the back-off.
fn shard_demand(serving: &mut Serving, n: usize, now: u64, tick: u64, settings: Settings, ledger: &mut Ledger, events: &mut VecDeque<Event>) -> ShardDemand {
    if let Some(catalog) = serving.shards.get(n, tick) {
        return ShardDemand::Held(catalog);
    }
    match serving.flights.get(&n).copied() {
        Some(flight) if now.saturating_sub(flight.started) < settings.stuck_ms => {
            return ShardDemand::Wait { read: None, id: flight.id, until: flight.started.saturating_add(settings.stuck_ms) };
        }
        // In flight too long: given up, read again.
        Some(flight) => {
            if let Some((_, key)) = ledger.pending.remove(&flight.id) {
                events.push_back(Event::Abandoned(key));
            }
        }
        None if serving.failed.get(&n).is_some_and(|at| now.saturating_sub(*at) < settings.retry_ms) => return ShardDemand::Failed(n),
        None => {}
    }
    let version = serving.version().to_owned();
    let key = snapshot::shard_key(&version, n);
    let read = ledger.read(Purpose::Shard { version, n }, key, ReadPath::Request);
    serving.flights.insert(n, Flight { id: read.id, started: now });
    ShardDemand::Wait { id: read.id, read: Some(read), until: now.saturating_add(settings.stuck_ms) }
}

/// Everything an isolate holds, and the reads it has asked for.
pub struct Isolate {
    settings: Settings,
    ledger: Ledger,
    serving: Option<Serving>,
    /// Finding the last good version, for what the served one cannot answer (or to serve,
    /// when the pointer is unusable).
    recovery: Option<Recovery>,
    /// The last good version found, answering the names of the served version's broken shards.
    fallback: Option<Serving>,
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
            ledger: Ledger { next_id: 1, pending: HashMap::new() },
            serving: None,
            recovery: None,
            fallback: None,
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
        let Some(name) = name.filter(|name| index.hosts(name)) else {
            return Demand::Ready(none);
        };
        let n = index.shard_for(name);
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
        // A shard this version lacks (missing or corrupt) is answered from the last good version.
        let retry_ms = self.settings.retry_ms;
        let broken = self.serving.as_ref().is_some_and(|serving| serving.broken.get(&n).is_some_and(|at| now.saturating_sub(*at) < retry_ms));
        let shard = if broken {
            match self.name_in_fallback(name, now) {
                Ok(shard) => shard,
                Err(why) => return Demand::Unavailable(why),
            }
        } else {
            let settings = self.settings;
            let Some(serving) = self.serving.as_mut() else { return Demand::Unavailable(Unavailable::NoVersion) };
            shard_demand(serving, n, now, tick, settings, &mut self.ledger, &mut self.events)
        };
        match shard {
            ShardDemand::Held(catalog) if on.is_empty() => return Demand::Ready(catalog),
            ShardDemand::Held(_) => {}
            ShardDemand::Wait { read, id, until: ends } => {
                start.extend(read);
                on.push(id);
                until = until.min(ends);
            }
            ShardDemand::Failed(n) => return Demand::Unavailable(Unavailable::Shard(n)),
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
                    self.ledger.pending.remove(id);
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
        let Some((purpose, key)) = self.ledger.pending.remove(&id) else { return Vec::new() };
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
            Purpose::History => self.history_read_back(id, result, now),
            Purpose::RecoveryManifest { version } => self.recovery_manifest_read_back(id, &version, &key, result, now),
        }
    }

    /// Whether read `id` is still awaited (asked for, not handed back nor given up).
    pub fn is_pending(&self, id: ReadId) -> bool {
        self.ledger.pending.contains_key(&id)
    }

    /// Serves `index` from now on (a publish or rollback through the admin API).
    pub fn serve(&mut self, index: Index, now: u64) {
        // A refresh switching meanwhile would switch back to what it read.
        if let Some(switch) = self.switch.take() {
            for id in switch.waiting.keys() {
                self.ledger.pending.remove(id);
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
        let Some(serving) = &self.serving else { return Status { in_flight: self.ledger.pending.len(), ..Status::default() } };
        let mut held = serving.shards.by_recency();
        held.sort_unstable();
        let mut broken: Vec<usize> = serving.broken.keys().copied().collect();
        broken.sort_unstable();
        Status {
            snapshot: Some(serving.version().to_owned()),
            total: serving.index.manifest().shards().len(),
            held,
            held_bytes: serving.shards.bytes(),
            in_flight: self.ledger.pending.len(),
            fallback: self.fallback.as_ref().map(|fallback| fallback.version().to_owned()),
            broken,
        }
    }

    // ------------------------------------------------------------------ internals

    fn new_read(&mut self, purpose: Purpose, key: String, path: ReadPath) -> Read {
        self.ledger.read(purpose, key, path)
    }

    /// Starts a manifest read unless one is in flight (and not stuck).
    fn manifest_read(&mut self, now: u64, path: ReadPath) -> Option<Read> {
        if let Some(flight) = self.manifest {
            if now.saturating_sub(flight.started) < self.settings.stuck_ms {
                return None;
            }
            if let Some((_, key)) = self.ledger.pending.remove(&flight.id) {
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
        // The pointer was unusable: finding the last good version in the history (after a
        // failed search and its back-off, the pointer is read again first).
        if self.recovery.as_ref().is_some_and(|recovery| matches!(recovery.step, RecoveryStep::Failed(at) if now.saturating_sub(at) >= self.settings.retry_ms))
        {
            self.recovery = None;
        }
        if self.recovery.is_some() {
            match self.recovery_demand(now, None, "snapshot:current is unusable") {
                RecoveryDemand::Wait { read, id, until } => return Demand::Wait { start: read.into_iter().collect(), on: vec![id], until },
                RecoveryDemand::Failed => return Demand::Unavailable(Unavailable::NoVersion),
                // Found means served: not here. Otherwise, after the back-off, the pointer again.
                RecoveryDemand::Found => self.recovery = None,
            }
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
                if let Some((_, key)) = self.ledger.pending.remove(&id) {
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

    /// The shard of the last good version answering `name` (a shard of the served version is
    /// broken), finding that version first.
    fn name_in_fallback(&mut self, name: &Name, now: u64) -> Result<ShardDemand, Unavailable> {
        let broken = self.serving.as_ref().map(|serving| serving.version().to_owned());
        let n = self.serving.as_ref().map_or(0, |serving| serving.index.shard_for(name));
        match self.recovery_demand(now, broken, "a shard is missing or unusable") {
            RecoveryDemand::Found => {}
            RecoveryDemand::Wait { read, id, until } => return Ok(ShardDemand::Wait { read, id, until }),
            RecoveryDemand::Failed => return Err(Unavailable::Shard(n)),
        }
        let (settings, tick) = (self.settings, self.tick);
        let Some(fallback) = self.fallback.as_mut() else { return Err(Unavailable::Shard(n)) };
        if !fallback.index.hosts(name) {
            return Ok(ShardDemand::Held(Rc::clone(&fallback.none)));
        }
        let fallback_n = fallback.index.shard_for(name);
        Ok(match shard_demand(fallback, fallback_n, now, tick, settings, &mut self.ledger, &mut self.events) {
            // A broken shard in the fallback too: nothing left to try.
            ShardDemand::Failed(_) => ShardDemand::Failed(n),
            other => other,
        })
    }

    /// Where finding the last good version stands, starting (or restarting) it when needed.
    fn recovery_demand(&mut self, now: u64, broken: Option<String>, reason: &str) -> RecoveryDemand {
        let stuck_ms = self.settings.stuck_ms;
        if let Some(recovery) = &self.recovery {
            match &recovery.step {
                RecoveryStep::Found => return RecoveryDemand::Found,
                RecoveryStep::Failed(at) if now.saturating_sub(*at) < self.settings.retry_ms => return RecoveryDemand::Failed,
                RecoveryStep::Failed(_) => {}
                RecoveryStep::History(flight) | RecoveryStep::Manifest { flight, .. } => {
                    if now.saturating_sub(flight.started) < stuck_ms {
                        return RecoveryDemand::Wait { read: None, id: flight.id, until: flight.started.saturating_add(stuck_ms) };
                    }
                    if let Some((_, key)) = self.ledger.pending.remove(&flight.id) {
                        self.events.push_back(Event::Abandoned(key));
                    }
                }
            }
        }
        let read = self.ledger.read(Purpose::History, HISTORY_KEY.to_owned(), ReadPath::Request);
        let id = read.id;
        self.recovery = Some(Recovery { reason: reason.to_owned(), broken, step: RecoveryStep::History(Flight { id, started: now }) });
        RecoveryDemand::Wait { read: Some(read), id, until: now.saturating_add(stuck_ms) }
    }

    /// The history came back: read the newest manifest it names (other than the broken one).
    fn history_read_back(&mut self, id: ReadId, result: ReadResult, now: u64) -> Vec<Read> {
        let Some(recovery) = self.recovery.as_mut().filter(|recovery| matches!(recovery.step, RecoveryStep::History(flight) if flight.id == id)) else {
            return Vec::new();
        };
        let candidates: Result<Vec<String>, String> = match result {
            Ok(Some(bytes)) => history_from_json(&String::from_utf8_lossy(&bytes))
                .map(|history| {
                    history
                        .into_iter()
                        .map(|entry| entry.version)
                        .filter(|version| Some(version) != recovery.broken.as_ref())
                        .take(RECOVERY_CANDIDATES)
                        .collect()
                })
                .map_err(|error| error.to_string()),
            Ok(None) => Ok(Vec::new()),
            Err(error) => Err(format!("KV read of {HISTORY_KEY} failed: {error}")),
        };
        match candidates {
            Ok(candidates) => self.next_candidate(candidates, now),
            Err(reason) => {
                self.recovery_failed(reason, now);
                Vec::new()
            }
        }
    }

    /// Reads the next candidate's manifest, or gives up when none is left.
    fn next_candidate(&mut self, mut candidates: Vec<String>, now: u64) -> Vec<Read> {
        if candidates.is_empty() {
            self.recovery_failed(format!("{HISTORY_KEY} names no other version"), now);
            return Vec::new();
        }
        let version = candidates.remove(0);
        let read = self.ledger.read(Purpose::RecoveryManifest { version: version.clone() }, snapshot::version_key(&version), ReadPath::Request);
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.step = RecoveryStep::Manifest { flight: Flight { id: read.id, started: now }, rest: candidates };
        }
        vec![read]
    }

    /// A candidate's manifest came back: serve or fall back on it, or try the next one.
    fn recovery_manifest_read_back(&mut self, id: ReadId, version: &str, key: &str, result: ReadResult, now: u64) -> Vec<Read> {
        let Some(recovery) = self.recovery.as_mut() else { return Vec::new() };
        let RecoveryStep::Manifest { flight, rest } = &mut recovery.step else { return Vec::new() };
        if flight.id != id {
            return Vec::new();
        }
        let rest = std::mem::take(rest);
        let found = match result {
            Ok(Some(bytes)) => Index::decode(&snapshot::from_text(bytes)).and_then(Serving::new).map_err(|error| format!("{key} is unusable: {error}")),
            Ok(None) => Err(format!("{key} is missing")),
            Err(error) => Err(format!("KV read of {key} failed: {error}")),
        };
        let serving = match found {
            Ok(serving) if serving.version() == version => serving,
            Ok(_) => return self.next_candidate(rest, now),
            Err(_) => return self.next_candidate(rest, now),
        };
        let reason = recovery.reason.clone();
        self.events.push_back(Event::FellBack { version: version.to_owned(), reason });
        if self.serving.is_some() {
            self.fallback = Some(serving);
            if let Some(recovery) = self.recovery.as_mut() {
                recovery.step = RecoveryStep::Found;
            }
        } else {
            // The pointer was unusable: serve the last good version until a refresh finds a
            // usable one.
            self.manifest_failed_at = None;
            self.switch_to(serving, now);
            self.checked_at = Some(now);
        }
        Vec::new()
    }

    fn recovery_failed(&mut self, reason: String, now: u64) {
        if let Some(recovery) = self.recovery.as_mut() {
            self.events.push_back(Event::NoFallback(format!("{}; {reason}", recovery.reason)));
            recovery.step = RecoveryStep::Failed(now);
        }
    }

    fn manifest_read_back(&mut self, id: ReadId, key: &str, result: ReadResult, now: u64) -> Vec<Read> {
        if self.manifest.is_some_and(|flight| flight.id == id) {
            self.manifest = None;
        }
        self.checked_at = Some(now);
        let unusable = |error: SnapshotError| ManifestError::Unusable(format!("{key} is unusable: {error}"));
        let index = match result {
            Ok(Some(bytes)) => Index::decode(&snapshot::from_text(bytes)).map_err(unusable),
            Ok(None) => Err(ManifestError::Other(format!("no snapshot published ({key} is missing)"))),
            Err(error) => Err(ManifestError::Other(format!("KV read of {key} failed: {error}"))),
        };
        let Some(serving) = &self.serving else {
            match index.and_then(|index| Serving::new(index).map_err(unusable)) {
                Ok(serving) => {
                    self.manifest_failed_at = None;
                    self.switch_to(serving, now);
                }
                // An unusable pointer: the history names the last good version (this query's
                // reader goes on to read it; those waiting find the search under way).
                Err(ManifestError::Unusable(reason)) => {
                    self.events.push_back(Event::NoVersion(format!("{reason}; looking for the last good snapshot")));
                    return match self.recovery_demand(now, None, &reason) {
                        RecoveryDemand::Wait { read, .. } => read.into_iter().collect(),
                        RecoveryDemand::Found | RecoveryDemand::Failed => Vec::new(),
                    };
                }
                Err(ManifestError::Other(reason)) => {
                    self.manifest_failed_at = Some(now);
                    self.events.push_back(Event::NoVersion(reason));
                }
            }
            return Vec::new();
        };
        let index = index.map_err(String::from);
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
        let served = self.serving.as_ref().is_some_and(|serving| serving.version() == version);
        let slot = if served { &mut self.serving } else { &mut self.fallback };
        let Some(serving) = slot.as_mut().filter(|serving| serving.version() == version) else { return };
        if serving.flights.get(&n).is_some_and(|flight| flight.id == id) {
            serving.flights.remove(&n);
        }
        match decode_shard(&serving.index, n, key, result) {
            Ok(catalog) => {
                serving.failed.remove(&n);
                serving.broken.remove(&n);
                let index = Rc::clone(&serving.index);
                serving.shards.insert(&index, n, Rc::new(catalog), tick, budget);
            }
            // Missing or corrupt in the version served: the last good version answers its names.
            Err(ShardError::Data(reason)) if served => {
                serving.broken.insert(n, now);
                self.events.push_back(Event::ShardFailed { n, reason: format!("snapshot {version}: {reason}") });
            }
            Err(ShardError::Data(reason) | ShardError::Kv(reason)) => {
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
            Err(error) => {
                switch.failure.get_or_insert(error.into());
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
        // A new version may lack nothing: the search for a last good one starts again if needed.
        self.recovery = None;
        self.fallback = None;
        self.checked_at = Some(self.checked_at.map_or(now, |at| at.max(now)));
    }
}

/// Why the pointer's manifest could not be had.
enum ManifestError {
    /// There but unusable: the history names a version to fall back on.
    Unusable(String),
    /// Missing (nothing published) or KV failed: read again after the back-off.
    Other(String),
}

impl From<ManifestError> for String {
    fn from(error: ManifestError) -> Self {
        match error {
            ManifestError::Unusable(reason) | ManifestError::Other(reason) => reason,
        }
    }
}

/// Why a shard could not be had.
enum ShardError {
    /// Missing or unusable: reading it again will not help.
    Data(String),
    /// KV failed: reading it again may.
    Kv(String),
}

impl From<ShardError> for String {
    fn from(error: ShardError) -> Self {
        match error {
            ShardError::Data(reason) | ShardError::Kv(reason) => reason,
        }
    }
}

/// A shard read's result, decoded.
fn decode_shard(index: &Index, n: usize, key: &str, result: ReadResult) -> Result<Catalog, ShardError> {
    match result {
        Ok(Some(bytes)) => {
            index.manifest().decode_shard(n, &snapshot::from_text(bytes)).map_err(|error| ShardError::Data(format!("{key} is unusable: {error}")))
        }
        Ok(None) => Err(ShardError::Data(format!("{key} is missing from KV"))),
        Err(error) => Err(ShardError::Kv(format!("KV read of {key} failed: {error}"))),
    }
}
