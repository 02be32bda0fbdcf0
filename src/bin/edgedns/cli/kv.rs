//! Workers KV through the pinned wrangler (`wrangler kv ... --local|--remote`): single keys,
//! bulk reads and writes, and the published snapshot read back.

use std::path::Path;
use std::process::Command;

use edgedns::publish;
use edgedns::snapshot;
use edgedns::zone::Catalog;

use super::args::Target;
use super::sources::progress;

/// The pinned wrangler, with the target's configuration file and environment, telemetry off.
pub(super) fn wrangler(target: &Target) -> Command {
    let local = Path::new("node_modules/.bin/wrangler");
    let mut command = match &target.wrangler.executable {
        Some(path) => Command::new(path),
        None if local.exists() => Command::new(local),
        None => {
            let mut npx = Command::new("npx");
            npx.arg("wrangler");
            npx
        }
    };
    command.env("WRANGLER_SEND_METRICS", "false");
    // No banner: printing it asks the npm registry for a newer wrangler on every call.
    command.env("WRANGLER_HIDE_BANNER", "true");
    command
}

/// Appends the target's configuration file and environment to a wrangler command line.
pub(super) fn configured(command: &mut Command, target: &Target) {
    if let Some(config) = &target.wrangler.config {
        command.arg("--config").arg(config);
    }
    if let Some(env) = &target.env {
        command.arg("--env").arg(env);
    }
}

/// `wrangler kv key VERB` or (`bulk VERB`) `wrangler kv bulk VERB` on the target's namespace.
pub(super) fn wrangler_command(target: &Target, verb: &str) -> Command {
    let mut command = wrangler(target);
    match verb.strip_prefix("bulk ") {
        Some(bulk) => command.args(["kv", "bulk", bulk, "--binding", &target.wrangler.binding]),
        None => command.args(["kv", "key", verb, "--binding", &target.wrangler.binding]),
    };
    command.arg(if target.local { "--local" } else { "--remote" });
    if let Some(dir) = &target.persist_to {
        command.arg("--persist-to").arg(dir);
    }
    configured(&mut command, target);
    command
}

/// Reads a key through wrangler (`kv bulk get`, as [`get_many`]); `None` when it is
/// missing. Not `kv key get`: remotely, wrangler 4.86 reports a missing key as an error (the
/// API's 404, "Failed to fetch ... 404: Not Found"), locally as "Value not found", so a
/// first deploy could not even read the missing `snapshot:current`. Every value read this
/// way is text (the pointer and manifests as [`snapshot::storable`] makes them, JSON).
pub(super) fn get(target: &Target, key: &str) -> Result<Option<Vec<u8>>, String> {
    let value = get_many(target, &[key.to_owned()])?.pop().flatten();
    Ok(value.map(|text| snapshot::from_text(text.into_bytes())))
}

/// Writes a key's value through wrangler (from a temporary file: values may be binary).
pub(super) fn put_bytes(target: &Target, key: &str, value: &[u8]) -> Result<(), String> {
    let file = std::env::temp_dir().join(format!("edgedns-put-{}-{}", std::process::id(), key.replace(':', "_")));
    std::fs::write(&file, value).map_err(|e| format!("{}: {e}", file.display()))?;
    let result = put(target, key, &file);
    let _ = std::fs::remove_file(&file);
    result
}

/// Writes many keys with one wrangler call (`kv bulk put`) per batch. The values are text
/// (the publish sequence stores binary ones as [`snapshot::storable`] makes them), locally
/// and remotely alike: wrangler's local bulk put mangles binary base64 values
/// (workers-sdk#15192, fixed after the wrangler pinned here), and `kv bulk get`, which reads
/// values back for `diff` and `rollback`, returns text. Batches stay under the bulk API's
/// limits (10,000 keys, 100 MB a request).
pub(super) fn put_many(target: &Target, entries: &[(String, String)]) -> Result<(), String> {
    const BATCH_BYTES: usize = 90 * 1024 * 1024;
    let mut batch: Vec<serde_json::Value> = Vec::new();
    let mut bytes = 0;
    for (key, value) in entries {
        if !batch.is_empty() && (batch.len() == 10_000 || bytes + value.len() > BATCH_BYTES) {
            bulk_put(target, &batch, batch.len())?;
            batch.clear();
            bytes = 0;
        }
        bytes += value.len();
        batch.push(serde_json::json!({"key": key, "value": value}));
    }
    if batch.is_empty() {
        Ok(())
    } else {
        bulk_put(target, &batch, batch.len())
    }
}

/// Reads many keys (`kv bulk get`, at most 100 a call) as the text stored; `None` for a
/// missing key.
pub(super) fn get_many(target: &Target, keys: &[String]) -> Result<Vec<Option<String>>, String> {
    let mut values = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        let output = bulk(target, "get", chunk, &format!("reading {} keys", chunk.len()))?;
        // The JSON object comes first; wrangler may print more after it.
        let start = output.iter().position(|&byte| byte == b'{').ok_or("wrangler kv bulk get printed no JSON")?;
        let read: serde_json::Map<String, serde_json::Value> = serde_json::Deserializer::from_slice(&output[start..])
            .into_iter()
            .next()
            .ok_or("wrangler kv bulk get printed no JSON")?
            .map_err(|e| format!("wrangler kv bulk get: {e}"))?;
        for key in chunk {
            let value = read.get(key).and_then(|entry| entry.get("value").or(Some(entry))).and_then(serde_json::Value::as_str);
            values.push(value.map(str::to_owned));
        }
    }
    Ok(values)
}

