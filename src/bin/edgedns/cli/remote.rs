//! Questions asked of a deployed Worker over DNS over HTTPS (RFC 8484, POST
//! `application/dns-message`): `edgedns query --remote-url` prints one answer, `edgedns probe`
//! checks a list of expected answers (after a deploy, in CI).
//!
//! The Worker's answer is untrusted input like any other: the body is read to at most one DNS
//! message (65,535 bytes) and must decode, within a time limit.

use std::path::Path;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RecordType};
use ipnet::IpNet;
use serde::Deserialize;

/// The largest DNS message there is (a length of 16 bits).
const MAX_MESSAGE: u64 = 65_535;
/// How long one question may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The DoH endpoint a URL names: as given when it has a path, else `/dns-query` on it.
pub(super) fn endpoint(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("bad --remote-url {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("bad --remote-url {url:?}: not an https:// (or http://) URL"));
    }
    if parsed.path() == "/" && parsed.query().is_none() {
        return Ok(format!("{}dns-query", parsed.as_str()));
    }
    Ok(parsed.to_string())
}

/// The query message: recursion desired (as browsers ask), EDNS, and ECS when given.
pub(super) fn question(name: &Name, record_type: RecordType, subnet: Option<IpNet>) -> Message {
    let mut message = Message::new(0, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name.clone(), record_type));
    let mut edns = Edns::new();
    edns.set_max_payload(1_232);
    if let Some(subnet) = subnet {
        edns.options_mut().insert(EdnsOption::Subnet(ClientSubnet::new(subnet.addr(), subnet.prefix_len(), 0)));
    }
    message.edns = Some(edns);
    message
}

/// Asks `url` (a DoH endpoint) one question; the decoded answer.
pub(super) fn ask(url: &str, message: &Message) -> Result<Message, String> {
    let body = message.to_vec().map_err(|e| format!("cannot encode the question: {e}"))?;
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(false).build().into();
    let mut response = agent
        .post(url)
        .header("content-type", "application/dns-message")
        .header("accept", "application/dns-message")
        .send(&body[..])
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
    // ureq refuses a body over the limit with an error, so the limit is the largest DNS message.
    let bytes = response.body_mut().with_config().limit(MAX_MESSAGE).read_to_vec().map_err(|e| format!("{url}: reading the answer: {e}"))?;
    if status != 200 {
        let said: String = String::from_utf8_lossy(&bytes).chars().take(200).filter(|c| !c.is_control()).collect();
        return Err(format!("{url}: HTTP {}: {said}", status.as_u16()));
    }
    if !content_type.starts_with("application/dns-message") {
        return Err(format!("{url}: answered {content_type:?}, not application/dns-message: is this the DoH endpoint?"));
    }
    Message::from_vec(&bytes).map_err(|e| format!("{url}: the answer does not decode: {e}"))
}

/// `edgedns query --remote-url`: the answer in the offline query's layout.
pub(super) fn print(message: &Message) {
    let metadata = &message.metadata;
    println!(";; status: {:?}, aa: {}, ra: {}", metadata.response_code, metadata.authoritative, metadata.recursion_available);
    super::query::print_sections(&message.answers, &message.authorities, &message.additionals);
}

/// A probes file: `[[probe]]` tables, each one question and what must come back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbesFile {
    probe: Vec<ProbeSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeSpec {
    name: String,
    #[serde(rename = "type", default = "default_type")]
    record_type: String,
    #[serde(default)]
    subnet: Option<String>,
    #[serde(default)]
    rcode: Option<String>,
    #[serde(default)]
    answers: Option<Vec<String>>,
    #[serde(default)]
    answers_within: Option<Vec<String>>,
}

fn default_type() -> String {
    "A".to_owned()
}

/// What an answer must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expected {
    /// Exactly these values (any order) for the asked type; none is NODATA.
    Exactly(Vec<String>),
    /// At least one value, each among these (a weighted or failover set answers one of them).
    Within(Vec<String>),
    /// Only the RCODE is checked.
    Any,
}

/// One question and its expected answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) name: Name,
    pub(super) record_type: RecordType,
    pub(super) subnet: Option<IpNet>,
    pub(super) rcode: ResponseCode,
    pub(super) expected: Expected,
}

