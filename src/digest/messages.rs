//! The digest as one Block Kit message, and the stale reminder's text. Every list is cut to
//! fit, ending with "and N more", so the message stays inside Slack's limits (50 blocks,
//! 3000 characters a section) whatever the roadmap holds; every text from data is escaped.

use super::changes::{Changes, Moved};
use super::db::ItemRow;
use crate::mrkdwn::escape;
use crate::stats::text::duration;
use crate::stats::Report;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Slack's limit on a section's text.
pub const SECTION_MAX: usize = 3000;
/// Slack's limit on a message's blocks.
pub const BLOCKS_MAX: usize = 50;
/// Items listed per kind of change before "and N more": a digest is read at a glance.
const LINES_MAX: usize = 10;
/// An item's title is cut to this many characters in a list.
const TITLE_MAX: usize = 120;
/// Planned items shown under "What's next".
pub const NEXT_MAX: i64 = 5;

/// The week in support: the figures of the statistics report the digest shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Week {
    pub opened: u64,
    pub resolved: u64,
    pub backlog: u64,
    pub first_response_breach_rate: Option<f64>,
    pub resolution_breach_rate: Option<f64>,
    pub median_first_response_s: Option<i64>,
    /// (answers, mean) once someone answered.
    pub satisfaction: Option<(u64, f64)>,
    /// The latest closed pulse survey (counts only under the anonymity threshold).
    pub pulse: Option<crate::stats::satisfaction::Pulse>,
    /// Hours saved this month and the support share of capacity (`leverage::text`), in words.
    pub leverage: Vec<String>,
    /// Self-service over the week, when anything was offered or filed.
    pub self_service: Option<crate::stats::self_service::SelfService>,
}

impl Week {
    /// From `stats::report(.., 7, ..)`.
    pub fn from_report(r: &Report) -> Self {
        Self {
            opened: r.tickets.opened,
            resolved: r.tickets.resolved,
            backlog: r.tickets.backlog,
            first_response_breach_rate: r.first_response.breach_rate,
            resolution_breach_rate: r.resolution.breach_rate,
            median_first_response_s: r.first_response.p50_s,
            satisfaction: r.csat.mean.filter(|_| r.csat.n > 0).map(|m| (r.csat.n, m)),
            pulse: r.pulse.clone(),
            leverage: leverage_lines(r),
            self_service: r.self_service.clone(),
        }
    }
}

fn leverage_lines(r: &Report) -> Vec<String> {
    use crate::leverage::text as lt;
    let mut lines = Vec::new();
    if let Some(h) = &r.hours_saved {
        lines.push(format!("Hours saved: {}", lt::hours_saved_line(h)));
    }
    if let Some(s) = &r.support_share {
        lines.push(format!("Support share of capacity: {}", lt::share_line(s)));
    }
    lines
}

/// The digest: what changed since `since`, what is next (`next` of `next_total` planned
/// items), and the week in support. The `text` is the notification's fallback.
pub fn digest(
    changes: &Changes,
    next: &[ItemRow],
    next_total: i64,
    week: &Week,
    since: DateTime<Utc>,
) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": ":world_map: The platform roadmap this week", "emoji": true},
    })];
    let kinds: [Kind<'_>; 6] = [
        (":rocket: *Shipped*", &changes.shipped, plain),
        (":hammer_and_wrench: *Started*", &changes.started, plain),
        (":dart: *Targets moved*", &changes.targets, moved),
        (
            ":vertical_traffic_light: *Health changed*",
            &changes.health,
            health,
        ),
        (":seedling: *New on the roadmap*", &changes.new, plain),
        (":wastebasket: *Dropped*", &changes.dropped, plain),
    ];
    for (title, items, line) in kinds {
        if !items.is_empty() {
            let lines: Vec<String> = items.iter().map(line).collect();
            blocks.push(section(&list(title, &lines, items.len())));
        }
    }
    if changes.is_empty() {
        blocks.push(section("No roadmap item changed since the last digest."));
    }
    if !next.is_empty() {
        let lines: Vec<String> = next.iter().map(next_line).collect();
        let total = usize::try_from(next_total).unwrap_or(lines.len());
        blocks.push(section(&list(":compass: *What's next*", &lines, total)));
    }
    blocks.push(json!({"type": "divider"}));
    blocks.push(section(&support(week)));
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!(
            "Changes since {}; support over the last 7 days. `/platform roadmap` shows it all.",
            crate::mrkdwn::when(since)
        )}],
    }));
    debug_assert!(blocks.len() <= BLOCKS_MAX);
    json!({ "text": fallback(changes, week), "blocks": blocks })
}

