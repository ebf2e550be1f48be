//! The OpenAPI 3 document served at `/api/openapi.json`, and the docs UI at `/docs`.

use utoipa::OpenApi;

use crate::error::Problem;
use crate::service::routes as service;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hoithi",
        description = "Online multiple-choice contests in weekly rounds: members take timed papers, \
                       organisers author banks and rounds, judges finalize and export winners. \
                       Every error is `application/problem+json` with a stable `code`."
    ),
    paths(service::healthz, service::readyz, service::metrics, service::echo),
    components(schemas(Problem, service::Health, service::Readiness, service::Checks, service::Echo)),
    tags((name = "service", description = "liveness, readiness, metrics, diagnostics"))
)]
pub struct ApiDoc;
