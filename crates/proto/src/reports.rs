//! Reports: the dashboard's figures (and, built on them, the client service reports).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{Priority, TicketStatus};

/// A period of whole days (`YYYY-MM-DD`, both included) in the organisation's time zone (the
/// SLA policy's), for every client or one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (included); at most 400 days after `from`.
    pub to: String,
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
}

/// How many, by a key (a status, a priority, an age bucket).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct CountBy {
    pub key: String,
    pub count: i64,
}

/// One day of the period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DayFigures {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Tickets opened that day.
    pub opened: i64,
    /// Tickets resolved that day.
    pub closed: i64,
    /// Alerts that opened that day.
    pub alerts: i64,
}

/// SLA targets of tickets opened in the period: met, missed, and not decided yet.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Compliance {
    pub met: i64,
    pub missed: i64,
    /// Still running (no answer yet and not late yet).
    pub pending: i64,
    /// met / (met + missed), in percent; None when nothing is decided.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct PriorityCompliance {
    pub priority: Priority,
    pub first_response: Compliance,
    pub resolution: Compliance,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ClientFigures {
    pub client_id: Uuid,
    pub client_name: String,
    /// Tickets opened in the period.
    pub tickets: i64,
    /// Minutes of time entries started in the period.
    pub minutes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct TechnicianHours {
    pub user_id: Uuid,
    pub name: String,
    pub billable_minutes: i64,
    pub other_minutes: i64,
}

/// The endpoints as they are now.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct FleetHealth {
    pub endpoints: i64,
    pub online: i64,
    pub offline: i64,
    pub with_open_alerts: i64,
    /// Endpoints with at least one update waiting.
    pub pending_updates: i64,
    pub reboot_needed: i64,
}

/// The dashboard: the desk and the fleet for a period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Dashboard {
    pub from: String,
    pub to: String,
    /// The zone the days are counted in.
    pub time_zone: String,
    pub client_id: Option<Uuid>,
    /// Unfinished tickets now, by priority (critical first) and by status.
    pub open_by_priority: Vec<CountBy>,
    pub open_by_status: Vec<CountBy>,
    /// Unfinished tickets now, by age: `under_1d`, `1_3d`, `3_7d`, `7_30d`, `over_30d`.
    pub backlog_age: Vec<CountBy>,
    pub opened: i64,
    pub closed: i64,
    pub days: Vec<DayFigures>,
    pub first_response: Compliance,
    pub resolution: Compliance,
    pub by_priority: Vec<PriorityCompliance>,
    /// Mean minutes (wall clock) from opening to the first response, and to resolution, of
    /// tickets opened in the period that have one.
    pub mean_first_response_minutes: Option<f64>,
    pub mean_resolution_minutes: Option<f64>,
    /// At most 10 each, the most first.
    pub top_clients_by_tickets: Vec<ClientFigures>,
    pub top_clients_by_hours: Vec<ClientFigures>,
    pub technicians: Vec<TechnicianHours>,
    pub fleet: FleetHealth,
    pub alerts_opened: i64,
}

/// Which dashboard chart.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DashboardChartKind {
    /// Tickets opened and resolved per day.
    TicketsPerDay,
    /// Alerts opened per day.
    AlertsPerDay,
    /// First response and resolution met, in percent, per priority.
    SlaByPriority,
}

/// One dashboard chart for a period (the dashboard's filter) drawn by the core.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardChartQuery {
    pub chart: DashboardChartKind,
    pub from: String,
    pub to: String,
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    /// Default light.
    #[serde(default)]
    #[ts(optional)]
    pub theme: Option<crate::ChartTheme>,
    /// Pixels, 200..=2400 (default 720).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 200, maximum = 2400)]
    pub width: Option<u32>,
    /// Pixels, 120..=1600 (default 240).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 120, maximum = 1600)]
    pub height: Option<u32>,
}

/// A part of a chart a person can click: a day or a priority, where it is drawn (fractions
/// 0–1 of the image's width and height).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ChartRegion {
    /// The day (`YYYY-MM-DD`) or the priority it stands for.
    pub key: String,
    /// What it shows, in words (its tooltip).
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DashboardChart {
    pub kind: DashboardChartKind,
    pub svg: String,
    /// A sentence for screen readers and the image's alt text.
    pub summary: String,
    pub regions: Vec<ChartRegion>,
}

/// The dashboard and all its charts for a period, from one count.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardChartsQuery {
    pub from: String,
    pub to: String,
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    /// Default light.
    #[serde(default)]
    #[ts(optional)]
    pub theme: Option<crate::ChartTheme>,
    /// Pixels per chart, 200..=2400 (default 720).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 200, maximum = 2400)]
    pub width: Option<u32>,
    /// Pixels per chart, 120..=1600 (default 240).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 120, maximum = 1600)]
    pub height: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DashboardWithCharts {
    pub dashboard: Dashboard,
    /// Tickets per day, SLA by priority, alerts per day.
    pub charts: Vec<DashboardChart>,
}

