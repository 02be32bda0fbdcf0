//! Signed answers through the runtime: the test stack signs example.com and example.org (their
//! routes files say `dnssec = true`) with keys `scripts/test.sh` made into
//! `EDGEDNS_DNSSEC_VARS` and passed as secrets. Every answer asked with DO=1 (plain, CNAME chain,
//! wildcard, every routing policy for several clients, NODATA, a nonexistent name, referrals) is
//! validated from the zones' DS by two validators: dnspython over the DoH responses
//! (tests/e2e/dnssec_check.py), and BIND's `delv` through a DNS-over-TCP bridge to the Worker.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};

use super::*;
use hickory_proto::rr::RData;

/// The zones the stack signs.
const SIGNED: [&str; 2] = ["example.com.", "example.org."];

/// The DS records of the signed zones, as the CLI prints them for the registrar.
fn ds_lines() -> String {
    let vars = env("EDGEDNS_DNSSEC_VARS");
    SIGNED
        .iter()
        .map(|zone| {
            let output = Command::new(env("EDGEDNS_CLI")).args(["dnssec", "ds", zone, "--dev-vars", &vars]).env_remove(ds_variable(zone)).output().unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).unwrap()
        })
        .collect()
}

fn ds_variable(zone: &str) -> String {
    format!("DNSSEC_KEY_{}", zone.trim_end_matches('.').replace(['.', '-'], "_").to_ascii_uppercase())
}

/// A query with EDNS, DO and CO as given, and an optional client subnet.
fn signed_query(name: &str, record_type: RecordType, dnssec_ok: bool, compact_ok: bool, subnet: Option<(&str, u8)>) -> Vec<u8> {
    let mut message = Message::new(0x5ec, MessageType::Query, OpCode::Query);
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(dnssec_ok);
    if let Some((address, source)) = subnet {
        edns.options_mut().insert(hickory_proto::rr::rdata::opt::EdnsOption::Subnet(hickory_proto::rr::rdata::opt::ClientSubnet::new(
            address.parse().unwrap(),
            source,
            0,
        )));
    }
    message.edns = Some(edns);
    let mut bare = message.clone();
    bare.edns = None;
    let question_end = bare.to_vec().unwrap().len();
    let mut bytes = message.to_vec().unwrap();
    if compact_ok {
        // The OPT record follows the question: root name (1), type (2), class (2), extended
        // RCODE (1), version (1), then the flags, whose first octet holds DO (0x80) and CO
        // (0x40, RFC 9824 §4).
        bytes[question_end + 7] |= 0x40;
    }
    bytes
}

fn ask_signed(name: &str, record_type: RecordType, cf: Option<serde_json::Value>, subnet: Option<(&str, u8)>) -> Exchange {
    super::routing::post_as(&signed_query(name, record_type, true, false, subnet), cf)
}

fn types(records: &[hickory_proto::rr::Record]) -> Vec<RecordType> {
    records.iter().map(|record| record.record_type()).collect()
}

