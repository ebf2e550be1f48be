//! Parsed, validated types and the pure rules of `contest-rules.md`. Nothing here does I/O.

pub mod account;
pub mod draw;
pub mod phone;
pub mod prizes;
pub mod question;
pub mod round;
pub mod round_state;
pub mod slug;

pub use account::{Email, FullName, Gender, IdNumber, Login, Password, Role};
pub use phone::Phone;
pub use question::{Difficulty, QuestionDraft, QuestionKind, QuestionSpec};
pub use round::{PoolCounts, RoundDraft, RoundSpec};
pub use round_state::RoundState;
pub use slug::Slug;
