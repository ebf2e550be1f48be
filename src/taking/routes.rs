//! Taking a round: start (`POST /rounds/{round}/attempts`), resume (`GET /attempts/{id}`),
//! autosave (`PUT /attempts/{id}/answers`) and submit (`POST /attempts/{id}/submit`).
//! Nothing here ever sends which option is correct.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::domain::QuestionKind;
use crate::domain::draw::{self, Candidate, DrawRule};
use crate::error::{ApiError, FieldErrors, Problem};
use crate::extract::{Json, JsonLimit};
use crate::leaderboard;
use crate::rate_limit;
use crate::state::AppState;
use crate::taking::cache::{PaperQuestion, RoundInfo};
use crate::taking::store::{self, AttemptRow, NewAttempt, Submission};

/// A full paper's answers: 500 questions × 8 option ids fit easily.
const ANSWERS_BODY_LIMIT: usize = 512 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/rounds/{round}/attempts").route(web::post().to(start_attempt)),
    )
    .service(web::resource("/api/v1/attempts/{id}").route(web::get().to(get_attempt)))
    .service(
        web::resource("/api/v1/attempts/{id}/answers")
            .app_data(JsonLimit(ANSWERS_BODY_LIMIT))
            .route(web::put().to(save_answers)),
    )
    .service(
        web::resource("/api/v1/attempts/{id}/submit")
            .app_data(JsonLimit(ANSWERS_BODY_LIMIT))
            .route(web::post().to(submit_attempt)),
    );
}

// `deny_unknown_fields` on the paper's four types (ShownOption, ShownQuestion, AttemptResult,
// Attempt) only serves the OpenAPI document: utoipa turns it into `additionalProperties:
// false`, so a paper that grew a key the document does not declare (an answer key, say)
// fails schema conformance in scripts/schemathesis.sh. They are never deserialized.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShownOption {
    id: Uuid,
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShownQuestion {
    id: Uuid,
    #[schema(example = "single")]
    kind: QuestionKind,
    text: String,
    /// In the order this paper shows them.
    options: Vec<ShownOption>,
    /// Only once the round is finalized (rule 11): the right options and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    correct_option_ids: Option<Vec<Uuid>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    question_id: Uuid,
    /// The chosen options; empty clears the answer.
    option_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptResult {
    correct: i16,
    total: i16,
    duration_ms: i32,
    submitted_at: DateTime<Utc>,
    prediction: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    id: Uuid,
    round_id: Uuid,
    /// 1 for the member's first attempt at the round, …
    number: i16,
    /// `in_progress`, `submitted`, or `expired` (closed at its deadline with its autosaved
    /// answers; it counts as an entry).
    #[schema(example = "in_progress")]
    state: String,
    started_at: DateTime<Utc>,
    /// `min(started_at + time_limit, closes_at)`; submissions are accepted a few seconds
    /// past it.
    deadline: DateTime<Utc>,
    /// Until the deadline, by the server's clock; 0 once it passed.
    remaining_ms: i64,
    questions: Vec<ShownQuestion>,
    prediction_prompt: String,
    answers: Vec<Answer>,
    /// Once the attempt has ended.
    result: Option<AttemptResult>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersBody {
    answers: Vec<Answer>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// Merged over the autosaved answers.
    #[serde(default)]
    answers: Vec<Answer>,
    /// A whole number ≥ 0: the member's guess of the round's prediction target. Read as
    /// any JSON value so that a wrong one is a 422 naming `prediction`.
    #[schema(value_type = i64, minimum = 0, required = true)]
    prediction: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    id: Uuid,
    #[schema(example = "submitted")]
    state: String,
    correct: i16,
    total: i16,
    duration_ms: i32,
    submitted_at: DateTime<Utc>,
}

fn attempt_view(
    row: &AttemptRow,
    paper: &[Arc<PaperQuestion>],
    round: &RoundInfo,
    now: DateTime<Utc>,
) -> Attempt {
    // The answer key never leaves the server before the round is finalized (rule 3).
    let reveal = round.finalized;
    let questions = paper
        .iter()
        .zip(&row.paper_option_order)
        .map(|(q, packed)| ShownQuestion {
            id: q.question_id,
            kind: q.kind,
            text: q.text.clone(),
            options: draw::unpack_order(*packed, q.options.len())
                .into_iter()
                .filter_map(|position| q.options.get(usize::from(position)))
                .map(|o| ShownOption {
                    id: o.id,
                    text: o.text.clone(),
                })
                .collect(),
            correct_option_ids: reveal.then(|| {
                q.options
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| q.correct_mask & (1 << i) != 0)
                    .map(|(_, o)| o.id)
                    .collect()
            }),
            explanation: if reveal { q.explanation.clone() } else { None },
        })
        .collect();
    let answers = paper
        .iter()
        .zip(&row.answers)
        .filter(|(_, mask)| **mask != 0)
        .map(|(q, mask)| Answer {
            question_id: q.question_id,
            option_ids: q
                .options
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, o)| o.id)
                .collect(),
        })
        .collect();
    let in_progress = row.state == "in_progress";
    Attempt {
        id: row.id,
        round_id: row.round_id,
        number: row.number,
        state: row.state.clone(),
        started_at: row.started_at,
        deadline: row.deadline,
        remaining_ms: if in_progress {
            (row.deadline - now).num_milliseconds().max(0)
        } else {
            0
        },
        questions,
        prediction_prompt: round.prediction_prompt.clone(),
        answers,
        result: match (row.correct, row.total, row.duration_ms, row.submitted_at) {
            (Some(correct), Some(total), Some(duration_ms), Some(submitted_at)) => {
                Some(AttemptResult {
                    correct,
                    total,
                    duration_ms,
                    submitted_at,
                    prediction: row.prediction,
                })
            }
            _ => None,
        },
    }
}

