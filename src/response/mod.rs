//! Encodes a [`Resolution`] into response bytes: header flags (RFC 1035 §4.1.1), the echoed
//! question, and an OPT record exactly when the query had one (RFC 6891 §7), carrying the
//! client subnet with its scope (RFC 7871 §7.2.1) and any Extended DNS Error (RFC 8914).
//!
//! The message is written by [`writer`] into one vector, names compressed through a fixed
//! table ([`compression`]): no allocation per name or record, which costs most in wasm.

mod compression;
mod writer;

#[cfg(test)]
mod tests;

use hickory_proto::op::{Query as Question, ResponseCode};

use crate::answer::{ExtendedError, Resolution};
use crate::client::CLIENT_SUBNET_OPTION;
use crate::query::{EdnsRequest, HeaderEcho};
use writer::{Writer, MAX_MESSAGE};

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

/// Why a response could not be encoded (data no checked zone holds, or a message too large
/// for DNS): the caller answers SERVFAIL instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The message would be longer than 65,535 bytes (its length as written).
    MessageTooLong(usize),
    /// A section holds more than 65,535 records.
    TooManyRecords(usize),
    /// A record's RDATA would be longer than 65,535 bytes.
    RdataTooLong(usize),
    /// A name is longer than 255 bytes on the wire (RFC 1035 §2.3.4).
    NameTooLong(usize),
    /// A label is longer than 63 bytes.
    LabelTooLong(usize),
    /// A `<character-string>` is longer than 255 bytes.
    CharacterStringTooLong(usize),
    /// RDATA written by hickory's encoder that it refused.
    Rdata(String),
}

/// A response's first bytes: the header, a question and a few records fit in most.
const RESPONSE_CAPACITY: usize = 512;

/// Encodes a resolution as the response to a query, the sections straight from the resolution.
pub fn encode(header: &HeaderEcho, question: Option<&Question>, edns: Option<&EdnsRequest>, resolution: &Resolution) -> Result<Encoded, EncodeError> {
    let mut bytes = Vec::with_capacity(RESPONSE_CAPACITY);
    let mut writer = Writer::new(&mut bytes);
    writer.header(header.id, flags(header, resolution));
    if let Some(question) = question {
        writer.question(question)?;
    }
    let (answers, wire) = resolution.answers.parts();
    for record in answers {
        writer.record(record)?;
    }
    if let Some(set) = wire {
        writer.wire_rrset(set)?;
    }
    if writer.len() > MAX_MESSAGE {
        return Err(EncodeError::MessageTooLong(writer.len()));
    }
    for record in resolution.authority.iter().chain(&resolution.additional) {
        writer.record(record)?;
        if writer.len() > MAX_MESSAGE {
            return Err(EncodeError::MessageTooLong(writer.len()));
        }
    }
    let mut additional = resolution.additional.len();
    if let Some(request) = edns {
        opt(&mut writer, request, resolution)?;
        additional += 1;
    }
    writer.counts([usize::from(question.is_some()), resolution.answers.len(), resolution.authority.len(), additional])?;
    if writer.len() > MAX_MESSAGE {
        return Err(EncodeError::MessageTooLong(writer.len()));
    }
    Ok(Encoded { bytes, rcode: resolution.rcode, max_age: max_age(resolution) })
}

/// The header's second and third bytes (RFC 1035 §4.1.1): QR, the query's OPCODE, AA, RD
/// copied; RA, AD, CD copied; the RCODE's low four bits (the rest go in OPT, RFC 6891 §6.1.3).
fn flags(header: &HeaderEcho, resolution: &Resolution) -> u16 {
    let mut flags = 0x8000 | u16::from(header.opcode & 0x0F) << 11;
    for (set, bit) in [
        (resolution.authoritative, 0x0400),
        (header.recursion_desired, 0x0100),
        (resolution.recursion_available, 0x0080),
        (resolution.authentic_data, 0x0020),
        (header.checking_disabled, 0x0010),
    ] {
        if set {
            flags |= bit;
        }
    }
    flags | u16::from(resolution.rcode.low())
}

/// The response's OPT record (RFC 6891 §6.1.2): the advertised payload, the RCODE's high
/// bits, version 0, DO copied; the client subnet with its scope (RFC 7871 §7.2.1) and any
/// Extended DNS Error (RFC 8914 §2).
fn opt(writer: &mut Writer<'_>, request: &EdnsRequest, resolution: &Resolution) -> Result<(), EncodeError> {
    writer.u8(0);
    writer.u16(hickory_proto::rr::RecordType::OPT.into());
    writer.u16(ADVERTISED_PAYLOAD);
    let dnssec_ok: u32 = if request.dnssec_ok { 0x8000 } else { 0 };
    writer.u32(u32::from(resolution.rcode.high()) << 24 | dnssec_ok);
    let length_at = writer.len();
    writer.u16(0);
    if let Some(subnet) = &request.client_subnet {
        let data = subnet.encode_response(resolution.scope);
        option(writer, CLIENT_SUBNET_OPTION, &[&data])?;
    }
    if let Some(extended) = resolution.extended_error {
        option(writer, EXTENDED_ERROR_OPTION, &[&extended_error_code(extended), extended.text().as_bytes()])?;
    }
    let length = writer.len() - length_at - 2;
    writer.patch_u16(length_at, u16::try_from(length).map_err(|_| EncodeError::RdataTooLong(length))?);
    Ok(())
}

/// One EDNS option: code, length, then the parts of its data.
fn option(writer: &mut Writer<'_>, code: u16, parts: &[&[u8]]) -> Result<(), EncodeError> {
    let length: usize = parts.iter().map(|part| part.len()).sum();
    writer.u16(code);
    writer.u16(u16::try_from(length).map_err(|_| EncodeError::RdataTooLong(length))?);
    for part in parts {
        writer.slice(part);
    }
    Ok(())
}

fn extended_error_code(error: ExtendedError) -> [u8; 2] {
    error.code().to_be_bytes()
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
    resolution.authority.iter().map(|record| record.ttl).chain(resolution.answers.min_ttl()).min()
}
