//! The sandbox's own SQL: the demo roadmap written beside the demo history into a new
//! database (migration 18's tables), some items linked to demo tickets.

use crate::clock::db_time;
use chrono::{DateTime, Duration, Utc};
use sqlx::SqliteConnection;

/// One demo item: title, status, target, owner, health, and how many days ago it was
/// created and last changed.
struct Demo {
    title: &'static str,
    status: &'static str,
    target: Option<&'static str>,
    owner: &'static str,
    health: Option<&'static str>,
    created_days_ago: i64,
    changed_days_ago: i64,
}

const ITEMS: &[Demo] = &[
    Demo {
        title: "Preview environments for every pull request",
        status: "in_progress",
        target: Some("2027-Q1"),
        owner: "U01ALICE",
        health: Some("on_track"),
        created_days_ago: 60,
        changed_days_ago: 2,
    },
    Demo {
        title: "Self-service Postgres databases",
        status: "in_progress",
        target: Some("2027-Q2"),
        owner: "U01BOB",
        health: Some("at_risk"),
        created_days_ago: 80,
        // Unchanged for three weeks: its owner gets the stale reminder on a weekday.
        changed_days_ago: 21,
    },
    Demo {
        title: "Faster CI: cached builds",
        status: "shipped",
        target: Some("2026-Q4"),
        owner: "U01ALICE",
        health: Some("on_track"),
        created_days_ago: 120,
        changed_days_ago: 3,
    },
    Demo {
        title: "Secrets rotation without downtime",
        status: "planned",
        target: Some("2027-Q2"),
        owner: "U01BOB",
        health: None,
        created_days_ago: 30,
        changed_days_ago: 30,
    },
    Demo {
        title: "Golden path for new services",
        status: "planned",
        target: Some("2027-Q3"),
        owner: "U01ALICE",
        health: None,
        created_days_ago: 1,
        changed_days_ago: 1,
    },
];

/// Writes the demo roadmap when there is none; true when it did. Items are linked to the
/// oldest open demo tickets (the first two items) and to resolved ones (the shipped item).
pub async fn seed_roadmap(conn: &mut SqliteConnection, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let items: i64 = sqlx::query_scalar("select count(*) from roadmap_items")
        .fetch_one(&mut *conn)
        .await?;
    if items > 0 {
        return Ok(false);
    }
    for (n, item) in ITEMS.iter().enumerate() {
        let id = n as i64 + 1;
        let created = now - Duration::days(item.created_days_ago);
        let changed = now - Duration::days(item.changed_days_ago);
        let shipped = (item.status == "shipped").then(|| db_time(changed));
        sqlx::query(
            "insert into roadmap_items (id, title, status, target, owner, health, created_at, \
             updated_at, shipped_at, shipped_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(item.title)
        .bind(item.status)
        .bind(item.target)
        .bind(item.owner)
        .bind(item.health)
        .bind(db_time(created))
        .bind(db_time(changed))
        .bind(&shipped)
        .bind(shipped.as_ref().map(|_| item.owner))
        .execute(&mut *conn)
        .await?;
        change(
            conn,
            id,
            "created",
            None,
            Some("planned"),
            item.owner,
            created,
        )
        .await?;
        if item.status != "planned" {
            let old = if item.status == "shipped" {
                "in_progress"
            } else {
                "planned"
            };
            change(
                conn,
                id,
                "status",
                Some(old),
                Some(item.status),
                item.owner,
                changed,
            )
            .await?;
        }
        if id > 3 {
            continue; // the planned items have no tickets yet
        }
        let tickets: Vec<i64> = sqlx::query_scalar(if item.status == "shipped" {
            "select id from tickets where status in ('resolved', 'closed') order by id limit 3"
        } else {
            "select id from tickets where status in ('open', 'acknowledged', 'waiting') \
             and id not in (select ticket_id from roadmap_links) order by id limit 2"
        })
        .fetch_all(&mut *conn)
        .await?;
        for ticket in tickets {
            sqlx::query(
                "insert into roadmap_links (item_id, ticket_id, linked_by, linked_at) \
                 values (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(ticket)
            .bind(item.owner)
            .bind(db_time(changed))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(true)
}

async fn change(
    conn: &mut SqliteConnection,
    id: i64,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into roadmap_changes (item_id, field, old, new, actor, at) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(field)
    .bind(old)
    .bind(new)
    .bind(actor)
    .bind(db_time(at))
    .execute(conn)
    .await?;
    Ok(())
}
