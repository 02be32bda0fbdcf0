//! Delegation sets: named name-server sets with SOA defaults that many zones share (like
//! Route 53's reusable delegation sets), declared in `delegation-sets.toml`.
//!
//! ```toml
//! [delegation_sets.main]
//! name_servers = ["ns1.example.net.", "ns2.example.net."]   # absolute, at least 2
//! ns_ttl = 172800
//! soa = { primary = "ns1.example.net.", contact = "hostmaster@example.net", negative_ttl = 300 }
//! ```
//!
//! A zone takes a set with `delegation_set = "main"` in its routes file; the compiler then
//! generates the apex NS RRset and the SOA the master file leaves out. Everything here is
//! compile time: the snapshot holds the generated records as plain SOA and NS records.

use std::collections::BTreeMap;
use std::fmt;

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record};
use serde::Deserialize;
use toml::Spanned;

use super::routes::line_of;

/// The file name that declares delegation sets (in any directory the compiler reads).
pub const FILE_NAME: &str = "delegation-sets.toml";

/// Whether a path names a delegation-sets file.
pub fn is_delegation_sets_file(path: &str) -> bool {
    path.rsplit(['/', '\\']).next() == Some(FILE_NAME)
}

/// Fewest name servers a set may have (RFC 1034 §4.1: at least two, for redundancy).
pub const MIN_NAME_SERVERS: usize = 2;

/// Largest TTL or SOA timer: RFC 2181 §8 limits TTLs to 0 ..= 2^31 - 1.
const MAX_TTL: u32 = 0x7FFF_FFFF;

/// One named delegation set, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationSet {
    /// The apex NS targets, absolute, in file order, without duplicates.
    pub name_servers: Vec<Name>,
    /// TTL of the generated apex NS RRset.
    pub ns_ttl: u32,
    /// What generated SOAs hold.
    pub soa: SoaTemplate,
}

/// The SOA a delegation set generates for a zone that has none of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaTemplate {
    /// MNAME (default: the set's first name server).
    pub primary: Name,
    /// RNAME, as a name (`hostmaster@example.net` is `hostmaster.example.net.`); `None`:
    /// `hostmaster.<zone apex>` (RFC 2142 §7).
    pub contact: Option<Name>,
    /// A fixed SERIAL, or `None` to derive one from the zone's content.
    pub serial: Option<u32>,
    /// REFRESH, seconds.
    pub refresh: u32,
    /// RETRY, seconds.
    pub retry: u32,
    /// EXPIRE, seconds.
    pub expire: u32,
    /// MINIMUM, the negative-caching TTL (RFC 2308 §4).
    pub negative_ttl: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

impl DelegationSet {
    /// The apex NS records of the zone at `apex`.
    pub fn name_server_records(&self, apex: &Name) -> Vec<Record> {
        self.name_servers.iter().map(|server| Record::from_rdata(apex.clone(), self.ns_ttl, RData::NS(NS(server.clone())))).collect()
    }

    /// The SOA record of the zone at `apex`, with `serial` unless the set fixes one.
    pub fn soa_record(&self, apex: &Name, serial: u32) -> Record {
        let template = &self.soa;
        let contact = template.contact.clone().unwrap_or_else(|| hostmaster(apex));
        // The timers were checked to be at most 2^31 - 1 when the set was read.
        let timer = |seconds: u32| i32::try_from(seconds).unwrap_or(i32::MAX);
        let soa = SOA::new(
            template.primary.clone(),
            contact,
            template.serial.unwrap_or(serial),
            timer(template.refresh),
            timer(template.retry),
            timer(template.expire),
            template.negative_ttl,
        );
        Record::from_rdata(apex.clone(), template.ttl, RData::SOA(soa))
    }
}

/// `hostmaster.<apex>`, or the apex itself if the name would be too long.
fn hostmaster(apex: &Name) -> Name {
    apex.prepend_label("hostmaster").unwrap_or_else(|_| apex.clone())
}

