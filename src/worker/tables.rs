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

/// Loads the firewall's rule list when `firewall:current` names a version this isolate does
/// not have. Runs in the background: a large list is parsed off the query path, and until it
/// is loaded the previous one (or none) applies. An unreadable list is logged and skipped.
pub(super) async fn load_firewall(kv: &Kv) {
    let version = match kv.text(firewall::CURRENT_KEY).await {
        Ok(Some(version)) => version.trim().to_owned(),
        Ok(None) => String::new(),
        Err(error) => {
            console_error!("edgedns: reading {} failed: {error}", firewall::CURRENT_KEY);
            return;
        }
    };
    if STATE.with(|state| state.borrow().firewall_version.as_deref() == Some(version.as_str())) {
        return;
    }
    let rules = if version.is_empty() {
        None
    } else {
        match read_firewall(kv, &version).await {
            Ok(Some(value)) => match Firewall::from_published(value) {
                Ok(rules) => Some(Rc::new(rules)),
                Err(error) => {
                    console_error!("edgedns: firewall {version} is unreadable, keeping the previous rules: {error}");
                    return;
                }
            },
            Ok(None) => {
                console_error!("edgedns: firewall {version} is missing from KV");
                return;
            }
            Err(error) => {
                console_error!("edgedns: reading firewall {version} failed, keeping the previous rules: {error}");
                return;
            }
        }
    };
    console_log!("edgedns: firewall {} loaded ({} rules)", if version.is_empty() { "(none)" } else { &version }, rules.as_ref().map_or(0, |r| r.len()));
    // A profile naming a list this version lacks uses the lists it finds: said once a load.
    if let Some(config) = STATE.with(|state| state.borrow().resolver.clone().flatten()) {
        let published: Vec<&str> = rules.as_deref().map(|rules| rules.list_names().collect()).unwrap_or_default();
        for (profile, list) in config.profiles.missing_lists(&published) {
            console_error!("edgedns: profile {profile} names the list {list:?}, which firewall {version:?} does not hold");
        }
    }
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.firewall_version = Some(version);
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
