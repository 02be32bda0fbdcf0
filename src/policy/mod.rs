//! The routing-policy engine: a record set's policy is a tree of [`Rule`]s, evaluated per
//! query against where the client is, the health snapshot and a random source (all passed in,
//! so a pick is reproducible in tests).
//!
//! Each policy is a chain of small steps over the children of a node: match the client
//! ([`Action::Geolocation`], [`Action::Cidr`], [`Action::Asn`]), order by distance
//! ([`Action::Latency`], [`Action::Geoproximity`]), drop the unhealthy ([`prefer_healthy`]),
//! pick by weight ([`pick_weighted`]), fall back. Semantics follow ROUTING.md (Route 53's
//! documented behaviour); the steps are tested one by one below.

mod random;

use std::collections::HashMap;

use hickory_proto::rr::{RData, RecordType};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::geo::places::{self, Coordinates};

pub use random::{Random, SplitMix};

/// The most alias links followed while evaluating one answer.
pub const MAX_ALIAS_DEPTH: usize = 8;
/// Multivalue answers carry at most this many values (Route 53's limit).
pub const MULTIVALUE_LIMIT: usize = 8;
/// The most nodes one evaluation of a routed set visits: every call that looks at a node
/// (deciding it, or asking whether it is healthy) counts one, alias targets included. Past it
/// the evaluation stops and the answer is SERVFAIL ([`Failure::OverBudget`]). The answer layer
/// gives each routed set of an answer its own budget (a CNAME chain has at most
/// `answer::MAX_CHAIN` + 1 links).
///
/// The compiler refuses any tree whose worst case ([`worst_case_visits`]: every check in its
/// dearest state, every pick the dearest) is over it, so only a snapshot this compiler did not
/// make can reach it. The dearest tree in the repository's zones and fixtures is the octoDNS
/// fixture's apex alias to `www.example.com.` (subnet rule → geolocation → failover chains of
/// weighted pools): 104 at worst by that bound, 33 at most in `tests/budget.rs`'s probes;
/// every other tree is under 20. Natively, a tree at the budget takes 6–37 µs to evaluate (an
/// alias fan-out 10 µs, a node with 998 children 37 µs) and a hostile tree stopped at the
/// budget 6 µs (`EDGEDNS_BENCH_SIZES=1000 cargo bench --bench engine -- budget`).
pub const EVALUATION_BUDGET: u32 = 1_000;

/// One node of a policy tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The set identifier, shown by explain.
    pub label: Option<String>,
    /// The health check whose state this node follows.
    pub health_check: Option<String>,
    /// An operator's forced state (`true` up, `false` down), beating the health check.
    pub force: Option<bool>,
    /// What the node does.
    pub action: Action,
}

/// What a node does: answer values, point elsewhere, or choose among children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// Answer these values.
    Values(Vec<Value>),
    /// Answer what another record set of the same type answers (its TTL too).
    Alias {
        /// Owner of the target record set.
        target: String,
        /// Whether the alias is healthy only when its target is.
        evaluate_target_health: bool,
    },
    /// Pick one child with probability weight / sum.
    Weighted {
        /// The children and their weights.
        choices: Vec<WeightedChoice>,
        /// Pick by a hash of the client's network instead of at random (same client, same answer).
        sticky: bool,
    },
    /// Primary when healthy, else secondary when healthy, else primary.
    Failover {
        /// The primary.
        primary: Box<Rule>,
        /// The secondary.
        secondary: Box<Rule>,
    },
    /// The most specific location matching the client.
    Geolocation(Vec<LocatedChoice>),
    /// The region with the lowest expected latency from the client.
    Latency(Vec<RegionalChoice>),
    /// The smallest biased distance from the client.
    Geoproximity(Vec<ProximateChoice>),
    /// Longest-prefix match of the client's network.
    Cidr(Vec<NetworkChoice>),
    /// The client's autonomous system.
    Asn(Vec<AsnChoice>),
    /// Up to eight healthy values, random selection and order.
    Multivalue(Vec<Rule>),
}

/// A child of a weighted node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedChoice {
    /// 0..=255; weight-0 children are standbys.
    pub weight: u8,
    /// The child.
    pub rule: Rule,
}

/// Where a geolocation child applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GeoLocation {
    /// `*`: everyone else.
    Default,
    /// A continent code.
    Continent(String),
    /// An ISO 3166-1 alpha-2 country.
    Country(String),
    /// An ISO 3166-2 subdivision: country and code.
    Subdivision(String, String),
}

impl GeoLocation {
    /// Specificity: subdivision 3 > country 2 > continent 1 > default 0.
    pub fn specificity(&self) -> u8 {
        match self {
            Self::Default => 0,
            Self::Continent(_) => 1,
            Self::Country(_) => 2,
            Self::Subdivision(..) => 3,
        }
    }

