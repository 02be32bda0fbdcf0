//! The snapshot: the compiled zones as the CLI publishes them to KV and the Worker loads them.
//!
//! A published version is a small **manifest** and one or more **shards**. The manifest holds
//! what every query may need (health checks, latency matrix, private views' access rules,
//! the zone apexes) and where the shards split the name space. A shard holds the nodes of a
//! contiguous range of names in canonical order (RFC 4034 §6.1), across every zone and view,
//! plus the copies of other nodes that answering a name of its range reads: the ancestors of
//! its range (zone cuts, empty non-terminals, the apex and its SOA), wildcards, and the
//! closure of what its data points at (CNAME targets, alias targets, in-zone name servers for
//! glue). A shard alone therefore answers every query for a name of its range exactly as the
//! whole catalog would, so a cold isolate reads the manifest and one shard (two KV reads)
//! whatever the size of the zones, and holds only the shards its queries touched.
//!
//! Records are DNS wire-format buffers (names compressed across records, as in a message);
//! hickory's encoder addresses at most 65,535 bytes, so records go in chunks of at most that
//! size, each with its own compression context.
//!
//! KV keys (publishing is atomic because readers only follow the pointer):
//! * `snapshot:<version>.<n>`: shard `n`, written first;
//! * `snapshot:<version>`: the version's manifest;
//! * `snapshot:current`: a copy of the manifest readers should load, written last (so the
//!   first read of a cold isolate is the manifest itself, not a pointer to it);
//! * `sources:<version>`: the zone sources the version was compiled from (JSON,
//!   [`sources_to_json`]), written beside it, so the admin API can recompile every zone with
//!   one replaced;
//! * `snapshot:history`: publishing's bookkeeping (answering never reads it), kept by
//!   [`crate::publish`], which writes these keys in this order and deletes the keys of versions
//!   retention lets go ([`Manifest::keys`]).
//!
//! For files and tests the manifest and shards travel together as one **bundle**
//! ([`encode`], [`decode`]).

use hickory_proto::rr::{LowerName, Name, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::health::spec::HealthCheckSpec;
use crate::policy::{Action, Rule};
use crate::zone::compile::SourceFile;
use crate::zone::key::{KeyHashing, NameKey};
use crate::zone::routes::RoutedSet;
use crate::zone::{Access, Catalog, CompactError, Node, View, Zone};

/// The KV key holding the current manifest.
pub const CURRENT_KEY: &str = "snapshot:current";
/// First bytes of every manifest; the digit is the format version.
pub const MAGIC: &[u8; 8] = b"EDGEDNS7";
/// The manifest format before zones said whether they are signed: still read, so a version
/// published before an upgrade keeps answering after it (its zones unsigned).
const MAGIC_V6: &[u8; 8] = b"EDGEDNS6";
/// First bytes of every shard.
const SHARD_MAGIC: &[u8; 8] = b"EDGESHD6";
/// First bytes of a bundle (manifest and shards in one file).
const BUNDLE_MAGIC: &[u8; 8] = b"EDGEBND6";

/// How many bytes of records a shard holds before the next one starts, unless the publisher
/// says otherwise: small enough that a cold isolate decodes one in a few milliseconds, large
/// enough that a million records take a few hundred keys.
pub const DEFAULT_SHARD_BYTES: usize = 128 * 1024;

/// The largest value Workers KV stores (25 MiB).
pub const KV_VALUE_LIMIT: usize = 25 * 1024 * 1024;

/// The KV key of a version's manifest.
pub fn version_key(version: &str) -> String {
    format!("snapshot:{version}")
}

/// The KV key of a version's shard.
pub fn shard_key(version: &str, shard: usize) -> String {
    format!("snapshot:{version}.{shard}")
}

/// The KV key of the sources a version was compiled from.
pub fn sources_key(version: &str) -> String {
    format!("sources:{version}")
}

/// The value of `sources:<version>`: `{"files": [{"path": "...", "text": "..."}]}`.
#[derive(Serialize, Deserialize)]
struct Sources {
    files: Vec<SourceFile>,
}

/// The sources key's value for these files.
pub fn sources_to_json(files: &[SourceFile]) -> String {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        files: &'a [SourceFile],
    }
    // Strings only: serializing cannot fail.
    serde_json::to_string(&Borrowed { files }).unwrap_or_else(|_| r#"{"files":[]}"#.to_owned())
}

/// Reads a sources key's value.
pub fn sources_from_json(text: &str) -> Result<Vec<SourceFile>, String> {
    serde_json::from_str::<Sources>(text).map(|sources| sources.files).map_err(|e| format!("not a list of zone sources: {e}"))
}

/// One published version's table of contents: read first by a cold isolate, kept for the
/// isolate's life, small whatever the size of the zones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The version id ([`version_id`]).
    pub version: String,
    health_checks: BTreeMap<String, HealthCheckSpec>,
    latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
    views: Vec<ViewEntry>,
    /// Every zone, public ones first, in the catalog's order.
    zones: Vec<ZoneEntry>,
    /// The shards, in name order.
    shards: Vec<ShardEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ViewEntry {
    name: String,
    /// Client networks in presentation form.
    networks: Vec<String>,
    token_sha256: Option<[u8; 32]>,
}

/// A zone of the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneEntry {
    /// 0 for the public zones, `i + 1` for private view `i`.
    pub catalog: u32,
    /// The apex in presentation form.
    pub apex: String,
    /// How many records it holds (routed sets count one each).
    pub records: u64,
    /// Whether its answers are signed (`dnssec = true` in its routes file).
    pub dnssec: bool,
}

/// [`Manifest`] as format 6 wrote it (zones without `dnssec`).
#[derive(Serialize, Deserialize)]
struct ManifestV6 {
    version: String,
    health_checks: BTreeMap<String, HealthCheckSpec>,
    latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
    views: Vec<ViewEntry>,
    zones: Vec<ZoneEntryV6>,
    shards: Vec<ShardEntry>,
}

/// [`ZoneEntry`] as format 6 wrote it.
#[derive(Serialize, Deserialize)]
struct ZoneEntryV6 {
    catalog: u32,
    apex: String,
    records: u64,
}

impl From<&Manifest> for ManifestV6 {
    fn from(manifest: &Manifest) -> Self {
        let zones = manifest.zones.iter().map(|zone| ZoneEntryV6 { catalog: zone.catalog, apex: zone.apex.clone(), records: zone.records }).collect();
        Self {
            version: manifest.version.clone(),
            health_checks: manifest.health_checks.clone(),
            latency_matrix: manifest.latency_matrix.clone(),
            views: manifest.views.clone(),
            zones,
            shards: manifest.shards.clone(),
        }
    }
}

impl From<ManifestV6> for Manifest {
    fn from(old: ManifestV6) -> Self {
        let zones = old.zones.into_iter().map(|zone| ZoneEntry { catalog: zone.catalog, apex: zone.apex, records: zone.records, dnssec: false }).collect();
        Self { version: old.version, health_checks: old.health_checks, latency_matrix: old.latency_matrix, views: old.views, zones, shards: old.shards }
    }
}

