//! `SUBSCRIPTIONS`: the lists to subscribe to, by name, each with its URL, format, refresh
//! interval and timeout.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::resolver::firewall::{Format, MAX_LIST_BYTES};
use crate::resolver::{check_url, ConfigError};

/// The largest `SUBSCRIPTIONS` value read, in bytes.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;
/// The most lists one resolver subscribes to.
pub const MAX_SUBSCRIPTIONS: usize = 16;
/// How often a list is fetched unless it says: every 6 hours.
pub const DEFAULT_REFRESH_S: u32 = 6 * 3600;
/// The shortest refresh interval: a minute, the Cron Trigger's period.
pub const MIN_REFRESH_S: u32 = 60;
/// The longest: a week.
pub const MAX_REFRESH_S: u32 = 7 * 86_400;
/// How long a download may take, from the request to its last byte, unless it says.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// The longest timeout.
pub const MAX_TIMEOUT_S: u32 = 300;
/// The largest download, unless the list says less: an isolate reads it whole to compile
/// it, beside everything it holds (a 1M-domain list is about 25 MB of text).
pub const DEFAULT_MAX_BYTES: usize = 32 * 1024 * 1024;
/// The longest list name.
pub const MAX_NAME_LENGTH: usize = 64;

/// One subscribed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its name: what profiles select it by, and what explain and the log call it.
    pub name: String,
    /// Where it is fetched from.
    pub url: String,
    /// Its format (`None`: detected from the download).
    pub format: Option<Format>,
    /// Seconds between fetches.
    pub refresh_s: u32,
    /// Seconds a download may take.
    pub timeout_s: u32,
    /// The largest download accepted, in bytes.
    pub max_bytes: usize,
}

/// The subscribed lists, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    lists: Vec<Subscription>,
}

/// A subscription as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    url: String,
    format: Option<String>,
    refresh_seconds: Option<u32>,
    timeout_seconds: Option<u32>,
    max_bytes: Option<usize>,
}

