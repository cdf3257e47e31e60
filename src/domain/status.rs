//! A ticket's status, its priority's name, and the kinds of events in its log: closed sets
//! of values, typed, so a misspelt status is a compile error rather than a silent mismatch.

use serde::Serialize;
use std::fmt;

/// Where a ticket is in its life. Open, acknowledged and waiting are open: someone still
/// owes the requester something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Acknowledged,
    /// Waiting on the requester: the SLA clocks pause.
    Waiting,
    Resolved,
    /// Closed without being resolved on its own (merged into another).
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Open,
        Status::Acknowledged,
        Status::Waiting,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Waiting => "waiting",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        matches!(self, Status::Open | Status::Acknowledged | Status::Waiting)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name of one of the policy's priorities (`P1` ... by default). The names are the
/// policy's own (any 1-20 letters, digits, `-` or `_`), so this is a name, not a closed enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(transparent)]
pub struct Priority(String);

impl Priority {
    pub fn new(name: impl Into<String>) -> Self {
        Priority(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Priority {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Priority {
    fn from(s: &str) -> Self {
        Priority(s.to_string())
    }
}

impl From<String> for Priority {
    fn from(s: String) -> Self {
        Priority(s)
    }
}

impl PartialEq<str> for Priority {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Priority {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// What a ticket's event log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Filed; detail: the priority it was filed with.
    Created,
    Acknowledged,
    /// detail: the assignee.
    Assigned,
    /// detail: the new priority.
    PriorityChanged,
    BreachAcknowledged,
    /// Waiting on the requester (the clocks pause).
    Waiting,
    /// The requester answered a waiting ticket (the clocks run again).
    Resumed,
    FirstResponse,
    /// detail: the resolution note.
    Resolved,
    Reopened,
    /// detail: why (merged into another).
    Closed,
    /// Another ticket was merged into this one; detail: its key.
    MergedIn,
    /// A reply in the ticket's thread; detail: its ts and text.
    Reply,
    SourceEdited,
    SourceDeleted,
    /// On-call was warned of a coming breach; detail: the target.
    Warned,
    /// detail: the target breached.
    Breached,
    /// detail: the escalation round.
    Escalated,
}

impl EventKind {
    const ALL: [EventKind; 18] = [
        EventKind::Created,
        EventKind::Acknowledged,
        EventKind::Assigned,
        EventKind::PriorityChanged,
        EventKind::BreachAcknowledged,
        EventKind::Waiting,
        EventKind::Resumed,
        EventKind::FirstResponse,
        EventKind::Resolved,
        EventKind::Reopened,
        EventKind::Closed,
        EventKind::MergedIn,
        EventKind::Reply,
        EventKind::SourceEdited,
        EventKind::SourceDeleted,
        EventKind::Warned,
        EventKind::Breached,
        EventKind::Escalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Acknowledged => "acknowledged",
            EventKind::Assigned => "assigned",
            EventKind::PriorityChanged => "priority_changed",
            EventKind::BreachAcknowledged => "breach_acknowledged",
            EventKind::Waiting => "waiting",
            EventKind::Resumed => "resumed",
            EventKind::FirstResponse => "first_response",
            EventKind::Resolved => "resolved",
            EventKind::Reopened => "reopened",
            EventKind::Closed => "closed",
            EventKind::MergedIn => "merged_in",
            EventKind::Reply => "reply",
            EventKind::SourceEdited => "source_edited",
            EventKind::SourceDeleted => "source_deleted",
            EventKind::Warned => "warned",
            EventKind::Breached => "breached",
            EventKind::Escalated => "escalated",
        }
    }

    /// None for a kind this version does not know (a newer build's): callers skip it.
    pub fn parse(s: &str) -> Option<Self> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_and_event_kind_reads_back_from_its_stored_text() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Status::parse("Open"), None);
        assert_eq!(EventKind::parse("exploded"), None);
    }

    #[test]
    fn only_open_acknowledged_and_waiting_are_open() {
        let open: Vec<Status> = Status::ALL.into_iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [Status::Open, Status::Acknowledged, Status::Waiting]);
    }

    #[test]
    fn a_status_serializes_as_its_stored_text() {
        assert_eq!(
            serde_json::to_string(&Status::Acknowledged).unwrap(),
            "\"acknowledged\""
        );
        assert_eq!(
            serde_json::to_string(&Priority::new("P1")).unwrap(),
            "\"P1\""
        );
    }
}
