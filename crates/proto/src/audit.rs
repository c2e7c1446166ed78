//! The audit log as admins read it, the proof that nobody rewrote it, and backups (whose
//! manifests record the chain's head).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Which audit events to list (admins), newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, TS, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who did it (a user's id).
    #[serde(default)]
    #[ts(optional)]
    pub actor_id: Option<Uuid>,
    /// An action (`ticket.update`), or everything of a kind with a trailing dot (`ticket.`).
    #[serde(default)]
    #[ts(optional)]
    pub action: Option<String>,
    /// Events about this client or its tickets, sites, contacts and endpoints.
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<Uuid>,
    /// Events about one record.
    #[serde(default)]
    #[ts(optional)]
    pub entity_id: Option<Uuid>,
    /// From this instant (RFC 3339), included.
    #[serde(default)]
    #[ts(optional)]
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (RFC 3339), excluded.
    #[serde(default)]
    #[ts(optional)]
    pub to: Option<DateTime<Utc>>,
    /// Events older than this one (the next page).
    #[serde(default)]
    #[ts(optional)]
    pub before_seq: Option<i64>,
    /// 1–500; 100 unless given.
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<i64>,
}

/// One event of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AuditEvent {
    /// Its place in the chain (1 is the first event).
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// None: a part of Outpost (a schedule, sync from another console's change).
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    /// The fields before (edits and deletions).
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    /// The fields after (creations and edits).
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `before_seq` for the next page; None on the last one.
    pub next_before_seq: Option<i64>,
}

/// The chain recomputed from its first event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AuditVerification {
    /// True when every event hashes to what the next one recorded.
    pub intact: bool,
    /// Events checked (up to the broken one, when broken).
    pub events: i64,
    /// The last event's place and hash (what a backup's manifest records).
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// The first broken link.
    pub broken: Option<AuditBreak>,
}

/// Where the chain breaks, in words.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct AuditBreak {
    pub seq: i64,
    pub at: Option<DateTime<Utc>>,
    pub action: String,
    pub actor_name: String,
    /// What is wrong (`its content was changed after it was written`, `event 41 before it
    /// is missing`).
    pub reason: String,
}

/// A backup this console made of its own store.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct StoreBackup {
    /// Where the file is (the console's backups folder).
    pub file: String,
    pub bytes: i64,
    pub made_at: DateTime<Utc>,
    pub tickets: i64,
    pub files: i64,
    pub audit_head_seq: Option<i64>,
}

/// A new API key (admins). Its requests act with this role and these clients.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What it is for ("Billing sync"); unique.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub role: crate::Role,
    /// The clients it may see; empty: every client.
    #[serde(default)]
    pub clients: Vec<Uuid>,
    /// 1–3650 days; without it the key does not expire.
    #[serde(default)]
    #[ts(optional)]
    pub expires_in_days: Option<i64>,
    /// Requests per minute before 429 (1–100,000; 1,000 unless given).
    #[serde(default)]
    #[ts(optional)]
    pub rate_per_minute: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: crate::Role,
    /// Empty: every client.
    pub clients: Vec<Uuid>,
    /// `opk_` and its first characters, to tell keys apart.
    pub prefix: String,
    pub rate_per_minute: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key just made: `key` is shown this once and never again (only its hash is kept).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct CreatedApiKey {
    /// Send as `Authorization: Bearer KEY`.
    pub key: String,
    pub api_key: ApiKey,
}

/// One of the signed-in person's sessions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct SessionInfo {
    pub id: Uuid,
    /// The browser or app it was opened from, as it named itself.
    pub device: String,
    /// The address it logged in from (empty: this device).
    pub address: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// The session this request came with.
    pub current: bool,
}

/// Backups the server makes on its own (admins): every so many hours into a folder on the
/// server's host, keeping the newest few.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSchedule {
    pub enabled: bool,
    /// An absolute folder on the server's host (another disk, a mounted share).
    pub folder: String,
    /// 1–168.
    pub every_hours: i64,
    /// How many to keep, 1–365; older ones are removed.
    pub keep: i64,
    /// When the last scheduled backup ran (ignored when set).
    #[serde(default)]
    #[ts(optional)]
    pub last_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[ts(optional)]
    pub last_file: Option<String>,
    /// Why the last one failed, in words.
    #[serde(default)]
    #[ts(optional)]
    pub last_error: Option<String>,
}
