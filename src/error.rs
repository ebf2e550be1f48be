//! `ApiError`, the one error type handlers return, and its RFC 9457 problem+json form.
//!
//! This is the only place that chooses HTTP status codes. Every error a client can see —
//! from handlers, extractors, unknown routes or the framework itself — leaves the server
//! as `application/problem+json` with a stable snake_case `code`.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// Field name → messages, as sent in a problem's `errors` member.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error a handler can return. Client errors carry what the client needs to fix its
/// request; `Unexpected` carries the cause chain for the log and shows the client nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request could not be read (malformed JSON, bad query string).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: no token, or one that is invalid or expired.
    #[error("authentication required")]
    Unauthorized { code: &'static str, detail: String },
    /// 403: a valid token without the right to do this.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404: absent, or not the caller's to see.
    #[error("{detail}")]
    NotFound { detail: String },
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 408: the request body did not arrive in time (a stalled or deliberately slow client).
    #[error("the request body did not arrive within {seconds} s")]
    RequestTimeout { seconds: u64 },
    /// 409: the request conflicts with the current state.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 413: the body is larger than this route accepts.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not of a media type this route accepts.
    #[error("unsupported media type, expected {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// 422: well-formed but invalid; `errors` names each bad field.
    #[error("validation failed")]
    Validation { errors: FieldErrors },
    /// 422: well-formed but breaks a rule that is not about a single field.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// 429: too many requests; the client may retry after `retry_after_seconds`.
    #[error("too many requests")]
    RateLimited { retry_after_seconds: u64 },
    /// 503: a dependency (PostgreSQL, Redis) is down; retry later.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_seconds: u64,
    },
    /// 500: a bug or an infrastructure failure. Logged with its cause chain.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::NotFound {
            detail: format!("{what} not found"),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// A 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.into(), vec![message.into()]);
        Self::Validation { errors }
    }

    /// The stable machine word for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout { .. } => "request_timeout",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::Validation { .. } => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "dependency_unavailable",
            Self::Unexpected(cause) if is_dependency_outage(cause) => "dependency_unavailable",
            Self::Unexpected(_) => "internal_error",
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_seconds,
            }
            | Self::Unavailable {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            Self::Unexpected(cause) if is_dependency_outage(cause) => {
                Some(OUTAGE_RETRY_AFTER_SECONDS)
            }
            _ => None,
        }
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            Self::Unexpected(cause) if is_dependency_outage(cause) => {
                "a service hoithi depends on is unavailable; retry shortly".to_owned()
            }
            // Never leak internals: the cause chain goes to the log only.
            Self::Unexpected(_) => {
                "the server failed to handle this request; it has been logged".to_owned()
            }
            Self::Validation { .. } => "the request has invalid fields; see `errors`".to_owned(),
            Self::Unauthorized { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let errors = match self {
            Self::Validation { errors } => Some(errors.clone()),
            _ => None,
        };
        Problem::new(status, self.code(), detail, errors)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } | Self::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(cause) if is_dependency_outage(cause) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unexpected(cause) = self {
            // `{:#}` prints the whole context chain on one line for the JSON log.
            if is_dependency_outage(cause) {
                tracing::warn!(error = format!("{cause:#}"), "dependency unavailable");
            } else {
                tracing::error!(error = format!("{cause:#}"), "request failed");
            }
        }
        let mut response = self.problem().into_response();
        if matches!(self, Self::Unauthorized { .. }) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What a client is told to wait before retrying while a dependency is away.
const OUTAGE_RETRY_AFTER_SECONDS: u64 = 5;

/// PostgreSQL or Redis being unreachable is not a bug in the request: the answer is 503
/// with `Retry-After`, not 500. Query errors (constraint violations, bad SQL) stay 500.
pub fn is_dependency_outage(err: &anyhow::Error) -> bool {
    is_postgres_outage(err)
        || err.chain().any(|cause| {
            cause.downcast_ref::<redis::RedisError>().is_some_and(|e| {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_refusal()
                    || e.is_connection_dropped()
            })
        })
}

