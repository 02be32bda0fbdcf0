//! The zone compiler: turns master files into checked [`Zone`]s, or into a list of errors
//! that each name the file and line.
//!
//! Everything the engine relies on is checked here, once, so answering never re-checks:
//! one SOA at the apex, NS at the apex, every owner inside the zone, no CNAME at the apex or
//! beside other data (RFC 1034 §3.6.2, RFC 2181 §10.1), no NS at a wildcard (RFC 4592 §4.2),
//! no zone defined twice.
//!
//! A zone whose routes file names a delegation set (`delegation_set = "<name>"`) gets the apex
//! NS RRset and the SOA its master file leaves out from that set; what the master file writes
//! itself wins. `soa_negative_ttl` in the routes file sets the SOA MINIMUM either way. The
//! result is plain records, so the snapshot does not know delegation sets exist.

use std::collections::HashMap;
use std::fmt;

use hickory_proto::rr::{LowerName, Name, RData, RecordType};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::delegation::{self, DelegationSet};
use super::master::{self, SourceRecord};
use super::routes::{self, RoutedSet, Routes, RoutesError};
use super::{Access, AssembleError, Catalog, View, Zone};
use crate::health::spec::HealthCheckSpec;
use crate::policy::{self, Action, Rule};

/// One zone source: a master file's path (for messages and the default origin) and text.
/// Publishing stores every source as JSON (`sources:<version>`), so the admin API can
/// recompile the zones with one of them replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path as the operator named it; its file name without `.zone`/`.db` is the default
    /// `$ORIGIN`.
    pub path: String,
    /// The master-file text.
    pub text: String,
}

/// A problem in a zone source, at `file:line` (line 0 when it concerns the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The source file.
    pub file: String,
    /// 1-based line, or 0 for the whole file.
    pub line: usize,
    /// What is wrong.
    pub kind: CompileErrorKind,
}

/// What is wrong with a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The master file could not be read.
    Syntax(master::MasterErrorKind),
    /// No SOA record.
    MissingSoa,
    /// More than one SOA record.
    SeveralSoa,
    /// The apex has no NS records.
    MissingApexNs(Name),
    /// A record outside the zone of the file's SOA.
    OutOfZone { owner: Name, apex: Name },
    /// CNAME at the zone apex (it would sit beside SOA and NS).
    CnameAtApex(Name),
    /// CNAME beside other data at the same name.
    CnameWithOtherData { owner: Name, other: RecordType },
    /// More than one CNAME record at a name.
    SeveralCnames(Name),
    /// NS records at a wildcard name.
    NsAtWildcard(Name),
    /// The same zone defined by two files.
    DuplicateZone { apex: Name, first_file: String },
    /// A problem in a routes file (or between routes and zones).
    Routes(String),
    /// A private view's declaration (`views/<name>/view.toml`) or its place.
    View(String),
    /// A problem in a delegation-sets file (or between delegation sets).
    DelegationSets(String),
    /// A record that cannot be served as written (its wire form does not read back, or the
    /// type is not allowed in an answer).
    Unservable { owner: Name, why: String },
    /// A zone apex that is not a host name (its snapshot could not be read back).
    BadApex(Name),
}

impl fmt::Display for CompileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(kind) => write!(f, "{kind}"),
            Self::MissingSoa => write!(
                f,
                "no SOA record: a zone needs exactly one, at its apex, in its master file or from a delegation set \
                 (delegation_set = \"<name>\" in <zone>.routes.toml)"
            ),
            Self::SeveralSoa => write!(f, "a second SOA record: a zone has exactly one"),
            Self::MissingApexNs(apex) => {
                write!(f, "the apex {apex} has no NS records (write them, or take them from a delegation set)")
            }
            Self::OutOfZone { owner, apex } => write!(f, "{owner} is outside the zone {apex}"),
            Self::CnameAtApex(owner) => {
                write!(f, "CNAME at the zone apex {owner} is illegal (use an alias record)")
            }
            Self::CnameWithOtherData { owner, other } => {
                write!(f, "CNAME at {owner} beside {other} data: a CNAME must stand alone")
            }
            Self::SeveralCnames(owner) => write!(f, "more than one CNAME at {owner}"),
            Self::NsAtWildcard(owner) => write!(f, "NS records at the wildcard {owner}"),
            Self::DuplicateZone { apex, first_file } => {
                write!(f, "zone {apex} is already defined in {first_file}")
            }
            Self::Routes(message) | Self::DelegationSets(message) | Self::View(message) => f.write_str(message),
            Self::Unservable { owner, why } => write!(f, "{owner}: {why}"),
            Self::BadApex(apex) => write!(f, "zone apex {apex} is not a host name (letters, digits, '-', '_')"),
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.kind)
        }
    }
}

impl std::error::Error for CompileError {}

/// The `$ORIGIN` a file starts with: its file name without a `.zone`/`.db` extension.
pub fn default_origin(path: &str) -> Option<Name> {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = file_name.strip_suffix(".zone").or_else(|| file_name.strip_suffix(".db")).unwrap_or(file_name);
    let mut origin = Name::from_ascii(stem).ok()?;
    origin.set_fqdn(true);
    (!origin.is_root()).then_some(origin)
}

/// A master file read and checked, not yet assembled.
struct ReadZone {
    path: String,
    apex: Name,
    records: Vec<SourceRecord>,
}

/// What a zone takes from outside its master file: the zone-wide keys of its routes files,
/// with the delegation set resolved.
#[derive(Debug, Clone, Default)]
struct ZoneSettings<'a> {
    /// The delegation set that fills in a missing apex SOA or NS RRset.
    delegation: Option<&'a DelegationSet>,
    /// The SOA MINIMUM to set: routes file, line, seconds.
    negative_ttl: Option<(&'a str, usize, u32)>,
    /// The zone's routed sets (they count as content for a derived serial).
    routed: Vec<&'a RoutedSet>,
}

/// Reads and checks a master file; `settings_for` gives what the zone at an apex takes from
/// its routes files. A file without an SOA is the zone its file name says. Problems of the
/// routes files' settings go to `elsewhere` (they do not make the zone unreadable).
fn read_zone<'a>(
    source: &SourceFile,
    settings_for: impl FnOnce(&Name) -> ZoneSettings<'a>,
    elsewhere: &mut Vec<CompileError>,
) -> Result<ReadZone, Vec<CompileError>> {
    let error = |line: usize, kind: CompileErrorKind| CompileError { file: source.path.clone(), line, kind };
    let mut records = master::parse(&source.text, default_origin(&source.path).as_ref())
        .map_err(|errors| errors.into_iter().map(|e| error(e.line, CompileErrorKind::Syntax(e.kind))).collect::<Vec<_>>())?;
    let apex = apex_of(&records).or_else(|| default_origin(&source.path).map(|origin| origin.to_lowercase()));
    if let Some(apex) = apex {
        elsewhere.extend(complete(&mut records, &apex, &settings_for(&apex)));
    }
    check(&records).map_err(|problems| problems.into_iter().map(|(line, kind)| error(line, kind)).collect::<Vec<_>>())?;
    // `check` proved there is exactly one SOA, so `apex_of` finds it.
    let apex = apex_of(&records).ok_or_else(|| vec![error(0, CompileErrorKind::MissingSoa)])?;
    Ok(ReadZone { path: source.path.clone(), apex, records })
}

