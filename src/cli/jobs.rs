//! `platform-desk jobs`: every scheduled job of the policy, its schedule in plain words, its
//! timezone, its last run (and outcome) and its next run, read from the database a running
//! bot may be using.

use super::{user_err, ListFormat};
use crate::jobs::list;
use crate::settings::{Env, Policy};
use crate::store;
use std::process::ExitCode;

pub(super) async fn run(
    format: ListFormat,
    env: &Env,
    policy: &Policy,
) -> anyhow::Result<ExitCode> {
    let url = &env.database_url;
    // Reading a database that is not there would make an empty one and show every job as
    // never run: a wrong DATABASE_URL must say so instead.
    let options: sqlx::sqlite::SqliteConnectOptions = url
        .parse()
        .map_err(|_| user_err(format!("DATABASE_URL is not a SQLite URL: {url}")))?;
    if !options.get_filename().exists() {
        return Err(user_err(format!(
            "no database at {} (check DATABASE_URL)",
            options.get_filename().display()
        )));
    }
    let pool = store::connect(url).await?;
    store::migrate(&pool).await?;
    let registry = crate::app::job_registry(policy);
    let jobs = list::statuses(&mut *pool.acquire().await?, &registry, chrono::Utc::now()).await;
    store::close(&pool).await;
    let jobs = jobs?;
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&jobs)?),
        ListFormat::Text => print!("{}", list::to_text(&jobs)),
    }
    Ok(ExitCode::SUCCESS)
}