/// A shard of the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// The first name of its range in wire form (the root for the first shard); the range
    /// ends where the next shard's begins.
    first: Vec<u8>,
    /// Its size in bytes.
    pub bytes: u32,
    /// Whether it holds routed record sets (whose answers depend on the health state).
    pub routed: bool,
}

#[derive(Serialize, Deserialize)]
struct ShardImage {
    parts: Vec<ZonePart>,
}

/// The nodes of one zone a shard holds.
#[derive(Serialize, Deserialize)]
struct ZonePart {
    /// 0 for the public zones, `i + 1` for private view `i`.
    catalog: u32,
    /// The apex in presentation form.
    apex: String,
    /// Records of the names in the shard's range.
    owned: Vec<RecordChunk>,
    /// Routed sets of the names in the shard's range.
    owned_routed: Vec<RoutedSet>,
    /// Records copied from outside the range, which answering names of the range reads.
    carried: Vec<RecordChunk>,
    /// Routed sets copied from outside the range.
    carried_routed: Vec<RoutedSet>,
    /// Empty non-terminals among the names held, in wire form.
    empty: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
struct RecordChunk {
    /// How many records `records` holds.
    count: u32,
    /// The records in wire format, back to back, sharing one compression context.
    records: Vec<u8>,
}

/// [`ShardImage`] read in place: the record chunks borrowed from the value read (postcard writes
/// a byte vector and a byte slice alike), for [`Manifest::decode_shard`], which copies them once.
#[derive(Deserialize)]
struct ShardView<'a> {
    #[serde(borrow)]
    parts: Vec<ZonePartView<'a>>,
}

/// [`ZonePart`] read in place (the same fields in the same order).
#[derive(Deserialize)]
struct ZonePartView<'a> {
    catalog: u32,
    apex: String,
    #[serde(borrow)]
    owned: Vec<ChunkView<'a>>,
    owned_routed: Vec<RoutedSet>,
    #[serde(borrow)]
    carried: Vec<ChunkView<'a>>,
    carried_routed: Vec<RoutedSet>,
    #[serde(borrow)]
    empty: Vec<&'a [u8]>,
}

/// [`RecordChunk`] read in place.
#[derive(Deserialize)]
struct ChunkView<'a> {
    count: u32,
    records: &'a [u8],
}

#[derive(Serialize, Deserialize)]
struct Bundle {
    manifest: Vec<u8>,
    shards: Vec<Vec<u8>>,
}

/// Why a snapshot could not be decoded (the Worker keeps its last good catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The magic bytes are missing: not an image, or another format version.
    BadMagic,
    /// The container is corrupt.
    Container,
    /// A zone's records are corrupt.
    Records {
        /// The zone.
        apex: String,
    },
    /// Records that cannot form a zone (no SOA, owner outside the zone).
    Zone {
        /// The zone.
        apex: String,
    },
    /// A shard the manifest lists is not there, or another version's.
    Shard(usize),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadMagic => write!(f, "not a snapshot of this format (bad magic): republish with this version of edgedns"),
            Self::Container => write!(f, "corrupt snapshot container"),
            Self::Records { apex } => write!(f, "corrupt records for zone {apex}"),
            Self::Zone { apex } => write!(f, "records for zone {apex} do not form a zone"),
            Self::Shard(shard) => write!(f, "shard {shard} is missing or does not belong to the manifest"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Why an image could not be encoded.
#[derive(Debug)]
pub struct EncodeError(pub String);

/// A version ready to publish: its manifest (version id set) and its shards.
#[derive(Debug, Clone)]
pub struct Built {
    /// The manifest.
    pub manifest: Manifest,
    /// The encoded manifest (the value of `snapshot:<version>` and `snapshot:current`).
    pub manifest_bytes: Vec<u8>,
    /// The encoded shards, in order (`snapshot:<version>.<n>`).
    pub shards: Vec<Vec<u8>>,
}

impl Built {
    /// Every key and value to write, shards first and the manifest last (the pointer,
    /// `snapshot:current`, is not among them: it goes after everything else).
    pub fn entries(&self) -> Vec<(String, &[u8])> {
        let version = &self.manifest.version;
        let mut entries: Vec<(String, &[u8])> = self.shards.iter().enumerate().map(|(n, shard)| (shard_key(version, n), shard.as_slice())).collect();
        entries.push((version_key(version), self.manifest_bytes.as_slice()));
        entries
    }

    /// Total bytes of the manifest and shards.
    pub fn bytes(&self) -> usize {
        self.manifest_bytes.len() + self.shards.iter().map(Vec::len).sum::<usize>()
    }

    /// The version as one bundle ([`decode`] reads it).
    pub fn bundle(&self) -> Vec<u8> {
        let mut bytes = BUNDLE_MAGIC.to_vec();
        let bundle = Bundle { manifest: self.manifest_bytes.clone(), shards: self.shards.clone() };
        // Byte vectors always serialize.
        bytes.extend(postcard::to_allocvec(&bundle).unwrap_or_default());
        bytes
    }
}

/// Splits a catalog into a manifest and shards of about `shard_bytes` bytes of records each,
/// with the version id made from the content and `unix_seconds`.
pub fn build(catalog: &Catalog, shard_bytes: usize, unix_seconds: u64) -> Result<Built, EncodeError> {
    let catalogs: Vec<&Catalog> = std::iter::once(catalog).chain(catalog.views().iter().map(|view| &view.zones)).collect();
    let mut zones = Vec::new();
    let mut entries = Vec::new();
    for (c, part) in catalogs.iter().enumerate() {
        for (z, zone) in part.zones().iter().enumerate() {
            let mut records = 0u64;
            for (name, node) in zone.nodes() {
                let weight = node_weight(&name, &node);
                records += node.rrsets().iter().map(|set| set.records.len() as u64).sum::<u64>() + node.routed_sets().len() as u64;
                entries.push(Entry { name: name.into_owned(), catalog: c, zone: z, weight });
            }
            zones.push(ZoneEntry { catalog: c as u32, apex: zone.apex().to_ascii(), records, dnssec: zone.signed() });
        }
    }
    entries.sort_by(|a, b| (&a.name, a.catalog, a.zone).cmp(&(&b.name, b.catalog, b.zone)));
    // Ranges of about `shard_bytes`, never splitting one name (it may be in several zones).
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut weight = 0;
    for (index, entry) in entries.iter().enumerate() {
        let name_changes = index.checked_sub(1).and_then(|previous| entries.get(previous)).is_some_and(|previous| previous.name != entry.name);
        if index > start && weight >= shard_bytes.max(1) && name_changes {
            ranges.push(start..index);
            start = index;
            weight = 0;
        }
        weight += entry.weight;
    }
    ranges.push(start..entries.len());
    let mut apexes: HashMap<LowerName, Vec<(usize, usize)>> = HashMap::new();
    for (c, part) in catalogs.iter().enumerate() {
        for (z, zone) in part.zones().iter().enumerate() {
            apexes.entry(LowerName::new(zone.apex())).or_default().push((c, z));
        }
    }
    let closure = Closure { catalogs: &catalogs, apexes };
    let mut shards = Vec::with_capacity(ranges.len());
    let mut shard_entries = Vec::with_capacity(ranges.len());
    for (n, range) in ranges.iter().enumerate() {
        let owned = entries.get(range.clone()).unwrap_or_default();
        let first = match owned.first() {
            Some(entry) if n > 0 => Name::from(&entry.name),
            _ => Name::root(),
        };
        let (image, routed) = closure.shard(&first, owned)?;
        let mut bytes = SHARD_MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(&image).map_err(|e| EncodeError(e.to_string()))?);
        shard_entries.push(ShardEntry { first: name_to_wire(&first)?, bytes: bytes.len() as u32, routed });
        shards.push(bytes);
    }
    let mut manifest = Manifest {
        version: String::new(),
        health_checks: catalog.health_checks().clone(),
        latency_matrix: catalog.latency_matrix().clone(),
        views: catalog
            .views()
            .iter()
            .map(|view| ViewEntry {
                name: view.name.clone(),
                networks: view.access.networks.iter().map(ToString::to_string).collect(),
                token_sha256: view.access.token_sha256,
            })
            .collect(),
        zones,
        shards: shard_entries,
    };
    // The version names the content: the manifest without its id, and every shard.
    let mut content = manifest_bytes(&manifest)?;
    for shard in &shards {
        content.extend_from_slice(shard);
    }
    manifest.version = version_id(&content, unix_seconds);
    let manifest_bytes = manifest_bytes(&manifest)?;
    Ok(Built { manifest, manifest_bytes, shards })
}

