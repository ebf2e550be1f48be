//! Weekly rounds: their settings, derived state, and closing early.

pub mod changes;
pub mod routes;
pub mod store;
