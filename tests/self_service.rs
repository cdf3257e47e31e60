//! Self-service first, end to end: a request that matches the catalog is offered answers
//! before a ticket; `This solved it` files nothing, `I still need help` files at once, an
//! ignored offer is filed after the timeout (across a restart); a ticket filed after an
//! offer is created, and its SLA clocks start, at the request's time. Requests in another
//! team's area are redirected, and filed only with `File it anyway`. `/platform owns`.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::{db_time, Clock, ManualClock};
use serde_json::{json, Value};
use std::sync::Arc;

const HELP: &str = "C01HELP";
const BOB: &str = "U06BOBBY1";
/// Tuesday 1 December 2026, 10:00 in Berlin: inside business hours.
const START: &str = "2026-12-01T09:00:00Z";

const CATALOG: &str = r#"
[self_service]
offer_timeout = "10m"

[[self_service.entries]]
title = "Rotate a Vault token"
link = "https://wiki.example.com/vault/rotate"
summary = "Run `vault token renew` or ask for a new role"
keywords = ["vault", "token", "rotate", "expired"]

[[self_service.entries]]
title = "Revoke a leaked Vault token"
link = "https://wiki.example.com/vault/revoke"
summary = "Revoke it at once and tell security"
keywords = ["vault", "token", "revoke", "leaked"]

[[self_service.entries]]
title = "Request a Kubernetes namespace"
link = "https://wiki.example.com/k8s/namespace"
summary = "Fill in the namespace template"
keywords = ["namespace", "kubernetes"]

[[ownership.areas]]
name = "database schema changes"
keywords = ["schema", "migration", "ddl"]
owner = "data team"
channel = "C01DATAENG"
note = "Open a PR in data/migrations."

[[ownership.areas]]
name = "CI pipelines"
keywords = ["pipeline", "ci"]
owner = "platform"
"#;

fn start() -> DateTime<Utc> {
    START.parse().unwrap()
}

fn options(clock: &ManualClock) -> Options {
    Options {
        clock: Arc::new(clock.clone()),
        policy: format!("{}\n{CATALOG}", test_policy_text()),
        ..Options::default()
    }
}

async fn app_at(clock: &ManualClock) -> TestApp {
    spawn_with(options(clock)).await
}

/// The value of the first button with `text` in `blocks`.
fn button(blocks: &Value, text: &str) -> Option<(String, String)> {
    let mut found = None;
    for block in blocks.as_array()? {
        let mut candidates: Vec<&Value> = Vec::new();
        if let Some(acc) = block.get("accessory") {
            candidates.push(acc);
        }
        if let Some(elements) = block.get("elements").and_then(Value::as_array) {
            candidates.extend(elements);
        }
        for c in candidates {
            if c["type"] == "button" && c["text"]["text"] == text && found.is_none() {
                found = Some((
                    c["action_id"].as_str()?.to_string(),
                    c["value"].as_str()?.to_string(),
                ));
            }
        }
    }
    found
}

/// The bot's posts in the thread of `ts` in the help channel: (ts, text, blocks).
fn thread(app: &TestApp, ts: &str) -> Vec<(String, String, Value)> {
    app.fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == HELP && m.thread_ts.as_deref() == Some(ts))
        .map(|m| (m.ts, m.text, m.blocks))
        .collect()
}

