//! Duplicate detection: how much two requests share, by their significant words.
//!
//! Similarity is the overlap coefficient, |A ∩ B| / min(|A|, |B|), not Jaccard. A new request
//! is usually a line ("staging deploy is stuck") while the ticket it repeats has a title and
//! a description; Jaccard divides by the union and so punishes exactly that length gap, where
//! the overlap coefficient asks whether the shorter text is contained in the longer. Its
//! weakness is a very short text, contained in anything: `best_match` therefore also wants
//! at least `MIN_SHARED_TOKENS` words in common.

#[cfg(test)]
use std::collections::BTreeSet;

use super::Words;

/// The similarity from which a request is flagged as a likely duplicate.
pub const DUPLICATE_THRESHOLD: f64 = 0.7;

/// The fewest tokens two texts must share to be duplicates, whatever their similarity.
pub const MIN_SHARED_TOKENS: usize = 2;

/// Words too common in requests to say what one is about. Sorted, for `binary_search`.
const STOP_WORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "been", "before", "but", "can",
    "cannot", "com", "could", "did", "does", "for", "from", "get", "got", "had", "has", "have",
    "hello", "help", "here", "hey", "how", "http", "https", "into", "its", "just", "not", "now",
    "our", "please", "since", "some", "still", "than", "thank", "thanks", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "those", "today", "too", "was", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "would", "www", "yet", "you",
    "your",
];

/// The significant words of `text`: lowercase, at least 3 characters, neither a stop word nor
/// only digits, with a plural's `s` (or `ies`) taken off so "deploys" meets "deploy". The
/// readable form of [`token_hashes`], which the tests check it against.
#[cfg(test)]
pub fn tokens(text: &str) -> BTreeSet<String> {
    let words = Words::of(text);
    significant(&words)
        .map(|(stem, ies)| format!("{stem}{}", if ies { "y" } else { "" }))
        .collect()
}

/// The words `tokens` keeps, in text order, repeats included, each as its singular's stem
/// and whether a `y` follows it (`policies` → (`polic`, true)): no string is built.
#[cfg(test)]
fn significant(words: &Words) -> impl Iterator<Item = (&str, bool)> + '_ {
    words.iter().filter_map(significant_word)
}

/// `word` as [`significant`] keeps it, or `None` when it is left out.
fn significant_word(word: &str) -> Option<(&str, bool)> {
    let kept =
        at_least_chars(word, 3) && !word.chars().all(char::is_numeric) && !is_stop_word(word);
    kept.then(|| singular(word))
}

/// Most words are not stop words, and a search among a few dozen hashes says so without
/// comparing strings (a string search was most of the time `hashes_of` took); a hit is
/// confirmed against the list itself.
fn is_stop_word(word: &str) -> bool {
    stop_word_hashes()
        .binary_search(&fnv1a(FNV_BASIS, word.as_bytes()))
        .is_ok()
        && STOP_WORDS.binary_search(&word).is_ok()
}

/// The FNV-1a hashes of [`STOP_WORDS`], sorted.
fn stop_word_hashes() -> &'static [u64] {
    static HASHES: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
        let mut hashes: Vec<u64> = STOP_WORDS
            .iter()
            .map(|w| fnv1a(FNV_BASIS, w.as_bytes()))
            .collect();
        hashes.sort_unstable();
        hashes
    });
    &HASHES
}

/// A crude singular, the same for both texts compared: `policies` → `policy`,
/// `deploys` → `deploy`; `access` and short words like `bus` are left alone.
fn singular(word: &str) -> (&str, bool) {
    if word.ends_with("ies") && at_least_chars(word, 5) {
        (&word[..word.len() - 3], true)
    } else if word.ends_with('s') && !word.ends_with("ss") && at_least_chars(word, 4) {
        (&word[..word.len() - 1], false)
    } else {
        (word, false)
    }
}

/// Whether `word` has at least `n` characters; most words are ASCII, one byte each.
fn at_least_chars(word: &str, n: usize) -> bool {
    word.len() >= n && (word.is_ascii() || word.chars().count() >= n)
}

/// The overlap coefficient of two token sets, in [0, 1]; 0 when either is empty.
#[cfg(test)]
pub fn similarity(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / smaller as f64
}

