//! One sans-IO request handler for the whole endpoint: routes an [`HttpRequest`] to the DoH
//! wire format or the JSON API, runs the engine, and builds the [`HttpResponse`]. The Worker
//! calls it with the zones it holds; tests call it directly.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::CNAME;
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use ipnet::IpNet;

use crate::answer::{self, ExtendedError, Inputs, Resolution};
use crate::client::{Client, SubnetLocator};
use crate::dnssec::{self, Signer};
use crate::doh::{self, Format, HttpError, HttpRequest, HttpResponse, DNS_JSON, DNS_MESSAGE, MAX_TARGET};
use crate::json;
use crate::policy::{HealthView, Random};
use crate::query::{self, ErrorReply, Problem, Query};
use crate::resolver::firewall::{self, FirewallSet};
use crate::resolver::forward::{self, Freshness};
use crate::resolver::profile::{self, Profile, Screen, Verdict};
use crate::resolver::{ResolverConfig, TtlBounds};
use crate::response::{self, Encoded};
use crate::zone::{Catalog, Viewer, Visible};

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
    /// The zones' signing keys and the signature cache, when any zone has keys (README,
    /// "DNSSEC").
    pub signer: Option<Signer<'a>>,
    /// Why an answer went out unsigned, for the adapter to log.
    pub signing_errors: Vec<String>,
}

/// Resolver mode's inputs: upstreams (none: authoritative only) and the DNS firewall.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recursion<'a> {
    /// The resolver settings, when `UPSTREAMS` is configured.
    pub config: Option<&'a ResolverConfig>,
    /// The operator's rule list, when one is published.
    pub firewall: Option<&'a FirewallSet>,
}

/// What became of a request: a response, or a query to forward upstream first.
#[derive(Debug)]
pub enum Outcome {
    /// Send this.
    Respond(HttpResponse),
    /// Ask the upstreams (or the cache), then [`complete`].
    Forward(Box<Forward>),
}

/// A query for a name outside every hosted zone, in resolver mode; or the rest of a hosted
/// CNAME chain that leaves the hosted zones.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The client's query (ID, question case, EDNS), to answer under.
    pub query: Query,
    /// The query the upstream answers: the client's, or one for the CNAME target the
    /// hosted chain ends at. Upstream answers are checked against it.
    pub upstream: Query,
    /// The hosted part of the answer (the CNAME chain), placed before the upstream's records.
    prefix: Option<Resolution>,
    /// How the client wants the answer.
    format: Format,
    /// The cache key ([`forward::cache_key`]).
    pub cache_key: String,
    /// The subnet sent upstream, if any.
    pub subnet: Option<IpNet>,
    /// The wire query for the upstreams.
    pub upstream_query: Vec<u8>,
    /// The firewall rule that said `alert` for this name, for the log.
    pub alert: Option<String>,
    /// The profile the query was asked under ([`Forward::profile`]), by its place among
    /// the configuration's profiles.
    profile: Option<usize>,
    /// Whether the answer is screened by the firewall ([`Firewall::screen`]): not when an
    /// `allow` rule matched the question.
    screen: bool,
    /// The bounds the client's TTLs are kept within (the cache's).
    ttl_bounds: TtlBounds,
    /// Who may read the response (a hosted part from a private view makes it the client's).
    audience: Audience,
}

impl Forward {
    /// The profile the query was asked under, among `profiles` (the configuration's): its
    /// answer is screened through it ([`complete_in`]).
    pub fn profile<'p>(&self, profiles: &'p profile::Profiles) -> Option<&'p Profile> {
        self.profile.and_then(|index| profiles.get(index))
    }

    /// The upstreams to ask, in order: the profile's own, else the resolver's.
    pub fn upstreams<'c>(&self, config: &'c ResolverConfig) -> &'c [String] {
        self.profile(&config.profiles).and_then(Profile::upstreams).unwrap_or(&config.upstreams)
    }
}

/// Who may read a response. An answer whose content came from a private view the client was
/// admitted to (by its network or its token) differs from what others get: it is for that
/// client only, so no other origin may read it (no CORS: a web page the client visits must
/// not read the private zone through the client's network position) and no shared cache may
/// keep it (`private`). Everything else is public, with the same headers whether views exist
/// or not, so no response tells anyone outside a view that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Anyone: CORS open, cacheable unless tailored.
    Public,
    /// The asking client only.
    Client,
}

impl Audience {
    fn of(visible: &Visible<'_>) -> Self {
        if visible.used_view() {
            Self::Client
        } else {
            Self::Public
        }
    }

