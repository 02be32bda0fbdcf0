//! Route 53 import (`edgedns::import`, `edgedns import route53`): the files it writes compile
//! with the project's own compiler, answer as Route 53 would, and everything that cannot be
//! imported is reported. Fixtures: tests/fixtures/route53/.

use std::collections::BTreeMap;
use std::process::Command;
use std::str::FromStr;

use edgedns::answer::{resolve, Inputs};
use edgedns::import::{import_record_sets, import_traffic_policy, FindingKind, ImportOptions, Imported, Importer};
use edgedns::policy::{ClientView, HealthView, NoHealthData, SplitMix};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

const RECORD_SETS: &str = include_str!("fixtures/route53/example.net.record-sets.json");
const HEALTH_CHECKS: &str = include_str!("fixtures/route53/health-checks.json");
const CIDR: &str = include_str!("fixtures/route53/cidr-collections.json");
const POLICY: &str = include_str!("fixtures/route53/traffic-policy.json");
const CYCLE: &str = include_str!("fixtures/route53/traffic-policy-cycle.json");

const SITE_A: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000a1";
const SITE_B: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000b2";
const US: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000c3";
const US_WA: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000d4";
const ROW: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000e5";
const TOKYO: &str = "5a1c7e10-3f0b-4c2e-9d11-0000000000f6";
const POOL_2: &str = "5a1c7e10-3f0b-4c2e-9d11-000000000102";
const POOL_4: &str = "5a1c7e10-3f0b-4c2e-9d11-000000000104";
const EU: &str = "5a1c7e10-3f0b-4c2e-9d11-000000000201";

fn zone() -> Name {
    Name::from_str("example.net.").unwrap()
}

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

/// The fixture zone with its health checks and CIDR collections.
fn full() -> Imported {
    import_record_sets(RECORD_SETS, &zone(), Some(HEALTH_CHECKS), Some(CIDR)).unwrap()
}

/// Compiles the two texts with the project's compiler (a stub master file when there is none).
fn compile(imported: &Imported) -> Catalog {
    let stub = "$ORIGIN example.net.\n@ 300 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n";
    let sources = [
        SourceFile { path: imported.master_file_name(), text: imported.master_file.clone().unwrap_or_else(|| stub.to_owned()) },
        SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() },
    ];
    match compile_all(&sources) {
        Ok(catalog) => catalog,
        Err(errors) => panic!(
            "the import does not compile:\n{}\n--- routes:\n{}",
            errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            imported.routes_file
        ),
    }
}

#[path = "support/engine.rs"]
mod engine;
use engine::{ask, Down};

fn answer(catalog: &Catalog, owner: &str, client: &ClientView, health: &dyn HealthView) -> Vec<String> {
    ask(catalog, owner, RecordType::A, client, health, &mut SplitMix::new(1)).1
}

fn located(country: &str, continent: &str, subdivision: Option<&str>) -> ClientView {
    ClientView {
        country: Some(country.to_owned()),
        continent: Some(continent.to_owned()),
        subdivision: subdivision.map(str::to_owned),
        ..ClientView::default()
    }
}

fn at(latitude: f64, longitude: f64) -> ClientView {
    ClientView { coordinates: Some(edgedns::geo::places::Coordinates::new(latitude, longitude)), ..ClientView::default() }
}

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

fn has(imported: &Imported, kind: FindingKind, subject: &str, message: &str) -> bool {
    imported.report.iter().any(|f| f.kind == kind && f.subject.contains(subject) && f.message.contains(message))
}

#[test]
fn record_sets_import_into_files_that_compile() {
    let imported = full();
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    assert!(!imported.report.iter().any(|f| matches!(f.kind, FindingKind::Invalid | FindingKind::Unresolved)), "{:#?}", imported.report);
    assert_eq!(imported.master_file_name(), "example.net.zone");
    assert_eq!(imported.routes_file_name(), "example.net.routes.toml");
    assert_eq!(imported.summary.master_records, 16);
    assert_eq!(imported.summary.routed_sets, 10);
    assert_eq!(imported.summary.cidr_collections, 1);
    // Referenced checks and the children of the calculated one; not the unused one.
    assert_eq!(imported.summary.health_checks, 10);
    assert!(!imported.routes_file.contains("000000000999"));
    let catalog = compile(&imported);
    assert_eq!(catalog.health_checks().len(), 10);
    let master = imported.master_file.as_deref().unwrap();
    assert!(master.starts_with("; example.net.: imported from Route 53"), "{master}");
    assert!(master.contains("$ORIGIN example.net.\n"), "{master}");
    // Names Route 53 reads as absolute are made absolute; octal escapes become decimal.
    assert!(master.contains("IN MX     10 mail.example.net.\n"), "{master}");
    assert!(master.contains("IN CNAME  www.example.net.\n"), "{master}");
    assert!(master.contains("\"caf\\233 \\\"quoted\\\"\""), "{master}");
    let routes = &imported.routes_file;
    assert!(routes.contains("name = \"*.cdn\""), "{routes}");
    assert!(routes.contains("coordinates = [48.86, 2.35]\nbias = -10\n"), "{routes}");
    assert!(routes.contains("region = \"us-east-1\"\nbias = 20\n"), "{routes}");
    assert!(
        routes.contains(
            "[cidr_collections.c0ffee00-1111-4222-8333-444455556666]\nacme = [\"203.0.113.0/24\", \"2001:db8:acce::/48\"]\nacme-lab = [\"203.0.113.128/25\"]\n"
        ),
        "{routes}"
    );
    assert!(routes.contains("# Import report:\n# - not imported: near.example.net. A [boston-lz]"), "{routes}");
}

