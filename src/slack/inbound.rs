//! Slack's payloads turned into our own `Input` values, the same for HTTP and Socket Mode.
//!
//! Forms are decoded by `serde_urlencoded` and payloads by slack-morphism's typed models
//! (`SlackCommandEvent`, `SlackPushEvent`, `SlackInteractionEvent`); this module only maps
//! them to our types. Where a model lacks a field the bot reads, that one field is decoded
//! here, next to a comment saying which. A delivery the models do not understand (an
//! unknown type, or a known one of another shape) is `Input::Ignored`, never a panic.

use crate::input::{
    Action, Command, Input, Mention, Message, MessageKind, Reaction, Shortcut, Submission,
};
use crate::mrkdwn::plain_from_slack;
use serde::Deserialize;
use serde_json::Value;
use slack_morphism::prelude::{
    SlackAppMentionEvent, SlackCommandEvent, SlackEventCallbackBody,
    SlackInteractionActionContainer, SlackInteractionBlockActionsEvent, SlackInteractionEvent,
    SlackInteractionMessageActionEvent, SlackInteractionViewSubmissionEvent, SlackMessageEvent,
    SlackMessageEventType, SlackPushEvent, SlackPushEventCallback, SlackReactionAddedEvent,
    SlackReactionsItem, SlackView,
};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InboundError {
    #[error("the request body is not a valid {0}")]
    Malformed(&'static str),
}

/// A slash command from its form body (HTTP). A field given twice, or a field Slack always
/// sends missing (`user_id`, `channel_id`, `command`, `team_id`, `response_url`,
/// `trigger_id`), is malformed.
pub fn command_from_form(body: &[u8]) -> Result<Command, InboundError> {
    serde_urlencoded::from_bytes::<SlackCommandEvent>(body)
        .map(command)
        .map_err(|_| InboundError::Malformed("slash command form"))
}

/// A slash command from a Socket Mode payload (the same fields as a JSON object).
pub fn command_from_json(payload: &Value) -> Result<Command, InboundError> {
    SlackCommandEvent::deserialize(payload)
        .map(command)
        .map_err(|_| InboundError::Malformed("slash command payload"))
}

fn command(c: SlackCommandEvent) -> Command {
    let raw_text = c.text.unwrap_or_default();
    Command {
        user: c.user_id.0,
        channel: c.channel_id.0,
        command: c.command.0,
        text: plain_from_slack(&raw_text),
        raw_text,
        trigger_id: Some(c.trigger_id.0),
        response_url: Some(c.response_url.0.into()),
    }
}

/// Whether a form body is Slack's `ssl_check=1` ping. Most bodies are slash commands, which
/// never carry the name: those are not decoded twice.
pub fn is_ssl_check(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"ssl_check").is_some()
        && form_urlencoded::parse(body).any(|(name, value)| name == "ssl_check" && value == "1")
}

/// The interactivity form: one `payload` field holding the JSON payload.
pub fn interaction_from_form(body: &[u8]) -> Result<Value, InboundError> {
    #[derive(Deserialize)]
    struct Form {
        payload: String,
    }
    let malformed = |_| InboundError::Malformed("interactivity form");
    let form: Form = serde_urlencoded::from_bytes(body).map_err(malformed)?;
    serde_json::from_str(&form.payload).map_err(|_| InboundError::Malformed("interaction payload"))
}

/// What an Events API body asks for.
#[derive(Debug, PartialEq)]
pub enum Push {
    /// `url_verification`: answer with the challenge.
    UrlVerification {
        challenge: String,
    },
    Event(Input),
}

