//! GIFT (Moodle) banks: reading the multiple-choice, multiple-answer and true/false questions
//! hoithi can run (skipping the other GIFT kinds with a reason), and the GIFT export.

use super::util::{clean, clean_opt, decode_text, keyword_value, quote, strip_prefix_ci};
use super::{LineError, Parsed, RawOption, RawQuestion, Skipped};

const ONLY_MC: &str = "hoithi chỉ chạy câu trắc nghiệm / hoithi only runs multiple choice";

/// One character of a question block; `esc` marks characters written with a backslash, which
/// never act as GIFT syntax.
#[derive(Clone, Copy, Debug)]
struct Tok {
    ch: char,
    esc: bool,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let escaped = match chars.peek() {
                Some(&n @ ('=' | '~' | '#' | '{' | '}' | ':' | '\\' | '%')) => Some(n),
                Some('n') => Some('\n'),
                _ => None,
            };
            if let Some(ch) = escaped {
                chars.next();
                out.push(Tok { ch, esc: true });
                continue;
            }
        }
        out.push(Tok { ch: c, esc: false });
    }
    out
}

fn text_of(toks: &[Tok]) -> String {
    toks.iter().map(|t| t.ch).collect()
}

fn span(toks: &[Tok], from: usize, to: usize) -> &[Tok] {
    toks.get(from..to).unwrap_or_default()
}

fn tail(toks: &[Tok], from: usize) -> &[Tok] {
    toks.get(from..).unwrap_or_default()
}

fn is(tok: Option<&Tok>, ch: char) -> bool {
    tok.is_some_and(|t| !t.esc && t.ch == ch)
}

/// First unescaped `ch` at or after `from`.
fn find(toks: &[Tok], from: usize, ch: char) -> Option<usize> {
    tail(toks, from)
        .iter()
        .position(|t| !t.esc && t.ch == ch)
        .map(|i| i + from)
}

/// First unescaped run of `seq` at or after `from`.
fn find_seq(toks: &[Tok], from: usize, seq: &str) -> Option<usize> {
    let want: Vec<char> = seq.chars().collect();
    (from..toks.len()).find(|&i| {
        want.iter()
            .enumerate()
            .all(|(k, &c)| is(toks.get(i + k), c))
    })
}

fn skip_ws(toks: &[Tok], from: usize) -> usize {
    tail(toks, from)
        .iter()
        .position(|t| !t.ch.is_whitespace())
        .map_or(toks.len(), |i| i + from)
}

fn trim_toks(toks: &[Tok]) -> &[Tok] {
    let start = skip_ws(toks, 0);
    let end = toks
        .iter()
        .rposition(|t| !t.ch.is_whitespace())
        .map_or(start, |i| i + 1);
    span(toks, start, end.max(start))
}

enum Outcome {
    Question(Body),
    Skip(String),
    Error(String),
}

/// What the question block itself says; category, difficulty and line come from around it.
struct Body {
    text: String,
    kind: Option<String>,
    options: Vec<RawOption>,
    explanation: Option<String>,
}

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let text = match decode_text(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Parsed::failed(e);
        }
    };
    let mut parsed = Parsed::default();
    let mut category = None;
    let mut block: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            read_block(&block, &mut category, &mut parsed);
            block.clear();
        } else {
            block.push((i + 1, line));
        }
    }
    read_block(&block, &mut category, &mut parsed);
    parsed
}

