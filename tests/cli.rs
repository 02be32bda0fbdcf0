//! The command-line tool as an operator runs it: exit codes and messages.

use std::process::Command;

fn edgedns(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).env("EDGEDNS_QUIET", "1").output().expect("the CLI runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn scratch_zone(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("edgedns-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_accepts_the_example_zones() {
    let (ok, text) = edgedns(&["check", "zones", "tests/zones"]);
    assert!(ok, "{text}");
    assert!(text.starts_with("ok: 8 zones, 100 records, 19 routed record sets, 19 health checks"), "{text}");
}

#[test]
fn check_reports_every_rule_violation_with_file_and_line() {
    let path = scratch_zone(
        "example.org.zone",
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n  NS ns1\nns1 A 192.0.2.53\n\
         @ CNAME elsewhere.example.\nwww A 192.0.2.10\nwww CNAME web\nwww.example.net. A 192.0.2.1\n",
    );
    let (ok, text) = edgedns(&["check", path.to_str().unwrap()]);
    assert!(!ok);
    let file = path.display().to_string();
    assert!(text.contains(&format!("{file}:5: CNAME at the zone apex")), "{text}");
    assert!(text.contains(&format!("{file}:7: CNAME at www.example.org. beside A data")), "{text}");
    assert!(text.contains(&format!("{file}:8: www.example.net. is outside the zone example.org.")), "{text}");
    assert!(text.contains("3 error(s)"), "{text}");
}

#[test]
fn check_refuses_health_checks_that_could_probe_elsewhere_with_file_and_line() {
    let zone = scratch_zone("health.example.zone", "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n  NS ns1\nns1 A 192.0.2.53\n");
    let routes = zone.with_file_name("health.example.routes.toml");
    std::fs::write(
        &routes,
        "[health_checks.path]\ntype = \"https\"\nhost = \"good.example\"\npath = \"@evil.example/\"\n\
         [health_checks.host]\ntype = \"http\"\nhost = \"good.example/@evil.example\"\n\
         [health_checks.kind]\ntype = \"HTTPS_STR_MATCH\"\nhost = \"good.example\"\n",
    )
    .unwrap();
    let (ok, text) = edgedns(&["check", zone.to_str().unwrap(), routes.to_str().unwrap()]);
    assert!(!ok, "{text}");
    let file = routes.display().to_string();
    assert!(text.contains(&format!("{file}:4: health check path: path \"@evil.example/\" is not an HTTP path: it must start with '/'")), "{text}");
    assert!(text.contains(&format!("{file}:7: health check host: host \"good.example/@evil.example\" is not a host name or an IP address")), "{text}");
    assert!(text.contains(&format!("{file}:9: health check kind: unknown type \"HTTPS_STR_MATCH\" (http, https, tcp, calculated)")), "{text}");
    assert!(text.contains("3 error(s)"), "{text}");
}

#[test]
fn check_reports_syntax_errors_with_file_and_line() {
    let path = scratch_zone("broken.example.zone", "$TTL 1h\n@ SOA ns1 hostmaster (1 7200\n 900 1209600 300)\n@ NS ns1\nns1 A 192.0.2.300\n");
    let (ok, text) = edgedns(&["check", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains(&format!("{}:5: bad A record data", path.display())), "{text}");
}

#[test]
fn compile_writes_a_snapshot_and_query_answers_offline() {
    let output = std::env::temp_dir().join(format!("edgedns-cli-{}.bin", std::process::id()));
    let (ok, text) = edgedns(&["compile", "zones", "-o", output.to_str().unwrap()]);
    assert!(ok, "{text}");
    let image = std::fs::read(&output).unwrap();
    assert!(image.starts_with(b"EDGEBND6"));
    assert!(edgedns::snapshot::decode(&image).is_ok());
    let (ok, text) = edgedns(&["query", "blog.example.com", "AAAA"]);
    assert!(ok, "{text}");
    assert!(text.contains("blog.example.com. 3600 IN CNAME www.example.com."), "{text}");
    assert!(text.contains("www.example.com. 3600 IN AAAA 2001:db8::10"), "{text}");
    let (_, text) = edgedns(&["query", "nope.example.com"]);
    assert!(text.contains("NXDomain"), "{text}");
}

#[test]
fn a_directorys_delegation_sets_file_is_read_and_its_problems_have_lines() {
    let dir = scratch_dir("delegation");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("delegation-sets.toml"), "[delegation_sets.main]\nname_servers = [\"ns1.dns.test.\", \"ns2.dns.test.\"]\n").unwrap();
    std::fs::write(dir.join("plain.test.zone"), "$TTL 300\nwww A 192.0.2.1\n").unwrap();
    std::fs::write(dir.join("plain.test.routes.toml"), "# no SOA or NS in the zone file\ndelegation_set = \"mian\"\n").unwrap();
    let (ok, text) = edgedns(&["check", dir.to_str().unwrap()]);
    assert!(!ok);
    let routes = dir.join("plain.test.routes.toml").display().to_string();
    assert!(text.contains(&format!("{routes}:2: unknown delegation set \"mian\" (declared: main)")), "{text}");
    std::fs::write(dir.join("plain.test.routes.toml"), "delegation_set = \"main\"\n").unwrap();
    let (ok, text) = edgedns(&["check", dir.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.starts_with("ok: 1 zones, 4 records"), "{text}");
    let (ok, text) = edgedns(&["query", "--zones", dir.to_str().unwrap(), "nope.plain.test"]);
    assert!(ok, "{text}");
    assert!(text.contains("NXDomain") && text.contains("plain.test. 300 IN SOA ns1.dns.test. hostmaster.plain.test. "), "{text}");
}

#[test]
fn publish_requires_a_target() {
    let (ok, text) = edgedns(&["publish", "zones"]);
    assert!(!ok);
    assert!(text.contains("--local"), "{text}");
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("edgedns-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn import_octodns_writes_files_that_check_and_reports_what_was_dropped() {
    let dir = scratch_dir("import-octodns");
    let out = dir.to_str().unwrap();
    let args = ["import", "octodns", "--zone", "example.com", "--file", "tests/fixtures/octodns/example.com.yaml", "--output", out];
    let (ok, text) = edgedns(&args);
    assert!(ok, "{text}");
    assert!(text.contains("example.com.zone (20 records)"), "{text}");
    assert!(text.contains("example.com.routes.toml (3 routed record sets, 6 health checks, 1 CIDR collections)"), "{text}");
    assert!(text.contains("not imported: legacy.example.com. LOC: LOC records are not served here"), "{text}");
    assert!(text.contains("lossy: cdn.example.com. CNAME: octodns.cloudflare"), "{text}");
    assert!(text.contains("1 not imported, 1 lossy, 0 unresolved, 0 invalid"), "{text}");
    let (ok, text) = edgedns(&["check", out]);
    assert!(ok, "{text}");
    assert!(text.starts_with("ok: 1 zones, 20 records, 3 routed record sets, 6 health checks"), "{text}");

    // The files are there now: only --force overwrites them.
    let (ok, text) = edgedns(&args);
    assert!(!ok);
    assert!(text.contains("example.com.zone exists: give --force to overwrite it"), "{text}");
    let (ok, text) = edgedns(&[&args[..], &["--force", "--no-health-checks"]].concat());
    assert!(ok, "{text}");
    assert!(text.contains("0 health checks"), "{text}");
    let (ok, text) = edgedns(&["check", out]);
    assert!(ok, "{text}");
}

#[test]
fn import_octodns_names_the_file_and_line_of_a_wrong_value() {
    let path = scratch_zone("bad.yaml", "www:\n  type: A\n  ttl: soon\n  value: 192.0.2.1\n");
    let out = scratch_dir("import-octodns-bad");
    let (ok, text) = edgedns(&["import", "octodns", "--zone", "example.com", "--file", path.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains(&format!("{}: www.ttl: expected an integer, found \"soon\" (line 3, column 8)", path.display())), "{text}");
    assert!(!out.join("example.com.zone").exists());
}

#[test]
fn import_bind_writes_a_zone_that_checks_and_reports_the_dnssec_records_dropped() {
    let dir = scratch_dir("import-bind");
    let out = dir.to_str().unwrap();
    let (ok, text) = edgedns(&["import", "bind", "--zone", "example.org", "--file", "tests/fixtures/bind/example.org.signed.db", "--output", out]);
    assert!(ok, "{text}");
    assert!(text.contains("example.org.zone (10 records)"), "{text}");
    assert!(!text.contains("routes.toml"), "{text}");
    assert!(!dir.join("example.org.routes.toml").exists(), "a BIND import has no routed sets: no routes file");
    assert!(text.contains("not imported: 3 RRSIG record(s): DNSSEC data dropped"), "{text}");
    assert!(text.contains("not imported: 1 DNSKEY record(s)"), "{text}");
    assert!(text.contains("not imported: line 37: unsupported class \"CH\""), "{text}");
    assert!(text.contains("6 not imported, 0 lossy, 0 unresolved, 0 invalid"), "{text}");
    let (ok, text) = edgedns(&["check", out]);
    assert!(ok, "{text}");
    assert!(text.starts_with("ok: 1 zones, 10 records, 0 routed record sets"), "{text}");
}

#[test]
fn import_bind_names_the_file_and_line_of_what_it_refuses() {
    let path = scratch_zone("db.example.com", "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n$INCLUDE other.db\n");
    let out = scratch_dir("import-bind-bad");
    let (ok, text) = edgedns(&["import", "bind", "--zone", "example.com", "--file", path.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains(&format!("{}: line 3: $INCLUDE is not supported", path.display())), "{text}");
}

/// A stand-in for `wrangler kv key get|put|delete` and `wrangler kv bulk get|put|delete` that
/// keeps each key in a file of the `--persist-to` directory, so publishing, diffing and
/// rolling back run without wrangler (the bulk files are JSON, read with Node).
#[cfg(unix)]
fn fake_kv(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir(name);
    let store = dir.join("kv");
    std::fs::create_dir_all(&store).unwrap();
    let wrangler = dir.join("wrangler");
    std::fs::write(
        &wrangler,
        r#"#!/bin/sh
# kv key <verb> --binding B --local|--remote [--persist-to DIR] [--config F] KEY [--path FILE]
# kv bulk get|put|delete --binding B --local|--remote [--persist-to DIR] FILE [--force]
verb=$3; [ "$2" = bulk ] && verb=bulk-$3; shift 3
dir=; key=; path=
while [ $# -gt 0 ]; do
  case $1 in
    --binding|--config) shift 2;;
    --persist-to) dir=$2; shift 2;;
    --path) path=$2; shift 2;;
    --local|--remote|--force) shift;;
    *) key=$1; shift;;
  esac
done
file="$dir/$(echo "$key" | tr ':' '_')"
case $verb in
  get) if [ -f "$file" ]; then cat "$file"; else echo "Value not found" >&2; fi;;
  put) cp "$path" "$file";;
  delete) rm -f "$file";;
  bulk-put) node -e 'const fs = require("fs"); const [dir, list] = process.argv.slice(1);
    for (const e of JSON.parse(fs.readFileSync(list))) fs.writeFileSync(dir + "/" + e.key.replace(/:/g, "_"), Buffer.from(e.value, e.base64 ? "base64" : "utf8"));' "$dir" "$key";;
  bulk-get) node -e 'const fs = require("fs"); const [dir, list] = process.argv.slice(1); const out = {};
    for (const key of JSON.parse(fs.readFileSync(list))) { const f = dir + "/" + key.replace(/:/g, "_");
      out[key] = { value: fs.existsSync(f) ? fs.readFileSync(f, "utf8") : null }; }
    console.log(JSON.stringify(out, null, 2)); console.log("\nSuccess!");' "$dir" "$key";;
  bulk-delete) node -e 'const fs = require("fs"); const [dir, list] = process.argv.slice(1);
    for (const key of JSON.parse(fs.readFileSync(list))) fs.rmSync(dir + "/" + key.replace(/:/g, "_"), { force: true });' "$dir" "$key";;
  *) echo "unknown verb $verb" >&2; exit 1;;
