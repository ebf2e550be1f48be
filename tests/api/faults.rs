//! Slow and cut-off clients, through a small fault proxy between the client and the
//! server: a slow link still submits; a body cut off mid-way is never stored; a submission
//! whose response was lost after the commit answers its original result when retried.
//! (Redis, server and PostgreSQL crashes are in `scripts/fault-tests.sh`.)

use std::io::Write;
use std::net::TcpStream as StdTcpStream;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TestApp, spawn_app};
use crate::taking::{World, answer_key, open_round, start_path, stored_attempt};

#[derive(Clone, Copy)]
enum Fault {
    /// Every chunk, each way, waits this long (a congested mobile link).
    Latency(Duration),
    /// The request reaches the server whole; its response is read and thrown away, and the
    /// client's connection is closed (the link dropped on the way back).
    DropResponse,
}

/// A proxy to the app's port with `fault` on every connection; answers its port.
async fn proxy(app: &TestApp, fault: Fault) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = app.port;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, server, fault));
        }
    });
    port
}

async fn relay(client: TcpStream, server: u16, fault: Fault) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", server)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = upstream.into_split();
    let delay = match fault {
        Fault::Latency(d) => d,
        Fault::DropResponse => Duration::ZERO,
    };
    let up = tokio::spawn(async move {
        let mut buf = vec![0; 16 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            tokio::time::sleep(delay).await;
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0; 16 * 1024];
    match fault {
        Fault::Latency(_) => {
            while let Ok(n) = server_read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tokio::time::sleep(delay).await;
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
        Fault::DropResponse => {
            // The first bytes of the answer mean the handler has finished (and committed).
            let _ = tokio::time::timeout(Duration::from_secs(10), server_read.read(&mut buf)).await;
            drop(client_write);
        }
    }
    up.abort();
}

/// Answers every question of `attempt` right.
async fn right_answers(app: &TestApp, world: &World, attempt: &Value) -> Vec<Value> {
    let key = answer_key(app, world).await;
    attempt["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| {
            let id = q["id"].as_str().expect("id");
            json!({"question_id": id, "option_ids": key[id]})
        })
        .collect()
}

#[tokio::test]
async fn over_a_slow_link_a_member_still_starts_and_submits() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912000301").await;
    let port = proxy(&app, Fault::Latency(Duration::from_millis(150))).await;
    let slow = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let attempt: Value = client
        .post(format!("{slow}{}", start_path(&world)))
        .bearer_auth(&token)
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("JSON");
    let answers = right_answers(&app, &world, &attempt).await;
    let response = client
        .post(format!(
            "{slow}/api/v1/attempts/{}/submit",
            attempt["id"].as_str().expect("id")
        ))
        .bearer_auth(&token)
        .json(&json!({"answers": answers, "prediction": 3}))
        .send()
        .await
        .expect("submit");
    assert_eq!(response.status().as_u16(), 200);
    let result: Value = response.json().await.expect("JSON");
    assert_eq!(result["correct"], result["total"], "{result}");
}

#[tokio::test]
async fn a_body_cut_off_mid_way_is_never_stored() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912000302").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id").to_owned();
    let answers = right_answers(&app, &world, &attempt).await;
    let port = app.port;
    for (method, path, body) in [
        (
            "PUT",
            format!("/api/v1/attempts/{id}/answers"),
            json!({"answers": answers}),
        ),
        (
            "POST",
            format!("/api/v1/attempts/{id}/submit"),
            json!({"answers": answers, "prediction": 3}),
        ),
    ] {
        let body = body.to_string();
        let token = token.clone();
        tokio::task::spawn_blocking(move || {
            let mut stream = StdTcpStream::connect(("127.0.0.1", port)).expect("connect");
            write!(
                stream,
                "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .expect("head");
            stream
                .write_all(&body.as_bytes()[..body.len() / 2])
                .expect("half the body");
            stream.flush().expect("flush");
            std::thread::sleep(Duration::from_millis(200));
            // Dropped here: the link goes down with half the body sent.
        })
        .await
        .expect("client thread");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored = stored_attempt(&app, &id, &token).await;
    assert_eq!(stored["state"], "in_progress", "{stored}");
    assert_eq!(
        stored["answers"],
        json!([]),
        "nothing of the cut bodies was kept"
    );
    // The member sends it again, whole: accepted.
    let result = app
        .expect(
            200,
            Method::POST,
            &format!("/api/v1/attempts/{id}/submit"),
            Some(&token),
            Some(&json!({"answers": answers, "prediction": 3})),
        )
        .await;
    assert_eq!(result["correct"], result["total"], "{result}");
}

#[tokio::test]
async fn a_submission_whose_answer_was_lost_answers_its_original_result_when_retried() {
    let app = spawn_app().await;
    let world = open_round(&app, 10, |_| {}).await;
    let token = app.member_token("0912000303").await;
    let attempt = app
        .expect(201, Method::POST, &start_path(&world), Some(&token), None)
        .await;
    let id = attempt["id"].as_str().expect("id").to_owned();
    let answers = right_answers(&app, &world, &attempt).await;
    let submit = format!("/api/v1/attempts/{id}/submit");
    let body = json!({"answers": answers, "prediction": 3});

    let port = proxy(&app, Fault::DropResponse).await;
    let lost = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{submit}"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await;
    assert!(
        lost.is_err(),
        "the answer never reached the client: {lost:?}"
    );

    // The app retries, with other answers even (a tap after the failure): it gets the
    // result of the submission that was committed, not a second grading.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let retried_at = Utc::now();
    let result = app
        .expect(
            200,
            Method::POST,
            &submit,
            Some(&token),
            Some(&json!({"answers": [], "prediction": 9})),
        )
        .await;
    assert_eq!(
        result["correct"], result["total"],
        "the original, all-right grade: {result}"
    );
    let submitted_at: DateTime<Utc> =
        serde_json::from_value(result["submitted_at"].clone()).expect("submitted_at");
    assert!(
        submitted_at < retried_at,
        "{submitted_at} is the first submission's time"
    );
    let stored = stored_attempt(&app, &id, &token).await;
    assert_eq!(stored["result"]["prediction"], 3, "{stored}");
    let submitted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM attempts WHERE state = 'submitted'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(submitted, 1);
}