pub(super) fn bulk_put(target: &Target, pairs: &[serde_json::Value], count: usize) -> Result<(), String> {
    bulk(target, "put", pairs, &format!("writing {count} keys")).map(drop)
}

/// Deletes many keys with one wrangler call (`kv bulk delete`) per 10,000.
pub(super) fn delete_many(target: &Target, keys: &[String]) -> Result<(), String> {
    for chunk in keys.chunks(10_000) {
        bulk(target, "delete", chunk, &format!("deleting {} keys", chunk.len()))?;
    }
    Ok(())
}

/// The namespace behind wrangler, as the publish sequence's store: each call one wrangler
/// process (bulk, batched), done by the time its future is first polled.
pub(super) struct Wrangler<'a>(pub(super) &'a Target);

impl publish::Store for Wrangler<'_> {
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, publish::StoreError> {
        get_many(self.0, keys).map_err(publish::StoreError)
    }

    async fn put_many(&self, entries: &[(String, String)]) -> Result<(), publish::StoreError> {
        put_many(self.0, entries).map_err(publish::StoreError)
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), publish::StoreError> {
        delete_many(self.0, keys).map_err(publish::StoreError)
    }

    fn progress(&self, message: &str) {
        progress(message);
    }
}

/// `wrangler kv bulk <verb> FILE` with `list` as the JSON file; its standard output.
pub(super) fn bulk<T: serde::Serialize>(target: &Target, verb: &str, list: &[T], what: &str) -> Result<Vec<u8>, String> {
    let file = std::env::temp_dir().join(format!("edgedns-bulk-{verb}-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(list).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut command = wrangler_command(target, &format!("bulk {verb}"));
    command.arg(&file);
    if verb == "delete" {
        command.arg("--force");
    }
    let output = command.output().map_err(|e| format!("cannot run wrangler: {e}"));
    let _ = std::fs::remove_file(&file);
    let output = output?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(wrangler_failed(what, &output))
    }
}

pub(super) fn put(target: &Target, key: &str, file: &Path) -> Result<(), String> {
    let mut command = wrangler_command(target, "put");
    command.arg(key).arg("--path").arg(file);
    let output = command.output().map_err(|e| format!("cannot run wrangler: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(wrangler_failed(&format!("writing {key}"), &output))
    }
}

/// A failed wrangler call in words: what it was doing, what wrangler said, and what to do
/// about the API's answers that have a remedy.
pub(super) fn wrangler_failed(what: &str, output: &std::process::Output) -> String {
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let mut message = format!("wrangler failed {what}:\n{said}");
    // The API's authentication error (an expired, revoked or mistyped token, or one
    // without the permission): wrangler names neither the variable nor the permission.
    if said.contains("[code: 10000]") {
        message.push_str(
            "the Cloudflare API refused the API token: check CLOUDFLARE_API_TOKEN (expired or revoked?) and that it has the \
             Workers KV Storage Edit permission on the account CLOUDFLARE_ACCOUNT_ID names",
        );
    }
    // The API's rate limit (1,200 requests in five minutes for a user, all of their
    // tokens together; past it, every call is refused for a while): wrangler does not retry.
    if said.contains("[code: 971]") {
        message.push_str(
            "the Cloudflare API is rate limiting this account's calls (1,200 requests in five minutes): wait a few minutes, \
             then run the command again",
        );
    }
    message
}

/// The manifest the Worker serves (`snapshot:current`); `None` when nothing was published.
pub(super) fn current(target: &Target) -> Result<Option<snapshot::Manifest>, String> {
    match get(target, snapshot::CURRENT_KEY)? {
        Some(bytes) => snapshot::Manifest::decode(&bytes).map(Some).map_err(|e| format!("{}: {e}", snapshot::CURRENT_KEY)),
        None => Ok(None),
    }
}

/// The version `snapshot:current` names; `None` when nothing was published.
pub(super) fn current_version(target: &Target) -> Result<Option<String>, String> {
    Ok(current(target)?.map(|manifest| manifest.version))
}

/// The manifest the Worker serves, which must exist.
pub(super) fn published(target: &Target) -> Result<snapshot::Manifest, String> {
    current(target)?.ok_or_else(|| "nothing published yet (snapshot:current is missing)".to_owned())
}

/// A published version's manifest.
pub(super) fn published_manifest(target: &Target, version: &str) -> Result<snapshot::Manifest, String> {
    let bytes = get(target, &snapshot::version_key(version))?.ok_or_else(|| format!("snapshot {version} is missing from KV"))?;
    snapshot::Manifest::decode(&bytes).map_err(|e| format!("snapshot {version} is unusable: {e}"))
}

/// A published version's shards (`kv bulk get`, 100 a call; every shard must be there).
pub(super) fn published_shards(target: &Target, manifest: &snapshot::Manifest) -> Result<Vec<Vec<u8>>, String> {
    let keys: Vec<String> = (0..manifest.shards().len()).map(|n| snapshot::shard_key(&manifest.version, n)).collect();
    progress(&format!("reading {} shard(s) of {}", keys.len(), manifest.version));
    let values = get_many(target, &keys)?;
    keys.iter()
        .zip(values)
        .map(|(key, value)| value.map(|text| snapshot::from_text(text.into_bytes())).ok_or_else(|| format!("{key} is missing from KV")))
        .collect()
}

/// A published version, reassembled from its shards.
pub(super) fn published_version(target: &Target, version: &str) -> Result<Catalog, String> {
    let manifest = published_manifest(target, version)?;
    let shards = published_shards(target, &manifest)?;
    manifest.assemble(&shards).map_err(|e| format!("snapshot {version} is unusable: {e}"))
}
