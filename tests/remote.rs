//! The CLI's remote commands (`--remote`) as a user runs them against their Cloudflare account:
//! through the real pinned wrangler (node_modules/.bin/wrangler), whose API base URL
//! (`CLOUDFLARE_API_BASE_URL`) points at a local stand-in of the Workers KV API backed by files
//! (tests/support/cloudflare_api.rs). After each command the tests read what the namespace holds, as
//! the deployed Worker would. Failures too: a 429 in the middle of a publish, an expired token,
//! a value over KV's 25 MiB limit; a publish cut short anywhere leaves the previous version
//! serving.

#[path = "support/cloudflare_api.rs"]
mod cloudflare_api;

#[path = "remote/deploy.rs"]
mod deploy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cloudflare_api::CloudflareApi;
use edgedns::snapshot::{self, Manifest};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const NAMESPACE: &str = "5e1ec7ab1e0000000000000000000001";
/// The namespaces of the configuration's `[env.staging]` and `[env.production]`.
const STAGING_NAMESPACE: &str = "5e1ec7ab1e0000000000000000000002";
const PRODUCTION_NAMESPACE: &str = "5e1ec7ab1e0000000000000000000003";
const TOKEN: &str = "test-token-remote";

/// One user's account: the stand-in, a wrangler configuration naming the namespace, and a
/// scratch directory (wrangler's home and cache, the tests' files).
struct Account {
    api: CloudflareApi,
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
        // The Worker `make worker` built (wrangler deploy uploads it; nothing rebuilds it).
        let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("build/index.js");
        let config = format!(
            "name = \"edgedns\"\nmain = \"{}\"\ncompatibility_date = \"2026-05-01\"\n\n\
             [[kv_namespaces]]\nbinding = \"ZONES\"\nid = \"{NAMESPACE}\"\n\n\
             [triggers]\ncrons = [\"* * * * *\"]\n\n\
             [env.staging]\nname = \"edgedns-staging\"\n\n\
             [[env.staging.kv_namespaces]]\nbinding = \"ZONES\"\nid = \"{STAGING_NAMESPACE}\"\n\n\
             [[env.staging.ratelimits]]\nname = \"QUERY_RATE_LIMITER\"\nnamespace_id = \"53011\"\nsimple = {{ limit = 1000, period = 10 }}\n\n\
             [env.production]\nname = \"edgedns-production\"\n\n\
             [[env.production.kv_namespaces]]\nbinding = \"ZONES\"\nid = \"{PRODUCTION_NAMESPACE}\"\n",
            main.display()
        );
        std::fs::write(dir.join("wrangler.toml"), config).unwrap();
        let api = CloudflareApi::start(&dir.join("kv"), ACCOUNT, TOKEN);
        Account { api, dir }
    }

    /// Runs `edgedns <args> --remote` (the target options after `args`); success and output.
    fn edgedns(&self, args: &[&str]) -> (bool, String) {
        self.edgedns_with_token(args, TOKEN)
    }

    fn edgedns_with_token(&self, args: &[&str], token: &str) -> (bool, String) {
        let mut command = self.command(token);
        command.args(args).args(["--remote", "--config"]).arg(self.dir.join("wrangler.toml")).arg("--wrangler").arg(wrangler());
        run(command)
    }

    /// The CLI with the account's environment (the stand-in's URL, `token`, a scratch home), no
    /// arguments yet.
    fn command(&self, token: &str) -> Command {
        let home = self.dir.join("home");
        let mut command = Command::new(env!("CARGO_BIN_EXE_edgedns"));
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
            // wrangler's update check (after an error) asks the npm registry rc("npm") finds
            // (`npm_registry`, not `npm_config_registry`): the stand-in answers, not npmjs.org.
            .env("npm_registry", format!("{}/npm/", self.api.base_url()))
            .env("TMPDIR", &home)
            .env("CI", "true")
            .env("EDGEDNS_QUIET", "1");
        command
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

/// A file of the repository, as a path argument.
fn repository_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name).display().to_string()
}

