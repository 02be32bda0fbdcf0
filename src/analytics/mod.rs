//! Query analytics: what the Traffic view of the console shows (README "Operator console").
//!
//! For every answered query the Worker decides, here, whether to sample it
//! ([`Sampling::sampled`], the randomness passed in), and for a sampled one makes the
//! Workers Analytics Engine data point ([`point::DataPoint`]) and counts it in the isolate's
//! rolling counters ([`counters::Counters`]: per-minute buckets over the last hour, bounded
//! whatever names arrive). `GET /admin/traffic` answers from those counters, or from the
//! Analytics Engine SQL API when the account is configured ([`sql`]: the queries and the
//! bounded parsing of their answers); both give the same [`report::Traffic`].
//!
//! Nothing here does I/O, reads a clock or draws a random number: the adapter
//! (src/worker/analytics.rs) passes `now` and a random draw in.

pub mod counters;
pub mod point;
pub mod report;
pub mod sql;

use std::fmt;

/// The variable holding the sampling rate, a number from 0 (off) to 1 (every answered query).
pub const SAMPLE_RATE_VAR: &str = "ANALYTICS_SAMPLE_RATE";
/// The rate without the variable: every answered query is counted (the counters, the point
/// and the texts they need cost about 0.5 µs a query natively; README "Operator console").
pub const DEFAULT_SAMPLE_RATE: f64 = 1.0;

/// The answered query's facts, as the Worker knows them after answering.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Answered<'a> {
    /// The hosted zone holding the name (its apex), `None` when no hosted zone does.
    pub zone: Option<&'a str>,
    /// The question name, as asked.
    pub name: &'a str,
    /// The question type's mnemonic (`A`, `AAAA`...).
    pub record_type: &'a str,
    /// The response's RCODE (RFC 1035 §4.1.1, RFC 6895 §2.3).
    pub rcode: u16,
    /// The label of the policy leaf that decided a routed answer, if one did.
    pub policy: Option<&'a str>,
    /// The client's country (ISO 3166-1 alpha-2), as the edge says.
    pub country: Option<&'a str>,
    /// The edge location (IATA code) that took the request.
    pub colo: Option<&'a str>,
    /// In resolver mode, how a forwarded query was answered; `None` when answered from the
    /// hosted zones (or refused) without forwarding.
    pub cache: Option<CacheOutcome>,
    /// Whether the DNS firewall blocked it.
    pub blocked: bool,
    /// The resolver profile it was asked under, if any.
    pub profile: Option<&'a str>,
}

/// How a forwarded query was answered (the resolver's log field `cache=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// From the isolate's cache.
    Isolate,
    /// From the edge location's cache.
    Edge,
    /// From an identical question's lookup in flight.
    Coalesced,
    /// Looked up upstream.
    Miss,
    /// A stale copy, every upstream having failed (RFC 8767).
    Stale,
    /// Every upstream failed and nothing was cached.
    Failed,
}

impl CacheOutcome {
    /// The outcome the resolver logs as `cache=<word>`; `None` for a word it never logs.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "isolate" => Self::Isolate,
            "edge" => Self::Edge,
            "coalesced" => Self::Coalesced,
            "miss" => Self::Miss,
            "stale" => Self::Stale,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// The word, as logged and as written to the data point.
    pub fn word(self) -> &'static str {
        match self {
            Self::Isolate => "isolate",
            Self::Edge => "edge",
            Self::Coalesced => "coalesced",
            Self::Miss => "miss",
            Self::Stale => "stale",
            Self::Failed => "failed",
        }
    }

    /// Whether a cache answered it (the isolate's or the edge location's): what the cache
    /// hit rate counts, among forwarded queries.
    pub fn is_hit(self) -> bool {
        matches!(self, Self::Isolate | Self::Edge)
    }
}

/// The mnemonic of an RCODE (RFC 6895 §2.3); others as `RCODE<n>`.
pub fn rcode_name(rcode: u16) -> std::borrow::Cow<'static, str> {
    const NAMES: [&str; 11] = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"];
    match NAMES.get(usize::from(rcode)) {
        Some(name) => std::borrow::Cow::Borrowed(name),
        None => std::borrow::Cow::Owned(format!("RCODE{rcode}")),
    }
}

/// The RCODE of an encoded response: the header's low four bits (RFC 1035 §4.1.1) for a DNS
/// message; the `Status` member for the JSON API (`application/dns-json`), which starts its
/// object with it. `None` for anything else (an HTTP error, a page).
pub fn response_rcode(content_type: &str, body: &[u8]) -> Option<u16> {
    if content_type.starts_with("application/dns-message") {
        return body.get(3).map(|flags| u16::from(flags & 0x0f));
    }
    if content_type.starts_with("application/dns-json") || content_type.starts_with("application/json") {
        let rest = body.strip_prefix(b"{\"Status\":")?;
        let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        return std::str::from_utf8(rest.get(..digits)?).ok()?.parse().ok();
    }
    None
}

/// How many answered queries are sampled: a rate in [0, 1], fixed for an isolate's life.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    rate: f64,
    /// A draw below this samples the query (`rate` × 2^64).
    threshold: u64,
}

