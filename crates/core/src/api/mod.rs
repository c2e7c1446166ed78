//! One declaration per operation: everything the UI or a client can do, declared once in
//! [`operations`] with its name, HTTP method and path, input and output types, who may call
//! it and the core function behind it.
//!
//! From this table come the axum routes and the OpenAPI document (outpost-server), the
//! desktop transport (one Tauri command that dispatches by name) and the TypeScript client
//! (`cargo xtask gen` writes `ui/src/lib/api.ts`). Operations the desktop app alone performs
//! (the OS keyring, its server connection) are declared here too, without a route; the web
//! console refuses them in words.

mod operations;
mod typescript;

pub use operations::operations;
pub use typescript::typescript_client;

use crate::{Actor, Core, CoreError, CoreResult};
use outpost_proto::wire::SchemaList;
use outpost_proto::WireType;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use uuid::Uuid;

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a session (health, first-run setup, login).
    Public,
    /// Anyone logged in, viewers included.
    User,
    /// Technicians and admins (viewers are refused with 403).
    Writer,
    /// Admins only.
    Admin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The answer to a call that worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Success {
    /// 200 with the output.
    Ok,
    /// 201 with the new record.
    Created,
    /// 204, no body.
    NoContent,
}

impl Success {
    pub fn status(self) -> u16 {
        match self {
            Success::Ok => 200,
            Success::Created => 201,
            Success::NoContent => 204,
        }
    }
}

/// How an operation's input arrives: over HTTP the id is the `{id}` path segment, the body
/// is JSON and the query is the query string; in the desktop app all of them are arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Nothing,
    Id,
    Body,
    IdBody,
    Query,
    /// The record's id and a query (one series of an endpoint's metrics).
    IdQuery,
}

