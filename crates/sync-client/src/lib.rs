//! A console's side of sync over HTTP: [`HttpTransport`] carries `outpost-core`'s push and
//! pull to a server's `/api/v1/sync/*`, and [`server_login`] gets a session from a server.
//! The sync rules themselves live in `outpost-core::sync`; this crate only moves bytes.

use outpost_core::sync::{SyncTransport, TransportError};
use outpost_proto::SYNC_GENERATION;
use outpost_proto::{
    ApiError, EntityChecksum, LoginRequest, PullPage, PushRequest, PushResponse, Session,
    SnapshotPage,
};
mod tls;

pub use tls::server_fingerprint;

pub struct HttpTransport {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// `http://host:port` (with or without a trailing slash or `/api/v1`) to the API root.
pub fn api_root(server_url: &str) -> String {
    let trimmed = server_url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
    format!("{trimmed}/api/v1")
}

/// Turns a failed response into words a technician can act on.
async fn failure(r: reqwest::Response) -> TransportError {
    let status = r.status();
    match r.json::<ApiError>().await {
        Ok(e) if e.code == "sync_gap" => TransportError::Gap {
            expected: e.expected_seq.unwrap_or(1),
        },
        Ok(e) if e.code == "replica_reused" => TransportError::ReplicaReused,
        Ok(e) => TransportError::Other(format!("the server refused ({status}): {}", e.message)),
        Err(_) => TransportError::Other(format!("the server answered {status}")),
    }
}

fn offline(e: reqwest::Error) -> TransportError {
    if let Some(words) = tls::mismatch(&e) {
        TransportError::Other(words)
    } else if e.is_connect() || e.is_timeout() {
        TransportError::Offline("no connection to the server".into())
    } else {
        TransportError::Other(format!("talking to the server failed: {e}"))
    }
}

impl HttpTransport {
    /// `fingerprint`: the server certificate this console pinned (https), if any.
    pub fn new(server_url: &str, token: &str, fingerprint: Option<&str>) -> Result<Self, String> {
        Ok(HttpTransport {
            base: api_root(server_url),
            token: token.to_string(),
            http: tls::client(fingerprint)?,
        })
    }
}

impl HttpTransport {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        route: &str,
        query: &[(&str, String)],
    ) -> Result<T, TransportError> {
        let r = self
            .http
            .get(format!("{}{route}", self.base))
            .query(query)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(offline)?;
        if !r.status().is_success() {
            return Err(failure(r).await);
        }
        r.json().await.map_err(offline)
    }
}

impl HttpTransport {
    /// One series of an endpoint's metrics, from the server (consoles keep no history of
    /// their own: they fetch it when online and cache what they saw).
    pub async fn asset_metrics(
        &self,
        asset: uuid::Uuid,
        q: &outpost_proto::MetricsQuery,
    ) -> Result<outpost_proto::MetricHistory, TransportError> {
        let mut query = vec![("series", q.series.as_str().to_string())];
        if let Some(f) = q.from {
            query.push(("from", f.to_rfc3339()));
        }
        if let Some(t) = q.to {
            query.push(("to", t.to_rfc3339()));
        }
        self.get(&format!("/assets/{asset}/metrics"), &query).await
    }

