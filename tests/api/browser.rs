//! The web app in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! which `scripts/test.sh` installs), driven over WebDriver with fantoccini: register, take
//! a round and see the rank; reload mid-attempt and resume; lose the network mid-attempt
//! and come back; a judge finalizes and downloads the winners. Screenshots at 360×740 go
//! to `target/test-artifacts/screenshots/` (or `$HOITHI_ARTIFACTS/screenshots/`).

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{MEMBER_PASSWORD, STAFF_PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::taking::{World, answer_key, open_round};

const WAIT: Duration = Duration::from_secs(20);

struct Browser {
    c: Client,
    driver: Child,
    dir: PathBuf,
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.0, "params": self.1}).to_string()),
        )
    }
}

impl Browser {
    async fn open() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Drop takes Chromium down with it.
            .process_group(0)
            .spawn()
            .expect(
                "chromedriver (apt-get install chromium chromium-driver; scripts/test.sh does)",
            );
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let dir = std::env::temp_dir().join(format!("hoithi-browser-{}", Uuid::new_v4().simple()));
        let downloads = dir.join("downloads");
        std::fs::create_dir_all(&downloads).expect("a download folder");
        let caps = json!({"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=360,740",
                "--lang=vi-VN", format!("--user-data-dir={}", dir.join("profile").display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }});
        let Value::Object(caps) = caps else {
            unreachable!("a JSON object")
        };
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let browser = Self { c, driver, dir };
        // A phone's screen: headless windows are never narrower than 500 px.
        browser
            .cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": true}),
            )
            .await;
        browser
            .cdp(
                "Browser.setDownloadBehavior",
                json!({"behavior": "allow", "downloadPath": downloads.display().to_string()}),
            )
            .await;
        browser
    }

    async fn cdp(&self, cmd: &'static str, params: Value) {
        self.c
            .issue_cmd(Cdp(cmd, params))
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }

    /// Cuts the page off the network (or gives it back), as a phone losing signal.
    async fn offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
    }

    /// Saves a screenshot, after checking the page shows no stray `null`, `undefined` or
    /// `[object …]` where a value should be.
    async fn shot(&self, name: &str) {
        let shown = self.js("return document.body.innerText").await;
        let shown = shown.as_str().unwrap_or_default();
        for stray in ["null", "undefined", "[object", "NaN"] {
            assert!(
                !shown.contains(stray),
                "{name}: the page shows {stray:?}: {shown}"
            );
        }
        let dir = std::env::var_os("HOITHI_ARTIFACTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts")
            })
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let png = self.c.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("writing a screenshot");
    }

    /// Clicks the element, finding it again when the page redrew it in between (a stale
    /// element), as a person would.
    async fn click(&self, locator: Locator<'_>) {
        let started = Instant::now();
        loop {
            let element = self
                .c
                .wait()
                .at_most(WAIT)
                .for_element(locator)
                .await
                .unwrap_or_else(|e| panic!("no {locator:?}: {e}"));
            match element.click().await {
                Ok(()) => return,
                Err(e) if started.elapsed() < WAIT && e.to_string().contains("stale") => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("clicking {locator:?}: {e}"),
            }
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(text)
            .await
            .expect("typing");
    }

    /// Waits until the element's text contains `needle`; answers the text.
    async fn text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.c.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && text.contains(needle)
            {
                return text;
            }
            if started.elapsed() > WAIT {
                let page = self.c.source().await.unwrap_or_default();
                panic!("{css} never said {needle:?}; the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    async fn close(self) {
        let _ = self.c.clone().close().await;
    }

    /// Registers through the form; the page then shows the contest, signed in.
    async fn sign_up(&self, app: &TestApp, phone: &str, name: &str) {
        self.c.goto(&app.url("/#/dang-ky")).await.expect("the page");
        self.fill("#f-phone", phone).await;
        self.fill("#f-full_name", name).await;
        self.fill("#f-password", "mật khẩu dự thi").await;
        self.click(Locator::Css("form button[type=submit]")).await;
        self.click(Locator::LinkText("Bài thi của tôi")).await;
    }

    /// Opens the round and starts (or resumes) the attempt.
    async fn start(&self, app: &TestApp, round: &str) {
        self.c
            .goto(&app.url(&format!("/#/vong/{round}")))
            .await
            .expect("the round");
        self.click(Locator::Css("main button.btn.block")).await;
        self.text(".timer", "Câu 1/4").await;
    }

    /// Chooses option `n` (0-based; the test questions have two) of the question on screen
    /// and moves on.
    async fn answer(&self, n: usize) {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("label.option"))
            .await
            .expect("options");
        let all = self
            .c
            .find_all(Locator::Css("label.option"))
            .await
            .expect("options");
        all[n].click().await.expect("choosing");
        self.click(Locator::Css("main .row .btn:not(.secondary)"))
            .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The taking tests' published contest and open round (4 of 6 questions, 10 minutes),
/// with rules to read.
async fn world(app: &TestApp) -> World {
    let w = open_round(app, 6, |_| {}).await;
    app.expect(
        200,
        Method::PATCH,
        &format!("/api/v1/contests/{}", w.contest),
        Some(&w.organiser),
        Some(&json!({"rules": "Mỗi tuần một vòng thi gồm 4 câu hỏi."})),
    )
    .await;
    w
}

/// The member's attempts: how many, and how many questions the newest has answers for.
async fn saved(app: &TestApp, phone: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) OVER (), (SELECT count(*) FROM unnest(t.answers) x WHERE x <> 0)
         FROM attempts t JOIN accounts a ON a.id = t.member_id
         WHERE a.phone = $1 ORDER BY t.started_at DESC LIMIT 1",
    )
    .bind(phone)
    .fetch_optional(&app.db.pool)
    .await
    .expect("attempts")
    .unwrap_or((0, 0))
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < WAIT, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_member_registers_takes_a_round_submits_once_and_sees_the_rank() {
    let app = spawn_app().await;
    // The one published contest: the app opens straight on it.
    world(&app).await;
    let b = Browser::open().await;
    b.c.goto(&app.url("/")).await.expect("the page");
    b.text("main h1", "Cuộc thi dang-mo").await;
    b.text("main details", "Thể lệ").await;
    b.shot("1-contest").await;
    let width = b.js("return document.documentElement.scrollWidth").await;
    assert!(
        width.as_i64().is_some_and(|w| w <= 360),
        "wider than the phone: {width}"
    );

    b.click(Locator::LinkText("Đăng ký dự thi")).await;
    b.fill("#f-phone", "0912 345 678").await;
    b.fill("#f-full_name", "Nguyễn Thị <b>Hòa</b>").await;
    b.fill("#f-password", "mật khẩu dự thi").await;
    b.shot("2-register").await;
    b.click(Locator::Css("form button[type=submit]")).await;
    b.click(Locator::LinkText("Vào thi")).await;
    b.click(Locator::Css("main button.btn.block")).await;
    b.text(".timer", "Câu 1/4").await;
    b.shot("3-question").await;
    // The smallest phones: nothing wider than 320 px.
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": true}),
    )
    .await;
    let width = b.js("return document.documentElement.scrollWidth").await;
    assert!(
        width.as_i64().is_some_and(|w| w <= 320),
        "wider than 320 px: {width}"
    );
    b.shot("3-question-320").await;
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": true}),
    )
    .await;
    for n in 0..4 {
        b.answer(n % 2).await;
    }
    b.fill("#prediction", "42").await;
    b.shot("4-prediction").await;
    b.click(Locator::XPath("//main//button[text()='Nộp bài']"))
        .await;
    b.text("dialog[open]", "Bạn đã trả lời 4/4 câu").await;
    b.shot("5-confirm").await;
    // A double tap: the second is ignored while the first is on its way.
    b.js(r#"window.__submits = 0;
            const send = window.fetch;
            window.fetch = (url, init) => {
                if (String(url).endsWith("/submit")) window.__submits += 1;
                return send(url, init);
            };
            const button = document.querySelector("dialog[open] .btn:not(.secondary)");
            button.click();
            button.click();"#)
        .await;
    b.text("main h1", "Kết quả bài thi").await;
    b.text("main", "Số câu đúng").await;
    b.shot("6-result").await;
    assert_eq!(b.js("return window.__submits").await, json!(1));
    let (state, prediction, answered): (String, Option<i64>, i64) = sqlx::query_as(
        "SELECT t.state, t.prediction, (SELECT count(*) FROM unnest(t.answers) x WHERE x <> 0)
         FROM attempts t JOIN accounts a ON a.id = t.member_id WHERE a.phone = '+84912345678'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("one attempt");
    assert_eq!(
        (state.as_str(), prediction, answered),
        ("submitted", Some(42), 4)
    );

    b.click(Locator::LinkText("Xem bảng xếp hạng")).await;
    let mine = b.text("main", "Hạng của bạn").await;
    assert!(mine.contains("1/1"), "{mine}");
    // The name is shown as typed, as text: no markup gets through.
    b.text("main table", "Nguyễn Thị <b>Hòa</b>").await;
    assert_eq!(
        b.js("return document.querySelectorAll('main table b').length")
            .await,
        json!(0)
    );
    b.shot("7-leaderboard").await;
    b.close().await;
}

fn seconds_left(clock: &str) -> i64 {
    clock
        .split(':')
        .filter_map(|p| p.trim().parse::<i64>().ok())
        .fold(0, |total, part| total * 60 + part)
}

#[tokio::test]
async fn a_reload_mid_attempt_resumes_the_same_paper_with_the_time_left() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let b = Browser::open().await;
    b.sign_up(&app, "0987654321", "Lê Thị Thu").await;
    b.start(&app, &w.round).await;
    let first_question = b.text("legend.question", "Câu 1").await;
    b.answer(1).await;
    b.answer(0).await;
    b.text(".timer", "Câu 3/4").await;
    eventually("the two answers reach the server", async || {
        saved(&app, "+84987654321").await == (1, 2)
    })
    .await;
    let before = seconds_left(&b.text(".clock", ":").await);
    tokio::time::sleep(Duration::from_secs(2)).await;

    b.c.refresh().await.expect("a reload");
    b.text(".timer", "Câu 3/4").await;
    let after = seconds_left(&b.text(".clock", ":").await);
    assert!(
        after < before && after > before - 30,
        "{before}s then {after}s"
    );
    assert!(
        before > 500,
        "the server's time limit, not a restart: {before}s"
    );
    b.click(Locator::XPath("//button[text()='Câu trước']"))
        .await;
    b.click(Locator::XPath("//button[text()='Câu trước']"))
        .await;
    assert_eq!(
        b.text("legend.question", "Câu 1").await,
        first_question,
        "the same paper"
    );
    let checked = b
        .js("return [...document.querySelectorAll('label.option input')].map(i => i.checked)")
        .await;
    assert_eq!(checked, json!([false, true]));
    assert_eq!(saved(&app, "+84987654321").await.0, 1, "still one attempt");
    b.shot("8-resumed").await;
    b.close().await;
}

