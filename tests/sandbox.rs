//! The sandbox end to end, through its page API only: a command files a ticket whose card
//! shows in the intake channel, the request modal round-trips its errors and files, a
//! mention is answered in its thread, messages, reactions and buttons reach the bot, the
//! demo catalog's offer deflects a request, and the page is self-contained.

mod sandbox_page;

use sandbox_page::Page;
use serde_json::{json, Value};
use std::time::Duration;

const CAROL: &str = "U02CAROL";
const PAYMENTS: &str = "C02PAYMENTS";
const INTAKE: &str = "C01INTAKE";

impl Page {
    async fn command(&self, user: &str, channel: &str, text: &str) -> Value {
        let body = json!({ "user": user, "channel": channel, "text": text });
        let (status, answer) = self.post("/api/command", body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// Polls the state until `pick` finds something in it (10 s at most).
    async fn wait_for<T>(&self, what: &str, pick: impl Fn(&Value) -> Option<T>) -> T {
        for _ in 0..200 {
            if let Some(found) = pick(&self.state().await) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never saw {what} in {}", self.state().await);
    }

    async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }
}

fn messages_in<'a>(state: &'a Value, channel: &str) -> Vec<&'a Value> {
    state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["channel"] == channel)
        .collect()
}

/// The modal open for `user`, if any.
fn modal_of(state: &Value, user: &str) -> Option<Value> {
    state["modals"]
        .as_array()?
        .iter()
        .find(|m| m["user"] == user)
        .cloned()
}

fn card_of(state: &Value, key: &str) -> Option<Value> {
    messages_in(state, INTAKE)
        .into_iter()
        .find(|m| m["text"].as_str().is_some_and(|t| t.contains(key)))
        .cloned()
}

#[tokio::test]
async fn a_command_from_the_page_files_a_ticket_whose_card_shows_in_the_intake_channel() {
    let page = Page::open(None).await;
    let sent = page
        .command(
            CAROL,
            PAYMENTS,
            "/platform request The staging deploy is stuck",
        )
        .await;
    assert_eq!(sent["answer"]["status"], 200);
    let reply = sent["answer"]["body"]["text"].as_str().unwrap();
    assert!(reply.contains("PLAT-1"), "{reply}");

    let card = page
        .wait_for("the intake card", |s| card_of(s, "PLAT-1"))
        .await;
    assert_eq!(card["ephemeral"], false);
    assert!(card["blocks"]
        .to_string()
        .contains("The staging deploy is stuck"));

    // The answer is an ephemeral message in the channel the command was typed in.
    let state = page.state().await;
    let answers = messages_in(&state, PAYMENTS);
    assert_eq!(answers.len(), 1, "{state}");
    assert_eq!(answers[0]["visible_to"], CAROL);
    assert_eq!(answers[0]["ephemeral"], true);
    page.shutdown().await;
}

#[tokio::test]
async fn the_demo_catalog_offers_an_answer_and_this_solved_it_files_nothing() {
    let page = Page::open(None).await;
    let sent = page
        .command(
            CAROL,
            PAYMENTS,
            "/platform request my vault token expired, how do I renew it?",
        )
        .await;
    let body = &sent["answer"]["body"];
    let offer = body["blocks"].to_string();
    assert!(offer.contains("Rotate a Vault token"), "{body}");
    assert!(!offer.contains("PLAT-1"), "held, not filed: {body}");
    // The offer's own "This solved it" button, clicked on the message the page shows Carol.
    let solved = body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| {
            let button = &b["accessory"];
            (button["action_id"] == "self_service_solved").then(|| button.clone())
        })
        .expect("a This solved it button");
    let shown = page
        .wait_for("the offer on the page", |s| {
            messages_in(s, PAYMENTS)
                .into_iter()
                .find(|m| m["blocks"].to_string().contains("Rotate a Vault token"))
                .cloned()
        })
        .await;
    assert_eq!(shown["visible_to"], CAROL);
    let click = json!({ "user": CAROL, "channel": PAYMENTS, "message_ts": shown["ts"],
        "block_id": "self_service_entry_1", "action_id": "self_service_solved",
        "value": solved["value"] });
    let (status, answer) = page.post("/api/action", click).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["answer"]["status"], 200, "{answer}");

    // Deflected: no ticket, now or later; a request that matches nothing still files.
    let sent = page
        .command(
            CAROL,
            PAYMENTS,
            "/platform request The staging deploy is stuck",
        )
        .await;
    let reply = sent["answer"]["body"]["text"].as_str().unwrap_or_default();
    assert!(
        reply.contains("PLAT-1"),
        "the first ticket is this one: {reply}"
    );
    page.wait_for("the intake card", |s| card_of(s, "PLAT-1"))
        .await;
    page.shutdown().await;
}

