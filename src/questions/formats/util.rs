//! Helpers every format shares: text cleaning (LF, NFC, trim), decoding uploaded text files,
//! answer letters ("A, C"), kind names, keyword matching and short quotes for messages.

use super::LineError;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Longest piece of the organiser's input quoted back in a message.
const QUOTE_CHARS: usize = 60;

/// NFC of `s`, without rebuilding the (usual) strings that already are.
fn nfc(s: String) -> String {
    if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        s
    } else {
        s.nfc().collect()
    }
}

/// CRLF/CR → LF, NFC, trimmed: the form every string leaving this module has.
pub(crate) fn clean(s: &str) -> String {
    let nfc = nfc(if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_owned()
    });
    let trimmed = nfc.trim();
    if trimmed.len() == nfc.len() {
        nfc
    } else {
        trimmed.to_owned()
    }
}

/// [`clean`], with empty meaning "not given".
pub(crate) fn clean_opt(s: &str) -> Option<String> {
    Some(clean(s)).filter(|s| !s.is_empty())
}

/// `«text»`, cut to a readable length so a message never echoes a whole file back.
pub(crate) fn quote(s: &str) -> String {
    let one_line: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::from("«");
    out.extend(one_line.chars().take(QUOTE_CHARS));
    if one_line.chars().nth(QUOTE_CHARS).is_some() {
        out.push('…');
    }
    out.push('»');
    out
}

pub(crate) const NOT_UTF8: &str = "tệp không phải UTF-8 / file is not UTF-8";

/// Uploaded text → one string with LF line ends, NFC. Accepts a UTF-8 BOM and, because Excel's
/// "Unicode text" export is UTF-16, a UTF-16 BOM too; anything else must be UTF-8.
pub(crate) fn decode_text(bytes: &[u8]) -> Result<String, LineError> {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        utf8(rest)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, u16::from_le_bytes)?
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, u16::from_be_bytes)?
    } else {
        utf8(bytes)?
    };
    let lf = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    };
    Ok(nfc(lf))
}

fn utf8(bytes: &[u8]) -> Result<String, LineError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(LineError {
                line,
                message: NOT_UTF8.to_owned(),
            })
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, LineError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(utf16_error(1));
    }
    let units = bytes.chunks_exact(2).map(|pair| match pair {
        [a, b] => unit([*a, *b]),
        _ => 0,
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    let mut line = 1;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                if c == '\n' {
                    line += 1;
                }
                out.push(c);
            }
            Err(_) => return Err(utf16_error(line)),
        }
    }
    Ok(out)
}

fn utf16_error(line: usize) -> LineError {
    LineError {
        line,
        message: "tệp UTF-16 bị hỏng / broken UTF-16 file".to_owned(),
    }
}

/// Option letter for a 0-based index: 0 → 'A'.
pub(crate) fn letter(index: usize) -> char {
    u8::try_from(index)
        .ok()
        .filter(|i| *i < 26)
        .map_or('?', |i| char::from(b'A' + i))
}

/// Index of an ASCII option letter, either case.
pub(crate) fn letter_index(c: char) -> Option<usize> {
    let up = c.to_ascii_uppercase();
    up.is_ascii_uppercase()
        .then(|| usize::from(u8::try_from(up).unwrap_or(b'A') - b'A'))
}

/// "A–D" for four options.
pub(crate) fn letter_range(count: usize) -> String {
    match count {
        0 => "—".to_owned(),
        1 => "A".to_owned(),
        n => format!("A–{}", letter(n - 1)),
    }
}

/// Answer letters as organisers write them: `B`, `A,C`, `A, C`, `A;C`, `AC`, `a c`, `A và C`,
/// `A.` and `A. Hà Nội` (the letter followed by the option's text). Returns 0-based indices in
/// the order written, without repeats.
pub(crate) fn parse_answer_letters(s: &str) -> Result<Vec<usize>, String> {
    let s = s.trim();
    let mut out = Vec::new();
    let mut ok = !s.is_empty();
    for token in s.split(|c: char| matches!(c, ',' | ';' | '/' | '&' | '+') || c.is_whitespace()) {
        let token = token.trim_end_matches(['.', ')']);
        if token.is_empty() {
            continue;
        }
        let lower = token.to_lowercase();
        if lower == "và" || lower == "and" {
            continue;
        }
        if token.chars().all(|c| c.is_ascii_alphabetic()) {
            for c in token.chars() {
                if let Some(i) = letter_index(c)
                    && !out.contains(&i)
                {
                    out.push(i);
                }
            }
        } else {
            ok = false;
            break;
        }
    }
    if ok && !out.is_empty() {
        return Ok(out);
    }
    // "A. Hà Nội": the letter, its delimiter, then the option's own text.
    let mut chars = s.chars();
    if let (Some(c), Some('.' | ')'), Some(space)) = (chars.next(), chars.next(), chars.next())
        && space.is_whitespace()
        && let Some(i) = letter_index(c)
    {
        return Ok(vec![i]);
    }
    Err(format!(
        "đáp án đúng {} không hợp lệ — ghi bằng chữ cái, ví dụ B hoặc A, C / invalid correct answer {} — use letters such as B or A, C",
        quote(s),
        quote(s)
    ))
}

