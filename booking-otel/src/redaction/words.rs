//! Reading strings eight bytes at a time: the scanner looks at every exported string and
//! key, so it works on `u64` words instead of single bytes.
//!
//! A string is read as its little-endian words, the last one zero-padded. Every load is
//! a fixed-size one (no `memcpy` call for the tail): a short tail is assembled from two
//! overlapping loads.

/// Calls `f` with each 8-byte word of `bytes`, the last one zero-padded.
#[inline]
pub(super) fn for_each_word(bytes: &[u8], mut f: impl FnMut(u64)) {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        f(u64::from_le_bytes(to_array(chunk)));
    }
    if !chunks.remainder().is_empty() {
        f(last_word(bytes));
    }
}

/// The zero-padded word holding the last `bytes.len() % 8` bytes (`bytes.len() % 8 != 0`).
#[inline]
fn last_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let rest = n % 8;
    if n >= 8 {
        // The last eight bytes, shifted so that only the unread `rest` remain.
        u64::from_le_bytes(to_array(&bytes[n - 8..])) >> (8 * (8 - rest))
    } else {
        short_word(bytes)
    }
}

/// `bytes` (fewer than 8) as a zero-padded little-endian word, from at most two
/// overlapping loads: bytes read twice land on themselves.
#[inline]
fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if n >= 4 {
        let low = u32::from_le_bytes(to_array(&bytes[..4]));
        let high = u32::from_le_bytes(to_array(&bytes[n - 4..]));
        u64::from(low) | u64::from(high) << (8 * (n - 4))
    } else if n >= 2 {
        let low = u16::from_le_bytes(to_array(&bytes[..2]));
        let high = u16::from_le_bytes(to_array(&bytes[n - 2..]));
        u64::from(low) | u64::from(high) << (8 * (n - 2))
    } else {
        bytes.first().map_or(0, |&b| u64::from(b))
    }
}

#[inline]
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().unwrap_or([0; N])
}

const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// What a string holds that a secret needs: its number of ASCII digits, and whether it
/// has an `@`.
#[inline(always)]
pub(super) fn digits_and_at(bytes: &[u8]) -> (usize, bool) {
    let n = bytes.len();
    if n <= 16 {
        // Most attribute values: one or two words, no loop.
        let (first, second) = two_words(bytes);
        let lanes = digit_lanes(first) + digit_lanes(second);
        return (sum_lanes(lanes), has_at_word(first) | has_at_word(second));
    }
    if n <= 32 {
        // Messages and type names: four words, no loop.
        let first = u64::from_le_bytes(to_array(&bytes[..8]));
        let second = u64::from_le_bytes(to_array(&bytes[8..16]));
        let (third, fourth) = two_words(&bytes[16..]);
        let lanes =
            digit_lanes(first) + digit_lanes(second) + digit_lanes(third) + digit_lanes(fourth);
        let at = has_at_word(first) | has_at_word(second) | has_at_word(third);
        return (sum_lanes(lanes), at | has_at_word(fourth));
    }
    long_digits_and_at(bytes)
}

/// Whether `bytes` holds an `@`.
#[inline(always)]
pub(super) fn has_at(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n <= 16 {
        let (first, second) = two_words(bytes);
        return has_at_word(first) | has_at_word(second);
    }
    long_digits_and_at(bytes).1
}

/// `bytes` (at most 16) as two zero-padded words.
#[inline(always)]
fn two_words(bytes: &[u8]) -> (u64, u64) {
    let n = bytes.len();
    if n > 8 {
        let last = u64::from_le_bytes(to_array(&bytes[n - 8..]));
        (
            u64::from_le_bytes(to_array(&bytes[..8])),
            last >> (8 * (16 - n)),
        )
    } else if n == 8 {
        (u64::from_le_bytes(to_array(bytes)), 0)
    } else {
        (short_word(bytes), 0)
    }
}

/// [`digits_and_at`] for strings longer than 32 bytes: 16 bytes a step, the same
/// two-word code as the short path.
#[inline(never)]
fn long_digits_and_at(bytes: &[u8]) -> (usize, bool) {
    let mut digits = 0;
    let mut at = false;
    for block in bytes.chunks(MAX_BLOCK) {
        let mut lanes = 0_u64;
        let mut pairs = block.chunks_exact(16);
        for pair in &mut pairs {
            let first = u64::from_le_bytes(to_array(&pair[..8]));
            let second = u64::from_le_bytes(to_array(&pair[8..]));
            lanes += digit_lanes(first) + digit_lanes(second);
            at |= has_at_word(first) | has_at_word(second);
        }
        if !pairs.remainder().is_empty() {
            let (first, second) = two_words(pairs.remainder());
            lanes += digit_lanes(first) + digit_lanes(second);
            at |= has_at_word(first) | has_at_word(second);
        }
        digits += sum_lanes(lanes);
    }
    (digits, at)
}

