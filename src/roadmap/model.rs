//! What a roadmap item is: its key `RM-<n>`, its status, health and target, parsed and
//! validated from what people type (in Slack and in the TOML file alike).

use chrono::{DateTime, NaiveDate, Utc};

/// `RM-3` -> 3 (any case, surrounding whitespace ignored); None for anything else.
pub fn parse_key(text: &str) -> Option<i64> {
    let text = text.trim();
    let (prefix, n) = text.split_at_checked(3)?;
    if !prefix.eq_ignore_ascii_case("RM-") || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    n.parse().ok().filter(|n| *n >= 1)
}

pub fn key(id: i64) -> String {
    format!("RM-{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Planned,
    InProgress,
    Shipped,
    Dropped,
}

impl Status {
    pub const NAMES: &'static str = "planned, in_progress, shipped, dropped";

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::InProgress => "in_progress",
            Status::Shipped => "shipped",
            Status::Dropped => "dropped",
        }
    }

    /// `in_progress`, and the forms people type (`in-progress`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "planned" => Some(Status::Planned),
            "in_progress" => Some(Status::InProgress),
            "shipped" => Some(Status::Shipped),
            "dropped" => Some(Status::Dropped),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Planned => ":spiral_calendar_pad: planned",
            Status::InProgress => ":hammer_and_wrench: in progress",
            Status::Shipped => ":rocket: shipped",
            Status::Dropped => ":wastebasket: dropped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    OnTrack,
    AtRisk,
    OffTrack,
}

impl Health {
    pub const NAMES: &'static str = "on_track, at_risk, off_track";

    pub fn as_str(self) -> &'static str {
        match self {
            Health::OnTrack => "on_track",
            Health::AtRisk => "at_risk",
            Health::OffTrack => "off_track",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "on_track" => Some(Health::OnTrack),
            "at_risk" => Some(Health::AtRisk),
            "off_track" => Some(Health::OffTrack),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Health::OnTrack => ":large_green_circle: on track",
            Health::AtRisk => ":large_yellow_circle: at risk",
            Health::OffTrack => ":red_circle: off track",
        }
    }
}

