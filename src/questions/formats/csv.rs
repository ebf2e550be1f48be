//! CSV banks: reading (BOM, `,` / `;` / tab separators, CRLF, quoted newlines) and the CSV
//! export (UTF-8 with BOM so Excel shows Vietnamese).

use super::table::{export_rows, header_score, parse_rows};
use super::util::decode_text;
use super::{LineError, Parsed, RawQuestion};

/// Candidate separators, in order of preference when they score the same.
const SEPARATORS: [u8; 3] = [b',', b';', b'\t'];

/// How many leading records are looked at to choose the separator (a title row may come first).
const SNIFF_RECORDS: usize = 10;

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let text = match decode_text(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Parsed::failed(e);
        }
    };
    let separator = sniff_separator(&text);
    match read_rows(&text, separator) {
        Ok(rows) => parse_rows(&rows),
        Err(e) => Parsed::failed(e),
    }
}

fn reader(text: &str, separator: u8) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator)
        .from_reader(text.as_bytes())
}

/// Excel saves `;`-separated CSV where the decimal mark is a comma (Vietnamese locale), so the
/// separator is whichever one turns the header into the most known column names.
fn sniff_separator(text: &str) -> u8 {
    let mut best = (0, b',');
    for sep in SEPARATORS {
        let score = reader(text, sep)
            .records()
            .take(SNIFF_RECORDS)
            .flatten()
            .map(|r| header_score(&r.iter().map(str::to_owned).collect::<Vec<_>>()))
            .max()
            .unwrap_or(0);
        if score > best.0 {
            best = (score, sep);
        }
    }
    best.1
}

