//! `Settings`, read once from the environment; secrets are `SecretString` and never logged.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | — (required) | PostgreSQL, the source of truth |
//! | `REDIS_URL` | `redis://127.0.0.1:6379/` | Redis, for live leaderboards and rate limits |
//! | `HOITHI_LISTEN` | `127.0.0.1:8080` | address the API listens on |
//! | `HOITHI_ADMIN_LISTEN` | unset | optional second listener where `/metrics` is open |
//! | `HOITHI_REDIS_PREFIX` | `hoithi:` | every Redis key the service writes starts with it |
//! | `HOITHI_JWT_SECRET` | — (required by `serve`) | HS256 key, at least 32 bytes |
//! | `HOITHI_DB_MAX_CONNECTIONS` | `20` | PostgreSQL pool size per process |
//! | `HOITHI_DB_ACQUIRE_TIMEOUT_MS` | `3000` | how long a request waits for a pool connection |
//! | `HOITHI_WORKERS` | CPU count | HTTP worker threads |
//! | `HOITHI_SHUTDOWN_TIMEOUT_SECONDS` | `30` | how long SIGTERM waits for in-flight requests |
//! | `HOITHI_REQUEST_TIMEOUT_SECONDS` | `60` | how long a request may take until its answer starts (408 for a slow body, else 503) |
//! | `HOITHI_PASSWORD_HASH_CONCURRENCY` | CPU count | password hashes computed at once |
//! | `HOITHI_SUBMIT_GRACE_MS` | `3000` | how long past an attempt's deadline a submission is still accepted |
//! | `HOITHI_SWEEP_INTERVAL_MS` | `5000` | how often attempts whose time ran out are closed |
//! | `HOITHI_TRUST_FORWARDED_FOR` | `false` | take the client address from `X-Forwarded-For` (only behind a proxy you run) |
//! | `RUST_LOG` | `info` | log filter (tracing `EnvFilter` syntax) |

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The shortest HS256 key `serve` accepts (RFC 7518 §3.2: at least the hash size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set; see .env.example")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub admin_listen: Option<String>,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub jwt_secret: SecretString,
    pub workers: usize,
    pub shutdown_timeout: Duration,
    /// How long a request may take, body and handler, until its answer starts.
    pub request_timeout: Duration,
    pub password_hash_concurrency: usize,
    pub trust_forwarded_for: bool,
    /// How long past an attempt's deadline a submission is still accepted.
    pub submit_grace: Duration,
    /// How often expired attempts are closed in the background.
    pub sweep_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: SecretString,
    pub prefix: String,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Everything `serve` needs, from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    pub fn from_lookup(get: Lookup<'_>) -> Result<Self, ConfigError> {
        let jwt_secret =
            get("HOITHI_JWT_SECRET").ok_or(ConfigError::Missing("HOITHI_JWT_SECRET"))?;
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid {
                name: "HOITHI_JWT_SECRET",
                reason: format!(
                    "it is {} bytes long and must be at least {MIN_JWT_SECRET_BYTES}; \
                     generate one with `head -c 48 /dev/urandom | base64`",
                    jwt_secret.len()
                ),
            });
        }
        let default_workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            listen: get("HOITHI_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            admin_listen: get("HOITHI_ADMIN_LISTEN"),
            database: DatabaseSettings::from_lookup(get)?,
            redis: RedisSettings::from_lookup(get)?,
            jwt_secret: SecretString::from(jwt_secret),
            workers: parse_or(get, "HOITHI_WORKERS", default_workers, 1..=256)?,
            shutdown_timeout: Duration::from_secs(parse_or(
                get,
                "HOITHI_SHUTDOWN_TIMEOUT_SECONDS",
                30,
                0..=3600,
            )?),
            request_timeout: Duration::from_secs(parse_or(
                get,
                "HOITHI_REQUEST_TIMEOUT_SECONDS",
                60,
                1..=3600,
            )?),
            password_hash_concurrency: parse_or(
                get,
                "HOITHI_PASSWORD_HASH_CONCURRENCY",
                default_workers,
                1..=256,
            )?,
            trust_forwarded_for: parse_bool(get, "HOITHI_TRUST_FORWARDED_FOR")?,
            submit_grace: Duration::from_millis(parse_or(
                get,
                "HOITHI_SUBMIT_GRACE_MS",
                3000,
                0..=60_000,
            )?),
            sweep_interval: Duration::from_millis(parse_or(
                get,
                "HOITHI_SWEEP_INTERVAL_MS",
                5000,
                100..=600_000,
            )?),
        })
    }
}

