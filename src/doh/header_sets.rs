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

/// The header texts the runtime keeps, by slot (`None`: a slot the runtime may not hold).
#[derive(Debug, Default)]
pub struct HeaderSets {
    texts: Vec<Option<Box<str>>>,
}

impl HeaderSets {
    /// The slot for the header set `text`.
    pub fn slot(&mut self, text: &str) -> Slot {
        if let Some(slot) = self.texts.iter().position(|kept| kept.as_deref() == Some(text)) {
            return Slot::Kept(slot as u8);
        }
        if self.texts.len() == SLOTS {
            self.texts.clear();
        }
        self.texts.push(Some(text.into()));
        Slot::Keep((self.texts.len() - 1) as u8)
    }

    /// Forgets what `slot` was to hold, when the runtime could not keep it (the response
    /// failed): the set is sent again at its next use.
    pub fn forget(&mut self, slot: u8) {
        if let Some(text) = self.texts.get_mut(usize::from(slot)) {
            *text = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_sent_once_then_named_by_its_slot() {
        let mut sets = HeaderSets::default();
        assert_eq!(sets.slot("content-type\napplication/dns-message"), Slot::Keep(0));
        assert_eq!(sets.slot("content-type\ntext/plain"), Slot::Keep(1));
        assert_eq!(sets.slot("content-type\napplication/dns-message"), Slot::Kept(0));
        assert_eq!(sets.slot("content-type\ntext/plain"), Slot::Kept(1));
        // A set that only starts like a kept one is another set.
        assert_eq!(sets.slot("content-type\napplication/dns-message\ncache-control\nno-store"), Slot::Keep(2));
    }

    #[test]
    fn when_the_slots_run_out_they_are_all_given_again() {
        let mut sets = HeaderSets::default();
        for ttl in 0..SLOTS {
            assert_eq!(sets.slot(&format!("cache-control\nmax-age={ttl}")), Slot::Keep(ttl as u8));
        }
        // The 65th set starts over at slot 0; what the slots held before must be sent again.
        assert_eq!(sets.slot("cache-control\nmax-age=9999"), Slot::Keep(0));
        assert_eq!(sets.slot("cache-control\nmax-age=0"), Slot::Keep(1));
        assert_eq!(sets.slot("cache-control\nmax-age=9999"), Slot::Kept(0));
    }

    #[test]
    fn a_set_the_runtime_could_not_keep_is_sent_again() {
        let mut sets = HeaderSets::default();
        assert_eq!(sets.slot("a\n1"), Slot::Keep(0));
        assert_eq!(sets.slot("b\n2"), Slot::Keep(1));
        sets.forget(0);
        assert_eq!(sets.slot("b\n2"), Slot::Kept(1));
        assert_eq!(sets.slot("a\n1"), Slot::Keep(2));
        assert_eq!(sets.slot("a\n1"), Slot::Kept(2));
    }
}