/// A click on the button with `text` of the message `(channel, ts)` with `blocks`.
async fn press(app: &TestApp, user: &str, channel: &str, ts: &str, blocks: &Value, text: &str) {
    let (action_id, value) = button(blocks, text).unwrap_or_else(|| panic!("no {text:?} button"));
    let payload = json!({
        "type": "block_actions", "user": { "id": user, "name": "someone" }, "api_app_id": "A07PLTFM2QX",
        "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
        "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
        "container": { "type": "message", "message_ts": ts, "channel_id": channel },
        "channel": { "id": channel },
        "actions": [{ "type": "button", "action_id": action_id, "block_id": "b", "value": value,
                      "action_ts": "1700000070.1" }],
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
}

async fn ask_in_help(app: &TestApp, ts: &str, text: &str) {
    let resp = app.event(&message(HELP, ALICE, ts, text, None), None).await;
    assert_eq!(resp.status(), 200);
    app.settled().await;
}

async fn tickets(app: &TestApp) -> i64 {
    app.scalar("select count(*) from tickets").await
}

#[tokio::test]
async fn an_offer_solved_by_its_requester_files_no_ticket_and_starts_no_clock() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    ask_in_help(
        &app,
        "1764579600.000100",
        "My vault token expired this morning",
    )
    .await;
    let posts = thread(&app, "1764579600.000100");
    assert_eq!(posts.len(), 1, "one offer, in the thread: {posts:?}");
    let (offer_ts, text, blocks) = &posts[0];
    assert!(text.contains("Rotate a Vault token"), "{text}");
    assert!(button(blocks, "I still need help").is_some());
    // Only in the thread: nothing at the top of the help channel, no card.
    assert!(app
        .fake
        .messages()
        .iter()
        .all(|m| m.channel != HELP || m.thread_ts.is_some()));
    assert_eq!(app.cards().len(), 0);
    assert_eq!(tickets(&app).await, 0);

    // Somebody else cannot answer for Alice.
    press(&app, BOB, HELP, offer_ts, blocks, "This solved it").await;
    app.settled().await;
    assert_eq!(
        app.text("select outcome from self_service_offers")
            .await
            .unwrap(),
        "pending"
    );
    let told = app.fake.successful_calls_to("chat.postEphemeral");
    assert!(told.iter().any(|c| c.body["user"] == BOB
        && c.body["text"]
            .as_str()
            .unwrap()
            .contains("Only the person who asked")));

    press(&app, ALICE, HELP, offer_ts, blocks, "This solved it").await;
    app.settled().await;
    assert_eq!(
        app.text("select outcome || ' ' || solved_rank from self_service_offers")
            .await
            .unwrap(),
        "solved 1"
    );
    let updated = app
        .fake
        .messages()
        .into_iter()
        .find(|m| &m.ts == offer_ts)
        .unwrap();
    assert!(
        updated.updated && updated.text.contains("Solved by"),
        "{}",
        updated.text
    );

    // Long after the timeout: still no ticket, no timer.
    clock.advance(Duration::hours(2));
    app.step().await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 0);
    assert_eq!(app.scalar("select count(*) from timers").await, 0);
    // A second press changes nothing.
    press(&app, ALICE, HELP, offer_ts, blocks, "I still need help").await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 0);
}

