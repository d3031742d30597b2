//! CRC-32 (IEEE 802.3, as in zlib and PNG): the typo checksum at the end of every secret.
//!
//! Slicing-by-8: eight bytes per step through eight tables (8 KiB, built at compile time), the
//! last few bytes in one step too. On the 26 to 37 bytes of a secret this is several times faster
//! than a byte at a time, and it runs on every request; the register after a secret's fixed
//! prefix is a compile-time constant, which saves one more step.

/// The reflected polynomial.
const POLY: u32 = 0xEDB8_8320;

/// `TABLES[0]` is the classic byte table; `TABLES[k][b]` is the CRC of `b` followed by `k` zeros.
static TABLES: [[u32; 256]; 8] = {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let previous = tables[k - 1][i];
            tables[k][i] = (previous >> 8) ^ tables[0][(previous & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
};

/// The table entry for byte `n` (counting from the least significant) of `word`.
fn entry(table: usize, word: u64, n: usize) -> u32 {
    TABLES[table][((word >> (8 * n)) & 0xFF) as usize]
}

/// The register after the bytes of a constant prefix, computed at compile time, so that
/// [`update`] need only run over the rest of a text that starts with it.
pub(crate) const fn prefix_register(prefix: &[u8]) -> u32 {
    let mut crc = !0u32;
    let mut i = 0;
    while i < prefix.len() {
        crc ^= prefix[i] as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        i += 1;
    }
    crc
}

/// The CRC-32 of the text that put the register at `crc`, followed by `bytes`.
///
/// Eight bytes per step; the last up to seven in one more step through as many tables, so that
/// the chain of dependent table lookups is as short as the length allows.
pub(crate) fn update(mut crc: u32, bytes: &[u8]) -> u32 {
    let (words, tail) = bytes.as_chunks::<8>();
    for word in words {
        let word = u64::from_le_bytes(*word) ^ u64::from(crc);
        crc = entry(7, word, 0)
            ^ entry(6, word, 1)
            ^ entry(5, word, 2)
            ^ entry(4, word, 3)
            ^ entry(3, word, 4)
            ^ entry(2, word, 5)
            ^ entry(1, word, 6)
            ^ entry(0, word, 7);
    }
    let k = tail.len();
    if k > 0 {
        let word = crate::tag::little_endian(tail) ^ u64::from(crc);
        // The register's bytes beyond the tail are not consumed by it: they shift on.
        let mut next = if k < 4 { crc >> (8 * k) } else { 0 };
        for n in 0..k {
            next ^= entry(k - 1 - n, word, n);
        }
        crc = next;
    }
    !crc
}

/// The CRC-32 of `bytes`.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    update(!0, bytes)
}

#[cfg(test)]
mod tests {
    use super::crc32;

    /// The textbook bit-at-a-time CRC-32, as the reference.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ super::POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn matches_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    proptest::proptest! {
        #[test]
        fn matches_the_bitwise_reference(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            proptest::prop_assert_eq!(crc32(&bytes), bitwise(&bytes));
        }

        #[test]
        fn a_precomputed_prefix_gives_the_same_checksum(
            prefix in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
            rest in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let whole: Vec<u8> = prefix.iter().chain(&rest).copied().collect();
            proptest::prop_assert_eq!(super::update(super::prefix_register(&prefix), &rest), bitwise(&whole));
        }
    }
}
