//! `platform-desk roadmap import FILE` and `roadmap export [--format toml|json]`, on the
//! database a running bot may be using; the work is `roadmap::file`'s.

use super::user_err;
use crate::roadmap::file::{self, ImportError};
use crate::store;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RoadmapCommand {
    /// Add or update the items of a TOML file (`[[item]]` with id = "RM-<n>"); idempotent
    Import { file: PathBuf },
    /// Print the roadmap (TOML, as import reads it, or JSON with linked tickets and followers)
    Export {
        #[arg(long, value_enum, default_value = "toml")]
        format: RoadmapFormat,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoadmapFormat {
    Toml,
    Json,
}

pub(super) async fn run(action: RoadmapCommand, database_url: &str) -> anyhow::Result<ExitCode> {
    // Validate the file before touching the database: a wrong file changes nothing.
    let text = match &action {
        RoadmapCommand::Import { file } => Some(
            std::fs::read_to_string(file)
                .map_err(|e| user_err(format!("cannot read {}: {e}", file.display())))?,
        ),
        RoadmapCommand::Export { .. } => None,
    };
    let pool = store::connect(database_url).await?;
    store::migrate(&pool).await?;
    let result = match (action, text) {
        (RoadmapCommand::Import { .. }, Some(text)) => {
            match file::import(&pool, &text, chrono::Utc::now()).await {
                Ok(s) => {
                    println!(
                        "roadmap imported: {} added, {} changed, {} unchanged{}",
                        s.added,
                        s.changed,
                        s.unchanged,
                        if s.told > 0 {
                            format!(", {} ship notices queued", s.told)
                        } else {
                            String::new()
                        }
                    );
                    Ok(())
                }
                Err(ImportError::Invalid(msg)) => Err(user_err(msg)),
                Err(e) => Err(e.into()),
            }
        }
        (RoadmapCommand::Export { format }, _) => match format {
            RoadmapFormat::Toml => file::export_toml(&pool).await.map(|t| print!("{t}")),
            RoadmapFormat::Json => match file::export_json(&pool).await {
                Ok(items) => serde_json::to_string_pretty(&items)
                    .map(|t| println!("{t}"))
                    .map_err(Into::into),
                Err(e) => Err(e),
            },
        },
        (RoadmapCommand::Import { .. }, None) => Ok(()),
    };
    store::close(&pool).await;
    result.map(|()| ExitCode::SUCCESS)
}
