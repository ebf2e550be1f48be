//! `AuthUser`: the caller, from `Authorization: Bearer <access JWT>`, with role guards.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use uuid::Uuid;

use crate::auth::jwt::JwtKeys;
use crate::domain::Role;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    /// The refresh-token family this access token belongs to.
    pub session: Uuid,
}

impl AuthUser {
    /// 403 unless the caller has one of `roles`; admins pass every guard.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "forbidden_role",
                detail: format!(
                    "this needs the role {}",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            })
        }
    }
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::Unauthorized {
        code: "unauthorized",
        detail: detail.to_owned(),
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let keys = req
        .app_data::<web::Data<JwtKeys>>()
        .ok_or_else(|| anyhow::anyhow!("JwtKeys missing from app data"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("sign in first: send Authorization: Bearer <access token>"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <access token>`"))?;
    let claims = keys.verify(token).map_err(|_| {
        unauthorized("the access token is invalid or expired; refresh it or sign in again")
    })?;
    Ok(AuthUser {
        id: claims.sub,
        role: claims.role,
        session: claims.sid,
    })
}

/// The caller when a token is sent, `None` when none is: for endpoints anyone may read but
/// staff see more of. A token that is sent but invalid is still 401, not silently ignored.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        if req.headers().contains_key(header::AUTHORIZATION) {
            ready(authenticate(req).map(|user| Self(Some(user))))
        } else {
            ready(Ok(Self(None)))
        }
    }
}
