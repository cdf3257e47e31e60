//! What each Web API method does to the fake workspace and answers (after auth and failure injection).

use crate::slack::ts::order;
use serde_json::{json, Map, Value};

use super::state::{
    Inner, OpenedView, PostedMessage, Reaction, APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_ID,
    TEAM_NAME,
};

/// Most blocks Slack accepts in a message, and in a modal or Home tab.
const MAX_MESSAGE_BLOCKS: usize = 50;
const MAX_VIEW_BLOCKS: usize = 100;

type Answer = Result<Value, String>;

/// Answers one authorised call. `Ok` is the success body (`ok:true` is added by the caller),
/// `Err` a Slack error code.
pub(crate) fn dispatch(inner: &mut Inner, ws_base: &str, method: &str, body: &Value) -> Answer {
    if let Some(canned) = inner.canned.get(method) {
        return Ok(canned.clone());
    }
    match method {
        "chat.postMessage" => post_message(inner, body),
        "chat.postEphemeral" => post_ephemeral(inner, body),
        "chat.update" => update_message(inner, body),
        "views.open" | "views.push" => open_view(inner, method, body),
        "views.update" => update_view(inner, body),
        "views.publish" => publish_view(inner, body),
        "conversations.open" => open_conversation(body),
        "conversations.history" => history(inner, body, false),
        "conversations.replies" => history(inner, body, true),
        "reactions.add" => add_reaction(inner, body),
        "auth.test" => Ok(json!({
            "url": format!("https://{TEAM_NAME}.slack.com/"),
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": false,
        })),
        "users.info" => user_info(inner, body),
        "conversations.members" => members(inner, body),
        "usergroups.users.list" => Ok(json!({ "users": [] })),
        "apps.connections.open" => {
            inner.tickets_issued += 1;
            Ok(json!({ "url": format!("{ws_base}/link/?ticket={}", inner.tickets_issued) }))
        }
        _ => Ok(json!({})),
    }
}

/// A field as a string: strings as they are, numbers and booleans printed.
pub(crate) fn str_field(body: &Value, name: &str) -> Option<String> {
    match body.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `U…`/`W…` user IDs become their DM channel `D…`, as Slack does; other IDs stay.
pub(crate) fn dm_channel_for(channel: &str) -> String {
    match channel
        .strip_prefix('U')
        .or_else(|| channel.strip_prefix('W'))
    {
        Some(rest) if !rest.is_empty() => format!("D{rest}"),
        _ => channel.to_string(),
    }
}

/// The `blocks` field: `Null` if absent, an error if it is not a list or is too long.
fn blocks_field(body: &Value, max: usize, error: &str) -> Result<Value, String> {
    match body.get("blocks") {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::Array(items)) if items.len() <= max => Ok(Value::Array(items.clone())),
        Some(_) => Err(error.to_string()),
    }
}

fn has_content(body: &Value, blocks: &Value) -> bool {
    str_field(body, "text").is_some()
        || blocks.as_array().is_some_and(|b| !b.is_empty())
        || body.get("attachments").is_some_and(|a| !a.is_null())
}

fn message_json(ts: &str, text: &str, blocks: &Value, thread_ts: Option<&str>) -> Value {
    let mut message = json!({
        "type": "message",
        "ts": ts,
        "text": text,
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
    });
    if !blocks.is_null() {
        message["blocks"] = blocks.clone();
    }
    if let Some(thread_ts) = thread_ts {
        message["thread_ts"] = json!(thread_ts);
    }
    message
}

fn post_message(inner: &mut Inner, body: &Value) -> Answer {
    let channel = str_field(body, "channel").ok_or("channel_not_found")?;
    let blocks = blocks_field(body, MAX_MESSAGE_BLOCKS, "invalid_blocks")?;
    if !has_content(body, &blocks) {
        return Err("no_text".into());
    }
    let channel = dm_channel_for(&channel);
    let text = str_field(body, "text").unwrap_or_default();
    let thread_ts = str_field(body, "thread_ts");
    let ts = inner.next_ts();
    let message = message_json(&ts, &text, &blocks, thread_ts.as_deref());
    inner.messages.push(PostedMessage {
        channel: channel.clone(),
        ts: ts.clone(),
        thread_ts,
        text,
        blocks,
        user: None,
        ephemeral: false,
        updated: false,
        metadata: body.get("metadata").cloned().unwrap_or(Value::Null),
    });
    Ok(json!({ "channel": channel, "ts": ts, "message": message }))
}

