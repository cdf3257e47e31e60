//! What CSAT says: the question to the requester (the 1-5 scale as buttons, and the plain
//! line that it is not anonymous), the question after an answer, and the card's line.

use crate::mrkdwn::{escape, when};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The buttons' action ids are this prefix and the score; their value is the ticket id.
pub const ACTION_PREFIX: &str = "csat_score_";

/// The scale, as the buttons read: each starts with its digit.
pub const LABELS: [&str; 5] = ["1 Poor", "2 Fair", "3 Okay", "4 Good", "5 Great"];

/// The line that says what the answer is not.
pub fn not_anonymous(key: &str) -> String {
    format!(
        "This answer is not anonymous: it belongs to {}, and the platform team sees it on the ticket.",
        escape(key)
    )
}

/// The score an action id stands for.
pub fn score_of(action_id: &str) -> Option<u8> {
    let score: u8 = action_id.strip_prefix(ACTION_PREFIX)?.parse().ok()?;
    (1..=5).contains(&score).then_some(score)
}

fn heading(key: &str) -> String {
    format!("How did we do on {}?", escape(key))
}

fn buttons(ticket_id: i64, chosen: Option<u8>) -> Value {
    let elements: Vec<Value> = (1..=5u8)
        .map(|score| {
            let mut b = json!({
                "type": "button",
                "action_id": format!("{ACTION_PREFIX}{score}"),
                "value": ticket_id.to_string(),
                "text": { "type": "plain_text", "text": LABELS[usize::from(score - 1)] },
            });
            if chosen == Some(score) {
                b["style"] = json!("primary");
            }
            b
        })
        .collect();
    json!({ "type": "actions", "block_id": format!("csat-{ticket_id}"), "elements": elements })
}

fn context(text: String) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// The question, a DM to `person` (a user id: Slack opens the DM).
pub fn question(person: &str, ticket_id: i64, key: &str, title: &str) -> Value {
    let heading = heading(key);
    json!({
        "channel": person,
        "text": heading,
        "unfurl_links": false,
        "blocks": [
            section(format!(
                "*{heading}* Your request _{}_ was resolved. From 1 (poor) to 5 (great):",
                escape(title)
            )),
            buttons(ticket_id, None),
            context(not_anonymous(key)),
        ]
    })
}

/// The question after an answer: the choice shown; while it may still change (until
/// `changeable_until`), the buttons stay, the chosen one marked.
pub fn answered(
    channel: &str,
    ts: &str,
    ticket_id: i64,
    key: &str,
    score: u8,
    changeable_until: Option<DateTime<Utc>>,
) -> Value {
    let heading = heading(key);
    let label = LABELS[usize::from(score.clamp(1, 5) - 1)];
    let mut blocks = vec![section(format!(
        "*{heading}*\n:white_check_mark: You answered *{label}*. Thank you!"
    ))];
    if let Some(until) = changeable_until {
        blocks.push(buttons(ticket_id, Some(score)));
        blocks.push(context(format!(
            "Pressed the wrong one? Press another by {}. {}",
            when(until),
            not_anonymous(key)
        )));
    } else {
        blocks.push(context(not_anonymous(key)));
    }
    json!({ "channel": channel, "ts": ts, "text": format!("{heading} You answered {label}."),
            "blocks": blocks })
}

/// The card's line for a score.
pub fn card_line(score: u8) -> String {
    let stars = ":star:".repeat(usize::from(score.clamp(1, 5)));
    format!("*Satisfaction*\n{stars} {score} of 5")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_has_five_buttons_starting_with_their_digit_and_says_it_is_not_anonymous() {
        let q = question("U05QRST6UV", 42, "PLAT-42", "deploy <!channel> stuck");
        assert_eq!(q["text"], "How did we do on PLAT-42?");
        let buttons = q["blocks"][1]["elements"].as_array().unwrap();
        let texts: Vec<&str> = buttons
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        for (i, t) in texts.iter().enumerate() {
            assert!(t.starts_with(&(i + 1).to_string()), "{t}");
            assert_eq!(
                score_of(buttons[i]["action_id"].as_str().unwrap()),
                Some(i as u8 + 1)
            );
        }
        let all = q.to_string();
        assert!(all.contains("This answer is not anonymous"));
        assert!(!all.contains("<!channel>"), "the title is escaped");
    }

    #[test]
    fn only_the_five_scores_are_scores() {
        for bad in [
            "csat_score_0",
            "csat_score_6",
            "csat_score_x",
            "roadmap_solved",
        ] {
            assert_eq!(score_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn after_the_change_window_the_answer_shows_without_buttons() {
        let open = answered("D1", "1.2", 42, "PLAT-42", 4, Some(Utc::now()));
        assert!(open.to_string().contains("csat_score_4"));
        assert_eq!(open["blocks"][1]["elements"][3]["style"], "primary");
        let closed = answered("D1", "1.2", 42, "PLAT-42", 4, None);
        assert!(!closed.to_string().contains("csat_score_"));
        assert!(closed.to_string().contains("You answered *4 Good*"));
    }
}
