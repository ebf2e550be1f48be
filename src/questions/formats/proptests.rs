//! Properties over every format: no input makes `parse` panic, and a bank exported as CSV,
//! XLSX or GIFT reads back as the same bank.

use super::util::clean;
use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Vietnamese and ASCII letters plus every character some format treats specially.
const CHARS: &str = r#"a-zA-Z0-9 àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐẮỆỨ=~#{}:;,"%/\\\[\]<>&*.()\-"#;

fn regex(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).unwrap()
}

/// Starts that some format could mistake for syntax: comments, titles, format tags, category
/// lines, weights, formulas, context names.
fn awkward_start() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just(""),
        1 => prop::sample::select(vec![
            "//", "::", "[html]", "[Plain]", "$CATEGORY:", "%50%", "%", "=", "-", "+", "@", "#",
            "~", "{", "}", "\\", "top", "$course$/", "/", "A. ", "Câu 1: ", "Đáp án: ", "ANSWER: ",
        ]),
    ]
}

fn single_line() -> impl Strategy<Value = String> {
    (awkward_start(), regex(&format!("[{CHARS}]{{1,30}}")))
        .prop_map(|(start, s)| clean(&format!("{start}{s}")))
        .prop_filter("non-empty after trimming", |s| !s.is_empty())
}

fn multi_line() -> impl Strategy<Value = String> {
    (awkward_start(), regex(&format!("[{CHARS}\\n]{{1,60}}")))
        .prop_map(|(start, s)| clean(&format!("{start}{s}")))
        .prop_filter("non-empty after trimming", |s| !s.is_empty())
}

fn question() -> impl Strategy<Value = RawQuestion> {
    let options = vec(single_line(), 2..=8).prop_filter("distinct options", |o| {
        o.iter()
            .enumerate()
            .all(|(i, t)| !o.iter().skip(i + 1).any(|u| u == t))
    });
    let difficulty = prop_oneof![Just("easy"), Just("medium"), Just("hard")].prop_map(String::from);
    (
        multi_line(),
        options,
        any::<bool>(),
        vec(any::<bool>(), 8),
        any::<Index>(),
        proptest::option::of(single_line()),
        proptest::option::of(difficulty),
        proptest::option::of(multi_line()),
    )
        .prop_map(
            |(text, options, multiple, flags, pick, category, difficulty, explanation)| {
                let n = options.len();
                let chosen = pick.index(n);
                let mut correct: Vec<bool> = if multiple {
                    flags.into_iter().take(n).collect()
                } else {
                    (0..n).map(|i| i == chosen).collect()
                };
                if !correct.contains(&true) {
                    correct[chosen] = true;
                }
                RawQuestion {
                    line: 0,
                    text,
                    kind: Some(if multiple { "multiple" } else { "single" }.to_owned()),
                    options: options
                        .into_iter()
                        .zip(correct)
                        .map(|(text, correct)| RawOption { text, correct })
                        .collect(),
                    category,
                    difficulty,
                    explanation,
                }
            },
        )
}

fn bank() -> impl Strategy<Value = Vec<RawQuestion>> {
    vec(question(), 1..=30)
}

/// A question as the caller sees it: `line` ignored, a missing kind replaced by the one its
/// number of correct options implies.
fn canonical(q: &RawQuestion) -> RawQuestion {
    let correct = q.options.iter().filter(|o| o.correct).count();
    let implied = if correct > 1 { "multiple" } else { "single" };
    RawQuestion {
        line: 0,
        kind: Some(q.kind.clone().unwrap_or_else(|| implied.to_owned())),
        ..q.clone()
    }
}

fn assert_round_trip(format: Format, bank: &[RawQuestion], bytes: &[u8]) {
    let parsed = parse(format, bytes);
    assert!(parsed.errors.is_empty(), "{format}: {:?}", parsed.errors);
    assert!(parsed.skipped.is_empty(), "{format}: {:?}", parsed.skipped);
    let back: Vec<RawQuestion> = parsed.questions.iter().map(canonical).collect();
    let want: Vec<RawQuestion> = bank.iter().map(canonical).collect();
    assert_eq!(back.len(), want.len(), "{format}");
    for (b, w) in back.iter().zip(&want) {
        assert_eq!(b, w, "{format}");
    }
}

