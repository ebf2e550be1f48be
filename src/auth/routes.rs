//! `/api/v1/auth/*` and `/api/v1/me`: registration, sessions, the caller's own profile.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::store::{self, AccountRow, NewAccount, ProfileChanges, Rotation};
use crate::auth::{AuthUser, JwtKeys};
use crate::domain::account::parse_birth_year;
use crate::domain::{FullName, Gender, IdNumber, Login, Password, Phone, Role};
use crate::error::{ApiError, FieldErrors, Problem};
use crate::extract::{Json, JsonLimit};
use crate::rate_limit;
use crate::state::AppState;

/// Refresh tokens live 30 days; each use replaces it.
const REFRESH_TOKEN_DAYS: i64 = 30;
/// Account bodies are small; refuse anything larger early.
const AUTH_BODY_LIMIT: usize = 16 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/auth")
            .app_data(JsonLimit(AUTH_BODY_LIMIT))
            .service(web::resource("/register").route(web::post().to(register)))
            .service(web::resource("/login").route(web::post().to(login)))
            .service(web::resource("/refresh").route(web::post().to(refresh)))
            .service(web::resource("/logout").route(web::post().to(logout))),
    )
    .service(
        web::resource("/api/v1/me")
            .app_data(JsonLimit(AUTH_BODY_LIMIT))
            .route(web::get().to(get_me))
            .route(web::patch().to(patch_me)),
    );
}

// ---------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Vietnamese mobile: `0912345678`, `+84912345678`, `84912345678`; spaces, dots, dashes ok.
    #[schema(example = "0912 345 678")]
    phone: String,
    #[schema(example = "Nguyễn Thị Hoà")]
    full_name: String,
    /// At least 8 characters.
    password: String,
    birth_year: Option<i32>,
    /// CCCD, 12 digits.
    id_number: Option<String>,
    unit_code: Option<String>,
    /// `female`/`male`/`other` (or `nữ`/`nam`/`khác`).
    gender: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// A phone number in any accepted form, or a staff e-mail.
    login: String,
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRef {
    code: String,
    name: String,
}

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    id: Uuid,
    role: Role,
    phone: Option<String>,
    email: Option<String>,
    full_name: String,
    birth_year: Option<i16>,
    id_number: Option<String>,
    gender: Option<String>,
    address: Option<String>,
    unit: Option<UnitRef>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AccountRow> for Member {
    type Error = ApiError;

    fn try_from(row: AccountRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: row.id,
            role: row.role.parse().map_err(|e: String| anyhow::anyhow!(e))?,
            phone: row.phone,
            email: row.email,
            full_name: row.full_name,
            birth_year: row.birth_year,
            id_number: row.id_number,
            gender: row.gender,
            address: row.address,
            unit: row
                .unit_code
                .zip(row.unit_name)
                .map(|(code, name)| UnitRef { code, name }),
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    member: Member,
    #[serde(flatten)]
    tokens: TokenPair,
}

// ---------------------------------------------------------------------------------------
// Handlers

/// Register a member by phone; answers the member and a token pair.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses(
        (status = 201, body = Registered),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`phone_taken`, `id_number_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` with field messages"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "too many registrations from this address"),
    ))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let mut field =
        |name: &str, message: String| errors.entry(name.to_owned()).or_default().push(message);

    let phone = Phone::parse(&body.phone)
        .map_err(|e| field("phone", e.to_string()))
        .ok();
    let full_name = FullName::parse(&body.full_name)
        .map_err(|e| field("full_name", e.to_owned()))
        .ok();
    let password = Password::parse(body.password)
        .map_err(|e| field("password", e.to_owned()))
        .ok();
    let birth_year = match body.birth_year {
        Some(year) => parse_birth_year(year, Utc::now().year())
            .map(Some)
            .map_err(|e| field("birth_year", e))
            .unwrap_or(None),
        None => None,
    };
    let id_number = match non_blank(body.id_number.as_deref()) {
        Some(raw) => IdNumber::parse(raw)
            .map_err(|e| field("id_number", e.to_owned()))
            .ok(),
        None => None,
    };
    let gender = match non_blank(body.gender.as_deref()) {
        Some(raw) => raw.parse::<Gender>().map_err(|e| field("gender", e)).ok(),
        None => None,
    };
    let address = parse_address(body.address.as_deref())
        .map_err(|e| field("address", e.to_owned()))
        .unwrap_or(None);
    let unit_code = non_blank(body.unit_code.as_deref()).map(str::to_owned);
    if !errors.is_empty() {
        return Err(ApiError::Validation { errors });
    }
    let (Some(phone), Some(full_name), Some(password)) = (phone, full_name, password) else {
        return Err(
            anyhow::anyhow!("a required field parsed without error but has no value").into(),
        );
    };

    state
        .rate_limiter
        .hit(rate_limit::REGISTER_PER_IP, &client_ip(&req, &state))
        .await?;

    let unit_id = match &unit_code {
        Some(code) => Some(store::find_unit_id(&state.db, code).await?.ok_or_else(|| {
            ApiError::invalid_field("unit_code", format!("no unit has the code `{code}`"))
        })?),
        None => None,
    };
    let password_hash = state.hasher.hash(&password).await?;

    let id = Uuid::now_v7();
    let session = Uuid::now_v7();
    let (refresh_token, refresh_hash) = new_refresh_token();
    let mut tx = state
        .db
        .begin()
        .await
        .map_err(|e| anyhow::Error::new(e).context("starting a transaction"))?;
    store::insert_account(
        &mut *tx,
        &NewAccount {
            id,
            role: Role::Member,
            phone: Some(phone.as_str()),
            email: None,
            full_name: full_name.as_str(),
            password_hash: &password_hash,
            birth_year,
            id_number: id_number.as_ref().map(IdNumber::as_str),
            gender: gender.map(Gender::as_str),
            address: address.as_deref(),
            unit_id,
        },
    )
    .await?;
    store::insert_refresh_token(&mut *tx, id, session, &refresh_hash, refresh_expiry()).await?;
    tx.commit()
        .await
        .map_err(|e| anyhow::Error::new(e).context("committing a registration"))?;

    let tokens = token_pair(&state.jwt, id, Role::Member, session, refresh_token)?;
    let member = store::get_account(&state.db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account {id} vanished after registration"))?;
    Ok(HttpResponse::Created().json(Registered {
        member: member.try_into()?,
        tokens,
    }))
}