fn assemble(zone: ReadZone, routed: Vec<RoutedSet>) -> Result<Zone, Vec<CompileError>> {
    let error = |kind: CompileErrorKind| vec![CompileError { file: zone.path.clone(), line: 0, kind }];
    let apex = zone.apex.clone();
    Zone::assemble(&apex, zone.records.into_iter().map(|r| r.record).collect(), routed).map_err(|e| match e {
        AssembleError::MissingSoa => error(CompileErrorKind::MissingSoa),
        AssembleError::OutOfZone(owner) => error(CompileErrorKind::OutOfZone { owner, apex: apex.clone() }),
    })
}

/// Fills in what the master file leaves out: the apex SOA and NS RRset from the zone's
/// delegation set (the master file's own win), then the SOA MINIMUM from `soa_negative_ttl`.
/// Generated records carry line 0. Returns the problems found (in the routes file).
fn complete(records: &mut Vec<SourceRecord>, apex: &Name, settings: &ZoneSettings<'_>) -> Vec<CompileError> {
    let at_apex = |records: &[SourceRecord], record_type: RecordType| {
        records.iter().any(|r| r.record.record_type() == record_type && LowerName::new(&r.record.name) == LowerName::new(apex))
    };
    if let Some(set) = settings.delegation {
        if !at_apex(records, RecordType::NS) {
            records.extend(set.name_server_records(apex).into_iter().map(|record| SourceRecord { line: 0, record }));
        }
        if !records.iter().any(|r| r.record.record_type() == RecordType::SOA) {
            let serial = content_serial(records, set, apex, &settings.routed);
            records.insert(0, SourceRecord { line: 0, record: set.soa_record(apex, serial) });
        }
    }
    let mut problems = Vec::new();
    if let Some((file, line, negative_ttl)) = settings.negative_ttl {
        for source in records.iter_mut() {
            let ttl = source.record.ttl;
            if let RData::SOA(soa) = &mut source.record.data {
                if negative_ttl > ttl {
                    let message = delegation::negative_ttl_above_soa_ttl(negative_ttl, ttl);
                    problems.push(CompileError { file: file.to_owned(), line, kind: CompileErrorKind::Routes(message) });
                }
                soa.minimum = negative_ttl;
            }
        }
    }
    problems
}

/// The SERIAL of a generated SOA when the delegation set fixes none: a hash of everything the
/// zone serves (its records in wire form, in canonical order so reordering the file changes
/// nothing, its routed sets and the set's SOA fields). It is a pure function of the sources,
/// so compiling twice gives the same snapshot and `edgedns diff` reports no change when
/// nothing changed, while any change of content changes it. It does not grow by RFC 1982
/// arithmetic: nothing here needs that, since the only readers of a serial that compare them
/// are secondaries, and edgedns serves no zone transfers (AXFR/IXFR are REFUSED). A set or zone
/// that needs increasing serials fixes one (`serial` in the set, or its own SOA).
fn content_serial(records: &[SourceRecord], set: &DelegationSet, apex: &Name, routed: &[&RoutedSet]) -> u32 {
    use hickory_proto::serialize::binary::BinEncodable;
    let mut parts: Vec<Vec<u8>> = records.iter().filter_map(|r| r.record.to_bytes().ok()).collect();
    parts.extend(set.soa_record(apex, 0).to_bytes().ok());
    parts.extend(routed.iter().filter_map(|set| postcard::to_allocvec(set).ok()));
    parts.sort();
    // FNV-1a 64 (stable across builds and platforms, unlike the std hasher), each part
    // prefixed with its length so parts cannot run into each other.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in &parts {
        for byte in (part.len() as u64).to_be_bytes().iter().chain(part) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // 1 ..= 2^31 - 1: never 0, and the same under signed and unsigned readings.
    u32::try_from(hash % 0x7fff_ffff).map_or(1, |serial| serial + 1)
}

/// Compiles one master file into a zone (without routes files, so without delegation sets).
pub fn compile_file(source: &SourceFile) -> Result<Zone, Vec<CompileError>> {
    let mut unused = Vec::new();
    assemble(read_zone(source, |_| ZoneSettings::default(), &mut unused)?, Vec::new())
}

/// Reads every delegation-sets file; a set name is declared once across all of them.
fn read_delegation_sets<'a>(sources: &[&'a SourceFile], errors: &mut Vec<CompileError>) -> HashMap<String, (&'a str, DelegationSet)> {
    let mut sets: HashMap<String, (&str, DelegationSet)> = HashMap::new();
    for source in sources {
        let problem = |line: usize, message: String| CompileError { file: source.path.clone(), line, kind: CompileErrorKind::DelegationSets(message) };
        match delegation::parse(&source.text) {
            Ok(parsed) => {
                for (name, (line, set)) in parsed {
                    if let Some((first_file, _)) = sets.get(&name) {
                        errors.push(problem(line, format!("delegation set {name} is already declared in {first_file}")));
                    } else {
                        sets.insert(name, (source.path.as_str(), set));
                    }
                }
            }
            Err(file_errors) => errors.extend(file_errors.into_iter().map(|e| problem(e.line, e.message))),
        }
    }
    sets
}

/// A routes file read before the zones: its path, the zone its name says, and what it holds.
type EarlyRoutes<'a> = (&'a SourceFile, Option<Name>, Option<Result<Routes, Vec<RoutesError>>>);

/// The zone-wide keys of the routes files, by zone, with the delegation sets resolved.
fn zone_settings<'a>(
    read_routes: &'a [EarlyRoutes<'a>],
    sets: &'a HashMap<String, (&'a str, DelegationSet)>,
    errors: &mut Vec<CompileError>,
) -> HashMap<LowerName, ZoneSettings<'a>> {
    let mut settings: HashMap<LowerName, ZoneSettings<'a>> = HashMap::new();
    let mut given_in: HashMap<(LowerName, &str), &str> = HashMap::new();
    for (source, origin, parsed) in read_routes {
        let (Some(origin), Some(Ok(routes))) = (origin, parsed) else { continue };
        let key = LowerName::new(origin);
        let problem = |line: usize, message: String| CompileError { file: source.path.clone(), line, kind: CompileErrorKind::Routes(message) };
        let zone = settings.entry(key.clone()).or_default();
        zone.routed.extend(routes.sets.iter().map(|(_, set)| set));
        if let Some((line, name)) = &routes.delegation_set {
            if let Some(first) = given_in.insert((key.clone(), "delegation_set"), &source.path) {
                errors.push(problem(*line, format!("delegation_set for {origin} is already given in {first}")));
            } else if let Some((_, set)) = sets.get(name) {
                zone.delegation = Some(set);
            } else {
                let mut known: Vec<&str> = sets.keys().map(String::as_str).collect();
                known.sort_unstable();
                let known = if known.is_empty() { "none is declared (delegation-sets.toml)".to_owned() } else { format!("declared: {}", known.join(", ")) };
                errors.push(problem(*line, format!("unknown delegation set {name:?} ({known})")));
            }
        }
        if let Some((line, seconds)) = routes.soa_negative_ttl {
            if let Some(first) = given_in.insert((key.clone(), "soa_negative_ttl"), &source.path) {
                errors.push(problem(line, format!("soa_negative_ttl for {origin} is already given in {first}")));
            } else {
                zone.negative_ttl = Some((source.path.as_str(), line, seconds));
            }
        }
    }
    settings
}

