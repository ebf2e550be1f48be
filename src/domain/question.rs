//! A question as the bank stores it (rule 3): `single` or `multiple`, 2–8 distinct options,
//! the right number of correct ones, and optional category, difficulty and explanation.
//!
//! `QuestionSpec::parse` is the one gate for every way a question arrives — the JSON
//! endpoint, each import format, contest folders — so they all accept exactly the same
//! questions. Messages are "Vietnamese / English": organisers read them in import reports.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldErrors;

pub const MAX_TEXT_CHARS: usize = 2000;
pub const MAX_OPTION_CHARS: usize = 1000;
pub const MAX_CATEGORY_CHARS: usize = 100;
pub const MAX_EXPLANATION_CHARS: usize = 5000;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 8;
/// PostgreSQL text cannot hold NUL: refused here, whichever way the question came (a cell
/// of a workbook may spell it `_x0000_`), rather than failing the INSERT.
const NUL: &str = "không được chứa ký tự NUL / must not contain the NUL character";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// Exactly one correct option.
    Single,
    /// One or more correct options; right only when the chosen set equals the correct set.
    Multiple,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Multiple => "multiple",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match fold(raw).as_str() {
            "single" | "một đáp án" => Ok(Self::Single),
            "multiple" | "nhiều đáp án" => Ok(Self::Multiple),
            _ => Err("phải là single hoặc multiple / must be single or multiple"),
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub const ALL: [Difficulty; 3] = [Self::Easy, Self::Medium, Self::Hard];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Easy => "easy",
            Self::Medium => "medium",
            Self::Hard => "hard",
        }
    }

    /// English or the Vietnamese words organisers write (`dễ`, `trung bình`, `khó`), in any case.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match fold(raw).as_str() {
            "easy" | "dễ" | "de" => Ok(Self::Easy),
            "medium" | "trung bình" | "trung binh" | "tb" => Ok(Self::Medium),
            "hard" | "khó" | "kho" => Ok(Self::Hard),
            _ => Err(
                "phải là dễ, trung bình hoặc khó / must be easy, medium or hard (dễ, trung bình, khó)",
            ),
        }
    }
}

/// Trimmed, NFC, lower case, inner runs of spaces collapsed: how words are compared.
fn fold(raw: &str) -> String {
    raw.nfc()
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trimmed NFC text, with CRLF line ends made LF.
pub fn clean_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .nfc()
        .collect()
}

fn clean_optional(raw: Option<&str>) -> Option<String> {
    raw.map(clean_text).filter(|s| !s.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OptionSpec {
    pub text: String,
    pub correct: bool,
}

/// A question as written, before the rules are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionDraft {
    pub text: String,
    /// `None`: decided by the number of correct options.
    pub kind: Option<String>,
    pub options: Vec<OptionSpec>,
    pub category: Option<String>,
    pub difficulty: Option<String>,
    pub explanation: Option<String>,
}

/// A question that satisfies rule 3; what storage accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionSpec {
    pub text: String,
    pub kind: QuestionKind,
    pub options: Vec<OptionSpec>,
    pub category: Option<String>,
    pub difficulty: Option<Difficulty>,
    pub explanation: Option<String>,
}

impl QuestionSpec {
    pub fn parse(draft: &QuestionDraft) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut fail = |field: String, message: String| {
            errors.entry(field).or_default().push(message);
        };

        let text = clean_text(&draft.text);
        if text.contains('\0') {
            fail("text".into(), NUL.into());
        } else if text.is_empty() {
            fail(
                "text".into(),
                "không được để trống / must not be empty".into(),
            );
        } else if text.chars().count() > MAX_TEXT_CHARS {
            fail(
                "text".into(),
                format!(
                    "tối đa {MAX_TEXT_CHARS} ký tự / must be at most {MAX_TEXT_CHARS} characters"
                ),
            );
        }

