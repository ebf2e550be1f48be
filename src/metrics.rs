//! Prometheus metrics: request counts and latency histograms by route pattern and status,
//! requests in flight, and the PostgreSQL pool's gauges. One registry per `Application`, so
//! several servers in one process (the tests) do not mix their figures.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use anyhow::Context;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use sqlx::PgPool;

/// Latency buckets in seconds, from a cached read (1 ms) to a slow export (10 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGauge,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    /// Rows per statement written by the batchers of `taking::batch`, by kind.
    pub write_batch_size: HistogramVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("hoithi".to_owned()), None)
            .context("creating the metrics registry")?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method", "status"],
        )?;
        let in_flight =
            IntGauge::new("http_requests_in_flight", "HTTP requests being handled now")?;
        let pool_connections = IntGauge::new(
            "db_pool_connections",
            "PostgreSQL connections open in the pool",
        )?;
        let pool_idle = IntGauge::new(
            "db_pool_idle_connections",
            "PostgreSQL connections idle in the pool",
        )?;
        let pool_max = IntGauge::new("db_pool_max_connections", "The pool's connection limit")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        let write_batch_size = HistogramVec::new(
            HistogramOpts::new(
                "write_batch_size",
                "Starts, autosaves or submissions written by one statement and one commit",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            &["kind"],
        )?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(write_batch_size.clone()))?;
        Ok(Self {
            write_batch_size,
            registry,
            requests,
            latency,
            in_flight,
            pool_connections,
            pool_idle,
            pool_max,
        })
    }

    /// The text exposition format, with the pool gauges read now.
    pub fn render(&self, pool: &PgPool) -> anyhow::Result<String> {
        self.pool_connections.set(i64::from(pool.size()));
        self.pool_idle
            .set(i64::try_from(pool.num_idle()).unwrap_or(i64::MAX));
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .context("encoding metrics")?;
        String::from_utf8(buffer).context("metrics are not UTF-8")
    }

    fn observe(&self, route: &str, method: &str, status: u16, started: Instant) {
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Middleware: counts and times every request. Routes are labelled by their pattern
/// (`/api/v1/rounds/{round}`), never by the raw path, so the label set stays small.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = req.method().to_string();
    metrics.in_flight.inc();
    let result = next.call(req).await;
    metrics.in_flight.dec();
    let (route, status) = match &result {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "<unmatched>".to_owned()),
            res.status().as_u16(),
        ),
        Err(err) => (
            "<error>".to_owned(),
            err.as_response_error().status_code().as_u16(),
        ),
    };
    metrics.observe(&route, &method, status, started);
    result
}
