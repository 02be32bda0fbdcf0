//! Key rollovers as a plan: where a zone's rollover is, the next step, and when it may be
//! taken, the waits derived from the TTLs the zone is served with (RFC 7583's timelines). The
//! states live in the secret ([`super::key`]'s `published=T`, `active=T`, `retired=T`,
//! `ds=T`); [`take`] turns one set into the next, [`plan`] explains a set. The time comes in
//! as an argument, so the tests run a virtual clock.
//!
//! The methods, one per role of the rolling key:
//!
//! * **ZSK: pre-publication** (RFC 7583 §3.2.1). `start` publishes the new key; once it is in
//!   every cache that holds the DNSKEY RRset (Ipub = Dprp + TTLkey, plus the publish safety
//!   margin) `switch` makes it sign and retires the old one, whose DNSKEY stays until every
//!   signature it made has expired from caches (Iret = Dsgn + Dprp + TTLsig, plus the retire
//!   safety margin); `finish` removes it. Dsgn, the time to re-sign the zone, is 0 here: the
//!   Worker signs online, and a new secret is a new deployment whose isolates sign afresh.
//! * **KSK: double-KSK** (RFC 7583 §3.3.1). `start` publishes the new key-signing key and the
//!   DNSKEY RRset is signed by both from then on; after Ipub, `switch` makes it the active one
//!   and prints its DS for the registrar, to replace the old DS; `ds-submitted` records when
//!   the parent serves the new DS; once the old DS has expired from caches (DprpP + TTLds,
//!   plus the retire safety margin) `finish` removes the old key.
//! * **CSK: the two together.** RFC 7583 gives no timeline of its own for a combined key; the
//!   one here is pre-publication (§3.2.1) for the zone's data and double-KSK (§3.3.1) for the
//!   DNSKEY RRset and the DS: the new key signs the DNSKEY RRset from `start`, the data from
//!   `switch`, and the old one goes at `finish` once both its data signatures and its DS have
//!   expired from caches. A validator whose trust anchor is the old DS or the new one
//!   validates at every phase.

use std::fmt;

use hickory_proto::rr::RecordType;

use super::key::{KeySet, KeyState, SigningKey, ZoneKey};
use super::online::dnskey_ttl;
use crate::calendar::Utc;
use crate::zone::Zone;

/// The parent's DS TTL assumed when none is given: a day, what many TLDs serve.
pub const DEFAULT_DS_TTL_S: u32 = 86_400;

/// The propagation delay assumed when none is given (Dprp, RFC 7583 §3.2.1): how long until
/// a new secret is what every Worker isolate signs with, and a new DS is what every server of
/// the parent answers.
pub const DEFAULT_PROPAGATION_DELAY_S: u64 = 300;

/// The publish and retire safety margins assumed when none is given (RFC 7583 §3.2.1): an
/// hour each, for what the other terms do not foresee.
pub const DEFAULT_SAFETY_S: u64 = 3_600;

/// Which key a rollover replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The zone-signing key of a pair (pre-publication).
    ZoneSigning,
    /// The key-signing key of a pair (double-KSK).
    KeySigning,
    /// The combined signing key (pre-publication for the data, double-KSK for the DNSKEY RRset).
    Combined,
}

impl Role {
    /// ZSK, KSK or CSK.
    pub fn short(self) -> &'static str {
        match self {
            Self::ZoneSigning => "ZSK",
            Self::KeySigning => "KSK",
            Self::Combined => "CSK",
        }
    }

    /// The RFC 7583 method the role rolls by.
    pub fn method(self) -> &'static str {
        match self {
            Self::ZoneSigning => "pre-publication (RFC 7583 §3.2.1)",
            Self::KeySigning => "double-KSK (RFC 7583 §3.3.1)",
            Self::Combined => "pre-publication for the data (RFC 7583 §3.2.1), double-KSK for the DNSKEY RRset and DS (§3.3.1)",
        }
    }

    /// Whether the parent's DS changes with the key.
    pub fn changes_ds(self) -> bool {
        self != Self::ZoneSigning
    }
}

/// One step of a rollover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Publish a new key beside the current one.
    Start,
    /// The new key signs; the old one is retired (still published).
    Switch,
    /// The parent serves the new key's DS (KSK and CSK).
    DsSubmitted,
    /// The old key is removed.
    Finish,
}

