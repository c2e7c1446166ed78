//! The client service report: what the MSP did for one client in a period, as a model (every
//! number and table it prints), as PDF through the host's typesetter, and as CSV per table.
//!
//! The period is whole days in the client's zone (its first site's; the organisation's when it
//! has none). The summary is `dashboard_in` for the client in that zone, so the dashboard with
//! the same filter shows the same numbers. The tables are read in one snapshot.

use super::dashboard::{draw_chart, ChartStyle};
use super::Period;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{Actor, Core};
use chrono::{Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use outpost_proto::{
    ClientReport, ClientReportFileQuery, ClientReportPreview, ClientReportQuery,
    ClientReportSettings, CountBy, DashboardChartKind, Inventory, Priority, ReportAlert,
    ReportBranding, ReportBreach, ReportDisk, ReportEndpoint, ReportEndpoints, ReportFile,
    ReportFormat, ReportRun, ReportSection, ReportTable, ReportTicket, ReportTicketTime,
    ReportTime, ReportTimeEntry, SetClientReportSettings, SetReportBranding, TechnicianHours,
    TicketStatus,
};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;
/// A disk this full is listed.
const DISK_NEAR_FULL: f64 = 90.0;
const SOFTWARE_TOP: usize = 15;
const LOGO_MAX_BYTES: usize = 2 * 1024 * 1024;
const MSP_NAME_MAX: usize = 120;
/// Pages the preview draws (a big month has hundreds; the PDF has them all).
const PREVIEW_PAGES: usize = 12;

/// What a host gives the core to print with (the server and the desktop app install Typst's,
/// from `outpost-report`; the core itself does not link the engine: it is heavy to build).
pub trait Typesetter: Send + Sync {
    /// The client report's PDF from its model (JSON) and the files it names.
    fn client_report_pdf(&self, job: &PrintJob) -> Result<Vec<u8>, String>;
    /// The first `limit` of the same pages, each as an SVG image (the preview), and the
    /// number of pages.
    fn client_report_pages(
        &self,
        job: &PrintJob,
        limit: usize,
    ) -> Result<(Vec<String>, usize), String>;
    /// Whether these bytes print as an image (a logo is checked with the engine that draws it).
    fn check_image(&self, bytes: &[u8]) -> Result<(), String>;
}

/// A report to print: its model as JSON, the files the model names, and the day it was made.
pub struct PrintJob {
    pub data: Vec<u8>,
    pub files: Vec<(String, Vec<u8>)>,
    pub made_on: NaiveDate,
}

#[derive(Default)]
struct Printer(RwLock<Option<Arc<dyn Typesetter>>>);

/// The file names the template reads.
pub const CHART_TICKETS: &str = "chart-tickets.svg";
pub const CHART_SLA: &str = "chart-sla.svg";
pub const CHART_ALERTS: &str = "chart-alerts.svg";
pub const LOGO: &str = "logo";

impl Core {
    /// Lets this store print reports (called once by the host at start).
    pub fn set_typesetter(&self, typesetter: Arc<dyn Typesetter>) {
        let printer = self.domain_state::<Printer>();
        *printer.0.write().unwrap_or_else(|p| p.into_inner()) = Some(typesetter);
    }

    fn typesetter(&self) -> CoreResult<Arc<dyn Typesetter>> {
        let printer = self.domain_state::<Printer>();
        let t = printer.0.read().unwrap_or_else(|p| p.into_inner()).clone();
        t.ok_or_else(|| CoreError::Unavailable("this program cannot print reports".into()))
    }

    /// The zone a client's days are counted in: its first site's, else the organisation's.
    pub(crate) async fn client_zone(&self, client: Uuid) -> CoreResult<Tz> {
        let site_zone: Option<String> = sqlx::query_scalar(
            "SELECT timezone FROM sites WHERE client_id = ? ORDER BY created_at, id LIMIT 1",
        )
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match site_zone.and_then(|z| z.parse::<Tz>().ok()) {
            Some(zone) => Ok(zone),
            None => self.organisation_zone().await,
        }
    }

    pub async fn report_branding(&self, actor: &Actor) -> CoreResult<ReportBranding> {
        let _ = actor;
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT msp_name, logo_type FROM report_branding WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        let (msp_name, logo_type) = row.unwrap_or_else(|| ("Your MSP".into(), None));
        Ok(ReportBranding {
            msp_name,
            logo_type,
        })
    }

    pub async fn set_report_branding(
        &self,
        actor: &Actor,
        req: &SetReportBranding,
    ) -> CoreResult<ReportBranding> {
        actor.require_admin()?;
        let name = req.msp_name.trim();
        if name.is_empty() || name.chars().count() > MSP_NAME_MAX {
            return Err(invalid(format!(
                "msp_name: give the name printed on reports, 1–{MSP_NAME_MAX} characters"
            )));
        }
        // None keeps the logo; "" removes it; anything else must print as an image.
        let logo: Option<Option<(Vec<u8>, &str)>> = match req.logo_base64.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(b64) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| invalid("logo_base64: not base64"))?;
                if bytes.len() > LOGO_MAX_BYTES {
                    return Err(invalid(format!(
                        "the logo has {} bytes; use one of at most 2 MiB",
                        bytes.len()
                    )));
                }
                let kind =
                    match crate::desk::attachments::content_type_of("logo", &bytes) {
                        k @ ("image/png" | "image/jpeg") => k,
                        _ => return Err(invalid(
                            "the logo is not a PNG or JPEG image; export it as PNG and try again",
                        )),
                    };
                self.typesetter()?.check_image(&bytes).map_err(|e| {
                    invalid(format!(
                        "the logo could not be read as an image ({e}); export it again as PNG"
                    ))
                })?;
                Some(Some((bytes, kind)))
            }
        };
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        sqlx::query(
            "INSERT INTO report_branding (id, msp_name, updated_at) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET msp_name = ?1, updated_at = ?2",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        let logo_change = match &logo {
            None => "kept",
            Some(None) => "removed",
            Some(Some(_)) => "replaced",
        };
        if let Some(logo) = logo {
            let (bytes, kind) = match logo {
                Some((b, k)) => (Some(b), Some(k)),
                None => (None, None),
            };
            sqlx::query("UPDATE report_branding SET logo = ?, logo_type = ? WHERE id = 1")
                .bind(bytes)
                .bind(kind)
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            "report_branding.update",
            "report_branding",
            Uuid::nil(),
            None,
            Some(serde_json::json!({"msp_name": name, "logo": logo_change})),
        )
        .await?;
        w.commit().await?;
        self.report_branding(actor).await
    }

    async fn logo(&self) -> CoreResult<Option<Vec<u8>>> {
        let logo: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT logo FROM report_branding WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(logo.flatten())
    }

    /// A client named by its id or its name (any case), for the command line.
    pub async fn find_client(&self, actor: &Actor, name_or_id: &str) -> CoreResult<Uuid> {
        let wanted = name_or_id.trim();
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM clients WHERE id = ?1 OR name = ?1 COLLATE NOCASE ORDER BY id = ?1 DESC LIMIT 1",
        )
        .bind(wanted)
        .fetch_optional(&self.pool)
        .await?;
        let id = id.and_then(|i| i.parse::<Uuid>().ok()).ok_or_else(|| {
            CoreError::NotFound(format!("no client is named or numbered '{wanted}'"))
        })?;
        actor.require_client(id)?;
        Ok(id)
    }

    pub(crate) async fn require_report_client(
        &self,
        actor: &Actor,
        client: Uuid,
    ) -> CoreResult<String> {
        actor.require_client(client)?;
        sqlx::query_scalar("SELECT name FROM clients WHERE id = ?")
            .bind(client.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("client {client} does not exist")))
    }

    pub async fn client_report_settings(
        &self,
        actor: &Actor,
        client: Uuid,
    ) -> CoreResult<ClientReportSettings> {
        self.require_report_client(actor, client).await?;
        let off: Vec<String> = sqlx::query_scalar(
            "SELECT section FROM client_report_sections_off WHERE client_id = ?",
        )
        .bind(client.to_string())
        .fetch_all(&self.pool)
        .await?;
        let sections = ReportSection::ALL
            .into_iter()
            .filter(|s| !off.iter().any(|o| o == section_key(*s)))
            .collect();
        Ok(ClientReportSettings {
            client_id: client,
            sections,
        })
    }

    pub async fn set_client_report_settings(
        &self,
        actor: &Actor,
        client: Uuid,
        req: &SetClientReportSettings,
    ) -> CoreResult<ClientReportSettings> {
        actor.require_write()?;
        self.require_report_client(actor, client).await?;
        if req.sections.is_empty() {
            return Err(invalid(
                "sections: keep at least one section, or the report has nothing to say",
            ));
        }
        let mut w = self.write(actor).await?;
        sqlx::query("DELETE FROM client_report_sections_off WHERE client_id = ?")
            .bind(client.to_string())
            .execute(&mut *w.tx)
            .await?;
        for s in ReportSection::ALL {
            if !req.sections.contains(&s) {
                sqlx::query(
                    "INSERT INTO client_report_sections_off (client_id, section) VALUES (?, ?)",
                )
                .bind(client.to_string())
                .bind(section_key(s))
                .execute(&mut *w.tx)
                .await?;
            }
        }
        let on: Vec<&str> = ReportSection::ALL
            .into_iter()
            .filter(|s| req.sections.contains(s))
            .map(section_key)
            .collect();
        w.audit(
            "client_report_settings.update",
            "client",
            client,
            None,
            Some(serde_json::json!({ "sections": on })),
        )
        .await?;
        w.commit().await?;
        self.client_report_settings(actor, client).await
    }

    /// Every number and table of a client's report for a period.
    pub async fn client_report(
        &self,
        actor: &Actor,
        client: Uuid,
        q: &ClientReportQuery,
    ) -> CoreResult<ClientReport> {
        let client_name = self.require_report_client(actor, client).await?;
        let zone = self.client_zone(client).await?;
        let period = Period::parse(&q.from, &q.to, zone)?;
        let summary = self.dashboard_in(actor, &period, Some(client)).await?;
        let sections = self.client_report_settings(actor, client).await?.sections;
        let branding = self.report_branding(actor).await?;
        let now = self.now();
        let now_ms = now.timestamp_millis();
        let (start, end) = (period.start_ms(), period.end_ms());
        let c = client.to_string();
        let at = |ms: Option<i64>| ms.map(|ms| local(zone, ms)).unwrap_or_default();

        // The tables, in one snapshot.
        let mut read = self.pool.begin().await?;
        let ticket_rows = sqlx::query(
            "SELECT t.id, t.number, t.title, t.priority, t.status, t.created_at, t.resolved_at, \
               coalesce(k.name, '') AS contact, t.fr_due, t.res_due, t.paused_since, \
               coalesce(t.first_response_at, t.resolved_at) AS answered \
             FROM tickets t LEFT JOIN contacts k ON k.id = t.contact_id \
             WHERE t.client_id = ?1 AND ((t.created_at >= ?2 AND t.created_at < ?3) \
               OR (t.resolved_at >= ?2 AND t.resolved_at < ?3)) \
             ORDER BY t.number",
        )
        .bind(&c)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *read)
        .await?;
        let entry_rows = sqlx::query(
            "SELECT e.started_at, e.minutes, e.billable, e.note, e.technician_id, \
               coalesce(u.display_name, '') AS technician, t.id AS ticket_id, t.number, t.title \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
             LEFT JOIN users u ON u.id = e.technician_id \
             WHERE t.client_id = ?1 AND e.started_at >= ?2 AND e.started_at < ?3 \
             ORDER BY e.started_at, e.id",
        )
        .bind(&c)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *read)
        .await?;
        let endpoint_rows = sqlx::query(
            "SELECT a.name, a.kind, a.os, coalesce(si.name, '') AS site, s.online, s.last_seen, \
               s.health, s.disk_pct, s.pending_updates, s.reboot_required, s.inventory \
             FROM endpoint_status s JOIN assets a ON a.id = s.asset_id \
             LEFT JOIN sites si ON si.id = a.site_id \
             WHERE a.client_id = ? ORDER BY a.name COLLATE NOCASE, a.id",
        )
        .bind(&c)
        .fetch_all(&mut *read)
        .await?;
        let alert_rows = sqlx::query(
            "SELECT al.opened_at, a.name AS endpoint, al.priority, al.message, al.state, \
               al.cleared_at, al.acknowledged_at, coalesce(u.display_name, '') AS acknowledged_by, \
               t.number AS ticket_number, t.status AS ticket_status \
             FROM alerts al JOIN assets a ON a.id = al.asset_id \
             LEFT JOIN tickets t ON t.id = al.ticket_id \
             LEFT JOIN users u ON u.id = al.acknowledged_by \
             WHERE a.client_id = ?1 AND al.opened_at >= ?2 AND al.opened_at < ?3 \
             ORDER BY al.opened_at, al.id",
        )
        .bind(&c)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *read)
        .await?;
        let run_rows = sqlx::query(
            "SELECT coalesce(r.started_at, r.created_at) AS at, \
               coalesce((SELECT v.name FROM script_versions v WHERE v.script_id = r.script_id \
                 AND v.version = r.script_version ORDER BY v.created_at DESC LIMIT 1), '') AS script, \
               a.name AS endpoint, r.signer_name, r.state, r.outcome, r.exit_code, r.refusal \
             FROM runs r JOIN assets a ON a.id = r.asset_id \
             WHERE r.client_id = ?1 AND r.state NOT IN ('scheduled', 'standby') \
               AND coalesce(r.started_at, r.created_at) >= ?2 \
               AND coalesce(r.started_at, r.created_at) < ?3 \
             ORDER BY at, r.id",
        )
        .bind(&c)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *read)
        .await?;
        read.commit().await?;

        // Time: per entry, per technician, per ticket.
        let mut time = ReportTime::default();
        let mut per_ticket: HashMap<String, ReportTicketTime> = HashMap::new();
        let mut per_person: HashMap<String, TechnicianHours> = HashMap::new();
        let mut ticket_minutes: HashMap<String, i64> = HashMap::new();
        for r in &entry_rows {
            let minutes: i64 = r.get("minutes");
            let billable: bool = r.get::<i64, _>("billable") != 0;
            let ticket_id: String = r.get("ticket_id");
            let number: i64 = r.get("number");
            let title: String = r.get("title");
            let technician: String = r.get("technician");
            let t = per_ticket
                .entry(ticket_id.clone())
                .or_insert_with(|| ReportTicketTime {
                    number,
                    title: title.clone(),
                    billable_minutes: 0,
                    other_minutes: 0,
                });
            let tech_id: String = r.get("technician_id");
            let p = per_person
                .entry(tech_id.clone())
                .or_insert_with(|| TechnicianHours {
                    user_id: tech_id.parse().unwrap_or_default(),
                    name: technician.clone(),
                    billable_minutes: 0,
                    other_minutes: 0,
                });
            if billable {
                t.billable_minutes += minutes;
                p.billable_minutes += minutes;
                time.billable_minutes += minutes;
            } else {
                t.other_minutes += minutes;
                p.other_minutes += minutes;
                time.other_minutes += minutes;
            }
            *ticket_minutes.entry(ticket_id).or_default() += minutes;
            time.entries.push(ReportTimeEntry {
                started: local(zone, r.get("started_at")),
                technician,
                ticket_number: number,
                ticket_title: title,
                minutes,
                billable,
                note: r.get("note"),
            });
        }
        time.tickets = per_ticket.into_values().collect();
        time.tickets.sort_by(|a, b| {
            (b.billable_minutes, b.other_minutes, a.number).cmp(&(
                a.billable_minutes,
                a.other_minutes,
                b.number,
            ))
        });
        time.technicians = per_person.into_values().collect();
        time.technicians.sort_by(|a, b| {
            (b.billable_minutes + b.other_minutes)
                .cmp(&(a.billable_minutes + a.other_minutes))
                .then_with(|| a.name.cmp(&b.name))
        });

        // Tickets and their breaches (the dashboard's rules: see dashboard.rs).
        let mut tickets = Vec::with_capacity(ticket_rows.len());
        let mut breaches = Vec::new();
        for r in &ticket_rows {
            let id: String = r.get("id");
            let number: i64 = r.get("number");
            let title: String = r.get("title");
            let priority = Priority::parse(r.get("priority")).unwrap_or(Priority::Normal);
            let created: i64 = r.get("created_at");
            let resolved: Option<i64> = r.get("resolved_at");
            tickets.push(ReportTicket {
                number,
                opened: local(zone, created),
                title: title.clone(),
                priority,
                status: TicketStatus::parse(r.get("status")).unwrap_or(TicketStatus::Open),
                resolved: at(resolved),
                contact: r.get("contact"),
                minutes: ticket_minutes.get(&id).copied().unwrap_or(0),
            });
            if created < start || created >= end {
                continue;
            }
            let answered: Option<i64> = r.get("answered");
            let fr_due: Option<i64> = r.get("fr_due");
            let res_due: Option<i64> = r.get("res_due");
            let paused: Option<i64> = r.get("paused_since");
            let mut breach = |target: &str, due: i64, done: Option<i64>| {
                breaches.push(ReportBreach {
                    number,
                    title: title.clone(),
                    priority,
                    target: target.into(),
                    due: local(zone, due),
                    late_minutes: (done.unwrap_or(now_ms) - due) / 60_000,
                    met_late: done.is_some(),
                })
            };
            if let Some(due) = fr_due {
                match answered {
                    Some(a) if a > due => breach("first response", due, Some(a)),
                    None if due < now_ms => breach("first response", due, None),
                    _ => {}
                }
            }
            if let Some(due) = res_due {
                match resolved {
                    Some(done) if done > due => breach("resolution", due, Some(done)),
                    None if paused.is_none() && due < now_ms => breach("resolution", due, None),
                    _ => {}
                }
            }
        }
        breaches.sort_by(|a, b| {
            (a.priority.rank(), a.number, a.target.as_str()).cmp(&(
                b.priority.rank(),
                b.number,
                b.target.as_str(),
            ))
        });

        // Endpoints as they are now.
        let mut endpoints = ReportEndpoints::default();
        let mut by_os: HashMap<String, i64> = HashMap::new();
        let mut software: HashMap<String, i64> = HashMap::new();
        for r in &endpoint_rows {
            let name: String = r.get("name");
            let online = r.get::<i64, _>("online") != 0;
            let last_seen: Option<i64> = r.get("last_seen");
            // Agent-sent JSON: anything unreadable counts as no inventory.
            let inventory: Option<Inventory> = r
                .get::<Option<String>, _>("inventory")
                .and_then(|j| serde_json::from_str(&j).ok());
            let os = inventory
                .as_ref()
                .and_then(|i| i.system.as_ref())
                .map(|s| format!("{} {}", s.os_name, s.os_version).trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| r.get("os"));
            let mut fullest: Option<f64> = r.get("disk_pct");
            if let Some(disks) = inventory.as_ref().and_then(|i| i.disks.as_ref()) {
                for d in disks.iter().filter(|d| !d.removable && d.total_bytes > 0) {
                    let used = (d.total_bytes.saturating_sub(d.free_bytes)) as f64 * 100.0
                        / d.total_bytes as f64;
                    let used = (used * 10.0).round() / 10.0;
                    fullest = Some(fullest.map_or(used, |f: f64| f.max(used)));
                    if used >= DISK_NEAR_FULL {
                        endpoints.disks_near_full.push(ReportDisk {
                            endpoint: name.clone(),
                            mount: d.mount.clone(),
                            used_percent: used,
                            free_bytes: d.free_bytes,
                            total_bytes: d.total_bytes,
                        });
                    }
                }
            }
            if let Some(list) = inventory.as_ref().and_then(|i| i.software.as_ref()) {
                let mut seen = std::collections::HashSet::new();
                for s in list {
                    if seen.insert(s.name.as_str()) {
                        *software.entry(s.name.clone()).or_default() += 1;
                    }
                }
            }
            let security = inventory
                .as_ref()
                .and_then(|i| i.updates.as_ref())
                .and_then(|u| u.pending.as_ref())
                .map(|p| p.iter().filter(|u| u.security).count() as i64);
            let pending: Option<i64> = r.get("pending_updates");
            let reboot = r.get::<i64, _>("reboot_required") != 0;
            let stale = last_seen.is_none_or(|s| s <= now_ms - 30 * DAY_MS);
            endpoints.total += 1;
            endpoints.online += online as i64;
            endpoints.pending_updates += (pending.unwrap_or(0) > 0) as i64;
            endpoints.reboot_needed += reboot as i64;
            if stale {
                endpoints.not_seen_30_days.push(name.clone());
            }
            *by_os
                .entry(if os.is_empty() {
                    "Unknown".into()
                } else {
                    os.clone()
                })
                .or_default() += 1;
            endpoints.endpoints.push(ReportEndpoint {
                name,
                kind: r.get("kind"),
                os,
                site: r.get("site"),
                online,
                last_seen: at(last_seen),
                health: r.get("health"),
                disk_used_percent: fullest,
                pending_updates: pending,
                security_updates: security,
                reboot_required: reboot,
                stale,
            });
        }
        endpoints.by_os = counted(by_os, usize::MAX);
        endpoints.software = counted(software, SOFTWARE_TOP);
        endpoints.disks_near_full.sort_by(|a, b| {
            b.used_percent
                .total_cmp(&a.used_percent)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });

        let alerts: Vec<ReportAlert> = alert_rows
            .iter()
            .map(|r| {
                let opened: i64 = r.get("opened_at");
                let cleared: Option<i64> = r.get("cleared_at");
                let state: String = r.get("state");
                let ticket_number: Option<i64> = r.get("ticket_number");
                let mut outcome = Vec::new();
                match cleared {
                    Some(c) => outcome.push(format!("cleared after {}", duration(c - opened))),
                    None => outcome.push("still firing".to_string()),
                }
                let acknowledged_by: String = r.get("acknowledged_by");
                if r.get::<Option<i64>, _>("acknowledged_at").is_some() {
                    outcome.push(if acknowledged_by.is_empty() {
                        "acknowledged".into()
                    } else {
                        format!("acknowledged by {acknowledged_by}")
                    });
                }
                if let Some(n) = ticket_number {
                    let status: Option<String> = r.get("ticket_status");
                    let status = status
                        .as_deref()
                        .and_then(TicketStatus::parse)
                        .map(status_words)
                        .unwrap_or("open");
                    outcome.push(format!("ticket #{n} {status}"));
                }
                ReportAlert {
                    opened: local(zone, opened),
                    endpoint: r.get("endpoint"),
                    priority: Priority::parse(r.get("priority")).unwrap_or(Priority::Normal),
                    message: r.get("message"),
                    state,
                    cleared: at(cleared),
                    ticket_number,
                    outcome: outcome.join("; "),
                }
            })
            .collect();

        let runs: Vec<ReportRun> = run_rows
            .iter()
            .map(|r| {
                let state: String = r.get("state");
                let outcome: Option<String> = r.get("outcome");
                let exit_code: Option<i64> = r.get("exit_code");
                let words = match (state.as_str(), outcome.as_deref(), exit_code) {
                    ("finished", Some("exited"), Some(0)) => "succeeded".to_string(),
                    ("finished", Some("exited"), Some(code)) => format!("failed (exit {code})"),
                    ("finished", Some("timed_out"), _) => "stopped: took too long".into(),
                    ("finished", Some("cancelled"), _) | ("cancelled", _, _) => "cancelled".into(),
                    ("finished", Some("failed"), _) => "could not start".into(),
                    ("refused", _, _) => format!(
                        "refused by the endpoint: {}",
                        r.get::<Option<String>, _>("refusal").unwrap_or_default()
                    ),
                    ("expired", _, _) => "expired before the endpoint took it".into(),
                    ("running", _, _) => "running".into(),
                    ("awaiting_approval", _, _) => "awaiting approval".into(),
                    _ => "waiting for the endpoint".into(),
                };
                ReportRun {
                    at: local(zone, r.get("at")),
                    script: r.get("script"),
                    endpoint: r.get("endpoint"),
                    signed_by: r.get("signer_name"),
                    outcome: words,
                    exit_code,
                }
            })
            .collect();

        let empty =
            tickets.is_empty() && time.entries.is_empty() && alerts.is_empty() && runs.is_empty();
        Ok(ClientReport {
            client_id: client,
            client_name,
            msp_name: branding.msp_name,
            has_logo: branding.logo_type.is_some(),
            from: period.from.to_string(),
            to: period.to.to_string(),
            period_label: period_label(period.from, period.to),
            time_zone: zone.name().to_string(),
            made_at: local(zone, now_ms),
            sections,
            summary,
            breaches,
            time,
            endpoints,
            alerts,
            runs,
            tickets,
            empty,
        })
    }

    /// What the typesetter needs for a report: the model and its charts (and logo).
    async fn print_job(&self, report: &ClientReport) -> CoreResult<PrintJob> {
        let style = ChartStyle {
            theme: None,
            width: Some(900),
            height: Some(300),
        };
        let mut files = Vec::new();
        for (name, kind) in [
            (CHART_TICKETS, DashboardChartKind::TicketsPerDay),
            (CHART_SLA, DashboardChartKind::SlaByPriority),
            (CHART_ALERTS, DashboardChartKind::AlertsPerDay),
        ] {
            let chart = draw_chart(&report.summary, kind, style)?;
            files.push((name.to_string(), chart.svg.into_bytes()));
        }
        if report.has_logo {
            if let Some(logo) = self.logo().await? {
                files.push((LOGO.to_string(), logo));
            }
        }
        let data = serde_json::to_vec(report).map_err(|e| CoreError::Internal(e.to_string()))?;
        let zone: Tz = report.time_zone.parse().unwrap_or(Tz::UTC);
        Ok(PrintJob {
            data,
            files,
            made_on: self.now().with_timezone(&zone).date_naive(),
        })
    }

    /// The report as PDF.
    pub async fn client_report_pdf(&self, report: &ClientReport) -> CoreResult<Vec<u8>> {
        let job = self.print_job(report).await?;
        let typesetter = self.typesetter()?;
        tokio::task::spawn_blocking(move || typesetter.client_report_pdf(&job))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?
            .map_err(|e| CoreError::Internal(format!("the report could not be printed: {e}")))
    }

    /// The report's pages as images, with the model (the console's preview).
    pub async fn client_report_preview(
        &self,
        actor: &Actor,
        client: Uuid,
        q: &ClientReportQuery,
    ) -> CoreResult<ClientReportPreview> {
        let report = self.client_report(actor, client, q).await?;
        let job = self.print_job(&report).await?;
        let typesetter = self.typesetter()?;
        let (pages, page_count) = tokio::task::spawn_blocking(move || {
            typesetter.client_report_pages(&job, PREVIEW_PAGES)
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|e| CoreError::Internal(format!("the report could not be printed: {e}")))?;
        Ok(ClientReportPreview {
            report,
            pages,
            page_count: page_count as i64,
        })
    }

    /// The report as a file: the PDF, or one table as CSV; with the name to save it under.
    pub async fn client_report_file(
        &self,
        actor: &Actor,
        client: Uuid,
        q: &ClientReportFileQuery,
    ) -> CoreResult<(String, &'static str, Vec<u8>)> {
        let format = q.format.unwrap_or_default();
        if format == ReportFormat::Pdf && q.table.is_some() {
            return Err(invalid(
                "table: only a CSV export has one table; add format=csv or leave table out",
            ));
        }
        let report = self
            .client_report(
                actor,
                client,
                &ClientReportQuery {
                    from: q.from.clone(),
                    to: q.to.clone(),
                },
            )
            .await?;
        let stem = format!(
            "{} service report {} to {}",
            safe_stem(&report.client_name),
            report.from,
            report.to
        );
        match format {
            ReportFormat::Pdf => Ok((
                format!("{stem}.pdf"),
                "application/pdf",
                self.client_report_pdf(&report).await?,
            )),
            ReportFormat::Csv => {
                let table = q.table.ok_or_else(|| {
                    invalid("table: say which table to export: tickets, time, endpoints or alerts")
                })?;
                let name = match table {
                    ReportTable::Tickets => "tickets",
                    ReportTable::Time => "time",
                    ReportTable::Endpoints => "endpoints",
                    ReportTable::Alerts => "alerts",
                };
                Ok((
                    format!("{stem} {name}.csv"),
                    "text/csv; charset=utf-8",
                    super::csv::report_table(&report, table),
                ))
            }
        }
    }

    /// The same, base64 (the desktop app's way to carry bytes).
    pub async fn client_report_download(
        &self,
        actor: &Actor,
        client: Uuid,
        q: &ClientReportFileQuery,
    ) -> CoreResult<ReportFile> {
        use base64::Engine;
        let (file_name, content_type, bytes) = self.client_report_file(actor, client, q).await?;
        Ok(ReportFile {
            file_name,
            content_type: content_type.to_string(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

pub(crate) fn section_key(s: ReportSection) -> &'static str {
    match s {
        ReportSection::Summary => "summary",
        ReportSection::TicketsPerDay => "tickets_per_day",
        ReportSection::Sla => "sla",
        ReportSection::Time => "time",
        ReportSection::Endpoints => "endpoints",
        ReportSection::Alerts => "alerts",
        ReportSection::Scripts => "scripts",
        ReportSection::Appendix => "appendix",
    }
}

fn status_words(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Resolved => "resolved",
        TicketStatus::Closed => "closed",
        TicketStatus::WaitingOnClient => "waiting on the client",
        _ => "open",
    }
}

/// `YYYY-MM-DD HH:MM` in the zone.
pub(crate) fn local(zone: Tz, ms: i64) -> String {
    zone.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// "2 h 5 min", "3 d 4 h", "12 min".
pub(crate) fn duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// "November 2026" for one whole calendar month, else both days.
pub fn period_label(from: NaiveDate, to: NaiveDate) -> String {
    let month_end = from
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .and_then(|d| d.checked_sub_days(Days::new(1)));
    if from.day() == 1 && Some(to) == month_end {
        return from.format("%B %Y").to_string();
    }
    if from == to {
        return from.format("%-d %b %Y").to_string();
    }
    format!("{} – {}", from.format("%-d %b %Y"), to.format("%-d %b %Y"))
}

/// The calendar month before the one `today` is in.
pub fn previous_month(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first_this = today.with_day(1).expect("day 1 exists");
    let last_prev = first_this.pred_opt().expect("in range");
    (last_prev.with_day(1).expect("day 1 exists"), last_prev)
}

fn counted(map: HashMap<String, i64>, top: usize) -> Vec<CountBy> {
    let mut v: Vec<CountBy> = map
        .into_iter()
        .map(|(key, count)| CountBy { key, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v.truncate(top);
    v
}

/// A client's name as part of a file name (no path separators or control characters).
pub(crate) fn safe_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    let s = s.trim().trim_start_matches('.').to_string();
    if s.is_empty() {
        "Client".into()
    } else {
        s.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_month_is_named_by_its_month() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period_label(d("2026-11-01"), d("2026-11-30")),
            "November 2026"
        );
        assert_eq!(
            period_label(d("2024-02-01"), d("2024-02-29")),
            "February 2024"
        );
        assert_eq!(
            period_label(d("2026-11-03"), d("2026-11-18")),
            "3 Nov 2026 – 18 Nov 2026"
        );
        assert_eq!(period_label(d("2026-12-04"), d("2026-12-04")), "4 Dec 2026");
        assert_eq!(
            previous_month(d("2026-01-01")),
            (d("2025-12-01"), d("2025-12-31"))
        );
        assert_eq!(
            previous_month(d("2026-03-31")),
            (d("2026-02-01"), d("2026-02-28"))
        );
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(duration(12 * 60_000), "12 min");
        assert_eq!(duration(125 * 60_000), "2 h 5 min");
        assert_eq!(duration((3 * 1440 + 240) * 60_000), "3 d 4 h");
        assert_eq!(safe_stem("../Acme: Dental"), "-Acme- Dental");
    }
}
