//! The service's own edges: liveness, readiness, metrics and a diagnostic echo.

pub mod routes;