impl DatabaseSettings {
    /// What the database-only commands (`migrate`, `user …`) need.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    fn from_lookup(get: Lookup<'_>) -> Result<Self, ConfigError> {
        let url = get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "expected a postgres:// URL".to_owned(),
            });
        }
        Ok(Self {
            url: SecretString::from(url),
            max_connections: parse_or(get, "HOITHI_DB_MAX_CONNECTIONS", 20, 1..=1000)?,
            acquire_timeout: Duration::from_millis(parse_or(
                get,
                "HOITHI_DB_ACQUIRE_TIMEOUT_MS",
                3000,
                10..=600_000,
            )?),
        })
    }

    pub fn url(&self) -> &str {
        self.url.expose_secret()
    }
}

impl RedisSettings {
    /// What the commands that touch Redis alone (`leaderboard rebuild`) need.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env_lookup)
    }

    pub fn from_lookup(get: Lookup<'_>) -> Result<Self, ConfigError> {
        let url = get("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
        if !(url.starts_with("redis://")
            || url.starts_with("rediss://")
            || url.starts_with("unix://"))
        {
            return Err(ConfigError::Invalid {
                name: "REDIS_URL",
                reason: "expected a redis:// URL".to_owned(),
            });
        }
        let prefix = get("HOITHI_REDIS_PREFIX").unwrap_or_else(|| "hoithi:".to_owned());
        if prefix
            .chars()
            .any(|c| c.is_whitespace() || c == '*' || c == '?' || c == '[')
        {
            return Err(ConfigError::Invalid {
                name: "HOITHI_REDIS_PREFIX",
                reason: "must not contain spaces or glob characters (* ? [)".to_owned(),
            });
        }
        Ok(Self {
            url: SecretString::from(url),
            prefix,
        })
    }

    pub fn url(&self) -> &str {
        self.url.expose_secret()
    }
}

fn parse_bool(get: Lookup<'_>, name: &'static str) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("`{other}` is not true or false"),
        }),
    }
}

fn parse_or<T>(
    get: Lookup<'_>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let value: T = raw.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("`{raw}` is not a number"),
    })?;
    if !range.contains(&value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{value} is outside {}..={}", range.start(), range.end()),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&move |k| map.get(k).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_only_the_required_variables_are_set() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://localhost/h"),
            ("HOITHI_JWT_SECRET", SECRET),
        ])
        .expect("valid");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.redis.prefix, "hoithi:");
        assert_eq!(s.redis.url(), "redis://127.0.0.1:6379/");
        assert_eq!(s.database.max_connections, 20);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn short_jwt_secret_is_refused_with_its_length() {
        let err = settings(&[
            ("DATABASE_URL", "postgres://localhost/h"),
            ("HOITHI_JWT_SECRET", "short"),
        ])
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { name: "HOITHI_JWT_SECRET", reason } if reason.contains("5 bytes"))
        );
    }

    #[test]
    fn missing_database_url_is_named() {
        let err = settings(&[("HOITHI_JWT_SECRET", SECRET)]).unwrap_err();
        assert_eq!(err, ConfigError::Missing("DATABASE_URL"));
    }

    #[test]
    fn pool_size_out_of_range_is_refused() {
        let err = settings(&[
            ("DATABASE_URL", "postgres://localhost/h"),
            ("HOITHI_JWT_SECRET", SECRET),
            ("HOITHI_DB_MAX_CONNECTIONS", "0"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "HOITHI_DB_MAX_CONNECTIONS",
                ..
            }
        ));
    }

    #[test]
    fn redis_prefix_with_glob_characters_is_refused() {
        let err = settings(&[
            ("DATABASE_URL", "postgres://localhost/h"),
            ("HOITHI_JWT_SECRET", SECRET),
            ("HOITHI_REDIS_PREFIX", "a*"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "HOITHI_REDIS_PREFIX",
                ..
            }
        ));
    }

    #[test]
    fn debug_output_does_not_show_secrets() {
        let s = settings(&[
            ("DATABASE_URL", "postgres://u:pw@localhost/h"),
            ("HOITHI_JWT_SECRET", SECRET),
        ])
        .expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains("pw@"));
    }
}
