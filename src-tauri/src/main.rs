//! The Outpost desktop console: the embedded core on a SQLite file in the OS app-data folder,
//! behind one Tauri command that dispatches by operation name through the same table the
//! server's routes are made from (`outpost_core::api`), and fails with the same `ApiError`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod gateway;
mod scripts;
mod sync;

use outpost_core::api::{self, decode_body, Input, Operation, Request};
use outpost_core::{Core, CoreError, SystemClock};
use outpost_proto::*;
use outpost_sync_client::{server_login, LoginFailure};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Manager, State};
use tokio::sync::Notify;
use uuid::Uuid;

struct Console {
    core: Arc<Core>,
    wake: Arc<Notify>,
    gateway: gateway::Standalone,
    /// The app-data folder (the store, the gateway's settings, a root's recovery file).
    data_dir: PathBuf,
}

type Reply<T> = Result<T, ApiError>;

fn err(e: CoreError) -> ApiError {
    e.to_api()
}

fn failure(code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        code: code.into(),
        message: message.into(),
        expected_seq: None,
    }
}

fn answer<T: serde::Serialize>(v: T) -> Reply<Value> {
    serde_json::to_value(v).map_err(|e| failure("internal", e.to_string()))
}

/// The one command: every operation of the table, by name (`op`), with the session token
/// and the operation's id and input. The desktop app's own operations are handled here; all
/// others go to the core exactly as the HTTP routes do.
#[tauri::command]
async fn call(
    state: State<'_, Console>,
    op: String,
    token: Option<String>,
    id: Option<String>,
    input: Option<Value>,
) -> Reply<Value> {
    let operation = api::find(&op).ok_or_else(|| {
        failure(
            "not_found",
            format!("'{op}' is not an operation of this version of Outpost"),
        )
    })?;
    let id = id
        .map(|raw| {
            Uuid::parse_str(&raw)
                .map_err(|_| failure("validation", format!("'{raw}' is not a valid id (a UUID)")))
        })
        .transpose()?;
    let req = Request {
        token,
        id,
        input: input.map(Input::Json).unwrap_or_default(),
    };
    if operation.name == "gateway_info" {
        // What "Add endpoint" shows: this console's own gateway, when it runs one.
        operation
            .caller(&state.core, req.token.clone())
            .await
            .map_err(err)?
            .actor()
            .map_err(err)?;
        return answer(state.core.gateway_info());
    }
    if scripts::ON_THE_SERVER.contains(&operation.name) {
        if let Some(answer) = scripts::forward(&state.core, operation, &req).await {
            return answer;
        }
    }
    if operation.server_only {
        return Err(failure(
            "unsupported",
            format!("'{op}' is answered by a server; this console calls its server for it"),
        ));
    }
    if OWN_OPERATIONS.contains(&operation.name) {
        return own(&state, operation, req).await;
    }
    operation.call(state.core.clone(), req).await.map_err(err)
}

/// What the desktop app does itself: the OS keyring and its link to a server.
const OWN_OPERATIONS: &[&str] = &[
    "login",
    "sync_status",
    "server_fingerprint",
    "connect_server",
    "disconnect_server",
    "sync_now",
    "asset_metrics",
    "asset_chart",
    "desktop_gateway",
    "set_desktop_gateway",
    "signing_status",
    "setup_signing",
    "sign_runs",
    "request_signing_key",
    "certify_request",
    "revoke_certificate",
    "approve_run_here",
    "sign_automation",
    "approve_automation_here",
    "rotate_root",
    "attachment_content",
];

