//! `edgedns dnssec`: a zone's signing keys (README.md "DNSSEC"): make them, print the DS
//! records for the registrar, show their state. Keys live in a Worker secret
//! (`wrangler secret put DNSSEC_KEY_<ZONE>`) or, locally, in `.dev.vars`; never in KV or in
//! the repository.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use clap::{Args, Subcommand};
use edgedns::dnssec::key::{secret_name, FLAGS_KEY_SIGNING, FLAGS_ZONE_SIGNING};
use edgedns::dnssec::{Algorithm, KeySet, SigningKey};
use hickory_proto::rr::Name;

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
    /// Show a zone's keys: role, key tag, algorithm, DNSKEY and DS.
    Status {
        /// The zone.
        zone: String,
        #[command(flatten)]
        source: KeySource,
    },
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
            let keys = read_keys(&zone, &source)?;
            println!("{}", ds_line(keys.key_signing()));
            Ok(())
        }
        DnssecCommand::Status { zone, source } => {
            let zone = zone_name(&zone)?;
            let keys = read_keys(&zone, &source)?;
            describe(&keys);
            Ok(())
        }
    }
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

/// The keys of `zone` from the environment or the dotenv file.
fn read_keys(zone: &Name, source: &KeySource) -> Result<KeySet, String> {
    let name = secret_name(zone);
    let (secret, origin) = match std::env::var(&name) {
        Ok(value) => (value, format!("${name}")),
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
            (value, format!("{} {name}", source.dev_vars.display()))
        }
    };
    KeySet::parse(&secret, zone).map_err(|e| format!("{origin}: {e}"))
}

/// Prints each key: role, tag, algorithm, its DNSKEY and (for the key-signing key) its DS.
fn describe(keys: &KeySet) {
    for key in keys.keys() {
        let role = match (key.is_key_signing(), keys.keys().count()) {
            (true, 1) => "combined signing key (CSK)",
            (true, _) => "key-signing key (KSK)",
            (false, _) => "zone-signing key (ZSK)",
        };
        println!("; {role}: key tag {}, algorithm {} ({})", key.key_tag(), key.algorithm().number(), key.algorithm().mnemonic());
        println!("{} 3600 IN DNSKEY {} 3 {} {}", key.zone(), key.flags(), key.algorithm().number(), BASE64.encode(key.public_key()));
        if key.is_key_signing() {
            println!("; the DS to give the registrar:");
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
