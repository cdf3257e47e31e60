//! Pulse surveys end to end, as Slack and people drive them: signed slash commands and
//! clicks, the fake Slack's `conversations.members` (paged) and `users.info`, a manual clock
//! and a real SQLite file. The audience, local-time delivery across a daylight-saving
//! change and a restart, answers, the reminder, the results, and after the close a scan of
//! the whole database (every table and column, and the raw bytes of the file and its
//! write-ahead log) for anything that could tell who answered, when or in which order.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::{db_time, ManualClock};
use platform_desk::sandbox::fake_slack::FakeSlack;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

const ENG: &str = "C01ENG";
const ANNOUNCE: &str = "C01ANNOUNCE";
const TEAM: &str = "C01PLATTEAM";
const LEAD: &str = "U01ALICE";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn person(id: &str, tz: &str) -> Value {
    json!({ "id": id, "name": id.to_lowercase(), "deleted": false, "is_bot": false, "tz": tz })
}

fn options(clock: &ManualClock, fake: FakeSlack) -> Options {
    Options {
        clock: Arc::new(clock.clone()),
        fake: Some(fake),
        ..Options::default()
    }
}

/// The DM channel the fake keeps a user's direct messages under.
fn dm(user: &str) -> String {
    format!("D{}", &user[1..])
}

/// The survey messages (posts) each user got, in order.
fn survey_posts(app: &TestApp, user: &str) -> Vec<Value> {
    app.fake
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.is_ok() && c.body["channel"] == user)
        .filter(|c| {
            c.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Pulse survey:"))
        })
        .map(|c| c.body)
        .collect()
}

/// Users who got a survey message.
fn asked(app: &TestApp) -> BTreeSet<String> {
    app.fake
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.is_ok())
        .filter(|c| {
            c.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Pulse survey:"))
        })
        .filter_map(|c| c.body["channel"].as_str().map(str::to_string))
        .collect()
}

/// The `ts` of the survey message in `user`'s DM.
fn survey_ts(app: &TestApp, user: &str) -> String {
    app.fake
        .messages()
        .into_iter()
        .rev()
        .find(|m| m.channel == dm(user) && m.text.starts_with("Pulse survey:"))
        .map(|m| m.ts)
        .expect("the survey message is in the DM")
}