/// The tokens of `text` as sorted, distinct 64-bit hashes: what the ticket writer keeps
/// of recent tickets, compared by a merge of two short integer lists instead of string
/// sets. Two different words share a hash with odds of about 1 in 2^64.
pub fn token_hashes(text: &str) -> Vec<u64> {
    hashes_of(&Words::of(text))
}

/// [`token_hashes`] of a text already split into its [`Words`].
pub fn hashes_of(words: &Words) -> Vec<u64> {
    let mut out: Vec<u64> = words.iter().filter_map(token_hash).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The tokens of texts as their ticket stores them (`tickets.words`), and their hashes (the
/// [`token_hashes`] of the texts joined). The words are distinct, each as `tokens` spells
/// it (a token holds no space), separated by single spaces, in the order of their hashes;
/// the duplicate check reads them back with [`stored_hashes`] instead of splitting the texts.
pub fn stored<'a>(texts: impl IntoIterator<Item = &'a Words>) -> (String, Vec<u64>) {
    let tokens: Vec<(u64, &str, bool)> = texts.into_iter().flat_map(hashed_tokens).collect();
    stored_of(tokens)
}

/// A request's tokens, each word looked at once: its description's hashes (the
/// [`token_hashes`] it is compared by) and its title's and description's [`stored`] words and
/// hashes (what later requests are compared with).
pub struct RequestTokens {
    pub description: Vec<u64>,
    pub stored_words: String,
    pub stored: Vec<u64>,
}

/// [`RequestTokens`] of a request with this title and description.
pub fn request_tokens(title: &Words, description: &Words) -> RequestTokens {
    let mut tokens: Vec<(u64, &str, bool)> = hashed_tokens(description).collect();
    let mut hashes: Vec<u64> = tokens.iter().map(|t| t.0).collect();
    hashes.sort_unstable();
    hashes.dedup();
    tokens.extend(hashed_tokens(title));
    let (stored_words, stored) = stored_of(tokens);
    RequestTokens {
        description: hashes,
        stored_words,
        stored,
    }
}

/// The significant tokens of `words` with their hashes, in text order.
fn hashed_tokens(words: &Words) -> impl Iterator<Item = (u64, &str, bool)> + '_ {
    words
        .iter()
        .filter_map(significant_word)
        .map(|(stem, ies)| (hash_token(stem, ies), stem, ies))
}

/// [`stored`] of these tokens.
fn stored_of(mut tokens: Vec<(u64, &str, bool)>) -> (String, Vec<u64>) {
    tokens.sort_unstable_by_key(|t| t.0);
    tokens.dedup_by_key(|t| t.0);
    let mut words = String::with_capacity(tokens.iter().map(|t| t.1.len() + 2).sum());
    for (_, stem, ies) in &tokens {
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(stem);
        if *ies {
            words.push('y');
        }
    }
    (words, tokens.iter().map(|t| t.0).collect())
}

/// [`token_hashes`] of the text whose [`stored`] words these are.
pub fn stored_hashes(stored: &str) -> Vec<u64> {
    let mut out: Vec<u64> = stored
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| fnv1a(FNV_BASIS, w.as_bytes()))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The hash of `word`'s token: its stem from [`significant_word`], followed by `y` for an
/// `ies` plural; `None` when the word is left out.
fn token_hash(word: &str) -> Option<u64> {
    significant_word(word).map(|(stem, ies)| hash_token(stem, ies))
}

