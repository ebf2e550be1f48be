//! The seeder: organisation units, M members and K finished entries of one round, written
//! with `COPY` (not the API), so a 1,000,000-entry round takes seconds of PostgreSQL's time
//! instead of hours of HTTP.
//!
//! Ids are derived from the member's number `i` (1..=M), so the load generator can sign in
//! any member without a file of ids: member `i` is [`member_id`]`(i)`, and members 1..=K
//! hold an entry, [`entry_id`]`(i)`. Members past K have none: the load runs start them.

use std::fmt::Write as _;

use anyhow::{Context, ensure};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// Member number `i`'s account id.
pub fn member_id(i: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | u128::from(i))
}

/// The id of member `i`'s seeded entry.
pub fn entry_id(i: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_b000_0000_0000_0000 | u128::from(i))
}

fn unit_id(n: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_9000_0000_0000_0000 | u128::from(n))
}

/// Rows are sent in chunks of this many bytes.
const CHUNK: usize = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The round that gets the entries.
    #[arg(long)]
    round: Uuid,
    /// Members in all (numbered 1..=members).
    #[arg(long)]
    members: u64,
    /// Finished entries: members 1..=entries each have one.
    #[arg(long)]
    entries: u64,
    /// Seeds the random results, so two runs seed the same week.
    #[arg(long, default_value_t = 20_261_123)]
    seed: u64,
}

