//! Signing the engine's answers as they go out (RFC 4035 §3.1), for a query with DO=1 to a zone
//! that opts in (`dnssec = true` in its routes file) and whose key the Worker has. The engine
//! decides first, for this client; every RRset it answers is then signed as answered, so what a
//! routing policy tailors is signed like everything else.
//!
//! * [`dnskey_answer`]: the DNSKEY RRset at a signed zone's apex, made from its keys (and any
//!   DNSKEY the zone file holds, which is how a new key is pre-published before a rollover).
//! * [`sign`]: an RRSIG after every RRset of the answer and authority sections, the RRset's zone
//!   signing it (a CNAME chain may cross zones); a wildcard expansion signed under the wildcard's
//!   owner, with the NSEC proving no closer name exists (RFC 4035 §3.1.3.3); negative answers by
//!   compact denial (RFC 9824), the SOA and the one NSEC signed; a referral with the DS at the
//!   cut signed, or an NSEC proving there is none (RFC 4035 §3.1.4). The Additional section
//!   (glue) is not signed: it is not authoritative (RFC 4035 §2.2).
//!
//! Nothing here reads the clock or a secret: the keys, the cache and the time come in a
//! [`Signer`]. A failure leaves the answer unsigned (the caller logs the error) rather than
//! answering nothing.

use std::borrow::Cow;
use std::collections::HashMap;

use hickory_proto::op::{Query as Question, ResponseCode};
use hickory_proto::rr::rdata::NULL;
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use super::cache::SignatureCache;
use super::canonical;
use super::denial;
use super::key::KeySet;
use super::rrset::{rdata_wire, RrSet};
use super::sign::{wildcard_owner, SignError, Validity};
use crate::answer::{Answers, PackedRdata, Resolution, WireRrSet};
use crate::zone::key::KeyHashing;
use crate::zone::{Lookup, Visible, Zone};

/// The TTL of the DNSKEY RRset made from the keys (RFC 6781 §4.1.4 discusses the choice; an
/// hour keeps a rollover's waiting times short).
pub const DNSKEY_TTL: u32 = 3_600;

/// The signing keys this isolate has, by zone apex.
#[derive(Debug, Default)]
pub struct Keyring {
    /// By apex in canonical wire form (lower-cased), which a lookup writes on the stack
    /// ([`canonical::name_on_stack`]; hashing a `Name` lower-cases a copy of each label).
    /// Hashed unkeyed ([`KeyHashing`]): the table holds the operator's zones only, and a query
    /// looks one of them up per signed RRset.
    zones: HashMap<Box<[u8]>, KeySet, KeyHashing>,
}

impl Keyring {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a zone's keys (the zone is the keys' own), replacing any it had.
    pub fn insert(&mut self, keys: KeySet) {
        let mut apex = [0; 255];
        let apex: Box<[u8]> = canonical::name_on_stack(keys.key_signing().zone(), &mut apex).into();
        self.zones.insert(apex, keys);
    }

    /// The keys of the zone at `apex`.
    pub fn get(&self, apex: &Name) -> Option<&KeySet> {
        if self.zones.is_empty() {
            return None;
        }
        let mut key = [0; 255];
        self.zones.get(canonical::name_on_stack(apex, &mut key))
    }

    /// How many zones have keys.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether no zone has keys.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

/// What signing takes: the keys, the isolate's signature cache, the time and the validity.
pub struct Signer<'a> {
    /// The zones' keys.
    pub keys: &'a Keyring,
    /// Signatures already made.
    pub cache: &'a mut SignatureCache,
    /// Now, in Unix seconds.
    pub now_s: u64,
    /// Inception and lifetime of new signatures.
    pub validity: Validity,
}

impl Signer<'_> {
    /// The same signer, borrowed for a shorter time.
    pub fn reborrow(&mut self) -> Signer<'_> {
        Signer { keys: self.keys, cache: &mut *self.cache, now_s: self.now_s, validity: self.validity }
    }
}

/// The keys a zone signs with: it opts in and its keys are there.
fn keys_of<'k>(zone: &Zone, keys: &'k Keyring) -> Option<&'k KeySet> {
    if zone.signed() {
        keys.get(zone.apex())
    } else {
        None
    }
}