    fn matches(&self, client: &ClientView) -> bool {
        let eq = |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
        match self {
            Self::Default => true,
            Self::Continent(code) => eq(&client.continent, code),
            Self::Country(code) => eq(&client.country, code),
            Self::Subdivision(country, code) => eq(&client.country, country) && eq(&client.subdivision, code),
        }
    }
}

impl std::fmt::Display for GeoLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => write!(f, "*"),
            Self::Continent(code) | Self::Country(code) => write!(f, "{code}"),
            Self::Subdivision(country, code) => write!(f, "{country}-{code}"),
        }
    }
}

/// A child of a geolocation node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocatedChoice {
    /// Where it applies.
    pub location: GeoLocation,
    /// The child.
    pub rule: Rule,
}

/// A child of a latency node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionalChoice {
    /// The region name (e.g. `us-east-1`).
    pub region: String,
    /// Where the region is.
    pub coordinates: Coordinates,
    /// The child.
    pub rule: Rule,
}

/// A child of a geoproximity node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProximateChoice {
    /// Where the endpoint is.
    pub coordinates: Coordinates,
    /// -99..=99: positive grows the area served, negative shrinks it.
    pub bias: i8,
    /// The child.
    pub rule: Rule,
}

/// A child of an IP-based node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkChoice {
    /// The collection location's name (for explain).
    pub location: String,
    /// Its networks; empty means `*` (everyone else).
    pub networks: Vec<IpNet>,
    /// The child.
    pub rule: Rule,
}

/// A child of an ASN node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsnChoice {
    /// The autonomous systems; empty means `*`.
    pub asns: Vec<u32>,
    /// The child.
    pub rule: Rule,
}

/// One answer value, kept in wire form inside snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct Value(pub RData);

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
        let mut bytes = Vec::new();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_canonical_form(false);
        self.0.emit(&mut encoder).map_err(serde::ser::Error::custom)?;
        (u16::from(self.0.record_type()), bytes).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use hickory_proto::serialize::binary::{BinDecoder, Restrict};
        let (record_type, bytes) = <(u16, Vec<u8>)>::deserialize(deserializer)?;
        let length = u16::try_from(bytes.len()).map_err(serde::de::Error::custom)?;
        let mut decoder = BinDecoder::new(&bytes);
        let data = RData::read(&mut decoder, RecordType::from(record_type), Restrict::new(length)).map_err(serde::de::Error::custom)?;
        Ok(Self(data))
    }
}

/// Where the client is, as the policies see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientView {
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// Continent code.
    pub continent: Option<String>,
    /// ISO 3166-2 subdivision code without the country (e.g. `WA`).
    pub subdivision: Option<String>,
    /// Where the client is, or its edge location.
    pub coordinates: Option<Coordinates>,
    /// The client's autonomous system.
    pub asn: Option<u32>,
    /// The edge location that took the request (IATA code, upper case), for latency matrices.
    pub edge_location: Option<String>,
    /// The client's network: the ECS subnet, or the connecting address as a host route.
    pub network: Option<IpNet>,
    /// Whether `network` is the query's ECS subnet (then CIDR and sticky decisions carry a
    /// scope) rather than the connecting address.
    pub from_subnet: bool,
    /// The prefix length that decided country/continent/coordinates when they came from the
    /// ECS subnet; 0 when they came from the edge's data for the connection.
    pub geo_scope: u8,
    /// The prefix length that decided the ASN when it came from the ECS subnet; else 0.
    pub asn_scope: u8,
}

/// Where the client is, as the policies see it, worked out when first asked: only a routed
/// set asks, so an answer from plain records never reads the client's location.
/// A [`ClientView`] is its own source.
pub trait ClientViewSource {
    /// The client's view.
    fn client_view(&self) -> &ClientView;
}

impl ClientViewSource for ClientView {
    fn client_view(&self) -> &ClientView {
        self
    }
}

/// The health snapshot, as answering sees it.
pub trait HealthView {
    /// Whether a check is healthy; `None` when the check is unknown to the snapshot.
    fn is_healthy(&self, check: &str) -> Option<bool>;

    /// An operator's forced state for a single value, if any (beats every health check of
    /// the nodes answering it).
    fn forced_value(&self, _value: &RData) -> Option<bool> {
        None
    }

    /// How old the data is and whether it is trusted, for explain.
    fn summary(&self) -> HealthSummary {
        HealthSummary::default()
    }
}

/// What explain says about the health data behind an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HealthSummary {
    /// When the checker wrote the snapshot (ms since the epoch); `None`: no snapshot.
    pub updated_at: Option<u64>,
    /// Its age when the answer was made, in ms.
    pub age_ms: Option<u64>,
    /// Whether it was too old to trust (then every check counted as healthy).
    pub stale: bool,
}

