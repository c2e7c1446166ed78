//! The audit log for admins: filtered pages of it, and the chain proved from its first event.
//!
//! Every event's hash covers the one before it (`WriteTx::audit`), so an edited event, a
//! deleted one or a re-linked chain shows at the first event after the change. Deleting the
//! newest events leaves no later event to notice; SQLite's AUTOINCREMENT counter still
//! remembers the highest number handed out, so that shows too (and a backup's manifest
//! records the head for restores to check).

use crate::clock::from_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, AuditFields, Core, GENESIS_HASH};
use outpost_proto::{AuditBreak, AuditEvent, AuditPage, AuditQuery, AuditVerification};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row};

const MAX_PAGE: i64 = 500;
/// Events read per query while verifying (the chain may hold millions).
const VERIFY_BATCH: i64 = 5_000;

/// The records of a client an event may be about (the client itself, its sites, contacts,
/// endpoints, tickets and the tickets' comments and time).
const CLIENT_RECORDS: &str = "(entity_id = ? \
    OR entity_id IN (SELECT id FROM sites WHERE client_id = ?) \
    OR entity_id IN (SELECT id FROM contacts WHERE client_id = ?) \
    OR entity_id IN (SELECT id FROM assets WHERE client_id = ?) \
    OR entity_id IN (SELECT id FROM tickets WHERE client_id = ?) \
    OR entity_id IN (SELECT c.id FROM comments c JOIN tickets t ON t.id = c.ticket_id \
                     WHERE t.client_id = ?) \
    OR entity_id IN (SELECT e.id FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
                     WHERE t.client_id = ?))";

fn bind<'q, T>(args: &mut SqliteArguments<'q>, value: T) -> CoreResult<()>
where
    T: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    args.add(value)
        .map_err(|e| CoreError::Internal(format!("cannot bind a value: {e}")))
}

fn json_of(text: Option<String>) -> Option<serde_json::Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
}

