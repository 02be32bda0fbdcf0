//! The evaluation budget against the repository's own trees: every routed set of `zones/`,
//! `tests/zones/` (its view included) and of the imports of `tests/fixtures/` (Route 53 record
//! sets and traffic policy, octoDNS) visits at most a tenth of `policy::EVALUATION_BUDGET`
//! when evaluated for a spread of clients and health states, never more than the compiler's
//! worst-case bound says, and that bound (which adds up every branch the evaluator could take
//! in some state) is under a fifth of the budget.

use std::str::FromStr;

use edgedns::geo::places::Coordinates;
use edgedns::import::{import_record_sets, octodns, ImportOptions, Imported, Importer};
use edgedns::policy::{self, Budget, ClientView, Context, HealthView, NoHealthData, SplitMix, EVALUATION_BUDGET};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Catalog;
use hickory_proto::rr::Name;

#[path = "support/sources.rs"]
mod sources_support;
use sources_support::repository_sources;

/// Every check down (then every search for a healthy child runs to its end).
struct AllDown;

impl HealthView for AllDown {
    fn is_healthy(&self, _check: &str) -> Option<bool> {
        Some(false)
    }
}

fn compile(sources: &[SourceFile]) -> Catalog {
    compile_all(sources).unwrap_or_else(|errors| panic!("does not compile: {:?}", errors.iter().map(ToString::to_string).collect::<Vec<_>>()))
}

fn imported_sources(imported: &Imported) -> Vec<SourceFile> {
    let apex = imported.master_file_name().trim_end_matches("zone").to_owned();
    let stub = format!("$ORIGIN {apex}\n@ 300 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n");
    vec![
        SourceFile { path: imported.master_file_name(), text: imported.master_file.clone().unwrap_or(stub) },
        SourceFile { path: imported.routes_file_name(), text: imported.routes_file.clone() },
    ]
}