impl Step {
    /// The step's name on the command line.
    pub fn word(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Switch => "switch",
            Self::DsSubmitted => "ds-submitted",
            Self::Finish => "finish",
        }
    }
}

/// The TTLs a zone is served with, as the rollover's waits need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneTtls {
    /// The DNSKEY RRset's TTL as the Worker answers it (TTLkey).
    pub dnskey_s: u32,
    /// The largest TTL of the zone's records and routed sets.
    pub largest_s: u32,
    /// The TTL of denial (the SOA and NSEC of a negative answer): min(SOA TTL, MINIMUM).
    pub negative_s: u32,
}

impl ZoneTtls {
    /// The TTLs of `zone`.
    pub fn of(zone: &Zone) -> Self {
        let mut largest = zone.soa().ttl;
        for (_, node) in zone.nodes() {
            for set in node.rrsets() {
                largest = largest.max(set.ttl);
            }
            for set in node.routed_sets() {
                largest = largest.max(set.ttl);
            }
        }
        Self { dnskey_s: dnskey_ttl(zone), largest_s: largest, negative_s: zone.negative_soa().ttl }
    }

    /// The longest a signature of the zone is cached (TTLsig): the largest of the three.
    pub fn signature_s(&self) -> u32 {
        self.dnskey_s.max(self.largest_s).max(self.negative_s)
    }
}

/// What the waits are made of (RFC 7583's terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The zone's TTLs.
    pub ttls: ZoneTtls,
    /// The parent's DS TTL (TTLds).
    pub ds_ttl_s: u32,
    /// The propagation delay (Dprp; also the parent's, DprpP).
    pub propagation_delay_s: u64,
    /// The publish safety margin.
    pub publish_safety_s: u64,
    /// The retire safety margin.
    pub retire_safety_s: u64,
}

impl Timing {
    /// The defaults for a zone's TTLs.
    pub fn new(ttls: ZoneTtls) -> Self {
        Self {
            ttls,
            ds_ttl_s: DEFAULT_DS_TTL_S,
            propagation_delay_s: DEFAULT_PROPAGATION_DELAY_S,
            publish_safety_s: DEFAULT_SAFETY_S,
            retire_safety_s: DEFAULT_SAFETY_S,
        }
    }
}

/// Where a rollover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No rollover: the active key(s) only.
    Idle,
    /// The new key is published and does not sign the data yet.
    Published {
        /// Which key rolls.
        role: Role,
        /// When it was published.
        since_s: u64,
    },
    /// The new key signs; the old one is retired, still published.
    Switched {
        /// Which key rolls.
        role: Role,
        /// When the new key started signing.
        since_s: u64,
        /// Since when the parent serves the new DS (KSK and CSK, once `ds-submitted`).
        ds_since_s: Option<u64>,
    },
}

impl Phase {
    /// The phase of a key set.
    pub fn of(keys: &KeySet) -> Self {
        let Some(rolling) = keys.rolling() else { return Self::Idle };
        let role = match (rolling.key.is_key_signing(), keys.is_pair()) {
            (false, _) => Role::ZoneSigning,
            (true, true) => Role::KeySigning,
            (true, false) => Role::Combined,
        };
        let since_s = rolling.since_s.unwrap_or(0);
        match rolling.state {
            KeyState::Published => Self::Published { role, since_s },
            // The set has one active key of each role; the rolling key is never active.
            KeyState::Retired | KeyState::Active => Self::Switched { role, since_s, ds_since_s: keys.key_signing_entry().ds_since_s },
        }
    }
}

/// Why a step waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The new DNSKEY must be in every cache that holds the DNSKEY RRset before the key
    /// signs or its DS is given (RFC 7583 §3.2.1 Ipub, §3.3.1).
    NewKeyInCaches,
    /// The old key's signatures must have expired from caches before its DNSKEY goes
    /// (RFC 7583 §3.2.1 Iret).
    OldSignaturesExpired,
    /// The old DS must have expired from caches before the old key goes (RFC 7583 §3.3.1).
    OldDsExpired,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NewKeyInCaches => "the new DNSKEY must reach every cache that holds the DNSKEY RRset (RFC 7583 §3.2.1, Ipub)",
            Self::OldSignaturesExpired => "the old key's signatures must expire from every cache before its DNSKEY goes (RFC 7583 §3.2.1, Iret)",
            Self::OldDsExpired => "the old DS must expire from every cache before the old key goes (RFC 7583 §3.3.1)",
        })
    }
}

