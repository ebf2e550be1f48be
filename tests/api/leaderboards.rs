//! Live leaderboards: Redis's order equals PostgreSQL's exactly (ties included) whether the
//! board is rebuilt or kept up submission by submission; the member's place; the contest
//! standing; and Redis vanishing mid-round.

use std::process::{Child, Command, Stdio};

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use hoithi::config::Settings;
use hoithi::domain::round::RankKey;
use hoithi::kv::Redis;
use hoithi::leaderboard::board::{self, RoundContext};
use hoithi::leaderboard::encoding::{Entry, live_keys};

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with, test_env};

/// A published contest with `rounds` open rounds of 2 questions each (ranking chain
/// `chain`); answers the organiser's token, the contest id and the round ids.
async fn contest(app: &TestApp, rounds: usize, chain: Value) -> (String, String, Vec<String>) {
    let organiser = app.staff("organizer", "btc@example.org").await;
    let contest = app.create_contest(&organiser, "bang-xep-hang").await;
    let contest = contest["id"].as_str().expect("id").to_owned();
    app.add_questions(&organiser, &contest, 4, &["A"]).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for number in 1..=rounds {
        let round = app
            .expect(201, Method::POST, &format!("/api/v1/contests/{contest}/rounds"), Some(&organiser), Some(&json!({
                "number": number, "title": format!("Tuần {number}"),
                "opens_at": (now - Duration::hours(1)).to_rfc3339(),
                "closes_at": (now + Duration::days(7)).to_rfc3339(),
                "question_count": 2, "time_limit_seconds": 600, "max_attempts": 3,
                "prediction": {"prompt": "?", "target": "entries"}, "ranking": chain, "prizes": [],
            })))
            .await;
        ids.push(round["id"].as_str().expect("id").to_owned());
    }
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/contests/{contest}/publish"),
        Some(&organiser),
        None,
    )
    .await;
    (organiser, contest, ids)
}

/// Fills a round with random ended attempts by `members` members (1–3 each), drawn so that
/// ties on correct, duration and submission time are common. Answers the attempts.
async fn random_entries(app: &TestApp, round: Uuid, members: usize, seed: u64) -> Vec<Entry> {
    let mut rng = StdRng::seed_from_u64(seed);
    let base = Utc::now() - Duration::minutes(30);
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE role = 'member' ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .expect("members");
    let ids = if ids.len() >= members {
        ids
    } else {
        let start = ids.len();
        let new: Vec<Uuid> = (start..members).map(|_| Uuid::now_v7()).collect();
        let phones: Vec<String> = (start..members).map(|i| format!("+8491{i:07}")).collect();
        sqlx::query(
            "INSERT INTO accounts (id, role, phone, full_name, password_hash)
             SELECT id, 'member', phone, 'Hội viên ' || phone, 'x' FROM UNNEST($1::uuid[], $2::text[]) AS t(id, phone)",
        )
        .bind(&new)
        .bind(&phones)
        .execute(&app.db.pool)
        .await
        .expect("members");
        ids.into_iter().chain(new).collect()
    };
    let mut entries = Vec::new();
    for member in ids.iter().take(members) {
        for _ in 0..rng.random_range(1..=3) {
            entries.push(Entry {
                member_id: *member,
                // Random ids: the last tie-break must not follow the member order by luck.
                attempt_id: Uuid::new_v4(),
                correct: rng.random_range(0..=2),
                duration_ms: 1000 * rng.random_range(1..=3),
                submitted_at: base + Duration::seconds(rng.random_range(0..3)),
            });
        }
    }
    let mut numbers = std::collections::HashMap::new();
    let attempt_ids: Vec<Uuid> = entries.iter().map(|e| e.attempt_id).collect();
    let member_ids: Vec<Uuid> = entries.iter().map(|e| e.member_id).collect();
    let number: Vec<i16> = entries
        .iter()
        .map(|e| {
            let n = numbers.entry(e.member_id).or_insert(0_i16);
            *n += 1;
            *n
        })
        .collect();
    let correct: Vec<i16> = entries.iter().map(|e| e.correct as i16).collect();
    let duration: Vec<i32> = entries.iter().map(|e| e.duration_ms as i32).collect();
    let submitted: Vec<chrono::DateTime<Utc>> = entries.iter().map(|e| e.submitted_at).collect();
    sqlx::query(
        "INSERT INTO attempts (id, round_id, member_id, number, state, started_at, deadline,
                               paper_revisions, paper_option_order, answers, prediction,
                               submitted_at, duration_ms, correct, total)
         SELECT t.id, $1, t.member, t.n, 'submitted', t.at - make_interval(secs => t.d / 1000.0),
                t.at + interval '1 hour', ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY[8, 8],
                ARRAY[0, 0]::smallint[], 0, t.at, t.d, t.c, 2
         FROM UNNEST($2::uuid[], $3::uuid[], $4::smallint[], $5::smallint[], $6::int[], $7::timestamptz[])
              AS t(id, member, n, c, d, at)",
    )
    .bind(round)
    .bind(&attempt_ids)
    .bind(&member_ids)
    .bind(&number)
    .bind(&correct)
    .bind(&duration)
    .bind(&submitted)
    .execute(&app.db.pool)
    .await
    .expect("attempts");
    entries
}

