//! Route 53 record sets (`aws route53 list-resource-record-sets`), health checks
//! (`aws route53 list-health-checks`) and CIDR collections, read into the import's trees.
//!
//! Structural problems (a field of the wrong JSON type, a required field missing) are
//! [`ImportError`]s with their path; anything Route 53 can express that this engine cannot is
//! a [`Finding`](super::Finding) and the rest is imported.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;

use super::json::{self, At};
use super::text::{generic_ds, master_value, route53_name};
use super::tree::{geolocation, Act, Ctx, Entry, GeoKey, Node, Selector};
use super::{External, FindingKind, ImportError, MasterRecord};
use crate::geo::places;
use crate::health::spec::{CheckKind, HealthCheckSpec, Host, Path};
use crate::zone::master;

const KNOWN_FIELDS: [&str; 15] = [
    "Name",
    "Type",
    "SetIdentifier",
    "Weight",
    "Region",
    "GeoLocation",
    "GeoProximityLocation",
    "Failover",
    "MultiValueAnswer",
    "TTL",
    "ResourceRecords",
    "AliasTarget",
    "HealthCheckId",
    "TrafficPolicyInstanceId",
    "CidrRoutingConfig",
];

/// Which routing policy a record set takes part in.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Simple,
    Weighted(u8),
    Failover { primary: bool },
    Geolocation(GeoKey),
    Geoproximity(Selector),
    Latency(String),
    Multivalue,
    Cidr { collection: String, location: String },
}

impl Kind {
    fn policy(&self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Weighted(_) => "weighted",
            Self::Failover { .. } => "failover",
            Self::Geolocation(_) => "geolocation",
            Self::Geoproximity(_) => "geoproximity",
            Self::Latency(_) => "latency",
            Self::Multivalue => "multivalue answer",
            Self::Cidr { .. } => "IP-based",
        }
    }
}

/// What a record set answers.
enum Leaf {
    Action(Act),
    /// An alias to something outside the hosted zone: the DNS name and what it is.
    External(Name, &'static str),
}

struct SetIn {
    owner: Name,
    record_type: RecordType,
    subject: String,
    label: Option<String>,
    kind: Kind,
    ttl: Option<u32>,
    health_check: Option<String>,
    leaf: Leaf,
}

/// What kind of AWS resource an alias target outside the zone is.
pub(crate) fn aws_service(target: &Name) -> &'static str {
    let text = target.to_ascii().to_ascii_lowercase();
    if text.ends_with(".cloudfront.net.") {
        "a CloudFront distribution"
    } else if text.contains(".elb.") && text.ends_with(".amazonaws.com.") {
        "an Elastic Load Balancing load balancer"
    } else if text.contains("s3-website") {
        "an S3 website endpoint"
    } else if text.contains(".execute-api.") {
        "an API Gateway endpoint"
    } else if text.ends_with(".vpce.amazonaws.com.") {
        "a VPC interface endpoint"
    } else if text.ends_with(".elasticbeanstalk.com.") {
        "an Elastic Beanstalk environment"
    } else if text.ends_with(".awsglobalaccelerator.com.") {
        "a Global Accelerator"
    } else if text.ends_with(".awsapprunner.com.") {
        "an App Runner service"
    } else if text.ends_with(".amplifyapp.com.") {
        "an Amplify app"
    } else if text.ends_with(".amazonaws.com.") || text.ends_with(".amazonaws.com.cn.") {
        "an AWS resource"
    } else {
        "a name outside the hosted zone"
    }
}

/// Checks a value as the master-file reader reads it for the type; `Err` says why not.
pub(crate) fn check_value(record_type: RecordType, value: &str, zone: &Name) -> Result<(), String> {
    let text = format!("@ 0 IN {record_type} {value}\n");
    match master::parse(&text, Some(zone)) {
        Ok(records) if records.len() == 1 && records.iter().all(|r| r.record.record_type() == record_type) => Ok(()),
        Ok(_) => Err(format!("{value:?} is not one {record_type} value")),
        Err(errors) => Err(format!("{value:?} is not a {record_type} value here: {}", errors.first().map_or_else(String::new, |e| e.kind.to_string()))),
    }
}

