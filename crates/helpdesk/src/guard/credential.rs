//! A held principal's credential, and the rules of the authentication hot path, decided from a
//! thread's copy of the tables.

use super::*;

/// [`Helpdesk::decide`]'s answer from this thread's copy of the tables, in nanoseconds: the
/// engine's decision for a principal whose credential still holds.
#[inline]
pub(crate) fn decide(
    local: &Local,
    p: &Principal,
    action: Action,
    resource: &Resource,
    clock: &dyn helpdesk_domain::Clock,
) -> std::result::Result<(), Denied> {
    if !credential_holds(local, p, clock) {
        return Err(Denied::rule(
            "the key or access token of this principal was changed, revoked or has expired",
        ));
    }
    match local.policy.decide(&p.subject, action, resource) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => Err(crate::error::engine_denied(reason, local.policy.clone())),
    }
}

/// Who a request through key `key` of `kind` acts as, given the person it names: an agent key
/// its own agent only; a superuser key the person named, else its default agent.
#[inline]
pub(crate) fn key_person(
    key: KeyId,
    kind: KeyKind,
    act_as: Option<ActAs>,
) -> std::result::Result<ActAs, AuthError> {
    match (kind, act_as) {
        (KeyKind::Agent { agent }, None) => Ok(ActAs::Agent(agent)),
        (KeyKind::Agent { agent }, Some(ActAs::Agent(named))) if named == agent => {
            Ok(ActAs::Agent(agent))
        }
        (KeyKind::Agent { .. }, Some(person)) => Err(AuthError::ActAsNotAllowed { key, person }),
        (KeyKind::Superuser { .. }, Some(person)) => Ok(person),
        (
            KeyKind::Superuser {
                default_agent: Some(agent),
            },
            None,
        ) => Ok(ActAs::Agent(agent)),
        (
            KeyKind::Superuser {
                default_agent: None,
            },
            None,
        ) => Err(AuthError::NoAgentToActAs { key }),
    }
}

/// A request with access token `token` acts as the person it was minted for, and no other.
#[inline]
pub(crate) fn token_person(
    token: TokenId,
    own: ActAs,
    act_as: Option<ActAs>,
) -> std::result::Result<(), AuthError> {
    match act_as {
        Some(person) if person != own => Err(AuthError::TokenCannotActAs { token, person }),
        _ => Ok(()),
    }
}

/// Whether a request may act as `agent` by `policy`: it exists, is active (so disabling an
/// agent takes effect at once) and is not a plugin's app identity.
#[inline]
pub(crate) fn request_may_act_as(
    policy: &Policy,
    agent: AgentId,
) -> std::result::Result<(), AuthError> {
    match policy.may_sign_in(agent) {
        Ok(()) => Ok(()),
        Err(DenyReason::AgentDisabled { .. }) => Err(AuthError::AgentDisabled { agent }),
        Err(DenyReason::AppIdentity { .. }) => Err(AuthError::AppIdentity { agent }),
        Err(_) => Err(AuthError::UnknownPerson {
            person: ActAs::Agent(agent),
        }),
    }
}

/// Whether the key (and token) `p` came through still grant what they granted when `p` was
/// made: while the tables have not moved since, they do (only expiry is left to check);
/// otherwise the key must be in the table under the same revision and enabled, and the token
/// live. Principals without a key always hold.
#[inline]
pub(crate) fn credential_holds(
    local: &Local,
    p: &Principal,
    clock: &dyn helpdesk_domain::Clock,
) -> bool {
    // The common case in one comparison each: the tables have not moved, nothing expires.
    (local.keys_version == p.held.tables && p.held.until == i64::MAX)
        || credential_checked(local, p, clock)
}

/// [`credential_holds`] once the tables moved or the credential expires: the key in the
/// tables, and the clock.
#[inline(never)]
fn credential_checked(local: &Local, p: &Principal, clock: &dyn helpdesk_domain::Clock) -> bool {
    let Some(key) = p.subject.key else {
        return true;
    };
    if local.keys_version != p.held.tables && !credential_in_tables(local, p, key.id) {
        return false;
    }
    p.held.until == i64::MAX || {
        let at = Timestamp::from_millis(p.held.until);
        clock
            .recent()
            .before(at)
            .unwrap_or_else(|| clock.now() < at)
    }
}

/// Whether the key (and token) of `p` are in the tables as they were when `p` was made.
fn credential_in_tables(local: &Local, p: &Principal, key: KeyId) -> bool {
    let Some(snap) = local.keys.get(&key).map(|entry| &*entry.snap) else {
        return false;
    };
    let token_live = p.subject.token.is_none_or(|token| {
        local
            .tokens
            .get(&token.id)
            .is_some_and(|t| t.key == key && t.key_generation == snap.generation)
    });
    snap.revision == p.held.revision && snap.enabled && token_live
}