fn post_ephemeral(inner: &mut Inner, body: &Value) -> Answer {
    let channel = str_field(body, "channel").ok_or("channel_not_found")?;
    let user = str_field(body, "user").ok_or("user_not_found")?;
    let blocks = blocks_field(body, MAX_MESSAGE_BLOCKS, "invalid_blocks")?;
    if !has_content(body, &blocks) {
        return Err("no_text".into());
    }
    let ts = inner.next_ts();
    inner.messages.push(PostedMessage {
        channel: dm_channel_for(&channel),
        ts: ts.clone(),
        thread_ts: str_field(body, "thread_ts"),
        text: str_field(body, "text").unwrap_or_default(),
        blocks,
        user: Some(user),
        ephemeral: true,
        updated: false,
        metadata: Value::Null,
    });
    Ok(json!({ "message_ts": ts }))
}

fn update_message(inner: &mut Inner, body: &Value) -> Answer {
    let channel = str_field(body, "channel").ok_or("channel_not_found")?;
    let ts = str_field(body, "ts").ok_or("message_not_found")?;
    let channel = dm_channel_for(&channel);
    let blocks = blocks_field(body, MAX_MESSAGE_BLOCKS, "invalid_blocks")?;
    if !has_content(body, &blocks) {
        return Err("no_text".into());
    }
    let stored = inner
        .messages
        .iter_mut()
        .find(|m| !m.ephemeral && m.channel == channel && m.ts == ts)
        .ok_or("message_not_found")?;
    if let Some(text) = str_field(body, "text") {
        stored.text = text;
    }
    if !blocks.is_null() {
        stored.blocks = blocks;
    }
    stored.updated = true;
    let mut message = message_json(&ts, &stored.text, &stored.blocks, None);
    if let Some(map) = message.as_object_mut() {
        map.remove("ts");
    }
    let mut answer = json!({
        "channel": channel,
        "ts": ts,
        "text": stored.text,
        "message": message,
    });
    if let Some(thread_ts) = &stored.thread_ts {
        answer["thread_ts"] = json!(thread_ts);
    }
    Ok(answer)
}

/// The submitted `view` as an object; modals need a title, and blocks are limited.
fn submitted_view(body: &Value) -> Result<Map<String, Value>, String> {
    let view = body
        .get("view")
        .and_then(Value::as_object)
        .ok_or("invalid_arguments")?;
    let kind = view.get("type").and_then(Value::as_str).unwrap_or("modal");
    if kind == "modal" && view.get("title").is_none_or(Value::is_null) {
        return Err("invalid_arguments".into());
    }
    match view.get("blocks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= MAX_VIEW_BLOCKS => {}
        Some(_) => return Err("invalid_arguments".into()),
    }
    Ok(view.clone())
}

/// The view as Slack returns it: the submitted fields plus the ones a typed client requires.
fn stored_view(
    mut view: Map<String, Value>,
    id: &str,
    hash: &str,
    root_view_id: &str,
    previous_view_id: Option<&str>,
) -> Value {
    let kind = view
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("modal")
        .to_string();
    for (key, default) in [
        ("blocks", json!([])),
        ("callback_id", json!("")),
        ("private_metadata", json!("")),
        ("external_id", json!("")),
    ] {
        if view.get(key).is_none_or(Value::is_null) {
            view.insert(key.to_string(), default);
        }
    }
    view.insert("id".into(), json!(id));
    view.insert("team_id".into(), json!(TEAM_ID));
    view.insert("type".into(), json!(kind));
    view.insert("hash".into(), json!(hash));
    view.insert("state".into(), json!({ "values": {} }));
    view.insert("root_view_id".into(), json!(root_view_id));
    view.insert("previous_view_id".into(), json!(previous_view_id));
    view.insert("app_id".into(), json!(APP_ID));
    view.insert("app_installed_team_id".into(), json!(TEAM_ID));
    view.insert("bot_id".into(), json!(BOT_ID));
    Value::Object(view)
}

fn remember_view(
    inner: &mut Inner,
    method: &str,
    view_id: &str,
    hash: String,
    view: Value,
    trigger_id: Option<String>,
    user_id: Option<String>,
) -> Answer {
    inner
        .live_views
        .insert(view_id.to_string(), (hash, view.clone()));
    inner.views.push(OpenedView {
        method: method.to_string(),
        view_id: view_id.to_string(),
        trigger_id,
        user_id,
        view: view.clone(),
    });
    Ok(json!({ "view": view }))
}

fn open_view(inner: &mut Inner, method: &str, body: &Value) -> Answer {
    let trigger_id = str_field(body, "trigger_id").ok_or("invalid_arguments")?;
    let view = submitted_view(body)?;
    let id = inner.next_view_id();
    let hash = inner.next_hash();
    // A pushed view stacks on the most recent modal; an opened one starts a stack.
    let previous = if method == "views.push" {
        inner
            .views
            .iter()
            .rev()
            .find(|v| v.view["type"] == "modal")
            .map(|v| v.view_id.clone())
    } else {
        None
    };
    let root = previous
        .as_ref()
        .and_then(|p| inner.live_views.get(p))
        .and_then(|(_, v)| v["root_view_id"].as_str().map(str::to_string))
        .unwrap_or_else(|| id.clone());
    let stored = stored_view(view, &id, &hash, &root, previous.as_deref());
    remember_view(inner, method, &id, hash, stored, Some(trigger_id), None)
}