/// A manifest in format 7 when some zone is signed, else in format 6, which says the same
/// without the flag: a Worker from before signing (one rolled back to, a reference in a
/// benchmark) reads every version that signs nothing.
fn manifest_bytes(manifest: &Manifest) -> Result<Vec<u8>, EncodeError> {
    let error = |e: postcard::Error| EncodeError(e.to_string());
    if manifest.zones.iter().any(|zone| zone.dnssec) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(manifest).map_err(error)?);
        Ok(bytes)
    } else {
        let mut bytes = MAGIC_V6.to_vec();
        bytes.extend(postcard::to_allocvec(&ManifestV6::from(manifest)).map_err(error)?);
        Ok(bytes)
    }
}

/// A node of the catalog, placed in canonical order.
struct Entry {
    name: LowerName,
    catalog: usize,
    zone: usize,
    /// About how many bytes its records take.
    weight: usize,
}

/// An estimate of a node's encoded size (names uncompressed), to size shards.
fn node_weight(name: &LowerName, node: &Node) -> usize {
    let owner = name.len() + 1;
    let records: usize = node.rrsets().iter().flat_map(|set| set.records.iter()).map(|record| owner + 10 + rdata_len(&record.data)).sum();
    let routed = node.routed_sets().len() * 64;
    owner + records + routed
}

fn rdata_len(data: &RData) -> usize {
    let mut bytes = Vec::with_capacity(64);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_canonical_form(true);
    // A record that does not encode is reported when the shard is encoded.
    let _ = data.emit(&mut encoder);
    bytes.len()
}

/// How far references are followed when copying what a shard's data points at: as far as the
/// engine can follow them from one query (each link of a CNAME chain may be a routed set whose
/// aliases go [`crate::policy::MAX_ALIAS_DEPTH`] deep), so every answer finds its data.
const REFERENCE_DEPTH: usize = (crate::answer::MAX_CHAIN + 1) * (crate::policy::MAX_ALIAS_DEPTH + 1);

/// Works out what a shard must hold besides its range.
struct Closure<'a> {
    catalogs: &'a [&'a Catalog],
    /// Zones by apex, as (catalog, zone) positions.
    apexes: HashMap<LowerName, Vec<(usize, usize)>>,
}

/// The names one shard holds, per (catalog, zone), and whether each is in its range.
type Held = BTreeMap<(usize, usize), BTreeMap<LowerName, bool>>;

impl Closure<'_> {
    fn zone(&self, catalog: usize, zone: usize) -> &Zone {
        #[allow(clippy::indexing_slicing)] // build side: positions the builder enumerated itself from these catalogs
        &self.catalogs[catalog].zones()[zone]
    }

    /// The shard image for `owned` (one range), and whether it holds routed sets.
    fn shard(&self, first: &Name, owned: &[Entry]) -> Result<(ShardImage, bool), EncodeError> {
        let mut held: Held = BTreeMap::new();
        let mut pending: Vec<(usize, usize, LowerName, usize)> = Vec::new();
        for entry in owned {
            held.entry((entry.catalog, entry.zone)).or_default().insert(entry.name.clone(), true);
            pending.push((entry.catalog, entry.zone, entry.name.clone(), 0));
        }
        // Names of the range whose ancestors come before it: those ancestors are ancestors
        // of its first name, in every zone above it.
        self.lookup_path(first, 0, &mut pending);
        // The smallest depth each name was expanded at: a name reached again by a shorter path
        // is expanded again, so its references get the whole remaining depth.
        let mut expanded: HashMap<(usize, usize, LowerName), usize> = HashMap::new();
        while let Some((catalog, zone_index, name, depth)) = pending.pop() {
            let zone = self.zone(catalog, zone_index);
            let Some(node) = zone.nodes_get(&name) else { continue };
            let key = (catalog, zone_index, name.clone());
            if expanded.get(&key).is_some_and(|&before| before <= depth) {
                continue;
            }
            expanded.insert(key, depth);
            // Names of the range were entered as owned above; anything else is carried.
            held.entry((catalog, zone_index)).or_default().entry(name.clone()).or_insert(false);
            // Ancestors up to the apex: lookups walk down from it.
            let apex_labels = zone.apex().num_labels();
            let mut ancestor = name.base_name();
            while ancestor.num_labels() >= apex_labels && !name.is_root() {
                pending.push((catalog, zone_index, ancestor.clone(), depth.max(1)));
                if ancestor.num_labels() == apex_labels {
                    break;
                }
                ancestor = ancestor.base_name();
            }
            // The wildcard below it, for names of the range it is the closest encloser of.
            if let Ok(wildcard) = Name::from(&name).prepend_label("*") {
                let wildcard = LowerName::new(&wildcard);
                if zone.nodes_get(&wildcard).is_some() {
                    pending.push((catalog, zone_index, wildcard, depth.max(1)));
                }
            }
            if depth < REFERENCE_DEPTH {
                for target in references(&node) {
                    self.lookup_path(&target, depth + 1, &mut pending);
                }
            }
        }
        self.image(&held)
    }

    /// Queues what looking `name` up reads: in every zone (and view) at or above it, the
    /// names from the apex down to it that exist (wildcards follow from each).
    fn lookup_path(&self, name: &Name, depth: usize, pending: &mut Vec<(usize, usize, LowerName, usize)>) {
        let depth = depth.max(1);
        let name = LowerName::new(name);
        let mut apex = name.clone();
        loop {
            for &(c, z) in self.apexes.get(&apex).map(Vec::as_slice).unwrap_or_default() {
                let zone = self.zone(c, z);
                let mut candidate = name.clone();
                loop {
                    if zone.nodes_get(&candidate).is_some() {
                        pending.push((c, z, candidate.clone(), depth));
                    }
                    if candidate.num_labels() <= apex.num_labels() {
                        break;
                    }
                    candidate = candidate.base_name();
                }
            }
            if apex.is_root() {
                break;
            }
            apex = apex.base_name();
        }
    }

    fn image(&self, held: &Held) -> Result<(ShardImage, bool), EncodeError> {
        let mut parts = Vec::with_capacity(held.len());
        let mut routed_any = false;
        for (&(catalog, zone_index), names) in held {
            let zone = self.zone(catalog, zone_index);
            let (mut owned, mut carried) = (Vec::new(), Vec::new());
            let (mut owned_routed, mut carried_routed) = (Vec::new(), Vec::new());
            let mut empty = Vec::new();
            for (name, &in_range) in names {
                let Some(node) = zone.nodes_get(name) else { continue };
                if node.is_empty() {
                    empty.push(name_to_wire(&Name::from(name))?);
                    continue;
                }
                let records = node.rrsets().iter().flat_map(|set| set.records.iter()).cloned();
                let routed = node.routed_sets().iter().map(|set| RoutedSet::clone(set));
                routed_any |= !node.routed_sets().is_empty();
                if in_range {
                    owned.extend(records);
                    owned_routed.extend(routed);
                } else {
                    carried.extend(records);
                    carried_routed.extend(routed);
                }
            }
            parts.push(ZonePart {
                catalog: catalog as u32,
                apex: zone.apex().to_ascii(),
                owned: encode_chunks(&owned)?,
                owned_routed,
                carried: encode_chunks(&carried)?,
                carried_routed,
                empty,
            });
        }
        Ok((ShardImage { parts }, routed_any))
    }
}

