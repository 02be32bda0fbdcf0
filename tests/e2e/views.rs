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
    let explain = curl(&["-H", "cf-connecting-ip: 203.0.113.9", &format!("{}/explain?name=www.example.com&address=198.51.100.7", http_base())]);
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