/// A press on a button of `user`'s survey message.
async fn press(app: &TestApp, user: &str, action_id: &str, value: &str) {
    let ts = survey_ts(app, user);
    let payload = json!({
        "type": "block_actions", "user": { "id": user, "name": "someone" }, "api_app_id": "A07PLTFM2QX",
        "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
        "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
        "container": { "type": "message", "message_ts": ts, "channel_id": dm(user) },
        "channel": { "id": dm(user) },
        "actions": [{ "type": "button", "action_id": action_id, "block_id": "pulse:1", "value": value,
                      "action_ts": "1700000070.1" }],
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
}

async fn score(app: &TestApp, user: &str, survey: i64, n: i64) {
    press(
        app,
        user,
        &format!("pulse_score_{n}"),
        &format!("{survey}:{n}"),
    )
    .await;
}

/// `Add a comment`, then the form submitted with `text`.
async fn comment(app: &TestApp, user: &str, survey: i64, text: &str) -> reqwest::Response {
    let before = app.fake.views().len();
    press(app, user, "pulse_comment", &survey.to_string()).await;
    let views = app.fake.views();
    assert_eq!(views.len(), before + 1, "the comment form opened");
    let view = &views[before].view;
    assert_eq!(view["callback_id"], "pulse_comment_form");
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(user);
    sub["view"]["id"] = json!(views[before].view_id);
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"] = json!({ "values": { "pulse_comment": { "comment": { "type": "plain_text_input", "value": text } } } });
    app.interaction(&sub).await
}

fn text_of(reply: &Value) -> String {
    reply["text"].as_str().unwrap_or_default().to_string()
}

/// Starts a survey now as the lead and waits until `n` people have their message.
async fn start(app: &TestApp, n: usize) -> i64 {
    let reply = app.command_json(LEAD, ENG, "survey start").await;
    assert!(
        text_of(&reply).contains("Starting a pulse survey"),
        "{reply}"
    );
    let started = wait_until(std::time::Duration::from_secs(20), || {
        (asked(app).len() >= n).then_some(())
    })
    .await;
    assert!(started.is_some(), "{} of {n} asked", asked(app).len());
    app.settled().await;
    app.scalar("select max(id) from surveys").await
}

#[tokio::test]
async fn a_survey_reaches_a_300_person_channel_over_pages_without_bots_deactivated_or_the_team() {
    let fake = FakeSlack::start().await;
    let people: Vec<String> = (0..300).map(|i| format!("UENG{i:04}")).collect();
    let mut members = people.clone();
    for i in 0..12 {
        let bot = format!("UBOT{i:04}");
        fake.set_user(json!({ "id": bot, "is_bot": true, "deleted": false, "tz": "Etc/UTC" }));
        members.push(bot);
        let gone = format!("UGONE{i:04}");
        fake.set_user(json!({ "id": gone, "is_bot": false, "deleted": true, "tz": "Etc/UTC" }));
        members.push(gone);
    }
    members.extend([
        "U01ALICE".to_string(),
        "U01BOB".to_string(),
        "U07BOTPLT9".to_string(),
    ]);
    fake.set_members(ENG, members);
    let clock = ManualClock::new(at("2026-12-07T10:00:00Z"));
    let app = spawn_with(options(&clock, fake)).await;

    let refused = app.command_json("UENG0001", ENG, "survey start").await;
    assert!(
        text_of(&refused).contains("Only the platform team"),
        "{refused}"
    );
    assert_eq!(app.scalar("select count(*) from surveys").await, 0);

    start(&app, 300).await;
    let pages = app.fake.calls_to("conversations.members");
    assert!(pages.len() >= 2, "{} pages", pages.len());
    assert!(
        pages[1].body["cursor"].is_string(),
        "the second page is read by cursor"
    );
    assert_eq!(asked(&app), people.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(app.scalar("select audience from surveys").await, 300);
    // Each person has one message: the question, five numbered buttons, a comment button,
    // and the line that says it is anonymous.
    let post = &survey_posts(&app, "UENG0042")[0];
    let buttons: Vec<&str> = post["blocks"][1]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["1", "2", "3", "4", "5", "Add a comment"]);
    assert!(post.to_string().contains("anonymous"));
    // The lead heard that it started; a second start is refused while it is open.
    let dm_to_lead = app.fake.calls_to("chat.postMessage").into_iter().any(|c| {
        c.body["channel"] == LEAD && text_of(&c.body).contains("300 people are being asked")
    });
    assert!(dm_to_lead);
    let again = app.command_json(LEAD, ENG, "survey start").await;
    assert!(text_of(&again).contains("already open"), "{again}");
}

#[tokio::test]
async fn each_person_is_asked_at_two_pm_friday_their_time_across_a_dst_change_and_a_restart() {
    let fake = FakeSlack::start().await;
    let (tokyo, berlin, new_york) = ("UTOKYO01", "UBERLIN1", "UNEWYORK");
    fake.set_user(person(tokyo, "Asia/Tokyo"));
    fake.set_user(person(berlin, "Europe/Berlin"));
    fake.set_user(person(new_york, "America/New_York"));
    fake.set_members(ENG, vec![tokyo.into(), berlin.into(), new_york.into()]);
    // Friday 23 October 2026: Berlin is on summer time (UTC+2), New York on EDT (UTC-4).
    let clock = ManualClock::new(at("2026-10-22T23:59:00Z"));
    let opts = || options(&clock, fake.clone());
    let app = spawn_with(opts()).await;
    app.step().await;
    assert_eq!(app.scalar("select count(*) from surveys").await, 0);

    // Friday 14:00 first comes at UTC+14: the survey is planned, nobody is asked yet.
    clock.set(at("2026-10-23T00:00:00Z"));
    app.step().await;
    assert_eq!(app.scalar("select count(*) from surveys").await, 1);
    let due =
        |user: &str| format!("select deliver_at from survey_recipients where user_id = '{user}'");
    assert_eq!(
        app.text(&due(tokyo)).await.unwrap(),
        db_time(at("2026-10-23T05:00:00Z"))
    );
    assert_eq!(
        app.text(&due(berlin)).await.unwrap(),
        db_time(at("2026-10-23T12:00:00Z"))
    );
    assert_eq!(
        app.text(&due(new_york)).await.unwrap(),
        db_time(at("2026-10-23T18:00:00Z"))
    );
    app.settled().await;
    assert!(asked(&app).is_empty());

    clock.set(at("2026-10-23T11:59:00Z"));
    app.step().await;
    app.settled().await;
    assert_eq!(asked(&app), BTreeSet::from([tokyo.to_string()]));

    // A restart between two deliveries loses nothing and repeats nothing.
    let app = app.restart(opts()).await;
    clock.set(at("2026-10-23T12:00:00Z"));
    app.step().await;
    app.settled().await;
    assert_eq!(
        asked(&app),
        BTreeSet::from([tokyo.to_string(), berlin.to_string()])
    );
    assert_eq!(survey_posts(&app, tokyo).len(), 1);

    clock.set(at("2026-10-23T18:00:00Z"));
    app.step().await;
    app.settled().await;
    assert_eq!(survey_posts(&app, new_york).len(), 1);

    // A week later Berlin has left summer time (25 October), New York not yet (1 November).
    clock.set(at("2026-10-30T00:00:00Z"));
    app.step().await;
    let next = "(select max(id) from surveys)";
    let due2 = |user: &str| {
        format!("select deliver_at from survey_recipients where user_id = '{user}' and survey_id = {next}")
    };
    assert_eq!(
        app.text(&due2(berlin)).await.unwrap(),
        db_time(at("2026-10-30T13:00:00Z"))
    );
    assert_eq!(
        app.text(&due2(new_york)).await.unwrap(),
        db_time(at("2026-10-30T18:00:00Z"))
    );
    assert_eq!(
        app.text(&due2(tokyo)).await.unwrap(),
        db_time(at("2026-10-30T05:00:00Z"))
    );
    clock.set(at("2026-10-30T12:59:00Z"));
    app.step().await;
    app.settled().await;
    assert_eq!(survey_posts(&app, berlin).len(), 1, "not yet at 12:59 UTC");
    clock.set(at("2026-10-30T13:00:00Z"));
    app.step().await;
    app.settled().await;
    assert_eq!(survey_posts(&app, berlin).len(), 2);
    // The first survey closed unanswered: only its count, and a word on the open one.
    let shown = text_of(&app.command_json(berlin, ENG, "survey").await);
    assert!(
        shown.contains("0 of 3 answered") && shown.contains("A new survey is open"),
        "{shown}"
    );
}

/// Eight people in UTC; the lead starts a survey.
async fn eight_asked(start_at: DateTime<Utc>) -> (TestApp, ManualClock, Vec<String>, i64) {
    let fake = FakeSlack::start().await;
    let people: Vec<String> = (0..8).map(|i| format!("URESP{i:04}")).collect();
    for p in &people {
        fake.set_user(person(p, "Etc/UTC"));
    }
    fake.set_members(ENG, people.clone());
    let clock = ManualClock::new(start_at);
    let app = spawn_with(options(&clock, fake)).await;
    let survey = start(&app, 8).await;
    (app, clock, people, survey)
}

#[tokio::test]
async fn answers_change_comments_remind_only_non_respondents_and_results_leave_no_trace() {
    let t0 = at("2026-12-07T10:00:00Z");
    let (app, clock, people, survey) = eight_asked(t0).await;
    let mut answer_times = Vec::new();
    let mut answer_at = |minutes: i64| {
        let t = t0 + Duration::minutes(60 + minutes) + Duration::seconds(7 * minutes);
        clock.set(t);
        answer_times.push(t);
    };
    for (i, n) in [5, 4, 2, 3, 5, 1].into_iter().enumerate() {
        answer_at(i as i64);
        score(&app, &people[i], survey, n).await;
    }
    // Person 2 changes their mind; person 3 adds a comment.
    answer_at(10);
    score(&app, &people[2], survey, 4).await;
    answer_at(11);
    let done = comment(
        &app,
        &people[3],
        survey,
        "More <!channel> docs & examples, please",
    )
    .await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.text().await.unwrap(), "", "the form closes");
    app.settled().await;
    assert_eq!(
        app.scalar("select count(*) from survey_answers").await,
        6,
        "one answer per person"
    );
    // The message shows the choice made, the changed one included.
    let shown = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.channel == dm(&people[2]) && m.text.starts_with("Pulse survey:"))
        .unwrap();
    assert!(
        shown.updated && shown.text.contains("(you chose 4)"),
        "{}",
        shown.text
    );

    // Halfway to the close (36 of 72 hours), one reminder to the two who did not answer.
    clock.set(t0 + Duration::hours(36));
    app.step().await;
    app.settled().await;
    for (i, p) in people.iter().enumerate() {
        let reminders = app
            .fake
            .calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| {
                c.body["channel"] == p.as_str() && c.body.to_string().contains("A reminder")
            })
            .count();
        assert_eq!(reminders, usize::from(i >= 6), "reminders to person {i}");
    }
    clock.set(t0 + Duration::hours(37));
    app.step().await;
    app.settled().await;
    let all_reminders = app
        .fake
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body.to_string().contains("A reminder"))
        .count();
    assert_eq!(all_reminders, 2, "one reminder, once");

    // While the survey is open the database does know who answered and when (the scan
    // below can fail): the answers themselves have no rowid to order them by.
    let secrets = Secrets {
        people: people[..6].to_vec(),
        times: answer_times
            .iter()
            .map(|t| db_time(*t)[..16].to_string())
            .collect(),
    };
    let open = secrets.in_tables(&app).await;
    assert!(
        open.iter()
            .any(|f| f.starts_with("survey_recipients.user_id")),
        "{open:?}"
    );
    assert!(
        open.iter().any(|f| f.starts_with("outbox.created_at")),
        "{open:?}"
    );
    assert!(
        !open.iter().any(|f| f.starts_with("survey_answers")),
        "{open:?}"
    );
    let rowid = sqlx::query("select rowid from survey_answers")
        .fetch_all(&app.running.as_ref().unwrap().app.pool)
        .await;
    assert!(rowid.is_err(), "survey_answers has no rowid");

    // The close: results to the announce and the team channel.
    clock.set(t0 + Duration::hours(72));
    app.step().await;
    app.settled().await;
    for channel in [ANNOUNCE, TEAM] {
        let post = app
            .fake
            .calls_to("chat.postMessage")
            .into_iter()
            .find(|c| {
                c.body["channel"] == channel
                    && text_of(&c.body).starts_with("*Pulse survey results")
            })
            .unwrap_or_else(|| panic!("results in {channel}"));
        let text = text_of(&post.body);
        for part in [
            "6 of 8 answered (75%)",
            "Mean: *3.7*",
            "Favourable (4 or 5): *67%*",
            "More &lt;!channel&gt; docs &amp; examples",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }
    assert_eq!(
        app.text("select distribution from surveys").await.unwrap(),
        "[1,0,1,2,2]"
    );
    assert_eq!(app.scalar("select responses from surveys").await, 6);
    assert_eq!(
        app.scalar("select count(*) from surveys where answer_key is null")
            .await,
        1
    );
    let anyone = app.command_json("UOTHER01", "C01HELP", "survey").await;
    assert!(text_of(&anyone).contains("Mean: *3.7*"), "{anyone}");

    // A click after the close keeps nothing.
    score(&app, &people[6], survey, 5).await;
    assert_eq!(app.scalar("select count(*) from survey_answers").await, 0);
    app.settled().await;

    // After the close nothing in any table, nor in the file's or the log's bytes (free pages
    // included), names a respondent or their DM, or holds the time of an answer.
    assert_eq!(secrets.in_tables(&app).await, Vec::<String>::new());
    for working in ["survey_answers", "survey_recipients", "survey_outbox"] {
        let n = app.scalar(&format!("select count(*) from {working}")).await;
        assert_eq!(n, 0, "{working} is emptied at close");
    }
    assert_eq!(
        secrets.in_bytes(&app),
        Vec::<String>::new(),
        "while running"
    );
    let mut app = app;
    app.stop().await;
    assert_eq!(
        secrets.in_bytes(&app),
        Vec::<String>::new(),
        "after stopping"
    );
}

