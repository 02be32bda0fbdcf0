//! `edgedns deploy --env staging` and the `--env` of every KV command, against the stand-in:
//! the release sequence (check, diff, confirm, publish, wrangler deploy, probe) with a failing
//! step at each stage, and what the account holds after each.

use std::io::Write;
use std::process::Stdio;

use super::{published, run, wrangler, Account, NAMESPACE, STAGING_NAMESPACE, TOKEN};
use edgedns::snapshot::{self, Manifest};

impl Account {
    /// `edgedns deploy --env staging <args>` with `answer` typed at the prompt.
    fn deploy(&self, args: &[&str], answer: &str) -> (bool, String) {
        let mut command = self.command(TOKEN);
        command.args(["deploy", "--env", "staging", "--config"]).arg(self.dir.join("wrangler.toml")).arg("--wrangler").arg(wrangler()).args(args);
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the CLI runs");
        // The CLI may stop before it reads (a failed check): a closed pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(answer.as_bytes());
        let output = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }

    /// A KV command against `[env.staging]`.
    fn staging(&self, args: &[&str]) -> (bool, String) {
        let mut command = self.command(TOKEN);
        command.args(args).args(["--remote", "--env", "staging", "--config"]).arg(self.dir.join("wrangler.toml")).arg("--wrangler").arg(wrangler());
        run(command)
    }

    /// The version staging's `snapshot:current` names.
    fn staging_current(&self) -> Option<String> {
        let bytes = self.api.value(STAGING_NAMESPACE, snapshot::CURRENT_KEY).map(snapshot::from_text)?;
        Some(Manifest::decode(&bytes).expect("snapshot:current is a manifest").version)
    }

    /// Requests that wrote to a namespace or touched a Worker script.
    fn writes(&self) -> Vec<String> {
        self.api
            .log()
            .into_iter()
            .filter(|logged| logged.method != "GET" && !logged.path.ends_with("/bulk/get") || logged.path.contains("/workers/"))
            .map(|logged| format!("{} {} {}", logged.method, logged.path, logged.status))
            .collect()
    }
}

