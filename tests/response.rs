//! The response writer (`src/response/`) against hickory's encoder, which it replaced: for
//! every answer the example zones, the test zones and a generated zone give for their names and
//! types, across client locations, and for hand-made resolutions (unusual types, upper case,
//! names near 255 bytes, more names than the compression table holds, resolver pass-through),
//! both outputs decode to the same message, and the writer's is never longer; where nothing
//! differs in kind (no upper case against lower, no names hickory keeps that the writer does
//! not), they are the same bytes.

#[path = "../benches/support/zonegen.rs"]
mod zonegen;

use std::str::FromStr;

use edgedns::answer::{self, ExtendedError, Inputs, Resolution};
use edgedns::client::{ClientSubnet, CLIENT_SUBNET_OPTION};
use edgedns::geo::places::Coordinates;
use edgedns::policy::{ClientView, NoHealthData, SplitMix};
use edgedns::query::{EdnsRequest, HeaderEcho};
use edgedns::response::{encode, EncodeError};
use edgedns::snapshot::{self, Index};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{emit_message_parts, Edns, Message, MessageType, Metadata, OpCode, Query as Question, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{self, A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;

/// What `response::encode` wrote before the writer: hickory's encoder over the same parts.
fn reference(header: &HeaderEcho, question: Option<&Question>, edns: Option<&EdnsRequest>, resolution: &Resolution) -> Vec<u8> {
    let mut metadata = Metadata::new(header.id, MessageType::Response, OpCode::from_u8(header.opcode));
    metadata.authoritative = resolution.authoritative;
    metadata.recursion_desired = header.recursion_desired;
    metadata.checking_disabled = header.checking_disabled;
    metadata.recursion_available = resolution.recursion_available;
    metadata.authentic_data = resolution.authentic_data;
    metadata.response_code = resolution.rcode;
    let reply = edns.map(|request| {
        let mut reply = Edns::new();
        reply.set_max_payload(1232);
        reply.set_version(0);
        reply.set_dnssec_ok(request.dnssec_ok);
        let options = &mut reply.options_mut().options;
        if let Some(subnet) = &request.client_subnet {
            options.push((EdnsCode::from(CLIENT_SUBNET_OPTION), EdnsOption::Unknown(CLIENT_SUBNET_OPTION, subnet.encode_response(resolution.scope))));
        }
        if let Some(extended) = resolution.extended_error {
            let mut data = extended.code().to_be_bytes().to_vec();
            data.extend_from_slice(extended.text().as_bytes());
            options.push((EdnsCode::from(15), EdnsOption::Unknown(15, data)));
        }
        reply
    });
    let mut bytes = Vec::new();
    emit_message_parts(
        &metadata,
        &mut question.into_iter(),
        &mut resolution.answers.records().iter(),
        &mut resolution.authority.iter(),
        &mut resolution.additional.iter(),
        reply.as_ref(),
        None,
        &mut BinEncoder::new(&mut bytes),
    )
    .unwrap();
    bytes
}

#[derive(Default)]
struct Tally {
    cases: usize,
    same_bytes: usize,
    shorter: usize,
    /// Responses whose answer ended with a set copied in wire form from a compact zone.
    wire: usize,
}

/// Encodes both ways and checks the writer's output: it decodes to what hickory's does and is
/// never longer. Returns whether the bytes are the same.
fn check(header: &HeaderEcho, question: Option<&Question>, edns: Option<&EdnsRequest>, resolution: &Resolution, tally: &mut Tally) -> bool {
    let ours = encode(header, question, edns, resolution).unwrap_or_else(|error| panic!("{error:?} for {resolution:?}"));
    let theirs = reference(header, question, edns, resolution);
    let decoded = Message::from_vec(&ours.bytes).unwrap_or_else(|error| panic!("{error} decoding {:?} for {resolution:?}", ours.bytes));
    let expected = Message::from_vec(&theirs).unwrap();
    assert_eq!(decoded, expected, "for {resolution:?}");
    // Names compare ignoring case; the question's must be as asked (RFC 1035 §7.3, 0x20).
    if let (Some(asked), Some(echoed)) = (question, decoded.queries.first()) {
        assert!(asked.name.eq_case(&echoed.name));
    }
    assert!(ours.bytes.len() <= theirs.len(), "{} > {} bytes for {resolution:?}", ours.bytes.len(), theirs.len());
    tally.cases += 1;
    tally.wire += usize::from(resolution.answers.parts().1.is_some());
    let same = ours.bytes == theirs;
    tally.same_bytes += usize::from(same);
    tally.shorter += usize::from(ours.bytes.len() < theirs.len());
    same
}

fn header() -> HeaderEcho {
    HeaderEcho { id: 0xbeef, opcode: 0, recursion_desired: true, checking_disabled: false, authentic_data: false }
}

fn subnet(data: &[u8]) -> ClientSubnet {
    ClientSubnet::decode(data).unwrap()
}

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn sources(dirs: &[&str]) -> Vec<SourceFile> {
    let mut sources = Vec::new();
    for dir in dirs {
        let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|path| path.is_file()).collect();
        paths.sort();
        for path in paths {
            sources.push(SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() });
        }
    }
    sources
}

