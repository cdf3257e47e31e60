//! The roadmap in the open: items `RM-<n>` with their status, target, owner, health and
//! history; the tickets linked to them and the people who follow them; and, when an item
//! ships, one "your request shipped" message per person. Shown to anyone, changed by the
//! platform team, kept in git as a TOML file (`file`).

pub mod actions;
pub mod db;
pub mod edit;
pub mod file;
pub mod messages;
pub mod model;
pub mod ship;

use crate::context::{AppError, Context};
use chrono::Duration;
use model::{Item, Status};
use serde_json::Value;

/// How far back "recently shipped" reaches.
const RECENTLY_SHIPPED_DAYS: i64 = 90;
/// How much of an item's history `show` lists.
const HISTORY_SHOWN: i64 = 15;

/// `/platform roadmap`: in progress, next up (planned), recently shipped.
pub async fn overview(ctx: &Context) -> Result<Value, AppError> {
    let items = db::all(&mut *ctx.pool.acquire().await?).await?;
    let now = ctx.clock.now();
    let of = |s: Status| -> Vec<Item> { items.iter().filter(|i| i.status == s).cloned().collect() };
    let in_progress = of(Status::InProgress);
    let planned = of(Status::Planned);
    let since = now - Duration::days(RECENTLY_SHIPPED_DAYS);
    let mut shipped: Vec<Item> = of(Status::Shipped)
        .into_iter()
        .filter(|i| i.shipped_at.unwrap_or(i.updated_at) >= since)
        .collect();
    shipped.sort_by_key(|i| std::cmp::Reverse(i.shipped_at.unwrap_or(i.updated_at)));
    Ok(messages::overview(&[
        ("In progress", &in_progress, in_progress.len()),
        ("Next up", &planned, planned.len()),
        ("Recently shipped", &shipped, shipped.len()),
    ]))
}

/// `/platform roadmap show RM-<n>`: the reply.
pub async fn show(ctx: &Context, id: i64) -> Result<String, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    let Some(item) = db::by_id(&mut conn, id).await? else {
        return Ok(messages::no_such_item(id));
    };
    let history = db::changes(&mut conn, id, HISTORY_SHOWN).await?;
    let ids = db::linked_ticket_ids(&mut conn, id).await?;
    let tickets = crate::tickets::db::by_ids(&mut conn, &ids).await?;
    let followers = db::followers(&mut conn, id).await?.len();
    let answers = db::ship_answers(&mut conn, id).await?;
    Ok(messages::show(
        &item, &history, &tickets, followers, answers,
    ))
}