/// Answers DNSKEY at a signed zone's apex from its keys: the engine found the zone's own DNSKEY
/// records or none, and the keys' DNSKEYs are added to them. With or without DO: a validator
/// asks with DO, a person with `dig DNSKEY` may not.
pub fn dnskey_answer(resolution: &mut Resolution, question: &Question, catalog: &Visible<'_>, keys: &Keyring) {
    if question.query_type != RecordType::DNSKEY || resolution.rcode != ResponseCode::NoError {
        return;
    }
    let Some(zone) = catalog.find(&question.name) else { return };
    let Some(keys) = keys_of(zone, keys) else { return };
    if LowerName::new(&question.name) != LowerName::new(zone.apex()) {
        return;
    }
    let mut records = std::mem::take(&mut resolution.answers).into_records();
    records.retain(|record| record.record_type() == RecordType::DNSKEY);
    let ttl = records.first().map_or(DNSKEY_TTL, |record| record.ttl);
    // Every key of the set, published, active or retired (a rollover's, `super::rollover`).
    for key in keys.keys() {
        let published = records.iter().any(|record| matches!(&record.data, RData::Unknown { rdata, .. } if rdata.anything == key.dnskey_rdata()));
        if !published {
            records.push(opaque(question.name.clone(), RecordType::DNSKEY, ttl, key.dnskey_rdata().to_vec()));
        }
    }
    resolution.answers = records.into();
    resolution.authority.clear();
}

/// The TTL the DNSKEY RRset is answered with ([`dnskey_answer`]): the zone file's DNSKEY
/// records' when it has some, else [`DNSKEY_TTL`]. A rollover's waits count it (TTLkey).
pub fn dnskey_ttl(zone: &Zone) -> u32 {
    zone.node(zone.apex()).and_then(|node| node.rrset(RecordType::DNSKEY).map(|set| set.ttl)).unwrap_or(DNSKEY_TTL)
}

/// What signing a resolution did: the key tags that signed (for explain), in first-use order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signed {
    /// Key tags of the keys that made signatures (RFC 4034 App. B).
    pub key_tags: Vec<u16>,
}

/// Signs `resolution`, the engine's answer to `question` from `catalog`'s zones, for a query
/// with DO=1. `compact_ok` is the query's CO flag: a nonexistent name keeps its NXDOMAIN RCODE
/// (RFC 9824 §4); otherwise it is answered NOERROR, which is what compact denial claims. On an
/// error the resolution is left as it was: unsigned.
pub fn sign(resolution: &mut Resolution, question: &Question, compact_ok: bool, catalog: &Visible<'_>, signer: &mut Signer<'_>) -> Result<Signed, SignError> {
    if !matches!(resolution.rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Ok(Signed::default());
    }
    let mut signed = Signed::default();
    let answers = std::mem::take(&mut resolution.answers);
    let (records, mut wire) = answers.into_parts();
    let mut proofs = Vec::new();
    let result = sign_answers(&records, wire.as_mut(), &resolution.synthesized, catalog, signer, &mut signed, &mut proofs).and_then(|answers| {
        let authority = sign_authority(resolution, question, &answers, compact_ok, catalog, signer, &mut signed)?;
        Ok((answers, authority))
    });
    match result {
        Ok((answers, authority)) => {
            resolution.answers = Answers::from_parts(answers, wire);
            if let Some((authority, rcode)) = authority {
                resolution.authority = authority;
                resolution.rcode = rcode;
            }
            resolution.authority.extend(proofs);
            Ok(signed)
        }
        Err(error) => {
            if let Some(set) = &mut wire {
                set.unsign();
            }
            resolution.answers = Answers::from_parts(records, wire);
            Err(error)
        }
    }
}

/// The decoded answers with an RRSIG after each RRset; the wire set's RRSIGs go in the wire set
/// ([`WireRrSet::sign`]: written after its records, no `Record` made). `synthesized` are the
/// owners of the sets a wildcard made ([`Resolution::synthesized`]); their proofs go to
/// `proofs`.
fn sign_answers(
    records: &[Record],
    wire: Option<&mut WireRrSet>,
    synthesized: &[Name],
    catalog: &Visible<'_>,
    signer: &mut Signer<'_>,
    signed: &mut Signed,
    proofs: &mut Vec<Record>,
) -> Result<Vec<Record>, SignError> {
    let mut answers = Vec::with_capacity(records.len() * 2 + 1);
    // Names compare ignoring case.
    for set in records.chunk_by(|a, b| a.record_type() == b.record_type() && a.dns_class == b.dns_class && a.name == b.name) {
        let start = answers.len();
        answers.extend_from_slice(set);
        let Some(first) = set.first() else { continue };
        let rdata = set
            .iter()
            .map(|record| rdata_wire(&record.data).map_err(|_| SignError::MalformedRdata { record_type: first.record_type() }))
            .collect::<Result<Vec<_>, _>>()?;
        let slices: Vec<&[u8]> = rdata.iter().map(Vec::as_slice).collect();
        let ttl = set.iter().map(|record| record.ttl).min().unwrap_or(first.ttl);
        let wildcard = synthesized.contains(&first.name);
        let mut signatures = PackedRdata::new();
        if sign_set(&first.name, first.record_type(), first.dns_class, ttl, &slices, wildcard, catalog, signer, signed, proofs, &mut signatures)? {
            // One TTL for the set and its signature (RFC 2181 §5.2).
            for record in answers.iter_mut().skip(start).take(set.len()) {
                record.ttl = ttl;
            }
        }
        answers.extend(signatures.iter().map(|rrsig| opaque(first.name.clone(), RecordType::RRSIG, ttl, rrsig.to_vec())));
    }
    if let Some(set) = wire {
        let slices: Vec<&[u8]> = set.rdatas().collect();
        let wildcard = synthesized.contains(&set.owner);
        let mut signatures = PackedRdata::new();
        sign_set(&set.owner, set.record_type, set.class, set.ttl, &slices, wildcard, catalog, signer, signed, proofs, &mut signatures)?;
        set.sign(signatures);
    }
    Ok(answers)
}