/// An Events API body (HTTP), or the payload of an `events_api` envelope (Socket Mode).
pub fn push(body: &Value) -> Push {
    match SlackPushEvent::deserialize(body) {
        Ok(SlackPushEvent::UrlVerification(v)) => Push::UrlVerification {
            challenge: v.challenge,
        },
        Ok(SlackPushEvent::EventCallback(callback)) => {
            Push::Event(event_callback(callback, &body["event"]))
        }
        Ok(SlackPushEvent::AppRateLimited(_)) => Push::Event(Input::Ignored("app_rate_limited")),
        Err(err) => {
            tracing::debug!(error = %err, "an Events API body of no shape the bot reads");
            Push::Event(Input::Ignored("event body not understood"))
        }
    }
}

/// An Events API `event_callback` body.
pub fn event(body: &Value) -> Input {
    match push(body) {
        Push::Event(input) => input,
        Push::UrlVerification { .. } => Input::Ignored("url_verification"),
    }
}

/// `raw` is the same event as JSON, for the one field a model lacks.
fn event_callback(callback: SlackPushEventCallback, raw: &Value) -> Input {
    let event_id = nonempty(callback.event_id.0);
    match callback.event {
        SlackEventCallbackBody::AppMention(m) => mention(event_id, m, raw),
        SlackEventCallbackBody::Message(m) => message(event_id, m),
        SlackEventCallbackBody::ReactionAdded(r) => reaction(event_id, r),
        SlackEventCallbackBody::AppHomeOpened(h) => match h.tab.as_deref() {
            Some("home") | None => Input::HomeOpened { user: h.user.0 },
            Some(_) => Input::Ignored("app home tab other than home"),
        },
        // Types the bot does not handle, and known types of another shape (a mention
        // without a user, a reaction without an item): slack-morphism keeps them as Unknown.
        _ => Input::Ignored("event type not handled"),
    }
}

fn mention(event_id: Option<String>, m: SlackAppMentionEvent, raw: &Value) -> Input {
    // slack-morphism 2.31's `SlackAppMentionEvent` has no `bot_id`, and a mention posted by
    // a bot (a workflow, an integration, ourselves) must not file a ticket: read it here.
    #[derive(Deserialize)]
    struct Sender {
        bot_id: Option<String>,
    }
    let by_bot = Sender::deserialize(raw).is_ok_and(|s| s.bot_id.is_some());
    if by_bot || m.edited.is_some() {
        return Input::Ignored("app_mention from a bot or an edit");
    }
    let (Some(user), Some(channel), Some(ts)) = (
        nonempty(m.user.0),
        nonempty(m.channel.0),
        nonempty(m.origin.ts.0),
    ) else {
        return Input::Ignored("app_mention without user, channel or ts");
    };
    Input::Mention(Mention {
        event_id,
        user,
        channel,
        ts,
        thread_ts: m.origin.thread_ts.and_then(|t| nonempty(t.0)),
        // Raw: intake strips the bot's mention, then makes it plain.
        text: m.content.text.unwrap_or_default(),
    })
}