async fn own(state: &Console, op: &Operation, req: Request) -> Reply<Value> {
    let core = &state.core;
    let caller = op.caller(core, req.token.clone()).await.map_err(err)?;
    match op.name {
        "login" => answer(login(core, decode_body(req.input).map_err(err)?).await?),
        "sync_status" => {
            // The certificate this console pinned lives in the OS keyring.
            let mut status = core.sync_status().await.map_err(err)?;
            if let Some(url) = &status.server_url {
                status.certificate = sync::load_credential(url).and_then(|c| c.fingerprint);
            }
            answer(status)
        }
        "server_fingerprint" => {
            let req: ServerAddress = decode_body(req.input).map_err(err)?;
            let url = outpost_core::sync::server_address(&req.url).map_err(err)?;
            answer(
                outpost_sync_client::server_fingerprint(&url)
                    .await
                    .map_err(|m| failure("unavailable", m))?,
            )
        }
        "connect_server" => {
            answer(connect_server(state, decode_body(req.input).map_err(err)?).await?)
        }
        "disconnect_server" => {
            caller.actor().map_err(err)?;
            if let Some(url) = core.sync_status().await.map_err(err)?.server_url {
                sync::forget_token(&url);
            }
            core.set_server(None).await.map_err(err)?;
            answer(core.sync_status().await.map_err(err)?)
        }
        "asset_metrics" | "asset_chart" => {
            let actor = caller.actor().map_err(err)?.clone();
            let id = req
                .id
                .ok_or_else(|| failure("validation", "which endpoint? (an id)"))?;
            let raw = match req.input {
                Input::Json(v) => v,
                _ => Value::Null,
            };
            // Fetched from the server when it can be reached and cached; offline, what was
            // cached is drawn ("as of").
            let series: outpost_proto::MetricsQuery = serde_json::from_value(json!({
                "series": raw.get("series").cloned().unwrap_or(Value::Null),
                "from": raw.get("from").cloned().unwrap_or(Value::Null),
                "to": raw.get("to").cloned().unwrap_or(Value::Null),
            }))
            .map_err(|e| failure("validation", format!("the query is not valid: {e}")))?;
            if let Some(history) = sync::fetch_metrics(core, id, &series).await {
                let _ = core.cache_metrics(id, &history).await;
            }
            if op.name == "asset_metrics" {
                answer(core.asset_metrics(&actor, id, &series).await.map_err(err)?)
            } else {
                let q: outpost_proto::ChartQuery = serde_json::from_value(raw)
                    .map_err(|e| failure("validation", format!("the query is not valid: {e}")))?;
                answer(core.asset_chart(&actor, id, &q).await.map_err(err)?)
            }
        }
        "attachment_content" => {
            let actor = caller.actor().map_err(err)?.clone();
            let id = req
                .id
                .ok_or_else(|| failure("validation", "which file? (an id)"))?;
            // Bytes not here yet: fetched from the server once, then kept on this console.
            if let Err(CoreError::Unavailable(local)) = core.attachment_content(&actor, id).await {
                let bytes = sync::fetch_attachment(core, id)
                    .await
                    .map_err(|m| failure("unavailable", format!("{local} ({m})")))?;
                core.put_attachment_bytes(&actor, id, &bytes)
                    .await
                    .map_err(err)?;
            }
            let (attachment, bytes) = core.attachment_content(&actor, id).await.map_err(err)?;
            answer(outpost_proto::AttachmentContent {
                attachment,
                data_base64: base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    bytes,
                ),
            })
        }
        "desktop_gateway" => {
            caller.actor().map_err(err)?;
            answer(state.gateway.status(core).await)
        }
        "set_desktop_gateway" => {
            caller.actor().map_err(err)?;
            let req: SetDesktopGateway = decode_body(req.input).map_err(err)?;
            if req.enabled && core.sync_status().await.map_err(err)?.server_url.is_some() {
                return Err(failure(
                    "conflict",
                    "this console syncs with a server, whose gateway its agents use; \
                     disconnect it first to run it as the one-office server",
                ));
            }
            answer(
                state
                    .gateway
                    .set(core, req)
                    .await
                    .map_err(|m| failure("validation", m))?,
            )
        }
        "signing_status" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            answer(scripts::status_in(core, Some(&state.data_dir), &req.token, user).await?)
        }
        "setup_signing" => {
            let actor = caller.actor().map_err(err)?.clone();
            let input: SetupSigning = decode_body(req.input).map_err(err)?;
            answer(scripts::setup(core, &req.token, &actor, &state.data_dir, input).await?)
        }
        "rotate_root" => {
            let actor = caller.actor().map_err(err)?.clone();
            let input: SetupSigning = decode_body(req.input).map_err(err)?;
            answer(scripts::rotate_root(core, &req.token, &actor, &state.data_dir, input).await?)
        }
        "request_signing_key" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            answer(scripts::request_key(core, &req.token, user).await?)
        }
        "certify_request" => {
            caller.actor().map_err(err)?;
            let input: CertifyRequest = decode_body(req.input).map_err(err)?;
            scripts::certify(core, &req.token, input).await
        }
        "revoke_certificate" => {
            caller.actor().map_err(err)?;
            let input: RevokeCertificate = decode_body(req.input).map_err(err)?;
            scripts::revoke(core, &req.token, input).await
        }
        "approve_run_here" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            let input: ApproveRunHere = decode_body(req.input).map_err(err)?;
            scripts::approve(core, &req.token, user, input).await
        }
        "sign_runs" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            let input: SignRuns = decode_body(req.input).map_err(err)?;
            scripts::sign_runs(core, &state.data_dir, &req.token, user, input).await
        }
        "sign_automation" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            let input: SignAutomation = decode_body(req.input).map_err(err)?;
            scripts::sign_automation(core, &state.data_dir, &req.token, user, input).await
        }
        "approve_automation_here" => {
            let user = caller.actor().map_err(err)?.user_id.unwrap_or_default();
            let input: ApproveAutomationHere = decode_body(req.input).map_err(err)?;
            scripts::approve_automation(core, &req.token, user, input).await
        }
        "sync_now" => {
            // A failed round is reported in the status (last_error), not as a failed command.
            let _ = sync::sync_now(core).await;
            answer(core.sync_status().await.map_err(err)?)
        }
        other => Err(failure(
            "internal",
            format!("the desktop app has no handler for '{other}'"),
        )),
    }
}

