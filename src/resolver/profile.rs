//! Profiles: different rules for different clients of one resolver, as NextDNS and RethinkDNS
//! offer them. A profile is a selection of the published firewall lists (by their names in
//! the bundle, [`super::firewall::bundle`]), the operator's own allow and deny entries, how a
//! block is answered, and which search engines are held to their safe-search service. Clients
//! choose one by URL path, `/dns-query/p/<id>` (the id may be a long random string, so that
//! the path is the profile's only key); `/dns-query` gets the profile named `default`, or,
//! when there is none, every list as before.
//!
//! Profiles are defined in the `PROFILES` variable (JSON, or a TOML table in wrangler.toml's
//! `[vars]`, which the Worker sees as the same JSON), read with the rest of the resolver's
//! settings ([`super::ResolverConfig::from_vars`]):
//!
//! ```json
//! {"default": {"lists": ["ads.txt"]},
//!  "kids": {"id": "k7Qe3m9xV2pL", "lists": ["ads.txt", "adult.txt"], "allow": ["school.example"],
//!           "deny": ["games.example"], "block": "null", "safe_search": ["google", "youtube"]}}
//! ```
//!
//! Sans IO: [`Screen`] decides, for a question or an answer, block, allow, alert or rewrite,
//! with the reason naming the profile and the rule (its list, its line, the rule as written).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde::Deserialize;

use super::firewall::{self, Action, BlockAnswer, Firewall, FirewallSet, Format, Lists, NamedReading, Rule, DEFAULT_OVERRIDE_TTL};
use super::{check_url, ConfigError, UpstreamSubnet};

/// The profile `/dns-query` uses, when one has this name.
pub const DEFAULT_PROFILE: &str = "default";
/// The largest `PROFILES` value read, in bytes (Cloudflare caps a variable at 5 KB at the
/// edge; this bound is for the CLI and local runs, before anything is parsed).
pub const MAX_PROFILES_BYTES: usize = 64 * 1024;
/// The most profiles one resolver defines.
pub const MAX_PROFILES: usize = 256;
/// The longest profile id (a path segment): 128 characters of `A-Z a-z 0-9 - _`.
pub const MAX_ID_LENGTH: usize = 128;
/// The most upstreams one profile names.
pub const MAX_PROFILE_UPSTREAMS: usize = 8;
/// The TTL of a safe-search CNAME.
pub const SAFE_SEARCH_TTL: u32 = 300;

/// A search engine's safe-search service: the names its search is served on, and the name
/// the engine asks networks to answer them with (a CNAME), as each engine publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafeSearch {
    /// Its name in `safe_search`.
    pub engine: &'static str,
    /// The CNAME target.
    pub target: &'static str,
    /// The names answered with it.
    pub names: &'static [&'static str],
}

/// The engines' published safe-search CNAMEs.
pub const SAFE_SEARCH: &[SafeSearch] = &[
    // Google, "Lock SafeSearch for devices & networks you manage"
    // (https://support.google.com/websearch/answer/186669): map www.google.com and the
    // country domains (https://www.google.com/supported_domains) to forcesafesearch.google.com.
    // The most used country domains here; the rest are not covered yet.
    SafeSearch {
        engine: "google",
        target: "forcesafesearch.google.com",
        names: &[
            "www.google.com",
            "google.com",
            "www.google.co.uk",
            "www.google.de",
            "www.google.fr",
            "www.google.es",
            "www.google.it",
            "www.google.nl",
            "www.google.ca",
            "www.google.com.au",
            "www.google.co.in",
            "www.google.co.jp",
            "www.google.com.br",
            "www.google.com.mx",
            "www.google.pl",
            "www.google.ch",
            "www.google.at",
            "www.google.be",
            "www.google.se",
        ],
    },
    // Microsoft Bing, "Block adult content with SafeSearch or block Chat"
    // (https://support.microsoft.com/topic/946059ed-992b-46a0-944a-28e8fb8f1814): map
    // www.bing.com to strict.bing.com.
    SafeSearch { engine: "bing", target: "strict.bing.com", names: &["www.bing.com", "bing.com"] },
    // DuckDuckGo, "Safe Search" help page
    // (https://duckduckgo.com/duckduckgo-help-pages/features/safe-search/): point
    // duckduckgo.com at safe.duckduckgo.com.
    SafeSearch { engine: "duckduckgo", target: "safe.duckduckgo.com", names: &["duckduckgo.com", "www.duckduckgo.com", "start.duckduckgo.com"] },
    // YouTube, "Restrict YouTube content on your network or managed devices"
    // (https://support.google.com/a/answer/6214622): these five names to
    // restrict.youtube.com (Strict) or restrictmoderate.youtube.com (Moderate).
    SafeSearch {
        engine: "youtube",
        target: "restrict.youtube.com",
        names: &["www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com", "www.youtube-nocookie.com"],
    },
    SafeSearch {
        engine: "youtube-moderate",
        target: "restrictmoderate.youtube.com",
        names: &["www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com", "www.youtube-nocookie.com"],
    },
];