/// A Route 53 value for the type in master-file syntax, checked.
pub(crate) fn value_for(record_type: RecordType, raw: &str, zone: &Name) -> Result<String, String> {
    let value = if record_type == RecordType::DS {
        generic_ds(raw).ok_or_else(|| format!("{raw:?} is not a DS value (key tag, algorithm, digest type, hex digest)"))?
    } else {
        master_value(record_type, raw)
    };
    check_value(record_type, &value, zone).map(|()| value)
}

/// The record type of a Route 53 `Type`.
fn record_type(text: &str) -> Option<RecordType> {
    let upper = text.to_ascii_uppercase();
    let parsed = RecordType::from_str(&upper).ok()?;
    (!matches!(parsed, RecordType::Unknown(_))).then_some(parsed)
}

/// Reads the record sets into `master`, `entries` and `external`.
pub(crate) fn record_sets(
    text: &str,
    ctx: &mut Ctx,
    master: &mut Vec<MasterRecord>,
    entries: &mut Vec<Entry>,
    external: &mut Vec<External>,
) -> Result<(), ImportError> {
    let value = json::parse(text, "the record sets are")?;
    let root = At::root(&value);
    let list = if root.value.is_array() {
        root.array()?
    } else {
        match root.get("ResourceRecordSets") {
            Some(at) => at.array()?,
            None => {
                return Err(
                    root.error("expected the output of `aws route53 list-resource-record-sets` ({\"ResourceRecordSets\": [...]}) or an array of record sets")
                )
            }
        }
    };
    if root.is_object() && root.opt_bool("IsTruncated")? == Some(true) {
        ctx.report(
            FindingKind::Unresolved,
            "ResourceRecordSets",
            "the listing is truncated (IsTruncated): record sets after it are missing; list them all (the aws CLI pages by itself unless --max-items is given)",
        );
    }
    let mut sets = Vec::new();
    for at in &list {
        if let Some(set) = read_set(at, ctx)? {
            sets.push(set);
        }
    }
    // Group by name and type, in the order the listing gives.
    let mut order: Vec<(Name, RecordType)> = Vec::new();
    let mut groups: HashMap<(Name, RecordType), Vec<SetIn>> = HashMap::new();
    for set in sets {
        let key = (set.owner.clone(), set.record_type);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(set);
    }
    for key in order {
        let Some(group) = groups.remove(&key) else { continue };
        group_into(key.0, key.1, group, ctx, master, entries, external);
    }
    Ok(())
}

