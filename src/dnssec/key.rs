//! The zone's signing keys: parsed once from a Worker secret, never stored in KV.
//!
//! The secret holds one key, or a key-signing and a zone-signing key, each in the form
//!
//! ```text
//! edgedns-dnssec-v1 <zone> <flags> <algorithm> <private key, base64>
//! ```
//!
//! separated by `;` or new lines: the zone (absolute), the DNSKEY flags (257 for a key that
//! signs everything or the key-signing key of a pair, 256 for the zone-signing key of a pair),
//! the algorithm number (13, ECDSA P-256 with SHA-256, RFC 6605; 15, Ed25519, RFC 8080) and
//! the private key: the 32-octet scalar for P-256, the 32-octet seed for Ed25519 (the
//! `PrivateKey:` of a BIND `Private-key-format: v1.3` file is the same base64).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use hickory_proto::rr::Name;
use sha2::{Digest, Sha256};

use super::canonical;

/// The first word of every key in a secret, naming this format and its version.
pub const SECRET_PREFIX: &str = "edgedns-dnssec-v1";

/// The longest secret read (a pair of keys takes about 200 octets).
pub const MAX_SECRET_BYTES: usize = 4096;

/// The name of the Worker secret (and `.dev.vars` entry) holding a zone's keys:
/// `DNSSEC_KEY_` and the zone's labels upper-cased, every character that is not a letter or
/// digit as `_` (`example.com.` → `DNSSEC_KEY_EXAMPLE_COM`).
pub fn secret_name(zone: &Name) -> String {
    let mut name = String::from("DNSSEC_KEY");
    for label in zone.iter() {
        name.push('_');
        name.extend(label.iter().map(|octet| if octet.is_ascii_alphanumeric() { char::from(octet.to_ascii_uppercase()) } else { '_' }));
    }
    name
}

/// DNSKEY flags of a zone key with the Secure Entry Point bit: a combined signing key or the
/// key-signing key of a pair (RFC 4034 §2.1.1, RFC 3757).
pub const FLAGS_KEY_SIGNING: u16 = 257;

/// DNSKEY flags of a zone key without the SEP bit: the zone-signing key of a pair.
pub const FLAGS_ZONE_SIGNING: u16 = 256;

/// The DNSSEC algorithms the signer supports (RFC 8624 §3.1 recommends both for signing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256, number 13 (RFC 6605): the default.
    EcdsaP256Sha256,
    /// Ed25519, number 15 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The algorithm's number in DNSKEY, RRSIG and DS records.
    pub fn number(self) -> u8 {
        match self {
            Self::EcdsaP256Sha256 => 13,
            Self::Ed25519 => 15,
        }
    }

    /// The algorithm of a number, `None` for one not supported.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            13 => Some(Self::EcdsaP256Sha256),
            15 => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// The IANA mnemonic (`ECDSAP256SHA256`, `ED25519`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Self::Ed25519 => "ED25519",
        }
    }
}

