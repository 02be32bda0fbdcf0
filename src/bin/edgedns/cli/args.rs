//! Arguments several commands share: the zone files, the KV namespace, the shard size.

use std::path::PathBuf;

use clap::Args;
use edgedns::snapshot;

#[derive(Args)]
pub(super) struct Sources {
    /// Zone files, or directories whose `*.zone`, `*.routes.toml` and `delegation-sets.toml`
    /// files are read.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
}

/// How the snapshot is split into KV values.
#[derive(Args)]
pub(super) struct Split {
    /// About how many KiB of records each shard holds (a cold isolate reads one).
    #[arg(long, default_value_t = (snapshot::DEFAULT_SHARD_BYTES / 1024) as u64, value_parser = clap::value_parser!(u64).range(1..=20_480))]
    pub(crate) shard_kib: u64,
}

impl Split {
    pub(crate) fn bytes(&self) -> usize {
        self.shard_kib as usize * 1024
    }
}

/// Which wrangler runs, with which configuration, on which KV binding: what every command that
/// reaches a namespace shares (`deploy` too).
#[derive(Args, Clone)]
pub(super) struct WranglerArgs {
    /// The KV binding name in wrangler.toml.
    #[arg(long, default_value = "ZONES")]
    pub(crate) binding: String,
    /// wrangler configuration file.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// The wrangler executable (default: ./node_modules/.bin/wrangler, else npx wrangler).
    #[arg(long = "wrangler", value_name = "WRANGLER")]
    pub(crate) executable: Option<PathBuf>,
}

#[derive(Args)]
pub(super) struct Target {
    /// Use the local dev KV (wrangler dev's state).
    #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
    pub(crate) local: bool,
    /// Use the real namespace of the deployed Worker.
    #[arg(long)]
    pub(crate) remote: bool,
    /// Local state directory (wrangler's --persist-to), for --local.
    #[arg(long)]
    pub(crate) persist_to: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) wrangler: WranglerArgs,
    /// The wrangler environment (`[env.NAME]` in wrangler.toml, with its own KV namespace):
    /// `staging`, `production`. Without it, the top-level configuration.
    #[arg(long, value_name = "NAME")]
    pub(crate) env: Option<String>,
}

impl Target {
    /// Where this is, in words: `remote KV binding ZONES (env staging)`.
    pub(crate) fn place(&self) -> String {
        let env = self.env.as_ref().map(|env| format!(" (env {env})")).unwrap_or_default();
        format!("{} KV binding {}{env}", if self.local { "local" } else { "remote" }, self.wrangler.binding)
    }
}
