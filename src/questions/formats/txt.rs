//! Hand-written TXT banks in the form Vietnamese organisers type ("Câu 1: …", "A. …",
//! "Đáp án: B"); DOCX reuses this parser on its paragraphs.

use super::util::{
    check_answer_letters, clean, clean_opt, decode_text, keyword_value, letter, letter_index,
    parse_answer_letters, strip_prefix_ci,
};
use super::{LineError, Parsed, RawOption, RawQuestion};
use unicode_normalization::UnicodeNormalization;

const ANSWER_KEYWORDS: [&str; 7] = [
    "đáp án đúng là",
    "đáp án đúng",
    "đáp án",
    "đa",
    "answer",
    "correct answer",
    "câu trả lời đúng",
];
const CATEGORY_KEYWORDS: [&str; 4] = ["chủ đề", "lĩnh vực", "category", "topic"];
const DIFFICULTY_KEYWORDS: [&str; 4] = ["độ khó", "mức độ", "difficulty", "level"];
const EXPLANATION_KEYWORDS: [&str; 4] = ["giải thích", "lời giải", "hướng dẫn giải", "explanation"];

/// Option letters hoithi can hold; a line starting `I.` is more likely a Roman numeral.
const MAX_LETTERS: usize = 8;

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    match decode_text(bytes) {
        Ok(text) => parse_lines(
            &text
                .split('\n')
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_owned()))
                .collect::<Vec<_>>(),
        ),
        Err(e) => Parsed::failed(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Text,
    Options,
    Answered,
}

struct Opt {
    line: usize,
    lines: Vec<String>,
    marked: bool,
    lower: bool,
    /// The line as written, in case it turns out to be part of the question text.
    raw: String,
}

struct Draft {
    line: usize,
    stage: Stage,
    text: Vec<String>,
    options: Vec<Opt>,
    answer: Option<(usize, String)>,
    category: Option<String>,
    difficulty: Option<String>,
    explanation: Vec<String>,
    in_explanation: bool,
    errors: Vec<(usize, String)>,
}

/// Lines as (line or paragraph number, text) → questions.
pub(crate) fn parse_lines(lines: &[(usize, String)]) -> Parsed {
    let lines: Vec<(usize, String)> = lines
        .iter()
        .map(|(n, l)| (*n, l.nfc().collect::<String>()))
        .collect();
    // Bare "1." numbering is only trusted in files that never say "Câu 1:", where it would more
    // likely be a heading or a list inside a question.
    let bare_numbers = !lines
        .iter()
        .any(|(_, l)| question_start(l.trim(), false).is_some());
    let mut parsed = Parsed::default();
    let mut draft: Option<Draft> = None;
    let mut default_category = None;
    for (n, line) in &lines {
        let t = line.trim();
        if t.is_empty() {
            if let Some(d) = draft.as_mut() {
                d.in_explanation = false;
            }
            continue;
        }
        let allow_bare = bare_numbers
            && draft
                .as_ref()
                .is_none_or(|d| d.stage == Stage::Answered && !d.in_explanation);
        if let Some(rest) = question_start(t, allow_bare) {
            if let Some(d) = draft.take() {
                d.finish(&mut parsed);
            }
            let mut d = Draft::new(*n, default_category.clone());
            if !rest.is_empty() {
                d.text.push(rest.to_owned());
            }
            draft = Some(d);
            continue;
        }
        match draft.as_mut() {
            Some(d) => d.feed(*n, t),
            None => {
                // Before the first question: titles and instructions, which are ignored, but
                // an answer line there means a "Câu N:" line is missing.
                if let Some(value) = keyword_value(t, &CATEGORY_KEYWORDS) {
                    default_category = clean_opt(value);
                } else if keyword_value(t, &ANSWER_KEYWORDS).is_some() {
                    parsed.errors.push(LineError {
                        line: *n,
                        message: "dòng đáp án không thuộc câu hỏi nào — thiếu dòng «Câu N:»? / answer line outside any question — missing a «Câu N:» line?".to_owned(),
                    });
                }
            }
        }
    }
    if let Some(d) = draft.take() {
        d.finish(&mut parsed);
    }
    parsed
}