/// A delegation-sets file's problem, at a line (0: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DelegationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSource {
    #[serde(default)]
    delegation_sets: BTreeMap<String, Spanned<SetSource>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetSource {
    name_servers: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    ns_ttl: Option<Spanned<i64>>,
    #[serde(default)]
    soa: Option<Spanned<SoaSource>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SoaSource {
    primary: Option<Spanned<String>>,
    contact: Option<Spanned<String>>,
    serial: Option<Spanned<i64>>,
    refresh: Option<Spanned<i64>>,
    retry: Option<Spanned<i64>>,
    expire: Option<Spanned<i64>>,
    negative_ttl: Option<Spanned<i64>>,
    ttl: Option<Spanned<i64>>,
}

/// Route 53's defaults for what it generates: NS TTL two days, SOA TTL 15 minutes, refresh
/// 2 h, retry 15 min, expire 2 weeks; the negative TTL is 5 minutes (Route 53 uses a day).
const DEFAULT_NS_TTL: u32 = 172_800;
const DEFAULT_SOA_TTL: u32 = 900;
const DEFAULT_REFRESH: u32 = 7_200;
const DEFAULT_RETRY: u32 = 900;
const DEFAULT_EXPIRE: u32 = 1_209_600;
const DEFAULT_NEGATIVE_TTL: u32 = 300;

struct Reader<'a> {
    text: &'a str,
    errors: Vec<DelegationError>,
}

/// Reads a delegation-sets file: each set with the line its table starts on, by name.
pub fn parse(text: &str) -> Result<BTreeMap<String, (usize, DelegationSet)>, Vec<DelegationError>> {
    let source: FileSource = toml::from_str(text).map_err(|error| {
        let line = error.span().map_or(0, |span| line_of(text, span.start));
        vec![DelegationError { line, message: error.message().trim().to_owned() }]
    })?;
    let mut reader = Reader { text, errors: Vec::new() };
    let mut sets = BTreeMap::new();
    for (name, set) in &source.delegation_sets {
        if let Some(parsed) = reader.set(name, set) {
            sets.insert(name.clone(), (line_of(text, set.span().start), parsed));
        }
    }
    if reader.errors.is_empty() {
        Ok(sets)
    } else {
        reader.errors.sort_by_key(|e| e.line);
        Err(reader.errors)
    }
}

