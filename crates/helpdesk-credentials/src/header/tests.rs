//! Tests of `Authorization` header parsing: one data-driven case per form and per way to be wrong.

use proptest::prelude::*;

use super::*;
use crate::error::SecretKind;

/// What a header is expected to parse to: the credential kind and its id.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Key(i64),
    Token(i64),
}

fn registry() -> SchemeRegistry {
    SchemeRegistry::new()
        .with_alias("DdApi", Scheme::Key)
        .unwrap()
        .with_alias("DdAccessToken", Scheme::Token)
        .unwrap()
        .with_alias("X-Basic", Scheme::Basic)
        .unwrap()
}

#[track_caller]
fn check(input: &str, expected: Result<Parsed, ParseError>) {
    check_bytes(input.as_bytes(), expected);
}

#[track_caller]
fn check_bytes(input: &[u8], expected: Result<Parsed, ParseError>) {
    let actual = registry().parse(input).map(|credential| match credential {
        Credential::Key { id, .. } => Parsed::Key(id.get()),
        Credential::Token { id, .. } => Parsed::Token(id.get()),
    });
    assert_eq!(
        actual,
        expected,
        "parsing `{}`",
        String::from_utf8_lossy(input)
    );
}

fn b64(text: &str) -> String {
    base64::encode(text.as_bytes())
}

struct Fixture {
    code: KeyCode,
    key: String,
    secret: String,
    token: AccessToken,
}

fn fixture() -> Fixture {
    let code = KeyCode::generate(KeyId::new(7)).unwrap();
    let token = AccessToken::generate(TokenId::new(99)).unwrap();
    Fixture {
        key: code.expose(),
        secret: code.secret().expose().to_owned(),
        code,
        token,
    }
}

#[test]
fn key_scheme() {
    let Fixture { key, .. } = fixture();
    check(&format!("key {key}"), Ok(Parsed::Key(7)));
    check(&format!("KEY {key}"), Ok(Parsed::Key(7)));
    check(&format!("kEy {key}"), Ok(Parsed::Key(7)));
    check(&format!("key\t{key}"), Ok(Parsed::Key(7)));
    check(&format!("key  \t {key}"), Ok(Parsed::Key(7)));
    check(&format!("  key {key} \t"), Ok(Parsed::Key(7)));
    check(&format!("key {key}\r\n"), Ok(Parsed::Key(7)));
    check(&format!("DdApi {key}"), Ok(Parsed::Key(7)));
    check(&format!("ddapi {key}"), Ok(Parsed::Key(7)));
    check(&format!("keys {key}"), Err(ParseError::UnknownScheme));
    check(
        &format!("key {key} extra"),
        Err(ParseError::WrongLength {
            kind: SecretKind::KeySecret,
        }),
    );
}

#[test]
fn basic_scheme() {
    let Fixture { key, secret, .. } = fixture();
    let encoded = b64(&key);
    check(&format!("Basic {encoded}"), Ok(Parsed::Key(7)));
    check(&format!("basic {encoded}"), Ok(Parsed::Key(7)));
    check(
        &format!("BASIC {}", encoded.trim_end_matches('=')),
        Ok(Parsed::Key(7)),
    );
    check(&format!("X-Basic {encoded}"), Ok(Parsed::Key(7)));
    check("Basic !!!!", Err(ParseError::InvalidBase64));
    check(&format!("Basic {encoded}="), Err(ParseError::InvalidBase64));
    check(
        &format!("Basic {}", &encoded[1..]),
        Err(ParseError::InvalidBase64),
    );
    check(
        &format!("Basic {}", b64(&format!("global:{secret}"))),
        Err(ParseError::InvalidKeyId),
    );
    check(
        &format!("Basic {}", b64(&format!("7{secret}"))),
        Err(ParseError::MissingColon),
    );
    check(
        &format!("Basic {}", b64(&format!("7:{secret}x"))),
        Err(ParseError::WrongLength {
            kind: SecretKind::KeySecret,
        }),
    );
    check(
        &format!("Basic {}", b64(&"7".repeat(60))),
        Err(ParseError::KeyCodeTooLong { max: 52 }),
    );
    check(
        &format!("Basic {}", b64("")),
        Err(ParseError::MissingCredentials),
    );
    check("Basic =", Err(ParseError::InvalidBase64));
}