    /// A file's bytes, from the server (a console fetches them when someone opens the file).
    pub async fn attachment_bytes(&self, id: uuid::Uuid) -> Result<Vec<u8>, TransportError> {
        let r = self
            .http
            .get(format!("{}/attachments/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(offline)?;
        if !r.status().is_success() {
            return Err(failure(r).await);
        }
        Ok(r.bytes().await.map_err(offline)?.to_vec())
    }

    /// Sends the bytes of a file attached on this console (after its row was pushed).
    pub async fn put_attachment_bytes(
        &self,
        id: uuid::Uuid,
        bytes: Vec<u8>,
    ) -> Result<(), TransportError> {
        let r = self
            .http
            .put(format!("{}/attachments/{id}/content", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .map_err(offline)?;
        if !r.status().is_success() {
            return Err(failure(r).await);
        }
        Ok(())
    }
}

/// Sends the bytes of every file attached on this console that its server does not hold yet
/// (their rows go with the push first, so the server knows what the bytes must hash to).
/// Returns how many were sent; a file the server refuses is reported and tried again next
/// round.
pub async fn upload_attachments(
    core: &outpost_core::Core,
    link: &HttpTransport,
) -> Result<usize, TransportError> {
    let pending = core
        .attachments_to_upload()
        .await
        .map_err(|e| TransportError::Other(e.to_string()))?;
    let mut sent = 0;
    for (id, sha) in pending {
        let Some(bytes) = core
            .attachment_bytes(&sha)
            .map_err(|e| TransportError::Other(e.to_string()))?
        else {
            continue; // not here (never were): nothing to send
        };
        link.put_attachment_bytes(id, bytes).await?;
        core.attachment_uploaded(id)
            .await
            .map_err(|e| TransportError::Other(e.to_string()))?;
        sent += 1;
    }
    Ok(sent)
}

/// Why a forwarded call did not answer.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The server could not be reached.
    Offline(String),
    /// The server answered with an error (passed on to the console's user as it is).
    Refused(ApiError),
}

impl HttpTransport {
    /// Any operation of the server's API, by its route: what a console asks its server for
    /// when the answer lives there (the script library, runs, trust material).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, CallError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| CallError::Offline(e.to_string()))?;
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(b);
        }
        let r = r.send().await.map_err(|e| match offline(e) {
            TransportError::Offline(m) | TransportError::Other(m) => CallError::Offline(m),
            other => CallError::Offline(format!("{other:?}")),
        })?;
        let status = r.status();
        if status.is_success() {
            if status == reqwest::StatusCode::NO_CONTENT {
                return Ok(serde_json::Value::Null);
            }
            return r.json().await.map_err(|e| {
                CallError::Offline(format!("the server's answer is unreadable: {e}"))
            });
        }
        Err(CallError::Refused(r.json::<ApiError>().await.unwrap_or(
            ApiError {
                code: "internal".into(),
                message: format!("the server answered {status}"),
                expected_seq: None,
            },
        )))
    }
}

impl SyncTransport for HttpTransport {
    async fn push(&self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        let r = self
            .http
            .post(format!("{}/sync/push", self.base))
            .bearer_auth(&self.token)
            .json(req)
            .send()
            .await
            .map_err(offline)?;
        if !r.status().is_success() {
            return Err(failure(r).await);
        }
        r.json().await.map_err(offline)
    }

    async fn pull(&self, after: i64, limit: i64) -> Result<PullPage, TransportError> {
        let query = [
            ("after", after.to_string()),
            ("limit", limit.to_string()),
            ("sync", SYNC_GENERATION.to_string()),
        ];
        self.get("/sync/pull", &query).await
    }

    async fn pull_entity(
        &self,
        entity: &str,
        after: i64,
        limit: i64,
    ) -> Result<PullPage, TransportError> {
        let query = [
            ("after", after.to_string()),
            ("limit", limit.to_string()),
            ("entity", entity.to_string()),
            ("sync", SYNC_GENERATION.to_string()),
        ];
        self.get("/sync/pull", &query).await
    }

    async fn checksums(&self) -> Result<Vec<EntityChecksum>, TransportError> {
        self.get("/sync/checksums", &[("sync", SYNC_GENERATION.to_string())])
            .await
    }

    async fn snapshot(
        &self,
        entity: &str,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<SnapshotPage, TransportError> {
        let mut query = vec![("entity", entity.to_string()), ("limit", limit.to_string())];
        if let Some(a) = after {
            query.push(("after", a.to_string()));
        }
        self.get("/sync/snapshot", &query).await
    }
}

/// Why a server login failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    /// The server could not be reached: a console may fall back to its local login.
    Unreachable(String),
    /// The server answered and refused (wrong password, locked, not an Outpost server).
    Refused(String),
}

impl std::fmt::Display for LoginFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginFailure::Unreachable(m) | LoginFailure::Refused(m) => f.write_str(m),
        }
    }
}

/// Logs in to a server (pinned to `fingerprint` when given); the error says what to fix
/// (address, password, reachability, a changed certificate).
pub async fn server_login(
    server_url: &str,
    fingerprint: Option<&str>,
    req: &LoginRequest,
) -> Result<Session, LoginFailure> {
    let r = tls::client(fingerprint)
        .map_err(LoginFailure::Refused)?
        .post(format!("{}/auth/login", api_root(server_url)))
        .json(req)
        .send()
        .await
        .map_err(|e| {
            if let Some(words) = tls::mismatch(&e) {
                LoginFailure::Refused(words)
            } else if e.is_connect() || e.is_timeout() {
                LoginFailure::Unreachable(format!(
                    "cannot reach {server_url}; check the address and that the server runs"
                ))
            } else {
                LoginFailure::Unreachable(format!("talking to {server_url} failed: {e}"))
            }
        })?;
    if r.status().is_success() {
        return r.json().await.map_err(|e| {
            LoginFailure::Refused(format!("{server_url} is not an Outpost server ({e})"))
        });
    }
    match r.json::<ApiError>().await {
        Ok(e) => Err(LoginFailure::Refused(e.message)),
        Err(_) => Err(LoginFailure::Refused(format!(
            "{server_url} is not an Outpost server"
        ))),
    }
}
