//! The roadmap from Slack: the team adds, sets and links items, anyone sees and follows them,
//! nobody else changes them; when an item ships each linked requester and follower hears it
//! once, the tickets' threads hear it, and the answer buttons are kept.

mod common;

use common::*;
use serde_json::{json, Value};

const TEAM: &str = "U01ALICE";
const OWNER: &str = "U01BOB";
const CAROL: &str = "U07CAROL";
const DAVE: &str = "U08DAVE";
const STRANGER: &str = "U09STRANGE";
const HELP: &str = "C01HELP";

async fn say(app: &TestApp, user: &str, text: &str) -> String {
    let answer = app.command_json(user, "C01ENG", text).await;
    answer["text"].as_str().unwrap_or("").to_string()
}

/// A ticket filed by `user` from a help-channel message at `ts`; returns its key.
async fn ticket(app: &TestApp, user: &str, ts: &str, text: &str) -> String {
    app.event(&message(HELP, user, ts, text, None), None).await;
    app.drain().await;
    app.text(&format!("select key from tickets where source_ts = '{ts}'"))
        .await
        .expect("the message became a ticket")
}

/// Every direct message the bot posted to `user` (a post to a user id) about a shipped item.
fn ship_dms(app: &TestApp, user: &str) -> Vec<Value> {
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == user)
        .filter(|c| c.body["text"].as_str().unwrap_or("").contains("shipped"))
        .map(|c| c.body)
        .collect()
}

fn thread_notices(app: &TestApp, ts: &str) -> Vec<String> {
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == HELP && c.body["thread_ts"] == ts)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .filter(|t| t.contains("shipped"))
        .collect()
}

fn submission(
    user: &str,
    callback_id: &str,
    view_id: &str,
    metadata: &str,
    values: Value,
) -> Value {
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(user);
    sub["view"]["id"] = json!(view_id);
    sub["view"]["callback_id"] = json!(callback_id);
    sub["view"]["private_metadata"] = json!(metadata);
    sub["view"]["state"] = json!({ "values": values });
    sub
}

/// A click on a button of a message in `channel` at `ts`.
async fn press(app: &TestApp, user: &str, channel: &str, ts: &str, action_id: &str, value: &str) {
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

#[tokio::test]
async fn the_team_adds_sets_and_links_items_and_anyone_shows_and_follows_them() {
    let app = spawn_app().await;
    let added = say(&app, TEAM, "roadmap add Faster CI builds").await;
    assert!(added.contains("*RM-1*"), "{added}");
    for (set, expect) in [
        ("status in_progress", "in_progress"),
        ("target 2027-q1", "2027-Q1"),
        ("health at_risk", "at_risk"),
    ] {
        let reply = say(&app, TEAM, &format!("roadmap set RM-1 {set}")).await;
        assert!(reply.contains(expect), "{set}: {reply}");
    }
    // Slack sends a picked person as a mention.
    let mut raw = app
        .command(TEAM, "C01ENG", "roadmap set RM-1 owner <@U01BOB|bob>")
        .await;
    assert_eq!(raw.status(), 200);
    raw = app
        .command(TEAM, "C01ENG", "roadmap set RM-1 health at_risk")
        .await;
    let unchanged: Value = raw.json().await.unwrap();
    assert!(unchanged["text"]
        .as_str()
        .unwrap()
        .contains("Nothing changed"));
    assert_eq!(
        app.text("select status || ' ' || target || ' ' || owner || ' ' || health from roadmap_items where id = 1")
            .await
            .unwrap(),
        "in_progress 2027-Q1 U01BOB at_risk"
    );
    // One history row for its creation and one per changed field; none for the repeat.
    assert_eq!(
        app.scalar("select count(*) from roadmap_changes where item_id = 1")
            .await,
        5
    );

    let key = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    let linked = say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    assert!(linked.contains("Linked"), "{linked}");
    assert_eq!(app.scalar("select count(*) from roadmap_links").await, 1);

    let followed = say(&app, STRANGER, "roadmap follow rm-1").await;
    assert!(followed.contains("You follow *RM-1*"), "{followed}");
    let shown = say(&app, STRANGER, "roadmap show RM-1").await;
    for needle in [
        &key,
        "Faster CI builds",
        "2027-Q1",
        "1 following",
        "status: planned → in_progress",
        "<@U01BOB>",
    ] {
        assert!(shown.contains(needle), "missing {needle}: {shown}");
    }

    let overview = app.command_json(STRANGER, "C01ENG", "roadmap").await;
    let raw = overview.to_string();
    assert!(
        raw.contains("In progress") && raw.contains("*RM-1* Faster CI builds"),
        "{raw}"
    );
    assert_eq!(overview["response_type"], "ephemeral");
    // The Follow button where items are listed.
    let follow = overview["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| {
            b.get("accessory")
                .filter(|a| a["action_id"] == "roadmap_follow")
        })
        .expect("a Follow button");
    assert_eq!(follow["text"]["text"], "Follow");
    press(
        &app,
        DAVE,
        "C01ENG",
        "1700000050.000300",
        "roadmap_follow",
        "1",
    )
    .await;
    assert_eq!(
        app.scalar("select count(*) from roadmap_followers where item_id = 1")
            .await,
        2
    );
}

