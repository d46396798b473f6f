//! Settings: environment variables (`GATEHOUSE_…`, `DATABASE_URL`) over an optional TOML file over
//! defaults. Every problem is reported as one line that names the setting.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A setting that cannot be used, and why.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    /// Multi-line causes (a TOML parser's, say) are folded so the error stays one line.
    fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            setting: setting.into(),
            message,
        }
    }
}

/// Which store to use. The URL may hold a password, so it never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(…)"),
        }
    }
}

impl DatabaseUrl {
    /// Reads `sqlite://PATH`, `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    pub fn parse(setting: &str, value: &str) -> Result<Self, ConfigError> {
        let (scheme, rest) = value.split_once(':').ok_or_else(|| {
            ConfigError::new(
                setting,
                "expected a URL such as sqlite://data/gatehouse.db or postgres://host/db",
            )
        })?;
        match scheme {
            "sqlite" => {
                let path = rest.trim_start_matches("//");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" {
                    return Err(ConfigError::new(
                        setting,
                        "an SQLite URL needs a file path, e.g. sqlite://data/gatehouse.db",
                    ));
                }
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                if !rest.starts_with("//") {
                    return Err(ConfigError::new(
                        setting,
                        "a PostgreSQL URL looks like postgres://user:password@host:5432/database",
                    ));
                }
                Ok(DatabaseUrl::Postgres(value.to_owned()))
            }
            other => Err(ConfigError::new(
                setting,
                format!(
                    "unsupported scheme '{}' (expected sqlite: or postgres:)",
                    other.chars().take(20).collect::<String>()
                ),
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for development.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A secret from configuration. Never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(…)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// The development sign-in: pick any seeded person. Loopback only.
    pub dev_login: bool,
    /// The origin people reach Gatehouse at (`https://gatehouse.example.com`), if not the bind address.
    pub public_url: Option<String>,
    /// Where cargo-leptos put the browser bundle and the public assets.
    pub site_root: PathBuf,
    pub session_idle_timeout: Duration,
    pub session_lifetime: Duration,
    pub session_key: Option<SecretString>,
    pub key_pepper: Option<SecretString>,
    /// Company sign-in through an OpenID Connect provider, when configured.
    pub oidc: Option<OidcConfig>,
    /// The bearer token an identity provider presents to provision people over SCIM 2.0.
    pub scim_token: Option<SecretString>,
    /// Whether invited contractors may choose a local password instead of the identity provider.
    pub local_passwords: bool,
    /// The latest end date an invitation may give a contractor, in days from today.
    pub contractor_max_days: u32,
    /// The largest OpenAPI file that may be published, in bytes.
    pub max_spec_bytes: usize,
    /// Where notification emails go out, when configured.
    pub smtp: Option<SmtpConfig>,
    /// How often background work (request expiry, reminders, deliveries) runs, in seconds.
    pub job_interval_secs: u64,
    /// How long a rotated key's old secret keeps working.
    pub key_grace: Duration,
    /// Where `/metrics` is served (Prometheus); not served without it.
    pub metrics_bind: Option<SocketAddr>,
}

/// The identity provider: found by its issuer's discovery document.
/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP upgraded with STARTTLS (port 587), required.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on loopback or a trusted network.
    None,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, e.g. `Gatehouse <gatehouse@example.com>`.
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// Exactly as the provider writes `iss` (no trailing slash is added or removed).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The sign-in button's label.
    pub display_name: String,
    pub scopes: Vec<String>,
    pub claims: ClaimMapping,
    /// Email domains whose people are employees: someone from one of them who signs in for the
    /// first time is created. Empty: only people already known (org import, SCIM, invitation).
    pub employee_domains: Vec<String>,
}

/// Which ID-token claims carry a person's details.
#[derive(Clone, Debug)]
pub struct ClaimMapping {
    pub name: String,
    pub email: String,
    /// A claim holding the manager's email, if the provider sends one.
    pub manager_email: Option<String>,
    pub department: Option<String>,
}

impl Config {
    /// Whether session cookies must carry `Secure` (and so the `__Host-` prefix): always, except
    /// for development over plain HTTP on loopback.
    pub fn secure_cookies(&self) -> bool {
        match &self.public_url {
            Some(url) => url.starts_with("https://"),
            None => !self.bind.ip().is_loopback(),
        }
    }

