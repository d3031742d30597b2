//! The permission matrix: every public facade operation, called by every kind of principal on
//! every kind of target, checked against the matrix's own model of the rules
//! (`matrix/model.rs`) rather than against the engine. Each case runs in a copy of one template
//! database, replaced as soon as a call changed it, so no case sees another's effects. Per cell
//! it checks the outcome, that a hidden target reads exactly like a missing one, and that a
//! refusal changed nothing; every disagreement is listed before the test fails.

mod model;
mod ops;
mod world;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use helpdesk::Error;

use model::{Caller, Outcome, Revocation, Seen};
use ops::Op;
use world::{Setup, Template, World};

/// One cell: a principal and a call.
struct Case {
    caller: Caller,
    op: Op,
}

/// Cases that share a world setup, run one after the other.
struct Job {
    setup: Setup,
    cases: Vec<Case>,
}

/// A cell where the facade and the model disagree.
struct Row {
    op: String,
    caller: String,
    expected: String,
    got: String,
}

#[derive(Default)]
struct Tally {
    cells: usize,
    worlds: usize,
    /// Time spent copying and opening worlds, over every worker.
    opening: Duration,
    /// Time spent taking fingerprints after refusals, over every worker.
    fingerprinting: Duration,
    /// Refused calls whose fingerprints were compared.
    refusals: usize,
    /// Hidden targets whose refusal was compared with a missing id's.
    compared: usize,
    /// For every kind of change, whether a successful one showed in the fingerprint: so a
    /// refusal's unchanged fingerprint means something.
    noticed: BTreeMap<String, bool>,
    rows: Vec<Row>,
}

impl Tally {
    fn disagree(&mut self, case: &Case, expected: impl Into<String>, got: impl Into<String>) {
        self.rows.push(Row {
            op: format!("{:?}", case.op),
            caller: format!("{:?}", case.caller),
            expected: expected.into(),
            got: got.into(),
        });
    }
}

fn outcome(result: &helpdesk::Result<Seen>) -> Outcome {
    match result {
        Ok(seen) => Outcome::Ok(seen.clone()),
        Err(Error::NotFound { entity, .. }) => Outcome::NotFound(*entity),
        Err(Error::Denied(_)) => Outcome::Denied,
        Err(Error::Revoked) => Outcome::Revoked,
        Err(Error::Invalid(_)) => Outcome::Invalid,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(Seen::Done) => "ok".into(),
        Outcome::Ok(seen) => format!("ok, {seen:?}"),
        Outcome::NotFound(entity) => format!("not found ({entity})"),
        Outcome::Denied => "denied".into(),
        Outcome::Revoked => "revoked".into(),
        Outcome::Invalid => "invalid input".into(),
        Outcome::Failed(message) => format!("error: {message}"),
    }
}

/// Whether `hidden`, the refusal of `case`, reads exactly like the same call on a missing id:
/// the same variant and the same message once the ids are taken out. Also says whether that
/// second call changed the world.
fn reads_like_missing(w: &World<'_>, case: &Case, hidden: &Error) -> (Result<(), String>, bool) {
    let Some(missing) = case.op.on_missing() else {
        return (Ok(()), false);
    };
    let f = model::facts(case.caller);
    let absent = match ops::run(w, case.caller, &missing) {
        Ok(_) => {
            return (
                Err("the call on a missing id succeeded".into()),
                missing.mutates(),
            );
        }
        Err(e) => e,
    };
    let text = |e: &Error, op: &Op| match op.target_text(w, &f) {
        Some(id) => e.to_string().replace(&format!("`{id}`"), "`<id>`"),
        None => e.to_string(),
    };
    let (hidden_text, absent_text) = (text(hidden, &case.op), text(&absent, &missing));
    let same = std::mem::discriminant(hidden) == std::mem::discriminant(&absent)
        && hidden_text == absent_text;
    if same {
        (Ok(()), false)
    } else {
        let difference = format!("`{hidden_text}`, a missing id: `{absent_text}`");
        (Err(difference), false)
    }
}

/// The name of an operation without its target.
fn kind(op: &Op) -> String {
    let text = format!("{op:?}");
    let end = text.find(['(', ' ']).unwrap_or(text.len());
    text[..end].to_owned()
}

/// Checks one cell against what the model expects of it; returns whether the world it ran in
/// is spent (changed, so the next case needs a fresh copy).
fn check(w: &World<'_>, case: &Case, expected: &Outcome, tally: &mut Tally) -> bool {
    tally.cells += 1;
    let result = ops::run(w, case.caller, &case.op);
    let got = outcome(&result);
    if got != *expected {
        tally.disagree(case, describe(expected), describe(&got));
    }
    let mut spent = false;
    if let (Outcome::NotFound(_), Err(hidden)) = (expected, &result) {
        let (verdict, changed) = reads_like_missing(w, case, hidden);
        tally.compared += 1;
        spent |= changed;
        if let Err(difference) = verdict {
            tally.disagree(case, "reads like a missing id", difference);
        }
    }
    match got {
        Outcome::Ok(_) if case.op.mutates() => {
            let noticed = !w.changed().is_empty();
            *tally.noticed.entry(kind(&case.op)).or_default() |= noticed;
            true
        }
        Outcome::Ok(_) => spent,
        _ => {
            let started = Instant::now();
            let changed = w.changed();
            tally.fingerprinting += started.elapsed();
            tally.refusals += 1;
            if !changed.is_empty() {
                tally.disagree(
                    case,
                    "a refusal changes nothing",
                    format!("changed {changed:?}"),
                );
            }
            spent | !changed.is_empty()
        }
    }
}

