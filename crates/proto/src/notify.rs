//! Telling the outside world: webhooks now; mail and in-app notifications build on the same
//! events (see docs/design/mail-and-webhooks.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;
use uuid::Uuid;

// ---------------------------------------------------------------- webhooks

/// An admin's subscription of a URL to events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are POSTed: http or https, not this server itself.
    pub url: String,
    /// Event names: `ticket.created`, `ticket.updated`, `comment.added`, `alert.opened`,
    /// `alert.resolved`, `run.finished`, `report.ready`.
    pub events: Vec<String>,
    /// The HMAC-SHA256 key the receiver checks signatures with (16 to 200 characters);
    /// made here when absent and shown once.
    #[serde(default)]
    #[ts(optional)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    /// Only in the answer that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub secret: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Deliveries waiting (queued or being retried).
    pub queued: i64,
    pub delivered: i64,
    /// Deliveries that failed every try and wait in the dead-letter list.
    pub dead: i64,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// A delivery that failed every try: what was sent and the last answer seen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS, PartialEq)]
pub struct DeadLetter {
    /// The delivery's id (the `X-Outpost-Delivery` header; a replay keeps it).
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub url: String,
    pub event: String,
    /// The JSON body as sent.
    pub body: String,
    pub attempts: i64,
    /// The last HTTP status received, if the receiver answered at all.
    pub last_status: Option<i64>,
    /// The start of the last answer's body (at most 2 KiB).
    pub last_response: Option<String>,
    /// What went wrong on the last try, in words (timeout, refused, status…).
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
}
