//! Tickets: how they are stored, filed (the group-commit writer), changed, shown and
//! exported. What a ticket *is* lives in `crate::domain`.

pub mod actions;
pub mod cards;
pub mod change;
mod commit_timing;
pub mod db;
pub mod decide;
pub mod export;
mod export_db;
pub mod filer;
pub mod filer_db;
pub mod lifecycle;
pub mod messages;
pub mod permissions;
pub mod queries;
pub mod recent;
pub mod threads;

pub use crate::domain::ticket::{shorten, title_from, NewTicket, Source, Ticket, MAX_TITLE_CHARS};
pub use crate::domain::{EventKind, Priority, Status};
