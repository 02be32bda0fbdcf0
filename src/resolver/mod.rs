//! Resolver mode: names outside every hosted zone are forwarded to upstream DoH resolvers,
//! cached, and optionally filtered by the DNS firewall, so a browser can use the endpoint as
//! its secure-DNS server. Sans IO like the engine: [`forward`] builds the upstream query and
//! checks the upstream's answer, [`cache`] decides what is kept and for how long and ages it,
//! [`coalesce`] lets identical questions in flight share one lookup, [`firewall`] matches
//! names against the operator's rules. The Worker does the fetches, the timers and the Cache
//! API calls.
//!
//! Configuration comes from the Worker's variables ([`ResolverConfig::from_vars`]). With no
//! `UPSTREAMS` the endpoint stays authoritative-only: names outside the hosted zones are
//! REFUSED, as before.

pub mod blocks;
pub mod cache;
pub mod coalesce;
pub mod firewall;
pub mod forward;
pub mod log;
pub mod profile;
pub mod subscription;

use std::net::IpAddr;

/// Each upstream's timeout unless `UPSTREAM_TIMEOUT_MS` says otherwise.
pub const DEFAULT_TIMEOUT_MS: u32 = 2_000;
/// How long the first upstream has before the next one is asked too (`HEDGE_AFTER_MS`).
pub const DEFAULT_HEDGE_AFTER_MS: u32 = 300;
/// How long past its TTL an answer may still be served when every upstream fails
/// (`STALE_SECONDS`; RFC 8767 §5 suggests one to three days).
pub const DEFAULT_STALE_S: u32 = 86_400;
/// The TTL a stale answer is served with (RFC 8767 §4: 30 s).
pub const STALE_ANSWER_TTL: u32 = 30;
/// Longest a forwarded answer is cached (`CACHE_MAX_TTL`).
pub const DEFAULT_MAX_TTL: u32 = 86_400;

/// The bounds forwarded answers' TTLs are kept within (`CACHE_MIN_TTL`, `CACHE_MAX_TTL`): how
/// long the cache holds an answer and the TTLs its clients see are the same numbers, so no
/// client is told to keep an answer longer than the resolver would (and `max-age`, derived
/// from the TTLs, follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlBounds {
    /// The least TTL (s).
    pub min: u32,
    /// The greatest TTL (s); 0 turns caching off and leaves TTLs as the upstream gave them.
    pub max: u32,
}

impl TtlBounds {
    /// `ttl` within the bounds.
    ///
    /// ```
    /// use edgedns::resolver::TtlBounds;
    /// let bounds = TtlBounds { min: 30, max: 86_400 };
    /// assert_eq!((bounds.apply(5), bounds.apply(300), bounds.apply(1_000_000)), (30, 300, 86_400));
    /// assert_eq!(TtlBounds { min: 0, max: 0 }.apply(1_000_000), 1_000_000, "no cache, no bounds");
    /// ```
    pub fn apply(self, ttl: u32) -> u32 {
        if self.max == 0 {
            ttl
        } else {
            ttl.clamp(self.min.min(self.max), self.max)
        }
    }
}

/// How the client's network is told to upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamSubnet {
    /// Not at all (the default: the client's address stays at the edge).
    Off,
    /// A Client Subnet option with the connecting address truncated to /24 (IPv4) or /56
    /// (IPv6); answers are then cached per truncated subnet.
    Truncated,
}

/// The resolver's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// DoH URLs, in order of preference.
    pub upstreams: Vec<String>,
    /// Each upstream's timeout, in ms.
    pub timeout_ms: u32,
    /// After this many ms without an answer, the next upstream is asked too.
    pub hedge_after_ms: u32,
    /// Cached answers live at least this long (s).
    pub min_ttl: u32,
    /// Cached answers live at most this long (s).
    pub max_ttl: u32,
    /// How long past expiry an answer may be served when every upstream fails (s).
    pub stale_s: u32,
    /// Whether the client's network goes upstream.
    pub upstream_subnet: UpstreamSubnet,
    /// Whether a Client Subnet option the client sent goes upstream (truncated likewise).
    pub forward_client_subnet: bool,
    /// Whether forwarded names are logged (`LOG_QUERIES`; off by default: a resolver's log of
    /// names is its users' browsing history).
    pub log_query_names: bool,
    /// The firewall profiles clients choose by path (`PROFILES`; none: every list for
    /// everyone, as before profiles).
    pub profiles: profile::Profiles,
    /// The lists subscribed to by URL (`SUBSCRIPTIONS`; none by default), fetched by the
    /// scheduled handler.
    pub subscriptions: subscription::Subscriptions,
}

