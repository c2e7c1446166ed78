//! outpost-server: the REST API under `/api/v1` and the web console, over `outpost-core`.
//!
//! Each handler is a few lines: parse, call one core method, map the error. Business rules
//! live in outpost-core only. `GET /api/v1/openapi.json` describes every route.

pub mod tls;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use outpost_core::{Actor, Core, CoreError};
use outpost_proto::*;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
}

/// An error on the wire: status code plus `ApiError {code, message}`.
pub struct ApiFailure(StatusCode, ApiError);

impl From<CoreError> for ApiFailure {
    fn from(e: CoreError) -> Self {
        let status = match &e {
            CoreError::Validation(_) => StatusCode::BAD_REQUEST,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            CoreError::SyncGap { .. } | CoreError::ReplicaReused => StatusCode::CONFLICT,
            CoreError::Unavailable(_) | CoreError::Offline(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiFailure(status, e.to_api())
    }
}

impl ApiFailure {
    fn bad_request(message: String) -> Self {
        ApiFailure(
            StatusCode::BAD_REQUEST,
            ApiError {
                code: "validation".into(),
                message,
                expected_seq: None,
            },
        )
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiFailure>;
/// A create: 201 with the new object.
type Created<T> = Result<(StatusCode, Json<T>), ApiFailure>;

fn created<T>(v: T) -> Created<T> {
    Ok((StatusCode::CREATED, Json(v)))
}

/// JSON body whose rejection (malformed JSON, wrong types) is a typed 400.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiFailure;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| {
                // Keep axum's status where it is more precise (413 too large, 415 not JSON).
                let status = match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        e.status()
                    }
                    _ => StatusCode::BAD_REQUEST,
                };
                ApiFailure(
                    status,
                    ApiError {
                        code: "validation".into(),
                        message: format!("the request body is not valid: {}", e.body_text()),
                        expected_seq: None,
                    },
                )
            })
    }
}

/// Query string whose rejection is a typed 400.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiFailure;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e| {
                ApiFailure::bad_request(format!("the query string is not valid: {}", e.body_text()))
            })
    }
}

/// A UUID path segment whose rejection is a typed 400.
pub struct Id(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiFailure;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiFailure::bad_request(e.body_text()))?;
        Uuid::parse_str(&raw)
            .map(Id)
            .map_err(|_| ApiFailure::bad_request(format!("'{raw}' is not a valid id (a UUID)")))
    }
}

/// The person behind the bearer token.
pub struct Auth(pub Actor);

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiFailure;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiFailure::from(CoreError::Unauthorized(
                "log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
                    .into(),
            ))
        })?;
        Ok(Auth(state.core.authenticate(token).await?))
    }
}

// ------------------------------------------------------------------ handlers

#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

#[utoipa::path(get, path = "/api/v1/setup", responses((status = 200, body = SetupState)))]
async fn setup_state(State(s): State<AppState>) -> ApiResult<SetupState> {
    Ok(Json(s.core.setup_state().await?))
}

#[utoipa::path(post, path = "/api/v1/setup", request_body = FirstAdminRequest,
    responses((status = 200, body = Session), (status = 409, body = ApiError)))]
