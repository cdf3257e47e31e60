//! Reading and validating a submitted request form; problems go back to the modal itself,
//! keyed by block id.

use super::messages::form;
use serde_json::Value;
use std::collections::BTreeMap;

/// A valid submitted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRequest {
    pub title: String,
    pub description: String,
    pub urgency: String,
    pub link: Option<String>,
    /// Where the form was opened (from `private_metadata`).
    pub channel: Option<String>,
    /// The message it was opened on (the message shortcut), and that message's author.
    pub message_ts: Option<String>,
    pub author: Option<String>,
}

/// Problems to show in the modal: block id -> message.
pub type FormErrors = BTreeMap<String, String>;

fn text(values: &Value, ids: (&str, &str)) -> String {
    values
        .pointer(&format!("/{}/{}/value", ids.0, ids.1))
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Reads `view.state.values` and `private_metadata` of a request form.
pub fn read(values: &Value, private_metadata: &str) -> Result<FormRequest, FormErrors> {
    let mut errors = FormErrors::new();
    let title = text(values, form::TITLE);
    if title.is_empty() {
        errors.insert(
            form::TITLE.0.into(),
            "Tell us in a few words what you need.".into(),
        );
    } else if title.chars().count() > 150 {
        errors.insert(
            form::TITLE.0.into(),
            "Keep the title under 150 characters; put the rest in Details.".into(),
        );
    }
    let description = text(values, form::DESCRIPTION);
    if description.chars().count() > 3000 {
        errors.insert(
            form::DESCRIPTION.0.into(),
            "Details can be at most 3000 characters.".into(),
        );
    }
    let urgency = values
        .pointer(&format!(
            "/{}/{}/selected_option/value",
            form::URGENCY.0,
            form::URGENCY.1
        ))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !form::URGENCIES.iter().any(|(v, _)| *v == urgency) {
        errors.insert(form::URGENCY.0.into(), "Pick how urgent this is.".into());
    }
    let link = text(values, form::LINK);
    if !link.is_empty() && !is_web_link(&link) {
        errors.insert(
            form::LINK.0.into(),
            "A link must start with https:// or http:// and have no spaces.".into(),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let metadata = serde_json::from_str::<Value>(private_metadata).unwrap_or(Value::Null);
    let meta = |key: &str| {
        metadata
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let description = if description.is_empty() {
        title.clone()
    } else {
        format!("{title}\n\n{description}")
    };
    Ok(FormRequest {
        title,
        description,
        urgency: urgency.to_string(),
        link: (!link.is_empty()).then_some(link),
        channel: meta("channel"),
        message_ts: meta("message_ts"),
        author: meta("author"),
    })
}

fn is_web_link(link: &str) -> bool {
    (link.starts_with("https://") || link.starts_with("http://"))
        && link.len() > "https://".len()
        && link.len() <= 2000
        && !link.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(title: &str, urgency: Option<&str>, link: &str) -> Value {
        json!({
            "title_block": {"title_input": {"type": "plain_text_input", "value": title}},
            "description_block": {"description_input": {"type": "plain_text_input", "value": null}},
            "urgency_block": {"urgency_select": {"type": "static_select",
                "selected_option": urgency.map(|u| json!({"value": u}))}},
            "link_block": {"link_input": {"type": "plain_text_input", "value": link}},
        })
    }

    #[test]
    fn a_complete_form_is_read_with_its_channel() {
        let form = read(
            &values("deploy stuck", Some("high"), "https://ci/1"),
            r#"{"channel":"C1"}"#,
        )
        .unwrap();
        assert_eq!(form.title, "deploy stuck");
        assert_eq!(form.urgency, "high");
        assert_eq!(form.link.as_deref(), Some("https://ci/1"));
        assert_eq!(form.channel.as_deref(), Some("C1"));
    }

    #[test]
    fn each_invalid_input_is_reported_on_its_own_block() {
        let errors = read(&values("   ", None, "ftp://x y"), "").unwrap_err();
        let blocks: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(blocks, ["link_block", "title_block", "urgency_block"]);
    }

    #[test]
    fn missing_state_is_an_error_not_a_panic() {
        assert!(read(&Value::Null, "not json").is_err());
    }
}
