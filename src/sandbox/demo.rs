//! The sandbox's demo workspace: its people and channels, the demo policy (the built-in one
//! with instant delivery), a per-run signing secret and the environment the bot runs with.

use crate::settings::{Env, EnvError, Policy};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The built-in policy (CONTRACT's example), whose people and channels the demo uses.
const BUILTIN_POLICY: &str = include_str!("../settings/default_policy.toml");

/// Delivery fast enough that a message shows on the page at once; retries stay short.
const DEMO_DELIVERY: &str = "\n[delivery]\nretry_base = \"200ms\"\nretry_max = \"5s\"\n\
channel_interval = \"0s\"\nchannel_burst = 50\n";

/// A small catalog and ownership map to try self-service with: "my vault token expired"
/// gets an offer, "please review this schema migration" a redirect to the data team.
const DEMO_SELF_SERVICE: &str = r#"
[self_service]
offer_timeout = "10m"

[[self_service.entries]]
title = "Rotate a Vault token"
link = "https://wiki.example.com/vault/rotate"
summary = "Run `vault token renew`, or `vault login -method=oidc` for a new one"
keywords = ["vault", "token", "rotate", "expired", "renew"]

[[self_service.entries]]
title = "Add or change a DNS record"
link = "https://wiki.example.com/dns/records"
summary = "Open a PR to infra/dns/zones; merged records are live within 5 minutes"
keywords = ["dns", "record", "cname", "domain"]

[[self_service.entries]]
title = "Get SSH access through the bastion"
link = "https://wiki.example.com/access/bastion"
summary = "Request the bastion role in the access portal, then `ssh -J bastion host`"
keywords = ["ssh", "bastion", "access", "jump"]

[[ownership.areas]]
name = "database schema changes"
keywords = ["schema", "migration", "ddl"]
owner = "data team"
channel = "C01DATAENG"
note = "Open a PR in data/migrations and tag the data on-call."

[[ownership.areas]]
name = "Terraform modules"
keywords = ["terraform"]
owner = "platform"
"#;

/// Where the sandbox keeps its tickets unless `DATABASE_URL` says otherwise.
pub const SANDBOX_DATABASE_URL: &str = "sqlite://platform-desk-sandbox.db";

/// The reaction that files a message as a ticket in the built-in policy.
pub const TICKET_EMOJI: &str = "ticket";

/// A demo user: Slack id, handle, full name and what they do.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub id: &'static str,
    pub name: &'static str,
    pub real_name: &'static str,
    pub role: &'static str,
}

/// A demo channel: Slack id, name and what it is for.
#[derive(Debug, Clone, Copy)]
pub struct Channel {
    pub id: &'static str,
    pub name: &'static str,
    pub purpose: &'static str,
}

/// Product engineers first: they are the ones who file requests.
pub const PEOPLE: &[Person] = &[
    Person {
        id: "U02CAROL",
        name: "carol",
        real_name: "Carol Chen",
        role: "product engineer, payments",
    },
    Person {
        id: "U02DAVE",
        name: "dave",
        real_name: "Dave Diaz",
        role: "product engineer, payments",
    },
    Person {
        id: "U01ALICE",
        name: "alice",
        real_name: "Alice Anders",
        role: "platform team",
    },
    Person {
        id: "U01BOB",
        name: "bob",
        real_name: "Bob Brown",
        role: "platform team",
    },
    Person {
        id: "U01LEAD",
        name: "lena",
        real_name: "Lena Lang",
        role: "platform lead (escalations)",
    },
];

/// The channels of the built-in policy, and one product channel.
pub const CHANNELS: &[Channel] = &[
    Channel {
        id: "C02PAYMENTS",
        name: "payments",
        purpose: "a product team's channel",
    },
    Channel {
        id: "C01HELP",
        name: "platform-help",
        purpose: "ask the platform team",
    },
    Channel {
        id: "C01INTAKE",
        name: "platform-intake",
        purpose: "new tickets, as cards",
    },
    Channel {
        id: "C01PLATTEAM",
        name: "platform-team",
        purpose: "the platform team: breach pings, escalations",
    },
    Channel {
        id: "C01ANNOUNCE",
        name: "platform-announce",
        purpose: "roadmap digests and survey results",
    },
    Channel {
        id: "C01ENG",
        name: "engineering",
        purpose: "everyone in engineering: the pulse survey's audience",
    },
];