impl Reader<'_> {
    fn error(&mut self, span: std::ops::Range<usize>, message: String) {
        self.errors.push(DelegationError { line: line_of(self.text, span.start), message });
    }

    fn set(&mut self, name: &str, source: &Spanned<SetSource>) -> Option<DelegationSet> {
        let before = self.errors.len();
        let set = source.get_ref();
        let mut name_servers: Vec<Name> = Vec::new();
        for server in set.name_servers.get_ref() {
            let Some(parsed) = self.absolute_name(server, "name server") else { continue };
            if name_servers.contains(&parsed) {
                self.error(server.span(), format!("delegation set {name}: name server {parsed} is listed twice"));
            } else {
                name_servers.push(parsed);
            }
        }
        if name_servers.len() < MIN_NAME_SERVERS && self.errors.len() == before {
            self.error(
                set.name_servers.span(),
                format!("delegation set {name}: {} name server(s); a zone needs at least {MIN_NAME_SERVERS} (RFC 1034 §4.1)", name_servers.len()),
            );
        }
        let ns_ttl = self.seconds(set.ns_ttl.as_ref(), DEFAULT_NS_TTL, "ns_ttl");
        let default_soa = SoaSource::default();
        let soa = set.soa.as_ref().map_or(&default_soa, Spanned::get_ref);
        let primary = match &soa.primary {
            Some(primary) => self.absolute_name(primary, "SOA primary"),
            None => name_servers.first().cloned(),
        };
        let contact = soa.contact.as_ref().and_then(|contact| self.contact(contact));
        let serial = soa.serial.as_ref().and_then(|serial| match u32::try_from(*serial.get_ref()) {
            Ok(serial) => Some(serial),
            Err(_) => {
                self.error(serial.span(), format!("serial {} is not a 32-bit unsigned number", serial.get_ref()));
                None
            }
        });
        let ttl = self.seconds(soa.ttl.as_ref(), DEFAULT_SOA_TTL, "ttl");
        let negative_ttl = self.seconds(soa.negative_ttl.as_ref(), DEFAULT_NEGATIVE_TTL, "negative_ttl");
        if negative_ttl > ttl {
            let span = soa.negative_ttl.as_ref().map_or_else(|| source.span(), Spanned::span);
            self.error(span, negative_ttl_above_soa_ttl(negative_ttl, ttl));
        }
        let refresh = self.seconds(soa.refresh.as_ref(), DEFAULT_REFRESH, "refresh");
        let retry = self.seconds(soa.retry.as_ref(), DEFAULT_RETRY, "retry");
        let expire = self.seconds(soa.expire.as_ref(), DEFAULT_EXPIRE, "expire");
        let template = SoaTemplate { primary: primary?, contact, serial, refresh, retry, expire, negative_ttl, ttl };
        (self.errors.len() == before).then_some(DelegationSet { name_servers, ns_ttl, soa: template })
    }

    /// An absolute domain name (ending in a dot: a set serves zones of any origin).
    fn absolute_name(&mut self, text: &Spanned<String>, what: &str) -> Option<Name> {
        let written = text.get_ref();
        if !written.ends_with('.') {
            self.error(text.span(), format!("{what} {written:?} is not absolute (end it with a dot)"));
            return None;
        }
        match Name::from_ascii(written) {
            Ok(name) if !name.is_root() => Some(name),
            _ => {
                self.error(text.span(), format!("{what} {written:?} is not a domain name"));
                None
            }
        }
    }

    /// The SOA RNAME: an absolute name, or a mailbox `local@domain` whose local part becomes
    /// one label (RFC 1035 §8: dots in it are escaped).
    fn contact(&mut self, text: &Spanned<String>) -> Option<Name> {
        let written = text.get_ref();
        let Some((local, domain)) = written.split_once('@') else {
            return self.absolute_name(text, "SOA contact");
        };
        let mut domain_name = Name::from_ascii(domain.trim_end_matches('.')).ok();
        if let Some(name) = &mut domain_name {
            name.set_fqdn(true);
        }
        let mailbox = domain_name
            .filter(|_| !local.is_empty() && !domain.is_empty())
            .and_then(|domain| Name::from_labels([local.as_bytes()]).ok()?.append_domain(&domain).ok());
        if mailbox.is_none() {
            self.error(text.span(), format!("SOA contact {written:?} is not a mailbox (hostmaster@example.net) or a name"));
        }
        mailbox
    }

    fn seconds(&mut self, value: Option<&Spanned<i64>>, default: u32, what: &str) -> u32 {
        let Some(value) = value else { return default };
        match u32::try_from(*value.get_ref()) {
            Ok(seconds) if seconds <= MAX_TTL => seconds,
            _ => {
                self.error(value.span(), format!("{what} {} is outside 0..={MAX_TTL} seconds", value.get_ref()));
                default
            }
        }
    }
}

