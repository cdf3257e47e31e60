//! What the duplicate check compares a request with: the ten newest tickets of its requester
//! and the ten newest of its channel, those still open and filed in the last two weeks. At
//! most twenty, however many open tickets look like it, so the check costs the same with a
//! hundred open tickets or two hundred thousand.
//!
//! The writer files every ticket, so it knows each requester's and channel's newest; it
//! recalls the older ones once, in the background, when it starts. It keeps a 32-byte summary
//! of each ([`Remembered`]), which rules most of them out without a read
//! (`similar::may_match`); the others are read by id in the batch's one statement, which also
//! says whether each is still open. Why not indexes of open tickets by requester and by
//! channel: with thousands of requesters each new ticket wrote a page of the requester index
//! of its own, and reading and writing those indexes was more than half of the cost of filing
//! at 10,000 requests/s (measured with the load bench).

use super::filer_db::{Candidate, CandidateText};
use crate::triage::similar;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Tickets remembered per requester and per channel (the newest).
pub const PER_KEY: usize = 10;
/// The most ticket summaries the writer keeps (a few megabytes with their owners' ids).
pub const MAX_REMEMBERED: usize = 200_000;
/// How far back a duplicate may be.
const WINDOW_DAYS: i64 = 14;

/// The oldest creation time of a duplicate of a request made at `now`.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(WINDOW_DAYS)
}

/// What the writer keeps of one recent ticket.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    id: i64,
    /// When it was filed (Unix seconds).
    filed: i64,
    /// [`similar::signature`] of its stored words, and how many there are.
    sig: u64,
    len: u32,
}

impl Summary {
    fn of(id: i64, tokens: &[u64], at: DateTime<Utc>) -> Self {
        Summary {
            id,
            filed: at.timestamp(),
            sig: similar::signature(tokens),
            len: tokens.len() as u32,
        }
    }
}

/// Summaries by owner (a requester or a channel), newest first, at most [`PER_KEY`] each.
#[derive(Default)]
struct Lists {
    by: HashMap<Box<str>, Vec<Summary>>,
}

impl Lists {
    fn list(&mut self, owner: &str) -> &mut Vec<Summary> {
        // Looked up before inserting: most owners are known, and a key is then not copied.
        if !self.by.contains_key(owner) {
            self.by.insert(owner.into(), Vec::with_capacity(PER_KEY));
        }
        self.by.get_mut(owner).expect("just inserted")
    }

    /// Adds the newest; returns how many summaries that added (0 or 1).
    fn newest(&mut self, owner: &str, s: Summary) -> usize {
        let list = self.list(owner);
        if list.len() == PER_KEY {
            list.pop();
            list.insert(0, s);
            0
        } else {
            list.insert(0, s);
            1
        }
    }

    /// Adds one older than all those of `owner` if it has room; returns how many that added.
    fn older(&mut self, owner: &str, s: Summary) -> usize {
        let list = self.list(owner);
        if list.len() < PER_KEY && list.iter().all(|m| m.id != s.id) {
            list.push(s);
            1
        } else {
            0
        }
    }

    /// Removes ticket `id` from `owner`'s; returns how many that removed.
    fn forget(&mut self, owner: &str, id: i64) -> usize {
        let Some(list) = self.by.get_mut(owner) else {
            return 0;
        };
        let before = list.len();
        list.retain(|s| s.id != id);
        let removed = before - list.len();
        if list.is_empty() {
            self.by.remove(owner);
        }
        removed
    }

    fn of(&self, owner: &str) -> &[Summary] {
        self.by.get(owner).map_or(&[], Vec::as_slice)
    }
}

/// The requesters' and channels' newest tickets as the writer remembers them. A remembered
/// ticket may have been resolved since: the batch's read of it says so, and it is forgotten.
#[derive(Default)]
pub struct Remembered {
    requesters: Lists,
    channels: Lists,
    count: usize,
}

