//! Files over HTTP: the three routes whose bodies are not JSON, beside the operation table
//! (which carries JSON only). `POST /tickets/{id}/attachments` takes multipart form data,
//! `GET /attachments/{id}` sends the bytes as a download, and `PUT /attachments/{id}/content`
//! takes the bytes of a file a console attached offline (they must match its hash). Their
//! OpenAPI entries are in [`document_paths`].

use crate::{bearer, ApiFailure, AppState};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::Json;
use outpost_core::desk::attachments::{content_type_of, human_size, MAX_FILE_MIB};
use outpost_core::Actor;
use uuid::Uuid;

/// A request body is never read past this (each file is held to the store's own limit).
const BODY_LIMIT: usize = (MAX_FILE_MIB as usize + 1) * 1024 * 1024;

/// The routes, by path (merged with the operation table's: a path may have both).
pub(crate) fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let limit = || DefaultBodyLimit::max(BODY_LIMIT);
    vec![
        ("/tickets/{id}/attachments", post(upload).layer(limit())),
        ("/attachments/{id}", get(download)),
        ("/attachments/{id}/content", put(put_content).layer(limit())),
    ]
}

async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiFailure> {
    // Read before any await: a request body is not Sync.
    let token = bearer(headers).ok_or_else(|| {
        ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
                .into(),
        )
    })?;
    Ok(state.core.authenticate(&token).await?)
}

/// A technician or admin (viewers read files but add none).
async fn writer(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiFailure> {
    let actor = actor(state, headers).await?;
    actor.require_write()?;
    Ok(actor)
}

fn record_id(raw: &str) -> Result<Uuid, ApiFailure> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            format!("'{raw}' is not a valid id (a UUID)"),
        )
    })
}

fn too_large(what: &str, max: i64) -> ApiFailure {
    ApiFailure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "{what} is larger than {}, the most one file may be (an admin sets the limit under \
             Settings → Attachments)",
            human_size(max)
        ),
    )
}

/// Multipart form data: any number of `file` fields (all kept or none) and an optional
/// `comment_id` field naming the comment they belong to.
async fn upload(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiFailure> {
    let actor = writer(&state, &headers).await?;
    let ticket = record_id(&raw)?;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the files as multipart/form-data, each in a field named 'file'".into(),
        ));
    }
    let max = state.core.max_attachment_bytes().await?;
    let mut form = Multipart::from_request(req, &state).await.map_err(|e| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            format!("the form cannot be read: {e}"),
        )
    })?;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the request is over {MAX_FILE_MIB} MiB; send fewer or smaller files")
        } else {
            format!("the form cannot be read: {}", e.body_text())
        };
        ApiFailure::new(status, message)
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut comment = None;
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "file" | "files" | "files[]" => {
                let name = field.file_name().unwrap_or("attachment").to_string();
                let mut bytes = Vec::new();
                // Read piece by piece: a file over the limit is refused without holding it.
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as i64 > max {
                        return Err(too_large(&format!("'{name}'"), max));
                    }
                }
                files.push((name, bytes));
            }
            "comment_id" => {
                let text = field.text().await.map_err(unreadable)?;
                let text = text.trim();
                if !text.is_empty() {
                    comment = Some(Uuid::parse_str(text).map_err(|_| {
                        ApiFailure::new(
                            StatusCode::BAD_REQUEST,
                            format!("comment_id '{text}' is not a valid id (a UUID)"),
                        )
                    })?);
                }
            }
            other => {
                return Err(ApiFailure::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown form field '{other}'; send 'file' (one or more) and \
                         optionally 'comment_id'"
                    ),
                ))
            }
        }
    }
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let added = state
        .core
        .add_attachments(&actor, ticket, comment, &refs)
        .await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// `filename="…"` for old clients (ASCII, quotes and backslashes replaced) and
/// `filename*=UTF-8''…` with the real name.
pub(crate) fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The bytes, always as a download: the type is decided from the bytes (never HTML or SVG),
/// the browser may not guess another, and the answer may run nothing if opened directly.
async fn download(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let actor = actor(&state, &headers).await?;
    let id = record_id(&raw)?;
    let (a, bytes) = state.core.attachment_content(&actor, id).await?;
    let content_type = content_type_of(&a.file_name, &bytes);
    let mut res = Response::new(Body::from(bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_DISPOSITION, disposition(&a.file_name));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", a.sha256)) {
        h.insert(header::ETAG, v);
    }
    Ok(res)
}

