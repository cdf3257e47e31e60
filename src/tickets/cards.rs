//! The tickets' side of [`Cards`]: the outbox sender renders a card when it sends it, finds
//! where a card was posted for its updates, and records a posted card.

use super::{db, messages};
use crate::clock::Clock;
use crate::outbox::Cards;
use crate::settings::Policy;
use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::SqliteConnection;
use std::sync::Arc;

pub struct TicketCards {
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
}

impl Cards for TicketCards {
    fn render<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
        channel: &'a str,
    ) -> BoxFuture<'a, sqlx::Result<Option<Value>>> {
        Box::pin(async move {
            let ticket = db::by_id(conn, ticket_id).await?;
            Ok(ticket.map(|t| messages::card(&t, &self.policy, channel, self.clock.now())))
        })
    }

    fn card_of<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
    ) -> BoxFuture<'a, sqlx::Result<Option<(String, String)>>> {
        Box::pin(db::card_of(conn, ticket_id))
    }

    fn set_card<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, sqlx::Result<()>> {
        Box::pin(db::set_card(conn, ticket_id, channel, ts))
    }
}
