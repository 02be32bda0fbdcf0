//! The zone model: hosted zones as trees of names holding RRsets, and the catalog that finds
//! the zone for a name.
//!
//! A [`Zone`] is built once (by [`compile`] from master files, or by [`crate::snapshot`] from
//! KV) and then only read. Building it inserts the empty non-terminals (RFC 4592 §2.2.2) and
//! groups records into RRsets, so lookups are a few hash probes.

mod compact;
pub mod compile;
pub mod delegation;
pub mod diff;
pub(crate) mod key;
pub mod master;
pub mod routes;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::health::spec::HealthCheckSpec;
use crate::policy::{Target, Targets};
use key::{KeyHashing, NameKey};
use routes::RoutedSet;

/// Records of one owner name and type (RFC 2181 §5), with one TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrSet {
    /// The type shared by every record.
    pub record_type: RecordType,
    /// The TTL of the set (the smallest of its records, RFC 2181 §5.2).
    pub ttl: u32,
    /// The records, in zone-file order, each carrying `ttl`.
    pub records: Vec<Record>,
}

/// One name in a zone, possibly empty (an empty non-terminal).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// RRsets sorted by type code.
    rrsets: Vec<RrSet>,
    /// Routed record sets (policy trees), at most one per type; shared, so that a node decoded
    /// from a compact zone for one query does not copy them.
    routed: Vec<Arc<RoutedSet>>,
}

impl Node {
    /// The RRset of a type.
    pub fn rrset(&self, record_type: RecordType) -> Option<&RrSet> {
        self.rrsets.iter().find(|set| set.record_type == record_type)
    }

    /// Every RRset of the node, sorted by type code.
    pub fn rrsets(&self) -> &[RrSet] {
        &self.rrsets
    }

    /// The routed record set of a type.
    pub fn routed(&self, record_type: RecordType) -> Option<&RoutedSet> {
        self.routed.iter().map(|set| &**set).find(|set| set.record_type() == record_type)
    }

    /// Every routed record set of the node.
    pub fn routed_sets(&self) -> &[Arc<RoutedSet>] {
        &self.routed
    }

    /// Whether the name holds no records (an empty non-terminal).
    pub fn is_empty(&self) -> bool {
        self.rrsets.is_empty() && self.routed.is_empty()
    }
}

/// What a zone knows about a name, before the type is looked at. Nodes and RRsets are borrowed
/// from a decoded zone and decoded for the lookup from a compact one.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'z> {
    /// The name exists (or a wildcard covers it, RFC 4592 §3.3.1).
    Found {
        /// The node holding the data.
        node: NodeRef<'z>,
        /// Whether the node is the wildcard `*.<closest encloser>` rather than the name itself.
        wildcard: bool,
    },
    /// The name is at or below a zone cut: the NS RRset of the cut (RFC 1034 §4.3.2 3b).
    Delegation {
        /// The NS RRset at the cut.
        name_servers: Cow<'z, RrSet>,
    },
    /// Neither the name nor a wildcard for it exists.
    NxDomain,
}