/// The hash of the token spelled `stem`, then `y` for an `ies` plural.
fn hash_token(stem: &str, ies: bool) -> u64 {
    let h = fnv1a(FNV_BASIS, stem.as_bytes());
    if ies {
        fnv1a(h, b"y")
    } else {
        h
    }
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits, continuing from `h` (a word's hash is its bytes' fold from
/// `FNV_BASIS`): a word is a few bytes, and these hashes never leave the process (no hash
/// flooding to defend against), so a keyed SipHash would only cost time.
fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How many hashes two sorted, distinct lists share, and their overlap coefficient (as
/// `similarity` computes it for token sets).
pub fn hashes_overlap(a: &[u64], b: &[u64]) -> (usize, f64) {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    // Without branches on the comparison: hashes are random, so a branch would be
    // mispredicted about every other step.
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        shared += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    (shared, overlap_score(shared, a.len().min(b.len())))
}

/// The overlap coefficient of `shared` tokens between texts whose smaller has `smaller`
/// tokens; 0 when it has none.
fn overlap_score(shared: usize, smaller: usize) -> f64 {
    if smaller == 0 {
        0.0
    } else {
        shared as f64 / smaller as f64
    }
}

/// Whether texts sharing `shared` tokens, with the overlap coefficient `score`, are
/// duplicates at `threshold`: the one rule of [`best_match`] and [`may_match`].
fn accepted(shared: usize, score: f64, threshold: f64) -> bool {
    shared >= MIN_SHARED_TOKENS && score >= threshold
}

/// A 64-bit summary of a sorted token list ([`token_hashes`]): bit `b` is set when one of
/// its tokens falls in bucket `b`. Kept with each remembered ticket for [`may_match`].
pub fn signature(hashes: &[u64]) -> u64 {
    hashes.iter().fold(0, |sig, h| sig | bucket(*h))
}

/// The bit of `h`'s bucket: its top six bits after a multiply, which spreads FNV's weaker
/// high bits.
fn bucket(h: u64) -> u64 {
    1 << (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// Whether a candidate of `their_len` tokens with the [`signature`] `their_sig` could be
/// what [`best_match`] accepts for `wanted` at `threshold`: false only when it cannot. A
/// token both texts share falls in a bucket of `their_sig`, so counting the tokens of
/// `wanted` that do bounds the shared count from above, with a pass over one short list
/// instead of a merge of two. Most candidates are about something else and stop here.
pub fn may_match(wanted: &[u64], their_len: usize, their_sig: u64, threshold: f64) -> bool {
    let at_most = wanted
        .iter()
        .filter(|h| bucket(**h) & their_sig != 0)
        .count();
    // `best_match`'s rule on a count at least as large: the score only grows with the
    // count, so nothing `best_match` would accept is turned away.
    let score = overlap_score(at_most, wanted.len().min(their_len));
    accepted(at_most, score, threshold)
}

/// The candidate most similar to `wanted`, with its similarity, when that is at least
/// `threshold` and they share at least `MIN_SHARED_TOKENS` tokens. Texts are given as their
/// [`token_hashes`]; on a tie the first candidate wins.
pub fn best_match<'a, K>(
    wanted: &[u64],
    candidates: impl IntoIterator<Item = (K, &'a [u64])>,
    threshold: f64,
) -> Option<(K, f64)> {
    let mut best: Option<(K, f64)> = None;
    for (key, theirs) in candidates {
        let (shared, score) = hashes_overlap(wanted, theirs);
        if accepted(shared, score, threshold) && best.as_ref().is_none_or(|(_, top)| score > *top) {
            best = Some((key, score));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn stop_words_are_sorted_and_long_enough_to_survive_the_length_filter() {
        assert!(STOP_WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(STOP_WORDS.iter().all(|word| word.len() >= 3));
        // Each is dropped by the hashing's own stop-word check too, in any case.
        for word in STOP_WORDS {
            assert!(token_hashes(word).is_empty(), "{word}");
            assert!(token_hashes(&word.to_uppercase()).is_empty(), "{word}");
        }
    }

    #[test]
    fn tokens_are_lowercase_significant_singular_words() {
        let cases: &[(&str, &[&str])] = &[
            (
                "The staging deploy is stuck AGAIN",
                &["deploy", "staging", "stuck"],
            ),
            (
                "Deploys fail on k8s since 2024-05-01",
                &["deploy", "fail", "k8s"],
            ),
            (
                "IAM policies for the new bus",
                &["bus", "iam", "new", "policy"],
            ),
            (
                "prod-down: access denied!!",
                &["access", "denied", "down", "prod"],
            ),
            (
                "Überprüfung der Zugänge",
                &["der", "zugänge", "überprüfung"],
            ),
            ("a an is to 42 1234", &[]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(tokens(text), set(expected), "tokens of {text:?}");
        }
    }

    #[test]
    fn hashed_tokens_overlap_exactly_as_the_token_sets_do() {
        let pairs = [
            (
                "staging deploy is stuck",
                "Staging deploys are stuck since this morning",
            ),
            (
                "vault token expired for payments",
                "kafka consumer lag on billing",
            ),
            ("", "anything at all"),
            ("IAM policies for the new bus", "new IAM policy for the bus"),
        ];
        for (a, b) in pairs {
            let (ta, tb) = (tokens(a), tokens(b));
            let (shared, score) = hashes_overlap(&token_hashes(a), &token_hashes(b));
            assert_eq!(shared, ta.intersection(&tb).count(), "{a:?} vs {b:?}");
            assert_eq!(score, similarity(&ta, &tb), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn similarity_is_the_share_of_the_smaller_set_found_in_the_other() {
        let cases: &[(&[&str], &[&str], f64)] = &[
            (&["a", "b"], &["a", "b", "c", "d"], 1.0),
            (&["a", "b", "c"], &["a", "b", "d", "e"], 2.0 / 3.0),
            (&["a", "b"], &["c", "d"], 0.0),
            (&[], &["a"], 0.0),
            (&[], &[], 0.0),
        ];
        for (a, b, expected) in cases {
            let got = similarity(&set(a), &set(b));
            assert!((got - expected).abs() < 1e-9, "{a:?} vs {b:?}: {got}");
        }
    }

    #[test]
    fn duplicates_are_told_from_different_requests_at_the_default_threshold() {
        let cases = [
            (
                "staging deploy is stuck",
                "the staging deploy is stuck again",
                true,
            ),
            (
                "Staging deploys are stuck",
                "Staging deploy stuck: the pipeline for payments hangs at the canary step",
                true,
            ),
            (
                "need a new kafka topic for orders",
                "New Kafka topic: orders-v2",
                true,
            ),
            (
                "Grafana dashboards are down",
                "grafana dashboard down for everyone",
                true,
            ),
            ("staging deploy is stuck", "need a new kafka topic", false),
            ("staging deploy is stuck", "prod deploy failed", false),
            ("staging deploy is stuck", "staging deploy failed", false),
            ("staging deploy is stuck", "staging database is full", false),
            ("kafka", "kafka consumer lag is high on kafka-3", false),
            ("help!!!", "help!!!", false),
        ];
        for (text, filed, duplicate) in cases {
            let found = best_match(text, [("PLAT-1", filed)], DUPLICATE_THRESHOLD);
            assert_eq!(
                found.is_some(),
                duplicate,
                "{text:?} vs {filed:?}: {found:?}"
            );
        }
    }

    #[test]
    fn best_match_picks_the_most_similar_candidate_and_its_key() {
        let filed = [
            ("PLAT-1", "need a new kafka topic".to_string()),
            ("PLAT-2", "staging deploy failed on payments".to_string()),
            ("PLAT-3", "staging deploy is stuck on payments".to_string()),
        ];
        let candidates = filed.iter().map(|(key, text)| (*key, text));
        let found = best_match("payments staging deploy stuck", candidates, 0.5);
        assert_eq!(found, Some(("PLAT-3", 1.0)));
    }

    #[test]
    fn may_match_rules_out_a_text_about_something_else_and_keeps_a_repeat() {
        let wanted = token_hashes("staging deploy is stuck on payments");
        let repeat = token_hashes("payments staging deploy stuck");
        let other = token_hashes("need a new kafka topic for invoices");
        assert!(may_match(
            &wanted,
            repeat.len(),
            signature(&repeat),
            DUPLICATE_THRESHOLD
        ));
        assert!(!may_match(
            &wanted,
            other.len(),
            signature(&other),
            DUPLICATE_THRESHOLD
        ));
        // Nothing in common: no bucket can be shared, whatever the lists.
        assert!(!may_match(&wanted, other.len(), 0, 0.0));
    }

    #[test]
    fn best_match_prefers_the_first_of_equally_similar_candidates() {
        let filed = [
            ("PLAT-7", "vault token expired"),
            ("PLAT-8", "vault token expired"),
        ];
        assert_eq!(
            best_match("vault token expired", filed, DUPLICATE_THRESHOLD),
            Some(("PLAT-7", 1.0))
        );
    }

    #[test]
    fn best_match_finds_nothing_below_the_threshold_or_among_no_candidates() {
        let filed = [("PLAT-1", "staging deploy failed on payments")];
        assert_eq!(best_match("staging deploy stuck", filed, 0.9), None);
        assert_eq!(
            best_match("staging deploy stuck", filed, 0.6).unwrap().0,
            "PLAT-1"
        );
        assert_eq!(
            best_match("staging deploy stuck", Vec::<(&str, &str)>::new(), 0.0),
            None
        );
    }

    /// The cases are written as texts: hash them, then ask the real [`super::best_match`].
    fn best_match<'a, T: AsRef<str>>(
        text: &str,
        candidates: impl IntoIterator<Item = (&'a str, T)>,
        threshold: f64,
    ) -> Option<(&'a str, f64)> {
        let hashed: Vec<(&str, Vec<u64>)> = candidates
            .into_iter()
            .map(|(key, text)| (key, token_hashes(text.as_ref())))
            .collect();
        super::best_match(
            &token_hashes(text),
            hashed.iter().map(|(key, h)| (*key, h.as_slice())),
            threshold,
        )
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-zA-Z0-9 ,.!-]{0,60}"]
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_and_between_zero_and_one(a in text(), b in text()) {
            let (a, b) = (tokens(&a), tokens(&b));
            let there = similarity(&a, &b);
            prop_assert_eq!(there, similarity(&b, &a));
            prop_assert!((0.0..=1.0).contains(&there), "{}", there);
        }

        #[test]
        fn a_text_with_tokens_is_wholly_similar_to_itself(a in text()) {
            let own = tokens(&a);
            let expected = if own.is_empty() { 0.0 } else { 1.0 };
            prop_assert_eq!(similarity(&own, &own), expected);
        }

        /// The hashes, stop-word check by hash included, are those of the readable tokens.
        #[test]
        fn token_hashes_are_the_hashes_of_the_tokens(a in prop_oneof![
            text(),
            "[a-zA-Z0-9 ]{0,12}(ies|s|ss|y)( [a-z]{1,6}(ies|s|ss))*",
            "(the|THANKS|policies|Deploys|access|bus|1234|k8s|Über|ÉTÉ|ies|sss)( [a-z]{0,4})?",
        ]) {
            let mut expected: Vec<u64> = tokens(&a)
                .iter()
                .map(|t| fnv1a(FNV_BASIS, t.as_bytes()))
                .collect();
            expected.sort_unstable();
            prop_assert_eq!(token_hashes(&a), expected);
        }

        /// Stored words read back as the hashes of the text they came from, and are its
        /// tokens.
        #[test]
        fn stored_words_give_back_the_token_hashes_of_their_text(a in prop_oneof![
            text(),
            "(the|THANKS|policies|Deploys|access|bus|1234|k8s|Über|ÉTÉ|ies|policy)( [a-z]{0,6}){0,8}",
        ]) {
            let words = Words::of(&a);
            let (stored, hashes) = stored([&words]);
            prop_assert_eq!(&hashes, &hashes_of(&words));
            prop_assert_eq!(stored_hashes(&stored), hashes);
            let read: BTreeSet<String> =
                stored.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
            prop_assert_eq!(read, tokens(&a));
        }

        /// A request's tokens read in one pass are those read one by one.
        #[test]
        fn request_tokens_are_the_descriptions_hashes_and_both_texts_stored(a in text(), b in text()) {
            let (title, description) = (Words::of(&a), Words::of(&b));
            let read = request_tokens(&title, &description);
            prop_assert_eq!(read.description, hashes_of(&description));
            prop_assert_eq!((read.stored_words, read.stored), stored([&title, &description]));
        }

        /// Words stored from two texts are those of the texts joined.
        #[test]
        fn stored_words_of_two_texts_are_those_of_both(a in text(), b in text()) {
            let joined = stored([&Words::of(&format!("{a} {b}"))]);
            prop_assert_eq!(stored([&Words::of(&a), &Words::of(&b)]), joined);
        }

        /// The bound never turns away a candidate that the full comparison accepts, at any
        /// threshold; texts drawn from a few words share many of them.
        #[test]
        fn may_match_never_rules_out_a_candidate_best_match_accepts(
            a in "((deploy|staging|kafka|topic|vault|token|payments|stuck|failed|k8s) ){0,8}",
            b in "((deploy|staging|kafka|topic|vault|token|payments|stuck|failed|k8s) ){0,8}",
            c in text(),
            threshold in 0.0..=1.0f64,
        ) {
            let wanted = token_hashes(&a);
            for theirs in [token_hashes(&b), token_hashes(&format!("{b} {c}"))] {
                if super::best_match(&wanted, [((), &theirs[..])], threshold).is_some() {
                    prop_assert!(may_match(&wanted, theirs.len(), signature(&theirs), threshold));
                }
            }
        }

        #[test]
        fn tokens_are_lowercase_and_at_least_three_characters(a in text()) {
            for token in tokens(&a) {
                prop_assert!(token.chars().count() >= 3, "{:?}", token);
                prop_assert_eq!(token.to_lowercase(), token.clone());
            }
        }
    }
}
