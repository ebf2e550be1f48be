//! Request extractors whose failures are problem+json: a JSON body that names the bad field,
//! and the handlers that make actix's own query and path extractors answer the same way.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

mod strict;
use strict::Strict;

/// The body limit for JSON unless a route sets its own `JsonLimit`.
pub const DEFAULT_JSON_LIMIT: usize = 1024 * 1024;

/// Per-route body limit: `web::resource(..).app_data(JsonLimit(64 * 1024))`.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A JSON request body. Unlike `actix_web::web::Json` it tells the client which field is
/// wrong (`errors: {"prizes[1].count": ["invalid type: …"]}`), answers 400 for malformed
/// JSON, 413 above the limit and 415 for another content type.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<JsonLimit>()
            .map_or(DEFAULT_JSON_LIMIT, |l| l.0);
        let content_type_ok = is_json_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType {
                    expected: "application/json",
                });
            }
            if declared_length.is_some_and(|len| len > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut body = Vec::with_capacity(declared_length.unwrap_or(0).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::bad_request(
                        "body_unreadable",
                        format!("reading the body failed: {e}"),
                    )
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    let Ok(Some(mime)) = req.mime_type() else {
        return false;
    };
    mime.type_() == "application"
        && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
}

/// Parses a JSON document into `T`: syntax errors are 400 `malformed_json`; a document of
/// the wrong shape is 422 with the path of the offending field. A struct must be sent as
/// an object, and no text may hold NUL ([`Strict`]).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(Strict(&mut deserializer)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let (field, message) = field_and_message(&path, &inner.to_string());
            ApiError::invalid_field(field, message)
        } else {
            ApiError::bad_request(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            )
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
}

/// serde reports a missing field at its parent's path; name the field itself.
fn field_and_message(path: &str, message: &str) -> (String, String) {
    // serde_json appends " at line L column C"; the client has the field name instead.
    let message = without_value(message.split(" at line ").next().unwrap_or(message));
    let parent = if path == "." { "" } else { path };
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (missing, parent.is_empty()) {
        (Some(name), true) => name.to_owned(),
        (Some(name), false) => format!("{parent}.{name}"),
        (None, true) => "body".to_owned(),
        (None, false) => parent.to_owned(),
    };
    (field, message)
}

/// serde quotes the value it refused (``invalid type: integer `987650123`, expected a
/// string``). That value may be a phone or an ID number, and problems are logged: keep only
/// its kind (``invalid type: integer, expected a string``).
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((unexpected, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once(", expected "))
        {
            let kind = unexpected.split(['`', '"']).next().unwrap_or("").trim_end();
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

/// Middleware: a path or query string holding `%00` is refused before any handler reads it.
/// Decoded it is the NUL character, which no id, slug or code holds and PostgreSQL text
/// cannot store: a contest looked up by the slug `a%00b` failed as a 500 (found by
/// scripts/schemathesis.sh). Such a path names nothing (404, like a segment that cannot be
/// an id); such a query string cannot be read (400).
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let nul = |s: &str| s.contains("%00");
    let refused = if nul(req.uri().path()) {
        Some(ApiError::NotFound {
            detail: "no such object".to_owned(),
        })
    } else if req.uri().query().is_some_and(nul) {
        Some(ApiError::bad_request(
            "invalid_query",
            "invalid query string: it must not contain the NUL character (%00)",
        ))
    } else {
        None
    };
    match refused {
        Some(error) => Ok(req.error_response(error).map_into_right_body()),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
    }
}

/// For `web::QueryConfig::error_handler`: a bad query string is 400 naming the problem.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("invalid query string: {err}")).into()
}

