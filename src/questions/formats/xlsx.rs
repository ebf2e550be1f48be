//! XLSX banks: reading the first sheet with calamine (cells shown as Excel shows them, real
//! sheet row numbers) and the XLSX export with rust_xlsxwriter.

use super::table::{export_rows, parse_rows};
use super::{ExportError, LineError, Parsed, RawQuestion};
use calamine::{Data, DataRef, Reader, Xlsx, XlsxError, open_workbook_from_rs};
use quick_xml::events::Event;
use rust_xlsxwriter::{Format as CellFormat, Workbook};
use std::io::{BufReader, Cursor};

/// The most cells read from a sheet, counted over its used area (first to last non-empty
/// cell, as a rectangle): 100,000 questions of 14 columns fit. calamine's `worksheet_range`
/// allocates that rectangle before anything can look at it, so one cell at XFD1048576 asked
/// for 512 GiB and aborted the process; cells are read one by one here instead.
const MAX_CELLS: u64 = 1 << 22;

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

/// The most a workbook may expand to, over all its parts: a zip bomb (a few KiB that
/// inflate to gigabytes) is refused before anything is inflated. An honest bank of 100,000
/// questions is some tens of MiB unpacked.
const MAX_EXPANDED_BYTES: u64 = 256 * 1024 * 1024;

fn read_first_sheet(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, LineError> {
    check_expanded_size(bytes)?;
    check_shared_strings(bytes)?;
    let mut workbook: Xlsx<Cursor<&[u8]>> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: XlsxError| unreadable(&e.to_string()))?;
    let Some(name) = workbook.sheet_names().first().cloned() else {
        return Ok(Vec::new());
    };
    let mut reader = match workbook.worksheet_cells_reader(&name) {
        Ok(reader) => reader,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(&e.to_string())),
    };
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(&e.to_string()))? {
        if *cell.get_value() != DataRef::Empty {
            let text = cell_text(&Data::from(cell.get_value().clone()));
            cells.push((cell.get_position(), text));
        }
    }
    let rows = || cells.iter().map(|((row, _), _)| *row);
    let columns = || cells.iter().map(|((_, col), _)| *col);
    let (Some(first_row), Some(last_row), Some(first_col), Some(last_col)) =
        (rows().min(), rows().max(), columns().min(), columns().max())
    else {
        return Ok(Vec::new());
    };
    let height = u64::from(last_row - first_row) + 1;
    let width = u64::from(last_col - first_col) + 1;
    if height.saturating_mul(width) > MAX_CELLS {
        return Err(LineError {
            line: 1,
            message: format!(
                "trang tính quá lớn: dữ liệu trải trên {height} dòng × {width} cột (tối đa {MAX_CELLS} ô) / the sheet is too large: its cells span {height} rows × {width} columns (at most {MAX_CELLS} cells)"
            ),
        });
    }
    // Every row and column of the used area, blank ones included, as calamine's Range.
    let mut table: Vec<(usize, Vec<String>)> = (0..height as usize)
        .map(|i| {
            (
                first_row as usize + i + 1,
                vec![String::new(); width as usize],
            )
        })
        .collect();
    for ((row, col), text) in cells {
        let slot = table
            .get_mut((row - first_row) as usize)
            .and_then(|(_, cells)| cells.get_mut((col - first_col) as usize));
        if let Some(slot) = slot {
            *slot = text;
        }
    }
    Ok(table)
}

/// Adds up the sizes the zip's directory declares for its parts. A part that declares
/// little and inflates to more is not caught here; calamine's own zip reader would have to
/// stop it (not verified).
fn check_expanded_size(bytes: &[u8]) -> Result<(), LineError> {
    // A file the zip reader refuses is left to calamine to report.
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        if let Ok(file) = archive.by_index_raw(i) {
            total = total.saturating_add(file.size());
        }
    }
    if total > MAX_EXPANDED_BYTES {
        return Err(unreadable(&format!(
            "the workbook unpacks to {total} bytes, more than {MAX_EXPANDED_BYTES}"
        )));
    }
    Ok(())
}

