//! What changes between two catalogs: the one being served and the one about to be
//! published (`edgedns diff`). A plain function of the two, with no I/O.
//!
//! Plain RRsets are compared record by record (RFC 2181 §5: a set is its records, with one
//! TTL), so a changed value shows as one record removed and one added, and a changed TTL as
//! one line. A routed record set is compared as a whole (its policy tree and TTL): a tree has
//! no useful record-level difference to show.

use std::collections::BTreeSet;

use hickory_proto::rr::{LowerName, Name, Record, RecordType};

mod render;

pub use render::{Against, Format};

use super::{Catalog, Node, Zone};
use crate::health::spec::HealthCheckSpec;

/// Everything that differs between two catalogs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogDiff {
    /// Per zone, sorted by apex.
    pub zones: Vec<ZoneChange>,
    /// Health-check declarations, sorted by id.
    pub health_checks: Vec<HealthCheckChange>,
    /// Whether the operator's latency matrix differs.
    pub latency_matrix_changed: bool,
}

impl CatalogDiff {
    /// Whether the two catalogs answer the same.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty() && self.health_checks.is_empty() && !self.latency_matrix_changed
    }
}

/// How one zone changes.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneChange {
    /// A zone only in the new catalog.
    Added {
        /// Its apex.
        apex: Name,
        /// Its records.
        records: usize,
        /// Its routed record sets.
        routed_sets: usize,
    },
    /// A zone only in the old catalog.
    Removed {
        /// Its apex.
        apex: Name,
    },
    /// A zone in both, with different contents.
    Changed {
        /// Its apex.
        apex: Name,
        /// The differences, by owner name (canonical order), then type.
        changes: Vec<RecordChange>,
    },
}

/// One difference inside a zone.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordChange {
    /// A record only in the new zone (with its set's new TTL).
    Added(Record),
    /// A record only in the old zone (with its set's old TTL).
    Removed(Record),
    /// The TTL of an RRset that exists in both.
    TtlChanged {
        /// The owner.
        owner: Name,
        /// The type.
        record_type: RecordType,
        /// The old TTL.
        old: u32,
        /// The new TTL.
        new: u32,
    },
    /// A routed record set only in the new zone.
    RoutedAdded {
        /// The owner.
        owner: Name,
        /// The type.
        record_type: RecordType,
        /// Its TTL.
        ttl: u32,
    },
    /// A routed record set only in the old zone.
    RoutedRemoved {
        /// The owner.
        owner: Name,
        /// The type.
        record_type: RecordType,
    },
    /// A routed record set in both whose policy tree or TTL differs.
    RoutedChanged {
        /// The owner.
        owner: Name,
        /// The type.
        record_type: RecordType,
        /// The old TTL.
        old_ttl: u32,
        /// The new TTL.
        new_ttl: u32,
    },
}

/// How one health-check declaration changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckChange {
    /// Declared only in the new catalog.
    Added(String),
    /// Declared only in the old catalog.
    Removed(String),
    /// Declared in both, differently (target, interval, threshold...).
    Changed(String),
}

/// Compares the catalog being served (`old`) with the one to publish (`new`).
pub fn diff(old: &Catalog, new: &Catalog) -> CatalogDiff {
    let apexes: BTreeSet<&Name> = old.zones().iter().chain(new.zones()).map(Zone::apex).collect();
    let mut zones = Vec::new();
    for apex in apexes {
        match (zone_of(old, apex), zone_of(new, apex)) {
            (None, Some(zone)) => zones.push(ZoneChange::Added {
                apex: apex.clone(),
                records: zone.record_count(),
                routed_sets: zone.nodes().map(|(_, node)| node.routed_sets().len()).sum(),
            }),
            (Some(_), None) => zones.push(ZoneChange::Removed { apex: apex.clone() }),
            (Some(old_zone), Some(new_zone)) => {
                let changes = zone_changes(old_zone, new_zone);
                if !changes.is_empty() {
                    zones.push(ZoneChange::Changed { apex: apex.clone(), changes });
                }
            }
            (None, None) => {}
        }
    }
    CatalogDiff {
        zones,
        health_checks: health_check_changes(old.health_checks(), new.health_checks()),
        latency_matrix_changed: old.latency_matrix() != new.latency_matrix(),
    }
}

