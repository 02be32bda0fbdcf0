//! `edgedns dnssec rollover` and `status` as an operator runs them, on a `.dev.vars` file with a
//! fixed clock (`--now`): each step rewrites the secret, a step taken before its wait is over is
//! refused with what is left and why, and the status says what comes next.

use std::path::{Path, PathBuf};
use std::process::Command;

const T0: u64 = 1_800_000_000;

/// A zone whose TTLs make the waits: DNSKEY 3600 s (the Worker's, no DNSKEY in the file),
/// largest 7200 s, negative min(7200, 600) = 600 s.
const ZONE: &str = "$ORIGIN example.com.\n$TTL 7200\n@ SOA ns1 hostmaster 1 7200 900 1209600 600\n@ NS ns1\nns1 A 192.0.2.53\n";

struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("edgedns-rollover-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("example.com.zone"), ZONE).unwrap();
        Self { dir }
    }

    fn vars(&self) -> PathBuf {
        self.dir.join(".dev.vars")
    }

    fn secret(&self) -> String {
        std::fs::read_to_string(self.vars()).unwrap()
    }

    /// Runs `edgedns dnssec ARGS --dev-vars FILE [--zones DIR]`: success and stdout + stderr.
    fn dnssec(&self, args: &[&str], zones: bool) -> (bool, String) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_edgedns"));
        command.arg("dnssec").args(args).arg("--dev-vars").arg(self.vars()).env_remove("DNSSEC_KEY_EXAMPLE_COM").env("EDGEDNS_QUIET", "1");
        if zones {
            command.arg("--zones").arg(&self.dir);
        }
        let output = command.output().expect("the CLI runs");
        (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }

    fn step(&self, step: &str, now: u64, extra: &[&str]) -> (bool, String) {
        let now = now.to_string();
        let mut args = vec!["rollover", "example.com", step, "--now", &now];
        args.extend_from_slice(extra);
        self.dnssec(&args, true)
    }

    fn status(&self, now: u64) -> String {
        let (ok, text) = self.dnssec(&["status", "example.com", "--now", &now.to_string()], true);
        assert!(ok, "{text}");
        text
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The key tags the DNSKEY lines of a status name, with their states.
fn key_lines(text: &str) -> Vec<String> {
    text.lines().filter(|line| line.contains("key tag")).map(str::to_owned).collect()
}

fn tag(line: &str) -> String {
    line.split("key tag ").nth(1).unwrap().split(',').next().unwrap().to_owned()
}

fn ds(scratch: &Scratch) -> String {
    let (ok, text) = scratch.dnssec(&["ds", "example.com"], false);
    assert!(ok, "{text}");
    text.trim().to_owned()
}

fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().filter(|line| line.starts_with("DNSSEC_KEY_EXAMPLE_COM=")).count()
}

