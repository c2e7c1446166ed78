//! From the change log to events: which change is which event, what its body says, and the
//! planner that turns them into webhook deliveries exactly once.

use crate::clock::{from_ms, to_ms, Hlc};
use crate::error::CoreResult;
use crate::store::record::registry;
use crate::store::Core;
use serde_json::{json, Map, Value};
use sqlx::Row;
use uuid::Uuid;

/// Changes read per planning round.
const PAGE: i64 = 500;

/// Run states after which nothing more happens to a run.
const RUN_ENDED: &[&str] = &["finished", "refused", "expired", "cancelled"];

/// The event a change is, and what makes it unique: a run finishes once, a ticket is
/// created once, but each update of a ticket is an event of its own.
pub fn event_of(
    entity: &str,
    op: &str,
    entity_id: &str,
    change_id: &str,
    fields: &Value,
) -> Option<(&'static str, String)> {
    let state = fields.get("state").and_then(Value::as_str);
    let event = match (entity, op) {
        ("ticket", "insert") => "ticket.created",
        ("ticket", "update") => "ticket.updated",
        ("comment", "insert") => "comment.added",
        ("alert", "insert") if state == Some("firing") => "alert.opened",
        ("alert", "insert" | "update") if state == Some("cleared") => "alert.resolved",
        ("run", "insert" | "update") if state.is_some_and(|s| RUN_ENDED.contains(&s)) => {
            "run.finished"
        }
        _ => return None,
    };
    let key = match event {
        "ticket.updated" => format!("{event}:{change_id}"),
        _ => format!("{event}:{entity_id}"),
    };
    Some((event, key))
}

/// The record as it stands now, with every synced field (times in milliseconds since 1970,
/// as stored).
async fn current_record(
    tx: &mut sqlx::SqliteConnection,
    entity: &str,
    id: &str,
) -> CoreResult<Option<Value>> {
    let Some(rec) = registry().find(entity) else {
        return Ok(None);
    };
    if !rec.is_table() {
        return Ok(None);
    }
    let table = rec.table;
    let mut pairs: Vec<String> = std::iter::once("id")
        .chain(rec.columns.iter().copied())
        .map(|c| format!("'{c}', {table}.{c}"))
        .collect();
    if let Some(e) = rec.extra {
        pairs.push(format!("'{}', {}", e.name, e.snapshot_sql));
    }
    let sql = format!(
        "SELECT json_object({}) FROM {table} WHERE {table}.id = ?",
        pairs.join(", ")
    );
    let text: Option<String> = sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// What one planning round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanRound {
    /// Changes of the log read (0: it was up to date).
    pub changes: usize,
    /// Webhook deliveries queued.
    pub deliveries: usize,
    /// Mails queued in the outbox.
    pub mails: usize,
    /// Notifications made (in the app or by mail).
    pub notified: usize,
}

impl Core {
    /// Plans the events of the next page of the change log. Cheap when nothing new was
    /// written.
    pub async fn plan_events(&self) -> CoreResult<PlanRound> {
        let (cursor, last): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT seq FROM event_cursor), (SELECT coalesce(max(seq), 0) FROM changes)",
        )
        .fetch_one(&self.pool)
        .await?;
        if last <= cursor {
            return Ok(PlanRound::default());
        }
        let _guard = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        let cursor: i64 = sqlx::query_scalar("SELECT seq FROM event_cursor")
            .fetch_one(&mut *tx)
            .await?;
        let hooks: Vec<(String, String)> = sqlx::query_as("SELECT id, events FROM webhooks")
            .fetch_all(&mut *tx)
            .await?;
        let hooks: Vec<(String, Vec<String>)> = hooks
            .into_iter()
            .map(|(id, e)| (id, serde_json::from_str(&e).unwrap_or_default()))
            .collect();
        let rows = sqlx::query(
            "SELECT seq, change_id, hlc, entity, entity_id, op, fields FROM changes WHERE seq > ? \
             ORDER BY seq LIMIT ?",
        )
        .bind(cursor)
        .bind(PAGE)
        .fetch_all(&mut *tx)
        .await?;
        let from = super::mail::mail_from(&mut tx).await?;
        let now = to_ms(self.now());
        let mut queued = 0;
        let mut mails = 0;
        let mut notified = 0;
        let mut moved_to = cursor;
        for r in &rows {
            moved_to = r.get("seq");

            let entity: String = r.get("entity");
            let op: String = r.get("op");
            let entity_id: String = r.get("entity_id");
            let change_id: String = r.get("change_id");
            let fields: Value =
                serde_json::from_str(r.get::<&str, _>("fields")).unwrap_or(Value::Null);
            // When it happened where it was written (an offline console's change arrives later).
            let at = r
                .get::<&str, _>("hlc")
                .parse::<Hlc>()
                .map(|h| h.wall_ms)
                .unwrap_or(now);
            let change = super::mail::MailChange {
                entity: &entity,
                op: &op,
                entity_id: &entity_id,
                change_id: &change_id,
                fields: &fields,
                written_at: at,
            };
            notified += super::notifications::plan_notifications(&mut tx, &change, now).await?;
            if let Some(from) = &from {
                if super::mail::plan_mail(&mut tx, from, &change, now).await? {
                    mails += 1;
                }
            }
            let Some((event, source)) = event_of(&entity, &op, &entity_id, &change_id, &fields)
            else {
                continue;
            };
            let subscribers: Vec<&String> = hooks
                .iter()
                .filter(|(_, events)| events.iter().any(|e| e == event))
                .map(|(id, _)| id)
                .collect();
            if subscribers.is_empty() {
                continue;
            }
            let mut data = current_record(&mut tx, &entity, &entity_id)
                .await?
                .unwrap_or_else(|| json!({"id": entity_id}));
            if event == "ticket.updated" {
                if let (Some(obj), Some(changed)) = (data.as_object_mut(), fields.as_object()) {
                    obj.insert(
                        "changed".into(),
                        Value::Array(changed.keys().cloned().map(Value::String).collect()),
                    );
                }
            }
            for hook in subscribers {
                let delivery = Uuid::now_v7();
                let mut body = Map::new();
                body.insert("id".into(), json!(delivery));
                body.insert("event".into(), json!(event));
                body.insert("occurred_at".into(), json!(from_ms(at)));
                body.insert("data".into(), data.clone());
                let done = sqlx::query(
                    "INSERT OR IGNORE INTO webhook_deliveries (id, webhook_id, source, event, \
                     body, state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                )
                .bind(delivery.to_string())
                .bind(hook)
                .bind(&source)
                .bind(event)
                .bind(Value::Object(body).to_string())
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                queued += done.rows_affected() as usize;
            }
        }
        sqlx::query("UPDATE event_cursor SET seq = ?")
            .bind(moved_to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PlanRound {
            changes: rows.len(),
            deliveries: queued,
            mails,
            notified,
        })
    }
}
