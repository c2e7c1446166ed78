//! Endpoints: what the agent and the gateway say to each other (over the agent's WebSocket),
//! enrollment, and what consoles read about an endpoint (its health, inventory, metrics).
//!
//! Everything an agent sends is hostile input: these types only give it a shape; the core
//! checks every value (sizes, ranges, times) before anything is stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

// ---------------------------------------------------------------- enrollment

/// An admin's one-time (or few-times) permission for machines to join a client.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollmentToken {
    pub client_id: Uuid,
    #[serde(default)]
    #[ts(optional)]
    pub site_id: Option<Uuid>,
    /// 1..=8760 (a year).
    #[schema(minimum = 1, maximum = 8760)]
    pub expires_in_hours: i64,
    /// How many machines may enroll with it, 1..=10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub max_uses: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct EnrollmentToken {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub site_id: Option<Uuid>,
    pub site_name: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub max_uses: i64,
    pub uses: i64,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// `active`, `expired`, `used_up` or `revoked`.
    pub state: String,
}

/// A token as it is made: the secret is shown this once (only its hash is kept).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct EnrollmentTokenCreated {
    pub token: String,
    pub enrollment: EnrollmentToken,
}

/// What the console needs to show the ready "add endpoint" command.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct GatewayInfo {
    /// The address agents should use, when the server was told it (`--public-url`).
    pub public_url: Option<String>,
    /// The server certificate's SHA-256 fingerprint, which agents pin (https only).
    pub fingerprint: Option<String>,
    /// Agents connected to this server now.
    pub connected_agents: i64,
}

/// An agent asking to join: `POST /api/v1/agent/enroll`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub token: String,
    /// The machine's identity: a keyed SHA-256 of its OS machine id (and SMBIOS uuid), hex.
    pub machine_fingerprint: String,
    /// The agent's Ed25519 public key, hex.
    pub public_key: String,
    pub hostname: String,
    pub os: String,
    pub agent_version: String,
    /// The root key fingerprint the admin's command gave (`--root`): the server refuses the
    /// enrollment, storing nothing, when its root is another.
    #[serde(default)]
    #[ts(optional)]
    pub root_fingerprint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct EnrollResponse {
    pub agent_id: Uuid,
    pub asset_id: Uuid,
    /// The secret the agent presents when it connects; the server keeps only its hash.
    pub credential: String,
    /// The machine was known (a reinstall): it keeps its asset and history.
    pub reattached: bool,
    /// The client the token enrolled it for (run requests name it).
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    /// The organisation's root public key (hex), when it has one: the agent pins it (after
    /// checking it against `--root` when given).
    #[serde(default)]
    #[ts(optional)]
    pub root_key: Option<String>,
}

// ---------------------------------------------------------------- the agent's channel