/// The bytes of a file a console attached: exactly those its hash names.
async fn put_content(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> Result<Response, ApiFailure> {
    let actor = writer(&state, &headers).await?;
    let id = record_id(&raw)?;
    let max = state.core.max_attachment_bytes().await?;
    let bytes = axum::body::to_bytes(req.into_body(), max as usize + 1)
        .await
        .map_err(|_| too_large("the file", max))?;
    let a = state.core.put_attachment_bytes(&actor, id, &bytes).await?;
    Ok(Json(a).into_response())
}

/// The three routes' entries in the OpenAPI document.
pub(crate) fn document_paths(
    paths: utoipa::openapi::path::PathsBuilder,
    schemas: &mut outpost_proto::wire::SchemaList,
) -> utoipa::openapi::path::PathsBuilder {
    use outpost_proto::WireType;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{Content, PathItem, Required, ResponseBuilder};

    let error = <outpost_proto::ApiError as WireType>::describe(schemas);
    let attachment = <outpost_proto::Attachment as WireType>::describe(schemas);
    let list = <Vec<outpost_proto::Attachment> as WireType>::describe(schemas);
    let id = crate::openapi::id_parameter;
    let binary = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build()
    };
    let failures = |mut b: OperationBuilder, codes: &[u16]| {
        for code in codes {
            b = b.response(
                code.to_string(),
                ResponseBuilder::new()
                    .description(crate::openapi::meaning(*code))
                    .content("application/json", Content::new(Some(error.clone())))
                    .build(),
            );
        }
        b.security(SecurityRequirement::new("bearer", Vec::<String>::new()))
    };
    let form = ObjectBuilder::new()
        .property(
            "file",
            utoipa::openapi::schema::ArrayBuilder::new().items(binary()),
        )
        .required("file")
        .property(
            "comment_id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        )
        .build();
    let upload = failures(
        OperationBuilder::new()
            .operation_id(Some("upload_attachments"))
            .summary(Some(
                "Attaches files (multipart form data: 'file' fields, optional 'comment_id'); all or none.",
            ))
            .parameter(id())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("multipart/form-data", Content::new(Some(form)))
                    .build(),
            ))
            .response(
                "201",
                ResponseBuilder::new()
                    .description(crate::openapi::meaning(201))
                    .content("application/json", Content::new(Some(list)))
                    .build(),
            ),
        &[400, 401, 403, 404, 413, 415, 500],
    );
    let download = failures(
        OperationBuilder::new()
            .operation_id(Some("download_attachment"))
            .summary(Some(
                "A file's bytes, as a download (Content-Disposition: attachment, nosniff).",
            ))
            .parameter(id())
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The bytes; Content-Type as decided from them")
                    .content("application/octet-stream", Content::new(Some(binary())))
                    .build(),
            ),
        &[400, 401, 404, 409, 500],
    );
    let put_content = failures(
        OperationBuilder::new()
            .operation_id(Some("put_attachment_content"))
            .summary(Some(
                "The bytes of a file a console attached offline (must match its SHA-256).",
            ))
            .parameter(id())
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/octet-stream", Content::new(Some(binary())))
                    .build(),
            ))
            .response(
                "200",
                ResponseBuilder::new()
                    .description(crate::openapi::meaning(200))
                    .content("application/json", Content::new(Some(attachment)))
                    .build(),
            ),
        &[400, 401, 403, 404, 413, 500],
    );
    paths
        .path(
            "/api/v1/tickets/{id}/attachments",
            PathItem::new(HttpMethod::Post, upload.build()),
        )
        .path(
            "/api/v1/attachments/{id}",
            PathItem::new(HttpMethod::Get, download.build()),
        )
        .path(
            "/api/v1/attachments/{id}/content",
            PathItem::new(HttpMethod::Put, put_content.build()),
        )
}
