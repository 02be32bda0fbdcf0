//! Import of an octoDNS zone file (the YAML its `YamlProvider` reads: one key per record
//! name, `''` for the apex, each holding a record or a list of records) into this project's
//! two files: the master file (`<zone>.zone`) for plain records and the routes file
//! (`<zone>.routes.toml`) for `dynamic` records, their health checks and their subnets.
//!
//! Native only: the YAML reader ([`saphyr`]) is not part of the Worker.
//!
//! # Mapping
//!
//! | octoDNS | here |
//! |---|---|
//! | `A`, `AAAA`, `CNAME`, `MX`, `TXT`, `SRV`, `CAA`, `NS`, `PTR`, `SSHFP`, `NAPTR`, `TLSA`, `DS`, `SVCB`, `HTTPS` | master-file records (names made absolute) |
//! | `ttl` (default 3600, octoDNS's) | the TTL |
//! | TXT `\;` and other `\` escapes, values already split into `"…" "…"` | the unescaped text, in strings of at most 255 octets |
//! | `ALIAS` at the apex, to a name in the zone | `alias` entries for the A and AAAA sets the target has |
//! | `dynamic` on A, AAAA, CNAME | one `[[records]]` entry |
//! | `rules`, in order | a `cidr` node for the rules' `subnets`, whose `*` is a `geolocation` node for their `geos`, whose `*` is the catch-all rule |
//! | a geo `AF` / `EU-FR` / `NA-US-CA` | `location = "AF"` / `"FR"` / `"US-CA"` (countries that share a continent code written `country:NA`, as the reader reads them) |
//! | `subnets` | `[cidr_collections."<name>/<type>"]`, one location `rule-<n>` per rule |
//! | `pools.<id>` | a `weighted` node labelled `<id>`, one child per value (`weight`, default 1) |
//! | `fallback: <id>` | `failover` with the pool as primary and the fallback pool's tree as secondary |
//! | the last pool of a chain | `failover` to the record's `values` (octoDNS's default pool, not health checked) |
//! | `status: obey` (default) | `health_check` on the value: octoDNS checks `https://<value>/_dns` |
//! | `status: up` / `status: down` | `force = "up"` / `force = "down"` (no check) |
//! | `octodns.healthcheck` `host`, `path`, `port`, `protocol` (HTTP, HTTPS, TCP) | `[health_checks.<value>]` `host_header`, `path`, `port`, `type` |
//!
//! octoDNS takes the first rule that matches; this engine takes the longest matching subnet,
//! then the most specific matching location. The two agree on every file octoDNS's own
//! validation accepts (subnet rules first, no location after one that contains it, the
//! catch-all last); where a file breaks those rules, the rule octoDNS would never reach is
//! dropped and reported, and an order that would answer differently is reported as lossy.
//! A rule with both `subnets` and `geos` matches a client in either (as octoDNS's documented
//! precedence reads: subnet rules, then subnet-and-geo rules, then geo rules).
//!
//! # Not imported (each one reported)
//!
//! Provider-specific `octodns:` settings (`route53`, `ns1`, `cloudflare`, ...), `ignored`
//! records, the pre-dynamic `geo` form, `ALIAS` to names outside the zone, record types the
//! master-file reader does not read (`LOC`, `URLFWD`, `DNAME`, `SPF`), geo codes this project
//! does not know, the ICMP health-check protocol (its values count as healthy), unreachable rules,
//! and any key this importer does not know. A health-check protocol octoDNS does not know, or
//! a value or `path` that is not a host or a path, is an error or a reported check that cannot
//! run here (see `crate::health::spec`).
//!
//! Malformed YAML, or a value of the wrong type, is an [`ImportError`] naming the place and
//! its line (`www.dynamic.pools.one.values[2].weight: expected an integer, found "x" (line 14,
//! column 19)`); no input panics.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use super::bind::character_string;
use super::route53::{check_value, CheckIn, Collections};
use super::text::{absolute, master_value};
use super::tree::{geolocation, Act, Entry, GeoKey, Node, Selector};
use super::yaml::{self, At};
use super::{FindingKind, ImportError, ImportOptions, Imported, Importer, MasterRecord, Source};
use crate::geo::places;
use crate::health::spec::{CheckKind, HealthCheckSpec, Host, Path};
use crate::policy::MAX_ALIAS_DEPTH;

/// octoDNS's default TTL (its `YamlProvider` `default_ttl`).
const DEFAULT_TTL: u32 = 3600;

/// The longest TTL (RFC 2181 §8).
const MAX_TTL: i64 = 0x7fff_ffff;

/// octoDNS's continent codes.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Choices an operator makes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Do not declare the health checks octoDNS would create for dynamic values
    /// (`https://<value>/_dns` unless `octodns.healthcheck` says otherwise): values with
    /// `status: obey` then count as always healthy (reported). Off by default.
    pub without_health_checks: bool,
}

/// Imports the octoDNS zone file `yaml` for `zone` (record names in the file are relative
/// to it).
pub fn import(zone: &Name, yaml: &str, options: &Options) -> Result<Imported, ImportError> {
    let mut importer = Importer::new(zone, ImportOptions::default())?;
    importer.source = Source::Octodns;
    importer.had_record_sets = true;
    let mut run =
        Run { importer, options: options.clone(), checks: BTreeMap::new(), collections: Collections::new(), aliases: Vec::new(), known: HashMap::new() };
    if let Some(document) = yaml::parse(yaml)? {
        let root = At::root(&document);
        for (name, value) in root.entries()? {
            run.name(&name, &value)?;
        }
    }
    run.aliases();
    let Run { mut importer, checks, collections, .. } = run;
    importer.health_checks = Some(checks);
    importer.collections = Some(collections);
    Ok(importer.finish())
}

