//! Argon2id password hashing on the blocking pool, with a cap on concurrent hashes so a
//! login flood queues (and then gets 503) instead of starving every other request.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;
use crate::error::ApiError;

/// How long a request waits for a hashing slot before the server says it is busy.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane) — the `argon2`
/// crate's defaults, spelled out so a crate upgrade cannot weaken them silently.
fn argon2() -> Argon2<'static> {
    // Constant, valid parameters: `Params::new` only fails outside argon2's limits.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the login is unknown so that
/// "no such account" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    let random = uuid::Uuid::new_v4().to_string();
    argon2()
        .hash_password(random.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
});

#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }

    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        let password = password.expose().to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await
    }

    /// True when `password` matches `stored`. With no stored hash (unknown login) it still
    /// does the work of one verification and answers false.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || {
            let (hash, known) = match stored {
                Some(hash) => (hash, true),
                None => (DUMMY_HASH.clone().context("making the dummy hash")?, false),
            };
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let matches = argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable {
                detail: "the server is busy signing people in; retry shortly".to_owned(),
                retry_after_seconds: 2,
            })?
            .context("the password hashing semaphore closed")?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .context("the password hashing task failed")??;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_is_argon2id_and_verifies() {
        let hasher = PasswordHasher::new(2);
        let password = Password::parse("mật khẩu dài".into()).expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("mật khẩu dài".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("mat khau dai".into(), Some(hash))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(1);
        assert!(
            !hasher
                .verify("anything".into(), None)
                .await
                .expect("verify")
        );
    }
}