/// A node found by a lookup: borrowed from a decoded zone, or a position in a compact one,
/// whose records are read only as a query asks for them.
#[derive(Clone, Copy)]
pub enum NodeRef<'z> {
    /// A node of a decoded zone.
    Decoded(&'z Node),
    /// A node of a compact zone, by its position in the name index.
    Compact(&'z compact::CompactNodes, usize),
}

impl<'z> NodeRef<'z> {
    /// The RRset of a type, decoded from a compact zone (only that type's records).
    pub fn rrset(&self, record_type: RecordType) -> Option<Cow<'z, RrSet>> {
        match *self {
            Self::Decoded(node) => node.rrset(record_type).map(Cow::Borrowed),
            Self::Compact(nodes, node) => nodes.has(node, record_type).then(|| Cow::Owned(nodes.rrset(node, record_type))),
        }
    }

    /// The RRset of a type as the shard holds it, when the zone is compact and the type's
    /// RDATA holds no name ([`compact::WIRE_TYPES`]); otherwise `None`, and [`NodeRef::rrset`]
    /// answers.
    pub fn wire_rrset(&self, record_type: RecordType) -> Option<WireSet<'z>> {
        match *self {
            Self::Decoded(_) => None,
            Self::Compact(nodes, node) => nodes.wire_rrset(node, record_type),
        }
    }

    /// The routed record set of a type.
    pub fn routed(&self, record_type: RecordType) -> Option<&'z RoutedSet> {
        match *self {
            Self::Decoded(node) => node.routed(record_type),
            Self::Compact(nodes, node) => nodes.routed(node, record_type),
        }
    }

    /// The lowest type code the node holds, plain or routed (what ANY answers, RFC 8482 §4.1).
    pub fn lowest_type(&self) -> Option<RecordType> {
        match *self {
            Self::Decoded(node) => {
                let plain = node.rrsets().first().map(|set| u16::from(set.record_type));
                let routed = node.routed_sets().iter().map(|set| u16::from(set.record_type())).min();
                plain.into_iter().chain(routed).min().map(RecordType::from)
            }
            Self::Compact(nodes, node) => nodes.lowest_type(node),
        }
    }

    /// The whole node, decoded from a compact zone.
    pub fn to_node(&self) -> Cow<'z, Node> {
        match *self {
            Self::Decoded(node) => Cow::Borrowed(node),
            Self::Compact(nodes, node) => Cow::Owned(nodes.node(node)),
        }
    }
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_node().fmt(f)
    }
}

/// Nodes are equal when they hold the same data, whichever form holds it.
impl PartialEq for NodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_node() == other.to_node()
    }
}

/// One hosted zone.
#[derive(Debug, Clone)]
pub struct Zone {
    apex: Name,
    soa: Record,
    nodes: Nodes,
    /// Whether its answers are signed (`dnssec = true` in its routes file).
    signed: bool,
}

/// How a zone holds its names.
#[derive(Debug, Clone)]
enum Nodes {
    /// Decoded, by the name's key below the apex ([`key`]), each with its name: what the
    /// compiler builds and the tools read.
    Decoded(HashMap<Box<[u8]>, (LowerName, Node), KeyHashing>),
    /// As a snapshot shard publishes them, decoded per query ([`compact`]): what an isolate holds.
    Compact(compact::CompactNodes),
}

pub use compact::{CompactError, WireSet};

/// Why records could not be assembled into a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssembleError {
    /// The zone has no SOA at its apex.
    MissingSoa,
    /// A record's owner is outside the zone.
    OutOfZone(Name),
}

impl Zone {
    /// Builds a zone from records that have already been checked (or came from a snapshot
    /// made of checked records). Only the facts lookups depend on are enforced here: one SOA
    /// at the apex and every owner inside the zone.
    pub fn assemble(apex: &Name, records: Vec<Record>, routed: Vec<RoutedSet>) -> Result<Self, AssembleError> {
        Self::assemble_with_empty(apex, records, routed, Vec::new())
    }

