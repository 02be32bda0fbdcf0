//! The isolate's lifecycle driven by a virtual clock and an in-memory KV, in the manner of
//! quinn-proto's test `Pair`: a [`World`] holds the KV and the reads in flight, queries ask
//! the isolate, and the test decides when each read comes back (or never does).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use hickory_proto::rr::RecordType;

use super::*;
use crate::zone::compile::{compile_all, SourceFile};

const ZONE: &str = "\
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
a A 192.0.2.1
b A 192.0.2.2
c A 192.0.2.3
d A 192.0.2.4
e A 192.0.2.5
f A 192.0.2.6
g A 192.0.2.7
h A 192.0.2.8
";

const ROUTES: &str = r#"
[health_checks.web]
type = "http"
host = "127.0.0.1"
port = 1
path = "/"

[[records]]
name = "zz-routed"
type = "A"
ttl = 30

[records.failover.primary]
health_check = "web"
values = ["192.0.2.100"]

[records.failover.secondary]
values = ["192.0.2.200"]
"#;

/// A version of the test zone, with `extra` appended to it, split into one-name shards.
fn version(extra: &str, published_at: u64) -> snapshot::Built {
    let sources = vec![
        SourceFile { path: "iso.test.zone".into(), text: format!("{ZONE}{extra}") },
        SourceFile { path: "iso.test.routes.toml".into(), text: ROUTES.into() },
    ];
    let catalog = compile_all(&sources).unwrap_or_else(|errors| panic!("{errors:?}"));
    snapshot::build(&catalog, 1, published_at).unwrap()
}

/// KV, the isolate, the clock, and the reads made and not yet handed back.
struct World {
    kv: HashMap<String, Vec<u8>>,
    isolate: Isolate,
    now: u64,
    in_flight: BTreeMap<ReadId, Read>,
    /// Every read made, by key.
    reads: Vec<Read>,
}

impl World {
    fn new(settings: Settings) -> Self {
        Self { kv: HashMap::new(), isolate: Isolate::new(settings), now: 1_000_000, in_flight: BTreeMap::new(), reads: Vec::new() }
    }

    fn publish(&mut self, built: &snapshot::Built) {
        for (key, value) in built.entries() {
            self.kv.insert(key, snapshot::storable(value).into_owned());
        }
        self.kv.insert(snapshot::CURRENT_KEY.into(), snapshot::storable(&built.manifest_bytes).into_owned());
    }

    fn published() -> Self {
        let mut world = Self::new(Settings::default());
        world.publish(&version("", 1));
        world
    }

    /// One query about `name`: the isolate's demand, with the reads it asks for now in flight.
    fn ask(&mut self, name: &str) -> Demand<Rc<Catalog>> {
        let name = Name::from_str(name).unwrap();
        let demand = self.isolate.zones(Some(&name), self.now);
        if let Demand::Wait { start, .. } = &demand {
            self.started(start.clone());
        }
        demand
    }

    fn started(&mut self, reads: Vec<Read>) {
        for read in reads {
            self.reads.push(read.clone());
            self.in_flight.insert(read.id, read);
        }
    }

    /// Hands back read `id` with what KV holds now.
    fn finish(&mut self, id: ReadId) {
        let read = self.in_flight.remove(&id).expect("a read in flight");
        let value = self.kv.get(&read.key).cloned();
        let more = self.isolate.complete(id, Ok(value), self.now);
        self.started(more);
    }

    /// Hands back every read in flight (and those they lead to) until none is left.
    fn settle(&mut self) {
        while let Some(&id) = self.in_flight.keys().next() {
            self.finish(id);
        }
    }

    fn background(&mut self) {
        let reads = self.isolate.background(self.now);
        self.started(reads);
    }

    fn keys_read(&self) -> Vec<&str> {
        self.reads.iter().map(|read| read.key.as_str()).collect()
    }

    /// Asks, settling reads, until the answer is in (at most a few rounds).
    fn answer(&mut self, name: &str) -> Result<Rc<Catalog>, Unavailable> {
        // As many rounds as the Worker allows (src/worker/mod.rs MAX_ROUNDS): a cold query
        // falling back reads the manifest, its shard, the history (then a manifest), a shard.
        for _ in 0..6 {
            match self.ask(name) {
                Demand::Ready(catalog) => return Ok(catalog),
                Demand::Unavailable(why) => return Err(why),
                Demand::Wait { .. } => self.settle(),
            }
        }
        panic!("no answer for {name} after six rounds");
    }
}

