//! `edgedns deploy --env NAME`: a release to one wrangler environment, in the order that keeps
//! what is served sound, stopping at the first step that fails:
//!
//! 1. **check**: the zone files compile (nothing else happens when they do not);
//! 2. **diff**: what publishing would change, against the environment's namespace;
//! 3. **confirm**: `--yes`, or `y` typed at the prompt;
//! 4. **publish**: the zones, through the same sequence as `edgedns publish` (skipped when
//!    nothing changed);
//! 5. **deploy**: `wrangler deploy --env NAME`, which builds the Worker and uploads it with its
//!    bindings and Cron Trigger;
//! 6. **probe** (with `--probe FILE --url URL`): the deployed Worker's answers checked.
//!
//! Each failure says what is served after it.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Args;

use super::args::{Sources, Split, Target, WranglerArgs};
use super::kv::{configured, wrangler};
use super::sources::{compile_files, read_sources};
use super::{publish, remote};

#[derive(Args)]
pub(super) struct DeployArgs {
    #[command(flatten)]
    sources: Sources,
    /// The wrangler environment to release to (`[env.NAME]` in wrangler.toml): its Worker and
    /// its own KV namespace.
    #[arg(long, value_name = "NAME")]
    env: String,
    /// Do not ask: the changes are confirmed (for CI).
    #[arg(long, short = 'y')]
    yes: bool,
    /// After the deploy, ask the Worker every question of this probes file (see `edgedns
    /// probe`) at --url.
    #[arg(long, value_name = "FILE", requires = "url")]
    probe: Option<PathBuf>,
    /// The deployed Worker's DoH URL, for --probe (`https://dns.example.com/dns-query`).
    #[arg(long, value_name = "URL", requires = "probe")]
    url: Option<String>,
    #[command(flatten)]
    wrangler: WranglerArgs,
    #[command(flatten)]
    split: Split,
}

/// The steps, as the progress lines and failures name them.
const STEPS: [&str; 6] = ["check", "diff", "confirm", "publish", "deploy", "probe"];

fn step(n: usize, detail: &str) {
    println!("[{}/{}] {}: {detail}", n + 1, STEPS.len(), STEPS[n]);
}

/// A failure at step `n`, and what is served after it.
fn stopped(n: usize, error: &str, served: &str) -> String {
    format!("{error}\ndeploy stopped at {}: {served}", STEPS[n])
}

pub(super) fn run(args: DeployArgs) -> Result<(), String> {
    let env = args.env.clone();
    let target = Target { local: false, remote: true, persist_to: None, wrangler: args.wrangler.clone(), env: Some(env.clone()) };
    let untouched = format!("nothing was published or deployed to {env}");
    // The probes file is read first: a typo in it should not surface after the deploy.
    let probes = match &args.probe {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| stopped(0, &format!("{}: {e}", path.display()), &untouched))?;
            Some(remote::probes(path, &text).map_err(|e| stopped(0, &e, &untouched))?)
        }
        None => None,
    };
    let url = args.url.as_deref().map(remote::endpoint).transpose().map_err(|e| stopped(0, &e, &untouched))?;

    step(0, &format!("compiling {}", args.sources.paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(" ")));
    let files = read_sources(&args.sources).map_err(|e| stopped(0, &e, &untouched))?;
    let catalog = compile_files(&files).map_err(|e| stopped(0, &e, &untouched))?;

    step(1, &format!("against {}", target.place()));
    let (changes, against) = publish::compare(&catalog, &target).map_err(|e| stopped(1, &e, &untouched))?;
    print!("{}", changes.render(&against, edgedns::zone::diff::Format::Text));
    let unchanged = changes.is_empty() && against.version.is_some();

    let question = if unchanged {
        format!("The zones are unchanged. Deploy the Worker to {env}?")
    } else {
        format!("Publish these changes to {env} and deploy the Worker?")
    };
    if args.yes {
        step(2, "--yes");
    } else if !confirmed(&question) {
        return Err(stopped(2, "not confirmed", &untouched));
    }

    let served_before = match &against.version {
        Some(version) => format!("the Worker in {env} serves version {version}, as before"),
        None => format!("nothing is published in {env} yet"),
    };
    let version = if unchanged {
        let version = against.version.clone().unwrap_or_default();
        step(3, &format!("no changes: {version} stays"));
        version
    } else {
        step(3, &target.place());
        publish::publish(&catalog, &files, &target, args.split.bytes()).map_err(|e| stopped(3, &e, &format!("{served_before}; nothing was deployed")))?
    };

    step(4, &format!("wrangler deploy --env {env}"));
    let mut command = wrangler(&target);
    command.arg("deploy");
    configured(&mut command, &target);
    // wrangler's own output (the build, the upload, the URL) goes straight to the terminal.
    let status = command
        .status()
        .map_err(|e| stopped(4, &format!("cannot run wrangler: {e}"), &format!("version {version} is published; the Worker code was not deployed")))?;
    if !status.success() {
        return Err(stopped(
            4,
            &format!("wrangler deploy --env {env} failed ({status})"),
            &format!(
                "version {version} is published and served by the Worker code deployed before; fix the cause and run the deploy again \
                 (publishing is skipped when nothing changed), or `edgedns rollback --remote --env {env}` for the zones"
            ),
        ));
    }

    if let (Some(probes), Some(url)) = (&probes, &url) {
        step(5, &format!("{} question(s) to {url}", probes.len()));
        remote::run_probes(url, probes).map_err(|e| {
            stopped(
                5,
                &e,
                &format!(
                    "version {version} and the new Worker are live in {env}: `edgedns rollback --remote --env {env}` restores the zones, \
                     `npx wrangler rollback --env {env}` the Worker code"
                ),
            )
        })?;
    }
    println!("deployed to {env}: version {version}");
    Ok(())
}

/// Asks on the terminal (stderr, so stdout stays the record); only `y` or `yes` confirms, and
/// no answer (end of input) is a no.
fn confirmed(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(_) => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        Err(_) => false,
    }
}