/// How a profile answers a block whose rule names no answer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// NXDOMAIN (what the lists say when they name no answer).
    NxDomain,
    /// NOERROR with no records.
    NoData,
    /// These addresses (A, AAAA; NODATA for the other types and a family not given).
    /// `null` is 0.0.0.0 and `::`.
    Addresses {
        /// For A questions.
        v4: Option<Ipv4Addr>,
        /// For AAAA questions.
        v6: Option<Ipv6Addr>,
    },
}

impl Blocking {
    /// Reads `nxdomain`, `nodata`, `null` or one address of each family or both
    /// (`192.0.2.1, 2001:db8::1`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nxdomain" => return Ok(Self::NxDomain),
            "nodata" => return Ok(Self::NoData),
            "null" => return Ok(Self::Addresses { v4: Some(Ipv4Addr::UNSPECIFIED), v6: Some(Ipv6Addr::UNSPECIFIED) }),
            _ => {}
        }
        let (mut v4, mut v6) = (None, None);
        for word in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|word| !word.is_empty()) {
            match word.parse::<IpAddr>() {
                Ok(IpAddr::V4(address)) if v4.is_none() => v4 = Some(address),
                Ok(IpAddr::V6(address)) if v6.is_none() => v6 = Some(address),
                Ok(_) => return Err(format!("{text:?}: at most one address of each family")),
                Err(_) => return Err(format!("{text:?}: expected nxdomain, nodata, null or addresses")),
            }
        }
        if v4.is_none() && v6.is_none() {
            return Err(format!("{text:?}: expected nxdomain, nodata, null or addresses"));
        }
        Ok(Self::Addresses { v4, v6 })
    }

    /// The answer to a question of `query_type`.
    pub fn answer(self, query_type: RecordType) -> BlockAnswer {
        let record = |data: RData| BlockAnswer::Override { data, ttl: DEFAULT_OVERRIDE_TTL };
        match (self, query_type) {
            (Self::NxDomain, _) => BlockAnswer::NxDomain,
            (Self::Addresses { v4: Some(address), .. }, RecordType::A) => record(RData::A(A(address))),
            (Self::Addresses { v6: Some(address), .. }, RecordType::AAAA) => record(RData::AAAA(AAAA(address))),
            _ => BlockAnswer::NoData,
        }
    }
}

/// One profile (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its name (explain and the log name it; never the id).
    pub name: String,
    /// Its place in [`Profiles`] ([`Profiles::get`]).
    pub index: usize,
    /// Its path id.
    id: String,
    /// The published lists it uses (`None`: all).
    lists: Option<Vec<String>>,
    /// The operator's own allow and deny entries, as lists named `PROFILES.<name>.allow` and
    /// `PROFILES.<name>.deny` (a rule's line is its place in the array, from 1).
    own: Firewall,
    /// How a block that names no answer is answered (`None`: as the rule says).
    blocking: Option<Blocking>,
    /// Safe-search rewrites: name (lower case, no trailing dot) → (engine, target).
    rewrites: HashMap<String, (&'static str, Name)>,
    /// Its own upstreams, in order (`None`: the resolver's `UPSTREAMS`).
    upstreams: Option<Vec<String>>,
    /// What of the client's network goes upstream (`None`: as `UPSTREAM_ECS` and
    /// `FORWARD_CLIENT_ECS` say).
    pub ecs: Option<UpstreamSubnet>,
}

