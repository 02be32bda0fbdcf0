//! `edgedns dnssec`: a zone's signing keys (README.md "DNSSEC"): make them, print the DS
//! records for the registrar, show their state, roll them step by step (the planner is
//! `edgedns::dnssec::rollover`; this module reads the keys and zones, and prints). Keys live in a Worker secret
//! (`wrangler secret put DNSSEC_KEY_<ZONE>`) or, locally, in `.dev.vars`; never in KV or in
//! the repository.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use clap::{Args, Subcommand};
use edgedns::dnssec::key::{secret_name, FLAGS_KEY_SIGNING, FLAGS_ZONE_SIGNING};
use edgedns::dnssec::rollover::{self, Step, Timing, ZoneTtls};
use edgedns::dnssec::{Algorithm, KeySet, KeyState, SigningKey};
use hickory_proto::rr::Name;

use super::args::Sources;
use super::sources::compile;

#[derive(Subcommand)]
pub(super) enum DnssecCommand {
    /// Make a zone's key (or a KSK/ZSK pair) and print the secret value to hand to
    /// `wrangler secret put DNSSEC_KEY_<ZONE>`, its DNSKEY and the DS for the registrar.
    Keygen {
        /// The zone (`example.com`).
        zone: String,
        /// 13 (ECDSA P-256 with SHA-256, the default) or 15 (Ed25519).
        #[arg(long, value_parser = ["13", "15"], default_value = "13")]
        algorithm: String,
        /// A key-signing key (for the DNSKEY RRset) and a zone-signing key (for everything
        /// else) instead of one combined key.
        #[arg(long)]
        ksk_zsk: bool,
        /// Also write the secret into this dotenv file (`.dev.vars` for `wrangler dev`).
        #[arg(long, value_name = "FILE")]
        dev_vars: Option<PathBuf>,
        /// Replace a key the dotenv file already has for the zone (its DS at the registrar
        /// then no longer matches).
        #[arg(long)]
        force: bool,
        /// Make no key when the dotenv file already has one for the zone (what `make dev`
        /// runs, so a development key stays the same from one run to the next).
        #[arg(long, requires = "dev_vars", conflicts_with = "force")]
        if_missing: bool,
    },
    /// Print the DS records (SHA-256, RFC 4509) of a zone's key-signing key, for the registrar.
    Ds {
        /// The zone.
        zone: String,
        #[command(flatten)]
        source: KeySource,
    },
    /// Show a zone's keys (role, state, key tag, algorithm, DNSKEY and DS) and where a key
    /// rollover is: the next step and when it may be taken, the waits derived from the TTLs.
    Status {
        /// The zone.
        zone: String,
        #[command(flatten)]
        source: KeySource,
        #[command(flatten)]
        timing: TimingArgs,
    },
    /// Take one step of a key rollover (README.md "DNSSEC", "Key rollover"): `start` makes the
    /// new key and publishes it, `switch` makes it sign, `ds-submitted` records that the parent
    /// serves the new DS (KSK and CSK), `finish` removes the old key. Prints the new secret
    /// value and the commands to run; updates the dotenv file the keys came from. A step taken
    /// before its wait is over is refused, saying how long is left and why, unless --force.
    Rollover {
        /// The zone.
        zone: String,
        /// start, switch, ds-submitted or finish.
        #[arg(value_parser = ["start", "switch", "ds-submitted", "finish"])]
        step: String,
        /// Which key of a KSK/ZSK pair `start` rolls (a zone with one combined key rolls it).
        #[arg(long, value_parser = ["zsk", "ksk", "csk"])]
        key: Option<String>,
        /// Take the step though its wait is not over (validators may fail meanwhile).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        source: KeySource,
        #[command(flatten)]
        timing: TimingArgs,
    },
}

/// What a rollover's waits are made of (RFC 7583's terms), and the time.
#[derive(Args)]
pub(super) struct TimingArgs {
    /// The zone files (or directories) the zone's TTLs are read from, as `check` reads them.
    #[arg(long = "zones", value_name = "PATH", default_value = "zones")]
    zones: Vec<PathBuf>,
    /// The parent's DS TTL, in seconds (TTLds).
    #[arg(long, value_name = "SECONDS", default_value_t = rollover::DEFAULT_DS_TTL_S)]
    ds_ttl: u32,
    /// How long a new secret (or a new DS at the parent) takes to be served everywhere, in
    /// seconds (Dprp).
    #[arg(long, value_name = "SECONDS", default_value_t = rollover::DEFAULT_PROPAGATION_DELAY_S)]
    propagation_delay: u64,
    /// The margin added to the wait before a new key signs, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = rollover::DEFAULT_SAFETY_S)]
    publish_safety: u64,
    /// The margin added to the wait before an old key goes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = rollover::DEFAULT_SAFETY_S)]
    retire_safety: u64,
    /// The time to plan at, in Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
}

