//! The audit log over HTTP: admins page and filter it and verify the chain.

use super::server;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn admins_page_the_audit_log_and_verify_it_and_technicians_cannot() {
    let s = server().await;
    for name in ["Acme", "Globex", "Initech"] {
        let r = s.post("/clients", json!({"name": name})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let page: Value = s
        .get("/audit?action=client.&limit=2")
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["after"]["name"], "Initech", "newest first");
    assert_eq!(items[0]["actor_name"], "Ada");
    let next = page["next_before_seq"].as_i64().expect("a next page");
    let rest: Value = s
        .get(&format!("/audit?action=client.&limit=2&before_seq={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["after"]["name"], "Acme");
    assert!(rest["next_before_seq"].is_null());

    let bad = s.get("/audit?from=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let said: Value = bad.json().await.unwrap();
    assert!(said["message"].as_str().unwrap().contains("from"), "{said}");

    let v: Value = s.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(v["intact"], true);
    assert!(v["events"].as_i64().unwrap() >= 4);
    assert_eq!(v["head_seq"], v["events"]);

    let made = s
        .post(
            "/users",
            json!({"username": "tess", "display_name": "Tess", "role": "technician",
                   "password": "technician-1"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let session: Value = s
        .http
        .post(format!("{}/auth/login", s.base))
        .json(&json!({"username": "tess", "password": "technician-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tess = s.clone_base();
    tess.token = session["token"].as_str().unwrap().to_string();
    assert_eq!(tess.get("/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        tess.get("/audit/verify").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn admins_set_scheduled_backups_over_http_with_clear_refusals() {
    let s = server().await;
    let away = tempfile::tempdir().unwrap();
    let bad = s
        .put(
            "/settings/backups",
            json!({"enabled": true, "folder": "relative/dir", "every_hours": 24, "keep": 7}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let said: Value = bad.json().await.unwrap();
    assert!(
        said["message"].as_str().unwrap().contains("absolute path"),
        "{said}"
    );
    let folder = away.path().join("nightly").display().to_string();
    let ok = s
        .put(
            "/settings/backups",
            json!({"enabled": true, "folder": folder, "every_hours": 24, "keep": 7}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let back: Value = s.get("/settings/backups").await.json().await.unwrap();
    assert_eq!(
        (back["enabled"].as_bool(), back["keep"].as_i64()),
        (Some(true), Some(7))
    );
    assert_eq!(back["folder"], folder);
    // The server's senders make it within their next look.
    s.core
        .run_backup_schedule()
        .await
        .unwrap()
        .expect("due at once");
    let back: Value = s.get("/settings/backups").await.json().await.unwrap();
    assert!(
        back["last_file"].as_str().unwrap().starts_with(&folder),
        "{back}"
    );
}