/// No health data: every check counts as healthy (ROUTING.md: no data yet → healthy).
pub struct NoHealthData;

impl HealthView for NoHealthData {
    fn is_healthy(&self, _check: &str) -> Option<bool> {
        None
    }
}

/// Another record set an alias can point at.
pub enum Target<'a> {
    /// Plain values with one TTL.
    Static {
        /// The values (decoded for the lookup: a compact zone holds them in wire form).
        values: Vec<RData>,
        /// Their TTL.
        ttl: u32,
    },
    /// A routed record set.
    Routed {
        /// Its policy.
        rule: &'a Rule,
        /// Its TTL.
        ttl: u32,
    },
}

/// Finds alias targets (implemented by the zone catalog).
pub trait Targets {
    /// The record set of `record_type` at `name` in the hosted zones.
    fn target(&self, name: &str, record_type: RecordType) -> Option<Target<'_>>;

    /// The operator's measured latency from an edge location to a region, in ms.
    fn measured_latency(&self, _edge_location: &str, _region: &str) -> Option<u32> {
        None
    }
}

/// Why an evaluation gave no answer; the answer layer turns it into SERVFAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Deciding went through more than [`MAX_ALIAS_DEPTH`] levels (nesting and alias links).
    TooDeep,
    /// The evaluation visited [`EVALUATION_BUDGET`] nodes without finishing.
    OverBudget,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooDeep => write!(f, "the routing policy nests deeper than {MAX_ALIAS_DEPTH} levels"),
            Self::OverBudget => write!(f, "the routing policy needs more than {EVALUATION_BUDGET} steps"),
        }
    }
}

/// The work an evaluation may still do: nodes visited against a limit, and the first failure,
/// after which nothing more is visited (so a failed evaluation stops at once). Evaluations
/// that share one budget share its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    limit: u32,
    visited: u32,
    failure: Option<Failure>,
}

impl Budget {
    /// A budget of `limit` nodes.
    pub fn new(limit: u32) -> Self {
        Self { limit, visited: 0, failure: None }
    }

    /// The nodes visited so far.
    pub fn visited(&self) -> u32 {
        self.visited
    }

    /// Why the answer stopped, if it did.
    pub fn failure(&self) -> Option<Failure> {
        self.failure
    }

    /// Counts one node; `false` when the budget is spent or the answer already failed (the
    /// caller then does nothing more).
    fn visit(&mut self) -> bool {
        if self.failure.is_some() {
            return false;
        }
        if self.visited >= self.limit {
            self.failure = Some(Failure::OverBudget);
            return false;
        }
        self.visited += 1;
        true
    }

    fn fail(&mut self, failure: Failure) {
        self.failure.get_or_insert(failure);
    }
}

impl Default for Budget {
    /// [`EVALUATION_BUDGET`] nodes.
    fn default() -> Self {
        Self::new(EVALUATION_BUDGET)
    }
}

/// Everything a decision depends on besides the tree.
pub struct Context<'a> {
    /// Where the client is.
    pub client: &'a ClientView,
    /// The health snapshot.
    pub health: &'a dyn HealthView,
    /// Alias targets.
    pub targets: &'a dyn Targets,
    /// The random source.
    pub random: &'a mut dyn Random,
    /// The explain trace, when asked for.
    pub trace: Option<&'a mut Vec<String>>,
    /// The work the evaluation may still do.
    pub budget: &'a mut Budget,
}

impl Context<'_> {
    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.push(line());
        }
    }
}

/// The outcome of evaluating a tree.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// The values to answer (empty: NODATA).
    pub values: Vec<RData>,
    /// The TTL to use when an alias decided it (the target's).
    pub ttl: Option<u32>,
    /// The ECS scope the decision depends on.
    pub scope: u8,
    /// Whether the decision depended on the client or on chance.
    pub tailored: bool,
    /// Why there is no answer (then `values` is empty and the answer is SERVFAIL).
    pub failure: Option<Failure>,
    /// The nodes this evaluation visited.
    pub visited: u32,
}

impl Decision {
    fn depends_on(&mut self, scope: u8) {
        self.scope = self.scope.max(scope);
        self.tailored = true;
    }
}

/// Evaluates a record set's policy for `record_type`, within what is left of the context's
/// budget.
pub fn evaluate(rule: &Rule, record_type: RecordType, context: &mut Context<'_>) -> Decision {
    let mut decision = Decision::default();
    let before = context.budget.visited();
    decide(rule, record_type, context, &mut decision, 0);
    decision.visited = context.budget.visited() - before;
    if let Some(failure) = context.budget.failure() {
        context.note(|| format!("{failure}: no answer (SERVFAIL)"));
        decision.values.clear();
        decision.ttl = None;
        decision.failure = Some(failure);
    }
    decision
}

fn name_of(rule: &Rule) -> &str {
    rule.label.as_deref().unwrap_or("(unnamed)")
}