/// For `web::PathConfig::error_handler`: a path segment that cannot be an id names nothing
/// that exists, so it is a 404 like any other absent object.
pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound {
        detail: "no such object".to_owned(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Round {
        number: u16,
        prizes: Vec<Prize>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Prize {
        name: String,
        count: u32,
    }

    fn field_errors(err: ApiError) -> BTreeMap<String, Vec<String>> {
        match err {
            ApiError::Validation { errors } => errors,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let err = parse_json::<Round>(b"{\"number\": ").unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }

    #[test]
    fn trailing_garbage_is_a_bad_request() {
        let err = parse_json::<Round>(br#"{"number": 1, "prizes": []} x"#).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }

    #[test]
    fn wrong_type_deep_inside_names_the_field_path() {
        let err = parse_json::<Round>(r#"{"number": 1, "prizes": [{"name": "Nhất", "count": 1}, {"name": "Nhì", "count": "two"}]}"#.as_bytes())
            .unwrap_err();
        let errors = field_errors(err);
        assert!(errors.contains_key("prizes[1].count"), "{errors:?}");
    }

    #[test]
    fn a_refused_value_is_not_quoted_back_only_its_kind() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Member {
            phone: String,
            count: u8,
        }
        let err = parse_json::<Member>(br#"{"phone": 987650123, "count": 1}"#).unwrap_err();
        let errors = field_errors(err);
        assert_eq!(
            errors["phone"],
            ["invalid type: integer, expected a string"],
            "{errors:?}"
        );
        let err = parse_json::<Member>(br#"{"phone": "0987650123", "count": 300}"#).unwrap_err();
        let message = &field_errors(err)["count"][0];
        assert!(
            message.starts_with("invalid value: integer, expected"),
            "{message}"
        );
        assert!(!message.contains("300"), "{message}");
    }

    #[test]
    fn missing_field_is_named_itself() {
        let errors = field_errors(parse_json::<Round>(br#"{"prizes": []}"#).unwrap_err());
        assert_eq!(errors["number"], vec!["missing field `number`".to_owned()]);
        let errors = field_errors(
            parse_json::<Round>(br#"{"number": 1, "prizes": [{"name": "Ba"}]}"#).unwrap_err(),
        );
        assert!(errors.contains_key("prizes[0].count"), "{errors:?}");
    }

    #[test]
    fn unknown_field_is_named_itself() {
        let errors = field_errors(
            parse_json::<Round>(br#"{"number": 1, "prizes": [], "role": "admin"}"#).unwrap_err(),
        );
        assert!(errors.contains_key("role"), "{errors:?}");
    }

    #[test]
    fn a_struct_sent_as_an_array_is_refused() {
        let errors = field_errors(parse_json::<Round>(br#"[1, []]"#).unwrap_err());
        assert_eq!(
            errors["body"],
            ["invalid type: sequence, expected struct Round"],
            "{errors:?}"
        );
    }

    #[test]
    fn a_nested_struct_sent_as_an_array_is_refused_by_its_path() {
        let errors = field_errors(
            parse_json::<Round>(r#"{"number": 1, "prizes": [["Nhất", 1]]}"#.as_bytes())
                .unwrap_err(),
        );
        assert!(errors.contains_key("prizes[0]"), "{errors:?}");
    }

    #[test]
    fn nul_in_a_string_or_a_key_is_refused_by_its_path() {
        let errors = field_errors(
            parse_json::<Round>(br#"{"number": 1, "prizes": [{"name": "a\u0000b", "count": 1}]}"#)
                .unwrap_err(),
        );
        assert_eq!(
            errors["prizes[0].name"],
            ["must not contain the NUL character (\\u0000)"],
            "{errors:?}"
        );
        let err = parse_json::<BTreeMap<String, u8>>(br#"{"a\u0000": 1}"#).unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        let err = parse_json::<serde_json::Value>(br#"["\u0000"]"#).unwrap_err();
        assert_eq!(err.code(), "validation_failed");
    }

    #[test]
    fn objects_arrays_and_options_still_parse() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Body {
            ids: Vec<u8>,
            pair: (u8, String),
            note: Option<String>,
            kind: Kind,
            map: BTreeMap<String, u8>,
            any: serde_json::Value,
        }
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Single,
        }
        let body: Body = parse_json(
            r#"{"ids": [1, 2], "pair": [3, "ba"], "note": "Hoà", "kind": "single",
                 "map": {"dễ": 8}, "any": [null, {"a": [1]}]}"#
                .as_bytes(),
        )
        .expect("a valid body");
        assert_eq!(body.ids, [1, 2]);
        assert_eq!(body.pair, (3, "ba".to_owned()));
        assert_eq!(body.note.as_deref(), Some("Hoà"));
        assert_eq!(body.kind, Kind::Single);
        assert_eq!(body.map["dễ"], 8);
        assert_eq!(body.any, serde_json::json!([null, {"a": [1]}]));
        let any: serde_json::Value = parse_json(b"[1, 2]").expect("any JSON");
        assert_eq!(any, serde_json::json!([1, 2]));
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowing_the_stack() {
        let body = "[".repeat(100_000);
        let err = parse_json::<serde_json::Value>(body.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }
}

/// `limit` and `offset` of a list, checked as api.md says: limit 1–500 (default 50),
/// offset 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub fn parse(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(50);
        let offset = offset.unwrap_or(0);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::invalid_field(
                "limit",
                "must be between 1 and 500",
            ));
        }
        if offset < 0 {
            return Err(ApiError::invalid_field("offset", "must be 0 or more"));
        }
        Ok(Self { limit, offset })
    }
}

/// For PATCH bodies: tells `"field": null` (`Some(None)`: clear it) from an absent field
/// (`None`: keep it). Use with `#[serde(default, deserialize_with = "…::present")]`.
pub fn present<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
