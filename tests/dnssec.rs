//! DNSSEC signing (src/dnssec/) checked by validators that share no code with it: every RRset
//! of the example zones (zones/*.zone) is signed, with compact-denial NSECs (RFC 9824) for
//! absent names and types and the NSEC that proves a delegation insecure, and the signed
//! zones are
//!
//! * served by BIND's `named` on 127.0.0.1 and every signed RRset asked for with `delv`, which
//!   validates it from a trust anchor made of the zone's DS (the chain DS → DNSKEY → RRSIG);
//! * checked by dnspython's `dns.dnssec.validate` (tests/dnssec/verify.py) from the master
//!   file, with a wildcard expansion as a resolver receives it.
//!
//! The tools are Debian's bind9, bind9-dnsutils, bind9-utils and python3-dnspython, which
//! `make setup` installs; a test without them fails, naming what is missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use edgedns::dnssec::rrset::rdata_wire;
use edgedns::dnssec::sign::wildcard_owner;
use edgedns::dnssec::{nodata_nsec, nxdomain_nsec, rrsig, wildcard_nsec, Algorithm, KeyError, KeySet, RrSet, SigningKey, Validity};
use edgedns::zone::compile::{compile_file, SourceFile};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// A zone signed for the validators.
struct Signed {
    apex: Name,
    keys: KeySet,
    /// The master file: every record, DNSKEY, RRSIG and NSEC, in RFC 3597 generic form.
    text: String,
    /// The RRsets signed (owner, type), which each validator must accept.
    signed: Vec<(Name, RecordType)>,
}

/// The secret of each example zone's key(s): P-256, Ed25519, and a P-256 KSK/ZSK pair.
fn secret(apex: &Name, index: usize) -> String {
    let key = |flags, algorithm, seed: u8| {
        let private = base64::engine::general_purpose::STANDARD.encode([seed; 32]);
        format!("edgedns-dnssec-v1 {apex} {flags} {algorithm} {private}")
    };
    match index % 3 {
        0 => key(257, 13, 11 + index as u8),
        1 => key(257, 15, 21 + index as u8),
        _ => format!("{}; {}", key(257, 13, 31 + index as u8), key(256, 13, 41 + index as u8)),
    }
}

/// One record in generic form (RFC 3597 §5), which BIND and dnspython read for any type.
fn generic(out: &mut String, owner: &Name, ttl: u32, record_type: RecordType, rdata: &[u8]) {
    let hex: String = rdata.iter().map(|octet| format!("{octet:02x}")).collect();
    let _ = writeln!(out, "{} {ttl} IN TYPE{} \\# {} {hex}", presentation(owner), u16::from(record_type), rdata.len());
}

/// A name in presentation form, every octet that is not a letter, digit, `-`, `_` or `*` as
/// `\DDD` (decimal, RFC 1035 §5.1).
fn presentation(name: &Name) -> String {
    let mut text = String::new();
    for label in name.iter() {
        for &octet in label {
            if octet.is_ascii_alphanumeric() || matches!(octet, b'-' | b'_' | b'*') {
                text.push(char::from(octet));
            } else {
                let _ = write!(text, "\\{octet:03}");
            }
        }
        text.push('.');
    }
    if text.is_empty() {
        text.push('.');
    }
    text
}

/// The wildcard expansion both validators check: a name below `*.apps.example.com.` with a
/// label between, so the next closer name (`y.apps`) is not the query name.
const EXPANDED: &str = "x.y.apps.example.com.";

/// Signs `set` into `out` (the records and their RRSIG) and notes it.
fn sign_into(signed: &mut Signed, set: &RrSet<'_>, now: u64) {
    let key = signed.keys.for_type(set.record_type);
    let signature = rrsig(key, set, now, &Validity::default()).unwrap_or_else(|error| panic!("{} {}: {error}", set.owner, set.record_type));
    for rdata in set.rdata {
        generic(&mut signed.text, set.owner, set.ttl, set.record_type, rdata);
    }
    generic(&mut signed.text, set.owner, set.ttl, RecordType::RRSIG, &signature);
    signed.signed.push((set.owner.clone(), set.record_type));
}

/// Unix seconds now: the validators check the signatures against their clock.
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Every master file of zones/ that is a whole zone (shared.example.zone is completed by its
/// routes file, whose routed sets the engine decides per client), compiled and signed.
fn signed_zones(now: u64) -> Vec<Signed> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir("zones").unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.extension().is_some_and(|ext| ext == "zone")).collect();
    paths.sort();
    let zones: Vec<Signed> = paths.iter().enumerate().filter_map(|(index, path)| sign_zone(path, index, now)).collect();
    assert!(zones.len() >= 3, "the example zones are in zones/");
    zones
}

