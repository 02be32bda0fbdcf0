//! The command-line tool as an operator runs it: exit codes and messages.

use std::process::Command;

fn edgedns(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).output().expect("the CLI runs");
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
    assert!(text.starts_with("ok: 6 zones, 89 records, 19 routed record sets, 19 health checks"), "{text}");
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
    assert!(image.starts_with(b"EDGEDNS3"));
    assert!(edgedns::snapshot::decode(&image).is_ok());
    let (ok, text) = edgedns(&["query", "blog.example.com", "AAAA"]);
    assert!(ok, "{text}");
    assert!(text.contains("blog.example.com. 3600 IN CNAME www.example.com."), "{text}");
    assert!(text.contains("www.example.com. 3600 IN AAAA 2001:db8::10"), "{text}");
    let (_, text) = edgedns(&["query", "nope.example.com"]);
    assert!(text.contains("NXDomain"), "{text}");
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
    let (ok, text) =
        edgedns(&["import", "bind", "--zone", "example.org", "--file", "tests/fixtures/bind/example.org.signed.db", "--output", out]);
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
