//! The per-thread memory of what a [`RedactionPolicy`](super::RedactionPolicy) already
//! decided: the class of each attribute key, which constant strings are clean, and the
//! shape of the attribute lists of each constant span or event name.
//!
//! The same few dozen keys, span names and constant values come back on every span,
//! and the guard runs on the thread that ends the span. So each thread that exports
//! keeps a few small tables (allocated on its first span, 49 KiB), used without a
//! lock. Every entry is tagged with the policy's identity. The cache changes the cost,
//! never the result: whatever it does not hold is decided again.
//!
//! # Keys
//!
//! 1. **By address.** Most keys are `&'static str` constants, or `Arc<str>` shared by
//!    every span. An entry holds a clone of such a key (which keeps its bytes alive and
//!    unchanged) with their address and length; a key with the same address and length
//!    therefore has the same bytes, and its class is found with three comparisons and
//!    no read of the key.
//! 2. **By content.** A key built per span (`String`) has a new address each time: its
//!    bytes, as words, are hashed and compared instead. This table also remembers such
//!    keys as "not by address", so they are not cloned again.
//!
//! # Clean strings
//!
//! A string found clean is remembered by address the same way, only when its bytes
//! cannot change: a `&'static str` span or event name at once; a string value the
//! second time the same address and length comes back, if a clone of it stays at that
//! address (a constant or an `Arc<str>`, which the entry then keeps alive). A string
//! built per span is copied by a clone, so it is marked as such and scanned every time.
//! Strings that were masked are never remembered.
//!
//! # Shapes
//!
//! The attribute list of a span or event with a constant name is the same at each call
//! site: the same constant keys, often the same constant values. The second time a
//! clean constant name is seen, its list's shape is remembered: at each position, the
//! key (by address, a clone kept alive) and, when it is a clean constant string, an
//! integer of fewer than 13 digits or a boolean, the value. A later list with the same
//! name and length skips each attribute that matches its position, only scans the
//! value when just the key matches, and takes the long way otherwise. Into a full set,
//! shapes are relearned on one miss in eight.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::{Key, KeyValue, StringValue, Value};

use super::scanner::MIN_PAN;

use super::words::for_each_word;

/// What the policy does with an attribute key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyClass {
    /// Scanned for card numbers, emails and custom rules.
    Scanned,
    /// Names a secret: the value is replaced.
    Denied,
    /// `allow_key`: exported as it is.
    Allowed,
}

/// A new policy identity: entries are tagged with it, so a policy never sees another
/// policy's decisions. Identities start at 1 (0 marks an empty entry).
pub(super) fn new_policy_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Entries per set, the most recently inserted first: four, so that a few constants
/// whose addresses fall in one set do not keep evicting each other.
const WAYS: usize = 4;
const KEY_SETS: usize = 64;
const CONTENT_SETS: usize = 32;
const STRING_SETS: usize = 64;
const SHAPE_SETS: usize = 32;
const WORDS: usize = 7;
const MAX_CONTENT_LEN: usize = WORDS * 8;

/// A key, by address.
struct KeyEntry {
    address: usize,
    len: usize,
    policy: u64,
    class: KeyClass,
    /// The key whose bytes `address` points to, kept so that they stay where they are.
    _alive: Option<Key>,
}

impl KeyEntry {
    const EMPTY: KeyEntry = KeyEntry {
        address: 0,
        len: 0,
        policy: 0,
        class: KeyClass::Scanned,
        _alive: None,
    };
}

/// A key, by content.
#[derive(Clone, Copy)]
struct ContentEntry {
    policy: u64,
    len: usize,
    words: [u64; WORDS],
    class: KeyClass,
    /// Whether a clone of the key stays at its address, as far as we know.
    by_address: bool,
}

impl ContentEntry {
    const EMPTY: ContentEntry = ContentEntry {
        policy: 0,
        len: 0,
        words: [0; WORDS],
        class: KeyClass::Scanned,
        by_address: false,
    };
}

