//! Remote scripts in the desktop app: signing happens here, where the keys are. The
//! organisation's root key and each technician's key live in the OS keyring (never in a
//! file, never on the server); the root also leaves a passphrase-encrypted recovery file.
//!
//! The script library syncs, so it is here offline. Runs and trust material live on the
//! server when this console is connected (it asks the server for them, by the same routes the
//! web console uses), and in its own store when it runs standalone. Runs signed while the
//! server cannot be reached wait in an outbox file and go at the next sync.

use crate::{err, failure, sync, Reply};
use outpost_core::api::{self, Input, Request};
use outpost_core::Core;
use outpost_proto::*;
use outpost_sync_client::{CallError, HttpTransport};
use outpost_trust::ed25519_dalek::SigningKey;
use outpost_trust::{CertificateBody, ClientScope, Parameter, ParameterValue, RunRequest};
use serde_json::{json, Value};
use std::path::Path;
use uuid::Uuid;

const KEYRING_SERVICE: &str = "com.outpost.console";

/// Operations whose answer lives on the server when this console is connected.
pub const ON_THE_SERVER: &[&str] = &[
    "create_runs",
    "list_runs",
    "get_run",
    "cancel_run",
    "trust_state",
    "set_trust_root",
    "list_certificates",
    "add_certificate",
    "revocation_state",
    "add_revocation_list",
    "request_certificate",
    "list_certificate_requests",
    "approve_run",
    "list_automations",
    "create_automation",
    "get_automation",
    "approve_automation",
    "cancel_automation",
    "set_two_person_rule",
    "confirm_agent_root",
    "rotate_trust_root",
];

fn keyring_entry(name: &str) -> Reply<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| {
        failure(
            "unavailable",
            format!("the OS keyring is not available: {e}"),
        )
    })
}

