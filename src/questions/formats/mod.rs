//! Question-bank file formats: reading CSV, XLSX, GIFT, Aiken, JSON, DOCX and TXT uploads into
//! [`RawQuestion`]s, and writing a bank back out as CSV, XLSX or GIFT.
//!
//! Parsing here only checks what the file itself says (shape, letters, braces); hoithi's own
//! rules (2–8 options, exactly one correct answer for a single-choice question, known
//! difficulty names…) are applied by the caller, so every format reports the same way.
//! Messages are written "Vietnamese / English" because organisers read them directly.

mod aiken;
mod csv;
mod docx;
mod gift;
mod json;
mod table;
mod txt;
mod util;
mod xlsx;

#[cfg(test)]
mod proptests;

pub use self::csv::export_csv;
pub use self::gift::export_gift;
pub use self::xlsx::export_xlsx;

/// The file formats hoithi can import (and, for CSV, XLSX and GIFT, export).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Gift,
    Aiken,
    Json,
    Docx,
    Txt,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Csv,
        Format::Xlsx,
        Format::Gift,
        Format::Aiken,
        Format::Json,
        Format::Docx,
        Format::Txt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Gift => "gift",
            Format::Aiken => "aiken",
            Format::Json => "json",
            Format::Docx => "docx",
            Format::Txt => "txt",
        }
    }

    /// Case-insensitive format name, as used in the API (`?format=csv`).
    pub fn parse(name: &str) -> Option<Format> {
        let name = name.trim();
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }

    /// Format from a file name's extension (case-insensitive); `None` for anything else.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(ext))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RawOption {
    pub text: String,
    pub correct: bool,
}

/// One question as written in a file, before hoithi's own validation (2–8 options, exactly one
/// correct for single, etc. are checked by the caller, NOT here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawQuestion {
    /// 1-based: text line where the question starts (GIFT/Aiken/TXT), row number (CSV/XLSX; the
    /// header is row 1, so the first question is row 2), paragraph number (DOCX), 1-based item
    /// index in the "questions" array (JSON).
    pub line: usize,
    pub text: String,
    /// "single"/"multiple" when the file says so (JSON `kind`, GIFT weights ⇒ "multiple");
    /// `None` ⇒ the caller decides from the number of correct options.
    pub kind: Option<String>,
    /// In file order.
    pub options: Vec<RawOption>,
    pub category: Option<String>,
    /// Raw text as written ("Dễ", "easy", "Trung bình"); the caller validates.
    pub difficulty: Option<String>,
    pub explanation: Option<String>,
}

/// A question the file holds but hoithi cannot run (short answer, essay…).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SkippedQuestion)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

/// A malformed question: where it starts and what is wrong, in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = QuestionError)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub questions: Vec<RawQuestion>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<LineError>,
}

impl Parsed {
    /// A file that could not be read at all: one error, no questions.
    pub fn failed(error: LineError) -> Self {
        Self {
            errors: vec![error],
            ..Self::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("không tạo được tệp XLSX / could not build the XLSX file: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Never panics, whatever the bytes. A file that can't be read at all (not UTF-8, not a zip,
/// broken JSON) gives one LineError (line 1 or the line the decoder reports).
///
/// A file in which nothing at all is found (no question, nothing skipped, no error) gets one
/// error at line 1 saying so, because an upload that silently imports nothing is always a
/// mistake on the organiser's side (wrong format picked, empty sheet…).
pub fn parse(format: Format, bytes: &[u8]) -> Parsed {
    let mut parsed = match format {
        Format::Csv => self::csv::parse(bytes),
        Format::Xlsx => self::xlsx::parse(bytes),
        Format::Gift => self::gift::parse(bytes),
        Format::Aiken => self::aiken::parse(bytes),
        Format::Json => self::json::parse(bytes),
        Format::Docx => self::docx::parse(bytes),
        Format::Txt => self::txt::parse(bytes),
    };
    if parsed.questions.is_empty() && parsed.skipped.is_empty() && parsed.errors.is_empty() {
        parsed.errors.push(LineError {
            line: 1,
            message: "không tìm thấy câu hỏi nào trong tệp / no questions found in the file"
                .to_owned(),
        });
    }
    // Stable, so several messages about one line keep the order they were found in.
    parsed.errors.sort_by_key(|e| e.line);
    parsed.skipped.sort_by_key(|s| s.line);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn format_names_round_trip_case_insensitively() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
            assert_eq!(Format::parse(&f.as_str().to_uppercase()), Some(f));
        }
        assert_eq!(Format::parse("xls"), None);
        assert_eq!(Format::parse(""), None);
    }

    #[test]
    fn format_is_found_from_the_file_extension() {
        assert_eq!(
            Format::from_path(Path::new("/tmp/ngân hàng.XLSX")),
            Some(Format::Xlsx)
        );
        assert_eq!(Format::from_path(Path::new("de.Gift")), Some(Format::Gift));
        assert_eq!(
            Format::from_path(Path::new("de.aiken")),
            Some(Format::Aiken)
        );
        assert_eq!(Format::from_path(Path::new("de.txt")), Some(Format::Txt));
        assert_eq!(Format::from_path(Path::new("de.doc")), None);
        assert_eq!(Format::from_path(Path::new("csv")), None);
        assert_eq!(Format::from_path(Path::new("de.")), None);
    }

    #[test]
    fn format_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&Format::Docx).unwrap_or_default(),
            "\"docx\""
        );
        let back: Format = serde_json::from_str("\"aiken\"").unwrap_or(Format::Csv);
        assert_eq!(back, Format::Aiken);
    }

    #[test]
    fn an_empty_upload_is_reported_instead_of_importing_nothing() {
        for f in Format::ALL {
            let parsed = parse(f, b"");
            assert!(parsed.questions.is_empty(), "{f}");
            assert_eq!(parsed.errors.len(), 1, "{f}: {:?}", parsed.errors);
            assert_eq!(parsed.errors[0].line, 1);
        }
    }
}