impl Core {
    /// A page of the audit log, newest first (admins).
    pub async fn list_audit(&self, actor: &Actor, q: &AuditQuery) -> CoreResult<AuditPage> {
        actor.require_admin()?;
        let limit = q.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        if let (Some(from), Some(to)) = (q.from, q.to) {
            if to <= from {
                return Err(invalid("'to' must be after 'from'"));
            }
        }
        let mut wh: Vec<String> = Vec::new();
        let mut args = SqliteArguments::default();
        if let Some(c) = q.client_id {
            wh.push(CLIENT_RECORDS.into());
            // Plain `?` each time: sqlx numbers unnamed parameters on its own, so `?1` and `?`
            // do not mix.
            for _ in 0..CLIENT_RECORDS.matches('?').count() {
                bind(&mut args, c.to_string())?;
            }
        }
        if let Some(a) = q.actor_id {
            wh.push("actor_id = ?".into());
            bind(&mut args, a.to_string())?;
        }
        if let Some(action) = q.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            if action.len() > 100 {
                return Err(invalid("action must be at most 100 characters"));
            }
            if let Some(kind) = action.strip_suffix('.') {
                // `ticket.`: every action of that kind. LIKE's wildcards in it are literal.
                wh.push("substr(action, 1, length(?) + 1) = ? || '.'".into());
                bind(&mut args, kind.to_string())?;
                bind(&mut args, kind.to_string())?;
            } else {
                wh.push("action = ?".into());
                bind(&mut args, action.to_string())?;
            }
        }
        if let Some(e) = q.entity_id {
            wh.push("entity_id = ?".into());
            bind(&mut args, e.to_string())?;
        }
        if let Some(from) = q.from {
            wh.push("at >= ?".into());
            bind(&mut args, from.timestamp_millis())?;
        }
        if let Some(to) = q.to {
            wh.push("at < ?".into());
            bind(&mut args, to.timestamp_millis())?;
        }
        if let Some(before) = q.before_seq {
            wh.push("seq < ?".into());
            bind(&mut args, before)?;
        }
        bind(&mut args, limit + 1)?;
        let sql = format!(
            "SELECT seq, id, at, actor_id, actor_name, action, entity, entity_id, before, after \
             FROM audit_events {} ORDER BY seq DESC LIMIT ?",
            if wh.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wh.join(" AND "))
            }
        );
        let rows = sqlx::query_with(&sql, args).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(|r| {
                Ok(AuditEvent {
                    seq: r.get("seq"),
                    id: parse_uuid(r.get("id"))?,
                    at: from_ms(r.get("at")),
                    actor_id: r
                        .get::<Option<String>, _>("actor_id")
                        .map(|a| parse_uuid(&a))
                        .transpose()?,
                    actor_name: r.get("actor_name"),
                    action: r.get("action"),
                    entity: r.get("entity"),
                    entity_id: parse_uuid(r.get("entity_id"))?,
                    before: json_of(r.get("before")),
                    after: json_of(r.get("after")),
                })
            })
            .collect::<CoreResult<Vec<_>>>()?;
        let next_before_seq = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(AuditPage {
            items,
            next_before_seq,
        })
    }

    /// Recomputes the audit chain (admins).
    pub async fn verify_audit(&self, actor: &Actor) -> CoreResult<AuditVerification> {
        actor.require_admin()?;
        self.audit_verification().await
    }

    /// Recomputes the audit chain from its first event and says where it first breaks (the
    /// `audit verify` command; no session needed).
    pub async fn audit_verification(&self) -> CoreResult<AuditVerification> {
        let mut prev_hash = GENESIS_HASH.to_string();
        let mut prev_seq = 0i64;
        let mut events = 0i64;
        let broken = |r: &sqlx::sqlite::SqliteRow, reason: String| AuditBreak {
            seq: r.get("seq"),
            at: Some(from_ms(r.get("at"))),
            action: r.get("action"),
            actor_name: r.get("actor_name"),
            reason,
        };
        let found = |events, head: Option<(i64, String)>, b: Option<AuditBreak>| {
            let (head_seq, head_hash) = head.unzip();
            AuditVerification {
                intact: b.is_none(),
                events,
                head_seq,
                head_hash,
                broken: b,
            }
        };
        loop {
            let rows = sqlx::query(
                "SELECT seq, id, at, actor_id, actor_name, action, entity, entity_id, before, \
                 after, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(prev_seq)
            .bind(VERIFY_BATCH)
            .fetch_all(&self.pool)
            .await?;
            for r in &rows {
                let seq: i64 = r.get("seq");
                let fields = AuditFields {
                    id: r.get("id"),
                    at: r.get("at"),
                    actor_id: r.get("actor_id"),
                    actor_name: r.get("actor_name"),
                    action: r.get("action"),
                    entity: r.get("entity"),
                    entity_id: r.get("entity_id"),
                    before: r.get("before"),
                    after: r.get("after"),
                };
                let stored_prev: String = r.get("prev_hash");
                let stored: String = r.get("hash");
                let head = (prev_seq > 0).then(|| (prev_seq, prev_hash.clone()));
                if stored_prev != prev_hash {
                    let reason = if seq > prev_seq + 1 {
                        let missing = if seq == prev_seq + 2 {
                            format!("event {} before it is missing", prev_seq + 1)
                        } else {
                            format!(
                                "events {} to {} before it are missing",
                                prev_seq + 1,
                                seq - 1
                            )
                        };
                        missing
                    } else if prev_seq == 0 {
                        "it does not start the chain".to_string()
                    } else {
                        format!("it does not follow event {prev_seq}: the chain was re-linked")
                    };
                    return Ok(found(events, head, Some(broken(r, reason))));
                }
                if stored != fields.hash(&prev_hash) {
                    let reason = "its content was changed after it was written".to_string();
                    return Ok(found(events, head, Some(broken(r, reason))));
                }
                events += 1;
                prev_seq = seq;
                prev_hash = stored;
            }
            if (rows.len() as i64) < VERIFY_BATCH {
                break;
            }
        }
        let head = (prev_seq > 0).then(|| (prev_seq, prev_hash.clone()));
        // The newest events deleted: the counter remembers numbers no event holds.
        let highest: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'")
                .fetch_optional(&self.pool)
                .await?;
        if let Some(highest) = highest.filter(|&h| h > prev_seq) {
            let reason = if highest == prev_seq + 1 {
                format!("the newest event ({highest}) was deleted")
            } else {
                format!(
                    "the newest events ({} to {highest}) were deleted",
                    prev_seq + 1
                )
            };
            let b = AuditBreak {
                seq: prev_seq + 1,
                at: None,
                action: String::new(),
                actor_name: String::new(),
                reason,
            };
            return Ok(found(events, head, Some(b)));
        }
        Ok(found(events, head, None))
    }
}