/// The round's order by an independent SQL statement: each member's best attempt, then
/// the members, both by `order`.
async fn expected_order(app: &TestApp, round: Uuid, order: &str) -> Vec<Uuid> {
    sqlx::query_scalar(&format!(
        "SELECT member_id FROM (
             SELECT DISTINCT ON (member_id) * FROM attempts
             WHERE round_id = $1 AND state <> 'in_progress' ORDER BY member_id, {order}) best
         ORDER BY {order}"
    ))
    .bind(round)
    .fetch_all(&app.db.pool)
    .await
    .expect("expected order")
}

async fn http_order(app: &TestApp, path: &str) -> Vec<Uuid> {
    let mut order = Vec::new();
    loop {
        let page = app
            .expect(
                200,
                Method::GET,
                &format!("{path}?limit=500&offset={}", order.len()),
                None,
                None,
            )
            .await;
        let items = page["items"].as_array().expect("items");
        if items.is_empty() {
            return order;
        }
        for item in items {
            assert_eq!(
                item["rank"].as_u64(),
                Some((order.len() + 1) as u64),
                "ranks count up"
            );
            order.push(
                item["member_id"]
                    .as_str()
                    .expect("member")
                    .parse()
                    .expect("uuid"),
            );
        }
    }
}

fn redis_for(app: &TestApp) -> Redis {
    let env = test_env(&app.db.url, &app.redis_prefix);
    let settings = Settings::from_lookup(&|k| env.get(k).cloned()).expect("settings");
    Redis::connect_lazy(&settings.redis).expect("redis")
}

/// Takes the round board's first entry off its Redis set, as a server killed (or cut off
/// from PostgreSQL) between committing an entry and recording it would leave it, then
/// waits out the page cache so the next read sees the hole.
async fn drop_first_entry(app: &TestApp, round: &str) {
    let redis = redis_for(app);
    let keys = board::RoundKeys::new(&redis, round.parse().expect("uuid"));
    let first: Vec<Vec<u8>> = redis::cmd("ZRANGE")
        .arg(&keys.set)
        .arg(0)
        .arg(0)
        .query_async(&mut redis.conn())
        .await
        .expect("ZRANGE");
    let _: () = redis::cmd("ZREM")
        .arg(&keys.set)
        .arg(&first[0])
        .query_async(&mut redis.conn())
        .await
        .expect("ZREM");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // the page cache
}

