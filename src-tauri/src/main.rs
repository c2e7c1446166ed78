//! The Outpost desktop console: the embedded core on a SQLite file in the OS app-data folder,
//! behind thin Tauri commands. Each command authenticates, calls one core method and maps
//! the error to the same `ApiError` the REST API returns.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod sync;

use outpost_core::{Actor, Core, CoreError, SystemClock};
use outpost_proto::*;
use outpost_sync_client::{server_login, LoginFailure};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Manager, State};
use tokio::sync::Notify;
use uuid::Uuid;

struct Console {
    core: Arc<Core>,
    wake: Arc<Notify>,
}

type Reply<T> = Result<T, ApiError>;

fn err(e: CoreError) -> ApiError {
    e.to_api()
}

impl Console {
    async fn actor(&self, token: &str) -> Reply<Actor> {
        self.core.authenticate(token).await.map_err(err)
    }
}

/// Declares a command that authenticates and calls one core method.
macro_rules! authed {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $out:ty => |$core:ident, $actor:ident| $call:expr) => {
        #[tauri::command]
        async fn $name(state: State<'_, Console>, token: String $(, $arg: $ty)*) -> Reply<$out> {
            let $actor = state.actor(&token).await?;
            let $core = &state.core;
            $call.await.map_err(err)
        }
    };
}

#[tauri::command]
fn health() -> Health {
    Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

#[tauri::command]
async fn setup_state(state: State<'_, Console>) -> Reply<SetupState> {
    state.core.setup_state().await.map_err(err)
}

#[tauri::command]
async fn create_first_admin(state: State<'_, Console>, req: FirstAdminRequest) -> Reply<Session> {
    state.core.create_first_admin(req).await.map_err(err)
}

fn failure(code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        code: code.into(),
        message: message.into(),
        expected_seq: None,
    }
}

