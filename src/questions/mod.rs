//! The question bank: storage with revisions, the endpoints, and imports and exports in
//! the file formats organisers use.

pub mod formats;
pub mod import;
pub mod routes;
pub mod store;
