//! Authentication and authorisation: password hashing, access and refresh tokens, the
//! `AuthUser` extractor with role guards, and the account endpoints.

pub mod extractor;
pub mod jwt;
pub mod password;
pub mod routes;
pub mod store;

pub use extractor::{AuthUser, MaybeUser};
pub use jwt::JwtKeys;
pub use password::PasswordHasher;
