//! The hasher for the small maps this crate keeps on hot paths: FNV-1a for short
//! strings (attribute-key classes on the export thread). SipHash, the std default, is
//! built against flooding by untrusted keys; these keys come from the application's
//! code, and the maps are bounded.

use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hasher: `HashMap<K, V, FnvBuildHasher>`.
pub(crate) type FnvBuildHasher = BuildHasherDefault<FnvHasher>;

/// FNV-1a, 64 bits.
#[derive(Default)]
pub(crate) struct FnvHasher(u64);

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