/// Connected consoles check the password with the server when it can be reached (and keep a
/// local verifier for offline days); otherwise, and when standalone, locally.
async fn login(core: &Core, req: LoginRequest) -> Reply<Session> {
    let Some(url) = core.sync_status().await.map_err(err)?.server_url else {
        return core.login(req).await.map_err(err);
    };
    let pin = sync::load_credential(&url).and_then(|c| c.fingerprint);
    if let Err(e) = outpost_core::sync::require_pin(&url, pin.as_deref()) {
        // No login to an https server without the certificate an admin trusted: check the
        // password locally, and say what to do.
        core.record_sync_error(&e.to_string()).await.map_err(err)?;
        return core.login(req).await.map_err(err);
    }
    match server_login(&url, pin.as_deref(), &req).await {
        Ok(remote) => {
            let credential = sync::ServerCredential {
                token: remote.token,
                fingerprint: pin,
            };
            sync::store_credential(&url, &credential).map_err(|m| failure("internal", m))?;
            // The account may be new to this console: fetch it before logging in locally.
            let _ = sync::sync_now(core).await;
            core.cache_login(remote.user.id, req).await.map_err(err)
        }
        Err(LoginFailure::Unreachable(_)) => core.login(req).await.map_err(err),
        Err(LoginFailure::Refused(m)) => Err(failure("unauthorized", m)),
    }
}

/// Standalone → connected: log in to the server, keep its session in the OS keyring, send
/// the local data (previewed with `connect_preview`) and fetch the organisation's.
async fn connect_server(state: &Console, req: ConnectRequest) -> Reply<Session> {
    let url = outpost_core::sync::server_address(&req.server_url).map_err(err)?;
    let pin = outpost_core::sync::pin_for(&url, req.fingerprint.as_deref()).map_err(err)?;
    let login = LoginRequest {
        username: req.username,
        password: req.password,
    };
    let remote = server_login(&url, pin.as_deref(), &login)
        .await
        .map_err(|e| failure("unavailable", e.to_string()))?;
    let credential = sync::ServerCredential {
        token: remote.token.clone(),
        fingerprint: pin,
    };
    sync::store_credential(&url, &credential).map_err(|m| failure("internal", m))?;
    state.core.set_server(Some(&url)).await.map_err(err)?;
    sync::sync_now(&state.core).await.map_err(|m| {
        failure(
            "unavailable",
            format!("connected, but the first sync failed: {m}; it will be retried"),
        )
    })?;
    state.wake.notify_one();
    state
        .core
        .cache_login(remote.user.id, login)
        .await
        .map_err(err)
}

/// `OUTPOST_DATA_DIR` wins (tests, portable installs); otherwise the OS app-data folder.
fn data_dir(app: &tauri::App) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OUTPOST_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    Ok(app.path().app_data_dir()?)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let result = tauri::Builder::default()
        .setup(|app| {
            let dir = data_dir(app)?;
            tracing::info!(data_dir = %dir.display(), "opening the local store");
            let core = tauri::async_runtime::block_on(Core::open_dir(&dir, Arc::new(SystemClock)))
                .map_err(|e| anyhow::anyhow!("cannot open the store in {}: {e}", dir.display()))?;
            // Reports print here too (offline, from the local store).
            outpost_server::reports::install(&core);
            let core = Arc::new(core);
            let wake = Arc::new(Notify::new());
            sync::spawn(core.clone(), wake.clone(), dir.clone());
            let gateway = gateway::Standalone::new(&dir);
            tauri::async_runtime::block_on(gateway.resume(&core));
            app.manage(Console {
                core,
                wake,
                gateway,
                data_dir: dir,
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![call])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Outpost could not start: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the core does not perform has a handler here, and every handler here
    /// is a declared operation.
    #[test]
    fn the_desktop_handles_every_operation_the_core_leaves_to_it() {
        for op in api::operations().iter().filter(|o| !o.in_core()) {
            assert!(
                OWN_OPERATIONS.contains(&op.name),
                "no desktop handler for {}",
                op.name
            );
        }
        for name in OWN_OPERATIONS {
            assert!(
                api::find(name).is_some(),
                "{name} is not in the operation table"
            );
        }
    }
}