    /// Where people reach Gatehouse: the public URL, or the bind address for local use.
    pub fn origin(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The origin that browsers send in `Origin` for requests made by our own pages.
    pub fn public_origin(&self) -> Option<&str> {
        self.public_url.as_deref()
    }
}

/// The TOML file's shape. Unknown keys are errors, so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    data_dir: Option<String>,
    database_url: Option<String>,
    log_format: Option<String>,
    log_filter: Option<String>,
    dev_login: Option<bool>,
    public_url: Option<String>,
    site_root: Option<String>,
    session_idle_minutes: Option<u64>,
    session_lifetime_hours: Option<u64>,
    session_key: Option<String>,
    key_pepper: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_name: Option<String>,
    oidc_scopes: Option<String>,
    oidc_name_claim: Option<String>,
    oidc_email_claim: Option<String>,
    oidc_manager_claim: Option<String>,
    oidc_department_claim: Option<String>,
    oidc_employee_domains: Option<String>,
    scim_token: Option<String>,
    local_passwords: Option<bool>,
    contractor_max_days: Option<u64>,
    max_spec_mb: Option<u64>,
    smtp_host: Option<String>,
    smtp_port: Option<u64>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_from: Option<String>,
    job_interval_secs: Option<u64>,
    key_grace_hours: Option<u64>,
    metrics_bind: Option<String>,
}

/// One setting's value and the name to blame if it is wrong.
struct Setting {
    name: String,
    value: String,
}

impl Config {
    /// Builds the configuration from `env` (a lookup, so tests pass a map) and the TOML file
    /// named by `GATEHOUSE_CONFIG`, if any.
    pub fn load(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match env("GATEHOUSE_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => read_file(Path::new(&path))?,
            None => FileConfig::default(),
        };
        let pick =
            |env_names: &[&str], file_key: &str, file_value: Option<String>| -> Option<Setting> {
                env_names
                    .iter()
                    .find_map(|name| {
                        env(name).filter(|v| !v.is_empty()).map(|value| Setting {
                            name: (*name).to_owned(),
                            value,
                        })
                    })
                    .or_else(|| {
                        file_value.map(|value| Setting {
                            name: format!("{file_key} (config file)"),
                            value,
                        })
                    })
            };

        let bind = match pick(&["GATEHOUSE_BIND"], "bind", file.bind) {
            Some(s) => s.value.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    &s.name,
                    format!(
                        "'{}' is not an address like 127.0.0.1:3000",
                        short(&s.value)
                    ),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };

        let data_dir_setting = pick(&["GATEHOUSE_DATA_DIR"], "data_dir", file.data_dir);
        let (data_dir_name, data_dir) = match data_dir_setting {
            Some(s) => (s.name, PathBuf::from(s.value)),
            None => ("GATEHOUSE_DATA_DIR".to_owned(), PathBuf::from("data")),
        };
        check_data_dir(&data_dir_name, &data_dir)?;

        let database = match pick(
            &["DATABASE_URL", "GATEHOUSE_DATABASE_URL"],
            "database_url",
            file.database_url,
        ) {
            Some(s) => DatabaseUrl::parse(&s.name, &s.value)?,
            None => DatabaseUrl::Sqlite(data_dir.join("gatehouse.db")),
        };

        let log_format = match pick(&["GATEHOUSE_LOG_FORMAT"], "log_format", file.log_format) {
            Some(s) => match s.value.as_str() {
                "pretty" | "text" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::new(
                        &s.name,
                        format!(
                            "'{}' is not a log format (expected pretty or json)",
                            short(other)
                        ),
                    ));
                }
            },
            None => LogFormat::Pretty,
        };
        let log_filter = pick(
            &["GATEHOUSE_LOG", "RUST_LOG"],
            "log_filter",
            file.log_filter,
        )
        .map(|s| s.value)
        .unwrap_or_else(|| "info,sqlx=warn".to_owned());

