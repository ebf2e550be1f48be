//! `hoithi contest import DIR`: the demo contest loads and is open at once; a second run
//! changes nothing; a changed file updates in place; a folder with an error stores nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use uuid::Uuid;

use crate::helpers::TestDatabase;

fn import(db: &TestDatabase, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoithi"))
        .args(["contest", "import"])
        .arg(dir)
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("running hoithi contest import")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A scratch folder, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("hoithi-folder-{}", Uuid::new_v4().simple()));
        let folder = Self(dir);
        for (name, text) in files {
            folder.write(name, text);
        }
        folder
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CONTEST: &str = r#"
slug = "thu-nghiem"
title = "Cuộc thi thử nghiệm"

[[rounds]]
number = 1
title = "Tuần 1"
opens_at = "-1h"
closes_at = "+7d"
question_count = 3
time_limit_seconds = 300
difficulties = { "dễ" = 2, "khó" = 1 }
[rounds.prediction]
prompt = "Bao nhiêu lượt dự thi?"
target = "entries"
[[rounds.prizes]]
name = "Giải Nhất"
count = 1
"#;

const TXT: &str = "Câu 1: Một cộng một bằng mấy?\nA. 2\nB. 3\nĐáp án: A\nĐộ khó: dễ\n\n\
                   Câu 2: Hai cộng hai bằng mấy?\nA. 3\nB. 4\nĐáp án: B\nĐộ khó: dễ\n";
const CSV: &str = "text,a,b,correct,difficulty\nBa nhân ba bằng mấy?,9,6,A,khó\n";

#[tokio::test]
async fn the_demo_contest_loads_open_and_a_second_run_changes_nothing() {
    let db = TestDatabase::create().await;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("contests/cuoc-thi-demo");
    let first = stdout(&import(&db, &demo));
    assert!(first.contains("created"), "{first}");
    let second = stdout(&import(&db, &demo));
    assert!(second.contains("nothing changed"), "{second}");

    let (questions, categories, multiple, explained): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT r.category), count(*) FILTER (WHERE r.kind = 'multiple'),
                count(*) FILTER (WHERE r.explanation IS NOT NULL)
         FROM questions q JOIN question_revisions r ON r.id = q.current_revision_id
         WHERE q.deleted_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await
    .expect("bank");
    assert!(questions >= 60, "{questions}");
    assert!(categories >= 4);
    assert!(multiple > 0 && multiple < questions);
    assert_eq!(explained, questions);
    let (rounds, open, published): (i64, i64, bool) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE opens_at <= now() AND closes_at > now()),
                bool_and(c.published_at IS NOT NULL)
         FROM rounds r JOIN contests c ON c.id = r.contest_id",
    )
    .fetch_one(&db.pool)
    .await
    .expect("rounds");
    assert_eq!((rounds, open, published), (4, 1, true));
    let first_open: i16 = sqlx::query_scalar(
        "SELECT number FROM rounds WHERE opens_at <= now() AND closes_at > now()",
    )
    .fetch_one(&db.pool)
    .await
    .expect("open round");
    assert_eq!(first_open, 1);
}

#[tokio::test]
async fn a_changed_folder_updates_in_place_and_keeps_its_dates() {
    let db = TestDatabase::create().await;
    let folder = Folder::new(&[
        ("contest.toml", CONTEST),
        ("cau-hoi.txt", TXT),
        ("bang/them.csv", CSV),
    ]);
    stdout(&import(&db, &folder.0));
    let before: (chrono::DateTime<chrono::Utc>, uuid::Uuid) =
        sqlx::query_as("SELECT opens_at, id FROM rounds")
            .fetch_one(&db.pool)
            .await
            .expect("round");

    // Edit one question, drop the CSV's question for another, retitle the round.
    folder.write("cau-hoi.txt", &TXT.replace("Hai cộng hai", "Hai nhân hai"));
    folder.write(
        "bang/them.csv",
        "text,a,b,correct,difficulty\nBốn trừ một bằng mấy?,3,5,A,khó\n",
    );
    folder.write(
        "contest.toml",
        &CONTEST.replace("title = \"Tuần 1\"", "title = \"Tuần thứ nhất\""),
    );
    let changed = stdout(&import(&db, &folder.0));
    assert!(
        changed.contains("questions: 0 added, 2 updated, 0 removed, 1 unchanged"),
        "{changed}"
    );
    assert!(changed.contains("rounds: 0 added, 1 updated"), "{changed}");

    let after: (chrono::DateTime<chrono::Utc>, uuid::Uuid, String) =
        sqlx::query_as("SELECT opens_at, id, title FROM rounds")
            .fetch_one(&db.pool)
            .await
            .expect("round");
    assert_eq!(
        (after.0, after.1),
        before,
        "relative dates count from the first import"
    );
    assert_eq!(after.2, "Tuần thứ nhất");
    let revisions: Vec<(String, i32)> = sqlx::query_as(
        "SELECT r.text, r.revision FROM questions q JOIN question_revisions r ON r.id = q.current_revision_id
         WHERE q.deleted_at IS NULL ORDER BY q.position",
    )
    .fetch_all(&db.pool)
    .await
    .expect("bank");
    assert_eq!(
        revisions,
        // Files load in path order: bang/them.csv before cau-hoi.txt.
        [
            ("Bốn trừ một bằng mấy?".to_owned(), 2),
            ("Một cộng một bằng mấy?".to_owned(), 1),
            ("Hai nhân hai bằng mấy?".to_owned(), 2),
        ]
    );

    // Removing a file's question takes it out of the bank; the round's quota then fails.
    std::fs::remove_file(folder.0.join("bang/them.csv")).expect("rm");
    let refused = import(&db, &folder.0);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("round 1"), "{stderr}");
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM questions WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(live, 3, "a refused import changes nothing");
}

#[tokio::test]
async fn a_folder_with_a_malformed_question_stores_nothing_and_says_where() {
    let db = TestDatabase::create().await;
    let folder = Folder::new(&[
        ("contest.toml", CONTEST),
        ("cau-hoi.txt", &TXT.replace("Đáp án: B", "Đáp án: E")),
        ("bang/them.csv", CSV),
    ]);
    let output = import(&db, &folder.0);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The line of the bad answer, where the organiser has to look.
    assert!(stderr.contains("cau-hoi.txt:10"), "{stderr}");
    let contests: i64 = sqlx::query_scalar("SELECT count(*) FROM contests")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(contests, 0);
}
