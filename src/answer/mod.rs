//! The authoritative algorithm (RFC 1034 §4.3.2) as a pure function of a question and the
//! hosted zones: which records go in which section, with which RCODE.
//!
//! Choices, documented in the README:
//! * Minimal responses: positive answers carry no NS set in Authority and no Additional
//!   records; referrals carry the child's NS set and the in-zone glue.
//! * CNAMEs are chased through every hosted zone, up to [`MAX_CHAIN`] links; a loop or a
//!   target outside the hosted zones ends the chain with what was found (RFC 6604 §3: the
//!   RCODE is the last link's).
//! * ANY gets one RRset (RFC 8482 §4.1), the one with the lowest type code.

mod section;

use hickory_proto::op::{Query as Question, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use crate::policy::{self, Budget, ClientViewSource, Context, HealthView, Random};
use crate::zone::{Catalog, Lookup, NodeRef, RrSet, Viewer, Visible, WireSet, Zone};

pub use section::{Answers, PackedRdata, WireRrSet};

/// What answering depends on besides the zones: where the client is, the health snapshot,
/// the random source, and optionally an explain trace.
pub struct Inputs<'a> {
    /// Where the client is, asked for only by routed sets (a [`policy::ClientView`], or one
    /// made on first use).
    pub client: &'a dyn ClientViewSource,
    /// The health snapshot.
    pub health: &'a dyn HealthView,
    /// The random source (weighted picks, multivalue, shuffling).
    pub random: &'a mut dyn Random,
    /// The explain trace, when asked for.
    pub trace: Option<&'a mut Vec<String>>,
}

/// The most CNAME links followed in one answer.
pub const MAX_CHAIN: usize = 12;

/// Extended DNS Error codes used (RFC 8914 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendedError {
    /// 14: no zone data could be loaded yet.
    NotReady,
    /// 18: the operation is not allowed (zone transfers).
    Prohibited,
    /// 18: the client's network sent more queries than the rate limit allows.
    RateLimited,
    /// 20: the name is in none of the hosted zones.
    NotAuthoritative,
    /// 21: the opcode or query type is not supported as asked.
    NotSupported,
    /// 3: an expired cached answer, served because no upstream answered (RFC 8767).
    StaleAnswer,
    /// 15: the DNS firewall blocked the name.
    Blocked,
    /// 22: every upstream answered with an error or garbage.
    NoReachableAuthority,
    /// 23: no upstream could be reached in time.
    NetworkError,
    /// 0 (Other Error, with the reason as EXTRA-TEXT): a routing policy could not be
    /// evaluated within the engine's limits (RFC 8914 §4.1: no specific code fits).
    Policy(policy::Failure),
}

impl ExtendedError {
    /// The INFO-CODE.
    pub fn code(self) -> u16 {
        match self {
            Self::NotReady => 14,
            Self::Prohibited | Self::RateLimited => 18,
            Self::NotAuthoritative => 20,
            Self::NotSupported => 21,
            Self::StaleAnswer => 3,
            Self::Blocked => 15,
            Self::NoReachableAuthority => 22,
            Self::NetworkError => 23,
            Self::Policy(_) => 0,
        }
    }

    /// The EXTRA-TEXT.
    pub fn text(self) -> &'static str {
        use policy::Failure;
        match self {
            Self::NotReady => "zone data is not loaded yet",
            Self::Prohibited => "zone transfers are not offered over DoH",
            Self::RateLimited => "rate limited: too many queries from this network, try again in a minute",
            Self::NotAuthoritative => "not authoritative for this name",
            Self::NotSupported => "ANY is answered minimally (RFC 8482)",
            Self::StaleAnswer => "no upstream answered: serving an expired answer (RFC 8767)",
            Self::Blocked => "blocked by the DNS firewall",
            Self::NoReachableAuthority => "every upstream resolver failed",
            Self::NetworkError => "no upstream resolver could be reached",
            Self::Policy(Failure::TooDeep) => "the routing policy nests aliases deeper than the engine follows",
            Self::Policy(Failure::OverBudget) => "the routing policy needs more work than one answer may take",
        }
    }
}

