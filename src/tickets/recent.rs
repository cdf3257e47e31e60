//! The ticket writer's memory of recent tickets per requester and per channel, with their
//! words already tokenized and hashed: duplicate detection on the request path costs merges
//! of short integer lists, not database reads and re-tokenizing. Filled from the database the first time a requester
//! or channel is seen; a match is confirmed still open before it is suggested.

use super::filer_db;
use crate::triage::similar;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet, VecDeque};
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
}

#[derive(Default)]
pub struct Recent {
    by: HashMap<String, VecDeque<Entry>>,
    loaded: HashSet<String>,
}

fn requester_key(r: &str) -> String {
    format!("u:{r}")
}

fn channel_key(c: &str) -> String {
    format!("c:{c}")
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
        let keys: Vec<String> = std::iter::once(requester_key(requester))
            .chain(channel.map(channel_key))
            .collect();
        for (k, value) in keys.iter().zip([Some(requester), channel]) {
            if !self.loaded.contains(k) {
                self.load(
                    conn,
                    k,
                    requester,
                    value.filter(|_| k.starts_with("c:")),
                    now,
                )?;
            }
        }
        let since = now - Duration::days(WINDOW_DAYS);
        let mut candidates: Vec<&Entry> = keys
            .iter()
            .filter_map(|k| self.by.get(k))
            .flatten()
            .filter(|e| e.created_at >= since)
            .collect();
        // Newest first: of equally similar tickets, the newest is suggested.
        candidates.sort_by_key(|e| std::cmp::Reverse(e.id));
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
            for list in self.by.values_mut() {
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
        if self.by.len() > MAX_KEYS {
            self.by.clear();
            self.loaded.clear();
        }
        for k in std::iter::once(requester_key(requester)).chain(channel.map(channel_key)) {
            if !self.loaded.contains(&k) {
                // Not loaded yet: the next request from it reads the database, this one too.
                continue;
            }
            let list = self.by.entry(k).or_default();
            list.push_front(Entry {
                id,
                key: key.to_string(),
                created_at: at,
                tokens: tokens.clone(),
            });
            list.truncate(PER_KEY);
        }
    }

    fn load(
        &mut self,
        conn: &Connection,
        k: &str,
        requester: &str,
        channel: Option<&str>,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        let since = now - Duration::days(WINDOW_DAYS);
        let (who, ch) = if k.starts_with("u:") {
            (Some(requester), None)
        } else {
            (None, channel)
        };
        let rows = filer_db::open_candidates(conn, who, ch, since, PER_KEY)?;
        let list: VecDeque<Entry> = rows
            .into_iter()
            .map(|(id, key, text, created_at)| Entry {
                id,
                key,
                created_at,
                tokens: similar::token_hashes(&text).into(),
            })
            .collect();
        self.by.insert(k.to_string(), list);
        self.loaded.insert(k.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::filer_db::FilerDb;

    #[tokio::test]
    async fn a_candidate_read_from_the_database_ages_out_by_when_it_was_filed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desk.db");
        let pool = crate::store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        crate::store::migrate(&pool).await.unwrap();
        let mut db = FilerDb::open(&path).unwrap();
        let filed = "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let ticket = crate::tickets::tests::sample();
        let text = format!("{} {}", ticket.title, ticket.description);
        let tx = db.begin().unwrap();
        tx.insert_ticket(&ticket, &crate::clock::db_time(filed))
            .unwrap();
        tx.commit().unwrap();

        let conn = Connection::open(&path).unwrap();
        let wanted = similar::token_hashes(&text);
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
}
