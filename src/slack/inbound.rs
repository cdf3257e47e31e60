//! Slack's payloads turned into our own `Input` values, the same for HTTP and Socket Mode,
//! and the `Reply` the edge sends back (HTTP body or Socket Mode ack payload).

use crate::input::{
    Action, Command, Input, Mention, Message, MessageKind, Reaction, Shortcut, Submission,
};
use crate::mrkdwn::plain_from_slack;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InboundError {
    #[error("the request body is not a valid {0}")]
    Malformed(&'static str),
}

/// A slash command from its form body (HTTP).
///
/// Only the fields the bot reads are decoded (a command carries a dozen): this runs for every
/// request. A field given twice, or no `user_id`, is malformed.
pub fn command_from_form(body: &[u8]) -> Result<Command, InboundError> {
    let malformed = || InboundError::Malformed("slash command form");
    let (mut user, mut channel, mut command, mut text, mut trigger_id, mut response_url) =
        (None, None, None, None, None, None);
    for pair in form_pairs(body) {
        let name = memchr::memchr(b'=', pair).map_or(pair, |at| &pair[..at]);
        let field = match name {
            b"user_id" => &mut user,
            b"channel_id" => &mut channel,
            b"command" => &mut command,
            b"text" => &mut text,
            b"trigger_id" => &mut trigger_id,
            b"response_url" => &mut response_url,
            _ => continue,
        };
        if field.is_some() {
            return Err(malformed());
        }
        let value = pair.get(name.len() + 1..).unwrap_or_default();
        *field = Some(form_value(value));
    }
    let user = user.ok_or_else(malformed)?;
    Ok(plain_command(Command {
        user,
        channel: channel.unwrap_or_default(),
        command: command.unwrap_or_default(),
        text: text.unwrap_or_default(),
        raw_text: String::new(),
        trigger_id,
        response_url,
    }))
}

/// The `name=value` pairs of a form body, undecoded. Found with `memchr` (SIMD): the byte
/// by byte `split` showed as about 1% of the server's CPU, run twice over every command.
pub fn form_pairs(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let now = rest?;
        match memchr::memchr(b'&', now) {
            Some(at) => {
                rest = Some(&now[at + 1..]);
                Some(&now[..at])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

/// A form value decoded as `form_urlencoded` decodes it (`+` is a space, `%XX` a byte when
/// both digits are hex, invalid UTF-8 replaced), in one pass and one allocation: the text of
/// every slash command goes through here.
fn form_value(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = match raw[i] {
            b'+' => b' ',
            b'%' => match (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    i += 2;
                    high << 4 | low
                }
                _ => b'%',
            },
            other => other,
        };
        out.push(byte);
        i += 1;
    }
    String::from_utf8(out)
        .unwrap_or_else(|bad| String::from_utf8_lossy(bad.as_bytes()).into_owned())
}

/// A slash command from a Socket Mode payload (the same fields as a JSON object).
pub fn command_from_json(payload: &Value) -> Result<Command, InboundError> {
    Command::deserialize(payload)
        .map(plain_command)
        .map_err(|_| InboundError::Malformed("slash command payload"))
}

fn plain_command(mut cmd: Command) -> Command {
    cmd.raw_text = std::mem::take(&mut cmd.text);
    cmd.text = plain_from_slack(&cmd.raw_text);
    cmd
}

/// An Events API `event_callback` body.
pub fn event(body: &Value) -> Input {
    let event_id = str_at(body, "/event_id");
    let Some(event) = body.get("event") else {
        return Input::Ignored("no event");
    };
    match event.get("type").and_then(Value::as_str) {
        Some("app_mention") => {
            let (Some(user), Some(channel), Some(ts)) = (
                str_at(event, "/user"),
                str_at(event, "/channel"),
                str_at(event, "/ts"),
            ) else {
                return Input::Ignored("app_mention without user, channel or ts");
            };
            if event.get("bot_id").is_some() || event.get("edited").is_some() {
                return Input::Ignored("app_mention from a bot or an edit");
            }
            Input::Mention(Mention {
                event_id,
                user,
                channel,
                ts,
                thread_ts: str_at(event, "/thread_ts"),
                // Raw: intake strips the bot's mention, then makes it plain.
                text: str_at(event, "/text").unwrap_or_default(),
            })
        }
        Some("message") => message(event_id, event),
        Some("reaction_added") => {
            let (Some(user), Some(reaction), Some(channel), Some(ts)) = (
                str_at(event, "/user"),
                str_at(event, "/reaction"),
                str_at(event, "/item/channel"),
                str_at(event, "/item/ts"),
            ) else {
                return Input::Ignored("reaction not on a message");
            };
            if str_at(event, "/item/type").as_deref() != Some("message") {
                return Input::Ignored("reaction not on a message");
            }
            Input::Reaction(Reaction {
                event_id,
                user,
                reaction,
                channel,
                ts,
                item_user: str_at(event, "/item_user"),
            })
        }
        Some("app_home_opened") => match (str_at(event, "/user"), str_at(event, "/tab").as_deref())
        {
            (Some(user), Some("home") | None) => Input::HomeOpened { user },
            _ => Input::Ignored("app home tab other than home"),
        },
        _ => Input::Ignored("event type not handled"),
    }
}

/// A `message` event: sorted into what matters to intake and threads.
fn message(event_id: Option<String>, event: &Value) -> Input {
    let Some(channel) = str_at(event, "/channel") else {
        return Input::Ignored("message without a channel");
    };
    let subtype = str_at(event, "/subtype");
    let kind = match subtype.as_deref() {
        Some("message_changed") => {
            let inner = event.get("message").cloned().unwrap_or(Value::Null);
            match (str_at(&inner, "/ts"), inner.get("bot_id").is_some()) {
                (Some(ts), false) => MessageKind::Edited {
                    ts,
                    text: str_at(&inner, "/text").unwrap_or_default(),
                },
                _ => MessageKind::Other("edit of a bot message"),
            }
        }
        Some("message_deleted") => match str_at(event, "/deleted_ts") {
            Some(ts) => MessageKind::Deleted { ts },
            None => MessageKind::Other("deletion without ts"),
        },
        // Files and thread broadcasts are still a person speaking.
        None | Some("file_share") | Some("thread_broadcast") => {
            let (Some(user), Some(ts)) = (str_at(event, "/user"), str_at(event, "/ts")) else {
                return Input::Ignored("message without user or ts");
            };
            if event.get("bot_id").is_some() || event.get("bot_profile").is_some() {
                MessageKind::Other("bot message")
            } else {
                // Raw, like mentions: see `intake::on_help_message`.
                let text = str_at(event, "/text").unwrap_or_default();
                match str_at(event, "/thread_ts").filter(|t| *t != ts) {
                    Some(thread_ts) if subtype.as_deref() != Some("thread_broadcast") => {
                        MessageKind::Reply {
                            user,
                            ts,
                            thread_ts,
                            text,
                        }
                    }
                    Some(_) => MessageKind::Other("thread broadcast"),
                    None => MessageKind::Posted { user, ts, text },
                }
            }
        }
        Some("bot_message") => MessageKind::Other("bot message"),
        Some("channel_join") | Some("channel_leave") | Some("group_join") => {
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

/// An interactivity payload (decoded JSON).
pub fn interaction(payload: &Value) -> Input {
    match payload.get("type").and_then(Value::as_str) {
        Some("view_submission") => {
            let Some(user) = str_at(payload, "/user/id") else {
                return Input::Ignored("view_submission without a user");
            };
            Input::Submission(Submission {
                user,
                callback_id: str_at(payload, "/view/callback_id").unwrap_or_default(),
                view_id: str_at(payload, "/view/id").unwrap_or_default(),
                private_metadata: str_at(payload, "/view/private_metadata").unwrap_or_default(),
                values: payload
                    .pointer("/view/state/values")
                    .cloned()
                    .unwrap_or(Value::Null),
            })
        }
        Some("message_action") => {
            let (Some(user), Some(trigger_id), Some(channel), Some(message_ts)) = (
                str_at(payload, "/user/id"),
                str_at(payload, "/trigger_id"),
                str_at(payload, "/channel/id"),
                str_at(payload, "/message/ts").or_else(|| str_at(payload, "/message_ts")),
            ) else {
                return Input::Ignored("message_action without user, trigger, channel or message");
            };
            Input::Shortcut(Shortcut {
                user,
                callback_id: str_at(payload, "/callback_id").unwrap_or_default(),
                trigger_id,
                channel,
                message_ts,
                message_user: str_at(payload, "/message/user"),
                text: plain_from_slack(&str_at(payload, "/message/text").unwrap_or_default()),
            })
        }
        Some("block_actions") => {
            let (Some(user), Some(action)) =
                (str_at(payload, "/user/id"), payload.pointer("/actions/0"))
            else {
                return Input::Ignored("block_actions without a user or an action");
            };
            Input::Action(Action {
                user,
                action_id: str_at(action, "/action_id").unwrap_or_default(),
                block_id: str_at(action, "/block_id").unwrap_or_default(),
                value: str_at(action, "/value")
                    .or_else(|| str_at(action, "/selected_option/value"))
                    .or_else(|| str_at(action, "/selected_user")),
                channel: str_at(payload, "/channel/id")
                    .or_else(|| str_at(payload, "/container/channel_id")),
                message_ts: str_at(payload, "/container/message_ts"),
                trigger_id: str_at(payload, "/trigger_id"),
            })
        }
        _ => Input::Ignored("interaction type not handled"),
    }
}

fn str_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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

    #[test]
    fn the_slash_command_fixture_parses_with_its_text_decoded() {
        let cmd = command_from_form(fixture("slash_command.form").as_bytes()).unwrap();
        assert_eq!(cmd.user, "U05QRST6UV");
        assert_eq!(cmd.channel, "C04PLATENG");
        assert_eq!(
            cmd.text,
            "request CI pipeline is failing on main <!channel> & more"
        );
        assert!(cmd.trigger_id.is_some());
    }

    #[test]
    fn a_socket_mode_slash_payload_parses_like_the_form() {
        let envelope: Value =
            serde_json::from_str(&fixture("socket_mode_envelope_slash.json")).unwrap();
        let cmd = command_from_json(&envelope["payload"]).unwrap();
        assert_eq!(
            cmd.text,
            "request CI pipeline is failing on main <!channel> & more"
        );
    }

    #[test]
    fn an_app_mention_becomes_a_mention_input() {
        let body: Value = serde_json::from_str(&fixture("event_app_mention.json")).unwrap();
        let Input::Mention(m) = event(&body) else {
            panic!("not a mention")
        };
        assert_eq!(m.event_id.as_deref(), Some("Ev06APPMNT01"));
        assert_eq!(m.ts, "1700000200.000400");
    }

    #[test]
    fn a_view_submission_carries_its_state_values() {
        let payload: Value = serde_json::from_str(&fixture("view_submission.json")).unwrap();
        let Input::Submission(s) = interaction(&payload) else {
            panic!("not a submission")
        };
        assert_eq!(s.callback_id, "platform_request_modal");
        assert!(s
            .values
            .pointer("/summary_block/summary_input/value")
            .is_some());
    }

    proptest::proptest! {
        #[test]
        fn a_form_value_decodes_as_the_form_urlencoded_crate_decodes_it(
            raw in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::prelude::Just(b'%'),
                proptest::prelude::Just(b'+'),
                proptest::prelude::Just(b'F'),
                proptest::prelude::Just(b'c'),
            ], 0..24)
        ) {
            let raw: Vec<u8> = raw.into_iter().filter(|b| *b != b'&').collect();
            let mut pair = b"text=".to_vec();
            pair.extend_from_slice(&raw);
            let expected = form_urlencoded::parse(&pair).next().map(|(_, v)| v.into_owned());
            proptest::prop_assert_eq!(Some(form_value(&raw)), expected);
        }

        #[test]
        fn form_pairs_split_a_body_as_a_split_at_every_ampersand_does(
            body in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::prelude::Just(b'&'),
                proptest::prelude::Just(b'='),
            ], 0..40)
        ) {
            let ours: Vec<&[u8]> = form_pairs(&body).collect();
            let split: Vec<&[u8]> = body.split(|b| *b == b'&').collect();
            proptest::prop_assert_eq!(ours, split);
        }
    }

    #[test]
    fn a_command_form_reads_as_a_full_form_decoder_reads_it() {
        #[derive(Deserialize)]
        struct Full {
            #[serde(flatten)]
            command: Command,
            #[allow(dead_code)]
            team_domain: String,
        }
        let bodies = [
            fixture("slash_command.form"),
            "token=x&team_domain=acme&user_id=U1&channel_id=C1&command=%2Fplatform&text=request+%3C%21channel%3E+%26+caf%C3%A9%0Anext+line&trigger_id=1.2.3&response_url=https%3A%2F%2Fhooks.slack.com%2Fx".to_string(),
            "team_domain=acme&user_id=U1&text=bad+%FF+utf8&unknown=%%%".to_string(),
            "team_domain=acme&user_id=U%20ME".to_string(),
        ];
        for body in bodies {
            let full: Full = serde_urlencoded::from_bytes(body.as_bytes()).unwrap();
            assert_eq!(
                command_from_form(body.as_bytes()).unwrap(),
                plain_command(full.command),
                "{body}"
            );
        }
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
        let edit = json!({"type": "event_callback", "event": {"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
            "message": {"type": "message", "user": "U1", "text": "new text", "ts": "1.2"}, "ts": "1.3"}});
        assert_eq!(
            kind(&edit),
            MessageKind::Edited {
                ts: "1.2".into(),
                text: "new text".into()
            }
        );
        let gone = json!({"type": "event_callback", "event": {"type": "message", "subtype": "message_deleted", "channel": "C1", "deleted_ts": "1.2", "ts": "1.4"}});
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
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(command_from_form(b"%%%\xff").is_err());
        assert!(
            command_from_form(b"user_id=U1&text=a&text=b").is_err(),
            "a field given twice"
        );
        assert!(command_from_form(b"text=hello").is_err(), "no user");
        assert_eq!(
            event(&json!({"type": "event_callback"})),
            Input::Ignored("no event")
        );
        assert_eq!(
            interaction(&json!([1, 2])),
            Input::Ignored("interaction type not handled")
        );
    }
}
