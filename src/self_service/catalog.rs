//! Matching a request against the catalog: the policy's entries in an inverted index of
//! stemmed words, ranked by bm25 over three weighted fields (titles 10, keywords 8,
//! summaries 2), and a threshold below which nothing is offered.
//!
//! Why our own index and not SQLite's FTS5 (which this module used first): FTS5's `bm25()`
//! scores, in SQL's virtual machine, every row that shares any word with the request, and a
//! catalog of look-alike entries ("Rotate a Vault token for billing", "Revoke a Vault
//! token for search") gives over a thousand such rows for one request: 1.3-1.5 ms p50 over
//! 5,000 entries, against issue 22's budget of under a millisecond for the whole match. The
//! catalog lives in the policy, so it is in memory anyway and is rebuilt at every start; a
//! word-to-entries map scores the same formula as FTS5's `bm25()` (Robertson's idf, k1 =
//! 1.2, b = 0.75, column weights on term frequencies) in tens of microseconds. Stemming is
//! the Snowball English stemmer (`rust-stemmers`), as FTS5's porter tokenizer did: "rotating
//! tokens" finds "Rotate a token".
//!
//! The threshold: an entry is offered only when the request shares at least
//! [`MIN_SHARED_WORDS`] distinct words with its title and keywords (one suffices when the
//! request has a single meaningful word). A word shared with a summary only ranks, it never
//! qualifies: summaries share boilerplate ("staging", "team") with many requests.

use crate::settings::CatalogEntry;
use crate::words::Words;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{BTreeSet, HashMap};

/// At most this many entries are offered.
pub const MAX_OFFERED: usize = 3;
/// Words of the request that must be in an entry's title or keywords for it to be offered.
pub const MIN_SHARED_WORDS: usize = 2;
/// A long description is matched on its first words only.
const MAX_QUERY_WORDS: usize = 16;

/// The fields of an entry, in the order of [`WEIGHTS`].
const TITLE: usize = 0;
const KEYWORDS: usize = 1;
const SUMMARY: usize = 2;
const FIELDS: usize = 3;
/// How much an occurrence in each field counts: titles and keywords above summaries.
const WEIGHTS: [f64; FIELDS] = [10.0, 8.0, 2.0];
/// bm25's parameters, as FTS5 sets them.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// One entry offered for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub title: String,
    pub link: String,
    pub summary: String,
    /// bm25: higher is better.
    pub score: f64,
}

/// Where a word occurs: the entry, and how often in each field.
#[derive(Debug, Clone, Copy)]
struct Posting {
    entry: u32,
    counts: [u16; FIELDS],
}

/// The catalog's index, built once from the policy and read by every request.
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    /// Each stemmed word's entries, in entry order.
    postings: HashMap<String, Vec<Posting>>,
    /// Each entry's length in words, all fields together (bm25's document length).
    lengths: Vec<u32>,
    average_length: f64,
    stemmer: Stemmer,
}

impl Catalog {
    /// Indexes `entries` (about a millisecond per thousand entries).
    pub fn build(entries: &[CatalogEntry]) -> Catalog {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut lengths = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let mut counts: HashMap<String, [u16; FIELDS]> = HashMap::new();
            let mut length = 0u32;
            let keywords = entry.keywords.join(" ");
            for (field, text) in [
                (TITLE, entry.title.as_str()),
                (KEYWORDS, keywords.as_str()),
                (SUMMARY, entry.summary.as_str()),
            ] {
                for word in Words::of(text).iter() {
                    length += 1;
                    let stem = stemmer.stem(word).into_owned();
                    let slot = &mut counts.entry(stem).or_default()[field];
                    *slot = slot.saturating_add(1);
                }
            }
            lengths.push(length);
            // Entries are visited in order, so every posting list stays sorted by entry.
            for (stem, counts) in counts {
                postings.entry(stem).or_default().push(Posting {
                    entry: i as u32,
                    counts,
                });
            }
        }
        let average_length = if lengths.is_empty() {
            0.0
        } else {
            lengths.iter().map(|&l| f64::from(l)).sum::<f64>() / lengths.len() as f64
        };
        Catalog {
            entries: entries.to_vec(),
            postings,
            lengths,
            average_length,
            stemmer,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best one to three entries for `text`, best first; empty below the threshold.
    /// Any text is safe: it is only ever split into words.
    pub fn best(&self, text: &str) -> Vec<Match> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        let mut stems: Vec<String> = Vec::new();
        for word in content_words(text) {
            let stem = self.stemmer.stem(&word).into_owned();
            if !stems.contains(&stem) {
                stems.push(stem);
            }
        }
        if stems.is_empty() {
            return Vec::new();
        }
        let needed = MIN_SHARED_WORDS.min(stems.len());
        let n = self.entries.len() as f64;
        // Scores and qualifying words of the entries touched, by entry: dense arrays are
        // cheaper than a map for catalogs of thousands.
        let mut scores = vec![0.0f64; self.entries.len()];
        let mut shared = vec![0u8; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        for stem in &stems {
            let Some(list) = self.postings.get(stem) else {
                continue;
            };
            let idf = idf(n, list.len() as f64);
            for p in list {
                let at = p.entry as usize;
                let frequency: f64 = (0..FIELDS)
                    .map(|f| WEIGHTS[f] * f64::from(p.counts[f]))
                    .sum();
                let norm =
                    K1 * (1.0 - B + B * f64::from(self.lengths[at]) / self.average_length.max(1.0));
                if scores[at] == 0.0 && shared[at] == 0 {
                    touched.push(p.entry);
                }
                scores[at] += idf * frequency * (K1 + 1.0) / (frequency + norm);
                if p.counts[TITLE] > 0 || p.counts[KEYWORDS] > 0 {
                    shared[at] = shared[at].saturating_add(1);
                }
            }
        }
        let mut ranked: Vec<u32> = touched
            .into_iter()
            .filter(|&e| usize::from(shared[e as usize]) >= needed)
            .collect();
        // Best first; equal scores keep the catalog's order, so results are stable.
        ranked.sort_by(|&a, &b| {
            scores[b as usize]
                .total_cmp(&scores[a as usize])
                .then(a.cmp(&b))
        });
        ranked
            .into_iter()
            .take(MAX_OFFERED)
            .map(|e| {
                let entry = &self.entries[e as usize];
                Match {
                    title: entry.title.clone(),
                    link: entry.link.clone(),
                    summary: entry.summary.clone(),
                    score: scores[e as usize],
                }
            })
            .collect()
    }
}

/// bm25's inverse document frequency as FTS5 computes it: never below a tiny positive
/// value, so a word in more than half the catalog still counts a little.
fn idf(entries: f64, with_word: f64) -> f64 {
    ((entries - with_word + 0.5) / (with_word + 0.5))
        .ln()
        .max(1e-6)
}

/// The request's distinct meaningful words, in order, at most `MAX_QUERY_WORDS`.
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
    fn catalog() -> Catalog {
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
    }

