//! Rule 8: who wins what. The prize ladder goes down the final ranking; an entry with no
//! correct answer never wins, nor does a staff account, nor — with `one_prize_per_person` —
//! a member who already won in another round, nor a disqualified member. The round may cap
//! its prizes at a share of its participants.
//!
//! A disqualification re-runs the same allocation without the disqualified member, so the
//! prizes always follow the ranking among eligible entries: the prize passes down, and the
//! first eligible entry without a prize receives the last one.

use crate::domain::round::Prize;

/// One ranked entry, in final ranking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranked {
    pub correct: i32,
    /// Not staff, not already a winner elsewhere (when that matters), not disqualified.
    pub eligible: bool,
}

/// One prize given: the entry's index in the ranking, the prize's position in the ladder
/// (1 = top prize) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    pub index: usize,
    pub position: i16,
    pub name: String,
}

/// How many prizes a round may give at most: `prize_cap_percent` of its participants,
/// rounded down; no cap without a percentage.
pub fn cap(participants: i64, cap_percent: Option<f64>) -> Option<usize> {
    cap_percent.map(|percent| {
        // Percentages have two decimals (numeric(5,2)): work in hundredths to stay exact.
        let hundredths = (percent * 100.0).round() as i64;
        usize::try_from(participants.max(0) * hundredths / 10_000).unwrap_or(0)
    })
}

/// The ladder as single prizes, top first: 1 × Nhất, 2 × Nhì → Nhất, Nhì, Nhì.
fn slots(prizes: &[Prize]) -> impl Iterator<Item = (i16, &str)> {
    (1_i16..).zip(prizes).flat_map(|(position, prize)| {
        std::iter::repeat_n(
            (position, prize.name.as_str()),
            usize::try_from(prize.count).unwrap_or(0),
        )
    })
}

/// Gives the ladder down the ranking. `ranking` may be a prefix of the full ranking: the
/// allocation stops at the first entry with no correct answer (all later ones have none).
pub fn allocate(ranking: &[Ranked], prizes: &[Prize], cap: Option<usize>) -> Vec<Award> {
    let mut slots = slots(prizes).take(cap.unwrap_or(usize::MAX));
    let mut awards = Vec::new();
    for (index, entry) in ranking.iter().enumerate() {
        if entry.correct <= 0 {
            break;
        }
        if !entry.eligible {
            continue;
        }
        let Some((position, name)) = slots.next() else {
            break;
        };
        awards.push(Award {
            index,
            position,
            name: name.to_owned(),
        });
    }
    awards
}

/// How many prizes the ladder holds in all.
pub fn ladder_size(prizes: &[Prize]) -> usize {
    prizes
        .iter()
        .map(|p| usize::try_from(p.count).unwrap_or(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Vec<Prize> {
        vec![
            Prize {
                name: "Nhất".into(),
                count: 1,
            },
            Prize {
                name: "Nhì".into(),
                count: 2,
            },
            Prize {
                name: "Ba".into(),
                count: 1,
            },
        ]
    }

    fn ranked(correct: &[i32]) -> Vec<Ranked> {
        correct
            .iter()
            .map(|&correct| Ranked {
                correct,
                eligible: true,
            })
            .collect()
    }

    fn given(awards: &[Award]) -> Vec<(usize, &str)> {
        awards.iter().map(|a| (a.index, a.name.as_str())).collect()
    }

    #[test]
    fn the_ladder_goes_down_the_ranking() {
        let awards = allocate(&ranked(&[10, 9, 9, 8, 7]), &ladder(), None);
        assert_eq!(
            given(&awards),
            [(0, "Nhất"), (1, "Nhì"), (2, "Nhì"), (3, "Ba")]
        );
        assert_eq!(awards[1].position, 2);
    }

    #[test]
    fn no_correct_answer_never_wins() {
        let awards = allocate(&ranked(&[3, 0, 0]), &ladder(), None);
        assert_eq!(given(&awards), [(0, "Nhất")]);
    }

    #[test]
    fn ineligible_entries_are_passed_over() {
        let mut ranking = ranked(&[10, 9, 8, 7, 6]);
        ranking[0].eligible = false;
        ranking[2].eligible = false;
        assert_eq!(
            given(&allocate(&ranking, &ladder(), None)),
            [(1, "Nhất"), (3, "Nhì"), (4, "Nhì")]
        );
    }

    #[test]
    fn the_cap_limits_the_prizes_to_a_share_of_participants() {
        assert_eq!(cap(25, Some(10.0)), Some(2));
        assert_eq!(cap(29, Some(10.0)), Some(2));
        assert_eq!(cap(30, Some(10.0)), Some(3));
        assert_eq!(cap(1000, Some(0.25)), Some(2));
        assert_eq!(cap(1000, None), None);
        let awards = allocate(&ranked(&[5, 5, 5, 5]), &ladder(), cap(25, Some(10.0)));
        assert_eq!(given(&awards), [(0, "Nhất"), (1, "Nhì")]);
    }

    #[test]
    fn the_ladder_counts_every_prize() {
        assert_eq!(ladder_size(&ladder()), 4);
    }
}