#[tokio::test]
async fn i_still_need_help_files_at_once_created_at_the_request_with_the_offer_on_it() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let answer = app
        .command_json(
            ALICE,
            "C02PAYMENTS",
            "request my vault token expired, can't deploy",
        )
        .await;
    // A command's offer is its own ephemeral answer.
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        button(&answer["blocks"], "This solved it").is_some(),
        "{answer}"
    );
    assert_eq!(tickets(&app).await, 0);

    clock.advance(Duration::minutes(3));
    press(
        &app,
        ALICE,
        "C02PAYMENTS",
        "1764579601.000200",
        &answer["blocks"],
        "I still need help",
    )
    .await;
    assert_eq!(tickets(&app).await, 1);
    let created = app.text("select created_at from tickets").await.unwrap();
    assert_eq!(
        created,
        db_time(start()),
        "created at the request, not the press"
    );
    // P3, 4 business hours: due 4 h after the request (10:00 -> 14:00 Berlin).
    let due = app
        .text("select first_response_due from tickets")
        .await
        .unwrap();
    assert_eq!(due, db_time(start() + Duration::hours(4)));
    assert_eq!(
        app.text("select outcome from self_service_offers where ticket_id = 1")
            .await
            .unwrap(),
        "still_needed"
    );
    let event = app
        .text("select detail from ticket_events where kind = 'self_service_offer'")
        .await
        .unwrap();
    assert!(
        event.contains("still_needed") && event.contains("Rotate a Vault token"),
        "{event}"
    );
    app.settled().await;
    assert_eq!(
        app.cards().len(),
        1,
        "the ticket's card in the intake channel"
    );
    let filed = app.fake.successful_calls_to("chat.postEphemeral");
    assert!(filed
        .iter()
        .any(|c| c.body["text"].as_str().unwrap().contains("PLAT-1")));

    // The reason form, and its answer stored on the offer and the ticket.
    let view = app
        .fake
        .successful_calls_to("views.open")
        .pop()
        .unwrap()
        .body["view"]
        .clone();
    assert_eq!(view["callback_id"], "self_service_reason");
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(ALICE);
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] = json!({
        "reason_block": {"reason_input": {"type": "plain_text_input", "value": "my role is gone, not expired"}},
    });
    assert_eq!(app.interaction(&sub).await.status(), 200);
    assert_eq!(
        app.text("select reason from self_service_offers")
            .await
            .unwrap(),
        "my role is gone, not expired"
    );
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'self_service_reason'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_ignored_offer_is_filed_after_the_timeout_even_across_a_restart() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let ts = "1764579600.000300";
    let mention = envelope(json!({
        "type": "app_mention", "user": ALICE, "channel": HELP, "ts": ts, "event_ts": ts,
        "text": "<@U07BOTPLT9> rotating my vault token fails",
    }));
    assert_eq!(app.event(&mention, None).await.status(), 200);
    app.settled().await;
    assert_eq!(
        thread(&app, ts).len(),
        1,
        "the offer in the mention's thread"
    );
    // A redelivery offers nothing more.
    app.event(&mention, Some(1)).await;
    app.settled().await;
    assert_eq!(
        app.scalar("select count(*) from self_service_offers").await,
        1
    );

    clock.advance(Duration::minutes(9));
    app.step().await;
    assert_eq!(
        tickets(&app).await,
        0,
        "not yet: the timeout is ten minutes"
    );

    let app = app.restart(options(&clock)).await;
    clock.advance(Duration::minutes(2));
    app.step().await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 1);
    assert_eq!(
        app.text("select created_at from tickets").await.unwrap(),
        db_time(start())
    );
    assert_eq!(
        app.text("select outcome || ' ' || ticket_id from self_service_offers")
            .await
            .unwrap(),
        "ignored 1"
    );
    let notices = thread(&app, ts);
    assert!(
        notices.iter().any(|(_, t, _)| t.contains("Filed *PLAT-1*")),
        "{notices:?}"
    );
    // The offer itself now says what became of it, without its buttons.
    let (offer_ts, offer_text, offer_blocks) = notices[0].clone();
    assert!(
        offer_text.contains("No answer in 10 minutes, so this was *filed as PLAT-1*"),
        "{offer_text}"
    );
    assert_eq!(button(&offer_blocks, "This solved it"), None);
    assert_eq!(button(&offer_blocks, "I still need help"), None);
    let update = app.fake.successful_calls_to("chat.update");
    assert!(
        update
            .iter()
            .any(|c| c.body["ts"] == offer_ts.as_str() && c.body["channel"] == HELP),
        "{update:?}"
    );
    // Its SLA timers count from the request.
    let timers = app.timers("pending").await;
    assert!(!timers.is_empty());
    assert!(
        timers[0].1 < db_time(start() + Duration::hours(4)),
        "{timers:?}"
    );
    // Later passes file nothing more.
    clock.advance(Duration::minutes(5));
    app.step().await;
    assert_eq!(tickets(&app).await, 1);
}