impl Profile {
    /// The lists it selects.
    pub fn lists(&self) -> Lists<'_> {
        match &self.lists {
            Some(names) => Lists::Named(names),
            None => Lists::All,
        }
    }

    /// The names of the lists it selects (`None`: all).
    pub fn list_names(&self) -> Option<&[String]> {
        self.lists.as_deref()
    }

    /// Its own upstreams, if it has them.
    pub fn upstreams(&self) -> Option<&[String]> {
        self.upstreams.as_deref()
    }
}

/// Every profile of a resolver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profiles {
    /// The profiles, by name.
    profiles: Vec<Profile>,
    /// Each id's profile.
    by_id: HashMap<String, usize>,
    /// The profile named `default`, if any.
    default: Option<usize>,
}

/// A profile as written in `PROFILES`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    id: Option<String>,
    lists: Option<Vec<String>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    block: Option<String>,
    #[serde(default)]
    safe_search: Vec<String>,
    upstreams: Option<Vec<String>>,
    ecs: Option<String>,
}

impl Profiles {
    /// Reads `PROFILES` (see the module doc); every problem is an error naming the profile
    /// and the field.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError(format!("PROFILES: {message}"));
        if text.len() > MAX_PROFILES_BYTES {
            return Err(error(format!("{} bytes, over the limit of {MAX_PROFILES_BYTES}", text.len())));
        }
        let sources: BTreeMap<String, Source> = serde_json::from_str(text).map_err(|e| error(format!("not a JSON object of profiles: {e}")))?;
        if sources.len() > MAX_PROFILES {
            return Err(error(format!("{} profiles, over the limit of {MAX_PROFILES}", sources.len())));
        }
        let mut profiles = Self::default();
        for (name, source) in sources {
            let index = profiles.profiles.len();
            let profile = Self::profile(&name, index, source).map_err(|message| error(format!("{name}: {message}")))?;
            if let Some(&other) = profiles.by_id.get(&profile.id) {
                let other = profiles.profiles.get(other).map_or("", |other| other.name.as_str());
                return Err(error(format!("{name}: the id is {other}'s too")));
            }
            profiles.by_id.insert(profile.id.clone(), index);
            if name == DEFAULT_PROFILE {
                profiles.default = Some(index);
            }
            profiles.profiles.push(profile);
        }
        Ok(profiles)
    }

    fn profile(name: &str, index: usize, source: Source) -> Result<Profile, String> {
        let id = source.id.unwrap_or_else(|| name.to_owned());
        if id.is_empty() || id.len() > MAX_ID_LENGTH || !id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') {
            return Err(format!("id {id:?}: 1 to {MAX_ID_LENGTH} characters of A-Z, a-z, 0-9, - and _ (it is a URL path segment)"));
        }
        if let Some(list) = source.lists.iter().flatten().find(|list| list.trim().is_empty() || list.contains(['\n', '\r'])) {
            return Err(format!("lists: {list:?} is no list name"));
        }
        let own = |field: &str, entries: &[String], allow: bool| -> Result<NamedReading, String> {
            let list = format!("PROFILES.{name}.{field}");
            if let Some((index, entry)) = entries.iter().enumerate().find(|(_, entry)| entry.contains(['\n', '\r', '#']) || entry.trim().is_empty()) {
                return Err(format!("{field}[{}]: {entry:?} is no domain", index + 1));
            }
            let mut reading = firewall::formats::domains::read(&entries.join("\n"));
            if let Some(skipped) = reading.skipped.first() {
                return Err(format!("{field}[{}]: {}", skipped.line, skipped.reason));
            }
            if allow {
                for entry in &mut reading.entries {
                    entry.action = Action::Allow;
                }
            }
            Ok(NamedReading { name: Some(list), format: Format::Domains, reading })
        };
        let readings = [own("allow", &source.allow, true)?, own("deny", &source.deny, false)?];
        let (own, reports) = Firewall::compile(&readings).map_err(|error| error.to_string())?;
        for (field, report) in ["allow", "deny"].iter().zip(&reports) {
            if let Some((line, first)) = report.duplicates.first() {
                return Err(format!("{field}[{line}]: the same entry as {field}[{first}]"));
            }
        }
        let blocking = source.block.as_deref().map(Blocking::parse).transpose().map_err(|message| format!("block: {message}"))?;
        let mut rewrites = HashMap::new();
        for engine in &source.safe_search {
            let Some(safe) = SAFE_SEARCH.iter().find(|safe| safe.engine == engine.as_str()) else {
                let known: Vec<&str> = SAFE_SEARCH.iter().map(|safe| safe.engine).collect();
                return Err(format!("safe_search: {engine:?} is not one of {}", known.join(", ")));
            };
            let mut target = Name::from_ascii(safe.target).map_err(|e| format!("safe_search: {e}"))?;
            target.set_fqdn(true);
            for &searched in safe.names {
                if let Some((other, _)) = rewrites.insert(searched.to_owned(), (safe.engine, target.clone())) {
                    return Err(format!("safe_search: {other} and {} both rewrite {searched}", safe.engine));
                }
            }
        }
        let upstreams = match source.upstreams {
            None => None,
            Some(urls) if urls.is_empty() || urls.len() > MAX_PROFILE_UPSTREAMS => {
                return Err(format!("upstreams: 1 to {MAX_PROFILE_UPSTREAMS} DoH URLs (omit it for the resolver's UPSTREAMS)"))
            }
            Some(urls) => {
                for url in &urls {
                    check_url(url, "the DoH path, e.g. /dns-query").map_err(|why| format!("upstreams: {url:?}: {why}"))?;
                }
                Some(urls)
            }
        };
        let ecs = match source.ecs.as_deref().map(str::trim) {
            None => None,
            Some("off") => Some(UpstreamSubnet::Off),
            Some("truncated") => Some(UpstreamSubnet::Truncated),
            Some(other) => return Err(format!("ecs: {other:?}: expected off or truncated")),
        };
        Ok(Profile { name: name.to_owned(), index, id, lists: source.lists, own, blocking, rewrites, upstreams, ecs })
    }

    /// The profile of a path id, if any.
    pub fn by_id(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id).and_then(|&index| self.profiles.get(index))
    }

    /// The profile at `index` ([`Profile::index`]).
    pub fn get(&self, index: usize) -> Option<&Profile> {
        self.profiles.get(index)
    }

    /// The profile `/dns-query` uses (named `default`), if any.
    pub fn default_profile(&self) -> Option<&Profile> {
        self.default.and_then(|index| self.profiles.get(index))
    }

    /// Every profile, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The names of the lists profiles select that `published` (the names in the published
    /// bundle) lacks, with the profile naming each: a list the operator has not published yet.
    pub fn missing_lists<'a>(&'a self, published: &[&str]) -> Vec<(&'a str, &'a str)> {
        self.profiles
            .iter()
            .flat_map(|profile| profile.list_names().unwrap_or_default().iter().map(move |list| (profile.name.as_str(), list.as_str())))
            .filter(|(_, list)| !published.contains(list))
            .collect()
    }
}

