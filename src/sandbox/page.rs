//! The sandbox's page server: `GET /` (the page), `GET /api/state`, the `POST /api/...`
//! endpoints through which a person acts as Slack would deliver it, and the response URLs
//! the bot may answer on.

use super::bot::{Answer, Bot};
use super::clock_control::{self, MovableClock};
use super::payloads::{self, ActedOn, Click, ReactionAdded, UserMessage};
use super::workspace::{LocalMessage, PersonReaction, Workspace, SLACKBOT};
use super::{demo, snapshot};
use crate::mrkdwn;
use crate::sandbox::fake_slack::{FakeSlack, BOT_NAME, BOT_USER_ID};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, LazyLock};

const PAGE: &str = include_str!("page.html");

/// The page loads nothing from anywhere and may only talk to this server.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What every handler shares.
pub struct Shared {
    pub fake: FakeSlack,
    pub ws: Workspace,
    pub bot: Bot,
    /// The bot's clock, moved by `POST /api/clock`.
    pub clock: Arc<MovableClock>,
    pub app: Arc<crate::context::Context>,
    pub jobs: Arc<crate::jobs::Registry>,
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(state))
        .route("/api/clock", get(clock).post(move_clock))
        .route("/dashboard", get(dashboard))
        .route("/api/command", post(command))
        .route("/api/mention", post(mention))
        .route("/api/message", post(message))
        .route("/api/reaction", post(reaction))
        .route("/api/shortcut", post(shortcut))
        .route("/api/action", post(action))
        .route("/api/view_submission", post(view_submission))
        .route("/api/view_closed", post(view_closed))
        .route("/response/{id}", post(response_url))
        .with_state(shared)
}

type ApiResult = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn refuse(status: StatusCode, why: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "error": why })))
}

/// Person and channel ids must look like Slack's: they go into payloads as they are.
fn check_ids(user: &str, channel: Option<&str>) -> Result<(), (StatusCode, Json<Value>)> {
    if !(mrkdwn::is_slack_id(user) && (user.starts_with('U') || user.starts_with('W'))) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "user must be a user id like U02CAROL",
        ));
    }
    if let Some(channel) = channel {
        let kind_ok = channel.starts_with(['C', 'G', 'D']);
        if !(mrkdwn::is_slack_id(channel) && kind_ok) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "channel must be a channel id like C01HELP",
            ));
        }
    }
    Ok(())
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Html(PAGE),
    )
        .into_response()
}

/// The page's link to the dashboard: the bot serves it, on its own port.
async fn dashboard(State(s): State<Arc<Shared>>) -> Redirect {
    Redirect::to(&s.bot.dashboard_url())
}

async fn state(State(s): State<Arc<Shared>>) -> Json<Value> {
    s.ws.sync_views(&s.fake.views());
    Json(snapshot::state(
        &s.fake.messages(),
        &s.fake.reactions(),
        &s.ws,
    ))
}

/// The bot's time and how far ahead of the wall clock it is.
fn clock_json(s: &Shared) -> Value {
    use crate::clock::Clock;
    json!({
        "now": s.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "ahead_s": s.clock.offset().num_seconds(),
    })
}

async fn clock(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(clock_json(&s))
}

/// A move of the clock control: exactly one of the page's three buttons.
#[derive(Deserialize)]
struct MoveClock {
    advance: Step,
}

#[derive(Deserialize, Clone, Copy)]
enum Step {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
    #[serde(rename = "1w")]
    Week,
}

/// Moves the bot's clock forward, firing the SLA timers and scheduled jobs due on the way.
async fn move_clock(State(s): State<Arc<Shared>>, Json(input): Json<MoveClock>) -> ApiResult {
    let by = match input.advance {
        Step::Hour => chrono::Duration::hours(1),
        Step::Day => chrono::Duration::days(1),
        Step::Week => chrono::Duration::weeks(1),
    };
    clock_control::advance(&s.app, &s.jobs, &s.clock, by)
        .await
        .map_err(|err| {
            tracing::error!(error = %err.chain(), "the sandbox could not move the clock");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the clock could not be moved: see the log",
            )
        })?;
    Ok(Json(clock_json(&s)))
}