fn read_set(at: &At<'_>, ctx: &mut Ctx) -> Result<Option<SetIn>, ImportError> {
    if !at.is_object() {
        return Err(at.error("a record set is an object"));
    }
    let name_text = at.req_str("Name")?;
    let type_text = at.req_str("Type")?;
    let label = at.opt_str("SetIdentifier")?.map(str::to_owned);
    let mut subject = format!("{name_text} {type_text}");
    if let Some(label) = &label {
        subject.push_str(&format!(" [{label}]"));
    }
    let owner = match route53_name(name_text) {
        Ok(owner) => owner,
        Err(why) => {
            ctx.report(FindingKind::Skipped, subject, why);
            return Ok(None);
        }
    };
    let subject = {
        let mut text = format!("{} {type_text}", super::text::absolute(&owner));
        if let Some(label) = &label {
            text.push_str(&format!(" [{label}]"));
        }
        text
    };
    let Some(record_type) = record_type(type_text) else {
        ctx.report(FindingKind::Skipped, subject, format!("record type {type_text:?} is not one this project serves"));
        return Ok(None);
    };
    if record_type == RecordType::SOA && owner != ctx.zone {
        return Err(at.error(format!(
            "these record sets belong to the zone {} (its SOA), not {}: give --zone {}",
            super::text::absolute(&owner),
            super::text::absolute(&ctx.zone),
            super::text::absolute(&owner)
        )));
    }
    if !ctx.zone.zone_of(&owner) {
        ctx.report(FindingKind::Skipped, subject, format!("outside the zone {}", super::text::absolute(&ctx.zone)));
        return Ok(None);
    }
    if let Some(instance) = at.opt_str("TrafficPolicyInstanceId")? {
        ctx.report(
            FindingKind::Skipped,
            subject,
            format!("created by the traffic policy instance {instance}: import that policy's document (--traffic-policy FILE --policy-name NAME)"),
        );
        return Ok(None);
    }
    for key in at.keys() {
        if !KNOWN_FIELDS.contains(&key) {
            ctx.report(FindingKind::Lossy, subject.clone(), format!("field {key} is not imported"));
        }
    }

    let Some(kind) = routing_kind(at, &subject, ctx)? else { return Ok(None) };
    if kind != Kind::Simple && label.is_none() {
        ctx.report(FindingKind::Note, subject.clone(), format!("a {} record set without SetIdentifier", kind.policy()));
    }
    if kind == Kind::Simple && label.is_some() {
        ctx.report(FindingKind::Skipped, subject, "SetIdentifier without a routing policy (Weight, Failover, GeoLocation, ...)");
        return Ok(None);
    }
    let ttl = match at.opt_int("TTL")? {
        None => None,
        Some(ttl) => match u32::try_from(ttl) {
            Ok(ttl) if ttl <= 0x7fff_ffff => Some(ttl),
            _ => {
                ctx.report(FindingKind::Skipped, subject, format!("TTL {ttl} is outside 0..2147483647"));
                return Ok(None);
            }
        },
    };
    let health_check = at.opt_str("HealthCheckId")?.map(str::to_owned);
    let records = match at.get("ResourceRecords") {
        None => Vec::new(),
        Some(list) => {
            let mut values = Vec::new();
            for record in list.array()? {
                values.push(record.req_str("Value")?);
            }
            values
        }
    };
    let leaf = match (at.get("AliasTarget"), records.is_empty()) {
        (Some(_), false) => {
            ctx.report(FindingKind::Skipped, subject, "both AliasTarget and ResourceRecords");
            return Ok(None);
        }
        (None, true) => {
            ctx.report(FindingKind::Skipped, subject, "neither ResourceRecords nor AliasTarget");
            return Ok(None);
        }
        (Some(alias), true) => {
            let dns_name = alias.req_str("DNSName")?;
            let evaluate_target_health = alias.opt_bool("EvaluateTargetHealth")?.unwrap_or(false);
            alias.opt_str("HostedZoneId")?;
            let target = match route53_name(dns_name) {
                Ok(target) => target,
                Err(why) => {
                    ctx.report(FindingKind::Skipped, subject, format!("alias target: {why}"));
                    return Ok(None);
                }
            };
            if ctx.zone.zone_of(&target) {
                Leaf::Action(Act::Alias { target, evaluate_target_health })
            } else {
                let service = aws_service(&target);
                Leaf::External(target, service)
            }
        }
        (None, false) => {
            let mut values = Vec::new();
            for raw in records {
                match value_for(record_type, raw, &ctx.zone) {
                    Ok(value) => values.push(value),
                    Err(why) => {
                        ctx.report(FindingKind::Skipped, subject, why);
                        return Ok(None);
                    }
                }
            }
            if record_type == RecordType::CNAME && values.len() > 1 {
                ctx.report(FindingKind::Skipped, subject, "a CNAME has exactly one value");
                return Ok(None);
            }
            if record_type == RecordType::SOA && values.len() > 1 {
                ctx.report(FindingKind::Lossy, subject.clone(), "an SOA set has one record: the first is kept");
                values.truncate(1);
            }
            Leaf::Action(Act::Values(values))
        }
    };
    Ok(Some(SetIn { owner, record_type, subject, label, kind, ttl, health_check, leaf }))
}

