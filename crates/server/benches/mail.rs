//! Mail and webhooks against the real `outpost-server` binary and real servers on loopback.
//! Prints figures; does not fail on them.
//!
//!   1. webhook deliveries per second to one receiver (in order, one at a time), for
//!      OUTPOST_BENCH_EVENTS new tickets (default 1,000)
//!   2. outbox throughput to a local SMTP server (aiosmtpd): acknowledgements of
//!      OUTPOST_BENCH_MAILS tickets with a contact (default 300)
//!   3. import of OUTPOST_BENCH_IMPORT mails (default 1,000) from Dovecot, mails per second

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::*;
#[path = "../tests/support/mail_servers.rs"]
mod mail_servers;
use mail_servers::{Dovecot, Sink};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn create_tickets(
    s: &BenchServer,
    n: usize,
    client: &str,
    contact: Option<&str>,
) -> Duration {
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, base, token, next) = (
            s.http.clone(),
            s.base.clone(),
            s.token.clone(),
            next.clone(),
        );
        let (client, contact) = (client.to_string(), contact.map(str::to_string));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    return;
                }
                let mut body = json!({"title": format!("Bench ticket {i}"), "client_id": client});
                if let Some(c) = &contact {
                    body["contact_id"] = json!(c);
                }
                api(&http, &base, &token, "POST", "/tickets", body).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

async fn run() {
    let data = tempfile::tempdir().unwrap();
    let s = bench_server(data.path()).await;
    let client = api(
        &s.http,
        &s.base,
        &s.token,
        "POST",
        "/clients",
        json!({"name": "Bench Dental"}),
    )
    .await;
    let client = client["id"].as_str().unwrap().to_string();

    // 1. Webhooks.
    let events = env_num("OUTPOST_BENCH_EVENTS", 1000) as usize;
    let got: Arc<Mutex<Vec<Instant>>> = Default::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_body: String| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(Instant::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    api(
        &s.http,
        &s.base,
        &s.token,
        "POST",
        "/webhooks",
        json!({"url": hook, "events": ["ticket.created"]}),
    )
    .await;
    let start = Instant::now();
    let made = create_tickets(&s, events, &client, None).await;
    while got.lock().unwrap().len() < events {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "webhooks: only {} of {events} arrived",
            got.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed();
    let times = got.lock().unwrap().clone();
    let window = times[times.len() - 1]
        .duration_since(times[0])
        .as_secs_f64()
        .max(0.001);
    println!(
        "webhooks: {events} events, tickets made in {:.1} s; all delivered {:.1} s after the first write; \
         {:.0} deliveries/s to one receiver (first to last delivery)",
        made.as_secs_f64(),
        total.as_secs_f64(),
        (events - 1) as f64 / window
    );

    // 2. Outbox.
    let mails = env_num("OUTPOST_BENCH_MAILS", 300) as usize;
    let sink = Sink::start(&[]);
    api(
        &s.http,
        &s.base,
        &s.token,
        "PUT",
        "/mail/smtp",
        json!({"host": "127.0.0.1", "port": sink.port,
        "security": "none", "from_address": "help@bench.example", "from_name": "Bench desk"}),
    )
    .await;
    let contact = api(
        &s.http,
        &s.base,
        &s.token,
        "POST",
        &format!("/clients/{client}/contacts"),
        json!({"name": "Dana", "email": "dana@dental.example"}),
    )
    .await;
    let start = Instant::now();
    let made = create_tickets(&s, mails, &client, contact["id"].as_str()).await;
    let mut first = None;
    loop {
        let n = sink.mails().len();
        if n > 0 && first.is_none() {
            first = Some(start.elapsed());
        }
        if n >= mails {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "outbox: only {n} of {mails} sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed();
    let first = first.unwrap_or_default();
    println!(
        "outbox: {mails} mails, tickets made in {:.1} s; all taken by the SMTP server {:.1} s after the first write; \
         {:.0} mails/s (first to last mail), a batch of due mail per SMTP connection",
        made.as_secs_f64(),
        total.as_secs_f64(),
        (mails - 1) as f64 / (total - first).as_secs_f64().max(0.001)
    );

    // 3. Mail in.
    let import = env_num("OUTPOST_BENCH_IMPORT", 1000) as usize;
    let imap = Dovecot::start("help", "imap-pass");
    for i in 0..import {
        imap.deliver(
            "help",
            &format!(
                "From: Sender {i} <sender{i}@client{}.example>\nTo: help@bench.example\nSubject: Request {i}\n\
                 Message-ID: <bench-{i}@client.example>\nContent-Type: text/plain; charset=utf-8\n\n\
                 Please look at request {i}. Thanks!\n\nOn Monday someone wrote:\n> earlier\n",
                i % 50
            ),
        );
    }
    api(
        &s.http,
        &s.base,
        &s.token,
        "POST",
        "/mail/mailboxes",
        json!({"host": "127.0.0.1", "port": imap.port,
        "tls": false, "username": "help", "password": "imap-pass", "folder": "INBOX"}),
    )
    .await;
    let start = Instant::now();
    let mut began = None;
    loop {
        let boxes: Value = api(
            &s.http,
            &s.base,
            &s.token,
            "GET",
            "/mail/mailboxes",
            Value::Null,
        )
        .await;
        let n =
            boxes[0]["imported"].as_i64().unwrap_or(0) + boxes[0]["ignored"].as_i64().unwrap_or(0);
        if n > 0 && began.is_none() {
            began = Some(Instant::now());
        }
        if n as usize >= import {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "import: only {n} of {import} taken: {boxes}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = began
        .map(|b| b.elapsed())
        .unwrap_or_default()
        .as_secs_f64()
        .max(0.001);
    println!(
        "mail in: {import} mails from Dovecot imported in {took:.1} s after the first: {:.0} mails/s \
         (each fetched, parsed, decided and stored in its own transaction, then marked read)",
        import as f64 / took
    );
    drop(s);
}
