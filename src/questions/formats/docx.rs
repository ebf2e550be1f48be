//! DOCX (Word) banks: the paragraphs of `word/document.xml` (table cells included) become
//! lines for the TXT parser, numbered by paragraph.
//!
//! Word's automatic list numbering is not part of a paragraph's text: options whose "A." comes
//! from a numbered list arrive without their letter and are not recognised. Organisers have to
//! type the letters themselves (or turn the list into text) — this is deliberately not guessed.

use super::txt::parse_lines;
use super::util::quote;
use super::{LineError, Parsed};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use std::io::{Cursor, Read};

/// A document.xml bigger than this is a zip bomb, not a question bank.
const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    // zip and quick-xml are third-party code fed whatever was uploaded; a panic in them must
    // become an error for this file, not take the request down.
    let lines = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_paragraphs(bytes)))
        .unwrap_or_else(|_| Err(unreadable("panic while unzipping")));
    match lines {
        Ok(lines) => parse_lines(&lines),
        Err(e) => Parsed::failed(e),
    }
}

fn unreadable(detail: &str) -> LineError {
    LineError {
        line: 1,
        message: format!(
            "không đọc được tệp DOCX (tệp .doc cũ hãy lưu lại dưới dạng .docx) / cannot read the DOCX file (save old .doc files as .docx): {}",
            quote(detail)
        ),
    }
}

fn read_paragraphs(bytes: &[u8]) -> Result<Vec<(usize, String)>, LineError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e.to_string()))?;
    let file = archive
        .by_name("word/document.xml")
        .map_err(|e| unreadable(&format!("word/document.xml: {e}")))?;
    let mut xml = Vec::new();
    file.take(MAX_XML_BYTES)
        .read_to_end(&mut xml)
        .map_err(|e| unreadable(&e.to_string()))?;
    let xml = std::str::from_utf8(&xml).map_err(|_| unreadable("word/document.xml: not UTF-8"))?;
    paragraphs(xml)
}

/// One line per `<w:p>` (its `<w:t>` runs joined; `<w:tab/>` → tab, which the TXT parser reads
/// as a space or an option separator; `<w:br/>` → a new line with the same paragraph number).
fn paragraphs(xml: &str) -> Result<Vec<(usize, String)>, LineError> {
    let mut reader = Reader::from_str(xml);
    let mut lines = Vec::new();
    let mut para = 0usize;
    let mut current: Option<String> = None;
    let mut in_run = false;
    let mut in_text = false;
    // Word stores text boxes twice: as DrawingML and, inside `mc:Fallback`, as VML.
    let mut fallback_depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| LineError {
            line: para.max(1),
            message: format!(
                "tệp DOCX hỏng (XML lỗi) / damaged DOCX (bad XML): {}",
                quote(&e.to_string())
            ),
        })?;
        match &event {
            Event::Start(e) if e.local_name().as_ref() == "Fallback" => {
                fallback_depth += 1;
                continue;
            }
            Event::End(e) if e.local_name().as_ref() == "Fallback" => {
                fallback_depth = fallback_depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ if fallback_depth > 0 => continue,
            _ => {}
        }
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                "p" => {
                    // A paragraph inside a paragraph (a text box): the outer text so far is
                    // its own line.
                    if let Some(open) = current.take() {
                        lines.push((para, open));
                    }
                    para += 1;
                    current = Some(String::new());
                }
                "r" => in_run = true,
                "t" => in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "p" => {
                    para += 1;
                    lines.push((para, String::new()));
                }
                // Tab stops in paragraph properties are also `w:tab`; only a run's is text.
                "tab" if in_run => push(&mut current, "\t"),
                "noBreakHyphen" if in_run => push(&mut current, "-"),
                "br" | "cr" if in_run => {
                    if let Some(text) = current.as_mut() {
                        lines.push((para, std::mem::take(text)));
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "p" => {
                    if let Some(done) = current.take() {
                        lines.push((para, done));
                    }
                }
                "r" => in_run = false,
                "t" => in_text = false,
                _ => {}
            },
            Event::Text(t) if in_text => push(&mut current, &t.xml10_content()),
            Event::CData(t) if in_text => push(&mut current, &t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                let name = r.xml10_content();
                match r.resolve_char_ref() {
                    Ok(Some(c)) => push(&mut current, c.encode_utf8(&mut [0; 4])),
                    _ => match resolve_predefined_entity(&name) {
                        Some(s) => push(&mut current, s),
                        None => push(&mut current, &format!("&{name};")),
                    },
                }
            }
            _ => {}
        }
    }
    if let Some(done) = current.take() {
        lines.push((para, done));
    }
    Ok(lines)
}

