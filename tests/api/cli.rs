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
