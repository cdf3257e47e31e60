//! `/api/state`: the whole workspace as the page draws it — people, channels (DMs included),
//! every message in order from both the fake Slack and the sandbox with its reactions, and
//! open modals.

use super::demo::{self, CHANNELS, PEOPLE};
use super::payloads::with_block_ids;
use super::workspace::{LocalMessage, Workspace, SLACKBOT};
use crate::sandbox::fake_slack::{PostedMessage, Reaction, BOT_NAME, BOT_USER_ID};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A DM's channel id, as the fake stores a message sent to a user id.
pub fn dm_channel(user: &str) -> String {
    match user.strip_prefix('U') {
        Some(rest) => format!("D{rest}"),
        None => format!("D{user}"),
    }
}

fn users() -> Value {
    let mut users: Vec<Value> = PEOPLE
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name, "real_name": p.real_name, "role": p.role }))
        .collect();
    users.push(json!({ "id": BOT_USER_ID, "name": BOT_NAME, "real_name": "Platform Desk", "role": "the bot", "bot": true }));
    users.push(json!({ "id": SLACKBOT, "name": "Slackbot", "real_name": "Slackbot", "role": "Slack itself", "bot": true }));
    Value::Array(users)
}

/// The demo channels, then any other channel the bot wrote to, then each person's DM.
fn channels(messages: &[Value]) -> Value {
    let mut list: Vec<Value> = CHANNELS
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "purpose": c.purpose, "dm": null }))
        .collect();
    let known: BTreeSet<&str> = CHANNELS.iter().map(|c| c.id).collect();
    let dms: BTreeSet<String> = PEOPLE.iter().map(|p| dm_channel(p.id)).collect();
    let others: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| m["channel"].as_str())
        .filter(|c| !known.contains(c) && !dms.contains(*c))
        .collect();
    for id in others {
        let dm = id.strip_prefix('D').map(|rest| format!("U{rest}"));
        let name = dm.clone().unwrap_or_else(|| id.to_lowercase());
        list.push(json!({ "id": id, "name": name, "purpose": "", "dm": dm }));
    }
    for person in PEOPLE {
        list.push(json!({
            "id": dm_channel(person.id),
            "name": BOT_NAME,
            "purpose": format!("{}'s direct messages with the bot", person.real_name),
            "dm": person.id,
        }));
    }
    Value::Array(list)
}

fn fake_message(m: &PostedMessage, ws: &Workspace) -> Value {
    let (text, blocks) = match ws.replacement(&m.channel, &m.ts) {
        Some(r) => (r.text, r.blocks),
        None => (m.text.clone(), m.blocks.clone()),
    };
    json!({
        "channel": m.channel,
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "author": BOT_USER_ID,
        "text": text,
        "blocks": with_block_ids(&blocks),
        "ephemeral": m.ephemeral,
        "visible_to": if m.ephemeral { m.user.clone() } else { None },
        "updated": m.updated,
    })
}

fn local_message(m: &LocalMessage, ws: &Workspace) -> Value {
    let replaced = ws.replacement(&m.channel, &m.ts);
    let (text, blocks) = match &replaced {
        Some(r) => (r.text.clone(), r.blocks.clone()),
        None => (m.text.clone(), m.blocks.clone()),
    };
    json!({
        "channel": m.channel,
        "ts": m.ts,
        "thread_ts": m.thread_ts,
        "author": m.author,
        "text": text,
        "blocks": with_block_ids(&blocks),
        "ephemeral": m.visible_to.is_some(),
        "visible_to": m.visible_to,
        "updated": replaced.is_some(),
    })
}

/// Every message, the fake's and the sandbox's interleaved in the order they were posted.
fn messages(fake: &[PostedMessage], ws: &Workspace) -> Vec<Value> {
    // A local message posted when the fake held n messages sits between its n-th and
    // (n+1)-th: order keys 2n for it, 2i+1 for the fake's i-th (0-based).
    let mut keyed: Vec<(usize, Value, (String, String))> = fake
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let key = (m.channel.clone(), m.ts.clone());
            (2 * i + 1, fake_message(m, ws), key)
        })
        .collect();
    keyed.extend(ws.messages().iter().map(|m| {
        let key = (m.channel.clone(), m.ts.clone());
        (2 * m.after, local_message(m, ws), key)
    }));
    keyed.sort_by_key(|(order, _, _)| *order);
    keyed
        .into_iter()
        .filter(|(_, _, (channel, ts))| !ws.is_deleted(channel, ts))
        .map(|(_, message, _)| message)
        .collect()
}

