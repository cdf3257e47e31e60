//! `/platform survey`: the latest pulse results (anyone; counts only under the anonymity
//! threshold), and `survey start` (platform team): a survey now.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::survey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Survey {
    Results,
    Start,
    /// Anything else after `survey`, as typed.
    Usage(String),
}

impl Survey {
    pub fn parse(rest: &str) -> Self {
        match rest.trim().to_ascii_lowercase().as_str() {
            "" | "results" => Survey::Results,
            "start" => Survey::Start,
            _ => Survey::Usage(rest.trim().to_string()),
        }
    }

    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        let text = match self {
            Survey::Results => survey::latest(&desk.ctx).await?,
            Survey::Start => survey::start::command(desk.ctx.clone(), &cmd.user).await?,
            Survey::Usage(typed) => format!(
                "I don't know `survey {}`: `/platform survey` shows the latest results, \
                 `/platform survey start` starts one (platform team).",
                crate::mrkdwn::escape(&crate::domain::ticket::shorten(&typed, 40))
            ),
        };
        Ok(Reply::ephemeral(text))
    }
}
