//! The random source policies draw from: a trait, so tests pass a fixed seed and the Worker
//! passes one seeded from the platform's randomness.

/// A source of uniformly distributed numbers.
pub trait Random {
    /// A number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u32) -> u32;
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically sound for picks.
#[derive(Debug, Clone)]
pub struct SplitMix {
    state: u64,
}

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A position in `0..len` (0 when `len` is 0), for picking from a slice.
    pub fn index(&mut self, len: usize) -> usize {
        (self.next_u64() % len.max(1) as u64) as usize
    }
}

impl Random for SplitMix {
    fn below(&mut self, bound: u32) -> u32 {
        if bound == 0 {
            return 0;
        }
        // Lemire's multiply-shift: unbiased enough for 32-bit bounds from 64 random bits.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u32
    }
}