#[test]
fn a_csk_rollover_step_by_step_with_its_waits_refusals_and_status() {
    let scratch = Scratch::new("csk");
    let (ok, text) = scratch.dnssec(&["keygen", "example.com"], false);
    assert!(ok, "{text}");
    let old_ds = ds(&scratch);
    let status = scratch.status(T0);
    assert!(status.contains("rollover: none under way"), "{status}");
    assert!(status.contains("DNSKEY TTL 3600 s (as the Worker answers it), largest TTL 7200 s, negative TTL 600 s, DS TTL 86400 s"), "{status}");
    let old_tag = tag(&key_lines(&status)[0]);
    assert_eq!(scratch.step("switch", T0, &[]).1.trim(), "example.com.: `switch` is not the next step of this rollover: `start` is");

    // start: the new key published beside the old one.
    let (ok, text) = scratch.step("start", T0, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("wrangler secret put DNSSEC_KEY_EXAMPLE_COM"), "{text}");
    let secret = scratch.secret();
    assert!(secret.contains(&format!(" published={T0}")), "{secret}");
    assert!(text.contains(secret.trim().trim_start_matches("DNSSEC_KEY_EXAMPLE_COM=").trim_matches('"')), "the value printed is the one written: {text}");
    assert_eq!(line_count(&scratch.vars()), 1);
    let keys = key_lines(&text);
    assert_eq!(keys.len(), 2, "{text}");
    let new_tag = tag(&keys[1]);
    assert!(keys[1].contains("published since 2027-01-15 08:00:00 UTC"), "{}", keys[1]);
    assert_eq!(ds(&scratch), old_ds, "the registrar keeps the old DS until the switch");

    // switch, too early: Ipub = 300 + 3600 + 3600 = 7500 s after the start.
    let (ok, text) = scratch.step("switch", T0 + 100, &[]);
    assert!(!ok);
    assert!(text.contains("too early for `switch`: 2h 3m 20s left"), "{text}");
    assert!(text.contains("propagation delay 300 s + DNSKEY TTL 3600 s + publish safety 3600 s from the start"), "{text}");
    assert_eq!(scratch.secret(), secret, "a refused step changes nothing");
    let status = scratch.status(T0 + 100);
    assert!(status.contains("next: `edgedns dnssec rollover example.com. switch`, at 2027-01-15 10:05:00 UTC (in 2h 3m 20s)"), "{status}");

    // switch on time: the new key signs, its DS goes to the registrar.
    let (ok, text) = scratch.step("switch", T0 + 7_500, &[]);
    assert!(ok, "{text}");
    let new_ds = ds(&scratch);
    assert_ne!(new_ds, old_ds);
    assert!(new_ds.contains(&format!(" DS {new_tag} 13 2 ")), "{new_ds}");
    assert!(text.contains(&format!("Give the registrar the new DS in place of the old one:\n{new_ds}")), "{text}");
    assert!(text.contains("next: `edgedns dnssec rollover example.com. ds-submitted`"), "{text}");
    let status = scratch.status(T0 + 7_500);
    let keys = key_lines(&status);
    assert!(keys[0].contains(&format!("key tag {new_tag},")) && keys[0].contains("active since"), "{status}");
    assert!(keys[1].contains(&format!("key tag {old_tag},")) && keys[1].contains("retired since"), "{status}");
    assert!(scratch.step("finish", T0 + 1_000_000, &["--force"]).1.contains("`ds-submitted` is"), "finish waits for the DS, even forced");

    // ds-submitted, then finish: too early until both waits are over.
    let t_ds = T0 + 20_000;
    let (ok, text) = scratch.step("ds-submitted", t_ds, &[]);
    assert!(ok, "{text}");
    assert!(scratch.secret().contains(&format!(" ds={t_ds}")));
    let (ok, text) = scratch.step("finish", t_ds + 60, &[]);
    assert!(!ok);
    // 300 + 86400 + 3600 - 60 s.
    assert!(text.contains("too early for `finish`: 1d 1h 4m left"), "{text}");
    assert!(text.contains("propagation delay 300 s + largest signed TTL 7200 s + retire safety 3600 s from the switch"), "{text}");
    assert!(text.contains("parent propagation delay 300 s + DS TTL 86400 s + retire safety 3600 s from ds-submitted"), "{text}");
    let (ok, text) = scratch.step("finish", t_ds + 90_300, &[]);
    assert!(ok, "{text}");
    let status = scratch.status(t_ds + 90_300);
    let keys = key_lines(&status);
    assert_eq!(keys.len(), 1, "{status}");
    assert_eq!(tag(&keys[0]), new_tag);
    assert!(status.contains("rollover: none under way"), "{status}");
    assert_eq!(ds(&scratch), new_ds);
    assert_eq!(line_count(&scratch.vars()), 1);
}

#[test]
fn a_pair_says_which_key_rolls_and_force_takes_an_early_step() {
    let scratch = Scratch::new("pair");
    let (ok, text) = scratch.dnssec(&["keygen", "example.com", "--ksk-zsk"], false);
    assert!(ok, "{text}");
    let (ok, text) = scratch.step("start", T0, &[]);
    assert!(!ok && text.contains("--key ksk or --key zsk"), "{text}");
    let (ok, text) = scratch.step("start", T0, &["--key", "zsk"]);
    assert!(ok, "{text}");
    assert!(text.contains("rollover of the ZSK by pre-publication (RFC 7583 §3.2.1)"), "{text}");
    let (ok, text) = scratch.step("switch", T0 + 1, &["--force"]);
    assert!(ok, "{text}");
    assert!(!text.contains("Give the registrar"), "a ZSK changes no DS: {text}");
    // Iret = 300 + 7200 + 3600 from the switch; no DS step.
    assert!(text.contains("next: `edgedns dnssec rollover example.com. finish`, at 2027-01-15 11:05:01 UTC (in 3h 5m)"), "{text}");
    let (ok, text) = scratch.step("finish", T0 + 11_101, &[]);
    assert!(ok, "{text}");
    assert_eq!(key_lines(&text).len(), 2, "{text}");
}

#[test]
fn status_without_the_zone_files_shows_the_keys_and_says_why_there_are_no_waits() {
    let scratch = Scratch::new("nozones");
    let (ok, text) = scratch.dnssec(&["keygen", "example.com"], false);
    assert!(ok, "{text}");
    let (ok, text) = scratch.dnssec(&["status", "example.com", "--zones", scratch.dir.join("missing").to_str().unwrap()], false);
    assert!(ok, "{text}");
    assert!(text.contains("combined signing key (CSK)"), "{text}");
    assert!(text.contains("the waits cannot be told without the zone's TTLs"), "{text}");
    let (ok, text) = scratch.dnssec(&["rollover", "example.com", "start", "--zones", scratch.dir.join("missing").to_str().unwrap()], false);
    assert!(!ok, "a step needs the TTLs: {text}");
}