/// `Câu 1:`, `Câu 1.`, `CÂU HỎI 12:`, `Câu 3 (0,5 điểm):`, `Câu 4` alone; with `allow_bare`
/// also `1.` / `1)`. Returns the text after the number.
fn question_start(t: &str, allow_bare: bool) -> Option<&str> {
    for keyword in ["câu hỏi", "câu", "question"] {
        let Some(rest) = strip_prefix_ci(t, keyword) else {
            continue;
        };
        let rest = rest.trim_start();
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            continue;
        }
        let mut rest = rest.get(digits..).unwrap_or_default().trim_start();
        if rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            rest = rest.get(close + 1..).unwrap_or_default().trim_start();
        }
        let mut chars = rest.chars();
        return match chars.next() {
            None => Some(""),
            Some(':' | '.' | ')' | '-' | '–') => Some(chars.as_str().trim()),
            Some(_) => None,
        };
    }
    if allow_bare {
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let mut chars = t.get(digits..).unwrap_or_default().chars();
        if digits > 0
            && matches!(chars.next(), Some('.' | ')'))
            && chars.as_str().starts_with(char::is_whitespace)
        {
            return Some(chars.as_str().trim());
        }
    }
    None
}

#[derive(Debug)]
struct Marker<'a> {
    index: usize,
    lower: bool,
    marked: bool,
    /// A space (or nothing) follows the delimiter: surely an option, not "C.Mác" in a sentence.
    strict: bool,
    rest: &'a str,
}

/// `A. …`, `A) …`, `A/ …`, `a. …`, and `*A. …` (a star marking the correct option).
fn option_marker(t: &str) -> Option<Marker<'_>> {
    let (marked, s) = match t.strip_prefix('*') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let mut chars = s.chars();
    let c = chars.next().filter(char::is_ascii_alphabetic)?;
    let index = letter_index(c).filter(|&i| i < MAX_LETTERS)?;
    chars.next().filter(|d| matches!(d, '.' | ')' | '/'))?;
    let rest = chars.as_str();
    Some(Marker {
        index,
        lower: c.is_ascii_lowercase(),
        marked,
        strict: rest.is_empty() || rest.starts_with(char::is_whitespace),
        rest,
    })
}

/// "A. Hà Nội\tB. Huế\tC. Đà Nẵng": options laid out on one line, separated by a tab or two or
/// more spaces, each with the next letter in the same case.
fn split_inline(first: &Marker<'_>) -> Vec<(String, bool)> {
    let rest = first.rest;
    let mut pieces = Vec::new();
    let mut piece_start = 0;
    let mut marked = first.marked;
    let mut next = first.index + 1;
    let mut iter = rest.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if !c.is_whitespace() {
            continue;
        }
        let mut run_end = i + c.len_utf8();
        let mut run_chars = 1;
        let mut has_tab = c == '\t';
        while let Some(&(j, d)) = iter.peek() {
            if !d.is_whitespace() {
                break;
            }
            has_tab |= d == '\t';
            run_chars += 1;
            run_end = j + d.len_utf8();
            iter.next();
        }
        if !(has_tab || run_chars >= 2) {
            continue;
        }
        let after = rest.get(run_end..).unwrap_or_default();
        let Some(m) = option_marker(after) else {
            continue;
        };
        if m.index != next || m.lower != first.lower || !m.strict || next >= MAX_LETTERS {
            continue;
        }
        pieces.push((
            rest.get(piece_start..i).unwrap_or_default().to_owned(),
            marked,
        ));
        piece_start = rest.len() - m.rest.len();
        marked = m.marked;
        next += 1;
    }
    pieces.push((
        rest.get(piece_start..).unwrap_or_default().to_owned(),
        marked,
    ));
    pieces
}