/// The names a node's data sends answers to: CNAME targets (chains restart there), in-zone
/// name servers (glue), and the CNAME values and alias targets of routed sets.
fn references(node: &Node) -> Vec<Name> {
    let mut targets = Vec::new();
    for set in node.rrsets() {
        for record in &set.records {
            match &record.data {
                RData::CNAME(target) => targets.push(target.0.clone()),
                RData::NS(target) => targets.push(target.0.clone()),
                _ => {}
            }
        }
    }
    for set in node.routed_sets() {
        rule_references(&set.rule, &mut targets);
    }
    targets
}

fn rule_references(rule: &Rule, targets: &mut Vec<Name>) {
    match &rule.action {
        Action::Values(values) => {
            for value in values {
                if let RData::CNAME(target) = &value.0 {
                    targets.push(target.0.clone());
                }
            }
        }
        Action::Alias { target, .. } => {
            if let Ok(name) = Name::from_ascii(target) {
                targets.push(name);
            }
        }
        Action::Weighted { choices, .. } => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Failover { primary, secondary } => {
            rule_references(primary, targets);
            rule_references(secondary, targets);
        }
        Action::Geolocation(choices) => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Latency(choices) => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Geoproximity(choices) => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Cidr(choices) => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Asn(choices) => choices.iter().for_each(|c| rule_references(&c.rule, targets)),
        Action::Multivalue(rules) => rules.iter().for_each(|r| rule_references(r, targets)),
    }
}

/// Records into chunks that each fit hickory's 65,535-byte encoder: a record that does not fit
/// in the current chunk starts the next one (one that fits in no chunk is an error).
fn encode_chunks(records: &[Record]) -> Result<Vec<RecordChunk>, EncodeError> {
    let mut chunks = Vec::new();
    let mut remaining = records;
    while !remaining.is_empty() {
        let mut bytes = Vec::new();
        let mut count: u32 = 0;
        let mut failure = None;
        {
            let mut encoder = BinEncoder::new(&mut bytes);
            for record in remaining {
                let mark = encoder.len();
                if let Err(error) = record.emit(&mut encoder) {
                    failure = Some((mark, error));
                    break;
                }
                count += 1;
            }
        }
        if let Some((mark, error)) = failure {
            if count == 0 {
                return Err(EncodeError(error.to_string()));
            }
            // Drop the partly written record; it starts the next chunk.
            bytes.truncate(mark);
        }
        remaining = remaining.get(count as usize..).unwrap_or_default();
        chunks.push(RecordChunk { count, records: bytes });
    }
    Ok(chunks)
}

fn decode_chunks(chunks: &[RecordChunk], records: &mut Vec<Record>, apex: &str) -> Result<(), SnapshotError> {
    let corrupt = || SnapshotError::Records { apex: apex.to_owned() };
    for chunk in chunks {
        let mut decoder = BinDecoder::new(&chunk.records);
        // Every record takes at least 11 bytes, which bounds a corrupt count.
        records.reserve((chunk.count as usize).min(chunk.records.len() / 11));
        for _ in 0..chunk.count {
            records.push(Record::read(&mut decoder).map_err(|_| corrupt())?);
        }
        if !decoder.is_empty() {
            return Err(corrupt());
        }
    }
    Ok(())
}

