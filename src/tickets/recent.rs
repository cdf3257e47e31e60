//! The duplicate candidates of one batch of requests: the newest open tickets of each
//! requester and each channel in the batch, filed within the window, read in one statement
//! (`filer_db`) inside the batch's transaction, plus the tickets the batch itself files. A request is
//! compared with at most [`PER_KEY`] tickets of its requester and [`PER_KEY`] of its channel,
//! however many open tickets look like it: the cost of the check does not grow with the
//! backlog, and the tickets compared are the ones a person would look at first.

use super::filer_db::{Candidate, CandidateText, Of};
use crate::triage::similar;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;

/// Open tickets compared per requester and per channel (the newest).
pub const PER_KEY: usize = 10;
/// How far back a duplicate may be.
const WINDOW_DAYS: i64 = 14;

/// The oldest creation time of a duplicate of a request made at `now`.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(WINDOW_DAYS)
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
        let words = similar::stored_words(&crate::triage::Words::of(text));
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
}
