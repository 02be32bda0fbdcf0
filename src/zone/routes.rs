//! The routes file: routed record sets, health checks and CIDR collections of a zone, in
//! TOML beside its master file (`example.com.routes.toml` next to `example.com.zone`).
//!
//! ```toml
//! [health_checks.site-a]
//! type = "https"
//! host = "a.example.net"
//! path = "/health"
//!
//! [[records]]
//! name = "www"          # relative to the zone; "@" is the apex
//! type = "A"
//! ttl = 60
//!
//! [[records.weighted]]
//! label = "site-a"
//! weight = 80
//! health_check = "site-a"
//! values = ["192.0.2.10"]
//!
//! [[records.weighted]]
//! label = "site-b"
//! weight = 20
//! values = ["192.0.2.20"]
//! ```
//!
//! Two top-level keys concern the whole zone: `delegation_set = "<name>"` takes the apex NS
//! and the SOA from a set of `delegation-sets.toml` (see [`super::delegation`]), and
//! `soa_negative_ttl = <seconds>` sets the SOA MINIMUM, the negative-caching TTL (RFC 2308 §4),
//! whichever SOA the zone has. `dnssec = true` signs the zone's answers at the edge (README,
//! "DNSSEC"; the key is the Worker secret [`crate::dnssec::key::secret_name`] names).
//!
//! Every node of a record's tree has exactly one action: `values`, `alias`, `weighted`,
//! `failover`, `geolocation`, `latency`, `geoproximity`, `cidr`, `asn` or `multivalue`; the
//! children of a choosing node carry its selector (`weight`, `location`, `region`,
//! `coordinates`/`bias`, `asns`) and any action of their own, so policies compose in one
//! definition (geolocation → weighted → failover) without alias chains. Everything is checked
//! here, each error with its line; the engine trusts the result.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use hickory_proto::rr::{Name, RData, RecordType};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::master;
use crate::geo::places::{self, Coordinates};
use crate::health::spec::{self, CheckKind, HealthCheckSpec, Host, Path};
use crate::policy::{Action, AsnChoice, GeoLocation, LocatedChoice, NetworkChoice, ProximateChoice, RegionalChoice, Rule, Value, WeightedChoice};

/// A routed record set: one policy tree for a name and type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutedSet {
    /// Owner name, absolute.
    pub name: String,
    /// The record type.
    pub record_type: u16,
    /// TTL of the answers (an alias answer takes its target's TTL instead).
    pub ttl: u32,
    /// The policy tree.
    pub rule: Rule,
}

impl RoutedSet {
    /// The record type.
    pub fn record_type(&self) -> RecordType {
        RecordType::from(self.record_type)
    }
}

/// A routes file's problem, at a line (0: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutesError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RoutesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a routes file declares, checked except for references across files (alias
/// targets, health-check ids), which the catalog compiler resolves.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    /// The routed record sets, with the line each starts on.
    pub sets: Vec<(usize, RoutedSet)>,
    /// Health checks by id, with their lines.
    pub health_checks: BTreeMap<String, (usize, HealthCheckSpec)>,
    /// Health-check ids referenced, with the lines that reference them.
    pub check_references: Vec<(usize, String)>,
    /// Alias targets referenced: line, target name, record type.
    pub alias_references: Vec<(usize, String, RecordType)>,
    /// Measured latency in ms, by edge location (IATA, upper case) and region.
    pub latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
    /// The delegation set the zone takes its apex NS and SOA from, with its line.
    pub delegation_set: Option<(usize, String)>,
    /// The SOA MINIMUM (negative-caching TTL) the zone's SOA is given, with its line.
    pub soa_negative_ttl: Option<(usize, u32)>,
    /// Whether the zone's answers are signed (`dnssec = true`), with its line.
    pub dnssec: Option<(usize, bool)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSource {
    #[serde(default)]
    delegation_set: Option<Spanned<String>>,
    #[serde(default)]
    soa_negative_ttl: Option<Spanned<i64>>,
    #[serde(default)]
    dnssec: Option<Spanned<bool>>,
    #[serde(default)]
    health_checks: BTreeMap<String, Spanned<CheckSource>>,
    #[serde(default)]
    cidr_collections: BTreeMap<String, BTreeMap<String, Vec<Spanned<String>>>>,
    #[serde(default)]
    latency_matrix: BTreeMap<String, BTreeMap<String, Spanned<i64>>>,
    #[serde(default)]
    records: Vec<Spanned<NodeSource>>,
}

/// A health check as written; the compiler reads it into a [`HealthCheckSpec`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSource {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    host: Option<Spanned<String>>,
    #[serde(default)]
    port: Option<Spanned<u16>>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    host_header: Option<String>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    interval: Option<u32>,
    #[serde(default)]
    threshold: Option<u32>,
    #[serde(default)]
    timeout: Option<u32>,
    #[serde(default)]
    inverted: bool,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    children: Vec<String>,
    #[serde(default)]
    min_healthy: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailoverSource {
    primary: Spanned<NodeSource>,
    secondary: Spanned<NodeSource>,
}

