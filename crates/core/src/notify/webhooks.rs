//! Webhook subscriptions and their deliveries: what is due, what a try found, the
//! dead-letter list and its replay. The server's sender (outpost-server) does the HTTP.

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{DeadLetter, NewWebhook, Webhook};
use rand::RngCore;
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::time::Duration;
use uuid::Uuid;

/// Every event a subscription may name.
pub const EVENTS: &[&str] = &[
    "ticket.created",
    "ticket.updated",
    "comment.added",
    "alert.opened",
    "alert.resolved",
    "run.finished",
    "report.ready",
];

/// Tries after the first before a delivery is dead.
pub const RETRIES: i64 = 3;
/// How much of an answer's body is kept to show.
const RESPONSE_KEPT: usize = 2048;
const MAX_WEBHOOKS: i64 = 100;

/// Where this store's server listens and is reached (set by its host), so a webhook cannot
/// point back at the server itself.
#[derive(Default)]
pub(crate) struct OwnAddresses(std::sync::RwLock<Vec<(String, u16)>>);

/// One delivery to try now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

/// What one try found.
#[derive(Debug, Clone, Default)]
pub struct DeliveryTry {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    pub response: Option<String>,
    /// Why it failed, in words; None with a 2xx status.
    pub error: Option<String>,
}

impl DeliveryTry {
    pub fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

fn host_class(host: &str) -> String {
    let h = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let h = h.trim_end_matches('.').to_string();
    let local = h == "localhost"
        || h.ends_with(".localhost")
        || h == "::1"
        || h == "0.0.0.0"
        || h == "::"
        || h.starts_with("127.");
    if local {
        "local".into()
    } else {
        h
    }
}

/// Splits an http(s) URL into (scheme, host, port), refusing what is not one.
pub fn url_parts(url: &str) -> CoreResult<(String, String, u16)> {
    let url = url.trim();
    if url.len() > 2000 {
        return Err(invalid("url is longer than 2,000 characters"));
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        invalid(format!(
            "url '{url}' is not an address: write it as https://host/path"
        ))
    })?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        other => {
            return Err(invalid(format!(
                "url scheme '{other}' cannot receive webhooks: use http:// or https://"
            )))
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(invalid(
            "url carries a user name or password: put credentials in the secret, not the address",
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("url contains spaces or control characters"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid("url has an unclosed [ in its host"))?;
        (h.to_string(), after.strip_prefix(':').unwrap_or(""))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (authority.to_string(), ""),
        }
    };
    if host.is_empty() {
        return Err(invalid(format!("url '{url}' has no host")));
    }
    let port = if port.is_empty() {
        default_port
    } else {
        port.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| invalid(format!("url port '{port}' is not a port number")))?
    };
    Ok((scheme, host, port))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", hex::encode(bytes))
}

const WEBHOOK_SELECT: &str = "SELECT w.id, w.url, w.events, w.created_by, w.created_at, \
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'queued') AS queued, \
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'delivered') AS delivered, \
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'dead') AS dead, \
    (SELECT max(d.delivered_at) FROM webhook_deliveries d WHERE d.webhook_id = w.id) AS last_delivered_at \
    FROM webhooks w";

fn webhook_from_row(r: &SqliteRow) -> CoreResult<Webhook> {
    let events: String = r.get("events");
    Ok(Webhook {
        id: parse_uuid(r.get("id"))?,
        url: r.get("url"),
        events: serde_json::from_str(&events).unwrap_or_default(),
        secret: None,
        created_by: r.get("created_by"),
        created_at: from_ms(r.get("created_at")),
        queued: r.get("queued"),
        delivered: r.get("delivered"),
        dead: r.get("dead"),
        last_delivered_at: r.get::<Option<i64>, _>("last_delivered_at").map(from_ms),
    })
}

fn dead_letter_from_row(r: &SqliteRow) -> CoreResult<DeadLetter> {
    Ok(DeadLetter {
        id: parse_uuid(r.get("id"))?,
        webhook_id: parse_uuid(r.get("webhook_id"))?,
        url: r.get("url"),
        event: r.get("event"),
        body: r.get("body"),
        attempts: r.get("attempts"),
        last_status: r.get("last_status"),
        last_response: r.get("last_response"),
        last_error: r.get("last_error"),
        created_at: from_ms(r.get("created_at")),
        failed_at: from_ms(r.get::<Option<i64>, _>("failed_at").unwrap_or(0)),
    })
}