/// Why a rule applied: the rule, and the profile it applied in (`None` with no profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The profile's name.
    pub profile: Option<&'a str>,
    /// The rule (its list, line and text).
    pub rule: &'a Rule,
}

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.profile {
            Some(profile) => write!(f, "profile {profile}: {}", self.rule),
            None => self.rule.fmt(f),
        }
    }
}

/// What a profile makes of a question or an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// No rule applies.
    Pass,
    /// An allow rule: answered normally, its answer not screened.
    Allow(Reason<'a>),
    /// An alert rule: answered normally, logged.
    Alert(Reason<'a>),
    /// Blocked: answered with this.
    Block(Reason<'a>, BlockAnswer),
    /// A search engine's name: answered with a CNAME to its safe-search service.
    Rewrite {
        /// The profile's name.
        profile: &'a str,
        /// The engine.
        engine: &'static str,
        /// The CNAME target.
        target: &'a Name,
    },
}

impl Verdict<'_> {
    /// The line explain shows for it, if any.
    pub fn explain(&self, name: &Name) -> Option<String> {
        match self {
            Self::Pass => None,
            Self::Allow(reason) | Self::Alert(reason) | Self::Block(reason, _) => {
                Some(format!("firewall: {}rule {} matched", prefix(reason.profile), reason.rule))
            }
            Self::Rewrite { profile, engine, target } => {
                Some(format!("firewall: profile {profile}: safe search ({engine}) answers {name} with CNAME {target}"))
            }
        }
    }
}

fn prefix(profile: Option<&str>) -> String {
    profile.map(|profile| format!("profile {profile}: ")).unwrap_or_default()
}

/// The rules a query meets: the published lists (when loaded) through a profile's selection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Screen<'a> {
    /// The published lists.
    pub lists: Option<&'a FirewallSet>,
    /// The profile (`None`: every list, rules' own answers, no safe search).
    pub profile: Option<&'a Profile>,
}