/// Did PostgreSQL fail to answer (rather than refuse a statement)?
pub fn is_postgres_outage(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(|e| match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // 08xxx: connection exceptions; 57P0x: the server is shutting down or starting.
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            })
    })
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "urn:hoithi:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request has invalid fields; see `errors`",
    "code": "validation_failed",
    "errors": {"phone": ["not a Vietnamese mobile number"]}
}))]
pub struct Problem {
    /// `urn:hoithi:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Stable snake_case machine word.
    pub code: String,
    /// Messages per invalid field (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &str,
        detail: impl Into<String>,
        errors: Option<FieldErrors>,
    ) -> Self {
        Self {
            type_: format!("urn:hoithi:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors,
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(self)
    }
}

/// The default service: any path no route matches.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(unknown_route_error())
}

/// Middleware hook (`ErrorHandlers::default_handler`) that turns every error response the
/// framework produced on its own — 405 from a resource, a panic's 500, an extractor's
/// plain-text error — into problem+json. Responses that already are problems pass through.
pub fn problem_for_framework_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::NOT_FOUND => unknown_route_error(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        s if s.is_server_error() => {
            let cause = res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("framework answered {s}"));
            tracing::error!(error = %cause, status = s.as_u16(), "request failed");
            return replace_body(
                res,
                generic_problem(
                    s,
                    "internal_error",
                    "the server failed to handle this request; it has been logged",
                ),
            );
        }
        s => {
            let detail = res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| s.canonical_reason().unwrap_or("error").to_owned());
            return replace_body(res, generic_problem(s, &snake_case_reason(s), &detail));
        }
    };
    replace_body(res, error.problem())
}

fn unknown_route_error() -> ApiError {
    ApiError::NotFound {
        detail: "no such route".to_owned(),
    }
}

fn generic_problem(status: StatusCode, code: &str, detail: &str) -> Problem {
    Problem::new(status, code, detail, None)
}

fn replace_body<B>(
    res: ServiceResponse<B>,
    problem: Problem,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, old) = res.into_parts();
    let mut new = problem.into_response();
    // Keep headers the framework set for a reason (Allow, Retry-After, request id…).
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let res = ServiceResponse::new(req, new.map_into_boxed_body()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// `Payload Too Large` → `payload_too_large`.
fn snake_case_reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
        .replace(['\'', '(', ')'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_lists_fields_and_has_a_stable_code() {
        let err = ApiError::invalid_field("phone", "not a mobile number");
        let problem = err.problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.type_, "urn:hoithi:problem:validation_failed");
        let errors = problem.errors.expect("validation problems carry errors");
        assert_eq!(errors["phone"], vec!["not a mobile number".to_owned()]);
    }

    #[test]
    fn unexpected_error_hides_its_cause_from_the_client() {
        let err = ApiError::from(anyhow::anyhow!("password=hunter2 connection refused"));
        let problem = err.problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
        assert_eq!(problem.code, "internal_error");
    }

    #[test]
    fn database_outage_is_a_503_not_a_500() {
        let err =
            ApiError::from(anyhow::Error::new(sqlx::Error::PoolTimedOut).context("loading round"));
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(err.code(), "dependency_unavailable");
        let response = err.error_response();
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .expect("Retry-After is set"),
            "5"
        );
    }

    #[test]
    fn query_error_stays_a_500() {
        let err =
            ApiError::from(anyhow::Error::new(sqlx::Error::RowNotFound).context("loading round"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn status_reason_becomes_a_snake_case_code() {
        assert_eq!(
            snake_case_reason(StatusCode::PAYLOAD_TOO_LARGE),
            "payload_too_large"
        );
        assert_eq!(snake_case_reason(StatusCode::IM_A_TEAPOT), "im_a_teapot");
    }

    #[test]
    fn rate_limited_error_sends_retry_after() {
        let response = ApiError::RateLimited {
            retry_after_seconds: 7,
        }
        .error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .expect("Retry-After is set"),
            "7"
        );
    }
}
