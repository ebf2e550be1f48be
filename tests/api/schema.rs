//! The database keeps the data honest by itself: the constraints of the first schema,
//! exercised with plain SQL as any writer (a bug, a hand-run script) would hit them.

use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDatabase;

/// The name of the constraint a failed statement broke.
fn violated(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> String {
    match result {
        Ok(_) => panic!("the database accepted a row it must refuse"),
        Err(sqlx::Error::Database(e)) => e.constraint().unwrap_or("<no constraint>").to_owned(),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

async fn member(pool: &PgPool, phone: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO accounts (id, phone, full_name, password_hash) VALUES ($1, $2, 'Lê Thị Mai', 'x')")
        .bind(id)
        .bind(phone)
        .execute(pool)
        .await
        .expect("inserting a member");
    id
}

async fn contest_and_round(pool: &PgPool, owner: Uuid) -> Uuid {
    let contest = Uuid::now_v7();
    sqlx::query("INSERT INTO contests (id, slug, title, created_by) VALUES ($1, $2, 'Tìm hiểu Luật giao thông', $3)")
        .bind(contest)
        .bind(format!("c-{}", contest.simple()))
        .bind(owner)
        .execute(pool)
        .await
        .expect("inserting a contest");
    let round = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO rounds (id, contest_id, number, title, opens_at, closes_at, question_count, \
         time_limit_seconds, prediction_prompt, prediction_target) \
         VALUES ($1, $2, 1, 'Tuần 1', now() - interval '1 hour', now() + interval '1 day', 1, 600, \
         'Bao nhiêu bài dự thi?', 'entries')",
    )
    .bind(round)
    .bind(contest)
    .execute(pool)
    .await
    .expect("inserting a round");
    round
}

async fn update_round(
    pool: &PgPool,
    round: Uuid,
    sql: &str,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(sql).bind(round).execute(pool).await
}

async fn start_attempt(
    pool: &PgPool,
    round: Uuid,
    member: Uuid,
    number: i16,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "INSERT INTO attempts (id, round_id, member_id, number, deadline, paper_revisions, paper_option_order, answers) \
         VALUES ($1, $2, $3, $4, now() + interval '10 minutes', ARRAY[gen_random_uuid()], ARRAY[0], ARRAY[0::smallint])",
    )
    .bind(Uuid::now_v7())
    .bind(round)
    .bind(member)
    .bind(number)
    .execute(pool)
    .await
}

#[tokio::test]
async fn one_account_per_phone() {
    let db = TestDatabase::create().await;
    member(&db.pool, "+84912345678").await;
    let again = sqlx::query(
        "INSERT INTO accounts (phone, full_name, password_hash) VALUES ('+84912345678', 'B', 'x')",
    )
    .execute(&db.pool)
    .await;
    assert_eq!(violated(again), "accounts_phone_key");
}

#[tokio::test]
async fn phone_must_be_a_normalised_vietnamese_mobile() {
    let db = TestDatabase::create().await;
    for phone in ["0912345678", "+842438251234", "+8491234567", "+84612345678"] {
        let result = sqlx::query(
            "INSERT INTO accounts (phone, full_name, password_hash) VALUES ($1, 'A', 'x')",
        )
        .bind(phone)
        .execute(&db.pool)
        .await;
        assert_eq!(violated(result), "accounts_phone_format", "{phone}");
    }
}

#[tokio::test]
async fn id_number_is_unique_when_given_and_may_be_absent_for_many() {
    let db = TestDatabase::create().await;
    member(&db.pool, "+84912345670").await;
    member(&db.pool, "+84912345671").await; // two members without an ID number
    let with_id = |phone: &'static str| {
        sqlx::query("INSERT INTO accounts (phone, id_number, full_name, password_hash) VALUES ($1, '001204012345', 'A', 'x')")
            .bind(phone)
            .execute(&db.pool)
    };
    with_id("+84912345672")
        .await
        .expect("first holder of the ID number");
    assert_eq!(
        violated(with_id("+84912345673").await),
        "accounts_id_number_key"
    );
}

#[tokio::test]
async fn a_member_has_a_phone() {
    let db = TestDatabase::create().await;
    let result = sqlx::query("INSERT INTO accounts (role, email, full_name, password_hash) VALUES ('member', 'a@b.vn', 'A', 'x')")
        .execute(&db.pool)
        .await;
    assert_eq!(violated(result), "accounts_member_has_phone");
    sqlx::query("INSERT INTO accounts (role, email, full_name, password_hash) VALUES ('judge', 'a@b.vn', 'A', 'x')")
        .execute(&db.pool)
        .await
        .expect("staff may sign in by e-mail");
}

