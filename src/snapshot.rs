//! The snapshot: the binary image of compiled zones that the CLI publishes to KV and the
//! Worker decodes once per isolate.
//!
//! Layout: the 8-byte magic `EDGEDNS5`, then a postcard-encoded [`Image`] (public zones, health checks, latency matrix, private views). Each zone's
//! records are DNS wire-format buffers (names compressed across records, as in a message),
//! so the image is compact and decoding reuses the wire decoder. hickory's encoder addresses
//! at most 65,535 bytes (it is made for messages), so a zone's records are split into chunks
//! of at most that size, each with its own compression context.
//!
//! KV keys (publishing is atomic because readers only follow the pointer):
//! * `snapshot:<version>`: an image, written first;
//! * `snapshot:current`: the version readers should load, written after the image;
//! * `sources:<version>`: the zone sources the image was compiled from (JSON,
//!   [`sources_to_json`]), written beside the image, so the admin API can recompile every
//!   zone with one replaced;
//! * `snapshot:history`: publishing's bookkeeping (answering never reads it): the last
//!   [`HISTORY_LENGTH`] versions published, newest first ([`record`]), which `edgedns versions`
//!   and `GET /admin/zones` list and a rollback points `snapshot:current` back along
//!   ([`rollback_target`]). Images and sources of versions that fall off its end are deleted
//!   ([`version_keys`]).

