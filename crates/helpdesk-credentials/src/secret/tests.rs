//! Tests of the secret formats: generation, round trips, and each way a code can be wrong.

use super::*;

/// `unsigned` followed by its base62 CRC-32, as a generator would write it.
fn sealed(unsigned: &str) -> String {
    let mut checksum = [0u8; CHECKSUM_LEN];
    base62::encode(u128::from(crc32::crc32(unsigned.as_bytes())), &mut checksum);
    format!("{unsigned}{}", std::str::from_utf8(&checksum).unwrap())
}

const RANDOM: &str = "0123456789ABCDEFGHIJKL";

#[track_caller]
fn check_key_code(input: &str, expected: Result<i64, ParseError>) {
    let actual = KeyCode::parse(input.as_bytes()).map(|code| code.id().get());
    assert_eq!(actual, expected, "parsing key code `{input}`");
}

#[track_caller]
fn check_token(input: &str, expected: Result<i64, ParseError>) {
    let actual = AccessToken::parse(input.as_bytes()).map(|token| token.id().get());
    assert_eq!(actual, expected, "parsing token `{input}`");
}

#[test]
fn generated_key_secret_has_the_format() {
    let secret = KeySecret::generate().unwrap();
    let text = secret.expose();
    assert_eq!(text.len(), KeySecret::LEN);
    assert!(text.starts_with("hdk_"));
    assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(KeySecret::parse(text.as_bytes()).unwrap(), secret);
    assert_ne!(
        KeySecret::generate().unwrap(),
        secret,
        "two secrets must differ"
    );
}

#[test]
fn key_code_round_trips() {
    for id in [1, 42, i64::MAX] {
        let code = KeyCode::generate(KeyId::new(id)).unwrap();
        let text = code.expose();
        assert!(text.starts_with(&format!("{id}:hdk_")));
        assert_eq!(KeyCode::parse(text.as_bytes()).unwrap(), code);
    }
    assert_eq!(
        KeyCode::MAX_LEN,
        KeyCode::generate(KeyId::new(i64::MAX))
            .unwrap()
            .expose()
            .len()
    );
}

#[test]
fn key_code_needs_a_positive_id() {
    for id in [0, -1, i64::MIN] {
        assert_eq!(
            KeyCode::generate(KeyId::new(id)),
            Err(GenerateError::NonPositiveId(id))
        );
    }
}

#[test]
fn key_codes() {
    let secret = sealed(&format!("hdk_{RANDOM}"));
    check_key_code(&format!("7:{secret}"), Ok(7));
    check_key_code(&format!("9223372036854775807:{secret}"), Ok(i64::MAX));
    check_key_code(
        &format!("9223372036854775808:{secret}"),
        Err(ParseError::InvalidKeyId),
    );
    check_key_code(
        &format!("99999999999999999999:{secret}"),
        Err(ParseError::KeyCodeTooLong { max: 52 }),
    );
    check_key_code(&format!("0:{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!("007:{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!("-7:{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!("+7:{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!("x:{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!(":{secret}"), Err(ParseError::InvalidKeyId));
    check_key_code(&format!("7{secret}"), Err(ParseError::MissingColon));
    check_key_code("", Err(ParseError::MissingColon));
    check_key_code(
        "7:",
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        }),
    );
    check_key_code(
        &format!("7:{secret}:"),
        Err(ParseError::WrongLength {
            kind: SecretKind::KeySecret,
        }),
    );
    check_key_code(
        &format!("7::{secret}"),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        }),
    );
    check_key_code(
        &format!("7: {secret}"),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        }),
    );
}

#[test]
fn key_secrets() {
    let kind = SecretKind::KeySecret;
    let check = |input: &str, expected: Result<(), ParseError>| {
        assert_eq!(
            KeySecret::parse(input.as_bytes()).map(drop),
            expected,
            "parsing `{input}`"
        );
    };
    let good = sealed(&format!("hdk_{RANDOM}"));
    check(&good, Ok(()));
    check(
        &good.replace("hdk_", "HDK_"),
        Err(ParseError::WrongPrefix { kind }),
    );
    check(
        &sealed(&format!("hdt_{RANDOM}")),
        Err(ParseError::WrongPrefix { kind }),
    );
    check(&good[..31], Err(ParseError::WrongLength { kind }));
    check(&format!("{good}0"), Err(ParseError::WrongLength { kind }));
    check(
        &sealed(&format!("hdk_{}-", &RANDOM[..21])),
        Err(ParseError::InvalidCharacter { kind }),
    );
    check(
        &sealed(&format!("hdk_{}é", &RANDOM[..20])),
        Err(ParseError::InvalidCharacter { kind }),
    );
    check(
        &good.replace("hdk_0", "hdk_1"),
        Err(ParseError::BadChecksum { kind }),
    );
}