/// The routing policy fields of one record set (at most one may be present).
fn routing_kind(at: &At<'_>, subject: &str, ctx: &mut Ctx) -> Result<Option<Kind>, ImportError> {
    let mut kinds: Vec<(&str, Option<Kind>)> = Vec::new();
    if let Some(weight) = at.get("Weight") {
        let weight = weight.int()?;
        let kind = match u8::try_from(weight) {
            Ok(weight) => Some(Kind::Weighted(weight)),
            Err(_) => {
                ctx.report(FindingKind::Skipped, subject, format!("Weight {weight} is outside 0..255"));
                None
            }
        };
        kinds.push(("Weight", kind));
    }
    if let Some(failover) = at.get("Failover") {
        let text = failover.str()?;
        let kind = if text.eq_ignore_ascii_case("PRIMARY") {
            Some(Kind::Failover { primary: true })
        } else if text.eq_ignore_ascii_case("SECONDARY") {
            Some(Kind::Failover { primary: false })
        } else {
            ctx.report(FindingKind::Skipped, subject, format!("Failover {text:?} is neither PRIMARY nor SECONDARY"));
            None
        };
        kinds.push(("Failover", kind));
    }
    if let Some(geo) = at.get("GeoLocation") {
        if !geo.is_object() {
            return Err(geo.error("GeoLocation is an object"));
        }
        let key = GeoKey::from_codes(geo.opt_str("ContinentCode")?, geo.opt_str("CountryCode")?, geo.opt_str("SubdivisionCode")?);
        if key.is_none() {
            ctx.report(FindingKind::Skipped, subject, "GeoLocation needs ContinentCode, or CountryCode with an optional SubdivisionCode");
        }
        kinds.push(("GeoLocation", key.map(Kind::Geolocation)));
    }
    if let Some(proximity) = at.get("GeoProximityLocation") {
        kinds.push(("GeoProximityLocation", geoproximity(&proximity, subject, ctx)?.map(Kind::Geoproximity)));
    }
    if let Some(region) = at.get("Region") {
        let region = region.str()?.to_ascii_lowercase();
        let kind = if places::region(&region).is_some() {
            Some(Kind::Latency(region))
        } else {
            ctx.report(FindingKind::Skipped, subject, format!("latency region {region:?} is not in the region table (src/geo/places.rs)"));
            None
        };
        kinds.push(("Region", kind));
    }
    if let Some(multivalue) = at.get("MultiValueAnswer") {
        if multivalue.bool()? {
            kinds.push(("MultiValueAnswer", Some(Kind::Multivalue)));
        }
    }
    if let Some(cidr) = at.get("CidrRoutingConfig") {
        let collection = cidr.req_str("CollectionId")?.to_owned();
        let location = cidr.req_str("LocationName")?.to_owned();
        kinds.push(("CidrRoutingConfig", Some(Kind::Cidr { collection, location })));
    }
    match kinds.as_slice() {
        [] => Ok(Some(Kind::Simple)),
        [(_, kind)] => Ok(kind.clone()),
        several => {
            let names: Vec<&str> = several.iter().map(|(name, _)| *name).collect();
            ctx.report(FindingKind::Skipped, subject, format!("more than one routing policy: {}", names.join(", ")));
            Ok(None)
        }
    }
}

/// A record set's `GeoProximityLocation`.
fn geoproximity(at: &At<'_>, subject: &str, ctx: &mut Ctx) -> Result<Option<Selector>, ImportError> {
    if !at.is_object() {
        return Err(at.error("GeoProximityLocation is an object"));
    }
    let bias = match at.opt_int("Bias")? {
        None => 0,
        Some(bias) => match i8::try_from(bias) {
            Ok(bias) if (-99..=99).contains(&bias) => bias,
            _ => {
                ctx.report(FindingKind::Skipped, subject, format!("Bias {bias} is outside -99..99"));
                return Ok(None);
            }
        },
    };
    let region = at.opt_str("AWSRegion")?;
    let coordinates = at.get("Coordinates");
    let local_zone = at.opt_str("LocalZoneGroup")?;
    match (region, coordinates, local_zone) {
        (Some(region), None, None) => Ok(proximity_region(region, bias, subject, ctx)),
        (None, Some(coordinates), None) => {
            let latitude = match coordinates.get("Latitude") {
                Some(at) => at.float()?,
                None => return Err(coordinates.error("Latitude is missing")),
            };
            let longitude = match coordinates.get("Longitude") {
                Some(at) => at.float()?,
                None => return Err(coordinates.error("Longitude is missing")),
            };
            Ok(proximity_coordinates(latitude, longitude, bias, subject, ctx))
        }
        (None, None, Some(group)) => {
            ctx.report(
                FindingKind::Skipped,
                subject,
                format!("LocalZoneGroup {group:?}: Local Zones are not in the region table; use coordinates or the parent region"),
            );
            Ok(None)
        }
        _ => {
            ctx.report(FindingKind::Skipped, subject, "GeoProximityLocation needs exactly one of AWSRegion, Coordinates, LocalZoneGroup");
            Ok(None)
        }
    }
}

pub(crate) fn proximity_region(region: &str, bias: i8, subject: &str, ctx: &mut Ctx) -> Option<Selector> {
    let region = region.to_ascii_lowercase();
    if places::region(&region).is_some() {
        Some(Selector::ProximityRegion { region, bias })
    } else {
        ctx.report(
            FindingKind::Skipped,
            subject,
            format!("region {region:?} is not in the region table (a Local Zone? use its coordinates or its parent region)"),
        );
        None
    }
}

