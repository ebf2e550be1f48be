//! Question files over HTTP: every format with the awkward inputs organisers send,
//! all-or-nothing storage, dry runs, partial imports, and exports that import back to the
//! same bank.

use std::io::{Cursor, Write};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn import(app: &TestApp, token: &str, contest: &str, query: &str, body: Vec<u8>) -> Value {
    let response = app
        .api
        .post(app.url(&format!(
            "/api/v1/contests/{contest}/questions/import?{query}"
        )))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .expect("POST import");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{query}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

async fn bank(app: &TestApp, token: &str, contest: &str) -> Vec<Value> {
    let body = app
        .expect(
            200,
            Method::GET,
            &format!("/api/v1/contests/{contest}/questions?limit=500"),
            Some(token),
            None,
        )
        .await;
    body["items"].as_array().expect("items").clone()
}

/// The content of a bank, without ids or times: what an export must preserve.
fn content(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|q| {
            json!({
                "text": q["text"], "kind": q["kind"], "category": q["category"],
                "difficulty": q["difficulty"], "explanation": q["explanation"],
                "options": q["options"].as_array().expect("options").iter()
                    .map(|o| json!([o["text"], o["correct"]])).collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn organiser_with_contest(app: &TestApp, slug: &str) -> (String, String) {
    let token = app.staff("organizer", &format!("{slug}@example.org")).await;
    let contest = app.create_contest(&token, slug).await;
    (token, contest["id"].as_str().expect("id").to_owned())
}

const VIETNAMESE_CSV: &str = "\u{feff}STT;Câu hỏi;Đáp án A;Đáp án B;Đáp án C;Đáp án D;Đáp án đúng;Chủ đề;Độ khó;Giải thích\r\n\
1;\"Thủ đô của Việt Nam là?\";Hà Nội;Huế;Đà Nẵng;Cần Thơ;A;Địa lý;Dễ;\"Hà Nội là thủ đô;\r\ntừ năm 1976 của nước thống nhất.\"\r\n\
2;\"Những thành phố nào trực thuộc trung ương?\";Hải Phòng;Nam Định;Cần Thơ;Vinh;A, C;Địa lý;Trung bình;\r\n\
\r\n\
3;\"Câu \"\"trích dẫn\"\" có dấu ngoặc?\";Có;Không;;;A;;khó;\r\n";

#[tokio::test]
async fn a_vietnamese_excel_style_csv_is_imported_with_its_awkward_parts() {
    let app = spawn_app().await;
    let (token, contest) = organiser_with_contest(&app, "csv").await;
    let report = import(
        &app,
        &token,
        &contest,
        "format=csv",
        VIETNAMESE_CSV.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["errors"], json!([]));
    let items = bank(&app, &token, &contest).await;
    assert_eq!(items[0]["text"], "Thủ đô của Việt Nam là?");
    assert_eq!(items[0]["difficulty"], "easy");
    assert_eq!(
        items[0]["explanation"],
        "Hà Nội là thủ đô;\ntừ năm 1976 của nước thống nhất."
    );
    assert_eq!(items[1]["kind"], "multiple");
    assert_eq!(items[1]["difficulty"], "medium");
    assert_eq!(items[2]["text"], "Câu \"trích dẫn\" có dấu ngoặc?");
    assert_eq!(items[2]["options"].as_array().expect("options").len(), 2);
    assert_eq!(items[2]["category"], Value::Null);
}

#[tokio::test]
async fn one_malformed_row_stores_nothing_unless_partial_and_a_dry_run_stores_nothing() {
    let app = spawn_app().await;
    let (token, contest) = organiser_with_contest(&app, "atomic").await;
    let csv = "text,a,b,c,correct\n\
               Câu một?,x,y,z,A\n\
               Câu hai?,x,y,,C\n\
               Câu ba?,x,x,z,B\n\
               Câu bốn?,x,y,z,B\n";
    let report = import(
        &app,
        &token,
        &contest,
        "format=csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(report["imported"], 0);
    assert_eq!(report["valid"], 2);
    let lines: Vec<i64> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(lines, [3, 4], "{report}");
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .expect("message")
            .contains("option B"),
        "{report}"
    );
    assert!(
        bank(&app, &token, &contest).await.is_empty(),
        "nothing is stored"
    );

    let dry = import(
        &app,
        &token,
        &contest,
        "format=csv&dry_run=true&partial=true",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (
            dry["imported"].clone(),
            dry["valid"].clone(),
            dry["dry_run"].clone()
        ),
        (json!(0), json!(2), json!(true))
    );
    assert!(
        bank(&app, &token, &contest).await.is_empty(),
        "a dry run stores nothing"
    );

    let partial = import(
        &app,
        &token,
        &contest,
        "format=csv&partial=true",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(partial["imported"], 2);
    let texts: Vec<Value> = bank(&app, &token, &contest)
        .await
        .iter()
        .map(|q| q["text"].clone())
        .collect();
    assert_eq!(texts, [json!("Câu một?"), json!("Câu bốn?")]);
}

const GIFT: &str = "// Ngân hàng câu hỏi mẫu\n\
$CATEGORY: $course$/top/Lịch sử\n\
\n\
::Q1:: Ngày Phụ nữ Việt Nam là ngày nào? {\n\
  =20 tháng 10 # đúng\n\
  ~8 tháng 3\n\
  ~1 tháng 6\n\
####Hội LHPN Việt Nam thành lập ngày 20/10/1930.\n\
}\n\
\n\
Chọn các số chẵn\\: {\n\
  ~%50%2\n\
  ~%50%4\n\
  ~%-100%3\n\
}\n\
\n\
Hà Nội là thủ đô của Việt Nam. {T}\n\
\n\
Thủ đô của Pháp là {=Paris =paris}.\n\
\n\
Một cộng một bằng {#2}\n\
\n\
Hãy kể về gia đình bạn. {}\n";

#[tokio::test]
async fn gift_questions_are_imported_and_kinds_hoithi_cannot_run_are_listed_as_skipped() {
    let app = spawn_app().await;
    let (token, contest) = organiser_with_contest(&app, "gift").await;
    let report = import(
        &app,
        &token,
        &contest,
        "format=gift",
        GIFT.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(report["imported"], 3, "{report}");
    let skipped: Vec<i64> = report["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| s["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(skipped, [19, 21, 23], "{report}");
    let items = bank(&app, &token, &contest).await;
    assert_eq!(items[0]["text"], "Ngày Phụ nữ Việt Nam là ngày nào?");
    assert_eq!(items[0]["category"], "Lịch sử");
    assert_eq!(
        items[0]["explanation"],
        "Hội LHPN Việt Nam thành lập ngày 20/10/1930."
    );
    assert_eq!(items[1]["text"], "Chọn các số chẵn:");
    assert_eq!(items[1]["kind"], "multiple");
    assert_eq!(
        items[2]["options"],
        json!([
            {"id": items[2]["options"][0]["id"], "text": "Đúng", "correct": true},
            {"id": items[2]["options"][1]["id"], "text": "Sai", "correct": false},
        ])
    );
}

#[tokio::test]
async fn aiken_json_and_handwritten_text_are_imported() {
    let app = spawn_app().await;
    let (token, contest) = organiser_with_contest(&app, "text-formats").await;
    let aiken = "Thủ đô của Việt Nam là?\r\nA. Huế\r\nB) Hà Nội\r\nANSWER: B\r\n\r\nBiển báo hình tròn viền đỏ là biển gì?\nA. Cấm\nB. Chỉ dẫn\nANSWER: A\n";
    assert_eq!(
        import(
            &app,
            &token,
            &contest,
            "format=aiken",
            aiken.as_bytes().to_vec()
        )
        .await["imported"],
        2
    );

    let body = json!({"questions": [{
        "text": "Chọn các màu của cờ Tổ quốc", "kind": "multiple",
        "options": [{"text": "Đỏ", "correct": true}, {"text": "Vàng", "correct": true}, {"text": "Xanh", "correct": false}],
        "category": "Kiến thức chung", "difficulty": "easy"}]});
    assert_eq!(
        import(
            &app,
            &token,
            &contest,
            "format=json",
            body.to_string().into_bytes()
        )
        .await["imported"],
        1
    );

    // Typed by hand, with decomposed (NFD) diacritics as some keyboards produce.
    let txt = "Câu 1: Ngày Quốc khánh nước Cộng hòa xã hội chủ nghĩa Việt Nam là ngày nào?\n\
               A. 2/9\nB. 30/4\nC. 1/5\nĐáp án: A\n\n\
               Câu 2. Những thành phố nào trực thuộc trung ương?\nA) Hà Nội\nB) Nam Định\nC) Đà Nẵng\nĐáp án đúng: A, C\n";
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd(txt).collect();
    assert_eq!(
        import(&app, &token, &contest, "format=txt", nfd.into_bytes()).await["imported"],
        2
    );

    let items = bank(&app, &token, &contest).await;
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[1]["options"][0]["correct"], true,
        "Aiken's `A.` is the first option"
    );
    assert_eq!(
        items[3]["text"], "Ngày Quốc khánh nước Cộng hòa xã hội chủ nghĩa Việt Nam là ngày nào?",
        "stored as NFC"
    );
    assert_eq!(items[4]["kind"], "multiple");
}

fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>"))
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("word/document.xml", options)
        .expect("zip entry");
    zip.write_all(xml.as_bytes()).expect("zip write");
    zip.finish().expect("zip").into_inner()
}

#[tokio::test]
async fn word_and_excel_files_are_imported_and_the_format_can_come_from_the_content_type() {
    let app = spawn_app().await;
    let (token, contest) = organiser_with_contest(&app, "office").await;
    let word = docx(&[
        "Câu 1: Luật Giao thông quy định đi bên nào?",
        "A. Bên trái",
        "B. Bên phải",
        "Đáp án: B",
        "",
        "Câu 2: Đội mũ bảo hiểm khi đi xe máy là?",
        "A. Bắt buộc",
        "B. Tùy ý",
        "Đáp án: A",
    ]);
    assert_eq!(
        import(&app, &token, &contest, "format=docx", word).await["imported"],
        2
    );

    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, header) in [
        "Câu hỏi",
        "Đáp án A",
        "Đáp án B",
        "Đáp án C",
        "Đáp án đúng",
        "Độ khó",
    ]
    .iter()
    .enumerate()
    {
        sheet
            .write_string(0, u16::try_from(col).expect("col"), *header)
            .expect("header");
    }
    sheet
        .write_string(1, 0, "Năm 2026 có bao nhiêu ngày?")
        .expect("cell");
    sheet.write_number(1, 1, 365).expect("cell");
    sheet.write_number(1, 2, 366).expect("cell");
    sheet.write_string(1, 4, "a").expect("cell");
    sheet.write_string(1, 5, "Dễ").expect("cell");
    let bytes = workbook.save_to_buffer().expect("xlsx");
    let response = app
        .api
        .post(app.url(&format!("/api/v1/contests/{contest}/questions/import")))
        .bearer_auth(&token)
        .header(
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(bytes)
        .send()
        .await
        .expect("POST");
    let report: Value = response.json().await.expect("JSON");
    assert_eq!(report["imported"], 1, "{report}");
    let items = bank(&app, &token, &contest).await;
    assert_eq!(
        items[2]["options"][0]["text"], "365",
        "numbers read as Excel shows them"
    );

    let unknown = app
        .api
        .post(app.url(&format!(
            "/api/v1/contests/{contest}/questions/import?format=pdf"
        )))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .expect("POST");
    assert_problem(unknown, 400, "invalid_query").await;
    let unsaid = app
        .api
        .post(app.url(&format!("/api/v1/contests/{contest}/questions/import")))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .expect("POST");
    assert_problem(unsaid, 400, "invalid_query").await;
}

#[tokio::test]
async fn only_the_contests_organisers_import() {
    let app = spawn_app().await;
    let (_, contest) = organiser_with_contest(&app, "owned").await;
    let other = app.staff("organizer", "other@example.org").await;
    let response = app
        .api
        .post(app.url(&format!(
            "/api/v1/contests/{contest}/questions/import?format=csv"
        )))
        .bearer_auth(&other)
        .body(VIETNAMESE_CSV)
        .send()
        .await
        .expect("POST");
    assert_problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn every_export_format_imports_back_to_the_same_bank() {
    let app = spawn_app().await;
    let (token, source) = organiser_with_contest(&app, "nguon").await;
    import(
        &app,
        &token,
        &source,
        "format=csv",
        VIETNAMESE_CSV.as_bytes().to_vec(),
    )
    .await;
    import(
        &app,
        &token,
        &source,
        "format=gift",
        GIFT.as_bytes().to_vec(),
    )
    .await;
    // A multiple-answer question with one correct option must stay multiple.
    app.expect(201, Method::POST, &format!("/api/v1/contests/{source}/questions"), Some(&token), Some(&json!({
        "text": "Chọn mọi đáp án đúng: 1 + 1 = ?", "kind": "multiple",
        "options": [{"text": "2", "correct": true}, {"text": "=3", "correct": false}, {"text": "{4}", "correct": false}],
        "explanation": "Phép cộng cơ bản.",
    }))).await;
    let original = content(&bank(&app, &token, &source).await);

    for format in ["csv", "xlsx", "gift"] {
        let response = app
            .send(
                Method::GET,
                &format!("/api/v1/contests/{source}/questions?format={format}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-disposition"]
                .to_str()
                .expect("header")
                .contains(&format!("nguon-questions.{format}"))
        );
        let file = response.bytes().await.expect("file").to_vec();
        let copy = app
            .create_contest(&token, &format!("ban-sao-{format}"))
            .await;
        let copy = copy["id"].as_str().expect("id");
        let report = import(&app, &token, copy, &format!("format={format}"), file).await;
        assert_eq!(report["errors"], json!([]), "{format}: {report}");
        assert_eq!(
            content(&bank(&app, &token, copy).await),
            original,
            "{format}"
        );
    }
    let exports: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'questions.export'")
            .fetch_one(&app.db.pool)
            .await
            .expect("audit");
    assert_eq!(exports, 3);
}
