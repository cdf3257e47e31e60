//! The command line: `serve`, `sandbox`, `migrate`, `config check`, `export`, `outbox`; exit
//! codes 0 (done), 1 (the user's input or config is wrong, one line on stderr), 2 (anything
//! else).

use crate::app;
use crate::clock::SystemClock;
use crate::settings::{Env, Policy, Settings};
use crate::{store, telemetry};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "platform-desk",
    version,
    about = "Platform-team intake, SLAs and support metrics in Slack"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode)
    Serve,
    /// Run the bot against the built-in Slack simulator: no workspace, no tokens
    Sandbox {
        /// Address of the sandbox's page [default: LISTEN_ADDR, else 127.0.0.1:3000]
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit
    Migrate,
    /// Policy file tools
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Export data from the database
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// The messages Slack never took, and sending them again
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List the messages given up on (after delivery.max_attempts, or refused by Slack)
    Failed {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Put failed messages back in the queue, attempts reset: the bot sends them again
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all"])))]
    Retry {
        /// The id of the row (from `outbox failed`)
        id: Option<i64>,
        /// Every failed row
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every ticket, one record each
    Tickets {
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Only tickets created in the last N days
        #[arg(long)]
        days: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a policy file (default: PLATFORM_DESK_CONFIG, else the built-in policy)
    Check { file: Option<PathBuf> },
}

/// An error the user can fix: printed as one line, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return command_line_error(err),
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if let Some(user) = err.downcast_ref::<UserError>() {
                eprintln!("error: {user}");
                ExitCode::from(1)
            } else {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        }
    }
}

/// `--help` and `--version` print as clap prints them (exit 0). A command line that does not
/// parse is the user's error: one line on stderr and exit 1, as for any other bad input
/// (clap's own would be several lines and exit 2, which means "anything else").
fn command_line_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("error: the command is incomplete; add --help to see what it takes");
            ExitCode::from(1)
        }
        _ => {
            eprintln!("{}", one_line(&err.render().to_string()));
            ExitCode::from(1)
        }
    }
}

/// Clap's error text on one line: its message, the values it offers and its tip, without
/// the usage block and the pointer to `--help` (added back once, shorter).
fn one_line(rendered: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"))
        .collect();
    format!(
        "{} (see --help)",
        parts.join(" ").replace(" tip:", "; tip:")
    )
}

