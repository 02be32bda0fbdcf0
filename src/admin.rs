//! The admin API, sans IO: authentication, request parsing and validation, and the JSON
//! responses. The Worker does the KV reads and writes each request needs.
//!
//! Every request under `/admin/` carries `Authorization: Bearer <token>`, compared in
//! constant time with the `ADMIN_TOKEN` secret (`wrangler secret put ADMIN_TOKEN`; `.dev.vars`
//! locally). A missing or wrong token, or no token configured, is 401 with nothing else
//! said: not even whether the path exists.
//!
//! | request | what it does |
//! |---|---|
//! | `GET /admin/health` | every check: definition, state, last result, latency, consecutive count, override |
//! | `PUT /admin/health/overrides/<target>` `{"healthy": false, "reason": "..."}` | forces a check id, or a value (`value:192.0.2.10`), up or down until cleared |
//! | `DELETE /admin/health/overrides/<target>` | clears it |
//! | `GET /admin/isolate` | this isolate: the snapshot version it serves, requests served, KV reads (and the bytes they returned) on the request path, in the background and for operators |
//! | `GET /admin/resolver` | resolver mode: upstreams, firewall version, this isolate's cache hits and upstream latencies |
//! | `GET /admin/zones` | the zones served (apex, record count, routed sets), the current version and the publish history |
//! | `GET /admin/zones/<apex>` | that zone's sources in the current version (`zone`, `routes`: what a `PUT` takes), the files they were published as |
//! | `PUT /admin/zones/<apex>[?dry_run=1]` `{"zone": "<master file>", "routes": "<routes TOML>"}` | replaces (or adds) a zone's sources, compiles every zone and publishes; with `dry_run`, only validates and shows the changes |
//! | `DELETE /admin/zones/<apex>[?dry_run=1]` | removes a zone, the same way |
//! | `POST /admin/rollback` `{"to": "<version>"}` (optional) | points `snapshot:current` back, as `edgedns rollback` does |
//! | `GET /admin/diff?from=<version>&to=<version>` | what changes from one version to the other, `edgedns diff`'s lines |
//! | `GET /admin/policy?name=<owner>&type=<type>` | a routed record set's policy tree, node by node, as the console draws it |
//!
//! A zone edit is [`edit_zone`]: a pure function of the current version's sources
//! (`sources:<version>` in KV) and the upload, returning the new sources and the catalog
//! compiled from them by the CLI's compiler, or its `file:line` messages.

use std::collections::BTreeMap;

use hickory_proto::rr::{Name, RecordType};
use serde::{Deserialize, Serialize};

use crate::doh::{parameter, percent_decode, HttpRequest, HttpResponse};
use crate::health::spec::HealthCheckSpec;
use crate::health::{override_target, Override, Overrides, VALUE_PREFIX};
use crate::publish::Published;
use crate::zone::compile::{compile_all, source_apex, SourceFile};
use crate::zone::Catalog;

/// The prefix of every admin path.
pub const ADMIN_PREFIX: &str = "/admin/";
/// The largest admin request body accepted, except zone uploads.
pub const MAX_BODY: usize = 64 * 1024;
/// The largest zone upload accepted (`PUT /admin/zones/<apex>`).
pub const MAX_ZONE_BODY: usize = 5 * 1024 * 1024;
/// The prefix of a zone's path.
const ZONES_PREFIX: &str = "/admin/zones/";
/// The longest version id a rollback accepts.
const MAX_VERSION: usize = 128;
/// The shortest token the admin API accepts as configured (shorter ones leave it closed).
pub const MIN_TOKEN_LENGTH: usize = 16;
/// The longest override reason kept.
const MAX_REASON: usize = 500;

/// A request the admin API understood.
#[derive(Debug, Clone, PartialEq)]
pub enum AdminRequest {
    /// List every check's status.
    HealthStatus,
    /// Resolver mode: upstreams, firewall, this isolate's cache and upstream counts.
    ResolverStatus,
    /// This isolate: the snapshot it serves, requests served, KV reads by path.
    IsolateStatus,
    /// Resolver mode: this isolate's counts of blocked queries per profile, list and rule.
    FirewallStats,
    /// Resolver mode: each subscribed list, its version serving, when it was checked and
    /// changed, and its last error.
    FirewallSubscriptions,
    /// Force a check or a value up or down.
    SetOverride {
        /// A check id, or `value:<rdata>` (canonical form).
        target: String,
        /// Up or down, and why.
        forced: Override,
    },
    /// Clear an override.
    ClearOverride {
        /// As set.
        target: String,
    },
    /// The zones served, the current version and the history.
    Zones,
    /// Replace (or add) a zone's sources and publish.
    PutZone {
        /// The zone, lower case, absolute.
        apex: Name,
        /// Its new sources.
        upload: ZoneUpload,
        /// Validate and show the changes, publish nothing.
        dry_run: bool,
    },
    /// A zone's sources as the current version holds them (what the console's editor starts
    /// from).
    ZoneSources {
        /// The zone, lower case, absolute.
        apex: Name,
    },
    /// Remove a zone and publish.
    DeleteZone {
        /// The zone, lower case, absolute.
        apex: Name,
        /// Validate and show the changes, publish nothing.
        dry_run: bool,
    },
    /// Point `snapshot:current` back.
    Rollback {
        /// The version to serve; the one published before the current one when `None`.
        to: Option<String>,
    },
    /// What changes between two versions.
    Diff {
        /// The version compared from.
        from: String,
        /// The version compared to.
        to: String,
    },
    /// Query counts over the last `minutes` (1 to 60): from Analytics Engine when its SQL
    /// API is configured, else this isolate's counters ([`crate::analytics`]).
    Traffic {
        /// The window, in minutes up to now.
        minutes: u32,
    },
    /// A routed record set's policy tree.
    Policy {
        /// The owner, lower case, absolute.
        name: Name,
        /// The record type.
        record_type: RecordType,
    },
}

/// A zone's sources as uploaded: the master file, and its routes file when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneUpload {
    /// The master-file text.
    pub zone: String,
    /// The routes file's text (`<zone>.routes.toml`); none when omitted or null.
    #[serde(default)]
    pub routes: Option<String>,
}

/// Why an admin request is refused: one status each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// 401: no token, a wrong one, or none configured.
    Unauthorized,
    /// 404: no such admin endpoint.
    NotFound,
    /// 405: the endpoint exists, the method does not.
    MethodNotAllowed(&'static str),
    /// 413: the body is over the endpoint's limit (bytes).
    PayloadTooLarge(usize),
    /// 400: malformed JSON, wrong types, or values out of range.
    BadRequest(String),
    /// 400: the zones do not compile; the compiler's `file:line` messages.
    InvalidZones(Vec<String>),
    /// 404: the override names a check no published zone declares.
    UnknownCheck(String),
    /// 404: no published zone has this apex.
    UnknownZone(String),
    /// 404: no manifest of this version is in KV.
    UnknownVersion(String),
    /// 404: no zone routes this record set (`<name> <type>`).
    UnknownRecordSet(String),
    /// 409: the request cannot apply to what is published (nothing to roll back to, no
    /// sources stored for the current version, a corrupt shard).
    Conflict(String),
    /// 503: the Worker has no zone data, or KV failed.
    Unavailable(String),
    /// 429: this client failed to authenticate too often; retry after this many seconds.
    TooManyFailures(u32),
}