/// calamine reserves room for as many strings as the shared-strings part's `uniqueCount`
/// says before reading one, so `uniqueCount="99999999999"` in a small file asked for 2.4 TB
/// and aborted the process. A count above MAX_CELLS can't belong to a sheet read here.
fn check_shared_strings(bytes: &[u8]) -> Result<(), LineError> {
    // A file the zip reader refuses is left to calamine to report.
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    for i in 0..archive.len() {
        let Ok(file) = archive.by_index(i) else {
            continue;
        };
        // calamine finds the part through the workbook's relationships: check every candidate.
        let candidate = file
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"));
        if !candidate {
            continue;
        }
        // Read as calamine reads it, so both stop at the same `<sst>` element.
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(file));
        let config = xml.config_mut();
        config.check_end_names = false;
        config.check_comments = false;
        config.expand_empty_elements = true;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf) {
                Ok(Event::Start(e)) if e.local_name().as_ref() == "sst" => {
                    let count = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == "uniqueCount");
                    if let Some(count) = count {
                        let small = count.value.parse::<u64>().is_ok_and(|n| n <= MAX_CELLS);
                        if !small {
                            return Err(unreadable(&format!(
                                "sharedStrings.xml: uniqueCount {} is more than {MAX_CELLS} strings",
                                count.value
                            )));
                        }
                    }
                    break;
                }
                Ok(Event::Eof) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    Ok(())
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
    fn a_cell_far_from_the_table_is_refused_not_allocated() {
        // calamine allocated the 1,048,576 × 16,384 rectangle up to this one cell, 512 GiB,
        // and the process aborted (fuzz/seeds/question_xlsx_sheet/far-cell.xml).
        let bytes = sheet(&[
            (0, 0, s("text")),
            (0, 1, s("a")),
            (0, 2, s("b")),
            (0, 3, s("correct")),
            (1, 0, s("Q")),
            (1, 1, s("x")),
            (1, 2, s("y")),
            (1, 3, s("A")),
            (1_048_575, 16_383, s("xa")),
        ]);
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert!(parsed.questions.is_empty());
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert!(
            parsed.errors[0]
                .message
                .contains("1048576 rows × 16384 columns")
        );
    }

    #[test]
    fn a_huge_shared_string_count_is_refused_not_allocated() {
        // calamine reserved room for uniqueCount strings up front: 2.4 TB, and an abort
        // (fuzz/seeds/question_xlsx/huge-unique-count.xlsx).
        use std::io::{Read, Write};
        let bytes = sheet(&[(0, 0, s("text")), (0, 1, s("a"))]);
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut file = archive.by_index(i).unwrap();
            let name = file.name().unwrap().into_owned();
            let mut xml = String::new();
            file.read_to_string(&mut xml).unwrap();
            if name == "xl/sharedStrings.xml" {
                xml = xml.replace(" uniqueCount=\"2\"", " uniqueCount=\"99999999999\"");
                assert!(xml.contains("99999999999"), "{xml}");
            }
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(xml.as_bytes()).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert!(parsed.errors[0].message.contains("uniqueCount 99999999999"));
    }

    #[test]
    fn a_workbook_that_unpacks_to_more_than_the_limit_is_refused_before_it_is_read() {
        use std::io::Write;
        // 300 MiB of one repeated byte deflates to a few hundred KiB: a small zip bomb.
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        out.start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true),
        )
        .unwrap();
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..300 {
            out.write_all(&block).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        assert!(bytes.len() < 2 * 1024 * 1024, "{}", bytes.len());
        let parsed = parse_any(Format::Xlsx, &bytes);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert!(
            parsed.errors[0].message.contains("unpacks to"),
            "{:?}",
            parsed.errors
        );
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
