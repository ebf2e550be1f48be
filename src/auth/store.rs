//! Accounts and refresh tokens in PostgreSQL.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::domain::{Login, Role};
use crate::error::ApiError;

/// An account as its owner sees it (GET /me).
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: Uuid,
    pub role: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub full_name: String,
    pub birth_year: Option<i16>,
    pub id_number: Option<String>,
    pub gender: Option<String>,
    pub address: Option<String>,
    pub unit_code: Option<String>,
    pub unit_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a login needs to check a password.
#[derive(Debug)]
pub struct LoginRow {
    pub id: Uuid,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
}

/// A validated new account.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub role: Role,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub birth_year: Option<i16>,
    pub id_number: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub address: Option<&'a str>,
    pub unit_id: Option<Uuid>,
}

/// Unique violations become the 409s a client can act on.
pub fn account_conflict(err: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &err {
        match db.constraint() {
            Some("accounts_phone_key") => {
                return ApiError::conflict(
                    "phone_taken",
                    "an account with this phone number already exists",
                );
            }
            Some("accounts_id_number_key") => {
                return ApiError::conflict(
                    "id_number_taken",
                    "an account with this ID number already exists",
                );
            }
            Some("accounts_email_key") => {
                return ApiError::conflict(
                    "email_taken",
                    "an account with this e-mail already exists",
                );
            }
            _ => {}
        }
    }
    ApiError::Unexpected(anyhow::Error::new(err).context("storing an account"))
}

#[tracing::instrument(skip_all, fields(account_id = %account.id))]
pub async fn insert_account(
    executor: impl PgExecutor<'_>,
    account: &NewAccount<'_>,
) -> Result<(), ApiError> {
    sqlx::query!(
        "INSERT INTO accounts (id, role, phone, email, full_name, password_hash, birth_year, id_number, gender, address, unit_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        account.id,
        account.role.as_str(),
        account.phone,
        account.email,
        account.full_name,
        account.password_hash,
        account.birth_year,
        account.id_number,
        account.gender,
        account.address,
        account.unit_id,
    )
    .execute(executor)
    .await
    .map_err(account_conflict)?;
    Ok(())
}

pub async fn find_unit_id(pool: &PgPool, code: &str) -> anyhow::Result<Option<Uuid>> {
    sqlx::query_scalar!("SELECT id FROM units WHERE code = $1", code)
        .fetch_optional(pool)
        .await
        .with_context(|| format!("looking up unit {code}"))
}

