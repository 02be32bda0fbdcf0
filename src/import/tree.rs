//! The policy trees an import builds, before they are written as a routes file: the same
//! shapes as `[[records]]` entries (one action per node, a selector from the parent), so the
//! record-set and traffic-policy importers share the pruning, the geolocation mapping and
//! the TOML writer.

use std::collections::{BTreeSet, HashMap};

use hickory_proto::rr::{Name, RecordType};

use super::text::{comment, relative, toml_float, toml_string};
use super::{Finding, FindingKind};
use crate::geo::places;
use crate::policy::{Action, GeoLocation};

/// What a node's parent chooses it by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    None,
    Weight(u8),
    /// Geolocation: `*`, continent, country or `CC-SUB`.
    Location(String),
    /// Latency.
    Region(String),
    /// Geoproximity by region.
    ProximityRegion {
        region: String,
        bias: i8,
    },
    /// Geoproximity by coordinates.
    ProximityCoordinates {
        latitude: f64,
        longitude: f64,
        bias: i8,
    },
    /// IP-based: a location of the parent's collection (or `*`).
    Cidr {
        collection: String,
        location: String,
    },
}

/// What a node does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Act {
    /// Values in master-file syntax for the record type.
    Values(Vec<String>),
    Alias {
        target: Name,
        evaluate_target_health: bool,
    },
    Weighted(Vec<Node>),
    Failover(Box<Node>, Box<Node>),
    Geolocation(Vec<Node>),
    Latency(Vec<Node>),
    Geoproximity(Vec<Node>),
    Cidr {
        collection: String,
        children: Vec<Node>,
    },
    Multivalue(Vec<Node>),
}

/// One node of a policy tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub label: Option<String>,
    pub health_check: Option<String>,
    /// An operator's forced state (`Some(true)` up, `Some(false)` down), beating the check.
    pub force: Option<bool>,
    pub selector: Selector,
    pub action: Act,
}

/// One `[[records]]` entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub owner: Name,
    pub record_type: RecordType,
    /// `None`: the routes file's default (aliases answer with their target's TTL anyway).
    pub ttl: Option<u32>,
    /// Where it came from, written above it.
    pub origin: String,
    pub root: Node,
}

/// Shared state of one import: the zone, the report, the geolocation spellings.
pub(crate) struct Ctx {
    pub zone: Name,
    pub report: Vec<Finding>,
    probes: HashMap<String, Option<GeoLocation>>,
}

impl Ctx {
    pub fn new(zone: Name) -> Self {
        Self { zone, report: Vec::new(), probes: HashMap::new() }
    }

    pub fn report(&mut self, kind: FindingKind, subject: impl Into<String>, message: impl Into<String>) {
        self.report.push(Finding { kind, subject: subject.into(), message: message.into() });
    }

    /// How the routes-file reader understands `location` (asked of the reader itself, so the
    /// import follows its rules, e.g. that `NA` is Namibia there).
    pub fn reads_as(&mut self, location: &str) -> Option<GeoLocation> {
        if let Some(known) = self.probes.get(location) {
            return known.clone();
        }
        let text =
            format!("[[records]]\nname = \"probe\"\ntype = \"A\"\n[[records.geolocation]]\nlocation = {}\nvalues = [\"192.0.2.1\"]\n", toml_string(location));
        let read = crate::zone::routes::parse(&text, &Name::root()).ok().and_then(|routes| {
            let (_, set) = routes.sets.first()?;
            match &set.rule.action {
                Action::Geolocation(choices) => choices.first().map(|c| c.location.clone()),
                _ => None,
            }
        });
        self.probes.insert(location.to_owned(), read.clone());
        read
    }
}

impl Node {
    pub fn leaf(label: Option<String>, health_check: Option<String>, action: Act) -> Self {
        Self { label, health_check, force: None, selector: Selector::None, action }
    }

    pub fn with_selector(mut self, selector: Selector) -> Self {
        self.selector = selector;
        self
    }

