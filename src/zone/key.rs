//! Lookup keys of names, built once per name on the stack so that a lookup allocates nothing.
//!
//! A key holds a name's labels below an apex, from the apex down, lower-cased, each ended by
//! `00 00` (a zero byte in a label is written `00 01`). The key of every ancestor down to the
//! apex is then a prefix of the name's key, ending where a label ends: one key probes the name
//! and each of its ancestors ([`NameKey::prefix`]), where building a `Name` and a `LowerName`
//! for each of them costs allocations, label checks and a hash of each label. Compared as
//! bytes, keys sort in the canonical order of their names (RFC 4034 §6.1), which the compact
//! form's sorted index relies on ([`super::compact`]); the decoded form and the catalog hash them.

use std::hash::{BuildHasherDefault, Hasher};

use hickory_proto::rr::Name;

/// The longest key: a name takes at most 255 bytes in wire form, and a key at most twice that.
pub(super) const MAX_KEY: usize = 512;

/// The most labels a name can have below an apex (255 bytes in wire form, 2 or more a label).
const MAX_LABELS: usize = 128;

/// The key of a name below an apex ([module docs](self)).
pub(crate) struct NameKey {
    bytes: [u8; MAX_KEY],
    len: usize,
    /// Where the key of the first `n + 1` labels below the apex ends.
    ends: [u16; MAX_LABELS],
    labels: usize,
}

impl NameKey {
    /// The key of `name` below `apex`; `None` when the name is not at or below the apex
    /// (compared as [`Name::zone_of`] compares: by labels, ignoring case and the FQDN flag).
    pub(super) fn below(name: &Name, apex: &Name) -> Option<Self> {
        let mut labels = name.iter().rev();
        for apex_label in apex.iter().rev() {
            if !labels.next()?.eq_ignore_ascii_case(apex_label) {
                return None;
            }
        }
        let mut key = Self { bytes: [0; MAX_KEY], len: 0, ends: [0; MAX_LABELS], labels: 0 };
        for label in labels {
            key.push_label(label)?;
        }
        Some(key)
    }

    /// The key of every label of `name`, below the root.
    pub(crate) fn from_root(name: &Name) -> Option<Self> {
        let mut key = Self { bytes: [0; MAX_KEY], len: 0, ends: [0; MAX_LABELS], labels: 0 };
        for label in name.iter().rev() {
            key.push_label(label)?;
        }
        Some(key)
    }

    /// The key of the name's first `depth` labels below the apex and then `label`: the key of
    /// a child of one of the name's ancestors (a wildcard, `*`, at the closest encloser).
    pub(super) fn child_of_prefix(&self, depth: usize, label: &[u8]) -> Option<Self> {
        let mut key = Self { bytes: [0; MAX_KEY], len: 0, ends: [0; MAX_LABELS], labels: 0 };
        let prefix = self.prefix(depth)?;
        key.bytes.get_mut(..prefix.len())?.copy_from_slice(prefix);
        key.len = prefix.len();
        key.ends.get_mut(..depth)?.copy_from_slice(self.ends.get(..depth)?);
        key.labels = depth;
        key.push_label(label)?;
        Some(key)
    }

    /// How many labels the name has below the apex.
    pub(crate) fn labels(&self) -> usize {
        self.labels
    }

    /// The key of the name's first `depth` labels below the apex (0: the apex, whose key is
    /// empty); `None` past the name's own labels.
    pub(crate) fn prefix(&self, depth: usize) -> Option<&[u8]> {
        let end = match depth.checked_sub(1) {
            None => 0,
            Some(last) if last < self.labels => usize::from(*self.ends.get(last)?),
            Some(_) => return None,
        };
        self.bytes.get(..end)
    }

    /// The whole key.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn push_label(&mut self, label: &[u8]) -> Option<()> {
        if label.contains(&0) {
            for &byte in label {
                match byte.to_ascii_lowercase() {
                    0 => self.push(&[0, 1])?,
                    other => self.push(&[other])?,
                }
            }
        } else {
            // The common case, a label without zero bytes: copied, then lower-cased in place.
            let start = self.len;
            self.push(label)?;
            self.bytes.get_mut(start..self.len)?.make_ascii_lowercase();
        }
        self.push(&[0, 0])?;
        *self.ends.get_mut(self.labels)? = u16::try_from(self.len).ok()?;
        self.labels += 1;
        Some(())
    }

    fn push(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.bytes.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }
}

/// Hashes keys for the decoded form's and the catalog's tables: a multiply-rotate step per
/// 8 bytes (the FxHash step, as rustc's tables use it) and a final avalanche (MurmurHash3's
/// `fmix64`), so the high bits the table groups by depend on every byte. Not keyed, unlike
/// std's SipHash: the tables are built from the operator's zones and only looked up with the
/// names queries ask, so a query cannot grow a collision chain, only walk one the zones have.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyHasher(u64);

/// The [`KeyHasher`] for `HashMap`s.
pub(crate) type KeyHashing = BuildHasherDefault<KeyHasher>;

impl KeyHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last.iter_mut().zip(rest).for_each(|(slot, byte)| *slot = *byte);
            self.mix(u64::from_le_bytes(last));
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }

    fn finish(&self) -> u64 {
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    #[test]
    fn ancestors_are_prefixes_ending_at_labels() {
        let key = NameKey::below(&name("WWW.a.Example."), &name("example.")).unwrap();
        assert_eq!(key.labels(), 2);
        assert_eq!(key.prefix(0), Some(&b""[..]));
        assert_eq!(key.prefix(1), Some(&b"a\0\0"[..]));
        assert_eq!(key.prefix(2), Some(&b"a\0\0www\0\0"[..]));
        assert_eq!(key.prefix(3), None);
        assert_eq!(key.bytes(), b"a\0\0www\0\0");
        assert_eq!(key.child_of_prefix(1, b"*").unwrap().bytes(), b"a\0\0*\0\0");
    }

    #[test]
    fn outside_the_apex_there_is_no_key() {
        assert!(NameKey::below(&name("www.example.net."), &name("example.com.")).is_none());
        assert!(NameKey::below(&name("com."), &name("example.com.")).is_none());
        assert_eq!(NameKey::below(&name("Example.COM."), &name("example.com.")).unwrap().labels(), 0);
    }

    #[test]
    fn zero_bytes_cannot_end_a_label() {
        let zero = Name::from_labels([&b"a\0"[..], b"b"]).unwrap();
        assert_eq!(NameKey::from_root(&zero).unwrap().bytes(), b"b\0\0a\0\x01\0\0");
        assert_eq!(NameKey::from_root(&Name::root()).unwrap().bytes(), b"");
    }

    #[test]
    fn hashes_depend_on_every_byte_and_the_length() {
        let hash = |bytes: &[u8]| {
            let mut hasher = KeyHasher::default();
            std::hash::Hash::hash(bytes, &mut hasher);
            hasher.finish()
        };
        let base = hash(b"h1000\0\0");
        assert_ne!(base, hash(b"h1001\0\0"));
        assert_ne!(base, hash(b"h1000\0\0\0"));
        assert_ne!(hash(b""), hash(b"\0"));
        assert_ne!(hash(b"abcdefgh1"), hash(b"abcdefgh2"));
    }
}