#[tokio::test]
async fn a_person_outside_the_team_cannot_change_the_roadmap() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    let key = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    let before = app.scalar("select count(*) from roadmap_changes").await;
    for text in [
        "roadmap add Something of mine".to_string(),
        "roadmap set RM-1 status shipped".to_string(),
        "roadmap set RM-1 target 2027-Q2".to_string(),
        format!("roadmap link {key} RM-1"),
    ] {
        let reply = say(&app, STRANGER, &text).await;
        assert!(reply.contains("only the platform team"), "{text}: {reply}");
    }
    // The form and the card's control refuse too.
    let sub = submission(
        STRANGER,
        "roadmap_add",
        "V1",
        "",
        json!({ "title_block": { "title_input": { "type": "plain_text_input", "value": "Mine" } } }),
    );
    let resp = app.interaction(&sub).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["response_action"], "errors");
    press(
        &app,
        STRANGER,
        INTAKE,
        "1700000050.000300",
        "roadmap_link_ticket",
        "1",
    )
    .await;
    app.settled().await;
    assert!(app
        .fake
        .views()
        .iter()
        .all(|v| v.view["callback_id"] != "roadmap_link"));
    assert_eq!(app.scalar("select count(*) from roadmap_items").await, 1);
    assert_eq!(
        app.scalar("select count(*) from roadmap_changes").await,
        before
    );
    assert_eq!(app.scalar("select count(*) from roadmap_links").await, 0);
    assert_eq!(
        app.text("select status from roadmap_items").await.unwrap(),
        "planned"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_usage_reply_and_nothing_is_echoed_raw() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    for (text, expect) in [
        (
            "roadmap set RM-9 status shipped",
            "there is no roadmap item RM-9",
        ),
        (
            "roadmap set RM-1 status done",
            "the status is one of planned, in_progress",
        ),
        (
            "roadmap set RM-1 target soon",
            "use a quarter like 2027-Q1 or a date like 2027-03-31",
        ),
        ("roadmap set RM-1 target 2027-02-30", "is not a target"),
        ("roadmap set RM-1 health fine", "the health is one of"),
        (
            "roadmap link PLAT-999 RM-1",
            "there is no ticket `PLAT-999`",
        ),
        (
            "roadmap show <!channel>",
            "&lt;!channel&gt;` is not a roadmap item key",
        ),
        ("roadmap frobnicate", "I don't know `roadmap frobnicate`"),
    ] {
        let reply = say(&app, TEAM, text).await;
        assert!(reply.contains(expect), "{text}: {reply}");
        assert!(
            reply.contains("/platform roadmap set RM-3"),
            "usage follows: {reply}"
        );
        assert!(!reply.contains("<!channel>"), "{reply}");
    }
    assert_eq!(app.scalar("select count(*) from roadmap_changes").await, 1);
}

