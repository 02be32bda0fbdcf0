//! octoDNS and BIND import (`edgedns::import::octodns`, `edgedns::import::bind`): the files
//! they write compile with the project's own compiler and answer as octoDNS's documented
//! semantics say (rules in order, weighted pools, fallback chains, forced statuses); what
//! cannot be imported is reported; malformed input is an error naming the place.
//! Fixtures: tests/fixtures/octodns/, tests/fixtures/bind/.

use std::collections::BTreeMap;
use std::str::FromStr;

use edgedns::import::{bind, octodns, FindingKind, Imported};
use edgedns::policy::{ClientView, HealthView, NoHealthData, SplitMix};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

const OCTODNS: &str = include_str!("fixtures/octodns/example.com.yaml");
const SIGNED: &str = include_str!("fixtures/bind/example.org.signed.db");

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn import(yaml: &str) -> Imported {
    octodns::import(&name("example.com."), yaml, &octodns::Options::default()).unwrap()
}

fn compile(imported: &Imported) -> Catalog {
    let mut sources = vec![SourceFile { path: imported.master_file_name(), text: imported.master_file.clone().unwrap() }];
    if !imported.routes_file.is_empty() {
        sources.push(SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() });
    }
    match compile_all(&sources) {
        Ok(catalog) => catalog,
        Err(errors) => panic!(
            "the import does not compile:\n{}\n--- master:\n{}\n--- routes:\n{}",
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            imported.master_file.as_deref().unwrap_or_default(),
            imported.routes_file
        ),
    }
}

#[path = "support/engine.rs"]
mod engine;
use engine::{ask, Down};

/// How often each answer comes back over `draws` queries.
fn tally(catalog: &Catalog, owner: &str, client: &ClientView, health: &dyn HealthView, draws: usize) -> BTreeMap<String, usize> {
    let mut random = SplitMix::new(0x5eed);
    let mut counts = BTreeMap::new();
    for _ in 0..draws {
        let (_, answers) = ask(catalog, owner, RecordType::A, client, health, &mut random);
        *counts.entry(answers.join(" ")).or_insert(0) += 1;
    }
    counts
}

fn located(country: &str, continent: &str) -> ClientView {
    ClientView { country: Some(country.to_owned()), continent: Some(continent.to_owned()), ..ClientView::default() }
}

fn in_network(network: &str, country: &str, continent: &str) -> ClientView {
    ClientView { network: Some(network.parse().unwrap()), from_subnet: true, ..located(country, continent) }
}

fn has(imported: &Imported, kind: FindingKind, subject: &str, message: &str) -> bool {
    imported.report.iter().any(|f| f.kind == kind && f.subject.contains(subject) && f.message.contains(message))
}

#[test]
fn octodns_zone_imports_into_files_that_compile() {
    let imported = import(OCTODNS);
    assert!(imported.summary.passes_check, "{:#?}\n{}", imported.report, imported.routes_file);
    assert!(!imported.report.iter().any(|f| matches!(f.kind, FindingKind::Invalid | FindingKind::Unresolved)), "{:#?}", imported.report);
    assert_eq!(imported.master_file_name(), "example.com.zone");
    assert_eq!(imported.routes_file_name(), "example.com.routes.toml");
    // www and api are dynamic; the apex ALIAS to www is an alias entry.
    assert_eq!(imported.summary.routed_sets, 3);
    assert_eq!(imported.summary.cidr_collections, 1);
    // One check per value with status obey: five in www (192.0.2.31 is up), api's backup.
    assert_eq!(imported.summary.health_checks, 6);
    assert!(
        imported.routes_file.contains("[health_checks.\"192.0.2.60\"]\ntype = \"https\"\nhost = \"192.0.2.60\"\nport = 443\npath = \"/_dns\"\n")
            || imported.routes_file.contains("[health_checks.\"192.0.2.60\"]\ntype = \"https\"\nhost = \"192.0.2.60\"\npath = \"/_dns\"\nport = 443\n"),
        "{}",
        imported.routes_file
    );
    let routes = &imported.routes_file;
    assert!(
        routes.contains(
            "[health_checks.\"192.0.2.10\"]\ntype = \"https\"\nhost = \"192.0.2.10\"\nhost_header = \"www.example.com\"\npath = \"/health\"\nport = 443\n"
        ),
        "{routes}"
    );
    assert!(routes.contains("[cidr_collections.\"www.example.com/A\"]\nrule-1 = [\"203.0.113.0/24\"]\n"), "{routes}");
    assert!(routes.contains("force = \"down\""), "{routes}");
    assert!(routes.contains("force = \"up\""), "{routes}");
    let master = imported.master_file.as_deref().unwrap();
    assert!(master.starts_with("; example.com.: imported from octoDNS"), "{master}");
    // Made-up SOA (octoDNS does not manage it), reported as a note.
    assert!(has(&imported, FindingKind::Note, "example.com. SOA", "one was made up"), "{:#?}", imported.report);
}

