//! Taking a round: the paper, resuming, one attempt in progress under concurrency,
//! `max_attempts`, autosave, grading, idempotent submission, deadlines with grace, the
//! sweeper, and ownership.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

pub struct World {
    pub organiser: String,
    pub contest: String,
    pub round: String,
}

/// A published contest with `questions` questions (categories A and B) and one round open
/// now, changed by `tweak`.
pub async fn open_round(app: &TestApp, questions: usize, tweak: impl FnOnce(&mut Value)) -> World {
    let organiser = app.staff("organizer", "btc@example.org").await;
    let contest = app.create_contest(&organiser, "dang-mo").await;
    let contest = contest["id"].as_str().expect("id").to_owned();
    app.add_questions(&organiser, &contest, questions, &["A", "B"])
        .await;
    let now = Utc::now();
    let mut body = json!({
        "number": 1, "title": "Tuần 1",
        "opens_at": (now - Duration::hours(1)).to_rfc3339(),
        "closes_at": (now + Duration::days(7)).to_rfc3339(),
        "question_count": 4, "time_limit_seconds": 600, "max_attempts": 2, "shuffle_options": true,
        "prediction": {"prompt": "Bao nhiêu lượt dự thi?", "target": "entries"},
        "prizes": [{"name": "Giải Nhất", "count": 1}],
    });
    tweak(&mut body);
    let round = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/contests/{contest}/rounds"),
            Some(&organiser),
            Some(&body),
        )
        .await;
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/contests/{contest}/publish"),
        Some(&organiser),
        None,
    )
    .await;
    World {
        organiser,
        round: round["id"].as_str().expect("id").to_owned(),
        contest,
    }
}

/// question id → its correct option ids, from the bank (which only staff may read).
pub async fn answer_key(app: &TestApp, world: &World) -> HashMap<String, Vec<Value>> {
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{}/questions?limit=500", world.contest),
            Some(&world.organiser),
            None,
        )
        .await;
    bank["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|q| {
            let correct = q["options"]
                .as_array()
                .expect("options")
                .iter()
                .filter(|o| o["correct"] == true)
                .map(|o| o["id"].clone())
                .collect();
            (q["id"].as_str().expect("id").to_owned(), correct)
        })
        .collect()
}

/// The attempt as its member reads it back (`GET /attempts/{id}`, answered 200).
pub async fn stored_attempt(app: &TestApp, id: &str, token: &str) -> Value {
    app.expect(
        200,
        Method::GET,
        &format!("/api/v1/attempts/{id}"),
        Some(token),
        None,
    )
    .await
}

pub fn start_path(world: &World) -> String {
    format!("/api/v1/rounds/{}/attempts", world.round)
}

#[tokio::test]
async fn a_start_draws_a_paper_that_hides_the_answers_and_a_reload_shows_the_same_paper() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912345678").await;
    let response = app
        .send(Method::POST, &start_path(&world), Some(&token), None)
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let text = response.text().await.expect("body");
    assert!(
        !text.contains("correct"),
        "the paper must not say what is correct: {text}"
    );
    let attempt: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(attempt["state"], "in_progress");
    assert_eq!(attempt["questions"].as_array().expect("questions").len(), 4);
    assert_eq!(attempt["prediction_prompt"], "Bao nhiêu lượt dự thi?");
    let remaining = attempt["remaining_ms"].as_i64().expect("remaining");
    assert!(remaining > 590_000 && remaining <= 600_000, "{remaining}");

    let again = app
        .expect(200, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    assert_eq!(again["id"], attempt["id"]);
    assert_eq!(again["questions"], attempt["questions"]);
    let reloaded = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/attempts/{}", attempt["id"].as_str().expect("id")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reloaded["questions"], attempt["questions"]);

    // Editing a question later never changes the paper already drawn.
    let first = attempt["questions"][0]["id"].as_str().expect("id");
    app.expect(
        200,
        Method::PATCH,
        &format!("/api/v1/questions/{first}"),
        Some(&world.organiser),
        Some(&json!({"text": "Đã sửa?"})),
    )
    .await;
    let after_edit = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/attempts/{}", attempt["id"].as_str().expect("id")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(after_edit["questions"], attempt["questions"]);
}

