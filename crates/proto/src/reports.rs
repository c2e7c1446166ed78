//! Reports: the dashboard's figures (and, built on them, the client service reports).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::Priority;

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