#[test]
fn plain_records_answer_from_the_master_file() {
    let catalog = compile(&import(OCTODNS));
    let client = ClientView::default();
    let mut random = SplitMix::new(1);
    let mut get = |owner: &str, record_type: RecordType| ask(&catalog, owner, record_type, &client, &NoHealthData, &mut random);
    assert_eq!(get("example.com.", RecordType::MX).1, ["10 mx1.example.com.", "20 mx2.example.com."]);
    assert_eq!(get("_dmarc.example.com.", RecordType::TXT).1, ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"]);
    assert_eq!(get("_sip._tcp.example.com.", RecordType::SRV).1, ["10 60 5060 sip.example.com."]);
    assert_eq!(get("example.com.", RecordType::CAA).1.len(), 1);
    assert_eq!(get("example.com.", RecordType::TXT).1.len(), 2);
    assert_eq!(get("ssh.example.com.", RecordType::SSHFP).1.len(), 1);
    assert_eq!(get("sip.example.com.", RecordType::NAPTR).1.len(), 1);
    assert_eq!(get("ns2.example.com.", RecordType::AAAA).1, ["2001:db8::53"]);
    let (rcode, cname) = get("docs.example.com.", RecordType::CNAME);
    assert_eq!((rcode, cname), (ResponseCode::NoError, vec!["docs.example.org.".to_owned()]));
}

#[test]
fn geo_rules_pick_their_pools() {
    let catalog = compile(&import(OCTODNS));
    let answer = |client: ClientView| ask(&catalog, "www.example.com.", RecordType::A, &client, &NoHealthData, &mut SplitMix::new(7)).1;
    assert_eq!(answer(located("JP", "AS")), ["192.0.2.20"], "AS-JP goes to ap");
    assert_eq!(answer(located("AU", "OC")), ["192.0.2.20"], "OC goes to ap");
    let eu = ["192.0.2.10", "192.0.2.11"];
    for client in [located("FR", "EU"), located("DE", "EU"), located("ZA", "AF")] {
        let got = answer(client.clone());
        assert!(got.len() == 1 && eu.contains(&got[0].as_str()), "{client:?}: {got:?}");
    }
    let us = ["192.0.2.30", "192.0.2.31"];
    for client in [located("US", "NA"), located("NG", "AF"), located("KR", "AS"), ClientView::default()] {
        let got = answer(client.clone());
        assert!(got.len() == 1 && us.contains(&got[0].as_str()), "catch-all: {client:?}: {got:?}");
    }
}

#[test]
fn subnet_rules_come_before_geo_rules() {
    let catalog = compile(&import(OCTODNS));
    let answer = |client: ClientView| ask(&catalog, "www.example.com.", RecordType::A, &client, &NoHealthData, &mut SplitMix::new(7)).1;
    assert_eq!(answer(in_network("203.0.113.0/26", "JP", "AS")), ["192.0.2.40"], "the office subnet wins over AS-JP");
    assert_eq!(answer(in_network("198.51.100.0/24", "JP", "AS")), ["192.0.2.20"], "other networks go by location");
}

#[test]
fn pool_weights_split_the_answers() {
    let catalog = compile(&import(OCTODNS));
    let counts = tally(&catalog, "www.example.com.", &located("FR", "EU"), &NoHealthData, 10_000);
    let ten = counts.get("192.0.2.10").copied().unwrap_or(0);
    let eleven = counts.get("192.0.2.11").copied().unwrap_or(0);
    assert_eq!(ten + eleven, 10_000, "{counts:?}");
    assert!((3_800..=4_200).contains(&ten), "weights 2:3: {counts:?}");
}

#[test]
fn an_unhealthy_pool_falls_back_along_its_chain() {
    let catalog = compile(&import(OCTODNS));
    let eu_client = located("FR", "EU");
    // One eu value down: the other takes everything.
    let counts = tally(&catalog, "www.example.com.", &eu_client, &Down(vec!["192.0.2.10"]), 500);
    assert_eq!(counts.get("192.0.2.11"), Some(&500), "{counts:?}");
    // Both down: the fallback pool us answers.
    let counts = tally(&catalog, "www.example.com.", &eu_client, &Down(vec!["192.0.2.10", "192.0.2.11"]), 1_000);
    assert_eq!(counts.keys().collect::<Vec<_>>(), ["192.0.2.30", "192.0.2.31"], "{counts:?}");
    // us's 192.0.2.31 has status up: it stays when its pool's other value is down.
    let counts = tally(&catalog, "www.example.com.", &eu_client, &Down(vec!["192.0.2.10", "192.0.2.11", "192.0.2.30"]), 200);
    assert_eq!(counts.get("192.0.2.31"), Some(&200), "{counts:?}");
}

#[test]
fn forced_down_values_fall_back_to_the_fallback_pool() {
    // The eu pool's values forced down (status: down): eu clients get the fallback pool us.
    let yaml = OCTODNS
        .replace("          - value: 192.0.2.10\n            weight: 2\n", "          - value: 192.0.2.10\n            weight: 2\n            status: down\n")
        .replace("          - value: 192.0.2.11\n            weight: 3\n", "          - value: 192.0.2.11\n            weight: 3\n            status: down\n");
    assert_ne!(yaml, OCTODNS);
    let imported = import(&yaml);
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    let catalog = compile(&imported);
    let counts = tally(&catalog, "www.example.com.", &located("FR", "EU"), &NoHealthData, 1_000);
    assert_eq!(counts.keys().collect::<Vec<_>>(), ["192.0.2.30", "192.0.2.31"], "{counts:?}");
    // The fixture's api record: a primary pool forced down fails over to backup.
    let (_, api) = ask(&catalog, "api.example.com.", RecordType::A, &ClientView::default(), &NoHealthData, &mut SplitMix::new(3));
    assert_eq!(api, ["192.0.2.60"]);
}

#[test]
fn the_end_of_a_chain_is_the_record_values() {
    let catalog = compile(&import(OCTODNS));
    // Every checked value of us down: 192.0.2.31 (status up) still answers, as octoDNS's
    // forced-up value would; a record without such a value ends at its `values`.
    let yaml = OCTODNS.replace("          - value: 192.0.2.31\n            status: up\n", "          - value: 192.0.2.31\n");
    let catalog_without_up = compile(&import(&yaml));
    let down = Down(vec!["192.0.2.30", "192.0.2.31"]);
    let (_, answers) = ask(&catalog_without_up, "www.example.com.", RecordType::A, &located("US", "NA"), &down, &mut SplitMix::new(5));
    assert_eq!(answers, ["192.0.2.30", "192.0.2.31", "192.0.2.99"]);
    let (_, answers) = ask(&catalog, "www.example.com.", RecordType::A, &located("US", "NA"), &down, &mut SplitMix::new(5));
    assert_eq!(answers, ["192.0.2.31"]);
}

#[test]
fn apex_alias_answers_what_its_target_answers() {
    let catalog = compile(&import(OCTODNS));
    let (_, answers) = ask(&catalog, "example.com.", RecordType::A, &located("JP", "AS"), &NoHealthData, &mut SplitMix::new(1));
    assert_eq!(answers, ["192.0.2.20"]);
}

#[test]
fn what_cannot_be_imported_is_reported() {
    let imported = import(OCTODNS);
    assert!(has(&imported, FindingKind::Skipped, "legacy.example.com. LOC", "not served here"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Lossy, "cdn.example.com. CNAME", "octodns.cloudflare"), "{:#?}", imported.report);
    let yaml = "www:\n  type: A\n  values: [192.0.2.1]\n  dynamic:\n    pools:\n      eu: {values: [{value: 192.0.2.2}]}\n      other: {values: [{value: 192.0.2.3}]}\n    rules:\n      - geos: [EU, EU-FR, XX-YY, AN]\n        pool: eu\n      - geos: [EU-DE]\n        pool: other\n      - pool: eu\n      - pool: other\n";
    let imported = import(yaml);
    let report = format!("{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "rule 1", "geo \"XX-YY\": XX is not one of octoDNS's continents"), "{report}");
    assert!(has(&imported, FindingKind::Skipped, "rule 2", "geo EU-DE: rule 1 already matches EU"), "{report}");
    assert!(has(&imported, FindingKind::Skipped, "rule 4", "after the catch-all rule"), "{report}");
    assert!(has(&imported, FindingKind::Skipped, "rule 2", "nothing is left of this rule"), "{report}");
}