use hickory_proto::rr::{Name, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::zone::compile::SourceFile;
use crate::zone::routes::{HealthCheckSpec, RoutedSet};
use crate::zone::{Access, Catalog, View, Zone};

/// The KV key holding the current version.
pub const CURRENT_KEY: &str = "snapshot:current";
/// First bytes of every image; the digit is the format version.
pub const MAGIC: &[u8; 8] = b"EDGEDNS5";

/// The KV key of the publish history (JSON, [`history_from_json`]).
pub const HISTORY_KEY: &str = "snapshot:history";
/// How many published versions the history keeps; older images are deleted from KV.
pub const HISTORY_LENGTH: usize = 10;

/// The KV key of an image version.
pub fn version_key(version: &str) -> String {
    format!("snapshot:{version}")
}

/// The KV key of the sources a version was compiled from.
pub fn sources_key(version: &str) -> String {
    format!("sources:{version}")
}

/// Every KV key a published version occupies (deleted together when it leaves the history).
pub fn version_keys(version: &str) -> [String; 2] {
    [version_key(version), sources_key(version)]
}

/// The value of `sources:<version>`: `{"files": [{"path": "...", "text": "..."}]}`.
#[derive(Serialize, Deserialize)]
struct Sources {
    files: Vec<SourceFile>,
}

/// The sources key's value for these files.
pub fn sources_to_json(files: &[SourceFile]) -> String {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        files: &'a [SourceFile],
    }
    // Strings only: serializing cannot fail.
    serde_json::to_string(&Borrowed { files }).unwrap_or_else(|_| r#"{"files":[]}"#.to_owned())
}

/// Reads a sources key's value.
pub fn sources_from_json(text: &str) -> Result<Vec<SourceFile>, String> {
    serde_json::from_str::<Sources>(text).map(|sources| sources.files).map_err(|e| format!("not a list of zone sources: {e}"))
}

#[derive(Serialize, Deserialize)]
struct Image {
    zones: Vec<ZoneImage>,
    health_checks: BTreeMap<String, HealthCheckSpec>,
    latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
    /// Private views, each with its own zones.
    views: Vec<ViewImage>,
}

#[derive(Serialize, Deserialize)]
struct ViewImage {
    name: String,
    /// Client networks in presentation form.
    networks: Vec<String>,
    token_sha256: Option<[u8; 32]>,
    zones: Vec<ZoneImage>,
}

#[derive(Serialize, Deserialize)]
struct ZoneImage {
    /// The apex in presentation form.
    apex: String,
    /// The records, in chunks of at most 65,535 bytes.
    chunks: Vec<RecordChunk>,
    /// The routed record sets (policy trees).
    routed: Vec<RoutedSet>,
}

#[derive(Serialize, Deserialize)]
struct RecordChunk {
    /// How many records `records` holds.
    count: u32,
    /// The records in wire format, back to back, sharing one compression context.
    records: Vec<u8>,
}

/// Why an image could not be decoded (the Worker keeps its last good catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// The magic bytes are missing: not an image, or another format version.
    BadMagic,
    /// The container is corrupt.
    Container,
    /// A zone's records are corrupt.
    Records {
        /// The zone.
        apex: String,
    },
    /// Records that cannot form a zone (no SOA, owner outside the zone).
    Zone {
        /// The zone.
        apex: String,
    },
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadMagic => write!(f, "not a snapshot image (bad magic)"),
            Self::Container => write!(f, "corrupt snapshot container"),
            Self::Records { apex } => write!(f, "corrupt records for zone {apex}"),
            Self::Zone { apex } => write!(f, "records for zone {apex} do not form a zone"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Why an image could not be encoded.
#[derive(Debug)]
pub struct EncodeError(pub String);

/// Encodes a catalog as an image.
pub fn encode(catalog: &Catalog) -> Result<Vec<u8>, EncodeError> {
    let views = catalog
        .views()
        .iter()
        .map(|view| {
            Ok(ViewImage {
                name: view.name.clone(),
                networks: view.access.networks.iter().map(ToString::to_string).collect(),
                token_sha256: view.access.token_sha256,
                zones: encode_zones(&view.zones)?,
            })
        })
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let mut bytes = MAGIC.to_vec();
    let body = postcard::to_allocvec(&Image {
        zones: encode_zones(catalog)?,
        health_checks: catalog.health_checks().clone(),
        latency_matrix: catalog.latency_matrix().clone(),
        views,
    }).map_err(|e| EncodeError(e.to_string()))?;
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

fn encode_zones(catalog: &Catalog) -> Result<Vec<ZoneImage>, EncodeError> {
    let mut zones = Vec::with_capacity(catalog.zones().len());
    for zone in catalog.zones() {
        let nodes = sorted_nodes(zone);
        let records: Vec<&Record> =
            nodes.iter().flat_map(|(_, node)| node.rrsets().iter().flat_map(|set| set.records.iter())).collect();
        let chunks = encode_chunks(&records)?;
        let mut routed: Vec<RoutedSet> = sorted_nodes(zone).iter().flat_map(|(_, node)| node.routed_sets().iter().cloned()).collect();
        routed.sort_by(|a, b| (a.name.as_str(), a.record_type).cmp(&(b.name.as_str(), b.record_type)));
        zones.push(ZoneImage { apex: zone.apex().to_ascii(), chunks, routed });
    }
    Ok(zones)
}

/// Records into chunks that each fit hickory's 65,535-byte encoder: a record that does not fit
/// in the current chunk starts the next one (one that fits in no chunk is an error).
fn encode_chunks(records: &[&Record]) -> Result<Vec<RecordChunk>, EncodeError> {
    let mut chunks = Vec::new();
    let mut remaining = records;
    while !remaining.is_empty() {
        let mut bytes = Vec::new();
        let mut count: u32 = 0;
        let mut failure = None;
        {
            let mut encoder = BinEncoder::new(&mut bytes);
            for record in remaining {
                let mark = encoder.len();
                if let Err(error) = record.emit(&mut encoder) {
                    failure = Some((mark, error));
                    break;
                }
                count += 1;
            }
        }
        if let Some((mark, error)) = failure {
            if count == 0 {
                return Err(EncodeError(error.to_string()));
            }
            // Drop the partly written record; it starts the next chunk.
            bytes.truncate(mark);
        }
        remaining = remaining.get(count as usize..).unwrap_or_default();
        chunks.push(RecordChunk { count, records: bytes });
    }
    Ok(chunks)
}

/// Nodes in canonical order, so the same zones always give the same image.
fn sorted_nodes(zone: &Zone) -> Vec<(&hickory_proto::rr::LowerName, &crate::zone::Node)> {
    let mut nodes: Vec<_> = zone.nodes().filter(|(_, node)| !node.is_empty()).collect();
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    nodes
}

/// Decodes an image into a catalog.
pub fn decode(bytes: &[u8]) -> Result<Catalog, SnapshotError> {
    let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or(SnapshotError::BadMagic)?;
    let image: Image = postcard::from_bytes(body).map_err(|_| SnapshotError::Container)?;
    let mut views = Vec::with_capacity(image.views.len());
    for view in image.views {
        let networks = view
            .networks
            .iter()
            .map(|network| network.parse().map_err(|_| SnapshotError::Zone { apex: format!("view {}", view.name) }))
            .collect::<Result<Vec<_>, _>>()?;
        let zones = Catalog::new(decode_zones(view.zones)?);
        views.push(View { name: view.name, access: Access { networks, token_sha256: view.token_sha256 }, zones });
    }
    Ok(Catalog::new(decode_zones(image.zones)?)
        .with_health_checks(image.health_checks)
        .with_latency_matrix(image.latency_matrix)
        .with_views(views))
}

fn decode_zones(images: Vec<ZoneImage>) -> Result<Vec<Zone>, SnapshotError> {
    let mut zones = Vec::with_capacity(images.len());
    for zone in images {
        let apex_text = zone.apex.clone();
        let corrupt = || SnapshotError::Records { apex: apex_text.clone() };
        let apex = Name::from_ascii(&zone.apex).map_err(|_| corrupt())?;
        let mut records = Vec::new();
        for chunk in &zone.chunks {
            let mut decoder = BinDecoder::new(&chunk.records);
            // Every record takes at least 11 bytes, which bounds a corrupt count.
            records.reserve((chunk.count as usize).min(chunk.records.len() / 11));
            for _ in 0..chunk.count {
                records.push(Record::read(&mut decoder).map_err(|_| corrupt())?);
            }
            if !decoder.is_empty() {
                return Err(corrupt());
            }
        }
        zones.push(Zone::assemble(&apex, records, zone.routed).map_err(|_| SnapshotError::Zone { apex: apex_text.clone() })?);
    }
    Ok(zones)
}

/// A short version id for an image: publish time (seconds) and a content hash, so versions
/// sort by time and identical content is recognisable.
pub fn version_id(image: &[u8], unix_seconds: u64) -> String {
    // FNV-1a 64: stable across builds and platforms, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in image {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{unix_seconds}-{hash:016x}")
}

/// One publish, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The version id ([`version_id`]).
    pub version: String,
    /// When it was published (Unix seconds).
    pub published_at: u64,
    /// How many zones the image holds.
    pub zones: usize,
}

/// Why the history key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError(pub String);

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{HISTORY_KEY} is not a publish history: {}", self.0)
    }
}

