//! A local stand-in for the part of the Cloudflare API that `wrangler kv ... --remote` calls
//! (wrangler 4.86 reads the API's base URL from `CLOUDFLARE_API_BASE_URL`), backed by files on
//! disk, so that tests see what an account's namespace holds after each command.
//!
//! Endpoints, under `/client/v4/accounts/:account/storage/kv/namespaces/:namespace` (Cloudflare
//! API reference, "Workers KV"):
//! * `PUT /bulk`: write up to 10,000 pairs (`[{key, value, base64?, expiration?, ...}]`);
//! * `DELETE /bulk` and `POST /bulk/delete`: delete up to 10,000 keys (`["key", ...]`);
//! * `POST /bulk/get`: read up to 100 keys (`{"keys": [...]}` → `{"values": {key: value|null}}`);
//! * `GET`/`PUT`/`DELETE /values/:key` (the key percent-encoded; the value the raw body);
//! * `GET /keys?prefix=&cursor=&limit=`: list keys (1,000 a page, a cursor after);
//! * `GET /user/tokens/verify` (wrangler asks after an authentication error).
//!
//! Limits, as Cloudflare documents them for Workers KV: 100 MB a request, 25 MiB a value, 512
//! bytes a key, 10,000 pairs a bulk write or delete, 100 keys a bulk read. A request over one of
//! them is refused whole (nothing of it is written), with Cloudflare's error body
//! `{"success":false,"errors":[{"code":..,"message":..}],"messages":[],"result":null}`.
//!
//! Faults on demand: a 429 for the Nth request, a token that has expired (401 for everything
//! after), so that tests can interrupt a publish anywhere.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// 100 MB a request (bulk writes included).
pub const REQUEST_LIMIT: usize = 100_000_000;
/// 25 MiB a value.
pub const VALUE_LIMIT: usize = 25 * 1024 * 1024;
/// 512 bytes a key.
pub const KEY_LIMIT: usize = 512;
/// Pairs (or keys) in one bulk write (or delete).
pub const BULK_WRITE_LIMIT: usize = 10_000;
/// Keys in one bulk read.
pub const BULK_READ_LIMIT: usize = 100;
/// Keys a list page holds.
const LIST_PAGE: usize = 1_000;

/// One request the stand-in answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The method.
    pub method: String,
    /// The path below `/client/v4`, query included.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct Faults {
    /// Requests numbered (from 1) here are answered 429, once each.
    rate_limited: Vec<usize>,
    /// Every request from this number on is answered 401.
    expired_from: Option<usize>,
}

struct Shared {
    token: String,
    account: String,
    root: PathBuf,
    faults: Mutex<Faults>,
    log: Mutex<Vec<Logged>>,
}

/// The running stand-in: a thread accepting on 127.0.0.1 (a free port), one thread per
/// connection. It stops with the test process.
pub struct KvApi {
    shared: Arc<Shared>,
    port: u16,
}

/// A reply: status, content type, body.
type Reply = (u16, &'static str, Vec<u8>);

impl KvApi {
    /// Starts a stand-in for `account`, accepting `token`, storing namespaces under `root`.
    pub fn start(root: &Path, account: &str, token: &str) -> KvApi {
        std::fs::create_dir_all(root).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared =
            Arc::new(Shared { token: token.to_owned(), account: account.to_owned(), root: root.to_owned(), faults: Mutex::default(), log: Mutex::default() });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    let _ = serve(&shared, stream);
                });
            }
        });
        KvApi { shared, port }
    }

    /// The base URL to give wrangler (`CLOUDFLARE_API_BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/client/v4", self.port)
    }

    /// Answers the request numbered `n` (counting every request so far from 1) with a 429.
    pub fn rate_limit_request(&self, n: usize) {
        self.shared.faults.lock().unwrap().rate_limited.push(n);
    }

    /// The token expires now: every later request is answered 401.
    pub fn expire_token(&self) {
        let next = self.requests() + 1;
        self.shared.faults.lock().unwrap().expired_from = Some(next);
    }

    /// How many requests were answered so far.
    pub fn requests(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    /// Every request answered, in order.
    pub fn log(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    /// What `namespace` holds: every key and its value.
    pub fn contents(&self, namespace: &str) -> BTreeMap<String, Vec<u8>> {
        let dir = self.shared.root.join(namespace);
        let mut contents = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(key) = key_of_file(&name) {
                contents.insert(key, std::fs::read(entry.path()).unwrap());
            }
        }
        contents
    }

    /// Writes a value straight into `namespace`, as another writer of the account would.
    pub fn put(&self, namespace: &str, key: &str, value: &[u8]) {
        Namespace { dir: &self.shared.root.join(namespace) }.write(key, value);
    }

    /// One value of `namespace`.
    pub fn value(&self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.shared.root.join(namespace).join(file_of_key(key))).ok()
    }
}

