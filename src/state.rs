//! `AppState`: what every handler shares — the pool, Redis, and where the admin listener is.

use std::net::SocketAddr;

use sqlx::PgPool;

use crate::kv::Redis;

pub struct AppState {
    pub db: PgPool,
    pub redis: Redis,
    /// The admin listener's address, where `/metrics` is open to every client.
    pub admin_addr: Option<SocketAddr>,
}
