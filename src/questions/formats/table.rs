//! Spreadsheet-shaped banks, shared by CSV and XLSX: recognising the header row (English or
//! Vietnamese names, any order), reading one question per row, and laying a bank out as rows.

use super::util::{
    check_answer_letters, clean, clean_opt, letter, letter_index, normalise_kind,
    parse_answer_letters,
};
use super::{LineError, Parsed, RawOption, RawQuestion};

/// Option columns `a` … `h`.
pub(crate) const MAX_OPTIONS: usize = 8;

/// How many non-blank rows may sit above the header (a sheet title, a note to candidates…).
const HEADER_SEARCH_ROWS: usize = 10;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    Text,
    Opt(usize),
    Correct,
    Category,
    Difficulty,
    Explanation,
    Kind,
}

/// A header cell as compared: NFC, lower case, single spaces, without a trailing colon or a
/// parenthesised hint such as "Đáp án đúng (A/B/C/D)".
fn header_key(cell: &str) -> String {
    let lower = clean(cell).to_lowercase();
    let without_hint = match lower.find('(') {
        Some(i) if i > 0 => lower.get(..i).unwrap_or(&lower),
        _ => &lower,
    };
    let bare = without_hint.trim().trim_end_matches([':', '*', '.', ')']);
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn classify(cell: &str) -> Option<Col> {
    let key = header_key(cell);
    let col = match key.as_str() {
        "text"
        | "question"
        | "question text"
        | "câu hỏi"
        | "nội dung câu hỏi"
        | "nội dung"
        | "đề bài" => Col::Text,
        "correct"
        | "correct answer"
        | "correct answers"
        | "answer"
        | "answers"
        | "key"
        | "đáp án đúng"
        | "đáp án"
        | "đáp án chính xác" => Col::Correct,
        "category" | "topic" | "chủ đề" | "lĩnh vực" | "danh mục" | "chuyên đề" => {
            Col::Category
        }
        "difficulty" | "level" | "độ khó" | "mức độ" | "cấp độ" => Col::Difficulty,
        "explanation" | "explain" | "giải thích" | "lời giải" => Col::Explanation,
        "kind" | "type" | "question type" | "loại" | "loại câu hỏi" | "dạng câu hỏi" => {
            Col::Kind
        }
        _ => return option_column(&key).map(Col::Opt),
    };
    Some(col)
}

fn option_column(key: &str) -> Option<usize> {
    [
        "",
        "option ",
        "đáp án ",
        "phương án ",
        "lựa chọn ",
        "choice ",
        "answer ",
    ]
    .iter()
    .find_map(|prefix| {
        let rest = key.strip_prefix(prefix)?;
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => letter_index(c).filter(|&i| i < MAX_OPTIONS),
            _ => None,
        }
    })
}

struct Header {
    /// What each cell position holds; `None` for ignored columns (STT, notes…).
    cols: Vec<Option<Col>>,
}

impl Header {
    fn new(cells: &[String]) -> Header {
        let mut cols: Vec<Option<Col>> = Vec::with_capacity(cells.len());
        for cell in cells {
            // A repeated column would make a row ambiguous: the first one wins.
            let col = classify(cell).filter(|c| !cols.contains(&Some(*c)));
            cols.push(col);
        }
        Header { cols }
    }

    fn has(&self, col: Col) -> bool {
        self.cols.contains(&Some(col))
    }

    fn option_columns(&self) -> usize {
        self.cols
            .iter()
            .filter(|c| matches!(c, Some(Col::Opt(_))))
            .count()
    }

    /// Required columns that are absent, as (Vietnamese name, English name).
    fn missing(&self) -> Vec<(&'static str, &'static str)> {
        let mut missing = Vec::new();
        if !self.has(Col::Text) {
            missing.push(("Câu hỏi", "text"));
        }
        if self.option_columns() < 2 {
            missing.push(("Đáp án A, Đáp án B…", "a, b…"));
        }
        if !self.has(Col::Correct) {
            missing.push(("Đáp án đúng", "correct"));
        }
        missing
    }
}

