//! Test harness: the real app on a random port with a temporary SQLite file, a fake Slack
//! Web API on 127.0.0.1, and requests signed exactly as Slack signs them.
#![allow(dead_code)]

use platform_desk::app::{self, Running};
use platform_desk::clock::{Clock, SystemClock};
use platform_desk::sandbox::fake_slack::FakeSlack;
use platform_desk::settings::{Env, Policy, Settings};
use platform_desk::slack::signature;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const SECRET: &str = "test-signing-secret-8f742231b10e";
pub const BOT_TOKEN: &str = "xoxb-test-bot-token";
pub const APP_TOKEN: &str = "xapp-test-app-token";
pub const INTAKE: &str = "C01INTAKE";
pub const ALICE: &str = "U05QRST6UV";

/// The CONTRACT example policy, with delivery fast enough for tests.
pub fn test_policy_text() -> String {
    let contract = include_str!("../fixtures/contract_policy.toml");
    format!(
        "{contract}\n[delivery]\nmax_attempts = 5\nretry_base = \"20ms\"\nretry_max = \"200ms\"\nchannel_interval = \"1ms\"\nchannel_burst = 50\n"
    )
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub base: String,
    pub fake: FakeSlack,
    pub db_path: PathBuf,
    pub running: Option<Running>,
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub dir: Arc<tempfile::TempDir>,
    pub secret: String,
    vars: HashMap<String, String>,
}

pub struct Options {
    pub policy: String,
    pub socket_mode: bool,
    pub clock: Arc<dyn Clock>,
    pub secret: String,
    /// More environment variables (e.g. PagerDuty's).
    pub env: Vec<(String, String)>,
    /// A fake Slack started beforehand (to know its address up front).
    pub fake: Option<FakeSlack>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: test_policy_text(),
            socket_mode: false,
            clock: Arc::new(SystemClock),
            secret: SECRET.into(),
            env: Vec::new(),
            fake: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(mut opts: Options) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        platform_desk::telemetry::init(
            platform_desk::settings::LogFormat::Pretty,
            "platform_desk=debug",
        );
    }
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let fake = match opts.fake.take() {
        Some(fake) => fake,
        None => FakeSlack::start().await,
    };
    start(opts, dir, fake).await
}

async fn start(opts: Options, dir: Arc<tempfile::TempDir>, fake: FakeSlack) -> TestApp {
    let db_path = dir.path().join("desk.db");
    let mut vars = HashMap::new();
    vars.insert("SLACK_BOT_TOKEN".into(), BOT_TOKEN.into());
    vars.insert("SLACK_SIGNING_SECRET".into(), opts.secret.clone());
    vars.insert("SLACK_API_URL".into(), fake.api_url());
    vars.insert(
        "DATABASE_URL".into(),
        format!("sqlite://{}", db_path.display()),
    );
    vars.insert("LISTEN_ADDR".into(), "127.0.0.1:0".into());
    if opts.socket_mode {
        vars.insert("SLACK_APP_TOKEN".into(), APP_TOKEN.into());
    }
    for (k, v) in &opts.env {
        vars.insert(k.clone(), v.clone());
    }
    let env = Env::from_lookup(|k| vars.get(k).cloned()).expect("test env is valid");
    let policy = Policy::parse(&opts.policy).expect("test policy is valid");
    let running = app::start(
        Settings { env, policy },
        opts.clock.clone(),
        Default::default(),
    )
    .await
    .expect("app starts");
    let addr = running.addr;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        fake,
        db_path,
        running: Some(running),
        http: reqwest::Client::new(),
        clock: opts.clock,
        dir,
        secret: opts.secret,
        vars,
    }
}

impl TestApp {
    /// Runs the SLA scheduler, then the scheduled jobs, once at the app's current (manual)
    /// time; returns how many SLA timers fired.
    pub async fn step(&self) -> usize {
        let running = self.running.as_ref().expect("running");
        let fired = platform_desk::escalation::scheduler::step(&running.app)
            .await
            .expect("scheduler step");
        let mut passes = running.jobs.passes();
        let before = *passes.borrow_and_update();
        platform_desk::jobs::runner::step(&running.app, &running.jobs)
            .await
            .expect("jobs step");
        if !running.jobs.is_empty() {
            // The app's own runner may have claimed a due run a moment before this step
            // did. Wake it and wait for one more pass than ours: by then any pass that was
            // under way when this step began has finished, its messages queued.
            running.app.jobs_wake.notify_one();
            let reached = tokio::time::timeout(
                Duration::from_secs(10),
                passes.wait_for(|p| *p >= before + 2),
            )
            .await;
            assert!(reached.is_ok(), "the app's job runner made no pass in 10 s");
        }
        fired
    }

