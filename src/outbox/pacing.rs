//! How fast the outbox may call each Slack method: `chat.postMessage` per channel (Slack
//! allows about one a second per channel, with short bursts: the policy's `[delivery]`
//! pace), every other Web API method by its rate tier, across the workspace. A click's
//! `chat.update` therefore never waits for the posts queued in its channel.
//!
//! Token buckets on the monotonic clock: pacing is delivery mechanics, not business time.
//! A 429's `Retry-After` is kept apart, per method, by the sender.

use crate::settings::Delivery;
use slack_morphism::prelude::{SlackApiMethodRateTier, SLACK_TIERS_DEFAULT_LIMITS_MAP};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How a method is paced.
#[derive(Debug, Clone, PartialEq)]
pub enum Pace {
    /// Per channel, at the policy's pace (`chat.postMessage`, and anything not Slack's).
    PerChannel,
    /// Per method across the workspace, at its tier's rate.
    Tier(SlackApiMethodRateTier),
}

/// The pace of `method`. Tiers are Slack's (docs.slack.dev, each method's page), as
/// slack-morphism also has them; the rates per tier are slack-morphism's.
pub fn pace_of(method: &str) -> Pace {
    use SlackApiMethodRateTier::*;
    match method {
        "chat.update"
        | "chat.delete"
        | "reactions.add"
        | "conversations.open"
        | "conversations.history"
        | "conversations.replies" => Pace::Tier(Tier3),
        "chat.postEphemeral" | "views.open" | "views.update" | "views.push" | "views.publish"
        | "users.info" => Pace::Tier(Tier4),
        "reactions.remove" | "usergroups.users.list" => Pace::Tier(Tier2),
        // chat.postMessage has its own per-channel limit; PagerDuty is not Slack: both keep
        // the per-channel pace the outbox always had.
        _ => Pace::PerChannel,
    }
}

/// A token bucket: `burst` calls at once, then one per `interval`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    interval: Duration,
    burst: u32,
}

impl Bucket {
    fn new(now: Instant, interval: Duration, burst: u32) -> Self {
        Self {
            tokens: burst as f64,
            last: now,
            interval,
            burst,
        }
    }

    fn refill(&mut self, now: Instant) {
        if self.interval.is_zero() {
            self.tokens = self.burst as f64;
        } else {
            let gained = now.saturating_duration_since(self.last).as_secs_f64()
                / self.interval.as_secs_f64();
            self.tokens = (self.tokens + gained).min(self.burst as f64);
        }
        self.last = now;
    }

    /// None when a call may go now; else when one may.
    fn ready_at(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        (self.tokens < 1.0).then(|| now + self.interval.mul_f64(1.0 - self.tokens))
    }

    fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }
}

#[derive(Debug, Hash, PartialEq, Eq)]
enum Key {
    Channel(String),
    Method(String),
}

/// The buckets of every channel and method the sender has called.
#[derive(Debug)]
pub struct Pacer {
    channel_interval: Duration,
    channel_burst: u32,
    buckets: HashMap<Key, Bucket>,
}

impl Pacer {
    pub fn new(delivery: &Delivery) -> Self {
        Self {
            channel_interval: delivery.channel_interval,
            channel_burst: delivery.channel_burst.max(1),
            buckets: HashMap::new(),
        }
    }

    /// None when `method` may be called for `channel` now; else when it may.
    pub fn ready_at(&mut self, method: &str, channel: &str, now: Instant) -> Option<Instant> {
        self.bucket(method, channel, now).ready_at(now)
    }

    /// Counts a call of `method` for `channel` starting now.
    pub fn take(&mut self, method: &str, channel: &str, now: Instant) {
        self.bucket(method, channel, now).take(now);
    }

