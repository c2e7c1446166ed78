use crate::{refused, server, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn health_is_open_and_everything_else_needs_a_token() {
    let s = server().await;
    let h: Value = s
        .http
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    let r = s
        .http
        .get(format!("{}/tickets", s.base))
        .send()
        .await
        .unwrap();
    let msg = refused(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(msg.contains("Bearer"), "{msg}");
    let r = s
        .http
        .get(format!("{}/tickets", s.base))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    refused(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn login_returns_a_bearer_token() {
    let s = server().await;
    let r = s
        .http
        .post(format!("{}/auth/login", s.base))
        .json(&json!({"username": "ada", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let session: Value = s.ok(r).await;
    let token = session["token"].as_str().unwrap();
    let me: Value = s
        .http
        .get(format!("{}/me", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "ada");
    let r = s
        .http
        .post(format!("{}/auth/login", s.base))
        .json(&json!({"username": "ada", "password": "nope"}))
        .send()
        .await
        .unwrap();
    refused(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_ticket_lives_through_the_api() {
    let s = server().await;
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let client_id = client["id"].as_str().unwrap();
    let t = s
        .ok(s
            .post(
                "/tickets",
                json!({"title": "Printer jams", "client_id": client_id, "priority": "high"}),
            )
            .await)
        .await;
    assert_eq!(t["number"], 1001);
    assert_eq!(t["status"], "new");
    let id = t["id"].as_str().unwrap();
    s.ok(s
        .post(
            &format!("/tickets/{id}/comments"),
            json!({"body": "Replaced the fuser unit"}),
        )
        .await)
        .await;
    s.ok(s
        .post(
            &format!("/tickets/{id}/time-entries"),
            json!({"minutes": 45, "billable": true}),
        )
        .await)
        .await;
    let u = s
        .ok(s
            .patch(
                &format!("/tickets/{id}"),
                json!({"status": "in_progress", "tags": ["printing"]}),
            )
            .await)
        .await;
    assert_eq!(u["status"], "in_progress");
    let detail = s.ok(s.get(&format!("/tickets/{id}")).await).await;
    assert_eq!(detail["ticket"]["billable_minutes"], 45);
    assert_eq!(detail["comments"][0]["body"], "Replaced the fuser unit");
    let page = s
        .ok(s.get("/tickets?q=fuser&status=in_progress&limit=10").await)
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], id);
    let none = s.ok(s.get("/tickets?q=fuser&status=closed").await).await;
    assert_eq!(none["total"], 0);
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn bad_input_gets_a_typed_4xx_and_changes_nothing() {
    let s = server().await;
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let cid = client["id"].as_str().unwrap();
    let malformed = s
        .http
        .post(format!("{}/tickets", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    refused(malformed, StatusCode::BAD_REQUEST, "validation").await;
    let msg = refused(
        s.post("/tickets", json!({"title": "", "client_id": cid}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("title"), "{msg}");
    refused(
        s.post(
            "/tickets",
            json!({"title": "x".repeat(201), "client_id": cid}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    let unknown = refused(
        s.post(
            "/tickets",
            json!({"title": "ok", "client_id": "01234567-89ab-7def-8123-456789abcdef"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(unknown.contains("does not exist"), "{unknown}");
    refused(
        s.post(
            "/tickets",
            json!({"title": "ok", "client_id": cid, "priority": "urgent"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert_eq!(
        s.ok(s.get("/tickets").await).await["total"],
        0,
        "refused creates left nothing"
    );

    let t = s
        .ok(s
            .post("/tickets", json!({"title": "ok", "client_id": cid}))
            .await)
        .await;
    let id = t["id"].as_str().unwrap();
    let neg = refused(
        s.post(
            &format!("/tickets/{id}/time-entries"),
            json!({"minutes": -30}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(neg.contains("positive"), "{neg}");
    s.ok(s
        .patch(&format!("/tickets/{id}"), json!({"status": "open"}))
        .await)
        .await;
    refused(
        s.patch(&format!("/tickets/{id}"), json!({"status": "new"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    s.ok(s
        .patch(&format!("/tickets/{id}"), json!({"status": "closed"}))
        .await)
        .await;
    refused(
        s.patch(
            &format!("/tickets/{id}"),
            json!({"status": "open", "title": "sneaky"}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let after = s.ok(s.get(&format!("/tickets/{id}")).await).await;
    assert_eq!(
        after["ticket"]["title"], "ok",
        "a refused edit is not half-applied"
    );
    assert_eq!(after["ticket"]["total_minutes"], 0);
    refused(
        s.get("/tickets/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    refused(
        s.get("/tickets/01234567-89ab-7def-8123-456789abcdef").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    refused(
        s.get("/tickets?limit=abc").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    refused(
        s.get("/tickets?limit=100000").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    refused(
        s.get("/no-such-route").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    refused(
        s.post("/clients", json!({"name": "acme"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn sites_and_contacts_are_edited_with_patch() {
    let s = server().await;
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let cid = client["id"].as_str().unwrap();
    let site = s
        .ok(s
            .post(&format!("/clients/{cid}/sites"), json!({"name": "HQ"}))
            .await)
        .await;
    let sid = site["id"].as_str().unwrap();
    let edited = s
        .ok(s
            .patch(&format!("/sites/{sid}"), json!({"address": "1 Main St"}))
            .await)
        .await;
    assert_eq!(
        (edited["name"].as_str(), edited["address"].as_str()),
        (Some("HQ"), Some("1 Main St"))
    );
    refused(
        s.patch(&format!("/sites/{sid}"), json!({"timezone": "Mars/Base"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    let contact = s
        .ok(s
            .post(
                &format!("/clients/{cid}/contacts"),
                json!({"name": "Jo", "site_id": sid}),
            )
            .await)
        .await;
    let kid = contact["id"].as_str().unwrap();
    let moved = s
        .ok(s
            .patch(
                &format!("/contacts/{kid}"),
                json!({"site_id": null, "phone": "+44 1"}),
            )
            .await)
        .await;
    assert_eq!(moved["site_id"], Value::Null);
    assert_eq!(moved["phone"], "+44 1");
    refused(
        s.patch(&format!("/contacts/{kid}"), json!({"email": "nope"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let s = server().await;
    let doc = s
        .ok(s
            .http
            .get(format!("{}/openapi.json", s.base))
            .send()
            .await
            .unwrap())
        .await;
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/tickets/{id}/comments",
        "/api/v1/tickets/{id}/time-entries",
        "/api/v1/clients",
        "/api/v1/auth/login",
        "/api/v1/health",
        "/api/v1/sla-policy",
        "/api/v1/views/{id}",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
    }
    assert!(doc["components"]["schemas"]["Ticket"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn setup_is_refused_once_an_admin_exists() {
    let s = server().await;
    let r = s
        .http
        .post(format!("{}/setup", s.base))
        .json(&json!({"username": "eve", "display_name": "Eve", "password": "takeover123"}))
        .send()
        .await
        .unwrap();
    refused(r, StatusCode::CONFLICT, "conflict").await;
    let state = s
        .ok(s
            .http
            .get(format!("{}/setup", s.base))
            .send()
            .await
            .unwrap())
        .await;
    assert_eq!(state["needs_admin"], false);
}

#[tokio::test]
async fn an_admin_limits_a_technician_to_some_clients() {
    let s = server().await;
    let acme = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let globex = s
        .ok(s.post("/clients", json!({"name": "Globex"})).await)
        .await;
    for (c, title) in [(&acme, "Acme printer"), (&globex, "Globex VPN")] {
        s.ok(s
            .post("/tickets", json!({"title": title, "client_id": c["id"]}))
            .await)
            .await;
    }
    let tess = s
        .ok(s
            .post(
                "/users",
                json!({"username": "tess", "display_name": "Tess", "role": "technician",
                       "password": "tess password"}),
            )
            .await)
        .await;
    let put = |path: String, body: Value, token: String| {
        let http = s.http.clone();
        let url = format!("{}{path}", s.base);
        async move {
            http.put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let scope_path = format!("/users/{}/clients", tess["id"].as_str().unwrap());
    let msg = refused(
        put(scope_path.clone(), json!({"clients": []}), s.token.clone()).await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("at least one client"), "{msg}");
    refused(
        put(
            scope_path.clone(),
            json!({"clients": "Acme"}),
            s.token.clone(),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    let user = s
        .ok(put(
            scope_path.clone(),
            json!({"clients": [acme["id"]]}),
            s.token.clone(),
        )
        .await)
        .await;
    assert_eq!(user["clients"], json!([acme["id"]]));
    // Tess logs in and sees Acme only, in lists, the queue, the sync feed and snapshots.
    let session = s
        .ok(s
            .post(
                "/auth/login",
                json!({"username": "tess", "password": "tess password"}),
            )
            .await)
        .await;
    assert_eq!(session["user"]["clients"], json!([acme["id"]]));
    let tess_s = Server {
        token: session["token"].as_str().unwrap().to_string(),
        ..s.clone_base()
    };
    let clients = tess_s.ok(tess_s.get("/clients").await).await;
    assert_eq!(clients.as_array().unwrap().len(), 1);
    let queue = tess_s.ok(tess_s.get("/tickets").await).await;
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["title"], "Acme printer");
    let pull = tess_s.ok(tess_s.get("/sync/pull?after=0").await).await;
    let titles: Vec<&str> = pull["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "ticket")
        .filter_map(|c| c["fields"]["title"].as_str())
        .collect();
    assert_eq!(titles, vec!["Acme printer"]);
    assert_eq!(pull["scope"], json!([acme["id"]]));
    let snap = tess_s
        .ok(tess_s.get("/sync/snapshot?entity=ticket&limit=10").await)
        .await;
    assert_eq!(snap["records"].as_array().unwrap().len(), 1);
    refused(
        tess_s.get("/sync/snapshot?entity=invoice").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    // Only admins set scopes.
    refused(
        put(scope_path, json!({"clients": null}), tess_s.token.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let globex_get = tess_s
        .get(&format!("/clients/{}", globex["id"].as_str().unwrap()))
        .await;
    refused(globex_get, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn assets_live_through_the_api_and_bad_input_gets_a_typed_4xx() {
    let s = server().await;
    let acme = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let created = s
        .post(
            "/assets",
            json!({"client_id": acme["id"], "name": "ACME-SRV-01", "kind": "server",
                   "os": "Windows Server 2022"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let asset: Value = created.json().await.unwrap();
    let id = asset["id"].as_str().unwrap().to_string();
    let edited = s
        .ok(s
            .patch(&format!("/assets/{id}"), json!({"serial": "CZ1234"}))
            .await)
        .await;
    assert_eq!(
        (edited["serial"].as_str(), edited["os"].as_str()),
        (Some("CZ1234"), Some("Windows Server 2022"))
    );
    let page = s.ok(s.get("/assets?kind=server&q=srv").await).await;
    assert_eq!(page["total"], 1);
    let msg = refused(
        s.post(
            "/assets",
            json!({"client_id": acme["id"], "name": "x", "kind": "toaster"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(msg.contains("kind"), "{msg}");
    refused(
        s.post(
            "/assets",
            json!({"client_id": acme["id"], "name": "", "kind": "laptop"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    refused(
        s.get("/assets?limit=0").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    refused(
        s.get("/assets/01234567-89ab-7def-8123-456789abcdef").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let page = s.ok(s.get("/assets").await).await;
    assert_eq!(page["total"], 1, "nothing half-made");
}

/// Consoles of the landed version (sync generation 1) keep syncing with this server: they
/// are not sent record types they do not know (status moves), nor asked to compare them.
#[tokio::test]
async fn consoles_of_an_older_sync_generation_get_only_what_they_know() {
    let s = server().await;
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let t = s
        .ok(s
            .post(
                "/tickets",
                json!({"title": "Printer", "client_id": client["id"]}),
            )
            .await)
        .await;
    let id = t["id"].as_str().unwrap();
    s.ok(s
        .patch(
            &format!("/tickets/{id}"),
            json!({"status": "waiting_on_client"}),
        )
        .await)
        .await;
    let kinds = |page: &Value| -> Vec<String> {
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["entity"].as_str().unwrap().to_string())
            .collect()
    };
    let old = s.ok(s.get("/sync/pull?after=0").await).await;
    assert!(!kinds(&old).contains(&"status_move".to_string()), "{old}");
    assert!(kinds(&old).contains(&"ticket".to_string()));
    let new = s.ok(s.get("/sync/pull?after=0&sync=2").await).await;
    assert!(kinds(&new).contains(&"status_move".to_string()), "{new}");
    // The cursor moves past what an old console is not sent.
    assert_eq!(old["next_cursor"], new["next_cursor"]);
    let names = |sums: &Value| -> Vec<String> {
        sums.as_array()
            .unwrap()
            .iter()
            .map(|c| c["entity"].as_str().unwrap().to_string())
            .collect()
    };
    let old_sums = s.ok(s.get("/sync/checksums").await).await;
    assert!(!names(&old_sums).contains(&"status_move".to_string()));
    let new_sums = s.ok(s.get("/sync/checksums?sync=2").await).await;
    assert!(names(&new_sums).contains(&"status_move".to_string()));
    let r = s.get("/sync/pull?after=0&entity=status_move").await;
    refused(r, StatusCode::BAD_REQUEST, "validation").await;
}
