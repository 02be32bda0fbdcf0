//! One sans-IO request handler for the whole endpoint: routes an [`HttpRequest`] to the DoH
//! wire format or the JSON API, runs the engine, and builds the [`HttpResponse`]. The Worker
//! calls it with the zones it holds; tests call it directly.

use hickory_proto::op::ResponseCode;

use crate::answer::{self, ExtendedError, Inputs, Resolution};
use crate::client::{Client, SubnetLocator};
use crate::policy::{HealthView, Random};
use crate::doh::{self, Format, HttpError, HttpRequest, HttpResponse, DNS_JSON, DNS_MESSAGE, MAX_TARGET};
use crate::json;
use crate::query::{self, ErrorReply, Problem, Query};
use crate::response::{self, Encoded};
use crate::zone::Catalog;

/// The DoH path (RFC 8484 §4.1 leaves it to the server; this is the common choice).
pub const DOH_PATH: &str = "/dns-query";
/// The JSON API path.
pub const JSON_PATH: &str = "/resolve";
/// The explain path: why an answer was given, for a query and a client location.
pub const EXPLAIN_PATH: &str = "/explain";

/// A page for people: look a name up from the browser, through `fetch()` on both the JSON API
/// and the wire format (it doubles as the browser test of CORS and both formats).
const PAGE: &str = include_str!("page.html");

/// The zone data the handler answers from.
#[derive(Debug, Clone, Copy)]
pub enum Zones<'a> {
    /// A loaded catalog.
    Loaded(&'a Catalog),
    /// No zone data could be loaded: queries get SERVFAIL with EDE 14 (RFC 8914 §4.15).
    Unavailable,
}

/// Everything a request is answered with besides the zones (all passed in: no clock, no
/// randomness and no I/O inside).
pub struct Environment<'a> {
    /// Who asked, and where the edge says they are.
    pub client: &'a Client,
    /// The health snapshot.
    pub health: &'a dyn HealthView,
    /// The random source.
    pub random: &'a mut dyn Random,
    /// Locates ECS subnets (the GeoIP tables), when loaded.
    pub locator: Option<&'a dyn SubnetLocator>,
}

