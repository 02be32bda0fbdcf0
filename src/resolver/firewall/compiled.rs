//! The compiled form of a firewall, what `edgedns firewall publish` stores in KV and the
//! Worker reads back without parsing a list: the compact store's front-coded names as they are
//! held, the rule table, the address rules, checked by length and checksum and then read with
//! every number and length bounded, so a corrupt value is an error, never a panic, and the
//! isolate keeps the firewall it has.
//!
//! ```text
//! "edgedns-firewall-compiled\n"  the magic (a text line, so `wrangler kv key get` says what it is)
//! u8 version (1), u64 checksum of the payload, u64 payload length (little-endian)
//! payload, numbers as LEB128 varints, texts as a varint length and UTF-8:
//!   lists:          count, each name
//!   kinds:          count, each: action, rank (u8), list (0: unnamed, else its number + 1),
//!                   text before the name, text after it
//!   slots:          count, then per slot its number of rules
//!   rules:          per rule: kind << 2 | covers (1 the name, 2 below it), line
//!   kept texts:     count, each: rule number, text
//!   address rules:  count, each: network (4 or 6, the address's bytes, prefix length),
//!                   action, rank, list, line, text
//!   names:          count, then the store's front-coded names to the end of the payload
//! ```
//!
//! A value over KV's 25 MiB limit is split into parts of [`PART_BYTES`]: the first at
//! `firewall:<version>`, the next at `firewall:<version>.1` and on ([`part_key`]); the
//! header says how long the whole is, so the reader knows how many parts to fetch.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData};
use ipnet::IpNet;

use super::matching::NameIndex;
use super::rules::{Action, BlockAnswer, Rank, Rule};
use super::store::{push_varint, read_varint, NameStore};
use super::table::{Kind, Record, RuleTable, MAX_KINDS};
use super::{Firewall, MAX_RULES};

/// The first bytes of a compiled firewall.
pub const MAGIC: &[u8] = b"edgedns-firewall-compiled\n";
/// The version of the layout written.
pub const VERSION: u8 = 1;
/// The header's length: the magic, the version, the checksum and the payload's length.
pub const HEADER_BYTES: usize = MAGIC.len() + 1 + 8 + 8;
/// The largest part stored under one KV key: under KV's 25 MiB value limit.
pub const PART_BYTES: usize = 24 * 1024 * 1024;
/// The largest compiled firewall read (all its parts): a 1M-domain list is 21.2 MiB
/// (BENCHMARKS.md part 10); two parts hold a list of [`MAX_RULES`] with room to spare.
pub const MAX_COMPILED_BYTES: usize = 2 * PART_BYTES;

/// Why a compiled firewall does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompiledError {
    /// It does not start with [`MAGIC`]: no compiled firewall (a list as text, maybe).
    NotCompiled,
    /// Another layout's version.
    Version(u8),
    /// Over [`MAX_COMPILED_BYTES`].
    TooLarge {
        /// Its length (as its header says, or as read).
        bytes: u64,
    },
    /// Shorter or longer than its header says.
    Length {
        /// The length the header gives.
        expected: u64,
        /// The length read.
        found: u64,
    },
    /// The payload's checksum is not the header's.
    Checksum,
    /// A field out of bounds or not as written: which.
    Corrupt(String),
}

impl std::fmt::Display for CompiledError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotCompiled => f.write_str("not a compiled firewall"),
            Self::Version(version) => write!(f, "a compiled firewall of version {version} (this build reads {VERSION})"),
            Self::TooLarge { bytes } => write!(f, "a compiled firewall of {bytes} bytes, over the limit of {MAX_COMPILED_BYTES}"),
            Self::Length { expected, found } => write!(f, "a compiled firewall of {found} bytes where its header says {expected} (cut short or joined wrong)"),
            Self::Checksum => f.write_str("a compiled firewall whose checksum does not match (corrupt)"),
            Self::Corrupt(what) => write!(f, "a corrupt compiled firewall: {what}"),
        }
    }
}

