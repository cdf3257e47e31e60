//! What Slack sends the bot, built the way Slack builds it: the slash-command form, the
//! `message`, `app_mention` and `reaction_added` events, `block_actions`, `view_submission`
//! and `view_closed` payloads, and a modal's `state.values` from what a person typed.

use super::demo;
use crate::sandbox::fake_slack::{APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, TEAM_NAME};
use serde_json::{json, Map, Value};

/// The legacy verification token Slack still puts in payloads (the bot ignores it).
const TOKEN: &str = "sandbox-verification-token";

/// A person's handle as Slack puts it in payloads.
fn handle(user: &str) -> String {
    demo::person(user).map_or_else(|| user.to_lowercase(), |p| p.name.to_string())
}

fn channel_name(channel: &str) -> String {
    match demo::channel(channel) {
        Some(c) => c.name.to_string(),
        None if channel.starts_with('D') => "directmessage".to_string(),
        None => channel.to_lowercase(),
    }
}

fn user_json(user: &str) -> Value {
    let name = handle(user);
    json!({ "id": user, "username": name, "name": name, "team_id": TEAM_ID })
}

fn team_json() -> Value {
    json!({ "id": TEAM_ID, "domain": TEAM_NAME })
}

/// The form body of `/platform <text>`.
pub fn command_form(
    user: &str,
    channel: &str,
    text: &str,
    response_url: &str,
    trigger_id: &str,
) -> String {
    serde_urlencoded::to_string([
        ("token", TOKEN),
        ("team_id", TEAM_ID),
        ("team_domain", TEAM_NAME),
        ("channel_id", channel),
        ("channel_name", &channel_name(channel)),
        ("user_id", user),
        ("user_name", &handle(user)),
        ("command", "/platform"),
        ("text", text),
        ("api_app_id", APP_ID),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id),
    ])
    .unwrap_or_default()
}

/// A message a person just posted, for the events it causes.
pub struct UserMessage<'a> {
    pub event_id: &'a str,
    pub user: &'a str,
    pub channel: &'a str,
    pub ts: &'a str,
    pub thread_ts: Option<&'a str>,
    /// The message text as Slack stores it (escaped, mentions as `<@U...>`).
    pub text: &'a str,
}

/// An Events API `event_callback` around `event`.
fn envelope(event_id: &str, event: Value, ts: &str) -> Value {
    let seconds = ts.split('.').next().unwrap_or("0");
    json!({
        "token": TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": seconds.parse::<i64>().unwrap_or_default(),
        "authorizations": [{
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
    })
}

fn message_fields(kind: &str, m: &UserMessage<'_>) -> Value {
    let mut event = json!({
        "type": kind,
        "client_msg_id": format!("sandbox-{}", m.ts),
        "user": m.user,
        "text": m.text,
        "ts": m.ts,
        "team": TEAM_ID,
        "channel": m.channel,
        "event_ts": m.ts,
    });
    if let Some(thread) = m.thread_ts {
        event["thread_ts"] = json!(thread);
    }
    event
}

/// The `app_mention` delivery for a message that mentions the bot.
pub fn mention_event(m: &UserMessage<'_>) -> Value {
    envelope(m.event_id, message_fields("app_mention", m), m.ts)
}

/// The `message` delivery for a message in a channel (or DM) the bot is in.
pub fn message_event(m: &UserMessage<'_>) -> Value {
    let mut event = message_fields("message", m);
    let kind = if m.channel.starts_with('D') {
        "im"
    } else {
        "channel"
    };
    event["channel_type"] = json!(kind);
    envelope(m.event_id, event, m.ts)
}

/// A `reaction_added` delivery: `user` reacted with `reaction` to the message `ts`.
pub struct ReactionAdded<'a> {
    pub event_id: &'a str,
    pub user: &'a str,
    pub reaction: &'a str,
    pub channel: &'a str,
    pub ts: &'a str,
    /// Who wrote the message.
    pub item_user: &'a str,
    pub event_ts: &'a str,
}

pub fn reaction_event(r: &ReactionAdded<'_>) -> Value {
    let event = json!({
        "type": "reaction_added",
        "user": r.user,
        "reaction": r.reaction,
        "item": { "type": "message", "channel": r.channel, "ts": r.ts },
        "item_user": r.item_user,
        "event_ts": r.event_ts,
    });
    envelope(r.event_id, event, r.event_ts)
}

/// A message the action was taken on, as Slack shows it to the bot.
pub struct ActedOn<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    pub thread_ts: Option<&'a str>,
    pub text: &'a str,
    pub blocks: &'a Value,
    pub ephemeral: bool,
}