/// Client locations that take routed sets down different branches.
fn clients() -> Vec<ClientView> {
    let place = |country: &str, continent: &str, subdivision: Option<&str>, latitude: f64, longitude: f64, edge: &str| ClientView {
        country: Some(country.into()),
        continent: Some(continent.into()),
        subdivision: subdivision.map(Into::into),
        coordinates: Some(Coordinates { latitude, longitude }),
        asn: Some(64501),
        edge_location: Some(edge.into()),
        network: Some("203.0.113.0/24".parse().unwrap()),
        ..ClientView::default()
    };
    vec![
        ClientView::default(),
        place("US", "NA", Some("WA"), 47.61, -122.33, "SEA"),
        place("DE", "EU", None, 50.11, 8.68, "FRA"),
        place("JP", "AS", None, 35.68, 139.69, "NRT"),
        place("BR", "SA", None, -23.55, -46.63, "GRU"),
    ]
}

/// The EDNS variants asked with: none, plain, DO with an IPv4 subnet, an IPv6 subnet.
fn edns_variants() -> Vec<Option<EdnsRequest>> {
    vec![
        None,
        Some(EdnsRequest { dnssec_ok: false, compact_ok: false, client_subnet: None }),
        Some(EdnsRequest { dnssec_ok: true, compact_ok: false, client_subnet: Some(subnet(&[0, 1, 24, 0, 203, 0, 113])) }),
        Some(EdnsRequest { dnssec_ok: false, compact_ok: false, client_subnet: Some(subnet(&[0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0])) }),
    ]
}

const TYPES: [RecordType; 16] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::NS,
    RecordType::SOA,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SRV,
    RecordType::PTR,
    RecordType::CAA,
    RecordType::HTTPS,
    RecordType::SVCB,
    RecordType::NAPTR,
    RecordType::ANY,
    RecordType::DS,
    RecordType::AXFR,
];

/// Every name of every zone, every type above, every client and EDNS variant, the name as
/// stored and in upper case, and a name below each (NXDOMAIN or a wildcard).
fn sweep(catalog: &Catalog, tally: &mut Tally) {
    let mut random = SplitMix::new(7);
    let clients = clients();
    let edns = edns_variants();
    let mut names = Vec::new();
    for zone in catalog.zones() {
        for (owner, _) in zone.nodes() {
            let owner = Name::from(&*owner);
            names.push((owner.clone(), true));
            names.push((Name::from_ascii(owner.to_ascii().to_uppercase()).unwrap(), false));
            if let Ok(below) = Name::from_ascii("nx-below").and_then(|label| label.append_domain(&owner)) {
                names.push((below, true));
            }
        }
    }
    for (name, lower_case) in &names {
        for record_type in TYPES {
            let question = Question::query(name.clone(), record_type);
            for client in &clients {
                let mut inputs = Inputs { client, health: &NoHealthData, random: &mut random, trace: None };
                let resolution = answer::resolve(catalog, &question, &mut inputs);
                for request in &edns {
                    let same = check(&header(), Some(&question), request.as_ref(), &resolution, tally);
                    // Asked in the data's own case, the writer writes hickory's bytes.
                    assert!(same || !lower_case, "{question:?} {resolution:?}");
                }
            }
        }
    }
}

