//! Who is asked: the pure rules of CSAT sampling. A ticket is in the sample when a hash of
//! its key falls under `csat.sample_rate`, so the choice is the same every time the ticket is
//! looked at (a reopened ticket resolved again gets the same answer, a restart changes
//! nothing, tests can name tickets that are in or out) and needs no random state of its own.

use sha2::{Digest, Sha256};

/// True when the ticket `key` is in a sample of `rate` (0 to 1) of all tickets: the first
/// eight bytes of SHA-256 of the key, read as a fraction of 2^64, below the rate. Over many
/// keys the share in the sample is the rate; 1 takes every ticket, 0 none.
pub fn sampled(key: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let fraction = u64::from_be_bytes(first) as f64 / 2f64.powi(64);
    fraction < rate
}

/// True for a requester who can be asked: a person's Slack user id (`U…` or `W…`), not
/// Slackbot and not the bot itself. Tickets filed for a bot's message name whoever filed it;
/// anything else (an id we cannot DM) is not asked.
pub fn askable(requester: &str, bot_user: Option<&str>) -> bool {
    crate::mrkdwn::is_slack_id(requester)
        && (requester.starts_with('U') || requester.starts_with('W'))
        && requester != "USLACKBOT"
        && Some(requester) != bot_user
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_takes_about_the_rate_and_the_same_tickets_every_time() {
        let keys: Vec<String> = (1..=10_000).map(|i| format!("PLAT-{i}")).collect();
        let taken = keys.iter().filter(|k| sampled(k, 0.3)).count();
        assert!((2_800..=3_200).contains(&taken), "{taken} of 10000 at 0.3");
        let again = keys.iter().filter(|k| sampled(k, 0.3)).count();
        assert_eq!(taken, again, "deterministic");
        assert!(keys.iter().all(|k| sampled(k, 1.0)));
        assert!(!keys.iter().any(|k| sampled(k, 0.0)));
        // A smaller sample is inside a larger one: raising the rate only adds tickets.
        assert!(keys
            .iter()
            .filter(|k| sampled(k, 0.1))
            .all(|k| sampled(k, 0.3)));
    }

    #[test]
    fn only_people_are_asked() {
        assert!(askable("U05QRST6UV", Some("U0BOTBOT")));
        assert!(askable("W012ABCDEF", None));
        for nobody in [
            "",
            "B07BOTPLT9",
            "USLACKBOT",
            "U0BOTBOT",
            "u05qrst6uv",
            "<!channel>",
        ] {
            assert!(!askable(nobody, Some("U0BOTBOT")), "{nobody}");
        }
    }
}