/// The pulse survey's audience channel and who is in it: everyone (the platform team is
/// left out of the survey by the policy, as it would be in a real workspace).
pub const ENGINEERING: &str = "C01ENG";

/// The anonymity threshold in the sandbox: the demo has three people to ask, so `survey
/// start`, two answers and a week on the clock show full results.
const DEMO_SURVEY_THRESHOLD: &str = "anonymity_threshold = 2";

/// The policy text the sandbox runs with.
pub fn policy_text() -> String {
    let builtin = BUILTIN_POLICY.replace("anonymity_threshold = 5", DEMO_SURVEY_THRESHOLD);
    format!("{builtin}{DEMO_DELIVERY}{DEMO_SELF_SERVICE}")
}

/// The demo policy.
pub fn policy() -> anyhow::Result<Policy> {
    Policy::parse(&policy_text()).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the sandbox's demo policy is invalid: {}", list.join("; "))
    })
}

/// A signing secret nobody else knows, new each run. Time and pid are not a CSPRNG, but the
/// secret only guards a bot listening on 127.0.0.1 for one sandbox session.
pub fn signing_secret() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let stack_addr = &nanos as *const u128 as usize;
    let seed = format!("{nanos}:{}:{stack_addr:x}", std::process::id());
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// The bot's environment: fake Slack, this run's secret, a free local port, and the user's
/// `DATABASE_URL` if they set one (else the sandbox's own file).
pub fn bot_env(user: &Env, api_url: &str, secret: &str) -> Result<Env, EnvError> {
    // `Env` fills in serve's default database when DATABASE_URL is unset; the sandbox keeps
    // its demo tickets apart from that one.
    let serve_default = Env::from_lookup(|_| None)?.database_url;
    let database_url = if user.database_url == serve_default {
        SANDBOX_DATABASE_URL.to_string()
    } else {
        user.database_url.clone()
    };
    let vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-sandbox".to_string()),
        ("SLACK_SIGNING_SECRET", secret.to_string()),
        ("SLACK_API_URL", api_url.to_string()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_string()),
        ("DATABASE_URL", database_url),
        ("RUST_LOG", user.rust_log.clone()),
    ]);
    Env::from_lookup(|name| vars.get(name).cloned())
}

/// A person's handle for `id`, if they are a demo user.
pub fn person(id: &str) -> Option<&'static Person> {
    PEOPLE.iter().find(|p| p.id == id)
}

/// A channel's name for `id`, if it is a demo channel.
pub fn channel(id: &str) -> Option<&'static Channel> {
    CHANNELS.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_is_the_builtin_one_with_instant_delivery() {
        let policy = policy().expect("valid");
        assert_eq!(policy.self_service.entries.len(), 3, "a catalog to try");
        assert_eq!(policy.ownership.areas.len(), 2);
        assert!(policy.delivery.channel_interval.is_zero());
        assert_eq!(
            policy.slack.intake_channel.as_deref(),
            Some("C01INTAKE"),
            "the demo channels are the builtin policy's"
        );
        for member in &policy.slack.platform_team {
            assert!(person(member).is_some(), "{member} is a demo user");
        }
        assert!(channel("C01INTAKE").is_some() && channel("C01HELP").is_some());
        assert_eq!(policy.slack.ticket_emoji, TICKET_EMOJI);
        let survey = policy.survey.expect("the demo has pulse surveys");
        assert_eq!(survey.audience_channel, ENGINEERING);
        assert_eq!(survey.anonymity_threshold, 2);
        assert!(channel(ENGINEERING).is_some());
    }

    #[test]
    fn two_signing_secrets_differ() {
        let (a, b) = (signing_secret(), signing_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn the_users_database_is_kept_and_serves_default_is_not() {
        let unset = Env::from_lookup(|_| None).unwrap();
        let env = bot_env(&unset, "http://127.0.0.1:9/api", "s").unwrap();
        assert_eq!(env.database_url, SANDBOX_DATABASE_URL);
        assert_eq!(env.slack_api_url, "http://127.0.0.1:9/api");
        assert!(env.signing_secret.is_some() && env.app_token.is_none());

        let set = Env::from_lookup(|k| (k == "DATABASE_URL").then(|| "sqlite://x.db".into()));
        let env = bot_env(&set.unwrap(), "http://127.0.0.1:9/api", "s").unwrap();
        assert_eq!(env.database_url, "sqlite://x.db");
    }
}