/// Handles one HTTP request.
pub fn handle(request: &HttpRequest<'_>, zones: Zones<'_>, environment: &mut Environment<'_>) -> HttpResponse {
    if request.path.len() + request.query.len() + 1 > MAX_TARGET {
        return HttpError::UriTooLong.response();
    }
    let path = request.path.trim_end_matches('/');
    match (path, request.method) {
        ("", "GET" | "HEAD") => HttpResponse::new(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        (DOH_PATH | JSON_PATH, "OPTIONS") => HttpResponse::preflight(),
        (DOH_PATH, _) => handle_doh(request, zones, environment),
        (JSON_PATH, "GET" | "HEAD") => match json::parse(request.query) {
            Ok(query) => answer_json(&query, zones, environment),
            Err(error) => error.response(),
        },
        (JSON_PATH, _) => HttpError::MethodNotAllowed.response(),
        (EXPLAIN_PATH, "GET" | "HEAD") => explain(request.query, zones, environment),
        (EXPLAIN_PATH, "OPTIONS") => HttpResponse::preflight(),
        (EXPLAIN_PATH, _) => HttpError::MethodNotAllowed.response(),
        _ => HttpResponse::error(404, "not found: DNS queries go to /dns-query (RFC 8484) or /resolve (JSON)"),
    }
}

fn handle_doh(request: &HttpRequest<'_>, zones: Zones<'_>, environment: &mut Environment<'_>) -> HttpResponse {
    if !matches!(request.method, "GET" | "HEAD" | "POST") {
        return HttpError::MethodNotAllowed.response();
    }
    let format = match doh::negotiate(request.accept) {
        Ok(format) => format,
        Err(error) => return error.response(),
    };
    // `/dns-query?name=...` with `Accept: application/dns-json` is the JSON API.
    if format == Format::Json && request.method != "POST" && doh::parameter(request.query, "dns").is_none() {
        return match json::parse(request.query) {
            Ok(query) => answer_json(&query, zones, environment),
            Err(error) => error.response(),
        };
    }
    let bytes = match doh::message_bytes(request) {
        Ok(bytes) => bytes,
        Err(error) => return error.response(),
    };
    let parsed = match query::parse(&bytes) {
        Ok(parsed) => parsed,
        Err(query::NotDns) => return HttpError::BadRequest("not a DNS message").response(),
    };
    match parsed {
        Ok(query) => {
            let resolution = resolve(&query, zones, environment, None);
            match format {
                Format::Wire => wire_response(&query, &resolution),
                Format::Json => json_response(&query, &resolution),
            }
        }
        Err(reply) => error_reply(&reply),
    }
}

/// Runs the engine for a checked query; `trace` collects the explain lines when given.
pub fn resolve(query: &Query, zones: Zones<'_>, environment: &mut Environment<'_>, trace: Option<&mut Vec<String>>) -> Resolution {
    let Zones::Loaded(catalog) = zones else {
        return Resolution::error(ResponseCode::ServFail, Some(ExtendedError::NotReady));
    };
    let subnet = query.edns.as_ref().and_then(|edns| edns.client_subnet.as_ref());
    let view = environment.client.view_with(subnet, environment.locator);
    let mut inputs = Inputs { client: &view, health: environment.health, random: &mut *environment.random, trace };
    answer::resolve(catalog, &query.question, &mut inputs)
}

fn answer_json(query: &Query, zones: Zones<'_>, environment: &mut Environment<'_>) -> HttpResponse {
    json_response(query, &resolve(query, zones, environment, None))
}

/// `/explain?name=&type=` with the JSON API's parameters, plus location overrides
/// (`country`, `continent`, `region`, `lat`, `lon`, `asn`, `colo`, `address`): the answer and
/// the trace of every policy decision behind it.
fn explain(query_string: &str, zones: Zones<'_>, environment: &mut Environment<'_>) -> HttpResponse {
    let query = match json::parse(query_string) {
        Ok(query) => query,
        Err(error) => return error.response(),
    };
    let client = match json::client_overrides(query_string, environment.client) {
        Ok(client) => client,
        Err(error) => return error.response(),
    };
    let view = client.view_with(query.edns.as_ref().and_then(|edns| edns.client_subnet.as_ref()), environment.locator);
    let mut trace = Vec::new();
    let mut explained =
        Environment { client: &client, health: environment.health, random: &mut *environment.random, locator: environment.locator };
    let resolution = resolve(&query, zones, &mut explained, Some(&mut trace));
    let health = environment.health.summary();
    let mut response = HttpResponse::new(200, "application/json", json::render_explain(&query, &view, &resolution, &trace, &health).into_bytes());
    response.headers.push(("cache-control", "no-store".to_owned()));
    response
}

fn json_response(query: &Query, resolution: &Resolution) -> HttpResponse {
    let mut response = HttpResponse::new(200, DNS_JSON, json::render(query, resolution).into_bytes());
    let max_age = response::max_age(resolution);
    response.headers.push(("cache-control", doh::cache_control(max_age, resolution.tailored)));
    response
}

fn wire_response(query: &Query, resolution: &Resolution) -> HttpResponse {
    let encoded = response::encode(&query.header, Some(&query.question), query.edns.as_ref(), resolution);
    match encoded {
        Ok(encoded) => dns_response(encoded, resolution.tailored),
        Err(_) => {
            // Data the encoder refused (it cannot come from a checked zone, but a response
            // must still go out): SERVFAIL with no records.
            let failure = Resolution::error(ResponseCode::ServFail, None);
            match response::encode(&query.header, Some(&query.question), query.edns.as_ref(), &failure) {
                Ok(encoded) => dns_response(encoded, false),
                Err(_) => HttpResponse::error(500, "response could not be encoded"),
            }
        }
    }
}

fn error_reply(reply: &ErrorReply) -> HttpResponse {
    let extended_error = match reply.reason {
        Problem::Opcode => Some(ExtendedError::NotSupported),
        _ => None,
    };
    let resolution = Resolution::error(reply.rcode, extended_error);
    match response::encode(&reply.header, reply.question.as_ref(), reply.edns.as_ref(), &resolution) {
        Ok(encoded) => dns_response(encoded, false),
        Err(_) => HttpError::BadRequest("not a DNS query").response(),
    }
}

/// Every DNS response is HTTP 200, whatever its RCODE (RFC 8484 §4.2.1).
fn dns_response(encoded: Encoded, tailored: bool) -> HttpResponse {
    let mut response = HttpResponse::new(200, DNS_MESSAGE, encoded.bytes);
    response.headers.push(("cache-control", doh::cache_control(encoded.max_age, tailored)));
    response
}
