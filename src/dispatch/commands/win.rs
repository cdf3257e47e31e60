//! `/platform win <what changed> saves <N>h/month` (platform team) and `/platform wins`
//! (anyone): the leverage capability records and lists them.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::leverage::wins;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Win {
    /// `win <text>`: the text as typed after `win`, parsed by the capability.
    Record(String),
    /// `wins`
    List,
}

impl Win {
    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        let text = match self {
            Win::Record(text) => wins::record(&desk.ctx, &cmd.user, &text).await?,
            Win::List => wins::list(&desk.ctx).await?,
        };
        Ok(Reply::ephemeral(text))
    }
}