#[tokio::test]
async fn the_request_modal_opens_shows_its_errors_and_files_the_ticket() {
    let page = Page::open(None).await;
    let sent = page.command(CAROL, PAYMENTS, "/platform request").await;
    assert_eq!(
        sent["answer"]["body"],
        Value::Null,
        "the form opens silently"
    );
    let modal = page.wait_for("Carol's modal", |s| modal_of(s, CAROL)).await;
    let view_id = modal["view_id"].as_str().unwrap().to_string();
    assert_eq!(modal["view"]["callback_id"], "platform_request");

    let empty = json!({ "user": CAROL, "view_id": view_id,
        "values": { "title_block": { "title_input": "" } } });
    let (status, answer) = page.post("/api/view_submission", empty).await;
    assert_eq!(status, 200);
    assert_eq!(answer["closed"], false);
    let body = &answer["answer"]["body"];
    assert_eq!(body["response_action"], "errors");
    assert!(body["errors"]["title_block"].is_string(), "{body}");
    assert_eq!(page.state().await["modals"].as_array().unwrap().len(), 1);

    let filled = json!({ "user": CAROL, "view_id": view_id, "values": {
        "title_block": { "title_input": "A namespace for payments-v2" },
        "urgency_block": { "urgency_select": "high" } } });
    let (status, answer) = page.post("/api/view_submission", filled).await;
    assert_eq!(status, 200);
    assert_eq!(answer["closed"], true, "{answer}");
    assert_eq!(answer["answer"]["body"], Value::Null);

    let card = page
        .wait_for("the intake card", |s| card_of(s, "PLAT-1"))
        .await;
    assert!(card["blocks"].to_string().contains("payments-v2"));
    let dm = page
        .wait_for("Carol's DM", |s| {
            messages_in(s, "D02CAROL").first().map(|m| (*m).clone())
        })
        .await;
    assert!(dm["text"].as_str().unwrap().contains("PLAT-1"));
    assert!(page.state().await["modals"].as_array().unwrap().is_empty());

    // A closed modal cannot be submitted again.
    let again = json!({ "user": CAROL, "view_id": view_id, "values": {} });
    assert_eq!(page.post("/api/view_submission", again).await.0, 404);
    page.shutdown().await;
}

#[tokio::test]
async fn a_channel_ping_in_a_request_stays_escaped_in_what_the_page_is_given() {
    let page = Page::open(None).await;
    page.command(CAROL, PAYMENTS, "request deploys fail <!channel> & more")
        .await;
    let card = page
        .wait_for("the intake card", |s| card_of(s, "PLAT-1"))
        .await;
    let raw = card.to_string();
    assert!(raw.contains("&lt;!channel&gt; &amp; more"), "{raw}");
    assert!(!raw.contains("<!channel>"), "{raw}");
    let state = page.state().await;
    let answer = messages_in(&state, PAYMENTS)[0]["text"].as_str().unwrap();
    assert!(answer.contains("&lt;!channel&gt;"), "{answer}");
    page.shutdown().await;
}

#[tokio::test]
async fn a_mention_shows_the_persons_message_and_the_bots_answer_in_its_thread() {
    let page = Page::open(None).await;
    let body = json!({ "user": "U02DAVE", "channel": "C01HELP",
        "text": "@platform-desk the staging deploy is stuck" });
    let (status, sent) = page.post("/api/mention", body).await;
    assert_eq!(status, 200);
    assert_eq!(sent["answer"]["status"], 200);
    let ts = sent["ts"].as_str().unwrap().to_string();

    let reply = page
        .wait_for("the thread reply", |s| {
            messages_in(s, "C01HELP")
                .into_iter()
                .find(|m| m["thread_ts"] == ts.as_str())
                .cloned()
        })
        .await;
    assert!(reply["text"].as_str().unwrap().contains("PLAT-1"));
    let state = page.state().await;
    let asked = messages_in(&state, "C01HELP")[0];
    assert_eq!(asked["author"], "U02DAVE");
    assert_eq!(asked["text"], "<@U07BOTPLT9> the staging deploy is stuck");
    page.wait_for("the intake card", |s| card_of(s, "PLAT-1"))
        .await;
    page.shutdown().await;
}

