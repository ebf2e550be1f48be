//! Loading a question file into a bank: parse it in its format, put every question through
//! the same gate as the JSON endpoint, and store the good ones in one transaction — or
//! nothing, when any question is malformed and the caller did not ask for `partial`.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::question::letter;
use crate::domain::{QuestionDraft, QuestionSpec};
use crate::error::FieldErrors;
use crate::questions::formats::{self, Format, LineError, RawQuestion, Skipped};
use crate::questions::store::{self, QuestionRow};

/// What an import did, or would do on a dry run.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Questions stored: 0 on a dry run, and 0 when `errors` is not empty unless `partial`.
    pub imported: usize,
    /// Questions that passed every check (what a real run would store).
    pub valid: usize,
    pub dry_run: bool,
    /// Questions of kinds hoithi cannot run (GIFT short answer, matching, …), with their line.
    pub skipped: Vec<Skipped>,
    /// Malformed questions, with their line (row, paragraph or item) and what is wrong.
    pub errors: Vec<LineError>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub partial: bool,
}

/// A file's questions after the checks, each with the line it starts on.
#[derive(Debug, Default)]
pub struct Checked {
    pub questions: Vec<(usize, QuestionSpec)>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<LineError>,
}

pub fn draft_of(raw: RawQuestion) -> QuestionDraft {
    QuestionDraft {
        text: raw.text,
        kind: raw.kind,
        options: raw
            .options
            .into_iter()
            .map(|o| crate::domain::question::OptionSpec {
                text: o.text,
                correct: o.correct,
            })
            .collect(),
        category: raw.category,
        difficulty: raw.difficulty,
        explanation: raw.explanation,
    }
}

/// The stored question in the shape the exporters write.
pub fn raw_of(row: &QuestionRow) -> RawQuestion {
    RawQuestion {
        line: 0,
        text: row.text.clone(),
        kind: Some(row.kind.clone()),
        options: row
            .options
            .iter()
            .map(|o| formats::RawOption {
                text: o.text.clone(),
                correct: o.correct,
            })
            .collect(),
        category: row.category.clone(),
        difficulty: row.difficulty.clone(),
        explanation: row.explanation.clone(),
    }
}

/// Names a field as an organiser reads it: `options[1].text` is "phương án B / option B".
fn describe(errors: FieldErrors) -> String {
    errors
        .into_iter()
        .map(|(field, messages)| {
            let name = match field.as_str() {
                "text" => "câu hỏi / question".to_owned(),
                "options" => "phương án / options".to_owned(),
                "kind" => "loại / kind".to_owned(),
                "category" => "chủ đề / category".to_owned(),
                "difficulty" => "độ khó / difficulty".to_owned(),
                "explanation" => "giải thích / explanation".to_owned(),
                other => match other
                    .strip_prefix("options[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    Some(i) => format!("phương án {0} / option {0}", letter(i)),
                    None => other.to_owned(),
                },
            };
            format!("{name}: {}", messages.join("; "))
        })
        .collect::<Vec<_>>()
        .join(" — ")
}

/// Parses and checks a file. Pure CPU work: run it off the async executor for big files.
pub fn check(format: Format, bytes: &[u8]) -> Checked {
    let parsed = formats::parse(format, bytes);
    let mut checked = Checked {
        skipped: parsed.skipped,
        errors: parsed.errors,
        questions: Vec::with_capacity(parsed.questions.len()),
    };
    for raw in parsed.questions {
        let line = raw.line;
        match QuestionSpec::parse(&draft_of(raw)) {
            Ok(spec) => checked.questions.push((line, spec)),
            Err(fields) => checked.errors.push(LineError {
                line,
                message: describe(fields),
            }),
        }
    }
    checked.errors.sort_by_key(|e| e.line);
    checked.skipped.sort_by_key(|s| s.line);
    checked
}

/// Stores a checked file in the contest's bank as the options say.
#[tracing::instrument(skip(pool, checked), fields(contest_id = %contest_id, questions = checked.questions.len()))]
pub async fn store_checked(
    pool: &sqlx::PgPool,
    contest_id: Uuid,
    author: Option<Uuid>,
    checked: Checked,
    options: ImportOptions,
) -> anyhow::Result<ImportReport> {
    let valid = checked.questions.len();
    let store_it = !options.dry_run && (checked.errors.is_empty() || options.partial) && valid > 0;
    let mut imported = 0;
    if store_it {
        let specs: Vec<QuestionSpec> = checked.questions.into_iter().map(|(_, q)| q).collect();
        let mut tx = pool.begin().await?;
        imported = store::insert_many(&mut tx, contest_id, author, &specs, &[])
            .await?
            .len();
        tx.commit().await?;
    }
    Ok(ImportReport {
        imported,
        valid,
        dry_run: options.dry_run,
        skipped: checked.skipped,
        errors: checked.errors,
    })
}