/// What is known of a string found clean at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Seen once: not yet known to stay where it is.
    Seen,
    /// Its bytes cannot change while the entry lives: clean whenever seen here.
    Clean,
    /// A clone moved it (built per span): scan it every time, never clone it again.
    Copied,
}

/// A clean string, by address.
struct StringEntry {
    address: usize,
    len: usize,
    policy: u64,
    standing: Standing,
    /// The value whose bytes `address` points to (none for a `&'static str`).
    _alive: Option<StringValue>,
}

impl StringEntry {
    const EMPTY: StringEntry = StringEntry {
        address: 0,
        len: 0,
        policy: 0,
        standing: Standing::Seen,
        _alive: None,
    };

    #[inline]
    fn is(&self, policy: u64, address: usize, len: usize) -> bool {
        self.address == address && self.len == len && self.policy == policy
    }
}

/// A string the scanner found clean, as the caller holds it.
pub(super) enum CleanString<'a> {
    /// Lives for the rest of the program (a `Cow::Borrowed` span or event name).
    Static(&'static str),
    /// An attribute's string value.
    Value(&'a StringValue),
}

struct DecisionTables {
    keys: [[KeyEntry; WAYS]; KEY_SETS],
    key_contents: [[ContentEntry; WAYS]; CONTENT_SETS],
    strings: [[StringEntry; WAYS]; STRING_SETS],
}

/// This thread's tables.
struct Tables {
    decisions: DecisionTables,
    shapes: ShapeTable,
}

impl Tables {
    /// Once per thread, out of line: the tables are built on the stack first.
    #[cold]
    #[inline(never)]
    fn new() -> Box<Tables> {
        Box::new(Tables {
            decisions: DecisionTables {
                keys: [const { [const { KeyEntry::EMPTY }; WAYS] }; KEY_SETS],
                key_contents: [[ContentEntry::EMPTY; WAYS]; CONTENT_SETS],
                strings: [const { [const { StringEntry::EMPTY }; WAYS] }; STRING_SETS],
            },
            shapes: ShapeTable {
                sets: [const { [const { None }; WAYS] }; SHAPE_SETS],
                misses: [0; SHAPE_SETS],
            },
        })
    }
}

thread_local! {
    static TABLES: RefCell<Option<Box<Tables>>> = const { RefCell::new(None) };
}

/// This thread's cache, for the span being redacted.
pub(super) struct ThreadCache<'a> {
    /// Key classes and clean strings.
    pub(super) decisions: Decisions<'a>,
    /// What is known of the attribute lists of each span and event name.
    pub(super) shapes: Shapes<'a>,
}

/// Key classes and clean strings.
pub(super) struct Decisions<'a> {
    tables: Option<&'a mut DecisionTables>,
}

