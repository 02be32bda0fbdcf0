//! `edgedns::client::EdgeLocation::from_json` on the runtime's `request.cf` object.
//!
//! Asserts: no panic; a malformed field is absent, never an error (so any text yields a
//! location, the default when it is not a JSON object); read fields are non-empty strings
//! and finite numbers; the client view derived from it is sane (coordinates on the globe,
//! country and continent upper case, scope 0 without a subnet); and the pipeline answers the
//! routed names of the fixed catalog for that client with HTTP 200.

#![no_main]

use edgedns::client::{Client, ClientSubnet, EdgeLocation};
use edgedns::policy::NoHealthData;
use hickory_proto::rr::{Name, RecordType};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let location = EdgeLocation::from_json(text);
    for field in [&location.country, &location.continent, &location.region_code, &location.city, &location.colo] {
        assert!(field.as_ref().is_none_or(|value| !value.is_empty()), "an empty string field: {location:?}");
    }
    for number in [location.latitude, location.longitude] {
        assert!(number.is_none_or(f64::is_finite), "a non-finite coordinate: {location:?}");
    }

    let client = Client { address: Some("192.0.2.1".parse().unwrap()), location, location_source: None };
    let view = client.view(None);
    if let Some(coordinates) = view.coordinates {
        assert!(coordinates.latitude.abs() <= 90.0 && coordinates.longitude.abs() <= 180.0, "{view:?}");
    }
    for code in [&view.country, &view.continent, &view.subdivision].into_iter().flatten() {
        assert!(!code.is_empty() && *code == code.to_ascii_uppercase(), "{view:?}");
    }
    assert!(!view.from_subnet && view.geo_scope == 0 && view.asn_scope == 0, "{view:?}");
    let subnet = ClientSubnet::new("1.0.2.0/24".parse().unwrap());
    let located = client.view_with(Some(&subnet), Some(common::geoip()));
    assert!(located.from_subnet && located.geo_scope <= 24 && located.asn_scope <= 24, "{located:?}");

    let names: Vec<Name> = ["geo.app.example.org.", "api.example.org.", "edge.example.org.", "isp.example.org.", "portal.example.org."]
        .iter()
        .map(|name| Name::from_ascii(name).unwrap())
        .collect();
    for name in &names {
        let message = common::query_bytes(7, name, RecordType::A, None).unwrap();
        let response =
            common::handle(&common::post(&message), edgedns::server::Zones::Loaded(common::catalog()), &client, &NoHealthData, 3, false);
        common::check_http(&response);
        common::check_wire_answer(&message, &response);
    }
});