/// One import in progress.
struct Run {
    importer: Importer,
    options: Options,
    /// Health checks by id, as they will be declared.
    checks: BTreeMap<String, CheckIn>,
    collections: Collections,
    /// Apex ALIAS records: target and subject; resolved once every record is read.
    aliases: Vec<(Name, String)>,
    /// Health-check ids handed out, by the check's declaration (one check per target and
    /// settings, shared by every value and record that uses it).
    known: HashMap<String, String>,
}

/// How a pool value's health is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Obey,
    Up,
    Down,
}

struct PoolValue {
    /// Master-file syntax.
    value: String,
    /// As written, for labels and health-check targets.
    raw: String,
    weight: u8,
    status: Status,
}

struct Pool {
    values: Vec<PoolValue>,
    /// The fallback pool, once undefined and looping fallbacks are cut.
    fallback: Option<String>,
}

struct RuleIn<'a> {
    /// 1-based, as octoDNS numbers rules in its messages.
    number: usize,
    pool: String,
    geos: Vec<(String, At<'a>)>,
    subnets: Vec<(String, At<'a>)>,
    /// Keys it does not know (reported).
    unknown: Vec<String>,
}

/// A record's content problem: the record is reported and skipped.
type Content<T> = Result<T, String>;

impl Run {
    fn ctx(&mut self) -> &mut super::tree::Ctx {
        &mut self.importer.ctx
    }

    fn report(&mut self, kind: FindingKind, subject: impl Into<String>, message: impl Into<String>) {
        self.importer.ctx.report(kind, subject, message);
    }

    /// One top-level key: a record or a list of records at one name.
    fn name(&mut self, name: &str, value: &At<'_>) -> Result<(), ImportError> {
        let zone = self.importer.ctx.zone.clone();
        let owner = if name.is_empty() {
            Ok(zone.clone())
        } else if name.ends_with('.') {
            Err(format!("record names are relative to the zone; {name:?} ends with a dot"))
        } else {
            Name::parse(&name.to_ascii_lowercase(), Some(&zone)).map_err(|e| format!("bad name {name:?}: {e}"))
        };
        let records = value.one_or_many()?;
        let owner = match owner {
            Ok(owner) => owner,
            Err(why) => {
                self.report(FindingKind::Skipped, format!("{name:?}"), why);
                return Ok(());
            }
        };
        for record in records {
            if !record.is_mapping() {
                return Err(record.error(format!("expected a record (a mapping with type and value or values), found {}", record.kind())));
            }
            self.record(&owner, &record)?;
        }
        Ok(())
    }

    fn record(&mut self, owner: &Name, at: &At<'_>) -> Result<(), ImportError> {
        let type_text = at.required("type")?.text()?.to_ascii_uppercase();
        let subject = format!("{} {type_text}", absolute(owner));
        for key in at.keys() {
            if !matches!(key.as_str(), "type" | "ttl" | "value" | "values" | "dynamic" | "octodns" | "geo") {
                self.report(FindingKind::Lossy, subject.clone(), format!("key {key} is not imported"));
            }
        }
        let healthcheck = match at.get("octodns") {
            Some(settings) => match self.settings(&settings, &subject)? {
                Some(healthcheck) => healthcheck,
                None => return Ok(()),
            },
            None => None,
        };
        if at.get("geo").is_some() {
            self.report(
                FindingKind::Lossy,
                subject.clone(),
                "geo (octoDNS's pre-dynamic GeoDNS) is not imported: its values answer every client; convert it to dynamic",
            );
        }
        let ttl = match at.opt_int("ttl")? {
            None => DEFAULT_TTL,
            Some(ttl) => match u32::try_from(ttl) {
                Ok(ttl) if i64::from(ttl) <= MAX_TTL => ttl,
                _ => {
                    self.report(FindingKind::Skipped, subject, format!("TTL {ttl} is outside 0..2147483647"));
                    return Ok(());
                }
            },
        };
        let Some(record_type) = record_type(&type_text) else {
            let why = match type_text.as_str() {
                "SPF" => "SPF records (type 99) are obsolete (RFC 7208 §3.1): publish the policy as TXT".to_owned(),
                "LOC" | "URLFWD" | "DNAME" => format!("{type_text} records are not served here"),
                _ => format!("record type {type_text:?} is not one this project serves"),
            };
            self.report(FindingKind::Skipped, subject, why);
            return Ok(());
        };
        let raw_values = match (at.get("values"), at.get("value")) {
            (Some(values), Some(_)) => {
                self.report(FindingKind::Note, subject.clone(), "both value and values: values is used");
                values.one_or_many()?
            }
            (Some(values), None) | (None, Some(values)) => values.one_or_many()?,
            (None, None) => Vec::new(),
        };
        let zone = self.importer.ctx.zone.clone();
        let mut values = Vec::new();
        for raw in &raw_values {
            match value(record_type, raw, &zone)? {
                Ok(value) => values.push(value),
                Err(why) => {
                    self.report(FindingKind::Skipped, subject, why);
                    return Ok(());
                }
            }
        }
        if record_type == RecordType::ANAME {
            return self.alias(owner, values, &subject);
        }
        if let Some(dynamic) = at.get("dynamic") {
            if !matches!(record_type, RecordType::A | RecordType::AAAA | RecordType::CNAME) {
                self.report(FindingKind::Skipped, subject, format!("dynamic {record_type} records: octoDNS supports dynamic A, AAAA and CNAME"));
                return Ok(());
            }
            if record_type == RecordType::CNAME && *owner == zone {
                self.report(FindingKind::Skipped, subject, "a CNAME cannot stand at the zone apex");
                return Ok(());
            }
            return self.dynamic(owner, record_type, ttl, values, &dynamic, healthcheck.as_ref(), &subject);
        }
        if values.is_empty() {
            self.report(FindingKind::Skipped, subject, "no value or values");
            return Ok(());
        }
        if record_type == RecordType::CNAME && values.len() > 1 {
            self.report(FindingKind::Skipped, subject, "a CNAME has exactly one value");
            return Ok(());
        }
        for value in values {
            self.importer.master.push(MasterRecord { owner: owner.clone(), ttl, record_type, value });
        }
        Ok(())
    }

    /// The `octodns:` settings of a record: `Ok(None)` when the record is not to be imported
    /// (`ignored`), else its health-check settings, if any.
    fn settings<'a>(&mut self, settings: &At<'a>, subject: &str) -> Result<Option<Option<At<'a>>>, ImportError> {
        let mut healthcheck = None;
        for (key, value) in settings.entries()? {
            match key.as_str() {
                "healthcheck" => healthcheck = Some(value),
                "ignored" => {
                    if value.bool()? {
                        self.report(
                            FindingKind::Skipped,
                            subject,
                            "octodns.ignored: octoDNS leaves this record alone, so it is not part of the zone it manages",
                        );
                        return Ok(None);
                    }
                }
                "included" | "excluded" => {
                    value.list()?;
                    self.report(FindingKind::Note, subject, format!("octodns.{key}: the provider filter does not apply here; the record is imported"));
                }
                "lenient" => {
                    value.bool()?;
                }
                other => self.report(FindingKind::Lossy, subject, format!("octodns.{other}: provider-specific settings are not imported")),
            }
        }
        Ok(Some(healthcheck))
    }

    /// An apex ALIAS, resolved when every record is read.
    fn alias(&mut self, owner: &Name, values: Vec<String>, subject: &str) -> Result<(), ImportError> {
        let zone = self.importer.ctx.zone.clone();
        if *owner != zone {
            self.report(FindingKind::Skipped, subject, "octoDNS allows ALIAS only at the zone apex");
            return Ok(());
        }
        let [target] = values.as_slice() else {
            self.report(FindingKind::Skipped, subject, "an ALIAS has exactly one value");
            return Ok(());
        };
        match Name::from_ascii(target) {
            Ok(target) => self.aliases.push((target.to_lowercase(), subject.to_owned())),
            Err(e) => self.report(FindingKind::Skipped, subject, format!("bad alias target {target:?}: {e}")),
        }
        Ok(())
    }

    /// Apex ALIASes to names in the zone become alias entries for the types the target has.
    fn aliases(&mut self) {
        let zone = self.importer.ctx.zone.clone();
        for (target, subject) in std::mem::take(&mut self.aliases) {
            if !zone.zone_of(&target) {
                self.report(
                    FindingKind::Skipped,
                    subject,
                    format!(
                        "ALIAS to {}: aliases here answer from the zones this edge serves; a name elsewhere would have to be resolved at query time",
                        absolute(&target)
                    ),
                );
                continue;
            }
            let mut made = 0;
            for record_type in [RecordType::A, RecordType::AAAA] {
                let present = self.importer.master.iter().any(|r| r.owner == target && r.record_type == record_type)
                    || self.importer.entries.iter().any(|e| e.owner == target && e.record_type == record_type);
                if present {
                    made += 1;
                    self.importer.entries.push(Entry {
                        owner: zone.clone(),
                        record_type,
                        ttl: None,
                        origin: format!("octoDNS: {subject} {}", absolute(&target)),
                        root: Node::leaf(None, None, Act::Alias { target: target.clone(), evaluate_target_health: false }),
                    });
                }
            }
            if made == 0 {
                self.report(FindingKind::Skipped, subject, format!("ALIAS to {}: the target has no A or AAAA records in the file", absolute(&target)));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dynamic(
        &mut self,
        owner: &Name,
        record_type: RecordType,
        ttl: u32,
        values: Vec<String>,
        dynamic: &At<'_>,
        healthcheck: Option<&At<'_>>,
        subject: &str,
    ) -> Result<(), ImportError> {
        for key in dynamic.keys() {
            if !matches!(key.as_str(), "pools" | "rules") {
                self.report(FindingKind::Lossy, subject, format!("dynamic.{key} is not imported"));
            }
        }
        let zone = self.importer.ctx.zone.clone();
        let pools_at = dynamic.required("pools")?;
        let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
        for (id, pool_at) in pools_at.entries()? {
            match self.pool(&pool_at, record_type, &zone)? {
                Ok(pool) => {
                    pools.insert(id, pool);
                }
                Err(why) => {
                    self.report(FindingKind::Skipped, subject, format!("pool {id}: {why}"));
                    return Ok(());
                }
            }
        }
        if pools.is_empty() {
            return Err(pools_at.error("a dynamic record needs at least one pool"));
        }
        self.cut_fallbacks(&mut pools, subject);
        let rules_at = dynamic.required("rules")?;
        let mut rules = Vec::new();
        for (index, rule_at) in rules_at.list()?.into_iter().enumerate() {
            rules.push(rule(index + 1, rule_at)?);
        }
        if rules.is_empty() {
            return Err(rules_at.error("a dynamic record needs at least one rule"));
        }

        let checks = match (self.options.without_health_checks, healthcheck) {
            (true, _) => {
                self.report(FindingKind::Lossy, subject, "health checks not declared (as asked): values with status obey count as always healthy");
                None
            }
            (false, settings) => Some(check_settings(settings)?),
        };
        for key in checks.iter().flat_map(|c| c.unknown.iter()) {
            self.report(FindingKind::Lossy, subject, format!("octodns.healthcheck.{key} is not imported (host, path, port, protocol are)"));
        }
        let default = if values.is_empty() {
            self.report(FindingKind::Note, subject, "no values (octoDNS's default pool): when every pool of a chain is down, its last pool answers anyway");
            None
        } else {
            Some(Node::leaf(Some("values".to_owned()), None, Act::Values(values)))
        };
        let mut builder =
            TreeBuilder { pools: &pools, default, checks: checks.as_ref(), known: std::mem::take(&mut self.known), ids: Vec::new(), max_chain: 0, cut: None };

        // Rules in order: what octoDNS would reach, mapped to subnet and location choices.
        let mut catch_all: Option<String> = None;
        let mut seen_geos: Vec<(String, usize)> = Vec::new();
        let mut seen_subnets: Vec<(IpNet, usize)> = Vec::new();
        let mut located: Vec<(GeoKey, String)> = Vec::new();
        let mut networks: Vec<(usize, String, Vec<IpNet>)> = Vec::new();
        let mut first_geo_rule: Option<usize> = None;
        let mut order_reported = false;
        let mut both_noted = false;
        for rule in &rules {
            let rule_subject = format!("{subject} rule {}", rule.number);
            for key in &rule.unknown {
                self.report(FindingKind::Lossy, rule_subject.clone(), format!("key {key} is not imported"));
            }
            if let Some(first) = &catch_all {
                self.report(FindingKind::Skipped, rule_subject, format!("after the catch-all rule (pool {first}): octoDNS never reaches it"));
                continue;
            }
            if !pools.contains_key(&rule.pool) {
                self.report(FindingKind::Skipped, rule_subject, format!("undefined pool {:?}", rule.pool));
                continue;
            }
            if rule.geos.is_empty() && rule.subnets.is_empty() {
                catch_all = Some(rule.pool.clone());
                continue;
            }
            if !rule.geos.is_empty() && !rule.subnets.is_empty() && !both_noted {
                both_noted = true;
                self.report(FindingKind::Note, rule_subject.clone(), "a rule with subnets and geos matches a client in either");
            }
            let mut nets = Vec::new();
            for (text, at) in &rule.subnets {
                let net = match text.parse::<IpNet>() {
                    Ok(net) if net.trunc() == net => net,
                    Ok(net) => {
                        self.report(
                            FindingKind::Skipped,
                            rule_subject.clone(),
                            format!("subnet {net} has host bits set (did you mean {}?) ({})", net.trunc(), line_of(at)),
                        );
                        continue;
                    }
                    Err(_) => {
                        self.report(FindingKind::Skipped, rule_subject.clone(), format!("{text:?} is not a subnet (address/prefix) ({})", line_of(at)));
                        continue;
                    }
                };
                if let Some((earlier, number)) = seen_subnets.iter().find(|(earlier, _)| earlier.contains(&net)) {
                    self.report(
                        FindingKind::Skipped,
                        rule_subject.clone(),
                        format!("subnet {net}: rule {number} already matches {earlier} (octoDNS takes the first matching rule)"),
                    );
                    continue;
                }
                nets.push(net);
            }
            for net in &nets {
                seen_subnets.push((*net, rule.number));
            }
            if !nets.is_empty() {
                if let (Some(geo_rule), false) = (first_geo_rule, order_reported) {
                    order_reported = true;
                    self.report(
                        FindingKind::Lossy,
                        rule_subject.clone(),
                        format!("subnets after the geos of rule {geo_rule}: here subnets are matched before locations (octoDNS's documented order), so a client in both gets this rule"),
                    );
                }
                networks.push((rule.number, rule.pool.clone(), nets));
            }
            let mut kept_geo = false;
            for (text, at) in &rule.geos {
                let code = text.trim().to_ascii_uppercase();
                let key = match geo_key(&code) {
                    Ok(key) => key,
                    Err(why) => {
                        self.report(FindingKind::Skipped, rule_subject.clone(), format!("geo {text:?}: {why} ({})", line_of(at)));
                        continue;
                    }
                };
                if let Some((earlier, number)) = seen_geos.iter().find(|(earlier, _)| code == *earlier || code.starts_with(&format!("{earlier}-"))) {
                    if *number != rule.number {
                        self.report(
                            FindingKind::Skipped,
                            rule_subject.clone(),
                            format!("geo {code}: rule {number} already matches {earlier} (octoDNS takes the first matching rule)"),
                        );
                        continue;
                    }
                }
                if let GeoKey::Country(country) | GeoKey::Subdivision(country, _) = &key {
                    let continent = code.split('-').next().unwrap_or_default();
                    if let Some(actual) = places::continent_of(country).filter(|actual| *actual != continent) {
                        self.report(FindingKind::Note, rule_subject.clone(), format!("geo {code}: {country} is in {actual} here; matched as the country"));
                    }
                }
                seen_geos.push((code, rule.number));
                located.push((key, rule.pool.clone()));
                kept_geo = true;
            }
            if kept_geo {
                first_geo_rule.get_or_insert(rule.number);
            }
            if !kept_geo && networks.last().is_none_or(|(number, _, _)| *number != rule.number) {
                self.report(FindingKind::Skipped, rule_subject, "nothing is left of this rule to match a client with");
            }
        }
        let used: Vec<&String> = located.iter().map(|(_, pool)| pool).chain(networks.iter().map(|(_, pool, _)| pool)).chain(catch_all.iter()).collect();
        for id in pools.keys() {
            let reached = used.contains(&id) || pools.values().any(|p| p.fallback.as_ref() == Some(id));
            if !reached {
                self.report(FindingKind::Note, subject, format!("pool {id} is not used by any rule"));
            }
        }

        // The engine decides nodes down to depth MAX_ALIAS_DEPTH (nine levels); one is kept for
        // an alias to this record, one each for the subnet and location nodes, and a pool
        // takes one level (its failover) plus two at the end (weighted value, leaf).
        let prefix = usize::from(!networks.is_empty()) + usize::from(!located.is_empty());
        builder.max_chain = MAX_ALIAS_DEPTH.saturating_sub(2 + prefix).max(1);
        let everyone = match &catch_all {
            Some(pool) => builder.pool(pool),
            None => {
                self.report(FindingKind::Note, subject, "no catch-all rule: clients no rule matches get the values (octoDNS's default pool)");
                builder.default.clone()
            }
        };
        let located_node = if located.is_empty() {
            everyone
        } else {
            let mut children: Vec<(GeoKey, Node)> =
                located.iter().map(|(key, pool)| (key.clone(), builder.pool(pool).unwrap_or_else(unreachable_leaf))).collect();
            if let Some(node) = everyone {
                children.push((GeoKey::Default, node));
            }
            let list = geolocation(children, subject, self.ctx());
            (!list.is_empty()).then(|| Node::leaf(None, None, Act::Geolocation(list)))
        };
        let root = if networks.is_empty() {
            located_node
        } else {
            let collection = format!("{}/{record_type}", absolute(owner).trim_end_matches('.'));
            let mut children = Vec::new();
            let mut locations = BTreeMap::new();
            for (number, pool, nets) in networks {
                let location = format!("rule-{number}");
                if let Some(node) = builder.pool(&pool) {
                    children.push(node.with_selector(Selector::Cidr { collection: collection.clone(), location: location.clone() }));
                    locations.insert(location, nets);
                }
            }
            if let Some(node) = located_node {
                children.push(node.with_selector(Selector::Cidr { collection: collection.clone(), location: "*".to_owned() }));
            }
            self.collections.insert(collection.clone(), locations);
            Some(Node::leaf(None, None, Act::Cidr { collection, children }))
        };
        self.known = builder.known;
        if let Some(pool) = builder.cut {
            self.report(
                FindingKind::Lossy,
                subject,
                format!("fallback chains are followed for {} pools here (the engine evaluates nine levels of a policy); pool {pool} falls back to the values instead", builder.max_chain),
            );
        }
        let Some(root) = root else {
            self.report(FindingKind::Skipped, subject, "nothing is left of the dynamic record");
            return Ok(());
        };
        for (id, check) in builder.ids {
            self.checks.entry(id).or_insert(check);
        }
        self.importer.entries.push(Entry {
            owner: owner.clone(),
            record_type,
            ttl: Some(ttl),
            origin: format!("octoDNS: {subject}, dynamic ({} pools, {} rules)", pools.len(), rules.len()),
            root,
        });
        Ok(())
    }

    /// One pool: its values (checked), weights and statuses, and its fallback as written.
    fn pool(&mut self, at: &At<'_>, record_type: RecordType, zone: &Name) -> Result<Content<Pool>, ImportError> {
        let fallback = match at.opt_text("fallback")? {
            None | Some("default") => None,
            Some(id) => Some(id.to_owned()),
        };
        for key in at.keys() {
            if !matches!(key.as_str(), "values" | "fallback") {
                return Ok(Err(format!("key {key} is not imported")));
            }
        }
        let mut values = Vec::new();
        for value_at in at.required("values")?.list()? {
            if !value_at.is_mapping() {
                return Err(value_at.error(format!("expected a pool value (a mapping with value, weight, status), found {}", value_at.kind())));
            }
            let raw_at = value_at.required("value")?;
            let raw = raw_at.text()?.to_owned();
            let value = match value(record_type, &raw_at, zone)? {
                Ok(value) => value,
                Err(why) => return Ok(Err(why)),
            };
            let weight = match value_at.get("weight") {
                None => 1,
                Some(weight_at) => match weight_at.int()? {
                    weight @ 1..=100 => u8::try_from(weight).unwrap_or(1),
                    weight => return Ok(Err(format!("weight {weight} is outside 1..100 (octoDNS's range) ({})", line_of(&weight_at)))),
                },
            };
            let status = match value_at.opt_text("status")? {
                None | Some("obey") => Status::Obey,
                Some("up") => Status::Up,
                Some("down") => Status::Down,
                Some(other) => {
                    let status_at = value_at.required("status")?;
                    return Err(status_at.error(format!("expected up, down or obey, found {other:?}")));
                }
            };
            values.push(PoolValue { value, raw, weight, status });
        }
        if values.is_empty() {
            return Ok(Err("a pool needs at least one value".to_owned()));
        }
        Ok(Ok(Pool { values, fallback }))
    }

    /// Fallbacks to undefined pools, and the fallback that closes a loop, are not followed
    /// (reported once each): the chain then ends at the record's values.
    fn cut_fallbacks(&mut self, pools: &mut BTreeMap<String, Pool>, subject: &str) {
        let ids: Vec<String> = pools.keys().cloned().collect();
        for id in &ids {
            let undefined = pools.get(id).and_then(|p| p.fallback.clone()).filter(|f| !pools.contains_key(f));
            if let Some(target) = undefined {
                self.report(FindingKind::Lossy, subject, format!("pool {id}: undefined fallback {target:?}; it falls back to the values"));
                if let Some(pool) = pools.get_mut(id) {
                    pool.fallback = None;
                }
            }
        }
        for id in &ids {
            let mut chain = vec![id.clone()];
            let mut current = id.clone();
            while let Some(next) = pools.get(&current).and_then(|p| p.fallback.clone()) {
                if chain.contains(&next) {
                    chain.push(next);
                    self.report(
                        FindingKind::Lossy,
                        subject,
                        format!("loop in pool fallbacks {}: {current} falls back to the values instead", chain.join(" -> ")),
                    );
                    if let Some(pool) = pools.get_mut(&current) {
                        pool.fallback = None;
                    }
                    break;
                }
                chain.push(next.clone());
                current = next;
            }
        }
    }
}

/// A leaf for a pool that could not be built (cannot happen once rules are checked against
/// the pools; kept so that a logic slip shows as an empty answer, not a panic).
fn unreachable_leaf() -> Node {
    Node::leaf(None, None, Act::Values(Vec::new()))
}

/// Builds pool trees for one record.
struct TreeBuilder<'p> {
    pools: &'p BTreeMap<String, Pool>,
    /// The record's values: the end of every fallback chain.
    default: Option<Node>,
    /// The health-check settings; `None`: no checks.
    checks: Option<&'p CheckSettings>,
    /// Check ids handed out, by declaration (see [`Run::known`]).
    known: HashMap<String, String>,
    /// The checks the trees reference.
    ids: Vec<(String, CheckIn)>,
    /// The most pools one chain follows.
    max_chain: usize,
    /// A pool whose fallback was not followed for that limit.
    cut: Option<String>,
}

impl TreeBuilder<'_> {
    /// A pool's tree: its weighted values, failing over to its fallback's tree, and at the end
    /// of the chain to the record's values. The health checks it references go to `ids`.
    fn pool(&mut self, id: &str) -> Option<Node> {
        self.chain(id, 0)
    }

    fn chain(&mut self, id: &str, depth: usize) -> Option<Node> {
        let pools = self.pools;
        let pool = pools.get(id)?;
        let mut children = Vec::with_capacity(pool.values.len());
        for value in &pool.values {
            let mut node = Node::leaf(Some(value.raw.clone()), None, Act::Values(vec![value.value.clone()])).with_selector(Selector::Weight(value.weight));
            match value.status {
                Status::Up => node.force = Some(true),
                Status::Down => node.force = Some(false),
                Status::Obey => {
                    if let Some(settings) = self.checks {
                        let (check_id, check) = settings.check_for(&value.raw, &mut self.known);
                        self.ids.push((check_id.clone(), check));
                        node.health_check = Some(check_id);
                    }
                }
            }
            children.push(node);
        }
        let weighted = Node::leaf(Some(id.to_owned()), None, Act::Weighted(children));
        // Fallback loops are cut before trees are built; the length bound keeps the tree
        // within what the engine evaluates.
        let next = match &pool.fallback {
            Some(fallback) if depth + 1 < self.max_chain => self.chain(fallback, depth + 1),
            Some(_) => {
                self.cut.get_or_insert_with(|| id.to_owned());
                self.default.clone()
            }
            None => self.default.clone(),
        };
        Some(match next {
            Some(next) => Node::leaf(Some(format!("pool {id}")), None, Act::Failover(Box::new(weighted), Box::new(next))),
            None => weighted,
        })
    }
}