fn sign_zone(path: &Path, index: usize, now: u64) -> Option<Signed> {
    let source = SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(path).unwrap() };
    let zone = match compile_file(&source) {
        Ok(zone) => zone,
        Err(errors) if errors.iter().all(|error| format!("{:?}", error.kind) == "MissingSoa") => return None,
        Err(errors) => panic!("{}: {errors:?}", source.path),
    };
    let apex = zone.apex().clone();
    let keys = KeySet::parse(&secret(&apex, index), &apex).unwrap();
    let mut signed = Signed { apex: apex.clone(), keys, text: String::new(), signed: Vec::new() };

    // The DNSKEY RRset at the apex, signed by the key-signing key.
    let dnskeys: Vec<Vec<u8>> = signed.keys.keys().map(|key| key.dnskey_rdata().to_vec()).collect();
    let slices: Vec<&[u8]> = dnskeys.iter().map(Vec::as_slice).collect();
    sign_into(&mut signed, &RrSet { owner: &apex, record_type: RecordType::DNSKEY, class: DNSClass::IN, ttl: 3600, rdata: &slices }, now);

    // Delegation points: their NS is not signed and what is below them is glue (RFC 4035 §2.2).
    let nodes: Vec<_> = zone.nodes().map(|(name, node)| (Name::from(name.into_owned()), node.into_owned())).collect();
    let cuts: Vec<Name> = nodes.iter().filter(|(name, node)| *name != apex && node.rrset(RecordType::NS).is_some()).map(|(name, _)| name.clone()).collect();
    for (name, node) in &nodes {
        let below_cut = cuts.iter().any(|cut| cut.zone_of(name) && cut != name);
        for set in node.rrsets() {
            let owner = set.records.first().map_or(name, |record| &record.name);
            let rdata: Vec<Vec<u8>> = set.records.iter().map(|record| rdata_wire(&record.data).unwrap()).collect();
            let slices: Vec<&[u8]> = rdata.iter().map(Vec::as_slice).collect();
            let rrset = RrSet { owner, record_type: set.record_type, class: DNSClass::IN, ttl: set.ttl, rdata: &slices };
            if below_cut || (cuts.contains(name) && set.record_type == RecordType::NS) {
                for rdata in &rdata {
                    generic(&mut signed.text, owner, set.ttl, set.record_type, rdata);
                }
            } else {
                sign_into(&mut signed, &rrset, now);
            }
        }
    }

    // Compact denial (RFC 9824): absent names, an absent type at a name that has others, and the
    // NSEC at each cut that proves it has no DS (an insecure delegation, RFC 4035 §5.2).
    let negative_ttl = zone.negative_soa().ttl;
    let mut denials: Vec<(Name, Vec<u8>)> = Vec::new();
    for absent in ["nope", "Absent.Deeper", "_tcp.nothing"] {
        let name = Name::from_str(absent).unwrap().append_domain(&apex).unwrap();
        denials.push((name.clone(), nxdomain_nsec(&name).unwrap()));
    }
    let existing = |name: &Name| -> Vec<RecordType> {
        nodes.iter().find(|(node_name, _)| node_name == name).map(|(_, node)| node.rrsets().iter().map(|set| set.record_type).collect()).unwrap_or_default()
    };
    let mut apex_types = existing(&apex);
    apex_types.push(RecordType::DNSKEY);
    denials.push((apex.clone(), nodata_nsec(&apex, &apex_types).unwrap()));
    for cut in &cuts {
        denials.push((cut.clone(), nodata_nsec(cut, &existing(cut)).unwrap()));
    }
    // The proof that the wildcard expansion had no closer match (RFC 4035 §5.3.4).
    let expanded = Name::from_str(EXPANDED).unwrap();
    if apex.zone_of(&expanded) {
        let (owner, nsec) = wildcard_nsec(&Name::from_str("y.apps.example.com.").unwrap()).unwrap();
        denials.push((owner, nsec));
    }
    for (name, nsec) in &denials {
        let slices: [&[u8]; 1] = [nsec];
        sign_into(&mut signed, &RrSet { owner: name, record_type: RecordType::NSEC, class: DNSClass::IN, ttl: negative_ttl, rdata: &slices }, now);
    }
    Some(signed)
}