    /// Makes `response` readable by the client alone when the audience says so: no CORS,
    /// `private` caching.
    fn restrict(self, mut response: HttpResponse) -> HttpResponse {
        if self == Self::Client {
            response.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("access-control-allow-origin"));
            for (name, value) in &mut response.headers {
                if name.eq_ignore_ascii_case("cache-control") && !value.starts_with("private") && value != "no-store" {
                    *value = format!("private, {value}").into();
                }
            }
        }
        response
    }
}

/// An upstream's answer as the Worker got it: checked and aged, or why none came.
pub enum Forwarded<'a> {
    /// From an upstream or the cache.
    Answer(&'a forward::Upstreamed, Freshness),
    /// Every upstream failed and nothing usable is cached.
    Failed(&'a [forward::UpstreamFailure]),
}

/// Handles one HTTP request as an authoritative-only server.
pub fn handle(request: &HttpRequest<'_>, zones: Zones<'_>, environment: &mut Environment<'_>) -> HttpResponse {
    match serve(request, zones, environment, Recursion::default()) {
        Outcome::Respond(response) => response,
        // With no resolver configured nothing is forwarded.
        Outcome::Forward(_) => HttpResponse::error(500, "forwarding without a resolver configuration"),
    }
}

/// Handles one HTTP request, in resolver mode when `recursion` has a configuration.
pub fn serve(request: &HttpRequest<'_>, zones: Zones<'_>, environment: &mut Environment<'_>, recursion: Recursion<'_>) -> Outcome {
    serve_prepared(prepare(request), zones, environment, recursion)
}

/// A request parsed and routed, not yet answered: the Worker asks it for the name it is about
/// ([`Prepared::question_name`]) to load the zones that hold the name, then answers it
/// ([`serve_prepared`]), so the message is parsed once.
#[derive(Debug)]
pub struct Prepared<'r> {
    /// The view token in the path, if any.
    token: Option<&'r str>,
    /// The profile id in the path (`/dns-query/p/<id>`), if any.
    profile: Option<&'r str>,
    route: Route<'r>,
}

#[derive(Debug)]
enum Route<'r> {
    /// Answered without zones (the page, preflight, HTTP errors).
    Respond(HttpResponse),
    /// A DNS message that earns an error reply (its RA depends on resolver mode).
    ErrorReply(ErrorReply),
    /// A query to answer, in this format.
    Answer(Query, Format),
    /// `/explain`: the query, and the query string for the client overrides.
    Explain(Query, &'r str),
}

/// Who may ask `/explain` (the `EXPLAIN` variable). Explain shows rule labels, weights,
/// backends and which of them are down: a map of the operator's infrastructure and its weak
/// points, so by default it takes the admin token (as Route 53's TestDNSAnswer takes
/// credentials); `EXPLAIN=public` opens it to anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExplainAccess {
    /// With `Authorization: Bearer <ADMIN_TOKEN>` only (the default).
    #[default]
    AdminToken,
    /// Anyone.
    Public,
}

impl ExplainAccess {
    /// Reads the `EXPLAIN` variable: unset or `admin` (the default), or `public`.
    ///
    /// ```
    /// use edgedns::server::ExplainAccess;
    /// assert_eq!(ExplainAccess::from_var(None), Ok(ExplainAccess::AdminToken));
    /// assert_eq!(ExplainAccess::from_var(Some(" Public ")), Ok(ExplainAccess::Public));
    /// assert!(ExplainAccess::from_var(Some("open")).unwrap_err().contains("EXPLAIN"));
    /// ```
    pub fn from_var(value: Option<&str>) -> Result<Self, String> {
        match value.map(|value| value.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "admin") => Ok(Self::AdminToken),
            Some("public") => Ok(Self::Public),
            Some(other) => Err(format!("EXPLAIN={other:?}: expected admin (the default) or public")),
        }
    }
}

impl<'r> Prepared<'r> {
    /// Whether answering takes the admin token under `access`: `/explain` unless it is public.
    /// The Worker then checks the token with [`crate::admin::authorize`] (counting a failure
    /// against the client's limit, [`crate::rate_limit`]) before answering; [`serve`] (the
    /// CLI, the tests) checks nothing.
    pub fn requires_admin_token(&self, access: ExplainAccess) -> bool {
        matches!(self.route, Route::Explain(..)) && access == ExplainAccess::AdminToken
    }

