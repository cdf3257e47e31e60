//! `/platform status <KEY>`: a ticket's state and SLA clocks.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::Reply;
use crate::tickets::queries;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The ticket key, upper-cased (`plat-1` finds PLAT-1).
    pub key: String,
}

impl Status {
    /// None without a key.
    pub fn parse(rest: &str) -> Option<Self> {
        let key = rest.split_whitespace().next()?.to_ascii_uppercase();
        Some(Status { key })
    }

    pub async fn apply(self, desk: &Desk) -> Result<Reply, AppError> {
        Ok(Reply::ephemeral(
            queries::status(&desk.ctx, &self.key).await?,
        ))
    }
}
