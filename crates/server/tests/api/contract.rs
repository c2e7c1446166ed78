//! The OpenAPI document against the router: every route it names is served, what the router
//! serves is named, and refused input gets the statuses the document lists (the check itself
//! runs on every answer of every test: see `check_contract` in main.rs).

use crate::{refused, server};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn every_route_in_the_document_is_served_and_answers_as_described() {
    let s = server().await;
    let doc: Value = s.ok(s.get("/openapi.json").await).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{} paths", paths.len());
    let mut calls = 0;
    for (template, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let path = template
                .trim_start_matches("/api/v1")
                .replace("{id}", &uuid::Uuid::now_v7().to_string());
            let url = format!("{}{path}", s.base);
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let needs_session = op["security"].is_array();
            // Without a session first: 401 for every operation that needs one.
            let r = s
                .http
                .request(m.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            if needs_session {
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {template}");
            }
            // Then with one, and a body that is JSON but not what it wants.
            let r = s
                .http
                .request(m, &url)
                .bearer_auth(&s.token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {template}"
            );
            assert!(
                !body.contains("no such API route"),
                "{method} {template} is in the document but not served"
            );
            calls += 1;
        }
    }
    assert!(calls >= 35, "{calls} operations");
    // And what is not in the document is not served.
    let r = s.get("/no-such-thing").await;
    let msg = refused(r, StatusCode::NOT_FOUND, "not_found").await;
    assert!(msg.contains("openapi.json"), "{msg}");
}

#[tokio::test]
async fn every_operation_lists_its_statuses_and_constraints() {
    let s = server().await;
    let doc: Value = s.ok(s.get("/openapi.json").await).await;
    let statuses = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} missing"))
            .keys()
            .cloned()
            .collect()
    };
    let update = statuses("/api/v1/tickets/{id}", "patch");
    for code in [
        "200", "400", "401", "403", "404", "409", "413", "415", "500",
    ] {
        assert!(
            update.contains(&code.to_string()),
            "PATCH /tickets/{{id}} lacks {code}: {update:?}"
        );
    }
    let login = statuses("/api/v1/auth/login", "post");
    for code in ["200", "400", "401", "429"] {
        assert!(
            login.contains(&code.to_string()),
            "login lacks {code}: {login:?}"
        );
    }
    assert!(!statuses("/api/v1/health", "get").contains(&"401".to_string()));
    assert_eq!(
        statuses("/api/v1/tickets", "post")
            .first()
            .map(String::as_str),
        Some("201")
    );
    // Desktop-only operations have no route.
    assert!(doc["paths"]["/api/v1/connect"].is_null());
    // Bodies refuse fields they do not know, so the schema says so.
    let new_ticket = &doc["components"]["schemas"]["NewTicket"];
    assert_eq!(
        new_ticket["additionalProperties"],
        json!(false),
        "{new_ticket}"
    );
    assert!(new_ticket["properties"]["priority"].is_object());
    // The constraints the server enforces are in the document.
    assert_eq!(
        new_ticket["properties"]["title"]["maxLength"], 200,
        "{new_ticket}"
    );
    assert_eq!(
        new_ticket["properties"]["tags"]["maxItems"], 20,
        "{new_ticket}"
    );
    let time = &doc["components"]["schemas"]["NewTimeEntry"]["properties"]["minutes"];
    assert_eq!(
        (time["minimum"].as_i64(), time["maximum"].as_i64()),
        (Some(1), Some(1440))
    );
    let params = doc["paths"]["/api/v1/tickets"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["maximum"], 500, "{limit}");
    assert_eq!(limit["in"], "query");
    // Enums and formats too: a status is one of the six, an id is a UUID.
    let status = &doc["components"]["schemas"]["TicketStatus"]["enum"];
    assert_eq!(status.as_array().map(Vec::len), Some(6), "{status}");
    let id = &doc["paths"]["/api/v1/tickets/{id}"]["get"]["parameters"][0]["schema"];
    assert_eq!(id["format"], "uuid", "{id}");
}

#[tokio::test]
async fn bodies_refuse_fields_they_cannot_set_and_say_which() {
    let s = server().await;
    let client = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    let r = s
        .post(
            "/tickets",
            json!({"title": "Printer", "client_id": client["id"], "status": "resolved"}),
        )
        .await;
    let msg = refused(r, StatusCode::BAD_REQUEST, "validation").await;
    assert!(msg.contains("status"), "{msg}");
    // Nothing was created.
    let queue = s.ok(s.get("/tickets").await).await;
    assert_eq!(queue["total"], 0);
    let t = s
        .ok(s
            .post(
                "/tickets",
                json!({"title": "Printer", "client_id": client["id"]}),
            )
            .await)
        .await;
    let r = s
        .patch(
            &format!("/tickets/{}", t["id"].as_str().unwrap()),
            json!({"colour": "red"}),
        )
        .await;
    let msg = refused(r, StatusCode::BAD_REQUEST, "validation").await;
    assert!(msg.contains("colour"), "{msg}");
    // A wrong type names the field too.
    let r = s
        .post(
            &format!("/tickets/{}/time-entries", t["id"].as_str().unwrap()),
            json!({"minutes": "lots"}),
        )
        .await;
    let msg = refused(r, StatusCode::BAD_REQUEST, "validation").await;
    assert!(msg.contains("minutes"), "{msg}");
    // Unknown query parameters are refused as well, naming the parameter.
    let r = s.get("/tickets?colour=red").await;
    let msg = refused(r, StatusCode::BAD_REQUEST, "validation").await;
    assert!(msg.contains("colour"), "{msg}");
}

#[tokio::test]
async fn bodies_that_are_not_json_or_too_large_get_415_and_413() {
    let s = server().await;
    let r = s
        .http
        .post(format!("{}/clients", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body(r#"{"name": "Acme"}"#)
        .send()
        .await
        .unwrap();
    let msg = refused(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "validation").await;
    assert!(msg.contains("application/json"), "{msg}");
    let huge = json!({"name": "x".repeat(3 * 1024 * 1024)});
    let r = s.post("/clients", huge).await;
    refused(r, StatusCode::PAYLOAD_TOO_LARGE, "validation").await;
    let r = s
        .http
        .post(format!("{}/clients", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let msg = refused(r, StatusCode::BAD_REQUEST, "validation").await;
    assert!(msg.contains("JSON"), "{msg}");
    let clients = s.ok(s.get("/clients").await).await;
    assert_eq!(clients.as_array().unwrap().len(), 0, "nothing stored");
}
