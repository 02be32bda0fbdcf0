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
//! | `GET /admin/isolate` | this isolate: the snapshot version it serves, requests served, KV reads on the request path, in the background and for operators |
//! | `GET /admin/resolver` | resolver mode: upstreams, firewall version, this isolate's cache hits and upstream latencies |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::doh::{percent_decode, HttpRequest, HttpResponse};
use crate::health::{override_target, Override, Overrides, VALUE_PREFIX};
use crate::zone::routes::HealthCheckSpec;

/// The prefix of every admin path.
pub const ADMIN_PREFIX: &str = "/admin/";
/// The largest admin request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
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
    /// 413: the body is over [`MAX_BODY`].
    PayloadTooLarge,
    /// 400: malformed JSON, wrong types, or values out of range.
    BadRequest(String),
    /// 404: the override names a check no published zone declares.
    UnknownCheck(String),
    /// 503: the Worker has no zone data, or KV failed.
    Unavailable(String),
}

impl AdminError {
    /// The HTTP status for the error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::NotFound | Self::UnknownCheck(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::PayloadTooLarge => 413,
            Self::BadRequest(_) => 400,
            Self::Unavailable(_) => 503,
        }
    }

    /// What the error says (all a 401 says is "unauthorized").
    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized => "unauthorized".into(),
            Self::NotFound => "no such admin endpoint".into(),
            Self::MethodNotAllowed(allowed) => format!("method not allowed (allowed: {allowed})"),
            Self::PayloadTooLarge => format!("request body over {MAX_BODY} bytes"),
            Self::BadRequest(message) | Self::Unavailable(message) => message.clone(),
            Self::UnknownCheck(id) => format!("no health check {id:?} in the published zones"),
        }
    }

    /// The HTTP response for the error: `{"error": "..."}`.
    pub fn response(&self) -> HttpResponse {
        let mut response = json(self.status(), &Message { error: self.message() });
        match self {
            Self::Unauthorized => response.headers.push(("www-authenticate", "Bearer".to_owned())),
            Self::MethodNotAllowed(allowed) => response.headers.push(("allow", (*allowed).to_owned())),
            _ => {}
        }
        response
    }
}

#[derive(Serialize)]
struct Message {
    error: String,
}

/// A JSON response that no cache keeps and no other origin reads.
pub fn json<T: Serialize>(status: u16, value: &T) -> HttpResponse {
    let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    HttpResponse {
        status,
        headers: vec![("content-type", "application/json".to_owned()), ("cache-control", "no-store".to_owned())],
        body,
    }
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

/// Parses an authorized request at `now_ms` (the time an override is set).
pub fn parse(request: &HttpRequest<'_>, now_ms: u64) -> Result<AdminRequest, AdminError> {
    let path = request.path.strip_prefix(ADMIN_PREFIX).ok_or(AdminError::NotFound)?.trim_end_matches('/');
    if request.body.len() > MAX_BODY {
        return Err(AdminError::PayloadTooLarge);
    }
    let status = match path {
        "resolver" => Some(AdminRequest::ResolverStatus),
        "isolate" => Some(AdminRequest::IsolateStatus),
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

/// Applies an override change to the set read from KV: a check id must be declared by the
/// published zones; a value is taken as given. Returns whether anything changed.
pub fn change_overrides(
    overrides: &mut Overrides,
    checks: &BTreeMap<String, HealthCheckSpec>,
    request: AdminRequest,
) -> Result<bool, AdminError> {
    match request {
        AdminRequest::SetOverride { target, forced } => {
            if !target.starts_with(VALUE_PREFIX) && !checks.contains_key(&target) {
                return Err(AdminError::UnknownCheck(target));
            }
            overrides.insert(target, forced);
            Ok(true)
        }
        AdminRequest::ClearOverride { target } => Ok(overrides.remove(&target).is_some()),
        AdminRequest::HealthStatus | AdminRequest::ResolverStatus | AdminRequest::IsolateStatus => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-token-0123456789";

    fn request<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> HttpRequest<'a> {
        HttpRequest { method, path, body, ..HttpRequest::default() }
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
        assert_eq!(
            set,
            AdminRequest::SetOverride { target: "web-a".into(), forced: Override { healthy: false, reason: "deploy".into(), set_at: Some(7) } }
        );
        let value = parse(&request("PUT", "/admin/health/overrides/value%3A2001%3ADB8%3A%3A1", br#"{"healthy": true}"#), 0).unwrap();
        assert!(matches!(value, AdminRequest::SetOverride { ref target, .. } if target == "value:2001:db8::1"));
        assert_eq!(
            parse(&request("DELETE", "/admin/health/overrides/web-a", b""), 0),
            Ok(AdminRequest::ClearOverride { target: "web-a".into() })
        );
        assert_eq!(parse(&request("GET", "/admin/zones/nope", b""), 0), Err(AdminError::NotFound));
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
        assert_eq!(parse(&request("PUT", "/admin/health/overrides/a", &vec![b' '; MAX_BODY + 1]), 0), Err(AdminError::PayloadTooLarge));
        for target in ["%ff", "value:", "%0a"] {
            let path = format!("/admin/health/overrides/{target}");
            assert!(matches!(parse(&request("DELETE", &path, b""), 0), Err(AdminError::BadRequest(_))), "{target}");
        }
    }

    #[test]
    fn overrides_name_declared_checks_or_values() {
        let checks = BTreeMap::from([("web".to_owned(), crate::zone::routes::HealthCheckSpec { kind: "http".into(), ..Default::default() })]);
        let mut overrides = Overrides::new();
        let forced = Override { healthy: false, reason: String::new(), set_at: None };
        assert_eq!(
            change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "nope".into(), forced: forced.clone() }),
            Err(AdminError::UnknownCheck("nope".into()))
        );
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "web".into(), forced: forced.clone() }), Ok(true));
        assert_eq!(
            change_overrides(&mut overrides, &checks, AdminRequest::SetOverride { target: "value:192.0.2.1".into(), forced }),
            Ok(true)
        );
        assert_eq!(overrides.len(), 2);
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::ClearOverride { target: "web".into() }), Ok(true));
        assert_eq!(change_overrides(&mut overrides, &checks, AdminRequest::ClearOverride { target: "web".into() }), Ok(false));
    }
}
