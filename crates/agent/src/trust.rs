//! What this agent trusts: the organisation's root key (pinned at enrollment, or taken once
//! on first use by an agent enrolled before the organisation had one), the newest root-signed
//! revocation list, and the nonces of the runs it has taken. Kept in `trust.json` beside the
//! identity, readable by root/SYSTEM only. Nothing the server says is taken without a check:
//! a new root only as a rotation the current root signed, a revocation list only if the root
//! signed it and it is not older than the one held.

use crate::write_secret;
use outpost_proto::{AgentTrust, TrustUpdate};
use outpost_trust::ed25519_dalek::VerifyingKey;
use outpost_trust::{RevocationBody, RevocationList, RootRotation, Signed, SignedRun, Verified};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use uuid::Uuid;

const FILE: &str = "trust.json";

#[derive(Serialize, Deserialize, Default, Clone)]
struct Stored {
    /// The root public key, hex.
    root_key: Option<String>,
    /// `enrollment` or `first_use`.
    pinned: Option<String>,
    client_id: Option<Uuid>,
    /// The newest revocation list, as signed (re-verified on every load).
    revocation: Option<Signed>,
    /// Nonce (hex) → (run id, not-after): a nonce is refused again until its window closed.
    nonces: BTreeMap<String, (Uuid, i64)>,
}

pub struct Trust {
    path: PathBuf,
    stored: Stored,
    root: Option<VerifyingKey>,
    revocations: RevocationBody,
}

fn key_from_hex(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    outpost_trust::public_key(&bytes).ok()
}

/// What became of a run order after the checks.
pub enum Decision {
    Run(Box<Verified>),
    /// Delivered again (a lost acknowledgement or reconnect): already taken, say nothing.
    AlreadyTaken,
    Refuse(outpost_trust::Refusal),
}

