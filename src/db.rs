//! The PostgreSQL pool, the embedded migrations, and what the service does while
//! PostgreSQL is away ([`Outage`], [`gate`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::DatabaseSettings;
use crate::error::{ApiError, is_postgres_outage};
use crate::state::AppState;

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pool that connects on first use, so the server starts (and `/readyz` reports 503)
/// while PostgreSQL is still down. Connections are pinged before use, so connections
/// killed by a database restart are replaced instead of failing requests.
pub fn connect_lazy(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = settings.url().parse().context("parsing DATABASE_URL")?;
    let options = options.application_name("hoithi");
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

/// Applies every pending migration. Safe to run again, and from several processes at once:
/// sqlx takes an advisory lock and skips what is applied.
#[tracing::instrument(skip_all)]
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")?;
    Ok(())
}

/// Whether PostgreSQL is known to be unreachable. Every request that found it so would
/// otherwise wait out the pool's acquire timeout (seconds) before its 503; while the outage
/// is confirmed, [`gate`] answers those requests 503 at once instead. A probe confirms it
/// (so a pool timeout under heavy load turns nobody away) and keeps connecting every
/// 250 ms; the first connection that succeeds ends it.
pub struct Outage {
    down: AtomicBool,
    probing: AtomicBool,
    options: PgConnectOptions,
}

/// How often the probe tries PostgreSQL while it is away, and how long one try may take.
const PROBE_EVERY: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl Outage {
    pub fn new(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let options: PgConnectOptions = settings.url().parse().context("parsing DATABASE_URL")?;
        Ok(Self {
            down: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            options: options.application_name("hoithi-probe"),
        })
    }

    /// Is PostgreSQL known to be away right now?
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// A request failed as if PostgreSQL were away: probe it (once at a time), and hold
    /// requests off for as long as it is.
    pub fn suspect(self: &Arc<Self>) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let outage = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let attempt = tokio::time::timeout(
                    PROBE_TIMEOUT,
                    PgConnection::connect_with(&outage.options),
                )
                .await;
                if let Ok(Ok(connection)) = attempt {
                    drop(connection.close().await);
                    break;
                }
                if !outage.down.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        "PostgreSQL is unreachable: answering 503 at once until it is back"
                    );
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
            if outage.down.swap(false, Ordering::AcqRel) {
                tracing::warn!("PostgreSQL is reachable again");
            }
            outage.probing.store(false, Ordering::Release);
        });
    }
}

/// Paths that never touch PostgreSQL: they are served through an outage.
fn serves_without_postgres(path: &str) -> bool {
    matches!(
        path,
        "/" | "/healthz" | "/readyz" | "/metrics" | "/api/v1/echo" | "/api/openapi.json"
    ) || path.starts_with("/assets/")
        || path.starts_with("/docs")
}

/// The middleware: 503 at once while PostgreSQL is known to be away; a request that fails
/// as if it were makes [`Outage`] look.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(outage) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.postgres.clone())
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if outage.is_down() && !serves_without_postgres(req.path()) {
        let response = ApiError::Unavailable {
            detail: "the database is unavailable; retry shortly".to_owned(),
            retry_after_seconds: 2,
        }
        .error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let response = next.call(req).await?;
    let failed_on_postgres = response
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .is_some_and(|e| matches!(e, ApiError::Unexpected(cause) if is_postgres_outage(cause)));
    if failed_on_postgres {
        outage.suspect();
    }
    Ok(response.map_into_left_body())
}
