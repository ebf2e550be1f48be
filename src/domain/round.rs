//! A round's settings (rules 1, 2, 6, 7, 8): its window, the draw, the time limit, attempts,
//! the prediction, the ranking chain and the prize ladder, and whether the bank can feed
//! its draw. Every check names the field it is about.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::draw::joint_allocation;
use crate::domain::question::Difficulty;
use crate::error::FieldErrors;

pub const TIME_LIMIT_SECONDS: std::ops::RangeInclusive<i32> = 10..=10_800;
pub const MAX_ATTEMPTS: std::ops::RangeInclusive<i16> = 1..=10;
pub const QUESTION_COUNT: std::ops::RangeInclusive<i16> = 1..=500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PredictionTarget {
    /// Attempts submitted in the round.
    Entries,
    /// Distinct members who submitted.
    Participants,
    /// Attempts with every answer correct.
    PerfectEntries,
}

impl PredictionTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entries => "entries",
            Self::Participants => "participants",
            Self::PerfectEntries => "perfect_entries",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim() {
            "entries" => Ok(Self::Entries),
            "participants" => Ok(Self::Participants),
            "perfect_entries" => Ok(Self::PerfectEntries),
            _ => Err("must be entries, participants or perfect_entries"),
        }
    }
}

/// One link of the tie-break chain (rule 7). The attempt id always breaks the last tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankKey {
    Correct,
    Prediction,
    Duration,
    SubmittedAt,
}

impl RankKey {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::Prediction => "prediction",
            Self::Duration => "duration",
            Self::SubmittedAt => "submitted_at",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "correct" => Some(Self::Correct),
            "prediction" => Some(Self::Prediction),
            "duration" => Some(Self::Duration),
            "submitted_at" => Some(Self::SubmittedAt),
            _ => None,
        }
    }
}

/// The ranking chain: `correct` first, then any of the other keys, each at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankingChain(Vec<RankKey>);

impl Default for RankingChain {
    fn default() -> Self {
        Self(vec![
            RankKey::Correct,
            RankKey::Prediction,
            RankKey::Duration,
            RankKey::SubmittedAt,
        ])
    }
}

impl RankingChain {
    pub fn parse(raw: &[String]) -> Result<Self, String> {
        let mut keys = Vec::with_capacity(raw.len());
        for name in raw {
            let key = RankKey::parse(name).ok_or_else(|| {
                format!(
                    "unknown key `{name}`; the keys are correct, prediction, duration, submitted_at"
                )
            })?;
            if keys.contains(&key) {
                return Err(format!("`{name}` appears twice"));
            }
            keys.push(key);
        }
        if keys.first() != Some(&RankKey::Correct) {
            return Err("must start with `correct`".to_owned());
        }
        Ok(Self(keys))
    }

    pub fn keys(&self) -> &[RankKey] {
        &self.0
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|k| k.as_str().to_owned()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prize {
    pub name: String,
    pub count: i32,
}

/// A round as written (JSON body or contest folder), before the rules are checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundDraft {
    pub number: i64,
    pub title: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub question_count: i64,
    pub time_limit_seconds: i64,
    pub max_attempts: i64,
    pub shuffle_options: bool,
    pub categories: BTreeMap<String, i64>,
    pub difficulties: BTreeMap<String, i64>,
    pub prediction_prompt: String,
    pub prediction_target: String,
    pub ranking: Option<Vec<String>>,
    pub prizes: Vec<Prize>,
    pub prize_cap_percent: Option<f64>,
}

/// A round that satisfies the rules on its own; [`RoundSpec::check_pool`] then checks it
/// against the bank.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundSpec {
    pub number: i16,
    pub title: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub question_count: i16,
    pub time_limit_seconds: i32,
    pub max_attempts: i16,
    pub shuffle_options: bool,
    pub categories: BTreeMap<String, i32>,
    pub difficulties: BTreeMap<Difficulty, i32>,
    pub prediction_prompt: String,
    pub prediction_target: PredictionTarget,
    pub ranking: RankingChain,
    pub prizes: Vec<Prize>,
    pub prize_cap_percent: Option<f64>,
}

fn fail(errors: &mut FieldErrors, field: &str, message: String) {
    errors.entry(field.to_owned()).or_default().push(message);
}

fn in_range<T: TryFrom<i64> + PartialOrd + Copy + std::fmt::Display>(
    raw: i64,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    T::try_from(raw)
        .ok()
        .filter(|v| range.contains(v))
        .ok_or_else(|| format!("must be between {} and {}", range.start(), range.end()))
}

impl RoundSpec {
    pub fn parse(draft: &RoundDraft) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();

