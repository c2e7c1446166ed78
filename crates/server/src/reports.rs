//! Client service reports over HTTP, and the typesetter every host installs in its core.
//!
//! The routes whose bodies are files, not JSON, live here beside the operation table (like the
//! attachment routes): `GET /reports/clients/{client_id}?from&to&format=pdf|csv[&table=]` (the
//! report), `GET /reports/history/{id}` (a kept one) and `GET /billing/export` (the billing
//! CSV). The JSON operations (preview, settings, schedules, branding) are in the table.
//! Typst, from `outpost-report`, lays out the PDF; [`install`] gives it to a core.

use crate::{bearer, ApiFailure, AppState};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use outpost_core::reports::client::{PrintJob, Typesetter};
use outpost_core::Core;
use outpost_proto::ClientReportFileQuery;
use std::sync::Arc;
use uuid::Uuid;

/// Typst as the core's typesetter.
pub struct Typst;

fn document(job: &PrintJob) -> outpost_report::Document {
    use chrono::Datelike;
    outpost_report::Document {
        template: outpost_report::Template::ClientReport,
        data: job.data.clone(),
        files: job.files.clone(),
        made_on: (
            job.made_on.year(),
            job.made_on.month() as u8,
            job.made_on.day() as u8,
        ),
    }
}

impl Typesetter for Typst {
    fn client_report_pdf(&self, job: &PrintJob) -> Result<Vec<u8>, String> {
        outpost_report::pdf(&document(job)).map_err(|e| e.to_string())
    }
    fn client_report_pages(
        &self,
        job: &PrintJob,
        limit: usize,
    ) -> Result<(Vec<String>, usize), String> {
        outpost_report::pages_svg(&document(job), limit).map_err(|e| e.to_string())
    }
    fn check_image(&self, bytes: &[u8]) -> Result<(), String> {
        outpost_report::check_image(bytes).map_err(|e| e.to_string())
    }
}

/// Lets `core` print reports (every host calls this once: server, CLI, desktop app).
pub fn install(core: &Core) {
    core.set_typesetter(Arc::new(Typst));
}

pub(crate) fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/reports/clients/{id}", get(client_report_file)),
        ("/reports/history/{id}", get(kept_report_file)),
        ("/billing/export", get(billing_export)),
    ]
}

/// The billing export as CSV (admins).
async fn billing_export(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let actor = caller(&state, &headers).await?;
    let q: outpost_proto::BillingExportQuery = outpost_core::api::decode_query(
        outpost_core::api::Input::Query(query.unwrap_or_default()),
    )?;
    let (name, csv) = state.core.billing_export(&actor, &q).await?;
    Ok(file_response(&name, "text/csv; charset=utf-8", csv))
}