/// The engine's decision: sections, RCODE and flags, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// RCODE.
    pub rcode: ResponseCode,
    /// AA flag: set when the answer comes from a hosted zone's authoritative data.
    pub authoritative: bool,
    /// Answer section.
    pub answers: Answers,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (OPT is added by the encoder).
    pub additional: Vec<Record>,
    /// An Extended DNS Error to attach when the query had EDNS.
    pub extended_error: Option<ExtendedError>,
    /// The client-subnet prefix length the answer depends on (RFC 7871 §7.2.1); 0 when the
    /// answer is the same for every client.
    pub scope: u8,
    /// Whether the answer was chosen for this client (by location, subnet or a random pick),
    /// so shared HTTP caches must not keep it (RFC 8484 §5.1).
    pub tailored: bool,
    /// RA flag: set in resolver mode.
    pub recursion_available: bool,
    /// AD flag: an upstream validated the data and the client asked with AD or DO.
    pub authentic_data: bool,
    /// The owners (as answered) of the Answer RRsets a wildcard synthesised (RFC 4592 §3.4.1),
    /// which a signer signs under the wildcard's name ([`crate::dnssec::online`]). Empty for
    /// most answers.
    pub synthesized: Vec<Name>,
}

impl Resolution {
    /// An empty resolution with this RCODE.
    pub fn new(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            authoritative: false,
            answers: Answers::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            extended_error: None,
            scope: 0,
            tailored: false,
            recursion_available: false,
            authentic_data: false,
            synthesized: Vec::new(),
        }
    }

    /// An error reply with no records.
    pub fn error(rcode: ResponseCode, extended_error: Option<ExtendedError>) -> Self {
        Self { extended_error, ..Self::new(rcode) }
    }
}

/// Answers a question from the public hosted zones (no private view).
pub fn resolve(catalog: &Catalog, question: &Question, inputs: &mut Inputs<'_>) -> Resolution {
    resolve_visible(&catalog.visible(&Viewer::default()), question, inputs)
}