/// The key of part `part` (from 0) of version `version`.
pub fn part_key(version: &str, part: usize) -> String {
    match part {
        0 => super::version_key(version),
        part => format!("{}.{part}", super::version_key(version)),
    }
}

/// A checksum of `bytes`, eight at a time (it catches a value cut short or damaged, not a
/// forgery: KV is written by the operator).
fn checksum(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0x243f_6a88_85a3_08d3;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut value = [0u8; 8];
        value.copy_from_slice(word);
        hash = (hash.rotate_left(23) ^ u64::from_le_bytes(value)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    for &byte in words.remainder() {
        hash = (hash.rotate_left(23) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    hash ^ bytes.len() as u64
}

/// How many parts a compiled firewall whose first part is `first` has (its header read).
pub fn parts(first: &[u8]) -> Result<usize, CompiledError> {
    let total = header(first)?.1 as usize + HEADER_BYTES;
    Ok(total.div_ceil(PART_BYTES).max(1))
}

/// The header's checksum and payload length, bounded.
fn header(value: &[u8]) -> Result<(u64, u64), CompiledError> {
    let rest = value.strip_prefix(MAGIC).ok_or(CompiledError::NotCompiled)?;
    let field = |at: usize| -> Result<u64, CompiledError> {
        let bytes: [u8; 8] = rest
            .get(at..at + 8)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CompiledError::Length { expected: HEADER_BYTES as u64, found: value.len() as u64 })?;
        Ok(u64::from_le_bytes(bytes))
    };
    match rest.first() {
        Some(&VERSION) => {}
        Some(&other) => return Err(CompiledError::Version(other)),
        None => return Err(CompiledError::Length { expected: HEADER_BYTES as u64, found: value.len() as u64 }),
    }
    let (sum, length) = (field(1)?, field(9)?);
    if length.saturating_add(HEADER_BYTES as u64) > MAX_COMPILED_BYTES as u64 {
        return Err(CompiledError::TooLarge { bytes: length.saturating_add(HEADER_BYTES as u64) });
    }
    Ok((sum, length))
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    push_varint(out, u32::try_from(text.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(text.as_bytes());
}

fn push_action(out: &mut Vec<u8>, action: &Action) {
    match action {
        Action::Allow => out.push(0),
        Action::Alert => out.push(1),
        Action::Block(BlockAnswer::NxDomain) => out.push(2),
        Action::Block(BlockAnswer::NoData) => out.push(3),
        Action::Block(BlockAnswer::Override { data, ttl }) => {
            match data {
                RData::A(address) => {
                    out.push(4);
                    out.extend_from_slice(&address.0.octets());
                }
                RData::AAAA(address) => {
                    out.push(5);
                    out.extend_from_slice(&address.0.octets());
                }
                RData::CNAME(target) => {
                    out.push(6);
                    push_text(out, &target.0.to_ascii());
                }
                // The formats make A, AAAA and CNAME overrides only; another is answered
                // NODATA rather than published as something it is not.
                _ => {
                    out.push(3);
                    return;
                }
            }
            push_varint(out, *ttl);
        }
    }
}

fn rank_byte(rank: Rank) -> u8 {
    match rank {
        Rank::Plain => 0,
        Rank::Exception => 1,
        Rank::Important => 2,
        Rank::ImportantException => 3,
    }
}

/// Writes `firewall` in its compiled form.
pub fn encode(firewall: &Firewall) -> Vec<u8> {
    let store = firewall.names.store().front_coded();
    let mut payload = Vec::with_capacity(store.len() + firewall.table.records.len() * 6 + 1024);
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    push_varint(&mut payload, count(firewall.list_names.len()));
    for name in &firewall.list_names {
        push_text(&mut payload, name);
    }
    let list_number = |list: Option<u32>| list.map_or(0, |list| list.saturating_add(1));
    push_varint(&mut payload, count(firewall.table.kinds.len()));
    for kind in &firewall.table.kinds {
        push_action(&mut payload, &kind.action);
        payload.push(rank_byte(kind.rank));
        push_varint(&mut payload, list_number(kind.list));
        push_text(&mut payload, &kind.before);
        push_text(&mut payload, &kind.after);
    }
    let slots = firewall.names.slots();
    push_varint(&mut payload, count(slots.len().saturating_sub(1)));
    for pair in slots.windows(2) {
        if let [start, end] = pair {
            push_varint(&mut payload, end - start);
        }
    }
    for record in &firewall.table.records {
        push_varint(&mut payload, record.kind_covers);
        push_varint(&mut payload, record.line);
    }
    let mut kept: Vec<(u32, &str)> = firewall.table.verbatim.iter().map(|(rule, text)| (*rule, &**text)).collect();
    kept.sort_unstable();
    push_varint(&mut payload, count(kept.len()));
    for (rule, text) in kept {
        push_varint(&mut payload, rule);
        push_text(&mut payload, text);
    }
    // Address rules in their order (the networks' lists of them are rebuilt from it).
    let mut networks: Vec<(u32, IpNet)> = firewall.networks.iter().flat_map(|(network, rules)| rules.iter().map(move |&rule| (rule, *network))).collect();
    networks.sort_unstable();
    push_varint(&mut payload, count(networks.len()));
    for (index, network) in networks {
        let Some(rule) = firewall.address_rules.get(index as usize) else { continue };
        match network.addr() {
            IpAddr::V4(address) => {
                payload.push(4);
                payload.extend_from_slice(&address.octets());
            }
            IpAddr::V6(address) => {
                payload.push(6);
                payload.extend_from_slice(&address.octets());
            }
        }
        payload.push(network.prefix_len());
        push_action(&mut payload, &rule.action);
        payload.push(rank_byte(rule.rank));
        let list = rule.list.as_ref().and_then(|list| firewall.list_names.iter().position(|name| name == list));
        push_varint(&mut payload, list.map_or(0, |list| count(list).saturating_add(1)));
        push_varint(&mut payload, u32::try_from(rule.line).unwrap_or(u32::MAX));
        push_text(&mut payload, &rule.pattern);
    }
    push_varint(&mut payload, count(firewall.names.store().len()));
    payload.extend_from_slice(store);
    let mut value = Vec::with_capacity(HEADER_BYTES + payload.len());
    value.extend_from_slice(MAGIC);
    value.push(VERSION);
    value.extend_from_slice(&checksum(&payload).to_le_bytes());
    value.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    value.extend_from_slice(&payload);
    value
}

/// `value` with its header's checksum and length made those of the payload after it (a value
/// changed on purpose: the decoder's tests and fuzz target reach the fields past the check).
pub fn seal(mut value: Vec<u8>) -> Vec<u8> {
    let payload = value.get(HEADER_BYTES..).unwrap_or_default();
    let (sum, length) = (checksum(payload), payload.len() as u64);
    if let Some(header) = value.get_mut(MAGIC.len() + 1..HEADER_BYTES) {
        let fields: Vec<u8> = sum.to_le_bytes().into_iter().chain(length.to_le_bytes()).collect();
        header.copy_from_slice(&fields);
    }
    value
}

/// The payload read field by field, each bounded.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self, what: &str) -> Result<u32, CompiledError> {
        read_varint(self.bytes, &mut self.at).ok_or_else(|| CompiledError::Corrupt(format!("{what} cut short")))
    }

    /// A count of items taking `least` bytes each at least: bounded by the bytes left, so
    /// nothing is allocated for items the value cannot hold.
    fn count(&mut self, what: &str, least: usize) -> Result<usize, CompiledError> {
        let count = self.varint(what)? as usize;
        if count.saturating_mul(least.max(1)) > self.bytes.len().saturating_sub(self.at) {
            return Err(CompiledError::Corrupt(format!("{count} {what}, more than the value holds")));
        }
        Ok(count)
    }

    fn byte(&mut self, what: &str) -> Result<u8, CompiledError> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| CompiledError::Corrupt(format!("{what} cut short")))?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, length: usize, what: &str) -> Result<&'a [u8], CompiledError> {
        let bytes =
            self.at.checked_add(length).and_then(|end| self.bytes.get(self.at..end)).ok_or_else(|| CompiledError::Corrupt(format!("{what} cut short")))?;
        self.at += length;
        Ok(bytes)
    }

    fn text(&mut self, what: &str) -> Result<&'a str, CompiledError> {
        let length = self.varint(what)? as usize;
        let bytes = self.take(length, what)?;
        std::str::from_utf8(bytes).map_err(|_| CompiledError::Corrupt(format!("{what} is not UTF-8")))
    }

    fn action(&mut self) -> Result<Action, CompiledError> {
        let override_of = |reader: &mut Self, data: RData| -> Result<Action, CompiledError> {
            Ok(Action::Block(BlockAnswer::Override { data, ttl: reader.varint("an override's TTL")? }))
        };
        match self.byte("an action")? {
            0 => Ok(Action::Allow),
            1 => Ok(Action::Alert),
            2 => Ok(Action::Block(BlockAnswer::NxDomain)),
            3 => Ok(Action::Block(BlockAnswer::NoData)),
            4 => {
                let octets: [u8; 4] = self.take(4, "an A override")?.try_into().map_err(|_| CompiledError::Corrupt("an A override".into()))?;
                override_of(self, RData::A(A(Ipv4Addr::from(octets))))
            }
            5 => {
                let octets: [u8; 16] = self.take(16, "an AAAA override")?.try_into().map_err(|_| CompiledError::Corrupt("an AAAA override".into()))?;
                override_of(self, RData::AAAA(AAAA(Ipv6Addr::from(octets))))
            }
            6 => {
                let text = self.text("a CNAME override")?;
                let mut name = Name::from_ascii(text).map_err(|error| CompiledError::Corrupt(format!("a CNAME override {text:?}: {error}")))?;
                name.set_fqdn(true);
                override_of(self, RData::CNAME(CNAME(name)))
            }
            other => Err(CompiledError::Corrupt(format!("action {other}"))),
        }
    }

    fn rank(&mut self) -> Result<Rank, CompiledError> {
        match self.byte("a rank")? {
            0 => Ok(Rank::Plain),
            1 => Ok(Rank::Exception),
            2 => Ok(Rank::Important),
            3 => Ok(Rank::ImportantException),
            other => Err(CompiledError::Corrupt(format!("rank {other}"))),
        }
    }

    /// A list reference: 0 unnamed, else a number below `lists` + 1.
    fn list(&mut self, lists: usize) -> Result<Option<u32>, CompiledError> {
        match self.varint("a list")? {
            0 => Ok(None),
            list if (list as usize) <= lists => Ok(Some(list - 1)),
            list => Err(CompiledError::Corrupt(format!("list {list} of {lists}"))),
        }
    }
}