#[tokio::test]
async fn an_ignored_command_offer_is_replaced_by_its_filing_and_its_stale_buttons_say_so() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let answer = app
        .command_json(ALICE, "C02PAYMENTS", "request my vault token expired")
        .await;
    assert!(button(&answer["blocks"], "This solved it").is_some());
    clock.advance(Duration::minutes(11));
    app.step().await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 1);
    // A command's answer cannot be edited by chat.update: its response_url replaces it
    // (Slack takes it for 30 minutes), with no buttons left.
    let replaced = app.fake.successful_calls_to("response_url");
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    let body = &replaced[0].body;
    assert_eq!(body["replace_original"], true);
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("No answer in 10 minutes, so this was *filed as PLAT-1*"),
        "{body}"
    );
    assert_eq!(button(&body["blocks"], "This solved it"), None);
    assert!(
        body.get("response_url").is_none(),
        "the URL is not sent as a field"
    );
    // And told as any filed ticket is.
    let told = app.fake.successful_calls_to("chat.postEphemeral");
    assert!(
        told.iter()
            .any(|c| c.body["user"] == ALICE && c.body["text"].as_str().unwrap().contains("PLAT-1")),
        "{told:?}"
    );
    // Its old buttons now answer that it is filed, and change nothing.
    press(
        &app,
        ALICE,
        "C02PAYMENTS",
        "1764579601.000700",
        &answer["blocks"],
        "This solved it",
    )
    .await;
    app.settled().await;
    let last = app
        .fake
        .successful_calls_to("chat.postEphemeral")
        .pop()
        .unwrap();
    assert_eq!(
        last.body["text"], "This is already filed as *PLAT-1*.",
        "{last:?}"
    );
    assert_eq!(
        app.text("select outcome from self_service_offers")
            .await
            .unwrap(),
        "ignored"
    );
    assert_eq!(tickets(&app).await, 1);
}

#[tokio::test]
async fn a_request_that_matches_nothing_is_filed_at_once() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    ask_in_help(
        &app,
        "1764579600.000400",
        "The CI pipeline for payments is red since noon",
    )
    .await;
    assert_eq!(
        tickets(&app).await,
        1,
        "CI is the platform's own area: filed"
    );
    assert_eq!(
        app.scalar("select count(*) from self_service_offers").await,
        0
    );
    ask_in_help(
        &app,
        "1764579600.000500",
        "Terraform plan hangs on the VPC module",
    )
    .await;
    assert_eq!(tickets(&app).await, 2);
}

#[tokio::test]
async fn another_teams_request_is_redirected_and_filed_only_with_file_it_anyway() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let ts = "1764579600.000600";
    ask_in_help(&app, ts, "Please apply this schema migration to orders").await;
    let posts = thread(&app, ts);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let (redirect_ts, text, blocks) = &posts[0];
    assert!(
        text.contains("Database schema changes belong to the data team: <#C01DATAENG>."),
        "{text}"
    );
    assert!(
        text.contains("Open a PR in data/migrations.") && text.contains("Nothing has been filed")
    );
    // Ignored, it files nothing, ever.
    clock.advance(Duration::hours(3));
    app.step().await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 0);

    press(&app, BOB, HELP, redirect_ts, blocks, "File it anyway").await;
    assert_eq!(tickets(&app).await, 0, "only the requester may");
    press(&app, ALICE, HELP, redirect_ts, blocks, "File it anyway").await;
    assert_eq!(tickets(&app).await, 1);
    assert_eq!(
        app.text("select outcome || ' ' || ticket_id from ownership_redirects")
            .await
            .unwrap(),
        "filed 1"
    );
    // Created at the request, three hours before the press, its clocks starting there:
    // P3, 4 business hours, due 14:00 Berlin.
    assert_eq!(
        app.text("select created_at from tickets").await.unwrap(),
        db_time(start()),
        "created at the request, not the press"
    );
    assert_eq!(
        app.text("select first_response_due from tickets")
            .await
            .unwrap(),
        db_time(start() + Duration::hours(4))
    );
    app.settled().await;
    let updated = app.fake.successful_calls_to("chat.update");
    assert!(
        updated.iter().any(|c| c.body["ts"] == redirect_ts.as_str()
            && c.body["text"]
                .as_str()
                .unwrap()
                .contains("Filed anyway as *PLAT-1*")),
        "{updated:?}"
    );
    press(&app, ALICE, HELP, redirect_ts, blocks, "File it anyway").await;
    assert_eq!(tickets(&app).await, 1, "once");
}

