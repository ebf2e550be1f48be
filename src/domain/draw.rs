//! The draw (rule 2): which questions an attempt gets, in which order, with which option
//! order — honouring the round's per-category and per-difficulty quotas — and the packed
//! form the paper is stored in.

use std::collections::BTreeMap;

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use crate::domain::question::Difficulty;

/// What the draw needs to know of a bank question.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub category: Option<&'a str>,
    pub difficulty: Option<Difficulty>,
}

/// A round's draw settings.
#[derive(Debug, Clone, Copy)]
pub struct DrawRule<'a> {
    pub count: usize,
    pub categories: &'a BTreeMap<String, i32>,
    pub difficulties: &'a BTreeMap<Difficulty, i32>,
}

/// How many questions to take from each (category, difficulty) cell so that every
/// category quota and every difficulty quota is met exactly: a max flow from the categories
/// through the cells to the difficulties. `None` when no assignment meets both.
pub fn joint_allocation(
    category_quotas: &[i64],
    difficulty_quotas: &[i64],
    cells: &[Vec<i64>],
) -> Option<Vec<Vec<i64>>> {
    let (c, d) = (category_quotas.len(), difficulty_quotas.len());
    // Nodes: 0 source, 1..=c categories, c+1..=c+d difficulties, then the sink.
    let size = c + d + 2;
    let sink = size - 1;
    let mut capacity = vec![vec![0_i64; size]; size];
    for (i, &quota) in category_quotas.iter().enumerate() {
        capacity[0][1 + i] = quota;
        for j in 0..d {
            capacity[1 + i][1 + c + j] = cells
                .get(i)
                .and_then(|row| row.get(j))
                .copied()
                .unwrap_or(0);
        }
    }
    for (j, &quota) in difficulty_quotas.iter().enumerate() {
        capacity[1 + c + j][sink] = quota;
    }
    let original = capacity.clone();
    let flow = max_flow(&mut capacity, 0, sink);
    let wanted: i64 = category_quotas.iter().sum();
    if flow != wanted || flow != difficulty_quotas.iter().sum::<i64>() {
        return None;
    }
    Some(
        (0..c)
            .map(|i| {
                (0..d)
                    .map(|j| original[1 + i][1 + c + j] - capacity[1 + i][1 + c + j])
                    .collect()
            })
            .collect(),
    )
}

/// Edmonds–Karp on an adjacency matrix; leaves the residual capacities behind. The graphs
/// here have a few dozen nodes at most.
fn max_flow(capacity: &mut [Vec<i64>], source: usize, sink: usize) -> i64 {
    let size = capacity.len();
    let mut flow = 0;
    loop {
        let mut parent = vec![usize::MAX; size];
        parent[source] = source;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(u) = queue.pop_front() {
            for v in 0..size {
                if parent[v] == usize::MAX && capacity[u][v] > 0 {
                    parent[v] = u;
                    queue.push_back(v);
                }
            }
        }
        if parent[sink] == usize::MAX {
            return flow;
        }
        let mut push = i64::MAX;
        let mut v = sink;
        while v != source {
            push = push.min(capacity[parent[v]][v]);
            v = parent[v];
        }
        let mut v = sink;
        while v != source {
            capacity[parent[v]][v] -= push;
            capacity[v][parent[v]] += push;
            v = parent[v];
        }
        flow += push;
    }
}

fn take<R: Rng + ?Sized>(pool: &[usize], count: usize, rng: &mut R) -> Option<Vec<usize>> {
    (pool.len() >= count).then(|| pool.choose_multiple(rng, count).copied().collect())
}

