//! The OpenAPI document served at `/api/openapi.json`, and the docs UI at `/docs`.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};
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
    modifiers(&BearerAuth, &CommonProblems),
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

/// The problems that the shared machinery answers on every operation it applies to, so no
/// path has to repeat them and none forgets one (scripts/schemathesis.sh fails on a status
/// code the document does not list): 401 from the bearer extractors, 400 from the query and
/// body extractors, 413/415/422/408 from the JSON body, 404 for a path segment that names
/// nothing, 422 from `limit`/`offset`, 503 from the request deadline and the PostgreSQL
/// outage gate. A path that documents one of these itself keeps its own wording.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_problems(path, operation);
            }
        }
    }
}

fn add_common_problems(path: &str, operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn, name: Option<&str>| {
        parameters
            .iter()
            .any(|p| p.parameter_in == place && name.is_none_or(|n| p.name == n))
    };
    let query = has(ParameterIn::Query, None);
    let paged = has(ParameterIn::Query, Some("limit")) || has(ParameterIn::Query, Some("offset"));
    let in_path = has(ParameterIn::Path, None);
    let body = operation.request_body.as_ref();
    let json_body = body.is_some_and(|b| b.content.contains_key("application/json"));
    // `security(("bearer" = []))`, or `security((), ("bearer" = []))` where a token is optional:
    // either way a token that is sent and invalid is 401.
    let bearer = operation.security.as_ref().is_some_and(|requirements| {
        serde_json::to_value(requirements).is_ok_and(|v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|r| r.get("bearer").is_some()))
        })
    });
    let api = path.starts_with("/api/v1/") && path != "/api/v1/echo";

    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, response: Response| {
        responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(response));
    };
    let unreadable: Vec<&str> = [
        (query, "`invalid_query`: a query string that cannot be read"),
        (json_body, "`malformed_json`: a body that is not JSON"),
        (
            body.is_some() && !json_body,
            "a body that could not be read",
        ),
    ]
    .into_iter()
    .filter_map(|(applies, what)| applies.then_some(what))
    .collect();
    if !unreadable.is_empty() {
        add("400", problem(&unreadable.join("; ")));
    }
    if bearer {
        let mut unauthorized =
            problem("`unauthorized`: no token, or one that is invalid or expired");
        unauthorized.headers.insert(
            "WWW-Authenticate".to_owned(),
            HeaderBuilder::new().description(Some("`Bearer`")).build(),
        );
        add("401", unauthorized);
    }
    if in_path {
        add("404", problem("`not_found`: absent, or not yours to see"));
    }
    if body.is_some() {
        add(
            "408",
            problem("`request_timeout`: the body did not arrive within the request deadline"),
        );
        add(
            "413",
            problem("`payload_too_large`: the body is over this route's limit"),
        );
    }
    if json_body {
        add(
            "415",
            problem("`unsupported_media_type`: the body is not `application/json`"),
        );
    }
    if json_body || paged {
        add(
            "422",
            problem("`validation_failed`: `errors` names each invalid field"),
        );
    }
    if api {
        let mut unavailable = problem(
            "`dependency_unavailable`: PostgreSQL or Redis is down, or the request overran its deadline",
        );
        unavailable
            .headers
            .insert("Retry-After".to_owned(), retry_after());
        add("503", unavailable);
    }
    // The limits documented by their paths say when to come back.
    for status in ["429", "503"] {
        if let Some(RefOr::T(response)) = responses.get_mut(status) {
            response
                .headers
                .entry("Retry-After".to_owned())
                .or_insert_with(retry_after);
        }
    }
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(utoipa::openapi::schema::Object::with_type(
            utoipa::openapi::schema::Type::Integer,
        ))
        .description(Some("seconds to wait before trying again"))
        .build()
}