async fn create_first_admin(
    State(s): State<AppState>,
    Body(req): Body<FirstAdminRequest>,
) -> ApiResult<Session> {
    Ok(Json(s.core.create_first_admin(req).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
async fn login(State(s): State<AppState>, Body(req): Body<LoginRequest>) -> ApiResult<Session> {
    Ok(Json(s.core.login(req).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)), security(("bearer" = [])))]
async fn logout(
    State(s): State<AppState>,
    parts: axum::http::HeaderMap,
) -> Result<StatusCode, ApiFailure> {
    if let Some(t) = parts
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        s.core.logout(t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = User)), security(("bearer" = [])))]
async fn me(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<User> {
    Ok(Json(s.core.current_user(&a).await?))
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>)), security(("bearer" = [])))]
async fn list_users(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Vec<User>> {
    Ok(Json(s.core.list_users(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser,
    responses((status = 201, body = User), (status = 403, body = ApiError)), security(("bearer" = [])))]
async fn create_user(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<NewUser>,
) -> Created<User> {
    created(s.core.create_user(&a, req).await?)
}

#[utoipa::path(get, path = "/api/v1/clients", responses((status = 200, body = Vec<Client>)), security(("bearer" = [])))]
async fn list_clients(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Vec<Client>> {
    Ok(Json(s.core.list_clients(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/clients", request_body = NewClient,
    responses((status = 201, body = Client), (status = 400, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn create_client(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<NewClient>,
) -> Created<Client> {
    created(s.core.create_client(&a, req).await?)
}

#[utoipa::path(get, path = "/api/v1/clients/{id}", params(("id" = Uuid, Path)),
    responses((status = 200, body = ClientDetail), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_client(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
) -> ApiResult<ClientDetail> {
    Ok(Json(s.core.get_client(&a, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/clients/{id}", params(("id" = Uuid, Path)), request_body = UpdateClient,
    responses((status = 200, body = Client)), security(("bearer" = [])))]
async fn update_client(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UpdateClient>,
) -> ApiResult<Client> {
    Ok(Json(s.core.update_client(&a, id, req).await?))
}

#[utoipa::path(post, path = "/api/v1/clients/{id}/sites", params(("id" = Uuid, Path)), request_body = NewSite,
    responses((status = 201, body = Site)), security(("bearer" = [])))]
async fn create_site(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<NewSite>,
) -> Created<Site> {
    created(s.core.create_site(&a, id, req).await?)
}

#[utoipa::path(post, path = "/api/v1/clients/{id}/contacts", params(("id" = Uuid, Path)), request_body = NewContact,
    responses((status = 201, body = Contact)), security(("bearer" = [])))]
async fn create_contact(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<NewContact>,
) -> Created<Contact> {
    created(s.core.create_contact(&a, id, req).await?)
}

#[utoipa::path(patch, path = "/api/v1/sites/{id}", params(("id" = Uuid, Path)), request_body = UpdateSite,
    responses((status = 200, body = Site), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn update_site(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UpdateSite>,
) -> ApiResult<Site> {
    Ok(Json(s.core.update_site(&a, id, req).await?))
}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", params(("id" = Uuid, Path)), request_body = UpdateContact,
    responses((status = 200, body = Contact), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn update_contact(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UpdateContact>,
) -> ApiResult<Contact> {
    Ok(Json(s.core.update_contact(&a, id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/assets", params(AssetQuery),
    responses((status = 200, body = AssetPage), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn list_assets(
    State(s): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<AssetQuery>,
) -> ApiResult<AssetPage> {
    Ok(Json(s.core.list_assets(&a, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/assets", request_body = NewAsset,
    responses((status = 201, body = Asset), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn create_asset(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<NewAsset>,
) -> Created<Asset> {
    created(s.core.create_asset(&a, req).await?)
}

#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = Uuid, Path)),
    responses((status = 200, body = Asset), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_asset(State(s): State<AppState>, Auth(a): Auth, Id(id): Id) -> ApiResult<Asset> {
    Ok(Json(s.core.get_asset(&a, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/assets/{id}", params(("id" = Uuid, Path)), request_body = UpdateAsset,
    responses((status = 200, body = Asset), (status = 400, body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
async fn update_asset(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UpdateAsset>,
) -> ApiResult<Asset> {
    Ok(Json(s.core.update_asset(&a, id, req).await?))
}

#[utoipa::path(get, path = "/api/v1/tickets", params(TicketQuery),
    responses((status = 200, body = TicketPage), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn list_tickets(
    State(s): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<TicketQuery>,
) -> ApiResult<TicketPage> {
    Ok(Json(s.core.list_tickets(&a, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets", request_body = NewTicket,
    responses((status = 201, body = Ticket), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn create_ticket(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<NewTicket>,
) -> Created<Ticket> {
    created(s.core.create_ticket(&a, req).await?)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketDetail), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn get_ticket(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
) -> ApiResult<TicketDetail> {
    Ok(Json(s.core.get_ticket(&a, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", params(("id" = Uuid, Path)), request_body = UpdateTicket,
    responses((status = 200, body = Ticket), (status = 400, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn update_ticket(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UpdateTicket>,
) -> ApiResult<Ticket> {
    Ok(Json(s.core.update_ticket(&a, id, req).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/comments", params(("id" = Uuid, Path)), request_body = NewComment,
    responses((status = 201, body = Comment)), security(("bearer" = [])))]
async fn add_comment(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<NewComment>,
) -> Created<Comment> {
    created(s.core.add_comment(&a, id, req).await?)
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/time-entries", params(("id" = Uuid, Path)), request_body = NewTimeEntry,
    responses((status = 201, body = TimeEntry), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn add_time_entry(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<NewTimeEntry>,
) -> Created<TimeEntry> {
    created(s.core.add_time_entry(&a, id, req).await?)
}

#[utoipa::path(get, path = "/api/v1/tags", responses((status = 200, body = Vec<String>)), security(("bearer" = [])))]
async fn list_tags(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Vec<String>> {
    Ok(Json(s.core.list_tags(&a).await?))
}

#[utoipa::path(get, path = "/api/v1/views", responses((status = 200, body = Vec<SavedView>)), security(("bearer" = [])))]
async fn list_views(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<Vec<SavedView>> {
    Ok(Json(s.core.list_views(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/views", request_body = NewSavedView,
    responses((status = 201, body = SavedView)), security(("bearer" = [])))]
async fn create_view(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<NewSavedView>,
) -> Created<SavedView> {
    created(s.core.create_view(&a, req).await?)
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn delete_view(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiFailure> {
    s.core.delete_view(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/queue-counts", responses((status = 200, body = QueueCounts)), security(("bearer" = [])))]
async fn queue_counts(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<QueueCounts> {
    Ok(Json(s.core.queue_counts(&a).await?))
}

#[utoipa::path(get, path = "/api/v1/sla-policy", responses((status = 200, body = SlaPolicy)), security(("bearer" = [])))]
async fn get_sla_policy(State(s): State<AppState>, Auth(_a): Auth) -> ApiResult<SlaPolicy> {
    Ok(Json(s.core.sla_policy().await?))
}

#[utoipa::path(put, path = "/api/v1/sla-policy", request_body = SlaPolicy,
    responses((status = 200, body = SlaPolicy), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn set_sla_policy(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<SlaPolicy>,
) -> ApiResult<SlaPolicy> {
    Ok(Json(s.core.set_sla_policy(&a, req).await?))
}

#[utoipa::path(post, path = "/api/v1/demo", responses((status = 200, body = DemoSummary), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
async fn load_demo(State(s): State<AppState>, Auth(a): Auth) -> ApiResult<DemoSummary> {
    Ok(Json(s.core.load_demo(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/sync/push", request_body = PushRequest,
    responses((status = 200, body = PushResponse),
              (status = 409, description = "sync_gap (see expected_seq) or replica_reused", body = ApiError)),
    security(("bearer" = [])))]
async fn sync_push(
    State(s): State<AppState>,
    Auth(a): Auth,
    Body(req): Body<PushRequest>,
) -> ApiResult<PushResponse> {
    Ok(Json(s.core.accept_push(&a, req).await?))
}

#[utoipa::path(get, path = "/api/v1/sync/pull", params(PullQuery),
    responses((status = 200, body = PullPage), (status = 400, body = ApiError)), security(("bearer" = [])))]
async fn sync_pull(
    State(s): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<PullQuery>,
) -> ApiResult<PullPage> {
    Ok(Json(match q.entity.as_deref() {
        Some(entity) => {
            s.core
                .pull_entity_changes(&a, entity, q.after, q.limit)
                .await?
        }
        None => s.core.pull_changes(&a, q.after, q.limit).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/sync/checksums",
    responses((status = 200, body = Vec<EntityChecksum>)), security(("bearer" = [])))]
async fn sync_checksums(
    State(s): State<AppState>,
    Auth(a): Auth,
) -> ApiResult<Vec<EntityChecksum>> {
    Ok(Json(s.core.checksums(&a).await?))
}

#[utoipa::path(get, path = "/api/v1/sync/snapshot", params(SnapshotQuery),
    responses((status = 200, body = SnapshotPage), (status = 400, body = ApiError)),
    security(("bearer" = [])))]
async fn sync_snapshot(
    State(s): State<AppState>,
    Auth(a): Auth,
    Params(q): Params<SnapshotQuery>,
) -> ApiResult<SnapshotPage> {
    Ok(Json(
        s.core.snapshot(&a, &q.entity, q.after, q.limit).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/clients", params(("id" = Uuid, Path)),
    request_body = UserClients,
    responses((status = 200, body = User), (status = 400, body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = [])))]
async fn set_user_clients(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
    Body(req): Body<UserClients>,
) -> ApiResult<User> {
    Ok(Json(s.core.set_user_clients(&a, id, req.clients).await?))
}

#[utoipa::path(get, path = "/api/v1/sync/status", responses((status = 200, body = SyncStatus)), security(("bearer" = [])))]
async fn sync_status(State(s): State<AppState>, Auth(_a): Auth) -> ApiResult<SyncStatus> {
    Ok(Json(s.core.sync_status().await?))
}

#[utoipa::path(post, path = "/api/v1/conflicts/{id}/resolve", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ApiError)), security(("bearer" = [])))]
async fn resolve_conflict(
    State(s): State<AppState>,
    Auth(a): Auth,
    Id(id): Id,
) -> Result<StatusCode, ApiFailure> {
    s.core.resolve_conflict(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Outpost API", description = "Service desk of the Outpost MSP console."),
    paths(
        health, setup_state, create_first_admin, login, logout, me, list_users, create_user,
        set_user_clients, sync_snapshot, list_assets, create_asset, get_asset, update_asset,
        list_clients, create_client, get_client, update_client, create_site, create_contact,
        update_site, update_contact,
        list_tickets, create_ticket, get_ticket, update_ticket, add_comment, add_time_entry,
        list_tags, list_views, create_view, delete_view, queue_counts, get_sla_policy,
        set_sla_policy, load_demo, sync_push, sync_pull, sync_status, sync_checksums, resolve_conflict
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn api_not_found() -> ApiFailure {
    ApiFailure(
        StatusCode::NOT_FOUND,
        ApiError {
            code: "not_found".into(),
            message: "no such API route; see GET /api/v1/openapi.json".into(),
            expected_seq: None,
        },
    )
}

/// The `/api/v1` routes alone.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route("/setup", get(setup_state).post(create_first_admin))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}/clients", axum::routing::put(set_user_clients))
        .route("/clients", get(list_clients).post(create_client))
        .route("/clients/{id}", get(get_client).patch(update_client))
        .route("/clients/{id}/sites", post(create_site))
        .route("/clients/{id}/contacts", post(create_contact))
        .route("/sites/{id}", axum::routing::patch(update_site))
        .route("/contacts/{id}", axum::routing::patch(update_contact))
        .route("/assets", get(list_assets).post(create_asset))
        .route("/assets/{id}", get(get_asset).patch(update_asset))
        .route("/tickets", get(list_tickets).post(create_ticket))
        .route("/tickets/{id}", get(get_ticket).patch(update_ticket))
        .route("/tickets/{id}/comments", post(add_comment))
        .route("/tickets/{id}/time-entries", post(add_time_entry))
        .route("/tags", get(list_tags))
        .route("/views", get(list_views).post(create_view))
        .route("/views/{id}", axum::routing::delete(delete_view))
        .route("/queue-counts", get(queue_counts))
        .route("/sla-policy", get(get_sla_policy).put(set_sla_policy))
        .route("/demo", post(load_demo))
        .route("/sync/push", post(sync_push))
        .route("/sync/pull", get(sync_pull))
        .route("/sync/status", get(sync_status))
        .route("/sync/checksums", get(sync_checksums))
        .route("/sync/snapshot", get(sync_snapshot))
        .route("/conflicts/{id}/resolve", post(resolve_conflict))
        .fallback(api_not_found)
        .with_state(state)
}

/// The whole server: the API plus, when `ui_dir` holds a built UI, the web console.
pub fn app(state: AppState, ui_dir: Option<PathBuf>) -> Router {
    let router = Router::new().nest("/api/v1", api_router(state));
    match ui_dir.filter(|d| d.join("index.html").is_file()) {
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
    }
}
