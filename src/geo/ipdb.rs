//! The GeoIP table: which country, or which autonomous system, an IP address belongs to, in a
//! compact binary image that is built offline (`edgedns geoip build`), stored in KV and
//! decoded once per isolate. A lookup is a binary search over the raw bytes: no parsing, no
//! allocation, no panic.
//!
//! The data comes from the ip-location-db CSV lists on npm (`start_ip,end_ip,country_code`
//! and `start_ip,end_ip,asn,org`, inclusive ranges); [`parse_csv`] reads them and [`build`]
//! turns ranges into an image.
//!
//! # What a match means for EDNS Client Subnet
//!
//! A match carries the value and the **largest CIDR block that contains the address (or the
//! client subnet) and lies entirely inside the matched range**. Every address of that block
//! has the same value, so an answer decided by it is valid for the whole block: its prefix
//! length is the ECS SCOPE PREFIX-LENGTH to return (RFC 7871 §7.2.1). It is never longer
//! than the queried subnet's SOURCE prefix. When a client subnet straddles ranges with
//! different values, the match is the value of its first address and the network is the
//! subnet itself (the answer depends on all SOURCE bits). [`IpTable::locate`] gives the same
//! block for addresses the data does not cover (RFC 1918 space, say), so an answer given for
//! "no data" can be scoped too.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, and subnets of at least /96 inside
//! `::ffff:0:0/96`) are looked up in the IPv4 section; the returned network is mapped back
//! into IPv6 (prefix + 96), so it stays comparable with the query's SOURCE.
//!
//! # Format `EDGEIP01`
//!
//! All integers are big-endian (network order), so addresses are stored as their octets.
//!
//! ```text
//! offset  size  field
//!  0       8    magic "EDGEIP01" (the digits are the format version)
//!  8       1    kind: 1 = country, 2 = ASN
//!  9       3    reserved, zero
//! 12       4    n4: number of IPv4 records
//! 16       4    n6: number of IPv6 records
//! 20            n4 IPv4 records: start (4 bytes),  value (W bytes)
//!               n6 IPv6 records: start (16 bytes), value (W bytes)
//! ```
//!
//! W is 2 for a country (two ASCII capital letters, ISO 3166-1 alpha-2 as the data gives it)
//! and 4 for an ASN (u32). The all-zero value means "no data" (a gap between ranges; AS 0 is
//! reserved for "not routed" by RFC 7607 and never a value).
//!
//! A record covers the addresses from its start up to the next record's start minus one
//! (the last one: up to the end of the address space). Addresses before the first record
//! have no data. So a section is a sorted list of boundaries, half the size of explicit
//! start/end pairs: gaps cost one "no data" record each. The image is canonical, and
//! [`IpTable::decode`] checks all of it once: the length is exactly `20 + n4 × (4 + W) +
//! n6 × (16 + W)`, starts strictly increase, values are well formed, no two neighbouring
//! records have the same value (adjacent ranges with one value are merged at build time),
//! and the first record is not a gap.
//!
//! One image holds one kind. The country and ASN tables are separate images (separate KV
//! values), so a Worker that only routes by country never loads the ASN table.
//!
//! # Data and licences
//!
//! Built from the npm packages pinned in package.json: `@ip-location-db/geo-whois-asn-country`
//! (package.json says CC0-1.0; its README credits the RIR data to the NRO under CC BY 4.0 and
//! ships `NRO_LICENSE`) and `@ip-location-db/asn` (CC BY 4.0: RouteViews, DB-IP, NRO; DB-IP
//! asks for a link to db-ip.com where results are used). The lists overlap in places and
//! assign some private space; [`build`] resolves overlaps (narrowest range wins) and
//! [`without_special_purpose`] cuts non-global space out before building.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// First bytes of every image; the digits are the format version.
pub const MAGIC: &[u8; 8] = b"EDGEIP01";
/// Length of the fixed header.
pub const HEADER_LEN: usize = 20;
/// The largest value Workers KV stores (25 MiB): an image must stay below it.
pub const KV_VALUE_LIMIT: usize = 25 * 1024 * 1024;

/// What a table maps addresses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// ISO 3166-1 alpha-2 country codes.
    Country,
    /// Autonomous system numbers.
    Asn,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Self::Country => 1,
            Self::Asn => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Country),
            2 => Some(Self::Asn),
            _ => None,
        }
    }

    /// Bytes of one value in a record.
    fn value_len(self) -> usize {
        match self {
            Self::Country => 2,
            Self::Asn => 4,
        }
    }

    /// `country` or `asn`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Asn => "asn",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpValue {
    /// A country code: two ASCII capital letters (`*b"AU"`).
    Country([u8; 2]),
    /// An autonomous system number (never 0).
    Asn(u32),
}

impl IpValue {
    /// A country value from its code, case-insensitive; `None` unless it is two ASCII letters.
    pub fn country(code: &str) -> Option<Self> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Some(Self::Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()])),
            _ => None,
        }
    }

    /// The kind of table this value belongs in.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Country(_) => Kind::Country,
            Self::Asn(_) => Kind::Asn,
        }
    }

    /// The country code, for a well-formed country value.
    pub fn country_code(&self) -> Option<&str> {
        match self {
            Self::Country(code) => std::str::from_utf8(code).ok(),
            Self::Asn(_) => None,
        }
    }

    /// The AS number, for an ASN value.
    pub fn asn(&self) -> Option<u32> {
        match self {
            Self::Asn(asn) => Some(*asn),
            Self::Country(_) => None,
        }
    }

    /// Whether the value can be stored (capital letters; a non-zero ASN).
    fn is_valid(&self) -> bool {
        match self {
            Self::Country(code) => code.iter().all(u8::is_ascii_uppercase),
            Self::Asn(asn) => *asn != 0,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Country(code) => out.extend_from_slice(code),
            Self::Asn(asn) => out.extend_from_slice(&asn.to_be_bytes()),
        }
    }
}

impl fmt::Display for IpValue {
    /// `AU`, `AS13335`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Country(code) => write!(f, "{}{}", char::from(code[0]), char::from(code[1])),
            Self::Asn(asn) => write!(f, "AS{asn}"),
        }
    }
}

/// A successful lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMatch {
    /// The value of the range.
    pub value: IpValue,
    /// The largest CIDR block containing the address (or subnet) inside the range, or the
    /// queried subnet itself when it straddles ranges. Its prefix length is the ECS SCOPE.
    pub network: IpNet,
}

/// What the table says about a network, data or not (see [`IpTable::locate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// The value of the range holding the network's first address; `None` in a gap.
    pub value: Option<IpValue>,
    /// The largest CIDR block containing the network inside that range (or gap), or the
    /// network itself when it straddles ranges.
    pub network: IpNet,
}

/// Why an image was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpTableError {
    /// Shorter than the header.
    Truncated,
    /// Not an `EDGEIP01` image (another format or version).
    BadMagic,
    /// The kind byte is neither country nor ASN.
    UnknownKind(u8),
    /// Reserved header bytes are not zero.
    Reserved,
    /// The length does not match the record counts.
    Length {
        /// What the header implies.
        expected: u64,
        /// What there is.
        actual: u64,
    },
    /// A record does not start after the previous one.
    Unsorted {
        /// 4 or 6.
        family: u8,
        /// The record's index in its section.
        index: usize,
    },
    /// A record's value is malformed (not two capital letters).
    BadValue {
        /// 4 or 6.
        family: u8,
        /// The record's index in its section.
        index: usize,
    },
    /// A record has the same value as the previous one, or the section starts with a gap:
    /// not the canonical form [`build`] writes.
    NotCanonical {
        /// 4 or 6.
        family: u8,
        /// The record's index in its section.
        index: usize,
    },
}

