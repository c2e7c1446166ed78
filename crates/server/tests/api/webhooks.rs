//! Webhooks end to end: the real sender POSTs to receivers on loopback; one fails twice then
//! accepts, one is down until it is replayed.

use crate::{refused, server, Server};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use outpost_server::senders::{start, SendersConfig};
use outpost_server::webhooks::WebhookConfig;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "a-shared-secret-of-the-receiver";

#[derive(Default)]
struct Receiver {
    /// Every request: (delivery id, event, signature, body).
    seen: Mutex<Vec<(String, String, String, String)>>,
    /// Requests of /flaky so far (the first two fail).
    flaky: AtomicUsize,
    /// Whether /down accepts now.
    up: AtomicBool,
}

async fn record(r: &Receiver, headers: &HeaderMap, body: String) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    r.seen.lock().unwrap().push((
        h("x-outpost-delivery"),
        h("x-outpost-event"),
        h("x-outpost-signature"),
        body,
    ));
}

async fn flaky(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    record(&r, &headers, body).await;
    if r.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn down(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, &'static str) {
    record(&r, &headers, body).await;
    if r.up.load(Ordering::SeqCst) {
        (StatusCode::NO_CONTENT, "")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
    }
}

async fn receiver() -> (String, Arc<Receiver>, Arc<Receiver>) {
    let flaky_state = Arc::new(Receiver::default());
    let down_state = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/flaky", axum::routing::post(flaky))
        .with_state(flaky_state.clone())
        .merge(
            axum::Router::new()
                .route("/down", axum::routing::post(down))
                .with_state(down_state.clone()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), flaky_state, down_state)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn ticket(s: &Server, client: &str, title: &str) -> i64 {
    let t = s
        .ok(s
            .post("/tickets", json!({"title": title, "client_id": client}))
            .await)
        .await;
    t["number"].as_i64().unwrap()
}

fn verified(sig: &str, body: &str) -> bool {
    let now = chrono::Utc::now().timestamp();
    outpost_core::notify::verify(SECRET, sig, body.as_bytes(), now, 300)
}

#[tokio::test]
async fn a_flaky_receiver_gets_each_event_once_in_order_and_a_dead_one_is_replayed() {
    let s = server().await;
    let (base, flaky, down) = receiver().await;
    // Retries after 100 ms, 400 ms, 1.6 s.
    start(
        s.core.clone(),
        SendersConfig {
            plan_every: Duration::from_millis(50),
            webhooks: WebhookConfig {
                tick: Duration::from_millis(50),
                retry_base: Duration::from_millis(100),
                timeout: Duration::from_secs(5),
            },
            ..Default::default()
        },
    );
    let made = s
        .ok(s
            .post(
                "/webhooks",
                json!({"url": format!("{base}/flaky"), "events": ["ticket.created"], "secret": SECRET}),
            )
            .await)
        .await;
    assert_eq!(made["secret"], SECRET);
    let r = s
        .post(
            "/webhooks",
            json!({"url": format!("{base}/down"), "events": ["ticket.created"], "secret": SECRET}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = ticket(&s, &client, "Printer offline").await;
    let second = ticket(&s, &client, "VPN down").await;

    wait_for("the flaky receiver to accept both events", || {
        flaky.seen.lock().unwrap().len() >= 4
    })
    .await;
    let seen = flaky.seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        4,
        "two failures, then each event once: {seen:?}"
    );
    // The first event was tried three times under one delivery id, then the second came.
    assert_eq!(seen[0].0, seen[1].0);
    assert_eq!(seen[1].0, seen[2].0);
    assert_ne!(seen[2].0, seen[3].0);
    let numbers: Vec<i64> = seen
        .iter()
        .map(|(_, event, sig, body)| {
            assert_eq!(event, "ticket.created");
            assert!(verified(sig, body), "bad signature {sig} for {body}");
            let v: Value = serde_json::from_str(body).unwrap();
            v["data"]["number"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(numbers, vec![first, first, first, second]);

    // The receiver that is down: both deliveries end in the dead-letter list, 4 tries each.
    let mut dead = Value::Null;
    for _ in 0..200 {
        dead = s.ok(s.get("/webhooks/dead-letters").await).await;
        if dead.as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let letters = dead.as_array().unwrap();
    assert_eq!(letters.len(), 2, "{dead}");
    assert_eq!(down.seen.lock().unwrap().len(), 8);
    for l in letters {
        assert_eq!(l["attempts"], 4);
        assert_eq!(l["last_status"], 503);
        assert_eq!(l["last_response"], "down for maintenance");
        assert!(l["last_error"].as_str().unwrap().contains("503"), "{l}");
    }
    let hooks = s.ok(s.get("/webhooks").await).await;
    let down_hook = hooks
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["url"].as_str().unwrap().ends_with("/down"))
        .unwrap();
    assert_eq!(down_hook["dead"], 2);
    assert!(
        down_hook.get("secret").is_none(),
        "the secret is shown once"
    );

    // Back up: one replay is delivered with the id it had.
    down.up.store(true, Ordering::SeqCst);
    let replayed = letters[0]["id"].as_str().unwrap().to_string();
    let r = s
        .post(
            &format!("/webhooks/dead-letters/{replayed}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    wait_for("the replay", || down.seen.lock().unwrap().len() >= 9).await;
    let last = down.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, replayed);
    assert!(verified(&last.2, &last.3));
    let dead = s.ok(s.get("/webhooks/dead-letters").await).await;
    assert_eq!(dead.as_array().unwrap().len(), 1);
    let r = s
        .post(
            &format!("/webhooks/dead-letters/{replayed}/replay"),
            json!({}),
        )
        .await;
    refused(r, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_what_to_fix() {
    let s = server().await;
    let own = s.base.trim_end_matches("/api/v1").to_string();
    for (body, says) in [
        (
            json!({"url": "ftp://example.com/", "events": ["ticket.created"]}),
            "http",
        ),
        (
            json!({"url": format!("{own}/hook"), "events": ["ticket.created"]}),
            "itself",
        ),
        (
            json!({"url": "https://example.com/", "events": ["ticket.deleted"]}),
            "ticket.created",
        ),
        (
            json!({"url": "https://example.com/", "events": ["ticket.created"], "secret": 5}),
            "secret",
        ),
    ] {
        let m = refused(
            s.post("/webhooks", body.clone()).await,
            StatusCode::BAD_REQUEST,
            "validation",
        )
        .await;
        assert!(m.contains(says), "{body}: {m}");
    }
    let ok = json!({"url": "https://example.com/h", "events": ["comment.added"]});
    let made = s.ok(s.post("/webhooks", ok.clone()).await).await;
    assert!(made["secret"].as_str().unwrap().starts_with("whsec_"));
    refused(
        s.post("/webhooks", ok).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        s.delete(&format!("/webhooks/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    refused(
        s.delete(&format!("/webhooks/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(s
        .ok(s.get("/webhooks").await)
        .await
        .as_array()
        .unwrap()
        .is_empty());
}
