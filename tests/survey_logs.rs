//! The logs of a pulse survey, at every level: a whole survey (asked, answered, changed,
//! commented, reminded, closed) logged at `trace` as JSON, and no log line names a
//! respondent (nor their DM) beside a score or a comment; in fact none names them at all.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::ManualClock;
use platform_desk::sandbox::fake_slack::FakeSlack;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where the subscriber writes: every line, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_log_line_at_any_level_names_a_respondent() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();

    let fake = FakeSlack::start().await;
    let people: Vec<String> = (0..6).map(|i| format!("ULOGGED{i:03}")).collect();
    for p in &people {
        fake.set_user(json!({ "id": p, "is_bot": false, "deleted": false, "tz": "Etc/UTC" }));
    }
    fake.set_members("C01ENG", people.clone());
    let t0: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
    let clock = ManualClock::new(t0);
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        fake: Some(fake),
        ..Options::default()
    })
    .await;
    app.command_json("U01ALICE", "C01ENG", "survey start").await;
    let asked = wait_until(std::time::Duration::from_secs(20), || {
        let n = app
            .fake
            .calls_to("chat.postMessage")
            .iter()
            .filter(|c| {
                c.body["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Pulse survey:"))
            })
            .count();
        (n == people.len()).then_some(())
    })
    .await;
    assert!(asked.is_some());
    app.settled().await;
    for (i, p) in people.iter().enumerate().take(5) {
        let dm = format!("D{}", &p[1..]);
        let ts = app
            .fake
            .messages()
            .into_iter()
            .find(|m| m.channel == dm)
            .unwrap()
            .ts;
        let score = (i % 5 + 1) as i64;
        let payload = json!({
            "type": "block_actions", "user": { "id": p, "name": "someone" }, "api_app_id": "A07PLTFM2QX",
            "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
            "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
            "container": { "type": "message", "message_ts": ts, "channel_id": dm },
            "channel": { "id": dm },
            "actions": [{ "type": "button", "action_id": format!("pulse_score_{score}"), "block_id": "pulse:1",
                          "value": format!("1:{score}"), "action_ts": "1700000070.1" }],
        });
        assert_eq!(app.interaction(&payload).await.status(), 200);
    }
    clock.set(t0 + Duration::hours(36));
    app.step().await;
    clock.set(t0 + Duration::hours(72));
    app.step().await;
    app.settled().await;
    assert_eq!(app.scalar("select responses from surveys").await, 5);

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("pulse survey closed"), "the capture works");
    assert!(logs.lines().count() > 50, "trace level is on");
    for p in &people[..5] {
        let dm = format!("D{}", &p[1..]);
        for line in logs.lines() {
            assert!(!line.contains(p.as_str()) && !line.contains(&dm), "{line}");
        }
    }
}
