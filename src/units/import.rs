//! Reading a units CSV (`code,name,parent_code,member_count`) and checking it as a tree
//! together with the units already stored. Pure: no I/O.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// One unit as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub line: u64,
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub member_count: i32,
}

/// A problem with one line of the file, in words an organiser understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

fn line_error(line: u64, message: impl Into<String>) -> LineError {
    LineError {
        line,
        message: message.into(),
    }
}

pub fn valid_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Parses the file. A UTF-8 BOM, `;` separators and CRLF line ends are accepted; the
/// header row names the columns (any order; `parent_code` and `member_count` optional).
pub fn parse(bytes: &[u8]) -> Result<Vec<UnitRow>, Vec<LineError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The csv reader counts a CRLF line end short when it reports line numbers; with LF
    // line ends the numbers are the ones an editor shows.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1;
        vec![line_error(
            line,
            "the file is not UTF-8 text; in Excel save it as \"CSV UTF-8\"",
        )]
    })?;
    let normalised = text.replace("\r\n", "\n");
    let bytes = normalised.as_bytes();
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| vec![line_error(1, format!("the header row cannot be read: {e}"))])?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(code_col), Some(name_col)) = (column("code"), column("name")) else {
        return Err(vec![line_error(
            1,
            "the header row must name the columns code,name,parent_code,member_count",
        )]);
    };
    let parent_col = column("parent_code");
    let count_col = column("member_count");

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(line_error(line, format!("unreadable line: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |col: Option<usize>| col.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let code = get(Some(code_col));
        let name: String = get(Some(name_col)).nfc().collect();
        let parent = get(parent_col);
        let count = get(count_col);
        if !valid_code(&code) {
            errors.push(line_error(
                line,
                format!("code `{code}` must be 1–64 letters, digits, dots, dashes or underscores"),
            ));
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), line) {
            errors.push(line_error(
                line,
                format!("code `{code}` already appears on line {first}"),
            ));
            continue;
        }
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(line_error(line, "name must be 1–200 characters"));
            continue;
        }
        // PostgreSQL text cannot hold NUL: the line is refused rather than the INSERT failing.
        if name.contains('\0') {
            errors.push(line_error(line, "name must not contain the NUL character"));
            continue;
        }
        let member_count = if count.is_empty() {
            0
        } else {
            match count.replace(['.', ','], "").parse::<i32>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    errors.push(line_error(
                        line,
                        format!("member_count `{count}` must be a whole number ≥ 0"),
                    ));
                    continue;
                }
            }
        };
        rows.push(UnitRow {
            line,
            code,
            name,
            parent_code: (!parent.is_empty()).then_some(parent),
            member_count,
        });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Checks the file against the stored tree (`existing`: code → parent code): every parent
/// must exist in one or the other, and no unit may end up its own ancestor.
pub fn check_tree(rows: &[UnitRow], existing: &HashMap<String, Option<String>>) -> Vec<LineError> {
    let mut parent_of: HashMap<&str, Option<&str>> = existing
        .iter()
        .map(|(c, p)| (c.as_str(), p.as_deref()))
        .collect();
    for row in rows {
        parent_of.insert(&row.code, row.parent_code.as_deref());
    }
    let mut errors = Vec::new();
    for row in rows {
        let Some(parent) = row.parent_code.as_deref() else {
            continue;
        };
        if !parent_of.contains_key(parent) {
            errors.push(line_error(
                row.line,
                format!("parent_code `{parent}` names no unit (in this file or already stored)"),
            ));
            continue;
        }
        // Walk up from the parent. Coming back to this unit is a cycle through it; meeting
        // another unit twice is a cycle above it, reported on that unit's own line.
        let mut visited = HashSet::new();
        let mut current = Some(parent);
        while let Some(code) = current {
            if code == row.code {
                errors.push(line_error(
                    row.line,
                    format!(
                        "unit `{}` would be its own ancestor (through `{parent}`)",
                        row.code
                    ),
                ));
                break;
            }
            if !visited.insert(code) {
                break;
            }
            current = parent_of.get(code).copied().flatten();
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_semicolons_and_crlf_is_read() {
        let file = "\u{feff}code;name;parent_code;member_count\r\nHN;Hà Nội;;120000\r\nHN-BD;Ba Đình;HN;5.000\r\n";
        let rows = parse(file.as_bytes()).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].parent_code.as_deref(), Some("HN"));
        assert_eq!(rows[1].member_count, 5000);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn bad_lines_are_reported_by_line() {
        let file = "code,name,parent_code,member_count\nHN,Hà Nội,,10\nbad code,X,,1\nHN,Again,,1\nQN,,,-4\n";
        let errors = parse(file.as_bytes()).expect_err("invalid");
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
    }

    #[test]
    fn a_name_holding_nul_is_refused_by_its_line() {
        let errors = parse(b"code,name\nHN,H\0N\n").expect_err("NUL");
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("NUL"), "{}", errors[0].message);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_advice() {
        let errors = parse(b"code,name\nHN,H\xe0 N\xf4i\n").expect_err("not UTF-8");
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].message.contains("UTF-8"));
    }

    #[test]
    fn missing_header_columns_are_reported() {
        assert!(parse(b"ma,ten\nHN,Ha Noi\n").is_err());
    }

    #[test]
    fn unknown_parent_is_reported() {
        let rows = parse(b"code,name,parent_code\nA,a,NOPE\n").expect("valid");
        let errors = check_tree(&rows, &HashMap::new());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("NOPE"));
    }

    #[test]
    fn parent_may_come_later_in_the_file_or_from_the_database() {
        let rows = parse(b"code,name,parent_code\nB,b,A\nA,a,\nC,c,STORED\n").expect("valid");
        let existing = HashMap::from([("STORED".to_owned(), None)]);
        assert!(check_tree(&rows, &existing).is_empty());
    }

    #[test]
    fn a_unit_below_a_cycle_is_not_blamed_for_it() {
        let rows = parse(b"code,name,parent_code\nA,a,B\nB,b,A\nC,c,A\n").expect("valid");
        let lines: Vec<u64> = check_tree(&rows, &HashMap::new())
            .iter()
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn cycles_are_reported_even_through_stored_units() {
        let rows = parse(b"code,name,parent_code\nA,a,B\n").expect("valid");
        // Stored: B's parent is A. The file makes A's parent B.
        let existing = HashMap::from([
            ("B".to_owned(), Some("A".to_owned())),
            ("A".to_owned(), None),
        ]);
        let errors = check_tree(&rows, &existing);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 2);
    }
}
