//! The command line: `serve`, `sandbox`, `migrate`, `config check`, `stats`, `export`,
//! `seed-demo`, `outbox`, `jobs`; exit codes 0 (done), 1 (the user's input or config is
//! wrong, one line on stderr), 2 (anything else).

use crate::app;
use crate::clock::SystemClock;
use crate::context::workers::Workers;
use crate::settings::{Env, Policy, Settings};
use crate::{store, telemetry};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod jobs;
mod outbox;
mod roadmap;

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
    /// The support report: tickets, response and resolution times, breaches
    Stats {
        /// The window: the last N days (1 or more)
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
        /// Only tickets of this priority (e.g. P1)
        #[arg(long)]
        priority: Option<String>,
        /// Only tickets of this category
        #[arg(long)]
        category: Option<String>,
        /// Only tickets requested from this channel (its ID)
        #[arg(long)]
        channel: Option<String>,
    },
    /// Export data from the database
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Fill the database with plausible, deterministic ticket history (demo data)
    SeedDemo {
        /// How many tickets to write
        #[arg(long)]
        tickets: u64,
        /// Spread over the last D days
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// The same seed gives the same history (for the same moment and policy)
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Every scheduled job: schedule in plain words, timezone, last run, next run
    Jobs {
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// The messages Slack never took, and sending them again
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
    /// The roadmap as a TOML file: import (upsert by id) and export
    Roadmap {
        #[command(subcommand)]
        action: roadmap::RoadmapCommand,
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
    Check {
        file: Option<PathBuf>,
        /// Replay the last days' tickets (DATABASE_URL) under this proposed policy and show
        /// breaches and warnings per priority, now vs proposed
        #[arg(long, value_name = "PROPOSED")]
        what_if: Option<PathBuf>,
        /// With --what-if: how many days of tickets to replay
        #[arg(long, default_value_t = 30, requires = "what_if")]
        days: u32,
        /// With --what-if: text or json
        #[arg(long, value_enum, default_value = "text", requires = "what_if")]
        format: ListFormat,
    },
}

pub use crate::app::UserError;

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
            action:
                ConfigCommand::Check {
                    file,
                    what_if: Some(proposed),
                    days,
                    format,
                },
        } => what_if(file, &proposed, days, format),
        Command::Config {
            action: ConfigCommand::Check { file, .. },
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
            let workers = Arc::new(Workers::default());
            serve_runtime(&workers)?.block_on(async {
                let stop = app::stop_signal();
                let settings = Settings { env, policy };
                let running = app::start(settings, Arc::new(SystemClock), workers).await?;
                stop.await;
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
                let out = std::io::stdout().lock();
                match format {
                    ExportFormat::Json => {
                        crate::tickets::export::write_json(&pool, days, now, out).await?
                    }
                    ExportFormat::Csv => {
                        crate::tickets::export::write_csv(&pool, days, now, out).await?
                    }
                };
                store::close(&pool).await;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Stats {
            days,
            format,
            priority,
            category,
            channel,
        } => {
            let env = Env::from_env().map_err(user_err)?;
            let policy = Policy::load(env.config_path.as_deref()).map_err(user_err)?;
            if let Some(p) = priority.as_deref().filter(|p| policy.priority(p).is_none()) {
                return Err(user_err(format!(
                    "--priority {p}: the policy has no such priority"
                )));
            }
            let filters = crate::stats::Filters {
                priority,
                category,
                channel,
            };
            runtime()?.block_on(crate::stats::cli::run(
                &env.database_url,
                &policy,
                days,
                &filters,
                matches!(format, ListFormat::Json),
            ))
        }
        Command::SeedDemo {
            tickets,
            days,
            seed,
        } => seed_demo(crate::seed::Options {
            tickets,
            days,
            seed,
        }),
        Command::Jobs { format } => {
            let env = Env::from_env().map_err(user_err)?;
            let policy = Policy::load(env.config_path.as_deref()).map_err(user_err)?;
            runtime()?.block_on(jobs::run(format, &env, &policy))
        }
        Command::Outbox { action } => {
            let env = Env::from_env().map_err(user_err)?;
            runtime()?.block_on(outbox::run(action, &env.database_url))
        }
        Command::Roadmap { action } => {
            let env = Env::from_env().map_err(user_err)?;
            runtime()?.block_on(roadmap::run(action, &env.database_url))
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

fn config_check(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = match file {
        Some(path) => Some(path),
        None => Env::from_env().map_err(user_err)?.config_path,
    };
    let Some(path) = path else {
        let policy = Policy::builtin();
        let (sla, schedules) = (policy.sla_table(), policy.schedules_table());
        println!("built-in policy: OK\n\n{sla}\n{schedules}");
        return Ok(ExitCode::SUCCESS);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| user_err(format!("cannot read {}: {e}", path.display())))?;
    match Policy::parse(&text) {
        Ok(policy) => {
            let (sla, schedules) = (policy.sla_table(), policy.schedules_table());
            println!("{}: OK\n\n{sla}\n{schedules}", path.display());
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

/// `config check --what-if PROPOSED`: the current policy (FILE, else PLATFORM_DESK_CONFIG,
/// else the built-in) against the proposed one over the stored tickets.
fn what_if(
    file: Option<PathBuf>,
    proposed_path: &std::path::Path,
    days: u32,
    format: ListFormat,
) -> anyhow::Result<ExitCode> {
    let env = Env::from_env().map_err(user_err)?;
    let text = std::fs::read_to_string(proposed_path)
        .map_err(|e| user_err(format!("cannot read {}: {e}", proposed_path.display())))?;
    let proposed = match Policy::parse(&text) {
        Ok(policy) => policy,
        Err(problems) => {
            for problem in &problems {
                println!("{}: {problem}", proposed_path.display());
            }
            eprintln!(
                "error: {} problem(s) in {}",
                problems.len(),
                proposed_path.display()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let current = Policy::load(file.as_deref().or(env.config_path.as_deref())).map_err(user_err)?;
    runtime()?.block_on(async {
        let pool = store::connect(&env.database_url).await?;
        store::migrate(&pool).await?;
        let report =
            crate::what_if::compare(&pool, &current, &proposed, days, chrono::Utc::now()).await?;
        store::close(&pool).await;
        match format {
            ListFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            ListFormat::Text => print!(
                "{}",
                crate::what_if::text(&report, &proposed_path.display().to_string())
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn seed_demo(opts: crate::seed::Options) -> anyhow::Result<ExitCode> {
    let env = Env::from_env().map_err(user_err)?;
    let policy = Policy::load(env.config_path.as_deref()).map_err(user_err)?;
    runtime()?.block_on(async {
        let pool = store::connect(&env.database_url).await?;
        store::migrate(&pool).await?;
        let started = std::time::Instant::now();
        let done = crate::seed::seed(&pool, &policy, &opts, chrono::Utc::now()).await?;
        store::close(&pool).await;
        println!(
            "seeded {} tickets ({} to {}), {} events, {} open, {} breached, {} timers in {:.1?}",
            done.tickets,
            done.first_key.as_deref().unwrap_or("-"),
            done.last_key.as_deref().unwrap_or("-"),
            done.events,
            done.open,
            done.breached,
            done.timers,
            started.elapsed()
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The runtime of a running bot: its workers counted, so the ticket writer can wait for
/// the requests they are still reading (`context::workers`).
fn serve_runtime(workers: &Arc<Workers>) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    workers.count(&mut builder);
    Ok(builder.enable_all().build()?)
}