#[tokio::test]
async fn shipping_tells_each_linked_requester_and_follower_once_and_each_thread_hears_it() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    say(&app, TEAM, "roadmap set RM-1 owner U01BOB").await;
    say(&app, TEAM, "roadmap set RM-1 status in_progress").await;
    let threads = [
        "1700000700.000100",
        "1700000800.000100",
        "1700000900.000100",
        "1700001000.000100",
    ];
    let a1 = ticket(&app, ALICE, threads[0], "CI builds take 40 minutes").await;
    let a2 = ticket(
        &app,
        ALICE,
        threads[1],
        "The integration suite is slow to start",
    )
    .await;
    let c1 = ticket(
        &app,
        CAROL,
        threads[2],
        "Build cache misses on every branch",
    )
    .await;
    // The owner's own ticket: the owner hears nothing unless they follow.
    let _b1 = ticket(&app, OWNER, threads[3], "Runners are undersized").await;
    for key in [&a1, &a2, &c1, &_b1] {
        say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    }
    say(&app, DAVE, "roadmap follow RM-1").await;
    say(&app, CAROL, "roadmap follow RM-1").await;
    app.settled().await;

    let reply = say(&app, TEAM, "roadmap set RM-1 status shipped").await;
    assert!(reply.contains("3 people will hear it shipped"), "{reply}");
    app.settled().await;

    let alice = ship_dms(&app, ALICE);
    assert_eq!(alice.len(), 1, "one DM for two linked tickets: {alice:?}");
    let text = alice[0]["text"].as_str().unwrap();
    for needle in ["*RM-1* shipped", &a1, &a2, "you asked"] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    let buttons: Vec<String> = alice[0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["text"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(buttons, ["Solved my problem", "Not quite"]);
    assert_eq!(
        ship_dms(&app, CAROL).len(),
        1,
        "a requester who also follows: once"
    );
    assert_eq!(ship_dms(&app, DAVE).len(), 1);
    assert!(
        ship_dms(&app, OWNER).is_empty(),
        "the owner does not follow by default"
    );
    assert!(
        ship_dms(&app, TEAM).is_empty(),
        "nor the one who shipped it"
    );
    for ts in threads {
        assert_eq!(thread_notices(&app, ts).len(), 1, "thread {ts}");
    }
    assert!(!app.fake.calls().iter().any(
        |c| c.body.to_string().contains("<!channel>") || c.body.to_string().contains("<!here>")
    ));

    // Shipped again later: nobody is told twice.
    say(&app, TEAM, "roadmap set RM-1 status in_progress").await;
    say(&app, TEAM, "roadmap set RM-1 status shipped").await;
    app.settled().await;
    assert_eq!(ship_dms(&app, ALICE).len(), 1);
    assert_eq!(
        app.scalar("select count(*) from roadmap_ship_notices")
            .await,
        3
    );
}

#[tokio::test]
async fn a_ticket_filed_by_command_hears_it_shipped_in_its_cards_thread() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Self-service database users").await;
    say(
        &app,
        CAROL,
        "request please create a read-only database user for analytics",
    )
    .await;
    app.settled().await;
    let key = app
        .text("select key from tickets where requester = 'U07CAROL'")
        .await
        .expect("the command filed a ticket");
    let card_ts = app
        .text("select card_ts from tickets where requester = 'U07CAROL'")
        .await
        .expect("its card was posted");
    say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    say(&app, TEAM, "roadmap set RM-1 status shipped").await;
    app.settled().await;
    let in_card_thread: Vec<String> = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == INTAKE && c.body["thread_ts"] == card_ts.as_str())
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .filter(|t| t.contains("shipped"))
        .collect();
    assert_eq!(in_card_thread.len(), 1, "{in_card_thread:?}");
    assert!(in_card_thread[0].contains(&key), "{in_card_thread:?}");
    assert_eq!(ship_dms(&app, CAROL).len(), 1, "and the requester's DM");
}

