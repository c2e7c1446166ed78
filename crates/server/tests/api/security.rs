//! Login throttling by client address (real connections from different loopback addresses)
//! and the headers every answer carries.

use super::server;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::net::IpAddr;

/// A client whose connections come from `addr` (any 127.0.0.0/8 address reaches loopback).
fn from(addr: &str) -> Client {
    Client::builder()
        .local_address(addr.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login(
    http: &Client,
    base: &str,
    password: &str,
    forwarded: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = http
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "bob", "password": password}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn with_bob() -> super::Server {
    let s = server().await;
    let made = s
        .post(
            "/users",
            json!({"username": "bob", "display_name": "Bob", "role": "technician",
                   "password": "bob's right password"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    s
}

#[tokio::test]
async fn guesses_from_one_address_do_not_stop_the_right_password_from_another() {
    let s = with_bob().await;
    let guesser = from("127.0.0.2");
    for _ in 0..5 {
        let (status, _, body) = login(&guesser, &s.base, "guess", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // The guessing address now waits, even with the right password (no oracle)...
    let (status, retry, body) = login(&guesser, &s.base, "bob's right password", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
    let secs: u64 = retry.expect("Retry-After is sent").parse().unwrap();
    assert!((1..=30).contains(&secs), "{secs}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("try again in {secs} seconds")),
        "{body}"
    );
    // ...but Bob at his own desk is let in.
    let (status, _, body) = login(&from("127.0.0.3"), &s.base, "bob's right password", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["token"].as_str().is_some());
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_anyone_else_cannot() {
    let s = with_bob().await;
    // 127.0.0.9 is the test server's trusted proxy: the client it names is counted.
    let proxy = from("127.0.0.9");
    for _ in 0..5 {
        let (status, ..) = login(&proxy, &s.base, "guess", Some("198.51.100.7")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, ..) = login(
        &proxy,
        &s.base,
        "bob's right password",
        Some("198.51.100.7"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the named client waits"
    );
    // A client may prepend anything; only the entry the proxy added counts.
    let (status, ..) = login(
        &proxy,
        &s.base,
        "bob's right password",
        Some("198.51.100.7, 203.0.113.20"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another client behind the same proxy"
    );

    // An untrusted peer's header is ignored: changing it does not dodge the count.
    let direct = from("127.0.0.4");
    for i in 0..5 {
        let (status, ..) = login(&direct, &s.base, "guess", Some(&format!("10.0.0.{i}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, ..) = login(&direct, &s.base, "bob's right password", Some("10.0.0.99")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_api_answers_are_not_cached() {
    let s = server().await;
    let answers = [
        (s.get("/health").await, true),
        (s.get("/tickets").await, true),
        (s.get("/no/such/route").await, true),
        (
            s.http.get(format!("{}/me", s.base)).send().await.unwrap(),
            true,
        ),
        (
            s.http
                .get(s.base.replace("/api/v1", "/tickets/some-console-page"))
                .send()
                .await
                .unwrap(),
            false,
        ),
    ];
    for (res, api) in answers {
        let h = res.headers();
        let url = res.url().to_string();
        let csp = h["content-security-policy"].to_str().unwrap();
        for rule in [
            "default-src 'self'",
            "script-src 'self';",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(rule), "{url}: {csp} lacks {rule}");
        }
        assert!(!csp.contains("unsafe-eval"), "{url}");
        assert_eq!(h["x-frame-options"], "DENY", "{url}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{url}");
        assert_eq!(
            h.get("cache-control").map(|v| v.to_str().unwrap()),
            api.then_some("no-store"),
            "{url}"
        );
        // Plain HTTP on loopback: HSTS belongs to HTTPS answers only.
        assert!(h.get("strict-transport-security").is_none(), "{url}");
    }
}

#[tokio::test]
async fn people_see_their_sessions_with_device_and_address_and_end_any() {
    let s = with_bob().await;
    let login_as = |addr: &str, agent: &str| {
        let http = Client::builder()
            .local_address(addr.parse::<IpAddr>().unwrap())
            .user_agent(agent)
            .build()
            .unwrap();
        let base = s.base.clone();
        async move {
            let v: Value = http
                .post(format!("{base}/auth/login"))
                .json(&json!({"username": "bob", "password": "bob's right password"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["token"].as_str().unwrap().to_string()
        }
    };
    let laptop = login_as("127.0.0.5", "Firefox on the office laptop").await;
    let phone = login_as("127.0.0.6", "Safari on a phone").await;
    let mut bob = s.clone_base();
    bob.token = laptop.clone();
    let list: Value = bob.get("/me/sessions").await.json().await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let find = |device: &str| list.iter().find(|x| x["device"] == device).unwrap().clone();
    let (l, p) = (
        find("Firefox on the office laptop"),
        find("Safari on a phone"),
    );
    assert_eq!(
        (l["address"].as_str(), l["current"].as_bool()),
        (Some("127.0.0.5"), Some(true))
    );
    assert_eq!(
        (p["address"].as_str(), p["current"].as_bool()),
        (Some("127.0.0.6"), Some(false))
    );
    assert!(l["last_used_at"].is_string());

    // Ada cannot end Bob's session; Bob ends the phone's, which stops at once.
    let theirs = s
        .delete(&format!("/me/sessions/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let ended = bob
        .delete(&format!("/me/sessions/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let mut on_phone = s.clone_base();
    on_phone.token = phone;
    assert_eq!(on_phone.get("/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bob.get("/me").await.status(),
        StatusCode::OK,
        "the laptop goes on"
    );
    let again = bob
        .delete(&format!("/me/sessions/{}", p["id"].as_str().unwrap()))
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}