#[derive(Deserialize)]
struct Typed {
    user: String,
    channel: String,
    text: String,
    #[serde(default)]
    thread_ts: Option<String>,
}

/// `/platform request ...`, with or without the leading `/platform`.
fn command_text(typed: &str) -> Result<String, (StatusCode, Json<Value>)> {
    let typed = typed.trim();
    let Some(rest) = typed.strip_prefix('/') else {
        return Ok(typed.to_string());
    };
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name != "platform" {
        let why = format!("/{name} is not a command in this workspace; try /platform");
        return Err(refuse(StatusCode::BAD_REQUEST, &why));
    }
    Ok(args.trim().to_string())
}

/// Posts what only `user` sees in `channel`, as `author`.
fn tell(s: &Shared, user: &str, channel: &str, author: &str, text: String, blocks: Value) {
    let message = LocalMessage {
        channel: channel.to_string(),
        ts: s.ws.next_ts(),
        thread_ts: None,
        author: author.to_string(),
        text,
        blocks,
        visible_to: Some(user.to_string()),
        after: 0,
    };
    s.ws.post(message, s.fake.messages().len());
}

async fn command(State(s): State<Arc<Shared>>, Json(input): Json<Typed>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let text = command_text(&input.text)?;
    let trigger = s.ws.new_trigger(&input.user);
    let response_url = s.ws.new_response_url(&input.channel, &input.user, None);
    let form = payloads::command_form(&input.user, &input.channel, &text, &response_url, &trigger);
    let answer = s.bot.command(form).await;
    match &answer {
        Answer::Replied { status: 200, body } if body.is_object() => {
            let text = body["text"].as_str().unwrap_or_default().to_string();
            let blocks = body.get("blocks").cloned().unwrap_or(Value::Null);
            if body["response_type"] == "in_channel" {
                let message = LocalMessage {
                    channel: input.channel.clone(),
                    ts: s.ws.next_ts(),
                    thread_ts: None,
                    author: BOT_USER_ID.to_string(),
                    text,
                    blocks,
                    visible_to: None,
                    after: 0,
                };
                s.ws.post(message, s.fake.messages().len());
            } else if !text.is_empty() || !blocks.is_null() {
                tell(&s, &input.user, &input.channel, BOT_USER_ID, text, blocks);
            }
        }
        Answer::Replied {
            status: 200,
            body: Value::String(text),
        } => {
            let text = text.clone();
            tell(
                &s,
                &input.user,
                &input.channel,
                BOT_USER_ID,
                text,
                Value::Null,
            );
        }
        other => {
            if let Some(error) = other.failure() {
                let text = format!("`/platform` failed with the error \"{error}\"");
                tell(&s, &input.user, &input.channel, SLACKBOT, text, Value::Null);
            }
        }
    }
    Ok(Json(json!({ "answer": answer.to_json() })))
}

static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[\s(])([@#])([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)").expect("valid regex")
});

/// What a person typed, as Slack stores it: `&`, `<`, `>` escaped, `@handle` and `#channel`
/// turned into mentions and links.
pub fn message_text(typed: &str) -> String {
    let escaped = mrkdwn::escape(typed.trim()).into_owned();
    HANDLE
        .replace_all(&escaped, |c: &regex::Captures<'_>| {
            let (before, sigil, name) = (&c[1], &c[2], &c[3]);
            let linked = match sigil {
                "@" if name == BOT_NAME => Some(format!("<@{BOT_USER_ID}>")),
                "@" if matches!(name, "here" | "channel" | "everyone") => {
                    Some(format!("<!{name}>"))
                }
                "@" => demo::PEOPLE
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| format!("<@{}>", p.id)),
                _ => demo::CHANNELS
                    .iter()
                    .find(|ch| ch.name == name)
                    .map(|ch| format!("<#{}|{}>", ch.id, ch.name)),
            };
            format!(
                "{before}{}",
                linked.unwrap_or_else(|| format!("{sigil}{name}"))
            )
        })
        .into_owned()
}

