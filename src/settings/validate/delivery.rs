//! Checks of `[delivery]`: the outbox sender's retries and per-channel pacing.

use super::fields::{count_or, duration, positive_duration_or};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawDelivery, Section};
use crate::settings::sections::Delivery;

pub fn delivery(raw: Section<RawDelivery>, p: &mut Problems) -> Option<Delivery> {
    let defaults = Delivery::default();
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(defaults),
        Section::Present(raw) => raw,
    };
    let max_attempts = count_or(p, "delivery.max_attempts", raw.max_attempts.as_ref(), 1, 8);
    let retry_base = positive_duration_or(
        p,
        "delivery.retry_base",
        raw.retry_base.as_ref(),
        defaults.retry_base,
    );
    let retry_max = positive_duration_or(
        p,
        "delivery.retry_max",
        raw.retry_max.as_ref(),
        defaults.retry_max,
    );
    let channel_interval = match &raw.channel_interval {
        None => Some(defaults.channel_interval),
        Some(text) => duration(p, "delivery.channel_interval", text),
    };
    let channel_burst = count_or(
        p,
        "delivery.channel_burst",
        raw.channel_burst.as_ref(),
        1,
        3,
    );
    if let (Some(base), Some(max)) = (retry_base, retry_max) {
        if max < base {
            let at = raw
                .retry_max
                .as_ref()
                .or(raw.retry_base.as_ref())
                .map_or(0..0, |t| t.span());
            let message = format!(
                "retry_max ({}) is shorter than retry_base ({})",
                humantime::format_duration(max),
                humantime::format_duration(base)
            );
            p.at("delivery.retry_max", at, message);
            return None;
        }
    }
    Some(Delivery {
        max_attempts: max_attempts?,
        retry_base: retry_base?,
        retry_max: retry_max?,
        channel_interval: channel_interval?,
        channel_burst: channel_burst?,
    })
}
