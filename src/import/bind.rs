//! Import of a BIND master file (as BIND, `dig AXFR` or another provider's export writes it)
//! into a clean `<zone>.zone`: one record a line, relative owners, and a report of what was
//! left out.
//!
//! The file is read by the project's own master-file reader ([`crate::zone::master`]), which
//! goes on past entries it cannot read ([`master::parse_partial`]); this module only sorts
//! what it returns:
//!
//! * DNSSEC records (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY, KEY, SIG, NXT,
//!   ZONEMD) are dropped and reported, one finding per type: the edge does not sign, and
//!   signatures or a digest copied from another server would be served stale. DS records at
//!   delegations are kept (they belong to the child zones).
//! * Unknown types, refused types (DNAME, meta types), other classes than IN and record data
//!   that does not read are reported with their line, and the rest is imported.
//! * Records outside the zone are reported; exact duplicates (an AXFR repeats the SOA at the
//!   end) are dropped with a note.
//! * Anything that makes the rest of the file unreliable (`$INCLUDE`, an unbalanced
//!   parenthesis or quote, a bad owner name, a record without a TTL) is an [`ImportError`]
//!   naming the line: skipping such an entry could hand its records to the wrong owner.
//!
//! Each record is written back in presentation form and read again; one that does not come
//! back the same is written in the generic form `\# <length> <hex>` (RFC 3597 §5).

use std::collections::{BTreeMap, HashSet};

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::text::{absolute, comment};
use super::{FindingKind, ImportError, ImportOptions, Imported, Importer, MasterRecord, Source};
use crate::zone::master::{self, MasterErrorKind};

/// Record types that only make sense in a zone signed by the server that serves it.
const DNSSEC_TYPES: [&str; 11] = ["RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY", "KEY", "SIG", "NXT", "ZONEMD"];

/// Lines listed in one finding before the rest are counted.
const LINES_SHOWN: usize = 8;

/// Imports the BIND master file `text` for `zone` (relative names in the file are relative to
/// it until a `$ORIGIN` says otherwise). The result's `master_file` is the clean zone file
/// and `routes_file` is empty (there are no routed sets to write).
pub fn import(zone: &Name, text: &str) -> Result<Imported, ImportError> {
    let mut importer = Importer::new(zone, ImportOptions::default())?;
    importer.source = Source::Bind;
    importer.had_record_sets = true;
    let zone = importer.ctx.zone.clone();
    let (records, errors) = master::parse_partial(text, Some(&zone));

    let mut dnssec: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for error in errors {
        let line = error.line;
        let subject = format!("line {line}");
        match error.kind {
            MasterErrorKind::BadRdata { rtype, .. } if DNSSEC_TYPES.contains(&rtype.as_str()) => dnssec.entry(rtype).or_default().push(line),
            MasterErrorKind::UnknownType(rtype) => {
                importer.ctx.report(FindingKind::Skipped, subject, format!("unknown record type {rtype:?}"));
            }
            kind @ (MasterErrorKind::UnsupportedType(_) | MasterErrorKind::UnsupportedClass(_) | MasterErrorKind::BadRdata { .. }) => {
                importer.ctx.report(FindingKind::Skipped, subject, kind.to_string());
            }
            kind => return Err(ImportError { path: subject, message: kind.to_string() }),
        }
    }

    let mut seen: HashSet<(Name, RecordType, Vec<u8>)> = HashSet::new();
    let mut duplicates = 0;
    for source in records {
        let record = source.record;
        let record_type = record.record_type();
        let subject = format!("line {}: {} {record_type}", source.line, absolute(&record.name));
        if DNSSEC_TYPES.contains(&record_type.to_string().as_str()) {
            dnssec.entry(record_type.to_string()).or_default().push(source.line);
            continue;
        }
        let owner = record.name.to_lowercase();
        if record_type == RecordType::SOA && owner != zone {
            return Err(ImportError {
                path: format!("line {}", source.line),
                message: format!("this file is the zone {} (its SOA), not {}: give --zone {}", absolute(&owner), absolute(&zone), absolute(&owner)),
            });
        }
        if !zone.zone_of(&owner) {
            importer.ctx.report(FindingKind::Skipped, subject, format!("outside the zone {}", absolute(&zone)));
            continue;
        }
        let wire = wire_form(&record.data);
        if !seen.insert((owner.clone(), record_type, wire.clone())) {
            duplicates += 1;
            continue;
        }
        let value = presentation(&record, &wire, &zone);
        importer.master.push(MasterRecord { owner, ttl: record.ttl, record_type, value });
    }
    if duplicates > 0 {
        importer.ctx.report(
            FindingKind::Note,
            "duplicates",
            format!("{duplicates} record(s) repeated exactly (an AXFR ends with the SOA again) were written once"),
        );
    }
    for (rtype, lines) in dnssec {
        let mut shown: Vec<String> = lines.iter().take(LINES_SHOWN).map(ToString::to_string).collect();
        if lines.len() > LINES_SHOWN {
            shown.push(format!("and {} more", lines.len() - LINES_SHOWN));
        }
        importer.ctx.report(
            FindingKind::Skipped,
            format!("{} {rtype} record(s)", lines.len()),
            format!(
                "DNSSEC data dropped: the edge does not sign the zone, so signatures, denial records and keys from the old server would be stale (lines {})",
                shown.join(", ")
            ),
        );
    }

    let mut imported = importer.finish();
    imported.routes_file.clear();
    if let Some(master) = imported.master_file.take() {
        let mut report = String::new();
        if !imported.report.is_empty() {
            report.push_str(";\n; Import report:\n");
            for finding in &imported.report {
                report.push_str(&format!("; - {}\n", comment(&finding.to_string())));
            }
        }
        // The report goes after the header comment, before `$ORIGIN`.
        let at = master.find("$ORIGIN").unwrap_or(0);
        let (head, body) = master.split_at(at);
        imported.master_file = Some(format!("{head}{report}{body}"));
    }
    Ok(imported)
}