/// The zone a routes file belongs to: its file name without `.routes.toml`.
pub fn routes_origin(path: &str) -> Option<Name> {
    let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = file_name.strip_suffix(".routes.toml")?;
    let mut origin = Name::from_ascii(stem).ok()?;
    origin.set_fqdn(true);
    Some(origin.to_lowercase())
}

/// The zone a source belongs to, lower case: a routes file's by its name, a master file's
/// by its SOA owner when it has one that reads, else by its name (the default `$ORIGIN`).
pub fn source_apex(source: &SourceFile) -> Option<Name> {
    if source.path.ends_with(".routes.toml") {
        return routes_origin(&source.path);
    }
    let origin = default_origin(&source.path);
    let (records, _) = master::parse_partial(&source.text, origin.as_ref());
    apex_of(&records).or_else(|| origin.map(|origin| origin.to_lowercase()))
}

/// The file declaring a private view: `views/<name>/view.toml`.
pub const VIEW_FILE: &str = "view.toml";

/// The private view a source belongs to: `<name>` when its path runs through
/// `views/<name>/`.
pub fn view_of(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let at = parts.iter().rposition(|part| *part == "views")?;
    // `views/<name>/<file>`: the name, and a file after it.
    (at + 2 < parts.len()).then(|| parts.get(at + 1).copied()).flatten().filter(|name| !name.is_empty())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewSource {
    #[serde(default)]
    networks: Vec<String>,
    #[serde(default)]
    token_sha256: Option<String>,
}

/// Reads a view's `view.toml`: client networks and/or the SHA-256 (hex) of its path token.
fn read_access(source: &SourceFile) -> Result<Access, Box<CompileError>> {
    let problem = |line: usize, message: String| Box::new(CompileError { file: source.path.clone(), line, kind: CompileErrorKind::View(message) });
    let view: ViewSource = toml::from_str(&source.text)
        .map_err(|error| problem(error.span().map_or(0, |span| routes::line_of(&source.text, span.start)), error.message().trim().to_owned()))?;
    let mut networks = Vec::new();
    for network in &view.networks {
        match network.parse::<ipnet::IpNet>() {
            Ok(net) if net.trunc() == net => networks.push(net),
            Ok(net) => return Err(problem(0, format!("{net} has host bits set (did you mean {}?)", net.trunc()))),
            Err(_) => return Err(problem(0, format!("{network:?} is not a network (address/prefix)"))),
        }
    }
    let token_sha256 = match &view.token_sha256 {
        None => None,
        Some(hex) => Some(
            parse_sha256(hex)
                .ok_or_else(|| problem(0, "token_sha256 is the SHA-256 of the path token as 64 hex digits (printf %s TOKEN | sha256sum)".to_owned()))?,
        ),
    };
    if networks.is_empty() && token_sha256.is_none() {
        return Err(problem(0, "a view needs networks and/or token_sha256: nobody could see it".to_owned()));
    }
    Ok(Access { networks, token_sha256 })
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

/// Compiles every source into a catalog: master files (`*.zone`), the routes files
/// (`<zone>.routes.toml`) beside them, the delegation sets (`delegation-sets.toml`) zones
/// share, and private views (`views/<name>/view.toml` with the view's own zone and routes
/// files; the public delegation sets apply to them too). A view's zones are compiled on their
/// own (their aliases and CNAME checks stay within the view); their health checks join the
/// catalog's, so the scheduled run probes them. Reports all errors of all files.
pub fn compile_all(sources: &[SourceFile]) -> Result<Catalog, Vec<CompileError>> {
    let (private, public): (Vec<&SourceFile>, Vec<&SourceFile>) = sources.iter().partition(|source| view_of(&source.path).is_some());
    let public: Vec<SourceFile> = public.into_iter().cloned().collect();
    let mut errors = Vec::new();
    let catalog = compile_catalog(&public).map_err(|mut found| errors.append(&mut found)).ok();
    let mut by_view: BTreeMap<&str, Vec<&SourceFile>> = BTreeMap::new();
    for source in private {
        by_view.entry(view_of(&source.path).unwrap_or_default()).or_default().push(source);
    }
    let set_files: Vec<SourceFile> = public.iter().filter(|source| delegation::is_delegation_sets_file(&source.path)).cloned().collect();
    let mut views = Vec::new();
    for (name, files) in by_view {
        let (declarations, zone_files): (Vec<&SourceFile>, Vec<&SourceFile>) =
            files.into_iter().partition(|source| source.path.rsplit(['/', '\\']).next() == Some(VIEW_FILE));
        let access = match declarations.as_slice() {
            [declaration] => read_access(declaration).map_err(|error| errors.push(*error)).ok(),
            _ => {
                let file = zone_files.first().map_or_else(|| format!("views/{name}"), |source| source.path.clone());
                errors.push(CompileError {
                    file,
                    line: 0,
                    kind: CompileErrorKind::View(format!("view {name} needs its views/{name}/{VIEW_FILE} (networks, token_sha256)")),
                });
                None
            }
        };
        let mut view_sources: Vec<SourceFile> = zone_files.into_iter().cloned().collect();
        view_sources.extend(set_files.iter().cloned());
        let zones = compile_catalog(&view_sources).map_err(|mut found| errors.append(&mut found)).ok();
        if let (Some(access), Some(zones)) = (access, zones) {
            views.push(View { name: name.to_owned(), access, zones });
        }
    }
    let Some(catalog) = catalog else { return Err(errors) };
    // The views' health checks and latency rows join the catalog's (one namespace of ids).
    let mut health_checks = catalog.health_checks().clone();
    let mut latency_matrix = catalog.latency_matrix().clone();
    for view in &views {
        for (id, spec) in view.zones.health_checks() {
            if health_checks.insert(id.clone(), spec.clone()).is_some_and(|earlier| earlier != *spec) {
                errors.push(CompileError {
                    file: format!("views/{}", view.name),
                    line: 0,
                    kind: CompileErrorKind::View(format!("health check {id} is declared differently elsewhere")),
                });
            }
        }
        for (edge, row) in view.zones.latency_matrix() {
            latency_matrix.entry(edge.clone()).or_default().extend(row.iter().map(|(region, ms)| (region.clone(), *ms)));
        }
    }
    if errors.is_empty() {
        Ok(catalog.with_health_checks(health_checks).with_latency_matrix(latency_matrix).with_views(views))
    } else {
        Err(errors)
    }
}

/// Compiles one set of sources (the public zones, or one view's) into a catalog.
fn compile_catalog(sources: &[SourceFile]) -> Result<Catalog, Vec<CompileError>> {
    let mut errors = Vec::new();
    let mut zones: Vec<ReadZone> = Vec::new();
    let mut seen: HashMap<LowerName, String> = HashMap::new();
    let (set_sources, other_sources): (Vec<&SourceFile>, Vec<&SourceFile>) =
        sources.iter().partition(|source| delegation::is_delegation_sets_file(&source.path));
    let (routes_sources, zone_sources): (Vec<&SourceFile>, Vec<&SourceFile>) =
        other_sources.into_iter().partition(|source| source.path.ends_with(".routes.toml"));
    let sets = read_delegation_sets(&set_sources, &mut errors);
    // Routes files are read before the master files: they name a zone's delegation set.
    let read_routes: Vec<EarlyRoutes<'_>> = routes_sources
        .into_iter()
        .map(|source| {
            let origin = routes_origin(&source.path);
            let parsed = origin.as_ref().map(|origin| routes::parse(&source.text, origin));
            (source, origin, parsed)
        })
        .collect();
    let settings = zone_settings(&read_routes, &sets, &mut errors);
    for source in zone_sources {
        match read_zone(source, |apex| settings.get(&LowerName::new(apex)).cloned().unwrap_or_default(), &mut errors) {
            Ok(zone) => {
                let key = LowerName::new(&zone.apex);
                if let Some(first_file) = seen.get(&key) {
                    errors.push(CompileError {
                        file: source.path.clone(),
                        line: 0,
                        kind: CompileErrorKind::DuplicateZone { apex: zone.apex.clone(), first_file: first_file.clone() },
                    });
                } else {
                    seen.insert(key, source.path.clone());
                    zones.push(zone);
                }
            }
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }

    // Routes files, each merged into its zone.
    let mut routed: HashMap<LowerName, Vec<RoutedSet>> = HashMap::new();
    let mut signed: std::collections::HashSet<LowerName> = std::collections::HashSet::new();
    let mut all_routes: Vec<(String, Routes)> = Vec::new();
    for (source, origin, parsed) in read_routes {
        let problem = |line: usize, message: String| CompileError { file: source.path.clone(), line, kind: CompileErrorKind::Routes(message) };
        let (Some(origin), Some(parsed)) = (origin, parsed) else {
            errors.push(problem(0, "a routes file is named <zone>.routes.toml".to_owned()));
            continue;
        };
        let Some(zone) = zones.iter().find(|zone| LowerName::new(&zone.apex) == LowerName::new(&origin)) else {
            if !errors.iter().any(|e| default_origin(&e.file).is_some_and(|o| LowerName::new(&o) == LowerName::new(&origin))) {
                errors.push(problem(0, format!("no zone file for {origin}: routes need the zone's master file (it may leave SOA and NS to a delegation set)")));
            }
            continue;
        };
        match parsed {
            Ok(parsed) => {
                for (line, set) in &parsed.sets {
                    if let Some(conflict) = conflict_with_static(zone, set) {
                        errors.push(problem(*line, conflict));
                    }
                }
                routed.entry(LowerName::new(&zone.apex)).or_default().extend(parsed.sets.iter().map(|(_, set)| set.clone()));
                if matches!(parsed.dnssec, Some((_, true))) {
                    signed.insert(LowerName::new(&zone.apex));
                }
                all_routes.push((source.path.clone(), parsed));
            }
            Err(file_errors) => errors.extend(file_errors.into_iter().map(|e| problem(e.line, e.message))),
        }
    }

    // References across files: health checks and alias targets.
    let mut health_checks: BTreeMap<String, HealthCheckSpec> = BTreeMap::new();
    let mut latency_matrix: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut declared_in: HashMap<String, String> = HashMap::new();
    for (path, parsed) in &all_routes {
        for (edge, row) in &parsed.latency_matrix {
            let merged = latency_matrix.entry(edge.clone()).or_default();
            for (region, ms) in row {
                if merged.insert(region.clone(), *ms).is_some_and(|earlier| earlier != *ms) {
                    errors.push(CompileError {
                        file: path.clone(),
                        line: 0,
                        kind: CompileErrorKind::Routes(format!("latency {edge} → {region} is given twice with different values")),
                    });
                }
            }
        }
        for (id, (line, spec)) in &parsed.health_checks {
            if let Some(first) = declared_in.insert(id.clone(), path.clone()) {
                errors.push(CompileError {
                    file: path.clone(),
                    line: *line,
                    kind: CompileErrorKind::Routes(format!("health check {id} is already declared in {first}")),
                });
            }
            health_checks.insert(id.clone(), spec.clone());
        }
    }
    for (path, parsed) in &all_routes {
        for (line, id) in &parsed.check_references {
            if !health_checks.contains_key(id) {
                errors.push(CompileError { file: path.clone(), line: *line, kind: CompileErrorKind::Routes(format!("unknown health check {id:?}")) });
            }
        }
        for (line, target, record_type) in &parsed.alias_references {
            if !alias_target_exists(&zones, &routed, target, *record_type) {
                errors.push(CompileError {
                    file: path.clone(),
                    line: *line,
                    kind: CompileErrorKind::Routes(format!("alias target {target} has no {record_type} record set in the hosted zones")),
                });
            }
        }
    }
    if errors.is_empty() {
        let graph = AliasGraph::new(&all_routes);
        errors.extend(graph.loop_errors());
        if errors.is_empty() {
            errors.extend(graph.cost_errors());
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut assembled = Vec::with_capacity(zones.len());
    for zone in zones {
        let sets = routed.remove(&LowerName::new(&zone.apex)).unwrap_or_default();
        let sign = signed.contains(&LowerName::new(&zone.apex));
        match assemble(zone, sets) {
            Ok(zone) => assembled.push(zone.with_signing(sign)),
            Err(mut zone_errors) => errors.append(&mut zone_errors),
        }
    }
    if errors.is_empty() {
        Ok(Catalog::new(assembled).with_health_checks(health_checks).with_latency_matrix(latency_matrix))
    } else {
        Err(errors)
    }
}

/// A routed set may not share a name and type with master-file data, and CNAME rules hold
/// across both (RFC 1034 §3.6.2).
fn conflict_with_static(zone: &ReadZone, set: &RoutedSet) -> Option<String> {
    let owner = Name::from_ascii(&set.name).ok()?;
    let key = LowerName::new(&owner);
    let types: Vec<RecordType> = zone.records.iter().filter(|r| LowerName::new(&r.record.name) == key).map(|r| r.record.record_type()).collect();
    let routed_type = set.record_type();
    if types.contains(&routed_type) {
        return Some(format!("{} {routed_type} is also defined in {}: define it in one place", set.name, zone.path));
    }
    if routed_type == RecordType::CNAME && key == LowerName::new(&zone.apex) {
        return Some(format!("CNAME at the zone apex {} is illegal (use an alias record)", set.name));
    }
    if routed_type == RecordType::CNAME && !types.is_empty() {
        return Some(format!("CNAME at {} beside data in {}: a CNAME must stand alone", set.name, zone.path));
    }
    if types.contains(&RecordType::CNAME) {
        return Some(format!("{} has a CNAME in {}: nothing else may live there", set.name, zone.path));
    }
    None
}

fn alias_target_exists(zones: &[ReadZone], routed: &HashMap<LowerName, Vec<RoutedSet>>, target: &str, record_type: RecordType) -> bool {
    let Ok(name) = Name::from_ascii(target) else { return false };
    let key = LowerName::new(&name);
    let in_routes =
        routed.values().flatten().any(|set| set.record_type() == record_type && Name::from_ascii(&set.name).is_ok_and(|n| LowerName::new(&n) == key));
    in_routes || zones.iter().any(|zone| zone.records.iter().any(|r| r.record.record_type() == record_type && LowerName::new(&r.record.name) == key))
}

/// A routed set as the alias graph knows it: lower-case owner and record type.
type SetKey = (String, u16);

/// The most alias loops reported at once (a tangle of sets can hold very many; the first
/// ones are enough to start untangling).
const MAX_REPORTED_LOOPS: usize = 8;

/// The routed sets of a catalog as a graph: a set has an edge to every routed set of its type
/// that an alias anywhere in its tree (any branch of any node) points at. Keys are sorted, so
/// errors come out in the same order every time.
struct AliasGraph<'a> {
    /// Each set, where it is written (routes file, line), and its out-edges.
    sets: BTreeMap<SetKey, (&'a str, usize, &'a RoutedSet, Vec<SetKey>)>,
}

impl<'a> AliasGraph<'a> {
    fn new(all_routes: &'a [(String, Routes)]) -> Self {
        let mut sets: BTreeMap<SetKey, (&str, usize, &RoutedSet, Vec<SetKey>)> = BTreeMap::new();
        for (path, parsed) in all_routes {
            for (line, set) in &parsed.sets {
                sets.entry((set.name.to_ascii_lowercase(), set.record_type)).or_insert((path.as_str(), *line, set, Vec::new()));
            }
        }
        let keys: std::collections::BTreeSet<SetKey> = sets.keys().cloned().collect();
        for ((_, record_type), (_, _, set, edges)) in &mut sets {
            let mut targets = Vec::new();
            alias_targets(&set.rule, &mut targets);
            for target in targets {
                let key = (target.to_ascii_lowercase(), *record_type);
                if keys.contains(&key) && !edges.contains(&key) {
                    edges.push(key);
                }
            }
        }
        Self { sets }
    }

    /// The alias loops, each as the path of sets that closes it (first set repeated at the
    /// end). A depth-first search with three colours: a set is white until visited, grey
    /// while it is on the search path, black once everything it reaches is done; an edge to
    /// a grey set closes a loop. Every set and edge is looked at once (linear in the graph),
    /// and the search keeps its own stack, so a long chain cannot overflow the call stack.
    fn loops(&self) -> Vec<Vec<&SetKey>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Colour {
            Grey,
            Black,
        }
        let mut colours: HashMap<&SetKey, Colour> = HashMap::with_capacity(self.sets.len());
        let mut loops = Vec::new();
        for start in self.sets.keys() {
            if colours.contains_key(start) {
                continue;
            }
            // The search path: each set with the index of its next edge to follow.
            let mut path: Vec<(&SetKey, usize)> = vec![(start, 0)];
            colours.insert(start, Colour::Grey);
            while let Some((key, next)) = path.last_mut() {
                let edge = self.sets.get(*key).and_then(|(_, _, _, edges)| edges.get(*next));
                *next += 1;
                let Some(target) = edge else {
                    colours.insert(*key, Colour::Black);
                    path.pop();
                    continue;
                };
                match colours.get(target) {
                    None => {
                        colours.insert(target, Colour::Grey);
                        path.push((target, 0));
                    }
                    Some(Colour::Grey) if loops.len() < MAX_REPORTED_LOOPS => {
                        let from = path.iter().position(|(on_path, _)| *on_path == target).unwrap_or(0);
                        let mut cycle: Vec<&SetKey> = path.iter().skip(from).map(|(on_path, _)| *on_path).collect();
                        cycle.push(target);
                        loops.push(cycle);
                    }
                    Some(_) => {}
                }
            }
        }
        loops
    }

    /// The loops as errors, each at the routes file and line of the set it starts from.
    fn loop_errors(&self) -> Vec<CompileError> {
        let describe = |(name, record_type): &SetKey| format!("{name} {}", RecordType::from(*record_type));
        self.loops()
            .into_iter()
            .map(|cycle| {
                let (file, line) = cycle.first().and_then(|key| self.sets.get(*key)).map_or(("routes", 0), |(file, line, _, _)| (*file, *line));
                let path: Vec<String> = cycle.into_iter().map(describe).collect();
                CompileError { file: file.to_owned(), line, kind: CompileErrorKind::Routes(format!("alias loop: {}", path.join(" -> "))) }
            })
            .collect()
    }
}

impl AliasGraph<'_> {
    /// The sets whose policy could visit more nodes in one evaluation than the engine's
    /// budget allows ([`policy::worst_case_visits`]): aliases that fan out to sets that fan
    /// out again multiply the work (K branches aliasing the next set, N sets deep: K^N).
    /// Refused here, such a tree cannot fail at query time. This bound at compile time was
    /// chosen over memoising health per answer in the evaluator: answering stays free of a memo
    /// table's allocation and hashing, and the budget becomes a promise about every published
    /// tree; the evaluator's own count stays as the backstop for snapshots made elsewhere.
    fn cost_errors(&self) -> Vec<CompileError> {
        let mut errors = Vec::new();
        for ((name, record_type), (file, line, set, _)) in &self.sets {
            let record_type = RecordType::from(*record_type);
            let level = policy::deepest_level(&set.rule, record_type, self);
            if level > policy::MAX_ALIAS_DEPTH {
                let message = format!(
                    "{name} {record_type}: the policy nests more than {} levels (rules inside rules and aliases into routed sets), \
                     deeper than the engine follows: flatten the tree",
                    policy::MAX_ALIAS_DEPTH
                );
                errors.push(CompileError { file: (*file).to_owned(), line: *line, kind: CompileErrorKind::Routes(message) });
                continue;
            }
            let cost = policy::worst_case_visits(&set.rule, record_type, self);
            if cost > u64::from(policy::EVALUATION_BUDGET) {
                let message = format!(
                    "{name} {record_type}: answering may visit up to {cost} policy nodes, over the budget of {} per evaluation \
                     (aliases to sets that branch and alias again multiply: point the branches at fewer shared sets, or flatten the tree)",
                    policy::EVALUATION_BUDGET
                );
                errors.push(CompileError { file: (*file).to_owned(), line: *line, kind: CompileErrorKind::Routes(message) });
            }
        }
        errors
    }
}

/// The routed sets as alias targets, for the cost bound (plain data costs nothing to follow).
impl policy::Targets for AliasGraph<'_> {
    fn target(&self, name: &str, record_type: RecordType) -> Option<policy::Target<'_>> {
        let (_, _, set, _) = self.sets.get(&(name.to_ascii_lowercase(), u16::from(record_type)))?;
        Some(policy::Target::Routed { rule: &set.rule, ttl: set.ttl })
    }
}

