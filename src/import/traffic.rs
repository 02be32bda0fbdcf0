//! Route 53 traffic-policy documents (`AWSPolicyFormatVersion` 2015-10-01 or 2023-05-09)
//! bound to one name: the rule tree becomes one `[[records]]` entry, rules nested as nodes,
//! `value` endpoints as `values`. Endpoints of other types (CloudFront, load balancers, S3
//! websites, Elastic Beanstalk) name AWS resources and are reported, as are rule-reference
//! cycles and references to rules or endpoints that do not exist.

use std::collections::HashMap;

use hickory_proto::rr::{Name, RecordType};

use super::json::{self, At};
use super::route53::{proximity_coordinates, proximity_region, value_for};
use super::text::absolute;
use super::tree::{geolocation, Act, Ctx, Entry, GeoKey, Node, Selector};
use super::{FindingKind, ImportError};
use crate::geo::places;

/// Rules nested deeper than this are not imported (Route 53's own editor stays far below).
pub const MAX_DEPTH: usize = 32;
/// A document whose tree (rules referenced from several places are copied) grows past this
/// many nodes is refused.
pub const MAX_NODES: usize = 5_000;

struct Converter<'a> {
    record_type: RecordType,
    endpoints: HashMap<&'a str, At<'a>>,
    rules: HashMap<&'a str, At<'a>>,
    rules_at: At<'a>,
    nodes: usize,
}

/// Reads a traffic-policy document and binds it to `owner`.
pub(crate) fn traffic_policy(text: &str, owner: Name, ttl: Option<u32>, ctx: &mut Ctx) -> Result<Option<Entry>, ImportError> {
    let value = json::parse(text, "the traffic policy is")?;
    let root = At::root(&value);
    // `aws route53 get-traffic-policy` wraps the document (as a string) in TrafficPolicy.Document.
    let unwrapped;
    let document = match root.get("TrafficPolicy").and_then(|p| p.get("Document")) {
        Some(inner) => {
            unwrapped = json::parse(inner.str()?, "TrafficPolicy.Document is")?;
            At { value: &unwrapped, path: "TrafficPolicy.Document".to_owned() }
        }
        None => root,
    };
    if !document.is_object() {
        return Err(document.error("a traffic policy document is an object"));
    }
    match document.opt_str("AWSPolicyFormatVersion")? {
        Some("2015-10-01" | "2023-05-09") => {}
        Some(other) => {
            ctx.report(FindingKind::Note, "traffic policy", format!("AWSPolicyFormatVersion {other:?} is not one this importer knows; read as 2015-10-01"))
        }
        None => return Err(document.error("AWSPolicyFormatVersion is missing (is this a traffic policy document?)")),
    }
    let type_text = document.req_str("RecordType")?;
    let record_type = match type_text.to_ascii_uppercase().parse::<RecordType>() {
        Ok(RecordType::Unknown(_)) | Err(_) => return Err(document.error(format!("RecordType {type_text:?} is not a record type"))),
        Ok(RecordType::SOA | RecordType::NS) => return Err(document.error(format!("{type_text} records cannot be routed"))),
        Ok(record_type) => record_type,
    };
    let mut endpoints = HashMap::new();
    if let Some(at) = document.get("Endpoints") {
        for (id, endpoint) in at.object()? {
            endpoints.insert(id, endpoint);
        }
    }
    let mut rules = HashMap::new();
    let rules_at = document.get("Rules").unwrap_or_else(|| document.clone());
    if let Some(at) = document.get("Rules") {
        for (id, rule) in at.object()? {
            rules.insert(id, rule);
        }
    }
    let mut converter = Converter { record_type, endpoints, rules, rules_at, nodes: 0 };
    let start_rule = document.opt_str("StartRule")?;
    let start_endpoint = document.opt_str("StartEndpoint")?;
    let (node, start) = match (start_rule, start_endpoint) {
        (Some(rule), None) => (converter.rule(rule, &mut Vec::new(), ctx)?, format!("start rule {rule}")),
        (None, Some(endpoint)) => (converter.endpoint(endpoint, ctx)?, format!("start endpoint {endpoint}")),
        _ => return Err(document.error("a traffic policy has exactly one of StartRule and StartEndpoint")),
    };
    let subject = format!("traffic policy for {} {record_type}", absolute(&owner));
    let Some(root) = node else {
        ctx.report(FindingKind::Skipped, subject, "nothing of the policy could be imported");
        return Ok(None);
    };
    let ttl = match &root.action {
        Act::Alias { .. } => ttl,
        _ => Some(ttl.unwrap_or(300)),
    };
    Ok(Some(Entry { owner, record_type, ttl, origin: format!("Route 53 traffic policy ({start}), {type_text}"), root }))
}