/// A target as stored: a quarter `2027-Q1` or a date `2027-03-31`, normalised (`2027-q1`
/// becomes `2027-Q1`). Err says what is accepted, as plain text (escape it for mrkdwn).
pub fn parse_target(text: &str) -> Result<String, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{}` is not a target: use a quarter like 2027-Q1 or a date like 2027-03-31",
            crate::domain::ticket::shorten(t, 40)
        )
    };
    if let Some((year, q)) = t.split_once(['-', ' ']) {
        let q = q.trim();
        if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()) {
            if let Some(n) = q.strip_prefix(['Q', 'q']) {
                if matches!(n, "1" | "2" | "3" | "4") {
                    return Ok(format!("{year}-Q{n}"));
                }
            }
        }
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) if t.len() == 10 => Ok(d.format("%Y-%m-%d").to_string()),
        _ => Err(bad()),
    }
}

/// A Slack user id as people type it: `U01BOB`, `@U01BOB`, `<@U01BOB>` or `<@U01BOB|bob>`.
pub fn parse_owner(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_prefix('@').unwrap_or(t);
    let t = t.split(['|', '>']).next().unwrap_or("");
    crate::mrkdwn::is_slack_id(t).then(|| t.to_string())
}

/// The longest title kept (the roadmap lists show it whole).
pub const MAX_TITLE_CHARS: usize = 150;
pub const MAX_TEXT_CHARS: usize = 3000;

pub fn parse_title(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        Err("a title is needed".into())
    } else if t.chars().count() > MAX_TITLE_CHARS {
        Err(format!("keep the title under {MAX_TITLE_CHARS} characters"))
    } else {
        Ok(t.to_string())
    }
}

/// One roadmap item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub status: Status,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub link: Option<String>,
    pub health: Option<Health>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
}

impl Item {
    pub fn key(&self) -> String {
        key(self.id)
    }

    /// The field's value as stored (the text the history records).
    pub fn get(&self, field: Field) -> Option<String> {
        match field {
            Field::Title => Some(self.title.clone()),
            Field::Description => self.description.clone(),
            Field::Status => Some(self.status.as_str().to_string()),
            Field::Target => self.target.clone(),
            Field::Owner => self.owner.clone(),
            Field::Link => self.link.clone(),
            Field::Health => self.health.map(|h| h.as_str().to_string()),
        }
    }

    /// Sets a field to a value made by [`Field::parse_value`] (so a status or health that
    /// does not parse cannot come here; it would leave the field as it was).
    pub fn set(&mut self, field: Field, value: Option<String>) {
        match field {
            Field::Title => self.title = value.unwrap_or_default(),
            Field::Description => self.description = value,
            Field::Status => {
                if let Some(s) = value.as_deref().and_then(Status::parse) {
                    self.status = s;
                }
            }
            Field::Target => self.target = value,
            Field::Owner => self.owner = value,
            Field::Link => self.link = value,
            Field::Health => self.health = value.as_deref().and_then(Health::parse),
        }
    }
}

/// The answers to an item's ship notices, kept for the reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipAnswers {
    /// People sent a ship notice.
    pub told: u64,
    pub solved: u64,
    pub not_quite: u64,
}

/// Fields and the values to give them, as stored.
pub type Values = Vec<(Field, Option<String>)>;

/// The fields of an item that change, each a column of `roadmap_items` and a `field` of
/// `roadmap_changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Description,
    Status,
    Target,
    Owner,
    Link,
    Health,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Title,
        Field::Description,
        Field::Status,
        Field::Target,
        Field::Owner,
        Field::Link,
        Field::Health,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Status => "status",
            Field::Target => "target",
            Field::Owner => "owner",
            Field::Link => "link",
            Field::Health => "health",
        }
    }

    /// The names `roadmap set` takes, for its usage.
    pub const SETTABLE: &'static str = "status, target, owner, health, title, description or link";

    /// The fields `roadmap set` changes: all of them, so that a team without a roadmap file
    /// manages every field in Slack.
    pub fn settable(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "status" => Some(Field::Status),
            "target" => Some(Field::Target),
            "owner" => Some(Field::Owner),
            "health" => Some(Field::Health),
            "title" => Some(Field::Title),
            "description" => Some(Field::Description),
            "link" => Some(Field::Link),
            _ => None,
        }
    }

    /// A typed value made into what is stored, or what is wrong with it.
    pub fn parse_value(self, text: &str) -> Result<Option<String>, String> {
        let t = text.trim();
        let too_long = |what: &str| format!("keep the {what} under {MAX_TEXT_CHARS} characters");
        match self {
            Field::Title => parse_title(t).map(Some),
            Field::Status => Status::parse(t)
                .map(|s| Some(s.as_str().to_string()))
                .ok_or_else(|| format!("the status is one of {}", Status::NAMES)),
            Field::Health => Health::parse(t)
                .map(|h| Some(h.as_str().to_string()))
                .ok_or_else(|| format!("the health is one of {}", Health::NAMES)),
            Field::Target => parse_target(t).map(Some),
            Field::Owner => parse_owner(t)
                .map(Some)
                .ok_or_else(|| "the owner is a person: `@someone` or a user id".to_string()),
            Field::Description | Field::Link if t.is_empty() => Ok(None),
            Field::Description if t.chars().count() > MAX_TEXT_CHARS => {
                Err(too_long("description"))
            }
            Field::Link if t.chars().count() > 500 => {
                Err("keep the link under 500 characters".into())
            }
            Field::Description | Field::Link => Ok(Some(t.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_in_any_case_and_nothing_else_is_a_key() {
        assert_eq!(parse_key("RM-3"), Some(3));
        assert_eq!(parse_key(" rm-42 "), Some(42));
        for bad in [
            "RM-",
            "RM-0",
            "RM-x",
            "PLAT-3",
            "RM3",
            "RM-+3",
            "RM-99999999999999999999",
            "é",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
        assert_eq!(key(7), "RM-7");
    }

    #[test]
    fn targets_are_quarters_or_real_dates() {
        assert_eq!(parse_target("2027-Q1").unwrap(), "2027-Q1");
        assert_eq!(parse_target("2027-q4").unwrap(), "2027-Q4");
        assert_eq!(parse_target("2027-03-31").unwrap(), "2027-03-31");
        for bad in [
            "2027-Q5",
            "2027-02-30",
            "next year",
            "27-Q1",
            "2027-3-1",
            "<!here>",
        ] {
            let err = parse_target(bad).unwrap_err();
            assert!(err.contains("2027-Q1"), "{bad}: {err}");
        }
    }

    #[test]
    fn statuses_and_health_read_as_people_type_them() {
        assert_eq!(Status::parse("in-progress"), Some(Status::InProgress));
        assert_eq!(Status::parse("SHIPPED"), Some(Status::Shipped));
        assert_eq!(Status::parse("done"), None);
        assert_eq!(Health::parse("at_risk"), Some(Health::AtRisk));
        assert_eq!(Health::parse("fine"), None);
    }

    #[test]
    fn owners_are_user_ids_however_they_are_written() {
        for form in ["U01BOB", "@U01BOB", "<@U01BOB>", "<@U01BOB|bob>"] {
            assert_eq!(parse_owner(form).as_deref(), Some("U01BOB"), "{form}");
        }
        assert_eq!(parse_owner("@bob"), None);
        assert_eq!(parse_owner("<!channel>"), None);
    }
}