esac
"#,
    )
    .unwrap();
    std::fs::set_permissions(&wrangler, std::fs::Permissions::from_mode(0o755)).unwrap();
    (wrangler, store)
}

#[cfg(unix)]
#[test]
fn diff_compares_the_zone_files_with_what_is_published() {
    let (wrangler, store) = fake_kv("diff");
    let kv = ["--local", "--wrangler", wrangler.to_str().unwrap(), "--persist-to", store.to_str().unwrap()];
    let (ok, text) = edgedns(&[&["diff", "zones"], &kv[..]].concat());
    assert!(ok, "{text}");
    assert!(text.contains("nothing published yet"), "{text}");
    assert!(text.contains("zone example.com.: added ("), "{text}");

    let (ok, text) = edgedns(&[&["publish", "zones"], &kv[..]].concat());
    assert!(ok, "{text}");
    let (ok, text) = edgedns(&[&["diff", "zones"], &kv[..]].concat());
    assert!(ok, "{text}");
    assert!(text.contains("against snapshot ") && text.trim_end().ends_with("no changes"), "{text}");

    // Edit a copy of the zones: one record changed, one routed set reweighted, one zone gone.
    let edited = scratch_dir("diff-zones");
    std::fs::create_dir_all(&edited).unwrap();
    let com = std::fs::read_to_string("zones/example.com.zone").unwrap();
    let line = com.lines().find(|l| l.starts_with("www") && l.contains(" A ")).expect("www A in zones/example.com.zone").to_owned();
    let address = line.split_whitespace().last().unwrap().to_owned();
    std::fs::write(edited.join("example.com.zone"), com.replace(&line, &line.replace(&address, "192.0.2.99"))).unwrap();
    std::fs::copy("zones/example.org.zone", edited.join("example.org.zone")).unwrap();
    let routes = std::fs::read_to_string("zones/example.org.routes.toml").unwrap().replacen("weight = 80", "weight = 70", 1);
    std::fs::write(edited.join("example.org.routes.toml"), routes).unwrap();
    let (ok, text) = edgedns(&[&["diff", edited.to_str().unwrap()], &kv[..]].concat());
    assert!(ok, "{text}");
    let has = |sign: &str, address: &str| {
        text.lines().any(|l| l.trim_start().starts_with(&format!("{sign} www.example.com. ")) && l.ends_with(&format!(" IN A {address}")))
    };
    assert!(has("-", &address) && has("+", "192.0.2.99"), "{text}");
    assert!(text.contains("~ www.example.org. A routed set changed"), "{text}");
    assert!(text.contains("zone 2.0.192.in-addr.arpa.: removed"), "{text}");
    assert!(!text.contains("no changes"), "{text}");

    let (ok, text) = edgedns(&["diff", "zones"]);
    assert!(!ok && text.contains("--local"), "{text}");
}