#[tokio::test]
async fn under_the_anonymity_threshold_only_the_number_of_responses_is_kept_or_shown() {
    let t0 = at("2026-12-07T10:00:00Z");
    let (app, clock, people, survey) = eight_asked(t0).await;
    clock.set(t0 + Duration::minutes(5));
    score(&app, &people[0], survey, 5).await;
    score(&app, &people[1], survey, 1).await;
    let c = comment(&app, &people[2], survey, "A comment nobody may read").await;
    assert_eq!(c.status(), 200);
    score(&app, &people[2], survey, 3).await;
    clock.set(t0 + Duration::hours(72));
    app.step().await;
    app.settled().await;
    let post = app
        .fake
        .calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.body["channel"] == ANNOUNCE)
        .expect("results posted");
    let text = text_of(&post.body);
    assert!(
        text.contains("3 of 8 answered") && text.contains("Fewer than 5 answers"),
        "{text}"
    );
    assert!(
        !text.contains("Mean") && !text.contains("A comment"),
        "{text}"
    );
    assert_eq!(app.scalar("select responses from surveys").await, 3);
    assert_eq!(
        app.scalar("select count(*) from surveys where mean is null and distribution is null and favourable is null").await,
        1
    );
    assert_eq!(app.scalar("select count(*) from survey_comments").await, 0);
    let shown = app.command_json("UOTHER01", "C01HELP", "survey").await;
    assert!(
        text_of(&shown).contains("3 of 8 answered") && !text_of(&shown).contains("Mean"),
        "{shown}"
    );
    let secrets = Secrets {
        people: people[..3].to_vec(),
        times: vec![],
    };
    assert_eq!(secrets.in_tables(&app).await, Vec::<String>::new());
    assert_eq!(secrets.in_bytes(&app), Vec::<String>::new());
}

