//! Crash safety: a writer killed with SIGKILL loses nothing it had acknowledged, and a database
//! whose creation was killed opens as a sound one.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use helpdesk::{Helpdesk, Options, TicketId};

#[test]
fn acknowledged_writes_survive_sigkill() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crash.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        acknowledged.push(TicketId::new(line.trim().parse()?));
        if acknowledged.len() == 300 {
            break;
        }
    }
    // SIGKILL mid-load: the writer is still creating tickets as fast as it can.
    child.kill()?;
    child.wait()?;
    assert_eq!(acknowledged.len(), 300, "the writer stopped early");

    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    assert_eq!(system.integrity_check()?, ["ok"]);
    let root = system.principal();
    for id in &acknowledged {
        let ticket = desk.ticket(&root, *id)?;
        assert_eq!(
            ticket.subject,
            format!("crash test {}", id.get()),
            "ticket {id} changed"
        );
        assert_eq!(
            desk.messages(&root, *id)?.len(),
            1,
            "ticket {id} lost its message"
        );
    }
    Ok(())
}

#[test]
fn a_database_killed_while_being_created_reopens() -> anyhow::Result<()> {
    let mut interrupted = 0;
    for round in 0..24u64 {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(dir.path())
            .arg("--create")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        // The helper does nothing but create databases, so a kill at any moment past its start
        // lands in a creation (or a close); the moments spread from 2 to 48 ms. The sleep picks
        // the moment of the kill; no result waits on it.
        std::thread::sleep(Duration::from_millis(2 + 2 * round));
        child.kill()?;
        child.wait()?;
        let mut printed = String::new();
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?
            .read_to_string(&mut printed)?;
        let created = printed.lines().count();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir.path())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "db") {
                files.push(path);
            }
        }
        if files.len() > created {
            interrupted += 1;
        }
        for file in &files {
            let (_desk, system) = Helpdesk::open(file, Options::default())
                .map_err(|e| anyhow::anyhow!("round {round}, {}: {e}", file.display()))?;
            assert_eq!(
                system.integrity_check()?,
                ["ok"],
                "round {round}, {}",
                file.display()
            );
            system.bootstrap_admin("Ada", "ada@example.com")?;
        }
    }
    assert!(interrupted > 0, "no kill landed in a creation");
    Ok(())
}
