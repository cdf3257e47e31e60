//! What the duplicate check compares a request with: the recent open tickets of its
//! requester and of its channel, at most [`PER_KEY`] of each, however many open tickets look
//! like it, so the cost of the check does not grow with the backlog.
//!
//! A channel's are read from the database (an index of open tickets by channel). A
//! requester's are remembered by the writer ([`Requesters`]): an index by requester would put
//! each new ticket on a page of its own (thousands of requesters), and writing and reading
//! those pages was about half of the cost of filing. The writer files every ticket, so it
//! knows each requester's new ones; it recalls the older ones once when it starts. It keeps a
//! 32-byte summary of each, which rules out most of them without a read (`similar::may_match`),
//! and reads the others by id in the batch's statement, which also tells which are still open.
//! [`Recent`] holds what one batch compares with.

use super::filer_db::{Candidate, CandidateText, Of};
use crate::triage::similar;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Open tickets compared per requester and per channel (the newest).
pub const PER_KEY: usize = 10;
/// The most ticket summaries the writer keeps (about 5 MB with their requesters' ids).
pub const MAX_REMEMBERED: usize = 100_000;
/// How far back a duplicate may be.
const WINDOW_DAYS: i64 = 14;

/// The oldest creation time of a duplicate of a request made at `now`.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(WINDOW_DAYS)
}

/// What the writer keeps of one recent ticket of a requester.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    id: i64,
    /// When it was filed (Unix seconds).
    filed: i64,
    /// [`similar::signature`] of its stored words, and how many there are.
    sig: u64,
    len: u32,
}

/// The requesters' recent tickets as the writer remembers them, newest first, at most
/// [`PER_KEY`] per requester and about [`MAX_REMEMBERED`] in all. A remembered ticket may have
/// been resolved since: the batch's read of it says so, and it is forgotten.
#[derive(Default)]
pub struct Requesters {
    by: HashMap<Box<str>, Vec<Summary>>,
    count: usize,
}

impl Requesters {
    /// The remembered tickets of `requester` filed since `since` whose words may match
    /// `wanted` (a text's [`similar::token_hashes`]), newest first.
    pub fn may_match<'a>(
        &'a self,
        requester: &str,
        wanted: &'a [u64],
        since: DateTime<Utc>,
    ) -> impl Iterator<Item = i64> + 'a {
        let since = since.timestamp();
        self.by
            .get(requester)
            .into_iter()
            .flatten()
            .filter_map(move |s| {
                let kept = s.filed >= since
                    && similar::may_match(
                        wanted,
                        s.len as usize,
                        s.sig,
                        similar::DUPLICATE_THRESHOLD,
                    );
                kept.then_some(s.id)
            })
    }

    /// A ticket just filed, with the hashes of its stored words: the requester's newest.
    pub fn filed(&mut self, id: i64, requester: &str, tokens: &[u64], at: DateTime<Utc>) {
        let summary = summary(id, tokens, at);
        let list = match self.by.get_mut(requester) {
            Some(list) => list,
            None => self.by.entry(requester.into()).or_default(),
        };
        list.insert(0, summary);
        self.count += 1;
        if list.len() > PER_KEY {
            list.pop();
            self.count -= 1;
        }
        self.keep_bounded();
    }

    /// A ticket older than every one remembered of `requester` (read newest first when
    /// the writer starts, `filer_db::recent_open`): kept if the requester has room.
    pub fn older(&mut self, id: i64, requester: &str, tokens: &[u64], at: DateTime<Utc>) {
        let list = match self.by.get_mut(requester) {
            Some(list) => list,
            None => self.by.entry(requester.into()).or_default(),
        };
        if list.len() < PER_KEY && list.iter().all(|s| s.id != id) {
            list.push(summary(id, tokens, at));
            self.count += 1;
        }
    }

    /// Takes in what was recalled at start: older than everything remembered since.
    pub fn merge(&mut self, older: Requesters) {
        for (requester, list) in older.by {
            let mine = self.by.entry(requester).or_default();
            for s in list {
                if mine.len() < PER_KEY && mine.iter().all(|m| m.id != s.id) {
                    mine.push(s);
                    self.count += 1;
                }
            }
        }
        self.keep_bounded();
    }

    /// Whether [`MAX_REMEMBERED`] tickets are remembered.
    pub fn full(&self) -> bool {
        self.count >= MAX_REMEMBERED
    }

    /// A remembered ticket of `requester` that is not open any more (or is gone).
    pub fn forget(&mut self, requester: &str, id: i64) {
        if let Some(list) = self.by.get_mut(requester) {
            let before = list.len();
            list.retain(|s| s.id != id);
            self.count -= before - list.len();
            if list.is_empty() {
                self.by.remove(requester);
            }
        }
    }

    /// Past [`MAX_REMEMBERED`], the requesters whose newest ticket is oldest are forgotten,
    /// down to nine tenths of it (rare: a pass over every requester).
    fn keep_bounded(&mut self) {
        if self.count <= MAX_REMEMBERED {
            return;
        }
        let mut newest: Vec<(i64, Box<str>)> = self
            .by
            .iter()
            .map(|(who, list)| (list.first().map_or(0, |s| s.id), who.clone()))
            .collect();
        newest.sort_unstable();
        for (_, who) in newest {
            if self.count <= MAX_REMEMBERED * 9 / 10 {
                break;
            }
            if let Some(list) = self.by.remove(&who) {
                self.count -= list.len();
            }
        }
    }

    /// How many tickets are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.count
    }
}