fn update_view(inner: &mut Inner, body: &Value) -> Answer {
    let view = submitted_view(body)?;
    let id = match (str_field(body, "view_id"), str_field(body, "external_id")) {
        (Some(id), _) => id,
        (None, Some(external)) => inner
            .live_views
            .iter()
            .find(|(_, (_, v))| v["external_id"] == external.as_str())
            .map(|(id, _)| id.clone())
            .ok_or("not_found")?,
        (None, None) => return Err("invalid_arguments".into()),
    };
    // Unknown view IDs are accepted: tests replay fixture submissions of views the fake never opened.
    let (root, previous) = match inner.live_views.get(&id) {
        Some((current_hash, current)) => {
            if let Some(hash) = str_field(body, "hash") {
                if &hash != current_hash {
                    return Err("hash_conflict".into());
                }
            }
            (
                current["root_view_id"].as_str().unwrap_or(&id).to_string(),
                current["previous_view_id"].as_str().map(str::to_string),
            )
        }
        None => (id.clone(), None),
    };
    let hash = inner.next_hash();
    let stored = stored_view(view, &id, &hash, &root, previous.as_deref());
    remember_view(inner, "views.update", &id, hash, stored, None, None)
}

fn publish_view(inner: &mut Inner, body: &Value) -> Answer {
    let user_id = str_field(body, "user_id").ok_or("invalid_arguments")?;
    let view = submitted_view(body)?;
    if view.get("type").and_then(Value::as_str) != Some("home") {
        return Err("invalid_arguments".into());
    }
    let id = match inner.home_views.get(&user_id) {
        Some(id) => id.clone(),
        None => {
            let id = inner.next_view_id();
            inner.home_views.insert(user_id.clone(), id.clone());
            id
        }
    };
    if let (Some(hash), Some((current_hash, _))) =
        (str_field(body, "hash"), inner.live_views.get(&id))
    {
        if &hash != current_hash {
            return Err("hash_conflict".into());
        }
    }
    let hash = inner.next_hash();
    let stored = stored_view(view, &id, &hash, &id, None);
    remember_view(
        inner,
        "views.publish",
        &id,
        hash,
        stored,
        None,
        Some(user_id),
    )
}

fn flag(body: &Value, name: &str) -> bool {
    str_field(body, name).is_some_and(|v| v == "true" || v == "1")
}

