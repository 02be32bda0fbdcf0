//! Private views through workerd: the view's token in the path (curl over HTTP/1.1, kdig over
//! the HTTP/2 front) and the connecting address (`cf-connecting-ip`, which the edge sets and
//! local dev lets a test set), against tests/zones/views/corp/.

use super::*;

const TOKEN: &str = "corp-view-token-0123456789";

fn ask_as(path: &str, name: &str, headers: &[&str]) -> (ResponseCode, Vec<String>) {
    let message = curl_post(&format!("{}{path}", http_base()), &query_bytes(name, RecordType::A, false), headers).message();
    (message.metadata.response_code, message.answers.iter().map(|r| r.data.to_string()).collect())
}

#[test]
fn the_views_token_or_network_shows_its_zones_and_nobody_else_sees_them() {
    let token_path = format!("/dns-query/{TOKEN}");
    assert_eq!(ask_as(&token_path, "www.example.com.", &[]), (ResponseCode::NoError, vec!["10.0.0.80".to_owned()]));
    assert_eq!(ask_as(&token_path, "mail.example.com.", &[]).0, ResponseCode::NXDomain, "no fall-through to the public zone");
    let inside = ["-H", "cf-connecting-ip: 198.51.100.7"];
    assert_eq!(ask_as("/dns-query", "wiki.corp.internal.", &inside), (ResponseCode::NoError, vec!["10.0.0.90".to_owned()]));
    // Everyone else: the public zone's answer, or REFUSED for a private-only zone.
    let outside = ["-H", "cf-connecting-ip: 203.0.113.9"];
    assert_eq!(ask_as("/dns-query", "www.example.com.", &outside), (ResponseCode::NoError, vec!["192.0.2.10".to_owned()]));
    assert_eq!(ask_as("/dns-query", "wiki.corp.internal.", &outside).0, ResponseCode::Refused);
    assert_eq!(ask_as("/dns-query/not-the-token", "wiki.corp.internal.", &outside).0, ResponseCode::Refused);
    let authorization = admin_authorization();
    let explain =
        curl(&["-H", "cf-connecting-ip: 203.0.113.9", "-H", &authorization, &format!("{}/explain?name=www.example.com&address=198.51.100.7", http_base())]);
    let text = String::from_utf8_lossy(&explain.body);
    assert!(text.contains("192.0.2.10") && !text.contains("10.0.0.80"), "explain's address= opens nothing: {text}");
    // DoH clients that take a path: kdig through the HTTP/2 front.
    let (host, port) = h2_address();
    let output = Command::new("kdig")
        .args([format!("@{host}"), "-p".into(), port, format!("+https=/dns-query/{TOKEN}"), "+short".into(), "wiki.corp.internal".into(), "A".into()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "10.0.0.90");
}

/// The CORS and caching headers of a JSON API answer, and of a wire-format one, for `name` as
/// the client at `address` sees them.
fn sharing(name: &str, address: &str) -> Vec<(Option<String>, Option<String>)> {
    let client = format!("cf-connecting-ip: {address}");
    let json = curl(&["-H", &client, "-H", "origin: https://intranet-visitor.example", &format!("{}/resolve?name={name}&type=A", http_base())]);
    let wire = curl_post(&format!("{}/dns-query", http_base()), &query_bytes(name, RecordType::A, false), &["-H", &client]);
    [json, wire]
        .iter()
        .map(|exchange| (exchange.header("access-control-allow-origin").map(str::to_owned), exchange.header("cache-control").map(str::to_owned)))
        .collect()
}

/// An answer from a private view, given because of where the client connects from, must not
/// be readable by a web page of another origin the client happens to visit (it would read the
/// private zone through the client's network position), nor kept by shared caches; everyone
/// else's headers are those of any public answer, so they say nothing about the view.
#[test]
fn view_answers_are_for_the_client_only_and_outsiders_see_ordinary_headers() {
    let private = (None, Some("private, max-age=300".to_owned()));
    let public = (Some("*".to_owned()), Some("max-age=300".to_owned()));
    assert_eq!(sharing("wiki.corp.internal.", "198.51.100.7"), vec![private.clone(), private.clone()]);
    assert_eq!(sharing("www.example.com.", "198.51.100.7"), vec![private.clone(), private]);
    assert_eq!(sharing("www.conformance.test.", "198.51.100.7"), vec![public.clone(), public.clone()], "a public zone's answer is public");
    assert_eq!(sharing("www.example.com.", "203.0.113.9"), vec![public.clone(), public.clone()]);
    // The names of the headers an outsider gets are those of any other public answer.
    let names = |name: &str| {
        let exchange = curl(&["-H", "cf-connecting-ip: 203.0.113.9", &format!("{}/resolve?name={name}&type=A", http_base())]);
        let mut names: Vec<String> = exchange.headers.keys().filter(|name| !matches!(name.as_str(), "date" | "content-length")).cloned().collect();
        names.sort();
        names
    };
    assert_eq!(names("www.example.com"), names("www.conformance.test"));
}

/// The view's token is in the request path: no line the Worker logs carries it (wrangler's own
/// request log lines, like the platform's request logs at the edge, do show URLs).
#[test]
fn the_view_token_is_in_no_line_the_worker_logs() {
    assert_eq!(ask_as(&format!("/dns-query/{TOKEN}"), "www.example.com.", &[]).0, ResponseCode::NoError);
    let exchange = curl(&[&format!("{}/resolve/{TOKEN}?name=www.example.com&type=A", http_base())]);
    assert_eq!(exchange.status, 200);
    let log = std::path::Path::new(&env("EDGEDNS_STATE")).with_file_name("test-wrangler.log");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|error| panic!("{}: {error}", log.display()));
    let worker_lines: Vec<&str> = text.lines().filter(|line| line.contains("edgedns:")).collect();
    assert!(!worker_lines.is_empty(), "the Worker logged nothing at all: is {} its log?", log.display());
    assert!(!worker_lines.iter().any(|line| line.contains(TOKEN)), "{worker_lines:#?}");
}
