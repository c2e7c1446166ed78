//! API keys for integrations: made by admins with a name, a role, client scopes and an
//! expiry; shown once, kept as a SHA-256 hash, revocable; each limited to a number of
//! requests per minute (429 with Retry-After past it).
//!
//! A key acts as a user of its own ("API key: NAME", no password, the key's role, its
//! clients in `user_clients`), so every rule that holds for people holds for it, and
//! everything it writes is attributed to it in the audit log. Keys may not manage keys.

use super::token_hash;
use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{ApiKey, CreatedApiKey, NewApiKey, Role};
use rand::RngCore;
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

pub const KEY_PREFIX: &str = "opk_";
const DEFAULT_RATE: i64 = 1_000;
/// `last_used_at` is written at most this often per key (not on every request).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Requests left per key (a token bucket refilled at the key's rate), and when each key's
/// last use was last written.
#[derive(Default)]
pub(crate) struct KeyBuckets {
    inner: Mutex<HashMap<Uuid, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at_ms: i64,
    touched_ms: Option<i64>,
}

impl KeyBuckets {
    /// Takes one request; Err(seconds to wait) when the key is past its rate. Ok(true) when
    /// its last use should be written.
    fn take(&self, key: Uuid, per_minute: i64, now_ms: i64) -> Result<bool, u64> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let cap = per_minute.max(1) as f64;
        let b = map.entry(key).or_insert(Bucket {
            tokens: cap,
            at_ms: now_ms,
            touched_ms: None,
        });
        let per_ms = cap / 60_000.0;
        b.tokens = (b.tokens + (now_ms - b.at_ms).max(0) as f64 * per_ms).min(cap);
        b.at_ms = now_ms;
        if b.tokens < 1.0 {
            let wait_ms = (1.0 - b.tokens) / per_ms;
            return Err((wait_ms / 1000.0).ceil().max(1.0) as u64);
        }
        b.tokens -= 1.0;
        let touch = b
            .touched_ms
            .is_none_or(|t| now_ms.saturating_sub(t) >= TOUCH_EVERY_MS);
        if touch {
            b.touched_ms = Some(now_ms);
        }
        Ok(touch)
    }
}

const KEY_COLS: &str = "k.id, k.user_id, k.name, k.prefix, k.rate_per_minute, k.created_by, \
    k.created_at, k.expires_at, k.revoked_at, k.last_used_at, u.role, \
    (SELECT json_group_array(client_id) FROM (SELECT client_id FROM user_clients \
      WHERE user_id = k.user_id ORDER BY client_id)) AS clients";

fn key_from_row(r: &sqlx::sqlite::SqliteRow) -> CoreResult<ApiKey> {
    let clients: Vec<String> =
        serde_json::from_str(&r.get::<String, _>("clients")).unwrap_or_default();
    Ok(ApiKey {
        id: parse_uuid(r.get("id"))?,
        name: r.get("name"),
        role: Role::parse(&r.get::<String, _>("role")).unwrap_or(Role::Viewer),
        clients: clients
            .iter()
            .map(|c| parse_uuid(c))
            .collect::<CoreResult<_>>()?,
        prefix: r.get("prefix"),
        rate_per_minute: r.get("rate_per_minute"),
        created_by: r.get("created_by"),
        created_at: from_ms(r.get("created_at")),
        expires_at: r.get::<Option<i64>, _>("expires_at").map(from_ms),
        revoked_at: r.get::<Option<i64>, _>("revoked_at").map(from_ms),
        last_used_at: r.get::<Option<i64>, _>("last_used_at").map(from_ms),
    })
}

impl Core {
    /// Refuses a request made with an API key where only a person may act.
    async fn require_person(&self, actor: &Actor) -> CoreResult<()> {
        let Some(id) = actor.user_id else {
            return Ok(());
        };
        let is_key: Option<String> =
            sqlx::query_scalar("SELECT id FROM api_keys WHERE user_id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        match is_key {
            Some(_) => Err(CoreError::Forbidden(
                "an API key cannot manage API keys; an admin does that in Settings".into(),
            )),
            None => Ok(()),
        }
    }

