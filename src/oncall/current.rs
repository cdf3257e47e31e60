//! Who is on call right now (and next), from the policy's rotation and the stored
//! overrides; `None` when the policy has no `[oncall]`.

use super::{db, rotation};
use crate::context::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;

/// How far ahead overrides are read to answer "until when" and "who is next".
const LOOKAHEAD_DAYS: i64 = 120;

pub async fn now_and_next(
    app: &Context,
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<(rotation::OnCall, Option<rotation::OnCall>)>> {
    let Some(policy) = &app.policy.oncall else {
        return Ok(None);
    };
    let tz = app.policy.sla.timezone;
    let overrides = db::overrides_covering(conn, at, at + Duration::days(LOOKAHEAD_DAYS)).await?;
    let now = rotation::on_call(policy, tz, &overrides, at);
    let next = rotation::next(policy, tz, &overrides, at);
    Ok(Some((now, next)))
}

/// The user on call at `at`.
pub async fn user(
    app: &Context,
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<String>> {
    Ok(now_and_next(app, conn, at).await?.map(|(now, _)| now.user))
}