/// A question, and who asks it: the edge's location data (`request.cf`) or a client subnet.
type Asked = (String, RecordType, Option<serde_json::Value>, Option<(&'static str, u8)>);

#[test]
fn signed_answers_of_every_kind_and_policy_validate_with_dnspython_from_the_ds() {
    let dir = scratch("dnssec");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ds"), ds_lines()).unwrap();
    let us =
        serde_json::json!({ "country": "US", "continent": "NA", "regionCode": "WA", "latitude": "47.6", "longitude": "-122.3", "colo": "SEA", "asn": 7922 });
    let eu = serde_json::json!({ "country": "DE", "continent": "EU", "latitude": "50.1", "longitude": "8.7", "colo": "FRA", "asn": 3320 });
    let jp = serde_json::json!({ "country": "JP", "continent": "AS", "latitude": "35.7", "longitude": "139.7", "colo": "NRT", "asn": 2516 });
    let mut asked: Vec<Asked> = Vec::new();
    for zone in SIGNED {
        asked.push((zone.to_owned(), RecordType::DNSKEY, None, None));
        asked.push((zone.to_owned(), RecordType::SOA, None, None));
        asked.push((zone.to_owned(), RecordType::NS, None, None));
        asked.push((format!("nope.{zone}"), RecordType::A, None, None));
        asked.push((zone.to_owned(), RecordType::SRV, None, None));
    }
    for (name, record_type) in [
        ("example.com.", RecordType::MX),
        ("example.com.", RecordType::TXT),
        ("example.com.", RecordType::CAA),
        ("www.example.com.", RecordType::A),
        ("WWW.Example.Com.", RecordType::AAAA),
        ("www.example.com.", RecordType::HTTPS),
        ("www.example.com.", RecordType::TXT),
        ("blog.example.com.", RecordType::A),
        ("x.y.apps.example.com.", RecordType::A),
        ("x.apps.example.com.", RecordType::AAAA),
        ("_imaps._tcp.example.com.", RecordType::SRV),
        ("www.shop.example.com.", RecordType::A),
        ("shop.example.com.", RecordType::DS),
    ] {
        asked.push((name.to_owned(), record_type, None, None));
    }
    for name in ["www", "app", "geo.app", "api", "pool", "a.cdn", "portal", "edge", "isp", "sticky", "example.org."] {
        let name = if name.ends_with('.') { name.to_owned() } else { format!("{name}.example.org.") };
        for cf in [&us, &eu, &jp] {
            asked.push((name.clone(), RecordType::A, Some(cf.clone()), None));
        }
        asked.push((name.clone(), RecordType::A, None, Some(("203.0.113.9", 24))));
    }
    let mut files = Vec::new();
    let mut routed_answers = std::collections::BTreeSet::new();
    for (n, (name, record_type, cf, subnet)) in asked.iter().enumerate() {
        let exchange = ask_signed(name, *record_type, cf.clone(), *subnet);
        let message = exchange.message();
        assert!(message.edns.as_ref().is_some_and(|edns| edns.flags().dnssec_ok), "{name} {record_type}: DO echoed");
        assert!(!message.metadata.authentic_data, "{name} {record_type}: an authoritative signer leaves AD clear");
        let answer_types = types(&message.answers);
        if message.answers.iter().any(|record| record.record_type() != RecordType::RRSIG) {
            assert!(answer_types.contains(&RecordType::RRSIG), "{name} {record_type}: {answer_types:?}");
        } else if !message.authorities.iter().any(|record| record.record_type() == RecordType::NS) {
            let authority = types(&message.authorities);
            assert_eq!(authority, [RecordType::SOA, RecordType::RRSIG, RecordType::NSEC, RecordType::RRSIG], "{name} {record_type}: compact denial");
        }
        if name.ends_with("example.org.") {
            routed_answers.insert(answers(&message).into_iter().filter(|line| !line.contains("RRSIG")).collect::<Vec<_>>().join(","));
        }
        let path = dir.join(format!("{n:03}.bin"));
        std::fs::write(&path, &exchange.body).unwrap();
        files.push(path);
    }
    assert!(routed_answers.len() >= 8, "the clients got different routed answers, each signed: {routed_answers:?}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let output = dnssec_python().arg("tests/e2e/dnssec_check.py").arg(dir.join("ds")).arg(now.to_string()).args(&files).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "dnspython: {printed}\n{}", String::from_utf8_lossy(&output.stderr));
    let validated = printed.lines().filter(|line| line.starts_with("ok ")).count();
    assert!(validated >= asked.len(), "{validated} RRsets validated: {printed}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nonexistent_names_are_compact_nodata_with_nxname_and_nxdomain_for_co_clients() {
    let url = format!("{}/dns-query", http_base());
    let message = curl_post(&url, &signed_query("nope.example.com.", RecordType::A, true, false, None), &[]).message();
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    let nsec = message.authorities.iter().find(|record| record.record_type() == RecordType::NSEC).expect("an NSEC");
    assert_eq!(nsec.name, Name::from_str("nope.example.com.").unwrap());
    let RData::Unknown { rdata, .. } = &nsec.data else { panic!("{:?}", nsec.data) };
    // Next name \000.nope.example.com., then the bitmap: window 0 (RRSIG, NSEC) and NXNAME (128).
    let next = b"\x01\x00\x04nope\x07example\x03com\x00";
    assert_eq!(&rdata.anything[..next.len()], next);
    let mut bitmap = vec![0u8, 17, 0, 0, 0, 0, 0, 0x03];
    bitmap.extend([0; 10]);
    bitmap.push(0x80);
    assert_eq!(&rdata.anything[next.len()..], bitmap.as_slice(), "RRSIG, NSEC and NXNAME");
    let with_co = curl_post(&url, &signed_query("nope.example.com.", RecordType::A, true, true, None), &[]).message();
    assert_eq!(with_co.metadata.response_code, ResponseCode::NXDomain, "CO restores NXDOMAIN (RFC 9824 §4)");
    assert!(with_co.authorities.iter().any(|record| record.record_type() == RecordType::NSEC));
    // Without DO: NXDOMAIN as before, nothing signed.
    let plain = curl_post(&url, &signed_query("nope.example.com.", RecordType::A, false, false, None), &[]).message();
    assert_eq!(plain.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(types(&plain.authorities), [RecordType::SOA]);
    let www = curl_post(&url, &signed_query("www.example.com.", RecordType::A, false, false, None), &[]).message();
    assert_eq!(types(&www.answers), [RecordType::A]);
    // DNSKEY is answered without DO too (a person asking with dig); unsigned then.
    let dnskey = curl_post(&url, &signed_query("example.com.", RecordType::DNSKEY, false, false, None), &[]).message();
    assert_eq!(types(&dnskey.answers), [RecordType::DNSKEY]);
}

/// Serves DNS on 127.0.0.1 over TCP (RFC 7766 framing) and UDP (delv fetches keys over UDP
/// whatever `+tcp` says), on one port, each message posted to the Worker.
fn bridge() -> u16 {
    let (listener, socket) = loop {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if let Ok(socket) = UdpSocket::bind(("127.0.0.1", port)) {
            break (listener, socket);
        }
    };
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || relay(stream));
        }
    });
    std::thread::spawn(move || {
        let url = format!("{}/dns-query", http_base());
        let mut buffer = [0u8; 4096];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer) {
            let query = buffer[..length].to_vec();
            let mut answer = curl_post(&url, &query, &[]).body;
            if answer.len() > 1232 {
                // Too long for UDP: the header and question with TC set, and the client asks
                // again over TCP (RFC 7766 §5).
                let query = Message::from_vec(&query).unwrap();
                let mut truncated = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                truncated.metadata.truncation = true;
                truncated.add_queries(query.queries.clone());
                answer = truncated.to_vec().unwrap();
            }
            let _ = socket.send_to(&answer, peer);
        }
    });
    port
}