fn holds(catalog: &Catalog, name: &str) -> bool {
    let name = Name::from_str(name).unwrap();
    catalog.zones().iter().any(|zone| zone.node(&name).is_some_and(|node| node.rrset(RecordType::A).is_some()))
}

#[test]
fn a_cold_burst_shares_one_manifest_read_and_one_read_per_shard() {
    let mut world = World::published();
    let names = ["a.iso.test.", "b.iso.test.", "c.iso.test.", "a.iso.test.", "b.iso.test."];
    // Fifty queries arrive before anything came back: one manifest read, everyone waits on it.
    let mut waiting = Vec::new();
    for i in 0..50 {
        match world.ask(names[i % names.len()]) {
            Demand::Wait { start, on, .. } => {
                assert_eq!(start.len(), usize::from(i == 0), "only the first query reads");
                waiting.push(on);
            }
            other => panic!("query {i} got {other:?} instead of waiting"),
        }
    }
    let manifest_id = waiting[0][0];
    assert!(waiting.iter().all(|on| on == &vec![manifest_id]));
    world.finish(manifest_id);
    assert!(!world.isolate.is_pending(manifest_id), "waiters see the read is done");
    // They ask again: each distinct shard is read once, the others wait on it.
    let mut shard_waits: HashMap<String, Vec<ReadId>> = HashMap::new();
    for i in 0..50 {
        match world.ask(names[i % names.len()]) {
            Demand::Wait { on, .. } => shard_waits.entry(names[i % names.len()].to_owned()).or_default().push(on[0]),
            other => panic!("query {i} got {other:?} instead of waiting for its shard"),
        }
    }
    for ids in shard_waits.values() {
        assert!(ids.iter().all(|id| id == &ids[0]), "one read per shard: {ids:?}");
    }
    world.settle();
    for i in 0..50 {
        let name = names[i % names.len()];
        let catalog = world.answer(name).unwrap_or_else(|why| panic!("{name}: {why:?}"));
        assert!(holds(&catalog, name), "{name} is answered from its own shard");
    }
    assert_eq!(world.reads.len(), 1 + 3, "the manifest and three shards: {:?}", world.keys_read());
}

#[test]
fn a_name_under_no_zone_reads_no_shard() {
    let mut world = World::published();
    let catalog = world.answer("www.elsewhere.example.").unwrap();
    assert!(catalog.zones().is_empty());
    assert_eq!(world.keys_read(), vec![snapshot::CURRENT_KEY]);
}