/// Runs `f` with this thread's cache. If it is in use already (a value rule that ends a
/// span of its own) or gone (thread exit), `f` runs with an empty one that remembers
/// nothing.
#[inline(always)]
pub(super) fn with_thread_cache<R>(mut f: impl FnMut(&mut ThreadCache<'_>) -> R) -> R {
    let cached = TABLES.try_with(|cell| {
        let mut tables = cell.try_borrow_mut().ok()?;
        let tables = &mut **tables.get_or_insert_with(Tables::new);
        Some(f(&mut ThreadCache {
            decisions: Decisions {
                tables: Some(&mut tables.decisions),
            },
            shapes: Shapes {
                table: Some(&mut tables.shapes),
            },
        }))
    });
    match cached {
        Ok(Some(result)) => result,
        _ => without_cache(f),
    }
}

#[cold]
#[inline(never)]
fn without_cache<R>(mut f: impl FnMut(&mut ThreadCache<'_>) -> R) -> R {
    f(&mut ThreadCache {
        decisions: Decisions { tables: None },
        shapes: Shapes { table: None },
    })
}

/// The set of an address. Strings are a few bytes apart in memory: the low bits (past
/// the alignment) differ.
#[inline]
fn address_set(address: usize, sets: usize) -> usize {
    (address >> 2) % sets
}

impl Decisions<'_> {
    /// Decisions that remember nothing.
    pub(super) fn none() -> Decisions<'static> {
        Decisions { tables: None }
    }

    /// The class of `key` under policy `policy`: from the tables, or from `classify`
    /// (then remembered).
    #[inline]
    pub(super) fn key_class(
        &mut self,
        policy: u64,
        key: &Key,
        classify: impl FnOnce(&str) -> KeyClass,
    ) -> KeyClass {
        let Some(tables) = self.tables.as_deref_mut() else {
            return classify(key.as_str());
        };
        let text = key.as_str();
        match tables.key_by_address(policy, text) {
            Some(entry) => entry.class,
            None => tables.key_class_by_content(policy, key, classify),
        }
    }

    /// Whether the key table holds `key` by address (so that a clone of it stays there).
    pub(super) fn is_key_by_address(&self, policy: u64, key: &str) -> bool {
        self.tables
            .as_deref()
            .is_some_and(|tables| tables.key_by_address(policy, key).is_some())
    }

    /// Whether `text` was found clean under `policy` and cannot have changed since.
    #[inline]
    pub(super) fn is_known_clean(&self, policy: u64, text: &str) -> bool {
        let Some(tables) = self.tables.as_deref() else {
            return false;
        };
        let (address, len) = (text.as_ptr() as usize, text.len());
        tables.strings[address_set(address, STRING_SETS)]
            .iter()
            .any(|entry| entry.is(policy, address, len) && entry.standing == Standing::Clean)
    }

    /// Notes that the scanner found `string` clean under `policy`.
    #[inline]
    pub(super) fn found_clean(&mut self, policy: u64, string: CleanString<'_>) {
        if let Some(tables) = self.tables.as_deref_mut() {
            tables.found_clean(policy, string);
        }
    }
}

impl DecisionTables {
    /// The entry of `key` (by its address and length) under `policy`.
    #[inline(always)]
    fn key_by_address(&self, policy: u64, key: &str) -> Option<&KeyEntry> {
        let (address, len) = (key.as_ptr() as usize, key.len());
        self.keys[address_set(address, KEY_SETS)]
            .iter()
            .find(|entry| entry.address == address && entry.len == len && entry.policy == policy)
    }

    #[cold]
    #[inline(never)]
    fn key_class_by_content(
        &mut self,
        policy: u64,
        key: &Key,
        classify: impl FnOnce(&str) -> KeyClass,
    ) -> KeyClass {
        let text = key.as_str();
        let Some(probe) = ContentProbe::new(policy, text) else {
            return classify(text);
        };
        let set = &mut self.key_contents[probe.set];
        let (class, by_address) = match set.iter().find(|entry| probe.matches(entry)) {
            Some(entry) => (entry.class, entry.by_address),
            None => {
                let class = classify(text);
                set.rotate_right(1);
                set[0] = ContentEntry {
                    policy,
                    len: text.len(),
                    words: probe.words,
                    class,
                    by_address: true,
                };
                (class, true)
            }
        };
        if by_address {
            let alive = key.clone();
            if alive.as_str().as_ptr() == text.as_ptr() {
                let set = &mut self.keys[address_set(text.as_ptr() as usize, KEY_SETS)];
                set.rotate_right(1);
                set[0] = KeyEntry {
                    address: text.as_ptr() as usize,
                    len: text.len(),
                    policy,
                    class,
                    _alive: Some(alive),
                };
            } else if let Some(entry) = self.key_contents[probe.set]
                .iter_mut()
                .find(|entry| probe.matches(entry))
            {
                // A clone is a copy elsewhere: look this key up by content from now on.
                entry.by_address = false;
            }
        }
        class
    }