/// The zone of exactly this apex (not one that contains it).
fn zone_of<'c>(catalog: &'c Catalog, apex: &Name) -> Option<&'c Zone> {
    catalog.zones().iter().find(|zone| zone.apex() == apex)
}

/// The differences between two versions of one zone.
fn zone_changes(old: &Zone, new: &Zone) -> Vec<RecordChange> {
    let owners: BTreeSet<LowerName> = old.nodes().chain(new.nodes()).filter(|(_, node)| !node.is_empty()).map(|(owner, _)| owner.into_owned()).collect();
    let empty = Node::default();
    let mut changes = Vec::new();
    for owner in owners {
        let name = Name::from(owner);
        let old_node = old.node(&name);
        let new_node = new.node(&name);
        node_changes(&name, old_node.as_deref().unwrap_or(&empty), new_node.as_deref().unwrap_or(&empty), &mut changes);
    }
    changes
}

/// The differences at one owner name: plain RRsets by type, then routed sets by type.
fn node_changes(owner: &Name, old: &Node, new: &Node, changes: &mut Vec<RecordChange>) {
    let types: BTreeSet<u16> = old.rrsets().iter().chain(new.rrsets()).map(|set| u16::from(set.record_type)).collect();
    for record_type in types.into_iter().map(RecordType::from) {
        let old_set = old.rrset(record_type);
        let new_set = new.rrset(record_type);
        let old_records = old_set.map(|set| set.records.as_slice()).unwrap_or_default();
        let new_records = new_set.map(|set| set.records.as_slice()).unwrap_or_default();
        if let (Some(old_set), Some(new_set)) = (old_set, new_set) {
            if old_set.ttl != new_set.ttl {
                changes.push(RecordChange::TtlChanged { owner: owner.clone(), record_type, old: old_set.ttl, new: new_set.ttl });
            }
        }
        // Records are compared by data only: the TTL is the set's, reported above.
        let in_set = |records: &[Record], record: &Record| records.iter().any(|other| other.data == record.data);
        changes.extend(old_records.iter().filter(|r| !in_set(new_records, r)).cloned().map(RecordChange::Removed));
        changes.extend(new_records.iter().filter(|r| !in_set(old_records, r)).cloned().map(RecordChange::Added));
    }
    let routed_types: BTreeSet<u16> = old.routed_sets().iter().chain(new.routed_sets()).map(|set| set.record_type).collect();
    for record_type in routed_types.into_iter().map(RecordType::from) {
        let owner = owner.clone();
        match (old.routed(record_type), new.routed(record_type)) {
            (None, Some(set)) => changes.push(RecordChange::RoutedAdded { owner, record_type, ttl: set.ttl }),
            (Some(_), None) => changes.push(RecordChange::RoutedRemoved { owner, record_type }),
            (Some(old_set), Some(new_set)) if old_set.ttl != new_set.ttl || old_set.rule != new_set.rule => {
                changes.push(RecordChange::RoutedChanged { owner, record_type, old_ttl: old_set.ttl, new_ttl: new_set.ttl });
            }
            _ => {}
        }
    }
}