/// Draws a paper: indices into `candidates`, in the order shown. `None` when the bank cannot
/// satisfy the rule (the round's checks make that rare: a question deleted since).
pub fn draw<R: Rng + ?Sized>(
    candidates: &[Candidate<'_>],
    rule: DrawRule<'_>,
    rng: &mut R,
) -> Option<Vec<usize>> {
    let mut chosen = match (rule.categories.is_empty(), rule.difficulties.is_empty()) {
        (true, true) => {
            let all: Vec<usize> = (0..candidates.len()).collect();
            take(&all, rule.count, rng)?
        }
        (false, true) => {
            let mut chosen = Vec::with_capacity(rule.count);
            for (name, &quota) in rule.categories {
                let pool: Vec<usize> = (0..candidates.len())
                    .filter(|&i| candidates[i].category == Some(name.as_str()))
                    .collect();
                chosen.extend(take(&pool, usize::try_from(quota).ok()?, rng)?);
            }
            chosen
        }
        (true, false) => {
            let mut chosen = Vec::with_capacity(rule.count);
            for (&level, &quota) in rule.difficulties {
                let pool: Vec<usize> = (0..candidates.len())
                    .filter(|&i| candidates[i].difficulty == Some(level))
                    .collect();
                chosen.extend(take(&pool, usize::try_from(quota).ok()?, rng)?);
            }
            chosen
        }
        (false, false) => {
            // Visit categories and difficulties in a random order so that, when several
            // allocations meet the quotas, different attempts get different ones.
            let mut categories: Vec<(&String, i32)> =
                rule.categories.iter().map(|(k, v)| (k, *v)).collect();
            let mut levels: Vec<(Difficulty, i32)> =
                rule.difficulties.iter().map(|(k, v)| (*k, *v)).collect();
            categories.shuffle(rng);
            levels.shuffle(rng);
            let mut cells: Vec<Vec<Vec<usize>>> =
                vec![vec![Vec::new(); levels.len()]; categories.len()];
            for (index, candidate) in candidates.iter().enumerate() {
                let i = categories
                    .iter()
                    .position(|(name, _)| candidate.category == Some(name.as_str()));
                let j = levels
                    .iter()
                    .position(|(level, _)| candidate.difficulty == Some(*level));
                if let (Some(i), Some(j)) = (i, j) {
                    cells[i][j].push(index);
                }
            }
            let counts: Vec<Vec<i64>> = cells
                .iter()
                .map(|row| row.iter().map(|cell| cell.len() as i64).collect())
                .collect();
            let allocation = joint_allocation(
                &categories
                    .iter()
                    .map(|(_, q)| i64::from(*q))
                    .collect::<Vec<_>>(),
                &levels
                    .iter()
                    .map(|(_, q)| i64::from(*q))
                    .collect::<Vec<_>>(),
                &counts,
            )?;
            let mut chosen = Vec::with_capacity(rule.count);
            for (row, wants) in cells.iter().zip(&allocation) {
                for (cell, &want) in row.iter().zip(wants) {
                    chosen.extend(take(cell, usize::try_from(want).ok()?, rng)?);
                }
            }
            chosen
        }
    };
    if chosen.len() != rule.count {
        return None;
    }
    chosen.shuffle(rng);
    Some(chosen)
}

/// The order `option_count` options are shown in: shuffled, or as written.
pub fn option_order<R: Rng + ?Sized>(option_count: usize, shuffle: bool, rng: &mut R) -> Vec<u8> {
    // At most 8 options (rule 3), so every position fits in a u8.
    let mut order: Vec<u8> = (0..option_count.min(8) as u8).collect();
    if shuffle {
        order.shuffle(rng);
    }
    order
}

/// Place k shows the option at original position `order[k]`; 3 bits per place.
pub fn pack_order(order: &[u8]) -> i32 {
    order
        .iter()
        .enumerate()
        .fold(0, |packed, (place, &position)| {
            packed | (i32::from(position & 0b111) << (3 * place))
        })
}

pub fn unpack_order(packed: i32, option_count: usize) -> Vec<u8> {
    (0..option_count.min(8))
        .map(|place| ((packed >> (3 * place)) & 0b111) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn bank(cells: &[(&'static str, Difficulty, usize)]) -> Vec<Candidate<'static>> {
        cells
            .iter()
            .flat_map(|(c, d, n)| {
                std::iter::repeat_n(
                    Candidate {
                        category: Some(*c),
                        difficulty: Some(*d),
                    },
                    *n,
                )
            })
            .collect()
    }

    #[test]
    fn packed_orders_unpack_to_themselves() {
        let order = vec![3, 0, 7, 1, 6, 2, 5, 4];
        assert_eq!(unpack_order(pack_order(&order), 8), order);
        assert_eq!(pack_order(&[0, 1]), 0b001_000);
    }

    #[test]
    fn a_draw_takes_distinct_questions_in_a_random_order() {
        let candidates = bank(&[("A", Difficulty::Easy, 30)]);
        let empty = BTreeMap::new();
        let rule = DrawRule {
            count: 10,
            categories: &BTreeMap::new(),
            difficulties: &empty,
        };
        let mut rng = StdRng::seed_from_u64(7);
        let first = draw(&candidates, rule, &mut rng).unwrap();
        let second = draw(&candidates, rule, &mut rng).unwrap();
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
        assert_ne!(first, second);
    }

    #[test]
    fn both_quotas_are_met_exactly_whenever_the_bank_allows() {
        // A is only easy, B is easy or hard: 5 hard must come from B.
        let candidates = bank(&[
            ("A", Difficulty::Easy, 10),
            ("B", Difficulty::Easy, 3),
            ("B", Difficulty::Hard, 6),
        ]);
        let categories = BTreeMap::from([("A".to_owned(), 4), ("B".to_owned(), 6)]);
        let difficulties = BTreeMap::from([(Difficulty::Easy, 5), (Difficulty::Hard, 5)]);
        let rule = DrawRule {
            count: 10,
            categories: &categories,
            difficulties: &difficulties,
        };
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let paper = draw(&candidates, rule, &mut rng).unwrap();
            let count = |f: &dyn Fn(&Candidate<'_>) -> bool| {
                paper.iter().filter(|&&i| f(&candidates[i])).count()
            };
            assert_eq!(count(&|c| c.category == Some("A")), 4);
            assert_eq!(count(&|c| c.category == Some("B")), 6);
            assert_eq!(count(&|c| c.difficulty == Some(Difficulty::Hard)), 5);
        }
    }

    #[test]
    fn a_bank_that_cannot_meet_the_quotas_draws_nothing() {
        let candidates = bank(&[("A", Difficulty::Easy, 10)]);
        let categories = BTreeMap::from([("A".to_owned(), 5)]);
        let difficulties = BTreeMap::from([(Difficulty::Hard, 5)]);
        let rule = DrawRule {
            count: 5,
            categories: &categories,
            difficulties: &difficulties,
        };
        assert!(draw(&candidates, rule, &mut StdRng::seed_from_u64(1)).is_none());
    }
}
