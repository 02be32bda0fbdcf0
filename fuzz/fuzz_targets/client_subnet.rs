//! `edgedns::client::ClientSubnet::decode` on EDNS Client Subnet option data (RFC 7871 §6).
//!
//! Asserts: no panic; what it accepts is exactly what RFC 7871 §6 allows (family 1 or 2,
//! SOURCE within the family, ceil(SOURCE/8) address octets, no bits beyond SOURCE);
//! `encode_response(SCOPE)` gives the option back byte for byte when SCOPE ≤ SOURCE (and a
//! SCOPE clamped to SOURCE otherwise), and decodes to the same subnet.

#![no_main]

use edgedns::client::ClientSubnet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(subnet) = ClientSubnet::decode(data) else { return };
    let (family, source, scope) = (u16::from_be_bytes([data[0], data[1]]), data[2], data[3]);
    let max = match family {
        1 => 32,
        2 => 128,
        other => panic!("accepted family {other}"),
    };
    assert!(source <= max);
    assert_eq!(data.len(), 4 + usize::from(source).div_ceil(8));
    assert_eq!(subnet.source_prefix(), source);
    assert_eq!(subnet.network(), subnet.network().trunc(), "bits beyond SOURCE");

    let echoed = subnet.encode_response(scope);
    if scope <= source {
        assert_eq!(echoed, data, "the response option differs from the query's");
    } else {
        assert_eq!(echoed[3], source, "SCOPE is clamped to SOURCE");
        assert_eq!(echoed[..3], data[..3]);
        assert_eq!(echoed[4..], data[4..]);
    }
    assert_eq!(ClientSubnet::decode(&echoed), Ok(subnet));
    assert_eq!(ClientSubnet::new(subnet.network()), subnet);
});