/// One click on a button (or choice in a menu) of a message.
pub struct Click<'a> {
    pub user: &'a str,
    pub block_id: &'a str,
    pub action_id: &'a str,
    /// The button's value, or the chosen option's value.
    pub value: Option<&'a str>,
    pub trigger_id: &'a str,
    pub response_url: &'a str,
    pub action_ts: &'a str,
}

/// `blocks` with a `block_id` on every block, as Slack stores a message: the ones sent keep
/// theirs, the others get one from their position (stable for the message's life).
pub fn with_block_ids(blocks: &Value) -> Value {
    let mut blocks = blocks.clone();
    if let Some(list) = blocks.as_array_mut() {
        for (i, block) in list.iter_mut().enumerate() {
            if block.is_object() && !block["block_id"].is_string() {
                block["block_id"] = json!(format!("sbx{i}"));
            }
        }
    }
    blocks
}

/// The element `action_id` of block `block_id` in `blocks` (an actions block's element or
/// a section's accessory).
pub fn find_element<'v>(blocks: &'v Value, block_id: &str, action_id: &str) -> Option<&'v Value> {
    let block = blocks
        .as_array()?
        .iter()
        .find(|b| b["block_id"].as_str() == Some(block_id))?;
    let accessory = std::iter::once(&block["accessory"]);
    let elements = block["elements"].as_array().into_iter().flatten();
    accessory
        .chain(elements)
        .find(|e| e["action_id"].as_str() == Some(action_id))
}

/// Every option of a select (flat, with option groups opened).
fn options(element: &Value) -> Vec<&Value> {
    let plain = element["options"].as_array().into_iter().flatten();
    let grouped = element["option_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["options"].as_array())
        .flatten();
    plain.chain(grouped).collect()
}

fn option_json(element: &Value, value: &str) -> Value {
    options(element)
        .into_iter()
        .find(|o| o["value"].as_str() == Some(value))
        .map_or(
            Value::Null,
            |o| json!({ "text": o["text"].clone(), "value": value }),
        )
}

/// Where a select of people or conversations puts its choice.
fn picked_field(kind: &str) -> Option<&'static str> {
    match kind {
        "users_select" => Some("selected_user"),
        "conversations_select" => Some("selected_conversation"),
        "channels_select" => Some("selected_channel"),
        _ => None,
    }
}

/// The `block_actions` payload for `click` on `message`.
pub fn block_actions(message: &ActedOn<'_>, click: &Click<'_>) -> Value {
    let element = find_element(message.blocks, click.block_id, click.action_id);
    let kind = element.and_then(|e| e["type"].as_str()).unwrap_or("button");
    let mut action = json!({
        "action_id": click.action_id,
        "block_id": click.block_id,
        "type": kind,
        "action_ts": click.action_ts,
    });
    let value = click.value.unwrap_or_default();
    if let Some(field) = picked_field(kind) {
        action[field] = json!(value);
    } else if kind.ends_with("select") || kind == "overflow" || kind == "radio_buttons" {
        let option = element.map_or(Value::Null, |e| option_json(e, value));
        action["selected_option"] = option;
    } else {
        if let Some(element) = element {
            action["text"] = element["text"].clone();
            if let Some(style) = element.get("style") {
                action["style"] = style.clone();
            }
        }
        if click.value.is_some() {
            action["value"] = json!(value);
        }
    }
    let mut container = json!({
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": message.ephemeral,
    });
    if let Some(thread) = message.thread_ts {
        container["thread_ts"] = json!(thread);
    }
    let mut payload = json!({
        "type": "block_actions",
        "user": user_json(click.user),
        "api_app_id": APP_ID,
        "token": TOKEN,
        "container": container,
        "trigger_id": click.trigger_id,
        "team": team_json(),
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": { "id": message.channel, "name": channel_name(message.channel) },
        "state": { "values": {} },
        "response_url": click.response_url,
        "actions": [action],
    });
    // Slack leaves the message out for ephemeral ones.
    if !message.ephemeral {
        let mut shown = json!({
            "type": "message",
            "subtype": "bot_message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": message.text,
            "ts": message.ts,
        });
        if !message.blocks.is_null() {
            shown["blocks"] = message.blocks.clone();
        }
        if let Some(thread) = message.thread_ts {
            shown["thread_ts"] = json!(thread);
        }
        payload["message"] = shown;
    }
    payload
}

