//! The Workers Rate Limiting binding, for what [`crate::rate_limit`] decides to count: queries
//! per client network in resolver mode, failed admin authentications per client.
//!
//! Availability first: a binding that is not configured, or a call that fails, lets the
//! request through, with one log line per isolate.

use std::cell::RefCell;
use std::net::IpAddr;

use worker::{console_error, console_log, Env};

use crate::admin::{self, AdminError};
use crate::rate_limit::{self, ClientNetworks, Lockout, ADMIN_AUTH_BINDING, QUERY_BINDING};

#[derive(Default)]
struct Limits {
    /// How query clients are grouped, read once per isolate.
    networks: Option<ClientNetworks>,
    /// Clients locked out of the admin API by this isolate.
    lockout: Lockout,
    /// The bindings already reported missing or failing.
    reported: Vec<&'static str>,
}

thread_local! {
    static LIMITS: RefCell<Limits> = RefCell::new(Limits::default());
}

/// Logs a binding's trouble once per isolate.
fn report(binding: &'static str, problem: &str) {
    let first = LIMITS.with(|limits| {
        let mut limits = limits.borrow_mut();
        let first = !limits.reported.contains(&binding);
        if first {
            limits.reported.push(binding);
        }
        first
    });
    if first {
        console_error!("edgedns: rate limit {binding} not applied: {problem}");
    }
}

/// Counts one use of `key` on `binding`: whether it is within the limit.
async fn within(env: &Env, binding: &'static str, key: String) -> bool {
    let limiter = match env.rate_limiter(binding) {
        Ok(limiter) => limiter,
        Err(error) => {
            report(binding, &format!("no binding ({error})"));
            return true;
        }
    };
    match limiter.limit(key).await {
        Ok(outcome) => outcome.success,
        Err(error) => {
            report(binding, &format!("the call failed ({error})"));
            true
        }
    }
}

fn networks(env: &Env) -> ClientNetworks {
    if let Some(networks) = LIMITS.with(|limits| limits.borrow().networks) {
        return networks;
    }
    let networks = ClientNetworks::from_vars(|name| env.var(name).ok().map(|value| value.to_string())).unwrap_or_else(|error| {
        console_error!("edgedns: {error}; counting clients by /24 and /56");
        ClientNetworks::default()
    });
    LIMITS.with(|limits| limits.borrow_mut().networks = Some(networks));
    networks
}

/// Whether a query from `address` is within its network's limit (counting it). A request
/// without a connecting address (only possible outside the edge) is not counted.
pub(super) async fn query_allowed(env: &Env, address: Option<IpAddr>) -> bool {
    let Some(address) = address else { return true };
    within(env, QUERY_BINDING, networks(env).query_key(address)).await
}

/// The admin token check for the admin API and `/explain`: a locked-out client is refused
/// first, a failure is counted against the client, and one past the limit locks it out.
pub(super) async fn authorize_admin(env: &Env, address: Option<IpAddr>, authorization: Option<&str>, now_ms: u64) -> Result<(), AdminError> {
    let key = address.map(rate_limit::admin_key);
    if let Some(refusal) = LIMITS.with(|limits| limits.borrow().lockout.refusal(key.as_deref(), now_ms)) {
        return Err(refusal);
    }
    let token = env.secret("ADMIN_TOKEN").ok().map(|token| token.to_string());
    if admin::authorize(token.as_deref(), authorization).is_ok() {
        return Ok(());
    }
    let within_limit = match &key {
        Some(key) => within(env, ADMIN_AUTH_BINDING, key.clone()).await,
        None => true,
    };
    let error = LIMITS.with(|limits| limits.borrow_mut().lockout.failed(key.as_deref(), within_limit, now_ms));
    if matches!(error, AdminError::TooManyFailures(_)) {
        // The address is not logged: the count and the lockout are enough to act on.
        console_log!("edgedns: admin authentication failed too often from one client: locked out for {} s", rate_limit::RETRY_AFTER_S);
    }
    Err(error)
}