/// The RRSIG RDATA of one answered RRset (owner as answered) added to `out`, when its zone signs:
/// one, or for the DNSKEY RRset during a KSK or CSK rollover one per key-signing key
/// ([`KeySet::signers`]). A wildcard expansion (`wildcard`: the engine synthesised the set) is
/// signed under the wildcard's owner, with the no-closer-name proof added to `proofs`. Whether
/// the set was signed.
#[allow(clippy::too_many_arguments)]
fn sign_set(
    owner: &Name,
    record_type: RecordType,
    class: DNSClass,
    ttl: u32,
    rdata: &[&[u8]],
    wildcard: bool,
    catalog: &Visible<'_>,
    signer: &mut Signer<'_>,
    signed: &mut Signed,
    proofs: &mut Vec<Record>,
    out: &mut PackedRdata,
) -> Result<bool, SignError> {
    if record_type == RecordType::RRSIG {
        return Ok(false);
    }
    let Some(zone) = catalog.find(owner) else { return Ok(false) };
    let Some(keys) = keys_of(zone, signer.keys) else { return Ok(false) };
    let mut signing_owner = Cow::Borrowed(owner);
    if wildcard {
        if let Some((wildcard, next_closer)) = wildcard_source(zone, owner) {
            let (nsec_owner, nsec) = denial::wildcard_nsec(&next_closer).map_err(|_| SignError::OutOfZone)?;
            if !proofs.iter().any(|record| record.record_type() == RecordType::NSEC && record.name == nsec_owner) {
                let nsec_ttl = zone.negative_soa().ttl;
                let rrsig = rrsig_record(keys, &nsec_owner, RecordType::NSEC, nsec_ttl, &[&nsec], signer, signed)?;
                proofs.push(opaque(nsec_owner, RecordType::NSEC, nsec_ttl, nsec));
                proofs.push(rrsig);
            }
            signing_owner = Cow::Owned(wildcard);
        }
    }
    let set = RrSet { owner: &signing_owner, record_type, class, ttl, rdata };
    for key in keys.signers(record_type) {
        out.push(signer.cache.rrsig(key, &set, signer.now_s, &signer.validity)?);
        note_tag(signed, key.key_tag());
    }
    Ok(true)
}

/// The wildcard an expansion of `owner` came from and the next closer name (RFC 5155 §1.3):
/// the deepest ancestor with a `*` child is the closest encloser (a deeper one that exists
/// would have stopped the expansion, RFC 4592 §3.3.1).
fn wildcard_source(zone: &Zone, owner: &Name) -> Option<(Name, Name)> {
    let apex_labels = zone.apex().num_labels();
    let mut encloser = owner.base_name();
    while encloser.num_labels() >= apex_labels {
        let wildcard = wildcard_owner(&encloser)?;
        if matches!(zone.lookup(&wildcard, RecordType::A), Lookup::Found { wildcard: false, .. }) {
            return Some((wildcard, owner.trim_to(usize::from(encloser.num_labels()) + 1)));
        }
        if encloser.is_root() {
            break;
        }
        encloser = encloser.base_name();
    }
    None
}

