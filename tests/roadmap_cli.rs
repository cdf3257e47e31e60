//! `platform-desk roadmap import` and `roadmap export`, run as the binary: importing twice
//! gives the same roadmap and no new history, the export round-trips, and a wrong file names
//! the item and the field and changes nothing.

use std::path::Path;
use std::process::{Command, Output};

const ROADMAP: &str = r#"
[[item]]
id = "RM-3"
title = "Self-service databases"
status = "in_progress"
description = "Order a Postgres from a form"
target = "2027-Q1"
owner = "U01BOB"
link = "https://wiki.example.com/rm-3"
health = "on_track"

[[item]]
id = "RM-7"
title = "Faster CI builds"
status = "planned"
target = "2027-03-31"
"#;

fn bin(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_platform-desk"));
    command
        .env_clear()
        .env("RUST_LOG", "error")
        .env("DATABASE_URL", url);
    command
}

fn run(url: &str, args: &[&str]) -> Output {
    bin(url).args(args).output().unwrap()
}

fn ok(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn database(dir: &Path, name: &str) -> String {
    let url = format!("sqlite://{}", dir.join(name).display());
    ok(run(&url, &["migrate"]));
    url
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// How many history rows the database holds (read as an operator would, apart from the CLI).
fn history_rows(url: &str) -> i64 {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = platform_desk::store::connect(url).await.unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from roadmap_changes")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    })
}

#[test]
fn importing_twice_gives_the_same_roadmap_and_no_new_history() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path(), "a.db");
    let file = write(dir.path(), "roadmap.toml", ROADMAP);
    let first = ok(run(&url, &["roadmap", "import", &file]));
    assert!(first.contains("2 added"), "{first}");
    let exported = ok(run(&url, &["roadmap", "export"]));
    let history = history_rows(&url);
    // Each item's creation, plus each field the file sets beyond a new item's defaults
    // (RM-3: status, description, target, owner, link, health; RM-7: target).
    assert_eq!(history, 2 + 6 + 1);
    let second = ok(run(&url, &["roadmap", "import", &file]));
    assert!(
        second.contains("0 added, 0 changed, 2 unchanged"),
        "{second}"
    );
    assert_eq!(ok(run(&url, &["roadmap", "export"])), exported);
    assert_eq!(history_rows(&url), history);

    // A changed field is one more history row, and the rest stays.
    let moved = ROADMAP.replace("2027-03-31", "2027-Q3");
    let moved_file = write(dir.path(), "moved.toml", &moved);
    let third = ok(run(&url, &["roadmap", "import", &moved_file]));
    assert!(third.contains("1 changed, 1 unchanged"), "{third}");
    assert_eq!(history_rows(&url), history + 1);
}

#[test]
fn the_export_round_trips_through_import() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path(), "a.db");
    ok(run(
        &url,
        &["roadmap", "import", &write(dir.path(), "r.toml", ROADMAP)],
    ));
    let toml = ok(run(&url, &["roadmap", "export", "--format", "toml"]));
    let json: serde_json::Value =
        serde_json::from_str(&ok(run(&url, &["roadmap", "export", "--format", "json"]))).unwrap();
    let items = json.as_array().expect("an array of items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], "RM-3");
    assert_eq!(items[0]["owner"], "U01BOB");
    assert_eq!(items[0]["health"], "on_track");
    assert_eq!(items[0]["linked_tickets"], serde_json::json!([]));
    assert_eq!(items[0]["followers"], 0);
    assert!(items[1]["description"].is_null() && items[1]["health"].is_null());

    let other = database(dir.path(), "b.db");
    ok(run(
        &other,
        &[
            "roadmap",
            "import",
            &write(dir.path(), "export.toml", &toml),
        ],
    ));
    assert_eq!(
        ok(run(&other, &["roadmap", "export", "--format", "toml"])),
        toml
    );
    let again: serde_json::Value =
        serde_json::from_str(&ok(run(&other, &["roadmap", "export", "--format", "json"]))).unwrap();
    assert_eq!(again, json);
}

#[test]
fn a_wrong_file_names_the_item_and_the_field_exits_1_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path(), "a.db");
    let bad = ROADMAP.replace("2027-03-31", "next spring");
    let out = run(
        &url,
        &["roadmap", "import", &write(dir.path(), "bad.toml", &bad)],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("item RM-7: target:"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        ok(run(&url, &["roadmap", "export", "--format", "json"])).trim(),
        "[]"
    );
    let missing = run(&url, &["roadmap", "import", "/nonexistent/roadmap.toml"]);
    assert_eq!(missing.status.code(), Some(1));
}