#[test]
fn every_single_character_typo_is_refused() {
    let secret = KeySecret::generate().unwrap();
    let text = secret.expose().as_bytes().to_vec();
    for i in 4..text.len() {
        for replacement in [b'0', b'a', b'Z'] {
            if text[i] == replacement {
                continue;
            }
            let mut typo = text.clone();
            typo[i] = replacement;
            assert_eq!(
                KeySecret::parse(&typo),
                Err(ParseError::BadChecksum {
                    kind: SecretKind::KeySecret
                })
            );
        }
    }
    let mut swapped = text.clone();
    swapped.swap(10, 11);
    if swapped != text {
        assert!(KeySecret::parse(&swapped).is_err());
    }
}

#[test]
fn tokens_round_trip() {
    for id in [1, 1_000, i64::MAX] {
        let token = AccessToken::generate(TokenId::new(id)).unwrap();
        let text = token.expose();
        assert_eq!(text.len(), AccessToken::LEN);
        assert!(text.starts_with("hdt_"));
        let parsed = AccessToken::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.id(), TokenId::new(id));
        assert_eq!(parsed, token);
    }
    for id in [0, -5] {
        assert_eq!(
            AccessToken::generate(TokenId::new(id)),
            Err(GenerateError::NonPositiveId(id))
        );
    }
}

#[test]
fn tokens() {
    let kind = SecretKind::AccessToken;
    check_token(&sealed(&format!("hdt_0000000000G{RANDOM}")), Ok(16));
    check_token(
        &sealed(&format!("hdt_00000000000{RANDOM}")),
        Err(ParseError::InvalidTokenId),
    );
    // 2^63 and 2^64: past `i64::MAX`, and past `u64::MAX`.
    check_token(
        &sealed(&format!("hdt_AzL8n0Y58m8{RANDOM}")),
        Err(ParseError::InvalidTokenId),
    );
    check_token(
        &sealed(&format!("hdt_zzzzzzzzzzz{RANDOM}")),
        Err(ParseError::InvalidTokenId),
    );
    check_token(
        &sealed(&format!("hdk_0000000000G{RANDOM}")),
        Err(ParseError::WrongPrefix { kind }),
    );
    check_token(
        &sealed(&format!("hdk_{RANDOM}")),
        Err(ParseError::WrongPrefix { kind }),
    );
    check_token(
        &sealed(&format!("hdt_{RANDOM}")),
        Err(ParseError::WrongLength { kind }),
    );
    check_token(
        &sealed(&format!("hdt_0000000000+{RANDOM}")),
        Err(ParseError::InvalidCharacter { kind }),
    );
    let good = sealed(&format!("hdt_0000000000G{RANDOM}"));
    check_token(
        &good.replace("0G", "0H"),
        Err(ParseError::BadChecksum { kind }),
    );
    check_token("", Err(ParseError::WrongPrefix { kind }));
}

#[test]
fn key_secret_is_not_a_token_and_back() {
    let key = KeySecret::generate().unwrap();
    let token = AccessToken::generate(TokenId::new(3)).unwrap();
    assert_eq!(
        AccessToken::parse(key.expose().as_bytes()),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::AccessToken
        })
    );
    assert_eq!(
        KeySecret::parse(token.expose().as_bytes()),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret
        })
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let code = KeyCode::generate(KeyId::new(12)).unwrap();
    let token = AccessToken::generate(TokenId::new(34)).unwrap();
    let shown = format!("{code:?} {:?} {token:?} {token:#?}", code.secret());
    assert!(!shown.contains(code.secret().expose()), "{shown}");
    assert!(!shown.contains(&code.secret().expose()[4..]), "{shown}");
    assert!(!shown.contains(&token.expose()[4..]), "{shown}");
    assert!(shown.contains("[redacted]"));
    assert!(
        shown.contains("key#12") && shown.contains("token#34"),
        "{shown}"
    );
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
        let _ = KeyCode::parse(&bytes);
        let _ = KeySecret::parse(&bytes);
        let _ = AccessToken::parse(&bytes);
    }

    #[test]
    fn token_ids_round_trip(id in 1..=i64::MAX) {
        let token = AccessToken::generate(TokenId::new(id)).unwrap();
        proptest::prop_assert_eq!(AccessToken::parse(token.expose().as_bytes()).unwrap().id(), TokenId::new(id));
    }

    #[test]
    fn key_codes_round_trip(id in 1..=i64::MAX) {
        let code = KeyCode::generate(KeyId::new(id)).unwrap();
        proptest::prop_assert_eq!(KeyCode::parse(code.expose().as_bytes()).unwrap(), code);
    }
}
