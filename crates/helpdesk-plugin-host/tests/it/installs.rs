//! Install, upgrade, disable, uninstall, API versions and the compiled-component cache.

use helpdesk::{Error, NewInstall, PluginManifest, Scopes, Upgrade};
use helpdesk_plugin_host::{HostError, PluginHost};

use crate::support::{Env, config, guest};

fn manifest(name: &str) -> PluginManifest {
    PluginManifest::from_toml(&guest(name).manifest).unwrap()
}

#[test]
fn plugins_for_another_api_version_are_refused() {
    let env = Env::new();
    let g = guest("auto-triage");
    // The manifest says so.
    let mut m = manifest("auto-triage");
    m.api_version = "0.2.0".into();
    let err = env
        .host
        .install(
            &env.root,
            NewInstall::granting_all(m, g.wasm.clone()).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, HostError::UnsupportedApi { .. }), "{err}");
    assert!(
        err.to_string().contains("`0.2.0` is not supported"),
        "{err}"
    );
    // The component says so (its exports name `helpdesk:plugin/app@9.1.0`).
    let mut wasm = g.wasm.clone();
    for from in [
        &b"helpdesk:plugin/app@0.1.0"[..],
        &b"helpdesk:plugin/widget@0.1.0"[..],
    ] {
        let to: Vec<u8> = from
            .iter()
            .map(|&b| if b == b'0' { b'9' } else { b })
            .collect();
        let mut i = 0;
        while let Some(at) = wasm[i..].windows(from.len()).position(|w| w == from) {
            wasm[i + at..i + at + from.len()].copy_from_slice(&to);
            i += at + from.len();
        }
    }
    let err = env
        .host
        .install(
            &env.root,
            NewInstall::granting_all(manifest("auto-triage"), wasm).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, HostError::UnsupportedApi { .. }), "{err}");
    // Not a component at all.
    let err = env
        .host
        .install(
            &env.root,
            NewInstall::granting_all(manifest("auto-triage"), b"\0asm junk".to_vec()).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, HostError::NotAPlugin { .. }), "{err}");
    assert!(env.f.desk.plugins(&env.root).unwrap().is_empty());
}

#[test]
fn manifests_are_checked() {
    let base = guest("probe").manifest;
    let check = |edit: &dyn Fn(&str) -> String, says: &str| {
        let err = PluginManifest::from_toml(&edit(&base)).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    };
    check(
        &|m| m.replace("id = \"probe\"", "id = \"Probe!\""),
        "must be 1 to 64",
    );
    check(
        &|m| m.replace("\"agents.read\"", "\"agents.teleport\""),
        "agents.teleport",
    );
    check(
        &|m| m.replace("\"message.added\"", "\"message.exploded\""),
        "not an event kind",
    );
    check(
        &|m| m.replace("\"events.read\", ", ""),
        "must ask for `events.read`",
    );
    check(&|m| format!("{m}\nunknown = 1\n"), "unknown");
    check(
        &|m| m.replace("kv-bytes = 65536", "kv-bytes = 65536\nmemory-mib = 9999"),
        "memory-mib",
    );
}

#[test]
fn an_upgrade_asking_for_more_needs_a_new_grant() {
    let env = Env::new();
    let app = env.install("auto-triage", None, &[]);
    env.ticket("Charged twice");
    assert_eq!(env.host.deliver().unwrap().delivered, 1);
    let key = app.key.expect("an install with a grant has a key");
    let logged = env.f.desk.key_log(&env.root, key).unwrap().len();
    assert!(logged > 0, "the app's host calls are in its key's log");
    let mut m = manifest("auto-triage");
    m.version = "2.0.0".into();
    m.permissions.push("tickets.note".into());
    let upgrade = |grant: Option<&[&str]>| Upgrade {
        manifest: m.clone(),
        wasm: guest("auto-triage").wasm,
        grant: grant.map(|g| Scopes::parse(g.iter().copied()).unwrap()),
    };
    let err = env
        .host
        .upgrade(&env.root, app.id, upgrade(None))
        .unwrap_err();
    assert!(err.to_string().contains("grant them explicitly"), "{err}");
    let up = env
        .host
        .upgrade(
            &env.root,
            app.id,
            upgrade(Some(&[
                "events.read",
                "tickets.read",
                "tickets.update",
                "tickets.note",
            ])),
        )
        .unwrap();
    assert_eq!(up.manifest.version, "2.0.0");
    assert!(up.granted.contains(helpdesk::Action::TicketNote));
    assert!(env.host.running().contains(&app.id));
    assert_eq!(up.key, Some(key), "the install keeps its key");
    assert_eq!(env.f.desk.key(&env.root, key).unwrap().scopes, up.granted);
    assert_eq!(
        env.f.desk.key_log(&env.root, key).unwrap().len(),
        logged,
        "and the key's log"
    );
    let narrowed = env
        .host
        .upgrade(
            &env.root,
            app.id,
            upgrade(Some(&["events.read", "tickets.read"])),
        )
        .unwrap();
    assert_eq!(narrowed.key, Some(key));
    assert_eq!(
        env.f.desk.key(&env.root, key).unwrap().scopes,
        narrowed.granted
    );
}

