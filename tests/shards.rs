//! Split snapshots: a shard alone answers every name of its range exactly as the whole
//! catalog does. Every zone of the repository and the tests (routed sets, views, nested
//! zones, delegations) plus a zone built to cross shard boundaries (wildcards, empty
//! non-terminals, cuts with glue past the boundary, CNAME chains and aliases between
//! shards and zones) is split into shards as small as one name, and every name, names
//! below them, wildcard-matched and missing names are asked of both, for many types, as a
//! public client and as one admitted to the private view.

use std::str::FromStr;

use edgedns::answer::{resolve_visible, Inputs};
use edgedns::policy::{ClientView, HealthView, Random, SplitMix};
use edgedns::snapshot::{self, Index};
use edgedns::zone::compile::{compile_all, SourceFile};
use edgedns::zone::{Catalog, Viewer};
use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};

#[path = "support/sources.rs"]
mod sources_support;
use sources_support::repository_sources;

const TOKEN: &str = "corp-view-token-0123456789";

/// Crosses shard boundaries on purpose: with one name per shard every reference below
/// points into another shard.
const CROSSING: &str = "\
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.53
; a wildcard whose closest encloser is the apex, and one deeper
* A 192.0.2.10
*.wild TXT \"wild\"
wild MX 10 mail
; an empty non-terminal whose only descendant sorts far away
a.b.c.deep A 192.0.2.20
; a chain through three shards and into another zone
start CNAME middle
middle CNAME zzz-end
zzz-end CNAME www.example.com.
loop1 CNAME loop2
loop2 CNAME loop1
; a delegation whose glue sorts after the cut, and one whose name server is elsewhere
sub NS ns.sub
sub NS ns2.crossing.test.
ns.sub A 192.0.2.30
ns2 A 192.0.2.31
ns2 AAAA 2001:db8::31
sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
; a name that sorts before the wildcard label
!bang A 192.0.2.40
; nested zone below
nest NS ns1.nest
ns1.nest A 192.0.2.50
";

const NESTED: &str = "\
$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.50
host A 192.0.2.51
alias CNAME start.crossing.test.
";

fn sources() -> Vec<SourceFile> {
    let mut sources = repository_sources();
    sources.push(SourceFile { path: "crossing.test.zone".into(), text: CROSSING.into() });
    sources.push(SourceFile { path: "nest.crossing.test.zone".into(), text: NESTED.into() });
    sources.push(SourceFile { path: "chain.test.zone".into(), text: chain_zone() });
    sources
}

/// A CNAME chain longer than the engine follows, names joining it part way (reached first by
/// a long path when a shard holds the chain's start), and a wildcard CNAME into it.
fn chain_zone() -> String {
    let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
    for link in 1..=30 {
        text.push_str(&format!("c{link:02} CNAME c{:02}\n", link + 1));
    }
    text.push_str("c31 A 192.0.2.61\njoin-a CNAME c10\njoin-b CNAME c20\nzz-join CNAME c25\n*.w CNAME c15\n");
    text
}

/// Some checks down, so failover and weighted sets take their other branches.
struct SomeDown;

impl HealthView for SomeDown {
    fn is_healthy(&self, check: &str) -> Option<bool> {
        Some(!matches!(check, "site-a" | "us" | "pool-2"))
    }
}

/// Every name worth asking: each node, names below it, a wildcard match, a missing sibling.
fn names(catalog: &Catalog) -> Vec<Name> {
    let mut names = Vec::new();
    let zones = catalog.zones().iter().chain(catalog.views().iter().flat_map(|view| view.zones.zones()));
    for zone in zones {
        for (name, _) in zone.nodes() {
            let name = Name::from(name.into_owned());
            names.push(name.clone());
            for label in ["zz-missing", "a", "!b", "-", "0"] {
                if let Ok(below) = name.prepend_label(label) {
                    names.push(below.clone());
                    if let Ok(deeper) = below.prepend_label("x") {
                        names.push(deeper);
                    }
                }
            }
        }
        if let Ok(sibling) = zone.apex().prepend_label("zzzz") {
            names.push(sibling);
        }
    }
    for outside in ["example.net.", "com.", ".", "zz.", "a.test."] {
        names.push(Name::from_str(outside).unwrap());
    }
    names.sort();
    names.dedup();
    names
}

const TYPES: [RecordType; 12] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::NS,
    RecordType::DS,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SOA,
    RecordType::ANY,
    RecordType::HTTPS,
    RecordType::SRV,
    RecordType::PTR,
];

fn answer(catalog: &Catalog, viewer: &Viewer, name: &Name, record_type: RecordType) -> String {
    let client = ClientView { country: Some("JP".into()), continent: Some("AS".into()), ..ClientView::default() };
    let mut random = SplitMix::new(11);
    let mut inputs = Inputs { client: &client, health: &SomeDown, random: &mut random, trace: None };
    let question = Query::query(name.clone(), record_type);
    format!("{:?}", resolve_visible(&catalog.visible(viewer), &question, &mut inputs))
}

