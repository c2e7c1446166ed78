//! How an operation's input and output types are named in the two generated contracts: the
//! OpenAPI document (a schema, by reference for named types) and the TypeScript client.
//!
//! Implemented for every type listed in `wire_types!` (lib.rs), plus lists of them and `()`
//! (an answer with no body).

use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::RefOr;

/// Schemas collected for the OpenAPI document's `components`.
pub type SchemaList = Vec<(String, RefOr<Schema>)>;

pub trait WireType {
    /// The schema for this type (a `$ref` for named types), adding what it refers to.
    fn describe(schemas: &mut SchemaList) -> RefOr<Schema>;
    /// The TypeScript type, as written in `ui/src/lib/types.ts`.
    fn ts_name() -> String;
}

impl WireType for () {
    fn describe(_: &mut SchemaList) -> RefOr<Schema> {
        utoipa::openapi::schema::empty().into()
    }
    fn ts_name() -> String {
        "null".into()
    }
}

impl WireType for String {
    fn describe(_: &mut SchemaList) -> RefOr<Schema> {
        <String as utoipa::PartialSchema>::schema()
    }
    fn ts_name() -> String {
        "string".into()
    }
}

impl<T: WireType> WireType for Vec<T> {
    fn describe(schemas: &mut SchemaList) -> RefOr<Schema> {
        ArrayBuilder::new().items(T::describe(schemas)).into()
    }
    fn ts_name() -> String {
        format!("{}[]", T::ts_name())
    }
}

/// A named type: its schema goes into `components`, the operation refers to it.
pub fn named<T: utoipa::ToSchema>(schemas: &mut SchemaList) -> RefOr<Schema> {
    let name = T::name().to_string();
    if !schemas.iter().any(|(n, _)| *n == name) {
        schemas.push((name.clone(), T::schema()));
        T::schemas(schemas);
    }
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}