/// The signed Authority section of a negative answer or a referral, with the RCODE to answer;
/// `None` when it stays as it is (a positive answer, or a zone that does not sign).
fn sign_authority(
    resolution: &Resolution,
    question: &Question,
    answers: &[Record],
    compact_ok: bool,
    catalog: &Visible<'_>,
    signer: &mut Signer<'_>,
    signed: &mut Signed,
) -> Result<Option<(Vec<Record>, ResponseCode)>, SignError> {
    if let Some(soa) = resolution.authority.iter().find(|record| record.record_type() == RecordType::SOA) {
        let name = chain_end(question, answers);
        let Some(zone) = catalog.find(name) else { return Ok(None) };
        let Some(keys) = keys_of(zone, signer.keys) else { return Ok(None) };
        let soa_rdata = rdata_wire(&soa.data).map_err(|_| SignError::MalformedRdata { record_type: RecordType::SOA })?;
        let soa_rrsig = rrsig_record(keys, &soa.name, RecordType::SOA, soa.ttl, &[&soa_rdata], signer, signed)?;
        let (nsec, rcode) = if resolution.rcode == ResponseCode::NXDomain {
            let rcode = if compact_ok { ResponseCode::NXDomain } else { ResponseCode::NoError };
            (denial::nxdomain_nsec(name), rcode)
        } else {
            (denial::nodata_nsec(name, &types_at(zone, name, question.query_type, keys)), ResponseCode::NoError)
        };
        let nsec = nsec.map_err(|_| SignError::OutOfZone)?;
        let nsec_rrsig = rrsig_record(keys, name, RecordType::NSEC, soa.ttl, &[&nsec], signer, signed)?;
        let authority = vec![soa.clone(), soa_rrsig, opaque(name.clone(), RecordType::NSEC, soa.ttl, nsec), nsec_rrsig];
        return Ok(Some((authority, rcode)));
    }
    let Some(cut) = resolution.authority.iter().find(|record| record.record_type() == RecordType::NS) else { return Ok(None) };
    let Some(zone) = catalog.find(&cut.name) else { return Ok(None) };
    let Some(keys) = keys_of(zone, signer.keys) else { return Ok(None) };
    let mut authority = resolution.authority.clone();
    let delegation_signer = match zone.lookup(&cut.name, RecordType::DS) {
        Lookup::Found { node, .. } => node.rrset(RecordType::DS).map(|set| set.records.clone()).filter(|records| !records.is_empty()),
        _ => None,
    };
    match delegation_signer {
        Some(mut records) => {
            let rdata = records
                .iter()
                .map(|record| rdata_wire(&record.data).map_err(|_| SignError::MalformedRdata { record_type: RecordType::DS }))
                .collect::<Result<Vec<_>, _>>()?;
            let slices: Vec<&[u8]> = rdata.iter().map(Vec::as_slice).collect();
            let ttl = records.iter().map(|record| record.ttl).min().unwrap_or(cut.ttl);
            for record in &mut records {
                record.name = cut.name.clone();
                record.ttl = ttl;
            }
            let rrsig = rrsig_record(keys, &cut.name, RecordType::DS, ttl, &slices, signer, signed)?;
            authority.extend(records);
            authority.push(rrsig);
        }
        None => {
            // An insecure delegation: the NSEC at the cut has NS and no DS (RFC 4035 §5.2).
            let types = types_at(zone, &cut.name, RecordType::DS, keys);
            let nsec = denial::nodata_nsec(&cut.name, &types).map_err(|_| SignError::OutOfZone)?;
            let ttl = zone.negative_soa().ttl;
            let rrsig = rrsig_record(keys, &cut.name, RecordType::NSEC, ttl, &[&nsec], signer, signed)?;
            authority.push(opaque(cut.name.clone(), RecordType::NSEC, ttl, nsec));
            authority.push(rrsig);
        }
    }
    Ok(Some((authority, resolution.rcode)))
}

/// The name a negative answer is about: the question's, or where its CNAME chain ends.
fn chain_end<'q>(question: &'q Question, answers: &'q [Record]) -> &'q Name {
    if question.query_type != RecordType::CNAME {
        if let Some(RData::CNAME(target)) = answers.iter().rev().find(|record| record.record_type() != RecordType::RRSIG).map(|record| &record.data) {
            return &target.0;
        }
    }
    &question.name
}

/// The types that exist at `name` for the NSEC of a NODATA answer: the node's (plain and
/// routed; a wildcard's for a name it covers), DNSKEY at the apex when the keys make one.
fn types_at(zone: &Zone, name: &Name, query_type: RecordType, keys: &KeySet) -> Vec<RecordType> {
    let mut types: Vec<RecordType> = match zone.lookup(name, query_type) {
        Lookup::Found { node, .. } => {
            let node = node.to_node();
            node.rrsets().iter().map(|set| set.record_type).chain(node.routed_sets().iter().map(|set| set.record_type())).collect()
        }
        Lookup::Delegation { .. } => vec![RecordType::NS],
        Lookup::NxDomain => Vec::new(),
    };
    if LowerName::new(name) == LowerName::new(zone.apex()) && keys.keys().next().is_some() {
        types.push(RecordType::DNSKEY);
    }
    types.sort_by_key(|record_type| u16::from(*record_type));
    types.dedup();
    types
}

