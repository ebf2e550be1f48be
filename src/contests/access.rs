//! Who may work on a contest: organisers and judges see and change only the contests they
//! created or were added to (`contest_staff`); admins all of them; members none.
//!
//! Answers follow api.md: a draft that is not yours is absent (404, its existence is not
//! revealed); a published contest that is not yours is visible to all, so changing it is 403.

use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::contests::store::{self, ContestRow};
use crate::domain::Role;
use crate::error::ApiError;

/// Checks that `user` is on the staff of `contest` (or an admin). Every contest endpoint
/// that changes or reveals staff-only data calls this before anything else.
#[tracing::instrument(skip(pool, user), fields(account_id = %user.id))]
pub async fn require_contest_staff(
    pool: &PgPool,
    user: &AuthUser,
    contest_id: Uuid,
) -> Result<(), ApiError> {
    user.require(&[Role::Organizer, Role::Judge])?;
    let row = sqlx::query!(
        r#"SELECT c.published_at IS NOT NULL AS "published!",
                  (coalesce(c.created_by = $2, false) OR EXISTS (
                      SELECT 1 FROM contest_staff s WHERE s.contest_id = c.id AND s.account_id = $2
                  )) AS "is_staff!"
           FROM contests c WHERE c.id = $1"#,
        contest_id,
        user.id
    )
    .fetch_optional(pool)
    .await
    .context("checking contest staff")?;
    match row {
        None => Err(ApiError::not_found("contest")),
        Some(_) if user.role == Role::Admin => Ok(()),
        Some(r) if r.is_staff => Ok(()),
        Some(r) if r.published => Err(ApiError::Forbidden {
            code: "not_contest_staff",
            detail: "you are not on this contest's staff".to_owned(),
        }),
        Some(_) => Err(ApiError::not_found("contest")),
    }
}

/// The contest named by `key` (id or slug) for staff work: the caller must hold one of
/// `roles` and be on the contest's staff. Answers as [`require_contest_staff`] does.
pub async fn staff_contest(
    pool: &PgPool,
    user: &AuthUser,
    key: &str,
    roles: &[Role],
) -> Result<ContestRow, ApiError> {
    user.require(roles)?;
    let contest = store::find(pool, key)
        .await?
        .ok_or_else(|| ApiError::not_found("contest"))?;
    require_contest_staff(pool, user, contest.id).await?;
    Ok(contest)
}

/// The contest named by `key` for reading: published ones for anyone, drafts only for
/// their staff and admins (404 for everyone else).
pub async fn readable_contest(
    pool: &PgPool,
    user: Option<&AuthUser>,
    key: &str,
) -> Result<ContestRow, ApiError> {
    let contest = store::find(pool, key)
        .await?
        .ok_or_else(|| ApiError::not_found("contest"))?;
    if contest.published_at.is_some() || can_see_drafts(pool, user, contest.id).await? {
        Ok(contest)
    } else {
        Err(ApiError::not_found("contest"))
    }
}

/// May `user` see this contest's drafts and staff-only data?
pub async fn can_see_drafts(
    pool: &PgPool,
    user: Option<&AuthUser>,
    contest_id: Uuid,
) -> anyhow::Result<bool> {
    Ok(match user {
        Some(u) if u.role == Role::Admin => true,
        Some(u) if matches!(u.role, Role::Organizer | Role::Judge) => {
            store::is_staff(pool, contest_id, u.id).await?
        }
        _ => false,
    })
}

/// The round `id` for staff work: the caller must hold one of `roles` and be on its
/// contest's staff. A round of someone else's draft is absent (404), like the draft.
pub async fn staff_round(
    pool: &PgPool,
    user: &AuthUser,
    id: Uuid,
    roles: &[Role],
) -> Result<crate::rounds::store::RoundRow, ApiError> {
    user.require(roles)?;
    let round = crate::rounds::store::get(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    require_contest_staff(pool, user, round.contest_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound { .. } => ApiError::not_found("round"),
            other => other,
        })?;
    Ok(round)
}
