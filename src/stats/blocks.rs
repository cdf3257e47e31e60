//! The report as Block Kit (`/platform stats`): the same figures as `text`, in its number
//! formats, with names that come from data (categories, channels) escaped for mrkdwn.

use super::text::{burden_line, csat_line, csat_of, pulse_line, target_line, tickets_line};
use super::{Group, Report};
use crate::mrkdwn::{self, escape};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The action id of the `Post to channel` button; its value is the window in days.
pub const POST_ACTION: &str = "stats_post";

/// The report's blocks; with the `Post to channel` button when `offer_post`.
pub fn render(r: &Report, offer_post: bool) -> Vec<Value> {
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text",
            "text": format!("Support stats: last {} days", r.window.days) } }),
        section(&format!("*Tickets*: {}", tickets_line(r))),
        section(&format!(
            "*First response*: {}\n*Resolution*: {}",
            target_line(&r.first_response),
            target_line(&r.resolution)
        )),
        section(&groups("By priority", &r.by_priority)),
        section(&groups("By category", &r.by_category)),
        section(&channels(r)),
        section(&format!(
            "*Support burden*: {}\n*Satisfaction*: {}\n*Pulse*: {}",
            burden_line(r),
            csat_line(r),
            pulse_line(r.pulse.as_ref())
        )),
        section(&self_service(r)),
    ];
    blocks.extend(leverage(r));
    blocks.push(
        json!({ "type": "context", "elements": [{ "type": "mrkdwn",
            "text": format!("{} to {} · times in SLA time (business hours where the priority says so, waiting on the requester left out)",
                r.window.from, r.window.to) }] }),
    );
    if offer_post {
        blocks.push(json!({ "type": "actions", "elements": [{
            "type": "button",
            "text": { "type": "plain_text", "text": "Post to channel" },
            "action_id": POST_ACTION,
            "value": r.window.days.to_string(),
        }] }));
    }
    blocks
}

/// Hours saved this month and the support share per week (`leverage::text`).
fn leverage(r: &Report) -> Option<Value> {
    use crate::leverage::text as lt;
    let mut lines = Vec::new();
    if let Some(h) = &r.hours_saved {
        lines.push(format!("*Hours saved*: {}", lt::hours_saved_line(h)));
    }
    if let Some(s) = &r.support_share {
        lines.push(format!(
            "*Support share of capacity*: {}",
            lt::share_line(s)
        ));
        lines.extend(s.weeks.iter().map(|w| format!("    {}", lt::week_line(w))));
    }
    (!lines.is_empty()).then(|| section(&lines.join("\n")))
}

/// The notification text that goes with the blocks.
pub fn fallback(r: &Report) -> String {
    format!(
        "Support stats, last {} days: {}",
        r.window.days,
        tickets_line(r)
    )
}

/// Self-service: the confirmed deflection rate, the best and worst entries, the gaps.
fn self_service(r: &Report) -> String {
    use super::self_service::{best_and_worst, gap_text, line};
    let Some(s) = &r.self_service else {
        return "*Self-service*: -".into();
    };
    let mut text = format!("*Self-service*: {}", line(s));
    let (best, worst) = best_and_worst(s);
    for (label, e) in [("Helps most", best), ("Helps least", worst)] {
        if let Some(e) = e {
            text.push_str(&format!(
                "\n{label}: {} ({} solved of {} offered)",
                escape(&e.title),
                e.solved,
                e.offered
            ));
        }
    }
    if !s.knowledge_gaps.is_empty() {
        let gaps: Vec<String> = s
            .knowledge_gaps
            .iter()
            .map(|g| escape(&gap_text(g)).into_owned())
            .collect();
        text.push_str(&format!(
            "\nKnowledge gaps (no catalog match): {}",
            gaps.join(" · ")
        ));
    }
    text
}

fn section(text: &str) -> Value {
    // Slack refuses a section text over 3000 characters.
    let text: String = if text.chars().count() > 2900 {
        text.chars().take(2900).collect::<String>() + "…"
    } else {
        text.to_string()
    };
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn groups(title: &str, groups: &BTreeMap<String, Group>) -> String {
    let mut out = format!("*{title}*");
    for (name, g) in groups {
        out.push_str(&format!(
            "\n*{}* · {} opened\n    first response: {}\n    resolution: {}",
            escape(name),
            g.opened,
            target_line(&g.first_response),
            target_line(&g.resolution)
        ));
        if g.csat.n > 0 {
            out.push_str(&format!("\n    satisfaction: {}", csat_of(&g.csat)));
        }
    }
    if groups.is_empty() {
        out.push_str("\nnone");
    }
    out
}

fn channels(r: &Report) -> String {
    let mut out = "*Top requesting channels*".to_string();
    for c in &r.top_channels {
        out.push_str(&format!(
            "\n{}: {} opened",
            mrkdwn::channel(&c.channel),
            c.opened
        ));
    }
    if r.top_channels.is_empty() {
        out.push_str("\nnone");
    }
    out
}