/// A `message` event: sorted into what matters to intake and threads.
fn message(event_id: Option<String>, m: SlackMessageEvent) -> Input {
    let Some(channel) = m.origin.channel.and_then(|c| nonempty(c.0)) else {
        return Input::Ignored("message without a channel");
    };
    let text = m.content.and_then(|c| c.text).unwrap_or_default();
    let kind = match m.subtype {
        Some(SlackMessageEventType::MessageChanged) => match m.message {
            Some(edited) if edited.sender.bot_id.is_none() => match nonempty(edited.ts.0) {
                Some(ts) => MessageKind::Edited {
                    ts,
                    text: edited.content.and_then(|c| c.text).unwrap_or_default(),
                },
                None => MessageKind::Other("edit of a bot message"),
            },
            _ => MessageKind::Other("edit of a bot message"),
        },
        Some(SlackMessageEventType::MessageDeleted) => {
            match m.deleted_ts.and_then(|t| nonempty(t.0)) {
                Some(ts) => MessageKind::Deleted { ts },
                None => MessageKind::Other("deletion without ts"),
            }
        }
        // Files and thread broadcasts are still a person speaking.
        None
        | Some(SlackMessageEventType::FileShare)
        | Some(SlackMessageEventType::ThreadBroadcast) => {
            let broadcast = m
                .subtype
                .is_some_and(|s| s == SlackMessageEventType::ThreadBroadcast);
            let (Some(user), Some(ts)) = (
                m.sender.user.and_then(|u| nonempty(u.0)),
                nonempty(m.origin.ts.0),
            ) else {
                return Input::Ignored("message without user or ts");
            };
            if m.sender.bot_id.is_some() || m.sender.bot_profile.is_some() {
                MessageKind::Other("bot message")
            } else {
                // Raw, like mentions: see `intake::on_help_message`.
                let thread_ts = m.origin.thread_ts.and_then(|t| nonempty(t.0));
                match thread_ts.filter(|t| *t != ts) {
                    Some(thread_ts) if !broadcast => MessageKind::Reply {
                        user,
                        ts,
                        thread_ts,
                        text,
                    },
                    Some(_) => MessageKind::Other("thread broadcast"),
                    None => MessageKind::Posted { user, ts, text },
                }
            }
        }
        Some(SlackMessageEventType::BotMessage) => MessageKind::Other("bot message"),
        Some(SlackMessageEventType::ChannelJoin | SlackMessageEventType::ChannelLeave) => {
            MessageKind::Other("join or leave")
        }
        Some(SlackMessageEventType::Other(other)) if other == "group_join" => {
            MessageKind::Other("join or leave")
        }
        Some(_) => MessageKind::Other("message subtype not handled"),
    };
    Input::Message(Message {
        event_id,
        channel,
        kind,
    })
}

fn reaction(event_id: Option<String>, r: SlackReactionAddedEvent) -> Input {
    let SlackReactionsItem::Message(item) = r.item else {
        return Input::Ignored("reaction not on a message");
    };
    let (Some(user), Some(reaction), Some(channel), Some(ts)) = (
        nonempty(r.user.0),
        nonempty(r.reaction.0),
        item.origin.channel.and_then(|c| nonempty(c.0)),
        nonempty(item.origin.ts.0),
    ) else {
        return Input::Ignored("reaction not on a message");
    };
    Input::Reaction(Reaction {
        event_id,
        user,
        reaction,
        channel,
        ts,
        item_user: r.item_user.and_then(|u| nonempty(u.0)),
    })
}

/// An interactivity payload (decoded JSON).
pub fn interaction(payload: &Value) -> Input {
    match SlackInteractionEvent::deserialize(payload) {
        Ok(SlackInteractionEvent::ViewSubmission(s)) => submission(s),
        Ok(SlackInteractionEvent::MessageAction(a)) => shortcut(a),
        Ok(SlackInteractionEvent::BlockActions(a)) => action(a, payload),
        Ok(_) => Input::Ignored("interaction type not handled"),
        Err(err) => {
            tracing::debug!(error = %err, "an interaction payload of no shape the bot reads");
            Input::Ignored("interaction type not handled")
        }
    }
}

fn submission(s: SlackInteractionViewSubmissionEvent) -> Input {
    let Some(user) = nonempty(s.user.id.0) else {
        return Input::Ignored("view_submission without a user");
    };
    let (callback_id, private_metadata) = match s.view.view {
        SlackView::Modal(modal) => (modal.callback_id.map(|c| c.0), modal.private_metadata),
        SlackView::Home(home) => (home.callback_id.map(|c| c.0), home.private_metadata),
    };
    let params = s.view.state_params;
    Input::Submission(Submission {
        user,
        callback_id: callback_id.unwrap_or_default(),
        view_id: params.id.0,
        private_metadata: private_metadata.unwrap_or_default(),
        // Our input keeps the values as JSON (block_id -> action_id -> value object).
        values: params
            .state
            .and_then(|state| serde_json::to_value(state.values).ok())
            .unwrap_or(Value::Null),
    })
}

