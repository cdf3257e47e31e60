//! The typed `[self_service]` and `[[ownership.areas]]` sections: the catalog of answers
//! offered before a human, and who owns which topics. Checked in `validate/self_service.rs`.

use std::time::Duration;

/// The owner that means "us": an area owned by it files as normal.
pub const PLATFORM_OWNER: &str = "platform";

/// `[self_service]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfServicePolicy {
    /// An offer nobody answered is filed as a ticket after this.
    pub offer_timeout: Duration,
    /// What one confirmed deflection saves (hours saved count it; the `leverage` reports
    /// read it from here).
    pub minutes_saved_per_deflection: u32,
    /// Titles are unique; empty means nothing is ever offered.
    pub entries: Vec<CatalogEntry>,
}

impl Default for SelfServicePolicy {
    /// CONTRACT.md's defaults: ten minutes, thirty minutes saved, no catalog.
    fn default() -> Self {
        Self {
            offer_timeout: Duration::from_secs(600),
            minutes_saved_per_deflection: 30,
            entries: Vec::new(),
        }
    }
}

/// `[[self_service.entries]]`: a runbook, doc, template or workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub title: String,
    /// http(s).
    pub link: String,
    pub summary: String,
    pub keywords: Vec<String>,
}

/// `[ownership]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipPolicy {
    /// No two areas share a keyword.
    pub areas: Vec<OwnershipArea>,
}

/// `[[ownership.areas]]`: topics (keywords) and who owns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipArea {
    pub name: String,
    /// As written.
    pub keywords: Vec<String>,
    /// Each keyword as its lowercase words (`words::Words`), what a request is matched on.
    pub keyword_words: Vec<Vec<String>>,
    /// [`PLATFORM_OWNER`] for our own areas, else the team's name.
    pub owner: String,
    pub channel: Option<String>,
    pub note: Option<String>,
}

impl OwnershipArea {
    /// An area of the platform team's own: requests in it are filed as usual.
    pub fn is_platform(&self) -> bool {
        self.owner.eq_ignore_ascii_case(PLATFORM_OWNER)
    }
}