        let dev_login = match pick(
            &["GATEHOUSE_DEV_LOGIN"],
            "dev_login",
            file.dev_login.map(|b| b.to_string()),
        ) {
            Some(s) => parse_bool(&s)?,
            None => false,
        };
        if dev_login && !bind.ip().is_loopback() {
            return Err(ConfigError::new(
                "GATEHOUSE_DEV_LOGIN",
                format!(
                    "the development sign-in lets anyone act as anyone, so it is refused on the non-loopback address {bind}; bind to 127.0.0.1 or turn it off"
                ),
            ));
        }

        let public_url = match pick(&["GATEHOUSE_PUBLIC_URL"], "public_url", file.public_url) {
            Some(s) => {
                let url = s.value.trim_end_matches('/');
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains('/') => Some(url.to_owned()),
                    _ => {
                        return Err(ConfigError::new(
                            &s.name,
                            format!(
                                "'{}' is not an origin like https://gatehouse.example.com",
                                short(&s.value)
                            ),
                        ));
                    }
                }
            }
            None => None,
        };

        let site_root = pick(
            &["GATEHOUSE_SITE_ROOT", "LEPTOS_SITE_ROOT"],
            "site_root",
            file.site_root,
        )
        .map(|s| PathBuf::from(s.value))
        .unwrap_or_else(|| PathBuf::from("target/site"));

        let minutes = |env_name: &str,
                       key: &str,
                       file_value: Option<u64>,
                       default: u64,
                       max: u64|
         -> Result<u64, ConfigError> {
            match pick(&[env_name], key, file_value.map(|v| v.to_string())) {
                Some(s) => match s.value.parse::<u64>() {
                    Ok(v) if (1..=max).contains(&v) => Ok(v),
                    _ => Err(ConfigError::new(
                        &s.name,
                        format!(
                            "'{}' is not a whole number from 1 to {max}",
                            short(&s.value)
                        ),
                    )),
                },
                None => Ok(default),
            }
        };
        let idle_minutes = minutes(
            "GATEHOUSE_SESSION_IDLE_MINUTES",
            "session_idle_minutes",
            file.session_idle_minutes,
            8 * 60,
            30 * 24 * 60,
        )?;
        let lifetime_hours = minutes(
            "GATEHOUSE_SESSION_LIFETIME_HOURS",
            "session_lifetime_hours",
            file.session_lifetime_hours,
            7 * 24,
            90 * 24,
        )?;

        let secret = |env_name: &str,
                      key: &str,
                      file_value: Option<String>|
         -> Result<Option<SecretString>, ConfigError> {
            match pick(&[env_name], key, file_value) {
                Some(s) if s.value.len() < 32 => Err(ConfigError::new(
                    &s.name,
                    "a secret needs at least 32 characters (leave it unset and one is generated)",
                )),
                Some(s) => Ok(Some(SecretString(s.value))),
                None => Ok(None),
            }
        };

        let oidc = {
            let issuer = pick(&["GATEHOUSE_OIDC_ISSUER"], "oidc_issuer", file.oidc_issuer);
            let client_id = pick(
                &["GATEHOUSE_OIDC_CLIENT_ID"],
                "oidc_client_id",
                file.oidc_client_id,
            );
            let client_secret = pick(
                &["GATEHOUSE_OIDC_CLIENT_SECRET"],
                "oidc_client_secret",
                file.oidc_client_secret,
            );
            match (issuer, client_id, client_secret) {
                (None, None, None) => None,
                (Some(issuer), Some(client_id), Some(client_secret)) => {
                    let host = issuer
                        .value
                        .strip_prefix("https://")
                        .or_else(|| {
                            issuer.value.strip_prefix("http://").filter(|rest| {
                                let host = rest.split(['/', ':']).next().unwrap_or_default();
                                matches!(host, "127.0.0.1" | "localhost")
                            })
                        })
                        .map(|rest| rest.split('/').next().unwrap_or_default());
                    if host.is_none_or(str::is_empty) {
                        return Err(ConfigError::new(
                            &issuer.name,
                            format!(
                                "'{}' is not an https:// issuer URL (plain http is accepted only on loopback)",
                                short(&issuer.value)
                            ),
                        ));
                    }
                    let text = |env_name: &str, key: &str, value: Option<String>, default: &str| {
                        pick(&[env_name], key, value)
                            .map(|s| s.value)
                            .unwrap_or_else(|| default.to_owned())
                    };
                    let optional = |env_name: &str, key: &str, value: Option<String>| {
                        pick(&[env_name], key, value).map(|s| s.value)
                    };
                    Some(OidcConfig {
                        issuer: issuer.value,
                        client_id: client_id.value,
                        client_secret: SecretString(client_secret.value),
                        display_name: text(
                            "GATEHOUSE_OIDC_NAME",
                            "oidc_name",
                            file.oidc_name,
                            "Company sign-in",
                        ),
                        scopes: text(
                            "GATEHOUSE_OIDC_SCOPES",
                            "oidc_scopes",
                            file.oidc_scopes,
                            "openid email profile",
                        )
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                        claims: ClaimMapping {
                            name: text(
                                "GATEHOUSE_OIDC_NAME_CLAIM",
                                "oidc_name_claim",
                                file.oidc_name_claim,
                                "name",
                            ),
                            email: text(
                                "GATEHOUSE_OIDC_EMAIL_CLAIM",
                                "oidc_email_claim",
                                file.oidc_email_claim,
                                "email",
                            ),
                            manager_email: optional(
                                "GATEHOUSE_OIDC_MANAGER_CLAIM",
                                "oidc_manager_claim",
                                file.oidc_manager_claim,
                            ),
                            department: optional(
                                "GATEHOUSE_OIDC_DEPARTMENT_CLAIM",
                                "oidc_department_claim",
                                file.oidc_department_claim,
                            ),
                        },
                        employee_domains: optional(
                            "GATEHOUSE_OIDC_EMPLOYEE_DOMAINS",
                            "oidc_employee_domains",
                            file.oidc_employee_domains,
                        )
                        .map(|v| {
                            v.split([',', ' '])
                                .filter(|d| !d.is_empty())
                                .map(|d| d.trim_start_matches('@').to_ascii_lowercase())
                                .collect()
                        })
                        .unwrap_or_default(),
                    })
                }
                (issuer, client_id, _) => {
                    let missing = if issuer.is_none() {
                        "GATEHOUSE_OIDC_ISSUER"
                    } else if client_id.is_none() {
                        "GATEHOUSE_OIDC_CLIENT_ID"
                    } else {
                        "GATEHOUSE_OIDC_CLIENT_SECRET"
                    };
                    return Err(ConfigError::new(
                        missing,
                        "company sign-in needs the issuer, the client id and the client secret together",
                    ));
                }
            }
        };

        let local_passwords = match pick(
            &["GATEHOUSE_LOCAL_PASSWORDS"],
            "local_passwords",
            file.local_passwords.map(|b| b.to_string()),
        ) {
            Some(s) => parse_bool(&s)?,
            None => false,
        };
        let contractor_max_days = minutes(
            "GATEHOUSE_CONTRACTOR_MAX_DAYS",
            "contractor_max_days",
            file.contractor_max_days,
            180,
            3 * 365,
        )? as u32;
        let max_spec_mb = minutes(
            "GATEHOUSE_MAX_SPEC_MB",
            "max_spec_mb",
            file.max_spec_mb,
            20,
            200,
        )?;

        let smtp = match pick(&["GATEHOUSE_SMTP_HOST"], "smtp_host", file.smtp_host) {
            None => None,
            Some(host) => {
                let tls = match pick(&["GATEHOUSE_SMTP_TLS"], "smtp_tls", file.smtp_tls) {
                    None => SmtpTls::StartTls,
                    Some(s) => match s.value.to_ascii_lowercase().as_str() {
                        "starttls" => SmtpTls::StartTls,
                        "tls" => SmtpTls::Tls,
                        "none" => SmtpTls::None,
                        other => {
                            return Err(ConfigError::new(
                                &s.name,
                                format!("'{}' is not starttls, tls or none", short(other)),
                            ));
                        }
                    },
                };
                let default_port = match tls {
                    SmtpTls::StartTls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                };
                let port = minutes(
                    "GATEHOUSE_SMTP_PORT",
                    "smtp_port",
                    file.smtp_port,
                    default_port,
                    65535,
                )? as u16;
                let username = pick(
                    &["GATEHOUSE_SMTP_USERNAME"],
                    "smtp_username",
                    file.smtp_username,
                )
                .map(|s| s.value);
                let password = pick(
                    &["GATEHOUSE_SMTP_PASSWORD"],
                    "smtp_password",
                    file.smtp_password,
                )
                .map(|s| SecretString(s.value));
                if username.is_some() != password.is_some() {
                    return Err(ConfigError::new(
                        "GATEHOUSE_SMTP_USERNAME",
                        "the SMTP user name and password go together",
                    ));
                }
                let from = match pick(&["GATEHOUSE_SMTP_FROM"], "smtp_from", file.smtp_from) {
                    Some(s) if s.value.contains('@') && !s.value.chars().any(char::is_control) => {
                        s.value
                    }
                    Some(s) => {
                        return Err(ConfigError::new(
                            &s.name,
                            format!("'{}' is not an email address", short(&s.value)),
                        ));
                    }
                    None => "Gatehouse <gatehouse@localhost>".to_owned(),
                };
                if host.value.is_empty()
                    || host.value.chars().any(|c| c.is_whitespace() || c == '/')
                {
                    return Err(ConfigError::new(&host.name, "not a host name"));
                }
                Some(SmtpConfig {
                    host: host.value,
                    port,
                    tls,
                    username,
                    password,
                    from,
                })
            }
        };
        let job_interval_secs = minutes(
            "GATEHOUSE_JOB_INTERVAL_SECS",
            "job_interval_secs",
            file.job_interval_secs,
            30,
            3600,
        )?;

        let key_grace_hours = minutes(
            "GATEHOUSE_KEY_GRACE_HOURS",
            "key_grace_hours",
            file.key_grace_hours,
            24,
            30 * 24,
        )?;
        let metrics_bind = match pick(
            &["GATEHOUSE_METRICS_BIND"],
            "metrics_bind",
            file.metrics_bind,
        ) {
            Some(s) => Some(s.value.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    &s.name,
                    format!(
                        "'{}' is not an address like 127.0.0.1:9100",
                        short(&s.value)
                    ),
                )
            })?),
            None => None,
        };

        Ok(Config {
            bind,
            data_dir,
            database,
            log_format,
            log_filter,
            dev_login,
            public_url,
            site_root,
            session_idle_timeout: Duration::from_secs(idle_minutes * 60),
            session_lifetime: Duration::from_secs(lifetime_hours * 3600),
            session_key: secret("GATEHOUSE_SESSION_KEY", "session_key", file.session_key)?,
            key_pepper: secret("GATEHOUSE_KEY_PEPPER", "key_pepper", file.key_pepper)?,
            scim_token: secret("GATEHOUSE_SCIM_TOKEN", "scim_token", file.scim_token)?,
            oidc,
            local_passwords,
            contractor_max_days,
            max_spec_bytes: max_spec_mb as usize * 1024 * 1024,
            smtp,
            job_interval_secs,
            key_grace: Duration::from_secs(key_grace_hours * 3600),
            metrics_bind,
        })
    }

    /// The configuration from this process's environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(|name| std::env::var(name).ok())
    }
}