#[test]
fn token_schemes() {
    let Fixture { key, token, .. } = fixture();
    let token = token.expose();
    check(&format!("Bearer {token}"), Ok(Parsed::Token(99)));
    check(&format!("bearer {token}"), Ok(Parsed::Token(99)));
    check(&format!("token {token}"), Ok(Parsed::Token(99)));
    check(&format!("Token\t{token}"), Ok(Parsed::Token(99)));
    check(&format!("DdAccessToken {token}"), Ok(Parsed::Token(99)));
    check(&format!("DDACCESSTOKEN {token}"), Ok(Parsed::Token(99)));
    check(
        &format!("Bearer {key}"),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::AccessToken,
        }),
    );
    check(&format!("key {token}"), Err(ParseError::MissingColon));
    check(
        &format!("Bearer {}", &token[..42]),
        Err(ParseError::WrongLength {
            kind: SecretKind::AccessToken,
        }),
    );
}

#[test]
fn malformed_headers() {
    let Fixture { key, secret, .. } = fixture();
    check("", Err(ParseError::EmptyHeader));
    check(" \t ", Err(ParseError::EmptyHeader));
    check("key", Err(ParseError::MissingCredentials));
    check("key   ", Err(ParseError::MissingCredentials));
    check("Bearer", Err(ParseError::MissingCredentials));
    check(&key, Err(ParseError::UnknownScheme));
    check(&secret, Err(ParseError::UnknownScheme));
    check(&format!("Digest {key}"), Err(ParseError::UnknownScheme));
    check(&format!("key\n{key}"), Err(ParseError::UnknownScheme));
    check(&format!(" {key}"), Err(ParseError::UnknownScheme));
    check(
        &format!("key {}", key.replace(':', "")),
        Err(ParseError::MissingColon),
    );
    check(&format!("key x:{secret}"), Err(ParseError::InvalidKeyId));
    check(&format!("key 0:{secret}"), Err(ParseError::InvalidKeyId));
    check(&format!("key -7:{secret}"), Err(ParseError::InvalidKeyId));
    check(&format!("key 07:{secret}"), Err(ParseError::InvalidKeyId));
    check(
        &format!("key 7:{}", secret.replace("hdk_", "hdx_")),
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        }),
    );
    let mut typo = secret.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    check(
        &format!("key 7:{typo}"),
        Err(ParseError::BadChecksum {
            kind: SecretKind::KeySecret,
        }),
    );
    check_bytes(
        b"key 7:\xff",
        Err(ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        }),
    );
    check_bytes(b"k\xffy 7:x", Err(ParseError::UnknownScheme));
    check_bytes(b"\xff\xfe\x00", Err(ParseError::UnknownScheme));
}

#[test]
fn length_is_capped() {
    let Fixture { key, .. } = fixture();
    check(
        &format!("key {key}{}", " ".repeat(MAX_HEADER_LEN - 4 - key.len())),
        Ok(Parsed::Key(7)),
    );
    check(
        &format!("key {key}{}", " ".repeat(MAX_HEADER_LEN - 3 - key.len())),
        Err(ParseError::HeaderTooLong { max: 512 }),
    );
    check(
        &format!("key {}", "1".repeat(MAX_HEADER_LEN - 4)),
        Err(ParseError::KeyCodeTooLong { max: 52 }),
    );
    check(
        &"a".repeat(10_000),
        Err(ParseError::HeaderTooLong { max: 512 }),
    );
}

#[test]
fn parsed_secret_is_the_one_sent() {
    let Fixture { code, token, .. } = fixture();
    for header in [format!("key {}", code.expose()), basic_authorization(&code)] {
        let Credential::Key { id, secret } = registry().parse_str(&header).unwrap() else {
            panic!("`{header}` is a key");
        };
        assert_eq!((id, &secret), (code.id(), code.secret()));
    }
    let Credential::Token { id, secret } = registry()
        .parse_str(&format!("Bearer {}", token.expose()))
        .unwrap()
    else {
        panic!("a token");
    };
    assert_eq!((id, &secret), (token.id(), &token));
}

