//! The snapshot: the binary image of compiled zones that the CLI publishes to KV and the
//! Worker decodes once per isolate.
//!
//! Layout: the 8-byte magic `EDGEDNS4`, then a postcard-encoded [`Image`]. Each zone's
//! records are DNS wire-format buffers (names compressed across records, as in a message),
//! so the image is compact and decoding reuses the wire decoder. hickory's encoder addresses
//! at most 65,535 bytes (it is made for messages), so a zone's records are split into chunks
//! of at most that size, each with its own compression context.
//!
//! KV keys (publishing is atomic because readers only follow the pointer):
//! * `snapshot:<version>`: an image, written first;
//! * `snapshot:current`: the version readers should load, written last.

use hickory_proto::rr::{Name, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::zone::routes::{HealthCheckSpec, RoutedSet};
use crate::zone::{Catalog, Zone};

/// The KV key holding the current version.
pub const CURRENT_KEY: &str = "snapshot:current";
/// First bytes of every image; the digit is the format version.
pub const MAGIC: &[u8; 8] = b"EDGEDNS4";

/// The KV key of an image version.
pub fn version_key(version: &str) -> String {
    format!("snapshot:{version}")
}

#[derive(Serialize, Deserialize)]
struct Image {
    zones: Vec<ZoneImage>,
    health_checks: BTreeMap<String, HealthCheckSpec>,
    latency_matrix: BTreeMap<String, BTreeMap<String, u32>>,
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
    let mut bytes = MAGIC.to_vec();
    let body = postcard::to_allocvec(&Image {
        zones,
        health_checks: catalog.health_checks().clone(),
        latency_matrix: catalog.latency_matrix().clone(),
    }).map_err(|e| EncodeError(e.to_string()))?;
    bytes.extend_from_slice(&body);
    Ok(bytes)
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
    let mut zones = Vec::with_capacity(image.zones.len());
    for zone in image.zones {
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
    Ok(Catalog::new(zones).with_health_checks(image.health_checks).with_latency_matrix(image.latency_matrix))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::compile::{compile_all, SourceFile};
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
}
