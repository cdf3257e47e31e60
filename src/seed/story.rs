//! One seeded ticket's life, decided as a person would live it (filed, maybe re-prioritised,
//! answered, maybe waiting on the requester, resolved, maybe reopened), cut off at `now`,
//! and then read exactly as the bot reads a real ticket: its due times, times taken, breach
//! flags, warnings and breaches come from `sla::deadlines::clocks` over the events, and its
//! coming timers from `sla::timers::plan`. Pure: no database.

use super::mix::Mix;
use super::rng::Rng;
use super::texts;
use crate::domain::{EventKind, Measured, Priority, Source, Status, Ticket};
use crate::settings::Policy;
use crate::sla::calendar::Calendar;
use crate::sla::deadlines::{clocks, clocks_at, Happening, Moment};
use crate::sla::timers::{plan, Planned};
use chrono::{DateTime, Duration, Utc};

/// A row of the ticket's event log, as the lifecycle writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub actor: Option<String>,
    pub detail: Option<String>,
}

/// A seeded ticket: the row, its log (in time order) and its pending timers.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub ticket: Ticket,
    pub events: Vec<Event>,
    pub timers: Vec<Planned>,
}

/// What the SLA functions make of a log, and the breach rule of `tickets::export::record`:
/// a target met late, or still unmet past its due time, is breached.
pub fn breached(
    done: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    match (done, due) {
        (Some(done), Some(due)) => done > due,
        (None, Some(due)) => due < now,
        _ => false,
    }
}

/// The clock-relevant part of a log: what `tickets::db::history` reads back from it.
pub fn history(events: &[Event]) -> Vec<Moment> {
    events
        .iter()
        .filter_map(|e| {
            let what = match e.kind {
                EventKind::Created => Happening::Created {
                    priority: e.detail.clone()?,
                },
                EventKind::PriorityChanged => Happening::PriorityChanged {
                    priority: e.detail.clone()?,
                },
                EventKind::Waiting => Happening::Paused,
                EventKind::Resumed => Happening::Resumed,
                EventKind::FirstResponse => Happening::FirstResponse,
                EventKind::Resolved | EventKind::Closed => Happening::Resolved,
                EventKind::Reopened => Happening::Reopened,
                _ => return None,
            };
            Some(Moment { at: e.at, what })
        })
        .collect()
}

struct Log {
    events: Vec<Event>,
}

impl Log {
    fn add(&mut self, at: DateTime<Utc>, kind: EventKind, actor: &str, detail: Option<String>) {
        self.events.push(Event {
            at,
            kind,
            actor: Some(actor.to_string()),
            detail,
        });
    }
}

/// `amount` of SLA time after `from`: business time for business-hours priorities.
fn sla_after(
    calendar: &Calendar,
    business: bool,
    from: DateTime<Utc>,
    amount: Duration,
) -> DateTime<Utc> {
    if business {
        calendar.add_working_time(from, amount)
    } else {
        from + amount
    }
}

fn scaled(target: std::time::Duration, factor: f64) -> Duration {
    Duration::milliseconds((target.as_secs_f64() * factor * 1000.0) as i64)
        .max(Duration::seconds(30))
}

fn minutes(m: f64) -> Duration {
    Duration::seconds((m * 60.0) as i64)
}