    /// [`Zone::assemble`], with names that exist but hold nothing (empty non-terminals) given
    /// explicitly: a snapshot shard holds part of a zone, and an empty non-terminal in its part
    /// may have all its descendants in other shards.
    pub fn assemble_with_empty(apex: &Name, records: Vec<Record>, routed: Vec<RoutedSet>, empty: Vec<Name>) -> Result<Self, AssembleError> {
        let apex = apex.to_lowercase();
        let apex_labels = label_count(&apex);
        let mut grouped: HashMap<LowerName, Vec<Record>> = HashMap::new();
        for record in records {
            if !apex.zone_of(&record.name) {
                return Err(AssembleError::OutOfZone(record.name));
            }
            grouped.entry(LowerName::new(&record.name)).or_default().push(record);
        }
        let mut routed_by_owner: HashMap<LowerName, Vec<RoutedSet>> = HashMap::new();
        for set in routed {
            let owner = Name::from_ascii(&set.name).map_err(|_| AssembleError::OutOfZone(apex.clone()))?;
            if !apex.zone_of(&owner) {
                return Err(AssembleError::OutOfZone(owner));
            }
            grouped.entry(LowerName::new(&owner)).or_default();
            routed_by_owner.entry(LowerName::new(&owner)).or_default().push(set);
        }
        for owner in empty {
            if !apex.zone_of(&owner) {
                return Err(AssembleError::OutOfZone(owner));
            }
            grouped.entry(LowerName::new(&owner)).or_default();
        }
        let mut nodes: HashMap<LowerName, Node> = HashMap::with_capacity(grouped.len() * 2);
        for (owner, records) in grouped {
            let routed = routed_by_owner.remove(&owner).unwrap_or_default();
            // Every name between the apex and the owner exists, as an empty non-terminal if it
            // holds nothing itself (RFC 4592 §2.2.2).
            let mut ancestor = owner.base_name();
            while label_count(&ancestor) >= apex_labels && !nodes.contains_key(&ancestor) {
                nodes.insert(ancestor.clone(), Node::default());
                if label_count(&ancestor) == apex_labels {
                    break;
                }
                ancestor = ancestor.base_name();
            }
            let node = nodes.entry(owner).or_default();
            node.rrsets = group_rrsets(records);
            node.routed = routed.into_iter().map(Arc::new).collect();
        }
        let soa = nodes
            .get(&LowerName::new(&apex))
            .and_then(|node| node.rrset(RecordType::SOA))
            .and_then(|set| set.records.first())
            .cloned()
            .ok_or(AssembleError::MissingSoa)?;
        let mut keyed = HashMap::with_capacity_and_hasher(nodes.len(), KeyHashing::default());
        for (name, node) in nodes {
            // Every name here is at or below the apex (checked above, or an ancestor of one).
            let key = NameKey::below(&name, &apex).ok_or_else(|| AssembleError::OutOfZone(Name::from(&name)))?;
            keyed.insert(Box::from(key.bytes()), (name, node));
        }
        Ok(Self { apex, soa, nodes: Nodes::Decoded(keyed), signed: false })
    }

    /// Builds a zone in the compact form from a snapshot shard's part of it: its records as
    /// wire-format chunks of (record count, bytes), its routed sets and its empty non-terminals.
    /// Lookups answer exactly as from [`Zone::assemble_with_empty`] of the same records, decoding
    /// only the records of the names they touch; every record is decoded once here, so corrupt
    /// data is refused now.
    pub fn compact(apex: &Name, chunks: &[(u32, &[u8])], routed: Vec<RoutedSet>, empty: Vec<Name>) -> Result<Self, CompactError> {
        let apex = apex.to_lowercase();
        let (nodes, soa) = compact::CompactNodes::build(&apex, chunks, routed, empty)?;
        Ok(Self { apex, soa, nodes: Nodes::Compact(nodes), signed: false })
    }

    /// The zone, its answers signed or not (README, "DNSSEC").
    pub fn with_signing(mut self, signed: bool) -> Self {
        self.signed = signed;
        self
    }

    /// Whether its answers are signed when a query asks (DO=1) and its key is there.
    pub fn signed(&self) -> bool {
        self.signed
    }