/// The parts of a client service report, in print order. Each can be switched off per client.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// The period's key figures (the dashboard's, for this client).
    Summary,
    /// Tickets opened and resolved per day.
    TicketsPerDay,
    /// First response and resolution by priority, with the breaches listed.
    Sla,
    /// Hours per technician and per ticket.
    Time,
    /// The endpoints now: by OS, disks near full, not seen, updates, reboots, software.
    Endpoints,
    /// Alerts of the period and what was done.
    Alerts,
    /// Scripts run on the client's endpoints.
    Scripts,
    /// Every ticket of the period.
    Appendix,
}

impl ReportSection {
    pub const ALL: [ReportSection; 8] = [
        ReportSection::Summary,
        ReportSection::TicketsPerDay,
        ReportSection::Sla,
        ReportSection::Time,
        ReportSection::Endpoints,
        ReportSection::Alerts,
        ReportSection::Scripts,
        ReportSection::Appendix,
    ];
}

/// A client's report for a period: whole days in the client's time zone (its first site's;
/// the organisation's when it has none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientReportQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (included).
    pub to: String,
}

/// What `GET /reports/clients/{client_id}` returns.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    #[default]
    Pdf,
    /// One table as CSV (`table=`).
    Csv,
}

/// The report's tables that export as CSV.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReportTable {
    Tickets,
    Time,
    Endpoints,
    Alerts,
}

/// The report as a file (PDF, or one table as CSV).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientReportFileQuery {
    pub from: String,
    pub to: String,
    #[serde(default)]
    #[ts(optional)]
    pub format: Option<ReportFormat>,
    /// Which table, with `format=csv`.
    #[serde(default)]
    #[ts(optional)]
    pub table: Option<ReportTable>,
}

/// A report file for the desktop app (bytes as base64), with the name to save it under.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportFile {
    pub file_name: String,
    pub content_type: String,
    pub data_base64: String,
}

/// Who the report is from: the MSP's name and logo, printed on every cover.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportBranding {
    pub msp_name: String,
    /// `image/png` or `image/jpeg` when a logo is set.
    pub logo_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetReportBranding {
    /// 1–120 characters.
    pub msp_name: String,
    /// A PNG or JPEG of at most 2 MiB, base64; `null` keeps the logo, `""` removes it.
    #[serde(default)]
    #[ts(optional)]
    pub logo_base64: Option<String>,
}

/// Which sections a client's report prints (all unless switched off).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ClientReportSettings {
    pub client_id: Uuid,
    pub sections: Vec<ReportSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetClientReportSettings {
    /// The sections to print, any order (printed in the report's order); at least one.
    pub sections: Vec<ReportSection>,
}

/// A ticket whose SLA target was missed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportBreach {
    pub number: i64,
    pub title: String,
    pub priority: Priority,
    /// `first response` or `resolution`.
    pub target: String,
    /// When it was due, in the report's zone (`YYYY-MM-DD HH:MM`).
    pub due: String,
    /// Minutes late: when it was met late, or until now if it is still open.
    pub late_minutes: i64,
    /// Met late (false: still not met at the time of the report).
    pub met_late: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportTicketTime {
    pub number: i64,
    pub title: String,
    pub billable_minutes: i64,
    pub other_minutes: i64,
}

/// One time entry started in the period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportTimeEntry {
    /// `YYYY-MM-DD HH:MM` in the report's zone.
    pub started: String,
    pub technician: String,
    pub ticket_number: i64,
    pub ticket_title: String,
    pub minutes: i64,
    pub billable: bool,
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportTime {
    pub billable_minutes: i64,
    pub other_minutes: i64,
    pub technicians: Vec<TechnicianHours>,
    /// Tickets with time in the period, the most billable first.
    pub tickets: Vec<ReportTicketTime>,
    pub entries: Vec<ReportTimeEntry>,
}

/// One endpoint of the client, as it is now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportEndpoint {
    pub name: String,
    pub kind: String,
    pub os: String,
    pub site: String,
    pub online: bool,
    /// `YYYY-MM-DD HH:MM` in the report's zone; empty if never seen.
    pub last_seen: String,
    pub health: String,
    /// The fullest disk, percent used.
    pub disk_used_percent: Option<f64>,
    pub pending_updates: Option<i64>,
    pub security_updates: Option<i64>,
    pub reboot_required: bool,
    /// Not seen for 30 days or more (or never).
    pub stale: bool,
}

