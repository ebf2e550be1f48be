//! Registration, login, refresh, logout, the caller's profile, token tampering and the
//! login rate limit.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::helpers::{JWT_SECRET, MEMBER_PASSWORD, STAFF_PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn registration_answers_the_member_and_a_token_pair() {
    let app = spawn_app().await;
    let body = app.register("0912 345 678").await;
    assert_eq!(body["member"]["phone"], "+84912345678");
    assert_eq!(body["member"]["full_name"], "Trần Thị Lan");
    assert_eq!(body["member"]["role"], "member");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 40)
    );
    assert!(body["member"].get("password_hash").is_none());
    // The password is stored as an argon2id hash, never as typed.
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn every_accepted_phone_form_registers_normalised() {
    let app = spawn_app().await;
    for (input, stored) in [
        ("0912345678", "+84912345678"),
        ("+84 387 654 321", "+84387654321"),
        ("84.567.654.321", "+84567654321"),
        ("0707-654-321", "+84707654321"),
    ] {
        let body = app.register(input).await;
        assert_eq!(body["member"]["phone"], stored, "{input}");
    }
}

#[tokio::test]
async fn the_same_phone_in_another_format_is_a_409() {
    let app = spawn_app().await;
    app.register("0912345678").await;
    for again in ["+84912345678", "84 912 345 678", "0912.345.678"] {
        let response = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"phone": again, "full_name": "Người khác", "password": "password123"}),
            )
            .await;
        assert_problem(response, 409, "phone_taken").await;
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn invalid_fields_are_all_named_at_once() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"phone": "024 3825 1234", "full_name": "  ", "password": "short",
                    "birth_year": 1850, "id_number": "12345", "gender": "x"}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    for field in [
        "phone",
        "full_name",
        "password",
        "birth_year",
        "id_number",
        "gender",
    ] {
        assert!(
            body["errors"][field].is_array(),
            "{field} missing from {body}"
        );
    }
}

#[tokio::test]
async fn a_member_cannot_register_as_admin() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"phone": "0912345678", "full_name": "Lan", "password": "password123", "role": "admin"}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert!(body["errors"]["role"].is_array(), "{body}");
}

#[tokio::test]
async fn unit_code_must_name_an_existing_unit() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"phone": "0912345678", "full_name": "Lan", "password": "password123", "unit_code": "NOPE"}),
        )
        .await;
    let body = assert_problem(response, 422, "validation_failed").await;
    assert!(body["errors"]["unit_code"].is_array(), "{body}");

    sqlx::query("INSERT INTO units (code, name) VALUES ('HN', 'Hội LHPN Hà Nội')")
        .execute(&app.db.pool)
        .await
        .expect("unit");
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"phone": "0912345678", "full_name": "Lan", "password": "password123", "unit_code": "HN",
                    "birth_year": 1985, "id_number": "001185012345", "gender": "nữ"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body["member"]["unit"],
        json!({"code": "HN", "name": "Hội LHPN Hà Nội"})
    );
    assert_eq!(body["member"]["gender"], "female");
    assert_eq!(body["member"]["id_number"], "001185012345");
}

#[tokio::test]
async fn id_number_is_unique() {
    let app = spawn_app().await;
    let body = |phone: &str| json!({"phone": phone, "full_name": "Lan", "password": "password123", "id_number": "001185012345"});
    let first = app
        .post_json("/api/v1/auth/register", &body("0912345678"))
        .await;
    assert_eq!(first.status().as_u16(), 201);
    let second = app
        .post_json("/api/v1/auth/register", &body("0912345679"))
        .await;
    assert_problem(second, 409, "id_number_taken").await;
}