    /// The apex name, lower-cased.
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// The SOA record at the apex.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// The SOA for negative answers: its TTL is min(SOA TTL, MINIMUM) (RFC 2308 §3).
    pub fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        if let RData::SOA(data) = &soa.data {
            soa.ttl = soa.ttl.min(data.minimum);
        }
        soa
    }

    /// The node of an exact name, ignoring zone cuts (for glue and tooling).
    pub fn node(&self, name: &Name) -> Option<Cow<'_, Node>> {
        match &self.nodes {
            Nodes::Decoded(nodes) => self.decoded_node(nodes, name).map(Cow::Borrowed),
            Nodes::Compact(nodes) => nodes.position(&self.apex, name).map(|node| Cow::Owned(nodes.node(node))),
        }
    }

    /// The node of an exact name in the decoded form. Names are fully qualified, as the
    /// owners are: a relative name has no node (as in the compact form).
    fn decoded_node<'z>(&self, nodes: &'z HashMap<Box<[u8]>, (LowerName, Node), KeyHashing>, name: &Name) -> Option<&'z Node> {
        if !name.is_fqdn() {
            return None;
        }
        nodes.get(NameKey::below(name, &self.apex)?.bytes()).map(|(_, node)| node)
    }

    /// The node of a lower-cased name, ignoring zone cuts.
    pub fn nodes_get(&self, name: &LowerName) -> Option<Cow<'_, Node>> {
        self.node(name)
    }

    /// The routed set of a type at an exact name, borrowed from the zone in either form.
    pub fn routed(&self, name: &Name, record_type: RecordType) -> Option<&RoutedSet> {
        match &self.nodes {
            Nodes::Decoded(nodes) => self.decoded_node(nodes, name)?.routed(record_type),
            Nodes::Compact(nodes) => nodes.routed(nodes.position(&self.apex, name)?, record_type),
        }
    }

    /// How many records the zone holds (routed sets not counted).
    pub fn record_count(&self) -> usize {
        self.nodes().map(|(_, node)| node.rrsets().iter().map(|set| set.records.len()).sum::<usize>()).sum()
    }

    /// How many names the zone holds (empty non-terminals included).
    pub fn node_count(&self) -> usize {
        match &self.nodes {
            Nodes::Decoded(nodes) => nodes.len(),
            Nodes::Compact(nodes) => nodes.len(),
        }
    }

    /// Every name of the zone with its node (empty non-terminals included), in no order; a
    /// compact zone's nodes are decoded one by one.
    pub fn nodes(&self) -> Box<dyn Iterator<Item = (Cow<'_, LowerName>, Cow<'_, Node>)> + '_> {
        match &self.nodes {
            Nodes::Decoded(nodes) => Box::new(nodes.values().map(|(name, node)| (Cow::Borrowed(name), Cow::Borrowed(node)))),
            Nodes::Compact(nodes) => Box::new(nodes.iter(&self.apex).map(|(name, node)| (Cow::Owned(name), Cow::Owned(node)))),
        }
    }

    /// Finds what the zone holds for `name` (which must be at or below the apex), following
    /// RFC 1034 §4.3.2 step 3: a zone cut on the way down wins, then the exact name, then the
    /// wildcard at the closest encloser (RFC 4592 §3.3.1).
    ///
    /// `record_type` only matters for DS, which the parent side of a cut answers
    /// (RFC 4035 §3.1.4.1).
    pub fn lookup(&self, name: &Name, record_type: RecordType) -> Lookup<'_> {
        // A name outside the zone matches no node (its key would be the apex's).
        let Some(key) = NameKey::below(name, &self.apex) else {
            return Lookup::NxDomain;
        };
        let nodes = match &self.nodes {
            Nodes::Decoded(nodes) => nodes,
            Nodes::Compact(nodes) => return self.lookup_compact(nodes, &key, record_type),
        };
        let labels = key.labels();
        let mut closest_encloser: Option<(&Node, usize)> = None;
        for depth in 0..=labels {
            let Some((_, node)) = key.prefix(depth).and_then(|prefix| nodes.get(prefix)) else {
                break;
            };
            if depth > 0 {
                if let Some(name_servers) = node.rrset(RecordType::NS) {
                    let parent_side = depth == labels && record_type == RecordType::DS;
                    if !parent_side {
                        return Lookup::Delegation { name_servers: Cow::Borrowed(name_servers) };
                    }
                }
            }
            closest_encloser = Some((node, depth));
        }
        match closest_encloser {
            Some((node, depth)) if depth == labels => Lookup::Found { node: NodeRef::Decoded(node), wildcard: false },
            Some((_, depth)) => match key.child_of_prefix(depth, b"*").and_then(|wildcard| nodes.get(wildcard.bytes())) {
                Some((_, node)) => Lookup::Found { node: NodeRef::Decoded(node), wildcard: true },
                None => Lookup::NxDomain,
            },
            None => Lookup::NxDomain,
        }
    }

    /// [`Zone::lookup`] over the compact form: the same walk, on positions in the name index,
    /// decoding nothing but the NS RRset of a cut (a node found is read as the query asks).
    fn lookup_compact<'z>(&self, nodes: &'z compact::CompactNodes, key: &NameKey, record_type: RecordType) -> Lookup<'z> {
        let labels = key.labels();
        let mut closest_encloser: Option<(usize, usize)> = None;
        for depth in 0..=labels {
            let Some(node) = key.prefix(depth).and_then(|prefix| nodes.find(prefix)) else {
                break;
            };
            if depth > 0 && nodes.has(node, RecordType::NS) {
                let parent_side = depth == labels && record_type == RecordType::DS;
                if !parent_side {
                    return Lookup::Delegation { name_servers: Cow::Owned(nodes.rrset(node, RecordType::NS)) };
                }
            }
            closest_encloser = Some((node, depth));
        }
        match closest_encloser {
            Some((node, depth)) if depth == labels => Lookup::Found { node: NodeRef::Compact(nodes, node), wildcard: false },
            Some((_, depth)) => match key.child_of_prefix(depth, b"*").and_then(|wildcard| nodes.find(wildcard.bytes())) {
                Some(node) => Lookup::Found { node: NodeRef::Compact(nodes, node), wildcard: true },
                None => Lookup::NxDomain,
            },
            None => Lookup::NxDomain,
        }
    }
}