    fn children_mut(&mut self) -> Vec<&mut Node> {
        match &mut self.action {
            Act::Values(_) | Act::Alias { .. } => Vec::new(),
            Act::Weighted(c) | Act::Geolocation(c) | Act::Latency(c) | Act::Geoproximity(c) | Act::Multivalue(c) => c.iter_mut().collect(),
            Act::Cidr { children, .. } => children.iter_mut().collect(),
            Act::Failover(p, s) => vec![p.as_mut(), s.as_mut()],
        }
    }

    fn children(&self) -> Vec<&Node> {
        match &self.action {
            Act::Values(_) | Act::Alias { .. } => Vec::new(),
            Act::Weighted(c) | Act::Geolocation(c) | Act::Latency(c) | Act::Geoproximity(c) | Act::Multivalue(c) => c.iter().collect(),
            Act::Cidr { children, .. } => children.iter().collect(),
            Act::Failover(p, s) => vec![p.as_ref(), s.as_ref()],
        }
    }

    /// Number of nodes in the tree.
    pub fn count(&self) -> usize {
        1 + self.children().iter().map(|c| c.count()).sum::<usize>()
    }

    /// Every health check the tree references.
    pub fn health_checks(&self, found: &mut BTreeSet<String>) {
        if let Some(id) = &self.health_check {
            found.insert(id.clone());
        }
        for child in self.children() {
            child.health_checks(found);
        }
    }

    /// Every CIDR collection the tree uses.
    pub fn collections(&self, found: &mut BTreeSet<String>) {
        if let Act::Cidr { collection, .. } = &self.action {
            found.insert(collection.clone());
        }
        for child in self.children() {
            child.collections(found);
        }
    }

    /// Removes references to a health check; returns how many.
    pub fn drop_health_check(&mut self, id: &str) -> usize {
        let mut dropped = 0;
        if self.health_check.as_deref() == Some(id) {
            self.health_check = None;
            dropped += 1;
        }
        for child in self.children_mut() {
            dropped += child.drop_health_check(id);
        }
        dropped
    }

    fn describe(&self, subject: &str) -> String {
        labelled(subject, self.label.as_deref())
    }

    /// Drops every node `drop` gives a reason for (reported as not imported), and the choosing
    /// nodes left without choices; a failover left with one side becomes that side (reported
    /// as lossy). `None` when nothing is left.
    pub fn retain(self, drop: &mut dyn FnMut(&Node) -> Option<String>, subject: &str, ctx: &mut Ctx) -> Option<Node> {
        if let Some(reason) = drop(&self) {
            ctx.report(FindingKind::Skipped, self.describe(subject), reason);
            return None;
        }
        let here = self.describe(subject);
        let Node { label, health_check, force, selector, action } = self;
        let list = |children: Vec<Node>, drop: &mut dyn FnMut(&Node) -> Option<String>, ctx: &mut Ctx, what: &str| {
            let kept: Vec<Node> = children.into_iter().filter_map(|c| c.retain(drop, subject, ctx)).collect();
            if kept.is_empty() {
                ctx.report(FindingKind::Skipped, here.clone(), format!("nothing is left of this {what} rule"));
                None
            } else {
                Some(kept)
            }
        };
        let action = match action {
            Act::Values(_) | Act::Alias { .. } => action,
            Act::Weighted(c) => Act::Weighted(list(c, drop, ctx, "weighted")?),
            Act::Geolocation(c) => Act::Geolocation(list(c, drop, ctx, "geolocation")?),
            Act::Latency(c) => Act::Latency(list(c, drop, ctx, "latency")?),
            Act::Geoproximity(c) => Act::Geoproximity(list(c, drop, ctx, "geoproximity")?),
            Act::Multivalue(c) => Act::Multivalue(list(c, drop, ctx, "multivalue")?),
            Act::Cidr { collection, children } => Act::Cidr { children: list(children, drop, ctx, "IP-based")?, collection },
            Act::Failover(primary, secondary) => {
                let primary = primary.retain(drop, subject, ctx);
                let secondary = secondary.retain(drop, subject, ctx);
                match (primary, secondary) {
                    (Some(p), Some(s)) => Act::Failover(Box::new(p), Box::new(s)),
                    (Some(only), None) | (None, Some(only)) => {
                        ctx.report(
                            FindingKind::Lossy,
                            here.clone(),
                            format!("failover keeps one side only ({}): it answers that side whatever its health", only.label.as_deref().unwrap_or("unnamed")),
                        );
                        return Some(collapse(label, health_check, force, selector, only));
                    }
                    (None, None) => {
                        ctx.report(FindingKind::Skipped, here, "nothing is left of this failover rule");
                        return None;
                    }
                }
            }
        };
        Some(Node { label, health_check, force, selector, action })
    }
}

