//! What changed on the roadmap since the last digest, from its change rows: one entry per
//! item and kind of change (an item moved twice shows where it went from and to).

use super::db::ChangeRow;
use std::collections::BTreeMap;

/// One item's change of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub id: i64,
    pub title: String,
    /// The value before the first change of the window, and after the last.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The roadmap's changes in a window, by kind, each in item order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub shipped: Vec<Moved>,
    pub started: Vec<Moved>,
    pub dropped: Vec<Moved>,
    pub targets: Vec<Moved>,
    pub health: Vec<Moved>,
    pub new: Vec<Moved>,
}

impl Changes {
    /// Nothing worth a digest: no item created, started, shipped, dropped, retargeted or
    /// re-rated (a title or owner edit alone is not news).
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    pub fn count(&self) -> usize {
        self.shipped.len()
            + self.started.len()
            + self.dropped.len()
            + self.targets.len()
            + self.health.len()
            + self.new.len()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    New,
    Status,
    Target,
    Health,
}

/// Folds `rows` (oldest first) into the changes a reader cares about: a status that ends
/// where it started, or a target moved back, is no change.
pub fn fold(rows: &[ChangeRow]) -> Changes {
    let mut by: BTreeMap<(Kind, i64), Moved> = BTreeMap::new();
    for row in rows {
        let kind = match row.field.as_str() {
            "created" => Kind::New,
            "status" => Kind::Status,
            "target" => Kind::Target,
            "health" => Kind::Health,
            _ => continue,
        };
        by.entry((kind, row.item_id))
            .and_modify(|m| {
                m.to = row.new.clone();
                m.title = row.title.clone();
            })
            .or_insert_with(|| Moved {
                id: row.item_id,
                title: row.title.clone(),
                from: row.old.clone(),
                to: row.new.clone(),
            });
    }
    let mut out = Changes::default();
    for ((kind, _), moved) in by {
        let list = match kind {
            Kind::New => &mut out.new,
            _ if moved.from == moved.to => continue,
            Kind::Target => &mut out.targets,
            Kind::Health => &mut out.health,
            Kind::Status => match moved.to.as_deref() {
                Some("shipped") => &mut out.shipped,
                Some("in_progress") => &mut out.started,
                Some("dropped") => &mut out.dropped,
                _ => continue, // back to planned: not news
            },
        };
        list.push(moved);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: i64, field: &str, old: Option<&str>, new: Option<&str>) -> ChangeRow {
        ChangeRow {
            item_id: item,
            title: format!("item {item}"),
            field: field.into(),
            old: old.map(Into::into),
            new: new.map(Into::into),
        }
    }

    #[test]
    fn changes_are_sorted_by_kind_and_an_item_moved_twice_shows_first_and_last_value() {
        let rows = [
            row(1, "created", None, Some("planned")),
            row(2, "status", Some("planned"), Some("in_progress")),
            row(3, "status", Some("in_progress"), Some("shipped")),
            row(4, "target", Some("2027-Q1"), Some("2027-Q2")),
            row(4, "target", Some("2027-Q2"), Some("2027-Q3")),
            row(5, "health", Some("on_track"), Some("at_risk")),
            row(6, "status", Some("planned"), Some("dropped")),
            row(7, "title", Some("a"), Some("b")),
        ];
        let c = fold(&rows);
        assert_eq!(c.new.len(), 1);
        assert_eq!(c.started[0].id, 2);
        assert_eq!(c.shipped[0].id, 3);
        assert_eq!(
            (c.targets[0].from.as_deref(), c.targets[0].to.as_deref()),
            (Some("2027-Q1"), Some("2027-Q3"))
        );
        assert_eq!(c.health[0].to.as_deref(), Some("at_risk"));
        assert_eq!(c.dropped[0].id, 6);
        assert_eq!(c.count(), 6, "a title edit is not news");
    }

    #[test]
    fn a_target_moved_and_moved_back_is_no_change() {
        let rows = [
            row(4, "target", Some("2027-Q1"), Some("2027-Q2")),
            row(4, "target", Some("2027-Q2"), Some("2027-Q1")),
            row(5, "status", Some("planned"), Some("in_progress")),
            row(5, "status", Some("in_progress"), Some("planned")),
        ];
        assert!(fold(&rows).is_empty());
    }
}
