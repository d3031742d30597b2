//! Plugin installs, kept as data behind the same permission checks as everything else: the
//! manifest (`manifest`), the reviewed grant (`grants`), installs and their app identities and
//! keys (`lifecycle`), settings, secret ones encrypted with a key the embedding application
//! supplies (`settings`), each install's key-value store (`kv`), and event delivery state: queue,
//! retries with backoff, dead letters, replay, automatic disabling (`delivery`). The plugin host
//! (`helpdesk-plugin-host`) runs installs through this API; the core never runs plugin code.

mod delivery;
mod grants;
mod kv;
mod lifecycle;
mod manifest;
mod settings;

pub(crate) use delivery::DeliveryNumbers;
pub use delivery::{DeadLetter, Delivery, DeliveryOutcome, DeliveryPolicy};
pub use grants::{NewInstall, Upgrade};
use grants::{check_grant, upgraded_grant};
pub use lifecycle::{Install, InstallState, wasm_hash};
pub use manifest::{PluginLimits, PluginManifest, SettingSpec, WidgetLocation};
use settings::setting_spec;
pub use settings::{SecretKey, SettingView};

use helpdesk_domain::ValidationError;

use crate::error::Error;

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::Malformed {
        field,
        reason: reason.into(),
    })
}
