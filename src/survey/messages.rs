//! What pulse surveys say: the question as a direct message (1-5 buttons, `Add a comment`,
//! the one line on anonymity), the comment form, the results, and the short answers of
//! `/platform survey`.

use super::db::Survey;
use super::results::{parse_distribution, response_rate};
use crate::mrkdwn::{escape, when};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Action ids: the five scores (`pulse_score_1` ... `pulse_score_5`) and the comment button.
pub const SCORE_PREFIX: &str = "pulse_score_";
pub const COMMENT: &str = "pulse_comment";
/// The comment form.
pub const COMMENT_CALLBACK: &str = "pulse_comment_form";
pub const COMMENT_BLOCK: &str = "pulse_comment";
pub const COMMENT_INPUT: &str = "comment";
/// The longest comment kept.
pub const COMMENT_MAX: usize = 3000;

/// The one plain line on anonymity every survey message carries.
pub const ANONYMOUS: &str = "Your answer is anonymous: it is stored without your name or the \
     time you answered, and once the survey closes nobody, the platform team and whoever holds \
     the database included, can tell who answered what.";

const SCALE: &str = "1 = very dissatisfied, 5 = very satisfied";

/// The state of one person's message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    pub score: Option<i64>,
    pub commented: bool,
    pub reminder: bool,
}

/// The survey's direct message to `channel` (a user id, or the DM channel for an update),
/// showing the choice made, if any.
pub fn question(survey: &Survey, channel: &str, shown: Shown) -> Value {
    let q = escape(&survey.question);
    let heading = if shown.reminder {
        format!("*A reminder, in case you missed it:* {q}")
    } else {
        format!("*Pulse survey:* {q}")
    };
    let mut buttons: Vec<Value> = (1..=5)
        .map(|n| {
            let mut b = json!({
                "type": "button",
                "text": { "type": "plain_text", "text": n.to_string() },
                "action_id": format!("{SCORE_PREFIX}{n}"),
                "value": format!("{}:{n}", survey.id),
            });
            if shown.score == Some(n) {
                b["style"] = "primary".into();
            }
            b
        })
        .collect();
    buttons.push(json!({
        "type": "button",
        "text": { "type": "plain_text", "text": "Add a comment" },
        "action_id": COMMENT,
        "value": survey.id.to_string(),
    }));
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": heading } }),
        json!({ "type": "actions", "block_id": format!("pulse:{}", survey.id), "elements": buttons }),
        json!({ "type": "context", "elements": [{ "type": "mrkdwn",
            "text": format!("{SCALE}. Open until {}.", when(survey.closes_at)) }] }),
    ];
    if let Some(score) = shown.score {
        let comment = if shown.commented {
            " Your comment is in too."
        } else {
            ""
        };
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn",
            "text": format!("You chose *{score}*.{comment} You can change your answer until the survey closes.") } }));
    } else if shown.commented {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn",
            "text": "Your comment is in. Pick a number too, if you like." } }));
    }
    blocks.push(
        json!({ "type": "context", "elements": [{ "type": "plain_text", "text": ANONYMOUS }] }),
    );
    let text = match shown.score {
        Some(score) => format!("Pulse survey: {q} (you chose {score})"),
        None => format!("Pulse survey: {q}"),
    };
    json!({ "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false })
}

/// The comment form; `metadata` says which survey and message it belongs to.
pub fn comment_form(metadata: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": COMMENT_CALLBACK,
        "private_metadata": metadata,
        "title": { "type": "plain_text", "text": "Pulse survey" },
        "submit": { "type": "plain_text", "text": "Send" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            { "type": "input", "block_id": COMMENT_BLOCK, "label": { "type": "plain_text", "text": "Your comment" },
              "element": { "type": "plain_text_input", "action_id": COMMENT_INPUT, "multiline": true,
                           "max_length": COMMENT_MAX } },
            { "type": "context", "elements": [{ "type": "plain_text", "text": ANONYMOUS }] },
        ],
    })
}

/// What a survey's results say, given the previous closed ones (the latest first).
pub struct Results<'a> {
    pub survey: &'a Survey,
    pub threshold: u32,
    pub comments: &'a [String],
    /// The closed surveys before this one, the latest first.
    pub earlier: &'a [Survey],
}

/// Trend: the means of up to this many surveys, oldest first.
pub const TREND_LEN: usize = 6;