#[test]
fn plain_records_answer_from_the_master_file() {
    let catalog = compile(&full());
    let mut random = SplitMix::new(3);
    let client = ClientView::default();
    let (rcode, mx) = ask(&catalog, "example.net.", RecordType::MX, &client, &NoHealthData, &mut random);
    assert_eq!((rcode, mx), (ResponseCode::NoError, vec!["10 mail.example.net.".to_owned()]));
    let (_, srv) = ask(&catalog, "_sip._tcp.example.net.", RecordType::SRV, &client, &NoHealthData, &mut random);
    assert_eq!(srv, vec!["10 60 5060 sip.example.net."]);
    let (_, caa) = ask(&catalog, "example.net.", RecordType::CAA, &client, &NoHealthData, &mut random);
    assert_eq!(caa.len(), 1);
    // The delegation with its DS (answered by the parent side).
    let (rcode, ds) = ask(&catalog, "shop.example.net.", RecordType::DS, &client, &NoHealthData, &mut random);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(ds.len(), 1, "{ds:?}");
    let (_, ns) = ask(&catalog, "example.net.", RecordType::NS, &client, &NoHealthData, &mut random);
    assert_eq!(ns.len(), 4);
}

#[test]
fn weighted_80_20_with_health_checks() {
    let catalog = compile(&full());
    let client = ClientView::default();
    let counts = tally(&catalog, "www.example.net.", &client, &NoHealthData, 10_000);
    let a = counts.get("192.0.2.10").copied().unwrap_or(0);
    let b = counts.get("192.0.2.20").copied().unwrap_or(0);
    assert_eq!(a + b, 10_000, "{counts:?}");
    assert!((7_800..=8_200).contains(&a), "80/20 split: {counts:?}");
    // A site whose check fails gets nothing.
    let counts = tally(&catalog, "www.example.net.", &client, &Down(vec![SITE_A]), 1_000);
    assert_eq!(counts.get("192.0.2.20"), Some(&1_000), "{counts:?}");
    // Both failing: both are used again, by weight.
    let counts = tally(&catalog, "www.example.net.", &client, &Down(vec![SITE_A, SITE_B]), 10_000);
    let a = counts.get("192.0.2.10").copied().unwrap_or(0);
    assert!((7_800..=8_200).contains(&a), "all unhealthy: weights again: {counts:?}");
}

#[test]
fn apex_alias_evaluates_its_target() {
    let catalog = compile(&full());
    let question = Query::query(zone(), RecordType::A);
    let client = ClientView::default();
    let mut random = SplitMix::new(9);
    let mut inputs = Inputs { client: &client, health: &Down(vec![SITE_A]), random: &mut random, trace: None };
    let resolution = resolve(&catalog, &question, &mut inputs);
    assert_eq!(resolution.answers.len(), 1);
    let records = resolution.answers.records();
    let record = &records[0];
    assert_eq!(record.data.to_string(), "192.0.2.20");
    assert_eq!(record.ttl, 60, "an alias answers with its target's TTL");
    // The CloudFront AAAA alias at the apex is not imported: NODATA, and reported.
    let imported = full();
    let (rcode, aaaa) = ask(&catalog, "example.net.", RecordType::AAAA, &client, &NoHealthData, &mut random);
    assert_eq!((rcode, aaaa.len()), (ResponseCode::NoError, 0));
    assert!(has(&imported, FindingKind::Skipped, "example.net. AAAA", "d111111abcdef8.cloudfront.net. (a CloudFront distribution)"), "{:#?}", imported.report);
}

#[test]
fn failover_with_an_alias_primary_to_a_geolocation_tree() {
    let catalog = compile(&full());
    let washington = located("US", "NA", Some("WA"));
    assert_eq!(answer(&catalog, "app.example.net.", &washington, &NoHealthData), ["192.0.2.31"]);
    assert_eq!(answer(&catalog, "app.example.net.", &located("US", "NA", Some("CA")), &NoHealthData), ["192.0.2.30"]);
    // Every check down. The NA and EU sets have no health check, so the tree stays healthy
    // (ROUTING.md: an alias evaluating its target is healthy while one record of the group
    // is): a Washington client walks up to NA, a Japanese one gets its only match.
    let all_down = Down(vec![US, US_WA, ROW, EU, TOKYO]);
    assert_eq!(answer(&catalog, "app.example.net.", &washington, &all_down), ["192.0.2.35"]);
    assert_eq!(answer(&catalog, "app.example.net.", &located("JP", "AS", None), &all_down), ["192.0.2.40"]);
    assert_eq!(answer(&catalog, "app.example.net.", &located("JP", "AS", None), &NoHealthData), ["192.0.2.40"]);
}

#[test]
fn failover_secondary_when_the_aliased_group_is_unhealthy() {
    let json = r#"{"ResourceRecordSets": [
        {"Name": "example.net.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]},
        {"Name": "example.net.", "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org."}]},
        {"Name": "app.example.net.", "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
         "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "geo.example.net.", "EvaluateTargetHealth": true}},
        {"Name": "app.example.net.", "Type": "A", "SetIdentifier": "secondary", "Failover": "SECONDARY", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.99"}]},
        {"Name": "geo.example.net.", "Type": "A", "SetIdentifier": "us", "GeoLocation": {"CountryCode": "US"}, "HealthCheckId": "us", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.30"}]},
        {"Name": "geo.example.net.", "Type": "A", "SetIdentifier": "rest", "GeoLocation": {"CountryCode": "*"}, "HealthCheckId": "rest", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.40"}]}
    ]}"#;
    let checks = r#"{"HealthChecks": [
        {"Id": "us", "HealthCheckConfig": {"Type": "HTTP", "IPAddress": "192.0.2.30"}},
        {"Id": "rest", "HealthCheckConfig": {"Type": "HTTP", "IPAddress": "192.0.2.40"}}
    ]}"#;
    let imported = import_record_sets(json, &zone(), Some(checks), None).unwrap();
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    let catalog = compile(&imported);
    let us = located("US", "NA", None);
    assert_eq!(answer(&catalog, "app.example.net.", &us, &NoHealthData), ["192.0.2.30"]);
    assert_eq!(answer(&catalog, "app.example.net.", &us, &Down(vec!["us"])), ["192.0.2.40"]);
    assert_eq!(answer(&catalog, "app.example.net.", &us, &Down(vec!["us", "rest"])), ["192.0.2.99"]);
}