fn summary(id: i64, tokens: &[u64], at: DateTime<Utc>) -> Summary {
    Summary {
        id,
        filed: at.timestamp(),
        sig: similar::signature(tokens),
        len: tokens.len() as u32,
    }
}

#[derive(Clone)]
struct Entry {
    id: i64,
    key: Arc<str>,
    tokens: Arc<[u64]>,
    /// [`similar::signature`] of `tokens`: most candidates are ruled out by it alone.
    sig: u64,
}

/// The candidates of one batch, newest first per requester and per channel.
#[derive(Default)]
pub struct Recent {
    requesters: HashMap<String, Vec<Entry>>,
    channels: HashMap<String, Vec<Entry>>,
}

impl Recent {
    /// The candidates read from the database. A ticket that is both its requester's and its
    /// channel's is read once.
    pub fn of(rows: Vec<Candidate>) -> Self {
        let mut recent = Recent::default();
        let mut seen: HashMap<i64, Entry> = HashMap::new();
        for c in rows {
            let entry = seen
                .entry(c.id)
                .or_insert_with(|| {
                    let tokens: Arc<[u64]> = match &c.text {
                        CandidateText::Words(words) => similar::stored_hashes(words),
                        CandidateText::Text(text) => similar::token_hashes(text),
                    }
                    .into();
                    Entry {
                        id: c.id,
                        key: c.key.into(),
                        sig: similar::signature(&tokens),
                        tokens,
                    }
                })
                .clone();
            let lists = match c.of {
                Of::Requester => &mut recent.requesters,
                Of::Channel => &mut recent.channels,
            };
            lists.entry(c.whose).or_default().push(entry);
        }
        for list in recent
            .requesters
            .values_mut()
            .chain(recent.channels.values_mut())
        {
            list.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
            list.truncate(PER_KEY);
        }
        recent
    }

