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
    assert!(text.starts_with("ok: 6 zones, 89 records, 13 routed record sets, 12 health checks"), "{text}");
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
    assert!(image.starts_with(b"EDGEDNS4"));
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
