//! XLSX banks: reading the first sheet with calamine (cells shown as Excel shows them, real
//! sheet row numbers) and the XLSX export with rust_xlsxwriter.

use super::table::{export_rows, parse_rows};
use super::{ExportError, LineError, Parsed, RawQuestion};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use rust_xlsxwriter::{Format as CellFormat, Workbook};
use std::io::Cursor;

pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    // calamine is third-party code fed whatever was uploaded; a panic deep in it must become an
    // error for this file, not take the request down.
    let rows = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_first_sheet(bytes)))
        .unwrap_or_else(|_| Err(unreadable("calamine panicked")));
    match rows {
        Ok(rows) => parse_rows(&rows),
        Err(e) => Parsed::failed(e),
    }
}

fn unreadable(detail: &str) -> LineError {
    LineError {
        line: 1,
        message: format!(
            "không đọc được tệp XLSX (tệp .xls cũ hãy lưu lại dưới dạng .xlsx) / cannot read the XLSX file (save old .xls files as .xlsx): {}",
            super::util::quote(detail)
        ),
    }
}

fn read_first_sheet(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, LineError> {
    let mut workbook: Xlsx<Cursor<&[u8]>> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| unreadable(&e.to_string()))?;
    let range = match workbook.worksheet_range_at(0) {
        None => return Ok(Vec::new()),
        Some(Err(e)) => return Err(unreadable(&e.to_string())),
        Some(Ok(range)) => range,
    };
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| (first_row + i + 1, cells.iter().map(cell_text).collect()))
        .collect())
}

/// A cell as Excel displays it in the General format: `2024`, not `2024.0`; `0.3`, not
/// `0.30000000000000004`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(true) => "TRUE".to_owned(),
        Data::Bool(false) => "FALSE".to_owned(),
        Data::DateTime(d) if d.is_datetime() => date_text(d.as_f64()),
        Data::DateTime(d) => float_text(d.as_f64()),
        other => other.to_string(),
    }
}