pub(crate) fn proximity_coordinates(latitude: f64, longitude: f64, bias: i8, subject: &str, ctx: &mut Ctx) -> Option<Selector> {
    if latitude.abs() <= 90.0 && longitude.abs() <= 180.0 {
        Some(Selector::ProximityCoordinates { latitude, longitude, bias })
    } else {
        ctx.report(FindingKind::Skipped, subject, format!("coordinates {latitude}, {longitude} are not on Earth"));
        None
    }
}

/// Turns one group (same name and type) into master records, a routed entry, or findings.
fn group_into(
    owner: Name,
    record_type: RecordType,
    group: Vec<SetIn>,
    ctx: &mut Ctx,
    master: &mut Vec<MasterRecord>,
    entries: &mut Vec<Entry>,
    external: &mut Vec<External>,
) {
    let group_subject = format!("{} {record_type}", super::text::absolute(&owner));
    let (simple, routed): (Vec<SetIn>, Vec<SetIn>) = group.into_iter().partition(|set| set.kind == Kind::Simple);
    if !routed.is_empty() {
        for set in simple {
            ctx.report(FindingKind::Skipped, set.subject, "a simple record set beside routed ones of the same name and type");
        }
        routed_group(owner, record_type, routed, &group_subject, ctx, entries);
        return;
    }
    let mut sets = simple.into_iter();
    let Some(set) = sets.next() else { return };
    for extra in sets {
        ctx.report(FindingKind::Skipped, extra.subject, "a second simple record set of the same name and type");
    }
    match set.leaf {
        Leaf::Action(Act::Values(values)) => {
            let ttl = set.ttl.unwrap_or_else(|| {
                ctx.report(FindingKind::Note, set.subject.clone(), "no TTL: 300 used");
                300
            });
            for value in values {
                master.push(MasterRecord { owner: owner.clone(), ttl, record_type, value });
            }
        }
        Leaf::Action(action) => entries.push(Entry {
            owner,
            record_type,
            ttl: None,
            origin: format!("Route 53: {group_subject}, alias"),
            root: Node::leaf(None, set.health_check, action),
        }),
        Leaf::External(target, service) => external.push(External { owner, record_type, target, service, subject: set.subject }),
    }
}