/// `conversations.history` (a channel's top-level messages, newest first) or, with
/// `replies`, `conversations.replies` (a thread's parent and replies, oldest first): bounded
/// by `oldest`/`latest` (`inclusive`), paged by `limit` and an offset `cursor`, with message
/// metadata when `include_all_metadata` is set. Ephemeral messages are never listed.
fn history(inner: &Inner, body: &Value, replies: bool) -> Answer {
    let channel = dm_channel_for(&str_field(body, "channel").ok_or("channel_not_found")?);
    let parent = if replies {
        Some(str_field(body, "ts").ok_or("thread_not_found")?)
    } else {
        None
    };
    let inclusive = flag(body, "inclusive");
    let bound = |name: &str| str_field(body, name).and_then(|t| order(&t));
    let (oldest, latest) = (bound("oldest"), bound("latest"));
    let within = |ts: (u64, u64)| {
        let above = oldest.is_none_or(|o| ts > o || (inclusive && ts == o));
        let below = latest.is_none_or(|l| ts < l || (inclusive && ts == l));
        above && below
    };
    let mut found: Vec<&PostedMessage> = inner
        .messages
        .iter()
        .chain(&inner.people)
        .filter(|m| m.channel == channel && !m.ephemeral)
        .filter(|m| match &parent {
            Some(parent) => &m.ts == parent || m.thread_ts.as_ref() == Some(parent),
            None => m.thread_ts.as_ref().is_none_or(|t| t == &m.ts),
        })
        .filter(|m| order(&m.ts).is_some_and(within))
        .collect();
    found.sort_by_key(|m| order(&m.ts));
    if !replies {
        found.reverse();
    }
    let limit = str_field(body, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(100)
        .min(999);
    let start = str_field(body, "cursor")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let metadata = flag(body, "include_all_metadata");
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(limit)
        .map(|m| {
            let mut json = message_json(&m.ts, &m.text, &m.blocks, m.thread_ts.as_deref());
            if let Some(person) = &m.user {
                // A person's message: theirs, with no bot fields.
                json["user"] = json!(person);
                if let Some(fields) = json.as_object_mut() {
                    fields.remove("bot_id");
                    fields.remove("app_id");
                }
            }
            if metadata && !m.metadata.is_null() {
                json["metadata"] = m.metadata.clone();
            }
            json
        })
        .collect();
    let more = start + page.len() < found.len();
    let next = if more {
        (start + page.len()).to_string()
    } else {
        String::new()
    };
    Ok(json!({
        "messages": page,
        "has_more": more,
        "response_metadata": { "next_cursor": next },
    }))
}

fn open_conversation(body: &Value) -> Answer {
    if let Some(channel) = str_field(body, "channel") {
        return Ok(json!({ "channel": { "id": channel }, "already_open": true }));
    }
    let users: Vec<String> = match body.get("users") {
        Some(Value::String(list)) => list
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let id = match users.as_slice() {
        [] => return Err("users_list_not_supplied".into()),
        [one] => dm_channel_for(one),
        many => {
            let joined: String = many.iter().map(|u| u.trim_start_matches('U')).collect();
            format!("G{joined}")
        }
    };
    Ok(json!({ "channel": { "id": id }, "no_op": false, "already_open": false }))
}

fn add_reaction(inner: &mut Inner, body: &Value) -> Answer {
    let name = str_field(body, "name").ok_or("invalid_name")?;
    if name.contains(':') || name.contains(char::is_whitespace) {
        return Err("invalid_name".into());
    }
    let channel = str_field(body, "channel").ok_or("no_item_specified")?;
    let timestamp = str_field(body, "timestamp").ok_or("no_item_specified")?;
    let reaction = Reaction {
        channel: dm_channel_for(&channel),
        timestamp,
        name,
    };
    if !inner.reaction_set.insert(reaction.clone()) {
        return Err("already_reacted".into());
    }
    inner.reactions.push(reaction);
    Ok(json!({}))
}

/// `conversations.members`: a page of `limit` (default 100, at most 1000) from the cursor,
/// which is `dXNlcjo` + the offset, opaque enough that nobody computes it.
fn members(inner: &Inner, body: &Value) -> Answer {
    let channel = str_field(body, "channel").ok_or("channel_not_found")?;
    let all = inner.members.get(&channel).ok_or("channel_not_found")?;
    let limit = str_field(body, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let from = match str_field(body, "cursor") {
        None => 0,
        Some(c) => c
            .strip_prefix("dXNlcjo")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or("invalid_cursor")?,
    };
    let page: Vec<&String> = all.iter().skip(from).take(limit).collect();
    let next = if from + limit < all.len() {
        format!("dXNlcjo{}", from + limit)
    } else {
        String::new()
    };
    Ok(json!({ "members": page, "response_metadata": { "next_cursor": next } }))
}

fn user_info(inner: &Inner, body: &Value) -> Answer {
    let id = str_field(body, "user").ok_or("user_not_found")?;
    if let Some(user) = inner.users.get(&id) {
        return Ok(json!({ "user": user }));
    }
    if !(id.starts_with('U') || id.starts_with('W')) {
        return Err("user_not_found".into());
    }
    Ok(json!({ "user": default_user(&id) }))
}

/// A plausible user: the fixture people by name, anyone else generated from the ID.
pub(crate) fn default_user(id: &str) -> Value {
    let (name, real_name, tz, tz_label, tz_offset, is_bot) = match id {
        "U05QRST6UV" => (
            "alice".to_string(),
            "Alice Anders".to_string(),
            "Europe/Berlin",
            "Central European Time",
            3600,
            false,
        ),
        "U06WXYZ7AB" => (
            "bob".to_string(),
            "Bob Brown".to_string(),
            "America/New_York",
            "Eastern Standard Time",
            -18000,
            false,
        ),
        BOT_USER_ID => (
            BOT_NAME.to_string(),
            "Platform Desk".to_string(),
            "America/Los_Angeles",
            "Pacific Standard Time",
            -28800,
            true,
        ),
        other => {
            let name = format!("user-{}", other.to_lowercase());
            let real = format!("User {other}");
            (
                name,
                real,
                "Etc/UTC",
                "Coordinated Universal Time",
                0,
                false,
            )
        }
    };
    json!({
        "id": id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real_name,
        "deleted": false,
        "is_bot": is_bot,
        "is_admin": false,
        "tz": tz,
        "tz_label": tz_label,
        "tz_offset": tz_offset,
        "profile": {
            "real_name": real_name,
            "display_name": name,
            "email": format!("{name}@acme.example"),
            "team": TEAM_ID,
        },
    })
}