/// Groups one owner's records into RRsets sorted by type, deduplicated (RFC 2181 §5), each
/// with the smallest TTL of its records (RFC 2181 §5.2).
fn group_rrsets(records: Vec<Record>) -> Vec<RrSet> {
    let mut rrsets: Vec<RrSet> = Vec::new();
    for record in records {
        let record_type = record.record_type();
        match rrsets.iter_mut().find(|set| set.record_type == record_type) {
            Some(set) => {
                set.ttl = set.ttl.min(record.ttl);
                if !set.records.iter().any(|existing| existing.data == record.data) {
                    set.records.push(record);
                }
            }
            None => rrsets.push(RrSet { record_type, ttl: record.ttl, records: vec![record] }),
        }
    }
    for set in &mut rrsets {
        for record in &mut set.records {
            record.ttl = set.ttl;
        }
    }
    rrsets.sort_by_key(|set| u16::from(set.record_type));
    rrsets
}

/// Number of labels of a name, the wildcard label included.
pub fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The hosted zones, found by name: the most specific zone wins when zones nest.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    zones: Vec<Zone>,
    /// Each zone's position by the key of its apex ([`NameKey::from_root`]).
    index: HashMap<Box<[u8]>, usize, KeyHashing>,
    health_checks: BTreeMap<String, HealthCheckSpec>,
    latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
    views: Vec<View>,
}

/// Who may see a private view: clients connecting from one of `networks` (the connecting
/// address, never an ECS option, which the client chooses), or asking on the view's secret
/// path (`/dns-query/<token>`, known here only by its SHA-256).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Client networks.
    pub networks: Vec<ipnet::IpNet>,
    /// SHA-256 of the path token.
    pub token_sha256: Option<[u8; 32]>,
}

/// What a request presents to be let into private views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The connecting address.
    pub address: Option<std::net::IpAddr>,
    /// SHA-256 of the token in the request path, if any.
    pub token_sha256: Option<[u8; 32]>,
}

impl Viewer {
    /// The viewer of a request from `address` with `token` in its path.
    pub fn new(address: Option<std::net::IpAddr>, token: Option<&str>) -> Self {
        use sha2::Digest;
        let token_sha256 = token.filter(|token| !token.is_empty()).map(|token| sha2::Sha256::digest(token.as_bytes()).into());
        Self { address, token_sha256 }
    }
}

impl Access {
    /// Whether `viewer` may see the view.
    pub fn admits(&self, viewer: &Viewer) -> bool {
        let by_network = viewer.address.is_some_and(|address| self.networks.iter().any(|network| network.contains(&address)));
        let by_token = match (&self.token_sha256, &viewer.token_sha256) {
            // Equal in time independent of where they differ.
            (Some(expected), Some(presented)) => expected.iter().zip(presented).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0,
            _ => false,
        };
        by_network || by_token
    }
}

/// A private view: zones that only the clients it admits see, in place of public zones with
/// the same apex (with no fall-through to the public data).
#[derive(Debug, Clone)]
pub struct View {
    /// The view's name (its directory, `views/<name>/`).
    pub name: String,
    /// Who sees it.
    pub access: Access,
    /// Its zones.
    pub zones: Catalog,
}

/// The catalog as one request sees it: the public zones and the private views it is admitted
/// to. Built per request; without views it allocates nothing.
#[derive(Debug, Clone)]
pub struct Visible<'a> {
    catalog: &'a Catalog,
    views: Vec<&'a Catalog>,
    /// Whether a lookup found a private view's zone: the answer then depends on who asked
    /// (its response is for that client only: see `server`).
    used_view: std::cell::Cell<bool>,
}

