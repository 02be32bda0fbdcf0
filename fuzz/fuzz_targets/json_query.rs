//! `edgedns::json::parse`, the JSON API's query string (`/resolve?name=&type=...`), then the
//! same query string through `server::handle` at `/resolve`, `/dns-query` with
//! `Accept: application/dns-json`, and `/explain`.
//!
//! Asserts: no panic; a parsed query is absolute, ID 0, RD set, with EDNS; the parser's
//! errors are 400; whatever it accepts is answered HTTP 200 with JSON carrying a numeric
//! `Status` and the question asked, identically on both endpoints; `/explain` answers JSON.

#![no_main]

use edgedns::doh::{HttpRequest, DNS_JSON};
use edgedns::policy::NoHealthData;
use edgedns::server::{Zones, DOH_PATH, EXPLAIN_PATH, JSON_PATH};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(query_string) = std::str::from_utf8(data) else { return };
    let parsed = edgedns::json::parse(query_string);
    let client = common::client(Some("198.51.100.9".parse().unwrap()), "DE", "FRA");
    let zones = Zones::Loaded(common::catalog());
    let send = |path: &str, accept: Option<&str>| {
        let request = HttpRequest { method: "GET", path, query: query_string, accept, ..HttpRequest::default() };
        let response = common::handle(&request, zones, &client, &NoHealthData, 11, true);
        common::check_http(&response);
        response
    };
    let resolved = send(JSON_PATH, None);
    match parsed {
        Ok(query) => {
            assert!(query.question.name.is_fqdn());
            assert_eq!(query.header.id, 0);
            assert!(query.header.recursion_desired);
            assert!(query.edns.is_some());
            if JSON_PATH.len() + query_string.len() + 1 > edgedns::doh::MAX_TARGET {
                assert_eq!(resolved.status, 414);
                return;
            }
            assert_eq!(resolved.status, 200, "{resolved:?}");
            assert_eq!(resolved.header("content-type"), Some(DNS_JSON));
            let value: serde_json::Value = serde_json::from_slice(&resolved.body).unwrap();
            let question = &value["Question"][0];
            assert_eq!(question["type"].as_u64(), Some(u64::from(u16::from(query.question.query_type))), "{value}");
            assert_eq!(question["name"].as_str(), Some(query.question.name.to_utf8().as_str()), "{value}");
            if edgedns::doh::parameter(query_string, "dns").is_none() {
                let negotiated = send(DOH_PATH, Some(DNS_JSON));
                assert_eq!(negotiated, resolved, "/dns-query with Accept: {DNS_JSON} and /resolve differ");
            }
        }
        Err(error) => {
            assert_eq!(error.status(), 400);
            if JSON_PATH.len() + query_string.len() + 1 <= edgedns::doh::MAX_TARGET {
                assert_eq!(resolved.status, 400);
            }
        }
    }
    send(EXPLAIN_PATH, None);
});
