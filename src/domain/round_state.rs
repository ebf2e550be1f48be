//! A round's state is derived, never stored: from the clock, its window and the finalized
//! mark (rules 1 and 11).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    /// Before `opens_at`.
    Scheduled,
    /// From `opens_at` (inclusive) to `closes_at` (exclusive): attempts may start.
    Open,
    /// At or after `closes_at`, not yet finalized.
    Closed,
    /// Judges fixed the ranking and winners.
    Finalized,
}

impl RoundState {
    pub fn at(
        now: DateTime<Utc>,
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
        finalized: bool,
    ) -> Self {
        if finalized {
            Self::Finalized
        } else if now < opens_at {
            Self::Scheduled
        } else if now < closes_at {
            Self::Open
        } else {
            Self::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn window() -> (DateTime<Utc>, DateTime<Utc>) {
        let opens = Utc
            .with_ymd_and_hms(2026, 11, 23, 1, 0, 0)
            .single()
            .expect("valid date");
        (opens, opens + Duration::days(7))
    }

    #[test]
    fn round_is_scheduled_before_it_opens() {
        let (opens, closes) = window();
        assert_eq!(
            RoundState::at(opens - Duration::seconds(1), opens, closes, false),
            RoundState::Scheduled
        );
    }

    #[test]
    fn round_opens_exactly_at_opens_at() {
        let (opens, closes) = window();
        assert_eq!(
            RoundState::at(opens, opens, closes, false),
            RoundState::Open
        );
    }

    #[test]
    fn round_is_closed_exactly_at_closes_at() {
        let (opens, closes) = window();
        assert_eq!(
            RoundState::at(closes, opens, closes, false),
            RoundState::Closed
        );
    }

    #[test]
    fn finalized_mark_wins_over_the_clock() {
        let (opens, closes) = window();
        assert_eq!(
            RoundState::at(opens, opens, closes, true),
            RoundState::Finalized
        );
    }
}