/// Posts a person's message (already in Slack's form) and returns its ts.
fn post_typed(s: &Shared, input: &Typed, text: &str) -> String {
    let ts = s.ws.next_ts();
    let message = LocalMessage {
        channel: input.channel.clone(),
        ts: ts.clone(),
        thread_ts: input.thread_ts.clone().filter(|t| !t.is_empty()),
        author: input.user.clone(),
        text: text.to_string(),
        blocks: Value::Null,
        visible_to: None,
        after: 0,
    };
    s.ws.post(message, s.fake.messages().len());
    // Slack lists it too: the bot reads a reacted message back with conversations.history.
    s.fake.add_person_message(
        &input.channel,
        &ts,
        input.thread_ts.as_deref().filter(|t| !t.is_empty()),
        &input.user,
        text,
    );
    ts
}

/// Delivers `kind` (`message` or `app_mention`) for a message just posted.
async fn deliver(s: &Shared, kind: &str, input: &Typed, ts: &str, text: &str) -> Answer {
    let event_id = s.ws.next_event_id();
    let posted = UserMessage {
        event_id: &event_id,
        user: &input.user,
        channel: &input.channel,
        ts,
        thread_ts: input.thread_ts.as_deref().filter(|t| !t.is_empty()),
        text,
    };
    let body = match kind {
        "app_mention" => payloads::mention_event(&posted),
        _ => payloads::message_event(&posted),
    };
    s.bot.event(&body).await
}

/// A message that mentions the bot: posted, and delivered as `app_mention` only.
async fn mention(State(s): State<Arc<Shared>>, Json(input): Json<Typed>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let mut text = message_text(&input.text);
    let bot = format!("<@{BOT_USER_ID}>");
    if !text.contains(&bot) {
        text = format!("{bot} {text}").trim_end().to_string();
    }
    let ts = post_typed(&s, &input, &text);
    let answer = deliver(&s, "app_mention", &input, &ts, &text).await;
    Ok(Json(json!({ "ts": ts, "answer": answer.to_json() })))
}

/// Any message: delivered as `message`, and also as `app_mention` when it mentions the bot,
/// as Slack does for an app subscribed to both.
async fn message(State(s): State<Arc<Shared>>, Json(input): Json<Typed>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let text = message_text(&input.text);
    if text.is_empty() {
        return Err(refuse(StatusCode::BAD_REQUEST, "an empty message"));
    }
    let ts = post_typed(&s, &input, &text);
    let answer = deliver(&s, "message", &input, &ts, &text).await;
    let mention = if text.contains(&format!("<@{BOT_USER_ID}>")) {
        Some(
            deliver(&s, "app_mention", &input, &ts, &text)
                .await
                .to_json(),
        )
    } else {
        None
    };
    Ok(Json(
        json!({ "ts": ts, "answer": answer.to_json(), "mention_answer": mention }),
    ))
}

/// Who wrote the message at `ts` in `channel`: the bot or a person; `None` when there is no
/// such message everyone can see (an ephemeral one cannot be reacted to or shared).
fn author_of(s: &Shared, channel: &str, ts: &str) -> Option<String> {
    let by_bot = s
        .fake
        .messages()
        .iter()
        .any(|m| m.channel == channel && m.ts == ts && !m.ephemeral);
    if by_bot {
        return Some(BOT_USER_ID.to_string());
    }
    s.ws.message(channel, ts)
        .filter(|m| m.visible_to.is_none())
        .map(|m| m.author)
}

#[derive(Deserialize)]
struct ShortcutIn {
    user: String,
    channel: String,
    ts: String,
}

