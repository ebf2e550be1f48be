//! The organisation tree (province → district → commune/branch): CSV import, listing, and
//! the figures that roll up a subtree.

pub mod import;
pub mod routes;
pub mod store;
