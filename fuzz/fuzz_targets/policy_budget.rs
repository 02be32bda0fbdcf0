//! `edgedns::policy::evaluate` on arbitrary rule trees: up to eight routed sets decoded from the
//! bytes (every action, wide nodes, aliases to any set, loops included, as a hostile or
//! corrupt snapshot could hold them), arbitrary health and forced states and clients.
//!
//! Asserts: no panic; no evaluation visits more than `EVALUATION_BUDGET` nodes, nor more than
//! `worst_case_visits` says it can (the bound the compiler refuses trees with); a tree whose
//! bound is within the budget never runs out of it; a failed evaluation answers nothing.

#![no_main]

use arbitrary::{Result, Unstructured};
use edgedns::geo::places::Coordinates;
use edgedns::policy::{
    evaluate, worst_case_visits, Action, AsnChoice, Budget, ClientView, Context, Failure, GeoLocation, HealthView, LocatedChoice, NetworkChoice,
    ProximateChoice, RegionalChoice, Rule, SplitMix, Target, Targets, Value, WeightedChoice, EVALUATION_BUDGET,
};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, RecordType};
use libfuzzer_sys::fuzz_target;

/// Sets decoded per input.
const SETS: usize = 8;
/// Nodes decoded per input, over all sets (keeps one run short; width and aliases still give
/// trees far over the budget).
const NODES: usize = 1_500;
/// Children of one node at most.
const WIDTH: u32 = 40;
/// Nesting of one set's tree at most (deeper than the engine's depth cap).
const DEPTH: usize = 14;

/// The decoded sets, by name `s<index>.`.
struct Sets(Vec<Rule>);

impl Targets for Sets {
    fn target(&self, name: &str, _: RecordType) -> Option<Target<'_>> {
        let index: usize = name.strip_prefix('s')?.strip_suffix('.')?.parse().ok()?;
        self.0.get(index).map(|rule| Target::Routed { rule, ttl: 60 })
    }

    fn measured_latency(&self, edge_location: &str, region: &str) -> Option<u32> {
        (edge_location == "HNL").then(|| region.len() as u32 * 10)
    }
}

/// Checks `c0` … `c7` up or down by the bits of a mask (`None` for a clear bit of `known`);
/// values whose last octet is in `forced` are forced to the bit of `forced_up`.
struct Health {
    down: u8,
    known: u8,
    forced: u8,
    forced_up: bool,
}

impl HealthView for Health {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        let index: u32 = check.strip_prefix('c')?.parse().ok()?;
        let bit = 1u8.checked_shl(index)?;
        (self.known & bit != 0).then_some(self.down & bit == 0)
    }

    fn forced_value(&self, value: &RData) -> Option<bool> {
        let RData::A(address) = value else { return None };
        (address.0.octets()[3] % 8 == self.forced % 8).then_some(self.forced_up)
    }
}

struct Decoder<'a, 'b> {
    bytes: &'a mut Unstructured<'b>,
    nodes: usize,
}

impl Decoder<'_, '_> {
    fn rule(&mut self, depth: usize) -> Result<Rule> {
        self.nodes += 1;
        let health_check = if self.bytes.ratio(1, 3)? { Some(format!("c{}", self.bytes.int_in_range(0..=8u8)?)) } else { None };
        let force = if self.bytes.ratio(1, 8)? { Some(self.bytes.arbitrary::<bool>()?) } else { None };
        let leaves_only = depth >= DEPTH || self.nodes >= NODES;
        let kind = if leaves_only { self.bytes.int_in_range(0..=1u8)? } else { self.bytes.int_in_range(0..=9u8)? };
        let action = match kind {
            0 => Action::Values(vec![Value(RData::A(A::new(192, 0, 2, self.bytes.arbitrary()?)))]),
            1 => Action::Alias { target: format!("s{}.", self.bytes.int_in_range(0..=SETS as u8)?), evaluate_target_health: self.bytes.arbitrary()? },
            2 => {
                let sticky = self.bytes.arbitrary()?;
                let mut choices = Vec::new();
                for _ in 0..self.width()? {
                    choices.push(WeightedChoice { weight: self.bytes.arbitrary()?, rule: self.rule(depth + 1)? });
                }
                Action::Weighted { choices, sticky }
            }
            3 => Action::Failover { primary: Box::new(self.rule(depth + 1)?), secondary: Box::new(self.rule(depth + 1)?) },
            4 => {
                let mut choices = Vec::new();
                for _ in 0..self.width()? {
                    let location = match self.bytes.int_in_range(0..=4u8)? {
                        0 => GeoLocation::Default,
                        1 => GeoLocation::Continent("EU".to_owned()),
                        2 => GeoLocation::Country("US".to_owned()),
                        3 => GeoLocation::Country("de".to_owned()),
                        _ => GeoLocation::Subdivision("US".to_owned(), "WA".to_owned()),
                    };
                    choices.push(LocatedChoice { location, rule: self.rule(depth + 1)? });
                }
                Action::Geolocation(choices)
            }
            5 => {
                let mut choices = Vec::new();
                for index in 0..self.width()? {
                    let coordinates = self.coordinates()?;
                    choices.push(RegionalChoice { region: format!("r{index}"), coordinates, rule: self.rule(depth + 1)? });
                }
                Action::Latency(choices)
            }
            6 => {
                let mut choices = Vec::new();
                for _ in 0..self.width()? {
                    let coordinates = self.coordinates()?;
                    choices.push(ProximateChoice { coordinates, bias: self.bytes.arbitrary()?, rule: self.rule(depth + 1)? });
                }
                Action::Geoproximity(choices)
            }
            7 => {
                let mut choices = Vec::new();
                for index in 0..self.width()? {
                    let networks = match self.bytes.int_in_range(0..=3u8)? {
                        0 => Vec::new(),
                        1 => vec!["203.0.113.0/24".parse().unwrap()],
                        2 => vec!["203.0.113.128/25".parse().unwrap()],
                        _ => vec!["0.0.0.0/0".parse().unwrap()],
                    };
                    choices.push(NetworkChoice { location: format!("l{index}"), networks, rule: self.rule(depth + 1)? });
                }
                Action::Cidr(choices)
            }
            8 => {
                let mut choices = Vec::new();
                for _ in 0..self.width()? {
                    let asns = match self.bytes.int_in_range(0..=2u8)? {
                        0 => Vec::new(),
                        1 => vec![64500],
                        _ => vec![64500, 64501],
                    };
                    choices.push(AsnChoice { asns, rule: self.rule(depth + 1)? });
                }
                Action::Asn(choices)
            }
            _ => {
                let mut rules = Vec::new();
                for _ in 0..self.width()? {
                    rules.push(self.rule(depth + 1)?);
                }
                Action::Multivalue(rules)
            }
        };
        Ok(Rule { label: None, health_check, force, action })
    }

