//! Client report generation: a client with 200 endpoints and 2,000 tickets in a 30-day period
//! (with time, comments' effects and alerts), from the store to the PDF through the real
//! typesetter. Target: <= 1 s to PDF. Also prints the preview (pages as SVG) and the model
//! alone, so a regression shows where it is.

use outpost_core::{Actor, Core, SystemClock};
use outpost_proto::{ClientReportFileQuery, ClientReportQuery};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const ENDPOINTS: i64 = 200;
const TICKETS: i64 = 2_000;
const ALERTS: i64 = 300;
const RUNS: usize = 8;

async fn seed(core: &Core) -> Uuid {
    let pool = core.pool();
    let now = chrono::Utc::now().timestamp_millis();
    let day = 86_400_000i64;
    let client = "00000000-0000-7000-8000-000000000001";
    let software: Vec<String> = (0..60)
        .map(|i| format!(r#"{{"name":"Package {i}","version":"1.{i}","source":"registry"}}"#))
        .collect();
    let inventory = format!(
        r#"{{"system":{{"hostname":"PC","os_name":"Windows","os_version":"11","kernel":"10.0","arch":"x86_64","boot_time":"2026-11-01T00:00:00Z","cpu_model":"x","cpu_cores":4,"memory_bytes":8589934592,"swap_bytes":0}},"disks":[{{"mount":"C:","device":"d","file_system":"NTFS","total_bytes":107374182400,"free_bytes":5368709120,"removable":false}}],"software":[{}]}}"#,
        software.join(",")
    );
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        format!("INSERT INTO clients (id, name, notes, created_at, updated_at) VALUES ('{client}', 'Harbour Dental Group', '', {now}, {now})"),
        format!("INSERT INTO sites (id, client_id, name, timezone, created_at) VALUES ('00000000-0000-7000-8100-000000000001', '{client}', 'Main', 'Europe/Berlin', {now})"),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8) \
             INSERT INTO users (id, username, display_name, role, created_at) \
             SELECT printf('00000000-0000-7000-9000-%012d', i), 'tech' || i, 'Technician ' || i, 'technician', {now} FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ENDPOINTS}) \
             INSERT INTO assets (id, client_id, name, kind, os, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-c000-%012d', i), '{client}', printf('PC-%04d', i), \
               'workstation', 'Windows 11', {now}, {now} FROM n"
        ),
        format!(
            "INSERT INTO endpoint_status (id, asset_id, online, last_seen, disk_pct, pending_updates, \
               reboot_required, health, inventory, created_at, updated_at) \
             SELECT id, id, rid % 5 != 0, {now} - (rid % 40) * {day}, 40 + rid % 60, rid % 7, rid % 9 = 0, \
               'healthy', ?, {now}, {now} FROM (SELECT id, CAST(substr(id, 25) AS INTEGER) AS rid FROM assets)"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {TICKETS}), \
             r AS (SELECT i, abs(random()) AS a FROM n) \
             INSERT INTO tickets (id, number, title, status, priority, priority_rank, client_id, \
               assignee_id, created_at, updated_at, resolved_at, first_response_at, fr_due, res_due, next_due) \
             SELECT printf('00000000-0000-7000-a000-%012d', i), 1000 + i, \
               'Printer on floor ' || (i % 9) || ' does not print after update ' || i, \
               CASE WHEN a % 10 < 8 THEN 'resolved' ELSE 'open' END, \
               CASE a % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'normal' WHEN 2 THEN 'high' ELSE 'critical' END, \
               CASE a % 4 WHEN 0 THEN 3 WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE 0 END, '{client}', \
               printf('00000000-0000-7000-9000-%012d', 1 + i % 8), \
               {now} - {day} - (a % (28 * {day})), {now}, \
               CASE WHEN a % 10 < 8 THEN {now} - {day} - (a % (28 * {day})) + (a % (3 * {day})) END, \
               {now} - {day} - (a % (28 * {day})) + (a % 7200000), \
               {now} - {day} - (a % (28 * {day})) + 3600000, \
               {now} - {day} - (a % (28 * {day})) + 2 * {day}, NULL FROM r"
        ),
        "INSERT INTO time_entries (id, ticket_id, technician_id, started_at, minutes, billable, note, created_at) \
         SELECT printf('00000000-0000-7000-b000-%012d', rid), id, assignee_id, created_at + 600000, \
           15 + rid % 90, rid % 4 != 0, 'Worked on it', created_at FROM tickets"
            .to_string(),
        format!("INSERT INTO alert_rules (id, kind, threshold, created_at, updated_at) VALUES ('00000000-0000-7000-d000-000000000001', 'disk', 90, {now}, {now})"),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ALERTS}) \
             INSERT INTO alerts (id, rule_id, asset_id, subject, state, priority, message, value, \
               opened_at, cleared_at, created_at, updated_at) \
             SELECT printf('00000000-0000-7000-e000-%012d', i), '00000000-0000-7000-d000-000000000001', \
               printf('00000000-0000-7000-c000-%012d', 1 + i % {ENDPOINTS}), 'C:' || i, 'cleared', 'high', \
               'Disk C: is 95 % full', 95, {now} - 2 * {day} - i * 3600000, {now} - 2 * {day} - i * 3600000 + 5400000, {now}, {now} FROM n"
        ),
    ] {
        let q = sqlx::query(&sql);
        let q = if sql.contains("endpoint_status") { q.bind(&inventory) } else { q };
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    client.parse().unwrap()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_dir(dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    outpost_server::reports::install(&core);
    let client = seed(&core).await;
    let actor = Actor::system();
    let today = chrono::Utc::now().date_naive();
    let from = (today - chrono::Duration::days(29)).to_string();
    let to = today.to_string();
    let q = ClientReportFileQuery {
        from: from.clone(),
        to: to.clone(),
        format: None,
        table: None,
    };
    // A warm-up (fonts parsed once per process), then measured runs.
    let (_, _, pdf) = core.client_report_file(&actor, client, &q).await.unwrap();
    let mut model = Vec::new();
    let mut to_pdf = Vec::new();
    let mut pages = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let report = core
            .client_report(
                &actor,
                client,
                &ClientReportQuery {
                    from: from.clone(),
                    to: to.clone(),
                },
            )
            .await
            .unwrap();
        model.push(ms(t));
        let t = Instant::now();
        let (_, _, bytes) = core.client_report_file(&actor, client, &q).await.unwrap();
        to_pdf.push(ms(t));
        pages = report.tickets.len();
        assert!(bytes.starts_with(b"%PDF-"));
    }
    let t = Instant::now();
    let preview = core
        .client_report_preview(&actor, client, &ClientReportQuery { from, to })
        .await
        .unwrap();
    let preview_ms = ms(t);
    model.sort_by(f64::total_cmp);
    to_pdf.sort_by(f64::total_cmp);
    let median = |v: &[f64]| v[v.len() / 2];
    let worst = |v: &[f64]| v[v.len() - 1];
    println!(
        "client report ({ENDPOINTS} endpoints, {pages} tickets in the period, {ALERTS} alerts): {} pages, {} KiB",
        preview.page_count,
        pdf.len() / 1024
    );
    println!(
        "  model from the store           median {:>7.1} ms  worst {:>7.1} ms",
        median(&model),
        worst(&model)
    );
    let verdict = if worst(&to_pdf) <= 1000.0 {
        "OK"
    } else {
        "OVER"
    };
    println!(
        "  store to PDF                   median {:>7.1} ms  worst {:>7.1} ms  target <= 1000 ms  {verdict}",
        median(&to_pdf),
        worst(&to_pdf)
    );
    println!(
        "  preview (first {} pages as SVG) {preview_ms:>7.1} ms",
        preview.pages.len()
    );
}
