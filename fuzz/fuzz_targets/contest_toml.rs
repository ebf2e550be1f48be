#![no_main]

use chrono::{TimeZone, Utc};
use hoithi::contests::folder::{ContestFile, resolve_time};
use hoithi::domain::question::clean_text;
use hoithi::domain::{Difficulty, PoolCounts, RoundDraft, RoundSpec, Slug};
use libfuzzer_sys::fuzz_target;

// A contest folder's contest.toml: what `hoithi contest import` does with it before touching
// the database (read the file, check slug and title, turn every round into a checked spec).
fuzz_target!(init: hoithi_fuzz::count_caught_dependency_panics(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = toml::from_str::<ContestFile>(text) else {
        return;
    };
    let _ = Slug::parse(&file.slug);
    let _ = clean_text(&file.title);
    let Some(anchor) = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).single() else {
        return;
    };
    let mut pool = PoolCounts::default();
    pool.add(Some("Kỹ năng số".to_owned()), Some(Difficulty::Easy), 40);
    pool.add(None, None, 100);
    for round in &file.rounds {
        // As folder.rs's round_draft: an unreadable time is an error for that field.
        let (Ok(opens_at), Ok(closes_at)) = (
            resolve_time(&round.opens_at, anchor),
            resolve_time(&round.closes_at, anchor),
        ) else {
            continue;
        };
        let draft = RoundDraft {
            number: round.number,
            title: round.title.clone(),
            opens_at,
            closes_at,
            question_count: round.question_count,
            time_limit_seconds: round.time_limit_seconds,
            max_attempts: round.max_attempts.unwrap_or(1),
            shuffle_options: round.shuffle_options.unwrap_or(false),
            categories: round.categories.clone().unwrap_or_default(),
            difficulties: round.difficulties.clone().unwrap_or_default(),
            prediction_prompt: round.prediction.prompt.clone(),
            prediction_target: round.prediction.target.clone(),
            ranking: round.ranking.clone(),
            prizes: round.prizes.clone(),
            prize_cap_percent: round.prize_cap_percent,
        };
        if let Ok(spec) = RoundSpec::parse(&draft) {
            let _ = spec.check_pool(&pool);
        }
    }
});