fn out_of_order(found: usize, expected: usize) -> String {
    format!(
        "phương án {} không đúng thứ tự (cần {}) / option {} is out of order (expected {})",
        letter(found),
        letter(expected),
        letter(found),
        letter(expected)
    )
}

impl Draft {
    fn new(line: usize, category: Option<String>) -> Draft {
        Draft {
            line,
            stage: Stage::Text,
            text: Vec::new(),
            options: Vec::new(),
            answer: None,
            category,
            difficulty: None,
            explanation: Vec::new(),
            in_explanation: false,
            errors: Vec::new(),
        }
    }

    fn feed(&mut self, n: usize, t: &str) {
        if let Some(answer) = keyword_value(t, &ANSWER_KEYWORDS) {
            if self.answer.is_some() {
                self.errors.push((
                    n,
                    "câu hỏi có hai dòng đáp án / the question has two answer lines".to_owned(),
                ));
            } else {
                self.answer = Some((n, answer.to_owned()));
            }
            self.stage = Stage::Answered;
            self.in_explanation = false;
            return;
        }
        if self.stage != Stage::Text && self.meta(t) {
            return;
        }
        if self.stage == Stage::Answered {
            if self.in_explanation {
                self.explanation.push(t.to_owned());
            } else if option_marker(t).is_some_and(|m| m.strict && m.index == self.options.len()) {
                self.errors.push((
                    n,
                    "phương án nằm sau dòng đáp án / option after the answer line".to_owned(),
                ));
            }
            // Anything else between questions (headings, notes) is not part of the bank.
            return;
        }
        if let Some(m) = option_marker(t) {
            // "a) … b) …" statements inside the question, followed by the real "A. …" options.
            if m.index == 0
                && !m.lower
                && !self.options.is_empty()
                && self.options.iter().all(|o| o.lower)
            {
                for o in self.options.drain(..) {
                    self.text.push(o.raw);
                    self.text.extend(o.lines.into_iter().skip(1));
                }
            }
            if m.index == self.options.len() {
                for (text, marked) in split_inline(&m) {
                    let index = self.options.len();
                    self.options.push(Opt {
                        line: n,
                        lines: vec![text],
                        marked,
                        lower: m.lower,
                        raw: if index == m.index {
                            t.to_owned()
                        } else {
                            String::new()
                        },
                    });
                }
                self.stage = Stage::Options;
                return;
            }
            if m.strict {
                self.errors
                    .push((n, out_of_order(m.index, self.options.len())));
                self.stage = Stage::Options;
                return;
            }
        }
        match (self.stage, self.options.last_mut()) {
            (Stage::Options, Some(last)) => last.lines.push(t.to_owned()),
            _ => self.text.push(t.to_owned()),
        }
    }

    /// `Chủ đề: …`, `Độ khó: …`, `Giải thích: …` (the explanation may go on for more lines).
    fn meta(&mut self, t: &str) -> bool {
        if let Some(v) = keyword_value(t, &CATEGORY_KEYWORDS) {
            self.category = clean_opt(v);
        } else if let Some(v) = keyword_value(t, &DIFFICULTY_KEYWORDS) {
            self.difficulty = clean_opt(v);
        } else if let Some(v) = keyword_value(t, &EXPLANATION_KEYWORDS) {
            self.explanation = vec![v.to_owned()];
            self.in_explanation = true;
            return true;
        } else {
            return false;
        }
        self.in_explanation = false;
        true
    }

