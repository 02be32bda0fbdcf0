//! DNSSEC keys from the Worker's secrets, and the isolate's signature cache (README, "DNSSEC").
//!
//! A zone that opts in (`dnssec = true`) signs with the keys in the secret `DNSSEC_KEY_<ZONE>`
//! (`wrangler secret put`; `.dev.vars` locally), read the first time a query needs the zone
//! and kept for the isolate's life (a new secret means a new deployment, so new isolates). A
//! missing or unusable secret is logged once and the zone answers unsigned: never a crash.

use std::collections::HashSet;

use hickory_proto::rr::Name;
use worker::{console_error, console_log, Env};

use crate::dnssec::key::secret_name;
use crate::dnssec::{CacheLimits, KeySet, Keyring, SignatureCache, Signer, Validity};
use crate::zone::Catalog;

/// What an isolate signs with.
pub(super) struct Signing {
    keys: Keyring,
    cache: SignatureCache,
    /// Apexes (lower case) whose secret was read, successfully or not: never read again.
    tried: HashSet<Name>,
}

impl Default for Signing {
    fn default() -> Self {
        // A random seed keys the cache's fingerprints (`SignatureCache::new`).
        Self { keys: Keyring::new(), cache: SignatureCache::new(CacheLimits::default(), super::seed()), tried: HashSet::new() }
    }
}

impl Signing {
    /// Reads the keys of `catalog`'s signed zones not tried yet.
    pub(super) fn load_keys(&mut self, env: &Env, catalog: &Catalog) {
        let zones = catalog.zones().iter().chain(catalog.views().iter().flat_map(|view| view.zones.zones()));
        for zone in zones.filter(|zone| zone.signed()) {
            // Checked without allocating: this runs on every query.
            if self.tried.contains(zone.apex()) {
                continue;
            }
            self.tried.insert(zone.apex().clone());
            let name = secret_name(zone.apex());
            let Ok(secret) = env.secret(&name) else {
                console_error!(
                    "edgedns: dnssec: {} opts in but there is no secret {name} (wrangler secret put {name}); its answers go out unsigned",
                    zone.apex()
                );
                continue;
            };
            match KeySet::parse(&secret.to_string(), zone.apex()) {
                Ok(keys) => {
                    // A rollover's keys say their state (README, "DNSSEC", "Key rollover").
                    let tags: Vec<String> = keys
                        .entries()
                        .map(|entry| format!("{} (algorithm {}, {})", entry.key.key_tag(), entry.key.algorithm().number(), entry.state.word()))
                        .collect();
                    console_log!("edgedns: dnssec: {} has key tag {}", zone.apex(), tags.join(", "));
                    self.keys.insert(keys);
                }
                Err(error) => console_error!("edgedns: dnssec: {name} is unusable: {error}; the answers of {} go out unsigned", zone.apex()),
            }
        }
    }

    /// The signer for a request at `now_s` (Unix seconds), when some zone has keys.
    pub(super) fn signer(&mut self, now_s: u64) -> Option<Signer<'_>> {
        (!self.keys.is_empty()).then(|| Signer { keys: &self.keys, cache: &mut self.cache, now_s, validity: Validity::default() })
    }
}
