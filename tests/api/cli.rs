//! The `hoithi` binary: `migrate` on an empty and on a migrated database; `serve`'s
//! refusal of a weak JWT secret.

use std::process::Command;

use crate::helpers::{TestDatabase, test_env};

fn hoithi() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoithi"));
    // The child gets exactly the variables a test names, not the developer's.
    for var in [
        "DATABASE_URL",
        "REDIS_URL",
        "HOITHI_JWT_SECRET",
        "HOITHI_LISTEN",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[tokio::test]
async fn migrate_works_on_an_empty_database_and_again_on_a_migrated_one() {
    let db = TestDatabase::create_unmigrated().await;
    for run in 1..=2 {
        let output = hoithi()
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .output()
            .expect("running hoithi migrate");
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("up to date"), "run {run}: {stdout}");
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('accounts', 'units', 'contests', 'rounds', 'attempts', 'audit_log')",
    )
    .fetch_one(&db.pool)
    .await
    .expect("counting tables");
    assert_eq!(tables, 6);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&db.pool)
        .await
        .expect("counting migrations");
    assert_eq!(
        applied,
        i64::try_from(hoithi::db::MIGRATOR.iter().count()).expect("small")
    );
}

#[test]
fn migrate_without_database_url_fails_with_a_clear_message() {
    let output = hoithi()
        .arg("migrate")
        .output()
        .expect("running hoithi migrate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL is not set"), "{stderr}");
}

#[test]
fn serve_refuses_a_jwt_secret_shorter_than_32_bytes() {
    let mut env = test_env("postgres://postgres@127.0.0.1:1/none", "hoithi_test:cli:");
    env.insert("HOITHI_JWT_SECRET".into(), "too-short-secret".into());
    let output = hoithi()
        .arg("serve")
        .envs(&env)
        .output()
        .expect("running hoithi serve");
    assert!(!output.status.success(), "serve must refuse to start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("HOITHI_JWT_SECRET") && stderr.contains("at least 32"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_to_start_without_a_jwt_secret() {
    let mut env = test_env("postgres://postgres@127.0.0.1:1/none", "hoithi_test:cli:");
    env.remove("HOITHI_JWT_SECRET");
    let output = hoithi()
        .arg("serve")
        .envs(&env)
        .output()
        .expect("running hoithi serve");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("HOITHI_JWT_SECRET is not set"));
}

/// Runs `hoithi` with `stdin` piped in.
fn run_with_stdin(args: &[&str], database_url: &str, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = hoithi()
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawning hoithi");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writing stdin");
    child.wait_with_output().expect("waiting for hoithi")
}

#[tokio::test]
async fn staff_accounts_are_made_listed_and_changed_from_the_cli() {
    let app = crate::helpers::spawn_app().await;
    let url = app.db.url.clone();
    let created = run_with_stdin(
        &[
            "user",
            "create",
            "--role",
            "organizer",
            "--login",
            "BTC@Example.org",
            "--name",
            "Ban Tổ Chức",
            "--password-stdin",
        ],
        &url,
        "a long staff password\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    let login = app.login("btc@example.org", "a long staff password").await;
    assert_eq!(
        login.status().as_u16(),
        200,
        "the CLI-made account signs in"
    );

    let duplicate = run_with_stdin(
        &[
            "user",
            "create",
            "--role",
            "judge",
            "--login",
            "btc@example.org",
            "--name",
            "X",
            "--password-stdin",
        ],
        &url,
        "another password\n",
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));

    let changed = run_with_stdin(
        &[
            "user",
            "set-role",
            "--login",
            "btc@example.org",
            "--role",
            "judge",
        ],
        &url,
        "",
    );
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let listed = run_with_stdin(&["user", "list"], &url, "");
    let out = String::from_utf8_lossy(&listed.stdout);
    assert!(
        out.contains("judge") && out.contains("btc@example.org") && out.contains("Ban Tổ Chức"),
        "{out}"
    );

    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor_kind = 'cli' AND action IN ('account.create', 'account.set_role')",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(audited, 2);

    let unknown = run_with_stdin(
        &[
            "user",
            "set-role",
            "--login",
            "nobody@example.org",
            "--role",
            "admin",
        ],
        &url,
        "",
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));

    let weak = run_with_stdin(
        &[
            "user",
            "create",
            "--role",
            "admin",
            "--login",
            "a@example.org",
            "--name",
            "A",
            "--password-stdin",
        ],
        &url,
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8"));
}

#[tokio::test]
async fn units_are_imported_from_a_file_by_the_cli() {
    let db = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("hoithi-units-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("units.csv");
    std::fs::write(
        &good,
        "code,name,parent_code,member_count\nQN,Quảng Ninh,,0\nQN-HL,Hạ Long,QN,800\n",
    )
    .expect("write");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "code,name,parent_code,member_count\nX,Orphan,NOPE,1\n",
    )
    .expect("write");

    let ok = run_with_stdin(
        &["units", "import", good.to_str().expect("utf8")],
        &db.url,
        "",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("imported 2 units"));

    let failed = run_with_stdin(
        &["units", "import", bad.to_str().expect("utf8")],
        &db.url,
        "",
    );
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("bad.csv:2:") && stderr.contains("NOPE"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
