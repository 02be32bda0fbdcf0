//! The HTTP side of DNS over HTTPS (RFC 8484), with no I/O: an [`HttpRequest`] is turned into
//! the DNS message it carries or into the HTTP error it earns, and responses get their
//! status, media type, caching and CORS headers here.

use base64::Engine;
use std::borrow::Cow;

pub mod header_sets;

/// The DNS wire-format media type (RFC 8484 §6).
pub const DNS_MESSAGE: &str = "application/dns-message";
/// The JSON API media type, as public resolvers use it.
pub const DNS_JSON: &str = "application/dns-json";
/// Methods the DoH endpoints accept.
pub const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// Largest DNS message (RFC 1035 §4.2.2 length field): a larger POST body is 413.
pub const MAX_MESSAGE: usize = 65_535;
/// Longest request target (path and query) accepted: a longer GET is 414. It fits any
/// realistic query; the largest possible message would need 87,380 base64url characters.
pub const MAX_TARGET: usize = 8_192;

/// An HTTP request, as much of it as DoH needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpRequest<'a> {
    /// Method, upper case.
    pub method: &'a str,
    /// Path without the query string.
    pub path: &'a str,
    /// Raw query string without the `?`, not decoded.
    pub query: &'a str,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Accept` header.
    pub accept: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, in order (the fixed ones borrowed: most of a DoH answer's allocate nothing).
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a body and its media type, open to every origin (CORS).
    pub fn new(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        // Room for the caching header (and one more) that most responses add next.
        let mut headers = Vec::with_capacity(4);
        headers.push(("content-type", Cow::Borrowed(content_type)));
        headers.push(("access-control-allow-origin", Cow::Borrowed("*")));
        Self { status, headers, body }
    }

    /// The headers as one text, names and values on alternate lines, as the runtime takes them
    /// (src/worker/runtime.js `respond`); `None` if a name or value holds a line feed, which
    /// would split a field in two (no valid field holds one: RFC 9110 §5.5).
    pub fn header_lines(&self) -> Option<String> {
        let mut text = String::with_capacity(self.headers.iter().map(|(name, value)| name.len() + value.len() + 2).sum());
        for (name, value) in &self.headers {
            if name.contains('\n') || value.contains('\n') {
                return None;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(name);
            text.push('\n');
            text.push_str(value);
        }
        Some(text)
    }

    /// A plain-text error response that no cache keeps.
    pub fn error(status: u16, message: &str) -> Self {
        let mut response = Self::new(status, "text/plain; charset=utf-8", format!("{message}\n").into_bytes());
        response.headers.push(("cache-control", Cow::Borrowed("no-store")));
        if status == 405 {
            response.headers.push(("allow", Cow::Borrowed(ALLOWED_METHODS)));
        }
        response
    }

    /// HTTP 429 with `Retry-After` (RFC 6585 §4): a client over a rate limit.
    pub fn too_many_requests(retry_after_s: u32) -> Self {
        let mut response = Self::error(429, &format!("too many requests: try again in {retry_after_s} s"));
        response.headers.push(("retry-after", Cow::Owned(retry_after_s.to_string())));
        response
    }

    /// The answer to a CORS preflight: any origin may GET and POST DNS messages.
    pub fn preflight() -> Self {
        Self {
            status: 204,
            headers: vec![
                ("access-control-allow-origin", "*".into()),
                ("access-control-allow-methods", ALLOWED_METHODS.into()),
                ("access-control-allow-headers", "content-type, accept".into()),
                ("access-control-max-age", "86400".into()),
                ("allow", ALLOWED_METHODS.into()),
            ],
            body: Vec::new(),
        }
    }

    /// The first value of a header (names are stored lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| &**value)
    }
}

/// Why an HTTP request carries no usable DNS message (each maps to one status code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// 400: missing or undecodable `dns` parameter, empty body, or not a DNS message.
    BadRequest(&'static str),
    /// 405: a method other than GET, POST or OPTIONS.
    MethodNotAllowed,
    /// 406: the client accepts no media type we produce.
    NotAcceptable,
    /// 413: a body larger than a DNS message can be.
    PayloadTooLarge,
    /// 414: a request target longer than [`MAX_TARGET`].
    UriTooLong,
    /// 415: a POST whose media type is not `application/dns-message`.
    UnsupportedMediaType,
}