#[test]
fn geolocation_continent_country_subdivision_default() {
    let imported = full();
    let catalog = compile(&imported);
    let geo = |client: ClientView, health: &dyn HealthView| answer(&catalog, "geo.app.example.net.", &client, health);
    assert_eq!(geo(located("US", "NA", Some("WA")), &NoHealthData), ["192.0.2.31"], "subdivision");
    assert_eq!(geo(located("US", "NA", Some("TX")), &NoHealthData), ["192.0.2.30"], "country");
    assert_eq!(geo(located("CA", "NA", Some("BC")), &NoHealthData), ["192.0.2.35"], "continent NA");
    assert_eq!(geo(located("MX", "NA", None), &NoHealthData), ["192.0.2.35"], "continent NA");
    assert_eq!(geo(located("FR", "EU", None), &NoHealthData), ["192.0.2.36"], "continent EU");
    assert_eq!(geo(located("NA", "AF", None), &NoHealthData), ["192.0.2.40"], "Namibia is not North America");
    assert_eq!(geo(located("JP", "AS", None), &NoHealthData), ["192.0.2.40"], "default");
    assert_eq!(geo(ClientView::default(), &NoHealthData), ["192.0.2.40"], "unknown client: default");
    // Unhealthy matches walk up as in Route 53: state → country → continent → default.
    assert_eq!(geo(located("US", "NA", Some("WA")), &Down(vec![US_WA])), ["192.0.2.30"]);
    assert_eq!(geo(located("US", "NA", Some("WA")), &Down(vec![US_WA, US])), ["192.0.2.35"]);
    assert_eq!(geo(located("US", "NA", Some("TX")), &Down(vec![US])), ["192.0.2.35"]);
    // Every match unhealthy: the most specific.
    assert_eq!(geo(located("JP", "AS", None), &Down(vec![ROW])), ["192.0.2.40"]);
    // Continent codes are written as such (country:XX names the countries that share them).
    assert!(imported.report.iter().all(|finding| finding.kind != FindingKind::Lossy || !finding.subject.contains("north-america")), "{:#?}", imported.report);
}

#[test]
fn latency_picks_the_nearest_healthy_region() {
    let catalog = compile(&full());
    let tokyo = at(35.68, 139.69);
    assert_eq!(answer(&catalog, "api.example.net.", &tokyo, &NoHealthData), ["192.0.2.53"]);
    assert_eq!(answer(&catalog, "api.example.net.", &at(53.35, -6.26), &NoHealthData), ["192.0.2.52"]);
    assert_eq!(answer(&catalog, "api.example.net.", &at(40.71, -74.0), &NoHealthData), ["192.0.2.51"]);
    // Tokyo down: the next nearest (Dublin is nearer to Tokyo than Virginia).
    assert_eq!(answer(&catalog, "api.example.net.", &tokyo, &Down(vec![TOKYO])), ["192.0.2.52"]);
}

#[test]
fn geoproximity_with_bias_and_coordinates() {
    let imported = full();
    let catalog = compile(&imported);
    assert_eq!(answer(&catalog, "near.example.net.", &at(48.85, 2.35), &NoHealthData), ["192.0.2.142"]);
    assert_eq!(answer(&catalog, "near.example.net.", &at(40.71, -74.0), &NoHealthData), ["192.0.2.141"]);
    // Mid-Atlantic: 2,762 km to Paris, 3,519 km to Virginia; biased 3,069 (-10) and 2,816 (+20).
    assert_eq!(answer(&catalog, "near.example.net.", &at(47.0, -35.0), &NoHealthData), ["192.0.2.141"]);
    assert!(has(&imported, FindingKind::Skipped, "near.example.net. A [boston-lz]", "LocalZoneGroup \"us-east-1-bos-1\""), "{:#?}", imported.report);
}

#[test]
fn multivalue_drops_unhealthy_values() {
    let imported = full();
    let catalog = compile(&imported);
    let client = ClientView::default();
    let mut all = answer(&catalog, "pool.example.net.", &client, &NoHealthData);
    all.sort();
    assert_eq!(all, ["192.0.2.61", "192.0.2.62", "192.0.2.63", "192.0.2.64"]);
    let mut some = answer(&catalog, "pool.example.net.", &client, &Down(vec![POOL_2, POOL_4]));
    some.sort();
    // pool-4's check is a CloudWatch alarm: not importable, so its value counts as healthy
    // (reported); pool-3's check is disabled in Route 53, declared disabled here.
    assert_eq!(some, ["192.0.2.61", "192.0.2.63", "192.0.2.64"]);
    assert!(has(&imported, FindingKind::Lossy, POOL_4, "CloudWatch alarm"), "{:#?}", imported.report);
    assert!(imported.routes_file.contains("disabled = true"), "{}", imported.routes_file);
}

#[test]
fn cidr_collections_route_by_longest_prefix() {
    let catalog = compile(&full());
    let from = |network: &str| ClientView { network: Some(network.parse().unwrap()), from_subnet: true, ..ClientView::default() };
    assert_eq!(answer(&catalog, "portal.example.net.", &from("203.0.113.5/32"), &NoHealthData), ["192.0.2.71"]);
    assert_eq!(answer(&catalog, "portal.example.net.", &from("203.0.113.200/32"), &NoHealthData), ["192.0.2.72"]);
    assert_eq!(answer(&catalog, "portal.example.net.", &from("2001:db8:acce:1::/64"), &NoHealthData), ["192.0.2.71"]);
    assert_eq!(answer(&catalog, "portal.example.net.", &from("198.51.100.1/32"), &NoHealthData), ["192.0.2.70"]);
}

