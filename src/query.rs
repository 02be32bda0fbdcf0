//! Parses and checks one DNS query message (RFC 1035 §4.1, RFC 6891, RFC 7871).
//!
//! The outcome is either a [`Query`] the engine can answer, an [`ErrorReply`] saying which
//! error RCODE the message earns (FORMERR, NOTIMP, BADVERS), or [`NotDns`] when the bytes are
//! not a DNS message at all (the HTTP layer answers 400 to that, RFC 8484 §4.2.1).

use hickory_proto::op::{Query as Question, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use crate::client::{ClientSubnet, CLIENT_SUBNET_OPTION};

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;

/// The header fields a response echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderEcho {
    /// Message ID, echoed as received (RFC 8484 §4.1 clients send 0).
    pub id: u16,
    /// OPCODE, echoed even when not implemented.
    pub opcode: u8,
    /// RD, copied (RFC 1035 §4.1.1).
    pub recursion_desired: bool,
    /// CD, copied (RFC 4035 §3.2.2).
    pub checking_disabled: bool,
    /// AD in the query: the client wants to know whether the data was validated (RFC 6840
    /// §5.7); a forwarded answer keeps the upstream's AD only then, or with DO.
    pub authentic_data: bool,
}

/// What the query's OPT record asked for (RFC 6891 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdnsRequest {
    /// The DO bit, copied into the response's OPT (RFC 3225 §3).
    pub dnssec_ok: bool,
    /// The CO bit, Compact Answers OK (RFC 9824 §4): the client reads NXNAME, so a signed
    /// nonexistent name may keep its NXDOMAIN RCODE.
    pub compact_ok: bool,
    /// A well-formed Client Subnet option, if one was sent.
    pub client_subnet: Option<ClientSubnet>,
}

/// A query the engine can answer: standard opcode, one question, at most one OPT of version 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Header fields to echo.
    pub header: HeaderEcho,
    /// The question as received, name case included (0x20 clients check it).
    pub question: Question,
    /// EDNS, when the query carried an OPT record.
    pub edns: Option<EdnsRequest>,
}

/// A message that is DNS but not a query we answer normally: the reply it earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// Header fields to echo.
    pub header: HeaderEcho,
    /// The question, when it could be read.
    pub question: Option<Question>,
    /// EDNS, when the query had a usable OPT record.
    pub edns: Option<EdnsRequest>,
    /// The RCODE to answer with.
    pub rcode: ResponseCode,
    /// Why, for logs and the Extended DNS Error.
    pub reason: Problem,
}

/// Why a DNS message earns an error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// QR=1 in a query (RFC 1035 §4.1.1).
    NotAQuery,
    /// QDCOUNT is not 1 (RFC 9619).
    QuestionCount,
    /// A section could not be read.
    Malformed,
    /// More than one OPT record (RFC 6891 §6.1.1).
    SeveralOpt,
    /// OPT with an owner other than the root, or unreadable options (RFC 6891 §6.1.2).
    BadOpt,
    /// EDNS version above 0 (RFC 6891 §6.1.3).
    EdnsVersion,
    /// A malformed Client Subnet option (RFC 7871 §7.1.1).
    BadClientSubnet,
    /// An opcode other than QUERY (RFC 1035 §4.1.1).
    Opcode,
    /// A meta type (OPT, TKEY...) asked as a question.
    MetaType,
}

/// The bytes are not a DNS message at all (too short, or the question cannot be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotDns;

/// The result of parsing: an answerable query or the error reply it earns.
pub type Parsed = Result<Query, ErrorReply>;

