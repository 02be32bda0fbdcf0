//! A local stand-in for the parts of the Cloudflare API that `wrangler kv ... --remote` and
//! `wrangler deploy` call (wrangler 4.86 reads the API's base URL from
//! `CLOUDFLARE_API_BASE_URL`), backed by files on disk, so that tests see what an account holds
//! after each command: its namespaces' keys and values, and its deployed Workers.
//!
//! Workers KV, under `/client/v4/accounts/:account/storage/kv/namespaces/:namespace`
//! (Cloudflare API reference, "Workers KV"):
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
//! Workers scripts, under `/client/v4/accounts/:account/workers` (Cloudflare API reference,
//! "Workers"), the requests `wrangler deploy` makes for a modules Worker deployed to workers.dev,
//! in its order (each handler's doc names the step):
//! * `GET /services/:script`: does the Worker exist (404, code 10090, on a first deploy);
//! * `GET /scripts/:script/deployments`: the latest deployment (a split one asks to confirm);
//! * `GET /scripts/:script/settings`: the bindings already there (resource provisioning);
//! * `PUT /scripts/:script` (first deploy) or `POST /scripts/:script/versions` then
//!   `POST /scripts/:script/deployments` (later ones): the upload, multipart: a `metadata` part
//!   (`main_module`, `bindings`, `compatibility_date`) and one part per module;
//! * `PATCH /scripts/:script/script-settings`: the environment's tags, logpush, observability;
//! * `GET /subdomain`, then `GET` and `POST /scripts/:script/subdomain`: workers.dev on or off;
//! * `PUT /scripts/:script/schedules`: the cron triggers (`[{"cron": ...}]`), all replaced.
//!
//! An upload is checked as the API checks it before anything is stored: a `main_module` that is
//! one of the parts, every relative import of an ES module a part too (`No such module`), a
//! compatibility date, KV namespace ids that are ids (32 hex digits: a placeholder is refused
//! with code 10041), rate limits with a period of 10 or 60 seconds. A deployment names one
//! version at 100%; what a script serves is its latest deployment's version.
//!
//! Faults on demand: a 429 for the Nth request, a token that has expired (401 for everything
//! after), an upload refused as the API refuses a Worker that fails validation (400, code
//! 10021), so that tests can interrupt a publish or a deploy anywhere.
//!
//! It also answers as an HTTP proxy (give wrangler `HTTPS_PROXY`/`HTTP_PROXY` pointing at
//! [`CloudflareApi::proxy_url`]; wrangler sends everything but 127.0.0.1 through it): every request that
//! would have left the machine is refused and recorded ([`CloudflareApi::outside_requests`]).

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
/// The account's workers.dev subdomain: a script is served at `<script>.<this>.workers.dev`.
pub const WORKERS_DEV_SUBDOMAIN: &str = "edgedns-tests";
/// What [`CloudflareApi::fail_script_upload`] makes the API answer, with code 10021 (the code of a
/// Worker the runtime refused when it validated the upload). No stack location, which wrangler
/// would rewrite through its source map, and no "startup", which would send wrangler profiling.
pub const SCRIPT_VALIDATION_ERROR: &str = "Uncaught Error: script validation failed (a refusal the stand-in was told to give)";

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

/// One module of a deployed Worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its part's content type (`application/javascript+module`, `application/wasm`, ...).
    pub content_type: String,
    /// Its bytes, as uploaded.
    pub content: Vec<u8>,
}

/// What a script serves: the version its latest deployment names, with the script's triggers.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The version's id.
    pub version: String,
    /// The entry module's name (the metadata's `main_module`).
    pub main_module: String,
    /// Every module by name (its part's name, as a path from the root: `./x.wasm` is `x.wasm`).
    pub modules: BTreeMap<String, Module>,
    /// The metadata's `compatibility_date`.
    pub compatibility_date: String,
    /// The metadata's `bindings`, as uploaded (`{"name", "type", ...}` each).
    pub bindings: Vec<serde_json::Value>,
    /// The whole metadata part.
    pub metadata: serde_json::Value,
    /// The cron triggers (`PUT /schedules`), in order.
    pub crons: Vec<String>,
    /// Whether it is served at `<script>.<WORKERS_DEV_SUBDOMAIN>.workers.dev`.
    pub workers_dev: bool,
    /// The script's tags (`cf:service=...`, `cf:environment=...`).
    pub tags: Vec<String>,
}

