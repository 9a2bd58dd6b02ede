//! The bound series of the step instruments: one bound instrument
//! (`Histogram::bind`, `Counter::bind`) per attribute combination, bound on first use
//! and found again without a lock.
//!
//! Binding resolves the attribute set once, so a recording no longer sorts, hashes and
//! looks the set up in the SDK. Binding lazily keeps the exported data identical: a
//! combination never recorded is never exported.
//!
//! The table is insert-only open addressing over `OnceLock` slots, twice as many as
//! [`MAX_BOUND_SERIES`], so a probe always reaches an empty slot. A lookup is a hash of
//! three pointers and one or two acquire loads (no lock, no atomic read-modify-write):
//! it replaced an `RwLock<HashMap>` whose lock and hashing cost ~90 instructions per
//! step (callgrind, W2). Inserts are serialised by a mutex, so two threads binding the
//! same combination bind it once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use super::MAX_BOUND_SERIES;

/// Slots per table: a power of two, at least twice [`MAX_BOUND_SERIES`] (a table at
/// most half full keeps probes short and guarantees an empty slot ends each one).
const SLOTS: usize = (2 * MAX_BOUND_SERIES).next_power_of_two();

/// A key of a bound series: compared and hashed by identity (see [`StaticStr`]).
pub(super) trait SeriesKey: Copy + Eq {
    /// A well-mixed 64-bit hash; the table uses its high bits.
    fn mixed_hash(&self) -> u64;
}