#[test]
fn wildcards_route_by_weight() {
    let catalog = compile(&full());
    let counts = tally(&catalog, "img.cdn.example.net.", &ClientView::default(), &NoHealthData, 2_000);
    assert_eq!(counts.keys().cloned().collect::<Vec<_>>(), ["192.0.2.81", "192.0.2.82"], "{counts:?}");
    assert!(counts.values().all(|n| (850..=1_150).contains(n)), "{counts:?}");
}

#[test]
fn what_cannot_be_imported_is_reported() {
    let imported = full();
    let lines = imported.report_lines().join("\n");
    for (kind, subject, message) in [
        (FindingKind::Skipped, "example.net. AAAA", "(a CloudFront distribution)"),
        (FindingKind::Skipped, "legacy.example.net. A [old-elb]", "(an Elastic Load Balancing load balancer)"),
        (FindingKind::Skipped, "static.example.net. A", "(an S3 website endpoint)"),
        (FindingKind::Skipped, "near.example.net. A [boston-lz]", "Local Zones are not in the region table"),
        (FindingKind::Skipped, "tp.example.net. A", "created by the traffic policy instance"),
        (FindingKind::Lossy, "health check 5a1c7e10-3f0b-4c2e-9d11-0000000000b2", "Regions"),
    ] {
        assert!(has(&imported, kind, subject, message), "missing {kind}: {subject}: {message} in\n{lines}");
    }
    // What remains of a group that lost a member still answers.
    let catalog = compile(&imported);
    assert_eq!(answer(&catalog, "legacy.example.net.", &ClientView::default(), &NoHealthData), ["192.0.2.150"]);
    assert!(lines.starts_with("not imported: near.example.net. A [boston-lz]: LocalZoneGroup"), "{lines}");
}

#[test]
fn without_health_check_data_the_references_stay_unresolved() {
    let imported = import_record_sets(RECORD_SETS, &zone(), None, Some(CIDR)).unwrap();
    assert!(!imported.summary.passes_check);
    assert_eq!(imported.summary.health_checks, 0);
    assert!(has(&imported, FindingKind::Unresolved, &format!("health check {SITE_A}"), "no health checks were given"), "{:#?}", imported.report);
    assert!(!imported.report.iter().any(|f| f.kind == FindingKind::Invalid), "only unresolved checks keep it from compiling: {:#?}", imported.report);
    assert!(imported.routes_file.contains(&format!("# [health_checks.{SITE_A}]\n# type = \"https\"\n")), "{}", imported.routes_file);
    assert!(imported.routes_file.contains(&format!("health_check = \"{SITE_A}\"")));
    let sources = [
        SourceFile { path: imported.master_file_name(), text: imported.master_file.clone().unwrap() },
        SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() },
    ];
    let errors = compile_all(&sources).unwrap_err();
    assert!(errors.iter().all(|e| e.to_string().contains("unknown health check")), "{errors:?}");
    // Same without the CIDR data: the collection is unresolved, commented out.
    let imported = import_record_sets(RECORD_SETS, &zone(), Some(HEALTH_CHECKS), None).unwrap();
    assert!(!imported.summary.passes_check);
    assert!(has(&imported, FindingKind::Unresolved, "CIDR collection c0ffee00", "--cidr"), "{:#?}", imported.report);
    assert!(!imported.report.iter().any(|f| f.kind == FindingKind::Invalid), "{:#?}", imported.report);
}

#[test]
fn external_aliases_become_cnames_only_when_asked() {
    let mut importer = Importer::new(&zone(), ImportOptions { external_alias_as_cname: true }).unwrap();
    importer.record_sets(RECORD_SETS).unwrap();
    importer.health_checks(HEALTH_CHECKS).unwrap();
    importer.cidr_collections(CIDR).unwrap();
    let imported = importer.finish();
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    let master = imported.master_file.as_deref().unwrap();
    assert!(
        master.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["static", "60", "IN", "CNAME", "s3-website-us-east-1.amazonaws.com."]),
        "{master}"
    );
    assert!(has(&imported, FindingKind::Lossy, "static.example.net. A", "imported as a CNAME"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "example.net. AAAA", "a CNAME cannot stand at the zone apex"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "legacy.example.net. A [old-elb]", "Elastic Load Balancing"), "{:#?}", imported.report);
}

#[test]
fn traffic_policy_failover_geo_weighted() {
    let mut importer = Importer::new(&zone(), ImportOptions::default()).unwrap();
    importer.record_sets(RECORD_SETS).unwrap();
    importer.traffic_policy(POLICY, "flow", Some(60)).unwrap();
    importer.health_checks(HEALTH_CHECKS).unwrap();
    importer.cidr_collections(CIDR).unwrap();
    let imported = importer.finish();
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    assert!(
        imported.routes_file.contains("[[records.failover.primary.geolocation.weighted]]\nlabel = \"us-east-a\"\nweight = 3\n"),
        "{}",
        imported.routes_file
    );
    assert!(has(&imported, FindingKind::Skipped, "traffic policy endpoint cdn", "cloudfront"), "{:#?}", imported.report);
    let catalog = compile(&imported);
    let us = located("US", "NA", Some("NY"));
    let counts = tally(&catalog, "flow.example.net.", &us, &NoHealthData, 4_000);
    let a = counts.get("192.0.2.201").copied().unwrap_or(0);
    let b = counts.get("192.0.2.202").copied().unwrap_or(0);
    assert_eq!(a + b, 4_000, "the CloudFront endpoint is gone: {counts:?}");
    assert!((2_850..=3_150).contains(&a), "3:1: {counts:?}");
    assert_eq!(answer(&catalog, "flow.example.net.", &us, &Down(vec![SITE_A])), ["192.0.2.202"]);
    assert_eq!(answer(&catalog, "flow.example.net.", &located("DE", "EU", None), &NoHealthData), ["192.0.2.211"]);
    assert_eq!(answer(&catalog, "flow.example.net.", &located("DE", "EU", None), &Down(vec![EU])), ["192.0.2.221"]);
    assert_eq!(answer(&catalog, "flow.example.net.", &located("JP", "AS", None), &NoHealthData), ["192.0.2.221"]);
    // The whole geo rule unhealthy: the failover's secondary.
    let everything = Down(vec![SITE_A, SITE_B, EU, TOKYO]);
    for client in [us, located("DE", "EU", None), located("JP", "AS", None)] {
        assert_eq!(answer(&catalog, "flow.example.net.", &client, &everything), ["192.0.2.250"]);
    }
    let (_, records) = {
        let question = Query::query(name("flow.example.net."), RecordType::A);
        let client = ClientView::default();
        let mut random = SplitMix::new(1);
        let mut inputs = Inputs { client: &client, health: &NoHealthData, random: &mut random, trace: None };
        let resolution = resolve(&catalog, &question, &mut inputs);
        (resolution.rcode, resolution.answers.into_records())
    };
    assert_eq!(records[0].ttl, 60, "--policy-ttl");
}

