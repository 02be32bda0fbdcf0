//! The decisions of a scheduled run: which lists are due and how to ask for them ([`due`]),
//! and what a fetch's outcome makes of a list ([`settle`]): "not modified" and the same bytes
//! again publish nothing; a download that reads as a list is compiled and published; anything
//! else keeps the version serving and says why.

use crate::resolver::firewall::{formats, Firewall, Format, NamedReading};
use crate::snapshot;

use super::config::{Subscription, Subscriptions};
use super::status::{bounded, Entry, Status};

/// The longest a failing list waits between attempts (before its own refresh interval
/// applies, if that is shorter): retries back off from a minute, doubling.
pub const FIRST_RETRY_S: u64 = 60;

/// One download to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The list.
    pub name: String,
    /// Where from.
    pub url: String,
    /// The conditional headers (`If-None-Match`, `If-Modified-Since`) of the version serving.
    pub headers: Vec<(&'static str, String)>,
    /// The time the whole download may take, in ms.
    pub timeout_ms: u64,
    /// The most bytes to read.
    pub max_bytes: usize,
}

/// The lists to fetch at `now` (Unix seconds): those never fetched (or fetched from another
/// URL), those whose refresh interval has passed since they were last checked, and failing
/// ones whose retry is due (a minute after the first failure, doubling, at most the refresh
/// interval).
pub fn due(subscriptions: &Subscriptions, status: &Status, now: u64) -> Vec<Request> {
    let mut requests = Vec::new();
    for list in subscriptions.iter() {
        let entry = status.lists.get(&list.name).filter(|entry| entry.url == list.url);
        if next_check(list, entry).is_some_and(|next| now < next) {
            continue;
        }
        // Validators only for the version serving: without one, a 304 would leave nothing.
        let mut headers = Vec::new();
        if let Some(entry) = entry.filter(|entry| entry.version.is_some()) {
            if let Some(etag) = &entry.etag {
                headers.push(("if-none-match", etag.clone()));
            }
            if let Some(modified) = &entry.last_modified {
                headers.push(("if-modified-since", modified.clone()));
            }
        }
        requests.push(Request {
            name: list.name.clone(),
            url: list.url.clone(),
            headers,
            timeout_ms: u64::from(list.timeout_s) * 1000,
            max_bytes: list.max_bytes,
        });
    }
    requests
}

/// When `list`, whose entry (for its URL) is `entry`, is next fetched (Unix seconds; `None`:
/// at once): its refresh interval after the last check, or a failing list's retry.
pub fn next_check(list: &Subscription, entry: Option<&Entry>) -> Option<u64> {
    let entry = entry?;
    let checked = entry.checked_at?;
    let wait = match entry.failures {
        0 => u64::from(list.refresh_s),
        failures => FIRST_RETRY_S.saturating_mul(1 << failures.saturating_sub(1).min(20)).min(u64::from(list.refresh_s)),
    };
    Some(checked.saturating_add(wait))
}

/// A fetch's outcome, as the Worker saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304 Not Modified.
    NotModified,
    /// A 2xx with its body (read whole, within the bound).
    Body {
        /// Its `ETag`.
        etag: Option<String>,
        /// Its `Last-Modified`.
        last_modified: Option<String>,
        /// Its `Content-Type`.
        content_type: Option<String>,
        /// The bytes.
        body: Vec<u8>,
    },
    /// Another status.
    Status(u16),
    /// More bytes than the list's bound.
    TooLarge(usize),
    /// Not finished within the timeout.
    TimedOut(u64),
    /// The request failed (no connection, a broken stream).
    Failed(String),
}

/// What a fetch makes of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Its entry from now on.
    pub entry: Entry,
    /// A new version to write (`firewall:<version>`, its compiled value), before the status.
    pub publish: Option<(String, Vec<u8>)>,
    /// A version no isolate needs any more (two back), to delete after the status is written.
    pub retire: Option<String>,
    /// One line for the log.
    pub said: String,
}