/// What must not be found anywhere after a close.
struct Secrets {
    /// The respondents' user ids; their DM channels follow.
    people: Vec<String>,
    /// The minutes at which answers were given (`2026-12-07T11:01`).
    times: Vec<String>,
}

impl Secrets {
    fn needles(&self) -> Vec<String> {
        let mut n: Vec<String> = self
            .people
            .iter()
            .flat_map(|p| [p.clone(), dm(p)])
            .collect();
        n.extend(self.times.iter().cloned());
        n
    }

    /// Where any secret sits in any column of any row of any table (blobs read as bytes).
    async fn in_tables(&self, app: &TestApp) -> Vec<String> {
        use sqlx::{Column, Row, ValueRef};
        let url = format!("sqlite://{}", app.db_path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let tables: Vec<String> =
            sqlx::query_scalar("select name from sqlite_master where type = 'table'")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(tables.len() > 10 && tables.contains(&"survey_answers".to_string()));
        let mut found = Vec::new();
        for table in &tables {
            let sql = format!("select * from \"{table}\"");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap();
            for row in &rows {
                for col in row.columns() {
                    if row.try_get_raw(col.ordinal()).unwrap().is_null() {
                        continue;
                    }
                    let text = row
                        .try_get::<String, _>(col.ordinal())
                        .or_else(|_| {
                            row.try_get::<Vec<u8>, _>(col.ordinal())
                                .map(|b| String::from_utf8_lossy(&b).into_owned())
                        })
                        .or_else(|_| row.try_get::<i64, _>(col.ordinal()).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<f64, _>(col.ordinal()).map(|n| n.to_string()))
                        .expect("every value reads as text, bytes or a number");
                    for needle in self.needles() {
                        if text.contains(&needle) {
                            found.push(format!("{table}.{} holds {needle}", col.name()));
                        }
                    }
                }
            }
        }
        pool.close().await;
        found
    }

    /// Where any secret sits in the raw bytes of the database file or its write-ahead log.
    fn in_bytes(&self, app: &TestApp) -> Vec<String> {
        let mut found = Vec::new();
        for file in [app.db_path.clone(), app.db_path.with_extension("db-wal")] {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            for needle in self.needles() {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(format!("{} holds {needle}", file.display()));
                }
            }
        }
        found
    }
}