/// Sign in with a phone number (any accepted form) or a staff e-mail.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid_credentials`, the same for an unknown login and a wrong password"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "too many attempts; see Retry-After"),
    ))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .rate_limiter
        .hit(rate_limit::LOGIN_PER_IP, &client_ip(&req, &state))
        .await?;

    // `0912…` and `+84912…` are one login, for the lookup and for the per-login limit alike.
    let login = Login::parse(&body.login).ok();
    let subject = login.as_ref().map_or_else(
        || body.login.trim().to_lowercase(),
        |l| l.as_str().to_owned(),
    );
    state
        .rate_limiter
        .check(rate_limit::FAILED_LOGINS_PER_LOGIN, &subject)
        .await?;

    let account = match &login {
        Some(login) => store::find_login(&state.db, login).await?,
        None => None,
    };
    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    // Verifies against a dummy hash when there is no account, so both failures take as long.
    let password_ok = state.hasher.verify(body.password, stored_hash).await?;
    let account = match account {
        Some(account) if password_ok && !account.disabled => account,
        _ => {
            state
                .rate_limiter
                .hit(rate_limit::FAILED_LOGINS_PER_LOGIN, &subject)
                .await
                .ok();
            return Err(ApiError::Unauthorized {
                code: "invalid_credentials",
                detail: "wrong login or password".to_owned(),
            });
        }
    };

    let session = Uuid::now_v7();
    let (refresh_token, refresh_hash) = new_refresh_token();
    store::insert_refresh_token(
        &state.db,
        account.id,
        session,
        &refresh_hash,
        refresh_expiry(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(token_pair(
        &state.jwt,
        account.id,
        account.role,
        session,
        refresh_token,
    )?))
}

/// Exchange a refresh token for a new pair. The old refresh token stops working; presenting
/// it again revokes every token of that session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid_refresh_token` or `refresh_token_reused`"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = hash_refresh_token(&body.refresh_token);
    let (new_token, new_hash) = new_refresh_token();
    match store::rotate_refresh_token(&state.db, &presented, &new_hash, refresh_expiry()).await? {
        Rotation::Rotated {
            account_id,
            role,
            family_id,
        } => Ok(HttpResponse::Ok().json(token_pair(
            &state.jwt, account_id, role, family_id, new_token,
        )?)),
        Rotation::Reused => Err(ApiError::Unauthorized {
            code: "refresh_token_reused",
            detail:
                "this refresh token was already used; the session has been ended, sign in again"
                    .to_owned(),
        }),
        Rotation::Invalid => Err(ApiError::Unauthorized {
            code: "invalid_refresh_token",
            detail: "the refresh token is invalid or expired; sign in again".to_owned(),
        }),
    }
}