impl TimingArgs {
    /// The waits' terms for `zone`, its TTLs read from the zone files.
    fn timing(&self, zone: &Name) -> Result<Timing, String> {
        let catalog = compile(&Sources { paths: self.zones.clone() })?;
        let found = catalog.find(zone).filter(|found| found.apex() == zone).ok_or_else(|| {
            let paths: Vec<String> = self.zones.iter().map(|path| path.display().to_string()).collect();
            format!("{zone} is not among the zones of {} (--zones names where they are)", paths.join(", "))
        })?;
        Ok(Timing {
            ttls: ZoneTtls::of(found),
            ds_ttl_s: self.ds_ttl,
            propagation_delay_s: self.propagation_delay,
            publish_safety_s: self.publish_safety,
            retire_safety_s: self.retire_safety,
        })
    }

    fn now_s(&self) -> u64 {
        self.now.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs()))
    }
}

/// Where the keys are read: the environment variable `DNSSEC_KEY_<ZONE>` when it is set,
/// else the dotenv file.
#[derive(Args)]
pub(super) struct KeySource {
    /// The dotenv file that holds `DNSSEC_KEY_<ZONE>="..."`.
    #[arg(long, value_name = "FILE", default_value = ".dev.vars")]
    dev_vars: PathBuf,
}

pub(super) fn run(command: DnssecCommand) -> Result<(), String> {
    match command {
        DnssecCommand::Keygen { zone, algorithm, ksk_zsk, dev_vars, force, if_missing } => {
            let zone = zone_name(&zone)?;
            if let (true, Some(path)) = (if_missing, &dev_vars) {
                let name = secret_name(&zone);
                let text = std::fs::read_to_string(path).unwrap_or_default();
                if dev_var(&text, &name).is_some() {
                    eprintln!("{}: {name} is already set; kept", path.display());
                    return Ok(());
                }
            }
            let algorithm = Algorithm::from_number(algorithm.parse().unwrap_or(13)).unwrap_or(Algorithm::EcdsaP256Sha256);
            let keys = if ksk_zsk {
                vec![generate(&zone, FLAGS_KEY_SIGNING, algorithm)?, generate(&zone, FLAGS_ZONE_SIGNING, algorithm)?]
            } else {
                vec![generate(&zone, FLAGS_KEY_SIGNING, algorithm)?]
            };
            let keys = KeySet::from_keys(keys).map_err(|e| e.to_string())?;
            let name = secret_name(&zone);
            let secret = keys.secret();
            if let Some(path) = &dev_vars {
                write_dev_var(path, &name, &secret, force)?;
                eprintln!("wrote {name} to {}", path.display());
            }
            println!("; The private key: keep it out of the repository and out of KV. Put it in the Worker with");
            println!(";   wrangler secret put {name}");
            println!("; and paste this value:");
            println!("{secret}");
            println!();
            describe(&keys);
            Ok(())
        }
        DnssecCommand::Ds { zone, source } => {
            let zone = zone_name(&zone)?;
            let (keys, _) = read_keys(&zone, &source)?;
            println!("{}", ds_line(keys.key_signing()));
            Ok(())
        }
        DnssecCommand::Status { zone, source, timing } => {
            let zone = zone_name(&zone)?;
            let (keys, _) = read_keys(&zone, &source)?;
            describe(&keys);
            match timing.timing(&zone) {
                Ok(terms) => explain(&zone, &keys, &terms, timing.now_s()),
                Err(error) => println!("; rollover: the waits cannot be told without the zone's TTLs: {error}"),
            }
            Ok(())
        }
        DnssecCommand::Rollover { zone, step, key, force, source, timing } => {
            let zone = zone_name(&zone)?;
            let step = match step.as_str() {
                "start" => Step::Start,
                "switch" => Step::Switch,
                "ds-submitted" => Step::DsSubmitted,
                _ => Step::Finish,
            };
            let (keys, origin) = read_keys(&zone, &source)?;
            let terms = timing.timing(&zone)?;
            let now = timing.now_s();
            let new_key = match step {
                Step::Start => {
                    let flags = match (key.as_deref(), keys.is_pair()) {
                        (None | Some("csk"), false) => FLAGS_KEY_SIGNING,
                        (Some("ksk"), true) => FLAGS_KEY_SIGNING,
                        (Some("zsk"), true) => FLAGS_ZONE_SIGNING,
                        (None, true) => return Err(format!("{zone} has a KSK and a ZSK: say which to roll with --key ksk or --key zsk")),
                        (Some(other), _) => {
                            return Err(format!(
                                "{zone} has {}: --key {other} does not apply",
                                if keys.is_pair() { "a KSK and a ZSK" } else { "one combined key (CSK)" }
                            ))
                        }
                    };
                    Some(generate(&zone, flags, keys.key_signing().algorithm())?)
                }
                _ => None,
            };
            let keys = rollover::take(keys, step, &terms, now, force, new_key).map_err(|e| format!("{zone}: {e}"))?;
            let name = secret_name(&zone);
            let secret = keys.secret();
            if let KeyOrigin::File(path) = &origin {
                write_dev_var(path, &name, &secret, true)?;
                eprintln!("wrote {name} to {}", path.display());
            } else {
                eprintln!("{name} came from the environment: {} was not written", source.dev_vars.display());
            }
            println!("; {zone}: `{}` taken at {}. Put the keys in the Worker with", step.word(), rollover::utc(now));
            println!(";   wrangler secret put {name}");
            println!("; and paste this value (it holds the private keys: keep it out of the repository and out of KV):");
            println!("{secret}");
            println!();
            describe(&keys);
            if let (Step::Switch, rollover::Phase::Switched { role, .. }) = (step, rollover::Phase::of(&keys)) {
                if role.changes_ds() {
                    println!("; Give the registrar the new DS in place of the old one:");
                    println!("{}", ds_line(keys.key_signing()));
                    println!("; and once the parent serves it (dig DS {zone} at the parent's servers): edgedns dnssec rollover {zone} ds-submitted");
                    println!();
                }
            }
            explain(&zone, &keys, &terms, now);
            Ok(())
        }
    }
}