/// One node as written: every key any node may have; which ones are allowed where is checked
/// by the compiler.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NodeSource {
    // Record-level keys.
    name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    record_type: Option<Spanned<String>>,
    ttl: Option<Spanned<i64>>,
    // Common node keys.
    label: Option<String>,
    health_check: Option<Spanned<String>>,
    force: Option<Spanned<String>>,
    // Selectors (set on children).
    weight: Option<Spanned<i64>>,
    location: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    coordinates: Option<Spanned<Vec<f64>>>,
    bias: Option<Spanned<i64>>,
    asns: Option<Spanned<Vec<i64>>>,
    // Actions.
    values: Option<Spanned<Vec<Spanned<String>>>>,
    alias: Option<Spanned<String>>,
    evaluate_target_health: Option<bool>,
    weighted: Option<Vec<Spanned<NodeSource>>>,
    sticky: Option<bool>,
    failover: Option<Spanned<Box<FailoverSource>>>,
    geolocation: Option<Vec<Spanned<NodeSource>>>,
    latency: Option<Vec<Spanned<NodeSource>>>,
    geoproximity: Option<Vec<Spanned<NodeSource>>>,
    cidr: Option<Vec<Spanned<NodeSource>>>,
    collection: Option<Spanned<String>>,
    asn: Option<Vec<Spanned<NodeSource>>>,
    multivalue: Option<Vec<Spanned<NodeSource>>>,
}

/// Which selector a node's parent gives it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Record,
    Weighted,
    Failover,
    Geolocation,
    Latency,
    Geoproximity,
    Cidr,
    Asn,
    Multivalue,
}

struct Compiler<'a> {
    text: &'a str,
    apex: &'a Name,
    collections: HashMap<String, HashMap<String, Vec<IpNet>>>,
    errors: Vec<RoutesError>,
    routes: Routes,
}

/// Reads a routes file for the zone at `apex`.
pub fn parse(text: &str, apex: &Name) -> Result<Routes, Vec<RoutesError>> {
    let source: FileSource = toml::from_str(text).map_err(|error| {
        let line = error.span().map_or(0, |span| line_of(text, span.start));
        let message = error.message().trim().to_owned();
        vec![RoutesError { line, message }]
    })?;
    let mut compiler = Compiler { text, apex, collections: HashMap::new(), errors: Vec::new(), routes: Routes::default() };
    compiler.zone_settings(&source);
    compiler.collections(&source.cidr_collections);
    compiler.latency_matrix(&source.latency_matrix);
    for (id, spec) in &source.health_checks {
        compiler.health_check(id, spec);
    }
    let mut seen: HashMap<(String, u16), usize> = HashMap::new();
    for record in &source.records {
        if let Some(set) = compiler.record(record) {
            let line = line_of(text, record.span().start);
            let key = (set.name.to_ascii_lowercase(), set.record_type);
            if let Some(first) = seen.insert(key, line) {
                compiler.error(
                    record.span(),
                    format!(
                        "a second {} set for {}: the first is on line {first}; one name and type take one policy (nest policies instead)",
                        set.record_type(),
                        set.name
                    ),
                );
                continue;
            }
            compiler.routes.sets.push((line, set));
        }
    }
    if compiler.errors.is_empty() {
        Ok(compiler.routes)
    } else {
        compiler.errors.sort_by_key(|e| e.line);
        Err(compiler.errors)
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|b| **b == b'\n').count() + 1
}