fn shortcut(a: SlackInteractionMessageActionEvent) -> Input {
    let (Some(user), Some(trigger_id), Some(channel), Some(message)) = (
        nonempty(a.user.id.0),
        nonempty(a.trigger_id.0),
        a.channel.and_then(|c| nonempty(c.id.0)),
        a.message,
    ) else {
        return Input::Ignored("message_action without user, trigger, channel or message");
    };
    let Some(message_ts) = nonempty(message.origin.ts.0) else {
        return Input::Ignored("message_action without user, trigger, channel or message");
    };
    Input::Shortcut(Shortcut {
        user,
        callback_id: a.callback_id.0,
        trigger_id,
        channel,
        message_ts,
        message_user: message.sender.user.and_then(|u| nonempty(u.0)),
        text: plain_from_slack(&message.content.text.unwrap_or_default()),
    })
}

/// `raw` is the same payload as JSON, for the one field the model lacks.
fn action(a: SlackInteractionBlockActionsEvent, raw: &Value) -> Input {
    let user = a.user.and_then(|u| nonempty(u.id.0));
    let first = a.actions.and_then(|actions| actions.into_iter().next());
    let (Some(user), Some(first)) = (user, first) else {
        return Input::Ignored("block_actions without a user or an action");
    };
    let (message_ts, container_channel) = match a.container {
        SlackInteractionActionContainer::Message(m) => (Some(m.message_ts.0), m.channel_id),
        SlackInteractionActionContainer::MessageAttachment(m) => {
            (Some(m.message_ts.0), m.channel_id)
        }
        SlackInteractionActionContainer::View(_) => (None, None),
    };
    let value = first
        .value
        .or_else(|| first.selected_option.map(|o| o.value))
        .or_else(|| selected_user(raw));
    Input::Action(Action {
        user,
        action_id: first.action_id.0,
        block_id: first.block_id.map(|b| b.0).unwrap_or_default(),
        value: value.and_then(nonempty),
        channel: a
            .channel
            .map(|c| c.id)
            .or(container_channel)
            .and_then(|c| nonempty(c.0)),
        message_ts: message_ts.and_then(nonempty),
        trigger_id: nonempty(a.trigger_id.0),
    })
}