/// `octodns.healthcheck`, with octoDNS's defaults.
struct CheckSettings {
    host: Option<String>,
    path: String,
    port: u16,
    /// The kind, or why a protocol octoDNS knows cannot be checked here.
    protocol: Result<CheckKind, String>,
    /// Keys it does not know (reported).
    unknown: Vec<String>,
}

fn check_settings(at: Option<&At<'_>>) -> Result<CheckSettings, ImportError> {
    let mut settings = CheckSettings { host: None, path: "/_dns".to_owned(), port: 443, protocol: Ok(CheckKind::Https), unknown: Vec::new() };
    let Some(at) = at else { return Ok(settings) };
    for (key, value) in at.entries()? {
        match key.as_str() {
            "host" => settings.host = Some(value.text()?.to_owned()),
            "path" => settings.path = value.text()?.to_owned(),
            "protocol" => {
                settings.protocol = match value.text()?.to_ascii_uppercase().as_str() {
                    "HTTP" => Ok(CheckKind::Http),
                    "HTTPS" => Ok(CheckKind::Https),
                    "TCP" => Ok(CheckKind::Tcp),
                    // NS1's ping check: a Worker cannot send ICMP.
                    "ICMP" => Err("octoDNS health-check protocol ICMP".to_owned()),
                    other => return Err(value.error(format!("unknown health-check protocol {other:?} (octoDNS's are HTTP, HTTPS, TCP, ICMP)"))),
                }
            }
            "port" => {
                let port = value.int()?;
                settings.port = u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| value.error(format!("expected a port (1..65535), found {port}")))?;
            }
            other => settings.unknown.push(other.to_owned()),
        }
    }
    if !settings.path.starts_with('/') {
        settings.path.insert(0, '/');
    }
    Ok(settings)
}