#[tokio::test]
async fn the_answer_buttons_are_kept_and_the_message_shows_the_choice() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    let key = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    say(&app, DAVE, "roadmap follow RM-1").await;
    say(&app, TEAM, "roadmap set RM-1 status shipped").await;
    app.settled().await;
    let dm = |user: &str| {
        let channel = format!("D{}", &user[1..]);
        let m = app
            .fake
            .messages()
            .into_iter()
            .find(|m| m.channel == channel && m.text.contains("shipped"))
            .expect("the ship DM");
        (channel, m.ts)
    };
    let (channel, ts) = dm(ALICE);
    press(&app, ALICE, &channel, &ts, "roadmap_solved", "1").await;
    let (dave_channel, dave_ts) = dm(DAVE);
    press(
        &app,
        DAVE,
        &dave_channel,
        &dave_ts,
        "roadmap_not_quite",
        "1",
    )
    .await;
    // Someone who was sent nothing changes nothing.
    press(&app, STRANGER, &channel, &ts, "roadmap_solved", "1").await;
    app.settled().await;
    assert_eq!(
        app.text(&format!(
            "select answer from roadmap_ship_notices where user_id = '{ALICE}'"
        ))
        .await
        .as_deref(),
        Some("solved")
    );
    assert_eq!(
        app.text(&format!(
            "select answer from roadmap_ship_notices where user_id = '{DAVE}'"
        ))
        .await
        .as_deref(),
        Some("not_quite")
    );
    assert_eq!(
        app.scalar("select count(*) from roadmap_ship_notices where answer is not null")
            .await,
        2
    );
    let shown = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.channel == channel && m.ts == ts)
        .unwrap();
    assert!(
        shown.updated && shown.text.contains("You answered *Solved my problem*"),
        "{shown:?}"
    );
    assert!(
        !shown.blocks.to_string().contains("roadmap_solved"),
        "the buttons are gone"
    );
    // The team reads the answers where it reads the item.
    let item = say(&app, TEAM, "roadmap show RM-1").await;
    assert!(
        item.contains("*Did it solve their problem?* 2 told: 1 solved, 1 not quite, 0 no answer"),
        "{item}"
    );
}

