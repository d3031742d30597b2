//! Misbehaving plugins are contained: each bad call ends with a clear error, the instance is
//! discarded, and the same plugin (a call after a trap) and every other plugin keep working.

use helpdesk::WidgetLocation;
use helpdesk_plugin_host::{Fault, HostError};

use crate::support::Env;

fn fault_of(result: Result<String, HostError>) -> (Fault, String) {
    match result {
        Err(HostError::Call(e)) => {
            assert_eq!(e.plugin, "misbehave");
            (e.fault, e.to_string())
        }
        other => panic!("expected a contained failure, got {other:?}"),
    }
}

#[test]
fn every_misbehaviour_is_contained_with_a_clear_error() {
    let env = Env::new();
    let bad = env.install("misbehave", None, &[]);
    let good = env.install("probe", None, &[("render", "clock.now")]);
    let admin = env.f.system.agent(env.f.admin.id).unwrap();
    let act = |mode: &str| {
        env.host.action(
            bad.id,
            WidgetLocation::AgentDashboard,
            &admin,
            None,
            mode,
            "",
        )
    };
    let check = |mode: &str, faults: &[Fault], says: &str| {
        let (fault, message) = fault_of(act(mode));
        assert!(faults.contains(&fault), "{mode}: {fault:?}: {message}");
        assert!(message.contains(says), "{mode}: {message}");
        // The well-behaved plugin is unaffected, and so is the next call of the bad one.
        let w = env
            .host
            .render(good.id, WidgetLocation::AgentDashboard, &admin, None)
            .unwrap();
        assert_eq!(w.title, "Probe");
        assert_eq!(act("ok").unwrap(), "fine", "a call after `{mode}` works");
    };
    check(
        "loop",
        &[Fault::CpuLimit, Fault::Timeout],
        "plugin `misbehave`",
    );
    check(
        "grow",
        &[Fault::MemoryLimit],
        "exceeded its memory limit: its cap is 16 MiB",
    );
    check("recurse", &[Fault::StackOverflow], "overflowed its stack");
    check("panic", &[Fault::Panic], "panicked on purpose");
    check("oversize", &[Fault::OversizedOutput], "at most 16384 bytes");
    check("oversize-error", &[Fault::Returned], "…");
    // No filesystem, environment or network: the guest's own calls fail.
    check("fs", &[Fault::Returned], "no filesystem");
    check("env", &[Fault::Returned], "no environment");
    check("net", &[Fault::Returned], "no network");
}

#[test]
fn oversized_widget_trees_are_refused() {
    let env = Env::new();
    let bad = env.install("misbehave", None, &[]);
    let admin = env.f.system.agent(env.f.admin.id).unwrap();
    let err = env
        .host
        .render(
            bad.id,
            WidgetLocation::AgentDashboard,
            &admin,
            Some(helpdesk::TicketId::new(-1)),
        )
        .unwrap_err();
    let HostError::Call(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.fault, Fault::OversizedOutput);
    assert!(e.detail.contains("at most 200 nodes"), "{e}");
}

#[test]
fn a_runaway_app_fails_its_delivery_while_other_apps_get_theirs() {
    let env = Env::new();
    let bad = env.install("misbehave", None, &[("mode", "loop")]);
    let good = env.install("probe", None, &[]);
    let t = env.ticket("Anything");
    let report = env.host.deliver().unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(report.retried, 1, "{report:?}");
    assert_eq!(report.failures[0].0, bad.id);
    let log = env.kv(good.id, "log").unwrap();
    assert!(log.contains(&format!("ticket={}", t.id)), "{log}");
    // Told to behave, it gets the event on the retry.
    env.set(bad.id, "mode", "ok");
    env.f.clock.advance_millis(1000);
    let report = env.host.deliver().unwrap();
    assert_eq!((report.delivered, report.retried), (1, 0), "{report:?}");
}
