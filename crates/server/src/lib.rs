//! outpost-server: the REST API under `/api/v1` and the web console, over `outpost-core`.
//!
//! Routes and the OpenAPI document (`GET /api/v1/openapi.json`) are both made from the
//! operation table in `outpost_core::api`, except the three routes whose bodies are files
//! (`attachments`), declared beside it with their own OpenAPI entries: this crate only moves
//! requests in and answers out (parse, call, map the error). Business rules live in
//! outpost-core only.

pub mod attachments;
pub mod doctor;
pub mod gateway;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod reports;
pub mod senders;
pub mod tls;
pub mod webhooks;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use outpost_core::api::{self, Access, Input, Method, Operation, Success};
use outpost_core::{Core, CoreError};
use outpost_proto::ApiError;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login throttling counts
    /// by the client's address, not the proxy's).
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// The token `GET /metrics` asks for (None: metrics are off).
    pub metrics_token: Option<Arc<str>>,
}

impl AppState {
    pub fn new(core: Arc<Core>) -> AppState {
        AppState {
            core,
            trusted_proxies: Arc::new(Vec::new()),
            metrics_token: None,
        }
    }

    /// The address a request came from: its peer, or for a trusted proxy the last address
    /// in `X-Forwarded-For` that is not itself a trusted proxy (a client can put anything
    /// in front of that, so only the proxies' own entries are believed).
    pub fn client_address(&self, parts: &axum::http::request::Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|a| !self.trusted_proxies.contains(a))
                .unwrap_or(peer),
        )
    }
}

/// An error on the wire: status code plus `ApiError {code, message}`, and for 429 the
/// seconds to wait (`Retry-After`).
pub struct ApiFailure(StatusCode, ApiError, Option<u64>);

/// The HTTP status of a core error.
pub fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::Validation(_) => StatusCode::BAD_REQUEST,
        CoreError::NotFound(_) => StatusCode::NOT_FOUND,
        CoreError::Conflict(_) => StatusCode::CONFLICT,
        CoreError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::SyncGap { .. } | CoreError::ReplicaReused => StatusCode::CONFLICT,
        CoreError::Unavailable(_) | CoreError::Offline(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CoreError> for ApiFailure {
    fn from(e: CoreError) -> Self {
        let retry_after = match &e {
            CoreError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        ApiFailure(status_of(&e), e.to_api(), retry_after)
    }
}

impl ApiFailure {
    pub fn new(status: StatusCode, message: String) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::CONFLICT => "conflict",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "validation",
        };
        ApiFailure(
            status,
            ApiError {
                code: code.into(),
                message,
                expected_seq: None,
            },
            None,
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(self.1)).into_response();
        if let Some(secs) = self.2 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.max(1).into());
        }
        response
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// One request through one declared operation: the session first (401/403 before anything
/// about the input), then the id, the body or query, then the core function.
async fn handle(
    op: &'static Operation,
    state: AppState,
    req: Request,
) -> Result<Response, ApiFailure> {
    let (mut parts, body) = req.into_parts();
    let token = bearer(&parts.headers);
    if op.access != Access::Public && token.is_none() {
        return Err(ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
                .into(),
        ));
    }
    let mut caller = op.caller(&state.core, token.clone()).await?;
    caller.address = state.client_address(&parts);
    caller.device = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect());
    let id = if op.shape.has_id() {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, &state)
            .await
            .map_err(|e| ApiFailure::new(StatusCode::BAD_REQUEST, e.body_text()))?;
        let raw = params.get("id").cloned().unwrap_or_default();
        Some(Uuid::parse_str(&raw).map_err(|_| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                format!("'{raw}' is not a valid id (a UUID)"),
            )
        })?)
    } else {
        None
    };
    let input = if op.shape.has_body() {
        if !is_json(&parts.headers) {
            return Err(ApiFailure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON, with 'Content-Type: application/json'".into(),
            ));
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), &state)
            .await
            .map_err(|e| {
                ApiFailure::new(
                    e.status(),
                    format!("the request body could not be read: {}", e.body_text()),
                )
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiFailure::new(
                StatusCode::BAD_REQUEST,
                format!("the request body is not valid JSON: {e}"),
            )
        })?;
        Input::Json(value)
    } else if op.shape.has_query() {
        Input::Query(parts.uri.query().unwrap_or_default().to_string())
    } else {
        Input::None
    };
    let request = api::Request { token, id, input };
    let out = op.call_as(state.core.clone(), caller, request).await?;
    Ok(match op.success {
        Success::NoContent => StatusCode::NO_CONTENT.into_response(),
        Success::Created => (StatusCode::CREATED, Json(out)).into_response(),
        Success::Ok => Json(out).into_response(),
    })
}