    /// Stops the app gracefully and starts it again on the same database and fake Slack.
    pub async fn restart(mut self, opts: Options) -> TestApp {
        self.stop().await;
        start(opts, self.dir.clone(), self.fake.clone()).await
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Signs `body` at the app's current time, as Slack does.
    pub fn sign(&self, body: &[u8]) -> (String, String) {
        let ts = self.clock.now().timestamp().to_string();
        let sig = signature::sign(&self.secret, &ts, body);
        (ts, sig)
    }

    /// POSTs a correctly signed body.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let (ts, sig) = self.sign(&body);
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", sig);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.body(body)
            .send()
            .await
            .expect("request reaches the app")
    }

    /// `/platform <text>` from `user` in `channel`, form-encoded and signed.
    pub async fn command(&self, user: &str, channel: &str, text: &str) -> reqwest::Response {
        let body = serde_urlencoded::to_string([
            ("token", "deprecated"),
            ("team_id", "T0A1B2C3D4"),
            ("team_domain", "acme-eng"),
            ("channel_id", channel),
            ("channel_name", "platform-eng"),
            ("user_id", user),
            ("user_name", "someone"),
            ("command", "/platform"),
            ("text", text),
            ("api_app_id", "A07PLTFM2QX"),
            ("is_enterprise_install", "false"),
            ("response_url", &self.fake.response_url_for("cmd")),
            ("trigger_id", "6123456789012.7012345678901.0a1b2c3d4e5f"),
        ])
        .unwrap();
        self.post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body.into_bytes(),
            &[],
        )
        .await
    }

    /// The JSON answer of a command (panics if it is not 200 JSON).
    pub async fn command_json(&self, user: &str, channel: &str, text: &str) -> Value {
        let resp = self.command(user, channel, text).await;
        assert_eq!(resp.status(), 200);
        // Slack reads a command's answer as a message only when it says it is JSON.
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        resp.json().await.expect("a JSON answer")
    }

    /// An Events API delivery.
    pub async fn event(&self, body: &Value, retry_num: Option<u32>) -> reqwest::Response {
        let retry = retry_num.map(|n| n.to_string());
        let mut extra = vec![];
        if let Some(n) = &retry {
            extra.push(("X-Slack-Retry-Num", n.as_str()));
            extra.push(("X-Slack-Retry-Reason", "http_timeout"));
        }
        self.post_signed(
            "/slack/events",
            "application/json",
            body.to_string().into_bytes(),
            &extra,
        )
        .await
    }

    /// An interactivity payload (`payload=<json>`).
    pub async fn interaction(&self, payload: &Value) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post_signed(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            body.into_bytes(),
            &[],
        )
        .await
    }

    /// One number from the database (opened separately, like an operator would).
    pub async fn scalar(&self, sql: &str) -> i64 {
        let pool = platform_desk::store::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }

    /// The timers with `status` as (kind, due_at), earliest first, each plan's chain
    /// (`timers.later`) expanded: what the scheduler will fire, whatever the row layout.
    pub async fn timers(&self, status: &str) -> Vec<(String, String)> {
        use platform_desk::sla::timers::parse_later;
        let pool = platform_desk::store::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("select kind, due_at, later from timers where status = ?")
                .bind(status)
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        let mut out = Vec::new();
        for (kind, due_at, later) in rows {
            out.push((kind, due_at));
            for p in parse_later(later.as_deref().unwrap_or("")) {
                out.push((
                    p.kind.as_str().to_string(),
                    platform_desk::clock::db_time(p.due_at),
                ));
            }
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    /// Text of one column of the database.
    pub async fn text(&self, sql: &str) -> Option<String> {
        let pool = platform_desk::store::connect(&format!("sqlite://{}", self.db_path.display()))
            .await
            .unwrap();
        let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_optional(&pool)
            .await
            .unwrap()
            .flatten();
        pool.close().await;
        v
    }

    /// Posts to the intake channel seen by the fake, waiting up to 10 s for `n`.
    pub async fn intake_cards(&self, n: usize) -> Vec<Value> {
        wait_until(Duration::from_secs(10), || {
            let cards = self.cards();
            (cards.len() >= n).then_some(cards)
        })
        .await
        .unwrap_or_else(|| self.cards())
    }

    pub fn cards(&self) -> Vec<Value> {
        self.fake
            .successful_calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.body["channel"] == INTAKE)
            .map(|c| c.body)
            .collect()
    }
}

