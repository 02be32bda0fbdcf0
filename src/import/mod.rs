//! Import of other DNS services' configurations into this project's zone files. Three
//! sources share the writers, the report and the self-check below: Route 53 (this page),
//! octoDNS zone files with their dynamic records ([`octodns`], native only) and BIND master
//! files ([`bind`]).
//!
//! Import of Route 53 configurations into this project's zone files: a master file
//! (`<zone>.zone`: SOA, NS and every plain record set) and a routes file
//! (`<zone>.routes.toml`: every routed record set as one `[[records]]` policy tree, the health
//! checks they use, the CIDR collections).
//!
//! Inputs, all JSON as the AWS CLI prints it:
//!
//! * record sets: `aws route53 list-resource-record-sets --hosted-zone-id Z...`
//!   (`{"ResourceRecordSets": [...]}`, or a bare array of record sets);
//! * health checks (optional): `aws route53 list-health-checks` (`{"HealthChecks": [...]}`);
//! * CIDR collections (optional): an object keyed by `CollectionId`, each value either
//!   `{"<location>": ["<cidr>", ...]}` or the output of
//!   `aws route53 list-cidr-blocks --collection-id <id>` (`{"CidrBlocks": [{"CidrBlock",
//!   "LocationName"}]}`);
//! * traffic policies: a policy document (`AWSPolicyFormatVersion` 2015-10-01 or 2023-05-09,
//!   or `aws route53 get-traffic-policy` output wrapping one), bound to a name given here.
//!
//! Nothing is dropped silently: whatever is not imported, or imported with a difference,
//! is a [`Finding`] in [`Imported::report`] (also written as comments at the top of the
//! routes file). Malformed JSON is an [`ImportError`] naming the place
//! (`ResourceRecordSets[3].Weight: expected an integer, found a string`); no input panics.
//!
//! # Mapping
//!
//! | Route 53 | here |
//! |---|---|
//! | record sets of one `Name` + `Type` with `SetIdentifier`s | one `[[records]]` entry; one child per set, `label` = `SetIdentifier` |
//! | a plain set (no routing fields, `ResourceRecords`) | master-file records (`SOA`, `NS`, delegations, `DS` in the generic `\#` form) |
//! | `TTL` | the master record's TTL; for a routed group the smallest of its sets (different TTLs reported) |
//! | `ResourceRecords[].Value` | `values` (octal `\ooo` escapes converted, names made absolute) |
//! | `AliasTarget` to a name in the zone | `alias = "<relative name>"`, `EvaluateTargetHealth` → `evaluate_target_health` |
//! | `AliasTarget` to CloudFront, ELB, S3, API Gateway, ... | not imported (reported); [`ImportOptions::external_alias_as_cname`] makes a CNAME of a simple one |
//! | `HealthCheckId` | `health_check = "<id>"` |
//! | `Weight` | `weighted` child `weight` |
//! | `Failover` `PRIMARY`/`SECONDARY` | `failover = { primary, secondary }` |
//! | `GeoLocation` `ContinentCode` / `CountryCode` / `+SubdivisionCode` / `CountryCode "*"` | `geolocation` child `location = "EU"` / `"US"` / `"US-WA"` / `"*"` (`NA`, `AS`, `AF`, `SA`: see below) |
//! | `Region` | `latency` child `region` |
//! | `GeoProximityLocation` `AWSRegion` / `Coordinates` + `Bias` | `geoproximity` child `region` / `coordinates = [lat, lon]` + `bias` |
//! | `MultiValueAnswer: true` | `multivalue` child (values with their own `health_check`) |
//! | `CidrRoutingConfig` `CollectionId` + `LocationName` | `cidr` with `collection = "<CollectionId>"`, child `location`; `[cidr_collections.<CollectionId>]` from the CIDR file |
//! | health check `Type` HTTP, HTTPS, TCP, HTTP(S)_STR_MATCH, CALCULATED | `[health_checks.<Id>]` `type` http, https, tcp (+ `search`), calculated |
//! | `IPAddress` / `FullyQualifiedDomainName` | `host` (the address when both, the name going to `host_header`) |
//! | `Port`, `ResourcePath`, `SearchString`, `RequestInterval`, `FailureThreshold`, `Inverted`, `Disabled`, `ChildHealthChecks`, `HealthThreshold` | `port`, `path`, `search`, `interval`, `threshold`, `inverted`, `disabled`, `children`, `min_healthy` |
//! | traffic policy rule `failover` / `geo` / `latency` / `geoproximity` / `multivalue` / `weighted` | nested `failover` / `geolocation` / `latency` / `geoproximity` / `multivalue` / `weighted` nodes, `label` = rule id |
//! | traffic policy endpoint `Type: value` | `values = ["<Value>"]`, `label` = endpoint id |
//! | `HealthCheck` on a reference | `health_check` on the node |
//!
//! # Continents and the countries that share their codes
//!
//! A bare `NA`, `SA`, `AS` or `AF` in a routes file is the continent; the countries that share
//! those codes (Namibia, Saudi Arabia, American Samoa, Afghanistan) are written `country:NA`
//! and so on. Each location is written as the reader reads it (the reader is asked), and a
//! location it would read otherwise is reported, never guessed.
//!
//! # Not imported (each one reported)
//!
//! Alias targets outside the hosted zone (AWS resources), traffic-policy endpoints other
//! than `value`, `LocalZoneGroup` and regions missing from the region table, CloudWatch-alarm
//! and routing-control health checks (the nodes that used them count as healthy), record
//! sets created by traffic-policy instances (import the document instead), record types the
//! master-file reader does not read, rule reference cycles, mixed policies in a group.
//!
//! # Health checks and CIDR collections that are not supplied
//!
//! A referenced health check (or CIDR collection) whose data was not given stays referenced,
//! and the routes file carries a commented-out declaration to fill in; it is reported as
//! [`FindingKind::Unresolved`] and `edgedns check` fails on it ("unknown health check") until
//! it is declared. Dropping the reference would make every such node always healthy, which
//! is a silent change of behaviour; inventing a target to probe would be worse. So the files
//! pass `edgedns check` exactly when the data they depend on was supplied
//! ([`Summary::passes_check`]).

