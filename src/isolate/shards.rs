//! The decoded shards an isolate holds for the version it serves, within a budget of encoded
//! bytes: the least recently used shard goes first, and the one just used never goes (a
//! shard larger than the whole budget is still held while it is the only one).

use std::collections::HashMap;
use std::rc::Rc;

use crate::snapshot::Index;
use crate::zone::Catalog;

/// Shards by number, each with the tick it was last used at.
#[derive(Debug, Default)]
pub(super) struct ShardCache {
    held: HashMap<usize, (Rc<Catalog>, u64)>,
    /// The encoded size of the shards held (what the manifest says each weighs).
    bytes: usize,
}

impl ShardCache {
    /// Shard `n`, marked as used at `tick`.
    pub(super) fn get(&mut self, n: usize, tick: u64) -> Option<Rc<Catalog>> {
        let (catalog, used) = self.held.get_mut(&n)?;
        *used = tick;
        Some(Rc::clone(catalog))
    }

    /// Holds shard `n`, letting the least recently used others go past `budget` bytes.
    pub(super) fn insert(&mut self, index: &Index, n: usize, catalog: Rc<Catalog>, tick: u64, budget: usize) {
        if self.held.insert(n, (catalog, tick)).is_none() {
            self.bytes += weight(index, n);
        }
        while self.bytes > budget && self.held.len() > 1 {
            let Some(oldest) = self.held.iter().filter(|(held, _)| **held != n).min_by_key(|(_, (_, used))| *used).map(|(held, _)| *held) else {
                break;
            };
            self.held.remove(&oldest);
            self.bytes = self.bytes.saturating_sub(weight(index, oldest));
        }
    }

    /// The shard numbers held, most recently used first.
    pub(super) fn by_recency(&self) -> Vec<usize> {
        let mut held: Vec<(usize, u64)> = self.held.iter().map(|(n, (_, used))| (*n, *used)).collect();
        held.sort_by_key(|(n, used)| (std::cmp::Reverse(*used), *n));
        held.into_iter().map(|(n, _)| n).collect()
    }

    /// The encoded bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Shard `n`'s encoded size as the manifest records it.
pub(super) fn weight(index: &Index, n: usize) -> usize {
    index.manifest().shards().get(n).map_or(0, |shard| shard.bytes as usize)
}