impl std::error::Error for HistoryError {}

/// Reads the history key's value (a JSON list of [`Published`], newest first).
pub fn history_from_json(text: &str) -> Result<Vec<Published>, HistoryError> {
    serde_json::from_str(text).map_err(|e| HistoryError(e.to_string()))
}

/// The history key's value.
pub fn history_to_json(history: &[Published]) -> String {
    // A list of plain structs of strings and integers always serializes.
    serde_json::to_string(history).unwrap_or_else(|_| "[]".to_owned())
}

/// The history after publishing `version` at `now` (Unix seconds) with `zones` zones: the new
/// entry first, an earlier entry of the same version dropped (republished), at most
/// [`HISTORY_LENGTH`] entries. Also returns the versions that fell off the end, whose images
/// are to be deleted (never the new version).
pub fn record(history: &[Published], version: &str, now: u64, zones: usize) -> (Vec<Published>, Vec<String>) {
    let mut kept = vec![Published { version: version.to_owned(), published_at: now, zones }];
    let mut dropped = Vec::new();
    for entry in history.iter().filter(|entry| entry.version != version) {
        if kept.len() < HISTORY_LENGTH {
            kept.push(entry.clone());
        } else if !dropped.contains(&entry.version) && !kept.iter().any(|k| k.version == entry.version) {
            dropped.push(entry.version.clone());
        }
    }
    (kept, dropped)
}

/// Why there is nothing to roll back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackError {
    /// The current version is not in the history, so its predecessor is unknown.
    CurrentNotInHistory(String),
    /// The current version is the oldest the history holds.
    NothingBefore(String),
    /// The version asked for is already current.
    AlreadyCurrent(String),
}

impl std::fmt::Display for RollbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CurrentNotInHistory(version) => {
                write!(f, "the current version {version} is not in {HISTORY_KEY}: give --to VERSION")
            }
            Self::NothingBefore(version) => write!(f, "the current version {version} is the oldest in the history"),
            Self::AlreadyCurrent(version) => write!(f, "{version} is already current"),
        }
    }
}

