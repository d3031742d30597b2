//! An install's settings: declared by its manifest, filled in by administrators, secret ones
//! stored only encrypted with a key the embedding application supplies and read only by the
//! install itself.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use helpdesk_authz::Action;
use helpdesk_domain::InstallId;
use helpdesk_store::SettingValue;

use super::{Install, PluginManifest, SettingSpec, invalid};
use crate::Helpdesk;
use crate::error::Result;
use crate::principal::Principal;

/// The key the embedding application supplies to encrypt secret settings (XChaCha20-Poly1305).
/// Keep it outside the database; without it secret settings can be neither set nor read.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A key from 32 bytes (for example from the application's secret store).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    fn aad(install: InstallId, name: &str) -> Vec<u8> {
        format!("helpdesk plugin secret\0{install}\0{name}").into_bytes()
    }

    /// Encrypts a setting's value, bound to its install and name (a ciphertext moved to
    /// another install or setting does not open).
    fn seal(&self, install: InstallId, name: &str, value: &str) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|_| invalid("secret", "no randomness available"))?;
        let aad = Self::aad(install, name);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| invalid("secret", "could not be encrypted"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, install: InstallId, name: &str, blob: &[u8]) -> Result<String> {
        let wrong = || {
            invalid(
                "secret",
                format!("setting `{name}` does not open with the supplied key"),
            )
        };
        let (nonce, sealed) = blob.split_at_checked(24).ok_or_else(wrong)?;
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| wrong())?;
        let aad = Self::aad(install, name);
        let plain = self
            .cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A setting as administrators see it: secret values are never shown.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingView {
    /// Its name.
    pub name: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Its value (or default); always `None` for secrets.
    pub value: Option<String>,
    /// Whether a value is set.
    pub is_set: bool,
}

impl Helpdesk {
    /// Sets (or with `None` clears) a declared setting (`plugins.manage`). Secret settings need
    /// the application's [`SecretKey`] and are stored only encrypted.
    pub fn set_plugin_setting(
        &self,
        p: &Principal,
        id: InstallId,
        name: &str,
        value: Option<&str>,
        secrets: Option<&SecretKey>,
    ) -> Result<()> {
        let g = self.guard(p)?;
        g.allow_global(Action::PluginManage)?;
        let install = self.managed_install(&g, id)?;
        let spec = setting_spec(&install.manifest, name)?;
        let stored = match (value, spec.secret) {
            (None, _) => None,
            (Some(v), false) => Some(SettingValue::Plain(v.to_owned())),
            (Some(v), true) => {
                let key = secrets.ok_or_else(|| {
                    invalid(
                        "secret",
                        format!("setting `{name}` is secret: supply the secret key"),
                    )
                })?;
                Some(SettingValue::Secret(key.seal(id, name, v)?))
            }
        };
        self.store()
            .set_plugin_setting(self.now(), id, name, stored)
    }

    /// The declared settings of an install with their values (`plugins.manage`, or the install
    /// itself). Secret values are never returned: only whether they are set.
    pub fn plugin_settings(&self, p: &Principal, id: InstallId) -> Result<Vec<SettingView>> {
        self.guard(p)?.install_or_manager(id)?;
        let install = Install::from_record(self.install_record(id)?)?;
        let stored = self.store().plugin_settings(id)?;
        Ok(install
            .manifest
            .settings
            .iter()
            .map(|spec| {
                let value = stored.iter().find(|(n, _)| *n == spec.name).map(|(_, v)| v);
                SettingView {
                    name: spec.name.clone(),
                    secret: spec.secret,
                    value: match value {
                        Some(SettingValue::Plain(v)) if !spec.secret => Some(v.clone()),
                        None if !spec.secret => spec.default.clone(),
                        _ => None,
                    },
                    is_set: value.is_some(),
                }
            })
            .collect())
    }

    /// One setting's value for the install itself, secret ones included (decrypted with the
    /// application's key, which only the plugin host holds). Nobody else can read a secret.
    pub fn own_plugin_setting(
        &self,
        p: &Principal,
        id: InstallId,
        name: &str,
        secrets: Option<&SecretKey>,
    ) -> Result<Option<String>> {
        self.guard(p)?
            .install_itself(id, "only the install itself reads its settings this way")?;
        let install = Install::from_record(self.install_record(id)?)?;
        let spec = setting_spec(&install.manifest, name)?;
        match self.store().plugin_setting(id, name)? {
            None => Ok(spec.default.clone()),
            Some(SettingValue::Plain(v)) => Ok(Some(v)),
            Some(SettingValue::Secret(blob)) => {
                let key = secrets
                    .ok_or_else(|| invalid("secret", "the host was not given the secret key"))?;
                key.open(id, name, &blob).map(Some)
            }
        }
    }
}

/// The spec of setting `name`, which the manifest must declare.
pub(super) fn setting_spec<'m>(
    manifest: &'m PluginManifest,
    name: &str,
) -> Result<&'m SettingSpec> {
    manifest
        .settings
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            invalid(
                "settings",
                format!("the plugin declares no setting `{name}`"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_open_only_with_their_key_install_and_name() {
        let key = SecretKey::from_bytes([1; 32]);
        let id = InstallId::new(3);
        let sealed = key.seal(id, "token", "s3cr3t").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cr3t"));
        assert_eq!(key.open(id, "token", &sealed).unwrap(), "s3cr3t");
        assert!(key.open(InstallId::new(4), "token", &sealed).is_err());
        assert!(key.open(id, "other", &sealed).is_err());
        assert!(
            SecretKey::from_bytes([2; 32])
                .open(id, "token", &sealed)
                .is_err()
        );
        assert!(key.open(id, "token", &sealed[..10]).is_err());
        // A fresh nonce each time: the same value never seals the same way twice.
        assert_ne!(key.seal(id, "token", "s3cr3t").unwrap(), sealed);
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }
}
