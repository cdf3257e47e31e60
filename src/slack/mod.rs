//! The Slack edge: requests in (HTTP, Socket Mode), parsed into our own inputs and handed to
//! the dispatch through `Handler`; the outbox delivered out through the Web API. Only this
//! module speaks Slack's wire formats, and it imports no capability.

pub mod already_posted;
pub mod http;
pub mod inbound;
pub mod outbound;
pub mod port;
pub mod signature;
pub mod socket;
pub mod ts;
pub mod web_api;

use crate::context::{AppError, Context, Handler};
use crate::input::{Input, Reply};
use crate::settings::Secret;
use std::sync::Arc;

/// What the edge needs to take requests: the context (clock, metrics), the handler inputs
/// go to, and the signing secret (HTTP mode).
pub struct Edge {
    pub ctx: Arc<Context>,
    pub handler: Arc<dyn Handler>,
    pub signing_secret: Option<Secret>,
}

impl Edge {
    pub async fn handle(&self, input: Input) -> Result<Reply, AppError> {
        self.handler.handle(input).await
    }
}