/// The wait before retry `n` (1-based): `base`, then 4× longer each time.
pub fn retry_delay(base: Duration, n: i64) -> Duration {
    base.saturating_mul(4u32.saturating_pow(n.clamp(1, 8) as u32 - 1))
}

impl Core {
    /// Tells the core where its server listens and is reached (host, port).
    pub fn set_own_addresses(&self, addresses: Vec<(String, u16)>) {
        let own = self.domain_state::<OwnAddresses>();
        *own.0.write().unwrap_or_else(|p| p.into_inner()) = addresses
            .into_iter()
            .map(|(h, p)| (host_class(&h), p))
            .collect();
    }

    /// Refuses a URL that cannot receive webhooks, saying why.
    pub fn check_webhook_url(&self, url: &str) -> CoreResult<()> {
        let (_, host, port) = url_parts(url)?;
        let class = host_class(&host);
        let own = self.domain_state::<OwnAddresses>();
        let own = own.0.read().unwrap_or_else(|p| p.into_inner());
        if own.iter().any(|(h, p)| *p == port && *h == class) {
            return Err(invalid(format!(
                "url points at this Outpost server itself ({host}:{port}): a webhook must go to \
                 another system"
            )));
        }
        Ok(())
    }

    pub async fn list_webhooks(&self, actor: &Actor) -> CoreResult<Vec<Webhook>> {
        actor.require_admin()?;
        let rows = sqlx::query(&format!("{WEBHOOK_SELECT} ORDER BY w.created_at, w.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    pub async fn create_webhook(&self, actor: &Actor, req: NewWebhook) -> CoreResult<Webhook> {
        actor.require_admin()?;
        let url = req.url.trim().to_string();
        self.check_webhook_url(&url)?;
        let mut events: Vec<String> = Vec::new();
        for e in &req.events {
            let e = e.trim();
            if !EVENTS.contains(&e) {
                return Err(invalid(format!(
                    "event '{e}' does not exist; events are: {}",
                    EVENTS.join(", ")
                )));
            }
            if !events.iter().any(|x| x == e) {
                events.push(e.to_string());
            }
        }
        if events.is_empty() {
            return Err(invalid("events is empty: name at least one event to send"));
        }
        let secret = match req.secret {
            Some(s) => {
                let s = s.trim().to_string();
                if !(16..=200).contains(&s.chars().count()) {
                    return Err(invalid(
                        "secret must be 16 to 200 characters (or leave it out to have one made)",
                    ));
                }
                s
            }
            None => new_secret(),
        };
        let mut w = self.write(actor).await?;
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks")
            .fetch_one(&mut *w.tx)
            .await?;
        if count >= MAX_WEBHOOKS {
            return Err(invalid(format!(
                "there are already {MAX_WEBHOOKS} webhooks: delete one first"
            )));
        }
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM webhooks WHERE url = ?")
            .bind(&url)
            .fetch_optional(&mut *w.tx)
            .await?;
        if taken.is_some() {
            return Err(CoreError::Conflict(format!(
                "a webhook already sends to {url}: change its events instead of adding another"
            )));
        }
        let id = Uuid::now_v7();
        let now = w.now_ms();
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&url)
        .bind(json!(events).to_string())
        .bind(&secret)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "webhook.create",
            "webhook",
            id,
            None,
            Some(json!({"url": url, "events": events})),
        )
        .await?;
        w.commit().await?;
        let mut hook = self.webhook(id).await?;
        hook.secret = Some(secret);
        Ok(hook)
    }