    /// Whether this is a DNS query (DoH or JSON) that counts against the client network's
    /// query limit in resolver mode: malformed requests, the page and preflights do not.
    pub fn is_query(&self) -> bool {
        matches!(self.route, Route::Answer(..) | Route::ErrorReply(_))
    }

    /// The answer to a query whose client network is over its limit: REFUSED with Extended
    /// DNS Error 18 in the query's own format, under its ID and question, which no cache
    /// keeps (`no-store`: the next window may answer). Requests that are no query get HTTP
    /// 429 with `Retry-After`.
    pub fn rate_limited(self) -> HttpResponse {
        let refused = Resolution { recursion_available: true, ..Resolution::error(ResponseCode::Refused, Some(ExtendedError::RateLimited)) };
        match self.route {
            Route::Answer(query, format) => respond(&query, format, &refused),
            Route::ErrorReply(reply) => match response::encode(&reply.header, reply.question.as_ref(), reply.edns.as_ref(), &refused) {
                Ok(encoded) => dns_response(encoded, false),
                Err(_) => HttpResponse::too_many_requests(crate::rate_limit::RETRY_AFTER_S),
            },
            _ => HttpResponse::too_many_requests(crate::rate_limit::RETRY_AFTER_S),
        }
    }

    /// The name the request asks about; `None` when it asks about none (answered without
    /// looking at zones).
    pub fn question_name(&self) -> Option<&hickory_proto::rr::Name> {
        match &self.route {
            Route::Answer(query, _) | Route::Explain(query, _) => Some(&query.question.name),
            Route::Respond(_) | Route::ErrorReply(_) => None,
        }
    }

    /// The question of a query to answer (not `/explain`'s), for the query analytics.
    pub fn answered_question(&self) -> Option<(&hickory_proto::rr::Name, hickory_proto::rr::RecordType)> {
        match &self.route {
            Route::Answer(query, _) => Some((&query.question.name, query.question.query_type)),
            _ => None,
        }
    }

    /// The profile id in the path (`/dns-query/p/<id>`), if any.
    pub fn profile_id(&self) -> Option<&'r str> {
        self.profile
    }
}

/// Parses and routes a request (no zones, no environment needed).
pub fn prepare<'r>(request: &'r HttpRequest<'r>) -> Prepared<'r> {
    if request.path.len() + request.query.len() + 1 > MAX_TARGET {
        return Prepared { token: None, profile: None, route: Route::Respond(HttpError::UriTooLong.response()) };
    }
    let (path, token, profile) = split_path(request.path.trim_end_matches('/'));
    let route = match (path, request.method) {
        ("", "GET" | "HEAD") => Route::Respond(HttpResponse::new(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec())),
        (DOH_PATH | JSON_PATH, "OPTIONS") => Route::Respond(HttpResponse::preflight()),
        (DOH_PATH, _) => prepare_doh(request),
        (JSON_PATH, "GET" | "HEAD") => match json::parse(request.query) {
            Ok(query) => Route::Answer(query, Format::Json),
            Err(error) => Route::Respond(error.response()),
        },
        (JSON_PATH, _) => Route::Respond(HttpError::MethodNotAllowed.response()),
        (EXPLAIN_PATH, "GET" | "HEAD") => match json::parse(request.query) {
            Ok(query) => Route::Explain(query, request.query),
            Err(error) => Route::Respond(error.response()),
        },
        (EXPLAIN_PATH, _) => Route::Respond(HttpError::MethodNotAllowed.response()),
        _ => Route::Respond(not_found()),
    };
    Prepared { token, profile, route }
}

/// Whether the request's body is read: only a DoH POST carries its message there (RFC 8484
/// §4.1). Every other route is answered from the method, path and query alone, so the Worker
/// decides this before reading and never reads another request's body.
///
/// ```
/// use edgedns::server::takes_body;
/// assert!(takes_body("POST", "/dns-query") && takes_body("POST", "/dns-query/") && takes_body("POST", "/dns-query/view-token"));
/// assert!(!takes_body("GET", "/dns-query") && !takes_body("POST", "/") && !takes_body("POST", "/resolve") && !takes_body("POST", "/nowhere"));
/// assert!(!takes_body("POST", "/dns-query/a/b") && !takes_body("POST", "/dns-queryx") && !takes_body("PUT", "/dns-query"));
/// assert!(takes_body("POST", "/dns-query/p/k7Qe3m9x") && !takes_body("POST", "/dns-query/p/a/b") && !takes_body("POST", "/resolve/p/k7"));
/// ```
pub fn takes_body(method: &str, path: &str) -> bool {
    method == "POST" && split_path(path.trim_end_matches('/')).0 == DOH_PATH
}

