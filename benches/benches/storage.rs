//! Storage benchmarks: creating a ticket through the core against the same rows written with
//! plain rusqlite, and full-text search over a seeded helpdesk.
#![expect(
    clippy::expect_used,
    reason = "benchmark set-up has no caller to report to; failing loudly is right"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use helpdesk::{Durability, Helpdesk, NewRequester, NewTicket, Options, SearchQuery, Status};
use helpdesk_benches::{RARE_WORD, seed, test_mode};

/// Creating a ticket at both durabilities, each against its baseline.
fn create_ticket(c: &mut Criterion) {
    create_ticket_at(c, Durability::Full, "");
    // With `synchronous = NORMAL` no fsync hides the CPU cost, so the ratio shows the core's overhead.
    create_ticket_at(c, Durability::Normal, "_normal");
}

fn create_ticket_at(c: &mut Criterion, durability: Durability, suffix: &str) {
    let mut group = c.benchmark_group("storage");
    let dir = tempfile::tempdir().expect("temp dir");
    let options = || Options::default().with_durability(durability);
    let sync = match durability {
        Durability::Full => "FULL",
        _ => "NORMAL",
    };

    // The core: validation, reads of department and requester, ticket, search index, history
    // and outbox in one durable transaction.
    let core_path = dir.path().join("core.db");
    let (desk, system) = Helpdesk::open(&core_path, options()).expect("open");
    let root = system.principal();
    system
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
    group.bench_function(format!("create_ticket{suffix}"), |b| {
        b.iter(|| {
            let t = desk
                .create_ticket(
                    &root,
                    NewTicket::new(
                        "Printer on fire in the third floor office",
                        dept.id,
                        requester.id,
                    ),
                )
                .expect("create");
            black_box(t.id)
        })
    });

    // The baseline: the same four rows with plain rusqlite, same schema and pragmas, no checks.
    let bare_path = dir.path().join("bare.db");
    {
        let (desk, system) = Helpdesk::open(&bare_path, options()).expect("open");
        let root = system.principal();
        desk.create_department(&root, "Support")
            .expect("department");
        desk.create_requester(
            &root,
            NewRequester {
                name: "R".into(),
                email: "r@bench.test".into(),
                organization: None,
            },
        )
        .expect("requester");
    }
    let mut conn = rusqlite::Connection::open(&bare_path).expect("open bare");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", sync).expect("sync");
    conn.pragma_update(None, "foreign_keys", true).expect("fk");
    let mut now = 1_767_225_600_000_i64;
    group.bench_function(format!("rusqlite_bare_insert{suffix}"), |b| {
        b.iter(|| {
            now += 1;
            let tx = conn.transaction().expect("tx");
            tx.prepare_cached(
                "INSERT INTO tickets (subject, status, priority, department_id, assignee_id, requester_id,
                                      organization_id, created_at, updated_at, version)
                 VALUES (?1, 0, 1, 1, NULL, 1, NULL, ?2, ?2, 1)",
            )
            .expect("prepare")
            .execute(rusqlite::params!["Printer on fire in the third floor office", now])
            .expect("ticket");
            let id = tx.last_insert_rowid();
            tx.prepare_cached("INSERT INTO search_index (rowid, body, ticket_id, public) VALUES (?1, ?2, ?3, 1)")
                .expect("prepare")
                .execute(rusqlite::params![-id, "Printer on fire in the third floor office", id])
                .expect("fts");
            tx.prepare_cached(
                "INSERT INTO history (at, subject_kind, subject_id, by_kind, by_id, by_key, by_token, by_install, change)
                 VALUES (?1, 'ticket', ?2, 0, NULL, NULL, NULL, NULL, '{\"change\":\"created\"}')",
            )
            .expect("prepare")
            .execute(rusqlite::params![now, id])
            .expect("history");
            let data = format!(
                "{{\"ticket\":{id},\"subject\":\"Printer on fire in the third floor office\",\"status\":\"new\",\"priority\":\"normal\",\"department\":1,\"assignee\":null,\"requester\":1,\"tags\":[],\"imported\":false}}"
            );
            tx.prepare_cached(
                "INSERT INTO outbox (kind, at, by_kind, by_id, by_key, by_token, by_install, ticket_id, department_id, data)
                 VALUES ('ticket.created', ?1, 0, NULL, NULL, NULL, NULL, ?2, 1, ?3)",
            )
            .expect("prepare")
            .execute(rusqlite::params![now, id, data])
            .expect("outbox");
            tx.commit().expect("commit");
            black_box(id)
        })
    });
    group.finish();
}

fn search(c: &mut Criterion) {
    let tickets = if test_mode() { 2_000 } else { 100_000 };
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, system) =
        Helpdesk::open(dir.path().join("search.db"), Options::default()).expect("open");
    seed(&desk, &system, 20, tickets).expect("seed");
    let root = system.principal();
    let query = SearchQuery {
        text: Some(RARE_WORD.into()),
        statuses: vec![Status::Open],
        limit: Some(50),
        ..Default::default()
    };
    let first = desk.search(&root, &query).expect("search");
    assert!(
        !first.tickets.is_empty(),
        "the benchmark query must match something"
    );
    let mut group = c.benchmark_group("storage");
    group.bench_function("search_fts", |b| {
        b.iter(|| black_box(desk.search(&root, black_box(&query)).expect("search")))
    });
    group.finish();
}

criterion_group!(benches, create_ticket, search);
criterion_main!(benches);
