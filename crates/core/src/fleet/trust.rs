//! The organisation's trust material as the server keeps it: the root public key, the
//! technician certificates it signed, and its revocation lists. The server checks each piece
//! when it is uploaded (so mistakes show at once, with a clear message), but its checks are a
//! courtesy: agents check everything again against the root they pinned, so a server that
//! stores something false cannot make an agent obey it.

use crate::clock::from_ms;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use outpost_proto::{
    AgentTrust, CertificateRequest, NewCertificate, NewCertificateRequest, NewRevocationList,
    NewRootRotation, NewTrustRoot, RevocationState, SignedBlob, TechnicianCertificate, TrustRoot,
    TrustUpdate, TwoPersonRule,
};
use outpost_trust::{Certificate, ClientScope, RevocationList, RootRotation, Signed};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

/// The settings row holding the two-person rule (server-side: consoles read it with the
/// trust state).
const TWO_PERSON_KEY: &str = "two_person_rule";

/// A signed blob from the wire, as the trust crate reads it (base64 checked).
pub fn signed_from_wire(what: &str, blob: &SignedBlob) -> CoreResult<Signed> {
    serde_json::from_value(json!({"body": blob.body, "signature": blob.signature}))
        .map_err(|e| invalid(format!("{what}: {e}")))
}

pub fn signed_to_wire(s: &Signed) -> SignedBlob {
    let v = serde_json::to_value(s).unwrap_or_default();
    SignedBlob {
        body: v["body"].as_str().unwrap_or_default().to_string(),
        signature: v["signature"].as_str().unwrap_or_default().to_string(),
    }
}

pub(crate) fn root_key_from_hex(
    hex_key: &str,
) -> CoreResult<outpost_trust::ed25519_dalek::VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid("the root public key must be 32 bytes in hex (64 digits)"))?;
    outpost_trust::public_key(&bytes).map_err(|e| invalid(format!("the root public key: {e}")))
}

fn not_trusted(e: outpost_trust::Refusal) -> CoreError {
    invalid(format!("{e} (code {})", e.code()))
}