impl Results<'_> {
    /// The change of the mean since the previous survey with results.
    pub fn change(&self) -> Option<f64> {
        let mean = self.survey.mean?;
        let previous = self.earlier.iter().find_map(|s| s.mean)?;
        Some(mean - previous)
    }

    /// The text: everything under the threshold only the count.
    pub fn text(&self) -> String {
        let s = self.survey;
        let responses = s.responses.unwrap_or(0);
        let rate = response_rate(responses, s.audience);
        let mut out = format!(
            "*Pulse survey results:* {}\n{responses} of {} answered ({:.0}%).",
            escape(&s.question),
            s.audience,
            rate * 100.0
        );
        let (Some(mean), Some(favourable), Some(distribution)) = (
            s.mean,
            s.favourable,
            s.distribution.as_deref().and_then(parse_distribution),
        ) else {
            out.push_str(&format!(
                "\nFewer than {} answers: only their number is shown, so that no answer can be \
                 traced to anyone.",
                self.threshold
            ));
            return out;
        };
        out.push_str(&format!("\nMean: *{mean:.1}* of 5"));
        if let Some(change) = self.change() {
            out.push_str(&format!(" ({change:+.1} since the previous survey)"));
        }
        out.push_str(&format!(
            ". Favourable (4 or 5): *{:.0}%*.",
            favourable * 100.0
        ));
        let most = distribution.iter().copied().max().unwrap_or(0).max(1);
        out.push_str("\n```");
        for (i, count) in distribution.iter().enumerate() {
            let bar = "█".repeat(((count * 20).div_ceil(most)) as usize);
            out.push_str(&format!("\n{} {bar} {count}", i + 1));
        }
        out.push_str("\n```");
        let mut trend: Vec<String> = self
            .earlier
            .iter()
            .take(TREND_LEN - 1)
            .rev()
            .map(|e| e.mean.map_or("–".into(), |m| format!("{m:.1}")))
            .collect();
        if !trend.is_empty() {
            trend.push(format!("{mean:.1}"));
            out.push_str(&format!(
                "\nTrend over the last surveys: {}",
                trend.join(" → ")
            ));
        }
        if !self.comments.is_empty() {
            out.push_str("\n*Comments* (in random order, without names):");
            for c in self.comments {
                out.push_str(&format!("\n> {}", escape(&c.replace('\n', " "))));
            }
        }
        out
    }

    /// The post to `channel`.
    pub fn post(&self, channel: &str) -> Value {
        let text = self.text();
        let mut blocks = Vec::new();
        // Sections hold 3000 characters: long comment lists are split.
        let mut chunk = String::new();
        for line in text.split('\n') {
            if chunk.len() + line.len() + 1 > 2900 && !chunk.is_empty() {
                blocks.push(section(&chunk));
                chunk.clear();
            }
            if !chunk.is_empty() {
                chunk.push('\n');
            }
            chunk.push_str(&line.chars().take(2900).collect::<String>());
        }
        if !chunk.is_empty() {
            blocks.push(section(&chunk));
        }
        blocks.truncate(45);
        let fallback: String = text.chars().take(3000).collect();
        json!({ "channel": channel, "text": fallback, "blocks": blocks, "unfurl_links": false })
    }
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

pub fn none_closed_yet(open: Option<&Survey>) -> String {
    match open {
        Some(s) => format!(
            "No pulse survey has closed yet. The current one is open until {}.",
            when(s.closes_at)
        ),
        None => "No pulse survey has closed yet.".into(),
    }
}

/// Said after the latest results while another survey is open.
pub fn open_now(s: &Survey) -> String {
    format!("\n_A new survey is open until {}._", when(s.closes_at))
}

pub fn team_only() -> &'static str {
    "Only the platform team can start a pulse survey. `/platform survey` shows the latest results."
}

pub fn not_configured() -> &'static str {
    "Pulse surveys are not set up: the policy file has no `[survey]` section."
}

pub fn already_open(s: &Survey) -> String {
    format!(
        "A pulse survey is already open, until {}: one at a time.",
        when(s.closes_at)
    )
}

pub fn started(asked: usize, closes_at: DateTime<Utc>) -> String {
    format!(
        "Pulse survey started: {asked} people are being asked now. It closes {}, and the results go to the announce and team channels.",
        when(closes_at)
    )
}

pub fn nobody_to_ask(channel: &str) -> String {
    format!(
        "Nobody to ask: {} has no members who are people outside the platform team.",
        crate::mrkdwn::channel(channel)
    )
}

pub fn closed() -> &'static str {
    "This survey has closed, so answers are no longer taken. Thank you!"
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn survey() -> Survey {
        let t = Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap();
        Survey {
            id: 7,
            question: "How are the <!channel> tools?".into(),
            started_at: t,
            closes_at: t,
            remind_at: None,
            answer_key: None,
            closed_at: Some(t),
            audience: 10,
            responses: Some(6),
            mean: Some(3.5),
            distribution: Some("[1,0,2,2,1]".into()),
            favourable: Some(0.5),
        }
    }

    #[test]
    fn the_message_has_five_numbered_buttons_a_comment_button_and_says_anonymous() {
        let m = question(&survey(), "U1", Shown::default());
        let buttons = m["blocks"][1]["elements"].as_array().unwrap();
        let texts: Vec<&str> = buttons
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["1", "2", "3", "4", "5", "Add a comment"]);
        let all = m.to_string();
        assert!(all.contains("anonymous"));
        assert!(all.contains("&lt;!channel&gt;") && !all.contains("<!channel>"));
    }

    #[test]
    fn the_updated_message_shows_the_choice() {
        let shown = Shown {
            score: Some(4),
            commented: true,
            reminder: false,
        };
        let m = question(&survey(), "D1", shown);
        assert_eq!(m["blocks"][1]["elements"][3]["style"], "primary");
        assert!(m["blocks"][3]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("You chose *4*"));
    }

    #[test]
    fn results_under_the_threshold_show_only_the_count() {
        let mut s = survey();
        s.responses = Some(3);
        s.mean = None;
        s.distribution = None;
        s.favourable = None;
        let r = Results {
            survey: &s,
            threshold: 5,
            comments: &[],
            earlier: &[],
        };
        let text = r.text();
        assert!(text.contains("3 of 10 answered (30%)"), "{text}");
        assert!(!text.contains("Mean"), "{text}");
    }

    #[test]
    fn results_show_mean_change_favourable_distribution_trend_and_comments() {
        let s = survey();
        let mut before = survey();
        before.mean = Some(3.0);
        let earlier = [before];
        let comments = ["More <@U1> docs".to_string()];
        let r = Results {
            survey: &s,
            threshold: 5,
            comments: &comments,
            earlier: &earlier,
        };
        let text = r.text();
        for part in [
            "Mean: *3.5*",
            "+0.5 since the previous",
            "*50%*",
            "3.0 → 3.5",
            "More &lt;@U1&gt; docs",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }
}
