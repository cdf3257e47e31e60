//! What the sandbox adds to the fake Slack's record to be a workspace: people's own messages
//! and reactions, answers that never reach the Web API (slash-command replies, response URLs,
//! Slackbot's errors), trigger ids and which modals each person has open.

use crate::sandbox::fake_slack::{OpenedView, BOT_USER_ID};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Slackbot, who tells people when a command failed.
pub const SLACKBOT: &str = "USLACKBOT";

/// A message the fake Web API never saw.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalMessage {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    /// Who wrote it: a person, the bot, or Slackbot.
    pub author: String,
    pub text: String,
    pub blocks: Value,
    /// Ephemeral: only this person sees it.
    pub visible_to: Option<String>,
    /// How many fake-Slack messages existed when it was posted: its place among them.
    pub after: usize,
}

/// Where a response URL posts to, and the message it was issued for.
#[derive(Debug, Clone)]
struct ResponseTarget {
    channel: String,
    user: String,
    original: Option<String>,
}

/// A message as changed by `replace_original`.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    pub text: String,
    pub blocks: Value,
}

#[derive(Default)]
struct Inner {
    messages: Vec<LocalMessage>,
    last_micros: u64,
    counter: u64,
    triggers: HashMap<String, String>,
    responses: HashMap<String, ResponseTarget>,
    /// user -> their modal stack, bottom first.
    stacks: HashMap<String, Vec<String>>,
    /// view id -> the view as it is now.
    views: HashMap<String, Value>,
    /// How many of the fake's `views()` are already applied.
    views_seen: usize,
    replaced: HashMap<(String, String), Replacement>,
    deleted: HashSet<(String, String)>,
    reactions: Vec<PersonReaction>,
}

/// A reaction a person added to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonReaction {
    pub channel: String,
    pub ts: String,
    pub name: String,
    pub user: String,
}