#[tokio::test]
async fn a_posted_message_and_a_ticket_reaction_reach_the_bot_which_files_the_message() {
    let page = Page::open(None).await;
    let body = json!({ "user": "U02DAVE", "channel": PAYMENTS, "text": "is kafka slow for anyone? & <b>" });
    let (status, sent) = page.post("/api/message", body).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["answer"]["status"], 200);
    assert_eq!(
        sent["mention_answer"],
        Value::Null,
        "no mention, no app_mention"
    );
    let ts = sent["ts"].as_str().unwrap();
    let state = page.state().await;
    assert_eq!(
        messages_in(&state, PAYMENTS)[0]["text"],
        "is kafka slow for anyone? &amp; &lt;b&gt;",
        "stored as Slack stores typed text"
    );

    let react = json!({ "user": CAROL, "channel": PAYMENTS, "ts": ts, "reaction": "ticket" });
    let (status, sent) = page.post("/api/reaction", react.clone()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["answer"]["status"], 200);
    assert_eq!(page.post("/api/reaction", react).await.0, 409);
    let state = page.state().await;
    let reactions = &messages_in(&state, PAYMENTS)[0]["reactions"];
    assert_eq!(reactions[0]["name"], "ticket");
    assert!(reactions[0]["users"]
        .as_array()
        .unwrap()
        .contains(&json!(CAROL)));
    // The bot read the reacted message back and filed it: its card shows the person's text.
    let card = page
        .wait_for("the reacted message's card", |s| card_of(s, "PLAT-1"))
        .await;
    assert!(
        card["blocks"]
            .to_string()
            .contains("is kafka slow for anyone?"),
        "{card}"
    );
    page.shutdown().await;
}

#[tokio::test]
async fn the_message_shortcut_opens_a_prefilled_form_whose_submission_files_the_message() {
    let page = Page::open(None).await;
    let body = json!({ "user": "U02DAVE", "channel": PAYMENTS, "text": "our canary deploys time out & roll back" });
    let (_, sent) = page.post("/api/message", body).await;
    let ts = sent["ts"].as_str().unwrap().to_string();

    let used = json!({ "user": CAROL, "channel": PAYMENTS, "ts": ts });
    let (status, answer) = page.post("/api/shortcut", used).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["answer"]["status"], 200,
        "signed, parsed and handled"
    );
    let modal = page
        .wait_for("the prefilled form", |s| modal_of(s, CAROL))
        .await;
    assert!(
        modal["view"]
            .to_string()
            .contains("canary deploys time out"),
        "prefilled from the message: {modal}"
    );
    let view_id = modal["view_id"].as_str().unwrap();
    let submit = json!({ "user": CAROL, "view_id": view_id, "values": {} });
    let (status, answer) = page.post("/api/view_submission", submit).await;
    assert_eq!(status, 200);
    assert_eq!(answer["closed"], true, "{answer}");
    let card = page
        .wait_for("the shortcut's card", |s| card_of(s, "PLAT-1"))
        .await;
    assert!(
        card["blocks"].to_string().contains("canary deploys"),
        "{card}"
    );
    assert!(
        card["text"].as_str().unwrap().contains("<@U02DAVE>"),
        "filed for the message's author, not the one who used the shortcut: {card}"
    );

    let missing = json!({ "user": CAROL, "channel": PAYMENTS, "ts": "1.000001" });
    assert_eq!(page.post("/api/shortcut", missing).await.0, 404);
    page.shutdown().await;
}