pub mod bind;
mod json;
#[cfg(not(target_arch = "wasm32"))]
pub mod octodns;
mod route53;
mod text;
mod traffic;
mod tree;
#[cfg(not(target_arch = "wasm32"))]
mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use hickory_proto::rr::{Name, RecordType};

use crate::health::spec::HealthCheckSpec;
use crate::zone::compile::{compile_all, SourceFile};
use route53::{CheckIn, Collections};
use text::{absolute, comment, relative, toml_key, toml_string};
use tree::{Act, Ctx, Entry, Node, Selector};

/// Malformed input: where in the JSON (a path such as `ResourceRecordSets[3].Weight`; empty
/// for the whole document) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// Path into the JSON document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// How a report line affects the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// Not imported at all.
    Skipped,
    /// Imported, but it behaves differently from the source (Route 53, octoDNS) in the way
    /// the message says.
    Lossy,
    /// Imported, but it needs data that was not supplied (a health check or CIDR collection
    /// declaration); `edgedns check` fails until it is given.
    Unresolved,
    /// The imported files do not pass `edgedns check` for another reason (the message is the
    /// checker's).
    Invalid,
    /// For information; nothing lost.
    Note,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Skipped => "not imported",
            Self::Lossy => "lossy",
            Self::Unresolved => "unresolved",
            Self::Invalid => "invalid",
            Self::Note => "note",
        })
    }
}

/// One line of the import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its effect.
    pub kind: FindingKind,
    /// What it is about: `www.example.com. A [site-a]`, `traffic policy rule geo`, `health
    /// check <id>`...
    pub subject: String,
    /// Why.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.kind, self.subject, self.message)
    }
}

/// Choices an operator makes.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Publish a simple alias to an AWS resource (CloudFront, ELB, S3 website...) as a CNAME
    /// to the resource's DNS name, when the name is not the apex and holds nothing else
    /// (A and AAAA aliases to the same target become one CNAME, TTL 60). Lossy and reported:
    /// the CNAME is visible to clients and answers every type. Off by default: such aliases
    /// are reported and skipped.
    pub external_alias_as_cname: bool,
}

