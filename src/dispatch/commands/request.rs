//! `/platform request <text>` files a ticket from the text; `request` alone opens the form.

use crate::context::AppError;
use crate::dispatch::Desk;
use crate::input::{Command, Reply};
use crate::intake;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// File a ticket from this text.
    Text(String),
    /// Open the request form.
    Form,
}

impl Request {
    pub fn parse(rest: &str) -> Self {
        if rest.is_empty() {
            Request::Form
        } else {
            Request::Text(rest.to_string())
        }
    }

    pub async fn apply(self, desk: &Desk, cmd: Command) -> Result<Reply, AppError> {
        Ok(match self {
            Request::Text(text) => intake::file_from_command(&desk.intake, &cmd, text).await,
            Request::Form => {
                let metadata = json!({ "channel": cmd.channel });
                Box::pin(intake::open_form(
                    &desk.intake,
                    cmd.trigger_id.as_deref(),
                    &metadata,
                    None,
                ))
                .await
            }
        })
    }
}
