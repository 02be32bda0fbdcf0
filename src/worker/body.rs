//! Bounded body reads: every body the Worker reads (a DoH POST, an admin upload, an upstream's
//! answer, a health probe's page) is read chunk by chunk from its `ReadableStream`, and never
//! more than its cap is copied into the isolate. A body over the cap is refused (the stream is
//! cancelled as soon as the cap is passed, whatever `Content-Length` says or omits), or, for
//! a probe, cut at the cap.
//!
//! Why it matters: an isolate has 128 MB for every request it holds; a few concurrent bodies
//! read whole before a size check would take it down, with its caches.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::{self, ReadableStream, ReadableStreamDefaultReader};
use worker::{Response, ResponseBody};

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// More than the cap: declared by `Content-Length`, or arrived.
    TooLarge,
    /// The stream failed (the client went away, the connection broke).
    Unreadable(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => f.write_str("the body is over the size limit"),
            Self::Unreadable(why) => write!(f, "the body could not be read: {why}"),
        }
    }
}

/// What to do when a body passes its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PastCap {
    /// Refuse it: [`BodyError::TooLarge`].
    Refuse,
    /// Keep the first `cap` bytes.
    Cut,
}

/// A request's whole body, or [`BodyError::TooLarge`] when it declares or sends more than
/// `cap` bytes (the rest is never read).
pub(crate) async fn request_body(request: &web_sys::Request, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = request.headers().get("content-length").ok().flatten().and_then(|value| value.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        return Err(BodyError::TooLarge);
    }
    read(request.body(), cap, PastCap::Refuse, declared.unwrap_or(0)).await
}

/// A fetched response's whole body, or [`BodyError::TooLarge`] past `cap` bytes.
pub(crate) async fn response_body(response: &Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let declared = response.headers().get("content-length").ok().flatten().and_then(|value| value.trim().parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        cancel_response(response).await;
        return Err(BodyError::TooLarge);
    }
    match response.body() {
        ResponseBody::Stream(stream) => read(Some(stream.clone()), cap, PastCap::Refuse, declared.unwrap_or(0)).await,
        ResponseBody::Body(bytes) if bytes.len() > cap => Err(BodyError::TooLarge),
        ResponseBody::Body(bytes) => Ok(bytes.clone()),
        ResponseBody::Empty => Ok(Vec::new()),
    }
}

/// The first `limit` bytes of a fetched response's body (all of it when shorter); the rest is
/// cancelled, never read.
pub(crate) async fn response_head(response: &Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    match response.body() {
        ResponseBody::Stream(stream) => read(Some(stream.clone()), limit, PastCap::Cut, 0).await,
        ResponseBody::Body(bytes) => Ok(bytes.get(..bytes.len().min(limit)).unwrap_or_default().to_vec()),
        ResponseBody::Empty => Ok(Vec::new()),
    }
}

/// Cancels a response's body without reading it (a fetched body left unread holds its
/// connection until the garbage collector finds it).
async fn cancel_response(response: &Response) {
    if let ResponseBody::Stream(stream) = response.body() {
        if !stream.locked() {
            let _ = JsFuture::from(stream.cancel()).await;
        }
    }
}

/// Reads `stream` chunk by chunk; a chunk's length is checked before it is copied into wasm
/// memory, so at most `cap` bytes ever are. `expected` is a size hint (`Content-Length`).
async fn read(stream: Option<ReadableStream>, cap: usize, past_cap: PastCap, expected: usize) -> Result<Vec<u8>, BodyError> {
    let Some(stream) = stream else { return Ok(Vec::new()) };
    let reader = ReadableStreamDefaultReader::new(&stream).map_err(unreadable)?;
    let mut body: Vec<u8> = Vec::with_capacity(expected.min(cap));
    loop {
        if past_cap == PastCap::Cut && body.len() >= cap {
            cancel(&reader).await;
            return Ok(body);
        }
        let result = JsFuture::from(reader.read()).await.map_err(unreadable)?;
        if Reflect::get(&result, &JsValue::from_str("done")).map_err(unreadable)?.as_bool().unwrap_or(true) {
            return Ok(body);
        }
        let value = Reflect::get(&result, &JsValue::from_str("value")).map_err(unreadable)?;
        let chunk = match value.dyn_into::<Uint8Array>() {
            Ok(chunk) => chunk,
            Err(value) => match value.dyn_into::<js_sys::ArrayBuffer>() {
                Ok(buffer) => Uint8Array::new(&buffer),
                Err(_) => {
                    cancel(&reader).await;
                    return Err(BodyError::Unreadable("a chunk that is not bytes".into()));
                }
            },
        };
        let room = cap.saturating_sub(body.len());
        let length = chunk.length() as usize;
        let taken = if length <= room {
            chunk
        } else if past_cap == PastCap::Cut {
            // `room` < `length` <= u32::MAX.
            chunk.subarray(0, room as u32)
        } else {
            cancel(&reader).await;
            return Err(BodyError::TooLarge);
        };
        let start = body.len();
        let end = start + taken.length() as usize;
        // Grow by doubling, but never past the cap: a body's buffer holds at most `cap` bytes.
        if end > body.capacity() {
            body.reserve_exact(end.max(body.capacity().saturating_mul(2)).min(cap) - start);
        }
        body.resize(end, 0);
        if let Some(destination) = body.get_mut(start..) {
            taken.copy_to(destination);
        }
    }
}

/// Cancels the rest of a stream (the client's unsent bytes, an upstream's unread answer). A
/// failure to cancel leaves nothing to do: the stream is dropped with the request.
async fn cancel(reader: &ReadableStreamDefaultReader) {
    let _ = JsFuture::from(reader.cancel()).await;
}

fn unreadable(error: JsValue) -> BodyError {
    let message = match error.dyn_ref::<js_sys::Error>() {
        Some(error) => error.message().into(),
        None => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    };
    BodyError::Unreadable(message)
}