    fn finish(self, parsed: &mut Parsed) {
        let mut errors = self.errors;
        let text = tidy(&self.text);
        if text.is_empty() {
            errors.push((
                self.line,
                "thiếu nội dung câu hỏi / the question text is empty".to_owned(),
            ));
        }
        if self.options.is_empty() {
            errors.push((
                self.line,
                "không có phương án nào (A. …, B. …) / no options (A. …, B. …)".to_owned(),
            ));
        }
        let mut options = Vec::with_capacity(self.options.len());
        for (i, o) in self.options.iter().enumerate() {
            let text = tidy(&o.lines);
            if text.is_empty() {
                errors.push((
                    o.line,
                    format!(
                        "phương án {} trống / option {} is empty",
                        letter(i),
                        letter(i)
                    ),
                ));
            }
            options.push(RawOption {
                text,
                correct: false,
            });
        }
        let letters: Vec<usize> = match &self.answer {
            Some((n, answer)) => match parse_answer_letters(answer)
                .and_then(|l| check_answer_letters(&l, options.len()).map(|()| l))
            {
                Ok(l) => l,
                Err(e) => {
                    // With no options the missing options were already reported.
                    if !options.is_empty() {
                        errors.push((*n, e));
                    }
                    Vec::new()
                }
            },
            None if self.options.iter().any(|o| o.marked) => self
                .options
                .iter()
                .enumerate()
                .filter(|(_, o)| o.marked)
                .map(|(i, _)| i)
                .collect(),
            None => {
                if !options.is_empty() {
                    errors.push((
                        self.line,
                        "thiếu dòng đáp án (Đáp án: …) / missing answer line".to_owned(),
                    ));
                }
                Vec::new()
            }
        };
        if !errors.is_empty() {
            parsed.errors.extend(
                errors
                    .into_iter()
                    .map(|(line, message)| LineError { line, message }),
            );
            return;
        }
        for i in letters {
            if let Some(o) = options.get_mut(i) {
                o.correct = true;
            }
        }
        parsed.questions.push(RawQuestion {
            line: self.line,
            text,
            kind: None,
            options,
            category: self.category,
            difficulty: self.difficulty,
            explanation: clean_opt(&tidy(&self.explanation)),
        });
    }
}

