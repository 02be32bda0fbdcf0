//! What resolver mode writes to the Worker's log. A resolver's log of forwarded names is its
//! users' browsing history, so names appear only when the operator turns them on
//! (`LOG_QUERIES=true`), and upstream URLs appear without their path and query, which can
//! carry an account or profile id (`https://dns.nextdns.io/<profile>`).

use hickory_proto::op::Query as Question;

/// An upstream URL as logged: its scheme and authority only.
///
/// ```
/// use edgedns::resolver::log::redact_url;
/// assert_eq!(redact_url("https://dns.nextdns.io/abc123?x=1"), "https://dns.nextdns.io/…");
/// assert_eq!(redact_url("http://127.0.0.1:8053/dns-query"), "http://127.0.0.1:8053/…");
/// assert_eq!(redact_url("https://user:secret@dns.example/q"), "https://dns.example/…");
/// assert_eq!(redact_url("no scheme/at all"), "…");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "…".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the authority are never logged either.
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}/…")
}

/// The log line of one forwarded query: how it was answered (`cache`: isolate, edge, miss,
/// coalesced, stale, failed), the upstream (redacted) and its time when one was asked, the
/// firewall rule that blocked the answer or said `alert`; the question only when `names` is on.
pub fn forward_line(question: &Question, cache: &str, upstream: Option<(&str, u32)>, rule: Option<&str>, names: bool) -> String {
    let mut line = String::from("edgedns: forward");
    if names {
        line.push_str(&format!(" name={} type={}", question.name, question.query_type));
    }
    line.push_str(&format!(" cache={cache}"));
    if let Some((url, ms)) = upstream {
        line.push_str(&format!(" upstream={} upstream_ms={ms}", redact_url(url)));
    }
    if let Some(rule) = rule {
        line.push_str(&format!(" firewall=\"{rule}\""));
    }
    line
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    #[test]
    fn names_only_when_turned_on_and_never_an_upstream_path() {
        let question = Question::query(Name::from_str("private-browsing.example.").unwrap(), RecordType::AAAA);
        let upstream = Some(("https://dns.nextdns.io/abc123", 12));
        let quiet = forward_line(&question, "miss", upstream, None, false);
        assert_eq!(quiet, "edgedns: forward cache=miss upstream=https://dns.nextdns.io/… upstream_ms=12");
        let verbose = forward_line(&question, "miss", upstream, Some("alert *.example (line 3)"), true);
        assert_eq!(
            verbose,
            "edgedns: forward name=private-browsing.example. type=AAAA cache=miss upstream=https://dns.nextdns.io/… upstream_ms=12 firewall=\"alert *.example (line 3)\""
        );
        assert!(!verbose.contains("abc123"));
    }
}
