//! The export benchmark: a million seeded tickets exported as CSV by the release binary,
//! against `sqlite3 -csv` dumping the same table.
//!
//!     cargo bench --bench export
//!     BENCH_SKIP_BUILD=1 BENCH_TICKETS=200000 cargo bench --bench export
//!     BENCH_DB=/tmp/million.db cargo bench --bench export   # reuse (or keep) a database
//!
//! It builds `target/release/platform-desk` (unless `BENCH_SKIP_BUILD` is set), runs
//! `seed-demo --tickets BENCH_TICKETS` (default 1,000,000, over 365 days) into a new
//! database (reported: the seed's own time), then times `export tickets --format csv` to
//! /dev/null under `/usr/bin/time` (wall time and peak RSS), and `sqlite3 -csv` of
//! `select * from tickets` to /dev/null. Targets: peak RSS under 40 MiB, and at least half
//! the speed of sqlite3 (export time at most twice sqlite3's). Missed targets exit 1.
//!
//! `cargo test --all-targets` runs this binary without `--bench`: it then does nothing.

use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const TARGET_PEAK_RSS_MIB: f64 = 40.0;
const TARGET_SPEED_OF_SQLITE: f64 = 0.5;

fn main() -> ExitCode {
    if !std::env::args().skip(1).any(|a| a == "--bench") {
        println!(
            "export benchmark: skipped; run it with `cargo bench --bench export` \
             (BENCH_TICKETS, BENCH_DB and BENCH_SKIP_BUILD adjust it)"
        );
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("export benchmark: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run() -> anyhow::Result<bool> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("BENCH_SKIP_BUILD").is_none() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--bin", "platform-desk"])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            bail!("the release build failed");
        }
    }
    let binary = root.join("target/release/platform-desk");
    let tickets: u64 = env_or("BENCH_TICKETS", 1_000_000);
    let dir = tempfile::tempdir()?;
    let db = std::env::var("BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("export-bench.db"));
    let url = format!("sqlite://{}", db.display());
    if !db.exists() {
        let started = Instant::now();
        let out = Command::new(&binary)
            .args([
                "seed-demo",
                "--tickets",
                &tickets.to_string(),
                "--days",
                "365",
            ])
            .env("DATABASE_URL", &url)
            .env_remove("PLATFORM_DESK_CONFIG")
            .output()?;
        if !out.status.success() {
            bail!("seed-demo failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        println!(
            "seed-demo: {} ({:.1} s wall)",
            String::from_utf8_lossy(&out.stdout).trim(),
            started.elapsed().as_secs_f64()
        );
    }
    let (export_s, rss_kib) = timed(
        Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(&binary)
            .args(["export", "tickets", "--format", "csv"])
            .env("DATABASE_URL", &url),
    )?;
    let (sqlite_s, _) = timed(
        Command::new("/usr/bin/time")
            .args(["-f", "%e %M", "sqlite3", "-csv"])
            .arg(&db)
            .arg("select * from tickets"),
    )?;
    let rss_mib = rss_kib / 1024.0;
    let speed = sqlite_s / export_s;
    println!("export tickets --format csv: {export_s:.2} s, peak RSS {rss_mib:.1} MiB");
    println!("sqlite3 -csv select * from tickets: {sqlite_s:.2} s");
    println!("export speed: {speed:.2} of sqlite3's (target >= {TARGET_SPEED_OF_SQLITE})");
    let rss_ok = rss_mib < TARGET_PEAK_RSS_MIB;
    let speed_ok = speed >= TARGET_SPEED_OF_SQLITE;
    println!(
        "peak RSS under {TARGET_PEAK_RSS_MIB} MiB: {}; speed: {}",
        if rss_ok { "ok" } else { "MISSED" },
        if speed_ok { "ok" } else { "MISSED" }
    );
    Ok(rss_ok && speed_ok)
}

/// Runs `/usr/bin/time -f "%e %M" ...` with stdout to /dev/null: (seconds, peak RSS KiB).
fn timed(cmd: &mut Command) -> anyhow::Result<(f64, f64)> {
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("cannot run /usr/bin/time")?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{err}");
    }
    let last = err.lines().last().unwrap_or_default();
    let mut parts = last.split_whitespace().map(|p| p.parse::<f64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(secs)), Some(Ok(kib))) => Ok((secs, kib)),
        _ => bail!("unexpected /usr/bin/time output: {last}"),
    }
}
