//! Authoring over HTTP: contests (create, list, read, change, publish), the question bank
//! (CRUD with revisions) and rounds (validation, derived state, closing early).

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, spawn_app};

fn round_body(number: i64, question_count: i64) -> Value {
    let now = Utc::now();
    json!({
        "number": number,
        "title": format!("Tuần {number}"),
        "opens_at": (now - Duration::hours(1)).to_rfc3339(),
        "closes_at": (now + Duration::days(7)).to_rfc3339(),
        "question_count": question_count,
        "time_limit_seconds": 600,
        "max_attempts": 3,
        "shuffle_options": true,
        "prediction": {"prompt": "Bao nhiêu lượt dự thi?", "target": "entries"},
        "prizes": [{"name": "Giải Nhất", "count": 1}, {"name": "Giải Nhì", "count": 2}],
    })
}

/// An organiser with a contest holding `questions` questions over categories A and B.
async fn authoring_world(app: &TestApp, questions: usize) -> (String, String) {
    let token = app.staff("organizer", "btc@example.org").await;
    let contest = app.create_contest(&token, "tim-hieu").await;
    let id = contest["id"].as_str().expect("id").to_owned();
    app.add_questions(&token, &id, questions, &["A", "B"]).await;
    (token, id)
}

#[tokio::test]
async fn organisers_create_contests_with_unique_well_formed_slugs() {
    let app = spawn_app().await;
    let token = app.staff("organizer", "btc@example.org").await;
    let contest = app.create_contest(&token, "tim-hieu-luat-2026").await;
    assert_eq!(contest["status"], "draft");
    assert_eq!(contest["title"], "Cuộc thi tim-hieu-luat-2026");

    let again = app
        .send(
            Method::POST,
            "/api/v1/contests",
            Some(&token),
            Some(&json!({"slug": "tim-hieu-luat-2026", "title": "x"})),
        )
        .await;
    assert_problem(again, 409, "slug_taken").await;

    let bad = app
        .send(
            Method::POST,
            "/api/v1/contests",
            Some(&token),
            Some(&json!({"slug": "Cuộc thi", "title": ""})),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation_failed").await;
    assert!(problem["errors"]["slug"].is_array());
    assert!(problem["errors"]["title"].is_array());

    let member = app.register("0912345678").await;
    let member_token = member["access_token"].as_str().expect("token");
    let refused = app
        .send(
            Method::POST,
            "/api/v1/contests",
            Some(member_token),
            Some(&json!({"slug": "x", "title": "x"})),
        )
        .await;
    assert_problem(refused, 403, "forbidden_role").await;
}

#[tokio::test]
async fn drafts_are_seen_only_by_their_staff_and_published_contests_by_everyone() {
    let app = spawn_app().await;
    let owner = app.staff("organizer", "owner@example.org").await;
    let other = app.staff("organizer", "other@example.org").await;
    let draft = app.create_contest(&owner, "ban-nhap").await;
    let public = app.create_contest(&owner, "cong-khai").await;
    let published = app
        .expect(
            200,
            Method::POST,
            "/api/v1/contests/cong-khai/publish",
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(published["status"], "published");
    // Publishing again keeps the first moment.
    let again = app
        .expect(
            200,
            Method::POST,
            "/api/v1/contests/cong-khai/publish",
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(again["published_at"], published["published_at"]);

    let slugs = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["slug"].as_str().expect("slug").to_owned())
            .collect()
    };
    let anonymous = app
        .expect(200, Method::GET, "/api/v1/contests", None, None)
        .await;
    assert_eq!(slugs(&anonymous), ["cong-khai"]);
    assert_eq!(anonymous["total"], 1);
    let mine = app
        .expect(200, Method::GET, "/api/v1/contests", Some(&owner), None)
        .await;
    assert_eq!(mine["total"], 2);
    let theirs = app
        .expect(200, Method::GET, "/api/v1/contests", Some(&other), None)
        .await;
    assert_eq!(slugs(&theirs), ["cong-khai"]);

    // By id or slug; a draft is absent to everyone but its staff.
    let by_id = format!("/api/v1/contests/{}", public["id"].as_str().expect("id"));
    app.expect(200, Method::GET, &by_id, None, None).await;
    app.expect(
        200,
        Method::GET,
        "/api/v1/contests/ban-nhap",
        Some(&owner),
        None,
    )
    .await;
    assert_problem(
        app.send(Method::GET, "/api/v1/contests/ban-nhap", None, None)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.send(Method::GET, "/api/v1/contests/ban-nhap", Some(&other), None)
            .await,
        404,
        "not_found",
    )
    .await;
    let draft_path = format!("/api/v1/contests/{}", draft["id"].as_str().expect("id"));
    assert_problem(
        app.send(
            Method::PATCH,
            &draft_path,
            Some(&other),
            Some(&json!({"title": "Của tôi"})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // Someone else's published contest is visible but not theirs to change.
    assert_problem(
        app.send(
            Method::PATCH,
            "/api/v1/contests/cong-khai",
            Some(&other),
            Some(&json!({"title": "Của tôi"})),
        )
        .await,
        403,
        "not_contest_staff",
    )
    .await;
    let changed = app
        .expect(
            200,
            Method::PATCH,
            "/api/v1/contests/cong-khai",
            Some(&owner),
            Some(&json!({"title": "Tìm hiểu Luật Giao thông", "one_prize_per_person": true})),
        )
        .await;
    assert_eq!(changed["title"], "Tìm hiểu Luật Giao thông");
    assert_eq!(changed["one_prize_per_person"], true);
    assert_problem(
        app.send(
            Method::PATCH,
            "/api/v1/contests/cong-khai",
            Some(&owner),
            Some(&json!({"slug": "ban-nhap"})),
        )
        .await,
        409,
        "slug_taken",
    )
    .await;
}

#[tokio::test]
async fn questions_are_checked_stored_and_listed_with_their_answers_for_staff_only() {
    let app = spawn_app().await;
    let (token, contest) = authoring_world(&app, 0).await;
    let path = format!("/api/v1/contests/{contest}/questions");
    let created = app
        .expect(
            201,
            Method::POST,
            &path,
            Some(&token),
            Some(&json!({
                "text": "Những thành phố nào trực thuộc trung ương?",
                "kind": "multiple",
                "options": [
                    {"text": "Hà Nội", "correct": true},
                    {"text": "Nam Định", "correct": false},
                    {"text": "Hải Phòng", "correct": true},
                ],
                "category": "Địa lý",
                "difficulty": "trung bình",
                "explanation": "Hà Nội và Hải Phòng là thành phố trực thuộc trung ương.",
            })),
        )
        .await;
    assert_eq!(created["revision"], 1);
    assert_eq!(created["difficulty"], "medium");
    assert_eq!(created["options"].as_array().expect("options").len(), 3);
    assert!(created["options"][0]["id"].is_string());
    assert_eq!(created["options"][2]["correct"], true);

    let cases = [
        (
            json!({"text": "x", "kind": "single", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": true}]}),
            "options",
        ),
        (
            json!({"text": "x", "options": [{"text": "a", "correct": false}, {"text": "b", "correct": false}]}),
            "options",
        ),
        (
            json!({"text": "x", "options": [{"text": "a", "correct": true}]}),
            "options",
        ),
        (
            json!({"text": "x", "options": [{"text": "a", "correct": true}, {"text": "A", "correct": false}]}),
            "options[1].text",
        ),
        (
            json!({"text": "x", "options": [{"text": "a", "correct": true}, {"text": " ", "correct": false}]}),
            "options[1].text",
        ),
        (
            json!({"text": "", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]}),
            "text",
        ),
        (
            json!({"text": "x".repeat(2001), "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]}),
            "text",
        ),
        (
            json!({"text": "x", "kind": "essay", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]}),
            "kind",
        ),
        (
            json!({"text": "x", "difficulty": "rất khó", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]}),
            "difficulty",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            app.send(Method::POST, &path, Some(&token), Some(&body))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }

    let bank = app
        .expect(200, Method::GET, &path, Some(&token), None)
        .await;
    assert_eq!(bank["total"], 1, "refused questions are not stored");
    assert_eq!(bank["items"][0]["options"][0]["correct"], true);

    // Members never read the bank; another organiser does not even learn it exists.
    let member = app.register("0912345678").await;
    let member_token = member["access_token"].as_str().expect("token");
    assert_problem(
        app.send(Method::GET, &path, Some(member_token), None).await,
        403,
        "forbidden_role",
    )
    .await;
    let other = app.staff("organizer", "other@example.org").await;
    assert_problem(
        app.send(Method::GET, &path, Some(&other), None).await,
        404,
        "not_found",
    )
    .await;
    let one = format!("/api/v1/questions/{}", created["id"].as_str().expect("id"));
    assert_problem(
        app.send(Method::GET, &one, Some(&other), None).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.send(Method::DELETE, &one, Some(&other), None).await,
        404,
        "not_found",
    )
    .await;
    // A judge on the contest's staff reads it.
    let judge = app.judge_of(&contest, "bgk@example.org").await;
    app.expect(200, Method::GET, &one, Some(&judge), None).await;
    assert_problem(
        app.send(Method::DELETE, &one, Some(&judge), None).await,
        403,
        "forbidden_role",
    )
    .await;
}

#[tokio::test]
async fn editing_a_question_adds_a_revision_and_never_changes_what_an_attempt_was_shown() {
    let app = spawn_app().await;
    let (token, contest) = authoring_world(&app, 1).await;
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/questions"),
            Some(&token),
            None,
        )
        .await;
    let question = &bank["items"][0];
    let path = format!("/api/v1/questions/{}", question["id"].as_str().expect("id"));
    let first_revision: Uuid = sqlx::query_scalar("SELECT current_revision_id FROM questions")
        .fetch_one(&app.db.pool)
        .await
        .expect("revision");

    // An attempt that was shown revision 1.
    app.expect(
        201,
        Method::POST,
        &format!("/api/v1/contests/{contest}/rounds"),
        Some(&token),
        Some(&round_body(1, 1)),
    )
    .await;
    let member = app.register("0912345678").await;
    sqlx::query(
        "INSERT INTO attempts (round_id, member_id, number, deadline, paper_revisions, paper_option_order, answers)
         SELECT r.id, $1::uuid, 1, now() + interval '10 minutes', ARRAY[$2::uuid], ARRAY[8], ARRAY[0::smallint] FROM rounds r",
    )
    .bind(member["member"]["id"].as_str().expect("member id"))
    .bind(first_revision)
    .execute(&app.db.pool)
    .await
    .expect("attempt");

    // The same content again is no change.
    let same = app
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"text": question["text"]})),
        )
        .await;
    assert_eq!(same["revision"], 1);
    let edited = app
        .expect(200, Method::PATCH, &path, Some(&token), Some(&json!({
            "text": "Câu hỏi đã sửa?",
            "options": [{"text": "Một", "correct": false}, {"text": "Hai", "correct": true}, {"text": "Ba", "correct": true}],
        })))
        .await;
    assert_eq!(edited["revision"], 2);
    assert_eq!(edited["kind"], "multiple", "new options decide the kind");
    assert_eq!(
        edited["category"], question["category"],
        "untouched fields stay"
    );
    assert_ne!(edited["options"][0]["id"], question["options"][0]["id"]);

    let shown: (String, i16) = sqlx::query_as(
        "SELECT r.text, r.correct_mask FROM attempts a JOIN question_revisions r ON r.id = a.paper_revisions[1]",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("the attempt's question");
    assert_eq!(shown, ("Câu hỏi số 0?".to_owned(), 1));

    let bad = app
        .send(
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"kind": "single"})),
        )
        .await;
    assert_problem(bad, 422, "validation_failed").await;

    app.expect(204, Method::DELETE, &path, Some(&token), None)
        .await;
    assert_problem(
        app.send(Method::GET, &path, Some(&token), None).await,
        404,
        "not_found",
    )
    .await;
    let still_there: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM attempts a JOIN question_revisions r ON r.id = a.paper_revisions[1]",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(
        still_there, 1,
        "the attempt still reads its question after the delete"
    );
}