#[test]
fn zones_answer_as_hickory_encodes_them() {
    let catalog = compile_all(&sources(&["zones", "tests/zones"])).unwrap_or_else(|errors| panic!("{errors:?}"));
    let mut tally = Tally::default();
    sweep(&catalog, &mut tally);
    eprintln!("example and test zones: {} responses, {} the same bytes, {} shorter", tally.cases, tally.same_bytes, tally.shorter);
    assert!(tally.cases > 10_000);
}

/// The same zones as an isolate holds them: compact, from snapshot shards, plain sets of
/// A, AAAA and TXT answered from the shard's bytes.
#[test]
fn zones_held_compact_answer_as_hickory_encodes_them() {
    let whole = compile_all(&sources(&["zones", "tests/zones"])).unwrap_or_else(|errors| panic!("{errors:?}"));
    let built = snapshot::build(&whole, 2048, 1).unwrap();
    let index = Index::decode(&built.manifest_bytes).unwrap();
    assert!(built.shards.len() > 3, "several shards: {}", built.shards.len());
    let mut tally = Tally::default();
    for (n, bytes) in built.shards.iter().enumerate() {
        sweep(&index.manifest().decode_shard(n, bytes).unwrap(), &mut tally);
    }
    eprintln!("compact: {} responses, {} the same bytes, {} shorter, {} with a wire set", tally.cases, tally.same_bytes, tally.shorter, tally.wire);
    assert!(tally.cases > 10_000);
    assert!(tally.wire > 1_000, "the wire path answered {} responses", tally.wire);
}

#[test]
fn a_generated_zone_answers_as_hickory_encodes_it() {
    let zone = zonegen::generate(300);
    let catalog = compile_all(&[
        SourceFile { path: "bench.test.zone".into(), text: zone.master },
        SourceFile { path: "bench.test.routes.toml".into(), text: zone.routes },
    ])
    .unwrap_or_else(|errors| panic!("{errors:?}"));
    let mut tally = Tally::default();
    sweep(&catalog, &mut tally);
    eprintln!("generated zone: {} responses, {} the same bytes, {} shorter", tally.cases, tally.same_bytes, tally.shorter);
    assert!(tally.cases > 10_000);
}