/// The catalogs the repository's trees live in.
fn catalogs() -> Vec<(&'static str, Catalog)> {
    let example_net = Name::from_str("example.net.").unwrap();
    let mut route53 = Importer::new(&example_net, ImportOptions::default()).unwrap();
    route53.record_sets(include_str!("fixtures/route53/example.net.record-sets.json")).unwrap();
    route53.traffic_policy(include_str!("fixtures/route53/traffic-policy.json"), "flow", Some(60)).unwrap();
    route53.health_checks(include_str!("fixtures/route53/health-checks.json")).unwrap();
    route53.cidr_collections(include_str!("fixtures/route53/cidr-collections.json")).unwrap();
    let record_sets = import_record_sets(
        include_str!("fixtures/route53/example.net.record-sets.json"),
        &example_net,
        Some(include_str!("fixtures/route53/health-checks.json")),
        Some(include_str!("fixtures/route53/cidr-collections.json")),
    )
    .unwrap();
    let octodns =
        octodns::import(&Name::from_str("example.com.").unwrap(), include_str!("fixtures/octodns/example.com.yaml"), &octodns::Options::default()).unwrap();
    let repository = compile(&repository_sources());
    let views: Vec<(&'static str, Catalog)> = repository.views().iter().map(|view| ("tests/zones/views", view.zones.clone())).collect();
    let mut all = vec![
        ("zones/ and tests/zones/", repository),
        ("tests/fixtures/route53 (record sets and traffic policy)", compile(&imported_sources(&route53.finish()))),
        ("tests/fixtures/route53 (record sets)", compile(&imported_sources(&record_sets))),
        ("tests/fixtures/octodns", compile(&imported_sources(&octodns))),
    ];
    all.extend(views);
    all
}

/// Clients that take every kind of branch: nowhere, located ones with and without a subnet,
/// one with an ASN and an edge location.
fn clients() -> Vec<ClientView> {
    let located = |country: &str, continent: &str, subdivision: Option<&str>, latitude: f64, longitude: f64| ClientView {
        country: Some(country.to_owned()),
        continent: Some(continent.to_owned()),
        subdivision: subdivision.map(str::to_owned),
        coordinates: Some(Coordinates { latitude, longitude }),
        ..ClientView::default()
    };
    let mut subnet = located("US", "NA", Some("WA"), 47.6, -122.3);
    subnet.network = Some("203.0.113.128/25".parse().unwrap());
    subnet.from_subnet = true;
    let mut isp = located("JP", "AS", None, 35.6, 139.7);
    isp.asn = Some(64500);
    isp.edge_location = Some("HNL".to_owned());
    isp.network = Some("2001:db8:acce::1/128".parse().unwrap());
    vec![ClientView::default(), subnet, located("DE", "EU", None, 50.1, 8.7), isp, located("BR", "SA", None, -23.5, -46.6)]
}

#[test]
fn every_routed_set_in_the_repository_stays_far_below_the_budget() {
    let (tenth, fifth) = (EVALUATION_BUDGET / 10, u64::from(EVALUATION_BUDGET / 5));
    let (mut dearest, mut most_visited, mut sets) = ((0u64, String::new()), (0u32, String::new()), 0);
    let healths: [&dyn HealthView; 2] = [&NoHealthData, &AllDown];
    for (place, catalog) in catalogs() {
        for zone in catalog.zones() {
            for (_, node) in zone.nodes() {
                for set in node.routed_sets() {
                    sets += 1;
                    let what = format!("{place}: {} {}", set.name, set.record_type());
                    let worst = policy::worst_case_visits(&set.rule, set.record_type(), &catalog);
                    assert!(worst <= fifth, "{what} may visit {worst} nodes, over a fifth of the budget");
                    if worst > dearest.0 {
                        dearest = (worst, what.clone());
                    }
                    for (index, client) in clients().iter().enumerate() {
                        for health in healths {
                            let mut random = SplitMix::new(index as u64);
                            let mut budget = Budget::default();
                            let mut context = Context { client, health, targets: &catalog, random: &mut random, trace: None, budget: &mut budget };
                            let decision = policy::evaluate(&set.rule, set.record_type(), &mut context);
                            assert_eq!(decision.failure, None, "{what}");
                            assert!(u64::from(decision.visited) <= worst, "{what}: visited {} > worst case {worst}", decision.visited);
                            assert!(decision.visited <= tenth, "{what}: visited {}, over a tenth of the budget", decision.visited);
                            if decision.visited > most_visited.0 {
                                most_visited = (decision.visited, what.clone());
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(sets > 20, "the repository's routed sets were found ({sets})");
    // The numbers EVALUATION_BUDGET's documentation quotes (`cargo test --test budget -- --nocapture`).
    eprintln!("{sets} routed sets; dearest worst case {} ({}); most visited {} ({})", dearest.0, dearest.1, most_visited.0, most_visited.1);
}

/// A snapshot the compiler did not make (a loop of aliases sixteen wide): the answer is
/// SERVFAIL with the reason as an Extended DNS Error, at once and for every query type path
/// (the set itself, and a CNAME at the name).
#[test]
fn a_hostile_tree_in_a_snapshot_answers_servfail_with_the_reason() {
    use edgedns::answer::{resolve, ExtendedError, Inputs};
    use edgedns::policy::{Action, Failure, Rule, WeightedChoice};
    use edgedns::zone::routes::RoutedSet;
    use edgedns::zone::Zone;
    use hickory_proto::op::{Query, ResponseCode};
    use hickory_proto::rr::rdata::{NS, SOA};
    use hickory_proto::rr::{RData, Record, RecordType};

    let apex = Name::from_str("hostile.test.").unwrap();
    let soa = SOA::new(Name::from_str("ns.hostile.test.").unwrap(), Name::from_str("admin.hostile.test.").unwrap(), 1, 3600, 600, 86400, 60);
    let records = vec![
        Record::from_rdata(apex.clone(), 300, RData::SOA(soa)),
        Record::from_rdata(apex.clone(), 300, RData::NS(NS(Name::from_str("ns.hostile.test.").unwrap()))),
    ];
    let alias =
        |target: &str| Rule { label: None, health_check: None, force: None, action: Action::Alias { target: target.to_owned(), evaluate_target_health: true } };
    let looping = |record_type: RecordType| RoutedSet {
        name: "loop.hostile.test.".to_owned(),
        record_type: u16::from(record_type),
        ttl: 60,
        rule: Rule {
            label: None,
            health_check: None,
            force: None,
            action: Action::Weighted { choices: (0..16).map(|_| WeightedChoice { weight: 1, rule: alias("loop.hostile.test.") }).collect(), sticky: false },
        },
    };
    let mut cname = looping(RecordType::CNAME);
    cname.name = "cname.hostile.test.".to_owned();
    if let Action::Weighted { choices, .. } = &mut cname.rule.action {
        choices.iter_mut().for_each(|choice| choice.rule = alias("cname.hostile.test."));
    }
    let zone = Zone::assemble(&apex, records, vec![looping(RecordType::A), cname]).unwrap();
    let catalog = Catalog::new(vec![zone]);
    for (name, record_type) in [("loop.hostile.test.", RecordType::A), ("cname.hostile.test.", RecordType::A), ("cname.hostile.test.", RecordType::CNAME)] {
        let client = ClientView::default();
        let mut random = SplitMix::new(1);
        let mut inputs = Inputs { client: &client, health: &NoHealthData, random: &mut random, trace: None };
        let resolution = resolve(&catalog, &Query::query(Name::from_str(name).unwrap(), record_type), &mut inputs);
        assert_eq!(resolution.rcode, ResponseCode::ServFail, "{name} {record_type}");
        assert_eq!(resolution.extended_error, Some(ExtendedError::Policy(Failure::OverBudget)), "{name} {record_type}");
        assert!(resolution.answers.is_empty() && resolution.authority.is_empty());
    }
    assert_eq!(ExtendedError::Policy(Failure::OverBudget).code(), 0, "Other Error, the reason as EXTRA-TEXT (RFC 8914 §4.1)");
}