#[test]
fn checking_in_place_borrows_the_secret_that_parsing_copies() {
    let Fixture { code, token, .. } = fixture();
    let random = |text: &str| text.as_bytes()[text.len() - 28..text.len() - 6].to_vec();
    for header in [format!("key {}", code.expose()), basic_authorization(&code)] {
        let mut scratch = Scratch::new();
        let Ok(CheckedCredential::Key { id, secret }) =
            registry().check(header.as_bytes(), &mut scratch)
        else {
            panic!("`{header}` is a key");
        };
        assert_eq!(id, code.id());
        assert_eq!(secret.expose(), code.secret().expose().as_bytes());
        assert_eq!(secret.random_part(), random(code.secret().expose()));
        assert_eq!(secret.random_part(), code.secret().random_part());
        assert_eq!(format!("{secret:?}"), "CheckedSecret([redacted])");
    }
    let header = format!("token {}", token.expose());
    let mut scratch = Scratch::new();
    let Ok(CheckedCredential::Token { id, secret }) =
        registry().check(header.as_bytes(), &mut scratch)
    else {
        panic!("a token");
    };
    assert_eq!(id, token.id());
    assert_eq!(secret.expose(), token.expose().as_bytes());
    assert_eq!(secret.random_part(), random(token.expose()));
    assert_eq!(format!("{:?}", Scratch::new()), "Scratch([redacted])");
}

#[test]
fn aliases_are_checked() {
    let invalid = |name: &str| SchemeError::InvalidName {
        name: name.to_owned(),
        max: 32,
    };
    let duplicate = |name: &str| SchemeError::Duplicate {
        name: name.to_owned(),
    };
    let add = |name: &str| {
        SchemeRegistry::new()
            .with_alias(name, Scheme::Key)
            .map(drop)
    };
    assert_eq!(add(""), Err(invalid("")));
    assert_eq!(add("Dd Api"), Err(invalid("Dd Api")));
    assert_eq!(add("Dd:Api"), Err(invalid("Dd:Api")));
    assert_eq!(add(&"a".repeat(33)), Err(invalid(&"a".repeat(33))));
    assert_eq!(add(&"a".repeat(32)), Ok(()));
    assert_eq!(add("BEARER"), Err(duplicate("BEARER")));
    assert_eq!(
        registry().with_alias("ddapi", Scheme::Token).map(drop),
        Err(duplicate("ddapi"))
    );
    assert_eq!(SchemeRegistry::default().scheme(b"DdApi"), None);
    assert_eq!(registry().scheme(b"DDAPI"), Some(Scheme::Key));
    assert_eq!(
        duplicate("BEARER").to_string(),
        "scheme `BEARER` is already registered"
    );
}

/// Every 6-character window of the secret's random part: none may show up in an error.
fn windows(secret: &str) -> Vec<&str> {
    (4..=secret.len() - 6).map(|i| &secret[i..i + 6]).collect()
}

#[test]
fn errors_never_echo_the_secret() {
    let Fixture { secret, token, .. } = fixture();
    let token = token.expose();
    let mut typo = secret.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let headers = [
        secret.clone(),
        format!("{secret} {secret}"),
        format!("key {secret}"),
        format!("key x:{secret}"),
        format!("key 7:{secret}x"),
        format!("key 7:{typo}"),
        format!("key 7:{}", &secret[1..]),
        format!("Basic {secret}"),
        format!("Basic {}", b64(&format!("global:{secret}"))),
        format!("Basic {}", b64(&format!("7:{typo}"))),
        format!("Bearer {secret}"),
        format!("Bearer {}", &token[..40]),
        format!("Bearer {token}{secret}"),
        format!("key {}", secret.repeat(20)),
    ];
    for header in &headers {
        let error = registry().parse_str(header).unwrap_err();
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ] {
            for window in windows(&secret).into_iter().chain(windows(token)) {
                assert!(
                    !shown.contains(window),
                    "`{shown}` echoes part of the secret"
                );
            }
            assert!(!shown.is_empty());
        }
    }
}