/// A file as a download (never shown in the browser), not cached.
fn file_response(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut res = Response::new(Body::from(bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        crate::attachments::disposition(name),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<outpost_core::Actor, ApiFailure> {
    let token = bearer(headers).ok_or_else(|| {
        ApiFailure::new(
            StatusCode::UNAUTHORIZED,
            "log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/login"
                .into(),
        )
    })?;
    Ok(state.core.authenticate(&token).await?)
}

fn path_id(raw: &str, what: &str) -> Result<Uuid, ApiFailure> {
    Uuid::parse_str(raw).map_err(|_| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            format!("'{raw}' is not a valid {what} id (a UUID)"),
        )
    })
}

/// A kept report (from the history) as its PDF.
async fn kept_report_file(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let actor = caller(&state, &headers).await?;
    let id = path_id(&raw, "report")?;
    let (name, pdf) = state.core.report_history_file(&actor, id).await?;
    Ok(file_response(&name, "application/pdf", pdf))
}

async fn client_report_file(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiFailure> {
    let actor = caller(&state, &headers).await?;
    let client = path_id(&raw, "client")?;
    let q: ClientReportFileQuery = outpost_core::api::decode_query(
        outpost_core::api::Input::Query(query.unwrap_or_default()),
    )?;
    let (name, content_type, bytes) = state.core.client_report_file(&actor, client, &q).await?;
    Ok(file_response(&name, content_type, bytes))
}

/// The route's entry in the OpenAPI document.
pub(crate) fn document_paths(
    paths: utoipa::openapi::path::PathsBuilder,
    schemas: &mut outpost_proto::wire::SchemaList,
) -> utoipa::openapi::path::PathsBuilder {
    use outpost_proto::WireType;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{Content, PathItem, Required, ResponseBuilder};

    let error = <outpost_proto::ApiError as WireType>::describe(schemas);
    let text = |enumerated: &[&str]| {
        let mut b = ObjectBuilder::new().schema_type(Type::String);
        if !enumerated.is_empty() {
            b = b.enum_values(Some(enumerated.iter().copied()));
        }
        b.build()
    };
    let query = |name: &str, required: bool, about: &str, schema| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(about))
            .schema(Some(schema))
            .build()
    };
    let client_id = ParameterBuilder::new()
        .name("client_id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .build(),
        ))
        .build();
    let binary = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build()
    };
    let mut op = OperationBuilder::new()
        .operation_id(Some("client_report_file"))
        .summary(Some(
            "A client's service report for a period: the PDF, or one of its tables as CSV \
             (UTF-8 with BOM, formula cells neutralised).",
        ))
        .parameter(client_id)
        .parameter(query(
            "from",
            true,
            "First day, YYYY-MM-DD (the client's time zone).",
            text(&[]),
        ))
        .parameter(query(
            "to",
            true,
            "Last day, YYYY-MM-DD (included).",
            text(&[]),
        ))
        .parameter(query(
            "format",
            false,
            "pdf (default) or csv.",
            text(&["pdf", "csv"]),
        ))
        .parameter(query(
            "table",
            false,
            "With format=csv: which table.",
            text(&["tickets", "time", "endpoints", "alerts"]),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The file, as a download")
                .content("application/pdf", Content::new(Some(binary())))
                .content("text/csv; charset=utf-8", Content::new(Some(text(&[]))))
                .build(),
        );
    for code in [400u16, 401, 403, 404, 500, 503] {
        op = op.response(
            code.to_string(),
            ResponseBuilder::new()
                .description(crate::openapi::meaning(code))
                .content("application/json", Content::new(Some(error.clone())))
                .build(),
        );
    }
    let op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    let mut kept = OperationBuilder::new()
        .operation_id(Some("kept_report_file"))
        .summary(Some(
            "A kept report (from a client's report history) as its PDF.",
        ))
        .parameter(crate::openapi::id_parameter())
        .response(
            "200",
            ResponseBuilder::new()
                .description("The PDF, as a download")
                .content("application/pdf", Content::new(Some(binary())))
                .build(),
        );
    for code in [400u16, 401, 404, 500] {
        kept = kept.response(
            code.to_string(),
            ResponseBuilder::new()
                .description(crate::openapi::meaning(code))
                .content("application/json", Content::new(Some(error.clone())))
                .build(),
        );
    }
    let kept = kept.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    let mut billing = OperationBuilder::new()
        .operation_id(Some("billing_export"))
        .summary(Some(
            "Billable time of a period priced (rates, rounding, minimum from Settings → Billing) \
             as CSV: UTF-8 with BOM, one row per time entry (admins).",
        ))
        .parameter(query("from", true, "First day, YYYY-MM-DD.", text(&[])))
        .parameter(query(
            "to",
            true,
            "Last day, YYYY-MM-DD (included).",
            text(&[]),
        ))
        .parameter(query(
            "client_id",
            false,
            "One client (its days in its time zone); every client when absent.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The CSV, as a download")
                .content("text/csv; charset=utf-8", Content::new(Some(text(&[]))))
                .build(),
        );
    for code in [400u16, 401, 403, 404, 500] {
        billing = billing.response(
            code.to_string(),
            ResponseBuilder::new()
                .description(crate::openapi::meaning(code))
                .content("application/json", Content::new(Some(error.clone())))
                .build(),
        );
    }
    let billing = billing.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    paths
        .path(
            "/api/v1/reports/clients/{client_id}",
            PathItem::new(HttpMethod::Get, op.build()),
        )
        .path(
            "/api/v1/reports/history/{id}",
            PathItem::new(HttpMethod::Get, kept.build()),
        )
        .path(
            "/api/v1/billing/export",
            PathItem::new(HttpMethod::Get, billing.build()),
        )
}