impl Subscriptions {
    /// Reads `SUBSCRIPTIONS` (see the module doc); every problem is an error naming the list
    /// and the field.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError(format!("SUBSCRIPTIONS: {message}"));
        if text.len() > MAX_CONFIG_BYTES {
            return Err(error(format!("{} bytes, over the limit of {MAX_CONFIG_BYTES}", text.len())));
        }
        let sources: BTreeMap<String, Source> = serde_json::from_str(text).map_err(|e| error(format!("not a JSON object of lists: {e}")))?;
        if sources.len() > MAX_SUBSCRIPTIONS {
            return Err(error(format!("{} lists, over the limit of {MAX_SUBSCRIPTIONS}", sources.len())));
        }
        let lists = sources
            .into_iter()
            .map(|(name, source)| Self::one(&name, source).map_err(|message| error(format!("{name}: {message}"))))
            .collect::<Result<_, _>>()?;
        Ok(Self { lists })
    }

    fn one(name: &str, source: Source) -> Result<Subscription, String> {
        if name.is_empty() || name.len() > MAX_NAME_LENGTH || !name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte)) {
            return Err(format!("the name: 1 to {MAX_NAME_LENGTH} characters of A-Z, a-z, 0-9, -, _ and ."));
        }
        check_url(&source.url, "the list's path").map_err(|why| format!("url {:?}: {why}", source.url))?;
        let format = match source.format.as_deref() {
            None | Some("auto") => None,
            Some(word) => Some(Format::from_name(word).ok_or_else(|| format!("format {word:?}: expected auto, native, hosts, domains, adblock or rpz"))?),
        };
        let bounded = |field: &str, value: Option<u32>, default: u32, range: std::ops::RangeInclusive<u32>| match value {
            None => Ok(default),
            Some(value) if range.contains(&value) => Ok(value),
            Some(value) => Err(format!("{field} {value}: expected {}..={}", range.start(), range.end())),
        };
        let max_bytes = match source.max_bytes {
            None => DEFAULT_MAX_BYTES,
            Some(bytes) if (1..=MAX_LIST_BYTES).contains(&bytes) => bytes,
            Some(bytes) => return Err(format!("max_bytes {bytes}: expected 1..={MAX_LIST_BYTES}")),
        };
        Ok(Subscription {
            name: name.to_owned(),
            url: source.url,
            format,
            refresh_s: bounded("refresh_seconds", source.refresh_seconds, DEFAULT_REFRESH_S, MIN_REFRESH_S..=MAX_REFRESH_S)?,
            timeout_s: bounded("timeout_seconds", source.timeout_seconds, DEFAULT_TIMEOUT_S, 1..=MAX_TIMEOUT_S)?,
            max_bytes,
        })
    }

    /// The lists, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Subscription> {
        self.lists.iter()
    }

    /// The list of that name.
    pub fn get(&self, name: &str) -> Option<&Subscription> {
        self.lists.iter().find(|list| list.name == name)
    }

    /// How many lists.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_with_their_defaults() {
        let lists = Subscriptions::parse(
            r#"{"oisd.txt": {"url": "https://big.oisd.nl/domainswild"},
                "hosts": {"url": "http://127.0.0.1:8080/hosts", "format": "hosts", "refresh_seconds": 600, "timeout_seconds": 5, "max_bytes": 1000}}"#,
        )
        .unwrap();
        assert_eq!(lists.len(), 2);
        let oisd = lists.get("oisd.txt").unwrap();
        assert_eq!((oisd.format, oisd.refresh_s, oisd.timeout_s, oisd.max_bytes), (None, DEFAULT_REFRESH_S, DEFAULT_TIMEOUT_S, DEFAULT_MAX_BYTES));
        let hosts = lists.get("hosts").unwrap();
        assert_eq!((hosts.format, hosts.refresh_s, hosts.timeout_s, hosts.max_bytes), (Some(Format::Hosts), 600, 5, 1000));
        assert_eq!(lists.iter().map(|list| list.name.as_str()).collect::<Vec<_>>(), ["hosts", "oisd.txt"]);
        assert_eq!(Subscriptions::parse("{}").unwrap(), Subscriptions::default());
    }

    #[test]
    fn every_problem_names_the_list_and_the_field() {
        for (text, expected) in [
            ("[]", "SUBSCRIPTIONS: not a JSON object"),
            (r#"{"a": {"url": "http://lists.example/a"}}"#, "SUBSCRIPTIONS: a: url \"http://lists.example/a\": plain http is allowed to loopback hosts only"),
            (r#"{"a": {"url": "https://lists.example"}}"#, "SUBSCRIPTIONS: a: url \"https://lists.example\": no path"),
            (r#"{"a b": {"url": "https://lists.example/a"}}"#, "SUBSCRIPTIONS: a b: the name"),
            (r#"{"a": {"url": "https://lists.example/a", "format": "csv"}}"#, "SUBSCRIPTIONS: a: format \"csv\""),
            (r#"{"a": {"url": "https://lists.example/a", "refresh_seconds": 5}}"#, "SUBSCRIPTIONS: a: refresh_seconds 5: expected 60..="),
            (r#"{"a": {"url": "https://lists.example/a", "timeout_seconds": 0}}"#, "SUBSCRIPTIONS: a: timeout_seconds 0"),
            (r#"{"a": {"url": "https://lists.example/a", "max_bytes": 0}}"#, "SUBSCRIPTIONS: a: max_bytes 0"),
            (r#"{"a": {"url": "https://lists.example/a", "every": 5}}"#, "unknown field `every`"),
        ] {
            let error = Subscriptions::parse(text).unwrap_err().0;
            assert!(error.contains(expected), "{text}: {error}");
        }
        let many: Vec<String> = (0..=MAX_SUBSCRIPTIONS).map(|n| format!(r#""l{n}": {{"url": "https://lists.example/{n}"}}"#)).collect();
        assert!(Subscriptions::parse(&format!("{{{}}}", many.join(","))).unwrap_err().0.contains("over the limit of 16"));
        assert!(Subscriptions::parse(&" ".repeat(MAX_CONFIG_BYTES + 1)).unwrap_err().0.contains("over the limit"));
    }
}