fn short(value: &str) -> String {
    let mut out: String = value.chars().filter(|c| !c.is_control()).take(60).collect();
    if value.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn parse_bool(setting: &Setting) -> Result<bool, ConfigError> {
    match setting.value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(ConfigError::new(
            &setting.name,
            format!("'{}' is not true or false", short(other)),
        )),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let setting = format!("GATEHOUSE_CONFIG ({})", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&setting, format!("cannot read the file: {e}")))?;
    toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        ConfigError::new(setting, format!("invalid TOML{at}: {}", e.message().trim()))
    })
}

/// The data directory must exist (it is created if missing) and accept files.
fn check_data_dir(setting: &str, dir: &Path) -> Result<(), ConfigError> {
    let fail =
        |message: String| ConfigError::new(format!("{setting} ({})", dir.display()), message);
    if dir.exists() && !dir.is_dir() {
        return Err(fail("exists but is not a directory".to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the directory: {e}")))?;
    std::fs::read_dir(dir).map_err(|e| fail(format!("cannot read the directory: {e}")))?;
    let probe = dir.join(".gatehouse-write-check");
    std::fs::write(&probe, b"")
        .map_err(|e| fail(format!("cannot write into the directory: {e}")))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::temp_dir::TempDir;
    use std::collections::HashMap;

    fn temp_dir(name: &str) -> TempDir {
        TempDir::new(&format!("config-{name}"))
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_serve_loopback_on_an_sqlite_file_in_the_data_dir() {
        let dir = temp_dir("defaults");
        let config = load(&[("GATEHOUSE_DATA_DIR", dir.to_str().unwrap())]).unwrap();
        assert_eq!(config.bind, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(
            config.database,
            DatabaseUrl::Sqlite(dir.join("gatehouse.db"))
        );
        assert!(!config.dev_login);
        assert!(
            !config.secure_cookies(),
            "plain-http loopback development relaxes Secure"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = temp_dir("override");
        let file = dir.join("gatehouse.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:4000\"\nlog_format = \"json\"\n").unwrap();
        let config = load(&[
            ("GATEHOUSE_CONFIG", file.to_str().unwrap()),
            ("GATEHOUSE_DATA_DIR", dir.to_str().unwrap()),
            ("GATEHOUSE_BIND", "127.0.0.1:5000"),
        ])
        .unwrap();
        assert_eq!(config.bind.port(), 5000);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn each_bad_setting_is_named_in_one_line() {
        let dir = temp_dir("bad");
        let d = dir.to_str().unwrap();
        let bad_toml = dir.join("bad.toml");
        std::fs::write(&bad_toml, "bind = \"127.0.0.1:1\"\nlog_format = [oops\n").unwrap();
        let unknown_key = dir.join("unknown.toml");
        std::fs::write(&unknown_key, "bnid = \"127.0.0.1:1\"\n").unwrap();
        let not_a_dir = dir.join("file");
        std::fs::write(&not_a_dir, "").unwrap();

        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("DATABASE_URL", "mysql://db/x")],
                "DATABASE_URL: unsupported scheme 'mysql'",
            ),
            (
                vec![("GATEHOUSE_BIND", "localhost")],
                "GATEHOUSE_BIND: 'localhost' is not an address",
            ),
            (
                vec![("GATEHOUSE_CONFIG", bad_toml.to_str().unwrap())],
                "invalid TOML at line 2",
            ),
            (
                vec![("GATEHOUSE_CONFIG", unknown_key.to_str().unwrap())],
                "unknown field `bnid`",
            ),
            (
                vec![("GATEHOUSE_DEV_LOGIN", "maybe")],
                "GATEHOUSE_DEV_LOGIN: 'maybe' is not true or false",
            ),
            (
                vec![
                    ("GATEHOUSE_DEV_LOGIN", "true"),
                    ("GATEHOUSE_BIND", "0.0.0.0:3000"),
                ],
                "refused on the non-loopback address",
            ),
            (
                vec![("GATEHOUSE_SESSION_KEY", "short")],
                "GATEHOUSE_SESSION_KEY: a secret needs at least 32 characters",
            ),
        ];
        for (pairs, expected) in cases {
            let mut all = vec![("GATEHOUSE_DATA_DIR", d)];
            all.extend(pairs);
            let err = load(&all).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
            assert!(!err.contains('\n'), "{err:?} should be one line");
        }

        let err = load(&[("GATEHOUSE_DATA_DIR", not_a_dir.to_str().unwrap())]).unwrap_err();
        assert!(err.to_string().starts_with("GATEHOUSE_DATA_DIR ("), "{err}");
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn database_urls_never_print_their_password() {
        let url =
            DatabaseUrl::parse("DATABASE_URL", "postgres://app:hunter2@db:5432/gatehouse").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        let secret = SecretString("a".repeat(40));
        assert_eq!(format!("{secret:?}"), "SecretString(…)");
    }
}
