//! The CLI's remote commands (`--remote`) as a user runs them against their Cloudflare account:
//! through the real pinned wrangler (node_modules/.bin/wrangler), whose API base URL
//! (`CLOUDFLARE_API_BASE_URL`) points at a local stand-in of the Workers KV API backed by files
//! (tests/support/kv_api.rs). After each command the tests read what the namespace holds, as
//! the deployed Worker would. Failures too: a 429 in the middle of a publish, an expired token,
//! a value over KV's 25 MiB limit; a publish cut short anywhere leaves the previous version
//! serving.

#[path = "support/kv_api.rs"]
mod kv_api;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use edgedns::snapshot::{self, Manifest};
use kv_api::KvApi;

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const NAMESPACE: &str = "5e1ec7ab1e0000000000000000000001";
const TOKEN: &str = "test-token-remote";

/// One user's account: the stand-in, a wrangler configuration naming the namespace, and a
/// scratch directory (wrangler's home and cache, the tests' files).
struct Account {
    api: KvApi,
    dir: PathBuf,
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Account {
    fn new(name: &str) -> Account {
        let dir = std::env::temp_dir().join(format!("edgedns-remote-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).unwrap();
        let config = format!(
            "name = \"edgedns\"\nmain = \"build/index.js\"\ncompatibility_date = \"2026-05-01\"\n\n\
             [[kv_namespaces]]\nbinding = \"ZONES\"\nid = \"{NAMESPACE}\"\n"
        );
        std::fs::write(dir.join("wrangler.toml"), config).unwrap();
        let api = KvApi::start(&dir.join("kv"), ACCOUNT, TOKEN);
        Account { api, dir }
    }

    /// Runs `edgedns <args> --remote` (the target options after `args`); success and output.
    fn edgedns(&self, args: &[&str]) -> (bool, String) {
        self.edgedns_with_token(args, TOKEN)
    }

    fn edgedns_with_token(&self, args: &[&str], token: &str) -> (bool, String) {
        let wrangler = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/wrangler");
        assert!(wrangler.exists(), "{} is missing: run `npm ci` (make setup)", wrangler.display());
        let home = self.dir.join("home");
        let mut command = Command::new(env!("CARGO_BIN_EXE_edgedns"));
        command.args(args).args(["--remote", "--config"]).arg(self.dir.join("wrangler.toml")).arg("--wrangler").arg(&wrangler);
        // Nothing from the environment that would send wrangler elsewhere.
        for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "CLOUDFLARE_API_KEY", "CLOUDFLARE_EMAIL", "CF_API_TOKEN", "CF_ACCOUNT_ID"] {
            command.env_remove(proxy);
        }
        command
            .env("CLOUDFLARE_API_BASE_URL", self.api.base_url())
            .env("CLOUDFLARE_API_TOKEN", token)
            .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            // wrangler caches the account under node_modules/.cache, logs under $HOME.
            .env("WRANGLER_CACHE_DIR", home.join("cache"))
            .env("WRANGLER_LOG_PATH", home.join("logs"))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            // wrangler's update check (on errors) asks the npm registry: the stand-in answers.
            .env("npm_config_registry", format!("{}/npm/", self.api.base_url()))
            .env("TMPDIR", &home)
            .env("CI", "true")
            .env("EDGEDNS_QUIET", "1");
        let output = command.output().expect("the CLI runs");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    /// What the namespace holds.
    fn contents(&self) -> BTreeMap<String, Vec<u8>> {
        self.api.contents(NAMESPACE)
    }

    /// A value, decoded as the Worker reads it ([`snapshot::from_text`]).
    fn value(&self, key: &str) -> Option<Vec<u8>> {
        self.api.value(NAMESPACE, key).map(snapshot::from_text)
    }

    /// The version `snapshot:current` names.
    fn current(&self) -> Option<String> {
        self.value(snapshot::CURRENT_KEY).map(|bytes| Manifest::decode(&bytes).expect("snapshot:current is a manifest").version)
    }

    /// A scratch file.
    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// A one-zone directory whose SOA serial (and so version) is `serial`.
    fn zone(&self, serial: u32) -> String {
        let text = format!("$TTL 60\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.{serial}\nwww A 198.51.100.{serial}\n");
        self.file(&format!("zones-{serial}/example.test.zone"), text.as_bytes()).parent().unwrap().display().to_string()
    }
}

/// The version a publish printed (`published <version>: ...`).
fn published(text: &str) -> String {
    let line = text.lines().find(|line| line.starts_with("published ")).unwrap_or_else(|| panic!("no published line: {text}"));
    line.trim_start_matches("published ").split(':').next().unwrap().to_owned()
}

/// The hash half of a version (`<unix seconds>-<hash>`): equal for equal content.
fn content_of(version: &str) -> &str {
    version.split_once('-').map(|(_, hash)| hash).unwrap_or(version)
}

#[test]
fn publish_writes_what_compile_kv_dir_writes_and_diff_then_says_no_changes() {
    let account = Account::new("publish");
    let (ok, text) = account.edgedns(&["diff", "zones"]);
    assert!(ok, "{text}");
    assert!(text.contains("nothing published yet (remote KV binding ZONES)"), "{text}");

    let (ok, text) = account.edgedns(&["publish", "zones"]);
    assert!(ok, "{text}");
    let version = published(&text);
    assert!(text.contains("to remote KV binding ZONES"), "{text}");

    // What `compile --kv-dir` says publishing writes, and what the account holds now.
    let kv_dir = account.dir.join("kv-dir");
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(["compile", "zones", "--kv-dir"]).arg(&kv_dir).env("EDGEDNS_QUIET", "1").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stored = account.contents();
    let mut expected_keys = 0;
    for entry in std::fs::read_dir(&kv_dir).unwrap() {
        let entry = entry.unwrap();
        let key = entry.file_name().to_string_lossy().into_owned();
        let compiled = std::fs::read(entry.path()).unwrap();
        expected_keys += 1;
        // compile builds at time 0: the same content under this publish's version.
        let (_, compiled_version) = key.split_once(':').unwrap();
        let compiled_version = compiled_version.split('.').next().unwrap();
        let remote_key = if key == snapshot::CURRENT_KEY { key.clone() } else { key.replace(compiled_version, &version) };
        let held = stored.get(&remote_key).unwrap_or_else(|| panic!("{remote_key} is missing remotely; held: {:?}", stored.keys()));
        if key.contains('.') {
            assert!(held == &compiled, "shard {remote_key} differs from compile's {key}");
        } else {
            let (held, compiled) = (Manifest::decode(&snapshot::from_text(held.clone())).unwrap(), Manifest::decode(&snapshot::from_text(compiled)).unwrap());
            assert_eq!(content_of(&held.version), content_of(&compiled.version), "{remote_key}");
            assert_eq!(held.shards(), compiled.shards(), "{remote_key}");
            assert_eq!(held.public_zones(), compiled.public_zones(), "{remote_key}");
        }
    }
    // Beside them: the sources (for the admin API's edits) and the history.
    assert!(stored.contains_key(&snapshot::sources_key(&version)), "{:?}", stored.keys());
    assert!(stored.contains_key(edgedns::publish::HISTORY_KEY), "{:?}", stored.keys());
    assert_eq!(stored.len(), expected_keys + 2, "{:?}", stored.keys());
    assert_eq!(account.current().as_deref(), Some(version.as_str()));

    let (ok, text) = account.edgedns(&["diff", "zones"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("against snapshot {version} (remote KV binding ZONES)")), "{text}");
    assert!(text.trim_end().ends_with("no changes"), "{text}");
}

#[test]
fn a_second_publish_then_rollback_serve_the_versions_in_turn() {
    let account = Account::new("rollback");
    let (ok, text) = account.edgedns(&["versions"]);
    assert!(ok && text.contains("nothing published yet"), "{text}");
    let (ok, text) = account.edgedns(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let first = published(&text);
    let (ok, text) = account.edgedns(&["diff", &account.zone(2)]);
    assert!(ok, "{text}");
    assert!(text.contains("198.51.100.2") && !text.contains("no changes"), "{text}");
    let (ok, text) = account.edgedns(&["publish", &account.zone(2)]);
    assert!(ok, "{text}");
    let second = published(&text);
    assert_ne!(first, second);
    assert_eq!(account.current().as_deref(), Some(second.as_str()));

    let (ok, text) = account.edgedns(&["versions"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("* {second}")) && text.contains(&format!("  {first}")), "{text}");

    let (ok, text) = account.edgedns(&["rollback"]);
    assert!(ok, "{text}");
    assert!(text.contains(&first), "{text}");
    assert_eq!(account.current().as_deref(), Some(first.as_str()));
    let (ok, text) = account.edgedns(&["diff", &account.zone(1)]);
    assert!(ok && text.trim_end().ends_with("no changes"), "{text}");

    let (ok, text) = account.edgedns(&["rollback", "--to", &second]);
    assert!(ok, "{text}");
    assert_eq!(account.current().as_deref(), Some(second.as_str()));
}
