//! Fixed-width base62 (`0-9A-Za-z`) for the random part, the checksum and the token id of secrets.

/// The digits, in value order.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Marks a byte that is not a base62 digit in [`VALUES`].
const INVALID: u8 = 0xFF;

/// The value of each byte as a base62 digit, or [`INVALID`].
const VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Writes `value` as exactly `out.len()` digits, most significant first.
///
/// Digits that do not fit are dropped: callers size `out` so that every value they pass fits.
pub(crate) fn encode(mut value: u128, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
}

/// Reads digits, most significant first; `None` on a non-digit or a value above `u64::MAX`.
pub(crate) fn decode_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &byte| {
        let digit = VALUES[usize::from(byte)];
        if digit == INVALID {
            return None;
        }
        acc.checked_mul(62)?.checked_add(u64::from(digit))
    })
}

/// Whether every byte is a base62 digit. Branch-free: digit values are below 64, and
/// [`INVALID`] has the top bit set.
pub(crate) fn is_base62(bytes: &[u8]) -> bool {
    let seen = bytes
        .iter()
        .fold(0u8, |seen, &byte| seen | VALUES[usize::from(byte)]);
    seen & 0x80 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: u128, width: usize) -> String {
        let mut out = vec![0; width];
        encode(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_fixed_width() {
        assert_eq!(encoded(0, 4), "0000");
        assert_eq!(encoded(61, 2), "0z");
        assert_eq!(encoded(62, 2), "10");
        assert_eq!(encoded(u128::MAX, 22), "7n42DGM5Tflk9n8mt7Fhc7");
    }

    #[test]
    fn decodes_and_refuses() {
        assert_eq!(decode_u64(b"10"), Some(62));
        assert_eq!(decode_u64(b""), Some(0));
        assert_eq!(decode_u64(b"1-"), None);
        assert_eq!(decode_u64(b"LygHa16AHYF"), Some(u64::MAX));
        assert_eq!(decode_u64(b"LygHa16AHYG"), None);
        assert!(is_base62(b"azAZ09"));
        assert!(!is_base62(b"a_b"));
        assert!(!is_base62("é".as_bytes()));
    }

    proptest::proptest! {
        #[test]
        fn round_trips(value: u64) {
            let mut out = [0; 11];
            encode(u128::from(value), &mut out);
            proptest::prop_assert_eq!(decode_u64(&out), Some(value));
        }
    }
}