/// Every alias target in a tree, in every branch of every node.
fn alias_targets(rule: &Rule, found: &mut Vec<String>) {
    match &rule.action {
        Action::Alias { target, .. } => found.push(target.clone()),
        Action::Values(_) => {}
        Action::Weighted { choices, .. } => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Failover { primary, secondary } => {
            alias_targets(primary, found);
            alias_targets(secondary, found);
        }
        Action::Geolocation(choices) => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Latency(choices) => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Geoproximity(choices) => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Cidr(choices) => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Asn(choices) => choices.iter().for_each(|c| alias_targets(&c.rule, found)),
        Action::Multivalue(rules) => rules.iter().for_each(|r| alias_targets(r, found)),
    }
}

/// Why a record cannot be served, if it cannot: SIG belongs in no answer section (RFC 2931),
/// and every record must survive the wire format the snapshot and responses use (a CAA tag of
/// 1–15 letters and digits, RFC 8659 §4.1, for example).
fn unservable(record: &hickory_proto::rr::Record) -> Option<String> {
    use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
    if record.record_type() == RecordType::SIG {
        return Some("SIG records cannot be served in answers".to_owned());
    }
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    if let Err(error) = record.emit(&mut encoder) {
        return Some(format!("{} data cannot be encoded: {error}", record.record_type()));
    }
    match hickory_proto::rr::Record::read(&mut BinDecoder::new(&bytes)) {
        Ok(read) if read.data == record.data => None,
        Ok(_) => Some(format!("{} data changes in the wire format", record.record_type())),
        Err(error) => Some(format!("{} data does not read back from the wire format: {error}", record.record_type())),
    }
}

