//! The scheduled run (a Cron Trigger, or `/cdn-cgi/handler/scheduled` locally): the health
//! checks ([`health::run`]) and the firewall's subscriptions ([`subscriptions::run`]), side by
//! side, both timed from the run's scheduled time.

use super::*;

#[event(scheduled)]
pub(super) async fn scheduled(event: worker::ScheduledEvent, env: Env, _context: worker::ScheduleContext) {
    let scheduled = event.schedule();
    let scheduled_ms = (if scheduled.is_finite() && scheduled > 0.0 { scheduled } else { js_sys::Date::now() }).max(0.0) as u64;
    futures_util::future::join(health::run(&env, scheduled_ms), subscriptions::run(&env, scheduled_ms)).await;
}
