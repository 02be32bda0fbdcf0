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

use hickory_proto::op::{Query as Question, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use crate::zone::{Catalog, Lookup, Node, RrSet, Zone};

/// The most CNAME links followed in one answer.
pub const MAX_CHAIN: usize = 12;

/// Extended DNS Error codes used (RFC 8914 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendedError {
    /// 14: no zone data could be loaded yet.
    NotReady,
    /// 18: the operation is not allowed (zone transfers).
    Prohibited,
    /// 20: the name is in none of the hosted zones.
    NotAuthoritative,
    /// 21: the opcode or query type is not supported as asked.
    NotSupported,
}

impl ExtendedError {
    /// The INFO-CODE.
    pub fn code(self) -> u16 {
        match self {
            Self::NotReady => 14,
            Self::Prohibited => 18,
            Self::NotAuthoritative => 20,
            Self::NotSupported => 21,
        }
    }

    /// The EXTRA-TEXT.
    pub fn text(self) -> &'static str {
        match self {
            Self::NotReady => "zone data is not loaded yet",
            Self::Prohibited => "zone transfers are not offered over DoH",
            Self::NotAuthoritative => "not authoritative for this name",
            Self::NotSupported => "ANY is answered minimally (RFC 8482)",
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
    pub answers: Vec<Record>,
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
}

impl Resolution {
    fn new(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            authoritative: false,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            extended_error: None,
            scope: 0,
            tailored: false,
        }
    }

    /// An error reply with no records.
    pub fn error(rcode: ResponseCode, extended_error: Option<ExtendedError>) -> Self {
        Self { extended_error, ..Self::new(rcode) }
    }
}

/// Answers a question from the hosted zones.
pub fn resolve(catalog: &Catalog, question: &Question) -> Resolution {
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
    let mut visited: Vec<LowerName> = vec![LowerName::new(&name)];
    loop {
        match zone.lookup(&name, query_type) {
            Lookup::Delegation { name_servers } => {
                // A referral is not authoritative data (RFC 1034 §4.3.2 3b), unless a CNAME
                // from this server's data led to it (RFC 6604: AA describes the first owner).
                if resolution.answers.is_empty() {
                    resolution.authoritative = false;
                }
                resolution.authority.extend(name_servers.records.iter().cloned());
                resolution.additional = glue(zone, name_servers);
                return resolution;
            }
            Lookup::NxDomain => {
                resolution.rcode = ResponseCode::NXDomain;
                resolution.authority.push(zone.negative_soa());
                return resolution;
            }
            Lookup::Found { node, .. } => {
                let target = match select(node, query_type) {
                    Selection::RrSet(set) => {
                        if query_type == RecordType::ANY {
                            resolution.extended_error = Some(ExtendedError::NotSupported);
                        }
                        append(&mut resolution.answers, set, &name);
                        return resolution;
                    }
                    Selection::NoData => {
                        resolution.authority.push(zone.negative_soa());
                        return resolution;
                    }
                    Selection::Cname(set) => {
                        append(&mut resolution.answers, set, &name);
                        match set.records.first().map(|record| &record.data) {
                            Some(RData::CNAME(cname)) => cname.0.clone(),
                            _ => return resolution,
                        }
                    }
                };
                // RFC 1034 §4.3.2 3a: restart at the canonical name, while it is ours.
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

/// What a node offers for a query type.
enum Selection<'z> {
    RrSet(&'z RrSet),
    Cname(&'z RrSet),
    NoData,
}

fn select(node: &Node, query_type: RecordType) -> Selection<'_> {
    if let Some(cname) = node.rrset(RecordType::CNAME) {
        // A CNAME answers every type (RFC 1034 §3.6.2); asked for directly, it is the answer.
        return if matches!(query_type, RecordType::CNAME | RecordType::ANY) {
            Selection::RrSet(cname)
        } else {
            Selection::Cname(cname)
        };
    }
    let found = if query_type == RecordType::ANY {
        node.rrsets().first()
    } else {
        node.rrset(query_type)
    };
    found.map_or(Selection::NoData, Selection::RrSet)
}

/// Appends an RRset under the name that was asked (the query's case is kept; a wildcard's
/// records take the query name as owner, RFC 4592 §3.4.1).
fn append(answers: &mut Vec<Record>, set: &RrSet, owner: &Name) {
    answers.extend(set.records.iter().map(|record| {
        let mut record = record.clone();
        record.name = owner.clone();
        record
    }));
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
