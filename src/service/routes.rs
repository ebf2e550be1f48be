//! `/healthz`, `/readyz`, `/metrics` and `POST /api/v1/echo`.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::MaybeUser;
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::metrics::Metrics;
use crate::state::AppState;

/// How long `/readyz` waits for each dependency before calling it down.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `web::resource` (not the method macros) so a wrong method is 405, not 404.
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics)))
        .service(web::resource("/api/v1/echo").route(web::post().to(echo)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: 200 while the process can answer.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    status: &'static str,
    #[schema(example = json!({"postgres": "ok", "redis": "ok"}))]
    checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    postgres: &'static str,
    redis: &'static str,
}

/// Readiness: 200 when PostgreSQL and Redis both answer, else 503 with `Retry-After`.
#[utoipa::path(get, path = "/readyz", tag = "service", responses(
    (status = 200, body = Readiness),
    (status = 503, body = Problem, content_type = "application/problem+json",
     description = "a dependency is down"),
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let postgres = async {
        // Known to be away: no need to wait on the pool to say so again.
        if state.postgres.is_down() {
            return false;
        }
        match tokio::time::timeout(
            READINESS_TIMEOUT,
            sqlx::query("SELECT 1").execute(&state.db),
        )
        .await
        {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: PostgreSQL did not answer");
                state.postgres.suspect();
                false
            }
            Err(_) => {
                tracing::warn!("readiness: PostgreSQL timed out");
                state.postgres.suspect();
                false
            }
        }
    };
    let redis = async {
        match tokio::time::timeout(READINESS_TIMEOUT, state.redis.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = format!("{e:#}"), "readiness: Redis did not answer");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: Redis timed out");
                false
            }
        }
    };
    let (postgres, redis) = tokio::join!(postgres, redis);
    if postgres && redis {
        return Ok(HttpResponse::Ok().json(Readiness {
            status: "ready",
            checks: Checks {
                postgres: "ok",
                redis: "ok",
            },
        }));
    }
    let word = |up: bool| if up { "ok" } else { "unavailable" };
    Err(ApiError::Unavailable {
        detail: format!(
            "not ready: postgres {}, redis {}",
            word(postgres),
            word(redis)
        ),
        retry_after_seconds: 5,
    })
}

/// Prometheus text. Open on the admin listener (`HOITHI_ADMIN_LISTEN`) and to direct
/// loopback clients; 403 for everyone else, including anything relayed by a proxy.
#[utoipa::path(get, path = "/metrics", tag = "service", responses(
    (status = 200, content_type = "text/plain", body = String, description = "Prometheus exposition format"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
))]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    if !may_read_metrics(&req, &state) {
        return Err(ApiError::Forbidden {
            code: "metrics_forbidden",
            detail: "metrics are served on the admin listener and to loopback clients only"
                .to_owned(),
        });
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&state.db)?))
}

fn may_read_metrics(req: &HttpRequest, state: &AppState) -> bool {
    if state.admin_addr == Some(req.app_config().local_addr()) {
        return true;
    }
    // A reverse proxy on the same host connects from loopback on behalf of anyone.
    let relayed = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    !relayed
        && req
            .peer_addr()
            .is_some_and(|a| a.ip().to_canonical().is_loopback())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Echo {
    /// The JSON document that was sent.
    echo: serde_json::Value,
    /// The server's clock when it answered; clients use it to correct their countdowns.
    server_time: DateTime<Utc>,
    /// The caller's account when a token was sent (an invalid one is 401): a client checks
    /// its token with it, and the load tests measure authenticated HTTP alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<Uuid>,
}

/// Diagnostic: answers the JSON body it was sent with the server's time. It measures the
/// HTTP stack alone (the load tests' ceiling) and lets a client estimate its clock offset.
#[utoipa::path(post, path = "/api/v1/echo", tag = "service",
    security((), ("bearer" = [])),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "any JSON document (an object, an array, a string, a number…) up to 1 MiB"),
    responses(
        (status = 200, body = Echo),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "malformed JSON"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "a token was sent and is invalid or expired"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "body over 1 MiB"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "not application/json"),
    ))]
pub async fn echo(user: MaybeUser, Json(body): Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(Echo {
        echo: body,
        server_time: Utc::now(),
        account_id: user.0.map(|u| u.id),
    })
}