    /// How many children the next node has (none once the node allowance is spent).
    fn width(&mut self) -> Result<u32> {
        if self.nodes >= NODES {
            return Ok(0);
        }
        self.bytes.int_in_range(0..=WIDTH)
    }

    fn coordinates(&mut self) -> Result<Coordinates> {
        Ok(Coordinates { latitude: f64::from(self.bytes.int_in_range(-90..=90i8)?), longitude: f64::from(self.bytes.int_in_range(-128..=127i8)?) })
    }
}

fn client(bytes: &mut Unstructured<'_>) -> Result<ClientView> {
    let mut client = ClientView::default();
    if bytes.arbitrary()? {
        client.country = Some(if bytes.arbitrary()? { "US" } else { "DE" }.to_owned());
        client.continent = Some(if bytes.arbitrary()? { "NA" } else { "EU" }.to_owned());
        client.subdivision = Some("WA".to_owned());
    }
    if bytes.arbitrary()? {
        client.coordinates = Some(Coordinates { latitude: f64::from(bytes.int_in_range(-90..=90i8)?), longitude: f64::from(bytes.arbitrary::<i8>()?) });
    }
    if bytes.arbitrary()? {
        client.asn = Some(if bytes.arbitrary()? { 64500 } else { 64501 });
        client.edge_location = Some("HNL".to_owned());
    }
    if bytes.arbitrary()? {
        client.network = Some(if bytes.arbitrary()? { "203.0.113.200/32" } else { "198.51.100.0/24" }.parse().unwrap());
        client.from_subnet = bytes.arbitrary()?;
    }
    Ok(client)
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = Unstructured::new(data);
    let Ok(client) = client(&mut bytes) else { return };
    let Ok(seed) = bytes.arbitrary::<u64>() else { return };
    let Ok([down, known, forced, forced_up]) = bytes.arbitrary::<[u8; 4]>() else { return };
    let health = Health { down, known, forced, forced_up: forced_up % 2 == 0 };
    let mut decoder = Decoder { bytes: &mut bytes, nodes: 0 };
    let mut sets = Vec::new();
    for _ in 0..SETS {
        match decoder.rule(0) {
            Ok(rule) => sets.push(rule),
            Err(_) => break,
        }
    }
    let sets = Sets(sets);
    let mut random = SplitMix::new(seed);
    for rule in &sets.0 {
        let worst = worst_case_visits(rule, RecordType::A, &sets);
        let mut budget = Budget::default();
        let mut context = Context { client: &client, health: &health, targets: &sets, random: &mut random, trace: None, budget: &mut budget };
        let decision = evaluate(rule, RecordType::A, &mut context);
        assert!(decision.visited <= EVALUATION_BUDGET, "visited {} nodes, over the budget", decision.visited);
        assert_eq!(budget.visited(), decision.visited, "the evaluation's count is the budget's");
        assert!(u64::from(decision.visited) <= worst, "visited {} nodes, over the worst case {worst}", decision.visited);
        if worst <= u64::from(EVALUATION_BUDGET) {
            assert_ne!(decision.failure, Some(Failure::OverBudget), "a tree within the budget ran out (worst case {worst})");
        }
        if decision.failure.is_some() {
            assert!(decision.values.is_empty() && decision.ttl.is_none(), "a failed evaluation answered: {decision:?}");
        }
    }
});