/// A person uses the message shortcut ("File as platform request") on a message.
async fn shortcut(State(s): State<Arc<Shared>>, Json(input): Json<ShortcutIn>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let (Some(author), Some((thread_ts, text, _, _))) = (
        author_of(&s, &input.channel, &input.ts),
        find_message(&s, &input.channel, &input.ts),
    ) else {
        return Err(refuse(StatusCode::NOT_FOUND, "no such message"));
    };
    let trigger = s.ws.new_trigger(&input.user);
    let response_url = s.ws.new_response_url(&input.channel, &input.user, None);
    let on = payloads::ShortcutOn {
        channel: &input.channel,
        ts: &input.ts,
        thread_ts: thread_ts.as_deref(),
        author: &author,
        text: &text,
    };
    let payload = payloads::message_action(
        &on,
        &input.user,
        crate::intake::SHORTCUT_CALLBACK,
        &trigger,
        &response_url,
        &s.ws.next_ts(),
    );
    let answer = s.bot.interaction(&payload).await;
    Ok(Json(json!({ "answer": answer.to_json() })))
}

#[derive(Deserialize)]
struct ReactionIn {
    user: String,
    channel: String,
    ts: String,
    reaction: String,
}

/// A person adds a reaction to a message.
async fn reaction(State(s): State<Arc<Shared>>, Json(input): Json<ReactionIn>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let name = input.reaction.trim_matches(':').to_string();
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-'".contains(c));
    if !name_ok {
        return Err(refuse(StatusCode::BAD_REQUEST, "invalid_name"));
    }
    let Some(author) = author_of(&s, &input.channel, &input.ts) else {
        return Err(refuse(StatusCode::NOT_FOUND, "no such message"));
    };
    let added = s.ws.react(PersonReaction {
        channel: input.channel.clone(),
        ts: input.ts.clone(),
        name: name.clone(),
        user: input.user.clone(),
    });
    if !added {
        return Err(refuse(StatusCode::CONFLICT, "already_reacted"));
    }
    let event_id = s.ws.next_event_id();
    let event_ts = s.ws.next_ts();
    let body = payloads::reaction_event(&ReactionAdded {
        event_id: &event_id,
        user: &input.user,
        reaction: &name,
        channel: &input.channel,
        ts: &input.ts,
        item_user: &author,
        event_ts: &event_ts,
    });
    let answer = s.bot.event(&body).await;
    Ok(Json(json!({ "answer": answer.to_json() })))
}

