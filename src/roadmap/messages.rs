//! What the roadmap looks like in Slack: the overview with its Follow buttons, one item with
//! its history and tickets, the ship notices and their answer buttons, the add and link
//! forms, and every reply. Everything people typed is escaped (`crate::mrkdwn`).

use super::db::Change;
use super::model::{key, Field, Item, ShipAnswers};
use crate::domain::ticket::shorten;
use crate::mrkdwn::{self, escape, when};
use crate::tickets::Ticket;
use serde_json::{json, Value};

/// Action and callback ids; a button's value is the item's number.
pub mod ids {
    pub const FOLLOW: &str = "roadmap_follow";
    pub const SOLVED: &str = "roadmap_solved";
    pub const NOT_QUITE: &str = "roadmap_not_quite";
    pub const ADD_CALLBACK: &str = "roadmap_add";
    pub const LINK_CALLBACK: &str = "roadmap_link";
    /// The add form's inputs: (block id, action id).
    pub const TITLE: (&str, &str) = ("title_block", "title_input");
    pub const DESCRIPTION: (&str, &str) = ("description_block", "description_input");
    pub const TARGET: (&str, &str) = ("target_block", "target_input");
    pub const OWNER: (&str, &str) = ("owner_block", "owner_input");
    /// The link form's menu of items.
    pub const ITEM: (&str, &str) = ("item_block", "item_input");
}

/// The answers a ship notice's buttons record, as stored.
pub const SOLVED: &str = "solved";
pub const NOT_QUITE: &str = "not_quite";

/// How many items of each group the overview shows before "and N more".
pub const GROUP_LIMIT: usize = 10;

/// `*RM-3* Title · in progress · 2027-Q1 · on track · <@owner>`
pub fn item_line(item: &Item) -> String {
    let mut parts = vec![
        format!("*{}* {}", item.key(), escape(&item.title)),
        item.status.label().to_string(),
    ];
    if let Some(t) = &item.target {
        parts.push(format!("target {}", escape(t)));
    }
    if let Some(h) = item.health {
        parts.push(h.label().to_string());
    }
    if let Some(o) = &item.owner {
        parts.push(mrkdwn::user(o));
    }
    parts.join(" · ")
}

fn follow_button(item: &Item) -> Value {
    json!({ "type": "button", "action_id": ids::FOLLOW, "value": item.id.to_string(),
            "text": { "type": "plain_text", "text": "Follow" } })
}

/// `/platform roadmap`: in progress, next up, recently shipped; each item with Follow.
pub fn overview(groups: &[(&str, &[Item], usize)]) -> Value {
    let mut blocks = vec![json!({ "type": "header",
        "text": { "type": "plain_text", "text": "The platform roadmap" } })];
    let mut fallback = vec!["The platform roadmap".to_string()];
    for (heading, items, total) in groups {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{heading}*") } }));
        if items.is_empty() {
            blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": "_nothing yet_" }] }));
        }
        for item in items.iter().take(GROUP_LIMIT) {
            blocks.push(json!({ "type": "section",
                "text": { "type": "mrkdwn", "text": item_line(item) },
                "accessory": follow_button(item) }));
            fallback.push(format!("{} {}", item.key(), escape(&item.title)));
        }
        let shown = items.len().min(GROUP_LIMIT);
        if *total > shown {
            blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn",
                "text": format!("and {} more", total - shown) }] }));
        }
    }
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn",
        "text": "`/platform roadmap show RM-3` for an item's history and tickets · `/platform roadmap follow RM-3` to hear when it ships" }] }));
    json!({ "response_type": "ephemeral", "text": fallback.join("\n"), "blocks": blocks })
}

fn change_line(c: &Change) -> String {
    let by = c
        .actor
        .as_deref()
        .map(|a| format!(" by {}", mrkdwn::user(a)))
        .unwrap_or_default();
    let value = |v: &Option<String>| {
        v.as_deref()
            .map(|v| escape(&shorten(v, 60)).into_owned())
            .unwrap_or_else(|| "—".into())
    };
    let what = if c.field == "created" {
        "created".to_string()
    } else {
        format!(
            "{}: {} → {}",
            escape(&c.field),
            value(&c.old),
            value(&c.new)
        )
    };
    format!("• {} {what}{by}", when(c.at))
}

