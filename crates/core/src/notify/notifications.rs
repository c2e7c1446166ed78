//! Notifications for technicians: planned from the change log like webhooks and mail (one per
//! person and cause, so nothing is sent twice) and from the SLA clocks; shown in the app's
//! bell and, where a person asked, mailed through the outbox.

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreResult};
use crate::store::{opt_uuid, parse_uuid, Actor, Core};
use outpost_proto::{
    MarkNotificationsRead, Notification, NotificationKind, NotificationList, NotificationPrefs,
};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

/// How old a change may be and still be told.
const NEWS_MS: i64 = 86_400_000;

pub const KINDS: &[NotificationKind] = &[
    NotificationKind::Assigned,
    NotificationKind::ClientReplied,
    NotificationKind::Mentioned,
    NotificationKind::SlaAtRisk,
    NotificationKind::SlaBreached,
    NotificationKind::AlertOpened,
];

fn kind_str(k: NotificationKind) -> &'static str {
    match k {
        NotificationKind::Assigned => "assigned",
        NotificationKind::ClientReplied => "client_replied",
        NotificationKind::Mentioned => "mentioned",
        NotificationKind::SlaAtRisk => "sla_at_risk",
        NotificationKind::SlaBreached => "sla_breached",
        NotificationKind::AlertOpened => "alert_opened",
    }
}

fn parse_kind(s: &str) -> Option<NotificationKind> {
    KINDS.iter().copied().find(|k| kind_str(*k) == s)
}

fn from_row(r: &SqliteRow) -> CoreResult<Notification> {
    Ok(Notification {
        id: parse_uuid(r.get("id"))?,
        kind: parse_kind(r.get("kind")).unwrap_or(NotificationKind::Assigned),
        ticket_id: opt_uuid(r.get("ticket_id"))?,
        title: r.get("title"),
        body: r.get("body"),
        created_at: from_ms(r.get("created_at")),
        read_at: r.get::<Option<i64>, _>("read_at").map(from_ms),
    })
}

async fn prefs_in(conn: &mut SqliteConnection, user: &str) -> CoreResult<NotificationPrefs> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT in_app, by_mail, mail_to FROM notification_prefs WHERE user_id = ?")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        None => NotificationPrefs {
            in_app: KINDS.to_vec(),
            by_mail: vec![],
            mail_to: String::new(),
        },
        Some((a, m, to)) => {
            let list = |s: &str| -> Vec<NotificationKind> {
                serde_json::from_str::<Vec<String>>(s)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|k| parse_kind(k))
                    .collect()
            };
            NotificationPrefs {
                in_app: list(&a),
                by_mail: list(&m),
                mail_to: to,
            }
        }
    })
}