        let number = in_range(draft.number, 1..=i16::MAX).unwrap_or_else(|m| {
            fail(&mut errors, "number", m);
            1
        });
        let title = draft.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 300 {
            fail(&mut errors, "title", "must be 1 to 300 characters".into());
        }
        if draft.closes_at <= draft.opens_at {
            fail(&mut errors, "closes_at", "must be after opens_at".into());
        }
        let question_count = in_range(draft.question_count, QUESTION_COUNT).unwrap_or_else(|m| {
            fail(&mut errors, "question_count", m);
            1
        });
        let time_limit_seconds = in_range(draft.time_limit_seconds, TIME_LIMIT_SECONDS)
            .unwrap_or_else(|m| {
                fail(
                    &mut errors,
                    "time_limit_seconds",
                    format!("{m} seconds (10 s to 3 h)"),
                );
                10
            });
        let max_attempts = in_range(draft.max_attempts, MAX_ATTEMPTS).unwrap_or_else(|m| {
            fail(&mut errors, "max_attempts", m);
            1
        });

        let mut categories = BTreeMap::new();
        for (name, count) in &draft.categories {
            let name = crate::domain::question::clean_text(name);
            match in_range(*count, 1..=i32::from(*QUESTION_COUNT.end())) {
                Ok(count) if !name.is_empty() => {
                    categories.insert(name, count);
                }
                Ok(_) => fail(&mut errors, "categories", "a category name is empty".into()),
                Err(m) => fail(&mut errors, &format!("categories.{name}"), m),
            }
        }
        let mut difficulties = BTreeMap::new();
        for (level, count) in &draft.difficulties {
            match (
                Difficulty::parse(level),
                in_range(*count, 1..=i32::from(*QUESTION_COUNT.end())),
            ) {
                (Ok(level), Ok(count)) => {
                    if difficulties.insert(level, count).is_some() {
                        fail(
                            &mut errors,
                            "difficulties",
                            format!("`{}` appears twice", level.as_str()),
                        );
                    }
                }
                (Err(m), _) => fail(&mut errors, &format!("difficulties.{level}"), m.into()),
                (_, Err(m)) => fail(&mut errors, &format!("difficulties.{level}"), m),
            }
        }
        for (field, sum) in [
            ("categories", categories.values().sum::<i32>()),
            ("difficulties", difficulties.values().sum::<i32>()),
        ] {
            let quotas_given = if field == "categories" {
                !draft.categories.is_empty()
            } else {
                !draft.difficulties.is_empty()
            };
            if quotas_given
                && sum != i32::from(question_count)
                && !errors.keys().any(|k| k.starts_with(field))
            {
                fail(
                    &mut errors,
                    field,
                    format!("the counts add up to {sum} but question_count is {question_count}"),
                );
            }
        }

