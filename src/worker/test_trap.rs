//! Requests that fail as a bug would, for the recovery test only (`--features test-trap`,
//! tests/e2e/recovery.rs; never in a deployed build): a Rust panic and a bare wasm trap (what an
//! allocation failure does, with no panic hook to see it), each before the Worker awaits
//! anything or after. After either, the runtime must start the wasm instance anew and answer
//! the next request (scripts/object-entry.mjs, worker-build's recovery).

use std::time::Duration;

use worker::web_sys;

/// Fails the request as its path asks; any other path goes on to the Worker.
pub(super) async fn intercept(request: &web_sys::Request) {
    let url = request.url();
    let Some(kind) = url.rsplit_once("/__trap").map(|(_, kind)| kind.to_owned()) else { return };
    if kind.ends_with("-later") {
        worker::Delay::from(Duration::from_millis(1)).await;
    }
    if kind.starts_with("-unreachable") {
        core::arch::wasm32::unreachable();
    }
    if kind.starts_with("-panic") {
        panic_on_purpose();
    }
}

#[allow(clippy::panic)] // the point of this build: a panic as a bug would raise it
fn panic_on_purpose() {
    panic!("test-trap: a panic on purpose");
}
