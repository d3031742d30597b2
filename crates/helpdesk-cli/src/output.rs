//! What the command prints: aligned tables for people, JSON with a schema version for scripts.

use std::io::Write;

use serde::Serialize;

/// The version of the JSON output format. Scripts can rely on the shape of a given version;
/// a change that breaks it raises this number.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A table of text cells with a header row.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&'static str]) -> Self {
        Self {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; control characters in a cell (stored text may hold them) are written as
    /// escapes, so that no cell can rewrite the terminal or break the table's lines.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|cell| printable(&cell)).collect());
    }

    /// Writes the table with columns padded to their widest cell.
    pub(crate) fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line =
            |out: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> std::io::Result<()> {
                let mut text = String::new();
                for (i, cell) in cells.enumerate() {
                    let width = widths.get(i).copied().unwrap_or(0);
                    if i > 0 {
                        text.push_str("  ");
                    }
                    text.push_str(cell);
                    text.extend(std::iter::repeat_n(
                        ' ',
                        width.saturating_sub(cell.chars().count()),
                    ));
                }
                writeln!(out, "{}", text.trim_end())
            };
        line(out, &mut self.header.iter().copied())?;
        for row in &self.rows {
            line(out, &mut row.iter().map(String::as_str))?;
        }
        Ok(())
    }
}

/// The text with control characters written as escapes (`\u{1b}`), so that input or stored data
/// that is printed cannot move the cursor, recolour or rewrite the terminal.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Where results go, in the chosen format.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) json: bool,
}

impl Output {
    /// Prints `data` as JSON (`{"schema_version", "kind", "data"}`) or as the table `table` builds.
    pub(crate) fn emit<T: Serialize>(
        &self,
        kind: &str,
        data: &T,
        table: impl FnOnce() -> Table,
    ) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if self.json {
            let envelope =
                serde_json::json!({ "schema_version": SCHEMA_VERSION, "kind": kind, "data": data });
            serde_json::to_writer_pretty(&mut out, &envelope)?;
            writeln!(out)?;
        } else {
            table().write(&mut out)?;
        }
        Ok(())
    }

    /// Prints `data` as JSON, or as several titled tables.
    pub(crate) fn emit_sections<T: Serialize>(
        &self,
        kind: &str,
        data: &T,
        sections: impl FnOnce() -> Vec<(&'static str, Table)>,
    ) -> anyhow::Result<()> {
        if self.json {
            return self.emit(kind, data, Table::default);
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for (i, (title, table)) in sections().into_iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            if !title.is_empty() {
                writeln!(out, "{title}:")?;
            }
            table.write(&mut out)?;
        }
        Ok(())
    }
}

/// A progress line on standard error for long work: `label: done/total`.
pub(crate) fn progress(label: &str, done: usize, total: usize) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{label}: {done}/{total}");
    if done >= total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["id", "name"]);
        t.row(vec!["1".into(), "Ann".into()]);
        t.row(vec!["100".into(), "Bo".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "id   name\n1    Ann\n100  Bo\n"
        );
    }

    #[test]
    fn cells_cannot_rewrite_the_terminal() {
        let mut t = Table::new(&["operation"]);
        t.row(vec!["GET /\u{1b}[2J\r\ntickets\u{0}".into()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "operation\nGET /\\u{1b}[2J\\r\\ntickets\\u{0}\n"
        );
    }
}
