//! `/platform oncall [set @user [for 3d]]`: who is on call, and overrides. The on-call
//! capability parses its own arguments from the raw text, which keeps `<@U123|name>`.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::oncall;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oncall;

impl Oncall {
    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        // The raw text: `set <@U123|name>` must keep the user id.
        let rest = cmd
            .raw_text
            .trim_start()
            .split_once(char::is_whitespace)
            .map(|(_, r)| r)
            .unwrap_or("");
        let answer = oncall::handler::on_command(&desk.ctx, &cmd.user, rest).await?;
        Ok(Reply::ephemeral(answer))
    }
}