/// min/avg/max over a window of samples.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
pub struct Stat {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DiskUse {
    pub mount: String,
    /// Percent of the file system in use.
    pub used_pct: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ProcessUse {
    pub name: String,
    pub pid: u32,
    /// Percent of one core.
    pub cpu_pct: f64,
    pub memory_bytes: u64,
}

/// One minute of an endpoint's health.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub seq: u64,
    /// The end of the window.
    pub at: DateTime<Utc>,
    pub window_secs: u32,
    pub samples: u32,
    /// Percent of all cores.
    pub cpu: Stat,
    pub memory: Stat,
    pub disks: Vec<DiskUse>,
    /// Bytes per second received and sent, all interfaces.
    pub net_in: Stat,
    pub net_out: Stat,
    /// Degrees Celsius, the hottest sensor, where the OS exposes one.
    #[serde(default)]
    pub temperature: Option<Stat>,
    /// The busiest processes at the end of the window (for CPU and memory alerts).
    #[serde(default)]
    pub top_processes: Vec<ProcessUse>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
pub struct SystemInfo {
    pub hostname: String,
    pub os_name: String,
    pub os_version: String,
    pub kernel: String,
    pub arch: String,
    pub boot_time: DateTime<Utc>,
    pub cpu_model: String,
    pub cpu_cores: u32,
    pub memory_bytes: u64,
    pub swap_bytes: u64,
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub serial: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Disk {
    pub mount: String,
    pub device: String,
    pub file_system: String,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub removable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct NetworkInterface {
    pub name: String,
    pub mac: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Software {
    pub name: String,
    pub version: String,
    /// Where it was found: `dpkg`, `rpm`, `registry`, `applications`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Service {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub running: bool,
    /// Starts at boot, where the OS says.
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct PendingUpdate {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub security: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
pub struct Updates {
    /// None when the OS could not be asked (no package manager found, no permission).
    pub pending: Option<Vec<PendingUpdate>>,
    pub reboot_required: bool,
}

/// An endpoint's inventory. In a report each section is present only when it changed (a
/// diff); the server keeps the merged whole.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub system: Option<SystemInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub disks: Option<Vec<Disk>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub network: Option<Vec<NetworkInterface>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub software: Option<Vec<Software>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub services: Option<Vec<Service>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub updates: Option<Updates>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InventoryReport {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Every section is present (the first report after start, or when the gateway asked).
    pub full: bool,
    pub inventory: Inventory,
}

/// What an agent sends on its WebSocket, one JSON text frame each.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// First frame after connecting.
    Hello {
        agent_version: String,
        /// Queued messages dropped while offline (the queue was full or they were too old).
        dropped: u64,
        /// Its pinned root and revocation list (agents before signed scripts send none).
        #[serde(default)]
        trust: Option<crate::AgentTrust>,
    },
    Heartbeat(Heartbeat),
    Inventory(Box<InventoryReport>),
    /// A run's progress or result.
    Run(crate::RunEvent),
    /// Its trust changed (a root taken on first use, a newer revocation list).
    Trust(crate::AgentTrust),
}

impl AgentMessage {
    pub fn seq(&self) -> Option<u64> {
        match self {
            AgentMessage::Hello { .. } | AgentMessage::Trust(_) => None,
            AgentMessage::Heartbeat(h) => Some(h.seq),
            AgentMessage::Inventory(i) => Some(i.seq),
            AgentMessage::Run(r) => Some(r.seq),
        }
    }
}

/// What the gateway sends to an agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GatewayMessage {
    /// After a hello: the last message already stored (the agent skips what is not newer),
    /// and whether the next inventory should be whole.
    Welcome {
        agent_id: Uuid,
        asset_id: Uuid,
        last_seq: u64,
        full_inventory: bool,
    },
    /// Everything up to `seq` is stored: the agent may forget it.
    Ack { seq: u64 },
    /// A message was refused (it is not stored; the agent drops it and logs why).
    Refused { seq: Option<u64>, message: String },
    /// Root-signed trust material: the agent verifies it before taking any of it.
    Trust(crate::TrustUpdate),
    /// Run this (if, and only if, it verifies).
    Run(Box<crate::RunOrder>),
    /// Stop a run and every process it started.
    CancelRun { run_id: Uuid },
}

/// The path of the agent's WebSocket on a server.
pub const AGENT_CHANNEL_PATH: &str = "/api/v1/agent/channel";
/// The largest frame the gateway reads from an agent (a full inventory of a busy server).
pub const AGENT_MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------- what consoles read

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    Warning,
    Critical,
    Offline,
}

impl HealthState {
    pub const ALL: [HealthState; 4] = [
        HealthState::Healthy,
        HealthState::Warning,
        HealthState::Critical,
        HealthState::Offline,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Warning => "warning",
            HealthState::Critical => "critical",
            HealthState::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<HealthState> {
        HealthState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An endpoint's latest health, as of its last heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct EndpointHealth {
    pub state: HealthState,
    /// Why it is not healthy, in words (`disk / 93 % full`).
    pub reasons: Vec<String>,
    pub cpu_pct: Option<f64>,
    pub memory_pct: Option<f64>,
    /// The fullest disk.
    pub disk_pct: Option<f64>,
    pub pending_updates: Option<i64>,
    pub reboot_required: bool,
    pub agent_version: String,
    /// Another machine presents this endpoint's identity (a cloned disk image).
    pub clone_warning: Option<String>,
    /// Alerts firing on it now.
    pub open_alerts: i64,
}

/// One change of an endpoint's inventory, as it was seen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct InventoryChange {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `software_installed`, `software_removed`, `software_updated`, `disk_added`,
    /// `disk_removed`, `os_changed`, `memory_changed`, `cpu_changed`, `service_added`,
    /// `service_removed`.
    pub kind: String,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AgentInfo {
    pub agent_id: Uuid,
    pub version: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The agent's Ed25519 public key (hex): secret parameters are sealed to it.
    #[serde(default)]
    pub public_key: String,
    /// The script-signing root it pinned, and how (`enrollment`, `first_use`, `none`): a
    /// root taken on first use is for an admin to confirm.
    #[serde(default)]
    pub root_fingerprint: Option<String>,
    #[serde(default)]
    pub root_pinned: Option<String>,
    /// Who confirmed a root taken on first use, and when (cleared if the agent's root changes).
    #[serde(default)]
    pub root_confirmed_by: Option<String>,
    #[serde(default)]
    pub root_confirmed_at: Option<DateTime<Utc>>,
}

/// What the metrics history holds for a series.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MetricSeries {
    Cpu,
    Memory,
    Disk,
    NetIn,
    NetOut,
    Temperature,
}

impl MetricSeries {
    pub const ALL: [MetricSeries; 6] = [
        MetricSeries::Cpu,
        MetricSeries::Memory,
        MetricSeries::Disk,
        MetricSeries::NetIn,
        MetricSeries::NetOut,
        MetricSeries::Temperature,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MetricSeries::Cpu => "cpu",
            MetricSeries::Memory => "memory",
            MetricSeries::Disk => "disk",
            MetricSeries::NetIn => "net_in",
            MetricSeries::NetOut => "net_out",
            MetricSeries::Temperature => "temperature",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            MetricSeries::Cpu | MetricSeries::Memory | MetricSeries::Disk => "%",
            MetricSeries::NetIn | MetricSeries::NetOut => "B/s",
            MetricSeries::Temperature => "°C",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    pub series: MetricSeries,
    /// Start of the range (RFC 3339); default a day before `to`.
    #[serde(default)]
    #[ts(optional)]
    pub from: Option<DateTime<Utc>>,
    /// End of the range (RFC 3339); default now.
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChartTheme {
    Light,
    Dark,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    pub series: MetricSeries,
    #[serde(default)]
    #[ts(optional)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<DateTime<Utc>>,
    /// Default light.
    #[serde(default)]
    #[ts(optional)]
    pub theme: Option<ChartTheme>,
    /// Pixels, 200..=2400 (default 720).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 200, maximum = 2400)]
    pub width: Option<u32>,
    /// Pixels, 120..=1600 (default 220).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 120, maximum = 1600)]
    pub height: Option<u32>,
}

/// A chart drawn by the core: an SVG document, to be shown as an image.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ChartImage {
    pub svg: String,
    pub series: MetricSeries,
    pub resolution_secs: i64,
    pub points: i64,
    /// A sentence for screen readers and the image's alt text.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct MetricPoint {
    pub at: DateTime<Utc>,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    /// Samples behind the point (minutes of heartbeats).
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct MetricHistory {
    pub series: MetricSeries,
    pub unit: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// 60 (raw), 300 or 3600: chosen from the range's length.
    pub resolution_secs: i64,
    pub points: Vec<MetricPoint>,
}

/// One endpoint in full: the device (its fields at the top level, as `GET /assets/{id}`
/// always answered), its inventory and what changed in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AssetDetail {
    #[serde(flatten)]
    #[ts(flatten)]
    pub asset: crate::Asset,
    pub inventory: Option<Inventory>,
    pub inventory_at: Option<DateTime<Utc>>,
    /// Newest first (the last 500).
    pub changes: Vec<InventoryChange>,
    pub agent: Option<AgentInfo>,
}

/// Endpoints per health state (the top of the Fleet page).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq, Default)]
pub struct FleetCounts {
    pub total: i64,
    pub managed: i64,
    pub healthy: i64,
    pub warning: i64,
    pub critical: i64,
    pub offline: i64,
    pub reboot_required: i64,
    pub per_client: Vec<ClientFleetCount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ClientFleetCount {
    pub client_id: Uuid,
    pub client_name: String,
    pub total: i64,
    pub offline: i64,
    pub attention: i64,
}

// ---------------------------------------------------------------- alerts

/// What an alert rule watches.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A disk's use above `threshold` %.
    Disk,
    /// CPU above `threshold` % (the minute's average).
    Cpu,
    /// Memory above `threshold` %.
    Memory,
    /// The hottest sensor above `threshold` °C.
    Temperature,
    /// The service named in `service` is not running.
    Service,
    /// The agent has not been heard from for `threshold` minutes.
    Offline,
    /// A reboot has been pending for `threshold` days.
    Reboot,
    /// More than `threshold` OS updates are pending.
    Updates,
}

impl AlertKind {
    pub const ALL: [AlertKind; 8] = [
        AlertKind::Disk,
        AlertKind::Cpu,
        AlertKind::Memory,
        AlertKind::Temperature,
        AlertKind::Service,
        AlertKind::Offline,
        AlertKind::Reboot,
        AlertKind::Updates,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Disk => "disk",
            AlertKind::Cpu => "cpu",
            AlertKind::Memory => "memory",
            AlertKind::Temperature => "temperature",
            AlertKind::Service => "service",
            AlertKind::Offline => "offline",
            AlertKind::Reboot => "reboot",
            AlertKind::Updates => "updates",
        }
    }
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A rule: for the whole organisation (no client), or a client's override of the
/// organisation's rule of the same kind (and service).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AlertRule {
    pub id: Uuid,
    pub client_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub kind: AlertKind,
    pub threshold: f64,
    /// Consecutive samples over the threshold before it fires (and under it before it clears).
    pub samples: i64,
    /// It clears only below threshold − hysteresis.
    pub hysteresis: f64,
    pub service: Option<String>,
    pub priority: crate::Priority,
    /// The alert's ticket is resolved when the condition clears.
    pub resolve_on_clear: bool,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewAlertRule {
    /// Absent: the organisation's rule; set: an override for that client.
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    pub kind: AlertKind,
    pub threshold: f64,
    /// 1..=1440 (default 1).
    #[serde(default)]
    #[ts(optional)]
    #[schema(minimum = 1, maximum = 1440)]
    pub samples: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub hysteresis: Option<f64>,
    /// The service's name (kind `service` only).
    #[serde(default)]
    #[ts(optional)]
    pub service: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub priority: Option<crate::Priority>,
    #[serde(default)]
    #[ts(optional)]
    pub resolve_on_clear: Option<bool>,
    #[serde(default)]
    #[ts(optional)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct UpdateAlertRule {
    #[serde(default)]
    #[ts(optional)]
    pub threshold: Option<f64>,
    #[serde(default)]
    #[ts(optional)]
    #[schema(minimum = 1, maximum = 1440)]
    pub samples: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub hysteresis: Option<f64>,
    #[serde(default)]
    #[ts(optional)]
    pub priority: Option<crate::Priority>,
    #[serde(default)]
    #[ts(optional)]
    pub resolve_on_clear: Option<bool>,
    #[serde(default)]
    #[ts(optional)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, TS, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Cleared,
}

/// One firing of a rule on an endpoint, kept after it clears (alert history).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Alert {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub kind: AlertKind,
    pub asset_id: Uuid,
    pub asset_name: String,
    pub client_id: Uuid,
    pub client_name: String,
    /// What it is about within the endpoint: a disk's mount, a service's name.
    pub subject: String,
    pub state: AlertState,
    pub priority: crate::Priority,
    /// In words, e.g. `CPU at 97 % for 10 samples (limit 85 %)`.
    pub message: String,
    pub value: f64,
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    #[serde(default)]
    #[ts(optional)]
    pub state: Option<AlertState>,
    #[serde(default)]
    #[ts(optional)]
    pub asset_id: Option<Uuid>,
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<AlertKind>,
    /// The alerts that opened (or note on) this ticket.
    #[serde(default)]
    #[ts(optional)]
    pub ticket_id: Option<Uuid>,
    /// Only alerts nobody has acknowledged.
    #[serde(default)]
    #[ts(optional)]
    pub unacknowledged: Option<bool>,
    /// 1..=500 (default 100).
    #[serde(default)]
    #[ts(optional)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AlertPage {
    pub items: Vec<Alert>,
    pub total: i64,
    pub firing: i64,
}

// ---------------------------------------------------------------- the desktop's gateway

/// A desktop console serving its own agents (a one-office MSP with no server).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DesktopGateway {
    pub enabled: bool,
    /// `address:port` it listens on, e.g. `0.0.0.0:8787`.
    pub listen: String,
    pub running: bool,
    /// The address agents use (`https://host:port`).
    pub address: Option<String>,
    /// The certificate agents pin.
    pub fingerprint: Option<String>,
    pub connected_agents: i64,
    /// Why it is not running, when it should be.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SetDesktopGateway {
    pub enabled: bool,
    pub listen: String,
}