#[tokio::test]
async fn answers_chosen_offline_are_kept_and_sent_when_the_network_returns() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let b = Browser::open().await;
    b.sign_up(&app, "0355123456", "Phạm Thị Mai").await;
    b.start(&app, &w.round).await;

    b.offline(true).await;
    for n in 0..3 {
        b.answer(n % 2).await;
    }
    b.text("main [role=status]", "Chưa gửi được").await;
    b.shot("9-offline").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        saved(&app, "+84355123456").await,
        (1, 0),
        "nothing got through offline"
    );

    b.offline(false).await;
    eventually("the answers reach the server once online", async || {
        saved(&app, "+84355123456").await == (1, 3)
    })
    .await;

    // Submitting offline keeps trying the same request until the network is back.
    b.answer(1).await;
    b.fill("#prediction", "7").await;
    b.offline(true).await;
    b.click(Locator::XPath("//main//button[text()='Nộp bài']"))
        .await;
    b.click(Locator::Css("dialog[open] .btn:not(.secondary)"))
        .await;
    b.text("main", "Chưa nộp được").await;
    b.offline(false).await;
    b.text("main h1", "Kết quả bài thi").await;
    let state: String = sqlx::query_scalar(
        "SELECT t.state FROM attempts t JOIN accounts a ON a.id = t.member_id WHERE a.phone = '+84355123456'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("the attempt");
    assert_eq!(state, "submitted");
    b.close().await;
}