    fn found_clean(&mut self, policy: u64, string: CleanString<'_>) {
        let text = match &string {
            CleanString::Static(text) => *text,
            CleanString::Value(value) => value.as_str(),
        };
        let (address, len) = (text.as_ptr() as usize, text.len());
        let set = &mut self.strings[address_set(address, STRING_SETS)];
        let entry = |standing, alive| StringEntry {
            address,
            len,
            policy,
            standing,
            _alive: alive,
        };
        if let Some(known) = set.iter_mut().find(|e| e.is(policy, address, len)) {
            if known.standing == Standing::Seen {
                // Back at the same address: a clone tells a constant or a shared string
                // (same address, now kept alive) from one built per span (a copy).
                *known = match string {
                    CleanString::Static(_) => entry(Standing::Clean, None),
                    CleanString::Value(value) => {
                        let alive = value.clone();
                        if alive.as_str().as_ptr() == text.as_ptr() {
                            entry(Standing::Clean, Some(alive))
                        } else {
                            entry(Standing::Copied, None)
                        }
                    }
                };
            }
            return;
        }
        let new = match string {
            CleanString::Static(_) => entry(Standing::Clean, None),
            CleanString::Value(_) => entry(Standing::Seen, None),
        };
        // A string that may be built per span never evicts one known to be clean.
        let not_clean = |e: &StringEntry| e.standing != Standing::Clean;
        let way = match new.standing {
            Standing::Clean => set.iter().position(not_clean).unwrap_or(WAYS - 1),
            _ => match set.iter().rposition(not_clean) {
                Some(way) => way,
                None => return,
            },
        };
        set[way] = new;
    }
}

/// What a shape knows of one attribute: its key (same address, kept alive by the
/// shape, so the same class), and maybe its value (the same constant string, or a kind
/// that is always clean).
#[derive(Debug, Clone, Copy)]
pub(super) struct KnownAttribute {
    key_address: usize,
    key_len: usize,
    value: KnownValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KnownValue {
    /// The key is allowed: any value is exported as it is.
    Any,
    /// This clean string.
    String { address: usize, len: usize },
    /// An integer of fewer than 13 digits.
    SmallInt,
    /// A boolean.
    Bool,
    /// Only the key, whose class is [`KeyClass::Scanned`]: the value is scanned.
    Scan,
    /// Nothing: always redacted the long way.
    Unknown,
}

/// What to do with an attribute, as far as its list's [`Shape`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Known clean as it is.
    Clean,
    /// The key is known to be scanned: scan the value.
    ScanValue,
    /// Redact it the long way.
    Unknown,
}

/// What is known of the attribute list of one span or event name with one length:
/// the spans of one call site repeat their keys and constant values.
pub(super) struct Shape {
    policy: u64,
    name_address: usize,
    name_len: usize,
    known: Box<[KnownAttribute]>,
    /// The keys and values whose addresses `known` holds, kept so that they stay there.
    _alive_keys: Vec<Key>,
    _alive_values: Vec<StringValue>,
}

impl Shape {
    /// What is known of each attribute of the list, in order (as many as it has).
    #[inline(always)]
    pub(super) fn known(&self) -> &[KnownAttribute] {
        &self.known
    }
}

impl KnownAttribute {
    /// What to do with `attribute`, the one at this position in its list.
    #[inline(always)]
    pub(super) fn check(&self, attribute: &KeyValue) -> Check {
        let key = attribute.key.as_str();
        if key.as_ptr() as usize != self.key_address || key.len() != self.key_len {
            return Check::Unknown;
        }
        let clean = match (&attribute.value, self.value) {
            (_, KnownValue::Any) => true,
            (Value::String(value), KnownValue::String { address, len }) => {
                let value = value.as_str();
                value.as_ptr() as usize == address && value.len() == len
            }
            (Value::I64(i), KnownValue::SmallInt) => i.unsigned_abs() < MIN_PAN,
            (Value::Bool(_), KnownValue::Bool) => true,
            (_, KnownValue::Unknown) => return Check::Unknown,
            _ => false,
        };
        if clean {
            Check::Clean
        } else {
            Check::ScanValue
        }
    }
}

/// Builds a [`Shape`] while a list is redacted the long way.
pub(super) struct ShapeBuilder {
    shape: Shape,
    known: Vec<KnownAttribute>,
}

