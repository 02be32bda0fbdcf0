//! The forwarding step, both ends: the query sent upstream (RFC 8484 POST body) and the
//! checks an upstream's answer must pass before a client sees it.
//!
//! Upstream queries carry ID 0 (RFC 8484 §4.1), RD, the client's CD, and an OPT record with
//! the client's DO; the client's address goes upstream only as configured (a truncated
//! Client Subnet). An answer is accepted when it is a response to exactly that question
//! (QR=1, ID 0, same name, type and class), not truncated, and its RCODE is NOERROR or
//! NXDOMAIN; anything else counts as that upstream failing, so the next one is tried.
//! The client then gets the upstream's records under its own ID and question (case kept),
//! with RA=1, AD only when it asked with AD or DO (RFC 6840 §5.7), and TTLs counted down
//! from the moment the answer was cached.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Record, RecordType};
use ipnet::IpNet;

use super::{ResolverConfig, TtlBounds, UpstreamSubnet};
use crate::answer::{ExtendedError, Resolution};
use crate::client::{ClientSubnet, CLIENT_SUBNET_OPTION};
use crate::query::Query;

/// The UDP payload size offered upstream (meaningless over HTTPS, but the OPT needs one).
const UPSTREAM_PAYLOAD: u16 = 1232;
/// The prefix an IPv4 client address is cut to before it goes upstream.
pub const TRUNCATED_V4: u8 = 24;
/// The prefix an IPv6 client address is cut to before it goes upstream.
pub const TRUNCATED_V6: u8 = 56;

/// Why an upstream's answer was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// No answer: connection refused, TLS or HTTP failure, timeout (EDE 23 when all fail so).
    Unreachable(String),
    /// An answer that cannot be used: not DNS, another question, SERVFAIL, REFUSED (EDE 22).
    Unusable(String),
}

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(why) => write!(f, "unreachable: {why}"),
            Self::Unusable(why) => write!(f, "unusable answer: {why}"),
        }
    }
}

/// An upstream's answer, checked and stripped to what is passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreamed {
    /// NOERROR or NXDOMAIN.
    pub rcode: ResponseCode,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, without OPT (and without TSIG/SIG(0), which are per message).
    pub additional: Vec<Record>,
    /// The upstream's AD flag.
    pub authentic_data: bool,
    /// The ECS scope the upstream returned, when a subnet was sent.
    pub scope: u8,
}

/// The network that goes upstream for this query, if any: the connecting address (or, when
/// configured, the client's own ECS option) truncated to /24 or /56, never longer than
/// what the client sent. A profile's `ecs` (`policy`) replaces `UPSTREAM_ECS`, and `off`
/// there sends nothing at all, the client's own option included.
pub fn upstream_subnet(
    config: &ResolverConfig,
    policy: Option<UpstreamSubnet>,
    address: Option<IpAddr>,
    client_subnet: Option<&ClientSubnet>,
) -> Option<IpNet> {
    let truncate = |network: IpNet| {
        let limit = match network {
            IpNet::V4(_) => TRUNCATED_V4,
            IpNet::V6(_) => TRUNCATED_V6,
        };
        IpNet::new(network.addr(), network.prefix_len().min(limit)).ok().map(|net| net.trunc())
    };
    if policy == Some(UpstreamSubnet::Off) {
        return None;
    }
    if let (true, Some(subnet)) = (config.forward_client_subnet, client_subnet) {
        return truncate(subnet.network());
    }
    match (policy.unwrap_or(config.upstream_subnet), address) {
        (UpstreamSubnet::Truncated, Some(address)) => truncate(IpNet::from(address)),
        _ => None,
    }
}

