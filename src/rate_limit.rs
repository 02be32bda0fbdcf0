//! Rate limits against abuse of a public endpoint. The counting is the platform's: the
//! Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml), which counts per key
//! and per Cloudflare location in windows of 10 or 60 seconds. This module decides what is
//! counted and under which key, and what a client over a limit is told; the Worker adapter
//! calls the binding.
//!
//! Two limits:
//! * **Queries per client network**, in resolver mode (a public resolver is what an attacker
//!   borrows for floods and for laundering lookups): every DoH or JSON query counts against
//!   the client's connecting address truncated to a /24 (IPv4) or a /56 (IPv6), so one host
//!   cannot escape by rotating addresses inside its allocation. Over the limit the client gets
//!   a DNS answer it understands: REFUSED with Extended DNS Error 18 (Prohibited, RFC 8914
//!   §4.19), never cached.
//! * **Failed admin authentications per client** (the admin API and `/explain`): a client
//!   whose failures pass the limit gets HTTP 429 with `Retry-After`, and the isolate that saw
//!   it refuses that client's admin requests, even with the right token, until the window
//!   has passed ([`Lockout`]), so a guess that happens to be right is not confirmed.
//!
//! The client is the connecting address (`cf-connecting-ip`, which the edge sets), never
//! anything the request says about itself (ECS, headers a client could forge).

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::admin::AdminError;

/// The binding that counts queries per client network (resolver mode).
pub const QUERY_BINDING: &str = "QUERY_RATE_LIMITER";
/// The binding that counts failed admin authentications per client.
pub const ADMIN_AUTH_BINDING: &str = "ADMIN_AUTH_RATE_LIMITER";
/// `Retry-After` of a 429, and how long an isolate locks a client out: the longest window the
/// binding counts in (60 s), so waiting that long always finds a fresh window.
pub const RETRY_AFTER_S: u32 = 60;
/// Default prefix an IPv4 client is counted by (`RATE_LIMIT_IPV4_PREFIX`).
pub const DEFAULT_IPV4_PREFIX: u8 = 24;
/// Default prefix an IPv6 client is counted by (`RATE_LIMIT_IPV6_PREFIX`): a /56 is what an
/// ISP typically delegates to one household.
pub const DEFAULT_IPV6_PREFIX: u8 = 56;
/// How many locked-out clients an isolate remembers; past it the soonest to expire go first.
pub const MAX_LOCKED_OUT: usize = 4096;

/// How clients are grouped for the query limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientNetworks {
    /// The IPv4 prefix length (8 ..= 32).
    pub ipv4_prefix: u8,
    /// The IPv6 prefix length (16 ..= 128).
    pub ipv6_prefix: u8,
}

impl Default for ClientNetworks {
    fn default() -> Self {
        Self { ipv4_prefix: DEFAULT_IPV4_PREFIX, ipv6_prefix: DEFAULT_IPV6_PREFIX }
    }
}