#[tokio::test]
async fn login_works_with_any_phone_form_and_staff_email() {
    let app = spawn_app().await;
    app.register("0912345678").await;
    for login in ["0912345678", "+84912345678", "84 912 345 678"] {
        let response = app.login(login, MEMBER_PASSWORD).await;
        assert_eq!(response.status().as_u16(), 200, "{login}");
        let body: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(body["token_type"], "Bearer");
    }
    app.staff("organizer", "btc@hoilhpn.vn").await;
    assert_eq!(
        app.login("BTC@HoiLHPN.vn", STAFF_PASSWORD)
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_login_look_the_same() {
    let app = spawn_app().await;
    app.register("0912345678").await;
    let wrong = assert_problem(
        app.login("0912345678", "not the password").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_problem(
        app.login("0987654321", "not the password").await,
        401,
        "invalid_credentials",
    )
    .await;
    let junk = assert_problem(
        app.login("nobody", "not the password").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, junk);
}

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = spawn_app().await;
    let registered = app.register("0912345678").await;
    let token = registered["access_token"].as_str().expect("token");

    let me = app.get_with("/api/v1/me", token).await;
    assert_eq!(me.status().as_u16(), 200);
    let body: serde_json::Value = me.json().await.expect("JSON");
    assert_eq!(body["id"], registered["member"]["id"]);

    let none = app.get("/api/v1/me").await;
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_problem(none, 401, "unauthorized").await;

    // A payload edited to claim admin keeps its old signature: refused.
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
    let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"member\"", "\"admin\""));
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_problem(
        app.get_with("/api/v1/me", &tampered).await,
        401,
        "unauthorized",
    )
    .await;

    // `alg: none` with no signature: refused.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_problem(
        app.get_with("/api/v1/me", &unsigned).await,
        401,
        "unauthorized",
    )
    .await;

    // Signed with the right key but expired: refused.
    let keys = hoithi::auth::JwtKeys::new(&secrecy::SecretString::from(JWT_SECRET.to_owned()));
    let id = registered["member"]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let (expired, _) = keys
        .issue(
            id,
            hoithi::domain::Role::Member,
            uuid::Uuid::now_v7(),
            chrono::Utc::now() - chrono::Duration::minutes(16),
        )
        .expect("issue");
    assert_problem(
        app.get_with("/api/v1/me", &expired).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = spawn_app().await;
    let registered = app.register("0912345678").await;
    let first = registered["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let response = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": first}))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let pair: serde_json::Value = response.json().await.expect("JSON");
    let second = pair["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(first, second);
    assert_eq!(
        app.get_with("/api/v1/me", pair["access_token"].as_str().expect("access"))
            .await
            .status()
            .as_u16(),
        200
    );

    // The rotated token presented again: refused, and the whole family with it.
    let reuse = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": first}))
        .await;
    assert_problem(reuse, 401, "refresh_token_reused").await;
    let after = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": second}))
        .await;
    assert_problem(after, 401, "invalid_refresh_token").await;

    let junk = app
        .post_json("/api/v1/auth/refresh", &json!({"refresh_token": "junk"}))
        .await;
    assert_problem(junk, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn logout_revokes_the_session_but_not_others() {
    let app = spawn_app().await;
    let registered = app.register("0912345678").await;
    let other: serde_json::Value = app
        .login("0912345678", MEMBER_PASSWORD)
        .await
        .json()
        .await
        .expect("JSON");

    let response = app
        .api
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(registered["access_token"].as_str().expect("access"))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 204);

    let refresh = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": registered["refresh_token"]}),
        )
        .await;
    assert_problem(refresh, 401, "invalid_refresh_token").await;
    let other_session = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": other["refresh_token"]}),
        )
        .await;
    assert_eq!(
        other_session.status().as_u16(),
        200,
        "the other device stays signed in"
    );

    assert_problem(
        app.api
            .post(app.url("/api/v1/auth/logout"))
            .send()
            .await
            .expect("POST"),
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn profile_changes_are_limited_to_the_members_own_fields() {
    let app = spawn_app().await;
    let registered = app.register("0912345678").await;
    let token = registered["access_token"].as_str().expect("access");
    let patch = |body: serde_json::Value| {
        app.api
            .patch(app.url("/api/v1/me"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let response = patch(
        json!({"full_name": " Trần  Thị Lan Anh ", "gender": "nữ", "address": "Thôn 3, xã Yên Sở"}),
    )
    .await
    .expect("PATCH");
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(body["full_name"], "Trần Thị Lan Anh");
    assert_eq!(body["gender"], "female");

    for forbidden in [
        json!({"role": "admin"}),
        json!({"phone": "0987654321"}),
        json!({"id": "x"}),
    ] {
        let response = patch(forbidden.clone()).await.expect("PATCH");
        assert_problem(response, 422, "validation_failed").await;
    }
    let me: serde_json::Value = app
        .get_with("/api/v1/me", token)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["role"], "member");
    assert_eq!(me["phone"], "+84912345678");

    // null clears an optional field; absent leaves it.
    let cleared: serde_json::Value = patch(json!({"gender": null}))
        .await
        .expect("PATCH")
        .json()
        .await
        .expect("JSON");
    assert!(cleared["gender"].is_null());
    assert_eq!(cleared["address"], "Thôn 3, xã Yên Sở");
}

#[tokio::test]
async fn failed_logins_are_limited_per_login_across_phone_forms() {
    let app = spawn_app().await;
    app.register("0912345678").await;
    for attempt in 0..10 {
        // Alternate forms: they count against the same login.
        let login = if attempt % 2 == 0 {
            "0912345678"
        } else {
            "+84 912 345 678"
        };
        assert_problem(
            app.login(login, "wrong password").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let limited = app.login("0912345678", MEMBER_PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429, "rate_limited").await;

    // Another member's login is not affected, and the counters live under the app's prefix.
    app.register("0987654321").await;
    assert_eq!(
        app.login("0987654321", MEMBER_PASSWORD)
            .await
            .status()
            .as_u16(),
        200
    );
    let keys = app.redis_keys().await;
    assert!(
        keys.iter().any(|k| k.contains(":rl:login_failed:")),
        "{keys:?}"
    );
    assert!(
        keys.iter().all(|k| !k.contains("912345678")),
        "no phone number in a key: {keys:?}"
    );
}