struct Round {
    contest_id: Uuid,
    question_count: i32,
    time_limit_ms: i64,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

pub async fn run(args: &SeedArgs) -> anyhow::Result<()> {
    ensure!(
        args.entries <= args.members,
        "--entries ({}) cannot exceed --members ({})",
        args.entries,
        args.members
    );
    ensure!(
        args.members <= 9_999_999,
        "at most 9,999,999 members (phone numbers run out)"
    );
    let began = std::time::Instant::now();
    let mut db = PgConnection::connect(&args.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    let round: Round = {
        let row: (Uuid, i32, i32, DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
            "SELECT contest_id, question_count::int, time_limit_seconds::int, opens_at, closes_at
             FROM rounds WHERE id = $1",
        )
        .bind(args.round)
        .fetch_optional(&mut db)
        .await?
        .with_context(|| format!("no round {}", args.round))?;
        Round {
            contest_id: row.0,
            question_count: row.1,
            time_limit_ms: i64::from(row.2) * 1000,
            opens_at: row.3,
            closes_at: row.4,
        }
    };
    // A real paper: the first questions of the contest's bank.
    let paper: Vec<Uuid> = sqlx::query_scalar(
        "SELECT current_revision_id FROM questions
         WHERE contest_id = $1 AND deleted_at IS NULL ORDER BY position LIMIT $2",
    )
    .bind(round.contest_id)
    .bind(i64::from(round.question_count))
    .fetch_all(&mut db)
    .await?;
    ensure!(
        i32::try_from(paper.len()).is_ok_and(|n| n == round.question_count),
        "the contest's bank holds {} questions, the round draws {}",
        paper.len(),
        round.question_count
    );

    let mut tx = db.begin().await?;
    seed_units(&mut tx).await?;
    seed_members(&mut tx, args.members).await?;
    seed_entries(&mut tx, args, &round, &paper).await?;
    tx.commit().await?;
    sqlx::query("ANALYZE units, accounts, attempts")
        .execute(&mut db)
        .await?;
    println!(
        "seeded {} members and {} entries of round {} in {:.1} s",
        args.members,
        args.entries,
        args.round,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Sends `rows` (CSV lines made by `line`) to `COPY … FROM STDIN`, a chunk at a time.
async fn copy_rows(
    db: &mut PgConnection,
    statement: &str,
    rows: impl Iterator<Item = u64>,
    mut line: impl FnMut(&mut String, u64) -> std::fmt::Result,
) -> anyhow::Result<u64> {
    let mut copy = db.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(CHUNK + 4096);
    for i in rows {
        line(&mut buf, i)?;
        if buf.len() >= CHUNK {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// A province, 30 districts, 20 communes in each (631 units), unless already there.
async fn seed_units(db: &mut PgConnection) -> anyhow::Result<()> {
    let have: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM units WHERE id = $1)")
        .bind(unit_id(0))
        .fetch_one(&mut *db)
        .await?;
    if have {
        return Ok(());
    }
    let province = unit_id(0);
    copy_rows(
        db,
        "COPY units (id, code, name, parent_id, member_count) FROM STDIN WITH (FORMAT csv)",
        0..31 * 21,
        |buf, n| {
            let (d, x) = (n / 21, n % 21);
            match (d, x) {
                (0, 0) => writeln!(buf, "{province},T01,Tỉnh Bình An,,0"),
                (0, _) => Ok(()),
                (_, 0) => writeln!(buf, "{},H{d:02},Huyện {d},{province},0", unit_id(d * 100)),
                _ => writeln!(
                    buf,
                    "{},H{d:02}X{x:02},Xã {x} huyện {d},{},{}",
                    unit_id(d * 100 + x),
                    unit_id(d * 100),
                    1500 + (d * 37 + x * 11) % 900
                ),
            }
        },
    )
    .await?;
    Ok(())
}

async fn seed_members(db: &mut PgConnection, members: u64) -> anyhow::Result<()> {
    const FAMILY: [&str; 15] = [
        "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
        "Hồ", "Ngô", "Dương",
    ];
    const MIDDLE: [&str; 8] = ["Thị", "Văn", "Thị", "Hữu", "Thị", "Đức", "Thị", "Minh"];
    const GIVEN: [&str; 15] = [
        "Lan", "Hòa", "Hương", "Thu", "Mai", "Hạnh", "Dũng", "Nam", "Hùng", "Tuấn", "Linh", "Ngọc",
        "Phương", "Trang", "Yến",
    ];
    // Indexing by `% len` cannot go out of bounds; the casts are of numbers below 30.
    let pick = |list: &[&'static str], n: u64| list[(n % list.len() as u64) as usize];
    copy_rows(
        db,
        "COPY accounts (id, role, phone, full_name, password_hash, id_number, unit_id)
         FROM STDIN WITH (FORMAT csv)",
        1..=members,
        |buf, i| {
            let (d, x) = (1 + i % 30, 1 + (i / 30) % 20);
            writeln!(
                buf,
                // Nobody can sign in with the password hash `x`: the load runs mint tokens.
                "{},member,+8491{i:07},{} {} {},x,{:012},{}",
                member_id(i),
                pick(&FAMILY, i),
                pick(&MIDDLE, i),
                pick(&GIVEN, i / 7),
                1_000_000_000 + i,
                unit_id(d * 100 + x)
            )
        },
    )
    .await?;
    Ok(())
}

async fn seed_entries(
    db: &mut PgConnection,
    args: &SeedArgs,
    round: &Round,
    paper: &[Uuid],
) -> anyhow::Result<()> {
    let q = paper.len();
    let braces = |items: &mut dyn Iterator<Item = String>| {
        format!("\"{{{}}}\"", items.collect::<Vec<_>>().join(","))
    };
    let paper_text = braces(&mut paper.iter().map(Uuid::to_string));
    let order_text = braces(&mut (0..q).map(|_| "8".to_owned()));
    let answers_text = braces(&mut (0..q).map(|_| "0".to_owned()));
    // Entries were taken over the round's first week, or up to now if it is younger.
    let last_start = round.closes_at.min(Utc::now()) - Duration::milliseconds(round.time_limit_ms);
    let span_s = (last_start - round.opens_at).num_seconds().max(1);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let fastest_ms = (round.time_limit_ms / 4).max(1);
    let entries = args.entries;
    copy_rows(
        db,
        "COPY attempts (id, round_id, member_id, number, state, started_at, deadline,
                        paper_revisions, paper_option_order, answers, prediction,
                        submitted_at, duration_ms, correct, total)
         FROM STDIN WITH (FORMAT csv)",
        1..=entries,
        |buf, i| {
            // Most get most questions right: a real quiz skews high.
            let share = 1.0 - rng.random::<f64>().powf(2.5);
            let correct = ((q as f64 * share).round() as usize).min(q);
            let duration_ms = rng.random_range(fastest_ms..=round.time_limit_ms);
            let started = round.opens_at + Duration::seconds(rng.random_range(0..span_s));
            let deadline = started + Duration::milliseconds(round.time_limit_ms);
            let submitted = started + Duration::milliseconds(duration_ms);
            let prediction = if rng.random_bool(0.05) {
                String::new()
            } else {
                ((entries as f64) * rng.random_range(0.6..1.4)).round().to_string()
            };
            writeln!(
                buf,
                "{},{},{},1,submitted,{},{},{paper_text},{order_text},{answers_text},{prediction},{},{duration_ms},{correct},{q}",
                entry_id(i),
                args.round,
                member_id(i),
                started.to_rfc3339(),
                deadline.to_rfc3339(),
                submitted.to_rfc3339(),
            )
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_member_number() {
        assert_eq!(
            member_id(42).to_string(),
            "00000000-0000-4000-8000-00000000002a"
        );
        assert_eq!(
            entry_id(1).to_string(),
            "00000000-0000-4000-b000-000000000001"
        );
        assert_ne!(member_id(7), entry_id(7));
    }
}
