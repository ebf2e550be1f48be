//! The OpenAPI document served at `/api/openapi.json`, and the docs UI at `/docs`.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::routes as auth;
use crate::contests::routes as contests;
use crate::domain::RoundState;
use crate::domain::question::{Difficulty, OptionSpec, QuestionKind};
use crate::domain::round::Prize;
use crate::error::Problem;
use crate::judging::routes as judging;
use crate::leaderboard::routes as leaderboards;
use crate::questions::formats::{LineError as QuestionError, Skipped};
use crate::questions::import::ImportReport;
use crate::questions::routes as questions;
use crate::rounds::routes as rounds;
use crate::service::routes as service;
use crate::taking::routes as taking;
use crate::units::import::LineError;
use crate::units::routes as units;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hoithi",
        description = "Online multiple-choice contests in weekly rounds: members take timed papers, \
                       organisers author banks and rounds, judges finalize and export winners. \
                       Every error is `application/problem+json` with a stable `code`."
    ),
    paths(
        service::healthz, service::readyz, service::metrics, service::echo,
        auth::register, auth::login, auth::refresh, auth::logout, auth::get_me, auth::patch_me,
        units::list_units, units::import_units,
        contests::create_contest, contests::list_contests, contests::get_contest,
        contests::patch_contest, contests::publish_contest,
        questions::create_question, questions::list_questions, questions::get_question,
        questions::patch_question, questions::delete_question, questions::import_questions,
        rounds::create_round, rounds::list_rounds, rounds::get_round, rounds::patch_round,
        rounds::close_round,
        taking::start_attempt, taking::get_attempt, taking::save_answers, taking::submit_attempt,
        crate::taking::history::my_attempts,
        leaderboards::round_leaderboard, leaderboards::my_place, leaderboards::contest_leaderboard,
        judging::finalize, judging::winners, judging::results, judging::disqualify,
        crate::judging::units::unit_ranking, crate::judging::stats::round_stats,
        crate::judging::stats::contest_stats, crate::audit::routes::list_audit,
        crate::judging::winners::contest_winners, crate::judging::winners::public_winners,
    ),
    components(schemas(
        Problem, service::Health, service::Readiness, service::Checks, service::Echo,
        auth::RegisterRequest, auth::LoginRequest, auth::RefreshRequest, auth::TokenPair,
        auth::Registered, auth::Member, auth::UnitRef, auth::ProfilePatch,
        units::Unit, units::UnitList, units::ImportReport, LineError,
        contests::CreateContest, contests::ContestPatch, contests::Contest, contests::ContestList,
        questions::QuestionBody, questions::QuestionPatch, questions::Question,
        questions::QuestionOption, questions::QuestionList, OptionSpec, QuestionKind, Difficulty,
        rounds::RoundBody, rounds::RoundPatch, rounds::Round, rounds::RoundList, rounds::Prediction,
        Prize, RoundState, ImportReport, Skipped, QuestionError,
        taking::Attempt, taking::ShownQuestion, taking::ShownOption, taking::Answer,
        taking::AttemptResult, taking::AnswersBody, taking::SubmitBody, taking::Submitted,
        crate::taking::history::History, crate::taking::history::PastAttempt,
        crate::taking::history::PastResult,
        crate::leaderboard::Page, crate::leaderboard::Item, crate::leaderboard::MyPlace,
        crate::judging::Finalized, crate::judging::store::Winner, judging::Winners, judging::Results, judging::DisqualifyBody,
        crate::judging::export::ResultRow, crate::judging::units::UnitRanking,
        crate::judging::units::UnitPlace, crate::judging::stats::Stats,
        crate::judging::winners::ContestWinners, crate::judging::winners::RoundWinners,
        crate::judging::winners::StandingRow, crate::judging::winners::PublicWinner,
        crate::judging::winners::PublicWinners,
        crate::judging::stats::ContestStats, crate::judging::stats::Bucket, crate::judging::stats::Hour,
        crate::audit::Line, crate::audit::routes::AuditList,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "liveness, readiness, metrics, diagnostics"),
        (name = "accounts", description = "registration, sessions, one's own profile"),
        (name = "units", description = "the organisation tree"),
        (name = "authoring", description = "contests, question banks and rounds (organisers)"),
        (name = "judging", description = "finalizing rounds, winners, disqualification (judges)"),
        (name = "leaderboards", description = "live round and contest leaderboards (public; names shown, phones never)"),
        (name = "taking", description = "timed attempts: start, autosave, resume, submit (members)"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <access JWT>`, referred to as `bearer` by the paths.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}