fn apex_of(records: &[SourceRecord]) -> Option<Name> {
    records.iter().find(|r| r.record.record_type() == RecordType::SOA).map(|r| r.record.name.to_lowercase())
}

/// The checks of a zone's records, each problem with its line.
fn check(records: &[SourceRecord]) -> Result<(), Vec<(usize, CompileErrorKind)>> {
    let mut problems = Vec::new();
    let mut soa_lines = records.iter().filter(|r| r.record.record_type() == RecordType::SOA).map(|r| r.line);
    let Some(_) = soa_lines.next() else {
        return Err(vec![(0, CompileErrorKind::MissingSoa)]);
    };
    problems.extend(soa_lines.map(|line| (line, CompileErrorKind::SeveralSoa)));
    let Some(apex) = apex_of(records) else {
        return Err(vec![(0, CompileErrorKind::MissingSoa)]);
    };
    // The snapshot names zones by their apex in text form: it must read back.
    if Name::from_ascii(apex.to_ascii()).ok().as_ref() != Some(&apex) {
        problems.push((0, CompileErrorKind::BadApex(apex.clone())));
    }
    for source in records {
        if let Some(why) = unservable(&source.record) {
            problems.push((source.line, CompileErrorKind::Unservable { owner: source.record.name.clone(), why }));
        }
    }

    // Per owner: the first line of each type seen, to explain CNAME conflicts.
    let mut owners: HashMap<LowerName, Vec<(RecordType, usize)>> = HashMap::new();
    for source in records {
        let owner = &source.record.name;
        let record_type = source.record.record_type();
        if !apex.zone_of(owner) {
            problems.push((source.line, CompileErrorKind::OutOfZone { owner: owner.clone(), apex: apex.clone() }));
            continue;
        }
        if record_type == RecordType::NS && owner.is_wildcard() {
            problems.push((source.line, CompileErrorKind::NsAtWildcard(owner.clone())));
        }
        let types = owners.entry(LowerName::new(owner)).or_default();
        if record_type == RecordType::CNAME {
            if owner.eq_ignore_root(&apex) || LowerName::new(owner) == LowerName::new(&apex) {
                problems.push((source.line, CompileErrorKind::CnameAtApex(owner.clone())));
            } else if types.iter().any(|(t, _)| *t == RecordType::CNAME) {
                problems.push((source.line, CompileErrorKind::SeveralCnames(owner.clone())));
            } else if let Some((other, _)) = types.first() {
                problems.push((source.line, CompileErrorKind::CnameWithOtherData { owner: owner.clone(), other: *other }));
            }
        } else if types.iter().any(|(t, _)| *t == RecordType::CNAME) {
            problems.push((source.line, CompileErrorKind::CnameWithOtherData { owner: owner.clone(), other: record_type }));
        }
        if !types.iter().any(|(t, _)| *t == record_type) {
            types.push((record_type, source.line));
        }
    }
    let apex_has_ns = owners.get(&LowerName::new(&apex)).is_some_and(|types| types.iter().any(|(t, _)| *t == RecordType::NS));
    if !apex_has_ns {
        problems.push((0, CompileErrorKind::MissingApexNs(apex)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.sort_by_key(|(line, _)| *line);
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Zone, Vec<String>> {
        compile_file(&SourceFile { path: "zones/example.com.zone".into(), text: text.into() })
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    const HEAD: &str = "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n";

    #[test]
    fn compiles_a_valid_zone() {
        let zone = compile(&format!("{HEAD}www A 192.0.2.1\nalias CNAME www\n")).unwrap();
        assert_eq!(zone.apex().to_ascii(), "example.com.");
    }

    #[test]
    fn rejects_cname_at_apex() {
        let errors = compile(&format!("{HEAD}@ CNAME elsewhere.net.\n")).unwrap_err();
        assert_eq!(errors, vec!["zones/example.com.zone:5: CNAME at the zone apex example.com. is illegal (use an alias record)"]);
    }

    #[test]
    fn rejects_cname_beside_other_data_either_order() {
        let errors = compile(&format!("{HEAD}www A 192.0.2.1\nwww CNAME other\nmail CNAME other\nmail TXT \"x\"\n")).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("zones/example.com.zone:6: CNAME at www.example.com. beside A"), "{errors:?}");
        assert!(errors[1].starts_with("zones/example.com.zone:8: CNAME at mail.example.com. beside TXT"), "{errors:?}");
    }

    #[test]
    fn rejects_out_of_zone_records_and_missing_soa() {
        let errors = compile(&format!("{HEAD}www.example.net. A 192.0.2.1\n")).unwrap_err();
        assert_eq!(errors, vec!["zones/example.com.zone:5: www.example.net. is outside the zone example.com."]);
        let errors = compile("$TTL 60\nwww A 192.0.2.1\n").unwrap_err();
        assert_eq!(
            errors,
            vec![
                "zones/example.com.zone: no SOA record: a zone needs exactly one, at its apex, in its master file or from a \
             delegation set (delegation_set = \"<name>\" in <zone>.routes.toml)"
            ]
        );
    }

    #[test]
    fn rejects_ns_at_wildcard_and_missing_apex_ns() {
        let errors = compile(&format!("{HEAD}* NS ns1\n")).unwrap_err();
        assert_eq!(errors, vec!["zones/example.com.zone:5: NS records at the wildcard *.example.com."]);
        let errors = compile("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n").unwrap_err();
        assert_eq!(errors, vec!["zones/example.com.zone: the apex example.com. has no NS records (write them, or take them from a delegation set)"]);
    }

    #[test]
    fn rejects_duplicate_zones() {
        let text = HEAD.to_string();
        let sources = [SourceFile { path: "a/example.com.zone".into(), text: text.clone() }, SourceFile { path: "b/example.com.zone".into(), text }];
        let errors = compile_all(&sources).unwrap_err();
        assert_eq!(errors[0].to_string(), "b/example.com.zone: zone example.com. is already defined in a/example.com.zone");
    }

    #[test]
    fn syntax_errors_carry_file_and_line() {
        let errors = compile(&format!("{HEAD}www A 999.1.1.1\n")).unwrap_err();
        assert!(errors[0].starts_with("zones/example.com.zone:5:"), "{errors:?}");
    }

    #[test]
    fn rejects_unservable_records_and_apexes() {
        let errors = compile(&format!("{HEAD}@ CAA 0 iss-ue \"x\"\nx TYPE24 \\# 16 20010db8000000000000000000000053\n")).unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("zones/example.com.zone:5: example.com.: CAA data")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("zones/example.com.zone:6: x.example.com.: SIG records")), "{errors:?}");
        let apex =
            compile_file(&SourceFile { path: "zone.txt".into(), text: "$ORIGIN a#b.\n@ 60 SOA ns1 host 1 2 3 4 5\n@ 60 NS ns1\nns1 60 A 192.0.2.1\n".into() });
        assert!(apex.unwrap_err().iter().any(|e| e.to_string().contains("is not a host name")));
    }

    const SETS: &str = "# shared name servers\n[delegation_sets.main]\nname_servers = [\"ns1.dns.test.\", \"ns2.dns.test.\"]\n\
                        soa = { contact = \"hostmaster@dns.test\", negative_ttl = 600, ttl = 900 }\n\
                        [delegation_sets.fixed]\nname_servers = [\"a.dns.test.\", \"b.dns.test.\"]\nns_ttl = 3600\nsoa = { serial = 42 }\n";

    fn compile_sources(files: &[(&str, &str)]) -> Result<Catalog, Vec<String>> {
        let sources: Vec<SourceFile> = files.iter().map(|(path, text)| SourceFile { path: (*path).into(), text: (*text).into() }).collect();
        compile_all(&sources).map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    fn apex_records(catalog: &Catalog, apex: &str, record_type: RecordType) -> Vec<String> {
        let apex = Name::from_ascii(apex).unwrap();
        let zone = catalog.find(&apex).unwrap();
        zone.node(&apex).and_then(|node| node.rrset(record_type).map(|set| set.records.iter().map(ToString::to_string).collect())).unwrap_or_default()
    }

    fn soa_of(catalog: &Catalog, apex: &str) -> hickory_proto::rr::rdata::SOA {
        let apex = Name::from_ascii(apex).unwrap();
        let RData::SOA(soa) = &catalog.find(&apex).unwrap().soa().data else { panic!("no SOA") };
        soa.clone()
    }

    #[test]
    fn a_delegation_set_generates_the_apex_soa_and_ns() {
        let catalog = compile_sources(&[
            ("sets/delegation-sets.toml", SETS),
            ("zones/example.net.zone", "$TTL 300\nwww A 192.0.2.1\n"),
            ("zones/example.net.routes.toml", "delegation_set = \"main\"\n"),
        ])
        .unwrap();
        assert_eq!(
            apex_records(&catalog, "example.net.", RecordType::NS),
            ["example.net. 172800 IN NS ns1.dns.test.", "example.net. 172800 IN NS ns2.dns.test.",]
        );
        let soa = soa_of(&catalog, "example.net.");
        assert_eq!((soa.mname.to_ascii(), soa.rname.to_ascii()), ("ns1.dns.test.".to_owned(), "hostmaster.dns.test.".to_owned()));
        assert_eq!((soa.refresh, soa.retry, soa.expire, soa.minimum), (7200, 900, 1_209_600, 600));
        assert_eq!(catalog.find(&Name::from_ascii("example.net.").unwrap()).unwrap().soa().ttl, 900);
        assert!(soa.serial > 0);
    }

    #[test]
    fn the_derived_serial_follows_content_not_layout() {
        let serial = |zone: &str, routes: &str| {
            let catalog = compile_sources(&[("delegation-sets.toml", SETS), ("example.net.zone", zone), ("example.net.routes.toml", routes)]).unwrap();
            soa_of(&catalog, "example.net.").serial
        };
        let routes = "delegation_set = \"main\"\n";
        let first = serial("www 300 A 192.0.2.1\nmail 300 A 192.0.2.2\n", routes);
        assert_eq!(first, serial("; reordered\nmail 300 A 192.0.2.2\nwww 300 A 192.0.2.1\n", routes));
        assert_ne!(first, serial("www 300 A 192.0.2.1\nmail 300 A 192.0.2.3\n", routes));
        let routed = format!("{routes}[[records]]\nname = \"api\"\ntype = \"A\"\nvalues = [\"192.0.2.9\"]\n");
        assert_ne!(first, serial("www 300 A 192.0.2.1\nmail 300 A 192.0.2.2\n", &routed));
        let fixed = compile_sources(&[
            ("delegation-sets.toml", SETS),
            ("example.net.zone", "www 300 A 192.0.2.1\n"),
            ("example.net.routes.toml", "delegation_set = \"fixed\"\n"),
        ])
        .unwrap();
        assert_eq!(soa_of(&fixed, "example.net.").serial, 42);
        assert_eq!(apex_records(&fixed, "example.net.", RecordType::NS)[0], "example.net. 3600 IN NS a.dns.test.");
    }

    #[test]
    fn the_master_files_own_soa_and_ns_win_but_the_negative_ttl_applies_either_way() {
        let own = "$TTL 3600\n@ SOA ns1.own.test. admin.own.test. 7 1 2 3 1800\n@ NS ns1.own.test.\n@ NS ns2.own.test.\n";
        let catalog = compile_sources(&[
            ("delegation-sets.toml", SETS),
            ("example.net.zone", own),
            ("example.net.routes.toml", "delegation_set = \"main\"\nsoa_negative_ttl = 60\n"),
            ("example.org.zone", "$TTL 3600\n@ SOA ns1.own.test. admin.own.test. 7 1 2 3 1800\n"),
            ("example.org.routes.toml", "delegation_set = \"main\"\n"),
            ("example.com.zone", own.replace("1800", "300").as_str()),
            ("example.com.routes.toml", "soa_negative_ttl = 120\n"),
        ])
        .unwrap();
        assert_eq!(apex_records(&catalog, "example.net.", RecordType::NS), ["example.net. 3600 IN NS ns1.own.test.", "example.net. 3600 IN NS ns2.own.test.",]);
        let soa = soa_of(&catalog, "example.net.");
        assert_eq!((soa.mname.to_ascii(), soa.serial, soa.minimum), ("ns1.own.test.".to_owned(), 7, 60));
        // An own SOA with the set's NS RRset.
        assert_eq!(soa_of(&catalog, "example.org.").serial, 7);
        assert_eq!(apex_records(&catalog, "example.org.", RecordType::NS).len(), 2);
        // Without a delegation set.
        assert_eq!(soa_of(&catalog, "example.com.").minimum, 120);
        assert_eq!(catalog.find(&Name::from_ascii("example.com.").unwrap()).unwrap().negative_soa().ttl, 120);
    }

    #[test]
    fn delegation_set_problems_name_file_and_line() {
        let errors = compile_sources(&[
            ("a/delegation-sets.toml", SETS),
            ("b/delegation-sets.toml", "\n[delegation_sets.main]\nname_servers = [\"x.test.\", \"y.test.\"]\n"),
            ("example.net.zone", "www 300 A 192.0.2.1\n"),
            ("example.net.routes.toml", "\ndelegation_set = \"mian\"\n"),
            ("example.org.zone", "www 300 A 192.0.2.1\n"),
            ("example.org.routes.toml", "delegation_set = \"main\"\nsoa_negative_ttl = 3600\n"),
        ])
        .unwrap_err();
        assert!(errors.contains(&"b/delegation-sets.toml:2: delegation set main is already declared in a/delegation-sets.toml".to_owned()), "{errors:?}");
        assert!(errors.contains(&"example.net.routes.toml:2: unknown delegation set \"mian\" (declared: fixed, main)".to_owned()), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("example.net.zone: no SOA record") && e.contains("delegation set")), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("example.org.routes.toml:2: negative TTL 3600 exceeds the SOA's TTL 900")), "{errors:?}");
        assert!(!errors.iter().any(|e| e.contains("no zone file")), "{errors:?}");
        let errors = compile_sources(&[
            ("delegation-sets.toml", "[delegation_sets.lonely]\nname_servers = [\"ns1.dns.test.\"]\n"),
            ("example.net.zone", "www 300 A 192.0.2.1\n"),
        ])
        .unwrap_err();
        assert_eq!(errors[0], "delegation-sets.toml:2: delegation set lonely: 1 name server(s); a zone needs at least 2 (RFC 1034 §4.1)");
    }

    /// The example.org zone with `routes` beside it, compiled; the errors as text.
    fn compile_routes(routes: &str) -> Result<Catalog, Vec<String>> {
        compile_sources(&[("zones/example.org.zone", HEAD), ("zones/example.org.routes.toml", routes)])
    }

    #[test]
    fn an_alias_loop_through_a_second_weighted_branch_is_refused() {
        // The first branch aliases to a set that ends; only the second comes back.
        let routes = "[[records]]\nname = \"end\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n\n\
                      [[records]]\nname = \"loop\"\ntype = \"A\"\nweighted = [\n  \
                      { weight = 1, alias = \"end\" },\n  { weight = 1, alias = \"loop\" },\n]\n";
        let errors = compile_routes(routes).unwrap_err();
        assert_eq!(errors, ["zones/example.org.routes.toml:6: alias loop: loop.example.org. A -> loop.example.org. A"]);
    }

    #[test]
    fn an_alias_loop_through_a_failover_secondary_is_refused() {
        let routes = "[[records]]\nname = \"x\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n\n\
                      [[records]]\nname = \"a\"\ntype = \"A\"\n\
                      failover = { primary = { alias = \"x\" }, secondary = { alias = \"b\" } }\n\n\
                      [[records]]\nname = \"b\"\ntype = \"A\"\nalias = \"c\"\n\n\
                      [[records]]\nname = \"c\"\ntype = \"A\"\nweighted = [{ weight = 1, alias = \"x\" }, { weight = 0, alias = \"a\" }]\n";
        let errors = compile_routes(routes).unwrap_err();
        assert_eq!(errors, ["zones/example.org.routes.toml:6: alias loop: a.example.org. A -> b.example.org. A -> c.example.org. A -> a.example.org. A"]);
    }

    #[test]
    fn an_alias_loop_through_a_geolocation_default_is_refused() {
        let routes = "[[records]]\nname = \"x\"\ntype = \"AAAA\"\nvalues = [\"2001:db8::1\"]\n\n\
                      [[records]]\nname = \"geo\"\ntype = \"AAAA\"\ngeolocation = [\n  \
                      { location = \"US\", alias = \"x\" },\n  { location = \"*\", alias = \"rest\" },\n]\n\n\
                      [[records]]\nname = \"rest\"\ntype = \"AAAA\"\nweighted = [{ weight = 1, alias = \"geo\" }]\n";
        let errors = compile_routes(routes).unwrap_err();
        assert_eq!(errors, ["zones/example.org.routes.toml:6: alias loop: geo.example.org. AAAA -> rest.example.org. AAAA -> geo.example.org. AAAA"]);
    }

    #[test]
    fn aliases_that_meet_without_a_loop_compile() {
        // A diamond: two branches reach the same set; an alias of another type is another set.
        let routes = "[[records]]\nname = \"end\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n\n\
                      [[records]]\nname = \"mid\"\ntype = \"A\"\nweighted = [{ weight = 1, alias = \"end\" }, { weight = 1, alias = \"end\" }]\n\n\
                      [[records]]\nname = \"top\"\ntype = \"A\"\nfailover = { primary = { alias = \"mid\" }, secondary = { alias = \"end\" } }\n\n\
                      [[records]]\nname = \"end\"\ntype = \"AAAA\"\nalias = \"top\"\n\n\
                      [[records]]\nname = \"top\"\ntype = \"AAAA\"\nvalues = [\"2001:db8::1\"]\n";
        compile_routes(routes).unwrap();
    }

    #[test]
    fn aliases_that_fan_out_past_the_evaluation_budget_are_refused() {
        // Four sets, each with six branches aliasing the next (evaluating its health): no loop,
        // but 6^4 paths for one answer. Three sets deep it fits.
        let chain = |depth: usize| {
            let mut routes = String::new();
            for level in 0..depth {
                let branches = vec![format!("{{ weight = 1, alias = \"s{}\", evaluate_target_health = true }}", level + 1); 6];
                routes.push_str(&format!("[[records]]\nname = \"s{level}\"\ntype = \"A\"\nweighted = [{}]\n\n", branches.join(", ")));
            }
            routes.push_str(&format!("[[records]]\nname = \"s{depth}\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n"));
            compile_routes(&routes)
        };
        assert!(chain(3).is_ok());
        let errors = chain(4).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("zones/example.org.routes.toml:1: s0.example.org. A: answering may visit up to 3729 policy nodes, over the budget of 1000"),
            "{errors:?}"
        );
    }

    #[test]
    fn trees_deeper_than_the_engine_follows_are_refused() {
        // a0 -> a1 -> ... -> aN (values): one level per alias. Eight levels are followed; a
        // ninth would make every answer SERVFAIL, so it is refused.
        let chain = |links: usize| {
            let mut routes = String::new();
            for level in 0..links {
                routes.push_str(&format!("[[records]]\nname = \"a{level}\"\ntype = \"A\"\nalias = \"a{}\"\n\n", level + 1));
            }
            routes.push_str(&format!("[[records]]\nname = \"a{links}\"\ntype = \"A\"\nvalues = [\"192.0.2.1\"]\n"));
            compile_routes(&routes)
        };
        assert!(chain(policy::MAX_ALIAS_DEPTH).is_ok());
        let errors = chain(policy::MAX_ALIAS_DEPTH + 1).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0],
            "zones/example.org.routes.toml:1: a0.example.org. A: the policy nests more than 8 levels (rules inside rules and aliases into routed sets), \
             deeper than the engine follows: flatten the tree"
        );
    }

    #[test]
    fn default_origin_comes_from_the_file_name() {
        assert_eq!(default_origin("zones/example.com.zone").unwrap().to_ascii(), "example.com.");
        assert_eq!(default_origin("x/corp.example.db").unwrap().to_ascii(), "corp.example.");
    }
}
