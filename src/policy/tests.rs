use std::collections::HashMap;
use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::A;

use super::*;

fn value(last: u8) -> Value {
    Value(RData::A(A(Ipv4Addr::new(192, 0, 2, last))))
}

fn leaf(label: &str, last: u8, check: Option<&str>) -> Rule {
    Rule { label: Some(label.to_owned()), health_check: check.map(str::to_owned), force: None, action: Action::Values(vec![value(last)]) }
}

fn node(action: Action) -> Rule {
    Rule { label: None, health_check: None, force: None, action }
}

struct Health(HashMap<&'static str, bool>);

impl HealthView for Health {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        self.0.get(check).copied()
    }
}

struct NoTargets;

impl Targets for NoTargets {
    fn target(&self, _: &str, _: RecordType) -> Option<Target<'_>> {
        None
    }
}

struct Fixed(HashMap<String, (Rule, u32)>);

impl Targets for Fixed {
    fn target(&self, name: &str, _: RecordType) -> Option<Target<'_>> {
        self.0.get(name).map(|(rule, ttl)| Target::Routed { rule, ttl: *ttl })
    }
}

fn run(rule: &Rule, client: &ClientView, health: &[(&'static str, bool)], seed: u64) -> Decision {
    let health = Health(health.iter().copied().collect());
    let mut random = SplitMix::new(seed);
    let mut context = Context { client, health: &health, targets: &NoTargets, random: &mut random, trace: None, budget: &mut Budget::default() };
    evaluate(rule, RecordType::A, &mut context)
}

fn answered(decision: &Decision) -> Vec<String> {
    decision.values.iter().map(ToString::to_string).collect()
}

fn weighted(choices: Vec<(u8, Rule)>) -> Rule {
    node(Action::Weighted { choices: choices.into_iter().map(|(weight, rule)| WeightedChoice { weight, rule }).collect(), sticky: false })
}

/// How often each answer comes out of `draws` evaluations with consecutive seeds.
fn histogram(rule: &Rule, health: &[(&'static str, bool)], draws: u64) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for seed in 0..draws {
        *counts.entry(answered(&run(rule, &ClientView::default(), health, seed)).join(",")).or_insert(0) += 1;
    }
    counts
}

#[test]
fn pick_weighted_follows_weights() {
    let mut random = SplitMix::new(7);
    let mut counts = [0u32; 3];
    for _ in 0..30_000 {
        counts[pick_weighted(&[1, 2, 7], &mut random).unwrap()] += 1;
    }
    // Chi-square with 2 degrees of freedom: 13.8 is the 0.001 critical value.
    let expected = [3_000.0, 6_000.0, 21_000.0];
    let chi: f64 = counts.iter().zip(expected).map(|(o, e)| (f64::from(*o) - e).powi(2) / e).sum();
    assert!(chi < 13.8, "{counts:?} chi2={chi}");
    assert_eq!(pick_weighted(&[], &mut random), None);
    assert_eq!(pick_weighted(&[0, 5, 0], &mut random), Some(1));
}

#[test]
fn all_zero_weights_mean_equal_chances() {
    let rule = weighted(vec![(0, leaf("a", 1, None)), (0, leaf("b", 2, None))]);
    let counts = histogram(&rule, &[], 4_000);
    let a = counts["192.0.2.1"] as f64;
    assert!((a - 2_000.0).abs() < 200.0, "{counts:?}");
}

#[test]
fn weighted_80_20_split_and_health() {
    let rule = weighted(vec![(80, leaf("a", 1, Some("a"))), (20, leaf("b", 2, Some("b")))]);
    let counts = histogram(&rule, &[], 10_000);
    let chi = (counts["192.0.2.1"] as f64 - 8_000.0).powi(2) / 8_000.0 + (counts["192.0.2.2"] as f64 - 2_000.0).powi(2) / 2_000.0;
    assert!(chi < 10.8, "{counts:?}");
    // a down: everything to b.
    assert_eq!(histogram(&rule, &[("a", false)], 200).keys().collect::<Vec<_>>(), vec!["192.0.2.2"]);
    // Both down: weighted sets treated as healthy again.
    let both = histogram(&rule, &[("a", false), ("b", false)], 2_000);
    assert_eq!(both.len(), 2);
}

#[test]
fn weight_zero_standby_only_when_every_weighted_set_is_down() {
    let rule = weighted(vec![(10, leaf("a", 1, Some("a"))), (0, leaf("standby", 9, Some("s")))]);
    assert_eq!(histogram(&rule, &[], 300).keys().collect::<Vec<_>>(), vec!["192.0.2.1"]);
    assert_eq!(histogram(&rule, &[("a", false)], 300).keys().collect::<Vec<_>>(), vec!["192.0.2.9"]);
    // Standby down too: back to the weighted set, never the weight-0 one.
    assert_eq!(histogram(&rule, &[("a", false), ("s", false)], 300).keys().collect::<Vec<_>>(), vec!["192.0.2.1"]);
}

#[test]
fn failover_rules() {
    let rule = node(Action::Failover { primary: Box::new(leaf("p", 1, Some("p"))), secondary: Box::new(leaf("s", 2, Some("s"))) });
    let client = ClientView::default();
    assert_eq!(answered(&run(&rule, &client, &[], 0)), vec!["192.0.2.1"]);
    assert_eq!(answered(&run(&rule, &client, &[("p", false)], 0)), vec!["192.0.2.2"]);
    assert_eq!(answered(&run(&rule, &client, &[("p", false), ("s", false)], 0)), vec!["192.0.2.1"]);
    // A secondary without a check is always healthy.
    let unchecked = node(Action::Failover { primary: Box::new(leaf("p", 1, Some("p"))), secondary: Box::new(leaf("s", 2, None)) });
    assert_eq!(answered(&run(&unchecked, &client, &[("p", false)], 0)), vec!["192.0.2.2"]);
    assert!(!run(&rule, &client, &[], 0).tailored);
}

#[test]
fn forced_state_beats_the_health_check() {
    let mut primary = leaf("p", 1, Some("p"));
    primary.force = Some(false);
    let rule = node(Action::Failover { primary: Box::new(primary), secondary: Box::new(leaf("s", 2, None)) });
    assert_eq!(answered(&run(&rule, &ClientView::default(), &[("p", true)], 0)), vec!["192.0.2.2"]);
}

fn geo_tree() -> Rule {
    let choice = |location: GeoLocation, rule: Rule| LocatedChoice { location, rule };
    node(Action::Geolocation(vec![
        choice(GeoLocation::Country("US".into()), leaf("us", 1, Some("us"))),
        choice(GeoLocation::Subdivision("US".into(), "WA".into()), leaf("wa", 2, Some("wa"))),
        choice(GeoLocation::Continent("EU".into()), leaf("eu", 3, Some("eu"))),
        choice(GeoLocation::Default, leaf("default", 4, Some("default"))),
    ]))
}

fn located(country: &str, continent: &str, subdivision: Option<&str>) -> ClientView {
    ClientView { country: Some(country.into()), continent: Some(continent.into()), subdivision: subdivision.map(Into::into), ..ClientView::default() }
}

#[test]
fn geolocation_most_specific_wins_and_walks_up_when_unhealthy() {
    let tree = geo_tree();
    let washington = located("US", "NA", Some("WA"));
    assert_eq!(answered(&run(&tree, &washington, &[], 0)), vec!["192.0.2.2"]);
    assert_eq!(answered(&run(&tree, &located("US", "NA", Some("TX")), &[], 0)), vec!["192.0.2.1"]);
    assert_eq!(answered(&run(&tree, &located("FR", "EU", None), &[], 0)), vec!["192.0.2.3"]);
    assert_eq!(answered(&run(&tree, &located("JP", "AS", None), &[], 0)), vec!["192.0.2.4"]);
    assert_eq!(answered(&run(&tree, &ClientView::default(), &[], 0)), vec!["192.0.2.4"]);
    // Walk up: state → country → default.
    assert_eq!(answered(&run(&tree, &washington, &[("wa", false)], 0)), vec!["192.0.2.1"]);
    assert_eq!(answered(&run(&tree, &washington, &[("wa", false), ("us", false)], 0)), vec!["192.0.2.4"]);
    // Every candidate down: the most specific.
    let all_down = [("wa", false), ("us", false), ("default", false)];
    assert_eq!(answered(&run(&tree, &washington, &all_down, 0)), vec!["192.0.2.2"]);
    assert!(run(&tree, &washington, &[], 0).tailored);
}

#[test]
fn geolocation_without_match_or_default_is_nodata() {
    let tree = node(Action::Geolocation(vec![LocatedChoice { location: GeoLocation::Country("US".into()), rule: leaf("us", 1, None) }]));
    assert!(run(&tree, &located("DE", "EU", None), &[], 0).values.is_empty());
}

#[test]
fn geolocation_scope_comes_from_the_subnet_only() {
    let mut client = located("US", "NA", None);
    client.from_subnet = true;
    client.geo_scope = 20;
    assert_eq!(run(&geo_tree(), &client, &[], 0).scope, 20);
    client.geo_scope = 0;
    let decision = run(&geo_tree(), &client, &[], 0);
    assert_eq!((decision.scope, decision.tailored), (0, true));
}

fn at(latitude: f64, longitude: f64) -> Coordinates {
    Coordinates { latitude, longitude }
}

#[test]
fn latency_picks_the_nearest_healthy_region() {
    let region = |name: &str, coordinates, last| RegionalChoice {
        region: name.into(),
        coordinates,
        rule: leaf(name, last, Some(if last == 1 { "east" } else { "other" })),
    };
    let tree = node(Action::Latency(vec![
        region("us-east-1", at(39.0, -77.5), 1),
        region("eu-west-1", at(53.3, -6.3), 2),
        region("ap-northeast-1", at(35.7, 139.7), 3),
    ]));
    let mut client = ClientView { coordinates: Some(at(40.7, -74.0)), ..ClientView::default() };
    assert_eq!(answered(&run(&tree, &client, &[], 0)), vec!["192.0.2.1"]);
    assert_eq!(answered(&run(&tree, &client, &[("east", false)], 0)), vec!["192.0.2.2"]);
    client.coordinates = Some(at(34.7, 135.5));
    assert_eq!(answered(&run(&tree, &client, &[], 0)), vec!["192.0.2.3"]);
}

struct Matrix;

impl Targets for Matrix {
    fn target(&self, _: &str, _: RecordType) -> Option<Target<'_>> {
        None
    }

    fn measured_latency(&self, edge: &str, region: &str) -> Option<u32> {
        match (edge, region) {
            ("HNL", "near") => Some(200),
            ("HNL", "far") => Some(50),
            _ => None,
        }
    }
}

#[test]
fn measured_latency_beats_distance() {
    let region = |name: &str, coordinates, last| RegionalChoice { region: name.into(), coordinates, rule: leaf(name, last, None) };
    let tree = node(Action::Latency(vec![region("near", at(21.0, -157.0), 1), region("far", at(39.0, -77.5), 2)]));
    let client = ClientView { coordinates: Some(at(21.3, -157.9)), edge_location: Some("HNL".into()), ..ClientView::default() };
    let mut random = SplitMix::new(0);
    let mut context = Context { client: &client, health: &NoHealthData, targets: &Matrix, random: &mut random, trace: None, budget: &mut Budget::default() };
    assert_eq!(answered(&evaluate(&tree, RecordType::A, &mut context)), vec!["192.0.2.2"]);
    let elsewhere = ClientView { edge_location: Some("SEA".into()), ..client };
    let mut context = Context { client: &elsewhere, health: &NoHealthData, targets: &Matrix, random: &mut random, trace: None, budget: &mut Budget::default() };
    assert_eq!(answered(&evaluate(&tree, RecordType::A, &mut context)), vec!["192.0.2.1"], "no matrix row: distance");
}

#[test]
fn geoproximity_bias_moves_the_boundary() {
    assert!((biased_distance(100.0, 50) - 50.0).abs() < 1e-9);
    assert!((biased_distance(100.0, -50) - 200.0).abs() < 1e-9);
    assert!((biased_distance(100.0, 0) - 100.0).abs() < 1e-9);
    let endpoint = |coordinates, bias, last| ProximateChoice { coordinates, bias, rule: leaf("e", last, None) };
    // A client a bit closer to B than to A; a bias on A pulls it over.
    let client = ClientView { coordinates: Some(at(0.0, 5.5)), ..ClientView::default() };
    let plain = node(Action::Geoproximity(vec![endpoint(at(0.0, 0.0), 0, 1), endpoint(at(0.0, 10.0), 0, 2)]));
    assert_eq!(answered(&run(&plain, &client, &[], 0)), vec!["192.0.2.2"]);
    let biased = node(Action::Geoproximity(vec![endpoint(at(0.0, 0.0), 30, 1), endpoint(at(0.0, 10.0), 0, 2)]));
    assert_eq!(answered(&run(&biased, &client, &[], 0)), vec!["192.0.2.1"]);
}

fn cidr_tree() -> Rule {
    let choice = |location: &str, networks: &[&str], last| NetworkChoice {
        location: location.into(),
        networks: networks.iter().map(|n| n.parse().unwrap()).collect(),
        rule: leaf(location, last, None),
    };
    node(Action::Cidr(vec![choice("acme", &["203.0.113.0/24", "2001:db8:acce::/48"], 1), choice("acme-lab", &["203.0.113.128/25"], 2), choice("*", &[], 3)]))
}

fn from_subnet(network: &str) -> ClientView {
    ClientView { network: Some(network.parse().unwrap()), from_subnet: true, ..ClientView::default() }
}

#[test]
fn cidr_longest_prefix_with_default_and_scope() {
    let tree = cidr_tree();
    let lab = run(&tree, &from_subnet("203.0.113.200/32"), &[], 0);
    assert_eq!((answered(&lab), lab.scope), (vec!["192.0.2.2".to_owned()], 25));
    let acme = run(&tree, &from_subnet("203.0.113.0/24"), &[], 0);
    // The /24 contains the lab's /25, so the answer depends on 25 bits, capped by SOURCE 24.
    assert_eq!((answered(&acme), acme.scope), (vec!["192.0.2.1".to_owned()], 24));
    let acme_host = run(&tree, &from_subnet("203.0.113.7/32"), &[], 0);
    assert_eq!((answered(&acme_host), acme_host.scope), (vec!["192.0.2.1".to_owned()], 25));
    let other = run(&tree, &from_subnet("198.51.100.0/24"), &[], 0);
    assert_eq!(answered(&other), vec!["192.0.2.3"]);
    assert!(other.scope <= 24);
    let v6 = run(&tree, &from_subnet("2001:db8:acce:1::/64"), &[], 0);
    assert_eq!((answered(&v6), v6.scope), (vec!["192.0.2.1".to_owned()], 48));
}

#[test]
fn prefix_scope_narrows_past_more_specific_networks() {
    let nets: Vec<IpNet> = ["10.0.0.0/8", "10.1.0.0/16"].iter().map(|n| n.parse().unwrap()).collect();
    // 10.2.3.4 matches /8, but a /16 sibling inside the /8 differs from it at bit 15.
    let scope = prefix_scope("10.2.3.4/32".parse().unwrap(), Some(nets[0]), &nets);
    assert_eq!(scope, 15);
    // Nothing matches: scope must exclude both networks.
    let scope = prefix_scope("192.0.2.1/32".parse().unwrap(), None, &nets);
    assert_eq!(scope, 1);
    // Never beyond SOURCE.
    assert_eq!(prefix_scope("10.2.0.0/12".parse().unwrap(), Some(nets[0]), &nets), 12);
}

#[test]
fn asn_rules() {
    let tree =
        node(Action::Asn(vec![AsnChoice { asns: vec![13_335, 15_169], rule: leaf("big", 1, None) }, AsnChoice { asns: vec![], rule: leaf("rest", 2, None) }]));
    let client = |asn| ClientView { asn: Some(asn), ..ClientView::default() };
    assert_eq!(answered(&run(&tree, &client(15_169), &[], 0)), vec!["192.0.2.1"]);
    assert_eq!(answered(&run(&tree, &client(64_500), &[], 0)), vec!["192.0.2.2"]);
    assert_eq!(answered(&run(&tree, &ClientView::default(), &[], 0)), vec!["192.0.2.2"]);
}

#[test]
fn multivalue_drops_unhealthy_and_caps_at_eight() {
    let values: Vec<Rule> = (1..=10).map(|i| leaf(&format!("v{i}"), i, Some(if i == 3 { "three" } else { "ok" }))).collect();
    let tree = node(Action::Multivalue(values));
    for seed in 0..50 {
        let decision = run(&tree, &ClientView::default(), &[("three", false)], seed);
        assert_eq!(decision.values.len(), 8);
        assert!(!answered(&decision).contains(&"192.0.2.3".to_owned()));
        let mut unique = answered(&decision);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 8);
    }
    // Every value down: up to 8 of them anyway.
    let down: Vec<Rule> = (1..=3).map(|i| leaf("v", i, Some("down"))).collect();
    assert_eq!(run(&node(Action::Multivalue(down)), &ClientView::default(), &[("down", false)], 1).values.len(), 3);
}

#[test]
fn multivalue_selection_is_uniform() {
    let values: Vec<Rule> = (1..=10).map(|i| leaf("v", i, None)).collect();
    let tree = node(Action::Multivalue(values));
    let mut first = HashMap::new();
    for seed in 0..10_000 {
        let decision = run(&tree, &ClientView::default(), &[], seed);
        *first.entry(decision.values[0].to_string()).or_insert(0u32) += 1;
    }
    // Chi-square, 9 degrees of freedom: 27.9 is the 0.001 critical value.
    let chi: f64 = first.values().map(|o| (f64::from(*o) - 1_000.0).powi(2) / 1_000.0).sum();
    assert!(chi < 27.9, "{first:?}");
}

#[test]
fn sticky_weighted_gives_the_same_client_the_same_answer() {
    let mut rule = weighted(vec![(50, leaf("a", 1, None)), (50, leaf("b", 2, None))]);
    if let Action::Weighted { sticky, .. } = &mut rule.action {
        *sticky = true;
    }
    let client = from_subnet("198.51.100.0/24");
    let first = answered(&run(&rule, &client, &[], 1));
    for seed in 2..50 {
        assert_eq!(answered(&run(&rule, &client, &[], seed)), first);
    }
    let spread: std::collections::HashSet<_> = (0..64).map(|i| answered(&run(&rule, &from_subnet(&format!("198.51.{i}.0/24")), &[], 0))).collect();
    assert_eq!(spread.len(), 2, "different clients land on both sides");
    assert_eq!(run(&rule, &client, &[], 1).scope, 24);
}

#[test]
fn alias_takes_the_target_ttl_and_evaluates_target_health() {
    let targets = Fixed([("pool.example.".to_owned(), (weighted(vec![(1, leaf("a", 1, Some("a"))), (1, leaf("b", 2, Some("b")))]), 42))].into_iter().collect());
    let alias = |evaluate| node(Action::Alias { target: "pool.example.".into(), evaluate_target_health: evaluate });
    let tree = node(Action::Failover { primary: Box::new(alias(true)), secondary: Box::new(leaf("sorry", 99, None)) });
    let client = ClientView::default();
    let mut random = SplitMix::new(3);
    let health = Health([("a", false), ("b", false)].into_iter().collect());
    let mut context = Context { client: &client, health: &health, targets: &targets, random: &mut random, trace: None, budget: &mut Budget::default() };
    let decision = evaluate(&tree, RecordType::A, &mut context);
    assert_eq!(answered(&decision), vec!["192.0.2.99"], "an unhealthy alias backs out");
    let healthy = Health([("a", false)].into_iter().collect());
    let mut context = Context { client: &client, health: &healthy, targets: &targets, random: &mut random, trace: None, budget: &mut Budget::default() };
    let decision = evaluate(&tree, RecordType::A, &mut context);
    assert_eq!((answered(&decision), decision.ttl), (vec!["192.0.2.2".to_owned()], Some(42)));
    // Without evaluate-target-health the alias counts as healthy.
    let blind = node(Action::Failover { primary: Box::new(alias(false)), secondary: Box::new(leaf("sorry", 99, None)) });
    let mut context = Context { client: &client, health: &health, targets: &targets, random: &mut random, trace: None, budget: &mut Budget::default() };
    assert_ne!(answered(&evaluate(&blind, RecordType::A, &mut context)), vec!["192.0.2.99"]);
}

#[test]
fn explain_trace_says_what_was_dropped() {
    let rule = weighted(vec![(80, leaf("site-a", 1, Some("a"))), (20, leaf("site-b", 2, Some("b")))]);
    let client = ClientView::default();
    let health = Health([("a", false)].into_iter().collect());
    let mut random = SplitMix::new(1);
    let mut trace = Vec::new();
    let mut context =
        Context { client: &client, health: &health, targets: &NoTargets, random: &mut random, trace: Some(&mut trace), budget: &mut Budget::default() };
    evaluate(&rule, RecordType::A, &mut context);
    assert!(trace.iter().any(|line| line.contains("dropped site-a (unhealthy)")), "{trace:?}");
    assert!(trace.iter().any(|line| line.contains("picked site-b")), "{trace:?}");
}

/// Property: over generated trees and health states, the answer is always configured, and a
/// healthy leaf is never passed over for an unhealthy one when a single choice is made.
#[test]
fn generated_trees_answer_only_configured_values_and_prefer_healthy_leaves() {
    let mut random = SplitMix::new(99);
    for round in 0..2_000u64 {
        let leaves = 2 + random.below(5) as u8;
        let health: Vec<(&'static str, bool)> = ["c0", "c1", "c2", "c3", "c4", "c5", "c6"].iter().map(|name| (*name, random.below(3) != 0)).collect();
        let checks = ["c0", "c1", "c2", "c3", "c4", "c5", "c6"];
        let children: Vec<Rule> = (0..leaves).map(|i| leaf(&format!("l{i}"), i + 1, Some(checks[i as usize]))).collect();
        let tree = match round % 3 {
            0 => weighted(children.iter().cloned().map(|c| (1 + random.below(5) as u8, c)).collect()),
            1 => node(Action::Failover { primary: Box::new(children[0].clone()), secondary: Box::new(children[1].clone()) }),
            _ => node(Action::Latency(
                children
                    .iter()
                    .enumerate()
                    .map(|(i, c)| RegionalChoice { region: format!("r{i}"), coordinates: at(i as f64 * 10.0, 0.0), rule: c.clone() })
                    .collect(),
            )),
        };
        let client = ClientView { coordinates: Some(at(0.0, 0.0)), ..ClientView::default() };
        let decision = run(&tree, &client, &health, round);
        assert_eq!(decision.values.len(), 1);
        let chosen = decision.values[0].to_string();
        let index: usize = chosen.rsplit('.').next().unwrap().parse::<usize>().unwrap() - 1;
        assert!(index < leaves as usize, "answer {chosen} is configured");
        let healthy = |i: usize| health[i].1;
        let considered = if round % 3 == 1 { 2 } else { leaves as usize };
        if (0..considered).any(healthy) {
            assert!(healthy(index), "round {round}: unhealthy {chosen} chosen over a healthy leaf");
        }
    }
}

/// Overrides of single values: the values given are forced, the rest follow their checks.
struct ForcedValues(Vec<(u8, bool)>);

impl HealthView for ForcedValues {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        (check == "down").then_some(false)
    }

    fn forced_value(&self, forced: &RData) -> Option<bool> {
        self.0.iter().find(|(last, _)| value(*last).0 == *forced).map(|(_, up)| *up)
    }
}

#[test]
fn value_overrides_beat_health_checks() {
    let rule = node(Action::Failover { primary: Box::new(leaf("primary", 1, None)), secondary: Box::new(leaf("secondary", 2, Some("down"))) });
    let decide = |forced: Vec<(u8, bool)>| {
        let health = ForcedValues(forced);
        let mut random = SplitMix::new(1);
        let client = ClientView::default();
        let mut context = Context { client: &client, health: &health, targets: &NoTargets, random: &mut random, trace: None, budget: &mut Budget::default() };
        answered(&evaluate(&rule, RecordType::A, &mut context))
    };
    assert_eq!(decide(vec![]), vec!["192.0.2.1"]);
    assert_eq!(decide(vec![(1, false)]), vec!["192.0.2.1"], "both down: the primary answers anyway");
    assert_eq!(decide(vec![(1, false), (2, true)]), vec!["192.0.2.2"], "forced up beats the secondary's failing check");
    assert_eq!(decide(vec![(3, false)]), vec!["192.0.2.1"], "other values change nothing");
}

/// Every check down: each search for a healthy child runs to its end.
struct AllDown;

impl HealthView for AllDown {
    fn is_healthy(&self, _check: &str) -> Option<bool> {
        Some(false)
    }
}

fn alias(target: &str) -> Rule {
    node(Action::Alias { target: target.to_owned(), evaluate_target_health: true })
}

/// Sets `s0` … `s{depth - 1}`, each a weighted set of `width` aliases to the next (every alias
/// evaluating target health), and a last set of one value whose check is down: width^depth
/// paths, as a hostile or corrupt snapshot could hold (the compiler refuses it).
fn alias_dag(width: usize, depth: usize) -> Fixed {
    let mut sets: HashMap<String, (Rule, u32)> = (0..depth)
        .map(|level| {
            let next = format!("s{}.example.", level + 1);
            (format!("s{level}.example."), (weighted((0..width).map(|_| (1, alias(&next))).collect()), 60))
        })
        .collect();
    sets.insert(format!("s{depth}.example."), (leaf("end", 1, Some("down")), 60));
    Fixed(sets)
}

fn evaluate_hostile(rule: &Rule, targets: &dyn Targets, health: &dyn HealthView) -> (Decision, Budget) {
    let client = ClientView::default();
    let mut random = SplitMix::new(5);
    let mut budget = Budget::default();
    let mut context = Context { client: &client, health, targets, random: &mut random, trace: None, budget: &mut budget };
    let decision = evaluate(rule, RecordType::A, &mut context);
    (decision, budget)
}

#[test]
fn a_deep_wide_alias_dag_stops_at_the_budget() {
    // 16 branches, 20 sets: without a budget, about 16^5 health checks before the depth cap.
    let targets = alias_dag(16, 20);
    let root = alias("s0.example.");
    for health in [&AllDown as &dyn HealthView, &NoHealthData] {
        let (decision, budget) = evaluate_hostile(&root, &targets, health);
        assert_eq!(decision.failure, Some(Failure::OverBudget));
        assert!(decision.values.is_empty() && decision.ttl.is_none(), "{decision:?}");
        assert_eq!((decision.visited, budget.visited()), (EVALUATION_BUDGET, EVALUATION_BUDGET), "at most the budget, and all of it");
    }
    assert!(worst_case_visits(&root, RecordType::A, &targets) > u64::from(EVALUATION_BUDGET), "the compiler's bound sees it too");
}

#[test]
fn an_alias_loop_stops_at_the_budget() {
    // A set whose sixteen branches all alias back to it, and one that goes round through a
    // failover: the depth cap alone would allow 16^4 visits.
    let looping = weighted((0..16).map(|_| (1, alias("loop.example."))).collect());
    let around = node(Action::Failover { primary: Box::new(alias("loop.example.")), secondary: Box::new(alias("around.example.")) });
    let targets = Fixed([("loop.example.".to_owned(), (looping, 60)), ("around.example.".to_owned(), (around, 60))].into_iter().collect());
    for start in ["loop.example.", "around.example."] {
        let (decision, _) = evaluate_hostile(&alias(start), &targets, &AllDown);
        assert_eq!(decision.failure, Some(Failure::OverBudget), "{start}");
        assert!(decision.visited <= EVALUATION_BUDGET);
    }
    // A narrow loop runs into the depth cap first: a failure too, not an answer.
    let narrow = Fixed([("self.example.".to_owned(), (alias("self.example."), 60))].into_iter().collect());
    let (decision, budget) = evaluate_hostile(&alias("self.example."), &narrow, &NoHealthData);
    assert_eq!((decision.failure, decision.values.len()), (Some(Failure::TooDeep), 0));
    assert!(budget.visited() <= 2 * MAX_ALIAS_DEPTH as u32 + 2, "{budget:?}");
}

#[test]
fn a_budget_spent_stays_spent_and_a_wide_node_is_cut_short() {
    // One node with more children than the budget: the health search stops at the budget.
    let wide = weighted((0..5_000).map(|i| (1, leaf("x", (i % 250) as u8, Some("down")))).collect());
    let (decision, budget) = evaluate_hostile(&wide, &NoTargets, &AllDown);
    assert_eq!((decision.failure, budget.visited()), (Some(Failure::OverBudget), EVALUATION_BUDGET));
    // A second evaluation against the spent budget visits nothing.
    let client = ClientView::default();
    let mut random = SplitMix::new(1);
    let mut spent = budget;
    let mut context = Context { client: &client, health: &NoHealthData, targets: &NoTargets, random: &mut random, trace: None, budget: &mut spent };
    let again = evaluate(&leaf("a", 1, None), RecordType::A, &mut context);
    assert_eq!((again.failure, again.visited, again.values.len()), (Some(Failure::OverBudget), 0, 0));
    // A small budget of one's own.
    let mut small = Budget::new(3);
    let mut context = Context { client: &client, health: &NoHealthData, targets: &NoTargets, random: &mut random, trace: None, budget: &mut small };
    let tree = weighted(vec![(1, leaf("a", 1, None)), (1, leaf("b", 2, None))]);
    assert_eq!(evaluate(&tree, RecordType::A, &mut context).visited, 3, "root, one health check, the pick");
}

#[test]
fn the_worst_case_bounds_every_evaluation_of_generated_trees() {
    // Trees of every action, nested and aliased, under every health state: what an evaluation
    // visits never exceeds worst_case_visits, and a tree under the budget never runs out.
    let mut random = SplitMix::new(2024);
    let checks = ["c0", "c1", "c2"];
    fn generate(random: &mut SplitMix, depth: u32, checks: &[&str; 3], sets: usize) -> Rule {
        let check = |random: &mut SplitMix| checks.get(random.below(4) as usize).map(|c| (*c).to_owned());
        if depth == 0 || random.below(4) == 0 {
            return match random.below(3) {
                0 if sets > 0 => Rule { health_check: check(random), ..alias(&format!("t{}.example.", random.below(sets as u32))) },
                _ => Rule { health_check: check(random), ..leaf("v", random.below(200) as u8 + 1, None) },
            };
        }
        let count = 1 + random.below(4) as usize;
        let kind = random.below(5);
        let own_check = check(random);
        let mut children = || (0..count).map(|_| generate(random, depth - 1, checks, sets)).collect::<Vec<Rule>>();
        let action = match kind {
            0 => Action::Weighted { choices: children().into_iter().map(|rule| WeightedChoice { weight: 1, rule }).collect(), sticky: false },
            1 => {
                let mut pair = children();
                let primary = pair.pop().unwrap_or_else(|| leaf("p", 1, None));
                Action::Failover { primary: Box::new(primary), secondary: Box::new(leaf("s", 2, None)) }
            }
            2 => Action::Geolocation(children().into_iter().map(|rule| LocatedChoice { location: GeoLocation::Default, rule }).collect()),
            3 => Action::Multivalue(children()),
            _ => Action::Latency(
                children().into_iter().enumerate().map(|(i, rule)| RegionalChoice { region: format!("r{i}"), coordinates: at(i as f64, 0.0), rule }).collect(),
            ),
        };
        Rule { health_check: own_check, ..node(action) }
    }
    for round in 0..300u64 {
        // Targets may only point at later sets (as the compiler's loop check guarantees).
        let mut sets: HashMap<String, (Rule, u32)> = HashMap::new();
        for index in (0..4usize).rev() {
            let rule = generate(&mut random, 4, &checks, 4);
            let rule = if rule_aliases_before(&rule, index) { leaf("cut", 9, None) } else { rule };
            sets.insert(format!("t{index}.example."), (rule, 60));
        }
        let targets = Fixed(sets);
        let root = generate(&mut random, 4, &checks, 4);
        let worst = worst_case_visits(&root, RecordType::A, &targets);
        let states: Vec<Vec<(&'static str, bool)>> = vec![vec![], vec![("c0", false), ("c1", false), ("c2", false)], vec![("c1", false)]];
        for (seed, state) in states.iter().enumerate() {
            let health = Health(state.iter().copied().collect());
            let client = ClientView { coordinates: Some(at(1.0, 1.0)), ..ClientView::default() };
            let mut draw = SplitMix::new(round * 7 + seed as u64);
            let mut budget = Budget::default();
            let mut context = Context { client: &client, health: &health, targets: &targets, random: &mut draw, trace: None, budget: &mut budget };
            let decision = evaluate(&root, RecordType::A, &mut context);
            assert!(u64::from(decision.visited) <= worst, "round {round}: visited {} > worst case {worst}", decision.visited);
            if worst <= u64::from(EVALUATION_BUDGET) {
                assert_ne!(decision.failure, Some(Failure::OverBudget), "round {round}");
            }
        }
    }
}

/// Whether a generated set aliases a set at or before `index` (a possible loop).
fn rule_aliases_before(rule: &Rule, index: usize) -> bool {
    let children: Vec<&Rule> = match &rule.action {
        Action::Alias { target, .. } => {
            return (0..=index).any(|before| *target == format!("t{before}.example."));
        }
        Action::Values(_) => Vec::new(),
        Action::Weighted { choices, .. } => choices.iter().map(|c| &c.rule).collect(),
        Action::Failover { primary, secondary } => vec![primary.as_ref(), secondary.as_ref()],
        Action::Geolocation(choices) => choices.iter().map(|c| &c.rule).collect(),
        Action::Latency(choices) => choices.iter().map(|c| &c.rule).collect(),
        Action::Geoproximity(choices) => choices.iter().map(|c| &c.rule).collect(),
        Action::Cidr(choices) => choices.iter().map(|c| &c.rule).collect(),
        Action::Asn(choices) => choices.iter().map(|c| &c.rule).collect(),
        Action::Multivalue(rules) => rules.iter().collect(),
    };
    children.into_iter().any(|child| rule_aliases_before(child, index))
}
