//! `Slug`: a contest's name in URLs — lowercase ASCII words joined by single dashes.

use std::fmt;

/// At most this many characters, as the `contests_slug_format` constraint says.
const MAX_LEN: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Err("must not be empty");
        }
        if s.len() > MAX_LEN {
            return Err("must be at most 80 characters");
        }
        let words_ok = s.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !words_ok {
            return Err(
                "must be lowercase ASCII letters and digits in words joined by single dashes, e.g. `tim-hieu-luat-2026`",
            );
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_joined_by_dashes_are_a_slug() {
        assert_eq!(
            Slug::parse("tim-hieu-luat-2026").map(Slug::into_inner),
            Ok("tim-hieu-luat-2026".to_owned())
        );
    }

    #[test]
    fn surrounding_spaces_are_trimmed() {
        assert!(Slug::parse("  demo ").is_ok());
    }

    #[test]
    fn capitals_diacritics_spaces_and_double_dashes_are_refused() {
        for bad in [
            "",
            "Demo",
            "cuộc-thi",
            "a b",
            "a--b",
            "-a",
            "a-",
            "a_b",
            "a.b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn slugs_longer_than_eighty_characters_are_refused() {
        assert!(Slug::parse(&"a".repeat(80)).is_ok());
        assert!(Slug::parse(&"a".repeat(81)).is_err());
    }
}