fn routed_group(owner: Name, record_type: RecordType, sets: Vec<SetIn>, subject: &str, ctx: &mut Ctx, entries: &mut Vec<Entry>) {
    let Some(first) = sets.first() else { return };
    let policy = first.kind.policy();
    if sets.iter().any(|set| set.kind.policy() != policy) {
        let kinds: Vec<&str> = sets.iter().map(|set| set.kind.policy()).collect();
        ctx.report(
            FindingKind::Skipped,
            subject,
            format!("the record sets mix routing policies ({}): Route 53 allows one per name and type", kinds.join(", ")),
        );
        return;
    }
    if matches!(record_type, RecordType::SOA | RecordType::NS) {
        ctx.report(FindingKind::Skipped, subject, format!("{record_type} record sets cannot be routed here"));
        return;
    }
    if let Kind::Cidr { collection, .. } = &first.kind {
        let collection = collection.clone();
        if sets.iter().any(|set| !matches!(&set.kind, Kind::Cidr { collection: c, .. } if *c == collection)) {
            ctx.report(FindingKind::Skipped, subject, "the record sets use different CIDR collections");
            return;
        }
    }
    let count = sets.len();
    let mut ttls: Vec<u32> = Vec::new();
    let mut children: Vec<(Kind, Node)> = Vec::new();
    for set in sets {
        let action = match set.leaf {
            Leaf::Action(action) => action,
            Leaf::External(target, service) => {
                ctx.report(FindingKind::Skipped, set.subject, external_reason(&target, service));
                continue;
            }
        };
        if matches!(action, Act::Values(_)) {
            if let Some(ttl) = set.ttl {
                ttls.push(ttl);
            }
        }
        children.push((set.kind, Node::leaf(set.label, set.health_check, action)));
    }
    let ttl = ttls.iter().min().copied();
    if ttls.iter().any(|t| Some(*t) != ttl) {
        ctx.report(
            FindingKind::Lossy,
            subject,
            format!("the record sets have different TTLs ({ttls:?}): one TTL per routed set, the smallest ({}) is used", ttl.unwrap_or(300)),
        );
    }
    let leaf = |action: Act| Some(Node::leaf(None, None, action));
    let root = match policy {
        "weighted" => {
            let list: Vec<Node> = children
                .into_iter()
                .filter_map(|(kind, node)| if let Kind::Weighted(w) = kind { Some(node.with_selector(Selector::Weight(w))) } else { None })
                .collect();
            if list.is_empty() {
                None
            } else {
                leaf(Act::Weighted(list))
            }
        }
        "failover" => failover(children, subject, ctx),
        "geolocation" => {
            let list: Vec<(GeoKey, Node)> =
                children.into_iter().filter_map(|(kind, node)| if let Kind::Geolocation(key) = kind { Some((key, node)) } else { None }).collect();
            let list = geolocation(list, subject, ctx);
            if list.is_empty() {
                None
            } else {
                leaf(Act::Geolocation(list))
            }
        }
        "latency" => {
            let mut seen = Vec::new();
            let mut list = Vec::new();
            for (kind, node) in children {
                let Kind::Latency(region) = kind else { continue };
                if seen.contains(&region) {
                    ctx.report(
                        FindingKind::Skipped,
                        format!("{subject} [{}]", node.label.as_deref().unwrap_or("")),
                        format!("a second record set for region {region}"),
                    );
                    continue;
                }
                seen.push(region.clone());
                list.push(node.with_selector(Selector::Region(region)));
            }
            if list.is_empty() {
                None
            } else {
                leaf(Act::Latency(list))
            }
        }
        "geoproximity" => {
            let list: Vec<Node> =
                children.into_iter().filter_map(|(kind, node)| if let Kind::Geoproximity(s) = kind { Some(node.with_selector(s)) } else { None }).collect();
            if list.is_empty() {
                None
            } else {
                leaf(Act::Geoproximity(list))
            }
        }
        "multivalue answer" => {
            if record_type == RecordType::CNAME {
                ctx.report(FindingKind::Skipped, subject, "multivalue answers are not for CNAME records");
                return;
            }
            let list: Vec<Node> = children.into_iter().map(|(_, node)| node).collect();
            if list.is_empty() {
                None
            } else {
                leaf(Act::Multivalue(list))
            }
        }
        _ => {
            let mut collection_name = String::new();
            let mut seen = Vec::new();
            let mut list = Vec::new();
            for (kind, node) in children {
                let Kind::Cidr { collection, location } = kind else { continue };
                if seen.contains(&location) {
                    ctx.report(
                        FindingKind::Skipped,
                        format!("{subject} [{}]", node.label.as_deref().unwrap_or("")),
                        format!("a second record set for CIDR location {location}"),
                    );
                    continue;
                }
                seen.push(location.clone());
                collection_name.clone_from(&collection);
                list.push(node.with_selector(Selector::Cidr { collection, location }));
            }
            if list.is_empty() {
                None
            } else {
                leaf(Act::Cidr { collection: collection_name, children: list })
            }
        }
    };
    let Some(root) = root else {
        ctx.report(FindingKind::Skipped, subject, format!("nothing is left of the {policy} record sets"));
        return;
    };
    entries.push(Entry { owner, record_type, ttl, origin: format!("Route 53: {subject}, {policy} ({count} record sets)"), root });
}

fn failover(children: Vec<(Kind, Node)>, subject: &str, ctx: &mut Ctx) -> Option<Node> {
    let mut primary: Option<Node> = None;
    let mut secondary: Option<Node> = None;
    for (kind, node) in children {
        let Kind::Failover { primary: is_primary } = kind else { continue };
        let slot = if is_primary { &mut primary } else { &mut secondary };
        if slot.is_some() {
            ctx.report(
                FindingKind::Skipped,
                format!("{subject} [{}]", node.label.as_deref().unwrap_or("")),
                format!("a second {} record set", if is_primary { "PRIMARY" } else { "SECONDARY" }),
            );
            continue;
        }
        *slot = Some(node);
    }
    match (primary, secondary) {
        (Some(p), Some(s)) => Some(Node::leaf(None, None, Act::Failover(Box::new(p), Box::new(s)))),
        (Some(only), None) | (None, Some(only)) => {
            ctx.report(FindingKind::Note, subject, "a failover group with one record set: it is answered whatever its health, as Route 53 does");
            Some(only)
        }
        (None, None) => None,
    }
}