#[tokio::test]
async fn at_most_one_attempt_in_progress_per_member_and_round() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654321").await;
    let round = contest_and_round(&db.pool, m).await;
    start_attempt(&db.pool, round, m, 1)
        .await
        .expect("first attempt");
    let second = start_attempt(&db.pool, round, m, 2).await;
    assert_eq!(violated(second), "attempts_one_in_progress");

    // Once the first ends, the next may start; the same attempt number may not repeat.
    sqlx::query(
        "UPDATE attempts SET state = 'submitted', submitted_at = now(), duration_ms = 1000, correct = 1, total = 1 \
         WHERE round_id = $1 AND member_id = $2",
    )
    .bind(round)
    .bind(m)
    .execute(&db.pool)
    .await
    .expect("submitting");
    assert_eq!(
        violated(start_attempt(&db.pool, round, m, 1).await),
        "attempts_number_key"
    );
    start_attempt(&db.pool, round, m, 2)
        .await
        .expect("second attempt after the first ended");
}

#[tokio::test]
async fn an_ended_attempt_has_its_whole_result() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654322").await;
    let round = contest_and_round(&db.pool, m).await;
    start_attempt(&db.pool, round, m, 1).await.expect("attempt");
    let half = sqlx::query(
        "UPDATE attempts SET state = 'submitted', submitted_at = now() WHERE member_id = $1",
    )
    .bind(m)
    .execute(&db.pool)
    .await;
    assert_eq!(violated(half), "attempts_result_complete");
    let too_many = sqlx::query(
        "UPDATE attempts SET state = 'submitted', submitted_at = now(), duration_ms = 5, correct = 2, total = 1 WHERE member_id = $1",
    )
    .bind(m)
    .execute(&db.pool)
    .await;
    assert_eq!(violated(too_many), "attempts_result_complete");
}

#[tokio::test]
async fn a_finalized_round_has_all_its_figures() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654328").await;
    let round = contest_and_round(&db.pool, m).await;
    let partial = update_round(
        &db.pool,
        round,
        "UPDATE rounds SET finalized_at = now(), actual_value = 10 WHERE id = $1",
    )
    .await;
    assert_eq!(violated(partial), "rounds_finalized_complete");
}

#[tokio::test]
async fn ranking_chain_starts_with_correct() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654323").await;
    let round = contest_and_round(&db.pool, m).await;
    let result = update_round(
        &db.pool,
        round,
        "UPDATE rounds SET ranking = ARRAY['duration', 'correct'] WHERE id = $1",
    )
    .await;
    assert_eq!(violated(result), "rounds_ranking_chain");
    let unknown = update_round(
        &db.pool,
        round,
        "UPDATE rounds SET ranking = ARRAY['correct', 'luck'] WHERE id = $1",
    )
    .await;
    assert_eq!(violated(unknown), "rounds_ranking_chain");
}

#[tokio::test]
async fn round_closes_after_it_opens() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654324").await;
    let round = contest_and_round(&db.pool, m).await;
    let result = update_round(
        &db.pool,
        round,
        "UPDATE rounds SET closes_at = opens_at WHERE id = $1",
    )
    .await;
    assert_eq!(violated(result), "rounds_window");
}

#[tokio::test]
async fn single_choice_question_has_exactly_one_correct_option() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654325").await;
    let round = contest_and_round(&db.pool, m).await;
    let contest: Uuid = sqlx::query_scalar("SELECT contest_id FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&db.pool)
        .await
        .expect("contest");
    let insert = |mask: i16, kind: &'static str| {
        let pool = db.pool.clone();
        async move {
            let mut tx = pool.begin().await.expect("tx");
            let (q, r) = (Uuid::now_v7(), Uuid::now_v7());
            sqlx::query("INSERT INTO questions (id, contest_id, current_revision_id, position) VALUES ($1, $2, $3, 0)")
                .bind(q)
                .bind(contest)
                .bind(r)
                .execute(&mut *tx)
                .await
                .expect("question handle");
            let result = sqlx::query(
                "INSERT INTO question_revisions (id, question_id, revision, kind, text, correct_mask, option_count) \
                 VALUES ($1, $2, 1, $3, 'Câu hỏi?', $4, 4)",
            )
            .bind(r)
            .bind(q)
            .bind(kind)
            .bind(mask)
            .execute(&mut *tx)
            .await;
            if result.is_ok() {
                tx.commit().await.expect("commit");
            }
            result
        }
    };
    assert_eq!(
        violated(insert(0b0011, "single").await),
        "question_revisions_single_has_one"
    );
    assert_eq!(
        violated(insert(0, "multiple").await),
        "question_revisions_mask_in_range"
    );
    assert_eq!(
        violated(insert(0b10000, "multiple").await),
        "question_revisions_mask_in_range"
    );
    insert(0b0101, "multiple")
        .await
        .expect("multiple with two correct");
    insert(0b0100, "single")
        .await
        .expect("single with one correct");
}