/// The 404 of every path that leads nowhere, an unknown profile id's included: the same
/// whatever the id, so no answer tells which ids exist.
fn not_found() -> HttpResponse {
    HttpResponse::error(404, "not found: DNS queries go to /dns-query (RFC 8484) or /resolve (JSON)")
}

/// Answers a prepared request.
pub fn serve_prepared(prepared: Prepared<'_>, zones: Zones<'_>, environment: &mut Environment<'_>, recursion: Recursion<'_>) -> Outcome {
    serve_noting(prepared, zones, environment, recursion, &mut None)
}

/// [`serve_prepared`], setting `blocked` to the reason when the firewall blocked the query
/// before any upstream was asked (the Worker counts it, [`crate::resolver::blocks`]; a block
/// of a forwarded answer is [`complete_in`]'s). Explain blocks nothing.
pub fn serve_noting<'a>(
    prepared: Prepared<'_>,
    zones: Zones<'_>,
    environment: &mut Environment<'_>,
    recursion: Recursion<'a>,
    blocked: &mut Option<profile::Reason<'a>>,
) -> Outcome {
    // Private views are chosen by the connecting address or the path's token: never by
    // anything else the request says (ECS, explain's `address=`).
    let viewer = Viewer::new(environment.client.address, prepared.token);
    // The path's profile, else the default one; an id no profile has is a plain 404.
    let profiles = recursion.config.map(|config| &config.profiles);
    let profile = match prepared.profile {
        None => profiles.and_then(profile::Profiles::default_profile),
        Some(id) => match profiles.and_then(|profiles| profiles.by_id(id)) {
            Some(profile) => Some(profile),
            None => return Outcome::Respond(not_found()),
        },
    };
    let screen = Screen { lists: recursion.firewall, profile };
    match prepared.route {
        Route::Respond(response) => Outcome::Respond(response),
        Route::ErrorReply(reply) => Outcome::Respond(error_reply(&reply, recursion.config.is_some())),
        Route::Answer(query, format) => answer(query, format, zones, environment, recursion, screen, &viewer, blocked),
        Route::Explain(query, query_string) => Outcome::Respond(explain(query, query_string, zones, environment, recursion, screen, &viewer)),
    }
}

/// Splits `/dns-query/p/<profile-id>` (and `/resolve/p/`, `/explain/p/`) into the path and
/// the profile id, or a private view's token off `/dns-query/<token>` (and the others).
fn split_path(path: &str) -> (&str, Option<&str>, Option<&str>) {
    for base in [DOH_PATH, JSON_PATH, EXPLAIN_PATH] {
        if let Some(id) = path.strip_prefix(base).and_then(|rest| rest.strip_prefix("/p/")) {
            if !id.is_empty() && !id.contains('/') {
                return (base, None, Some(id));
            }
        }
    }
    let (path, token) = view_token(path);
    (path, token, None)
}

/// Splits a private view's token off `/dns-query/<token>`, `/resolve/<token>` and
/// `/explain/<token>`.
fn view_token(path: &str) -> (&str, Option<&str>) {
    for base in [DOH_PATH, JSON_PATH, EXPLAIN_PATH] {
        if let Some(token) = path.strip_prefix(base).and_then(|rest| rest.strip_prefix('/')) {
            if !token.is_empty() && !token.contains('/') {
                return (base, Some(token));
            }
        }
    }
    (path, None)
}

fn prepare_doh<'r>(request: &HttpRequest<'r>) -> Route<'r> {
    if !matches!(request.method, "GET" | "HEAD" | "POST") {
        return Route::Respond(HttpError::MethodNotAllowed.response());
    }
    let format = match doh::negotiate(request.accept) {
        Ok(format) => format,
        Err(error) => return Route::Respond(error.response()),
    };
    // `/dns-query?name=...` with `Accept: application/dns-json` is the JSON API.
    if format == Format::Json && request.method != "POST" && doh::parameter(request.query, "dns").is_none() {
        return match json::parse(request.query) {
            Ok(query) => Route::Answer(query, Format::Json),
            Err(error) => Route::Respond(error.response()),
        };
    }
    let bytes = match doh::message_bytes(request) {
        Ok(bytes) => bytes,
        Err(error) => return Route::Respond(error.response()),
    };
    match query::parse(&bytes) {
        Ok(Ok(query)) => Route::Answer(query, format),
        Ok(Err(reply)) => Route::ErrorReply(reply),
        Err(query::NotDns) => Route::Respond(HttpError::BadRequest("not a DNS message").response()),
    }
}