/// The longest block whose digits one lane counter holds: each 16-byte step adds at
/// most 2 to a lane, and a lane holds 255.
const MAX_BLOCK: usize = 127 * 16 + 8;

const LOW7: u64 = splat(0x7f);
const HIGH: u64 = splat(0x80);

/// 1 in each byte lane of `word` that holds an ASCII digit, else 0. Digits are counted
/// per lane and the lanes summed once: cheaper than a popcount per word, which baseline
/// x86-64 lacks.
#[inline(always)]
fn digit_lanes(word: u64) -> u64 {
    let low = word & LOW7;
    // The high bit of each byte: >= b'0', not > b'9', and ASCII (no carries out of a
    // byte: low < 0x80). Padding bytes (zero) are not digits.
    let at_least_zero = low + splat(0x80 - b'0');
    let above_nine = low + splat(0x7f - b'9');
    (at_least_zero & !above_nine & !word & HIGH) >> 7
}

/// Whether any byte of `word` is `@`: a byte equal to b'@' becomes zero after the xor,
/// and the lowest zero byte always sets its high bit here.
#[inline(always)]
fn has_at_word(word: u64) -> bool {
    let x = word ^ splat(b'@');
    (x.wrapping_sub(splat(1)) & !x & HIGH) != 0
}

/// The sum of the eight byte lanes of `lanes`.
#[inline]
fn sum_lanes(lanes: u64) -> usize {
    // Pairs of lanes first (four 16-bit sums, each below 512), then one multiplication
    // gathers the four in the top 16 bits.
    const EVEN: u64 = 0x00ff_00ff_00ff_00ff;
    let pairs = (lanes & EVEN) + ((lanes >> 8) & EVEN);
    (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(bytes: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        for_each_word(bytes, |w| out.push(w));
        out
    }

    #[test]
    fn words_are_the_bytes_zero_padded() {
        let text: Vec<u8> = (1..=40).collect();
        for n in 0..=text.len() {
            let bytes = &text[..n];
            let expected: Vec<u64> = bytes
                .chunks(8)
                .map(|chunk| {
                    let mut word = [0; 8];
                    word[..chunk.len()].copy_from_slice(chunk);
                    u64::from_le_bytes(word)
                })
                .collect();
            assert_eq!(words(bytes), expected, "length {n}");
        }
    }

    #[test]
    fn long_strings_are_counted_in_blocks() {
        for n in [MAX_BLOCK - 1, MAX_BLOCK, MAX_BLOCK + 1, 3 * MAX_BLOCK + 5] {
            let digits = "9".repeat(n);
            assert_eq!(digits_and_at(digits.as_bytes()), (n, false));
            let mixed: String = (0..n).map(|i| if i % 2 == 0 { '5' } else { 'a' }).collect();
            assert_eq!(digits_and_at(mixed.as_bytes()), (n.div_ceil(2), false));
        }
    }

    #[test]
    fn digits_and_at_counts_every_byte_position() {
        assert_eq!(digits_and_at(b""), (0, false));
        assert_eq!(digits_and_at(b"0123456789"), (10, false));
        assert_eq!(digits_and_at(b"/:09@\x7f\x80\xff"), (2, true));
        let text = "éa1b2c3d4e5f6g7h8i9j0@".as_bytes();
        assert_eq!(digits_and_at(text), (10, true));
        for n in 0..40 {
            let s: String = (0..n).map(|i| if i % 3 == 0 { '7' } else { 'x' }).collect();
            let expected = s.bytes().filter(u8::is_ascii_digit).count();
            assert_eq!(digits_and_at(s.as_bytes()), (expected, false), "{s}");
            for at in 0..n {
                let mut with_at = s.clone().into_bytes();
                with_at[at] = b'@';
                let expected = with_at.iter().filter(|b| b.is_ascii_digit()).count();
                assert_eq!(digits_and_at(&with_at), (expected, true), "{s} @{at}");
            }
        }
    }

    #[test]
    fn has_at_finds_an_at_sign_at_every_position_and_length() {
        for n in 0..48 {
            let text = "x".repeat(n);
            assert!(!has_at(text.as_bytes()), "{n}");
            for at in 0..n {
                let mut bytes = text.clone().into_bytes();
                bytes[at] = b'@';
                assert!(has_at(&bytes), "{n} @{at}");
            }
        }
    }
}
