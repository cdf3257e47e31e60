//! `Env`: every environment variable of CONTRACT.md, read once into typed values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::secret::Secret;

/// The environment, typed. Empty values count as unset.
#[derive(Debug, Clone)]
pub struct Env {
    /// `SLACK_BOT_TOKEN`, `xoxb-...`: required for `serve`.
    pub bot_token: Option<Secret>,
    /// `SLACK_SIGNING_SECRET`: required in HTTP mode.
    pub signing_secret: Option<Secret>,
    /// `SLACK_APP_TOKEN`, `xapp-...`: its presence selects Socket Mode.
    pub app_token: Option<Secret>,
    /// `SLACK_API_URL`, without a trailing slash.
    pub slack_api_url: String,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `PLATFORM_DESK_CONFIG`: None means the built-in policy.
    pub config_path: Option<PathBuf>,
    /// `LISTEN_ADDR`.
    pub listen_addr: SocketAddr,
    /// `WEB_TOKEN`: when set, the dashboard and API need it as a bearer token.
    pub web_token: Option<Secret>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `RUST_LOG`: the tracing filter.
    pub rust_log: String,
    /// `PAGERDUTY_ROUTING_KEY`: when set, escalations also page through PagerDuty.
    pub pagerduty_routing_key: Option<Secret>,
    /// `PAGERDUTY_EVENTS_URL`: PagerDuty's Events API v2 enqueue endpoint (tests point it at
    /// a fake).
    pub pagerduty_events_url: String,
    /// `HTTP_READ_TIMEOUT` (beyond the contract): how long a client may take to send a
    /// request's headers, and then its body; idle keep-alive connections close after it too.
    pub http_read_timeout: std::time::Duration,
    /// `SLACK_SOCKET_PING_INTERVAL` (beyond the contract): Socket Mode pings Slack this often,
    /// and a connection that brings no frame at all for three of them is reopened.
    pub socket_ping_interval: std::time::Duration,
}

/// `HTTP_READ_TIMEOUT`'s default. Slack sends a whole request at once, so a short one would
/// do for it; but in HTTP mode a TLS proxy or load balancer always sits in front, keeping idle
/// connections to the bot, and it must be the side that closes them (a POST it sends on a
/// connection the bot has just closed fails, for Slack, with a 502). Those idle timeouts are
/// 60 s by default (AWS ALB, nginx's upstream keep-alive); 75 s outlasts them.
pub const DEFAULT_HTTP_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(75);

/// `SLACK_SOCKET_PING_INTERVAL`'s default (Slack's Python SDK pings every 10 s too): a socket
/// that died without a word (a NAT or firewall forgot it) is noticed within 30 s, not when
/// TCP gives up hours later, while no event reaches the bot.
pub const DEFAULT_SOCKET_PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// `LOG_FORMAT`: `pretty` (the default) or `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value.trim().to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(()),
        }
    }
}

/// A problem with the environment. Only non-secret values are ever quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{var} is {value:?}, expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{var} is not set: {needed_for}")]
    Missing {
        var: &'static str,
        needed_for: &'static str,
    },
}