#[test]
fn env_sends_every_kv_command_to_that_environments_namespace() {
    let account = Account::new("env");
    let (ok, text) = account.staging(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    assert!(text.contains("to remote KV binding ZONES (env staging)"), "{text}");
    let version = published(&text);
    assert_eq!(account.staging_current().as_deref(), Some(version.as_str()));
    assert!(account.api.contents(NAMESPACE).is_empty(), "the top-level namespace is untouched");
    // diff, versions and rollback read the same namespace.
    let (ok, text) = account.staging(&["diff", &account.zone(1)]);
    assert!(ok && text.contains(&format!("against snapshot {version} (remote KV binding ZONES (env staging))")), "{text}");
    let (ok, text) = account.staging(&["versions"]);
    assert!(ok && text.contains(&format!("* {version}")), "{text}");
    let (ok, text) = account.edgedns(&["diff", &account.zone(1)]);
    assert!(ok && text.contains("nothing published yet (remote KV binding ZONES)"), "{text}");
}

#[test]
fn diff_prints_markdown_and_json_for_a_pull_request() {
    let account = Account::new("diff-formats");
    let (ok, text) = account.staging(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let version = published(&text);
    let (ok, text) = account.staging(&["diff", &account.zone(2), "--format", "markdown"]);
    assert!(ok, "{text}");
    assert!(text.starts_with("### edgedns diff: remote KV binding ZONES (env staging)\n"), "{text}");
    assert!(text.contains(&format!("Compared with the served snapshot `{version}`.")), "{text}");
    assert!(text.contains("| `example.test.` | 6 change(s) |"), "{text}");
    assert!(text.contains("+ www.example.test. 60 IN A 198.51.100.2"), "{text}");
    let (ok, text) = account.staging(&["diff", &account.zone(2), "--format", "json"]);
    assert!(ok, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(report["changed"], true);
    assert_eq!(report["against"]["version"], version.as_str());
    assert_eq!(report["summary"]["records_added"], 3, "{report}");
}

#[test]
fn deploy_stops_at_check_when_a_zone_does_not_compile() {
    let account = Account::new("deploy-check");
    let bad = account.file("bad/example.test.zone", b"$TTL 60\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\nwww A 999.1.1.1\n");
    let (ok, text) = account.deploy(&["--yes", &bad.parent().unwrap().display().to_string()], "");
    assert!(!ok, "{text}");
    assert!(text.contains("example.test.zone:3:"), "the compiler's file:line: {text}");
    assert!(text.contains("deploy stopped at check: nothing was published or deployed to staging"), "{text}");
    assert_eq!(account.api.requests(), 0, "{:?}", account.api.log());
}

#[test]
fn deploy_stops_at_diff_when_the_api_refuses_the_token() {
    let account = Account::new("deploy-diff");
    account.api.expire_token();
    let (ok, text) = account.deploy(&["--yes", &account.zone(1)], "");
    assert!(!ok, "{text}");
    assert!(text.contains("Authentication error [code: 10000]") && text.contains("CLOUDFLARE_API_TOKEN"), "{text}");
    assert!(text.contains("deploy stopped at diff: nothing was published or deployed to staging"), "{text}");
    assert!(account.writes().is_empty(), "{:?}", account.writes());
}

#[test]
fn deploy_stops_at_confirm_unless_the_operator_says_yes() {
    let account = Account::new("deploy-confirm");
    for answer in ["n\n", "", "yes please\n"] {
        let (ok, text) = account.deploy(&[&account.zone(1)], answer);
        assert!(!ok, "{answer:?}: {text}");
        assert!(text.contains("[1/6] check") && text.contains("[2/6] diff") && text.contains("zone example.test.: added"), "{text}");
        assert!(text.contains("Publish these changes to staging and deploy the Worker? [y/N]"), "{text}");
        assert!(text.contains("deploy stopped at confirm: nothing was published or deployed to staging"), "{text}");
    }
    assert!(account.writes().is_empty(), "{:?}", account.writes());
    assert_eq!(account.staging_current(), None);
}

#[test]
fn deploy_stops_at_publish_when_the_write_is_refused_and_the_old_version_serves() {
    let account = Account::new("deploy-publish");
    let (ok, text) = account.staging(&["publish", &account.zone(1)]);
    assert!(ok, "{text}");
    let first = published(&text);
    // How many requests the diff step makes in this state; then the publish's pointer and
    // history read, then its bulk write, which is refused.
    let before = account.api.requests();
    let (ok, text) = account.staging(&["diff", &account.zone(2)]);
    assert!(ok, "{text}");
    let diff_requests = account.api.requests() - before;
    account.api.rate_limit_request(account.api.requests() + diff_requests + 2);
    let (ok, text) = account.deploy(&[&account.zone(2)], "y\n");
    assert!(!ok, "{text}");
    assert!(text.contains("[code: 971]"), "{text}");
    assert!(text.contains(&format!("deploy stopped at publish: the Worker in staging serves version {first}, as before; nothing was deployed")), "{text}");
    assert_eq!(account.staging_current().as_deref(), Some(first.as_str()));
    assert!(!account.writes().iter().any(|line| line.contains("/workers/")), "no deploy was attempted: {:?}", account.writes());
}

#[test]
fn deploy_stops_at_deploy_when_wrangler_deploy_fails_and_says_what_is_served() {
    let account = Account::new("deploy-deploy");
    account.api.fail_script_upload();
    let (ok, text) = account.deploy(&["--yes", &account.zone(1)], "");
    assert!(!ok, "{text}");
    let version = account.staging_current().expect("the zones were published before the deploy");
    assert!(text.contains("[5/6] deploy: wrangler deploy --env staging"), "{text}");
    assert!(text.contains(&format!("deploy stopped at deploy: version {version} is published and served by the Worker code deployed before")), "{text}");
    assert!(account.api.deployed("edgedns-staging").is_none());
}

/// The deployed Worker, as far as this machine can have one: the engine (`server::handle`,
/// what the Worker runs) over HTTP/1.1 on 127.0.0.1, answering from the snapshot that a KV
/// namespace of the stand-in serves at the time of each request.
struct Edge {
    port: u16,
}

impl Edge {
    fn start(account: &Account, namespace: &'static str) -> Edge {
        let api = account.api.clone();
        use std::io::{BufRead, BufReader, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let api = api.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let response = Edge::answer(&api, namespace, &path, &body);
                    let mut stream = stream;
                    let mut bytes = format!("HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n", response.status, response.body.len()).into_bytes();
                    for (name, value) in &response.headers {
                        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                    }
                    bytes.extend_from_slice(b"\r\n");
                    bytes.extend_from_slice(&response.body);
                    let _ = stream.write_all(&bytes);
                });
            }
        });
        Edge { port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/dns-query", self.port)
    }

    fn answer(api: &super::cloudflare_api::CloudflareApi, namespace: &str, path: &str, body: &[u8]) -> edgedns::doh::HttpResponse {
        use edgedns::server::{handle, Environment, Zones};
        let value = |key: &str| api.value(namespace, key).map(snapshot::from_text);
        let catalog = value(snapshot::CURRENT_KEY).map(|bytes| {
            let manifest = Manifest::decode(&bytes).unwrap();
            let shards: Vec<Vec<u8>> = (0..manifest.shards().len()).map(|n| value(&snapshot::shard_key(&manifest.version, n)).unwrap()).collect();
            manifest.assemble(&shards).unwrap()
        });
        let Some(catalog) = catalog else { return edgedns::doh::HttpResponse::new(503, "text/plain", b"nothing published".to_vec()) };
        let request = edgedns::doh::HttpRequest { method: "POST", path, content_type: Some("application/dns-message"), body, ..Default::default() };
        let mut random = edgedns::policy::SplitMix::new(7);
        let client = edgedns::client::Client::default();
        let mut environment = Environment {
            client: &client,
            health: &edgedns::policy::NoHealthData,
            random: &mut random,
            locator: None,
            signer: None,
            signing_errors: Vec::new(),
        };
        handle(&request, Zones::Loaded(&catalog), &mut environment)
    }
}