impl<'a> Screen<'a> {
    /// Whether anything screens at all (lists published, or a profile): without, every name
    /// passes, and an answer is not decoded to be screened.
    pub fn screens(&self) -> bool {
        self.lists.is_some() || self.profile.is_some()
    }

    /// The rule deciding `name`: the profile's own entries first (an own allow beats every
    /// list, an own deny every list's rule), then the selected lists.
    fn rule(&self, name: &Name) -> Option<&'a Rule> {
        let own = self.profile.and_then(|profile| profile.own.check(name));
        own.or_else(|| self.lists.and_then(|lists| lists.check_in(name, self.selection())))
    }

    fn address_rule(&self, address: IpAddr) -> Option<&'a Rule> {
        self.lists.and_then(|lists| lists.check_address_in(address, self.selection()))
    }

    fn selection(&self) -> Lists<'a> {
        self.profile.map_or(Lists::All, Profile::lists)
    }

    fn verdict(&self, rule: &'a Rule, query_type: RecordType) -> Verdict<'a> {
        let reason = Reason { profile: self.profile.map(|profile| profile.name.as_str()), rule };
        match &rule.action {
            Action::Allow => Verdict::Allow(reason),
            Action::Alert => Verdict::Alert(reason),
            Action::Block(answer) => {
                // The profile's answer replaces the plain ones; an override record the rule
                // names ($dnsrewrite, RPZ local data) is kept.
                let answer = match (answer, self.profile.and_then(|profile| profile.blocking)) {
                    (BlockAnswer::NxDomain | BlockAnswer::NoData, Some(blocking)) => blocking.answer(query_type),
                    _ => answer.clone(),
                };
                Verdict::Block(reason, answer)
            }
        }
    }

    /// What the question `name` / `query_type` gets: a block; else the safe-search CNAME when
    /// the name is a search engine's the profile holds to it; else the allow or alert rule.
    pub fn question(&self, name: &Name, query_type: RecordType) -> Verdict<'a> {
        let verdict = self.rule(name).map_or(Verdict::Pass, |rule| self.verdict(rule, query_type));
        if matches!(verdict, Verdict::Block(..)) {
            return verdict;
        }
        if let Some(profile) = self.profile.filter(|profile| !profile.rewrites.is_empty()) {
            let key = name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
            if let Some((engine, target)) = profile.rewrites.get(&key) {
                return Verdict::Rewrite { profile: &profile.name, engine, target };
            }
        }
        verdict
    }

    /// What an answer gets (see [`Firewall::screen`]): the first block any owner, CNAME target
    /// or address in `records` meets, else the first alert, else [`Verdict::Pass`]. The
    /// question's `query_type` says what a block answers.
    pub fn answer(&self, records: &[Record], query_type: RecordType) -> Verdict<'a> {
        let mut alert = None;
        for record in records {
            let owner = self.rule(&record.name);
            let data = match &record.data {
                RData::CNAME(target) => self.rule(&target.0),
                RData::A(address) => self.address_rule(IpAddr::V4(address.0)),
                RData::AAAA(address) => self.address_rule(IpAddr::V6(address.0)),
                _ => None,
            };
            for rule in [owner, data].into_iter().flatten() {
                match rule.action {
                    Action::Block(_) => return self.verdict(rule, query_type),
                    Action::Alert => alert = alert.or(Some(rule)),
                    Action::Allow => {}
                }
            }
        }
        alert.map_or(Verdict::Pass, |rule| self.verdict(rule, query_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::CNAME;
    use std::str::FromStr;

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    /// Two published lists that disagree about shared.example, as a bundle.
    fn lists() -> FirewallSet {
        let bundle = firewall::bundle::encode(&[
            firewall::bundle::List { name: Some("ads.txt"), format: Format::Adblock, text: "||ads.example^\n||shared.example^\n" },
            firewall::bundle::List { name: Some("adult.txt"), format: Format::Domains, text: "adult.example\n" },
            firewall::bundle::List { name: Some("rewrites.txt"), format: Format::Adblock, text: "||pinned.example^$dnsrewrite=192.0.2.7\n" },
        ]);
        Firewall::load(&bundle).unwrap().into()
    }

    const PROFILES: &str = r#"{
        "default": {"lists": ["ads.txt", "rewrites.txt"]},
        "kids": {"id": "k7Qe3m9xV2pLr8TzW4nY", "lists": ["ads.txt", "adult.txt", "rewrites.txt"],
                 "allow": ["shared.example"], "deny": ["games.example", "*.casino.example"],
                 "block": "null", "safe_search": ["google", "bing", "youtube-moderate"]},
        "open": {"lists": []}
    }"#;

    fn word(verdict: &Verdict<'_>) -> String {
        match verdict {
            Verdict::Pass => "pass".into(),
            Verdict::Allow(reason) => format!("allow: {reason}"),
            Verdict::Alert(reason) => format!("alert: {reason}"),
            Verdict::Block(reason, answer) => format!("block {answer:?}: {reason}"),
            Verdict::Rewrite { profile, engine, target } => format!("rewrite {profile} {engine} {target}"),
        }
    }

    #[test]
    fn profiles_answer_the_same_name_differently_and_say_why() {
        let (lists, profiles) = (lists(), Profiles::parse(PROFILES).unwrap());
        let kids = profiles.by_id("k7Qe3m9xV2pLr8TzW4nY").unwrap();
        let default = profiles.default_profile().unwrap();
        let open = profiles.by_id("open").unwrap();
        let screen = |profile| Screen { lists: Some(&lists), profile: Some(profile) };
        let ask = |profile, text: &str, query_type| word(&screen(profile).question(&name(text), query_type));
        // The same lists rule, the profile's answer: NXDOMAIN as the list says, or null.
        assert_eq!(ask(default, "x.ads.example.", RecordType::A), "block NxDomain: profile default: block ||ads.example^ (ads.txt line 1)");
        assert_eq!(
            ask(kids, "x.ads.example.", RecordType::A),
            "block Override { data: A(A(0.0.0.0)), ttl: 60 }: profile kids: block ||ads.example^ (ads.txt line 1)"
        );
        assert!(ask(kids, "x.ads.example.", RecordType::AAAA).starts_with("block Override { data: AAAA(AAAA(::)), ttl: 60 }"));
        assert!(ask(kids, "x.ads.example.", RecordType::MX).starts_with("block NoData"), "null answers other types with NODATA");
        assert_eq!(ask(open, "x.ads.example.", RecordType::A), "pass", "a profile with no lists");
        // A list only one profile selects.
        assert_eq!(ask(default, "adult.example.", RecordType::A), "pass");
        assert!(ask(kids, "www.adult.example.", RecordType::A).ends_with("profile kids: block adult.example (adult.txt line 1)"));
        // The operator's own entries beat the lists: an allow over a list's block.
        assert_eq!(ask(default, "shared.example.", RecordType::A), "block NxDomain: profile default: block ||shared.example^ (ads.txt line 2)");
        assert_eq!(ask(kids, "www.shared.example.", RecordType::A), "allow: profile kids: allow shared.example (PROFILES.kids.allow line 1)");
        assert!(ask(kids, "games.example.", RecordType::A).ends_with("block games.example (PROFILES.kids.deny line 1)"));
        assert!(ask(kids, "a.casino.example.", RecordType::A).ends_with("block *.casino.example (PROFILES.kids.deny line 2)"));
        assert_eq!(ask(kids, "casino.example.", RecordType::A), "pass", "*.domain: the names below only");
        assert_eq!(ask(default, "games.example.", RecordType::A), "pass", "another profile's entries");
        // An override record the rule names is kept whatever the profile's blocking.
        assert!(ask(kids, "pinned.example.", RecordType::A).starts_with("block Override { data: A(A(192.0.2.7)), ttl: 60 }"));
        // Safe search, for the engines the profile names only.
        assert_eq!(ask(kids, "WWW.Google.com.", RecordType::A), "rewrite kids google forcesafesearch.google.com.");
        assert_eq!(ask(kids, "www.bing.com.", RecordType::AAAA), "rewrite kids bing strict.bing.com.");
        assert_eq!(ask(kids, "m.youtube.com.", RecordType::A), "rewrite kids youtube-moderate restrictmoderate.youtube.com.");
        assert_eq!(ask(kids, "duckduckgo.com.", RecordType::A), "pass");
        assert_eq!(ask(kids, "mail.google.com.", RecordType::A), "pass");
        assert_eq!(ask(default, "www.google.com.", RecordType::A), "pass");
        let rewrite = screen(kids).question(&name("www.bing.com."), RecordType::A);
        assert_eq!(
            rewrite.explain(&name("www.bing.com.")).unwrap(),
            "firewall: profile kids: safe search (bing) answers www.bing.com. with CNAME strict.bing.com."
        );
        // No profile: every list, as before profiles.
        let all = Screen { lists: Some(&lists), profile: None };
        assert_eq!(word(&all.question(&name("adult.example."), RecordType::A)), "block NxDomain: block adult.example (adult.txt line 1)");
        assert_eq!(
            all.question(&name("x.ads.example."), RecordType::A).explain(&name("x")).unwrap(),
            "firewall: rule block ||ads.example^ (ads.txt line 1) matched"
        );
    }

    #[test]
    fn answers_are_screened_through_the_profile() {
        let (lists, profiles) = (lists(), Profiles::parse(PROFILES).unwrap());
        let cloaked = [Record::from_rdata(name("x.site.example."), 300, RData::CNAME(CNAME(name("tracker.adult.example."))))];
        let kids = Screen { lists: Some(&lists), profile: profiles.by_id("k7Qe3m9xV2pLr8TzW4nY") };
        let default = Screen { lists: Some(&lists), profile: profiles.default_profile() };
        assert!(word(&kids.answer(&cloaked, RecordType::A)).ends_with("profile kids: block adult.example (adult.txt line 1)"));
        assert_eq!(default.answer(&cloaked, RecordType::A), Verdict::Pass);
        assert_eq!(Screen::default().answer(&cloaked, RecordType::A), Verdict::Pass, "no lists loaded");
    }

    #[test]
    fn blocking_reads_its_forms() {
        assert_eq!(Blocking::parse("NXDOMAIN"), Ok(Blocking::NxDomain));
        assert_eq!(Blocking::parse("nodata"), Ok(Blocking::NoData));
        assert_eq!(
            Blocking::parse("192.0.2.1, 2001:db8::1"),
            Ok(Blocking::Addresses { v4: Some(Ipv4Addr::new(192, 0, 2, 1)), v6: Some("2001:db8::1".parse().unwrap()) })
        );
        assert_eq!(Blocking::parse("2001:db8::1"), Ok(Blocking::Addresses { v4: None, v6: Some("2001:db8::1".parse().unwrap()) }));
        assert_eq!(Blocking::parse("2001:db8::1").unwrap().answer(RecordType::A), BlockAnswer::NoData);
        for bad in ["", "refused", "192.0.2.1 192.0.2.2", "300.1.1.1"] {
            assert!(Blocking::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_profiles_are_clear_errors() {
        for (text, expected) in [
            ("[]", "PROFILES: not a JSON object of profiles"),
            (r#"{"a": {"lists": "ads.txt"}}"#, "PROFILES: not a JSON object of profiles"),
            (r#"{"a": {"colour": "red"}}"#, "unknown field `colour`"),
            (r#"{"a b": {}}"#, "PROFILES: a b: id \"a b\": 1 to 128 characters"),
            (r#"{"a": {"id": "x/y"}}"#, "PROFILES: a: id \"x/y\""),
            (r#"{"a": {"id": "same"}, "b": {"id": "same"}}"#, "PROFILES: b: the id is a's too"),
            (r#"{"a": {"block": "refused"}}"#, "PROFILES: a: block: \"refused\": expected nxdomain"),
            (
                r#"{"a": {"safe_search": ["altavista"]}}"#,
                "PROFILES: a: safe_search: \"altavista\" is not one of google, bing, duckduckgo, youtube, youtube-moderate",
            ),
            (r#"{"a": {"safe_search": ["youtube", "youtube-moderate"]}}"#, "both rewrite www.youtube.com"),
            (r#"{"a": {"deny": ["ok.example", "bad example"]}}"#, "PROFILES: a: deny[2]: a domain list holds one domain a line"),
            (r#"{"a": {"deny": ["ok.example", "ok.example"]}}"#, "PROFILES: a: deny[2]: the same entry as deny[1]"),
            (r#"{"a": {"allow": ["x.example\nblock"]}}"#, "PROFILES: a: allow[1]"),
            (r#"{"a": {"lists": [" "]}}"#, "PROFILES: a: lists: \" \" is no list name"),
            (r#"{"a": {"upstreams": []}}"#, "PROFILES: a: upstreams: 1 to 8 DoH URLs"),
            (r#"{"a": {"upstreams": ["http://dns.example/dns-query"]}}"#, "PROFILES: a: upstreams: \"http://dns.example/dns-query\": plain http"),
            (r#"{"a": {"upstreams": ["https://dns.example"]}}"#, "no path (the DoH path"),
            (r#"{"a": {"ecs": "full"}}"#, "PROFILES: a: ecs: \"full\": expected off or truncated"),
        ] {
            let error = Profiles::parse(text).expect_err(text);
            assert!(error.0.contains(expected), "{text}: {error}");
        }
        let long = format!(r#"{{"a": {{"id": "{}"}}}}"#, "x".repeat(MAX_ID_LENGTH + 1));
        assert!(Profiles::parse(&long).is_err());
        assert!(Profiles::parse(&" ".repeat(MAX_PROFILES_BYTES + 1)).unwrap_err().0.contains("over the limit"));
    }

    #[test]
    fn a_profile_may_name_its_own_upstreams_and_ecs_policy() {
        let profiles = Profiles::parse(
            r#"{"family": {"upstreams": ["https://family.example/dns-query", "https://backup.example/dns-query"], "ecs": "off"},
                "plain": {}}"#,
        )
        .unwrap();
        let family = profiles.by_id("family").unwrap();
        assert_eq!(family.upstreams().map(<[String]>::len), Some(2));
        assert_eq!(family.ecs, Some(UpstreamSubnet::Off));
        let plain = profiles.by_id("plain").unwrap();
        assert_eq!((plain.upstreams(), plain.ecs), (None, None));
    }

    #[test]
    fn ids_default_to_names_and_missing_lists_are_named() {
        let profiles = Profiles::parse(PROFILES).unwrap();
        assert_eq!(profiles.len(), 3);
        assert!(profiles.by_id("kids").is_none(), "a profile with an id is reached by it only");
        assert_eq!(profiles.by_id("open").map(|p| p.name.as_str()), Some("open"));
        assert_eq!(profiles.by_id("default").map(|p| p.name.as_str()), Some("default"));
        assert_eq!(profiles.missing_lists(&["ads.txt", "rewrites.txt"]), vec![("kids", "adult.txt")]);
        assert!(Profiles::parse("{}").unwrap().default_profile().is_none());
    }
}