/// Answers a question from the zones a request may see (the public ones and the private
/// views it is admitted to).
pub fn resolve_visible(catalog: &Visible<'_>, question: &Question, inputs: &mut Inputs<'_>) -> Resolution {
    let query_type = question.query_type;
    if !matches!(question.query_class, DNSClass::IN | DNSClass::ANY) {
        return Resolution::error(ResponseCode::Refused, Some(ExtendedError::NotAuthoritative));
    }
    let Some(mut zone) = catalog.find(&question.name) else {
        return Resolution::error(ResponseCode::Refused, Some(ExtendedError::NotAuthoritative));
    };
    if matches!(query_type, RecordType::AXFR | RecordType::IXFR) {
        return Resolution::error(ResponseCode::Refused, Some(ExtendedError::Prohibited));
    }

    let mut resolution = Resolution::new(ResponseCode::NoError);
    resolution.authoritative = true;
    let mut name = question.name.clone();
    // The owners of the chain so far, kept once a CNAME is followed (most answers follow none).
    let mut visited: Vec<LowerName> = Vec::new();
    loop {
        match zone.lookup(&name, query_type) {
            Lookup::Delegation { name_servers } => {
                // A referral is not authoritative data (RFC 1034 §4.3.2 3b), unless a CNAME
                // from this server's data led to it (RFC 6604: AA describes the first owner).
                if resolution.answers.is_empty() {
                    resolution.authoritative = false;
                }
                resolution.authority.extend(name_servers.records.iter().cloned());
                resolution.additional = glue(zone, &name_servers);
                return resolution;
            }
            Lookup::NxDomain => {
                resolution.rcode = ResponseCode::NXDomain;
                resolution.authority.push(zone.negative_soa());
                return resolution;
            }
            Lookup::Found { node, wildcard } => {
                let selection = select(catalog, node, query_type, &name, inputs, &mut resolution);
                if wildcard && matches!(selection, Selection::Records(_) | Selection::Wire(_) | Selection::Cname(_)) {
                    resolution.synthesized.push(name.clone());
                }
                let target = match selection {
                    Selection::Records(records) => {
                        if query_type == RecordType::ANY {
                            resolution.extended_error = Some(ExtendedError::NotSupported);
                        }
                        if resolution.answers.is_empty() {
                            resolution.answers = records.into();
                        } else {
                            resolution.answers.extend(records);
                        }
                        return resolution;
                    }
                    Selection::Wire(set) => {
                        if query_type == RecordType::ANY {
                            resolution.extended_error = Some(ExtendedError::NotSupported);
                        }
                        resolution.answers.push_wire(set);
                        return resolution;
                    }
                    Selection::NoData => {
                        resolution.authority.push(zone.negative_soa());
                        return resolution;
                    }
                    // A policy that could not be evaluated has no answer to give, not even a
                    // partial chain: SERVFAIL, with the reason (RFC 8914).
                    Selection::Failed(failure) => return Resolution::error(ResponseCode::ServFail, Some(ExtendedError::Policy(failure))),
                    Selection::Cname(record) => {
                        let target = match &record.data {
                            RData::CNAME(cname) => Some(cname.0.clone()),
                            _ => None,
                        };
                        resolution.answers.push(*record);
                        match target {
                            Some(target) => target,
                            None => return resolution,
                        }
                    }
                };
                // RFC 1034 §4.3.2 3a: restart at the canonical name, while it is ours.
                if visited.is_empty() {
                    visited.push(LowerName::new(&question.name));
                }
                let key = LowerName::new(&target);
                if visited.contains(&key) || visited.len() > MAX_CHAIN {
                    return resolution;
                }
                let Some(next_zone) = catalog.find(&target) else {
                    return resolution;
                };
                visited.push(key);
                zone = next_zone;
                name = target;
            }
        }
    }
}

/// What a node offers for a query type, with owners set to the name asked.
enum Selection {
    Records(Vec<Record>),
    /// A plain RRset of a compact zone, copied as the shard holds it.
    Wire(WireRrSet),
    Cname(Box<Record>),
    NoData,
    Failed(policy::Failure),
}

fn select(catalog: &Visible<'_>, node: NodeRef<'_>, query_type: RecordType, owner: &Name, inputs: &mut Inputs<'_>, resolution: &mut Resolution) -> Selection {
    // A CNAME answers every type (RFC 1034 §3.6.2); asked for directly, it is the answer.
    let cname = match (node.rrset(RecordType::CNAME), node.routed(RecordType::CNAME)) {
        (Some(set), _) => Some(static_records(&set, owner, inputs)),
        (None, Some(set)) => match routed_records(catalog, set, owner, inputs, resolution) {
            Ok(records) => Some(records),
            Err(failure) => return Selection::Failed(failure),
        },
        (None, None) => None,
    };
    if let Some(records) = cname {
        return match records.into_iter().next() {
            Some(record) if matches!(query_type, RecordType::CNAME | RecordType::ANY) => Selection::Records(vec![record]),
            Some(record) => Selection::Cname(Box::new(record)),
            None => Selection::NoData,
        };
    }
    // ANY: one RRset, the lowest type code (RFC 8482 §4.1).
    let record_type = if query_type == RecordType::ANY {
        match node.lowest_type() {
            Some(lowest) => lowest,
            None => return Selection::NoData,
        }
    } else {
        query_type
    };
    if let Some(set) = node.wire_rrset(record_type) {
        return Selection::Wire(wire_records(set, record_type, owner, inputs));
    }
    let records = if let Some(set) = node.rrset(record_type) {
        static_records(&set, owner, inputs)
    } else if let Some(set) = node.routed(record_type) {
        match routed_records(catalog, set, owner, inputs, resolution) {
            Ok(records) => records,
            Err(failure) => return Selection::Failed(failure),
        }
    } else {
        Vec::new()
    };
    if records.is_empty() {
        Selection::NoData
    } else {
        Selection::Records(records)
    }
}