/// Where a remembered ticket came from: its requester's list or its channel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<'a> {
    Requester(&'a str),
    Channel(&'a str),
}

impl Remembered {
    /// The remembered tickets of `requester` and of `channel` filed since `since` whose
    /// words may match `wanted` (a text's [`similar::token_hashes`]), with the list each came
    /// from; a ticket in both lists comes once, as the requester's.
    pub fn may_match<'s, 'a: 's>(
        &'s self,
        requester: &'a str,
        channel: Option<&'a str>,
        wanted: &'s [u64],
        since: DateTime<Utc>,
    ) -> impl Iterator<Item = (i64, Owner<'a>)> + 's {
        let since = since.timestamp();
        let mine = self.requesters.of(requester);
        let theirs = channel.map_or(&[][..], |c| self.channels.of(c));
        let keep = move |s: &Summary| {
            s.filed >= since
                && similar::may_match(wanted, s.len as usize, s.sig, similar::DUPLICATE_THRESHOLD)
        };
        let from_requester = mine
            .iter()
            .filter(move |s| keep(s))
            .map(move |s| (s.id, Owner::Requester(requester)));
        let from_channel = theirs
            .iter()
            .filter(move |s| keep(s) && mine.iter().all(|m| m.id != s.id))
            .map(move |s| (s.id, Owner::Channel(channel.unwrap_or_default())));
        from_requester.chain(from_channel)
    }

    /// A ticket just filed, with the hashes of its stored words: its requester's and its
    /// channel's newest.
    pub fn filed(
        &mut self,
        id: i64,
        requester: &str,
        channel: Option<&str>,
        tokens: &[u64],
        at: DateTime<Utc>,
    ) {
        let s = Summary::of(id, tokens, at);
        self.count += self.requesters.newest(requester, s);
        if let Some(c) = channel {
            self.count += self.channels.newest(c, s);
        }
        self.keep_bounded();
    }

    /// A ticket older than every one remembered of its requester and channel (read newest
    /// first when the writer starts, `filer_db::recent_open`): kept where there is room.
    pub fn older(
        &mut self,
        id: i64,
        requester: &str,
        channel: Option<&str>,
        tokens: &[u64],
        at: DateTime<Utc>,
    ) {
        let s = Summary::of(id, tokens, at);
        self.count += self.requesters.older(requester, s);
        if let Some(c) = channel {
            self.count += self.channels.older(c, s);
        }
    }

    /// Takes in what was recalled at start: older than everything remembered since.
    pub fn merge(&mut self, recalled: Remembered) {
        for (mine, theirs) in [
            (&mut self.requesters, recalled.requesters),
            (&mut self.channels, recalled.channels),
        ] {
            for (owner, list) in theirs.by {
                for s in list {
                    self.count += mine.older(&owner, s);
                }
            }
        }
        self.keep_bounded();
    }

    /// A remembered ticket that is not open any more, or gone.
    pub fn forget(&mut self, owner: Owner<'_>, id: i64) {
        self.count -= match owner {
            Owner::Requester(r) => self.requesters.forget(r, id),
            Owner::Channel(c) => self.channels.forget(c, id),
        };
    }

    /// Whether [`MAX_REMEMBERED`] summaries are kept.
    pub fn full(&self) -> bool {
        self.count >= MAX_REMEMBERED
    }

    /// Past [`MAX_REMEMBERED`], the requesters whose newest ticket is oldest are forgotten,
    /// down to nine tenths of it (rare: a pass over every requester). Channels are few.
    fn keep_bounded(&mut self) {
        if self.count <= MAX_REMEMBERED {
            return;
        }
        let mut newest: Vec<(i64, Box<str>)> = self
            .requesters
            .by
            .iter()
            .map(|(who, list)| (list.first().map_or(0, |s| s.id), who.clone()))
            .collect();
        newest.sort_unstable();
        for (_, who) in newest {
            if self.count <= MAX_REMEMBERED * 9 / 10 {
                break;
            }
            if let Some(list) = self.requesters.by.remove(&who) {
                self.count -= list.len();
            }
        }
    }

    /// How many summaries are kept.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.count
    }
}

/// A ticket one request may be compared with: its key and the hashes of its stored words.
struct Entry {
    key: Arc<str>,
    tokens: Arc<[u64]>,
}

/// What one batch compares its requests with: the remembered tickets read for it (those still
/// open), and the tickets the batch itself has filed so far.
#[derive(Default)]
pub struct Recent {
    read: HashMap<i64, Entry>,
    /// Filed by this batch, in order: (id, requester, channel).
    filed: Vec<(i64, Box<str>, Option<Box<str>>)>,
}

