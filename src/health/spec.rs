//! What a health check is, as data: its kind ([`CheckKind`]), the host it probes (a checked
//! [`Host`]: a host name or an IP address), the [`Path`] an HTTP(S) probe asks for, its
//! timing and how its results are read ([`HealthCheckSpec`]). The zone compiler parses routes
//! files into it (each refusal with its line, see `zone::routes`), the importers map Route 53
//! and octoDNS checks onto it, and the snapshot carries it to the Worker.
//!
//! A probe's target is derived here and nowhere else ([`HealthCheckSpec::probe`]): the URL of
//! an HTTP(S) check is built with the `url` crate from the typed parts (scheme from the kind,
//! host, port, path and query), never by joining strings, so no field can change the URL's
//! authority (RFC 3986 §3.2), and the built URL's host is compared with the check's before it
//! is used.
//!
//! The snapshot's form of a check is the one it had when the kind, host and path were
//! strings ([`SpecRecord`], postcard, field for field), so published snapshots keep loading.
//! A snapshot's kind must be one of the kinds (else the manifest does not decode: the old
//! compiler never wrote another); a host or path that fails the checks on decode (one the old
//! compiler let through, or a corrupt snapshot) makes that check [`Unusable`]: it is probed as
//! a failure, without a request, and the status listing says why.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

/// The shortest interval a check may have (Route 53's "fast" interval), in seconds.
pub const MIN_INTERVAL_S: u32 = 10;
/// The longest interval a check may have, in seconds.
pub const MAX_INTERVAL_S: u32 = 3_600;
/// A check's interval when it does not say (Route 53's "standard" interval).
pub const DEFAULT_INTERVAL_S: u32 = 60;
/// A probe's timeout when the check does not say, in seconds.
pub const DEFAULT_PROBE_TIMEOUT_S: u32 = 5;
/// The longest a probe may take, in seconds.
pub const MAX_PROBE_TIMEOUT_S: u32 = 30;
/// The longest path (with its query) an HTTP(S) check may ask for, in bytes.
pub const MAX_PATH_BYTES: usize = 1_024;
/// The longest host name (RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written
/// without the trailing dot).
const MAX_NAME_BYTES: usize = 253;
/// The longest label of a host name (RFC 1035 §2.3.4).
const MAX_LABEL_BYTES: usize = 63;

/// How a check is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum CheckKind {
    /// An HTTP GET of `http://host[:port]/path`: healthy on 2xx or 3xx (and the search string,
    /// if any, in the first 5,120 bytes; Route 53's `HTTP` and `HTTP_STR_MATCH`).
    Http,
    /// The same over TLS (Route 53's `HTTPS` and `HTTPS_STR_MATCH`).
    Https,
    /// A TCP connection to `host:port` (Route 53's `TCP`).
    Tcp,
    /// Derived from other checks' states, never probed (Route 53's `CALCULATED`).
    Calculated,
}