impl Shape {
    pub fn has_id(self) -> bool {
        matches!(self, Shape::Id | Shape::IdBody | Shape::IdQuery)
    }
    pub fn has_body(self) -> bool {
        matches!(self, Shape::Body | Shape::IdBody)
    }
    pub fn has_query(self) -> bool {
        matches!(self, Shape::Query | Shape::IdQuery)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// Under `/api/v1`, with `{id}` for the record's id.
    pub path: &'static str,
}

/// An input or output type, as the two generated contracts name it.
#[derive(Clone, Copy)]
pub struct TypeInfo {
    pub ts: fn() -> String,
    pub schema: fn(&mut SchemaList) -> RefOr<Schema>,
}

impl TypeInfo {
    fn of<T: WireType>() -> TypeInfo {
        TypeInfo {
            ts: T::ts_name,
            schema: T::describe,
        }
    }
}

/// What a transport hands an operation.
#[derive(Debug, Default)]
pub struct Request {
    /// The session token, when the caller has one.
    pub token: Option<String>,
    pub id: Option<Uuid>,
    pub input: Input,
}

#[derive(Debug, Default)]
pub enum Input {
    #[default]
    None,
    /// A body, or (desktop) the query as an object.
    Json(Value),
    /// An HTTP query string, without the `?`.
    Query(String),
}

/// Who is calling: the person behind the session (absent for public operations).
pub struct Caller {
    actor: Option<Actor>,
    pub token: Option<String>,
    /// The network address the request came from (None: this device, the desktop app).
    pub address: Option<std::net::IpAddr>,
    /// What the client called itself (`User-Agent`), for the person's list of sessions.
    pub device: Option<String>,
}

impl Caller {
    pub fn actor(&self) -> CoreResult<&Actor> {
        self.actor
            .as_ref()
            .ok_or_else(|| CoreError::Unauthorized("log in first".into()))
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Runner = Arc<dyn Fn(Arc<Core>, Caller, Request) -> BoxFuture<CoreResult<Value>> + Send + Sync>;

pub struct Operation {
    /// snake_case; the desktop command name and, in camelCase, the TypeScript method.
    pub name: &'static str,
    /// One line for people: the OpenAPI summary and the TypeScript doc comment.
    pub summary: &'static str,
    /// None: only the desktop app performs it.
    pub route: Option<Route>,
    pub access: Access,
    pub shape: Shape,
    pub success: Success,
    /// The body or query type.
    pub input: Option<TypeInfo>,
    /// The query string's parameters (query operations).
    pub query_params: Option<fn() -> Vec<Parameter>>,
    pub output: TypeInfo,
    /// Statuses it can answer besides those its shape and access imply.
    pub also: &'static [u16],
    /// Changes data, so a console's sync state moves.
    pub writes: bool,
    /// Only the server answers it (what consoles call on their server to sync); the desktop
    /// app refuses it.
    pub server_only: bool,
    run: Option<Runner>,
}

impl Operation {
    /// Every status this operation can answer: its success, 400 for input it refuses, 401
    /// without a session (429 for an API key past its rate), 403 for a role that may not, 404 for an id, 413/415 for a body,
    /// 500 when the store fails, and what it declares besides.
    pub fn statuses(&self) -> Vec<u16> {
        let mut s = vec![self.success.status(), 500];
        if self.shape != Shape::Nothing {
            s.push(400);
        }
        if self.access != Access::Public {
            // 429: an API key past its rate.
            s.extend([401, 429]);
        }
        if matches!(self.access, Access::Writer | Access::Admin) {
            s.push(403);
        }
        if self.shape.has_id() {
            s.push(404);
        }
        if self.shape.has_body() {
            s.extend([413, 415]);
        }
        s.extend_from_slice(self.also);
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Only the desktop app performs it (there is no route).
    pub fn desktop_only(&self) -> bool {
        self.route.is_none()
    }

    /// The core performs it (false for the desktop app's own operations).
    pub fn in_core(&self) -> bool {
        self.run.is_some()
    }

    /// The caller, checked against [`Operation::access`].
    pub async fn caller(&self, core: &Core, token: Option<String>) -> CoreResult<Caller> {
        let actor = match self.access {
            Access::Public => None,
            access => {
                let t = token
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| CoreError::Unauthorized("log in first".into()))?;
                let actor = core.authenticate(t).await?;
                match access {
                    Access::Writer => actor.require_write()?,
                    Access::Admin => actor.require_admin()?,
                    _ => {}
                }
                Some(actor)
            }
        };
        Ok(Caller {
            actor,
            token,
            address: None,
            device: None,
        })
    }

    /// Checks the caller, then runs the core function.
    pub async fn call(&self, core: Arc<Core>, req: Request) -> CoreResult<Value> {
        let caller = self.caller(&core, req.token.clone()).await?;
        self.call_as(core, caller, req).await
    }

    /// Runs the core function for a caller already checked with [`Operation::caller`].
    pub async fn call_as(
        &self,
        core: Arc<Core>,
        caller: Caller,
        req: Request,
    ) -> CoreResult<Value> {
        let run = self.run.clone().ok_or_else(|| {
            CoreError::Unavailable(format!(
                "'{}' is done by the desktop app itself, not by the core",
                self.name
            ))
        })?;
        run(core, caller, req).await
    }
}

/// The declared operation of that name.
pub fn find(name: &str) -> Option<&'static Operation> {
    operations().iter().find(|o| o.name == name)
}

fn invalid(msg: String) -> CoreError {
    CoreError::Validation(msg)
}

/// A body, refused with the path of the field that is wrong (`tags[2]: invalid type …`,
/// `unknown field 'status'`).
pub fn decode_body<T: DeserializeOwned>(input: Input) -> CoreResult<T> {
    match input {
        Input::Json(v) => serde_path_to_error::deserialize(v)
            .map_err(|e| invalid(format!("the request body is not valid: {e}"))),
        Input::Query(_) | Input::None => Err(invalid(
            "the request needs a JSON body (Content-Type: application/json)".into(),
        )),
    }
}

/// A query: an HTTP query string, or (desktop) an object.
pub fn decode_query<T: DeserializeOwned>(input: Input) -> CoreResult<T> {
    let text = match input {
        Input::Json(v) => {
            return serde_path_to_error::deserialize(v)
                .map_err(|e| invalid(format!("the query is not valid: {e}")))
        }
        Input::Query(q) => q,
        Input::None => String::new(),
    };
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(text.as_bytes()));
    serde_path_to_error::deserialize(de)
        .map_err(|e| invalid(format!("the query string is not valid: {e}")))
}

fn need_id(req: &Request) -> CoreResult<Uuid> {
    req.id
        .ok_or_else(|| invalid("this operation needs the record's id".into()))
}

fn encode<O: Serialize>(out: O) -> CoreResult<Value> {
    serde_json::to_value(out).map_err(|e| CoreError::Internal(format!("answer not encodable: {e}")))
}

/// Builds one [`Operation`]; see `operations.rs`.
pub(crate) struct Builder {
    name: &'static str,
    summary: &'static str,
    route: Option<Route>,
    access: Access,
    success: Success,
    also: &'static [u16],
    server_only: bool,
    /// A desktop-only operation that writes records (attaching a file as base64).
    desktop_write: bool,
}

pub(crate) fn op(name: &'static str, summary: &'static str) -> Builder {
    Builder {
        name,
        summary,
        route: None,
        access: Access::User,
        success: Success::Ok,
        also: &[],
        server_only: false,
        desktop_write: false,
    }
}

impl Builder {
    fn at(mut self, method: Method, path: &'static str) -> Self {
        self.route = Some(Route { method, path });
        self
    }
    pub fn get(self, path: &'static str) -> Self {
        self.at(Method::Get, path)
    }
    pub fn post(self, path: &'static str) -> Self {
        self.at(Method::Post, path)
    }
    pub fn put(self, path: &'static str) -> Self {
        self.at(Method::Put, path)
    }
    pub fn patch(self, path: &'static str) -> Self {
        self.at(Method::Patch, path)
    }
    pub fn delete(self, path: &'static str) -> Self {
        self.at(Method::Delete, path)
    }
    pub fn public(mut self) -> Self {
        self.access = Access::Public;
        self
    }
    pub fn writer(mut self) -> Self {
        self.access = Access::Writer;
        self
    }
    pub fn admin(mut self) -> Self {
        self.access = Access::Admin;
        self
    }
    pub fn created(mut self) -> Self {
        self.success = Success::Created;
        self
    }
    pub fn no_content(mut self) -> Self {
        self.success = Success::NoContent;
        self
    }
    /// Only the server answers it (the sync endpoints consoles call).
    pub fn server(mut self) -> Self {
        self.server_only = true;
        self
    }
    /// A desktop-only operation that writes records, so a console's sync state moves.
    pub fn desktop_write(mut self) -> Self {
        self.desktop_write = true;
        self
    }
    /// Statuses besides those implied (409 conflict, 429 throttled, 503 unavailable…).
    pub fn also(mut self, statuses: &'static [u16]) -> Self {
        self.also = statuses;
        self
    }

