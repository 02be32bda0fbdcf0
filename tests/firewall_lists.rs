//! The firewall's list formats together (tests/fixtures/lists/): what each list blocks and
//! allows once compiled with the others, what explain names, and what `edgedns firewall
//! check` reports for the lines it cannot express.

use std::process::Command;

use edgedns::resolver::firewall::{bundle, formats, Action, BlockAnswer, Firewall, Format, NamedReading};
use hickory_proto::rr::Name;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/lists/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn compiled(names: &[&str]) -> Firewall {
    let texts: Vec<(String, String)> = names.iter().map(|name| (name.to_string(), fixture(name))).collect();
    let lists: Vec<bundle::List> = texts.iter().map(|(name, text)| bundle::List { name: Some(name), format: Format::detect(text), text }).collect();
    Firewall::load(&bundle::encode(&lists)).unwrap()
}

/// The deciding rule's action word and its explain line, or "none".
fn decision(firewall: &Firewall, name: &str) -> String {
    let name = if name.is_ascii() { Name::from_ascii(name) } else { Name::from_utf8(name) }.unwrap();
    firewall.check(&name).map_or_else(|| "none".to_owned(), ToString::to_string)
}

#[test]
fn the_fixtures_are_detected_as_their_formats() {
    for (name, format) in [
        ("adblock.txt", Format::Adblock),
        ("hosts.txt", Format::Hosts),
        ("domains.txt", Format::Domains),
        ("rpz.zone", Format::Rpz),
        ("native.txt", Format::Native),
    ] {
        assert_eq!(Format::detect(&fixture(name)), format, "{name}");
    }
}

#[test]
fn adblock_exceptions_beat_blocks_unless_important() {
    let firewall = compiled(&["adblock.txt", "hosts.txt"]);
    assert_eq!(decision(&firewall, "ads.example."), "block ||ads.example^ (adblock.txt line 3)");
    assert_eq!(decision(&firewall, "deep.sub.ads.example."), "block ||ads.example^ (adblock.txt line 3)", "||domain^ covers its subdomains");
    assert_eq!(decision(&firewall, "ok.ads.example."), "allow @@||ok.ads.example^ (adblock.txt line 4)");
    assert_eq!(decision(&firewall, "x.ok.ads.example."), "allow @@||ok.ads.example^ (adblock.txt line 4)", "the exception covers its subdomains");
    assert_eq!(decision(&firewall, "tracker.example."), "block ||tracker.example^$important (adblock.txt line 5)", "$important beats the exception");
    // A TLD rule blocks everything under it; the name is no rule's.
    assert_eq!(decision(&firewall, "anything.tk."), "block ||tk^ (adblock.txt line 11)");
    assert_eq!(decision(&firewall, "cdn.example."), "none", "||*.cdn.example^ leaves the domain itself");
    assert_eq!(decision(&firewall, "a.cdn.example."), "block ||*.cdn.example^ (adblock.txt line 18)");
    assert_eq!(decision(&firewall, "exact.example."), "block |exact.example^ (adblock.txt line 19)");
    assert_eq!(decision(&firewall, "a.exact.example."), "none");
    assert_eq!(decision(&firewall, "example.com."), "none", "a cosmetic rule blocks nothing");
    // Across lists: the AdBlock exception beats the hosts file's block.
    assert_eq!(decision(&firewall, "hosts-ok.example."), "allow @@||hosts-ok.example^ (adblock.txt line 17)");
    assert_eq!(decision(&firewall, "hosts-ads.example."), "block 0.0.0.0 hosts-ads.example (hosts.txt line 4)");
    assert_eq!(decision(&firewall, "sub.hosts-ads.example."), "none", "a hosts entry covers its name only");
    let rule = |name: &str| firewall.check(&Name::from_ascii(name).unwrap()).unwrap().action.clone();
    assert!(matches!(rule("home.example."), Action::Block(BlockAnswer::Override { data, .. }) if data.to_string() == "192.0.2.55"));
    assert_eq!(rule("gone.example."), Action::Block(BlockAnswer::NoData));
    assert!(matches!(rule("pinned.example."), Action::Block(BlockAnswer::Override { data, .. }) if data.to_string() == "192.0.2.9"));
}