/// Reads a probes file; errors name the probe (and TOML's line and column).
pub(super) fn probes(path: &Path, text: &str) -> Result<Vec<Probe>, String> {
    let file: ProbesFile = toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    file.probe
        .into_iter()
        .enumerate()
        .map(|(n, spec)| {
            let at = |message: String| format!("{}: probe {} ({}): {message}", path.display(), n + 1, spec.name);
            let mut name = Name::from_utf8(&spec.name).map_err(|e| at(format!("bad name: {e}")))?;
            name.set_fqdn(true);
            let record_type = super::query::record_type(&spec.record_type).map_err(at)?;
            let subnet = match &spec.subnet {
                Some(text) => Some(text.parse::<IpNet>().map_err(|_| at(format!("bad subnet {text:?} (address/prefix)")))?.trunc()),
                None => None,
            };
            let rcode = match &spec.rcode {
                Some(text) => rcode(text).ok_or_else(|| at(format!("unknown rcode {text:?} (NOERROR, NXDOMAIN, SERVFAIL, REFUSED...)")))?,
                None => ResponseCode::NoError,
            };
            let expected = match (spec.answers, spec.answers_within) {
                (Some(_), Some(_)) => return Err(at("give answers or answers_within, not both".to_owned())),
                (Some(values), None) => Expected::Exactly(values),
                (None, Some(values)) if values.is_empty() => return Err(at("answers_within is empty: use answers = [] for no records".to_owned())),
                (None, Some(values)) => Expected::Within(values),
                (None, None) => Expected::Any,
            };
            Ok(Probe { name, record_type, subnet, rcode, expected })
        })
        .collect()
}

fn rcode(text: &str) -> Option<ResponseCode> {
    let code = match text.to_ascii_uppercase().as_str() {
        "NOERROR" => 0,
        "FORMERR" => 1,
        "SERVFAIL" => 2,
        "NXDOMAIN" => 3,
        "NOTIMP" => 4,
        "REFUSED" => 5,
        _ => return None,
    };
    Some(ResponseCode::from_low(code))
}

/// A value as compared: lower case, each word without its trailing dot, so that `10
/// mx.example.com` matches the answer's `10 mx.example.com.`.
fn canonical(value: &str) -> String {
    value.split_whitespace().map(|word| word.strip_suffix('.').unwrap_or(word).to_ascii_lowercase()).collect::<Vec<_>>().join(" ")
}

/// Whether `answer` is what `probe` expects; the difference in words when it is not.
pub(super) fn check(probe: &Probe, answer: &Message) -> Result<(), String> {
    let got_rcode = answer.metadata.response_code;
    let mut got: Vec<String> = answer.answers.iter().filter(|record| record.record_type() == probe.record_type).map(|record| record.data.to_string()).collect();
    got.sort();
    let shown = if got.is_empty() { "no records".to_owned() } else { got.join(", ") };
    if got_rcode != probe.rcode {
        return Err(format!("expected {:?}, got {got_rcode:?} ({shown})", probe.rcode));
    }
    let values: Vec<String> = got.iter().map(|value| canonical(value)).collect();
    match &probe.expected {
        Expected::Any => Ok(()),
        Expected::Exactly(expected) => {
            let mut want: Vec<String> = expected.iter().map(|value| canonical(value)).collect();
            want.sort();
            let mut have = values.clone();
            have.sort();
            if want == have {
                Ok(())
            } else {
                Err(format!("expected {}, got {shown}", if expected.is_empty() { "no records".to_owned() } else { expected.join(", ") }))
            }
        }
        Expected::Within(allowed) => {
            let allowed: Vec<String> = allowed.iter().map(|value| canonical(value)).collect();
            match values.iter().find(|value| !allowed.contains(value)) {
                _ if values.is_empty() => Err(format!("expected one of {}, got no records", allowed.join(", "))),
                Some(stray) => Err(format!("{stray} is not one of {}", allowed.join(", "))),
                None => Ok(()),
            }
        }
    }
}