#[tokio::test]
async fn question_must_point_at_an_existing_revision() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654326").await;
    let round = contest_and_round(&db.pool, m).await;
    let contest: Uuid = sqlx::query_scalar("SELECT contest_id FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&db.pool)
        .await
        .expect("contest");
    // The foreign key is deferred to commit, so the commit is what fails.
    let mut tx = db.pool.begin().await.expect("tx");
    sqlx::query("INSERT INTO questions (contest_id, current_revision_id, position) VALUES ($1, gen_random_uuid(), 0)")
        .bind(contest)
        .execute(&mut *tx)
        .await
        .expect("deferred check");
    match tx.commit().await {
        Err(sqlx::Error::Database(e)) => {
            assert_eq!(e.constraint(), Some("questions_current_revision_fk"))
        }
        other => panic!("commit must fail, got {other:?}"),
    }
}

#[tokio::test]
async fn unit_tree_refuses_cycles() {
    let db = TestDatabase::create().await;
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO units (id, code, name, parent_id) VALUES ($1, 'HN', 'Hà Nội', NULL), ($2, 'HN-BD', 'Ba Đình', $1), ($3, 'HN-BD-01', 'Phúc Xá', $2)",
    )
    .bind(a)
    .bind(b)
    .bind(c)
    .execute(&db.pool)
    .await
    .expect("a three-level tree");
    let cycle = sqlx::query("UPDATE units SET parent_id = $1 WHERE id = $2")
        .bind(c)
        .bind(a)
        .execute(&db.pool)
        .await;
    assert_eq!(violated(cycle), "units_no_cycles");
    let own = sqlx::query("UPDATE units SET parent_id = id WHERE id = $1")
        .bind(a)
        .execute(&db.pool)
        .await;
    assert!(own.is_err());
}

#[tokio::test]
async fn audit_log_is_append_only() {
    let db = TestDatabase::create().await;
    sqlx::query("INSERT INTO audit_log (actor_kind, action, row_count) VALUES ('cli', 'export.results', 10)")
        .execute(&db.pool)
        .await
        .expect("appending");
    for statement in [
        "UPDATE audit_log SET row_count = 0",
        "DELETE FROM audit_log",
    ] {
        let err = sqlx::query(statement)
            .execute(&db.pool)
            .await
            .expect_err(statement);
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn deleting_a_round_removes_its_attempts_and_results() {
    let db = TestDatabase::create().await;
    let m = member(&db.pool, "+84987654327").await;
    let round = contest_and_round(&db.pool, m).await;
    start_attempt(&db.pool, round, m, 1).await.expect("attempt");
    sqlx::query(
        "UPDATE attempts SET state = 'submitted', submitted_at = now(), duration_ms = 1000, correct = 1, total = 1 WHERE member_id = $1",
    )
    .bind(m)
    .execute(&db.pool)
    .await
    .expect("submit");
    sqlx::query(
        "INSERT INTO round_results (round_id, rank, member_id, attempt_id, correct, total, duration_ms, submitted_at) \
         SELECT round_id, 1, member_id, id, correct, total, duration_ms, submitted_at FROM attempts WHERE member_id = $1",
    )
    .bind(m)
    .execute(&db.pool)
    .await
    .expect("result");
    sqlx::query("DELETE FROM rounds WHERE id = $1")
        .bind(round)
        .execute(&db.pool)
        .await
        .expect("a round with results can be deleted whole");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM attempts) + (SELECT count(*) FROM round_results)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!(left, 0);
}
