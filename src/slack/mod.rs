//! The Slack edge: requests in (HTTP, Socket Mode), parsed into our own inputs; the outbox
//! delivered out through the Web API. Only this module speaks Slack's wire formats.

pub mod already_posted;
pub mod http;
pub mod inbound;
pub mod outbound;
pub mod signature;
pub mod socket;
pub mod ts;
pub mod web_api;
