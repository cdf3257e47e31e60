//! The dashboard's leverage charts, read from the stats document by its field names: hours
//! saved per month (wins and self-service answers, stacked) and the weekly support share of
//! capacity drawn against the band it should stay in.

use super::charts::{self, Chart, Line};
use serde_json::Value;

/// Hours as a figure: `230 h`; `–` when absent.
pub fn hours(v: &Value) -> String {
    v.as_f64()
        .map(|h| format!("{} h", crate::leverage::text::hours(h)))
        .unwrap_or_else(|| "–".into())
}

/// The leverage ratio: `0.27`; `–` when absent.
pub fn ratio(v: &Value) -> String {
    v.as_f64()
        .map(|r| format!("{r:.2}"))
        .unwrap_or_else(|| "–".into())
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

pub fn hours_saved(doc: &Value) -> Chart {
    let saved = &doc["hours_saved"];
    let months: Vec<&Value> = saved["months"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let labels: Vec<String> = months
        .iter()
        .map(|m| m["month"].as_str().unwrap_or("").to_string())
        .collect();
    let part =
        |field: &str| -> Vec<Option<f64>> { months.iter().map(|m| m[field].as_f64()).collect() };
    let nothing = months
        .iter()
        .all(|m| m["total_h"].as_f64().unwrap_or(0.0) == 0.0);
    Chart {
        id: "hours-saved",
        title: format!(
            "Hours saved per month, against the team's own {}",
            hours(&saved["team_h"])
        ),
        svg: charts::stacked(
            &labels,
            &[
                Line {
                    name: "wins".into(),
                    values: part("wins_h"),
                },
                Line {
                    name: "self-service answers".into(),
                    values: part("deflections_h"),
                },
            ],
            "hours saved",
        ),
        empty: nothing.then(|| {
            "No hours saved recorded yet: `/platform win <what changed> saves <N>h/month` \
             records a win."
                .into()
        }),
        head: ["Month", "Wins", "Self-service", "Total", "Leverage ratio"]
            .map(String::from)
            .to_vec(),
        rows: months
            .iter()
            .map(|m| {
                vec![
                    m["month"].as_str().unwrap_or("").to_string(),
                    hours(&m["wins_h"]),
                    hours(&m["deflections_h"]),
                    hours(&m["total_h"]),
                    ratio(&m["leverage_ratio"]),
                ]
            })
            .collect(),
    }
}

pub fn support_share(doc: &Value) -> Chart {
    let share = &doc["support_share"];
    let weeks: Vec<&Value> = share["weeks"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| {
            let week = w["week"].as_str().unwrap_or("");
            if w["complete"].as_bool() == Some(false) {
                format!("{week}*")
            } else {
                week.to_string()
            }
        })
        .collect();
    let band = |i: usize| share["band"][i].as_f64().map(|b| b * 100.0);
    let constant = |v: Option<f64>| vec![v; weeks.len()];
    let lines = [
        Line {
            name: "support share".into(),
            values: weeks
                .iter()
                .map(|w| w["share"].as_f64().map(|s| s * 100.0))
                .collect(),
        },
        Line {
            name: "band low".into(),
            values: constant(band(0)),
        },
        Line {
            name: "band high".into(),
            values: constant(band(1)),
        },
    ];
    Chart {
        id: "support-share",
        title: format!(
            "Support share of capacity by week ({} a week), against the {}–{} band (* still running)",
            hours(&share["capacity_h_per_week"]),
            pct(&share["band"][0]),
            pct(&share["band"][1]),
        ),
        svg: charts::lines(&labels, &lines, None, "% of capacity"),
        empty: weeks
            .is_empty()
            .then(|| "No weeks to show in this window.".into()),
        head: ["Week of", "Tickets", "On call", "Support", "Share", "Against the band"]
            .map(String::from)
            .to_vec(),
        rows: weeks
            .iter()
            .zip(&labels)
            .map(|(w, l)| {
                vec![
                    l.clone(),
                    hours(&w["tickets_h"]),
                    hours(&w["oncall_h"]),
                    hours(&w["support_h"]),
                    pct(&w["share"]),
                    w["against_band"].as_str().unwrap_or("–").to_string(),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_share_chart_draws_the_weeks_against_the_band_with_a_table() {
        let doc = json!({"support_share": {"band": [0.2, 0.3], "capacity_h_per_week": 193.85,
            "weeks": [
                {"week": "2026-03-02", "complete": true, "tickets_h": 40.0, "oncall_h": 14.0,
                 "support_h": 54.0, "share": 0.2786, "against_band": "within"},
                {"week": "2026-03-09", "complete": false, "tickets_h": 70.0, "oncall_h": 6.0,
                 "support_h": 76.0, "share": 0.392, "against_band": "above"}]}});
        let c = support_share(&doc);
        assert!(c.empty.is_none() && c.svg.contains("<svg"), "{}", c.svg);
        assert!(c.title.contains("20.0%–30.0% band"), "{}", c.title);
        assert_eq!(
            c.rows[1],
            ["2026-03-09*", "70 h", "6 h", "76 h", "39.2%", "above"]
        );
    }

    #[test]
    fn hours_saved_show_per_month_with_the_ratio() {
        let doc = json!({"hours_saved": {"team_h": 840.0, "months": [
            {"month": "2026-02", "wins_h": 0.0, "deflections_h": 0.0, "total_h": 0.0, "leverage_ratio": 0.0},
            {"month": "2026-03", "wins_h": 200.0, "deflections_h": 30.0, "total_h": 230.0, "leverage_ratio": 0.274}]}});
        let c = hours_saved(&doc);
        assert!(c.empty.is_none());
        assert_eq!(c.rows[1], ["2026-03", "200 h", "30 h", "230 h", "0.27"]);
        assert!(hours_saved(&json!({})).empty.is_some());
    }
}
