//! `edgedns::doh::negotiate`, the `Accept` header (RFC 8484 §4.1, RFC 9110 §12.5.1).
//!
//! Asserts: no panic; the only error is 406; a missing or blank header means the wire
//! format; adding `*/*` or `application/dns-message` to any header gives the wire format;
//! adding `application/dns-json` to a header never gives 406; and negotiation ignores the
//! case of media types.

#![no_main]

use edgedns::doh::{negotiate, Format, HttpError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(accept) = std::str::from_utf8(data) else { return };
    let result = negotiate(Some(accept));
    if let Err(error) = result {
        assert_eq!(error, HttpError::NotAcceptable);
    }
    if accept.trim().is_empty() {
        assert_eq!(result, Ok(Format::Wire));
    }
    assert_eq!(negotiate(None), Ok(Format::Wire));
    assert_eq!(negotiate(Some(&format!("{accept}, */*"))), Ok(Format::Wire), "{accept:?}");
    assert_eq!(negotiate(Some(&format!("{accept},application/dns-message"))), Ok(Format::Wire), "{accept:?}");
    assert!(negotiate(Some(&format!("{accept}, application/dns-json"))).is_ok(), "{accept:?}");
    if accept.is_ascii() {
        assert_eq!(negotiate(Some(&accept.to_ascii_uppercase())), result, "{accept:?}");
    }
});
