//! The header sets of the responses an isolate sends, each given to the runtime once.
//!
//! A response's headers cross from wasm to JavaScript as one text (names and values on
//! alternate lines), which the runtime then has to decode, split and copy into a `Headers`
//! object: about a tenth of what a whole answer costs in workerd (BENCHMARKS.md part 9). DoH
//! answers carry few distinct sets (the media type, CORS, and `cache-control` with the TTLs
//! of the zones), so the JavaScript side keeps a `Headers` object per set in a numbered slot,
//! and a response whose set it already holds names the slot instead ([`HeaderSets::slot`]).
//! The slots are filled in order and all forgotten at once when they run out: a set seen again
//! gets a new slot at its next use, so an isolate whose answers carry ever new sets (a
//! resolver's falling TTLs) keeps the sets of the last few responses, not the first ones.

use std::borrow::Cow;

/// How many header sets the JavaScript side keeps.
pub const SLOTS: usize = 64;

/// What to tell the runtime about a response's header set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The runtime keeps this set in this slot: send the slot alone.
    Kept(u8),
    /// Send the text, and have the runtime keep it in this slot (replacing what it held).
    Keep(u8),
}

/// A header set: names and values, in order.
type Set = Box<[(Box<str>, Box<str>)]>;

/// The header sets the runtime keeps, by slot (`None`: a slot the runtime may not hold).
#[derive(Debug, Default)]
pub struct HeaderSets {
    sets: Vec<Option<Set>>,
}

impl HeaderSets {
    /// The slot for the header set `headers` (names and values, in order). Compared field by
    /// field: a response's set is never copied or joined into a text unless it is new.
    pub fn slot(&mut self, headers: &[(&str, Cow<'_, str>)]) -> Slot {
        let same = |kept: &Set| {
            kept.len() == headers.len()
                && kept.iter().zip(headers).all(|((name, value), (other_name, other_value))| **name == **other_name && **value == **other_value)
        };
        if let Some(slot) = self.sets.iter().position(|kept| kept.as_ref().is_some_and(same)) {
            return Slot::Kept(slot as u8);
        }
        if self.sets.len() == SLOTS {
            self.sets.clear();
        }
        self.sets.push(Some(headers.iter().map(|(name, value)| (Box::from(*name), Box::from(&**value))).collect()));
        Slot::Keep((self.sets.len() - 1) as u8)
    }

    /// Forgets what `slot` was to hold, when the runtime could not keep it (the response
    /// failed): the set is sent again at its next use.
    pub fn forget(&mut self, slot: u8) {
        if let Some(set) = self.sets.get_mut(usize::from(slot)) {
            *set = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header set from names and values on alternate lines.
    fn set(text: &str) -> Vec<(&str, Cow<'_, str>)> {
        let fields: Vec<&str> = text.split('\n').collect();
        fields.chunks(2).map(|pair| (pair[0], Cow::Borrowed(pair.get(1).copied().unwrap_or_default()))).collect()
    }

    #[test]
    fn a_set_is_sent_once_then_named_by_its_slot() {
        let mut sets = HeaderSets::default();
        assert_eq!(sets.slot(&set("content-type\napplication/dns-message")), Slot::Keep(0));
        assert_eq!(sets.slot(&set("content-type\ntext/plain")), Slot::Keep(1));
        assert_eq!(sets.slot(&set("content-type\napplication/dns-message")), Slot::Kept(0));
        assert_eq!(sets.slot(&set("content-type\ntext/plain")), Slot::Kept(1));
        // A set that only starts like a kept one is another set.
        assert_eq!(sets.slot(&set("content-type\napplication/dns-message\ncache-control\nno-store")), Slot::Keep(2));
    }

    #[test]
    fn when_the_slots_run_out_they_are_all_given_again() {
        let mut sets = HeaderSets::default();
        for ttl in 0..SLOTS {
            assert_eq!(sets.slot(&set(&format!("cache-control\nmax-age={ttl}"))), Slot::Keep(ttl as u8));
        }
        // The 65th set starts over at slot 0; what the slots held before must be sent again.
        assert_eq!(sets.slot(&set("cache-control\nmax-age=9999")), Slot::Keep(0));
        assert_eq!(sets.slot(&set("cache-control\nmax-age=0")), Slot::Keep(1));
        assert_eq!(sets.slot(&set("cache-control\nmax-age=9999")), Slot::Kept(0));
    }

    #[test]
    fn a_set_the_runtime_could_not_keep_is_sent_again() {
        let mut sets = HeaderSets::default();
        assert_eq!(sets.slot(&set("a\n1")), Slot::Keep(0));
        assert_eq!(sets.slot(&set("b\n2")), Slot::Keep(1));
        sets.forget(0);
        assert_eq!(sets.slot(&set("b\n2")), Slot::Kept(1));
        assert_eq!(sets.slot(&set("a\n1")), Slot::Keep(2));
        assert_eq!(sets.slot(&set("a\n1")), Slot::Kept(2));
    }
}
