//! API keys: made once, scoped, attributed in the audit log, rate-limited, revocable.

use super::server;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn an_api_key_acts_in_its_scope_is_audited_limited_and_revoked() {
    let s = server().await;
    let acme: Value = s
        .post("/clients", json!({"name": "Acme"}))
        .await
        .json()
        .await
        .unwrap();
    let globex: Value = s
        .post("/clients", json!({"name": "Globex"}))
        .await
        .json()
        .await
        .unwrap();
    let made = s
        .post(
            "/api-keys",
            json!({"name": "Billing sync", "role": "technician", "clients": [acme["id"]],
                   "expires_in_days": 30, "rate_per_minute": 5}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let key = made["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("opk_") && key.len() == 68, "{key}");
    assert_eq!(made["api_key"]["prefix"], &key[..12]);
    // Listed without the key itself.
    let list = s.get("/api-keys").await.text().await.unwrap();
    assert!(
        list.contains("Billing sync") && !list.contains(&key[12..]),
        "{list}"
    );

    let mut k = s.clone_base();
    k.token = key.clone();
    let seen: Value = k.get("/clients").await.json().await.unwrap();
    let names: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme"], "only its clients");
    let t = k
        .post(
            "/tickets",
            json!({"title": "Invoice run failed", "client_id": acme["id"]}),
        )
        .await;
    assert_eq!(t.status(), StatusCode::CREATED);
    let t: Value = t.json().await.unwrap();
    let other = k
        .post("/tickets", json!({"title": "x", "client_id": globex["id"]}))
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let audit: Value = s
        .get(&format!("/audit?entity_id={}", t["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["actor_name"], "API key: Billing sync");
    // A technician's key cannot make keys (and an admin's key cannot either, below).
    assert_eq!(
        k.post("/api-keys", json!({"name": "x", "role": "admin"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Five requests a minute: the next waits, told how long.
    let mut limited = None;
    for _ in 0..5 {
        let r = k.get("/clients").await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the key ran past its rate");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("over its 5 requests per minute"),
        "{body}"
    );

    let revoked = s
        .delete(&format!(
            "/api-keys/{}",
            made["api_key"]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let r = k.get("/clients").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("'Billing sync' was revoked"),
        "{body}"
    );
    let mut unknown = s.clone_base();
    unknown.token = format!("opk_{}", "0".repeat(64));
    assert_eq!(
        unknown.get("/clients").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // An admin's key may do admin work, but not manage keys.
    let admin_key: Value = s
        .post("/api-keys", json!({"name": "Automation", "role": "admin"}))
        .await
        .json()
        .await
        .unwrap();
    let mut a = s.clone_base();
    a.token = admin_key["key"].as_str().unwrap().to_string();
    assert_eq!(a.get("/audit?limit=1").await.status(), StatusCode::OK);
    let r = a
        .post("/api-keys", json!({"name": "Another", "role": "viewer"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // API keys are not people in Settings → Users.
    let users = s.get("/users").await.text().await.unwrap();
    assert!(!users.contains("API key:"), "{users}");
}

#[tokio::test]
async fn bad_api_key_requests_say_what_to_fix() {
    let s = server().await;
    s.post("/api-keys", json!({"name": "Taken", "role": "viewer"}))
        .await;
    for (body, status, words) in [
        (
            json!({"name": "", "role": "viewer"}),
            400,
            "name must be 1 to 100 characters",
        ),
        (json!({"name": "A", "role": "boss"}), 400, "role"),
        (
            json!({"name": "A", "role": "viewer", "expires_in_days": 0}),
            400,
            "expires_in_days must be between 1 and 3650",
        ),
        (
            json!({"name": "A", "role": "viewer", "rate_per_minute": 0}),
            400,
            "rate_per_minute must be between 1 and 100000",
        ),
        (
            json!({"name": "A", "role": "viewer", "clients": ["00000000-0000-7000-8000-000000000001"]}),
            404,
            "does not exist",
        ),
        (
            json!({"name": "Taken", "role": "viewer"}),
            409,
            "exists; choose another name",
        ),
    ] {
        let r = s.post("/api-keys", body.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
        let said: Value = r.json().await.unwrap();
        assert!(
            said["message"].as_str().unwrap().contains(words),
            "{body}: {said}"
        );
    }
}
