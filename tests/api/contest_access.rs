//! Organisers and judges work only on contests they created or were added to; admins on
//! all; members on none. Drafts of others are absent (404), published ones forbidden (403).

use hoithi::auth::AuthUser;
use hoithi::contests::access::require_contest_staff;
use hoithi::domain::Role;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDatabase;

async fn account(pool: &PgPool, role: &str) -> AuthUser {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO accounts (id, role, email, full_name, password_hash) VALUES ($1, $2, $3, 'Cán bộ', 'x')")
        .bind(id)
        .bind(role)
        .bind(format!("{}@example.org", id.simple()))
        .execute(pool)
        .await
        .expect("account");
    AuthUser {
        id,
        role: role.parse().expect("role"),
        session: Uuid::now_v7(),
    }
}

async fn contest(pool: &PgPool, owner: &AuthUser, published: bool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contests (id, slug, title, created_by, published_at) VALUES ($1, $2, 'Cuộc thi', $3, CASE WHEN $4 THEN now() END)",
    )
    .bind(id)
    .bind(format!("c-{}", id.simple()))
    .bind(owner.id)
    .bind(published)
    .execute(pool)
    .await
    .expect("contest");
    id
}

fn code(result: Result<(), hoithi::error::ApiError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn organisers_work_only_on_their_own_contests() {
    let db = TestDatabase::create().await;
    let owner = account(&db.pool, "organizer").await;
    let other = account(&db.pool, "organizer").await;
    let draft = contest(&db.pool, &owner, false).await;
    let published = contest(&db.pool, &owner, true).await;

    assert_eq!(
        code(require_contest_staff(&db.pool, &owner, draft).await),
        "ok"
    );
    assert_eq!(
        code(require_contest_staff(&db.pool, &other, draft).await),
        "not_found",
        "another's draft is invisible"
    );
    assert_eq!(
        code(require_contest_staff(&db.pool, &other, published).await),
        "not_contest_staff"
    );
    assert_eq!(
        code(require_contest_staff(&db.pool, &owner, Uuid::now_v7()).await),
        "not_found"
    );
}

#[tokio::test]
async fn staff_added_to_a_contest_may_work_on_it() {
    let db = TestDatabase::create().await;
    let owner = account(&db.pool, "organizer").await;
    let judge = account(&db.pool, "judge").await;
    let draft = contest(&db.pool, &owner, false).await;
    assert_eq!(
        code(require_contest_staff(&db.pool, &judge, draft).await),
        "not_found"
    );
    sqlx::query(
        "INSERT INTO contest_staff (contest_id, account_id, role) VALUES ($1, $2, 'judge')",
    )
    .bind(draft)
    .bind(judge.id)
    .execute(&db.pool)
    .await
    .expect("staff");
    assert_eq!(
        code(require_contest_staff(&db.pool, &judge, draft).await),
        "ok"
    );
}

#[tokio::test]
async fn admins_may_work_on_every_contest_and_members_on_none() {
    let db = TestDatabase::create().await;
    let owner = account(&db.pool, "organizer").await;
    let admin = account(&db.pool, "admin").await;
    let draft = contest(&db.pool, &owner, false).await;
    assert_eq!(
        code(require_contest_staff(&db.pool, &admin, draft).await),
        "ok"
    );
    let member = AuthUser {
        id: Uuid::now_v7(),
        role: Role::Member,
        session: Uuid::now_v7(),
    };
    assert_eq!(
        code(require_contest_staff(&db.pool, &member, draft).await),
        "forbidden_role"
    );
}