#[test]
fn traffic_policy_alone_and_its_other_rules() {
    let document = r#"{
        "AWSPolicyFormatVersion": "2023-05-09",
        "RecordType": "AAAA",
        "StartRule": "nearest",
        "Endpoints": {
            "use1": {"Type": "value", "Value": "2001:db8::1"},
            "euw1": {"Type": "value", "Value": "2001:db8::2"},
            "pool-a": {"Type": "value", "Value": "2001:db8::a"},
            "pool-b": {"Type": "value", "Value": "2001:db8::b"},
            "alb": {"Type": "application-load-balancer", "Value": "app-1.eu-west-1.elb.amazonaws.com"}
        },
        "Rules": {
            "nearest": {"RuleType": "latency", "Regions": [
                {"Region": "us-east-1", "RuleReference": "close"},
                {"Region": "eu-west-1", "EndpointReference": "euw1"},
                {"Region": "ap-south-2-xyz", "EndpointReference": "euw1"}
            ]},
            "close": {"RuleType": "geoproximity", "GeoproximityLocations": [
                {"Region": "aws:route53:us-east-1", "Bias": "10", "EndpointReference": "use1"},
                {"Latitude": "47.6", "Longitude": "-122.3", "Bias": 0, "RuleReference": "many"},
                {"Region": "aws:route53:us-west-2-lax-1", "EndpointReference": "alb"}
            ]},
            "many": {"RuleType": "multivalue", "Items": [
                {"EndpointReference": "pool-a", "HealthCheck": "hc-a"},
                {"EndpointReference": "pool-b"},
                {"EndpointReference": "alb"}
            ]}
        }
    }"#;
    let imported = import_traffic_policy(document, &zone(), "svc.example.net", None, None).unwrap();
    assert!(imported.master_file.is_none());
    assert!(has(&imported, FindingKind::Skipped, "nearest", "region \"ap-south-2-xyz\""), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "close", "us-west-2-lax-1"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "endpoint alb", "application-load-balancer"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Unresolved, "health check hc-a", "no health checks were given"), "{:#?}", imported.report);
    let declared = imported
        .routes_file
        .replace("# [health_checks.hc-a]\n# type = \"https\"\n# host = \"\"", "[health_checks.hc-a]\ntype = \"https\"\nhost = \"pool-a.example.net\"");
    let catalog = compile(&Imported { routes_file: declared, ..imported });
    let seattle = at(47.6, -122.3);
    let mut random = SplitMix::new(4);
    let (_, mut pool) = ask(&catalog, "svc.example.net.", RecordType::AAAA, &seattle, &NoHealthData, &mut random);
    pool.sort();
    assert_eq!(pool, ["2001:db8::a", "2001:db8::b"]);
    let (_, pool) = ask(&catalog, "svc.example.net.", RecordType::AAAA, &seattle, &Down(vec!["hc-a"]), &mut random);
    assert_eq!(pool, ["2001:db8::b"]);
    let (_, virginia) = ask(&catalog, "svc.example.net.", RecordType::AAAA, &at(39.0, -77.5), &NoHealthData, &mut random);
    assert_eq!(virginia, ["2001:db8::1"]);
    let (_, dublin) = ask(&catalog, "svc.example.net.", RecordType::AAAA, &at(53.3, -6.3), &NoHealthData, &mut random);
    assert_eq!(dublin, ["2001:db8::2"]);
}

#[test]
fn rule_reference_cycles_are_reported() {
    let imported = import_traffic_policy(CYCLE, &zone(), "loop", None, None).unwrap();
    assert!(has(&imported, FindingKind::Skipped, "traffic policy rule a", "rule reference cycle a → b → a"), "{:#?}", imported.report);
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    let catalog = compile(&imported);
    assert_eq!(answer(&catalog, "loop.example.net.", &ClientView::default(), &NoHealthData), ["192.0.2.232"]);
    // A self-reference too, and a start rule that is nothing but a cycle.
    let selfish = r#"{"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "r",
        "Rules": {"r": {"RuleType": "weighted", "Items": [{"RuleReference": "r", "Weight": 1}]}}}"#;
    let imported = import_traffic_policy(selfish, &zone(), "self", None, None).unwrap();
    assert!(has(&imported, FindingKind::Skipped, "traffic policy rule r", "cycle r → r"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Skipped, "traffic policy for self.example.net. A", "nothing of the policy"), "{:#?}", imported.report);
    assert!(!imported.routes_file.contains("[[records]]"));
    // `aws route53 get-traffic-policy` output wraps the document as a string.
    let wrapped = serde_json::json!({"TrafficPolicy": {"Id": "1", "Version": 1, "Name": "loop", "Type": "A", "Document": CYCLE}}).to_string();
    let imported = import_traffic_policy(&wrapped, &zone(), "loop", Some(30), None).unwrap();
    assert!(imported.summary.passes_check, "{:#?}", imported.report);
    assert!(imported.routes_file.contains("name = \"loop\"\ntype = \"A\"\nttl = 30\n"), "{}", imported.routes_file);
}