/// The person picked in a `users_select` (the card's Assign menu): slack-morphism 2.31's
/// `SlackInteractionActionInfo` has no `selected_user`, so it is read here.
fn selected_user(payload: &Value) -> Option<String> {
    #[derive(Deserialize)]
    struct Picked {
        selected_user: Option<String>,
    }
    Picked::deserialize(&payload["actions"][0])
        .ok()?
        .selected_user
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture_json(name: &str) -> Value {
        serde_json::from_str(&fixture(name)).unwrap()
    }

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).expect("fixture exists")
    }

    /// An `event_callback` around `event`, with the fields Slack always sends.
    fn callback(event: Value) -> Value {
        json!({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
               "event_id": "Ev1", "event_time": 1700000000, "event": event})
    }

    /// A slash command form as Slack sends it, with `fields` in place of or besides its own.
    fn form(fields: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = vec![
            ("token", "x"),
            ("team_id", "T1"),
            ("team_domain", "acme"),
            ("channel_id", "C1"),
            ("user_id", "U1"),
            ("command", "/platform"),
            ("response_url", "https://hooks.slack.com/commands/T1/1/x"),
            ("trigger_id", "1.2.3"),
        ];
        for (name, value) in fields {
            all.retain(|(n, _)| n != name);
            all.push((name, value));
        }
        all.retain(|(_, v)| !v.is_empty());
        serde_urlencoded::to_string(all).unwrap()
    }

    #[test]
    fn the_slash_command_fixture_parses_with_its_text_decoded() {
        let cmd = command_from_form(fixture("slash_command.form").as_bytes()).unwrap();
        assert_eq!(cmd.user, "U05QRST6UV");
        assert_eq!(cmd.channel, "C04PLATENG");
        assert_eq!(cmd.command, "/platform");
        assert_eq!(
            cmd.text,
            "request CI pipeline is failing on main <!channel> & more"
        );
        let escaped = form(&[("text", "a &lt;@U1|bob&gt; &amp; <@U2|carol>")]);
        let cmd2 = command_from_form(escaped.as_bytes()).unwrap();
        assert_eq!(cmd2.raw_text, "a &lt;@U1|bob&gt; &amp; <@U2|carol>");
        assert_eq!(cmd2.text, crate::mrkdwn::plain_from_slack(&cmd2.raw_text));
        assert!(cmd.trigger_id.is_some());
        assert!(cmd
            .response_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://hooks.slack.com/commands/")));
    }

    #[test]
    fn a_socket_mode_slash_payload_parses_like_the_form() {
        let envelope: Value =
            serde_json::from_str(&fixture("socket_mode_envelope_slash.json")).unwrap();
        let cmd = command_from_json(&envelope["payload"]).unwrap();
        let form = command_from_form(fixture("slash_command.form").as_bytes()).unwrap();
        assert_eq!(
            cmd.text,
            "request CI pipeline is failing on main <!channel> & more"
        );
        assert_eq!((cmd.user, cmd.channel), (form.user, form.channel));
    }

    #[test]
    fn form_values_are_percent_and_plus_decoded_and_bad_utf8_replaced() {
        let body = form(&[("text", "request <!channel> & café\nnext line")]);
        assert_eq!(
            command_from_form(body.as_bytes()).unwrap().raw_text,
            "request <!channel> & café\nnext line"
        );
        let bad = format!("{}&text=bad+%FF+utf8", form(&[]));
        assert_eq!(
            command_from_form(bad.as_bytes()).unwrap().text,
            "bad \u{FFFD} utf8"
        );
        let no_text = command_from_form(form(&[]).as_bytes()).unwrap();
        assert_eq!((no_text.text.as_str(), no_text.user.as_str()), ("", "U1"));
    }

    #[test]
    fn a_command_form_with_a_field_twice_or_without_a_user_is_malformed() {
        let twice = format!("{}&text=a&text=b", form(&[]));
        assert!(command_from_form(twice.as_bytes()).is_err());
        let twice_user = format!("{}&user_id=U2", form(&[]));
        assert!(command_from_form(twice_user.as_bytes()).is_err());
        assert!(command_from_form(form(&[("user_id", "")]).as_bytes()).is_err());
        assert!(command_from_form(b"%%%\xff").is_err());
        assert!(command_from_form(b"").is_err());
    }

    #[test]
    fn an_ssl_check_is_told_from_a_command() {
        assert!(is_ssl_check(b"token=x&ssl_check=1"));
        assert!(!is_ssl_check(b"ssl_check=0"));
        assert!(!is_ssl_check(form(&[("text", "ssl_check=1")]).as_bytes()));
        assert!(!is_ssl_check(fixture("slash_command.form").as_bytes()));
    }

    #[test]
    fn the_interactivity_form_gives_its_payload_and_refuses_anything_else() {
        let payload = fixture_json("block_actions.json");
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        assert_eq!(interaction_from_form(body.as_bytes()).unwrap(), payload);
        let twice = format!("{body}&{body}");
        assert!(interaction_from_form(twice.as_bytes()).is_err());
        assert!(interaction_from_form(b"other=1").is_err());
        assert!(interaction_from_form(b"payload=not+json").is_err());
    }

    #[test]
    fn an_app_mention_becomes_a_mention_input() {
        let body = fixture_json("event_app_mention.json");
        let Input::Mention(m) = event(&body) else {
            panic!("not a mention")
        };
        assert_eq!(m.event_id.as_deref(), Some("Ev06APPMNT01"));
        assert_eq!(
            (m.user.as_str(), m.channel.as_str(), m.ts.as_str()),
            ("U05QRST6UV", "C04PLATENG", "1700000200.000400")
        );
        assert_eq!(
            m.text,
            "<@U07BOTPLT9> request CI pipeline is failing on main"
        );
        let mut by_bot = body.clone();
        by_bot["event"]["bot_id"] = json!("B0OTHER");
        assert_eq!(
            event(&by_bot),
            Input::Ignored("app_mention from a bot or an edit")
        );
    }

    #[test]
    fn url_verification_gives_its_challenge() {
        assert_eq!(
            push(&fixture_json("url_verification.json")),
            Push::UrlVerification {
                challenge: fixture_json("url_verification.json")["challenge"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        );
    }

    #[test]
    fn a_view_submission_carries_its_state_values() {
        let payload = fixture_json("view_submission.json");
        let Input::Submission(s) = interaction(&payload) else {
            panic!("not a submission")
        };
        assert_eq!(s.callback_id, "platform_request_modal");
        assert_eq!(s.user, "U05QRST6UV");
        assert_eq!(
            s.values.pointer("/summary_block/summary_input/value"),
            payload.pointer("/view/state/values/summary_block/summary_input/value")
        );
        assert!(s
            .values
            .pointer("/severity_block/severity_select/selected_option/value")
            .is_some());
        assert_eq!(s.private_metadata, payload["view"]["private_metadata"]);
    }

    #[test]
    fn a_button_click_carries_its_value_channel_and_message() {
        let Input::Action(a) = interaction(&fixture_json("block_actions.json")) else {
            panic!("not an action")
        };
        assert_eq!(
            a,
            Action {
                user: "U06WXYZ7AB".into(),
                action_id: "platform_request_claim".into(),
                block_id: "req_actions_PR-1042".into(),
                value: Some("PR-1042".into()),
                channel: Some("C04PLATENG".into()),
                message_ts: Some("1700000050.000300".into()),
                trigger_id: Some(
                    "6123456799999.7012345678901.1b2c3d4e5f60718293a4b5c6d7e8f90a".into()
                ),
            }
        );
    }

    #[test]
    fn a_menu_choice_and_a_picked_person_are_the_actions_value() {
        let mut payload = fixture_json("block_actions.json");
        payload["actions"] = json!([{"type": "static_select", "action_id": "prio", "block_id": "b",
            "selected_option": {"text": {"type": "plain_text", "text": "P1"}, "value": "1:P1"}}]);
        let Input::Action(a) = interaction(&payload) else {
            panic!("not an action")
        };
        assert_eq!(a.value.as_deref(), Some("1:P1"));
        payload["actions"] = json!([{"type": "users_select", "action_id": "assign", "block_id": "b",
            "selected_user": "U01BOB"}]);
        let Input::Action(a) = interaction(&payload) else {
            panic!("not an action")
        };
        assert_eq!(a.value.as_deref(), Some("U01BOB"));
    }

    #[test]
    fn a_message_shortcut_carries_the_message_and_its_author() {
        let payload = json!({"type": "message_action", "callback_id": "file_platform_request",
            "trigger_id": "1.2.3", "response_url": "https://hooks.slack.com/app/x",
            "team": {"id": "T1"}, "user": {"id": "U2"}, "channel": {"id": "C1"},
            "message": {"type": "message", "user": "U1", "ts": "1.5", "text": "db &lt;slow&gt;"}});
        let Input::Shortcut(s) = interaction(&payload) else {
            panic!("not a shortcut")
        };
        assert_eq!(
            (
                s.user.as_str(),
                s.message_ts.as_str(),
                s.message_user.as_deref()
            ),
            ("U2", "1.5", Some("U1"))
        );
        assert_eq!(s.text, "db <slow>");
    }

    #[test]
    fn message_events_are_sorted_into_posts_replies_edits_deletions_and_the_rest() {
        let top = fixture_json("event_message_channel.json");
        let reply = fixture_json("event_message_thread_reply.json");
        let kind = |body: &Value| match event(body) {
            Input::Message(m) => m.kind,
            other => panic!("not a message: {other:?}"),
        };
        assert!(matches!(kind(&top), MessageKind::Posted { .. }));
        assert!(
            matches!(kind(&reply), MessageKind::Reply { ref thread_ts, .. } if thread_ts == "1700000000.000100")
        );
        let mut bot = top.clone();
        bot["event"]["bot_id"] = json!("B07BOTPLT9");
        assert_eq!(kind(&bot), MessageKind::Other("bot message"));
        let mut join = top.clone();
        join["event"]["subtype"] = json!("channel_join");
        assert_eq!(kind(&join), MessageKind::Other("join or leave"));
        join["event"]["subtype"] = json!("group_join");
        assert_eq!(kind(&join), MessageKind::Other("join or leave"));
        let mut broadcast = reply.clone();
        broadcast["event"]["subtype"] = json!("thread_broadcast");
        assert_eq!(kind(&broadcast), MessageKind::Other("thread broadcast"));
        let edit = callback(
            json!({"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
            "message": {"type": "message", "user": "U1", "text": "new text", "ts": "1.2"}, "ts": "1.3"}),
        );
        assert_eq!(
            kind(&edit),
            MessageKind::Edited {
                ts: "1.2".into(),
                text: "new text".into()
            }
        );
        let gone = callback(
            json!({"type": "message", "subtype": "message_deleted", "channel": "C1", "deleted_ts": "1.2", "ts": "1.4"}),
        );
        assert_eq!(kind(&gone), MessageKind::Deleted { ts: "1.2".into() });
    }

    #[test]
    fn a_reaction_on_a_message_carries_its_author() {
        let Input::Reaction(r) = event(&fixture_json("event_reaction_added.json")) else {
            panic!("not a reaction")
        };
        assert_eq!(
            (r.reaction.as_str(), r.item_user.as_deref(), r.ts.as_str()),
            ("eyes", Some("U06WXYZ7AB"), "1700000000.000100")
        );
        assert_eq!(r.event_id.as_deref(), Some("Ev06RCTADD01"));
    }

    #[test]
    fn the_home_tab_opening_is_read_and_other_tabs_are_not() {
        let home = callback(
            json!({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}),
        );
        assert_eq!(event(&home), Input::HomeOpened { user: "U1".into() });
        let messages = callback(
            json!({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"}),
        );
        assert_eq!(
            event(&messages),
            Input::Ignored("app home tab other than home")
        );
    }

    #[test]
    fn unknown_event_and_interaction_types_are_ignored() {
        assert_eq!(
            event(&callback(
                json!({"type": "team_join", "user": {"id": "U9"}})
            )),
            Input::Ignored("event type not handled")
        );
        assert_eq!(
            event(&callback(json!({"type": "some_future_event"}))),
            Input::Ignored("event type not handled")
        );
        assert_eq!(
            interaction(&json!({"type": "workflow_step_edit", "team": {"id": "T1"}})),
            Input::Ignored("interaction type not handled")
        );
    }

    #[test]
    fn garbage_is_ignored_not_a_panic() {
        assert_eq!(
            event(&json!({"type": "event_callback"})),
            Input::Ignored("event body not understood")
        );
        // A mention without its user is a known type of another shape.
        assert_eq!(
            event(&callback(
                json!({"type": "app_mention", "channel": "C1", "ts": "1.1"})
            )),
            Input::Ignored("event type not handled")
        );
        assert_eq!(
            interaction(&json!([1, 2])),
            Input::Ignored("interaction type not handled")
        );
        assert_eq!(
            interaction(&json!({"type": "block_actions"})),
            Input::Ignored("interaction type not handled")
        );
        assert!(matches!(event(&json!(null)), Input::Ignored(_)));
    }
}