/// The cache key of a forwarded question: lower-cased name, type, class, DO, CD, the subnet
/// sent upstream (answers for different subnets are different answers), and a profile's own
/// upstreams (a filtering upstream's answers are not another's; profiles naming the same
/// upstreams share their answers).
pub fn cache_key(query: &Query, subnet: Option<IpNet>, upstreams: Option<&[String]>) -> String {
    let dnssec_ok = query.edns.as_ref().is_some_and(|edns| edns.dnssec_ok);
    let question = &query.question;
    let mut key = format!(
        "{}|{}|{}|{}{}",
        question.name.to_ascii().to_ascii_lowercase(),
        u16::from(question.query_type),
        u16::from(question.query_class),
        u8::from(dnssec_ok),
        u8::from(query.header.checking_disabled)
    );
    if let Some(subnet) = subnet {
        key.push('|');
        key.push_str(&subnet.to_string());
    }
    if let Some(upstreams) = upstreams {
        // FNV-1a 64 of the URLs in order, each ended by a newline.
        let hash = upstreams
            .iter()
            .flat_map(|url| url.bytes().chain(std::iter::once(b'\n')))
            .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
        key.push_str(&format!("|via {hash:016x}"));
    }
    key
}

/// The wire query sent upstream.
pub fn upstream_query(query: &Query, subnet: Option<IpNet>) -> Result<Vec<u8>, UpstreamFailure> {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.checking_disabled = query.header.checking_disabled;
    message.queries.push(query.question.clone());
    let mut edns = Edns::new();
    edns.set_max_payload(UPSTREAM_PAYLOAD);
    edns.set_version(0);
    edns.set_dnssec_ok(query.edns.as_ref().is_some_and(|edns| edns.dnssec_ok));
    if let Some(subnet) = subnet {
        let data = ClientSubnet::new(subnet).encode_response(0);
        edns.options_mut().options.push((EdnsCode::from(CLIENT_SUBNET_OPTION), EdnsOption::Unknown(CLIENT_SUBNET_OPTION, data)));
    }
    message.edns = Some(edns);
    message.to_vec().map_err(|error| UpstreamFailure::Unusable(format!("cannot encode the upstream query: {error}")))
}

/// Checks an upstream's answer to `query`.
pub fn accept(bytes: &[u8], query: &Query) -> Result<Upstreamed, UpstreamFailure> {
    let unusable = |why: String| Err(UpstreamFailure::Unusable(why));
    let message = match Message::from_vec(bytes) {
        Ok(message) => message,
        Err(error) => return unusable(format!("not a DNS message ({error})")),
    };
    let metadata = &message.metadata;
    if metadata.message_type != MessageType::Response || metadata.id != 0 {
        return unusable("not a response to our query (QR or ID)".into());
    }
    if metadata.truncation {
        return unusable("truncated".into());
    }
    let asked = &query.question;
    let same_question = matches!(message.queries.as_slice(), [question]
        if question.name.eq_case(&asked.name) || question.name == asked.name)
        && message.queries.first().is_some_and(|q| q.query_type == asked.query_type && q.query_class == asked.query_class);
    if !same_question {
        return unusable("answers another question".into());
    }
    let rcode = metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return unusable(format!("RCODE {rcode}"));
    }
    let scope = message
        .edns
        .as_ref()
        .and_then(|edns| {
            edns.options().options.iter().find_map(|(code, option)| match option {
                EdnsOption::Unknown(CLIENT_SUBNET_OPTION, data) if u16::from(*code) == CLIENT_SUBNET_OPTION => data.get(3).copied(),
                EdnsOption::Subnet(subnet) => Some(subnet.scope_prefix()),
                _ => None,
            })
        })
        .unwrap_or(0);
    let keep = |record: &Record| !matches!(record.record_type(), RecordType::OPT | RecordType::TSIG | RecordType::SIG);
    Ok(Upstreamed {
        rcode,
        answers: message.answers.clone(),
        authority: message.authorities.clone(),
        additional: message.additionals.iter().filter(|record| keep(record)).cloned().collect(),
        authentic_data: metadata.authentic_data,
        scope,
    })
}

/// How old an answer is when served, for its TTLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its TTL: TTLs count down by this many seconds.
    Aged(u32),
    /// Past its TTL, served because every upstream failed (RFC 8767): TTLs become 30 s and
    /// the answer carries EDE 3.
    Stale,
}