/// Connected consoles check the password with the server when it can be reached (and keep a
/// local verifier for offline days); otherwise, and when standalone, locally.
#[tauri::command]
async fn login(state: State<'_, Console>, req: LoginRequest) -> Reply<Session> {
    let core = &state.core;
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

/// The sync state, with the certificate this console pinned (kept in the OS keyring).
#[tauri::command]
async fn sync_status(state: State<'_, Console>, token: String) -> Reply<SyncStatus> {
    state.actor(&token).await?;
    let mut status = state.core.sync_status().await.map_err(err)?;
    if let Some(url) = &status.server_url {
        status.certificate = sync::load_credential(url).and_then(|c| c.fingerprint);
    }
    Ok(status)
}

/// The certificate an https server presents, for the person to compare before trusting it.
#[tauri::command]
async fn server_fingerprint(
    state: State<'_, Console>,
    token: String,
    url: String,
) -> Reply<String> {
    state.actor(&token).await?.require_admin().map_err(err)?;
    let url = outpost_core::sync::server_address(&url).map_err(err)?;
    outpost_sync_client::server_fingerprint(&url)
        .await
        .map_err(|m| failure("unavailable", m))
}
authed!(connect_preview() -> ConnectPreview => |core, _a| core.connect_preview());
authed!(resolve_conflict(id: Uuid) -> () => |core, a| core.resolve_conflict(&a, id));

/// Standalone → connected: log in to the server, keep its session in the OS keyring, send
/// the local data (previewed with `connect_preview`) and fetch the organisation's.
#[tauri::command]
async fn connect_server(
    state: State<'_, Console>,
    token: String,
    req: ConnectRequest,
) -> Reply<Session> {
    let actor = state.actor(&token).await?;
    actor.require_admin().map_err(err)?;
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

/// Back to standalone: the data stays; the server session is forgotten.
#[tauri::command]
async fn disconnect_server(state: State<'_, Console>, token: String) -> Reply<SyncStatus> {
    let actor = state.actor(&token).await?;
    actor.require_admin().map_err(err)?;
    if let Some(url) = state.core.sync_status().await.map_err(err)?.server_url {
        sync::forget_token(&url);
    }
    state.core.set_server(None).await.map_err(err)?;
    state.core.sync_status().await.map_err(err)
}

#[tauri::command]
async fn sync_now(state: State<'_, Console>, token: String) -> Reply<SyncStatus> {
    state.actor(&token).await?;
    // A failed round is reported in the status (last_error), not as a failed command.
    let _ = sync::sync_now(&state.core).await;
    state.core.sync_status().await.map_err(err)
}

#[tauri::command]
async fn logout(state: State<'_, Console>, token: String) -> Reply<()> {
    state.core.logout(&token).await.map_err(err)
}

authed!(me() -> User => |core, a| core.current_user(&a));
authed!(list_users() -> Vec<User> => |core, a| core.list_users(&a));
authed!(create_user(req: NewUser) -> User => |core, a| core.create_user(&a, req));
authed!(set_user_clients(id: Uuid, req: UserClients) -> User => |core, a| core.set_user_clients(&a, id, req.clients));
authed!(list_clients() -> Vec<Client> => |core, a| core.list_clients(&a));
authed!(create_client(req: NewClient) -> Client => |core, a| core.create_client(&a, req));
authed!(get_client(id: Uuid) -> ClientDetail => |core, a| core.get_client(&a, id));
authed!(update_client(id: Uuid, req: UpdateClient) -> Client => |core, a| core.update_client(&a, id, req));
authed!(create_site(id: Uuid, req: NewSite) -> Site => |core, a| core.create_site(&a, id, req));
authed!(create_contact(id: Uuid, req: NewContact) -> Contact => |core, a| core.create_contact(&a, id, req));
authed!(update_site(id: Uuid, req: UpdateSite) -> Site => |core, a| core.update_site(&a, id, req));
authed!(update_contact(id: Uuid, req: UpdateContact) -> Contact => |core, a| core.update_contact(&a, id, req));
authed!(list_assets(query: AssetQuery) -> AssetPage => |core, a| core.list_assets(&a, &query));
authed!(get_asset(id: Uuid) -> Asset => |core, a| core.get_asset(&a, id));
authed!(create_asset(req: NewAsset) -> Asset => |core, a| core.create_asset(&a, req));
authed!(update_asset(id: Uuid, req: UpdateAsset) -> Asset => |core, a| core.update_asset(&a, id, req));
authed!(list_tickets(query: TicketQuery) -> TicketPage => |core, a| core.list_tickets(&a, &query));
authed!(create_ticket(req: NewTicket) -> Ticket => |core, a| core.create_ticket(&a, req));
authed!(get_ticket(id: Uuid) -> TicketDetail => |core, a| core.get_ticket(&a, id));
authed!(update_ticket(id: Uuid, req: UpdateTicket) -> Ticket => |core, a| core.update_ticket(&a, id, req));
authed!(add_comment(id: Uuid, req: NewComment) -> Comment => |core, a| core.add_comment(&a, id, req));
authed!(add_time_entry(id: Uuid, req: NewTimeEntry) -> TimeEntry => |core, a| core.add_time_entry(&a, id, req));
authed!(list_tags() -> Vec<String> => |core, a| core.list_tags(&a));
authed!(list_views() -> Vec<SavedView> => |core, a| core.list_views(&a));
authed!(create_view(req: NewSavedView) -> SavedView => |core, a| core.create_view(&a, req));
authed!(delete_view(id: Uuid) -> () => |core, a| core.delete_view(&a, id));
authed!(queue_counts() -> QueueCounts => |core, a| core.queue_counts(&a));
authed!(get_sla_policy() -> SlaPolicy => |core, _a| core.sla_policy());
authed!(set_sla_policy(req: SlaPolicy) -> SlaPolicy => |core, a| core.set_sla_policy(&a, req));
authed!(load_demo() -> DemoSummary => |core, a| core.load_demo(&a));

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
            let core = Arc::new(core);
            let wake = Arc::new(Notify::new());
            sync::spawn(core.clone(), wake.clone());
            app.manage(Console { core, wake });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            health,
            setup_state,
            create_first_admin,
            login,
            logout,
            me,
            list_users,
            create_user,
            set_user_clients,
            server_fingerprint,
            list_clients,
            create_client,
            get_client,
            update_client,
            create_site,
            create_contact,
            update_site,
            update_contact,
            list_assets,
            get_asset,
            create_asset,
            update_asset,
            list_tickets,
            create_ticket,
            get_ticket,
            update_ticket,
            add_comment,
            add_time_entry,
            list_tags,
            list_views,
            create_view,
            delete_view,
            queue_counts,
            get_sla_policy,
            set_sla_policy,
            load_demo,
            sync_status,
            connect_preview,
            connect_server,
            disconnect_server,
            sync_now,
            resolve_conflict,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Outpost could not start: {e}");
        std::process::exit(1);
    }
}
