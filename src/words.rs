//! Splitting text into lowercase words, the unit triage rules and duplicate detection both
//! compare (and the policy's keywords are stored in).

/// The lowercase words of a text: maximal runs of alphanumeric characters, so punctuation,
/// hyphens, underscores and any whitespace all separate words. Each word is lowercased as
/// `str::to_lowercase` lowercases it on its own. All words share one buffer: a request's
/// text is split once for triage and duplicate detection, without a string per word.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Words {
    buf: String,
    ends: Vec<usize>,
}

impl Words {
    pub fn of(text: &str) -> Self {
        let mut words = Words {
            buf: String::with_capacity(text.len()),
            ends: Vec::new(),
        };
        if text.is_ascii() {
            // The common case: every character is a byte, so words are runs of ASCII letters
            // and digits, found byte by byte and lowercased all at once at the end.
            let bytes = text.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                if !bytes[at].is_ascii_alphanumeric() {
                    at += 1;
                    continue;
                }
                let start = at;
                while at < bytes.len() && bytes[at].is_ascii_alphanumeric() {
                    at += 1;
                }
                words.buf.push_str(&text[start..at]);
                words.ends.push(words.buf.len());
            }
            words.buf.make_ascii_lowercase();
            return words;
        }
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if word.is_empty() {
                continue;
            }
            if word.is_ascii() {
                // Copied whole, then lowercased in place: no per-character UTF-8 encoding.
                let start = words.buf.len();
                words.buf.push_str(word);
                words.buf[start..].make_ascii_lowercase();
            } else {
                words.buf.push_str(&word.to_lowercase());
            }
            words.ends.push(words.buf.len());
        }
        words
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th word.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether `wanted` appears among these words, consecutively (and is not empty).
    pub fn contains_run(&self, wanted: &Words) -> bool {
        let n = wanted.len();
        n > 0
            && n <= self.len()
            && (0..=self.len() - n).any(|at| (0..n).all(|k| self.get(at + k) == wanted.get(k)))
    }
}

/// Words that say nothing about what a request is about (self-service matching, knowledge
/// gaps).
pub const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "but", "by", "can", "could", "do", "does", "for", "from", "get", "got", "has", "have",
    "hello", "help", "hey", "hi", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me",
    "my", "need", "needs", "no", "not", "of", "on", "or", "our", "please", "so", "some", "still",
    "that", "the", "their", "there", "this", "to", "up", "us", "was", "we", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// True for a word in [`STOPWORDS`].
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::Words;

    #[test]
    fn the_stopwords_are_sorted_for_binary_search() {
        assert!(super::STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(super::is_stopword("the") && !super::is_stopword("vault"));
    }
    use proptest::prelude::*;

    #[test]
    fn words_are_lowercase_runs_of_letters_and_digits() {
        let words = Words::of("Prod  DOWN!-- since 9am, ÉTÉ_ΣΟΦΟΣ");
        let all: Vec<&str> = words.iter().collect();
        assert_eq!(all, ["prod", "down", "since", "9am", "été", "σοφος"]);
        assert_eq!(words.len(), 6);
        assert!(Words::of(" -- ").is_empty());
    }

    #[test]
    fn a_run_of_words_is_found_only_whole_and_in_order() {
        let text = Words::of("is prod down for anyone?");
        assert!(text.contains_run(&Words::of("Prod-down")));
        assert!(text.contains_run(&Words::of("anyone")));
        assert!(!text.contains_run(&Words::of("down prod")));
        assert!(!text.contains_run(&Words::of("pro")));
        assert!(!text.contains_run(&Words::of("anyone else")));
        assert!(!text.contains_run(&Words::of("!!")));
    }

    proptest! {
        /// The shared buffer gives each word exactly as lowercasing it alone would.
        #[test]
        fn words_equal_each_run_lowercased_alone(text in prop_oneof![
            any::<String>(),
            "[a-zA-ZÀ-ÿΣσς0-9 ,.!-]{0,40}",
            // ASCII only: the byte-by-byte path.
            "[a-zA-Z0-9 ,.!_\t\n#@-]{0,40}",
        ]) {
            let expected: Vec<String> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            let words = Words::of(&text);
            prop_assert_eq!(words.iter().collect::<Vec<_>>(), expected);
        }
    }
}
