//! `/metrics` end to end: it is well-formed Prometheus text, and its series move when
//! tickets are filed through signed requests, when an SLA breaches in simulated time, when
//! a ticket is answered, when Slack answers 429 or an error and while it holds a post (the
//! outbox's pending gauge); the SLA histograms have the policy's targets among their bucket
//! edges.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::ManualClock;
use platform_desk::sandbox::fake_slack::Failure;
use prometheus_parse::{HistogramCount, Scrape, Value};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

const TEAM: &str = "U01ALICE";
const HELP: &str = "C01HELP";

/// The parsed scrape, after checking what prometheus-parse lets through silently: every
/// line is a HELP, a TYPE or a sample of a family typed before it, each family typed once,
/// label values quoted, every value a number.
fn parse(text: &str) -> Scrape {
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (\S+)$"#,
    )
    .unwrap();
    let mut typed: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(typed.iter().all(|(n, _)| n != name), "{name} typed twice");
            typed.push((name.to_string(), kind.to_string()));
            continue;
        }
        if line.starts_with("# HELP ") || line == "# EOF" {
            continue;
        }
        let caps = sample
            .captures(line)
            .unwrap_or_else(|| panic!("not a sample line: {line}"));
        let name = &caps[1];
        let value = &caps[5];
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "{line}"
        );
        let (family, kind) = typed.last().expect("a sample before any TYPE");
        let ok = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| name == format!("{family}{s}")),
            "counter" => name == family && name.ends_with("_total"),
            _ => name == family,
        };
        assert!(
            ok,
            "{line} is not of the family typed before it ({family} {kind})"
        );
    }
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("prometheus-parse reads it")
}

fn has_labels(sample: &prometheus_parse::Sample, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// A counter's or gauge's value for `labels` (which need not be all of them); None when no
/// sample has them.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let values: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && has_labels(s, labels))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{name} is a histogram"),
        })
        .collect();
    assert!(values.len() <= 1, "{name} {labels:?} matches {values:?}");
    values.first().copied()
}