/// One wait before a step: from an event, the sum of its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// What it waits for.
    pub reason: Reason,
    /// The event it counts from (Unix seconds).
    pub from_s: u64,
    /// What the event was (`the start`, `the switch`, `ds-submitted`).
    pub from: &'static str,
    /// Its terms, named as RFC 7583 names them, in seconds.
    pub terms: Vec<(&'static str, u64)>,
}

impl Wait {
    /// When it is over (Unix seconds).
    pub fn until_s(&self) -> u64 {
        self.terms.iter().fold(self.from_s, |sum, (_, seconds)| sum.saturating_add(*seconds))
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms: Vec<String> = self.terms.iter().map(|(name, seconds)| format!("{name} {seconds} s")).collect();
        write!(f, "{}: {} from {} ({})", self.reason, terms.join(" + "), self.from, utc(self.from_s))
    }
}

/// The next step of a rollover and when it may be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Where the rollover is.
    pub phase: Phase,
    /// The step to take next.
    pub next: Step,
    /// What it waits for (none: it may be taken now).
    pub waits: Vec<Wait>,
}

impl Plan {
    /// The earliest time the next step may be taken (Unix seconds; 0 for any time).
    pub fn not_before_s(&self) -> u64 {
        self.waits.iter().map(Wait::until_s).max().unwrap_or(0)
    }

    /// How long is left at `now_s` before the next step.
    pub fn remaining_s(&self, now_s: u64) -> u64 {
        self.not_before_s().saturating_sub(now_s)
    }
}

/// The plan of a key set.
pub fn plan(keys: &KeySet, timing: &Timing) -> Plan {
    let phase = Phase::of(keys);
    let publish = |since_s| Wait {
        reason: Reason::NewKeyInCaches,
        from_s: since_s,
        from: "the start",
        terms: vec![
            ("propagation delay", timing.propagation_delay_s),
            ("DNSKEY TTL", u64::from(timing.ttls.dnskey_s)),
            ("publish safety", timing.publish_safety_s),
        ],
    };
    let signatures = |since_s| Wait {
        reason: Reason::OldSignaturesExpired,
        from_s: since_s,
        from: "the switch",
        terms: vec![
            ("propagation delay", timing.propagation_delay_s),
            ("largest signed TTL", u64::from(timing.ttls.signature_s())),
            ("retire safety", timing.retire_safety_s),
        ],
    };
    let ds = |since_s| Wait {
        reason: Reason::OldDsExpired,
        from_s: since_s,
        from: "ds-submitted",
        terms: vec![
            ("parent propagation delay", timing.propagation_delay_s),
            ("DS TTL", u64::from(timing.ds_ttl_s)),
            ("retire safety", timing.retire_safety_s),
        ],
    };
    let (next, waits) = match phase {
        Phase::Idle => (Step::Start, Vec::new()),
        Phase::Published { since_s, .. } => (Step::Switch, vec![publish(since_s)]),
        Phase::Switched { role: Role::ZoneSigning, since_s, .. } => (Step::Finish, vec![signatures(since_s)]),
        Phase::Switched { ds_since_s: None, .. } => (Step::DsSubmitted, Vec::new()),
        // The old KSK signed only the DNSKEY RRset, and keeps signing it until it goes.
        Phase::Switched { role: Role::KeySigning, ds_since_s: Some(ds_s), .. } => (Step::Finish, vec![ds(ds_s)]),
        Phase::Switched { role: Role::Combined, since_s, ds_since_s: Some(ds_s) } => (Step::Finish, vec![signatures(since_s), ds(ds_s)]),
    };
    Plan { phase, next, waits }
}