impl CheckSettings {
    /// The check for one value: its id (the value, with a suffix when another check already
    /// has that id; the same id for the same declaration) and its declaration.
    fn check_for(&self, raw: &str, known: &mut HashMap<String, String>) -> (String, CheckIn) {
        let target = raw.trim_end_matches('.').to_owned();
        let refused = |known: &mut HashMap<String, String>, why: String| {
            let id = unique_id(known, format!("{why} {target}"), &target);
            (id, CheckIn { spec: Err(why), notes: Vec::new() })
        };
        let kind = match &self.protocol {
            Ok(kind) => *kind,
            Err(why) => return refused(known, why.clone()),
        };
        // The value probed: a name or an address (an IPv6 one is bracketed when the URL is built).
        let host = match Host::parse(&target) {
            Ok(host) => host,
            Err(error) => return refused(known, error.to_string()),
        };
        let path = match Path::parse(&self.path).map(|path| (kind != CheckKind::Tcp).then_some(path)) {
            Ok(path) => path,
            Err(error) => return refused(known, error.to_string()),
        };
        let spec = HealthCheckSpec {
            host: Some(host),
            port: Some(self.port),
            path,
            host_header: if kind == CheckKind::Tcp { None } else { self.host.clone() },
            ..HealthCheckSpec::new(kind)
        };
        let id = unique_id(known, format!("{spec:?}"), &target);
        (id, CheckIn { spec: Ok(spec), notes: Vec::new() })
    }
}