/// One blank-line-separated block: leading comments (a hoithi difficulty comment among them),
/// `$CATEGORY:` lines, then at most one question.
fn read_block(block: &[(usize, &str)], category: &mut Option<String>, parsed: &mut Parsed) {
    let mut difficulty = None;
    let mut body: Vec<&str> = Vec::new();
    let mut start = None;
    for &(line, raw) in block {
        let t = raw.trim();
        // Moodle drops every line that starts with `//`, wherever it is in the block.
        if let Some(comment) = t.strip_prefix("//") {
            if body.is_empty()
                && let Some(value) =
                    keyword_value(comment.trim(), &["difficulty", "độ khó", "mức độ"])
            {
                difficulty = clean_opt(value);
            }
            continue;
        }
        if body.is_empty()
            && let Some(path) = strip_prefix_ci(t, "$category:")
        {
            *category = category_from_path(path);
            continue;
        }
        start.get_or_insert(line);
        body.push(raw);
    }
    let Some(line) = start else { return };
    match parse_question(&body.join("\n")) {
        Outcome::Question(b) => parsed.questions.push(RawQuestion {
            line,
            text: b.text,
            kind: b.kind,
            options: b.options,
            category: category.clone(),
            difficulty,
            explanation: b.explanation,
        }),
        Outcome::Skip(reason) => parsed.skipped.push(Skipped { line, reason }),
        Outcome::Error(message) => parsed.errors.push(LineError { line, message }),
    }
}

/// `$course$/top/Pháp luật/Hiến pháp` → "Hiến pháp". Moodle writes a `/` inside a name as `//`;
/// in a run of an odd number of slashes the separator is taken to come first. A bare context
/// (`$course$`, `$course$/top`) means no category.
fn category_from_path(path: &str) -> Option<String> {
    let mut path = path.trim();
    if let Some(rest) = path.strip_prefix('$')
        && let Some(end) = rest.find('$')
    {
        let after = rest.get(end + 1..).unwrap_or_default();
        path = after.strip_prefix('/').unwrap_or(after);
    }
    let mut segments = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '/' {
            if let Some(last) = segments.last_mut() {
                last.push(c);
            }
            continue;
        }
        let mut run = 1;
        while chars.next_if_eq(&'/').is_some() {
            run += 1;
        }
        if run % 2 == 1 {
            segments.push(String::new());
        }
        if let Some(last) = segments.last_mut() {
            last.extend(std::iter::repeat_n('/', run / 2));
        }
    }
    let segments: Vec<String> = segments
        .iter()
        .map(|s| clean(s))
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [] => None,
        [only] if only.eq_ignore_ascii_case("top") => None,
        [.., last] => Some(last.clone()),
    }
}

fn skip(kind: &str) -> Outcome {
    Outcome::Skip(format!("{kind} — {ONLY_MC}"))
}

