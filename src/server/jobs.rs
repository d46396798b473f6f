//! Background work on every replica: expiring and reminding pending requests, grant expiry
//! notices, and delivering emails and webhooks. Each step claims its rows with conditional
//! updates, so replicas running together act on each row once, and a failure is logged and
//! retried on the next tick instead of stopping the loop.

use super::config::Config;
use super::db::Store;
use super::secrets::Secrets;
use super::services::{access, notify};
use super::state::Clock;
use std::sync::Arc;
use std::time::Duration;

pub struct Jobs {
    store: Store,
    secrets: Arc<Secrets>,
    clock: Clock,
    origin: String,
    mailer: Option<notify::Mailer>,
    client: Option<reqwest::Client>,
    interval: Duration,
}

impl Jobs {
    pub fn new(store: Store, config: &Config, secrets: Arc<Secrets>, clock: Clock) -> Self {
        let mailer = config.smtp.as_ref().and_then(|smtp| match notify::Mailer::new(smtp) {
            Ok(m) => Some(m),
            Err(error) => {
                tracing::error!(%error, "SMTP is configured but unusable; no email will be sent");
                None
            }
        });
        let client = match notify::webhook_client() {
            Ok(c) => Some(c),
            Err(error) => {
                tracing::error!(%error, "no HTTP client for webhooks");
                None
            }
        };
        Self {
            store,
            secrets,
            clock,
            origin: config.origin(),
            mailer,
            client,
            interval: Duration::from_secs(config.job_interval_secs),
        }
    }

    /// One pass over everything due now.
    pub async fn tick(&self) {
        let now = self.clock.now();
        match access::run_due(&self.store, now).await {
            Ok(r) if r != access::DueReport::default() => tracing::info!(?r, "access requests"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "expiring and reminding requests failed"),
        }
        if let Err(error) = super::services::keys::run_due(&self.store, now).await {
            tracing::warn!(%error, "key expiry notices failed");
        }
        match &self.mailer {
            Some(mailer) => {
                if let Err(error) =
                    notify::deliver_emails(&self.store, mailer, &self.origin, &self.clock).await
                {
                    tracing::warn!(%error, "email delivery pass failed");
                }
            }
            None => {
                if let Err(error) = notify::drop_due_emails(&self.store).await {
                    tracing::warn!(%error, "clearing due emails failed");
                }
            }
        }
        if let Some(client) = &self.client
            && let Err(error) = notify::deliver_webhooks(
                &self.store,
                &self.secrets,
                client,
                &self.origin,
                &self.clock,
            )
            .await
        {
            tracing::warn!(%error, "webhook delivery pass failed");
        }
    }

    /// Runs forever, a tick every interval.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.tick().await;
        }
    }
}