fn user_err(e: impl std::fmt::Display) -> anyhow::Error {
    UserError(e.to_string()).into()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config {
            action: ConfigCommand::Check { file },
        } => config_check(file),
        Command::Migrate => {
            let env = Env::from_env().map_err(user_err)?;
            telemetry::init(env.log_format, &env.rust_log);
            runtime()?.block_on(async {
                let pool = store::connect(&env.database_url).await?;
                store::migrate(&pool).await?;
                store::close(&pool).await;
                println!("migrations applied to {}", env.database_url);
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Serve => {
            let env = Env::from_env().map_err(user_err)?;
            if env.bot_token.is_none() {
                return Err(user_err("SLACK_BOT_TOKEN is required for serve (try `platform-desk sandbox` to run without Slack)"));
            }
            if env.app_token.is_none() && env.signing_secret.is_none() {
                return Err(user_err("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"));
            }
            let policy = Policy::load(env.config_path.as_deref()).map_err(user_err)?;
            telemetry::init(env.log_format, &env.rust_log);
            runtime()?.block_on(async {
                let running = app::start(Settings { env, policy }, Arc::new(SystemClock)).await?;
                wait_for_signal().await;
                tracing::info!("shutting down");
                running.shutdown().await;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Export {
            what: ExportCommand::Tickets { format, days },
        } => {
            let env = Env::from_env().map_err(user_err)?;
            runtime()?.block_on(async {
                let pool = store::connect(&env.database_url).await?;
                store::migrate(&pool).await?;
                let now = chrono::Utc::now();
                let records =
                    crate::tickets::export::records(&mut *pool.acquire().await?, days, now).await?;
                store::close(&pool).await;
                let out = match format {
                    ExportFormat::Json => serde_json::to_string_pretty(&records)? + "\n",
                    ExportFormat::Csv => crate::tickets::export::to_csv(&records),
                };
                use std::io::Write;
                std::io::stdout().write_all(out.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Outbox { action } => {
            let env = Env::from_env().map_err(user_err)?;
            runtime()?.block_on(outbox(action, &env.database_url))
        }
        Command::Sandbox { addr } => {
            let env = Env::from_env().map_err(user_err)?;
            telemetry::init(env.log_format, &crate::sandbox::log_filter(&env.rust_log));
            let addr = addr.unwrap_or(env.listen_addr);
            runtime()?.block_on(crate::sandbox::run(addr, env))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `outbox failed` and `outbox retry`, on the database a running bot may be using: each is
/// one short transaction, and the bot's sender finds requeued rows on its next pass.
async fn outbox(action: OutboxCommand, database_url: &str) -> anyhow::Result<ExitCode> {
    use crate::outbox::db;
    // Reading a database that is not there would make an empty one and report nothing
    // failed: a wrong DATABASE_URL must say so instead.
    let options: sqlx::sqlite::SqliteConnectOptions = database_url
        .parse()
        .map_err(|_| user_err(format!("DATABASE_URL is not a SQLite URL: {database_url}")))?;
    if !options.get_filename().exists() {
        return Err(user_err(format!(
            "no database at {} (check DATABASE_URL)",
            options.get_filename().display()
        )));
    }
    let pool = store::connect(database_url).await?;
    store::migrate(&pool).await?;
    let result = async {
        match action {
            OutboxCommand::Failed { format } => {
                let rows = db::failed(&mut *pool.acquire().await?).await?;
                match format {
                    ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                    ListFormat::Text if rows.is_empty() => println!("no failed outbox rows"),
                    ListFormat::Text => print!("{}", failed_table(&rows)),
                }
                Ok(ExitCode::SUCCESS)
            }
            OutboxCommand::Retry { id, .. } => {
                let mut tx = pool.begin_with("begin immediate").await?;
                if let Some(id) = id {
                    match db::status_of(&mut tx, id).await?.as_deref() {
                        None => return Err(user_err(format!("there is no outbox row {id}"))),
                        Some("failed") => {}
                        Some(status) => {
                            return Err(user_err(format!(
                                "outbox row {id} is {status}, not failed: nothing to retry"
                            )))
                        }
                    }
                }
                let mut requeued = db::requeue(&mut tx, id).await?;
                tx.commit().await?;
                requeued.sort_by_key(|row| row.id);
                if requeued.is_empty() {
                    println!("no failed outbox rows: nothing to retry");
                }
                for row in &requeued {
                    println!("requeued {} {} to {}", row.id, row.method, row.channel);
                }
                if !requeued.is_empty() {
                    println!(
                        "{} row(s) pending again, attempts reset: a running bot sends them \
                         within a minute, a stopped one when it starts",
                        requeued.len()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    }
    .await;
    store::close(&pool).await;
    result
}

/// Failed rows as an aligned table, one line each (an error's own line breaks flattened).
fn failed_table(rows: &[crate::outbox::db::FailedRow]) -> String {
    let header = [
        "ID",
        "METHOD",
        "CHANNEL",
        "TICKET",
        "ATTEMPTS",
        "WRITTEN (UTC)",
        "LAST ERROR",
    ];
    let lines: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            [
                row.id.to_string(),
                row.method.clone(),
                row.channel.clone(),
                row.ticket.clone().unwrap_or_else(|| "-".into()),
                row.attempts.to_string(),
                row.created_at.clone(),
                row.last_error
                    .as_deref()
                    .unwrap_or("-")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for line in std::iter::once(&header).chain(&lines) {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn config_check(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = match file {
        Some(path) => Some(path),
        None => Env::from_env().map_err(user_err)?.config_path,
    };
    let Some(path) = path else {
        let policy = Policy::builtin();
        println!("built-in policy: OK\n\n{}", policy.sla_table());
        return Ok(ExitCode::SUCCESS);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| user_err(format!("cannot read {}: {e}", path.display())))?;
    match Policy::parse(&text) {
        Ok(policy) => {
            println!("{}: OK\n\n{}", path.display(), policy.sla_table());
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in &problems {
                println!("{}: {problem}", path.display());
            }
            eprintln!("error: {} problem(s) in {}", problems.len(), path.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// SIGTERM (how orchestrators stop us) or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