/// A plain RRset: every record, in a fresh random order each answer (simple routing), under
/// the name that was asked (the query's case is kept; a wildcard's records take the query
/// name as owner, RFC 4592 §3.4.1).
fn static_records(set: &RrSet, owner: &Name, inputs: &mut Inputs<'_>) -> Vec<Record> {
    let mut records: Vec<Record> = set
        .records
        .iter()
        .map(|record| {
            // The zone's owner name is not copied only to be replaced.
            let mut answer = Record::from_rdata(owner.clone(), record.ttl, record.data.clone());
            answer.dns_class = record.dns_class;
            answer
        })
        .collect();
    shuffle(&mut records, inputs.random);
    records
}

/// [`static_records`] for a set in wire form: the same order from the same random draws.
fn wire_records(set: WireSet<'_>, record_type: RecordType, owner: &Name, inputs: &mut Inputs<'_>) -> WireRrSet {
    let WireSet { class, ttl, mut rdatas } = set;
    shuffle(&mut rdatas, inputs.random);
    WireRrSet::new(owner.clone(), record_type, class, ttl, rdatas)
}

/// A fresh random order (Fisher-Yates, from the last position down).
fn shuffle<T>(items: &mut [T], random: &mut dyn Random) {
    for index in (1..items.len()).rev() {
        let bound = u32::try_from(index + 1).unwrap_or(u32::MAX);
        items.swap(index, random.below(bound) as usize);
    }
}

/// A routed set: the policy engine decides the values; the scope and whether the answer is
/// tailored are recorded for the response. Each evaluation has a budget of its own
/// ([`policy::EVALUATION_BUDGET`]), the one the compiler proves every published tree stays
/// within, so an answer does at most [`MAX_CHAIN`] + 1 budgets' work. An evaluation that failed
/// (too deep, over the budget) gives its reason instead.
fn routed_records(
    catalog: &Visible<'_>,
    set: &crate::zone::routes::RoutedSet,
    owner: &Name,
    inputs: &mut Inputs<'_>,
    resolution: &mut Resolution,
) -> Result<Vec<Record>, policy::Failure> {
    let mut budget = Budget::default();
    let mut context = Context {
        client: inputs.client.client_view(),
        health: inputs.health,
        targets: catalog,
        random: &mut *inputs.random,
        trace: inputs.trace.as_deref_mut(),
        budget: &mut budget,
    };
    if let Some(trace) = context.trace.as_deref_mut() {
        trace.push(format!("{} {}: routed set", set.name, set.record_type()));
    }
    let decision = policy::evaluate(&set.rule, set.record_type(), &mut context);
    if let Some(failure) = decision.failure {
        return Err(failure);
    }
    resolution.scope = resolution.scope.max(decision.scope);
    resolution.tailored |= decision.tailored;
    let ttl = decision.ttl.unwrap_or(set.ttl);
    Ok(decision.values.into_iter().map(|data| Record::from_rdata(owner.clone(), ttl, data)).collect())
}

/// Address records for the name servers of a referral that live in this zone (glue,
/// RFC 1034 §4.3.2 3b), read past the cut.
fn glue(zone: &Zone, name_servers: &RrSet) -> Vec<Record> {
    let mut glue = Vec::new();
    for record in &name_servers.records {
        let RData::NS(target) = &record.data else { continue };
        if !zone.apex().zone_of(&target.0) {
            continue;
        }
        if let Some(node) = zone.node(&target.0) {
            for record_type in [RecordType::A, RecordType::AAAA] {
                if let Some(set) = node.rrset(record_type) {
                    glue.extend(set.records.iter().cloned());
                }
            }
        }
    }
    glue
}