/// The record data in wire form, names uncompressed (RFC 3597 §5 asks the generic form for
/// the canonical, uncompressed data).
fn wire_form(data: &RData) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_canonical_form(true);
    // An encoding error leaves what was written; the round trip below then fails and the
    // record is reported by the self-check rather than lost silently.
    let _ = data.emit(&mut encoder);
    bytes
}

/// The data as a master file writes it: presentation form when it reads back the same, else
/// the generic form.
fn presentation(record: &Record, wire: &[u8], zone: &Name) -> String {
    let text = match &record.data {
        RData::TXT(txt) => txt.txt_data.iter().map(|string| character_string(string)).collect::<Vec<_>>().join(" "),
        // RFC 4034 §5.3: key tag, algorithm, digest type, digest in hex.
        _ if record.record_type() == RecordType::DS => match wire {
            [tag_high, tag_low, algorithm, digest_type, digest @ ..] => {
                let digest: String = digest.iter().map(|byte| format!("{byte:02X}")).collect();
                format!("{} {algorithm} {digest_type} {digest}", u16::from_be_bytes([*tag_high, *tag_low]))
            }
            _ => String::new(),
        },
        other => other.to_string(),
    };
    let line = format!("@ 0 IN {} {text}\n", record.record_type());
    let same = master::parse(&line, Some(zone)).ok().is_some_and(|read| matches!(read.as_slice(), [only] if only.record.data == record.data));
    if same && !text.contains('\n') {
        return text;
    }
    let hex: String = wire.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("\\# {} {hex}", wire.len())
}

/// A `<character-string>` in quotes (RFC 1035 §5.1): `"` and `\\` escaped, bytes outside
/// printable ASCII as `\DDD`.
pub(crate) fn character_string(octets: &[u8]) -> String {
    let mut out = String::with_capacity(octets.len() + 2);
    out.push('"');
    for &byte in octets {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => out.push_str(&format!("\\{byte:03}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn drops_dnssec_and_keeps_the_rest() {
        let zone = Name::from_str("example.com.").unwrap();
        let text = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ IN NS ns1\n@ IN RRSIG SOA 8 2 300 20300101000000 20200101000000 12345 example.com. AAAA\nns1 IN A 192.0.2.1\n  IN NSEC www A RRSIG NSEC\nwww IN TXT \"a;b\" \"c\"\nsub IN NS ns.other.net.\nsub IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\nx IN FOO bar\n";
        let imported = import(&zone, text).unwrap();
        let master = imported.master_file.as_deref().unwrap();
        assert!(imported.summary.passes_check, "{:#?}\n{master}", imported.report);
        assert!(master.contains("IN TXT    \"a;b\" \"c\"\n"), "{master}");
        assert!(master.contains("IN DS     60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n"), "{master}");
        assert!(!master.contains("IN RRSIG") && !master.contains("IN NSEC"), "{master}");
        assert!(imported.report.iter().any(|f| f.subject == "1 RRSIG record(s)" && f.message.contains("lines 5")), "{:#?}", imported.report);
        assert!(imported.report.iter().any(|f| f.subject == "1 NSEC record(s)" && f.message.contains("lines 7")), "{:#?}", imported.report);
        assert!(imported.report.iter().any(|f| f.subject == "line 11" && f.message.contains("FOO")), "{:#?}", imported.report);
        assert!(imported.routes_file.is_empty());
    }
}