#[tracing::instrument(skip(pool))]
pub async fn get_account(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<AccountRow>> {
    sqlx::query_as!(
        AccountRow,
        r#"SELECT a.id, a.role, a.phone, a.email, a.full_name, a.birth_year, a.id_number, a.gender, a.address,
                  u.code AS "unit_code?", u.name AS "unit_name?", a.created_at
           FROM accounts a LEFT JOIN units u ON u.id = a.unit_id
           WHERE a.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await
    .context("loading an account")
}

struct LoginRecord {
    id: Uuid,
    role: String,
    password_hash: String,
    disabled: bool,
}

/// The account a login signs in to: one exact lookup on a unique index either way.
pub async fn find_login(pool: &PgPool, login: &Login) -> anyhow::Result<Option<LoginRow>> {
    let row = match login {
        Login::Phone(phone) => {
            sqlx::query_as!(
                LoginRecord,
                r#"SELECT id, role, password_hash, disabled_at IS NOT NULL AS "disabled!" FROM accounts WHERE phone = $1"#,
                phone.as_str()
            )
            .fetch_optional(pool)
            .await
        }
        Login::Email(email) => {
            sqlx::query_as!(
                LoginRecord,
                r#"SELECT id, role, password_hash, disabled_at IS NOT NULL AS "disabled!" FROM accounts WHERE email = $1"#,
                email.as_str()
            )
            .fetch_optional(pool)
            .await
        }
    }
    .context("looking up a login")?;
    row.map(|r| {
        Ok(LoginRow {
            id: r.id,
            role: r.role.parse().map_err(anyhow::Error::msg)?,
            password_hash: r.password_hash,
            disabled: r.disabled,
        })
    })
    .transpose()
}

/// Profile changes a member may make; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub full_name: Option<String>,
    pub birth_year: Option<Option<i16>>,
    pub id_number: Option<Option<String>>,
    pub gender: Option<Option<String>>,
    pub address: Option<Option<String>>,
    pub unit_id: Option<Option<Uuid>>,
}

#[tracing::instrument(skip(pool, changes))]
pub async fn update_profile(
    pool: &PgPool,
    id: Uuid,
    changes: &ProfileChanges,
) -> Result<(), ApiError> {
    sqlx::query!(
        "UPDATE accounts SET
             full_name  = COALESCE($2, full_name),
             birth_year = CASE WHEN $3 THEN $4 ELSE birth_year END,
             id_number  = CASE WHEN $5 THEN $6 ELSE id_number END,
             gender     = CASE WHEN $7 THEN $8 ELSE gender END,
             address    = CASE WHEN $9 THEN $10 ELSE address END,
             unit_id    = CASE WHEN $11 THEN $12 ELSE unit_id END,
             updated_at = now()
         WHERE id = $1",
        id,
        changes.full_name,
        changes.birth_year.is_some(),
        changes.birth_year.flatten(),
        changes.id_number.is_some(),
        changes.id_number.clone().flatten(),
        changes.gender.is_some(),
        changes.gender.clone().flatten(),
        changes.address.is_some(),
        changes.address.clone().flatten(),
        changes.unit_id.is_some(),
        changes.unit_id.flatten(),
    )
    .execute(pool)
    .await
    .map_err(account_conflict)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Refresh tokens

pub async fn insert_refresh_token(
    executor: impl PgExecutor<'_>,
    account_id: Uuid,
    family_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO refresh_tokens (id, account_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        account_id,
        family_id,
        token_hash,
        expires_at
    )
    .execute(executor)
    .await
    .context("storing a refresh token")?;
    Ok(())
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Rotation {
    /// Valid: it is now rotated; issue a new one in the same family.
    Rotated {
        account_id: Uuid,
        role: Role,
        family_id: Uuid,
    },
    /// Unknown, expired, revoked, or its account disabled.
    Invalid,
    /// Already rotated: someone replayed it, so its whole family was revoked.
    Reused,
}

/// Marks the token rotated and stores its successor in one transaction; a rotated token
/// presented again revokes its family (a stolen token and its thief's successors die).
#[tracing::instrument(skip_all)]
pub async fn rotate_refresh_token(
    pool: &PgPool,
    token_hash: &[u8],
    new_hash: &[u8],
    new_expires_at: DateTime<Utc>,
) -> anyhow::Result<Rotation> {
    let mut tx = pool.begin().await.context("starting a transaction")?;
    let Some(row) = sqlx::query!(
        r#"SELECT t.id, t.account_id, t.family_id, t.expires_at, t.rotated_at, t.revoked_at,
                  a.role, a.disabled_at IS NOT NULL AS "disabled!"
           FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
           WHERE t.token_hash = $1
           FOR UPDATE OF t"#,
        token_hash
    )
    .fetch_optional(&mut *tx)
    .await
    .context("loading a refresh token")?
    else {
        return Ok(Rotation::Invalid);
    };
    if row.rotated_at.is_some() {
        revoke_family(&mut *tx, row.family_id).await?;
        tx.commit()
            .await
            .context("committing a family revocation")?;
        return Ok(Rotation::Reused);
    }
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() || row.disabled {
        return Ok(Rotation::Invalid);
    }
    sqlx::query!(
        "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1",
        row.id
    )
    .execute(&mut *tx)
    .await
    .context("rotating a refresh token")?;
    insert_refresh_token(
        &mut *tx,
        row.account_id,
        row.family_id,
        new_hash,
        new_expires_at,
    )
    .await?;
    tx.commit().await.context("committing a rotation")?;
    Ok(Rotation::Rotated {
        account_id: row.account_id,
        role: row.role.parse().map_err(anyhow::Error::msg)?,
        family_id: row.family_id,
    })
}

pub async fn revoke_family(executor: impl PgExecutor<'_>, family_id: Uuid) -> anyhow::Result<u64> {
    let done = sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family_id
    )
    .execute(executor)
    .await
    .context("revoking a refresh token family")?;
    Ok(done.rows_affected())
}