fn run_job(template: &Template, job: &Job, dir: &Path, tally: &mut Tally) -> anyhow::Result<()> {
    let mut world: Option<World<'_>> = None;
    for case in &job.cases {
        let w = match world.take() {
            Some(w) => w,
            None => {
                tally.worlds += 1;
                let path = dir.join(format!("world-{}.db", tally.worlds));
                let started = Instant::now();
                let w = world::open(template, job.setup, &path)?;
                tally.opening += started.elapsed();
                w
            }
        };
        let expected = model::expect(case.caller, &case.op);
        if check(&w, case, &expected, tally) {
            w.close()?;
        } else {
            world = Some(w);
        }
    }
    if let Some(w) = world {
        w.close()?;
    }
    Ok(())
}

fn jobs() -> Vec<Job> {
    let cases = |callers: &[Caller]| -> Vec<Case> {
        let per_caller = callers.iter().map(|&caller| {
            let ops = ops::all(&model::facts(caller));
            ops.into_iter().map(move |op| Case { caller, op })
        });
        per_caller.flatten().collect()
    };
    let mut jobs: Vec<Job> = Revocation::ALL
        .into_iter()
        .map(|revocation| Job {
            setup: Setup::Held(revocation),
            cases: cases(&Caller::held_by(revocation)),
        })
        .collect();
    let mut plain = cases(&Caller::PLAIN).into_iter().peekable();
    while plain.peek().is_some() {
        jobs.push(Job {
            setup: Setup::Plain,
            cases: plain.by_ref().take(500).collect(),
        });
    }
    jobs
}

/// Runs every job on a few threads, each with worlds of its own.
fn run_all(template: &Template, jobs: Vec<Job>) -> anyhow::Result<Tally> {
    let queue = Mutex::new(jobs);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4));
    let tallies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|n| {
                let queue = &queue;
                scope.spawn(move || -> anyhow::Result<Tally> {
                    let dir = template.workspace(&format!("worker-{n}"))?;
                    let mut tally = Tally::default();
                    loop {
                        let job = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                        let Some(job) = job else { break };
                        run_job(template, &job, &dir, &mut tally)?;
                    }
                    Ok(tally)
                })
            })
            .collect();
        let joined = handles.into_iter().map(|h| h.join());
        joined.collect::<Vec<_>>()
    });
    let mut total = Tally::default();
    for tally in tallies {
        let tally = tally.map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        total.cells += tally.cells;
        total.worlds += tally.worlds;
        total.opening += tally.opening;
        total.fingerprinting += tally.fingerprinting;
        total.refusals += tally.refusals;
        total.compared += tally.compared;
        for (kind, noticed) in tally.noticed {
            *total.noticed.entry(kind).or_default() |= noticed;
        }
        total.rows.extend(tally.rows);
    }
    Ok(total)
}

/// An app identity is never a principal of its own: not signed in, not acted as with a
/// superuser key, not given a token.
fn app_identity_is_never_obtained(template: &Template, tally: &mut Tally) -> anyhow::Result<()> {
    let dir = template.workspace("app-identity")?;
    let w = world::open(template, Setup::Plain, &dir.join("world.db"))?;
    tally.worlds += 1;
    for (attempt, obtained) in w.app_identity_attempts() {
        tally.cells += 1;
        if obtained {
            tally.rows.push(Row {
                op: attempt.into(),
                caller: "the app identity".into(),
                expected: "refused".into(),
                got: "a principal".into(),
            });
        }
    }
    w.close()
}

#[test]
fn every_operation_for_every_principal_and_target_is_what_the_rules_say() -> anyhow::Result<()> {
    let started = Instant::now();
    let template = world::template()?;
    let built = started.elapsed();
    let operations = ops::all(&model::facts(Caller::System)).len();
    let mut tally = run_all(&template, jobs())?;
    app_identity_is_never_obtained(&template, &mut tally)?;
    let mut rows = tally.rows;
    rows.sort_by(|a, b| (&a.caller, &a.op).cmp(&(&b.caller, &b.op)));
    println!(
        "matrix: {} cells ({} principals and {} held ones, {operations} calls each), {} worlds; \
         template {built:.2?}, opening worlds {:.2?} and fingerprints {:.2?} over the workers, \
         {:.2?} in all",
        tally.cells,
        Caller::PLAIN.len(),
        Caller::held().len(),
        tally.worlds,
        tally.opening,
        tally.fingerprinting,
        started.elapsed(),
    );
    let unseen: Vec<&String> = tally
        .noticed
        .iter()
        .filter(|(_, n)| !**n)
        .map(|(k, _)| k)
        .collect();
    println!(
        "{} refusals fingerprinted; {} hidden targets compared with missing ones; kinds of \
         change no successful call showed in the fingerprint: {unseen:?}",
        tally.refusals, tally.compared,
    );
    if !rows.is_empty() {
        let mut groups: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
        for row in &rows {
            *groups
                .entry((&row.caller, &row.expected, &row.got))
                .or_default() += 1;
        }
        println!("{} disagreements, by principal:", rows.len());
        for ((caller, expected, got), count) in &groups {
            println!("  {count:>4} × {caller}: expected {expected}, got {got}");
        }
        println!(
            "{:<44} {:<26} {:<34} got",
            "operation and target", "principal", "expected"
        );
        for row in &rows {
            println!(
                "{:<44} {:<26} {:<34} {}",
                row.op, row.caller, row.expected, row.got
            );
        }
    }
    anyhow::ensure!(
        rows.is_empty(),
        "{} cells disagree with the model",
        rows.len()
    );
    Ok(())
}