#[tokio::test]
async fn rounds_are_validated_naming_the_field() {
    let app = spawn_app().await;
    let (token, contest) = authoring_world(&app, 12).await;
    let path = format!("/api/v1/contests/{contest}/rounds");
    let now = Utc::now();
    let table: Vec<(Value, &str)> = vec![
        (
            json!({"closes_at": (now - Duration::days(1)).to_rfc3339()}),
            "closes_at",
        ),
        (json!({"question_count": 13}), "question_count"),
        (json!({"question_count": 0}), "question_count"),
        (json!({"time_limit_seconds": 5}), "time_limit_seconds"),
        (json!({"time_limit_seconds": 10_801}), "time_limit_seconds"),
        (json!({"max_attempts": 11}), "max_attempts"),
        (json!({"categories": {"A": 7, "B": 3}}), "categories.A"),
        (json!({"categories": {"A": 5}}), "categories"),
        (
            json!({"difficulties": {"easy": 5, "hard": 5}}),
            "difficulties.easy",
        ),
        (
            json!({"prediction": {"prompt": "?", "target": "votes"}}),
            "prediction.target",
        ),
        (json!({"ranking": ["duration", "correct"]}), "ranking"),
        (json!({"ranking": ["correct", "luck"]}), "ranking"),
        (
            json!({"prizes": [{"name": "", "count": 1}]}),
            "prizes[0].name",
        ),
        (json!({"prize_cap_percent": 0}), "prize_cap_percent"),
    ];
    for (change, field) in table {
        let mut body = round_body(1, 10);
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let problem = assert_problem(
            app.send(Method::POST, &path, Some(&token), Some(&body))
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    let rounds = app
        .expect(200, Method::GET, &path, Some(&token), None)
        .await;
    assert_eq!(rounds["total"], 0, "refused rounds are not stored");

    let mut good = round_body(1, 10);
    good["categories"] = json!({"A": 5, "B": 5});
    good["difficulties"] = json!({"dễ": 4, "medium": 4, "hard": 2});
    good["ranking"] = json!(["correct", "duration", "prediction"]);
    good["prize_cap_percent"] = json!(12.5);
    let round = app
        .expect(201, Method::POST, &path, Some(&token), Some(&good))
        .await;
    assert_eq!(round["state"], "open");
    assert_eq!(
        round["difficulties"],
        json!({"easy": 4, "medium": 4, "hard": 2})
    );
    assert_eq!(round["prizes"][1], json!({"name": "Giải Nhì", "count": 2}));
    assert_eq!(round["prize_cap_percent"], 12.5);
    assert_eq!(
        round["ranking"],
        json!(["correct", "duration", "prediction"])
    );
    let duplicate = app
        .send(Method::POST, &path, Some(&token), Some(&round_body(1, 10)))
        .await;
    assert_problem(duplicate, 409, "round_number_taken").await;
}

#[tokio::test]
async fn round_state_follows_the_clock_and_organisers_close_open_rounds_early() {
    let app = spawn_app().await;
    let (token, contest) = authoring_world(&app, 3).await;
    let path = format!("/api/v1/contests/{contest}/rounds");
    let now = Utc::now();
    let mut later = round_body(2, 3);
    later["opens_at"] = json!((now + Duration::days(7)).to_rfc3339());
    later["closes_at"] = json!((now + Duration::days(14)).to_rfc3339());
    let mut past = round_body(3, 3);
    past["opens_at"] = json!((now - Duration::days(14)).to_rfc3339());
    past["closes_at"] = json!((now - Duration::days(7)).to_rfc3339());
    let open = app
        .expect(
            201,
            Method::POST,
            &path,
            Some(&token),
            Some(&round_body(1, 3)),
        )
        .await;
    let scheduled = app
        .expect(201, Method::POST, &path, Some(&token), Some(&later))
        .await;
    let closed = app
        .expect(201, Method::POST, &path, Some(&token), Some(&past))
        .await;
    assert_eq!(open["state"], "open");
    assert_eq!(scheduled["state"], "scheduled");
    assert_eq!(closed["state"], "closed");

    let close =
        |round: &Value| format!("/api/v1/rounds/{}/close", round["id"].as_str().expect("id"));
    assert_problem(
        app.send(Method::POST, &close(&scheduled), Some(&token), None)
            .await,
        409,
        "round_not_open",
    )
    .await;
    let member = app.register("0912345678").await;
    let member_token = member["access_token"].as_str().expect("token");
    assert_problem(
        app.send(Method::POST, &close(&open), Some(member_token), None)
            .await,
        403,
        "forbidden_role",
    )
    .await;
    let ended = app
        .expect(200, Method::POST, &close(&open), Some(&token), None)
        .await;
    assert_eq!(ended["state"], "closed");
    assert!(ended["closed_early_at"].is_string());
    assert_problem(
        app.send(Method::POST, &close(&open), Some(&token), None)
            .await,
        409,
        "round_not_open",
    )
    .await;

    // Drafts' rounds are hidden from the public; published ones are not.
    let one = format!("/api/v1/rounds/{}", open["id"].as_str().expect("id"));
    assert_problem(
        app.send(Method::GET, &one, None, None).await,
        404,
        "not_found",
    )
    .await;
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/contests/{contest}/publish"),
        Some(&token),
        None,
    )
    .await;
    let public = app.expect(200, Method::GET, &one, None, None).await;
    assert_eq!(public["state"], "closed");
    let listed = app.expect(200, Method::GET, &path, None, None).await;
    let numbers: Vec<i64> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["number"].as_i64().expect("n"))
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[tokio::test]
async fn a_rounds_draw_is_fixed_once_attempts_exist() {
    let app = spawn_app().await;
    let (token, contest) = authoring_world(&app, 4).await;
    let round = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/contests/{contest}/rounds"),
            Some(&token),
            Some(&round_body(1, 2)),
        )
        .await;
    let path = format!("/api/v1/rounds/{}", round["id"].as_str().expect("id"));
    // Before any attempt, everything may change.
    let changed = app
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"question_count": 3})),
        )
        .await;
    assert_eq!(changed["question_count"], 3);
    assert_problem(
        app.send(
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"question_count": 5})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    let member = app.register("0912345678").await;
    sqlx::query(
        "INSERT INTO attempts (round_id, member_id, number, deadline, paper_revisions, paper_option_order, answers)
         SELECT r.id, $1::uuid, 1, now() + interval '10 minutes', ARRAY[q.current_revision_id], ARRAY[8], ARRAY[0::smallint]
         FROM rounds r, questions q LIMIT 1",
    )
    .bind(member["member"]["id"].as_str().expect("member id"))
    .execute(&app.db.pool)
    .await
    .expect("attempt");

    for change in [
        json!({"question_count": 2}),
        json!({"time_limit_seconds": 60}),
        json!({"shuffle_options": false}),
        json!({"categories": {"A": 2, "B": 1}}),
    ] {
        assert_problem(
            app.send(Method::PATCH, &path, Some(&token), Some(&change))
                .await,
            409,
            "round_has_attempts",
        )
        .await;
    }
    let retitled = app
        .expect(
            200,
            Method::PATCH,
            &path,
            Some(&token),
            Some(&json!({"title": "Tuần một", "max_attempts": 5})),
        )
        .await;
    assert_eq!(retitled["title"], "Tuần một");
    assert_eq!(retitled["max_attempts"], 5);
}