/// Why the sampling rate variable is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError(pub String);

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SAMPLE_RATE_VAR}: {:?} is not a number from 0 to 1", self.0)
    }
}

impl Sampling {
    /// Sampling at `rate`, which must lie in [0, 1].
    pub fn new(rate: f64) -> Result<Self, RateError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(RateError(rate.to_string()));
        }
        // 2^64 × rate, saturating at 1 (rate 1 never needs a draw).
        let threshold = (rate * 18_446_744_073_709_551_616.0) as u64;
        Ok(Self { rate, threshold })
    }

    /// The rate from the variable's value; the default without one.
    pub fn from_var(value: Option<&str>) -> Result<Self, RateError> {
        match value.map(str::trim) {
            None | Some("") => Self::new(DEFAULT_SAMPLE_RATE),
            Some(text) => text.parse::<f64>().ok().and_then(|rate| Self::new(rate).ok()).ok_or_else(|| RateError(text.to_owned())),
        }
    }

    /// No analytics at all.
    pub const OFF: Self = Self { rate: 0.0, threshold: 0 };

    /// The rate.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Whether nothing is ever sampled.
    pub fn is_off(&self) -> bool {
        self.rate <= 0.0
    }

    /// Whether sampling needs a random draw (a rate strictly between 0 and 1).
    pub fn needs_draw(&self) -> bool {
        self.rate > 0.0 && self.rate < 1.0
    }

    /// Whether the query the draw `random` (uniform over u64) was made for is sampled; the
    /// draw is ignored at rates 0 and 1.
    pub fn sampled(&self, random: u64) -> bool {
        if self.rate >= 1.0 {
            return true;
        }
        random < self.threshold
    }

    /// How many answered queries a sampled one stands for (1 / rate; 0 when off).
    pub fn weight(&self) -> f64 {
        if self.is_off() {
            0.0
        } else {
            1.0 / self.rate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_comes_from_the_variable_within_zero_and_one() {
        assert_eq!(Sampling::from_var(None).unwrap().rate(), DEFAULT_SAMPLE_RATE);
        assert_eq!(Sampling::from_var(Some(" 0.25 ")).unwrap().rate(), 0.25);
        assert!(Sampling::from_var(Some("0")).unwrap().is_off());
        for bad in ["-0.1", "1.5", "NaN", "half", "inf"] {
            let error = Sampling::from_var(Some(bad)).unwrap_err();
            assert!(error.to_string().contains(SAMPLE_RATE_VAR), "{bad}: {error}");
        }
    }

    #[test]
    fn sampling_takes_the_share_of_draws_the_rate_says() {
        let sampling = Sampling::new(0.25).unwrap();
        assert!(sampling.needs_draw());
        assert!(sampling.sampled(0));
        assert!(sampling.sampled(u64::MAX / 4 - 1));
        assert!(!sampling.sampled(u64::MAX / 4 + 1));
        assert!(!sampling.sampled(u64::MAX));
        assert_eq!(sampling.weight(), 4.0);
        // A fixed sequence of draws (SplitMix64) samples about a quarter.
        let mut random = crate::policy::SplitMix::new(7);
        let taken = (0..10_000).filter(|_| sampling.sampled(random.next_u64())).count();
        assert!((2_300..2_700).contains(&taken), "{taken}");
        let all = Sampling::new(1.0).unwrap();
        assert!(!all.needs_draw() && all.sampled(u64::MAX) && all.weight() == 1.0);
        assert!(!Sampling::OFF.sampled(0) && !Sampling::OFF.needs_draw() && Sampling::OFF.weight() == 0.0);
    }

    #[test]
    fn rcodes_are_read_from_wire_and_json_answers() {
        assert_eq!(response_rcode("application/dns-message", &[0x12, 0x34, 0x81, 0x83, 0, 1]), Some(3));
        assert_eq!(response_rcode("application/dns-message", &[0x12, 0x34]), None);
        assert_eq!(response_rcode("application/dns-json", b"{\"Status\":2,\"TC\":false}"), Some(2));
        assert_eq!(response_rcode("application/dns-json", b"{\"TC\":false}"), None);
        assert_eq!(response_rcode("application/dns-json", b"{\"Status\":99999999999}"), None);
        assert_eq!(response_rcode("text/plain", b"bad request"), None);
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(23), "RCODE23");
    }

    #[test]
    fn cache_words_round_trip_and_hits_are_cache_answers() {
        for outcome in [CacheOutcome::Isolate, CacheOutcome::Edge, CacheOutcome::Coalesced, CacheOutcome::Miss, CacheOutcome::Stale, CacheOutcome::Failed] {
            assert_eq!(CacheOutcome::from_word(outcome.word()), Some(outcome));
        }
        assert_eq!(CacheOutcome::from_word("hit"), None);
        assert!(CacheOutcome::Isolate.is_hit() && CacheOutcome::Edge.is_hit());
        assert!(!CacheOutcome::Miss.is_hit() && !CacheOutcome::Coalesced.is_hit() && !CacheOutcome::Stale.is_hit());
    }
}