impl Deployed {
    /// The binding named `name`.
    pub fn binding(&self, name: &str) -> Option<&serde_json::Value> {
        self.bindings.iter().find(|binding| binding.get("name").and_then(serde_json::Value::as_str) == Some(name))
    }
}

#[derive(Default)]
struct Faults {
    /// Requests numbered (from 1) here are answered 429, once each.
    rate_limited: Vec<usize>,
    /// Every request from this number on is answered 401.
    expired_from: Option<usize>,
    /// The next script upload is refused as failing validation.
    upload_refused: bool,
}

struct Shared {
    token: String,
    account: String,
    root: PathBuf,
    faults: Mutex<Faults>,
    log: Mutex<Vec<Logged>>,
    outside: Mutex<Vec<String>>,
}

impl Shared {
    fn namespace_dir(&self, namespace: &str) -> PathBuf {
        self.root.join("namespaces").join(namespace)
    }

    fn script(&self, name: &str) -> Script {
        Script { dir: self.root.join("scripts").join(name), name: name.to_owned() }
    }
}

/// The running stand-in: a thread accepting on 127.0.0.1 (a free port), one thread per
/// connection. It stops with the test process. Clones share it (a test's other servers read
/// what it holds).
#[derive(Clone)]
pub struct CloudflareApi {
    shared: Arc<Shared>,
    port: u16,
}

/// A reply: status, content type, body.
type Reply = (u16, &'static str, Vec<u8>);

impl CloudflareApi {
    /// Starts a stand-in for `account`, accepting `token`, storing what it holds under `root`
    /// (`namespaces/<id>/`, one file per key; `scripts/<name>/`, versions and triggers).
    pub fn start(root: &Path, account: &str, token: &str) -> CloudflareApi {
        std::fs::create_dir_all(root).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            account: account.to_owned(),
            root: root.to_owned(),
            faults: Mutex::default(),
            log: Mutex::default(),
            outside: Mutex::default(),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    let _ = serve(&shared, stream);
                });
            }
        });
        CloudflareApi { shared, port }
    }

    /// The base URL to give wrangler (`CLOUDFLARE_API_BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/client/v4", self.port)
    }

    /// The proxy URL to give wrangler (`HTTPS_PROXY`, `HTTP_PROXY`): what goes there would
    /// have left the machine.
    pub fn proxy_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request that came as a proxy request (`CONNECT host:port` or an absolute URL),
    /// refused with a 403: each one is a request that would have left 127.0.0.1.
    pub fn outside_requests(&self) -> Vec<String> {
        self.shared.outside.lock().unwrap().clone()
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

    /// The next script upload (`PUT /scripts/:script` or `POST /scripts/:script/versions`) is
    /// answered 400 with code 10021 and [`SCRIPT_VALIDATION_ERROR`]; nothing of it is stored.
    pub fn fail_script_upload(&self) {
        self.shared.faults.lock().unwrap().upload_refused = true;
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
        let dir = self.shared.namespace_dir(namespace);
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
        Namespace { dir: &self.shared.namespace_dir(namespace) }.write(key, value);
    }

    /// One value of `namespace`.
    pub fn value(&self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.shared.namespace_dir(namespace).join(file_of_key(key))).ok()
    }

    /// The scripts that have been deployed at least once, by name.
    pub fn scripts(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.shared.root.join("scripts"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| self.shared.script(name).exists())
            .collect();
        names.sort();
        names
    }

    /// What `script` serves now; `None` if it was never deployed.
    pub fn deployed(&self, script: &str) -> Option<Deployed> {
        self.shared.script(script).deployed()
    }

    /// The deployments of `script`, newest first, as `GET /deployments` lists them.
    pub fn deployments(&self, script: &str) -> Vec<serde_json::Value> {
        self.shared.script(script).deployments()
    }

    /// The ids of every version uploaded for `script`, oldest first (deployed or not).
    pub fn versions(&self, script: &str) -> Vec<String> {
        self.shared.script(script).versions()
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
    content_type: String,
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
    let (mut length, mut chunked, mut authorization, mut content_type) = (0usize, false, None, String::new());
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
            "content-type" => content_type = value.to_owned(),
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
    Ok(Some(Request { method, target, authorization, content_type, body, oversize }))
}