/// `/platform roadmap show RM-3`: the item, its linked tickets, what the people told it
/// shipped answered, and its latest changes.
pub fn show(
    item: &Item,
    history: &[Change],
    tickets: &[Ticket],
    followers: usize,
    answers: ShipAnswers,
) -> String {
    let mut out = vec![item_line(item)];
    if let Some(d) = &item.description {
        out.push(escape(&shorten(d, 1500)).into_owned());
    }
    if let Some(l) = &item.link {
        out.push(format!("Link: {}", escape(l)));
    }
    out.push(format!(
        "{followers} following · `/platform roadmap follow {}` to hear when it ships",
        item.key()
    ));
    if tickets.is_empty() {
        out.push("*Linked tickets*: none".into());
    } else {
        out.push("*Linked tickets*".into());
        for t in tickets.iter().take(20) {
            out.push(format!(
                "• *{}* {} ({}, {})",
                escape(&t.key),
                escape(&shorten(&t.title, 80)),
                mrkdwn::user(&t.requester),
                t.status.as_str()
            ));
        }
        if tickets.len() > 20 {
            out.push(format!("and {} more", tickets.len() - 20));
        }
    }
    if answers.told > 0 {
        out.push(format!(
            "*Did it solve their problem?* {} told: {} solved, {} not quite, {} no answer",
            answers.told,
            answers.solved,
            answers.not_quite,
            answers
                .told
                .saturating_sub(answers.solved + answers.not_quite)
        ));
    }
    out.push("*History*".into());
    out.extend(history.iter().map(change_line));
    out.join("\n")
}

/// The direct message to `person`: what shipped, which of their requests it answers and when
/// they asked, the link, and the two answer buttons.
pub fn ship_dm(item: &Item, person: &str, theirs: &[&Ticket]) -> Value {
    let mut text = format!(":rocket: *{}* shipped: {}", item.key(), escape(&item.title));
    if theirs.is_empty() {
        text.push_str("\nYou follow this item.");
    } else {
        let noun = if theirs.len() == 1 {
            "your request"
        } else {
            "your requests"
        };
        text.push_str(&format!("\nIt answers {noun}:"));
        for t in theirs {
            text.push_str(&format!(
                "\n• *{}* {} (you asked {})",
                escape(&t.key),
                escape(&shorten(&t.title, 80)),
                when(t.created_at)
            ));
        }
    }
    if let Some(l) = &item.link {
        text.push_str(&format!("\n{}", escape(l)));
    }
    let value = item.id.to_string();
    json!({
        "channel": person,
        "text": text,
        "unfurl_links": false,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": text } },
            { "type": "actions", "block_id": format!("roadmap-ship-{}", item.id), "elements": [
                { "type": "button", "action_id": ids::SOLVED, "value": value, "style": "primary",
                  "text": { "type": "plain_text", "text": "Solved my problem" } },
                { "type": "button", "action_id": ids::NOT_QUITE, "value": value,
                  "text": { "type": "plain_text", "text": "Not quite" } }
            ] }
        ]
    })
}

/// The reply in a linked ticket's thread.
pub fn ship_thread(item: &Item, t: &Ticket, channel: &str, thread: &str) -> Value {
    let mut text = format!(
        ":rocket: *{}* shipped: {}. It answers *{}*.",
        item.key(),
        escape(&item.title),
        escape(&t.key)
    );
    if let Some(l) = &item.link {
        text.push_str(&format!(" {}", escape(l)));
    }
    json!({ "channel": channel, "thread_ts": thread, "text": text, "unfurl_links": false })
}

/// The ship notice after its button was pressed: the choice instead of the buttons.
pub fn answered(item: &Item, channel: &str, ts: &str, answer: &str) -> Value {
    let choice = if answer == SOLVED {
        ":white_check_mark: You answered *Solved my problem*. Thank you!"
    } else {
        ":thinking_face: You answered *Not quite*. Thanks: the platform team will see it."
    };
    let text = format!(
        ":rocket: *{}* shipped: {}\n{choice}",
        item.key(),
        escape(&item.title)
    );
    json!({ "channel": channel, "ts": ts, "text": text,
            "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }] })
}

fn input(label: &str, ids: (&str, &str), element: Value, optional: bool) -> Value {
    let mut element = element;
    element["action_id"] = json!(ids.1);
    json!({ "type": "input", "block_id": ids.0, "optional": optional,
            "label": { "type": "plain_text", "text": label }, "element": element })
}

/// The form of `roadmap add` with no title.
pub fn add_modal() -> Value {
    json!({
        "type": "modal",
        "callback_id": ids::ADD_CALLBACK,
        "title": { "type": "plain_text", "text": "New roadmap item" },
        "submit": { "type": "plain_text", "text": "Add" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            input("Title", ids::TITLE, json!({ "type": "plain_text_input", "max_length": super::model::MAX_TITLE_CHARS }), false),
            input("Description", ids::DESCRIPTION, json!({ "type": "plain_text_input", "multiline": true, "max_length": super::model::MAX_TEXT_CHARS }), true),
            input("Target", ids::TARGET, json!({ "type": "plain_text_input",
                "placeholder": { "type": "plain_text", "text": "2027-Q1 or 2027-03-31" } }), true),
            input("Owner", ids::OWNER, json!({ "type": "users_select" }), true),
        ]
    })
}

/// The card's control: a form with a menu of the open items, for the ticket `ticket_id`.
pub fn link_modal(ticket_id: i64, ticket_key: &str, items: &[Item]) -> Value {
    let options: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({ "text": { "type": "plain_text", "text": shorten(&format!("{} {}", i.key(), i.title), 75) },
                    "value": i.id.to_string() })
        })
        .collect();
    json!({
        "type": "modal",
        "callback_id": ids::LINK_CALLBACK,
        "private_metadata": ticket_id.to_string(),
        "title": { "type": "plain_text", "text": shorten(&format!("Link {ticket_key}"), 24) },
        "submit": { "type": "plain_text", "text": "Link" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            input("Roadmap item", ids::ITEM, json!({ "type": "static_select", "options": options }), false),
        ]
    })
}

