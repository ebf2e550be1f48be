//! How a ranking becomes a Redis sorted set whose order equals PostgreSQL's exactly.
//!
//! A sorted set orders by score (an f64), then by the member string, byte by byte. The
//! score holds only what is exact in an f64 — the number of correct answers, negated — and
//! the member string holds the rest of the chain as fixed-width decimal fields, which sort
//! byte-wise exactly as the numbers do, followed by the attempt id (the last tie-break of
//! rule 7; UUIDs in their hyphenated lowercase form sort byte-wise as PostgreSQL sorts
//! them) and the member id. No two members can tie, and no precision is lost.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::round::RankKey;

/// Scores count down from here: more correct answers, lower score, earlier in the set.
const SCORE_BASE: f64 = 1_000_000_000.0;
const DURATION_WIDTH: usize = 10;
const SUBMITTED_WIDTH: usize = 17;
const UUID_WIDTH: usize = 36;

/// An ended attempt, as rankings see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub member_id: Uuid,
    pub attempt_id: Uuid,
    pub correct: i32,
    pub duration_ms: i64,
    pub submitted_at: DateTime<Utc>,
}

/// The live chain (rule 7 without the prediction, unknown until finalizing): the round's
/// keys after `correct`, in its order.
pub fn live_keys(chain: &[RankKey]) -> Vec<RankKey> {
    chain
        .iter()
        .copied()
        .filter(|k| matches!(k, RankKey::Duration | RankKey::SubmittedAt))
        .collect()
}

/// The (score, member) pair of an entry on a round's live leaderboard.
pub fn round_member(live: &[RankKey], entry: &Entry) -> (f64, String) {
    let mut member = String::with_capacity(DURATION_WIDTH + SUBMITTED_WIDTH + 2 * UUID_WIDTH);
    for key in live {
        match key {
            RankKey::Duration => {
                member.push_str(&format!(
                    "{:0width$}",
                    entry.duration_ms.max(0),
                    width = DURATION_WIDTH
                ));
            }
            RankKey::SubmittedAt => {
                member.push_str(&format!(
                    "{:0width$}",
                    entry.submitted_at.timestamp_micros().max(0),
                    width = SUBMITTED_WIDTH
                ));
            }
            RankKey::Correct | RankKey::Prediction => {}
        }
    }
    member.push_str(&entry.attempt_id.hyphenated().to_string());
    member.push_str(&entry.member_id.hyphenated().to_string());
    (SCORE_BASE - f64::from(entry.correct), member)
}

/// Sum of the counted correct answers and of their durations over a contest's rounds
/// (rule 9), then the member id.
pub fn contest_member(member_id: Uuid, correct: i64, duration_ms: i64) -> (f64, String) {
    // Sums stay far below 2^53: at most 500 correct per round.
    (
        SCORE_BASE - correct as f64,
        format!("{:015}{}", duration_ms.max(0), member_id.hyphenated()),
    )
}

/// The member id at the end of a leaderboard member string.
pub fn member_id_of(member: &str) -> Option<Uuid> {
    let start = member.len().checked_sub(UUID_WIDTH)?;
    Uuid::parse_str(member.get(start..)?).ok()
}

/// The attempt id of a round leaderboard member string.
pub fn attempt_id_of(member: &str) -> Option<Uuid> {
    let end = member.len().checked_sub(UUID_WIDTH)?;
    let start = end.checked_sub(UUID_WIDTH)?;
    Uuid::parse_str(member.get(start..end)?).ok()
}

/// Is `a` ranked before `b`?
pub fn before(a: &(f64, String), b: &(f64, String)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry(correct: i32, duration_ms: i64, micros: i64, attempt: u128) -> Entry {
        Entry {
            member_id: Uuid::from_u128(attempt + 1000),
            attempt_id: Uuid::from_u128(attempt),
            correct,
            duration_ms,
            submitted_at: Utc.timestamp_micros(micros).single().unwrap(),
        }
    }

    #[test]
    fn more_correct_then_shorter_then_earlier_then_smaller_attempt_id() {
        let live = live_keys(&[
            RankKey::Correct,
            RankKey::Prediction,
            RankKey::Duration,
            RankKey::SubmittedAt,
        ]);
        let ordered = [
            entry(10, 90_000, 1_800_000_000_000_000, 9),
            entry(9, 1_000, 1_700_000_000_000_000, 1),
            entry(9, 1_001, 1_600_000_000_000_000, 2),
            entry(9, 1_001, 1_600_000_000_000_001, 3),
            entry(9, 1_001, 1_600_000_000_000_001, 4),
        ];
        for pair in ordered.windows(2) {
            assert!(
                before(
                    &round_member(&live, &pair[0]),
                    &round_member(&live, &pair[1])
                ),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn a_chain_with_submission_first_puts_earlier_before_shorter() {
        let live = live_keys(&[RankKey::Correct, RankKey::SubmittedAt, RankKey::Duration]);
        let early_slow = entry(5, 9_000, 100, 1);
        let late_fast = entry(5, 1_000, 200, 2);
        assert!(before(
            &round_member(&live, &early_slow),
            &round_member(&live, &late_fast)
        ));
    }

    #[test]
    fn ids_are_read_back_from_a_member_string() {
        let e = entry(3, 5, 7, 42);
        let (_, member) = round_member(&[RankKey::Duration], &e);
        assert_eq!(attempt_id_of(&member), Some(e.attempt_id));
        assert_eq!(member_id_of(&member), Some(e.member_id));
        assert_eq!(member_id_of("short"), None);
    }
}
