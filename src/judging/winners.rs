//! The winners as they are handed out and announced:
//!
//! - `GET /contests/{contest}/winners` (judges and admins): every finalized round's
//!   winners, the whole-contest standing over those rounds (rule 9) and the unit prizes
//!   (rule 10), as JSON or as one workbook with a sheet each. Personal data, so audited.
//! - `GET /rounds/{round}/winners/public` (anyone who can see the contest): the list an
//!   organiser posts once a round is finalized, with names, units and masked phones only
//!   (rule 13).

use actix_web::{HttpResponse, web};
use anyhow::Context;
use chrono::{DateTime, Utc};
use rust_xlsxwriter::Workbook;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::auth::{AuthUser, MaybeUser};
use crate::contests::access::staff_contest;
use crate::domain::{Phone, Role};
use crate::error::{ApiError, Problem};
use crate::judging::export::{self, ResultRow};
use crate::judging::routes::{CSV, Format, XLSX, attachment};
use crate::judging::store::{self, Winner};
use crate::judging::units::{self, By, UnitPlace};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/contests/{contest}/winners").route(web::get().to(contest_winners)),
    )
    .service(
        web::resource("/api/v1/rounds/{round}/winners/public").route(web::get().to(public_winners)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContestWinnersQuery {
    /// `json` (default), `csv` (every round's winners in one table, the round first) or
    /// `xlsx` (a sheet per round, the standing and the unit prizes).
    format: Option<String>,
    /// How units are ranked for the unit prizes: `participants` (default), `entries` or `rate`.
    #[param(value_type = Option<String>)]
    by: Option<By>,
    /// Rows of the whole-contest standing: 1–10000, default 100.
    top: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoundWinners {
    pub round_id: Uuid,
    pub number: i16,
    pub title: String,
    pub finalized_at: DateTime<Utc>,
    pub actual_value: Option<i64>,
    pub entries: Option<i32>,
    pub participants: Option<i32>,
    pub winners: Vec<Winner>,
}

/// A member's place over the contest's finalized rounds: the sums of their counted
/// attempts' correct answers and durations (rule 9). Staff accounts are left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StandingRow {
    pub rank: i64,
    pub member_id: Uuid,
    pub full_name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub unit: Option<String>,
    pub correct: i64,
    pub duration_ms: i64,
    /// Finalized rounds the member took part in.
    pub rounds: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContestWinners {
    pub contest_id: Uuid,
    pub title: String,
    /// Finalized rounds only, by number.
    pub rounds: Vec<RoundWinners>,
    pub standing: Vec<StandingRow>,
    /// `participants`, `entries` or `rate`.
    pub units_by: String,
    pub units: Vec<UnitPlace>,
}

async fn finalized_rounds(
    pool: &sqlx::PgPool,
    contest_id: Uuid,
) -> anyhow::Result<Vec<RoundWinners>> {
    let rows = sqlx::query!(
        r#"SELECT id, number, title, finalized_at AS "finalized_at!", actual_value, entries,
                  participants
           FROM rounds WHERE contest_id = $1 AND finalized_at IS NOT NULL ORDER BY number"#,
        contest_id
    )
    .fetch_all(pool)
    .await
    .context("listing finalized rounds")?;
    let mut rounds = Vec::with_capacity(rows.len());
    for r in rows {
        rounds.push(RoundWinners {
            winners: store::winners(pool, r.id).await?,
            round_id: r.id,
            number: r.number,
            title: r.title,
            finalized_at: r.finalized_at,
            actual_value: r.actual_value,
            entries: r.entries,
            participants: r.participants,
        });
    }
    Ok(rounds)
}

/// The top `limit` members over the contest's finalized rounds, each round counting the
/// attempt its final ranking counted.
async fn standing(
    pool: &sqlx::PgPool,
    contest_id: Uuid,
    limit: i64,
) -> anyhow::Result<Vec<StandingRow>> {
    sqlx::query_as!(
        StandingRow,
        r#"SELECT row_number() OVER (ORDER BY s.correct DESC, s.duration_ms, s.member_id) AS "rank!",
                  s.member_id AS "member_id!", a.full_name, a.phone, a.id_number,
                  u.name AS "unit?", s.correct AS "correct!", s.duration_ms AS "duration_ms!",
                  s.rounds AS "rounds!"
           FROM (
               SELECT r.member_id, sum(r.correct)::bigint AS correct,
                      sum(r.duration_ms)::bigint AS duration_ms, count(*) AS rounds
               FROM round_results r JOIN rounds d ON d.id = r.round_id
               WHERE d.contest_id = $1 AND d.finalized_at IS NOT NULL
               GROUP BY r.member_id
           ) s
           JOIN accounts a ON a.id = s.member_id AND a.role = 'member'
           LEFT JOIN units u ON u.id = a.unit_id
           ORDER BY 1
           LIMIT $2"#,
        contest_id,
        limit
    )
    .fetch_all(pool)
    .await
    .context("ranking the contest's finalized rounds")
}

const STANDING_HEADERS: [&str; 9] = [
    "Hạng",
    "Họ và tên",
    "Số điện thoại",
    "Số CCCD",
    "Đơn vị",
    "Tổng số câu đúng",
    "Tổng thời gian (giây)",
    "Số vòng đã thi",
    "Mã hội viên",
];
const STANDING_WIDTHS: [f64; 9] = [7.0, 28.0, 15.0, 15.0, 28.0, 14.0, 16.0, 12.0, 38.0];

const UNIT_HEADERS: [&str; 7] = [
    "Hạng",
    "Mã đơn vị",
    "Đơn vị",
    "Số người tham gia",
    "Số lượt thi",
    "Số hội viên",
    "Tỷ lệ tham gia (%)",
];
const UNIT_WIDTHS: [f64; 7] = [7.0, 14.0, 32.0, 16.0, 12.0, 12.0, 16.0];

/// One workbook: a sheet per finalized round, then the standing, then the unit prizes.
fn workbook(contest: &ContestWinners) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    for round in &contest.rounds {
        let rows: Vec<ResultRow> = round.winners.iter().cloned().map(ResultRow::from).collect();
        export::add_results_sheet(&mut workbook, &format!("Vòng {}", round.number), &rows)?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Toàn cuộc thi")?;
    export::table_head(sheet, &STANDING_HEADERS, &STANDING_WIDTHS)?;
    for (r, row) in (1_u32..).zip(&contest.standing) {
        sheet.write_number(r, 0, row.rank as f64)?;
        sheet.write_string(r, 1, &row.full_name)?;
        sheet.write_string(r, 2, row.phone.as_deref().unwrap_or_default())?;
        sheet.write_string(r, 3, row.id_number.as_deref().unwrap_or_default())?;
        sheet.write_string(r, 4, row.unit.as_deref().unwrap_or_default())?;
        sheet.write_number(r, 5, row.correct as f64)?;
        sheet.write_number(r, 6, row.duration_ms as f64 / 1000.0)?;
        sheet.write_number(r, 7, row.rounds as f64)?;
        sheet.write_string(r, 8, row.member_id.to_string())?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Giải tập thể")?;
    export::table_head(sheet, &UNIT_HEADERS, &UNIT_WIDTHS)?;
    for (r, unit) in (1_u32..).zip(&contest.units) {
        sheet.write_number(r, 0, unit.rank as f64)?;
        sheet.write_string(r, 1, &unit.code)?;
        sheet.write_string(r, 2, &unit.name)?;
        sheet.write_number(r, 3, unit.participants as f64)?;
        sheet.write_number(r, 4, unit.entries as f64)?;
        sheet.write_number(r, 5, unit.member_count as f64)?;
        sheet.write_number(r, 6, (unit.rate * 10_000.0).round() / 100.0)?;
    }
    workbook.save_to_buffer()
}

/// Every round's winners in one table, each row starting with its round's number.
fn csv(contest: &ContestWinners) -> Vec<u8> {
    let mut out = export::csv_head_with(&["Vòng"]);
    for round in &contest.rounds {
        for winner in &round.winners {
            let row = ResultRow::from(winner.clone());
            out.extend(export::csv_row_with(&[round.number.to_string()], &row));
        }
    }
    out
}

/// Every finalized round's winners, the whole-contest standing and the unit prizes.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/winners", tag = "judging",
    security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug"), ContestWinnersQuery),
    responses(
        (status = 200, body = ContestWinners),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`top` out of range"),
    ))]
pub async fn contest_winners(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ContestWinnersQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = Format::parse(query.format.as_deref())?;
    let top = query.top.unwrap_or(100);
    if !(1..=10_000).contains(&top) {
        return Err(ApiError::invalid_field("top", "must be 1 to 10000"));
    }
    let by = query.by.unwrap_or(By::Participants);
    let contest = staff_contest(&state.db, &user, &path, &[Role::Judge]).await?;
    let winners = ContestWinners {
        contest_id: contest.id,
        title: contest.title,
        rounds: finalized_rounds(&state.db, contest.id).await?,
        standing: standing(&state.db, contest.id, top).await?,
        units_by: by.as_str().to_owned(),
        units: units::compute(&state.db, contest.id, None, by).await?.items,
    };
    let people = winners
        .rounds
        .iter()
        .map(|r| r.winners.len())
        .sum::<usize>()
        + if format == Format::Csv {
            0
        } else {
            winners.standing.len()
        };
    audit::record(
        &state.db,
        audit::Entry {
            contest_id: Some(contest.id),
            row_count: i32::try_from(people).ok(),
            details: serde_json::json!({
                "what": "contest_winners",
                "format": format!("{format:?}").to_lowercase(),
            }),
            ..audit::Entry::new(audit::Actor::Account(user.id), "contest.export")
        },
    )
    .await?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(winners),
        Format::Csv => attachment(csv(&winners), CSV, &format!("winners-{}.csv", contest.slug)),
        Format::Xlsx => attachment(
            workbook(&winners).map_err(anyhow::Error::from)?,
            XLSX,
            &format!("winners-{}.xlsx", contest.slug),
        ),
    })
}

