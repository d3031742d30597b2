//! Grants: what an administrator gives a plugin at install and upgrade, never more than the
//! manifest asks for nor than the installer holds.

use helpdesk_authz::Scopes;

use super::{PluginManifest, invalid};
use crate::error::{Denied, Error, Result};
use crate::guard::Guard;

/// A plugin to install: its manifest, its component and the reviewed grant.
#[derive(Clone, Debug)]
pub struct NewInstall {
    /// The manifest.
    pub manifest: PluginManifest,
    /// The component (`wasm32-wasip2` output).
    pub wasm: Vec<u8>,
    /// The scopes the administrator grants: all or some of those requested.
    pub grant: Scopes,
    /// Initial values of non-secret settings.
    pub settings: Vec<(String, String)>,
}

impl NewInstall {
    /// An install granting everything the manifest asks for.
    pub fn granting_all(manifest: PluginManifest, wasm: Vec<u8>) -> Result<Self> {
        let grant = manifest.requested()?;
        Ok(Self {
            manifest,
            wasm,
            grant,
            settings: Vec::new(),
        })
    }
}

/// A new version of an installed plugin.
#[derive(Clone, Debug)]
pub struct Upgrade {
    /// The new manifest (same plugin id).
    pub manifest: PluginManifest,
    /// The new component.
    pub wasm: Vec<u8>,
    /// A new grant; required when the new version asks for scopes the install lacks.
    pub grant: Option<Scopes>,
}

/// Checks a grant: within what the manifest asks for (else the input is invalid) and what the
/// installer may hand out.
pub(super) fn check_grant(g: &Guard<'_>, manifest: &PluginManifest, grant: Scopes) -> Result<()> {
    let requested = manifest.requested()?;
    let beyond = grant.difference(requested);
    if !beyond.is_empty() {
        return Err(invalid(
            "grant",
            format!(
                "`{beyond}` was not requested by the plugin; a grant can only narrow the request"
            ),
        ));
    }
    g.hand_out(grant)
}

/// The grant after an upgrade: the new one given (checked like at install), or without one the
/// old grant narrowed to what the new version asks for; a version asking for more needs a new
/// grant.
pub(super) fn upgraded_grant(g: &Guard<'_>, upgrade: &Upgrade, current: Scopes) -> Result<Scopes> {
    match upgrade.grant {
        Some(grant) => {
            check_grant(g, &upgrade.manifest, grant)?;
            Ok(grant)
        }
        None => {
            let requested = upgrade.manifest.requested()?;
            if !requested.difference(current).is_empty() {
                return Err(Error::Denied(Denied::rule(
                    "the new version asks for permissions the install was not granted: review them and grant them explicitly",
                )));
            }
            Ok(requested & current)
        }
    }
}