#[test]
fn idn_names_match_in_both_forms() {
    let firewall = compiled(&["adblock.txt", "domains.txt", "hosts.txt"]);
    for name in ["bücher.example.", "xn--bcher-kva.example.", "www.BÜCHER.example."] {
        assert_eq!(decision(&firewall, name), "block ||bücher.example^ (adblock.txt line 7)", "{name}");
    }
    // Written in punycode, asked in Unicode; written in Unicode (a domain list), asked both ways.
    assert_eq!(decision(&firewall, "café.example."), "block ||xn--caf-dma.example^ (adblock.txt line 8)");
    assert_eq!(decision(&firewall, "bücher-hosts.example."), "block 0.0.0.0 Bücher-hosts.example (hosts.txt line 11)");
    assert_eq!(decision(&firewall, "xn--bcher-hosts-thb.example."), "block 0.0.0.0 Bücher-hosts.example (hosts.txt line 11)");
}

#[test]
fn rpz_policy_and_address_triggers() {
    let firewall = compiled(&["rpz.zone"]);
    assert_eq!(decision(&firewall, "ads.example."), "block ads.example CNAME . (rpz.zone line 6)");
    assert_eq!(decision(&firewall, "x.ads.example."), "block *.ads.example CNAME *. (rpz.zone line 7)");
    assert_eq!(decision(&firewall, "ok.ads.example."), "allow ok.ads.example CNAME rpz-passthru. (rpz.zone line 8)");
    assert_eq!(decision(&firewall, "portal.example."), "block portal.example 120 A 192.0.2.1 (rpz.zone line 9)");
    let address = firewall.check_address("192.0.2.241".parse().unwrap()).map(ToString::to_string);
    assert_eq!(address.as_deref(), Some("block 28.240.2.0.192.rpz-ip CNAME . (rpz.zone line 12)"));
}

#[test]
fn native_lists_keep_most_specific_first_and_their_explain() {
    let firewall = Firewall::load(&fixture("native.txt")).unwrap();
    assert_eq!(decision(&firewall, "ads.example."), "block ads.example (line 2)");
    assert_eq!(decision(&firewall, "ok.ads.example."), "allow ok.ads.example (line 4)");
    // Named in a bundle, the list's name joins the line.
    let firewall = compiled(&["native.txt", "domains.txt"]);
    assert_eq!(decision(&firewall, "ads.example."), "block ads.example (native.txt line 2)");
    assert_eq!(decision(&firewall, "x.ads.example."), "block *.ads.example (native.txt line 3)", "the native list comes first");
    assert_eq!(decision(&firewall, "x.wild.example."), "block *.wild.example (domains.txt line 3)");
}