/// The DS of a key in presentation form's fields: tag, algorithm, digest type, hex digest.
fn ds_fields(key: &SigningKey) -> (u16, u8, u8, String) {
    let ds = key.ds_sha256_rdata();
    let hex: String = ds.get(4..).unwrap().iter().map(|octet| format!("{octet:02X}")).collect();
    (key.key_tag(), key.algorithm().number(), 2, hex)
}

/// Whether a program can be started.
fn have(program: &str, argument: &str) -> bool {
    Command::new(program).arg(argument).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgedns-dnssec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `named` in the foreground; killed when dropped.
struct Named(Child);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free on 127.0.0.1 for UDP and TCP at the time of asking.
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[test]
fn every_signed_rrset_validates_in_delv_from_the_zones_ds() {
    if !have("named", "-v") || !have("delv", "-v") {
        panic!("named or delv is not installed (Debian: bind9, bind9-dnsutils): `make setup` installs it");
    }
    let dir = scratch("delv");
    let zones = signed_zones(now());
    let port = free_port();
    let mut config = format!(
        "options {{ directory \"{dir}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; recursion no; \
         dnssec-validation no; pid-file none; session-keyfile none; notify no; }};\ncontrols {{ }};\n",
        dir = dir.display()
    );
    let mut anchors = String::from("trust-anchors {\n");
    for (index, zone) in zones.iter().enumerate() {
        let file = format!("zone{index}.db");
        std::fs::write(dir.join(&file), &zone.text).unwrap();
        let _ = writeln!(config, "zone \"{}\" {{ type primary; file \"{file}\"; }};", zone.apex);
        let (tag, algorithm, digest_type, digest) = ds_fields(zone.keys.key_signing());
        let _ = writeln!(anchors, "  \"{}\" static-ds {tag} {algorithm} {digest_type} \"{digest}\";", zone.apex);
    }
    anchors.push_str("};\n");
    std::fs::write(dir.join("named.conf"), &config).unwrap();
    std::fs::write(dir.join("anchors.conf"), &anchors).unwrap();
    let log = std::fs::File::create(dir.join("named.log")).unwrap();
    let _named = Named(Command::new("named").args(["-g", "-c"]).arg(dir.join("named.conf")).stdout(Stdio::null()).stderr(log).spawn().unwrap());

    let delv = |name: &Name, record_type: RecordType, root: &Name| {
        let output = Command::new("delv")
            .args(["@127.0.0.1", "-p", &port.to_string(), "-a"])
            .arg(dir.join("anchors.conf"))
            .arg(format!("+root={root}"))
            .args(["+tcp", "+nomtrace", "+norrcomments"])
            .arg(presentation(name))
            .arg(record_type.to_string())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
    };
    // named loads the zones in the background: wait for the first apex to answer.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = zones.first().unwrap();
    while !delv(&first.apex, RecordType::SOA, &first.apex).contains("fully validated") {
        assert!(Instant::now() < deadline, "named did not serve the zones: {}", std::fs::read_to_string(dir.join("named.log")).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut failures = Vec::new();
    let mut count = 0;
    for zone in &zones {
        for (owner, record_type) in &zone.signed {
            let output = delv(owner, *record_type, &zone.apex);
            count += 1;
            if !output.contains("; fully validated") {
                failures.push(format!("{owner} {record_type}:\n{output}"));
            }
        }
        // The wildcard expansion: named synthesises the answer with the RRSIG made over
        // `*.apps.example.com.` and adds the NSEC that proves no closer name.
        let expanded = Name::from_str(EXPANDED).unwrap();
        if zone.apex.zone_of(&expanded) {
            let output = delv(&expanded, RecordType::A, &zone.apex);
            assert!(output.contains("; fully validated") && output.contains("192.0.2.80"), "the wildcard expansion:\n{output}");
            count += 1;
        }
        // A delegation without DS: delv proves it insecure from the cut's NSEC.
        let shop = Name::from_str("shop.example.com.").unwrap();
        if zone.apex.zone_of(&shop) && zone.signed.iter().any(|(name, _)| *name == shop) {
            let output = delv(&shop, RecordType::DS, &zone.apex);
            assert!(output.contains("negative response, fully validated"), "the insecure delegation's NSEC:\n{output}");
        }
    }
    assert!(failures.is_empty(), "{} of {count} RRsets did not validate:\n{}", failures.len(), failures.join("\n"));
    assert!(count > 40, "only {count} RRsets were asked for");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Debian's Python with Debian's dnspython and cryptography (what `make setup` installs), not
/// whatever a user's site or a version manager puts first on the PATH; `python3` elsewhere.
fn python() -> Command {
    if std::path::Path::new("/usr/bin/python3").exists() {
        let mut command = Command::new("/usr/bin/python3");
        command.env("PYTHONNOUSERSITE", "1");
        command
    } else {
        Command::new("python3")
    }
}

#[test]
fn dnspython_validates_every_signed_rrset_and_a_wildcard_expansion() {
    let have_dnspython = python()
        .args(["-c", "import dns.dnssec, dns.version; from cryptography.hazmat.primitives.asymmetric import ec, ed25519; print(dns.version.version)"])
        .status()
        .is_ok_and(|status| status.success());
    if !have_dnspython {
        panic!("dnspython with its DNSSEC support is not installed (Debian: python3-dnspython, python3-cryptography): `make setup` installs it");
    }
    let dir = scratch("dnspython");
    let now = now();
    for zone in signed_zones(now) {
        let file = dir.join(format!("{}db", zone.apex));
        std::fs::write(&file, &zone.text).unwrap();
        let mut args = vec![file.display().to_string()];

        // The wildcard of example.com expanded for a name that does not exist: the records at
        // the query name, the RRSIG made over the wildcard owner (Labels 3 < 4 labels).
        if zone.apex == Name::from_str("example.com.").unwrap() {
            let wildcard = wildcard_owner(&Name::from_str("apps.example.com.").unwrap()).unwrap();
            let rdata: [&[u8]; 1] = [&[192, 0, 2, 80]];
            let set = RrSet { owner: &wildcard, record_type: RecordType::A, class: DNSClass::IN, ttl: 3600, rdata: &rdata };
            let signature = rrsig(zone.keys.zone_signing(), &set, now, &Validity::default()).unwrap();
            assert_eq!(signature.get(3), Some(&3), "Labels excludes the wildcard label (RFC 4034 §3.1.3)");
            let asked = Name::from_str("x.Y.apps.example.com.").unwrap();
            let mut answers = String::new();
            generic(&mut answers, &asked, 3600, RecordType::A, &[192, 0, 2, 80]);
            generic(&mut answers, &asked, 3600, RecordType::RRSIG, &signature);
            // The same signature over other data must fail: the validator really checks.
            let other = Name::from_str("bad.apps.example.com.").unwrap();
            generic(&mut answers, &other, 3600, RecordType::A, &[192, 0, 2, 81]);
            generic(&mut answers, &other, 3600, RecordType::RRSIG, &signature);
            let answers_file = dir.join("answers.db");
            std::fs::write(&answers_file, answers).unwrap();
            args.push(answers_file.display().to_string());
        }

        let output = python().arg("tests/dnssec/verify.py").arg(zone.apex.to_string()).arg(&args[0]).arg(now.to_string()).args(args.get(1)).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "verify.py: {}", String::from_utf8_lossy(&output.stderr));
        for (owner, record_type) in &zone.signed {
            let line = format!("ok {} {record_type}", presentation(owner));
            assert!(stdout.lines().any(|l| l.eq_ignore_ascii_case(&line)), "{line} missing from:\n{stdout}");
        }
        let bad: Vec<&str> = stdout.lines().filter(|line| line.starts_with("bad")).collect();
        if zone.apex == Name::from_str("example.com.").unwrap() {
            assert!(stdout.lines().any(|line| line.eq_ignore_ascii_case("ok x.Y.apps.example.com. A")), "the wildcard expansion:\n{stdout}");
            assert_eq!(bad.len(), 1, "only the tampered answer fails:\n{stdout}");
            assert!(bad.first().is_some_and(|line| line.starts_with("bad bad.apps.example.com. A")), "{stdout}");
        } else {
            assert!(bad.is_empty(), "{stdout}");
        }
        // Unsigned: glue below a cut and the cut's NS only.
        for line in stdout.lines().filter(|line| line.starts_with("unsigned")) {
            assert!(line.ends_with("shop.example.com. NS") || line.contains(".shop.example.com. "), "only delegation data is unsigned: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_secrets_are_typed_errors() {
    let zone = Name::from_str("example.com.").unwrap();
    let good = secret(&zone, 0);
    assert!(KeySet::parse(&good, &zone).is_ok());
    assert_eq!(KeySet::parse("", &zone).unwrap_err(), KeyError::Missing);
    assert!(matches!(KeySet::parse("edgedns-dnssec-v1 example.com. 257", &zone), Err(KeyError::Malformed { line: 1, .. })));
    assert!(matches!(KeySet::parse(&good.replace(" 257 13 ", " 257 99 "), &zone), Err(KeyError::UnknownAlgorithm { number: 99, .. })));
    let other = KeySet::parse(&good, &Name::from_str("example.org.").unwrap()).unwrap_err();
    assert!(matches!(&other, KeyError::WrongZone { expected, found, .. } if expected == "example.org." && found == "example.com."));
    assert_eq!(other.to_string(), "DNSSEC key 1 is for zone example.com., not example.org.");
    // Every key of a pair is checked: a bad second key is an error, not a set of one.
    let pair = format!("{good}; edgedns-dnssec-v1 example.com. 256 13 AAAA");
    assert!(matches!(KeySet::parse(&pair, &zone), Err(KeyError::InvalidKey { line: 2 })));
    assert_eq!(Algorithm::from_number(8), None);
}

#[test]
fn the_cli_makes_keys_whose_ds_bind_computes_the_same() {
    if !have("dnssec-dsfromkey", "-h") {
        panic!("dnssec-dsfromkey is not installed (Debian: bind9-utils): `make setup` installs it");
    }
    let dir = scratch("cli");
    let dev_vars = dir.join("dev.vars");
    let edgedns = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).env_remove("DNSSEC_KEY_EXAMPLE_COM").output().unwrap();
    let dev_vars_arg = dev_vars.display().to_string();
    for (algorithm, pair) in [("13", false), ("15", true)] {
        let mut args = vec!["dnssec", "keygen", "example.com", "--algorithm", algorithm, "--dev-vars", &dev_vars_arg, "--force"];
        if pair {
            args.push("--ksk-zsk");
        }
        let keygen = edgedns(&args);
        assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
        let printed = String::from_utf8_lossy(&keygen.stdout).into_owned();
        assert!(printed.contains("wrangler secret put DNSSEC_KEY_EXAMPLE_COM"), "{printed}");
        let stored = std::fs::read_to_string(&dev_vars).unwrap();
        assert_eq!(stored.lines().filter(|line| line.starts_with("DNSSEC_KEY_EXAMPLE_COM=")).count(), 1, "{stored}");

        let status = edgedns(&["dnssec", "status", "example.com", "--dev-vars", &dev_vars_arg]);
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        // The records, not the `;` comments (which name DNSKEY too, in the rollover's waits).
        assert_eq!(status.lines().filter(|line| !line.starts_with(';') && line.contains(" DNSKEY ")).count(), if pair { 2 } else { 1 }, "{status}");
        let dnskeys: String = status.lines().filter(|line| line.contains(" DNSKEY 257 ")).map(|line| format!("{line}\n")).collect();
        std::fs::write(dir.join("dnskey"), dnskeys).unwrap();
        let bind = Command::new("dnssec-dsfromkey").args(["-2", "-f"]).arg(dir.join("dnskey")).arg("example.com").output().unwrap();
        let ds = edgedns(&["dnssec", "ds", "example.com", "--dev-vars", &dev_vars_arg]);
        assert_eq!(String::from_utf8_lossy(&ds.stdout).trim(), String::from_utf8_lossy(&bind.stdout).trim(), "algorithm {algorithm}");
    }
    // A second key without --force is refused; another zone's key is not read as this one's.
    let again = edgedns(&["dnssec", "keygen", "example.com", "--dev-vars", &dev_vars_arg]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("--force"));
    // --if-missing (what `make dev` runs) keeps the key there and makes one where there is none.
    let before = std::fs::read_to_string(&dev_vars).unwrap();
    let kept = edgedns(&["dnssec", "keygen", "example.com", "--dev-vars", &dev_vars_arg, "--if-missing"]);
    assert!(kept.status.success() && kept.stdout.is_empty(), "{}", String::from_utf8_lossy(&kept.stderr));
    assert_eq!(std::fs::read_to_string(&dev_vars).unwrap(), before);
    let made = edgedns(&["dnssec", "keygen", "example.net", "--dev-vars", &dev_vars_arg, "--if-missing"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let after = std::fs::read_to_string(&dev_vars).unwrap();
    assert!(after.starts_with(&before) && after.contains("DNSSEC_KEY_EXAMPLE_NET=\"edgedns-dnssec-v1 example.net. 257 13 "), "{after}");
    let wrong = Command::new(env!("CARGO_BIN_EXE_edgedns"))
        .args(["dnssec", "ds", "example.com"])
        .env("DNSSEC_KEY_EXAMPLE_COM", secret(&Name::from_str("example.org.").unwrap(), 0))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is for zone example.org., not example.com."), "{}", String::from_utf8_lossy(&wrong.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