/// Closes the attempt if its time (with grace) ran out. `true` when it is no longer in
/// progress, whoever closed it.
pub async fn expire_if_due(state: &AppState, row: &AttemptRow) -> anyhow::Result<bool> {
    let now = Utc::now();
    if now <= row.deadline + chrono::Duration::milliseconds(state.grace_ms) {
        return Ok(false);
    }
    for ended in store::expire_due(&state.db, Some(row.id), now, state.grace_ms, 1).await? {
        leaderboard::record(state, &ended).await;
    }
    Ok(true)
}

/// Counts one call against the member's own limit (429 with `Retry-After` past it). Keyed
/// by account, not address: whole communes share one mobile carrier address.
async fn limit_member(
    state: &AppState,
    limit: rate_limit::Limit,
    user: &AuthUser,
) -> Result<(), ApiError> {
    state
        .rate_limiter
        .hit(
            limit,
            user.id.as_simple().encode_lower(&mut Uuid::encode_buffer()),
        )
        .await
}

fn round_not_open() -> ApiError {
    ApiError::conflict("round_not_open", "the round is not open")
}

/// The round as a member may see it: its contest must be published.
async fn visible_round(state: &AppState, id: Uuid) -> Result<Arc<RoundInfo>, ApiError> {
    state
        .caches
        .round(&state.db, id)
        .await?
        .filter(|r| r.contest_published)
        .ok_or_else(|| ApiError::not_found("round"))
}

/// Draws a paper from the cached bank: revision ids and packed option orders.
async fn draw_paper(
    state: &AppState,
    round: &RoundInfo,
) -> Result<(Vec<Uuid>, Vec<i32>), ApiError> {
    let bank = state.caches.bank(&state.db, round.contest_id).await?;
    let candidates: Vec<Candidate<'_>> = bank
        .questions
        .iter()
        .map(|q| Candidate {
            category: q.category.as_deref(),
            difficulty: q.difficulty,
        })
        .collect();
    let rule = DrawRule {
        count: usize::try_from(round.question_count).unwrap_or(0),
        categories: &round.categories,
        difficulties: &round.difficulties,
    };
    let mut rng = rand::rng();
    let chosen = draw::draw(&candidates, rule, &mut rng).ok_or_else(|| {
        ApiError::conflict(
            "bank_too_small",
            "the question bank no longer holds enough questions for this round's draw; tell the organisers",
        )
    })?;
    let revisions = chosen
        .iter()
        .map(|&i| bank.questions[i].revision_id)
        .collect();
    let orders = chosen
        .iter()
        .map(|&i| {
            draw::pack_order(&draw::option_order(
                bank.questions[i].options.len(),
                round.shuffle_options,
                &mut rng,
            ))
        })
        .collect();
    Ok((revisions, orders))
}

async fn respond_with(
    state: &AppState,
    row: &AttemptRow,
    round: &RoundInfo,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let paper = state
        .caches
        .revisions(&state.db, &row.paper_revisions)
        .await?;
    Ok(HttpResponse::build(status).json(attempt_view(row, &paper, round, Utc::now())))
}