impl Trust {
    pub fn load(dir: &Path) -> anyhow::Result<Trust> {
        let path = dir.join(FILE);
        let stored: Stored = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| anyhow::anyhow!("{} is damaged: {e}", path.display()))?,
            Err(_) => Stored::default(),
        };
        let root = stored.root_key.as_deref().and_then(key_from_hex);
        let mut t = Trust {
            path,
            revocations: RevocationBody {
                root_key: root.map(|r| r.to_bytes()).unwrap_or_default(),
                ..Default::default()
            },
            root,
            stored,
        };
        if let (Some(root), Some(list)) = (t.root, t.stored.revocation.clone()) {
            match RevocationList(list).verify(&root) {
                Ok(body) => t.revocations = body,
                Err(e) => {
                    // A damaged list is dropped; the next one from the server replaces it,
                    // and requests naming a newer list are refused until then.
                    tracing::warn!(error = %e, "the stored revocation list does not verify");
                    t.stored.revocation = None;
                }
            }
        }
        Ok(t)
    }

    fn save(&self) -> anyhow::Result<()> {
        write_secret(&self.path, &serde_json::to_vec_pretty(&self.stored)?)
    }

    /// After enrollment: a fresh state, pinned to the root the server gave (checked against
    /// `--root` when given).
    pub fn enrolled(
        dir: &Path,
        root_key: Option<&str>,
        checked_against_admin: bool,
        client_id: Option<Uuid>,
    ) -> anyhow::Result<Trust> {
        let stored = Stored {
            root_key: root_key.map(|k| k.trim().to_ascii_lowercase()),
            pinned: root_key.map(|_| {
                if checked_against_admin {
                    "enrollment".into()
                } else {
                    "first_use".into()
                }
            }),
            client_id,
            ..Default::default()
        };
        write_secret(&dir.join(FILE), &serde_json::to_vec_pretty(&stored)?)?;
        Trust::load(dir)
    }

    pub fn state(&self) -> AgentTrust {
        AgentTrust {
            root_fingerprint: self.root.map(|r| outpost_trust::fingerprint(&r.to_bytes())),
            pinned: self.stored.pinned.clone().unwrap_or_else(|| "none".into()),
            revocation_seq: self.revocations.seq,
        }
    }

    pub fn root_fingerprint(&self) -> Option<String> {
        self.root.map(|r| outpost_trust::fingerprint(&r.to_bytes()))
    }

    /// Takes what of the server's trust material verifies; says what it did or refused.
    pub fn update(&mut self, u: &TrustUpdate) -> anyhow::Result<Vec<String>> {
        let mut notes = Vec::new();
        let mut changed = false;
        match (self.root, &u.root_key) {
            (None, Some(k)) => match key_from_hex(k) {
                Some(key) => {
                    // Trust on first use: shown on the asset for an admin to confirm.
                    self.root = Some(key);
                    self.revocations = RevocationBody {
                        root_key: key.to_bytes(),
                        ..Default::default()
                    };
                    self.stored.root_key = Some(hex::encode(key.to_bytes()));
                    self.stored.pinned = Some("first_use".into());
                    changed = true;
                    notes.push(format!(
                        "took the organisation's root key on first use: {}",
                        outpost_trust::fingerprint(&key.to_bytes())
                    ));
                }
                None => notes.push("the server offered a root key that is not one".into()),
            },
            (Some(held), Some(k))
                if key_from_hex(k) != Some(held)
                    && u.rotation.is_none()
                    && u.rotations.is_empty() =>
            {
                notes.push(
                    "the server names another root key without a rotation signed by the pinned \
                     one; keeping the pinned root"
                        .into(),
                );
            }
            _ => {}
        }
        // The chain of hand-overs, oldest first: each one the root held then signed moves
        // it on (older servers send only the newest, as `rotation`).
        let chain: Vec<&outpost_proto::SignedBlob> = if u.rotations.is_empty() {
            u.rotation.iter().collect()
        } else {
            u.rotations.iter().collect()
        };
        for rot in chain {
            let Some(root) = self.root else { break };
            let signed = serde_json::from_value::<Signed>(serde_json::json!(rot))
                .map_err(|e| outpost_trust::Refusal::Malformed(e.to_string()));
            // A hand-over from a root this agent no longer (or never) held is not for it.
            if let Ok(s) = &signed {
                let from = outpost_trust::RotationBody::decode(&s.body.0).map(|b| b.old_root);
                if from.is_ok_and(|k| k != root.to_bytes()) {
                    continue;
                }
            }
            match signed.and_then(|s| RootRotation(s).verify(&root)) {
                Ok(next) if next != root => {
                    self.root = Some(next);
                    self.stored.root_key = Some(hex::encode(next.to_bytes()));
                    // Lists of the old root mean nothing under the new one.
                    self.revocations = RevocationBody {
                        root_key: next.to_bytes(),
                        ..Default::default()
                    };
                    self.stored.revocation = None;
                    changed = true;
                    notes.push(format!(
                        "the root was handed over to {}",
                        outpost_trust::fingerprint(&next.to_bytes())
                    ));
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("refused a root rotation: {e}")),
            }
        }
        if let (Some(root), Some(list)) = (self.root, &u.revocation) {
            let parsed = serde_json::from_value::<Signed>(serde_json::json!(list))
                .map_err(|e| outpost_trust::Refusal::Malformed(e.to_string()));
            match parsed.and_then(|s| {
                RevocationList(s.clone())
                    .verify_newer(&root, self.revocations.seq)
                    .map(|b| (s, b))
            }) {
                Ok((s, Some(body))) => {
                    notes.push(format!("took revocation list {}", body.seq));
                    self.revocations = body;
                    self.stored.revocation = Some(s);
                    changed = true;
                }
                Ok((_, None)) => {}
                Err(e) => notes.push(format!("refused a revocation list: {e}")),
            }
        }
        if changed {
            self.save()?;
        }
        Ok(notes)
    }

    /// Every check before a run: chain, signature, target, window, revocation, approvals,
    /// the script body against its hash, and the nonce, which is remembered (on disk, before
    /// anything starts) so the same request never runs twice.
    pub fn judge(
        &mut self,
        agent_id: Uuid,
        run_id: Uuid,
        signed: &SignedRun,
        body: &str,
        now: i64,
    ) -> anyhow::Result<Decision> {
        let Some(root) = self.root else {
            return Ok(Decision::Refuse(
                outpost_trust::Refusal::UntrustedCertificate,
            ));
        };
        let verified = match outpost_trust::verify_run(
            signed,
            &outpost_trust::AgentView {
                root: &root,
                agent_id,
                client_id: self.stored.client_id,
                revocations: &self.revocations,
                now,
            },
        ) {
            Ok(v) => v,
            Err(e) => return Ok(Decision::Refuse(e)),
        };
        if verified.request.run_id != run_id {
            return Ok(Decision::Refuse(outpost_trust::Refusal::Malformed(
                "the order's run id is not the signed one".into(),
            )));
        }
        if outpost_trust::script_hash(body) != verified.request.script_hash {
            return Ok(Decision::Refuse(outpost_trust::Refusal::ScriptMismatch));
        }
        let nonce = hex::encode(verified.request.nonce);
        self.stored.nonces.retain(|_, (_, until)| *until >= now);
        if let Some((taken, _)) = self.stored.nonces.get(&nonce) {
            return Ok(if *taken == run_id {
                Decision::AlreadyTaken
            } else {
                Decision::Refuse(outpost_trust::Refusal::Replayed)
            });
        }
        self.stored
            .nonces
            .insert(nonce, (run_id, verified.request.not_after));
        self.save()?;
        Ok(Decision::Run(Box::new(verified)))
    }
}
