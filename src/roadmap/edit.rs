//! Changing the roadmap: adding an item, setting its fields, linking a ticket, following.
//! Each is one transaction: the change, its history rows and, when an item ships, the ship
//! notices in the outbox. Only the platform team changes items; anyone follows.

use super::model::{Field, Item, Status};
use super::{db, messages, ship};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::outbox::{self, OutboxMessage};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// None when `actor` may change the roadmap, else the refusal to show them.
pub fn refusal(ctx: &Context, actor: &str) -> Option<String> {
    (!ctx.policy.is_platform_team(actor)).then(|| crate::domain::not_allowed("change the roadmap"))
}

/// What one change wrote: the fields that changed, and the outbox rows (ship notices).
#[derive(Debug, Default)]
pub struct Written {
    pub changed: Vec<Field>,
    pub messages: Vec<(Option<i64>, OutboxMessage)>,
    /// How many people were sent a ship notice.
    pub told: usize,
}

/// Sets each of `wanted` that differs from the item (values made by `Field::parse_value`),
/// one history row per changed field, in the caller's transaction. An item that becomes
/// shipped records who shipped it and writes its ship notices.
pub async fn apply_fields(
    conn: &mut SqliteConnection,
    item: &Item,
    wanted: &[(Field, Option<String>)],
    actor: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Written> {
    let mut current = item.clone();
    let mut written = Written::default();
    for (field, value) in wanted {
        if current.get(*field) == *value {
            continue;
        }
        db::set_field(conn, &current, *field, value.as_deref(), actor, now).await?;
        current.set(*field, value.clone());
        written.changed.push(*field);
    }
    if written.changed.contains(&Field::Status) && current.status == Status::Shipped {
        db::mark_shipped(conn, current.id, actor, now).await?;
        current.shipped_at = Some(now);
        let notices = ship::notices(conn, &current, actor, now).await?;
        written.told = notices.told;
        written.messages = notices.messages;
    }
    Ok(written)
}

/// Writes the outbox rows and commits; wakes the sender.
async fn commit(
    ctx: &Context,
    mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    messages: &[(Option<i64>, OutboxMessage)],
) -> Result<(), AppError> {
    if !messages.is_empty() {
        outbox::db::insert_all(&mut tx, messages, &db_time(ctx.clock.now())).await?;
    }
    tx.commit().await?;
    if !messages.is_empty() {
        ctx.outbox_wake.notify_one();
    }
    Ok(())
}

/// A new planned item with `title` and the optional `fields` (already validated), and what
/// `tell` says about it, in one transaction. None when `once` (a form's view id) was seen
/// before: a re-delivered submission adds nothing.
pub async fn add(
    ctx: &Context,
    actor: &str,
    title: &str,
    fields: &[(Field, Option<String>)],
    once: Option<&str>,
    tell: Option<&(dyn Fn(&Item) -> OutboxMessage + Sync)>,
) -> Result<Option<Item>, AppError> {
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    if let Some(key) = once {
        if !crate::context::inbox::add(&mut tx, key, &db_time(now)).await? {
            return Ok(None);
        }
    }
    let id = db::insert(&mut tx, None, title, actor, now).await?;
    let item = db::by_id(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Other(anyhow::anyhow!("item {id} vanished")))?;
    let mut written = apply_fields(&mut tx, &item, fields, actor, now).await?;
    let item = db::by_id(&mut tx, id).await?.unwrap_or(item);
    if let Some(tell) = tell {
        written.messages.push((None, tell(&item)));
    }
    commit(ctx, tx, &written.messages).await?;
    Ok(Some(item))
}

/// `roadmap set RM-<n> <field> <value>`: the reply to show.
pub async fn set(
    ctx: &Context,
    actor: &str,
    id: i64,
    field: Field,
    typed: &str,
) -> Result<String, AppError> {
    if let Some(no) = refusal(ctx, actor) {
        return Ok(no);
    }
    let value = match field.parse_value(typed) {
        Ok(v) => v,
        Err(why) => return Ok(messages::set_usage(&why)),
    };
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let Some(item) = db::by_id(&mut tx, id).await? else {
        return Ok(messages::no_such_item(id));
    };
    let written = apply_fields(
        &mut tx,
        &item,
        &[(field, value.clone())],
        actor,
        ctx.clock.now(),
    )
    .await?;
    commit(ctx, tx, &written.messages).await?;
    Ok(if written.changed.is_empty() {
        messages::unchanged(&item, field)
    } else {
        messages::set_done(&item, field, value.as_deref(), written.told)
    })
}

/// `roadmap link <TICKET-KEY> RM-<n>` and the card's control: the reply to show.
pub async fn link(
    ctx: &Context,
    actor: &str,
    ticket_key: &str,
    id: i64,
) -> Result<String, AppError> {
    if let Some(no) = refusal(ctx, actor) {
        return Ok(no);
    }
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let Some(item) = db::by_id(&mut tx, id).await? else {
        return Ok(messages::no_such_item(id));
    };
    let Some(ticket) = crate::tickets::db::by_key(&mut tx, ticket_key).await? else {
        return Ok(messages::no_such_ticket(ticket_key));
    };
    let new = db::link(&mut tx, id, ticket.id, actor, ctx.clock.now()).await?;
    tx.commit().await?;
    Ok(messages::linked(&item, &ticket.key, new))
}

/// `roadmap follow RM-<n>` and the Follow button: the reply to show.
pub async fn follow(ctx: &Context, user: &str, id: i64) -> Result<String, AppError> {
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let Some(item) = db::by_id(&mut tx, id).await? else {
        return Ok(messages::no_such_item(id));
    };
    let new = db::follow(&mut tx, id, user, ctx.clock.now()).await?;
    tx.commit().await?;
    Ok(messages::followed(&item, new))
}

/// The answer to a ship notice's buttons; false when `user` was sent no notice for it.
pub async fn answer(ctx: &Context, user: &str, id: i64, answer: &str) -> Result<bool, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(db::answer(&mut conn, id, user, answer, ctx.clock.now()).await?)
}