/// What the firewall and the zones make of a query, before any upstream is asked.
enum Decision {
    Answered(Resolution, Audience),
    /// Forward the question, or (`chain`) the CNAME target with the hosted part to prepend.
    Forward {
        alert: Option<String>,
        chain: Option<(hickory_proto::rr::Name, Resolution)>,
        screen: bool,
        audience: Audience,
    },
}

#[allow(clippy::too_many_arguments)] // one call per route: answer, explain
fn decide<'a>(
    query: &Query,
    zones: Zones<'_>,
    environment: &mut Environment<'_>,
    recursion: Recursion<'_>,
    rules: Screen<'a>,
    viewer: &Viewer,
    mut trace: Option<&mut Vec<String>>,
    blocked: &mut Option<profile::Reason<'a>>,
) -> Decision {
    // What the wire format refuses before looking at any zone is refused the same way whatever
    // the format asked in (the JSON API takes any type by name or number), and never forwarded:
    // OPT, TKEY and TSIG are no questions (RFC 6891 §6.1.1, RFC 2930, RFC 8945: FORMERR, as
    // `query::parse` answers them), and zone transfers are not served (REFUSED, as answer.rs
    // does for hosted zones).
    match u16::from(query.question.query_type) {
        41 | 249 | 250 => return Decision::Answered(Resolution::error(ResponseCode::FormErr, None), Audience::Public),
        251 | 252 => return Decision::Answered(Resolution::error(ResponseCode::Refused, Some(ExtendedError::Prohibited)), Audience::Public),
        _ => {}
    }
    let mut alert = None;
    // An `allow` for the question covers its answer too: nothing in it is screened.
    let mut screen = true;
    let verdict = rules.question(&query.question.name, query.question.query_type);
    if let (Some(trace), Some(line)) = (trace.as_deref_mut(), verdict.explain(&query.question.name)) {
        trace.push(line);
    }
    match verdict {
        Verdict::Block(reason, block) => {
            *blocked = Some(reason);
            return Decision::Answered(block_answer(query, &block, recursion.config.is_some()), Audience::Public);
        }
        Verdict::Alert(reason) => alert = Some(reason.to_string()),
        Verdict::Allow(_) => screen = false,
        // A search engine's name under safe search: its CNAME, the target asked upstream
        // as a hosted chain's exit is (profiles exist in resolver mode only).
        Verdict::Rewrite { target, .. } => {
            let mut cname = Resolution::new(ResponseCode::NoError);
            cname.recursion_available = true;
            let record = Record::from_rdata(query.question.name.clone(), profile::SAFE_SEARCH_TTL, RData::CNAME(CNAME(target.clone())));
            cname.answers.push(record);
            if matches!(query.question.query_type, RecordType::CNAME | RecordType::ANY) || recursion.config.is_none() {
                return Decision::Answered(cname, Audience::Public);
            }
            return Decision::Forward { alert, chain: Some((target.clone(), cname)), screen, audience: Audience::Public };
        }
        Verdict::Pass => {}
    }
    let question = &query.question;
    let visible = match zones {
        Zones::Loaded(catalog) => Some(catalog.visible(viewer)),
        Zones::Unavailable => None,
    };
    if let (Some(_), Some(visible)) = (recursion.config, &visible) {
        if question.query_class == DNSClass::IN && visible.find(&question.name).is_none() {
            if let Some(trace) = trace.as_deref_mut() {
                trace.push("not in a hosted zone: forwarded to the upstream resolvers".to_owned());
            }
            return Decision::Forward { alert, chain: None, screen, audience: Audience::of(visible) };
        }
    }
    let mut resolution = match &visible {
        Some(visible) => resolve_in(query, visible, environment, trace.as_deref_mut()),
        None => Resolution::error(ResponseCode::ServFail, Some(ExtendedError::NotReady)),
    };
    resolution.recursion_available = recursion.config.is_some();
    let audience = visible.as_ref().map_or(Audience::Public, Audience::of);
    // The hosted answer's chain and addresses meet the rules too (a hosted CNAME into a
    // blocked domain is blocked as an upstream's would be).
    let verdict = if screen && rules.screens() { rules.answer(&resolution.answers.records(), question.query_type) } else { Verdict::Pass };
    if let (Some(trace), Some(line)) = (trace.as_deref_mut(), verdict.explain(&question.name)) {
        trace.push(format!("{line} in the answer"));
    }
    match verdict {
        Verdict::Block(reason, block) => {
            *blocked = Some(reason);
            return Decision::Answered(block_answer(query, &block, recursion.config.is_some()), audience);
        }
        Verdict::Alert(reason) => alert = alert.or_else(|| Some(reason.to_string())),
        Verdict::Allow(_) | Verdict::Rewrite { .. } | Verdict::Pass => {}
    }
    // A resolver finishes a hosted CNAME chain that leaves the hosted zones (a CDN name).
    if let (Some(_), Some(visible)) = (recursion.config, &visible) {
        if let Some(target) = chain_exit(&resolution, question.query_type, visible) {
            if let Some(trace) = trace {
                trace.push(format!("the CNAME chain leaves the hosted zones at {target}: the rest is forwarded"));
            }
            return Decision::Forward { alert, chain: Some((target, resolution)), screen, audience: Audience::of(visible) };
        }
    }
    if let Some(visible) = &visible {
        sign(&mut resolution, query, visible, environment, trace);
    }
    Decision::Answered(resolution, audience)
}

