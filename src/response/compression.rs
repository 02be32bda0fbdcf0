//! Name compression (RFC 1035 §4.1.4) with a fixed table: the labels already written, each with
//! the entry of the label after it, a tree of suffixes read from the root down. A name is
//! matched label by label from its end, ignoring ASCII case (RFC 1035 §2.3.3), against the
//! message bytes themselves, so writing a name allocates nothing.

use hickory_proto::rr::Name;

/// How many labels the table remembers: every label of the longest name (127 labels, RFC 1035
/// §2.3.4) fits, and more than hickory's encoder keeps (64 suffixes); when it is full, later
/// names are still written, just not remembered.
const ENTRIES: usize = 128;

/// A compression pointer can only reach offsets below 2^14 (RFC 1035 §4.1.4).
const POINTER_LIMIT: usize = 0x4000;

/// The parent of a name's last label: the root.
const ROOT: u8 = u8::MAX;

/// Labels written in the message: where each starts, and the entry of the suffix after it.
pub(super) struct Compression {
    offsets: [u16; ENTRIES],
    parents: [u8; ENTRIES],
    len: usize,
}

/// The longest suffix of a name already in the message: how many labels, where it starts, and
/// its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Suffix {
    pub(super) labels: usize,
    pub(super) offset: u16,
    entry: u8,
}

impl Compression {
    pub(super) fn new() -> Self {
        Self { offsets: [0; ENTRIES], parents: [ROOT; ENTRIES], len: 0 }
    }

    /// The longest suffix of `name` already written in `message`.
    pub(super) fn find(&self, message: &[u8], name: &Name) -> Option<Suffix> {
        let mut found: Option<Suffix> = None;
        for label in name.iter().rev() {
            let parent = found.map_or(ROOT, |suffix| suffix.entry);
            let Some((entry, offset)) = self.child(message, parent, label) else { break };
            found = Some(Suffix { labels: found.map_or(1, |suffix| suffix.labels + 1), offset, entry });
        }
        found
    }

    /// The entry for `label` under `parent`.
    fn child(&self, message: &[u8], parent: u8, label: &[u8]) -> Option<(u8, u16)> {
        let offsets = self.offsets.get(..self.len).unwrap_or_default();
        let parents = self.parents.get(..self.len).unwrap_or_default();
        for (index, (&offset, &entry_parent)) in offsets.iter().zip(parents).enumerate() {
            if entry_parent == parent && written_label(message, usize::from(offset)).is_some_and(|written| written.eq_ignore_ascii_case(label)) {
                return Some((u8::try_from(index).ok()?, offset));
            }
        }
        None
    }

    /// Remembers the `count` labels just written literally from `start` in `message`, ahead of
    /// the suffix `after` (`None`: the root). Nothing is remembered past the pointer limit; when
    /// the table has too little room, only the labels nearest the root are.
    pub(super) fn remember(&mut self, message: &[u8], start: usize, count: usize, after: Option<Suffix>) {
        let room = ENTRIES - self.len;
        if message.len() > POINTER_LIMIT || room == 0 {
            return;
        }
        let mut offset = start;
        for skipped in 0..count {
            let Some(&length) = message.get(offset) else { return };
            if skipped + room >= count {
                let next = if skipped + 1 == count { after.map_or(ROOT, |suffix| suffix.entry) } else { u8::try_from(self.len + 1).unwrap_or(ROOT) };
                let (Some(slot), Some(parent), Ok(at)) = (self.offsets.get_mut(self.len), self.parents.get_mut(self.len), u16::try_from(offset)) else {
                    return;
                };
                *slot = at;
                *parent = next;
                self.len += 1;
            }
            offset += 1 + usize::from(length);
        }
    }
}

/// The label written at `offset` (a length byte, then the label).
fn written_label(message: &[u8], offset: usize) -> Option<&[u8]> {
    let length = usize::from(*message.get(offset)?);
    message.get(offset + 1..offset + 1 + length)
}
