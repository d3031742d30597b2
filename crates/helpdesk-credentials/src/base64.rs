//! Standard base64 (RFC 4648 section 4) for `Basic` credentials: a strict, allocation-free decoder.

/// The digits, in value order.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte that is not a base64 digit in [`VALUES`].
const INVALID: u8 = 0xFF;

/// The value of each byte as a base64 digit, or [`INVALID`].
const VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why base64 input was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Not canonical base64: a bad character, bad padding or stray low bits.
    Invalid,
    /// Valid so far, but the output does not fit in the buffer.
    TooLong,
}

/// Decodes `input` into `out` and returns the decoded length.
///
/// Padding is optional but, when present, must be complete; the unused low bits of the last
/// digit must be zero, so every byte string has exactly one accepted encoding.
pub(crate) fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    let body = match input {
        [rest @ .., b'=', b'='] | [rest @ .., b'='] => {
            let padding = input.len() - rest.len();
            if !input.len().is_multiple_of(4) || (rest.len() % 4 == 2) != (padding == 2) {
                return Err(DecodeError::Invalid);
            }
            rest
        }
        _ => input,
    };
    let (groups, tail) = body.as_chunks::<4>();
    let mut written = 0;
    for group in groups {
        let bytes = sextets(*group)?.to_be_bytes();
        let slot = out
            .get_mut(written..written + 3)
            .ok_or(DecodeError::TooLong)?;
        slot.copy_from_slice(&bytes[1..]);
        written += 3;
    }
    // A partial group carries 1 or 2 bytes; the bits past them must be zero.
    let (bits, len) = match *tail {
        [] => return Ok(written),
        [a, b] => (sextets([a, b, b'A', b'A'])?, 1),
        [a, b, c] => (sextets([a, b, c, b'A'])?, 2),
        _ => return Err(DecodeError::Invalid),
    };
    let bytes = bits.to_be_bytes();
    if bytes[1 + len..].iter().any(|&byte| byte != 0) {
        return Err(DecodeError::Invalid);
    }
    let slot = out
        .get_mut(written..written + len)
        .ok_or(DecodeError::TooLong)?;
    slot.copy_from_slice(&bytes[1..1 + len]);
    Ok(written + len)
}

/// Four digits as a 24-bit number.
fn sextets(group: [u8; 4]) -> Result<u32, DecodeError> {
    let [a, b, c, d] = group.map(|byte| VALUES[usize::from(byte)]);
    // Every digit is below 64, and `INVALID` has the top bits set.
    if (a | b | c | d) & 0xC0 != 0 {
        return Err(DecodeError::Invalid);
    }
    Ok((u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d))
}

/// Encodes `input` with padding.
pub(crate) fn encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: Result<&[u8], DecodeError>) {
        let mut out = [0u8; 8];
        let actual = decode(input.as_bytes(), &mut out).map(|n| &out[..n]);
        assert_eq!(actual, expected, "decoding `{input}`");
    }

    #[test]
    fn decodes() {
        check("", Ok(b""));
        check("Zg==", Ok(b"f"));
        check("Zg", Ok(b"f"));
        check("Zm8=", Ok(b"fo"));
        check("Zm8", Ok(b"fo"));
        check("Zm9v", Ok(b"foo"));
        check("Zm9vYmFy", Ok(b"foobar"));
        check("+/+/", Ok(&[0xFB, 0xFF, 0xBF]));
    }

    #[test]
    fn refuses() {
        check("Z", Err(DecodeError::Invalid));
        check("Zg=", Err(DecodeError::Invalid));
        check("Zm8==", Err(DecodeError::Invalid));
        check("Zm9v=", Err(DecodeError::Invalid));
        check("=", Err(DecodeError::Invalid));
        check("==", Err(DecodeError::Invalid));
        check("Zh==", Err(DecodeError::Invalid));
        check("Zm9-", Err(DecodeError::Invalid));
        check("Zm 9v", Err(DecodeError::Invalid));
        check("Zg==Zg==", Err(DecodeError::Invalid));
        check("Zm9vYmFyYmF6cXV4", Err(DecodeError::TooLong));
    }

    #[test]
    fn encodes() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
    }

    proptest::proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let text = encode(&bytes);
            let mut out = [0u8; 64];
            let n = decode(text.as_bytes(), &mut out).unwrap();
            proptest::prop_assert_eq!(&out[..n], &bytes[..]);
            let unpadded = text.trim_end_matches('=');
            let n = decode(unpadded.as_bytes(), &mut out).unwrap();
            proptest::prop_assert_eq!(&out[..n], &bytes[..]);
        }
    }
}