impl ShapeBuilder {
    pub(super) fn new(policy: u64, name: &'static str, len: usize) -> ShapeBuilder {
        ShapeBuilder {
            shape: Shape {
                policy,
                name_address: name.as_ptr() as usize,
                name_len: name.len(),
                known: Box::default(),
                _alive_keys: Vec::new(),
                _alive_values: Vec::new(),
            },
            known: Vec::with_capacity(len),
        }
    }

    /// Adds the next attribute, just redacted: `class` is its key's class, `changed`
    /// whether it was masked. Only keys and strings that [`Decisions`] knows to stay
    /// at their address are remembered by address.
    pub(super) fn push(
        &mut self,
        decisions: &Decisions<'_>,
        attribute: &KeyValue,
        class: KeyClass,
        changed: bool,
    ) {
        let known = self.know(decisions, attribute, class, changed);
        self.known.push(known.unwrap_or(KnownAttribute {
            key_address: 0,
            key_len: usize::MAX,
            value: KnownValue::Unknown,
        }));
    }

    fn know(
        &mut self,
        decisions: &Decisions<'_>,
        attribute: &KeyValue,
        class: KeyClass,
        changed: bool,
    ) -> Option<KnownAttribute> {
        let policy = self.shape.policy;
        let key = attribute.key.as_str();
        if !decisions.is_key_by_address(policy, key) {
            return None;
        }
        let value = match (class, &attribute.value) {
            (KeyClass::Allowed, _) => KnownValue::Any,
            (KeyClass::Denied, _) => return None,
            (KeyClass::Scanned, _) if changed => KnownValue::Scan,
            (KeyClass::Scanned, Value::String(value))
                if decisions.is_known_clean(policy, value.as_str()) =>
            {
                let alive = value.clone();
                let text = alive.as_str();
                if text.as_ptr() == value.as_str().as_ptr() {
                    let known = KnownValue::String {
                        address: text.as_ptr() as usize,
                        len: text.len(),
                    };
                    self.shape._alive_values.push(alive);
                    known
                } else {
                    KnownValue::Scan
                }
            }
            (KeyClass::Scanned, Value::I64(i)) if i.unsigned_abs() < MIN_PAN => {
                KnownValue::SmallInt
            }
            (KeyClass::Scanned, Value::Bool(_)) => KnownValue::Bool,
            (KeyClass::Scanned, _) => KnownValue::Scan,
        };
        let alive = attribute.key.clone();
        if alive.as_str().as_ptr() != key.as_ptr() {
            return None;
        }
        self.shape._alive_keys.push(alive);
        Some(KnownAttribute {
            key_address: key.as_ptr() as usize,
            key_len: key.len(),
            value,
        })
    }
}

/// The shapes, by name address (a step that fails has one more attribute than one that
/// succeeds: two shapes of one name).
struct ShapeTable {
    sets: [[Option<Shape>; WAYS]; SHAPE_SETS],
    /// Misses of each full set, so that lists that keep changing relearn rarely.
    misses: [u8; SHAPE_SETS],
}

/// What is known of attribute lists.
pub(super) struct Shapes<'a> {
    table: Option<&'a mut ShapeTable>,
}

impl Shapes<'_> {
    /// The shape of the `len` attributes of a list named `name` under `policy`.
    #[inline(always)]
    pub(super) fn find(&self, policy: u64, name: &'static str, len: usize) -> Option<&Shape> {
        let table = self.table.as_deref()?;
        let address = name.as_ptr() as usize;
        table.sets[address_set(address, SHAPE_SETS)]
            .iter()
            .flatten()
            .find(|shape| {
                shape.name_address == address
                    && shape.name_len == name.len()
                    && shape.known.len() == len
                    && shape.policy == policy
            })
    }

    /// Whether to learn the shape of a list named `name` that [`find`](Self::find) did
    /// not know. Into a set with room, always; into a full one (a name whose lists keep
    /// changing length, or names that share a set), one miss in eight: learning costs
    /// a few allocations.
    #[inline]
    pub(super) fn may_learn(&mut self, name: &'static str) -> bool {
        let Some(table) = self.table.as_deref_mut() else {
            return false;
        };
        let set = address_set(name.as_ptr() as usize, SHAPE_SETS);
        if table.sets[set].iter().any(Option::is_none) {
            return true;
        }
        let misses = &mut table.misses[set];
        *misses = misses.wrapping_add(1);
        *misses % 8 == 0
    }

    /// Keeps the shape `builder` built, in place of the least recent one of its set.
    #[cold]
    #[inline(never)]
    pub(super) fn learn(&mut self, builder: ShapeBuilder) {
        let Some(table) = self.table.as_deref_mut() else {
            return;
        };
        let mut shape = builder.shape;
        shape.known = builder.known.into_boxed_slice();
        let set = &mut table.sets[address_set(shape.name_address, SHAPE_SETS)];
        set.rotate_right(1);
        set[0] = Some(shape);
    }
}