#[cfg(unix)]
#[test]
fn versions_and_rollback_follow_the_publish_history() {
    let (wrangler, store) = fake_kv("rollback");
    let kv = ["--local", "--wrangler", wrangler.to_str().unwrap(), "--persist-to", store.to_str().unwrap()];
    let run = |args: &[&str]| edgedns(&[args, &kv[..]].concat());
    let zone = |serial: u32| {
        let path = scratch_dir(&format!("rollback-zone-{serial}")).join("example.test.zone");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("$TTL 60\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.{serial}\n")).unwrap();
        path
    };
    let (ok, text) = run(&["versions"]);
    assert!(ok && text.contains("nothing published yet"), "{text}");
    let (ok, text) = run(&["rollback"]);
    assert!(!ok && text.contains("nothing published yet"), "{text}");

    let mut published = Vec::new();
    for serial in 1..=11 {
        let (ok, text) = run(&["publish", zone(serial).to_str().unwrap()]);
        assert!(ok, "{text}");
        assert!(!text.contains("deleted"), "every version was current moments ago: {text}");
        published.push(version_of(&text));
    }
    assert_eq!(images(&store, false).len(), 11);
    // An hour later (the history aged by an hour): the two oldest are beyond the last ten and
    // were last current long ago, so the next publish deletes them.
    age_history(&store, 3_600);
    let (ok, text) = run(&["publish", zone(12).to_str().unwrap()]);
    assert!(ok, "{text}");
    published.push(version_of(&text));
    let deleted = format!("deleted 2 version(s) past retention (not among the last 10, not current for 10 minutes): {}, {}", published[0], published[1]);
    assert!(text.contains(&deleted), "{text}");
    // Each version is a manifest (`snapshot:<version>`) and its shards (`snapshot:<version>.<n>`).
    assert_eq!(images(&store, false).len(), 10);
    assert_eq!(images(&store, true).len(), 10);
    assert!(!images(&store, true).contains(&format!("snapshot_{}.0", published[0])));
    // Each version's sources are stored beside its image, and deleted with it.
    let sources: Vec<String> =
        std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|name| name.starts_with("sources_")).collect();
    assert_eq!(sources.len(), 10, "{sources:?}");
    assert!(!sources.contains(&format!("sources_{}", published[1])), "{sources:?}");
    let stored = std::fs::read_to_string(store.join(format!("sources_{}", published[11]))).unwrap();
    let files = edgedns::snapshot::sources_from_json(&stored).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].path.ends_with("example.test.zone") && files[0].text.contains("192.0.2.12"), "{files:?}");

    let (ok, text) = run(&["versions"]);
    assert!(ok, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    assert!(lines[0].starts_with(&format!("* {}  20", published[11])) && lines[0].ends_with(" UTC  1 zones"), "{text}");
    assert!(lines[1].starts_with(&format!("  {}", published[10])), "{text}");
    assert!(!text.contains(&published[0]) && !text.contains(&published[1]), "{text}");

    // Back one step, then another: each rollback goes to the version published before.
    let (ok, text) = run(&["rollback"]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("snapshot:current: {} -> {} (1 zones)", published[11], published[10])), "{text}");
    let (ok, text) = run(&["diff", zone(11).to_str().unwrap()]);
    assert!(ok && text.trim_end().ends_with("no changes"), "{text}");
    let (ok, text) = run(&["rollback"]);
    assert!(ok && text.contains(&format!("-> {}", published[9])), "{text}");
    let (_, text) = run(&["versions"]);
    assert!(text.lines().nth(2).unwrap().starts_with(&format!("* {}", published[9])), "{text}");

    // --to: forward again; a deleted or corrupt image is refused and the pointer stays.
    let (ok, text) = run(&["rollback", "--to", &published[11]]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["rollback", "--to", &published[0]]);
    assert!(!ok && text.contains(&format!("snapshot {} is missing from KV", published[0])), "{text}");
    std::fs::write(store.join(format!("snapshot_{}", published[5])), b"garbage").unwrap();
    let (ok, text) = run(&["rollback", "--to", &published[5]]);
    assert!(!ok && text.contains("is unusable: not a snapshot"), "{text}");
    std::fs::remove_file(store.join(format!("snapshot_{}.0", published[4]))).unwrap();
    let (ok, text) = run(&["rollback", "--to", &published[4]]);
    assert!(!ok && text.contains(&format!("snapshot:{}.0 is missing from KV", published[4])), "{text}");
    std::fs::write(store.join(format!("snapshot_{}.0", published[3])), b"EDGESHD6garbage").unwrap();
    let (ok, text) = run(&["rollback", "--to", &published[3]]);
    assert!(!ok && text.contains("is unusable: corrupt"), "{text}");
    let (ok, text) = run(&["rollback", "--to", &published[11]]);
    assert!(!ok && text.contains("is already current"), "{text}");
    assert_eq!(current_version(&store), published[11]);
}

