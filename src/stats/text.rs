//! The report as plain text (`platform-desk stats`), and the number formats every face shares,
//! so that the terminal and Slack show the same figures.

use super::rate;
use super::satisfaction::Pulse;
use super::{Csat, Group, Report, Target};
use std::fmt::Write;

/// A duration in seconds as people read it: `45s`, `12m`, `3h 05m`, `2d 4h`; `-` when absent.
pub fn duration(seconds: Option<i64>) -> String {
    let Some(s) = seconds else {
        return "-".into();
    };
    let s = s.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One target on one line: `p50 12m · p90 1h 05m · p99 3h 00m (n 40) · breached 2 of 38 (5.3%) · waiting 2`.
pub fn target_line(t: &Target) -> String {
    format!(
        "p50 {} · p90 {} · p99 {} (n {}) · breached {} of {} ({}) · waiting {}",
        duration(t.p50_s),
        duration(t.p90_s),
        duration(t.p99_s),
        t.n,
        t.breached,
        t.due,
        rate(t.breach_rate),
        t.waiting
    )
}

/// The opening line: tickets opened, resolved, reopened, and the backlog now.
pub fn tickets_line(r: &Report) -> String {
    let oldest = match r.oldest_open_s {
        Some(s) => format!(" (oldest open {})", duration(Some(s))),
        None => String::new(),
    };
    format!(
        "{} opened · {} resolved · {} reopened · backlog now {}{}",
        r.tickets.opened, r.tickets.resolved, r.tickets.reopened, r.tickets.backlog, oldest
    )
}

/// The support burden line.
pub fn burden_line(r: &Report) -> String {
    let b = &r.support_burden;
    match b.tickets_per_engineer_per_week {
        Some(per) => format!(
            "{:.2} tickets/week · {:.2} per platform engineer ({} on the team)",
            b.tickets_per_week, per, b.platform_team
        ),
        None => format!("{:.2} tickets/week", b.tickets_per_week),
    }
}

/// The whole report for a terminal.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Support stats, last {} days ({} to {})",
        r.window.days, r.window.from, r.window.to
    );
    let _ = writeln!(out, "Tickets: {}", tickets_line(r));
    let _ = writeln!(out, "First response: {}", target_line(&r.first_response));
    let _ = writeln!(out, "Resolution: {}", target_line(&r.resolution));
    let groups =
        |out: &mut String, title: &str, groups: &std::collections::BTreeMap<String, Group>| {
            let _ = writeln!(out, "\n{title}");
            for (name, g) in groups {
                let _ = writeln!(out, "  {name}: {} opened", g.opened);
                let _ = writeln!(
                    out,
                    "    first response: {}",
                    target_line(&g.first_response)
                );
                let _ = writeln!(out, "    resolution: {}", target_line(&g.resolution));
                if g.csat.n > 0 {
                    let _ = writeln!(out, "    satisfaction: {}", csat_of(&g.csat));
                }
            }
            if groups.is_empty() {
                let _ = writeln!(out, "  none");
            }
        };
    groups(&mut out, "By priority", &r.by_priority);
    groups(&mut out, "By category", &r.by_category);
    let _ = writeln!(out, "\nTop requesting channels");
    for c in &r.top_channels {
        let _ = writeln!(out, "  {}: {} opened", c.channel, c.opened);
    }
    if r.top_channels.is_empty() {
        let _ = writeln!(out, "  none");
    }
    let _ = writeln!(out, "\nSupport burden: {}", burden_line(r));
    let _ = writeln!(out, "Satisfaction: {}", csat_line(r));
    let _ = writeln!(out, "Pulse: {}", pulse_line(r.pulse.as_ref()));
    leverage_lines(&mut out, r);
    if let Some(ss) = &r.self_service {
        self_service_text(&mut out, ss);
    }
    out
}

/// Self-service: the headline line, the entries that help most and least, the gaps.
fn self_service_text(out: &mut String, s: &super::self_service::SelfService) {
    use super::self_service::{best_and_worst, gap_text, line};
    let _ = writeln!(out, "\nSelf-service: {}", line(s));
    let (best, worst) = best_and_worst(s);
    for (label, e) in [("helps most", best), ("helps least", worst)] {
        if let Some(e) = e {
            let _ = writeln!(
                out,
                "  {label}: {} ({} solved of {} offered)",
                e.title, e.solved, e.offered
            );
        }
    }
    if !s.knowledge_gaps.is_empty() {
        let gaps: Vec<String> = s.knowledge_gaps.iter().map(gap_text).collect();
        let _ = writeln!(
            out,
            "  knowledge gaps (no catalog match): {}",
            gaps.join(" · ")
        );
    }
}

/// Hours saved and the support share, from `leverage::text`.
fn leverage_lines(out: &mut String, r: &Report) {
    use crate::leverage::text as lt;
    if let Some(h) = &r.hours_saved {
        let _ = writeln!(out, "\nHours saved: {}", lt::hours_saved_line(h));
        let _ = writeln!(out, "  by month: {}", lt::months_line(h));
    }
    if let Some(s) = &r.support_share {
        let _ = writeln!(out, "Support share of capacity: {}", lt::share_line(s));
        for w in &s.weeks {
            let _ = writeln!(out, "  {}", lt::week_line(w));
        }
    }
}

/// CSAT over the whole report: `4.33 of 5 (3 answers)`.
pub fn csat_line(r: &Report) -> String {
    csat_of(&r.csat)
}

pub fn csat_of(c: &Csat) -> String {
    match c.mean {
        Some(mean) if c.n > 0 => format!(
            "{mean:.2} of 5 ({} answer{})",
            c.n,
            if c.n == 1 { "" } else { "s" }
        ),
        _ => "no answers yet".into(),
    }
}

/// The latest pulse survey on one line; under the anonymity threshold, counts only.
pub fn pulse_line(p: Option<&Pulse>) -> String {
    let Some(p) = p else {
        return "no survey closed yet".into();
    };
    let day = p.closed_at.get(..10).unwrap_or(&p.closed_at);
    let counts = format!(
        "closed {day}: {} of {} answered ({})",
        p.responses,
        p.audience,
        rate(Some(p.response_rate))
    );
    let Some(mean) = p.mean else {
        return format!(
            "{counts}; under {} answers, only the count is shown",
            p.threshold
        );
    };
    let mut out = format!("{counts} · mean {mean:.2} of 5");
    if let Some(f) = p.favourable {
        let _ = write!(out, " · {} favourable", rate(Some(f)));
    }
    if let Some(change) = p.change {
        let _ = write!(out, " · {change:+.2} since the previous");
    }
    let means: Vec<String> = p
        .trend
        .iter()
        .map(|t| t.mean.map_or_else(|| "-".into(), |m| format!("{m:.1}")))
        .collect();
    if means.len() > 1 {
        let _ = write!(out, " · trend {}", means.join(" → "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(45)), "45s");
        assert_eq!(duration(Some(720)), "12m");
        assert_eq!(duration(Some(3900)), "1h 05m");
        assert_eq!(duration(Some(2 * 86_400 + 4 * 3600 + 59)), "2d 4h");
    }

    #[test]
    fn rates_are_percentages_with_one_decimal() {
        assert_eq!(rate(None), "-");
        assert_eq!(rate(Some(1.0 / 3.0)), "33.3%");
    }
}