/// What `fetched` makes of `list`, whose entry was `previous`, at `now` (Unix seconds).
pub fn settle(list: &Subscription, previous: Option<&Entry>, fetched: Fetched, now: u64) -> Settled {
    // A list fetched from another URL starts again: its validators are another server's.
    let mut entry = previous.filter(|entry| entry.url == list.url).cloned().unwrap_or_else(|| Entry { url: list.url.clone(), ..Entry::default() });
    let kept = previous.and_then(|entry| entry.version.clone());
    if entry.version.is_none() {
        // The version serving, from another URL: kept serving until this one reads.
        entry.version = kept;
        entry.previous_version = previous.and_then(|entry| entry.previous_version.clone());
    }
    entry.checked_at = Some(now);
    let failed = |mut entry: Entry, why: String| {
        entry.failures = entry.failures.saturating_add(1);
        let serving = entry.version.as_deref().map_or_else(|| "no version serves yet".to_owned(), |version| format!("{version} keeps serving"));
        let said = format!("subscription {}: {why}; {serving}", list.name);
        entry.error = Some(bounded(&why));
        Settled { entry, publish: None, retire: None, said }
    };
    let (etag, last_modified, content_type, body) = match fetched {
        Fetched::NotModified if entry.version.is_some() => {
            entry.failures = 0;
            entry.error = None;
            entry.fresh_at = Some(now);
            let said = format!("subscription {}: not modified", list.name);
            return Settled { entry, publish: None, retire: None, said };
        }
        Fetched::NotModified => return failed(entry, "304 Not Modified to an unconditional request".to_owned()),
        Fetched::Status(status) => return failed(entry, format!("HTTP status {status}")),
        Fetched::TooLarge(limit) => return failed(entry, format!("the download is over {limit} bytes (max_bytes)")),
        Fetched::TimedOut(ms) => return failed(entry, format!("no whole download within {} s", ms / 1000)),
        Fetched::Failed(why) => return failed(entry, format!("the request failed: {why}")),
        Fetched::Body { etag, last_modified, content_type, body } => (etag, last_modified, content_type, body),
    };
    let digest = format!("{:016x}", fingerprint(&body));
    if entry.version.is_some() && entry.digest.as_deref() == Some(digest.as_str()) {
        entry.failures = 0;
        entry.error = None;
        entry.fresh_at = Some(now);
        entry.etag = etag.map(|value| bounded(&value));
        entry.last_modified = last_modified.map(|value| bounded(&value));
        let said = format!("subscription {}: the same list again", list.name);
        return Settled { entry, publish: None, retire: None, said };
    }
    let compiled = match compile(list, content_type.as_deref(), &body) {
        Ok(compiled) => compiled,
        Err(why) => return failed(entry, why),
    };
    let value = compiled.firewall.to_published();
    let version = snapshot::version_id(&value, now);
    let retire = entry.previous_version.take().filter(|old| Some(old) != entry.version.as_ref() && *old != version);
    entry.previous_version = entry.version.replace(version.clone()).filter(|old| *old != version);
    entry.etag = etag.map(|value| bounded(&value));
    entry.last_modified = last_modified.map(|value| bounded(&value));
    entry.digest = Some(digest);
    entry.format = Some(compiled.format.name().to_owned());
    entry.rules = compiled.firewall.len();
    entry.skipped = compiled.skipped;
    entry.bytes = body.len();
    entry.fresh_at = Some(now);
    entry.changed_at = Some(now);
    entry.failures = 0;
    entry.error = None;
    let said = format!(
        "subscription {}: published {version}: {} rules ({}), {} lines not expressible, {} bytes downloaded, {} compiled",
        list.name,
        entry.rules,
        compiled.format.name(),
        entry.skipped,
        entry.bytes,
        value.len()
    );
    Settled { entry, publish: Some((version, value)), retire, said }
}

/// A download compiled.
struct Compiled {
    firewall: Firewall,
    format: Format,
    skipped: usize,
}