/// A histogram's buckets for `labels`.
fn buckets(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<HistogramCount> {
    scrape
        .samples
        .iter()
        .find_map(|s| match &s.value {
            Value::Histogram(b) if s.metric == name && has_labels(s, labels) => Some(b.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no histogram {name} {labels:?}"))
}

/// The count of the bucket whose upper edge is `le`.
fn bucket(b: &[HistogramCount], le: f64) -> f64 {
    b.iter()
        .find(|c| c.less_than == le)
        .unwrap_or_else(|| panic!("no edge {le} in {b:?}"))
        .count
}

async fn scrape(app: &TestApp) -> Scrape {
    parse(&app.metrics().await)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn metrics_is_prometheus_text_with_every_desk_series_from_the_start() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.unwrap();
    let s = parse(&text);
    let filed = [
        ("priority", "P1"),
        ("category", "incident"),
        ("source", "command"),
    ];
    assert_eq!(
        value(&s, "platform_desk_tickets_filed_total", &filed),
        Some(0.0)
    );
    let breach = [("kind", "resolution"), ("priority", "P4")];
    assert_eq!(
        value(&s, "platform_desk_breaches_total", &breach),
        Some(0.0)
    );
    let open = [("priority", "P2"), ("status", "waiting")];
    assert_eq!(value(&s, "platform_desk_open_tickets", &open), Some(0.0));
    assert_eq!(value(&s, "platform_desk_outbox_pending", &[]), Some(0.0));
    assert_eq!(value(&s, "platform_desk_outbox_failed", &[]), Some(0.0));
    // The older names stay.
    assert_eq!(
        value(&s, "platform_desk_outbox_failed_rows", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "platform_desk_outbox_failed_total", &[]),
        Some(0.0)
    );
    let limited = [("method", "chat.postMessage"), ("outcome", "rate_limited")];
    assert_eq!(
        value(&s, "platform_desk_slack_api_calls_total", &limited),
        Some(0.0)
    );
    assert_eq!(
        value(&s, "platform_desk_scheduler_lag_seconds_count", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn the_sla_histograms_have_the_policys_targets_among_their_bucket_edges() {
    let app = spawn_app().await;
    let s = scrape(&app).await;
    // The test policy's (CONTRACT's) targets, in seconds.
    let targets = [
        ("P1", 15.0 * 60.0, 4.0 * 3600.0),
        ("P2", 3600.0, 86400.0),
        ("P3", 4.0 * 3600.0, 5.0 * 86400.0),
        ("P4", 86400.0, 10.0 * 86400.0),
    ];
    for (priority, first, resolution) in targets {
        for (name, target) in [
            ("platform_desk_first_response_seconds", first),
            ("platform_desk_resolution_seconds", resolution),
        ] {
            let b = buckets(&s, name, &[("priority", priority)]);
            assert!(
                b.iter().any(|c| c.less_than == target),
                "{name} {priority}: no edge at {target} in {b:?}"
            );
            assert!(b.iter().any(|c| c.less_than == f64::INFINITY));
        }
    }
}

#[tokio::test]
async fn filing_tickets_through_signed_requests_counts_each_with_its_labels() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let p1 = [
        ("priority", "P1"),
        ("category", "incident"),
        ("source", "command"),
    ];
    let p3 = [
        ("priority", "P3"),
        ("category", "general"),
        ("source", "command"),
    ];
    let message = [
        ("priority", "P3"),
        ("category", "general"),
        ("source", "message"),
    ];
    for text in [
        "request prod down: the API answers 500",
        "request sev1 on checkout",
        "request please add me to the staging group",
    ] {
        let reply = app.command_json(ALICE, "C1", text).await;
        assert!(reply.to_string().contains("PLAT-"), "{reply}");
    }
    let resp = app
        .event(
            &common::message(
                HELP,
                ALICE,
                "1700000700.000100",
                "Vault token renewal fails",
                None,
            ),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.scalar("select count(*) from tickets").await, 4);

    let after = scrape(&app).await;
    let moved = |labels: &[(&str, &str)]| {
        value(&after, "platform_desk_tickets_filed_total", labels).unwrap()
            - value(&before, "platform_desk_tickets_filed_total", labels).unwrap()
    };
    assert_eq!(moved(&p1), 2.0);
    assert_eq!(moved(&p3), 1.0);
    assert_eq!(moved(&message), 1.0);
    let total: f64 = after
        .samples
        .iter()
        .filter(|s| s.metric == "platform_desk_tickets_filed_total")
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(total, 4.0, "no other label set moved");
    let open = |p: &str| {
        value(
            &after,
            "platform_desk_open_tickets",
            &[("priority", p), ("status", "open")],
        )
    };
    assert_eq!(open("P1"), Some(2.0));
    assert_eq!(open("P3"), Some(2.0));
}

#[tokio::test]
async fn a_breach_in_simulated_time_and_the_answer_after_it_move_the_sla_series() {
    // A Saturday night: P1's clocks run 24/7.
    let clock = ManualClock::new(at("2026-11-28T03:00:00Z"));
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        ..Options::default()
    })
    .await;
    app.command_json(ALICE, "C1", "request prod down: the API answers 500")
        .await;
    let breached = [("kind", "first_response"), ("priority", "P1")];
    let open = [("priority", "P1"), ("status", "open")];
    let acknowledged = [("priority", "P1"), ("status", "acknowledged")];
    let s = scrape(&app).await;
    assert_eq!(
        value(&s, "platform_desk_breaches_total", &breached),
        Some(0.0)
    );
    assert_eq!(value(&s, "platform_desk_open_tickets", &open), Some(1.0));

    // 03:16: the warning (due 03:11:15) and the breach (due 03:15) fire, 285 s and 60 s
    // late.
    clock.advance(Duration::minutes(16));
    app.step().await;
    let s = scrape(&app).await;
    assert_eq!(
        value(&s, "platform_desk_breaches_total", &breached),
        Some(1.0)
    );
    let resolution = [("kind", "resolution"), ("priority", "P1")];
    assert_eq!(
        value(&s, "platform_desk_breaches_total", &resolution),
        Some(0.0)
    );
    assert_eq!(value(&s, "platform_desk_open_tickets", &open), Some(1.0));
    assert_eq!(
        value(&s, "platform_desk_scheduler_lag_seconds_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "platform_desk_scheduler_lag_seconds_sum", &[]),
        Some(345.0)
    );
    let lag = buckets(&s, "platform_desk_scheduler_lag_seconds", &[]);
    assert_eq!(bucket(&lag, 15.0), 0.0);
    assert_eq!(bucket(&lag, 60.0), 1.0);
    assert_eq!(bucket(&lag, 300.0), 2.0);
    // Stepping again fires nothing more: the breach is counted once.
    app.step().await;
    let s = scrape(&app).await;
    assert_eq!(
        value(&s, "platform_desk_breaches_total", &breached),
        Some(1.0)
    );

    // 03:20: acknowledged, 20 minutes after filing: past the 15-minute target.
    clock.advance(Duration::minutes(4));
    app.drain().await;
    let resp = app.click(TEAM, INTAKE, "ticket_ack", "b", json!("1")).await;
    assert_eq!(resp.status(), 200);
    let s = scrape(&app).await;
    // The pair that went to zero reads 0, not its last count.
    assert_eq!(value(&s, "platform_desk_open_tickets", &open), Some(0.0));
    assert_eq!(
        value(&s, "platform_desk_open_tickets", &acknowledged),
        Some(1.0)
    );
    let p1 = [("priority", "P1")];
    assert_eq!(
        value(&s, "platform_desk_first_response_seconds_count", &p1),
        Some(1.0)
    );
    assert_eq!(
        value(&s, "platform_desk_first_response_seconds_sum", &p1),
        Some(1200.0)
    );
    let first = buckets(&s, "platform_desk_first_response_seconds", &p1);
    assert_eq!(bucket(&first, 900.0), 0.0, "missed the 15-minute target");
    assert_eq!(bucket(&first, 1800.0), 1.0);
}

#[tokio::test]
async fn a_429_from_slack_counts_as_rate_limited_and_the_retry_as_ok() {
    let app = spawn_app().await;
    app.fake.fail_next(
        "chat.postMessage",
        [Failure::RateLimited {
            retry_after_secs: 1,
        }],
    );
    app.command_json(ALICE, "C1", "request please add me to the staging group")
        .await;
    app.settled().await;
    let s = scrape(&app).await;
    let calls = |outcome: &str| {
        value(
            &s,
            "platform_desk_slack_api_calls_total",
            &[("method", "chat.postMessage"), ("outcome", outcome)],
        )
        .unwrap()
    };
    let limited_by_fake = app
        .fake
        .calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.outcome == "ratelimited")
        .count();
    assert_eq!(limited_by_fake, 1);
    assert_eq!(calls("rate_limited"), 1.0);
    let ok = app.fake.successful_calls_to("chat.postMessage").len();
    assert!(ok >= 1);
    assert_eq!(
        calls("ok"),
        ok as f64,
        "every post the fake took is counted"
    );
    assert_eq!(calls("error") + calls("transport"), 0.0);
    // Every call the fake saw was counted, whatever its method.
    let seen: HashSet<String> = app.fake.calls().into_iter().map(|c| c.method).collect();
    for method in seen.iter().filter(|m| *m != "response_url") {
        let counted: f64 = s
            .samples
            .iter()
            .filter(|x| {
                x.metric == "platform_desk_slack_api_calls_total"
                    && x.labels.get("method") == Some(method.as_str())
            })
            .map(|x| match x.value {
                Value::Counter(v) => v,
                _ => 0.0,
            })
            .sum();
        let made = app.fake.calls_to(method).len() as f64;
        assert_eq!(counted, made, "{method}");
    }
}

#[tokio::test]
async fn a_slack_error_counts_as_error_and_a_held_message_as_pending_until_it_is_sent() {
    let app = spawn_app().await;
    // The card's post: a server error, then an answer Slack holds for two seconds.
    app.fake.fail_next(
        "chat.postMessage",
        [
            Failure::HttpStatus(500),
            Failure::Delay(std::time::Duration::from_secs(2)),
        ],
    );
    app.command_json(ALICE, "C1", "request please add me to the staging group")
        .await;
    let errors = |s: &Scrape| {
        value(
            s,
            "platform_desk_slack_api_calls_total",
            &[("method", "chat.postMessage"), ("outcome", "error")],
        )
        .unwrap()
    };
    let mut held = None;
    for _ in 0..400 {
        let s = scrape(&app).await;
        if errors(&s) == 1.0 && value(&s, "platform_desk_outbox_pending", &[]) >= Some(1.0) {
            held = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        held.is_some(),
        "never saw the error counted and the post pending"
    );
    app.settled().await;
    let s = scrape(&app).await;
    assert_eq!(value(&s, "platform_desk_outbox_pending", &[]), Some(0.0));
    assert_eq!(value(&s, "platform_desk_outbox_failed", &[]), Some(0.0));
    assert_eq!(errors(&s), 1.0, "counted once");
}
