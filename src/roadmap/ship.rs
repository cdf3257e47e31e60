//! "Your request shipped": when an item ships, one direct message to each person whose ticket
//! is linked to it and to each follower (once per person per item, however many of their
//! tickets are linked), and a reply in each linked ticket's thread. The item's owner and the
//! person who shipped it hear it only if they follow it.

use super::model::Item;
use super::{db, messages};
use crate::outbox::OutboxMessage;
use crate::tickets::Ticket;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

pub struct Notices {
    pub messages: Vec<(Option<i64>, OutboxMessage)>,
    /// How many people get a direct message.
    pub told: usize,
}

/// The notices for `item`, which `shipper` just shipped, recorded in the caller's transaction
/// (`roadmap_ship_notices`), so nobody is told twice about one item.
pub async fn notices(
    conn: &mut SqliteConnection,
    item: &Item,
    shipper: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Notices> {
    let ids = db::linked_ticket_ids(conn, item.id).await?;
    let tickets = crate::tickets::db::by_ids(conn, &ids).await?;
    let followers = db::followers(conn, item.id).await?;
    let mut people: BTreeMap<&str, Vec<&Ticket>> = BTreeMap::new();
    for t in &tickets {
        people.entry(t.requester.as_str()).or_default().push(t);
    }
    for f in &followers {
        people.entry(f.as_str()).or_default();
    }
    let mut out = Vec::new();
    let mut told = 0;
    for (person, mut theirs) in people {
        let follows = followers.iter().any(|f| f == person);
        let involved = item.owner.as_deref() == Some(person) || person == shipper;
        if involved && !follows {
            continue;
        }
        if !db::add_notice(conn, item.id, person, now).await? {
            continue;
        }
        theirs.sort_by_key(|t| t.created_at);
        let body = messages::ship_dm(item, person, &theirs);
        out.push((None, OutboxMessage::post(person, body)));
        told += 1;
    }
    // The ticket's thread: the requester's, where the request was a message; otherwise the
    // card's in the intake channel (a command has no thread of its own, and its requester
    // already has the DM).
    for t in &tickets {
        let thread = match (t.requester_thread(), &t.card_channel, &t.card_ts) {
            ((channel, Some(thread)), _, _) => Some((channel, thread)),
            (_, Some(channel), Some(ts)) => Some((channel.clone(), ts.clone())),
            _ => None,
        };
        if let Some((channel, thread)) = thread {
            let body = messages::ship_thread(item, t, &channel, &thread);
            out.push((Some(t.id), OutboxMessage::post(&channel, body)));
        }
    }
    Ok(Notices {
        messages: out,
        told,
    })
}
