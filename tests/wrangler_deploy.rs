//! `wrangler deploy` of this project's Worker as a user runs it against their account: the
//! pinned wrangler (node_modules/.bin/wrangler) uploads the build `make worker` made
//! (build/index.js importing build/index_bg.wasm) to a local stand-in of the Cloudflare API
//! (tests/support/cloudflare_api.rs, through `CLOUDFLARE_API_BASE_URL`), which keeps on disk what was
//! deployed. The tests then read what the account would serve: the environment's script, its
//! modules, bindings, cron trigger and workers.dev route; and that a refused upload deploys
//! nothing and leaves the previous version serving.
//!
//! Nothing leaves 127.0.0.1: the API and the npm registry (wrangler's update check) are the
//! stand-in, and the stand-in is wrangler's proxy for every other host, refusing and recording
//! what would have gone out, which the tests require to be nothing.
//!
//! The build is read from `build/`, or from `EDGEDNS_BUILD_DIR` (a worktree can use another
//! checkout's build); without it the tests fail and say to run `make worker`.

#[path = "support/cloudflare_api.rs"]
mod cloudflare_api;

use std::path::{Path, PathBuf};
use std::process::Command;

use cloudflare_api::{CloudflareApi, SCRIPT_VALIDATION_ERROR, WORKERS_DEV_SUBDOMAIN};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-token-deploy";
/// The production and staging ZONES namespaces (ids as `wrangler kv namespace create` prints).
const PRODUCTION_NAMESPACE: &str = "5e1ec7ab1e0000000000000000000001";
const STAGING_NAMESPACE: &str = "5e1ec7ab1e0000000000000000000002";

/// The directory holding `make worker`'s output.
fn build_dir() -> PathBuf {
    let dir = std::env::var_os("EDGEDNS_BUILD_DIR").map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("build"), PathBuf::from);
    for file in ["index.js", "index_bg.wasm"] {
        let path = dir.join(file);
        assert!(path.is_file(), "{} is missing: run `make worker` first (make test runs it before the native tests)", path.display());
    }
    dir
}

/// The Worker as wrangler.toml declares it, less the `[build]` command (the tests deploy what
/// `make worker` built) and with namespace ids as a real account has them; a staging
/// environment with its own name, namespace, rate-limit counters and variables.
fn config(build: &Path, production_namespace: &str) -> String {
    let main = build.join("index.js").display().to_string();
    assert!(!main.contains(['"', '\\']), "a build path TOML takes as it is: {main}");
    format!(
        r#"name = "edgedns"
main = "{main}"
compatibility_date = "2026-05-01"

[vars]
SNAPSHOT_REFRESH_SECONDS = "30"

[[kv_namespaces]]
binding = "ZONES"
id = "{production_namespace}"

[[ratelimits]]
name = "QUERY_RATE_LIMITER"
namespace_id = "53001"
simple = {{ limit = 1000, period = 10 }}

[[ratelimits]]
name = "ADMIN_AUTH_RATE_LIMITER"
namespace_id = "53002"
simple = {{ limit = 20, period = 60 }}

[triggers]
crons = ["* * * * *"]

[env.staging]
name = "edgedns-staging"

[env.staging.vars]
SNAPSHOT_REFRESH_SECONDS = "5"

[[env.staging.kv_namespaces]]
binding = "ZONES"
id = "{STAGING_NAMESPACE}"

[[env.staging.ratelimits]]
name = "QUERY_RATE_LIMITER"
namespace_id = "53101"
simple = {{ limit = 1000, period = 10 }}

[[env.staging.ratelimits]]
name = "ADMIN_AUTH_RATE_LIMITER"
namespace_id = "53102"
simple = {{ limit = 20, period = 60 }}
"#
    )
}