fn filter(m: Method) -> MethodFilter {
    match m {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Patch => MethodFilter::PATCH,
        Method::Delete => MethodFilter::DELETE,
    }
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::document())
}

async fn api_not_found() -> ApiFailure {
    ApiFailure::new(
        StatusCode::NOT_FOUND,
        "no such API route; see GET /api/v1/openapi.json".into(),
    )
}

/// The `/api/v1` routes alone: one per declared operation that has a route, and the routes
/// that carry files.
pub fn api_router(state: AppState) -> Router {
    // The API serves reports, so the core behind it prints them.
    reports::install(&state.core);
    routes(state, |_| true, true)
}

/// What a desktop console serves when it is a one-office MSP's gateway: agents enroll and
/// connect; no console route is reachable from the network.
pub fn agent_app(state: AppState, gateway: &Arc<gateway::Gateway>) -> Router {
    let api = routes(
        state,
        |op| matches!(op.name, "health" | "enroll_agent"),
        false,
    );
    gateway.router().merge(Router::new().nest("/api/v1", api))
}

fn routes(state: AppState, keep: impl Fn(&Operation) -> bool, files: bool) -> Router {
    let mut paths: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for op in api::operations().iter().filter(|op| keep(op)) {
        let Some(route) = op.route else { continue };
        let handler = move |State(s): State<AppState>, req: Request| async move {
            handle(op, s, req)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        };
        let entry = paths.remove(route.path).unwrap_or_default();
        paths.insert(route.path, entry.merge(on(filter(route.method), handler)));
    }
    if files {
        for (path, methods) in attachments::routes().into_iter().chain(reports::routes()) {
            let entry = paths.remove(path).unwrap_or_default();
            paths.insert(path, entry.merge(methods));
        }
    }
    let mut router = Router::new().route("/openapi.json", axum::routing::get(openapi_json));
    for (path, methods) in paths {
        router = router.route(path, methods);
    }
    router.fallback(api_not_found).with_state(state)
}

/// The whole server: the API, the agent gateway (with its default settings) and, when
/// `ui_dir` holds a built UI, the web console. Must be called on a tokio runtime (the
/// gateway's writer starts).
pub fn app(state: AppState, ui_dir: Option<PathBuf>) -> Router {
    let gateway = gateway::Gateway::start(state.core.clone(), Default::default());
    app_with(state, ui_dir, &gateway)
}

/// The web console's policy: its own scripts only (none inline), styles from itself (Svelte
/// sets style attributes), images also from `data:`/`blob:` (charts, attachment previews),
/// no plugins, no framing, forms and fetches to itself only.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Headers on every answer: the console's policy, no framing, no type sniffing, no
/// referrer; API answers are never cached (they carry client data). A route that sets one of
/// these itself (an attachment's stricter policy, a report's cache rule) keeps its own.
async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, header::HeaderValue::from_static(value));
        }
    };
    set(header::CONTENT_SECURITY_POLICY, CONSOLE_CSP);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if api {
        set(header::CACHE_CONTROL, "no-store");
    }
    response
}

/// The whole server with a gateway set up by the caller.
pub fn app_with(
    state: AppState,
    ui_dir: Option<PathBuf>,
    gateway: &Arc<gateway::Gateway>,
) -> Router {
    let router = gateway
        .router()
        .route(
            "/metrics",
            axum::routing::get(metrics::serve).with_state(state.clone()),
        )
        .merge(Router::new().nest("/api/v1", api_router(state)));
    let router = match ui_dir.filter(|d| d.join("index.html").is_file()) {
        Some(dir) => {
            // Unknown paths get index.html, so console URLs survive a reload.
            let index = tower_http::services::ServeFile::new(dir.join("index.html"));
            router.fallback_service(tower_http::services::ServeDir::new(dir).fallback(index))
        }
        None => router.fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "The web console is not built. Run `cargo xtask run` (or `npm run build` in ui/) \
                 and start the server again; the API is under /api/v1.",
            )
        }),
    };
    router
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(security_headers))
}