#[tokio::test]
async fn file_it_anyway_pressed_more_than_a_day_later_files_nothing_and_says_so() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let ts = "1764579600.000610";
    ask_in_help(&app, ts, "Please review the DDL for the orders schema").await;
    let (redirect_ts, _, blocks) = thread(&app, ts).remove(0);

    clock.advance(Duration::hours(25));
    press(&app, ALICE, HELP, &redirect_ts, &blocks, "File it anyway").await;
    app.settled().await;
    assert_eq!(tickets(&app).await, 0, "nothing dated back a day");
    assert_eq!(
        app.text("select outcome from ownership_redirects")
            .await
            .unwrap(),
        "redirected"
    );
    // The redirect itself now says so, without its button.
    let update = app
        .fake
        .successful_calls_to("chat.update")
        .into_iter()
        .find(|c| c.body["ts"] == redirect_ts.as_str())
        .expect("the redirect updated");
    let text = update.body["text"].as_str().unwrap();
    assert!(
        text.contains("Nothing was filed") && text.contains("ask again"),
        "{text}"
    );
    assert_eq!(button(&update.body["blocks"], "File it anyway"), None);
    let (_, shown, shown_blocks) = thread(&app, ts).remove(0);
    assert!(shown.contains("Nothing was filed"), "{shown}");
    assert_eq!(button(&shown_blocks, "File it anyway"), None);
}

#[tokio::test]
async fn the_form_and_the_reaction_get_their_offer_where_only_the_requester_sees_it() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(ALICE);
    sub["view"]["callback_id"] = json!("platform_request");
    sub["view"]["private_metadata"] = json!(r#"{"channel":"C02PAYMENTS"}"#);
    sub["view"]["state"]["values"] = json!({
        "title_block": {"title_input": {"type": "plain_text_input", "value": "Need a kubernetes namespace"}},
        "description_block": {"description_input": {"type": "plain_text_input", "value": "for the ledger service"}},
        "urgency_block": {"urgency_select": {"type": "static_select", "selected_option": {"value": "high", "text": {"type": "plain_text", "text": "High"}}}},
        "link_block": {"link_input": {"type": "plain_text_input", "value": null}},
    });
    assert_eq!(app.interaction(&sub).await.status(), 200);
    app.settled().await;
    let offer = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.ephemeral && m.channel == "C02PAYMENTS")
        .expect("an ephemeral offer");
    assert_eq!(offer.user.as_deref(), Some(ALICE));
    assert!(
        offer.text.contains("Request a Kubernetes namespace"),
        "{}",
        offer.text
    );
    assert_eq!(tickets(&app).await, 0);

    let ts = "1764579600.000700";
    app.fake.set_response(
        "conversations.history",
        Some(json!({"messages": [{"type": "message", "user": BOB, "text": "leaked a vault token in a gist, revoke it", "ts": ts}], "has_more": false})),
    );
    let reaction = envelope(
        json!({"type": "reaction_added", "user": ALICE, "reaction": "ticket",
        "item": {"type": "message", "channel": HELP, "ts": ts}, "item_user": BOB, "event_ts": "1764579601.000100"}),
    );
    assert_eq!(app.event(&reaction, None).await.status(), 200);
    app.settled().await;
    let posts = thread(&app, ts);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0].1.contains("Revoke a leaked Vault token"),
        "{}",
        posts[0].1
    );
    assert_eq!(
        app.text("select requester || ' ' || filed_by from self_service_offers where source = 'reaction'")
            .await
            .unwrap(),
        format!("{BOB} {ALICE}")
    );
    // The form's offer, ignored, is filed with the form's fields.
    clock.advance(Duration::minutes(11));
    app.step().await;
    assert_eq!(
        app.text("select title || '|' || urgency || '|' || created_at from tickets where source = 'modal'")
            .await
            .unwrap(),
        format!("Need a kubernetes namespace|high|{}", db_time(start()))
    );
}