/// The pinned wrangler.
fn wrangler() -> PathBuf {
    let wrangler = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/wrangler");
    assert!(wrangler.exists(), "{} is missing: run `npm ci` (make setup)", wrangler.display());
    wrangler
}

/// Runs a command to its end: success, and stdout then stderr.
fn run(mut command: Command) -> (bool, String) {
    let output = command.output().expect("the CLI runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
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

#[test]
fn a_rate_limited_publish_leaves_the_previous_version_serving() {
    let account = Account::new("rate-limited");
    let (ok, text) = account.edgedns(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let first = published(&text);
    // A publish's requests: 1 the pointer and history, 2 the version's keys, 3 the pointer.
    // A 429 on the version's keys, then on the pointer: each time nothing readers see changed.
    for step in [2, 3] {
        let before = account.api.requests();
        account.api.rate_limit_request(before + step);
        let (ok, text) = account.edgedns(&["publish", &account.zone(2)]);
        assert!(!ok, "{text}");
        assert!(text.contains("[code: 971]"), "{text}");
        assert!(text.contains("the Cloudflare API is rate limiting"), "{text}");
        assert!(text.contains("publish stopped before snapshot:current named"), "{text}");
        assert_eq!(account.current().as_deref(), Some(first.as_str()), "{text}");
        assert_eq!(account.api.requests(), before + step, "nothing after the refused request: {:?}", account.api.log());
    }
    // Publishing again completes it.
    let (ok, text) = account.edgedns(&["publish", &account.zone(2)]);
    assert!(ok, "{text}");
    assert_eq!(account.current(), Some(published(&text)));
}

#[test]
fn an_expired_token_is_a_clear_error_and_nothing_is_written() {
    let account = Account::new("expired");
    let (ok, text) = account.edgedns(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let before = account.contents();
    account.api.expire_token();
    let (ok, text) = account.edgedns(&["publish", &account.zone(2)]);
    assert!(!ok, "{text}");
    assert!(text.contains("Authentication error [code: 10000]"), "{text}");
    assert!(text.contains("CLOUDFLARE_API_TOKEN"), "the error says which token: {text}");
    assert_eq!(account.contents(), before);
    // A token the API does not know: the same.
    let (ok, text) = account.edgedns_with_token(&["rollback"], "not-a-token");
    assert!(!ok && text.contains("Authentication error"), "{text}");
    assert_eq!(account.contents(), before);
}

#[test]
fn a_shard_over_the_value_limit_is_refused_before_anything_is_written() {
    let account = Account::new("oversize");
    // About 28 MB of TXT records (1 KB each, at distinct names), in shards of up to 20 MiB:
    // a 20 MiB shard is over 25 MiB once stored as text (base64).
    let mut zone = String::from("$TTL 60\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n");
    let strings = format!("\"{}\" ", "x".repeat(250)).repeat(4);
    for n in 0..28_000 {
        zone.push_str(&format!("h{n} TXT {strings}\n"));
    }
    let path = account.file("big/big.test.zone", zone.as_bytes());
    let (ok, text) = account.edgedns(&["publish", path.to_str().unwrap(), "--shard-kib", "20480"]);
    assert!(!ok, "{text}");
    assert!(text.contains("over KV's 25 MiB value limit") && text.contains("nothing was written"), "{text}");
    assert!(account.contents().is_empty(), "{:?}", account.contents().keys());
}

#[test]
fn health_overrides_firewall_lists_and_geoip_tables_publish_remotely() {
    let account = Account::new("others");
    let (ok, text) = account.edgedns(&["publish", "zones"]);
    assert!(ok, "{text}");

    // Health: nothing measured or overridden yet (both keys missing), then one override.
    let (ok, text) = account.edgedns(&["health", "override", "site-a", "down", "--reason", "maintenance"]);
    assert!(ok, "{text}");
    assert!(text.contains("overrides now:") && text.contains("site-a"), "{text}");
    let overrides = String::from_utf8(account.value(edgedns::health::OVERRIDES_KEY).expect("health:overrides written")).unwrap();
    assert!(overrides.contains("site-a") && overrides.contains("maintenance"), "{overrides}");
    let measured = String::from_utf8(account.value(edgedns::health::HEALTH_KEY).expect("health:current carries the overrides")).unwrap();
    assert!(measured.contains("maintenance"), "{measured}");
    let (ok, text) = account.edgedns(&["health", "status"]);
    assert!(ok && text.contains("maintenance"), "{text}");
    let (ok, text) = account.edgedns(&["health", "clear", "site-a"]);
    assert!(ok, "{text}");
    let overrides = String::from_utf8(account.value(edgedns::health::OVERRIDES_KEY).unwrap()).unwrap();
    assert!(!overrides.contains("site-a"), "{overrides}");

    // A firewall list: compiled under its version, then the pointer.
    let rules = account.file("firewall.txt", b"block ads.example nxdomain\nallow *.good.example\n");
    let (ok, text) = account.edgedns(&["firewall", "publish", rules.to_str().unwrap()]);
    assert!(ok, "{text}");
    let version = String::from_utf8(account.value(edgedns::resolver::firewall::CURRENT_KEY).expect("firewall:current")).unwrap();
    assert!(text.contains(&format!("published firewall {version}: 2 rules")), "{text}");
    // Stored compiled, read back as the Worker reads it.
    let stored = account.value(&edgedns::resolver::firewall::version_key(&version)).expect("the compiled firewall");
    assert!(stored.starts_with(edgedns::resolver::firewall::compiled::MAGIC));
    assert_eq!(edgedns::resolver::firewall::Firewall::from_published(stored).map(|firewall| firewall.len()), Ok(2));

    // GeoIP tables (binary, through `kv key put`): stored byte for byte.
    let fixture = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipdb").join(name).display().to_string();
    let (country, asn) = (account.dir.join("country.bin"), account.dir.join("asn.bin"));
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns"))
        .args(["geoip", "build", "--country-v4", &fixture("country-ipv4.csv"), "--country-v6", &fixture("country-ipv6.csv")])
        .args(["--asn-v4", &fixture("asn-ipv4.csv"), "--asn-v6", &fixture("asn-ipv6.csv"), "-o"])
        .arg(&country)
        .arg("--asn-output")
        .arg(&asn)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (ok, text) = account.edgedns(&["geoip", "publish", "--country", country.to_str().unwrap(), "--asn", asn.to_str().unwrap()]);
    assert!(ok, "{text}");
    let version = String::from_utf8(account.value(edgedns::geo::GEOIP_CURRENT_KEY).expect("geoip:current")).unwrap();
    assert!(text.contains(&format!("published GeoIP {version} (2 table(s))")), "{text}");
    assert_eq!(account.api.value(NAMESPACE, &edgedns::geo::geoip_key("country", &version)), Some(std::fs::read(&country).unwrap()));
    assert_eq!(account.api.value(NAMESPACE, &edgedns::geo::geoip_key("asn", &version)), Some(std::fs::read(&asn).unwrap()));
}

/// Every key the manifest `version` names is in the namespace (a reader following the pointer
/// finds all of it).
fn complete(account: &Account, version: &str) -> bool {
    let Some(manifest) = account.value(&snapshot::version_key(version)) else { return false };
    let manifest = Manifest::decode(&manifest).unwrap();
    (0..manifest.shards().len()).all(|n| account.api.value(NAMESPACE, &snapshot::shard_key(version, n)).is_some())
}

#[test]
fn a_publish_interrupted_at_any_request_leaves_a_complete_version_serving() {
    let account = Account::new("interrupted");
    // About 1,200 shards of one name each: wrangler writes them 1,000 a request.
    let zone = |serial: u32| {
        let mut text = format!("$TTL 60\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n");
        for n in 0..1_200 {
            text.push_str(&format!("h{n} TXT \"{serial}\" {}\n", format!("\"{}\" ", "y".repeat(250)).repeat(4)));
        }
        account.file(&format!("many-{serial}/many.test.zone"), text.as_bytes()).display().to_string()
    };
    let publish = |serial: u32| account.edgedns(&["publish", &zone(serial), "--shard-kib", "1"]);
    let start = account.api.requests();
    let (ok, text) = publish(1);
    assert!(ok, "{text}");
    let mut serving = published(&text);
    let requests: Vec<_> = account.api.log().split_off(start);
    // The pointer and history; two requests of the version's keys; the pointer; the history.
    let writes: Vec<&str> = requests.iter().map(|logged| logged.method.as_str()).collect();
    assert_eq!(writes, ["POST", "PUT", "PUT", "PUT", "PUT"], "{requests:?}");
    let pointer = 4;
    for (serial, refused) in (2..).zip(1..=requests.len()) {
        account.api.rate_limit_request(account.api.requests() + refused);
        let (ok, text) = publish(serial);
        if refused <= pointer {
            assert!(!ok, "request {refused} refused: {text}");
            assert!(text.contains("publish stopped before snapshot:current named"), "{text}");
        } else {
            // Published; the history could not be written (a warning).
            assert!(ok, "request {refused} refused: {text}");
            assert!(text.contains("warning:"), "{text}");
            serving = published(&text);
        }
        assert_eq!(account.current().as_deref(), Some(serving.as_str()), "request {refused} refused");
        assert!(complete(&account, &serving), "request {refused} refused: {serving} incomplete");
    }
}

#[test]
fn retention_deletes_old_versions_through_the_remote_bulk_delete() {
    use edgedns::publish::{history, Published, HISTORY_KEY};
    let account = Account::new("retention");
    let (ok, text) = account.edgedns(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let first = published(&text);
    // Eleven versions published and replaced long ago (the first's zone, built then), as a
    // year of publishing leaves them.
    let keys_of = |version: &str| {
        let prefixes = [format!("snapshot:{version}"), snapshot::sources_key(version)];
        account.contents().into_keys().filter(|key| prefixes.iter().any(|prefix| key.starts_with(prefix.as_str()))).collect::<Vec<_>>()
    };
    let originals = keys_of(&first);
    assert!(originals.len() >= 3, "{originals:?}");
    let path = Path::new(&account.zone(1)).join("example.test.zone");
    let sources = [edgedns::zone::compile::SourceFile { path: path.display().to_string(), text: std::fs::read_to_string(&path).unwrap() }];
    let catalog = edgedns::zone::compile::compile_all(&sources).unwrap();
    let mut recorded = history::history_from_json(&String::from_utf8(account.value(HISTORY_KEY).unwrap()).unwrap()).unwrap();
    let mut old = Vec::new();
    for n in (0..11u64).rev() {
        let at = 1_000_000 + n * 60;
        let built = snapshot::build(&catalog, snapshot::DEFAULT_SHARD_BYTES, at).unwrap();
        for (key, value) in edgedns::publish::sequence::writes(&built, &sources).0 {
            account.api.put(NAMESPACE, &key, value.as_bytes());
        }
        recorded.push(Published { version: built.manifest.version.clone(), published_at: at, zones: 1, current_since: Some(at), replaced_at: Some(at + 60) });
        old.insert(0, built.manifest.version);
    }
    account.api.put(NAMESPACE, HISTORY_KEY, history::history_to_json(&recorded).as_bytes());

    // The next publish keeps the last ten published and lets the three oldest go.
    let before = account.api.requests();
    let (ok, text) = account.edgedns(&["publish", &account.zone(2)]);
    assert!(ok, "{text}");
    assert!(text.contains("deleted 3 version(s) past retention"), "{text}");
    assert!(account.api.log()[before..].iter().any(|logged| logged.method == "DELETE" && logged.path.ends_with("/bulk")), "{:?}", account.api.log());
    for (n, version) in old.iter().enumerate() {
        let held = keys_of(version);
        if n < 3 {
            assert!(held.is_empty(), "{version}: {held:?}");
        } else {
            assert_eq!(held.len(), originals.len(), "{version}: {held:?}");
        }
    }
    let kept = history::history_from_json(&String::from_utf8(account.value(HISTORY_KEY).unwrap()).unwrap()).unwrap();
    assert_eq!(kept.len(), 10, "{kept:?}");
    assert!(keys_of(&first).len() == originals.len());
}