impl fmt::Display for IpTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "GeoIP image truncated (shorter than its header)"),
            Self::BadMagic => write!(f, "not a GeoIP image (bad magic; expected EDGEIP01)"),
            Self::UnknownKind(kind) => write!(f, "GeoIP image of unknown kind {kind}"),
            Self::Reserved => write!(f, "GeoIP image header has non-zero reserved bytes"),
            Self::Length { expected, actual } => {
                write!(f, "GeoIP image is {actual} bytes, its header says {expected}")
            }
            Self::Unsorted { family, index } => {
                write!(f, "GeoIP image: IPv{family} record {index} does not start after the previous one")
            }
            Self::BadValue { family, index } => {
                write!(f, "GeoIP image: IPv{family} record {index} has a malformed value")
            }
            Self::NotCanonical { family, index } => {
                write!(f, "GeoIP image: IPv{family} record {index} repeats the previous value (not merged)")
            }
        }
    }
}

impl std::error::Error for IpTableError {}

/// Why ranges could not be read or built into an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// A CSV line is malformed (1-based line number).
    Csv {
        /// The line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No ranges at all.
    Empty,
    /// Country and ASN values in one table.
    MixedKinds,
    /// A range whose ends are of different families, or whose end is before its start.
    BadRange {
        /// First address.
        start: IpAddr,
        /// Last address.
        end: IpAddr,
    },
    /// A value that cannot be stored (lower-case or non-letter country code, AS 0).
    BadValue(IpValue),
    /// More records than the format counts (2^32 - 1 per family).
    TooLarge,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Csv { line, message } => write!(f, "line {line}: {message}"),
            Self::Empty => write!(f, "no ranges"),
            Self::MixedKinds => write!(f, "country and ASN values mixed in one table"),
            Self::BadRange { start, end } => write!(f, "bad range {start}-{end}"),
            Self::BadValue(value) => write!(f, "value {value:?} cannot be stored"),
            Self::TooLarge => write!(f, "too many ranges for one section"),
        }
    }
}

impl std::error::Error for BuildError {}

// ------------------------------------------------------------------------------------------
// Addresses as integers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn bits(self) -> u32 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }

    fn addr_len(self) -> usize {
        match self {
            Self::V4 => 4,
            Self::V6 => 16,
        }
    }

    fn max(self) -> u128 {
        match self {
            Self::V4 => u128::from(u32::MAX),
            Self::V6 => u128::MAX,
        }
    }

    fn number(self) -> u8 {
        match self {
            Self::V4 => 4,
            Self::V6 => 6,
        }
    }
}

fn split(address: IpAddr) -> (Family, u128) {
    match address {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4))),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6)),
    }
}

/// The number of leading bits `a` and `b` share, within the family's width.
fn common_prefix(a: u128, b: u128, bits: u32) -> u32 {
    (a ^ b).leading_zeros().saturating_sub(128 - bits).min(bits)
}

/// The shortest prefix length whose block around `x` stays inside `[lo, hi]` (`x` in it).
/// The block of prefix p contains exactly the addresses sharing p leading bits with `x`; it
/// is inside the range iff it holds neither `lo - 1` nor `hi + 1`.
fn largest_block(x: u128, lo: u128, hi: u128, family: Family) -> u32 {
    let bits = family.bits();
    let mut prefix = 0;
    if let Some(below) = lo.checked_sub(1) {
        prefix = prefix.max(common_prefix(x, below, bits) + 1);
    }
    if hi < family.max() {
        prefix = prefix.max(common_prefix(x, hi + 1, bits) + 1);
    }
    prefix.min(bits)
}

/// The host mask of a prefix within the family.
fn host_mask(prefix: u32, family: Family) -> u128 {
    let host_bits = family.bits().saturating_sub(prefix);
    if host_bits >= 128 {
        u128::MAX
    } else {
        ((1u128 << host_bits) - 1) & family.max()
    }
}

// ------------------------------------------------------------------------------------------
// The table

#[derive(Debug, Clone, Copy)]
struct Section {
    family: Family,
    /// Byte offset of the first record.
    offset: usize,
    count: usize,
}

/// A decoded GeoIP image (one kind, IPv4 and IPv6 sections). Owns the bytes; lookups read
/// them in place.
#[derive(Clone)]
pub struct IpTable {
    bytes: Vec<u8>,
    kind: Kind,
    v4: Section,
    v6: Section,
}

impl fmt::Debug for IpTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpTable")
            .field("kind", &self.kind)
            .field("v4_records", &self.v4.count)
            .field("v6_records", &self.v6.count)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

fn be_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let slice = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(slice.try_into().ok()?))
}

impl IpTable {
    /// Checks an image once (header, length, order, values, canonical form) and keeps it.
    pub fn decode(bytes: Vec<u8>) -> Result<Self, IpTableError> {
        let header = bytes.get(..HEADER_LEN).ok_or(IpTableError::Truncated)?;
        if header.get(..8) != Some(MAGIC.as_slice()) {
            return Err(IpTableError::BadMagic);
        }
        let kind_code = header.get(8).copied().unwrap_or(0);
        let kind = Kind::from_code(kind_code).ok_or(IpTableError::UnknownKind(kind_code))?;
        if header.get(9..12) != Some([0u8; 3].as_slice()) {
            return Err(IpTableError::Reserved);
        }
        let n4 = u64::from(be_u32(header, 12).ok_or(IpTableError::Truncated)?);
        let n6 = u64::from(be_u32(header, 16).ok_or(IpTableError::Truncated)?);
        let width = kind.value_len() as u64;
        let expected = HEADER_LEN as u64 + n4 * (4 + width) + n6 * (16 + width);
        let actual = bytes.len() as u64;
        if expected != actual {
            return Err(IpTableError::Length { expected, actual });
        }
        // Both counts fit in usize now: the bytes exist.
        let n4 = usize::try_from(n4).map_err(|_| IpTableError::Length { expected, actual })?;
        let n6 = usize::try_from(n6).map_err(|_| IpTableError::Length { expected, actual })?;
        let v4 = Section { family: Family::V4, offset: HEADER_LEN, count: n4 };
        let v6 = Section { family: Family::V6, offset: HEADER_LEN + n4 * (4 + kind.value_len()), count: n6 };
        let table = Self { bytes, kind, v4, v6 };
        table.check(&table.v4)?;
        table.check(&table.v6)?;
        Ok(table)
    }

    fn check(&self, section: &Section) -> Result<(), IpTableError> {
        let family = section.family.number();
        let mut previous: Option<(u128, Option<IpValue>)> = None;
        for index in 0..section.count {
            let start = self.start(section, index).ok_or(IpTableError::Truncated)?;
            let value = match self.raw_value(section, index) {
                Some(Ok(value)) => value,
                _ => return Err(IpTableError::BadValue { family, index }),
            };
            match previous {
                None if value.is_none() => return Err(IpTableError::NotCanonical { family, index }),
                Some((before, _)) if start <= before => return Err(IpTableError::Unsorted { family, index }),
                Some((_, before)) if before == value => return Err(IpTableError::NotCanonical { family, index }),
                _ => {}
            }
            previous = Some((start, value));
        }
        Ok(())
    }