fn record(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

fn soa(apex: &str) -> RData {
    RData::SOA(SOA::new(name(&format!("ns1.{apex}")), name(&format!("hostmaster.{apex}")), 2024010101, 7200, 900, 1209600, 300))
}

fn positive(answers: Vec<Record>) -> Resolution {
    Resolution { answers: answers.into(), authoritative: true, ..Resolution::new(ResponseCode::NoError) }
}

/// Hand-made resolutions: what zones give that the sweep may miss, and what resolver mode
/// passes through from upstreams.
#[allow(clippy::vec_init_then_push)] // one case per push, each under its comment
fn handmade() -> Vec<(Question, Resolution)> {
    let q = |text: &str, record_type| Question::query(name(text), record_type);
    let mut cases = Vec::new();
    // NXDOMAIN and NODATA with the SOA, EDE attached.
    cases.push((
        q("nope.example.test.", RecordType::A),
        Resolution { authority: vec![record("example.test.", 300, soa("example.test."))], ..Resolution::new(ResponseCode::NXDomain) },
    ));
    cases.push((
        q("www.example.test.", RecordType::MX),
        Resolution { authority: vec![record("example.test.", 300, soa("example.test."))], ..Resolution::new(ResponseCode::NoError) },
    ));
    cases.push((q("x.nowhere.", RecordType::A), Resolution::error(ResponseCode::Refused, Some(ExtendedError::NotAuthoritative))));
    cases.push((q("x.example.test.", RecordType::A), Resolution::error(ResponseCode::ServFail, Some(ExtendedError::NetworkError))));
    // An extended RCODE (BADVERS's high bits go in OPT).
    cases.push((q("x.example.test.", RecordType::A), Resolution::error(ResponseCode::BADVERS, None)));
    // A referral with glue.
    cases.push((
        q("a.b.sub.example.test.", RecordType::A),
        Resolution {
            authority: vec![
                record("sub.example.test.", 3600, RData::NS(NS(name("ns1.sub.example.test.")))),
                record("sub.example.test.", 3600, RData::NS(NS(name("ns.elsewhere.example.")))),
            ],
            additional: vec![
                record("ns1.sub.example.test.", 3600, RData::A(A::new(192, 0, 2, 53))),
                record("ns1.sub.example.test.", 3600, RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53))),
            ],
            ..Resolution::new(ResponseCode::NoError)
        },
    ));
    // A CNAME chain across zones, ending in an answer; and one ending negatively.
    cases.push((
        q("c1.example.test.", RecordType::A),
        positive(vec![
            record("c1.example.test.", 60, RData::CNAME(CNAME(name("c2.example.test.")))),
            record("c2.example.test.", 60, RData::CNAME(CNAME(name("h.other.example.")))),
            record("h.other.example.", 60, RData::A(A::new(192, 0, 2, 1))),
        ]),
    ));
    cases.push((
        q("c1.example.test.", RecordType::A),
        Resolution {
            answers: vec![record("c1.example.test.", 60, RData::CNAME(CNAME(name("gone.other.example."))))].into(),
            authority: vec![record("other.example.", 300, soa("other.example."))],
            ..Resolution::new(ResponseCode::NXDomain)
        },
    ));
    // Upper case in the question against lower case in the data, and the other way.
    cases.push((q("WWW.Example.TEST.", RecordType::CNAME), positive(vec![record("WWW.Example.TEST.", 60, RData::CNAME(CNAME(name("web.example.test."))))])));
    cases.push((q("web.example.test.", RecordType::MX), positive(vec![record("web.example.test.", 60, RData::MX(MX::new(10, name("MAIL.EXAMPLE.TEST."))))])));
    // Every type the writer writes itself, and some it leaves to hickory.
    let owner = "t.example.test.";
    let typed: Vec<RData> = vec![
        RData::TXT(TXT::new(vec!["v=spf1 -all".into(), String::new(), "x".repeat(255)])),
        RData::SRV(rdata::SRV::new(10, 60, 5060, name("sip.example.test."))),
        RData::PTR(rdata::PTR(name("host.example.test."))),
        RData::ANAME(rdata::ANAME(name("target.example.test."))),
        RData::CAA(rdata::CAA::new_issue(true, Some(name("ca.example.net.")), vec![])),
        RData::CAA(rdata::CAA::new_iodef(false, "mailto:security@example.test".parse().unwrap())),
        RData::HINFO(rdata::HINFO::new("x86-64".into(), "Linux".into())),
        RData::NAPTR(rdata::NAPTR::new(100, 10, b"S".to_vec().into(), b"SIP+D2U".to_vec().into(), b"".to_vec().into(), name("_sip._udp.example.test."))),
        RData::SSHFP(rdata::SSHFP::new(rdata::sshfp::Algorithm::Ed25519, rdata::sshfp::FingerprintType::SHA256, vec![0xab; 32])),
        RData::TLSA(rdata::TLSA::new(rdata::tlsa::CertUsage::DaneEe, rdata::tlsa::Selector::Spki, rdata::tlsa::Matching::Sha256, vec![0x12; 32])),
        RData::OPENPGPKEY(rdata::OPENPGPKEY::new(vec![1, 2, 3, 4])),
        RData::NULL(rdata::NULL::with(vec![0, 1, 2])),
        RData::Unknown { code: RecordType::Unknown(65280), rdata: rdata::NULL::with(vec![0xde, 0xad, 0xbe, 0xef]) },
        RData::Unknown { code: RecordType::Unknown(65281), rdata: rdata::NULL::with(vec![0]) },
        RData::HTTPS(rdata::HTTPS(rdata::SVCB::new(
            1,
            Name::root(),
            vec![
                (rdata::svcb::SvcParamKey::Alpn, rdata::svcb::SvcParamValue::Alpn(rdata::svcb::Alpn(vec!["h2".into(), "h3".into()]))),
                (rdata::svcb::SvcParamKey::Port, rdata::svcb::SvcParamValue::Port(8443)),
            ],
        ))),
        RData::SVCB(rdata::SVCB::new(0, name("svc.example.test."), vec![])),
    ];
    for data in typed {
        let record_type = data.record_type();
        cases.push((q(owner, record_type), positive(vec![record(owner, 300, data)])));
    }
    // Names that point into names written whole (SRV, NAPTR targets) later in the message.
    cases.push((
        q("_sip._udp.example.test.", RecordType::SRV),
        Resolution {
            additional: vec![record("sip.example.test.", 300, RData::A(A::new(192, 0, 2, 5)))],
            ..positive(vec![record("_sip._udp.example.test.", 300, RData::SRV(rdata::SRV::new(0, 5, 5060, name("sip.example.test."))))])
        },
    ));
    // Names near 255 bytes: four 61-byte labels and a short one (253 bytes as text).
    let long = format!("{0}.{0}.{0}.{0}.ab.", "a".repeat(61));
    cases.push((q(&long, RecordType::CNAME), positive(vec![record(&long, 60, RData::CNAME(CNAME(name(&format!("{0}.{0}.{0}.{0}.cd.", "b".repeat(61))))))])));
    // Many labels, one byte each.
    let many = format!("{}example.", "x.".repeat(120));
    cases.push((q(&many, RecordType::PTR), positive(vec![record(&many, 60, RData::PTR(rdata::PTR(name(&format!("y.{many}")))))])));
    // More distinct names than the compression table holds: 100 MX targets in 100 domains.
    let exchanges = (0..100).map(|i| record("big.example.test.", 60, RData::MX(MX::new(i, name(&format!("mx{i}.domain{i}.example.test.")))))).collect();
    cases.push((q("big.example.test.", RecordType::MX), positive(exchanges)));
    // And more records than hickory compresses names (120): 200 NS of one zone.
    let servers = (0..200).map(|i| record("wide.example.test.", 60, RData::NS(NS(name(&format!("ns{i}.wide.example.test.")))))).collect();
    cases.push((q("wide.example.test.", RecordType::NS), positive(servers)));
    cases
}