/// Why a secret does not give the zone's keys. Lines count from 1 (`;` separates keys as a
/// new line does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The secret is empty or holds no key.
    Missing,
    /// The secret is longer than [`MAX_SECRET_BYTES`].
    TooLong {
        /// Its length in octets.
        bytes: usize,
    },
    /// A key is not in the form `edgedns-dnssec-v1 ZONE FLAGS ALGORITHM BASE64`.
    Malformed {
        /// The key's line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The algorithm number is not one the signer supports (13 or 15).
    UnknownAlgorithm {
        /// The key's line.
        line: usize,
        /// The number given.
        number: u8,
    },
    /// The key is for another zone than the one it is read for.
    WrongZone {
        /// The key's line.
        line: usize,
        /// The zone it is read for.
        expected: String,
        /// The zone the key names.
        found: String,
    },
    /// The flags are neither 257 nor 256.
    Flags {
        /// The key's line.
        line: usize,
        /// The flags given.
        flags: u16,
    },
    /// The private key's octets are not a key of its algorithm.
    InvalidKey {
        /// The key's line.
        line: usize,
    },
    /// The keys do not make one combined key (flags 257) or a pair of a key-signing key (257)
    /// and a zone-signing key (256) of the same algorithm.
    Roles,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "the DNSSEC key secret is missing or empty"),
            Self::TooLong { bytes } => write!(f, "the DNSSEC key secret is {bytes} octets long, more than {MAX_SECRET_BYTES}"),
            Self::Malformed { line, reason } => {
                write!(f, "DNSSEC key {line}: {reason} (expected `{SECRET_PREFIX} ZONE FLAGS ALGORITHM BASE64`)")
            }
            Self::UnknownAlgorithm { line, number } => {
                write!(f, "DNSSEC key {line}: algorithm {number} is not supported (13 ECDSAP256SHA256 or 15 ED25519)")
            }
            Self::WrongZone { line, expected, found } => write!(f, "DNSSEC key {line} is for zone {found}, not {expected}"),
            Self::Flags { line, flags } => write!(f, "DNSSEC key {line}: flags {flags} are neither 257 (KSK or combined) nor 256 (ZSK)"),
            Self::InvalidKey { line } => write!(f, "DNSSEC key {line}: the private key is not a valid key of its algorithm"),
            Self::Roles => write!(f, "DNSSEC keys: expected one key with flags 257, or a pair of 257 (KSK) and 256 (ZSK) of one algorithm"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The private half of a key.
enum Private {
    /// ECDSA P-256 (the scalar).
    P256(p256::ecdsa::SigningKey),
    /// Ed25519 (the seed).
    Ed25519(ed25519_dalek::SigningKey),
}

/// A zone's signing key with what is derived from it once: DNSKEY RDATA and key tag.
pub struct SigningKey {
    zone: Name,
    flags: u16,
    algorithm: Algorithm,
    private: Private,
    dnskey: Vec<u8>,
    key_tag: u16,
}

impl fmt::Debug for SigningKey {
    // The private key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("zone", &self.zone)
            .field("flags", &self.flags)
            .field("algorithm", &self.algorithm)
            .field("key_tag", &self.key_tag)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key from its private octets (32 for either algorithm); `None` when they are not a key.
    pub fn from_private(zone: &Name, flags: u16, algorithm: Algorithm, private: &[u8]) -> Option<Self> {
        let (private, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let key = p256::ecdsa::SigningKey::from_slice(private).ok()?;
                // RFC 6605 §4: the public key is the uncompressed point's x and y, without the
                // SEC1 prefix octet 4.
                let point = key.verifying_key().to_encoded_point(false);
                let public = point.as_bytes().get(1..)?.to_vec();
                (Private::P256(key), public)
            }
            Algorithm::Ed25519 => {
                let seed: [u8; 32] = private.try_into().ok()?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                let public = key.verifying_key().to_bytes().to_vec();
                (Private::Ed25519(key), public)
            }
        };
        // RFC 4034 §2.1: flags, protocol 3, algorithm, public key.
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&flags.to_be_bytes());
        dnskey.push(3);
        dnskey.push(algorithm.number());
        dnskey.extend_from_slice(&public);
        let key_tag = key_tag(&dnskey);
        Some(Self { zone: zone.to_lowercase(), flags, algorithm, private, dnskey, key_tag })
    }

    /// The zone the key signs (lower-case).
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// The DNSKEY flags (257 or 256).
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// Whether the Secure Entry Point bit is set: a combined key or a pair's key-signing key.
    pub fn is_key_signing(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key tag (RFC 4034 App. B).
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// The DNSKEY RDATA (RFC 4034 §2.1), to publish at the apex.
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey
    }

    /// The public key field of the DNSKEY RDATA.
    pub fn public_key(&self) -> &[u8] {
        self.dnskey.get(4..).unwrap_or_default()
    }

    /// The DS RDATA with a SHA-256 digest (digest type 2, RFC 4509 §2.1): key tag, algorithm,
    /// 2, SHA-256 of the owner name in canonical form followed by the DNSKEY RDATA (RFC 4034
    /// §5.1.4).
    pub fn ds_sha256_rdata(&self) -> Vec<u8> {
        let mut owner = Vec::with_capacity(64);
        canonical::name(&self.zone, &mut owner);
        let digest = Sha256::new().chain_update(&owner).chain_update(&self.dnskey).finalize();
        let mut ds = Vec::with_capacity(4 + digest.len());
        ds.extend_from_slice(&self.key_tag.to_be_bytes());
        ds.push(self.algorithm.number());
        ds.push(2);
        ds.extend_from_slice(&digest);
        ds
    }

    /// The key as one line of a secret (the private key included: never log it).
    pub fn secret_line(&self) -> String {
        let private = match &self.private {
            Private::P256(key) => BASE64.encode(key.to_bytes()),
            Private::Ed25519(key) => BASE64.encode(key.to_bytes()),
        };
        format!("{SECRET_PREFIX} {} {} {} {private}", self.zone, self.flags, self.algorithm.number())
    }

    /// The signature of `data` (RFC 6605 §4: r and s, 32 octets each; RFC 8080 §4: 64 octets).
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.private {
            Private::P256(key) => {
                let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(key, data);
                signature.to_bytes().to_vec()
            }
            Private::Ed25519(key) => key.sign(data).to_bytes().to_vec(),
        }
    }
}