/// A kind of change: its heading, its items, and how one item reads.
type Kind<'a> = (&'a str, &'a [Moved], fn(&Moved) -> String);

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// `title`, then as many of `lines` as fit (at most `LINES_MAX`, within
/// [`SECTION_MAX`]), then "and N more" for the rest of `total`.
pub fn list(title: &str, lines: &[String], total: usize) -> String {
    // Room kept for the last line, "• and 1234567 more".
    const TAIL: usize = 40;
    let mut out = title.to_string();
    let mut shown = 0;
    for line in lines.iter().take(LINES_MAX) {
        if out.chars().count() + 1 + line.chars().count() + TAIL > SECTION_MAX {
            break;
        }
        out.push('\n');
        out.push_str(line);
        shown += 1;
    }
    let rest = total.saturating_sub(shown);
    if rest > 0 {
        out.push_str(&format!("\n• and {rest} more"));
    }
    out
}

/// `RM-3 Title`, the title cut and escaped.
fn item(id: i64, title: &str) -> String {
    let cut: String = if title.chars().count() > TITLE_MAX {
        let mut t: String = title.chars().take(TITLE_MAX - 1).collect();
        t.push('…');
        t
    } else {
        title.to_string()
    };
    format!("*RM-{id}* {}", escape(&cut))
}

fn plain(m: &Moved) -> String {
    format!("• {}", item(m.id, &m.title))
}

fn value(v: Option<&str>) -> String {
    v.map_or_else(|| "none".into(), |v| escape(v).into_owned())
}

fn moved(m: &Moved) -> String {
    format!(
        "• {}: {} → {}",
        item(m.id, &m.title),
        value(m.from.as_deref()),
        value(m.to.as_deref())
    )
}

fn health_word(v: Option<&str>) -> String {
    match v {
        Some("on_track") => ":large_green_circle: on track".into(),
        Some("at_risk") => ":large_yellow_circle: at risk".into(),
        Some("off_track") => ":red_circle: off track".into(),
        other => value(other),
    }
}

fn health(m: &Moved) -> String {
    format!(
        "• {}: {} → {}",
        item(m.id, &m.title),
        health_word(m.from.as_deref()),
        health_word(m.to.as_deref())
    )
}

fn next_line(i: &ItemRow) -> String {
    match &i.target {
        Some(target) => format!("• {} ({})", item(i.id, &i.title), escape(target)),
        None => format!("• {}", item(i.id, &i.title)),
    }
}

/// SLA attainment: the share of targets due that were met (1 - breach rate).
fn attainment(rate: Option<f64>) -> String {
    rate.map_or_else(
        || "none due".into(),
        |r| format!("{:.1}%", (1.0 - r) * 100.0),
    )
}

/// The week in support, from the statistics engine.
fn support(w: &Week) -> String {
    let mut out = format!(
        ":bar_chart: *The week in support*\n{} opened · {} resolved · {} in the backlog\n\
         SLA met: {} of first responses, {} of resolutions\nMedian first response: {}",
        w.opened,
        w.resolved,
        w.backlog,
        attainment(w.first_response_breach_rate),
        attainment(w.resolution_breach_rate),
        duration(w.median_first_response_s),
    );
    if let Some((n, mean)) = w.satisfaction {
        let csat = crate::stats::Csat {
            n,
            mean: Some(mean),
        };
        out.push_str(&format!(
            "\nSatisfaction: {}",
            crate::stats::text::csat_of(&csat)
        ));
    }
    if let Some(p) = &w.pulse {
        out.push_str(&format!(
            "\nPulse survey: {}",
            crate::stats::text::pulse_line(Some(p))
        ));
    }
    for line in &w.leverage {
        out.push('\n');
        out.push_str(line);
    }
    if let Some(ss) = &w.self_service {
        use crate::stats::self_service::{gap_text, line};
        if ss.offered > 0 {
            out.push_str(&format!("\nSelf-service: {}", line(ss)));
        }
        if !ss.knowledge_gaps.is_empty() {
            let gaps: Vec<String> = ss
                .knowledge_gaps
                .iter()
                .take(3)
                .map(|g| escape(&gap_text(g)).into_owned())
                .collect();
            out.push_str(&format!(
                "\nNo doc for these yet (tickets with no catalog match): {}",
                gaps.join(" · ")
            ));
        }
    }
    out
}

/// The notification's text: counts only.
fn fallback(c: &Changes, w: &Week) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (c.shipped.len(), "shipped"),
        (c.started.len(), "started"),
        (c.targets.len(), "retargeted"),
        (c.health.len(), "health changed"),
        (c.new.len(), "new"),
        (c.dropped.len(), "dropped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let roadmap = if parts.is_empty() {
        "no changes".to_string()
    } else {
        parts.join(", ")
    };
    format!(
        "Roadmap digest: {roadmap}. Support this week: {} opened, {} resolved.",
        w.opened, w.resolved
    )
}