/// Says where the rollover is, the next step and when it may be taken.
fn explain(zone: &Name, keys: &KeySet, timing: &Timing, now: u64) {
    let plan = rollover::plan(keys, timing);
    let ttls = &timing.ttls;
    match plan.phase {
        rollover::Phase::Idle => {
            let which = if keys.is_pair() { " --key zsk (or --key ksk)" } else { "" };
            println!("; rollover: none under way. `edgedns dnssec rollover {zone} start{which}` begins one.");
        }
        rollover::Phase::Published { role, since_s } => {
            println!(
                "; rollover of the {} by {}: the new key is published since {}, the old one signs the data.",
                role.short(),
                role.method(),
                rollover::utc(since_s)
            );
        }
        rollover::Phase::Switched { role, since_s, ds_since_s } => {
            println!(
                "; rollover of the {} by {}: the new key signs since {}, the old one is retired (still published).",
                role.short(),
                role.method(),
                rollover::utc(since_s)
            );
            match ds_since_s {
                Some(ds) => println!("; the parent serves the new DS since {}.", rollover::utc(ds)),
                None if role.changes_ds() => {
                    println!("; the parent's DS must change to the new key's (`edgedns dnssec ds {zone}` prints it); then `ds-submitted`.")
                }
                None => {}
            }
        }
    }
    if plan.phase != rollover::Phase::Idle {
        let not_before = plan.not_before_s();
        let when = match plan.remaining_s(now) {
            0 if not_before == 0 => "whenever the step it waits for is done".to_owned(),
            0 => format!("now (since {})", rollover::utc(not_before)),
            left => format!("at {} (in {})", rollover::utc(not_before), rollover::duration(left)),
        };
        println!("; next: `edgedns dnssec rollover {zone} {}`, {when}", plan.next.word());
        for wait in &plan.waits {
            println!(";   until {}: {wait}", rollover::utc(wait.until_s()));
        }
    }
    println!(
        "; waits from: DNSKEY TTL {} s (as the Worker answers it), largest TTL {} s, negative TTL {} s, DS TTL {} s, propagation delay {} s, publish safety {} s, retire safety {} s",
        ttls.dnskey_s, ttls.largest_s, ttls.negative_s, timing.ds_ttl_s, timing.propagation_delay_s, timing.publish_safety_s, timing.retire_safety_s
    );
}