#[tokio::test]
async fn a_judge_finalizes_the_round_and_downloads_the_winners() {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};

    let app = spawn_app_with(|env| {
        env.insert("HOITHI_SUBMIT_GRACE_MS".into(), "0".into());
    })
    .await;
    let w = world(&app).await;
    let member = app.member_token("0977111222").await;
    let attempt = app
        .expect(
            201,
            Method::POST,
            &format!("/api/v1/rounds/{}/attempts", w.round),
            Some(&member),
            None,
        )
        .await;
    // One right answer: a winner needs at least one.
    let first = attempt["questions"][0]["id"].as_str().expect("id");
    let right = answer_key(&app, &w).await[first].clone();
    app.expect(
        200,
        Method::POST,
        &format!(
            "/api/v1/attempts/{}/submit",
            attempt["id"].as_str().expect("id")
        ),
        Some(&member),
        Some(&json!({"answers": [{"question_id": first, "option_ids": right}], "prediction": 1})),
    )
    .await;
    app.expect(
        200,
        Method::POST,
        &format!("/api/v1/rounds/{}/close", w.round),
        Some(&w.organiser),
        None,
    )
    .await;
    app.judge_of(&w.contest, "bgk@example.org").await;

    let b = Browser::open().await;
    b.c.goto(&app.url("/#/dang-nhap")).await.expect("the page");
    b.fill("#f-login", "bgk@example.org").await;
    b.fill("#f-password", STAFF_PASSWORD).await;
    b.click(Locator::Css("form button[type=submit]")).await;
    b.click(Locator::LinkText("Cuộc thi dang-mo")).await;
    b.click(Locator::XPath("//a[starts-with(., 'Vòng 1')]"))
        .await;
    b.click(Locator::XPath("//button[text()='Tổng kết vòng thi']"))
        .await;
    b.text("main", "Đã tổng kết").await;
    b.text("main table", "Trần Thị Lan").await;
    b.shot("10-judge").await;
    b.click(Locator::XPath("//button[text()='Tải danh sách (Excel)']"))
        .await;
    let downloads = b.dir.join("downloads");
    let mut file = None;
    eventually("the workbook is downloaded", async || {
        file = std::fs::read_dir(&downloads)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "xlsx"));
        file.is_some()
    })
    .await;
    let path = file.expect("a file");
    assert!(
        path.display().to_string().ends_with("dat-giai-vong-1.xlsx"),
        "{}",
        path.display()
    );
    let bytes = std::fs::read(&path).expect("the workbook");
    let mut book: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a workbook");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    assert_eq!(
        sheet.get_value((1, 2)).map(|c| c.to_string()),
        Some("Trần Thị Lan".to_owned())
    );

    // The member reads the answer key of the finalized round.
    b.c.goto(&app.url("/#/dang-xuat"))
        .await
        .expect("signing out");
    b.click(Locator::LinkText("Đăng nhập")).await;
    b.fill("#f-login", "0977111222").await;
    b.fill("#f-password", MEMBER_PASSWORD).await;
    b.click(Locator::Css("form button[type=submit]")).await;
    b.click(Locator::LinkText("Bài thi của tôi")).await;
    b.click(Locator::LinkText("Xem kết quả và đáp án")).await;
    b.text("main", "(đáp án đúng)").await;
    b.text("main", "bạn chọn").await;
    b.shot("11-answer-key").await;

    // Back as the judge: disqualifying with a reason takes the prize away.
    b.c.goto(&app.url("/#/dang-xuat"))
        .await
        .expect("signing out");
    b.click(Locator::LinkText("Đăng nhập")).await;
    b.fill("#f-login", "bgk@example.org").await;
    b.fill("#f-password", STAFF_PASSWORD).await;
    b.click(Locator::Css("form button[type=submit]")).await;
    b.c.goto(&app.url(&format!("/#/quan-ly/vong/{}", w.round)))
        .await
        .expect("the round");
    b.click(Locator::XPath("//button[text()='Loại']")).await;
    b.fill("#f-reason", "Khai sai thông tin").await;
    b.click(Locator::XPath("//button[text()='Loại và chuyển giải']"))
        .await;
    eventually("the disqualification is stored", async || {
        sqlx::query_scalar::<_, Option<String>>("SELECT disqualify_reason FROM round_winners")
            .fetch_optional(&app.db.pool)
            .await
            .expect("winners")
            .flatten()
            .as_deref()
            == Some("Khai sai thông tin")
    })
    .await;
    b.close().await;
}