#[tokio::test]
async fn redis_orders_thousands_of_tied_entries_exactly_as_postgresql_does() {
    let app = spawn_app().await;
    for (chain, order) in [
        (
            json!(["correct", "prediction", "duration", "submitted_at"]),
            "correct DESC, duration_ms, submitted_at, id",
        ),
        (
            json!(["correct", "submitted_at", "duration"]),
            "correct DESC, submitted_at, duration_ms, id",
        ),
    ] {
        let app = if chain[1] == "prediction" {
            &app
        } else {
            &spawn_app().await
        };
        let (_, contest, rounds) = contest(app, 2, chain.clone()).await;
        let round: Uuid = rounds[0].parse().expect("uuid");
        let entries = random_entries(app, round, 1500, 7).await;
        random_entries(app, rounds[1].parse().expect("uuid"), 1200, 8).await;
        let expected = expected_order(app, round, order).await;
        assert_eq!(expected.len(), 1500);

        // Built from PostgreSQL on first read.
        let board_path = format!("/api/v1/rounds/{round}/leaderboard");
        assert_eq!(
            http_order(app, &board_path).await,
            expected,
            "rebuilt board, chain {chain}"
        );

        // Kept up entry by entry, in random order, from an empty board.
        let redis = redis_for(app);
        let keys = board::RoundKeys::new(&redis, round);
        let _: () = redis::cmd("DEL")
            .arg(&keys.set)
            .arg(&keys.best)
            .query_async(&mut redis.conn())
            .await
            .expect("DEL");
        let live = live_keys(
            &serde_json::from_value::<Vec<String>>(chain.clone())
                .expect("chain")
                .iter()
                .map(|k| match k.as_str() {
                    "duration" => RankKey::Duration,
                    "submitted_at" => RankKey::SubmittedAt,
                    "prediction" => RankKey::Prediction,
                    _ => RankKey::Correct,
                })
                .collect::<Vec<_>>(),
        );
        let round_ids: Vec<Uuid> = rounds.iter().map(|r| r.parse().expect("uuid")).collect();
        let ctx = RoundContext {
            round_id: round,
            contest_id: contest.parse().expect("uuid"),
            live: &live,
            contest_rounds: &round_ids,
        };
        let mut shuffled = entries.clone();
        shuffled.shuffle(&mut StdRng::seed_from_u64(3));
        for entry in &shuffled {
            board::record(&redis, &ctx, entry, None)
                .await
                .expect("record");
        }
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&keys.set)
            .arg(0)
            .arg(-1)
            .query_async(&mut redis.conn())
            .await
            .expect("ZRANGE");
        let incremental: Vec<Uuid> = members
            .iter()
            .map(|m| hoithi::leaderboard::encoding::member_id_of(m).expect("member"))
            .collect();
        assert_eq!(incremental, expected, "incremental board, chain {chain}");

        // The contest standing: sums of each round's counted attempt, then the member id.
        let expected_contest: Vec<Uuid> = sqlx::query_scalar(&format!(
            "WITH best AS (SELECT DISTINCT ON (round_id, member_id) * FROM attempts
                           WHERE state <> 'in_progress' ORDER BY round_id, member_id, {order})
             SELECT member_id FROM best GROUP BY member_id
             ORDER BY sum(correct) DESC, sum(duration_ms), member_id"
        ))
        .fetch_all(&app.db.pool)
        .await
        .expect("contest order");
        assert_eq!(
            http_order(app, &format!("/api/v1/contests/{contest}/leaderboard")).await,
            expected_contest,
            "contest standing, chain {chain}"
        );
    }
}

async fn submit(
    app: &TestApp,
    token: &str,
    round: &str,
    right: usize,
    key: &std::collections::HashMap<String, Value>,
) -> Value {
    let attempt = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/rounds/{round}/attempts"),
            Some(token),
            None,
        )
        .await;
    let answers: Vec<Value> = attempt["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let id = q["id"].as_str().expect("id");
            let right_option = &key[id];
            let chosen = if i < right {
                right_option.clone()
            } else {
                q["options"]
                    .as_array()
                    .expect("options")
                    .iter()
                    .find(|o| o["id"] != *right_option)
                    .expect("wrong")["id"]
                    .clone()
            };
            json!({"question_id": id, "option_ids": [chosen]})
        })
        .collect();
    app.expect(
        200,
        Method::POST,
        &format!(
            "/api/v1/attempts/{}/submit",
            attempt["id"].as_str().expect("id")
        ),
        Some(token),
        Some(&json!({"answers": answers, "prediction": 10})),
    )
    .await
}