/// A `&'static str` compared and hashed by identity (address and length), not content.
///
/// Why: hashing and comparing three names by content was ~170 instructions of the ~470
/// a step's metric recording cost (callgrind, W2). Sound: a `&'static str` is never
/// freed or changed, so equal identities mean equal content. Two copies of one name at
/// different addresses get two entries, both bound to the same attribute set, which
/// the SDK resolves to one series: the exported data is the same.
#[derive(Debug, Clone, Copy)]
pub(super) struct StaticStr(pub(super) &'static str);

impl PartialEq for StaticStr {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for StaticStr {}

impl StaticStr {
    fn word(self) -> u64 {
        (self.0.as_ptr() as usize ^ self.0.len()) as u64
    }
}

/// Multiplies by a large odd constant (Fibonacci hashing): the high bits depend on
/// every input bit, which is what [`SeriesTable`] indexes by.
fn mix(words: u64) -> u64 {
    words.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// (step, outcome, error type): `booking.step.duration`.
impl SeriesKey for (StaticStr, StaticStr, Option<StaticStr>) {
    fn mixed_hash(&self) -> u64 {
        let error = self.2.map_or(0, StaticStr::word);
        mix(self.0.word() ^ self.1.word().rotate_left(21) ^ error.rotate_left(42))
    }
}

/// (rollback step, outcome): `booking.rollbacks`.
impl SeriesKey for (StaticStr, StaticStr) {
    fn mixed_hash(&self) -> u64 {
        mix(self.0.word() ^ self.1.word().rotate_left(21))
    }
}

#[cfg(test)]
impl SeriesKey for usize {
    fn mixed_hash(&self) -> u64 {
        mix(*self as u64)
    }
}

/// A slot: empty, or a key and its bound instrument (boxed, so an empty slot is one
/// word and a state).
type Slot<K, B> = OnceLock<Box<(K, B)>>;

/// Bound instruments by key, up to [`MAX_BOUND_SERIES`] of them.
pub(super) struct SeriesTable<K, B> {
    slots: Box<[Slot<K, B>]>,
    /// Serialises inserts; holds how many series are bound.
    bound: Mutex<usize>,
    /// Set once [`MAX_BOUND_SERIES`] are bound: combinations past the cap then go
    /// unbound without taking the lock.
    full: AtomicBool,
}

impl<K, B> std::fmt::Debug for SeriesTable<K, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesTable")
            .field("bound", &self.bound.lock().map(|n| *n).unwrap_or(0))
            .finish_non_exhaustive()
    }
}

impl<K: SeriesKey, B> Default for SeriesTable<K, B> {
    fn default() -> Self {
        SeriesTable {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            bound: Mutex::new(0),
            full: AtomicBool::new(false),
        }
    }
}

impl<K: SeriesKey, B> SeriesTable<K, B> {
    /// Runs `record` with the series bound for `key` (binding it with `bind` on first
    /// use); returns `false`, recording nothing, when the table is full, for the caller
    /// to take the unbound path.
    #[inline]
    pub(super) fn with(&self, key: K, bind: impl FnOnce() -> B, record: impl FnOnce(&B)) -> bool {
        match self.get(key).or_else(|| self.bind(key, bind)) {
            Some(series) => {
                record(series);
                true
            }
            None => false,
        }
    }

    /// The series bound for `key`, if it is bound.
    ///
    /// Always inlined, with `find`: left to the heuristics, the lookup went out of
    /// line in some builds, at ~50 instructions a step instead of ~35 (callgrind).
    #[inline(always)]
    pub(super) fn get(&self, key: K) -> Option<&B> {
        self.find(key).ok()
    }

    /// The series bound for `key` or the index of the empty slot where it would go.
    #[inline(always)]
    fn find(&self, key: K) -> Result<&B, usize> {
        let mask = SLOTS - 1;
        let mut index = (key.mixed_hash() >> (64 - SLOTS.trailing_zeros())) as usize & mask;
        loop {
            match self.slots[index].get() {
                Some(entry) if entry.0 == key => return Ok(&entry.1),
                Some(_) => index = (index + 1) & mask,
                None => return Err(index),
            }
        }
    }

    /// Binds `key` with `bind` (once, whichever thread comes first) and returns its
    /// series; `None` when the table is full.
    #[cold]
    #[inline(never)]
    pub(super) fn bind(&self, key: K, bind: impl FnOnce() -> B) -> Option<&B> {
        if self.full.load(Ordering::Relaxed) {
            return None;
        }
        let mut bound = self.bound.lock().ok()?;
        // Another thread may have bound it between our look and the lock.
        let empty = match self.find(key) {
            Ok(series) => return Some(series),
            Err(empty) => empty,
        };
        if *bound >= MAX_BOUND_SERIES {
            self.full.store(true, Ordering::Relaxed);
            return None;
        }
        // Inserts hold the lock, so the slot `find` saw empty is still empty.
        let entry = self.slots[empty].get_or_init(|| Box::new((key, bind())));
        *bound += 1;
        Some(&entry.1)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.bound.lock().map(|n| *n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_stop_binding_at_the_cap() {
        let series: SeriesTable<usize, usize> = SeriesTable::default();
        for key in 0..MAX_BOUND_SERIES {
            assert!(series.with(key, || key * 10, |bound| assert_eq!(*bound, key * 10)));
        }
        // Already bound: found without binding again.
        for key in 0..MAX_BOUND_SERIES {
            assert!(series.with(
                key,
                || unreachable!("bound once"),
                |bound| assert_eq!(*bound, key * 10)
            ));
        }
        // Past the cap: nothing bound, nothing recorded; the caller goes unbound.
        assert!(!series.with(MAX_BOUND_SERIES, || 0, |_| unreachable!("not bound")));
        assert_eq!(series.len(), MAX_BOUND_SERIES);
    }

    #[test]
    fn names_equal_by_content_at_other_addresses_are_other_keys() {
        let owned = String::from("booking.confirm");
        let leaked: &'static str = Box::leak(owned.into_boxed_str());
        let a = (StaticStr("booking.confirm"), StaticStr("ok"), None);
        let b = (StaticStr(leaked), StaticStr("ok"), None);
        let series: SeriesTable<_, u8> = SeriesTable::default();
        assert!(series.with(a, || 1, |bound| assert_eq!(*bound, 1)));
        assert!(series.with(b, || 2, |bound| assert_eq!(*bound, 2)));
        assert!(series.with(a, || unreachable!(), |bound| assert_eq!(*bound, 1)));
        assert_eq!(series.len(), 2);
    }

    #[test]
    fn threads_binding_one_key_bind_it_once() {
        let series: SeriesTable<usize, usize> = SeriesTable::default();
        let binds = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for key in 0..64 {
                        assert!(series.with(
                            key,
                            || {
                                binds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                key + 1
                            },
                            |bound| assert_eq!(*bound, key + 1),
                        ));
                    }
                });
            }
        });
        assert_eq!(binds.into_inner(), 64);
        assert_eq!(series.len(), 64);
    }

    /// `MAX_BOUND_SERIES` keys that all hash to the last slot (a cluster that wraps
    /// around the table): every lookup, hit or miss, ends, and the cap holds.
    #[test]
    fn colliding_keys_wrap_around_and_every_probe_ends() {
        let shift = 64 - SLOTS.trailing_zeros();
        let keys: Vec<usize> = (0..)
            .filter(|k: &usize| (k.mixed_hash() >> shift) as usize == SLOTS - 1)
            .take(MAX_BOUND_SERIES + 2)
            .collect();
        let series: SeriesTable<usize, usize> = SeriesTable::default();
        for &key in &keys[..MAX_BOUND_SERIES] {
            assert!(series.with(key, || key, |b| assert_eq!(*b, key)));
        }
        for &key in &keys[..MAX_BOUND_SERIES] {
            assert_eq!(series.get(key), Some(&key));
        }
        assert!(series.get(keys[MAX_BOUND_SERIES]).is_none());
        assert!(!series.with(keys[MAX_BOUND_SERIES + 1], || 0, |_| unreachable!()));
        assert_eq!(series.len(), MAX_BOUND_SERIES);
    }
}