/// Parses a query message.
pub fn parse(bytes: &[u8]) -> Result<Parsed, NotDns> {
    let header_bytes: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN).and_then(|slice| slice.try_into().ok()).ok_or(NotDns)?;
    let [id0, id1, flags0, flags1, qd0, qd1, an0, an1, ns0, ns1, ar0, ar1] = *header_bytes;
    let header = HeaderEcho {
        id: u16::from_be_bytes([id0, id1]),
        opcode: (flags0 >> 3) & 0x0f,
        recursion_desired: flags0 & 0x01 != 0,
        checking_disabled: flags1 & 0x10 != 0,
        authentic_data: flags1 & 0x20 != 0,
    };
    let is_response = flags0 & 0x80 != 0;
    let question_count = u16::from_be_bytes([qd0, qd1]);
    let answer_count = u16::from_be_bytes([an0, an1]);
    let authority_count = u16::from_be_bytes([ns0, ns1]);
    let additional_count = u16::from_be_bytes([ar0, ar1]);

    let mut decoder = BinDecoder::new(bytes);
    decoder.read_slice(HEADER_LEN).map_err(|_| NotDns)?;

    let question = if question_count >= 1 { Some(read_question(&mut decoder).ok_or(NotDns)?) } else { None };
    let reject = |question: Option<Question>, edns, rcode, reason| ErrorReply { header, question, edns, rcode, reason };
    if is_response {
        return Ok(Err(reject(question, None, ResponseCode::FormErr, Problem::NotAQuery)));
    }
    if question_count != 1 {
        return Ok(Err(reject(question, None, ResponseCode::FormErr, Problem::QuestionCount)));
    }

    // The answer and authority sections of a query carry nothing for us; step over them.
    for _ in 0..u32::from(answer_count) + u32::from(authority_count) {
        if read_record_frame(&mut decoder).is_none() {
            return Ok(Err(reject(question, None, ResponseCode::FormErr, Problem::Malformed)));
        }
    }
    let edns = match read_additional(&mut decoder, additional_count) {
        Ok(edns) => edns,
        Err((problem, edns)) => {
            let rcode = if problem == Problem::EdnsVersion { ResponseCode::BADVERS } else { ResponseCode::FormErr };
            return Ok(Err(reject(question, edns, rcode, problem)));
        }
    };
    let Some(question) = question else {
        return Ok(Err(reject(None, edns, ResponseCode::FormErr, Problem::QuestionCount)));
    };
    if header.opcode != 0 {
        return Ok(Err(reject(Some(question), edns, ResponseCode::NotImp, Problem::Opcode)));
    }
    if matches!(u16::from(question.query_type), 41 | 249 | 250) {
        return Ok(Err(reject(Some(question), edns, ResponseCode::FormErr, Problem::MetaType)));
    }
    Ok(Ok(Query { header, question, edns }))
}

fn read_question(decoder: &mut BinDecoder<'_>) -> Option<Question> {
    let name = Name::read(decoder).ok()?;
    let query_type = RecordType::from(decoder.read_u16().ok()?.unverified());
    let query_class = DNSClass::from(decoder.read_u16().ok()?.unverified());
    let mut question = Question::query(name, query_type);
    question.query_class = query_class;
    Some(question)
}

/// One resource record's frame: type, CLASS field, TTL field and RDATA bytes.
struct RecordFrame<'a> {
    owner_is_root: bool,
    record_type: u16,
    class: u16,
    ttl: u32,
    data: &'a [u8],
}

fn read_record_frame<'a>(decoder: &mut BinDecoder<'a>) -> Option<RecordFrame<'a>> {
    let owner = Name::read(decoder).ok()?;
    let record_type = decoder.read_u16().ok()?.unverified();
    let class = decoder.read_u16().ok()?.unverified();
    let ttl = decoder.read_u32().ok()?.unverified();
    let length = decoder.read_u16().ok()?.unverified();
    let data = decoder.read_slice(usize::from(length)).ok()?.unverified();
    Some(RecordFrame { owner_is_root: owner.is_root(), record_type, class, ttl, data })
}