#[test]
fn error_messages_are_lowercase_without_period() {
    let errors = [
        ParseError::EmptyHeader,
        ParseError::HeaderTooLong { max: 512 },
        ParseError::UnknownScheme,
        ParseError::MissingCredentials,
        ParseError::InvalidBase64,
        ParseError::KeyCodeTooLong { max: 52 },
        ParseError::MissingColon,
        ParseError::InvalidKeyId,
        ParseError::WrongPrefix {
            kind: SecretKind::KeySecret,
        },
        ParseError::WrongLength {
            kind: SecretKind::AccessToken,
        },
        ParseError::InvalidCharacter {
            kind: SecretKind::KeySecret,
        },
        ParseError::BadChecksum {
            kind: SecretKind::AccessToken,
        },
        ParseError::InvalidTokenId,
    ];
    for error in errors {
        let message = error.to_string();
        assert!(
            message.starts_with(|c: char| c.is_ascii_lowercase()),
            "{message}"
        );
        assert!(!message.ends_with('.'), "{message}");
    }
    assert_eq!(
        ParseError::WrongPrefix {
            kind: SecretKind::KeySecret
        }
        .to_string(),
        "key secret does not start with `hdk_`"
    );
    assert_eq!(
        ParseError::WrongLength {
            kind: SecretKind::AccessToken
        }
        .to_string(),
        "access token is not 43 characters long"
    );
}

#[test]
fn credential_debug_is_redacted() {
    let Fixture { code, token, .. } = fixture();
    let key = registry()
        .parse_str(&format!("key {}", code.expose()))
        .unwrap();
    let token_credential = registry()
        .parse_str(&format!("token {}", token.expose()))
        .unwrap();
    let shown = format!("{key:?} {token_credential:?}");
    for window in windows(code.secret().expose())
        .into_iter()
        .chain(windows(token.expose()))
    {
        assert!(!shown.contains(window), "{shown}");
    }
    assert!(
        shown.contains("key#7") && shown.contains("token#99"),
        "{shown}"
    );
}

/// A scheme name in any case mix.
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, up)| {
                if up {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

fn whitespace() -> impl Strategy<Value = String> {
    "[ \t]{0,3}"
}

proptest! {
    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = registry().parse(&bytes);
    }

    #[test]
    fn never_panics_on_plausible_headers(
        scheme in "(key|Basic|Bearer|token|DdApi|x)",
        space in "[ \t]{0,2}",
        rest in "[0-9A-Za-z_:+/= \t-]{0,80}",
    ) {
        let _ = registry().parse_str(&format!("{scheme}{space}{rest}"));
    }

    #[test]
    fn keys_round_trip(
        id in 1..=i64::MAX,
        scheme in prop_oneof![any_case("key"), any_case("ddapi")],
        before in whitespace(),
        after in whitespace(),
    ) {
        let code = KeyCode::generate(KeyId::new(id)).unwrap();
        let header = format!("{before}{scheme} {after}{}{before}", code.expose());
        prop_assert_eq!(
            registry().parse_str(&header).unwrap(),
            Credential::Key { id: code.id(), secret: code.secret().clone() }
        );
        prop_assert_eq!(
            registry().parse_str(&basic_authorization(&code)).unwrap(),
            Credential::Key { id: code.id(), secret: code.secret().clone() }
        );
    }

    #[test]
    fn tokens_round_trip(
        id in 1..=i64::MAX,
        scheme in prop_oneof![any_case("bearer"), any_case("token"), any_case("ddaccesstoken")],
        after in whitespace(),
    ) {
        let token = AccessToken::generate(TokenId::new(id)).unwrap();
        let header = format!("{scheme} {after}{}", token.expose());
        prop_assert_eq!(
            registry().parse_str(&header).unwrap(),
            Credential::Token { id: token.id(), secret: token }
        );
    }
}