        let options: Vec<OptionSpec> = draft
            .options
            .iter()
            .map(|o| OptionSpec {
                text: clean_text(&o.text),
                correct: o.correct,
            })
            .collect();
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&options.len()) {
            fail(
                "options".into(),
                format!(
                    "cần từ {MIN_OPTIONS} đến {MAX_OPTIONS} phương án, có {} / needs {MIN_OPTIONS} to {MAX_OPTIONS} options, has {}",
                    options.len(),
                    options.len()
                ),
            );
        }
        for (i, option) in options.iter().enumerate() {
            let field = format!("options[{i}].text");
            if option.text.contains('\0') {
                fail(field, NUL.into());
            } else if option.text.is_empty() {
                fail(field, "phương án trống / option text is empty".into());
            } else if option.text.chars().count() > MAX_OPTION_CHARS {
                fail(
                    field,
                    format!(
                        "tối đa {MAX_OPTION_CHARS} ký tự / must be at most {MAX_OPTION_CHARS} characters"
                    ),
                );
            } else if let Some(j) = options[..i]
                .iter()
                .position(|earlier| fold(&earlier.text) == fold(&option.text))
            {
                fail(
                    field,
                    format!(
                        "trùng với phương án {} / duplicates option {}",
                        letter(j),
                        letter(j)
                    ),
                );
            }
        }

        let correct = options.iter().filter(|o| o.correct).count();
        let kind = match draft
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(raw) => match QuestionKind::parse(raw) {
                Ok(kind) => Some(kind),
                Err(message) => {
                    fail("kind".into(), message.into());
                    None
                }
            },
            None if correct > 1 => Some(QuestionKind::Multiple),
            None => Some(QuestionKind::Single),
        };
        if correct == 0 && !options.is_empty() {
            fail(
                "options".into(),
                "chưa có phương án đúng / no option is marked correct".into(),
            );
        } else if kind == Some(QuestionKind::Single) && correct > 1 {
            fail(
                "options".into(),
                format!(
                    "câu một đáp án chỉ được có 1 phương án đúng, có {correct} / a single-answer question has exactly one correct option, this has {correct}"
                ),
            );
        }

        let category = clean_optional(draft.category.as_deref());
        if category.as_ref().is_some_and(|c| c.contains('\0')) {
            fail("category".into(), NUL.into());
        } else if category
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_CATEGORY_CHARS)
        {
            fail(
                "category".into(),
                format!(
                    "tối đa {MAX_CATEGORY_CHARS} ký tự / must be at most {MAX_CATEGORY_CHARS} characters"
                ),
            );
        }
        let difficulty = match clean_optional(draft.difficulty.as_deref()) {
            None => None,
            Some(raw) => match Difficulty::parse(&raw) {
                Ok(d) => Some(d),
                Err(message) => {
                    fail("difficulty".into(), message.into());
                    None
                }
            },
        };
        let explanation = clean_optional(draft.explanation.as_deref());
        if explanation.as_ref().is_some_and(|e| e.contains('\0')) {
            fail("explanation".into(), NUL.into());
        } else if explanation
            .as_ref()
            .is_some_and(|e| e.chars().count() > MAX_EXPLANATION_CHARS)
        {
            fail(
                "explanation".into(),
                format!(
                    "tối đa {MAX_EXPLANATION_CHARS} ký tự / must be at most {MAX_EXPLANATION_CHARS} characters"
                ),
            );
        }

        match kind {
            Some(kind) if errors.is_empty() => Ok(Self {
                text,
                kind,
                options,
                category,
                difficulty,
                explanation,
            }),
            _ => Err(errors),
        }
    }

    /// Bit i set ⇔ option i is correct: the answer key as the database stores it.
    pub fn correct_mask(&self) -> i16 {
        self.options
            .iter()
            .enumerate()
            .filter(|(_, o)| o.correct)
            .fold(0, |mask, (i, _)| mask | (1 << i))
    }

    /// Back to the shape it was written in (exports, comparisons with a file).
    pub fn to_draft(&self) -> QuestionDraft {
        QuestionDraft {
            text: self.text.clone(),
            kind: Some(self.kind.as_str().to_owned()),
            options: self.options.clone(),
            category: self.category.clone(),
            difficulty: self.difficulty.map(|d| d.as_str().to_owned()),
            explanation: self.explanation.clone(),
        }
    }
}