/// Polls `f` (cheaply, every 10 ms) until it gives a value or `timeout` passes.
pub async fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A fixture (copied from ../shared/slack/fixtures).
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("fixture is JSON")
}

/// Unique event ids for built events.
static EVENT_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn next_event_id() -> String {
    format!(
        "EvT{:08}",
        EVENT_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// An `event_callback` wrapping `event`, with a fresh event id.
pub fn envelope(event: Value) -> Value {
    serde_json::json!({
        "token": "deprecated", "team_id": "T0A1B2C3D4", "api_app_id": "A07PLTFM2QX",
        "type": "event_callback", "event_id": next_event_id(), "event_time": 1700000000,
        "event": event,
    })
}

/// A person's message in `channel` (a thread reply when `thread_ts` is given).
pub fn message(channel: &str, user: &str, ts: &str, text: &str, thread_ts: Option<&str>) -> Value {
    let mut event = serde_json::json!({
        "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
        "event_ts": ts, "channel_type": "channel",
    });
    if let Some(t) = thread_ts {
        event["thread_ts"] = serde_json::json!(t);
    }
    envelope(event)
}

impl TestApp {
    /// A click on a message control: a `block_actions` payload.
    pub async fn click(
        &self,
        user: &str,
        channel: &str,
        action_id: &str,
        block_id: &str,
        value: Value,
    ) -> reqwest::Response {
        let mut action = serde_json::json!({ "action_id": action_id, "block_id": block_id, "action_ts": "1700000070.1" });
        match action_id {
            "ticket_assign" => {
                action["type"] = "users_select".into();
                action["selected_user"] = value;
            }
            "ticket_priority" => {
                action["type"] = "static_select".into();
                action["selected_option"] = serde_json::json!({ "value": value, "text": { "type": "plain_text", "text": "p" } })
            }
            _ => {
                action["type"] = "button".into();
                action["value"] = value;
            }
        }
        let payload = serde_json::json!({
            "type": "block_actions", "user": { "id": user, "name": "someone" }, "api_app_id": "A07PLTFM2QX",
            "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
            "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
            "container": { "type": "message", "message_ts": "1700000050.000300", "channel_id": channel },
            "channel": { "id": channel }, "actions": [action],
        });
        self.interaction(&payload).await
    }

    /// The latest card body for ticket `key` (posted or updated).
    pub fn latest_card(&self, key: &str) -> Option<Value> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.is_ok() && (c.method == "chat.postMessage" || c.method == "chat.update"))
            .filter(|c| {
                c.body["channel"] == INTAKE
                    && c.body["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with(&format!("{key} ")))
            })
            .map(|c| c.body)
            .next_back()
    }

    /// The app's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await
    }

    /// The body of a GET.
    pub async fn get(&self, path: &str) -> String {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET reaches the app");
        resp.text().await.expect("a text body")
    }

    /// Waits until every outbox row written so far is recorded (sent or given up), and fails
    /// the test if that takes over 20 s. Rows are written in the transaction of the change
    /// that causes them, before its answer, and the sender never calls Slack again for a
    /// recorded row: once a test's requests are answered and this returns, what the fake
    /// has seen from them is final, and a check that something did NOT happen can be made.
    pub async fn settled(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self
            .scalar("select count(*) from outbox where status = 'pending'")
            .await
            > 0
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox still has pending rows after 20 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the outbox has nothing pending (or 10 s pass).
    pub async fn drain(&self) {
        for _ in 0..1000 {
            if self
                .scalar("select count(*) from outbox where status = 'pending'")
                .await
                == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
