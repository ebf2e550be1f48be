//! What an account is made of, parsed at the boundary: names, passwords, birth years, ID
//! numbers, e-mail logins, genders and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::domain::Phone;

/// A person's name: trimmed, NFC-normalised (so "Hoà" typed two ways is one name),
/// 1–100 characters, diacritics kept, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let normalised: String = input.trim().nfc().collect();
        // Collapse runs of inner white space: "Nguyễn   Thị" is "Nguyễn Thị".
        let collapsed = normalised.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err("must not be empty");
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err("must be at most 100 characters");
        }
        if collapsed.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Self(collapsed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A password as typed: 8 characters at least; at most 256 bytes so that hashing stays cheap.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 256;

    pub fn parse(input: String) -> Result<Self, &'static str> {
        if input.chars().count() < Self::MIN_CHARS {
            return Err("must be at least 8 characters");
        }
        if input.len() > Self::MAX_BYTES {
            return Err("must be at most 256 bytes");
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A plausible year of birth: 1900 to six years before `current_year`.
pub fn parse_birth_year(year: i32, current_year: i32) -> Result<i16, String> {
    let latest = current_year - 6;
    if !(1900..=latest).contains(&year) {
        return Err(format!("must be between 1900 and {latest}"));
    }
    i16::try_from(year).map_err(|_| "out of range".to_owned())
}

/// A citizen identity card number (CCCD): exactly 12 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .collect();
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a 12-digit citizen identity number (CCCD)");
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `0012********` for places that must not show the whole number.
    pub fn masked(&self) -> String {
        format!("{}********", &self.0[..4])
    }
}

/// A staff e-mail login, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err("not an e-mail address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person signs in with: a Vietnamese mobile number or a staff e-mail, normalised
/// as stored, so `0912…` and `+84912…` are one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Phone(Phone),
    Email(Email),
}

impl Login {
    /// An `@` makes it an e-mail; anything else must be a phone number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.contains('@') {
            Email::parse(raw).map(Self::Email).map_err(str::to_owned)
        } else {
            Phone::parse(raw)
                .map(Self::Phone)
                .map_err(|e| format!("not an e-mail, and {e}"))
        }
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::Email(e) => e.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Other,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
            Self::Other => "other",
        }
    }
}

impl FromStr for Gender {
    type Err = String;

    /// English or Vietnamese: `female`/`nữ`, `male`/`nam`, `other`/`khác`.
    fn from_str(s: &str) -> Result<Self, String> {
        let lower: String = s.trim().nfc().collect::<String>().to_lowercase();
        match lower.as_str() {
            "female" | "nữ" => Ok(Self::Female),
            "male" | "nam" => Ok(Self::Male),
            "other" | "khác" => Ok(Self::Other),
            _ => Err("must be female (nữ), male (nam) or other (khác)".to_owned()),
        }
    }
}

/// Who an account is. `admin` can do everything.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Organizer,
    Judge,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Organizer => "organizer",
            Self::Judge => "judge",
            Self::Admin => "admin",
        }
    }

    /// Staff never win prizes and sign in by e-mail as well as phone.
    pub fn is_staff(self) -> bool {
        self != Self::Member
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "member" => Ok(Self::Member),
            "organizer" => Ok(Self::Organizer),
            "judge" => Ok(Self::Judge),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role `{other}`")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_name_is_trimmed_and_keeps_diacritics() {
        assert_eq!(
            FullName::parse("  Nguyễn   Thị Hoà ")
                .expect("valid")
                .as_str(),
            "Nguyễn Thị Hoà"
        );
    }

    #[test]
    fn full_name_typed_decomposed_is_stored_composed() {
        // "ễ" as e + combining circumflex + combining tilde.
        let decomposed = "Nguye\u{302}\u{303}n";
        assert_eq!(
            FullName::parse(decomposed).expect("valid").as_str(),
            "Nguyễn"
        );
    }

    #[test]
    fn empty_or_overlong_full_name_is_refused() {
        assert!(FullName::parse("   ").is_err());
        assert!(FullName::parse(&"ễ".repeat(101)).is_err());
        assert!(FullName::parse(&"ễ".repeat(100)).is_ok());
    }

    #[test]
    fn full_name_with_control_characters_is_refused() {
        assert!(FullName::parse("Lan\u{0}").is_err());
    }

    #[test]
    fn short_password_is_refused() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse("mật khẩu".into()).is_ok());
    }

    #[test]
    fn birth_year_must_be_plausible() {
        assert!(parse_birth_year(1899, 2026).is_err());
        assert!(parse_birth_year(1900, 2026).is_ok());
        assert!(parse_birth_year(2020, 2026).is_ok());
        assert!(parse_birth_year(2021, 2026).is_err());
    }

    #[test]
    fn id_number_has_twelve_digits() {
        assert_eq!(
            IdNumber::parse("001 204 012 345").expect("valid").as_str(),
            "001204012345"
        );
        assert!(IdNumber::parse("00120401234").is_err());
        assert!(IdNumber::parse("00120401234a").is_err());
        assert_eq!(
            IdNumber::parse("001204012345").expect("valid").masked(),
            "0012********"
        );
    }

    #[test]
    fn email_is_lowercased() {
        assert_eq!(
            Email::parse(" Org@Example.ORG ").expect("valid").as_str(),
            "org@example.org"
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("a@b").is_err());
    }

    #[test]
    fn login_is_an_email_or_a_normalised_phone() {
        assert_eq!(
            Login::parse(" Org@Example.org").expect("email").as_str(),
            "org@example.org"
        );
        assert_eq!(
            Login::parse("0912 345 678").expect("phone").as_str(),
            "+84912345678"
        );
        assert!(Login::parse("nobody").is_err());
    }

    #[test]
    fn gender_accepts_vietnamese_words() {
        assert_eq!("Nữ".parse::<Gender>(), Ok(Gender::Female));
        assert_eq!("nam".parse::<Gender>(), Ok(Gender::Male));
        assert!("x".parse::<Gender>().is_err());
    }
}