/// The message for a negative TTL that would not take effect: resolvers cache a negative
/// answer for min(SOA TTL, MINIMUM) (RFC 2308 §5).
pub fn negative_ttl_above_soa_ttl(negative_ttl: u32, soa_ttl: u32) -> String {
    format!(
        "negative TTL {negative_ttl} exceeds the SOA's TTL {soa_ttl}: negative answers are cached for \
         min(SOA TTL, MINIMUM) (RFC 2308 §5), so it would not take effect; lower it or raise the SOA TTL"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse(text).unwrap_err().iter().map(|e| format!("{}: {}", e.line, e.message)).collect()
    }

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    #[test]
    fn reads_a_set_with_defaults() {
        let sets = parse("# shared\n[delegation_sets.main]\nname_servers = [\"ns1.example.net.\", \"ns2.example.net.\"]\n").unwrap();
        let (line, set) = &sets["main"];
        assert_eq!(*line, 2);
        assert_eq!(set.name_servers, vec![name("ns1.example.net."), name("ns2.example.net.")]);
        assert_eq!(set.ns_ttl, 172_800);
        assert_eq!(set.soa.primary, name("ns1.example.net."));
        assert_eq!((set.soa.refresh, set.soa.retry, set.soa.expire, set.soa.negative_ttl, set.soa.ttl), (7200, 900, 1_209_600, 300, 900));
        let soa = set.soa_record(&name("example.org."), 7);
        assert_eq!(soa.to_string(), "example.org. 900 IN SOA ns1.example.net. hostmaster.example.org. 7 7200 900 1209600 300");
        let ns: Vec<String> = set.name_server_records(&name("example.org.")).iter().map(ToString::to_string).collect();
        assert_eq!(ns, ["example.org. 172800 IN NS ns1.example.net.", "example.org. 172800 IN NS ns2.example.net."]);
    }

    #[test]
    fn reads_every_soa_field_and_converts_a_mailbox() {
        let text = "[delegation_sets.x]\nname_servers = [\"a.example.\", \"b.example.\"]\nns_ttl = 3600\n\
                    soa = { primary = \"b.example.\", contact = \"dns.admin@example.com\", serial = 2026010101, refresh = 1, retry = 2, expire = 3, negative_ttl = 60, ttl = 600 }\n";
        let (_, set) = &parse(text).unwrap()["x"];
        let soa = set.soa_record(&name("zone.test."), 7);
        assert_eq!(soa.to_string(), "zone.test. 600 IN SOA b.example. dns\\.admin.example.com. 2026010101 1 2 3 60");
        assert_eq!(set.ns_ttl, 3600);
        let (_, absolute) =
            &parse("[delegation_sets.x]\nname_servers = [\"a.example.\", \"b.example.\"]\nsoa = { contact = \"hostmaster.example.com.\" }\n").unwrap()["x"];
        assert_eq!(absolute.soa.contact, Some(name("hostmaster.example.com.")));
    }

    #[test]
    fn reports_errors_with_lines() {
        let found = errors("[delegation_sets.one]\nname_servers = [\"ns1.example.net.\"]\n");
        assert_eq!(found, ["2: delegation set one: 1 name server(s); a zone needs at least 2 (RFC 1034 §4.1)"]);
        let found = errors("[delegation_sets.rel]\nname_servers = [\n  \"ns1.example.net.\",\n  \"ns2\",\n]\n");
        assert_eq!(found, ["4: name server \"ns2\" is not absolute (end it with a dot)"]);
        let found = errors("[delegation_sets.twice]\nname_servers = [\"a.example.\", \"A.example.\"]\n");
        assert!(found[0].starts_with("2: delegation set twice: name server A.example. is listed twice"), "{found:?}");
        let found = errors("[delegation_sets.s]\nname_servers = [\"a.example.\", \"b.example.\"]\n[delegation_sets.s.soa]\nprimary = \"a\"\ncontact = \"@x\"\nttl = 60\nnegative_ttl = 300\nretry = -1\n");
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].starts_with("4: SOA primary \"a\" is not absolute"), "{found:?}");
        assert!(found[1].starts_with("5: SOA contact \"@x\" is not a mailbox"), "{found:?}");
        assert!(found[2].starts_with("7: negative TTL 300 exceeds the SOA's TTL 60"), "{found:?}");
        assert!(found[3].starts_with("8: retry -1 is outside"), "{found:?}");
        let unknown = errors("[delegation_sets.s]\nname_servers = [\"a.example.\", \"b.example.\"]\nns = 1\n");
        assert!(unknown[0].starts_with("1: unknown field `ns`") || unknown[0].contains("unknown field `ns`"), "{unknown:?}");
    }

    #[test]
    fn recognises_the_file_name() {
        assert!(is_delegation_sets_file("zones/delegation-sets.toml"));
        assert!(is_delegation_sets_file("delegation-sets.toml"));
        assert!(!is_delegation_sets_file("zones/example.net.routes.toml"));
        assert!(!is_delegation_sets_file("zones/my-delegation-sets.toml"));
    }
}