#[tokio::test]
async fn quotas_shape_every_paper() {
    let app = spawn_app().await;
    let world = open_round(&app, 12, |body| {
        body["question_count"] = json!(6);
        body["categories"] = json!({"A": 2, "B": 4});
        body["difficulties"] = json!({"easy": 2, "medium": 2, "hard": 2});
    })
    .await;
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{}/questions", world.contest),
            Some(&world.organiser),
            None,
        )
        .await;
    let facts: HashMap<String, (String, String)> = bank["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|q| {
            (
                q["id"].as_str().expect("id").to_owned(),
                (
                    q["category"].as_str().expect("c").to_owned(),
                    q["difficulty"].as_str().expect("d").to_owned(),
                ),
            )
        })
        .collect();
    for i in 0..5 {
        let token = app.member_token(&format!("091234567{i}")).await;
        let paper = app
            .expect(201, Method::POST, &start_path(&world), Some(&token), None)
            .await;
        let mut categories: HashMap<String, usize> = HashMap::new();
        let mut levels: HashMap<String, usize> = HashMap::new();
        for q in paper["questions"].as_array().expect("questions") {
            let (c, d) = &facts[q["id"].as_str().expect("id")];
            *categories.entry(c.clone()).or_default() += 1;
            *levels.entry(d.clone()).or_default() += 1;
        }
        assert_eq!(
            categories,
            HashMap::from([("A".to_owned(), 2), ("B".to_owned(), 4)])
        );
        assert_eq!(levels.values().copied().collect::<Vec<_>>(), [2, 2, 2]);
    }
}

#[tokio::test]
async fn twenty_simultaneous_starts_by_one_member_make_exactly_one_attempt() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912345678").await;
    let path = start_path(&world);
    let starts = (0..20).map(|_| app.send(Method::POST, &path, Some(&token), None));
    let responses = futures_util::future::join_all(starts).await;
    let mut ids = Vec::new();
    for response in responses {
        let status = response.status().as_u16();
        assert!(status == 200 || status == 201, "{status}");
        let body: Value = response.json().await.expect("JSON");
        ids.push(body["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every start answered the same attempt");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn submitting_grades_once_and_a_retry_answers_the_same_result() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |body| body["max_attempts"] = json!(1)).await;
    let key = answer_key(&app, &world).await;
    let token = app.member_token("0912345678").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id");
    let questions = attempt["questions"].as_array().expect("questions");
    // Three right, one wrong (an option that is not the correct one).
    let mut answers: Vec<Value> = questions[..3]
        .iter()
        .map(|q| json!({"question_id": q["id"], "option_ids": key[q["id"].as_str().expect("id")]}))
        .collect();
    let last = &questions[3];
    let wrong = last["options"]
        .as_array()
        .expect("options")
        .iter()
        .find(|o| !key[last["id"].as_str().expect("id")].contains(&o["id"]))
        .expect("a wrong option")["id"]
        .clone();
    answers.push(json!({"question_id": last["id"], "option_ids": [wrong]}));

    // Autosave part of it, then read it back.
    app.expect(
        204,
        Method::PUT,
        &format!("/api/v1/attempts/{id}/answers"),
        Some(&token),
        Some(&json!({"answers": answers[..2]})),
    )
    .await;
    let saved = stored_attempt(&app, id, &token).await;
    assert_eq!(saved["answers"].as_array().expect("answers").len(), 2);

    // Bad answers and predictions are named.
    for (body, field) in [
        (
            json!({"answers": [{"question_id": uuid::Uuid::now_v7(), "option_ids": []}], "prediction": 5}),
            "answers[0].question_id",
        ),
        (
            json!({"answers": [{"question_id": last["id"], "option_ids": [uuid::Uuid::now_v7()]}], "prediction": 5}),
            "answers[0].option_ids",
        ),
        (json!({"answers": [], "prediction": -1}), "prediction"),
        (json!({"answers": [], "prediction": 2.5}), "prediction"),
        (json!({"answers": []}), "prediction"),
    ] {
        let problem = assert_problem(
            app.send(
                Method::POST,
                &format!("/api/v1/attempts/{id}/submit"),
                Some(&token),
                Some(&body),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }

    let result = app
        .expect(
            200,
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&token),
            Some(&json!({"answers": answers[2..], "prediction": 1234})),
        )
        .await;
    assert_eq!(result["state"], "submitted");
    assert_eq!(result["correct"], 3);
    assert_eq!(result["total"], 4);
    assert!(result["duration_ms"].as_i64().expect("duration") >= 0);
    // A phone retrying after a lost response, even with other answers, gets the same result.
    let retry = app
        .expect(
            200,
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&token),
            Some(&json!({"answers": [], "prediction": 1})),
        )
        .await;
    assert_eq!(retry, result);
    assert_problem(
        app.send(
            Method::PUT,
            &format!("/api/v1/attempts/{id}/answers"),
            Some(&token),
            Some(&json!({"answers": []})),
        )
        .await,
        409,
        "attempt_submitted",
    )
    .await;
    let ended = stored_attempt(&app, id, &token).await;
    assert_eq!(ended["result"]["correct"], 3);
    assert_eq!(ended["result"]["prediction"], 1234);
    assert!(
        !ended.to_string().contains("\"correct\":true"),
        "no answer key before finalizing"
    );

    assert_problem(
        app.send(Method::POST, &start_path(&world), Some(&token), None)
            .await,
        409,
        "max_attempts_reached",
    )
    .await;
}