/// A winner as the public sees them: no full phone, no ID number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicWinner {
    pub rank: i32,
    pub prize: String,
    pub display_name: String,
    pub unit: Option<String>,
    /// `091****678`: the first three and the last three digits.
    pub phone_masked: Option<String>,
    pub correct: i16,
    pub prediction: Option<i64>,
    pub prediction_error: Option<i64>,
    pub duration_ms: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicWinners {
    pub round_id: Uuid,
    pub title: String,
    pub finalized_at: DateTime<Utc>,
    /// The true value of the round's prediction target.
    pub actual_value: Option<i64>,
    pub items: Vec<PublicWinner>,
}

impl From<Winner> for PublicWinner {
    fn from(w: Winner) -> Self {
        Self {
            rank: w.rank,
            prize: w.prize,
            display_name: w.full_name,
            unit: w.unit,
            phone_masked: w
                .phone
                .as_deref()
                .and_then(|p| Phone::parse(p).ok())
                .map(|p| p.masked()),
            correct: w.correct,
            prediction: w.prediction,
            prediction_error: w.prediction_error,
            duration_ms: w.duration_ms,
        }
    }
}

/// The winners of a finalized round as organisers announce them: names, units and masked
/// phones.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/winners/public", tag = "leaderboards",
    security((), ("bearer" = [])),
    params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = PublicWinners),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_finalized`"),
    ))]
pub async fn public_winners(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = crate::leaderboard::routes::visible_round(&state, user.as_ref(), *path).await?;
    let row = sqlx::query!(
        "SELECT title, finalized_at, actual_value FROM rounds WHERE id = $1",
        round.id
    )
    .fetch_optional(&state.db)
    .await
    .context("reading the round")?
    .ok_or_else(|| ApiError::not_found("round"))?;
    let Some(finalized_at) = row.finalized_at else {
        return Err(ApiError::conflict(
            "round_not_finalized",
            "the winners are known once the judges finalize the round",
        ));
    };
    let items = store::winners(&state.db, round.id)
        .await?
        .into_iter()
        .map(PublicWinner::from)
        .collect();
    Ok(HttpResponse::Ok().json(PublicWinners {
        round_id: round.id,
        title: row.title,
        finalized_at,
        actual_value: row.actual_value,
        items,
    }))
}
