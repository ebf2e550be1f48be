//! Contest folders: `contest.toml` (or `contest.json`) and question files in any supported
//! format, loaded by `hoithi contest import DIR` into a contest, its bank and its rounds.
//!
//! Idempotent: each question remembers its place in the folder (`questions/bank.csv#12`),
//! each round its number, and dates relative to the import (`+7d`) are counted from the
//! contest's creation, so a second run computes the same values and changes nothing. A
//! changed file revises what changed, in place. Everything lands in one transaction, and
//! nothing lands when any file has an error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit;
use crate::contests::store::{self as contests, ContestChanges, NewContest};
use crate::domain::question::clean_text;
use crate::domain::round::Prize;
use crate::domain::{QuestionSpec, RoundDraft, RoundSpec, Slug};
use crate::error::{ApiError, FieldErrors};
use crate::questions::formats::Format;
use crate::questions::{import, store as questions};
use crate::rounds::{changes, store as rounds};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestFile {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub rules: Option<String>,
    pub one_prize_per_person: Option<bool>,
    /// Publish the contest on import (a published contest is never unpublished by a folder).
    pub published: Option<bool>,
    /// Glob patterns relative to the folder; default: every question file in it.
    pub questions: Option<Vec<String>>,
    #[serde(default)]
    pub rounds: Vec<RoundFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundFile {
    pub number: i64,
    pub title: String,
    /// An RFC 3339 instant, or a time relative to the contest's first import: `+0s`, `+7d`,
    /// `+7d12h`, `-1h`.
    pub opens_at: String,
    pub closes_at: String,
    pub question_count: i64,
    pub time_limit_seconds: i64,
    pub max_attempts: Option<i64>,
    pub shuffle_options: Option<bool>,
    pub categories: Option<BTreeMap<String, i64>>,
    pub difficulties: Option<BTreeMap<String, i64>>,
    pub prediction: PredictionFile,
    pub ranking: Option<Vec<String>>,
    #[serde(default)]
    pub prizes: Vec<Prize>,
    pub prize_cap_percent: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictionFile {
    pub prompt: String,
    pub target: String,
}

/// `+7d`, `-1h`, `+7d12h30m`, `+0s`: a signed sum of days, hours, minutes and seconds.
pub fn parse_offset(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (sign, rest) = match raw.as_bytes().first()? {
        b'+' => (1, &raw[1..]),
        b'-' => (-1, &raw[1..]),
        _ => return None,
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::zero();
    let mut digits = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let part = match c {
            'd' => Duration::try_days(n)?,
            'h' => Duration::try_hours(n)?,
            'm' => Duration::try_minutes(n)?,
            's' => Duration::try_seconds(n)?,
            _ => return None,
        };
        total = total.checked_add(&part)?;
    }
    if !digits.is_empty() {
        return None;
    }
    Some(total * sign)
}

/// An instant from the file: absolute, or relative to `anchor`.
pub fn resolve_time(raw: &str, anchor: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = match DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(at) => at.with_timezone(&Utc),
        Err(_) => {
            let offset = parse_offset(raw).ok_or_else(|| {
                format!("`{raw}` is neither an RFC 3339 time nor an offset like +7d or -1h")
            })?;
            anchor
                .checked_add_signed(offset)
                .ok_or_else(|| format!("`{raw}` is out of range"))?
        }
    };
    // PostgreSQL keeps microseconds; compare like with like on the next run.
    at.duration_trunc(Duration::microseconds(1))
        .map_err(|e| format!("`{raw}`: {e}"))
}

/// What one run did, for the operator.
#[derive(Debug, Default)]
pub struct FolderReport {
    pub slug: String,
    pub contest: &'static str,
    pub questions_added: usize,
    pub questions_updated: usize,
    pub questions_removed: usize,
    pub questions_unchanged: usize,
    pub rounds_added: usize,
    pub rounds_updated: usize,
    pub rounds_unchanged: usize,
    /// Rounds stored but no longer in the file: kept, never deleted by a folder.
    pub rounds_not_in_file: Vec<i16>,
    pub skipped: Vec<String>,
    pub published: bool,
}

impl FolderReport {
    pub fn changed(&self) -> bool {
        self.contest != "unchanged"
            || self.questions_added + self.questions_updated + self.questions_removed > 0
            || self.rounds_added + self.rounds_updated > 0
            || self.published
    }
}

/// Errors that stop an import, each with its file and line.
#[derive(Debug, thiserror::Error)]
#[error("the contest folder has errors:\n{}", .0.join("\n"))]
pub struct FolderErrors(pub Vec<String>);

fn read_contest_file(dir: &Path) -> anyhow::Result<(ContestFile, &'static str)> {
    let toml_path = dir.join("contest.toml");
    let json_path = dir.join("contest.json");
    if toml_path.is_file() {
        let text = std::fs::read_to_string(&toml_path)
            .with_context(|| format!("reading {}", toml_path.display()))?;
        let file =
            toml::from_str(&text).map_err(|e| FolderErrors(vec![format!("contest.toml: {e}")]))?;
        Ok((file, "contest.toml"))
    } else if json_path.is_file() {
        let text = std::fs::read_to_string(&json_path)
            .with_context(|| format!("reading {}", json_path.display()))?;
        let file = serde_json::from_str(&text)
            .map_err(|e| FolderErrors(vec![format!("contest.json: {e}")]))?;
        Ok((file, "contest.json"))
    } else {
        bail!(
            "{} holds neither contest.toml nor contest.json",
            dir.display()
        )
    }
}

/// The question files: the `questions` globs, or every file with a known extension.
fn question_files(dir: &Path, patterns: Option<&[String]>) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    match patterns {
        Some(patterns) => {
            for pattern in patterns {
                let full = dir.join(pattern);
                let full = full
                    .to_str()
                    .with_context(|| format!("{} is not UTF-8", full.display()))?;
                for entry in glob::glob(full).with_context(|| format!("pattern `{pattern}`"))? {
                    let path = entry.context("reading the folder")?;
                    if path.is_file() {
                        files.push(path);
                    }
                }
            }
        }
        None => walk(dir, &mut files)?,
    }
    files.retain(|p| {
        Format::from_path(p).is_some() && p.file_name().is_some_and(|n| n != "contest.json")
    });
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry.context("listing the folder")?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn field_errors(prefix: &str, errors: FieldErrors) -> Vec<String> {
    errors
        .into_iter()
        .flat_map(|(field, messages)| {
            messages
                .into_iter()
                .map(move |m| format!("{prefix}: {field}: {m}"))
        })
        .collect()
}

fn round_draft(file: &RoundFile, anchor: DateTime<Utc>) -> Result<RoundDraft, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut time = |field: &str, raw: &str| {
        resolve_time(raw, anchor).unwrap_or_else(|m| {
            errors.entry(field.to_owned()).or_default().push(m);
            anchor
        })
    };
    let opens_at = time("opens_at", &file.opens_at);
    let closes_at = time("closes_at", &file.closes_at);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RoundDraft {
        number: file.number,
        title: file.title.clone(),
        opens_at,
        closes_at,
        question_count: file.question_count,
        time_limit_seconds: file.time_limit_seconds,
        max_attempts: file.max_attempts.unwrap_or(1),
        shuffle_options: file.shuffle_options.unwrap_or(false),
        categories: file.categories.clone().unwrap_or_default(),
        difficulties: file.difficulties.clone().unwrap_or_default(),
        prediction_prompt: file.prediction.prompt.clone(),
        prediction_target: file.prediction.target.clone(),
        ranking: file.ranking.clone(),
        prizes: file.prizes.clone(),
        prize_cap_percent: file.prize_cap_percent,
    })
}

