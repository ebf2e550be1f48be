//! Liveness, readiness, metrics, the OpenAPI document and the docs.

use crate::helpers::{JWT_SECRET, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let first = app.get("/healthz").await;
    let second = app.get("/no-such-route").await;
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("x-request-id header")
    };
    let (a, b) = (id(&first), id(&second));
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn readyz_is_ok_when_postgres_and_redis_answer() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
}

#[tokio::test]
async fn server_starts_and_stays_up_with_redis_unreachable() {
    // Nothing listens on port 1: Redis is down at boot.
    let app = spawn_app_with(|env| {
        env.insert("REDIS_URL".into(), "redis://127.0.0.1:1/".into());
    })
    .await;
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    for _ in 0..2 {
        let response = app.get("/readyz").await;
        assert!(
            response.headers().contains_key("retry-after"),
            "503 must say when to retry"
        );
        let body = assert_problem(response, 503, "dependency_unavailable").await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(
            detail.contains("redis unavailable") && detail.contains("postgres ok"),
            "{detail}"
        );
    }
    assert_eq!(
        app.get("/healthz").await.status().as_u16(),
        200,
        "still serving"
    );
}

#[tokio::test]
async fn readyz_is_503_when_postgres_is_unreachable() {
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:1/nothing".into(),
        );
    })
    .await;
    let response = app.get("/readyz").await;
    assert_eq!(
        response.headers().get("retry-after").expect("Retry-After"),
        "5"
    );
    let body = assert_problem(response, 503, "dependency_unavailable").await;
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("postgres unavailable")
    );
}

#[tokio::test]
async fn while_postgres_is_known_to_be_away_requests_fail_at_once_instead_of_waiting_on_the_pool() {
    let app = spawn_app_with(|env| {
        env.insert(
            "DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:1/nothing".into(),
        );
        env.insert("HOITHI_DB_ACQUIRE_TIMEOUT_MS".into(), "4000".into());
    })
    .await;
    // A token signed with the server's key: signing in would need the database.
    let keys = hoithi::auth::JwtKeys::new(&secrecy::SecretString::from(JWT_SECRET.to_owned()));
    let (token, _) = keys
        .issue(
            uuid::Uuid::now_v7(),
            hoithi::domain::Role::Member,
            uuid::Uuid::now_v7(),
            chrono::Utc::now(),
        )
        .expect("a token");
    // The first request finds out the slow way: it waits out the pool's acquire timeout.
    let started = std::time::Instant::now();
    let first = app.get_with("/api/v1/me", &token).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_problem(first, 503, "dependency_unavailable").await;
    // The probe confirms the outage (a refused connection) within a moment.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let second = app.get_with("/api/v1/me", &token).await;
    let waited = started.elapsed();
    assert!(second.headers().contains_key("retry-after"));
    assert_problem(second, 503, "dependency_unavailable").await;
    // Far less than the 4 s a pool wait takes: nothing here waited on PostgreSQL.
    assert!(waited < std::time::Duration::from_secs(2), "{waited:?}");
    // What needs no database still answers.
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/no/such/route/42").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            r#"hoithi_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"hoithi_http_requests_total{method="GET",route="<unmatched>",status="404"} 1"#
        ),
        "unknown paths share one label: {text}"
    );
    assert!(
        text.contains("hoithi_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("hoithi_db_pool_max_connections 5"), "{text}");
    assert!(text.contains("hoithi_db_pool_connections"), "{text}");
}

#[tokio::test]
async fn metrics_are_refused_to_requests_relayed_by_a_proxy() {
    let app = spawn_app().await;
    let response = app
        .api
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .expect("GET");
    assert_problem(response, 403, "metrics_forbidden").await;
}

#[tokio::test]
async fn metrics_are_open_on_the_admin_listener() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_ADMIN_LISTEN".into(), "127.0.0.1:0".into());
    })
    .await;
    let admin_port = app.admin_port.expect("admin listener bound");
    assert_ne!(admin_port, app.port);
    let response = app
        .api
        .get(format!("http://127.0.0.1:{admin_port}/metrics"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    let doc: serde_json::Value = response.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().expect("version").starts_with("3."),
        "{doc}"
    );
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/echo"] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());
    // The attempt paper admits no key it does not declare: a paper that leaked one (an
    // answer key, say) fails schema conformance in scripts/schemathesis.sh.
    for schema in ["Attempt", "ShownQuestion", "ShownOption", "AttemptResult"] {
        assert_eq!(
            doc["components"]["schemas"][schema]["additionalProperties"],
            serde_json::json!(false),
            "{schema}: {}",
            doc["components"]["schemas"][schema]
        );
    }
}