fn rule_subject(id: &str) -> String {
    format!("traffic policy rule {id}")
}

impl<'a> Converter<'a> {
    fn grow(&mut self, by: usize) -> Result<(), ImportError> {
        self.nodes = self.nodes.saturating_add(by);
        if self.nodes > MAX_NODES {
            return Err(self.rules_at.error(format!("the policy grows past {MAX_NODES} nodes (rules referenced from many places are copied into each place)")));
        }
        Ok(())
    }

    fn endpoint(&mut self, id: &str, ctx: &mut Ctx) -> Result<Option<Node>, ImportError> {
        let subject = format!("traffic policy endpoint {id}");
        let Some(at) = self.endpoints.get(id).cloned() else {
            ctx.report(FindingKind::Skipped, subject, "no such endpoint in Endpoints");
            return Ok(None);
        };
        self.grow(1)?;
        let kind = at.req_str("Type")?;
        let value = at.opt_str("Value")?.unwrap_or_default();
        if kind != "value" {
            ctx.report(
                FindingKind::Skipped,
                subject,
                format!("a {kind} endpoint ({value}) is an AWS resource Route 53 resolves itself; only \"value\" endpoints can be imported"),
            );
            return Ok(None);
        }
        match value_for(self.record_type, value, &ctx.zone) {
            Ok(value) => Ok(Some(Node::leaf(Some(id.to_owned()), None, Act::Values(vec![value])))),
            Err(why) => {
                ctx.report(FindingKind::Skipped, subject, why);
                Ok(None)
            }
        }
    }

    /// A `{EndpointReference | RuleReference, HealthCheck, EvaluateTargetHealth}` object.
    fn reference(&mut self, at: &At<'a>, owner: &str, stack: &mut Vec<String>, ctx: &mut Ctx) -> Result<Option<Node>, ImportError> {
        if !at.is_object() {
            return Err(at.error("expected an object with EndpointReference or RuleReference"));
        }
        let endpoint = at.opt_str("EndpointReference")?;
        let rule = at.opt_str("RuleReference")?;
        let health_check = at.opt_str("HealthCheck")?.map(str::to_owned);
        at.opt_bool("EvaluateTargetHealth")?;
        let node = match (endpoint, rule) {
            (Some(endpoint), None) => self.endpoint(endpoint, ctx)?,
            (None, Some(rule)) => self.rule(rule, stack, ctx)?,
            _ => {
                ctx.report(FindingKind::Skipped, format!("{} ({})", rule_subject(owner), at.path), "needs exactly one of EndpointReference and RuleReference");
                return Ok(None);
            }
        };
        Ok(node.map(|node| match (health_check, &node.health_check) {
            (None, _) => node,
            (Some(check), None) => Node { health_check: Some(check), ..node },
            (Some(check), Some(_)) => Node::leaf(None, Some(check), Act::Weighted(vec![node.with_selector(Selector::Weight(1))])),
        }))
    }

