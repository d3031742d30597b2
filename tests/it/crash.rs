//! Crash safety: a writer killed with SIGKILL loses nothing it had acknowledged.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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