impl AdminError {
    /// The HTTP status for the error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::NotFound | Self::UnknownCheck(_) | Self::UnknownZone(_) | Self::UnknownVersion(_) | Self::UnknownRecordSet(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge(_) => 413,
            Self::BadRequest(_) | Self::InvalidZones(_) => 400,
            Self::Conflict(_) => 409,
            Self::Unavailable(_) => 503,
            Self::TooManyFailures(_) => 429,
        }
    }

    /// What the error says (all a 401 says is "unauthorized").
    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized => "unauthorized".into(),
            Self::NotFound => "no such admin endpoint".into(),
            Self::MethodNotAllowed(allowed) => format!("method not allowed (allowed: {allowed})"),
            Self::PayloadTooLarge(limit) => format!("request body over {limit} bytes"),
            Self::BadRequest(message) | Self::Unavailable(message) | Self::Conflict(message) => message.clone(),
            Self::InvalidZones(details) => format!("{} error(s) in the zone sources; nothing was published", details.len()),
            Self::UnknownCheck(id) => format!("no health check {id:?} in the published zones"),
            Self::UnknownZone(apex) => format!("no zone {apex} is published"),
            Self::UnknownVersion(version) => format!("snapshot {version} is missing from KV"),
            Self::UnknownRecordSet(set) => format!("no routed record set {set} is served"),
            Self::TooManyFailures(seconds) => format!("too many failed authentications from this address: try again in {seconds} s"),
        }
    }

    /// The HTTP response for the error: `{"error": "..."}`, with `"details"` (the compiler's
    /// messages) for zones that do not compile.
    pub fn response(&self) -> HttpResponse {
        let details = match self {
            Self::InvalidZones(details) => details.clone(),
            _ => Vec::new(),
        };
        let mut response = json(self.status(), &Message { error: self.message(), details });
        match self {
            Self::Unauthorized => response.headers.push(("www-authenticate", "Bearer".into())),
            Self::MethodNotAllowed(allowed) => response.headers.push(("allow", (*allowed).into())),
            Self::TooManyFailures(seconds) => response.headers.push(("retry-after", seconds.to_string().into())),
            _ => {}
        }
        response
    }
}

#[derive(Serialize)]
struct Message {
    error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<String>,
}

/// JSON text already rendered, as a response no cache keeps and no other origin reads.
pub fn json_text(status: u16, text: String) -> HttpResponse {
    HttpResponse { status, headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())], body: text.into_bytes() }
}

/// A JSON response that no cache keeps and no other origin reads.
pub fn json<T: Serialize>(status: u16, value: &T) -> HttpResponse {
    let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    HttpResponse { status, headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())], body }
}

/// Checks the `Authorization` header against the configured token, in time that depends
/// only on the configured token's length.
pub fn authorize(configured: Option<&str>, authorization: Option<&str>) -> Result<(), AdminError> {
    let Some(expected) = configured.map(str::trim).filter(|token| token.len() >= MIN_TOKEN_LENGTH) else {
        return Err(AdminError::Unauthorized);
    };
    let presented = authorization
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    if constant_time_equal(expected.as_bytes(), presented.as_bytes()) {
        Ok(())
    } else {
        Err(AdminError::Unauthorized)
    }
}

/// Byte-wise equality whose time depends on `expected`'s length only, not on where the
/// first difference is or on the other side's content.
fn constant_time_equal(expected: &[u8], presented: &[u8]) -> bool {
    let mut difference = u8::from(expected.len() != presented.len());
    let mut others = presented.iter().chain(std::iter::repeat(&0u8));
    for byte in expected {
        difference |= byte ^ others.next().copied().unwrap_or(0);
    }
    difference == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    healthy: bool,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    #[serde(default)]
    to: Option<String>,
}

/// The largest body `method` on `path` accepts: [`MAX_ZONE_BODY`] for a zone upload,
/// [`MAX_BODY`] otherwise. The Worker checks `Content-Length` against it before reading the
/// body, and [`parse`] checks the bytes read.
pub fn body_limit(method: &str, path: &str) -> usize {
    if matches!(method, "PUT" | "POST") && path.starts_with(ZONES_PREFIX) {
        MAX_ZONE_BODY
    } else {
        MAX_BODY
    }
}

/// Parses an authorized request at `now_ms` (the time an override is set).
pub fn parse(request: &HttpRequest<'_>, now_ms: u64) -> Result<AdminRequest, AdminError> {
    let path = request.path.strip_prefix(ADMIN_PREFIX).ok_or(AdminError::NotFound)?.trim_end_matches('/');
    let limit = body_limit(request.method, request.path);
    if request.body.len() > limit {
        return Err(AdminError::PayloadTooLarge(limit));
    }
    if path == "zones" {
        return match request.method {
            "GET" | "HEAD" => Ok(AdminRequest::Zones),
            _ => Err(AdminError::MethodNotAllowed("GET")),
        };
    }
    if let Some(apex) = path.strip_prefix("zones/") {
        let apex = zone_apex(apex)?;
        let dry_run = dry_run(request.query)?;
        return match request.method {
            "PUT" => {
                let upload: ZoneUpload = object(request.body).map_err(|error| {
                    AdminError::BadRequest(format!(
                        "zone body: {error} (expected {{\"zone\": \"<master file text>\", \"routes\": \"<routes TOML text>\"}}, routes optional)"
                    ))
                })?;
                Ok(AdminRequest::PutZone { apex, upload, dry_run })
            }
            "DELETE" => Ok(AdminRequest::DeleteZone { apex, dry_run }),
            "GET" | "HEAD" => Ok(AdminRequest::ZoneSources { apex }),
            _ => Err(AdminError::MethodNotAllowed("GET, PUT, DELETE")),
        };
    }
    if path == "rollback" {
        if request.method != "POST" {
            return Err(AdminError::MethodNotAllowed("POST"));
        }
        if request.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(AdminRequest::Rollback { to: None });
        }
        let body: RollbackBody =
            object(request.body).map_err(|error| AdminError::BadRequest(format!("rollback body: {error} (expected {{\"to\": \"<version>\"}} or nothing)")))?;
        let to = body.to.map(|version| version_id("to", version.trim())).transpose()?;
        return Ok(AdminRequest::Rollback { to });
    }
    if path == "diff" {
        if !matches!(request.method, "GET" | "HEAD") {
            return Err(AdminError::MethodNotAllowed("GET"));
        }
        let version = |key: &'static str| {
            let text = parameter(request.query, key).and_then(percent_decode).unwrap_or_default();
            version_id(key, text.trim())
        };
        return Ok(AdminRequest::Diff { from: version("from")?, to: version("to")? });
    }
    if path == "policy" {
        if !matches!(request.method, "GET" | "HEAD") {
            return Err(AdminError::MethodNotAllowed("GET"));
        }
        return policy_request(request.query);
    }
    if path == "traffic" {
        if !matches!(request.method, "GET" | "HEAD") {
            return Err(AdminError::MethodNotAllowed("GET"));
        }
        let minutes = match parameter(request.query, "minutes") {
            None => None,
            Some(text) => Some(text.parse::<u32>().map_err(|_| AdminError::BadRequest("minutes: a whole number from 1 to 60".into()))?),
        };
        return Ok(AdminRequest::Traffic { minutes: crate::analytics::report::window(minutes) });
    }
    let status = match path {
        "resolver" => Some(AdminRequest::ResolverStatus),
        "isolate" => Some(AdminRequest::IsolateStatus),
        "firewall/stats" => Some(AdminRequest::FirewallStats),
        "firewall/subscriptions" => Some(AdminRequest::FirewallSubscriptions),
        _ => None,
    };
    if let Some(status) = status {
        return match request.method {
            "GET" | "HEAD" => Ok(status),
            _ => Err(AdminError::MethodNotAllowed("GET")),
        };
    }
    if path == "health" {
        return match request.method {
            "GET" | "HEAD" => Ok(AdminRequest::HealthStatus),
            _ => Err(AdminError::MethodNotAllowed("GET")),
        };
    }
    let Some(target) = path.strip_prefix("health/overrides/") else {
        return Err(AdminError::NotFound);
    };
    let target = percent_decode(target).ok_or_else(|| AdminError::BadRequest("the override target is not valid percent-encoded UTF-8".into()))?;
    let target = override_target(&target);
    if target.is_empty() || target == VALUE_PREFIX || target.len() > 255 || target.chars().any(char::is_control) {
        return Err(AdminError::BadRequest("the override target must be a check id or value:<rdata>, at most 255 characters".into()));
    }
    match request.method {
        "PUT" | "POST" => {
            let body: OverrideBody = serde_json::from_slice(request.body)
                .map_err(|error| AdminError::BadRequest(format!("override body: {error} (expected {{\"healthy\": true|false, \"reason\": \"...\"}})")))?;
            if body.reason.chars().count() > MAX_REASON {
                return Err(AdminError::BadRequest(format!("reason: at most {MAX_REASON} characters")));
            }
            let forced = Override { healthy: body.healthy, reason: body.reason, set_at: Some(now_ms) };
            Ok(AdminRequest::SetOverride { target, forced })
        }
        "DELETE" => Ok(AdminRequest::ClearOverride { target }),
        _ => Err(AdminError::MethodNotAllowed("PUT, DELETE")),
    }
}