#[test]
fn disabled_apps_wait_and_uninstalled_apps_leave_nothing_behind() {
    let env = Env::new();
    let app = env.install("ledger", None, &[]);
    env.f
        .desk
        .set_plugin_setting(
            &env.root,
            app.id,
            "api-token",
            Some("t"),
            Some(&crate::support::secret_key()),
        )
        .unwrap();
    env.f.desk.disable_plugin(&env.root, app.id).unwrap();
    env.ticket("While disabled");
    assert_eq!(env.host.deliver().unwrap().delivered, 0);
    assert!(env.host.running().is_empty());
    env.f.desk.enable_plugin(&env.root, app.id).unwrap();
    assert_eq!(env.host.deliver().unwrap().delivered, 1, "the event waited");
    assert_eq!(env.kv(app.id, "total").as_deref(), Some("1"));

    env.f.desk.uninstall_plugin(&env.root, app.id).unwrap();
    env.host.sync().unwrap();
    assert!(env.host.running().is_empty());
    assert!(matches!(
        env.f.desk.plugin(&env.root, app.id),
        Err(Error::NotFound { .. })
    ));
    assert!(env.f.system.install_principal(app.id).is_err());
    assert!(!env.f.desk.agent(&env.root, app.app_agent).unwrap().active);
    assert!(
        matches!(
            env.f.desk.key(&env.root, app.key.unwrap()),
            Err(Error::NotFound { .. })
        ),
        "its key went with it"
    );
    assert!(env.f.desk.consumers(&env.root).unwrap().is_empty());
    // Installing again starts from a clean slate.
    let again = env.install("ledger", None, &[]);
    assert_ne!(again.id, app.id);
    assert_eq!(env.kv(again.id, "total"), None);
}

#[test]
fn a_restart_loads_compiled_plugins_from_the_cache_after_checking_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.cache_dir = Some(dir.path().to_owned());
    let env = Env::with(cfg.clone());
    env.install("auto-triage", None, &[]);
    env.install("ticket-info", None, &[]);
    // A second host over the same helpdesk: nothing compiled, both loaded from disk.
    let again = PluginHost::new(&env.f.system, cfg.clone()).unwrap();
    assert_eq!(again.running().len(), 2);
    let stats = again.cache_stats();
    assert_eq!(
        (stats.compiled, stats.loaded, stats.rejected),
        (0, 2, 0),
        "{stats:?}"
    );
    // A tampered entry is refused and recompiled; so is one written under another key.
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&entries[0], bytes).unwrap();
    cfg.cache_key = Some([1; 32]);
    let third = PluginHost::new(&env.f.system, cfg).unwrap();
    let stats = third.cache_stats();
    assert_eq!((stats.compiled, stats.rejected), (2, 2), "{stats:?}");
    assert_eq!(third.running().len(), 2);
}

#[test]
fn an_app_identity_cannot_sign_in_as_an_agent() {
    let env = Env::new();
    let install = env.install("auto-triage", None, &[]);
    let err = env.f.system.agent(install.app_agent).unwrap_err();
    assert!(err.to_string().contains("app identity"), "{err}");
}
