//! The dashboard over HTTP: the contract's query, the chart with its clickable days, and bad
//! periods refused in words.

use crate::{refused, server};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn the_dashboard_answers_for_a_period_and_refuses_bad_ones_in_words() {
    let s = server().await;
    let client: Value = s
        .ok(s.post("/clients", json!({"name": "Acme"})).await)
        .await;
    for title in ["Printer", "VPN"] {
        s.ok(s
            .post(
                "/tickets",
                json!({"title": title, "client_id": client["id"]}),
            )
            .await)
            .await;
    }
    let today = chrono::Utc::now().date_naive();
    let from = (today - chrono::Duration::days(6)).to_string();
    let to = today.to_string();
    let d: Value = s
        .ok(s
            .get(&format!(
                "/dashboard?from={from}&to={to}&client_id={}",
                client["id"].as_str().unwrap()
            ))
            .await)
        .await;
    assert_eq!(d["opened"], 2);
    assert_eq!(d["days"].as_array().unwrap().len(), 7);
    assert_eq!(d["days"][6]["opened"], 2, "{d}");
    assert_eq!(d["top_clients_by_tickets"][0]["client_name"], "Acme");
    // The chart: an SVG and one region per day, each naming its day.
    let c: Value = s
        .ok(s
            .get(&format!(
                "/dashboard/chart?chart=tickets_per_day&from={from}&to={to}&theme=dark"
            ))
            .await)
        .await;
    assert!(c["svg"].as_str().unwrap().starts_with("<svg"));
    let regions = c["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 7);
    assert_eq!(regions[6]["key"], to.as_str());
    assert!(regions[6]["label"].as_str().unwrap().contains("2 opened"));
    // The console's page: the same figures and all three charts in one answer.
    let all: Value = s
        .ok(s
            .get(&format!(
                "/dashboard/charts?from={from}&to={to}&client_id={}",
                client["id"].as_str().unwrap()
            ))
            .await)
        .await;
    assert_eq!(all["dashboard"], d);
    let kinds: Vec<&str> = all["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["tickets_per_day", "sla_by_priority", "alerts_per_day"]
    );
    // The day a region names filters the queue to what was opened that day.
    let page: Value = s.ok(s.get(&format!("/tickets?opened_on={to}")).await).await;
    assert_eq!(page["total"], 2);
    let before: Value = s
        .ok(s.get(&format!("/tickets?opened_on={from}")).await)
        .await;
    assert_eq!(before["total"], 0);
    // Bad input.
    for (query, says) in [
        (format!("from={to}&to={from}"), "before it starts"),
        ("from=yesterday&to=2026-01-01".to_string(), "YYYY-MM-DD"),
        ("from=2099-01-01&to=2099-01-31".to_string(), "in the future"),
        ("to=2026-01-01".to_string(), "from"),
    ] {
        let m = refused(
            s.get(&format!("/dashboard?{query}")).await,
            StatusCode::BAD_REQUEST,
            "validation",
        )
        .await;
        assert!(m.contains(says), "{query}: {m}");
    }
    let r = s
        .get(&format!(
            "/dashboard?from={from}&to={to}&client_id={}",
            uuid::Uuid::now_v7()
        ))
        .await;
    refused(r, StatusCode::NOT_FOUND, "not_found").await;
    let m = refused(
        s.get("/tickets?opened_on=31.12.2026").await,
        StatusCode::BAD_REQUEST,
        "validation",
    )
    .await;
    assert!(m.contains("opened_on"), "{m}");
}