    /// The kind of value this table holds.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Records (ranges and gaps) in the IPv4 and IPv6 sections.
    pub fn record_counts(&self) -> (usize, usize) {
        (self.v4.count, self.v6.count)
    }

    /// The image.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The image, back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn record_len(&self, section: &Section) -> usize {
        section.family.addr_len() + self.kind.value_len()
    }

    fn record(&self, section: &Section, index: usize) -> Option<&[u8]> {
        if index >= section.count {
            return None;
        }
        let len = self.record_len(section);
        let offset = section.offset.checked_add(index.checked_mul(len)?)?;
        self.bytes.get(offset..offset.checked_add(len)?)
    }

    fn start(&self, section: &Section, index: usize) -> Option<u128> {
        let record = self.record(section, index)?;
        match section.family {
            Family::V4 => Some(u128::from(u32::from_be_bytes(record.get(..4)?.try_into().ok()?))),
            Family::V6 => Some(u128::from_be_bytes(record.get(..16)?.try_into().ok()?)),
        }
    }

    /// `Some(Ok(None))` for a gap, `Some(Err(()))` for a malformed value.
    fn raw_value(&self, section: &Section, index: usize) -> Option<Result<Option<IpValue>, ()>> {
        let record = self.record(section, index)?;
        let raw = record.get(section.family.addr_len()..)?;
        Some(match self.kind {
            Kind::Country => {
                let code: [u8; 2] = raw.try_into().ok()?;
                if code == [0, 0] {
                    Ok(None)
                } else if code.iter().all(u8::is_ascii_uppercase) {
                    Ok(Some(IpValue::Country(code)))
                } else {
                    Err(())
                }
            }
            Kind::Asn => {
                let asn = u32::from_be_bytes(raw.try_into().ok()?);
                Ok((asn != 0).then_some(IpValue::Asn(asn)))
            }
        })
    }

    fn value(&self, section: &Section, index: usize) -> Option<IpValue> {
        self.raw_value(section, index)?.ok()?
    }

    /// The index of the last record starting at or before `key`.
    fn find(&self, section: &Section, key: u128) -> Option<usize> {
        let (mut low, mut high) = (0, section.count);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.start(section, middle)? <= key {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low.checked_sub(1)
    }

    /// The value of an address and the largest block around it with that value.
    pub fn lookup(&self, address: IpAddr) -> Option<IpMatch> {
        self.lookup_network(IpNet::from(address))
    }

    /// The value of a client subnet. When the whole subnet lies in one range, `network` is
    /// the largest block containing it inside that range; when it straddles ranges, the
    /// value is its first address's and `network` is the subnet itself. `None` when its
    /// first address has no data.
    pub fn lookup_network(&self, network: IpNet) -> Option<IpMatch> {
        let located = self.locate(network);
        Some(IpMatch { value: located.value?, network: located.network })
    }

    /// Like [`lookup_network`](Self::lookup_network), but also for addresses without data:
    /// then `value` is `None` and `network` is the largest block of the gap around the
    /// subnet (or the subnet, when it straddles the gap's end). Host bits of `network` are
    /// ignored.
    pub fn locate(&self, network: IpNet) -> Located {
        let network = network.trunc();
        let (family, first, prefix, mapped) = match network {
            IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
                Some(v4) => (Family::V4, u128::from(u32::from(v4)), u32::from(v6.prefix_len()) - 96, true),
                None => (Family::V6, u128::from(v6.network()), u32::from(v6.prefix_len()), false),
            },
            _ => {
                let (family, first) = split(network.network());
                (family, first, u32::from(network.prefix_len()), false)
            }
        };
        let last = first | host_mask(prefix, family);
        let fallback = Located { value: None, network };
        let section = match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        };
        let (low, high, value) = match self.find(section, first) {
            None => {
                let high = match self.start(section, 0) {
                    Some(next) => next.saturating_sub(1),
                    None => family.max(),
                };
                (0, high, None)
            }
            Some(index) => {
                let Some(low) = self.start(section, index) else { return fallback };
                let high = match self.start(section, index + 1) {
                    Some(next) => next.saturating_sub(1),
                    None => family.max(),
                };
                (low, high, self.value(section, index))
            }
        };
        if last > high || first < low {
            return Located { value, network };
        }
        let block = largest_block(first, low, high, family).min(prefix);
        let base = first & !host_mask(block, family);
        let result = match (family, mapped) {
            (Family::V4, false) => Ipv4Net::new(Ipv4Addr::from(u32::try_from(base).unwrap_or(0)), block as u8).map(IpNet::V4),
            (Family::V4, true) => Ipv6Net::new(Ipv4Addr::from(u32::try_from(base).unwrap_or(0)).to_ipv6_mapped(), block as u8 + 96).map(IpNet::V6),
            (Family::V6, _) => Ipv6Net::new(Ipv6Addr::from(base), block as u8).map(IpNet::V6),
        };
        match result {
            Ok(network) => Located { value, network },
            Err(_) => fallback,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Building

/// What [`build_with_stats`] did, per family: `(IPv4, IPv6)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Ranges given.
    pub ranges: (usize, usize),
    /// Ranges that overlap a range seen before them in address order (resolved: the
    /// narrowest range wins).
    pub overlapping: (usize, usize),
    /// Records written: merged ranges plus one per gap.
    pub records: (usize, usize),
    /// Size of the image.
    pub bytes: usize,
}

/// Sorts, resolves and merges ranges (inclusive `start..=end`, one kind of value) into an
/// image.
///
/// Overlaps are resolved like a routing table's longest-prefix match: every address takes
/// the value of the **narrowest** range that contains it; between ranges of the same width
/// the one given later wins. (The ip-location-db country lists do overlap: a /23 of one
/// country with a single address of another inside it, written as three rows; the narrow
/// row is the exception to the wide one.) Neighbouring addresses with the same value are
/// merged into one record. Ranges inside `::ffff:0:0/96` are kept in the IPv6 section,
/// where lookups never reach (mapped addresses use the IPv4 section).
pub fn build(ranges: impl IntoIterator<Item = (IpAddr, IpAddr, IpValue)>) -> Result<Vec<u8>, BuildError> {
    build_with_stats(ranges).map(|(image, _)| image)
}

/// [`build`], also telling what it did.
pub fn build_with_stats(ranges: impl IntoIterator<Item = (IpAddr, IpAddr, IpValue)>) -> Result<(Vec<u8>, BuildStats), BuildError> {
    let mut kind = None;
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for (start, end, value) in ranges {
        if *kind.get_or_insert(value.kind()) != value.kind() {
            return Err(BuildError::MixedKinds);
        }
        if !value.is_valid() {
            return Err(BuildError::BadValue(value));
        }
        let ((family, low), (end_family, high)) = (split(start), split(end));
        if family != end_family || high < low {
            return Err(BuildError::BadRange { start, end });
        }
        let list = match family {
            Family::V4 => &mut v4,
            Family::V6 => &mut v6,
        };
        list.push(Input { low, high, value, order: list.len() });
    }
    let kind = kind.ok_or(BuildError::Empty)?;
    let width = kind.value_len();
    let mut stats = BuildStats { ranges: (v4.len(), v6.len()), ..BuildStats::default() };
    let (records4, overlapping4) = boundaries(Family::V4, v4);
    let (records6, overlapping6) = boundaries(Family::V6, v6);
    stats.overlapping = (overlapping4, overlapping6);
    stats.records = (records4.len(), records6.len());
    let n4 = u32::try_from(records4.len()).map_err(|_| BuildError::TooLarge)?;
    let n6 = u32::try_from(records6.len()).map_err(|_| BuildError::TooLarge)?;
    let mut out = Vec::with_capacity(HEADER_LEN + records4.len() * (4 + width) + records6.len() * (16 + width));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[kind.code(), 0, 0, 0]);
    out.extend_from_slice(&n4.to_be_bytes());
    out.extend_from_slice(&n6.to_be_bytes());
    for (family, records) in [(Family::V4, records4), (Family::V6, records6)] {
        for (start, value) in records {
            match family {
                Family::V4 => out.extend_from_slice(&u32::try_from(start).map_err(|_| BuildError::TooLarge)?.to_be_bytes()),
                Family::V6 => out.extend_from_slice(&start.to_be_bytes()),
            }
            match value {
                Some(value) => value.encode(&mut out),
                None => out.extend(std::iter::repeat_n(0u8, width)),
            }
        }
    }
    stats.bytes = out.len();
    Ok((out, stats))
}

