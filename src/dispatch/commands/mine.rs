//! `/platform mine`: the open requests of the person asking.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::tickets::queries;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mine;

impl Mine {
    pub async fn apply(self, desk: &Desk, cmd: &Command) -> Result<Reply, AppError> {
        Ok(Reply::ephemeral(queries::mine(&desk.ctx, &cmd.user).await?))
    }
}
