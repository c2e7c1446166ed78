//! The REST API over a real loopback port with a real HTTP client.

mod binary;
mod routes;

use outpost_core::{Core, SystemClock};
use outpost_server::{app, AppState};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct Server {
    pub base: String,
    pub http: Client,
    pub token: String,
    _dir: Arc<tempfile::TempDir>,
}

/// Starts the router on 127.0.0.1:0 over a fresh store with a first admin logged in.
pub async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_dir(dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState {
        core: Arc::new(core),
    };
    tokio::spawn(async move { axum::serve(listener, app(state, None)).await.unwrap() });
    let base = format!("http://{addr}/api/v1");
    let http = Client::new();
    let session: Value = http
        .post(format!("{base}/setup"))
        .json(&json!({"username": "ada", "display_name": "Ada", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"]
        .as_str()
        .expect("setup returns a token")
        .to_string();
    Server {
        base,
        http,
        token,
        _dir: Arc::new(dir),
    }
}

impl Server {
    /// The same server, for another session (set `token`).
    pub fn clone_base(&self) -> Server {
        Server {
            base: self.base.clone(),
            http: self.http.clone(),
            token: String::new(),
            _dir: self._dir.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn ok(&self, r: Response) -> Value {
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body
    }
}

/// Asserts an error status with the typed body `{code, message}` and returns the message.
pub async fn refused(r: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(r.status(), status);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap().to_string();
    assert!(!message.is_empty());
    message
}
