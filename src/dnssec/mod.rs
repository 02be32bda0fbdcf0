//! DNSSEC online signing (RFC 4033, 4034, 4035), as pure functions: the Worker signs each
//! RRset as it answers it, so the answers a routing policy tailors are signed too.
//!
//! * [`key`]: the zone's signing keys, parsed from a Worker secret (the format is
//!   [`key::SECRET_PREFIX`]'s), their DNSKEY RDATA, key tag (RFC 4034 App. B) and DS
//!   (SHA-256, RFC 4509).
//! * [`canonical`]: the canonical form of names and RDATA (RFC 4034 §6, RFC 6840 §5.1).
//! * [`sign`]: the RRSIG over an RRset (RFC 4034 §3), its validity window.
//! * [`cache`]: signatures kept per isolate by RRset, re-signed once half their validity has
//!   passed, bounded in entries and bytes.
//! * [`denial`]: compact denial of existence (RFC 9824): the NSEC records for NXDOMAIN and
//!   NODATA that name no other name of the zone.
//! * [`online`]: the engine's answers signed as they go out (DNSKEY at the apex, RRSIGs,
//!   compact denial, wildcard proofs, referrals), with the keys and cache a [`online::Signer`]
//!   brings.
//! * [`rollover`]: key rollovers as a plan (RFC 7583: pre-publication for a ZSK, double-KSK
//!   for a KSK, the two together for a CSK): the phase a key set is in, the next step, and
//!   when it may be taken, the waits derived from the zone's TTLs.
//! * [`text`]: the presentation form of RRSIG, NSEC and DNSKEY, for people and the JSON API.
//! * [`rrset`]: RRsets as owner, type, class, TTL and wire-form RDATA, and their conversion
//!   from hickory records.
//!
//! Nothing here reads a clock or a random source: the time comes in as an argument (Unix
//! seconds) and the signatures are deterministic (RFC 6979 for ECDSA, RFC 8032 for Ed25519).

pub mod cache;
pub mod canonical;
pub mod denial;
pub mod key;
pub mod online;
pub mod rollover;
pub mod rrset;
pub mod sign;
pub mod text;

pub use cache::{CacheLimits, SignatureCache};
pub use denial::{nodata_nsec, nxdomain_nsec, wildcard_nsec, NXNAME};
pub use key::{Algorithm, KeyError, KeySet, KeyState, SigningKey, ZoneKey};
pub use online::{Keyring, Signed, Signer};
pub use rrset::{OwnedRrSet, RrSet};
pub use sign::{rrsig, SignError, Validity};