    /// The open ticket a text most resembles among its requester's and its channel's
    /// candidates; `wanted` is the text's [`similar::token_hashes`]. Of equally similar
    /// tickets, the newest.
    pub fn duplicate_of(
        &self,
        requester: &str,
        channel: Option<&str>,
        wanted: &[u64],
    ) -> Option<(i64, String)> {
        let mut candidates: Vec<&Entry> = self
            .requesters
            .get(requester)
            .into_iter()
            .chain(channel.and_then(|c| self.channels.get(c)))
            .flatten()
            .filter(|e| {
                similar::may_match(wanted, e.tokens.len(), e.sig, similar::DUPLICATE_THRESHOLD)
            })
            .collect();
        // A ticket of the requester in the same channel is in both lists: compare it once.
        candidates.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        candidates.dedup_by_key(|e| e.id);
        let (entry, _) = similar::best_match(
            wanted,
            candidates.into_iter().map(|e| (e, &e.tokens[..])),
            similar::DUPLICATE_THRESHOLD,
        )?;
        Some((entry.id, entry.key.to_string()))
    }

    /// Adds a ticket this batch files, ahead of the others of its requester and channel, so
    /// a later request of the same batch is compared with it too.
    pub fn remember(
        &mut self,
        id: i64,
        key: &str,
        requester: &str,
        channel: Option<&str>,
        tokens: Arc<[u64]>,
    ) {
        let key: Arc<str> = key.into();
        let sig = similar::signature(&tokens);
        let lists = [
            Some(self.requesters.entry(requester.to_string()).or_default()),
            channel.map(|c| self.channels.entry(c.to_string()).or_default()),
        ];
        for list in lists.into_iter().flatten() {
            list.insert(
                0,
                Entry {
                    id,
                    key: key.clone(),
                    tokens: tokens.clone(),
                    sig,
                },
            );
            list.truncate(PER_KEY);
        }
    }