impl std::error::Error for RollbackError {}

/// The version a rollback points `snapshot:current` at: `to` when given (any version whose
/// image is still in KV; the caller checks that it decodes), else the one published before
/// `current`. The history itself does not change: it records publishes, not rollbacks, so
/// rolling back twice steps back twice.
pub fn rollback_target(history: &[Published], current: &str, to: Option<&str>) -> Result<String, RollbackError> {
    if let Some(to) = to {
        return if to == current { Err(RollbackError::AlreadyCurrent(to.to_owned())) } else { Ok(to.to_owned()) };
    }
    let position = history
        .iter()
        .position(|entry| entry.version == current)
        .ok_or_else(|| RollbackError::CurrentNotInHistory(current.to_owned()))?;
    history
        .iter()
        .skip(position + 1)
        .find(|entry| entry.version != current)
        .map(|entry| entry.version.clone())
        .ok_or_else(|| RollbackError::NothingBefore(current.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::compile::compile_all;
    use hickory_proto::rr::RecordType;
    use std::str::FromStr;

    fn catalog() -> Catalog {
        let text = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n\
                    www A 192.0.2.1\nwww AAAA 2001:db8::1\n@ MX 10 mail\ntxt TXT \"a;b\" \"c\"\n\
                    _sip._tcp SRV 10 5 5060 sip\n@ CAA 0 issue \"ca.example\"\n\
                    svc HTTPS 1 . alpn=h2 ipv4hint=192.0.2.1\n";
        compile_all(&[SourceFile { path: "example.com.zone".into(), text: text.into() }]).unwrap()
    }

    #[test]
    fn round_trips() {
        let original = catalog();
        let image = encode(&original).unwrap();
        assert!(image.starts_with(MAGIC));
        let decoded = decode(&image).unwrap();
        let name = Name::from_str("www.example.com.").unwrap();
        let zone = decoded.find(&name).unwrap();
        assert_eq!(zone.node(&name), original.find(&name).unwrap().node(&name));
        let https = Name::from_str("svc.example.com.").unwrap();
        assert_eq!(zone.node(&https).unwrap().rrset(RecordType::HTTPS).unwrap().records.len(), 1);
        assert_eq!(encode(&decoded).unwrap(), image, "encoding is deterministic");
    }

    #[test]
    fn rejects_corruption_without_panicking() {
        let image = encode(&catalog()).unwrap();
        assert_eq!(decode(b"garbage").unwrap_err(), SnapshotError::BadMagic);
        assert!(decode(&image[..image.len() - 5]).is_err());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut corrupt = image.clone();
            let position = 8 + (state % (corrupt.len() as u64 - 8)) as usize;
            corrupt[position] ^= (state >> 40) as u8 | 1;
            let _ = decode(&corrupt);
        }
    }

    #[test]
    fn zones_beyond_one_encoder_buffer_round_trip() {
        // 20,000 hosts take several 65,535-byte chunks.
        let mut text = String::from("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n");
        for index in 0..20_000u32 {
            text.push_str(&format!("h{index} A 10.{}.{}.{}\n", index >> 16, (index >> 8) & 255, index & 255));
        }
        let original = compile_all(&[SourceFile { path: "big.test.zone".into(), text }]).unwrap();
        let image = encode(&original).unwrap();
        let decoded = decode(&image).unwrap();
        for host in ["h0.big.test.", "h12345.big.test.", "h19999.big.test."] {
            let name = Name::from_str(host).unwrap();
            assert_eq!(decoded.find(&name).unwrap().node(&name), original.find(&name).unwrap().node(&name));
        }
        assert_eq!(encode(&decoded).unwrap(), image);
    }

    #[test]
    fn version_ids_sort_by_time_and_name_content() {
        assert_eq!(version_id(b"abc", 17), version_id(b"abc", 17));
        assert_ne!(version_id(b"abc", 17), version_id(b"abd", 17));
        assert!(version_id(b"abc", 17).starts_with("17-"));
    }

    fn published(versions: &[&str]) -> Vec<Published> {
        versions.iter().enumerate().map(|(i, v)| Published { version: (*v).to_owned(), published_at: 100 - i as u64, zones: 1 }).collect()
    }

    fn versions(history: &[Published]) -> Vec<&str> {
        history.iter().map(|entry| entry.version.as_str()).collect()
    }

    #[test]
    fn the_history_keeps_the_last_ten_newest_first() {
        let (history, dropped) = record(&[], "v1", 10, 3);
        assert_eq!(history, [Published { version: "v1".into(), published_at: 10, zones: 3 }]);
        assert!(dropped.is_empty());
        let mut history = history;
        for n in 2..=10 {
            let (next, dropped) = record(&history, &format!("v{n}"), 10 + n, 3);
            assert!(dropped.is_empty(), "{n}: {dropped:?}");
            history = next;
        }
        assert_eq!(history.len(), HISTORY_LENGTH);
        let (history, dropped) = record(&history, "v11", 30, 4);
        assert_eq!(versions(&history), ["v11", "v10", "v9", "v8", "v7", "v6", "v5", "v4", "v3", "v2"]);
        assert_eq!(dropped, ["v1"]);
        assert_eq!((history[0].published_at, history[0].zones), (30, 4));
    }

    #[test]
    fn a_republished_version_moves_to_the_front_and_is_never_deleted() {
        let (history, dropped) = record(&published(&["b", "a"]), "a", 200, 2);
        assert_eq!(versions(&history), ["a", "b"]);
        assert_eq!(history[0].published_at, 200);
        assert!(dropped.is_empty());
        // A longer history than the limit (written by hand, or a bigger limit before) loses
        // everything past it at once.
        let long: Vec<String> = (0..14).map(|n| format!("v{n}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let (history, dropped) = record(&published(&long), "v3", 300, 1);
        assert_eq!(history.len(), HISTORY_LENGTH);
        assert_eq!(history[0].version, "v3");
        assert_eq!(dropped, ["v10", "v11", "v12", "v13"]);
        assert!(!dropped.contains(&"v3".to_owned()));
    }

    #[test]
    fn the_history_round_trips_through_json() {
        let history = published(&["b", "a"]);
        assert_eq!(history_from_json(&history_to_json(&history)).unwrap(), history);
        assert_eq!(history_to_json(&history[..1]), r#"[{"version":"b","published_at":100,"zones":1}]"#);
        assert!(history_from_json("{").is_err());
        assert!(history_from_json("[{\"version\": 1}]").is_err());
    }

    #[test]
    fn sources_round_trip_through_json() {
        let files = vec![
            SourceFile { path: "zones/example.com.zone".into(), text: "@ SOA ns1 h 1 1 1 1 1\n\"quoted\" \u{e9}\n".into() },
            SourceFile { path: "example.com.routes.toml".into(), text: String::new() },
        ];
        let json = sources_to_json(&files);
        assert!(json.starts_with(r#"{"files":[{"path":"zones/example.com.zone","text":"#), "{json}");
        assert_eq!(sources_from_json(&json).unwrap(), files);
        assert_eq!(sources_from_json(r#"{"files": []}"#).unwrap(), []);
        for bad in ["", "[]", r#"{"files": [{"path": 1, "text": ""}]}"#, r#"{"files": [{"path": "a"}]}"#] {
            assert!(sources_from_json(bad).is_err(), "{bad}");
        }
        assert_eq!(version_keys("7-ab"), ["snapshot:7-ab".to_owned(), "sources:7-ab".to_owned()]);
    }

    #[test]
    fn rollback_steps_back_along_the_history() {
        let history = published(&["c", "b", "a"]);
        assert_eq!(rollback_target(&history, "c", None), Ok("b".to_owned()));
        // After rolling back to b, the next rollback goes to a.
        assert_eq!(rollback_target(&history, "b", None), Ok("a".to_owned()));
        assert_eq!(rollback_target(&history, "a", None), Err(RollbackError::NothingBefore("a".to_owned())));
        assert_eq!(rollback_target(&history, "x", None), Err(RollbackError::CurrentNotInHistory("x".to_owned())));
        assert_eq!(rollback_target(&history, "x", Some("a")), Ok("a".to_owned()));
        assert_eq!(rollback_target(&history, "c", Some("c")), Err(RollbackError::AlreadyCurrent("c".to_owned())));
        assert_eq!(rollback_target(&[], "c", Some("old")), Ok("old".to_owned()));
    }
}
