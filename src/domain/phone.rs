//! `Phone`: a Vietnamese mobile number, stored as E.164 (`+84` and nine digits).

use std::fmt;

/// Mobile numbers start 03, 05, 07, 08 or 09 nationally (3/5/7/8/9 after +84).
const MOBILE_LEADING_DIGITS: &[u8] = b"35789";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a Vietnamese mobile number: expected 10 digits starting 03, 05, 07, 08 or 09 (e.g. 0912 345 678 or +84 912 345 678)"
)]
pub struct PhoneError;

impl Phone {
    /// Accepts `0912345678`, `+84912345678`, `84912345678`, with spaces, dots or dashes
    /// between digits; landlines (02…) and anything else are refused.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(12);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' => {}
                _ => return Err(PhoneError),
            }
        }
        let national = if let Some(after_cc) = digits.strip_prefix("84").filter(|d| d.len() >= 9) {
            // "+84 0912…" is a common way of writing it: the trunk 0 is dropped.
            after_cc
                .strip_prefix('0')
                .filter(|d| d.len() == 9)
                .unwrap_or(after_cc)
        } else if plus {
            return Err(PhoneError);
        } else if let Some(national) = digits.strip_prefix('0') {
            national
        } else {
            return Err(PhoneError);
        };
        let bytes = national.as_bytes();
        if bytes.len() != 9 || !MOBILE_LEADING_DIGITS.contains(&bytes[0]) {
            return Err(PhoneError);
        }
        Ok(Self(format!("+84{national}")))
    }

    /// The E.164 form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `091****678`: the first three and last three digits, for public views (rule 13).
    pub fn masked(&self) -> String {
        let national = &self.0[3..];
        format!("0{}****{}", &national[..2], &national[6..])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str) -> String {
        Phone::parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .as_str()
            .to_owned()
    }

    #[test]
    fn national_form_is_accepted() {
        assert_eq!(e164("0912345678"), "+84912345678");
    }

    #[test]
    fn international_forms_are_accepted() {
        assert_eq!(e164("+84912345678"), "+84912345678");
        assert_eq!(e164("84912345678"), "+84912345678");
    }

    #[test]
    fn spaces_dots_and_dashes_are_ignored() {
        assert_eq!(e164(" 091 234 5678 "), "+84912345678");
        assert_eq!(e164("0912.345.678"), "+84912345678");
        assert_eq!(e164("0912-345-678"), "+84912345678");
        assert_eq!(e164("+84 912 345 678"), "+84912345678");
    }

    #[test]
    fn trunk_zero_after_country_code_is_dropped() {
        assert_eq!(e164("+84 0912 345 678"), "+84912345678");
    }

    #[test]
    fn every_mobile_prefix_is_accepted() {
        for prefix in ["03", "05", "07", "08", "09"] {
            assert_eq!(
                e164(&format!("{prefix}12345678")),
                format!("+84{}12345678", &prefix[1..])
            );
        }
    }

    #[test]
    fn landlines_are_refused() {
        assert_eq!(Phone::parse("0243 825 1234"), Err(PhoneError));
        assert_eq!(Phone::parse("+84 24 3825 1234"), Err(PhoneError));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        for input in ["091234567", "09123456789", "+8491234567", "+849123456789"] {
            assert_eq!(Phone::parse(input), Err(PhoneError), "{input}");
        }
    }

    #[test]
    fn junk_is_refused() {
        for input in [
            "",
            "abc",
            "0912345678x",
            "+",
            "091234567O",
            "(091) 234 5678",
            "+1 912 345 6789",
            "01234567890",
        ] {
            assert_eq!(Phone::parse(input), Err(PhoneError), "{input}");
        }
    }

    #[test]
    fn masked_phone_hides_the_middle() {
        assert_eq!(
            Phone::parse("0912345678").expect("valid").masked(),
            "091****678"
        );
    }
}
