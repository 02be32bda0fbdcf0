//! `edgedns firewall`: the resolver's rule lists, in the formats people have, checked and
//! published.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Subcommand, ValueEnum};
use edgedns::resolver::firewall::{self, compiled, formats, Firewall, Format, NamedReading};
use edgedns::resolver::profile::Profiles;
use edgedns::snapshot;

use super::args::Target;
use super::kv::put_bytes;

/// A list's format on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum FormatArg {
    /// Detected from the first lines that tell.
    Auto,
    /// `allow|alert|block <name|*.domain|network> [answer]`.
    Native,
    /// `0.0.0.0 ads.example`.
    Hosts,
    /// One domain a line (the domain and its subdomains).
    Domains,
    /// `||ads.example^`, `@@||good.example^`, `$important`, `$dnsrewrite`.
    Adblock,
    /// An RPZ zone file.
    Rpz,
}

impl FormatArg {
    fn format(self, text: &str) -> Format {
        match self {
            Self::Auto => Format::detect(text),
            Self::Native => Format::Native,
            Self::Hosts => Format::Hosts,
            Self::Domains => Format::Domains,
            Self::Adblock => Format::Adblock,
            Self::Rpz => Format::Rpz,
        }
    }
}

#[derive(Subcommand)]
pub(super) enum FirewallCommand {
    /// Check rule lists; errors and the lines that cannot be expressed are printed as
    /// file:line: why.
    Check {
        /// The lists' format (`auto`: detected per list).
        #[arg(long, value_enum, default_value = "auto")]
        format: FormatArg,
        /// Also check the resolver's profiles (`PROFILES` in a wrangler.toml's `[vars]`, or a
        /// JSON file): they must read, and every list they name must be among these.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// The rule lists.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check rule lists and publish what they express, as one version: `firewall:<version>`,
    /// then `firewall:current`. The lines that cannot be expressed are printed as file:line.
    Publish {
        /// The lists' format (`auto`: detected per list).
        #[arg(long, value_enum, default_value = "auto")]
        format: FormatArg,
        /// Also check the resolver's profiles (as `check --profiles`) before publishing.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// The rule lists.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
}

/// A list as given: its path, name (file name), format and text.
struct Source {
    path: PathBuf,
    name: String,
    format: Format,
    text: String,
}

pub(super) fn run(command: FirewallCommand) -> Result<(), String> {
    let (FirewallCommand::Check { format, files, profiles } | FirewallCommand::Publish { format, files, profiles, .. }) = &command;
    let profiles = profiles.as_deref().map(read_profiles).transpose()?;
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        // Bounded before it is buffered: a list over the limit is refused unread.
        let bytes = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
        if bytes > firewall::MAX_LIST_BYTES as u64 {
            return Err(format!("{}: {}", path.display(), firewall::ListError::TooLarge { bytes: usize::try_from(bytes).unwrap_or(usize::MAX) }));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
        sources.push(Source { path: path.clone(), name, format: format.format(&text), text });
    }
    // Each list on its own first, so every report line names its file.
    let mut errors = Vec::new();
    let (mut skipped, mut duplicates) = (0, 0);
    for source in &sources {
        let reading = NamedReading { name: Some(source.name.clone()), format: source.format, reading: formats::read(source.format, &source.text) };
        match Firewall::compile(&[reading]) {
            Ok((_, reports)) => {
                for report in reports {
                    for line in &report.skipped {
                        eprintln!("{}:{}: {} (skipped)", source.path.display(), line.line, line.reason);
                    }
                    for (line, first) in &report.duplicates {
                        eprintln!("{}:{line}: the same rule as line {first} (the first is kept)", source.path.display());
                    }
                    skipped += report.skipped.len();
                    duplicates += report.duplicates.len();
                }
            }
            Err(firewall::ListError::Lines(error)) => {
                errors.extend(error.0.iter().map(|(line, message)| format!("{}:{line}: {message}", source.path.display())));
            }
            Err(other) => errors.push(format!("{}: {other}", source.path.display())),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    // A native list published alone keeps no name (as it did when the value was its text).
    let alone = matches!(sources.as_slice(), [only] if only.format == Format::Native);
    if let Some(profiles) = &profiles {
        let names: Vec<&str> = if alone { Vec::new() } else { sources.iter().map(|source| source.name.as_str()).collect() };
        let missing: Vec<String> = profiles
            .missing_lists(&names)
            .into_iter()
            .map(|(profile, list)| format!("profile {profile} names the list {list:?}, which is not among the lists given"))
            .collect();
        if !missing.is_empty() {
            let hint = if names.is_empty() { " (a native list published alone keeps no name: publish it with another list)" } else { "" };
            return Err(format!("{}{hint}", missing.join("\n")));
        }
    }
    // What is published: the lists compiled together, in their compiled form, read back here
    // as the Worker will read it (limits and all).
    let readings: Vec<NamedReading> = sources
        .iter()
        .map(|source| NamedReading { name: (!alone).then(|| source.name.clone()), format: source.format, reading: formats::read(source.format, &source.text) })
        .collect();
    let together = |error: firewall::ListError| match sources.as_slice() {
        [only] => format!("{}: {error}", only.path.display()),
        _ => format!("the lists together: {error}"),
    };
    let (compiled, _) = Firewall::compile(&readings).map_err(together)?;
    drop(readings);
    let value = compiled.to_published();
    drop(compiled);
    let loaded = Firewall::from_published(value.clone()).map_err(together)?;
    let formats: Vec<String> = sources.iter().map(|source| format!("{} ({})", source.name, source.format.name())).collect();
    let notes = match (skipped, duplicates) {
        (0, 0) => String::new(),
        _ => format!("; {skipped} lines not expressible, {duplicates} duplicates: see above"),
    };
    match command {
        FirewallCommand::Check { .. } => {
            println!("ok: {} rules from {}{notes}", loaded.len(), formats.join(", "));
            if let Some(profiles) = &profiles {
                let names: Vec<&str> = profiles.iter().map(|profile| profile.name.as_str()).collect();
                println!("ok: {} profiles ({})", profiles.len(), names.join(", "));
            }
        }
        FirewallCommand::Publish { target, .. } => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let version = snapshot::version_id(&value, now);
            // Over KV's value limit, in parts: the first under the version's key.
            let parts: Vec<&[u8]> = value.chunks(compiled::PART_BYTES).collect();
            for (part, bytes) in parts.iter().enumerate().rev() {
                put_bytes(&target, &compiled::part_key(&version, part), bytes)?;
            }
            put_bytes(&target, firewall::CURRENT_KEY, version.as_bytes())?;
            let size = if parts.len() > 1 { format!("{} bytes in {} parts", value.len(), parts.len()) } else { format!("{} bytes", value.len()) };
            println!("published firewall {version}: {} rules from {}{notes} ({size} compiled)", loaded.len(), formats.join(", "));
        }
    }
    Ok(())
}

/// The largest profiles file read (a wrangler.toml, or JSON).
const MAX_PROFILES_FILE: u64 = 1024 * 1024;

/// `PROFILES` from a wrangler.toml's `[vars]` (a table, or a string holding JSON), or a JSON
/// file (by its `.json` name), read and checked as the Worker reads it.
fn read_profiles(path: &Path) -> Result<Profiles, String> {
    let bytes = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if bytes > MAX_PROFILES_FILE {
        return Err(format!("{}: {bytes} bytes, over the limit of {MAX_PROFILES_FILE}", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json = if path.extension().is_some_and(|extension| extension == "json") {
        text
    } else {
        let value: toml::Value = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        match value.get("vars").and_then(|vars| vars.get("PROFILES")) {
            Some(toml::Value::String(json)) => json.clone(),
            Some(table) => serde_json::to_string(table).map_err(|e| format!("{}: {e}", path.display()))?,
            None => return Err(format!("{}: no PROFILES in [vars]", path.display())),
        }
    };
    Profiles::parse(&json).map_err(|error| format!("{}: {error}", path.display()))
}