pub(crate) fn external_reason(target: &Name, service: &str) -> String {
    format!(
        "alias to {} ({service}): aliases here answer from record sets in the hosted zones; Route 53 resolves AWS resources itself",
        super::text::absolute(target)
    )
}

/// One health check of `list-health-checks`: its declaration, or why it cannot be declared,
/// and what its mapping loses.
pub(crate) struct CheckIn {
    pub spec: Result<HealthCheckSpec, String>,
    pub notes: Vec<String>,
}

/// Reads `aws route53 list-health-checks` output (or a bare array of health checks).
pub(crate) fn health_checks(text: &str) -> Result<BTreeMap<String, CheckIn>, ImportError> {
    let value = json::parse(text, "the health checks are")?;
    let root = At::root(&value);
    let list = if root.value.is_array() {
        root.array()?
    } else {
        match root.get("HealthChecks") {
            Some(at) => at.array()?,
            None => return Err(root.error("expected the output of `aws route53 list-health-checks` ({\"HealthChecks\": [...]})")),
        }
    };
    let mut checks = BTreeMap::new();
    for at in list {
        let id = at.req_str("Id")?.to_owned();
        let Some(config) = at.get("HealthCheckConfig") else {
            return Err(at.error("HealthCheckConfig is missing"));
        };
        checks.insert(id, health_check(&config)?);
    }
    Ok(checks)
}

fn health_check(config: &At<'_>) -> Result<CheckIn, ImportError> {
    let kind_text = config.req_str("Type")?;
    let mut notes = Vec::new();
    let unsupported = |why: String| Ok(CheckIn { spec: Err(why), notes: Vec::new() });
    // Route 53's health-check types (API reference, HealthCheckConfig.Type): the string-match
    // ones are the HTTP(S) kinds with a search string.
    let (kind, string_match) = match kind_text {
        "HTTP" => (CheckKind::Http, false),
        "HTTPS" => (CheckKind::Https, false),
        "HTTP_STR_MATCH" => (CheckKind::Http, true),
        "HTTPS_STR_MATCH" => (CheckKind::Https, true),
        "TCP" => (CheckKind::Tcp, false),
        "CALCULATED" => (CheckKind::Calculated, false),
        "CLOUDWATCH_METRIC" => return unsupported("a CloudWatch alarm check: the alarm lives in AWS".to_owned()),
        "RECOVERY_CONTROL" => return unsupported("a Route 53 ARC routing control: it lives in AWS".to_owned()),
        other => {
            let at = config.get("Type").unwrap_or_else(|| config.clone());
            return Err(at.error(format!(
                "unknown health check type {other:?} (Route 53's are HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP, CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL)"
            )));
        }
    };
    let address = config.opt_str("IPAddress")?.filter(|text| !text.trim().is_empty());
    let domain = config.opt_str("FullyQualifiedDomainName")?.filter(|text| !text.trim().is_empty());
    // With both, Route 53 probes the address and sends the name as the Host header.
    let (host, host_header) = match (address, domain) {
        (Some(address), Some(domain)) => (Some(address), Some(domain.to_owned())),
        (Some(address), None) => (Some(address), None),
        (None, Some(domain)) => (Some(domain), None),
        (None, None) => (None, None),
    };
    let host = match host.filter(|_| kind.needs_host()).map(|host| Host::parse(host.trim())).transpose() {
        Ok(host) => host,
        Err(error) => return unsupported(error.to_string()),
    };
    if kind.needs_host() && host.is_none() {
        return unsupported("no IPAddress or FullyQualifiedDomainName".to_owned());
    }
    let port = match config.opt_int("Port")? {
        None => None,
        Some(port) => match u16::try_from(port) {
            Ok(port) if port > 0 => Some(port),
            _ => return unsupported(format!("port {port} is outside 1..65535")),
        },
    };
    if kind == CheckKind::Tcp && port.is_none() {
        return unsupported("a TCP check without a port".to_owned());
    }
    let search = config.opt_str("SearchString")?.map(str::to_owned);
    if search.is_some() && !string_match {
        notes.push(format!("SearchString is ignored by Route 53 for {kind_text} checks and is not imported"));
    }
    let interval = match config.opt_int("RequestInterval")? {
        None => None,
        Some(seconds) => u32::try_from(seconds).ok(),
    };
    let threshold = match config.opt_int("FailureThreshold")? {
        None => None,
        Some(count) => match u32::try_from(count) {
            Ok(count) if count > 0 => Some(count),
            _ => {
                notes.push(format!("FailureThreshold {count} is not a count: the default (3) is used"));
                None
            }
        },
    };
    let mut children = Vec::new();
    if let Some(list) = config.get("ChildHealthChecks") {
        for child in list.array()? {
            children.push(child.str()?.to_owned());
        }
    }
    let min_healthy = match config.opt_int("HealthThreshold")? {
        None => None,
        Some(count) => u32::try_from(count).ok(),
    };
    if let Some(regions) = config.get("Regions") {
        if !regions.array()?.is_empty() {
            notes.push("Regions: checks run from the scheduled Worker, not from the listed Route 53 regions".to_owned());
        }
    }
    if config.opt_bool("EnableSNI")? == Some(false) && kind == CheckKind::Https {
        notes.push("EnableSNI false: the checker always sends SNI".to_owned());
    }
    let http = matches!(kind, CheckKind::Http | CheckKind::Https);
    let path = match config.opt_str("ResourcePath")?.filter(|_| http) {
        None => None,
        // An HTTP request's target is an absolute path (RFC 9112 §3.2.1): one written without
        // its leading '/' is read from the root.
        Some(text) => match Path::parse(&if text.starts_with('/') { text.to_owned() } else { format!("/{text}") }) {
            Ok(path) => Some(path),
            Err(error) => return unsupported(error.to_string()),
        },
    };
    let calculated = kind == CheckKind::Calculated;
    let spec = HealthCheckSpec {
        kind,
        host,
        port,
        path,
        host_header: if http { host_header } else { None },
        search: if string_match { search } else { None },
        interval,
        threshold,
        timeout: None,
        inverted: config.opt_bool("Inverted")?.unwrap_or(false),
        disabled: config.opt_bool("Disabled")?.unwrap_or(false),
        children: if calculated { children } else { Vec::new() },
        min_healthy: if calculated { min_healthy } else { None },
        unusable: None,
    };
    Ok(CheckIn { spec: Ok(spec), notes })
}

