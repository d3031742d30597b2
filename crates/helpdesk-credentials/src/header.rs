//! `Authorization` header parsing: the scheme (built in or an application alias), then the key code
//! or access token, into a [`Credential`], without allocating and without panicking on any input.
//!
//! Accepted forms (scheme names ignore case; spaces and tabs around the value and after the
//! scheme are skipped):
//!
//! | scheme | credentials |
//! | --- | --- |
//! | `key` | `<id>:<secret>` |
//! | `Basic` | base64 of `<id>:<secret>`: the user name is the key id, the password the secret |
//! | `Bearer`, `token` | an access token |

use helpdesk_domain::{KeyId, TokenId};

use crate::base64::{self, DecodeError};
use crate::error::{ParseError, SchemeError};
use crate::secret::{AccessToken, CheckedSecret, KEY_CODE_MAX_LEN, KeyCode, KeySecret};

/// The longest `Authorization` header value parsed; longer ones are refused unread.
pub const MAX_HEADER_LEN: usize = 512;

/// The longest scheme alias accepted.
const MAX_SCHEME_NAME_LEN: usize = 32;

/// What a scheme carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// A key code in clear, `<id>:<secret>` (built in as `key`).
    Key,
    /// A key code as HTTP Basic credentials, base64 of `<id>:<secret>` (built in as `Basic`).
    Basic,
    /// An access token (built in as `Bearer` and `token`).
    Token,
}

/// The credential an `Authorization` header carries, checked for format but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API key code.
    Key {
        /// The key's id: the part before the colon.
        id: KeyId,
        /// The key's secret, to verify against the stored hash.
        secret: KeySecret,
    },
    /// An access token.
    Token {
        /// The token's id, read from inside the token.
        id: TokenId,
        /// The whole token, to verify against the stored hash.
        secret: AccessToken,
    },
}

/// A credential checked for format, borrowing its secret from the header (or, for `Basic`, from
/// the [`Scratch`] it was decoded into): what the hot path works with, so that it never copies a
/// secret. [`Credential`] is the owned form.
#[derive(Clone, Copy, Debug)]
pub enum CheckedCredential<'a> {
    /// An API key code.
    Key {
        /// The key's id.
        id: KeyId,
        /// The key's secret.
        secret: CheckedSecret<'a>,
    },
    /// An access token.
    Token {
        /// The token's id, read from inside the token.
        id: TokenId,
        /// The whole token.
        secret: CheckedSecret<'a>,
    },
}

/// Room to decode a `Basic` credential into; zeroed on drop once used (best effort).
pub struct Scratch {
    bytes: [u8; KEY_CODE_MAX_LEN],
    used: bool,
}

impl Scratch {
    /// Empty room.
    pub const fn new() -> Self {
        Self {
            bytes: [0; KEY_CODE_MAX_LEN],
            used: false,
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.used {
            self.bytes.fill(0);
            std::hint::black_box(&mut self.bytes);
        }
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch([redacted])")
    }
}

/// The `Authorization` schemes an application accepts: the built-in ones and its aliases.
///
/// Built once at start-up (for example `DdApi` → [`Scheme::Key`] and `DdAccessToken` →
/// [`Scheme::Token`] for DeskDirector-style clients), then shared by every request.
///
/// ```
/// use helpdesk_credentials::{Credential, KeyCode, Scheme, SchemeRegistry};
/// use helpdesk_domain::KeyId;
///
/// let schemes = SchemeRegistry::new().with_alias("DdApi", Scheme::Key)?;
/// let code = KeyCode::generate(KeyId::new(7))?;
/// let header = format!("ddapi {}", code.expose());
/// let Ok(Credential::Key { id, secret }) = schemes.parse(header.as_bytes()) else {
///     panic!("a generated key code parses");
/// };
/// assert_eq!((id, &secret), (code.id(), code.secret()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SchemeRegistry {
    schemes: Vec<(Box<str>, Scheme)>,
}

impl SchemeRegistry {
    /// The built-in schemes: `key`, `Basic`, `Bearer` and `token`.
    pub fn new() -> Self {
        let built_in = [
            ("key", Scheme::Key),
            ("Basic", Scheme::Basic),
            ("Bearer", Scheme::Token),
            ("token", Scheme::Token),
        ];
        Self {
            schemes: built_in
                .into_iter()
                .map(|(name, scheme)| (name.into(), scheme))
                .collect(),
        }
    }

