//! Checks of `[self_service]` (the catalog: unique titles, http(s) links) and
//! `[[ownership.areas]]` (no keyword in two areas).

use std::collections::HashMap;

use super::fields::{channel_id, count_or, each, non_blank, positive_duration_or};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawCatalogEntry, RawOwnership, RawSelfService, Section, Text};
use crate::settings::self_service::{
    CatalogEntry, OwnershipArea, OwnershipPolicy, SelfServicePolicy,
};
use crate::words::Words;

pub fn self_service(raw: Section<RawSelfService>, p: &mut Problems) -> Option<SelfServicePolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(SelfServicePolicy::default()),
        Section::Present(raw) => raw,
    };
    let default = SelfServicePolicy::default();
    let offer_timeout = positive_duration_or(
        p,
        "self_service.offer_timeout",
        raw.offer_timeout.as_ref(),
        default.offer_timeout,
    );
    let minutes = count_or(
        p,
        "self_service.minutes_saved_per_deflection",
        raw.minutes_saved_per_deflection.as_ref(),
        0,
        default.minutes_saved_per_deflection,
    );
    let mut titles: HashMap<String, usize> = HashMap::new();
    let mut entries = Some(Vec::new());
    for (index, spanned) in raw.entries.iter().enumerate() {
        let key = format!("self_service.entries[{index}]");
        let raw_entry = spanned.get_ref();
        let folded = raw_entry.title.get_ref().trim().to_lowercase();
        if let Some(first) = titles.insert(folded, index) {
            let message = format!(
                "title {:?} is already used by self_service.entries[{first}]",
                raw_entry.title.get_ref()
            );
            p.at(format!("{key}.title"), raw_entry.title.span(), message);
        }
        match (entry(p, &key, raw_entry), entries.as_mut()) {
            (Some(e), Some(list)) => list.push(e),
            _ => entries = None,
        }
    }
    Some(SelfServicePolicy {
        offer_timeout: offer_timeout?,
        minutes_saved_per_deflection: minutes?,
        entries: entries?,
    })
}

fn entry(p: &mut Problems, key: &str, raw: &RawCatalogEntry) -> Option<CatalogEntry> {
    let title = non_blank(p, &format!("{key}.title"), &raw.title);
    let link = web_link(p, &format!("{key}.link"), &raw.link);
    let summary = non_blank(p, &format!("{key}.summary"), &raw.summary);
    let keywords = each(p, &format!("{key}.keywords"), &raw.keywords, non_blank);
    Some(CatalogEntry {
        title: title?.trim().to_string(),
        link: link?,
        summary: summary?,
        keywords: keywords?,
    })
}

fn web_link(p: &mut Problems, key: &str, text: &Text) -> Option<String> {
    let link = text.get_ref().trim();
    let scheme = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"));
    let ok = scheme.is_some_and(|rest| !rest.is_empty())
        && !link.chars().any(char::is_whitespace)
        && link.len() <= 2000;
    if !ok {
        let message = format!("{link:?} is not a web link: it must start with https:// or http://");
        p.at(key, text.span(), message);
        return None;
    }
    Some(link.to_string())
}

pub fn ownership(raw: Section<RawOwnership>, p: &mut Problems) -> Option<OwnershipPolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(OwnershipPolicy::default()),
        Section::Present(raw) => raw,
    };
    // keyword (as its words) -> the first area that has it.
    let mut owners: HashMap<String, (usize, String)> = HashMap::new();
    let mut areas = Some(Vec::new());
    for (index, spanned) in raw.areas.iter().enumerate() {
        let key = format!("ownership.areas[{index}]");
        let area = spanned.get_ref();
        let name = non_blank(p, &format!("{key}.name"), &area.name);
        let owner = non_blank(p, &format!("{key}.owner"), &area.owner);
        let keywords = each(p, &format!("{key}.keywords"), &area.keywords, non_blank);
        if area.keywords.is_empty() {
            p.at(&key, spanned.span(), "an area needs at least one keyword");
        }
        let channel = match &area.channel {
            None => Some(None),
            Some(text) => channel_id(p, &format!("{key}.channel"), text).map(Some),
        };
        let note = match &area.note {
            None => Some(None),
            Some(text) => non_blank(p, &format!("{key}.note"), text).map(Some),
        };
        let mut keyword_words = Vec::new();
        for text in &area.keywords {
            let words: Vec<String> = Words::of(text.get_ref())
                .iter()
                .map(str::to_string)
                .collect();
            let folded = words.join(" ");
            if words.is_empty() {
                continue;
            }
            let this = area.name.get_ref().clone();
            match owners.get(&folded) {
                Some((first, other)) if *first != index => {
                    let message = format!(
                        "keyword {:?} is in two areas: {other:?} (ownership.areas[{first}]) and {this:?}; a topic has one owner",
                        text.get_ref()
                    );
                    p.at(format!("{key}.keywords"), text.span(), message);
                }
                Some(_) => {}
                None => {
                    owners.insert(folded, (index, this));
                }
            }
            keyword_words.push(words);
        }
        let checked = (|| {
            Some(OwnershipArea {
                name: name?,
                keywords: keywords?,
                keyword_words,
                owner: owner?.trim().to_string(),
                channel: channel?,
                note: note?,
            })
        })();
        match (checked, areas.as_mut()) {
            (Some(a), Some(list)) => list.push(a),
            _ => areas = None,
        }
    }
    Some(OwnershipPolicy { areas: areas? })
}