/// The life of ticket `id` filed at `created`, as it stands at `now`.
pub fn live(
    policy: &Policy,
    calendar: &Calendar,
    mix: &Mix,
    r: &mut Rng,
    id: i64,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Seeded {
    let requester = mix.requester(r);
    let (source, channel) = mix.source(r);
    let member = r.pick(&mix.team).clone();
    let filed_by = (source == Source::Reaction && r.chance(0.5)).then(|| member.clone());

    // Triage: a rule's match, else the defaults; then maybe the team's re-prioritisation.
    let (category, filed_priority, rule, title, description) = match (!mix.rules.is_empty()
        && r.chance(super::mix::RULE_SHARE))
    .then(|| r.pick(&mix.rules))
    {
        Some(hit) => {
            let keyword = r.pick(&hit.keywords).clone();
            let (title, text) = texts::matching(r, &keyword);
            (
                hit.category.clone(),
                hit.priority.clone(),
                Some((hit.label.clone(), keyword)),
                title,
                text,
            )
        }
        None => {
            let (title, text) = texts::request(r);
            (
                mix.default_category.clone(),
                mix.default_priority.clone(),
                None,
                title,
                text,
            )
        }
    };
    let mut priority = filed_priority.clone();
    let mut log = Log { events: Vec::new() };
    log.add(
        created,
        EventKind::Created,
        filed_by.as_deref().unwrap_or(&requester),
        Some(filed_priority.clone()),
    );
    let mut cursor = created;
    if rule.is_none() {
        let wanted = mix.priorities[r.weighted(&mix.priority_weights)].clone();
        if wanted != priority {
            // Early, before any warning of any priority could fall due: the team's triage
            // on the card, as it usually happens.
            let soonest = policy
                .sla
                .priorities
                .values()
                .map(|t| t.first_response)
                .min()
                .unwrap_or_default();
            let window = soonest.as_secs_f64() * policy.sla.warn_at.min(1.0) * 0.5;
            cursor = created + Duration::seconds(1 + (window * r.unit()) as i64);
            log.add(
                cursor,
                EventKind::PriorityChanged,
                &member,
                Some(wanted.clone()),
            );
            priority = wanted;
        }
    }
    let Some(target) = policy.priority(&priority) else {
        unreachable!("the mix only names the policy's priorities")
    };
    let business = target.business_hours;

    // The first response: mostly well inside the target, sometimes late.
    let fr_at = sla_after(
        calendar,
        business,
        created,
        scaled(target.first_response, r.lognormal(0.3, 0.75)),
    )
    .max(cursor + Duration::seconds(30));
    let mut assignee = None;
    if r.chance(0.85) {
        log.add(fr_at, EventKind::Assigned, &member, Some(member.clone()));
        log.add(fr_at, EventKind::Acknowledged, &member, None);
        assignee = Some(member.clone());
    } else {
        let ts = format!("{}.{:06}", fr_at.timestamp(), id % 1_000_000);
        log.add(
            fr_at,
            EventKind::Reply,
            &member,
            Some(format!("{ts} Looking into it")),
        );
    }
    log.add(fr_at, EventKind::FirstResponse, &member, None);
    cursor = fr_at;

    // Waiting on the requester, sometimes.
    let mut waited = Duration::zero();
    if r.chance(0.2) {
        let wait_at = cursor + minutes(r.lognormal(40.0, 1.0));
        log.add(wait_at, EventKind::Waiting, &member, None);
        waited = minutes(r.lognormal(240.0, 1.1));
        let back = wait_at + waited;
        let ts = format!("{}.{:06}", back.timestamp(), id % 1_000_000);
        log.add(
            back,
            EventKind::Reply,
            &requester,
            Some(format!("{ts} Here are the details")),
        );
        log.add(back, EventKind::Resumed, &requester, None);
        cursor = back;
    }

    // Resolved, mostly within the target; a few are never resolved (a stale backlog).
    if r.chance(0.985) {
        let resolver = assignee.clone().unwrap_or_else(|| member.clone());
        let res_at = (sla_after(
            calendar,
            business,
            created,
            scaled(target.resolution, r.lognormal(0.25, 0.8)),
        ) + waited)
            .max(cursor + minutes(2.0 + 30.0 * r.unit()));
        log.add(
            res_at,
            EventKind::Resolved,
            &resolver,
            texts::resolution_note(r),
        );
        if r.chance(0.05) {
            let reopen_at = res_at + minutes(r.lognormal(600.0, 1.0));
            log.add(reopen_at, EventKind::Reopened, &requester, None);
            let again = reopen_at + minutes(r.lognormal(180.0, 1.0));
            log.add(
                again,
                EventKind::Resolved,
                &resolver,
                texts::resolution_note(r),
            );
        }
    }

    // What has happened by now.
    log.events.retain(|e| e.at <= now);
    let (status, assignee, note) = replay(&log.events);
    let mut ticket = Ticket {
        id,
        key: format!("{}-{id}", mix.prefix),
        title,
        description,
        requester,
        channel: channel.clone(),
        source,
        source_ts: matches!(source, Source::Message | Source::Mention | Source::Reaction)
            .then(|| format!("{}.{:06}", created.timestamp(), id % 1_000_000)),
        category,
        priority: Priority::new(priority),
        status,
        assignee,
        urgency: None,
        link: None,
        created_at: created,
        first_response_due: None,
        resolution_due: None,
        first_response_at: None,
        resolved_at: None,
        triage_rule: rule.as_ref().map(|(label, _)| label.clone()),
        triage_reason: rule.map(|(_, keyword)| keyword),
        duplicate_of: None,
        merged_into: None,
        filed_by,
        resolution_note: note,
        source_deleted: false,
        card_channel: None,
        card_ts: None,
        first_response_breached: false,
        resolution_breached: false,
        breach_acknowledged_at: None,
        paged: false,
        measured: Measured::default(),
        csat: None,
    };
    let events = judge(policy, calendar, &mut ticket, log.events, now);
    // Drawn last, so the rest of the story is what it was before scores were seeded.
    ticket.csat = satisfaction(policy, &ticket, r);
    let timers = if ticket.is_open() {
        let mut timers = plan(policy, &ticket, &history(&events));
        timers.retain(|p| p.due_at > now);
        timers
    } else {
        Vec::new()
    };
    Seeded {
        ticket,
        events,
        timers,
    }
}

/// A resolved ticket's satisfaction score, when its requester was asked (the policy's
/// sample) and answered (about two in five do): mostly 4s and 5s, lower when a target was
/// missed.
fn satisfaction(policy: &Policy, t: &Ticket, r: &mut Rng) -> Option<u8> {
    let asked = policy.csat.enabled
        && t.status == Status::Resolved
        && crate::csat::sample::sampled(&t.key, policy.csat.sample_rate);
    if !asked || !r.chance(0.4) {
        return None;
    }
    let weights: &[f64] = if t.first_response_breached || t.resolution_breached {
        &[0.15, 0.25, 0.30, 0.20, 0.10]
    } else {
        &[0.02, 0.04, 0.12, 0.42, 0.40]
    };
    Some(r.weighted(weights) as u8 + 1)
}

/// Status, assignee and resolution note after `events`, as the lifecycle would leave them.
fn replay(events: &[Event]) -> (Status, Option<String>, Option<String>) {
    let mut status = Status::Open;
    let mut assignee: Option<String> = None;
    let mut note = None;
    let back = |assignee: &Option<String>| {
        if assignee.is_some() {
            Status::Acknowledged
        } else {
            Status::Open
        }
    };
    for e in events {
        match e.kind {
            EventKind::Assigned => assignee = e.detail.clone(),
            EventKind::Acknowledged => status = Status::Acknowledged,
            EventKind::Waiting => status = Status::Waiting,
            EventKind::Resumed | EventKind::Reopened => status = back(&assignee),
            EventKind::Resolved => {
                status = Status::Resolved;
                note = e.detail.clone();
            }
            _ => {}
        }
    }
    (status, assignee, note)
}

/// Reads the log as the bot does: due times, times taken and reopens from
/// `sla::deadlines::clocks` (as `tickets::lifecycle` stores them), breach flags by the
/// export's rule, and the `warned` and `breached` events the scheduler would have written
/// at the instants `clocks_at(warn_at)` and `clocks` give. Returns the log with those
/// events in time order.
fn judge(
    policy: &Policy,
    calendar: &Calendar,
    t: &mut Ticket,
    mut events: Vec<Event>,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let moments = history(&events);
    let (Some(full), Some(warn)) = (
        clocks(policy, calendar, &moments),
        clocks_at(policy, calendar, &moments, policy.sla.warn_at),
    ) else {
        return events;
    };
    // While waiting, the lifecycle keeps the first-response due it had before the pause.
    let fr_due = full.first_response.due().or_else(|| {
        let before = moments.iter().rposition(|m| m.what == Happening::Paused)?;
        clocks(policy, calendar, &moments[..before])?
            .first_response
            .due()
    });
    t.first_response_due = fr_due;
    t.resolution_due = full.resolution.due();
    t.first_response_at = full.first_response_at;
    t.resolved_at = full.resolved_at;
    t.measured = Measured {
        first_response_s: full.first_response_took.map(|d| d.num_seconds()),
        resolution_s: full.resolution_took.map(|d| d.num_seconds()),
        reopens: full.reopens.into(),
    };
    let resolved = full.resolved_at.filter(|_| t.status == Status::Resolved);
    t.first_response_breached = breached(t.first_response_at, t.first_response_due, now);
    t.resolution_breached = breached(resolved, t.resolution_due, now);

    let mut extra = Vec::new();
    let mut scheduler = |at: DateTime<Utc>, kind: EventKind, target: &str| {
        extra.push(Event {
            at,
            kind,
            actor: None,
            detail: Some(target.to_string()),
        })
    };
    let fr_cutoff = t.first_response_at.unwrap_or(now);
    if let (Some(w), Some(due)) = (warn.first_response.due(), full.first_response.due()) {
        if w < due && w < fr_cutoff {
            scheduler(w, EventKind::Warned, "first response");
        }
    }
    if t.first_response_breached {
        if let Some(due) = t.first_response_due {
            scheduler(due, EventKind::Breached, "first response");
        }
    }
    let res_cutoff = resolved.unwrap_or(now);
    if let (Some(w), Some(due)) = (warn.resolution.due(), t.resolution_due) {
        if w < due && w < res_cutoff {
            scheduler(w, EventKind::Warned, "resolution");
        }
    }
    if t.resolution_breached {
        if let Some(due) = t.resolution_due {
            scheduler(due, EventKind::Breached, "resolution");
        }
    }
    if !extra.is_empty() {
        events.extend(extra);
        // Stable: events at the same instant keep the order they were written in.
        events.sort_by_key(|e| e.at);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_ticket_filed_long_ago_is_resolved_and_one_filed_a_minute_ago_is_open() {
        let policy = Policy::builtin();
        let calendar = crate::sla::calendar(&policy);
        let mix = Mix::new(&policy, 1000);
        let now = at("2026-11-26T12:00:00Z");
        let mut resolved = 0;
        for id in 1..=200 {
            let s = live(
                &policy,
                &calendar,
                &mix,
                &mut Rng::stream(1, id),
                id as i64,
                now - Duration::days(60),
                now,
            );
            resolved += usize::from(s.ticket.status == Status::Resolved);
            assert!(s.timers.iter().all(|p| p.due_at > now));
            let fresh = live(
                &policy,
                &calendar,
                &mix,
                &mut Rng::stream(2, id),
                id as i64,
                now - Duration::seconds(20),
                now,
            );
            assert_eq!(fresh.ticket.status, Status::Open, "{:?}", fresh.events);
            assert!(
                fresh
                    .events
                    .iter()
                    .all(|e| matches!(e.kind, EventKind::Created | EventKind::PriorityChanged)),
                "only filed (and triaged): {:?}",
                fresh.events
            );
            assert!(
                !fresh.timers.is_empty(),
                "an open ticket has its coming timers"
            );
        }
        assert!(resolved > 190, "{resolved} of 200 resolved after 60 days");
    }

    #[test]
    fn the_log_is_in_time_order_and_starts_with_its_creation() {
        let policy = Policy::builtin();
        let calendar = crate::sla::calendar(&policy);
        let mix = Mix::new(&policy, 1000);
        let now = at("2026-11-26T12:00:00Z");
        for id in 1..=300 {
            let s = live(
                &policy,
                &calendar,
                &mix,
                &mut Rng::stream(3, id),
                id as i64,
                now - Duration::hours(id as i64),
                now,
            );
            assert_eq!(s.events[0].kind, EventKind::Created);
            assert!(s.events.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(s.events.iter().all(|e| e.at <= now));
        }
    }
}
