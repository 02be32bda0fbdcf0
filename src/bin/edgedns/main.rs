//! `edgedns`: the operator's command-line tool. Checks zone files, compiles them into the
//! snapshot the Worker serves, publishes it to Workers KV (through wrangler), deploys, and
//! answers queries offline with the same engine or online from a deployed Worker.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}
