//! Installing, upgrading, enabling, disabling and uninstalling plugins, each with its key and app
//! identity in the same transaction.

use super::*;

impl Store {
    /// Installs a plugin in one transaction: the wasm (content-addressed), the install, its app
    /// identity, its settings, its outbox consumer (starting now), history and an event.
    pub fn install_plugin(
        &self,
        at: Timestamp,
        by: &Attribution,
        new: NewInstallRecord,
    ) -> helpdesk_domain::Result<(InstallRecord, Option<KeyRecord>)> {
        if new.granted.is_empty() != new.key.is_none() {
            return Err(install_key_rule().into());
        }
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO plugin_wasm (hash, bytes, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![new.wasm_hash, new.wasm, at.as_millis()])?;
            let (bk, bi, _, _, _) = attribution_params(by);
            tx.prepare_cached(
                "INSERT INTO plugin_installs (plugin_id, version, manifest, wasm_hash, granted, state,
                     installed_by_kind, installed_by_id, installed_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?8)",
            )?
            .execute(params![
                new.plugin_id,
                new.version,
                to_json(&new.manifest)?,
                new.wasm_hash,
                scopes_text(new.granted),
                bk,
                bi,
                at.as_millis()
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Failure::from(Error::Duplicate {
                        entity: Entity::Install,
                        field: "plugin id",
                        value: new.plugin_id.clone(),
                    })
                } else {
                    e.into()
                }
            })?;
            let id = InstallId::new(tx.last_insert_rowid());
            // The app identity: an agent-like account nobody signs in as (its address is in
            // the reserved `.invalid` domain), shown as the app in history.
            let email = format!("app-{id}@plugins.invalid");
            tx.prepare_cached(
                "INSERT INTO agents (name, email, email_norm, active, admin, created_at, updated_at, app_install)
                 VALUES (?1, ?2, ?2, 1, ?3, ?4, ?4, ?5)",
            )?
            .execute(params![
                new.app_agent.name,
                email,
                new.app_agent.admin,
                at.as_millis(),
                id.get()
            ])?;
            let agent = AgentId::new(tx.last_insert_rowid());
            for role in &new.app_agent.roles {
                tx.prepare_cached("INSERT INTO agent_roles (agent_id, role_id) VALUES (?1, ?2)")?
                    .execute(params![agent.get(), role.get()])?;
            }
            for (department, level) in &new.app_agent.memberships {
                tx.prepare_cached(
                    "INSERT INTO department_members (department_id, agent_id, level) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![department.get(), agent.get(), level.code()])?;
            }
            tx.prepare_cached("UPDATE plugin_installs SET app_agent_id = ?2 WHERE id = ?1")?
                .execute(params![id.get(), agent.get()])?;
            let key = match &new.key {
                Some(key) => Some(self.issue_install_key(tx, at, by, id, agent, new.granted, key)?),
                None => None,
            };
            for (name, value) in &new.settings {
                put_setting(tx, at, id, name, Some(value))?;
            }
            let head: i64 = tx.query_row(
                "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
                [],
                |r| r.get(0),
            )?;
            let queue = consumer_name(id);
            delete_consumer(tx, ConsumerOwner::Core, &queue)?;
            insert_consumer(tx, ConsumerOwner::Core, &queue, head, at)?;
            record(tx, at, by, HistorySubject::Agent(agent), &Change::Created)?;
            self.event(
                tx,
                at,
                by,
                EventKind::PluginInstalled,
                json!({ "install": id, "plugin": new.plugin_id, "version": new.version,
                        "agent": agent, "granted": scope_names(new.granted) }),
            )?;
            Ok((load_install(tx, id)?, key))
        })
    }

    /// Creates the key of install `id` and binds it to the install.
    #[expect(
        clippy::too_many_arguments,
        reason = "one transaction's worth of context"
    )]
    fn issue_install_key(
        &self,
        tx: &Connection,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        agent: AgentId,
        granted: Scopes,
        key: &InstallKey,
    ) -> Result<KeyRecord> {
        let record = self.insert_key(
            tx,
            at,
            by,
            NewKeyRecord {
                description: format!("plugin install {id}: {}", key.label),
                kind: KeyKind::Agent { agent },
                admin_functions: false,
                scopes: granted,
                expires_at: None,
                networks: Vec::new(),
                secret_hash: key.secret_hash.clone(),
            },
        )?;
        tx.prepare_cached("UPDATE plugin_installs SET key_id = ?2 WHERE id = ?1")?
            .execute(params![id.get(), record.id.get()])?;
        Ok(record)
    }

    /// One install.
    pub fn install(&self, id: InstallId) -> helpdesk_domain::Result<InstallRecord> {
        self.read(|tx| load_install(tx, id))
    }

    /// Every install, by id.
    pub fn installs(&self) -> helpdesk_domain::Result<Vec<InstallRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {INSTALL_COLUMNS} FROM plugin_installs ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([], read_install)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The wasm with this hash.
    pub fn plugin_wasm(&self, hash: &str) -> helpdesk_domain::Result<Vec<u8>> {
        self.read(|tx| {
            tx.prepare_cached("SELECT bytes FROM plugin_wasm WHERE hash = ?1")?
                .query_row([hash], |r| r.get(0))
                .optional()?
                .ok_or_else(|| not_found(Entity::Install, hash))
        })
    }

    /// Enables or disables an install; enabling clears the failure count. The app identity is
    /// active exactly while the install is enabled.
    pub fn set_install_state(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        state: InstallStateRecord,
    ) -> helpdesk_domain::Result<InstallRecord> {
        self.write(|tx| {
            let before = load_install(tx, id)?;
            if before.state == state {
                return Ok(before);
            }
            let (code, reason) = state_params(&state);
            tx.prepare_cached(
                "UPDATE plugin_installs SET state = ?2, state_reason = ?3, updated_at = ?4,
                     consecutive_failures = CASE WHEN ?2 = 0 THEN 0 ELSE consecutive_failures END
                 WHERE id = ?1",
            )?
            .execute(params![id.get(), code, reason, at.as_millis()])?;
            let enabled = state == InstallStateRecord::Enabled;
            let was_enabled = before.state == InstallStateRecord::Enabled;
            if enabled != was_enabled {
                tx.prepare_cached("UPDATE agents SET active = ?2, updated_at = ?3 WHERE id = ?1")?
                    .execute(params![before.app_agent.get(), enabled, at.as_millis()])?;
                record(
                    tx,
                    at,
                    by,
                    HistorySubject::Agent(before.app_agent),
                    &Change::Set {
                        field: HistoryField::Active,
                        old: HistoryValue::Bool(was_enabled),
                        new: HistoryValue::Bool(enabled),
                    },
                )?;
            }
            let change = match &state {
                InstallStateRecord::Enabled => "enabled",
                InstallStateRecord::Disabled => "disabled",
                InstallStateRecord::AutoDisabled(_) => "auto_disabled",
            };
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUpdated,
                json!({ "install": id, "plugin": before.plugin_id, "change": change, "reason": reason }),
            )?;
            load_install(tx, id)
        })
    }

    /// Replaces an install's version, manifest, wasm and grant.
    pub fn upgrade_install(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
        upgrade: &UpgradeRecord,
    ) -> helpdesk_domain::Result<(InstallRecord, InstallKeyChange)> {
        let UpgradeRecord {
            version,
            manifest,
            wasm,
            wasm_hash,
            granted,
            new_key,
        } = upgrade;
        let (version, granted) = (version.as_str(), *granted);
        self.write(|tx| {
            let before = load_install(tx, id)?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO plugin_wasm (hash, bytes, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![wasm_hash, wasm, at.as_millis()])?;
            tx.prepare_cached(
                "UPDATE plugin_installs SET version = ?2, manifest = ?3, wasm_hash = ?4, granted = ?5,
                     updated_at = ?6 WHERE id = ?1",
            )?
            .execute(params![
                id.get(),
                version,
                to_json(manifest)?,
                wasm_hash,
                scopes_text(granted),
                at.as_millis()
            ])?;
            let subject = HistorySubject::Agent(before.app_agent);
            if before.version != version {
                record(
                    tx,
                    at,
                    by,
                    subject,
                    &Change::Set {
                        field: HistoryField::Custom("plugin.version".to_owned()),
                        old: HistoryValue::Text(before.version.clone()),
                        new: HistoryValue::Text(version.to_owned()),
                    },
                )?;
            }
            if before.granted != granted {
                record(
                    tx,
                    at,
                    by,
                    subject,
                    &Change::Set {
                        field: HistoryField::Permissions,
                        old: names(before.granted),
                        new: names(granted),
                    },
                )?;
            }
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUpdated,
                json!({ "install": id, "plugin": before.plugin_id, "change": "upgraded",
                        "from": before.version, "to": version, "granted": scope_names(granted) }),
            )?;
            self.drop_unused_wasm(tx)?;
            // The install's key follows its grant: same scopes, none for an empty grant (and an
            // install left without its key gets one).
            let key = match (before.key, granted.is_empty(), new_key) {
                (None, false, Some(new_key)) => InstallKeyChange::Written(self.issue_install_key(
                    tx,
                    at,
                    by,
                    id,
                    before.app_agent,
                    granted,
                    new_key,
                )?),
                (None, false, None) => return Err(install_key_rule()),
                _ if before.granted == granted => InstallKeyChange::Unchanged,
                (Some(key), false, _) => {
                    let update = KeyRecordUpdate {
                        scopes: Some(granted),
                        ..KeyRecordUpdate::default()
                    };
                    InstallKeyChange::Written(self.change_key(tx, at, by, key, update)?)
                }
                (Some(key), true, _) => {
                    tx.prepare_cached("UPDATE plugin_installs SET key_id = NULL WHERE id = ?1")?
                        .execute([id.get()])?;
                    self.remove_key(tx, at, by, key)?;
                    InstallKeyChange::Deleted(key)
                }
                (None, _, _) => InstallKeyChange::Unchanged,
            };
            Ok((load_install(tx, id)?, key))
        })
    }

    fn drop_unused_wasm(&self, conn: &Connection) -> Result<()> {
        conn.prepare_cached(
            "DELETE FROM plugin_wasm WHERE hash NOT IN (SELECT wasm_hash FROM plugin_installs)",
        )?
        .execute([])?;
        Ok(())
    }

    /// Removes an install with its settings, data, delivery state, outbox consumer and API key;
    /// its app identity is deactivated (history keeps referring to it).
    pub fn uninstall_plugin(
        &self,
        at: Timestamp,
        by: &Attribution,
        id: InstallId,
    ) -> helpdesk_domain::Result<InstallKeyChange> {
        self.write(|tx| {
            let before = load_install(tx, id)?;
            for table in [
                "plugin_settings",
                "plugin_kv",
                "plugin_deliveries",
                "plugin_dead_letters",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE install_id = ?1"),
                    [id.get()],
                )?;
            }
            tx.execute("DELETE FROM plugin_installs WHERE id = ?1", [id.get()])?;
            let key = match before.key {
                Some(key) => {
                    self.remove_key(tx, at, by, key)?;
                    InstallKeyChange::Deleted(key)
                }
                None => InstallKeyChange::Unchanged,
            };
            delete_consumer(tx, ConsumerOwner::Core, &consumer_name(id))?;
            tx.execute(
                "UPDATE agents SET active = 0, updated_at = ?2 WHERE id = ?1",
                params![before.app_agent.get(), at.as_millis()],
            )?;
            tx.execute(
                "DELETE FROM department_members WHERE agent_id = ?1",
                [before.app_agent.get()],
            )?;
            record(
                tx,
                at,
                by,
                HistorySubject::Agent(before.app_agent),
                &Change::Deleted,
            )?;
            self.event(
                tx,
                at,
                by,
                EventKind::PluginUninstalled,
                json!({ "install": id, "plugin": before.plugin_id }),
            )?;
            self.drop_unused_wasm(tx)?;
            prune_acknowledged(tx)?;
            Ok(key)
        })
    }
}