impl Recent {
    /// The candidates read for the batch (`filer_db::open_candidates`).
    pub fn of(rows: Vec<Candidate>) -> Self {
        let read = rows
            .into_iter()
            .map(|c| {
                let tokens = match &c.text {
                    CandidateText::Words(words) => similar::stored_hashes(words),
                    CandidateText::Text(text) => similar::token_hashes(text),
                };
                let entry = Entry {
                    key: c.key.into(),
                    tokens: tokens.into(),
                };
                (c.id, entry)
            })
            .collect();
        Recent {
            read,
            filed: Vec::new(),
        }
    }

    /// Whether ticket `id` was read as open.
    pub fn is_open(&self, id: i64) -> bool {
        self.read.contains_key(&id)
    }

    /// The ticket a text most resembles among `ids` (what [`Remembered::may_match`] gave
    /// for it) that were read as open, and those this batch filed for the same requester or
    /// channel; `wanted` is the text's [`similar::token_hashes`]. Of equally similar tickets,
    /// the newest.
    pub fn duplicate_of(
        &self,
        ids: impl IntoIterator<Item = i64>,
        requester: &str,
        channel: Option<&str>,
        wanted: &[u64],
    ) -> Option<(i64, String)> {
        let same_batch = self.filed.iter().filter(|(_, r, c)| {
            &**r == requester || (channel.is_some() && c.as_deref() == channel)
        });
        let mut candidates: Vec<(i64, &Entry)> = ids
            .into_iter()
            .chain(same_batch.map(|(id, _, _)| *id))
            .filter_map(|id| Some((id, self.read.get(&id)?)))
            .collect();
        // Newest first, each once.
        candidates.sort_unstable_by_key(|(id, _)| std::cmp::Reverse(*id));
        candidates.dedup_by_key(|(id, _)| *id);
        let ((id, entry), _) = similar::best_match(
            wanted,
            candidates.into_iter().map(|c| (c, &c.1.tokens[..])),
            similar::DUPLICATE_THRESHOLD,
        )?;
        Some((id, entry.key.to_string()))
    }

