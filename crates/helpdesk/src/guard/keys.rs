//! Keys and tokens: administering keys, which keys a principal reaches, issuing secrets,
//! binding keys to agents, revoking and minting tokens.

use super::*;

impl Guard<'_> {
    /// `action` (`keys.manage` or `keys.logs`) through the engine, so a key's scopes apply, and
    /// through a key only with a superuser key that has admin functions; never through a token.
    pub(crate) fn key_admin(&self, action: Action) -> Result<()> {
        self.allow_global(action)?;
        if self.p.subject.token.is_some() {
            return Err(rule("access tokens cannot administer keys"));
        }
        if let Some(key) = self.p.key() {
            let admin = self
                .helpdesk
                .inner
                .keys
                .key(key)
                .is_some_and(|snap| snap.kind.is_superuser() && snap.admin_functions);
            if !admin {
                return Err(rule(
                    "only superuser keys with admin functions may administer keys or read their logs",
                ));
            }
        }
        Ok(())
    }

    /// Whether the principal could have issued a key of `kind`, and so may see and change it:
    /// administrators any key, other agents their own agent keys.
    pub(crate) fn could_issue(&self, kind: KeyKind) -> bool {
        match self.p.actor() {
            Actor::Agent(agent) if kind == KeyKind::Agent { agent } => true,
            _ => self.is_admin(),
        }
    }

    /// A key the principal may administer (after [`key_admin`](Self::key_admin)); any other
    /// reads exactly like a missing one.
    pub(crate) fn key(&self, key: &KeyRecord) -> Result<()> {
        if self.could_issue(key.kind) {
            Ok(())
        } else {
            Err(not_found(Entity::Key, key.id))
        }
    }

    /// Looks up key `id` for administration: missing and out-of-reach keys read alike.
    pub(crate) fn administered_key(&self, id: KeyId) -> Result<KeyRecord> {
        let key = self.helpdesk.store().key(id)?;
        self.key(&key)?;
        Ok(key)
    }

    /// Changing (updating, regenerating, enabling, deleting) `key`: a plugin install's key
    /// changes only with its install (its secret is held by nobody, and must stay so).
    pub(crate) fn change_key(&self, key: &KeyRecord) -> Result<()> {
        if let KeyKind::Agent { agent } = key.kind
            && self.is_app_identity(agent)
        {
            return Err(rule(
                "this key belongs to a plugin install: it changes only with its install",
            ));
        }
        Ok(())
    }

    /// Issuing a key of `kind` (after [`key_admin`](Self::key_admin)): receiving a secret that
    /// acts as someone needs an administrator, unless it is the issuer's own agent key; and no
    /// secret ever acts as a plugin's app identity.
    pub(crate) fn issue(&self, kind: KeyKind) -> Result<()> {
        if !self.could_issue(kind) {
            return Err(rule(
                "only an administrator may issue the secret of a superuser key or of another agent's key",
            ));
        }
        match kind {
            KeyKind::Agent { agent } => self.bind(agent),
            KeyKind::Superuser { default_agent } => default_agent.map_or(Ok(()), |a| self.bind(a)),
        }
    }

    /// A key may act as `agent` (bound to it, or as its default agent): it exists and is not an
    /// app identity.
    pub(crate) fn bind(&self, agent: AgentId) -> Result<()> {
        match self.policy.may_sign_in(agent) {
            Err(helpdesk_authz::DenyReason::UnknownAgent { .. }) => {
                Err(not_found(Entity::Agent, agent))
            }
            Err(reason @ helpdesk_authz::DenyReason::AppIdentity { .. }) => Err(Error::Denied(
                crate::error::engine_denied(reason, self.policy.clone()),
            )),
            // A disabled agent may be bound; requests refuse it while it stays disabled.
            _ => Ok(()),
        }
    }

    fn is_app_identity(&self, agent: AgentId) -> bool {
        matches!(
            self.policy.may_sign_in(agent),
            Err(helpdesk_authz::DenyReason::AppIdentity { .. })
        )
    }

    /// Revoking `token`: a token may revoke itself (a portal sign-out) and a key its own
    /// tokens; otherwise key administration of its key. A token out of reach reads exactly like
    /// a missing one.
    pub(crate) fn revoke_token(&self, token: &TokenRecord) -> Result<()> {
        let (own_token, own_key) = (self.p.token(), self.p.key());
        let own =
            own_token == Some(token.id) || (own_token.is_none() && own_key == Some(token.key));
        if own {
            return Ok(());
        }
        let hidden = || not_found(Entity::Token, token.id);
        self.key_admin(Action::KeyManage).map_err(|_| hidden())?;
        let key = self.helpdesk.store().key(token.key).map_err(|_| hidden())?;
        self.key(&key).map_err(|_| hidden())
    }

    /// Minting a token with the principal's own key (never with a token): returns that key.
    pub(crate) fn minting_key(&self) -> Result<KeyId> {
        if self.p.subject.token.is_some() {
            return Err(rule("an access token cannot mint access tokens"));
        }
        self.p.key().ok_or_else(|| {
            rule("access tokens are minted with an api key, or by the application's system handle")
        })
    }
}

/// Whether key `kind` may mint an access token for `person`: an agent key for its own agent
/// only, a superuser key for anyone (whom the token may then act as).
pub(crate) fn key_mints_for(kind: KeyKind, person: ActAs) -> Result<()> {
    match kind {
        KeyKind::Agent { agent } if person != ActAs::Agent(agent) => Err(rule(
            "an agent key mints access tokens for its own agent only",
        )),
        _ => Ok(()),
    }
}
