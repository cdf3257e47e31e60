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
        let mut best: Option<(&Entry, f64)> = None;
        for entry in keys.iter().filter_map(|k| self.by.get(k)).flatten() {
            if entry.created_at < since {
                continue;
            }
            let (shared, score) = similar::hashes_overlap(wanted, &entry.tokens);
            if shared >= similar::MIN_SHARED_TOKENS
                && score >= similar::DUPLICATE_THRESHOLD
                && best.is_none_or(|(b, s)| score > s || (score == s && entry.id > b.id))
            {
                best = Some((entry, score));
            }
        }
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
            .map(|(id, key, text)| Entry {
                id,
                key,
                created_at: now,
                tokens: similar::token_hashes(&text).into(),
            })
            .collect();
        self.by.insert(k.to_string(), list);
        self.loaded.insert(k.to_string());
        Ok(())
    }
}