/// The id for a check declaration `key`: the one it already has, else `base`, or `base-2`,
/// `base-3`... when that is taken by another declaration.
fn unique_id(known: &mut HashMap<String, String>, key: String, base: &str) -> String {
    if let Some(id) = known.get(&key) {
        return id.clone();
    }
    let mut id = base.to_owned();
    let mut n = 2;
    while known.values().any(|taken| *taken == id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    known.insert(key, id.clone());
    id
}

fn rule<'a>(number: usize, at: At<'a>) -> Result<RuleIn<'a>, ImportError> {
    if !at.is_mapping() {
        return Err(at.error(format!("expected a rule (a mapping with pool, geos, subnets), found {}", at.kind())));
    }
    let pool = at.required("pool")?.text()?.to_owned();
    let mut geos = Vec::new();
    let mut subnets = Vec::new();
    let mut unknown = Vec::new();
    for (key, value) in at.entries()? {
        match key.as_str() {
            "pool" => {}
            "geos" => {
                for geo in value.list()? {
                    geos.push((geo.text()?.to_owned(), geo));
                }
            }
            "subnets" => {
                for subnet in value.list()? {
                    subnets.push((subnet.text()?.to_owned(), subnet));
                }
            }
            other => unknown.push(other.to_owned()),
        }
    }
    Ok(RuleIn { number, pool, geos, subnets, unknown })
}

