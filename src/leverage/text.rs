//! Hours saved and the support share in words, shared by every face of the report (the
//! terminal, `/platform stats`, the digest), so they all show the same figures.

use super::{Against, HoursSaved, SupportShare, WeekShare};

/// Hours as people write them: `200`, `7.5`, `0.25` (two decimals at most).
pub fn hours(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    format!("{r}")
}

/// A share as a percentage with one decimal: `24.1%`.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// `230 h saved in 2026-12 (wins 200 h, 60 self-service answers 30 h) · leverage ratio 0.27
/// (hours saved ÷ the team's own 840 h)`.
pub fn hours_saved_line(h: &HoursSaved) -> String {
    let ratio = h
        .leverage_ratio
        .map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
    format!(
        "{} h saved in {} (wins {} h, {} self-service answers {} h) · leverage ratio {} \
         (hours saved ÷ the team's own {} h)",
        hours(h.total_h),
        h.month,
        hours(h.wins_h),
        h.deflections,
        hours(h.deflections_h),
        ratio,
        hours(h.team_h)
    )
}

/// The months before, oldest first: `2026-07 120 h (0.14) · 2026-08 ...`.
pub fn months_line(h: &HoursSaved) -> String {
    h.months
        .iter()
        .map(|m| {
            let ratio = m
                .leverage_ratio
                .map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
            format!("{} {} h ({ratio})", m.month, hours(m.total_h))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn against(a: Against) -> &'static str {
    match a {
        Against::Below => "below the band",
        Against::Within => "within the band",
        Against::Above => "above the band",
    }
}

/// One week: `week of 2026-03-02: 24.1% (46.7 h: tickets 32.7 h, on call 14 h), within the band`.
pub fn week_line(w: &WeekShare) -> String {
    format!(
        "week of {}{}: {} ({} h: tickets {} h, on call {} h), {}",
        w.week,
        if w.complete { "" } else { " (so far)" },
        percent(w.share),
        hours(w.support_h),
        hours(w.tickets_h),
        hours(w.oncall_h),
        against(w.against_band)
    )
}

/// The headline: the last complete week against the band.
pub fn share_line(s: &SupportShare) -> String {
    let band = format!("band {}–{}", percent(s.band[0]), percent(s.band[1]));
    let capacity = format!("the team has {} h a week", hours(s.capacity_h_per_week));
    match s.weeks.iter().rev().find(|w| w.complete) {
        Some(w) => format!("{} · {capacity} · {band}", week_line(w)),
        None => match s.weeks.last() {
            Some(w) => format!("{} · {capacity} · {band}", week_line(w)),
            None => format!("no weeks yet · {band}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_shares_read_as_people_write_them() {
        assert_eq!(hours(200.0), "200");
        assert_eq!(hours(7.5), "7.5");
        assert_eq!(hours(1.0 / 3.0), "0.33");
        assert_eq!(percent(0.2412), "24.1%");
    }
}