impl CheckKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [CheckKind; 4] = [CheckKind::Http, CheckKind::Https, CheckKind::Tcp, CheckKind::Calculated];

    /// The kind as routes files (and the snapshot) write it: `http`, `https`, `tcp`, `calculated`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Tcp => "tcp",
            Self::Calculated => "calculated",
        }
    }

    /// Whether a check of this kind is measured by probing an endpoint.
    pub const fn is_probed(self) -> bool {
        !matches!(self, Self::Calculated)
    }

    /// Whether a check of this kind needs a host.
    pub const fn needs_host(self) -> bool {
        self.is_probed()
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind that is not one of [`CheckKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = CheckKind::ALL.iter().map(|kind| kind.as_str()).collect();
        write!(f, "unknown type {:?} ({})", self.0, known.join(", "))
    }
}

impl FromStr for CheckKind {
    type Err = UnknownKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CheckKind::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| UnknownKind(text.to_owned()))
    }
}

impl From<CheckKind> for String {
    fn from(kind: CheckKind) -> Self {
        kind.as_str().to_owned()
    }
}

impl TryFrom<String> for CheckKind {
    type Error = UnknownKind;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Why a text is not a [`Host`] or a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// Not a host name (RFC 1123 §2.1) or an IP address; the reason.
    Host(String, &'static str),
    /// Not a path an HTTP(S) probe may ask for; the reason.
    Path(String, &'static str),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(text, why) => write!(f, "host {} is not a host name or an IP address: {why}", shown(text)),
            Self::Path(text, why) => write!(f, "path {} is not an HTTP path: {why}", shown(text)),
        }
    }
}

/// A text in an error message: quoted, and cut short when long.
fn shown(text: &str) -> String {
    const LONGEST: usize = 80;
    match text.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("{:?}…", text.get(..end).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

/// What a check probes: a host name (RFC 1123 §2.1: letters, digits and hyphens, labels of
/// 1..=63 characters not starting or ending with a hyphen, at most 253 characters, the last
/// label not all digits; a trailing dot allowed) or an IPv4 or IPv6 address (an IPv6 address
/// with or without its URL brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written.
    Name(String),
    /// An IP address.
    Ip(IpAddr),
}

impl Host {
    /// Reads a host.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let refuse = |why| Err(SpecError::Host(text.to_owned(), why));
        if text.is_empty() {
            return refuse("it is empty");
        }
        // RFC 3986 §3.2.2: an IPv6 address in a URL is written in brackets.
        if let Some(inner) = text.strip_prefix('[') {
            return match inner.strip_suffix(']').map(Ipv6Addr::from_str) {
                Some(Ok(address)) => Ok(Self::Ip(IpAddr::V6(address))),
                _ => refuse("brackets hold an IPv6 address and nothing else"),
            };
        }
        if let Ok(address) = text.parse::<IpAddr>() {
            return Ok(Self::Ip(address));
        }
        if !text.is_ascii() {
            return refuse("an internationalized name is written in its A-label form (xn--...)");
        }
        if text.contains(':') {
            return refuse("a ':' belongs only in an IPv6 address (the port is given as port = ...)");
        }
        if let Some(bad) = text.bytes().find(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')) {
            return refuse(match bad {
                b'@' => "an '@' would make what precedes it user information",
                b'/' | b'\\' | b'?' | b'#' => "a host ends at '/', '\\', '?' or '#': the path is given as path = ...",
                b'_' => "'_' is not allowed in host names (RFC 1123)",
                b if b.is_ascii_whitespace() || b.is_ascii_control() => "it holds spaces or control characters",
                _ => "host names hold letters, digits, '-' and '.' only",
            });
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        if name.len() > MAX_NAME_BYTES {
            return refuse("longer than 253 characters");
        }
        let mut last = "";
        for label in name.split('.') {
            if label.is_empty() {
                return refuse("it has an empty label");
            }
            if label.len() > MAX_LABEL_BYTES {
                return refuse("a label is longer than 63 characters");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return refuse("a label starts or ends with '-'");
            }
            last = label;
        }
        // RFC 3696 §2: a top-level label is not all-numeric. A URL parser also reads a name
        // ending in a number (or 0x and hex digits) as an IPv4 address (WHATWG URL, "ends in
        // a number"), which would probe another host than the one written.
        let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
        if last.bytes().all(|b| b.is_ascii_digit()) || hex.is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit())) {
            return refuse("the last label is a number: an IPv4 address is written as four decimal numbers");
        }
        Ok(Self::Name(text.to_owned()))
    }

    /// Whether `host` (as a URL holds it) is this host: the same name, ignoring case and a
    /// trailing dot, or the same address.
    fn is(&self, host: Option<url::Host<&str>>) -> bool {
        match (self, host) {
            (Self::Name(name), Some(url::Host::Domain(domain))) => name.trim_end_matches('.').eq_ignore_ascii_case(domain.trim_end_matches('.')),
            (Self::Ip(IpAddr::V4(address)), Some(url::Host::Ipv4(found))) => *address == found,
            (Self::Ip(IpAddr::V6(address)), Some(url::Host::Ipv6(found))) => *address == found,
            _ => false,
        }
    }
}

impl fmt::Display for Host {
    /// The name as written, or the address without brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ip(address) => write!(f, "{address}"),
        }
    }
}

/// What an HTTP(S) probe asks for: an absolute path (`/` first), with a query if wanted
/// (`/health?deep=1`): visible ASCII only (spaces and other bytes percent-encoded, `%XX`), no
/// `\`, and no `#` (a fragment is never sent), at most [`MAX_PATH_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(String);

impl Path {
    /// Reads a path.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let refuse = |why| Err(SpecError::Path(text.to_owned(), why));
        if !text.starts_with('/') {
            return refuse("it must start with '/'");
        }
        if text.len() > MAX_PATH_BYTES {
            return refuse("longer than 1,024 bytes");
        }
        let bytes = text.as_bytes();
        for (at, byte) in bytes.iter().enumerate() {
            match byte {
                b'#' => return refuse("a '#' starts a fragment, which is never sent"),
                b'\\' => return refuse("'\\' is read as '/' by URL parsers: write '/' or %5C"),
                b'%' => {
                    let escape = bytes.get(at + 1..at + 3);
                    if !escape.is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
                        return refuse("a '%' starts a percent-encoded byte (%XX)");
                    }
                }
                0x21..=0x7e => {}
                _ => return refuse("spaces, control characters and non-ASCII characters are percent-encoded (%20)"),
            }
        }
        Ok(Self(text.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a check read from a snapshot cannot be probed: its host or path failed the checks on
/// decode. Such a check is probed as a failure, without a request. Keeps the texts it was
/// given, so that encoding the check again gives the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// What is wrong.
    pub reason: String,
    host: Option<String>,
    path: Option<String>,
}

/// A health check declaration (run by the scheduled handler; answering reads its state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "SpecRecord", try_from = "SpecRecord")]
pub struct HealthCheckSpec {
    /// How the check is measured.
    pub kind: CheckKind,
    /// What an HTTP(S) or TCP check probes.
    pub host: Option<Host>,
    /// Port (default 80 for http, 443 for https; required for tcp).
    pub port: Option<u16>,
    /// The HTTP(S) path (default `/`).
    pub path: Option<Path>,
    /// Host header to send.
    pub host_header: Option<String>,
    /// A string that must appear in the first 5,120 bytes of the body.
    pub search: Option<String>,
    /// Seconds between checks.
    pub interval: Option<u32>,
    /// Consecutive results needed to flip state (default 3).
    pub threshold: Option<u32>,
    /// Seconds before a check counts as failed.
    pub timeout: Option<u32>,
    /// Report healthy when the endpoint fails and the reverse.
    pub inverted: bool,
    /// A disabled check is always healthy.
    pub disabled: bool,
    /// For `calculated`: the child checks.
    pub children: Vec<String>,
    /// For `calculated`: how many children must be healthy.
    pub min_healthy: Option<u32>,
    /// Set only on a check decoded from a snapshot whose host or path failed the checks;
    /// never set on a check the compiler or an importer made.
    pub unusable: Option<Unusable>,
}

impl HealthCheckSpec {
    /// A check of `kind` with nothing else set (no host: add one for a probed kind).
    pub fn new(kind: CheckKind) -> Self {
        Self {
            kind,
            host: None,
            port: None,
            path: None,
            host_header: None,
            search: None,
            interval: None,
            threshold: None,
            timeout: None,
            inverted: false,
            disabled: false,
            children: Vec::new(),
            min_healthy: None,
            unusable: None,
        }
    }

    /// What a probe of this check connects to or fetches.
    pub fn probe(&self) -> Result<Probe<'_>, ProbeError> {
        if let Some(unusable) = &self.unusable {
            return Err(ProbeError::Unusable(unusable.reason.clone()));
        }
        let scheme = match self.kind {
            CheckKind::Calculated => return Err(ProbeError::Calculated),
            CheckKind::Tcp => {
                let host = self.host.as_ref().ok_or(ProbeError::NoHost)?;
                let port = self.port.filter(|port| *port != 0).ok_or(ProbeError::NoPort)?;
                return Ok(Probe::Tcp { host, port });
            }
            CheckKind::Http => Scheme::Http,
            CheckKind::Https => Scheme::Https,
        };
        let host = self.host.as_ref().ok_or(ProbeError::NoHost)?;
        let url = probe_url(scheme, host, self.port, self.path.as_ref().map_or("/", Path::as_str))?;
        Ok(Probe::Http { url, host_header: self.host_header.as_deref(), search: self.search.as_deref() })
    }
}

/// What one probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<'a> {
    /// A GET of `url` (redirects not followed), with the Host header and the search string.
    Http {
        /// The URL, its host the check's.
        url: Url,
        /// The Host header to send, if not the URL's.
        host_header: Option<&'a str>,
        /// What the first 5,120 bytes of the body must contain.
        search: Option<&'a str>,
    },
    /// A TCP connection.
    Tcp {
        /// Where to (an IPv6 address without brackets).
        host: &'a Host,
        /// The port (1..=65535).
        port: u16,
    },
}

/// Why a check has no probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// A calculated check is derived, never probed.
    Calculated,
    /// The check was unusable in the snapshot ([`Unusable`]).
    Unusable(String),
    /// An HTTP(S) or TCP check without a host (the compiler refuses those).
    NoHost,
    /// A TCP check without a port (the compiler refuses those).
    NoPort,
    /// The URL could not be built from the parts, or its host would not be the check's.
    Url(String),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Calculated => f.write_str("a calculated check is not probed"),
            Self::Unusable(reason) => write!(f, "unusable in the snapshot: {reason}"),
            Self::NoHost => f.write_str("no host to probe"),
            Self::NoPort => f.write_str("a TCP check without a port"),
            Self::Url(reason) => write!(f, "no URL: {reason}"),
        }
    }
}

