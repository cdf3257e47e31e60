//! Who is asked: every member of `survey.audience_channel`, read afresh through the port
//! (`conversations.members`, page by page; each person's `users.info`), without bots,
//! deactivated accounts, the bot itself and (with `survey.exclude_platform_team`) the
//! platform team.

use crate::context::{AppError, Context, Person};
use std::collections::BTreeSet;

/// Pages read at most (200 members each): a runaway cursor cannot loop forever.
const MAX_PAGES: usize = 500;

/// The people to ask, with their profile as read now.
pub async fn read(ctx: &Context, channel: &str) -> Result<Vec<Person>, AppError> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = ctx.slack.members(channel, cursor.as_deref()).await?;
        ids.extend(page.members);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let policy = ctx.policy.survey.as_ref();
    let exclude_team = policy.is_none_or(|s| s.exclude_platform_team);
    let bot = ctx.bot_user_id();
    let mut people = Vec::new();
    let mut left_out = 0usize;
    for id in ids {
        if id == "USLACKBOT"
            || bot.as_deref() == Some(id.as_str())
            || (exclude_team && ctx.policy.is_platform_team(&id))
        {
            left_out += 1;
            continue;
        }
        match ctx.slack.person(&id).await? {
            Some(p) if asked(&p) => people.push(p),
            _ => left_out += 1,
        }
    }
    tracing::info!(asked = people.len(), left_out, "pulse survey audience read");
    Ok(people)
}

/// People, not bots or deactivated accounts.
pub fn asked(p: &Person) -> bool {
    !p.is_bot && !p.deleted
}
