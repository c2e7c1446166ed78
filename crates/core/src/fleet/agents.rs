//! How machines join: enrollment tokens an admin makes, the enrollment itself (a new asset,
//! or the machine's existing one after a reinstall), and what an agent presents when it
//! connects. Credentials are 32 random bytes, so a SHA-256 of them is enough to store (no
//! password stretching: a whole fleet re-authenticates after a server restart).

use crate::clients::{ensure_client, ensure_site_of};
use crate::clock::{from_ms, to_ms};
use crate::error::{invalid, CoreError, CoreResult};
use crate::fleet::assets::{insert_asset, AssetDraft};
use crate::fleet::status::{ensure_status, set_clone_warning};
use crate::store::{opt_uuid, parse_uuid, Actor, Core};
use outpost_proto::{
    AgentInfo, AssetKind, EnrollRequest, EnrollResponse, EnrollmentToken, EnrollmentTokenCreated,
    GatewayInfo, NewEnrollmentToken,
};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::sync::atomic::Ordering;
use uuid::Uuid;

const TOKEN_PREFIX: &str = "opt_";

fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A connected agent, as the gateway knows it after it presented its credential.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub agent_id: Uuid,
    pub asset_id: Uuid,
    pub client_id: Uuid,
    /// The asset's number in the metrics tables.
    pub asset_no: i64,
    pub last_seq: u64,
    pub hostname: String,
}

const TOKEN_SELECT: &str =
    "SELECT t.id, t.client_id, t.site_id, t.expires_at, t.max_uses, t.uses, \
    t.revoked_at, t.created_by, t.created_at, \
    (SELECT c.name FROM clients c WHERE c.id = t.client_id) AS client_name, \
    (SELECT s.name FROM sites s WHERE s.id = t.site_id) AS site_name \
    FROM enrollment_tokens t";

fn token_state(expires_at: i64, max_uses: i64, uses: i64, revoked: bool, now: i64) -> &'static str {
    if revoked {
        "revoked"
    } else if uses >= max_uses {
        "used_up"
    } else if expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

fn token_from_row(r: &SqliteRow, now: i64) -> CoreResult<EnrollmentToken> {
    let expires_at: i64 = r.get("expires_at");
    let max_uses: i64 = r.get("max_uses");
    let uses: i64 = r.get("uses");
    let revoked_at: Option<i64> = r.get("revoked_at");
    Ok(EnrollmentToken {
        id: parse_uuid(r.get("id"))?,
        client_id: parse_uuid(r.get("client_id"))?,
        client_name: r
            .get::<Option<String>, _>("client_name")
            .unwrap_or_default(),
        site_id: opt_uuid(r.get("site_id"))?,
        site_name: r.get("site_name"),
        expires_at: from_ms(expires_at),
        max_uses,
        uses,
        revoked_at: revoked_at.map(from_ms),
        created_by: r.get("created_by"),
        created_at: from_ms(r.get("created_at")),
        state: token_state(expires_at, max_uses, uses, revoked_at.is_some(), now).into(),
    })
}

fn hex_field(field: &str, v: &str, bytes: usize) -> CoreResult<String> {
    let v = v.trim().to_ascii_lowercase();
    if v.len() != bytes * 2 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(format!(
            "{field} must be {bytes} bytes in hex ({} digits)",
            bytes * 2
        )));
    }
    Ok(v)
}

/// Agent-sent text for a one-line field: trimmed, control characters refused, capped.
pub(crate) fn agent_line(field: &str, v: &str, max: usize) -> CoreResult<String> {
    if v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    let v = v.trim();
    if v.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(v.to_string())
}