/// An octoDNS geo code: `CC` continent, `CC-XX` country, `CC-XX-YY` subdivision.
fn geo_key(code: &str) -> Result<GeoKey, String> {
    let parts: Vec<&str> = code.split('-').collect();
    let continent = parts.first().copied().unwrap_or_default();
    if !CONTINENTS.contains(&continent) {
        return Err(format!("{continent} is not one of octoDNS's continents ({})", CONTINENTS.join(", ")));
    }
    match parts.as_slice() {
        [continent] => Ok(GeoKey::Continent((*continent).to_owned())),
        [_, country] => Ok(GeoKey::Country((*country).to_owned())),
        [_, country, subdivision] => Ok(GeoKey::Subdivision((*country).to_owned(), (*subdivision).to_owned())),
        _ => Err("a geo is CONTINENT, CONTINENT-COUNTRY or CONTINENT-COUNTRY-SUBDIVISION".to_owned()),
    }
}

fn line_of(at: &At<'_>) -> String {
    let error = at.error("");
    error.message.trim().trim_start_matches('(').trim_end_matches(')').to_owned()
}

/// The record type of an octoDNS `type` (ALIAS is kept as ANAME until it is resolved).
fn record_type(text: &str) -> Option<RecordType> {
    Some(match text {
        "A" => RecordType::A,
        "AAAA" => RecordType::AAAA,
        "ALIAS" => RecordType::ANAME,
        "CAA" => RecordType::CAA,
        "CNAME" => RecordType::CNAME,
        "DS" => RecordType::DS,
        "HTTPS" => RecordType::HTTPS,
        "MX" => RecordType::MX,
        "NAPTR" => RecordType::NAPTR,
        "NS" => RecordType::NS,
        "PTR" => RecordType::PTR,
        "SRV" => RecordType::SRV,
        "SSHFP" => RecordType::SSHFP,
        "SVCB" => RecordType::SVCB,
        "TLSA" => RecordType::TLSA,
        "TXT" => RecordType::TXT,
        _ => return None,
    })
}