fn parse_question(src: &str) -> Outcome {
    let toks = tokenize(src);
    let mut pos = skip_ws(&toks, 0);
    if is(toks.get(pos), ':') && is(toks.get(pos + 1), ':') {
        match find_seq(&toks, pos + 2, "::") {
            Some(end) => pos = skip_ws(&toks, end + 2),
            None => {
                return Outcome::Error(
                    "tiêu đề ::…:: chưa được đóng / the ::title:: is not closed".to_owned(),
                );
            }
        }
    }
    let (html, rest) = split_format(tail(&toks, pos), false);
    let Some(open) = find(rest, 0, '{') else {
        if find(rest, 0, '}').is_some() {
            return Outcome::Error(
                "dấu } không có dấu { mở tương ứng / a } without a matching {".to_owned(),
            );
        }
        return skip("đoạn mô tả (description), không phải câu hỏi");
    };
    let Some(close) = find(rest, open + 1, '}') else {
        return Outcome::Error(
            "thiếu dấu } đóng phần đáp án / the answer block { is not closed".to_owned(),
        );
    };
    let inner = span(rest, open + 1, close);
    if find(inner, 0, '{').is_some() {
        return Outcome::Error("dấu { lồng nhau / nested {".to_owned());
    }
    let after = tail(rest, close + 1);
    if find(after, 0, '{').is_some() || find(after, 0, '}').is_some() {
        return Outcome::Error(
            "nhiều khối đáp án {…} trong một câu hỏi / more than one answer block {…} in one question"
                .to_owned(),
        );
    }
    let before = text_of(span(rest, 0, open));
    let after = text_of(after);
    // Missing-word questions keep the sentence, with a blank where the answer goes.
    let text = if after.trim().is_empty() {
        before
    } else {
        format!("{before}_____{after}")
    };
    let text = tidy(&text, html);

    // Like Moodle, the last `####` starts the general feedback.
    let general = (0..inner.len())
        .rev()
        .find(|&i| find_seq(span(inner, i, i + 4), 0, "####").is_some());
    let (answers, explanation) = match general {
        Some(i) => (
            span(inner, 0, i),
            clean_opt(&piece_text(tail(inner, i + 4), html)),
        ),
        None => (inner, None),
    };
    let answers = trim_toks(answers);
    if answers.is_empty() {
        return skip("câu hỏi tự luận (essay)");
    }
    if is(answers.first(), '#') {
        return skip("câu hỏi dạng số (numerical)");
    }
    let has_marker = answers.iter().any(|t| !t.esc && matches!(t.ch, '=' | '~'));
    if !has_marker {
        let head_end = find(answers, 0, '#').unwrap_or(answers.len());
        let head = text_of(span(answers, 0, head_end)).trim().to_uppercase();
        let truth = match head.as_str() {
            "T" | "TRUE" => true,
            "F" | "FALSE" => false,
            _ => {
                return Outcome::Error(format!(
                    "phần đáp án {} không rõ dạng — dùng =đúng ~sai / answers {} not understood — use =right ~wrong",
                    quote(&text_of(answers)),
                    quote(&text_of(answers))
                ));
            }
        };
        return finish(
            text,
            Some("single".to_owned()),
            vec![
                RawOption {
                    text: "Đúng".to_owned(),
                    correct: truth,
                },
                RawOption {
                    text: "Sai".to_owned(),
                    correct: !truth,
                },
            ],
            explanation,
        );
    }
    if !(is(answers.first(), '=') || is(answers.first(), '~')) {
        let lead_end = answers
            .iter()
            .position(|t| !t.esc && matches!(t.ch, '=' | '~'))
            .unwrap_or(answers.len());
        let lead = text_of(span(answers, 0, lead_end));
        return Outcome::Error(format!(
            "có nội dung lạ {} trước đáp án đầu tiên (= hoặc ~) / unexpected text {} before the first answer (= or ~)",
            quote(&lead),
            quote(&lead)
        ));
    }

    let mut pieces: Vec<(char, &[Tok])> = Vec::new();
    let mut start = 0;
    for (i, t) in answers.iter().enumerate().skip(1) {
        if !t.esc && matches!(t.ch, '=' | '~') {
            pieces.push((marker(answers, start), span(answers, start + 1, i)));
            start = i;
        }
    }
    pieces.push((marker(answers, start), tail(answers, start + 1)));

    if pieces.iter().all(|(m, _)| *m == '=') {
        let matching = pieces.iter().any(|(_, body)| text_of(body).contains("->"));
        return if matching {
            skip("câu hỏi ghép cặp (matching)")
        } else {
            skip("câu hỏi dạng trả lời ngắn (short answer)")
        };
    }

    // As in Moodle: with an `=` answer the question is single-choice and only `=` answers are
    // right (a partial-credit `~%50%` among them is not "correct" for hoithi); without one,
    // the weights decide and the question is multiple-answer.
    let has_equals = pieces.iter().any(|(m, _)| *m == '=');
    let mut options = Vec::with_capacity(pieces.len());
    let mut weighted = false;
    for (n, (m, body)) in pieces.iter().enumerate() {
        // Per-answer feedback (`#…`) is Moodle's, not hoithi's.
        let body = span(body, 0, find(body, 0, '#').unwrap_or(body.len()));
        let body = trim_toks(body);
        let (weight, body) = split_weight(body);
        weighted |= weight.is_some();
        let text = piece_text(body, html);
        if text.is_empty() {
            return Outcome::Error(format!(
                "phương án thứ {} trống / option {} is empty",
                n + 1,
                n + 1
            ));
        }
        let correct = if has_equals {
            *m == '='
        } else {
            weight.is_some_and(|w| w > 0.0)
        };
        options.push(RawOption { text, correct });
    }
    finish(
        text,
        (weighted && !has_equals).then(|| "multiple".to_owned()),
        options,
        explanation,
    )
}