impl Manifest {
    /// Decodes a manifest (the value of `snapshot:current` or `snapshot:<version>`).
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let manifest: Self = match (bytes.strip_prefix(MAGIC.as_slice()), bytes.strip_prefix(MAGIC_V6.as_slice())) {
            (Some(body), _) => postcard::from_bytes(body).map_err(|_| SnapshotError::Container)?,
            (None, Some(body)) => postcard::from_bytes::<ManifestV6>(body).map_err(|_| SnapshotError::Container)?.into(),
            (None, None) => return Err(SnapshotError::BadMagic),
        };
        if manifest.shards.is_empty() || manifest.version.is_empty() {
            return Err(SnapshotError::Container);
        }
        Ok(manifest)
    }

    /// The declared health checks by id.
    pub fn health_checks(&self) -> &BTreeMap<String, HealthCheckSpec> {
        &self.health_checks
    }

    /// Every zone, public ones first.
    pub fn zones(&self) -> &[ZoneEntry] {
        &self.zones
    }

    /// The shards, in name order.
    pub fn shards(&self) -> &[ShardEntry] {
        &self.shards
    }

    /// How many public zones the version holds.
    pub fn public_zones(&self) -> usize {
        self.zones.iter().filter(|zone| zone.catalog == 0).count()
    }

    /// Every KV key the version occupies (deleted together when it leaves the history).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = (0..self.shards.len()).map(|n| shard_key(&self.version, n)).collect();
        keys.push(version_key(&self.version));
        keys.push(sources_key(&self.version));
        keys
    }

    /// The private views with their access rules (and no zones).
    fn views(&self) -> Result<Vec<View>, SnapshotError> {
        self.views
            .iter()
            .map(|view| {
                let networks = view
                    .networks
                    .iter()
                    .map(|network| network.parse().map_err(|_| SnapshotError::Zone { apex: format!("view {}", view.name) }))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(View { name: view.name.clone(), access: Access { networks, token_sha256: view.token_sha256 }, zones: Catalog::default() })
            })
            .collect()
    }

    /// A catalog of `parts` (public and views'), with the manifest's settings.
    fn catalog(&self, mut parts: Vec<(u32, Zone)>) -> Result<Catalog, SnapshotError> {
        let mut views = self.views()?;
        let mut by_view: Vec<Vec<Zone>> = views.iter().map(|_| Vec::new()).collect();
        let mut public = Vec::new();
        let any_signed = self.zones.iter().any(|entry| entry.dnssec);
        for (catalog, mut zone) in parts.drain(..) {
            if any_signed {
                let signed = self
                    .zones
                    .iter()
                    .any(|entry| entry.dnssec && entry.catalog == catalog && Name::from_ascii(&entry.apex).is_ok_and(|apex| &apex == zone.apex()));
                zone = zone.with_signing(signed);
            }
            match catalog {
                0 => public.push(zone),
                n => by_view.get_mut(n as usize - 1).ok_or(SnapshotError::Container)?.push(zone),
            }
        }
        for (view, zones) in views.iter_mut().zip(by_view) {
            view.zones = Catalog::new(zones);
        }
        Ok(Catalog::new(public).with_health_checks(self.health_checks.clone()).with_latency_matrix(self.latency_matrix.clone()).with_views(views))
    }

    /// A catalog with no zones and the manifest's settings (views' access rules, latency
    /// matrix), for names no zone holds.
    pub fn empty_catalog(&self) -> Result<Catalog, SnapshotError> {
        self.catalog(Vec::new())
    }

    /// Whether answers may depend on the health state (some shard holds routed sets).
    pub fn uses_health(&self) -> bool {
        self.shards.iter().any(|shard| shard.routed)
    }

    /// Decodes shard `n` into the part of the catalog it holds: exact for every name of its
    /// range ([`Index::shard_for`]) and nothing else.
    pub fn decode_shard(&self, n: usize, bytes: &[u8]) -> Result<Catalog, SnapshotError> {
        let body = bytes.strip_prefix(SHARD_MAGIC.as_slice()).ok_or(SnapshotError::Shard(n))?;
        let image: ShardView<'_> = postcard::from_bytes(body).map_err(|_| SnapshotError::Container)?;
        let mut zones = Vec::with_capacity(image.parts.len());
        for part in image.parts {
            let corrupt = || SnapshotError::Records { apex: part.apex.clone() };
            let apex = Name::from_ascii(&part.apex).map_err(|_| corrupt())?;
            let chunks: Vec<(u32, &[u8])> = part.owned.iter().chain(&part.carried).map(|chunk| (chunk.count, chunk.records)).collect();
            let empty = part.empty.iter().map(|name| name_from_wire(name).ok_or_else(corrupt)).collect::<Result<Vec<_>, _>>()?;
            let mut routed = part.owned_routed;
            routed.extend(part.carried_routed);
            // Held compact: the records stay in wire form, decoded per query (src/zone/compact.rs).
            let zone = Zone::compact(&apex, &chunks, routed, empty).map_err(|error| match error {
                CompactError::Corrupt => corrupt(),
                CompactError::Zone(_) => SnapshotError::Zone { apex: part.apex.clone() },
            })?;
            zones.push((part.catalog, zone));
        }
        self.catalog(zones)
    }

    /// Reassembles the whole catalog from every shard (what the CLI and the admin API
    /// compare and edit; answering uses [`Manifest::decode_shard`]).
    pub fn assemble(&self, shards: &[Vec<u8>]) -> Result<Catalog, SnapshotError> {
        if shards.len() != self.shards.len() {
            return Err(SnapshotError::Shard(shards.len().min(self.shards.len())));
        }
        let mut collected: HashMap<(u32, String), (Vec<Record>, Vec<RoutedSet>)> = HashMap::new();
        for (n, bytes) in shards.iter().enumerate() {
            for part in shard_image(bytes, n)?.parts {
                let (records, routed) = collected.entry((part.catalog, part.apex.clone())).or_default();
                decode_chunks(&part.owned, records, &part.apex)?;
                routed.extend(part.owned_routed);
            }
        }
        let mut zones = Vec::with_capacity(self.zones.len());
        for entry in &self.zones {
            let (records, routed) = collected.remove(&(entry.catalog, entry.apex.clone())).unwrap_or_default();
            zones.push((entry.catalog, assemble(&entry.apex, records, routed, Vec::new())?));
        }
        self.catalog(zones)
    }
}

/// What a value stored as text starts with ([`to_text`]).
const TEXT_PREFIX: &[u8] = b"edgedns-base64:";

/// A binary value as text (a prefix, then base64), for writers that cannot store arbitrary
/// bytes: wrangler's local `kv bulk put` re-reads base64 values as UTF-8 (workers-sdk#15192).
/// Readers take either form ([`from_text`]).
pub fn to_text(value: &[u8]) -> String {
    use base64::Engine as _;
    let mut text = String::from_utf8_lossy(TEXT_PREFIX).into_owned();
    text.push_str(&base64::engine::general_purpose::STANDARD.encode(value));
    text
}

/// A value as it is stored: text as it is, anything else (or text that looks like an encoded
/// value) through [`to_text`]. Every snapshot value is stored this way, so that text-only
/// paths (`wrangler kv bulk get`, the pinned wrangler's local bulk put) keep it intact.
pub fn storable(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match std::str::from_utf8(value) {
        Ok(text) if !text.as_bytes().starts_with(TEXT_PREFIX) => std::borrow::Cow::Borrowed(value),
        _ => std::borrow::Cow::Owned(to_text(value).into_bytes()),
    }
}

/// A value as written: the bytes themselves, or the bytes of a [`to_text`] value.
pub fn from_text(value: Vec<u8>) -> Vec<u8> {
    use base64::Engine as _;
    match value.strip_prefix(TEXT_PREFIX) {
        Some(encoded) => base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or(value),
        None => value,
    }
}

fn name_to_wire(name: &Name) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = Vec::with_capacity(name.len() + 1);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_canonical_form(true);
    name.to_lowercase().emit(&mut encoder).map_err(|e| EncodeError(e.to_string()))?;
    Ok(bytes)
}

/// A name in wire form (uncompressed), which must be all the bytes.
fn name_from_wire(bytes: &[u8]) -> Option<Name> {
    let mut decoder = BinDecoder::new(bytes);
    let name = Name::read(&mut decoder).ok()?;
    decoder.is_empty().then_some(name)
}

fn shard_image(bytes: &[u8], n: usize) -> Result<ShardImage, SnapshotError> {
    let body = bytes.strip_prefix(SHARD_MAGIC.as_slice()).ok_or(SnapshotError::Shard(n))?;
    postcard::from_bytes(body).map_err(|_| SnapshotError::Container)
}

fn assemble(apex: &str, records: Vec<Record>, routed: Vec<RoutedSet>, empty: Vec<Name>) -> Result<Zone, SnapshotError> {
    let name = Name::from_ascii(apex).map_err(|_| SnapshotError::Records { apex: apex.to_owned() })?;
    Zone::assemble_with_empty(&name, records, routed, empty).map_err(|_| SnapshotError::Zone { apex: apex.to_owned() })
}

/// A manifest ready for lookups: which shard answers a name, and whether any zone does.
#[derive(Debug, Clone)]
pub struct Index {
    manifest: Manifest,
    firsts: Vec<LowerName>,
    /// The key from the root ([`NameKey::from_root`]) of each shard's first name: compared as
    /// bytes, keys sort as `firsts` do (canonical order, RFC 4034 §6.1), and a query's name
    /// is keyed once on the stack, where a `LowerName` of it allocates.
    first_keys: Vec<Box<[u8]>>,
    /// The key from the root of every apex: a name's ancestors' keys are prefixes of its own,
    /// so the name and each ancestor are probed without building a name for any of them.
    apexes: HashSet<Box<[u8]>, KeyHashing>,
}