/// A zone name as typed, made absolute.
fn zone_name(text: &str) -> Result<Name, String> {
    let mut name = Name::from_str(text).map_err(|e| format!("{text}: not a domain name ({e})"))?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

/// A new key from the operating system's random source.
fn generate(zone: &Name, flags: u16, algorithm: Algorithm) -> Result<SigningKey, String> {
    // A P-256 scalar of 32 random octets is out of range with probability about 2^-32.
    for _ in 0..8 {
        let mut private = [0u8; 32];
        getrandom::fill(&mut private).map_err(|e| format!("no random source: {e}"))?;
        if let Some(key) = SigningKey::from_private(zone, flags, algorithm, &private) {
            return Ok(key);
        }
    }
    Err("could not make a key from the random source".to_owned())
}

/// Where a zone's keys were read.
enum KeyOrigin {
    /// The environment variable.
    Environment,
    /// The dotenv file.
    File(PathBuf),
}

/// The keys of `zone` from the environment or the dotenv file, and where they were.
fn read_keys(zone: &Name, source: &KeySource) -> Result<(KeySet, KeyOrigin), String> {
    let name = secret_name(zone);
    let (secret, origin, from) = match std::env::var(&name) {
        Ok(value) => (value, format!("${name}"), KeyOrigin::Environment),
        Err(_) => {
            let text = std::fs::read_to_string(&source.dev_vars).map_err(|e| {
                format!(
                    "{name} is not in the environment and {} cannot be read ({e}); make a key with `edgedns dnssec keygen {zone}`",
                    source.dev_vars.display()
                )
            })?;
            let value = dev_var(&text, &name).ok_or_else(|| {
                format!("{}: no {name}; make a key with `edgedns dnssec keygen {zone} --dev-vars {}`", source.dev_vars.display(), source.dev_vars.display())
            })?;
            (value, format!("{} {name}", source.dev_vars.display()), KeyOrigin::File(source.dev_vars.clone()))
        }
    };
    let keys = KeySet::parse(&secret, zone).map_err(|e| format!("{origin}: {e}"))?;
    Ok((keys, from))
}

/// Prints each key: role, state, tag, algorithm, its DNSKEY and (for a key-signing key) its DS.
fn describe(keys: &KeySet) {
    for entry in keys.entries() {
        let key = &entry.key;
        let role = match (key.is_key_signing(), keys.is_pair()) {
            (true, false) => "combined signing key (CSK)",
            (true, true) => "key-signing key (KSK)",
            (false, _) => "zone-signing key (ZSK)",
        };
        let state = match (entry.state, entry.since_s) {
            (KeyState::Active, None) => String::new(),
            (state, Some(since)) => format!(", {} since {}", state.word(), rollover::utc(since)),
            (state, None) => format!(", {}", state.word()),
        };
        println!("; {role}: key tag {}, algorithm {} ({}){state}", key.key_tag(), key.algorithm().number(), key.algorithm().mnemonic());
        println!("{} 3600 IN DNSKEY {} 3 {} {}", key.zone(), key.flags(), key.algorithm().number(), BASE64.encode(key.public_key()));
        if key.is_key_signing() {
            match entry.state {
                KeyState::Active => println!("; the DS to give the registrar:"),
                KeyState::Published => println!("; its DS, for the registrar after `switch`:"),
                KeyState::Retired => println!("; its DS, the one the registrar had before this rollover:"),
            }
            println!("{}", ds_line(key));
        }
    }
}

/// The DS record of a key in presentation form.
fn ds_line(key: &SigningKey) -> String {
    let ds = key.ds_sha256_rdata();
    let digest: String = ds.get(4..).unwrap_or_default().iter().map(|octet| format!("{octet:02X}")).collect();
    format!("{} IN DS {} {} 2 {digest}", key.zone(), key.key_tag(), key.algorithm().number())
}

/// The value of `name` in a dotenv file (`NAME=value` or `NAME="value"`).
fn dev_var(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        Some(value.to_owned())
    })
}

/// Sets `name` in a dotenv file, keeping its other lines.
fn write_dev_var(path: &Path, name: &str, value: &str, force: bool) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if dev_var(&text, name).is_some() && !force {
        return Err(format!("{}: {name} is already set; --force replaces it (and the DS at the registrar must change with it)", path.display()));
    }
    let mut lines: Vec<String> = text.lines().filter(|line| dev_var(line, name).is_none()).map(str::to_owned).collect();
    lines.push(format!("{name}=\"{value}\""));
    std::fs::write(path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
}