fn serve(shared: &Shared, stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        // A proxy request: something meant for another host. Refused, recorded, and the
        // connection closed (a CONNECT would otherwise become a tunnel).
        if request.method == "CONNECT" || request.target.starts_with("http://") || request.target.starts_with("https://") {
            shared.outside.lock().unwrap().push(format!("{} {}", request.method, request.target));
            let body = "this test machine reaches nothing beyond 127.0.0.1";
            write!(writer, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
            return writer.flush();
        }
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
            405 => "Method Not Allowed",
            413 => "Payload Too Large",
            414 => "URI Too Long",
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
    let unrouted = || error(404, 7003, "Could not route to the requested path: no such account or endpoint");
    let Some(rest) = route.strip_prefix(&format!("/accounts/{}/", shared.account)) else {
        return unrouted();
    };
    if let Some(rest) = rest.strip_prefix("workers/") {
        return workers(shared, request, rest).unwrap_or_else(unrouted);
    }
    let Some(rest) = rest.strip_prefix("storage/kv/namespaces/") else {
        return unrouted();
    };
    let (namespace, operation) = rest.split_once('/').unwrap_or((rest, ""));
    if namespace.is_empty() || !namespace.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-') {
        return error(404, 10013, "namespace not found");
    }
    let dir = shared.namespace_dir(namespace);
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

/// `/accounts/:account/workers/...`: the account's workers.dev subdomain and its scripts;
/// `None` for a path this stand-in does not serve.
fn workers(shared: &Shared, request: &Request, rest: &str) -> Option<Reply> {
    let method = request.method.as_str();
    if rest == "subdomain" {
        // Every deploy to workers.dev: the account's subdomain, to print the Worker's URL.
        return (method == "GET").then(|| success(serde_json::json!({"subdomain": WORKERS_DEV_SUBDOMAIN})));
    }
    let (kind, rest) = rest.split_once('/')?;
    let (name, operation) = rest.split_once('/').unwrap_or((rest, ""));
    // Script names as Cloudflare takes them: lowercase letters, digits, `-` and `_`.
    if name.is_empty() || name.len() > 63 || !name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_') {
        return None;
    }
    let script = shared.script(name);
    let upload_refused = || std::mem::take(&mut shared.faults.lock().unwrap().upload_refused);
    Some(match (kind, method, operation) {
        ("services", "GET", "") => script.service(),
        ("scripts", "PUT", "") if upload_refused() => invalid(SCRIPT_VALIDATION_ERROR),
        ("scripts", "PUT", "") => script.put(request),
        ("scripts", "POST", "versions") if upload_refused() => invalid(SCRIPT_VALIDATION_ERROR),
        ("scripts", "POST", "versions") => script.upload_version(request),
        ("scripts", "GET", "deployments") => script.list_deployments(),
        ("scripts", "POST", "deployments") => script.create_deployment(&request.body),
        ("scripts", "GET", "settings") => script.settings(),
        ("scripts", "GET" | "PATCH", "script-settings") => script.script_settings(method, &request.body),
        ("scripts", "GET" | "POST", "subdomain") => script.subdomain(method, &request.body),
        ("scripts", "GET" | "PUT", "schedules") => script.schedules(method, &request.body),
        _ => return None,
    })
}

/// An upload refused by validation (the API's code for a Worker it will not run).
fn invalid(message: &str) -> Reply {
    error(400, 10021, message)
}

fn not_found() -> Reply {
    error(404, 10007, "workers.api.error.script_not_found")
}

fn bad_body(expected: &str) -> Reply {
    error(400, 10026, &format!("the request body must be {expected}"))
}

/// One script of the account, under `scripts/<name>/`: `versions/<id>/` (the metadata part,
/// the modules, their content types), `deployments.json` (newest first), `schedules.json`,
/// `subdomain.json`, `script-settings.json`.
struct Script {
    dir: PathBuf,
    name: String,
}

/// A checked upload.
struct Upload {
    metadata: serde_json::Value,
    modules: BTreeMap<String, Module>,
}

impl Script {
    /// A script exists once something was deployed (`PUT /scripts/:script` creates it).
    fn exists(&self) -> bool {
        self.dir.join("deployments.json").is_file()
    }

