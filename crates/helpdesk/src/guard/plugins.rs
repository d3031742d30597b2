//! Plugins: what installs reach of their own, who changes them, the rights of a new app
//! identity, and the principals installs and widgets act as.

use super::*;

impl Guard<'_> {
    /// Whether the principal acts for install `id` (its own principal, or a widget principal of
    /// it).
    pub(crate) fn acts_for(&self, id: InstallId) -> bool {
        self.p.install() == Some(id)
    }

    /// The install itself, or someone with `plugins.manage`.
    pub(crate) fn install_or_manager(&self, id: InstallId) -> Result<()> {
        if self.acts_for(id) {
            Ok(())
        } else {
            self.allow_global(Action::PluginManage)
        }
    }

    /// The install itself, and nobody else (its settings' values, its key-value store).
    pub(crate) fn install_itself(&self, id: InstallId, reason: &'static str) -> Result<()> {
        if self.acts_for(id) {
            Ok(())
        } else {
            Err(rule(reason))
        }
    }

    /// Changing install `install` (`plugins.manage` checked by the caller): nobody changes an
    /// install they could not have made: a non-administrator only one whose app identity is no
    /// administrator and whose grant it holds.
    pub(crate) fn change_install(&self, install: &InstallRecord, granted: Scopes) -> Result<()> {
        if self.is_admin() {
            return Ok(());
        }
        // The identity's flag as stored: a disabled install's identity is inactive, which the
        // policy's `is_admin` does not count.
        let identity_is_admin = self.helpdesk.store().agent(install.app_agent)?.admin;
        if identity_is_admin || !granted.is_subset(self.holds()) {
            return Err(rule(
                "only an administrator may change an install made with rights beyond the caller's",
            ));
        }
        Ok(())
    }

    /// The rights a new install's app identity gets: the installer's own (an administrator's, or
    /// a non-administrator's roles and department levels); its grant narrows them further.
    pub(crate) fn app_identity_rights(&self) -> Result<AppIdentityRights> {
        match self.p.actor() {
            Actor::System => Ok(AppIdentityRights::admin()),
            Actor::Agent(id) if self.policy.is_admin(id) => Ok(AppIdentityRights::admin()),
            Actor::Agent(id) => {
                let agent = self.helpdesk.store().agent(id)?;
                Ok(AppIdentityRights {
                    admin: false,
                    roles: agent.roles,
                    memberships: agent
                        .departments
                        .iter()
                        .map(|m| (m.department, m.level))
                        .collect(),
                })
            }
            Actor::Requester(_) => Err(rule("requesters cannot install plugins")),
        }
    }

    /// The principal of a widget rendering for this (viewer) principal: the viewer's rights
    /// narrowed by the install's grant and key, so the widget reads only what both may read.
    /// Changes made with it are recorded as the viewer's, through the install.
    pub(crate) fn widget_principal(&self, install: &Principal) -> Result<Principal> {
        let viewer = self.p;
        let Some(plugin) = install.subject.plugin else {
            return Err(rule("the plugin install is not enabled"));
        };
        let mut subject = viewer.subject;
        let scopes = subject
            .plugin
            .map_or(plugin.scopes, |r| r.scopes & plugin.scopes);
        subject.plugin = None;
        subject = subject.with_plugin(plugin.id, scopes);
        let mut held = viewer.held;
        if let Some(key) = install.subject.key {
            subject.key = Some(match subject.key {
                Some(own) => Restriction {
                    id: own.id,
                    scopes: own.scopes & key.scopes,
                },
                None => {
                    held = install.held;
                    key
                }
            });
        }
        Ok(Principal { subject, held })
    }
}

/// The principal an install acts as: its app identity, narrowed by its grant and by its own
/// key (whose `snap` is given; a disabled, expired or deleted key stops the install), attributed
/// to the identity, the key and the install.
pub(crate) fn install_principal(
    install: &InstallRecord,
    granted: Scopes,
    key: Option<(KeyId, &KeySnap)>,
    tables: u64,
    now: Timestamp,
) -> Result<Principal> {
    let mut subject = Subject::agent(install.app_agent).with_plugin(install.id, granted);
    let mut held = Held::default();
    match key {
        None if !granted.is_empty() => {
            return Err(rule(
                "the plugin install has no key: upgrade or reinstall it",
            ));
        }
        None => {}
        Some((_, snap)) if !snap.enabled => {
            return Err(rule("the plugin install's key is disabled"));
        }
        Some((_, snap)) if snap.expired(now) => {
            return Err(rule("the plugin install's key has expired"));
        }
        Some((id, snap)) => {
            subject = subject.with_key(id, snap.scopes);
            held = Held {
                revision: snap.revision,
                tables,
                until: Held::until(snap.expires_at, None),
            };
        }
    }
    Ok(Principal { subject, held })
}

/// The rights of a new app identity (see [`Guard::app_identity_rights`]).
#[derive(Debug)]
pub(crate) struct AppIdentityRights {
    pub(crate) admin: bool,
    pub(crate) roles: Vec<helpdesk_domain::RoleId>,
    pub(crate) memberships: Vec<(helpdesk_domain::DepartmentId, helpdesk_domain::AccessLevel)>,
}

impl AppIdentityRights {
    fn admin() -> Self {
        Self {
            admin: true,
            roles: Vec::new(),
            memberships: Vec::new(),
        }
    }
}
