//! `AppState`: what every handler shares — the pool, Redis, and where the admin listener is.

use std::net::SocketAddr;

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::{JwtKeys, PasswordHasher};
use crate::kv::Redis;
use crate::leaderboard::Leaderboards;
use crate::rate_limit::RateLimiter;
use crate::taking::cache::Caches;

pub struct AppState {
    pub db: PgPool,
    /// Whether PostgreSQL is known to be away (requests are then answered 503 at once).
    pub postgres: Arc<crate::db::Outage>,
    pub redis: Redis,
    /// The admin listener's address, where `/metrics` is open to every client.
    pub admin_addr: Option<SocketAddr>,
    pub jwt: Arc<JwtKeys>,
    pub hasher: PasswordHasher,
    pub rate_limiter: RateLimiter,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
    /// Rounds, banks and question revisions, cached for starting and taking attempts.
    pub caches: Caches,
    /// Leaderboard pages served from memory, and boards to rebuild after Redis missed updates.
    pub leaderboards: Leaderboards,
    /// Unit participation rankings served from memory for a second.
    pub unit_rankings: crate::judging::units::UnitRankings,
    /// How long past its deadline a submission is still accepted (network latency).
    pub grace_ms: i64,
    /// Writes starts, autosaves and submissions that arrive together in one statement each.
    pub writes: crate::taking::batch::Writes,
}