/// CIDR collections: networks by location, by collection.
pub(crate) type Collections = BTreeMap<String, BTreeMap<String, Vec<IpNet>>>;

/// Reads CIDR collections. The document is an object keyed by collection id (the
/// `CollectionId` record sets name); each value is either `{"<location>": ["<cidr>", ...]}` or
/// the output of `aws route53 list-cidr-blocks --collection-id <id>`
/// (`{"CidrBlocks": [{"CidrBlock": ..., "LocationName": ...}]}`).
pub(crate) fn cidr_collections(text: &str, ctx: &mut Ctx) -> Result<Collections, ImportError> {
    let value = json::parse(text, "the CIDR collections are")?;
    let root = At::root(&value);
    let mut collections = Collections::new();
    for (collection, body) in root.object()? {
        let mut locations: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
        let mut blocks: Vec<(String, At<'_>)> = Vec::new();
        match body.get("CidrBlocks") {
            Some(list) => {
                for block in list.array()? {
                    let location = block.req_str("LocationName")?.to_owned();
                    let Some(cidr) = block.get("CidrBlock") else {
                        return Err(block.error("CidrBlock is missing"));
                    };
                    blocks.push((location, cidr));
                }
            }
            None => {
                for (location, list) in body.object()? {
                    for cidr in list.array()? {
                        blocks.push((location.to_owned(), cidr));
                    }
                }
            }
        }
        for (location, cidr) in blocks {
            let text = cidr.str()?;
            let subject = format!("CIDR collection {collection} location {location}");
            if location == "*" || location.is_empty() {
                ctx.report(FindingKind::Skipped, subject, "\"*\" is the default location, not one that holds networks");
                continue;
            }
            match text.parse::<IpNet>() {
                Ok(net) if net.trunc() == net => locations.entry(location).or_default().push(net),
                Ok(net) => ctx.report(FindingKind::Skipped, subject, format!("{net} has host bits set (did you mean {}?)", net.trunc())),
                Err(_) => ctx.report(FindingKind::Skipped, subject, format!("{text:?} is not a network (address/prefix)")),
            }
        }
        collections.insert(collection.to_owned(), locations);
    }
    Ok(collections)
}
