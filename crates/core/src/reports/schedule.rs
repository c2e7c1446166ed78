//! Report schedules and the report history: on its day each month (in the client's zone) a
//! schedule makes the previous month's report, keeps it, mails it to the client's report
//! recipients through the outbox and tells `report.ready` webhooks.
//!
//! Once per period, never twice: the history's unique index on (client, period) for
//! scheduled reports is the guard, and the report, its mail and its webhook deliveries are
//! written in one transaction. A host that was down catches up: every month since the
//! schedule began (at most the last 12) whose day has passed and has no report is made.

use super::client::{period_label, previous_month};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use chrono::{Datelike, Months, NaiveDate};
use outpost_proto::{
    ClientReportFileQuery, ReportFile, ReportHistoryEntry, ReportSchedule, SetReportSchedule,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

/// The furthest back a host that was down catches up.
const CATCH_UP_MONTHS: u32 = 12;
const MAX_RECIPIENTS: usize = 20;
const SCHEDULE_USER: &str = "Report schedule";

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

/// The day a month's report is due: `day` of the month after.
fn due_on(month: NaiveDate, day: u32) -> NaiveDate {
    let next = first_of_month(month) + Months::new(1);
    next.with_day(day).unwrap_or(next)
}

fn long_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

impl Core {
    pub async fn report_schedule(&self, actor: &Actor, client: Uuid) -> CoreResult<ReportSchedule> {
        self.require_report_client(actor, client).await?;
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT day_of_month, enabled, first_period FROM report_schedules WHERE client_id = ?",
        )
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let recipients: Vec<String> = sqlx::query_scalar(
            "SELECT contact_id FROM report_recipients WHERE client_id = ? ORDER BY contact_id",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        let recipients = recipients
            .iter()
            .map(|r| parse_uuid(r))
            .collect::<CoreResult<Vec<_>>>()?;
        let Some((day, enabled, first)) = row else {
            return Ok(ReportSchedule {
                client_id: client,
                scheduled: false,
                enabled: false,
                day_of_month: 1,
                recipients,
                next: None,
            });
        };
        let next = if enabled != 0 {
            let first = NaiveDate::parse_from_str(&first, "%Y-%m-%d").unwrap_or_default();
            let next = self.next_scheduled_month(client, first).await?;
            Some(format!(
                "{}, on {}",
                next.format("%B %Y"),
                long_date(due_on(next, day as u32))
            ))
        } else {
            None
        };
        Ok(ReportSchedule {
            client_id: client,
            scheduled: true,
            enabled: enabled != 0,
            day_of_month: day,
            recipients,
            next,
        })
    }

    /// The first month from `first` whose scheduled report is not made yet.
    async fn next_scheduled_month(&self, client: Uuid, first: NaiveDate) -> CoreResult<NaiveDate> {
        let last: Option<String> = sqlx::query_scalar(
            "SELECT max(period_from) FROM report_history WHERE client_id = ? AND made_by_schedule = 1",
        )
        .bind(client.to_string())
        .fetch_one(&self.pool)
        .await?;
        let after_last = last
            .and_then(|l| NaiveDate::parse_from_str(&l, "%Y-%m-%d").ok())
            .map(|l| first_of_month(l) + Months::new(1));
        Ok(after_last.map_or(first, |a| a.max(first)))
    }

    pub async fn set_report_schedule(
        &self,
        actor: &Actor,
        client: Uuid,
        req: &SetReportSchedule,
    ) -> CoreResult<ReportSchedule> {
        actor.require_write()?;
        self.require_report_client(actor, client).await?;
        if !(1..=28).contains(&req.day_of_month) {
            return Err(invalid(
                "day_of_month: choose a day from 1 to 28, so every month has it",
            ));
        }
        let mut recipients = req.recipients.clone();
        recipients.sort();
        recipients.dedup();
        if recipients.len() > MAX_RECIPIENTS {
            return Err(invalid(format!(
                "recipients: at most {MAX_RECIPIENTS} contacts get a report"
            )));
        }
        if req.enabled && recipients.is_empty() {
            return Err(invalid(
                "recipients: choose at least one of the client's contacts to mail the report to",
            ));
        }
        for r in &recipients {
            let contact: Option<(String, String, String)> =
                sqlx::query_as("SELECT client_id, name, email FROM contacts WHERE id = ?")
                    .bind(r.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
            match contact {
                Some((c, _, _)) if c != client.to_string() => {
                    return Err(invalid(format!(
                        "recipients: {r} is another client's contact"
                    )))
                }
                Some((_, name, email)) if email.trim().is_empty() => {
                    return Err(invalid(format!(
                        "recipients: {name} has no email address; add one to the contact first"
                    )))
                }
                Some(_) => {}
                None => return Err(invalid(format!("recipients: no contact {r}"))),
            }
        }
        let zone = self.client_zone(client).await?;
        let this_month = first_of_month(self.now().with_timezone(&zone).date_naive());
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        // The first report is this month's (made next month), not one for a month before the
        // schedule existed; editing a schedule keeps where it began.
        sqlx::query(
            "INSERT INTO report_schedules (client_id, day_of_month, enabled, first_period, \
               updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (client_id) DO UPDATE SET day_of_month = ?2, enabled = ?3, \
               updated_by = ?5, updated_at = ?6",
        )
        .bind(client.to_string())
        .bind(req.day_of_month)
        .bind(req.enabled as i64)
        .bind(this_month.to_string())
        .bind(&w.actor.name)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM report_recipients WHERE client_id = ?")
            .bind(client.to_string())
            .execute(&mut *w.tx)
            .await?;
        for r in &recipients {
            sqlx::query("INSERT INTO report_recipients (client_id, contact_id) VALUES (?, ?)")
                .bind(client.to_string())
                .bind(r.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            "report_schedule.update",
            "client",
            client,
            None,
            Some(json!({"enabled": req.enabled, "day_of_month": req.day_of_month, "recipients": recipients})),
        )
        .await?;
        w.commit().await?;
        self.report_schedule(actor, client).await
    }

    pub async fn list_report_history(
        &self,
        actor: &Actor,
        client: Uuid,
    ) -> CoreResult<Vec<ReportHistoryEntry>> {
        self.require_report_client(actor, client).await?;
        let rows = sqlx::query(
            "SELECT h.id, h.client_id, h.period_from, h.period_to, h.made_by_schedule, h.file_name, \
               length(h.pdf) AS size, h.made_by, h.made_at, h.mailed_to, o.state AS mail_state \
             FROM report_history h LEFT JOIN outbox o ON o.id = h.outbox_id \
             WHERE h.client_id = ? ORDER BY h.period_from DESC, h.made_at DESC LIMIT 200",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let from: String = r.get("period_from");
                let to: String = r.get("period_to");
                let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
                Ok(ReportHistoryEntry {
                    id: parse_uuid(r.get("id"))?,
                    client_id: parse_uuid(r.get("client_id"))?,
                    period_label: period_label(day(&from), day(&to)),
                    from,
                    to,
                    made_at: crate::clock::from_ms(r.get("made_at")),
                    made_by: r.get("made_by"),
                    by_schedule: r.get::<i64, _>("made_by_schedule") != 0,
                    file_name: r.get("file_name"),
                    size_bytes: r.get("size"),
                    mailed_to: serde_json::from_str(&r.get::<String, _>("mailed_to"))
                        .unwrap_or_default(),
                    mail_state: r.get("mail_state"),
                })
            })
            .collect()
    }

    /// A kept report's PDF, with its name.
    pub async fn report_history_file(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> CoreResult<(String, Vec<u8>)> {
        let row: Option<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT client_id, file_name, pdf FROM report_history WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let not_found = || CoreError::NotFound(format!("no kept report {id}"));
        let (client, name, pdf) = row.ok_or_else(not_found)?;
        // A report of a client outside the person's scope does not exist for them.
        actor
            .require_client(parse_uuid(&client)?)
            .map_err(|_| not_found())?;
        Ok((name, pdf))
    }

    pub async fn report_history_download(&self, actor: &Actor, id: Uuid) -> CoreResult<ReportFile> {
        use base64::Engine;
        let (file_name, bytes) = self.report_history_file(actor, id).await?;
        Ok(ReportFile {
            file_name,
            content_type: "application/pdf".into(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// Makes every scheduled report that is due and not made yet (the host's upkeep calls
    /// this every minute); returns the kept reports' ids. A report that cannot be made now is
    /// left for the next round (logged), the others still go.
    pub async fn run_report_schedules(&self) -> CoreResult<Vec<Uuid>> {
        let schedules: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT client_id, day_of_month, first_period FROM report_schedules WHERE enabled = 1",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut made = Vec::new();
        for (client, day, first) in schedules {
            let client = parse_uuid(&client)?;
            let Ok(first) = NaiveDate::parse_from_str(&first, "%Y-%m-%d") else {
                continue;
            };
            let zone = self.client_zone(client).await?;
            let today = self.now().with_timezone(&zone).date_naive();
            let (last_due_month, _) = previous_month(today);
            let earliest = (first_of_month(today) - Months::new(CATCH_UP_MONTHS)).max(first);
            let mut month = earliest;
            while month <= last_due_month {
                if today >= due_on(month, day as u32) {
                    match self.make_scheduled_report(client, month).await {
                        Ok(Some(id)) => made.push(id),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(%client, %month, "scheduled report not made: {e}"),
                    }
                }
                month = month + Months::new(1);
            }
        }
        Ok(made)
    }

    /// One month's scheduled report, unless it exists: kept, mailed and announced together.
    async fn make_scheduled_report(
        &self,
        client: Uuid,
        month: NaiveDate,
    ) -> CoreResult<Option<Uuid>> {
        let from = first_of_month(month);
        let to = from + Months::new(1) - chrono::Days::new(1);
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM report_history WHERE client_id = ? AND period_from = ? \
             AND period_to = ? AND made_by_schedule = 1",
        )
        .bind(client.to_string())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_one(&self.pool)
        .await?;
        if done > 0 {
            return Ok(None);
        }
        let system = Actor::system();
        let (file_name, _, pdf) = self
            .client_report_file(
                &system,
                client,
                &ClientReportFileQuery {
                    from: from.to_string(),
                    to: to.to_string(),
                    format: None,
                    table: None,
                },
            )
            .await?;
        let client_name: String = sqlx::query_scalar("SELECT name FROM clients WHERE id = ?")
            .bind(client.to_string())
            .fetch_one(&self.pool)
            .await?;
        let branding = self.report_branding(&system).await?;
        let sha = hex::encode(Sha256::digest(&pdf));
        let id = Uuid::now_v7();
        let label = period_label(from, to);

        let _guard = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        let now = self.now().timestamp_millis();
        let recipients: Vec<String> = sqlx::query_scalar(
            "SELECT k.email FROM report_recipients r JOIN contacts k ON k.id = r.contact_id \
             WHERE r.client_id = ? AND trim(k.email) != '' ORDER BY k.email",
        )
        .bind(client.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO report_history (id, client_id, period_from, period_to, made_by_schedule, \
               file_name, pdf, sha256, made_by, made_at, mailed_to) \
             VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (client_id, period_from, period_to) WHERE made_by_schedule = 1 DO NOTHING",
        )
        .bind(id.to_string())
        .bind(client.to_string())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(&file_name)
        .bind(&pdf)
        .bind(&sha)
        .bind(SCHEDULE_USER)
        .bind(now)
        .bind(json!(recipients).to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another round made it first.
            return Ok(None);
        }
        let from_mail = crate::notify::mail::mail_from(&mut tx).await?;
        if let (Some((from_address, _)), false) = (&from_mail, recipients.is_empty()) {
            let mail = Uuid::now_v7();
            let message_id = format!(
                "{mail}@{}",
                crate::notify::mail::message_domain(from_address)
            );
            let subject = format!("Service report {label}: {client_name}");
            let body = format!(
                "Hello,\n\nattached is {}'s service report for {label}: the tickets we worked \
                 on, how quickly, the time spent and the state of your computers.\n\n\
                 Reply to this mail with any questions.\n\n{}\n",
                client_name, branding.msp_name
            );
            sqlx::query(
                "INSERT INTO outbox (id, source, kind, to_addrs, subject, body, message_id, state, \
                   next_attempt_at, created_at, report_id) \
                 VALUES (?, ?, 'report', ?, ?, ?, ?, 'queued', ?, ?, ?)",
            )
            .bind(mail.to_string())
            .bind(format!("report:{id}"))
            .bind(json!(recipients).to_string())
            .bind(&subject)
            .bind(&body)
            .bind(&message_id)
            .bind(now)
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE report_history SET outbox_id = ? WHERE id = ?")
                .bind(mail.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        // `report.ready` for the webhooks that asked for it.
        let hooks: Vec<(String, String)> = sqlx::query_as("SELECT id, events FROM webhooks")
            .fetch_all(&mut *tx)
            .await?;
        for (hook, events) in hooks {
            let events: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
            if !events.iter().any(|e| e == "report.ready") {
                continue;
            }
            let delivery = Uuid::now_v7();
            let body = json!({
                "id": delivery,
                "event": "report.ready",
                "occurred_at": crate::clock::from_ms(now),
                "data": {
                    "id": id,
                    "client_id": client,
                    "client_name": client_name,
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "file_name": file_name,
                    "sha256": sha,
                    "mailed_to": recipients,
                    "download": format!("/api/v1/reports/history/{id}"),
                },
            });
            sqlx::query(
                "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, source, event, body, \
                   state, next_attempt_at, created_at) VALUES (?, ?, ?, 'report.ready', ?, 'queued', ?, ?)",
            )
            .bind(delivery.to_string())
            .bind(&hook)
            .bind(format!("report.ready:{id}"))
            .bind(body.to_string())
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::info!(%client, period = %label, "scheduled report made");
        Ok(Some(id))
    }
}