fn relay(mut stream: TcpStream) {
    let url = format!("{}/dns-query", http_base());
    loop {
        let mut length = [0u8; 2];
        if stream.read_exact(&mut length).is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(length))];
        if stream.read_exact(&mut query).is_err() {
            return;
        }
        let exchange = curl_post(&url, &query, &[]);
        let Ok(length) = u16::try_from(exchange.body.len()) else { return };
        if stream.write_all(&length.to_be_bytes()).and_then(|()| stream.write_all(&exchange.body)).is_err() {
            return;
        }
    }
}

#[test]
fn delv_validates_signed_answers_from_the_ds_through_the_worker() {
    let dir = scratch("delv");
    std::fs::create_dir_all(&dir).unwrap();
    let mut anchors = String::from("trust-anchors {\n");
    for line in ds_lines().lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [zone, "IN", "DS", tag, algorithm, digest_type, digest] = fields.as_slice() else { panic!("{line}") };
        anchors.push_str(&format!("  \"{zone}\" static-ds {tag} {algorithm} {digest_type} \"{digest}\";\n"));
    }
    anchors.push_str("};\n");
    let anchors_path = dir.join("anchors.conf");
    std::fs::write(&anchors_path, anchors).unwrap();
    let port = bridge();
    let delv = |name: &str, record_type: &str, root: &str| {
        let output = Command::new("delv")
            .args(["@127.0.0.1", "-p", &port.to_string(), "-a"])
            .arg(&anchors_path)
            .arg(format!("+root={root}"))
            .args(["+tcp", "+nomtrace", "+norrcomments", name, record_type])
            .output()
            .expect("delv runs (Debian: bind9-dnsutils; `make setup` installs it)");
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
    };
    for (name, record_type, root) in [
        ("example.com.", "DNSKEY", "example.com."),
        ("www.example.com.", "A", "example.com."),
        ("blog.example.com.", "A", "example.com."),
        ("x.y.apps.example.com.", "A", "example.com."),
        ("www.example.com.", "HTTPS", "example.com."),
        ("example.com.", "MX", "example.com."),
        ("www.example.com.", "TXT", "example.com."),
        ("nope.example.com.", "A", "example.com."),
        ("shop.example.com.", "DS", "example.com."),
        ("www.example.org.", "A", "example.org."),
        ("edge.example.org.", "A", "example.org."),
        ("a.cdn.example.org.", "A", "example.org."),
        ("pool.example.org.", "A", "example.org."),
        ("nope.example.org.", "AAAA", "example.org."),
    ] {
        let output = delv(name, record_type, root);
        assert!(output.contains("fully validated"), "delv {name} {record_type}: {output}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Debian's python3 with its dnspython, whatever else is first on the PATH (as tests/dnssec.rs).
fn dnssec_python() -> Command {
    let mut command = Command::new("/usr/bin/python3");
    command.env("PYTHONNOUSERSITE", "1");
    command
}

/// A zone that opts in but whose secret is unusable, and one whose secret holds another zone's
/// key: both answer unsigned with the error logged, and the isolate keeps answering.
#[test]
fn unusable_secrets_leave_answers_unsigned_with_a_logged_error_never_a_failure() {
    const PORT: u16 = 18865;
    let dir = scratch("dnssec-secrets");
    let _ = std::fs::remove_dir_all(&dir);
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg("zones").output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let workerd = super::workerd::Launch::new(&dir, PORT)
        .var("DNSSEC_KEY_EXAMPLE_COM", "edgedns-dnssec-v1 example.com. 257 13 not-base64!")
        .var("DNSSEC_KEY_EXAMPLE_ORG", "edgedns-dnssec-v1 example.net. 257 13 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=")
        .start();
    let url = format!("http://127.0.0.1:{PORT}/dns-query");
    for _ in 0..2 {
        for name in ["www.example.com.", "www.example.org.", "nope.example.com."] {
            let message = curl_post(&url, &signed_query(name, RecordType::A, true, false, None), &[]).message();
            let all: Vec<RecordType> = types(&message.answers).into_iter().chain(types(&message.authorities)).collect();
            assert!(!all.contains(&RecordType::RRSIG) && !all.contains(&RecordType::NSEC), "{name}: {all:?}");
            assert!(!message.answers.is_empty() || message.metadata.response_code == ResponseCode::NXDomain, "{name}: answered as unsigned");
        }
    }
    let log = workerd.log();
    assert!(log.contains("DNSSEC_KEY_EXAMPLE_COM is unusable"), "{log}");
    assert!(log.contains("DNSSEC_KEY_EXAMPLE_ORG is unusable") && log.contains("example.net."), "{log}");
    assert_eq!(log.matches("DNSSEC_KEY_EXAMPLE_COM is unusable").count(), 1, "logged once per isolate: {log}");
}

/// The JSON API signs with `do=1`, the DNSSEC records in presentation form, AD clear; without
/// it, nothing changes.
#[test]
fn the_json_api_signs_with_do_and_shows_the_records_as_their_rfcs_write_them() {
    let value = |query: &str| -> serde_json::Value { serde_json::from_slice(&curl(&[&format!("{}/resolve?{query}", http_base())]).body).unwrap() };
    let signed = value("name=www.example.com&type=A&do=1");
    assert_eq!(signed["AD"], false);
    let answer = signed["Answer"].as_array().unwrap();
    let rrsig = answer.iter().find(|record| record["type"] == 46).unwrap_or_else(|| panic!("{signed}"));
    let data = rrsig["data"].as_str().unwrap();
    assert!(data.starts_with("A 13 3 300 ") && data.contains(" example.com. "), "{data}");
    let keys = value("name=example.com&type=DNSKEY");
    assert!(keys["Answer"][0]["data"].as_str().unwrap().starts_with("257 3 13 "), "{keys}");
    let denied = value("name=nope.example.com&type=A&do=1");
    let nsec = denied["Authority"].as_array().unwrap().iter().find(|record| record["type"] == 47).unwrap_or_else(|| panic!("{denied}")).clone();
    assert_eq!(nsec["data"], "\\000.nope.example.com. RRSIG NSEC NXNAME");
    let plain = value("name=www.example.com&type=A");
    assert_eq!(plain["Answer"].as_array().unwrap().len(), 1, "{plain}");
}

/// A CSK rollover through the runtime, phase by phase, each phase's secret made by the CLI's
/// steps (`dnssec rollover`) and served by a fresh workerd: the old key alone; the new one
/// published; switched; switched with the new DS at the parent; the new key alone. Every
/// phase's answers are validated by dnspython from the old DS alone and from the new DS alone:
/// before the rollover only the old one validates, after it only the new one, and in between
/// both, so a validating resolver with either DS keeps validating throughout (RFC 7583 §3.3.1).
#[test]
fn a_csk_rollover_validates_from_the_old_ds_and_from_the_new_one_at_every_phase() {
    const PORTS: [u16; 5] = [18870, 18871, 18872, 18873, 18874];
    let dir = scratch("dnssec-rollover");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env("EDGEDNS_CLI")).args(["compile", "--kv-dir"]).arg(dir.join("kv")).arg("zones").output().expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let vars = dir.join("rollover.vars");
    let cli = |args: &[&str]| -> String {
        let output = Command::new(env("EDGEDNS_CLI"))
            .arg("dnssec")
            .args(args)
            .arg("--dev-vars")
            .arg(&vars)
            .env_remove("DNSSEC_KEY_EXAMPLE_COM")
            .env("EDGEDNS_QUIET", "1")
            .output()
            .expect("the CLI runs");
        assert!(output.status.success(), "dnssec {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let secret = || {
        let text = std::fs::read_to_string(&vars).unwrap();
        let line = text.lines().find_map(|line| line.strip_prefix("DNSSEC_KEY_EXAMPLE_COM=")).expect("the key in the dotenv file");
        line.trim_matches('"').to_owned()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let t0 = now - 10 * 86_400;
    let at = |seconds: u64| (t0 + seconds).to_string();
    cli(&["keygen", "example.com"]);
    let old_ds = cli(&["ds", "example.com"]);
    let mut phases = vec![("old key alone", secret())];
    cli(&["rollover", "example.com", "start", "--now", &at(0)]);
    phases.push(("new key published", secret()));
    cli(&["rollover", "example.com", "switch", "--now", &at(86_400)]);
    phases.push(("switched", secret()));
    let new_ds = cli(&["ds", "example.com"]);
    assert_ne!(old_ds, new_ds);
    cli(&["rollover", "example.com", "ds-submitted", "--now", &at(86_401)]);
    phases.push(("new DS at the parent", secret()));
    cli(&["rollover", "example.com", "finish", "--now", &at(5 * 86_400)]);
    phases.push(("new key alone", secret()));

    let anchors = [("old", &old_ds), ("new", &new_ds)];
    for (phase, ((name, value), port)) in phases.iter().zip(PORTS).enumerate() {
        let phase_dir = dir.join(format!("phase-{phase}"));
        let _workerd = super::workerd::Launch::new(&phase_dir, port).kv(&dir.join("kv")).var("DNSSEC_KEY_EXAMPLE_COM", value).start();
        let url = format!("http://127.0.0.1:{port}/dns-query");
        let mut files = Vec::new();
        for (n, (qname, record_type)) in [
            ("example.com.", RecordType::DNSKEY),
            ("example.com.", RecordType::SOA),
            ("www.example.com.", RecordType::A),
            ("blog.example.com.", RecordType::A),
            ("x.y.apps.example.com.", RecordType::A),
            ("nope.example.com.", RecordType::A),
            ("www.example.com.", RecordType::TXT),
            ("www.shop.example.com.", RecordType::A),
        ]
        .into_iter()
        .enumerate()
        {
            let exchange = curl_post(&url, &signed_query(qname, record_type, true, false, None), &[]);
            let message = exchange.message();
            if record_type == RecordType::DNSKEY {
                let keys = message.answers.iter().filter(|record| record.record_type() == RecordType::DNSKEY).count();
                let signatures = message.answers.iter().filter(|record| record.record_type() == RecordType::RRSIG).count();
                let expected = if phase == 0 || phase == 4 { 1 } else { 2 };
                assert_eq!((keys, signatures), (expected, expected), "{name}: DNSKEY RRset and its signatures");
            }
            let path = phase_dir.join(format!("{n}.bin"));
            std::fs::write(&path, &exchange.body).unwrap();
            files.push(path);
        }
        for (anchor, ds) in anchors {
            let ds_file = phase_dir.join(format!("{anchor}.ds"));
            std::fs::write(&ds_file, ds).unwrap();
            let output = dnssec_python().arg("tests/e2e/dnssec_check.py").arg(&ds_file).arg(now.to_string()).args(&files).output().unwrap();
            let printed = String::from_utf8_lossy(&output.stdout);
            // The new DS names no key before the rollover, the old one none after it.
            let validates = !matches!((phase, anchor), (0, "new") | (4, "old"));
            assert_eq!(output.status.success(), validates, "{name}, from the {anchor} DS: {printed}\n{}", String::from_utf8_lossy(&output.stderr));
            if validates {
                assert!(printed.lines().filter(|line| line.starts_with("ok ")).count() >= files.len(), "{name}, {anchor} DS: {printed}");
            } else {
                assert!(printed.contains("DNSKEY no key matches the DS"), "{name}, {anchor} DS: {printed}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
