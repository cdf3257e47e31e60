//! The dashboard in a real browser: Debian's headless Chromium (driven over the DevTools
//! protocol) opens `/dashboard` on a history made through the real intake, and the test
//! checks that the page loads without console errors, that every chart is there, titled, and
//! draws data marks, and keeps a screenshot in `target/test-artifacts/dashboard.png`.

mod common;
#[path = "dashboard/seed.rs"]
mod seed;

use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption;
use headless_chrome::{Browser, LaunchOptions};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The charts the page must show (satisfaction once a requester answered and a pulse
/// survey closed).
const CHARTS: [&str; 9] = [
    "volume",
    "attainment",
    "first-response",
    "resolution",
    "backlog",
    "satisfaction",
    "pulse",
    "channels",
    "categories",
];

/// The requester answers the first satisfaction question with a 4 (a signed press), and two
/// pulse surveys have closed (rows as the survey module writes them at close).
async fn satisfaction(app: &common::TestApp) {
    let q = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.text.starts_with("How did we do on "))
        .expect("a satisfaction question was sent");
    let ticket = q.blocks[1]["elements"][0]["value"].clone();
    let payload = serde_json::json!({
        "type": "block_actions", "user": { "id": common::ALICE, "name": "alice" },
        "api_app_id": "A07PLTFM2QX", "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
        "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
        "container": { "type": "message", "message_ts": q.ts, "channel_id": q.channel },
        "channel": { "id": q.channel },
        "actions": [{ "type": "button", "action_id": "csat_score_4", "block_id": "csat",
                      "value": ticket, "action_ts": "1700000070.1" }],
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
    // The score is stored before the press is answered (the card's update is paced after).
    assert_eq!(
        app.scalar("select count(*) from tickets where csat = 4")
            .await,
        1
    );
    for (closed, responses, mean) in [
        ("2026-11-13T14:00:00Z", 12, 3.6),
        ("2026-11-20T14:00:00Z", 15, 3.9),
    ] {
        app.scalar(&format!(
            "insert into surveys (question, started_at, closes_at, closed_at, audience, \
             responses, mean, distribution, favourable) values ('How?', '{closed}', '{closed}', \
             '{closed}', 40, {responses}, {mean}, '[1,1,3,5,5]', 0.66) returning id"
        ))
        .await;
    }
}

/// Generous: a loaded 2-core machine starts a browser slowly; every wait ends on a signal.
const TIMEOUT: Duration = Duration::from_secs(90);

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("Chromium is not installed: `apt-get install -y chromium` (.ci/run does it)")
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("test-artifacts")
}

/// What the browser saw: the charts' findings, console errors, the page title.
struct Seen {
    title: String,
    charts: Value,
    errors: Vec<String>,
}

/// Inspects each chart: present, titled, its SVG's data marks (lines and points in the
/// series colours, bars that are not legend swatches), its empty state and table rows.
const INSPECT: &str = r##"
(() => {
  const palette = ["#2563EB", "#EA580C", "#16A34A", "#9333EA", "#DC2626"];
  const coloured = el => palette.some(p =>
    ((el.getAttribute("fill") || "") + " " + (el.getAttribute("stroke") || "")).toUpperCase().includes(p));
  const found = {};
  for (const fig of document.querySelectorAll("figure.chart")) {
    const svg = fig.querySelector("svg");
    let lines = 0, bars = 0;
    if (svg) {
      for (const el of svg.querySelectorAll("polyline, path")) {
        const b = el.getBBox();
        if (coloured(el) && b.width > 0) lines++;
      }
      for (const el of svg.querySelectorAll("rect, circle")) {
        const b = el.getBBox();
        const swatch = el.tagName === "rect" && Math.round(b.width) === 12 && Math.round(b.height) === 10;
        if (coloured(el) && b.width > 0 && b.height > 0 && !swatch) bars++;
      }
    }
    const empty = fig.querySelector(".empty");
    found[fig.id] = {
      title: (fig.querySelector("h2") || {}).textContent || "",
      svg: !!svg,
      width: svg ? svg.getBoundingClientRect().width : 0,
      lines, bars,
      empty: empty ? empty.textContent : null,
      rows: fig.querySelectorAll("tbody tr").length,
    };
  }
  return JSON.stringify(found);
})()
"##;

fn look(url: &str, shot: &std::path::Path) -> Seen {
    let args: Vec<&OsStr> = [
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        // Tests run as root in CI, where Chromium's sandbox cannot start.
        .sandbox(false)
        .window_size(Some((1280, 2600)))
        .idle_browser_timeout(TIMEOUT)
        .args(args)
        .build()
        .expect("launch options");
    let browser = Browser::new(options).expect("Chromium starts");
    let tab = browser.new_tab().expect("a tab");
    tab.set_default_timeout(TIMEOUT);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    tab.enable_log().expect("log domain");
    tab.enable_runtime().expect("runtime domain");
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let error = match event {
            Event::LogEntryAdded(e) => {
                let entry = &e.params.entry;
                (format!("{:?}", entry.level) == "Error").then(|| entry.text.clone())
            }
            Event::RuntimeConsoleAPICalled(e) => {
                matches!(e.params.Type, ConsoleAPICalledEventTypeOption::Error)
                    .then(|| format!("console.error: {:?}", e.params.args))
            }
            Event::RuntimeExceptionThrown(e) => Some(e.params.exception_details.text.clone()),
            _ => None,
        };
        if let Some(error) = error {
            sink.lock().unwrap().push(error);
        }
    }))
    .expect("listener");
    tab.navigate_to(url)
        .expect("navigate")
        .wait_until_navigated()
        .expect("the page loads");
    // A positive signal that the whole page is there: its last chart.
    tab.wait_for_element("figure#categories")
        .expect("the last chart is on the page");
    let title = tab.get_title().expect("title");
    let charts = tab.evaluate(INSPECT, false).expect("inspect the charts");
    let charts: Value = serde_json::from_str(
        charts
            .value
            .as_ref()
            .and_then(Value::as_str)
            .expect("a JSON string"),
    )
    .expect("JSON");
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("screenshot");
    std::fs::write(shot, png).expect("write the screenshot");
    let errors = errors.lock().unwrap().clone();
    Seen {
        title,
        charts,
        errors,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_every_chart_in_chromium_without_console_errors() {
    let (app, clock) = seed::app(vec![]).await;
    let filed = seed::history(&app, &clock, 30).await;
    assert_eq!(filed, 30);
    satisfaction(&app).await;
    let dir = artifacts();
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let url = format!("{}/dashboard?days=30", app.base);
    let shot_path = shot.clone();
    let seen = tokio::task::spawn_blocking(move || look(&url, &shot_path))
        .await
        .expect("the browser session");

    assert!(seen.errors.is_empty(), "console errors: {:?}", seen.errors);
    assert!(seen.title.contains("platform-desk"), "{}", seen.title);
    for id in CHARTS {
        let chart = &seen.charts[id];
        assert!(chart.is_object(), "chart {id} is missing: {}", seen.charts);
        assert!(
            !chart["title"].as_str().unwrap().is_empty(),
            "{id} untitled"
        );
        assert_eq!(chart["svg"], true, "{id} has no SVG: {chart}");
        assert!(
            chart["width"].as_f64().unwrap() > 100.0,
            "{id} is not laid out: {chart}"
        );
        let marks = chart["lines"].as_u64().unwrap() + chart["bars"].as_u64().unwrap();
        assert!(marks > 0, "{id} draws nothing: {chart}");
        assert!(
            chart["rows"].as_u64().unwrap() > 0,
            "{id} has no table rows: {chart}"
        );
    }
    // Lines over weeks are lines; the rest are bars.
    for id in ["volume", "attainment"] {
        assert!(
            seen.charts[id]["lines"].as_u64().unwrap() > 0,
            "{}",
            seen.charts[id]
        );
    }
    assert!(
        seen.charts["pulse"]["lines"].as_u64().unwrap() > 0,
        "the pulse's trend is a line: {}",
        seen.charts["pulse"]
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
}