#[test]
fn reports_name_every_line_not_taken() {
    let reports = |name: &str| {
        let text = fixture(name);
        let format = Format::detect(&text);
        let (_, reports) = Firewall::compile(&[NamedReading { name: Some(name.into()), format, reading: formats::read(format, &text) }]).unwrap();
        let report = reports.into_iter().next().unwrap();
        (report.rules, report.skipped.iter().map(|skipped| skipped.line).collect::<Vec<_>>(), report.duplicates, report.ignored)
    };
    assert_eq!(reports("adblock.txt"), (12, vec![12, 13, 14, 15], vec![(10, 3)], 0));
    assert_eq!(reports("hosts.txt"), (7, vec![9], vec![(7, 4)], 4));
    assert_eq!(reports("domains.txt"), (4, vec![7, 8], vec![(6, 2)], 0));
    assert_eq!(reports("rpz.zone"), (6, vec![13, 14, 15], vec![(10, 9)], 0));
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).env("EDGEDNS_QUIET", "1").output().expect("the CLI runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn check_prints_file_line_why_for_what_it_cannot_express() {
    let dir = format!("{}/tests/fixtures/lists", env!("CARGO_MANIFEST_DIR"));
    let (ok, stdout, stderr) = cli(&["firewall", "check", &format!("{dir}/adblock.txt"), &format!("{dir}/hosts.txt")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("ok: 19 rules from adblock.txt (adblock), hosts.txt (hosts); 5 lines not expressible, 2 duplicates"), "{stdout}");
    for expected in [
        "adblock.txt:12: a cosmetic rule",
        "adblock.txt:13: $client",
        "adblock.txt:14: a regular expression",
        "adblock.txt:15: a wildcard inside a name",
        "adblock.txt:10: the same rule as line 3",
        "hosts.txt:9: \"not-an-address\" is not an address",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    // Named, the format is not detected: the AdBlock list read as a domain list skips most.
    let (ok, stdout, _) = cli(&["firewall", "check", "--format", "domains", &format!("{dir}/adblock.txt")]);
    assert!(ok && stdout.contains("adblock.txt (domains)"), "{stdout}");
    // A native list's bad line refuses it, with its file and line.
    let bad = std::env::temp_dir().join(format!("edgedns-bad-{}.txt", std::process::id()));
    std::fs::write(&bad, "block a.example nxdomain\nblock b.example frobnicate\n").unwrap();
    let (ok, _, stderr) = cli(&["firewall", "check", bad.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bad);
    assert!(!ok && stderr.contains(&format!("{}:2: cannot read the answer", bad.display())), "{stderr}");
}

/// `--profiles` checks the resolver's profiles against the lists given: a wrangler.toml's
/// `[vars.PROFILES]` table (or a JSON file) must read, and name only lists that are there.
#[test]
fn check_reads_the_profiles_and_the_lists_they_name() {
    let dir = format!("{}/tests/fixtures/lists", env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(format!("edgedns-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let toml = scratch.join("wrangler.toml");
    std::fs::write(
        &toml,
        "name = \"x\"\n[vars]\nUPSTREAMS = \"https://dns.example/q\"\n[vars.PROFILES.kids]\nid = \"k7Qe3m9x\"\nlists = [\"adblock.txt\"]\nblock = \"null\"\n",
    )
    .unwrap();
    let (adblock, hosts) = (format!("{dir}/adblock.txt"), format!("{dir}/hosts.txt"));
    let (ok, stdout, stderr) = cli(&["firewall", "check", "--profiles", toml.to_str().unwrap(), &adblock, &hosts]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("ok: 1 profiles (kids)"), "{stdout}");
    let (ok, _, stderr) = cli(&["firewall", "check", "--profiles", toml.to_str().unwrap(), &hosts]);
    assert!(!ok && stderr.contains("profile kids names the list \"adblock.txt\", which is not among the lists given"), "{stderr}");
    let json = scratch.join("profiles.json");
    std::fs::write(&json, r#"{"kids": {"block": "sometimes"}}"#).unwrap();
    let (ok, _, stderr) = cli(&["firewall", "check", "--profiles", json.to_str().unwrap(), &hosts]);
    assert!(!ok && stderr.contains("PROFILES: kids: block: \"sometimes\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A million-domain list (the aggregated blocklists' size) in the compact store: its bytes
/// against the names' bytes and KV's 25 MiB value limit, and every name found (no timing:
/// benches/firewall.rs measures that).
#[test]
fn a_million_domains_fit_the_compact_store() {
    use edgedns::resolver::firewall::store::NameStore;
    let names: Vec<String> = (0..1_000_000u32)
        .map(|n| format!("h{:x}{}.site{}.{}", n.wrapping_mul(2_654_435_761), n % 7, n % 50_000, ["com", "net", "org"][n as usize % 3]))
        .collect();
    let bytes: usize = names.iter().map(String::len).sum();
    let store = NameStore::build(names.iter().cloned().zip(0..)).unwrap();
    assert_eq!(store.len(), 1_000_000);
    // Well under 2 bytes of overhead a byte of names (the target): under half a byte.
    assert!(store.bytes() < bytes + bytes / 2, "{} bytes held for {bytes} bytes of names", store.bytes());
    // Front coding alone is smaller than the names, and inside KV's 25 MiB value limit.
    assert!(store.front_coded_bytes() < bytes, "{} bytes front-coded for {bytes}", store.front_coded_bytes());
    assert!(store.front_coded_bytes() < 25 * 1024 * 1024, "{} bytes", store.front_coded_bytes());
    for (value, name) in names.iter().enumerate().step_by(997) {
        assert_eq!(store.get(name), Some(value as u32), "{name}");
        assert_eq!(store.get(&format!("x.{name}")), None);
    }
}

/// A million-domain hosts file (the aggregated lists' size) with an AdBlock exception list,
/// compiled, published in its compiled form and read back as the Worker reads it: the value
/// within KV's 25 MiB value limit, the rules held within the bound an isolate can carry
/// (about 40 bytes a rule: BENCHMARKS.md part 10), sampled names blocked and explained by
/// list, line and rule, names off the list passing (no timing: benches/firewall.rs).
#[test]
fn a_million_domain_list_compiles_publishes_and_explains() {
    use edgedns::resolver::firewall::compiled;
    let names: Vec<String> = (0..1_000_000u32)
        .map(|n| format!("h{:x}{}.site{}.{}", n.wrapping_mul(2_654_435_761), n % 7, n % 50_000, ["com", "net", "org"][n as usize % 3]))
        .collect();
    let hosts: String = names.iter().map(|name| format!("0.0.0.0 {name}\n")).collect();
    let exceptions = format!("! the exceptions\n@@||{}^\n", names[500_000]);
    let lists = [
        NamedReading { name: Some("big-hosts.txt".into()), format: Format::Hosts, reading: formats::read(Format::Hosts, &hosts) },
        NamedReading { name: Some("allow.txt".into()), format: Format::Adblock, reading: formats::read(Format::Adblock, &exceptions) },
    ];
    let (firewall, reports) = Firewall::compile(&lists).unwrap();
    drop(lists);
    assert_eq!((firewall.len(), reports[0].rules, reports[0].duplicates.len()), (1_000_001, 1_000_000, 0));
    let names_bytes: usize = names.iter().map(String::len).sum();
    assert!(firewall.bytes() < names_bytes * 2, "{} bytes held for {names_bytes} bytes of names", firewall.bytes());
    assert!(firewall.bytes() < 48 * 1024 * 1024, "{} bytes held", firewall.bytes());
    let value = firewall.to_published();
    assert!(value.len() <= compiled::PART_BYTES, "{} bytes published: one KV value", value.len());
    assert!(value.len() < hosts.len(), "{} bytes published for a {} byte list", value.len(), hosts.len());
    assert_eq!(compiled::parts(&value), Ok(1));
    let read = Firewall::from_published(value).unwrap();
    assert_eq!(read.len(), firewall.len());
    drop(firewall);
    for (line, name) in names.iter().enumerate().step_by(9_973) {
        assert_eq!(decision(&read, &format!("{name}.")), format!("block 0.0.0.0 {name} (big-hosts.txt line {})", line + 1));
        assert_eq!(decision(&read, &format!("x.{name}.")), "none", "a hosts entry covers its name only");
        assert_eq!(decision(&read, &format!("{}.", name.replacen('h', "g", 1))), "none");
    }
    assert_eq!(
        decision(&read, &format!("{}.", names[500_000])),
        format!("allow @@||{}^ (allow.txt line 2)", names[500_000]),
        "the exception beats the hosts file"
    );
    assert_eq!(decision(&read, &format!("{}.", names[999_999])), format!("block 0.0.0.0 {} (big-hosts.txt line 1000000)", names[999_999]));
}
