//! The integration tests: one binary, each test against the real server with its own
//! PostgreSQL database and Redis key prefix (see `helpers.rs`).

mod helpers;

mod abuse;
mod accounts;
mod authoring;
mod browser;
mod cli;
mod contest_access;
mod faults;
mod folders;
mod imports;
mod judging;
mod leaderboards;
mod problems;
mod schema;
mod security;
mod service;
mod shutdown;
mod taking;
mod units;
mod web;