/// `view.state.values` for the input blocks of `view`. `entered` maps block id -> action id
/// -> the text typed or the option value chosen (`null` for nothing); an input the page did
/// not send keeps its initial value, as in Slack.
pub fn state_values(view: &Value, entered: &Value) -> Value {
    let mut values = Map::new();
    let inputs = view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "input");
    for block in inputs {
        let (Some(block_id), Some(action_id)) = (
            block["block_id"].as_str(),
            block["element"]["action_id"].as_str(),
        ) else {
            continue;
        };
        let element = &block["element"];
        let kind = element["type"].as_str().unwrap_or("plain_text_input");
        let typed = match entered.get(block_id).and_then(|b| b.get(action_id)) {
            Some(v) => v.as_str().map(str::to_string),
            None => initial(element),
        }
        .filter(|v| !v.is_empty());
        let state = match (kind, picked_field(kind)) {
            (_, Some(field)) => {
                let mut state = json!({ "type": kind });
                state[field] = json!(typed);
                state
            }
            ("static_select" | "radio_buttons", _) => json!({
                "type": kind,
                "selected_option": typed.map_or(Value::Null, |v| option_json(element, &v)),
            }),
            ("datepicker", _) => json!({ "type": kind, "selected_date": typed }),
            ("timepicker", _) => json!({ "type": kind, "selected_time": typed }),
            _ => json!({ "type": kind, "value": typed }),
        };
        let mut by_action = Map::new();
        by_action.insert(action_id.to_string(), state);
        values.insert(block_id.to_string(), Value::Object(by_action));
    }
    Value::Object(values)
}

fn initial(element: &Value) -> Option<String> {
    [
        "initial_value",
        "initial_date",
        "initial_time",
        "initial_user",
        "initial_conversation",
        "initial_channel",
    ]
    .iter()
    .find_map(|k| element[*k].as_str())
    .or_else(|| element["initial_option"]["value"].as_str())
    .map(str::to_string)
}

/// The `view_submission` payload for `view` with `values` as its state.
pub fn view_submission(user: &str, view: &Value, values: Value, trigger_id: &str) -> Value {
    let mut view = view.clone();
    view["state"] = json!({ "values": values });
    json!({
        "type": "view_submission",
        "team": team_json(),
        "user": user_json(user),
        "api_app_id": APP_ID,
        "token": TOKEN,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "enterprise": null,
        "is_enterprise_install": false,
    })
}

/// The message a shortcut was used on, as Slack shows it to the bot.
pub struct ShortcutOn<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    pub thread_ts: Option<&'a str>,
    /// Who wrote it (a person, or the bot).
    pub author: &'a str,
    pub text: &'a str,
}

