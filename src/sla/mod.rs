//! SLA targets: from the policy's priorities and business calendar to a ticket's due times.

pub mod calendar;
mod day_table;
pub mod db;
pub mod deadlines;
pub mod timers;

use crate::settings::Policy;
use calendar::Calendar;
use chrono::{DateTime, Duration, Utc};

/// When a ticket's first response and resolution are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimes {
    pub first_response: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

/// The business calendar the policy describes.
pub fn calendar(policy: &Policy) -> Calendar {
    let hours = &policy.business_hours;
    Calendar {
        tz: policy.sla.timezone,
        days: hours.days.clone(),
        start: hours.start,
        end: hours.end,
        holidays: hours.holidays.clone(),
    }
}

/// The due times of a ticket of `priority` created at `created`, or None when the policy
/// has no such priority.
pub fn due_times(policy: &Policy, priority: &str, created: DateTime<Utc>) -> Option<DueTimes> {
    let target = policy.priority(priority)?;
    let calendar = target.business_hours.then(|| calendar(policy));
    let add = |amount: std::time::Duration| {
        let amount = Duration::from_std(amount).unwrap_or(Duration::MAX);
        match &calendar {
            Some(calendar) => calendar.add_working_time(created, amount),
            None => created
                .checked_add_signed(amount)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    };
    Some(DueTimes {
        first_response: add(target.first_response),
        resolution: add(target.resolution),
    })
}