/// Counts of what was imported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records in the master file.
    pub master_records: usize,
    /// `[[records]]` entries in the routes file.
    pub routed_sets: usize,
    /// Health checks declared.
    pub health_checks: usize,
    /// CIDR collections declared.
    pub cidr_collections: usize,
    /// Whether the two files pass `edgedns check` as they are (checked by compiling them
    /// with the project's compiler; a routes file alone is checked against a stub master file).
    pub passes_check: bool,
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The zone's apex.
    pub zone: Name,
    /// The master file; `None` when no record sets were imported (a traffic policy alone),
    /// then the zone's existing master file is to be used.
    pub master_file: Option<String>,
    /// The routes file; empty when the import has no routed sets to write (a BIND import).
    pub routes_file: String,
    /// What was not imported, or imported with a difference, and why.
    pub report: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
}

impl Imported {
    /// `<zone>.zone`.
    pub fn master_file_name(&self) -> String {
        format!("{}zone", absolute(&self.zone))
    }

    /// `<zone>.routes.toml`.
    pub fn routes_file_name(&self) -> String {
        format!("{}routes.toml", absolute(&self.zone))
    }

    /// The report as lines.
    pub fn report_lines(&self) -> Vec<String> {
        self.report.iter().map(ToString::to_string).collect()
    }
}

/// A record for the master file.
#[derive(Debug, Clone)]
pub(crate) struct MasterRecord {
    owner: Name,
    ttl: u32,
    record_type: RecordType,
    value: String,
}

/// A simple record set aliasing an AWS resource.
#[derive(Debug, Clone)]
pub(crate) struct External {
    owner: Name,
    record_type: RecordType,
    target: Name,
    service: &'static str,
    subject: String,
}

/// Collects inputs for one zone, then writes the two files ([`Importer::finish`]). Inputs may
/// come in any order; each `record_sets` call adds to the previous ones (pages of a listing).
pub struct Importer {
    ctx: Ctx,
    source: Source,
    options: ImportOptions,
    had_record_sets: bool,
    master: Vec<MasterRecord>,
    entries: Vec<Entry>,
    external: Vec<External>,
    health_checks: Option<BTreeMap<String, CheckIn>>,
    collections: Option<Collections>,
    /// The record sets have no apex NS (reported once, not again by the self-check).
    missing_ns: bool,
}

/// Imports `list-resource-record-sets` output for `zone`, with the optional health-check and
/// CIDR-collection data.
pub fn import_record_sets(json: &str, zone: &Name, health_checks: Option<&str>, cidr: Option<&str>) -> Result<Imported, ImportError> {
    let mut importer = Importer::new(zone, ImportOptions::default())?;
    importer.record_sets(json)?;
    if let Some(text) = health_checks {
        importer.health_checks(text)?;
    }
    if let Some(text) = cidr {
        importer.cidr_collections(text)?;
    }
    Ok(importer.finish())
}

/// Imports a traffic-policy document bound to `name` (relative to `zone`, or absolute), with
/// the TTL of a policy record (`None`: 300) and optional health-check data. The result's
/// routes file holds one entry; `master_file` is `None`.
pub fn import_traffic_policy(json: &str, zone: &Name, name: &str, ttl: Option<u32>, health_checks: Option<&str>) -> Result<Imported, ImportError> {
    let mut importer = Importer::new(zone, ImportOptions::default())?;
    importer.traffic_policy(json, name, ttl)?;
    if let Some(text) = health_checks {
        importer.health_checks(text)?;
    }
    Ok(importer.finish())
}

impl Importer {
    /// An import into `zone` (any case; made absolute).
    pub fn new(zone: &Name, options: ImportOptions) -> Result<Self, ImportError> {
        let mut zone = zone.to_lowercase();
        zone.set_fqdn(true);
        if zone.is_root() {
            return Err(ImportError { path: String::new(), message: "the zone cannot be the root".to_owned() });
        }
        Ok(Self {
            ctx: Ctx::new(zone),
            source: Source::Route53,
            options,
            had_record_sets: false,
            master: Vec::new(),
            entries: Vec::new(),
            external: Vec::new(),
            health_checks: None,
            collections: None,
            missing_ns: false,
        })
    }