#[tokio::test]
async fn owns_answers_from_the_ownership_map_for_anyone() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    let text = |v: Value| v["text"].as_str().unwrap_or("").to_string();
    let theirs = text(
        app.command_json(BOB, "C02PAYMENTS", "owns database migrations")
            .await,
    );
    assert!(
        theirs.starts_with("Database schema changes belong to the data team: <#C01DATAENG>."),
        "{theirs}"
    );
    let ours = text(app.command_json(BOB, "C02PAYMENTS", "owns ci").await);
    assert!(ours.contains("platform team"), "{ours}");
    let nobody = text(app.command_json(BOB, "C02PAYMENTS", "owns printers").await);
    assert!(nobody.contains("nobody's area"), "{nobody}");
    let _ = clock.now();
}

#[test]
fn config_check_rejects_areas_sharing_a_keyword_naming_both_and_the_keyword() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let policy = format!(
        "{}\n{CATALOG}\n[[ownership.areas]]\nname = \"analytics\"\nkeywords = [\"dashboards\", \"migration\"]\nowner = \"data team\"\n",
        test_policy_text()
    );
    std::fs::write(&file, policy).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["config", "check"])
        .arg(&file)
        .env_remove("PLATFORM_DESK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stderr.contains("ownership.areas[2].keywords (line "),
        "{stderr}"
    );
    assert!(stderr.contains("\"migration\""), "{stderr}");
    assert!(
        stderr.contains("\"database schema changes\"") && stderr.contains("\"analytics\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_reports_count_confirmed_answers_per_entry_and_show_the_knowledge_gaps() {
    let clock = ManualClock::new(start());
    let app = app_at(&clock).await;
    // Solved, still needed help, ignored; and two tickets nothing matched.
    for (ts, text) in [
        ("1764579600.001000", "my vault token expired"),
        (
            "1764579600.001100",
            "vault token expired again after rotate",
        ),
        (
            "1764579600.001200",
            "need a kubernetes namespace for search",
        ),
    ] {
        ask_in_help(&app, ts, text).await;
    }
    let offer = |ts: &str| thread(&app, ts).into_iter().next().unwrap();
    let (a, _, blocks_a) = offer("1764579600.001000");
    press(&app, ALICE, HELP, &a, &blocks_a, "This solved it").await;
    let (b, _, blocks_b) = offer("1764579600.001100");
    press(&app, ALICE, HELP, &b, &blocks_b, "I still need help").await;
    ask_in_help(
        &app,
        "1764579600.001300",
        "Terraform plan hangs on the VPC module",
    )
    .await;
    ask_in_help(&app, "1764579600.001400", "Terraform state lock stuck").await;
    clock.advance(Duration::minutes(11));
    app.step().await;
    app.settled().await;

    let doc: Value = serde_json::from_str(&app.get("/api/v1/stats?days=30").await).unwrap();
    let s = &doc["self_service"];
    assert_eq!(s["offered"], 3, "{s}");
    assert_eq!(
        (
            s["solved"].as_u64(),
            s["still_needed_help"].as_u64(),
            s["ignored"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert!((s["deflection_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    let rotate = s["by_entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Rotate a Vault token")
        .unwrap();
    assert_eq!(
        (
            rotate["offered"].as_u64(),
            rotate["solved"].as_u64(),
            rotate["still_needed_help"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let gaps = s["knowledge_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["tickets"], 2);
    assert_eq!(gaps[0]["words"][0], "terraform");

    let blocks = app.command_json(ALICE, "C02PAYMENTS", "stats").await;
    let all = blocks["blocks"].to_string();
    assert!(
        all.contains("3 offered · 1 solved (33.3% deflected)"),
        "{all}"
    );
    assert!(all.contains("terraform"), "{all}");
    let page = app.get("/dashboard").await;
    assert!(
        page.contains("Self-service: 33% of 3 offers solved (confirmed)"),
        "no panel"
    );
    assert!(page.contains("Rotate a Vault token"));
}
