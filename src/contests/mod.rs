//! Contests: who may see and change them (the endpoints arrive with authoring).

pub mod access;