    /// Makes a key; the answer carries it this once.
    pub async fn create_api_key(&self, actor: &Actor, req: NewApiKey) -> CoreResult<CreatedApiKey> {
        actor.require_admin()?;
        self.require_person(actor).await?;
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name must be 1 to 100 characters"));
        }
        if let Some(d) = req.expires_in_days {
            if !(1..=3650).contains(&d) {
                return Err(invalid("expires_in_days must be between 1 and 3650 (or left out for a key that does not expire)"));
            }
        }
        let rate = req.rate_per_minute.unwrap_or(DEFAULT_RATE);
        if !(1..=100_000).contains(&rate) {
            return Err(invalid("rate_per_minute must be between 1 and 100000"));
        }
        let mut clients = req.clients.clone();
        clients.sort();
        clients.dedup();
        let mut w = self.write(actor).await?;
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM api_keys WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *w.tx)
            .await?;
        if taken.is_some() {
            return Err(CoreError::Conflict(format!(
                "an API key named '{name}' exists; choose another name"
            )));
        }
        for c in &clients {
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM clients WHERE id = ?")
                .bind(c.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
            if known.is_none() {
                return Err(CoreError::NotFound(format!("client {c} does not exist")));
            }
        }
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let key = format!("{KEY_PREFIX}{}", hex::encode(raw));
        let prefix = key[..KEY_PREFIX.len() + 8].to_string();
        let (id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        let now = w.now_ms();
        let display = format!("API key: {name}");
        let username = format!("api-key-{}", &prefix[KEY_PREFIX.len()..]);
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, NULL, ?)",
        )
        .bind(user_id.to_string())
        .bind(&username)
        .bind(&display)
        .bind(req.role.as_str())
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.inserted(
            "user.create",
            "user",
            user_id,
            json!({"username": username, "display_name": display, "role": req.role.as_str()}),
        )
        .await?;
        for c in &clients {
            sqlx::query("INSERT INTO user_clients (user_id, client_id) VALUES (?, ?)")
                .bind(user_id.to_string())
                .bind(c.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        let expires = req.expires_in_days.map(|d| now + d * 86_400_000);
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, rate_per_minute, \
             created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(name)
        .bind(token_hash(&key))
        .bind(&prefix)
        .bind(rate)
        .bind(&actor.name)
        .bind(now)
        .bind(expires)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "api_key.create",
            "api_key",
            id,
            None,
            Some(
                json!({"name": name, "role": req.role.as_str(), "clients": clients,
                        "expires_at": expires, "rate_per_minute": rate}),
            ),
        )
        .await?;
        w.commit().await?;
        let api_key = self.api_key(id).await?;
        Ok(CreatedApiKey { key, api_key })
    }

    async fn api_key(&self, id: Uuid) -> CoreResult<ApiKey> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_COLS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("API key {id} does not exist")))?;
        key_from_row(&row)
    }

    /// Every key, newest first (admins).
    pub async fn list_api_keys(&self, actor: &Actor) -> CoreResult<Vec<ApiKey>> {
        actor.require_admin()?;
        sqlx::query(&format!(
            "SELECT {KEY_COLS} FROM api_keys k JOIN users u ON u.id = k.user_id \
             ORDER BY k.created_at DESC, k.id DESC"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(key_from_row)
        .collect()
    }

    /// Revokes a key at once: its next request is refused (admins).
    pub async fn revoke_api_key(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        self.require_person(actor).await?;
        let key = self.api_key(id).await?;
        if key.revoked_at.is_some() {
            return Ok(());
        }
        let mut w = self.write(actor).await?;
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
            .bind(w.now_ms())
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            "api_key.revoke",
            "api_key",
            id,
            None,
            Some(json!({"name": key.name})),
        )
        .await?;
        w.commit().await
    }

    /// The actor behind an API key, if it is valid, not revoked, not expired and within its
    /// rate.
    pub(crate) async fn authenticate_key(&self, key: &str) -> CoreResult<Actor> {
        let unknown = || {
            CoreError::Unauthorized(
                "this API key is not known; check it or ask an admin for a new one".into(),
            )
        };
        let row = sqlx::query(
            "SELECT k.id, k.user_id, k.name, k.rate_per_minute, k.expires_at, k.revoked_at \
             FROM api_keys k WHERE k.key_hash = ?",
        )
        .bind(token_hash(key))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unknown)?;
        let now = to_ms(self.now());
        let name: String = row.get("name");
        if let Some(at) = row.get::<Option<i64>, _>("revoked_at") {
            return Err(CoreError::Unauthorized(format!(
                "the API key '{name}' was revoked on {}",
                from_ms(at).format("%Y-%m-%d %H:%M UTC")
            )));
        }
        if let Some(at) = row
            .get::<Option<i64>, _>("expires_at")
            .filter(|&at| at <= now)
        {
            return Err(CoreError::Unauthorized(format!(
                "the API key '{name}' expired on {}; ask an admin for a new one",
                from_ms(at).format("%Y-%m-%d %H:%M UTC")
            )));
        }
        let id = parse_uuid(row.get("id"))?;
        let buckets = self.domain_state::<KeyBuckets>();
        let touch = buckets
            .take(id, row.get("rate_per_minute"), now)
            .map_err(|secs| CoreError::RateLimited {
                message: format!(
                    "the API key '{name}' is over its {} requests per minute; try again in \
                     {secs} seconds",
                    row.get::<i64, _>("rate_per_minute")
                ),
                retry_after_secs: secs,
            })?;
        if touch {
            sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
                .bind(now)
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
        }
        let user_id = parse_uuid(row.get("user_id"))?;
        let user = self.user_by_id(user_id).await?;
        Ok(self.actor_for(&user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_rate_per_minute_then_waits_for_the_bucket_to_refill() {
        let b = KeyBuckets::default();
        let key = Uuid::now_v7();
        assert_eq!(b.take(key, 3, 0), Ok(true), "the first use is written");
        assert_eq!(b.take(key, 3, 10), Ok(false));
        assert_eq!(b.take(key, 3, 20), Ok(false));
        // 3 per minute: one more every 20 s.
        assert_eq!(b.take(key, 3, 30), Err(20));
        assert_eq!(b.take(key, 3, 20_030), Ok(false));
        assert_eq!(
            b.take(key, 3, 80_000),
            Ok(true),
            "a minute later the use is written again"
        );
    }
}
