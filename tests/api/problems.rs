//! Every error is problem+json: unknown routes, wrong methods, malformed JSON, oversized
//! bodies, wrong content types.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn post_echo(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/echo"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/no-such-thing").await, 404, "not_found").await;
    assert_problem(app.get("/no-such-page").await, 404, "not_found").await;
}

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/healthz"))
        .send()
        .await
        .expect("POST");
    assert_problem(response, 405, "method_not_allowed").await;
    let response = app
        .api
        .get(app.url("/api/v1/echo"))
        .send()
        .await
        .expect("GET");
    assert_problem(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    for body in ["{\"a\": ", "not json", "{\"a\": 1} trailing", ""] {
        let response = post_echo(&app, "application/json", body).await;
        assert_problem(response, 400, "malformed_json").await;
    }
}

#[tokio::test]
async fn json_nested_too_deep_is_a_400_problem_not_a_crash() {
    let app = spawn_app().await;
    let body = "[".repeat(50_000) + &"]".repeat(50_000);
    let response = post_echo(&app, "application/json", body).await;
    assert_problem(response, 400, "malformed_json").await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
}

#[tokio::test]
async fn wrong_content_type_is_a_415_problem() {
    let app = spawn_app().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = app.api.post(app.url("/api/v1/echo")).body("{\"a\": 1}");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.expect("POST");
        assert_problem(response, 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn json_with_charset_and_vendor_types_is_accepted() {
    let app = spawn_app().await;
    for content_type in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let response = post_echo(&app, content_type, "{\"a\": 1}").await;
        assert_eq!(response.status().as_u16(), 200, "{content_type}");
    }
}

#[tokio::test]
async fn echo_names_the_caller_of_a_valid_token_and_refuses_a_bad_one() {
    let app = spawn_app().await;
    let token = app.member_token("+84912000001").await;
    let me: serde_json::Value = app
        .api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let echoed = |token: Option<String>| {
        let mut request = app
            .api
            .post(app.url("/api/v1/echo"))
            .json(&serde_json::json!({"n": 7}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = echoed(Some(token.clone())).await.expect("echo");
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["echo"]["n"], 7);
    assert_eq!(body["account_id"], me["id"]);

    // Anonymous: still answered, without an account.
    let body: serde_json::Value = echoed(None)
        .await
        .expect("echo")
        .json()
        .await
        .expect("json");
    assert!(body.get("account_id").is_none(), "{body}");

    // A token whose signature was tampered with is refused, not ignored.
    // (A character inside the signature: all six of its bits count.)
    let at = token.len() - 5;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    let response = echoed(Some(forged)).await.expect("echo");
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn body_over_one_mebibyte_is_a_413_problem() {
    let app = spawn_app().await;
    // Just over the limit, declared with Content-Length: refused before it is read.
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(1024 * 1024));
    let response = post_echo(&app, "application/json", body).await;
    assert_problem(response, 413, "payload_too_large").await;

    // Just under it is fine.
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(1000 * 1000));
    let response = post_echo(&app, "application/json", body).await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let port = app.port;
    // Chunked transfer has no Content-Length: the limit is enforced while reading.
    let head = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(
            stream,
            "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .expect("write head");
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..20 {
            // The server may answer and close before all chunks are sent.
            if write!(stream, "{:x}\r\n", chunk.len()).is_err()
                || stream.write_all(&chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let mut buf = vec![0; 4096];
        let n = stream.read(&mut buf).expect("read");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .expect("client thread");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
}

/// serde reads a struct from an array of its fields in order; the API must not. Found by
/// scripts/schemathesis.sh: `PATCH /me` with `[null, null]` answered 200.
#[tokio::test]
async fn a_body_sent_as_an_array_instead_of_an_object_is_a_422() {
    let app = spawn_app().await;
    let member = app.member_token("0912345678").await;
    let response = app
        .send(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&member),
            Some(&serde_json::json!([null, null])),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert!(problem["errors"]["body"].is_array(), "{problem}");

    let organiser = app.staff("organizer", "btc@example.org").await;
    let response = app
        .send(
            reqwest::Method::POST,
            "/api/v1/contests",
            Some(&organiser),
            Some(&serde_json::json!(["mang-la-mang", "Cuộc thi từ một mảng"])),
        )
        .await;
    assert_problem(response, 422, "validation_failed").await;
    // Nested too: a question's option as an array of its fields.
    let contest = app.create_contest(&organiser, "cau-hoi").await;
    let response = app
        .send(
            reqwest::Method::POST,
            &format!(
                "/api/v1/contests/{}/questions",
                contest["id"].as_str().expect("id")
            ),
            Some(&organiser),
            Some(&serde_json::json!({
                "text": "Câu hỏi?", "kind": "single",
                "options": [["Đúng", true], {"text": "Sai", "correct": false}],
            })),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert!(problem["errors"]["options[0]"].is_array(), "{problem}");
    // An object is still read, and the array-taking echo still takes arrays.
    app.expect(
        200,
        reqwest::Method::PATCH,
        "/api/v1/me",
        Some(&member),
        Some(&serde_json::json!({"gender": "nữ"})),
    )
    .await;
    let echoed = app
        .expect(
            200,
            reqwest::Method::POST,
            "/api/v1/echo",
            None,
            Some(&serde_json::json!([null, null])),
        )
        .await;
    assert_eq!(echoed["echo"], serde_json::json!([null, null]));
}

/// PostgreSQL text cannot hold NUL: a `\u0000` in an address, `%00` in a slug or a unit
/// code, a NUL in an uploaded file all failed their statement and were answered 500. Each
/// is refused where it arrives. Found by scripts/schemathesis.sh.
#[tokio::test]
async fn nul_characters_are_refused_wherever_they_arrive() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &serde_json::json!({
                "phone": "0912345678", "full_name": "Trần Thị Lan",
                "password": crate::helpers::MEMBER_PASSWORD, "address": "Thôn\u{0}3",
            }),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert!(problem["errors"]["address"].is_array(), "{problem}");

    assert_problem(app.get("/api/v1/contests/a%00b").await, 404, "not_found").await;
    assert_problem(
        app.get("/api/v1/contests/%00/rounds").await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?parent=%00").await,
        400,
        "invalid_query",
    )
    .await;

    let organiser = app.staff("organizer", "btc@example.org").await;
    let units = app
        .api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(&organiser)
        .header("content-type", "text/csv")
        .body("code,name,parent_code,member_count\nHN,Hà\0Nội,,10\n")
        .send()
        .await
        .expect("POST");
    assert_eq!(units.status().as_u16(), 200);
    let report: serde_json::Value = units.json().await.expect("JSON");
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["errors"][0]["line"], 2, "{report}");

    let contest = app.create_contest(&organiser, "ky-tu-nul").await;
    let questions = app
        .api
        .post(app.url(&format!(
            "/api/v1/contests/{}/questions/import?format=csv",
            contest["id"].as_str().expect("id")
        )))
        .bearer_auth(&organiser)
        .body("text,a,b,correct\nThủ đô\0?,Hà Nội,Huế,A\nSông dài nhất?,Mê Kông,Hồng,A\n")
        .send()
        .await
        .expect("POST");
    assert_eq!(questions.status().as_u16(), 200);
    let report: serde_json::Value = questions.json().await.expect("JSON");
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["errors"][0]["line"], 2, "{report}");
}