/// DNSKEY at a signed zone's apex, then, for a query with DO=1, the answer signed
/// ([`dnssec::online`]); a signing failure leaves it unsigned and is noted for the log.
fn sign(resolution: &mut Resolution, query: &Query, visible: &Visible<'_>, environment: &mut Environment<'_>, trace: Option<&mut Vec<String>>) {
    let Some(signer) = environment.signer.as_mut() else { return };
    dnssec::online::dnskey_answer(resolution, &query.question, visible, signer.keys);
    let Some(edns) = query.edns.as_ref().filter(|edns| edns.dnssec_ok) else { return };
    match dnssec::online::sign(resolution, &query.question, edns.compact_ok, visible, signer) {
        Ok(signed) => {
            if let Some(trace) = trace {
                if !signed.key_tags.is_empty() {
                    let tags: Vec<String> = signed.key_tags.iter().map(u16::to_string).collect();
                    trace.push(format!("dnssec: signed with key tag {}", tags.join(", ")));
                }
            }
        }
        Err(error) => {
            let message = format!("{} {}: answered unsigned: {error}", query.question.name, query.question.query_type);
            if let Some(trace) = trace {
                trace.push(format!("dnssec: {message}"));
            }
            environment.signing_errors.push(message);
        }
    }
}

/// The target a hosted answer's CNAME chain ends at, when it is outside every hosted zone
/// and the client did not ask for the CNAME itself.
fn chain_exit(resolution: &Resolution, query_type: RecordType, catalog: &Visible<'_>) -> Option<hickory_proto::rr::Name> {
    if resolution.rcode != ResponseCode::NoError || matches!(query_type, RecordType::CNAME | RecordType::ANY) {
        return None;
    }
    let last = resolution.answers.last()?;
    let hickory_proto::rr::RData::CNAME(target) = &last.data else { return None };
    catalog.find(&target.0).is_none().then(|| target.0.clone())
}

/// A firewall block's answer: NXDOMAIN, NODATA or the override record, with EDE 15.
fn block_answer(query: &Query, block: &firewall::BlockAnswer, recursion_available: bool) -> Resolution {
    let mut resolution = match block {
        firewall::BlockAnswer::NxDomain => Resolution::new(ResponseCode::NXDomain),
        firewall::BlockAnswer::NoData => Resolution::new(ResponseCode::NoError),
        firewall::BlockAnswer::Override { data, ttl } => {
            let mut resolution = Resolution::new(ResponseCode::NoError);
            let fits = data.record_type() == query.question.query_type || data.record_type() == RecordType::CNAME;
            if fits {
                resolution.answers.push(Record::from_rdata(query.question.name.clone(), *ttl, data.clone()));
            }
            resolution
        }
    };
    resolution.extended_error = Some(ExtendedError::Blocked);
    resolution.recursion_available = recursion_available;
    resolution
}