/// What the shared machinery answers is listed on every operation it applies to (found
/// missing by scripts/schemathesis.sh), and each response names its own schema.
#[tokio::test]
async fn openapi_document_lists_the_problems_every_operation_can_answer() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .get("/api/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let at = format!("{method} {path}");
            let responses = &operation["responses"];
            let listed = |status: &str| responses.get(status).is_some();
            let bearer = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if bearer {
                assert!(listed("401"), "{at} takes a token but does not list 401");
            }
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if params.iter().any(|p| p["in"] == "path") {
                assert!(listed("404"), "{at}: a path that names nothing is 404");
            }
            if params.iter().any(|p| p["in"] == "query") {
                assert!(
                    listed("400"),
                    "{at}: a query string that cannot be read is 400"
                );
            }
            if params.iter().any(|p| p["name"] == "limit") {
                assert!(listed("422"), "{at}: limit 1–500 is checked");
            }
            if let Some(body) = operation.get("requestBody") {
                for status in ["400", "408", "413"] {
                    assert!(
                        listed(status),
                        "{at} takes a body but does not list {status}"
                    );
                }
                if body["content"].get("application/json").is_some() {
                    assert!(
                        listed("415") && listed("422"),
                        "{at}: JSON body without 415/422"
                    );
                }
            }
            if path.starts_with("/api/v1/") && path != "/api/v1/echo" {
                assert!(listed("503"), "{at} needs PostgreSQL but does not list 503");
            }
            for status in ["429", "503"] {
                if let Some(response) = responses.get(status) {
                    assert!(
                        response["headers"].get("Retry-After").is_some(),
                        "{at}: {status} without Retry-After"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} operations");

    // Two schemas named ImportReport left the units import pointing at the questions' one.
    let units = &doc["paths"]["/api/v1/units/import"]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(units, "#/components/schemas/UnitImportReport");
    let report = &doc["components"]["schemas"]["UnitImportReport"];
    assert_eq!(
        report["required"],
        serde_json::json!(["imported", "errors"]),
        "{report}"
    );
    let questions = &doc["paths"]["/api/v1/contests/{contest}/questions/import"]["post"]["responses"]
        ["200"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(questions, "#/components/schemas/ImportReport");
    // The echo takes any JSON document, not only objects.
    let echo = &doc["paths"]["/api/v1/echo"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert!(echo.get("type").is_none(), "{echo}");
}

#[tokio::test]
async fn docs_are_served() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("text");
    assert!(html.contains("swagger"), "{html}");
    let config = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(config.status().as_u16(), 200);
    assert!(
        config
            .text()
            .await
            .expect("text")
            .contains("/api/openapi.json")
    );
}

#[tokio::test]
async fn echo_answers_the_body_with_the_server_time() {
    let app = spawn_app().await;
    let before = chrono::Utc::now();
    let response = app
        .api
        .post(app.url("/api/v1/echo"))
        .json(&serde_json::json!({"họ_tên": "Nguyễn Thị Hoà", "n": [1, 2]}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body["echo"]["họ_tên"], "Nguyễn Thị Hoà",
        "Vietnamese round-trips unchanged"
    );
    let server_time: chrono::DateTime<chrono::Utc> = body["server_time"]
        .as_str()
        .expect("server_time")
        .parse()
        .expect("RFC 3339");
    assert!(server_time >= before - chrono::Duration::seconds(5));
}