/// Moodle's `[html]` / `[moodle]` / `[markdown]` / `[plain]` prefix: whether the text is HTML
/// (`inherited` when there is no prefix) and the text after it.
fn split_format(toks: &[Tok], inherited: bool) -> (bool, &[Tok]) {
    let start = skip_ws(toks, 0);
    if is(toks.get(start), '[')
        && let Some(close) = find(toks, start, ']').filter(|&c| c - start <= 10)
    {
        let name = text_of(span(toks, start + 1, close)).to_lowercase();
        if matches!(name.as_str(), "html" | "moodle" | "markdown" | "plain") {
            return (name == "html", tail(toks, close + 1));
        }
    }
    (inherited, toks)
}

/// An answer's or a feedback's text, which may carry its own format prefix.
fn piece_text(toks: &[Tok], question_html: bool) -> String {
    let (html, toks) = split_format(toks, question_html);
    tidy(&text_of(toks), html)
}

fn marker(toks: &[Tok], at: usize) -> char {
    toks.get(at).map_or('~', |t| t.ch)
}

fn finish(
    text: String,
    kind: Option<String>,
    options: Vec<RawOption>,
    explanation: Option<String>,
) -> Outcome {
    if text.is_empty() {
        return Outcome::Error("thiếu nội dung câu hỏi / the question text is empty".to_owned());
    }
    Outcome::Question(Body {
        text,
        kind,
        options,
        explanation,
    })
}

/// `%50%text` → (50, text). Anything that is not `%number%` stays part of the text.
fn split_weight(body: &[Tok]) -> (Option<f64>, &[Tok]) {
    if !is(body.first(), '%') {
        return (None, body);
    }
    let Some(end) = find(body, 1, '%') else {
        return (None, body);
    };
    let number = text_of(span(body, 1, end)).trim().replace(',', ".");
    match number.parse::<f64>() {
        Ok(w) if w.is_finite() => (Some(w), trim_toks(tail(body, end + 1))),
        _ => (None, body),
    }
}

/// Cleans a piece of question text; `[html]` text loses its tags and entities first, since
/// hoithi shows plain text.
fn tidy(text: &str, html: bool) -> String {
    if html {
        clean(&html_to_text(text))
    } else {
        clean(text)
    }
}

fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let tag = rest
                .get(1..end)
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or_default();
            if name == "br" || (tag.starts_with('/') && matches!(name, "p" | "div" | "li")) {
                out.push('\n');
            }
            rest = rest.get(end + 1..).unwrap_or_default();
            continue;
        }
        if c == '&'
            && let Some(end) = rest.find(';').filter(|&e| e <= 10)
        {
            let entity = rest.get(1..end).unwrap_or_default();
            let decoded = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            if let Some(ch) = decoded {
                out.push(ch);
                rest = rest.get(end + 1..).unwrap_or_default();
                continue;
            }
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    out
}

/// GIFT-escaped text. A text that itself starts with a format tag such as `[html]` gets a
/// `[plain]` in front, which import (Moodle's too) removes again.
fn escape(s: &str, option: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let lower = s.get(..10).unwrap_or(s).to_lowercase();
    if ["[html]", "[moodle]", "[markdown]", "[plain]"]
        .iter()
        .any(|tag| lower.starts_with(tag))
    {
        out.push_str("[plain]");
    }
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '~' | '=' | '#' | '{' | '}' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            // Only needed where a weight would be read: `~%50%…`.
            '%' if option && i == 0 => out.push_str("\\%"),
            _ => out.push(c),
        }
    }
    out
}

/// Moodle only accepts weights from a fixed list; 100/n is on it for every n up to 10.
fn share_of_100(correct: usize) -> String {
    match correct {
        0 | 1 => "100".to_owned(),
        2 => "50".to_owned(),
        3 => "33.33333".to_owned(),
        4 => "25".to_owned(),
        5 => "20".to_owned(),
        6 => "16.66667".to_owned(),
        7 => "14.28571".to_owned(),
        8 => "12.5".to_owned(),
        9 => "11.11111".to_owned(),
        10 => "10".to_owned(),
        n => format!("{:.5}", 100.0 / n as f64),
    }
}