/// Keys as file names: hex, so that any key (`:`, `/`, `..`) is one plain file name.
fn file_of_key(key: &str) -> String {
    key.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn key_of_file(name: &str) -> Option<String> {
    if !name.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..name.len()).step_by(2).map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

fn error(status: u16, code: u32, message: &str) -> Reply {
    let body = serde_json::json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null});
    (status, "application/json", body.to_string().into_bytes())
}

fn success(result: serde_json::Value) -> Reply {
    success_with(result, None)
}

fn success_with(result: serde_json::Value, info: Option<serde_json::Value>) -> Reply {
    let mut body = serde_json::json!({"success": true, "errors": [], "messages": [], "result": result});
    if let Some(info) = info {
        body["result_info"] = info;
    }
    (200, "application/json", body.to_string().into_bytes())
}

struct Request {
    method: String,
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
    /// Over [`REQUEST_LIMIT`]: the body was read and dropped.
    oversize: bool,
}

/// Reads one request; `None` at the end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let (mut length, mut chunked, mut authorization) = (0usize, false, None);
    let mut header_bytes = 0;
    loop {
        let mut header = String::new();
        let read = reader.read_line(&mut header)?;
        header_bytes += read;
        if read == 0 || header_bytes > 64 * 1024 {
            return Err(std::io::Error::other("headers too long or cut short"));
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().map_err(std::io::Error::other)?,
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "authorization" => authorization = Some(value.to_owned()),
            _ => {}
        }
    }
    // Bounded: past the limit the body is read (so that the client sees the reply) but not kept.
    let mut body = Vec::new();
    let mut oversize = false;
    let mut take = |reader: &mut BufReader<TcpStream>, mut count: usize| -> std::io::Result<()> {
        let mut buffer = [0u8; 64 * 1024];
        while count > 0 {
            let n = reader.read(&mut buffer[..count.min(64 * 1024)])?;
            if n == 0 {
                return Err(std::io::Error::other("body cut short"));
            }
            if body.len() + n > REQUEST_LIMIT {
                oversize = true;
                body.clear();
            }
            if !oversize {
                body.extend_from_slice(&buffer[..n]);
            }
            count -= n;
        }
        Ok(())
    };
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16).map_err(std::io::Error::other)?;
            take(reader, size)?;
            let mut end = String::new();
            reader.read_line(&mut end)?;
            if size == 0 {
                break;
            }
        }
    } else {
        take(reader, length)?;
    }
    Ok(Some(Request { method, target, authorization, body, oversize }))
}

fn serve(shared: &Shared, stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        let path = request.target.strip_prefix("/client/v4").unwrap_or(&request.target).to_owned();
        let (status, content_type, body) = {
            let mut log = shared.log.lock().unwrap();
            let number = log.len() + 1;
            let reply = answer(shared, &request, &path, number);
            log.push(Logged { method: request.method.clone(), path, status: reply.0 });
            reply
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            413 => "Payload Too Large",
            429 => "Too Many Requests",
            _ => "Error",
        };
        let retry = if status == 429 { "Retry-After: 1\r\n" } else { "" };
        write!(writer, "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{retry}\r\n", body.len())?;
        writer.write_all(&body)?;
        writer.flush()?;
    }
    Ok(())
}