    async fn webhook(&self, id: Uuid) -> CoreResult<Webhook> {
        let row = sqlx::query(&format!("{WEBHOOK_SELECT} WHERE w.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("webhook {id} does not exist")))?;
        webhook_from_row(&row)
    }

    /// Deletes a subscription with its deliveries (queued ones are not sent).
    pub async fn delete_webhook(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        let before = self.webhook(id).await?;
        let mut w = self.write(actor).await?;
        sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            "webhook.delete",
            "webhook",
            id,
            Some(json!({"url": before.url, "events": before.events})),
            None,
        )
        .await?;
        w.commit().await
    }

    /// Deliveries that failed every try, newest first.
    pub async fn list_dead_letters(&self, actor: &Actor) -> CoreResult<Vec<DeadLetter>> {
        actor.require_admin()?;
        let rows = sqlx::query(
            "SELECT d.*, w.url FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'dead' ORDER BY d.failed_at DESC, d.rid DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(dead_letter_from_row).collect()
    }

    /// Sends a dead delivery again, after everything already queued for its subscriber (it
    /// keeps its id, so a receiver that did get it can tell).
    pub async fn replay_dead_letter(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        let mut w = self.write(actor).await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM webhook_deliveries WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        match state.as_deref() {
            None => {
                return Err(CoreError::NotFound(format!(
                    "dead letter {id} does not exist (its webhook may have been deleted)"
                )))
            }
            Some("dead") => {}
            Some(other) => {
                return Err(CoreError::Conflict(format!(
                    "delivery {id} is {other}, not dead: only dead letters are replayed"
                )))
            }
        }
        let now = w.now_ms();
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'queued', attempts = 0, next_attempt_at = ?, \
             failed_at = NULL, rid = (SELECT max(rid) + 1 FROM webhook_deliveries) WHERE id = ?",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        w.audit("webhook.replay", "webhook_delivery", id, None, None)
            .await?;
        w.commit().await
    }

    /// For each subscriber, its oldest waiting delivery, when its time has come (a later
    /// one never overtakes it).
    pub async fn due_webhook_deliveries(&self) -> CoreResult<Vec<DueDelivery>> {
        self.due_deliveries(None).await
    }

    /// The oldest waiting delivery of one subscriber, when its time has come (its sender
    /// goes on with the next at once instead of waiting for the next look at the queue).
    pub async fn next_webhook_delivery(&self, webhook: Uuid) -> CoreResult<Option<DueDelivery>> {
        Ok(self.due_deliveries(Some(webhook)).await?.pop())
    }

    async fn due_deliveries(&self, webhook: Option<Uuid>) -> CoreResult<Vec<DueDelivery>> {
        let now = to_ms(self.now());
        let rows = sqlx::query(
            "SELECT d.id, d.webhook_id, d.event, d.body, d.attempts, d.next_attempt_at, w.url, \
             w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.rid IN (SELECT min(rid) FROM webhook_deliveries WHERE state = 'queued' \
             AND (?1 IS NULL OR webhook_id = ?1) GROUP BY webhook_id)",
        )
        .bind(webhook.map(|w| w.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .filter(|r| r.get::<i64, _>("next_attempt_at") <= now)
            .map(|r| {
                Ok(DueDelivery {
                    id: parse_uuid(r.get("id"))?,
                    webhook_id: parse_uuid(r.get("webhook_id"))?,
                    url: r.get("url"),
                    secret: r.get("secret"),
                    event: r.get("event"),
                    body: r.get("body"),
                    attempts: r.get("attempts"),
                })
            })
            .collect()
    }

    /// Records a try: delivered, retried after `retry_delay`, or dead after the last retry.
    /// Returns the delivery's state afterwards.
    pub async fn record_webhook_try(
        &self,
        id: Uuid,
        t: &DeliveryTry,
        retry_base: Duration,
    ) -> CoreResult<&'static str> {
        let _guard = self.write_lock_only().await;
        let now = to_ms(self.now());
        let attempts: Option<i64> = sqlx::query_scalar(
            "SELECT attempts FROM webhook_deliveries WHERE id = ? AND state = 'queued'",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        // Deleted (with its webhook) or replayed meanwhile: nothing to record.
        let Some(attempts) = attempts else {
            return Ok("gone");
        };
        let attempts = attempts + 1;
        let response = t.response.as_deref().map(|r| {
            let mut end = r.len().min(RESPONSE_KEPT);
            while !r.is_char_boundary(end) {
                end -= 1;
            }
            r[..end].to_string()
        });
        let (state, next) = if t.delivered() {
            ("delivered", now)
        } else if attempts > RETRIES {
            ("dead", now)
        } else {
            let wait = retry_delay(retry_base, attempts).as_millis() as i64;
            ("queued", now + wait)
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, \
             last_status = ?, last_response = ?, last_error = ?, \
             delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, \
             failed_at = CASE WHEN ? = 'dead' THEN ? ELSE failed_at END WHERE id = ?",
        )
        .bind(state)
        .bind(attempts)
        .bind(next)
        .bind(t.status.map(i64::from))
        .bind(response)
        .bind(&t.error)
        .bind(state)
        .bind(now)
        .bind(state)
        .bind(now)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(state)
    }
}