fn labelled(subject: &str, label: Option<&str>) -> String {
    match label {
        Some(label) => format!("{subject} [{label}]"),
        None => subject.to_owned(),
    }
}

/// A one-child node folded into its child: the child takes the parent's selector and health
/// check (when both have a check, or the parent has a forced state, a one-choice weighted node
/// keeps both).
fn collapse(label: Option<String>, health_check: Option<String>, force: Option<bool>, selector: Selector, child: Node) -> Node {
    if force.is_some() {
        return Node { label, health_check, force, selector, action: Act::Weighted(vec![child.with_selector(Selector::Weight(1))]) };
    }
    match (health_check, &child.health_check) {
        (None, _) => Node { selector, label: child.label.clone().or(label), ..child },
        (Some(check), None) => Node { selector, label: child.label.clone().or(label), health_check: Some(check), ..child },
        (Some(check), Some(_)) => {
            Node { label, health_check: Some(check), force: None, selector, action: Act::Weighted(vec![child.with_selector(Selector::Weight(1))]) }
        }
    }
}

/// A Route 53 geolocation: `*`, a continent, a country, a country's subdivision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GeoKey {
    Default,
    Continent(String),
    Country(String),
    Subdivision(String, String),
}

impl GeoKey {
    /// The key for a Route 53 location given as continent, country and subdivision codes
    /// (record sets' `GeoLocation` and traffic policies' `Locations` alike); `None` when the
    /// combination is not one Route 53 allows.
    pub(crate) fn from_codes(continent: Option<&str>, country: Option<&str>, subdivision: Option<&str>) -> Option<Self> {
        let upper = |code: Option<&str>| code.map(str::to_ascii_uppercase);
        match (upper(continent), upper(country), upper(subdivision)) {
            (Some(continent), None, None) => Some(Self::Continent(continent)),
            (None, Some(country), None) if country == "*" => Some(Self::Default),
            (None, Some(country), None) => Some(Self::Country(country)),
            (None, Some(country), Some(subdivision)) => {
                let code = subdivision.strip_prefix(&format!("{country}-")).map(str::to_owned).unwrap_or(subdivision);
                Some(Self::Subdivision(country, code))
            }
            _ => None,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Self::Default => "*".to_owned(),
            Self::Continent(code) => code.clone(),
            // A bare NA, SA, AS or AF reads as a continent: write such countries explicitly.
            Self::Country(code) if places::CONTINENTS.contains(&code.as_str()) => format!("country:{code}"),
            Self::Country(code) => code.clone(),
            Self::Subdivision(country, code) => format!("{country}-{code}"),
        }
    }

    fn expected(&self) -> GeoLocation {
        match self {
            Self::Default => GeoLocation::Default,
            Self::Continent(code) => GeoLocation::Continent(code.clone()),
            Self::Country(code) => GeoLocation::Country(code.clone()),
            Self::Subdivision(country, code) => GeoLocation::Subdivision(country.clone(), code.clone()),
        }
    }
}

