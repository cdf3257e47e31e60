//! The dashboard page as data: headline numbers and charts, each with its numbers as a table,
//! from the weekly series and the stats document (CONTRACT's stats JSON, read by its field
//! names so the page shows exactly what `/api/v1/stats` says).

use super::charts::{self, Chart, Line};
use crate::stats::series::{Series, AGE_BUCKETS};
use askama::Template;
use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Page {
    pub days: u32,
    pub windows: Vec<(u32, bool)>,
    pub generated: String,
    pub headline: Vec<(String, String)>,
    pub charts: Vec<Chart>,
}

/// The whole page for a window of `days` ending `now`.
pub fn page(days: u32, now: DateTime<Utc>, series: &Series, doc: &Value) -> Page {
    let windows = [7, 30, 90]
        .into_iter()
        .chain((![7, 30, 90].contains(&days)).then_some(days))
        .map(|d| (d, d == days))
        .collect();
    Page {
        days,
        windows,
        generated: now.format("%Y-%m-%d %H:%M UTC").to_string(),
        headline: headline(doc),
        charts: vec![
            volume(series),
            attainment(series),
            percentiles(doc, "first_response", "first-response", "First response"),
            percentiles(doc, "resolution", "resolution", "Resolution"),
            backlog(series),
            satisfaction(doc),
            pulse_trend(doc),
            self_service(doc),
            channels(doc),
            categories(doc),
            super::leverage::hours_saved(doc),
            super::leverage::support_share(doc),
        ],
    }
}