async fn answer_key(
    app: &TestApp,
    organiser: &str,
    contest: &str,
) -> std::collections::HashMap<String, Value> {
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/questions"),
            Some(organiser),
            None,
        )
        .await;
    bank["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|q| {
            (
                q["id"].as_str().expect("id").to_owned(),
                q["options"]
                    .as_array()
                    .expect("o")
                    .iter()
                    .find(|o| o["correct"] == true)
                    .expect("right")["id"]
                    .clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn submissions_reach_the_round_and_contest_boards_with_names_and_no_phones() {
    let app = spawn_app().await;
    let (organiser, contest, rounds) = contest(
        &app,
        2,
        json!(["correct", "prediction", "duration", "submitted_at"]),
    )
    .await;
    let key = answer_key(&app, &organiser, &contest).await;
    let units = app
        .api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(&organiser)
        .header("content-type", "text/csv")
        .body("code,name,parent_code,member_count\nHN,Hà Nội,,100\nBD,Ba Đình,HN,40\n")
        .send()
        .await
        .expect("units");
    assert_eq!(units.status().as_u16(), 200);
    let mut tokens = Vec::new();
    for (phone, name) in [
        ("0912345678", "Trần Thị Lan"),
        ("0987654321", "Nguyễn Thị Hòa"),
    ] {
        let body = app
            .expect(
                201,
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(&json!({
                    "phone": phone, "full_name": name,
                    "password": crate::helpers::MEMBER_PASSWORD, "unit_code": "BD",
                })),
            )
            .await;
        tokens.push(body["access_token"].as_str().expect("token").to_owned());
    }
    let (lan, hoa) = (tokens[0].clone(), tokens[1].clone());
    let me = format!("/api/v1/rounds/{}/leaderboard/me", rounds[0]);
    let empty = app.expect(200, Method::GET, &me, Some(&lan), None).await;
    assert_eq!(
        empty,
        json!({"rank": null, "correct": null, "duration_ms": null, "total": 0})
    );

    submit(&app, &lan, &rounds[0], 1, &key).await;
    submit(&app, &hoa, &rounds[0], 2, &key).await;
    // A worse second attempt does not replace Hòa's best.
    submit(&app, &hoa, &rounds[0], 0, &key).await;
    submit(&app, &lan, &rounds[1], 2, &key).await;

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let board = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}/leaderboard", rounds[0]),
            None,
            None,
        )
        .await;
    assert_eq!(board["total"], 2);
    let correct: Vec<i64> = board["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["correct"].as_i64().expect("c"))
        .collect();
    assert_eq!(correct, [2, 1]);
    assert_eq!(board["items"][0]["display_name"], "Nguyễn Thị Hòa");
    assert_eq!(board["items"][0]["unit"], "Ba Đình");
    assert!(
        !board.to_string().contains("+849"),
        "no phone numbers on a public board"
    );
    let mine = app.expect(200, Method::GET, &me, Some(&lan), None).await;
    assert_eq!(
        (
            mine["rank"].clone(),
            mine["correct"].clone(),
            mine["total"].clone()
        ),
        (json!(2), json!(1), json!(2))
    );

    let standing = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/leaderboard"),
            None,
            None,
        )
        .await;
    let sums: Vec<i64> = standing["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["correct"].as_i64().expect("c"))
        .collect();
    assert_eq!(sums, [3, 2], "Lan: 1 + 2 over two rounds; Hòa: 2");

    // Participation per unit: two members of Ba Đình in round 1 (three attempts), kept
    // live and rebuilt alike.
    let ba_dinh: Uuid = sqlx::query_scalar("SELECT id FROM units WHERE code = 'BD'")
        .fetch_one(&app.db.pool)
        .await
        .expect("unit");
    let redis = redis_for(&app);
    let round: Uuid = rounds[0].parse().expect("uuid");
    let live = board::unit_participants(&redis, round)
        .await
        .expect("units");
    assert_eq!(live.get(&ba_dinh.to_string()), Some(&2), "{live:?}");
    let _: () = redis::cmd("DEL")
        .arg(board::RoundKeys::new(&redis, round).ready)
        .query_async(&mut redis.conn())
        .await
        .expect("DEL");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.expect(
        200,
        Method::GET,
        &format!("/api/v1/rounds/{round}/leaderboard"),
        None,
        None,
    )
    .await;
    let rebuilt = board::unit_participants(&redis, round)
        .await
        .expect("units");
    assert_eq!(rebuilt, live);
}

/// A private Redis the test can kill.
struct PrivateRedis {
    child: Child,
    port: u16,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("starting redis-server (scripts/test.sh installs it)");
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn with_redis_gone_taking_goes_on_and_boards_come_back_from_postgresql() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let redis = PrivateRedis::start(port);
    let app = spawn_app_with(|env| {
        env.insert(
            "REDIS_URL".into(),
            format!("redis://127.0.0.1:{}/", redis.port),
        );
    })
    .await;
    let (organiser, contest, rounds) = contest(&app, 1, json!(["correct", "duration"])).await;
    let key = answer_key(&app, &organiser, &contest).await;
    let lan = app.member_token("0912345678").await;
    let hoa = app.member_token("0987654321").await;
    submit(&app, &lan, &rounds[0], 1, &key).await;
    let board_path = format!("/api/v1/rounds/{}/leaderboard", rounds[0]);
    assert_eq!(
        app.expect(200, Method::GET, &board_path, None, None).await["total"],
        1
    );

    drop(redis);
    // Starting and submitting need only PostgreSQL.
    submit(&app, &hoa, &rounds[0], 2, &key).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let from_postgres = app.expect(200, Method::GET, &board_path, None, None).await;
    assert_eq!(from_postgres["total"], 2, "{from_postgres}");
    assert_eq!(from_postgres["items"][0]["correct"], 2);
    assert_problem(
        app.send(
            Method::GET,
            &format!("/api/v1/contests/{contest}/leaderboard"),
            None,
            None,
        )
        .await,
        503,
        "dependency_unavailable",
    )
    .await;

    // Redis comes back empty: the boards are rebuilt from PostgreSQL with both entries.
    let _back = PrivateRedis::start(port);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rebuilt = app.expect(200, Method::GET, &board_path, None, None).await;
    assert_eq!(rebuilt["total"], 2, "{rebuilt}");
    let standing = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/leaderboard"),
            None,
            None,
        )
        .await;
    assert_eq!(standing["total"], 2);
}