/// One range of the input; `order` breaks ties between ranges of the same width.
#[derive(Debug, Clone, Copy)]
struct Input {
    low: u128,
    high: u128,
    value: IpValue,
    order: usize,
}

/// Sorted boundaries of one family, `(start, value)` with `None` for a gap, merged; and how
/// many ranges overlapped an earlier one.
///
/// A sweep over every range start and every range end + 1: between two such points the
/// winner cannot change, and it is the narrowest active range (latest given on a tie), the
/// top of a heap whose expired entries are dropped when they surface.
fn boundaries(family: Family, mut ranges: Vec<Input>) -> (Vec<(u128, Option<IpValue>)>, usize) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    ranges.sort_unstable_by_key(|range| (range.low, range.order));
    let mut points: Vec<u128> = Vec::with_capacity(ranges.len() * 2);
    for range in &ranges {
        points.push(range.low);
        if range.high < family.max() {
            points.push(range.high + 1);
        }
    }
    points.sort_unstable();
    points.dedup();

    // Max-heap on (narrowest, latest): (Reverse(width), order, high, value).
    let mut active: BinaryHeap<(Reverse<u128>, usize, u128, IpValue)> = BinaryHeap::new();
    let mut records: Vec<(u128, Option<IpValue>)> = Vec::with_capacity(ranges.len());
    let mut overlapping = 0;
    let mut next = ranges.iter().peekable();
    let mut reach: Option<u128> = None; // the highest end seen so far
    for point in points {
        while let Some(range) = next.next_if(|range| range.low <= point) {
            if reach.is_some_and(|reach| range.low <= reach) {
                overlapping += 1;
            }
            reach = Some(reach.map_or(range.high, |reach| reach.max(range.high)));
            active.push((Reverse(range.high - range.low), range.order, range.high, range.value));
        }
        while active.peek().is_some_and(|&(_, _, high, _)| high < point) {
            active.pop();
        }
        let value = active.peek().map(|&(_, _, _, value)| value);
        match records.last() {
            None if value.is_none() => {}
            Some(&(_, last)) if last == value => {}
            _ => records.push((point, value)),
        }
    }
    (records, overlapping)
}