impl Core {
    pub async fn trust_root(&self) -> CoreResult<Option<TrustRoot>> {
        let row = sqlx::query(
            "SELECT public_key, created_at, created_by FROM trust_root WHERE singleton = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let key: String = r.get("public_key");
            let bytes = root_key_from_hex(&key)?.to_bytes();
            Ok(TrustRoot {
                fingerprint: outpost_trust::fingerprint(&bytes),
                public_key: key,
                created_at: from_ms(r.get("created_at")),
                created_by: r.get("created_by"),
            })
        })
        .transpose()
    }

    pub async fn trust_state(&self) -> CoreResult<outpost_proto::TrustState> {
        Ok(outpost_proto::TrustState {
            root: self.trust_root().await?,
            revocation_seq: self.revocation_state().await?.seq,
            two_person_rule: self.two_person_rule().await?,
        })
    }

    /// The organisation's two-person rule (the defaults until an admin sets it).
    pub async fn two_person_rule(&self) -> CoreResult<TwoPersonRule> {
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(TWO_PERSON_KEY)
            .fetch_optional(&self.pool)
            .await?;
        Ok(stored
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// An admin sets when runs wait for a second technician. It applies to runs signed from
    /// now on; consoles read it with the trust state.
    pub async fn set_two_person_rule(
        &self,
        actor: &Actor,
        rule: TwoPersonRule,
    ) -> CoreResult<outpost_proto::TrustState> {
        actor.require_admin()?;
        // 0 is allowed: every run then needs a second technician.
        if !(0..=100_000).contains(&rule.endpoints) {
            return Err(invalid("endpoints must be 0 (every run) to 100000"));
        }
        if !(0..=10_000).contains(&rule.clients) {
            return Err(invalid("clients must be 0 (every run) to 10000"));
        }
        let before = self.two_person_rule().await?;
        let mut w = self.write(actor).await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = ?2",
        )
        .bind(TWO_PERSON_KEY)
        .bind(serde_json::json!(rule).to_string())
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "trust.two_person_rule",
            "settings",
            Uuid::nil(),
            Some(serde_json::json!(before)),
            Some(serde_json::json!(rule)),
        )
        .await?;
        w.commit().await?;
        self.trust_state().await
    }

    pub(crate) async fn root_verifying_key(
        &self,
    ) -> CoreResult<Option<outpost_trust::ed25519_dalek::VerifyingKey>> {
        let key: Option<String> =
            sqlx::query_scalar("SELECT public_key FROM trust_root WHERE singleton = 1")
                .fetch_optional(&self.pool)
                .await?;
        key.map(|k| root_key_from_hex(&k)).transpose()
    }

    /// An admin registers the organisation's root public key (made in their desktop app).
    /// Once set it changes only by a rotation the current root signs.
    pub async fn set_trust_root(
        &self,
        actor: &Actor,
        input: NewTrustRoot,
    ) -> CoreResult<TrustRoot> {
        actor.require_admin()?;
        let key = root_key_from_hex(&input.public_key)?;
        let mut w = self.write(actor).await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT public_key FROM trust_root WHERE singleton = 1")
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some(existing) = existing {
            if existing == hex::encode(key.to_bytes()) {
                drop(w);
                return self.trust_root().await?.ok_or_else(|| {
                    CoreError::Internal("the root vanished while it was read".into())
                });
            }
            return Err(CoreError::Conflict(
                "the organisation already has a root key; a new one must be handed over by a \
                 rotation the current root signs"
                    .into(),
            ));
        }
        let hex_key = hex::encode(key.to_bytes());
        sqlx::query(
            "INSERT INTO trust_root (singleton, public_key, created_at, created_by) \
             VALUES (1, ?, ?, ?)",
        )
        .bind(&hex_key)
        .bind(w.now_ms())
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "trust.root",
            "trust_root",
            Uuid::nil(),
            None,
            Some(json!({"fingerprint": outpost_trust::fingerprint(&key.to_bytes())})),
        )
        .await?;
        w.commit().await?;
        self.announce("trust.changed", Uuid::nil());
        self.trust_root()
            .await?
            .ok_or_else(|| CoreError::Internal("the root was not stored".into()))
    }

    /// An admin uploads a technician certificate their root key signed.
    pub async fn add_certificate(
        &self,
        actor: &Actor,
        input: NewCertificate,
    ) -> CoreResult<TechnicianCertificate> {
        actor.require_admin()?;
        let root = self.root_verifying_key().await?.ok_or_else(|| {
            CoreError::Conflict(
                "the organisation has no root key yet; an admin makes one in the desktop app \
                 (Settings → Script signing)"
                    .into(),
            )
        })?;
        let cert = Certificate(signed_from_wire("certificate", &input.certificate)?);
        let body = cert.verify_signature(&root).map_err(not_trusted)?;
        // Unix seconds from 1970 to the year 9999: anything else is a mistake (or an attack
        // on the arithmetic).
        let sane = 0..=253_402_300_799i64;
        if !sane.contains(&body.not_before) || !sane.contains(&body.not_after) {
            return Err(invalid(
                "the certificate's validity must lie between 1970 and 9999",
            ));
        }
        if body.not_after <= body.not_before {
            return Err(invalid("the certificate's validity ends before it starts"));
        }
        if body.name.trim().is_empty() || body.name.chars().count() > 200 {
            return Err(invalid(
                "the certificate's name must be 1 to 200 characters",
            ));
        }
        let mut w = self.write(actor).await?;
        let user: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
            .bind(body.user_id.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        if user.is_none() {
            return Err(invalid(format!(
                "the certificate is for user {}, who does not exist here",
                body.user_id
            )));
        }
        let clients = match &body.clients {
            ClientScope::All => None,
            ClientScope::Only(list) => Some(json!(list).to_string()),
        };
        let wire = signed_to_wire(&cert.0);
        let inserted = sqlx::query(
            "INSERT INTO technician_certificates (serial, user_id, name, public_key, not_before, \
             not_after, clients, body, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (serial) DO NOTHING",
        )
        .bind(body.serial.to_string())
        .bind(body.user_id.to_string())
        .bind(&body.name)
        .bind(hex::encode(body.public_key))
        .bind(body.not_before * 1000)
        .bind(body.not_after * 1000)
        .bind(&clients)
        .bind(&wire.body)
        .bind(&wire.signature)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(CoreError::Conflict(format!(
                "certificate {} is stored already",
                body.serial
            )));
        }
        sqlx::query(
            "UPDATE certificate_requests SET state = 'issued', serial = ? \
             WHERE user_id = ? AND public_key = ? AND state = 'pending'",
        )
        .bind(body.serial.to_string())
        .bind(body.user_id.to_string())
        .bind(hex::encode(body.public_key))
        .execute(&mut *w.tx)
        .await?;
        w.audit(
            "trust.certificate",
            "technician_certificate",
            body.serial,
            None,
            Some(
                json!({"user_id": body.user_id.to_string(), "name": body.name,
                        "fingerprint": outpost_trust::fingerprint(&body.public_key)}),
            ),
        )
        .await?;
        w.commit().await?;
        self.certificate(body.serial).await
    }

    pub async fn certificate(&self, serial: Uuid) -> CoreResult<TechnicianCertificate> {
        let r = sqlx::query("SELECT * FROM technician_certificates WHERE serial = ?")
            .bind(serial.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("certificate {serial} does not exist")))?;
        certificate_from_row(&r)
    }

    pub async fn list_certificates(&self, actor: &Actor) -> CoreResult<Vec<TechnicianCertificate>> {
        let rows = sqlx::query(
            "SELECT * FROM technician_certificates WHERE ?1 OR user_id = ?2 ORDER BY created_at DESC",
        )
        .bind(actor.role == outpost_proto::Role::Admin)
        .bind(actor.user_id.map(|u| u.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(certificate_from_row).collect()
    }

    /// A technician asks for their key (made in their desktop app's keyring) to be certified.
    pub async fn request_certificate(
        &self,
        actor: &Actor,
        input: NewCertificateRequest,
    ) -> CoreResult<CertificateRequest> {
        actor.require_write()?;
        let user = actor
            .user_id
            .ok_or_else(|| invalid("a certificate is requested by a person, not the system"))?;
        let key = root_key_from_hex(&input.public_key)
            .map_err(|_| invalid("public_key must be an Ed25519 public key, 32 bytes in hex"))?;
        let hex_key = hex::encode(key.to_bytes());
        let mut w = self.write(actor).await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM certificate_requests WHERE user_id = ? AND public_key = ? AND state = 'pending'",
        )
        .bind(user.to_string())
        .bind(&hex_key)
        .fetch_optional(&mut *w.tx)
        .await?;
        let id = match existing {
            Some(id) => parse_uuid(&id)?,
            None => {
                let id = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO certificate_requests (id, user_id, name, public_key, requested_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(id.to_string())
                .bind(user.to_string())
                .bind(&actor.name)
                .bind(&hex_key)
                .bind(w.now_ms())
                .execute(&mut *w.tx)
                .await?;
                w.audit(
                    "trust.request",
                    "certificate_request",
                    id,
                    None,
                    Some(json!({"fingerprint": outpost_trust::fingerprint(&key.to_bytes())})),
                )
                .await?;
                id
            }
        };
        w.commit().await?;
        self.list_certificate_requests(actor)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| CoreError::Internal("the request vanished".into()))
    }

    /// Pending requests (an admin sees everyone's; a technician their own).
    pub async fn list_certificate_requests(
        &self,
        actor: &Actor,
    ) -> CoreResult<Vec<CertificateRequest>> {
        let rows = sqlx::query(
            "SELECT r.*, (SELECT json_group_array(client_id) FROM user_clients c \
             WHERE c.user_id = r.user_id) AS clients, \
             (SELECT count(*) FROM user_clients c WHERE c.user_id = r.user_id) AS scoped \
             FROM certificate_requests r WHERE (?1 OR r.user_id = ?2) AND r.state = 'pending' \
             ORDER BY r.requested_at",
        )
        .bind(actor.role == outpost_proto::Role::Admin)
        .bind(actor.user_id.map(|u| u.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let key: String = r.get("public_key");
                let bytes: [u8; 32] = hex::decode(&key)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| CoreError::Internal("a stored request key".into()))?;
                let clients = if r.get::<i64, _>("scoped") > 0 {
                    Some(
                        serde_json::from_str(r.get::<&str, _>("clients"))
                            .map_err(|e| CoreError::Internal(format!("request clients: {e}")))?,
                    )
                } else {
                    None
                };
                Ok(CertificateRequest {
                    id: parse_uuid(r.get("id"))?,
                    user_id: parse_uuid(r.get("user_id"))?,
                    name: r.get("name"),
                    fingerprint: outpost_trust::fingerprint(&bytes),
                    public_key: key,
                    requested_at: from_ms(r.get("requested_at")),
                    state: r.get("state"),
                    clients,
                })
            })
            .collect()
    }

    /// An admin uploads a root-signed revocation list, newer than the one stored.
    pub async fn add_revocation_list(
        &self,
        actor: &Actor,
        input: NewRevocationList,
    ) -> CoreResult<RevocationState> {
        actor.require_admin()?;
        let root = self
            .root_verifying_key()
            .await?
            .ok_or_else(|| CoreError::Conflict("the organisation has no root key yet".into()))?;
        let list = RevocationList(signed_from_wire("revocation list", &input.list)?);
        let body = list.verify(&root).map_err(not_trusted)?;
        if !(0..=253_402_300_799i64).contains(&body.issued_at) || body.seq > i64::MAX as u64 {
            return Err(invalid(
                "the revocation list's time or number is impossible",
            ));
        }
        let mut w = self.write(actor).await?;
        let held: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM revocation_lists")
            .fetch_one(&mut *w.tx)
            .await?;
        if body.seq as i64 <= held.unwrap_or(0) {
            return Err(CoreError::Conflict(format!(
                "revocation list {} is not newer than list {} stored here",
                body.seq,
                held.unwrap_or(0)
            )));
        }
        let wire = signed_to_wire(&list.0);
        sqlx::query(
            "INSERT INTO revocation_lists (seq, body, signature, issued_at, stored_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(body.seq as i64)
        .bind(&wire.body)
        .bind(&wire.signature)
        .bind(body.issued_at * 1000)
        .bind(w.now_ms())
        .execute(&mut *w.tx)
        .await?;
        for key in &body.revoked {
            sqlx::query(
                "UPDATE technician_certificates SET revoked_at = ?1 \
                 WHERE public_key = ?2 AND revoked_at IS NULL",
            )
            .bind(w.now_ms())
            .bind(hex::encode(key))
            .execute(&mut *w.tx)
            .await?;
        }
        w.audit(
            "trust.revocation",
            "revocation_list",
            Uuid::nil(),
            None,
            Some(json!({"seq": body.seq, "revoked": body.revoked.iter().map(outpost_trust::fingerprint).collect::<Vec<_>>()})),
        )
        .await?;
        w.commit().await?;
        self.announce("trust.changed", Uuid::nil());
        self.revocation_state().await
    }

    pub async fn revocation_state(&self) -> CoreResult<RevocationState> {
        let row = sqlx::query(
            "SELECT seq, body, signature FROM revocation_lists ORDER BY seq DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => RevocationState {
                seq: r.get::<i64, _>("seq") as u64,
                list: Some(SignedBlob {
                    body: r.get("body"),
                    signature: r.get("signature"),
                }),
            },
            None => RevocationState { seq: 0, list: None },
        })
    }

    /// What the gateway hands an agent after its hello: the root (for one that has none)
    /// and the newest revocation list.
    pub async fn trust_update(&self) -> CoreResult<TrustUpdate> {
        let root = self.trust_root().await?;
        let rotations: Vec<SignedBlob> = sqlx::query_as::<_, (String, String)>(
            "SELECT body, signature FROM root_rotations ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(body, signature)| SignedBlob { body, signature })
        .collect();
        Ok(TrustUpdate {
            root_key: root.map(|r| r.public_key),
            rotation: rotations.last().cloned(),
            rotations,
            revocation: self.revocation_state().await?.list,
        })
    }

    /// An admin's console hands the organisation over to a new root: the rotation must be
    /// signed by the current root, and come with the new root's first revocation list, which
    /// carries every key revoked so far. Agents follow the chain at their next connection;
    /// certificates of the old root are superseded, and their keys wait to be certified by
    /// the new one.
    pub async fn rotate_trust_root(
        &self,
        actor: &Actor,
        input: NewRootRotation,
    ) -> CoreResult<outpost_proto::TrustState> {
        actor.require_admin()?;
        let current = self
            .root_verifying_key()
            .await?
            .ok_or_else(|| CoreError::Conflict("the organisation has no root key yet".into()))?;
        let rotation = RootRotation(signed_from_wire("rotation", &input.rotation)?);
        let next = rotation.verify(&current).map_err(not_trusted)?;
        let body = outpost_trust::RotationBody::decode(&rotation.0.body.0).map_err(not_trusted)?;
        if next == current {
            return Err(invalid("the rotation hands the root over to itself"));
        }
        if !(0..=253_402_300_799i64).contains(&body.issued_at) {
            return Err(invalid("the rotation's time is impossible"));
        }
        let list = RevocationList(signed_from_wire("revocation list", &input.revocation)?);
        let list_body = list.verify(&next).map_err(|e| {
            invalid(format!(
                "the revocation list must be signed by the new root: {e} (code {})",
                e.code()
            ))
        })?;
        let held = self.current_revocation_body(&current).await?;
        if list_body.seq <= held.seq {
            return Err(CoreError::Conflict(format!(
                "the new root's revocation list must be numbered above {}",
                held.seq
            )));
        }
        if let Some(missing) = held.revoked.iter().find(|k| !list_body.is_revoked(k)) {
            return Err(invalid(format!(
                "the new root's revocation list leaves out {}, revoked before: carry every \
                 revoked key over",
                outpost_trust::fingerprint(missing)
            )));
        }
        let mut w = self.write(actor).await?;
        let now = w.now_ms();
        let wire = signed_to_wire(&rotation.0);
        sqlx::query(
            "INSERT INTO root_rotations (old_root, new_root, body, signature, issued_at, \
             created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(hex::encode(current.to_bytes()))
        .bind(hex::encode(next.to_bytes()))
        .bind(&wire.body)
        .bind(&wire.signature)
        .bind(body.issued_at * 1000)
        .bind(now)
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query(
            "UPDATE trust_root SET public_key = ?, created_at = ?, created_by = ? \
             WHERE singleton = 1",
        )
        .bind(hex::encode(next.to_bytes()))
        .bind(now)
        .bind(&actor.name)
        .execute(&mut *w.tx)
        .await?;
        let list_wire = signed_to_wire(&list.0);
        sqlx::query(
            "INSERT INTO revocation_lists (seq, body, signature, issued_at, stored_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(list_body.seq as i64)
        .bind(&list_wire.body)
        .bind(&list_wire.signature)
        .bind(list_body.issued_at * 1000)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        // The old root's certificates: superseded; each key still in use asks again.
        let keys: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT DISTINCT user_id, name, public_key FROM technician_certificates \
             WHERE superseded_at IS NULL AND revoked_at IS NULL AND not_after > ?",
        )
        .bind(now)
        .fetch_all(&mut *w.tx)
        .await?;
        sqlx::query(
            "UPDATE technician_certificates SET superseded_at = ? WHERE superseded_at IS NULL",
        )
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        for (user, name, key) in &keys {
            let pending: Option<String> = sqlx::query_scalar(
                "SELECT id FROM certificate_requests WHERE user_id = ? AND public_key = ? \
                 AND state = 'pending'",
            )
            .bind(user)
            .bind(key)
            .fetch_optional(&mut *w.tx)
            .await?;
            if pending.is_none() {
                sqlx::query(
                    "INSERT INTO certificate_requests (id, user_id, name, public_key, \
                     requested_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(user)
                .bind(name)
                .bind(key)
                .bind(now)
                .execute(&mut *w.tx)
                .await?;
            }
        }
        w.audit(
            "trust.rotate",
            "trust_root",
            Uuid::nil(),
            Some(json!({"root": outpost_trust::fingerprint(&current.to_bytes())})),
            Some(json!({"root": outpost_trust::fingerprint(&next.to_bytes()),
                        "revocation_seq": list_body.seq,
                        "certificates_superseded": keys.len()})),
        )
        .await?;
        w.commit().await?;
        self.announce("trust.changed", Uuid::nil());
        self.trust_state().await
    }

    /// The revocation list stored now, as the given root reads it (empty when none).
    pub(crate) async fn current_revocation_body(
        &self,
        root: &outpost_trust::ed25519_dalek::VerifyingKey,
    ) -> CoreResult<outpost_trust::RevocationBody> {
        match self.revocation_state().await?.list {
            Some(list) => RevocationList(signed_from_wire("stored revocation list", &list)?)
                .verify(root)
                .map_err(|e| CoreError::Internal(format!("the stored revocation list: {e}"))),
            None => Ok(outpost_trust::RevocationBody {
                root_key: root.to_bytes(),
                ..Default::default()
            }),
        }
    }

    /// Keeps what an agent said of its trust (shown on the asset; a root taken on first use
    /// is for an admin to confirm).
    pub async fn record_agent_trust(&self, agent_id: Uuid, trust: &AgentTrust) -> CoreResult<()> {
        let pinned = match trust.pinned.as_str() {
            p @ ("enrollment" | "first_use" | "none") => p,
            _ => return Err(invalid("pinned must be enrollment, first_use or none")),
        };
        let fingerprint = trust
            .root_fingerprint
            .as_deref()
            .map(|f| crate::fleet::agents::agent_line("root_fingerprint", f, 100))
            .transpose()?;
        // A confirmation was of one root: another one clears it.
        sqlx::query(
            "UPDATE agents SET \
             root_confirmed_at = CASE WHEN root_fingerprint IS ?1 THEN root_confirmed_at END, \
             root_confirmed_by = CASE WHEN root_fingerprint IS ?1 THEN root_confirmed_by END, \
             root_fingerprint = ?1, root_pinned = ?2, revocation_seq = ?3 WHERE id = ?4",
        )
        .bind(fingerprint)
        .bind(pinned)
        .bind(trust.revocation_seq.min(i64::MAX as u64) as i64)
        .bind(agent_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn certificate_from_row(r: &sqlx::sqlite::SqliteRow) -> CoreResult<TechnicianCertificate> {
    let key: String = r.get("public_key");
    let bytes: [u8; 32] = hex::decode(&key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| CoreError::Internal("a stored certificate key is not 32 bytes".into()))?;
    let clients: Option<String> = r.get("clients");
    Ok(TechnicianCertificate {
        serial: parse_uuid(r.get("serial"))?,
        user_id: parse_uuid(r.get("user_id"))?,
        name: r.get("name"),
        fingerprint: outpost_trust::fingerprint(&bytes),
        public_key: key,
        not_before: from_ms(r.get("not_before")),
        not_after: from_ms(r.get("not_after")),
        clients: clients
            .map(|c| serde_json::from_str(&c))
            .transpose()
            .map_err(|e| CoreError::Internal(format!("stored certificate clients: {e}")))?,
        revoked_at: r.get::<Option<i64>, _>("revoked_at").map(from_ms),
        superseded_at: r.get::<Option<i64>, _>("superseded_at").map(from_ms),
        certificate: SignedBlob {
            body: r.get("body"),
            signature: r.get("signature"),
        },
    })
}
