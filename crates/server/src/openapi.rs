//! The OpenAPI document, made from the operation table: every route, its input, its answer
//! and every status it can give (see `Operation::statuses`).

use outpost_core::api::{self, Access, Method, Operation, Success};
use outpost_proto::wire::SchemaList;
use outpost_proto::WireType;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Required,
    ResponseBuilder,
};

fn http_method(m: Method) -> HttpMethod {
    match m {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

/// What each status means, for people reading the document.
pub(crate) fn meaning(status: u16) -> &'static str {
    match status {
        200 => "Done",
        201 => "Created",
        204 => "Done; no body",
        400 => "The input is not valid; the message names what to fix",
        401 => "No session, or it expired: log in (POST /api/v1/auth/login)",
        403 => "This person's role or client scope does not allow it",
        404 => "No such record (or not one of this person's clients)",
        409 => "Clashes with the current state (the message says how)",
        413 => "The body is too large",
        415 => "The body is not JSON",
        429 => "Too many attempts; wait and try again",
        500 => "The store failed; nothing was changed",
        503 => "A service this needs is unavailable",
        _ => "See the message",
    }
}

/// The `{id}` path segment: a UUID.
pub(crate) fn id_parameter() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ))
        .build()
}

fn operation(op: &Operation, schemas: &mut SchemaList) -> utoipa::openapi::path::Operation {
    let mut b = OperationBuilder::new()
        .operation_id(Some(op.name))
        .summary(Some(op.summary));
    if op.shape.has_id() {
        b = b.parameter(id_parameter());
    }
    if let Some(params) = op.query_params {
        b = b.parameters(Some(params()));
    }
    if op.shape.has_body() {
        if let Some(input) = op.input {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        Content::new(Some((input.schema)(schemas))),
                    )
                    .build(),
            ));
        }
    }
    let error = <outpost_proto::ApiError as WireType>::describe(schemas);
    for status in op.statuses() {
        let mut r = ResponseBuilder::new().description(meaning(status));
        if status == op.success.status() {
            if op.success != Success::NoContent {
                r = r.content(
                    "application/json",
                    Content::new(Some((op.output.schema)(schemas))),
                );
            }
        } else {
            r = r.content("application/json", Content::new(Some(error.clone())));
        }
        b = b.response(status.to_string(), r.build());
    }
    if op.access != Access::Public {
        b = b.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    b.build()
}

/// The document `GET /api/v1/openapi.json` serves.
pub fn document() -> OpenApi {
    let mut schemas = SchemaList::new();
    let mut paths = PathsBuilder::new();
    for op in api::operations() {
        let Some(route) = op.route else { continue };
        let item = PathItem::new(http_method(route.method), operation(op, &mut schemas));
        paths = paths.path(format!("/api/v1{}", route.path), item);
    }
    paths = crate::attachments::document_paths(paths, &mut schemas);
    paths = crate::reports::document_paths(paths, &mut schemas);
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for (name, schema) in schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Outpost API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The Outpost MSP console: service desk, fleet and sync.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}