#[allow(clippy::too_many_arguments)] // the request, what answers it, and where a block is noted
fn answer<'a>(
    query: Query,
    format: Format,
    zones: Zones<'_>,
    environment: &mut Environment<'_>,
    recursion: Recursion<'_>,
    rules: Screen<'a>,
    viewer: &Viewer,
    blocked: &mut Option<profile::Reason<'a>>,
) -> Outcome {
    match decide(&query, zones, environment, recursion, rules, viewer, None, blocked) {
        Decision::Answered(resolution, audience) => Outcome::Respond(audience.restrict(respond(&query, format, &resolution))),
        Decision::Forward { alert, chain, screen, audience } => {
            let Some(config) = recursion.config else {
                return Outcome::Respond(HttpResponse::error(500, "forwarding without a resolver configuration"));
            };
            let client_subnet = query.edns.as_ref().and_then(|edns| edns.client_subnet.as_ref());
            let profile = rules.profile;
            let subnet = forward::upstream_subnet(config, profile.and_then(|profile| profile.ecs), environment.client.address, client_subnet);
            let (upstream, prefix) = match chain {
                Some((target, hosted)) => {
                    let mut upstream = query.clone();
                    upstream.question.name = target;
                    (upstream, Some(hosted))
                }
                None => (query.clone(), None),
            };
            match forward::upstream_query(&upstream, subnet) {
                Ok(upstream_query) => {
                    let cache_key = forward::cache_key(&upstream, subnet, profile.and_then(Profile::upstreams));
                    Outcome::Forward(Box::new(Forward {
                        query,
                        upstream,
                        prefix,
                        format,
                        cache_key,
                        subnet,
                        upstream_query,
                        alert,
                        profile: profile.map(|profile| profile.index),
                        screen,
                        ttl_bounds: config.ttl_bounds(),
                        audience,
                    }))
                }
                Err(_) => Outcome::Respond(respond(&query, format, &forward::failure(&[]))),
            }
        }
    }
}

/// The client's response to a forwarded query, screened by `firewall` (the chain the upstream
/// answered with, its addresses), with the rule that blocked or flagged it (for the log).
pub fn complete<'f>(forwarded: &Forward, answer: Forwarded<'_>, firewall: Option<&'f FirewallSet>) -> (HttpResponse, Option<&'f firewall::Rule>) {
    let (response, reason) = complete_in(forwarded, answer, Screen { lists: firewall, profile: None });
    (response, reason.map(|reason| reason.rule))
}

/// [`complete`] through a profile's rules ([`Forward::profile`]): the reason names the
/// profile, the list, the line and the rule.
pub fn complete_in<'f>(forwarded: &Forward, answer: Forwarded<'_>, rules: Screen<'f>) -> (HttpResponse, Option<profile::Reason<'f>>) {
    let mut resolution = match answer {
        Forwarded::Answer(upstreamed, freshness) => forward::resolution(upstreamed, &forwarded.query, freshness, forwarded.subnet, forwarded.ttl_bounds),
        Forwarded::Failed(failures) => forward::failure(failures),
    };
    if let Some(hosted) = &forwarded.prefix {
        // The hosted chain first; the answer as a whole is not authoritative (RFC 1035
        // §6.2.4: AA describes the final answer's owner), and tailored if either part is.
        let mut answers = hosted.answers.clone();
        answers.extend(std::mem::take(&mut resolution.answers).into_records());
        resolution.answers = answers;
        resolution.scope = resolution.scope.max(hosted.scope);
        resolution.tailored |= hosted.tailored;
        if resolution.rcode == ResponseCode::ServFail {
            resolution.answers.clear();
        }
    }
    let verdict = if forwarded.screen { rules.answer(&resolution.answers.records(), forwarded.query.question.query_type) } else { Verdict::Pass };
    let reason = match verdict {
        Verdict::Block(reason, block) => {
            resolution = block_answer(&forwarded.query, &block, true);
            Some(reason)
        }
        Verdict::Alert(reason) => Some(reason),
        Verdict::Allow(_) | Verdict::Rewrite { .. } | Verdict::Pass => None,
    };
    (forwarded.audience.restrict(respond(&forwarded.query, forwarded.format, &resolution)), reason)
}

fn respond(query: &Query, format: Format, resolution: &Resolution) -> HttpResponse {
    match format {
        Format::Wire => wire_response(query, resolution),
        Format::Json => json_response(query, resolution),
    }
}

/// Runs the engine for a checked query; `trace` collects the explain lines when given.
/// The public zones and the private views the client's address admits.
pub fn resolve(query: &Query, zones: Zones<'_>, environment: &mut Environment<'_>, trace: Option<&mut Vec<String>>) -> Resolution {
    let Zones::Loaded(catalog) = zones else {
        return Resolution::error(ResponseCode::ServFail, Some(ExtendedError::NotReady));
    };
    let viewer = Viewer::new(environment.client.address, None);
    resolve_in(query, &catalog.visible(&viewer), environment, trace)
}