/// The reply to request number `number` (the log is held: requests are answered one at a time,
/// as a namespace's writes are ordered).
fn answer(shared: &Shared, request: &Request, path: &str, number: usize) -> Reply {
    {
        let mut faults = shared.faults.lock().unwrap();
        if faults.expired_from.is_some_and(|from| number >= from) {
            return error(401, 10000, "Authentication error");
        }
        if let Some(at) = faults.rate_limited.iter().position(|&n| n == number) {
            faults.rate_limited.remove(at);
            return error(429, 971, "Please wait and consider throttling your request speed");
        }
    }
    if request.authorization.as_deref() != Some(format!("Bearer {}", shared.token).as_str()) {
        return error(401, 10000, "Authentication error");
    }
    if request.oversize {
        return error(413, 10011, &format!("request body exceeds the limit of {REQUEST_LIMIT} bytes"));
    }
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    // wrangler asks whether its token is valid after an authentication error.
    if route == "/user/tokens/verify" {
        return success(serde_json::json!({"id": "0", "status": "active"}));
    }
    let Some(rest) = route.strip_prefix(&format!("/accounts/{}/storage/kv/namespaces/", shared.account)) else {
        return error(404, 7003, "Could not route to the requested path: no such account or endpoint");
    };
    let (namespace, operation) = rest.split_once('/').unwrap_or((rest, ""));
    if namespace.is_empty() || !namespace.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-') {
        return error(404, 10013, "namespace not found");
    }
    let dir = shared.root.join(namespace);
    let store = Namespace { dir: &dir };
    match (request.method.as_str(), operation) {
        ("PUT", "bulk") => store.bulk_write(&request.body),
        ("DELETE", "bulk") | ("POST", "bulk/delete") => store.bulk_delete(&request.body),
        ("POST", "bulk/get") => store.bulk_read(&request.body),
        ("GET", "keys") => store.list(query),
        (method, operation) => match operation.strip_prefix("values/").map(percent_decode) {
            Some(Some(key)) => store.single(method, &key, &request.body),
            Some(None) => error(400, 10020, "the key is not valid percent-encoded UTF-8"),
            None => error(405, 10405, &format!("method {method} not allowed on {route}")),
        },
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(text: &str) -> String {
    text.bytes().map(|byte| if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) { (byte as char).to_string() } else { format!("%{byte:02X}") }).collect()
}

struct Namespace<'a> {
    dir: &'a Path,
}

fn check_key(key: &str) -> Result<(), Reply> {
    if key.is_empty() || key == "." || key == ".." {
        return Err(error(400, 10019, &format!("invalid key name {key:?}")));
    }
    if key.len() > KEY_LIMIT {
        return Err(error(414, 10033, &format!("key length of {} exceeds the limit of {KEY_LIMIT} bytes", key.len())));
    }
    Ok(())
}

fn check_value(key: &str, value: &[u8]) -> Result<(), Reply> {
    if value.len() > VALUE_LIMIT {
        return Err(error(413, 10011, &format!("value length of {} for key {key:?} exceeds the limit of {VALUE_LIMIT} bytes", value.len())));
    }
    Ok(())
}

