//! Access tokens: HS256 JWTs with the algorithm pinned, `iss`/`aud` checked and a 15-minute
//! life. `sub` is the account id, `role` its role, `sid` the refresh-token family (the
//! session) it was issued with, so logout can end that session.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Role;

pub const ISSUER: &str = "hoithi";
pub const AUDIENCE: &str = "hoithi-api";
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        // Only HS256 is accepted: a token claiming `none` or RS256 fails before its
        // signature is even looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
        }
    }

    /// A signed access token and its lifetime in seconds.
    pub fn issue(
        &self,
        account_id: Uuid,
        role: Role,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(String, i64)> {
        let claims = Claims {
            sub: account_id,
            role,
            sid: session,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + ACCESS_TOKEN_SECONDS,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, ACCESS_TOKEN_SECONDS))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&SecretString::from(
            "0123456789abcdef0123456789abcdef".to_owned(),
        ))
    }

    #[test]
    fn issued_token_verifies_with_its_claims() {
        let keys = keys();
        let (id, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, ttl) = keys.issue(id, Role::Judge, sid, Utc::now()).expect("issue");
        assert_eq!(ttl, 900);
        let claims = keys.verify(&token).expect("valid");
        assert_eq!(
            (claims.sub, claims.role, claims.sid),
            (id, Role::Judge, sid)
        );
    }

    #[test]
    fn expired_token_is_refused() {
        let keys = keys();
        let issued = Utc::now() - chrono::Duration::minutes(20);
        let (token, _) = keys
            .issue(Uuid::now_v7(), Role::Member, Uuid::now_v7(), issued)
            .expect("issue");
        assert!(keys.verify(&token).is_err());
    }

    #[test]
    fn token_signed_with_another_key_is_refused() {
        let other = JwtKeys::new(&SecretString::from(
            "another-secret-another-secret-xx".to_owned(),
        ));
        let (token, _) = other
            .issue(Uuid::now_v7(), Role::Admin, Uuid::now_v7(), Utc::now())
            .expect("issue");
        assert!(keys().verify(&token).is_err());
    }

    #[test]
    fn unsigned_alg_none_token_is_refused() {
        let keys = keys();
        let (token, _) = keys
            .issue(Uuid::now_v7(), Role::Member, Uuid::now_v7(), Utc::now())
            .expect("issue");
        let payload = token.split('.').nth(1).expect("payload");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{header}.{payload}.")).is_err());
    }

    #[test]
    fn tampered_role_is_refused() {
        let keys = keys();
        let (token, _) = keys
            .issue(Uuid::now_v7(), Role::Member, Uuid::now_v7(), Utc::now())
            .expect("issue");
        let parts: Vec<&str> = token.split('.').collect();
        let payload =
            String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
        let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"member\"", "\"admin\""));
        assert!(
            keys.verify(&format!("{}.{forged}.{}", parts[0], parts[2]))
                .is_err()
        );
    }
}