/// Whether a node counts as healthy: a forced state wins; then its own health check (no data
/// counts as healthy); then, for an alias that evaluates target health, its target; for a
/// node with children, at least one healthy child. Each call counts against the budget; a
/// node it cannot afford counts as unhealthy (and the answer fails).
pub fn is_healthy(rule: &Rule, record_type: RecordType, context: &mut Context<'_>, depth: usize) -> bool {
    if !context.budget.visit() {
        return false;
    }
    if let Some(forced) = rule.force {
        return forced;
    }
    // An operator's override of a value beats the node's check: a value forced down takes
    // its node down, and values forced up keep it up.
    if let Action::Values(values) = &rule.action {
        let mut forced = values.iter().filter_map(|value| context.health.forced_value(&value.0));
        if let Some(first) = forced.next() {
            return first && forced.all(|up| up);
        }
    }
    if let Some(check) = &rule.health_check {
        if context.health.is_healthy(check) == Some(false) {
            return false;
        }
    }
    if depth > MAX_ALIAS_DEPTH {
        return false;
    }
    let mut any = |rules: &mut dyn Iterator<Item = &Rule>| {
        let mut any_healthy = false;
        for rule in rules {
            if is_healthy(rule, record_type, context, depth + 1) {
                any_healthy = true;
                break;
            }
        }
        any_healthy
    };
    match &rule.action {
        Action::Values(_) => true,
        Action::Alias { target, evaluate_target_health } => {
            !evaluate_target_health
                || match context.targets.target(target, record_type) {
                    Some(Target::Routed { rule, .. }) => is_healthy(rule, record_type, context, depth + 1),
                    Some(Target::Static { .. }) => true,
                    None => false,
                }
        }
        Action::Weighted { choices, .. } => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Failover { primary, secondary } => any(&mut [primary.as_ref(), secondary.as_ref()].into_iter()),
        Action::Geolocation(choices) => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Latency(choices) => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Geoproximity(choices) => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Cidr(choices) => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Asn(choices) => any(&mut choices.iter().map(|c| &c.rule)),
        Action::Multivalue(rules) => any(&mut rules.iter()),
    }
}

/// From candidates in preference order, the first healthy one, else the first (the
/// "all unhealthy: answer anyway" rule shared by failover, geolocation, latency...).
pub fn prefer_healthy<'r, T>(candidates: &[&'r T], mut healthy: impl FnMut(&T) -> bool) -> Option<(&'r T, bool)> {
    candidates
        .iter()
        .find(|candidate| healthy(candidate))
        .map(|candidate| (*candidate, true))
        .or_else(|| candidates.first().map(|candidate| (*candidate, false)))
}

/// Picks an index with probability weight / sum; all-zero weights mean equal chances.
pub fn pick_weighted(weights: &[u32], random: &mut dyn Random) -> Option<usize> {
    if weights.is_empty() {
        return None;
    }
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        let count = u32::try_from(weights.len()).unwrap_or(u32::MAX);
        return Some(random.below(count) as usize);
    }
    let mut ticket = u64::from(random.below(u32::try_from(total).unwrap_or(u32::MAX)));
    for (index, weight) in weights.iter().enumerate() {
        let weight = u64::from(*weight);
        if ticket < weight {
            return Some(index);
        }
        ticket -= weight;
    }
    Some(weights.len() - 1)
}

/// Route 53's biased distance: bias > 0 shrinks the distance (grows the area served),
/// bias < 0 stretches it.
pub fn biased_distance(distance_km: f64, bias: i8) -> f64 {
    let bias = f64::from(bias.clamp(-99, 99));
    if bias >= 0.0 {
        distance_km * (1.0 - bias / 100.0)
    } else {
        distance_km / (1.0 + bias / 100.0)
    }
}

/// The ECS scope of a longest-prefix decision: the longest prefix `p` such that every
/// address in the client's /p block gets the same match. Starts at the matched network's
/// length (0 for `*`) and narrows past every more specific network that shares the block.
pub fn prefix_scope(client: IpNet, matched: Option<IpNet>, all: &[IpNet]) -> u8 {
    let address = client.addr();
    let mut scope = matched.map_or(0, |net| net.prefix_len());
    for network in all {
        if Some(*network) == matched || network.prefix_len() <= scope {
            continue;
        }
        if network.contains(&address) {
            continue;
        }
        let Ok(block) = IpNet::new(address, scope) else { continue };
        if block.trunc().contains(&network.network()) {
            scope = scope.max(common_prefix(address, network.network()).saturating_add(1));
        }
    }
    scope.min(client.prefix_len())
}