/// Lines built from the pieces each text format reacts to, so random input gets past the
/// first check of every parser.
fn structured_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Câu 1: Hỏi?".to_owned()),
        Just("câu hỏi 2.".to_owned()),
        Just("1. x".to_owned()),
        Just("A. Hà Nội".to_owned()),
        Just("b) y".to_owned()),
        Just("*C. z\tD. w".to_owned()),
        Just("Đáp án: A, C".to_owned()),
        Just("ĐA: E".to_owned()),
        Just("ANSWER: B".to_owned()),
        Just("Giải thích: x".to_owned()),
        Just("Chủ đề: y".to_owned()),
        Just("::t:: Q {=a ~b#fb ####g}".to_owned()),
        Just("{~%50%a ~%-100%b}".to_owned()),
        Just("{T}".to_owned()),
        Just("{#1:2}".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("=a -> b".to_owned()),
        Just("$CATEGORY: $course$/top/a//b".to_owned()),
        Just("// difficulty: easy".to_owned()),
        Just("[html]<p>x</p>&amp;".to_owned()),
        Just("text;a;b;correct".to_owned()),
        Just("\"q\r\n\",x,\"y\"\"\",A".to_owned()),
        Just(
            r#"{"questions": [{"text": "q", "options": [{"text": "a", "correct": true}]}]}"#
                .to_owned()
        ),
        Just(String::new()),
        regex("\\PC{0,12}"),
        regex(&format!("[{CHARS}\\\\\\n\\t]{{0,20}}")),
    ];
    vec(piece, 0..40).prop_map(|lines| lines.join("\n"))
}

fn mutate(mut bytes: Vec<u8>, edits: &[(Index, u8)]) -> Vec<u8> {
    if !bytes.is_empty() {
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
    }
    bytes
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        for format in Format::ALL {
            let _ = parse(format, &bytes);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC*") {
        for format in Format::ALL {
            let _ = parse(format, text.as_bytes());
        }
    }

    #[test]
    fn format_shaped_text_never_panics(text in structured_text()) {
        for format in [Format::Csv, Format::Gift, Format::Aiken, Format::Json, Format::Txt] {
            let parsed = parse(format, text.as_bytes());
            for q in &parsed.questions {
                prop_assert_eq!(q.text.trim(), q.text.as_str());
            }
        }
    }

    #[test]
    fn damaged_xlsx_and_docx_never_panic(
        bank in vec(question(), 1..=3),
        edits in vec((any::<Index>(), any::<u8>()), 1..8),
    ) {
        let xlsx = export_xlsx(&bank).unwrap();
        let _ = parse(Format::Xlsx, &mutate(xlsx, &edits));
        let docx = docx_of(&export_gift(&bank));
        let _ = parse(Format::Docx, &mutate(docx, &edits));
    }

    #[test]
    fn csv_export_reads_back_the_same_bank(bank in bank()) {
        assert_round_trip(Format::Csv, &bank, &export_csv(&bank));
    }

    #[test]
    fn xlsx_export_reads_back_the_same_bank(bank in bank()) {
        assert_round_trip(Format::Xlsx, &bank, &export_xlsx(&bank).unwrap());
    }

    #[test]
    fn gift_export_reads_back_the_same_bank(bank in bank()) {
        assert_round_trip(Format::Gift, &bank, export_gift(&bank).as_bytes());
    }
}

/// A docx whose paragraphs are the lines of `text`, so damaged-zip tests reach the XML reader.
fn docx_of(text: &str) -> Vec<u8> {
    use std::io::Write;
    let body: String = text
        .lines()
        .map(|l| {
            let escaped = l
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<w:p><w:r><w:t xml:space=\"preserve\">{escaped}</w:t></w:r></w:p>")
        })
        .collect();
    let xml = format!(
        r#"<?xml version="1.0"?><w:document xmlns:w="urn:w"><w:body>{body}</w:body></w:document>"#
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}