impl ClientNetworks {
    /// Reads `RATE_LIMIT_IPV4_PREFIX` and `RATE_LIMIT_IPV6_PREFIX` through `var` (unset: the
    /// defaults).
    ///
    /// ```
    /// use edgedns::rate_limit::ClientNetworks;
    /// let vars = |pairs: &'static [(&str, &str)]| move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string());
    /// assert_eq!(ClientNetworks::from_vars(vars(&[])), Ok(ClientNetworks { ipv4_prefix: 24, ipv6_prefix: 56 }));
    /// assert_eq!(ClientNetworks::from_vars(vars(&[("RATE_LIMIT_IPV6_PREFIX", "48")])).unwrap().ipv6_prefix, 48);
    /// assert!(ClientNetworks::from_vars(vars(&[("RATE_LIMIT_IPV4_PREFIX", "33")])).unwrap_err().contains("RATE_LIMIT_IPV4_PREFIX"));
    /// ```
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let prefix = |name: &str, default: u8, range: std::ops::RangeInclusive<u8>| -> Result<u8, String> {
            match var(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty()) {
                None => Ok(default),
                Some(text) => text
                    .parse::<u8>()
                    .ok()
                    .filter(|length| range.contains(length))
                    .ok_or_else(|| format!("{name}={text:?}: expected a prefix length from {} to {}", range.start(), range.end())),
            }
        };
        Ok(Self {
            ipv4_prefix: prefix("RATE_LIMIT_IPV4_PREFIX", DEFAULT_IPV4_PREFIX, 8..=32)?,
            ipv6_prefix: prefix("RATE_LIMIT_IPV6_PREFIX", DEFAULT_IPV6_PREFIX, 16..=128)?,
        })
    }

    /// The key a query from `address` is counted under: its network.
    ///
    /// ```
    /// use edgedns::rate_limit::ClientNetworks;
    /// let networks = ClientNetworks::default();
    /// assert_eq!(networks.query_key("198.51.100.77".parse().unwrap()), "query:198.51.100.0/24");
    /// assert_eq!(networks.query_key("2001:db8:1:2ff:aaaa::1".parse().unwrap()), "query:2001:db8:1:200::/56");
    /// // An IPv4-mapped IPv6 address is the IPv4 client it stands for.
    /// assert_eq!(networks.query_key("::ffff:198.51.100.9".parse().unwrap()), "query:198.51.100.0/24");
    /// ```
    pub fn query_key(&self, address: IpAddr) -> String {
        format!("query:{}", network(address, self.ipv4_prefix, self.ipv6_prefix))
    }
}

/// The key a failed admin authentication from `address` is counted under: the address itself
/// for IPv4, its /64 for IPv6 (one host's interface).
///
/// ```
/// use edgedns::rate_limit::admin_key;
/// assert_eq!(admin_key("203.0.113.9".parse().unwrap()), "admin:203.0.113.9/32");
/// assert_eq!(admin_key("2001:db8::1:2".parse().unwrap()), "admin:2001:db8::/64");
/// ```
pub fn admin_key(address: IpAddr) -> String {
    format!("admin:{}", network(address, 32, 64))
}

fn network(address: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> IpNet {
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    };
    let length = match address {
        IpAddr::V4(_) => ipv4_prefix.min(32),
        IpAddr::V6(_) => ipv6_prefix.min(128),
    };
    // The lengths are within range by the `min` above, so `new` cannot fail; the host
    // address itself is the fallback all the same.
    IpNet::new(address, length).map_or_else(|_| IpNet::from(address), |network| network.trunc())
}

/// The clients an isolate has locked out of the admin API, and until when (ms since the
/// epoch). The binding counts failures per location; this keeps a client that passed the
/// limit from being told that a later guess was right, for the rest of the window.
#[derive(Debug, Default)]
pub struct Lockout {
    until: HashMap<String, u64>,
}

impl Lockout {
    /// Locks `key` out for [`RETRY_AFTER_S`] from `now_ms`.
    pub fn lock(&mut self, key: &str, now_ms: u64) {
        if self.until.len() >= MAX_LOCKED_OUT && !self.until.contains_key(key) {
            self.until.retain(|_, until| *until > now_ms);
            // Still full of live entries: the one that would be released first goes.
            while self.until.len() >= MAX_LOCKED_OUT {
                let Some(first) = self.until.iter().min_by_key(|(_, until)| **until).map(|(key, _)| key.clone()) else { break };
                self.until.remove(&first);
            }
        }
        self.until.insert(key.to_owned(), now_ms.saturating_add(u64::from(RETRY_AFTER_S) * 1000));
    }

    /// The whole seconds left of `key`'s lockout at `now_ms` (at least 1), or `None`.
    pub fn remaining_s(&self, key: &str, now_ms: u64) -> Option<u32> {
        let until = *self.until.get(key)?;
        (until > now_ms).then(|| u32::try_from((until - now_ms).div_ceil(1000)).unwrap_or(RETRY_AFTER_S).max(1))
    }

    /// What a failed authentication earns: HTTP 401, or, when the binding counted it past the
    /// limit (`within_limit` false), 429 and a lockout of the client's key. A client with no
    /// known address is only ever told 401.
    pub fn failed(&mut self, key: Option<&str>, within_limit: bool, now_ms: u64) -> AdminError {
        match key {
            Some(key) if !within_limit => {
                self.lock(key, now_ms);
                AdminError::TooManyFailures(RETRY_AFTER_S)
            }
            _ => AdminError::Unauthorized,
        }
    }

