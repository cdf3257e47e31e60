//! The HTTP edge as Slack drives it: signatures, url_verification, ssl_check, body limits,
//! and user input that must never produce a 500.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use platform_desk::clock::ManualClock;
use serde_json::{json, Value};
use std::sync::Arc;

async fn post_raw(
    app: &TestApp,
    path: &str,
    body: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut req = app
        .http
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    req.body(body.to_string()).send().await.unwrap()
}

#[tokio::test]
async fn every_badly_signed_request_gets_401_and_changes_nothing() {
    let app = spawn_app().await;
    let body = fixture("slash_command.form");
    let now = Utc::now().timestamp();
    let good_ts = now.to_string();
    let good_sig = platform_desk::slack::signature::sign(SECRET, &good_ts, body.as_bytes());
    let stale_ts = (now - 301).to_string();
    let stale_sig = platform_desk::slack::signature::sign(SECRET, &stale_ts, body.as_bytes());
    let wrong_sig =
        platform_desk::slack::signature::sign("another-secret", &good_ts, body.as_bytes());
    type Headers<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(&str, String, Headers)> = vec![
        (
            "wrong secret",
            body.clone(),
            vec![
                ("X-Slack-Request-Timestamp", good_ts.clone()),
                ("X-Slack-Signature", wrong_sig),
            ],
        ),
        (
            "stale timestamp",
            body.clone(),
            vec![
                ("X-Slack-Request-Timestamp", stale_ts),
                ("X-Slack-Signature", stale_sig),
            ],
        ),
        (
            "no signature header",
            body.clone(),
            vec![("X-Slack-Request-Timestamp", good_ts.clone())],
        ),
        (
            "no timestamp header",
            body.clone(),
            vec![("X-Slack-Signature", good_sig.clone())],
        ),
        (
            "tampered body",
            body.replace("alice", "mallory"),
            vec![
                ("X-Slack-Request-Timestamp", good_ts.clone()),
                ("X-Slack-Signature", good_sig.clone()),
            ],
        ),
        (
            "garbage signature",
            body.clone(),
            vec![
                ("X-Slack-Request-Timestamp", good_ts.clone()),
                ("X-Slack-Signature", "v1=zz".into()),
            ],
        ),
    ];
    for path in ["/slack/commands", "/slack/events", "/slack/interactivity"] {
        for (what, body, headers) in &cases {
            let resp = post_raw(&app, path, body, headers).await;
            assert_eq!(resp.status(), 401, "{what} on {path}");
        }
    }
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
    assert_eq!(app.scalar("select count(*) from outbox").await, 0);

    // The same body, correctly signed, with headers in another case, is accepted.
    let resp = post_raw(
        &app,
        "/slack/commands",
        &body,
        &[
            ("x-slack-request-timestamp", good_ts),
            ("X-SLACK-SIGNATURE", good_sig),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
}

#[tokio::test]
async fn slacks_documented_test_vector_is_accepted_at_its_own_time() {
    let vector = fixture_json("signature_vector.json");
    let ts: i64 = vector["timestamp"].as_str().unwrap().parse().unwrap();
    let clock = ManualClock::new(Utc.timestamp_opt(ts, 0).unwrap());
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        secret: vector["secret"].as_str().unwrap().into(),
        ..Options::default()
    })
    .await;
    let body = vector["body"].as_str().unwrap();
    let headers = [
        ("X-Slack-Request-Timestamp", ts.to_string()),
        (
            "X-Slack-Signature",
            vector["expected"].as_str().unwrap().to_string(),
        ),
    ];
    let resp = post_raw(&app, "/slack/commands", body, &headers).await;
    assert_eq!(resp.status(), 200, "the documented vector verifies");
    let answer: Value = resp.json().await.unwrap();
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("/platform request"),
        "empty text gets usage: {answer}"
    );

    // Six minutes later the very same request is a replay.
    clock.advance(chrono::Duration::minutes(6));
    assert_eq!(
        post_raw(&app, "/slack/commands", body, &headers)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn url_verification_is_answered_with_the_challenge() {
    let app = spawn_app().await;
    let challenge = fixture_json("url_verification.json");
    let resp = app.event(&challenge, None).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["challenge"], challenge["challenge"]);
}

