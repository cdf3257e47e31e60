//! The sandbox: the bot wired to the built-in fake Slack, with a local page to drive it.

pub mod fake_slack;

use crate::settings::Env;

/// Runs the sandbox until Ctrl-C.
pub async fn run(addr: std::net::SocketAddr, env: Env) -> anyhow::Result<()> {
    let _ = (addr, env);
    anyhow::bail!("the sandbox page is being built")
}