fn push(current: &mut Option<String>, s: &str) {
    if let Some(text) = current.as_mut() {
        text.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_any};
    use super::*;
    use std::io::Write;
    use unicode_normalization::UnicodeNormalization;
    use zip::write::SimpleFileOptions;

    fn docx(body: &str) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}</w:body></w:document>"#
        );
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let ok = zip
            .start_file("[Content_Types].xml", SimpleFileOptions::default())
            .and_then(|()| zip.start_file("word/document.xml", SimpleFileOptions::default()))
            .is_ok()
            && zip.write_all(xml.as_bytes()).is_ok();
        assert!(ok);
        zip.finish().map(Cursor::into_inner).unwrap_or_default()
    }

    fn p(runs: &str) -> String {
        format!(
            "<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>{runs}</w:p>"
        )
    }

    fn r(text: &str) -> String {
        format!("<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">{text}</w:t></w:r>")
    }

    #[test]
    fn word_paragraphs_runs_entities_and_tables_are_read() {
        let body = [
            p(&r("ĐỀ THI")),
            "<w:p/>".to_owned(),
            p(&format!(
                "{}{}",
                r("Câu "),
                r("1: Thủ đô &amp; &#8220;trái tim&#8221;?")
            )),
            p(&format!(
                "{}<w:r><w:tab/></w:r>{}",
                r("A. Hà Nội"),
                r("B. Huế")
            )),
            format!(
                "<w:tbl><w:tr><w:tc>{}</w:tc><w:tc>{}</w:tc></w:tr></w:tbl>",
                p(&r("C. Đà Nẵng")),
                p(&r("D. Vinh"))
            ),
            p(&format!(
                "{}<w:r><w:br/></w:r>{}",
                r("Đáp án: A"),
                r("Giải thích: Vì &lt;thế&gt;")
            )),
            p(&format!(
                "<w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent>{}</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>{}</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>",
                p(&r("Ghi chú")),
                p(&r("Ghi chú"))
            )),
            p(&r("Câu 2: Thiếu đáp án")),
            p(&r("A. x")),
            p(&r("B. y")),
        ]
        .concat();
        let parsed = parse_any(Format::Docx, &docx(&body));
        assert_eq!(parsed.questions.len(), 1, "{parsed:?}");
        let q = &parsed.questions[0];
        assert_eq!(q.line, 3);
        assert_eq!(q.text, "Thủ đô & “trái tim”?");
        let texts: Vec<&str> = q.options.iter().map(|o| o.text.as_str()).collect();
        assert_eq!(texts, vec!["Hà Nội", "Huế", "Đà Nẵng", "Vinh"]);
        assert!(q.options[0].correct);
        assert_eq!(q.explanation.as_deref(), Some("Vì <thế>"));
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 10);
        assert!(parsed.errors[0].message.contains("missing answer line"));
    }

    #[test]
    fn nfd_word_text_comes_out_nfc() {
        let body: String = [
            p(&r("Câu 1: Thủ đô?")),
            p(&r("A. Hà Nội")),
            p(&r("B. Huế")),
            p(&r("Đáp án: A")),
        ]
        .concat()
        .nfd()
        .collect();
        let parsed = parse_any(Format::Docx, &docx(&body));
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions[0].text, "Thủ đô?");
        assert_eq!(parsed.questions[0].options[0].text, "Hà Nội");
    }

    #[test]
    fn a_file_that_is_not_a_docx_is_one_error() {
        let parsed = parse_any(Format::Docx, "Câu 1: x".as_bytes());
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("DOCX"));
        let no_document = parse_any(Format::Docx, &{
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let _ = zip.start_file("other.xml", SimpleFileOptions::default());
            zip.finish().map(Cursor::into_inner).unwrap_or_default()
        });
        assert_eq!(no_document.errors.len(), 1);
        assert!(no_document.errors[0].message.contains("word/document.xml"));
    }

    #[test]
    fn broken_xml_is_an_error_not_a_panic() {
        let parsed = parse_any(Format::Docx, &docx(&format!("{}<w:p><w:r>", p(&r("x")))));
        assert_eq!(parsed.errors.len(), 1, "{parsed:?}");
    }
}