/// Reads and compiles a download as the list `list`, or says why it is no list: a web page
/// (an error or login page served with 200), not UTF-8, no rule at all, more lines that
/// cannot be expressed than rules (garbage that happens to have a few name-like lines), a
/// native list's bad line, a list over the limits.
fn compile(list: &Subscription, content_type: Option<&str>, body: &[u8]) -> Result<Compiled, String> {
    if content_type.is_some_and(|media| media.trim().to_ascii_lowercase().starts_with("text/html")) || looks_like_markup(body) {
        return Err("the download is a web page, not a list".to_owned());
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("the download is not UTF-8 text ({e})"))?;
    let format = list.format.unwrap_or_else(|| Format::detect(text));
    let reading = formats::read(format, text);
    if let Some(error) = reading.errors.first() {
        return Err(format!("line {}: {} ({} lines with errors)", error.line, error.reason, reading.errors.len()));
    }
    let (rules, skipped) = (reading.entries.len(), reading.skipped.len());
    if rules == 0 {
        return Err(format!("no rule in the download (read as {}; {skipped} lines not expressible)", format.name()));
    }
    if skipped > rules {
        return Err(format!("{skipped} lines not expressible against {rules} rules: this does not read as a {} list", format.name()));
    }
    let named = NamedReading { name: Some(list.name.clone()), format, reading };
    let (firewall, _) = Firewall::compile(std::slice::from_ref(&named)).map_err(|error| error.to_string())?;
    Ok(Compiled { firewall, format, skipped })
}

/// Whether a download starts as HTML or XML does (after blanks): `<`.
fn looks_like_markup(body: &[u8]) -> bool {
    body.iter().find(|byte| !byte.is_ascii_whitespace()).is_some_and(|&first| first == b'<')
}