#[tokio::test]
async fn an_organiser_checks_a_question_file_imports_it_and_creates_a_round() {
    let app = spawn_app().await;
    let organiser = app.staff("organizer", "btc@example.org").await;
    app.create_contest(&organiser, "to-chuc").await;
    let dir = std::env::temp_dir().join(format!("hoithi-upload-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let broken = dir.join("loi.csv");
    std::fs::write(
        &broken,
        "Câu hỏi,Đáp án A,Đáp án B,Đáp án đúng\nThủ đô của Việt Nam?,Hà Nội,Huế,E\n",
    )
    .expect("a file");
    let good = dir.join("cau-hoi.csv");
    std::fs::write(
        &good,
        "Câu hỏi,Đáp án A,Đáp án B,Đáp án đúng\n\
         Thủ đô của Việt Nam?,Hà Nội,Huế,A\n\
         Ngày Phụ nữ Việt Nam?,20/10,8/3,A\n\
         Mật khẩu mạnh có ít nhất?,8 ký tự,4 ký tự,A\n",
    )
    .expect("a file");

    let b = Browser::open().await;
    b.c.goto(&app.url("/#/dang-nhap")).await.expect("the page");
    b.fill("#f-login", "btc@example.org").await;
    b.fill("#f-password", STAFF_PASSWORD).await;
    b.click(Locator::Css("form button[type=submit]")).await;
    b.click(Locator::LinkText("Cuộc thi to-chuc")).await;

    // A file with a mistake: the dry run says where, and offers no import.
    b.fill("#f-file", &broken.display().to_string()).await;
    b.click(Locator::XPath("//button[text()='Kiểm tra tệp']"))
        .await;
    b.text("main [role=status]", "Dòng 2").await;
    assert!(
        b.c.find(Locator::XPath("//button[starts-with(., 'Nhập ')]"))
            .await
            .is_err()
    );
    b.c.find(Locator::Css("#f-file"))
        .await
        .expect("the file input")
        .clear()
        .await
        .expect("clearing");
    b.fill("#f-file", &good.display().to_string()).await;
    b.click(Locator::XPath("//button[text()='Kiểm tra tệp']"))
        .await;
    b.text("main [role=status]", "3 câu hợp lệ").await;
    b.shot("12-import-checked").await;
    b.click(Locator::XPath("//button[text()='Nhập 3 câu hỏi']"))
        .await;
    b.text("main [role=status]", "Đã nhập 3 câu hỏi").await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM questions")
        .fetch_one(&app.db.pool)
        .await
        .expect("questions");
    assert_eq!(stored, 3);

    // A round from the form, its times in Vietnam's local time.
    b.click(Locator::XPath("//summary[text()='Tạo vòng thi mới']"))
        .await;
    let vietnam = chrono::Utc::now() + chrono::Duration::hours(7);
    let local = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    b.js(&format!(
        "document.getElementById('f-opens_at').value = '{}';
         document.getElementById('f-closes_at').value = '{}';",
        local(vietnam - chrono::Duration::hours(1)),
        local(vietnam + chrono::Duration::days(7)),
    ))
    .await;
    let count =
        b.c.find(Locator::Css("#f-question_count"))
            .await
            .expect("the count");
    count.clear().await.expect("clearing");
    count.send_keys("3").await.expect("typing");
    b.shot("13-new-round").await;
    b.click(Locator::XPath("//button[text()='Tạo vòng thi']"))
        .await;
    b.text("main h1", "Vòng 1: Tuần 1").await;
    b.text("main", "Đang mở").await;
    b.text("main", "Lượt thi: 0").await;
    let (count, opened_ago): (i16, f64) = sqlx::query_as(
        "SELECT question_count, extract(epoch FROM now() - opens_at)::float8 FROM rounds",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("the round");
    assert_eq!(count, 3);
    assert!(
        (3500.0..3700.0).contains(&opened_ago),
        "opened {opened_ago}s ago"
    );
    let _ = std::fs::remove_dir_all(&dir);
    b.close().await;
}
