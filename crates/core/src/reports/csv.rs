//! The report's tables as CSV that a spreadsheet or an accounting import opens without edits:
//! UTF-8 with a byte-order mark (Excel otherwise guesses the code page), CRLF rows, and text
//! cells that would start a formula (`= + - @`, tab, CR) prefixed with `'` so they stay text.

use outpost_proto::{ClientReport, ReportTable};

/// One cell: text (neutralised) or a number (written as it is).
pub(crate) enum Cell {
    Text(String),
    Number(String),
}

pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(crate) fn int(n: i64) -> Cell {
    Cell::Number(n.to_string())
}

/// Hours with two decimals, from minutes.
pub(crate) fn hours(minutes: i64) -> Cell {
    Cell::Number(format!("{:.2}", minutes as f64 / 60.0))
}

fn yes_no(b: bool) -> Cell {
    text(if b { "yes" } else { "no" })
}

fn neutralised(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// A whole CSV file: BOM, header, rows.
pub(crate) fn write(header: &[&str], rows: impl IntoIterator<Item = Vec<Cell>>) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        // Writing to a Vec cannot fail; a record of the wrong length would be our bug.
        w.write_record(header).expect("header");
        for row in rows {
            let cells: Vec<std::borrow::Cow<'_, str>> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(s) => neutralised(s),
                    Cell::Number(n) => n.as_str().into(),
                })
                .collect();
            w.write_record(cells.iter().map(|c| c.as_ref()))
                .expect("row");
        }
        w.flush().expect("flush");
    }
    out
}

pub(crate) fn report_table(r: &ClientReport, table: ReportTable) -> Vec<u8> {
    match table {
        ReportTable::Tickets => write(
            &[
                "Number",
                "Opened",
                "Title",
                "Priority",
                "Status",
                "Resolved",
                "Contact",
                "Minutes in period",
            ],
            r.tickets.iter().map(|t| {
                vec![
                    int(t.number),
                    text(&t.opened),
                    text(&t.title),
                    text(t.priority.as_str()),
                    text(t.status.as_str()),
                    text(&t.resolved),
                    text(&t.contact),
                    int(t.minutes),
                ]
            }),
        ),
        ReportTable::Time => write(
            &[
                "Started",
                "Technician",
                "Ticket",
                "Title",
                "Minutes",
                "Hours",
                "Billable",
                "Note",
            ],
            r.time.entries.iter().map(|e| {
                vec![
                    text(&e.started),
                    text(&e.technician),
                    int(e.ticket_number),
                    text(&e.ticket_title),
                    int(e.minutes),
                    hours(e.minutes),
                    yes_no(e.billable),
                    text(&e.note),
                ]
            }),
        ),
        ReportTable::Endpoints => write(
            &[
                "Name",
                "Kind",
                "OS",
                "Site",
                "Online",
                "Last seen",
                "Health",
                "Fullest disk %",
                "Pending updates",
                "Security updates",
                "Reboot needed",
                "Not seen 30 days",
            ],
            r.endpoints.endpoints.iter().map(|e| {
                let opt = |n: Option<i64>| n.map(int).unwrap_or_else(|| text(""));
                vec![
                    text(&e.name),
                    text(&e.kind),
                    text(&e.os),
                    text(&e.site),
                    yes_no(e.online),
                    text(&e.last_seen),
                    text(&e.health),
                    e.disk_used_percent
                        .map(|p| Cell::Number(format!("{p:.1}")))
                        .unwrap_or_else(|| text("")),
                    opt(e.pending_updates),
                    opt(e.security_updates),
                    yes_no(e.reboot_required),
                    yes_no(e.stale),
                ]
            }),
        ),
        ReportTable::Alerts => write(
            &[
                "Opened", "Endpoint", "Priority", "Message", "State", "Cleared", "Ticket",
                "Outcome",
            ],
            r.alerts.iter().map(|a| {
                vec![
                    text(&a.opened),
                    text(&a.endpoint),
                    text(a.priority.as_str()),
                    text(&a.message),
                    text(&a.state),
                    text(&a.cleared),
                    a.ticket_number.map(int).unwrap_or_else(|| text("")),
                    text(&a.outcome),
                ]
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_stay_text_and_numbers_stay_numbers() {
        let csv = write(
            &["A", "B"],
            [
                vec![text("=HYPERLINK(\"http://x\")"), int(-5)],
                vec![text("+1, \"two\"\nlines"), hours(90)],
                vec![text("@SUM(A1)"), text("plain")],
            ],
        );
        assert!(csv.starts_with(b"\xEF\xBB\xBF"));
        let body = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert_eq!(
            body,
            "A,B\r\n\"'=HYPERLINK(\"\"http://x\"\")\",-5\r\n\"'+1, \"\"two\"\"\nlines\",1.50\r\n'@SUM(A1),plain\r\n"
        );
    }
}
