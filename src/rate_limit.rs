//! Rate limits kept in Redis, so they hold across every server instance: a fixed window
//! per (limit, subject), counted with one atomic script.
//!
//! Redis holds only counters. When it is down the limits fail open (logged): refusing every
//! login because a cache is away would hurt members more than a brief gap in throttling.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::kv::Redis;

/// A limit: at most `max` events per `window` for one subject.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    pub max: u64,
    pub window: Duration,
}

/// Registrations from one IP address. Generous: mobile carriers put many members behind
/// one address (carrier-grade NAT), and a whole commune may register in one meeting.
pub const REGISTER_PER_IP: Limit = Limit {
    name: "register_ip",
    max: 30,
    window: Duration::from_secs(600),
};

/// Login attempts from one IP address, successful or not.
pub const LOGIN_PER_IP: Limit = Limit {
    name: "login_ip",
    max: 60,
    window: Duration::from_secs(60),
};

/// Failed logins for one account login (phone or e-mail): password guessing.
pub const FAILED_LOGINS_PER_LOGIN: Limit = Limit {
    name: "login_failed",
    max: 10,
    window: Duration::from_secs(60),
};

/// Attempts started (or resumed through the start call) by one member. A member has at
/// most a few attempts a round; a client retrying over a bad mobile link needs a few more.
pub const STARTS_PER_MEMBER: Limit = Limit {
    name: "start_member",
    max: 30,
    window: Duration::from_secs(600),
};

/// Autosaves by one member: the app saves after each change, about one every few seconds
/// for a fast reader; two a second for a minute is far beyond a person.
pub const AUTOSAVES_PER_MEMBER: Limit = Limit {
    name: "autosave_member",
    max: 120,
    window: Duration::from_secs(60),
};

/// Submissions by one member, retries included (a retry answers the stored result).
pub const SUBMITS_PER_MEMBER: Limit = Limit {
    name: "submit_member",
    max: 30,
    window: Duration::from_secs(60),
};

/// INCR the counter, start its window on the first event, answer the count and the
/// milliseconds left in the window.
static HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local n = redis.call('INCR', KEYS[1])
          if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          local ttl = redis.call('PTTL', KEYS[1])
          if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
          return {n, ttl}",
    )
});

#[derive(Clone, Debug)]
pub struct RateLimiter {
    redis: Redis,
}

impl RateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    /// Counts one event; 429 with `Retry-After` once the subject is over the limit.
    pub async fn hit(&self, limit: Limit, subject: &str) -> Result<(), ApiError> {
        self.enforce(limit, subject, true).await
    }

    /// 429 when the subject already used up the limit, without counting an event
    /// (failed logins are counted only once they have failed).
    pub async fn check(&self, limit: Limit, subject: &str) -> Result<(), ApiError> {
        self.enforce(limit, subject, false).await
    }

    async fn enforce(&self, limit: Limit, subject: &str, count_this: bool) -> Result<(), ApiError> {
        // Counting this event, the count may reach `max`; only looking, it must stay below.
        let allowed = if count_this {
            limit.max
        } else {
            limit.max.saturating_sub(1)
        };
        match self.count(limit, subject, count_this).await {
            Ok((n, ttl_ms)) if n > allowed => Err(too_many(ttl_ms)),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    limit = limit.name,
                    "rate limit not checked: Redis unavailable"
                );
                Ok(())
            }
        }
    }

    async fn count(
        &self,
        limit: Limit,
        subject: &str,
        increment: bool,
    ) -> anyhow::Result<(u64, i64)> {
        let key = self.key(limit, subject);
        let mut conn = self.redis.conn();
        if increment {
            let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
            let (n, ttl): (u64, i64) =
                HIT.key(&key)
                    .arg(window_ms)
                    .invoke_async(&mut conn)
                    .await
                    .with_context(|| format!("counting rate limit {}", limit.name))?;
            Ok((n, ttl))
        } else {
            let (n, ttl): (Option<u64>, i64) = redis::pipe()
                .get(&key)
                .pttl(&key)
                .query_async(&mut conn)
                .await
                .with_context(|| format!("reading rate limit {}", limit.name))?;
            Ok((n.unwrap_or(0), ttl))
        }
    }

    /// Subjects are hashed: phone numbers and addresses never appear in Redis keys.
    fn key(&self, limit: Limit, subject: &str) -> String {
        let digest = Sha256::digest(subject.as_bytes());
        let short: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        self.redis.key(&format!("rl:{}:{short}", limit.name))
    }
}

fn too_many(ttl_ms: i64) -> ApiError {
    // Round up: "retry after 0 seconds" would invite an immediate retry.
    let seconds = u64::try_from(ttl_ms.max(0))
        .unwrap_or(0)
        .div_ceil(1000)
        .max(1);
    ApiError::RateLimited {
        retry_after_seconds: seconds,
    }
}
