//! The App context shared by every handler, the dispatch of inputs to capabilities, and the
//! wiring (start, graceful stop) of `serve` and `sandbox`.

use crate::clock::{db_time, Clock};
use crate::input::{Input, Reply};
use crate::metrics::Metrics;
use crate::outbox::{self, OutboxMessage};
use crate::settings::{Policy, Secret, Settings};
use crate::slack::outbound::Sender;
use crate::slack::web_api::WebApi;
use crate::store::{self, Pool};
use crate::tickets::filer::TicketFiler;
use crate::{intake, slack, tickets, web};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Everything a handler needs.
pub struct App {
    pub pool: Pool,
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
    pub filer: TicketFiler,
    pub slack: WebApi,
    pub metrics: Arc<Metrics>,
    pub signing_secret: Option<Secret>,
    pub web_token: Option<Secret>,
    pub outbox_wake: Arc<Notify>,
    /// Wakes the SLA scheduler when timers were written.
    pub timer_wake: Arc<crate::sla::wake::TimerWake>,
    /// PagerDuty is configured: breaches also page.
    pub paging_enabled: bool,
    /// The bot's own user id, learned from `auth.test` after start (None until then).
    pub bot_user: std::sync::OnceLock<String>,
}

/// Failures that are ours, not the user's: logged, never shown in detail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage failed: {0}")]
    Store(String),
    #[error("a Slack call failed: {0}")]
    Slack(String),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(e.to_string())
    }
}

impl App {
    /// Routes one input to the capability it belongs to.
    pub async fn handle(&self, input: Input) -> Result<Reply, AppError> {
        Metrics::inc(&self.metrics.slack_requests);
        // Every input but a command is boxed: a future is as large as its largest branch,
        // and axum copies the request's whole future into a box of that size, so the
        // filing path, the one under load, would otherwise carry every other path's state.
        match input {
            Input::Command(cmd) => intake::on_command(self, cmd).await,
            Input::Mention(m) => Box::pin(intake::on_mention(self, m))
                .await
                .map(|_| Reply::Empty),
            Input::Submission(s) if s.callback_id == intake::messages::form::CALLBACK_ID => {
                Box::pin(intake::on_submission(self, s)).await
            }
            Input::Submission(s) => Box::pin(tickets::actions::on_submission(self, s)).await,
            Input::Action(a) => Box::pin(tickets::actions::on_action(self, a))
                .await
                .map(|_| Reply::Empty),
            Input::Message(m) => Box::pin(tickets::threads::on_message(self, m))
                .await
                .map(|_| Reply::Empty),
            Input::Reaction(r) => Box::pin(intake::on_reaction(self, r))
                .await
                .map(|_| Reply::Empty),
            Input::Shortcut(s) => Box::pin(intake::on_shortcut(self, s)).await,
            Input::HomeOpened { user } => Box::pin(tickets::queries::publish_home(self, &user))
                .await
                .map(|_| Reply::Empty),
            Input::Ignored(_) => Ok(Reply::Empty),
        }
    }

    pub fn bot_user_id(&self) -> Option<String> {
        self.bot_user.get().cloned()
    }

