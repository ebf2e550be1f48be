//! `spawn_app()`: the real server on a free port, against a fresh database (created,
//! migrated, dropped when the `TestApp` is dropped) and its own Redis key prefix.
//!
//! `DATABASE_URL` names the server the test databases are created on and `REDIS_URL` the
//! Redis; `scripts/test.sh` sets both. `TEST_LOG=1` prints the server's logs.

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::dev::ServerHandle;
use hoithi::config::Settings;
use hoithi::kv::Redis;
use hoithi::startup::Application;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

pub const MEMBER_PASSWORD: &str = "mật khẩu 123";
pub const STAFF_PASSWORD: &str = "staff password 456";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        hoithi::telemetry::init("debug", std::io::stdout);
    } else {
        hoithi::telemetry::init("debug", std::io::sink);
    }
});

pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must name a PostgreSQL server the tests may create databases on; run scripts/test.sh")
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned())
}

/// `postgres://u@h:p/olddb?x` → `postgres://u@h:p/NAME?x`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database of its own, migrated; dropped by `TestDatabase::drop`.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let db = Self::create_unmigrated().await;
        hoithi::db::migrate(&db.pool)
            .await
            .expect("migrating the test database");
        db
    }

    /// An empty database, for testing `hoithi migrate` itself.
    pub async fn create_unmigrated() -> Self {
        let name = format!("hoithi_test_{}", Uuid::new_v4().simple());
        let admin = admin_database_url();
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("connecting to the test PostgreSQL server");
        conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("creating the test database");
        conn.close().await.ok();
        let url = with_database(&admin, &name);
        let pool = PgPool::connect(&url)
            .await
            .expect("connecting to the test database");
        Self { name, url, pool }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database_blocking(self.name.clone());
    }
}

/// Drops a test database from a thread of its own (Drop cannot await).
pub fn drop_database_blocking(name: String) {
    let admin = admin_database_url();
    let result = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let mut conn = PgConnection::connect(&admin).await?;
            conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                .await?;
            conn.close().await
        })
    })
    .join();
    if let Ok(Err(e)) = result {
        eprintln!("warning: dropping a test database failed: {e}");
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub admin_port: Option<u16>,
    pub api: reqwest::Client,
    pub redis_prefix: String,
    /// The app's own database; dropped (with the connections the server holds) after the
    /// server is told to stop.
    #[allow(dead_code)] // not every test reads it, but every test holds it
    pub db: TestDatabase,
    handle: ServerHandle,
}

/// The variables a test server (or a `hoithi` child process) runs with.
pub fn test_env(database_url: &str, redis_prefix: &str) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("REDIS_URL".to_owned(), redis_url()),
        ("HOITHI_REDIS_PREFIX".to_owned(), redis_prefix.to_owned()),
        ("HOITHI_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
        ("HOITHI_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("HOITHI_WORKERS".to_owned(), "2".to_owned()),
        ("HOITHI_DB_MAX_CONNECTIONS".to_owned(), "5".to_owned()),
        ("HOITHI_DB_ACQUIRE_TIMEOUT_MS".to_owned(), "1000".to_owned()),
        ("HOITHI_SHUTDOWN_TIMEOUT_SECONDS".to_owned(), "5".to_owned()),
    ])
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like `spawn_app`, with the environment changed first (an unreachable Redis, an admin
/// listener…).
pub async fn spawn_app_with(customize: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    LazyLock::force(&TRACING);
    let db = TestDatabase::create().await;
    let redis_prefix = format!("hoithi_test:{}:", Uuid::new_v4().simple());
    let mut env = test_env(&db.url, &redis_prefix);
    customize(&mut env);
    let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("valid test settings");
    let app_pool = hoithi::db::connect_lazy(&settings.database).expect("a pool");
    let redis = Redis::connect_lazy(&settings.redis).expect("a Redis handle");
    let app = Application::build_with(settings, app_pool, redis).expect("building the application");
    let port = app.port();
    let admin_port = app.admin_port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        admin_port,
        api: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client"),
        redis_prefix,
        db,
        handle,
    }
}

/// A second server on the same database and Redis prefix, as a second instance behind a
/// load balancer would be. Stopped when dropped.
pub struct Sibling {
    pub address: String,
    handle: ServerHandle,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    pub fn sibling(&self) -> Sibling {
        let env = test_env(&self.db.url, &self.redis_prefix);
        let settings =
            Settings::from_lookup(&|k| env.get(k).cloned()).expect("valid test settings");
        let pool = hoithi::db::connect_lazy(&settings.database).expect("a pool");
        let redis = Redis::connect_lazy(&settings.redis).expect("a Redis handle");
        let app = Application::build_with(settings, pool, redis).expect("building a sibling");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Sibling { address, handle }
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.api
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST failed")
    }

    /// Registers a member and answers the 201 body (member and tokens).
    pub async fn register(&self, phone: &str) -> serde_json::Value {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({"phone": phone, "full_name": "Trần Thị Lan", "password": MEMBER_PASSWORD}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201, "registering {phone}");
        response.json().await.expect("JSON")
    }

