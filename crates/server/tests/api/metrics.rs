//! `GET /metrics`, read by Prometheus's own text parser (Python's prometheus_client).

use super::{server, METRICS_TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// The samples Prometheus's parser reads from the text: (name, labels, value).
fn parse(text: &str) -> Vec<(String, serde_json::Map<String, Value>, f64)> {
    let script = "import json,sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out=[]\n\
        for f in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in f.samples: out.append([s.name, s.labels, s.value])\n\
        print(json.dumps(out))";
    let mut py = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    py.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus's parser refused the text (is prometheus_client installed?): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<(String, serde_json::Map<String, Value>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    samples
}

fn value(
    samples: &[(String, serde_json::Map<String, Value>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).and_then(Value::as_str) == Some(v))
        })
        .map(|s| s.2)
}

#[tokio::test]
async fn metrics_need_the_token_and_parse_as_prometheus_text() {
    let s = server().await;
    let root = s.base.replace("/api/v1", "");
    let none = s.http.get(format!("{root}/metrics")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = s
        .http
        .get(format!("{root}/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // An admin's session is not the scraper's token either.
    let session = s
        .http
        .get(format!("{root}/metrics"))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);

    let client = s.post("/clients", json!({"name": "Metrics Dental"})).await;
    assert_eq!(client.status(), StatusCode::CREATED);
    for _ in 0..3 {
        assert_eq!(s.get("/tickets?limit=5").await.status(), StatusCode::OK);
    }
    assert_eq!(
        s.get("/tickets/not-an-id").await.status(),
        StatusCode::BAD_REQUEST
    );
    let scrape = || async {
        let res = s
            .http
            .get(format!("{root}/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        parse(&res.text().await.unwrap())
    };
    let samples = scrape().await;
    let tickets = [
        ("route", "/api/v1/tickets"),
        ("method", "GET"),
        ("status", "200"),
    ];
    // Counters are the process's (other tests' servers share it): at least ours.
    assert!(value(&samples, "outpost_http_requests_total", &tickets).unwrap() >= 3.0);
    assert!(
        value(
            &samples,
            "outpost_http_requests_total",
            &[("route", "/api/v1/tickets/{id}"), ("status", "400")]
        )
        .unwrap()
            >= 1.0,
        "routes are labelled by their pattern, not the path sent"
    );
    let count = value(
        &samples,
        "outpost_http_request_duration_seconds_count",
        &[("route", "/api/v1/tickets")],
    )
    .unwrap();
    let inf = value(
        &samples,
        "outpost_http_request_duration_seconds_bucket",
        &[("route", "/api/v1/tickets"), ("le", "+Inf")],
    )
    .unwrap();
    assert_eq!(count, inf);
    assert!(value(&samples, "outpost_sessions_active", &[]).unwrap() >= 1.0);
    let events = value(&samples, "outpost_audit_events", &[]).unwrap();
    let verified: Value = s.get("/audit/verify").await.json().await.unwrap();
    assert_eq!(events, verified["head_seq"].as_f64().unwrap());
    assert!(value(&samples, "outpost_database_bytes", &[]).unwrap() > 4096.0);
    for family in [
        "outpost_agents_connected",
        "outpost_sync_pushes_total",
        "outpost_sync_pulls_total",
        "outpost_change_log_position",
    ] {
        assert!(
            value(&samples, family, &[]).is_some(),
            "{family} is exported"
        );
    }
    assert!(value(
        &samples,
        "outpost_agent_messages_total",
        &[("kind", "heartbeat")]
    )
    .is_some());
    // A second scrape counts the first.
    let again = scrape().await;
    assert!(
        value(
            &again,
            "outpost_http_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        )
        .unwrap()
            >= 1.0
    );
}
