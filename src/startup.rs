//! `Application::build` binds the listeners and assembles the server; `run_until_stopped`
//! serves until SIGTERM/SIGINT, then finishes in-flight requests and returns.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use futures_util::FutureExt;
use sqlx::PgPool;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{self, JwtKeys, PasswordHasher};
use crate::config::Settings;
use crate::deadline::{self, RequestTimeout};
use crate::error::{self, ApiError};
use crate::kv::Redis;
use crate::leaderboard::Leaderboards;
use crate::metrics::{self, Metrics};
use crate::openapi::ApiDoc;
use crate::rate_limit::RateLimiter;
use crate::state::AppState;
use crate::taking::cache::Caches;
use crate::{
    contests, db, extract, judging, leaderboard, questions, rounds, service, taking, telemetry,
    units,
};

pub struct Application {
    port: u16,
    admin_port: Option<u16>,
    server: Server,
    /// Closes attempts whose time ran out; stopped with the server.
    sweeper: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects lazily to PostgreSQL and Redis (neither has to be up yet), binds
    /// `HOITHI_LISTEN` (port 0 picks a free port) and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect_lazy(&settings.database)?;
        let redis = Redis::connect_lazy(&settings.redis)?;
        Self::build_with(settings, db, redis)
    }

    pub fn build_with(settings: Settings, db: PgPool, redis: Redis) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding HOITHI_LISTEN={}", settings.listen))?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        let admin_listener = settings
            .admin_listen
            .as_deref()
            .map(|addr| {
                TcpListener::bind(addr)
                    .with_context(|| format!("binding HOITHI_ADMIN_LISTEN={addr}"))
            })
            .transpose()?;
        let admin_addr = admin_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .context("reading the admin address")?;

        let jwt = Arc::new(JwtKeys::new(&settings.jwt_secret));
        let grace_ms = i64::try_from(settings.submit_grace.as_millis()).unwrap_or(i64::MAX);
        let metrics = web::Data::new(Metrics::new()?);
        let writes = taking::batch::Writes::spawn(&db, grace_ms, &metrics.write_batch_size);
        let state = web::Data::new(AppState {
            db,
            writes,
            postgres: Arc::new(db::Outage::new(&settings.database)?),
            rate_limiter: RateLimiter::new(redis.clone()),
            redis,
            admin_addr,
            jwt: jwt.clone(),
            hasher: PasswordHasher::new(settings.password_hash_concurrency),
            trust_forwarded_for: settings.trust_forwarded_for,
            caches: Caches::default(),
            leaderboards: Leaderboards::default(),
            unit_rankings: Default::default(),
            grace_ms,
        });
        let sweeper = taking::sweeper::spawn(state.clone().into_inner(), settings.sweep_interval);
        let jwt = web::Data::from(jwt);
        let request_timeout = web::Data::new(RequestTimeout(settings.request_timeout));
        let openapi = ApiDoc::openapi();

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(request_timeout.clone())
                .app_data(jwt.clone())
                .app_data(web::QueryConfig::default().error_handler(extract::query_error))
                .app_data(web::PathConfig::default().error_handler(extract::path_error))
                // Innermost first: the last `wrap` sees the request first.
                .wrap(ErrorHandlers::new().default_handler(error::problem_for_framework_errors))
                .wrap(from_fn(extract::refuse_nul))
                .wrap(from_fn(catch_panic))
                .wrap(from_fn(deadline::limit))
                .wrap(from_fn(db::gate))
                // No browser may guess another type than the one sent (JSON as HTML, say).
                .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
                .wrap(from_fn(metrics::track))
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::default())
                .configure(service::routes::configure)
                .configure(auth::routes::configure)
                .configure(units::routes::configure)
                .configure(contests::routes::configure)
                .configure(questions::routes::configure)
                .configure(rounds::routes::configure)
                .configure(taking::routes::configure)
                .configure(taking::history::configure)
                .configure(leaderboard::routes::configure)
                .configure(judging::routes::configure)
                .configure(judging::units::configure)
                .configure(judging::winners::configure)
                .configure(judging::stats::configure)
                .configure(crate::audit::routes::configure)
                .configure(crate::web::configure)
                .route("/docs", web::get().to(docs_redirect))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", openapi.clone()))
                .default_service(web::to(error::unknown_route))
        })
        .workers(settings.workers)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        // A request head must arrive within 5 s (actix answers 408 and closes the
        // connection); bodies and handlers are limited by `deadline`.
        .client_request_timeout(Duration::from_secs(5))
        .listen(listener)
        .context("listening")?;
        let admin_port = admin_addr.map(|a| a.port());
        if let Some(admin) = admin_listener {
            server = server
                .listen(admin)
                .context("listening on the admin address")?;
        }
        tracing::info!(port, admin_port, "hoithi listening");
        Ok(Self {
            port,
            admin_port,
            server: server.run(),
            sweeper,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn admin_port(&self) -> Option<u16> {
        self.admin_port
    }

    /// Stops the server from elsewhere (tests); SIGTERM and SIGINT do the same.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.sweeper.abort();
        result
    }
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// A panic in a handler answers 500 problem+json and is logged, instead of dropping the
/// connection without a word. It answers with an error rather than a response because the
/// request cannot be kept (routing needs it unshared).
async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(ApiError::from(anyhow::anyhow!("handler panicked: {message}")).into())
        }
    }
}