#[test]
fn deploy_releases_to_staging_uploads_the_worker_and_probes_its_answers() {
    let account = Account::new("deploy-ok");
    let edge = Edge::start(&account, STAGING_NAMESPACE);
    let probes = super::repository_file("probes.toml");
    let (ok, text) = account.deploy(&["--yes", "zones", "--probe", &probes, "--url", &edge.url()], "");
    assert!(ok, "{text}");
    let version = account.staging_current().expect("published");
    for line in ["[1/6] check", "[2/6] diff", "[3/6] confirm: --yes", "[4/6] publish", "[5/6] deploy: wrangler deploy --env staging", "[6/6] probe"] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(text.contains("8 probe(s) answered as expected"), "{text}");
    assert!(text.trim_end().ends_with(&format!("deployed to staging: version {version}")), "{text}");
    let deployed = account.api.deployed("edgedns-staging").expect("the Worker was uploaded");
    assert!(deployed.binding("ZONES").is_some_and(|binding| binding.to_string().contains(STAGING_NAMESPACE)), "{deployed:?}");
    assert!(account.api.deployed("edgedns").is_none(), "the top-level Worker is untouched");

    // Again, unchanged: nothing is published, the Worker is deployed again.
    let writes = account.api.contents(STAGING_NAMESPACE);
    let (ok, text) = account.deploy(&["zones"], "y\n");
    assert!(ok, "{text}");
    assert!(text.contains("The zones are unchanged. Deploy the Worker to staging? [y/N]"), "{text}");
    assert!(text.contains(&format!("[4/6] publish: no changes: {version} stays")), "{text}");
    assert_eq!(account.api.contents(STAGING_NAMESPACE), writes);
}

#[test]
fn deploy_stops_at_probe_when_an_answer_differs_and_says_how_to_roll_back() {
    let account = Account::new("deploy-probe");
    let edge = Edge::start(&account, STAGING_NAMESPACE);
    let probes = account.file("probes.toml", b"[[probe]]\nname = \"www.example.com\"\nanswers = [\"192.0.2.99\"]\n");
    let (ok, text) = account.deploy(&["--yes", "zones", "--probe", &probes.display().to_string(), "--url", &edge.url()], "");
    assert!(!ok, "{text}");
    let version = account.staging_current().expect("published");
    assert!(text.contains("FAIL  www.example.com. A: expected 192.0.2.99, got 192.0.2.10"), "{text}");
    assert!(
        text.contains(&format!(
            "deploy stopped at probe: version {version} and the new Worker are live in staging: `edgedns rollback --remote --env staging` restores the zones"
        )),
        "{text}"
    );
    // A probes file that does not parse stops before anything happens.
    let bad = account.file("bad-probes.toml", b"[[probe]]\nname = \"www.example.com\"\nrcode = \"NOPE\"\n");
    let before = account.api.requests();
    let (ok, text) = account.deploy(&["--yes", "zones", "--probe", &bad.display().to_string(), "--url", &edge.url()], "");
    assert!(!ok && text.contains("unknown rcode \"NOPE\"") && text.contains("deploy stopped at check"), "{text}");
    assert_eq!(account.api.requests(), before);
}

/// The `edgedns` lines of the README's "Deploying" shell blocks, run in order as a user would
/// (each given this account's wrangler configuration), with `--url` pointed at the local edge.
#[test]
fn the_readmes_deploying_commands_run_as_written() {
    let account = Account::new("readme");
    let staging = Edge::start(&account, STAGING_NAMESPACE);
    let production = Edge::start(&account, super::PRODUCTION_NAMESPACE);
    let readme = std::fs::read_to_string(super::repository_file("README.md")).unwrap();
    let section = &readme[readme.find("\n## Deploying\n").unwrap()..readme.find("\n### Zones as code\n").unwrap()];
    let mut in_block = false;
    let mut ran = Vec::new();
    for line in section.lines().map(str::trim) {
        if line.starts_with("```") {
            in_block = line == "```sh";
            continue;
        }
        let Some(rest) = line.strip_prefix("cargo run --release --bin edgedns -- ").filter(|_| in_block) else { continue };
        let rest = rest.split(" #").next().unwrap().trim();
        let mut args: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
        // Questions asked of the deployed Worker go to the local edge serving that environment.
        for arg in args.iter_mut() {
            if arg.starts_with("https://edgedns-staging.") {
                *arg = staging.url();
            } else if arg.starts_with("https://edgedns-production.") {
                *arg = production.url();
            }
        }
        let mut command = account.command(TOKEN);
        command.current_dir(env!("CARGO_MANIFEST_DIR")).args(&args);
        if args.iter().any(|arg| arg == "--remote" || arg == "deploy") {
            command.arg("--config").arg(account.dir.join("wrangler.toml")).arg("--wrangler").arg(wrangler());
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(b"y\n");
        let output = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "README: edgedns {rest}\n{text}");
        ran.push(args[0].clone());
    }
    assert_eq!(ran, ["check", "diff", "deploy", "query", "probe", "versions", "health", "deploy"], "the README's commands changed: update this test");
    assert!(account.api.deployed("edgedns-staging").is_some() && account.api.deployed("edgedns-production").is_some());
}