/// Records with the row number Excel would show: one row per record however many lines its
/// quoted cells span, plus one per blank line (which the csv crate skips silently).
fn read_rows(text: &str, separator: u8) -> Result<Vec<(usize, Vec<String>)>, LineError> {
    let mut rows = Vec::new();
    let mut row = 0usize;
    for record in reader(text, separator).records() {
        let record = record.map_err(|e| LineError {
            line: e.position().map_or(row + 1, |p| p.line() as usize),
            message: format!("tệp CSV bị lỗi / broken CSV file: {e}"),
        })?;
        // A record's position is where the reader stood before it, i.e. before any blank
        // lines it skipped on the way.
        let start = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        let blank_lines = text
            .as_bytes()
            .get(start..)
            .map_or(0, |rest| rest.iter().take_while(|&&c| c == b'\n').count());
        row += 1 + blank_lines;
        rows.push((row, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

/// Keeps Excel from running a cell as a formula (CSV injection). A leading tab is shown as
/// blank space and, since every imported cell is trimmed, re-importing gives the text back.
fn defuse(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err();
    if risky {
        format!("\t{cell}")
    } else {
        cell.to_owned()
    }
}

/// The bank as CSV: UTF-8 with BOM, comma separated, CRLF, header
/// `text,a,b,c,d[,e…h],correct,category,difficulty,explanation,kind`.
pub fn export_csv(questions: &[RawQuestion]) -> Vec<u8> {
    let (header, rows) = export_rows(questions);
    let mut out = vec![0xEF, 0xBB, 0xBF];
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(&mut out);
    // Writing to a Vec cannot fail, and every record has the header's width; were either ever
    // untrue the rest of the rows would still be attempted rather than panicking.
    let _ = writer.write_record(&header);
    for row in rows {
        let _ = writer.write_record(row.iter().map(|c| defuse(c)));
    }
    let _ = writer.flush();
    drop(writer);
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Format, RawOption, parse as parse_any};
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    fn questions(bytes: &[u8]) -> Vec<RawQuestion> {
        let parsed = parse_any(Format::Csv, bytes);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.questions
    }

    #[test]
    fn comma_separated_csv_with_english_headers_is_read() {
        let q = questions(b"text,a,b,c,d,correct,category,difficulty,explanation\nCapital?,Hanoi,Hue,,,A,Geo,easy,Because\n");
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].line, 2);
        assert_eq!(q[0].text, "Capital?");
        assert_eq!(
            q[0].options,
            vec![
                RawOption {
                    text: "Hanoi".into(),
                    correct: true
                },
                RawOption {
                    text: "Hue".into(),
                    correct: false
                },
            ]
        );
        assert_eq!(q[0].category.as_deref(), Some("Geo"));
        assert_eq!(q[0].difficulty.as_deref(), Some("easy"));
        assert_eq!(q[0].explanation.as_deref(), Some("Because"));
        assert_eq!(q[0].kind, None);
    }

    #[test]
    fn semicolon_separated_csv_with_bom_is_read() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(
            "STT;Câu hỏi;Đáp án A;Đáp án B;Đáp án C;Đáp án đúng;Độ khó\r\n1;Thủ đô, của Việt Nam?;Hà Nội;Huế;Đà Nẵng;a;Dễ\r\n"
                .as_bytes(),
        );
        let q = questions(&bytes);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].text, "Thủ đô, của Việt Nam?");
        assert_eq!(q[0].options.len(), 3);
        assert!(q[0].options[0].correct);
        assert_eq!(q[0].difficulty.as_deref(), Some("Dễ"));
    }

    #[test]
    fn tab_separated_csv_is_read() {
        let q = questions("Câu hỏi\tA\tB\tĐáp án đúng\nHỏi?\tx\ty\tB\n".as_bytes());
        assert!(q[0].options[1].correct);
    }

    #[test]
    fn quoted_fields_keep_newlines_and_doubled_quotes_and_rows_count_like_excel() {
        let csv =
            "text,a,b,correct\r\n\"Dòng 1\r\ndòng \"\"2\"\"\",x,y,B\r\n\r\nHỏi,\"p\nq\",r,A\r\n";
        let q = questions(csv.as_bytes());
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].text, "Dòng 1\ndòng \"2\"");
        assert_eq!(q[0].line, 2);
        // Row 3 is the blank line; the multi-line cell above still counts as one row.
        assert_eq!(q[1].line, 4);
        assert_eq!(q[1].options[0].text, "p\nq");
    }

    #[test]
    fn multiple_correct_letters_in_every_spelling_are_read() {
        for correct in ["\"A,C\"", "\"A, C\"", "A;C", "AC", "ac", "c a"] {
            let csv = format!("text,a,b,c,correct\nQ,x,y,z,{correct}\n");
            let q = questions(csv.as_bytes());
            let flags: Vec<bool> = q[0].options.iter().map(|o| o.correct).collect();
            assert_eq!(flags, vec![true, false, true], "{correct}");
        }
    }

    #[test]
    fn kind_column_is_read_and_checked() {
        let q = questions(b"text,a,b,correct,kind\nQ,x,y,A,multiple\nR,x,y,B,\n");
        assert_eq!(q[0].kind.as_deref(), Some("multiple"));
        assert_eq!(q[1].kind, None);
        let parsed = parse_any(Format::Csv, b"text,a,b,correct,kind\nQ,x,y,A,essay\n");
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("kind"));
    }

    #[test]
    fn blank_rows_are_ignored_but_gaps_and_bad_letters_are_errors() {
        let csv = "text,a,b,c,d,correct\n,,,,,\nQ1,x,,z,,A\nQ2,x,y,,,C\nQ3,x,y,,,\n,x,y,,,A\nQ5,x,y,,,A\n";
        let parsed = parse_any(Format::Csv, csv.as_bytes());
        assert_eq!(parsed.questions.len(), 1);
        assert_eq!(parsed.questions[0].line, 7);
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(
            parsed.errors[0]
                .message
                .contains("option B is empty but option C")
        );
        assert_eq!(
            parsed.errors[1].message,
            "đáp án C không có trong các phương án A–B / answer C is not one of the options A–B"
        );
        assert!(
            parsed.errors[2]
                .message
                .contains("correct answer is missing")
        );
        assert!(parsed.errors[3].message.contains("question text is empty"));
    }

    #[test]
    fn missing_text_header_is_one_error_on_line_1() {
        let parsed = parse_any(Format::Csv, b"question_text,a,b,correct\nQ,x,y,A\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 1);
        assert!(parsed.errors[0].message.contains("missing column text ("));
        let no_options = parse_any(Format::Csv, b"text,correct\nQ,A\n");
        assert_eq!(no_options.errors.len(), 1);
        assert!(no_options.errors[0].message.contains("a, b"));
    }

    #[test]
    fn nfd_cells_come_out_nfc() {
        let nfd: String = "Câu hỏi,A,B,Đáp án đúng\nThủ đô?,Hà Nội,Huế,A\n"
            .nfd()
            .collect();
        let q = questions(nfd.as_bytes());
        assert_eq!(q[0].text, "Thủ đô?");
        assert_eq!(q[0].options[0].text, "Hà Nội");
    }

    #[test]
    fn non_utf8_csv_is_one_error() {
        let parsed = parse_any(Format::Csv, b"text,a,b,correct\nQ,\xe0,y,A\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert!(parsed.errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn export_has_bom_header_and_guards_formulas() {
        let q = RawQuestion {
            line: 0,
            text: "=1+1".into(),
            kind: Some("single".into()),
            options: vec![
                RawOption {
                    text: "-5".into(),
                    correct: true,
                },
                RawOption {
                    text: "@x, \"y\"".into(),
                    correct: false,
                },
            ],
            category: None,
            difficulty: Some("easy".into()),
            explanation: None,
        };
        let bytes = export_csv(std::slice::from_ref(&q));
        let text = String::from_utf8(bytes.clone()).unwrap_or_default();
        assert!(
            text.starts_with(
                "\u{feff}text,a,b,c,d,correct,category,difficulty,explanation,kind\r\n"
            )
        );
        assert!(text.contains("\t=1+1,-5,"));
        let back = questions(&bytes);
        assert_eq!(back[0].text, q.text);
        assert_eq!(back[0].options, q.options);
        assert_eq!(back[0].kind, q.kind);
    }

    #[test]
    fn ten_thousand_rows_are_parsed() {
        let mut csv = String::from("text,a,b,c,d,correct,category,difficulty\n");
        for i in 0..10_000 {
            csv.push_str(&format!(
                "Câu hỏi số {i}: điều nào đúng?,Phương án {i}a,Phương án {i}b,\"Có dấu, phẩy\",Khác,{},Luật,Dễ\n",
                ["A", "B", "C", "D"][i % 4]
            ));
        }
        let q = questions(csv.as_bytes());
        assert_eq!(q.len(), 10_000);
        assert_eq!(q[9_999].line, 10_001);
        assert!(q[9_999].options[3].correct);
        assert_eq!(q[42].options[2].text, "Có dấu, phẩy");
    }
}