#[derive(Deserialize)]
struct ActionIn {
    user: String,
    channel: String,
    message_ts: String,
    block_id: String,
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

/// The message as its reader sees it now: (thread_ts, text, blocks, ephemeral).
fn find_message(
    s: &Shared,
    channel: &str,
    ts: &str,
) -> Option<(Option<String>, String, Value, bool)> {
    let found = s
        .fake
        .messages()
        .into_iter()
        .find(|m| m.channel == channel && m.ts == ts)
        .map(|m| (m.thread_ts, m.text, m.blocks, m.ephemeral))
        .or_else(|| {
            let m = s.ws.message(channel, ts)?;
            Some((m.thread_ts, m.text, m.blocks, m.visible_to.is_some()))
        });
    let (thread_ts, text, blocks, ephemeral) = found?;
    let (text, blocks) = match s.ws.replacement(channel, ts) {
        Some(r) => (r.text, r.blocks),
        None => (text, blocks),
    };
    Some((
        thread_ts,
        text,
        payloads::with_block_ids(&blocks),
        ephemeral,
    ))
}

async fn action(State(s): State<Arc<Shared>>, Json(input): Json<ActionIn>) -> ApiResult {
    check_ids(&input.user, Some(&input.channel))?;
    let Some((thread_ts, text, blocks, ephemeral)) =
        find_message(&s, &input.channel, &input.message_ts)
    else {
        return Err(refuse(StatusCode::NOT_FOUND, "no such message"));
    };
    let trigger = s.ws.new_trigger(&input.user);
    let response_url =
        s.ws.new_response_url(&input.channel, &input.user, Some(&input.message_ts));
    let action_ts = s.ws.next_ts();
    let message = ActedOn {
        channel: &input.channel,
        ts: &input.message_ts,
        thread_ts: thread_ts.as_deref(),
        text: &text,
        blocks: &blocks,
        ephemeral,
    };
    let click = Click {
        user: &input.user,
        block_id: &input.block_id,
        action_id: &input.action_id,
        value: input.value.as_deref(),
        trigger_id: &trigger,
        response_url: &response_url,
        action_ts: &action_ts,
    };
    let answer = s
        .bot
        .interaction(&payloads::block_actions(&message, &click))
        .await;
    Ok(Json(json!({ "answer": answer.to_json() })))
}

#[derive(Deserialize)]
struct ViewIn {
    user: String,
    view_id: String,
    #[serde(default)]
    values: Value,
}

async fn view_submission(State(s): State<Arc<Shared>>, Json(input): Json<ViewIn>) -> ApiResult {
    check_ids(&input.user, None)?;
    s.ws.sync_views(&s.fake.views());
    let Some(view) = s.ws.open_view(&input.user, &input.view_id) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "no such modal open for this user",
        ));
    };
    let values = payloads::state_values(&view, &input.values);
    let trigger = s.ws.new_trigger(&input.user);
    let payload = payloads::view_submission(&input.user, &view, values, &trigger);
    let answer = s.bot.interaction(&payload).await;
    let closed = if answer.is_empty_ok() {
        s.ws.close_view(&input.user, &input.view_id);
        true
    } else if let Some(body) = answer.ok_json() {
        match body["response_action"].as_str() {
            Some("errors") => false,
            Some("update") => {
                s.ws.update_view(&input.view_id, body["view"].clone());
                false
            }
            Some("push") => {
                s.ws.push_view(&input.user, body["view"].clone());
                false
            }
            _ => {
                s.ws.clear_views(&input.user);
                true
            }
        }
    } else {
        false
    };
    Ok(Json(
        json!({ "answer": answer.to_json(), "closed": closed }),
    ))
}

#[derive(Deserialize)]
struct ClosedIn {
    user: String,
    view_id: String,
}

async fn view_closed(State(s): State<Arc<Shared>>, Json(input): Json<ClosedIn>) -> ApiResult {
    check_ids(&input.user, None)?;
    s.ws.sync_views(&s.fake.views());
    let Some(view) = s.ws.open_view(&input.user, &input.view_id) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "no such modal open for this user",
        ));
    };
    s.ws.close_view(&input.user, &input.view_id);
    let answer = if view["notify_on_close"] == true {
        let payload = payloads::view_closed(&input.user, &view);
        Some(s.bot.interaction(&payload).await.to_json())
    } else {
        None
    };
    Ok(Json(json!({ "closed": true, "answer": answer })))
}

/// The bot answering on a response URL: JSON, or a form with a `payload` field.
async fn response_url(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed = if is_json {
        serde_json::from_slice::<Value>(&body).ok()
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "payload"))
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
    };
    let Some(parsed) = parsed.filter(Value::is_object) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if s.ws.respond(&id, &parsed, s.fake.messages().len()) {
        Json(json!({ "ok": true })).into_response()
    } else {
        (StatusCode::NOT_FOUND, "no_such_response_url").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_is_escaped_and_handles_become_mentions() {
        assert_eq!(
            message_text("@platform-desk prod down <!channel> & @carol in #payments, ask @nobody"),
            "<@U07BOTPLT9> prod down &lt;!channel&gt; &amp; <@U02CAROL> in <#C02PAYMENTS|payments>, ask @nobody"
        );
        assert_eq!(
            message_text("@here look, @dave."),
            "<!here> look, <@U02DAVE>."
        );
        assert_eq!(message_text("mail a@b.c"), "mail a@b.c");
    }

    #[test]
    fn only_the_platform_command_is_installed() {
        assert_eq!(command_text("/platform request x").unwrap(), "request x");
        assert_eq!(command_text("request x").unwrap(), "request x");
        assert_eq!(command_text("/platform").unwrap(), "");
        assert!(command_text("/giphy cat").is_err());
    }
}
