//! `edgedns check` on what the health checks cost within a Workers plan's limits: a line of
//! figures, and a warning for each way the declared checks cannot be probed at their
//! intervals (subrequests per invocation, six connections, the minute, KV writes a day).

use std::process::Command;

fn edgedns(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_edgedns")).args(args).env("EDGEDNS_QUIET", "1").output().expect("the CLI runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A zone directory with `checks` health checks of `interval` seconds.
fn zone_with_checks(name: &str, checks: usize, interval: u32) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("edgedns-capacity-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("capacity.test.zone"), "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.53\n").unwrap();
    let routes: String =
        (0..checks).map(|n| format!("[health_checks.c{n:02}]\ntype = \"http\"\nhost = \"192.0.2.{}\"\ninterval = {interval}\n", n % 250 + 1)).collect();
    std::fs::write(dir.join("capacity.test.routes.toml"), routes).unwrap();
    dir
}

#[test]
fn the_example_zones_fit_the_free_plan() {
    let (ok, out, err) = edgedns(&["check", "zones", "tests/zones"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("health checks on the free plan: 23 probes in the busiest minute (6 rounds) of 41 subrequests an invocation has for them"), "{out}");
    assert!(out.contains("KV: 288 heartbeat writes a day (every 300 s) + 1 per state change, about 2880 reads a day"), "{out}");
    assert!(!err.contains("warning:"), "{err}");
}

#[test]
fn checks_beyond_the_plan_are_warned_about() {
    let dir = zone_with_checks("fast", 60, 10);
    let path = dir.to_str().unwrap();
    let (ok, out, err) = edgedns(&["check", path]);
    assert!(ok, "warnings do not fail the check: {out}{err}");
    assert!(out.contains("360 probes in the busiest minute (6 rounds) of 41 subrequests"), "{out}");
    assert!(err.contains("warning: health checks need 360 probes in their busiest minute, but one invocation on the free plan has 41"), "{err}");
    assert!(err.contains("warning: health check c59: with 6 probes in flight at most, it cannot finish"), "{err}");
    // The paid plan has the subrequests, not the connections.
    let (_, out, err) = edgedns(&["check", "--plan", "paid", path]);
    assert!(out.contains("of 9991 subrequests"), "{out}");
    assert!(!err.contains("probes in their busiest minute") && err.contains("probes in flight"), "{err}");
    // Ten one-minute checks fit; a one-minute heartbeat does not fit the free plan's writes.
    let dir = zone_with_checks("slow", 10, 60);
    let (_, _, err) = edgedns(&["check", dir.to_str().unwrap()]);
    assert!(!err.contains("warning:"), "{err}");
    let (_, out, err) = edgedns(&["check", "--heartbeat-seconds", "60", dir.to_str().unwrap()]);
    assert!(out.contains("1440 heartbeat writes a day"), "{out}");
    assert!(err.contains("over the free plan's 1,000 KV writes a day"), "{err}");
    for dir in [path, dir.to_str().unwrap()] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
