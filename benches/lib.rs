//! Shared set-up for the benchmarks: deterministic seeding of helpdesks of a realistic size.

use helpdesk::{
    DepartmentId, Helpdesk, ImportTicket, NewAgent, NewMessage, NewRequester, NewTicket, Principal,
    Priority, RequesterId, Status, SystemHandle,
};

/// The word that about 1% of seeded tickets contain, for full-text benchmarks.
pub const RARE_WORD: &str = "zebra";

/// Whether criterion runs in test mode, as it decides it: `cargo test --benches` (no `--bench`
/// argument) or `cargo bench -- --test`. Benches then seed small data sets so that CI only checks
/// that they work.
pub fn test_mode() -> bool {
    let mut bench = false;
    let mut test = false;
    for arg in std::env::args() {
        bench |= arg == "--bench";
        test |= arg == "--test";
    }
    test || !bench
}

/// A small deterministic pseudo-random generator (xorshift64*), so every run seeds the same data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "printer", "invoice", "password", "login", "refund", "shipping", "delivery", "laptop",
    "screen", "battery", "account", "billing", "charge", "error", "crash", "update", "install",
    "license", "network", "email", "order", "payment", "card", "bank", "report", "export",
    "import", "sync", "mobile", "tablet", "slow", "broken", "missing", "late", "urgent",
    "question", "help", "issue", "problem", "access",
];

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The departments, in creation order.
    pub departments: Vec<DepartmentId>,
    /// The requesters.
    pub requesters: Vec<RequesterId>,
    /// How many tickets.
    pub tickets: usize,
}

/// Seeds `departments` departments with two agents each, 500 requesters, and `tickets` tickets
/// (each with one message) through the bulk import; 1% of them mention [`RARE_WORD`].
pub fn seed(
    desk: &Helpdesk,
    system: &SystemHandle,
    departments: usize,
    tickets: usize,
) -> anyhow::Result<Seeded> {
    let root: Principal = system.principal();
    if desk.agents(&root)?.is_empty() {
        system.bootstrap_admin("Bench Admin", "admin@bench.test")?;
    }
    let mut depts = Vec::with_capacity(departments);
    for d in 0..departments {
        let dept = desk.create_department(&root, &format!("Department {d}"))?;
        for a in 0..2 {
            let agent = desk.create_agent(
                &root,
                NewAgent {
                    name: format!("Agent {d}-{a}"),
                    email: format!("agent{d}-{a}@bench.test"),
                    admin: false,
                },
            )?;
            desk.add_member(&root, dept.id, agent.id, helpdesk::AccessLevel::Change)?;
        }
        depts.push(dept.id);
    }
    let mut requesters = Vec::with_capacity(500);
    for r in 0..500 {
        let req = desk.create_requester(
            &root,
            NewRequester {
                name: format!("Customer {r}"),
                email: format!("customer{r}@bench.test"),
                organization: None,
            },
        )?;
        requesters.push(req.id);
    }
    let mut rng = Rng::new(0x5EED);
    let statuses = [Status::New, Status::Open, Status::Pending, Status::Resolved];
    let mut batch = Vec::with_capacity(10_000);
    let base = desk.now().as_millis() - 365 * 86_400_000;
    for i in 0..tickets {
        let mut words = |n: usize| {
            (0..n)
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut subject = words(4);
        // Every hundredth ticket mentions the rare word: 1%.
        if i % 100 == 37 {
            subject.push(' ');
            subject.push_str(RARE_WORD);
        }
        let body = words(20);
        let dept = depts[rng.below(depts.len() as u64) as usize];
        let requester = requesters[rng.below(requesters.len() as u64) as usize];
        let mut ticket = NewTicket::new(subject, dept, requester);
        ticket.status = Some(statuses[rng.below(4) as usize]);
        ticket.priority = Some(Priority::ALL[rng.below(4) as usize]);
        ticket.message = Some(NewMessage::reply(body));
        let created_at = helpdesk::Timestamp::from_millis(base + i as i64 * 300);
        batch.push(ImportTicket {
            ticket,
            messages: Vec::new(),
            created_at: Some(created_at),
        });
        if batch.len() == 10_000 {
            desk.import_tickets(&root, std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        desk.import_tickets(&root, batch)?;
    }
    Ok(Seeded {
        departments: depts,
        requesters,
        tickets,
    })
}