/// The RRSIG record over one RRset that the signer makes itself (SOA, NSEC, DS).
fn rrsig_record(
    keys: &KeySet,
    owner: &Name,
    record_type: RecordType,
    ttl: u32,
    rdata: &[&[u8]],
    signer: &mut Signer<'_>,
    signed: &mut Signed,
) -> Result<Record, SignError> {
    let key = keys.for_type(record_type);
    let set = RrSet { owner, record_type, class: DNSClass::IN, ttl, rdata };
    let rrsig = signer.cache.rrsig(key, &set, signer.now_s, &signer.validity)?.to_vec();
    note_tag(signed, key.key_tag());
    Ok(opaque(owner.clone(), RecordType::RRSIG, ttl, rrsig))
}

fn note_tag(signed: &mut Signed, tag: u16) {
    if !signed.key_tags.contains(&tag) {
        signed.key_tags.push(tag);
    }
}

/// A record of a type hickory is not asked to understand here, RDATA as built.
fn opaque(name: Name, record_type: RecordType, ttl: u32, rdata: Vec<u8>) -> Record {
    Record::from_rdata(name, ttl, RData::Unknown { code: record_type, rdata: NULL::with(rdata) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{resolve, Inputs};
    use crate::client::Client;
    use crate::dnssec::key::SigningKey;
    use crate::dnssec::sign::rrsig_key_tag;
    use crate::dnssec::{Algorithm, CacheLimits};
    use crate::policy::{NoHealthData, SplitMix};
    use crate::zone::compile::{compile_all, SourceFile};
    use crate::zone::{Catalog, Viewer};
    use std::str::FromStr;

    const ZONE: &str = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n\
        www 300 A 192.0.2.10\nblog CNAME www\n*.apps A 192.0.2.80\nshop NS ns1.shop\nns1.shop A 192.0.2.101\n\
        secure NS ns1.secure\nsecure DS 60485 13 2 0000000000000000000000000000000000000000000000000000000000000000\nns1.secure A 192.0.2.102\na.b.c TXT \"deep\"\n";

    fn catalog(signed: bool) -> Catalog {
        let routes = if signed { "dnssec = true\n" } else { "" };
        compile_all(&[
            SourceFile { path: "example.com.zone".into(), text: ZONE.into() },
            SourceFile { path: "example.com.routes.toml".into(), text: routes.into() },
            SourceFile {
                path: "other.example.zone".into(),
                text: "$ORIGIN other.example.\n@ 60 SOA ns hm 1 2 3 4 60\n@ 60 NS ns\nns 60 A 192.0.2.1\nlink 60 CNAME www.example.com.\n".into(),
            },
        ])
        .unwrap()
    }

    fn keyring() -> Keyring {
        let key = SigningKey::from_private(&name("example.com."), 257, Algorithm::Ed25519, &[7; 32]).unwrap();
        let mut keys = Keyring::new();
        keys.insert(KeySet::from_keys(vec![key]).unwrap());
        keys
    }

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    /// The engine's answer to `qname`/`qtype`, the DNSKEY added, then signed.
    fn answer(catalog: &Catalog, keys: &Keyring, qname: &str, qtype: RecordType, compact_ok: bool) -> (Resolution, Result<Signed, SignError>) {
        let question = Question::query(name(qname), qtype);
        let client = Client::default();
        let view = client.view_with(None, None);
        let mut random = SplitMix::new(1);
        let mut inputs = Inputs { client: &view, health: &NoHealthData, random: &mut random, trace: None };
        let mut resolution = resolve(catalog, &question, &mut inputs);
        let visible = catalog.visible(&Viewer::default());
        dnskey_answer(&mut resolution, &question, &visible, keys);
        let mut cache = SignatureCache::new(CacheLimits::default(), 0);
        let mut signer = Signer { keys, cache: &mut cache, now_s: 1_800_000_000, validity: Validity::default() };
        let signed = sign(&mut resolution, &question, compact_ok, &visible, &mut signer);
        (resolution, signed)
    }

    fn of_type(records: &[Record], record_type: RecordType) -> Vec<&Record> {
        records.iter().filter(|record| record.record_type() == record_type).collect()
    }

    fn rdata(record: &Record) -> &[u8] {
        match &record.data {
            RData::Unknown { rdata, .. } => &rdata.anything,
            other => panic!("not opaque: {other:?}"),
        }
    }

    /// RRSIG RDATA fields: type covered, labels, original TTL.
    fn covered(rrsig: &Record) -> (u16, u8, u32) {
        let data = rdata(rrsig);
        (u16::from_be_bytes([data[0], data[1]]), data[3], u32::from_be_bytes([data[4], data[5], data[6], data[7]]))
    }

    #[test]
    fn dnskey_is_answered_at_the_apex_from_the_keys_with_or_without_a_routes_opt_in() {
        let keys = keyring();
        let tag = keys.get(&name("example.com.")).unwrap().key_signing().key_tag();
        let (resolution, signed) = answer(&catalog(true), &keys, "Example.COM.", RecordType::DNSKEY, false);
        let records = resolution.answers.records();
        let dnskeys = of_type(&records, RecordType::DNSKEY);
        assert_eq!(dnskeys.len(), 1);
        assert_eq!(dnskeys[0].name, name("Example.COM."), "the question's case");
        assert_eq!(rdata(dnskeys[0]), keys.get(&name("example.com.")).unwrap().key_signing().dnskey_rdata());
        let rrsig = of_type(&records, RecordType::RRSIG);
        assert_eq!(rrsig.len(), 1);
        assert_eq!(covered(rrsig[0]).0, u16::from(RecordType::DNSKEY));
        assert_eq!(rrsig_key_tag(rdata(rrsig[0])), Some(tag));
        assert_eq!(signed.unwrap().key_tags, vec![tag]);
        assert!(resolution.authority.is_empty());
        // Not opted in: NODATA, unsigned, though the key is there.
        let (resolution, signed) = answer(&catalog(false), &keys, "example.com.", RecordType::DNSKEY, false);
        assert!(resolution.answers.is_empty());
        assert_eq!(signed.unwrap(), Signed::default());
        assert!(of_type(&resolution.authority, RecordType::RRSIG).is_empty());
        // Opted in without a key: unsigned too.
        let (resolution, _) = answer(&catalog(true), &Keyring::new(), "example.com.", RecordType::DNSKEY, false);
        assert!(resolution.answers.is_empty());
    }

    #[test]
    fn every_answered_rrset_gets_its_rrsig_with_the_set_ttl_cname_chains_included() {
        let (resolution, _) = answer(&catalog(true), &keyring(), "blog.example.com.", RecordType::A, false);
        let records = resolution.answers.records();
        let types: Vec<RecordType> = records.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::CNAME, RecordType::RRSIG, RecordType::A, RecordType::RRSIG]);
        assert!(resolution.synthesized.is_empty(), "no wildcard made these");
        assert_eq!(covered(&records[1]).0, u16::from(RecordType::CNAME));
        assert_eq!(covered(&records[3]), (u16::from(RecordType::A), 3, 300));
        assert_eq!(records[3].name, name("www.example.com."));
        assert_eq!(records[3].ttl, 300);
        assert!(resolution.authority.is_empty(), "a positive answer needs no denial");
    }

    #[test]
    fn a_chain_from_an_unsigned_zone_signs_only_the_signed_zones_sets() {
        let (resolution, _) = answer(&catalog(true), &keyring(), "link.other.example.", RecordType::A, false);
        let records = resolution.answers.records();
        let types: Vec<RecordType> = records.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::CNAME, RecordType::A, RecordType::RRSIG]);
    }

    #[test]
    fn a_nonexistent_name_is_compact_nodata_unless_the_client_sets_co() {
        let keys = keyring();
        let (resolution, _) = answer(&catalog(true), &keys, "nope.example.com.", RecordType::A, false);
        assert_eq!(resolution.rcode, ResponseCode::NoError);
        let types: Vec<RecordType> = resolution.authority.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::SOA, RecordType::RRSIG, RecordType::NSEC, RecordType::RRSIG]);
        let nsec = &resolution.authority[2];
        assert_eq!(nsec.name, name("nope.example.com."));
        assert_eq!(rdata(nsec), denial::nxdomain_nsec(&name("nope.example.com.")).unwrap().as_slice());
        assert_eq!(nsec.ttl, 300, "min(SOA TTL, MINIMUM)");
        let (resolution, _) = answer(&catalog(true), &keys, "nope.example.com.", RecordType::A, true);
        assert_eq!(resolution.rcode, ResponseCode::NXDomain, "CO restores the RCODE (RFC 9824 §4)");
        // Unsigned zones keep the plain NXDOMAIN.
        let (resolution, _) = answer(&catalog(false), &keys, "nope.example.com.", RecordType::A, false);
        assert_eq!(resolution.rcode, ResponseCode::NXDomain);
        assert_eq!(resolution.authority.len(), 1);
    }

    #[test]
    fn nodata_lists_the_types_that_exist_dnskey_at_the_apex_and_nothing_at_an_empty_non_terminal() {
        let keys = keyring();
        let bitmap = |qname: &str, qtype: RecordType| {
            let (resolution, _) = answer(&catalog(true), &keys, qname, qtype, false);
            assert_eq!(resolution.rcode, ResponseCode::NoError);
            let nsec = of_type(&resolution.authority, RecordType::NSEC);
            assert_eq!(nsec.len(), 1, "{qname}");
            rdata(nsec[0]).to_vec()
        };
        let expected = |qname: &str, types: &[RecordType]| denial::nodata_nsec(&name(qname), types).unwrap();
        assert_eq!(bitmap("www.example.com.", RecordType::AAAA), expected("www.example.com.", &[RecordType::A]));
        assert_eq!(bitmap("example.com.", RecordType::A), expected("example.com.", &[RecordType::NS, RecordType::SOA, RecordType::DNSKEY]));
        assert_eq!(bitmap("b.c.example.com.", RecordType::TXT), expected("b.c.example.com.", &[]));
        // A name a wildcard covers: the wildcard's types, at the name asked.
        assert_eq!(bitmap("x.apps.example.com.", RecordType::AAAA), expected("x.apps.example.com.", &[RecordType::A]));
    }

    #[test]
    fn a_wildcard_expansion_is_signed_under_the_wildcard_with_the_no_closer_name_proof() {
        let (resolution, _) = answer(&catalog(true), &keyring(), "x.y.apps.example.com.", RecordType::A, false);
        assert_eq!(resolution.synthesized, vec![name("x.y.apps.example.com.")], "the engine says which set a wildcard made");
        let records = resolution.answers.records();
        let rrsig = of_type(&records, RecordType::RRSIG);
        assert_eq!(rrsig[0].name, name("x.y.apps.example.com."));
        assert_eq!(covered(rrsig[0]).1, 3, "labels of *.apps.example.com. without the *");
        let nsec = of_type(&resolution.authority, RecordType::NSEC);
        assert_eq!(nsec.len(), 1);
        let (owner, data) = denial::wildcard_nsec(&name("y.apps.example.com.")).unwrap();
        assert_eq!((&nsec[0].name, rdata(nsec[0])), (&owner, data.as_slice()));
        assert_eq!(of_type(&resolution.authority, RecordType::RRSIG).len(), 1);
    }

    #[test]
    fn referrals_carry_the_signed_ds_or_the_nsec_that_proves_there_is_none() {
        let keys = keyring();
        let (resolution, _) = answer(&catalog(true), &keys, "www.secure.example.com.", RecordType::A, false);
        assert!(!resolution.authoritative);
        let types: Vec<RecordType> = resolution.authority.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::NS, RecordType::DS, RecordType::RRSIG]);
        assert_eq!(covered(&resolution.authority[2]).0, u16::from(RecordType::DS));
        let (resolution, _) = answer(&catalog(true), &keys, "www.shop.example.com.", RecordType::A, false);
        let types: Vec<RecordType> = resolution.authority.iter().map(Record::record_type).collect();
        assert_eq!(types, [RecordType::NS, RecordType::NSEC, RecordType::RRSIG]);
        assert_eq!(rdata(&resolution.authority[1]), denial::nodata_nsec(&name("shop.example.com."), &[RecordType::NS]).unwrap().as_slice());
        assert!(of_type(&resolution.additional, RecordType::RRSIG).is_empty(), "glue is not signed");
    }

    /// Key tags: of the DNSKEY RRset, of its RRSIGs, of the RRSIGs of an answer, of a denial
    /// and of a referral's DS.
    type Served = (Vec<u16>, Vec<u16>, Vec<u16>, Vec<u16>, Vec<u16>);

    /// What the Worker serves with `keys`, as key tags.
    fn served(keys: &str) -> Served {
        let mut ring = Keyring::new();
        ring.insert(KeySet::parse(keys, &name("example.com.")).unwrap());
        let catalog = catalog(true);
        let rrsig_tags =
            |records: &[Record]| -> Vec<u16> { of_type(records, RecordType::RRSIG).iter().map(|rrsig| rrsig_key_tag(rdata(rrsig)).unwrap()).collect() };
        let (dnskey, _) = answer(&catalog, &ring, "example.com.", RecordType::DNSKEY, false);
        let records = dnskey.answers.records();
        let tags = of_type(&records, RecordType::DNSKEY).iter().map(|record| crate::dnssec::key::key_tag(rdata(record))).collect();
        let (www, _) = answer(&catalog, &ring, "www.example.com.", RecordType::A, false);
        let (nope, _) = answer(&catalog, &ring, "nope.example.com.", RecordType::A, false);
        let (secure, _) = answer(&catalog, &ring, "www.secure.example.com.", RecordType::A, false);
        (tags, rrsig_tags(&records), rrsig_tags(&www.answers.records()), rrsig_tags(&nope.authority), rrsig_tags(&secure.authority))
    }

    #[test]
    fn during_each_phase_of_a_rollover_dnskey_carries_its_keys_and_the_right_keys_sign() {
        use crate::dnssec::rollover::{take, Step, Timing, ZoneTtls};
        let zone = name("example.com.");
        let key = |flags, seed| SigningKey::from_private(&zone, flags, Algorithm::EcdsaP256Sha256, &[seed; 32]).unwrap();
        let timing = Timing::new(ZoneTtls { dnskey_s: 3_600, largest_s: 3_600, negative_s: 300 });
        let (t0, later) = (1_800_000_000, 1_800_000_000 + 30 * 86_400);
        let step = |secret: &str, step, now, new| take(KeySet::parse(secret, &zone).unwrap(), step, &timing, now, true, new).unwrap().secret();

        // A CSK: old alone; new published (both sign DNSKEY, the old one the data); switched
        // (both sign DNSKEY, the new one the data) before and after ds-submitted; new alone.
        let (old, new) = (key(257, 1), key(257, 2));
        let (o, n) = (old.key_tag(), new.key_tag());
        let idle = KeySet::from_keys(vec![old]).unwrap().secret();
        let published = step(&idle, Step::Start, t0, Some(new));
        let switched = step(&published, Step::Switch, t0 + 1, None);
        let ds_seen = step(&switched, Step::DsSubmitted, t0 + 2, None);
        let done = step(&ds_seen, Step::Finish, later, None);
        assert_eq!(served(&idle), (vec![o], vec![o], vec![o], vec![o, o], vec![o]));
        assert_eq!(served(&published), (vec![o, n], vec![o, n], vec![o], vec![o, o], vec![o]));
        assert_eq!(served(&switched), (vec![n, o], vec![n, o], vec![n], vec![n, n], vec![n]));
        assert_eq!(served(&ds_seen), (vec![n, o], vec![n, o], vec![n], vec![n, n], vec![n]));
        assert_eq!(served(&done), (vec![n], vec![n], vec![n], vec![n, n], vec![n]));

        // A pair's ZSK (pre-publication): the KSK alone signs DNSKEY throughout.
        let (ksk, old, new) = (key(257, 3), key(256, 4), key(256, 5));
        let (k, o, n) = (ksk.key_tag(), old.key_tag(), new.key_tag());
        let idle = KeySet::from_keys(vec![ksk, old]).unwrap().secret();
        let published = step(&idle, Step::Start, t0, Some(new));
        let switched = step(&published, Step::Switch, t0 + 1, None);
        let done = step(&switched, Step::Finish, later, None);
        assert_eq!(served(&published), (vec![k, o, n], vec![k], vec![o], vec![o, o], vec![o]));
        assert_eq!(served(&switched), (vec![k, n, o], vec![k], vec![n], vec![n, n], vec![n]));
        assert_eq!(served(&done), (vec![k, n], vec![k], vec![n], vec![n, n], vec![n]));

        // A pair's KSK (double-KSK): both KSKs sign DNSKEY until the old one goes; the ZSK
        // signs the data throughout.
        let (old, zsk, new) = (key(257, 6), key(256, 7), key(257, 8));
        let (o, z, n) = (old.key_tag(), zsk.key_tag(), new.key_tag());
        let idle = KeySet::from_keys(vec![old, zsk]).unwrap().secret();
        let published = step(&idle, Step::Start, t0, Some(new));
        let switched = step(&published, Step::Switch, t0 + 1, None);
        let ds_seen = step(&switched, Step::DsSubmitted, t0 + 2, None);
        let done = step(&ds_seen, Step::Finish, later, None);
        assert_eq!(served(&published), (vec![o, z, n], vec![o, n], vec![z], vec![z, z], vec![z]));
        assert_eq!(served(&switched), (vec![n, z, o], vec![n, o], vec![z], vec![z, z], vec![z]));
        assert_eq!(served(&done), (vec![n, z], vec![n], vec![z], vec![z, z], vec![z]));
    }

    #[test]
    fn the_cache_signs_a_hot_answer_once() {
        let catalog = catalog(true);
        let keys = keyring();
        let question = Question::query(name("www.example.com."), RecordType::A);
        let visible = catalog.visible(&Viewer::default());
        let mut cache = SignatureCache::new(CacheLimits::default(), 0);
        let mut first = None;
        for _ in 0..3 {
            let client = Client::default();
            let view = client.view_with(None, None);
            let mut random = SplitMix::new(1);
            let mut inputs = Inputs { client: &view, health: &NoHealthData, random: &mut random, trace: None };
            let mut resolution = resolve(&catalog, &question, &mut inputs);
            let mut signer = Signer { keys: &keys, cache: &mut cache, now_s: 1_800_000_000, validity: Validity::default() };
            sign(&mut resolution, &question, false, &visible, &mut signer).unwrap();
            let records = resolution.answers.into_records();
            assert!(first.get_or_insert_with(|| records.clone()) == &records);
        }
        assert_eq!(cache.counts(), (2, 1), "two hits, one signature");
    }
}