    /// How many candidates a request of `requester` in `channel` is compared with at most.
    #[cfg(test)]
    pub fn compared(&self, requester: &str, channel: Option<&str>) -> usize {
        let count = |list: Option<&Vec<Entry>>| list.map_or(0, Vec::len);
        count(self.requesters.get(requester)) + count(channel.and_then(|c| self.channels.get(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(of: Of, whose: &str, id: i64, text: &str) -> Candidate {
        let words = similar::stored_words([&crate::triage::Words::of(text)]);
        Candidate {
            of,
            whose: whose.into(),
            id,
            key: format!("PLAT-{id}"),
            text: CandidateText::Words(words),
        }
    }

    #[test]
    fn stored_words_and_the_text_they_came_from_match_alike() {
        let wanted = similar::token_hashes("the staging deploy is stuck again");
        let text = "Staging deploys are stuck";
        for c in [
            candidate(Of::Requester, "U1", 7, text),
            Candidate {
                text: CandidateText::Text(text.into()),
                ..candidate(Of::Requester, "U1", 7, "")
            },
        ] {
            let recent = Recent::of(vec![c]);
            assert_eq!(
                recent.duplicate_of("U1", None, &wanted),
                Some((7, "PLAT-7".into()))
            );
        }
    }

    #[test]
    fn the_window_is_two_weeks() {
        let now: DateTime<Utc> = "2026-11-15T10:00:00Z".parse().unwrap();
        assert_eq!(
            window_start(now),
            "2026-11-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_channel_candidate_is_suggested_to_another_requester_only_in_its_channel() {
        let rows = vec![candidate(Of::Channel, "C1", 7, "staging deploy is stuck")];
        let recent = Recent::of(rows);
        let wanted = similar::token_hashes("staging deploy stuck");
        assert_eq!(
            recent.duplicate_of("U0SOMEONE", Some("C1"), &wanted),
            Some((7, "PLAT-7".into()))
        );
        assert_eq!(recent.duplicate_of("U0SOMEONE", Some("C2"), &wanted), None);
    }

    #[test]
    fn a_ticket_filed_earlier_in_the_batch_is_a_candidate_for_a_later_request() {
        let mut recent = Recent::of(Vec::new());
        let tokens: Arc<[u64]> = similar::token_hashes("vault token expired for payments").into();
        recent.remember(9, "PLAT-9", "U1", Some("C1"), tokens);
        let wanted = similar::token_hashes("payments vault token expired");
        assert_eq!(
            recent.duplicate_of("U2", Some("C1"), &wanted),
            Some((9, "PLAT-9".into()))
        );
    }

    #[test]
    fn of_equally_similar_candidates_the_newest_is_suggested_and_each_list_stays_bounded() {
        let rows: Vec<Candidate> = (1..=30)
            .map(|id| candidate(Of::Channel, "C1", id, "vault token expired"))
            .collect();
        let recent = Recent::of(rows);
        assert_eq!(recent.compared("U1", Some("C1")), PER_KEY);
        let wanted = similar::token_hashes("vault token expired");
        assert_eq!(
            recent.duplicate_of("U1", Some("C1"), &wanted),
            Some((30, "PLAT-30".into()))
        );
    }

    fn at(day: u32) -> DateTime<Utc> {
        format!("2026-11-{day:02}T10:00:00Z").parse().unwrap()
    }

    fn remembered(r: &Requesters, requester: &str, text: &str, since: u32) -> Vec<i64> {
        let wanted = similar::token_hashes(text);
        r.may_match(requester, &wanted, at(since)).collect()
    }

    #[test]
    fn a_requesters_tickets_that_may_match_are_remembered_newest_first_within_the_window() {
        let mut r = Requesters::default();
        let deploy = similar::token_hashes("staging deploy stuck at the canary step");
        let kafka = similar::token_hashes("new kafka topic for invoices");
        r.filed(1, "U1", &deploy, at(1));
        r.filed(2, "U1", &kafka, at(2));
        r.filed(3, "U1", &deploy, at(3));
        r.filed(4, "U2", &deploy, at(3));
        assert_eq!(
            remembered(&r, "U1", "staging deploy stuck at canary", 1),
            [3, 1]
        );
        assert_eq!(
            remembered(&r, "U1", "staging deploy stuck at canary", 2),
            [3]
        );
        assert_eq!(remembered(&r, "U1", "kafka topic for invoices", 1), [2]);
        assert_eq!(
            remembered(&r, "U9", "staging deploy stuck at canary", 1),
            Vec::<i64>::new()
        );
        r.forget("U1", 3);
        assert_eq!(
            remembered(&r, "U1", "staging deploy stuck at canary", 1),
            [1]
        );
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn each_requester_keeps_its_newest_ten_and_recalled_ones_go_behind() {
        let mut r = Requesters::default();
        let tokens = similar::token_hashes("vault token expired");
        for id in 100..105 {
            r.filed(id, "U1", &tokens, at(5));
        }
        let mut older = Requesters::default();
        for id in (1..=20).rev() {
            older.older(id, "U1", &tokens, at(2));
        }
        older.older(50, "U2", &tokens, at(2));
        r.merge(older);
        let ids = remembered(&r, "U1", "vault token expired", 1);
        assert_eq!(ids, [104, 103, 102, 101, 100, 20, 19, 18, 17, 16]);
        assert_eq!(remembered(&r, "U2", "vault token expired", 1), [50]);
        r.filed(105, "U1", &tokens, at(6));
        assert_eq!(
            remembered(&r, "U1", "vault token expired", 1).len(),
            PER_KEY
        );
        assert_eq!(r.len(), PER_KEY + 1);
    }

    #[test]
    fn past_the_most_remembered_the_requesters_idle_longest_are_forgotten() {
        let mut r = Requesters::default();
        let tokens = similar::token_hashes("vault token expired");
        for n in 0..MAX_REMEMBERED as i64 {
            r.filed(n, &format!("U{n}"), &tokens, at(5));
        }
        assert_eq!(r.len(), MAX_REMEMBERED);
        r.filed(MAX_REMEMBERED as i64, "U0", &tokens, at(5));
        assert!(r.len() <= MAX_REMEMBERED * 9 / 10, "{}", r.len());
        // U0 filed last: kept; U1 filed first after it: forgotten.
        assert_eq!(remembered(&r, "U0", "vault token expired", 1).len(), 2);
        assert!(remembered(&r, "U1", "vault token expired", 1).is_empty());
    }
}