    /// True when `key` is already in the inbox.
    pub async fn already_seen(&self, key: &str) -> Result<bool, AppError> {
        let found: Option<i64> = sqlx::query_scalar("select 1 from inbox where key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Writes `messages` to the outbox unless any of `dedupe` was seen before, in one
    /// transaction. Returns false for a repeat.
    pub async fn say_once(
        &self,
        dedupe: Vec<String>,
        messages: Vec<OutboxMessage>,
    ) -> Result<bool, AppError> {
        let now = db_time(self.clock.now());
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let mut seen = false;
        for key in &dedupe {
            let r = sqlx::query(
                "insert into inbox (key, received_at) values (?, ?) on conflict do nothing",
            )
            .bind(key)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            seen |= r.rows_affected() == 0;
        }
        if !seen {
            let rows: Vec<_> = messages.into_iter().map(|m| (None, m)).collect();
            outbox::db::insert_all(&mut tx, &rows, &now).await?;
        }
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(!seen)
    }
}

/// A running bot: its address, its context, and the handles to stop it cleanly.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    stop_intake: watch::Sender<bool>,
    stop_workers: watch::Sender<bool>,
    server: JoinHandle<()>,
    socket: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

/// Starts the bot: database, ticket writer, outbox sender, HTTP server and (with an app
/// token) Socket Mode.
pub async fn start(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let env = settings.env;
    let policy = Arc::new(settings.policy);
    let pool = store::connect(&env.database_url).await?;
    store::migrate(&pool).await?;

    let metrics = Arc::new(Metrics::default());
    let outbox_wake = Arc::new(Notify::new());
    let timer_wake = Arc::new(crate::sla::wake::TimerWake::default());
    let (stop_intake, intake_rx) = watch::channel(false);
    let (stop_workers, workers_rx) = watch::channel(false);
    let (filer, filer_task) = TicketFiler::spawn(
        pool.clone(),
        policy.clone(),
        clock.clone(),
        outbox_wake.clone(),
        timer_wake.clone(),
        metrics.clone(),
        workers_rx.clone(),
    )
    .await?;
    let api = WebApi::new(&env.slack_api_url, env.bot_token.clone());
    let paging =
        env.pagerduty_routing_key
            .clone()
            .map(|routing_key| crate::slack::outbound::Paging {
                url: env.pagerduty_events_url.clone(),
                routing_key,
            });
    let paging_enabled = paging.is_some();
    let sender = Sender::new(
        pool.clone(),
        api.clone(),
        paging,
        crate::slack::outbound::CardRenderer {
            policy: policy.clone(),
            clock: clock.clone(),
        },
        policy.delivery,
        metrics.clone(),
    );
    let sender_task = tokio::spawn(sender.run(outbox_wake.clone(), workers_rx.clone()));
    // Rows left pending by an earlier run go out now.
    outbox_wake.notify_one();

    let socket_mode = env.app_token.is_some();
    if !socket_mode && env.signing_secret.is_none() {
        anyhow::bail!("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)");
    }
    let app = Arc::new(App {
        pool,
        policy,
        clock,
        filer,
        slack: api.clone(),
        metrics,
        signing_secret: env.signing_secret.clone(),
        web_token: env.web_token.clone(),
        outbox_wake,
        timer_wake: timer_wake.clone(),
        paging_enabled,
        bot_user: std::sync::OnceLock::new(),
    });
    let scheduler_task = tokio::spawn(crate::sla::scheduler::run(
        app.clone(),
        timer_wake,
        workers_rx.clone(),
    ));
    // Who the bot is, for telling its own mentions apart; never blocks the start.
    let who = app.clone();
    tokio::spawn(async move {
        match who.slack.call("auth.test", &serde_json::json!({})).await {
            Ok(answer) => {
                if let Some(id) = answer.get("user_id").and_then(serde_json::Value::as_str) {
                    let _ = who.bot_user.set(id.to_string());
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "auth.test failed; the bot's own mentions in help channels are kept in titles")
            }
        }
    });

    let mut router = web::router(app.clone());
    if !socket_mode {
        router = router.merge(slack::http::router(app.clone()));
    }
    let listener = tokio::net::TcpListener::bind(env.listen_addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(web::serve::serve(
        listener,
        router,
        env.http_read_timeout,
        intake_rx.clone(),
    ));
    let socket = env.app_token.clone().map(|token| {
        tokio::spawn(slack::socket::run(
            app.clone(),
            api,
            token,
            env.socket_ping_interval,
            intake_rx.clone(),
        ))
    });
    tracing::info!(%addr, mode = if socket_mode { "socket" } else { "http" }, "platform-desk is listening");
    Ok(Running {
        addr,
        app,
        stop_intake,
        stop_workers,
        server,
        socket,
        workers: vec![filer_task, sender_task, scheduler_task],
    })
}

impl Running {
    /// Stops taking requests, finishes those in flight, lets the writer and sender finish
    /// their work, and closes the database cleanly.
    pub async fn shutdown(self) {
        let _ = self.stop_intake.send(true);
        let _ = self.server.await;
        if let Some(socket) = self.socket {
            let _ = socket.await;
        }
        let _ = self.stop_workers.send(true);
        for task in self.workers {
            let _ = task.await;
        }
        store::close(&self.app.pool).await;
        tracing::info!("platform-desk stopped");
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