/// An Excel date serial as a Vietnamese reader expects it: `dd/mm/yyyy`, with `hh:mm` when
/// there is a time of day. Excel turns typed answers such as "1/5" into dates, and the
/// organiser should see a date back, not 45413.
fn date_text(serial: f64) -> String {
    if !(0.0..=2_958_465.0).contains(&serial) {
        return float_text(serial);
    }
    let days = serial.floor();
    let seconds = ((serial - days) * 86_400.0).round() as i64;
    let (hh, mm, ss) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let time = match (hh, mm, ss) {
        (0, 0, 0) => String::new(),
        (_, _, 0) => format!("{hh:02}:{mm:02}"),
        _ => format!("{hh:02}:{mm:02}:{ss:02}"),
    };
    if days < 1.0 {
        return time;
    }
    // Serial 25569 is 1970-01-01 (Excel counts from 1899-12-30).
    let (y, m, d) = civil_from_days(days as i64 - 25_569);
    let date = format!("{d:02}/{m:02}/{y}");
    if time.is_empty() {
        date
    } else {
        format!("{date} {time}")
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn float_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let magnitude = f.abs();
    if f.fract() == 0.0 && magnitude < 1e15 {
        return format!("{f:.0}");
    }
    if !(1e-5..1e15).contains(&magnitude) {
        return f.to_string();
    }
    // Excel keeps 15 significant digits.
    let int_digits = magnitude.log10().floor() as i32 + 1;
    let decimals = usize::try_from((15 - int_digits).clamp(0, 15)).unwrap_or(0);
    let fixed = format!("{f:.decimals$}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_owned()
}

/// The bank as an XLSX workbook: one sheet, the same columns as the CSV export, bold header.
pub fn export_xlsx(questions: &[RawQuestion]) -> Result<Vec<u8>, ExportError> {
    let (header, rows) = export_rows(questions);
    let mut workbook = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let wrap = CellFormat::new().set_text_wrap();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Câu hỏi")?;
    for (col, name) in header.iter().enumerate() {
        let col =
            u16::try_from(col).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        sheet.write_string_with_format(0, col, name, &bold)?;
        let width = match name.as_str() {
            "text" | "explanation" => 50.0,
            "correct" | "difficulty" | "kind" => 10.0,
            _ => 20.0,
        };
        sheet.set_column_width(col, width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r =
            u32::try_from(r + 1).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        for (col, value) in row.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            let col =
                u16::try_from(col).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
            if value.contains('\n') {
                sheet.write_string_with_format(r, col, value, &wrap)?;
            } else {
                sheet.write_string(r, col, value)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::super::{Format, RawOption, parse as parse_any};
    use super::*;

    fn sheet(cells: &[(u32, u16, Data)]) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (r, c, value) in cells {
            let result = match value {
                Data::String(s) => sheet.write_string(*r, *c, s).map(|_| ()),
                Data::Float(f) => sheet.write_number(*r, *c, *f).map(|_| ()),
                Data::Bool(b) => sheet.write_boolean(*r, *c, *b).map(|_| ()),
                _ => Ok(()),
            };
            assert!(result.is_ok());
        }
        workbook.save_to_buffer().unwrap_or_default()
    }

    fn s(text: &str) -> Data {
        Data::String(text.to_owned())
    }

    #[test]
    fn xlsx_with_vietnamese_headers_and_number_cells_is_read() {
        let bytes = sheet(&[
            (0, 0, s("STT")),
            (0, 1, s("Nội dung câu hỏi")),
            (0, 2, s("Phương án A")),
            (0, 3, s("Phương án B")),
            (0, 4, s("Phương án C")),
            (0, 5, s("Đáp án đúng")),
            (0, 6, s("Lĩnh vực")),
            (1, 0, Data::Float(1.0)),
            (1, 1, s("Năm nào?")),
            (1, 2, Data::Float(2024.0)),
            (1, 3, Data::Float(0.1 + 0.2)),
            (1, 4, Data::Bool(true)),
            (1, 5, s("a, c")),
            (1, 6, s("  ")),
        ]);
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let q = &parsed.questions[0];
        assert_eq!(q.line, 2);
        let texts: Vec<&str> = q.options.iter().map(|o| o.text.as_str()).collect();
        assert_eq!(texts, vec!["2024", "0.3", "TRUE"]);
        let flags: Vec<bool> = q.options.iter().map(|o| o.correct).collect();
        assert_eq!(flags, vec![true, false, true]);
        assert_eq!(q.category, None);
    }

    #[test]
    fn rows_keep_their_sheet_numbers_when_the_table_starts_lower() {
        let bytes = sheet(&[
            (3, 2, s("text")),
            (3, 3, s("a")),
            (3, 4, s("b")),
            (3, 5, s("correct")),
            (4, 2, s("Q1")),
            (4, 3, s("x")),
            (4, 4, s("y")),
            (4, 5, s("B")),
            (6, 2, s("Q2")),
            (6, 3, s("x")),
            (6, 5, s("B")),
        ]);
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert_eq!(parsed.questions.len(), 1);
        assert_eq!(parsed.questions[0].line, 5);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 7);
    }

    #[test]
    fn export_then_import_gives_the_bank_back() {
        let bank = vec![RawQuestion {
            line: 0,
            text: "Dòng 1\nDòng 2 = {x}".into(),
            kind: Some("multiple".into()),
            options: vec![
                RawOption {
                    text: "=SUM(A1)".into(),
                    correct: true,
                },
                RawOption {
                    text: "0123".into(),
                    correct: false,
                },
            ],
            category: Some("Pháp luật".into()),
            difficulty: Some("hard".into()),
            explanation: Some("Vì thế".into()),
        }];
        let bytes = export_xlsx(&bank).unwrap_or_default();
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let mut back = parsed.questions;
        back[0].line = 0;
        assert_eq!(back, bank);
    }

    #[test]
    fn bytes_that_are_not_a_workbook_are_one_error() {
        let parsed = parse_any(Format::Xlsx, b"text,a,b,correct\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 1);
        assert!(parsed.errors[0].message.contains("XLSX"));
    }

    #[test]
    fn date_cells_read_as_vietnamese_dates() {
        assert_eq!(date_text(45_413.0), "01/05/2024");
        assert_eq!(date_text(45_413.5), "01/05/2024 12:00");
        assert_eq!(date_text(0.75), "18:00");
        assert_eq!(date_text(25_569.0), "01/01/1970");
    }

    #[test]
    fn a_date_typed_into_a_sheet_comes_back_as_a_date() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 5, 1).unwrap();
        let format = CellFormat::new().set_num_format("dd/mm/yyyy");
        for (c, h) in ["text", "a", "b", "correct"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "Ngày nào?").unwrap();
        sheet
            .write_datetime_with_format(1, 1, &date, &format)
            .unwrap();
        sheet.write_string(1, 2, "Khác").unwrap();
        sheet.write_string(1, 3, "A").unwrap();
        let parsed = parse_any(Format::Xlsx, &workbook.save_to_buffer().unwrap());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.questions[0].options[0].text, "01/05/2024");
    }

    #[test]
    fn floats_are_shown_like_excel() {
        assert_eq!(float_text(2024.0), "2024");
        assert_eq!(float_text(-3.0), "-3");
        assert_eq!(float_text(2.71), "2.71");
        assert_eq!(float_text(0.1 + 0.2), "0.3");
        assert_eq!(float_text(1e20), "100000000000000000000");
    }
}
