//! Matching a request against the catalog: an FTS5 index of the policy's entries' titles
//! and keywords, ranked with `bm25()` (titles weigh 10, keywords 8; summaries are shown to
//! the requester but not matched, see `db::open_index`), and a threshold below which
//! nothing is offered.
//!
//! The index is an in-memory SQLite database of its own, built from the policy at start-up.
//! The catalog lives in the policy file, so a table in the bot's database would only mirror
//! it (and have to be rebuilt at every start anyway); in memory, matching never waits for
//! the main database's writer, and adds nothing to its file or its WAL.
//!
//! The threshold: an entry is offered only when the request shares at least
//! [`MIN_SHARED_WORDS`] distinct words with its title and keywords (one suffices when the
//! request has a single meaningful word).
//! Matching is stemmed (FTS5's porter tokenizer): "rotating tokens" finds "Rotate a token".

use super::db;
use crate::settings::CatalogEntry;
use crate::words::Words;
use sqlx::SqliteConnection;
use std::collections::BTreeSet;
use tokio::sync::Mutex;

/// At most this many entries are offered.
pub const MAX_OFFERED: usize = 3;
/// Words of the request that must be in an entry's title or keywords for it to be offered.
pub const MIN_SHARED_WORDS: usize = 2;
/// The best-ranked candidates checked against the threshold.
const CANDIDATES: i64 = 10;
/// A long description is matched on its first words only.
const MAX_QUERY_WORDS: usize = 16;

/// One entry offered for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub title: String,
    pub link: String,
    pub summary: String,
    /// bm25: lower is better.
    pub score: f64,
}