/// A key read for the by-content table: its words, and its set.
struct ContentProbe {
    policy: u64,
    len: usize,
    words: [u64; WORDS],
    set: usize,
}

impl ContentProbe {
    fn new(policy: u64, key: &str) -> Option<ContentProbe> {
        let bytes = key.as_bytes();
        if bytes.len() > MAX_CONTENT_LEN {
            return None;
        }
        let mut words = [0; WORDS];
        let mut hash = policy << 8 ^ bytes.len() as u64;
        let mut slots = words.iter_mut();
        for_each_word(bytes, |word| {
            if let Some(slot) = slots.next() {
                *slot = word;
            }
            // The FxHash step: keys are short and the table bounded, so a
            // DoS-resistant hash would only add cost.
            hash = (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        });
        Some(ContentProbe {
            policy,
            len: bytes.len(),
            words,
            set: (hash >> (64 - CONTENT_SETS.trailing_zeros())) as usize,
        })
    }

    fn matches(&self, entry: &ContentEntry) -> bool {
        entry.policy == self.policy && entry.len == self.len && entry.words == self.words
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn class(policy: u64, key: &Key, class: KeyClass) -> KeyClass {
        with_thread_cache(|cache| cache.decisions.key_class(policy, key, |_| class))
    }

    /// Classifies `key` and counts the calls to the classifier.
    fn counting(policy: u64, key: &Key, calls: &mut usize) -> KeyClass {
        with_thread_cache(|cache| {
            cache.decisions.key_class(policy, key, |_| {
                *calls += 1;
                KeyClass::Scanned
            })
        })
    }

    #[test]
    fn static_shared_and_owned_keys_are_each_classified_once() {
        let policy = new_policy_id();
        let shared: Arc<str> = Arc::from("booking.shared_key");
        for key in [
            Key::from_static_str("booking.guests"),
            Key::new(shared),
            Key::new(String::from("booking.owned_key")),
        ] {
            let mut calls = 0;
            for _ in 0..5 {
                // A fresh owned copy each time, like a key built per span.
                let key = Key::new(key.as_str().to_owned());
                assert_eq!(counting(policy, &key, &mut calls), KeyClass::Scanned);
            }
            for _ in 0..5 {
                assert_eq!(counting(policy, &key, &mut calls), KeyClass::Scanned);
            }
            assert_eq!(calls, 1, "{}", key.as_str());
        }
    }

    #[test]
    fn classes_are_per_policy_and_per_key() {
        let (a, b) = (new_policy_id(), new_policy_id());
        let guests = Key::from_static_str("booking.guests");
        assert_eq!(class(a, &guests, KeyClass::Scanned), KeyClass::Scanned);
        assert_eq!(class(b, &guests, KeyClass::Denied), KeyClass::Denied);
        // The same bytes at another address (a prefix of a longer constant).
        let prefix = Key::from_static_str(&"booking.guests_total"[..14]);
        assert_eq!(prefix.as_str(), guests.as_str());
        assert_eq!(class(a, &prefix, KeyClass::Denied), KeyClass::Scanned);
        // Same address, shorter length: another key.
        let shorter = Key::from_static_str(&"booking.guests_total"[..7]);
        assert_eq!(class(a, &shorter, KeyClass::Allowed), KeyClass::Allowed);
    }

    #[test]
    fn keys_differing_in_any_byte_or_length_are_distinct() {
        let policy = new_policy_id();
        let base = "payment.gateway.transaction_reference_number_for_audit";
        assert!(base.len() <= MAX_CONTENT_LEN);
        for len in 0..=base.len() {
            let key = Key::new(base[..len].to_owned());
            assert_eq!(class(policy, &key, KeyClass::Scanned), KeyClass::Scanned);
        }
        for at in 0..base.len() {
            let mut key = base.to_string().into_bytes();
            key[at] = b'X';
            let key = Key::new(String::from_utf8(key).unwrap_or_default());
            assert_eq!(class(policy, &key, KeyClass::Denied), KeyClass::Denied);
        }
    }

    #[test]
    fn long_owned_keys_are_classified_every_time() {
        let policy = new_policy_id();
        let mut calls = 0;
        for _ in 0..3 {
            let key = Key::new("k".repeat(MAX_CONTENT_LEN + 1));
            counting(policy, &key, &mut calls);
        }
        assert_eq!(calls, 3);
    }

    #[test]
    fn a_nested_use_runs_without_the_cache() {
        let policy = new_policy_id();
        let key = Key::from_static_str("booking.nested");
        let mut inner_calls = 0;
        with_thread_cache(|_outer| {
            counting(policy, &key, &mut inner_calls);
            counting(policy, &key, &mut inner_calls);
        });
        assert_eq!(inner_calls, 2);
    }

    #[test]
    fn strings_are_trusted_only_once_a_clone_stays_at_their_address() {
        let policy = new_policy_id();
        with_thread_cache(|cache| {
            let decisions = &mut cache.decisions;
            // A constant name: at once.
            decisions.found_clean(policy, CleanString::Static("booking.confirm"));
            assert!(decisions.is_known_clean(policy, "booking.confirm"));
            // A constant value: the second time, when its clone is at the same address.
            let constant = StringValue::from("pessimistic");
            decisions.found_clean(policy, CleanString::Value(&constant));
            assert!(!decisions.is_known_clean(policy, constant.as_str()));
            decisions.found_clean(policy, CleanString::Value(&constant));
            assert!(decisions.is_known_clean(policy, constant.as_str()));
            // A shared one too; its clone keeps it alive.
            let shared = StringValue::from(std::sync::Arc::<str>::from("res-81"));
            decisions.found_clean(policy, CleanString::Value(&shared));
            decisions.found_clean(policy, CleanString::Value(&shared));
            assert!(decisions.is_known_clean(policy, shared.as_str()));
            // One built per span, never: its clone is a copy elsewhere.
            let built = StringValue::from(String::from("built per span"));
            for _ in 0..3 {
                decisions.found_clean(policy, CleanString::Value(&built));
            }
            assert!(!decisions.is_known_clean(policy, built.as_str()));
            // Nor under another policy.
            assert!(!decisions.is_known_clean(new_policy_id(), "booking.confirm"));
        });
    }

    #[test]
    fn a_full_shape_set_relearns_one_miss_in_eight() {
        // Names 128 bytes apart share a set (4 bytes of address per set, 32 sets); a
        // leaked string lives as long as a constant.
        let names: &'static str = "-".repeat(128 * (WAYS + 1) + 8).leak();
        let name = |n: usize| &names[128 * n..128 * n + 8];
        let set = |n: usize| address_set(name(n).as_ptr() as usize, SHAPE_SETS);
        assert!((0..=WAYS).all(|n| set(n) == set(0)));
        let policy = new_policy_id();
        with_thread_cache(|cache| {
            let shapes = &mut cache.shapes;
            for n in 0..WAYS {
                assert!(shapes.may_learn(name(n)), "a set with room learns at once");
                shapes.learn(ShapeBuilder::new(policy, name(n), 0));
                assert!(shapes.find(policy, name(n), 0).is_some());
            }
            let learned = (0..64).filter(|_| shapes.may_learn(name(WAYS))).count();
            assert_eq!(learned, 8);
        });
    }
}