#[test]
fn malformed_input_is_an_error_with_a_path() {
    let error = |json: &str| import_record_sets(json, &zone(), None, None).unwrap_err();
    let e = error(
        r#"{"ResourceRecordSets": [{"Name": "www.example.net.", "Type": "A", "SetIdentifier": "a", "Weight": "heavy", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}]}"#,
    );
    assert_eq!(e.path, "ResourceRecordSets[0].Weight");
    assert!(e.message.contains("expected an integer"), "{e}");
    let e = error(r#"{"ResourceRecordSets": [{"Name": "a.example.net.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": 1}]}]}"#);
    assert_eq!(e.to_string(), "ResourceRecordSets[0].ResourceRecords[0].Value: expected a string, found a number");
    let e = error(r#"[{"Name": "example.com.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "a. b. 1 2 3 4 5"}]}]"#);
    assert!(e.message.contains("belong to the zone example.com."), "{e}");
    let e = error("{\"ResourceRecordSets\": [");
    assert!(e.message.starts_with("the record sets are not JSON: ") && e.message.contains("line 1"), "{e}");
    let e = error(r#"{"Records": []}"#);
    assert!(e.message.contains("list-resource-record-sets"), "{e}");
    let e = import_traffic_policy(
        r#"{"AWSPolicyFormatVersion": "2015-10-01", "RecordType": "A", "StartRule": "r", "Endpoints": {"e": {"Type": "value", "Value": "192.0.2.1"}},
            "Rules": {"r": {"RuleType": "weighted", "Items": [{"EndpointReference": "e", "Weight": true}]}}}"#,
        &zone(),
        "x",
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(e.path, "Rules.r.Items[0].Weight");
    let e = import_record_sets("[]", &zone(), Some(r#"{"HealthChecks": [{"Id": "x"}]}"#), None).unwrap_err();
    assert_eq!(e.to_string(), "HealthChecks[0]: HealthCheckConfig is missing");
    assert!(import_traffic_policy(POLICY, &zone(), "www.example.org.", None, None).unwrap_err().message.contains("outside the zone"));
}

/// Route 53 health checks, each referenced by a weighted record set of w.example.net.
fn with_checks(configs: &[(&str, &str)]) -> Result<Imported, edgedns::import::ImportError> {
    let apex = r#"{"Name": "example.net.", "Type": "NS", "TTL": 60, "ResourceRecords": [{"Value": "ns1.example.net."}]}, {"Name": "ns1.example.net.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.53"}]}"#;
    let sets: Vec<String> = std::iter::once(apex.to_owned())
        .chain(configs.iter()
        .enumerate()
        .map(|(n, (id, _))| {
            format!(
                r#"{{"Name": "w.example.net.", "Type": "A", "SetIdentifier": "c{n}", "Weight": 1, "TTL": 60, "HealthCheckId": "{id}", "ResourceRecords": [{{"Value": "192.0.2.{n}"}}]}}"#
            )
        }))
        .collect();
    let checks: Vec<String> = configs.iter().map(|(id, config)| format!(r#"{{"Id": "{id}", "HealthCheckConfig": {config}}}"#)).collect();
    import_record_sets(&format!("[{}]", sets.join(", ")), &zone(), Some(&format!(r#"{{"HealthChecks": [{}]}}"#, checks.join(", "))), None)
}

#[test]
fn health_check_types_hosts_and_paths_map_onto_the_checked_spec() {
    let imported = with_checks(&[
        ("http", r#"{"Type": "HTTP", "IPAddress": "2001:db8::1", "Port": 8080, "ResourcePath": "status"}"#),
        ("match", r#"{"Type": "HTTPS_STR_MATCH", "FullyQualifiedDomainName": "web.example.org", "ResourcePath": "/ping?x=1", "SearchString": "pong"}"#),
        ("tcp", r#"{"Type": "TCP", "IPAddress": "192.0.2.53", "Port": 53}"#),
        ("at", r#"{"Type": "HTTP", "FullyQualifiedDomainName": "good.example/@evil.example", "ResourcePath": "/"}"#),
        ("space", r#"{"Type": "HTTP", "IPAddress": "192.0.2.9", "ResourcePath": "/a b"}"#),
    ])
    .unwrap();
    let routes = &imported.routes_file;
    assert!(routes.contains("[health_checks.http]\ntype = \"http\"\nhost = \"2001:db8::1\"\npath = \"/status\"\nport = 8080\n"), "{routes}");
    assert!(routes.contains("[health_checks.match]\ntype = \"https\"\nhost = \"web.example.org\"\npath = \"/ping?x=1\"\nsearch = \"pong\"\n"), "{routes}");
    assert!(routes.contains("[health_checks.tcp]\ntype = \"tcp\"\nhost = \"192.0.2.53\"\nport = 53\n"), "{routes}");
    // A host or path that is not one cannot be checked here: reported, never written.
    let declared: Vec<&str> = routes.lines().filter(|line| !line.starts_with('#')).collect();
    assert!(!declared.iter().any(|line| line.contains("evil.example") || line.contains("/a b")), "{routes}");
    assert!(has(&imported, FindingKind::Lossy, "health check at", "is not a host name or an IP address"), "{:#?}", imported.report);
    assert!(has(&imported, FindingKind::Lossy, "health check space", "is not an HTTP path"), "{:#?}", imported.report);
    compile(&imported);
    // A type Route 53 does not have is an error at its place, not a default.
    let Err(error) = with_checks(&[("x", r#"{"Type": "HTTP_FAST", "IPAddress": "192.0.2.1"}"#)]) else { panic!("an unknown type is an error") };
    assert_eq!(error.path, "HealthChecks[0].HealthCheckConfig.Type");
    assert!(error.message.starts_with("unknown health check type \"HTTP_FAST\" (Route 53's are HTTP, HTTPS,"), "{error}");
}

#[test]
fn semantic_problems_are_reported_not_fatal() {
    let json = r#"[
        {"Name": "bad..name.example.net.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "other.example.org.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "t.example.net.", "Type": "SPF", "TTL": 60, "ResourceRecords": [{"Value": "\"v=spf1 -all\""}]},
        {"Name": "v.example.net.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.300"}]},
        {"Name": "w.example.net.", "Type": "A", "SetIdentifier": "x", "Weight": 300, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "m.example.net.", "Type": "A", "SetIdentifier": "x", "Weight": 3, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "m.example.net.", "Type": "A", "SetIdentifier": "y", "Region": "us-east-1", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.2"}]},
        {"Name": "g.example.net.", "Type": "A", "SetIdentifier": "x", "GeoLocation": {"CountryCode": "XX"}, "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]},
        {"Name": "g.example.net.", "Type": "A", "SetIdentifier": "y", "GeoLocation": {"CountryCode": "*"}, "TTL": 30, "ResourceRecords": [{"Value": "192.0.2.2"}]},
        {"Name": "a.example.net.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z", "DNSName": "gone.example.net.", "EvaluateTargetHealth": false}},
        {"Name": "b.example.net.", "Type": "A", "AliasTarget": {"HostedZoneId": "Z", "DNSName": "a.example.net.", "EvaluateTargetHealth": false}},
        {"Name": "example.net.", "Type": "NS", "TTL": 60, "ResourceRecords": [{"Value": "ns1.example.net."}]}
    ]"#;
    let imported = import_record_sets(json, &zone(), None, None).unwrap();
    let lines = imported.report_lines().join("\n");
    let truncated =
        import_record_sets(&format!("{{\"ResourceRecordSets\": {json}, \"IsTruncated\": true, \"NextRecordName\": \"z.example.net.\"}}"), &zone(), None, None)
            .unwrap();
    assert!(has(&truncated, FindingKind::Unresolved, "ResourceRecordSets", "truncated"), "{:#?}", truncated.report);
    assert!(has(&imported, FindingKind::Skipped, "bad..name.example.net. A", "empty label"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "other.example.org. A", "outside the zone"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "t.example.net. SPF", "not one this project serves"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "v.example.net. A", "192.0.2.300"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "w.example.net. A [x]", "Weight 300"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "m.example.net. A", "mix routing policies"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "g.example.net. A [x]", "unknown location XX"), "{lines}");
    // An alias whose target was not imported goes, and so does an alias to that alias.
    assert!(has(&imported, FindingKind::Skipped, "a.example.net. A", "gone.example.net. has no A record set"), "{lines}");
    assert!(has(&imported, FindingKind::Skipped, "b.example.net. A", "a.example.net. has no A record set"), "{lines}");
    assert!(has(&imported, FindingKind::Note, "example.net. SOA", "made up"), "{lines}");
    assert!(imported.summary.passes_check, "{lines}\n{}", imported.routes_file);
    compile(&imported);
}

fn mutate_bytes(text: &str, rng: &mut SplitMix) -> String {
    const SPECIAL: &[u8] = b"{}[],:\"\\0123456789-.*eE tnf";
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.index(6) {
        let at = rng.index(bytes.len());
        match rng.index(4) {
            0 => bytes[at] = SPECIAL[rng.index(SPECIAL.len())],
            1 => {
                let end = (at + rng.index(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => bytes.insert(at, SPECIAL[rng.index(SPECIAL.len())]),
            _ => {
                let end = (at + rng.index(200)).min(bytes.len());
                let copy: Vec<u8> = bytes[at..end].to_vec();
                let to = rng.index(bytes.len());
                bytes.splice(to..to, copy);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn replacement(rng: &mut SplitMix, like: &serde_json::Value) -> serde_json::Value {
    use serde_json::json;
    let pool = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(255),
        json!(256),
        json!(-100),
        json!(1e300),
        json!(u64::MAX),
        json!(""),
        json!("*"),
        json!("\\052"),
        json!("\\"),
        json!("NA"),
        json!("US"),
        json!("WA"),
        json!("true"),
        json!("PRIMARY"),
        json!("us-east-1"),
        json!("aws:route53:eu-west-1"),
        json!("192.0.2.1"),
        json!("203.0.113.7/24"),
        json!("www.example.net."),
        json!("example.net."),
        json!("a..b"),
        json!("x".repeat(300)),
        json!("\"unterminated"),
        json!("( 1 2"),
        json!("value"),
        json!("site_switch"),
        json!("by_geo"),
        json!("NaN"),
        json!([]),
        json!({}),
        json!([{"Value": "192.0.2.9"}]),
        json!({"RuleReference": "site_switch"}),
        json!({"EndpointReference": "sorry"}),
    ];
    // Mostly a value of the same JSON type, so that the importer's semantic checks are reached.
    let same: Vec<&serde_json::Value> =
        pool.iter().filter(|v| std::mem::discriminant(*v) == std::mem::discriminant(like) && v.is_number() == like.is_number()).collect();
    if !same.is_empty() && rng.index(4) != 0 {
        return same[rng.index(same.len())].clone();
    }
    pool[rng.index(pool.len())].clone()
}

/// Replaces, removes or duplicates one random node of the document.
fn mutate_value(value: &mut serde_json::Value, rng: &mut SplitMix, depth: usize) {
    use serde_json::Value;
    let here = depth > 0 && rng.index(4 + depth) < 1;
    match value {
        Value::Object(map) if !map.is_empty() && !here => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.index(keys.len())];
            if depth > 0 && rng.index(8) == 0 {
                map.remove(key);
            } else if let Some(child) = map.get_mut(key) {
                mutate_value(child, rng, depth + 1);
            }
        }
        Value::Array(items) if !items.is_empty() && !here => {
            let at = rng.index(items.len());
            match rng.index(8) {
                0 => {
                    items.remove(at);
                }
                1 => {
                    let copy = items[at].clone();
                    items.push(copy);
                }
                _ => mutate_value(&mut items[at], rng, depth + 1),
            }
        }
        _ => *value = replacement(rng, value),
    }
}

#[test]
fn no_input_panics() {
    let mut rng = SplitMix::new(0x9e37_79b9_7f4a_7c15);
    let fixtures = [RECORD_SETS, HEALTH_CHECKS, CIDR, POLICY, CYCLE];
    let parsed: Vec<serde_json::Value> = fixtures.iter().map(|f| serde_json::from_str(f).unwrap()).collect();
    let mut imported_ok = 0;
    for round in 0..3_000 {
        let which = round % fixtures.len();
        let text = if round % 3 == 0 {
            mutate_bytes(fixtures[which], &mut rng)
        } else {
            let mut value = parsed[which].clone();
            for _ in 0..1 + rng.index(4) {
                mutate_value(&mut value, &mut rng, 0);
            }
            value.to_string()
        };
        let result = match which {
            0 => import_record_sets(&text, &zone(), Some(HEALTH_CHECKS), Some(CIDR)),
            1 => import_record_sets(RECORD_SETS, &zone(), Some(&text), Some(CIDR)),
            2 => import_record_sets(RECORD_SETS, &zone(), Some(HEALTH_CHECKS), Some(&text)),
            _ => import_traffic_policy(&text, &zone(), "flow", Some(60), Some(HEALTH_CHECKS)),
        };
        if let Ok(imported) = result {
            imported_ok += 1;
            // Whatever was read, the routes file is TOML and the report is printable.
            assert!(toml::from_str::<toml::Table>(&imported.routes_file).is_ok(), "round {round}:\n{}", imported.routes_file);
            let _ = imported.report_lines();
        }
    }
    assert!(imported_ok > 800, "the mutations should mostly reach the importer: {imported_ok}");
    // Deep and wide documents.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(import_record_sets(&deep, &zone(), None, None).is_err());
    let mut rules = String::new();
    for i in 0..2_000 {
        rules.push_str(&format!("\"r{i}\": {{\"RuleType\": \"weighted\", \"Items\": [{{\"RuleReference\": \"r{}\", \"Weight\": 1}}, {{\"RuleReference\": \"r{}\", \"Weight\": 1}}]}},", i + 1, i + 1));
    }
    let chain = format!(
        "{{\"AWSPolicyFormatVersion\": \"2015-10-01\", \"RecordType\": \"A\", \"StartRule\": \"r0\", \"Endpoints\": {{}}, \"Rules\": {{{rules} \"end\": {{\"RuleType\": \"weighted\", \"Items\": []}}}}}}"
    );
    // Each rule referenced twice from the one above: the copies are bounded.
    let error = import_traffic_policy(&chain, &zone(), "x", None, None).unwrap_err();
    assert!(error.message.contains("nodes"), "{error}");
}

fn edgedns(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).env("EDGEDNS_QUIET", "1").output().expect("the CLI runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn cli_imports_and_the_output_passes_check() {
    let dir = std::env::temp_dir().join(format!("edgedns-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_str().unwrap();
    let fixture = |file: &str| format!("tests/fixtures/route53/{file}");
    let (ok, text) = edgedns(&[
        "import",
        "route53",
        "--zone",
        "example.net",
        "--record-sets",
        &fixture("example.net.record-sets.json"),
        "--health-checks",
        &fixture("health-checks.json"),
        "--cidr",
        &fixture("cidr-collections.json"),
        "--traffic-policy",
        &fixture("traffic-policy.json"),
        "--policy-name",
        "flow",
        "--policy-ttl",
        "60",
        "-o",
        out,
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("example.net.zone (16 records)"), "{text}");
    assert!(text.contains("example.net.routes.toml (11 routed record sets, 10 health checks, 1 CIDR collections)"), "{text}");
    assert!(text.contains("not imported: example.net. AAAA: alias to d111111abcdef8.cloudfront.net."), "{text}");
    assert!(text.contains("passes"), "{text}");
    let (ok, checked) = edgedns(&["check", out]);
    assert!(ok, "{checked}");
    assert!(checked.starts_with("ok: 1 zones, 16 records, 11 routed record sets, 10 health checks"), "{checked}");
    let (ok, answered) = edgedns(&["query", "--zones", out, "geo.app.example.net", "A", "--country", "CA", "--continent", "NA"]);
    assert!(ok && answered.contains("192.0.2.35"), "{answered}");
    // Existing files are kept unless --force.
    let (ok, text) = edgedns(&["import", "route53", "--zone", "example.net", "--record-sets", &fixture("example.net.record-sets.json"), "-o", out]);
    assert!(!ok && text.contains("exists: give --force"), "{text}");
    // Unusable input: non-zero, with the file and the JSON path.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"ResourceRecordSets": [{"Name": 7}]}"#).unwrap();
    let (ok, text) = edgedns(&["import", "route53", "--zone", "example.net", "--record-sets", bad.to_str().unwrap(), "-o", out, "--force"]);
    assert!(!ok && text.contains("bad.json: ResourceRecordSets[0].Name: expected a string, found a number"), "{text}");
    let (ok, text) = edgedns(&["import", "route53", "--zone", "example.net", "-o", out]);
    assert!(!ok && text.contains("--record-sets"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