/// Tells `user` once about `source`, as their preferences say (in the app, by mail).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn notify(
    conn: &mut SqliteConnection,
    user: &str,
    kind: NotificationKind,
    source: &str,
    ticket_id: Option<&str>,
    title: &str,
    body: &str,
    now: i64,
) -> CoreResult<bool> {
    let prefs = prefs_in(conn, user).await?;
    let mut told = false;
    if prefs.in_app.contains(&kind) {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO notifications (id, user_id, kind, source, ticket_id, title, body, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(user)
        .bind(kind_str(kind))
        .bind(source)
        .bind(ticket_id)
        .bind(title)
        .bind(body)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        told |= done.rows_affected() > 0;
    }
    if prefs.by_mail.contains(&kind) && !prefs.mail_to.is_empty() {
        if let Some((from, _)) = super::mail::mail_from(conn).await? {
            let id = Uuid::now_v7();
            let domain = from
                .rsplit_once('@')
                .map(|(_, d)| d)
                .unwrap_or("outpost.invalid");
            let done = sqlx::query(
                "INSERT OR IGNORE INTO outbox (id, source, kind, ticket_id, to_addrs, subject, body, \
                 message_id, state, next_attempt_at, created_at) \
                 VALUES (?, ?, 'notification', ?, ?, ?, ?, ?, 'queued', ?, ?)",
            )
            .bind(id.to_string())
            .bind(format!("notify:{user}:{source}"))
            .bind(ticket_id)
            .bind(json!([prefs.mail_to]).to_string())
            .bind(super::render::one_line(title))
            .bind(format!("{body}\n\n-- \nOutpost notification ({}). Change what you are told in Settings → Notifications.\n", kind_str(kind)))
            .bind(format!("{id}@{domain}"))
            .bind(now)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            told |= done.rows_affected() > 0;
        }
    }
    Ok(told)
}

fn mentions(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in body.match_indices('@') {
        // An address (dana@example.com) is not a mention.
        if body[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric())
        {
            continue;
        }
        let name: String = body[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || "._-".contains(*c))
            .collect();
        let name = name.trim_end_matches(['.', '-', '_']).to_ascii_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

async fn ticket_title(
    conn: &mut SqliteConnection,
    ticket: &str,
) -> CoreResult<Option<(String, Option<String>)>> {
    let row: Option<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT number, title, assignee_id FROM tickets WHERE id = ?")
            .bind(ticket)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(n, t, a)| (format!("#{n} {t}"), a)))
}

/// The notifications one change of the log calls for.
pub(crate) async fn plan_notifications(
    conn: &mut SqliteConnection,
    c: &super::mail::MailChange<'_>,
    now: i64,
) -> CoreResult<usize> {
    let (entity, op, entity_id, change_id, fields, written_at) = (
        c.entity,
        c.op,
        c.entity_id,
        c.change_id,
        c.fields,
        c.written_at,
    );
    // A console's uploaded history is not news: what happened over a day ago is not told.
    let when = fields
        .get("created_at")
        .and_then(Value::as_i64)
        .filter(|_| op == "insert")
        .unwrap_or(written_at);
    if now - when > NEWS_MS {
        return Ok(0);
    }
    let mut told = 0;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (entity, op) {
        ("ticket", "insert" | "update") => {
            let Some(assignee) = s(fields, "assignee_id") else {
                return Ok(0);
            };
            // Taking a ticket yourself is not news to you.
            let by: Option<Option<String>> = sqlx::query_scalar(
                "SELECT actor_id FROM audit_events WHERE entity = 'ticket' AND entity_id = ? \
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(entity_id)
            .fetch_optional(&mut *conn)
            .await?;
            if by.flatten().as_deref() == Some(assignee.as_str()) {
                return Ok(0);
            }
            if let Some((title, _)) = ticket_title(conn, entity_id).await? {
                told += notify(
                    conn,
                    &assignee,
                    NotificationKind::Assigned,
                    &format!("assigned:{change_id}"),
                    Some(entity_id),
                    &format!("Assigned to you: {title}"),
                    "",
                    now,
                )
                .await? as usize;
            }
        }
        ("comment", "insert") => {
            let (Some(ticket), Some(author)) = (s(fields, "ticket_id"), s(fields, "author_id"))
            else {
                return Ok(0);
            };
            let body = s(fields, "body").unwrap_or_default();
            let Some((title, assignee)) = ticket_title(conn, &ticket).await? else {
                return Ok(0);
            };
            let author_name: Option<(String, String)> =
                sqlx::query_as("SELECT username, display_name FROM users WHERE id = ?")
                    .bind(&author)
                    .fetch_optional(&mut *conn)
                    .await?;
            let (username, display) = author_name.unwrap_or_default();
            let preview: String = body.chars().take(300).collect();
            if username == "outpost-mail" {
                if let Some(a) = assignee {
                    told += notify(
                        conn,
                        &a,
                        NotificationKind::ClientReplied,
                        &format!("replied:{entity_id}"),
                        Some(&ticket),
                        &format!("The client replied: {title}"),
                        &preview,
                        now,
                    )
                    .await? as usize;
                }
                return Ok(told);
            }
            let internal = fields
                .get("internal")
                .is_some_and(|v| v.as_bool().unwrap_or(false) || v.as_i64() == Some(1));
            if !internal {
                return Ok(0);
            }
            for name in mentions(&body) {
                let user: Option<String> =
                    sqlx::query_scalar("SELECT id FROM users WHERE lower(username) = ?")
                        .bind(&name)
                        .fetch_optional(&mut *conn)
                        .await?;
                if let Some(u) = user.filter(|u| *u != author) {
                    told += notify(
                        conn,
                        &u,
                        NotificationKind::Mentioned,
                        &format!("mention:{entity_id}"),
                        Some(&ticket),
                        &format!("{display} mentioned you: {title}"),
                        &preview,
                        now,
                    )
                    .await? as usize;
                }
            }
        }
        ("alert", "insert") if s(fields, "state").as_deref() == Some("firing") => {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT a.client_id, a.name FROM assets a WHERE a.id = ?")
                    .bind(s(fields, "asset_id").unwrap_or_default())
                    .fetch_optional(&mut *conn)
                    .await?;
            let Some((client, asset)) = row else {
                return Ok(0);
            };
            let users: Vec<String> =
                sqlx::query_scalar("SELECT user_id FROM user_clients WHERE client_id = ?")
                    .bind(&client)
                    .fetch_all(&mut *conn)
                    .await?;
            let message = s(fields, "message").unwrap_or_default();
            for u in users {
                told += notify(
                    conn,
                    &u,
                    NotificationKind::AlertOpened,
                    &format!("alert:{entity_id}"),
                    s(fields, "ticket_id").as_deref(),
                    &format!("Alert on {asset}"),
                    &message,
                    now,
                )
                .await? as usize;
            }
        }
        _ => {}
    }
    Ok(told)
}

impl Core {
    /// Tells assignees once about each ticket of theirs that is at risk or breached.
    pub async fn plan_sla_notifications(&self) -> CoreResult<usize> {
        let now = to_ms(self.now());
        let state = crate::desk::sla::state_sql(now);
        let rows: Vec<(String, String, i64, String, String, Option<i64>)> =
            sqlx::query_as(&format!(
            "SELECT t.id, t.assignee_id, t.number, t.title, {state} AS s, t.res_due FROM tickets t \
             WHERE t.assignee_id IS NOT NULL AND t.status NOT IN ('resolved', 'closed') \
             AND {state} IN ('at_risk', 'breached')"
        ))
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let _guard = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        let mut told = 0;
        for (id, assignee, number, title, s, due) in rows {
            let (kind, text) = if s == "breached" {
                (NotificationKind::SlaBreached, "missed its SLA target")
            } else {
                (
                    NotificationKind::SlaAtRisk,
                    "is at risk of missing its SLA target",
                )
            };
            // Once per state and deadline (a changed deadline may be at risk again).
            let source = format!("{s}:{id}:{}", due.unwrap_or(0));
            told += notify(
                &mut tx,
                &assignee,
                kind,
                &source,
                Some(&id),
                &format!("#{number} {title} {text}"),
                "",
                now,
            )
            .await? as usize;
        }
        tx.commit().await?;
        Ok(told)
    }

    pub async fn list_notifications(&self, actor: &Actor) -> CoreResult<NotificationList> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("notifications belong to a person; log in first"))?
            .to_string();
        let rows =
            sqlx::query("SELECT * FROM notifications WHERE user_id = ? ORDER BY rid DESC LIMIT 50")
                .bind(&me)
                .fetch_all(&self.pool)
                .await?;
        let unread: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
        )
        .bind(&me)
        .fetch_one(&self.pool)
        .await?;
        Ok(NotificationList {
            items: rows.iter().map(from_row).collect::<CoreResult<_>>()?,
            unread,
        })
    }

    pub async fn mark_notifications_read(
        &self,
        actor: &Actor,
        req: MarkNotificationsRead,
    ) -> CoreResult<NotificationList> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("notifications belong to a person; log in first"))?
            .to_string();
        let now = to_ms(self.now());
        {
            let _guard = self.write_lock_only().await;
            match &req.ids {
                None => {
                    sqlx::query("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL")
                        .bind(now)
                        .bind(&me)
                        .execute(&self.pool)
                        .await?;
                }
                Some(ids) => {
                    if ids.len() > 500 {
                        return Err(invalid("mark at most 500 notifications at once"));
                    }
                    let mut tx = self.pool.begin().await?;
                    for id in ids {
                        sqlx::query("UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL")
                            .bind(now)
                            .bind(id.to_string())
                            .bind(&me)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                }
            }
        }
        self.list_notifications(actor).await
    }

    pub async fn notification_prefs(&self, actor: &Actor) -> CoreResult<NotificationPrefs> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("preferences belong to a person; log in first"))?;
        let mut conn = self.pool.acquire().await?;
        prefs_in(&mut conn, &me.to_string()).await
    }

    pub async fn set_notification_prefs(
        &self,
        actor: &Actor,
        req: NotificationPrefs,
    ) -> CoreResult<NotificationPrefs> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("preferences belong to a person; log in first"))?;
        let mail_to = req.mail_to.trim().to_string();
        if !mail_to.is_empty() {
            super::mail::check_address(&mail_to).map_err(|e| invalid(format!("mail_to: {e}")))?;
        }
        if !req.by_mail.is_empty() && mail_to.is_empty() {
            return Err(invalid(
                "give the address to mail notifications to (mail_to), or tick none by mail",
            ));
        }
        let names = |l: &[NotificationKind]| {
            let mut v: Vec<&str> = l.iter().map(|k| kind_str(*k)).collect();
            v.sort_unstable();
            v.dedup();
            json!(v).to_string()
        };
        let mut w = self.write(actor).await?;
        sqlx::query(
            "INSERT INTO notification_prefs (user_id, in_app, by_mail, mail_to, updated_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET in_app = excluded.in_app, \
             by_mail = excluded.by_mail, mail_to = excluded.mail_to, updated_at = excluded.updated_at",
        )
        .bind(me.to_string())
        .bind(names(&req.in_app))
        .bind(names(&req.by_mail))
        .bind(&mail_to)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await?;
        self.notification_prefs(actor).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mentions_are_usernames_not_addresses() {
        assert_eq!(
            super::mentions("@tess please ask dana@dental.example, cc @Ada.B."),
            vec!["tess", "ada.b"]
        );
    }
}
