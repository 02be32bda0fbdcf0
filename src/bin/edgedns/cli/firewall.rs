//! `edgedns firewall`: the resolver's rule list, checked and published.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use edgedns::snapshot;

use super::args::Target;
use super::kv::put_bytes;

#[derive(Subcommand)]
pub(super) enum FirewallCommand {
    /// Check a rule list; errors are printed as file:line: message.
    Check {
        /// The rule list (one `allow|alert|block <name|*.domain> [answer]` per line).
        file: PathBuf,
    },
    /// Check a rule list and publish it: `firewall:<version>`, then `firewall:current`.
    Publish {
        /// The rule list.
        file: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

pub(super) fn run(command: FirewallCommand) -> Result<(), String> {
    use edgedns::resolver::firewall::{self, Firewall};
    let (FirewallCommand::Check { file } | FirewallCommand::Publish { file, .. }) = &command;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rules = Firewall::load(&text).map_err(|error| match error {
        firewall::ListError::Lines(error) => {
            error.0.iter().map(|(line, message)| format!("{}:{line}: {message}", file.display())).collect::<Vec<_>>().join("\n")
        }
        too_large => format!("{}: {too_large}", file.display()),
    })?;
    match command {
        FirewallCommand::Check { .. } => println!("ok: {} rules", rules.len()),
        FirewallCommand::Publish { target, .. } => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let version = snapshot::version_id(text.as_bytes(), now);
            put_bytes(&target, &firewall::version_key(&version), text.as_bytes())?;
            put_bytes(&target, firewall::CURRENT_KEY, version.as_bytes())?;
            println!("published firewall {version}: {} rules", rules.len());
        }
    }
    Ok(())
}
