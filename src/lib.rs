//! hoithi — an online multiple-choice contest engine in weekly rounds.
//!
//! Module map:
//! - [`audit`]: the append-only audit log.
//! - [`auth`]: passwords, tokens, the `AuthUser` extractor, account endpoints.
//! - [`rate_limit`]: Redis-backed rate limits shared by every instance.
//! - [`cli`]: the `hoithi` command line (`serve`, `migrate`).
//! - [`config`]: `Settings` from the environment.
//! - [`contests`]: contests and who may work on them.
//! - [`startup`]: `Application::build` binds and assembles the server.
//! - [`telemetry`]: JSON logs and request ids.
//! - [`metrics`]: Prometheus counters and histograms.
//! - [`error`]: `ApiError` → problem+json, the one place status codes are chosen.
//! - [`extract`]: request extractors whose failures are problem+json; strict JSON, no NUL.
//! - [`judging`]: finalizing rounds, prizes, disqualification.
//! - [`leaderboard`]: live round and contest leaderboards in Redis, rebuilt from PostgreSQL.
//! - [`db`]: the PostgreSQL pool and migrations.
//! - [`deadline`]: every request's time limit (408 for a slow body, 503 for a stuck handler).
//! - [`kv`]: Redis with the key prefix.
//! - [`state`]: what handlers share.
//! - [`openapi`]: the OpenAPI document.
//! - [`domain`]: parsed types and pure contest rules; no I/O.
//! - [`service`]: health, readiness, metrics, echo.
//! - [`questions`]: the question bank, its revisions, imports and exports.
//! - [`rounds`]: weekly rounds, their derived state, closing early.
//! - [`taking`]: attempts — the draw, autosave, submission, the sweeper.
//! - [`units`]: the organisation tree: import, listing, roll-ups.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod contests;
pub mod db;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod extract;
pub mod judging;
pub mod kv;
pub mod leaderboard;
pub mod metrics;
pub mod openapi;
pub mod questions;
pub mod rate_limit;
pub mod rounds;
pub mod service;
pub mod startup;
pub mod state;
pub mod taking;
pub mod telemetry;
pub mod units;
pub mod web;