/// Special-purpose networks that are not globally reachable (IANA special-purpose address
/// registries, RFC 6890, plus multicast and the reserved class E): private, shared (CGN),
/// loopback, link-local, documentation, benchmarking, unique-local. A client there has no
/// country or network to speak of, yet published lists do assign some of them (the pinned
/// country list puts 172.16.0.0/12 and 192.168.0.0/16 in AU).
const SPECIAL_PURPOSE: [(Family, u128, u32); 22] = [
    (Family::V4, 0x0000_0000, 8),                                // 0.0.0.0/8 "this network"
    (Family::V4, 0x0A00_0000, 8),                                // 10.0.0.0/8 private
    (Family::V4, 0x6440_0000, 10),                               // 100.64.0.0/10 shared address space (CGN)
    (Family::V4, 0x7F00_0000, 8),                                // 127.0.0.0/8 loopback
    (Family::V4, 0xA9FE_0000, 16),                               // 169.254.0.0/16 link-local
    (Family::V4, 0xAC10_0000, 12),                               // 172.16.0.0/12 private
    (Family::V4, 0xC000_0000, 24),                               // 192.0.0.0/24 IETF protocol assignments
    (Family::V4, 0xC000_0200, 24),                               // 192.0.2.0/24 TEST-NET-1
    (Family::V4, 0xC0A8_0000, 16),                               // 192.168.0.0/16 private
    (Family::V4, 0xC612_0000, 15),                               // 198.18.0.0/15 benchmarking
    (Family::V4, 0xC633_6400, 24),                               // 198.51.100.0/24 TEST-NET-2
    (Family::V4, 0xCB00_7100, 24),                               // 203.0.113.0/24 TEST-NET-3
    (Family::V4, 0xE000_0000, 4),                                // 224.0.0.0/4 multicast
    (Family::V4, 0xF000_0000, 4),                                // 240.0.0.0/4 reserved, broadcast
    (Family::V6, 0, 127),                                        // ::/128 unspecified, ::1/128 loopback
    (Family::V6, 0x0000_0000_0000_0000_0000_ffff_0000_0000, 96), // ::ffff:0:0/96 IPv4-mapped
    (Family::V6, 0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // 100::/64 discard-only
    (Family::V6, 0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // 2001:db8::/32 documentation
    (Family::V6, 0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // 3fff::/20 documentation
    (Family::V6, 0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // fc00::/7 unique local
    (Family::V6, 0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // fe80::/10 link-local
    (Family::V6, 0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // ff00::/8 multicast
];

/// The special-purpose networks [`without_special_purpose`] cuts out, in address order per
/// family.
pub fn special_purpose_networks() -> impl Iterator<Item = IpNet> {
    SPECIAL_PURPOSE.iter().filter_map(|&(family, base, prefix)| {
        let prefix = u8::try_from(prefix).ok()?;
        match family {
            Family::V4 => Ipv4Net::new(Ipv4Addr::from(u32::try_from(base).ok()?), prefix).ok().map(IpNet::V4),
            Family::V6 => Ipv6Net::new(Ipv6Addr::from(base), prefix).ok().map(IpNet::V6),
        }
    })
}

/// Whether an address lies in a network that is not globally reachable (see
/// [`special_purpose_networks`]). IPv4-mapped addresses are judged as IPv4.
pub fn is_special_purpose(address: IpAddr) -> bool {
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    };
    let (family, x) = split(address);
    SPECIAL_PURPOSE.iter().any(|&(f, base, prefix)| f == family && x & !host_mask(prefix, family) == base)
}

/// Removes the special-purpose networks from ranges (cutting ranges that cross them), so
/// that no private, documentation or multicast address is ever located. Returns the ranges
/// left and how many input ranges were cut or dropped.
pub fn without_special_purpose(ranges: impl IntoIterator<Item = (IpAddr, IpAddr, IpValue)>) -> (Vec<(IpAddr, IpAddr, IpValue)>, usize) {
    let mut out = Vec::new();
    let mut touched = 0;
    for (start, end, value) in ranges {
        let ((family, low), (end_family, high)) = (split(start), split(end));
        if family != end_family || high < low {
            out.push((start, end, value)); // build reports it
            continue;
        }
        let mut cut = false;
        let mut next = Some(low);
        for &(f, base, prefix) in &SPECIAL_PURPOSE {
            let Some(from) = next else { break };
            if f != family {
                continue;
            }
            let hole_end = base | host_mask(prefix, family);
            if hole_end < from || base > high {
                continue;
            }
            cut = true;
            if base > from {
                out.push((join(family, from), join(family, base - 1), value));
            }
            next = hole_end.checked_add(1).filter(|&after| after <= family.max());
        }
        if let Some(from) = next.filter(|&from| from <= high) {
            out.push((join(family, from), join(family, high), value));
        }
        touched += usize::from(cut);
    }
    (out, touched)
}

fn join(family: Family, value: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX))),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Reads an ip-location-db CSV list: `start_ip,end_ip,country_code` for [`Kind::Country`],
/// `start_ip,end_ip,asn[,org]` for [`Kind::Asn`] (the organisation, possibly quoted with
/// commas inside, is ignored). Blank lines and lines starting with `#` are skipped; so are
/// AS 0 rows ("not routed", RFC 7607: no data). Errors name the 1-based line.
pub fn parse_csv(text: &str, kind: Kind) -> Result<Vec<(IpAddr, IpAddr, IpValue)>, BuildError> {
    let mut ranges = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let error = |message: String| BuildError::Csv { line: number, message };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(4, ',').map(|field| field.trim().trim_matches('"'));
        let (Some(start), Some(end), Some(value)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(error(format!("expected start,end,{} but found {line:?}", kind.name())));
        };
        let rest = fields.next();
        let start: IpAddr = start.parse().map_err(|_| error(format!("bad start address {start:?}")))?;
        let end: IpAddr = end.parse().map_err(|_| error(format!("bad end address {end:?}")))?;
        if start.is_ipv4() != end.is_ipv4() {
            return Err(error(format!("{start} and {end} are of different families")));
        }
        if end < start {
            return Err(error(format!("range ends ({end}) before it starts ({start})")));
        }
        let value = match kind {
            Kind::Country => {
                if rest.is_some() {
                    return Err(error("more than three fields in a country list".into()));
                }
                IpValue::country(value).ok_or_else(|| error(format!("bad country code {value:?}")))?
            }
            Kind::Asn => {
                let asn = value.strip_prefix("AS").unwrap_or(value).parse::<u32>().map_err(|_| error(format!("bad AS number {value:?}")))?;
                if asn == 0 {
                    continue;
                }
                IpValue::Asn(asn)
            }
        };
        ranges.push((start, end, value));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SplitMix;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn cc(code: &str) -> IpValue {
        IpValue::country(code).unwrap()
    }

    fn table(ranges: &[(&str, &str, IpValue)]) -> IpTable {
        let image = build(ranges.iter().map(|&(a, b, v)| (ip(a), ip(b), v))).unwrap();
        IpTable::decode(image).unwrap()
    }

    fn country_table() -> IpTable {
        table(&[
            ("1.0.0.0", "1.0.0.255", cc("AU")),
            ("1.0.1.0", "1.0.3.255", cc("CN")),
            ("1.0.4.0", "1.0.7.255", cc("AU")),
            ("5.0.0.0", "5.255.255.255", cc("DE")),
            ("200.0.0.0", "200.0.0.0", cc("BR")),
            ("2001:200::", "2001:218:2000:51:ffff:ffff:ffff:ffff", cc("JP")),
            ("2c0f:e9a0:2:0:0:0:2a::", "2c0f:e9a0:2::2a:ffff", cc("FR")),
        ])
    }

    fn matched(table: &IpTable, address: &str) -> Option<(String, String)> {
        table.lookup(ip(address)).map(|m| (m.value.to_string(), m.network.to_string()))
    }

    fn pair(value: &str, network: &str) -> Option<(String, String)> {
        Some((value.to_string(), network.to_string()))
    }

    #[test]
    fn boundaries_gaps_and_ends() {
        let t = country_table();
        assert_eq!(matched(&t, "0.0.0.0"), None);
        assert_eq!(matched(&t, "0.255.255.255"), None, "before the first range");
        assert_eq!(matched(&t, "1.0.0.0"), pair("AU", "1.0.0.0/24"));
        assert_eq!(matched(&t, "1.0.0.255"), pair("AU", "1.0.0.0/24"));
        assert_eq!(matched(&t, "1.0.1.0"), pair("CN", "1.0.1.0/24"));
        assert_eq!(matched(&t, "1.0.3.255"), pair("CN", "1.0.2.0/23"));
        assert_eq!(matched(&t, "1.0.4.0"), pair("AU", "1.0.4.0/22"));
        assert_eq!(matched(&t, "1.0.7.255"), pair("AU", "1.0.4.0/22"));
        assert_eq!(matched(&t, "1.0.8.0"), None, "gap after a range");
        assert_eq!(matched(&t, "4.255.255.255"), None);
        assert_eq!(matched(&t, "5.0.0.0"), pair("DE", "5.0.0.0/8"));
        assert_eq!(matched(&t, "5.255.255.255"), pair("DE", "5.0.0.0/8"));
        assert_eq!(matched(&t, "6.0.0.0"), None);
        assert_eq!(matched(&t, "199.255.255.255"), None);
        assert_eq!(matched(&t, "200.0.0.0"), pair("BR", "200.0.0.0/32"));
        assert_eq!(matched(&t, "200.0.0.1"), None, "after the last range");
        assert_eq!(matched(&t, "255.255.255.255"), None);
    }

    #[test]
    fn largest_block_examples() {
        let t = table(&[("1.0.0.0", "1.0.3.255", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.2.7"), pair("CN", "1.0.0.0/22"));
        let t = table(&[("1.0.1.0", "1.0.2.255", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.2.7"), pair("CN", "1.0.2.0/24"));
        assert_eq!(matched(&t, "1.0.1.200"), pair("CN", "1.0.1.0/24"));
        // An odd range: 1.0.0.3 - 1.0.0.12 → blocks 3/32, 4/30, 8/30, 12/32.
        let t = table(&[("1.0.0.3", "1.0.0.12", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.0.3"), pair("CN", "1.0.0.3/32"));
        assert_eq!(matched(&t, "1.0.0.5"), pair("CN", "1.0.0.4/30"));
        assert_eq!(matched(&t, "1.0.0.11"), pair("CN", "1.0.0.8/30"));
        assert_eq!(matched(&t, "1.0.0.12"), pair("CN", "1.0.0.12/32"));
        // The whole space.
        let t = table(&[("0.0.0.0", "255.255.255.255", cc("ZZ")), ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", cc("ZZ"))]);
        assert_eq!(matched(&t, "9.9.9.9"), pair("ZZ", "0.0.0.0/0"));
        assert_eq!(matched(&t, "2001:db8::1"), pair("ZZ", "::/0"));
    }

    #[test]
    fn networks() {
        let t = country_table();
        let m = t.lookup_network(net("1.0.2.0/24")).unwrap();
        assert_eq!((m.value, m.network), (cc("CN"), net("1.0.2.0/23")));
        // Never wider than asked: the /22 containing 1.0.4.0/24 is inside AU, the /24 is.
        assert_eq!(t.lookup_network(net("1.0.4.0/23")).unwrap().network, net("1.0.4.0/22"));
        assert_eq!(t.lookup_network(net("5.1.2.3/32")).unwrap().network, net("5.0.0.0/8"));
        // Straddling AU and CN: the first address's value, the subnet itself.
        let m = t.lookup_network(net("1.0.0.0/23")).unwrap();
        assert_eq!((m.value, m.network), (cc("AU"), net("1.0.0.0/23")));
        // Straddling a range and a gap.
        let m = t.lookup_network(net("1.0.0.0/16")).unwrap();
        assert_eq!((m.value, m.network), (cc("AU"), net("1.0.0.0/16")));
        // Starting in a gap.
        assert_eq!(t.lookup_network(net("0.0.0.0/7")), None);
        assert_eq!(t.lookup_network(net("10.0.0.0/8")), None);
        // Host bits beyond the prefix are ignored.
        assert_eq!(t.lookup_network(net("1.0.2.77/24")).unwrap().network, net("1.0.2.0/23"));
        // /0 never fits a range here.
        let m = t.lookup_network(net("0.0.0.0/0"));
        assert_eq!(m, None);
        let m = t.lookup_network(net("2001:200::/16"));
        assert_eq!(m, None, "2001::/16 starts in a gap");
        let m = t.lookup_network(net("2001:200::/32")).unwrap();
        assert_eq!((m.value, m.network), (cc("JP"), net("2001:200::/28")));
    }

    #[test]
    fn locate_scopes_gaps() {
        let t = country_table();
        let located = t.locate(net("10.1.2.0/24"));
        assert_eq!(located, Located { value: None, network: net("8.0.0.0/5") });
        let located = t.locate(net("0.0.0.0/0"));
        assert_eq!(located, Located { value: None, network: net("0.0.0.0/0") });
        let located = t.locate(net("255.255.255.0/24"));
        assert_eq!(located, Located { value: None, network: net("224.0.0.0/3") });
        let empty = table(&[("1.0.0.0", "1.0.0.255", cc("AU"))]);
        assert_eq!(empty.locate(net("2001:db8::/32")), Located { value: None, network: net("::/0") });
    }

    #[test]
    fn ipv6() {
        let t = country_table();
        assert_eq!(matched(&t, "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff"), None);
        assert_eq!(matched(&t, "2001:200::"), pair("JP", "2001:200::/28"));
        assert_eq!(matched(&t, "2001:218:2000:51:ffff:ffff:ffff:ffff"), pair("JP", "2001:218:2000:50::/63"));
        assert_eq!(matched(&t, "2001:218:2000:52::"), None);
        assert_eq!(matched(&t, "2c0f:e9a0:2::2a:0"), pair("FR", "2c0f:e9a0:2::2a:0/112"));
        assert_eq!(matched(&t, "2c0f:e9a0:2::2a:1234"), pair("FR", "2c0f:e9a0:2::2a:0/112"));
        assert_eq!(matched(&t, "ffff::"), None);
        // Families do not mix: no IPv6 range covers an IPv4 address and back.
        assert_eq!(matched(&t, "::1.0.0.1"), None);
    }

    #[test]
    fn ipv4_mapped_looks_up_as_ipv4() {
        let t = country_table();
        assert_eq!(matched(&t, "::ffff:1.0.2.7"), pair("CN", "::ffff:1.0.2.0/119"));
        let m = t.lookup_network(net("::ffff:5.1.0.0/112")).unwrap();
        assert_eq!((m.value, m.network), (cc("DE"), net("::ffff:5.0.0.0/104")));
        assert_eq!(matched(&t, "::ffff:10.0.0.1"), None);
        // A prefix shorter than /96 is an IPv6 subnet.
        assert_eq!(t.lookup_network(net("::ffff:0:0/95")), None);
    }

    #[test]
    fn merging_and_canonical_form() {
        let merged = build([
            (v4("1.0.0.0"), v4("1.0.0.255"), cc("AU")),
            (v4("1.0.1.0"), v4("1.0.1.255"), cc("AU")),
            (v4("1.0.2.0"), v4("1.0.3.255"), cc("AU")),
            (v4("1.0.5.0"), v4("1.0.5.255"), cc("AU")),
        ])
        .unwrap();
        let t = IpTable::decode(merged.clone()).unwrap();
        // 1.0.0.0 AU, 1.0.4.0 gap, 1.0.5.0 AU, 1.0.6.0 gap.
        assert_eq!(t.record_counts(), (4, 0));
        assert_eq!(merged.len(), HEADER_LEN + 4 * 6);
        assert_eq!(matched(&t, "1.0.3.9"), pair("AU", "1.0.0.0/22"));
        assert_eq!(matched(&t, "1.0.4.9"), None);
        // Order of input does not matter; the image is canonical.
        let shuffled = build([
            (v4("1.0.5.0"), v4("1.0.5.255"), cc("au")),
            (v4("1.0.2.0"), v4("1.0.3.255"), cc("AU")),
            (v4("1.0.0.0"), v4("1.0.0.255"), cc("AU")),
            (v4("1.0.1.0"), v4("1.0.1.255"), cc("AU")),
        ])
        .unwrap();
        assert_eq!(shuffled, merged);
        // A range reaching the end of the space leaves no trailing gap record.
        let t = table(&[("255.0.0.0", "255.255.255.255", cc("ZZ"))]);
        assert_eq!(t.record_counts(), (1, 0));
        assert_eq!(matched(&t, "255.255.255.255"), pair("ZZ", "255.0.0.0/8"));
    }

    #[test]
    fn asn_tables() {
        let t = table(&[
            ("1.0.0.0", "1.0.0.255", IpValue::Asn(13335)),
            ("1.0.4.0", "1.0.7.255", IpValue::Asn(38803)),
            ("2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff", IpValue::Asn(112)),
        ]);
        assert_eq!(t.kind(), Kind::Asn);
        assert_eq!(matched(&t, "1.0.0.1"), pair("AS13335", "1.0.0.0/24"));
        assert_eq!(matched(&t, "1.0.6.1"), pair("AS38803", "1.0.4.0/22"));
        assert_eq!(matched(&t, "1.0.1.1"), None);
        assert_eq!(matched(&t, "2001:4:112:1::53"), pair("AS112", "2001:4:112::/48"));
        assert_eq!(t.lookup(ip("1.0.0.1")).unwrap().value.asn(), Some(13335));
    }

    #[test]
    fn build_errors() {
        assert_eq!(build([]), Err(BuildError::Empty));
        assert_eq!(build([(v4("1.0.0.0"), v4("1.0.0.255"), cc("AU")), (v4("2.0.0.0"), v4("2.0.0.255"), IpValue::Asn(1))]), Err(BuildError::MixedKinds));
        assert!(matches!(build([(v4("1.0.0.9"), v4("1.0.0.1"), cc("AU"))]), Err(BuildError::BadRange { .. })));
        assert!(matches!(build([(v4("1.0.0.0"), ip("::1"), cc("AU"))]), Err(BuildError::BadRange { .. })));
        assert!(matches!(build([(v4("1.0.0.0"), v4("1.0.0.1"), IpValue::Asn(0))]), Err(BuildError::BadValue(_))));
        assert!(matches!(build([(v4("1.0.0.0"), v4("1.0.0.1"), IpValue::Country(*b"a1"))]), Err(BuildError::BadValue(_))));
    }

    #[test]
    fn csv() {
        let text = "1.0.0.0,1.0.0.255,AU\r\n\n# comment\n2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,jp\n";
        let ranges = parse_csv(text, Kind::Country).unwrap();
        assert_eq!(ranges, vec![(v4("1.0.0.0"), v4("1.0.0.255"), cc("AU")), (ip("2001:200::"), ip("2001:200:ffff:ffff:ffff:ffff:ffff:ffff"), cc("JP"))]);
        let text = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n2.0.0.0,2.0.0.255,0,unrouted\n";
        let ranges = parse_csv(text, Kind::Asn).unwrap();
        assert_eq!(ranges, vec![(v4("1.0.0.0"), v4("1.0.0.255"), IpValue::Asn(13335)), (v4("1.0.4.0"), v4("1.0.7.255"), IpValue::Asn(38803))]);
        let line = |text: &str, kind| match parse_csv(text, kind) {
            Err(BuildError::Csv { line, message }) => (line, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(line("1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255\n", Kind::Country).0, 2);
        assert_eq!(line("1.0.0.0,1.0.0.255,AU\n\n1.0.1.0,1.0.1.256,AU\n", Kind::Country).0, 3);
        assert_eq!(line("1.0.0.0,1.0.0.255,AUS\n", Kind::Country).0, 1);
        assert_eq!(line("1.0.0.0,1.0.0.255,A1\n", Kind::Country).0, 1);
        assert_eq!(line("1.0.0.0,1.0.0.255,AU,x\n", Kind::Country).0, 1);
        assert_eq!(line("1.0.0.0,1.0.0.255,AU\n", Kind::Asn).0, 1);
        assert_eq!(line("1.0.0.0,::1,AU\n", Kind::Country).0, 1);
        assert_eq!(line("1.0.0.9,1.0.0.1,AU\n", Kind::Country).0, 1);
        assert!(line("x,1.0.0.1,AU\n", Kind::Country).1.contains("\"x\""));
        assert_eq!(parse_csv("1.0.0.0,1.0.0.255,AS64512,Org\n", Kind::Asn).unwrap()[0].2, IpValue::Asn(64512));
    }

    #[test]
    fn corrupt_images_are_errors() {
        let image = country_table().into_bytes();
        for len in 0..image.len() {
            assert!(IpTable::decode(image[..len].to_vec()).is_err(), "truncated to {len}");
        }
        let mut longer = image.clone();
        longer.push(0);
        assert!(matches!(IpTable::decode(longer), Err(IpTableError::Length { .. })));
        let mut bad = image.clone();
        bad[7] = b'2';
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::BadMagic);
        let mut bad = image.clone();
        bad[8] = 3;
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::UnknownKind(3));
        let mut bad = image.clone();
        bad[10] = 1;
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::Reserved);
        // Huge counts do not overflow or allocate.
        let mut bad = image.clone();
        bad[12..20].copy_from_slice(&[0xff; 8]);
        assert!(matches!(IpTable::decode(bad), Err(IpTableError::Length { .. })));
        // Swap the first two IPv4 records: unsorted.
        let mut bad = image.clone();
        let (a, b) = (HEADER_LEN..HEADER_LEN + 6, HEADER_LEN + 6..HEADER_LEN + 12);
        let first = bad[a.clone()].to_vec();
        bad.copy_within(b.clone(), a.start);
        bad[b].copy_from_slice(&first);
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::Unsorted { family: 4, index: 1 });
        // A lower-case value.
        let mut bad = image.clone();
        bad[HEADER_LEN + 4] = b'a';
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::BadValue { family: 4, index: 0 });
        // A repeated value (second record, CN → AU).
        let mut bad = image.clone();
        bad[HEADER_LEN + 10..HEADER_LEN + 12].copy_from_slice(b"AU");
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::NotCanonical { family: 4, index: 1 });
        // A leading gap.
        let mut bad = image.clone();
        bad[HEADER_LEN + 4..HEADER_LEN + 6].copy_from_slice(&[0, 0]);
        assert_eq!(IpTable::decode(bad).unwrap_err(), IpTableError::NotCanonical { family: 4, index: 0 });
        assert!(IpTable::decode(Vec::new()).is_err());
        // An empty table is valid (no data anywhere).
        let mut empty = MAGIC.to_vec();
        empty.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let empty = IpTable::decode(empty).unwrap();
        assert_eq!(empty.lookup(ip("1.1.1.1")), None);
        assert_eq!(empty.locate(net("1.1.1.0/24")).network, net("0.0.0.0/0"));
    }

    fn random_address(random: &mut SplitMix) -> IpAddr {
        match random.next_u64() % 3 {
            0 => IpAddr::V4(Ipv4Addr::from(random.next_u64() as u32)),
            1 => IpAddr::V6(Ipv4Addr::from(random.next_u64() as u32).to_ipv6_mapped()),
            _ => IpAddr::V6(Ipv6Addr::from((u128::from(random.next_u64()) << 64) | u128::from(random.next_u64()))),
        }
    }

    fn random_network(random: &mut SplitMix) -> IpNet {
        let address = random_address(random);
        let max = if address.is_ipv4() { 33 } else { 129 };
        IpNet::new(address, random.index(max) as u8).unwrap()
    }

    fn probe(table: &IpTable, random: &mut SplitMix) {
        for _ in 0..16 {
            let address = random_address(random);
            if let Some(m) = table.lookup(address) {
                assert!(m.network.contains(&address));
            }
            let network = random_network(random);
            let located = table.locate(network);
            assert!(located.network.prefix_len() <= network.prefix_len());
            assert!(located.network.contains(&network.trunc()), "{network} → {}", located.network);
        }
    }

    #[test]
    fn mutated_images_never_panic() {
        let mut random = SplitMix::new(0x9E37_79B9_7F4A_7C15);
        let images = [
            country_table().into_bytes(),
            table(&[
                ("1.0.0.0", "1.0.0.255", IpValue::Asn(13335)),
                ("1.0.4.0", "1.0.7.255", IpValue::Asn(38803)),
                ("9.0.0.0", "9.0.0.0", IpValue::Asn(7)),
                ("2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff", IpValue::Asn(112)),
                ("2001:4:113::", "2001:4:113:ffff:ffff:ffff:ffff:ffff", IpValue::Asn(113)),
            ])
            .into_bytes(),
        ];
        let mut accepted = 0;
        for round in 0..20_000 {
            let mut image = images[round % images.len()].clone();
            for _ in 0..=random.index(4) {
                let at = random.index(image.len());
                image[at] ^= (random.next_u64() as u8) | 1;
            }
            if random.index(8) == 0 {
                image.truncate(random.index(image.len() + 1));
            }
            if let Ok(table) = IpTable::decode(image) {
                accepted += 1;
                probe(&table, &mut random);
            }
        }
        // Flips inside record values and starts often still form a valid table.
        assert!(accepted > 100, "only {accepted} mutated images decoded");
    }

    /// Random ranges, some overlapping, against a linear scan (narrowest wins, later on a
    /// tie): values agree, the block contains the address, has one value throughout, and is
    /// the largest such block.
    #[test]
    fn matches_a_linear_scan() {
        let mut random = SplitMix::new(42);
        for _ in 0..300 {
            let mut ranges: Vec<(u32, u32, IpValue)> = Vec::new();
            let mut at: u32 = random.index(1 << 12) as u32;
            for _ in 0..random.index(20) + 1 {
                let len = random.index(1 << 10) as u32;
                let end = at + len;
                ranges.push((at, end, cc(["AU", "CN", "DE"][random.index(3)])));
                if random.index(3) == 0 {
                    // A range overlapping this one (inside it, or across its end).
                    let low = at + random.index(len as usize + 1) as u32;
                    let high = low + random.index(700) as u32;
                    ranges.push((low, high, cc(["AU", "CN", "FR"][random.index(3)])));
                }
                at = end + 1 + random.index(3) as u32 * random.index(300) as u32;
            }
            let image = build(ranges.iter().map(|&(a, b, v)| (IpAddr::V4(a.into()), IpAddr::V4(b.into()), v))).unwrap();
            let t = IpTable::decode(image).unwrap();
            let value_of = |x: u32| {
                let mut best: Option<(u32, IpValue)> = None;
                for &(a, b, v) in &ranges {
                    if a <= x && x <= b && best.is_none_or(|(width, _)| b - a <= width) {
                        best = Some((b - a, v));
                    }
                }
                best.map(|(_, v)| v)
            };
            for _ in 0..60 {
                let x = random.index(at as usize + 1000) as u32;
                let found = t.lookup(IpAddr::V4(x.into()));
                assert_eq!(found.map(|m| m.value), value_of(x), "{x} in {ranges:?}");
                let located = t.locate(IpNet::from(IpAddr::V4(x.into())));
                assert_eq!(located.value, value_of(x));
                let IpNet::V4(block) = located.network else { panic!() };
                let (lo, hi) = (u32::from(block.network()), u32::from(block.broadcast()));
                assert!(lo <= x && x <= hi);
                if hi - lo < 1 << 16 {
                    assert!((lo..=hi).all(|y| value_of(y) == located.value), "{block} mixed");
                }
                if let Some(wider) = block.supernet() {
                    let (lo, hi) = (u32::from(wider.network()), u32::from(wider.broadcast()));
                    if hi - lo < 1 << 16 {
                        assert!((lo..=hi).any(|y| value_of(y) != located.value), "{block} not maximal");
                    }
                }
            }
        }
    }

    #[test]
    fn overlaps_narrowest_wins() {
        // The shape of the real country lists: DE /23, BE single address, DE rest.
        let t = table(&[("2.58.196.0", "2.58.197.255", cc("DE")), ("2.58.197.15", "2.58.197.15", cc("BE")), ("2.58.197.16", "2.58.197.255", cc("DE"))]);
        assert_eq!(matched(&t, "2.58.197.13"), pair("DE", "2.58.197.12/31"));
        assert_eq!(matched(&t, "2.58.197.14"), pair("DE", "2.58.197.14/32"));
        assert_eq!(matched(&t, "2.58.197.15"), pair("BE", "2.58.197.15/32"));
        assert_eq!(matched(&t, "2.58.197.16"), pair("DE", "2.58.197.16/28"));
        assert_eq!(matched(&t, "2.58.196.1"), pair("DE", "2.58.196.0/24"));
        // Partial overlap: the narrower range takes the shared addresses.
        let t = table(&[("1.0.0.0", "1.0.0.99", cc("AU")), ("1.0.0.50", "1.0.0.200", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.0.49").unwrap().0, "AU");
        assert_eq!(matched(&t, "1.0.0.50").unwrap().0, "AU");
        assert_eq!(matched(&t, "1.0.0.99").unwrap().0, "AU");
        assert_eq!(matched(&t, "1.0.0.100").unwrap().0, "CN");
        // Same width: the later range wins, whatever the order of addresses.
        let t = table(&[("1.0.0.0", "1.0.0.9", cc("AU")), ("1.0.0.0", "1.0.0.9", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.0.5").unwrap().0, "CN");
        let t = table(&[("1.0.0.5", "1.0.0.14", cc("AU")), ("1.0.0.0", "1.0.0.9", cc("CN"))]);
        assert_eq!(matched(&t, "1.0.0.7").unwrap().0, "CN");
        let t = table(&[("1.0.0.0", "1.0.0.9", cc("CN")), ("1.0.0.5", "1.0.0.14", cc("AU"))]);
        assert_eq!(matched(&t, "1.0.0.7").unwrap().0, "AU");
        // A wide range wholly shadowed where it is covered, visible elsewhere.
        let (image, stats) = build_with_stats([
            (v4("10.0.0.0"), v4("10.255.255.255"), cc("US")),
            (v4("10.0.0.0"), v4("10.127.255.255"), cc("CA")),
            (v4("10.128.0.0"), v4("10.255.255.255"), cc("MX")),
            (v4("11.0.0.0"), v4("11.0.0.255"), cc("MX")),
        ])
        .unwrap();
        assert_eq!(stats.ranges, (4, 0));
        assert_eq!(stats.overlapping, (2, 0));
        let t = IpTable::decode(image).unwrap();
        assert_eq!(stats.records, (3, 0), "CA, MX (merged with 11/24), gap");
        assert_eq!(matched(&t, "10.200.0.1"), pair("MX", "10.128.0.0/9"));
        assert_eq!(matched(&t, "11.0.0.1"), pair("MX", "11.0.0.0/24"));
    }

    #[test]
    fn special_purpose_is_cut_out() {
        let ranges = vec![
            (v4("9.0.0.0"), v4("11.255.255.255"), cc("US")),
            (v4("192.167.0.0"), v4("192.169.255.255"), cc("AU")),
            (v4("192.168.0.0"), v4("192.168.255.255"), cc("AU")),
            (v4("1.0.0.0"), v4("1.0.0.255"), cc("AU")),
            (v4("200.0.0.0"), v4("255.255.255.255"), cc("BR")),
            (ip("2001:db8::"), ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), cc("JP")),
            (ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), cc("ZZ")),
        ];
        let (left, touched) = without_special_purpose(ranges);
        assert_eq!(touched, 6);
        let t = IpTable::decode(build(left).unwrap()).unwrap();
        assert_eq!(matched(&t, "9.255.255.255"), pair("US", "9.0.0.0/8"));
        assert_eq!(matched(&t, "10.1.2.3"), None);
        assert_eq!(matched(&t, "11.0.0.0"), pair("US", "11.0.0.0/8"));
        assert_eq!(matched(&t, "192.167.255.255"), pair("AU", "192.167.0.0/16"));
        assert_eq!(matched(&t, "192.168.1.1"), None);
        assert_eq!(matched(&t, "192.169.0.0"), pair("AU", "192.169.0.0/16"));
        assert_eq!(matched(&t, "1.0.0.1"), pair("AU", "1.0.0.0/24"));
        assert_eq!(matched(&t, "223.255.255.255"), pair("BR", "208.0.0.0/4"));
        assert_eq!(matched(&t, "224.0.0.1"), None);
        assert_eq!(matched(&t, "255.255.255.255"), None);
        assert_eq!(matched(&t, "::"), None);
        assert_eq!(matched(&t, "::2"), pair("ZZ", "::2/127"));
        assert_eq!(matched(&t, "2001:db8::1"), None);
        assert_eq!(matched(&t, "2001:db9::1"), pair("ZZ", "2001:db9::/32"));
        assert_eq!(matched(&t, "fd00::1"), None);
        assert_eq!(matched(&t, "fe80::1"), None);
        assert_eq!(matched(&t, "ff02::1"), None);
        assert_eq!(matched(&t, "2606:4700::1"), pair("ZZ", "2400::/6"));
        assert_eq!(t.locate(net("192.168.7.0/24")), Located { value: None, network: net("192.168.0.0/16") });
        assert!(is_special_purpose(ip("172.31.255.255")));
        assert!(!is_special_purpose(ip("172.32.0.0")));
        assert!(is_special_purpose(ip("::ffff:192.168.0.1")));
        assert!(is_special_purpose(ip("::1")));
        assert!(!is_special_purpose(ip("2001:4860::8888")));
        assert_eq!(special_purpose_networks().count(), SPECIAL_PURPOSE.len());
        assert!(special_purpose_networks().all(|n| n == n.trunc()), "bases are network addresses");
    }
}
