//! Plugin host benchmarks: delivering an event to a sandboxed app (warm and on a fresh
//! instance) against the same logic as native Rust through the facade, the bare wasmtime call
//! as the floor, rendering a widget, and starting a host over 100 installed plugins.
#![expect(
    clippy::expect_used,
    reason = "benchmark set-up has no caller to report to; failing loudly is right"
)]

#[path = "../../plugins/guests.rs"]
mod guests;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use helpdesk::{
    Event, EventKind, Helpdesk, NewInstall, NewRequester, NewTicket, Options, PluginManifest,
    StartFrom, WidgetLocation,
};
use helpdesk_benches::test_mode;
use helpdesk_plugin_host::{BareCall, HostConfig, PluginHost};

const PLUGINS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins");

/// The compiled-component cache shared by every run of these benchmarks.
fn cache_dir() -> PathBuf {
    guests::build(PLUGINS)
        .ancestors()
        .nth(2)
        .map(|t| t.join("bench-compiled-cache"))
        .expect("target dir")
}

fn config(reuse_instances: bool) -> HostConfig {
    HostConfig::default()
        .with_cache_dir(cache_dir())
        .with_cache_key([3; 32])
        .with_reuse_instances(reuse_instances)
}

/// The benchmark plugin's component with a custom section naming `i`: the same code under a
/// different hash, so that 100 installs are 100 distinct compiled artifacts.
fn variant(wasm: &[u8], i: usize) -> Vec<u8> {
    let name = b"bench-variant";
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name);
    content.extend_from_slice(&(i as u64).to_le_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    out.push(u8::try_from(content.len()).expect("short section"));
    out.extend_from_slice(&content);
    out
}

fn plugins(c: &mut Criterion) {
    let bench = guests::guest(PLUGINS, "bench");
    let manifest = PluginManifest::from_toml(&bench.manifest).expect("manifest");
    let (desk, system) = Helpdesk::open_in_memory(Options::default()).expect("open");
    let root = system.principal();
    let admin = system
        .bootstrap_admin("Admin", "admin@bench.test")
        .expect("admin");
    let dept = desk
        .create_department(&root, "Support")
        .expect("department");
    let requester = desk
        .create_requester(
            &root,
            NewRequester {
                name: "R".into(),
                email: "r@bench.test".into(),
                organization: None,
            },
        )
        .expect("requester");
    let warm = PluginHost::new(&system, config(true)).expect("host");
    let install = warm
        .install(
            &root,
            NewInstall::granting_all(manifest.clone(), bench.wasm.clone()).expect("grant"),
        )
        .expect("install");
    let fresh = PluginHost::new(&system, config(false)).expect("host");
    let ticket = desk
        .create_ticket(
            &root,
            NewTicket::new("Printer on fire", dept.id, requester.id),
        )
        .expect("ticket");
    desk.register_consumer(&root, "bench", StartFrom::Oldest)
        .expect("consumer");
    let event: Event = desk
        .read_events(&root, "bench", 1000)
        .expect("events")
        .events
        .into_iter()
        .find(|e| e.kind == EventKind::TicketCreated && e.ticket == Some(ticket.id))
        .expect("the ticket's event");
    let principal = system.install_principal(install.id).expect("principal");
    let viewer = system.agent(admin.id).expect("viewer");

    let mut group = c.benchmark_group("plugins");
    group.bench_function("event_dispatch_warm", |b| {
        b.iter(|| {
            warm.test_event(install.id, black_box(&event))
                .expect("delivered")
        });
    });
    // The same app logic in native Rust: read the event's ticket with the install's principal.
    group.bench_function("native_equivalent", |b| {
        b.iter(|| {
            let e = black_box(&event);
            if let Some(id) = e.ticket {
                black_box(desk.ticket(&principal, id).expect("ticket"));
            }
        });
    });
    group.bench_function("event_dispatch_fresh_instance", |b| {
        b.iter(|| {
            fresh
                .test_event(install.id, black_box(&event))
                .expect("delivered")
        });
    });
    group.bench_function("widget_render", |b| {
        b.iter(|| {
            black_box(
                warm.render(
                    install.id,
                    WidgetLocation::TicketSidebar,
                    &viewer,
                    Some(ticket.id),
                )
                .expect("rendered"),
            )
        });
    });
    let mut bare = BareCall::new(&bench.wasm, ticket.id.get()).expect("bare instance");
    group.bench_function("wasmtime_bare_call", |b| {
        b.iter(|| bare.call().expect("called"));
    });

    // A helpdesk with 100 installed plugins (distinct components), compiled once into the
    // cache; each iteration starts a host over it.
    let count = if test_mode() { 5 } else { 100 };
    let (desk100, system100) = Helpdesk::open_in_memory(Options::default()).expect("open");
    let root100 = system100.principal();
    let installer = PluginHost::new(&system100, config(true)).expect("host");
    for i in 0..count {
        let mut m = manifest.clone();
        m.id = format!("bench-{i:03}");
        installer
            .install(
                &root100,
                NewInstall::granting_all(m, variant(&bench.wasm, i)).expect("grant"),
            )
            .expect("install");
    }
    drop(installer);
    assert_eq!(desk100.plugins(&root100).expect("installs").len(), count);
    group.sample_size(10);
    group.bench_function(format!("cold_start_{count}"), |b| {
        b.iter_with_large_drop(|| {
            let host = PluginHost::new(&system100, config(true)).expect("host");
            assert_eq!(host.running().len(), count);
            host
        });
    });
    group.finish();
}

criterion_group!(benches, plugins);
criterion_main!(benches);