/// How many cells of a row read as known column names; CSV uses it to pick the separator.
pub(crate) fn header_score(cells: &[String]) -> usize {
    let header = Header::new(cells);
    header.cols.iter().flatten().count() + if header.has(Col::Text) { 10 } else { 0 }
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Rows as (row number, cells) → questions. The header is the first non-blank row, or a later
/// one among the first few if the sheet starts with a title.
pub(crate) fn parse_rows(rows: &[(usize, Vec<String>)]) -> Parsed {
    let mut parsed = Parsed::default();
    let candidates: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, (_, cells))| !is_blank(cells))
        .map(|(i, _)| i)
        .take(HEADER_SEARCH_ROWS)
        .collect();
    let Some(&first) = candidates.first() else {
        return parsed;
    };
    let found = candidates.iter().find_map(|&i| {
        let (_, cells) = rows.get(i)?;
        let header = Header::new(cells);
        header.missing().is_empty().then_some((i, header))
    });
    let Some((header_at, header)) = found else {
        let (line, cells) = rows.get(first).map_or((1, &[][..]), |(l, c)| (*l, &c[..]));
        let missing = Header::new(cells).missing();
        let vi: Vec<&str> = missing.iter().map(|(vi, _)| *vi).collect();
        let en: Vec<&str> = missing.iter().map(|(_, en)| *en).collect();
        parsed.errors.push(LineError {
            line,
            message: format!(
                "không tìm thấy dòng tiêu đề: thiếu cột {} (cần: Câu hỏi, Đáp án A…H, Đáp án đúng; tuỳ chọn: Chủ đề, Độ khó, Giải thích, Loại) / no header row: missing column {} (expected: text, a…h, correct; optional: category, difficulty, explanation, kind)",
                vi.join(", "),
                en.join(", ")
            ),
        });
        return parsed;
    };
    for (line, cells) in rows.iter().skip(header_at + 1) {
        match read_row(&header, *line, cells) {
            Row::Blank => {}
            Row::Question(q) => parsed.questions.push(q),
            Row::Errors(messages) => {
                parsed
                    .errors
                    .extend(messages.into_iter().map(|message| LineError {
                        line: *line,
                        message,
                    }))
            }
        }
    }
    parsed
}

enum Row {
    Blank,
    Question(RawQuestion),
    Errors(Vec<String>),
}

fn read_row(header: &Header, line: usize, cells: &[String]) -> Row {
    let mut text = String::new();
    let mut options: [Option<String>; MAX_OPTIONS] = Default::default();
    let mut correct = String::new();
    let mut category = None;
    let mut difficulty = None;
    let mut explanation = None;
    let mut kind_raw = String::new();
    let mut anything = false;
    for (col, cell) in header.cols.iter().zip(cells) {
        let Some(col) = col else { continue };
        let value = clean(cell);
        anything |= !value.is_empty();
        match col {
            Col::Text => text = value,
            Col::Opt(i) => {
                if let Some(slot) = options.get_mut(*i) {
                    *slot = Some(value).filter(|v| !v.is_empty());
                }
            }
            Col::Correct => correct = value,
            Col::Category => category = clean_opt(&value),
            Col::Difficulty => difficulty = clean_opt(&value),
            Col::Explanation => explanation = clean_opt(&value),
            Col::Kind => kind_raw = value,
        }
    }
    if !anything {
        return Row::Blank;
    }

    let mut errors = Vec::new();
    if text.is_empty() {
        errors.push(
            "thiếu nội dung câu hỏi (cột text / Câu hỏi) / the question text is empty".to_owned(),
        );
    }
    let filled = options
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |i| i + 1);
    if let Some(gap) = options.iter().take(filled).position(Option::is_none) {
        let after = options
            .iter()
            .skip(gap)
            .position(Option::is_some)
            .map_or(gap, |i| gap + i);
        errors.push(format!(
            "phương án {} trống nhưng phương án {} có nội dung / option {} is empty but option {} is filled",
            letter(gap),
            letter(after),
            letter(gap),
            letter(after)
        ));
    }
    let option_texts: Vec<String> = options.into_iter().take(filled).flatten().collect();
    let mut letters = Vec::new();
    if correct.is_empty() {
        errors.push(
            "thiếu đáp án đúng (cột correct / Đáp án đúng) / the correct answer is missing"
                .to_owned(),
        );
    } else {
        match parse_answer_letters(&correct)
            .and_then(|l| check_answer_letters(&l, option_texts.len()).map(|()| l))
        {
            Ok(l) => letters = l,
            Err(e) => errors.push(e),
        }
    }
    let kind = match normalise_kind(&kind_raw) {
        Ok(kind) => kind,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        return Row::Errors(errors);
    }
    Row::Question(RawQuestion {
        line,
        text,
        kind,
        options: option_texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| RawOption {
                text,
                correct: letters.contains(&i),
            })
            .collect(),
        category,
        difficulty,
        explanation,
    })
}