#[tokio::test]
async fn ssl_check_is_answered_without_filing_anything() {
    let app = spawn_app().await;
    let resp = post_raw(&app, "/slack/commands", "ssl_check=1&token=xyz", &[]).await;
    assert_eq!(resp.status(), 200);
    let signed = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            b"ssl_check=1&token=xyz".to_vec(),
            &[],
        )
        .await;
    assert_eq!(signed.status(), 200);
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = spawn_app().await;
    let text = "x".repeat(300 * 1024);
    let resp = app
        .command(ALICE, "C04PLATENG", &format!("request {text}"))
        .await;
    assert_eq!(resp.status(), 413);
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
}

#[tokio::test]
async fn help_and_unknown_text_get_usage_never_a_500() {
    let app = spawn_app().await;
    for text in [
        "help",
        "",
        "frobnicate <!channel>",
        "surveys",
        "\u{0}\u{ffff}",
    ] {
        let answer = app.command_json(ALICE, "C04PLATENG", text).await;
        assert_eq!(answer["response_type"], "ephemeral", "{text:?}");
        let shown = answer["text"].as_str().unwrap();
        assert!(
            shown.contains("/platform request"),
            "usage for {text:?}: {shown}"
        );
        assert!(!shown.contains("<!channel>"), "echo is escaped: {shown}");
    }
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
}

#[tokio::test]
async fn malformed_signed_bodies_get_400_not_500() {
    let app = spawn_app().await;
    let cases: [(&str, &str, &[u8]); 4] = [
        (
            "/slack/commands",
            "application/x-www-form-urlencoded",
            b"text=no+user",
        ),
        ("/slack/events", "application/json", b"{not json"),
        (
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            b"payload=%7Bbroken",
        ),
        (
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            b"nothing=here",
        ),
    ];
    for (path, ct, body) in cases {
        let resp = app.post_signed(path, ct, body.to_vec(), &[]).await;
        assert_eq!(
            resp.status(),
            400,
            "{path} {:?}",
            String::from_utf8_lossy(body)
        );
    }
    // A command with a field given twice is malformed too, and files nothing.
    let twice = b"team_id=T1&channel_id=C1&user_id=U1&command=%2Fplatform&text=request+a&text=request+b&response_url=https%3A%2F%2Fhooks.slack.com%2Fx&trigger_id=1.2.3";
    let resp = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            twice.to_vec(),
            &[],
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
    // Unknown event types and interactions are acknowledged and ignored.
    let resp = app
        .event(
            &envelope(json!({"type": "team_join", "user": {"id": "U9"}})),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let resp = app
        .interaction(&json!({"type": "workflow_step_edit", "team": {"id": "T0A1B2C3D4"}}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.scalar("select count(*) from outbox").await, 0);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = app.metrics().await;
    assert!(metrics.contains("platform_desk_outbox_failed_total 0"));
    let scraped = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scraped.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8",
        "what Prometheus expects of its text format"
    );
}

/// The value of the sample `name` (with its labels, if any) in `/metrics` text.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in /metrics:\n{metrics}"))
}

#[tokio::test]
async fn metrics_time_every_slack_request_and_every_ticket_commit() {
    let app = spawn_app().await;
    let before = app.metrics().await;
    assert_eq!(
        sample(&before, "platform_desk_slack_request_seconds_count"),
        0.0
    );
    for n in 0..3 {
        let resp = app
            .command(ALICE, "C0HELP", &format!("request the runner {n} is stuck"))
            .await;
        assert_eq!(resp.status(), 200);
    }
    // A refused request is answered too, and timed as one.
    let refused = app
        .http
        .post(format!("{}/slack/commands", app.base))
        .body("command=%2Fplatform&text=help")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let after = app.metrics().await;
    assert_eq!(
        sample(&after, "platform_desk_slack_request_seconds_count"),
        4.0
    );
    assert_eq!(
        sample(
            &after,
            "platform_desk_slack_request_seconds_bucket{le=\"+Inf\"}"
        ),
        4.0
    );
    let commits = sample(&after, "platform_desk_ticket_commit_seconds_count");
    assert!((1.0..=3.0).contains(&commits), "{commits} commits");
    assert_eq!(
        commits,
        sample(&after, "platform_desk_ticket_commits_total")
    );
    assert!(sample(&after, "platform_desk_ticket_commit_seconds_max") > 0.0);
}