#[tokio::test]
async fn the_cards_control_opens_a_form_that_links_the_ticket() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    let key = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    let card = app.latest_card(&key).expect("the card");
    assert!(
        card.to_string()
            .contains("\"action_id\":\"roadmap_link_ticket\""),
        "{card}"
    );
    press(
        &app,
        TEAM,
        INTAKE,
        "1700000050.000300",
        "roadmap_link_ticket",
        "1",
    )
    .await;
    let view = app
        .fake
        .views()
        .into_iter()
        .find(|v| v.view["callback_id"] == "roadmap_link")
        .expect("the link form opened");
    assert!(view.view.to_string().contains("RM-1 Faster CI builds"));
    let values = json!({ "item_block": { "item_input": { "type": "static_select",
        "selected_option": { "value": "1", "text": { "type": "plain_text", "text": "RM-1" } } } } });
    let resp = app
        .interaction(&submission(
            TEAM,
            "roadmap_link",
            "V9",
            view.view["private_metadata"].as_str().unwrap(),
            values,
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.scalar("select count(*) from roadmap_links where item_id = 1 and ticket_id = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn roadmap_add_with_no_title_opens_a_form_that_checks_the_target() {
    let app = spawn_app().await;
    let resp = app.command(TEAM, "C01ENG", "roadmap add").await;
    assert_eq!(resp.status(), 200);
    assert!(app
        .fake
        .views()
        .iter()
        .any(|v| v.view["callback_id"] == "roadmap_add"));
    let values = |target: &str| {
        json!({
            "title_block": { "title_input": { "type": "plain_text_input", "value": "Self-service databases" } },
            "target_block": { "target_input": { "type": "plain_text_input", "value": target } },
            "owner_block": { "owner_input": { "type": "users_select", "selected_user": "U01BOB" } },
        })
    };
    let bad: Value = app
        .interaction(&submission(
            TEAM,
            "roadmap_add",
            "V2",
            "",
            values("someday"),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bad["response_action"], "errors");
    assert!(bad["errors"]["target_block"]
        .as_str()
        .unwrap()
        .contains("2027-Q1"));
    assert_eq!(app.scalar("select count(*) from roadmap_items").await, 0);
    let resp = app
        .interaction(&submission(
            TEAM,
            "roadmap_add",
            "V3",
            "",
            values("2027-03-31"),
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.text("select title || ' ' || target || ' ' || owner from roadmap_items where id = 1")
            .await
            .unwrap(),
        "Self-service databases 2027-03-31 U01BOB"
    );
    app.settled().await;
    assert!(app
        .fake
        .successful_calls_to("chat.postMessage")
        .iter()
        .any(|c| c.body["channel"] == TEAM
            && c.body["text"]
                .as_str()
                .unwrap_or("")
                .contains("Added *RM-1*")));
}

#[tokio::test]
async fn the_team_sets_title_description_and_link_in_slack_and_the_ship_message_carries_the_link() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add CI").await;
    for (set, expect) in [
        ("title Faster CI builds", "`Faster CI builds`"),
        (
            "description Builds in under 10 minutes, cached per branch",
            "cached per branch",
        ),
        // A pasted URL, as Slack sends it.
        (
            "link <https://wiki.example.com/ci>",
            "`https://wiki.example.com/ci`",
        ),
    ] {
        let reply = say(&app, TEAM, &format!("roadmap set RM-1 {set}")).await;
        assert!(reply.contains(expect), "{set}: {reply}");
    }
    let refused = say(&app, STRANGER, "roadmap set RM-1 link https://evil.example").await;
    assert!(refused.contains("only the platform team"), "{refused}");
    assert_eq!(
        app.text("select title || '|' || description || '|' || link from roadmap_items where id = 1")
            .await
            .unwrap(),
        "Faster CI builds|Builds in under 10 minutes, cached per branch|https://wiki.example.com/ci"
    );
    let shown = say(&app, STRANGER, "roadmap show RM-1").await;
    for needle in [
        "Link: https://wiki.example.com/ci",
        "cached per branch",
        "link: — → https://wiki.example.com/ci",
    ] {
        assert!(shown.contains(needle), "missing {needle}: {shown}");
    }

    let key = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    say(&app, TEAM, "roadmap set RM-1 status shipped").await;
    app.settled().await;
    let dm = ship_dms(&app, ALICE);
    assert_eq!(dm.len(), 1);
    let text = dm[0]["text"].as_str().unwrap();
    for needle in [
        "*RM-1* shipped: Faster CI builds",
        &key,
        "you asked",
        "https://wiki.example.com/ci",
    ] {
        assert!(text.contains(needle), "missing {needle}: {text}");
    }
    assert!(thread_notices(&app, "1700000700.000100")[0].contains("https://wiki.example.com/ci"));
}

#[tokio::test]
async fn an_item_added_in_slack_after_an_import_takes_the_next_free_number() {
    let app = spawn_app().await;
    let file = app.dir.path().join("roadmap.toml");
    std::fs::write(
        &file,
        "[[item]]\nid = \"RM-7\"\ntitle = \"Managed Kafka\"\nstatus = \"planned\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["roadmap", "import"])
        .arg(&file)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", app.db_path.display()),
        )
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added = say(&app, TEAM, "roadmap add Faster CI builds").await;
    assert!(added.contains("*RM-8*"), "{added}");
    let shown = say(&app, STRANGER, "roadmap show RM-7").await;
    assert!(shown.contains("Managed Kafka"), "{shown}");
}

#[tokio::test]
async fn the_json_export_lists_the_linked_tickets_and_counts_the_followers() {
    let app = spawn_app().await;
    say(&app, TEAM, "roadmap add Faster CI builds").await;
    let a = ticket(
        &app,
        ALICE,
        "1700000700.000100",
        "CI builds take 40 minutes",
    )
    .await;
    let c = ticket(&app, CAROL, "1700000800.000100", "Build cache misses").await;
    for key in [&a, &c] {
        say(&app, TEAM, &format!("roadmap link {key} RM-1")).await;
    }
    say(&app, DAVE, "roadmap follow RM-1").await;
    say(&app, CAROL, "roadmap follow RM-1").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["roadmap", "export", "--format", "json"])
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", app.db_path.display()),
        )
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items[0]["id"], "RM-1");
    let mut linked: Vec<String> = items[0]["linked_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    linked.sort();
    let mut expected = vec![a, c];
    expected.sort();
    assert_eq!(linked, expected);
    assert_eq!(items[0]["followers"], 2);
}