#[test]
fn a_routed_shard_waits_for_the_health_state_once() {
    let mut world = World::published();
    world.kv.insert(HEALTH_KEY.into(), br#"{"updated_at": 999000, "checks": {"web": {"healthy": false}}}"#.to_vec());
    world.answer("a.iso.test.").unwrap();
    let before = world.reads.len();
    // Two queries for the routed name: the shard and health:current, read once for both.
    let first = world.ask("zz-routed.iso.test.");
    let second = world.ask("zz-routed.iso.test.");
    let (Demand::Wait { on: first_on, start, .. }, Demand::Wait { on: second_on, start: none, .. }) = (first, second) else { panic!("both wait") };
    assert_eq!(start.iter().map(|read| read.key.as_str()).filter(|key| *key == HEALTH_KEY).count(), 1);
    assert!(none.is_empty(), "the second query starts nothing");
    assert_eq!(first_on.len(), 2);
    assert!(first_on.iter().all(|id| second_on.contains(id)));
    world.settle();
    world.answer("zz-routed.iso.test.").unwrap();
    assert_eq!(world.reads.len(), before + 2);
    assert!(!world.isolate.health().checks["web"].healthy, "the health state read is the one answers use");
}

#[test]
fn a_failed_health_read_fails_open_and_is_retried_in_the_background() {
    let mut world = World::published();
    world.kv.insert(HEALTH_KEY.into(), b"not json".to_vec());
    world.answer("a.iso.test.").unwrap();
    world.answer("zz-routed.iso.test.").expect("answered without the health state");
    assert!(matches!(world.isolate.poll_event(), Some(Event::Serving { .. })));
    assert!(matches!(world.isolate.poll_event(), Some(Event::HealthFailed(_))));
    let reads = world.reads.len();
    world.answer("zz-routed.iso.test.").unwrap();
    assert_eq!(world.reads.len(), reads, "no request-path retry within the back-off");
    world.kv.insert(HEALTH_KEY.into(), br#"{"updated_at": 999000, "checks": {}}"#.to_vec());
    world.background();
    world.settle();
    assert_eq!(&world.keys_read()[reads..], [HEALTH_KEY, OVERRIDES_KEY], "the background reads both keys");
}

#[test]
fn nothing_published_backs_off_then_tries_again() {
    let mut world = World::new(Settings::default());
    assert_eq!(world.answer("a.iso.test.").err(), Some(Unavailable::NoVersion));
    assert!(matches!(world.isolate.poll_event(), Some(Event::NoVersion(_))));
    // Within the back-off: no read.
    world.now += DEFAULT_RETRY_MS - 1;
    assert!(matches!(world.ask("a.iso.test."), Demand::Unavailable(Unavailable::NoVersion)));
    assert_eq!(world.reads.len(), 1);
    world.publish(&version("", 1));
    world.now += 1;
    assert!(world.answer("a.iso.test.").is_ok());
}

#[test]
fn a_read_that_never_comes_back_is_abandoned_and_made_again() {
    let mut world = World::published();
    let Demand::Wait { start, until, .. } = world.ask("a.iso.test.") else { panic!() };
    let hung = start[0].id;
    assert_eq!(until, world.now + DEFAULT_STUCK_MS);
    world.in_flight.remove(&hung);
    // Before the deadline, others wait on it.
    world.now += DEFAULT_STUCK_MS - 1;
    assert!(matches!(world.ask("a.iso.test."), Demand::Wait { start, .. } if start.is_empty()));
    // At the deadline, the next query reads it again.
    world.now += 1;
    let Demand::Wait { start, .. } = world.ask("a.iso.test.") else { panic!() };
    assert_eq!(start.len(), 1);
    assert!(!world.isolate.is_pending(hung), "waiters on the hung read are released");
    assert!(matches!(world.isolate.poll_event(), Some(Event::Abandoned(key)) if key == snapshot::CURRENT_KEY));
    // A late answer to the abandoned read changes nothing.
    assert!(world.isolate.complete(hung, Ok(None), world.now).is_empty());
    world.settle();
    assert!(world.answer("a.iso.test.").is_ok());
}

#[test]
fn a_missing_shard_backs_off_and_recovers() {
    let mut world = World::published();
    world.answer("b.iso.test.").unwrap();
    let built = version("", 1);
    let index = Index::decode(&built.manifest_bytes).unwrap();
    let n = index.shard_for(&Name::from_str("c.iso.test.").unwrap());
    let key = snapshot::shard_key(&built.manifest.version, n);
    let value = world.kv.remove(&key).unwrap();
    assert_eq!(world.answer("c.iso.test.").err(), Some(Unavailable::Shard(n)));
    let reads = world.reads.len();
    world.now += DEFAULT_RETRY_MS - 1;
    assert_eq!(world.answer("c.iso.test.").err(), Some(Unavailable::Shard(n)));
    assert_eq!(world.reads.len(), reads, "not read again within the back-off");
    assert!(world.answer("b.iso.test.").is_ok(), "other shards still answer");
    world.kv.insert(key, value);
    world.now += 1;
    assert!(world.answer("c.iso.test.").is_ok());
}

#[test]
fn shards_are_held_within_the_budget_least_recently_used_out() {
    let built = version("", 1);
    let one = built.manifest.shards().iter().map(|shard| shard.bytes as usize).max().unwrap();
    let mut world = World::new(Settings { shard_budget: 2 * one, ..Settings::default() });
    world.publish(&built);
    for name in ["a.iso.test.", "b.iso.test.", "a.iso.test.", "c.iso.test."] {
        world.answer(name).unwrap();
    }
    let status = world.isolate.status();
    assert_eq!(status.held.len(), 2, "{status:?}");
    assert!(status.held_bytes <= 2 * one);
    let reads = world.reads.len();
    world.answer("a.iso.test.").unwrap();
    assert_eq!(world.reads.len(), reads, "a, used after b, stayed");
    world.answer("b.iso.test.").unwrap();
    assert_eq!(world.reads.len(), reads + 1, "b went first");
}

#[test]
fn a_refresh_reads_the_new_versions_shards_before_switching() {
    let mut world = World::published();
    world.answer("a.iso.test.").unwrap();
    // The health keys, never read (a's shard has no routed sets), are read after the response.
    world.background();
    assert_eq!(world.in_flight.values().map(|read| read.key.as_str()).collect::<Vec<_>>(), [HEALTH_KEY, OVERRIDES_KEY]);
    world.settle();
    world.background();
    assert!(world.in_flight.is_empty(), "no refresh due yet");
    let next = version("a TXT \"new\"\n", 2);
    world.publish(&next);
    world.now += DEFAULT_REFRESH_MS;
    world.background();
    assert!(world.isolate.take_tables_due());
    // The manifest comes back: the shard holding a's range is read before the switch.
    let manifest = world.in_flight.values().find(|read| read.key == snapshot::CURRENT_KEY).unwrap().id;
    world.finish(manifest);
    assert_eq!(world.isolate.version().as_deref(), Some(version("", 1).manifest.version.as_str()), "not switched before its shards are in");
    let prefix = format!("{}.", snapshot::version_key(&next.manifest.version));
    assert_eq!(world.in_flight.values().filter(|read| read.key.starts_with(&prefix)).count(), 1, "the one shard held, in the new version");
    world.settle();
    assert_eq!(world.isolate.version().as_deref(), Some(next.manifest.version.as_str()));
    let reads = world.reads.len();
    let catalog = world.answer("a.iso.test.").unwrap();
    assert_eq!(world.reads.len(), reads, "the new shard was read in the background");
    let a = Name::from_str("a.iso.test.").unwrap();
    assert!(catalog.zones().iter().any(|zone| zone.node(&a).is_some_and(|node| node.rrset(RecordType::TXT).is_some())), "the new version answers");
}

/// A warm isolate may hold a whole large zone (the default budget holds a 1M-record one); a
/// refresh reads only the most recently used of the new version's shards, up to
/// `SWITCH_READ_BYTES`, before switching, and the rest when queries need them.
#[test]
fn a_refresh_reads_a_bounded_part_of_a_large_zone_before_switching() {
    let hosts = |serial: u32| {
        let mut text = format!("$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for index in 0..60_000u32 {
            text.push_str(&format!("h{index} A 10.{}.{}.{}\n", index >> 16, (index >> 8) & 255, index & 255));
        }
        let catalog = compile_all(&[SourceFile { path: "big.test.zone".into(), text }]).unwrap_or_else(|errors| panic!("{errors:?}"));
        snapshot::build(&catalog, snapshot::DEFAULT_SHARD_BYTES, u64::from(serial)).unwrap()
    };
    let first = hosts(1);
    let shards = first.shards.len();
    assert!(first.shards.iter().map(Vec::len).sum::<usize>() > SWITCH_READ_BYTES, "{shards} shards");
    let mut world = World::new(Settings::default());
    world.publish(&first);
    let index = Index::decode(&first.manifest_bytes).unwrap();
    let names: Vec<Name> = (0..shards).map(|n| index.first(n).unwrap()).filter(|name| !name.is_root()).collect();
    for name in &names {
        world.answer(&name.to_ascii()).unwrap();
    }
    world.answer("h0.big.test.").unwrap();
    assert_eq!(world.isolate.status().held.len(), shards, "the default budget holds them all");
    let next = hosts(2);
    world.publish(&next);
    world.now += DEFAULT_REFRESH_MS;
    world.background();
    let manifest = world.in_flight.values().find(|read| read.key == snapshot::CURRENT_KEY).unwrap().id;
    world.finish(manifest);
    let prefix = format!("{}.", snapshot::version_key(&next.manifest.version));
    let prefetched: Vec<usize> = world.in_flight.values().filter_map(|read| read.key.strip_prefix(&prefix)?.parse().ok()).collect();
    let bytes: usize = prefetched.iter().map(|&n| next.shards[n].len()).sum();
    assert!(!prefetched.is_empty() && prefetched.len() < shards && bytes <= SWITCH_READ_BYTES, "{prefetched:?}: {bytes} bytes");
    assert!(prefetched.contains(&index.shard_for(&Name::from_str("h0.big.test.").unwrap())), "the most recently used first");
    world.settle();
    assert_eq!(world.isolate.version().as_deref(), Some(next.manifest.version.as_str()));
    let missing = (0..shards).find(|n| !prefetched.contains(n)).unwrap();
    let reads = world.reads.len();
    let name = Index::decode(&next.manifest_bytes).unwrap().first(missing).unwrap();
    let name = if name.is_root() { Name::from_str("big.test.").unwrap() } else { name };
    world.answer(&name.to_ascii()).unwrap();
    assert_eq!(world.reads.len(), reads + 1, "a shard not read before the switch is read when needed");
}

#[test]
fn a_new_version_with_a_missing_shard_is_not_switched_to() {
    let mut world = World::published();
    world.answer("a.iso.test.").unwrap();
    let next = version("a TXT \"new\"\n", 2);
    world.publish(&next);
    let n = Index::decode(&next.manifest_bytes).unwrap().shard_for(&Name::from_str("a.iso.test.").unwrap());
    world.kv.remove(&snapshot::shard_key(&next.manifest.version, n));
    world.now += DEFAULT_REFRESH_MS;
    world.background();
    world.settle();
    assert_eq!(world.isolate.version().as_deref(), Some(version("", 1).manifest.version.as_str()), "still the first version");
    let mut kept = false;
    while let Some(event) = world.isolate.poll_event() {
        kept |= matches!(event, Event::Kept { .. });
    }
    assert!(kept);
    assert!(world.answer("a.iso.test.").is_ok(), "the last good version keeps answering");
}

#[test]
fn one_refresh_at_a_time() {
    let mut world = World::published();
    world.answer("a.iso.test.").unwrap();
    world.now += DEFAULT_REFRESH_MS;
    world.background();
    let first = world.in_flight.len();
    assert!(first >= 1);
    world.background();
    world.background();
    assert_eq!(world.in_flight.len(), first, "a refresh in flight is not repeated");
}

#[test]
fn settings_read_from_the_variables() {
    let vars = |name: &str| match name {
        "SNAPSHOT_REFRESH_SECONDS" => Some("1.5".to_owned()),
        "SHARD_CACHE_KIB" => Some("64".to_owned()),
        _ => None,
    };
    let settings = Settings::from_vars(vars);
    assert_eq!((settings.refresh_ms, settings.shard_budget), (1_500, 64 * 1024));
    let settings = Settings::from_vars(|_| Some("nonsense".to_owned()));
    assert_eq!(settings, Settings::default());
}

/// Publishes `versions` oldest first, with a history naming them newest first.
fn published_history(world: &mut World, versions: &[&snapshot::Built]) {
    let mut history = Vec::new();
    for built in versions {
        world.publish(built);
        history.insert(0, crate::publish::history::Published { version: built.manifest.version.clone(), published_at: 1, zones: 1, ..Default::default() });
    }
    world.kv.insert(HISTORY_KEY.into(), crate::publish::history::history_to_json(&history).into_bytes());
}

fn shard_of(built: &snapshot::Built, name: &str) -> String {
    let n = Index::decode(&built.manifest_bytes).unwrap().shard_for(&Name::from_str(name).unwrap());
    snapshot::shard_key(&built.manifest.version, n)
}

fn has_txt(catalog: &Catalog, name: &str) -> bool {
    let name = Name::from_str(name).unwrap();
    catalog.zones().iter().any(|zone| zone.node(&name).is_some_and(|node| node.rrset(RecordType::TXT).is_some()))
}

#[test]
fn a_missing_shard_is_answered_from_the_last_good_version() {
    let old = version("c TXT \"old\"\n", 1);
    let new = version("c TXT \"new\"\nd TXT \"new\"\n", 2);
    let mut world = World::new(Settings::default());
    published_history(&mut world, &[&old, &new]);
    world.kv.remove(&shard_of(&new, "c.iso.test."));
    // Cold: the manifest, the missing shard, the history, the old manifest, the old shard.
    let catalog = world.answer("c.iso.test.").expect("answered from the previous version");
    assert!(has_txt(&catalog, "c.iso.test."));
    assert_eq!(world.isolate.status().fallback.as_deref(), Some(old.manifest.version.as_str()));
    let mut fell_back = false;
    while let Some(event) = world.isolate.poll_event() {
        fell_back |= matches!(event, Event::FellBack { ref version, .. } if *version == old.manifest.version);
    }
    assert!(fell_back, "and says so");
    // Other shards still come from the current version; the fallback is found once.
    assert!(has_txt(&world.answer("d.iso.test.").unwrap(), "d.iso.test."));
    let reads = world.reads.len();
    world.answer("c.iso.test.").unwrap();
    assert_eq!(world.reads.len(), reads, "nothing read again");
    assert_eq!(world.keys_read().iter().filter(|key| **key == HISTORY_KEY).count(), 1);
}

#[test]
fn queries_share_the_search_for_the_last_good_version() {
    let old = version("", 1);
    let new = version("c TXT \"new\"\n", 2);
    let mut world = World::new(Settings::default());
    published_history(&mut world, &[&old, &new]);
    world.kv.remove(&shard_of(&new, "c.iso.test."));
    world.answer("a.iso.test.").unwrap();
    // The first query finds the shard missing; twenty more arrive while the history is read.
    let Demand::Wait { .. } = world.ask("c.iso.test.") else { panic!() };
    let shard = *world.in_flight.keys().last().unwrap();
    world.finish(shard);
    let Demand::Wait { start, .. } = world.ask("c.iso.test.") else { panic!() };
    assert_eq!(start.iter().map(|read| read.key.as_str()).collect::<Vec<_>>(), [HISTORY_KEY]);
    for _ in 0..20 {
        assert!(matches!(world.ask("c.iso.test."), Demand::Wait { start, .. } if start.is_empty()));
    }
    for _ in 0..20 {
        assert!(world.answer("c.iso.test.").is_ok());
    }
    assert_eq!(world.keys_read().iter().filter(|key| **key == HISTORY_KEY).count(), 1);
}

#[test]
fn an_unusable_pointer_serves_the_last_good_version_until_it_is_repaired() {
    let old = version("c TXT \"old\"\n", 1);
    let new = version("c TXT \"new\"\n", 2);
    let mut world = World::new(Settings::default());
    published_history(&mut world, &[&old, &new]);
    // The pointer is garbage, and so is the newest version's own manifest.
    world.kv.insert(snapshot::CURRENT_KEY.into(), b"garbage".to_vec());
    world.kv.insert(snapshot::version_key(&new.manifest.version), b"garbage".to_vec());
    assert!(has_txt(&world.answer("c.iso.test.").expect("served from the history"), "c.iso.test."));
    assert_eq!(world.isolate.version().as_deref(), Some(old.manifest.version.as_str()));
    // Repaired: the next refresh switches to it.
    world.publish(&new);
    world.settle();
    world.now += DEFAULT_REFRESH_MS;
    world.background();
    world.settle();
    assert_eq!(world.isolate.version().as_deref(), Some(new.manifest.version.as_str()));
}

#[test]
fn with_no_good_version_left_queries_fail_and_back_off() {
    let only = version("", 1);
    let mut world = World::new(Settings::default());
    published_history(&mut world, &[&only]);
    world.kv.remove(&shard_of(&only, "c.iso.test."));
    assert_eq!(
        world.answer("c.iso.test.").err(),
        Some(Unavailable::Shard(Index::decode(&only.manifest_bytes).unwrap().shard_for(&Name::from_str("c.iso.test.").unwrap())))
    );
    let mut gave_up = false;
    while let Some(event) = world.isolate.poll_event() {
        gave_up |= matches!(event, Event::NoFallback(_));
    }
    assert!(gave_up);
    let reads = world.reads.len();
    assert!(world.answer("c.iso.test.").is_err());
    assert_eq!(world.reads.len(), reads, "no read within the back-off");
    assert!(world.answer("a.iso.test.").is_ok(), "the other shards answer");
}