#[cfg(test)]
mod tests {
    use crate::settings::Policy;

    const BUILTIN: &str = include_str!("../default_policy.toml");

    const CATALOG: &str = r#"
[self_service]
offer_timeout = "5m"
minutes_saved_per_deflection = 45

[[self_service.entries]]
title = "Rotate a Vault token"
link = "https://wiki.example.com/vault/rotate"
summary = "Run `vault token renew` or ask for a new role"
keywords = ["vault", "token", "rotate"]

[[ownership.areas]]
name = "database schema changes"
keywords = ["schema", "migration", "ddl"]
owner = "data team"
channel = "C01DATAENG"
note = "Open a PR in data/migrations"

[[ownership.areas]]
name = "CI pipelines"
keywords = ["ci", "pipeline"]
owner = "platform"
"#;

    #[test]
    fn without_the_sections_nothing_is_offered_and_a_deflection_saves_thirty_minutes() {
        let policy = Policy::builtin();
        assert!(policy.self_service.entries.is_empty());
        assert_eq!(policy.self_service.offer_timeout.as_secs(), 600);
        assert_eq!(policy.self_service.minutes_saved_per_deflection, 30);
        assert!(policy.ownership.areas.is_empty());
    }

    #[test]
    fn the_catalog_and_the_areas_are_read() {
        let policy = Policy::parse(&format!("{BUILTIN}\n{CATALOG}")).expect("valid");
        let s = &policy.self_service;
        assert_eq!(s.offer_timeout.as_secs(), 300);
        assert_eq!(s.minutes_saved_per_deflection, 45);
        assert_eq!(s.entries[0].title, "Rotate a Vault token");
        assert_eq!(s.entries[0].keywords, ["vault", "token", "rotate"]);
        let areas = &policy.ownership.areas;
        assert_eq!(areas.len(), 2);
        assert!(!areas[0].is_platform());
        assert!(areas[1].is_platform());
        assert_eq!(areas[0].channel.as_deref(), Some("C01DATAENG"));
    }

    #[test]
    fn a_link_that_is_not_http_and_a_repeated_title_are_errors_with_key_and_line() {
        let text = format!(
            "{BUILTIN}\n{CATALOG}\n[[self_service.entries]]\ntitle = \"rotate a vault token\"\nlink = \"ftp://files/x\"\nsummary = \"s\"\n"
        );
        let problems: Vec<String> = Policy::parse(&text)
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("self_service.entries[1].title (line ")
                    && p.contains("already used by self_service.entries[0]")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("self_service.entries[1].link (line ")
                    && p.contains("https://")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_keyword_in_two_areas_is_an_error_naming_both_areas_and_the_keyword() {
        let text = format!(
            "{BUILTIN}\n{CATALOG}\n[[ownership.areas]]\nname = \"analytics\"\nkeywords = [\"dashboards\", \"Schema\"]\nowner = \"data team\"\n"
        );
        let problems = Policy::parse(&text).expect_err("overlap");
        let text = problems[0].to_string();
        assert!(
            text.starts_with("ownership.areas[2].keywords (line "),
            "{text}"
        );
        assert!(text.contains("\"Schema\""), "{text}");
        assert!(text.contains("\"database schema changes\""), "{text}");
        assert!(text.contains("\"analytics\""), "{text}");
    }

    #[test]
    fn unknown_keys_stay_errors() {
        let text = format!("{BUILTIN}\n[self_service]\noffer_timeuot = \"5m\"\n");
        assert!(Policy::parse(&text).is_err());
    }
}