/// The sandbox's side of the workspace (cheap to share behind an `Arc`).
pub struct Workspace {
    inner: Mutex<Inner>,
    /// Run start, in seconds: makes event ids unique across runs.
    epoch: u64,
    /// `http://HOST:PORT/response`, the page server's response-URL endpoint.
    response_base: String,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Workspace {
    pub fn new(epoch: u64, response_base: String) -> Workspace {
        Workspace {
            inner: Mutex::new(Inner::default()),
            epoch,
            response_base,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new message `ts` from the wall clock. It always ends in `50` microseconds, so it
    /// never equals one of the fake's (which end in `00`), and it always increases.
    pub fn next_ts(&self) -> String {
        let mut inner = self.lock();
        let mut micros = now_micros() / 100 * 100 + 50;
        if micros <= inner.last_micros {
            micros = inner.last_micros + 100;
        }
        inner.last_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    fn next_number(&self) -> u64 {
        let mut inner = self.lock();
        inner.counter += 1;
        inner.counter
    }

    /// A fresh event id, unique across runs of the sandbox (the bot's inbox remembers them).
    pub fn next_event_id(&self) -> String {
        format!("Ev{:X}S{:05}", self.epoch, self.next_number())
    }

    /// A fresh trigger id for something `user` did; a modal opened with it is theirs.
    pub fn new_trigger(&self, user: &str) -> String {
        let n = self.next_number();
        let trigger = format!("{}{n:05}.{}.sandbox{n:x}", self.epoch, self.epoch);
        self.lock()
            .triggers
            .insert(trigger.clone(), user.to_string());
        trigger
    }

    /// A fresh response URL that answers `user` in `channel` (about message `original`).
    pub fn new_response_url(&self, channel: &str, user: &str, original: Option<&str>) -> String {
        let id = format!("{:x}-{}", self.epoch, self.next_number());
        let target = ResponseTarget {
            channel: channel.to_string(),
            user: user.to_string(),
            original: original.map(str::to_string),
        };
        self.lock().responses.insert(id.clone(), target);
        format!("{}/{id}", self.response_base)
    }

    /// Posts a message the fake never sees; `fake_count` is how many the fake holds now.
    pub fn post(&self, mut message: LocalMessage, fake_count: usize) {
        message.after = fake_count;
        self.lock().messages.push(message);
    }

    /// The messages the sandbox holds, in posting order.
    pub fn messages(&self) -> Vec<LocalMessage> {
        self.lock().messages.clone()
    }

    /// A message this side holds, by channel and ts.
    pub fn message(&self, channel: &str, ts: &str) -> Option<LocalMessage> {
        let inner = self.lock();
        let found = inner
            .messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts);
        found.cloned()
    }

    /// A POST to response URL `id`: a new message, or a change to the original one. False
    /// when the URL was never issued.
    pub fn respond(&self, id: &str, body: &Value, fake_count: usize) -> bool {
        let Some(target) = self.lock().responses.get(id).cloned() else {
            return false;
        };
        let flag = |name: &str| body[name] == true || body[name] == "true";
        let text = body["text"].as_str().unwrap_or_default().to_string();
        let blocks = body.get("blocks").cloned().unwrap_or(Value::Null);
        if let Some(original) = &target.original {
            let key = (target.channel.clone(), original.clone());
            if flag("delete_original") {
                self.lock().deleted.insert(key);
                return true;
            }
            if flag("replace_original") {
                let replacement = Replacement { text, blocks };
                self.lock().replaced.insert(key, replacement);
                return true;
            }
        }
        let in_channel = body["response_type"] == "in_channel";
        let message = LocalMessage {
            channel: target.channel,
            ts: self.next_ts(),
            thread_ts: body["thread_ts"].as_str().map(str::to_string),
            author: BOT_USER_ID.to_string(),
            text,
            blocks,
            visible_to: (!in_channel).then_some(target.user),
            after: 0,
        };
        self.post(message, fake_count);
        true
    }

    /// Adds a person's reaction; false if they had already reacted so (Slack refuses that).
    pub fn react(&self, reaction: PersonReaction) -> bool {
        let mut inner = self.lock();
        if inner.reactions.contains(&reaction) {
            return false;
        }
        inner.reactions.push(reaction);
        true
    }

    /// People's reactions, in order.
    pub fn reactions(&self) -> Vec<PersonReaction> {
        self.lock().reactions.clone()
    }

    /// What `replace_original` made of a message, if anything.
    pub fn replacement(&self, channel: &str, ts: &str) -> Option<Replacement> {
        let key = (channel.to_string(), ts.to_string());
        self.lock().replaced.get(&key).cloned()
    }

    /// Whether `delete_original` removed a message.
    pub fn is_deleted(&self, channel: &str, ts: &str) -> bool {
        let key = (channel.to_string(), ts.to_string());
        self.lock().deleted.contains(&key)
    }

    /// Applies the fake's new `views.*` calls: opened and pushed modals go on the stack of the
    /// person whose trigger opened them; updates change a view in place.
    pub fn sync_views(&self, views: &[OpenedView]) {
        let mut inner = self.lock();
        let start = inner.views_seen.min(views.len());
        for opened in &views[start..] {
            let id = opened.view_id.clone();
            let owner = opened
                .trigger_id
                .as_ref()
                .and_then(|t| inner.triggers.get(t))
                .cloned();
            match (opened.method.as_str(), owner) {
                ("views.open", Some(user)) => {
                    inner.stacks.insert(user, vec![id.clone()]);
                    inner.views.insert(id, opened.view.clone());
                }
                ("views.push", Some(user)) => {
                    inner.stacks.entry(user).or_default().push(id.clone());
                    inner.views.insert(id, opened.view.clone());
                }
                ("views.update", _) if inner.views.contains_key(&id) => {
                    inner.views.insert(id, opened.view.clone());
                }
                _ => {}
            }
        }
        inner.views_seen = views.len();
    }

    /// The view `view_id` if it is open for `user`.
    pub fn open_view(&self, user: &str, view_id: &str) -> Option<Value> {
        let inner = self.lock();
        let open = inner
            .stacks
            .get(user)
            .is_some_and(|stack| stack.iter().any(|id| id == view_id));
        open.then(|| inner.views.get(view_id).cloned()).flatten()
    }

    /// Closes `view_id` (and anything pushed above it) for `user`.
    pub fn close_view(&self, user: &str, view_id: &str) {
        if let Some(stack) = self.lock().stacks.get_mut(user) {
            if let Some(at) = stack.iter().position(|id| id == view_id) {
                stack.truncate(at);
            }
        }
    }

    /// Closes every modal of `user` (`response_action: clear`).
    pub fn clear_views(&self, user: &str) {
        self.lock().stacks.remove(user);
    }

    /// Replaces `view_id`'s content (`response_action: update`), keeping its id.
    pub fn update_view(&self, view_id: &str, mut view: Value) {
        view["id"] = Value::String(view_id.to_string());
        self.lock().views.insert(view_id.to_string(), view);
    }

    /// Pushes a view given in a `response_action: push` for `user`.
    pub fn push_view(&self, user: &str, mut view: Value) {
        let id = format!("V{:X}P{:05}", self.epoch, self.next_number());
        view["id"] = Value::String(id.clone());
        let mut inner = self.lock();
        inner.views.insert(id.clone(), view);
        inner.stacks.entry(user.to_string()).or_default().push(id);
    }

    /// The top modal of each person who has one open: (user, view).
    pub fn open_modals(&self) -> Vec<(String, Value)> {
        let inner = self.lock();
        let mut open: Vec<(String, Value)> = inner
            .stacks
            .iter()
            .filter_map(|(user, stack)| {
                let top = stack.last()?;
                Some((user.clone(), inner.views.get(top)?.clone()))
            })
            .collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opened(method: &str, id: &str, trigger: Option<&str>, title: &str) -> OpenedView {
        OpenedView {
            method: method.into(),
            view_id: id.into(),
            trigger_id: trigger.map(str::to_string),
            user_id: None,
            view: json!({ "id": id, "title": { "type": "plain_text", "text": title } }),
        }
    }

    #[test]
    fn timestamps_increase_and_never_look_like_the_fakes() {
        let ws = Workspace::new(1, "http://h/response".into());
        let (a, b) = (ws.next_ts(), ws.next_ts());
        assert!(a.ends_with("50") && b.ends_with("50"), "{a} {b}");
        assert!(b > a);
    }

    #[test]
    fn a_modal_belongs_to_whoever_held_its_trigger_and_closes_on_request() {
        let ws = Workspace::new(1, "http://h/response".into());
        let carol = ws.new_trigger("U02CAROL");
        let mut views = vec![
            opened("views.open", "V1", Some(&carol), "Form"),
            opened("views.open", "V9", Some("someone-elses"), "Other"),
        ];
        ws.sync_views(&views);
        assert!(ws.open_view("U02CAROL", "V1").is_some());
        assert!(ws.open_view("U02DAVE", "V1").is_none());
        assert_eq!(ws.open_modals().len(), 1);

        views.push(opened("views.update", "V1", None, "Updated"));
        ws.sync_views(&views);
        let (_, top) = &ws.open_modals()[0];
        assert_eq!(top["title"]["text"], "Updated");

        ws.push_view("U02CAROL", json!({ "title": { "text": "Step 2" } }));
        assert_eq!(ws.open_modals()[0].1["title"]["text"], "Step 2");
        ws.close_view("U02CAROL", "V1");
        assert!(
            ws.open_modals().is_empty(),
            "closing the root closes the stack"
        );
    }

    #[test]
    fn a_response_url_answers_its_user_in_its_channel_or_changes_the_original() {
        let ws = Workspace::new(1, "http://h/response".into());
        let url = ws.new_response_url("C02PAYMENTS", "U02CAROL", None);
        let id = url.rsplit('/').next().unwrap();
        assert!(ws.respond(id, &json!({ "text": "only you" }), 3));
        let posted = &ws.messages()[0];
        assert_eq!(posted.visible_to.as_deref(), Some("U02CAROL"));
        assert_eq!((posted.channel.as_str(), posted.after), ("C02PAYMENTS", 3));
        assert!(!ws.respond("nope", &json!({}), 0));

        let url = ws.new_response_url("C01INTAKE", "U01ALICE", Some("1.000100"));
        let id = url.rsplit('/').next().unwrap();
        ws.respond(
            id,
            &json!({ "replace_original": true, "text": "claimed" }),
            0,
        );
        let changed = ws.replacement("C01INTAKE", "1.000100").unwrap();
        assert_eq!(changed.text, "claimed");
        ws.respond(id, &json!({ "delete_original": "true" }), 0);
        assert!(ws.is_deleted("C01INTAKE", "1.000100"));
    }
}