impl Index {
    /// Indexes a decoded manifest.
    pub fn new(manifest: Manifest) -> Result<Self, SnapshotError> {
        let firsts = manifest
            .shards
            .iter()
            .map(|shard| name_from_wire(&shard.first).map(|name| LowerName::new(&name)).ok_or(SnapshotError::Container))
            .collect::<Result<Vec<_>, _>>()?;
        if firsts.windows(2).any(|pair| matches!(pair, [a, b] if a >= b)) {
            return Err(SnapshotError::Container);
        }
        let key = |name: &Name| NameKey::from_root(name).map(|key| Box::from(key.bytes())).ok_or(SnapshotError::Container);
        let first_keys = firsts.iter().map(|first| key(&Name::from(first.clone()))).collect::<Result<Vec<_>, _>>()?;
        if first_keys.windows(2).any(|pair| matches!(pair, [a, b] if a >= b)) {
            return Err(SnapshotError::Container);
        }
        let apexes = manifest.zones.iter().filter_map(|zone| Name::from_ascii(&zone.apex).ok()).filter_map(|name| key(&name).ok()).collect();
        Ok(Self { manifest, firsts, first_keys, apexes })
    }

    /// Decodes and indexes a manifest (the value of `snapshot:current` or `snapshot:<version>`).
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        Self::new(Manifest::decode(bytes)?)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether some zone (public or in a view) is at or above `name`: if not, no shard can
    /// answer it and none need be read.
    pub fn hosts(&self, name: &Name) -> bool {
        let Some(key) = NameKey::from_root(name) else { return false };
        (0..=key.labels()).any(|depth| key.prefix(depth).is_some_and(|prefix| self.apexes.contains(prefix)))
    }

    /// The first name of shard `n`'s range.
    pub fn first(&self, n: usize) -> Option<Name> {
        self.firsts.get(n).map(|first| Name::from(first.clone()))
    }

    /// The shard whose range holds `name`.
    pub fn shard_for(&self, name: &Name) -> usize {
        let Some(key) = NameKey::from_root(name) else { return 0 };
        let key = key.bytes();
        self.first_keys.partition_point(|first| **first <= *key).saturating_sub(1)
    }
}

/// Encodes a catalog as one bundle (manifest and shards of the default size), for files and
/// tests; the version id's time is 0.
pub fn encode(catalog: &Catalog) -> Result<Vec<u8>, EncodeError> {
    Ok(build(catalog, DEFAULT_SHARD_BYTES, 0)?.bundle())
}

/// Decodes a bundle into its manifest and shards.
pub fn decode_bundle(bytes: &[u8]) -> Result<(Manifest, Vec<Vec<u8>>), SnapshotError> {
    let body = bytes.strip_prefix(BUNDLE_MAGIC.as_slice()).ok_or(SnapshotError::BadMagic)?;
    let bundle: Bundle = postcard::from_bytes(body).map_err(|_| SnapshotError::Container)?;
    Ok((Manifest::decode(&bundle.manifest)?, bundle.shards))
}

/// Decodes a bundle into the whole catalog.
pub fn decode(bytes: &[u8]) -> Result<Catalog, SnapshotError> {
    let (manifest, shards) = decode_bundle(bytes)?;
    manifest.assemble(&shards)
}

