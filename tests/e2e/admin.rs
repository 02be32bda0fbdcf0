//! The zone admin API through workerd: a zone uploaded, replaced, refused when invalid,
//! deleted and rolled back, each checked by asking over DoH. The stack is shared, so the
//! test holds the `HEALTH` lock (publishing changes what every test sees) and points
//! `snapshot:current` back at the version it found when it is done.

use super::health::admin;
use super::routing::{addresses, answers_within, ask, HEALTH};
use super::*;

fn zone(address: &str) -> String {
    format!("$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A {address}\n")
}

fn upload(address: &str) -> String {
    serde_json::json!({ "zone": zone(address) }).to_string()
}

fn refused(name: &str) -> bool {
    for _ in 0..20 {
        if ask(name, None, None).1.metadata.response_code == ResponseCode::Refused {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}

/// A PUT of a body from a file (too large for a command-line argument); returns the status.
fn put_file(path: &str, token: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let file = post_file(body);
    let data = format!("@{}", file.display());
    let authorization = format!("authorization: Bearer {token}");
    let url = format!("{}{path}", http_base());
    let exchange = curl(&["-X", "PUT", "-H", &authorization, "-H", "content-type: application/json", "--data-binary", &data, &url]);
    let _ = std::fs::remove_file(&file);
    (exchange.status, serde_json::from_slice(&exchange.body).unwrap_or(serde_json::Value::Null))
}

#[test]
fn admin_api_uploads_deletes_and_rolls_back_zones() {
    let _guard = HEALTH.lock().unwrap_or_else(|e| e.into_inner());
    let secret = env("EDGEDNS_ADMIN_TOKEN");
    let token = Some(secret.as_str());
    let (status, json) = admin("PUT", "/admin/zones/admin.test", None, Some(&upload("192.0.2.80")));
    assert_eq!((status, json), (401, serde_json::json!({"error": "unauthorized"})));

    let (status, listing) = admin("GET", "/admin/zones", token, None);
    assert_eq!(status, 200, "{listing}");
    let original = listing["current"].as_str().expect("the stack published zones").to_owned();
    assert!(listing["zones"].as_array().unwrap().iter().any(|zone| zone["apex"] == "example.org."), "{listing}");
    assert!(!listing["zones"].as_array().unwrap().iter().any(|zone| zone["apex"] == "admin.test."), "{listing}");
    assert!(refused("www.admin.test."));

    // A dry run over the old 64 KiB limit: validated, the change listed, nothing published.
    let padded = serde_json::json!({ "zone": format!("{}{}", zone("192.0.2.80"), "; padding to pass 64 KiB\n".repeat(4_000)) }).to_string();
    assert!(padded.len() > 64 * 1024);
    let (status, report) = put_file("/admin/zones/admin.test?dry_run=1", &secret, padded.as_bytes());
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["dry_run"].clone(), report["version"].clone()), (true.into(), serde_json::Value::Null));
    assert_eq!(report["changes"], serde_json::json!(["zone admin.test.: added (4 records, 0 routed record sets)"]));
    assert!(refused("www.admin.test."), "a dry run publishes nothing");
    // Over 5 MiB: 413, from Content-Length, before the body is read.
    let (status, json) = put_file("/admin/zones/admin.test", &secret, &vec![b' '; 5 * 1024 * 1024 + 1]);
    assert_eq!(status, 413, "{json}");

    // Uploaded: it answers, and the listing and history show it.
    let (status, report) = admin("PUT", "/admin/zones/admin.test", token, Some(&upload("192.0.2.80")));
    assert_eq!(status, 200, "{report}");
    let first = report["version"].as_str().unwrap().to_owned();
    assert_eq!(report["previous"], original.as_str());
    assert!(answers_within("www.admin.test.", "192.0.2.80"), "the uploaded zone never answered");
    let (_, listing) = admin("GET", "/admin/zones", token, None);
    assert_eq!(listing["current"], first.as_str());
    assert_eq!(listing["history"][0]["version"], first.as_str());
    let uploaded = listing["zones"].as_array().unwrap().iter().find(|zone| zone["apex"] == "admin.test.").cloned();
    assert_eq!(uploaded.map(|zone| zone["records"].clone()), Some(4.into()), "{listing}");

    // Invalid: 400 with file:line messages, and nothing changes.
    let broken = serde_json::json!({ "zone": format!("{}www CNAME elsewhere.example.\n", zone("192.0.2.81")) }).to_string();
    let (status, json) = admin("PUT", "/admin/zones/admin.test", token, Some(&broken));
    assert_eq!(status, 400, "{json}");
    let details: Vec<&str> = json["details"].as_array().unwrap().iter().filter_map(|d| d.as_str()).collect();
    assert!(details.iter().any(|d| d.starts_with("admin.test.zone:6: ")), "{json}");
    let (status, json) = admin("PUT", "/admin/zones/admin.test", token, Some(r#"{"zone": 5}"#));
    assert!(status == 400 && json["error"].as_str().unwrap().starts_with("zone body:"), "{json}");
    assert_eq!(addresses(&ask("www.admin.test.", None, None).1), ["192.0.2.80"]);
    assert_eq!(admin("GET", "/admin/zones", token, None).1["current"], first.as_str());

    // Replaced, then deleted (an unknown zone is 404).
    let (status, report) = admin("PUT", "/admin/zones/admin.test", token, Some(&upload("192.0.2.81")));
    assert_eq!(status, 200, "{report}");
    let second = report["version"].as_str().unwrap().to_owned();
    assert!(answers_within("www.admin.test.", "192.0.2.81"));
    let (status, json) = admin("DELETE", "/admin/zones/nope.test", token, None);
    assert_eq!(status, 404, "{json}");
    let (status, report) = admin("DELETE", "/admin/zones/admin.test", token, None);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["changes"], serde_json::json!(["zone admin.test.: removed"]));
    assert!(refused("www.admin.test."), "the deleted zone still answers");

    // Rolled back one step: the version before the deletion answers again.
    let (status, json) = admin("POST", "/admin/rollback", token, None);
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["version"], second.as_str());
    assert!(answers_within("www.admin.test.", "192.0.2.81"), "rollback did not bring the zone back");
    let (status, json) = admin("POST", "/admin/rollback", token, Some(r#"{"to": "0-no-such-version"}"#));
    assert_eq!(status, 404, "{json}");

    // Back to what the other tests expect.
    let (status, json) = admin("POST", "/admin/rollback", token, Some(&serde_json::json!({ "to": original }).to_string()));
    assert_eq!(status, 200, "{json}");
    assert!(refused("www.admin.test."));
    assert_eq!(ask("www.example.com.", None, None).1.metadata.response_code, ResponseCode::NoError);
}