/// Runs every probe against `url`, printing one line each; an error when any failed.
pub(super) fn run_probes(url: &str, probes: &[Probe]) -> Result<(), String> {
    let mut failed = 0;
    for probe in probes {
        let label = match &probe.subnet {
            Some(subnet) => format!("{} {} (subnet {subnet})", probe.name, probe.record_type),
            None => format!("{} {}", probe.name, probe.record_type),
        };
        let outcome = ask(url, &question(&probe.name, probe.record_type, probe.subnet)).and_then(|answer| check(probe, &answer));
        match outcome {
            Ok(()) => println!("ok    {label}"),
            Err(why) => {
                failed += 1;
                println!("FAIL  {label}: {why}");
            }
        }
    }
    if failed == 0 {
        println!("{} probe(s) answered as expected by {url}", probes.len());
        Ok(())
    } else {
        Err(format!("{failed} of {} probe(s) failed against {url}", probes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, MX};
    use hickory_proto::rr::{RData, Record};

    fn answer(rcode: ResponseCode, records: Vec<Record>) -> Message {
        let mut message = Message::new(0, MessageType::Response, OpCode::Query);
        message.metadata.response_code = rcode;
        message.answers = records;
        message
    }

    fn a(value: &str) -> Record {
        Record::from_rdata(Name::from_ascii("www.example.com.").unwrap(), 300, RData::A(A(value.parse().unwrap())))
    }

    fn probe(text: &str) -> Probe {
        probes(Path::new("probes.toml"), text).unwrap().remove(0)
    }

    #[test]
    fn exact_answers_match_in_any_order_and_nothing_more() {
        let exact = probe("[[probe]]\nname = \"www.example.com\"\nanswers = [\"192.0.2.2\", \"192.0.2.1\"]\n");
        assert_eq!(check(&exact, &answer(ResponseCode::NoError, vec![a("192.0.2.1"), a("192.0.2.2")])), Ok(()));
        assert_eq!(check(&exact, &answer(ResponseCode::NoError, vec![a("192.0.2.1")])), Err("expected 192.0.2.2, 192.0.2.1, got 192.0.2.1".to_owned()));
        let error = check(&exact, &answer(ResponseCode::NXDomain, vec![])).unwrap_err();
        assert_eq!(error, format!("expected {:?}, got {:?} (no records)", ResponseCode::NoError, ResponseCode::NXDomain));
    }

    #[test]
    fn within_accepts_any_subset_but_not_none_or_a_stranger() {
        let within = probe("[[probe]]\nname = \"api.example.com\"\nanswers_within = [\"192.0.2.10\", \"192.0.2.11\"]\n");
        assert_eq!(check(&within, &answer(ResponseCode::NoError, vec![a("192.0.2.11")])), Ok(()));
        assert!(check(&within, &answer(ResponseCode::NoError, vec![a("192.0.2.12")])).unwrap_err().contains("192.0.2.12 is not one of"));
        assert!(check(&within, &answer(ResponseCode::NoError, vec![])).unwrap_err().contains("got no records"));
    }

    #[test]
    fn names_in_values_compare_without_case_or_trailing_dot() {
        let mx = probe("[[probe]]\nname = \"example.com\"\ntype = \"MX\"\nanswers = [\"10 MX.example.com\"]\n");
        let record = Record::from_rdata(Name::from_ascii("example.com.").unwrap(), 300, RData::MX(MX::new(10, Name::from_ascii("mx.example.com.").unwrap())));
        assert_eq!(check(&mx, &answer(ResponseCode::NoError, vec![record])), Ok(()));
    }

    #[test]
    fn rcode_alone_and_nodata() {
        let nx = probe("[[probe]]\nname = \"nope.example.com\"\nrcode = \"nxdomain\"\n");
        assert_eq!(nx.rcode, ResponseCode::NXDomain);
        assert_eq!(check(&nx, &answer(ResponseCode::NXDomain, vec![])), Ok(()));
        let nodata = probe("[[probe]]\nname = \"www.example.com\"\ntype = \"AAAA\"\nanswers = []\n");
        assert_eq!(check(&nodata, &answer(ResponseCode::NoError, vec![])), Ok(()));
        // Records of another type (a CNAME on the way) are not the answer's values.
        assert!(check(&nodata, &answer(ResponseCode::NoError, vec![a("192.0.2.1")])).is_ok());
    }

    #[test]
    fn bad_probes_are_clear_errors() {
        let bad = |text: &str| probes(Path::new("p.toml"), text).unwrap_err();
        assert!(bad("[[probe]]\nname = \"a.example\"\nrcode = \"WHAT\"\n").contains("p.toml: probe 1 (a.example): unknown rcode \"WHAT\""));
        assert!(bad("[[probe]]\nname = \"a.example\"\nanswers = []\nanswers_within = [\"x\"]\n").contains("not both"));
        assert!(bad("[[probe]]\nname = \"a.example\"\ntype = \"NOPE\"\n").contains("unknown type"));
        assert!(bad("[[probe]]\nname = \"a.example\"\nsubnet = \"300.1.1.1/24\"\n").contains("bad subnet"));
        assert!(bad("[[probe]]\nnam = \"a.example\"\n").starts_with("p.toml: "));
    }

    #[test]
    fn endpoints_default_to_dns_query() {
        assert_eq!(endpoint("https://dns.example.com").unwrap(), "https://dns.example.com/dns-query");
        assert_eq!(endpoint("https://dns.example.com/").unwrap(), "https://dns.example.com/dns-query");
        assert_eq!(endpoint("https://dns.example.com/dns-query/v/TOKEN").unwrap(), "https://dns.example.com/dns-query/v/TOKEN");
        assert!(endpoint("ftp://dns.example.com").is_err());
        assert!(endpoint("dns.example.com").is_err());
    }
}
