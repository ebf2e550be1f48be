//! Aiken banks (Moodle's simple format): question line(s), `A.` / `A)` options, `ANSWER: X`.

use super::util::{
    check_answer_letters, clean, decode_text, keyword_value, letter, letter_index,
    parse_answer_letters,
};
use super::{LineError, Parsed, RawOption, RawQuestion};

const ANSWER_KEYWORDS: [&str; 3] = ["answer", "đáp án đúng", "đáp án"];

#[derive(Default)]
struct Draft {
    line: usize,
    text: Vec<String>,
    options: Vec<String>,
}

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let text = match decode_text(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Parsed::failed(e);
        }
    };
    let mut parsed = Parsed::default();
    let mut draft: Option<Draft> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() {
            // A blank line ends a question; one still open has no ANSWER line.
            if let Some(d) = draft.take() {
                unfinished(&d, &mut parsed);
            }
            continue;
        }
        if let Some(answer) = keyword_value(t, &ANSWER_KEYWORDS) {
            match draft.take() {
                Some(d) => finish(d, line, answer, &mut parsed),
                None => parsed.errors.push(LineError {
                    line,
                    message: "dòng ANSWER không thuộc câu hỏi nào / ANSWER line without a question"
                        .to_owned(),
                }),
            }
            continue;
        }
        let d = draft.get_or_insert_with(|| Draft {
            line,
            ..Draft::default()
        });
        match option_line(t) {
            Some((index, text)) if index == d.options.len() => d.options.push(clean(text)),
            Some((index, _)) => {
                parsed.errors.push(LineError {
                    line,
                    message: format!(
                        "phương án {} không đúng thứ tự (cần {}) / option {} is out of order (expected {})",
                        letter(index),
                        letter(d.options.len()),
                        letter(index),
                        letter(d.options.len())
                    ),
                });
            }
            _ if d.options.is_empty() => d.text.push(t.to_owned()),
            _ => {
                // Text after the options: the ANSWER line was forgotten and a new question
                // starts here.
                if let Some(done) = draft.take() {
                    unfinished(&done, &mut parsed);
                }
                draft = Some(Draft {
                    line,
                    text: vec![t.to_owned()],
                    options: Vec::new(),
                });
            }
        }
    }
    if let Some(d) = draft.take() {
        unfinished(&d, &mut parsed);
    }
    parsed
}

/// `A. text` / `A) text`: an upper-case letter, `.` or `)`, then a space.
fn option_line(t: &str) -> Option<(usize, &str)> {
    let mut chars = t.chars();
    let c = chars.next().filter(char::is_ascii_uppercase)?;
    chars.next().filter(|d| matches!(d, '.' | ')'))?;
    let rest = chars.as_str();
    rest.starts_with(char::is_whitespace)
        .then(|| letter_index(c).map(|i| (i, rest)))
        .flatten()
}

fn unfinished(d: &Draft, parsed: &mut Parsed) {
    let message = if d.options.is_empty() {
        "không có phương án nào (A. …, B. …) / no options (A. …, B. …)"
    } else {
        "thiếu dòng ANSWER: … / missing ANSWER: line"
    };
    parsed.errors.push(LineError {
        line: d.line,
        message: message.to_owned(),
    });
}

fn finish(d: Draft, answer_line: usize, answer: &str, parsed: &mut Parsed) {
    if d.options.is_empty() {
        unfinished(&d, parsed);
        return;
    }
    let letters = match parse_answer_letters(answer)
        .and_then(|l| check_answer_letters(&l, d.options.len()).map(|()| l))
    {
        Ok(l) => l,
        Err(message) => {
            parsed.errors.push(LineError {
                line: answer_line,
                message,
            });
            return;
        }
    };
    let text = clean(&d.text.join("\n"));
    if text.is_empty() {
        parsed.errors.push(LineError {
            line: d.line,
            message: "thiếu nội dung câu hỏi / the question text is empty".to_owned(),
        });
        return;
    }
    parsed.questions.push(RawQuestion {
        line: d.line,
        text,
        kind: None,
        options: d
            .options
            .into_iter()
            .enumerate()
            .map(|(i, text)| RawOption {
                text,
                correct: letters.contains(&i),
            })
            .collect(),
        category: None,
        difficulty: None,
        explanation: None,
    });
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_any};
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn aiken(src: &str) -> Parsed {
        parse_any(Format::Aiken, src.as_bytes())
    }

    #[test]
    fn aiken_questions_with_both_option_styles_are_read() {
        let parsed = aiken(
            "\u{feff}Thủ đô của Việt Nam là?\r\nA. Hà Nội\r\nB. Huế\r\nANSWER: A\r\n\r\nCâu hỏi\nhai dòng?\nA) x\nB) y\nC) z\nAnswer: C\n\nBa?\nA. 1\nB. 2\nĐáp án: B\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions;
        assert_eq!(q.len(), 3);
        assert_eq!(q[0].line, 1);
        assert_eq!(q[0].text, "Thủ đô của Việt Nam là?");
        assert!(q[0].options[0].correct);
        assert_eq!(q[1].line, 6);
        assert_eq!(q[1].text, "Câu hỏi\nhai dòng?");
        assert_eq!(q[1].options[2].text, "z");
        assert!(q[1].options[2].correct);
        assert!(q[2].options[1].correct);
    }

    #[test]
    fn aiken_errors_name_the_problem() {
        let parsed = aiken(
            "No options\nANSWER: A\n\nBad letter\nA. x\nB. y\nANSWER: E\n\nNo answer\nA. x\nB. y\n\nGood\nA. x\nB. y\nANSWER: B\n",
        );
        assert_eq!(parsed.questions.len(), 1);
        assert_eq!(parsed.questions[0].line, 13);
        let errors: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(errors[0].0, 1);
        assert!(errors[0].1.contains("no options"));
        assert_eq!(
            errors[1],
            (
                7,
                "đáp án E không có trong các phương án A–B / answer E is not one of the options A–B"
            )
        );
        assert_eq!(errors[2].0, 9);
        assert!(errors[2].1.contains("missing ANSWER"));
    }

    #[test]
    fn nfd_aiken_comes_out_nfc() {
        let src: String = "Thủ đô?\nA. Hà Nội\nB. Huế\nANSWER: A\n".nfd().collect();
        let parsed = aiken(&src);
        assert_eq!(parsed.questions[0].options[0].text, "Hà Nội");
    }
}
