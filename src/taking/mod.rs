//! Taking a round: timed attempts with a stored paper, autosave, idempotent submission, and
//! the sweeper that closes attempts whose time ran out.

pub mod batch;
pub mod cache;
pub mod history;
pub mod routes;
pub mod store;
pub mod sweeper;
