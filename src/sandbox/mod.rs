//! The sandbox: the real bot wired to the built-in fake Slack with a demo policy, and a local
//! page where a person picks a user, types `/platform ...`, mentions the bot, clicks buttons,
//! fills modals and sees every message per channel. No workspace, no tokens.

mod bot;
pub mod clock_control;
mod db;
pub mod demo;
pub mod fake_slack;
mod page;
mod payloads;
mod snapshot;
mod workspace;

use crate::app::{self, Running};
use crate::clock::Clock as _;
use crate::settings::{Env, Settings};
use anyhow::Context;
use clock_control::MovableClock;
use fake_slack::FakeSlack;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running sandbox: the page server, the bot and the fake Slack between them.
pub struct Sandbox {
    /// Where the page is served.
    pub addr: SocketAddr,
    /// Where the bot listens (its `/slack/...`, `/healthz`, `/metrics`).
    pub bot_addr: SocketAddr,
    /// The fake Slack Web API the bot talks to.
    pub fake: FakeSlack,
    running: Running,
    stop_page: watch::Sender<bool>,
    page: JoinHandle<()>,
}

/// `addr` as a URL a browser on this machine can open (`0.0.0.0` becomes `127.0.0.1`).
fn local_base(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    };
    format!("http://{host}")
}

/// The log filter of a sandbox run. Unless the person asked for another filter, the bot's
/// own "listening on" line (an internal address on a random port) stays out of sight: the
/// page's URL is the one address they are told to open. Warnings still show.
pub fn log_filter(rust_log: &str) -> String {
    if rust_log.trim() == "info" {
        "info,platform_desk::app=warn".to_string()
    } else {
        rust_log.to_string()
    }
}

/// The history `platform-desk sandbox` writes into a new database, so that its reports and
/// dashboard mean something from the first minute.
pub const DEMO_HISTORY: crate::seed::Options = crate::seed::Options {
    tickets: 2_000,
    days: 90,
    seed: 1,
};

/// Starts the fake Slack, the bot (HTTP mode, a fresh signing secret, the demo policy) and
/// the page server on `addr`. `env` gives `DATABASE_URL` (else the sandbox's own file).
/// No demo history: the first ticket filed is the first one (see [`start_with_history`]).
pub async fn start(addr: SocketAddr, env: Env) -> anyhow::Result<Sandbox> {
    start_with_history(addr, env, None).await
}

/// [`start`], first writing `history` (`seed-demo`) when the database has no tickets yet.
pub async fn start_with_history(
    addr: SocketAddr,
    env: Env,
    history: Option<crate::seed::Options>,
) -> anyhow::Result<Sandbox> {
    // The page's port is the one people choose: fail on it before starting anything else.
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        crate::app::UserError(format!(
            "cannot listen on {addr} for the sandbox page: {e} (choose another with --addr or LISTEN_ADDR)"
        ))
    })?;
    let addr = listener.local_addr()?;
    let base = local_base(addr);

    let fake = FakeSlack::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .context("cannot start the fake Slack")?;
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The database outlives the fake: its message ts and view ids must not repeat a run's.
    fake.start_ids_at(epoch);
    for person in demo::PEOPLE {
        fake.set_user(demo_user(person));
    }
    fake.set_members(
        demo::ENGINEERING,
        demo::PEOPLE.iter().map(|p| p.id.to_string()).collect(),
    );

    let secret = demo::signing_secret();
    let bot_env = demo::bot_env(&env, &fake.api_url(), &secret)?;
    let database = bot_env.database_url.clone();
    // The bot's clock, which the page's clock control moves forward.
    let clock = Arc::new(MovableClock::default());
    let settings = Settings {
        env: bot_env,
        policy: demo::policy()?,
    };
    if let Some(history) = history {
        let pool = crate::store::connect(&database).await?;
        crate::store::migrate(&pool).await?;
        let now = clock.now();
        if crate::seed::seed_if_empty(&pool, &settings.policy, &history, now)
            .await?
            .is_some()
        {
            db::seed_roadmap(&mut *pool.acquire().await?, now).await?;
        }
        crate::store::close(&pool).await;
    }
    // The sandbox's runtime is not counted: the ticket writer never waits for it.
    let workers = Arc::new(crate::context::workers::Workers::default());
    let running = app::start(settings, clock.clone(), workers)
        .await
        .with_context(|| format!("cannot start the bot on {database}"))?;
    let bot_addr = running.addr;

    let shared = Arc::new(page::Shared {
        fake: fake.clone(),
        ws: workspace::Workspace::new(epoch, format!("{base}/response")),
        bot: bot::Bot::new(bot_addr, secret, clock.clone()),
        clock,
        app: running.app.clone(),
        jobs: running.jobs.clone(),
    });
    let (stop_page, mut stop) = watch::channel(false);
    let router = page::router(shared);
    let page = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(err) = axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %err, "sandbox page server failed");
        }
    });
    // The bot and the fake Slack are internal: their addresses are for debugging only.
    tracing::debug!(page = %base, bot = %bot_addr, fake_slack = %fake.api_url(), "sandbox addresses");
    tracing::info!(%database, "sandbox is running");
    Ok(Sandbox {
        addr,
        bot_addr,
        fake,
        running,
        stop_page,
        page,
    })
}

/// What `users.info` answers for a demo person.
fn demo_user(person: &demo::Person) -> serde_json::Value {
    serde_json::json!({
        "id": person.id,
        "team_id": fake_slack::TEAM_ID,
        "name": person.name,
        "real_name": person.real_name,
        "deleted": false,
        "is_bot": false,
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "profile": {
            "real_name": person.real_name,
            "display_name": person.name,
            "title": person.role,
            "email": format!("{}@acme.example", person.name),
        },
    })
}

impl Sandbox {
    /// The page's URL, e.g. `http://127.0.0.1:3000/`.
    pub fn page_url(&self) -> String {
        format!("{}/", local_base(self.addr))
    }

    /// Stops the page, lets the bot finish (its outbox drains to the fake), then the fake.
    pub async fn shutdown(self) {
        let _ = self.stop_page.send(true);
        let _ = self.page.await;
        self.running.shutdown().await;
        self.fake.shutdown().await;
    }
}

/// Runs the sandbox until Ctrl-C or SIGTERM, its page on `addr` (from `--addr`, else
/// `LISTEN_ADDR`).
pub async fn run(addr: SocketAddr, env: Env) -> anyhow::Result<()> {
    let stop = crate::app::stop_signal();
    let sandbox = start_with_history(addr, env, Some(DEMO_HISTORY)).await?;
    // The one line a person needs: on stdout, so it is not lost among the logs.
    println!(
        "platform-desk sandbox: open {} (Ctrl-C to stop)",
        sandbox.page_url()
    );
    stop.await;
    tracing::info!("stopping the sandbox");
    sandbox.shutdown().await;
    Ok(())
}
