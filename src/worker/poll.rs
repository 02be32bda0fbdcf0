//! Waiting for what another request is doing (a KV read, an upstream lookup), on this
//! request's own timers.
//!
//! workerd lets no request resume on another's behalf ("Cannot perform I/O on behalf of a
//! different request"): a Rust waker called from the request doing the work would run the
//! waiting request's continuation in that request's context. So a waiting request looks again
//! on its own timers, 1 ms doubling to [`POLL_MAX_MS`] apart, and what it takes is plain data.

/// The longest pause between two looks.
const POLL_MAX_MS: u64 = 8;

/// Looks with `look` until it gives a value.
pub(crate) async fn until<T>(mut look: impl FnMut() -> Option<T>) -> T {
    let mut pause = 1;
    loop {
        if let Some(value) = look() {
            return value;
        }
        worker::Delay::from(std::time::Duration::from_millis(pause)).await;
        pause = (pause * 2).min(POLL_MAX_MS);
    }
}
