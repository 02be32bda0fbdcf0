//! `edgedns::query::parse` on raw DoH request bytes, then the same bytes through the whole
//! pipeline (`server::handle`) as a POST body and as a GET `?dns=` parameter.
//!
//! Asserts: no panic; every message the parser accepts (as a query or as one earning an
//! error RCODE) is answered with HTTP 200 and a DNS response hickory decodes, whose ID,
//! opcode, RD/CD flags and question echo the query's and which has OPT exactly when the
//! query had one; bytes that are not DNS are HTTP 400; GET and POST of the same message
//! give the same response.

#![no_main]

use base64::Engine;
use edgedns::doh::{HttpRequest, MAX_TARGET};
use edgedns::policy::NoHealthData;
use edgedns::server::{Zones, DOH_PATH};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = edgedns::query::parse(data);

    let client = common::client(Some("203.0.113.7".parse().unwrap()), "US", "SEA");
    let zones = Zones::Loaded(common::catalog());
    let posted = common::handle(&common::post(data), zones, &client, &NoHealthData, 7, true);
    common::check_http(&posted);
    if data.is_empty() || data.len() > edgedns::doh::MAX_MESSAGE {
        assert_eq!(posted.status, if data.is_empty() { 400 } else { 413 });
        return;
    }
    common::check_wire_answer(data, &posted);

    let query = format!("dns={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data));
    let get = HttpRequest { method: "GET", path: DOH_PATH, query: &query, ..HttpRequest::default() };
    let got = common::handle(&get, zones, &client, &NoHealthData, 7, true);
    common::check_http(&got);
    if DOH_PATH.len() + query.len() + 1 > MAX_TARGET {
        assert_eq!(got.status, 414);
    } else {
        assert_eq!(got, posted, "GET and POST of the same message differ");
    }
});