#[test]
fn handmade_resolutions_encode_as_hickory_encodes_them() {
    let mut tally = Tally::default();
    for (question, resolution) in handmade() {
        for request in edns_variants() {
            let resolution = Resolution { extended_error: resolution.extended_error.or(Some(ExtendedError::StaleAnswer)), scope: 24, ..resolution.clone() };
            check(&header(), Some(&question), request.as_ref(), &resolution, &mut tally);
        }
        check(&header(), Some(&question), None, &resolution, &mut tally);
        // No question (an error reply to a query that had none).
        check(&header(), None, None, &resolution, &mut tally);
    }
    eprintln!("handmade: {} responses, {} the same bytes, {} shorter", tally.cases, tally.same_bytes, tally.shorter);
}

#[test]
fn plain_answers_are_the_same_bytes() {
    let mut tally = Tally::default();
    let question = Question::query(name("h5.bench.test."), RecordType::A);
    let resolution =
        positive(vec![record("h5.bench.test.", 300, RData::A(A::new(192, 0, 2, 5))), record("h5.bench.test.", 300, RData::A(A::new(192, 0, 2, 6)))]);
    for request in edns_variants() {
        assert!(check(&header(), Some(&question), request.as_ref(), &resolution, &mut tally));
    }
    let nxdomain = Resolution { authority: vec![record("bench.test.", 300, soa("bench.test."))], ..Resolution::new(ResponseCode::NXDomain) };
    assert!(check(&header(), Some(&Question::query(name("nx.bench.test."), RecordType::A)), None, &nxdomain, &mut tally));
}