/// The version a `publish` printed (`published <version>: ...`).
#[cfg(unix)]
fn version_of(text: &str) -> String {
    text.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned()
}

/// The manifests (`shards: false`) or shards in the fake KV.
#[cfg(unix)]
fn images(store: &std::path::Path, shards: bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.retain(|name| name.starts_with("snapshot_") && name != "snapshot_current" && name != "snapshot_history");
    names.retain(|name| name.contains('.') == shards);
    names
}

/// The version `snapshot:current` names in the fake KV.
#[cfg(unix)]
fn current_version(store: &std::path::Path) -> String {
    let stored = std::fs::read(store.join("snapshot_current")).unwrap();
    edgedns::snapshot::Manifest::decode(&edgedns::snapshot::from_text(stored)).unwrap().version
}

/// Moves every time in the fake KV's history `seconds` into the past, as if the publishes
/// recorded in it had happened that much earlier.
#[cfg(unix)]
fn age_history(store: &std::path::Path, seconds: u64) {
    let path = store.join("snapshot_history");
    let mut history = edgedns::publish::history::history_from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for entry in &mut history {
        entry.published_at -= seconds;
        entry.current_since = entry.current_since.map(|at| at - seconds);
        entry.replaced_at = entry.replaced_at.map(|at| at - seconds);
    }
    std::fs::write(&path, edgedns::publish::history::history_to_json(&history)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_version_rolled_back_to_stays_through_its_grace_after_the_next_publish() {
    let (wrangler, store) = fake_kv("rollback-grace");
    let kv = ["--local", "--wrangler", wrangler.to_str().unwrap(), "--persist-to", store.to_str().unwrap()];
    let run = |args: &[&str]| edgedns(&[args, &kv[..]].concat());
    let zone = |serial: u32| {
        let path = scratch_dir(&format!("grace-zone-{serial}")).join("grace.test.zone");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("$TTL 60\n@ SOA ns1 hostmaster {serial} 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.{serial}\n")).unwrap();
        path
    };
    let mut published = Vec::new();
    for serial in 1..=10 {
        let (ok, text) = run(&["publish", zone(serial).to_str().unwrap()]);
        assert!(ok, "{text}");
        published.push(version_of(&text));
    }
    age_history(&store, 3_600);
    // Back to the oldest, then a publish: the oldest falls beyond the last ten, but it was
    // current a moment ago (isolates still read its shards): it stays.
    let (ok, text) = run(&["rollback", "--to", &published[0]]);
    assert!(ok && text.contains(&format!("-> {} (1 zones)", published[0])), "{text}");
    assert_eq!(current_version(&store), published[0]);
    let (ok, text) = run(&["publish", zone(11).to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(!text.contains("deleted"), "{text}");
    let newest = version_of(&text);
    assert!(images(&store, true).contains(&format!("snapshot_{}.0", published[0])));
    let (_, text) = run(&["versions"]);
    assert_eq!(text.lines().count(), 11, "{text}");
    assert!(text.starts_with(&format!("* {newest}")) && text.lines().last().unwrap().starts_with(&format!("  {}", published[0])), "{text}");
    // Past its grace, the next publish deletes it (and the next oldest, long replaced).
    age_history(&store, 601);
    let (ok, text) = run(&["publish", zone(12).to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(text.contains(&format!(": {}, {}\n", published[0], published[1])), "{text}");
    assert!(!images(&store, false).iter().any(|name| name.ends_with(&published[0])));
    assert!(images(&store, false).contains(&format!("snapshot_{newest}")));
}

#[cfg(unix)]
#[test]
fn versions_prints_publish_times_in_utc() {
    let (wrangler, store) = fake_kv("versions-times");
    let catalog = edgedns::zone::compile::compile_all(&[edgedns::zone::compile::SourceFile {
        path: "example.test.zone".into(),
        text: "@ 60 SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 60 NS ns1\nns1 60 A 192.0.2.1\n".into(),
    }])
    .unwrap();
    let built = edgedns::snapshot::build(&catalog, 1024, 0).unwrap();
    let version = &built.manifest.version;
    assert!(version.starts_with("0-"), "{version}");
    std::fs::write(
        store.join("snapshot_history"),
        format!(r#"[{{"version":"951782400-00","published_at":951782400,"zones":2}},{{"version":"{version}","published_at":0,"zones":1}}]"#),
    )
    .unwrap();
    std::fs::write(store.join("snapshot_current"), &built.manifest_bytes).unwrap();
    let (ok, text) = edgedns(&["versions", "--local", "--wrangler", wrangler.to_str().unwrap(), "--persist-to", store.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert_eq!(text, format!("  951782400-00  2000-02-29 00:00:00 UTC  2 zones\n* {version}  1970-01-01 00:00:00 UTC  1 zones\n"));
}

#[test]
fn long_operations_report_progress_on_stderr() {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(["check", "zones"]).output().expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success());
    assert!(stderr.contains("] compiling ") && stderr.contains("] compiled "), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "), "the result stays on stdout");
}