fn resolve_in(query: &Query, visible: &Visible<'_>, environment: &mut Environment<'_>, trace: Option<&mut Vec<String>>) -> Resolution {
    let subnet = query.edns.as_ref().and_then(|edns| edns.client_subnet.as_ref());
    // Made only if a routed set asks: most answers never read where the client is.
    let view = environment.client.deferred_view(subnet, environment.locator);
    let mut inputs = Inputs { client: &view, health: environment.health, random: &mut *environment.random, trace };
    answer::resolve_visible(visible, &query.question, &mut inputs)
}

/// `/explain?name=&type=` with the JSON API's parameters, plus location overrides
/// (`country`, `continent`, `region`, `lat`, `lon`, `asn`, `colo`, `address`): the answer and
/// the trace of every policy decision behind it. Access is checked first
/// ([`Prepared::authorize`]).
fn explain(
    query: Query,
    query_string: &str,
    zones: Zones<'_>,
    environment: &mut Environment<'_>,
    recursion: Recursion<'_>,
    rules: Screen<'_>,
    viewer: &Viewer,
) -> HttpResponse {
    let client = match json::client_overrides(query_string, environment.client) {
        Ok(client) => client,
        Err(error) => return error.response(),
    };
    let view = client.view_with(query.edns.as_ref().and_then(|edns| edns.client_subnet.as_ref()), environment.locator);
    let mut trace = Vec::new();
    if let Some(profile) = rules.profile {
        let lists = profile.list_names().map_or_else(|| "every list".to_owned(), |names| format!("lists: {}", names.join(", ")));
        // Its own upstreams as scheme and host only (a path can carry an account), as logged.
        let upstreams = profile.upstreams().map_or_else(String::new, |urls| {
            let hosts: Vec<String> = urls.iter().map(|url| crate::resolver::log::redact_url(url)).collect();
            format!("; upstreams: {}", hosts.join(", "))
        });
        trace.push(format!("profile {} ({lists}{upstreams})", profile.name));
    }
    let mut explained = Environment {
        client: &client,
        health: environment.health,
        random: &mut *environment.random,
        locator: environment.locator,
        signer: environment.signer.as_mut().map(Signer::reborrow),
        signing_errors: Vec::new(),
    };
    let resolution = match decide(&query, zones, &mut explained, recursion, rules, viewer, Some(&mut trace), &mut None) {
        Decision::Answered(resolution, _) => resolution,
        // Explain does not ask upstreams: the trace says the name would be forwarded.
        Decision::Forward { chain, .. } => match chain {
            Some((_, hosted)) => hosted,
            None => Resolution { recursion_available: true, ..Resolution::new(ResponseCode::NoError) },
        },
    };
    let health = environment.health.summary();
    // For the operator's eyes: no other origin reads it, no cache keeps it.
    crate::admin::json_text(200, json::render_explain(&query, &view, &resolution, &trace, &health))
}

fn json_response(query: &Query, resolution: &Resolution) -> HttpResponse {
    let mut response = HttpResponse::new(200, DNS_JSON, json::render(query, resolution).into_bytes());
    let max_age = response::max_age(resolution);
    response.headers.push(("cache-control", doh::cache_control(max_age, resolution.tailored).into()));
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

fn error_reply(reply: &ErrorReply, recursion_available: bool) -> HttpResponse {
    let extended_error = match reply.reason {
        Problem::Opcode => Some(ExtendedError::NotSupported),
        _ => None,
    };
    let resolution = Resolution { recursion_available, ..Resolution::error(reply.rcode, extended_error) };
    match response::encode(&reply.header, reply.question.as_ref(), reply.edns.as_ref(), &resolution) {
        Ok(encoded) => dns_response(encoded, false),
        Err(_) => HttpError::BadRequest("not a DNS query").response(),
    }
}

/// Every DNS response is HTTP 200, whatever its RCODE (RFC 8484 §4.2.1).
fn dns_response(encoded: Encoded, tailored: bool) -> HttpResponse {
    let mut response = HttpResponse::new(200, DNS_MESSAGE, encoded.bytes);
    response.headers.push(("cache-control", doh::cache_control(encoded.max_age, tailored).into()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_responses_carry_the_headers_of_every_response_then_caching() {
        let encoded = Encoded { bytes: vec![0; 12], rcode: ResponseCode::NoError, max_age: Some(60) };
        let response = dns_response(encoded, true);
        let mut expected = HttpResponse::new(200, DNS_MESSAGE, vec![0; 12]);
        expected.headers.push(("cache-control", "private, max-age=60".into()));
        assert_eq!(response, expected);
    }
}
