//! The few calls into the runtime a DNS answer makes, each in one crossing from wasm to
//! JavaScript (src/worker/runtime.js): the request line and the headers an answer reads, the
//! client's location when a routed answer asks for it, and the response built in one step.
//!
//! Why not `worker`'s wrappers for these: its `Request` reads the method, the URL, the
//! headers object and `cf` when it is made, whatever the request needs; `request.url()`
//! parses the URL in full; every header is a call; and a response's `Headers` are built one
//! call per header, then copied into a `Response` with another few. On the path of every
//! query those calls cost more than answering it ([BENCHMARKS.md](../../BENCHMARKS.md) part 5).
//! Everything else (KV, the admin API, bodies, timers, `waitUntil`) stays with `worker`.

use std::cell::{OnceCell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

use wasm_bindgen::prelude::*;
use worker::web_sys;

use crate::client::{EdgeLocation, LocationSource};
use crate::doh::header_sets::{HeaderSets, Slot};
use crate::doh::HttpResponse;

#[wasm_bindgen(module = "/src/worker/runtime.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = requestHead)]
    fn request_head(request: &web_sys::Request) -> Result<String, JsValue>;
    #[wasm_bindgen(catch, js_name = edgeLocation)]
    fn edge_location(request: &web_sys::Request) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch)]
    fn respond(status: u16, slot: u8, headers: &str, body: &[u8]) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(catch, js_name = respondKept)]
    fn respond_kept(status: u16, slot: u8, body: &[u8]) -> Result<web_sys::Response, JsValue>;
}

/// The request line and the headers an answer reads, as one string from the runtime.
pub(super) struct RequestHead(String);

/// [`RequestHead`]'s fields.
pub(super) struct Head<'a> {
    /// The method as `worker` names it: upper case, and GET for any it does not know.
    pub method: &'static str,
    /// The URL as the runtime serialized it.
    pub url: &'a str,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `Accept`.
    pub accept: Option<&'a str>,
    /// `CF-Connecting-IP`: the connecting client's address, set by the edge.
    pub connecting_ip: Option<&'a str>,
}

impl RequestHead {
    /// Reads it from the runtime (one call).
    pub fn read(request: &web_sys::Request) -> Result<Self, JsValue> {
        request_head(request).map(Self)
    }

    /// Its fields; `None` if the runtime gave something else than five lines.
    pub fn fields(&self) -> Option<Head<'_>> {
        let mut lines = self.0.split('\n');
        let method = method_name(lines.next()?);
        let url = lines.next()?;
        let mut header = || lines.next().map(|line| line.strip_prefix('='));
        let (content_type, accept, connecting_ip) = (header()?, header()?, header()?);
        Some(Head { method, url, content_type, accept, connecting_ip })
    }
}

/// The method as `worker::Method` names it (what the handler has always been given): its
/// known methods in upper case, and GET for any other.
fn method_name(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "REPORT"];
    KNOWN.into_iter().find(|known| known.eq_ignore_ascii_case(method)).unwrap_or("GET")
}

/// The edge's location data for a request (its `cf` object), read on first use: only a
/// routed answer asks.
pub(super) struct CfLocation {
    request: web_sys::Request,
    location: OnceCell<EdgeLocation>,
}

impl CfLocation {
    /// The location of `request`'s client, not read yet.
    pub fn new(request: web_sys::Request) -> Self {
        Self { request, location: OnceCell::new() }
    }
}

impl LocationSource for CfLocation {
    fn location(&self) -> &EdgeLocation {
        self.location.get_or_init(|| edge_location(&self.request).ok().flatten().map(|json| EdgeLocation::from_json(&json)).unwrap_or_default())
    }
}

thread_local! {
    /// The header sets runtime.js keeps a `Headers` object for.
    static HEADER_SETS: RefCell<HeaderSets> = RefCell::new(HeaderSets::default());
}

/// The runtime's response for `response`, made in one call (status, headers and body); its
/// headers are sent as text only the first time ([`HeaderSets`]).
pub(super) fn to_response(response: &HttpResponse) -> worker::Result<web_sys::Response> {
    // A kept set was sent as text once, so it holds no line feed (below).
    let made = match HEADER_SETS.with(|sets| sets.borrow_mut().slot(&response.headers)) {
        Slot::Kept(slot) => respond_kept(response.status, slot, &response.body),
        Slot::Keep(slot) => {
            let made = match response.header_lines() {
                Some(headers) => respond(response.status, slot, &headers, &response.body).map_err(worker::Error::from),
                // The runtime refuses such a field as `Headers.append` would.
                None => Err(worker::Error::RustError("a header holds a line feed".to_owned())),
            };
            if made.is_err() {
                // The runtime did not take the headers: its slot holds nothing of this set.
                HEADER_SETS.with(|sets| sets.borrow_mut().forget(slot));
            }
            return made;
        }
    };
    made.map_err(worker::Error::from)
}

/// Runs the request handler `future` at once: its response when it finishes without waiting
/// (a query answered from the zones the isolate holds, the usual case), or else a promise of
/// it. `worker`'s `#[event(fetch)]` always returns a promise, whose first poll waits for a
/// microtask: a promise, a closure and a trip through the microtask queue on every query.
///
/// The first poll happens here, before any executor owns the future, with a waker that
/// relays to whichever waker polls it next ([`Relay`]): what it waits for keeps the waker it
/// was first polled with (`worker::Delay` does), and that one must reach the executor that
/// `future_to_promise` gives the rest of the work to.
pub(super) fn now_or_later(future: impl Future<Output = JsValue> + 'static) -> JsValue {
    let relay = Arc::new(Relay::default());
    let waker = Waker::from(relay.clone());
    let mut future: Pin<Box<dyn Future<Output = JsValue>>> = Box::pin(future);
    match future.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
        Poll::Ready(response) => response,
        Poll::Pending => wasm_bindgen_futures::future_to_promise(Relayed { future, relay, waker }).into(),
    }
}

/// Wakes the task that last polled [`Relayed`].
#[derive(Default)]
struct Relay {
    task: AtomicWaker,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.task.wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.task.wake();
    }
}

/// The handler's future once it has waited: polled by `future_to_promise`'s executor, whose
/// waker it leaves with the [`Relay`] before polling the handler with the relay's waker.
struct Relayed {
    future: Pin<Box<dyn Future<Output = JsValue>>>,
    relay: Arc<Relay>,
    waker: Waker,
}

impl Future for Relayed {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, context: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        self.relay.task.register(context.waker());
        let this = &mut *self;
        this.future.as_mut().poll(&mut std::task::Context::from_waker(&this.waker)).map(Ok)
    }
}
