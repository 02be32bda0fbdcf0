//! The operator console (`/console`) in headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol by the pinned npm client `playwright-core`: tests/e2e/console.mjs), against
//! a workerd of its own (port 18861) over a writable disk KV holding two published versions:
//! `zones/` (v1), then `zones/` with `console.test` added (v2, current), each published by the
//! sequence the CLI and the admin API publish with (shards, manifest, sources, pointer,
//! history). The browser signs in with the token, sees the example zones and the history,
//! compares v1 with v2, draws `geo.app.example.org` with the path for a chosen country
//! highlighted, forces a check down (the test then asks over DoH, wire format, and sees the
//! answer change), sees those queries counted in the Traffic view (the isolate's counters),
//! sees a blocked query counted by list and rule in the Firewall view beside a subscription
//! whose last download failed, edits console.test in the zone editor (a deliberate error shown
//! with its line, fixed, checked by a dry run, published after the confirmation: the test
//! then asks over DoH and sees the new name), and rolls back to v1 through the confirmation
//! dialog.
//!
//! The Worker runs in resolver mode (an upstream nobody answers on: every name asked is
//! hosted or blocked) with two subscriptions whose state is written to KV as the scheduled
//! handler writes it (`firewall:subscriptions` and each version's list), so no scheduled run
//! probes the zones' health checks.
//!
//! Screenshots of each view are written to `EDGEDNS_CONSOLE_SCREENSHOTS` when set (the
//! repository's are in docs/console/: `EDGEDNS_CONSOLE_SCREENSHOTS=$PWD/docs/console`),
//! otherwise to the test's scratch directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::routing::addresses;
use super::workerd::Launch;
use super::*;

use edgedns::publish::{self, Retention, Store, StoreError};
use edgedns::zone::compile::{compile_all, SourceFile};

const PORT: u16 = 18861;
/// Nothing listens here: the resolver's upstream and the subscriptions' URLs, never asked.
const PORT_UNUSED: u16 = 18900;
const TOKEN: &str = "console-e2e-token-0123456789";

/// The zone v2 adds: a failover set whose primary follows a check nothing probes (so it is
/// healthy until forced down), answering 192.0.2.1, else the standby's 192.0.2.2.
const ZONE: &str = "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n";
const ROUTES: &str = r#"[health_checks.console-primary]
type = "tcp"
host = "192.0.2.1"
port = 443

[[records]]
name = "service"
type = "A"
ttl = 30

[records.failover.primary]
label = "primary"
health_check = "console-primary"
values = ["192.0.2.1"]

[records.failover.secondary]
label = "standby"
values = ["192.0.2.2"]
"#;

/// The subscriptions' KV as the scheduled handler leaves it (`now` in seconds): `ads.txt`
/// fetched five minutes ago and fine; `trackers.txt` failing twice in a row since its last good
/// download, which keeps serving.
fn write_subscriptions(kv: &Path, now: u64) -> String {
    use edgedns::resolver::firewall::{bundle, Format};
    let lists = [
        ("ads.txt", "1765000000-ads", Format::Adblock, "! ads\n||ads.example^\n"),
        ("trackers.txt", "1765000000-trackers", Format::Domains, "tracker.example\n"),
    ];
    for (name, version, format, text) in lists {
        std::fs::write(kv.join(format!("firewall:{version}")), bundle::encode(&[bundle::List { name: Some(name), format, text }])).unwrap();
    }
    let url = |name: &str| format!("http://127.0.0.1:{PORT_UNUSED}/{name}");
    let status = serde_json::json!({"lists": {
        "ads.txt": {"url": url("ads.txt"), "version": "1765000000-ads", "format": "adblock", "rules": 1,
            "checked_at": now - 300, "fresh_at": now - 300, "changed_at": now - 7200, "failures": 0},
        "trackers.txt": {"url": url("trackers.txt"), "version": "1765000000-trackers", "format": "domains", "rules": 1,
            "checked_at": now - 60, "fresh_at": now - 3600, "changed_at": now - 7200, "error": "HTTP status 503", "failures": 2},
    }});
    std::fs::write(kv.join(edgedns::resolver::subscription::STATUS_KEY), status.to_string()).unwrap();
    serde_json::json!({
        "ads.txt": {"url": url("ads.txt"), "refresh_seconds": 3600},
        "trackers.txt": {"url": url("trackers.txt"), "format": "domains", "refresh_seconds": 21600},
    })
    .to_string()
}

/// workerd's disk KV as a publish store: one file per key.
struct DirStore(PathBuf);

impl Store for DirStore {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StoreError> {
        Ok(keys.iter().map(|key| std::fs::read_to_string(self.0.join(key)).ok()).collect())
    }

    async fn put_many(&self, entries: &[(String, String)]) -> Result<(), StoreError> {
        for (key, value) in entries {
            std::fs::write(self.0.join(key), value).map_err(|e| StoreError(format!("{key}: {e}")))?;
        }
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            let _ = std::fs::remove_file(self.0.join(key));
        }
        Ok(())
    }
}

/// The sources in `dir` as a publish stores them (`zones/example.com.zone`, ...).
fn sources_in(dir: &str) -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".zone") || name.ends_with(".routes.toml") || name == "delegation-sets.toml"
        })
        .map(|path| SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Publishes `sources` into `kv` at `now` (seconds) and returns the version.
fn publish_into(kv: &Path, sources: &[SourceFile], now: u64) -> String {
    let catalog = compile_all(sources).unwrap_or_else(|errors| panic!("{errors:?}"));
    let built = edgedns::snapshot::build(&catalog, edgedns::snapshot::DEFAULT_SHARD_BYTES, now).unwrap();
    let report = publish::block_on(publish::publish(&DirStore(kv.to_owned()), &built, sources, now, &Retention::DEFAULT)).unwrap();
    report.version
}

/// The A records the Worker answers for `name` over DoH (POST, wire format).
fn doh_a(name: &str) -> Vec<String> {
    let exchange = curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes(name, RecordType::A, false), &[]);
    addresses(&exchange.message())
}

