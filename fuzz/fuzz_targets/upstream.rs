//! `edgedns::resolver::forward::accept` on an upstream resolver's answer (bytes from the
//! network), then `server::complete` turning it into the client's response, screened by a
//! firewall with name and address rules (the answer's chain and addresses are untrusted too).
//!
//! Asserts: no panic; an accepted answer is NOERROR or NXDOMAIN, carries no OPT record among
//! the records passed on, and becomes a 200 response under the client's ID, with RA set, AA
//! clear, for fresh and stale use alike.

#![no_main]

use edgedns::client::Client;
use edgedns::doh::HttpRequest;
use edgedns::policy::{NoHealthData, SplitMix};
use edgedns::resolver::firewall::{Firewall, FirewallSet};
use edgedns::resolver::forward::{accept, Freshness};
use edgedns::resolver::ResolverConfig;
use edgedns::server::{complete, serve, Environment, Forwarded, Outcome, Recursion, Zones};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let config = ResolverConfig::from_vars(|name| (name == "UPSTREAMS").then(|| "https://dns.example/dns-query".to_owned()))
        .expect("valid settings")
        .expect("resolver mode");
    let mut query = Message::new(0x5151, MessageType::Query, OpCode::Query);
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(Name::from_ascii("www.example.net.").unwrap(), RecordType::A));
    let bytes = query.to_vec().unwrap();
    let request = HttpRequest { method: "POST", path: "/dns-query", content_type: Some("application/dns-message"), body: &bytes, ..HttpRequest::default() };
    let mut random = SplitMix::new(1);
    let client = Client::default();
    let mut environment = Environment { client: &client, health: &NoHealthData, random: &mut random, locator: None, signer: None, signing_errors: Vec::new() };
    let recursion = Recursion { config: Some(&config), firewall: None };
    let Outcome::Forward(forward) = serve(&request, Zones::Loaded(common::catalog()), &mut environment, recursion) else {
        panic!("a name outside the hosted zones is forwarded");
    };
    let Ok(answer) = accept(data, &forward.upstream) else { return };
    assert!(matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain));
    assert!(answer.additional.iter().all(|record| record.record_type() != RecordType::OPT));
    let firewall = FirewallSet::from(Firewall::parse("block *.tracker.example nxdomain\nblock 198.51.100.0/24 nodata\nalert 2001:db8::/32\n").expect("valid rules"));
    for freshness in [Freshness::Aged(0), Freshness::Aged(u32::MAX), Freshness::Stale] {
        let (response, _) = complete(&forward, Forwarded::Answer(&answer, freshness), Some(&firewall));
        assert_eq!(response.status, 200);
        // Records the encoder refuses become SERVFAIL; either way a DNS message goes out.
        if let Ok(message) = Message::from_vec(&response.body) {
            assert_eq!(message.metadata.id, 0x5151);
            assert!(!message.metadata.authoritative);
        }
    }
});
