//! The wiring of `serve` and `sandbox`: builds the context, the ticket writer, the outbox
//! sender, the timer scheduler, the dispatch and the edge, starts them, and stops them in
//! order. The only module above every capability and the edge.

use crate::clock::Clock;
use crate::context::wake::TimerWake;
use crate::context::workers::Workers;
use crate::context::Context;
use crate::dispatch::Desk;
use crate::intake::Intake;
use crate::jobs::{self, Registry};
use crate::metrics::Metrics;
use crate::settings::Policy;
use crate::settings::Settings;
use crate::slack::outbound::{Paging, Sender};
use crate::slack::port::WebApiPort;
use crate::slack::web_api::WebApi;
use crate::slack::Edge;
use crate::store;
use crate::tickets::cards::TicketCards;
use crate::tickets::filer::{Gather, TicketFiler, Wakes};
use crate::{dashboard, escalation, slack, web};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// An error the user can fix: printed as one line, exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// A running bot: its address, its context, and the handles to stop it cleanly.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<Context>,
    /// The scheduled jobs the runner runs.
    pub jobs: Arc<Registry>,
    stop_intake: watch::Sender<bool>,
    stop_workers: watch::Sender<bool>,
    server: JoinHandle<()>,
    socket: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

/// Starts the bot: database, ticket writer, outbox sender, timer scheduler, HTTP server and
/// (with an app token) Socket Mode.
/// `busy` counts the runtime's busy workers, for the ticket writer to wait for (an
/// uncounted runtime is never busy).
pub async fn start(
    settings: Settings,
    clock: Arc<dyn Clock>,
    busy: Arc<Workers>,
) -> anyhow::Result<Running> {
    let env = settings.env;
    let policy = Arc::new(settings.policy);
    let socket_mode = env.app_token.is_some();
    if !socket_mode && env.signing_secret.is_none() {
        anyhow::bail!("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)");
    }
    let pool = store::connect(&env.database_url).await?;
    store::migrate(&pool).await?;

    let metrics = Arc::new(Metrics::new(&policy));
    let outbox_wake = Arc::new(Notify::new());
    let timer_wake = Arc::new(TimerWake::default());
    let (stop_intake, intake_rx) = watch::channel(false);
    let (stop_workers, workers_rx) = watch::channel(false);
    let api = WebApi::new(&env.slack_api_url, env.bot_token.clone()).counted(metrics.clone());
    let paging = env.pagerduty_routing_key.clone().map(|routing_key| Paging {
        url: env.pagerduty_events_url.clone(),
        routing_key,
    });
    let ctx = Arc::new(Context {
        pool: pool.clone(),
        policy: policy.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
        outbox_wake: outbox_wake.clone(),
        timer_wake: timer_wake.clone(),
        jobs_wake: Arc::new(Notify::new()),
        paging_enabled: paging.is_some(),
        bot_user: OnceLock::new(),
        slack: Arc::new(WebApiPort(api.clone())),
    });

    let (filer, filer_task) = TicketFiler::spawn(
        pool.clone(),
        policy.clone(),
        clock.clone(),
        Wakes {
            outbox: outbox_wake.clone(),
            timers: timer_wake.clone(),
        },
        metrics.clone(),
        Gather::new(busy),
        workers_rx.clone(),
    )
    .await?;
    let cards = Arc::new(TicketCards {
        policy: policy.clone(),
        clock: clock.clone(),
    });
    let sender = Sender::new(pool, api.clone(), paging, cards, policy.delivery, metrics);
    let sender_task = tokio::spawn(sender.run(outbox_wake.clone(), workers_rx.clone()));
    // Rows left pending by an earlier run go out now.
    outbox_wake.notify_one();
    let scheduler_task = tokio::spawn(escalation::scheduler::run(
        ctx.clone(),
        timer_wake,
        workers_rx.clone(),
    ));
    let jobs = Arc::new(registry(&policy, Some(filer.clone())));
    let catalog = Arc::new(crate::self_service::Catalog::build(
        &policy.self_service.entries,
    ));
    let jobs_task = jobs::runner::spawn(ctx.clone(), jobs.clone(), workers_rx.clone());
    learn_who_the_bot_is(ctx.clone(), api.clone());

    let desk = Arc::new(Desk {
        ctx: ctx.clone(),
        intake: Intake {
            ctx: ctx.clone(),
            filer,
            catalog,
        },
    });
    let edge = Arc::new(Edge {
        ctx: ctx.clone(),
        handler: desk,
        signing_secret: env.signing_secret.clone(),
    });
    let access = Arc::new(web::auth::Access::new(env.web_token.clone()));
    let mut router = web::router(ctx.clone()).merge(dashboard::router(ctx.clone(), access));
    if !socket_mode {
        router = router.merge(slack::http::router(edge.clone()));
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
            edge,
            api,
            token,
            env.socket_ping_interval,
            intake_rx.clone(),
        ))
    });
    tracing::info!(%addr, mode = if socket_mode { "socket" } else { "http" }, "platform-desk is listening");
    Ok(Running {
        addr,
        app: ctx,
        jobs,
        stop_intake,
        stop_workers,
        server,
        socket,
        workers: vec![filer_task, sender_task, scheduler_task, jobs_task],
    })
}

/// Every scheduled job of `policy`: one line per job.
pub fn job_registry(policy: &Policy) -> Registry {
    registry(policy, None)
}

/// The registry, its filing jobs given the ticket writer (None where jobs are only listed).
fn registry(policy: &Policy, filer: Option<TicketFiler>) -> Registry {
    let mut jobs = Registry::new(policy.schedules.grace);
    escalation::handoff::register(&mut jobs, policy);
    crate::digest::register(&mut jobs, policy);
    crate::survey::register(&mut jobs, policy);
    crate::leverage::notice::register(&mut jobs, policy);
    crate::intake::answers::register(&mut jobs, policy, filer);
    jobs
}

/// Who the bot is, for telling its own mentions apart (`auth.test`); never blocks the start.
fn learn_who_the_bot_is(ctx: Arc<Context>, api: WebApi) {
    tokio::spawn(async move {
        match api.call("auth.test", &serde_json::json!({})).await {
            Ok(answer) => {
                if let Some(id) = answer.get("user_id").and_then(serde_json::Value::as_str) {
                    let _ = ctx.bot_user.set(id.to_string());
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "auth.test failed; the bot's own mentions in help channels are kept in titles")
            }
        }
    });
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

/// Resolves on SIGTERM (how orchestrators stop us) or Ctrl-C. The handlers are registered
/// when this is called, not when it is first awaited: call it before announcing that the
/// bot is up, so a signal sent right after the announcement is not lost (until a handler
/// exists, SIGINT's default ends the process uncleanly).
pub fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
