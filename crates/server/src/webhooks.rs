//! The webhook sender: POSTs each subscriber's deliveries one at a time in order (a slow or dead receiver holds up only itself), signed,
//! retried with backoff by the core's rules.

use outpost_core::notify::webhooks::{DeliveryTry, DueDelivery};
use outpost_core::Core;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// How often the change log and the queue are looked at.
    pub tick: Duration,
    /// The first retry's wait; each next one waits 4× longer.
    pub retry_base: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            tick: Duration::from_millis(500),
            retry_base: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Runs the sender until the process ends.
pub fn start(core: Arc<Core>, config: WebhookConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .user_agent(concat!("Outpost-Webhook/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("webhooks are off: cannot make an HTTP client: {e}");
                return;
            }
        };
        let busy: Arc<Mutex<HashSet<Uuid>>> = Default::default();
        let mut tick = tokio::time::interval(config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due = match core.due_webhook_deliveries().await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("reading the webhook queue: {e}");
                    continue;
                }
            };
            for d in due {
                if !busy
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(d.webhook_id)
                {
                    continue;
                }
                let (core, client, busy, retry_base) = (
                    core.clone(),
                    client.clone(),
                    busy.clone(),
                    config.retry_base,
                );
                tokio::spawn(async move {
                    let hook = d.webhook_id;
                    let mut next = Some(d);
                    // One after the other while this subscriber has more due.
                    while let Some(d) = next.take() {
                        let outcome = deliver(&client, &d).await;
                        match core.record_webhook_try(d.id, &outcome, retry_base).await {
                            Ok("dead") => tracing::warn!(
                                delivery = %d.id, url = %d.url,
                                "webhook delivery failed every try: {}",
                                outcome.error.as_deref().unwrap_or("")
                            ),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!("recording a webhook delivery: {e}");
                                break;
                            }
                        }
                        next = core.next_webhook_delivery(hook).await.ok().flatten();
                    }
                    busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&hook);
                });
            }
        }
    })
}

/// One POST of a delivery, and what came of it.
pub async fn deliver(client: &reqwest::Client, d: &DueDelivery) -> DeliveryTry {
    let t = chrono::Utc::now().timestamp();
    let signature = outpost_core::notify::sign(&d.secret, t, d.body.as_bytes());
    let sent = client
        .post(&d.url)
        .header("Content-Type", "application/json")
        .header("X-Outpost-Event", &d.event)
        .header("X-Outpost-Delivery", d.id.to_string())
        .header("X-Outpost-Signature", signature)
        .body(d.body.clone())
        .send()
        .await;
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let error = if e.is_timeout() {
                "no answer in time (timeout)".to_string()
            } else if e.is_connect() {
                format!("could not connect: {}", root_cause(&e))
            } else {
                format!("sending failed: {}", root_cause(&e))
            };
            return DeliveryTry {
                error: Some(error),
                ..Default::default()
            };
        }
    };
    let status = resp.status();
    // Only the start of the answer is kept; a huge one is not read to its end.
    let mut body = Vec::new();
    while body.len() < 4096 {
        match resp.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    let response = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
    let error = (!status.is_success()).then(|| {
        if status.is_redirection() {
            format!("answered {status}: redirects are not followed, give the final address")
        } else {
            format!("answered {status}")
        }
    });
    DeliveryTry {
        status: Some(status.as_u16()),
        response,
        error,
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