#[tokio::test]
async fn a_multiple_answer_question_counts_only_with_exactly_the_correct_set() {
    let app = spawn_app().await;
    let organiser = app.staff("organizer", "btc@example.org").await;
    let contest = app.create_contest(&organiser, "nhieu-dap-an").await;
    let contest_id = contest["id"].as_str().expect("id");
    let question = app
        .expect(201, Method::POST, &format!("/api/v1/contests/{contest_id}/questions"), Some(&organiser), Some(&json!({
            "text": "Chọn các số chẵn", "kind": "multiple",
            "options": [{"text": "2", "correct": true}, {"text": "3", "correct": false}, {"text": "4", "correct": true}],
        })))
        .await;
    let now = Utc::now();
    let round = app
        .expect(201, Method::POST, &format!("/api/v1/contests/{contest_id}/rounds"), Some(&organiser), Some(&json!({
            "number": 1, "title": "Tuần 1", "opens_at": (now - Duration::hours(1)).to_rfc3339(),
            "closes_at": (now + Duration::days(1)).to_rfc3339(), "question_count": 1, "time_limit_seconds": 60,
            "max_attempts": 3, "prediction": {"prompt": "?", "target": "entries"}, "prizes": [],
        })))
        .await;
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/contests/{contest_id}/publish"),
        Some(&organiser),
        None,
    )
    .await;
    let options: Vec<Value> = question["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    let token = app.member_token("0912345678").await;
    let start = format!(
        "/api/v1/rounds/{}/attempts",
        round["id"].as_str().expect("id")
    );
    for (chosen, correct) in [
        (vec![options[0].clone()], 0),
        (
            vec![options[0].clone(), options[1].clone(), options[2].clone()],
            0,
        ),
        (vec![options[2].clone(), options[0].clone()], 1),
    ] {
        let attempt = app
            .expect(201, Method::POST, &start, Some(&token), None)
            .await;
        let result = app
            .expect(200, Method::POST, &format!("/api/v1/attempts/{}/submit", attempt["id"].as_str().expect("id")), Some(&token),
                Some(&json!({"answers": [{"question_id": question["id"], "option_ids": chosen}], "prediction": 0})))
            .await;
        assert_eq!(result["correct"], correct);
    }
}

