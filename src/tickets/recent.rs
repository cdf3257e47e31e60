//! The ticket writer's memory of recent tickets per requester and per channel, with their
//! words already tokenized and hashed: duplicate detection on the request path costs merges
//! of short integer lists, not database reads and re-tokenizing. Filled from the database the first time a requester
//! or channel is seen; a match is confirmed still open before it is suggested.

use super::filer_db;
use crate::triage::similar;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Tickets remembered per requester and per channel.
const PER_KEY: usize = 10;
/// Past this many requesters and channels the memory starts over (bounded memory).
const MAX_KEYS: usize = 20_000;
/// How far back a duplicate may be.
const WINDOW_DAYS: i64 = 14;

struct Entry {
    id: i64,
    key: String,
    created_at: DateTime<Utc>,
    tokens: Arc<[u64]>,
    /// [`similar::signature`] of `tokens`: most candidates are ruled out by it alone.
    sig: u64,
}

/// The remembered tickets of requesters and of channels; a key present has been loaded
/// from the database (its list may be empty).
#[derive(Default)]
pub struct Recent {
    requesters: HashMap<String, VecDeque<Entry>>,
    channels: HashMap<String, VecDeque<Entry>>,
}

impl Recent {
    /// The open ticket a text most resembles, from the same requester or channel; `wanted`
    /// is the text's [`similar::token_hashes`].
    pub fn duplicate_of(
        &mut self,
        conn: &Connection,
        requester: &str,
        channel: Option<&str>,
        wanted: &[u64],
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Option<(i64, String)>> {
        if !self.requesters.contains_key(requester) {
            let list = load(conn, Some(requester), None, now)?;
            self.requesters.insert(requester.to_string(), list);
        }
        if let Some(c) = channel.filter(|c| !self.channels.contains_key(*c)) {
            let list = load(conn, None, Some(c), now)?;
            self.channels.insert(c.to_string(), list);
        }
        let since = now - Duration::days(WINDOW_DAYS);
        let mut candidates: Vec<&Entry> = self
            .requesters
            .get(requester)
            .into_iter()
            .chain(channel.and_then(|c| self.channels.get(c)))
            .flatten()
            .filter(|e| {
                e.created_at >= since
                    && similar::may_match(
                        wanted,
                        e.tokens.len(),
                        e.sig,
                        similar::DUPLICATE_THRESHOLD,
                    )
            })
            .collect();
        // Newest first: of equally similar tickets, the newest is suggested. A ticket of
        // the requester in the same channel is in both lists: compare it once.
        candidates.sort_by_key(|e| std::cmp::Reverse(e.id));
        candidates.dedup_by_key(|e| e.id);
        let best = similar::best_match(
            wanted,
            candidates.into_iter().map(|e| (e, &e.tokens[..])),
            similar::DUPLICATE_THRESHOLD,
        );
        let Some((entry, _)) = best else {
            return Ok(None);
        };
        let (id, key) = (entry.id, entry.key.clone());
        // It may have been resolved or merged since: only an open ticket is a duplicate.
        if filer_db::is_open(conn, id)? {
            Ok(Some((id, key)))
        } else {
            for list in self
                .requesters
                .values_mut()
                .chain(self.channels.values_mut())
            {
                list.retain(|e| e.id != id);
            }
            Ok(None)
        }
    }

    /// Remembers a ticket just filed, with its text's [`similar::token_hashes`].
    pub fn remember(
        &mut self,
        id: i64,
        key: &str,
        requester: &str,
        channel: Option<&str>,
        tokens: Arc<[u64]>,
        at: DateTime<Utc>,
    ) {
        if self.requesters.len() + self.channels.len() > MAX_KEYS {
            self.requesters.clear();
            self.channels.clear();
        }
        // A requester or channel not loaded yet is read from the database on its next
        // request, this ticket included.
        let lists = [
            self.requesters.get_mut(requester),
            channel.and_then(|c| self.channels.get_mut(c)),
        ];
        let sig = similar::signature(&tokens);
        for list in lists.into_iter().flatten() {
            list.push_front(Entry {
                id,
                key: key.to_string(),
                created_at: at,
                tokens: tokens.clone(),
                sig,
            });
            list.truncate(PER_KEY);
        }
    }
}

/// The recent open tickets of a requester or a channel, as the database has them.
fn load(
    conn: &Connection,
    requester: Option<&str>,
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> rusqlite::Result<VecDeque<Entry>> {
    let since = now - Duration::days(WINDOW_DAYS);
    let rows = filer_db::open_candidates(conn, requester, channel, since, PER_KEY)?;
    Ok(rows
        .into_iter()
        .map(|(id, key, text, created_at)| {
            let tokens: Arc<[u64]> = similar::token_hashes(&text).into();
            Entry {
                id,
                key,
                created_at,
                sig: similar::signature(&tokens),
                tokens,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::filer_db::FilerDb;

    /// A database with the sample ticket filed at `filed`, a connection to it, the ticket,
    /// and the token hashes of its title and description.
    async fn one_ticket_filed_at(
        filed: DateTime<Utc>,
    ) -> (
        tempfile::TempDir,
        Connection,
        crate::tickets::Ticket,
        Vec<u64>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        let pool = crate::store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        crate::store::migrate(&pool).await.unwrap();
        let mut db = FilerDb::open(&path).unwrap();
        let ticket = crate::domain::ticket::tests::sample();
        let tx = db.begin().unwrap();
        tx.statements()
            .unwrap()
            .insert_ticket(&ticket, &crate::clock::db_time(filed))
            .unwrap();
        tx.commit().unwrap();
        let conn = Connection::open(&path).unwrap();
        let wanted = similar::token_hashes(&format!("{} {}", ticket.title, ticket.description));
        (dir, conn, ticket, wanted)
    }

    #[tokio::test]
    async fn a_candidate_read_from_the_database_ages_out_by_when_it_was_filed() {
        let filed = "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let (_dir, conn, ticket, wanted) = one_ticket_filed_at(filed).await;
        let mut recent = Recent::default();
        let day = |n| filed + Duration::days(n);
        // Read from the database on day 13 (inside the window): suggested.
        assert_eq!(
            recent
                .duplicate_of(&conn, &ticket.requester, None, &wanted, day(13))
                .unwrap(),
            Some((ticket.id, ticket.key.clone()))
        );
        // Day 15: past the window counted from its filing, not from when it was read.
        assert_eq!(
            recent
                .duplicate_of(&conn, &ticket.requester, None, &wanted, day(15))
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_channel_candidate_read_from_the_database_is_suggested_to_another_requester() {
        let filed = "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let (_dir, conn, ticket, wanted) = one_ticket_filed_at(filed).await;
        let channel = ticket.channel.clone().unwrap();
        let later = filed + Duration::days(1);
        let mut recent = Recent::default();
        assert_eq!(
            recent
                .duplicate_of(&conn, "U0SOMEONE", Some(&channel), &wanted, later)
                .unwrap(),
            Some((ticket.id, ticket.key.clone()))
        );
        // Another channel knows nothing of it.
        assert_eq!(
            recent
                .duplicate_of(&conn, "U0SOMEONE", Some("C0ELSEWHERE"), &wanted, later)
                .unwrap(),
            None
        );
    }
}
