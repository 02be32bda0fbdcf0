//! The zone's signing keys: parsed once from a Worker secret, never stored in KV.
//!
//! The secret holds one key, or a key-signing and a zone-signing key, each in the form
//!
//! ```text
//! edgedns-dnssec-v1 <zone> <flags> <algorithm> <private key, base64> [<state>=<unix time>] [ds=<unix time>]
//! ```
//!
//! separated by `;` or new lines: the zone (absolute), the DNSKEY flags (257 for a key that
//! signs everything or the key-signing key of a pair, 256 for the zone-signing key of a pair),
//! the algorithm number (13, ECDSA P-256 with SHA-256, RFC 6605; 15, Ed25519, RFC 8080) and
//! the private key: the 32-octet scalar for P-256, the 32-octet seed for Ed25519 (the
//! `PrivateKey:` of a BIND `Private-key-format: v1.3` file is the same base64).
//!
//! During a rollover ([`super::rollover`]) a key also says its state and since when (Unix
//! seconds): `published=T` (in the DNSKEY RRset, not yet signing the zone's data),
//! `active=T` (signing), `retired=T` (still in the DNSKEY RRset, no longer signing the zone's
//! data), and a key-signing key whose DS the parent serves says since when with `ds=T`. A key
//! without a state is active, as every key was before rollovers. A set is then the active
//! key(s) as above and at most one more key, published or retired, of one of their roles.

use std::fmt;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use hickory_proto::rr::{Name, RecordType};
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
    /// The keys do not make one active combined key (flags 257) or an active pair of a
    /// key-signing key (257) and a zone-signing key (256), with at most one more key of a
    /// rollover, all of one algorithm.
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
            Self::Roles => write!(
                f,
                "DNSSEC keys: expected one active key with flags 257, or an active pair of 257 (KSK) and 256 (ZSK), and during a rollover one \
                 more key (published or retired) of one of those flags, all different and of one algorithm"
            ),
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
    /// [`SigningKey::id`], computed once.
    id: u64,
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
        let mut hasher = DefaultHasher::new();
        dnskey.hash(&mut hasher);
        let id = hasher.finish();
        Some(Self { zone: zone.to_lowercase(), flags, algorithm, private, dnskey, key_tag, id })
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

    /// 64 bits that tell this key from another: a hash (SipHash) of its DNSKEY RDATA, which
    /// holds the algorithm and public key. The signature cache's fingerprints hash it instead of
    /// the whole RDATA.
    pub fn id(&self) -> u64 {
        self.id
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

/// Where a key is in a rollover (RFC 7583 §3.1 names the states a key goes through; a
/// secret records the three the Worker acts on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// In the DNSKEY RRset, not signing the zone's data yet (a key-signing key signs the
    /// DNSKEY RRset already: the double-KSK method, RFC 7583 §3.3.1).
    Published,
    /// Signing.
    Active,
    /// Still in the DNSKEY RRset, no longer signing the zone's data (a key-signing key keeps
    /// signing the DNSKEY RRset until it is removed, for validators whose DS points at it).
    Retired,
}