#[tokio::test]
async fn rounds_that_are_not_open_or_not_published_refuse_a_start() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |body| {
        let now = Utc::now();
        body["opens_at"] = json!((now + Duration::days(1)).to_rfc3339());
        body["closes_at"] = json!((now + Duration::days(2)).to_rfc3339());
    })
    .await;
    let token = app.member_token("0912345678").await;
    assert_problem(
        app.send(Method::POST, &start_path(&world), Some(&token), None)
            .await,
        409,
        "round_not_open",
    )
    .await;

    let draft = app.create_contest(&world.organiser, "ban-nhap").await;
    let draft_id = draft["id"].as_str().expect("id");
    app.add_questions(&world.organiser, draft_id, 2, &["A"])
        .await;
    let now = Utc::now();
    let hidden = app
        .expect(201, Method::POST, &format!("/api/v1/contests/{draft_id}/rounds"), Some(&world.organiser), Some(&json!({
            "number": 1, "title": "x", "opens_at": (now - Duration::hours(1)).to_rfc3339(),
            "closes_at": (now + Duration::days(1)).to_rfc3339(), "question_count": 1, "time_limit_seconds": 60,
            "prediction": {"prompt": "?", "target": "entries"}, "prizes": [],
        })))
        .await;
    let path = format!(
        "/api/v1/rounds/{}/attempts",
        hidden["id"].as_str().expect("id")
    );
    assert_problem(
        app.send(Method::POST, &path, Some(&token), None).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn another_members_attempt_is_absent() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let owner = app.member_token("0912345678").await;
    let other = app.member_token("0987654321").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&owner), None)
        .await;
    let id = attempt["id"].as_str().expect("id");
    assert_problem(
        app.send(
            Method::GET,
            &format!("/api/v1/attempts/{id}"),
            Some(&other),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.send(
            Method::PUT,
            &format!("/api/v1/attempts/{id}/answers"),
            Some(&other),
            Some(&json!({"answers": []})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.send(
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&other),
            Some(&json!({"prediction": 1})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn after_the_deadline_a_submission_is_refused_and_the_attempt_ends_with_its_saved_answers() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "500".into());
    })
    .await;
    // The round closes two seconds from now, so every deadline is that moment.
    let world = open_round(&app, 10, |body| {
        body["closes_at"] = json!((Utc::now() + Duration::seconds(2)).to_rfc3339());
    })
    .await;
    let key = answer_key(&app, &world).await;
    let token = app.member_token("0912345678").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id");
    let q = &attempt["questions"][0];
    app.expect(204, Method::PUT, &format!("/api/v1/attempts/{id}/answers"), Some(&token),
        Some(&json!({"answers": [{"question_id": q["id"], "option_ids": key[q["id"].as_str().expect("id")]}]})))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2700)).await;
    assert_problem(
        app.send(
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&token),
            Some(&json!({"prediction": 3})),
        )
        .await,
        409,
        "attempt_expired",
    )
    .await;
    let ended = stored_attempt(&app, id, &token).await;
    assert_eq!(ended["state"], "expired");
    assert_eq!(
        ended["result"]["correct"], 1,
        "graded on the autosaved answer"
    );
    assert_eq!(ended["result"]["submitted_at"], ended["deadline"]);
    assert_eq!(ended["remaining_ms"], 0);
    assert_problem(
        app.send(Method::POST, &start_path(&world), Some(&token), None)
            .await,
        409,
        "round_not_open",
    )
    .await;
}

#[tokio::test]
async fn a_submission_in_the_grace_period_is_accepted_and_timed_to_the_deadline() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "3000".into());
    })
    .await;
    let world = open_round(&app, 10, |body| {
        body["closes_at"] = json!((Utc::now() + Duration::seconds(2)).to_rfc3339());
    })
    .await;
    let token = app.member_token("0912345678").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let result = app
        .expect(
            200,
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&token),
            Some(&json!({"prediction": 3})),
        )
        .await;
    let started = chrono::DateTime::parse_from_rfc3339(attempt["started_at"].as_str().expect("t"))
        .expect("time");
    let deadline = chrono::DateTime::parse_from_rfc3339(attempt["deadline"].as_str().expect("t"))
        .expect("time");
    assert_eq!(
        result["duration_ms"].as_i64(),
        Some((deadline - started).num_milliseconds())
    );
}

#[tokio::test]
async fn the_sweeper_closes_attempts_nobody_comes_back_to() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "0".into());
        env.insert("HOITHI_SWEEP_INTERVAL_MS".into(), "200".into());
    })
    .await;
    let world = open_round(&app, 10, |body| {
        body["closes_at"] = json!((Utc::now() + Duration::seconds(2)).to_rfc3339());
    })
    .await;
    let token = app.member_token("0912345678").await;
    app.expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let mut state = String::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        state = sqlx::query_scalar("SELECT state FROM attempts")
            .fetch_one(&app.db.pool)
            .await
            .expect("state");
        if state == "expired" {
            break;
        }
    }
    assert_eq!(state, "expired");
    let (correct, total): (i16, i16) = sqlx::query_as("SELECT correct, total FROM attempts")
        .fetch_one(&app.db.pool)
        .await
        .expect("result");
    assert_eq!((correct, total), (0, 4));
}