impl HttpError {
    /// The status code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::MethodNotAllowed => 405,
            Self::NotAcceptable => 406,
            Self::PayloadTooLarge => 413,
            Self::UriTooLong => 414,
            Self::UnsupportedMediaType => 415,
        }
    }

    /// A one-line explanation for the body.
    pub fn message(self) -> &'static str {
        match self {
            Self::BadRequest(why) => why,
            Self::MethodNotAllowed => "use GET, POST or OPTIONS",
            Self::NotAcceptable => "this endpoint produces application/dns-message or application/dns-json",
            Self::PayloadTooLarge => "a DNS message is at most 65535 bytes",
            Self::UriTooLong => "request target too long",
            Self::UnsupportedMediaType => "POST bodies must be application/dns-message",
        }
    }

    /// The response for this error.
    pub fn response(self) -> HttpResponse {
        HttpResponse::error(self.status(), self.message())
    }
}

/// The media type a client wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// DNS wire format.
    Wire,
    /// The JSON API.
    Json,
}

/// The media type's essence: type/subtype, parameters dropped, as written (RFC 9110 §8.3.1:
/// compare it ignoring ASCII case).
pub fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

/// Chooses the response format from `Accept`: missing, `*/*`, `application/*` or
/// `application/dns-message` mean wire format (RFC 8484 §4.1); `application/dns-json` alone
/// means JSON.
pub fn negotiate(accept: Option<&str>) -> Result<Format, HttpError> {
    let Some(accept) = accept.filter(|value| !value.trim().is_empty()) else {
        return Ok(Format::Wire);
    };
    let mut json = false;
    for range in accept.split(',') {
        let quality_zero = range.split(';').skip(1).any(|parameter| {
            let parameter = parameter.trim();
            // Parameter names are case-insensitive (RFC 9110 §5.6.6): `q=` and `Q=`.
            let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
        });
        if quality_zero {
            continue;
        }
        // Media types are compared ignoring ASCII case (RFC 9110 §8.3.1).
        let essence = essence(range);
        let is = |media_type: &str| essence.eq_ignore_ascii_case(media_type);
        if is("*/*") || is("application/*") || is(DNS_MESSAGE) {
            return Ok(Format::Wire);
        }
        if is(DNS_JSON) || is("application/json") {
            json = true;
        }
    }
    if json {
        Ok(Format::Json)
    } else {
        Err(HttpError::NotAcceptable)
    }
}

/// The value of a query-string parameter, raw (not form-decoded: `+` is not a space).
pub fn parameter<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (name == key).then_some(value)
    })
}

/// Decodes the `dns` parameter: base64url without padding (RFC 8484 §4.1), tolerating
/// trailing `=` (also percent-encoded) and rejecting the standard alphabet's `+` and `/`.
pub fn decode_dns_parameter(value: &str) -> Result<Vec<u8>, HttpError> {
    let mut trimmed = value;
    loop {
        if let Some(rest) = trimmed.strip_suffix('=') {
            trimmed = rest;
        } else if let Some(rest) = trimmed.strip_suffix("%3D").or_else(|| trimmed.strip_suffix("%3d")) {
            trimmed = rest;
        } else {
            break;
        }
    }
    if trimmed.is_empty() {
        return Err(HttpError::BadRequest("the dns parameter is empty"));
    }
    if trimmed.contains(['+', '/']) {
        return Err(HttpError::BadRequest("the dns parameter must be base64url (RFC 8484 §4.1), not standard base64"));
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed).map_err(|_| HttpError::BadRequest("the dns parameter is not valid base64url"))
}