    fn read_json(&self, file: &str) -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(self.dir.join(file)).ok()?).ok()
    }

    fn write_json(&self, file: &str, value: &serde_json::Value) {
        write_atomically(&self.dir.join(file), value.to_string().as_bytes());
    }

    fn deployments(&self) -> Vec<serde_json::Value> {
        self.read_json("deployments.json").and_then(|list| list.as_array().cloned()).unwrap_or_default()
    }

    /// Version ids, oldest first (an id starts with its number in fixed-width hex).
    fn versions(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.dir.join("versions"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        ids.sort();
        ids
    }

    /// A version's metadata part and modules.
    fn version(&self, id: &str) -> Option<(serde_json::Value, BTreeMap<String, Module>)> {
        let dir = self.dir.join("versions").join(id);
        let metadata = serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).ok()?).ok()?;
        let types: BTreeMap<String, String> = serde_json::from_slice(&std::fs::read(dir.join("modules.json")).ok()?).ok()?;
        let mut modules = BTreeMap::new();
        for (name, content_type) in types {
            let content = std::fs::read(dir.join("modules").join(file_of_key(&name))).ok()?;
            modules.insert(name, Module { content_type, content });
        }
        Some((metadata, modules))
    }

    /// The version the latest deployment gives the most traffic (all of it, for a deploy).
    fn deployed_version(&self) -> Option<String> {
        let latest = self.deployments().into_iter().next()?;
        let versions = latest.get("versions")?.as_array()?.clone();
        let mut best: Option<(f64, String)> = None;
        for version in versions {
            let (Some(percentage), Some(id)) =
                (version.get("percentage").and_then(serde_json::Value::as_f64), version.get("version_id").and_then(|id| id.as_str()))
            else {
                continue;
            };
            if best.as_ref().is_none_or(|(most, _)| percentage > *most) {
                best = Some((percentage, id.to_owned()));
            }
        }
        best.map(|(_, id)| id)
    }

    fn deployed(&self) -> Option<Deployed> {
        let version = self.deployed_version()?;
        let (metadata, modules) = self.version(&version)?;
        let text = |field: &str| metadata.get(field).and_then(|value| value.as_str()).unwrap_or_default().to_owned();
        let crons = self.read_json("schedules.json").and_then(|list| list.as_array().cloned()).unwrap_or_default();
        let tags = self.read_json("script-settings.json").and_then(|settings| settings.get("tags")?.as_array().cloned()).unwrap_or_default();
        Some(Deployed {
            version,
            main_module: text("main_module"),
            modules,
            compatibility_date: text("compatibility_date"),
            bindings: metadata.get("bindings").and_then(|list| list.as_array().cloned()).unwrap_or_default(),
            crons: crons.iter().filter_map(|schedule| Some(schedule.get("cron")?.as_str()?.to_owned())).collect(),
            workers_dev: self.read_json("subdomain.json").and_then(|state| state.get("enabled")?.as_bool()).unwrap_or(false),
            tags: tags.iter().filter_map(|tag| Some(tag.as_str()?.to_owned())).collect(),
            metadata,
        })
    }

    /// The script's tag (its id across renames), fixed per name.
    fn tag(&self) -> String {
        format!("{:016x}{:016x}", fnv(self.name.as_bytes()), fnv(format!("{}/tag", self.name).as_bytes()))
    }

    /// An etag: a hash of what the version serves.
    fn etag(modules: &BTreeMap<String, Module>) -> String {
        let mut all = Vec::new();
        for (name, module) in modules {
            all.extend_from_slice(name.as_bytes());
            all.extend_from_slice(&module.content);
        }
        format!("{:016x}", fnv(&all))
    }

    /// Checks the multipart body of an upload, then stores it as the next version; the
    /// version's id and the upload.
    fn store_version(&self, request: &Request) -> Result<(String, usize, Upload), Reply> {
        let upload = check_upload(&request.content_type, &request.body)?;
        let number = self.versions().len() + 1;
        let hash = fnv(self.name.as_bytes());
        let id = format!("{number:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", hash >> 48, (hash >> 36) & 0xfff, (hash >> 24) & 0xfff, hash & 0xffff_ffff_ffff);
        // Whole versions only: written beside, then renamed into place.
        let versions = self.dir.join("versions");
        let staging = versions.join(format!(".{id}"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(staging.join("modules")).unwrap();
        let mut types = BTreeMap::new();
        for (name, module) in &upload.modules {
            std::fs::write(staging.join("modules").join(file_of_key(name)), &module.content).unwrap();
            types.insert(name.clone(), module.content_type.clone());
        }
        std::fs::write(staging.join("modules.json"), serde_json::json!(types).to_string()).unwrap();
        std::fs::write(staging.join("metadata.json"), upload.metadata.to_string()).unwrap();
        std::fs::rename(&staging, versions.join(&id)).unwrap();
        Ok((id, number, upload))
    }

    /// Makes `versions` (id, percentage) the script's deployment; the deployment.
    fn deploy(&self, versions: &[(String, f64)], annotations: serde_json::Value) -> serde_json::Value {
        let mut deployments = self.deployments();
        let hash = fnv(format!("{}/deployment", self.name).as_bytes());
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            deployments.len() + 1,
            hash >> 48,
            (hash >> 36) & 0xfff,
            (hash >> 24) & 0xfff,
            hash & 0xffff_ffff_ffff
        );
        let versions: Vec<serde_json::Value> =
            versions.iter().map(|(id, percentage)| serde_json::json!({"version_id": id, "percentage": percentage})).collect();
        let deployment = serde_json::json!({
            "id": id, "source": "wrangler", "strategy": "percentage", "author_email": "tests@example.com",
            "created_on": timestamp(), "annotations": annotations, "versions": versions,
        });
        deployments.insert(0, deployment.clone());
        self.write_json("deployments.json", &serde_json::json!(deployments));
        deployment
    }

    /// `GET /services/:script`: the first request of every deploy, whether the Worker exists
    /// (404 with code 10090 makes it a first deploy), its tag and tags, and where it was last
    /// deployed from ("wrangler": no confirmation asked).
    fn service(&self) -> Reply {
        if !self.exists() {
            return error(404, 10090, "workers.api.error.service_not_found");
        }
        let deployments = self.deployments();
        let on = |deployment: Option<&serde_json::Value>| deployment.and_then(|d| d.get("created_on").cloned()).unwrap_or_default();
        let (created_on, modified_on) = (on(deployments.last()), on(deployments.first()));
        let tags = self.read_json("script-settings.json").and_then(|settings| settings.get("tags").cloned()).unwrap_or(serde_json::json!([]));
        let etag = self.deployed_version().and_then(|id| self.version(&id)).map(|(_, modules)| Script::etag(&modules)).unwrap_or_default();
        let script = serde_json::json!({
            "id": self.name, "tag": self.tag(), "tags": tags, "etag": etag, "last_deployed_from": "wrangler",
            "created_on": created_on, "modified_on": modified_on,
        });
        success(serde_json::json!({
            "id": self.name, "created_on": created_on, "modified_on": modified_on,
            "default_environment": {"environment": "production", "created_on": created_on, "modified_on": modified_on, "script": script},
        }))
    }

    /// `PUT /scripts/:script` (`?excludeScript=true&bindings_inherit=strict`): a first deploy's
    /// upload, which creates the script, stores the version and deploys it at 100% at once.
    fn put(&self, request: &Request) -> Reply {
        let (id, _, upload) = match self.store_version(request) {
            Ok(stored) => stored,
            Err(reply) => return reply,
        };
        let deployment = self.deploy(&[(id.clone(), 100.0)], upload.metadata.get("annotations").cloned().unwrap_or(serde_json::json!({})));
        success(serde_json::json!({
            "id": self.name, "tag": self.tag(), "etag": Script::etag(&upload.modules), "deployment_id": id,
            "compatibility_date": upload.metadata.get("compatibility_date"), "usage_model": "standard", "has_modules": true,
            "created_on": deployment["created_on"], "modified_on": deployment["created_on"], "startup_time_ms": 0,
        }))
    }

    /// `POST /scripts/:script/versions` (`?bindings_inherit=strict`): a later deploy's upload,
    /// a version that serves nothing until a deployment names it.
    fn upload_version(&self, request: &Request) -> Reply {
        if !self.exists() {
            return not_found();
        }
        let (id, number, upload) = match self.store_version(request) {
            Ok(stored) => stored,
            Err(reply) => return reply,
        };
        let metadata = &upload.metadata;
        success(serde_json::json!({
            "id": id, "number": number,
            "metadata": {"author_email": "tests@example.com", "source": "wrangler", "created_on": timestamp(), "modified_on": timestamp()},
            "annotations": metadata.get("annotations").cloned().unwrap_or(serde_json::json!({})),
            "resources": {
                "script": {"etag": Script::etag(&upload.modules), "handlers": [], "last_deployed_from": "wrangler"},
                "script_runtime": {"compatibility_date": metadata.get("compatibility_date"), "compatibility_flags": metadata.get("compatibility_flags").cloned().unwrap_or(serde_json::json!([])), "usage_model": "standard"},
                "bindings": metadata.get("bindings").cloned().unwrap_or(serde_json::json!([])),
            },
            "startup_time_ms": 0,
        }))
    }

    /// `GET /scripts/:script/deployments`: before every upload, wrangler asks whether the
    /// latest deployment splits traffic (then it asks to confirm); 404 with code 10007 on a
    /// first deploy.
    fn list_deployments(&self) -> Reply {
        if !self.exists() {
            return not_found();
        }
        success(serde_json::json!({"deployments": self.deployments()}))
    }

    /// `POST /scripts/:script/deployments`: after a later deploy's upload, the new version at
    /// 100% (`{"strategy": "percentage", "versions": [{"version_id", "percentage"}]}`).
    fn create_deployment(&self, body: &[u8]) -> Reply {
        if !self.exists() {
            return not_found();
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
            return bad_body("a JSON deployment");
        };
        let known = self.versions();
        let mut versions = Vec::new();
        for version in body.get("versions").and_then(|list| list.as_array()).cloned().unwrap_or_default() {
            let (Some(id), Some(percentage)) =
                (version.get("version_id").and_then(|id| id.as_str()), version.get("percentage").and_then(serde_json::Value::as_f64))
            else {
                return bad_body("{\"versions\": [{\"version_id\", \"percentage\"}]}");
            };
            if !known.iter().any(|known| known == id) {
                return error(404, 10212, &format!("version {id} not found"));
            }
            versions.push((id.to_owned(), percentage));
        }
        let total: f64 = versions.iter().map(|(_, percentage)| percentage).sum();
        if versions.is_empty() || (total - 100.0).abs() > 1e-9 {
            return error(400, 10214, &format!("a deployment's percentages must add up to 100, not {total}"));
        }
        success(self.deploy(&versions, body.get("annotations").cloned().unwrap_or(serde_json::json!({}))))
    }

    /// `GET /scripts/:script/settings`: before the upload, the bindings the script already has
    /// (wrangler's resource provisioning, which can inherit one with no id); 404 on a first
    /// deploy, which wrangler passes over.
    fn settings(&self) -> Reply {
        let Some(deployed) = self.deployed() else {
            return not_found();
        };
        // Secrets are never read back.
        let bindings: Vec<serde_json::Value> = deployed
            .bindings
            .iter()
            .map(|binding| {
                let mut binding = binding.clone();
                if let Some(fields) = binding.as_object_mut().filter(|fields| fields.get("type").and_then(|kind| kind.as_str()) == Some("secret_text")) {
                    fields.remove("text");
                }
                binding
            })
            .collect();
        let settings = self.read_json("script-settings.json").unwrap_or(serde_json::json!({}));
        success(serde_json::json!({
            "bindings": bindings, "compatibility_date": deployed.compatibility_date,
            "compatibility_flags": deployed.metadata.get("compatibility_flags").cloned().unwrap_or(serde_json::json!([])),
            "logpush": settings.get("logpush").cloned().unwrap_or(serde_json::json!(false)),
            "observability": settings.get("observability"), "tags": settings.get("tags").cloned().unwrap_or(serde_json::json!([])),
            "tail_consumers": settings.get("tail_consumers"), "usage_model": "standard",
        }))
    }

    /// `PATCH /scripts/:script/script-settings`: after the upload, the settings outside
    /// versions; a deploy with `[env.*]` sets the tags `cf:service=<top-level name>` and
    /// `cf:environment=<env>`. The fields sent replace the stored ones.
    fn script_settings(&self, method: &str, body: &[u8]) -> Reply {
        if !self.exists() {
            return not_found();
        }
        let mut settings = self.read_json("script-settings.json").unwrap_or(serde_json::json!({}));
        if method == "PATCH" {
            let Ok(serde_json::Value::Object(patch)) = serde_json::from_slice::<serde_json::Value>(body) else {
                return bad_body("a JSON object of settings");
            };
            for (field, value) in patch {
                settings[field] = value;
            }
            self.write_json("script-settings.json", &settings);
        }
        success(settings)
    }

    /// `GET` then `POST /scripts/:script/subdomain` (`{"enabled", "previews_enabled"?}`): after
    /// the upload, workers.dev on (no routes, or `workers_dev = true`) or off. A new script
    /// starts with both off; an omitted `previews_enabled` follows `enabled`.
    fn subdomain(&self, method: &str, body: &[u8]) -> Reply {
        if !self.exists() {
            return not_found();
        }
        let mut state = self.read_json("subdomain.json").unwrap_or(serde_json::json!({"enabled": false, "previews_enabled": false}));
        if method == "POST" {
            let Some(body) = serde_json::from_slice::<serde_json::Value>(body).ok() else {
                return bad_body("{\"enabled\": bool, \"previews_enabled\": bool}");
            };
            let Some(enabled) = body.get("enabled").and_then(serde_json::Value::as_bool) else {
                return bad_body("{\"enabled\": bool, \"previews_enabled\": bool}");
            };
            let previews = body.get("previews_enabled").and_then(serde_json::Value::as_bool).unwrap_or(enabled);
            state = serde_json::json!({"enabled": enabled, "previews_enabled": previews});
            self.write_json("subdomain.json", &state);
        }
        success(state)
    }

    /// `PUT /scripts/:script/schedules` (`[{"cron": "* * * * *"}]`): the last step of a deploy
    /// with `[triggers] crons`, replacing every schedule the script had.
    fn schedules(&self, method: &str, body: &[u8]) -> Reply {
        if !self.exists() {
            return not_found();
        }
        if method == "PUT" {
            let Ok(serde_json::Value::Array(items)) = serde_json::from_slice::<serde_json::Value>(body) else {
                return bad_body("a JSON array of {\"cron\": ...}");
            };
            let mut schedules = Vec::new();
            for item in items {
                let Some(cron) = item.get("cron").and_then(|cron| cron.as_str()) else {
                    return bad_body("a JSON array of {\"cron\": ...}");
                };
                // Five fields: minute, hour, day of month, month, day of week.
                if cron.split_whitespace().count() != 5 {
                    return error(400, 10100, &format!("invalid cron expression {cron:?}"));
                }
                schedules.push(serde_json::json!({"cron": cron, "created_on": timestamp(), "modified_on": timestamp()}));
            }
            self.write_json("schedules.json", &serde_json::json!(schedules));
        }
        success(serde_json::json!({"schedules": self.read_json("schedules.json").unwrap_or(serde_json::json!([]))}))
    }
}

