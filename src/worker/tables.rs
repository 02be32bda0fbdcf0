//! The GeoIP tables and the DNS firewall's rules: loaded in the background when their
//! `current` keys name a version this isolate does not hold.

use super::*;

/// Loads the GeoIP tables when `geoip:current` names a version this isolate does not have.
/// Runs in the background (`waitUntil`): until it finishes, ECS subnets are not located and
/// answers use the edge's location data with scope 0.
pub(super) async fn load_geoip(kv: &Kv) {
    let version = match kv.text(GEOIP_CURRENT_KEY).await {
        Ok(Some(version)) if !version.trim().is_empty() => version.trim().to_owned(),
        Ok(_) => return,
        Err(error) => {
            console_error!("edgedns: reading {GEOIP_CURRENT_KEY} failed: {error}");
            return;
        }
    };
    if STATE.with(|state| state.borrow().geoip_version.as_deref() == Some(version.as_str())) {
        return;
    }
    let mut tables = GeoIp::default();
    for kind in ["country", "asn"] {
        let key = geoip_key(kind, &version);
        match kv.bytes(&key).await {
            Ok(Some(bytes)) => match IpTable::decode(bytes) {
                Ok(table) if kind == "country" => tables.country = Some(table),
                Ok(table) => tables.asn = Some(table),
                Err(error) => console_error!("edgedns: ignoring corrupt {key}: {error}"),
            },
            Ok(None) => {}
            Err(error) => console_error!("edgedns: reading {key} failed: {error}"),
        }
    }
    console_log!("edgedns: GeoIP {version} loaded (country: {}, asn: {})", tables.country.is_some(), tables.asn.is_some());
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.geoip_version = Some(version);
        state.geoip = Some(Rc::new(tables));
    });
}

/// Loads the firewall's rules when `firewall:current` (the lists `edgedns firewall publish`
/// published) or a subscription's status names a version this isolate does not hold. Runs in
/// the background: a large list is decoded off the query path, and until it is loaded the
/// previous one (or none) applies. A version that does not read is logged and the one held
/// for it before (if any) kept; the parts already held are not read again.
pub(super) async fn load_firewall(kv: &Kv) {
    let published = match kv.text(firewall::CURRENT_KEY).await {
        Ok(version) => version.map(|version| version.trim().to_owned()).filter(|version| !version.is_empty()),
        Err(error) => {
            console_error!("edgedns: reading {} failed: {error}", firewall::CURRENT_KEY);
            return;
        }
    };
    let config = STATE.with(|state| state.borrow().resolver.clone().flatten());
    let mut wanted: Vec<(Option<String>, String)> = published.into_iter().map(|version| (None, version)).collect();
    if let Some(subscriptions) = config.as_ref().map(|config| &config.subscriptions).filter(|subscriptions| !subscriptions.is_empty()) {
        match super::subscriptions::read_status(kv).await {
            Ok(status) => wanted.extend(status.serving(subscriptions).map(|(name, version)| (Some(name.to_owned()), version.to_owned()))),
            // Unread: the subscriptions' parts held stay as they are.
            Err(error) => {
                console_error!("edgedns: {error}");
                let held = STATE.with(|state| state.borrow().firewall_parts.clone());
                wanted.extend(held.into_iter().filter(|(name, _)| name.is_some()));
            }
        }
    }
    let (held, set) = STATE.with(|state| {
        let state = state.borrow();
        (state.firewall_parts.clone(), state.firewall.clone())
    });
    if held == wanted {
        return;
    }
    let held_part = |index: usize| set.as_ref().and_then(|set| set.parts().get(index).cloned());
    let (mut parts, mut loaded) = (Vec::new(), Vec::new());
    for (name, version) in wanted {
        let what = name.as_deref().map_or_else(|| format!("firewall {version}"), |name| format!("subscription {name}'s firewall {version}"));
        if let Some(index) = held.iter().position(|(_, held)| *held == version) {
            parts.extend(held_part(index));
            loaded.push((name, version));
            continue;
        }
        let read = match read_firewall(kv, &version).await {
            Ok(Some(value)) => Firewall::from_published(value).map_err(|error| format!("{what} is unreadable: {error}")),
            Ok(None) => Err(format!("{what} is missing from KV")),
            Err(error) => Err(format!("reading {what} failed: {error}")),
        };
        match read {
            Ok(rules) => {
                parts.push(Rc::new(rules));
                loaded.push((name, version));
            }
            // The part held for the same source before keeps applying.
            Err(error) => match held.iter().position(|(held, _)| *held == name) {
                Some(index) => {
                    console_error!("edgedns: {error}; keeping {}", held.get(index).map_or("", |(_, version)| version.as_str()));
                    parts.extend(held_part(index));
                    loaded.extend(held.get(index).cloned());
                }
                None => console_error!("edgedns: {error}"),
            },
        }
    }
    let rules = (!parts.is_empty()).then(|| Rc::new(FirewallSet::new(parts)));
    let described: Vec<String> =
        loaded.iter().map(|(name, version)| name.as_deref().map_or_else(|| version.clone(), |name| format!("{name} {version}"))).collect();
    console_log!(
        "edgedns: firewall loaded ({} rules{}{})",
        rules.as_ref().map_or(0, |rules| rules.len()),
        if described.is_empty() { "" } else { ": " },
        described.join(", ")
    );
    // A profile naming a list this version lacks uses the lists it finds: said once a load.
    if let Some(config) = &config {
        let published: Vec<&str> = rules.as_deref().map(|rules| rules.list_names().collect()).unwrap_or_default();
        for (profile, list) in config.profiles.missing_lists(&published) {
            console_error!("edgedns: profile {profile} names the list {list:?}, which the firewall loaded does not hold");
        }
    }
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.firewall_parts = loaded;
        state.firewall = rules;
    });
}

/// The published value of firewall `version`, its parts joined (a compiled firewall over KV's
/// value limit is split: [`firewall::compiled::parts`]); `None` when its first key is missing.
async fn read_firewall(kv: &Kv, version: &str) -> std::result::Result<Option<Vec<u8>>, String> {
    let Some(mut value) = kv.bytes(&firewall::version_key(version)).await.map_err(|error| error.to_string())? else { return Ok(None) };
    if !value.starts_with(firewall::compiled::MAGIC) {
        return Ok(Some(value));
    }
    let parts = firewall::compiled::parts(&value).map_err(|error| error.to_string())?;
    for part in 1..parts {
        let key = firewall::compiled::part_key(version, part);
        let Some(bytes) = kv.bytes(&key).await.map_err(|error| error.to_string())? else { return Err(format!("{key} is missing")) };
        if value.len().saturating_add(bytes.len()) > firewall::compiled::MAX_COMPILED_BYTES {
            return Err(format!("{key} takes the value over {} bytes", firewall::compiled::MAX_COMPILED_BYTES));
        }
        value.extend_from_slice(&bytes);
    }
    Ok(Some(value))
}