/// The gentle DM to the owner of items in progress and unchanged for a while.
pub fn stale_reminder(items: &[ItemRow], now: DateTime<Utc>) -> String {
    let lines: Vec<String> = items
        .iter()
        .map(|i| {
            let days = i.updated_at.map_or(0, |u| (now - u).num_days());
            format!("• {}: no update for {days} days", item(i.id, &i.title))
        })
        .collect();
    let example = items.first().map_or(1, |i| i.id);
    list(
        &format!(
            ":wave: A gentle nudge about the roadmap: people follow these items, and they have \
             not changed in a while. If they moved on, a quick update keeps the roadmap true \
             (`/platform roadmap set RM-{example} health on_track`, a new `target`, or its `status`)."
        ),
        &lines,
        items.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_says_the_confirmed_deflections_and_the_knowledge_gaps() {
        use crate::stats::self_service::{Gap, SelfService};
        let week = Week {
            self_service: Some(SelfService {
                offered: 4,
                solved: 1,
                ignored: 3,
                deflection_rate: Some(0.25),
                knowledge_gaps: vec![Gap {
                    category: "access<>".into(),
                    tickets: 6,
                    words: vec!["bucket".into(), "s3".into()],
                }],
                ..SelfService::default()
            }),
            ..Week::default()
        };
        let text = support(&week);
        assert!(
            text.contains("Self-service: 4 offered · 1 solved (25.0% deflected)"),
            "{text}"
        );
        assert!(text.contains("unconfirmed: 3 ignored"), "{text}");
        assert!(text.contains("access&lt;&gt; (6): bucket, s3"), "{text}");
    }

    fn moved_item(id: i64, title: &str) -> Moved {
        Moved {
            id,
            title: title.into(),
            from: Some("in_progress".into()),
            to: Some("shipped".into()),
        }
    }

    fn sections(message: &Value) -> Vec<String> {
        message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["text"]["text"].as_str().map(String::from))
            .collect()
    }

    #[test]
    fn a_long_list_ends_with_and_n_more_and_each_section_stays_under_slacks_limit() {
        let long = "x".repeat(5000);
        let changes = Changes {
            shipped: (1..=200).map(|i| moved_item(i, &long)).collect(),
            new: (1..=200)
                .map(|i| moved_item(i, "<!channel> & co"))
                .collect(),
            ..Changes::default()
        };
        let message = digest(&changes, &[], 0, &Week::default(), Utc::now());
        assert!(message["blocks"].as_array().unwrap().len() <= BLOCKS_MAX);
        for text in sections(&message) {
            assert!(text.chars().count() <= SECTION_MAX, "{} chars", text.len());
        }
        let shipped = &sections(&message)[1];
        assert!(shipped.ends_with("• and 190 more"), "{shipped}");
        let new = &sections(&message)[2];
        assert!(new.contains("&lt;!channel&gt; &amp; co") && !new.contains("<!channel>"));
    }

    #[test]
    fn satisfaction_shows_only_once_someone_answered() {
        let mut week = Week::default();
        assert!(!support(&week).contains("Satisfaction"));
        week.satisfaction = Some((3, 4.5));
        assert!(support(&week).contains("Satisfaction: 4.50 of 5 (3 answers)"));
        week.first_response_breach_rate = Some(0.25);
        assert!(support(&week).contains("SLA met: 75.0% of first responses"));
    }

    #[test]
    fn the_latest_pulse_shows_its_mean_only_over_the_threshold() {
        use crate::stats::satisfaction::Pulse;
        let mut week = Week::default();
        assert!(!support(&week).contains("Pulse"));
        let mut pulse = Pulse {
            closed_at: "2026-11-20T14:00:00Z".into(),
            audience: 40,
            responses: 3,
            response_rate: 0.075,
            mean: None,
            favourable: None,
            distribution: None,
            change: None,
            threshold: 5,
            trend: Vec::new(),
        };
        week.pulse = Some(pulse.clone());
        let text = support(&week);
        assert!(
            text.contains("Pulse survey: closed 2026-11-20: 3 of 40 answered (7.5%)"),
            "{text}"
        );
        assert!(!text.contains("mean"), "{text}");
        pulse.responses = 20;
        pulse.mean = Some(3.9);
        pulse.change = Some(0.3);
        week.pulse = Some(pulse);
        let text = support(&week);
        assert!(
            text.contains("mean 3.90 of 5 · +0.30 since the previous"),
            "{text}"
        );
    }
}