#[test]
fn malformed_files_are_errors_naming_the_place() {
    let options = octodns::Options::default();
    let apex = name("example.com.");
    let error = |yaml: &str| octodns::import(&apex, yaml, &options).unwrap_err().to_string();
    let bad_weight = OCTODNS.replace("            weight: 3\n", "            weight: heavy\n");
    let line = bad_weight.lines().position(|l| l.contains("weight: heavy")).unwrap() + 1;
    assert_eq!(error(&bad_weight), format!("www.dynamic.pools.eu.values[1].weight: expected an integer, found \"heavy\" (line {line}, column 21)"));
    let bad_status = OCTODNS.replace("            status: up\n", "            status: sideways\n");
    assert!(
        error(&bad_status).starts_with("www.dynamic.pools.us.values[1].status: expected up, down or obey, found \"sideways\" (line "),
        "{}",
        error(&bad_status)
    );
    assert!(
        error("www: {type: A, ttl: soon, value: 192.0.2.1}\n").starts_with("www.ttl: expected an integer, found \"soon\" (line 1, column 21)"),
        "{}",
        error("www: {type: A, ttl: soon, value: 192.0.2.1}\n")
    );
    assert!(error("www:\n  type: A\n  value: [192.0.2.1\n").starts_with("not YAML: "), "{}", error("www:\n  type: A\n  value: [192.0.2.1\n"));
    assert!(error("- just\n- a list\n").starts_with("expected a mapping, found a list (line 1"), "{}", error("- just\n- a list\n"));
    assert!(error("www: {value: 192.0.2.1}\n").starts_with("www: type is missing"), "{}", error("www: {value: 192.0.2.1}\n"));
    assert!(
        error("mail: {type: MX, value: {exchange: mx.example.com.}}\n").starts_with("mail.value: preference is missing")
            || error("mail: {type: MX, value: {exchange: mx.example.com.}}\n").starts_with("mail.value: priority is missing")
    );
    assert!(error("www:\n  type: A\n  dynamic: {pools: {a: {values: [1]}}, rules: [{pool: a}]}\n")
        .starts_with("www.dynamic.pools.a.values[0]: expected a pool value"));
    // An empty file is an empty zone, not an error.
    assert!(octodns::import(&apex, "", &options).is_ok());
}