#[derive(Clone, Copy)]
enum Scheme {
    Http,
    Https,
}

/// The URL an HTTP(S) probe fetches, built from its parts with the `url` crate: the host set
/// as a host (an address as an address, so an IPv6 one is bracketed), then the port, then the
/// path and query, which `url` percent-encodes as a path and a query (RFC 3986 §3.3, §3.4) and
/// which therefore cannot reach the authority, whatever `path` holds. The host of the result
/// is checked against `host` all the same.
fn probe_url(scheme: Scheme, host: &Host, port: Option<u16>, path: &str) -> Result<Url, ProbeError> {
    let failed = |why: &str| ProbeError::Url(why.to_owned());
    // A constant URL of the scheme, whose every part is then replaced.
    let base = match scheme {
        Scheme::Http => "http://host.invalid/",
        Scheme::Https => "https://host.invalid/",
    };
    let mut url = Url::parse(base).map_err(|e| failed(&e.to_string()))?;
    match host {
        Host::Ip(address) => url.set_ip_host(*address).map_err(|()| failed("the address was refused as a host"))?,
        Host::Name(name) => url.set_host(Some(name)).map_err(|e| failed(&e.to_string()))?,
    }
    url.set_port(port).map_err(|()| failed("the port was refused"))?;
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    url.set_path(path);
    url.set_query(query);
    url.set_fragment(None);
    let default_port = match scheme {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    if !host.is(url.host()) || url.port_or_known_default() != Some(port.unwrap_or(default_port)) {
        return Err(failed("the URL's host or port is not the check's"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(failed("the URL has user information"));
    }
    Ok(url)
}

/// A check as routes files and the snapshot write it: the kind, host and path as strings, the
/// fields in the order (and of the types) they had before these were typed, which postcard
/// relies on (it writes no field names): snapshots published before keep decoding.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecRecord {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    host_header: Option<String>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    interval: Option<u32>,
    #[serde(default)]
    threshold: Option<u32>,
    #[serde(default)]
    timeout: Option<u32>,
    #[serde(default)]
    inverted: bool,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    children: Vec<String>,
    #[serde(default)]
    min_healthy: Option<u32>,
}

impl From<HealthCheckSpec> for SpecRecord {
    fn from(spec: HealthCheckSpec) -> Self {
        let (host, path) = match spec.unusable {
            Some(unusable) => (unusable.host, unusable.path),
            None => (spec.host.map(|host| host.to_string()), spec.path.map(|path| path.0)),
        };
        Self {
            kind: spec.kind.into(),
            host,
            port: spec.port,
            path,
            host_header: spec.host_header,
            search: spec.search,
            interval: spec.interval,
            threshold: spec.threshold,
            timeout: spec.timeout,
            inverted: spec.inverted,
            disabled: spec.disabled,
            children: spec.children,
            min_healthy: spec.min_healthy,
        }
    }
}

impl TryFrom<SpecRecord> for HealthCheckSpec {
    type Error = UnknownKind;

    /// Fails on an unknown kind only; a host or path that fails the checks gives an
    /// [`Unusable`] check.
    fn try_from(record: SpecRecord) -> Result<Self, Self::Error> {
        let kind = record.kind.parse()?;
        let host = record.host.as_deref().map(Host::parse).transpose();
        let path = record.path.as_deref().map(Path::parse).transpose();
        let (host, path, unusable) = match (host, path) {
            (Ok(host), Ok(path)) => (host, path, None),
            (Err(error), _) | (_, Err(error)) => (None, None, Some(Unusable { reason: error.to_string(), host: record.host, path: record.path })),
        };
        Ok(Self {
            kind,
            host,
            port: record.port,
            path,
            host_header: record.host_header,
            search: record.search,
            interval: record.interval,
            threshold: record.threshold,
            timeout: record.timeout,
            inverted: record.inverted,
            disabled: record.disabled,
            children: record.children,
            min_healthy: record.min_healthy,
            unusable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Host {
        Host::parse(text).unwrap()
    }

    fn http(host: &str, port: Option<u16>, path: &str) -> HealthCheckSpec {
        HealthCheckSpec { host: Some(name(host)), port, path: Some(Path::parse(path).unwrap()), ..HealthCheckSpec::new(CheckKind::Http) }
    }

    fn url_of(spec: &HealthCheckSpec) -> String {
        match spec.probe().unwrap() {
            Probe::Http { url, .. } => url.to_string(),
            Probe::Tcp { .. } => panic!("not an HTTP probe"),
        }
    }

    #[test]
    fn kinds_read_and_write_as_their_names() {
        for kind in CheckKind::ALL {
            assert_eq!(kind.as_str().parse::<CheckKind>(), Ok(kind));
        }
        assert_eq!("HTTP".parse::<CheckKind>(), Err(UnknownKind("HTTP".into())));
        assert_eq!(UnknownKind("ftp".into()).to_string(), "unknown type \"ftp\" (http, https, tcp, calculated)");
        assert!(!CheckKind::Calculated.is_probed() && CheckKind::Tcp.is_probed());
    }

    #[test]
    fn hosts_are_names_or_addresses() {
        assert_eq!(name("web-1.Example.net"), Host::Name("web-1.Example.net".into()));
        assert_eq!(name("example.net."), Host::Name("example.net.".into()));
        assert_eq!(name("192.0.2.1"), Host::Ip("192.0.2.1".parse().unwrap()));
        assert_eq!(name("2001:db8::1"), Host::Ip("2001:db8::1".parse().unwrap()));
        assert_eq!(name("[2001:db8::1]"), name("2001:db8::1"));
        assert_eq!(name(&format!("{}.example", "a".repeat(63))).to_string().len(), 71);
        let refused = [
            "",
            "@evil.example/",
            "evil.example@good.example",
            "good.example/evil",
            "good.example:8080",
            "good.example?x",
            "good.example#x",
            "good\\evil",
            "good example",
            "good.example\n",
            "a..b",
            ".example",
            "-a.example",
            "a-.example",
            "under_score.example",
            "bücher.example",
            "[2001:db8::1",
            "[192.0.2.1]",
            "[2001:db8::1]:80",
            "fe80::1%eth0",
            "127.1",
            "1.2.3.4.5",
            "example.0x7f",
            "010.0.0.1",
        ];
        for text in refused {
            assert!(Host::parse(text).is_err(), "{text:?} was taken");
        }
        assert!(Host::parse(&format!("{}.example", "a".repeat(64))).is_err());
        assert!(Host::parse(&["a"; 128].join(".")).is_err(), "255 characters");
        let message = Host::parse("@evil.example/").unwrap_err().to_string();
        assert_eq!(message, "host \"@evil.example/\" is not a host name or an IP address: an '@' would make what precedes it user information");
    }

    #[test]
    fn paths_start_with_a_slash_and_are_visible_ascii() {
        for text in ["/", "/health", "/welcome.html?language=jp&login=y", "/a%20b", "//double", "/@evil.example"] {
            assert_eq!(Path::parse(text).unwrap().as_str(), text);
        }
        let refused =
            ["", "health", "@evil.example/", "?x@evil", "/a b", "/a\tb", "/#@evil", "/x#y", "/\\evil", "/%zz", "/%2", "/ü", &format!("/{}", "a".repeat(1024))];
        for text in refused {
            assert!(Path::parse(text).is_err(), "{text:?} was taken");
        }
        assert_eq!(Path::parse("@evil.example/").unwrap_err().to_string(), "path \"@evil.example/\" is not an HTTP path: it must start with '/'");
    }

    #[test]
    fn urls_are_built_from_the_parts() {
        assert_eq!(url_of(&http("web.example.net", None, "/health")), "http://web.example.net/health");
        assert_eq!(url_of(&http("192.0.2.1", Some(8080), "/a?b=c")), "http://192.0.2.1:8080/a?b=c");
        assert_eq!(url_of(&http("2001:db8::1", Some(8443), "/")), "http://[2001:db8::1]:8443/", "IPv6 in brackets");
        assert_eq!(url_of(&http("[2001:db8::1]", None, "/")), "http://[2001:db8::1]/");
        let mut https = http("web.example.net", Some(443), "/");
        https.kind = CheckKind::Https;
        assert_eq!(url_of(&https), "https://web.example.net/", "the default port is left out");
        let mut bare = http("web.example.net", None, "/");
        bare.path = None;
        assert_eq!(url_of(&bare), "http://web.example.net/");
        let tcp = HealthCheckSpec { host: Some(name("2001:db8::1")), port: Some(53), ..HealthCheckSpec::new(CheckKind::Tcp) };
        assert_eq!(tcp.probe(), Ok(Probe::Tcp { host: &name("2001:db8::1"), port: 53 }));
        assert_eq!(HealthCheckSpec { port: None, ..tcp }.probe(), Err(ProbeError::NoPort));
        assert_eq!(HealthCheckSpec::new(CheckKind::Calculated).probe(), Err(ProbeError::Calculated));
        assert_eq!(HealthCheckSpec::new(CheckKind::Https).probe(), Err(ProbeError::NoHost));
    }

    #[test]
    fn no_path_changes_the_host() {
        // Even paths the checks refuse, handed to the builder directly: the host stays.
        let long = format!("/{}@evil.example", "a".repeat(100_000));
        let hostile = [
            "@evil.example/",
            "//evil.example",
            "///evil.example",
            "\\\\evil",
            "/\\evil.example",
            "?x@evil",
            "#@evil",
            "/#@evil.example",
            "/?@evil.example#x",
            "/..//evil.example",
            "http://evil.example/",
            ":80@evil.example",
            "/ü@évil.example",
            "/\u{ff0e}\u{ff0e}/evil",
            "/%2F%2Fevil.example",
            "/a\r\nHost: evil.example",
            "",
            &long,
        ];
        // The string join this builder replaces (`{scheme}://{host}{port}{path}`) moved them.
        for path in ["@evil.example/", ":80@evil.example/", ".evil.example/"] {
            let joined = Url::parse(&format!("http://good.example{path}")).unwrap();
            assert_ne!(joined.host_str(), Some("good.example"), "{path:?}");
        }
        let hosts = ["web.example.net", "WEB.example.net.", "192.0.2.1", "2001:db8::1", &format!("{}.example", "x".repeat(63))];
        for host in hosts {
            let host = name(host);
            for scheme in [Scheme::Http, Scheme::Https] {
                for port in [None, Some(8080)] {
                    for path in hostile {
                        let url = probe_url(scheme, &host, port, path).unwrap();
                        assert!(host.is(url.host()), "{path:?} moved {host} to {url}");
                        assert_eq!(url.port(), port);
                        assert!(url.username().is_empty() && url.password().is_none(), "{url}");
                        assert_eq!(url.fragment(), None);
                        // What is sent is read back the same way.
                        let again = Url::parse(url.as_str()).unwrap();
                        assert!(host.is(again.host()), "{path:?}: {url} reads back as {again}");
                    }
                }
            }
        }
    }

    /// The shape of the check before its kind, host and path were typed (the snapshot's
    /// format then), kept to show old bytes decode.
    #[derive(Serialize, Default)]
    struct OldSpec {
        kind: String,
        host: Option<String>,
        port: Option<u16>,
        path: Option<String>,
        host_header: Option<String>,
        search: Option<String>,
        interval: Option<u32>,
        threshold: Option<u32>,
        timeout: Option<u32>,
        inverted: bool,
        disabled: bool,
        children: Vec<String>,
        min_healthy: Option<u32>,
    }

    #[test]
    fn old_snapshot_bytes_decode() {
        let old = OldSpec {
            kind: "https".into(),
            host: Some("site-a.example.net".into()),
            port: Some(8443),
            path: Some("/health?deep=1".into()),
            host_header: Some("site-a.example.org".into()),
            search: Some("ok".into()),
            interval: Some(10),
            threshold: Some(2),
            timeout: Some(4),
            inverted: true,
            disabled: false,
            children: vec![],
            min_healthy: None,
        };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let spec: HealthCheckSpec = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(spec.kind, CheckKind::Https);
        assert_eq!(spec.host, Some(name("site-a.example.net")));
        assert_eq!(spec.path.as_ref().map(Path::as_str), Some("/health?deep=1"));
        assert_eq!((spec.port, spec.interval, spec.threshold, spec.timeout, spec.inverted), (Some(8443), Some(10), Some(2), Some(4), true));
        assert_eq!(spec.host_header.as_deref(), Some("site-a.example.org"));
        assert_eq!(spec.search.as_deref(), Some("ok"));
        assert_eq!(spec.unusable, None);
        assert_eq!(postcard::to_allocvec(&spec).unwrap(), bytes, "encoded again, the same bytes");
        let calculated = OldSpec { kind: "calculated".into(), children: vec!["a".into(), "b".into()], min_healthy: Some(1), ..OldSpec::default() };
        let spec: HealthCheckSpec = postcard::from_bytes(&postcard::to_allocvec(&calculated).unwrap()).unwrap();
        assert_eq!((spec.kind, spec.children.len(), spec.min_healthy), (CheckKind::Calculated, 2, Some(1)));
    }

    #[test]
    fn a_bad_host_or_path_in_a_snapshot_makes_the_check_unusable() {
        // The old compiler took any non-empty host and any path.
        for (host, path) in [("good.example", "@evil.example/"), ("evil.example@good.example", "/"), ("a b", "/")] {
            let old = OldSpec { kind: "http".into(), host: Some(host.into()), path: Some(path.into()), ..OldSpec::default() };
            let bytes = postcard::to_allocvec(&old).unwrap();
            let spec: HealthCheckSpec = postcard::from_bytes(&bytes).unwrap();
            let Some(unusable) = &spec.unusable else { panic!("{host} {path} taken") };
            assert!(unusable.reason.contains("is not"), "{}", unusable.reason);
            assert!(matches!(spec.probe(), Err(ProbeError::Unusable(_))), "no URL is built");
            assert_eq!(postcard::to_allocvec(&spec).unwrap(), bytes, "encoded again, the same bytes");
        }
        // An unknown kind is a corrupt snapshot: an error, not a panic.
        let old = OldSpec { kind: "gopher".into(), ..OldSpec::default() };
        assert!(postcard::from_bytes::<HealthCheckSpec>(&postcard::to_allocvec(&old).unwrap()).is_err());
    }

    #[test]
    fn json_keeps_its_field_names() {
        let spec = http("192.0.2.1", Some(80), "/");
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.starts_with(r#"{"type":"http","host":"192.0.2.1","port":80,"path":"/""#), "{json}");
        assert_eq!(serde_json::from_str::<HealthCheckSpec>(&json).unwrap(), spec);
        assert_eq!(serde_json::from_str::<HealthCheckSpec>(r#"{"type":"tcp","host":"192.0.2.1","port":53}"#).unwrap().port, Some(53));
    }
}