#[tokio::test]
async fn the_rebuild_command_puts_a_round_board_back_from_postgresql() {
    let app = spawn_app().await;
    let (_, _, rounds) = contest(&app, 1, json!(["correct", "duration"])).await;
    let round: Uuid = rounds[0].parse().expect("uuid");
    random_entries(&app, round, 50, 11).await;
    rebuild_round_command(&app, &rounds[0]);
    let redis = redis_for(&app);
    let keys = board::RoundKeys::new(&redis, round);
    assert!(board::is_ready(&redis, &keys.ready).await.expect("ready"));
    let size: i64 = redis::cmd("ZCARD")
        .arg(&keys.set)
        .query_async(&mut redis.conn())
        .await
        .expect("ZCARD");
    assert_eq!(size, 50);
}

/// `hoithi leaderboard rebuild --round` on a Redis that lost everything.
fn rebuild_round_command(app: &TestApp, round: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_hoithi"))
        .args(["leaderboard", "rebuild", "--round", round])
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", &app.db.url)
        .env("REDIS_URL", crate::helpers::redis_url())
        .env("HOITHI_REDIS_PREFIX", &app.redis_prefix)
        .output()
        .expect("running hoithi leaderboard rebuild");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_round_rebuilt_alone_keeps_its_contest_standing_through_the_next_submission() {
    let app = spawn_app().await;
    let (organiser, contest, rounds) = contest(&app, 2, json!(["correct", "duration"])).await;
    let key = answer_key(&app, &organiser, &contest).await;
    let first = app.member_token("+84912000101").await;
    submit(&app, &first, &rounds[0], 1, &key).await;

    // Redis comes back empty; only round 1 is rebuilt by hand.
    let redis = redis_for(&app);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.redis_prefix))
        .query_async(&mut redis.conn())
        .await
        .expect("KEYS");
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut redis.conn())
        .await
        .expect("DEL");
    rebuild_round_command(&app, &rounds[0]);
    // The contest's other round came back with it: the standing is kept from both boards.
    let round2: Uuid = rounds[1].parse().expect("uuid");
    let round2_keys = board::RoundKeys::new(&redis, round2);
    assert!(
        board::is_ready(&redis, &round2_keys.ready)
            .await
            .expect("ready")
    );
    let contest_id: Uuid = contest.parse().expect("uuid");
    let contest_keys = board::ContestKeys::new(&redis, contest_id);
    assert!(
        board::is_ready(&redis, &contest_keys.ready)
            .await
            .expect("ready")
    );

    // The next submission updates the standing instead of throwing it away.
    let second = app.member_token("+84912000102").await;
    submit(&app, &second, &rounds[0], 2, &key).await;
    assert!(
        board::is_ready(&redis, &contest_keys.ready)
            .await
            .expect("ready")
    );
    let standing = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/leaderboard"),
            None,
            None,
        )
        .await;
    assert_eq!(standing["total"], 2, "{standing}");
    assert_eq!(standing["items"][0]["correct"], 2, "{standing}");
    assert_eq!(standing["items"][1]["correct"], 1, "{standing}");
}