#[test]
fn health_check_protocols_map_onto_the_kinds() {
    let options = octodns::Options::default();
    let apex = name("example.com.");
    // A protocol octoDNS does not have is an error at its place, not a default.
    let gopher = OCTODNS.replace("      protocol: HTTPS\n", "      protocol: gopher\n");
    let error = octodns::import(&apex, &gopher, &options).unwrap_err().to_string();
    assert!(error.starts_with("www.octodns.healthcheck.protocol: unknown health-check protocol \"GOPHER\" (octoDNS's are HTTP, HTTPS, TCP, ICMP)"), "{error}");
    // One it has but a Worker cannot run: reported, the values count as healthy.
    let icmp = import(&OCTODNS.replace("      protocol: HTTPS\n", "      protocol: ICMP\n"));
    assert!(icmp.report.iter().any(|f| f.kind == FindingKind::Lossy && f.message.contains("octoDNS health-check protocol ICMP")), "{:#?}", icmp.report);
    compile(&icmp);
    let tcp = import(&OCTODNS.replace("      protocol: HTTPS\n", "      protocol: tcp\n"));
    assert!(tcp.routes_file.contains("type = \"tcp\"\nhost = \"192.0.2.30\"\nport = 443\n"), "{}", tcp.routes_file);
    // A path that is not one: the checks cannot run here (reported), nothing is written.
    let spaced = import(&OCTODNS.replace("      path: /health\n", "      path: /he alth\n"));
    assert!(spaced.report.iter().any(|f| f.kind == FindingKind::Lossy && f.message.contains("is not an HTTP path")), "{:#?}", spaced.report);
    assert!(!spaced.routes_file.lines().any(|line| !line.starts_with('#') && line.contains("he alth")), "{}", spaced.routes_file);
}