/// The children of a geolocation node, from Route 53 locations. Each location is written as
/// the routes-file reader reads it (`country:NA` for Namibia, since a bare `NA` is North
/// America), and a location the reader would take differently is reported, never guessed.
pub(crate) fn geolocation(children: Vec<(GeoKey, Node)>, subject: &str, ctx: &mut Ctx) -> Vec<Node> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (key, node) in children {
        let text = key.text();
        if !seen.insert(text.clone()) {
            ctx.report(FindingKind::Skipped, node.describe(subject), format!("a second record set for location {text} (Route 53 allows one)"));
            continue;
        }
        let reads = if key == GeoKey::Default { Some(GeoLocation::Default) } else { ctx.reads_as(&text) };
        if reads.as_ref() == Some(&key.expected()) {
            out.push(node.with_selector(Selector::Location(text)));
        } else {
            let why = match reads {
                Some(other) => format!("location {text} would be read as {other:?} by the routes file"),
                None => format!("unknown location {text}"),
            };
            ctx.report(FindingKind::Skipped, node.describe(subject), why);
        }
    }
    out
}

/// Writes one `[[records]]` entry.
pub(crate) fn render_entry(out: &mut String, entry: &Entry, zone: &Name) {
    out.push('\n');
    out.push_str(&format!("# {}\n", comment(&entry.origin)));
    out.push_str("[[records]]\n");
    out.push_str(&format!("name = {}\n", toml_string(&relative(&entry.owner, zone))));
    out.push_str(&format!("type = {}\n", toml_string(&entry.record_type.to_string())));
    if let Some(ttl) = entry.ttl {
        out.push_str(&format!("ttl = {ttl}\n"));
    }
    render_node(out, "records", &entry.root, zone);
}

fn render_node(out: &mut String, path: &str, node: &Node, zone: &Name) {
    if let Some(label) = &node.label {
        out.push_str(&format!("label = {}\n", toml_string(label)));
    }
    match &node.selector {
        Selector::None => {}
        Selector::Weight(weight) => out.push_str(&format!("weight = {weight}\n")),
        Selector::Location(location) => out.push_str(&format!("location = {}\n", toml_string(location))),
        Selector::Region(region) => out.push_str(&format!("region = {}\n", toml_string(region))),
        Selector::ProximityRegion { region, bias } => {
            out.push_str(&format!("region = {}\nbias = {bias}\n", toml_string(region)));
        }
        Selector::ProximityCoordinates { latitude, longitude, bias } => {
            out.push_str(&format!("coordinates = [{}, {}]\nbias = {bias}\n", toml_float(*latitude), toml_float(*longitude)));
        }
        Selector::Cidr { location, .. } => out.push_str(&format!("location = {}\n", toml_string(location))),
    }
    if let Some(check) = &node.health_check {
        out.push_str(&format!("health_check = {}\n", toml_string(check)));
    }
    if let Some(up) = node.force {
        out.push_str(if up { "force = \"up\"\n" } else { "force = \"down\"\n" });
    }
    let children = |out: &mut String, key: &str, children: &[Node]| {
        let path = format!("{path}.{key}");
        for child in children {
            out.push_str(&format!("\n[[{path}]]\n"));
            render_node(out, &path, child, zone);
        }
    };
    match &node.action {
        Act::Values(values) => {
            let list: Vec<String> = values.iter().map(|v| toml_string(v)).collect();
            out.push_str(&format!("values = [{}]\n", list.join(", ")));
        }
        Act::Alias { target, evaluate_target_health } => {
            out.push_str(&format!("alias = {}\n", toml_string(&relative(target, zone))));
            if *evaluate_target_health {
                out.push_str("evaluate_target_health = true\n");
            }
        }
        Act::Weighted(list) => children(out, "weighted", list),
        Act::Geolocation(list) => children(out, "geolocation", list),
        Act::Latency(list) => children(out, "latency", list),
        Act::Geoproximity(list) => children(out, "geoproximity", list),
        Act::Multivalue(list) => children(out, "multivalue", list),
        Act::Cidr { collection, children: list } => {
            out.push_str(&format!("collection = {}\n", toml_string(collection)));
            children(out, "cidr", list);
        }
        Act::Failover(primary, secondary) => {
            for (side, child) in [("primary", primary), ("secondary", secondary)] {
                let path = format!("{path}.failover.{side}");
                out.push_str(&format!("\n[{path}]\n"));
                render_node(out, &path, child, zone);
            }
        }
    }
}
