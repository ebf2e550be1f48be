//! Contests: who may see and change them, and the authoring endpoints for contests,
//! their question banks and their weekly rounds.

pub mod access;
pub mod folder;
pub mod routes;
pub mod store;