    /// The refusal a locked-out client gets before its token is even looked at.
    pub fn refusal(&self, key: Option<&str>, now_ms: u64) -> Option<AdminError> {
        key.and_then(|key| self.remaining_s(key, now_ms)).map(AdminError::TooManyFailures)
    }

    /// How many clients are remembered (some may have expired).
    pub fn len(&self) -> usize {
        self.until.len()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_counted_by_network_and_prefixes_are_configurable() {
        let networks = ClientNetworks { ipv4_prefix: 16, ipv6_prefix: 48 };
        assert_eq!(networks.query_key("198.51.100.77".parse().unwrap()), "query:198.51.0.0/16");
        assert_eq!(networks.query_key("2001:db8:1:2ff::1".parse().unwrap()), "query:2001:db8:1::/48");
        let hosts = ClientNetworks { ipv4_prefix: 32, ipv6_prefix: 128 };
        assert_eq!(hosts.query_key("198.51.100.77".parse().unwrap()), "query:198.51.100.77/32");
        // Two hosts of one /24 share a key; the next /24 does not.
        let default = ClientNetworks::default();
        assert_eq!(default.query_key("192.0.2.1".parse().unwrap()), default.query_key("192.0.2.254".parse().unwrap()));
        assert_ne!(default.query_key("192.0.2.1".parse().unwrap()), default.query_key("192.0.3.1".parse().unwrap()));
        let read = |name: &'static str, value: &'static str| ClientNetworks::from_vars(move |asked| (asked == name).then(|| value.to_owned()));
        for (name, value) in
            [("RATE_LIMIT_IPV4_PREFIX", "7"), ("RATE_LIMIT_IPV4_PREFIX", "x"), ("RATE_LIMIT_IPV6_PREFIX", "129"), ("RATE_LIMIT_IPV6_PREFIX", "-1")]
        {
            assert!(read(name, value).unwrap_err().contains(name), "{name}={value}");
        }
        assert_eq!(read("RATE_LIMIT_IPV4_PREFIX", " 32 ").unwrap().ipv4_prefix, 32);
    }

    #[test]
    fn a_lockout_lasts_the_window_and_the_table_stays_bounded() {
        let mut lockout = Lockout::default();
        lockout.lock("admin:203.0.113.9/32", 1_000);
        assert_eq!(lockout.remaining_s("admin:203.0.113.9/32", 1_000), Some(60));
        assert_eq!(lockout.remaining_s("admin:203.0.113.9/32", 60_500), Some(1), "rounded up, never 0");
        assert_eq!(lockout.remaining_s("admin:203.0.113.9/32", 61_000), None);
        assert_eq!(lockout.remaining_s("admin:203.0.113.10/32", 1_000), None, "other clients are not locked out");
        // The gate: within the limit a failure is a 401; past it, 429 and even the right token
        // is refused (the refusal comes before the token is checked) until the window passes.
        let mut gate = Lockout::default();
        let key = Some("admin:198.51.100.1/32");
        assert!(matches!(gate.failed(key, true, 0), AdminError::Unauthorized));
        assert!(gate.refusal(key, 0).is_none());
        assert!(matches!(gate.failed(key, false, 5_000), AdminError::TooManyFailures(60)));
        assert!(matches!(gate.refusal(key, 30_000), Some(AdminError::TooManyFailures(35))));
        assert!(gate.refusal(key, 65_000).is_none(), "the window has passed");
        assert!(matches!(gate.failed(None, false, 0), AdminError::Unauthorized), "no address, nothing to lock");
        assert!(gate.refusal(None, 0).is_none());
        for n in 0..(MAX_LOCKED_OUT as u64 + 100) {
            lockout.lock(&format!("admin:{n}"), 100_000 + n);
        }
        assert!(lockout.len() <= MAX_LOCKED_OUT, "{}", lockout.len());
        let newest = format!("admin:{}", MAX_LOCKED_OUT + 99);
        assert!(lockout.remaining_s(&newest, 100_000).is_some(), "the newest lockout is kept");
        assert_eq!(lockout.remaining_s("admin:0", 100_000), None, "the one released first went");
    }
}