/// Extracts the DNS message from a DoH request (GET `?dns=` or POST body).
pub fn message_bytes(request: &HttpRequest<'_>) -> Result<Vec<u8>, HttpError> {
    match request.method {
        "GET" | "HEAD" => {
            let value = parameter(request.query, "dns").ok_or(HttpError::BadRequest("missing dns parameter"))?;
            decode_dns_parameter(value)
        }
        "POST" => {
            if !request.content_type.map(essence).is_some_and(|media_type| media_type.eq_ignore_ascii_case(DNS_MESSAGE)) {
                return Err(HttpError::UnsupportedMediaType);
            }
            if request.body.len() > MAX_MESSAGE {
                return Err(HttpError::PayloadTooLarge);
            }
            if request.body.is_empty() {
                return Err(HttpError::BadRequest("empty body"));
            }
            Ok(request.body.to_vec())
        }
        _ => Err(HttpError::MethodNotAllowed),
    }
}

/// The `Cache-Control` value for a DNS response: `max-age` from its TTLs, `private` when the
/// answer was chosen for this client (RFC 8484 §5.1), `no-store` for errors.
pub fn cache_control(max_age: Option<u32>, tailored: bool) -> String {
    match (max_age, tailored) {
        (Some(age), false) => format!("max-age={age}"),
        (Some(age), true) => format!("private, max-age={age}"),
        (None, _) => "no-store".to_owned(),
    }
}