/// Reads a compiled firewall (all its parts joined), checking its header, length, checksum and
/// every field; the front-coded names are kept in `value`'s own allocation (no copy).
pub fn decode(mut value: Vec<u8>) -> Result<Firewall, CompiledError> {
    if value.len() > MAX_COMPILED_BYTES {
        return Err(CompiledError::TooLarge { bytes: value.len() as u64 });
    }
    let (sum, length) = header(&value)?;
    let found = value.len().saturating_sub(HEADER_BYTES) as u64;
    if value.len() < HEADER_BYTES || found != length {
        return Err(CompiledError::Length { expected: length, found });
    }
    let payload = value.get(HEADER_BYTES..).unwrap_or_default();
    if checksum(payload) != sum {
        return Err(CompiledError::Checksum);
    }
    let mut reader = Reader { bytes: payload, at: 0 };
    let mut firewall = Firewall::default();
    let lists = reader.count("list names", 1)?;
    for _ in 0..lists {
        firewall.list_names.push(Arc::from(reader.text("a list name")?));
    }
    let kinds = reader.count("kinds", 5)?;
    if kinds > MAX_KINDS {
        return Err(CompiledError::Corrupt(format!("{kinds} kinds")));
    }
    let mut table = RuleTable { kinds: Vec::with_capacity(kinds), ..RuleTable::default() };
    for _ in 0..kinds {
        let action = reader.action()?;
        let rank = reader.rank()?;
        let list = reader.list(lists)?;
        let (before, after) = (reader.text("a kind's text")?.into(), reader.text("a kind's text")?.into());
        table.kinds.push(Kind { action, rank, list, before, after });
    }
    let slot_count = reader.count("slots", 1)?;
    let mut slots = Vec::with_capacity(slot_count + 1);
    let mut rules: usize = 0;
    for _ in 0..slot_count {
        slots.push(u32::try_from(rules).map_err(|_| CompiledError::Corrupt("too many rules".into()))?);
        let in_slot = reader.varint("a slot")? as usize;
        if in_slot == 0 {
            return Err(CompiledError::Corrupt("a slot with no rule".into()));
        }
        rules = rules.saturating_add(in_slot);
        if rules > MAX_RULES {
            return Err(CompiledError::Corrupt(format!("over {MAX_RULES} rules")));
        }
    }
    slots.push(u32::try_from(rules).map_err(|_| CompiledError::Corrupt("too many rules".into()))?);
    if rules.saturating_mul(2) > payload.len().saturating_sub(reader.at) {
        return Err(CompiledError::Corrupt(format!("{rules} rules, more than the value holds")));
    }
    table.records.reserve_exact(rules);
    for _ in 0..rules {
        let kind_covers = reader.varint("a rule")?;
        let line = reader.varint("a rule's line")?;
        let record = Record { kind_covers, line };
        if record.kind() as usize >= kinds || kind_covers & 3 == 0 {
            return Err(CompiledError::Corrupt(format!("a rule of kind {} covering {}", record.kind(), kind_covers & 3)));
        }
        table.records.push(record);
    }
    let kept = reader.count("kept texts", 2)?;
    let mut verbatim = HashMap::with_capacity(kept);
    for _ in 0..kept {
        let rule = reader.varint("a kept text's rule")?;
        if rule as usize >= rules {
            return Err(CompiledError::Corrupt(format!("a kept text for rule {rule} of {rules}")));
        }
        verbatim.insert(rule, Box::from(reader.text("a kept text")?));
    }
    table.verbatim = verbatim;
    let addresses = reader.count("address rules", 9)?;
    for index in 0..addresses {
        let address = match reader.byte("a network")? {
            4 => IpAddr::from(<[u8; 4]>::try_from(reader.take(4, "a network")?).map_err(|_| CompiledError::Corrupt("a network".into()))?),
            6 => IpAddr::from(<[u8; 16]>::try_from(reader.take(16, "a network")?).map_err(|_| CompiledError::Corrupt("a network".into()))?),
            other => return Err(CompiledError::Corrupt(format!("address family {other}"))),
        };
        let prefix = reader.byte("a prefix length")?;
        let network = IpNet::new(address, prefix).map_err(|_| CompiledError::Corrupt(format!("{address}/{prefix}")))?.trunc();
        let action = reader.action()?;
        let rank = reader.rank()?;
        let list = reader.list(lists)?.and_then(|list| firewall.list_names.get(list as usize)).cloned();
        let line = reader.varint("an address rule's line")? as usize;
        let pattern = reader.text("an address rule's text")?.to_owned();
        firewall.address_rules.push(Rule { action, pattern, line, list, rank });
        firewall.networks.entry(network).or_default().push(u32::try_from(index).map_err(|_| CompiledError::Corrupt("too many address rules".into()))?);
    }
    let names = reader.count("names", 3)?;
    if names != slot_count {
        return Err(CompiledError::Corrupt(format!("{names} names for {slot_count} slots")));
    }
    // The names are the rest: moved to the front of the value's own allocation.
    let start = HEADER_BYTES + reader.at;
    value.drain(..start);
    value.shrink_to_fit();
    let limit = u32::try_from(slot_count).map_err(|_| CompiledError::Corrupt("too many slots".into()))?;
    let store = NameStore::from_front_coded(value, names, limit).map_err(|error| CompiledError::Corrupt(error.to_string()))?;
    firewall.names = NameIndex::from_parts(store, slots, rules).map_err(|error| CompiledError::Corrupt(error.to_string()))?;
    firewall.table = table;
    firewall.finish();
    Ok(firewall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::firewall::{bundle, Format, ListError};
    use std::str::FromStr;

    /// Lists in every format, with what the table keeps apart: kinds, kept texts (Unicode and
    /// capitals as written), overrides of each type, the root, networks, an unnamed list.
    fn sample() -> Firewall {
        let lists = [
            bundle::List {
                name: Some("ads.txt"),
                format: Format::Adblock,
                text: "||ads.example^\n@@||ok.ads.example^\n||tracker.example^$important\n@@||fine.tracker.example^$important\n||bücher.example^\n\
                       ||*.cdn.example^\n|exact.example^\n||home.example^$dnsrewrite=192.0.2.55\n||six.example^$dnsrewrite=2001:db8::5\n\
                       ||alias.example^$dnsrewrite=NOERROR;CNAME;Target.Example\n||gone.example^$dnsrewrite=NOERROR;;\n",
            },
            bundle::List {
                name: Some("hosts"),
                format: Format::Hosts,
                text: "0.0.0.0 Caps.Example\n127.0.0.1 h1.example h2.example\n192.0.2.7 here.example\n",
            },
            bundle::List {
                name: Some("rpz.zone"),
                format: Format::Rpz,
                text: "$ORIGIN rpz.\nx.example CNAME .\n*.x.example CNAME *.\n28.240.2.0.192.rpz-ip CNAME .\n",
            },
            bundle::List {
                name: Some("native.txt"),
                format: Format::Native,
                text: "alert *\nblock 10.0.0.0/8 nodata\nallow 2001:db8::/32\nblock p.example A 192.0.2.1 ttl=300\n",
            },
        ];
        Firewall::load(&bundle::encode(&lists)).unwrap()
    }

    const NAMES: &[&str] = &[
        "ads.example.",
        "x.ads.example.",
        "ok.ads.example.",
        "a.ok.ads.example.",
        "tracker.example.",
        "fine.tracker.example.",
        "xn--bcher-kva.example.",
        "cdn.example.",
        "a.cdn.example.",
        "exact.example.",
        "a.exact.example.",
        "home.example.",
        "six.example.",
        "alias.example.",
        "gone.example.",
        "caps.example.",
        "h1.example.",
        "h2.example.",
        "here.example.",
        "x.example.",
        "y.x.example.",
        "p.example.",
        "nothing.example.",
        ".",
    ];

    fn decisions(firewall: &Firewall) -> Vec<String> {
        let mut out: Vec<String> = NAMES.iter().map(|name| format!("{:?}", firewall.check(&Name::from_str(name).unwrap()))).collect();
        for address in ["192.0.2.241", "10.1.2.3", "2001:db8::1", "192.0.2.1"] {
            out.push(format!("{:?}", firewall.check_address(address.parse().unwrap())));
        }
        out
    }

    #[test]
    fn a_compiled_firewall_reads_back_deciding_as_it_did() {
        let firewall = sample();
        let value = firewall.to_published();
        assert!(value.starts_with(MAGIC));
        let read = Firewall::from_published(value.clone()).unwrap();
        assert_eq!(read.len(), firewall.len());
        assert_eq!(read.list_names().collect::<Vec<_>>(), ["ads.txt", "hosts", "rpz.zone", "native.txt"]);
        assert_eq!(decisions(&read), decisions(&firewall));
        let rule = |name: &str| read.check(&Name::from_str(name).unwrap()).map(ToString::to_string).unwrap_or_default();
        assert_eq!(rule("a.ok.ads.example."), "allow @@||ok.ads.example^ (ads.txt line 2)");
        assert_eq!(rule("www.bücher.example."), "block ||bücher.example^ (ads.txt line 5)", "a text kept as written");
        assert_eq!(rule("caps.example."), "block 0.0.0.0 Caps.Example (hosts line 1)");
        assert_eq!(rule("h2.example."), "block 127.0.0.1 h2.example (hosts line 2)", "rebuilt from its kind");
        assert_eq!(rule("nothing.example."), "alert * (native.txt line 1)", "the root's rule");
        assert_eq!(
            read.check_address("192.0.2.241".parse().unwrap()).map(ToString::to_string).as_deref(),
            Some("block 28.240.2.0.192.rpz-ip CNAME . (rpz.zone line 4)")
        );
        // Encoding what was read gives the same bytes.
        assert_eq!(read.to_published(), value);
        // A list as text is still read (what was published before lists were compiled).
        assert_eq!(Firewall::from_published(b"block a.example nxdomain\n".to_vec()).map(|firewall| firewall.len()), Ok(1));
        assert!(matches!(Firewall::from_published(vec![0xff, 0xfe]), Err(ListError::Bundle(_))));
        assert_eq!(Firewall::from_published(Firewall::default().to_published()).map(|firewall| firewall.len()), Ok(0));
    }

    #[test]
    fn cut_damaged_or_oversized_values_are_errors() {
        let value = sample().to_published();
        for length in 0..value.len() {
            let error = decode(value[..length].to_vec()).unwrap_err();
            assert!(matches!(error, CompiledError::NotCompiled | CompiledError::Length { .. }), "{length}: {error}");
        }
        let mut flipped = value.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(flipped).unwrap_err(), CompiledError::Checksum);
        let mut version = value.clone();
        version[MAGIC.len()] = 9;
        assert_eq!(decode(version).unwrap_err(), CompiledError::Version(9));
        let mut huge = value.clone();
        huge[MAGIC.len() + 9..MAGIC.len() + 17].copy_from_slice(&(MAX_COMPILED_BYTES as u64).to_le_bytes());
        assert!(matches!(decode(huge.clone()), Err(CompiledError::TooLarge { .. })));
        assert!(matches!(parts(&huge), Err(CompiledError::TooLarge { .. })));
        // Every byte of the payload changed, and the checksum made right: an error or a
        // firewall, never a panic; a change inside a text may read.
        let mut random: u64 = 0x2545_f491_4f6c_dd1d;
        for at in HEADER_BYTES..value.len() {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let mut damaged = value.clone();
            damaged[at] ^= (random as u8) | 1;
            if let Ok(firewall) = decode(seal(damaged)) {
                let _ = decisions(&firewall);
            }
        }
        // Bytes after the last name.
        let mut longer = value.clone();
        longer.push(0);
        assert_eq!(decode(seal(longer)).unwrap_err(), CompiledError::Corrupt("the names do not read: bytes after the last name".into()));
    }

    #[test]
    fn values_over_a_part_say_how_many_parts_they_take() {
        let value = sample().to_published();
        assert_eq!(parts(&value), Ok(1));
        let mut header = value[..HEADER_BYTES].to_vec();
        header[MAGIC.len() + 9..MAGIC.len() + 17].copy_from_slice(&((PART_BYTES + 1) as u64).to_le_bytes());
        assert_eq!(parts(&header), Ok(2));
        assert_eq!(parts(b"block a.example nxdomain"), Err(CompiledError::NotCompiled));
        assert_eq!((part_key("7-ab", 0), part_key("7-ab", 2)), ("firewall:7-ab".to_owned(), "firewall:7-ab.2".to_owned()));
    }
}