impl<'a> Visible<'a> {
    /// The most specific zone containing `name` that this request may see; at the same apex a
    /// private view's zone wins over the public one.
    pub fn find(&self, name: &Name) -> Option<&'a Zone> {
        most_specific(name, |apex| {
            for view in &self.views {
                if let Some(zone) = view.zone_at(apex) {
                    self.used_view.set(true);
                    return Some(zone);
                }
            }
            self.catalog.zone_at(apex)
        })
    }

    /// The whole catalog (health checks, latency matrix).
    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    /// Whether any lookup so far found a zone of a private view (the name, a CNAME or alias
    /// target): the answer then differs from what a client outside the view gets.
    pub fn used_view(&self) -> bool {
        self.used_view.get()
    }
}

/// The record set an alias at `name` points to, in the zone found for it.
fn alias_target<'a>(find: impl FnOnce(&Name) -> Option<&'a Zone>, name: &str, record_type: RecordType) -> Option<Target<'a>> {
    let name = Name::from_ascii(name).ok()?;
    let zone = find(&name)?;
    let node = zone.node(&name)?;
    if let Some(set) = node.rrset(record_type) {
        return Some(Target::Static { values: set.records.iter().map(|r| r.data.clone()).collect(), ttl: set.ttl });
    }
    zone.routed(&name, record_type).map(|set| Target::Routed { rule: &set.rule, ttl: set.ttl })
}

impl Targets for Visible<'_> {
    fn target(&self, name: &str, record_type: RecordType) -> Option<Target<'_>> {
        alias_target(|name| self.find(name), name, record_type)
    }

    fn measured_latency(&self, edge_location: &str, region: &str) -> Option<u32> {
        self.catalog.measured_latency(edge_location, region)
    }
}

impl Catalog {
    /// Builds a catalog; a later zone with the same apex replaces an earlier one (the
    /// compiler rejects duplicates before this point).
    pub fn new(zones: Vec<Zone>) -> Self {
        let mut index = HashMap::with_capacity_and_hasher(zones.len(), KeyHashing::default());
        for (position, zone) in zones.iter().enumerate() {
            // An apex has a key: it is a name, at most 255 bytes long.
            if let Some(key) = NameKey::from_root(zone.apex()) {
                index.insert(Box::from(key.bytes()), position);
            }
        }
        Self { zones, index, health_checks: BTreeMap::new(), latency_matrix: BTreeMap::new(), views: Vec::new() }
    }

    /// The catalog with private views.
    pub fn with_views(mut self, views: Vec<View>) -> Self {
        self.views = views;
        self
    }

    /// The private views.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// The catalog as a request by `viewer` sees it.
    pub fn visible(&self, viewer: &Viewer) -> Visible<'_> {
        let views = self.views.iter().filter(|view| view.access.admits(viewer)).map(|view| &view.zones).collect();
        Visible { catalog: self, views, used_view: std::cell::Cell::new(false) }
    }

    /// The catalog with the health checks its routed sets reference.
    pub fn with_health_checks(mut self, health_checks: BTreeMap<String, HealthCheckSpec>) -> Self {
        self.health_checks = health_checks;
        self
    }

    /// The catalog with an operator's latency matrix (edge location → region → ms).
    pub fn with_latency_matrix(mut self, matrix: BTreeMap<String, BTreeMap<String, u32>>) -> Self {
        self.latency_matrix = matrix;
        self
    }

    /// The operator's latency matrix.
    pub fn latency_matrix(&self) -> &BTreeMap<String, BTreeMap<String, u32>> {
        &self.latency_matrix
    }

    /// The declared health checks by id.
    pub fn health_checks(&self) -> &BTreeMap<String, HealthCheckSpec> {
        &self.health_checks
    }

    /// The zones, in the order given.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The most specific hosted zone containing `name`.
    pub fn find(&self, name: &Name) -> Option<&Zone> {
        most_specific(name, |apex| self.zone_at(apex))
    }

    /// The zone whose apex has this key.
    fn zone_at(&self, key: &[u8]) -> Option<&Zone> {
        self.index.get(key).and_then(|&position| self.zones.get(position))
    }
}

