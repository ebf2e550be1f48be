//! Finalizing: the true value, each level of the tie-break chain (and a reordered chain),
//! the prize ladder with its exclusions and cap, one prize per person over two rounds,
//! disqualification passing the prize down, concurrent finalizing, and who may do it.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, spawn_app_with};

/// A server with no submission grace, so a round can be finalized right after it closes.
async fn judging_app() -> TestApp {
    spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "0".into());
    })
    .await
}

struct Round {
    judge: String,
    organiser: String,
    contest: String,
    id: String,
}

/// A published contest with one open round (4 questions, the given chain, prizes and
/// cap); a judge on its staff.
async fn round(
    app: &TestApp,
    slug: &str,
    chain: Value,
    prizes: Value,
    cap: Value,
    number: u8,
    existing: Option<&Round>,
) -> Round {
    let (organiser, contest) = match existing {
        Some(r) => (r.organiser.clone(), r.contest.clone()),
        None => {
            let organiser = app
                .staff("organizer", &format!("btc-{slug}@example.org"))
                .await;
            let c = app.create_contest(&organiser, slug).await;
            let id = c["id"].as_str().expect("id").to_owned();
            app.add_questions(&organiser, &id, 4, &["A"]).await;
            (organiser, id)
        }
    };
    let now = Utc::now();
    let body = json!({
        "number": number, "title": "Tuần", "opens_at": (now - Duration::hours(2)).to_rfc3339(),
        "closes_at": (now + Duration::days(1)).to_rfc3339(), "question_count": 4,
        "time_limit_seconds": 600, "max_attempts": 3,
        "prediction": {"prompt": "Bao nhiêu lượt?", "target": "entries"},
        "ranking": chain, "prizes": prizes, "prize_cap_percent": cap,
    });
    let created = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/contests/{contest}/rounds"),
            Some(&organiser),
            Some(&body),
        )
        .await;
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/contests/{contest}/publish"),
        Some(&organiser),
        None,
    )
    .await;
    let judge = app
        .judge_of(&contest, &format!("bgk-{slug}-{number}@example.org"))
        .await;
    Round {
        judge,
        organiser,
        contest,
        id: created["id"].as_str().expect("id").to_owned(),
    }
}

async fn member(app: &TestApp, name: &str, role: &str) -> Uuid {
    let id = Uuid::now_v7();
    let phone = format!("+8491{:07}", id.as_u128() % 10_000_000);
    sqlx::query("INSERT INTO accounts (id, role, phone, full_name, password_hash) VALUES ($1, $2, $3, $4, 'x')")
        .bind(id)
        .bind(role)
        .bind(phone)
        .bind(name)
        .execute(&app.db.pool)
        .await
        .expect("account");
    id
}

/// Units from a `code,name,parent_code,member_count` CSV, imported by `organiser`.
async fn import_units(app: &TestApp, organiser: &str, csv: &'static str) {
    let units = app
        .api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(organiser)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("units");
    assert_eq!(units.status().as_u16(), 200);
}

async fn put_in_unit(app: &TestApp, member: Uuid, code: &str) {
    sqlx::query(
        "UPDATE accounts SET unit_id = (SELECT id FROM units WHERE code = $2) WHERE id = $1",
    )
    .bind(member)
    .bind(code)
    .execute(&app.db.pool)
    .await
    .expect("unit");
}

/// An ended attempt with the given result.
async fn entry(
    app: &TestApp,
    round: &str,
    member: Uuid,
    correct: i16,
    prediction: Option<i64>,
    duration_ms: i32,
    submitted_at: DateTime<Utc>,
) {
    sqlx::query(
        "INSERT INTO attempts (round_id, member_id, number, state, started_at, deadline, paper_revisions,
                               paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total)
         SELECT $1::uuid, $2, coalesce((SELECT max(number) FROM attempts WHERE round_id = $1::uuid AND member_id = $2), 0) + 1,
                'submitted', $5 - make_interval(secs => $6 / 1000.0), $5 + interval '1 hour',
                ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()],
                ARRAY[8, 8, 8, 8], ARRAY[0, 0, 0, 0]::smallint[], $4, $5, $6, $3, 4",
    )
    .bind(round)
    .bind(member)
    .bind(correct)
    .bind(prediction)
    .bind(submitted_at)
    .bind(duration_ms)
    .execute(&app.db.pool)
    .await
    .expect("attempt");
}

