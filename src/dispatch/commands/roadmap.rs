//! `/platform roadmap ...`: the overview, `show`, `follow` (anyone), and `add`, `set`, `link`
//! (platform team). The grammar is parsed here; the roadmap capability applies it.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::roadmap::model::{parse_key, Field};
use crate::roadmap::{self, edit, messages};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roadmap {
    /// `roadmap`: in progress, next up, recently shipped.
    Overview,
    Show(i64),
    Follow(i64),
    /// `add <title>`, or the form with no title.
    Add(Option<String>),
    Set {
        id: i64,
        field: Field,
        value: String,
    },
    Link {
        ticket: String,
        id: i64,
    },
    /// `roadmap help`: the usage.
    Help,
    /// What was wrong with the typed command, for the usage reply (plain text).
    Usage(String),
}

impl Roadmap {
    pub fn parse(rest: &str) -> Self {
        let (word, args) = match rest.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (rest, ""),
        };
        let words: Vec<&str> = args.split_whitespace().collect();
        let item = |text: Option<&&str>| -> Result<i64, String> {
            match text {
                None => Err("name a roadmap item, like RM-3".into()),
                Some(t) => {
                    parse_key(t).ok_or_else(|| format!("`{t}` is not a roadmap item key like RM-3"))
                }
            }
        };
        let parsed = match word.to_ascii_lowercase().as_str() {
            "" | "list" => Ok(Roadmap::Overview),
            "help" => Ok(Roadmap::Help),
            "show" => item(words.first()).map(Roadmap::Show),
            "follow" => item(words.first()).map(Roadmap::Follow),
            "add" => Ok(Roadmap::Add((!args.is_empty()).then(|| args.to_string()))),
            "set" => item(words.first()).and_then(|id| {
                let field = words
                    .get(1)
                    .ok_or_else(|| format!("say what to set: {}", Field::SETTABLE))?;
                let field = Field::settable(field)
                    .ok_or_else(|| format!("`{field}` cannot be set: use {}", Field::SETTABLE))?;
                // The text as typed after the field's name: a title or description keeps
                // its own spacing.
                let value = after_words(args, 2).to_string();
                if value.is_empty() {
                    return Err(format!("give the new {}", field.column()));
                }
                Ok(Roadmap::Set { id, field, value })
            }),
            "link" => match words.as_slice() {
                [ticket, rm, ..] => item(Some(rm)).map(|id| Roadmap::Link {
                    ticket: ticket.to_ascii_uppercase(),
                    id,
                }),
                _ => Err("link takes a ticket and an item: `link PLAT-42 RM-3`".into()),
            },
            other => Err(format!("I don't know `roadmap {other}`")),
        };
        parsed.unwrap_or_else(Roadmap::Usage)
    }

    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        let ctx = &*desk.ctx;
        let text = match self {
            Roadmap::Overview => return Ok(Reply::Json(roadmap::overview(ctx).await?)),
            Roadmap::Show(id) => roadmap::show(ctx, id).await?,
            Roadmap::Follow(id) => edit::follow(ctx, &cmd.user, id).await?,
            Roadmap::Help => messages::usage(None),
            Roadmap::Usage(why) => messages::set_usage(&why),
            Roadmap::Add(title) => {
                if let Some(no) = edit::refusal(ctx, &cmd.user) {
                    no
                } else {
                    match title {
                        Some(title) => add(desk, cmd, &title).await?,
                        None => return open_form(desk, cmd).await,
                    }
                }
            }
            Roadmap::Set { id, field, value } => {
                // The owner as Slack sent it (`<@U01BOB|bob>`): the plain text has only a name.
                let value = match field {
                    Field::Owner => owner_in(&cmd.raw_text).unwrap_or(value),
                    _ => value,
                };
                edit::set(ctx, &cmd.user, id, field, &value).await?
            }
            Roadmap::Link { ticket, id } => edit::link(ctx, &cmd.user, &ticket, id).await?,
        };
        Ok(Reply::ephemeral(text))
    }
}

/// `text` without its first `n` words and the spaces after them.
fn after_words(text: &str, n: usize) -> &str {
    let mut rest = text.trim_start();
    for _ in 0..n {
        rest = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r.trim_start());
    }
    rest.trim_end()
}

/// The first user mention in Slack's raw text, as `<@U01BOB>`.
fn owner_in(raw: &str) -> Option<String> {
    let start = raw.find("<@")?;
    let end = raw[start..].find('>')? + start;
    Some(raw[start..=end].to_string())
}

async fn add(desk: &Desk, cmd: &Command, title: &str) -> Result<String, AppError> {
    match Field::Title.parse_value(title) {
        Err(why) => Ok(messages::set_usage(&why)),
        Ok(title) => {
            let title = title.unwrap_or_default();
            let item = edit::add(&desk.ctx, &cmd.user, &title, &[], None, None).await?;
            Ok(item.map(|i| messages::added(&i)).unwrap_or_default())
        }
    }
}

async fn open_form(desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
    let Some(trigger) = cmd.trigger_id.as_deref() else {
        return Ok(Reply::ephemeral(messages::set_usage(
            "give the item a title",
        )));
    };
    match desk
        .ctx
        .slack
        .open_view(trigger, messages::add_modal())
        .await
    {
        Ok(()) => Ok(Reply::Empty),
        Err(e) => {
            tracing::warn!(error = %e.chain(), "the roadmap form did not open");
            Ok(Reply::Json(json!({ "response_type": "ephemeral",
                "text": "The form did not open; try `/platform roadmap add <title>`." })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roadmap_grammar_reads_each_form() {
        let cases = [
            ("", Roadmap::Overview),
            ("show rm-3", Roadmap::Show(3)),
            ("follow RM-12", Roadmap::Follow(12)),
            (
                "add Faster CI builds",
                Roadmap::Add(Some("Faster CI builds".into())),
            ),
            ("add", Roadmap::Add(None)),
            (
                "set RM-3 status in_progress",
                Roadmap::Set {
                    id: 3,
                    field: Field::Status,
                    value: "in_progress".into(),
                },
            ),
            (
                "set RM-3 title  Faster  CI, for everyone ",
                Roadmap::Set {
                    id: 3,
                    field: Field::Title,
                    value: "Faster  CI, for everyone".into(),
                },
            ),
            (
                "set RM-3 link https://wiki.example.com/ci",
                Roadmap::Set {
                    id: 3,
                    field: Field::Link,
                    value: "https://wiki.example.com/ci".into(),
                },
            ),
            (
                "link plat-42 RM-3",
                Roadmap::Link {
                    ticket: "PLAT-42".into(),
                    id: 3,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Roadmap::parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn bad_input_is_a_usage_with_the_reason() {
        for (text, reason) in [
            ("show", "name a roadmap item"),
            ("show PLAT-3", "not a roadmap item key"),
            ("set RM-3 colour red", "cannot be set"),
            ("set RM-3 status", "give the new status"),
            ("link PLAT-1", "link takes a ticket and an item"),
            ("frob", "roadmap frob"),
        ] {
            match Roadmap::parse(text) {
                Roadmap::Usage(why) => assert!(why.contains(reason), "{text}: {why}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_owner_is_read_from_slacks_mention() {
        assert_eq!(
            owner_in("set RM-3 owner <@U01BOB|bob>").as_deref(),
            Some("<@U01BOB|bob>")
        );
        assert_eq!(owner_in("set RM-3 owner bob"), None);
    }
}
