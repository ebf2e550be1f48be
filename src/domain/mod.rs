//! Parsed, validated types and the pure rules of `contest-rules.md`. Nothing here does I/O.

pub mod round_state;

pub use round_state::RoundState;