/// The checks the API makes of an upload before storing it.
fn check_upload(content_type: &str, body: &[u8]) -> Result<Upload, Reply> {
    let parts = multipart(content_type, body).ok_or_else(|| bad_body("multipart/form-data, a metadata part and the modules"))?;
    let mut metadata = None;
    let mut modules = BTreeMap::new();
    for part in parts {
        if part.name == "metadata" {
            metadata = serde_json::from_slice::<serde_json::Value>(&part.content).ok().filter(serde_json::Value::is_object);
            if metadata.is_none() {
                return Err(invalid("the metadata part is not a JSON object"));
            }
        } else {
            // Part names are module paths from the Worker's root: wrangler names a module it
            // found beside the entry `./<name>`, which is `<name>`.
            let name = resolve("", &part.name);
            if modules.insert(name.clone(), Module { content_type: part.content_type, content: part.content }).is_some() {
                return Err(invalid(&format!("module {name:?} is uploaded twice")));
            }
        }
    }
    let metadata = metadata.ok_or_else(|| invalid("the upload has no metadata part"))?;
    let Some(main) = metadata.get("main_module").and_then(|main| main.as_str()) else {
        return Err(invalid("metadata.main_module is missing (this stand-in takes ES modules Workers only)"));
    };
    if !modules.contains_key(main) {
        return Err(invalid(&format!("No such module \"{main}\".\n  (the main module)")));
    }
    let date = metadata.get("compatibility_date").and_then(|date| date.as_str()).unwrap_or_default();
    let shaped = date.len() == 10 && date.bytes().enumerate().all(|(i, byte)| if i == 4 || i == 7 { byte == b'-' } else { byte.is_ascii_digit() });
    if !shaped {
        return Err(invalid(&format!("compatibility_date {date:?} is not a date (YYYY-MM-DD)")));
    }
    // Every relative import of an ES module names an uploaded module, or the runtime refuses
    // the Worker when it loads it.
    for (importer, module) in &modules {
        if module.content_type != "application/javascript+module" {
            continue;
        }
        for specifier in relative_imports(&String::from_utf8_lossy(&module.content)) {
            let resolved = resolve(importer, &specifier);
            if !modules.contains_key(&resolved) {
                return Err(invalid(&format!("Uncaught Error: No such module \"{resolved}\".\n  imported from \"{importer}\"")));
            }
        }
    }
    let bindings = metadata.get("bindings").cloned().unwrap_or(serde_json::json!([]));
    let Some(bindings) = bindings.as_array() else {
        return Err(invalid("metadata.bindings is not a list"));
    };
    let mut names = std::collections::BTreeSet::new();
    for binding in bindings {
        let text = |field: &str| binding.get(field).and_then(|value| value.as_str());
        let (Some(name), Some(kind)) = (text("name"), text("type")) else {
            return Err(invalid(&format!("a binding needs a name and a type: {binding}")));
        };
        if !names.insert(name.to_owned()) {
            return Err(invalid(&format!("binding name '{name}' is used twice")));
        }
        match kind {
            "kv_namespace" => {
                let id = text("namespace_id").unwrap_or_default();
                if id.len() != 32 || !id.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)) {
                    return Err(error(400, 10041, &format!("KV namespace '{id}' is not valid.")));
                }
            }
            "ratelimit" => {
                let namespace = text("namespace_id").unwrap_or_default();
                let simple = binding.get("simple");
                let limit = simple.and_then(|simple| simple.get("limit")?.as_u64()).unwrap_or(0);
                let period = simple.and_then(|simple| simple.get("period")?.as_u64()).unwrap_or(0);
                if namespace.is_empty() || !namespace.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(invalid(&format!("ratelimit binding '{name}': namespace_id {namespace:?} must be a positive integer")));
                }
                if limit == 0 || (period != 10 && period != 60) {
                    return Err(invalid(&format!("ratelimit binding '{name}': simple needs a limit above 0 and a period of 10 or 60 seconds")));
                }
            }
            "plain_text" | "secret_text" if text("text").is_none() => return Err(invalid(&format!("binding '{name}' of type {kind} needs a text"))),
            _ => {}
        }
    }
    Ok(Upload { metadata, modules })
}