/// The client's answer from an upstream's: its records, TTLs within `bounds` (the cache's,
/// so a client keeps an answer no longer than the resolver does) and aged, flags as the
/// client may see them; the scope is the upstream's, never more than the subnet that was sent.
pub fn resolution(upstreamed: &Upstreamed, query: &Query, freshness: Freshness, sent: Option<IpNet>, bounds: TtlBounds) -> Resolution {
    let age = |records: &[Record]| -> Vec<Record> {
        records
            .iter()
            .map(|record| {
                let mut record = record.clone();
                record.ttl = match freshness {
                    Freshness::Aged(seconds) => bounds.apply(record.ttl).saturating_sub(seconds),
                    Freshness::Stale => super::STALE_ANSWER_TTL,
                };
                record
            })
            .collect()
    };
    let asked_for_validation = query.header.authentic_data || query.edns.as_ref().is_some_and(|edns| edns.dnssec_ok);
    let mut resolution = Resolution::new(upstreamed.rcode);
    resolution.answers = age(&upstreamed.answers).into();
    resolution.authority = age(&upstreamed.authority);
    resolution.additional = age(&upstreamed.additional);
    resolution.recursion_available = true;
    resolution.authentic_data = upstreamed.authentic_data && asked_for_validation;
    resolution.scope = sent.map_or(0, |subnet| upstreamed.scope.min(subnet.prefix_len()));
    resolution.tailored = resolution.scope > 0;
    if freshness == Freshness::Stale {
        resolution.extended_error = Some(ExtendedError::StaleAnswer);
    }
    resolution
}

