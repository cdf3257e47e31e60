//! The SLA timers' SQL: writing a ticket's planned timers, finding the due ones, marking
//! them fired or cancelled, and splitting chains (see migration 0005).

use super::timers::{chain, later_text, parse_later, Due, Kind, Planned};
use crate::clock::{db_time, parse_db_time};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// Whether any chain's head is due at `now` (a read: no write lock).
pub async fn has_due_chains(conn: &mut SqliteConnection, now: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from timers \
         where status = 'pending' and due_at <= ? and later is not null)",
    )
    .bind(db_time(now))
    .fetch_one(conn)
    .await
}

/// Chains whose head is due at `now` are split, at most `limit` per call: the later timers
/// already due become rows of their own (so they fire in this pass, as if they had always
/// been rows), and the rest stays chained on the first one not yet due. Returns how many
/// chains were split.
pub async fn split_due_chains(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<usize> {
    let heads: Vec<(i64, i64, String)> = sqlx::query_as(
        "select id, ticket_id, later from timers \
         where status = 'pending' and due_at <= ? and later is not null \
         order by due_at, id limit ?",
    )
    .bind(db_time(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut rows = Vec::new();
    for (_, ticket, later) in &heads {
        let plan = parse_later(later);
        let cut = plan.partition_point(|p| p.due_at <= now);
        let (due, rest) = plan.split_at(cut);
        rows.extend(due.iter().map(|p| (*ticket, *p, 0, None)));
        if let Some((next, more)) = rest.split_first() {
            rows.push((
                *ticket,
                *next,
                0,
                (!more.is_empty()).then(|| later_text(more)),
            ));
        }
    }
    insert_rows(conn, &rows).await?;
    let ids: Vec<i64> = heads.iter().map(|(id, _, _)| *id).collect();
    for chunk in ids.chunks(900) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("update timers set later = null where id in ");
        crate::store::push_id_list(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(heads.len())
}

/// Inserts timers `(ticket, timer, round)` for many tickets, none chained.
pub async fn insert_all(
    conn: &mut SqliteConnection,
    rows: &[(i64, Planned, i64)],
) -> sqlx::Result<()> {
    let rows: Vec<_> = rows
        .iter()
        .map(|(t, p, round)| (*t, *p, *round, None))
        .collect();
    insert_rows(conn, &rows).await
}

/// Inserts timer rows `(ticket, timer, round, later)` in one statement per 1000.
async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: &[(i64, Planned, i64, Option<String>)],
) -> sqlx::Result<()> {
    for chunk in rows.chunks(1000) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("insert into timers (ticket_id, kind, due_at, round, later) ");
        q.push_values(chunk, |mut row, (ticket, p, round, later)| {
            row.push_bind(*ticket)
                .push_bind(p.kind.as_str())
                .push_bind(db_time(p.due_at))
                .push_bind(*round)
                .push_bind(later.clone());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces a ticket's pending warnings and breaches with `plan`, as one chained row
/// (escalations stay).
pub async fn replace(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    plan: &[Planned],
) -> sqlx::Result<()> {
    sqlx::query("update timers set status = 'cancelled' where ticket_id = ? and status = 'pending' and kind != 'escalate'")
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    let Some((head, later)) = chain(plan) else {
        return Ok(());
    };
    insert_rows(conn, &[(ticket_id, head, 0, later)]).await
}

/// Stops a ticket's escalation.
pub async fn cancel_escalations(conn: &mut SqliteConnection, ticket_id: i64) -> sqlx::Result<()> {
    sqlx::query("update timers set status = 'cancelled' where ticket_id = ? and status = 'pending' and kind = 'escalate'")
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The earliest pending timer's due time.
pub async fn next_due(conn: &mut SqliteConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    let next: Option<String> = sqlx::query_scalar(
        "select due_at from timers where status = 'pending' order by due_at limit 1",
    )
    .fetch_optional(conn)
    .await?;
    Ok(next.as_deref().and_then(parse_db_time))
}

/// Pending timers due at or before `now`, earliest first.
pub async fn due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<Due>> {
    let rows = sqlx::query(
        "select id, ticket_id, kind, due_at, round from timers where status = 'pending' and due_at <= ? \
         order by due_at, id limit ?",
    )
    .bind(db_time(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Due {
                id: r.try_get("id").ok()?,
                ticket_id: r.try_get("ticket_id").ok()?,
                kind: Kind::parse(r.try_get::<&str, _>("kind").ok()?)?,
                due_at: parse_db_time(r.try_get::<&str, _>("due_at").ok()?)?,
                round: r.try_get("round").ok()?,
            })
        })
        .collect())
}

/// Marks a timer fired; false if it was no longer pending (fired or cancelled elsewhere).
pub async fn mark_fired(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
    late: bool,
) -> sqlx::Result<bool> {
    let r = sqlx::query("update timers set status = 'fired', fired_at = ?, late = ? where id = ? and status = 'pending'")
        .bind(db_time(now))
        .bind(late)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks many timers fired at once; returns the ids that were still pending (the others
/// were fired or cancelled elsewhere). Those due before `late_before` are marked late.
pub async fn mark_fired_many(
    conn: &mut SqliteConnection,
    ids: &[i64],
    now: DateTime<Utc>,
    late_before: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    let mut fired = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(900) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("update timers set status = 'fired', fired_at = ");
        q.push_bind(db_time(now))
            .push(", late = (due_at < ")
            .push_bind(db_time(late_before))
            .push(") where status = 'pending' and id in ");
        crate::store::push_id_list(&mut q, chunk);
        q.push(" returning id");
        for row in q.build().fetch_all(&mut *conn).await? {
            fired.push(row.try_get("id")?);
        }
    }
    Ok(fired)
}

/// Stops the escalation of many tickets.
pub async fn cancel_escalations_many(
    conn: &mut SqliteConnection,
    ticket_ids: &[i64],
) -> sqlx::Result<()> {
    for chunk in ticket_ids.chunks(900) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("update timers set status = 'cancelled' where status = 'pending' and kind = 'escalate' and ticket_id in ");
        crate::store::push_id_list(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Moves a pending timer (a warning held for quiet hours).
pub async fn postpone(conn: &mut SqliteConnection, id: i64, to: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("update timers set due_at = ? where id = ? and status = 'pending'")
        .bind(db_time(to))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
