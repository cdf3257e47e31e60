//! The ownership map: which area of `[[ownership.areas]]` a text is about. The same map
//! answers `/platform owns <topic>` and decides whether a request is redirected.
//!
//! A keyword matches when its words appear in the text one after another (a plural `s` on
//! the text's last word is allowed: "migrations" is about "migration"). The area with the
//! most keywords in the text wins; ties go to the first in the file.

use crate::settings::{OwnershipArea, OwnershipPolicy};
use crate::words::Words;

/// The area `text` is about, if any.
pub fn area_of<'p>(policy: &'p OwnershipPolicy, text: &str) -> Option<&'p OwnershipArea> {
    let words: Vec<String> = Words::of(text).iter().map(str::to_string).collect();
    let mut best: Option<(usize, &OwnershipArea)> = None;
    for area in &policy.areas {
        let hits = area
            .keyword_words
            .iter()
            .filter(|k| contains(&words, k))
            .count();
        if hits > 0 && best.is_none_or(|(most, _)| hits > most) {
            best = Some((hits, area));
        }
    }
    best.map(|(_, area)| area)
}

/// True when `keyword`'s words occur in `words` one after another.
fn contains(words: &[String], keyword: &[String]) -> bool {
    if keyword.is_empty() || keyword.len() > words.len() {
        return false;
    }
    words.windows(keyword.len()).any(|window| {
        window.iter().zip(keyword).enumerate().all(|(i, (w, k))| {
            w == k || (i + 1 == keyword.len() && w.strip_suffix('s') == Some(k.as_str()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Policy;

    fn policy() -> Policy {
        let text = format!(
            "{}\n{}",
            include_str!("../settings/default_policy.toml"),
            r#"
[[ownership.areas]]
name = "database schema changes"
keywords = ["schema", "migration", "ddl", "alter table"]
owner = "data team"
channel = "C01DATAENG"

[[ownership.areas]]
name = "deploy pipelines"
keywords = ["deploy", "pipeline", "ci"]
owner = "platform"
"#
        );
        Policy::parse(&text).unwrap()
    }

    #[test]
    fn a_text_is_about_the_area_whose_keywords_it_has() {
        let p = policy();
        let area = |t: &str| area_of(&p.ownership, t).map(|a| a.name.as_str());
        assert_eq!(
            area("Please review my schema change"),
            Some("database schema changes")
        );
        assert_eq!(
            area("two migrations are stuck"),
            Some("database schema changes")
        );
        assert_eq!(
            area("ALTER TABLE users add column"),
            Some("database schema changes")
        );
        assert_eq!(area("the CI pipeline is red"), Some("deploy pipelines"));
        assert_eq!(area("a table is altered"), None);
        assert_eq!(area("vault token expired"), None);
        assert_eq!(area(""), None);
    }

    #[test]
    fn the_area_with_the_most_keywords_wins() {
        let p = policy();
        let area = area_of(&p.ownership, "deploy of the schema migration fails").unwrap();
        assert_eq!(area.name, "database schema changes");
    }
}