    fn titles(matches: &[Match]) -> Vec<&str> {
        matches.iter().map(|m| m.title.as_str()).collect()
    }

    #[test]
    fn the_entry_sharing_most_title_and_keyword_words_ranks_first() {
        let c = catalog();
        let m = c.best("My vault token expired this morning");
        assert_eq!(m[0].title, "Rotate a Vault token");
        assert!(titles(&m).contains(&"Revoke a leaked Vault token"));
        assert!(m.len() <= MAX_OFFERED);
        assert!(m.windows(2).all(|w| w[0].score >= w[1].score), "{m:?}");
    }

    #[test]
    fn a_word_shared_with_a_summary_ranks_an_entry_but_less_than_in_its_title() {
        let c = Catalog::build(&[
            entry("Renew a TLS certificate", "Ask the platform team", &["tls"]),
            entry(
                "Renew a TLS certificate for ingress",
                "Ask the platform team",
                &["tls"],
            ),
            entry(
                "Renew a TLS certificate by hand",
                "Edit the ingress annotations",
                &["tls"],
            ),
        ]);
        let m = c.best("renew the tls certificate of our ingress");
        // "ingress" in the title beats "ingress" in the summary, which beats no "ingress".
        assert_eq!(
            titles(&m),
            [
                "Renew a TLS certificate for ingress",
                "Renew a TLS certificate by hand",
                "Renew a TLS certificate",
            ]
        );
        assert!(m[0].score > m[1].score && m[1].score > m[2].score, "{m:?}");
    }

    #[test]
    fn look_alike_texts_find_their_own_entry() {
        let c = catalog();
        let revoke = c.best("I leaked a vault token in a public gist, revoke it");
        assert_eq!(revoke[0].title, "Revoke a leaked Vault token");
        let quota = c.best("our namespace hit its quota limits");
        assert_eq!(quota[0].title, "Raise a namespace quota");
        let new = c.best("need a new kubernetes namespace for billing");
        assert_eq!(new[0].title, "Request a Kubernetes namespace");
    }

    #[test]
    fn stemming_matches_other_forms_of_a_word() {
        let c = catalog();
        let m = c.best("rotating vault tokens");
        assert_eq!(m[0].title, "Rotate a Vault token");
    }

    #[test]
    fn below_the_threshold_nothing_is_offered() {
        let c = catalog();
        // One shared word of several: vault is down, not a token problem.
        assert!(c.best("vault is down in production").is_empty());
        // Shared with a summary only.
        assert!(c.best("security review of the gist").is_empty());
        assert!(c.best("the deploy pipeline is red").is_empty());
        // Nothing meaningful at all.
        assert!(c.best("please help me").is_empty());
        // A single meaningful word is enough when it is the whole request.
        assert_eq!(titles(&c.best("quota?")), ["Raise a namespace quota"]);
    }

    #[test]
    fn query_syntax_and_punctuation_in_the_text_are_only_words() {
        let c = catalog();
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
            let result = c.best(text);
            assert!(result.len() <= MAX_OFFERED, "{text:?}: {result:?}");
        }
        let m = c.best("\"vault token\" AND (rotate OR NOT)");
        assert_eq!(m[0].title, "Rotate a Vault token");
    }

    #[test]
    fn an_empty_catalog_offers_nothing() {
        let c = Catalog::build(&[]);
        assert!(c.is_empty());
        assert!(c.best("vault token").is_empty());
    }

    #[test]
    fn content_words_drop_stopwords_and_repeats() {
        assert_eq!(
            content_words("Hi! Can you help me rotate my Vault token, the vault TOKEN?"),
            ["rotate", "vault", "token"]
        );
    }
}
