//! The roadmap as a file, for teams that keep it in git: `roadmap import FILE` (TOML
//! `[[item]]`, upserted by `id`, idempotent: unchanged fields write no history) and
//! `roadmap export` (the same TOML, or JSON with linked tickets and a follower count).

use super::db;
use super::edit::apply_fields;
use super::model::{key, parse_key, Field, Item, Values};
use crate::clock::db_time;
use crate::outbox;
use crate::store::Pool;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Who the history names for changes made by an import.
pub const IMPORT_ACTOR: &str = "import";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    id: String,
    title: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    health: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoadmapFile {
    #[serde(default)]
    item: Vec<FileItem>,
}

impl FileItem {
    fn of(item: &Item) -> Self {
        FileItem {
            id: item.key(),
            title: item.title.clone(),
            status: item.status.as_str().to_string(),
            description: item.description.clone(),
            target: item.target.clone(),
            owner: item.owner.clone(),
            link: item.link.clone(),
            health: item.health.map(|h| h.as_str().to_string()),
        }
    }

    /// The item's number and every field as stored, or the first problem, naming the item
    /// and the field.
    fn validate(&self, n: usize) -> Result<(i64, Values), String> {
        let id = parse_key(&self.id)
            .ok_or_else(|| format!("item {n}: id: `{}` is not a roadmap key like RM-3", self.id))?;
        let raw = [
            (Field::Title, Some(&self.title)),
            (Field::Status, Some(&self.status)),
            (Field::Description, self.description.as_ref()),
            (Field::Target, self.target.as_ref()),
            (Field::Owner, self.owner.as_ref()),
            (Field::Link, self.link.as_ref()),
            (Field::Health, self.health.as_ref()),
        ];
        let mut fields = Vec::with_capacity(raw.len());
        for (field, value) in raw {
            let parsed = match value {
                Some(v) => field
                    .parse_value(v)
                    .map_err(|e| format!("item {}: {}: {e}", key(id), field.column()))?,
                None => None,
            };
            fields.push((field, parsed));
        }
        Ok((id, fields))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is wrong: the message names the item and the field.
    #[error("{0}")]
    Invalid(String),
    #[error("storage failed")]
    Store(#[from] sqlx::Error),
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// People sent a ship notice (items the file marks shipped).
    pub told: usize,
}

/// Imports a TOML roadmap in one transaction: every item validated first (nothing is
/// written when one is wrong), then each added or brought up to date, with history rows only
/// for what changed. Items shipped by the file send their ship notices through the outbox.
pub async fn import(pool: &Pool, text: &str, now: DateTime<Utc>) -> Result<Summary, ImportError> {
    let file: RoadmapFile =
        toml::from_str(text).map_err(|e| ImportError::Invalid(one_line(&e.to_string())))?;
    let mut valid = Vec::with_capacity(file.item.len());
    let mut seen = BTreeSet::new();
    for (i, item) in file.item.iter().enumerate() {
        let (id, fields) = item.validate(i + 1).map_err(ImportError::Invalid)?;
        if !seen.insert(id) {
            return Err(ImportError::Invalid(format!(
                "item {}: id: the file has it twice",
                key(id)
            )));
        }
        valid.push((id, fields));
    }
    let mut summary = Summary::default();
    let mut tx = pool.begin_with("begin immediate").await?;
    let mut messages = Vec::new();
    for (id, fields) in valid {
        let existing = db::by_id(&mut tx, id).await?;
        let is_new = existing.is_none();
        let item = match existing {
            Some(item) => item,
            None => {
                let title = fields[0].1.clone().unwrap_or_default();
                db::insert(&mut tx, Some(id), &title, IMPORT_ACTOR, now).await?;
                summary.added += 1;
                db::by_id(&mut tx, id)
                    .await?
                    .ok_or_else(|| sqlx::Error::RowNotFound)?
            }
        };
        let written = apply_fields(&mut tx, &item, &fields, IMPORT_ACTOR, now).await?;
        if !is_new {
            if written.changed.is_empty() {
                summary.unchanged += 1;
            } else {
                summary.changed += 1;
            }
        }
        summary.told += written.told;
        messages.extend(written.messages);
    }
    outbox::db::insert_all(&mut tx, &messages, &db_time(now)).await?;
    tx.commit().await?;
    Ok(summary)
}

/// toml's error (which points at the line) on one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The roadmap as the TOML file `import` reads.
pub async fn export_toml(pool: &Pool) -> anyhow::Result<String> {
    let items = db::all(&mut *pool.acquire().await?).await?;
    let file = RoadmapFile {
        item: items.iter().map(FileItem::of).collect(),
    };
    Ok(toml::to_string(&file)?)
}

/// One item of the JSON export: the file's fields (absent ones null), its linked tickets'
/// keys and how many follow it.
#[derive(Debug, Serialize)]
pub struct JsonItem {
    pub id: String,
    pub title: String,
    pub status: String,
    pub description: Option<String>,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub link: Option<String>,
    pub health: Option<String>,
    pub linked_tickets: Vec<String>,
    pub followers: usize,
}

pub async fn export_json(pool: &Pool) -> anyhow::Result<Vec<JsonItem>> {
    let mut conn = pool.acquire().await?;
    let items = db::all(&mut conn).await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let f = FileItem::of(&item);
        out.push(JsonItem {
            id: f.id,
            title: f.title,
            status: f.status,
            description: f.description,
            target: f.target,
            owner: f.owner,
            link: f.link,
            health: f.health,
            linked_tickets: db::linked_keys(&mut conn, item.id).await?,
            followers: db::followers(&mut conn, item.id).await?.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(extra: &str) -> String {
        format!("[[item]]\nid = \"RM-3\"\ntitle = \"Faster builds\"\nstatus = \"planned\"\n{extra}")
    }

    async fn pool() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let pool = crate::store::connect(&url).await.unwrap();
        crate::store::migrate(&pool).await.unwrap();
        (dir, pool)
    }

    async fn fails_with(text: &str, needle: &str) {
        let (_dir, pool) = pool().await;
        match import(&pool, text, Utc::now()).await {
            Err(ImportError::Invalid(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected an error with {needle}, got {other:?}"),
        }
        let n: i64 = sqlx::query_scalar("select count(*) from roadmap_items")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 0, "nothing is written when the file is wrong");
    }

    #[tokio::test]
    async fn errors_name_the_item_and_the_field() {
        fails_with(&item("target = \"soon\""), "item RM-3: target:").await;
        fails_with(&item("health = \"meh\""), "item RM-3: health:").await;
        fails_with(&item("owner = \"bob\""), "item RM-3: owner:").await;
        fails_with(&item("colour = \"red\""), "colour").await;
        fails_with(
            "[[item]]\nid = \"X-1\"\ntitle = \"t\"\nstatus = \"planned\"\n",
            "item 1: id:",
        )
        .await;
        fails_with(
            "[[item]]\nid = \"RM-1\"\ntitle = \"t\"\nstatus = \"done\"\n",
            "item RM-1: status:",
        )
        .await;
        fails_with(&format!("{}\n{}", item(""), item("")), "twice").await;
    }
}