/// A short version id for an image: publish time (seconds) and a content hash, so versions
/// sort by time and identical content is recognisable.
pub fn version_id(image: &[u8], unix_seconds: u64) -> String {
    // FNV-1a 64: stable across builds and platforms, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in image {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{unix_seconds}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::compile::compile_all;
    use crate::zone::Lookup;
    use hickory_proto::rr::RecordType;
    use std::str::FromStr;

    fn catalog() -> Catalog {
        let text = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n\
                    www A 192.0.2.1\nwww AAAA 2001:db8::1\n@ MX 10 mail\ntxt TXT \"a;b\" \"c\"\n\
                    _sip._tcp SRV 10 5 5060 sip\n@ CAA 0 issue \"ca.example\"\n\
                    svc HTTPS 1 . alpn=h2 ipv4hint=192.0.2.1\n";
        compile_all(&[SourceFile { path: "example.com.zone".into(), text: text.into() }]).unwrap()
    }

    /// `dnssec = true` travels from the routes file through the manifest to the zones a shard
    /// decodes into, and a manifest of format 6 (before the flag) still reads, unsigned.
    #[test]
    fn the_signing_opt_in_survives_publishing_and_format_6_still_reads() {
        let zone = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n";
        let catalog = compile_all(&[
            SourceFile { path: "signed.test.zone".into(), text: zone.into() },
            SourceFile { path: "signed.test.routes.toml".into(), text: "dnssec = true\n".into() },
            SourceFile { path: "plain.test.zone".into(), text: zone.into() },
        ])
        .unwrap();
        let built = build(&catalog, DEFAULT_SHARD_BYTES, 0).unwrap();
        let manifest = Manifest::decode(&built.manifest_bytes).unwrap();
        let flags: Vec<(&str, bool)> = manifest.zones().iter().map(|zone| (zone.apex.as_str(), zone.dnssec)).collect();
        assert!(flags.contains(&("signed.test.", true)) && flags.contains(&("plain.test.", false)), "{flags:?}");
        let decoded = manifest.decode_shard(0, &built.shards[0]).unwrap();
        let signed = |catalog: &Catalog, apex: &str| catalog.find(&Name::from_str(apex).unwrap()).unwrap().signed();
        assert!(signed(&decoded, "signed.test.") && !signed(&decoded, "plain.test."));
        assert!(signed(&manifest.assemble(&built.shards).unwrap(), "signed.test."));

        assert!(built.manifest_bytes.starts_with(MAGIC), "a signed zone needs format 7");
        let old = ManifestV6::from(&manifest);
        let mut bytes = MAGIC_V6.to_vec();
        bytes.extend(postcard::to_allocvec(&old).unwrap());
        let read = Manifest::decode(&bytes).unwrap();
        assert_eq!(read.zones().len(), 2);
        assert!(read.zones().iter().all(|zone| !zone.dnssec));
        assert!(!signed(&read.decode_shard(0, &built.shards[0]).unwrap(), "signed.test."));
        // Nothing signed: written as format 6, which a Worker from before signing reads.
        let plain = compile_all(&[SourceFile { path: "plain.test.zone".into(), text: zone.into() }]).unwrap();
        let built = build(&plain, DEFAULT_SHARD_BYTES, 0).unwrap();
        assert!(built.manifest_bytes.starts_with(MAGIC_V6));
        assert_eq!(Manifest::decode(&built.manifest_bytes).unwrap(), built.manifest);
    }

    /// A bundle the compiler wrote before health-check definitions were typed (issue 13), from
    /// `tests/fixtures/snapshot/compat.example.*`: published snapshots keep loading, field for
    /// field, and the check whose path the old compiler let through is unusable, not a URL.
    #[test]
    fn snapshots_from_before_typed_health_checks_load() {
        use crate::health::spec::{CheckKind, Host, Probe, ProbeError};
        let image = include_bytes!("../tests/fixtures/snapshot/health-checks-before-issue-13.bin");
        let (manifest, _) = decode_bundle(image).unwrap();
        let checks = manifest.health_checks();
        assert_eq!(checks.keys().map(String::as_str).collect::<Vec<_>>(), ["both", "db", "evil", "v6", "web"]);
        let web = &checks["web"];
        assert_eq!((web.kind, web.port, web.interval, web.threshold, web.timeout), (CheckKind::Https, Some(8443), Some(10), Some(2), Some(4)));
        assert_eq!((web.host_header.as_deref(), web.search.as_deref()), (Some("www.compat.example"), Some("ok")));
        let Ok(Probe::Http { url, .. }) = web.probe() else { panic!("{web:?}") };
        assert_eq!(url.as_str(), "https://web.example.net:8443/health?deep=1");
        let Ok(Probe::Http { url, .. }) = checks["v6"].probe() else { panic!("{:?}", checks["v6"]) };
        assert_eq!(url.as_str(), "http://[2001:db8::1]/", "the bracketed address octoDNS imports wrote");
        let db = &checks["db"];
        assert_eq!((db.kind, db.inverted), (CheckKind::Tcp, true));
        assert_eq!(db.probe(), Ok(Probe::Tcp { host: &Host::parse("192.0.2.5").unwrap(), port: 5432 }));
        assert_eq!((checks["both"].kind, checks["both"].children.len(), checks["both"].min_healthy), (CheckKind::Calculated, 2, Some(1)));
        let evil = &checks["evil"];
        assert!(matches!(evil.probe(), Err(ProbeError::Unusable(reason)) if reason.contains("\"@evil.example/\" is not an HTTP path")), "{evil:?}");
        // Encoded again and read back, the same manifest (the unusable check with its texts; the
        // address is written without its brackets, which read back the same).
        assert_eq!(Manifest::decode(&manifest_bytes(&manifest).unwrap()).unwrap(), manifest);
        let bundle: Bundle = postcard::from_bytes(image.strip_prefix(BUNDLE_MAGIC.as_slice()).unwrap()).unwrap();
        let unbracketed = bundle.manifest.len() - 2;
        assert_eq!(manifest_bytes(&manifest).unwrap().len(), unbracketed);
        // The rest of the version answers, and the listing says what is wrong.
        let catalog = decode(image).unwrap();
        assert!(catalog.find(&Name::from_str("www.compat.example.").unwrap()).is_some());
        let report = crate::health::status::report(catalog.health_checks(), &crate::health::HealthSnapshot::default(), &Default::default(), 0);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].starts_with("health check evil is unusable in the snapshot (probed as failing): path"), "{:?}", report.problems);
    }

    #[test]
    fn round_trips() {
        let original = catalog();
        let image = encode(&original).unwrap();
        assert!(image.starts_with(BUNDLE_MAGIC));
        let decoded = decode(&image).unwrap();
        let name = Name::from_str("www.example.com.").unwrap();
        let zone = decoded.find(&name).unwrap();
        assert_eq!(zone.node(&name), original.find(&name).unwrap().node(&name));
        let https = Name::from_str("svc.example.com.").unwrap();
        assert_eq!(zone.node(&https).unwrap().rrset(RecordType::HTTPS).unwrap().records.len(), 1);
        assert_eq!(encode(&decoded).unwrap(), image, "encoding is deterministic");
    }

    #[test]
    fn rejects_corruption_without_panicking() {
        let image = encode(&catalog()).unwrap();
        assert_eq!(decode(b"garbage").unwrap_err(), SnapshotError::BadMagic);
        assert!(decode(&image[..image.len() - 5]).is_err());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut corrupt = image.clone();
            let position = 8 + (state % (corrupt.len() as u64 - 8)) as usize;
            corrupt[position] ^= (state >> 40) as u8 | 1;
            let _ = decode(&corrupt);
        }
    }

    #[test]
    fn zones_beyond_one_encoder_buffer_round_trip() {
        // 20,000 hosts take several 65,535-byte chunks.
        let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for index in 0..20_000u32 {
            text.push_str(&format!("h{index} A 10.{}.{}.{}\n", index >> 16, (index >> 8) & 255, index & 255));
        }
        let original = compile_all(&[SourceFile { path: "big.test.zone".into(), text }]).unwrap();
        let image = encode(&original).unwrap();
        let decoded = decode(&image).unwrap();
        for host in ["h0.big.test.", "h12345.big.test.", "h19999.big.test."] {
            let name = Name::from_str(host).unwrap();
            assert_eq!(decoded.find(&name).unwrap().node(&name), original.find(&name).unwrap().node(&name));
        }
        assert_eq!(encode(&decoded).unwrap(), image);
    }

    /// A shard is held compact (records in wire form, decoded per lookup): every node it holds
    /// decodes to the node the whole catalog has, and lookups of its names find the same.
    #[test]
    fn compact_shards_hold_the_nodes_of_the_catalog() {
        let original = catalog();
        let whole = original.zones().first().unwrap();
        for shard_bytes in [1, DEFAULT_SHARD_BYTES] {
            let built = build(&original, shard_bytes, 0).unwrap();
            let mut seen = 0;
            for (n, bytes) in built.shards.iter().enumerate() {
                let shard = built.manifest.decode_shard(n, bytes).unwrap();
                let zone = shard.zones().first().unwrap();
                for (name, node) in zone.nodes() {
                    let name = Name::from(name.into_owned());
                    assert_eq!(Some(&*node), whole.node(&name).as_deref(), "{name}");
                    assert_eq!(zone.node(&Name::from_ascii(name.to_ascii().to_uppercase()).unwrap()).as_deref(), Some(&*node), "{name}: any case");
                    seen += 1;
                }
                assert_eq!(zone.soa(), whole.soa());
            }
            assert!(seen >= whole.node_count());
        }
        let built = build(&original, DEFAULT_SHARD_BYTES, 0).unwrap();
        let zone = built.manifest.decode_shard(0, &built.shards[0]).unwrap().zones()[0].clone();
        for (name, _) in whole.nodes() {
            let name = Name::from(name.into_owned());
            for record_type in [RecordType::A, RecordType::NS, RecordType::DS, RecordType::TXT] {
                assert_eq!(zone.lookup(&name, record_type), whole.lookup(&name, record_type), "{name} {record_type}");
                let below = name.prepend_label("zz").unwrap();
                assert_eq!(zone.lookup(&below, record_type), whole.lookup(&below, record_type), "{below} {record_type}");
            }
        }
        assert_eq!(zone.lookup(&Name::from_str("www.example.net.").unwrap(), RecordType::A), Lookup::NxDomain);
        assert!(zone.node(&Name::from_str("www.example.com").unwrap()).is_none(), "names are fully qualified, as in a decoded zone");
    }

    /// A compact shard's plain A, AAAA and TXT sets, read in wire form, are the decoded sets:
    /// the same RDATA once each, in the same order, with the set's TTL; other types are not
    /// offered in wire form.
    #[test]
    fn wire_sets_of_a_compact_shard_are_its_decoded_sets() {
        let original = catalog();
        let built = build(&original, DEFAULT_SHARD_BYTES, 0).unwrap();
        let zone = built.manifest.decode_shard(0, &built.shards[0]).unwrap().zones()[0].clone();
        let mut compared = 0;
        for (name, _) in zone.nodes() {
            let name = Name::from(name.into_owned());
            for record_type in [RecordType::A, RecordType::AAAA, RecordType::TXT, RecordType::MX, RecordType::NS, RecordType::SOA] {
                let Lookup::Found { node, .. } = zone.lookup(&name, record_type) else { continue };
                let (Some(wire), Some(decoded)) = (node.wire_rrset(record_type), node.rrset(record_type)) else {
                    assert!(node.wire_rrset(record_type).is_none() || node.rrset(record_type).is_some(), "{name} {record_type}");
                    continue;
                };
                assert!(matches!(record_type, RecordType::A | RecordType::AAAA | RecordType::TXT), "{record_type} in wire form");
                let set = crate::answer::WireRrSet::new(name.clone(), record_type, wire.class, wire.ttl, wire.rdatas);
                let records: Vec<_> = set.records().collect();
                assert_eq!(records, decoded.records, "{name} {record_type}");
                compared += 1;
            }
        }
        assert_eq!(compared, 4, "ns1 A, www A and AAAA, txt TXT");
    }

    /// The index finds a name's shard and its zone by keys as it did by `LowerName`s (the
    /// canonical order and `base_name` walk they replace), for every name of a catalog split
    /// into one-name shards, in any case, below them and outside every zone.
    #[test]
    fn shards_and_zones_are_found_by_key_as_by_name() {
        let mut sources = vec![SourceFile {
            path: "example.com.zone".into(),
            text: "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n".into(),
        }];
        let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for label in ["a", "ab", "abc", "b", "a-b", "a0", "z", "*", "_x", "sub.a", "deep.sub.a", "ZZ"] {
            text.push_str(&format!("{label} A 192.0.2.1\n"));
        }
        sources.push(SourceFile { path: "k.test.zone".into(), text });
        let catalog = crate::zone::compile::compile_all(&sources).unwrap();
        let built = build(&catalog, 1, 0).unwrap();
        let index = Index::new(built.manifest.clone()).unwrap();
        assert!(index.first_keys.len() > 10, "{} shards", index.first_keys.len());
        let by_name = |name: &Name| {
            let lower = LowerName::new(name);
            index.firsts.partition_point(|first| *first <= lower).saturating_sub(1)
        };
        let mut names = Vec::new();
        for zone in catalog.zones() {
            for (owner, _) in zone.nodes() {
                let owner = Name::from(owner.into_owned());
                names.push(Name::from_ascii(owner.to_ascii().to_uppercase()).unwrap());
                names.push(owner.prepend_label("zz").unwrap());
                names.push(owner.prepend_label("0").unwrap());
                names.push(owner);
            }
        }
        names.extend(["example.net.", "com.", ".", "a.k.test.example.com.", "j.test."].map(|name| Name::from_str(name).unwrap()));
        for name in &names {
            assert_eq!(index.shard_for(name), by_name(name), "{name}");
            let zone_above = catalog.zones().iter().any(|zone| zone.apex().zone_of(name));
            assert_eq!(index.hosts(name), zone_above, "{name}");
        }
    }

    /// Records of one type and name published twice or with different TTLs read as one set
    /// with the smallest TTL (RFC 2181 §5), in wire form as decoded.
    #[test]
    fn wire_sets_merge_repeats_and_take_the_smallest_ttl() {
        let text = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nx 300 A 192.0.2.1\nx 60 A 192.0.2.2\nx TXT \"a\" \"b\"\n";
        let original = crate::zone::compile::compile_all(&[crate::zone::compile::SourceFile { path: "dup.test.zone".into(), text: text.into() }]).unwrap();
        let built = build(&original, DEFAULT_SHARD_BYTES, 0).unwrap();
        let zone = built.manifest.decode_shard(0, &built.shards[0]).unwrap().zones()[0].clone();
        let name = Name::from_str("x.dup.test.").unwrap();
        let Lookup::Found { node, .. } = zone.lookup(&name, RecordType::A) else { panic!("x.dup.test. exists") };
        let wire = node.wire_rrset(RecordType::A).unwrap();
        assert_eq!((wire.ttl, wire.rdatas.clone()), (60, vec![&[192, 0, 2, 1][..], &[192, 0, 2, 2][..]]));
        assert_eq!(node.wire_rrset(RecordType::TXT).unwrap().rdatas, vec![&b"\x01a\x01b"[..]]);
        assert_eq!(node.wire_rrset(RecordType::AAAA), None, "no records of the type");
    }

    #[test]
    fn corrupt_shards_are_refused_without_panicking() {
        let built = build(&catalog(), DEFAULT_SHARD_BYTES, 0).unwrap();
        let shard = &built.shards[0];
        assert!(built.manifest.decode_shard(0, &shard[..shard.len() - 3]).is_err());
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut corrupt = shard.clone();
            let position = 8 + (state % (corrupt.len() as u64 - 8)) as usize;
            corrupt[position] ^= (state >> 40) as u8 | 1;
            // Whatever decodes answers lookups without panicking.
            if let Ok(catalog) = built.manifest.decode_shard(0, &corrupt) {
                for zone in catalog.zones() {
                    for (name, _) in zone.nodes() {
                        let name = Name::from(name.into_owned());
                        if let Lookup::Found { node, .. } = zone.lookup(&name, RecordType::A) {
                            let _ = (node.wire_rrset(RecordType::A), node.wire_rrset(RecordType::TXT), node.lowest_type());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn version_ids_sort_by_time_and_name_content() {
        assert_eq!(version_id(b"abc", 17), version_id(b"abc", 17));
        assert_ne!(version_id(b"abc", 17), version_id(b"abd", 17));
        assert!(version_id(b"abc", 17).starts_with("17-"));
    }

    #[test]
    fn sources_round_trip_through_json() {
        let files = vec![
            SourceFile { path: "zones/example.com.zone".into(), text: "@ SOA ns1 h 1 1 1 1 1\n\"quoted\" \u{e9}\n".into() },
            SourceFile { path: "example.com.routes.toml".into(), text: String::new() },
        ];
        let json = sources_to_json(&files);
        assert!(json.starts_with(r#"{"files":[{"path":"zones/example.com.zone","text":"#), "{json}");
        assert_eq!(sources_from_json(&json).unwrap(), files);
        assert_eq!(sources_from_json(r#"{"files": []}"#).unwrap(), []);
        for bad in ["", "[]", r#"{"files": [{"path": 1, "text": ""}]}"#, r#"{"files": [{"path": "a"}]}"#] {
            assert!(sources_from_json(bad).is_err(), "{bad}");
        }
        assert_eq!((version_key("7-ab"), shard_key("7-ab", 3)), ("snapshot:7-ab".to_owned(), "snapshot:7-ab.3".to_owned()));
    }
}