/// One user's account (the stand-in) and project directory (the configuration, wrangler's
/// home, cache and scratch files).
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
    fn new(name: &str, config: &str) -> Account {
        let dir = std::env::temp_dir().join(format!("edgedns-deploy-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::write(dir.join("wrangler.toml"), config).unwrap();
        let api = CloudflareApi::start(&dir.join("api"), ACCOUNT, TOKEN);
        Account { api, dir }
    }

    /// Runs `wrangler deploy <args>` in the project directory; success and output. Nothing
    /// may have gone beyond 127.0.0.1.
    fn deploy(&self, args: &[&str]) -> (bool, String) {
        let (ok, text) = self.wrangler_deploy(args, &self.api.base_url());
        assert_eq!(self.api.outside_requests(), Vec::<String>::new(), "wrangler tried to reach beyond 127.0.0.1:\n{text}");
        (ok, text)
    }

    /// Runs `wrangler deploy <args>` against the API at `api_base_url`.
    fn wrangler_deploy(&self, args: &[&str], api_base_url: &str) -> (bool, String) {
        let wrangler = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/wrangler");
        assert!(wrangler.exists(), "{} is missing: run `npm ci` (make setup)", wrangler.display());
        let home = self.dir.join("home");
        let mut command = Command::new(&wrangler);
        command.arg("deploy").args(args).arg("--config").arg(self.dir.join("wrangler.toml")).current_dir(&self.dir);
        // Only what is set here: no token, account, proxy exemption or CI override from outside.
        command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command
            .env("CLOUDFLARE_API_BASE_URL", api_base_url)
            .env("CLOUDFLARE_API_TOKEN", TOKEN)
            .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            // The banner's update check asks the npm registry on every run.
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            // No login of the machine's user is read; wrangler's cache, logs and temporary
            // files stay in the project directory.
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("WRANGLER_CACHE_DIR", home.join("cache"))
            .env("WRANGLER_LOG_PATH", home.join("logs"))
            .env("TMPDIR", &home)
            // The update check after an error asks the registry rc("npm") finds.
            .env("npm_registry", format!("{}/npm/", self.api.base_url()))
            // Every other host through the stand-in, which refuses and records (wrangler
            // exempts 127.0.0.1 from the proxy).
            .env("HTTPS_PROXY", self.api.proxy_url())
            .env("HTTP_PROXY", self.api.proxy_url())
            .env("CI", "true")
            .env("NO_COLOR", "1");
        let output = command.output().expect("wrangler runs");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    /// The requests answered from `from` on, as `METHOD path` (query included; the account's
    /// prefix left out). wrangler's update check would be among them (`/npm/`, after an
    /// unexpected error only; an API error is not one).
    fn requests_since(&self, from: usize) -> Vec<String> {
        let prefix = format!("/accounts/{ACCOUNT}");
        self.api.log()[from..].iter().map(|logged| format!("{} {}", logged.method, logged.path.strip_prefix(&prefix).unwrap_or(&logged.path))).collect()
    }
}

/// The requests of a first deploy of `script` (the script does not exist yet), in order.
fn first_deploy(script: &str) -> Vec<String> {
    [
        format!("GET /workers/services/{script}"),
        format!("GET /workers/scripts/{script}/deployments"),
        format!("GET /workers/scripts/{script}/settings"),
        format!("PUT /workers/scripts/{script}?excludeScript=true&bindings_inherit=strict"),
        format!("PATCH /workers/scripts/{script}/script-settings"),
        "GET /workers/subdomain".to_owned(),
        format!("GET /workers/scripts/{script}/subdomain"),
        format!("POST /workers/scripts/{script}/subdomain"),
        format!("PUT /workers/scripts/{script}/schedules"),
    ]
    .into()
}

/// The requests of a later deploy of `script`: a version, then a deployment of it.
fn later_deploy(script: &str) -> Vec<String> {
    [
        format!("GET /workers/services/{script}"),
        format!("GET /workers/scripts/{script}/deployments"),
        format!("GET /workers/scripts/{script}/settings"),
        format!("POST /workers/scripts/{script}/versions?bindings_inherit=strict"),
        format!("POST /workers/scripts/{script}/deployments"),
        format!("PATCH /workers/scripts/{script}/script-settings"),
        "GET /workers/subdomain".to_owned(),
        format!("GET /workers/scripts/{script}/subdomain"),
        format!("POST /workers/scripts/{script}/subdomain"),
        format!("PUT /workers/scripts/{script}/schedules"),
    ]
    .into()
}

/// Checks what `script` serves: this build, bound to `namespace`, the rate limiters on their
/// own counters (`rate_limit_namespaces`), the variable, the health cron, on workers.dev.
fn assert_serves_the_build(account: &Account, script: &str, namespace: &str, rate_limit_namespaces: [&str; 2], refresh: &str) {
    let build = build_dir();
    let deployed = account.api.deployed(script).unwrap_or_else(|| panic!("{script} is not deployed; the account holds {:?}", account.api.scripts()));
    assert_eq!(deployed.main_module, "index.js");
    assert_eq!(deployed.compatibility_date, "2026-05-01");
    // The entry bundled by wrangler, and the wasm module byte for byte under the name the entry
    // imports it by (wrangler prefixes it with its hash).
    assert_eq!(deployed.modules.len(), 2, "{:?}", deployed.modules.keys());
    let entry = &deployed.modules["index.js"];
    assert_eq!(entry.content_type, "application/javascript+module");
    let (wasm_name, wasm) = deployed.modules.iter().find(|(name, _)| name.ends_with("-index_bg.wasm")).expect("the wasm module is uploaded");
    assert_eq!(wasm.content_type, "application/wasm");
    assert!(wasm.content == std::fs::read(build.join("index_bg.wasm")).unwrap(), "{wasm_name} is not build/index_bg.wasm");
    assert!(String::from_utf8_lossy(&entry.content).contains(&format!("\"./{wasm_name}\"")), "index.js does not import {wasm_name}");

    let binding = |name: &str| deployed.binding(name).unwrap_or_else(|| panic!("no binding {name}: {:?}", deployed.bindings)).clone();
    assert_eq!(binding("ZONES"), serde_json::json!({"name": "ZONES", "type": "kv_namespace", "namespace_id": namespace}));
    assert_eq!(
        binding("QUERY_RATE_LIMITER"),
        serde_json::json!({"name": "QUERY_RATE_LIMITER", "type": "ratelimit", "namespace_id": rate_limit_namespaces[0], "simple": {"limit": 1000, "period": 10}})
    );
    assert_eq!(
        binding("ADMIN_AUTH_RATE_LIMITER"),
        serde_json::json!({"name": "ADMIN_AUTH_RATE_LIMITER", "type": "ratelimit", "namespace_id": rate_limit_namespaces[1], "simple": {"limit": 20, "period": 60}})
    );
    assert_eq!(binding("SNAPSHOT_REFRESH_SECONDS"), serde_json::json!({"name": "SNAPSHOT_REFRESH_SECONDS", "type": "plain_text", "text": refresh}));
    assert_eq!(deployed.bindings.len(), 4, "{:?}", deployed.bindings);
    assert_eq!(deployed.crons, ["* * * * *"]);
    assert!(deployed.workers_dev, "{script} is not on workers.dev");
}

#[test]
fn deploy_staging_then_production_puts_this_build_on_the_account() {
    let account = Account::new("envs", &config(&build_dir(), PRODUCTION_NAMESPACE));

    let (ok, text) = account.deploy(&["--env", "staging"]);
    assert!(ok, "{text}");
    assert_eq!(account.requests_since(0), first_deploy("edgedns-staging"), "{text}");
    assert!(text.contains(&format!("https://edgedns-staging.{WORKERS_DEV_SUBDOMAIN}.workers.dev")), "{text}");
    assert!(text.contains("schedule: * * * * *"), "{text}");
    // Staging only, and nothing written to a namespace.
    assert_eq!(account.api.scripts(), ["edgedns-staging"]);
    assert!(account.api.contents(STAGING_NAMESPACE).is_empty() && account.api.contents(PRODUCTION_NAMESPACE).is_empty());
    assert_serves_the_build(&account, "edgedns-staging", STAGING_NAMESPACE, ["53101", "53102"], "5");
    let staged = account.api.deployed("edgedns-staging").unwrap();
    assert_eq!(staged.tags, ["cf:service=edgedns", "cf:environment=staging"]);
    assert!(text.contains(&format!("Current Version ID: {}", staged.version)), "{text}");

    // Again: the script exists, so a new version and a deployment of it at 100%.
    let before = account.api.requests();
    let (ok, text) = account.deploy(&["--env", "staging"]);
    assert!(ok, "{text}");
    assert_eq!(account.requests_since(before), later_deploy("edgedns-staging"), "{text}");
    let redeployed = account.api.deployed("edgedns-staging").unwrap();
    assert_ne!(redeployed.version, staged.version);
    assert_eq!(account.api.versions("edgedns-staging"), [staged.version.clone(), redeployed.version.clone()]);
    assert_eq!(account.api.deployments("edgedns-staging").len(), 2);
    assert_eq!(redeployed.modules, staged.modules);
    assert_serves_the_build(&account, "edgedns-staging", STAGING_NAMESPACE, ["53101", "53102"], "5");

    // Production: its own script and namespace; staging is left as it was.
    let before = account.api.requests();
    let (ok, text) = account.deploy(&[]);
    assert!(ok, "{text}");
    assert_eq!(account.requests_since(before), first_deploy("edgedns"), "{text}");
    assert!(text.contains(&format!("https://edgedns.{WORKERS_DEV_SUBDOMAIN}.workers.dev")), "{text}");
    assert_eq!(account.api.scripts(), ["edgedns", "edgedns-staging"]);
    assert_serves_the_build(&account, "edgedns", PRODUCTION_NAMESPACE, ["53001", "53002"], "30");
    assert_eq!(account.api.deployed("edgedns").unwrap().tags, ["cf:service=edgedns"]);
    assert_eq!(account.api.deployed("edgedns-staging").unwrap(), redeployed);
}

#[test]
fn a_refused_upload_deploys_nothing_and_the_previous_version_keeps_serving() {
    let account = Account::new("refused", &config(&build_dir(), PRODUCTION_NAMESPACE));

    // A first deploy refused: no script, no triggers, and the API's reason on the terminal.
    account.api.fail_script_upload();
    let (ok, text) = account.deploy(&["--env", "staging"]);
    assert!(!ok, "{text}");
    assert!(text.contains(&format!("{SCRIPT_VALIDATION_ERROR} [code: 10021]")), "{text}");
    assert_eq!(account.api.scripts(), Vec::<String>::new());
    assert_eq!(account.api.deployed("edgedns-staging"), None);
    assert!(account.api.versions("edgedns-staging").is_empty());
    assert_eq!(account.requests_since(0), first_deploy("edgedns-staging")[..4], "wrangler stops at the refused upload: {text}");

    // Deployed, then a later upload refused: the version deployed before still serves.
    let (ok, text) = account.deploy(&["--env", "staging"]);
    assert!(ok, "{text}");
    let serving = account.api.deployed("edgedns-staging").unwrap();
    account.api.fail_script_upload();
    let before = account.api.requests();
    let (ok, text) = account.deploy(&["--env", "staging"]);
    assert!(!ok, "{text}");
    assert!(text.contains(&format!("{SCRIPT_VALIDATION_ERROR} [code: 10021]")), "{text}");
    assert_eq!(account.requests_since(before), later_deploy("edgedns-staging")[..4], "{text}");
    assert_eq!(account.api.deployed("edgedns-staging"), Some(serving.clone()));
    assert_eq!(account.api.versions("edgedns-staging"), [serving.version]);
}

#[test]
fn a_placeholder_namespace_id_is_refused_as_the_api_refuses_it() {
    // wrangler.toml's id is a name for local KV only; deployed as it is, the API refuses it.
    let account = Account::new("placeholder", &config(&build_dir(), "edgedns-zones-local-placeholder"));
    let (ok, text) = account.deploy(&[]);
    assert!(!ok, "{text}");
    assert!(text.contains("KV namespace 'edgedns-zones-local-placeholder' is not valid. [code: 10041]"), "{text}");
    assert_eq!(account.api.scripts(), Vec::<String>::new());
}

#[test]
fn the_check_that_nothing_leaves_loopback_sees_a_request_that_would() {
    // An API on another host (192.0.2.1 is documentation space, RFC 5737: nothing answers
    // there): wrangler sends the request through the proxy, the stand-in, which refuses it.
    let account = Account::new("outside", &config(&build_dir(), PRODUCTION_NAMESPACE));
    let (ok, text) = account.wrangler_deploy(&["--env", "staging"], "http://192.0.2.1/client/v4");
    assert!(!ok, "{text}");
    let outside = account.api.outside_requests();
    assert!(!outside.is_empty() && outside.iter().all(|request| request.contains("192.0.2.1")), "{outside:?}\n{text}");
    // After an error it did not expect, wrangler asks the npm registry for a newer version of
    // itself: the registry is the stand-in too, and nothing else was asked.
    let asked: Vec<String> = account.api.log().iter().map(|logged| logged.path.clone()).collect();
    assert!(asked.iter().all(|path| path == "/npm/wrangler"), "{asked:?}");
}