fn common_prefix(a: std::net::IpAddr, b: std::net::IpAddr) -> u8 {
    match (a, b) {
        (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => (u32::from(a) ^ u32::from(b)).leading_zeros() as u8,
        (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => (u128::from(a) ^ u128::from(b)).leading_zeros() as u8,
        _ => 0,
    }
}

fn decide(rule: &Rule, record_type: RecordType, context: &mut Context<'_>, decision: &mut Decision, depth: usize) {
    if !context.budget.visit() {
        return;
    }
    if depth > MAX_ALIAS_DEPTH {
        context.note(|| "alias chain too deep: no answer".to_owned());
        context.budget.fail(Failure::TooDeep);
        return;
    }
    match &rule.action {
        Action::Values(values) => {
            context.note(|| format!("{}: answer {} value(s)", name_of(rule), values.len()));
            decision.values.extend(values.iter().map(|value| value.0.clone()));
        }
        Action::Alias { target, .. } => match context.targets.target(target, record_type) {
            Some(Target::Static { values, ttl }) => {
                context.note(|| format!("{}: alias to {target} ({} value(s), TTL {ttl})", name_of(rule), values.len()));
                decision.values.extend(values);
                decision.ttl = Some(ttl);
            }
            Some(Target::Routed { rule: target_rule, ttl }) => {
                context.note(|| format!("{}: alias to the routed set {target}", name_of(rule)));
                decision.ttl = Some(ttl);
                decide(target_rule, record_type, context, decision, depth + 1);
            }
            None => context.note(|| format!("{}: alias target {target} has no {record_type} set", name_of(rule))),
        },
        Action::Weighted { choices, sticky } => decide_weighted(rule, choices, *sticky, record_type, context, decision, depth),
        Action::Failover { primary, secondary } => {
            let chosen = if is_healthy(primary, record_type, context, depth) {
                context.note(|| format!("failover: primary {} healthy", name_of(primary)));
                primary
            } else if is_healthy(secondary, record_type, context, depth) {
                context.note(|| format!("failover: primary {} unhealthy, secondary {} healthy", name_of(primary), name_of(secondary)));
                secondary
            } else {
                context.note(|| "failover: both unhealthy, answering the primary".to_owned());
                primary
            };
            decide(chosen, record_type, context, decision, depth + 1);
        }
        Action::Geolocation(choices) => {
            let client = context.client;
            let mut matching: Vec<&LocatedChoice> = choices.iter().filter(|c| c.location.matches(client)).collect();
            matching.sort_by_key(|c| std::cmp::Reverse(c.location.specificity()));
            decision.depends_on(client.geo_scope);
            for skipped in choices.iter().filter(|c| !c.location.matches(client)) {
                context.note(|| format!("geolocation: {} does not match the client", skipped.location));
            }
            let picked = prefer_healthy(&matching, |c| is_healthy(&c.rule, record_type, context, depth));
            match picked {
                Some((choice, healthy)) => {
                    context.note(|| format!("geolocation: matched {}{}", choice.location, if healthy { "" } else { " (every match unhealthy)" }));
                    decide(&choice.rule, record_type, context, decision, depth + 1);
                }
                None => context.note(|| "geolocation: no location matches and no default: NODATA".to_owned()),
            }
        }
        Action::Latency(choices) => {
            // An operator's latency matrix for the client's edge location wins over distance.
            let edge = context.client.edge_location.as_deref();
            let measured: Option<Vec<(u32, &RegionalChoice)>> =
                edge.and_then(|edge| choices.iter().map(|c| context.targets.measured_latency(edge, &c.region).map(|ms| (ms, c))).collect());
            let ordered: Vec<&RegionalChoice> = if let Some(mut measured) = measured {
                measured.sort_by_key(|(ms, _)| *ms);
                context.note(|| format!("latency: measured latencies from {}", edge.unwrap_or("?")));
                decision.tailored = true;
                measured.into_iter().map(|(_, c)| c).collect()
            } else if let Some(origin) = context.client.coordinates {
                decision.depends_on(context.client.geo_scope);
                let mut ordered: Vec<&RegionalChoice> = choices.iter().collect();
                ordered.sort_by(|a, b| places::distance_km(origin, a.coordinates).total_cmp(&places::distance_km(origin, b.coordinates)));
                ordered
            } else {
                context.note(|| "latency: client location unknown, regions in the order written".to_owned());
                decision.tailored = true;
                choices.iter().collect()
            };
            if let Some((choice, healthy)) = prefer_healthy(&ordered, |c| is_healthy(&c.rule, record_type, context, depth)) {
                context.note(|| format!("latency: nearest usable region {}{}", choice.region, if healthy { "" } else { " (all unhealthy)" }));
                decide(&choice.rule, record_type, context, decision, depth + 1);
            }
        }
        Action::Geoproximity(choices) => {
            let Some(origin) = context.client.coordinates else {
                context.note(|| "geoproximity: client location unknown, using the first endpoint".to_owned());
                decision.tailored = true;
                if let Some(first) = choices.first() {
                    decide(&first.rule, record_type, context, decision, depth + 1);
                }
                return;
            };
            decision.depends_on(context.client.geo_scope);
            let score = |c: &ProximateChoice| biased_distance(places::distance_km(origin, c.coordinates), c.bias);
            let mut ordered: Vec<&ProximateChoice> = choices.iter().collect();
            ordered.sort_by(|a, b| score(a).total_cmp(&score(b)));
            if let Some((choice, _)) = prefer_healthy(&ordered, |c| is_healthy(&c.rule, record_type, context, depth)) {
                context.note(|| format!("geoproximity: smallest biased distance {} ({:.0} km)", name_of(&choice.rule), score(choice)));
                decide(&choice.rule, record_type, context, decision, depth + 1);
            }
        }
        Action::Cidr(choices) => decide_cidr(choices, record_type, context, decision, depth),
        Action::Asn(choices) => {
            let asn = context.client.asn;
            decision.depends_on(context.client.asn_scope);
            let specific: Vec<&AsnChoice> = choices.iter().filter(|c| asn.is_some_and(|a| c.asns.contains(&a))).collect();
            let default: Vec<&AsnChoice> = choices.iter().filter(|c| c.asns.is_empty()).collect();
            let candidates: Vec<&AsnChoice> = specific.iter().chain(default.iter()).copied().collect();
            match prefer_healthy(&candidates, |c| is_healthy(&c.rule, record_type, context, depth)) {
                Some((choice, _)) => {
                    context.note(|| format!("asn: client AS{} → {}", asn.map_or("?".to_owned(), |a| a.to_string()), name_of(&choice.rule)));
                    decide(&choice.rule, record_type, context, decision, depth + 1);
                }
                None => context.note(|| "asn: no rule for the client's AS and no default: NODATA".to_owned()),
            }
        }
        Action::Multivalue(rules) => {
            decision.tailored = true;
            let health: Vec<(&Rule, bool)> = rules.iter().map(|r| (r, is_healthy(r, record_type, context, depth))).collect();
            let healthy: Vec<&Rule> = health.iter().filter(|(_, up)| *up).map(|(r, _)| *r).collect();
            let mut pool = if healthy.is_empty() {
                context.note(|| "multivalue: every value unhealthy, answering up to 8 anyway".to_owned());
                rules.iter().collect()
            } else {
                for (rule, _) in health.iter().filter(|(_, up)| !up) {
                    context.note(|| format!("multivalue: dropped {} (unhealthy)", name_of(rule)));
                }
                healthy
            };
            // Partial Fisher-Yates: a random selection of up to 8, in random order.
            let count = pool.len().min(MULTIVALUE_LIMIT);
            for index in 0..count {
                let remaining = u32::try_from(pool.len() - index).unwrap_or(u32::MAX);
                let swap = index + context.random.below(remaining) as usize;
                pool.swap(index, swap);
            }
            for chosen in pool.into_iter().take(count) {
                decide(chosen, record_type, context, decision, depth + 1);
            }
        }
    }
}

fn decide_weighted(
    rule: &Rule,
    choices: &[WeightedChoice],
    sticky: bool,
    record_type: RecordType,
    context: &mut Context<'_>,
    decision: &mut Decision,
    depth: usize,
) {
    let healthy: Vec<bool> = choices.iter().map(|c| is_healthy(&c.rule, record_type, context, depth)).collect();
    let pick_from = |predicate: &dyn Fn(usize, &WeightedChoice) -> bool| -> Vec<usize> {
        choices.iter().enumerate().filter(|(i, c)| predicate(*i, c)).map(|(i, _)| i).collect()
    };
    let all_zero = choices.iter().all(|c| c.weight == 0);
    let mut candidates = pick_from(&|i, c| (c.weight > 0 || all_zero) && healthy.get(i) == Some(&true));
    let mut stage = "healthy weighted sets";
    if candidates.is_empty() {
        candidates = pick_from(&|i, c| c.weight == 0 && healthy.get(i) == Some(&true));
        stage = "weight-0 standbys (every weighted set unhealthy)";
    }
    if candidates.is_empty() {
        candidates = pick_from(&|_, c| c.weight > 0 || all_zero);
        stage = "every set unhealthy: weighted sets treated as healthy";
    }
    // Only explain lists what was dropped; `candidates` is in ascending order, so a binary
    // search keeps a wide node's cost n log n.
    let explaining = context.trace.is_some();
    for (index, choice) in choices.iter().enumerate().filter(|_| explaining) {
        if candidates.binary_search(&index).is_err() {
            let why = if healthy.get(index) == Some(&false) { "unhealthy" } else { "weight 0 standby" };
            context.note(|| format!("weighted: dropped {} ({why})", name_of(&choice.rule)));
        }
    }
    let weights: Vec<u32> = candidates.iter().filter_map(|i| choices.get(*i)).map(|c| u32::from(c.weight)).collect();
    let picked = if sticky {
        let seed = context.client.network.map_or(0, |network| stable_hash(&network.trunc().to_string()));
        let mut sticky_random = SplitMix::new(seed ^ stable_hash(name_of(rule)));
        decision.depends_on(context.client.network.filter(|_| context.client.from_subnet).map_or(0, |n| n.prefix_len()));
        pick_weighted(&weights, &mut sticky_random)
    } else {
        decision.tailored = true;
        pick_weighted(&weights, context.random)
    };
    if let Some(choice) = picked.and_then(|p| candidates.get(p)).and_then(|i| choices.get(*i)) {
        let total: u32 = weights.iter().sum();
        context.note(|| format!("weighted: picked {} (weight {} of {total}) among {stage}", name_of(&choice.rule), choice.weight));
        decide(&choice.rule, record_type, context, decision, depth + 1);
    }
}

fn decide_cidr(choices: &[NetworkChoice], record_type: RecordType, context: &mut Context<'_>, decision: &mut Decision, depth: usize) {
    let Some(client) = context.client.network else {
        context.note(|| "cidr: client network unknown, using the default".to_owned());
        decision.tailored = true;
        if let Some(default) = choices.iter().find(|c| c.networks.is_empty()) {
            decide(&default.rule, record_type, context, decision, depth + 1);
        }
        return;
    };
    let address = client.addr();
    let best = choices
        .iter()
        .flat_map(|choice| choice.networks.iter().map(move |network| (choice, *network)))
        .filter(|(_, network)| network.contains(&address))
        .max_by_key(|(_, network)| network.prefix_len());
    let all: Vec<IpNet> = choices.iter().flat_map(|c| c.networks.iter().copied()).collect();
    let scope = prefix_scope(client, best.map(|(_, network)| network), &all);
    decision.depends_on(if context.client.from_subnet { scope } else { 0 });
    let default = choices.iter().find(|c| c.networks.is_empty());
    let mut candidates: Vec<&NetworkChoice> = best.map(|(choice, _)| choice).into_iter().collect();
    candidates.extend(default);
    match prefer_healthy(&candidates, |c| is_healthy(&c.rule, record_type, context, depth)) {
        Some((choice, _)) => {
            context.note(|| {
                let matched = best.map_or("no network".to_owned(), |(_, n)| n.to_string());
                format!("cidr: client {client} matched {matched} → {} (scope /{scope})", choice.location)
            });
            decide(&choice.rule, record_type, context, decision, depth + 1);
        }
        None => context.note(|| "cidr: no network matches and no default: NODATA".to_owned()),
    }
}

/// The most nodes evaluating `rule` can visit, whatever the client, the health data and the
/// random picks: each arm follows the one of `decide` or `is_healthy` that it bounds (every
/// check down so no health search stops early, every choice the dearest one, the depth cap
/// where the evaluator has it). The compiler refuses trees over [`EVALUATION_BUDGET`] with it,
/// so published trees never reach the budget; the `policy_budget` fuzz target checks that no
/// evaluation visits more than this.
///
/// Alias targets are memoised by (target, depth), so the bound is found in time linear in the
/// trees' sizes even where aliases fan out to shared sets (a chain of N sets whose K branches
/// each alias the next costs K^N at query time, and is refused, but is measured in N × K
/// steps). The depth cap ends every path, so a loop in a snapshot cannot make it run forever.
/// Sums saturate.
pub fn worst_case_visits(rule: &Rule, record_type: RecordType, targets: &dyn Targets) -> u64 {
    let mut costing = Costing { record_type, targets, decided: HashMap::new(), checked: HashMap::new() };
    costing.decide(rule, 0)
}

/// The deepest level evaluating `rule` reaches (the root is level 0; every nested rule and
/// every alias into a routed set is one level more), counted up to `MAX_ALIAS_DEPTH + 1`: past
/// [`MAX_ALIAS_DEPTH`] the evaluator gives up ([`Failure::TooDeep`]), so the compiler refuses
/// such a tree instead of publishing one that can only answer SERVFAIL.
pub fn deepest_level(rule: &Rule, record_type: RecordType, targets: &dyn Targets) -> usize {
    fn walk(rule: &Rule, level: usize, record_type: RecordType, targets: &dyn Targets) -> usize {
        // Also what ends a loop (the compiler reports those on their own).
        if level > MAX_ALIAS_DEPTH {
            return level;
        }
        let deepest = |rules: &mut dyn Iterator<Item = &Rule>| rules.map(|child| walk(child, level + 1, record_type, targets)).max().unwrap_or(level);
        match &rule.action {
            Action::Values(_) => level,
            Action::Alias { target, .. } => match targets.target(target, record_type) {
                Some(Target::Routed { rule: target, .. }) => walk(target, level + 1, record_type, targets),
                Some(Target::Static { .. }) | None => level,
            },
            Action::Weighted { choices, .. } => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Failover { primary, secondary } => deepest(&mut [primary.as_ref(), secondary.as_ref()].into_iter()),
            Action::Geolocation(choices) => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Latency(choices) => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Geoproximity(choices) => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Cidr(choices) => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Asn(choices) => deepest(&mut choices.iter().map(|c| &c.rule)),
            Action::Multivalue(rules) => deepest(&mut rules.iter()),
        }
    }
    walk(rule, 0, record_type, targets)
}

/// The memo of [`worst_case_visits`]: alias targets' costs by (rule address, depth).
struct Costing<'t> {
    record_type: RecordType,
    targets: &'t dyn Targets,
    decided: HashMap<(usize, usize), u64>,
    checked: HashMap<(usize, usize), u64>,
}

impl Costing<'_> {
    /// Bounds `decide(rule, depth)`.
    fn decide(&mut self, rule: &Rule, depth: usize) -> u64 {
        if depth > MAX_ALIAS_DEPTH {
            return 1;
        }
        let choose = |costing: &mut Self, children: &mut dyn Iterator<Item = &Rule>| {
            let (mut checks, mut dearest) = (0u64, 0u64);
            for child in children {
                checks = checks.saturating_add(costing.healthy(child, depth));
                dearest = dearest.max(costing.decide(child, depth + 1));
            }
            checks.saturating_add(dearest)
        };
        let below = match &rule.action {
            Action::Values(_) => 0,
            Action::Alias { target, .. } => match self.targets.target(target, self.record_type) {
                Some(Target::Routed { rule: target, .. }) => {
                    let key = (std::ptr::from_ref(target) as usize, depth + 1);
                    match self.decided.get(&key) {
                        Some(cost) => *cost,
                        None => {
                            let cost = self.decide(target, depth + 1);
                            self.decided.insert(key, cost);
                            cost
                        }
                    }
                }
                Some(Target::Static { .. }) | None => 0,
            },
            Action::Weighted { choices, .. } => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Failover { primary, secondary } => choose(self, &mut [primary.as_ref(), secondary.as_ref()].into_iter()),
            Action::Geolocation(choices) => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Latency(choices) => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Geoproximity(choices) => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Cidr(choices) => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Asn(choices) => choose(self, &mut choices.iter().map(|c| &c.rule)),
            Action::Multivalue(rules) => {
                // Every value's health, then up to MULTIVALUE_LIMIT of them decided.
                let checks = rules.iter().fold(0u64, |sum, rule| sum.saturating_add(self.healthy(rule, depth)));
                let mut decided: Vec<u64> = rules.iter().map(|rule| self.decide(rule, depth + 1)).collect();
                decided.sort_unstable_by(|a, b| b.cmp(a));
                checks.saturating_add(decided.into_iter().take(MULTIVALUE_LIMIT).fold(0u64, u64::saturating_add))
            }
        };
        below.saturating_add(1)
    }

    /// Bounds `is_healthy(rule, depth)`.
    fn healthy(&mut self, rule: &Rule, depth: usize) -> u64 {
        if rule.force.is_some() || depth > MAX_ALIAS_DEPTH {
            return 1;
        }
        let below = match &rule.action {
            Action::Values(_) => 0,
            Action::Alias { target, evaluate_target_health } => match self.targets.target(target, self.record_type) {
                Some(Target::Routed { rule: target, .. }) if *evaluate_target_health => {
                    let key = (std::ptr::from_ref(target) as usize, depth + 1);
                    match self.checked.get(&key) {
                        Some(cost) => *cost,
                        None => {
                            let cost = self.healthy(target, depth + 1);
                            self.checked.insert(key, cost);
                            cost
                        }
                    }
                }
                _ => 0,
            },
            Action::Weighted { choices, .. } => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Failover { primary, secondary } => self.any(&mut [primary.as_ref(), secondary.as_ref()].into_iter(), depth),
            Action::Geolocation(choices) => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Latency(choices) => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Geoproximity(choices) => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Cidr(choices) => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Asn(choices) => self.any(&mut choices.iter().map(|c| &c.rule), depth),
            Action::Multivalue(rules) => self.any(&mut rules.iter(), depth),
        };
        below.saturating_add(1)
    }

    /// Bounds the search for a healthy child: all of them, when none is.
    fn any(&mut self, children: &mut dyn Iterator<Item = &Rule>, depth: usize) -> u64 {
        children.fold(0u64, |sum, child| sum.saturating_add(self.healthy(child, depth + 1)))
    }
}

/// FNV-1a: stable across builds, for sticky picks.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests;