fn int(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn rate(v: &Value) -> String {
    v.as_f64()
        .map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// A duration in SLA seconds, as people read it.
pub fn duration(v: &Value) -> String {
    let Some(s) = v.as_f64() else {
        return "–".into();
    };
    if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 72.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

fn headline(doc: &Value) -> Vec<(String, String)> {
    let t = &doc["tickets"];
    vec![
        ("Opened".into(), int(&t["opened"]).to_string()),
        ("Resolved".into(), int(&t["resolved"]).to_string()),
        ("Backlog now".into(), int(&t["backlog"]).to_string()),
        ("Oldest open".into(), duration(&doc["oldest_open_s"])),
        (
            "First response p50".into(),
            duration(&doc["first_response"]["p50_s"]),
        ),
        (
            "First response breached".into(),
            rate(&doc["first_response"]["breach_rate"]),
        ),
        (
            "Resolution p50".into(),
            duration(&doc["resolution"]["p50_s"]),
        ),
        (
            "Resolution breached".into(),
            rate(&doc["resolution"]["breach_rate"]),
        ),
        (
            "Hours saved this month".into(),
            super::leverage::hours(&doc["hours_saved"]["total_h"]),
        ),
        (
            "Leverage ratio".into(),
            super::leverage::ratio(&doc["hours_saved"]["leverage_ratio"]),
        ),
    ]
}

fn week_labels(series: &Series) -> Vec<String> {
    series
        .weeks
        .iter()
        .map(|w| w.start.format("%b %-d").to_string())
        .collect()
}

fn volume(series: &Series) -> Chart {
    let labels = week_labels(series);
    let opened: Vec<Option<f64>> = series.weeks.iter().map(|w| Some(w.opened as f64)).collect();
    let resolved = series
        .weeks
        .iter()
        .map(|w| Some(w.resolved as f64))
        .collect();
    let nothing = series
        .weeks
        .iter()
        .all(|w| w.opened == 0 && w.resolved == 0);
    Chart {
        id: "volume",
        title: "Weekly volume: opened and resolved".into(),
        svg: charts::lines(
            &labels,
            &[
                Line {
                    name: "opened".into(),
                    values: opened,
                },
                Line {
                    name: "resolved".into(),
                    values: resolved,
                },
            ],
            None,
            "tickets",
        ),
        empty: nothing.then(|| "No tickets opened or resolved in this window.".into()),
        head: vec!["Week of".into(), "Opened".into(), "Resolved".into()],
        rows: series
            .weeks
            .iter()
            .zip(&labels)
            .map(|(w, l)| vec![l.clone(), w.opened.to_string(), w.resolved.to_string()])
            .collect(),
    }
}

fn attainment(series: &Series) -> Chart {
    let labels = week_labels(series);
    let priorities = series.priorities();
    let lines: Vec<Line> = priorities
        .iter()
        .map(|p| Line {
            name: p.clone(),
            values: series
                .weeks
                .iter()
                .map(|w| {
                    w.attainment
                        .get(p)
                        .and_then(|t| t.rate())
                        .map(|r| r * 100.0)
                })
                .collect(),
        })
        .collect();
    let nothing = lines.iter().all(|l| l.values.iter().all(Option::is_none));
    let mut head = vec!["Week of".to_string()];
    head.extend(priorities.iter().cloned());
    Chart {
        id: "attainment",
        title: "SLA targets met, by week opened and priority".into(),
        svg: charts::lines(&labels, &lines, Some(105.0), "% of targets met"),
        empty: nothing.then(|| "No SLA target has come due in this window yet.".into()),
        head,
        rows: series
            .weeks
            .iter()
            .zip(&labels)
            .map(|(w, l)| {
                let mut row = vec![l.clone()];
                row.extend(priorities.iter().map(|p| match w.attainment.get(p) {
                    Some(t) if t.decided > 0 => format!(
                        "{:.0}% ({} of {})",
                        t.met as f64 * 100.0 / t.decided as f64,
                        t.met,
                        t.decided
                    ),
                    _ => "–".into(),
                }));
                row
            })
            .collect(),
    }
}

/// The priorities of the stats document, in its (name) order.
fn by_priority(doc: &Value) -> Vec<(String, &Value)> {
    doc["by_priority"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default()
}

fn percentiles(doc: &Value, field: &str, id: &'static str, name: &str) -> Chart {
    let rows = by_priority(doc);
    let priorities: Vec<String> = rows.iter().map(|(p, _)| p.clone()).collect();
    let max = rows
        .iter()
        .filter_map(|(_, v)| v[field]["p90_s"].as_f64())
        .fold(0.0, f64::max);
    // One unit for the chart's axis, chosen by the largest value.
    let (unit, div) = if max < 2.0 * 3600.0 {
        ("minutes", 60.0)
    } else if max < 72.0 * 3600.0 {
        ("hours", 3600.0)
    } else {
        ("days", 86_400.0)
    };
    let values = |p: &str| -> Vec<Option<f64>> {
        rows.iter()
            .map(|(_, v)| v[field][p].as_f64().map(|s| s / div))
            .collect()
    };
    let lines = [
        Line {
            name: "p50".into(),
            values: values("p50_s"),
        },
        Line {
            name: "p90".into(),
            values: values("p90_s"),
        },
    ];
    let nothing = lines.iter().all(|l| l.values.iter().all(Option::is_none));
    Chart {
        id,
        title: format!("{name} time by priority: p50 and p90 (SLA time)"),
        svg: charts::bars(&priorities, &lines, unit),
        empty: nothing.then(|| format!("No {} yet in this window.", name.to_lowercase())),
        head: [
            "Priority",
            "n",
            "p50",
            "p90",
            "breached of due",
            "breach rate",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|(p, v)| {
                let m = &v[field];
                vec![
                    p.clone(),
                    int(&m["n"]).to_string(),
                    duration(&m["p50_s"]),
                    duration(&m["p90_s"]),
                    format!("{} of {}", int(&m["breached"]), int(&m["due"])),
                    rate(&m["breach_rate"]),
                ]
            })
            .collect(),
    }
}

fn backlog(series: &Series) -> Chart {
    let priorities: Vec<String> = series.backlog.keys().cloned().collect();
    let parts: Vec<Line> = AGE_BUCKETS
        .iter()
        .enumerate()
        .map(|(b, (name, _))| Line {
            name: (*name).into(),
            values: series.backlog.values().map(|c| Some(c[b] as f64)).collect(),
        })
        .collect();
    let mut head = vec!["Priority".to_string()];
    head.extend(AGE_BUCKETS.iter().map(|(n, _)| n.to_string()));
    head.push("total".into());
    Chart {
        id: "backlog",
        title: "Backlog now, by priority and age".into(),
        svg: charts::stacked(&priorities, &parts, "open tickets"),
        empty: priorities
            .is_empty()
            .then(|| "No open tickets: the backlog is empty.".into()),
        head,
        rows: series
            .backlog
            .iter()
            .map(|(p, c)| {
                let mut row = vec![p.clone()];
                row.extend(c.iter().map(u64::to_string));
                row.push(c.iter().sum::<u64>().to_string());
                row
            })
            .collect(),
    }
}

/// Self-service: the confirmed deflection rate in the title, each entry's solve rate as
/// bars, and in the table the best and worst entries and the knowledge gaps.
fn self_service(doc: &Value) -> Chart {
    use crate::stats::self_service::{best_and_worst, gap_text, SelfService};
    let s: SelfService = serde_json::from_value(doc["self_service"].clone()).unwrap_or_default();
    let title = match s.deflection_rate {
        Some(r) => format!(
            "Self-service: {:.0}% of {} offers solved (confirmed)",
            r * 100.0,
            s.offered
        ),
        None => "Self-service".into(),
    };
    let shown: Vec<_> = s
        .by_entry
        .iter()
        .filter(|e| e.offered > 0)
        .take(8)
        .collect();
    let labels: Vec<String> = shown.iter().map(|e| e.title.clone()).collect();
    let values: Vec<f64> = shown.iter().map(|e| e.solve_rate() * 100.0).collect();
    let (best, worst) = best_and_worst(&s);
    let mut rows = vec![vec![
        "Unconfirmed".into(),
        format!("{} ignored, {} awaiting an answer", s.ignored, s.pending),
    ]];
    for (label, e) in [("Helps most", best), ("Helps least", worst)] {
        if let Some(e) = e {
            rows.push(vec![
                label.into(),
                format!("{} ({} solved of {} offered)", e.title, e.solved, e.offered),
            ]);
        }
    }
    for g in &s.knowledge_gaps {
        rows.push(vec!["Knowledge gap".into(), gap_text(g)]);
    }
    Chart {
        id: "self-service",
        title,
        svg: if shown.is_empty() {
            String::new()
        } else {
            charts::ranking(&labels, &values, "% of offers solved")
        },
        empty: shown.is_empty().then(|| {
            "Nothing offered in this window: answers show here once the catalog matches requests."
                .into()
        }),
        head: vec!["What".into(), "Detail".into()],
        rows,
    }
}

/// Satisfaction: CSAT over the window's tickets and the latest pulse survey, as bars of
/// their means, with the counts (and, under the survey's anonymity threshold, counts only).
fn satisfaction(doc: &Value) -> Chart {
    let csat = &doc["csat"];
    let n = int(&csat["n"]);
    let csat_mean = csat["mean"].as_f64().filter(|_| n > 0);
    let pulse = &doc["pulse"];
    let pulse_mean = pulse["mean"].as_f64();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for (label, mean) in [
        ("CSAT (tickets)", csat_mean),
        ("Pulse (latest)", pulse_mean),
    ] {
        if let Some(mean) = mean {
            labels.push(label.to_string());
            values.push(mean);
        }
    }
    let mean_text = |m: Option<f64>| m.map_or_else(|| "–".into(), |m| format!("{m:.2}"));
    let mut rows = vec![vec![
        "CSAT (resolved tickets)".into(),
        n.to_string(),
        mean_text(csat_mean),
        "–".into(),
    ]];
    if pulse.is_object() {
        let day: String = pulse["closed_at"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(10)
            .collect();
        let mut detail = format!("response rate {}", rate(&pulse["response_rate"]));
        if pulse_mean.is_some() {
            detail.push_str(&format!(" · {} favourable", rate(&pulse["favourable"])));
            if let Some(change) = pulse["change"].as_f64() {
                detail.push_str(&format!(" · {change:+.2} since the previous"));
            }
        } else {
            detail.push_str(&format!(
                " · under {} answers: counts only",
                int(&pulse["threshold"]).max(1)
            ));
        }
        rows.push(vec![
            format!("Pulse survey, closed {day}"),
            format!(
                "{} of {}",
                int(&pulse["responses"]),
                int(&pulse["audience"])
            ),
            mean_text(pulse_mean),
            detail,
        ]);
    }
    Chart {
        id: "satisfaction",
        title: "Satisfaction: CSAT and the pulse survey".into(),
        svg: if values.is_empty() {
            String::new()
        } else {
            charts::ranking(&labels, &values, "mean rating (1-5)")
        },
        empty: values.is_empty().then(|| {
            "No surveys yet: satisfaction shows here once requesters rate resolved tickets \
             or a pulse survey closes with enough answers."
                .into()
        }),
        head: vec![
            "Measure".into(),
            "Answers".into(),
            "Mean (1-5)".into(),
            "Detail".into(),
        ],
        rows,
    }
}

/// The pulse survey's trend: the mean of each of the last closed surveys (none under the
/// anonymity threshold), with each survey's answers and response rate in the table.
fn pulse_trend(doc: &Value) -> Chart {
    let trend: &[Value] = doc["pulse"]["trend"].as_array().map_or(&[], Vec::as_slice);
    let labels: Vec<String> = trend
        .iter()
        .map(|t| {
            t["closed_at"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(10)
                .collect()
        })
        .collect();
    let means: Vec<Option<f64>> = trend.iter().map(|t| t["mean"].as_f64()).collect();
    let drawable = means.iter().any(Option::is_some);
    Chart {
        id: "pulse",
        title: "Pulse survey: mean over the last surveys".into(),
        svg: if drawable {
            charts::lines(
                &labels,
                &[Line {
                    name: "mean (1-5)".into(),
                    values: means.clone(),
                }],
                Some(5.0),
                "mean (1-5)",
            )
        } else {
            String::new()
        },
        empty: (!drawable)
            .then(|| "No pulse survey has closed with enough answers to show a mean yet.".into()),
        head: vec![
            "Closed".into(),
            "Answers".into(),
            "Response rate".into(),
            "Mean (1-5)".into(),
        ],
        rows: trend
            .iter()
            .zip(&labels)
            .map(|(t, day)| {
                vec![
                    day.clone(),
                    int(&t["responses"]).to_string(),
                    rate(&t["response_rate"]),
                    t["mean"]
                        .as_f64()
                        .map_or_else(|| "–".into(), |m| format!("{m:.2}")),
                ]
            })
            .collect(),
    }
}

/// At most this many rows in a ranking.
const TOP: usize = 10;

fn ranking_chart(id: &'static str, title: &str, what: &str, top: Vec<(String, u64)>) -> Chart {
    let labels: Vec<String> = top.iter().map(|(l, _)| l.clone()).collect();
    let values: Vec<f64> = top.iter().map(|(_, n)| *n as f64).collect();
    Chart {
        id,
        title: title.into(),
        svg: charts::ranking(&labels, &values, "tickets opened"),
        empty: top
            .is_empty()
            .then(|| format!("No tickets opened in this window, so no {what} to rank.")),
        head: vec![what_heading(what), "Opened".into()],
        rows: top
            .iter()
            .map(|(l, n)| vec![l.clone(), n.to_string()])
            .collect(),
    }
}

fn what_heading(what: &str) -> String {
    let mut c = what.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn channels(doc: &Value) -> Chart {
    let top = doc["top_channels"]
        .as_array()
        .map(|a| {
            a.iter()
                .take(TOP)
                .map(|c| {
                    let name = c["channel"].as_str().unwrap_or("(direct)").to_string();
                    (name, int(&c["opened"]))
                })
                .collect()
        })
        .unwrap_or_default();
    ranking_chart("channels", "Top requesting channels", "channels", top)
}

fn categories(doc: &Value) -> Chart {
    let mut top: Vec<(String, u64)> = doc["by_category"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), int(&v["opened"])))
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP);
    ranking_chart("categories", "Top categories", "categories", top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::series::build;
    use chrono::TimeZone;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "tickets": {"opened": 12, "resolved": 9, "backlog": 3, "reopened": 1},
            "first_response": {"n": 10, "p50_s": 600, "p90_s": 5400, "breach_rate": 0.1},
            "resolution": {"n": 9, "p50_s": 90000, "p90_s": 400000, "breach_rate": null},
            "by_priority": {
                "P1": {"first_response": {"n": 2, "p50_s": 300, "p90_s": 900, "due": 2, "breached": 0, "breach_rate": 0.0},
                       "resolution": {"n": 1, "p50_s": 7200, "p90_s": 7200, "due": 1, "breached": 1, "breach_rate": 1.0}},
                "P2": {"first_response": {"n": 0, "p50_s": null, "p90_s": null, "due": 0, "breached": 0, "breach_rate": null},
                       "resolution": {"n": 0, "p50_s": null, "p90_s": null}}
            },
            "by_category": {"<b>bold</b>": {"opened": 4}, "access": {"opened": 8}, "unused": {"opened": 0}},
            "top_channels": [{"channel": "C01HELP", "opened": 7}],
            "oldest_open_s": 200000,
            "csat": {"n": 0, "mean": null}
        })
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn durations_read_in_minutes_hours_or_days() {
        assert_eq!(duration(&json!(600)), "10 min");
        assert_eq!(duration(&json!(5400)), "1.5 h");
        assert_eq!(duration(&json!(400000)), "4.6 d");
        assert_eq!(duration(&Value::Null), "–");
    }

    #[test]
    fn the_page_has_every_chart_titled_with_its_table() {
        let series = build(
            &[],
            &[("P1".into(), now())],
            now() - chrono::Duration::days(14),
            now(),
        );
        let page = page(14, now(), &series, &doc());
        let ids: Vec<_> = page.charts.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "volume",
                "attainment",
                "first-response",
                "resolution",
                "backlog",
                "satisfaction",
                "pulse",
                "self-service",
                "channels",
                "categories",
                "hours-saved",
                "support-share"
            ]
        );
        assert!(page
            .charts
            .iter()
            .all(|c| !c.title.is_empty() && !c.head.is_empty()));
        assert_eq!(
            page.windows,
            vec![(7, false), (30, false), (90, false), (14, true)]
        );
        let html = page.render().unwrap();
        assert!(html.contains("Satisfaction: CSAT") && html.contains("No surveys yet"));
        assert!(html.contains("<td>1 of 1</td>"), "{html}");
    }

    #[test]
    fn satisfaction_draws_csat_and_the_pulse_and_counts_only_under_the_threshold() {
        let mut d = doc();
        d["csat"] = json!({"n": 3, "mean": 4.25});
        d["pulse"] = json!({"closed_at": "2026-06-05T14:00:00Z", "audience": 40, "responses": 20,
            "response_rate": 0.5, "mean": 3.9, "favourable": 0.7, "distribution": [0, 1, 5, 8, 6],
            "change": 0.3, "threshold": 5, "trend": [
                {"closed_at": "2026-05-29T14:00:00Z", "responses": 3, "response_rate": 0.075, "mean": null},
                {"closed_at": "2026-06-05T14:00:00Z", "responses": 20, "response_rate": 0.5, "mean": 3.9}]});
        let s = satisfaction(&d);
        assert!(s.empty.is_none() && s.svg.contains("<svg"));
        assert_eq!(s.rows[0], ["CSAT (resolved tickets)", "3", "4.25", "–"]);
        assert_eq!(s.rows[1][1], "20 of 40");
        assert!(s.rows[1][3].contains("response rate 50%") && s.rows[1][3].contains("+0.30"));
        let t = pulse_trend(&d);
        assert!(t.empty.is_none() && t.svg.contains("<svg"));
        assert_eq!(t.rows[0], ["2026-05-29", "3", "8%", "–"]);
        d["pulse"]["mean"] = Value::Null;
        d["csat"] = json!({"n": 0, "mean": null});
        let s = satisfaction(&d);
        assert!(s.empty.is_some(), "no mean to draw under the threshold");
        assert!(
            s.rows[1][3].contains("under 5 answers: counts only"),
            "{:?}",
            s.rows
        );
    }

    #[test]
    fn names_from_data_are_escaped_in_tables_and_charts() {
        let series = build(&[], &[], now() - chrono::Duration::days(7), now());
        let html = page(7, now(), &series, &doc()).render().unwrap();
        assert!(!html.contains("<b>bold</b>"), "{html}");
        assert!(
            html.contains("&lt;b&gt;bold&lt;/b&gt;") || html.contains("&#60;b&#62;bold"),
            "{html}"
        );
    }

    #[test]
    fn categories_rank_by_tickets_opened_without_empty_ones() {
        let c = categories(&doc());
        let names: Vec<_> = c.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["access", "<b>bold</b>"]);
    }

    #[test]
    fn an_empty_document_shows_empty_states_not_broken_charts() {
        let series = build(&[], &[], now() - chrono::Duration::days(7), now());
        let page = page(7, now(), &series, &json!({}));
        for c in &page.charts {
            assert!(c.empty.is_some(), "{} has no empty state", c.id);
        }
        assert_eq!(page.headline[0], ("Opened".to_string(), "0".to_string()));
    }
}
