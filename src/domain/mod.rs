//! Parsed, validated types and the pure rules of `contest-rules.md`. Nothing here does I/O.

pub mod account;
pub mod phone;
pub mod round_state;

pub use account::{Email, FullName, Gender, IdNumber, Login, Password, Role};
pub use phone::Phone;
pub use round_state::RoundState;
