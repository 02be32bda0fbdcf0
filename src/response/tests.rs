//! Byte-level fixtures of the writer; its differential test against hickory's encoder is
//! `tests/response.rs`.

use std::str::FromStr;

use hickory_proto::op::{Query as Question, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::compression::Compression;
use super::*;

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn header() -> HeaderEcho {
    HeaderEcho { id: 0x1234, opcode: 0, recursion_desired: true, checking_disabled: false, authentic_data: false }
}

#[test]
fn a_plain_answer_points_its_owner_at_the_question() {
    let question = Question::query(name("h5.bench.test."), RecordType::A);
    let resolution = Resolution {
        answers: vec![Record::from_rdata(name("h5.bench.test."), 300, RData::A(A::new(192, 0, 2, 5)))].into(),
        authoritative: true,
        ..Resolution::new(ResponseCode::NoError)
    };
    let encoded = encode(&header(), Some(&question), None, &resolution).unwrap();
    let expected: &[u8] = &[
        0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, // header: QR AA RD, one question, one answer
        2, b'h', b'5', 5, b'b', b'e', b'n', b'c', b'h', 4, b't', b'e', b's', b't', 0, 0, 1, 0, 1, // question
        0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 5, // the answer, its owner a pointer to 12
    ];
    assert_eq!(encoded.bytes, expected);
}

#[test]
fn suffixes_match_ignoring_case_and_through_pointers() {
    let mut bytes = Vec::new();
    let mut writer = writer::Writer::new(&mut bytes);
    writer.header(0, 0);
    let question = Question::query(name("WWW.Example.com."), RecordType::CNAME);
    writer.question(&question).unwrap();
    writer.record(&Record::from_rdata(name("www.example.com."), 60, RData::CNAME(CNAME(name("web.example.COM."))))).unwrap();
    // The owner is the question's name (a pointer to 12); the target shares "example.com".
    let target = 12 + 17 + 4 + 2 + 10;
    assert_eq!(bytes.get(12 + 17 + 4..12 + 17 + 6), Some(&[0xC0, 12][..]));
    assert_eq!(bytes.get(target..), Some(&[3, b'w', b'e', b'b', 0xC0, 16][..]));
    // What a table holding the question's labels finds.
    let mut table = Compression::new();
    table.remember(&bytes, 12, 3, None);
    let found = table.find(&bytes, &name("mail.other.com.")).unwrap();
    assert_eq!((found.labels, found.offset), (1, 24));
    let found = table.find(&bytes, &name("EXAMPLE.com.")).unwrap();
    assert_eq!((found.labels, found.offset), (2, 16));
}

#[test]
fn names_past_the_pointer_limit_are_not_remembered() {
    let mut table = Compression::new();
    let mut bytes = vec![0; 0x4000];
    bytes.extend_from_slice(&[3, b'c', b'o', b'm', 0]);
    table.remember(&bytes, 0x4000, 1, None);
    assert_eq!(table.find(&bytes, &name("com.")), None);
}

#[test]
fn extended_rcodes_put_their_high_bits_in_opt() {
    let question = Question::query(name("x.test."), RecordType::A);
    let edns = EdnsRequest { dnssec_ok: true, compact_ok: false, client_subnet: None };
    let encoded = encode(&header(), Some(&question), Some(&edns), &Resolution::error(ResponseCode::BADVERS, None)).unwrap();
    // OPT: root, type 41, payload 1232, extended RCODE 1, version 0, DO, no options.
    assert_eq!(encoded.bytes.get(encoded.bytes.len() - 11..), Some(&[0, 0, 41, 0x04, 0xD0, 1, 0, 0x80, 0, 0, 0][..]));
    assert_eq!(encoded.bytes.get(3).map(|flags| flags & 0x0F), Some(0));
}

/// A signed wire set: its RRSIGs written after its records with the owner's pointer, octet
/// for octet what hickory's encoder writes for the same records (the RRSIG as a record of
/// RFC 3597 form, which is how they were written before they rode in the wire set).
#[test]
fn a_signed_wire_sets_rrsigs_are_the_bytes_hickory_writes_for_them() {
    use crate::answer::{PackedRdata, WireRrSet};
    use hickory_proto::op::{emit_message_parts, Message, MessageType, Metadata, OpCode};
    use hickory_proto::rr::DNSClass;
    use hickory_proto::serialize::binary::BinEncoder;

    let question = Question::query(name("H5.bench.test."), RecordType::A);
    let mut set = WireRrSet::new(name("H5.bench.test."), RecordType::A, DNSClass::IN, 300, [&[192, 0, 2, 5][..], &[192, 0, 2, 6]]);
    // Two RRSIGs (a rollover's DNSKEY set has two): type covered, algorithm, labels, original
    // TTL, expiration, inception, key tag, signer's name, signature.
    let mut rrsigs = PackedRdata::new();
    for tag in [0x1234u16, 0x5678] {
        let mut rdata = vec![0, 1, 13, 3, 0, 0, 1, 44, 0x6A, 0, 0, 0, 0x69, 0, 0, 0];
        rdata.extend_from_slice(&tag.to_be_bytes());
        rdata.extend_from_slice(b"\x05bench\x04test\x00");
        rdata.extend_from_slice(&[0xAB; 64]);
        rrsigs.push(&rdata);
    }
    set.sign(rrsigs);
    let mut resolution = Resolution { authoritative: true, ..Resolution::new(ResponseCode::NoError) };
    resolution.answers.push_wire(set);
    let ours = encode(&header(), Some(&question), None, &resolution).unwrap();

    let mut metadata = Metadata::new(0x1234, MessageType::Response, OpCode::Query);
    metadata.authoritative = true;
    metadata.recursion_desired = true;
    let records = resolution.answers.records();
    assert_eq!(records.iter().map(Record::record_type).collect::<Vec<_>>(), [RecordType::A, RecordType::A, RecordType::RRSIG, RecordType::RRSIG]);
    let none: [Record; 0] = [];
    let mut theirs = Vec::new();
    emit_message_parts(
        &metadata,
        &mut [&question].into_iter(),
        &mut records.iter(),
        &mut none.iter(),
        &mut none.iter(),
        None,
        None,
        &mut BinEncoder::new(&mut theirs),
    )
    .unwrap();
    assert_eq!(ours.bytes, theirs);
    assert_eq!(Message::from_vec(&ours.bytes).unwrap().answers.len(), 4);
}