#[tokio::test]
async fn a_bank_change_on_one_server_reaches_the_draws_of_another_within_a_second() {
    let app = spawn_app().await;
    let world = open_round(&app, 4, |_| {}).await;
    let other = app.sibling();
    let token = app.member_token("0912345678").await;
    // The first server caches the bank with a draw; then the second server changes it.
    let first = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let question = first["questions"][0]["id"].as_str().expect("id").to_owned();
    let response = app
        .api
        .patch(format!("{}/api/v1/questions/{question}", other.address))
        .bearer_auth(&world.organiser)
        .json(&json!({"text": "Câu hỏi mới?"}))
        .send()
        .await
        .expect("PATCH on the second server");
    assert_eq!(response.status().as_u16(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let second_member = app.member_token("0987654321").await;
    let paper = app
        .expect(
            201,
            Method::POST,
            &start_path(&world),
            Some(&second_member),
            None,
        )
        .await;
    let texts: Vec<&str> = paper["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["text"].as_str().expect("text"))
        .collect();
    assert!(texts.contains(&"Câu hỏi mới?"), "{texts:?}");
}

#[tokio::test]
async fn members_list_their_own_attempts_newest_first_with_results() {
    let app = spawn_app().await;
    let world = open_round(&app, 6, |_| {}).await;
    let (lan, hoa) = (
        app.member_token("0912000111").await,
        app.member_token("0912000222").await,
    );
    let first = app
        .expect(201, Method::POST, &start_path(&world), Some(&lan), None)
        .await;
    let first_id = first["id"].as_str().expect("id");
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/attempts/{first_id}/submit"),
        Some(&lan),
        Some(&json!({"answers": [], "prediction": 7})),
    )
    .await;
    let second = app
        .expect(201, Method::POST, &start_path(&world), Some(&lan), None)
        .await;

    let history = app
        .expect(200, Method::GET, "/api/v1/me/attempts", Some(&lan), None)
        .await;
    assert_eq!(history["total"], 2);
    let items = history["items"].as_array().expect("items");
    assert_eq!(items[0]["id"], second["id"], "newest first");
    assert_eq!(items[0]["state"], "in_progress");
    assert!(items[0]["result"].is_null());
    assert_eq!(items[1]["id"], first["id"]);
    assert_eq!(items[1]["round_title"], "Tuần 1");
    assert_eq!(items[1]["result"]["correct"], 0);
    assert_eq!(items[1]["result"]["total"], 4);
    assert_eq!(items[1]["result"]["prediction"], 7);
    assert_eq!(items[1]["round_finalized"], false);
    let text = serde_json::to_string(&history).expect("JSON");
    assert!(
        !text.contains("correct_option"),
        "no answer key in a history"
    );

    let paged = app
        .expect(
            200,
            Method::GET,
            "/api/v1/me/attempts?limit=1&offset=5",
            Some(&lan),
            None,
        )
        .await;
    assert_eq!(
        (
            paged["total"].clone(),
            paged["items"].as_array().map(Vec::len)
        ),
        (json!(2), Some(0))
    );
    let other_round = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/me/attempts?round={}", uuid::Uuid::new_v4()),
            Some(&lan),
            None,
        )
        .await;
    assert_eq!(other_round["total"], 0);
    let theirs = app
        .expect(200, Method::GET, "/api/v1/me/attempts", Some(&hoa), None)
        .await;
    assert_eq!(
        theirs,
        json!({"items": [], "total": 0}),
        "only the caller's own"
    );
    assert_problem(
        app.send(Method::GET, "/api/v1/me/attempts", None, None)
            .await,
        401,
        "unauthorized",
    )
    .await;
}

/// The closing rush: submissions arriving together are written in batches (one UPDATE for
/// many attempts). Each member must still get their own grade, stored as answered, and two
/// copies of one submission sent at once must answer the same result.
#[tokio::test]
async fn submissions_arriving_together_each_get_their_own_grade() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let key = answer_key(&app, &world).await;
    let mut takers = Vec::new();
    for i in 0..24_usize {
        let token = app.member_token(&format!("09130000{i:02}")).await;
        let attempt = app
            .expect(201, Method::POST, &start_path(&world), Some(&token), None)
            .await;
        // Member i answers i % 5 of the 4 questions right and leaves the rest blank.
        let right = i % 5;
        let answers: Vec<Value> = attempt["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .take(right)
            .map(|q| json!({"question_id": q["id"], "option_ids": key[q["id"].as_str().expect("id")]}))
            .collect();
        let id = attempt["id"].as_str().expect("id").to_owned();
        let body = json!({"answers": answers, "prediction": 1000 + i});
        takers.push((token, id, body, right.min(4)));
    }
    // Every member at once, and the first one twice.
    let mut sends: Vec<_> = takers
        .iter()
        .map(|(token, id, body, _)| {
            let path = format!("/api/v1/attempts/{id}/submit");
            send_owned(&app, Method::POST, path, token, body.clone())
        })
        .collect();
    let (token, id, body, _) = &takers[0];
    let path = format!("/api/v1/attempts/{id}/submit");
    sends.push(send_owned(&app, Method::POST, path, token, body.clone()));
    let mut results = Vec::new();
    for response in futures_util::future::join_all(sends).await {
        assert_eq!(response.status().as_u16(), 200);
        results.push(response.json::<Value>().await.expect("JSON"));
    }
    assert_eq!(
        results[0], results[24],
        "both copies answer the one submission"
    );
    for ((_, id, _, right), result) in takers.iter().zip(&results) {
        assert_eq!(result["id"], json!(id), "{result}");
        assert_eq!(result["state"], "submitted", "{result}");
        assert_eq!(result["correct"], json!(right), "{result}");
        assert_eq!(result["total"], 4, "{result}");
    }
    let stored: Vec<(String, i16, i64)> = sqlx::query_as(
        "SELECT id::text, correct, prediction FROM attempts WHERE state = 'submitted' ORDER BY prediction",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("stored");
    let expected: Vec<(String, i16, i64)> = takers
        .iter()
        .enumerate()
        .map(|(i, (_, id, _, right))| {
            (
                id.clone(),
                i16::try_from(*right).expect("small"),
                1000 + i64::try_from(i).expect("small"),
            )
        })
        .collect();
    assert_eq!(stored, expected);

    // Every submission went through the batcher (the copy too, unless it came after the
    // first had committed); the metric counts them.
    let metrics = app.get("/metrics").await.text().await.expect("text");
    let written = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"hoithi_write_batch_size_sum{kind="submissions"} "#))
        .expect("the batch size metric");
    assert!(written == "24" || written == "25", "{written}: {metrics}");
}

/// [`TestApp::send`] owning its path and body, for requests built in a closure and sent
/// together.
async fn send_owned(
    app: &TestApp,
    method: Method,
    path: String,
    token: &str,
    body: Value,
) -> reqwest::Response {
    app.send(method, &path, Some(token), Some(&body)).await
}

/// The opening burst: starts arriving together are inserted in batches (one INSERT for
/// many members). Each member must get an attempt of their own, numbered 1, and a member
/// who taps twice at once still gets one attempt.
#[tokio::test]
async fn starts_arriving_together_each_get_an_attempt_of_their_own() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let mut tokens = Vec::new();
    for i in 0..24_usize {
        tokens.push(app.member_token(&format!("09140000{i:02}")).await);
    }
    let path = start_path(&world);
    let mut starts: Vec<_> = tokens
        .iter()
        .map(|token| app.send(Method::POST, &path, Some(token), None))
        .collect();
    starts.push(app.send(Method::POST, &path, Some(&tokens[0]), None));
    let mut papers = Vec::new();
    for response in futures_util::future::join_all(starts).await {
        let status = response.status().as_u16();
        assert!(status == 201 || status == 200, "{status}");
        papers.push(response.json::<Value>().await.expect("JSON"));
    }
    assert_eq!(
        papers[0]["id"], papers[24]["id"],
        "one attempt for the double tap"
    );
    let mut ids: Vec<String> = papers[..24]
        .iter()
        .map(|p| {
            assert_eq!(p["state"], "in_progress", "{p}");
            assert_eq!(p["number"], 1, "{p}");
            assert_eq!(p["questions"].as_array().map(Vec::len), Some(4), "{p}");
            p["id"].as_str().expect("id").to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24, "an attempt of their own for each member");
    // Each member reads back their own attempt, and no one else's.
    for (i, token) in tokens.iter().enumerate() {
        let own = papers[i]["id"].as_str().expect("id");
        stored_attempt(&app, own, token).await;
        let other = papers[(i + 1) % 24]["id"].as_str().expect("id");
        app.expect(
            404,
            Method::GET,
            &format!("/api/v1/attempts/{other}"),
            Some(token),
            None,
        )
        .await;
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 24);
}

/// Autosaves arriving together are written in batches too: each attempt keeps its own
/// member's answers.
#[tokio::test]
async fn autosaves_arriving_together_each_keep_their_own_answers() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let mut takers = Vec::new();
    for i in 0..16_usize {
        let token = app.member_token(&format!("09150000{i:02}")).await;
        let attempt = app
            .expect(201, Method::POST, &start_path(&world), Some(&token), None)
            .await;
        // Member i picks option i % (options) of question i % 4.
        let question = &attempt["questions"][i % 4];
        let options = question["options"].as_array().expect("options");
        let answer = json!({"question_id": question["id"], "option_ids": [options[i % options.len()]["id"]]});
        let id = attempt["id"].as_str().expect("id").to_owned();
        takers.push((token, id, answer));
    }
    let saves: Vec<_> = takers
        .iter()
        .map(|(token, id, answer)| {
            let path = format!("/api/v1/attempts/{id}/answers");
            send_owned(&app, Method::PUT, path, token, json!({"answers": [answer]}))
        })
        .collect();
    for response in futures_util::future::join_all(saves).await {
        assert_eq!(response.status().as_u16(), 204);
    }
    for (token, id, answer) in &takers {
        let stored = stored_attempt(&app, id, token).await;
        assert_eq!(stored["answers"], json!([answer]), "{stored}");
    }
}

/// A batch whose statement fails is written again one request at a time: here PostgreSQL
/// refuses every statement that starts or ends more than one attempt (a trigger), so each
/// start and submission that arrived in a batch must still succeed on its own.
#[tokio::test]
async fn requests_of_a_failed_batch_are_written_one_by_one() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_batches() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF (SELECT count(*) FROM changed) > 1 THEN
                 RAISE EXCEPTION 'a batch, refused by the test';
             END IF;
             RETURN NULL;
         END $$;
         CREATE TRIGGER refuse_batched_starts AFTER INSERT ON attempts
             REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION refuse_batches();
         CREATE TRIGGER refuse_batched_submits AFTER UPDATE ON attempts
             REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION refuse_batches();",
    )
    .execute(&app.db.pool)
    .await
    .expect("the triggers");
    let mut tokens = Vec::new();
    for i in 0..24_usize {
        tokens.push(app.member_token(&format!("09160000{i:02}")).await);
    }
    let path = start_path(&world);
    let starts = tokens
        .iter()
        .map(|token| app.send(Method::POST, &path, Some(token), None));
    let mut ids = Vec::new();
    for response in futures_util::future::join_all(starts).await {
        assert_eq!(response.status().as_u16(), 201);
        let paper: Value = response.json().await.expect("JSON");
        ids.push(paper["id"].as_str().expect("id").to_owned());
    }
    let submits = tokens.iter().zip(&ids).map(|(token, id)| {
        let path = format!("/api/v1/attempts/{id}/submit");
        send_owned(&app, Method::POST, path, token, json!({"prediction": 7}))
    });
    for response in futures_util::future::join_all(submits).await {
        assert_eq!(response.status().as_u16(), 200);
        let result: Value = response.json().await.expect("JSON");
        assert_eq!(result["state"], "submitted", "{result}");
    }
    let metrics = app.get("/metrics").await.text().await.expect("text");
    let batched = |kind: &str| -> f64 {
        let sum = format!(r#"hoithi_write_batch_size_sum{{kind="{kind}"}} "#);
        let count = format!(r#"hoithi_write_batch_size_count{{kind="{kind}"}} "#);
        let read = |prefix: &str| -> f64 {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|v| v.parse().ok())
                .expect("the batch size metric")
        };
        read(&sum) / read(&count)
    };
    // Without a batch of two or more, this test would not have tested anything.
    assert!(
        batched("starts") > 1.0 || batched("submissions") > 1.0,
        "no batch formed: {metrics}"
    );
    let submitted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM attempts WHERE state = 'submitted'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(submitted, 24);
}
