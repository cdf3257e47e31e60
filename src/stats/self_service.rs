//! The self-service part of the report (CONTRACT's `self_service`): offers made in the
//! window and what their requesters said, per entry, and the knowledge gaps.
//!
//! - `offered`: offers made in the window; `solved`, `still_needed_help`, `ignored` by
//!   outcome. The headline `deflection_rate` = solved / offered (null when nothing was
//!   offered): only confirmed answers count. `ignored` and `pending` (not answered yet) are
//!   the unconfirmed outcomes, shown apart.
//! - `by_entry`: per entry title, how often it was offered, pressed as the one that solved
//!   it, and how its offers ended otherwise; those that help most first.
//! - `knowledge_gaps`: the categories with the most tickets filed with no offer (nothing in
//!   the catalog matched) in the window, each with its most frequent title words: the docs
//!   to write next. Read over the newest [`GAP_TICKETS`] such tickets.
//!
//! Filters (priority, category, channel) apply to tickets, not to offers.

use super::self_service_db as db;
use crate::words::{is_stopword, Words};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Tickets read for the knowledge gaps.
pub const GAP_TICKETS: i64 = 5000;
/// Categories listed as gaps, and words per category.
pub const GAP_CATEGORIES: usize = 5;
pub const GAP_WORDS: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SelfService {
    pub offered: u64,
    pub solved: u64,
    pub still_needed_help: u64,
    pub ignored: u64,
    /// Offers not answered yet (still within the timeout): unconfirmed, like `ignored`.
    pub pending: u64,
    pub deflection_rate: Option<f64>,
    pub by_entry: Vec<EntryCounts>,
    pub knowledge_gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryCounts {
    pub title: String,
    pub offered: u64,
    pub solved: u64,
    pub still_needed_help: u64,
    pub ignored: u64,
}

impl EntryCounts {
    pub fn solve_rate(&self) -> f64 {
        if self.offered == 0 {
            0.0
        } else {
            self.solved as f64 / self.offered as f64
        }
    }
}

/// A category whose tickets the catalog had nothing for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub category: String,
    /// Tickets filed in it with no catalog match.
    pub tickets: u64,
    /// Its most frequent title words, most frequent first.
    pub words: Vec<String>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub async fn report(
    conn: &mut sqlx::SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<SelfService> {
    let (offered, solved, still, ignored, pending) = db::outcomes(conn, from, to).await?;
    let mut by_entry: Vec<EntryCounts> = db::by_entry(conn, from, to)
        .await?
        .into_iter()
        .map(|(title, offered, solved, still, ignored)| EntryCounts {
            title,
            offered: count(offered),
            solved: count(solved),
            still_needed_help: count(still),
            ignored: count(ignored),
        })
        .collect();
    by_entry.sort_by(|a, b| {
        b.solved
            .cmp(&a.solved)
            .then(b.solve_rate().total_cmp(&a.solve_rate()))
            .then(b.offered.cmp(&a.offered))
            .then(a.title.cmp(&b.title))
    });
    let unmatched = db::unmatched(conn, from, to, GAP_TICKETS).await?;
    Ok(SelfService {
        offered: count(offered),
        solved: count(solved),
        still_needed_help: count(still),
        ignored: count(ignored),
        pending: count(pending),
        deflection_rate: (offered > 0).then(|| solved as f64 / offered as f64),
        by_entry,
        knowledge_gaps: gaps(&unmatched),
    })
}

/// The categories with the most tickets, each with its most frequent title words (each
/// word counted once per ticket).
pub fn gaps(tickets: &[(String, String)]) -> Vec<Gap> {
    let mut by_category: BTreeMap<&str, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for (category, title) in tickets {
        let entry = by_category.entry(category).or_default();
        entry.0 += 1;
        let words: BTreeSet<String> = Words::of(title)
            .iter()
            .filter(|w| w.chars().count() >= 3 && !is_stopword(w))
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        for w in words {
            *entry.1.entry(w).or_default() += 1;
        }
    }
    let mut gaps: Vec<Gap> = by_category
        .into_iter()
        .map(|(category, (tickets, words))| {
            let mut words: Vec<(String, u64)> = words.into_iter().collect();
            words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Gap {
                category: category.to_string(),
                tickets,
                words: words.into_iter().take(GAP_WORDS).map(|(w, _)| w).collect(),
            }
        })
        .collect();
    gaps.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.category.cmp(&b.category)));
    gaps.truncate(GAP_CATEGORIES);
    gaps
}

/// The headline line: confirmed answers only; the unconfirmed apart.
pub fn line(s: &SelfService) -> String {
    if s.offered == 0 {
        return "nothing offered".into();
    }
    format!(
        "{} offered · {} solved ({} deflected) · {} still needed help · unconfirmed: {} ignored, {} awaiting an answer",
        s.offered,
        s.solved,
        super::rate(s.deflection_rate),
        s.still_needed_help,
        s.ignored,
        s.pending
    )
}

/// The entries that help most and least: (best, worst), among those offered.
pub fn best_and_worst(s: &SelfService) -> (Option<&EntryCounts>, Option<&EntryCounts>) {
    let offered = || s.by_entry.iter().filter(|e| e.offered > 0);
    let key = |e: &&EntryCounts| (e.solve_rate(), e.offered);
    let best = offered().max_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let worst = offered()
        .min_by(|a, b| {
            a.solve_rate()
                .total_cmp(&b.solve_rate())
                .then(b.offered.cmp(&a.offered))
        })
        .filter(|w| best.is_none_or(|b| b.title != w.title));
    (best, worst)
}

/// `access (12): vault, role, token`
pub fn gap_text(g: &Gap) -> String {
    if g.words.is_empty() {
        format!("{} ({})", g.category, g.tickets)
    } else {
        format!("{} ({}): {}", g.category, g.tickets, g.words.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_the_busiest_categories_with_their_most_frequent_words() {
        let t = |c: &str, title: &str| (c.to_string(), title.to_string());
        let gaps = gaps(&[
            t("access", "Need access to the billing bucket"),
            t("access", "Access to billing dashboards please"),
            t("access", "S3 bucket access for ledger"),
            t("deploy", "Deploy stuck at canary"),
        ]);
        assert_eq!(gaps[0].category, "access");
        assert_eq!(gaps[0].tickets, 3);
        assert_eq!(gaps[0].words[..3], ["access", "billing", "bucket"]);
        assert_eq!(gap_text(&gaps[1]), "deploy (1): canary, deploy, stuck");
    }

    #[test]
    fn the_headline_counts_confirmed_answers_and_shows_the_unconfirmed_apart() {
        let s = SelfService {
            offered: 10,
            solved: 3,
            still_needed_help: 2,
            ignored: 4,
            pending: 1,
            deflection_rate: Some(0.3),
            ..SelfService::default()
        };
        assert_eq!(
            line(&s),
            "10 offered · 3 solved (30.0% deflected) · 2 still needed help · unconfirmed: 4 ignored, 1 awaiting an answer"
        );
    }
}