#[tokio::test]
async fn entries_a_killed_server_left_off_the_board_are_put_back_when_a_server_starts() {
    let app = spawn_app().await;
    let (organiser, contest, rounds) = contest(&app, 1, json!(["correct", "duration"])).await;
    let key = answer_key(&app, &organiser, &contest).await;
    for (right, phone) in ["+84912000201", "+84912000202", "+84912000203"]
        .into_iter()
        .enumerate()
    {
        let token = app.member_token(phone).await;
        submit(&app, &token, &rounds[0], right % 3, &key).await;
    }
    let path = format!("/api/v1/rounds/{}/leaderboard", rounds[0]);
    let total = || async {
        let board = app.expect(200, Method::GET, &path, None, None).await;
        board["total"].as_u64().expect("total")
    };
    assert_eq!(total().await, 3);

    // As if a server had died between committing an entry and putting it on the board.
    drop_first_entry(&app, &rounds[0]).await;
    assert_eq!(total().await, 2, "the entry is off the board");

    // A server starting (the killed one, restarted) compares the boards with PostgreSQL.
    let _restarted = app.sibling();
    let mut seen = 0;
    for _ in 0..50 {
        seen = total().await;
        if seen == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(seen, 3, "the board is whole again");
}

/// `offset` is any whole number ≥ 0; one near `i64::MAX` overflowed `offset + limit` while
/// reading the Redis page (a panic, answered 500). Found by scripts/schemathesis.sh.
#[tokio::test]
async fn a_page_far_past_the_end_is_empty_not_a_500() {
    let app = spawn_app().await;
    let (organiser, contest, rounds) = contest(
        &app,
        1,
        json!(["correct", "prediction", "duration", "submitted_at"]),
    )
    .await;
    let key = answer_key(&app, &organiser, &contest).await;
    let member = app.member_token("0912345678").await;
    submit(&app, &member, &rounds[0], 1, &key).await;
    let far = i64::MAX - 1;
    for board in [
        format!("/api/v1/rounds/{}/leaderboard", rounds[0]),
        format!("/api/v1/contests/{contest}/leaderboard"),
    ] {
        for limit in [1, 50, 500] {
            let page = app
                .expect(
                    200,
                    Method::GET,
                    &format!("{board}?offset={far}&limit={limit}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(page["items"], json!([]), "{board}: {page}");
            assert_eq!(page["total"], 1, "{board}: {page}");
        }
        let first = app
            .expect(200, Method::GET, &format!("{board}?offset=0"), None, None)
            .await;
        assert_eq!(first["items"].as_array().map(Vec::len), Some(1), "{first}");
    }
}

#[tokio::test]
async fn a_retried_submission_puts_an_entry_that_missed_the_board_back_on_it() {
    let app = spawn_app().await;
    let (organiser, contest, rounds) = contest(&app, 1, json!(["correct", "duration"])).await;
    let key = answer_key(&app, &organiser, &contest).await;
    let token = app.member_token("+84912000301").await;
    let result = submit(&app, &token, &rounds[0], 2, &key).await;
    let attempt = result["id"].as_str().expect("id");

    let path = format!("/api/v1/rounds/{}/leaderboard", rounds[0]);
    let board = app.expect(200, Method::GET, &path, None, None).await; // built on first read
    assert_eq!(board["total"], 1, "{board}");

    // As if the commit had reached PostgreSQL but its answer, and the board update, had
    // not (PostgreSQL went down between the two).
    drop_first_entry(&app, &rounds[0]).await;
    let board = app.expect(200, Method::GET, &path, None, None).await;
    assert_eq!(board["total"], 0, "{board}");

    // The app retries: the stored result, and the entry back on the board.
    let again = app
        .expect(
            200,
            Method::POST,
            &format!("/api/v1/attempts/{attempt}/submit"),
            Some(&token),
            Some(&json!({"answers": [], "prediction": 10})),
        )
        .await;
    assert_eq!(again, result);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let board = app.expect(200, Method::GET, &path, None, None).await;
    assert_eq!(board["total"], 1, "{board}");
    assert_eq!(board["items"][0]["correct"], 2, "{board}");
}
