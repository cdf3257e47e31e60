//! `platform_desk_slack_api_calls_total{method,outcome}`: every Web API call the bot makes,
//! by Slack method and what came of it.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// What a Web API call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Slack answered `ok: true`.
    Ok,
    /// Slack answered, with an error (`ok: false`, a 5xx, a body that is not JSON).
    Error,
    /// HTTP 429.
    RateLimited,
    /// No answer: the connection failed or timed out.
    Transport,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::RateLimited => "rate_limited",
            Outcome::Transport => "transport",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub method: String,
    pub outcome: &'static str,
}

/// The methods whose every outcome is exported from the start, at 0: the ones the bot
/// calls most, so that `rate()` and `increase()` see their first 429 (the others appear at
/// their first call).
const USUAL: [&str; 6] = [
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "reactions.add",
    "reactions.remove",
    "views.open",
];

const OUTCOMES: [Outcome; 4] = [
    Outcome::Ok,
    Outcome::Error,
    Outcome::RateLimited,
    Outcome::Transport,
];

/// The calls, counted. Methods are the bot's own few (a bounded label), named as they are
/// called: a Slack call costs far more than the label set made for it.
#[derive(Debug)]
pub struct SlackCalls {
    pub family: Family<CallLabels, Counter>,
}

impl Default for SlackCalls {
    fn default() -> Self {
        let family = Family::<CallLabels, Counter>::default();
        for method in USUAL {
            for outcome in OUTCOMES {
                family.get_or_create_owned(&CallLabels {
                    method: method.to_string(),
                    outcome: outcome.as_str(),
                });
            }
        }
        Self { family }
    }
}

impl SlackCalls {
    pub fn count(&self, method: &str, outcome: Outcome) {
        self.family
            .get_or_create(&CallLabels {
                method: method.to_string(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// How many calls to `method` came to `outcome` (tests and diagnostics).
    pub fn get(&self, method: &str, outcome: Outcome) -> u64 {
        self.family
            .get(&CallLabels {
                method: method.to_string(),
                outcome: outcome.as_str(),
            })
            .map_or(0, |c| c.get())
    }
}
