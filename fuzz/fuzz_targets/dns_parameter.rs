//! `edgedns::doh::decode_dns_parameter`, the GET `?dns=` value (base64url, RFC 8484 §4.1).
//!
//! Asserts: no panic; whatever it accepts is canonical base64url, so encoding the bytes
//! again gives the value back without its trailing `=`/`%3D` padding, and the value never
//! contains the standard alphabet's `+` or `/`; and every byte string, encoded without
//! padding, decodes to itself.

#![no_main]

use base64::Engine;
use edgedns::doh::decode_dns_parameter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    if let Ok(value) = std::str::from_utf8(data) {
        match decode_dns_parameter(value) {
            Ok(bytes) => {
                assert!(!bytes.is_empty(), "an empty message was accepted from {value:?}");
                assert!(!value.contains(['+', '/']), "standard base64 accepted: {value:?}");
                let mut unpadded = value;
                while let Some(rest) = unpadded.strip_suffix('=').or_else(|| unpadded.strip_suffix("%3D")).or_else(|| unpadded.strip_suffix("%3d")) {
                    unpadded = rest;
                }
                assert_eq!(engine.encode(&bytes), unpadded, "accepted a non-canonical value {value:?}");
            }
            Err(error) => assert_eq!(error.status(), 400),
        }
    }
    if !data.is_empty() {
        let encoded = engine.encode(data);
        assert_eq!(decode_dns_parameter(&encoded).as_deref(), Ok(data));
        assert_eq!(decode_dns_parameter(&format!("{encoded}%3D=")).as_deref(), Ok(data));
    }
});
