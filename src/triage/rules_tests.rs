//! Tests of rule evaluation against whole policies: order, keywords, patterns, channels.

use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;

const EXAMPLE: &str = include_str!("../settings/default_policy.toml");

const EXAMPLE_RULE: &str = r#"[[triage.rules]]                 # an optional `name` (unique when given)
keywords = ["outage", "prod down", "sev1"]
category = "incident"
priority = "P1"
"#;

const RULES: &str = r#"
[[triage.rules]]
name = "incident"
keywords = ["outage", "prod down", "sev1"]
category = "incident"
priority = "P1"
assignee = "U01ALICE"

[[triage.rules]]
keywords = ["deploy"]
patterns = ['(?i)\berror 5\d\d\b']
category = "ci"
priority = "P2"

[[triage.rules]]
name = "security"
patterns = ['CVE-\d{4}-\d+']
category = "security"
priority = "P2"

[[triage.rules]]
name = "payments"
keywords = ["stuck"]
channel = "C0PAYMENTS"
category = "payments"
priority = "P2"
assignee = "U01BOB"

[[triage.rules]]
name = "stuck"
keywords = ["stuck", "!!!"]
category = "ci"
priority = "P4"
"#;

/// The contract's example policy with its one rule replaced by `rules`.
fn policy_with(rules: &str) -> Policy {
    assert!(EXAMPLE.contains(EXAMPLE_RULE), "the example's rule changed");
    let text = EXAMPLE.replacen(EXAMPLE_RULE, rules, 1);
    Policy::parse(&text).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// `RULES` in the example policy, parsed once for the property tests.
static POLICY: LazyLock<Policy> = LazyLock::new(|| policy_with(RULES));

fn decided(priority: &str, category: &str, rule: &str, reason: &str) -> Triage {
    Triage {
        priority: priority.to_string(),
        category: category.to_string(),
        rule: Some(rule.to_string()),
        reason: Some(reason.to_string()),
        assignee: None,
    }
}

fn assigned(triage: Triage, user: &str) -> Triage {
    Triage {
        assignee: Some(user.to_string()),
        ..triage
    }
}

fn defaults() -> Triage {
    Triage {
        priority: "P3".to_string(),
        category: "general".to_string(),
        rule: None,
        reason: None,
        assignee: None,
    }
}

#[test]
fn the_first_matching_rule_decides_and_says_what_matched() {
    let policy = policy_with(RULES);
    let incident = |reason| assigned(decided("P1", "incident", "incident", reason), "U01ALICE");
    let cases: Vec<(&str, Option<&str>, Triage)> = vec![
        ("prod down since 10:00", None, incident("prod down")),
        ("Prod   down!", None, incident("prod down")),
        ("PROD-DOWN\nplease look", None, incident("prod down")),
        ("SEV1: checkout fails", None, incident("sev1")),
        // Keywords in the rule's order, not the text's.
        ("prod down, a full outage", None, incident("outage")),
        // Rule 1 comes before rule 2, which also matches.
        ("deploy failed with an outage", None, incident("outage")),
        (
            "the deploy failed",
            None,
            decided("P2", "ci", "rule 2", "deploy"),
        ),
        (
            "Got ERROR 503 from the gateway",
            None,
            decided("P2", "ci", "rule 2", "ERROR 503"),
        ),
        (
            "CVE-2024-3094 in xz",
            None,
            decided("P2", "security", "security", "CVE-2024-3094"),
        ),
        ("job stuck", None, decided("P4", "ci", "stuck", "stuck")),
        ("product downtime", None, defaults()),
        ("sev10 drill", None, defaults()),
        ("outages everywhere", None, defaults()),
        ("error 5000 rows", None, defaults()),
        // The pattern has no (?i), so it is case-sensitive.
        ("cve-2024-3094 in xz", None, defaults()),
        // A keyword without letters or digits never matches.
        ("!!!", None, defaults()),
        ("", None, defaults()),
    ];
    for (text, channel, expected) in cases {
        assert_eq!(classify_in(&policy, text, channel), expected, "{text:?}");
    }
}

#[test]
fn a_rule_with_a_channel_applies_only_to_requests_from_that_channel() {
    let policy = policy_with(RULES);
    let payments = assigned(decided("P2", "payments", "payments", "stuck"), "U01BOB");
    let elsewhere = decided("P4", "ci", "stuck", "stuck");
    let cases = [
        (Some("C0PAYMENTS"), payments),
        (Some("C0OTHER"), elsewhere.clone()),
        (Some("c0payments"), elsewhere.clone()),
        (None, elsewhere),
    ];
    for (channel, expected) in cases {
        assert_eq!(
            classify_in(&policy, "batch job stuck", channel),
            expected,
            "{channel:?}"
        );
    }
}

#[test]
fn classify_is_classify_in_an_unknown_channel() {
    let policy = policy_with(RULES);
    for text in ["batch job stuck", "prod down", "nothing to see"] {
        assert_eq!(classify(&policy, text), classify_in(&policy, text, None));
    }
    assert_eq!(classify(&policy, "batch job stuck").category, "ci");
}

#[test]
fn the_builtin_policy_calls_its_unnamed_rule_by_its_number() {
    let policy = Policy::builtin();
    let triage = classify(&policy, "Is prod down for anyone else?");
    assert_eq!(triage, decided("P1", "incident", "rule 1", "prod down"));
    assert_eq!(classify(&policy, "a new bucket, please"), defaults());
}

#[test]
fn explain_names_the_priority_and_the_match_and_is_silent_for_defaults() {
    let policy = policy_with(RULES);
    let explain = |text| classify(&policy, text).explain();
    assert_eq!(
        explain("prod down!").as_deref(),
        Some("P1: matched 'prod down'")
    );
    assert_eq!(
        explain("ERROR 502 here").as_deref(),
        Some("P2: matched 'ERROR 502'")
    );
    assert_eq!(explain("a new bucket, please"), None);
}

#[test]
fn explain_quotes_a_long_match_on_one_line_and_shortened() {
    let triage = Triage {
        reason: Some(format!("line one\n\t{}", "x".repeat(200))),
        ..decided("P2", "ci", "rule 2", "")
    };
    let text = triage.explain().unwrap();
    assert!(text.starts_with("P2: matched 'line one xxx"), "{text}");
    assert!(text.ends_with("…'"), "{text}");
    assert!(text.chars().count() < 80, "{text}");
}

fn channel() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("C0PAYMENTS".to_string()),
        "C[A-Z0-9]{1,10}"
    ])
}

proptest! {
    #[test]
    fn any_text_gets_a_defined_priority_and_a_category(
        text in any::<String>(),
        channel in channel(),
    ) {
        let policy = &*POLICY;
        let triage = classify_in(policy, &text, channel.as_deref());
        prop_assert!(policy.sla.priorities.contains_key(&triage.priority), "{:?}", triage);
        prop_assert!(!triage.category.trim().is_empty(), "{:?}", triage);
        prop_assert_eq!(triage.rule.is_some(), triage.reason.is_some());
        prop_assert_eq!(triage.explain().is_some(), triage.reason.is_some());
    }

    #[test]
    fn a_keyword_set_apart_anywhere_in_any_text_matches(
        before in any::<String>(),
        after in any::<String>(),
    ) {
        let triage = classify(&POLICY, &format!("{before} SEV1 {after}"));
        prop_assert_eq!(triage.priority, "P1");
        prop_assert_eq!(triage.rule.as_deref(), Some("incident"));
    }
}
