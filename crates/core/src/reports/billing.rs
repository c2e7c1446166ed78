//! The billing export: a period's billable time as CSV an accounting import reads as it is.
//! Each entry is rounded up to the increment, raised to the minimum, and priced at the
//! client's hourly rate, else the technician's, else the default. Amounts are whole cents,
//! computed from integers (no floating point between minutes and money).

use super::csv::{int, text, write, Cell};
use super::Period;
use crate::error::{invalid, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{BillingExportQuery, BillingRate, BillingSettings, ReportFile};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// 100,000.00 an hour.
const MAX_RATE_CENTS: i64 = 10_000_000;

/// Minutes billed for minutes worked: rounded up to `round_to`, then at least `minimum`.
pub fn billed_minutes(worked: i64, round_to: i64, minimum: i64) -> i64 {
    let step = round_to.max(1);
    let rounded = (worked + step - 1) / step * step;
    rounded.max(minimum)
}

/// Cents for minutes at an hourly rate, half a cent rounded up.
pub fn amount_cents(minutes: i64, rate_cents: i64) -> i64 {
    (minutes * rate_cents * 2 + 60) / 120
}

fn money(cents: i64) -> Cell {
    Cell::Number(format!("{}.{:02}", cents / 100, cents % 100))
}

impl Core {
    pub async fn billing_settings(&self, actor: &Actor) -> CoreResult<BillingSettings> {
        actor.require_admin()?;
        let row: Option<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT currency, default_rate_cents, round_to_minutes, minimum_minutes \
             FROM billing_settings WHERE singleton = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let (currency, default_rate_cents, round_to_minutes, minimum_minutes) =
            row.unwrap_or_else(|| ("EUR".into(), 0, 1, 0));
        let rates = |sql: &'static str| async move {
            let rows: Vec<(String, String, i64)> =
                sqlx::query_as(sql).fetch_all(&self.pool).await?;
            rows.into_iter()
                .map(|(id, name, rate_cents)| {
                    Ok(BillingRate {
                        subject_id: parse_uuid(&id)?,
                        name,
                        rate_cents,
                    })
                })
                .collect::<CoreResult<Vec<_>>>()
        };
        Ok(BillingSettings {
            currency,
            default_rate_cents,
            round_to_minutes,
            minimum_minutes,
            technician_rates: rates(
                "SELECT r.subject_id, coalesce(u.display_name, ''), r.rate_cents FROM billing_rates r \
                 LEFT JOIN users u ON u.id = r.subject_id WHERE r.kind = 'technician' ORDER BY 2",
            )
            .await?,
            client_rates: rates(
                "SELECT r.subject_id, coalesce(c.name, ''), r.rate_cents FROM billing_rates r \
                 LEFT JOIN clients c ON c.id = r.subject_id WHERE r.kind = 'client' ORDER BY 2",
            )
            .await?,
        })
    }

    pub async fn set_billing_settings(
        &self,
        actor: &Actor,
        req: &BillingSettings,
    ) -> CoreResult<BillingSettings> {
        actor.require_admin()?;
        let currency = req.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid(
                "currency: give its three-letter code (ISO 4217), e.g. EUR, GBP or USD",
            ));
        }
        let rate_ok = |r: i64| (0..=MAX_RATE_CENTS).contains(&r);
        if !rate_ok(req.default_rate_cents) {
            return Err(invalid(
                "default_rate_cents: an hourly rate from 0 to 100,000.00",
            ));
        }
        if !(1..=60).contains(&req.round_to_minutes) {
            return Err(invalid(
                "round_to_minutes: 1 (bill the exact minutes) to 60 (whole hours)",
            ));
        }
        if !(0..=480).contains(&req.minimum_minutes) {
            return Err(invalid("minimum_minutes: 0 (none) to 480 (a working day)"));
        }
        for (kind, table, rates) in [
            ("technician", "users", &req.technician_rates),
            ("client", "clients", &req.client_rates),
        ] {
            let mut seen = std::collections::HashSet::new();
            for r in rates {
                if !rate_ok(r.rate_cents) {
                    return Err(invalid(format!(
                        "{kind} rates: an hourly rate from 0 to 100,000.00 ({} given)",
                        r.rate_cents
                    )));
                }
                if !seen.insert(r.subject_id) {
                    return Err(invalid(format!(
                        "{kind} rates: {} has two rates",
                        r.subject_id
                    )));
                }
                let exists: i64 =
                    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE id = ?"))
                        .bind(r.subject_id.to_string())
                        .fetch_one(&self.pool)
                        .await?;
                if exists == 0 {
                    return Err(invalid(format!("{kind} rates: no {kind} {}", r.subject_id)));
                }
            }
        }
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        sqlx::query(
            "INSERT INTO billing_settings (singleton, currency, default_rate_cents, \
               round_to_minutes, minimum_minutes, updated_by, updated_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (singleton) DO UPDATE SET \
               currency = ?1, default_rate_cents = ?2, round_to_minutes = ?3, \
               minimum_minutes = ?4, updated_by = ?5, updated_at = ?6",
        )
        .bind(&currency)
        .bind(req.default_rate_cents)
        .bind(req.round_to_minutes)
        .bind(req.minimum_minutes)
        .bind(&w.actor.name)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM billing_rates")
            .execute(&mut *w.tx)
            .await?;
        for (kind, rates) in [
            ("technician", &req.technician_rates),
            ("client", &req.client_rates),
        ] {
            for r in rates {
                sqlx::query(
                    "INSERT INTO billing_rates (kind, subject_id, rate_cents) VALUES (?, ?, ?)",
                )
                .bind(kind)
                .bind(r.subject_id.to_string())
                .bind(r.rate_cents)
                .execute(&mut *w.tx)
                .await?;
            }
        }
        w.audit(
            "billing_settings.update",
            "billing_settings",
            Uuid::nil(),
            None,
            Some(json!({
                "currency": currency,
                "default_rate_cents": req.default_rate_cents,
                "round_to_minutes": req.round_to_minutes,
                "minimum_minutes": req.minimum_minutes,
                "technician_rates": req.technician_rates.len(),
                "client_rates": req.client_rates.len(),
            })),
        )
        .await?;
        w.commit().await?;
        self.billing_settings(actor).await
    }

    /// The period's billable time entries priced, one row each, as CSV (admins).
    pub async fn billing_export(
        &self,
        actor: &Actor,
        q: &BillingExportQuery,
    ) -> CoreResult<(String, Vec<u8>)> {
        actor.require_admin()?;
        let zone = match q.client_id {
            Some(c) => {
                self.require_report_client(actor, c).await?;
                self.client_zone(c).await?
            }
            None => self.organisation_zone().await?,
        };
        let period = Period::parse(&q.from, &q.to, zone)?;
        if period.starts_after(self.now()) {
            return Err(invalid(format!(
                "the period starts on {}, in the future: no time is recorded in it yet",
                period.from
            )));
        }
        let settings = self.billing_settings(actor).await?;
        let client_rate: HashMap<Uuid, i64> = settings
            .client_rates
            .iter()
            .map(|r| (r.subject_id, r.rate_cents))
            .collect();
        let tech_rate: HashMap<Uuid, i64> = settings
            .technician_rates
            .iter()
            .map(|r| (r.subject_id, r.rate_cents))
            .collect();
        let client_filter = match q.client_id {
            // A parsed UUID: inlining it cannot inject SQL.
            Some(c) => format!("AND t.client_id = '{c}'"),
            None => String::new(),
        };
        let rows = sqlx::query(&format!(
            "SELECT e.started_at, e.minutes, e.note, e.technician_id, coalesce(u.display_name, '') AS technician, \
               t.client_id, c.name AS client, t.number, t.title \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             JOIN clients c ON c.id = t.client_id LEFT JOIN users u ON u.id = e.technician_id \
             WHERE e.billable = 1 AND e.started_at >= ? AND e.started_at < ? {client_filter} \
             ORDER BY c.name COLLATE NOCASE, e.started_at, e.id"
        ))
        .bind(period.start_ms())
        .bind(period.end_ms())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let client: Uuid = parse_uuid(r.get("client_id"))?;
            let technician: Option<Uuid> = parse_uuid(r.get("technician_id")).ok();
            let rate = client_rate
                .get(&client)
                .or_else(|| technician.and_then(|t| tech_rate.get(&t)))
                .copied()
                .unwrap_or(settings.default_rate_cents);
            let worked: i64 = r.get("minutes");
            let billed =
                billed_minutes(worked, settings.round_to_minutes, settings.minimum_minutes);
            out.push(vec![
                text(super::client::local(zone, r.get("started_at"))),
                text(r.get::<String, _>("client")),
                int(r.get("number")),
                text(r.get::<String, _>("title")),
                text(r.get::<String, _>("technician")),
                int(worked),
                int(billed),
                money(rate),
                money(amount_cents(billed, rate)),
                text(&settings.currency),
                text(r.get::<String, _>("note")),
            ]);
        }
        let csv = write(
            &[
                "Started",
                "Client",
                "Ticket",
                "Title",
                "Technician",
                "Minutes worked",
                "Minutes billed",
                "Hourly rate",
                "Amount",
                "Currency",
                "Note",
            ],
            out,
        );
        let scope = match q.client_id {
            Some(c) => {
                let name: String = sqlx::query_scalar("SELECT name FROM clients WHERE id = ?")
                    .bind(c.to_string())
                    .fetch_one(&self.pool)
                    .await?;
                super::client::safe_stem(&name)
            }
            None => "All clients".into(),
        };
        Ok((
            format!("{scope} billable time {} to {}.csv", period.from, period.to),
            csv,
        ))
    }

    pub async fn billing_export_download(
        &self,
        actor: &Actor,
        q: &BillingExportQuery,
    ) -> CoreResult<ReportFile> {
        use base64::Engine;
        let (file_name, bytes) = self.billing_export(actor, q).await?;
        Ok(ReportFile {
            file_name,
            content_type: "text/csv; charset=utf-8".into(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_up_then_meet_the_minimum_and_cents_round_half_up() {
        assert_eq!(billed_minutes(7, 15, 0), 15);
        assert_eq!(billed_minutes(15, 15, 0), 15);
        assert_eq!(billed_minutes(16, 15, 0), 30);
        assert_eq!(billed_minutes(5, 1, 30), 30, "the minimum");
        assert_eq!(billed_minutes(50, 6, 30), 54);
        // 20 minutes at 95.00 an hour = 31.666… → 31.67.
        assert_eq!(amount_cents(20, 9500), 3167);
        assert_eq!(amount_cents(90, 12000), 18000);
        assert_eq!(amount_cents(1, 1), 0, "a fiftieth of a cent is no cent");
        assert_eq!(amount_cents(30, 1), 1, "half a cent rounds up");
    }
}
