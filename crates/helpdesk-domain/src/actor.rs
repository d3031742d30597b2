//! Who did something: the acting person and the credential they used, as recorded in history and events.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, InstallId, KeyId, RequesterId, TokenId};

/// The person (or the embedding application itself) an operation is performed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// The embedding application acting through its system handle.
    System,
    /// An agent, or an app identity (an agent-like account of a plugin install).
    Agent(AgentId),
    /// A requester (end user).
    Requester(RequesterId),
}

/// Everything recorded about who performed a change: the actor and the credentials in play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attribution {
    /// The person the change was made as.
    pub actor: Actor,
    /// The API key used, if the request came through one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyId>,
    /// The access token used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenId>,
    /// The plugin install that made the change, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallId>,
}

impl Attribution {
    /// An attribution to `actor` with no credential involved.
    pub const fn direct(actor: Actor) -> Self {
        Self {
            actor,
            key: None,
            token: None,
            install: None,
        }
    }
}
