//! Writes the seed inputs under fuzz/seeds/<target>/: small valid files of every format,
//! taken from the parsers' own tests and from hoithi's exporters (XLSX, CSV, GIFT), so
//! libFuzzer starts from inputs that already get past each parser's first checks.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`
//!
//! Inputs that once crashed a target live beside these (their names say what they broke) and
//! are left alone.

use std::io::Write;
use std::path::{Path, PathBuf};

use hoithi::questions::formats::{RawOption, RawQuestion, export_csv, export_gift, export_xlsx};

fn option(text: &str, correct: bool) -> RawOption {
    RawOption {
        text: text.to_owned(),
        correct,
    }
}

/// Three questions: single, multiple with an explanation, and one with awkward text.
fn bank() -> Vec<RawQuestion> {
    vec![
        RawQuestion {
            line: 0,
            text: "Thủ đô của Việt Nam là?".to_owned(),
            kind: Some("single".to_owned()),
            options: vec![
                option("Hà Nội", true),
                option("Huế", false),
                option("Đà Nẵng", false),
                option("TP. Hồ Chí Minh", false),
            ],
            category: Some("Địa lý".to_owned()),
            difficulty: Some("easy".to_owned()),
            explanation: None,
        },
        RawQuestion {
            line: 0,
            text: "Những ngày nào là ngày kỷ niệm dành cho phụ nữ?".to_owned(),
            kind: Some("multiple".to_owned()),
            options: vec![
                option("8/3", true),
                option("1/6", false),
                option("20/10", true),
            ],
            category: Some("Lịch sử Hội LHPN Việt Nam".to_owned()),
            difficulty: Some("Trung bình".to_owned()),
            explanation: Some(
                "8/3 là Ngày Quốc tế Phụ nữ,\n20/10 là Ngày Phụ nữ Việt Nam.".to_owned(),
            ),
        },
        RawQuestion {
            line: 0,
            text: "Tính 1 = 1 ~ 2 # {x}: \"a\";b".to_owned(),
            kind: None,
            options: vec![option("=SUM(A1)", false), option("-1", true)],
            category: None,
            difficulty: Some("khó".to_owned()),
            explanation: None,
        },
    ]
}

fn document_xml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}</w:body></w:document>"#
    )
}

/// A .docx holding only what the parser reads: `word/document.xml`.
fn docx(xml: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("[Content_Types].xml", options)
        .and_then(|()| zip.start_file("word/document.xml", options))
        .expect("zip entry");
    zip.write_all(xml.as_bytes()).expect("zip write");
    zip.finish().expect("zip finish").into_inner()
}

fn p(runs: &str) -> String {
    format!(
        "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>{runs}</w:p>"
    )
}