    fn finish(
        self,
        shape: Shape,
        input: Option<TypeInfo>,
        query_params: Option<fn() -> Vec<Parameter>>,
        output: TypeInfo,
        run: Option<Runner>,
    ) -> Operation {
        // Desktop-only operations (a sync round, connecting) move no records of their own.
        let writes = self.desktop_write
            || (self.access != Access::Public
                && self.route.is_some_and(|r| r.method != Method::Get));
        Operation {
            name: self.name,
            summary: self.summary,
            route: self.route,
            access: self.access,
            shape,
            success: self.success,
            input,
            query_params,
            output,
            also: self.also,
            writes,
            server_only: self.server_only,
            run,
        }
    }

    /// No input.
    pub fn run<O, F, Fut>(self, f: F) -> Operation
    where
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, _req| {
            let f = f.clone();
            Box::pin(async move { encode(f(core, caller).await?) })
        });
        self.finish(Shape::Nothing, None, None, TypeInfo::of::<O>(), Some(run))
    }

    /// The record's id.
    pub fn id<O, F, Fut>(self, f: F) -> Operation
    where
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller, Uuid) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, req| {
            let f = f.clone();
            Box::pin(async move {
                let id = need_id(&req)?;
                encode(f(core, caller, id).await?)
            })
        });
        self.finish(Shape::Id, None, None, TypeInfo::of::<O>(), Some(run))
    }

    /// A JSON body.
    pub fn body<T, O, F, Fut>(self, f: F) -> Operation
    where
        T: DeserializeOwned + WireType + Send + 'static,
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, req| {
            let f = f.clone();
            Box::pin(async move {
                let body = decode_body::<T>(req.input)?;
                encode(f(core, caller, body).await?)
            })
        });
        let input = Some(TypeInfo::of::<T>());
        self.finish(Shape::Body, input, None, TypeInfo::of::<O>(), Some(run))
    }

    /// The record's id and a JSON body.
    pub fn id_body<T, O, F, Fut>(self, f: F) -> Operation
    where
        T: DeserializeOwned + WireType + Send + 'static,
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller, Uuid, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, req| {
            let f = f.clone();
            Box::pin(async move {
                let id = need_id(&req)?;
                let body = decode_body::<T>(req.input)?;
                encode(f(core, caller, id, body).await?)
            })
        });
        let input = Some(TypeInfo::of::<T>());
        self.finish(Shape::IdBody, input, None, TypeInfo::of::<O>(), Some(run))
    }

    /// A query (filters, a page).
    pub fn query<T, O, F, Fut>(self, f: F) -> Operation
    where
        T: DeserializeOwned + WireType + utoipa::IntoParams + Send + 'static,
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, req| {
            let f = f.clone();
            Box::pin(async move {
                let query = decode_query::<T>(req.input)?;
                encode(f(core, caller, query).await?)
            })
        });
        let params: fn() -> Vec<Parameter> = || T::into_params(|| Some(ParameterIn::Query));
        let input = Some(TypeInfo::of::<T>());
        self.finish(
            Shape::Query,
            input,
            Some(params),
            TypeInfo::of::<O>(),
            Some(run),
        )
    }

    /// The record's id and a query.
    pub fn id_query<T, O, F, Fut>(self, f: F) -> Operation
    where
        T: DeserializeOwned + WireType + utoipa::IntoParams + Send + 'static,
        O: Serialize + WireType + 'static,
        F: Fn(Arc<Core>, Caller, Uuid, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CoreResult<O>> + Send + 'static,
    {
        let f = Arc::new(f);
        let run: Runner = Arc::new(move |core, caller, req| {
            let f = f.clone();
            Box::pin(async move {
                let id = need_id(&req)?;
                let query = decode_query::<T>(req.input)?;
                encode(f(core, caller, id, query).await?)
            })
        });
        let params: fn() -> Vec<Parameter> = || T::into_params(|| Some(ParameterIn::Query));
        let input = Some(TypeInfo::of::<T>());
        self.finish(
            Shape::IdQuery,
            input,
            Some(params),
            TypeInfo::of::<O>(),
            Some(run),
        )
    }

    /// Performed by the desktop app itself (keyring, its server connection): declared here so
    /// the TypeScript client and the web console's refusal come from the table too.
    pub fn desktop<T: WireType, O: WireType>(self, shape: Shape) -> Operation {
        let input = matches!(
            shape,
            Shape::Body | Shape::IdBody | Shape::Query | Shape::IdQuery
        )
        .then(TypeInfo::of::<T>);
        self.finish(shape, input, None, TypeInfo::of::<O>(), None)
    }
}