/// (channel, ts) -> reaction name -> who reacted (the bot's reactions come from the fake).
type Reactions = BTreeMap<(String, String), BTreeMap<String, Vec<String>>>;

fn reactions(bots: &[Reaction], ws: &Workspace) -> Reactions {
    let mut all = Reactions::new();
    let bot = bots
        .iter()
        .map(|r| (&r.channel, &r.timestamp, &r.name, BOT_USER_ID.to_string()));
    let people = ws.reactions();
    let people = people
        .iter()
        .map(|r| (&r.channel, &r.ts, &r.name, r.user.clone()));
    for (channel, ts, name, user) in bot.chain(people) {
        all.entry((channel.clone(), ts.clone()))
            .or_default()
            .entry(name.clone())
            .or_default()
            .push(user);
    }
    all
}

/// The state the page polls.
pub fn state(fake: &[PostedMessage], bot_reactions: &[Reaction], ws: &Workspace) -> Value {
    let mut messages = messages(fake, ws);
    let reactions = reactions(bot_reactions, ws);
    for m in &mut messages {
        let key = (
            m["channel"].as_str().unwrap_or_default().to_string(),
            m["ts"].as_str().unwrap_or_default().to_string(),
        );
        let list: Vec<Value> = reactions
            .get(&key)
            .into_iter()
            .flatten()
            .map(|(name, users)| json!({ "name": name, "users": users }))
            .collect();
        m["reactions"] = Value::Array(list);
    }
    let modals: Vec<Value> = ws
        .open_modals()
        .into_iter()
        .map(|(user, view)| json!({ "user": user, "view_id": view["id"], "view": view }))
        .collect();
    json!({
        "bot": { "id": BOT_USER_ID, "name": BOT_NAME },
        "ticket_emoji": demo::TICKET_EMOJI,
        "users": users(),
        "channels": channels(&messages),
        "messages": messages,
        "modals": modals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::workspace::PersonReaction;

    fn posted(channel: &str, ts: &str) -> PostedMessage {
        PostedMessage {
            channel: channel.into(),
            ts: ts.into(),
            thread_ts: None,
            text: format!("bot in {channel}"),
            blocks: Value::Null,
            user: None,
            ephemeral: false,
            updated: false,
            metadata: Value::Null,
        }
    }

    fn said(ws: &Workspace, channel: &str, fake_count: usize) {
        let message = LocalMessage {
            channel: channel.into(),
            ts: ws.next_ts(),
            thread_ts: None,
            author: "U02CAROL".into(),
            text: "hi".into(),
            blocks: Value::Null,
            visible_to: None,
            after: 0,
        };
        ws.post(message, fake_count);
    }

    #[test]
    fn peoples_messages_sit_between_the_bots_in_posting_order() {
        let ws = Workspace::new(1, "http://h/response".into());
        said(&ws, "C01HELP", 0);
        let fake = vec![
            posted("C01HELP", "1.000100"),
            posted("C01INTAKE", "1.000200"),
        ];
        said(&ws, "C01HELP", 1);
        let state = state(&fake, &[], &ws);
        let authors: Vec<&str> = state["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["author"].as_str().unwrap())
            .collect();
        assert_eq!(authors, ["U02CAROL", BOT_USER_ID, "U02CAROL", BOT_USER_ID]);
    }

    #[test]
    fn reactions_of_people_and_the_bot_are_shown_on_their_message() {
        let ws = Workspace::new(1, "http://h/response".into());
        let fake = vec![posted("C01HELP", "1.000100")];
        ws.react(PersonReaction {
            channel: "C01HELP".into(),
            ts: "1.000100".into(),
            name: "ticket".into(),
            user: "U02CAROL".into(),
        });
        let bot = Reaction {
            channel: "C01HELP".into(),
            timestamp: "1.000100".into(),
            name: "ticket".into(),
        };
        let state = state(&fake, &[bot], &ws);
        assert_eq!(
            state["messages"][0]["reactions"],
            json!([{ "name": "ticket", "users": ["U07BOTPLT9", "U02CAROL"] }])
        );
    }

    #[test]
    fn every_person_has_a_dm_and_unknown_channels_are_listed() {
        let ws = Workspace::new(1, "http://h/response".into());
        let fake = vec![
            posted("C09OTHER", "1.000100"),
            posted("D02CAROL", "1.000200"),
        ];
        let state = state(&fake, &[], &ws);
        let ids: Vec<&str> = state["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"C09OTHER") && ids.contains(&"D01ALICE"));
        assert_eq!(ids.iter().filter(|id| **id == "D02CAROL").count(), 1);
    }
}