#[test]
fn the_console_signs_in_draws_policies_forces_checks_and_rolls_back_in_chromium() {
    let dir = scratch("console");
    let kv = dir.join("kv");
    std::fs::create_dir_all(&kv).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let examples = sources_in("zones");
    let v1 = publish_into(&kv, &examples, now - 120);
    let mut with_console = examples.clone();
    with_console.push(SourceFile { path: "console.test.zone".into(), text: ZONE.into() });
    with_console.push(SourceFile { path: "console.test.routes.toml".into(), text: ROUTES.into() });
    let v2 = publish_into(&kv, &with_console, now - 60);
    assert_ne!(v1, v2);

    let subscriptions = write_subscriptions(&kv, now);
    let workerd = Launch::new(&dir, PORT)
        .writable()
        .var("ADMIN_TOKEN", TOKEN)
        .var("UPSTREAMS", &format!("http://127.0.0.1:{PORT_UNUSED}/dns-query"))
        .var("SUBSCRIPTIONS", &subscriptions)
        .var("UPSTREAM_TIMEOUT_MS", "300")
        .clean_up()
        .start();
    assert_eq!(doh_a("service.console.test."), ["192.0.2.1"], "the primary answers while its check is up");
    // Counted by the isolate for the Traffic view (which expects these four queries in all).
    assert_eq!(
        curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes("nope.console.test.", RecordType::A, false), &[])
            .message()
            .metadata
            .response_code,
        hickory_proto::op::ResponseCode::NXDomain
    );
    assert_eq!(doh_a("www.example.com."), ["192.0.2.10"]);

    let screenshots = std::env::var("EDGEDNS_CONSOLE_SCREENSHOTS").map(PathBuf::from).unwrap_or_else(|_| dir.join("screenshots"));
    std::fs::create_dir_all(&screenshots).unwrap();
    let mut child = Command::new("node")
        .arg("tests/e2e/console.mjs")
        .env("CONSOLE_URL", format!("http://127.0.0.1:{PORT}"))
        .env("CONSOLE_TOKEN", TOKEN)
        .env("CONSOLE_V1", &v1)
        .env("CONSOLE_V2", &v2)
        .env("CONSOLE_SCREENSHOTS", &screenshots)
        .env("CONSOLE_PROFILE", dir.join("chromium-profile"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut steps = Vec::new();
    let mut answered_while_down = None;
    let mut blocked = None;
    let (mut before_edit, mut after_edit) = (None, None);
    for line in stdout.lines() {
        let line = line.unwrap();
        println!("console.mjs: {line}");
        if line == "FORCED-DOWN" {
            // The browser forced the check down: the same Worker answers DoH from the standby.
            answered_while_down = Some(doh_a("service.console.test."));
            writeln!(stdin, "continue").unwrap();
        }
        if line == "EDIT" {
            // Before the editor publishes: no such name.
            let message = curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes("www.console.test.", RecordType::A, false), &[]).message();
            before_edit = Some(message.metadata.response_code);
            writeln!(stdin, "continue").unwrap();
        }
        if line == "PUBLISHED" {
            after_edit = Some(doh_a("www.console.test."));
            writeln!(stdin, "continue").unwrap();
        }
        if line == "BLOCK" {
            // A query the subscribed ads.txt blocks (the lists load in the background).
            let mut code = None;
            for _ in 0..40 {
                let message = curl_post(&format!("http://127.0.0.1:{PORT}/dns-query"), &query_bytes("www.ads.example.", RecordType::A, false), &[]).message();
                code = Some(message.metadata.response_code);
                if code == Some(hickory_proto::op::ResponseCode::NXDomain) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            blocked = code;
            writeln!(stdin, "continue").unwrap();
        }
        steps.push(line);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the browser script failed after: {steps:?}\n{}", workerd.log());
    assert_eq!(answered_while_down.as_deref(), Some(&["192.0.2.2".to_owned()][..]), "the DoH answer changed with the override");
    assert_eq!(blocked, Some(hickory_proto::op::ResponseCode::NXDomain), "the subscribed list blocks: {}", workerd.log());
    assert_eq!(before_edit, Some(hickory_proto::op::ResponseCode::NXDomain), "www.console.test. is not there before the edit");
    assert_eq!(after_edit.as_deref(), Some(&["192.0.2.7".to_owned()][..]), "the DoH answer follows the edit the console published");
    assert!(steps.iter().any(|step| step == "DONE"), "{steps:?}");

    // What the browser did is what the admin API now says: v1 is current again.
    let listing = curl(&["-H", &format!("authorization: Bearer {TOKEN}"), &format!("http://127.0.0.1:{PORT}/admin/zones")]);
    let listing: serde_json::Value = serde_json::from_slice(&listing.body).unwrap();
    assert_eq!(listing["current"], v1.as_str());
    for shot in [
        "login.png",
        "zones.png",
        "policies.png",
        "health.png",
        "traffic.png",
        "firewall.png",
        "editor.png",
        "editor-checked.png",
        "rollback.png",
        "phone.png",
        "traffic-phone.png",
        "firewall-phone.png",
    ] {
        let bytes = std::fs::read(screenshots.join(shot)).unwrap_or_else(|e| panic!("{shot}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
}