    /// Adds `name` as another name for `scheme`.
    ///
    /// The name must be an HTTP token (RFC 9110) of at most 32 characters that is not already
    /// registered, ignoring case.
    pub fn with_alias(mut self, name: &str, scheme: Scheme) -> Result<Self, SchemeError> {
        let is_token_char =
            |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte);
        if name.is_empty() || name.len() > MAX_SCHEME_NAME_LEN || !name.bytes().all(is_token_char) {
            return Err(SchemeError::InvalidName {
                name: name.to_owned(),
                max: MAX_SCHEME_NAME_LEN,
            });
        }
        if self.scheme(name.as_bytes()).is_some() {
            return Err(SchemeError::Duplicate {
                name: name.to_owned(),
            });
        }
        self.schemes.push((name.into(), scheme));
        Ok(self)
    }

    /// The scheme registered under `name`, ignoring case.
    pub fn scheme(&self, name: &[u8]) -> Option<Scheme> {
        self.schemes
            .iter()
            .find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, scheme)| *scheme)
    }

    /// Parses an `Authorization` header value.
    ///
    /// Checks the format and the checksum only; the secret still has to be verified. Never
    /// allocates, never panics, and no error carries any part of the input.
    pub fn parse(&self, header: &[u8]) -> Result<Credential, ParseError> {
        let mut scratch = Scratch::new();
        Ok(match self.check(header, &mut scratch)? {
            CheckedCredential::Key { id, secret } => Credential::Key {
                id,
                secret: KeySecret::copy_of(secret)?,
            },
            CheckedCredential::Token { id, secret } => Credential::Token {
                id,
                secret: AccessToken::copy_of(id, secret)?,
            },
        })
    }

    /// Checks an `Authorization` header value as [`parse`](Self::parse) does, without copying
    /// the secret: it is borrowed from `header`, or from `scratch` for `Basic`.
    pub fn check<'a>(
        &self,
        header: &'a [u8],
        scratch: &'a mut Scratch,
    ) -> Result<CheckedCredential<'a>, ParseError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(ParseError::HeaderTooLong {
                max: MAX_HEADER_LEN,
            });
        }
        let header = header.trim_ascii();
        if header.is_empty() {
            return Err(ParseError::EmptyHeader);
        }
        let (name, credentials) = match header.iter().position(|&b| b == b' ' || b == b'\t') {
            Some(at) => {
                let (name, rest) = header.split_at(at);
                (name, rest.get(1..).unwrap_or_default().trim_ascii_start())
            }
            None => (header, &[][..]),
        };
        let scheme = self.scheme(name).ok_or(ParseError::UnknownScheme)?;
        if credentials.is_empty() {
            return Err(ParseError::MissingCredentials);
        }
        let (id, secret) = match scheme {
            Scheme::Key => KeyCode::check(credentials)?,
            Scheme::Basic => {
                scratch.used = true;
                let len = match base64::decode(credentials, &mut scratch.bytes) {
                    Ok(len) => len,
                    Err(DecodeError::Invalid) => return Err(ParseError::InvalidBase64),
                    Err(DecodeError::TooLong) => {
                        return Err(ParseError::KeyCodeTooLong {
                            max: KEY_CODE_MAX_LEN,
                        });
                    }
                };
                let scratch: &'a Scratch = scratch;
                KeyCode::check(scratch.bytes.get(..len).unwrap_or_default())?
            }
            Scheme::Token => {
                let (id, secret) = AccessToken::check(credentials)?;
                return Ok(CheckedCredential::Token { id, secret });
            }
        };
        Ok(CheckedCredential::Key { id, secret })
    }

    /// Parses an `Authorization` header value given as text; see [`parse`](Self::parse).
    pub fn parse_str(&self, header: &str) -> Result<Credential, ParseError> {
        self.parse(header.as_bytes())
    }
}

impl Default for SchemeRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The `Authorization` header value a client sends for `code` with HTTP Basic:
/// `Basic ` + base64 of `<id>:<secret>`. The result contains the secret.
pub fn basic_authorization(code: &KeyCode) -> String {
    format!("Basic {}", base64::encode(code.expose().as_bytes()))
}

#[cfg(test)]
mod tests;