/// `A` for the first option, `B` for the second, …
pub fn letter(index: usize) -> char {
    char::from(b'A' + (index % 26) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(options: &[(&str, bool)]) -> QuestionDraft {
        QuestionDraft {
            text: "Thủ đô của Việt Nam là?".into(),
            options: options
                .iter()
                .map(|(text, correct)| OptionSpec {
                    text: (*text).into(),
                    correct: *correct,
                })
                .collect(),
            ..QuestionDraft::default()
        }
    }

    fn fields(result: Result<QuestionSpec, FieldErrors>) -> Vec<String> {
        result.expect_err("should be refused").into_keys().collect()
    }

    #[test]
    fn one_correct_option_makes_a_single_answer_question() {
        let q = QuestionSpec::parse(&draft(&[("Hà Nội", true), ("Huế", false)])).unwrap();
        assert_eq!(q.kind, QuestionKind::Single);
        assert_eq!(q.correct_mask(), 0b01);
    }

    #[test]
    fn several_correct_options_make_a_multiple_answer_question() {
        let q = QuestionSpec::parse(&draft(&[("a", true), ("b", false), ("c", true)])).unwrap();
        assert_eq!(q.kind, QuestionKind::Multiple);
        assert_eq!(q.correct_mask(), 0b101);
    }

    #[test]
    fn a_single_question_with_two_correct_options_is_refused() {
        let mut d = draft(&[("a", true), ("b", true)]);
        d.kind = Some("single".into());
        assert_eq!(fields(QuestionSpec::parse(&d)), ["options"]);
    }

    #[test]
    fn nul_in_any_text_is_refused_by_its_field() {
        let mut d = draft(&[("Hà\0Nội", true), ("Huế", false)]);
        d.text = "Thủ\0đô?".into();
        d.category = Some("Địa\0lý".into());
        d.explanation = Some("\0".into());
        assert_eq!(
            fields(QuestionSpec::parse(&d)),
            ["category", "explanation", "options[0].text", "text"]
        );
    }

    #[test]
    fn a_multiple_question_may_have_one_correct_option() {
        let mut d = draft(&[("a", true), ("b", false)]);
        d.kind = Some("multiple".into());
        assert_eq!(
            QuestionSpec::parse(&d).unwrap().kind,
            QuestionKind::Multiple
        );
    }

    #[test]
    fn no_correct_option_is_refused() {
        assert_eq!(
            fields(QuestionSpec::parse(&draft(&[("a", false), ("b", false)]))),
            ["options"]
        );
    }

    #[test]
    fn one_option_or_nine_options_are_refused() {
        assert_eq!(
            fields(QuestionSpec::parse(&draft(&[("a", true)]))),
            ["options"]
        );
        let nine: Vec<(String, bool)> = (0..9).map(|i| (format!("o{i}"), i == 0)).collect();
        let nine: Vec<(&str, bool)> = nine.iter().map(|(t, c)| (t.as_str(), *c)).collect();
        assert_eq!(fields(QuestionSpec::parse(&draft(&nine))), ["options"]);
    }

    #[test]
    fn empty_and_duplicate_option_texts_are_refused() {
        assert_eq!(
            fields(QuestionSpec::parse(&draft(&[("a", true), ("  ", false)]))),
            ["options[1].text"]
        );
        assert_eq!(
            fields(QuestionSpec::parse(&draft(&[
                ("Hà Nội", true),
                ("hà  nội", false)
            ]))),
            ["options[1].text"]
        );
    }

    #[test]
    fn text_longer_than_two_thousand_characters_is_refused() {
        let mut d = draft(&[("a", true), ("b", false)]);
        d.text = "ă".repeat(2001);
        assert_eq!(fields(QuestionSpec::parse(&d)), ["text"]);
        d.text = "ă".repeat(2000);
        assert!(QuestionSpec::parse(&d).is_ok());
    }

    #[test]
    fn vietnamese_difficulty_words_are_accepted() {
        for (raw, want) in [
            ("dễ", Difficulty::Easy),
            ("Trung bình", Difficulty::Medium),
            ("KHÓ", Difficulty::Hard),
            ("medium", Difficulty::Medium),
        ] {
            assert_eq!(Difficulty::parse(raw), Ok(want), "{raw}");
        }
        assert!(Difficulty::parse("very hard").is_err());
    }

    #[test]
    fn decomposed_text_is_stored_composed_and_trimmed() {
        let mut d = draft(&[("a", true), ("b", false)]);
        d.text = "  Vie\u{0302}\u{0323}t Nam \r\n".into();
        assert_eq!(QuestionSpec::parse(&d).unwrap().text, "Việt Nam");
    }

    #[test]
    fn blank_category_is_no_category() {
        let mut d = draft(&[("a", true), ("b", false)]);
        d.category = Some("   ".into());
        assert_eq!(QuestionSpec::parse(&d).unwrap().category, None);
    }

    #[test]
    fn an_unknown_kind_is_refused() {
        let mut d = draft(&[("a", true), ("b", false)]);
        d.kind = Some("essay".into());
        assert_eq!(fields(QuestionSpec::parse(&d)), ["kind"]);
    }
}