    fn rule(&mut self, id: &str, stack: &mut Vec<String>, ctx: &mut Ctx) -> Result<Option<Node>, ImportError> {
        let subject = rule_subject(id);
        if stack.iter().any(|s| s == id) {
            let mut cycle = stack.clone();
            cycle.push(id.to_owned());
            let from = cycle.iter().position(|s| s == id).unwrap_or(0);
            let path: Vec<String> = cycle.into_iter().skip(from).collect();
            ctx.report(FindingKind::Skipped, subject, format!("rule reference cycle {}: the reference that closes it is dropped", path.join(" → ")));
            return Ok(None);
        }
        if stack.len() >= MAX_DEPTH {
            ctx.report(FindingKind::Skipped, subject, format!("nested deeper than {MAX_DEPTH} rules"));
            return Ok(None);
        }
        let Some(at) = self.rules.get(id).cloned() else {
            ctx.report(FindingKind::Skipped, subject, "no such rule in Rules");
            return Ok(None);
        };
        self.grow(1)?;
        stack.push(id.to_owned());
        let result = self.rule_body(id, &at, stack, ctx);
        stack.pop();
        let Some(action) = result? else { return Ok(None) };
        Ok(Some(Node::leaf(Some(id.to_owned()), None, action)))
    }

    fn list(&mut self, at: &At<'a>, key: &str) -> Result<Vec<At<'a>>, ImportError> {
        match at.get(key) {
            Some(list) => list.array(),
            None => Err(at.error(format!("{key} is missing"))),
        }
    }

    fn rule_body(&mut self, id: &str, at: &At<'a>, stack: &mut Vec<String>, ctx: &mut Ctx) -> Result<Option<Act>, ImportError> {
        let subject = rule_subject(id);
        let kind = at.req_str("RuleType")?;
        let empty = |ctx: &mut Ctx, list: &[Node]| {
            if list.is_empty() {
                ctx.report(FindingKind::Skipped, subject.clone(), "nothing is left of this rule");
                true
            } else {
                false
            }
        };
        match kind {
            "failover" => {
                let mut sides = Vec::new();
                for key in ["Primary", "Secondary"] {
                    let side = match at.get(key) {
                        Some(side) => self.reference(&side, id, stack, ctx)?,
                        None => None,
                    };
                    sides.push(side);
                }
                let mut sides = sides.into_iter();
                match (sides.next().flatten(), sides.next().flatten()) {
                    (Some(primary), Some(secondary)) => Ok(Some(Act::Failover(Box::new(primary), Box::new(secondary)))),
                    (Some(only), None) | (None, Some(only)) => {
                        ctx.report(FindingKind::Lossy, subject, "failover keeps one side only: it answers that side whatever its health");
                        Ok(Some(Act::Weighted(vec![only.with_selector(Selector::Weight(1))])))
                    }
                    (None, None) => {
                        empty(ctx, &[]);
                        Ok(None)
                    }
                }
            }
            "geo" => {
                let mut list = Vec::new();
                for location in self.list(at, "Locations")? {
                    let key = if location.opt_bool("IsDefault")? == Some(true) {
                        Some(GeoKey::Default)
                    } else {
                        let key = GeoKey::from_codes(location.opt_str("Continent")?, location.opt_str("Country")?, location.opt_str("Subdivision")?);
                        if key.is_none() {
                            ctx.report(
                                FindingKind::Skipped,
                                format!("{subject} ({})", location.path),
                                "a location needs IsDefault, Continent, or Country with an optional Subdivision",
                            );
                        }
                        key
                    };
                    let Some(key) = key else { continue };
                    if let Some(node) = self.reference(&location, id, stack, ctx)? {
                        list.push((key, node));
                    }
                }
                let list = geolocation(list, &subject, ctx);
                let size: usize = list.iter().map(Node::count).sum();
                self.grow(size)?;
                Ok((!empty(ctx, &list)).then_some(Act::Geolocation(list)))
            }
            "latency" => {
                let mut list: Vec<Node> = Vec::new();
                for region in self.list(at, "Regions")? {
                    let name = region.req_str("Region")?;
                    let name = name.strip_prefix("aws:route53:").unwrap_or(name).to_ascii_lowercase();
                    if places::region(&name).is_none() {
                        ctx.report(FindingKind::Skipped, format!("{subject} ({})", region.path), format!("region {name:?} is not in the region table"));
                        continue;
                    }
                    if list.iter().any(|n| n.selector == Selector::Region(name.clone())) {
                        ctx.report(FindingKind::Skipped, format!("{subject} ({})", region.path), format!("region {name} appears twice"));
                        continue;
                    }
                    if let Some(node) = self.reference(&region, id, stack, ctx)? {
                        list.push(node.with_selector(Selector::Region(name)));
                    }
                }
                Ok((!empty(ctx, &list)).then_some(Act::Latency(list)))
            }
            "geoproximity" => {
                let mut list = Vec::new();
                for location in self.list(at, "GeoproximityLocations")? {
                    let where_ = format!("{subject} ({})", location.path);
                    let bias = match location.opt_int("Bias")? {
                        None => 0,
                        Some(bias) => match i8::try_from(bias) {
                            Ok(bias) if (-99..=99).contains(&bias) => bias,
                            _ => {
                                ctx.report(FindingKind::Skipped, where_, format!("Bias {bias} is outside -99..99"));
                                continue;
                            }
                        },
                    };
                    let region = location.opt_str("Region")?;
                    let latitude = location.get("Latitude").map(|l| l.float()).transpose()?;
                    let longitude = location.get("Longitude").map(|l| l.float()).transpose()?;
                    let selector = match (region, latitude, longitude) {
                        (Some(region), None, None) => {
                            let name = region.strip_prefix("aws:route53:").unwrap_or(region);
                            proximity_region(name, bias, &where_, ctx)
                        }
                        (None, Some(latitude), Some(longitude)) => proximity_coordinates(latitude, longitude, bias, &where_, ctx),
                        _ => {
                            ctx.report(FindingKind::Skipped, where_, "needs a Region or Latitude and Longitude");
                            None
                        }
                    };
                    let Some(selector) = selector else { continue };
                    if let Some(node) = self.reference(&location, id, stack, ctx)? {
                        list.push(node.with_selector(selector));
                    }
                }
                Ok((!empty(ctx, &list)).then_some(Act::Geoproximity(list)))
            }
            "multivalue" => {
                if self.record_type == RecordType::CNAME {
                    ctx.report(FindingKind::Skipped, subject, "multivalue answers are not for CNAME records");
                    return Ok(None);
                }
                let mut list = Vec::new();
                for item in self.list(at, "Items")? {
                    if item.get("RuleReference").is_some() {
                        ctx.report(FindingKind::Skipped, format!("{subject} ({})", item.path), "a multivalue item references an endpoint, not a rule");
                        continue;
                    }
                    if let Some(node) = self.reference(&item, id, stack, ctx)? {
                        list.push(node);
                    }
                }
                Ok((!empty(ctx, &list)).then_some(Act::Multivalue(list)))
            }
            "weighted" => {
                let mut list = Vec::new();
                for item in self.list(at, "Items")? {
                    let weight = match item.get("Weight") {
                        Some(weight) => weight.int()?,
                        None => return Err(item.error("Weight is missing")),
                    };
                    let Ok(weight) = u8::try_from(weight) else {
                        ctx.report(FindingKind::Skipped, format!("{subject} ({})", item.path), format!("Weight {weight} is outside 0..255"));
                        continue;
                    };
                    if let Some(node) = self.reference(&item, id, stack, ctx)? {
                        list.push(node.with_selector(Selector::Weight(weight)));
                    }
                }
                Ok((!empty(ctx, &list)).then_some(Act::Weighted(list)))
            }
            other => {
                ctx.report(FindingKind::Skipped, subject, format!("unknown RuleType {other:?} (failover, geo, latency, geoproximity, multivalue, weighted)"));
                Ok(None)
            }
        }
    }
}