/// A disk at 90 % or more.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportDisk {
    pub endpoint: String,
    pub mount: String,
    pub used_percent: f64,
    pub free_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportEndpoints {
    pub total: i64,
    pub online: i64,
    pub by_os: Vec<CountBy>,
    pub disks_near_full: Vec<ReportDisk>,
    /// Names of endpoints not seen for 30 days or more.
    pub not_seen_30_days: Vec<String>,
    pub pending_updates: i64,
    pub reboot_needed: i64,
    /// The most installed software, at most 15.
    pub software: Vec<CountBy>,
    pub endpoints: Vec<ReportEndpoint>,
}

/// An alert that opened in the period, and what came of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportAlert {
    pub opened: String,
    pub endpoint: String,
    pub priority: Priority,
    pub message: String,
    /// `firing` or `cleared`.
    pub state: String,
    pub cleared: String,
    pub ticket_number: Option<i64>,
    /// In words: "cleared after 2 h 5 min; ticket #123 resolved".
    pub outcome: String,
}

/// A script run on one of the client's endpoints in the period.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportRun {
    pub at: String,
    pub script: String,
    pub endpoint: String,
    pub signed_by: String,
    pub outcome: String,
    pub exit_code: Option<i64>,
}

/// One ticket opened in the period (or resolved in it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportTicket {
    pub number: i64,
    pub opened: String,
    pub title: String,
    pub priority: Priority,
    pub status: TicketStatus,
    pub resolved: String,
    pub contact: String,
    pub minutes: i64,
}

/// A client service report: every number and table it prints. The summary is the dashboard
/// for this client and period, so both say the same.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ClientReport {
    pub client_id: Uuid,
    pub client_name: String,
    pub msp_name: String,
    pub has_logo: bool,
    pub from: String,
    pub to: String,
    /// "November 2026" for a calendar month, else "3 Nov 2026 – 18 Nov 2026".
    pub period_label: String,
    pub time_zone: String,
    /// When it was made, in the report's zone.
    pub made_at: String,
    /// The sections printed, in order.
    pub sections: Vec<ReportSection>,
    pub summary: Dashboard,
    pub breaches: Vec<ReportBreach>,
    pub time: ReportTime,
    pub endpoints: ReportEndpoints,
    pub alerts: Vec<ReportAlert>,
    pub runs: Vec<ReportRun>,
    pub tickets: Vec<ReportTicket>,
    /// True when the period holds no ticket, time, alert or run (the report says so).
    pub empty: bool,
}

/// The report as the console previews it: its first pages as SVG images, and the model.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ClientReportPreview {
    pub report: ClientReport,
    /// The first pages (at most 12), as SVG images.
    pub pages: Vec<String>,
    /// How many pages the PDF has.
    pub page_count: i64,
}

/// A client's report schedule: on `day_of_month` (the client's zone) the previous month's
/// report is made, kept in the history and mailed to the recipients.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportSchedule {
    pub client_id: Uuid,
    /// False when the client has no schedule yet (the rest are the defaults).
    pub scheduled: bool,
    pub enabled: bool,
    pub day_of_month: i64,
    /// Contacts of the client who get the report (each has an email address).
    pub recipients: Vec<Uuid>,
    /// The next report it will make, in words ("December 2026, on 1 January 2027").
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetReportSchedule {
    pub enabled: bool,
    /// 1–28, so every month has the day.
    pub day_of_month: i64,
    /// Contacts of this client, each with an email address; at least one when enabled.
    pub recipients: Vec<Uuid>,
}

/// A report kept in the history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ReportHistoryEntry {
    pub id: Uuid,
    pub client_id: Uuid,
    pub from: String,
    pub to: String,
    pub period_label: String,
    pub made_at: chrono::DateTime<chrono::Utc>,
    /// Who made it (`Report schedule` for a schedule).
    pub made_by: String,
    pub by_schedule: bool,
    pub file_name: String,
    pub size_bytes: i64,
    pub mailed_to: Vec<String>,
    /// The mail's state in the outbox (`queued`, `sent`, `failed`…), when it was mailed.
    pub mail_state: Option<String>,
}

/// An hourly rate for one technician or one client, in cents of the currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct BillingRate {
    pub subject_id: Uuid,
    /// The technician's or client's name (ignored when set).
    #[serde(default)]
    pub name: String,
    pub rate_cents: i64,
}

/// How billable time becomes money: a default hourly rate, rates per technician and per
/// client (the client's wins), and each entry rounded up then raised to a minimum.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct BillingSettings {
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    pub default_rate_cents: i64,
    /// Each entry is rounded up to a multiple of this (1–60; 1 = exact).
    pub round_to_minutes: i64,
    /// And then raised to at least this (0–480).
    pub minimum_minutes: i64,
    pub technician_rates: Vec<BillingRate>,
    pub client_rates: Vec<BillingRate>,
}

/// Billable time of a period as CSV, for every client (days in the organisation's zone) or
/// one (days in the client's zone, as its report counts them).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BillingExportQuery {
    pub from: String,
    pub to: String,
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
}
