//! The firewall's name index: every rule's name once in one [`NameStore`] (names reversed by
//! label, sorted, front-coded), mapped to its slot: the run of rule numbers that name's rules
//! hold (the firewall numbers its name rules slot by slot, so a slot is a start and an end).
//! A query name is looked up with every parent domain, one binary search each, and no name is
//! held as an owned string.

use std::ops::Range;

use std::cell::Cell;

use super::store::{reverse_into, NameStore, StoreError};

thread_local! {
    /// [`NameIndex::each_slot`]'s buffers between lookups.
    static BUFFERS: Cell<(Vec<u8>, Vec<u8>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// The index (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NameIndex {
    /// Each name's slot number.
    store: NameStore,
    /// Where each slot's rules start (one more than there are slots: the end).
    slots: Vec<u32>,
}

impl NameIndex {
    /// The index of `(name, rule)` entries. Returns it and the order the rules must be
    /// numbered in: the rule given `order[n]`-th is rule `n` (by name, each name's rules in
    /// the order given).
    pub(super) fn build(mut entries: Vec<(String, u32)>) -> Result<(Self, Vec<u32>), StoreError> {
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut names = Vec::new();
        let mut slots = Vec::new();
        let mut order = Vec::with_capacity(entries.len());
        let mut previous: Option<String> = None;
        for (position, (name, rule)) in entries.into_iter().enumerate() {
            if previous.as_deref() != Some(name.as_str()) {
                let slot = u32::try_from(slots.len()).map_err(|_| StoreError::TooLarge)?;
                slots.push(u32::try_from(position).map_err(|_| StoreError::TooLarge)?);
                names.push((name.clone(), slot));
                previous = Some(name);
            }
            order.push(rule);
        }
        slots.push(u32::try_from(order.len()).map_err(|_| StoreError::TooLarge)?);
        let store = NameStore::build(names)?;
        Ok((Self { store, slots }, order))
    }

    /// The index of a store (its values slot numbers) and the slots' starts (`slots` entries
    /// ascending from 0, one more than the store's names, the last `rules`): checked.
    pub(super) fn from_parts(store: NameStore, slots: Vec<u32>, rules: usize) -> Result<Self, StoreError> {
        if slots.len() != store.len() + 1 || slots.first().is_some_and(|&first| first != 0) || slots.last().map(|&last| last as usize) != Some(rules) {
            return Err(StoreError::Corrupt("the slots do not match the names"));
        }
        if slots.windows(2).any(|pair| pair.first() >= pair.get(1)) {
            return Err(StoreError::Corrupt("a slot with no rule"));
        }
        Ok(Self { store, slots })
    }

    /// The store of names.
    pub(super) fn store(&self) -> &NameStore {
        &self.store
    }

    /// The slots' starts.
    pub(super) fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// The bytes it holds.
    pub(super) fn bytes(&self) -> usize {
        self.store.bytes() + self.slots.len() * 4
    }

    fn slot(&self, slot: u32) -> Range<u32> {
        let start = self.slots.get(slot as usize).copied().unwrap_or(0);
        let end = self.slots.get(slot as usize + 1).copied().unwrap_or(start);
        start..end
    }

    /// Calls `found` with the rule numbers of each slot `name` (lower case, no trailing dot)
    /// meets, from the most specific (the name's own rules, then each parent's, then the
    /// root's), with whether it is the name's own slot (else its rules count for the names
    /// below only) and the length of the slot's domain (the last that many bytes of `name`).
    pub(super) fn each_slot(&self, name: &str, mut found: impl FnMut(Range<u32>, bool, usize)) {
        // The name reversed and the block scan's buffer, kept between lookups (no allocation
        // per query once they have grown); a lookup nested in `found` gets buffers of its own.
        let (mut reversed, mut scratch) = BUFFERS.with(|buffers| buffers.take());
        reverse_into(name, &mut reversed);
        let mut slots: [(bool, u32, usize); 16] = [(false, 0, 0); 16];
        let mut count = 0;
        let mut more: Vec<(bool, u32, usize)> = Vec::new();
        self.store.each_match_sized(&reversed, &mut scratch, |exact, slot, length| match slots.get_mut(count) {
            Some(free) => {
                *free = (exact, slot, length);
                count += 1;
            }
            None => more.push((exact, slot, length)),
        });
        // Every name is below the root: `*` (a rule for everything) is keyed "".
        if !name.is_empty() {
            if let Some(slot) = self.store.get_reversed(b"", &mut scratch) {
                more.push((false, slot, 0));
            }
        }
        BUFFERS.with(|buffers| buffers.set((reversed, scratch)));
        for &(exact, slot, length) in slots.iter().take(count).chain(more.iter()) {
            found(self.slot(slot), exact, length);
        }
    }
}
