//! `GET /metrics` in the Prometheus text format: requests by route, method and status with
//! latency histograms, agent messages by kind, and what the store holds now (sessions,
//! queues, its size, the audit chain's length). Off unless the server is given a token
//! (`--metrics-token`); a scraper sends it as `Authorization: Bearer TOKEN`.
//!
//! The counters are the process's (one registry, as Prometheus clients keep it).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Latency {
    /// Counts per bucket (not cumulative; summed when written).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Kinds of message an agent sends.
pub const AGENT_MESSAGE_KINDS: [&str; 4] = ["heartbeat", "inventory", "run", "trust"];

#[derive(Default)]
pub struct Registry {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Latency>>,
    agent_messages: [AtomicU64; AGENT_MESSAGE_KINDS.len()],
}

pub static METRICS: LazyLock<Registry> = LazyLock::new(Registry::default);

impl Registry {
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let l = latency.entry(route.to_string()).or_default();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            l.buckets[i] += 1;
        }
        l.count += 1;
        l.sum += seconds;
    }

    /// One message of this kind from an agent.
    pub fn agent_message(&self, kind: &str) {
        if let Some(i) = AGENT_MESSAGE_KINDS.iter().position(|&k| k == kind) {
            self.agent_messages[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests answered on one route (any method and status).
    fn requests_on(&self, route: &str) -> u64 {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((r, _, _), _)| r == route)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Counts every answer by the route it matched (`unmatched` for the rest: the console's
/// files, unknown paths), so labels stay few whatever paths clients send.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    METRICS.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Label values: backslash, quote and newline escaped as the format asks.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.metrics_token.as_deref() else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are off: start the server with --metrics-token TOKEN (or \
             OUTPOST_METRICS_TOKEN) and scrape with 'Authorization: Bearer TOKEN'",
        )
            .into_response();
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            "send the metrics token: 'Authorization: Bearer TOKEN'",
        )
            .into_response();
    }
    let figures = match state.core.operating_figures().await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read the store");
            return (StatusCode::SERVICE_UNAVAILABLE, "the store cannot be read").into_response();
        }
    };
    let mut out = String::new();
    family(
        &mut out,
        "outpost_build_info",
        "gauge",
        "The running version.",
    );
    let _ = writeln!(
        out,
        "outpost_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    family(
        &mut out,
        "outpost_http_requests_total",
        "counter",
        "HTTP requests answered, by route, method and status.",
    );
    for ((route, method, status), n) in METRICS
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = writeln!(
            out,
            "outpost_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
            label(route)
        );
    }
    family(
        &mut out,
        "outpost_http_request_duration_seconds",
        "histogram",
        "Time to answer, by route.",
    );
    for (route, l) in METRICS
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let route = label(route);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(l.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "outpost_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "outpost_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            l.count
        );
        let _ = writeln!(
            out,
            "outpost_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            l.sum
        );
        let _ = writeln!(
            out,
            "outpost_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
            l.count
        );
    }
    for (name, route, help) in [
        (
            "outpost_sync_pushes_total",
            "/api/v1/sync/push",
            "Sync pushes consoles made.",
        ),
        (
            "outpost_sync_pulls_total",
            "/api/v1/sync/pull",
            "Sync pulls consoles made.",
        ),
    ] {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", METRICS.requests_on(route));
    }
    family(
        &mut out,
        "outpost_agent_messages_total",
        "counter",
        "Messages agents sent, by kind (rate() of heartbeats is heartbeats per second).",
    );
    for (kind, n) in AGENT_MESSAGE_KINDS.iter().zip(&METRICS.agent_messages) {
        let _ = writeln!(
            out,
            "outpost_agent_messages_total{{kind=\"{kind}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    for (name, help, value) in [
        (
            "outpost_sessions_active",
            "Sessions not yet expired.",
            figures.sessions_active,
        ),
        (
            "outpost_agents_connected",
            "Agents connected to the gateway now.",
            figures.agents_connected,
        ),
        (
            "outpost_database_bytes",
            "The store file and its write-ahead log.",
            figures.database_bytes,
        ),
        (
            "outpost_audit_events",
            "The audit chain's length.",
            figures.audit_events,
        ),
        (
            "outpost_change_log_position",
            "The sync log's newest position.",
            figures.change_log,
        ),
    ] {
        family(&mut out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    for (name, help, rows) in [
        (
            "outpost_outbox_mails",
            "Mail in the outbox, by state.",
            &figures.outbox,
        ),
        (
            "outpost_webhook_deliveries",
            "Webhook deliveries, by state.",
            &figures.webhook_deliveries,
        ),
        (
            "outpost_script_runs",
            "Script runs, by state.",
            &figures.runs,
        ),
    ] {
        family(&mut out, name, "gauge", help);
        for (state, n) in rows {
            let _ = writeln!(out, "{name}{{state=\"{}\"}} {n}", label(state));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
