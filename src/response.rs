//! Encodes a [`Resolution`] into response bytes: header flags (RFC 1035 §4.1.1), the echoed
//! question, and an OPT record exactly when the query had one (RFC 6891 §7), carrying the
//! client subnet with its scope (RFC 7871 §7.2.1) and any Extended DNS Error (RFC 8914).

use hickory_proto::op::{emit_message_parts, Edns, MessageType, Metadata, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::BinEncoder;

use crate::answer::{ExtendedError, Resolution};
use crate::client::CLIENT_SUBNET_OPTION;
use crate::query::{EdnsRequest, HeaderEcho};

/// EDNS option code of Extended DNS Errors (RFC 8914 §2).
const EXTENDED_ERROR_OPTION: u16 = 15;

/// The UDP payload size advertised in responses; irrelevant over HTTPS (RFC 8484 §6) but
/// the field must hold something, and 1232 is the DNS flag day value.
const ADVERTISED_PAYLOAD: u16 = 1232;

/// Encoded response bytes and the facts the HTTP layer needs for caching headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The DNS message.
    pub bytes: Vec<u8>,
    /// The RCODE (extended RCODEs included).
    pub rcode: ResponseCode,
    /// How long HTTP caches may keep it (RFC 8484 §5.1): the smallest Answer TTL, or for
    /// negative answers the SOA's TTL; `None` when nothing says (errors).
    pub max_age: Option<u32>,
}

/// Why a response could not be encoded (only for data the encoder rejects, such as a name
/// that does not fit): the caller answers SERVFAIL instead.
#[derive(Debug)]
pub struct EncodeError(pub hickory_proto::ProtoError);

/// A response's first bytes: the header, a question and a few records fit in most.
const RESPONSE_CAPACITY: usize = 512;

/// Encodes a resolution as the response to a query. The sections are written straight from
/// the resolution (as `Message::to_vec` writes a message's, without copying the records into
/// a `Message` first).
pub fn encode(header: &HeaderEcho, question: Option<&Question>, edns: Option<&EdnsRequest>, resolution: &Resolution) -> Result<Encoded, EncodeError> {
    let mut metadata = Metadata::new(header.id, MessageType::Response, OpCode::from_u8(header.opcode));
    metadata.authoritative = resolution.authoritative;
    metadata.recursion_desired = header.recursion_desired;
    metadata.checking_disabled = header.checking_disabled;
    metadata.recursion_available = resolution.recursion_available;
    metadata.authentic_data = resolution.authentic_data;
    metadata.response_code = resolution.rcode;
    let reply = edns.map(|request| reply_edns(request, resolution));
    let mut bytes = Vec::with_capacity(RESPONSE_CAPACITY);
    emit_message_parts(
        &metadata,
        &mut question.into_iter(),
        &mut resolution.answers.iter(),
        &mut resolution.authority.iter(),
        &mut resolution.additional.iter(),
        reply.as_ref(),
        None,
        &mut BinEncoder::new(&mut bytes),
    )
    .map_err(EncodeError)?;
    Ok(Encoded { bytes, rcode: resolution.rcode, max_age: max_age(resolution) })
}

/// The response's OPT record (RFC 6891 §7): the client subnet with its scope (RFC 7871
/// §7.2.1) and any Extended DNS Error (RFC 8914).
fn reply_edns(request: &EdnsRequest, resolution: &Resolution) -> Edns {
    let mut reply = Edns::new();
    reply.set_max_payload(ADVERTISED_PAYLOAD);
    reply.set_version(0);
    reply.set_dnssec_ok(request.dnssec_ok);
    let options = &mut reply.options_mut().options;
    if let Some(subnet) = &request.client_subnet {
        let data = subnet.encode_response(resolution.scope);
        options.push((EdnsCode::from(CLIENT_SUBNET_OPTION), EdnsOption::Unknown(CLIENT_SUBNET_OPTION, data)));
    }
    if let Some(extended) = resolution.extended_error {
        options.push((EdnsCode::from(EXTENDED_ERROR_OPTION), EdnsOption::Unknown(EXTENDED_ERROR_OPTION, extended_error_data(extended))));
    }
    reply
}

fn extended_error_data(error: ExtendedError) -> Vec<u8> {
    let mut data = error.code().to_be_bytes().to_vec();
    data.extend_from_slice(error.text().as_bytes());
    data
}

/// RFC 8484 §5.1: the freshness lifetime is the smallest TTL in the Answer section; for a
/// negative answer, the SOA's TTL in Authority, which the zone already holds as
/// min(SOA TTL, MINIMUM) (RFC 2308 §5); for a referral, the NS set's TTL. A CNAME chain that
/// ends negatively is held no longer than either. (Positive answers carry no Authority.)
pub fn max_age(resolution: &Resolution) -> Option<u32> {
    match resolution.rcode {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        _ => return None,
    }
    resolution.answers.iter().chain(&resolution.authority).map(|record| record.ttl).min()
}