/// The answer when no upstream gave a usable one and nothing is cached: SERVFAIL, with EDE 23
/// when none could be reached and EDE 22 when they answered with errors.
pub fn failure(failures: &[UpstreamFailure]) -> Resolution {
    let unreachable = failures.iter().all(|failure| matches!(failure, UpstreamFailure::Unreachable(_)));
    let mut resolution =
        Resolution::error(ResponseCode::ServFail, Some(if unreachable { ExtendedError::NetworkError } else { ExtendedError::NoReachableAuthority }));
    resolution.recursion_available = true;
    resolution
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::op::Query as Question;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData};

    use super::*;
    use crate::query::{EdnsRequest, HeaderEcho};

    fn config() -> ResolverConfig {
        ResolverConfig::from_vars(|name| (name == "UPSTREAMS").then(|| "https://dns.example/dns-query".to_owned())).unwrap().unwrap()
    }

    fn query(name: &str, dnssec_ok: bool, authentic_data: bool) -> Query {
        Query {
            header: HeaderEcho { id: 4711, opcode: 0, recursion_desired: true, checking_disabled: false, authentic_data },
            question: Question::query(Name::from_str(name).unwrap(), RecordType::A),
            edns: Some(EdnsRequest { dnssec_ok, compact_ok: false, client_subnet: None }),
        }
    }

    fn upstream_answer(name: &str, ttl: u32, ad: bool) -> Vec<u8> {
        let mut message = Message::new(0, MessageType::Response, OpCode::Query);
        message.metadata.authentic_data = ad;
        message.metadata.recursion_available = true;
        message.queries.push(Question::query(Name::from_str(name).unwrap(), RecordType::A));
        message.answers.push(Record::from_rdata(Name::from_str(name).unwrap(), ttl, RData::A(A::new(192, 0, 2, 1))));
        message.edns = Some(Edns::new());
        message.to_vec().unwrap()
    }

    #[test]
    fn upstream_queries_carry_id_0_rd_do_and_no_address_by_default() {
        let asked = query("WWW.Example.NET.", true, false);
        let subnet = upstream_subnet(&config(), None, Some("203.0.113.77".parse().unwrap()), None);
        assert_eq!(subnet, None, "the client's address stays at the edge by default");
        let message = Message::from_vec(&upstream_query(&asked, subnet).unwrap()).unwrap();
        assert_eq!((message.metadata.id, message.metadata.recursion_desired), (0, true));
        assert!(message.edns.as_ref().unwrap().flags().dnssec_ok);
        assert!(message.edns.as_ref().unwrap().options().options.is_empty());
        assert_eq!(cache_key(&asked, None, None), "www.example.net.|1|1|10");
    }

    #[test]
    fn truncated_subnets_when_configured() {
        let mut config = config();
        config.upstream_subnet = UpstreamSubnet::Truncated;
        assert_eq!(upstream_subnet(&config, None, Some("203.0.113.77".parse().unwrap()), None), Some("203.0.113.0/24".parse().unwrap()));
        assert_eq!(upstream_subnet(&config, None, Some("2001:db8:1:2ff::1".parse().unwrap()), None), Some("2001:db8:1:200::/56".parse().unwrap()));
        let client = ClientSubnet::new("198.51.100.0/22".parse().unwrap());
        assert_eq!(upstream_subnet(&config, None, None, Some(&client)), None, "client ECS is not forwarded unless configured");
        config.forward_client_subnet = true;
        assert_eq!(upstream_subnet(&config, None, None, Some(&client)), Some("198.51.100.0/22".parse().unwrap()), "never longer than sent");
        let precise = ClientSubnet::new("198.51.100.9/32".parse().unwrap());
        assert_eq!(upstream_subnet(&config, None, None, Some(&precise)), Some("198.51.100.0/24".parse().unwrap()));
        let bytes = upstream_query(&query("a.example.", false, false), Some("203.0.113.0/24".parse().unwrap())).unwrap();
        let message = Message::from_vec(&bytes).unwrap();
        assert_eq!(message.edns.unwrap().options().options.len(), 1, "one ECS option");
        assert!(cache_key(&query("a.example.", false, false), Some("203.0.113.0/24".parse().unwrap()), None).ends_with("|203.0.113.0/24"));
    }

    #[test]
    fn a_profiles_ecs_policy_replaces_the_resolvers_and_off_sends_nothing() {
        let mut config = config();
        let address = Some("203.0.113.77".parse().unwrap());
        assert_eq!(upstream_subnet(&config, Some(UpstreamSubnet::Truncated), address, None), Some("203.0.113.0/24".parse().unwrap()));
        config.upstream_subnet = UpstreamSubnet::Truncated;
        config.forward_client_subnet = true;
        let client = ClientSubnet::new("198.51.100.0/24".parse().unwrap());
        assert_eq!(upstream_subnet(&config, Some(UpstreamSubnet::Off), address, Some(&client)), None, "off: not even the client's own option");
        assert_eq!(upstream_subnet(&config, None, address, None), Some("203.0.113.0/24".parse().unwrap()));
    }

    #[test]
    fn a_profiles_own_upstreams_key_their_answers_apart() {
        let asked = query("a.example.", false, false);
        let family = ["https://family.example/dns-query".to_owned()];
        let other = ["https://other.example/dns-query".to_owned()];
        let plain = cache_key(&asked, None, None);
        let via_family = cache_key(&asked, None, Some(&family));
        assert!(via_family.starts_with(&plain) && via_family.contains("|via "), "{via_family}");
        assert_eq!(via_family, cache_key(&asked, None, Some(&family.clone())), "the same upstreams share answers");
        assert_ne!(via_family, cache_key(&asked, None, Some(&other)));
        let both = [family[0].clone(), other[0].clone()];
        let swapped = [other[0].clone(), family[0].clone()];
        assert_ne!(cache_key(&asked, None, Some(&both)), cache_key(&asked, None, Some(&swapped)), "the order of preference is part of it");
    }

    #[test]
    fn accepts_only_answers_to_the_question() {
        let asked = query("www.example.net.", false, false);
        let accepted = accept(&upstream_answer("www.example.net.", 300, true), &asked).unwrap();
        assert_eq!(accepted.answers.len(), 1);
        assert!(accepted.additional.is_empty(), "OPT is not passed on");
        assert!(matches!(accept(&upstream_answer("other.example.", 300, false), &asked), Err(UpstreamFailure::Unusable(_))));
        assert!(matches!(accept(b"garbage", &asked), Err(UpstreamFailure::Unusable(_))));
        let mut failing = Message::from_vec(&upstream_answer("www.example.net.", 300, false)).unwrap();
        failing.metadata.response_code = ResponseCode::ServFail;
        assert!(
            matches!(accept(&failing.to_vec().unwrap(), &asked), Err(UpstreamFailure::Unusable(why)) if why.contains("SERVFAIL") || why.contains("Server"))
        );
        let mut wrong_id = Message::from_vec(&upstream_answer("www.example.net.", 300, false)).unwrap();
        wrong_id.metadata.id = 9;
        assert!(accept(&wrong_id.to_vec().unwrap(), &asked).is_err());
        let mut truncated = Message::from_vec(&upstream_answer("www.example.net.", 300, false)).unwrap();
        truncated.metadata.truncation = true;
        assert!(accept(&truncated.to_vec().unwrap(), &asked).is_err());
    }

    #[test]
    fn clients_see_aged_ttls_ra_and_ad_only_when_asked() {
        let upstreamed = accept(&upstream_answer("www.example.net.", 300, true), &query("www.example.net.", false, false)).unwrap();
        let bounds = config().ttl_bounds();
        let plain = resolution(&upstreamed, &query("www.example.net.", false, false), Freshness::Aged(40), None, bounds);
        assert_eq!(plain.answers.records()[0].ttl, 260);
        assert!(plain.recursion_available && !plain.authoritative);
        assert!(!plain.authentic_data, "AD only for clients that asked with AD or DO");
        assert!(resolution(&upstreamed, &query("www.example.net.", true, false), Freshness::Aged(0), None, bounds).authentic_data);
        assert!(resolution(&upstreamed, &query("www.example.net.", false, true), Freshness::Aged(0), None, bounds).authentic_data);
        let expired = resolution(&upstreamed, &query("www.example.net.", false, false), Freshness::Aged(400), None, bounds);
        assert_eq!(expired.answers.records()[0].ttl, 0);
        let stale = resolution(&upstreamed, &query("www.example.net.", false, false), Freshness::Stale, None, bounds);
        assert_eq!((stale.answers.records()[0].ttl, stale.extended_error), (30, Some(ExtendedError::StaleAnswer)));
    }

    #[test]
    fn clients_see_ttls_within_the_cache_bounds() {
        // An upstream's TTL of 2^31 - 1 must not reach clients (or `max-age`) when the cache
        // keeps the answer a day at most; a 5 s TTL is raised to the cache's floor.
        let asked = query("www.example.net.", false, false);
        let bounds = TtlBounds { min: 30, max: 86_400 };
        let long = accept(&upstream_answer("www.example.net.", 2_147_483_647, false), &asked).unwrap();
        let capped = resolution(&long, &asked, Freshness::Aged(100), None, bounds);
        assert_eq!(capped.answers.records()[0].ttl, 86_300, "capped, then aged");
        assert_eq!(crate::response::max_age(&capped), Some(86_300));
        let short = accept(&upstream_answer("www.example.net.", 5, false), &asked).unwrap();
        assert_eq!(resolution(&short, &asked, Freshness::Aged(10), None, bounds).answers.records()[0].ttl, 20, "raised to the floor, then aged");
        assert_eq!(super::super::cache::cache_ttl(&long, &ResolverConfig { min_ttl: 30, max_ttl: 86_400, ..config() }), Some(86_400));
    }

    #[test]
    fn failures_say_why() {
        let down = [UpstreamFailure::Unreachable("refused".into()), UpstreamFailure::Unreachable("timeout".into())];
        assert_eq!(failure(&down).extended_error, Some(ExtendedError::NetworkError));
        let errors = [UpstreamFailure::Unreachable("refused".into()), UpstreamFailure::Unusable("SERVFAIL".into())];
        let failed = failure(&errors);
        assert_eq!((failed.rcode, failed.extended_error), (ResponseCode::ServFail, Some(ExtendedError::NoReachableAuthority)));
    }
}
