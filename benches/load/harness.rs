//! What both benchmarks do around the server they measure: pin themselves to CPU 1 (the
//! server gets CPU 0), find a free port, read the server's log, print big numbers.

use anyhow::ensure;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Pins every thread of this process to CPU 1 with `taskset`, so the server can have CPU 0
/// to itself. Call it before any runtime starts, so every later thread inherits it. Returns
/// `taskset` for pinning the server, or None (with a warning naming `who`) when there is no
/// `taskset` or only one CPU.
pub fn pin_to_cpu1(who: &str) -> anyhow::Result<Option<PathBuf>> {
    let cpus = super::procfs::cpus_online();
    match (super::procfs::find_program("taskset"), cpus >= 2) {
        (Some(taskset), true) => {
            let me = std::process::id().to_string();
            let pinned = std::process::Command::new(&taskset)
                .args(["-a", "-p", "-c", "1", &me])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            ensure!(pinned, "taskset could not pin the {who} to CPU 1");
            Ok(Some(taskset))
        }
        (None, _) => {
            println!("warning: taskset (util-linux) not found: server and {who} run unpinned");
            Ok(None)
        }
        (Some(_), false) => {
            println!("warning: only {cpus} CPU online: server and {who} run unpinned");
            Ok(None)
        }
    }
}

/// A loopback address nobody listens on (for the server to take).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The lines of the server's log file (none if it cannot be read).
pub fn read_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `platform-desk serve` on `addr` (pinned to CPU 0 through `taskset` if given), with a
/// fake Slack at `api_url`, the database `db_url`, warnings and errors logged to `log`, and
/// nothing else from this process's environment. Killed if dropped.
pub fn serve_command(
    server: &Path,
    taskset: Option<&Path>,
    api_url: &str,
    signing_secret: &str,
    db_url: &str,
    addr: SocketAddr,
    log: &Path,
) -> anyhow::Result<tokio::process::Command> {
    let mut cmd = match taskset {
        Some(taskset) => {
            let mut cmd = tokio::process::Command::new(taskset);
            cmd.args(["-c", "0"]).arg(server);
            cmd
        }
        None => tokio::process::Command::new(server),
    };
    cmd.arg("serve")
        .env_clear()
        .env("SLACK_BOT_TOKEN", "xoxb-bench")
        .env("SLACK_SIGNING_SECRET", signing_secret)
        .env("SLACK_API_URL", api_url)
        .env("DATABASE_URL", db_url)
        .env("LISTEN_ADDR", addr.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .kill_on_drop(true);
    Ok(cmd)
}

/// Sends SIGTERM and waits up to a minute: the check that the server exited cleanly (if it
/// did not, it is killed), and how long it took.
pub async fn stop_gracefully(
    child: &mut tokio::process::Child,
    pid: u32,
) -> anyhow::Result<(Check, std::time::Duration)> {
    use anyhow::Context;
    let stopping = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("sending SIGTERM")?;
    let exit = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait()).await;
    let shutdown = stopping.elapsed();
    let clean_exit = match exit {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            let _ = child.kill().await;
            Err("still running 60 s after SIGTERM; killed".into())
        }
    };
    let check = Check {
        name: "server exits cleanly on SIGTERM",
        pass: matches!(&clean_exit, Ok(s) if s.success()),
        detail: match &clean_exit {
            Ok(s) => format!("{s} after {} ms", shutdown.as_millis()),
            Err(e) => e.clone(),
        },
    };
    Ok((check, shutdown))
}

/// One consistency check of a benchmark's outcome.
pub struct Check {
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

/// `cargo build --release --bin platform-desk` in this package.
pub fn cargo_build_release() -> anyhow::Result<()> {
    use anyhow::Context;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--bin", "platform-desk"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .context("running cargo build --release")?;
    ensure!(status.success(), "cargo build --release failed");
    Ok(())
}
