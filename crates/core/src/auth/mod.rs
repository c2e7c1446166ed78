//! Users, passwords (Argon2id), sessions (expiring bearer tokens) and login throttling.

pub mod api_keys;
pub mod throttle;

use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::record::SyncedRecord;
use crate::store::{parse_uuid, Actor, Core};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use chrono::Duration;
use outpost_proto::{FirstAdminRequest, LoginRequest, NewUser, Role, Session, SetupState, User};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

/// People sync to every console; on the server only admins' consoles may change them. Two
/// stores that each made a user of one name keep both people, the newcomer suffixed.
pub(crate) const USER_RECORD: SyncedRecord = SyncedRecord {
    admin_only: true,
    // A console may hold a local account renamed to avoid a name clash.
    checked: false,
    unique: Some("username"),
    ..SyncedRecord::table("user", "users", &["username", "display_name", "role"])
};

pub const SESSION_HOURS: i64 = 12;
const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;

fn hash_password(password: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn validate_username(u: &str) -> CoreResult<String> {
    let u = u.trim().to_lowercase();
    if u.is_empty() || u.len() > 64 {
        return Err(invalid("username must be 1 to 64 characters"));
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(invalid(
            "username may only use letters, digits and . _ - @ (no spaces)",
        ));
    }
    Ok(u)
}

fn validate_password(p: &str) -> CoreResult<()> {
    let n = p.chars().count();
    if n < MIN_PASSWORD {
        return Err(invalid(format!(
            "password must be at least {MIN_PASSWORD} characters"
        )));
    }
    if p.len() > MAX_PASSWORD {
        return Err(invalid(format!(
            "password must be at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn validate_display_name(n: &str) -> CoreResult<String> {
    let n = n.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err(invalid("display name must be 1 to 100 characters"));
    }
    Ok(n.to_string())
}

pub(crate) fn user_from_row(r: &SqliteRow) -> CoreResult<User> {
    let role: String = r.get("role");
    let hash: Option<String> = r.get("password_hash");
    Ok(User {
        id: parse_uuid(r.get("id"))?,
        username: r.get("username"),
        display_name: r.get("display_name"),
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        can_log_in: hash.is_some(),
        clients: None,
    })
}

/// The clients a user may see (None: every client).
pub(crate) async fn scope_of(
    db: impl sqlx::SqliteExecutor<'_>,
    user_id: Uuid,
) -> CoreResult<Option<Vec<Uuid>>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT client_id FROM user_clients WHERE user_id = ? ORDER BY client_id",
    )
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    if ids.is_empty() {
        return Ok(None);
    }
    ids.iter()
        .map(|i| parse_uuid(i))
        .collect::<CoreResult<_>>()
        .map(Some)
}

const USER_COLS: &str = "id, username, display_name, role, password_hash";

impl Core {
    pub async fn setup_state(&self) -> CoreResult<SetupState> {
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE role = 'admin' AND password_hash IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(SetupState {
            needs_admin: admins == 0,
            store_empty: self.store_is_empty().await?,
        })
    }

    pub(crate) async fn store_is_empty(&self) -> CoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM clients) + (SELECT count(*) FROM tickets)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n == 0)
    }

    /// The first-run wizard: creates the first admin and logs them in. Refused once an admin
    /// exists, so nobody can use it to take over a running store.
    pub async fn create_first_admin(&self, req: FirstAdminRequest) -> CoreResult<Session> {
        if !self.setup_state().await?.needs_admin {
            return Err(CoreError::Conflict(
                "this Outpost already has an admin; log in instead".into(),
            ));
        }
        let user = self
            .insert_user(
                &Actor::system(),
                NewUser {
                    username: req.username.clone(),
                    display_name: req.display_name,
                    role: Role::Admin,
                    password: req.password.clone(),
                },
            )
            .await?;
        if req.load_demo {
            self.load_demo(&self.actor_for(&user)).await?;
        }
        self.login(LoginRequest {
            username: req.username,
            password: req.password,
        })
        .await
    }

    pub fn actor_for(&self, user: &User) -> Actor {
        Actor {
            user_id: Some(user.id),
            name: user.display_name.clone(),
            role: user.role,
            clients: user.clients.clone(),
        }
    }

    /// Creates a user who can log in (admins only).
    pub async fn create_user(&self, actor: &Actor, req: NewUser) -> CoreResult<User> {
        actor.require_admin()?;
        self.insert_user(actor, req).await
    }

    async fn insert_user(&self, actor: &Actor, req: NewUser) -> CoreResult<User> {
        let username = validate_username(&req.username)?;
        let display_name = validate_display_name(&req.display_name)?;
        validate_password(&req.password)?;
        let hash = hash_password(&req.password)?;
        self.insert_user_row(actor, &username, &display_name, req.role, Some(hash))
            .await
    }

    pub(crate) async fn insert_user_row(
        &self,
        actor: &Actor,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: Option<String>,
    ) -> CoreResult<User> {
        let mut w = self.write(actor).await?;
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *w.tx)
            .await?;
        if taken.is_some() {
            return Err(CoreError::Conflict(format!(
                "the username '{username}' is taken; choose another"
            )));
        }
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(&password_hash)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        // The password hash never goes into the change log or the audit trail.
        w.inserted(
            "user.create",
            "user",
            id,
            json!({"username": username, "display_name": display_name, "role": role.as_str()}),
        )
        .await?;
        w.commit().await?;
        Ok(User {
            id,
            username: username.to_string(),
            display_name: display_name.to_string(),
            role,
            can_log_in: password_hash.is_some(),
            clients: None,
        })
    }

    /// Everyone's name and role; who may see which clients only for admins (and each
    /// person's own), since it names clients others may not see.
    pub async fn list_users(&self, actor: &Actor) -> CoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            // API keys act as users of their own; Settings → API keys lists them.
            "SELECT {USER_COLS} FROM users WHERE id NOT IN (SELECT user_id FROM api_keys) \
             ORDER BY display_name COLLATE NOCASE"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut users: Vec<User> = rows.iter().map(user_from_row).collect::<CoreResult<_>>()?;
        let scoped: Vec<(String, String)> =
            sqlx::query_as("SELECT user_id, client_id FROM user_clients ORDER BY client_id")
                .fetch_all(&self.pool)
                .await?;
        let admin = actor.role == Role::Admin;
        for (user, client) in scoped {
            if !admin && actor.user_id.map(|me| me.to_string()) != Some(user.clone()) {
                continue;
            }
            if let Some(u) = users.iter_mut().find(|u| u.id.to_string() == user) {
                u.clients
                    .get_or_insert_with(Vec::new)
                    .push(parse_uuid(&client)?);
            }
        }
        Ok(users)
    }

    /// The clients a person may see here: their own scope; on a console connected to a
    /// server, the scope the server last filtered this console's data to (it holds the
    /// real one, and refuses changes outside it).
    pub(crate) async fn scope_for(&self, user_id: Uuid) -> CoreResult<Option<Vec<Uuid>>> {
        // One statement: this runs on every authenticated request.
        let (own, server, scope): (String, Option<String>, Option<String>) = sqlx::query_as(
            "SELECT (SELECT json_group_array(client_id) FROM (SELECT client_id \
               FROM user_clients WHERE user_id = ? ORDER BY client_id)), server_url, scope \
             FROM sync_state",
        )
        .bind(user_id.to_string())
        .fetch_one(&self.pool)
        .await?;
        let list = |text: &str| {
            serde_json::from_str::<Vec<Uuid>>(text)
                .ok()
                .filter(|ids| !ids.is_empty())
        };
        Ok(match (list(&own), server, scope) {
            (Some(own), _, _) => Some(own),
            (None, Some(_), Some(text)) => list(&text),
            _ => None,
        })
    }

    /// Limits a technician or viewer to some clients (`None`: every client). Admins always
    /// see every client. Takes effect on the person's next request; their consoles drop
    /// what they may no longer see at their next sync.
    pub async fn set_user_clients(
        &self,
        actor: &Actor,
        user_id: Uuid,
        clients: Option<Vec<Uuid>>,
    ) -> CoreResult<User> {
        actor.require_admin()?;
        let server: Option<String> = sqlx::query_scalar("SELECT server_url FROM sync_state")
            .fetch_one(&self.pool)
            .await?;
        if let Some(server) = server {
            return Err(CoreError::Conflict(format!(
                "this console is connected to {server}, which decides who sees which clients: \
                 change it there (Settings → Users in its web console); this console follows"
            )));
        }
        let mut clients = clients;
        if let Some(list) = &mut clients {
            list.sort();
            list.dedup();
            if list.is_empty() {
                return Err(invalid(
                    "choose at least one client, or every client (send null)",
                ));
            }
            if list.len() > 1000 {
                return Err(invalid("a scope lists at most 1000 clients"));
            }
        }
        let mut w = self.write(actor).await?;
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
            .bind(user_id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("user {user_id} does not exist")))?;
        let mut user = user_from_row(&row)?;
        if user.role == Role::Admin && clients.is_some() {
            return Err(invalid(
                "admins always see every client; make this person a technician first",
            ));
        }
        for c in clients.iter().flatten() {
            crate::clients::ensure_client(&mut w, *c).await?;
        }
        let before = scope_of(&mut *w.tx, user_id).await?;
        sqlx::query("DELETE FROM user_clients WHERE user_id = ?")
            .bind(user_id.to_string())
            .execute(&mut *w.tx)
            .await?;
        for c in clients.iter().flatten() {
            sqlx::query("INSERT INTO user_clients (user_id, client_id) VALUES (?, ?)")
                .bind(user_id.to_string())
                .bind(c.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        w.audit(
            "user.scope",
            "user",
            user_id,
            Some(json!({ "clients": before })),
            Some(json!({ "clients": clients })),
        )
        .await?;
        w.commit().await?;
        user.clients = clients;
        Ok(user)
    }

    /// Checks a password and opens a session, for a login made on this device.
    pub async fn login(&self, req: LoginRequest) -> CoreResult<Session> {
        self.login_from(req, None, None).await
    }

    /// Checks a password and opens a session for a login from `address` (None: this
    /// device). Failures slow that address down for that account, and an address that fails
    /// for many accounts for all of them ([`throttle`]); the right password from another
    /// address is never refused because of them.
    pub async fn login_from(
        &self,
        req: LoginRequest,
        address: Option<std::net::IpAddr>,
        device: Option<&str>,
    ) -> CoreResult<Session> {
        let now = self.now();
        let now_ms = to_ms(now);
        let username = req.username.trim().to_lowercase();
        let source = throttle::Source::from(address);
        let throttle = self.domain_state::<throttle::LoginThrottle>();
        if let Some(wait) = throttle.check(&username, source, now_ms) {
            let whom = if wait.whole_address {
                "from this address"
            } else {
                "for this account from this address"
            };
            return Err(CoreError::RateLimited {
                message: format!(
                    "too many failed logins {whom}; try again in {} seconds",
                    wait.secs
                ),
                retry_after_secs: wait.secs,
            });
        }
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE username = ?"))
            .bind(&username)
            .fetch_optional(&self.pool)
            .await?;
        let wrong = || CoreError::Unauthorized("wrong username or password".into());
        let Some(row) = row else {
            // Spend the same effort as a real check, so timing does not reveal usernames.
            let _ = verify_password(&req.password, DUMMY_HASH);
            throttle.failed(&username, source, now_ms);
            return Err(wrong());
        };
        let mut user = user_from_row(&row)?;
        let hash: Option<String> = row.get("password_hash");
        let ok = hash
            .as_deref()
            .map(|h| verify_password(&req.password, h))
            .unwrap_or(false);
        if !ok {
            throttle.failed(&username, source, now_ms);
            return Err(wrong());
        }
        throttle.succeeded(&username, source);
        user.clients = self.scope_for(user.id).await?;
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let expires_at = now + Duration::hours(SESSION_HOURS);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, id, device, \
             address, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash(&token))
        .bind(user.id.to_string())
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .bind(Uuid::now_v7().to_string())
        .bind(device.map(str::trim).filter(|d| !d.is_empty()))
        .bind(address.map(|a| a.to_string()))
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Session {
            token,
            expires_at,
            user,
        })
    }

    /// A user with their client scope.
    pub(crate) async fn user_by_id(&self, id: Uuid) -> CoreResult<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::Unauthorized("this account no longer exists".into()))?;
        let mut user = user_from_row(&row)?;
        user.clients = self.scope_for(id).await?;
        Ok(user)
    }

    /// The person behind a bearer token (a session, or an API key), if it is still valid.
    pub async fn authenticate(&self, token: &str) -> CoreResult<Actor> {
        if token.starts_with(api_keys::KEY_PREFIX) {
            return self.authenticate_key(token).await;
        }
        let expired = || {
            CoreError::Unauthorized("your session has expired or is unknown; log in again".into())
        };
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.password_hash, s.expires_at, \
             s.last_used_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        )
        .bind(&hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(expired)?;
        let expires: i64 = row.get("expires_at");
        let now = to_ms(self.now());
        if expires <= now {
            return Err(expired());
        }
        // The last use, written at most once a minute (not a write per request).
        if row
            .get::<Option<i64>, _>("last_used_at")
            .is_none_or(|t| now - t >= 60_000)
        {
            sqlx::query("UPDATE sessions SET last_used_at = ? WHERE token_hash = ?")
                .bind(now)
                .bind(&hash)
                .execute(&self.pool)
                .await?;
        }
        let mut user = user_from_row(&row)?;
        user.clients = self.scope_for(user.id).await?;
        Ok(self.actor_for(&user))
    }

    pub async fn current_user(&self, actor: &Actor) -> CoreResult<User> {
        let id = actor
            .user_id
            .ok_or_else(|| CoreError::NotFound("the system actor is not a user".into()))?;
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound("your user no longer exists".into()))?;
        let mut user = user_from_row(&row)?;
        user.clients = self.scope_for(id).await?;
        Ok(user)
    }

    /// After the server confirmed this person's password, keep a local verifier so they can
    /// log in to this console offline; returns a local session.
    pub async fn cache_login(&self, user_id: Uuid, req: LoginRequest) -> CoreResult<Session> {
        let hash = hash_password(&req.password)?;
        let username: Option<String> =
            sqlx::query_scalar("SELECT username FROM users WHERE id = ?")
                .bind(user_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let username = username.ok_or_else(|| {
            CoreError::NotFound("your account has not reached this console yet; sync first".into())
        })?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        self.login(LoginRequest {
            username,
            password: req.password,
        })
        .await
    }

    /// The person's sessions, newest first; `current` marks the one of this request.
    pub async fn list_my_sessions(
        &self,
        actor: &Actor,
        token: Option<&str>,
    ) -> CoreResult<Vec<outpost_proto::SessionInfo>> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("sessions belong to a person; log in first"))?;
        let current = token.map(token_hash);
        let rows = sqlx::query(
            "SELECT id, token_hash, device, address, created_at, last_used_at, expires_at \
             FROM sessions WHERE user_id = ? AND expires_at > ? AND id IS NOT NULL \
             ORDER BY coalesce(last_used_at, created_at) DESC",
        )
        .bind(me.to_string())
        .bind(to_ms(self.now()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(outpost_proto::SessionInfo {
                    id: parse_uuid(r.get("id"))?,
                    device: r
                        .get::<Option<String>, _>("device")
                        .unwrap_or_else(|| "Unknown device".into()),
                    address: r.get::<Option<String>, _>("address").unwrap_or_default(),
                    created_at: from_ms(r.get("created_at")),
                    last_used_at: r.get::<Option<i64>, _>("last_used_at").map(from_ms),
                    expires_at: from_ms(r.get("expires_at")),
                    current: current.as_deref() == Some(r.get::<&str, _>("token_hash")),
                })
            })
            .collect()
    }

    /// Ends one of the person's own sessions at once.
    pub async fn end_my_session(&self, actor: &Actor, id: Uuid) -> CoreResult<()> {
        let me = actor
            .user_id
            .ok_or_else(|| invalid("sessions belong to a person; log in first"))?;
        let ended = sqlx::query("DELETE FROM sessions WHERE id = ? AND user_id = ?")
            .bind(id.to_string())
            .bind(me.to_string())
            .execute(&self.pool)
            .await?;
        if ended.rows_affected() == 0 {
            return Err(CoreError::NotFound(format!(
                "session {id} is not one of your sessions (it may have ended already)"
            )));
        }
        Ok(())
    }

    pub async fn logout(&self, token: &str) -> CoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

// A valid Argon2id hash of a random password, used only to equalise timing for unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3CdyLsZ3tWKbIadCAa+pzNYwFwKWhz8WC0yTTLyGDQ0";

/// The account a part of Outpost writes as (alerts, mail in): it cannot log in (no
/// password), and is made on first use like any user, so it syncs.
pub(crate) async fn service_user(
    w: &mut crate::store::WriteTx<'_>,
    username: &str,
    display_name: &str,
) -> CoreResult<Uuid> {
    let known: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
        .bind(username)
        .fetch_optional(&mut *w.tx)
        .await?;
    if let Some(id) = known {
        return crate::store::parse_uuid(&id);
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, created_at) \
         VALUES (?, ?, ?, 'technician', NULL, ?)",
    )
    .bind(id.to_string())
    .bind(username)
    .bind(display_name)
    .bind(w.now_ms())
    .execute(&mut *w.tx)
    .await?;
    w.inserted(
        "user.create",
        "user",
        id,
        serde_json::json!({"username": username, "display_name": display_name,
                           "role": "technician"}),
    )
    .await?;
    Ok(id)
}
