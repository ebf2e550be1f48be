//! Redis: a lazily connecting, self-healing connection and the key prefix every key uses.
//!
//! Redis holds only what can be rebuilt from PostgreSQL (live leaderboards, rate-limit
//! counters), so the service starts and keeps serving while Redis is down.

use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisSettings;

#[derive(Clone)]
pub struct Redis {
    manager: ConnectionManager,
    prefix: String,
}

impl Redis {
    /// Does not touch the network: the first command connects, and a dropped connection
    /// is re-established in the background. Commands fail fast (not hang) while Redis is away.
    pub fn connect_lazy(settings: &RedisSettings) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.url()).context("parsing REDIS_URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .context("creating the Redis connection manager")?;
        Ok(Self {
            manager,
            prefix: settings.prefix.clone(),
        })
    }

    /// `prefix` + `suffix`: the only way code in this crate names a Redis key.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A cheap clone of the multiplexed connection.
    pub fn conn(&self) -> ConnectionManager {
        self.manager.clone()
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .context("pinging Redis")?;
        Ok(())
    }
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}