/// A version id as given: letters, digits, '-', '_', '.', at most [`MAX_VERSION`].
fn version_id(key: &str, version: &str) -> Result<String, AdminError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if version.is_empty() || version.len() > MAX_VERSION || !version.chars().all(allowed) {
        return Err(AdminError::BadRequest(format!("{key}: a version id (letters, digits, '-', '_', '.'; at most {MAX_VERSION})")));
    }
    Ok(version.to_owned())
}

/// `name=<owner>&type=<type>` (type A when absent) of `GET /admin/policy`.
fn policy_request(query: &str) -> Result<AdminRequest, AdminError> {
    let name = parameter(query, "name").and_then(percent_decode).unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(AdminError::BadRequest("name: the owner of a routed record set, such as www.example.org".into()));
    }
    let absolute = if name.ends_with('.') { name.to_owned() } else { format!("{name}.") };
    let name = Name::from_utf8(&absolute).map_err(|_| AdminError::BadRequest(format!("name: {name:?} is not a domain name")))?.to_lowercase();
    let type_text = parameter(query, "type").and_then(percent_decode).unwrap_or_else(|| "A".to_owned());
    let record_type = type_text
        .trim()
        .to_ascii_uppercase()
        .parse::<RecordType>()
        .map_err(|_| AdminError::BadRequest(format!("type: {type_text:?} is not a record type mnemonic such as A or AAAA")))?;
    Ok(AdminRequest::Policy { name, record_type })
}

/// Applies an override change to the set read from KV: a check id must be declared by the
/// published zones; a value is taken as given. Returns whether anything changed.
pub fn change_overrides(overrides: &mut Overrides, checks: &BTreeMap<String, HealthCheckSpec>, request: AdminRequest) -> Result<bool, AdminError> {
    match request {
        AdminRequest::SetOverride { target, forced } => {
            if !target.starts_with(VALUE_PREFIX) && !checks.contains_key(&target) {
                return Err(AdminError::UnknownCheck(target));
            }
            overrides.insert(target, forced);
            Ok(true)
        }
        AdminRequest::ClearOverride { target } => Ok(overrides.remove(&target).is_some()),
        _ => Ok(false),
    }
}

/// A JSON object's fields (serde would also take a struct from an array of its values).
fn object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err("expected a JSON object".into());
    }
    serde_json::from_slice(body).map_err(|error| error.to_string())
}

/// The zone a path names: a host name (letters, digits, '-', '_'; a final dot optional),
/// percent-decoded, lower case, absolute.
fn zone_apex(segment: &str) -> Result<Name, AdminError> {
    let bad = || AdminError::BadRequest("the zone must be a host name such as example.com (letters, digits, '-', '_')".into());
    let text = percent_decode(segment).ok_or_else(bad)?;
    let text = text.strip_suffix('.').unwrap_or(&text);
    let label_ok = |label: &str| (1..=63).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if text.len() > 253 || !text.split('.').all(label_ok) {
        return Err(bad());
    }
    Name::from_ascii(format!("{text}.")).map(|name| name.to_lowercase()).map_err(|_| bad())
}

/// `dry_run=1` (or `true`) in the query string; absent, `0` or `false`: publish.
fn dry_run(query: &str) -> Result<bool, AdminError> {
    match parameter(query, "dry_run") {
        None | Some("0" | "false") => Ok(false),
        Some("" | "1" | "true") => Ok(true),
        Some(other) => Err(AdminError::BadRequest(format!("dry_run: 1 or 0, not {other:?}"))),
    }
}

/// The file names an uploaded zone's sources get: `<apex>.zone` (its default `$ORIGIN`) and
/// `<apex>.routes.toml`, so the compiler's messages read `admin.test.zone:3: ...`.
fn upload_paths(apex: &Name) -> (String, String) {
    let stem = apex.to_ascii();
    let stem = stem.trim_end_matches('.');
    (format!("{stem}.zone"), format!("{stem}.routes.toml"))
}

/// A zone edit that compiles: the sources to store and the catalog to publish.
#[derive(Debug)]
pub struct Edited {
    /// Every zone's sources, the edited zone's replaced, added or removed.
    pub sources: Vec<SourceFile>,
    /// Compiled from `sources`.
    pub catalog: Catalog,
}

/// Replaces `apex`'s sources in `current` with `upload` (adds them for a new zone; removes
/// them when `upload` is `None`), then compiles every zone with the CLI's compiler, so
/// references across zones (alias targets, health checks) are checked too. A zone's
/// sources are its master file (by its SOA owner) and its routes file (by its name); the
/// zones of private views (`views/<name>/`) are never touched.
///
/// Errors: the compiler's `file:line` messages ([`AdminError::InvalidZones`]), an upload
/// whose SOA is not at `apex`, or removing a zone that is not there
/// ([`AdminError::UnknownZone`]).
pub fn edit_zone(current: &[SourceFile], apex: &Name, upload: Option<&ZoneUpload>) -> Result<Edited, AdminError> {
    // Public zones only: a private view's zone of the same name (views/<name>/...) is kept.
    let (replaced, mut sources): (Vec<SourceFile>, Vec<SourceFile>) =
        current.iter().cloned().partition(|source| crate::zone::compile::view_of(&source.path).is_none() && source_apex(source).as_ref() == Some(apex));
    let Some(upload) = upload else {
        if replaced.is_empty() {
            return Err(AdminError::UnknownZone(apex.to_string()));
        }
        return compile(sources);
    };
    let (zone_path, routes_path) = upload_paths(apex);
    let zone = SourceFile { path: zone_path, text: upload.zone.clone() };
    match source_apex(&zone) {
        Some(owner) if &owner != apex => {
            return Err(AdminError::InvalidZones(vec![format!("{}: the SOA is at {owner}, not at the zone uploaded ({apex})", zone.path)]));
        }
        _ => {}
    }
    sources.push(zone);
    if let Some(routes) = &upload.routes {
        sources.push(SourceFile { path: routes_path, text: routes.clone() });
    }
    compile(sources)
}