/// The bank as GIFT, readable both by Moodle and by [`parse`](super::parse):
/// - a single-answer question is `=right ~wrong`;
/// - a multiple-answer question (or one with several correct options) uses weights: each
///   correct option gets its share of 100%, each wrong one `%-100%` — so a `multiple` question
///   with exactly one correct option comes back as `multiple` (`~%100%…`);
/// - difficulty is a `// difficulty: …` comment in the question's block (Moodle ignores it);
/// - categories are `$CATEGORY: $course$/top/<name>` lines, with `$course$/top` for "none";
/// - newlines inside texts are written `\n`, so each question's text is one line;
/// - a text starting with `//` gets a `::Câu N::` title (which import drops) so it is not
///   read as a comment, and one starting with a format tag such as `[html]` gets `[plain]`.
pub fn export_gift(questions: &[RawQuestion]) -> String {
    let mut out = String::from(
        "// Ngân hàng câu hỏi xuất từ hoithi — định dạng GIFT (Moodle)\n// Question bank exported from hoithi — GIFT (Moodle) format\n\n",
    );
    let mut category: Option<&str> = None;
    for (n, q) in questions.iter().enumerate() {
        if q.category.as_deref() != category {
            category = q.category.as_deref();
            match category {
                Some(name) => {
                    out.push_str("$CATEGORY: $course$/top/");
                    out.push_str(&name.replace('/', "//"));
                }
                None => out.push_str("$CATEGORY: $course$/top"),
            }
            out.push_str("\n\n");
        }
        if let Some(d) = &q.difficulty {
            out.push_str("// difficulty: ");
            out.push_str(d);
            out.push('\n');
        }
        if q.text.starts_with("//") {
            out.push_str(&format!("::Câu {}::", n + 1));
        }
        out.push_str(&escape(&q.text, false));
        out.push_str(" {\n");
        let correct = q.options.iter().filter(|o| o.correct).count();
        let weighted = q.kind.as_deref() == Some("multiple") || correct > 1;
        let share = share_of_100(correct);
        for o in &q.options {
            out.push('\t');
            match (weighted, o.correct) {
                (false, true) => out.push('='),
                (false, false) => out.push('~'),
                (true, true) => {
                    out.push_str("~%");
                    out.push_str(&share);
                    out.push('%');
                }
                (true, false) => out.push_str("~%-100%"),
            }
            out.push_str(&escape(&o.text, true));
            out.push('\n');
        }
        if let Some(e) = &q.explanation {
            out.push_str("\t####");
            out.push_str(&escape(e, false));
            out.push('\n');
        }
        out.push_str("}\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_any};
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn gift(src: &str) -> Parsed {
        parse_any(Format::Gift, src.as_bytes())
    }

    fn only_question(src: &str) -> RawQuestion {
        let parsed = gift(src);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.questions.len(), 1, "{:?}", parsed.questions);
        parsed
            .questions
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!())
    }

    fn flags(q: &RawQuestion) -> Vec<bool> {
        q.options.iter().map(|o| o.correct).collect()
    }

    fn texts(q: &RawQuestion) -> Vec<&str> {
        q.options.iter().map(|o| o.text.as_str()).collect()
    }

    #[test]
    fn multiple_choice_with_title_and_feedback_is_read() {
        let q = only_question(
            "// a comment\n::Q1:: Thủ đô của Việt Nam? {=Hà Nội#Đúng rồi ~Huế#Sai ~Đà Nẵng}\n",
        );
        assert_eq!(q.line, 2);
        assert_eq!(q.text, "Thủ đô của Việt Nam?");
        assert_eq!(texts(&q), vec!["Hà Nội", "Huế", "Đà Nẵng"]);
        assert_eq!(flags(&q), vec![true, false, false]);
        assert_eq!(q.kind, None);
    }

    #[test]
    fn escapes_are_unescaped() {
        let q = only_question(
            "Tính 1 \\= 1 \\~ 2 \\# \\{x\\} a\\:b\\nxuống dòng {=a\\=b ~c\\}d ~e\\\\f}",
        );
        assert_eq!(q.text, "Tính 1 = 1 ~ 2 # {x} a:b\nxuống dòng");
        assert_eq!(texts(&q), vec!["a=b", "c}d", "e\\f"]);
    }

    #[test]
    fn multi_line_questions_keep_their_lines() {
        let q = only_question(
            "::T::[html]Dòng một\ncòn dòng hai {\n  =Đúng\n  ~Sai # vì sao\n  ####Giải <b>thích</b> &amp; thêm\n}\n",
        );
        assert_eq!(q.text, "Dòng một\ncòn dòng hai");
        assert_eq!(texts(&q), vec!["Đúng", "Sai"]);
        assert_eq!(q.explanation.as_deref(), Some("Giải thích & thêm"));
    }

    #[test]
    fn weights_make_a_multiple_answer_question() {
        let q = only_question("Chọn số chẵn {\n~%50%2\n~%50%4\n~%-100%3\n~%-50%5\n}\n");
        assert_eq!(q.kind.as_deref(), Some("multiple"));
        assert_eq!(flags(&q), vec![true, true, false, false]);
        assert_eq!(texts(&q), vec!["2", "4", "3", "5"]);
    }

    #[test]
    fn an_equals_answer_makes_partial_weights_wrong_as_in_moodle() {
        let q = only_question("Q {=a ~%50%b ~c}");
        assert_eq!(q.kind, None);
        assert_eq!(flags(&q), vec![true, false, false]);
    }

    #[test]
    fn moodle_export_with_format_tags_on_answers_and_feedback_is_read() {
        let parsed = gift(
            "// question: 12  name: Q\n::Q::[html]<p>Thủ đô?</p>{\n\t=[html]<p>Hà&nbsp;Nội</p>#[html]<p>đúng</p>\n\t~[moodle]Huế\n\t####[html]<p>Vì</p>\n}\n\n// question: 13\n::E::[html]Viết bài{####[html]gợi ý}\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions[0];
        assert_eq!(q.text, "Thủ đô?");
        assert_eq!(texts(q), vec!["Hà Nội", "Huế"]);
        assert_eq!(q.explanation.as_deref(), Some("Vì"));
        assert_eq!(parsed.skipped.len(), 1);
        assert!(parsed.skipped[0].reason.contains("essay"));
    }

    #[test]
    fn true_false_in_every_spelling_becomes_dung_sai() {
        for (answer, truth) in [("T", true), ("F", false), ("TRUE", true), ("false", false)] {
            let q = only_question(&format!("Trái đất tròn? {{{answer}#fb####Vì thế}}"));
            assert_eq!(texts(&q), vec!["Đúng", "Sai"]);
            assert_eq!(flags(&q), vec![truth, !truth], "{answer}");
            assert_eq!(q.kind.as_deref(), Some("single"));
            assert_eq!(q.explanation.as_deref(), Some("Vì thế"));
        }
    }

    #[test]
    fn category_lines_set_the_last_path_segment() {
        let parsed = gift(
            "$CATEGORY: $course$/top/Pháp luật/Hiến pháp\n\nQ1 {=a ~b}\n\n$CATEGORY: $system$/Địa lý\n\nQ2 {=a ~b}\n\n$CATEGORY: a//b\n\nQ3 {=a ~b}\n\n$CATEGORY: $course$/top\n\nQ4 {=a ~b}\n",
        );
        let cats: Vec<Option<&str>> = parsed
            .questions
            .iter()
            .map(|q| q.category.as_deref())
            .collect();
        assert_eq!(
            cats,
            vec![Some("Hiến pháp"), Some("Địa lý"), Some("a/b"), None]
        );
    }

    #[test]
    fn difficulty_comment_before_the_text_is_read() {
        let q = only_question("// độ khó: Dễ\nQ {=a ~b}");
        assert_eq!(q.difficulty.as_deref(), Some("Dễ"));
        let q = only_question("// difficulty: hard\n// other\nQ {=a ~b}");
        assert_eq!(q.difficulty.as_deref(), Some("hard"));
    }

    #[test]
    fn every_kind_hoithi_cannot_run_is_skipped_with_its_name() {
        let parsed = gift(
            "Short {=Hà Nội =Ha Noi}\n\nNum {#2:0.5}\n\nMatch {=a -> 1 =b -> 2 =c -> 3}\n\nEssay {}\n\nJust a description.\n\nShort2 {=x}\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert!(parsed.questions.is_empty());
        let reasons: Vec<(usize, &str)> = parsed
            .skipped
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 6);
        assert!(reasons[0].1.contains("short answer") && reasons[0].0 == 1);
        assert!(reasons[0].1.contains("hoithi only runs multiple choice"));
        assert!(reasons[1].1.contains("numerical") && reasons[1].0 == 3);
        assert!(reasons[2].1.contains("matching"));
        assert!(reasons[3].1.contains("essay"));
        assert!(reasons[4].1.contains("description"));
        assert!(reasons[5].1.contains("short answer"));
    }

    #[test]
    fn missing_word_questions_are_multiple_choice_with_a_blank() {
        let q = only_question("Hà Nội là {=thủ đô ~thành phố cảng} của Việt Nam.");
        assert_eq!(q.text, "Hà Nội là _____ của Việt Nam.");
        assert_eq!(flags(&q), vec![true, false]);
    }

    #[test]
    fn broken_braces_and_titles_are_errors() {
        let parsed = gift(
            "Q1 {=a ~b\n\nQ2 } ok\n\n::T Q3 {=a ~b}\n\nQ4 {=a {~b}}\n\nQ5 {=a ~b} x {=c}\n\nQ6 {abc =a ~b}\n\nQ7 {=a ~ #fb}\n",
        );
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 3, 5, 7, 9, 11, 13]);
        assert!(parsed.errors[0].message.contains("not closed"));
        assert!(parsed.errors[2].message.contains("title"));
        assert!(parsed.errors[6].message.contains("option 2 is empty"));
        assert!(parsed.questions.is_empty());
    }

    #[test]
    fn nfd_input_comes_out_nfc() {
        let src: String = "$CATEGORY: Địa lý\n\nThủ đô? {=Hà Nội ~Huế}"
            .nfd()
            .collect();
        let q = only_question(&src);
        assert_eq!(q.text, "Thủ đô?");
        assert_eq!(q.options[0].text, "Hà Nội");
        assert_eq!(q.category.as_deref(), Some("Địa lý"));
    }

    #[test]
    fn export_round_trips_awkward_texts() {
        let bank = vec![
            RawQuestion {
                line: 0,
                text: "// not a comment {=x}\nline \\n two".into(),
                kind: Some("multiple".into()),
                options: vec![
                    RawOption {
                        text: "%50%a".into(),
                        correct: true,
                    },
                    RawOption {
                        text: "b -> c".into(),
                        correct: false,
                    },
                ],
                category: Some("/a//b/".into()),
                difficulty: Some("easy".into()),
                explanation: Some("x ####y".into()),
            },
            RawQuestion {
                line: 0,
                text: "[html]<b>".into(),
                kind: Some("single".into()),
                options: vec![
                    RawOption {
                        text: "[markdown]T".into(),
                        correct: false,
                    },
                    RawOption {
                        text: "F".into(),
                        correct: true,
                    },
                ],
                category: None,
                difficulty: None,
                explanation: Some("[HTML]x".into()),
            },
        ];
        let parsed = gift(&export_gift(&bank));
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let back: Vec<RawQuestion> = parsed
            .questions
            .into_iter()
            .map(|q| RawQuestion { line: 0, ..q })
            .collect();
        assert_eq!(back[0], bank[0]);
        assert_eq!(back[1].text, bank[1].text);
        assert_eq!(back[1].options, bank[1].options);
        assert_eq!(back[1].kind, None);
        assert_eq!(back[1].category, None);
        assert_eq!(back[1].explanation, bank[1].explanation);
    }
}
