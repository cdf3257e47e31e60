//! `platform-desk stats`: the report for the last N days, as text or as the stats JSON.

use crate::settings::Policy;
use crate::store;
use std::io::Write;
use std::process::ExitCode;

pub async fn run(
    database_url: &str,
    policy: &Policy,
    days: u32,
    filters: &super::Filters,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let pool = store::connect(database_url).await?;
    store::migrate(&pool).await?;
    let report = super::report(
        &mut *pool.acquire().await?,
        policy,
        days,
        filters,
        chrono::Utc::now(),
    )
    .await;
    store::close(&pool).await;
    let report = report?;
    let out = if json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        super::text::render(&report)
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