impl Env {
    /// Reads the process environment.
    pub fn from_env() -> Result<Env, EnvError> {
        Env::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Env, EnvError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let secret = |name: &str| get(name).map(Secret::new);

        let slack_api_url = get("SLACK_API_URL").map_or_else(
            || "https://slack.com/api".to_string(),
            |url| url.trim().trim_end_matches('/').to_string(),
        );
        if !(slack_api_url.starts_with("http://") || slack_api_url.starts_with("https://")) {
            return Err(EnvError::Invalid {
                var: "SLACK_API_URL",
                value: slack_api_url,
                expected: "an http:// or https:// URL such as https://slack.com/api",
            });
        }
        let listen_addr = match get("LISTEN_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(value) => value.trim().parse().map_err(|_| EnvError::Invalid {
                var: "LISTEN_ADDR",
                value,
                expected: "an address and port such as 127.0.0.1:3000 or [::]:8080",
            })?,
        };
        let log_format = match get("LOG_FORMAT") {
            None => LogFormat::default(),
            Some(value) => value.parse().map_err(|()| EnvError::Invalid {
                var: "LOG_FORMAT",
                value,
                expected: "pretty or json",
            })?,
        };
        let duration = |var: &'static str, default| match get(var) {
            None => Ok(default),
            Some(value) => humantime::parse_duration(value.trim())
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or(EnvError::Invalid {
                    var,
                    value,
                    expected: "a duration above zero such as 75s or 500ms",
                }),
        };
        let http_read_timeout = duration("HTTP_READ_TIMEOUT", DEFAULT_HTTP_READ_TIMEOUT)?;
        let socket_ping_interval =
            duration("SLACK_SOCKET_PING_INTERVAL", DEFAULT_SOCKET_PING_INTERVAL)?;
        Ok(Env {
            bot_token: secret("SLACK_BOT_TOKEN"),
            signing_secret: secret("SLACK_SIGNING_SECRET"),
            app_token: secret("SLACK_APP_TOKEN"),
            slack_api_url,
            database_url: get("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://platform-desk.db".to_string()),
            config_path: get("PLATFORM_DESK_CONFIG").map(PathBuf::from),
            listen_addr,
            web_token: secret("WEB_TOKEN"),
            log_format,
            rust_log: get("RUST_LOG").unwrap_or_else(|| "info".to_string()),
            pagerduty_routing_key: secret("PAGERDUTY_ROUTING_KEY"),
            pagerduty_events_url: get("PAGERDUTY_EVENTS_URL")
                .unwrap_or_else(|| "https://events.pagerduty.com/v2/enqueue".to_string()),
            http_read_timeout,
            socket_ping_interval,
        })
    }

    /// Socket Mode when an app token is set; HTTP mode otherwise.
    pub fn socket_mode(&self) -> bool {
        self.app_token.is_some()
    }

    /// The bot token, which `serve` needs.
    pub fn require_bot_token(&self) -> Result<&Secret, EnvError> {
        self.bot_token.as_ref().ok_or(EnvError::Missing {
            var: "SLACK_BOT_TOKEN",
            needed_for: "the bot token (xoxb-...) is required to serve",
        })
    }

    /// The signing secret, which HTTP mode needs to verify Slack's requests.
    pub fn require_signing_secret(&self) -> Result<&Secret, EnvError> {
        self.signing_secret.as_ref().ok_or(EnvError::Missing {
            var: "SLACK_SIGNING_SECRET",
            needed_for: "HTTP mode (no SLACK_APP_TOKEN) verifies requests with it",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Env, EnvError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_lookup(|name| vars.get(name).cloned())
    }

    const SECRETS: [(&str, &str); 5] = [
        ("SLACK_BOT_TOKEN", "xoxb-bot-secret"),
        ("SLACK_SIGNING_SECRET", "signing-secret-value"),
        ("SLACK_APP_TOKEN", "xapp-app-secret"),
        ("WEB_TOKEN", "web-secret-value"),
        ("PAGERDUTY_ROUTING_KEY", "pagerduty-secret-value"),
    ];

    #[test]
    fn an_empty_environment_gives_the_contract_defaults() {
        let env = env(&[]).unwrap();
        assert!(env.bot_token.is_none() && env.signing_secret.is_none());
        assert!(env.app_token.is_none() && env.web_token.is_none());
        assert!(env.pagerduty_routing_key.is_none());
        assert_eq!(env.slack_api_url, "https://slack.com/api");
        assert_eq!(env.database_url, "sqlite://platform-desk.db");
        assert_eq!(env.config_path, None);
        assert_eq!(env.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(env.log_format, LogFormat::Pretty);
        assert_eq!(env.rust_log, "info");
        assert_eq!(env.http_read_timeout, DEFAULT_HTTP_READ_TIMEOUT);
        assert_eq!(env.socket_ping_interval, DEFAULT_SOCKET_PING_INTERVAL);
        assert!(!env.socket_mode());
    }

    #[test]
    fn every_variable_is_read() {
        let mut vars = SECRETS.to_vec();
        vars.extend([
            ("SLACK_API_URL", "http://127.0.0.1:9999/api/"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("PLATFORM_DESK_CONFIG", "/etc/platform-desk.toml"),
            ("LISTEN_ADDR", "0.0.0.0:8080"),
            ("LOG_FORMAT", "JSON"),
            ("RUST_LOG", "platform_desk=debug"),
            ("HTTP_READ_TIMEOUT", "750ms"),
            ("SLACK_SOCKET_PING_INTERVAL", "2s"),
        ]);
        let env = env(&vars).unwrap();
        assert_eq!(
            env.bot_token.as_ref().map(Secret::expose),
            Some("xoxb-bot-secret")
        );
        assert_eq!(
            env.signing_secret.as_ref().map(Secret::expose),
            Some("signing-secret-value")
        );
        assert_eq!(
            env.app_token.as_ref().map(Secret::expose),
            Some("xapp-app-secret")
        );
        assert_eq!(
            env.web_token.as_ref().map(Secret::expose),
            Some("web-secret-value")
        );
        let pagerduty = env.pagerduty_routing_key.as_ref().map(Secret::expose);
        assert_eq!(pagerduty, Some("pagerduty-secret-value"));
        assert_eq!(env.slack_api_url, "http://127.0.0.1:9999/api");
        assert_eq!(env.database_url, "sqlite::memory:");
        assert_eq!(
            env.config_path,
            Some(PathBuf::from("/etc/platform-desk.toml"))
        );
        assert_eq!(env.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(env.log_format, LogFormat::Json);
        assert_eq!(env.rust_log, "platform_desk=debug");
        assert_eq!(env.http_read_timeout, std::time::Duration::from_millis(750));
        assert!(env.socket_mode());
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = env(&[
            ("SLACK_BOT_TOKEN", ""),
            ("LISTEN_ADDR", ""),
            ("RUST_LOG", " "),
        ])
        .unwrap();
        assert!(env.bot_token.is_none());
        assert_eq!(env.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(env.rust_log, "info");
        assert!(env.require_bot_token().is_err());
    }

    #[test]
    fn invalid_values_are_errors_naming_the_variable() {
        let cases = [
            ("LISTEN_ADDR", "localhost"),
            ("LISTEN_ADDR", "127.0.0.1:99999"),
            ("LOG_FORMAT", "yaml"),
            ("SLACK_API_URL", "slack.com/api"),
            ("HTTP_READ_TIMEOUT", "soon"),
            ("HTTP_READ_TIMEOUT", "0s"),
            ("SLACK_SOCKET_PING_INTERVAL", "-1s"),
        ];
        for (var, value) in cases {
            let error = env(&[(var, value)]).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with(var), "{var}={value}: {message}");
            assert!(message.contains(value), "{var}={value}: {message}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output_or_errors() {
        let mut vars = SECRETS.to_vec();
        let env_ok = env(&vars).unwrap();
        vars.push(("LISTEN_ADDR", "nonsense"));
        let error = env(&vars).unwrap_err();
        let shown = format!("{env_ok:?} {env_ok:#?} {error} {error:?}");
        for (name, secret) in SECRETS {
            assert!(!shown.contains(secret), "{name} leaked: {shown}");
        }
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn missing_required_secrets_name_their_variable() {
        let env = env(&[]).unwrap();
        let bot = env.require_bot_token().unwrap_err().to_string();
        let signing = env.require_signing_secret().unwrap_err().to_string();
        assert!(bot.starts_with("SLACK_BOT_TOKEN is not set"), "{bot}");
        assert!(
            signing.starts_with("SLACK_SIGNING_SECRET is not set"),
            "{signing}"
        );
    }
}