/// The relative specifiers an ES module imports (`from "./x"`, `import "./x"`, `import("./x")`),
/// as a scan of the text: enough for a bundle, whose imports are all at its top.
fn relative_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for keyword in ["from", "import"] {
        let mut rest = source;
        while let Some(at) = rest.find(keyword) {
            rest = &rest[at + keyword.len()..];
            let mut after = rest.trim_start();
            if keyword == "import" {
                after = after.strip_prefix('(').unwrap_or(after).trim_start();
            }
            let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
            let Some(end) = after[1..].find(quote) else { continue };
            let specifier = &after[1..1 + end];
            if specifier.starts_with("./") || specifier.starts_with("../") {
                found.push(specifier.to_owned());
            }
        }
    }
    found
}

/// `specifier` relative to the module named `importer`, as a module name.
fn resolve(importer: &str, specifier: &str) -> String {
    let mut segments: Vec<&str> = importer.split('/').collect();
    segments.pop();
    for segment in specifier.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    segments.join("/")
}

/// One part of a multipart body.
struct Part {
    name: String,
    content_type: String,
    content: Vec<u8>,
}

/// The parts of a `multipart/form-data` body (RFC 7578, delimiters as in RFC 2046 §5.1.1);
/// `None` if it is not one.
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let (kind, parameters) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = parameters.split(';').find_map(|parameter| parameter.trim().strip_prefix("boundary="))?.trim_matches('"');
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    // The first delimiter may open the body, without the CRLF before it; a preamble is ignored.
    let mut rest = match body.strip_prefix(&delimiter[2..]) {
        Some(rest) => rest,
        None => &body[find(body, &delimiter)? + delimiter.len()..],
    };
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, &delimiter)?;
        let (part, after) = rest.split_at(end);
        rest = &after[delimiter.len()..];
        let head_end = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..head_end]).ok()?;
        let (mut name, mut part_type) = (None, "text/plain".to_owned());
        for line in head.split("\r\n") {
            let (header, value) = line.split_once(':')?;
            match header.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    name = value.split(';').skip(1).find_map(|parameter| {
                        let (key, value) = parameter.trim().split_once('=')?;
                        (key == "name").then(|| value.trim_matches('"').to_owned())
                    })
                }
                "content-type" => part_type = value.trim().to_owned(),
                _ => {}
            }
        }
        parts.push(Part { name: name?, content_type: part_type, content: part[head_end + 4..].to_vec() });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// FNV-1a, 64 bits: stable ids and etags from names and contents.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Writes a whole file: beside, then renamed over.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let parent = path.parent().unwrap();
    std::fs::create_dir_all(parent).unwrap();
    let temporary = parent.join(format!(".{}.tmp", path.file_name().unwrap().to_string_lossy()));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// Now, as the API writes times (RFC 3339, UTC, microseconds).
fn timestamp() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    edgedns::calendar::Utc::from_unix(seconds).rfc3339_micros()
}
