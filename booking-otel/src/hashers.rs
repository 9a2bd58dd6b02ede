//! Hashers for the small maps this crate keeps on hot paths: FNV-1a for short strings
//! (attribute-key classes on the export thread), a multiply-rotate word hasher for
//! pointer-sized keys (bound metric series on the booking thread). SipHash, the std
//! default, is built against flooding by untrusted keys; these keys come from the
//! application's code, and the maps are bounded.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hasher: `HashMap<K, V, FnvBuildHasher>`.
#[cfg(feature = "sdk")]
pub(crate) type FnvBuildHasher = BuildHasherDefault<FnvHasher>;

/// FNV-1a, 64 bits.
#[cfg(feature = "sdk")]
#[derive(Default)]
pub(crate) struct FnvHasher(u64);

#[cfg(feature = "sdk")]
impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` hasher for keys made of machine words: `HashMap<K, V, WordBuildHasher>`.
pub(crate) type WordBuildHasher = BuildHasherDefault<WordHasher>;

/// One rotate, xor and multiply per word (the FxHash scheme).
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
