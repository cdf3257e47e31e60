//! `/platform queue`: open tickets by SLA urgency (platform team).

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::tickets::queries;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue;

impl Queue {
    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        Ok(Reply::ephemeral(
            queries::queue(&desk.ctx, &cmd.user).await?,
        ))
    }
}