/// Reads the additional section, keeping the single OPT record (RFC 6891 §6.1.1).
/// On error, returns the problem and, when an OPT was read, what it asked for (so BADVERS
/// and FORMERR replies still carry an OPT).
fn read_additional(decoder: &mut BinDecoder<'_>, count: u16) -> Result<Option<EdnsRequest>, (Problem, Option<EdnsRequest>)> {
    let mut edns: Option<EdnsRequest> = None;
    let mut problem: Option<Problem> = None;
    for _ in 0..count {
        let frame = read_record_frame(decoder).ok_or((Problem::Malformed, edns))?;
        if frame.record_type != u16::from(RecordType::OPT) {
            continue;
        }
        if edns.is_some() {
            return Err((Problem::SeveralOpt, edns));
        }
        let _ = frame.class; // the requestor's UDP payload size is ignored over HTTPS (RFC 8484 §6)
        let version = ((frame.ttl >> 16) & 0xff) as u8;
        let dnssec_ok = frame.ttl & 0x8000 != 0;
        let compact_ok = frame.ttl & 0x4000 != 0;
        let mut request = EdnsRequest { dnssec_ok, compact_ok, client_subnet: None };
        if !frame.owner_is_root {
            problem.get_or_insert(Problem::BadOpt);
        } else if version > 0 {
            problem.get_or_insert(Problem::EdnsVersion);
        } else {
            match read_options(frame.data) {
                Ok(subnet) => request.client_subnet = subnet,
                Err(option_problem) => {
                    problem.get_or_insert(option_problem);
                }
            }
        }
        edns = Some(request);
    }
    match problem {
        Some(problem) => Err((problem, edns)),
        None => Ok(edns),
    }
}