#[test]
fn odd_input_never_panics() {
    let options = octodns::Options::default();
    let apex = name("example.com.");
    for yaml in [
        "'': null\n",
        "www: [1, 2]\n",
        "www: {type: TXT, value: '\\\\\\'}\n",
        "www: {type: A, dynamic: {pools: {}, rules: []}, values: [192.0.2.1]}\n",
        "www: {type: A, dynamic: {pools: {a: {fallback: a, values: [{value: 192.0.2.1}]}}, rules: [{pool: a}]}}\n",
        "www: {type: A, dynamic: {pools: {a: {fallback: b, values: [{value: 192.0.2.1}]}, b: {fallback: a, values: [{value: 192.0.2.2}]}}, rules: [{pool: a, subnets: [10.0.0.1/8, nonsense]}]}}\n",
        "a: &x [*x]\n",
        "? [a]\n: b\n",
        "www: !include other.yaml\n",
        &"- ".repeat(5_000),
    ] {
        let _ = octodns::import(&apex, yaml, &options);
    }
    // A fallback loop is cut and reported; the file still compiles.
    let yaml = "www: {type: A, values: [192.0.2.9], dynamic: {pools: {a: {fallback: b, values: [{value: 192.0.2.1}]}, b: {fallback: a, values: [{value: 192.0.2.2}]}}, rules: [{pool: a}]}}\n";
    let imported = octodns::import(&apex, yaml, &options).unwrap();
    assert!(has(&imported, FindingKind::Lossy, "www.example.com. A", "loop in pool fallbacks a -> b -> a"), "{:#?}", imported.report);
}