/// A bank as a header plus one row per question, the layout both CSV and XLSX exports use.
/// Option columns run to the widest question (at least `d`, so a template has room to grow);
/// options past `h` cannot be written, and hoithi banks never hold more than eight.
/// A `kind` column comes last so that a multiple-answer question with a single correct option
/// comes back as multiple.
pub(crate) fn export_rows(questions: &[RawQuestion]) -> (Vec<String>, Vec<Vec<String>>) {
    let width = questions
        .iter()
        .map(|q| q.options.len())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_OPTIONS);
    let mut header = vec!["text".to_owned()];
    header.extend((0..width).map(|i| letter(i).to_ascii_lowercase().to_string()));
    header.extend(["correct", "category", "difficulty", "explanation", "kind"].map(str::to_owned));
    let rows = questions
        .iter()
        .map(|q| {
            let mut row = Vec::with_capacity(header.len());
            row.push(q.text.clone());
            row.extend(
                (0..width).map(|i| q.options.get(i).map(|o| o.text.clone()).unwrap_or_default()),
            );
            let correct: Vec<String> = q
                .options
                .iter()
                .take(width)
                .enumerate()
                .filter(|(_, o)| o.correct)
                .map(|(i, _)| letter(i).to_string())
                .collect();
            row.push(correct.join(","));
            row.push(q.category.clone().unwrap_or_default());
            row.push(q.difficulty.clone().unwrap_or_default());
            row.push(q.explanation.clone().unwrap_or_default());
            row.push(export_kind(q).to_owned());
            row
        })
        .collect();
    (header, rows)
}

/// The kind a question is exported with: as given, else what the caller's rule would decide.
pub(crate) fn export_kind(q: &RawQuestion) -> &str {
    match q.kind.as_deref() {
        Some(kind) => kind,
        None if q.options.iter().filter(|o| o.correct).count() > 1 => "multiple",
        None => "single",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: usize, cells: &[&str]) -> (usize, Vec<String>) {
        (line, cells.iter().map(|c| (*c).to_owned()).collect())
    }

    #[test]
    fn vietnamese_header_aliases_are_recognised() {
        for (cell, col) in [
            ("Câu hỏi", Col::Text),
            ("Nội dung câu hỏi", Col::Text),
            (" ĐÁP ÁN A ", Col::Opt(0)),
            ("A)", Col::Opt(0)),
            ("Phương án D", Col::Opt(3)),
            ("Đáp án đúng", Col::Correct),
            ("Đáp án đúng (A/B/C/D)", Col::Correct),
            ("Chủ đề", Col::Category),
            ("Lĩnh vực", Col::Category),
            ("Độ khó", Col::Difficulty),
            ("Mức độ", Col::Difficulty),
            ("Giải thích", Col::Explanation),
            ("Loại", Col::Kind),
            ("H", Col::Opt(7)),
        ] {
            assert_eq!(classify(cell), Some(col), "{cell}");
        }
        assert_eq!(classify("STT"), None);
        assert_eq!(classify("I"), None);
    }

    #[test]
    fn a_title_row_above_the_header_is_passed_over() {
        let rows = vec![
            row(1, &["ĐỀ THI TÌM HIỂU PHÁP LUẬT", "", ""]),
            row(2, &["", "", ""]),
            row(3, &["STT", "Câu hỏi", "A", "B", "Đáp án đúng"]),
            row(4, &["1", "Hỏi?", "x", "y", "b"]),
        ];
        let parsed = parse_rows(&rows);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions.len(), 1);
        assert_eq!(parsed.questions[0].line, 4);
        assert!(parsed.questions[0].options[1].correct);
    }

    #[test]
    fn a_row_with_only_its_number_filled_is_blank() {
        let rows = vec![
            row(1, &["STT", "text", "a", "b", "correct"]),
            row(2, &["1", "", "", "", ""]),
        ];
        let parsed = parse_rows(&rows);
        assert!(parsed.errors.is_empty() && parsed.questions.is_empty());
    }
}