/// One octoDNS value in master-file syntax, checked as the master-file reader reads it.
/// Wrong YAML types are errors; content the reader refuses is a [`Content`] problem.
fn value(record_type: RecordType, at: &At<'_>, zone: &Name) -> Result<Content<String>, ImportError> {
    let field = |key: &str| -> Result<At<'_>, ImportError> {
        if !at.is_mapping() {
            return Err(at.error(format!("expected a mapping with {key}, found {}", at.kind())));
        }
        at.required(key)
    };
    let int = |key: &str| -> Result<i64, ImportError> { field(key)?.int() };
    let text = |key: &str| -> Result<String, ImportError> { Ok(field(key)?.text()?.to_owned()) };
    let quoted = |key: &str| -> Result<String, ImportError> { Ok(character_string(field(key)?.text()?.as_bytes())) };
    let value = match record_type {
        RecordType::A | RecordType::AAAA => at.text()?.trim().to_owned(),
        RecordType::CNAME | RecordType::ANAME | RecordType::NS | RecordType::PTR => {
            let name = at.text()?.trim().to_owned();
            if record_type == RecordType::ANAME {
                return Ok(Ok(if name.ends_with('.') { name } else { format!("{name}.") }));
            }
            master_value(record_type, &name)
        }
        RecordType::TXT => txt_value(at.text()?),
        RecordType::MX => {
            let preference = match at.get("preference") {
                Some(_) => int("preference")?,
                None => int("priority")?,
            };
            let exchange = match at.get("exchange") {
                Some(_) => text("exchange")?,
                None => text("value")?,
            };
            master_value(record_type, &format!("{preference} {exchange}"))
        }
        RecordType::SRV => master_value(record_type, &format!("{} {} {} {}", int("priority")?, int("weight")?, int("port")?, text("target")?)),
        RecordType::CAA => {
            let flags = if at.is_mapping() && at.get("flags").is_some() { int("flags")? } else { 0 };
            format!("{flags} {} {}", text("tag")?, quoted("value")?)
        }
        RecordType::SSHFP => format!("{} {} {}", int("algorithm")?, int("fingerprint_type")?, text("fingerprint")?),
        RecordType::TLSA => format!("{} {} {} {}", int("certificate_usage")?, int("selector")?, int("matching_type")?, text("certificate_association_data")?),
        RecordType::NAPTR => master_value(
            record_type,
            &format!("{} {} {} {} {} {}", int("order")?, int("preference")?, quoted("flags")?, quoted("service")?, quoted("regexp")?, text("replacement")?),
        ),
        RecordType::DS => {
            if at.is_mapping() && at.get("key_tag").is_none() && at.get("public_key").is_some() {
                return Ok(Err("a DS in octoDNS's old form (flags, protocol, algorithm, public_key) cannot be read as a DS".to_owned()));
            }
            format!("{} {} {} {}", int("key_tag")?, int("algorithm")?, int("digest_type")?, text("digest")?)
        }
        RecordType::SVCB | RecordType::HTTPS => {
            let mut out = format!("{} {}", int("svcpriority")?, text("targetname")?);
            out = master_value(record_type, &out);
            if let Some(params) = at.get("svcparams") {
                for (key, param) in params.entries()? {
                    let items: Vec<String> = match param.is_list() {
                        true => param.list()?.iter().map(|item| item.text().map(str::to_owned)).collect::<Result<_, _>>()?,
                        false if param.is_null() => Vec::new(),
                        false => vec![param.text()?.to_owned()],
                    };
                    if items.is_empty() {
                        out.push_str(&format!(" {key}"));
                    } else {
                        out.push_str(&format!(" {key}={}", character_string(items.join(",").as_bytes())));
                    }
                }
            }
            out
        }
        _ => return Ok(Err(format!("{record_type} values are not read by this importer"))),
    };
    Ok(check_value(record_type, &value, zone).map(|()| value))
}