pub fn usage(problem: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(p) = problem {
        out.push_str(&format!("Sorry, {p}.\n\n"));
    }
    out.push_str(
        "*`/platform roadmap`*\n\
         • `/platform roadmap` — in progress, next up, recently shipped\n\
         • `/platform roadmap show RM-3` — an item, its history and its tickets\n\
         • `/platform roadmap follow RM-3` — hear when it ships\n\
         • `/platform roadmap add <title>` — a new planned item (no title: a form) (platform team)\n\
         • `/platform roadmap set RM-3 status planned|in_progress|shipped|dropped` — also \
         `target 2027-Q1` or `target 2027-03-31`, `owner @someone`, `health on_track|at_risk|off_track`, \
         `title ...`, `description ...`, `link https://...` (platform team)\n\
         • `/platform roadmap link PLAT-42 RM-3` — its requester hears when it ships (platform team)",
    );
    out
}

/// `why` is plain text (it may echo what was typed): escaped here.
pub fn set_usage(why: &str) -> String {
    usage(Some(&escape(why)))
}

pub fn no_such_item(id: i64) -> String {
    usage(Some(&format!("there is no roadmap item {}", key(id))))
}

pub fn no_such_ticket(ticket_key: &str) -> String {
    usage(Some(&format!(
        "there is no ticket `{}`",
        escape(&shorten(ticket_key, 40))
    )))
}

pub fn unchanged(item: &Item, field: Field) -> String {
    format!(
        "Nothing changed: *{}*'s {} is already that.",
        item.key(),
        field.column()
    )
}

pub fn set_done(item: &Item, field: Field, value: Option<&str>, told: usize) -> String {
    let shown = match (field, value) {
        (Field::Owner, Some(v)) => mrkdwn::user(v),
        (_, Some(v)) => format!("`{}`", escape(v)),
        (_, None) => "nothing".into(),
    };
    let mut out = format!(
        "*{}* {}: {} is now {shown}.",
        item.key(),
        escape(&item.title),
        field.column()
    );
    if told > 0 {
        let people = if told == 1 { "person" } else { "people" };
        out.push_str(&format!(" {told} {people} will hear it shipped."));
    }
    out
}

pub fn added(item: &Item) -> String {
    format!("Added *{}*: {} (planned).", item.key(), escape(&item.title))
}

pub fn linked(item: &Item, ticket_key: &str, new: bool) -> String {
    if new {
        format!(
            "Linked *{}* to *{}* {}: its requester hears when it ships.",
            escape(ticket_key),
            item.key(),
            escape(&item.title)
        )
    } else {
        format!(
            "*{}* was already linked to *{}*.",
            escape(ticket_key),
            item.key()
        )
    }
}

pub fn followed(item: &Item, new: bool) -> String {
    if new {
        format!(
            "You follow *{}* {}: you'll hear when it ships.",
            item.key(),
            escape(&item.title)
        )
    } else {
        format!("You already follow *{}*.", item.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roadmap::model::Status;

    fn item() -> Item {
        let now = chrono::Utc::now();
        Item {
            id: 3,
            title: "<!channel> faster builds & more".into(),
            description: Some("<!here>".into()),
            status: Status::InProgress,
            target: Some("2027-Q1".into()),
            owner: Some("U01BOB".into()),
            link: Some("<https://evil|x>".into()),
            health: None,
            created_at: now,
            updated_at: now,
            shipped_at: None,
        }
    }

    #[test]
    fn every_echoed_piece_of_an_item_is_escaped() {
        let i = item();
        let texts = [
            overview(&[("In progress", std::slice::from_ref(&i), 1)]).to_string(),
            show(&i, &[], &[], 0, ShipAnswers::default()),
            ship_dm(&i, "U1", &[]).to_string(),
            set_done(&i, Field::Target, Some("<!here>"), 0),
        ];
        for t in texts {
            for forbidden in ["<!channel>", "<!here>", "<https://evil"] {
                assert!(!t.contains(forbidden), "{forbidden} in {t}");
            }
        }
    }

    #[test]
    fn long_groups_end_with_and_n_more() {
        let items: Vec<Item> = (1..=15).map(|n| Item { id: n, ..item() }).collect();
        let raw = overview(&[("Next up", &items, 40)]).to_string();
        assert!(raw.contains("and 30 more"), "{raw}");
        assert_eq!(raw.matches("roadmap_follow").count(), GROUP_LIMIT);
    }
}
