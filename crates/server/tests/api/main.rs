//! The REST API over a real loopback port with a real HTTP client.
//!
//! Every answer any test receives is checked against the OpenAPI document: a status the
//! document does not list for that route, or a served route it does not name, fails the test
//! (see [`Contract`]).

mod agent_app;
mod api_keys;
mod attachments;
mod audit;
mod binary;
mod client_reports;
mod contract;
mod mail;
mod mail_in;
#[path = "../support/mail_servers.rs"]
mod mail_servers;
mod metrics;
mod report_schedules;
mod reports;
mod routes;
mod security;
mod webhooks;

use outpost_core::{Core, SystemClock};
use outpost_server::{app, AppState};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The test servers' `/metrics` token.
pub const METRICS_TOKEN: &str = "scrape-me-please";

pub struct Server {
    pub base: String,
    /// The store behind it (tests start the senders on it).
    pub core: Arc<Core>,
    pub http: Client,
    pub token: String,
    _dir: Arc<tempfile::TempDir>,
    _contract: Arc<ContractGuard>,
}

/// The OpenAPI document and what the server answered that it does not describe.
#[derive(Clone)]
struct Contract {
    doc: Arc<Value>,
    breaches: Arc<Mutex<Vec<String>>>,
}

/// The route template of the document a concrete path matches (`/api/v1/tickets/{id}`).
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let want: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|t| {
            let parts: Vec<&str> = t.split('/').collect();
            parts.len() == want.len()
                && parts
                    .iter()
                    .zip(&want)
                    .all(|(p, w)| p == w || (p.starts_with('{') && p.ends_with('}')))
        })
}

async fn check_contract(
    axum::extract::State(c): axum::extract::State<Contract>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().as_str().to_ascii_lowercase();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let breach = match template(&c.doc, &path) {
        Some(t) => {
            let responses = &c.doc["paths"][t][&method]["responses"];
            if responses.is_null() {
                (res.status() != StatusCode::METHOD_NOT_ALLOWED)
                    .then(|| format!("{method} {t} answered {status} but is not in openapi.json"))
            } else {
                responses[&status].is_null().then(|| {
                    format!("{method} {t} answered {status}, which openapi.json does not list")
                })
            }
        }
        // The document describes the API; `/metrics` and the agent channel live beside it.
        None if !path.starts_with("/api/") => None,
        None if path == "/api/v1/openapi.json" || res.status() == StatusCode::NOT_FOUND => None,
        None => Some(format!(
            "{method} {path} answered {status} but openapi.json has no such route"
        )),
    };
    if let Some(b) = breach {
        c.breaches.lock().unwrap().push(b);
    }
    res
}

/// Fails the test at its end if any answer broke the contract.
struct ContractGuard(Arc<Mutex<Vec<String>>>);

impl Drop for ContractGuard {
    fn drop(&mut self) {
        let breaches = self.0.lock().unwrap();
        if !breaches.is_empty() && !std::thread::panicking() {
            panic!(
                "answers outside the OpenAPI contract:\n{}",
                breaches.join("\n")
            );
        }
    }
}

/// Starts the router on 127.0.0.1:0 over a fresh store with a first admin logged in.
pub async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_dir(dir.path(), Arc::new(SystemClock))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let core = Arc::new(core);
    core.set_own_addresses(vec![(addr.ip().to_string(), addr.port())]);
    // 127.0.0.9 stands for a reverse proxy (the proxy header test).
    let state = AppState {
        core: core.clone(),
        trusted_proxies: Arc::new(vec!["127.0.0.9".parse().unwrap()]),
        metrics_token: Some(Arc::from(METRICS_TOKEN)),
    };
    let contract = Contract {
        doc: Arc::new(serde_json::to_value(outpost_server::openapi::document()).unwrap()),
        breaches: Arc::default(),
    };
    let guard = Arc::new(ContractGuard(contract.breaches.clone()));
    let router = app(state, None).layer(axum::middleware::from_fn_with_state(
        contract,
        check_contract,
    ));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
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
        core,
        http,
        token,
        _dir: Arc::new(dir),
        _contract: guard,
    }
}

impl Server {
    /// The same server, for another session (set `token`).
    pub fn clone_base(&self) -> Server {
        Server {
            base: self.base.clone(),
            core: self.core.clone(),
            http: self.http.clone(),
            token: String::new(),
            _dir: self._dir.clone(),
            _contract: self._contract.clone(),
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
    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
    pub async fn delete(&self, path: &str) -> Response {
        self.http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
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