        let prediction_prompt = draft.prediction_prompt.trim().to_owned();
        if prediction_prompt.is_empty() || prediction_prompt.chars().count() > 1000 {
            fail(
                &mut errors,
                "prediction.prompt",
                "must be 1 to 1000 characters".into(),
            );
        }
        let prediction_target =
            PredictionTarget::parse(&draft.prediction_target).unwrap_or_else(|m| {
                fail(&mut errors, "prediction.target", m.into());
                PredictionTarget::Entries
            });
        let ranking = match &draft.ranking {
            None => RankingChain::default(),
            Some(raw) => RankingChain::parse(raw).unwrap_or_else(|m| {
                fail(&mut errors, "ranking", m);
                RankingChain::default()
            }),
        };
        let mut prizes = Vec::with_capacity(draft.prizes.len());
        for (i, prize) in draft.prizes.iter().enumerate() {
            let name = prize.name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                fail(
                    &mut errors,
                    &format!("prizes[{i}].name"),
                    "must be 1 to 100 characters".into(),
                );
            }
            if !(1..=100_000).contains(&prize.count) {
                fail(
                    &mut errors,
                    &format!("prizes[{i}].count"),
                    "must be between 1 and 100000".into(),
                );
            }
            prizes.push(Prize {
                name,
                count: prize.count,
            });
        }
        if let Some(cap) = draft.prize_cap_percent
            && !(cap > 0.0 && cap <= 100.0)
        {
            fail(
                &mut errors,
                "prize_cap_percent",
                "must be more than 0 and at most 100".into(),
            );
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            number,
            title,
            opens_at: draft.opens_at,
            closes_at: draft.closes_at,
            question_count,
            time_limit_seconds,
            max_attempts,
            shuffle_options: draft.shuffle_options,
            categories,
            difficulties,
            prediction_prompt,
            prediction_target,
            ranking,
            prizes,
            // Stored as numeric(5,2): keep what the database keeps.
            prize_cap_percent: draft.prize_cap_percent.map(|c| (c * 100.0).round() / 100.0),
        })
    }

    /// Can every attempt's draw be made from this bank? Checks the total, each quota, and —
    /// when both quotas are set — that one assignment satisfies both at once (a flow through
    /// the category × difficulty table).
    pub fn check_pool(&self, pool: &PoolCounts) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        let n = i64::from(self.question_count);
        if pool.total() < n {
            errors
                .entry("question_count".into())
                .or_default()
                .push(format!(
                    "the bank holds {} questions, fewer than {n}",
                    pool.total()
                ));
        }
        for (name, &want) in &self.categories {
            let have = pool.in_category(name);
            if have < i64::from(want) {
                errors
                    .entry(format!("categories.{name}"))
                    .or_default()
                    .push(format!(
                        "the bank holds {have} questions in `{name}`, fewer than {want}"
                    ));
            }
        }
        for (level, &want) in &self.difficulties {
            let have = pool.at_difficulty(*level);
            if have < i64::from(want) {
                errors
                    .entry(format!("difficulties.{}", level.as_str()))
                    .or_default()
                    .push(format!(
                        "the bank holds {have} {} questions, fewer than {want}",
                        level.as_str()
                    ));
            }
        }
        if errors.is_empty()
            && !self.categories.is_empty()
            && !self.difficulties.is_empty()
            && !pool.joint_draw_possible(&self.categories, &self.difficulties)
        {
            errors.entry("difficulties".into()).or_default().push(
                "no draw meets the category and difficulty quotas together: the bank lacks questions of the needed difficulty within those categories".into(),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// How many live questions the bank holds in each (category, difficulty) cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolCounts {
    cells: BTreeMap<(Option<String>, Option<Difficulty>), i64>,
}

impl PoolCounts {
    pub fn add(&mut self, category: Option<String>, difficulty: Option<Difficulty>, count: i64) {
        *self.cells.entry((category, difficulty)).or_default() += count;
    }

    pub fn total(&self) -> i64 {
        self.cells.values().sum()
    }

    pub fn in_category(&self, name: &str) -> i64 {
        self.cells
            .iter()
            .filter(|((c, _), _)| c.as_deref() == Some(name))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn at_difficulty(&self, level: Difficulty) -> i64 {
        self.cells
            .iter()
            .filter(|((_, d), _)| *d == Some(level))
            .map(|(_, n)| n)
            .sum()
    }

    /// Can one draw meet both quotas at once? A flow through the category × difficulty table.
    fn joint_draw_possible(
        &self,
        categories: &BTreeMap<String, i32>,
        difficulties: &BTreeMap<Difficulty, i32>,
    ) -> bool {
        let cells: Vec<Vec<i64>> = categories
            .keys()
            .map(|name| {
                difficulties
                    .keys()
                    .map(|level| {
                        self.cells
                            .get(&(Some(name.clone()), Some(*level)))
                            .copied()
                            .unwrap_or(0)
                    })
                    .collect()
            })
            .collect();
        joint_allocation(
            &categories
                .values()
                .map(|q| i64::from(*q))
                .collect::<Vec<_>>(),
            &difficulties
                .values()
                .map(|q| i64::from(*q))
                .collect::<Vec<_>>(),
            &cells,
        )
        .is_some()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn draft() -> RoundDraft {
        let opens = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap();
        RoundDraft {
            number: 1,
            title: "Tuần 1".into(),
            opens_at: opens,
            closes_at: opens + Duration::days(7),
            question_count: 10,
            time_limit_seconds: 600,
            max_attempts: 3,
            shuffle_options: true,
            categories: BTreeMap::new(),
            difficulties: BTreeMap::new(),
            prediction_prompt: "Bao nhiêu lượt dự thi?".into(),
            prediction_target: "entries".into(),
            ranking: None,
            prizes: vec![Prize {
                name: "Giải Nhất".into(),
                count: 1,
            }],
            prize_cap_percent: None,
        }
    }

    fn refused(d: &RoundDraft) -> Vec<String> {
        RoundSpec::parse(d)
            .expect_err("should be refused")
            .into_keys()
            .collect()
    }

    fn pool(cells: &[(&str, Difficulty, i64)]) -> PoolCounts {
        let mut p = PoolCounts::default();
        for (c, d, n) in cells {
            p.add(Some((*c).to_owned()), Some(*d), *n);
        }
        p
    }

    #[test]
    fn a_complete_round_is_accepted_with_the_default_chain() {
        let spec = RoundSpec::parse(&draft()).unwrap();
        assert_eq!(spec.ranking, RankingChain::default());
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut RoundDraft)>;
        let table: Vec<(&str, Change)> = vec![
            ("closes_at", Box::new(|d| d.closes_at = d.opens_at)),
            ("question_count", Box::new(|d| d.question_count = 0)),
            ("question_count", Box::new(|d| d.question_count = 501)),
            ("time_limit_seconds", Box::new(|d| d.time_limit_seconds = 9)),
            (
                "time_limit_seconds",
                Box::new(|d| d.time_limit_seconds = 10_801),
            ),
            ("max_attempts", Box::new(|d| d.max_attempts = 0)),
            ("max_attempts", Box::new(|d| d.max_attempts = 11)),
            (
                "prediction.target",
                Box::new(|d| d.prediction_target = "votes".into()),
            ),
            (
                "prediction.prompt",
                Box::new(|d| d.prediction_prompt = " ".into()),
            ),
            (
                "ranking",
                Box::new(|d| d.ranking = Some(vec!["duration".into(), "correct".into()])),
            ),
            (
                "ranking",
                Box::new(|d| d.ranking = Some(vec!["correct".into(), "luck".into()])),
            ),
            (
                "ranking",
                Box::new(|d| {
                    d.ranking = Some(vec!["correct".into(), "duration".into(), "duration".into()])
                }),
            ),
            ("prizes[0].count", Box::new(|d| d.prizes[0].count = 0)),
            (
                "prize_cap_percent",
                Box::new(|d| d.prize_cap_percent = Some(0.0)),
            ),
            (
                "prize_cap_percent",
                Box::new(|d| d.prize_cap_percent = Some(100.5)),
            ),
            ("title", Box::new(|d| d.title = String::new())),
            (
                "categories",
                Box::new(|d| {
                    d.categories.insert("A".into(), 4);
                }),
            ),
            (
                "difficulties.impossible",
                Box::new(|d| {
                    d.difficulties.insert("impossible".into(), 10);
                }),
            ),
        ];
        for (field, change) in table {
            let mut d = draft();
            change(&mut d);
            assert_eq!(refused(&d), [field], "{field}");
        }
    }

    #[test]
    fn limits_at_the_edges_are_accepted() {
        let mut d = draft();
        d.time_limit_seconds = 10_800;
        d.max_attempts = 10;
        d.prize_cap_percent = Some(100.0);
        d.ranking = Some(vec!["correct".into(), "duration".into()]);
        assert!(RoundSpec::parse(&d).is_ok());
    }

    #[test]
    fn vietnamese_difficulty_quota_names_are_accepted() {
        let mut d = draft();
        d.difficulties = BTreeMap::from([("dễ".into(), 6), ("khó".into(), 4)]);
        let spec = RoundSpec::parse(&d).unwrap();
        assert_eq!(spec.difficulties[&Difficulty::Easy], 6);
    }

    #[test]
    fn a_bank_smaller_than_the_draw_is_named() {
        let spec = RoundSpec::parse(&draft()).unwrap();
        let errors = spec
            .check_pool(&pool(&[("A", Difficulty::Easy, 9)]))
            .unwrap_err();
        assert!(errors.contains_key("question_count"));
    }

    #[test]
    fn a_quota_above_what_the_category_holds_is_named() {
        let mut d = draft();
        d.categories = BTreeMap::from([("A".into(), 6), ("B".into(), 4)]);
        let spec = RoundSpec::parse(&d).unwrap();
        let errors = spec
            .check_pool(&pool(&[
                ("A", Difficulty::Easy, 20),
                ("B", Difficulty::Easy, 3),
            ]))
            .unwrap_err();
        assert_eq!(errors.into_keys().collect::<Vec<_>>(), ["categories.B"]);
    }

    #[test]
    fn quotas_that_hold_apart_but_not_together_are_refused() {
        // 5 from A and 5 from B; 5 easy and 5 hard — but A holds only easy and B only easy.
        let mut d = draft();
        d.categories = BTreeMap::from([("A".into(), 5), ("B".into(), 5)]);
        d.difficulties = BTreeMap::from([("easy".into(), 5), ("hard".into(), 5)]);
        let spec = RoundSpec::parse(&d).unwrap();
        let bank = pool(&[
            ("A", Difficulty::Easy, 10),
            ("B", Difficulty::Easy, 10),
            ("C", Difficulty::Hard, 10),
        ]);
        assert!(
            spec.check_pool(&bank)
                .unwrap_err()
                .contains_key("difficulties")
        );
        let bank = pool(&[("A", Difficulty::Easy, 10), ("B", Difficulty::Hard, 10)]);
        assert!(spec.check_pool(&bank).is_ok());
    }
}