/// Lines of one piece of text → one string; tabs (from DOCX or aligned TXT) read as spaces.
fn tidy(lines: &[String]) -> String {
    clean(&lines.join("\n").replace('\t', " "))
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_any};
    use super::*;

    fn txt(src: &str) -> Parsed {
        parse_any(Format::Txt, src.as_bytes())
    }

    fn flags(q: &RawQuestion) -> Vec<bool> {
        q.options.iter().map(|o| o.correct).collect()
    }

    fn texts(q: &RawQuestion) -> Vec<&str> {
        q.options.iter().map(|o| o.text.as_str()).collect()
    }

    const SAMPLE: &str = "ĐỀ THI TÌM HIỂU LỊCH SỬ\n\nCâu 1: Thủ đô của Việt Nam là?\nA. Hà Nội\nB. Huế\nC. Đà Nẵng\nD. TP. Hồ Chí Minh\nĐáp án: A\n\nCâu 2. Những thành phố nào trực thuộc trung ương?\nA) Hà Nội\nB) Hải Phòng\nC) Nam Định\nĐáp án đúng: A, B\n";

    #[test]
    fn the_organisers_sample_is_read() {
        let parsed = txt(SAMPLE);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions;
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].line, 3);
        assert_eq!(q[0].text, "Thủ đô của Việt Nam là?");
        assert_eq!(
            texts(&q[0]),
            vec!["Hà Nội", "Huế", "Đà Nẵng", "TP. Hồ Chí Minh"]
        );
        assert_eq!(flags(&q[0]), vec![true, false, false, false]);
        assert_eq!(q[1].line, 10);
        assert_eq!(flags(&q[1]), vec![true, true, false]);
        assert_eq!(q[1].kind, None);
    }

    #[test]
    fn bom_crlf_and_nfd_text_come_out_clean() {
        let src: String = SAMPLE.nfd().collect::<String>().replace('\n', "\r\n");
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(src.as_bytes());
        let parsed = parse_any(Format::Txt, &bytes);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions[0].text, "Thủ đô của Việt Nam là?");
        assert_eq!(parsed.questions[0].options[2].text, "Đà Nẵng");
    }

    #[test]
    fn continued_lines_lowercase_letters_and_extra_fields_are_read() {
        let parsed = txt(
            "câu hỏi 3: Theo\nC.Mác, điều nào\nđúng?\na/ Một\nhai dòng\nb. Ba\nĐA: b\nChủ đề: Triết học\nĐộ khó: Trung bình\nGiải thích: Vì\nnhư thế.\n\nGhi chú không thuộc câu nào.\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions[0];
        assert_eq!(q.text, "Theo\nC.Mác, điều nào\nđúng?");
        assert_eq!(texts(q), vec!["Một\nhai dòng", "Ba"]);
        assert_eq!(flags(q), vec![false, true]);
        assert_eq!(q.category.as_deref(), Some("Triết học"));
        assert_eq!(q.difficulty.as_deref(), Some("Trung bình"));
        assert_eq!(q.explanation.as_deref(), Some("Vì\nnhư thế."));
    }

    #[test]
    fn options_on_one_line_separated_by_tabs_are_split() {
        let parsed = txt("Câu 1: Chọn?\nA. Hà Nội\tB. Huế\n*C. Đà Nẵng    D. Vinh\nAnswer: B\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(
            texts(&parsed.questions[0]),
            vec!["Hà Nội", "Huế", "Đà Nẵng", "Vinh"]
        );
        // The answer line wins over the star.
        assert_eq!(flags(&parsed.questions[0]), vec![false, true, false, false]);
    }

    #[test]
    fn a_star_marks_the_correct_option_when_there_is_no_answer_line() {
        let parsed = txt("Câu 1: Chọn?\nA. x\n* B. y\nC. z\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(flags(&parsed.questions[0]), vec![false, true, false]);
    }

    #[test]
    fn lowercase_statements_before_real_options_stay_in_the_text() {
        let parsed = txt(
            "Câu 1: Cho các mệnh đề:\na) Một\nb) Hai\nSố mệnh đề đúng là\nA. 0\nB. 2\nĐáp án: B\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions[0];
        assert_eq!(
            q.text,
            "Cho các mệnh đề:\na) Một\nb) Hai\nSố mệnh đề đúng là"
        );
        assert_eq!(texts(q), vec!["0", "2"]);
    }

    #[test]
    fn bare_numbers_start_questions_only_in_files_without_cau() {
        let parsed = txt("1. Một?\nA. x\nB. y\nĐáp án: A\n2) Hai?\nA. x\nB. y\nĐáp án: B\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions.len(), 2);
        assert_eq!(parsed.questions[1].line, 5);
    }

    #[test]
    fn problems_are_reported_on_their_lines() {
        let parsed = txt(
            "Đáp án: A\nCâu 1: Không có phương án\nĐáp án: A\nCâu 2: Thiếu đáp án\nA. x\nB. y\nCâu 3: Sai chữ\nA. x\nB. y\nĐáp án: E\nCâu 4: Lộn thứ tự\nA. x\nC. y\nĐáp án: A\nCâu 5: Tốt\nA. x\nB. y\nĐáp án: A\n",
        );
        assert_eq!(parsed.questions.len(), 1);
        assert_eq!(parsed.questions[0].line, 15);
        let errors: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert_eq!(errors[0].0, 1);
        assert_eq!(errors[1].0, 2);
        assert!(errors[1].1.contains("no options"));
        assert_eq!(
            errors[2],
            (4, "thiếu dòng đáp án (Đáp án: …) / missing answer line")
        );
        assert_eq!(
            errors[3],
            (
                10,
                "đáp án E không có trong các phương án A–B / answer E is not one of the options A–B"
            )
        );
        assert_eq!(errors[4].0, 13);
        assert!(errors[4].1.contains("out of order"));
    }

    #[test]
    fn non_utf8_txt_is_one_error() {
        let parsed = parse_any(Format::Txt, b"C\xe2u 1: x\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(
            parsed.errors[0].message,
            "tệp không phải UTF-8 / file is not UTF-8"
        );
    }
}