/// FNV-1a 64 of the download (stable across builds, as version ids are).
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::firewall::FirewallSet;
    use hickory_proto::rr::Name;
    use std::str::FromStr;

    const LIST: &str = r#"{"ads.txt": {"url": "http://127.0.0.1:9/ads.txt", "refresh_seconds": 3600}}"#;

    fn subscriptions() -> Subscriptions {
        Subscriptions::parse(LIST).unwrap()
    }

    fn body(text: &str, etag: Option<&str>) -> Fetched {
        Fetched::Body {
            etag: etag.map(str::to_owned),
            last_modified: Some("Tue, 08 Dec 2026 01:00:00 GMT".into()),
            content_type: Some("text/plain".into()),
            body: text.as_bytes().to_vec(),
        }
    }

    /// One run at `now`: what is due is fetched with `answer`, settled into `status`.
    fn run(status: &mut Status, now: u64, answer: impl Fn(&Request) -> Fetched) -> Vec<Settled> {
        let subscriptions = subscriptions();
        let mut settled = Vec::new();
        for request in due(&subscriptions, status, now) {
            let list = subscriptions.get(&request.name).unwrap();
            let done = settle(list, status.lists.get(&request.name), answer(&request), now);
            status.lists.insert(request.name.clone(), done.entry.clone());
            settled.push(done);
        }
        settled
    }

    fn blocks(value: &[u8], name: &str) -> bool {
        let set = FirewallSet::from(Firewall::from_published(value.to_vec()).unwrap());
        set.check_in(&Name::from_str(name).unwrap(), crate::resolver::firewall::Lists::All).is_some()
    }

    #[test]
    fn a_list_is_fetched_compiled_and_then_asked_for_conditionally() {
        let mut status = Status::default();
        let first = run(&mut status, 1000, |request| {
            assert!(request.headers.is_empty(), "the first fetch is unconditional");
            assert_eq!((request.timeout_ms, request.max_bytes), (30_000, super::super::config::DEFAULT_MAX_BYTES));
            body("||ads.example^\n||tracker.example^\n! a comment\n", Some("\"v1\""))
        });
        let [first] = first.as_slice() else { panic!("one list due") };
        let (version, value) = first.publish.clone().expect("published");
        assert!(blocks(&value, "www.ads.example.") && !blocks(&value, "good.example."));
        let entry = status.lists.get("ads.txt").unwrap();
        assert_eq!(
            (entry.version.as_deref(), entry.rules, entry.format.as_deref(), entry.changed_at),
            (Some(version.as_str()), 2, Some("adblock"), Some(1000))
        );
        assert!(first.said.contains("published") && first.said.contains("2 rules"), "{}", first.said);
        // Not due again before its refresh interval.
        assert!(run(&mut status, 1000 + 3599, |_| panic!("not due")).is_empty());
        // Then asked with the validators of the version serving; 304 publishes nothing.
        let again = run(&mut status, 1000 + 3600, |request| {
            assert_eq!(request.headers, [("if-none-match", "\"v1\"".to_owned()), ("if-modified-since", "Tue, 08 Dec 2026 01:00:00 GMT".to_owned())]);
            Fetched::NotModified
        });
        assert!(again[0].publish.is_none() && again[0].said.ends_with("not modified"));
        let entry = status.lists.get("ads.txt").unwrap();
        assert_eq!((entry.version.as_deref(), entry.fresh_at, entry.changed_at), (Some(version.as_str()), Some(4600), Some(1000)));
    }

    #[test]
    fn the_same_bytes_publish_nothing_and_a_change_retires_the_version_two_back() {
        let mut status = Status::default();
        let v1 = run(&mut status, 0, |_| body("ads.example\n", None))[0].publish.clone().unwrap().0;
        let same = run(&mut status, 3600, |_| body("ads.example\n", None));
        assert!(same[0].publish.is_none(), "a server without validators sent the same list");
        let v2 = run(&mut status, 7200, |_| body("ads.example\nmore.example\n", None))[0].clone();
        let (v2_version, v2_value) = v2.publish.unwrap();
        assert_ne!(v2_version, v1);
        assert!(blocks(&v2_value, "more.example."));
        assert_eq!(v2.retire, None, "the version before stays for isolates still on it");
        let entry = status.lists.get("ads.txt").unwrap().clone();
        assert_eq!((entry.version.as_deref(), entry.previous_version.as_deref()), (Some(v2_version.as_str()), Some(v1.as_str())));
        let v3 = run(&mut status, 10_800, |_| body("third.example\n", None))[0].clone();
        assert_eq!(v3.retire.as_deref(), Some(v1.as_str()));
        assert_eq!(status.lists.get("ads.txt").unwrap().previous_version.as_deref(), Some(v2_version.as_str()));
    }

    #[test]
    fn a_bad_download_keeps_the_last_good_list_and_says_why() {
        let mut status = Status::default();
        let good = run(&mut status, 0, |_| body("ads.example\n", Some("\"v1\"")))[0].publish.clone().unwrap().0;
        let html = Fetched::Body {
            etag: None,
            last_modified: None,
            content_type: Some("text/html; charset=utf-8".into()),
            body: b"<html>maintenance</html>".to_vec(),
        };
        let markup = Fetched::Body { etag: None, last_modified: None, content_type: None, body: b"\n  <!DOCTYPE html><p>x</p>".to_vec() };
        let garbage = body("\u{1}\u{2}garbage ~~~ !!!\nnot a name at all\nanother bad line\nok.example\n", None);
        let cases: Vec<(Fetched, &str)> = vec![
            (Fetched::Status(503), "HTTP status 503"),
            (Fetched::TimedOut(30_000), "no whole download within 30 s"),
            (Fetched::TooLarge(1000), "over 1000 bytes"),
            (Fetched::Failed("connection refused".into()), "the request failed: connection refused"),
            (html, "a web page"),
            (markup, "a web page"),
            (Fetched::Body { etag: None, last_modified: None, content_type: None, body: vec![0xff, 0xfe, b'a'] }, "not UTF-8"),
            (body("# only comments\n\n", None), "no rule in the download"),
            (garbage, "does not read as a domains list"),
        ];
        let mut now = 3600;
        for (failures, (fetched, expected)) in cases.into_iter().enumerate() {
            let requests = due(&subscriptions(), &status, now);
            assert_eq!(requests.len(), 1, "due at {now} after {failures} failures");
            let list = subscriptions();
            let settled = settle(list.get("ads.txt").unwrap(), status.lists.get("ads.txt"), fetched, now);
            assert!(settled.publish.is_none(), "{expected}");
            assert!(settled.said.contains(expected) && settled.said.contains(&format!("{good} keeps serving")), "{}", settled.said);
            let entry = settled.entry.clone();
            assert_eq!((entry.version.as_deref(), entry.failures, entry.etag.as_deref()), (Some(good.as_str()), failures as u32 + 1, Some("\"v1\"")));
            assert!(entry.error.as_deref().is_some_and(|error| error.contains(expected)));
            status.lists.insert("ads.txt".into(), entry);
            // Retries back off: a minute, two, four... at most the refresh interval.
            let wait = (60u64 << failures.min(20)).min(3600);
            assert!(due(&subscriptions(), &status, now + wait - 1).is_empty(), "not due before {wait} s");
            now += wait;
        }
        // The next good download clears the error.
        let settled = run(&mut status, now, |_| Fetched::NotModified);
        assert_eq!(settled[0].entry.failures, 0);
        assert_eq!(settled[0].entry.error, None);
    }

    #[test]
    fn without_a_good_version_a_304_is_a_failure_and_nothing_is_asked_conditionally() {
        let mut status = Status::default();
        let settled = run(&mut status, 0, |_| Fetched::Status(500));
        assert!(settled[0].said.ends_with("no version serves yet"), "{}", settled[0].said);
        let entry = status.lists.get_mut("ads.txt").unwrap();
        entry.etag = Some("\"stale\"".into());
        let settled = run(&mut status, 60, |request| {
            assert!(request.headers.is_empty());
            Fetched::NotModified
        });
        assert!(settled[0].entry.error.as_deref().is_some_and(|error| error.contains("unconditional")));
    }

    #[test]
    fn a_new_url_is_fetched_at_once_unconditionally_and_the_old_list_serves_until_it_reads() {
        let mut status = Status::default();
        let old = run(&mut status, 0, |_| body("ads.example\n", Some("\"v1\"")))[0].publish.clone().unwrap().0;
        let moved = Subscriptions::parse(r#"{"ads.txt": {"url": "http://127.0.0.1:9/new.txt", "refresh_seconds": 3600}}"#).unwrap();
        let requests = due(&moved, &status, 10);
        assert_eq!(requests.len(), 1, "a changed URL is due at once");
        assert!(requests[0].headers.is_empty());
        let list = moved.get("ads.txt").unwrap();
        let failed = settle(list, status.lists.get("ads.txt"), Fetched::Status(404), 10);
        assert_eq!(
            (failed.entry.url.as_str(), failed.entry.version.as_deref(), failed.entry.etag.as_deref()),
            ("http://127.0.0.1:9/new.txt", Some(old.as_str()), None)
        );
        let read = settle(list, Some(&failed.entry), body("new.example\n", None), 70);
        assert!(read.publish.is_some());
        assert_eq!(read.entry.previous_version.as_deref(), Some(old.as_str()));
    }

    #[test]
    fn a_native_list_with_a_bad_line_is_refused_with_its_line() {
        let list = Subscriptions::parse(r#"{"own": {"url": "https://lists.example/own", "format": "native"}}"#).unwrap();
        let settled = settle(list.get("own").unwrap(), None, body("block ads.example nxdomain\nblock bad..name nxdomain\n", None), 0);
        assert!(settled.publish.is_none());
        assert!(settled.said.contains("line 2"), "{}", settled.said);
    }
}