impl Core {
    pub async fn create_enrollment_token(
        &self,
        actor: &Actor,
        req: NewEnrollmentToken,
    ) -> CoreResult<EnrollmentTokenCreated> {
        actor.require_admin()?;
        if !(1..=8760).contains(&req.expires_in_hours) {
            return Err(invalid(
                "expires_in_hours must be between 1 and 8760 (a year)",
            ));
        }
        if !(1..=10_000).contains(&req.max_uses) {
            return Err(invalid("max_uses must be between 1 and 10000"));
        }
        let mut w = self.write(actor).await?;
        ensure_client(&mut w, req.client_id).await?;
        if let Some(site) = req.site_id {
            ensure_site_of(&mut w, site, req.client_id).await?;
        }
        let id = Uuid::now_v7();
        let token = format!("{TOKEN_PREFIX}{}", secret());
        let now = w.now_ms();
        let expires_at = now + req.expires_in_hours * 3_600_000;
        sqlx::query(
            "INSERT INTO enrollment_tokens (id, token_hash, client_id, site_id, expires_at, \
             max_uses, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(hash(&token))
        .bind(req.client_id.to_string())
        .bind(req.site_id.map(|s| s.to_string()))
        .bind(expires_at)
        .bind(req.max_uses)
        .bind(&actor.name)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "enrollment_token.create",
            "enrollment_token",
            id,
            None,
            Some(
                json!({"client_id": req.client_id.to_string(), "expires_at": expires_at,
                        "max_uses": req.max_uses}),
            ),
        )
        .await?;
        w.commit().await?;
        let enrollment = self.enrollment_token(id).await?;
        Ok(EnrollmentTokenCreated { token, enrollment })
    }

    async fn enrollment_token(&self, id: Uuid) -> CoreResult<EnrollmentToken> {
        let row = sqlx::query(&format!("{TOKEN_SELECT} WHERE t.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("enrollment token {id} does not exist")))?;
        token_from_row(&row, to_ms(self.now()))
    }

    /// Every enrollment token, newest first (admins only: they can let machines in).
    pub async fn list_enrollment_tokens(&self, actor: &Actor) -> CoreResult<Vec<EnrollmentToken>> {
        actor.require_admin()?;
        let now = to_ms(self.now());
        sqlx::query(&format!(
            "{TOKEN_SELECT} ORDER BY t.created_at DESC LIMIT 500"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| token_from_row(r, now))
        .collect()
    }

    pub async fn revoke_enrollment_token(
        &self,
        actor: &Actor,
        id: Uuid,
    ) -> CoreResult<EnrollmentToken> {
        actor.require_admin()?;
        let mut w = self.write(actor).await?;
        let done = sqlx::query(
            "UPDATE enrollment_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
        )
        .bind(w.now_ms())
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound(format!(
                "enrollment token {id} does not exist"
            )));
        }
        w.audit(
            "enrollment_token.revoke",
            "enrollment_token",
            id,
            None,
            None,
        )
        .await?;
        w.commit().await?;
        self.enrollment_token(id).await
    }

    /// A machine joins with a token: a new asset at the token's client, or (same machine
    /// fingerprint at that client) its existing asset, whose previous agent is retired.
    pub async fn enroll_agent(&self, req: EnrollRequest) -> CoreResult<EnrollResponse> {
        let fingerprint = hex_field("machine_fingerprint", &req.machine_fingerprint, 32)?;
        let public_key = hex_field("public_key", &req.public_key, 32)?;
        let hostname = agent_line("hostname", &req.hostname, 253)?;
        if hostname.is_empty() {
            return Err(invalid("hostname must not be empty"));
        }
        let os = agent_line("os", &req.os, 200)?;
        let version = agent_line("agent_version", &req.agent_version, 50)?;
        let token = req.token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Err(CoreError::Unauthorized(
                "this is not an Outpost enrollment token; copy the command from Fleet → Add \
                 endpoint again"
                    .into(),
            ));
        }
        let actor = Actor {
            user_id: None,
            name: format!("enrollment of {hostname}"),
            role: outpost_proto::Role::Admin,
            clients: None,
        };
        let mut w = self.write(&actor).await?;
        if let Some(expected) = &req.root_fingerprint {
            let root: Option<String> =
                sqlx::query_scalar("SELECT public_key FROM trust_root WHERE singleton = 1")
                    .fetch_optional(&mut *w.tx)
                    .await?;
            let ours = root
                .and_then(|k| hex::decode(k).ok())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(|b| outpost_trust::fingerprint(&b));
            let same = ours.as_deref().map(outpost_trust::normalize_fingerprint)
                == Some(outpost_trust::normalize_fingerprint(expected));
            if !same {
                return Err(CoreError::Conflict(format!(
                    "this server's script-signing root is {}, not the {} given with --root; \
                     nothing was stored: check the command with your admin",
                    ours.as_deref().unwrap_or("not made yet"),
                    expected.trim()
                )));
            }
        }
        let now = w.now_ms();
        let row = sqlx::query(
            "SELECT id, client_id, site_id, expires_at, max_uses, uses, revoked_at \
             FROM enrollment_tokens WHERE token_hash = ?",
        )
        .bind(hash(token))
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| {
            CoreError::Unauthorized(
                "this enrollment token is not known to the server; ask an admin for a new one \
                 (Fleet → Add endpoint)"
                    .into(),
            )
        })?;
        let token_id = parse_uuid(row.get("id"))?;
        let client_id = parse_uuid(row.get("client_id"))?;
        let site_id = opt_uuid(row.get("site_id"))?;
        let state = token_state(
            row.get("expires_at"),
            row.get("max_uses"),
            row.get("uses"),
            row.get::<Option<i64>, _>("revoked_at").is_some(),
            now,
        );
        let refusal = match state {
            "revoked" => Some("this enrollment token was revoked by an admin"),
            "used_up" => Some("this enrollment token has been used as many times as it allows"),
            "expired" => Some("this enrollment token has expired"),
            _ => None,
        };
        if let Some(why) = refusal {
            return Err(CoreError::Unauthorized(format!(
                "{why}; ask an admin for a new one (Fleet → Add endpoint)"
            )));
        }