/// The key tag of DNSKEY RDATA (RFC 4034 App. B; algorithm 1's exception does not apply).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (index, octet) in dnskey_rdata.iter().enumerate() {
        sum += if index % 2 == 0 { u32::from(*octet) << 8 } else { u32::from(*octet) };
    }
    sum += (sum >> 16) & 0xffff;
    (sum & 0xffff) as u16
}

/// The keys of one zone: one combined key, or a key-signing and a zone-signing key.
#[derive(Debug)]
pub struct KeySet {
    key_signing: SigningKey,
    zone_signing: Option<SigningKey>,
}

impl KeySet {
    /// The keys of `zone` in a secret (the module's format). A key for another zone, an unknown
    /// algorithm or a malformed key is an error, never skipped.
    pub fn parse(secret: &str, zone: &Name) -> Result<Self, KeyError> {
        if secret.len() > MAX_SECRET_BYTES {
            return Err(KeyError::TooLong { bytes: secret.len() });
        }
        let mut keys = Vec::new();
        let entries = secret.split(['\n', ';']).map(str::trim);
        for (index, entry) in entries.filter(|entry| !entry.is_empty()).enumerate() {
            keys.push(parse_key(entry, index + 1, zone)?);
        }
        if keys.is_empty() {
            return Err(KeyError::Missing);
        }
        Self::from_keys(keys)
    }

    /// The set of `keys`: one with flags 257, or one with 257 and one with 256 of the same
    /// algorithm.
    pub fn from_keys(keys: Vec<SigningKey>) -> Result<Self, KeyError> {
        let mut keys = keys.into_iter();
        let (Some(first), second, None) = (keys.next(), keys.next(), keys.next()) else {
            return Err(KeyError::Roles);
        };
        match second {
            None if first.is_key_signing() => Ok(Self { key_signing: first, zone_signing: None }),
            Some(second) if first.algorithm == second.algorithm && first.is_key_signing() != second.is_key_signing() => {
                let (key_signing, zone_signing) = if first.is_key_signing() { (first, second) } else { (second, first) };
                Ok(Self { key_signing, zone_signing: Some(zone_signing) })
            }
            _ => Err(KeyError::Roles),
        }
    }

    /// The key that signs the DNSKEY RRset (the combined key, or the pair's KSK).
    pub fn key_signing(&self) -> &SigningKey {
        &self.key_signing
    }

    /// The key that signs every other RRset (the combined key, or the pair's ZSK).
    pub fn zone_signing(&self) -> &SigningKey {
        self.zone_signing.as_ref().unwrap_or(&self.key_signing)
    }

    /// The key that signs an RRset of `record_type`: DNSKEY by the key-signing key (RFC 6781
    /// §3.1), everything else by the zone-signing key.
    pub fn for_type(&self, record_type: hickory_proto::rr::RecordType) -> &SigningKey {
        if record_type == hickory_proto::rr::RecordType::DNSKEY {
            self.key_signing()
        } else {
            self.zone_signing()
        }
    }

    /// Every key (the KSK first).
    pub fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.key_signing).chain(self.zone_signing.as_ref())
    }

    /// The secret value holding these keys (one line, keys separated by `; `).
    pub fn secret(&self) -> String {
        self.keys().map(SigningKey::secret_line).collect::<Vec<_>>().join("; ")
    }
}

/// One key of a secret.
fn parse_key(entry: &str, line: usize, zone: &Name) -> Result<SigningKey, KeyError> {
    let malformed = |reason| KeyError::Malformed { line, reason };
    let mut words = entry.split_ascii_whitespace();
    let (Some(prefix), Some(owner), Some(flags), Some(algorithm), Some(private), None) =
        (words.next(), words.next(), words.next(), words.next(), words.next(), words.next())
    else {
        return Err(malformed("a key has five words"));
    };
    if prefix != SECRET_PREFIX {
        return Err(malformed("the key does not start with edgedns-dnssec-v1"));
    }
    let owner = Name::from_str(owner).map_err(|_| malformed("the zone is not a domain name"))?;
    if !owner.is_fqdn() {
        return Err(malformed("the zone is not absolute (it ends with a dot)"));
    }
    if !same_name(&owner, zone) {
        return Err(KeyError::WrongZone { line, expected: zone.to_ascii(), found: owner.to_ascii() });
    }
    let flags: u16 = flags.parse().map_err(|_| malformed("the flags are not a number"))?;
    if flags != FLAGS_KEY_SIGNING && flags != FLAGS_ZONE_SIGNING {
        return Err(KeyError::Flags { line, flags });
    }
    let number: u8 = algorithm.parse().map_err(|_| malformed("the algorithm is not a number"))?;
    let algorithm = Algorithm::from_number(number).ok_or(KeyError::UnknownAlgorithm { line, number })?;
    let private = BASE64.decode(private).map_err(|_| malformed("the private key is not base64"))?;
    SigningKey::from_private(zone, flags, algorithm, &private).ok_or(KeyError::InvalidKey { line })
}