/// The `message_action` payload of a message shortcut (`callback_id`) used by `user`.
pub fn message_action(
    on: &ShortcutOn<'_>,
    user: &str,
    callback_id: &str,
    trigger_id: &str,
    response_url: &str,
    action_ts: &str,
) -> Value {
    let mut message = json!({
        "type": "message",
        "user": on.author,
        "ts": on.ts,
        "text": on.text,
    });
    if on.author == BOT_USER_ID {
        message["bot_id"] = json!(BOT_ID);
        message["app_id"] = json!(APP_ID);
    }
    if let Some(thread) = on.thread_ts {
        message["thread_ts"] = json!(thread);
    }
    json!({
        "type": "message_action",
        "token": TOKEN,
        "action_ts": action_ts,
        "team": team_json(),
        "user": user_json(user),
        "channel": { "id": on.channel, "name": channel_name(on.channel) },
        "is_enterprise_install": false,
        "enterprise": null,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": on.ts,
        "message": message,
    })
}

/// The `view_closed` payload (sent only for views with `notify_on_close`).
pub fn view_closed(user: &str, view: &Value) -> Value {
    json!({
        "type": "view_closed",
        "team": team_json(),
        "user": user_json(user),
        "api_app_id": APP_ID,
        "token": TOKEN,
        "view": view,
        "is_cleared": false,
        "enterprise": null,
        "is_enterprise_install": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;
    use crate::slack::inbound;

    fn modal() -> Value {
        crate::intake::messages::request_modal(&serde_json::json!({"channel": "C02PAYMENTS"}), None)
    }

    #[test]
    fn a_command_form_parses_as_the_bot_reads_slash_commands() {
        let form = command_form(
            "U02CAROL",
            "C02PAYMENTS",
            "request a <!channel> & more",
            "http://x/response/1",
            "t.1",
        );
        let cmd = inbound::command_from_form(form.as_bytes()).unwrap();
        assert_eq!(cmd.user, "U02CAROL");
        assert_eq!(cmd.channel, "C02PAYMENTS");
        assert_eq!(cmd.text, "request a <!channel> & more");
        assert_eq!(cmd.trigger_id.as_deref(), Some("t.1"));
        assert!(form.contains("channel_name=payments") && form.contains("user_name=carol"));
    }

    #[test]
    fn a_mention_event_is_read_as_a_mention_in_its_thread() {
        let body = mention_event(&UserMessage {
            event_id: "Ev1",
            user: "U02DAVE",
            channel: "C01HELP",
            ts: "1800000000.000150",
            thread_ts: Some("1800000000.000050"),
            text: "<@U07BOTPLT9> stuck",
        });
        let Input::Mention(m) = inbound::event(&body) else {
            panic!("not a mention: {body}")
        };
        assert_eq!(m.event_id.as_deref(), Some("Ev1"));
        assert_eq!(m.thread_ts.as_deref(), Some("1800000000.000050"));
        assert_eq!(m.text, "<@U07BOTPLT9> stuck");
    }

    #[test]
    fn a_message_event_is_a_post_or_a_reply_and_a_reaction_names_its_message() {
        let mut m = UserMessage {
            event_id: "Ev2",
            user: "U02DAVE",
            channel: "C01HELP",
            ts: "1800000000.000150",
            thread_ts: None,
            text: "staging is stuck",
        };
        let post = message_event(&m);
        assert_eq!(post["event"]["channel_type"], "channel");
        assert!(matches!(inbound::event(&post), Input::Message(_)));
        m.thread_ts = Some("1800000000.000050");
        assert_eq!(message_event(&m)["event"]["thread_ts"], "1800000000.000050");

        let body = reaction_event(&ReactionAdded {
            event_id: "Ev3",
            user: "U01ALICE",
            reaction: "ticket",
            channel: "C01HELP",
            ts: "1800000000.000150",
            item_user: "U02DAVE",
            event_ts: "1800000001.000050",
        });
        let Input::Reaction(r) = inbound::event(&body) else {
            panic!("not a reaction: {body}")
        };
        assert_eq!(
            (r.reaction.as_str(), r.ts.as_str()),
            ("ticket", "1800000000.000150")
        );
        assert_eq!(r.item_user.as_deref(), Some("U02DAVE"));
    }

    #[test]
    fn a_click_on_a_button_carries_its_value_message_and_container() {
        let blocks = json!([{ "type": "actions", "block_id": "b", "elements": [
            { "type": "button", "action_id": "claim", "value": "PLAT-1",
              "text": { "type": "plain_text", "text": "Claim" }, "style": "primary" },
            { "type": "static_select", "action_id": "prio", "options": [
                { "text": { "type": "plain_text", "text": "P1" }, "value": "P1" } ] },
            { "type": "users_select", "action_id": "assign" } ] }]);
        let message = ActedOn {
            channel: "C01INTAKE",
            ts: "1.000100",
            thread_ts: None,
            text: "card",
            blocks: &blocks,
            ephemeral: false,
        };
        let click = |action_id, value| Click {
            user: "U01ALICE",
            block_id: "b",
            action_id,
            value,
            trigger_id: "t",
            response_url: "http://x/response/2",
            action_ts: "2.0",
        };
        let payload = block_actions(&message, &click("claim", Some("PLAT-1")));
        assert_eq!(payload["actions"][0]["text"]["text"], "Claim");
        assert_eq!(payload["message"]["blocks"], blocks);
        let Input::Action(action) = inbound::interaction(&payload) else {
            panic!("not an action")
        };
        assert_eq!(action.value.as_deref(), Some("PLAT-1"));
        assert_eq!(action.channel.as_deref(), Some("C01INTAKE"));
        assert_eq!(action.message_ts.as_deref(), Some("1.000100"));

        let payload = block_actions(&message, &click("prio", Some("P1")));
        assert_eq!(
            payload["actions"][0]["selected_option"]["text"]["text"],
            "P1"
        );
        let Input::Action(action) = inbound::interaction(&payload) else {
            panic!("not an action")
        };
        assert_eq!(action.value.as_deref(), Some("P1"));

        let payload = block_actions(&message, &click("assign", Some("U01BOB")));
        assert_eq!(payload["actions"][0]["selected_user"], "U01BOB");
    }

    #[test]
    fn blocks_without_an_id_get_a_stable_one() {
        let blocks = json!([{ "type": "divider" }, { "type": "actions", "block_id": "mine" }]);
        let with = with_block_ids(&blocks);
        assert_eq!(with[0]["block_id"], "sbx0");
        assert_eq!(with[1]["block_id"], "mine");
        assert_eq!(with_block_ids(&Value::Null), Value::Null);
    }

    #[test]
    fn state_values_follow_the_element_types_and_keep_initial_choices() {
        let values = state_values(
            &modal(),
            &json!({ "title_block": { "title_input": "deploy stuck" },
                     "link_block": { "link_input": "" } }),
        );
        assert_eq!(
            values["title_block"]["title_input"],
            json!({ "type": "plain_text_input", "value": "deploy stuck" })
        );
        assert_eq!(values["link_block"]["link_input"]["value"], Value::Null);
        assert_eq!(
            values["description_block"]["description_input"]["value"],
            Value::Null
        );
        let urgency = &values["urgency_block"]["urgency_select"];
        assert_eq!(urgency["type"], "static_select");
        assert_eq!(urgency["selected_option"]["value"], "normal");
        assert!(urgency["selected_option"]["text"]["text"].is_string());
    }

    #[test]
    fn a_submission_is_read_with_its_callback_metadata_and_values() {
        let mut view = modal();
        // As the fake's views.open stores it (and Slack sends it back).
        view["id"] = json!("V1");
        view["team_id"] = json!(TEAM_ID);
        view["hash"] = json!("1.h");
        let values = state_values(&view, &json!({ "title_block": { "title_input": "x" } }));
        let payload = view_submission("U02CAROL", &view, values, "t");
        let Input::Submission(s) = inbound::interaction(&payload) else {
            panic!("not a submission")
        };
        assert_eq!(s.callback_id, "platform_request");
        assert_eq!(s.view_id, "V1");
        assert!(s.private_metadata.contains("C02PAYMENTS"));
        assert_eq!(s.values["title_block"]["title_input"]["value"], "x");
    }
}