    /// A ticket this batch files, so a later request of the batch is compared with it too.
    pub fn filed(
        &mut self,
        id: i64,
        key: &str,
        requester: &str,
        channel: Option<&str>,
        tokens: Arc<[u64]>,
    ) {
        let entry = Entry {
            key: key.into(),
            tokens,
        };
        self.read.insert(id, entry);
        self.filed
            .push((id, requester.into(), channel.map(Into::into)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        format!("2026-11-{day:02}T10:00:00Z").parse().unwrap()
    }

    fn hashes(text: &str) -> Vec<u64> {
        similar::token_hashes(text)
    }

    /// The ids `may_match` gives for `text` from `requester` in `channel`, since `day`.
    fn asked(
        r: &Remembered,
        requester: &str,
        channel: Option<&str>,
        text: &str,
        day: u32,
    ) -> Vec<i64> {
        let wanted = hashes(text);
        r.may_match(requester, channel, &wanted, at(day))
            .map(|(id, _)| id)
            .collect()
    }

    fn read(id: i64, text: &str) -> Candidate {
        let (words, _) = similar::stored([&crate::triage::Words::of(text)]);
        Candidate {
            id,
            key: format!("PLAT-{id}"),
            text: CandidateText::Words(words),
        }
    }

    const DEPLOY: &str = "staging deploy stuck at the canary step";

    #[test]
    fn the_remembered_tickets_that_may_match_come_newest_first_within_the_window() {
        let mut r = Remembered::default();
        let kafka = hashes("new kafka topic for invoices");
        r.filed(1, "U1", Some("C1"), &hashes(DEPLOY), at(1));
        r.filed(2, "U1", Some("C1"), &kafka, at(2));
        r.filed(3, "U1", Some("C2"), &hashes(DEPLOY), at(3));
        r.filed(4, "U2", Some("C1"), &hashes(DEPLOY), at(3));
        assert_eq!(asked(&r, "U1", None, DEPLOY, 1), [3, 1]);
        assert_eq!(asked(&r, "U1", None, DEPLOY, 2), [3]);
        // The channel's, after the requester's, each once.
        assert_eq!(asked(&r, "U1", Some("C1"), DEPLOY, 1), [3, 1, 4]);
        assert_eq!(asked(&r, "U9", Some("C1"), DEPLOY, 1), [4, 1]);
        assert_eq!(asked(&r, "U1", None, "kafka topic for invoices", 1), [2]);
        r.forget(Owner::Requester("U1"), 3);
        assert_eq!(asked(&r, "U1", None, DEPLOY, 1), [1]);
        assert_eq!(r.count(), 7, "U1: 1 2; U2: 4; C1: 1 2 4; C2: 3");
    }

    #[test]
    fn each_owner_keeps_its_newest_ten_and_recalled_ones_go_behind() {
        let mut r = Remembered::default();
        let tokens = hashes("vault token expired");
        for id in 100..105 {
            r.filed(id, "U1", None, &tokens, at(5));
        }
        let mut recalled = Remembered::default();
        for id in (1..=20).rev() {
            recalled.older(id, "U1", Some("C1"), &tokens, at(2));
        }
        r.merge(recalled);
        let ids = asked(&r, "U1", None, "vault token expired", 1);
        assert_eq!(ids, [104, 103, 102, 101, 100, 20, 19, 18, 17, 16]);
        let channel = asked(&r, "U9", Some("C1"), "vault token expired", 1);
        assert_eq!(channel, [20, 19, 18, 17, 16, 15, 14, 13, 12, 11]);
        r.filed(105, "U1", None, &tokens, at(6));
        assert_eq!(
            asked(&r, "U1", None, "vault token expired", 1).len(),
            PER_KEY
        );
        assert_eq!(r.count(), 2 * PER_KEY);
    }

    #[test]
    fn past_the_most_remembered_the_requesters_idle_longest_are_forgotten() {
        let mut r = Remembered::default();
        let tokens = hashes("vault token expired");
        for n in 0..MAX_REMEMBERED as i64 {
            r.filed(n, &format!("U{n}"), None, &tokens, at(5));
        }
        assert_eq!(r.count(), MAX_REMEMBERED);
        r.filed(MAX_REMEMBERED as i64, "U0", None, &tokens, at(5));
        assert!(r.count() <= MAX_REMEMBERED * 9 / 10, "{}", r.count());
        // U0 filed last: kept; U1 filed first after it: forgotten.
        assert_eq!(asked(&r, "U0", None, "vault token expired", 1).len(), 2);
        assert!(asked(&r, "U1", None, "vault token expired", 1).is_empty());
    }

    #[test]
    fn stored_words_and_the_text_they_came_from_match_alike() {
        let wanted = hashes("the staging deploy is stuck again");
        let text = "Staging deploys are stuck";
        for c in [
            read(7, text),
            Candidate {
                text: CandidateText::Text(text.into()),
                ..read(7, "")
            },
        ] {
            let recent = Recent::of(vec![c]);
            assert_eq!(
                recent.duplicate_of([7], "U1", None, &wanted),
                Some((7, "PLAT-7".into()))
            );
        }
    }

    #[test]
    fn only_tickets_read_as_open_or_filed_by_the_batch_are_compared() {
        let mut recent = Recent::of(vec![read(7, DEPLOY)]);
        let wanted = hashes(DEPLOY);
        assert!(recent.is_open(7) && !recent.is_open(8));
        assert_eq!(recent.duplicate_of([8], "U1", None, &wanted), None);
        recent.filed(9, "PLAT-9", "U2", Some("C1"), hashes(DEPLOY).into());
        // Another requester in the same channel, then in another.
        assert_eq!(
            recent.duplicate_of([], "U3", Some("C1"), &wanted),
            Some((9, "PLAT-9".into()))
        );
        assert_eq!(recent.duplicate_of([], "U3", Some("C2"), &wanted), None);
        // Of equally similar ones, the newest.
        assert_eq!(
            recent.duplicate_of([7], "U2", None, &wanted),
            Some((9, "PLAT-9".into()))
        );
    }

    #[test]
    fn the_window_is_two_weeks() {
        let now: DateTime<Utc> = "2026-11-15T10:00:00Z".parse().unwrap();
        assert_eq!(
            window_start(now),
            "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