fn load_key(name: &str) -> Option<SigningKey> {
    let hex_seed = keyring_entry(name).ok()?.get_password().ok()?;
    let seed: [u8; 32] = hex::decode(hex_seed.trim()).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

fn store_key(name: &str, key: &SigningKey) -> Reply<()> {
    keyring_entry(name)?
        .set_password(&hex::encode(key.to_bytes()))
        .map_err(|e| {
            failure(
                "unavailable",
                format!("could not save the key in the OS keyring: {e}"),
            )
        })
}

const ROOT_KEY: &str = "script-signing-root";

fn technician_key_name(user: Uuid) -> String {
    format!("script-signing-key@{user}")
}

/// The server link, when this console is connected.
async fn server(core: &Core) -> Option<HttpTransport> {
    let url = core.sync_status().await.ok()?.server_url?;
    let credential = sync::load_credential(&url)?;
    HttpTransport::new(&url, &credential.token, credential.fingerprint.as_deref()).ok()
}

/// Asks the server for an operation of [`ON_THE_SERVER`] when connected; `None` when this
/// console is standalone (its own store answers).
pub async fn forward(core: &Core, op: &api::Operation, req: &Request) -> Option<Reply<Value>> {
    let link = server(core).await?;
    let route = op.route.as_ref()?;
    let mut path = route.path.to_string();
    if let Some(id) = req.id {
        path = path.replace("{id}", &id.to_string());
    }
    let input = match &req.input {
        Input::Json(v) => Some(v.clone()),
        _ => None,
    };
    let get = route.method == api::Method::Get;
    let query: Vec<(String, String)> = match (&input, get) {
        (Some(Value::Object(m)), true) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let body = if get { None } else { input.as_ref() };
    Some(
        match link.call(route.method.as_str(), &path, &query, body).await {
            Ok(v) => Ok(v),
            Err(CallError::Refused(e)) => Err(e),
            // Runs reach this store at each sync: offline, it shows what the last one brought.
            Err(CallError::Offline(_)) if get && matches!(op.name, "list_runs" | "get_run") => {
                return None
            }
            Err(CallError::Offline(m)) => Err(failure(
                "unavailable",
                format!(
                    "the script library and runs are on the server, which cannot be reached \
                     now ({m}); try again when online"
                ),
            )),
        },
    )
}

/// What signing needs from the server, kept from the last time it answered (the trust
/// state, this technician's certificate, endpoints' agents), so runs can be signed offline.
fn cache_path(dir: &Path) -> std::path::PathBuf {
    dir.join("signing-cache.json")
}

fn cache_get(dir: &Path, key: &str) -> Option<Value> {
    let text = std::fs::read(cache_path(dir)).ok()?;
    let map: serde_json::Map<String, Value> = serde_json::from_slice(&text).ok()?;
    map.get(key).cloned()
}

fn cache_put(dir: &Path, key: &str, value: &Value) {
    let mut map: serde_json::Map<String, Value> = std::fs::read(cache_path(dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    map.insert(key.to_string(), value.clone());
    let _ = std::fs::write(
        cache_path(dir),
        serde_json::to_vec(&map).unwrap_or_default(),
    );
}

/// Like [`ask`], but offline it answers with what the server said last time.
async fn ask_cached(
    core: &std::sync::Arc<Core>,
    dir: &Path,
    name: &str,
    token: &Option<String>,
    id: Option<Uuid>,
) -> Reply<Value> {
    let key = match id {
        Some(id) => format!("{name}/{id}"),
        None => name.to_string(),
    };
    match ask(core, name, token, id, None).await {
        Ok(v) => {
            cache_put(dir, &key, &v);
            Ok(v)
        }
        Err(e) if e.code == "unavailable" => cache_get(dir, &key).ok_or(e),
        Err(e) => Err(e),
    }
}

/// Signed runs waiting for the server (signed while it could not be reached).
fn outbox_path(dir: &Path) -> std::path::PathBuf {
    dir.join("outbox-runs.json")
}

fn outbox_read(dir: &Path) -> Vec<Value> {
    std::fs::read(outbox_path(dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn outbox_write(dir: &Path, items: &[Value]) -> Reply<()> {
    let tmp = outbox_path(dir).with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(items).unwrap_or_default())
        .and_then(|_| std::fs::rename(&tmp, outbox_path(dir)))
        .map_err(|e| failure("internal", format!("could not keep the signed runs: {e}")))
}

/// How many signed runs wait to be sent.
pub fn outbox_len(dir: &Path) -> usize {
    outbox_read(dir).len()
}

/// Sends what waits in the outbox (after a sync round, when the server answers). A batch
/// the server refuses is dropped and said in the log: it would be refused again.
pub async fn flush_outbox(core: &std::sync::Arc<Core>, dir: &Path) {
    let items = outbox_read(dir);
    if items.is_empty() {
        return;
    }
    let Some(op) = api::find("create_runs") else {
        return;
    };
    let mut left = Vec::new();
    for item in items {
        let req = Request {
            token: None,
            id: None,
            input: Input::Json(item.clone()),
        };
        match forward(core, op, &req).await {
            Some(Ok(_)) => {}
            Some(Err(e)) if e.code == "unavailable" => left.push(item),
            Some(Err(e)) => {
                tracing::warn!(error = %e.message, "the server refused runs signed offline")
            }
            None => left.push(item),
        }
    }
    let _ = outbox_write(dir, &left);
}

/// One operation, asked of the server when connected, of this console's store otherwise.
async fn ask(
    core: &std::sync::Arc<Core>,
    name: &str,
    token: &Option<String>,
    id: Option<Uuid>,
    input: Option<Value>,
) -> Reply<Value> {
    let op = api::find(name).ok_or_else(|| failure("internal", format!("no operation {name}")))?;
    let req = Request {
        token: token.clone(),
        id,
        input: input.map(Input::Json).unwrap_or_default(),
    };
    if let Some(answer) = forward(core, op, &req).await {
        return answer;
    }
    op.call(core.clone(), req).await.map_err(err)
}

fn decode<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Reply<T> {
    serde_json::from_value(v).map_err(|e| failure("internal", format!("{what}: {e}")))
}

pub async fn status(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    user: Uuid,
) -> Reply<SigningStatus> {
    status_in(core, None, token, user).await
}

/// One answer of the server, from the last one kept when `dir` is given and it is offline.
async fn ask_maybe_cached(
    core: &std::sync::Arc<Core>,
    dir: Option<&Path>,
    name: &str,
    token: &Option<String>,
    id: Option<Uuid>,
) -> Reply<Value> {
    match dir {
        Some(d) => ask_cached(core, d, name, token, id).await,
        None => ask(core, name, token, id, None).await,
    }
}

/// The status; with `dir`, answered from the server's last answers when it is offline.
pub async fn status_in(
    core: &std::sync::Arc<Core>,
    dir: Option<&Path>,
    token: &Option<String>,
    user: Uuid,
) -> Reply<SigningStatus> {
    let trust: TrustState = decode(
        ask_maybe_cached(core, dir, "trust_state", token, None).await?,
        "trust state",
    )?;
    let root_key = load_key(ROOT_KEY);
    let root_key_here = match (&root_key, &trust.root) {
        (Some(k), Some(r)) => hex::encode(k.verifying_key().to_bytes()) == r.public_key,
        _ => false,
    };
    let tech = load_key(&technician_key_name(user));
    let technician_key = tech
        .as_ref()
        .map(|k| outpost_trust::fingerprint(&k.verifying_key().to_bytes()));
    let certificate = match &tech {
        Some(k) => {
            let certs: Vec<TechnicianCertificate> = decode(
                ask_maybe_cached(core, dir, "list_certificates", token, None).await?,
                "certificates",
            )?;
            let mine = hex::encode(k.verifying_key().to_bytes());
            let now = chrono::Utc::now();
            certs.into_iter().find(|c| {
                c.public_key == mine
                    && c.revoked_at.is_none()
                    && c.superseded_at.is_none()
                    && c.not_before <= now
                    && now <= c.not_after
                    && trust.root.is_some()
            })
        }
        None => None,
    };
    let can_sign = certificate.is_some();
    let next_step = if can_sign {
        "Runs signed here start on endpoints within a second.".to_string()
    } else if trust.root.is_none() {
        "The organisation has no signing root yet: an admin sets up script signing here \
         (Settings → Script signing)."
            .to_string()
    } else if let Some(fp) = technician_key.as_deref().filter(|_| !root_key_here) {
        format!(
            "Your key ({}…) waits for an admin to certify it: they do it in their desktop \
             app, Settings → Script signing.",
            &fp[..19]
        )
    } else if tech.is_none() || root_key_here {
        "This console has no certificate to sign with: an admin sets up signing here, or \
         certifies your key from their console."
            .to_string()
    } else {
        "Your key is not certified (or its certificate expired or was revoked): ask an admin \
         to certify it."
            .to_string()
    };
    Ok(SigningStatus {
        organisation_root: trust.root,
        root_key_here,
        technician_key,
        certificate,
        can_sign,
        next_step,
        runs_waiting_to_send: dir.map_or(0, |d| outbox_len(d) as i64),
    })
}

/// The admin's one-time setup: the root (with its recovery file) when the organisation has
/// none, then this admin's own key, certified for every client for 90 days.
pub async fn setup(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    actor: &outpost_core::Actor,
    data_dir: &Path,
    input: SetupSigning,
) -> Reply<SigningSetUp> {
    let user = actor
        .user_id
        .ok_or_else(|| failure("forbidden", "log in as a person to set up signing"))?;
    let trust: TrustState = decode(
        ask(core, "trust_state", token, None, None).await?,
        "trust state",
    )?;
    let mut recovery_file = None;
    let root = match (&trust.root, load_key(ROOT_KEY)) {
        (None, _) => {
            let root = outpost_trust::new_signing_key();
            let path = write_recovery(&root, &input.passphrase, data_dir)?;
            store_key(ROOT_KEY, &root)?;
            ask(
                core,
                "set_trust_root",
                token,
                None,
                Some(json!({"public_key": hex::encode(root.verifying_key().to_bytes())})),
            )
            .await?;
            recovery_file = Some(path);
            root
        }
        (Some(r), Some(k)) if hex::encode(k.verifying_key().to_bytes()) == r.public_key => k,
        (Some(r), _) => {
            return Err(failure(
                "conflict",
                format!(
                    "the organisation's root ({}) is not in this machine's keyring: set up \
                     signing on the admin console that holds it, or restore it from its \
                     recovery file there",
                    r.fingerprint
                ),
            ))
        }
    };
    certify_own_key(core, token, &root, user, &actor.name).await?;
    Ok(SigningSetUp {
        status: status(core, token, user).await?,
        recovery_file,
    })
}

/// Writes the root's passphrase-encrypted recovery file next to the console's data; returns
/// where.
fn write_recovery(root: &SigningKey, passphrase: &str, data_dir: &Path) -> Reply<String> {
    let file =
        outpost_trust::recovery::seal(root, passphrase).map_err(|m| failure("validation", m))?;
    let path = data_dir.join(format!(
        "outpost-root-recovery-{}.json",
        &outpost_trust::normalize_fingerprint(&file.fingerprint)[..16]
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap_or_default()).map_err(|e| {
        failure(
            "internal",
            format!("could not write the recovery file: {e}"),
        )
    })?;
    Ok(path.display().to_string())
}

/// This admin's own key (made here once), certified by `root` for every client, 90 days.
async fn certify_own_key(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    root: &SigningKey,
    user: Uuid,
    display_name: &str,
) -> Reply<()> {
    let name = technician_key_name(user);
    let tech = match load_key(&name) {
        Some(k) => k,
        None => {
            let k = outpost_trust::new_signing_key();
            store_key(&name, &k)?;
            k
        }
    };
    let now = chrono::Utc::now().timestamp();
    let cert = CertificateBody {
        serial: Uuid::now_v7(),
        root_key: root.verifying_key().to_bytes(),
        public_key: tech.verifying_key().to_bytes(),
        user_id: user,
        name: display_name.to_string(),
        not_before: now - 300,
        not_after: now + 90 * 86_400,
        clients: ClientScope::All,
    }
    .sign(root);
    ask(
        core,
        "add_certificate",
        token,
        None,
        Some(json!({"certificate": cert})),
    )
    .await?;
    Ok(())
}

/// The server's revocation state and the keys its current list revokes (checked with `root`).
async fn current_revocations(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    root: &SigningKey,
) -> Reply<(RevocationState, Vec<[u8; 32]>)> {
    let state: RevocationState = decode(
        ask(core, "revocation_state", token, None, None).await?,
        "revocations",
    )?;
    let revoked = match &state.list {
        Some(list) => {
            outpost_trust::RevocationList(
                serde_json::from_value(json!(list))
                    .map_err(|e| failure("internal", e.to_string()))?,
            )
            .verify(&root.verifying_key())
            .map_err(|e| failure("internal", format!("the current revocation list: {e}")))?
            .revoked
        }
        None => Vec::new(),
    };
    Ok((state, revoked))
}

/// The keyring entry that holds a new root while the server takes the hand-over.
const NEXT_ROOT_KEY: &str = "script-signing-root-next";
/// The root handed over from, kept in the keyring after a rotation.
const PREVIOUS_ROOT_KEY: &str = "script-signing-root-previous";

/// Rotates the organisation's root: a new root made here, the hand-over signed by the
/// current one (from this keyring), the new root's first revocation list (every key revoked
/// so far), a new recovery file, and this admin's key certified by the new root. Agents
/// follow at their next connection; other technicians' keys wait to be certified again.
pub async fn rotate_root(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    actor: &outpost_core::Actor,
    data_dir: &Path,
    input: SetupSigning,
) -> Reply<SigningSetUp> {
    let user = actor
        .user_id
        .ok_or_else(|| failure("forbidden", "log in as a person to rotate the root"))?;
    let trust: TrustState = decode(
        ask(core, "trust_state", token, None, None).await?,
        "trust state",
    )?;
    let old = root_here(&trust)?;
    let (state, revoked) = current_revocations(core, token, &old).await?;
    let next = outpost_trust::new_signing_key();
    // The recovery file first: a passphrase too short stops everything before any change.
    let recovery_file = write_recovery(&next, &input.passphrase, data_dir)?;
    store_key(NEXT_ROOT_KEY, &next)?;
    let now = chrono::Utc::now().timestamp();
    let rotation = outpost_trust::RotationBody {
        old_root: old.verifying_key().to_bytes(),
        new_root: next.verifying_key().to_bytes(),
        issued_at: now,
    }
    .sign(&old);
    let list = outpost_trust::RevocationBody {
        root_key: next.verifying_key().to_bytes(),
        seq: state.seq + 1,
        issued_at: now,
        revoked,
    }
    .sign(&next);
    if let Err(e) = ask(
        core,
        "rotate_trust_root",
        token,
        None,
        Some(json!({"rotation": rotation, "revocation": list})),
    )
    .await
    {
        let _ = keyring_entry(NEXT_ROOT_KEY).map(|e| e.delete_credential());
        let _ = std::fs::remove_file(&recovery_file);
        return Err(e);
    }
    store_key(PREVIOUS_ROOT_KEY, &old)?;
    store_key(ROOT_KEY, &next)?;
    let _ = keyring_entry(NEXT_ROOT_KEY).map(|e| e.delete_credential());
    certify_own_key(core, token, &next, user, &actor.name).await?;
    Ok(SigningSetUp {
        status: status(core, token, user).await?,
        recovery_file: Some(recovery_file),
    })
}

/// What signing a script for endpoints needs: the key, its certificate, the trust state,
/// the script's current version, and each endpoint as the server (or the cache) knows it.
struct Signing {
    key: SigningKey,
    serial: Uuid,
    certificate: outpost_trust::Certificate,
    certificate_ends: i64,
    revocation_seq: u64,
    two_person_rule: TwoPersonRule,
    script: Script,
    parameters: Vec<RunValue>,
    endpoints: Vec<Value>,
    clients: usize,
}

async fn prepare_signing(
    core: &std::sync::Arc<Core>,
    dir: &Path,
    token: &Option<String>,
    user: Uuid,
    script_id: Uuid,
    assets: &[Uuid],
    parameters: Vec<RunValue>,
) -> Reply<Signing> {
    if assets.is_empty() {
        return Err(failure("validation", "choose at least one endpoint"));
    }
    let (key, cert, certificate) = signing_identity(core, Some(dir), token, user).await?;
    // Edits made here reach the server before a run names them (the library syncs).
    let _ = sync::sync_now(core).await;
    let script = core
        .get_script(&local_actor(core, token).await?, script_id)
        .await
        .map_err(err)?;
    let trust: TrustState = decode(
        ask_cached(core, dir, "trust_state", token, None).await?,
        "trust state",
    )?;
    for given in &parameters {
        if !script
            .current
            .parameters
            .iter()
            .any(|p| p.name == given.name)
        {
            return Err(failure(
                "validation",
                format!(
                    "{:?} takes no parameter {}",
                    script.current.name, given.name
                ),
            ));
        }
    }
    let mut endpoints = Vec::with_capacity(assets.len());
    for asset in assets {
        endpoints.push(
            ask_cached(core, dir, "get_asset", token, Some(*asset))
                .await
                .map_err(|e| {
                    if e.code == "unavailable" {
                        failure(
                            "unavailable",
                            "offline, and this console has not seen that endpoint's agent yet: \
                             open the endpoint once while online, or run it when back online",
                        )
                    } else {
                        e
                    }
                })?,
        );
    }
    let clients: std::collections::HashSet<&str> = endpoints
        .iter()
        .filter_map(|d| d["client_id"].as_str())
        .collect();
    let clients = clients.len();
    let certificate_ends = certificate
        .claims()
        .map(|c| c.not_after)
        .unwrap_or_default();
    Ok(Signing {
        key,
        serial: cert.serial,
        certificate,
        certificate_ends,
        revocation_seq: trust.revocation_seq,
        two_person_rule: trust.two_person_rule,
        script,
        parameters,
        endpoints,
        clients,
    })
}

impl Signing {
    /// Wide runs wait for a second technician (the two-person rule).
    fn approvals_required(&self) -> u8 {
        u8::from(outpost_core::scripts::runs::needs_second_technician(
            &self.two_person_rule,
            self.endpoints.len(),
            self.clients,
        ))
    }

    /// One signed request per window for the endpoint (secrets sealed to its agent).
    fn sign_for(
        &self,
        detail: &Value,
        windows: &[(i64, i64)],
        approvals_required: u8,
    ) -> Reply<Vec<outpost_trust::SignedRun>> {
        let v = &self.script.current;
        let agent = &detail["agent"];
        let name = detail["name"].as_str().unwrap_or("this device");
        let (Some(agent_id), Some(client)) = (
            agent["agent_id"]
                .as_str()
                .and_then(|a| a.parse::<Uuid>().ok()),
            detail["client_id"]
                .as_str()
                .and_then(|c| c.parse::<Uuid>().ok()),
        ) else {
            return Err(failure(
                "validation",
                format!("{name} has no agent: scripts run on enrolled endpoints"),
            ));
        };
        if agent["revoked_at"].is_string() {
            return Err(failure("validation", format!("{name}'s agent was revoked")));
        }
        let agent_key = hex::decode(agent["public_key"].as_str().unwrap_or(""))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| outpost_trust::public_key(&b).ok());
        let mut values = Vec::new();
        for p in &v.parameters {
            let value = self
                .parameters
                .iter()
                .find(|g| g.name == p.name)
                .map(|g| g.value.clone())
                .or_else(|| p.default.clone());
            let Some(value) = value else {
                if p.required {
                    return Err(failure(
                        "validation",
                        format!("{} is required", p.label.as_deref().unwrap_or(&p.name)),
                    ));
                }
                continue;
            };
            values.push((p, value));
        }
        let mut out = Vec::with_capacity(windows.len());
        for (not_before, not_after) in windows {
            let mut parameters = Vec::with_capacity(values.len());
            for (p, value) in &values {
                let value = if p.kind == ParameterKind::Secret {
                    let key = agent_key.ok_or_else(|| {
                        failure(
                            "validation",
                            "the endpoint's agent key is unknown, so a secret cannot be sealed to it",
                        )
                    })?;
                    ParameterValue::Sealed(outpost_trust::seal::seal(
                        &key,
                        &p.name,
                        value.as_bytes(),
                    ))
                } else {
                    ParameterValue::Text(value.clone())
                };
                parameters.push(Parameter {
                    name: p.name.clone(),
                    value,
                });
            }
            let req = RunRequest {
                run_id: Uuid::now_v7(),
                nonce: rand::random(),
                target_agent: agent_id,
                target_client: client,
                script_id: self.script.id,
                script_version: v.version as u32,
                script_hash: outpost_trust::script_hash(&v.body),
                interpreter: v.interpreter.as_str().into(),
                parameters,
                timeout_secs: v.timeout_secs.clamp(1, 86_400) as u32,
                not_before: *not_before,
                not_after: *not_after,
                revocation_seq: self.revocation_seq,
                approvals_required,
                certificate_serial: self.serial,
            };
            out.push(req.sign(&self.key, &self.certificate));
        }
        Ok(out)
    }
}

/// Signs the script's current version for each endpoint and sends the runs (all or none).
pub async fn sign_runs(
    core: &std::sync::Arc<Core>,
    dir: &Path,
    token: &Option<String>,
    user: Uuid,
    input: SignRuns,
) -> Reply<Value> {
    let hours = input.valid_hours.unwrap_or(24);
    if !(1..=744).contains(&hours) {
        return Err(failure(
            "validation",
            "valid_hours must be between 1 and 744 (31 days)",
        ));
    }
    let signing = prepare_signing(
        core,
        dir,
        token,
        user,
        input.script_id,
        &input.assets,
        input.parameters,
    )
    .await?;
    let now = chrono::Utc::now().timestamp();
    let approvals = signing.approvals_required();
    let mut signed = Vec::with_capacity(input.assets.len());
    for detail in &signing.endpoints {
        signed.extend(signing.sign_for(detail, &[(now - 60, now + hours * 3600)], approvals)?);
    }
    let batch = json!({"runs": signed, "ticket_id": input.ticket_id});
    match ask(core, "create_runs", token, None, Some(batch.clone())).await {
        Err(e) if e.code == "unavailable" => {
            // Signed here, sent at the next sync (their windows allow the wait).
            let mut items = outbox_read(dir);
            items.push(batch);
            outbox_write(dir, &items)?;
            Ok(json!([]))
        }
        other => other,
    }
}

/// Signs an automation's runs ahead (each time of a schedule, or a pool for an alert, per
/// endpoint) and sends it; the server starts them when their time comes or their alert
/// fires, and can do no more than that.
pub async fn sign_automation(
    core: &std::sync::Arc<Core>,
    dir: &Path,
    token: &Option<String>,
    user: Uuid,
    input: SignAutomation,
) -> Reply<Value> {
    let signing = prepare_signing(
        core,
        dir,
        token,
        user,
        input.script_id,
        &input.assets,
        input.parameters.clone(),
    )
    .await?;
    let plan = outpost_core::scripts::automations::plan_signing(
        &input,
        signing.endpoints.len(),
        chrono::Utc::now().timestamp(),
        signing.certificate_ends,
    )
    .map_err(err)?;
    let windows = &plan.windows;
    let approvals = signing.approvals_required();
    let mut runs = Vec::with_capacity(windows.len() * signing.endpoints.len());
    for detail in &signing.endpoints {
        runs.extend(signing.sign_for(detail, windows, approvals)?);
    }
    let automation = json!({
        "id": Uuid::now_v7(),
        "name": input.name,
        "trigger": input.trigger,
        "schedule": input.schedule,
        "time_zone": plan.time_zone,
        "alert_kind": input.alert_kind,
        "runs_per_endpoint": input.runs_per_endpoint,
        "cooldown_minutes": input.cooldown_minutes,
        "script_id": signing.script.id,
        "script_version": signing.script.current.version,
        "valid_from": chrono::DateTime::from_timestamp(plan.valid_from, 0),
        "valid_until": chrono::DateTime::from_timestamp(plan.valid_until, 0),
        "runs": runs,
    });
    ask(core, "create_automation", token, None, Some(automation))
        .await
        .map_err(|e| {
            if e.code == "unavailable" {
                failure(
                    "unavailable",
                    "automations are kept by the server, which cannot be reached now: sign it \
                     again when online",
                )
            } else {
                e
            }
        })
}

/// A second technician approves every run of an automation waiting for it.
pub async fn approve_automation(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    user: Uuid,
    input: ApproveAutomationHere,
) -> Reply<Value> {
    let (key, _, certificate) = signing_identity(core, None, token, user).await?;
    // Pages of the runs still waiting (an automation may sign thousands), each approved in
    // one request, until none waits.
    let mut answer = None;
    loop {
        let runs: RunList = decode(
            ask(
                core,
                "list_runs",
                token,
                None,
                Some(json!({"automation_id": input.automation_id,
                            "state": "awaiting_approval", "limit": 1000})),
            )
            .await?,
            "runs",
        )?;
        if runs.items.is_empty() {
            break;
        }
        let mut approvals = Vec::with_capacity(runs.items.len());
        for run in &runs.items {
            let mut signed = outpost_trust::SignedRun {
                request: serde_json::from_value(json!(run.request))
                    .map_err(|e| failure("internal", format!("the run's request: {e}")))?,
                certificate: certificate.clone(),
                approvals: Vec::new(),
            };
            signed.approve(&key, &certificate);
            if let Some(approval) = signed.approvals.pop() {
                approvals.push(json!({"run_id": run.id, "approval": approval}));
            }
        }
        answer = Some(
            ask(
                core,
                "approve_automation",
                token,
                Some(input.automation_id),
                Some(json!({"approvals": approvals})),
            )
            .await?,
        );
    }
    answer.ok_or_else(|| {
        failure(
            "conflict",
            "none of the automation's runs waits for an approval",
        )
    })
}

/// This technician's key from the keyring and its valid certificate (as the server knows it
/// and as the trust crate reads it), or why they cannot sign.
async fn signing_identity(
    core: &std::sync::Arc<Core>,
    dir: Option<&Path>,
    token: &Option<String>,
    user: Uuid,
) -> Reply<(
    SigningKey,
    TechnicianCertificate,
    outpost_trust::Certificate,
)> {
    let key = load_key(&technician_key_name(user)).ok_or_else(|| {
        failure(
            "forbidden",
            "this console holds no signing key for you: set up script signing first",
        )
    })?;
    let st = status_in(core, dir, token, user).await?;
    let cert = st
        .certificate
        .ok_or_else(|| failure("forbidden", st.next_step.clone()))?;
    let certificate = serde_json::from_value(json!(cert.certificate))
        .map_err(|e| failure("internal", format!("the stored certificate: {e}")))?;
    Ok((key, cert, certificate))
}

/// The person using this console, for calls answered by its own store.
async fn local_actor(core: &Core, token: &Option<String>) -> Reply<outpost_core::Actor> {
    core.authenticate(token.as_deref().unwrap_or_default())
        .await
        .map_err(err)
}

/// A technician's key made here (once) and sent to the server for an admin to certify.
pub async fn request_key(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    user: Uuid,
) -> Reply<SigningStatus> {
    let name = technician_key_name(user);
    let key = match load_key(&name) {
        Some(k) => k,
        None => {
            let k = outpost_trust::new_signing_key();
            store_key(&name, &k)?;
            k
        }
    };
    ask(
        core,
        "request_certificate",
        token,
        None,
        Some(json!({"public_key": hex::encode(key.verifying_key().to_bytes())})),
    )
    .await?;
    status(core, token, user).await
}

fn root_here(trust: &TrustState) -> Reply<SigningKey> {
    let root = load_key(ROOT_KEY).ok_or_else(|| {
        failure(
            "forbidden",
            "the organisation's root key is not in this machine's keyring",
        )
    })?;
    match &trust.root {
        Some(r) if r.public_key == hex::encode(root.verifying_key().to_bytes()) => Ok(root),
        _ => Err(failure(
            "conflict",
            "the root key in this machine's keyring is not the organisation's current root",
        )),
    }
}

/// An admin certifies a pending request: the person's key, for the clients they may see.
pub async fn certify(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    input: CertifyRequest,
) -> Reply<Value> {
    let days = input.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(failure("validation", "days must be between 1 and 365"));
    }
    let trust: TrustState = decode(
        ask(core, "trust_state", token, None, None).await?,
        "trust state",
    )?;
    let root = root_here(&trust)?;
    let requests: Vec<CertificateRequest> = decode(
        ask(core, "list_certificate_requests", token, None, None).await?,
        "requests",
    )?;
    let req = requests
        .into_iter()
        .find(|r| r.id == input.request_id)
        .ok_or_else(|| {
            failure(
                "not_found",
                "that request is not pending (certified already?)",
            )
        })?;
    let key: [u8; 32] = hex::decode(&req.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| failure("validation", "the request's key is not 32 bytes"))?;
    let now = chrono::Utc::now().timestamp();
    let cert = CertificateBody {
        serial: Uuid::now_v7(),
        root_key: root.verifying_key().to_bytes(),
        public_key: key,
        user_id: req.user_id,
        name: req.name.clone(),
        not_before: now - 300,
        not_after: now + days * 86_400,
        clients: match req.clients {
            None => ClientScope::All,
            Some(list) => ClientScope::Only(list),
        },
    }
    .sign(&root);
    ask(
        core,
        "add_certificate",
        token,
        None,
        Some(json!({"certificate": cert})),
    )
    .await
}

/// An admin revokes a technician's key: the root signs the next revocation list, which the
/// server hands to every agent.
pub async fn revoke(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    input: RevokeCertificate,
) -> Reply<Value> {
    let trust: TrustState = decode(
        ask(core, "trust_state", token, None, None).await?,
        "trust state",
    )?;
    let root = root_here(&trust)?;
    let certs: Vec<TechnicianCertificate> = decode(
        ask(core, "list_certificates", token, None, None).await?,
        "certificates",
    )?;
    let cert = certs
        .iter()
        .find(|c| c.serial == input.serial)
        .ok_or_else(|| failure("not_found", "no such certificate"))?;
    let (state, mut revoked) = current_revocations(core, token, &root).await?;
    let key: [u8; 32] = hex::decode(&cert.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| failure("internal", "a certificate key is not 32 bytes"))?;
    if !revoked.contains(&key) {
        revoked.push(key);
    }
    let list = outpost_trust::RevocationBody {
        root_key: root.verifying_key().to_bytes(),
        seq: state.seq + 1,
        issued_at: chrono::Utc::now().timestamp(),
        revoked,
    }
    .sign(&root);
    ask(
        core,
        "add_revocation_list",
        token,
        None,
        Some(json!({"list": list})),
    )
    .await
}

/// A second technician approves a run with their key: a signature over the same request
/// bytes the signer signed.
pub async fn approve(
    core: &std::sync::Arc<Core>,
    token: &Option<String>,
    user: Uuid,
    input: ApproveRunHere,
) -> Reply<Value> {
    let (key, _, certificate) = signing_identity(core, None, token, user).await?;
    let run: Run = decode(
        ask(core, "get_run", token, Some(input.run_id), None).await?,
        "run",
    )?;
    let mut signed = outpost_trust::SignedRun {
        request: serde_json::from_value(json!(run.request))
            .map_err(|e| failure("internal", format!("the run's request: {e}")))?,
        certificate: certificate.clone(),
        approvals: Vec::new(),
    };
    signed.approve(&key, &certificate);
    let approval = signed.approvals.pop().expect("just added");
    ask(
        core,
        "approve_run",
        token,
        Some(input.run_id),
        Some(json!({"approval": approval})),
    )
    .await
}
