//! `edgedns::admin::{authorize, parse, change_overrides}` on an admin request: method, path,
//! Authorization header and body all from the input.
//!
//! Asserts: no panic; only the configured token authorizes; an accepted override names a
//! canonical target of at most 255 characters; applying it to the overrides either changes
//! them as asked or is refused as an unknown check; every error maps to a 4xx/5xx JSON body;
//! a zone upload or deletion either compiles (an upload into a catalog holding its zone) or is
//! refused with a 400/404.

#![no_main]

use std::collections::BTreeMap;

use edgedns::admin::{authorize, change_overrides, edit_zone, parse, AdminRequest};
use edgedns::doh::HttpRequest;
use edgedns::health::{override_target, Overrides};
use edgedns::zone::compile::SourceFile;
use edgedns::health::spec::{CheckKind, HealthCheckSpec};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-admin-token-0123456789";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |byte| *byte == 0);
    let (Some(method), Some(path), Some(authorization)) = (parts.next(), parts.next(), parts.next()) else { return };
    let body = parts.next().unwrap_or_default();
    let (Ok(method), Ok(path), Ok(authorization)) =
        (std::str::from_utf8(method), std::str::from_utf8(path), std::str::from_utf8(authorization))
    else {
        return;
    };
    let authorized = authorize(Some(TOKEN), Some(authorization));
    if authorized.is_ok() {
        assert_eq!(authorization.trim().split_once(' ').map(|(_, token)| token.trim()), Some(TOKEN));
    }
    let request = HttpRequest { method, path, body, ..HttpRequest::default() };
    match parse(&request, 1) {
        Err(error) => {
            let response = error.response();
            assert!((400..600).contains(&response.status));
            assert!(serde_json::from_slice::<serde_json::Value>(&response.body).is_ok());
        }
        Ok(parsed) => {
            let target = match &parsed {
                AdminRequest::SetOverride { target, .. } | AdminRequest::ClearOverride { target } => Some(target.clone()),
                _ => None,
            };
            if let Some(target) = &target {
                assert!(target.len() <= 255 && !target.is_empty());
                assert_eq!(&override_target(target), target, "targets are canonical");
            }
            let zone_edit = match &parsed {
                AdminRequest::PutZone { apex, upload, .. } => Some((apex, Some(upload))),
                AdminRequest::DeleteZone { apex, .. } => Some((apex, None)),
                _ => None,
            };
            if let Some((apex, upload)) = zone_edit {
                let current = [SourceFile { path: "zones/example.com.zone".into(), text: "@ 60 SOA ns1 h 1 1 1 1 1\n@ 60 NS ns1\nns1 60 A 192.0.2.1\n".into() }];
                match edit_zone(&current, apex, upload) {
                    Ok(edited) => assert_eq!(upload.is_some(), edited.catalog.zones().iter().any(|zone| zone.apex() == apex)),
                    Err(error) => assert!(matches!(error.status(), 400 | 404), "{error:?}"),
                }
                return;
            }
            let checks = BTreeMap::from([("web".to_owned(), HealthCheckSpec::new(CheckKind::Http))]);
            let mut overrides = Overrides::new();
            let set = matches!(parsed, AdminRequest::SetOverride { .. });
            match change_overrides(&mut overrides, &checks, parsed) {
                Ok(changed) => assert_eq!(changed, set && overrides.len() == 1),
                Err(error) => assert_eq!(error.status(), 404),
            }
        }
    }
});