    /// Adds `list-resource-record-sets` output.
    pub fn record_sets(&mut self, json: &str) -> Result<(), ImportError> {
        self.had_record_sets = true;
        route53::record_sets(json, &mut self.ctx, &mut self.master, &mut self.entries, &mut self.external)
    }

    /// Gives `list-health-checks` output: the checks the imported sets reference are declared.
    pub fn health_checks(&mut self, json: &str) -> Result<(), ImportError> {
        let checks = route53::health_checks(json)?;
        self.health_checks.get_or_insert_with(BTreeMap::new).extend(checks);
        Ok(())
    }

    /// Gives CIDR collections (see the module documentation for the form).
    pub fn cidr_collections(&mut self, json: &str) -> Result<(), ImportError> {
        let collections = route53::cidr_collections(json, &mut self.ctx)?;
        self.collections.get_or_insert_with(BTreeMap::new).extend(collections);
        Ok(())
    }

    /// Adds a traffic-policy document bound to `name` (relative to the zone, `@`, or absolute;
    /// `www.example.com` without the final dot counts as absolute under `example.com`) with the
    /// policy record's TTL (`None`: 300).
    pub fn traffic_policy(&mut self, json: &str, name: &str, ttl: Option<u32>) -> Result<(), ImportError> {
        let bad = |message: String| ImportError { path: String::new(), message };
        // `www.example.com` under the zone example.com is meant as an absolute name.
        let bare_zone = absolute(&self.ctx.zone).trim_end_matches('.').to_ascii_lowercase();
        let lower = name.to_ascii_lowercase();
        let spelled_out = !name.ends_with('.') && (lower == bare_zone || lower.ends_with(&format!(".{bare_zone}")));
        let text = if spelled_out { format!("{name}.") } else { name.to_owned() };
        let owner = if name == "@" {
            self.ctx.zone.clone()
        } else {
            Name::parse(&text, Some(&self.ctx.zone)).map_err(|e| bad(format!("bad policy name {name:?}: {e}")))?.to_lowercase()
        };
        if !self.ctx.zone.zone_of(&owner) {
            return Err(bad(format!("{} is outside the zone {}", absolute(&owner), absolute(&self.ctx.zone))));
        }
        if let Some(ttl) = ttl {
            if ttl > 0x7fff_ffff {
                return Err(bad(format!("TTL {ttl} is outside 0..2147483647")));
            }
        }
        let Some(entry) = traffic::traffic_policy(json, owner, ttl, &mut self.ctx)? else { return Ok(()) };
        let taken = self.entries.iter().any(|e| e.owner == entry.owner && e.record_type == entry.record_type)
            || self.master.iter().any(|r| r.owner == entry.owner && r.record_type == entry.record_type);
        if taken {
            self.ctx.report(
                FindingKind::Skipped,
                format!("traffic policy for {} {}", absolute(&entry.owner), entry.record_type),
                "the record sets already define this name and type",
            );
            return Ok(());
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Resolves references (aliases, health checks, CIDR collections), writes both files and
    /// checks them with the project's compiler.
    pub fn finish(mut self) -> Imported {
        self.externals();
        self.unreadable_names();
        self.cidr();
        self.dangling_aliases();
        let checks = self.resolve_health_checks();
        let collections = self.declared_collections();

        let zone = self.ctx.zone.clone();
        let master_file = self.had_record_sets.then(|| self.master_text());
        let mut body = String::new();
        let mut declared_checks = 0;
        for (id, state) in &checks {
            match state {
                CheckState::Declared(spec) => {
                    declared_checks += 1;
                    render_check(&mut body, id, spec);
                }
                CheckState::Missing => {
                    body.push_str(&format!(
                        "\n# unresolved: health check {} is referenced but its configuration was not given\n# (import with --health-checks, or declare it):\n# [health_checks.{}]\n# type = \"https\"\n# host = \"\"\n# path = \"/\"\n",
                        comment(id),
                        toml_key(id)
                    ));
                }
            }
        }
        let mut declared_collections = 0;
        for (name, locations) in &collections {
            match locations {
                Some(locations) => {
                    declared_collections += 1;
                    body.push_str(&format!("\n[cidr_collections.{}]\n", toml_key(name)));
                    for (location, networks) in locations {
                        let list: Vec<String> = networks.iter().map(|n| toml_string(&n.to_string())).collect();
                        body.push_str(&format!("{} = [{}]\n", toml_key(location), list.join(", ")));
                    }
                }
                None => body.push_str(&format!(
                    "\n# unresolved: CIDR collection {} is referenced but its blocks were not given\n# (import with --cidr, or declare it):\n# [cidr_collections.{}]\n# <location> = [\"192.0.2.0/24\"]\n",
                    comment(name),
                    toml_key(name)
                )),
            }
        }
        for entry in &self.entries {
            tree::render_entry(&mut body, entry, &zone);
        }
        let unresolved_checks: HashSet<String> = checks.iter().filter(|(_, s)| matches!(s, CheckState::Missing)).map(|(id, _)| id.clone()).collect();
        let unresolved_collections: HashSet<String> = collections.iter().filter(|(_, l)| l.is_none()).map(|(name, _)| name.clone()).collect();
        let passes = self.self_check(master_file.as_deref(), &body, &unresolved_checks, &unresolved_collections);

        let mut routes_file =
            format!("# {zone}: routed record sets imported from {}.\n# Plain records are in {}zone.\n", self.source.describe(), absolute(&zone));
        if !self.ctx.report.is_empty() {
            routes_file.push_str("#\n# Import report:\n");
            for finding in &self.ctx.report {
                routes_file.push_str(&format!("# - {}\n", comment(&finding.to_string())));
            }
        }
        routes_file.push_str(&body);
        let summary = Summary {
            master_records: if self.had_record_sets { self.master.len() } else { 0 },
            routed_sets: self.entries.len(),
            health_checks: declared_checks,
            cidr_collections: declared_collections,
            passes_check: passes,
        };
        Imported { zone, master_file, routes_file, report: self.ctx.report, summary }
    }

    /// Simple aliases to AWS resources: CNAMEs when asked and possible, else reported.
    fn externals(&mut self) {
        let externals = std::mem::take(&mut self.external);
        let mut owners: Vec<Name> = Vec::new();
        for external in &externals {
            if !owners.contains(&external.owner) {
                owners.push(external.owner.clone());
            }
        }
        for owner in owners {
            let sets: Vec<&External> = externals.iter().filter(|e| e.owner == owner).collect();
            let Some(first) = sets.first() else { continue };
            if self.options.external_alias_as_cname {
                let same_target = sets.iter().all(|e| e.target == first.target);
                let other_data = self.master.iter().any(|r| r.owner == owner) || self.entries.iter().any(|e| e.owner == owner);
                let reason = if owner == self.ctx.zone {
                    Some("a CNAME cannot stand at the zone apex".to_owned())
                } else if !same_target {
                    Some("the name's aliases point at different targets, and one CNAME answers every type".to_owned())
                } else if other_data {
                    Some("the name holds other records, and a CNAME must stand alone".to_owned())
                } else {
                    None
                };
                if reason.is_none() {
                    self.master.push(MasterRecord { owner: owner.clone(), ttl: 60, record_type: RecordType::CNAME, value: absolute(&first.target) });
                    let types: Vec<String> = sets.iter().map(|e| e.record_type.to_string()).collect();
                    self.ctx.report(
                        FindingKind::Lossy,
                        format!("{} {}", absolute(&owner), types.join(", ")),
                        format!(
                            "alias to {} ({}) imported as a CNAME (--external-alias-as-cname): clients see the CNAME and resolve the target themselves, every type gets it, TTL 60",
                            absolute(&first.target),
                            first.service
                        ),
                    );
                    continue;
                }
                for set in &sets {
                    let why = format!("{}; not made a CNAME: {}", route53::external_reason(&set.target, set.service), reason.clone().unwrap_or_default());
                    self.ctx.report(FindingKind::Skipped, set.subject.clone(), why);
                }
                continue;
            }
            for set in &sets {
                self.ctx.report(FindingKind::Skipped, set.subject.clone(), route53::external_reason(&set.target, set.service));
            }
        }
    }

    /// Drops routed sets and aliases whose names the routes-file reader would not read back.
    fn unreadable_names(&mut self) {
        let zone = self.ctx.zone.clone();
        let why = "the name has characters a routes file cannot hold (its names are host names: letters, digits, - and _)";
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            let subject = format!("{} {}", absolute(&entry.owner), entry.record_type);
            if !text::routes_readable(&entry.owner, &zone) {
                self.ctx.report(FindingKind::Skipped, subject, why);
                continue;
            }
            let mut drop = |node: &Node| match &node.action {
                Act::Alias { target, .. } if !text::routes_readable(target, &zone) => Some(format!("alias target {}: {why}", absolute(target))),
                _ => None,
            };
            let Entry { owner, record_type, ttl, origin, root } = entry;
            if let Some(root) = root.retain(&mut drop, &subject, &mut self.ctx) {
                self.entries.push(Entry { owner, record_type, ttl, origin, root });
            }
        }
    }

    /// Drops CIDR choices whose location the supplied collection does not have.
    fn cidr(&mut self) {
        let Some(collections) = self.collections.clone() else { return };
        let entries = std::mem::take(&mut self.entries);
        for entry in entries {
            let subject = format!("{} {}", absolute(&entry.owner), entry.record_type);
            let mut drop = |node: &Node| match &node.selector {
                Selector::Cidr { collection, location } if location != "*" => match collections.get(collection) {
                    Some(locations) if !locations.contains_key(location) => Some(format!("CIDR collection {collection} has no location {location:?}")),
                    _ => None,
                },
                _ => None,
            };
            let Entry { owner, record_type, ttl, origin, root } = entry;
            if let Some(root) = root.retain(&mut drop, &subject, &mut self.ctx) {
                self.entries.push(Entry { owner, record_type, ttl, origin, root });
            }
        }
    }

    /// Drops aliases whose target was not imported (until nothing changes: dropping one can
    /// empty a set another alias points at).
    fn dangling_aliases(&mut self) {
        loop {
            let mut available: HashSet<(Name, RecordType)> = self.master.iter().map(|r| (r.owner.clone(), r.record_type)).collect();
            available.extend(self.entries.iter().map(|e| (e.owner.clone(), e.record_type)));
            let mut changed = false;
            let entries = std::mem::take(&mut self.entries);
            for entry in entries {
                let subject = format!("{} {}", absolute(&entry.owner), entry.record_type);
                let record_type = entry.record_type;
                let mut drop = |node: &Node| match &node.action {
                    Act::Alias { target, .. } if !available.contains(&(target.clone(), record_type)) => {
                        changed = true;
                        Some(format!("the alias target {} has no {record_type} record set among what was imported", absolute(target)))
                    }
                    _ => None,
                };
                let Entry { owner, record_type, ttl, origin, root } = entry;
                if let Some(root) = root.retain(&mut drop, &subject, &mut self.ctx) {
                    self.entries.push(Entry { owner, record_type, ttl, origin, root });
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Which referenced health checks are declared, and which are missing; references to
    /// checks that cannot run here are removed (reported).
    fn resolve_health_checks(&mut self) -> BTreeMap<String, CheckState> {
        let mut referenced = BTreeSet::new();
        for entry in &self.entries {
            entry.root.health_checks(&mut referenced);
        }
        let mut states: BTreeMap<String, CheckState> = BTreeMap::new();
        let mut unusable: Vec<(String, String)> = Vec::new();
        let mut queue: Vec<String> = referenced.into_iter().collect();
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        while let Some(id) = queue.pop() {
            let subject = format!("health check {id}");
            let Some(data) = &self.health_checks else {
                states.insert(id.clone(), CheckState::Missing);
                continue;
            };
            match data.get(&id) {
                None => {
                    states.insert(id.clone(), CheckState::Missing);
                }
                Some(CheckIn { spec: Err(why), .. }) => unusable.push((id.clone(), why.clone())),
                Some(CheckIn { spec: Ok(spec), notes }) => {
                    for note in notes {
                        self.ctx.report(FindingKind::Lossy, subject.clone(), note.clone());
                    }
                    for child in &spec.children {
                        if seen.insert(child.clone()) {
                            queue.push(child.clone());
                        }
                    }
                    states.insert(id.clone(), CheckState::Declared(Box::new(spec.clone())));
                }
            }
        }
        // Calculated checks lose children that cannot run; one left without children cannot run either.
        loop {
            let unusable_ids: HashSet<String> = unusable.iter().map(|(id, _)| id.clone()).collect();
            let mut newly = Vec::new();
            for (id, state) in states.iter_mut() {
                let CheckState::Declared(spec) = state else { continue };
                if spec.kind != crate::health::spec::CheckKind::Calculated {
                    continue;
                }
                let before = spec.children.len();
                spec.children.retain(|child| !unusable_ids.contains(child));
                if spec.children.len() != before {
                    self.ctx.report(FindingKind::Lossy, format!("health check {id}"), "children that cannot run here were removed from this calculated check");
                }
                if spec.children.is_empty() {
                    newly.push((id.clone(), "a calculated check none of whose children can run here".to_owned()));
                }
            }
            if newly.is_empty() {
                break;
            }
            for (id, _) in &newly {
                states.remove(id);
            }
            unusable.extend(newly);
        }
        for (id, why) in unusable {
            states.remove(&id);
            let mut dropped = 0;
            for entry in &mut self.entries {
                dropped += entry.root.drop_health_check(&id);
            }
            if dropped > 0 {
                self.ctx.report(
                    FindingKind::Lossy,
                    format!("health check {id}"),
                    format!("{why}: cannot be checked here; the {dropped} node(s) that used it count as always healthy"),
                );
            } else {
                self.ctx.report(FindingKind::Skipped, format!("health check {id}"), format!("{why}: cannot be checked here"));
            }
        }
        for (id, state) in &states {
            if matches!(state, CheckState::Missing) {
                let why = if self.health_checks.is_some() {
                    "referenced but not in the health checks given: declare it under [health_checks]"
                } else {
                    "referenced, and no health checks were given (--health-checks FILE): declare it under [health_checks]"
                };
                self.ctx.report(FindingKind::Unresolved, format!("health check {id}"), why);
            }
        }
        states
    }

    /// The CIDR collections the routed sets use: their data, or `None` when not supplied.
    fn declared_collections(&mut self) -> BTreeMap<String, Option<BTreeMap<String, Vec<ipnet::IpNet>>>> {
        let mut used = BTreeSet::new();
        for entry in &self.entries {
            entry.root.collections(&mut used);
        }
        let mut out = BTreeMap::new();
        for name in used {
            let data = self.collections.as_ref().and_then(|c| c.get(&name)).cloned();
            if data.is_none() {
                self.ctx.report(
                    FindingKind::Unresolved,
                    format!("CIDR collection {name}"),
                    "referenced, and its blocks were not given (--cidr FILE): declare it under [cidr_collections]",
                );
            }
            out.insert(name, data);
        }
        out
    }

    fn master_text(&mut self) -> String {
        let zone = self.ctx.zone.clone();
        let has_soa = self.master.iter().any(|r| r.record_type == RecordType::SOA);
        let apex_ns: Vec<String> = self.master.iter().filter(|r| r.record_type == RecordType::NS && r.owner == zone).map(|r| r.value.clone()).collect();
        if apex_ns.is_empty() {
            self.missing_ns = true;
            self.ctx.report(
                FindingKind::Unresolved,
                format!("{} NS", absolute(&zone)),
                "the record sets have no NS at the apex: add the zone's name servers to the master file",
            );
        }
        if !has_soa {
            let primary = apex_ns.first().cloned().unwrap_or_else(|| format!("ns1.{}", absolute(&zone)));
            let value = format!("{primary} hostmaster.{} 1 7200 900 1209600 86400", absolute(&zone));
            self.ctx.report(FindingKind::Note, format!("{} SOA", absolute(&zone)), format!("the record sets have no SOA: one was made up ({value})"));
            self.master.insert(0, MasterRecord { owner: zone.clone(), ttl: 900, record_type: RecordType::SOA, value });
        }
        let mut ordered: Vec<&MasterRecord> = Vec::new();
        ordered.extend(self.master.iter().filter(|r| r.record_type == RecordType::SOA));
        ordered.extend(self.master.iter().filter(|r| r.record_type == RecordType::NS && r.owner == zone));
        ordered.extend(self.master.iter().filter(|r| !(r.record_type == RecordType::SOA || (r.record_type == RecordType::NS && r.owner == zone))));
        let owners: Vec<String> = ordered.iter().map(|r| relative(&r.owner, &zone)).collect();
        let width = owners.iter().map(String::len).max().unwrap_or(1).min(30);
        let mut text = format!(
            "; {zone}: imported from {}.\n{}$ORIGIN {}\n$TTL 300\n",
            self.source.describe(),
            if self.source == Source::Bind {
                String::new()
            } else {
                format!("; Routed record sets (policies, aliases) are in {}routes.toml.\n", absolute(&zone))
            },
            absolute(&zone)
        );
        for (record, owner) in ordered.iter().zip(owners) {
            text.push_str(&format!("{owner:<width$} {:>6} IN {:<6} {}\n", record.ttl, record.record_type.to_string(), record.value));
        }
        text
    }

    /// Compiles the files with the project's compiler; problems other than the unresolved
    /// references already reported become [`FindingKind::Invalid`] findings.
    fn self_check(&mut self, master: Option<&str>, routes: &str, checks: &HashSet<String>, collections: &HashSet<String>) -> bool {
        let zone = absolute(&self.ctx.zone);
        let stub = format!("$ORIGIN {zone}\n@ 300 IN SOA ns.invalid. hostmaster.invalid. 1 7200 900 1209600 300\n@ 300 IN NS ns.invalid.\n");
        let sources = [
            SourceFile { path: format!("{zone}zone"), text: master.map_or(stub, str::to_owned) },
            SourceFile { path: format!("{zone}routes.toml"), text: routes.to_owned() },
        ];
        let Err(errors) = compile_all(&sources) else { return true };
        for error in errors {
            let message = error.kind.to_string();
            let expected = (self.missing_ns && matches!(error.kind, crate::zone::compile::CompileErrorKind::MissingApexNs(_)))
                || checks.iter().any(|id| message == format!("unknown health check {id:?}"))
                || collections.iter().any(|name| message == format!("unknown CIDR collection {name:?}"));
            if !expected {
                self.ctx.report(FindingKind::Invalid, "edgedns check", error.to_string());
            }
        }
        false
    }
}

/// Where the imported configuration comes from (named in the files' headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Route53,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    Octodns,
    Bind,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Self::Route53 => "Route 53 (`edgedns import route53`)",
            Self::Octodns => "octoDNS (`edgedns import octodns`)",
            Self::Bind => "a BIND master file (`edgedns import bind`)",
        }
    }
}

/// A referenced health check: declared, or referenced without data.
enum CheckState {
    Declared(Box<HealthCheckSpec>),
    Missing,
}

fn render_check(out: &mut String, id: &str, spec: &HealthCheckSpec) {
    out.push_str(&format!("\n[health_checks.{}]\n", toml_key(id)));
    out.push_str(&format!("type = {}\n", toml_string(spec.kind.as_str())));
    let strings = [
        ("host", spec.host.as_ref().map(ToString::to_string)),
        ("host_header", spec.host_header.clone()),
        ("path", spec.path.as_ref().map(ToString::to_string)),
        ("search", spec.search.clone()),
    ];
    for (key, value) in strings {
        if let Some(value) = value {
            out.push_str(&format!("{key} = {}\n", toml_string(&value)));
        }
    }
    let numbers = [("port", spec.port.map(u32::from)), ("interval", spec.interval), ("threshold", spec.threshold), ("min_healthy", spec.min_healthy)];
    for (key, value) in numbers {
        if let Some(value) = value {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    if spec.inverted {
        out.push_str("inverted = true\n");
    }
    if spec.disabled {
        out.push_str("disabled = true\n");
    }
    if !spec.children.is_empty() {
        let list: Vec<String> = spec.children.iter().map(|c| toml_string(c)).collect();
        out.push_str(&format!("children = [{}]\n", list.join(", ")));
    }
}