impl Namespace<'_> {
    fn write(&self, key: &str, value: &[u8]) {
        std::fs::create_dir_all(self.dir).unwrap();
        // Whole values only: written beside, then renamed over.
        let temporary = self.dir.join(format!(".{}.tmp", file_of_key(key)));
        std::fs::write(&temporary, value).unwrap();
        std::fs::rename(&temporary, self.dir.join(file_of_key(key))).unwrap();
    }

    fn read(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(file_of_key(key))).ok()
    }

    fn delete(&self, key: &str) {
        let _ = std::fs::remove_file(self.dir.join(file_of_key(key)));
    }

    /// `PUT /bulk`: every pair checked before any is written.
    fn bulk_write(&self, body: &[u8]) -> Reply {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_slice::<serde_json::Value>(body) else {
            return error(400, 10026, "the request body must be a JSON array of key-value pairs");
        };
        if items.len() > BULK_WRITE_LIMIT {
            return error(413, 10025, &format!("{} pairs exceed the limit of {BULK_WRITE_LIMIT} a bulk write", items.len()));
        }
        let mut pairs = Vec::with_capacity(items.len());
        for item in &items {
            let (Some(key), Some(value)) = (item.get("key").and_then(|k| k.as_str()), item.get("value").and_then(|v| v.as_str())) else {
                return error(400, 10026, "every pair needs a string key and a string value");
            };
            let value = if item.get("base64").and_then(serde_json::Value::as_bool) == Some(true) {
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(value) {
                    Ok(bytes) => bytes,
                    Err(_) => return error(400, 10026, &format!("the value of {key:?} is not valid base64")),
                }
            } else {
                value.as_bytes().to_vec()
            };
            if let Err(reply) = check_key(key).and_then(|()| check_value(key, &value)) {
                return reply;
            }
            pairs.push((key, value));
        }
        for (key, value) in pairs {
            self.write(key, &value);
        }
        success(serde_json::json!({"successful_key_count": items.len(), "unsuccessful_keys": []}))
    }

    /// `DELETE /bulk` or `POST /bulk/delete`.
    fn bulk_delete(&self, body: &[u8]) -> Reply {
        let Ok(keys) = serde_json::from_slice::<Vec<String>>(body) else {
            return error(400, 10026, "the request body must be a JSON array of keys");
        };
        if keys.len() > BULK_WRITE_LIMIT {
            return error(413, 10025, &format!("{} keys exceed the limit of {BULK_WRITE_LIMIT} a bulk delete", keys.len()));
        }
        for key in &keys {
            if let Err(reply) = check_key(key) {
                return reply;
            }
        }
        for key in &keys {
            self.delete(key);
        }
        success(serde_json::json!({"successful_key_count": keys.len(), "unsuccessful_keys": []}))
    }

    /// `POST /bulk/get`: text values (the default `type`), `null` for missing keys.
    fn bulk_read(&self, body: &[u8]) -> Reply {
        let keys =
            serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|body| serde_json::from_value::<Vec<String>>(body.get("keys")?.clone()).ok());
        let Some(keys) = keys else {
            return error(400, 10026, "the request body must be {\"keys\": [...]}");
        };
        if keys.len() > BULK_READ_LIMIT {
            return error(400, 10025, &format!("{} keys exceed the limit of {BULK_READ_LIMIT} a bulk read", keys.len()));
        }
        let mut values = serde_json::Map::new();
        for key in &keys {
            let value = match self.read(key) {
                Some(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => serde_json::Value::String(text),
                    Err(_) => return error(400, 10026, &format!("the value of {key:?} is not UTF-8 text: read it with type \"json\" or one by one")),
                },
                None => serde_json::Value::Null,
            };
            values.insert(key.clone(), value);
        }
        success(serde_json::json!({"values": values}))
    }

    /// `GET /keys`, in key order, `LIST_PAGE` a page.
    fn list(&self, query: &str) -> Reply {
        let mut prefix = String::new();
        let mut cursor = String::new();
        let mut limit = LIST_PAGE;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(&value.replace('+', " ")).unwrap_or_default();
            match name {
                "prefix" => prefix = value,
                "cursor" => cursor = value,
                "limit" => limit = value.parse().unwrap_or(LIST_PAGE).clamp(10, LIST_PAGE),
                _ => {}
            }
        }
        let mut keys: Vec<String> = std::fs::read_dir(self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| key_of_file(&entry.file_name().to_string_lossy()))
            .filter(|key| key.starts_with(&prefix) && key.as_str() > cursor.as_str())
            .collect();
        keys.sort();
        let more = keys.len() > limit;
        keys.truncate(limit);
        let next = if more { keys.last().cloned().unwrap_or_default() } else { String::new() };
        let result: Vec<serde_json::Value> = keys.iter().map(|name| serde_json::json!({"name": name})).collect();
        success_with(serde_json::json!(result), Some(serde_json::json!({"count": result.len(), "cursor": next})))
    }

    /// `GET`, `PUT` or `DELETE /values/:key` (the value raw, as the body).
    fn single(&self, method: &str, key: &str, body: &[u8]) -> Reply {
        if let Err(reply) = check_key(key) {
            return reply;
        }
        match method {
            "GET" => match self.read(key) {
                Some(value) => (200, "application/octet-stream", value),
                None => error(404, 10009, "get: 'key not found'"),
            },
            "PUT" => {
                if let Err(reply) = check_value(key, body) {
                    return reply;
                }
                self.write(key, body);
                success(serde_json::json!({}))
            }
            "DELETE" => {
                self.delete(key);
                success(serde_json::json!({}))
            }
            _ => error(405, 10405, &format!("method {method} not allowed on values/{}", percent_encode(key))),
        }
    }
}