impl Compiler<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        let line = line_of(self.text, span.start);
        self.errors.push(RoutesError { line, message });
    }

    /// The keys that concern the whole zone; the delegation set's name is resolved by the
    /// catalog compiler, which reads every delegation-sets file.
    fn zone_settings(&mut self, source: &FileSource) {
        if let Some(name) = &source.delegation_set {
            if name.get_ref().is_empty() {
                self.error(name.span(), "delegation_set names a set of delegation-sets.toml".to_owned());
            } else {
                self.routes.delegation_set = Some((line_of(self.text, name.span().start), name.get_ref().clone()));
            }
        }
        if let Some(ttl) = &source.soa_negative_ttl {
            match u32::try_from(*ttl.get_ref()) {
                // RFC 2181 §8: TTLs are 0 ..= 2^31 - 1.
                Ok(seconds) if seconds <= 0x7fff_ffff => {
                    self.routes.soa_negative_ttl = Some((line_of(self.text, ttl.span().start), seconds));
                }
                _ => self.error(ttl.span(), format!("soa_negative_ttl {} is outside 0..=2147483647 seconds", ttl.get_ref())),
            }
        }
        if let Some(dnssec) = &source.dnssec {
            self.routes.dnssec = Some((line_of(self.text, dnssec.span().start), *dnssec.get_ref()));
        }
    }

    fn collections(&mut self, source: &BTreeMap<String, BTreeMap<String, Vec<Spanned<String>>>>) {
        for (collection, locations) in source {
            let mut parsed = HashMap::new();
            for (location, networks) in locations {
                let mut nets = Vec::new();
                for network in networks {
                    match network.get_ref().parse::<IpNet>() {
                        Ok(net) if net.trunc() == net => nets.push(net),
                        Ok(net) => self.error(network.span(), format!("{net} has host bits set (did you mean {}?)", net.trunc())),
                        Err(_) => self.error(network.span(), format!("{:?} is not a network (address/prefix)", network.get_ref())),
                    }
                }
                parsed.insert(location.clone(), nets);
            }
            self.collections.insert(collection.clone(), parsed);
        }
    }

    fn latency_matrix(&mut self, source: &BTreeMap<String, BTreeMap<String, Spanned<i64>>>) {
        for (edge, regions) in source {
            let edge_upper = edge.to_ascii_uppercase();
            let mut row = BTreeMap::new();
            for (region, ms) in regions {
                if places::edge_location(&edge_upper).is_none() {
                    self.error(ms.span(), format!("unknown edge location {edge:?} (an IATA code)"));
                    return;
                }
                if places::region(region).is_none() {
                    self.error(ms.span(), format!("unknown region {region:?}"));
                    continue;
                }
                match u32::try_from(*ms.get_ref()) {
                    Ok(value) => {
                        row.insert(region.to_ascii_lowercase(), value);
                    }
                    Err(_) => self.error(ms.span(), format!("latency {} ms is not a count of milliseconds", ms.get_ref())),
                }
            }
            self.routes.latency_matrix.insert(edge_upper, row);
        }
    }

    /// Reads one `[health_checks.<id>]` table: the kind, host and path parsed into their types
    /// (each refusal at the line of its key), the rest checked against its range.
    fn health_check(&mut self, id: &str, source: &Spanned<CheckSource>) {
        let line = line_of(self.text, source.span().start);
        let check = source.get_ref();
        let kind = match check.kind.get_ref().parse::<CheckKind>() {
            Ok(kind) => Some(kind),
            Err(unknown) => {
                self.error(check.kind.span(), format!("health check {id}: {unknown}"));
                None
            }
        };
        let host = check.host.as_ref().and_then(|host| match Host::parse(host.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.error(host.span(), format!("health check {id}: {error}"));
                None
            }
        });
        let path = check.path.as_ref().and_then(|path| match Path::parse(path.get_ref()) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.error(path.span(), format!("health check {id}: {error}"));
                None
            }
        });
        if let Some(port) = check.port.as_ref().filter(|port| *port.get_ref() == 0) {
            self.error(port.span(), format!("health check {id}: port {} is outside 1..=65535", port.get_ref()));
        }
        match kind {
            Some(kind) if kind.needs_host() => {
                if check.host.is_none() {
                    self.error(source.span(), format!("health check {id}: {kind} checks need a host"));
                }
                if kind == CheckKind::Tcp && check.port.is_none() {
                    self.error(source.span(), format!("health check {id}: tcp checks need a port"));
                }
            }
            Some(_) => {
                if check.children.is_empty() {
                    self.error(source.span(), format!("health check {id}: calculated checks need children"));
                }
                for child in &check.children {
                    self.routes.check_references.push((line, child.clone()));
                }
            }
            None => {}
        }
        if check.threshold == Some(0) {
            self.error(source.span(), format!("health check {id}: threshold must be at least 1"));
        }
        use spec::{MAX_INTERVAL_S, MAX_PROBE_TIMEOUT_S, MIN_INTERVAL_S};
        if let Some(interval) = check.interval.filter(|s| !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(s)) {
            self.error(source.span(), format!("health check {id}: interval {interval} s is outside {MIN_INTERVAL_S}..={MAX_INTERVAL_S}"));
        }
        if let Some(timeout) = check.timeout.filter(|s| !(1..=MAX_PROBE_TIMEOUT_S).contains(s)) {
            self.error(source.span(), format!("health check {id}: timeout {timeout} s is outside 1..={MAX_PROBE_TIMEOUT_S}"));
        }
        // Stored only when it parsed: the file's errors are reported, so the compile fails anyway.
        let Some(kind) = kind else { return };
        let spec = HealthCheckSpec {
            kind,
            host,
            port: check.port.as_ref().map(|port| *port.get_ref()),
            path,
            host_header: check.host_header.clone(),
            search: check.search.clone(),
            interval: check.interval,
            threshold: check.threshold,
            timeout: check.timeout,
            inverted: check.inverted,
            disabled: check.disabled,
            children: check.children.clone(),
            min_healthy: check.min_healthy,
            unusable: None,
        };
        // What the URL parser itself refuses (a malformed xn-- label, say) is refused here too,
        // not found by the first probe.
        if let (Err(error @ spec::ProbeError::Url(_)), Some(host)) = (spec.probe(), &check.host) {
            self.error(host.span(), format!("health check {id}: {error}"));
        }
        self.routes.health_checks.insert(id.to_owned(), (line, spec));
    }

    fn record(&mut self, record: &Spanned<NodeSource>) -> Option<RoutedSet> {
        let source = record.get_ref();
        let Some(name) = &source.name else {
            self.error(record.span(), "a record needs a name".to_owned());
            return None;
        };
        let Some(type_text) = &source.record_type else {
            self.error(record.span(), "a record needs a type".to_owned());
            return None;
        };
        let owner = self.name(name)?;
        let Ok(record_type) = type_text.get_ref().to_ascii_uppercase().parse::<RecordType>() else {
            self.error(type_text.span(), format!("unknown record type {:?}", type_text.get_ref()));
            return None;
        };
        if matches!(record_type, RecordType::SOA | RecordType::NS) {
            self.error(type_text.span(), format!("{record_type} records cannot be routed"));
            return None;
        }
        let ttl = match &source.ttl {
            None => 300,
            Some(ttl) => match u32::try_from(*ttl.get_ref()) {
                Ok(ttl) if ttl <= 0x7fff_ffff => ttl,
                _ => {
                    self.error(ttl.span(), format!("TTL {} out of range", ttl.get_ref()));
                    return None;
                }
            },
        };
        let before = self.errors.len();
        let rule = self.node(record, record_type, Parent::Record);
        if self.errors.len() > before {
            return None;
        }
        rule.map(|rule| RoutedSet { name: owner.to_ascii(), record_type: u16::from(record_type), ttl, rule })
    }

    fn name(&mut self, name: &Spanned<String>) -> Option<Name> {
        let text = name.get_ref();
        let parsed = if text == "@" { Ok(self.apex.clone()) } else { Name::parse(text, Some(self.apex)) };
        match parsed {
            Ok(owner) if self.apex.zone_of(&owner) => Some(owner),
            Ok(owner) => {
                self.error(name.span(), format!("{owner} is outside the zone {}", self.apex));
                None
            }
            Err(error) => {
                self.error(name.span(), format!("bad name {text:?}: {error}"));
                None
            }
        }
    }

    /// Checks one node (its keys must suit its parent) and builds its rule.
    fn node(&mut self, spanned: &Spanned<NodeSource>, record_type: RecordType, parent: Parent) -> Option<Rule> {
        let span = spanned.span();
        let node = spanned.get_ref();
        self.check_keys(node, span.clone(), parent);
        let force = match &node.force {
            None => None,
            Some(text) => match text.get_ref().as_str() {
                "up" => Some(true),
                "down" => Some(false),
                other => {
                    self.error(text.span(), format!("force must be \"up\" or \"down\", not {other:?}"));
                    None
                }
            },
        };
        if let Some(check) = &node.health_check {
            self.routes.check_references.push((line_of(self.text, check.span().start), check.get_ref().clone()));
        }
        let actions = [
            node.values.is_some(),
            node.alias.is_some(),
            node.weighted.is_some(),
            node.failover.is_some(),
            node.geolocation.is_some(),
            node.latency.is_some(),
            node.geoproximity.is_some(),
            node.cidr.is_some(),
            node.asn.is_some(),
            node.multivalue.is_some(),
        ];
        match actions.iter().filter(|set| **set).count() {
            1 => {}
            0 => {
                self.error(span, "no action: give values, alias, weighted, failover, geolocation, latency, geoproximity, cidr, asn or multivalue".to_owned());
                return None;
            }
            _ => {
                self.error(span, "more than one action in one node: nest them instead".to_owned());
                return None;
            }
        }
        let action = self.action(node, span.clone(), record_type)?;
        Some(Rule { label: node.label.clone(), health_check: node.health_check.as_ref().map(|c| c.get_ref().clone()), force, action })
    }

    fn check_keys(&mut self, node: &NodeSource, span: Range<usize>, parent: Parent) {
        let mut misplaced = Vec::new();
        let mut allow = |present: bool, allowed: bool, key: &'static str| {
            if present && !allowed {
                misplaced.push(key);
            }
        };
        let record = parent == Parent::Record;
        allow(node.name.is_some(), record, "name");
        allow(node.record_type.is_some(), record, "type");
        allow(node.ttl.is_some(), record, "ttl");
        allow(node.weight.is_some(), parent == Parent::Weighted, "weight");
        allow(node.location.is_some(), matches!(parent, Parent::Geolocation | Parent::Cidr | Parent::Asn), "location");
        allow(node.region.is_some(), matches!(parent, Parent::Latency | Parent::Geoproximity), "region");
        allow(node.coordinates.is_some(), parent == Parent::Geoproximity, "coordinates");
        allow(node.bias.is_some(), parent == Parent::Geoproximity, "bias");
        allow(node.asns.is_some(), parent == Parent::Asn, "asns");
        allow(node.sticky.is_some(), node.weighted.is_some(), "sticky");
        allow(node.collection.is_some(), node.cidr.is_some(), "collection");
        allow(node.evaluate_target_health.is_some(), node.alias.is_some(), "evaluate_target_health");
        for key in misplaced {
            self.error(span.clone(), format!("{key} does not belong here"));
        }
    }

    fn children(&mut self, children: &[Spanned<NodeSource>], span: &Range<usize>, record_type: RecordType, parent: Parent, what: &str) -> Vec<(usize, Rule)> {
        if children.is_empty() {
            self.error(span.clone(), format!("{what} needs at least one choice"));
        }
        children.iter().enumerate().filter_map(|(index, child)| self.node(child, record_type, parent).map(|rule| (index, rule))).collect()
    }

    fn action(&mut self, node: &NodeSource, span: Range<usize>, record_type: RecordType) -> Option<Action> {
        if let Some(values) = &node.values {
            let mut parsed = Vec::new();
            for value in values.get_ref() {
                parsed.push(Value(self.value(value, record_type)?));
            }
            if parsed.is_empty() {
                self.error(values.span(), "values is empty".to_owned());
            }
            if record_type == RecordType::CNAME && parsed.len() > 1 {
                self.error(values.span(), "a CNAME has exactly one value".to_owned());
            }
            return Some(Action::Values(parsed));
        }
        if let Some(alias) = &node.alias {
            let target = self.name(alias)?;
            self.routes.alias_references.push((line_of(self.text, alias.span().start), target.to_ascii(), record_type));
            return Some(Action::Alias { target: target.to_ascii(), evaluate_target_health: node.evaluate_target_health.unwrap_or(false) });
        }
        if let Some(children) = &node.weighted {
            let mut choices = Vec::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Weighted, "weighted") {
                let Some(child) = children.get(index) else { continue };
                let weight = match &child.get_ref().weight {
                    Some(weight) => match u8::try_from(*weight.get_ref()) {
                        Ok(weight) => weight,
                        Err(_) => {
                            self.error(weight.span(), format!("weight {} is outside 0..255", weight.get_ref()));
                            continue;
                        }
                    },
                    None => {
                        self.error(child.span(), "a weighted choice needs a weight (0..255)".to_owned());
                        continue;
                    }
                };
                choices.push(WeightedChoice { weight, rule });
            }
            return Some(Action::Weighted { choices, sticky: node.sticky.unwrap_or(false) });
        }
        if let Some(failover) = &node.failover {
            let primary = self.node(&failover.get_ref().primary, record_type, Parent::Failover);
            let secondary = self.node(&failover.get_ref().secondary, record_type, Parent::Failover);
            return Some(Action::Failover { primary: Box::new(primary?), secondary: Box::new(secondary?) });
        }
        if let Some(children) = &node.geolocation {
            let mut choices = Vec::new();
            let mut seen = HashMap::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Geolocation, "geolocation") {
                let Some(child) = children.get(index) else { continue };
                let Some(location) = self.geo_location(child) else { continue };
                if seen.insert((location.specificity(), location.to_string()), ()).is_some() {
                    self.error(child.span(), format!("location {location} appears twice"));
                }
                choices.push(LocatedChoice { location, rule });
            }
            return Some(Action::Geolocation(choices));
        }
        if let Some(children) = &node.latency {
            let mut choices = Vec::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Latency, "latency") {
                let Some(child) = children.get(index) else { continue };
                let Some(region) = &child.get_ref().region else {
                    self.error(child.span(), "a latency choice needs a region".to_owned());
                    continue;
                };
                let Some(coordinates) = places::region(region.get_ref()) else {
                    self.error(region.span(), format!("unknown region {:?}", region.get_ref()));
                    continue;
                };
                if choices.iter().any(|c: &RegionalChoice| c.region.eq_ignore_ascii_case(region.get_ref())) {
                    self.error(region.span(), format!("region {} appears twice (one set per region)", region.get_ref()));
                }
                choices.push(RegionalChoice { region: region.get_ref().to_ascii_lowercase(), coordinates, rule });
            }
            return Some(Action::Latency(choices));
        }
        if let Some(children) = &node.geoproximity {
            let mut choices = Vec::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Geoproximity, "geoproximity") {
                let Some(child) = children.get(index) else { continue };
                let source = child.get_ref();
                let coordinates = match (&source.coordinates, &source.region) {
                    (Some(pair), None) => match pair.get_ref().as_slice() {
                        [latitude, longitude] if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 => {
                            Coordinates { latitude: *latitude, longitude: *longitude }
                        }
                        _ => {
                            self.error(pair.span(), "coordinates are [latitude, longitude] in degrees".to_owned());
                            continue;
                        }
                    },
                    (None, Some(region)) => match places::region(region.get_ref()) {
                        Some(coordinates) => coordinates,
                        None => {
                            self.error(region.span(), format!("unknown region {:?}", region.get_ref()));
                            continue;
                        }
                    },
                    _ => {
                        self.error(child.span(), "a geoproximity choice needs coordinates or a region (one of them)".to_owned());
                        continue;
                    }
                };
                let bias = match &source.bias {
                    None => 0,
                    Some(bias) => match i8::try_from(*bias.get_ref()) {
                        Ok(bias) if (-99..=99).contains(&bias) => bias,
                        _ => {
                            self.error(bias.span(), format!("bias {} is outside -99..99", bias.get_ref()));
                            continue;
                        }
                    },
                };
                choices.push(ProximateChoice { coordinates, bias, rule });
            }
            return Some(Action::Geoproximity(choices));
        }
        if let Some(children) = &node.cidr {
            let Some(collection) = &node.collection else {
                self.error(span, "cidr needs collection = \"<name of a [cidr_collections] table>\"".to_owned());
                return None;
            };
            let Some(locations) = self.collections.get(collection.get_ref()).cloned() else {
                self.error(collection.span(), format!("unknown CIDR collection {:?}", collection.get_ref()));
                return None;
            };
            let mut choices = Vec::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Cidr, "cidr") {
                let Some(child) = children.get(index) else { continue };
                let Some(location) = &child.get_ref().location else {
                    self.error(child.span(), "a cidr choice needs a location of the collection, or \"*\"".to_owned());
                    continue;
                };
                let networks = if location.get_ref() == "*" {
                    Vec::new()
                } else if let Some(networks) = locations.get(location.get_ref()) {
                    networks.clone()
                } else {
                    self.error(location.span(), format!("collection {} has no location {:?}", collection.get_ref(), location.get_ref()));
                    continue;
                };
                choices.push(NetworkChoice { location: location.get_ref().clone(), networks, rule });
            }
            return Some(Action::Cidr(choices));
        }
        if let Some(children) = &node.asn {
            let mut choices = Vec::new();
            for (index, rule) in self.children(children, &span, record_type, Parent::Asn, "asn") {
                let Some(child) = children.get(index) else { continue };
                let source = child.get_ref();
                let asns = match (&source.asns, &source.location) {
                    (Some(list), None) => {
                        let parsed: Option<Vec<u32>> = list.get_ref().iter().map(|a| u32::try_from(*a).ok()).collect();
                        match parsed {
                            Some(asns) if !asns.is_empty() => asns,
                            _ => {
                                self.error(list.span(), "asns is a non-empty list of AS numbers".to_owned());
                                continue;
                            }
                        }
                    }
                    (None, Some(location)) if location.get_ref() == "*" => Vec::new(),
                    _ => {
                        self.error(child.span(), "an asn choice needs asns = [...] or location = \"*\"".to_owned());
                        continue;
                    }
                };
                choices.push(AsnChoice { asns, rule });
            }
            return Some(Action::Asn(choices));
        }
        if let Some(children) = &node.multivalue {
            if matches!(record_type, RecordType::CNAME | RecordType::NS) {
                self.error(span, format!("multivalue answers are not for {record_type} records"));
                return None;
            }
            let rules: Vec<Rule> = self.children(children, &span, record_type, Parent::Multivalue, "multivalue").into_iter().map(|(_, r)| r).collect();
            for (rule, child) in rules.iter().zip(children) {
                if !matches!(rule.action, Action::Values(_)) {
                    self.error(child.span(), "multivalue choices are values with their own health checks".to_owned());
                }
            }
            return Some(Action::Multivalue(rules));
        }
        None
    }

    fn geo_location(&mut self, child: &Spanned<NodeSource>) -> Option<GeoLocation> {
        let Some(location) = &child.get_ref().location else {
            self.error(child.span(), "a geolocation choice needs a location (continent, country, country-subdivision or \"*\")".to_owned());
            return None;
        };
        let text = location.get_ref().to_ascii_uppercase();
        // The seven continent codes win over the countries that share them (NA Namibia, SA
        // Saudi Arabia, AS American Samoa, AF Afghanistan): Route 53 users write continents
        // that way. `country:NA` and `continent:EU` say it explicitly.
        let parsed = if text == "*" {
            Some(GeoLocation::Default)
        } else if let Some(code) = text.strip_prefix("COUNTRY:") {
            places::is_country(code).then(|| GeoLocation::Country(code.to_owned()))
        } else if let Some(code) = text.strip_prefix("CONTINENT:") {
            places::is_continent(code).then(|| GeoLocation::Continent(code.to_owned()))
        } else if let Some((country, subdivision)) = text.split_once('-') {
            places::is_subdivision(country, subdivision).then(|| GeoLocation::Subdivision(country.to_owned(), subdivision.to_owned()))
        } else if places::is_continent(&text) {
            Some(GeoLocation::Continent(text.clone()))
        } else if places::is_country(&text) {
            Some(GeoLocation::Country(text.clone()))
        } else {
            None
        };
        if parsed.is_none() {
            self.error(
                location.span(),
                format!("unknown location {:?} (continent code, ISO country, COUNTRY-SUBDIVISION, country:XX, continent:XX or \"*\")", location.get_ref()),
            );
        }
        parsed
    }

    /// Parses one value in master-file syntax for the record type (relative names are
    /// relative to the zone).
    fn value(&mut self, value: &Spanned<String>, record_type: RecordType) -> Option<RData> {
        let text = format!("@ 0 IN {record_type} {}\n", value.get_ref());
        match master::parse(&text, Some(self.apex)) {
            Ok(records) => match records.into_iter().next() {
                Some(record) if record.record.record_type() == record_type => Some(record.record.data),
                _ => {
                    self.error(value.span(), format!("{:?} is not a {record_type} value", value.get_ref()));
                    None
                }
            },
            Err(errors) => {
                let why = errors.first().map_or_else(String::new, |e| e.kind.to_string());
                self.error(value.span(), format!("{:?} is not a {record_type} value: {why}", value.get_ref()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn apex() -> Name {
        Name::from_str("example.com.").unwrap()
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text, &apex()).unwrap_err().iter().map(|e| format!("{}: {}", e.line, e.message)).collect()
    }

    #[test]
    fn reads_a_weighted_record() {
        let routes = parse(
            "[[records]]\nname = \"www\"\ntype = \"A\"\nttl = 60\n[[records.weighted]]\nlabel = \"a\"\nweight = 80\nvalues = [\"192.0.2.10\"]\n[[records.weighted]]\nweight = 20\nvalues = [\"192.0.2.20\"]\n",
            &apex(),
        )
        .unwrap();
        let (line, set) = &routes.sets[0];
        assert_eq!(*line, 1);
        assert_eq!(set.name, "www.example.com.");
        assert_eq!(set.ttl, 60);
        let Action::Weighted { choices, .. } = &set.rule.action else { panic!() };
        assert_eq!(choices.iter().map(|c| c.weight).collect::<Vec<_>>(), vec![80, 20]);
    }

    #[test]
    fn composes_policies_in_one_definition() {
        let text = r#"
[[records]]
name = "app"
type = "A"
[records.failover.primary]
geolocation = [
  { location = "US-WA", values = ["192.0.2.31"] },
  { location = "US", weighted = [{ weight = 1, values = ["192.0.2.30"] }, { weight = 1, values = ["192.0.2.32"] }] },
  { location = "*", values = ["192.0.2.40"] },
]
[records.failover.secondary]
values = ["192.0.2.99"]
"#;
        let routes = parse(text, &apex()).unwrap();
        let Action::Failover { primary, .. } = &routes.sets[0].1.rule.action else { panic!() };
        let Action::Geolocation(choices) = &primary.action else { panic!() };
        assert_eq!(choices[0].location, GeoLocation::Subdivision("US".into(), "WA".into()));
        assert!(matches!(choices[1].rule.action, Action::Weighted { .. }));
    }

    #[test]
    fn reports_errors_with_lines() {
        let text = "[[records]]\nname = \"www\"\ntype = \"A\"\n[[records.weighted]]\nweight = 300\nvalues = [\"192.0.2.1\"]\n\
                    [[records.weighted]]\nweight = 1\nvalues = [\"not-an-address\"]\n";
        let found = errors(text);
        assert!(found.iter().any(|e| e.starts_with("5: weight 300 is outside 0..255")), "{found:?}");
        assert!(found.iter().any(|e| e.starts_with("9: \"not-an-address\" is not a A value")), "{found:?}");
    }

    #[test]
    fn rejects_unknown_keys_locations_regions_and_misplaced_selectors() {
        assert!(errors("[[records]]\nname = \"x\"\ntype = \"A\"\nvalue = [\"192.0.2.1\"]\n")[0].contains("unknown field `value`"));
        let geo = errors("[[records]]\nname = \"x\"\ntype = \"A\"\n[[records.geolocation]]\nlocation = \"XX\"\nvalues = [\"192.0.2.1\"]\n");
        assert!(geo[0].starts_with("5: unknown location \"XX\""), "{geo:?}");
        let latency = errors("[[records]]\nname = \"x\"\ntype = \"A\"\n[[records.latency]]\nregion = \"mars-1\"\nvalues = [\"192.0.2.1\"]\n");
        assert!(latency[0].starts_with("5: unknown region"), "{latency:?}");
        let misplaced = errors("[[records]]\nname = \"x\"\ntype = \"A\"\nweight = 3\nvalues = [\"192.0.2.1\"]\n");
        assert!(misplaced[0].contains("weight does not belong here"), "{misplaced:?}");
    }

    #[test]
    fn rejects_multivalue_cnames_and_two_actions() {
        let cname = errors("[[records]]\nname = \"x\"\ntype = \"CNAME\"\n[[records.multivalue]]\nvalues = [\"a\"]\n");
        assert!(cname[0].contains("multivalue answers are not for CNAME"), "{cname:?}");
        let two = errors("[[records]]\nname = \"x\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\nalias = \"y\"\n");
        assert!(two[0].contains("more than one action"), "{two:?}");
        let twice =
            errors("[[records]]\nname = \"x\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n[[records]]\nname = \"X\"\ntype = \"A\"\nvalues = [\"192.0.2.2\"]\n");
        assert!(twice[0].starts_with("5: a second A set for x.example.com."), "{twice:?}");
    }

    #[test]
    fn continent_codes_win_and_prefixes_disambiguate() {
        let routes = parse(
            "[[records]]\nname = \"x\"\ntype = \"A\"\ngeolocation = [\n  { location = \"NA\", values = [\"192.0.2.1\"] },\n  { location = \"country:NA\", values = [\"192.0.2.2\"] },\n  { location = \"continent:EU\", values = [\"192.0.2.3\"] },\n]\n",
            &apex(),
        )
        .unwrap();
        let Action::Geolocation(choices) = &routes.sets[0].1.rule.action else { panic!() };
        assert_eq!(choices[0].location, GeoLocation::Continent("NA".into()));
        assert_eq!(choices[1].location, GeoLocation::Country("NA".into()));
        assert_eq!(choices[2].location, GeoLocation::Continent("EU".into()));
    }

    #[test]
    fn latency_matrix_rows_are_checked() {
        let routes = parse("[latency_matrix.hnl]\nus-east-1 = 95\n", &apex()).unwrap();
        assert_eq!(routes.latency_matrix["HNL"]["us-east-1"], 95);
        let bad = errors("[latency_matrix.HNL]\nmars-1 = 5\nus-east-1 = -3\n");
        assert!(bad[0].starts_with("2: unknown region"), "{bad:?}");
        assert!(bad[1].starts_with("3: latency -3 ms"), "{bad:?}");
    }

    #[test]
    fn zone_settings_are_read_with_their_lines() {
        let routes = parse("# zone-wide\ndelegation_set = \"main\"\nsoa_negative_ttl = 60\ndnssec = true\n", &apex()).unwrap();
        assert_eq!(routes.delegation_set, Some((2, "main".to_owned())));
        assert_eq!(routes.soa_negative_ttl, Some((3, 60)));
        assert_eq!(routes.dnssec, Some((4, true)));
        assert_eq!(parse("", &apex()).unwrap().dnssec, None);
        assert!(errors("dnssec = \"yes\"\n")[0].contains("invalid type"), "{:?}", errors("dnssec = \"yes\"\n"));
        assert!(routes.sets.is_empty());
        let bad = errors("delegation_set = \"\"\nsoa_negative_ttl = -5\n");
        assert!(bad[0].starts_with("1: delegation_set names a set"), "{bad:?}");
        assert!(bad[1].starts_with("2: soa_negative_ttl -5 is outside"), "{bad:?}");
        assert!(errors("delegation_set = 3\n")[0].contains("invalid type"));
    }

    #[test]
    fn health_checks_are_parsed_into_their_types_with_lines() {
        let text = "[health_checks.a]\ntype = \"http\"\nhost = \"192.0.2.1\"\npath = \"@evil.example/\"\n\
                    [health_checks.b]\ntype = \"https\"\nhost = \"evil.example@good.example\"\n\
                    [health_checks.c]\ntype = \"ftp\"\nhost = \"c.example\"\n\
                    [health_checks.d]\ntype = \"tcp\"\nhost = \"d.example:53\"\nport = 0\n\
                    [health_checks.e]\ntype = \"http\"\nhost = \"e.example\"\npath = \"/a b\"\n";
        let found = errors(text);
        let expected = [
            "4: health check a: path \"@evil.example/\" is not an HTTP path: it must start with '/'",
            "7: health check b: host \"evil.example@good.example\" is not a host name or an IP address: an '@' would make what precedes it user information",
            "9: health check c: unknown type \"ftp\" (http, https, tcp, calculated)",
            "13: health check d: host \"d.example:53\" is not a host name or an IP address: a ':' belongs only in an IPv6 address (the port is given as port = ...)",
            "14: health check d: port 0 is outside 1..=65535",
            "18: health check e: path \"/a b\" is not an HTTP path: spaces, control characters and non-ASCII characters are percent-encoded (%20)",
        ];
        assert_eq!(found, expected);
        // What the URL parser refuses (an xn-- label that is not Punycode) is refused here too.
        let punycode = errors("[health_checks.p]\ntype = \"http\"\nhost = \"xn--a.example\"\n");
        assert_eq!(punycode, ["3: health check p: no URL: invalid international domain name"]);
        let routes = parse(
            "[health_checks.v6]\ntype = \"https\"\nhost = \"[2001:db8::1]\"\nport = 8443\npath = \"/health?deep=1\"\n\
             [health_checks.both]\ntype = \"calculated\"\nchildren = [\"v6\"]\n",
            &apex(),
        )
        .unwrap();
        let (line, v6) = &routes.health_checks["v6"];
        assert_eq!(*line, 1);
        assert_eq!((v6.kind, v6.host.as_ref().map(ToString::to_string)), (CheckKind::Https, Some("2001:db8::1".to_owned())));
        let Ok(spec::Probe::Http { url, .. }) = v6.probe() else { panic!("{v6:?}") };
        assert_eq!(url.as_str(), "https://[2001:db8::1]:8443/health?deep=1");
        assert_eq!(routes.health_checks["both"].1.kind, CheckKind::Calculated);
    }

    #[test]
    fn cidr_collections_and_health_checks() {
        let text = "[cidr_collections.customers]\nacme = [\"203.0.113.0/24\"]\n\
                    [health_checks.web]\ntype = \"https\"\nhost = \"web.example.net\"\n\
                    [[records]]\nname = \"x\"\ntype = \"A\"\ncollection = \"customers\"\n\
                    [[records.cidr]]\nlocation = \"acme\"\nhealth_check = \"web\"\nvalues = [\"192.0.2.1\"]\n\
                    [[records.cidr]]\nlocation = \"*\"\nvalues = [\"192.0.2.2\"]\n";
        let routes = parse(text, &apex()).unwrap();
        assert_eq!(routes.check_references, vec![(12, "web".to_owned())]);
        assert!(routes.health_checks.contains_key("web"));
        let bad = errors("[cidr_collections.c]\nx = [\"203.0.113.1/24\"]\n");
        assert!(bad[0].contains("host bits"), "{bad:?}");
    }
}