#[test]
fn a_full_compression_table_still_gives_a_correct_message() {
    // 300 names in 300 domains, three new labels each: the table fills after about 40 of them;
    // every name after is written whole and still decodes, and the names remembered still
    // compress when repeated at the end.
    let answers: Vec<Record> = (0..300).map(|i| record("full.example.test.", 60, RData::CNAME(CNAME(name(&format!("t{i}.d{i}.example{i}.")))))).collect();
    let question = Question::query(name("full.example.test."), RecordType::CNAME);
    let mut twice = answers.clone();
    twice.extend(answers.iter().cloned());
    let mut tally = Tally::default();
    for answers in [answers, twice] {
        let resolution = positive(answers.clone());
        check(&header(), Some(&question), None, &resolution, &mut tally);
        let encoded = encode(&header(), Some(&question), None, &resolution).unwrap();
        assert_eq!(Message::from_vec(&encoded.bytes).unwrap().answers, answers);
    }
    // The first target repeated: the last record but 299 is owner pointer, fixed fields, one
    // pointer for the target.
    let repeated =
        positive((0..301).map(|i| record("full.example.test.", 60, RData::CNAME(CNAME(name(&format!("t{0}.d{0}.example{0}.", i % 300)))))).collect());
    let once = positive((0..300).map(|i| record("full.example.test.", 60, RData::CNAME(CNAME(name(&format!("t{i}.d{i}.example{i}.")))))).collect());
    let (repeated, once) = (encode(&header(), Some(&question), None, &repeated).unwrap(), encode(&header(), Some(&question), None, &once).unwrap());
    assert_eq!(repeated.bytes.len(), once.bytes.len() + 2 + 10 + 2);
}

#[test]
fn an_oversize_message_is_an_error() {
    // 300 TXT records of 255-byte strings: over 76 kB.
    let big = (0..300).map(|_| record("big.example.test.", 60, RData::TXT(TXT::new(vec!["y".repeat(255)])))).collect();
    let question = Question::query(name("big.example.test."), RecordType::TXT);
    assert!(matches!(encode(&header(), Some(&question), None, &positive(big)), Err(EncodeError::MessageTooLong(_))));
    // One record whose RDATA alone is over 65,535 bytes.
    let huge = vec![record("big.example.test.", 60, RData::TXT(TXT::new(vec!["z".repeat(255); 300])))];
    assert!(encode(&header(), Some(&question), None, &positive(huge)).is_err());
    // Unknown RDATA written by hickory past the limit.
    let unknown = (0..2)
        .map(|_| record("big.example.test.", 60, RData::Unknown { code: RecordType::Unknown(65280), rdata: rdata::NULL::with(vec![7; 40_000]) }))
        .collect();
    assert!(matches!(encode(&header(), Some(&question), None, &positive(unknown)), Err(EncodeError::MessageTooLong(_))));
    // A character-string over 255 bytes.
    let long = vec![record("big.example.test.", 60, RData::TXT(TXT::from_bytes(vec![&[b'w'; 300][..]])))];
    assert!(matches!(encode(&header(), Some(&question), None, &positive(long)), Err(EncodeError::CharacterStringTooLong(300))));
}

#[test]
fn records_of_another_class_keep_it() {
    let mut chaos = record("version.bind.", 0, RData::TXT(TXT::new(vec!["edgedns".into()])));
    chaos.dns_class = DNSClass::CH;
    let mut question = Question::query(name("version.bind."), RecordType::TXT);
    question.query_class = DNSClass::CH;
    assert!(check(&header(), Some(&question), None, &positive(vec![chaos]), &mut Tally::default()));
}