#[test]
fn bind_import_drops_dnssec_and_reports_it() {
    let zone = name("example.org.");
    let imported = bind::import(&zone, SIGNED).unwrap();
    let master = imported.master_file.as_deref().unwrap();
    assert!(imported.summary.passes_check, "{:#?}\n{master}", imported.report);
    assert!(imported.routes_file.is_empty());
    for rtype in ["RRSIG", "DNSKEY", "NSEC3PARAM", "NSEC"] {
        assert!(!master.contains(&format!(" IN {rtype} ")), "{rtype} in\n{master}");
    }
    assert!(has(&imported, FindingKind::Skipped, "3 RRSIG record(s)", "DNSSEC data dropped"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "1 DNSKEY record(s)", "the edge does not sign"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "1 NSEC record(s)", "lines 33"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "line 37", "CH"), "{:#?}", imported.report);
    assert!(imported.report.iter().any(|f| f.subject == "line 36" && f.kind == FindingKind::Skipped), "{:#?}", imported.report);
    assert!(master.contains("; Import report:\n"), "{master}");
    let catalog = compile(&imported);
    let client = ClientView::default();
    let mut random = SplitMix::new(1);
    assert_eq!(ask(&catalog, "www.example.org.", RecordType::AAAA, &client, &NoHealthData, &mut random).1, ["2001:db8::80"]);
    assert_eq!(ask(&catalog, "example.org.", RecordType::TXT, &client, &NoHealthData, &mut random).1, ["v=spf1 -all"]);
    let (rcode, ds) = ask(&catalog, "shop.example.org.", RecordType::DS, &client, &NoHealthData, &mut random);
    assert_eq!((rcode, ds.len()), (ResponseCode::NoError, 1));
    let (_, soa) = ask(&catalog, "example.org.", RecordType::SOA, &client, &NoHealthData, &mut random);
    assert_eq!(soa.len(), 1);
}

#[test]
fn bind_import_refuses_what_would_misplace_records() {
    let zone = name("example.org.");
    let error = bind::import(&zone, "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n$INCLUDE other.db\n").unwrap_err();
    assert_eq!(error.to_string(), "line 4: $INCLUDE is not supported: a zone must be one file");
    let error = bind::import(&zone, "$TTL 60\nexample.net. SOA ns1 h 1 2 3 4 5\n").unwrap_err();
    assert!(error.to_string().starts_with("line 2: this file is the zone example.net."), "{error}");
    let error = bind::import(&zone, "$TTL 60\nwww A (192.0.2.1\n").unwrap_err();
    assert!(error.to_string().starts_with("line 2: unbalanced parentheses"), "{error}");
}

#[test]
fn long_fallback_chains_are_cut_to_what_the_engine_evaluates() {
    let pool = |n: usize, status: &str, fallback: bool| {
        let fallback = if fallback { format!(", fallback: p{}", n + 1) } else { String::new() };
        format!("      p{n}: {{values: [{{value: 192.0.2.{n}, status: {status}}}]{fallback}}}\n")
    };
    let file = |down: usize| {
        let mut yaml = "www:\n  type: A\n  values: [192.0.2.99]\n  dynamic:\n    pools:\n".to_owned();
        for n in 1..=6 {
            yaml.push_str(&pool(n, if n <= down { "down" } else { "obey" }, n < 6));
        }
        yaml.push_str("    rules:\n      - {geos: [EU], pool: p1}\n      - {pool: p6}\n");
        yaml.push_str("'':\n  - type: NS\n    value: ns1.example.net.\n");
        yaml
    };
    let eu = located("FR", "EU");
    let imported = import(&file(4));
    assert!(has(&imported, FindingKind::Lossy, "www.example.com. A", "pool p5 falls back to the values"), "{:#?}", imported.report);
    let answer = |imported: &Imported| ask(&compile(imported), "www.example.com.", RecordType::A, &eu, &NoHealthData, &mut SplitMix::new(1)).1;
    assert_eq!(answer(&imported), ["192.0.2.5"]);
    assert_eq!(answer(&import(&file(5))), ["192.0.2.99"]);
    // Through the apex alias, one level deeper, the answer is the same.
    let mut with_alias = file(4);
    with_alias.push_str("  - type: ALIAS\n    value: www.example.com.\n");
    let imported = import(&with_alias);
    let (_, answers) = ask(&compile(&imported), "example.com.", RecordType::A, &eu, &NoHealthData, &mut SplitMix::new(1));
    assert_eq!(answers, ["192.0.2.5"]);
}
