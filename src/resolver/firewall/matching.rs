//! The firewall's name index: every rule's name in one [`NameStore`] (names reversed by label,
//! sorted, front-coded), each name's rules in a slot of rule numbers marked with what they
//! cover (the name, the names below it, or both). A query name is looked up with every parent
//! domain, one binary search each, and no name is held as an owned string.

use super::store::{reverse_into, NameStore, StoreError};

/// A rule number covers the name itself.
const EXACT: u32 = 1 << 31;
/// A rule number covers the names below the name.
const BELOW: u32 = 1 << 30;
/// The rule number without its marks.
const RULE: u32 = BELOW - 1;

/// The index (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NameIndex {
    /// Each name's slot number.
    store: NameStore,
    /// Where each slot starts in `rules` (one more than there are slots: the end).
    slots: Vec<u32>,
    /// The slots' rule numbers, each with [`EXACT`] and/or [`BELOW`].
    rules: Vec<u32>,
}

/// What a rule covers of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Covers {
    /// The name only.
    Name,
    /// The names below it only.
    Below,
    /// The name and the names below it.
    Both,
}

impl NameIndex {
    /// The index of `(name, rule, covers)` entries, a name's rules in the order given. Rule
    /// numbers are below 2^30.
    pub(super) fn build(mut entries: Vec<(String, u32, Covers)>) -> Result<Self, StoreError> {
        // Grouped by name, each name's rules kept in their order.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut names = Vec::new();
        let mut index = Self { slots: Vec::new(), rules: Vec::with_capacity(entries.len()), ..Self::default() };
        let mut previous: Option<String> = None;
        for (name, rule, covers) in entries {
            if previous.as_deref() != Some(name.as_str()) {
                let slot = u32::try_from(index.slots.len()).map_err(|_| StoreError::TooLarge)?;
                index.slots.push(u32::try_from(index.rules.len()).map_err(|_| StoreError::TooLarge)?);
                names.push((name.clone(), slot));
                previous = Some(name);
            }
            let marks = match covers {
                Covers::Name => EXACT,
                Covers::Below => BELOW,
                Covers::Both => EXACT | BELOW,
            };
            index.rules.push((rule & RULE) | marks);
        }
        index.slots.push(u32::try_from(index.rules.len()).map_err(|_| StoreError::TooLarge)?);
        index.store = NameStore::build(names)?;
        index.slots.shrink_to_fit();
        index.rules.shrink_to_fit();
        Ok(index)
    }

    /// The rule numbers of the slot `slot` covering the name itself (`exact`) or names below.
    fn slot(&self, slot: u32, exact: bool) -> impl Iterator<Item = u32> + '_ {
        let start = self.slots.get(slot as usize).copied().unwrap_or(0) as usize;
        let end = self.slots.get(slot as usize + 1).copied().unwrap_or(0) as usize;
        let mark = if exact { EXACT } else { BELOW };
        self.rules.get(start..end).unwrap_or_default().iter().filter(move |&&rule| rule & mark != 0).map(|&rule| rule & RULE)
    }

    /// Calls `found` with the rule numbers deciding `name` (lower case, no trailing dot), slot
    /// by slot from the most specific (the name's own rules, then each parent's rules for the
    /// names below it, then the root's), each slot's numbers together.
    pub(super) fn each_slot(&self, name: &str, mut found: impl FnMut(&mut dyn Iterator<Item = u32>)) {
        let (mut reversed, mut scratch) = (Vec::with_capacity(name.len() + 1), Vec::with_capacity(name.len() + 1));
        reverse_into(name, &mut reversed);
        let mut slots: Vec<(bool, u32)> = Vec::with_capacity(8);
        self.store.each_match(&reversed, &mut scratch, |exact, slot| slots.push((exact, slot)));
        // Every name is below the root: `*` (a rule for everything) is keyed "".
        if !name.is_empty() {
            if let Some(slot) = self.store.get_reversed(b"", &mut scratch) {
                slots.push((false, slot));
            }
        }
        for (exact, slot) in slots {
            found(&mut self.slot(slot, exact));
        }
    }
}