/// The first zone `zone_at` finds at the keys of the apexes a zone holding `name` can have,
/// the most specific first: the name and each of its ancestors up to the root. A relative name
/// is no apex (apexes are fully qualified), but its ancestors are looked up as absolute names.
fn most_specific<'z>(name: &Name, mut zone_at: impl FnMut(&[u8]) -> Option<&'z Zone>) -> Option<&'z Zone> {
    let key = NameKey::from_root(name)?;
    let labels = key.labels();
    let longest = if name.is_fqdn() { labels } else { labels.checked_sub(1)? };
    (0..=longest).rev().find_map(|depth| key.prefix(depth).and_then(&mut zone_at))
}

impl Targets for Catalog {
    fn target(&self, name: &str, record_type: RecordType) -> Option<Target<'_>> {
        alias_target(|name| self.find(name), name, record_type)
    }

    fn measured_latency(&self, edge_location: &str, region: &str) -> Option<u32> {
        self.latency_matrix.get(edge_location)?.get(region).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, NS, SOA};
    use std::str::FromStr;

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    fn a(owner: &str, ttl: u32) -> Record {
        Record::from_rdata(name(owner), ttl, RData::A(A::new(192, 0, 2, 1)))
    }

    fn zone() -> Zone {
        let soa = SOA::new(name("ns1.example."), name("hostmaster.example."), 1, 3600, 600, 86400, 300);
        let records = vec![
            Record::from_rdata(name("example."), 3600, RData::SOA(soa)),
            a("www.example.", 300),
            a("www.example.", 60),
            a("a.b.c.example.", 300),
            a("*.wild.example.", 300),
            Record::from_rdata(name("child.example."), 300, RData::NS(NS(name("ns.child.example.")))),
            a("ns.child.example.", 300),
        ];
        Zone::assemble(&name("Example."), records, Vec::new()).unwrap()
    }

    #[test]
    fn rrsets_take_the_smallest_ttl_and_drop_duplicates() {
        let zone = zone();
        let node = zone.node(&name("www.example.")).unwrap();
        let set = node.rrset(RecordType::A).unwrap();
        assert_eq!(set.ttl, 60);
        assert_eq!(set.records.len(), 1);
    }

    #[test]
    fn empty_non_terminals_exist() {
        let zone = zone();
        assert!(zone.node(&name("b.c.example.")).unwrap().is_empty());
        assert!(matches!(zone.lookup(&name("c.example."), RecordType::A), Lookup::Found { wildcard: false, .. }));
        assert_eq!(zone.lookup(&name("x.c.example."), RecordType::A), Lookup::NxDomain);
    }

    #[test]
    fn wildcard_covers_only_missing_names_below_its_encloser() {
        let zone = zone();
        assert!(matches!(zone.lookup(&name("x.wild.example."), RecordType::A), Lookup::Found { wildcard: true, .. }));
        assert!(matches!(zone.lookup(&name("y.x.wild.example."), RecordType::A), Lookup::Found { wildcard: true, .. }));
        assert_eq!(zone.lookup(&name("nope.example."), RecordType::A), Lookup::NxDomain);
    }

    #[test]
    fn cuts_win_over_data_below_them() {
        let zone = zone();
        for below in ["child.example.", "ns.child.example.", "deep.ns.child.example."] {
            assert!(matches!(zone.lookup(&name(below), RecordType::A), Lookup::Delegation { .. }), "{below}");
        }
        assert!(matches!(zone.lookup(&name("child.example."), RecordType::DS), Lookup::Found { .. }));
    }

    #[test]
    fn negative_soa_ttl_is_min_of_ttl_and_minimum() {
        assert_eq!(zone().negative_soa().ttl, 300);
    }

    #[test]
    fn catalog_prefers_the_most_specific_zone() {
        let parent = zone();
        let soa = SOA::new(name("ns1.example."), name("hostmaster.example."), 1, 3600, 600, 86400, 300);
        let child = Zone::assemble(&name("sub.example."), vec![Record::from_rdata(name("sub.example."), 60, RData::SOA(soa))], Vec::new()).unwrap();
        let catalog = Catalog::new(vec![parent, child]);
        assert_eq!(catalog.find(&name("WWW.Sub.Example.")).unwrap().apex(), &name("sub.example."));
        assert_eq!(catalog.find(&name("www.example.")).unwrap().apex(), &name("example."));
        assert!(catalog.find(&name("example.net.")).is_none());
    }
}