/// Starts an attempt, or answers the one in progress.
#[utoipa::path(post, path = "/api/v1/rounds/{round}/attempts", tag = "taking",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 201, body = Attempt, description = "a new attempt with its paper"),
        (status = 200, body = Attempt, description = "the attempt already in progress"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_open`, `max_attempts_reached`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: the member's own limit; see `Retry-After`"),
    ))]
pub async fn start_attempt(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    limit_member(&state, rate_limit::STARTS_PER_MEMBER, &user).await?;
    let round = visible_round(&state, *path).await?;
    let now = Utc::now();
    // Saves a draw when the round is plainly not open; the INSERT re-checks the window
    // against the stored round, so a round closed early a moment ago is still refused.
    if round.finalized || now < round.opens_at || now >= round.closes_at {
        return Err(round_not_open());
    }
    let (revisions, orders) = draw_paper(&state, &round).await?;
    // Two passes at most: the second after closing an attempt whose time ran out.
    for _ in 0..2 {
        let inserted = state
            .writes
            .start(&NewAttempt {
                id: Uuid::now_v7(),
                round_id: round.id,
                member_id: user.id,
                now,
                paper_revisions: &revisions,
                paper_option_order: &orders,
            })
            .await?;
        if let Some(row) = inserted {
            return respond_with(&state, &row, &round, actix_web::http::StatusCode::CREATED).await;
        }
        let mine = store::of_member(&state.db, round.id, user.id).await?;
        if let Some(current) = mine.iter().find(|a| a.state == "in_progress") {
            if !expire_if_due(&state, current).await? {
                return respond_with(&state, current, &round, actix_web::http::StatusCode::OK)
                    .await;
            }
            continue;
        }
        let fresh = state
            .caches
            .round(&state.db, round.id)
            .await?
            .ok_or_else(|| ApiError::not_found("round"))?;
        if mine.len() >= usize::try_from(fresh.max_attempts).unwrap_or(0) {
            return Err(ApiError::conflict(
                "max_attempts_reached",
                format!(
                    "you have used all {} attempts at this round",
                    fresh.max_attempts
                ),
            ));
        }
        return Err(round_not_open());
    }
    Err(round_not_open())
}

/// The caller's attempt (404 for anyone else's), closing it first if its time ran out.
async fn own_attempt(state: &AppState, user: &AuthUser, id: Uuid) -> Result<AttemptRow, ApiError> {
    let row = store::get(&state.db, id, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("attempt"))?;
    if row.state == "in_progress" && expire_if_due(state, &row).await? {
        return store::get(&state.db, id, user.id)
            .await?
            .ok_or_else(|| ApiError::not_found("attempt"));
    }
    Ok(row)
}

/// The paper, the saved answers, the time left, and the result once ended.
#[utoipa::path(get, path = "/api/v1/attempts/{id}", tag = "taking", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Attempt),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_attempt(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let row = own_attempt(&state, &user, *path).await?;
    let round = state
        .caches
        .round(&state.db, row.round_id)
        .await?
        .ok_or_else(|| ApiError::not_found("attempt"))?;
    respond_with(&state, &row, &round, actix_web::http::StatusCode::OK).await
}

/// Answers as bit masks of original option positions, checked against the paper: every
/// question and option must be on it, and a `single` question takes one option.
fn merge_answers(
    paper: &[Arc<PaperQuestion>],
    current: &[i16],
    answers: &[Answer],
) -> Result<Vec<i16>, ApiError> {
    let index: HashMap<Uuid, usize> = paper
        .iter()
        .enumerate()
        .map(|(i, q)| (q.question_id, i))
        .collect();
    let mut merged = current.to_vec();
    let mut errors = FieldErrors::new();
    for (n, answer) in answers.iter().enumerate() {
        let Some(&i) = index.get(&answer.question_id) else {
            errors
                .entry(format!("answers[{n}].question_id"))
                .or_default()
                .push("not a question of this attempt".to_owned());
            continue;
        };
        let question = &paper[i];
        let mut mask = 0_i16;
        for id in &answer.option_ids {
            match question.options.iter().position(|o| o.id == *id) {
                Some(position) => mask |= 1 << position,
                None => errors
                    .entry(format!("answers[{n}].option_ids"))
                    .or_default()
                    .push(format!("{id} is not an option of this question")),
            }
        }
        if question.kind == QuestionKind::Single && mask.count_ones() > 1 {
            errors
                .entry(format!("answers[{n}].option_ids"))
                .or_default()
                .push("this question takes one option".to_owned());
        }
        if let Some(slot) = merged.get_mut(i) {
            *slot = mask;
        }
    }
    if errors.is_empty() {
        Ok(merged)
    } else {
        Err(ApiError::Validation { errors })
    }
}

fn attempt_expired() -> ApiError {
    ApiError::conflict(
        "attempt_expired",
        "the time for this attempt has run out; it was closed with its saved answers",
    )
}

/// Autosaves answers (merged over what was saved before).
#[utoipa::path(put, path = "/api/v1/attempts/{id}/answers", tag = "taking",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = AnswersBody,
    responses(
        (status = 204, description = "saved"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`attempt_expired`, `attempt_submitted`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: the member's own limit; see `Retry-After`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_answers(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    Json(body): Json<AnswersBody>,
) -> Result<HttpResponse, ApiError> {
    limit_member(&state, rate_limit::AUTOSAVES_PER_MEMBER, &user).await?;
    let row = own_attempt(&state, &user, *path).await?;
    match row.state.as_str() {
        "in_progress" => {}
        "submitted" => {
            return Err(ApiError::conflict(
                "attempt_submitted",
                "this attempt was already submitted",
            ));
        }
        _ => return Err(attempt_expired()),
    }
    let paper = state
        .caches
        .revisions(&state.db, &row.paper_revisions)
        .await?;
    let merged = merge_answers(&paper, &row.answers, &body.answers)?;
    if !state.writes.save(row.id, &merged, Utc::now()).await? {
        return Err(attempt_expired());
    }
    Ok(HttpResponse::NoContent().finish())
}

fn submitted(row: &AttemptRow) -> Result<HttpResponse, ApiError> {
    match (row.correct, row.total, row.duration_ms, row.submitted_at) {
        (Some(correct), Some(total), Some(duration_ms), Some(submitted_at)) => {
            Ok(HttpResponse::Ok().json(Submitted {
                id: row.id,
                state: row.state.clone(),
                correct,
                total,
                duration_ms,
                submitted_at,
            }))
        }
        _ => Err(anyhow::anyhow!("attempt {} ended without a result", row.id).into()),
    }
}

fn parse_prediction(raw: Option<&serde_json::Value>) -> Result<i64, ApiError> {
    match raw.and_then(serde_json::Value::as_i64) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(ApiError::invalid_field(
            "prediction",
            "must be a whole number, 0 or more",
        )),
    }
}

/// Submits: grades and stores the result in one statement. The same call again answers the
/// stored result unchanged.
#[utoipa::path(post, path = "/api/v1/attempts/{id}/submit", tag = "taking",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = SubmitBody,
    responses(
        (status = 200, body = Submitted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`attempt_expired`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: the member's own limit; see `Retry-After`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit_attempt(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    Json(body): Json<SubmitBody>,
) -> Result<HttpResponse, ApiError> {
    limit_member(&state, rate_limit::SUBMITS_PER_MEMBER, &user).await?;
    let row = own_attempt(&state, &user, *path).await?;
    match row.state.as_str() {
        "in_progress" => {}
        "submitted" => {
            // A retry: the first try may have committed and then lost its answer (the
            // connection, or PostgreSQL, went down before the entry reached the boards).
            // Recording again changes nothing when the entry is already there.
            leaderboard::record(&state, &row).await;
            return submitted(&row);
        }
        _ => return Err(attempt_expired()),
    }
    let now = Utc::now();
    let paper = state
        .caches
        .revisions(&state.db, &row.paper_revisions)
        .await?;
    let prediction = parse_prediction(body.prediction.as_ref());
    let answers = merge_answers(&paper, &row.answers, &body.answers);
    let (prediction, answers) = match (prediction, answers) {
        (Ok(p), Ok(a)) => (p, a),
        (
            Err(ApiError::Validation { errors: mut e1 }),
            Err(ApiError::Validation { errors: e2 }),
        ) => {
            e1.extend(e2);
            return Err(ApiError::Validation { errors: e1 });
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let correct = paper
        .iter()
        .zip(&answers)
        .filter(|(q, mask)| q.correct_mask == **mask)
        .count();
    // Submitted in the grace period: the time counted stops at the deadline.
    let ended = now.min(row.deadline);
    let stored = state
        .writes
        .submit(&Submission {
            id: row.id,
            answers: &answers,
            prediction,
            submitted_at: now,
            duration_ms: i32::try_from((ended - row.started_at).num_milliseconds().max(0))
                .unwrap_or(i32::MAX),
            correct: i16::try_from(correct).unwrap_or(i16::MAX),
        })
        .await?;
    match stored.map(store::SubmittedRow::split) {
        Some((row, unit)) => {
            leaderboard::record_in_unit(&state, &row, unit).await;
            submitted(&row)
        }
        // Ended meanwhile (a retry that raced this one, or the sweeper): answer what is stored.
        None => {
            let row = store::get(&state.db, row.id, user.id)
                .await?
                .ok_or_else(|| ApiError::not_found("attempt"))?;
            if row.state == "submitted" {
                submitted(&row)
            } else {
                Err(attempt_expired())
            }
        }
    }
}