/// An octoDNS TXT value as master-file strings: its `\` escapes (`\;` above all, which
/// octoDNS requires for `;`) decoded, a value already split into `"…" "…"` kept in its
/// strings, and strings longer than 255 octets split (RFC 1035 §3.3).
fn txt_value(raw: &str) -> String {
    let trimmed = raw.trim();
    let strings: Vec<Vec<u8>> = if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        let inner = trimmed.get(1..trimmed.len() - 1).unwrap_or_default();
        inner.split("\" \"").map(unescape).collect()
    } else {
        vec![unescape(raw)]
    };
    let mut out = Vec::new();
    for string in strings {
        if string.is_empty() {
            out.push(character_string(&string));
        }
        for chunk in string.chunks(255) {
            out.push(character_string(chunk));
        }
    }
    out.join(" ")
}

/// Decodes `\X` (X itself) and `\DDD` (a decimal octet) escapes; a lone `\` at the end stays.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let digits = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
        let decimal = digits.and_then(|d| u8::try_from(d.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))).ok());
        match (decimal, bytes.get(i + 1)) {
            (Some(octet), _) => {
                out.push(octet);
                i += 4;
            }
            (None, Some(&next)) => {
                out.push(next);
                i += 2;
            }
            (None, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_values() {
        assert_eq!(txt_value("v=DKIM1\\; k=rsa\\; p=abc"), "\"v=DKIM1; k=rsa; p=abc\"");
        assert_eq!(txt_value("\"a\" \"b\""), "\"a\" \"b\"");
        assert_eq!(txt_value("say \"hi\""), "\"say \\\"hi\\\"\"");
        let long = "x".repeat(300);
        assert_eq!(txt_value(&long), format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45)));
        assert_eq!(unescape("a\\065\\"), b"aA\\");
    }

    #[test]
    fn geo_codes() {
        assert_eq!(geo_key("EU").unwrap(), GeoKey::Continent("EU".into()));
        assert_eq!(geo_key("NA-US").unwrap(), GeoKey::Country("US".into()));
        assert_eq!(geo_key("NA-US-CA").unwrap(), GeoKey::Subdivision("US".into(), "CA".into()));
        assert!(geo_key("XX").is_err());
        assert!(geo_key("NA-US-CA-X").is_err());
    }
}