/// Whether two names are the same, ignoring case (RFC 4343) and absoluteness.
fn same_name(a: &Name, b: &Name) -> bool {
    let (mut a_wire, mut b_wire) = (Vec::new(), Vec::new());
    canonical::name(a, &mut a_wire);
    canonical::name(b, &mut b_wire);
    a_wire == b_wire
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Name {
        Name::from_str("example.com.").unwrap()
    }

    #[test]
    fn key_tag_sums_the_rdata_as_16_bit_words_with_the_carry() {
        assert_eq!(key_tag(&[0, 0]), 0);
        assert_eq!(key_tag(&[1, 2, 3]), 0x0102 + 0x0300);
        // 0xffff + 0x0002 carries into the sum once (RFC 4034 App. B).
        assert_eq!(key_tag(&[0xff, 0xff, 0x00, 0x02]), 0x0002);
    }

    #[test]
    fn a_secret_round_trips_and_bad_secrets_are_typed_errors() {
        let key = SigningKey::from_private(&zone(), 257, Algorithm::EcdsaP256Sha256, &[7; 32]).unwrap();
        let secret = key.secret_line();
        let set = KeySet::parse(&secret, &Name::from_str("Example.COM.").unwrap()).unwrap();
        assert_eq!(set.zone_signing().key_tag(), key.key_tag());
        assert_eq!(set.zone_signing().dnskey_rdata(), key.dnskey_rdata());

        assert_eq!(KeySet::parse(" \n ", &zone()).unwrap_err(), KeyError::Missing);
        assert!(matches!(KeySet::parse(&secret, &Name::from_str("example.org.").unwrap()), Err(KeyError::WrongZone { line: 1, .. })));
        let unknown = secret.replace(" 257 13 ", " 257 8 ");
        assert_eq!(KeySet::parse(&unknown, &zone()).unwrap_err(), KeyError::UnknownAlgorithm { line: 1, number: 8 });
        let flags = secret.replace(" 257 13 ", " 385 13 ");
        assert_eq!(KeySet::parse(&flags, &zone()).unwrap_err(), KeyError::Flags { line: 1, flags: 385 });
        assert!(matches!(KeySet::parse("edgedns-dnssec-v1 example.com. 257 13", &zone()), Err(KeyError::Malformed { line: 1, .. })));
        assert!(matches!(KeySet::parse("edgedns-dnssec-v1 example.com. 257 13 !!!", &zone()), Err(KeyError::Malformed { .. })));
        // The order's scalar is not a private key.
        let zero = format!("{SECRET_PREFIX} example.com. 257 13 {}", BASE64.encode([0u8; 32]));
        assert_eq!(KeySet::parse(&zero, &zone()).unwrap_err(), KeyError::InvalidKey { line: 1 });
        assert_eq!(KeySet::parse(&"x".repeat(5000), &zone()).unwrap_err(), KeyError::TooLong { bytes: 5000 });
        // A ZSK alone has no key to sign the DNSKEY RRset.
        assert_eq!(KeySet::parse(&secret.replace(" 257 ", " 256 "), &zone()).unwrap_err(), KeyError::Roles);
    }

    #[test]
    fn the_secret_is_named_after_the_zone() {
        assert_eq!(secret_name(&zone()), "DNSSEC_KEY_EXAMPLE_COM");
        assert_eq!(secret_name(&Name::from_str("2.0.192.in-addr.arpa.").unwrap()), "DNSSEC_KEY_2_0_192_IN_ADDR_ARPA");
    }

    #[test]
    fn a_pair_signs_dnskey_with_the_ksk() {
        let ksk = SigningKey::from_private(&zone(), 257, Algorithm::Ed25519, &[1; 32]).unwrap();
        let zsk = SigningKey::from_private(&zone(), 256, Algorithm::Ed25519, &[2; 32]).unwrap();
        let secret = format!("{}; {}", zsk.secret_line(), ksk.secret_line());
        let set = KeySet::parse(&secret, &zone()).unwrap();
        assert_eq!(set.for_type(hickory_proto::rr::RecordType::DNSKEY).key_tag(), ksk.key_tag());
        assert_eq!(set.for_type(hickory_proto::rr::RecordType::A).key_tag(), zsk.key_tag());
        assert_eq!(KeySet::parse(&set.secret(), &zone()).unwrap().keys().count(), 2);
    }
}
