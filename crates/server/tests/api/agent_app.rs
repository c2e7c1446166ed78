//! What a desktop console serves as a one-office MSP's gateway: agents enroll and connect,
//! and nothing else of the API is reachable from the network.

use outpost_core::{Core, SystemClock};
use outpost_server::gateway::{Gateway, GatewayConfig};
use outpost_server::{agent_app, AppState};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn the_agent_app_serves_enrollment_and_the_channel_only() {
    let dir = tempfile::tempdir().unwrap();
    let core = Arc::new(
        Core::open_dir(dir.path(), Arc::new(SystemClock))
            .await
            .unwrap(),
    );
    let gateway = Gateway::start(core.clone(), GatewayConfig::default());
    let router = agent_app(AppState::new(core), &gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The console's own routes are not there, logged in or not.
    for path in [
        "/api/v1/tickets",
        "/api/v1/setup",
        "/api/v1/assets",
        "/api/v1/sync/pull",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} is served");
    }
    let r = http
        .post(format!("{base}/api/v1/agent/enroll"))
        .json(
            &json!({"token": "opt_nope", "machine_fingerprint": "ab".repeat(32),
                      "public_key": "cd".repeat(32), "hostname": "pc", "os": "Linux",
                      "agent_version": "0.1.0"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{base}{}", outpost_proto::AGENT_CHANNEL_PATH))
        .header("authorization", "Bearer nobody:nothing")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "an unknown agent is refused before the upgrade"
    );
}