/// Why a step was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloverError {
    /// The step is not the next one.
    OutOfOrder {
        /// The step asked for.
        step: Step,
        /// The one that comes next.
        next: Step,
    },
    /// The step's wait is not over (`--force` takes it anyway).
    TooEarly {
        /// The step asked for.
        step: Step,
        /// Seconds left.
        remaining_s: u64,
        /// What it waits for.
        waits: Vec<Wait>,
    },
    /// `start` needs the new key.
    NoNewKey,
    /// The new key's algorithm is not the zone's (an algorithm rollover is another procedure,
    /// RFC 6781 §4.1.4, not supported).
    Algorithm,
    /// The keys the step makes are not a valid set (a new ZSK for a zone with one combined
    /// key, say).
    Keys(super::KeyError),
}

impl fmt::Display for RolloverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfOrder { step, next } => write!(f, "`{}` is not the next step of this rollover: `{}` is", step.word(), next.word()),
            Self::TooEarly { step, remaining_s, waits } => {
                write!(f, "too early for `{}`: {} left", step.word(), duration(*remaining_s))?;
                for wait in waits {
                    write!(f, "; until {}: {wait}", utc(wait.until_s()))?;
                }
                write!(f, " (--force takes the step anyway, and validators may fail)")
            }
            Self::NoNewKey => write!(f, "`start` needs the new key"),
            Self::Algorithm => write!(f, "the new key's algorithm differs from the zone's: an algorithm rollover is not supported"),
            Self::Keys(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for RolloverError {}

/// Takes `step` at `now_s`: the key set it makes. `new_key` is the incoming key, for `start`
/// (flags 256 rolls a pair's ZSK, 257 its KSK or the combined key). A step before its wait is
/// over is refused unless `force`.
pub fn take(keys: KeySet, step: Step, timing: &Timing, now_s: u64, force: bool, new_key: Option<SigningKey>) -> Result<KeySet, RolloverError> {
    let plan = plan(&keys, timing);
    if step != plan.next {
        return Err(RolloverError::OutOfOrder { step, next: plan.next });
    }
    let remaining_s = plan.remaining_s(now_s);
    if remaining_s > 0 && !force {
        return Err(RolloverError::TooEarly { step, remaining_s, waits: plan.waits });
    }
    let is_pair = keys.is_pair();
    let algorithm = keys.key_signing().algorithm();
    let mut entries = keys.into_entries();
    match step {
        Step::Start => {
            let key = new_key.ok_or(RolloverError::NoNewKey)?;
            if key.algorithm() != algorithm {
                return Err(RolloverError::Algorithm);
            }
            if !is_pair && !key.is_key_signing() {
                return Err(RolloverError::Keys(super::KeyError::Roles));
            }
            entries.push(ZoneKey { key, state: KeyState::Published, since_s: Some(now_s), ds_since_s: None });
        }
        Step::Switch => {
            let rolling_flags = entries.iter().find(|entry| entry.state == KeyState::Published).map(|entry| entry.key.flags());
            for entry in entries.iter_mut().filter(|entry| Some(entry.key.flags()) == rolling_flags) {
                (entry.state, entry.ds_since_s) = match entry.state {
                    KeyState::Published => (KeyState::Active, None),
                    _ => (KeyState::Retired, None),
                };
                entry.since_s = Some(now_s);
            }
        }
        Step::DsSubmitted => {
            if let Some(entry) = entries.iter_mut().find(|entry| entry.state == KeyState::Active && entry.key.is_key_signing()) {
                entry.ds_since_s = Some(now_s);
            }
        }
        Step::Finish => {
            entries.retain(|entry| entry.state == KeyState::Active);
            for entry in &mut entries {
                entry.ds_since_s = None;
            }
        }
    }
    KeySet::from_zone_keys(entries).map_err(RolloverError::Keys)
}

/// Which keys sign an RRset of `record_type` in `keys`, by key tag (the active one first).
pub fn signing_tags(keys: &KeySet, record_type: RecordType) -> Vec<u16> {
    keys.signers(record_type).map(SigningKey::key_tag).collect()
}

/// Seconds as `1d 2h 3m 4s` (the zero parts left out; `0s` for none).
pub fn duration(seconds: u64) -> String {
    let parts = [(seconds / 86_400, "d"), (seconds / 3_600 % 24, "h"), (seconds / 60 % 60, "m"), (seconds % 60, "s")];
    let text: Vec<String> = parts.iter().filter(|(value, _)| *value > 0).map(|(value, unit)| format!("{value}{unit}")).collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text.join(" ")
    }
}