/// One source file of a zone, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceText {
    /// Its path as published (`zones/example.com.zone`).
    pub path: String,
    /// Its text.
    pub text: String,
}

/// `GET /admin/zones/<apex>`: a zone's sources in the version `version`, in the shape a
/// `PUT` takes back (`zone`, `routes`), with the paths they were published under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneSources {
    /// The zone, absolute.
    pub apex: String,
    /// The version the sources are from.
    pub version: String,
    /// The master file's text.
    pub zone: String,
    /// The routes file's text, `None` when the zone has none.
    pub routes: Option<String>,
    /// Where they came from: the master file, then the routes file.
    pub files: Vec<String>,
}

/// The sources of `apex` among a version's `sources` (as [`edit_zone`] finds them: the
/// master file by its SOA owner, the routes file by its name; private views' zones are
/// never the public one). [`AdminError::UnknownZone`] when no master file is at `apex`.
pub fn zone_sources(sources: &[SourceFile], apex: &Name, version: &str) -> Result<ZoneSources, AdminError> {
    let mine: Vec<&SourceFile> =
        sources.iter().filter(|source| crate::zone::compile::view_of(&source.path).is_none() && source_apex(source).as_ref() == Some(apex)).collect();
    let routes = mine.iter().find(|source| source.path.ends_with(".routes.toml"));
    let zone = mine.iter().find(|source| !source.path.ends_with(".routes.toml")).ok_or_else(|| AdminError::UnknownZone(apex.to_string()))?;
    Ok(ZoneSources {
        apex: apex.to_string(),
        version: version.to_owned(),
        zone: zone.text.clone(),
        routes: routes.map(|routes| routes.text.clone()),
        files: std::iter::once(zone).chain(routes).map(|source| source.path.clone()).collect(),
    })
}

fn compile(sources: Vec<SourceFile>) -> Result<Edited, AdminError> {
    match compile_all(&sources) {
        Ok(catalog) => Ok(Edited { sources, catalog }),
        Err(errors) => Err(AdminError::InvalidZones(errors.iter().map(ToString::to_string).collect())),
    }
}

/// What an edit changes in what is served, one line each (`edgedns diff`'s text); empty
/// when nothing changes.
pub fn changes(served: &Catalog, edited: &Catalog) -> Vec<String> {
    let difference = crate::zone::diff::diff(served, edited);
    if difference.is_empty() {
        return Vec::new();
    }
    difference.to_string().lines().map(str::to_owned).collect()
}

/// The answer to a zone edit.
#[derive(Debug, Serialize)]
pub struct Publication {
    /// Validated only: nothing was written.
    pub dry_run: bool,
    /// The version published (`None` for a dry run).
    pub version: Option<String>,
    /// The version that was current before.
    pub previous: Option<String>,
    /// How many zones the new catalog holds.
    pub zones: usize,
    /// What changes ([`changes`]).
    pub changes: Vec<String>,
    /// Versions that fell off the history, whose keys were deleted.
    pub deleted: Vec<String>,
    /// Bookkeeping that failed after the publish (the history, deleting old keys).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The answer to a rollback.
#[derive(Debug, Serialize)]
pub struct RolledBack {
    /// The version that was current.
    pub previous: String,
    /// The version now current.
    pub version: String,
    /// How many zones it holds.
    pub zones: usize,
}

/// `GET /admin/zones`.
#[derive(Debug, Serialize)]
pub struct ZoneListing {
    /// The version `snapshot:current` names.
    pub current: Option<String>,
    /// The zones of that version.
    pub zones: Vec<ZoneSummary>,
    /// The publish history, newest first.
    pub history: Vec<Published>,
}

/// One zone in the listing.
#[derive(Debug, Serialize)]
pub struct ZoneSummary {
    /// The apex, absolute.
    pub apex: String,
    /// How many plain records it holds.
    pub records: usize,
    /// Its routed record sets.
    pub routed: Vec<RoutedSummary>,
}

/// A routed record set in the listing.
#[derive(Debug, Serialize)]
pub struct RoutedSummary {
    /// The owner.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub record_type: String,
}

/// The listing of a published catalog.
pub fn zone_listing(current: Option<&str>, catalog: &Catalog, history: Vec<Published>) -> ZoneListing {
    let zones = catalog
        .zones()
        .iter()
        .map(|zone| {
            let mut routed: Vec<RoutedSummary> = zone
                .nodes()
                .flat_map(|(_, node)| {
                    node.routed_sets()
                        .iter()
                        .map(|set| RoutedSummary { name: set.name.clone(), record_type: RecordType::from(set.record_type).to_string() })
                        .collect::<Vec<_>>()
                })
                .collect();
            routed.sort_by(|a, b| (&a.name, &a.record_type).cmp(&(&b.name, &b.record_type)));
            ZoneSummary { apex: zone.apex().to_ascii(), records: zone.record_count(), routed }
        })
        .collect();
    ZoneListing { current: current.map(str::to_owned), zones, history }
}

/// The deepest a drawn policy tree goes; a deeper branch (only a snapshot this compiler did
/// not make can hold one: [`crate::policy::EVALUATION_BUDGET`]) is drawn as cut off.
pub const MAX_DRAWN_DEPTH: usize = 32;

/// `GET /admin/policy`: a routed record set's tree, as the console draws it.
#[derive(Debug, Serialize, PartialEq)]
pub struct PolicyTree {
    /// The owner, absolute.
    pub name: String,
    /// The record type.
    #[serde(rename = "type")]
    pub record_type: String,
    /// The answers' TTL.
    pub ttl: u32,
    /// The root node.
    pub root: PolicyNode,
}

/// One node of a drawn tree.
#[derive(Debug, Serialize, PartialEq, Default)]
pub struct PolicyNode {
    /// What it does: `values`, `alias`, `weighted`, `failover`, `geolocation`, `latency`,
    /// `geoproximity`, `cidr`, `asn`, `multivalue`, or `cut` (past [`MAX_DRAWN_DEPTH`]).
    pub kind: &'static str,
    /// The set identifier explain names it by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The health check it follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<String>,
    /// A state forced in the routes file (`true` up, `false` down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// The values a `values` node answers, in presentation form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// An alias's target, or how a weighted node picks (`sticky`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The children, each with what leads to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<PolicyBranch>,
}

/// An edge of a drawn tree: the condition or share that leads to a child.
#[derive(Debug, Serialize, PartialEq)]
pub struct PolicyBranch {
    /// `weight 80`, `primary`, a location (`US`, `US-WA`, `*`), a region, a network
    /// collection's location, `AS64500`...
    pub edge: String,
    /// The child.
    pub node: PolicyNode,
}

/// The tree of the routed set `record_type` at `name` in `catalog`, or
/// [`AdminError::UnknownRecordSet`] when no zone there routes it.
pub fn policy_tree(catalog: &Catalog, name: &Name, record_type: RecordType) -> Result<PolicyTree, AdminError> {
    let unknown = || AdminError::UnknownRecordSet(format!("{name} {record_type}"));
    let zone = catalog.find(name).ok_or_else(unknown)?;
    let node = zone.node(name).ok_or_else(unknown)?;
    let set = node.routed(record_type).ok_or_else(unknown)?;
    Ok(PolicyTree { name: set.name.clone(), record_type: record_type.to_string(), ttl: set.ttl, root: drawn(&set.rule, 0) })
}

/// One node and, within [`MAX_DRAWN_DEPTH`], its children.
fn drawn(rule: &crate::policy::Rule, depth: usize) -> PolicyNode {
    use crate::policy::Action;
    let mut node = PolicyNode { kind: "cut", label: rule.label.clone(), health_check: rule.health_check.clone(), force: rule.force, ..PolicyNode::default() };
    if depth >= MAX_DRAWN_DEPTH {
        return node;
    }
    let branch = |edge: String, child: &crate::policy::Rule| PolicyBranch { edge, node: drawn(child, depth + 1) };
    let (kind, children): (&'static str, Vec<PolicyBranch>) = match &rule.action {
        Action::Values(values) => {
            node.values = values.iter().map(|value| value.0.to_string()).collect();
            ("values", Vec::new())
        }
        Action::Alias { target, evaluate_target_health } => {
            node.detail = Some(format!("alias to {target}{}", if *evaluate_target_health { ", evaluating its health" } else { "" }));
            ("alias", Vec::new())
        }
        Action::Weighted { choices, sticky } => {
            node.detail = sticky.then(|| "sticky: by the client's network".to_owned());
            ("weighted", choices.iter().map(|choice| branch(format!("weight {}", choice.weight), &choice.rule)).collect())
        }
        Action::Failover { primary, secondary } => ("failover", vec![branch("primary".into(), primary), branch("secondary".into(), secondary)]),
        Action::Geolocation(choices) => ("geolocation", choices.iter().map(|choice| branch(choice.location.to_string(), &choice.rule)).collect()),
        Action::Latency(choices) => ("latency", choices.iter().map(|choice| branch(choice.region.clone(), &choice.rule)).collect()),
        Action::Geoproximity(choices) => (
            "geoproximity",
            choices
                .iter()
                .map(|choice| {
                    let at = format!("{:.2}, {:.2}", choice.coordinates.latitude, choice.coordinates.longitude);
                    branch(if choice.bias == 0 { at } else { format!("{at} bias {}", choice.bias) }, &choice.rule)
                })
                .collect(),
        ),
        Action::Cidr(choices) => ("cidr", choices.iter().map(|choice| branch(choice.location.clone(), &choice.rule)).collect()),
        Action::Asn(choices) => (
            "asn",
            choices
                .iter()
                .map(|choice| {
                    let edge =
                        if choice.asns.is_empty() { "*".to_owned() } else { choice.asns.iter().map(|asn| format!("AS{asn}")).collect::<Vec<_>>().join(" ") };
                    branch(edge, &choice.rule)
                })
                .collect(),
        ),
        Action::Multivalue(rules) => ("multivalue", rules.iter().map(|child| branch("value".into(), child)).collect()),
    };
    node.kind = kind;
    node.children = children;
    node
}

/// `GET /admin/diff`: what changes from `from` to `to`.
#[derive(Debug, Serialize, PartialEq)]
pub struct VersionDiff {
    /// The version compared from.
    pub from: String,
    /// The version compared to.
    pub to: String,
    /// `edgedns diff`'s lines ([`changes`]); empty when both serve the same.
    pub changes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-token-0123456789";

