//! `/platform owns <topic>`: who owns a topic, from the policy's ownership map (anyone).

use crate::dispatch::Desk;
use crate::input::Reply;
use crate::self_service::{messages, ownership};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owns {
    pub topic: String,
}

impl Owns {
    pub fn apply(self, desk: &Desk) -> Reply {
        let area = ownership::area_of(&desk.ctx.policy.ownership, &self.topic);
        Reply::ephemeral(messages::owns(&self.topic, area))
    }
}