/// Checks answer letters against the number of options; the message names the first bad one.
pub(crate) fn check_answer_letters(letters: &[usize], option_count: usize) -> Result<(), String> {
    if option_count == 0 {
        return Err("câu hỏi không có phương án nào / the question has no options".to_owned());
    }
    match letters.iter().find(|&&i| i >= option_count) {
        Some(&bad) => {
            let range = letter_range(option_count);
            Err(format!(
                "đáp án {} không có trong các phương án {range} / answer {} is not one of the options {range}",
                letter(bad),
                letter(bad)
            ))
        }
        None => Ok(()),
    }
}

/// Kind as the file spells it → "single" / "multiple"; empty ⇒ `None` (the caller decides).
pub(crate) fn normalise_kind(raw: &str) -> Result<Option<String>, String> {
    let k = clean(raw).to_lowercase();
    let single = [
        "single",
        "một",
        "một đáp án",
        "chọn một",
        "một lựa chọn",
        "đơn",
        "1",
    ];
    let multiple = [
        "multiple",
        "nhiều",
        "nhiều đáp án",
        "chọn nhiều",
        "nhiều lựa chọn",
        "multi",
    ];
    if k.is_empty() {
        Ok(None)
    } else if single.contains(&k.as_str()) {
        Ok(Some("single".to_owned()))
    } else if multiple.contains(&k.as_str()) {
        Ok(Some("multiple".to_owned()))
    } else {
        Err(format!(
            "loại câu hỏi {} không hợp lệ — dùng single hoặc multiple / invalid kind {} — use single or multiple",
            quote(raw),
            quote(raw)
        ))
    }
}

/// `s` without `prefix`, compared case-insensitively character by character (so "ĐÁP ÁN"
/// matches "đáp án"); a space in `prefix` matches one or more whitespace characters.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = s;
    for w in prefix.chars() {
        if w == ' ' {
            let trimmed = rest.trim_start();
            if trimmed.len() == rest.len() {
                return None;
            }
            rest = trimmed;
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next()?;
        if !c.to_lowercase().eq(w.to_lowercase()) {
            return None;
        }
        rest = chars.as_str();
    }
    Some(rest)
}

/// `keyword:` at the start of a line (any of `keywords`, case-insensitive, spaces allowed
/// before the colon) → the text after the colon.
pub(crate) fn keyword_value<'a>(line: &'a str, keywords: &[&str]) -> Option<&'a str> {
    keywords.iter().find_map(|kw| {
        let rest = strip_prefix_ci(line, kw)?;
        rest.trim_start().strip_prefix(':')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_trims_normalises_line_ends_and_composes_to_nfc() {
        let nfd: String = "Hà Nội".nfd().collect();
        assert_ne!(nfd, "Hà Nội");
        assert_eq!(clean(&format!("  {nfd}\r\nthủ đô\r  ")), "Hà Nội\nthủ đô");
        assert_eq!(clean_opt(" \t "), None);
    }

    #[test]
    fn quotes_are_capped_so_messages_stay_short() {
        let q = quote(&"x".repeat(500));
        assert!(q.chars().count() <= QUOTE_CHARS + 3);
        assert!(q.ends_with("…»"));
    }

    #[test]
    fn answer_letters_accept_every_usual_spelling() {
        for s in ["A,C", "A, C", "A;C", "AC", "a c", "A và C", "c, a", "A & C"] {
            let mut got = parse_answer_letters(s).unwrap_or_default();
            got.sort_unstable();
            assert_eq!(got, vec![0, 2], "{s}");
        }
        assert_eq!(parse_answer_letters("B").ok(), Some(vec![1]));
        assert_eq!(parse_answer_letters("B.").ok(), Some(vec![1]));
        assert_eq!(parse_answer_letters("B. Huế").ok(), Some(vec![1]));
        assert!(parse_answer_letters("").is_err());
        assert!(parse_answer_letters("Hà Nội").is_err());
        assert!(parse_answer_letters("1").is_err());
    }

    #[test]
    fn answer_letter_outside_the_options_names_the_range() {
        let err = check_answer_letters(&[4], 4).err().unwrap_or_default();
        assert_eq!(
            err,
            "đáp án E không có trong các phương án A–D / answer E is not one of the options A–D"
        );
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Câu 1\r\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes).ok().as_deref(), Some("Câu 1\n"));
    }

    #[test]
    fn invalid_utf8_reports_the_line_it_is_on() {
        let err = decode_text(b"ok\nok\n\xff bad").err();
        assert_eq!(err.map(|e| e.line), Some(3));
    }

    #[test]
    fn keyword_prefixes_match_vietnamese_capitals_and_extra_spaces() {
        assert_eq!(
            keyword_value("ĐÁP  ÁN : A", &["đáp án"]).map(str::trim),
            Some("A")
        );
        assert_eq!(keyword_value("Đà Nẵng: x", &["đa"]), None);
    }
}