async fn close(app: &TestApp, r: &Round) {
    app.close_round(&r.id, &r.organiser).await;
}

async fn finalize(app: &TestApp, r: &Round) -> Value {
    app.finalize_round(&r.id, &r.judge).await
}

async fn ranking(app: &TestApp, r: &Round) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT member_id FROM round_results WHERE round_id = $1::uuid ORDER BY rank",
    )
    .bind(&r.id)
    .fetch_all(&app.db.pool)
    .await
    .expect("ranking")
}

fn winner_ids(winners: &Value) -> Vec<(String, String)> {
    winners
        .as_array()
        .expect("winners")
        .iter()
        .map(|w| {
            (
                w["member_id"].as_str().expect("id").to_owned(),
                w["prize"].as_str().expect("prize").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_level_of_the_chain_decides_in_order_and_a_reordered_chain_too() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    for (slug, chain, expected) in [
        (
            "mac-dinh",
            json!(["correct", "prediction", "duration", "submitted_at"]),
            ["e", "d", "c", "b", "a", "f"],
        ),
        (
            "doi-thu-tu",
            json!(["correct", "duration", "prediction", "submitted_at"]),
            ["e", "d", "c", "a", "b", "f"],
        ),
    ] {
        let r = round(&app, slug, chain, json!([]), Value::Null, 1, None).await;
        let ids: Vec<Uuid> = futures_util::future::join_all(
            ["a", "b", "c", "d", "e", "f"]
                .iter()
                .map(|n| member(&app, n, "member")),
        )
        .await;
        // 7 entries in all, so the true value of `entries` is 7.
        let (a, b, c, d, e, f) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
        entry(&app, &r.id, a, 3, Some(17), 5000, t).await; // 3 right, off by 10, 5 s
        entry(&app, &r.id, b, 3, Some(9), 9000, t).await; // off by 2, slow
        entry(&app, &r.id, c, 3, Some(5), 4000, t + Duration::seconds(2)).await; // off by 2, fast, late
        entry(&app, &r.id, d, 3, Some(9), 4000, t + Duration::seconds(1)).await; // same, earlier
        entry(&app, &r.id, e, 4, None, 60000, t).await; // most right beats everything
        entry(&app, &r.id, f, 0, Some(7), 1000, t).await;
        entry(&app, &r.id, a, 1, Some(7), 1000, t).await; // a's worse attempt does not count
        close(&app, &r).await;
        let result = finalize(&app, &r).await;
        assert_eq!(result["actual_value"], 7);
        assert_eq!(result["entries"], 7);
        assert_eq!(result["participants"], 6);
        let names = ["a", "b", "c", "d", "e", "f"];
        let order: Vec<&str> = ranking(&app, &r)
            .await
            .iter()
            .map(|m| names[ids.iter().position(|x| x == m).expect("known")])
            .collect();
        assert_eq!(order, expected, "{slug}");
    }
}

#[tokio::test]
async fn prizes_go_down_the_ranking_past_staff_and_zero_scores_within_the_cap() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let r = round(&app, "giai", json!(["correct", "duration"]), json!([{"name": "Giải Nhất", "count": 1}, {"name": "Giải Nhì", "count": 2}, {"name": "Giải Ba", "count": 3}]), json!(50), 1, None).await;
    let staff = member(&app, "Cán bộ", "organizer").await;
    let mut members = Vec::new();
    for i in 0..7 {
        members.push(member(&app, &format!("Hội viên {i}"), "member").await);
    }
    entry(&app, &r.id, staff, 4, Some(1), 1000, t).await; // ranked first, never wins
    for (i, m) in members.iter().enumerate() {
        let correct = if i < 5 { 3 } else { 0 };
        entry(&app, &r.id, *m, correct, Some(1), 2000 + i as i32 * 10, t).await;
    }
    close(&app, &r).await;
    let result = finalize(&app, &r).await;
    // 8 participants × 50 % = 4 prizes at most; the ladder holds 6.
    let got = winner_ids(&result["winners"]);
    let expected: Vec<(String, String)> = [
        (0, "Giải Nhất"),
        (1, "Giải Nhì"),
        (2, "Giải Nhì"),
        (3, "Giải Ba"),
    ]
    .iter()
    .map(|(i, p)| (members[*i].to_string(), (*p).to_owned()))
    .collect();
    assert_eq!(got, expected);
    assert_eq!(
        ranking(&app, &r).await[0],
        staff,
        "staff are ranked, just never awarded"
    );

    // Again: the same answer, and nothing stored twice.
    assert_eq!(finalize(&app, &r).await, result);
}

#[tokio::test]
async fn disqualifying_a_winner_passes_the_prize_down_and_is_audited() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let r = round(
        &app,
        "truat",
        json!(["correct", "duration"]),
        json!([{"name": "Nhất", "count": 1}, {"name": "Nhì", "count": 1}]),
        Value::Null,
        1,
        None,
    )
    .await;
    let mut ms = Vec::new();
    for i in 0..4 {
        let m = member(&app, &format!("Hội viên {i}"), "member").await;
        entry(&app, &r.id, m, 3, Some(1), 1000 + i * 100, t).await;
        ms.push(m);
    }
    let path = |m: Uuid| format!("/api/v1/rounds/{}/winners/{m}/disqualify", r.id);
    close(&app, &r).await;
    assert_problem(
        app.send(
            Method::POST,
            &path(ms[0]),
            Some(&r.judge),
            Some(&json!({"reason": "x"})),
        )
        .await,
        409,
        "round_not_finalized",
    )
    .await;
    finalize(&app, &r).await;
    assert_problem(
        app.send(
            Method::POST,
            &path(ms[3]),
            Some(&r.judge),
            Some(&json!({"reason": "không đoạt giải"})),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.send(
            Method::POST,
            &path(ms[0]),
            Some(&r.judge),
            Some(&json!({"reason": "  "})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    let after = app
        .expect(
            200,
            Method::POST,
            &path(ms[0]),
            Some(&r.judge),
            Some(&json!({"reason": "Khai sai thông tin"})),
        )
        .await;
    let expected: Vec<(String, String)> = vec![
        (ms[1].to_string(), "Nhất".into()),
        (ms[2].to_string(), "Nhì".into()),
    ];
    assert_eq!(winner_ids(&after["items"]), expected);
    let listed = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}/winners", r.id),
            Some(&r.judge),
            None,
        )
        .await;
    assert_eq!(listed, after);
    // Finalizing again does not bring the disqualified winner back.
    let again = finalize(&app, &r).await;
    assert_eq!(winner_ids(&again["winners"]), expected);
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE round_id = $1::uuid ORDER BY id")
            .bind(&r.id)
            .fetch_all(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(
        audited,
        // Reading the winners (with phones) is an export of personal data.
        [
            "round.close",
            "round.finalize",
            "round.disqualify",
            "round.export"
        ]
    );
}

#[tokio::test]
async fn one_prize_per_person_passes_over_an_earlier_winner() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let first = round(
        &app,
        "mot-giai",
        json!(["correct"]),
        json!([{"name": "Nhất", "count": 1}]),
        Value::Null,
        1,
        None,
    )
    .await;
    sqlx::query("UPDATE contests SET one_prize_per_person = true WHERE id = $1::uuid")
        .bind(&first.contest)
        .execute(&app.db.pool)
        .await
        .expect("one prize");
    let second = round(
        &app,
        "mot-giai",
        json!(["correct"]),
        json!([{"name": "Nhất", "count": 1}]),
        Value::Null,
        2,
        Some(&first),
    )
    .await;
    let (lan, hoa) = (
        member(&app, "Lan", "member").await,
        member(&app, "Hòa", "member").await,
    );
    for r in [&first, &second] {
        entry(&app, &r.id, lan, 4, Some(1), 1000, t).await;
        entry(&app, &r.id, hoa, 3, Some(1), 1000, t).await;
        close(&app, r).await;
    }
    assert_eq!(
        winner_ids(&finalize(&app, &first).await["winners"]),
        [(lan.to_string(), "Nhất".to_owned())]
    );
    assert_eq!(
        winner_ids(&finalize(&app, &second).await["winners"]),
        [(hoa.to_string(), "Nhất".to_owned())]
    );
}

#[tokio::test]
async fn two_judges_finalizing_at_once_finalize_once() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let r = round(
        &app,
        "cung-luc",
        json!(["correct"]),
        json!([{"name": "Nhất", "count": 1}]),
        Value::Null,
        1,
        None,
    )
    .await;
    for i in 0..20 {
        let m = member(&app, &format!("Hội viên {i}"), "member").await;
        entry(&app, &r.id, m, (i % 4) as i16, Some(i), 1000, t).await;
    }
    close(&app, &r).await;
    let path = format!("/api/v1/rounds/{}/finalize", r.id);
    let (one, two) = tokio::join!(
        app.send(Method::POST, &path, Some(&r.judge), None),
        app.send(Method::POST, &path, Some(&r.judge), None)
    );
    assert_eq!((one.status().as_u16(), two.status().as_u16()), (200, 200));
    let (one, two): (Value, Value) = (
        one.json().await.expect("json"),
        two.json().await.expect("json"),
    );
    assert_eq!(one, two);
    let finalizes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'round.finalize'")
            .fetch_one(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(finalizes, 1);
    assert_eq!(ranking(&app, &r).await.len(), 20);
}

#[tokio::test]
async fn only_the_contests_judges_finalize_and_only_closed_rounds() {
    let app = judging_app().await;
    let r = round(
        &app,
        "quyen",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    let path = format!("/api/v1/rounds/{}/finalize", r.id);
    assert_problem(
        app.send(Method::POST, &path, Some(&r.judge), None).await,
        409,
        "round_not_closed",
    )
    .await;
    let member = app.register("0912345678").await;
    let token = member["access_token"].as_str().expect("token");
    assert_problem(
        app.send(Method::POST, &path, Some(token), None).await,
        403,
        "forbidden_role",
    )
    .await;
    assert_problem(
        app.send(Method::POST, &path, Some(&r.organiser), None)
            .await,
        403,
        "forbidden_role",
    )
    .await;
    let outsider = app.staff("judge", "khac@example.org").await;
    assert_problem(
        app.send(Method::POST, &path, Some(&outsider), None).await,
        403,
        "not_contest_staff",
    )
    .await;
    assert_problem(
        app.send(
            Method::GET,
            &format!("/api/v1/rounds/{}/winners", r.id),
            Some(token),
            None,
        )
        .await,
        403,
        "forbidden_role",
    )
    .await;
}

#[tokio::test]
async fn members_see_the_answer_key_of_their_attempt_only_after_finalizing() {
    let app = judging_app().await;
    let r = round(
        &app,
        "dap-an",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    let token = app.member_token("0912345678").await;
    let attempt = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/rounds/{}/attempts", r.id),
            Some(&token),
            None,
        )
        .await;
    let path = format!("/api/v1/attempts/{}", attempt["id"].as_str().expect("id"));
    app.expect(
        200,
        Method::POST,
        &format!("{path}/submit"),
        Some(&token),
        Some(&json!({"prediction": 1})),
    )
    .await;
    let before = app
        .send(Method::GET, &path, Some(&token), None)
        .await
        .text()
        .await
        .expect("body");
    assert!(!before.contains("correct_option_ids"), "{before}");

    close(&app, &r).await;
    finalize(&app, &r).await;
    let bank = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{}/questions", r.contest),
            Some(&r.organiser),
            None,
        )
        .await;
    let after = app
        .expect(200, Method::GET, &path, Some(&token), None)
        .await;
    for q in after["questions"].as_array().expect("questions") {
        let stored = bank["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|b| b["id"] == q["id"])
            .expect("in the bank");
        let right: Vec<Value> = stored["options"]
            .as_array()
            .expect("options")
            .iter()
            .filter(|o| o["correct"] == true)
            .map(|o| o["id"].clone())
            .collect();
        assert_eq!(q["correct_option_ids"], json!(right));
    }
}

#[tokio::test]
async fn admins_read_the_audit_log_and_nobody_else_does() {
    let app = judging_app().await;
    let r = round(
        &app,
        "nhat-ky",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    close(&app, &r).await;
    finalize(&app, &r).await;
    assert_problem(
        app.send(Method::GET, "/api/v1/audit", Some(&r.judge), None)
            .await,
        403,
        "forbidden_role",
    )
    .await;
    let admin = app.staff("admin", "admin@example.org").await;
    let log = app
        .expect(
            200,
            Method::GET,
            "/api/v1/audit?limit=2",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(log["items"][0]["action"], "round.finalize");
    assert_eq!(log["items"][1]["action"], "round.close");
    assert!(log["total"].as_i64().expect("total") >= 3, "{log}");
}

#[tokio::test]
async fn results_and_winners_export_as_csv_and_xlsx_with_vietnamese_intact_for_judges_only() {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};

    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let r = round(
        &app,
        "xuat",
        json!(["correct", "duration"]),
        json!([{"name": "Giải Nhất", "count": 1}]),
        Value::Null,
        1,
        None,
    )
    .await;
    let names = ["Nguyễn Thị Hòa", "Trần Văn Đức", "Lê Thị Ánh, Hà Nội"];
    for (i, name) in names.iter().enumerate() {
        let m = member(&app, name, "member").await;
        entry(&app, &r.id, m, 3 - i as i16, Some(5), 1000, t).await;
    }
    let results = |format: &str| format!("/api/v1/rounds/{}/results?format={format}", r.id);
    assert_problem(
        app.send(Method::GET, &results("csv"), Some(&r.judge), None)
            .await,
        409,
        "round_not_finalized",
    )
    .await;
    close(&app, &r).await;
    finalize(&app, &r).await;

    let csv = app
        .send(Method::GET, &results("csv"), Some(&r.judge), None)
        .await;
    assert_eq!(csv.status().as_u16(), 200);
    let text = String::from_utf8(csv.bytes().await.expect("body").to_vec()).expect("UTF-8");
    assert!(text.starts_with("\u{feff}Hạng,Giải,Họ và tên"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("1,Giải Nhất,Nguyễn Thị Hòa,"),
        "{}",
        lines[1]
    );
    assert!(lines[3].contains("\"Lê Thị Ánh, Hà Nội\""), "{}", lines[3]);

    let xlsx = app
        .send(Method::GET, &results("xlsx"), Some(&r.judge), None)
        .await;
    let bytes = xlsx.bytes().await.expect("body").to_vec();
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][2], "Họ và tên");
    assert_eq!(rows[1][2], "Nguyễn Thị Hòa");
    assert_eq!(rows[2][2], "Trần Văn Đức");
    assert_eq!(rows[1][1], "Giải Nhất");

    let winners = app
        .send(
            Method::GET,
            &format!("/api/v1/rounds/{}/winners?format=csv", r.id),
            Some(&r.judge),
            None,
        )
        .await;
    let text = String::from_utf8(winners.bytes().await.expect("body").to_vec()).expect("UTF-8");
    assert_eq!(text.lines().count(), 2);
    let json = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}/results?limit=2", r.id),
            Some(&r.judge),
            None,
        )
        .await;
    assert_eq!(
        (
            json["total"].clone(),
            json["items"].as_array().expect("items").len()
        ),
        (json!(3), 2)
    );

    let exports: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'round.export'")
            .fetch_one(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(exports, 4, "every export of personal data is audited");
    let member_token = app.member_token("0912345678").await;
    assert_problem(
        app.send(Method::GET, &results("csv"), Some(&member_token), None)
            .await,
        403,
        "forbidden_role",
    )
    .await;
}

#[tokio::test]
async fn judges_on_the_server_export_with_the_cli() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let r = round(
        &app,
        "dong-lenh",
        json!(["correct"]),
        json!([{"name": "Giải Nhất", "count": 1}]),
        Value::Null,
        1,
        None,
    )
    .await;
    let m = member(&app, "Phạm Thị Thu", "member").await;
    entry(&app, &r.id, m, 2, Some(1), 1000, t).await;
    let file = std::env::temp_dir().join(format!("hoithi-export-{}.xlsx", Uuid::new_v4().simple()));
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hoithi"))
            .args([
                "export", "winners", "--round", &r.id, "--format", "xlsx", "-o",
            ])
            .arg(&file)
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &app.db.url)
            .output()
            .expect("running hoithi export")
    };
    assert!(
        !run().status.success(),
        "a round not finalized has no winners to export"
    );
    close(&app, &r).await;
    finalize(&app, &r).await;
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    let bytes = std::fs::read(&file).expect("the file");
    let _ = std::fs::remove_file(&file);
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    assert_eq!(
        sheet.get_value((1, 2)).map(|c| c.to_string()),
        Some("Phạm Thị Thu".to_owned())
    );
    // The full results go row by row from the database to the file, in either format.
    for format in ["csv", "xlsx"] {
        let file = std::env::temp_dir().join(format!(
            "hoithi-results-{}.{format}",
            Uuid::new_v4().simple()
        ));
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hoithi"))
            .args([
                "export", "results", "--round", &r.id, "--format", format, "-o",
            ])
            .arg(&file)
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", &app.db.url)
            .output()
            .expect("running hoithi export");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes = std::fs::read(&file).expect("the file");
        let _ = std::fs::remove_file(&file);
        let name = if format == "csv" {
            let text = String::from_utf8(bytes).expect("UTF-8");
            assert_eq!(text.lines().count(), 2, "{text}");
            text.lines()
                .nth(1)
                .expect("a row")
                .split(',')
                .nth(2)
                .expect("a name")
                .to_owned()
        } else {
            let mut book: Xlsx<_> =
                open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
            let sheet = book.worksheet_range("Kết quả").expect("the results sheet");
            assert_eq!(sheet.height(), 2);
            sheet
                .get_value((1, 2))
                .map(|c| c.to_string())
                .unwrap_or_default()
        };
        assert_eq!(name, "Phạm Thị Thu");
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'round.export' AND actor_kind = 'cli'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("audit");
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn units_are_ranked_with_their_sub_units_by_participants_entries_or_rate() {
    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let first = round(
        &app,
        "don-vi",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    let second = round(
        &app,
        "don-vi",
        json!(["correct"]),
        json!([]),
        Value::Null,
        2,
        Some(&first),
    )
    .await;
    import_units(
        &app,
        &first.organiser,
        "code,name,parent_code,member_count\nHN,Hà Nội,,0\nBD,Ba Đình,HN,40\nHK,Hoàn Kiếm,HN,60\n",
    )
    .await;
    let mut in_unit = Vec::new();
    for (name, code) in [("Lan", "BD"), ("Hòa", "BD"), ("Thu", "HK")] {
        let m = member(&app, name, "member").await;
        put_in_unit(&app, m, code).await;
        in_unit.push(m);
    }
    for m in &in_unit {
        entry(&app, &first.id, *m, 1, Some(1), 1000, t).await;
    }
    // Thu takes round 2 three times.
    for _ in 0..3 {
        entry(&app, &second.id, in_unit[2], 1, Some(1), 1000, t).await;
    }
    let ranking = |query: String| {
        let app = &app;
        let contest = first.contest.clone();
        async move {
            let body = app
                .expect(
                    200,
                    Method::GET,
                    &format!("/api/v1/contests/{contest}/units/ranking?{query}"),
                    None,
                    None,
                )
                .await;
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|u| {
                    (
                        u["code"].as_str().expect("code").to_owned(),
                        u["participants"].as_i64().expect("p"),
                        u["entries"].as_i64().expect("e"),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let s = |c: &str, p: i64, e: i64| (c.to_owned(), p, e);
    assert_eq!(
        ranking("by=participants".into()).await,
        [s("HN", 3, 6), s("BD", 2, 2), s("HK", 1, 4)]
    );
    assert_eq!(
        ranking("by=entries".into()).await,
        [s("HN", 3, 6), s("HK", 1, 4), s("BD", 2, 2)]
    );
    // Rates: Ba Đình 2/40 = 5 %, Hà Nội 3/100 = 3 %, Hoàn Kiếm 1/60 ≈ 1.7 %.
    assert_eq!(
        ranking("by=rate".into()).await,
        [s("BD", 2, 2), s("HN", 3, 6), s("HK", 1, 4)]
    );
    assert_eq!(
        ranking(format!("by=entries&round={}", first.id)).await,
        [s("HN", 3, 3), s("BD", 2, 2), s("HK", 1, 1)]
    );
    let bad = app
        .send(
            Method::GET,
            &format!("/api/v1/contests/{}/units/ranking?by=luck", first.contest),
            None,
            None,
        )
        .await;
    assert_problem(bad, 400, "invalid_query").await;
}

#[tokio::test]
async fn finalizing_waits_for_the_grace_period_and_counts_attempts_nobody_submitted() {
    let app = spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "1500".into());
    })
    .await;
    let r = round(
        &app,
        "an-han",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    let token = app.member_token("0912345678").await;
    app.expect(
        201,
        Method::POST,
        &format!("/api/v1/rounds/{}/attempts", r.id),
        Some(&token),
        None,
    )
    .await;
    close(&app, &r).await;
    let path = format!("/api/v1/rounds/{}/finalize", r.id);
    assert_problem(
        app.send(Method::POST, &path, Some(&r.judge), None).await,
        409,
        "round_not_closed",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let result = finalize(&app, &r).await;
    assert_eq!(
        result["entries"], 1,
        "the unsubmitted attempt was closed and counted: {result}"
    );
    assert_eq!(result["ranked"], 1);
}

#[tokio::test]
async fn statistics_count_entries_scores_and_hours_in_local_time() {
    let app = judging_app().await;
    let r = round(
        &app,
        "thong-ke",
        json!(["correct"]),
        json!([]),
        Value::Null,
        1,
        None,
    )
    .await;
    // 23:30 UTC is 06:30 the next day in Vietnam.
    let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 23, 30, 0)
        .single()
        .expect("time");
    let (lan, hoa, thu) = (
        member(&app, "Lan", "member").await,
        member(&app, "Hòa", "member").await,
        member(&app, "Thu", "member").await,
    );
    entry(&app, &r.id, lan, 4, Some(1), 1000, t).await;
    entry(
        &app,
        &r.id,
        lan,
        2,
        Some(1),
        1000,
        t + Duration::minutes(40),
    )
    .await;
    entry(&app, &r.id, hoa, 4, Some(1), 1000, t).await;
    entry(&app, &r.id, thu, 0, Some(1), 1000, t).await;
    let stats = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/rounds/{}/stats", r.id),
            Some(&r.organiser),
            None,
        )
        .await;
    assert_eq!(
        (
            stats["entries"].clone(),
            stats["participants"].clone(),
            stats["perfect_entries"].clone()
        ),
        (json!(4), json!(3), json!(2))
    );
    assert_eq!(
        stats["score_histogram"],
        json!([{"correct": 0, "entries": 1}, {"correct": 2, "entries": 1}, {"correct": 4, "entries": 2}])
    );
    assert_eq!(
        stats["by_hour"],
        json!([{"hour": "2026-11-23T06:00", "entries": 3}, {"hour": "2026-11-23T07:00", "entries": 1}])
    );
    let contest = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{}/stats", r.contest),
            Some(&r.judge),
            None,
        )
        .await;
    assert_eq!(contest["rounds"].as_array().expect("rounds").len(), 1);
    assert_eq!(contest["total"]["entries"], 4);
    let token = app.member_token("0912345678").await;
    assert_problem(
        app.send(
            Method::GET,
            &format!("/api/v1/rounds/{}/stats", r.id),
            Some(&token),
            None,
        )
        .await,
        403,
        "forbidden_role",
    )
    .await;
}

#[tokio::test]
async fn contest_winners_come_in_one_workbook_and_the_public_list_masks_phones() {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};

    let app = judging_app().await;
    let t = Utc::now() - Duration::minutes(30);
    let prizes = json!([{"name": "Giải Nhất", "count": 1}]);
    let chain = json!(["correct", "duration"]);
    let first = round(
        &app,
        "tong-ket",
        chain.clone(),
        prizes.clone(),
        Value::Null,
        1,
        None,
    )
    .await;
    let second = round(
        &app,
        "tong-ket",
        chain,
        prizes,
        Value::Null,
        2,
        Some(&first),
    )
    .await;
    import_units(
        &app,
        &first.organiser,
        "code,name,parent_code,member_count\nHN,Hà Nội,,0\nBD,Ba Đình,HN,40\n",
    )
    .await;
    let (lan, hoa, staff) = (
        member(&app, "Nguyễn Thị Lan", "member").await,
        member(&app, "Trần Thị Hòa", "member").await,
        member(&app, "Cán bộ", "organizer").await,
    );
    put_in_unit(&app, lan, "BD").await;
    entry(&app, &first.id, lan, 4, Some(1), 1000, t).await;
    entry(&app, &first.id, hoa, 3, Some(1), 1000, t).await;
    entry(&app, &first.id, staff, 4, Some(1), 500, t).await;
    entry(&app, &second.id, hoa, 4, Some(1), 2000, t).await;
    entry(&app, &second.id, lan, 2, Some(1), 1000, t).await;
    close(&app, &first).await;
    close(&app, &second).await;
    finalize(&app, &first).await;

    // The public list: anyone, once finalized; names, units and masked phones only.
    let public = |r: &Round| format!("/api/v1/rounds/{}/winners/public", r.id);
    assert_problem(
        app.send(Method::GET, &public(&second), None, None).await,
        409,
        "round_not_finalized",
    )
    .await;
    let listed = app.send(Method::GET, &public(&first), None, None).await;
    assert_eq!(listed.status().as_u16(), 200);
    let text = listed.text().await.expect("body");
    let phone: String = sqlx::query_scalar("SELECT phone FROM accounts WHERE id = $1")
        .bind(lan)
        .fetch_one(&app.db.pool)
        .await
        .expect("phone");
    assert!(!text.contains(&phone[3..]), "the full phone leaks: {text}");
    let listed: Value = serde_json::from_str(&text).expect("JSON");
    let top = &listed["items"][0];
    assert_eq!(top["display_name"], "Nguyễn Thị Lan");
    assert_eq!(top["unit"], "Ba Đình");
    assert_eq!(top["prize"], "Giải Nhất");
    assert_eq!(
        top["phone_masked"],
        json!(format!("0{}****{}", &phone[3..5], &phone[9..]))
    );
    assert!(
        top.get("phone").is_none()
            && top.get("id_number").is_none()
            && top.get("member_id").is_none()
    );
    finalize(&app, &second).await;

    let winners = |query: &str| format!("/api/v1/contests/tong-ket/winners{query}");
    let all = app
        .expect(200, Method::GET, &winners(""), Some(&first.judge), None)
        .await;
    let firsts: Vec<&Value> = all["rounds"]
        .as_array()
        .expect("rounds")
        .iter()
        .map(|r| &r["winners"][0]["member_id"])
        .collect();
    assert_eq!(firsts, [&json!(lan), &json!(hoa)]);
    // Over both rounds: Hòa 7 correct, Lan 6; the organiser's entry never counts.
    let standing: Vec<(Value, Value, Value)> = all["standing"]
        .as_array()
        .expect("standing")
        .iter()
        .map(|s| {
            (
                s["member_id"].clone(),
                s["correct"].clone(),
                s["duration_ms"].clone(),
            )
        })
        .collect();
    assert_eq!(
        standing,
        [
            (json!(hoa), json!(7), json!(3000)),
            (json!(lan), json!(6), json!(2000))
        ]
    );
    let units: Vec<(Value, Value)> = all["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| (u["code"].clone(), u["participants"].clone()))
        .collect();
    assert_eq!(units, [(json!("BD"), json!(1)), (json!("HN"), json!(1))]);

    let book = app
        .send(
            Method::GET,
            &winners("?format=xlsx"),
            Some(&first.judge),
            None,
        )
        .await;
    assert_eq!(book.status().as_u16(), 200);
    let bytes = book.bytes().await.expect("body").to_vec();
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
    assert_eq!(
        book.sheet_names(),
        ["Vòng 1", "Vòng 2", "Toàn cuộc thi", "Giải tập thể"]
    );
    let cell = |book: &mut Xlsx<_>, sheet: &str, at: (u32, u32)| {
        book.worksheet_range(sheet)
            .expect("sheet")
            .get_value(at)
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    assert_eq!(cell(&mut book, "Vòng 1", (1, 2)), "Nguyễn Thị Lan");
    assert_eq!(cell(&mut book, "Vòng 2", (1, 2)), "Trần Thị Hòa");
    assert_eq!(cell(&mut book, "Toàn cuộc thi", (1, 1)), "Trần Thị Hòa");
    assert_eq!(cell(&mut book, "Toàn cuộc thi", (1, 5)), "7");
    assert_eq!(cell(&mut book, "Giải tập thể", (1, 2)), "Ba Đình");

    let csv = app
        .send(
            Method::GET,
            &winners("?format=csv"),
            Some(&first.judge),
            None,
        )
        .await;
    let text = String::from_utf8(csv.bytes().await.expect("body").to_vec()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("\u{feff}Vòng,Hạng,Giải,Họ và tên"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("1,2,Giải Nhất,Nguyễn Thị Lan,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("2,1,Giải Nhất,Trần Thị Hòa,"),
        "{}",
        lines[2]
    );
    assert_eq!(lines.len(), 3);

    assert_problem(
        app.send(Method::GET, &winners("?top=0"), Some(&first.judge), None)
            .await,
        422,
        "validation_failed",
    )
    .await;
    let member_token = app.member_token("0987654321").await;
    assert_problem(
        app.send(Method::GET, &winners(""), Some(&member_token), None)
            .await,
        403,
        "forbidden_role",
    )
    .await;
    let exports: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'contest.export'")
            .fetch_one(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(exports, 3, "every export of personal data is audited");
}