/// Unix seconds as a UTC date and time.
pub fn utc(unix_s: u64) -> String {
    Utc::from_unix(unix_s).readable()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::key::{Algorithm, FLAGS_KEY_SIGNING, FLAGS_ZONE_SIGNING};
    use hickory_proto::rr::Name;
    use std::str::FromStr;

    const T0: u64 = 1_800_000_000;

    fn zone() -> Name {
        Name::from_str("example.com.").unwrap()
    }

    fn key(flags: u16, seed: u8) -> SigningKey {
        SigningKey::from_private(&zone(), flags, Algorithm::EcdsaP256Sha256, &[seed; 32]).unwrap()
    }

    fn timing() -> Timing {
        Timing {
            ttls: ZoneTtls { dnskey_s: 3_600, largest_s: 7_200, negative_s: 300 },
            ds_ttl_s: 86_400,
            propagation_delay_s: 300,
            publish_safety_s: 600,
            retire_safety_s: 900,
        }
    }

    fn tags(keys: &KeySet) -> Vec<u16> {
        keys.keys().map(SigningKey::key_tag).collect()
    }

    fn reparsed(keys: &KeySet) -> KeySet {
        KeySet::parse(&keys.secret(), &zone()).unwrap()
    }

    #[test]
    fn a_csk_rollover_publishes_switches_and_retires_at_the_times_the_ttls_make() {
        let (old, new) = (key(FLAGS_KEY_SIGNING, 1), key(FLAGS_KEY_SIGNING, 2));
        let (old_tag, new_tag) = (old.key_tag(), new.key_tag());
        let timing = timing();
        let keys = KeySet::from_keys(vec![old]).unwrap();
        assert_eq!(plan(&keys, &timing), Plan { phase: Phase::Idle, next: Step::Start, waits: Vec::new() });
        assert_eq!(
            take(reparsed(&keys), Step::Switch, &timing, T0, false, None).unwrap_err(),
            RolloverError::OutOfOrder { step: Step::Switch, next: Step::Start }
        );

        // Published: both keys in the DNSKEY RRset, both sign it, the old one signs the data.
        let keys = reparsed(&take(keys, Step::Start, &timing, T0, false, Some(new)).unwrap());
        assert_eq!(tags(&keys), [old_tag, new_tag]);
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [old_tag, new_tag]);
        assert_eq!(signing_tags(&keys, RecordType::A), [old_tag]);
        assert_eq!(signing_tags(&keys, RecordType::SOA), [old_tag]);
        let published = plan(&keys, &timing);
        assert_eq!(published.phase, Phase::Published { role: Role::Combined, since_s: T0 });
        assert_eq!(published.next, Step::Switch);
        // Ipub: propagation delay + DNSKEY TTL + publish safety.
        assert_eq!(published.not_before_s(), T0 + 300 + 3_600 + 600);
        let early = take(reparsed(&keys), Step::Switch, &timing, T0 + 4_499, false, None).unwrap_err();
        assert!(
            matches!(&early, RolloverError::TooEarly { step: Step::Switch, remaining_s: 1, waits } if waits[0].reason == Reason::NewKeyInCaches),
            "{early:?}"
        );
        assert!(early.to_string().contains("1s left") && early.to_string().contains("DNSKEY TTL 3600 s"), "{early}");

        // Switched: the new key signs the data, both still sign the DNSKEY RRset.
        let keys = reparsed(&take(keys, Step::Switch, &timing, T0 + 4_500, false, None).unwrap());
        assert_eq!(tags(&keys), [new_tag, old_tag]);
        assert_eq!(keys.rolling().unwrap().state, KeyState::Retired);
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [new_tag, old_tag]);
        assert_eq!(signing_tags(&keys, RecordType::A), [new_tag]);
        let switched = plan(&keys, &timing);
        assert_eq!(switched.next, Step::DsSubmitted);
        assert_eq!(switched.not_before_s(), 0, "the operator says when the parent has the DS");
        assert_eq!(
            take(reparsed(&keys), Step::Finish, &timing, T0 + 999_999, true, None).unwrap_err(),
            RolloverError::OutOfOrder { step: Step::Finish, next: Step::DsSubmitted }
        );

        let t_ds = T0 + 10_000;
        let keys = reparsed(&take(keys, Step::DsSubmitted, &timing, t_ds, false, None).unwrap());
        assert_eq!(plan(&keys, &timing).phase, Phase::Switched { role: Role::Combined, since_s: T0 + 4_500, ds_since_s: Some(t_ds) });
        let finish = plan(&keys, &timing);
        assert_eq!(finish.next, Step::Finish);
        // The later of Iret (from the switch: Dprp + TTLsig + retire safety) and the DS wait
        // (from ds-submitted: DprpP + TTLds + retire safety).
        assert_eq!(finish.waits.iter().map(Wait::until_s).collect::<Vec<_>>(), [T0 + 4_500 + 300 + 7_200 + 900, t_ds + 300 + 86_400 + 900]);
        assert_eq!(finish.not_before_s(), t_ds + 87_600);
        assert!(matches!(take(reparsed(&keys), Step::Finish, &timing, t_ds + 87_599, false, None), Err(RolloverError::TooEarly { remaining_s: 1, .. })));
        let forced = take(reparsed(&keys), Step::Finish, &timing, t_ds, true, None).unwrap();
        assert_eq!(tags(&forced), [new_tag]);

        // Done: the new key alone.
        let keys = reparsed(&take(keys, Step::Finish, &timing, t_ds + 87_600, false, None).unwrap());
        assert_eq!(tags(&keys), [new_tag]);
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [new_tag]);
        assert_eq!(plan(&keys, &timing).phase, Phase::Idle);
        assert!(!keys.secret().contains("ds="), "{}", keys.secret());
    }

    #[test]
    fn a_zsk_rollover_is_pre_publication_the_ksk_alone_signing_the_dnskey_rrset() {
        let (ksk, old, new) = (key(FLAGS_KEY_SIGNING, 1), key(FLAGS_ZONE_SIGNING, 2), key(FLAGS_ZONE_SIGNING, 3));
        let (ksk_tag, old_tag, new_tag) = (ksk.key_tag(), old.key_tag(), new.key_tag());
        let timing = timing();
        let keys = KeySet::from_keys(vec![ksk, old]).unwrap();
        let keys = reparsed(&take(keys, Step::Start, &timing, T0, false, Some(new)).unwrap());
        assert_eq!(tags(&keys), [ksk_tag, old_tag, new_tag]);
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [ksk_tag]);
        assert_eq!(signing_tags(&keys, RecordType::NSEC), [old_tag]);
        assert_eq!(plan(&keys, &timing).phase, Phase::Published { role: Role::ZoneSigning, since_s: T0 });
        assert!(matches!(take(reparsed(&keys), Step::Switch, &timing, T0 + 100, false, None), Err(RolloverError::TooEarly { remaining_s: 4_400, .. })));

        let keys = reparsed(&take(keys, Step::Switch, &timing, T0 + 5_000, false, None).unwrap());
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [ksk_tag]);
        assert_eq!(signing_tags(&keys, RecordType::A), [new_tag]);
        assert_eq!(tags(&keys), [ksk_tag, new_tag, old_tag], "the old ZSK is still published");
        let finish = plan(&keys, &timing);
        assert_eq!(finish.next, Step::Finish, "no DS changes");
        assert_eq!(finish.not_before_s(), T0 + 5_000 + 300 + 7_200 + 900);
        assert!(finish.waits[0].to_string().contains("largest signed TTL 7200 s"), "{}", finish.waits[0]);

        let keys = reparsed(&take(keys, Step::Finish, &timing, T0 + 13_400, false, None).unwrap());
        assert_eq!(tags(&keys), [ksk_tag, new_tag]);
        assert_eq!(plan(&keys, &timing).phase, Phase::Idle);
    }

    #[test]
    fn a_ksk_rollover_is_double_ksk_the_finish_waiting_for_the_old_ds_to_expire() {
        let (old, zsk, new) = (key(FLAGS_KEY_SIGNING, 1), key(FLAGS_ZONE_SIGNING, 2), key(FLAGS_KEY_SIGNING, 3));
        let (old_tag, zsk_tag, new_tag) = (old.key_tag(), zsk.key_tag(), new.key_tag());
        let mut timing = timing();
        timing.ds_ttl_s = 3_600;
        let keys = KeySet::from_keys(vec![old, zsk]).unwrap();
        let keys = reparsed(&take(keys, Step::Start, &timing, T0, false, Some(new)).unwrap());
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [old_tag, new_tag]);
        assert_eq!(signing_tags(&keys, RecordType::A), [zsk_tag]);
        assert_eq!(plan(&keys, &timing).not_before_s(), T0 + 4_500);
        let keys = reparsed(&take(keys, Step::Switch, &timing, T0 + 4_500, false, None).unwrap());
        assert_eq!(keys.key_signing().key_tag(), new_tag, "the DS to give is the new key's");
        assert_eq!(signing_tags(&keys, RecordType::DNSKEY), [new_tag, old_tag]);
        assert_eq!(signing_tags(&keys, RecordType::A), [zsk_tag]);
        assert_eq!(plan(&keys, &timing).next, Step::DsSubmitted);
        let keys = reparsed(&take(keys, Step::DsSubmitted, &timing, T0 + 90_000, false, None).unwrap());
        let finish = plan(&keys, &timing);
        assert_eq!(finish.waits.len(), 1);
        assert_eq!(finish.waits[0].reason, Reason::OldDsExpired);
        assert_eq!(finish.not_before_s(), T0 + 90_000 + 300 + 3_600 + 900);
        let keys = reparsed(&take(keys, Step::Finish, &timing, T0 + 94_800, false, None).unwrap());
        assert_eq!(tags(&keys), [new_tag, zsk_tag]);
    }

    #[test]
    fn start_refuses_another_algorithm_a_zsk_for_a_csk_and_a_second_rollover() {
        let timing = timing();
        let csk = || KeySet::from_keys(vec![key(FLAGS_KEY_SIGNING, 1)]).unwrap();
        let ed25519 = SigningKey::from_private(&zone(), FLAGS_KEY_SIGNING, Algorithm::Ed25519, &[2; 32]).unwrap();
        assert_eq!(take(csk(), Step::Start, &timing, T0, false, Some(ed25519)).unwrap_err(), RolloverError::Algorithm);
        assert!(matches!(take(csk(), Step::Start, &timing, T0, false, Some(key(FLAGS_ZONE_SIGNING, 2))), Err(RolloverError::Keys(_))));
        assert_eq!(take(csk(), Step::Start, &timing, T0, false, None).unwrap_err(), RolloverError::NoNewKey);
        let rolling = take(csk(), Step::Start, &timing, T0, false, Some(key(FLAGS_KEY_SIGNING, 2))).unwrap();
        assert_eq!(
            take(rolling, Step::Start, &timing, T0, true, Some(key(FLAGS_KEY_SIGNING, 3))).unwrap_err(),
            RolloverError::OutOfOrder { step: Step::Start, next: Step::Switch }
        );
    }

    #[test]
    fn the_zones_ttls_are_its_dnskey_largest_and_negative_ttls() {
        use crate::zone::compile::{compile_all, SourceFile};
        let text = "$ORIGIN example.com.\n$TTL 600\n@ SOA ns1 hostmaster 1 7200 900 1209600 120\n@ NS ns1\nns1 A 192.0.2.53\nslow 86400 TXT \"x\"\n";
        let catalog = compile_all(&[SourceFile { path: "example.com.zone".into(), text: text.into() }]).unwrap();
        let ttls = ZoneTtls::of(&catalog.zones()[0]);
        assert_eq!(ttls, ZoneTtls { dnskey_s: crate::dnssec::online::DNSKEY_TTL, largest_s: 86_400, negative_s: 120 });
        assert_eq!(ttls.signature_s(), 86_400);
        // A pre-published DNSKEY in the zone file, in the generic form (RFC 3597).
        let with_dnskey = format!("{text}@ 900 DNSKEY \\# 68 0101030d{}\n", "ab".repeat(64));
        let catalog = compile_all(&[SourceFile { path: "example.com.zone".into(), text: with_dnskey }]).unwrap();
        assert_eq!(ZoneTtls::of(&catalog.zones()[0]).dnskey_s, 900, "the zone file's DNSKEY TTL is what the Worker answers with");
    }

    #[test]
    fn durations_read_as_days_hours_minutes_and_seconds() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(90_061), "1d 1h 1m 1s");
        assert_eq!(duration(3_600), "1h");
    }
}