impl KeyState {
    /// The word of the state in a secret (`published`, `active`, `retired`).
    pub fn word(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        match word {
            "published" => Some(Self::Published),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A key of a zone with its place in a rollover.
#[derive(Debug)]
pub struct ZoneKey {
    /// The key.
    pub key: SigningKey,
    /// Its state.
    pub state: KeyState,
    /// Since when (Unix seconds); `None` for a key the secret gives no state, which is active.
    pub since_s: Option<u64>,
    /// Since when the parent serves this key's DS (a key-signing key, during a rollover).
    pub ds_since_s: Option<u64>,
}

impl ZoneKey {
    /// An active key with no recorded time (what a secret without states holds).
    pub fn active(key: SigningKey) -> Self {
        Self { key, state: KeyState::Active, since_s: None, ds_since_s: None }
    }

    /// The key as one line of a secret, its state after it (never log it: it holds the
    /// private key). An active key with no time is written as before states existed.
    pub fn secret_line(&self) -> String {
        let mut line = self.key.secret_line();
        if let Some(since) = self.since_s {
            line.push_str(&format!(" {}={since}", self.state.word()));
        } else if self.state != KeyState::Active {
            line.push_str(&format!(" {}=0", self.state.word()));
        }
        if let Some(ds) = self.ds_since_s {
            line.push_str(&format!(" ds={ds}"));
        }
        line
    }
}

/// The keys of one zone: one combined key, or a key-signing and a zone-signing key, both
/// active; and during a rollover one more key of one of those roles, published (incoming) or
/// retired (outgoing).
#[derive(Debug)]
pub struct KeySet {
    key_signing: ZoneKey,
    zone_signing: Option<ZoneKey>,
    rolling: Option<ZoneKey>,
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
        Self::from_zone_keys(keys)
    }

    /// The set of `keys`, all active: one with flags 257, or one with 257 and one with 256 of
    /// the same algorithm.
    pub fn from_keys(keys: Vec<SigningKey>) -> Result<Self, KeyError> {
        Self::from_zone_keys(keys.into_iter().map(ZoneKey::active).collect())
    }

    /// The set of `keys` with their states: exactly one active key with flags 257, at most one
    /// active key with 256, and at most one key more (published or retired) of the flags of
    /// an active one, all of one algorithm and all different.
    pub fn from_zone_keys(keys: Vec<ZoneKey>) -> Result<Self, KeyError> {
        let mut key_signing = None;
        let mut zone_signing = None;
        let mut rolling = None;
        let algorithm = keys.first().map(|key| key.key.algorithm);
        for (index, key) in keys.iter().enumerate() {
            let same = keys.iter().skip(index + 1).any(|other| other.key.dnskey == key.key.dnskey);
            if same || Some(key.key.algorithm) != algorithm {
                return Err(KeyError::Roles);
            }
        }
        for key in keys {
            let slot = match (key.state, key.key.is_key_signing()) {
                (KeyState::Active, true) => &mut key_signing,
                (KeyState::Active, false) => &mut zone_signing,
                _ => &mut rolling,
            };
            if slot.replace(key).is_some() {
                return Err(KeyError::Roles);
            }
        }
        let Some(key_signing) = key_signing else { return Err(KeyError::Roles) };
        if let Some(rolling) = &rolling {
            // An incoming or outgoing zone-signing key needs an active one beside it.
            if !rolling.key.is_key_signing() && zone_signing.is_none() {
                return Err(KeyError::Roles);
            }
        }
        Ok(Self { key_signing, zone_signing, rolling })
    }

    /// The active key-signing key (the combined key, or the pair's KSK).
    pub fn key_signing(&self) -> &SigningKey {
        &self.key_signing.key
    }

    /// The active key that signs every other RRset (the combined key, or the pair's ZSK).
    pub fn zone_signing(&self) -> &SigningKey {
        self.zone_signing.as_ref().map_or(&self.key_signing.key, |key| &key.key)
    }

    /// Whether the zone has a key-signing and a zone-signing key (rather than one combined key).
    pub fn is_pair(&self) -> bool {
        self.zone_signing.is_some()
    }

    /// The active key that signs an RRset of `record_type`: DNSKEY by the key-signing key (RFC
    /// 6781 §3.1), everything else by the zone-signing key. [`KeySet::signers`] gives every
    /// key that signs it during a rollover.
    pub fn for_type(&self, record_type: RecordType) -> &SigningKey {
        if record_type == RecordType::DNSKEY {
            self.key_signing()
        } else {
            self.zone_signing()
        }
    }

    /// The keys that sign an RRset of `record_type`, the active one first. The DNSKEY RRset:
    /// every key-signing key of the set, published, active or retired, so a validator whose DS
    /// is the old key's or the new one's finds a signature it trusts (the double-KSK method,
    /// RFC 7583 §3.3.1). Every other RRset: the active zone-signing key alone (pre-publication,
    /// RFC 7583 §3.2.1: the new key signs once it is in every cache, the old one no more once
    /// the new one signs).
    pub fn signers(&self, record_type: RecordType) -> impl Iterator<Item = &SigningKey> {
        let first = self.for_type(record_type);
        let second = self.rolling.as_ref().filter(|key| record_type == RecordType::DNSKEY && key.key.is_key_signing()).map(|key| &key.key);
        std::iter::once(first).chain(second)
    }

    /// Every key of the DNSKEY RRset (the active KSK first, the rolling key last).
    pub fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        self.entries().map(|entry| &entry.key)
    }

    /// Every key with its state (the active KSK first, the rolling key last).
    pub fn entries(&self) -> impl Iterator<Item = &ZoneKey> {
        std::iter::once(&self.key_signing).chain(self.zone_signing.as_ref()).chain(self.rolling.as_ref())
    }

    /// The key a rollover brings in or takes out, if one is under way.
    pub fn rolling(&self) -> Option<&ZoneKey> {
        self.rolling.as_ref()
    }

    /// The active key-signing key with its state.
    pub fn key_signing_entry(&self) -> &ZoneKey {
        &self.key_signing
    }

    /// The active zone-signing key with its state (the combined key when there is no pair).
    pub fn zone_signing_entry(&self) -> &ZoneKey {
        self.zone_signing.as_ref().unwrap_or(&self.key_signing)
    }

    /// The keys as entries, to change and build a set from again.
    pub fn into_entries(self) -> Vec<ZoneKey> {
        std::iter::once(self.key_signing).chain(self.zone_signing).chain(self.rolling).collect()
    }

    /// The secret value holding these keys (one line, keys separated by `; `).
    pub fn secret(&self) -> String {
        self.entries().map(ZoneKey::secret_line).collect::<Vec<_>>().join("; ")
    }
}

/// One key of a secret.
fn parse_key(entry: &str, line: usize, zone: &Name) -> Result<ZoneKey, KeyError> {
    let malformed = |reason| KeyError::Malformed { line, reason };
    let mut words = entry.split_ascii_whitespace();
    let (Some(prefix), Some(owner), Some(flags), Some(algorithm), Some(private)) = (words.next(), words.next(), words.next(), words.next(), words.next())
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
    let key = SigningKey::from_private(zone, flags, algorithm, &private).ok_or(KeyError::InvalidKey { line })?;
    let mut key = ZoneKey::active(key);
    let mut stated = false;
    for word in words {
        let (name, value) = word.split_once('=').ok_or(malformed("after the private key come only state=TIME and ds=TIME"))?;
        let time: u64 = value.parse().map_err(|_| malformed("a state's time is not a number of Unix seconds"))?;
        if name == "ds" {
            if key.ds_since_s.replace(time).is_some() {
                return Err(malformed("ds= is given twice"));
            }
            continue;
        }
        let state = KeyState::from_word(name).ok_or(malformed("the state is not published, active or retired"))?;
        if std::mem::replace(&mut stated, true) {
            return Err(malformed("a key has one state"));
        }
        key.state = state;
        key.since_s = Some(time);
    }
    Ok(key)
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
    fn keys_say_their_state_and_a_set_takes_one_rolling_key_beside_the_active_ones() {
        let line = |flags, seed: u8, extra: &str| {
            let key = SigningKey::from_private(&zone(), flags, Algorithm::EcdsaP256Sha256, &[seed; 32]).unwrap();
            format!("{}{extra}", key.secret_line())
        };
        let secret = format!("{}; {}", line(257, 1, " active=1800000000"), line(257, 2, " published=1800000100"));
        let set = KeySet::parse(&secret, &zone()).unwrap();
        let rolling = set.rolling().unwrap();
        assert_eq!((rolling.state, rolling.since_s, rolling.ds_since_s), (KeyState::Published, Some(1_800_000_100), None));
        assert_eq!(set.key_signing_entry().since_s, Some(1_800_000_000));
        assert_eq!(set.secret(), secret, "the states round-trip");
        assert_eq!(set.signers(RecordType::DNSKEY).count(), 2);
        assert_eq!(set.signers(RecordType::A).map(SigningKey::key_tag).collect::<Vec<_>>(), [set.key_signing().key_tag()]);
        let with_ds = format!("{}; {}", line(257, 2, " active=5 ds=7"), line(257, 1, " retired=5"));
        let set = KeySet::parse(&with_ds, &zone()).unwrap();
        assert_eq!((set.key_signing_entry().ds_since_s, set.rolling().unwrap().state), (Some(7), KeyState::Retired));

        let roles = |secret: &str| KeySet::parse(secret, &zone()).unwrap_err();
        // Two active combined keys; the same key twice; a rolling ZSK without an active one; two
        // rolling keys; keys of two algorithms.
        assert_eq!(roles(&format!("{}; {}", line(257, 1, ""), line(257, 2, ""))), KeyError::Roles);
        assert_eq!(roles(&format!("{}; {}", line(257, 1, ""), line(257, 1, " published=1"))), KeyError::Roles);
        assert_eq!(roles(&format!("{}; {}", line(257, 1, ""), line(256, 2, " published=1"))), KeyError::Roles);
        assert_eq!(roles(&format!("{}; {}; {}", line(257, 1, ""), line(257, 2, " published=1"), line(257, 3, " retired=1"))), KeyError::Roles);
        let ed25519 = SigningKey::from_private(&zone(), 257, Algorithm::Ed25519, &[4; 32]).unwrap().secret_line();
        assert_eq!(roles(&format!("{}; {ed25519} published=1", line(257, 1, ""))), KeyError::Roles);
        // A published key alone has no active key to sign with.
        assert_eq!(roles(&line(257, 1, " published=1")), KeyError::Roles);

        let malformed = |extra: &str| matches!(KeySet::parse(&line(257, 1, extra), &zone()), Err(KeyError::Malformed { line: 1, .. }));
        assert!(malformed(" standby=1"));
        assert!(malformed(" active"));
        assert!(malformed(" active=soon"));
        assert!(malformed(" active=1 retired=2"));
        assert!(malformed(" ds=1 ds=2"));
        assert!(KeySet::parse(&line(257, 1, " active=1 ds=2"), &zone()).is_ok());
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
        assert_eq!(set.for_type(RecordType::DNSKEY).key_tag(), ksk.key_tag());
        assert_eq!(set.for_type(RecordType::A).key_tag(), zsk.key_tag());
        assert_eq!(KeySet::parse(&set.secret(), &zone()).unwrap().keys().count(), 2);
    }
}