fn check_split(shard_bytes: usize) -> usize {
    let whole = compile_all(&sources()).unwrap_or_else(|errors| panic!("{errors:?}"));
    let built = snapshot::build(&whole, shard_bytes, 1).unwrap();
    let index = Index::decode(&built.manifest_bytes).unwrap();
    assert_eq!(index.manifest(), &built.manifest);
    let shards: Vec<Catalog> = built.shards.iter().enumerate().map(|(n, bytes)| index.manifest().decode_shard(n, bytes).unwrap()).collect();
    let viewers = [Viewer::default(), Viewer::new(Some("203.0.113.9".parse().unwrap()), Some(TOKEN))];
    let mut asked = 0;
    for name in names(&whole) {
        let n = index.shard_for(&name);
        for viewer in &viewers {
            for record_type in TYPES {
                let expected = answer(&whole, viewer, &name, record_type);
                let got = answer(&shards[n], viewer, &name, record_type);
                assert_eq!(got, expected, "{name} {record_type} (shard {n} of {}, {shard_bytes}-byte shards)", shards.len());
                asked += 1;
            }
            if !index.hosts(&name) {
                assert!(whole.visible(viewer).find(&name).is_none(), "{name}: the manifest says no zone holds it");
            }
        }
    }
    // The whole catalog comes back from the shards' ranges.
    let reassembled = index.manifest().assemble(&built.shards).unwrap();
    assert_eq!(snapshot::encode(&reassembled).unwrap(), snapshot::encode(&whole).unwrap());
    assert!(asked > 10_000, "{asked}");
    shards.len()
}

#[test]
fn one_name_per_shard_answers_like_the_whole_catalog() {
    let shards = check_split(1);
    assert!(shards > 100, "{shards} shards");
}

#[test]
fn small_shards_answer_like_the_whole_catalog() {
    let shards = check_split(400);
    assert!(shards > 5, "{shards} shards");
}

#[test]
fn the_default_size_makes_one_shard_of_small_zones() {
    assert_eq!(check_split(snapshot::DEFAULT_SHARD_BYTES), 1);
}

#[test]
fn a_large_zone_splits_and_each_shard_stays_near_the_target() {
    let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
    for index in 0..50_000u32 {
        text.push_str(&format!("h{index} A 10.{}.{}.{}\n", index >> 16, (index >> 8) & 255, index & 255));
    }
    let whole = compile_all(&[SourceFile { path: "big.test.zone".into(), text }]).unwrap();
    let built = snapshot::build(&whole, 64 * 1024, 1).unwrap();
    assert!(built.shards.len() >= 10, "{}", built.shards.len());
    for (n, shard) in built.shards.iter().enumerate() {
        // Names compress in the shard, so a shard is smaller than its estimate.
        assert!(shard.len() < 80 * 1024, "shard {n}: {} bytes", shard.len());
    }
    assert!(built.manifest_bytes.len() < 4 * 1024, "manifest {} bytes", built.manifest_bytes.len());
    let index = Index::new(built.manifest.clone()).unwrap();
    for host in ["h0.big.test.", "h31337.big.test.", "h49999.big.test.", "nope.big.test."] {
        let name = Name::from_str(host).unwrap();
        let n = index.shard_for(&name);
        let shard = index.manifest().decode_shard(n, &built.shards[n]).unwrap();
        for record_type in [RecordType::A, RecordType::TXT] {
            assert_eq!(answer(&shard, &Viewer::default(), &name, record_type), answer(&whole, &Viewer::default(), &name, record_type));
        }
    }
}

#[test]
fn corrupt_shards_and_manifests_are_errors() {
    let whole = compile_all(&sources()).unwrap();
    let built = snapshot::build(&whole, 400, 1).unwrap();
    assert!(snapshot::Manifest::decode(b"EDGEDNS5garbage").is_err());
    assert!(snapshot::Manifest::decode(&built.manifest_bytes[..built.manifest_bytes.len() / 2]).is_err());
    // A shard under another shard's key, and a shard from nowhere.
    assert!(built.manifest.decode_shard(0, b"not a shard").is_err());
    assert!(built.manifest.assemble(&built.shards[1..]).is_err());
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..2_000 {
        let mut random = SplitMix::new(state);
        state = state.wrapping_add(1);
        let n = random.below(built.shards.len() as u32) as usize;
        let mut corrupt = built.shards[n].clone();
        let position = 8 + random.below((corrupt.len() - 8) as u32) as usize;
        corrupt[position] ^= (random.below(255) + 1) as u8;
        let _ = built.manifest.decode_shard(n, &corrupt);
    }
}
