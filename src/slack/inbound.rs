//! Slack's payloads turned into our own `Input` values, the same for HTTP and Socket Mode,
//! and the `Reply` the edge sends back (HTTP body or Socket Mode ack payload).

use serde::Deserialize;
use serde_json::{json, Value};

/// Something a person did in Slack, in our terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    Mention(Mention),
    Submission(Submission),
    Action(Action),
    /// A delivery we understood and deliberately do nothing with.
    Ignored(&'static str),
}

/// A `/platform ...` slash command.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Command {
    #[serde(rename = "user_id")]
    pub user: String,
    #[serde(rename = "channel_id", default)]
    pub channel: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub trigger_id: Option<String>,
    #[serde(default)]
    pub response_url: Option<String>,
}

/// An `app_mention` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub event_id: Option<String>,
    pub user: String,
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
}

/// A modal's `view_submission`.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub user: String,
    pub callback_id: String,
    pub view_id: String,
    pub private_metadata: String,
    /// `view.state.values`: block_id -> action_id -> value object.
    pub values: Value,
}

/// A button or menu in a message (`block_actions`).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub user: String,
    pub action_id: String,
    pub value: Option<String>,
    pub channel: Option<String>,
    pub message_ts: Option<String>,
    pub trigger_id: Option<String>,
}

/// What goes back to Slack in the HTTP response or the Socket Mode ack.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with an empty body (closes a modal on `view_submission`).
    Empty,
    /// A JSON body: an ephemeral message, or `response_action` for a modal.
    Json(Value),
}

impl Reply {
    /// An ephemeral message with mrkdwn `text` (already escaped by the caller).
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Reply::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InboundError {
    #[error("the request body is not a valid {0}")]
    Malformed(&'static str),
}

/// A slash command from its form body (HTTP).
pub fn command_from_form(body: &[u8]) -> Result<Command, InboundError> {
    serde_urlencoded::from_bytes(body).map_err(|_| InboundError::Malformed("slash command form"))
}

/// A slash command from a Socket Mode payload (the same fields as a JSON object).
pub fn command_from_json(payload: &Value) -> Result<Command, InboundError> {
    Command::deserialize(payload).map_err(|_| InboundError::Malformed("slash command payload"))
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
                text: str_at(event, "/text").unwrap_or_default(),
            })
        }
        _ => Input::Ignored("event type not handled"),
    }
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
        Some("block_actions") => {
            let (Some(user), Some(action)) =
                (str_at(payload, "/user/id"), payload.pointer("/actions/0"))
            else {
                return Input::Ignored("block_actions without a user or an action");
            };
            Input::Action(Action {
                user,
                action_id: str_at(action, "/action_id").unwrap_or_default(),
                value: str_at(action, "/value")
                    .or_else(|| str_at(action, "/selected_option/value")),
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

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(command_from_form(b"%%%\xff").is_err());
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