/// Walks the OPT RDATA's options; returns the Client Subnet one, ignoring unknown options
/// (RFC 6891 §6.1.2).
fn read_options(mut data: &[u8]) -> Result<Option<ClientSubnet>, Problem> {
    let mut subnet = None;
    while !data.is_empty() {
        let (head, rest) = data.split_at_checked(4).ok_or(Problem::BadOpt)?;
        let [c0, c1, l0, l1] = <[u8; 4]>::try_from(head).map_err(|_| Problem::BadOpt)?;
        let code = u16::from_be_bytes([c0, c1]);
        let length = usize::from(u16::from_be_bytes([l0, l1]));
        let (value, rest) = rest.split_at_checked(length).ok_or(Problem::BadOpt)?;
        if code == CLIENT_SUBNET_OPTION {
            if subnet.is_some() {
                return Err(Problem::BadClientSubnet);
            }
            subnet = Some(ClientSubnet::decode(value).map_err(|_| Problem::BadClientSubnet)?);
        }
        data = rest;
    }
    Ok(subnet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// Builds a query: header flags, one question, optional raw additional records.
    fn message(flags: u16, qdcount: u16, additional: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = vec![0x12, 0x34];
        bytes.extend(flags.to_be_bytes());
        bytes.extend(qdcount.to_be_bytes());
        bytes.extend([0, 0, 0, 0]);
        bytes.extend((additional.len() as u16).to_be_bytes());
        for _ in 0..qdcount {
            bytes.extend(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        }
        for record in additional {
            bytes.extend(record);
        }
        bytes
    }

    fn opt(version: u8, do_bit: bool, options: &[u8]) -> Vec<u8> {
        let mut record = vec![0, 0, 41, 0x10, 0x00, 0, version];
        record.push(if do_bit { 0x80 } else { 0 });
        record.push(0);
        record.extend((options.len() as u16).to_be_bytes());
        record.extend(options);
        record
    }

    #[test]
    fn parses_rfc8484_example() {
        let query = parse(&b64("AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB")).unwrap().unwrap();
        assert_eq!(query.header.id, 0);
        assert!(query.header.recursion_desired);
        assert_eq!(query.question.name.to_ascii(), "www.example.com.");
        assert_eq!(query.question.query_type, RecordType::A);
        assert_eq!(query.edns, None);
    }

    #[test]
    fn parses_rfc8484_long_label_example() {
        let query =
            parse(&b64("AAABAAABAAAAAAAAAWE-NjJjaGFyYWN0ZXJsYWJlbC1tYWtlcy1iYXNlNjR1cmwtZGlzdGluY3QtZnJvbS1zdGFuZGFyZC1iYXNlNjQHZXhhbXBsZQNjb20AAAEAAQ"))
                .unwrap()
                .unwrap();
        assert_eq!(query.question.name.iter().next().map(<[u8]>::len), Some(1));
        assert_eq!(query.question.name.num_labels(), 4);
    }

    #[test]
    fn keeps_question_case() {
        let mut bytes = message(0x0100, 1, &[]);
        bytes[13] = b'W';
        let query = parse(&bytes).unwrap().unwrap();
        assert_eq!(query.question.name.to_ascii(), "Www.example.com.");
    }

    #[test]
    fn garbage_is_not_dns() {
        assert_eq!(parse(b"hello"), Err(NotDns));
        assert_eq!(parse(&[]), Err(NotDns));
        // A header that announces a question that is not there.
        assert_eq!(parse(&message(0x0100, 1, &[])[..12]), Err(NotDns));
        let mut truncated = message(0x0100, 1, &[]);
        truncated.truncate(20);
        assert_eq!(parse(&truncated), Err(NotDns));
    }

    #[test]
    fn response_bit_and_question_count_are_formerr() {
        let reply = parse(&message(0x8100, 1, &[])).unwrap().unwrap_err();
        assert_eq!((reply.rcode, reply.reason), (ResponseCode::FormErr, Problem::NotAQuery));
        let reply = parse(&message(0x0100, 2, &[])).unwrap().unwrap_err();
        assert_eq!((reply.rcode, reply.reason), (ResponseCode::FormErr, Problem::QuestionCount));
        let reply = parse(&message(0x0100, 0, &[])).unwrap().unwrap_err();
        assert_eq!(reply.reason, Problem::QuestionCount);
        assert_eq!(reply.question, None);
    }

    #[test]
    fn other_opcodes_are_notimp_with_opcode_echoed() {
        let reply = parse(&message(0x2100, 1, &[])).unwrap().unwrap_err();
        assert_eq!(reply.rcode, ResponseCode::NotImp);
        assert_eq!(reply.header.opcode, 4);
        assert!(reply.question.is_some());
    }

    #[test]
    fn edns_rules() {
        let query = parse(&message(0x0110, 1, &[opt(0, true, &[0, 10, 0, 2, 1, 2])])).unwrap().unwrap();
        assert_eq!(query.edns, Some(EdnsRequest { dnssec_ok: true, compact_ok: false, client_subnet: None }));
        assert!(query.header.checking_disabled);

        let reply = parse(&message(0x0100, 1, &[opt(1, false, &[])])).unwrap().unwrap_err();
        assert_eq!(reply.rcode, ResponseCode::BADVERS);
        assert!(reply.edns.is_some());

        let reply = parse(&message(0x0100, 1, &[opt(0, false, &[]), opt(0, false, &[])])).unwrap().unwrap_err();
        assert_eq!((reply.rcode, reply.reason), (ResponseCode::FormErr, Problem::SeveralOpt));

        let reply = parse(&message(0x0100, 1, &[opt(0, false, &[0, 8, 0, 9])])).unwrap().unwrap_err();
        assert_eq!(reply.reason, Problem::BadOpt);
    }

    #[test]
    fn client_subnet_is_checked() {
        let ecs = [0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2];
        let query = parse(&message(0x0100, 1, &[opt(0, false, &ecs)])).unwrap().unwrap();
        let subnet = query.edns.unwrap().client_subnet.unwrap();
        assert_eq!(subnet.network().to_string(), "192.0.2.0/24");

        let bad = [0, 8, 0, 7, 0, 1, 23, 0, 192, 0, 3];
        let reply = parse(&message(0x0100, 1, &[opt(0, false, &bad)])).unwrap().unwrap_err();
        assert_eq!((reply.rcode, reply.reason), (ResponseCode::FormErr, Problem::BadClientSubnet));
    }

    #[test]
    fn meta_types_are_formerr() {
        let mut bytes = message(0x0100, 1, &[]);
        let len = bytes.len();
        bytes[len - 3] = 41;
        let reply = parse(&bytes).unwrap().unwrap_err();
        assert_eq!(reply.reason, Problem::MetaType);
    }

    #[test]
    fn never_panics_on_mutations() {
        let base = message(0x0100, 1, &[opt(0, true, &[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2])]);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = base.clone();
            let position = (state % bytes.len() as u64) as usize;
            bytes[position] = (state >> 32) as u8;
            if state.is_multiple_of(5) {
                bytes.truncate(position);
            }
            let _ = parse(&bytes);
        }
    }
}
