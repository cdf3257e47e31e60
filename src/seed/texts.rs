//! What seeded requests say: titles and descriptions that read like a product team's asks
//! of a platform team, made from templates and a few word lists.

use super::rng::Rng;

const SERVICES: &[&str] = &[
    "payments-api",
    "checkout",
    "search",
    "ledger",
    "notifications",
    "auth-gateway",
    "orders",
    "inventory",
    "mobile-bff",
    "reporting",
    "billing-worker",
    "feature-flags",
];
const ENVS: &[&str] = &["prod", "staging", "dev", "eu-prod", "us-prod"];
const STAGES: &[&str] = &[
    "build",
    "integration tests",
    "image scan",
    "deploy",
    "canary",
];
const RESOURCES: &[&str] = &[
    "Postgres database",
    "Kafka topic",
    "S3 bucket",
    "Redis cache",
    "namespace",
    "service account",
    "CPU quota",
    "DNS record",
    "TLS certificate",
];
const TEAMS: &[&str] = &["payments", "growth", "search", "mobile", "data", "identity"];
const TOPICS: &[&str] = &[
    "the golden path template",
    "Terraform modules",
    "the service mesh",
    "log retention",
    "on-call handover",
    "the deploy freeze",
    "cost dashboards",
    "secrets rotation",
];
const WHEN: &[&str] = &[
    "since this morning",
    "after yesterday's release",
    "since the cluster upgrade",
    "intermittently this week",
    "for about an hour",
    "since Friday",
];

/// A general request: (title, description).
pub fn request(r: &mut Rng) -> (String, String) {
    let service = r.pick(SERVICES);
    let env = r.pick(ENVS);
    let title = match r.below(10) {
        0 => format!("Need access to {service} logs in {env}"),
        1 => format!("{service} deploy failing at the {} step", r.pick(STAGES)),
        2 => format!(
            "Can we get a new {} for {}?",
            r.pick(RESOURCES),
            r.pick(TEAMS)
        ),
        3 => format!("Question about {}", r.pick(TOPICS)),
        4 => format!("{service} pipeline slow {}", r.pick(WHEN)),
        5 => format!("Please raise the {} quota for {service}", r.pick(RESOURCES)),
        6 => format!("Vault token for {service} expired"),
        7 => format!("Flaky {} step in {service} CI", r.pick(STAGES)),
        8 => format!("How do we rotate the {service} database password?"),
        _ => format!("{service} pods restarting in {env}"),
    };
    (title.clone(), describe(r, &title, service, env))
}

/// A request that a triage rule's `keyword` matches: (title, description).
pub fn matching(r: &mut Rng, keyword: &str) -> (String, String) {
    let service = r.pick(SERVICES);
    let env = r.pick(ENVS);
    let title = match r.below(4) {
        0 => format!("{keyword}: {service} returning 5xx in {env}"),
        1 => format!("{service} {keyword} {}", r.pick(WHEN)),
        2 => format!("Possible {keyword} on {service} ({env})"),
        _ => format!("{keyword} - customers cannot reach {service}"),
    };
    (title.clone(), describe(r, &title, service, env))
}

fn describe(r: &mut Rng, title: &str, service: &str, env: &str) -> String {
    let detail = match r.below(5) {
        0 => format!("Dashboards for {service} show the error rate climbing in {env}."),
        1 => "We already tried a rollback, no change.".to_string(),
        2 => format!("Blocking the {} team's release.", r.pick(TEAMS)),
        3 => "Not urgent, but we would like it before the next sprint.".to_string(),
        _ => format!("Runbook link is in the {service} README."),
    };
    format!(
        "Hi team, {title}. Noticed it {}. {detail} Thanks!",
        r.pick(WHEN)
    )
}

/// What the person resolving it wrote, sometimes nothing.
pub fn resolution_note(r: &mut Rng) -> Option<String> {
    const NOTES: &[&str] = &[
        "Fixed, config change rolled out",
        "Access granted",
        "Quota raised",
        "Duplicate of an incident, handled there",
        "Documented in the wiki",
        "Rolled back the release",
    ];
    r.chance(0.6).then(|| r.pick(NOTES).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_request_contains_its_keyword_and_a_general_one_has_text() {
        let mut r = Rng::new(3);
        for _ in 0..50 {
            let (title, text) = matching(&mut r, "prod down");
            assert!(title.contains("prod down"), "{title}");
            assert!(text.contains(&title));
            let (title, text) = request(&mut r);
            assert!(!title.is_empty() && text.len() > title.len());
        }
    }
}