#[tokio::test]
async fn a_click_on_any_button_reaches_the_bot_signed_and_well_formed() {
    let page = Page::open(None).await;
    // A message with a button, posted as the bot would post it.
    let blocks = json!([{ "type": "actions", "block_id": "triage", "elements": [
        { "type": "button", "action_id": "claim", "value": "PLAT-9",
          "text": { "type": "plain_text", "text": "Claim" } } ] }]);
    let posted: Value = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", page.sandbox.fake.api_url()))
        .bearer_auth("xoxb-sandbox")
        .json(&json!({ "channel": INTAKE, "text": "a card", "blocks": blocks }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ts = posted["ts"].as_str().unwrap();

    let click = json!({ "user": "U01ALICE", "channel": INTAKE, "message_ts": ts,
        "block_id": "triage", "action_id": "claim", "value": "PLAT-9" });
    let (status, answer) = page.post("/api/action", click).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["answer"]["status"], 200,
        "signed, parsed and handled"
    );

    let nowhere = json!({ "user": "U01ALICE", "channel": INTAKE, "message_ts": "1.000000",
        "block_id": "triage", "action_id": "claim" });
    assert_eq!(page.post("/api/action", nowhere).await.0, 404);
    let forged = json!({ "user": "<!here>", "channel": INTAKE, "text": "x" });
    assert_eq!(page.post("/api/command", forged).await.0, 400);
    page.shutdown().await;
}

#[tokio::test]
async fn the_page_is_served_whole_with_nothing_from_other_hosts() {
    let page = Page::open(None).await;
    let resp = page
        .http
        .get(format!("{}/", page.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = resp.text().await.unwrap();
    assert!(html.contains("<script>") && html.contains("/api/state"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script src") && !html.contains("<link"));
    page.shutdown().await;
}

/// `platform-desk sandbox` as a person runs it, with `extra` arguments and `listen` as
/// `LISTEN_ADDR`: returns the URL it told them to open, and the process.
struct SandboxProcess {
    child: std::process::Child,
    url: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SandboxProcess {
    fn start(listen: &str, extra: &[&str]) -> SandboxProcess {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_platform-desk"))
            .arg("sandbox")
            .args(extra)
            .env_clear()
            .env("LISTEN_ADDR", listen)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("sandbox.db").display()),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        // The first line comes once the page listens; read it off the test's thread so a
        // sandbox that never prints fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {} // keep the pipe drained
        });
        let first = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                panic!("the sandbox printed no line: {other:?}");
            }
        };
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        SandboxProcess {
            child,
            url,
            log,
            _dir: dir,
        }
    }

    /// Stops it as Ctrl-C would; returns everything it logged.
    fn stop(mut self) -> String {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "Ctrl-C is a clean exit: {status:?}");
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `host:port` written after `http://` or as a bare `127.0.0.1:port` in `text`.
fn addresses(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"(?:https?://)?(127\.0\.0\.1|\[::1\]|localhost):(\d+)").unwrap();
    re.captures_iter(text)
        .map(|c| format!("{}:{}", &c[1], &c[2]))
        .collect()
}

#[tokio::test]
async fn the_binary_serves_its_page_on_listen_addr_and_prints_only_that_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = SandboxProcess::start(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(sandbox.url, format!("http://127.0.0.1:{port}/"));
    let resp = reqwest::get(&sandbox.url).await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<title>platform-desk sandbox</title>"),
        "{html}"
    );
    // It starts with demo history and the demo roadmap, so its reports mean something.
    let pool = platform_desk::store::connect(&format!(
        "sqlite://{}",
        sandbox._dir.path().join("sandbox.db").display()
    ))
    .await
    .unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool);
    assert_eq!(
        count("select count(*) from tickets").await.unwrap(),
        platform_desk::sandbox::DEMO_HISTORY.tickets as i64,
        "the demo history"
    );
    assert!(count("select count(*) from roadmap_links").await.unwrap() > 0);
    pool.close().await;
    let log = sandbox.stop();
    // The bot's and the fake Slack's own ports are internal: a person is shown the page's.
    let page = format!("127.0.0.1:{port}");
    for address in addresses(&log) {
        assert_eq!(address, page, "an internal address was printed:\n{log}");
    }
}

#[tokio::test]
async fn addr_on_the_command_line_wins_over_listen_addr_and_port_0_prints_the_real_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    // LISTEN_ADDR names a port in use: starting there would fail, so --addr was used.
    let sandbox = SandboxProcess::start(&busy, &["--addr", "127.0.0.1:0"]);
    let port: u16 = sandbox
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("a real port in {}", sandbox.url));
    assert_ne!(port, 0);
    let resp = reqwest::get(&sandbox.url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("platform-desk sandbox"));
    sandbox.stop();
}

#[test]
fn a_page_address_already_in_use_is_a_one_line_user_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .arg("sandbox")
        .env_clear()
        .env("LISTEN_ADDR", &busy)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("s.db").display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&busy) && stderr.contains("LISTEN_ADDR"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