/// Decodes `%XX` escapes (for the JSON API's `name`); `None` on a malformed escape or
/// invalid UTF-8.
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while let Some(&byte) = bytes.get(position) {
        if byte == b'%' {
            let high = bytes.get(position + 1).and_then(|b| (*b as char).to_digit(16))?;
            let low = bytes.get(position + 2).and_then(|b| (*b as char).to_digit(16))?;
            decoded.push((high * 16 + low) as u8);
            position += 3;
        } else {
            decoded.push(byte);
            position += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The path and the raw query of an absolute URL (`https://host/path?query`), taken by
/// splitting the string, when the URL is already in the form a WHATWG parser would give it
/// (the runtime's `request.url` is): the path and query hold only characters the parser keeps
/// as they are, and the path no dot segment. `None` otherwise: then the caller parses the URL
/// in full. An absent query is `""`, like the parser's; a fragment is dropped.
///
/// ```
/// use edgedns::doh::split_target;
/// assert_eq!(split_target("https://dns.example/dns-query?dns=AAAB"), Some(("/dns-query", "dns=AAAB")));
/// assert_eq!(split_target("https://dns.example:8443/resolve?name=a.example&type=A#x"), Some(("/resolve", "name=a.example&type=A")));
/// assert_eq!(split_target("http://127.0.0.1/"), Some(("/", "")));
/// assert_eq!(split_target("https://dns.example/a/../dns-query"), None);
/// assert_eq!(split_target("https://dns.example/dns-query?q=\"x\""), None);
/// ```
pub fn split_target(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    // The authority ends at the first `/`; a URL of a special scheme always has a path.
    let target = rest.get(rest.find('/')?..)?;
    let target = target.split_once('#').map_or(target, |(before, _)| before);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // Characters a WHATWG parser leaves alone in a path and in a special URL's query: the
    // unreserved ones, the sub-delimiters but `'` (percent-encoded in a query), `:`, `@`,
    // `/`, `?` and `%` (an escape is kept as it is, its case too).
    let kept = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/?%".contains(&byte);
    let dot_segment = path.split('/').any(|segment| [".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"].iter().any(|dots| segment.eq_ignore_ascii_case(dots)));
    (path.bytes().all(kept) && query.bytes().all(kept) && !dot_segment).then_some((path, query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_target_agrees_with_the_url_parser() {
        for url in [
            "https://dns.example/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB",
            "https://dns.example:8443/dns-query/view-token?dns=AA-_",
            "http://127.0.0.1:19788/resolve?name=a.example.&type=AAAA&do=1&cd=0",
            "https://dns.example/explain?name=x&country=US&lat=1.5&lon=-2&address=2001:db8::1",
            "https://dns.example/",
            "https://dns.example/dns-query?",
            "https://dns.example/dns-query?dns=AAAB%3D%3d#frag",
            "https://dns.example/%41b/c;d?e=f@g:h/i?j",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert_eq!(split_target(url), Some((parsed.path(), parsed.query().unwrap_or(""))), "{url}");
        }
        // What the parser would rewrite is left to it.
        for url in [
            "https://dns.example/a/./b",
            "https://dns.example/a/%2E%2e/b",
            "https://dns.example/a b",
            "https://dns.example/q?it's",
            "https://dns.example/q?<x>",
            "https://dns.example/caf\u{e9}",
            "https://dns.example/a\\b",
            "ftp://dns.example/a",
            "https://dns.example",
            "not a url",
        ] {
            assert_eq!(split_target(url), None, "{url}");
        }
    }

    #[test]
    fn decodes_base64url_with_and_without_padding() {
        let bytes = decode_dns_parameter("AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB").unwrap();
        assert_eq!(bytes.len(), 33);
        assert_eq!(decode_dns_parameter("AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB==").unwrap(), bytes);
        assert_eq!(decode_dns_parameter("AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB%3D").unwrap(), bytes);
    }

    #[test]
    fn rejects_standard_alphabet() {
        assert_eq!(decode_dns_parameter("AAAB+AAB").unwrap_err().status(), 400);
        assert_eq!(decode_dns_parameter("AAAB/AAB").unwrap_err().status(), 400);
        assert_eq!(decode_dns_parameter("").unwrap_err().status(), 400);
        assert_eq!(decode_dns_parameter("!!!").unwrap_err().status(), 400);
    }

    #[test]
    fn parameters_are_not_form_decoded() {
        assert_eq!(parameter("ct=x&dns=ab+c", "dns"), Some("ab+c"));
        assert_eq!(parameter("dns", "dns"), Some(""));
        assert_eq!(parameter("dnsx=1", "dns"), None);
    }

    #[test]
    fn post_rules() {
        let request = |content_type: Option<&'static str>, body: &'static [u8]| HttpRequest {
            method: "POST",
            path: "/dns-query",
            content_type,
            body,
            ..HttpRequest::default()
        };
        assert!(message_bytes(&request(Some("application/dns-message"), b"x")).is_ok());
        assert!(message_bytes(&request(Some("Application/DNS-Message; charset=x"), b"x")).is_ok());
        assert_eq!(message_bytes(&request(Some("text/plain"), b"x")), Err(HttpError::UnsupportedMediaType));
        assert_eq!(message_bytes(&request(None, b"x")), Err(HttpError::UnsupportedMediaType));
        assert_eq!(message_bytes(&request(Some("application/dns-message"), b"")).unwrap_err().status(), 400);
        let big: &'static [u8] = Box::leak(vec![0u8; 65_536].into_boxed_slice());
        assert_eq!(message_bytes(&request(Some("application/dns-message"), big)), Err(HttpError::PayloadTooLarge));
    }

    #[test]
    fn other_methods_are_405_with_allow() {
        let request = HttpRequest { method: "PUT", ..HttpRequest::default() };
        let error = message_bytes(&request).unwrap_err();
        assert_eq!(error, HttpError::MethodNotAllowed);
        assert_eq!(error.response().header("allow"), Some(ALLOWED_METHODS));
    }

    #[test]
    fn accept_negotiation() {
        for wire in [None, Some(""), Some("*/*"), Some("application/*"), Some("application/dns-message"), Some("text/html, */*;q=0.8")] {
            assert_eq!(negotiate(wire), Ok(Format::Wire), "{wire:?}");
        }
        assert_eq!(negotiate(Some("application/dns-json")), Ok(Format::Json));
        assert_eq!(negotiate(Some("text/html")), Err(HttpError::NotAcceptable));
        assert_eq!(negotiate(Some("application/dns-message;q=0, application/dns-json")), Ok(Format::Json));
        assert_eq!(negotiate(Some("application/dns-message;Q=0, application/dns-json")), Ok(Format::Json));
        assert_eq!(negotiate(Some("application/json;Q=0")), Err(HttpError::NotAcceptable));
    }

    #[test]
    fn cache_control_values() {
        assert_eq!(cache_control(Some(300), false), "max-age=300");
        assert_eq!(cache_control(Some(30), true), "private, max-age=30");
        assert_eq!(cache_control(None, false), "no-store");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Eb").as_deref(), Some("a.b"));
        assert_eq!(percent_decode("a+b").as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
