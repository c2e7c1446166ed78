//! What the server sends out and reads in: mailboxes become tickets; the planner turns the change log into webhook deliveries and
//! mail (outpost_core::notify), and one sender each delivers them; report schedules make
//! their reports.

use crate::mail::{MailConfig, MailInConfig};
use crate::webhooks::WebhookConfig;
use outpost_core::Core;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SendersConfig {
    /// How often the change log is read for new events.
    pub plan_every: Duration,
    /// How often tickets' SLA clocks are looked at for at-risk and breached notifications.
    pub sla_every: Duration,
    /// How often report and backup schedules are looked at (a due one is made at the next
    /// look).
    pub reports_every: Duration,
    pub webhooks: WebhookConfig,
    pub mail: MailConfig,
    pub mail_in: MailInConfig,
}

impl Default for SendersConfig {
    fn default() -> Self {
        SendersConfig {
            plan_every: Duration::from_millis(250),
            sla_every: Duration::from_secs(30),
            reports_every: Duration::from_secs(60),
            webhooks: WebhookConfig::default(),
            mail: MailConfig::default(),
            mail_in: MailInConfig::default(),
        }
    }
}

/// Starts the planner and the senders until the process ends.
pub fn start(core: Arc<Core>, config: SendersConfig) {
    let planner = core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.plan_every);
        let sla_every = config.sla_every;
        // The first look at the SLA clocks comes at once.
        let mut last_sla = std::time::Instant::now()
            .checked_sub(sla_every)
            .unwrap_or_else(std::time::Instant::now);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if last_sla.elapsed() >= sla_every {
                last_sla = std::time::Instant::now();
                if let Err(e) = planner.plan_sla_notifications().await {
                    tracing::warn!("planning SLA notifications: {e}");
                }
            }
            // Catch up on a burst of writes without waiting a tick per page.
            for _ in 0..20 {
                match planner.plan_events().await {
                    Ok(round) if round.changes > 0 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("planning events: {e}");
                        break;
                    }
                }
            }
        }
    });
    // Reports take seconds to lay out: their own task, so events are not held up.
    let reporter = core.clone();
    let reports_every = config.reports_every;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(reports_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = reporter.run_report_schedules().await {
                tracing::warn!("report schedules: {e}");
            }
            // Scheduled backups look at the same pace (their outcome shows in Settings).
            match reporter.run_backup_schedule().await {
                Ok(Some(file)) => tracing::info!(file = %file.display(), "scheduled backup made"),
                Ok(None) => {}
                Err(e) => tracing::warn!("scheduled backup: {e}"),
            }
        }
    });
    crate::webhooks::start(core.clone(), config.webhooks);
    crate::mail::start(core.clone(), config.mail);
    crate::mail::start_mail_in(core, config.mail_in);
}