    fn bucket(&mut self, method: &str, channel: &str, now: Instant) -> &mut Bucket {
        let (key, interval, burst) = match pace_of(method) {
            Pace::PerChannel => (
                Key::Channel(channel.to_string()),
                self.channel_interval,
                self.channel_burst,
            ),
            Pace::Tier(tier) => {
                let limit = &SLACK_TIERS_DEFAULT_LIMITS_MAP[&tier];
                // The tier's allowance per minute at once (Slack counts per minute), then
                // the steady rate.
                let burst = u32::try_from(limit.value).unwrap_or(u32::MAX);
                (
                    Key::Method(method.to_string()),
                    limit.per / burst.max(1),
                    burst,
                )
            }
        };
        self.buckets
            .entry(key)
            .or_insert_with(|| Bucket::new(now, interval, burst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(interval_ms: u64, burst: u32) -> Pacer {
        Pacer::new(&Delivery {
            channel_interval: Duration::from_millis(interval_ms),
            channel_burst: burst,
            ..Delivery::default()
        })
    }

    #[test]
    fn a_channel_allows_a_burst_of_posts_then_one_per_interval() {
        let mut p = pacer(1000, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(p.ready_at("chat.postMessage", "C1", start), None);
            p.take("chat.postMessage", "C1", start);
        }
        let second = Duration::from_secs(1);
        assert_eq!(
            p.ready_at("chat.postMessage", "C1", start),
            Some(start + second)
        );
        // Another channel is paced apart.
        assert_eq!(p.ready_at("chat.postMessage", "C2", start), None);
        assert_eq!(p.ready_at("chat.postMessage", "C1", start + second), None);
    }

    #[test]
    fn a_card_update_does_not_wait_for_the_posts_of_its_channel() {
        let mut p = pacer(1000, 1);
        let now = Instant::now();
        p.take("chat.postMessage", "C1", now);
        assert!(p.ready_at("chat.postMessage", "C1", now).is_some());
        assert_eq!(p.ready_at("chat.update", "C1", now), None);
        assert_eq!(p.ready_at("reactions.add", "C1", now), None);
    }

    #[test]
    fn other_methods_go_at_their_tiers_rate_across_channels() {
        let mut p = pacer(0, 1);
        let now = Instant::now();
        // Tier 3: 50 a minute, at once, then one every 1.2 s, whatever the channel.
        for i in 0..50 {
            let channel = format!("C{i}");
            assert_eq!(p.ready_at("chat.update", &channel, now), None, "call {i}");
            p.take("chat.update", &channel, now);
        }
        assert_eq!(
            p.ready_at("chat.update", "C99", now),
            Some(now + Duration::from_millis(1200))
        );
        // Tier 2 allows fewer; tiers are per method.
        for _ in 0..20 {
            p.take("reactions.remove", "C1", now);
        }
        assert_eq!(
            p.ready_at("reactions.remove", "C1", now),
            Some(now + Duration::from_secs(3))
        );
        assert_eq!(p.ready_at("reactions.add", "C1", now), None);
    }

    #[test]
    fn a_zero_channel_interval_means_no_pacing_of_posts() {
        let mut p = pacer(0, 1);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(p.ready_at("chat.postMessage", "C1", now), None);
            p.take("chat.postMessage", "C1", now);
        }
    }

    #[test]
    fn methods_have_the_tiers_slack_gives_them() {
        use SlackApiMethodRateTier::*;
        assert_eq!(pace_of("chat.postMessage"), Pace::PerChannel);
        assert_eq!(pace_of("chat.update"), Pace::Tier(Tier3));
        assert_eq!(pace_of("chat.postEphemeral"), Pace::Tier(Tier4));
        assert_eq!(pace_of("views.publish"), Pace::Tier(Tier4));
        assert_eq!(pace_of("conversations.open"), Pace::Tier(Tier3));
        assert_eq!(pace_of("reactions.add"), Pace::Tier(Tier3));
        assert_eq!(pace_of("reactions.remove"), Pace::Tier(Tier2));
        assert_eq!(
            pace_of(crate::oncall::paging::METHOD),
            Pace::PerChannel,
            "PagerDuty is not Slack"
        );
    }
}
