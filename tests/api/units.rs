//! The organisation tree: CSV import by organisers, listing by parent, subtree roll-ups.

use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app};

const PROVINCE: &str = "\u{feff}code;name;parent_code;member_count\r\n\
HN;Hội LHPN Hà Nội;;0\r\n\
HN-BD;Hội LHPN quận Ba Đình;HN;1200\r\n\
HN-BD-PX;Chi hội phường Phúc Xá;HN-BD;300\r\n\
HN-HK;Hội LHPN quận Hoàn Kiếm;HN;900\r\n";

async fn import(app: &TestApp, token: &str, body: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/units/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn organiser_imports_a_tree_and_everyone_lists_it_by_level() {
    let app = spawn_app().await;
    let organiser = app.staff("organizer", "btc@hanoi.vn").await;
    let response = import(&app, &organiser, PROVINCE).await;
    assert_eq!(response.status().as_u16(), 200);
    let report: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(report, json!({"imported": 4, "errors": []}));

    let roots: serde_json::Value = app.get("/api/v1/units").await.json().await.expect("JSON");
    assert_eq!(roots["total"], 1);
    assert_eq!(roots["items"][0]["code"], "HN");
    assert_eq!(
        roots["items"][0]["member_count_total"], 2400,
        "the province counts its districts and communes"
    );
    assert_eq!(roots["items"][0]["children"], 2);

    let districts: serde_json::Value = app
        .get("/api/v1/units?parent=HN")
        .await
        .json()
        .await
        .expect("JSON");
    let codes: Vec<&str> = districts["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, vec!["HN-BD", "HN-HK"]);
    assert_eq!(districts["items"][0]["member_count_total"], 1500);
    assert_eq!(districts["items"][0]["name"], "Hội LHPN quận Ba Đình");
}

#[tokio::test]
async fn re_importing_updates_in_place() {
    let app = spawn_app().await;
    let organiser = app.staff("organizer", "btc@hanoi.vn").await;
    import(&app, &organiser, PROVINCE).await;
    // Phúc Xá moves to Hoàn Kiếm and grows; nothing else changes.
    let report: serde_json::Value = import(
        &app,
        &organiser,
        "code,name,parent_code,member_count\nHN-BD-PX,Chi hội Phúc Xá,HN-HK,350\n",
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(report["imported"], 1);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM units")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(count, 4);
    let hk: serde_json::Value = app
        .get("/api/v1/units?parent=HN")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(hk["items"][1]["member_count_total"], 1250);
}

#[tokio::test]
async fn bad_lines_block_the_whole_file_and_are_reported_by_line() {
    let app = spawn_app().await;
    let organiser = app.staff("organizer", "btc@hanoi.vn").await;
    import(&app, &organiser, PROVINCE).await;
    let file = "code,name,parent_code,member_count\nNEW,Chi hội mới,HN,10\nX,Orphan,NOPE,1\nHN,Hà Nội,HN-BD-PX,0\n";
    let report: serde_json::Value = import(&app, &organiser, file)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(report["imported"], 0);
    let lines: Vec<i64> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(lines, vec![3, 4], "{report}");
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .expect("message")
            .contains("own ancestor")
    );
    let new: i64 = sqlx::query_scalar("SELECT count(*) FROM units WHERE code = 'NEW'")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(new, 0, "nothing stored when a line is wrong");
}

#[tokio::test]
async fn only_organisers_import_units() {
    let app = spawn_app().await;
    let member = app.register("0912345678").await;
    let response = import(
        &app,
        member["access_token"].as_str().expect("token"),
        PROVINCE,
    )
    .await;
    assert_problem(response, 403, "forbidden_role").await;
    let judge = app.staff("judge", "bgk@hanoi.vn").await;
    assert_problem(import(&app, &judge, PROVINCE).await, 403, "forbidden_role").await;
    let anonymous = app
        .api
        .post(app.url("/api/v1/units/import"))
        .body(PROVINCE)
        .send()
        .await
        .expect("POST");
    assert_problem(anonymous, 401, "unauthorized").await;
    let admin = app.staff("admin", "admin@hoithi.vn").await;
    assert_eq!(
        import(&app, &admin, PROVINCE).await.status().as_u16(),
        200,
        "admins can do everything"
    );
}

#[tokio::test]
async fn listing_rejects_bad_parameters() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/units?parent=NOPE").await, 404, "not_found").await;
    assert_problem(
        app.get("/api/v1/units?limit=0").await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/units?limit=abc").await,
        400,
        "invalid_query",
    )
    .await;
}