/// Hooks for showing progress over the question files (a progress bar on a terminal).
pub trait Progress {
    fn files(&self, count: usize);
    fn file_done(&self, name: &str);
}

impl Progress for () {
    fn files(&self, _count: usize) {}
    fn file_done(&self, _name: &str) {}
}

/// Loads the folder. `owner`, when given, is put on the contest's staff as organiser.
pub async fn import_folder(
    pool: &sqlx::PgPool,
    dir: &Path,
    owner: Option<Uuid>,
    progress: &dyn Progress,
) -> anyhow::Result<FolderReport> {
    let (file, file_name) = read_contest_file(dir)?;
    let mut errors = Vec::new();

    let slug = Slug::parse(&file.slug)
        .map_err(|m| errors.push(format!("{file_name}: slug: {m}")))
        .ok();
    let title = clean_text(&file.title);
    if title.is_empty() || title.chars().count() > 300 {
        errors.push(format!("{file_name}: title: must be 1 to 300 characters"));
    }

    // Read and check every question file before touching the database.
    let paths = question_files(dir, file.questions.as_deref())?;
    progress.files(paths.len());
    let mut specs: Vec<(String, QuestionSpec)> = Vec::new();
    let mut skipped = Vec::new();
    for path in &paths {
        let relative = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let format =
            Format::from_path(path).with_context(|| format!("{relative}: not a question file"))?;
        let bytes = std::fs::read(path).with_context(|| format!("reading {relative}"))?;
        let checked = tokio::task::spawn_blocking(move || import::check(format, &bytes))
            .await
            .context("checking a question file")?;
        errors.extend(
            checked
                .errors
                .iter()
                .map(|e| format!("{relative}:{}: {}", e.line, e.message)),
        );
        skipped.extend(
            checked
                .skipped
                .iter()
                .map(|s| format!("{relative}:{}: {}", s.line, s.reason)),
        );
        for (ordinal, (_, spec)) in checked.questions.into_iter().enumerate() {
            specs.push((format!("{relative}#{}", ordinal + 1), spec));
        }
        progress.file_done(&relative);
    }
    let mut seen = HashSet::new();
    for round in &file.rounds {
        if !seen.insert(round.number) {
            errors.push(format!("{file_name}: round {} appears twice", round.number));
        }
    }
    let Some(slug) = slug.filter(|_| errors.is_empty()) else {
        return Err(FolderErrors(errors).into());
    };

    let mut report = FolderReport {
        slug: slug.to_string(),
        skipped,
        ..FolderReport::default()
    };
    let mut tx = pool.begin().await.context("starting the import")?;
    let existing = contests::find(pool, slug.as_str()).await?;
    let description = clean_text(file.description.as_deref().unwrap_or(""));
    let rules = clean_text(file.rules.as_deref().unwrap_or(""));
    let contest = match existing {
        None => {
            report.contest = "created";
            contests::create(
                &mut *tx,
                &NewContest {
                    slug: slug.as_str(),
                    title: &title,
                    description: &description,
                    rules: &rules,
                    one_prize_per_person: file.one_prize_per_person.unwrap_or(false),
                    created_by: None,
                },
            )
            .await
            .map_err(api_error)?
        }
        Some(row) => {
            let wanted = ContestChanges {
                slug: None,
                title: Some(title.clone()),
                description: Some(description.clone()),
                rules: Some(rules.clone()),
                one_prize_per_person: Some(file.one_prize_per_person.unwrap_or(false)),
            };
            if wanted.changes(&row) {
                report.contest = "updated";
                contests::update(&mut *tx, row.id, &wanted)
                    .await
                    .map_err(api_error)?
            } else {
                report.contest = "unchanged";
                row
            }
        }
    };
    if let Some(owner) = owner {
        contests::add_staff(&mut *tx, contest.id, owner, "organizer").await?;
    }

    // The bank: match the folder's questions to stored ones by their place in the folder.
    let stored = questions::list(pool, contest.id, None, 0).await?.rows;
    let mut by_source: HashMap<String, (Uuid, Option<QuestionSpec>)> = stored
        .iter()
        .filter_map(|row| {
            let source = row.source.clone()?;
            Some((source, (row.id, QuestionSpec::parse(&row.draft()).ok())))
        })
        .collect();
    let mut inserts = Vec::new();
    let mut insert_sources = Vec::new();
    let mut updates = Vec::new();
    for (source, spec) in specs {
        match by_source.remove(&source) {
            Some((_, Some(current))) if current == spec => report.questions_unchanged += 1,
            Some((id, _)) => updates.push((id, spec)),
            None => {
                inserts.push(spec);
                insert_sources.push(Some(source));
            }
        }
    }
    let removed: Vec<Uuid> = by_source.into_values().map(|(id, _)| id).collect();
    report.questions_added = inserts.len();
    report.questions_updated = updates.len();
    report.questions_removed = removed.len();
    if !inserts.is_empty() {
        questions::insert_many(&mut tx, contest.id, None, &inserts, &insert_sources).await?;
    }
    if !updates.is_empty() {
        questions::revise_many(&mut tx, None, &updates).await?;
    }
    if !removed.is_empty() {
        questions::delete_many(&mut tx, &removed).await?;
    }

    // Rounds, checked against the bank as it now stands.
    let pool_counts = questions::pool_counts(&mut *tx, contest.id).await?;
    let stored_rounds: HashMap<i16, rounds::RoundRow> = rounds::list(pool, contest.id)
        .await?
        .into_iter()
        .map(|r| (r.number, r))
        .collect();
    let mut round_errors = Vec::new();
    for round in &file.rounds {
        let prefix = format!("{file_name}: round {}", round.number);
        let mut draft = match round_draft(round, contest.created_at) {
            Ok(draft) => draft,
            Err(e) => {
                round_errors.extend(field_errors(&prefix, e));
                continue;
            }
        };
        let current = i16::try_from(round.number)
            .ok()
            .and_then(|n| stored_rounds.get(&n));
        // A round an organiser closed early stays closed: keep the moment it closed.
        if let Some(current) = current.filter(|c| c.closed_early_at.is_some()) {
            draft.closes_at = current.closes_at;
        }
        let spec = match RoundSpec::parse(&draft)
            .and_then(|spec| spec.check_pool(&pool_counts).map(|()| spec))
        {
            Ok(spec) => spec,
            Err(e) => {
                round_errors.extend(field_errors(&prefix, e));
                continue;
            }
        };
        match current {
            None => {
                rounds::create(&mut tx, contest.id, &spec)
                    .await
                    .map_err(api_error)?;
                report.rounds_added += 1;
            }
            Some(current) => match changes::save(&mut tx, current.id, &spec).await {
                Ok(true) => report.rounds_updated += 1,
                Ok(false) => report.rounds_unchanged += 1,
                Err(ApiError::Unexpected(e)) => return Err(e),
                Err(other) => round_errors.push(format!("{prefix}: {}", other.problem().detail)),
            },
        }
    }
    if !round_errors.is_empty() {
        return Err(FolderErrors(round_errors).into());
    }
    let in_file: HashSet<i64> = file.rounds.iter().map(|r| r.number).collect();
    report.rounds_not_in_file = stored_rounds
        .keys()
        .copied()
        .filter(|n| !in_file.contains(&i64::from(*n)))
        .collect();
    report.rounds_not_in_file.sort_unstable();

    if file.published.unwrap_or(false) && contest.published_at.is_none() {
        contests::publish(&mut *tx, contest.id).await?;
        report.published = true;
    }
    if report.changed() {
        audit::record(
            &mut *tx,
            audit::Entry {
                contest_id: Some(contest.id),
                details: serde_json::json!({
                    "folder": dir.display().to_string(),
                    "questions_added": report.questions_added,
                    "questions_updated": report.questions_updated,
                    "questions_removed": report.questions_removed,
                    "rounds_added": report.rounds_added,
                    "rounds_updated": report.rounds_updated,
                }),
                ..audit::Entry::new(audit::Actor::Cli, "contest.import")
            },
        )
        .await?;
    }
    tx.commit().await.context("committing the import")?;
    Ok(report)
}

fn api_error(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Unexpected(e) => e,
        other => anyhow::anyhow!("{}", other.problem().detail),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn offsets_add_up_their_parts_with_a_sign() {
        assert_eq!(parse_offset("+0s"), Some(Duration::zero()));
        assert_eq!(parse_offset("+7d"), Some(Duration::days(7)));
        assert_eq!(
            parse_offset("+1d12h30m"),
            Some(Duration::days(1) + Duration::hours(12) + Duration::minutes(30))
        );
        assert_eq!(parse_offset("-1h"), Some(Duration::hours(-1)));
    }

    #[test]
    fn malformed_offsets_are_refused() {
        for bad in ["", "7d", "+", "+7", "+7w", "+d", "+99999999999999999d"] {
            assert_eq!(parse_offset(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_are_absolute_or_relative_to_the_anchor() {
        let anchor = Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .single()
            .unwrap();
        assert_eq!(
            resolve_time("2026-12-01T07:00:00+07:00", anchor),
            Ok(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap())
        );
        assert_eq!(resolve_time("+7d", anchor), Ok(anchor + Duration::days(7)));
        assert!(resolve_time("next monday", anchor).is_err());
    }
}
