//! Abuse limits: each member's own limits on starts, autosaves and submits (kept in Redis,
//! so every instance shares them), and the request deadline that cuts off slow bodies and
//! handlers stuck behind a dependency without keeping anything half-written.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};
use crate::taking::{open_round, start_path, stored_attempt};

/// Sends `calls` requests one after the other and expects each to be answered `ok`.
async fn spend(
    app: &TestApp,
    calls: usize,
    ok: u16,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) {
    for i in 0..calls {
        let response = app.send(method.clone(), path, Some(token), body).await;
        assert_eq!(
            response.status().as_u16(),
            ok,
            "call {} of {calls} to {path}",
            i + 1
        );
    }
}

async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_member_who_starts_too_often_is_told_when_to_retry_and_others_are_not_held_up() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let eager = app.member_token("0912000001").await;
    let path = start_path(&world);
    app.expect(201, Method::POST, &path, Some(&eager), None)
        .await;
    // Every further start answers the attempt in progress, up to the limit of 30.
    spend(&app, 29, 200, Method::POST, &path, &eager, None).await;
    assert_rate_limited(app.send(Method::POST, &path, Some(&eager), None).await).await;

    let other = app.member_token("0912000002").await;
    app.expect(201, Method::POST, &path, Some(&other), None)
        .await;
}

#[tokio::test]
async fn autosaves_and_submits_past_the_members_limits_are_refused_with_429() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912000003").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id");
    let question = &attempt["questions"][0];
    let answers = json!({"answers": [{"question_id": question["id"], "option_ids": [question["options"][0]["id"]]}]});
    let save = format!("/api/v1/attempts/{id}/answers");
    spend(&app, 120, 204, Method::PUT, &save, &token, Some(&answers)).await;
    assert_rate_limited(
        app.send(Method::PUT, &save, Some(&token), Some(&answers))
            .await,
    )
    .await;

    let submit = format!("/api/v1/attempts/{id}/submit");
    let body = json!({"answers": [], "prediction": 1000});
    // The first submission grades; the retries answer the stored result, up to 30 in all.
    spend(&app, 30, 200, Method::POST, &submit, &token, Some(&body)).await;
    assert_rate_limited(
        app.send(Method::POST, &submit, Some(&token), Some(&body))
            .await,
    )
    .await;
}

/// Sends a request head announcing `declared` body bytes, then only `sent` of them, and
/// answers what the server says (read until it closes or 10 s pass).
fn trickle(port: u16, declared: usize, sent: usize) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(
        stream,
        "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    )
    .expect("write the head");
    stream
        .write_all(&vec![b' '; sent])
        .expect("write part of the body");
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_cut_off_with_a_408_problem() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_REQUEST_TIMEOUT_SECONDS".to_owned(), "1".to_owned());
    })
    .await;
    let port = app.port;
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || trickle(port, 100, 10))
        .await
        .expect("client thread");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    // Cut off by the deadline, not by the client giving up.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_submission_stuck_behind_the_database_answers_503_and_keeps_nothing_half_done() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_REQUEST_TIMEOUT_SECONDS".to_owned(), "1".to_owned());
    })
    .await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912000004").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id").to_owned();
    let submit = format!("/api/v1/attempts/{id}/submit");
    let body = json!({"answers": [], "prediction": 7});

    // Another session holds the attempts table: the submission cannot read or write it.
    let mut blocker = app.db.pool.begin().await.expect("a transaction");
    sqlx::query("LOCK TABLE attempts IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    // Without a deadline this would wait for the lock forever (held until it answers).
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        app.send(Method::POST, &submit, Some(&token), Some(&body)),
    )
    .await
    .expect("an answer within the deadline, not a wait for the lock");
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 503, "dependency_unavailable").await;
    blocker.rollback().await.expect("unlock");

    // Nothing was graded; the retry submits it once.
    let stored = stored_attempt(&app, &id, &token).await;
    assert_eq!(stored["state"], "in_progress", "{stored}");
    let submitted = app
        .expect(200, Method::POST, &submit, Some(&token), Some(&body))
        .await;
    assert_eq!(submitted["state"], "submitted");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts WHERE state = 'submitted'")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}
