//! Name compression (RFC 1035 §4.1.4) with a fixed table: where the names already written
//! start, compared label by label, ignoring ASCII case (RFC 1035 §2.3.3), against the message
//! bytes themselves, so writing a name allocates nothing.

use hickory_proto::rr::Name;

/// How many names the table remembers. Each entry stands for every suffix of its name, so it
/// holds at least as many suffixes as hickory's encoder keeps (64 label positions); when it is
/// full, later names are still written, just not remembered.
const ENTRIES: usize = 64;

/// A compression pointer can only reach offsets below 2^14 (RFC 1035 §4.1.4).
const POINTER_LIMIT: usize = 0x4000;

/// The most steps a walk over written names takes: more than any name's labels and pointers
/// (a name holds at most 127 labels), so a damaged buffer cannot make it loop.
const WALK_LIMIT: usize = 256;

/// Where names were written, and how many labels each has (its suffixes' labels included, as
/// read through its pointer).
pub(super) struct Compression {
    starts: [u16; ENTRIES],
    labels: [u8; ENTRIES],
    len: usize,
}

/// The longest suffix of a name already in the message: how many labels, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Suffix {
    pub(super) labels: usize,
    pub(super) offset: u16,
}

impl Compression {
    pub(super) fn new() -> Self {
        Self { starts: [0; ENTRIES], labels: [0; ENTRIES], len: 0 }
    }

    /// Remembers a name written at `start` with `labels` labels; ignored past the pointer limit
    /// or when the table is full.
    pub(super) fn remember(&mut self, start: usize, labels: usize) {
        let (Ok(start @ 0..0x4000), Ok(labels)) = (u16::try_from(start), u8::try_from(labels)) else { return };
        if let (Some(slot), Some(count)) = (self.starts.get_mut(self.len), self.labels.get_mut(self.len)) {
            *slot = start;
            *count = labels;
            self.len += 1;
        }
    }

    /// The longest suffix of `name` (of `count` labels) already written in `message`, the
    /// earliest name holding it on a tie.
    pub(super) fn find(&self, message: &[u8], name: &Name, count: usize) -> Option<Suffix> {
        let mut best: Option<Suffix> = None;
        let starts = self.starts.get(..self.len).unwrap_or_default();
        for (&start, &labels) in starts.iter().zip(&self.labels) {
            if let Some(found) = common_suffix(message, usize::from(start), usize::from(labels), name, count) {
                if best.is_none_or(|best| found.labels > best.labels) {
                    best = Some(found);
                    if found.labels == count {
                        break;
                    }
                }
            }
        }
        best
    }
}

/// The labels written at `position` in `message` one after another, pointers followed: each
/// label's offset and bytes.
struct Walk<'m> {
    message: &'m [u8],
    position: usize,
    steps: usize,
}

impl<'m> Iterator for Walk<'m> {
    type Item = (usize, &'m [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.steps += 1;
            if self.steps > WALK_LIMIT {
                return None;
            }
            let length = *self.message.get(self.position)?;
            match length {
                0 => return None,
                // A pointer: the next two bytes' low 14 bits (RFC 1035 §4.1.4).
                0xC0..=0xFF => {
                    let low = *self.message.get(self.position + 1)?;
                    self.position = usize::from(u16::from_be_bytes([length & 0x3F, low]));
                }
                1..=63 => {
                    let start = self.position;
                    let label = self.message.get(start + 1..start + 1 + usize::from(length))?;
                    self.position = start + 1 + usize::from(length);
                    return Some((start, label));
                }
                _ => return None,
            }
        }
    }
}

/// The suffix `name` (of `count` labels) shares with the name of `labels` labels written at
/// `start`, if any, and where that suffix starts in the message.
fn common_suffix(message: &[u8], start: usize, labels: usize, name: &Name, count: usize) -> Option<Suffix> {
    let aligned = labels.min(count);
    let mut written = Walk { message, position: start, steps: 0 }.skip(labels - aligned);
    // The labels after the last mismatch match: that run is the common suffix.
    let mut run: Option<(usize, usize)> = None;
    for label in name.iter().skip(count - aligned) {
        let (offset, other) = written.next()?;
        if label.eq_ignore_ascii_case(other) {
            run = Some(run.map_or((offset, 1), |(first, length)| (first, length + 1)));
        } else {
            run = None;
        }
    }
    let (offset, labels) = run?;
    if offset >= POINTER_LIMIT {
        return None;
    }
    Some(Suffix { labels, offset: u16::try_from(offset).ok()? })
}