        // A reinstall: the machine is known at this client. It keeps its asset and history;
        // its old agent is retired (if that one still connects, it is a clone).
        let known: Option<(String, String)> = sqlx::query_as(
            "SELECT g.id, g.asset_id FROM agents g JOIN assets a ON a.id = g.asset_id \
             WHERE g.machine_fingerprint = ? AND a.client_id = ? \
             ORDER BY g.enrolled_at DESC LIMIT 1",
        )
        .bind(&fingerprint)
        .bind(client_id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        let (asset_id, reattached) = match known {
            Some((old_agent, asset)) => {
                sqlx::query(
                    "UPDATE agents SET revoked_at = ?, revoked_reason = 'replaced' \
                     WHERE asset_id = ? AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(&asset)
                .execute(&mut *w.tx)
                .await?;
                let asset = parse_uuid(&asset)?;
                w.audit(
                    "agent.replace",
                    "agent",
                    parse_uuid(&old_agent)?,
                    None,
                    Some(json!({"asset_id": asset.to_string()})),
                )
                .await?;
                (asset, true)
            }
            None => {
                ensure_client(&mut w, client_id).await?;
                let lower = os.to_lowercase();
                let kind = if lower.contains("server") {
                    AssetKind::Server
                } else {
                    AssetKind::Workstation
                };
                let draft = AssetDraft {
                    client_id,
                    site_id,
                    name: &hostname,
                    kind,
                    os: &os,
                    serial: "",
                    notes: "",
                };
                (insert_asset(&mut w, &draft).await?, false)
            }
        };
        ensure_status(&mut w, asset_id).await?;
        let agent_id = Uuid::now_v7();
        let credential = secret();
        sqlx::query(
            "INSERT INTO agents (id, asset_id, credential_hash, public_key, machine_fingerprint, \
             token_id, version, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(agent_id.to_string())
        .bind(asset_id.to_string())
        .bind(hash(&credential))
        .bind(&public_key)
        .bind(&fingerprint)
        .bind(token_id.to_string())
        .bind(&version)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?")
            .bind(token_id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            "agent.enroll",
            "agent",
            agent_id,
            None,
            Some(
                json!({"asset_id": asset_id.to_string(), "hostname": hostname,
                        "token_id": token_id.to_string(), "reattached": reattached}),
            ),
        )
        .await?;
        let root_key: Option<String> =
            sqlx::query_scalar("SELECT public_key FROM trust_root WHERE singleton = 1")
                .fetch_optional(&mut *w.tx)
                .await?;
        w.commit().await?;
        Ok(EnrollResponse {
            agent_id,
            asset_id,
            credential,
            reattached,
            client_id: Some(client_id),
            root_key,
        })
    }

    /// Checks what a connecting agent presents. A retired agent that still connects means
    /// another machine carries this one's identity: the asset is flagged, nothing merged.
    pub async fn agent_session(
        &self,
        agent_id: &str,
        credential: &str,
    ) -> CoreResult<AgentSession> {
        let unknown = || {
            CoreError::Unauthorized(
                "this agent is not enrolled with this server; enroll it again with a new token"
                    .into(),
            )
        };
        let id = Uuid::parse_str(agent_id.trim()).map_err(|_| unknown())?;
        let row = sqlx::query(
            "SELECT g.asset_id, g.credential_hash, g.last_seq, g.revoked_at, g.revoked_reason, \
             a.client_id, a.name FROM agents g JOIN assets a ON a.id = g.asset_id WHERE g.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(unknown)?;
        let stored: String = row.get("credential_hash");
        if stored != hash(credential.trim()) {
            return Err(unknown());
        }
        let asset_id = parse_uuid(row.get("asset_id"))?;
        if row.get::<Option<i64>, _>("revoked_at").is_some() {
            let reason: Option<String> = row.get("revoked_reason");
            if reason.as_deref() == Some("replaced") {
                self.flag_clone(
                    asset_id,
                    &format!(
                        "a machine with this endpoint's identity still runs agent {id}, which \
                         a newer enrollment replaced: likely a cloned disk image; give the \
                         clone its own machine id and enroll it"
                    ),
                )
                .await?;
                return Err(CoreError::Forbidden(
                    "this agent was replaced by a newer enrollment of the same machine; if \
                     this is a different machine (a clone), give it its own machine id and \
                     enroll it"
                        .into(),
                ));
            }
            return Err(CoreError::Forbidden(
                "this agent was revoked by an admin; enroll it again with a new token".into(),
            ));
        }
        let asset_no = self.metric_asset_no(asset_id).await?;
        Ok(AgentSession {
            agent_id: id,
            asset_id,
            client_id: parse_uuid(row.get("client_id"))?,
            asset_no,
            last_seq: row.get::<i64, _>("last_seq").max(0) as u64,
            hostname: row.get("name"),
        })
    }

    /// Marks an endpoint as presented by two machines at once.
    pub async fn flag_clone(&self, asset_id: Uuid, warning: &str) -> CoreResult<()> {
        let actor = Actor::system();
        let mut w = self.write(&actor).await?;
        set_clone_warning(&mut w, asset_id, Some(warning)).await?;
        w.commit().await
    }

    /// Cuts an agent off: it is refused from now on (the gateway drops its connection).
    pub async fn revoke_agent(&self, actor: &Actor, asset_id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        self.get_asset(actor, asset_id).await?;
        let mut w = self.write(actor).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM agents WHERE asset_id = ? AND revoked_at IS NULL")
                .bind(asset_id.to_string())
                .fetch_all(&mut *w.tx)
                .await?;
        if ids.is_empty() {
            return Err(CoreError::Conflict(format!(
                "asset {asset_id} has no active agent to revoke"
            )));
        }
        sqlx::query(
            "UPDATE agents SET revoked_at = ?, revoked_reason = 'revoked' \
             WHERE asset_id = ? AND revoked_at IS NULL",
        )
        .bind(w.now_ms())
        .bind(asset_id.to_string())
        .execute(&mut *w.tx)
        .await?;
        for id in &ids {
            w.audit("agent.revoke", "agent", parse_uuid(id)?, None, None)
                .await?;
        }
        set_clone_warning(&mut w, asset_id, None).await?;
        w.commit().await?;
        for id in ids {
            self.announce("agent.revoked", parse_uuid(&id)?);
        }
        Ok(())
    }

    /// An admin confirms the script-signing root an agent took on first use: it must be the
    /// organisation's current root (an agent holding another one is re-enrolled instead).
    pub async fn confirm_agent_root(&self, actor: &Actor, asset_id: Uuid) -> CoreResult<()> {
        actor.require_admin()?;
        self.get_asset(actor, asset_id).await?;
        let agent = self.agent_of(asset_id).await?;
        let agent = agent
            .filter(|a| a.revoked_at.is_none())
            .ok_or_else(|| CoreError::Conflict(format!("asset {asset_id} has no active agent")))?;
        if agent.root_pinned.as_deref() != Some("first_use") {
            return Err(CoreError::Conflict(
                "this agent did not take its root on first use: there is nothing to confirm".into(),
            ));
        }
        let root = self
            .trust_root()
            .await?
            .ok_or_else(|| CoreError::Conflict("the organisation has no root key yet".into()))?;
        let held = agent
            .root_fingerprint
            .as_deref()
            .map(outpost_trust::normalize_fingerprint);
        if held.as_deref() != Some(outpost_trust::normalize_fingerprint(&root.fingerprint).as_str())
        {
            return Err(CoreError::Conflict(format!(
                "the agent holds root {}, not the organisation's ({}): enroll it again",
                agent.root_fingerprint.unwrap_or_default(),
                root.fingerprint
            )));
        }
        let mut w = self.write(actor).await?;
        sqlx::query("UPDATE agents SET root_confirmed_at = ?, root_confirmed_by = ? WHERE id = ?")
            .bind(w.now_ms())
            .bind(&actor.name)
            .bind(agent.agent_id.to_string())
            .execute(&mut *w.tx)
            .await?;
        w.audit(
            "agent.confirm_root",
            "agent",
            agent.agent_id,
            None,
            Some(serde_json::json!({"root_fingerprint": root.fingerprint})),
        )
        .await?;
        w.commit().await
    }

    /// Tells the core where agents reach its gateway (the host that runs one calls this).
    pub fn set_gateway(&self, public_url: Option<String>, fingerprint: Option<String>) {
        *self.gateway.write().unwrap_or_else(|p| p.into_inner()) = Some(GatewayInfo {
            public_url,
            fingerprint,
            connected_agents: 0,
        });
    }

    /// Counts a connection opening (+1) or closing (-1).
    pub fn count_agent_connection(&self, delta: i64) {
        self.connected_agents.fetch_add(delta, Ordering::Relaxed);
    }

    pub fn gateway_info(&self) -> GatewayInfo {
        let mut info = self
            .gateway
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(GatewayInfo {
                public_url: None,
                fingerprint: None,
                connected_agents: 0,
            });
        info.connected_agents = self.connected_agents.load(Ordering::Relaxed);
        info
    }

    /// The asset's current agent, if any.
    pub(crate) async fn agent_of(&self, asset_id: Uuid) -> CoreResult<Option<AgentInfo>> {
        let row = sqlx::query(
            "SELECT id, version, enrolled_at, revoked_at, public_key, root_fingerprint, \
             root_pinned, root_confirmed_by, root_confirmed_at FROM agents WHERE asset_id = ? \
             ORDER BY enrolled_at DESC LIMIT 1",
        )
        .bind(asset_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AgentInfo {
                agent_id: parse_uuid(r.get("id"))?,
                version: r.get("version"),
                enrolled_at: from_ms(r.get("enrolled_at")),
                revoked_at: r.get::<Option<i64>, _>("revoked_at").map(from_ms),
                public_key: r.get("public_key"),
                root_fingerprint: r.get("root_fingerprint"),
                root_pinned: r.get("root_pinned"),
                root_confirmed_by: r.get("root_confirmed_by"),
                root_confirmed_at: r.get::<Option<i64>, _>("root_confirmed_at").map(from_ms),
            })
        })
        .transpose()
    }

    /// The asset's compact number in the metrics tables, made on first use.
    pub(crate) async fn metric_asset_no(&self, asset_id: Uuid) -> CoreResult<i64> {
        sqlx::query("INSERT OR IGNORE INTO metric_assets (asset_id) VALUES (?)")
            .bind(asset_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT no FROM metric_assets WHERE asset_id = ?")
                .bind(asset_id.to_string())
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