    fn request<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> HttpRequest<'a> {
        HttpRequest { method, path, body, ..HttpRequest::default() }
    }

    #[test]
    fn firewall_stats_are_read_only() {
        assert!(matches!(parse(&request("GET", "/admin/firewall/stats", b""), 0), Ok(AdminRequest::FirewallStats)));
        assert!(matches!(parse(&request("GET", "/admin/firewall/stats/", b""), 0), Ok(AdminRequest::FirewallStats)));
        assert!(matches!(parse(&request("POST", "/admin/firewall/stats", b""), 0), Err(AdminError::MethodNotAllowed("GET"))));
        assert!(matches!(parse(&request("GET", "/admin/firewall/subscriptions", b""), 0), Ok(AdminRequest::FirewallSubscriptions)));
        assert!(matches!(parse(&request("PUT", "/admin/firewall/subscriptions", b""), 0), Err(AdminError::MethodNotAllowed("GET"))));
    }

    #[test]
    fn traffic_is_read_only_over_a_window_of_at_most_an_hour() {
        let traffic = |query: &'static str| parse(&HttpRequest { method: "GET", path: "/admin/traffic", query, ..HttpRequest::default() }, 0);
        assert_eq!(traffic(""), Ok(AdminRequest::Traffic { minutes: 60 }));
        assert_eq!(traffic("minutes=15"), Ok(AdminRequest::Traffic { minutes: 15 }));
        assert_eq!(traffic("minutes=0"), Ok(AdminRequest::Traffic { minutes: 1 }));
        assert_eq!(traffic("minutes=9999"), Ok(AdminRequest::Traffic { minutes: 60 }));
        assert!(matches!(traffic("minutes=ten"), Err(AdminError::BadRequest(_))));
        assert_eq!(parse(&request("DELETE", "/admin/traffic", b""), 0), Err(AdminError::MethodNotAllowed("GET")));
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        assert_eq!(authorize(Some(TOKEN), Some(&format!("Bearer {TOKEN}"))), Ok(()));
        assert_eq!(authorize(Some(TOKEN), Some(&format!("bearer  {TOKEN} "))), Ok(()));
        for wrong in [None, Some(""), Some("Bearer"), Some("Bearer s3cret"), Some(&format!("Basic {TOKEN}")[..]), Some(&format!("Bearer {TOKEN}x")[..])] {
            assert_eq!(authorize(Some(TOKEN), wrong), Err(AdminError::Unauthorized), "{wrong:?}");
        }
        assert_eq!(authorize(None, Some(&format!("Bearer {TOKEN}"))), Err(AdminError::Unauthorized), "no token configured: closed");
        assert_eq!(authorize(Some("short"), Some("Bearer short")), Err(AdminError::Unauthorized), "a short token leaves it closed");
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_equal(b"abc", b"abc"));
        assert!(!constant_time_equal(b"abc", b"abd"));
        assert!(!constant_time_equal(b"abc", b"ab"));
        assert!(!constant_time_equal(b"abc", b"abc\0"));
        assert!(!constant_time_equal(b"", b"x"));
    }

    #[test]
    fn unauthorized_says_nothing_more() {
        let response = AdminError::Unauthorized.response();
        assert_eq!(response.status, 401);
        assert_eq!(String::from_utf8(response.body).unwrap().trim(), "{\n  \"error\": \"unauthorized\"\n}");
    }

    #[test]
    fn parses_health_endpoints() {
        assert_eq!(parse(&request("GET", "/admin/health", b""), 0), Ok(AdminRequest::HealthStatus));
        assert_eq!(parse(&request("POST", "/admin/health", b""), 0), Err(AdminError::MethodNotAllowed("GET")));
        let set = parse(&request("PUT", "/admin/health/overrides/web-a", br#"{"healthy": false, "reason": "deploy"}"#), 7).unwrap();
        assert_eq!(set, AdminRequest::SetOverride { target: "web-a".into(), forced: Override { healthy: false, reason: "deploy".into(), set_at: Some(7) } });
        let value = parse(&request("PUT", "/admin/health/overrides/value%3A2001%3ADB8%3A%3A1", br#"{"healthy": true}"#), 0).unwrap();
        assert!(matches!(value, AdminRequest::SetOverride { ref target, .. } if target == "value:2001:db8::1"));
        assert_eq!(parse(&request("DELETE", "/admin/health/overrides/web-a", b""), 0), Ok(AdminRequest::ClearOverride { target: "web-a".into() }));
        assert_eq!(parse(&request("GET", "/admin/nope", b""), 0), Err(AdminError::NotFound));
    }

    #[test]
    fn bad_bodies_are_400_with_a_message() {
        for body in [&b"{"[..], br#"{"healthy": "no"}"#, br#"{"reason": "x"}"#, br#"{"healthy": true, "until": 5}"#, b"\xff"] {
            match parse(&request("PUT", "/admin/health/overrides/a", body), 0) {
                Err(AdminError::BadRequest(message)) => assert!(message.starts_with("override body:"), "{message}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let long = format!(r#"{{"healthy": true, "reason": "{}"}}"#, "x".repeat(501));
        assert!(matches!(parse(&request("PUT", "/admin/health/overrides/a", long.as_bytes()), 0), Err(AdminError::BadRequest(_))));
        assert_eq!(parse(&request("PUT", "/admin/health/overrides/a", &vec![b' '; MAX_BODY + 1]), 0), Err(AdminError::PayloadTooLarge(MAX_BODY)));
        for target in ["%ff", "value:", "%0a"] {
            let path = format!("/admin/health/overrides/{target}");
            assert!(matches!(parse(&request("DELETE", &path, b""), 0), Err(AdminError::BadRequest(_))), "{target}");
        }
    }

    #[test]
    fn overrides_name_declared_checks_or_values() {
        let checks = BTreeMap::from([("web".to_owned(), HealthCheckSpec::new(crate::health::spec::CheckKind::Http))]);
        let mut overrides = Overrides::new();
        let forced = Override { healthy: false, reason: String::new(), set_at: None };
        assert_eq!(
            change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "nope".into(), forced: forced.clone() }),
            Err(AdminError::UnknownCheck("nope".into()))
        );
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "web".into(), forced: forced.clone() }), Ok(true));
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "value:192.0.2.1".into(), forced }), Ok(true));
        assert_eq!(overrides.len(), 2);
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::ClearOverride { target: "web".into() }), Ok(true));
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::ClearOverride { target: "web".into() }), Ok(false));
    }

    const ZONE: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n";
    const ROUTES: &str = "[[records]]\nname = \"api\"\ntype = \"A\"\nttl = 60\n\n\
                          [[records.weighted]]\nweight = 80\nvalues = [\"192.0.2.10\"]\n\n\
                          [[records.weighted]]\nweight = 20\nvalues = [\"192.0.2.11\"]\n";

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn upload(zone: &str, routes: Option<&str>) -> ZoneUpload {
        ZoneUpload { zone: zone.to_owned(), routes: routes.map(str::to_owned) }
    }

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.to_owned(), text: text.to_owned() }
    }

    /// What a CLI publish of `zones/` stores: example.com with routes, and example.net from a
    /// file whose name is not its zone's.
    fn published() -> Vec<SourceFile> {
        vec![
            file("zones/example.com.zone", ZONE),
            file("zones/example.com.routes.toml", ROUTES),
            file("zones/legacy.zone", &format!("$ORIGIN example.net.\n{ZONE}")),
        ]
    }

    #[test]
    fn a_zones_sources_are_its_master_file_and_routes_as_published() {
        let mut sources = published();
        // A private view's zone of the same name is another zone.
        sources.insert(0, file("zones/views/corp/example.com.zone", "$TTL 60\n@ SOA ns1 hostmaster 9 3600 600 86400 60\n"));
        let com = zone_sources(&sources, &name("example.com."), "v1").unwrap();
        assert_eq!((com.apex.as_str(), com.version.as_str(), com.zone.as_str(), com.routes.as_deref()), ("example.com.", "v1", ZONE, Some(ROUTES)));
        assert_eq!(com.files, ["zones/example.com.zone", "zones/example.com.routes.toml"]);
        // Found by its SOA owner, whatever the file is called; no routes.
        let net = zone_sources(&sources, &name("example.net."), "v1").unwrap();
        assert_eq!((net.routes, net.files), (None, vec!["zones/legacy.zone".to_owned()]));
        assert!(net.zone.starts_with("$ORIGIN example.net.\n"));
        assert_eq!(zone_sources(&sources, &name("example.org."), "v1"), Err(AdminError::UnknownZone("example.org.".into())));
        // What it gives back, a PUT takes: the same zone compiles to the same catalog.
        let upload = ZoneUpload { zone: com.zone, routes: com.routes };
        let edited = edit_zone(&published(), &name("example.com."), Some(&upload)).unwrap();
        assert_eq!(changes(&compile(published()).unwrap().catalog, &edited.catalog), Vec::<String>::new());
    }

    fn paths(sources: &[SourceFile]) -> Vec<&str> {
        sources.iter().map(|source| source.path.as_str()).collect()
    }

    #[test]
    fn parses_zone_endpoints() {
        assert_eq!(parse(&request("GET", "/admin/zones", b""), 0), Ok(AdminRequest::Zones));
        assert_eq!(parse(&request("GET", "/admin/zones/", b""), 0), Ok(AdminRequest::Zones));
        assert_eq!(parse(&request("POST", "/admin/zones", b""), 0), Err(AdminError::MethodNotAllowed("GET")));
        let put = parse(&request("PUT", "/admin/zones/Admin.Test.", br#"{"zone": "text", "routes": null}"#), 0);
        assert_eq!(put, Ok(AdminRequest::PutZone { apex: name("admin.test."), upload: upload("text", None), dry_run: false }));
        let with_routes = HttpRequest { query: "dry_run=1", ..request("PUT", "/admin/zones/admin.test", br#"{"zone": "z", "routes": "r"}"#) };
        assert_eq!(parse(&with_routes, 0), Ok(AdminRequest::PutZone { apex: name("admin.test."), upload: upload("z", Some("r")), dry_run: true }));
        assert_eq!(parse(&request("DELETE", "/admin/zones/example.com", b""), 0), Ok(AdminRequest::DeleteZone { apex: name("example.com."), dry_run: false }));
        let dry_delete = HttpRequest { query: "dry_run=true", ..request("DELETE", "/admin/zones/example.com", b"") };
        assert_eq!(parse(&dry_delete, 0), Ok(AdminRequest::DeleteZone { apex: name("example.com."), dry_run: true }));
        let maybe = HttpRequest { query: "dry_run=maybe", ..request("DELETE", "/admin/zones/example.com", b"") };
        assert!(matches!(parse(&maybe, 0), Err(AdminError::BadRequest(message)) if message.contains("dry_run")));
        assert_eq!(parse(&request("GET", "/admin/zones/Example.com", b""), 0), Ok(AdminRequest::ZoneSources { apex: name("example.com.") }));
        assert_eq!(parse(&request("POST", "/admin/zones/example.com", b""), 0), Err(AdminError::MethodNotAllowed("GET, PUT, DELETE")));
        for apex in ["a%2Fb", "..", "a..b", "%ff", "a b", "a%20b", "*.example", &"a".repeat(64), &["abc"; 70].join(".")] {
            let path = format!("/admin/zones/{apex}");
            assert!(matches!(parse(&request("DELETE", &path, b""), 0), Err(AdminError::BadRequest(_))), "{apex}");
        }
    }

    #[test]
    fn bad_zone_bodies_are_400_with_a_message() {
        for body in
            [&b""[..], b"{", br#"{"zone": 5}"#, br#"{"routes": "x"}"#, br#"{"zone": "x", "routes": 1}"#, br#"{"zone": "x", "ttl": 5}"#, br#"["x"]"#, b"\xff"]
        {
            match parse(&request("PUT", "/admin/zones/admin.test", body), 0) {
                Err(error @ AdminError::BadRequest(_)) => {
                    assert!(error.message().starts_with("zone body:"), "{}", error.message());
                    assert_eq!(error.status(), 400);
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn zone_uploads_have_their_own_body_limit() {
        assert_eq!(body_limit("PUT", "/admin/zones/admin.test"), MAX_ZONE_BODY);
        assert_eq!(body_limit("DELETE", "/admin/zones/admin.test"), MAX_BODY);
        assert_eq!(body_limit("PUT", "/admin/health/overrides/a"), MAX_BODY);
        assert_eq!(body_limit("POST", "/admin/rollback"), MAX_BODY);
        // Over 64 KiB is fine for a zone (this one is simply not JSON), over 5 MiB is not.
        let big = format!(r#"{{"zone": "{}"}}"#, "; comment\\n".repeat(MAX_BODY / 10));
        assert!(big.len() > MAX_BODY);
        assert!(matches!(parse(&request("PUT", "/admin/zones/admin.test", big.as_bytes()), 0), Ok(AdminRequest::PutZone { .. })));
        let huge = vec![b' '; MAX_ZONE_BODY + 1];
        let error = parse(&request("PUT", "/admin/zones/admin.test", &huge), 0).unwrap_err();
        assert_eq!(error, AdminError::PayloadTooLarge(MAX_ZONE_BODY));
        assert_eq!((error.status(), error.message()), (413, format!("request body over {MAX_ZONE_BODY} bytes")));
        assert_eq!(parse(&request("POST", "/admin/rollback", &vec![b' '; MAX_BODY + 1]), 0), Err(AdminError::PayloadTooLarge(MAX_BODY)));
    }

    #[test]
    fn parses_rollback() {
        for body in [&b""[..], b"  \n", b"{}", br#"{"to": null}"#] {
            assert_eq!(parse(&request("POST", "/admin/rollback", body), 0), Ok(AdminRequest::Rollback { to: None }), "{body:?}");
        }
        assert_eq!(
            parse(&request("POST", "/admin/rollback", br#"{"to": " 1700000000-00ff "}"#), 0),
            Ok(AdminRequest::Rollback { to: Some("1700000000-00ff".into()) })
        );
        for body in [&br#"{"to": 5}"#[..], br#"{"to": ""}"#, br#"{"to": "a/b"}"#, br#"{"version": "x"}"#, b"{", br#"["x"]"#] {
            assert!(matches!(parse(&request("POST", "/admin/rollback", body), 0), Err(AdminError::BadRequest(_))), "{body:?}");
        }
        assert_eq!(parse(&request("GET", "/admin/rollback", b""), 0), Err(AdminError::MethodNotAllowed("POST")));
    }

    #[test]
    fn an_upload_adds_a_zone_compiled_with_the_others() {
        let current = published();
        let edited = edit_zone(&current, &name("admin.test."), Some(&upload(ZONE, Some(ROUTES)))).unwrap();
        assert_eq!(
            paths(&edited.sources),
            ["zones/example.com.zone", "zones/example.com.routes.toml", "zones/legacy.zone", "admin.test.zone", "admin.test.routes.toml"]
        );
        let apexes: Vec<String> = edited.catalog.zones().iter().map(|zone| zone.apex().to_string()).collect();
        assert_eq!(apexes.len(), 3);
        assert!(apexes.contains(&"admin.test.".to_owned()), "{apexes:?}");
        let served = compile_all(&current).unwrap();
        assert_eq!(changes(&served, &edited.catalog), ["zone admin.test.: added (4 records, 1 routed record sets)"]);
        assert_eq!(changes(&served, &served), Vec::<String>::new());
    }

    #[test]
    fn an_upload_replaces_the_zones_files_whatever_they_were_called() {
        let current = published();
        // example.net came from zones/legacy.zone (by its SOA); the new file takes its place.
        let changed = ZONE.replace("192.0.2.1", "192.0.2.99");
        let edited = edit_zone(&current, &name("example.net."), Some(&upload(&changed, None))).unwrap();
        assert_eq!(paths(&edited.sources), ["zones/example.com.zone", "zones/example.com.routes.toml", "example.net.zone"]);
        let served = compile_all(&current).unwrap();
        let lines = changes(&served, &edited.catalog);
        assert_eq!(lines[0], "zone example.net.: 2 change(s)", "{lines:?}");
        // Routes omitted: the zone's routes file goes too.
        let edited = edit_zone(&current, &name("example.com."), Some(&upload(ZONE, None))).unwrap();
        assert_eq!(paths(&edited.sources), ["zones/legacy.zone", "example.com.zone"]);
        assert!(changes(&served, &edited.catalog).iter().any(|line| line.contains("api.example.com.")), "the routed set is gone");
    }

    #[test]
    fn an_invalid_upload_returns_the_compilers_messages() {
        let current = published();
        let broken = format!("{ZONE}www CNAME elsewhere.example.\nbad A 999.0.0.1\n");
        let Err(AdminError::InvalidZones(details)) = edit_zone(&current, &name("admin.test."), Some(&upload(&broken, None))) else {
            panic!("accepted");
        };
        assert!(!details.is_empty());
        assert!(details.iter().all(|detail| detail.starts_with("admin.test.zone:")), "{details:?}");
        assert!(details.iter().any(|detail| detail.starts_with("admin.test.zone:7:")), "{details:?}");
        let error = AdminError::InvalidZones(details.clone());
        let response = error.response();
        assert_eq!(response.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["details"], serde_json::json!(details));
        assert!(body["error"].as_str().unwrap().ends_with("nothing was published"), "{body}");

        let routes = "[[records]]\nname = \"api\"\ntype = \"A\"\n\n[[records.weighted]]\nweight = 1\nhealth_check = \"nope\"\nvalues = [\"192.0.2.1\"]\n";
        let Err(AdminError::InvalidZones(details)) = edit_zone(&current, &name("admin.test."), Some(&upload(ZONE, Some(routes)))) else {
            panic!("accepted");
        };
        assert!(details.iter().any(|detail| detail.starts_with("admin.test.routes.toml:") && detail.contains("nope")), "{details:?}");

        let elsewhere = format!("$ORIGIN other.test.\n{ZONE}");
        let Err(AdminError::InvalidZones(details)) = edit_zone(&current, &name("admin.test."), Some(&upload(&elsewhere, None))) else {
            panic!("accepted");
        };
        assert_eq!(details, ["admin.test.zone: the SOA is at other.test., not at the zone uploaded (admin.test.)"]);
        let Err(AdminError::InvalidZones(details)) = edit_zone(&current, &name("admin.test."), Some(&upload("", None))) else {
            panic!("accepted");
        };
        assert!(details[0].starts_with("admin.test.zone: no SOA record"), "{details:?}");
    }

    #[test]
    fn deleting_removes_every_file_of_the_zone() {
        let current = published();
        let edited = edit_zone(&current, &name("example.com."), None).unwrap();
        assert_eq!(paths(&edited.sources), ["zones/legacy.zone"]);
        assert_eq!(edited.catalog.zones().len(), 1);
        let edited = edit_zone(&current, &name("example.net."), None).unwrap();
        assert_eq!(paths(&edited.sources), ["zones/example.com.zone", "zones/example.com.routes.toml"]);
        assert_eq!(edit_zone(&current, &name("nope.test."), None).unwrap_err(), AdminError::UnknownZone("nope.test.".into()));
        assert_eq!(AdminError::UnknownZone("nope.test.".into()).status(), 404);
        // The last zone can go: an empty catalog answers REFUSED for everything.
        let only = edit_zone(&current[2..], &name("example.net."), None).unwrap();
        assert!(only.sources.is_empty() && only.catalog.zones().is_empty());
    }

    #[test]
    fn lists_zones_with_records_and_routed_sets() {
        let catalog = compile_all(&published()).unwrap();
        let entry = |version: &str, at: u64| Published { version: version.into(), published_at: at, zones: at as usize, ..Published::default() };
        let history = vec![entry("2-b", 2), entry("1-a", 1)];
        let listing = serde_json::to_value(zone_listing(Some("2-b"), &catalog, history)).unwrap();
        assert_eq!(listing["current"], "2-b");
        let zones = listing["zones"].as_array().unwrap();
        let com = zones.iter().find(|zone| zone["apex"] == "example.com.").unwrap();
        assert_eq!(com["records"], 4);
        assert_eq!(com["routed"], serde_json::json!([{"name": "api.example.com.", "type": "A"}]));
        let net = zones.iter().find(|zone| zone["apex"] == "example.net.").unwrap();
        assert_eq!(net["routed"], serde_json::json!([]));
        assert_eq!(listing["history"][1], serde_json::json!({"version": "1-a", "published_at": 1, "zones": 1}));
        let empty = serde_json::to_value(zone_listing(None, &Catalog::default(), Vec::new())).unwrap();
        assert_eq!(empty, serde_json::json!({"current": null, "zones": [], "history": []}));
    }

    #[test]
    fn parses_diff_and_policy_requests() {
        let get = |path: &'static str, query: &'static str| parse(&HttpRequest { method: "GET", path, query, ..HttpRequest::default() }, 0);
        assert_eq!(get("/admin/diff", "from=1-a&to=2-b"), Ok(AdminRequest::Diff { from: "1-a".into(), to: "2-b".into() }));
        for bad in ["from=1-a", "to=2-b", "from=1-a&to=x/y", "from=&to=2-b"] {
            assert!(matches!(get("/admin/diff", bad), Err(AdminError::BadRequest(_))), "{bad}");
        }
        assert_eq!(parse(&request("POST", "/admin/diff", b""), 0), Err(AdminError::MethodNotAllowed("GET")));
        assert_eq!(
            get("/admin/policy", "name=Geo.App.example.org&type=aaaa"),
            Ok(AdminRequest::Policy { name: name("geo.app.example.org."), record_type: RecordType::AAAA })
        );
        assert_eq!(get("/admin/policy", "name=www.example.org."), Ok(AdminRequest::Policy { name: name("www.example.org."), record_type: RecordType::A }));
        for bad in ["", "type=A", "name=www.example.org&type=NOPE", "name=a..b"] {
            assert!(matches!(get("/admin/policy", bad), Err(AdminError::BadRequest(_))), "{bad}");
        }
        assert_eq!(parse(&request("PUT", "/admin/policy", b""), 0), Err(AdminError::MethodNotAllowed("GET")));
    }

    #[test]
    fn draws_a_policy_tree_node_by_node_with_its_edges() {
        let routes = "[health_checks.us]\ntype = \"tcp\"\nhost = \"192.0.2.30\"\nport = 443\n\n\
                      [[records]]\nname = \"app\"\ntype = \"A\"\nttl = 60\n\n\
                      [records.failover.primary]\nlabel = \"geo\"\nalias = \"geo.app\"\nevaluate_target_health = true\n\n\
                      [records.failover.secondary]\nlabel = \"sorry\"\nvalues = [\"192.0.2.99\"]\n\n\
                      [[records]]\nname = \"geo.app\"\ntype = \"A\"\nttl = 30\ngeolocation = [\n\
                      { label = \"usa\", location = \"US\", health_check = \"us\", values = [\"192.0.2.30\"] },\n\
                      { label = \"washington\", location = \"US-WA\", values = [\"192.0.2.31\"] },\n\
                      { label = \"rest\", location = \"*\", values = [\"192.0.2.40\", \"192.0.2.41\"] },\n]\n";
        let catalog = compile_all(&[file("example.com.zone", ZONE), file("example.com.routes.toml", routes)]).unwrap();
        let tree = policy_tree(&catalog, &name("geo.app.example.com."), RecordType::A).unwrap();
        assert_eq!((tree.name.as_str(), tree.record_type.as_str(), tree.ttl), ("geo.app.example.com.", "A", 30));
        assert_eq!(tree.root.kind, "geolocation");
        let edges: Vec<&str> = tree.root.children.iter().map(|branch| branch.edge.as_str()).collect();
        assert_eq!(edges, ["US", "US-WA", "*"]);
        let usa = &tree.root.children[0].node;
        assert_eq!((usa.kind, usa.label.as_deref(), usa.health_check.as_deref()), ("values", Some("usa"), Some("us")));
        assert_eq!(tree.root.children[2].node.values, ["192.0.2.40", "192.0.2.41"]);

        let app = serde_json::to_value(policy_tree(&catalog, &name("app.example.com."), RecordType::A).unwrap()).unwrap();
        assert_eq!(app["root"]["kind"], "failover");
        assert_eq!(
            app["root"]["children"][0],
            serde_json::json!({"edge": "primary", "node": {"kind": "alias", "label": "geo", "detail": "alias to geo.app.example.com., evaluating its health"}})
        );
        assert_eq!(app["root"]["children"][1]["edge"], "secondary");

        let missing = policy_tree(&catalog, &name("www.example.com."), RecordType::A).unwrap_err();
        assert_eq!((missing.status(), missing.message()), (404, "no routed record set www.example.com. A is served".to_owned()));
        assert!(policy_tree(&catalog, &name("app.example.com."), RecordType::AAAA).is_err());
        assert!(policy_tree(&catalog, &name("nowhere.test."), RecordType::A).is_err());
    }

    #[test]
    fn a_tree_deeper_than_drawn_is_cut_off() {
        use crate::policy::{Action, Rule, WeightedChoice};
        let mut rule = Rule { label: Some("leaf".into()), health_check: None, force: None, action: Action::Values(Vec::new()) };
        for level in 0..(MAX_DRAWN_DEPTH + 5) {
            let choices = vec![WeightedChoice { weight: 1, rule }];
            rule = Rule { label: Some(format!("level {level}")), health_check: None, force: None, action: Action::Weighted { choices, sticky: false } };
        }
        let mut node = &drawn(&rule, 0);
        let mut depth = 0;
        while let Some(branch) = node.children.first() {
            node = &branch.node;
            depth += 1;
        }
        assert_eq!((depth, node.kind), (MAX_DRAWN_DEPTH, "cut"));
    }
}
