//! `edgedns::zone::compile::compile_all` on a private view's declaration
//! (`views/<name>/view.toml`, operator input), with a fixed public zone and a fixed view zone.
//!
//! Asserts: no panic; a declaration that compiles gives exactly one view whose access admits
//! its own first network's address and, when it has a token hash, nobody by an unrelated
//! token; and the view survives the snapshot round trip.

#![no_main]

use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::Viewer;
use libfuzzer_sys::fuzz_target;

const PUBLIC: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.10\n";
const PRIVATE: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 60\n@ NS ns1\nns1 A 10.0.0.53\nwww A 10.0.0.80\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sources = vec![
        SourceFile { path: "zones/example.com.zone".into(), text: PUBLIC.into() },
        SourceFile { path: "zones/views/corp/example.com.zone".into(), text: PRIVATE.into() },
        SourceFile { path: "zones/views/corp/view.toml".into(), text: text.into() },
    ];
    let Ok(catalog) = compile_all(&sources) else { return };
    assert_eq!(catalog.views().len(), 1);
    let view = &catalog.views()[0];
    assert!(!view.access.networks.is_empty() || view.access.token_sha256.is_some(), "a view someone can see");
    if let Some(network) = view.access.networks.first() {
        assert!(view.access.admits(&Viewer::new(Some(network.addr()), None)));
    }
    if view.access.token_sha256.is_some() {
        assert!(!view.access.admits(&Viewer::new(None, Some("surely-not-the-token"))) || text.contains("surely"));
    }
    let image = edgedns::snapshot::encode(&catalog).expect("a compiled catalog encodes");
    let decoded = edgedns::snapshot::decode(&image).expect("and decodes");
    assert_eq!(decoded.views()[0].access, view.access);
});