/// A variable with an unusable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ResolverConfig {
    /// The TTL bounds of forwarded answers.
    pub fn ttl_bounds(&self) -> TtlBounds {
        TtlBounds { min: self.min_ttl, max: self.max_ttl }
    }

    /// Reads the settings through `var` (the Worker's variables): `Ok(None)` when `UPSTREAMS`
    /// is unset or empty (authoritative only).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(list) = var("UPSTREAMS").filter(|list| !list.trim().is_empty()) else {
            return Ok(None);
        };
        let upstreams = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|url| !url.is_empty())
            .map(|url| check_upstream(url).map(|()| url.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        let number = |name: &str, default: u32, range: std::ops::RangeInclusive<u32>| -> Result<u32, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|value| range.contains(value))
                    .ok_or_else(|| ConfigError(format!("{name}={text:?}: expected a number in {}..={}", range.start(), range.end()))),
            }
        };
        let flag = |name: &str| -> Result<bool, ConfigError> {
            match var(name).as_deref().map(str::trim) {
                None | Some("" | "false" | "0" | "off") => Ok(false),
                Some("true" | "1" | "on") => Ok(true),
                Some(other) => Err(ConfigError(format!("{name}={other:?}: expected true or false"))),
            }
        };
        let upstream_subnet = match var("UPSTREAM_ECS").as_deref().map(str::trim) {
            None | Some("" | "off") => UpstreamSubnet::Off,
            Some("truncated") => UpstreamSubnet::Truncated,
            Some(other) => return Err(ConfigError(format!("UPSTREAM_ECS={other:?}: expected off or truncated"))),
        };
        let config = Self {
            upstreams,
            timeout_ms: number("UPSTREAM_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 100..=30_000)?,
            hedge_after_ms: number("HEDGE_AFTER_MS", DEFAULT_HEDGE_AFTER_MS, 0..=30_000)?,
            min_ttl: number("CACHE_MIN_TTL", 0, 0..=86_400)?,
            max_ttl: number("CACHE_MAX_TTL", DEFAULT_MAX_TTL, 0..=604_800)?,
            stale_s: number("STALE_SECONDS", DEFAULT_STALE_S, 0..=604_800)?,
            upstream_subnet,
            forward_client_subnet: flag("FORWARD_CLIENT_ECS")?,
            log_query_names: flag("LOG_QUERIES")?,
            profiles: match var("PROFILES").filter(|text| !text.trim().is_empty()) {
                Some(text) => profile::Profiles::parse(&text)?,
                None => profile::Profiles::default(),
            },
            subscriptions: match var("SUBSCRIPTIONS").filter(|text| !text.trim().is_empty()) {
                Some(text) => subscription::Subscriptions::parse(&text)?,
                None => subscription::Subscriptions::default(),
            },
        };
        if config.min_ttl > config.max_ttl {
            return Err(ConfigError(format!("CACHE_MIN_TTL ({}) is above CACHE_MAX_TTL ({})", config.min_ttl, config.max_ttl)));
        }
        Ok(Some(config))
    }
}

/// An upstream must be `https://host[:port]/path`; plain `http://` only to a loopback host
/// (the local test stack), so queries never cross a network in clear text.
fn check_upstream(url: &str) -> Result<(), ConfigError> {
    check_url(url, "the DoH path, e.g. /dns-query").map_err(|why| ConfigError(format!("upstream {url:?}: {why}")))
}

/// A URL the Worker fetches from (an upstream, a subscribed list): `https://host[:port]/path`,
/// plain `http://` only to a loopback host. `path` says what the path is for.
pub(crate) fn check_url(url: &str, path: &str) -> Result<(), String> {
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return Err("not a URL (https://host/path)".to_owned()),
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    if !rest.contains('/') {
        return Err(format!("no path ({path})"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a URL has no spaces or control characters".to_owned());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) => Ok(()),
        "http" => Err("plain http is allowed to loopback hosts only; use https".to_owned()),
        _ => Err("the scheme must be https".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<ResolverConfig>, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ResolverConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn no_upstreams_is_authoritative_only() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[("UPSTREAMS", "  ")]), Ok(None));
    }

    #[test]
    fn reads_upstreams_and_defaults() {
        let config = read(&[("UPSTREAMS", "https://dns.example/dns-query, http://127.0.0.1:18054/dns-query http://[::1]:53/q")]).unwrap().unwrap();
        assert_eq!(config.upstreams.len(), 3);
        assert_eq!((config.timeout_ms, config.hedge_after_ms, config.min_ttl, config.max_ttl), (2_000, 300, 0, 86_400));
        assert_eq!((config.upstream_subnet, config.forward_client_subnet, config.log_query_names), (UpstreamSubnet::Off, false, false));
        let tuned = read(&[("UPSTREAMS", "https://a.example/q"), ("UPSTREAM_ECS", "truncated"), ("FORWARD_CLIENT_ECS", "true"), ("CACHE_MIN_TTL", "30")])
            .unwrap()
            .unwrap();
        assert_eq!((tuned.upstream_subnet, tuned.forward_client_subnet, tuned.min_ttl), (UpstreamSubnet::Truncated, true, 30));
        assert!(config.profiles.is_empty());
        let profiled = read(&[("UPSTREAMS", "https://a.example/q"), ("PROFILES", r#"{"kids": {"id": "k1"}}"#)]).unwrap().unwrap();
        assert_eq!(profiled.profiles.by_id("k1").map(|profile| profile.name.as_str()), Some("kids"));
    }

    #[test]
    fn refuses_unsafe_or_malformed_settings() {
        for (vars, expected) in [
            (vec![("UPSTREAMS", "http://dns.example/dns-query")], "loopback hosts only"),
            (vec![("UPSTREAMS", "ftp://127.0.0.1/q")], "scheme must be https"),
            (vec![("UPSTREAMS", "dns.example")], "not a URL"),
            (vec![("UPSTREAMS", "https://dns.example")], "no path"),
            (vec![("UPSTREAMS", "https:///q")], "no host"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("UPSTREAM_TIMEOUT_MS", "5")], "UPSTREAM_TIMEOUT_MS"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("UPSTREAM_ECS", "full")], "UPSTREAM_ECS"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("FORWARD_CLIENT_ECS", "yes")], "FORWARD_CLIENT_ECS"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("LOG_QUERIES", "verbose")], "LOG_QUERIES"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("CACHE_MIN_TTL", "600"), ("CACHE_MAX_TTL", "60")], "above"),
            (vec![("UPSTREAMS", "https://a.example/q"), ("PROFILES", r#"{"kids": {"block": "maybe"}}"#)], "PROFILES: kids: block"),
        ] {
            let error = read(&vars).expect_err(expected);
            assert!(error.0.contains(expected), "{error}");
        }
    }
}