fn health_check_changes(
    old: &std::collections::BTreeMap<String, HealthCheckSpec>,
    new: &std::collections::BTreeMap<String, HealthCheckSpec>,
) -> Vec<HealthCheckChange> {
    let ids: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    ids.into_iter()
        .filter_map(|id| match (old.get(id), new.get(id)) {
            (None, Some(_)) => Some(HealthCheckChange::Added(id.clone())),
            (Some(_), None) => Some(HealthCheckChange::Removed(id.clone())),
            (Some(a), Some(b)) if a != b => Some(HealthCheckChange::Changed(id.clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::compile::{compile_all, SourceFile};

    const ZONE: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n\
                        www A 192.0.2.1\nwww A 192.0.2.2\nmail MX 10 mx\nmx A 192.0.2.25\n";

    const ROUTES: &str = "[health_checks.a]\ntype = \"tcp\"\nhost = \"192.0.2.10\"\nport = 443\n\n\
                          [[records]]\nname = \"api\"\ntype = \"A\"\nttl = 60\n\n\
                          [[records.weighted]]\nweight = 80\nhealth_check = \"a\"\nvalues = [\"192.0.2.10\"]\n\n\
                          [[records.weighted]]\nweight = 20\nvalues = [\"192.0.2.11\"]\n";

    fn catalog(files: &[(&str, &str)]) -> Catalog {
        let sources: Vec<SourceFile> = files.iter().map(|(path, text)| SourceFile { path: (*path).to_owned(), text: (*text).to_owned() }).collect();
        compile_all(&sources).unwrap()
    }

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn changes(old: &Catalog, new: &Catalog) -> Vec<String> {
        match diff(old, new).zones.as_slice() {
            [ZoneChange::Changed { changes, .. }] => changes.iter().map(ToString::to_string).collect(),
            other => panic!("expected one changed zone, got {other:?}"),
        }
    }

    #[test]
    fn the_same_sources_make_no_changes() {
        let old = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let new = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let difference = diff(&old, &new);
        assert!(difference.is_empty(), "{difference:?}");
        assert_eq!(difference.to_string(), "no changes");
    }

    #[test]
    fn zones_added_and_removed() {
        let old = catalog(&[("example.com.zone", ZONE)]);
        let new = catalog(&[("example.net.zone", ZONE), ("example.net.routes.toml", ROUTES)]);
        let difference = diff(&old, &new);
        assert_eq!(
            difference.zones,
            [ZoneChange::Removed { apex: name("example.com.") }, ZoneChange::Added { apex: name("example.net."), records: 7, routed_sets: 1 },]
        );
        assert_eq!(difference.health_checks, [HealthCheckChange::Added("a".to_owned())]);
        assert_eq!(difference.to_string(), "zone example.com.: removed\nzone example.net.: added (7 records, 1 routed record sets)\nhealth check a: added");
    }

    #[test]
    fn records_added_removed_and_ttls_changed() {
        let old = catalog(&[("example.com.zone", ZONE)]);
        let edited = ZONE.replace("www A 192.0.2.2\n", "www 60 A 192.0.2.3\n").replace("mail MX 10 mx\n", "") + "new TXT \"hello\"\n";
        let new = catalog(&[("example.com.zone", &edited)]);
        assert_eq!(
            changes(&old, &new),
            [
                // Canonical order of owners (RFC 4034 §6.1): mail, new, www.
                "- mail.example.com. 300 IN MX 10 mx.example.com.",
                "+ new.example.com. 300 IN TXT hello",
                "~ www.example.com. A TTL 300 -> 60",
                "- www.example.com. 300 IN A 192.0.2.2",
                "+ www.example.com. 60 IN A 192.0.2.3",
            ]
        );
    }

    #[test]
    fn record_order_and_owner_case_are_not_changes() {
        let old = catalog(&[("example.com.zone", ZONE)]);
        let reordered = ZONE.replace("www A 192.0.2.1\nwww A 192.0.2.2\n", "WWW A 192.0.2.2\nwww A 192.0.2.1\n");
        assert!(diff(&old, &catalog(&[("example.com.zone", &reordered)])).is_empty());
    }

    #[test]
    fn routed_sets_are_compared_as_a_whole() {
        let old = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let reweighted = ROUTES.replace("weight = 80", "weight = 70");
        let new = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", &reweighted)]);
        assert_eq!(changes(&old, &new), ["~ api.example.com. A routed set changed"]);
        let longer = ROUTES.replace("ttl = 60", "ttl = 120");
        let new = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", &longer)]);
        assert_eq!(changes(&old, &new), ["~ api.example.com. A routed set changed (TTL 60 -> 120)"]);
        // Dropping the routes file removes the set and the check it declared.
        let plain = catalog(&[("example.com.zone", ZONE)]);
        assert_eq!(changes(&old, &plain), ["- api.example.com. A routed set"]);
        assert_eq!(diff(&old, &plain).health_checks, [HealthCheckChange::Removed("a".to_owned())]);
        assert_eq!(changes(&plain, &old), ["+ api.example.com. 60 A routed set"]);
    }

    #[test]
    fn a_changed_health_check_is_reported() {
        let old = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let moved = ROUTES.replace("port = 443", "port = 8443");
        let difference = diff(&old, &catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", &moved)]));
        assert!(difference.zones.is_empty(), "{difference:?}");
        assert_eq!(difference.health_checks, [HealthCheckChange::Changed("a".to_owned())]);
        assert!(!difference.is_empty());
    }

    #[test]
    fn a_decoded_snapshot_compares_equal_to_its_sources() {
        let compiled = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let decoded = crate::snapshot::decode(&crate::snapshot::encode(&compiled).unwrap()).unwrap();
        assert!(diff(&decoded, &compiled).is_empty());
    }

    fn against() -> Against {
        Against { version: Some("v1".to_owned()), place: "remote KV binding ZONES".to_owned() }
    }

    #[test]
    fn markdown_summarises_and_fences_every_change_so_no_value_can_break_out() {
        let old = catalog(&[("example.com.zone", ZONE)]);
        // A TXT value holding a fence of its own, and a changed TTL.
        let changed = ZONE.replace("www A 192.0.2.2", "www A 192.0.2.3\nnote TXT \"```|x|\"").replace("mail MX", "mail 60 MX");
        let new = catalog(&[("example.com.zone", &changed), ("example.net.zone", &ZONE.replace("example.com", "example.net"))]);
        let text = diff(&old, &new).render(&against(), Format::Markdown);
        assert!(text.contains("Compared with the served snapshot `v1`."), "{text}");
        assert!(text.contains("**1 zone(s) added, 0 removed, 1 changed**: 2 record(s) added, 1 removed, 1 TTL change(s)"), "{text}");
        assert!(text.contains("| `example.net.` | added (7 records, 0 routed record sets) |"), "{text}");
        assert!(text.contains("| `example.com.` | 4 change(s) |"), "{text}");
        // The value's triple backtick sits inside a four-backtick fence.
        let open = text.find("````diff\n").expect(&text);
        let close = text[open + 8..].find("\n````\n").expect(&text) + open + 8;
        let block = &text[open..close];
        assert!(block.contains("+ www.example.com. 300 IN A 192.0.2.3") && block.contains("- www.example.com. 300 IN A 192.0.2.2"), "{block}");
        assert!(block.contains("```") && block.contains("~ mail.example.com. MX TTL 300 -> 60"), "{block}");
    }

    #[test]
    fn markdown_and_json_say_when_nothing_changes_or_nothing_was_published() {
        let same = catalog(&[("example.com.zone", ZONE)]);
        let empty = diff(&same, &same);
        assert!(empty.render(&against(), Format::Markdown).contains("**No changes**"));
        assert_eq!(empty.json(&against())["changed"], false);
        let first = diff(&Catalog::default(), &same);
        let nothing = Against { version: None, place: "remote KV binding ZONES".to_owned() };
        assert!(first.render(&nothing, Format::Markdown).contains("Nothing is published there yet"));
        assert!(first
            .render(&nothing, Format::Text)
            .starts_with("nothing published yet (remote KV binding ZONES): every zone is new\nzone example.com.: added"));
        assert_eq!(first.json(&nothing)["against"]["version"], serde_json::Value::Null);
    }

    #[test]
    fn json_lists_every_change_with_its_fields() {
        let old = catalog(&[("example.com.zone", ZONE), ("example.com.routes.toml", ROUTES)]);
        let new = catalog(&[
            ("example.com.zone", &ZONE.replace("www A 192.0.2.2", "www A 192.0.2.3")),
            ("example.com.routes.toml", &ROUTES.replace("weight = 80", "weight = 70").replace("port = 443", "port = 8443")),
        ]);
        let report = diff(&old, &new).json(&against());
        assert_eq!(report["changed"], true);
        assert_eq!(report["summary"]["records_added"], 1);
        assert_eq!(report["summary"]["routed_sets_changed"], 1);
        assert_eq!(report["health_checks"], serde_json::json!([{"id": "a", "change": "changed"}]));
        let changes = report["zones"][0]["changes"].as_array().unwrap();
        assert!(changes.contains(&serde_json::json!({"op": "add", "owner": "www.example.com.", "ttl": 300, "type": "A", "data": "192.0.2.3"})), "{changes:?}");
        assert!(
            changes.contains(&serde_json::json!({"op": "change_routed", "owner": "api.example.com.", "type": "A", "old_ttl": 60, "new_ttl": 60})),
            "{changes:?}"
        );
    }
}