/// The catalog's index.
pub struct Catalog {
    /// None when the catalog is empty: nothing to match, nothing opened.
    index: Option<Mutex<SqliteConnection>>,
    entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// Builds the index of `entries` (a few milliseconds per thousand entries).
    pub async fn build(entries: &[CatalogEntry]) -> sqlx::Result<Catalog> {
        if entries.is_empty() {
            return Ok(Catalog {
                index: None,
                entries: Vec::new(),
            });
        }
        let mut conn = db::open_index().await?;
        db::fill_index(&mut conn, entries).await?;
        Ok(Catalog {
            index: Some(Mutex::new(conn)),
            entries: entries.to_vec(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_none()
    }

    /// The best one to three entries for `text`, best first; empty below the threshold.
    /// Any text is safe: it is reduced to words, each quoted, before FTS5 sees it.
    pub async fn best(&self, text: &str) -> sqlx::Result<Vec<Match>> {
        let Some(index) = &self.index else {
            return Ok(Vec::new());
        };
        let words = content_words(text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let query = fts_query(&words);
        let rows = {
            let mut conn = index.lock().await;
            db::search(&mut conn, &query, CANDIDATES).await?
        };
        let needed = MIN_SHARED_WORDS.min(words.len());
        let mut out = Vec::new();
        for row in rows {
            if shared_words(&row.marked) < needed {
                continue;
            }
            let Some(entry) = usize::try_from(row.rowid - 1)
                .ok()
                .and_then(|i| self.entries.get(i))
            else {
                continue;
            };
            out.push(Match {
                title: entry.title.clone(),
                link: entry.link.clone(),
                summary: entry.summary.clone(),
                score: row.score,
            });
            if out.len() == MAX_OFFERED {
                break;
            }
        }
        Ok(out)
    }
}

/// The request's distinct meaningful words, in order, at most [`MAX_QUERY_WORDS`].
pub fn content_words(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    Words::of(text)
        .iter()
        .filter(|w| !crate::words::is_stopword(w))
        .filter(|w| seen.insert(w.to_string()))
        .take(MAX_QUERY_WORDS)
        .map(str::to_string)
        .collect()
}

/// `"w1" OR "w2" ...`: every word quoted, so nothing in it is FTS5 syntax (words are
/// letters and digits already; quotes are doubled all the same).
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The distinct words FTS5 marked in the title and keywords (`db::MARK_OPEN`...`MARK_CLOSE`).
fn shared_words(marked: &str) -> usize {
    let mut found = BTreeSet::new();
    let mut rest = marked;
    while let Some(start) = rest.find(db::MARK_OPEN) {
        let after = &rest[start + db::MARK_OPEN.len_utf8()..];
        let Some(end) = after.find(db::MARK_CLOSE) else {
            break;
        };
        for word in Words::of(&after[..end]).iter() {
            found.insert(word.to_string());
        }
        rest = &after[end + db::MARK_CLOSE.len_utf8()..];
    }
    found.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(title: &str, summary: &str, keywords: &[&str]) -> CatalogEntry {
        CatalogEntry {
            title: title.into(),
            link: format!("https://wiki.example.com/{}", title.len()),
            summary: summary.into(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    /// A small catalog of look-alikes: three Vault entries, two about namespaces.
    async fn catalog() -> Catalog {
        Catalog::build(&[
            entry(
                "Rotate a Vault token",
                "Run `vault token renew` or ask for a new role",
                &["vault", "token", "rotate", "expired"],
            ),
            entry(
                "Revoke a leaked Vault token",
                "Revoke it at once and tell security",
                &["vault", "token", "revoke", "leak"],
            ),
            entry(
                "Vault policies for a new service",
                "Write the policy in infra/vault and ask for review",
                &["vault", "policy", "service"],
            ),
            entry(
                "Request a Kubernetes namespace",
                "Fill in the namespace template; it is created within the hour",
                &["namespace", "kubernetes", "k8s"],
            ),
            entry(
                "Raise a namespace quota",
                "Edit quota.yaml in your namespace's folder",
                &["namespace", "quota", "limits"],
            ),
        ])
        .await
        .unwrap()
    }

    fn titles(matches: &[Match]) -> Vec<&str> {
        matches.iter().map(|m| m.title.as_str()).collect()
    }

    #[tokio::test]
    async fn the_entry_sharing_most_title_and_keyword_words_ranks_first() {
        let c = catalog().await;
        let m = c.best("My vault token expired this morning").await.unwrap();
        assert_eq!(m[0].title, "Rotate a Vault token");
        assert!(titles(&m).contains(&"Revoke a leaked Vault token"));
        assert!(m.len() <= MAX_OFFERED);
        assert!(m.windows(2).all(|w| w[0].score <= w[1].score), "{m:?}");
    }

    #[tokio::test]
    async fn look_alike_texts_find_their_own_entry() {
        let c = catalog().await;
        let revoke = c
            .best("I leaked a vault token in a public gist, revoke it")
            .await
            .unwrap();
        assert_eq!(revoke[0].title, "Revoke a leaked Vault token");
        let quota = c.best("our namespace hit its quota limits").await.unwrap();
        assert_eq!(quota[0].title, "Raise a namespace quota");
        let new = c
            .best("need a new kubernetes namespace for billing")
            .await
            .unwrap();
        assert_eq!(new[0].title, "Request a Kubernetes namespace");
    }

    #[tokio::test]
    async fn stemming_matches_other_forms_of_a_word() {
        let c = catalog().await;
        let m = c.best("rotating vault tokens").await.unwrap();
        assert_eq!(m[0].title, "Rotate a Vault token");
    }

    #[tokio::test]
    async fn below_the_threshold_nothing_is_offered() {
        let c = catalog().await;
        // One shared word of several: vault is down, not a token problem.
        assert!(c
            .best("vault is down in production")
            .await
            .unwrap()
            .is_empty());
        // Shared with a summary only.
        assert!(c
            .best("security review of the gist")
            .await
            .unwrap()
            .is_empty());
        assert!(c
            .best("the deploy pipeline is red")
            .await
            .unwrap()
            .is_empty());
        // Nothing meaningful at all.
        assert!(c.best("please help me").await.unwrap().is_empty());
        // A single meaningful word is enough when it is the whole request.
        assert_eq!(
            titles(&c.best("quota?").await.unwrap()),
            ["Raise a namespace quota"]
        );
    }

    #[tokio::test]
    async fn fts_syntax_and_punctuation_in_the_text_never_error() {
        let c = catalog().await;
        for text in [
            "\"vault token\" AND (rotate OR NOT) NEAR(x y) *",
            "vault:token col:value ^start -minus +plus",
            "\"\"\"",
            "' OR 1=1; drop table entries; --",
            "{title}: vault token",
            "vault\u{0}token",
            "ñandú tökén vault 🔐 token",
            "",
            "   ",
        ] {
            let result = c.best(text).await;
            assert!(result.is_ok(), "{text:?}: {result:?}");
        }
        let m = c.best("\"vault token\" AND (rotate OR NOT)").await.unwrap();
        assert_eq!(m[0].title, "Rotate a Vault token");
    }

    #[tokio::test]
    async fn an_empty_catalog_offers_nothing() {
        let c = Catalog::build(&[]).await.unwrap();
        assert!(c.is_empty());
        assert!(c.best("vault token").await.unwrap().is_empty());
    }

    #[test]
    fn content_words_drop_stopwords_and_repeats() {
        assert_eq!(
            content_words("Hi! Can you help me rotate my Vault token, the vault TOKEN?"),
            ["rotate", "vault", "token"]
        );
    }
}