fn r(text: &str) -> String {
    format!("<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">{text}</w:t></w:r>")
}

/// Word's shapes: paragraphs, runs, entities, a tab, a table, a line break, a text box.
fn docx_body() -> String {
    [
        p(&r("ĐỀ THI")),
        "<w:p/>".to_owned(),
        p(&format!("{}{}", r("Câu "), r("1: Thủ đô &amp; &#8220;trái tim&#8221;?"))),
        p(&format!("{}<w:r><w:tab/></w:r>{}", r("A. Hà Nội"), r("B. Huế"))),
        format!(
            "<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}</w:tc></w:tr></w:tbl>",
            p(&r("C. Đà Nẵng")),
            p(&r("D. Vinh"))
        ),
        p(&format!("{}<w:r><w:br/></w:r>{}", r("Đáp án: A"), r("Giải thích: Vì &lt;thế&gt;"))),
        p(&format!(
            "<w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent>{}</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>{}</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>",
            p(&r("Ghi chú")),
            p(&r("Ghi chú"))
        )),
        p(&r("Câu 2: Những thành phố nào trực thuộc trung ương?")),
        p(&r("A) Hà Nội")),
        p(&r("B) Hải Phòng")),
        p(&r("Đáp án đúng: A, B")),
    ]
    .concat()
}

const TXT: &str = "ĐỀ THI TÌM HIỂU LỊCH SỬ\n\nCâu 1: Thủ đô của Việt Nam là?\nA. Hà Nội\nB. Huế\nC. Đà Nẵng\nD. TP. Hồ Chí Minh\nĐáp án: A\n\nCâu 2. Những thành phố nào trực thuộc trung ương?\nA) Hà Nội\nB) Hải Phòng\nC) Nam Định\nĐáp án đúng: A, B\n";

const TXT_FIELDS: &str = "câu hỏi 3: Theo\nC.Mác, điều nào\nđúng?\na/ Một\nhai dòng\nb. Ba\nĐA: b\nChủ đề: Triết học\nĐộ khó: Trung bình\nGiải thích: Vì\nnhư thế.\n\nGhi chú không thuộc câu nào.\n\n*C. z\tD. w\n";

const AIKEN: &str = "\u{feff}Thủ đô của Việt Nam là?\r\nA. Hà Nội\r\nB. Huế\r\nANSWER: A\r\n\r\nCâu hỏi\nhai dòng?\nA) x\nB) y\nC) z\nAnswer: C\n\nBa?\nA. 1\nB. 2\nĐáp án: B\n";

const AIKEN_ERRORS: &str = "No options\nANSWER: A\n\nBad letter\nA. x\nB. y\nANSWER: E\n\nNo answer\nA. x\nB. y\n\nGood\nA. x\nB. y\nANSWER: B\n";

const GIFT: &str = "// question: 12  name: Q\n::Q::[html]<p>Thủ đô?</p>{\n\t=[html]<p>Hà&nbsp;Nội</p>#[html]<p>đúng</p>\n\t~[moodle]Huế\n\t####[html]<p>Vì</p>\n}\n\n// question: 13\n::E::[html]Viết bài{####[html]gợi ý}\n\n$CATEGORY: $course$/top/Pháp luật/Hiến pháp\n\n// độ khó: Dễ\nChọn số chẵn {\n~%50%2\n~%50%4\n~%-100%3\n~%-50%5\n}\n\nTrái đất tròn? {T#fb####Vì thế}\n\nTính 1 \\= 1 \\~ 2 \\# \\{x\\} a\\:b\\nxuống dòng {=a\\=b ~c\\}d ~e\\\\f}\n";

const GIFT_SKIPPED: &str = "Short {=Hà Nội =Ha Noi}\n\nNum {#2:0.5}\n\nMatch {=a -> 1 =b -> 2 =c -> 3}\n\nEssay {}\n\nJust a description.\n\nHà Nội là {=thủ đô ~thành phố cảng} của Việt Nam.\n\nQ1 {=a ~b\n\nQ2 } ok\n\n::T Q3 {=a ~b}\n\nQ7 {=a ~ #fb}\n";

const JSON: &str = r#"{"questions": [{"text": " Thủ đô? ", "kind": "single", "options": [{"text": "Hà Nội", "correct": true}, {"text": "Huế", "correct": false}], "category": "Địa lý", "difficulty": "Dễ", "explanation": null, "id": 7}, {"text": "Q", "kind": "multiple", "options": [{"text": "a", "correct": true}, {"text": "b", "correct": true}, {"text": "c"}]}]}"#;

const JSON_ARRAY: &str = r#"[{"text": "Q", "options": [{"text": "a", "correct": true}, {"text": "b"}]}, {"options": []}, {"text": "Q", "options": [{"text": "a", "correct": "yes"}]}, 42]"#;

const CSV_SEMICOLON: &str = "Ngân hàng câu hỏi;;;\nCâu hỏi;Đáp án A;Đáp án B;Đáp án C;Đáp án đúng;Chủ đề;Độ khó;Giải thích\n\"Số nào lớn hơn?\";1,5;2,5;3;C;Toán;dễ;\"3 > 2,5\"\n\nHai dòng\n\"x\ny\";a;b;c;\"A,B\";;trung bình;\n";

const UNITS: &str = "\u{feff}code;name;parent_code;member_count\r\nHN;Hà Nội;;120000\r\nHN-BD;Ba Đình;HN;5.000\r\nHN-BD.1;Phường Điện Biên;HN-BD;1,200\r\n";

const UNITS_ERRORS: &str = "code,name,parent_code,member_count\nHN,Hà Nội,,10\nbad code,X,,1\nHN,Again,,1\nQN,,,-4\nB,b,A\nA,a,\nC,c,B\n";

const CONTEST: &str = r#"slug = "cuoc-thi-demo"
title = "Cuộc thi trực tuyến năm 2026"
description = "Mỗi tuần một vòng thi."
rules = """
1. Mỗi lượt thi gồm 20 câu.
"""
one_prize_per_person = true
published = true
questions = ["questions/*.csv"]

[[rounds]]
number = 1
title = "Tuần 1"
opens_at = "+0s"
closes_at = "+7d12h30m"
question_count = 20
time_limit_seconds = 900
max_attempts = 3
shuffle_options = true
categories = { "Kỹ năng số" = 5, "An toàn trên mạng" = 5 }
difficulties = { easy = 8, medium = 8, hard = 4 }
ranking = ["correct", "prediction", "duration", "submitted_at"]
prize_cap_percent = 10
[rounds.prediction]
prompt = "Theo bạn, tuần này sẽ có bao nhiêu lượt dự thi?"
target = "entries"
[[rounds.prizes]]
name = "Giải Nhất"
count = 1

[[rounds]]
number = 2
title = "Tuần 2"
opens_at = "2026-03-08T08:00:00+07:00"
closes_at = "-1h"
question_count = 10
time_limit_seconds = 600
[rounds.prediction]
prompt = "Bao nhiêu người?"
target = "participants"
"#;

const CONTEST_MINIMAL: &str = "slug = \"bench-file\"\ntitle = \"Đo tốc độ nhập\"\nquestions = []\n";

const TIMES: [&str; 6] = [
    "+7d12h30m",
    "-1h",
    "+0s",
    " +90m ",
    "2026-03-01T08:00:00+07:00",
    "2026-03-01T08:00:00.123456789Z",
];

/// One part of an exported workbook.
fn part(xlsx: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("xlsx is a zip");
    let mut file = archive.by_name(name).expect("exported workbooks have it");
    let mut xml = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut xml).expect("part");
    xml
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let bank = bank();
    let csv = export_csv(&bank);

    write(&seeds, "question_csv", "export.csv", &csv);
    write(
        &seeds,
        "question_csv",
        "semicolon.csv",
        CSV_SEMICOLON.as_bytes(),
    );
    let demo = include_str!("../../contests/cuoc-thi-demo/questions/lich-su-hoi-lhpn.csv");
    let demo: String = demo.lines().take(4).map(|l| format!("{l}\n")).collect();
    write(&seeds, "question_csv", "demo.csv", demo.as_bytes());
    write(&seeds, "question_csv", "utf16.csv", &utf16le(&demo));

    // question_xlsx_sheet puts the sheets it fuzzes into export.xlsx.
    for (name, bank) in [("export", &bank[..]), ("one", &bank[1..2])] {
        let xlsx = export_xlsx(bank).expect("xlsx");
        write(&seeds, "question_xlsx", &format!("{name}.xlsx"), &xlsx);
        let sheet = part(&xlsx, "xl/worksheets/sheet1.xml");
        write(
            &seeds,
            "question_xlsx_sheet",
            &format!("{name}.xml"),
            &sheet,
        );
        // The target's other shape: sheet, NUL, shared strings.
        let strings = part(&xlsx, "xl/sharedStrings.xml");
        let both = [&sheet[..], &[0], &strings[..]].concat();
        write(
            &seeds,
            "question_xlsx_sheet",
            &format!("{name}-strings.xml"),
            &both,
        );
    }

    for (name, body) in [("sample", docx_body()), ("short", p(&r("Câu 1: Q?")))] {
        let xml = document_xml(&body);
        write(
            &seeds,
            "question_docx",
            &format!("{name}.docx"),
            &docx(&xml),
        );
        write(
            &seeds,
            "question_docx_xml",
            &format!("{name}.xml"),
            xml.as_bytes(),
        );
    }

    write(&seeds, "question_gift", "moodle.gift", GIFT.as_bytes());
    write(
        &seeds,
        "question_gift",
        "skipped.gift",
        GIFT_SKIPPED.as_bytes(),
    );
    write(
        &seeds,
        "question_gift",
        "export.gift",
        export_gift(&bank).as_bytes(),
    );

    write(&seeds, "question_aiken", "sample.txt", AIKEN.as_bytes());
    write(
        &seeds,
        "question_aiken",
        "errors.txt",
        AIKEN_ERRORS.as_bytes(),
    );

    write(&seeds, "question_txt", "sample.txt", TXT.as_bytes());
    write(&seeds, "question_txt", "fields.txt", TXT_FIELDS.as_bytes());
    write(&seeds, "question_txt", "utf16.txt", &utf16le(TXT));

    write(&seeds, "question_json", "object.json", JSON.as_bytes());
    write(&seeds, "question_json", "array.json", JSON_ARRAY.as_bytes());

    write(&seeds, "units_csv", "semicolon.csv", UNITS.as_bytes());
    write(&seeds, "units_csv", "errors.csv", UNITS_ERRORS.as_bytes());

    for (i, time) in TIMES.iter().enumerate() {
        write(&seeds, "folder_time", &format!("time-{i}"), time.as_bytes());
    }

    write(&seeds, "contest_toml", "contest.toml", CONTEST.as_bytes());
    write(
        &seeds,
        "contest_toml",
        "minimal.toml",
        CONTEST_MINIMAL.as_bytes(),
    );
}