    /// A judge account on `contest`'s staff (id given as text); answers its access token.
    pub async fn judge_of(&self, contest: &str, email: &str) -> String {
        let token = self.staff("judge", email).await;
        sqlx::query(
            "INSERT INTO contest_staff (contest_id, account_id, role)
             SELECT $1::uuid, id, 'judge' FROM accounts WHERE email = $2",
        )
        .bind(contest)
        .bind(email)
        .execute(&self.db.pool)
        .await
        .expect("a judge on the contest's staff");
        token
    }

    /// Registers a member and answers their access token.
    pub async fn member_token(&self, phone: &str) -> String {
        self.register(phone).await["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    pub async fn login(&self, login: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"login": login, "password": password}),
        )
        .await
    }

    /// A staff account made the way the CLI makes them; answers its access token.
    pub async fn staff(&self, role: &str, email: &str) -> String {
        let hasher = hoithi::auth::PasswordHasher::new(1);
        let password = hoithi::domain::Password::parse(STAFF_PASSWORD.to_owned()).expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        sqlx::query("INSERT INTO accounts (id, role, email, full_name, password_hash) VALUES ($1, $2, $3, 'Ban tổ chức', $4)")
            .bind(Uuid::now_v7())
            .bind(role)
            .bind(email)
            .bind(hash)
            .execute(&self.db.pool)
            .await
            .expect("inserting staff");
        let response = self.login(email, STAFF_PASSWORD).await;
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Any request, with a bearer token and a JSON body when given.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self.api.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request failed")
    }

    /// Sends and expects `status`; answers the JSON body (`null` when empty).
    pub async fn expect(
        &self,
        status: u16,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let response = self.send(method.clone(), path, token, body).await;
        let got = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(got, status, "{method} {path}: {text}");
        if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        }
    }

    /// Closes an open round now (`token`: its organiser); expects 200.
    pub async fn close_round(&self, round: &str, token: &str) {
        let path = format!("/api/v1/rounds/{round}/close");
        self.expect(200, reqwest::Method::POST, &path, Some(token), None)
            .await;
    }

    /// Finalizes a closed round (`token`: its judge); answers the result.
    pub async fn finalize_round(&self, round: &str, token: &str) -> serde_json::Value {
        let path = format!("/api/v1/rounds/{round}/finalize");
        self.expect(200, reqwest::Method::POST, &path, Some(token), None)
            .await
    }

    /// A draft contest owned by `token`'s organiser; answers its JSON.
    pub async fn create_contest(&self, token: &str, slug: &str) -> serde_json::Value {
        self.expect(
            201,
            reqwest::Method::POST,
            "/api/v1/contests",
            Some(token),
            Some(&serde_json::json!({"slug": slug, "title": format!("Cuộc thi {slug}")})),
        )
        .await
    }

    /// Adds `count` single-answer questions to a contest's bank, cycling through
    /// `categories` and the three difficulties.
    pub async fn add_questions(
        &self,
        token: &str,
        contest: &str,
        count: usize,
        categories: &[&str],
    ) {
        let levels = ["easy", "medium", "hard"];
        for i in 0..count {
            self.expect(
                201,
                reqwest::Method::POST,
                &format!("/api/v1/contests/{contest}/questions"),
                Some(token),
                Some(&serde_json::json!({
                    "text": format!("Câu hỏi số {i}?"),
                    "kind": "single",
                    "options": [{"text": "Đúng", "correct": true}, {"text": "Sai", "correct": false}],
                    "category": categories[i % categories.len()],
                    "difficulty": levels[i % levels.len()],
                })),
            )
            .await;
        }
    }

    pub async fn get_with(&self, path: &str, token: &str) -> reqwest::Response {
        self.api
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET failed")
    }

    /// Every Redis key under this test's prefix.
    pub async fn redis_keys(&self) -> Vec<String> {
        let client = redis::Client::open(redis_url()).expect("REDIS_URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connecting to Redis");
        redis::cmd("KEYS")
            .arg(format!("{}*", self.redis_prefix))
            .query_async(&mut conn)
            .await
            .expect("KEYS")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.api
            .get(self.url(path))
            .send()
            .await
            .expect("GET failed")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the future only waits for it to finish.
        drop(self.handle.stop(false));
        let prefix = self.redis_prefix.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let Ok(client) = redis::Client::open(redis_url()) else {
                    return;
                };
                let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                    return;
                };
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}*"))
                    .query_async(&mut conn)
                    .await
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: redis::RedisResult<()> =
                        redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// Asserts a problem+json answer and returns its body.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content-type was {content_type:?}"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON problem body");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("urn:hoithi:problem:{code}"), "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

#[test]
fn database_name_is_replaced_keeping_the_query() {
    assert_eq!(
        with_database("postgres://u:p@h:5/old?sslmode=disable", "new"),
        "postgres://u:p@h:5/new?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://u@h:5", "new"),
        "postgres://u@h:5/new"
    );
}
