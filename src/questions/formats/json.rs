//! JSON banks: `{"questions": [...]}` or a bare array of question objects, each checked field by
//! field so one bad item does not hide the others.

use super::util::{clean, clean_opt, normalise_kind};
use super::{LineError, Parsed, RawOption, RawQuestion};
use serde_json::{Map, Value};

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let mut parsed = Parsed::default();
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            parsed.errors.push(LineError {
                line: e.line().max(1),
                message: format!("JSON không hợp lệ / invalid JSON: {e}"),
            });
            return parsed;
        }
    };
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("questions") {
            Some(Value::Array(items)) => items,
            _ => {
                parsed.errors.push(LineError {
                    line: 1,
                    message: "cần mảng \"questions\": {\"questions\": [ … ]} / expected a \"questions\" array: {\"questions\": [ … ]}".to_owned(),
                });
                return parsed;
            }
        },
        _ => {
            parsed.errors.push(LineError {
                line: 1,
                message: "JSON phải là {\"questions\": [ … ]} hoặc một mảng / JSON must be {\"questions\": [ … ]} or an array".to_owned(),
            });
            return parsed;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let line = i + 1;
        match read_item(line, item) {
            Ok(q) => parsed.questions.push(q),
            Err(messages) => parsed.errors.extend(
                messages
                    .into_iter()
                    .map(|message| LineError { line, message }),
            ),
        }
    }
    parsed
}

fn must_be(field: &str, what_vi: &str, what_en: &str) -> String {
    format!("trường \"{field}\" phải là {what_vi} / field \"{field}\" must be {what_en}")
}

fn missing(field: &str) -> String {
    format!("thiếu trường \"{field}\" / missing field \"{field}\"")
}

/// An optional text field: absent, `null` or a string (a number is taken as written, so
/// `"difficulty": 1` reaches the caller's validation as "1").
fn optional_text(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(clean_opt(s)),
        Some(Value::Number(n)) => Ok(clean_opt(&n.to_string())),
        Some(_) => Err(must_be(field, "chuỗi", "a string")),
    }
}

fn read_item(line: usize, item: &Value) -> Result<RawQuestion, Vec<String>> {
    let Some(obj) = item.as_object() else {
        return Err(vec![
            "mỗi câu hỏi phải là một đối tượng {…} / each question must be an object {…}"
                .to_owned(),
        ]);
    };
    let mut errors = Vec::new();
    let text = match obj.get("text") {
        Some(Value::String(s)) => clean(s),
        None | Some(Value::Null) => {
            errors.push(missing("text"));
            String::new()
        }
        Some(_) => {
            errors.push(must_be("text", "chuỗi", "a string"));
            String::new()
        }
    };
    if text.is_empty() && errors.is_empty() {
        errors.push("trường \"text\" trống / field \"text\" is empty".to_owned());
    }
    let kind = match obj.get("kind") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => normalise_kind(s).unwrap_or_else(|e| {
            errors.push(format!("trường \"kind\": {e}"));
            None
        }),
        Some(_) => {
            errors.push(must_be("kind", "chuỗi", "a string"));
            None
        }
    };
    let options = match obj.get("options") {
        Some(Value::Array(items)) => read_options(items, &mut errors),
        None | Some(Value::Null) => {
            errors.push(missing("options"));
            Vec::new()
        }
        Some(_) => {
            errors.push(must_be("options", "một mảng", "an array"));
            Vec::new()
        }
    };
    let mut optional = |field| {
        optional_text(obj, field).unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    };
    let category = optional("category");
    let difficulty = optional("difficulty");
    let explanation = optional("explanation");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RawQuestion {
        line,
        text,
        kind,
        options,
        category,
        difficulty,
        explanation,
    })
}

fn read_options(items: &[Value], errors: &mut Vec<String>) -> Vec<RawOption> {
    let mut options = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| format!("options[{}].{name}", i + 1);
        let Some(obj) = item.as_object() else {
            errors.push(must_be(
                &format!("options[{}]", i + 1),
                "đối tượng {\"text\", \"correct\"}",
                "an object {\"text\", \"correct\"}",
            ));
            continue;
        };
        let text = match obj.get("text") {
            Some(Value::String(s)) => clean(s),
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) => {
                errors.push(missing(&field("text")));
                continue;
            }
            Some(_) => {
                errors.push(must_be(&field("text"), "chuỗi", "a string"));
                continue;
            }
        };
        let correct = match obj.get("correct") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(must_be(&field("correct"), "true/false", "true or false"));
                continue;
            }
        };
        options.push(RawOption { text, correct });
    }
    options
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_any};
    use super::*;

    fn json(src: &str) -> Parsed {
        parse_any(Format::Json, src.as_bytes())
    }

    #[test]
    fn questions_object_is_read_with_all_fields() {
        let parsed = json(
            r#"{"questions": [{"text": " Thủ đô? ", "kind": "single", "options": [{"text": "Hà Nội", "correct": true}, {"text": "Huế", "correct": false}], "category": "Địa lý", "difficulty": "Dễ", "explanation": null, "id": 7}]}"#,
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions[0];
        assert_eq!(q.line, 1);
        assert_eq!(q.text, "Thủ đô?");
        assert_eq!(q.kind.as_deref(), Some("single"));
        assert_eq!(q.options.len(), 2);
        assert!(q.options[0].correct);
        assert_eq!(q.category.as_deref(), Some("Địa lý"));
        assert_eq!(q.explanation, None);
    }

    #[test]
    fn a_bare_array_is_accepted() {
        let parsed =
            json(r#"[{"text": "Q", "options": [{"text": "a", "correct": true}, {"text": "b"}]}]"#);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions[0].kind, None);
        assert!(!parsed.questions[0].options[1].correct);
    }

    #[test]
    fn bad_items_are_errors_naming_the_field_and_index() {
        let parsed = json(
            r#"{"questions": [
                {"text": "ok", "options": [{"text": "a", "correct": true}, {"text": "b"}]},
                {"options": []},
                {"text": "Q", "options": [{"text": "a", "correct": "yes"}]},
                {"text": "Q", "options": {}},
                {"text": "Q", "kind": "essay", "options": []},
                42
            ]}"#,
        );
        assert_eq!(parsed.questions.len(), 1);
        let errors: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert_eq!(errors[0].0, 2);
        assert!(errors[0].1.contains("missing field \"text\""));
        assert_eq!(errors[1].0, 3);
        assert!(errors[1].1.contains("options[1].correct"));
        assert!(errors[2].1.contains("\"options\" must be an array"));
        assert!(errors[3].1.contains("kind"));
        assert_eq!(errors[4].0, 6);
    }

    #[test]
    fn a_syntax_error_is_one_error_on_its_line() {
        let parsed = json("{\n\"questions\": [\n{\"text\": }\n]}");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 3);
        assert!(parsed.questions.is_empty());
    }

    #[test]
    fn wrong_top_level_shape_is_one_error() {
        assert_eq!(json(r#"{"items": []}"#).errors.len(), 1);
        assert_eq!(json("42").errors.len(), 1);
    }
}