/// End the caller's session: every refresh token of it stops working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 204, description = "signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    store::revoke_family(&state.db, user.session).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, body = Member),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let account = store::get_account(&state.db, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(HttpResponse::Ok().json(Member::try_from(account)?))
}

/// Changes to one's own profile. Role, phone and anything else not listed are not the
/// member's to set: unknown fields are refused (422).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    full_name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<i32>)]
    birth_year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    id_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    unit_code: Option<Option<String>>,
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = ProfilePatch,
    responses(
        (status = 200, body = Member),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`id_number_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "invalid or unknown fields"),
    ))]
pub async fn patch_me(
    user: AuthUser,
    state: web::Data<AppState>,
    Json(patch): Json<ProfilePatch>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let mut field =
        |name: &str, message: String| errors.entry(name.to_owned()).or_default().push(message);
    let mut changes = ProfileChanges::default();
    if let Some(name) = &patch.full_name {
        changes.full_name = FullName::parse(name)
            .map_err(|e| field("full_name", e.to_owned()))
            .ok()
            .map(FullName::into_inner);
    }
    if let Some(year) = patch.birth_year {
        changes.birth_year = match year {
            None => Some(None),
            Some(y) => parse_birth_year(y, Utc::now().year())
                .map_err(|e| field("birth_year", e))
                .ok()
                .map(Some),
        };
    }
    if let Some(id_number) = &patch.id_number {
        changes.id_number = match non_blank(id_number.as_deref()) {
            None => Some(None),
            Some(raw) => IdNumber::parse(raw)
                .map_err(|e| field("id_number", e.to_owned()))
                .ok()
                .map(|n| Some(n.as_str().to_owned())),
        };
    }
    if let Some(gender) = &patch.gender {
        changes.gender = match non_blank(gender.as_deref()) {
            None => Some(None),
            Some(raw) => raw
                .parse::<Gender>()
                .map_err(|e| field("gender", e))
                .ok()
                .map(|g| Some(g.as_str().to_owned())),
        };
    }
    if let Some(address) = &patch.address {
        changes.address = parse_address(address.as_deref())
            .map_err(|e| field("address", e.to_owned()))
            .ok();
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation { errors });
    }
    if let Some(unit_code) = &patch.unit_code {
        changes.unit_id = Some(match non_blank(unit_code.as_deref()) {
            None => None,
            Some(code) => Some(store::find_unit_id(&state.db, code).await?.ok_or_else(|| {
                ApiError::invalid_field("unit_code", format!("no unit has the code `{code}`"))
            })?),
        });
    }
    store::update_profile(&state.db, user.id, &changes).await?;
    get_me(user, state).await
}

// ---------------------------------------------------------------------------------------
// Helpers

/// Trimmed, and absent when blank: an empty form field means "not given".
fn non_blank(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

fn parse_address(raw: Option<&str>) -> Result<Option<String>, &'static str> {
    match non_blank(raw) {
        None => Ok(None),
        Some(a) if a.chars().count() > 300 => Err("must be at most 300 characters"),
        Some(a) => Ok(Some(a.to_owned())),
    }
}

fn token_pair(
    jwt: &JwtKeys,
    account_id: Uuid,
    role: Role,
    session: Uuid,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    let (access_token, expires_in) = jwt.issue(account_id, role, session, Utc::now())?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in,
    })
}

/// 32 random bytes, base64url; only its SHA-256 is stored.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn refresh_expiry() -> DateTime<Utc> {
    Utc::now() + Duration::days(REFRESH_TOKEN_DAYS)
}

/// The client's address for rate limits: the peer, or the first `X-Forwarded-For` hop when
/// the server is configured to sit behind a trusted proxy.
pub fn client_ip(req: &HttpRequest, state: &AppState) -> String {
    if state.trust_forwarded_for
        && let Some(ip) = req.connection_info().realip_remote_addr()
    {
        return ip.to_owned();
    }
    req.peer_addr().map_or_else(
        || "unknown".to_owned(),
        |a| a.ip().to_canonical().to_string(),
    )
}
