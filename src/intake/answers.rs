//! The requester's answers to a held request: `This solved it` (no ticket, no SLA clock),
//! `I still need help` (filed at once, created at the request's time, then a reason form),
//! `File it anyway` on a redirect (created at the request's time too, within
//! [`REDIRECT_LASTS`]; later it files nothing and says so); and the job that files offers
//! nobody answered within `self_service.offer_timeout`. Only the requester may answer.

use super::held::say;
use super::{file_with, messages as intake_messages, Intake};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::input::{Action, Reply, Submission};
use crate::jobs::{Registry, Timer};
use crate::outbox::{self, OutboxMessage, Purpose};
use crate::self_service::messages::{self, ids};
use crate::self_service::{db, Held, Notice, Outcome};
use crate::settings::Policy;
use crate::tickets::filer::{Filed, TicketFiler};
use crate::tickets::Ticket;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

/// True for the buttons this module answers.
pub fn handles(action_id: &str) -> bool {
    [ids::SOLVED, ids::STILL_NEED, ids::FILE_ANYWAY].contains(&action_id)
}

pub fn handles_form(callback_id: &str) -> bool {
    callback_id == ids::REASON_CALLBACK
}

pub async fn on_action(app: &Intake, a: Action) -> Result<Reply, AppError> {
    let value = a.value.clone().unwrap_or_default();
    let (id, rank) = match value.split_once(':') {
        Some((id, rank)) => (id.parse::<i64>().ok(), rank.parse::<i64>().ok()),
        None => (value.parse::<i64>().ok(), None),
    };
    let Some(id) = id else {
        tracing::warn!(action = %a.action_id, "a self-service button without an id; ignored");
        return Ok(Reply::Empty);
    };
    match a.action_id.as_str() {
        ids::SOLVED => solved(app, &a, id, rank.unwrap_or(1)).await,
        ids::STILL_NEED => still_need(app, &a, id).await,
        ids::FILE_ANYWAY => file_anyway(app, &a, id).await,
        _ => Ok(Reply::Empty),
    }
}

/// A word to whoever pressed: ephemeral in a channel, a DM in a DM.
fn to_clicker(a: &Action, text: String) -> OutboxMessage {
    match a.channel.as_deref() {
        Some(channel) if !channel.starts_with('D') => {
            OutboxMessage::ephemeral(channel, &a.user, text)
        }
        _ => OutboxMessage::post(&a.user, json!({ "channel": a.user, "text": text })),
    }
}

async fn tell(ctx: &Context, a: &Action, text: String) -> Result<Reply, AppError> {
    ctx.say_once(Vec::new(), vec![to_clicker(a, text)]).await?;
    Ok(Reply::Empty)
}

/// The offer's own message replaced by `text` when it was posted in a thread (an ephemeral
/// one cannot be updated: the presser is told apart).
fn answered(held: &Held, a: &Action, text: String) -> OutboxMessage {
    match (&held.notice, &a.channel, &a.message_ts) {
        (Notice::Thread { .. }, Some(channel), Some(ts)) => OutboxMessage {
            method: "chat.update",
            channel: channel.clone(),
            payload: messages::answered(channel, ts, &text).to_string(),
            purpose: Purpose::Notice,
        },
        _ => to_clicker(a, text),
    }
}

async fn key_of(ctx: &Context, ticket_id: Option<i64>) -> Result<Option<String>, AppError> {
    let Some(id) = ticket_id else { return Ok(None) };
    let mut conn = ctx.pool.acquire().await?;
    Ok(crate::tickets::db::by_id(&mut conn, id)
        .await?
        .map(|t| t.key))
}

async fn solved(app: &Intake, a: &Action, id: i64, rank: i64) -> Result<Reply, AppError> {
    let offer = db::offer(&mut *app.pool.acquire().await?, id).await?;
    let Some(offer) = offer else {
        return tell(app, a, messages::GONE.into()).await;
    };
    if offer.held.requester != a.user {
        return tell(app, a, messages::NOT_YOURS.into()).await;
    }
    let now = app.clock.now();
    let mut tx = app.pool.begin_with("begin immediate").await?;
    if !db::decide(&mut tx, id, Outcome::Solved, now).await? {
        drop(tx);
        let key = key_of(app, offer.ticket_id).await?;
        let current = db::offer(&mut *app.pool.acquire().await?, id).await?;
        let outcome = current.map_or(offer.outcome, |o| o.outcome);
        return tell(app, a, messages::already(outcome.as_str(), key.as_deref())).await;
    }
    db::solved_rank(&mut tx, id, rank).await?;
    let title = usize::try_from(rank - 1)
        .ok()
        .and_then(|i| offer.titles.get(i))
        .or(offer.titles.first())
        .cloned()
        .unwrap_or_default();
    let message = answered(&offer.held, a, messages::solved_by(&title));
    outbox::db::insert_all(&mut tx, &[(None, message)], &db_time(now)).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(Reply::Empty)
}

async fn still_need(app: &Intake, a: &Action, id: i64) -> Result<Reply, AppError> {
    let offer = db::offer(&mut *app.pool.acquire().await?, id).await?;
    let Some(offer) = offer else {
        return tell(app, a, messages::GONE.into()).await;
    };
    if offer.held.requester != a.user {
        return tell(app, a, messages::NOT_YOURS.into()).await;
    }
    let now = app.clock.now();
    let decided = {
        let mut tx = app.pool.begin_with("begin immediate").await?;
        let decided = db::decide(&mut tx, id, Outcome::StillNeeded, now).await?;
        tx.commit().await?;
        decided
    };
    if !decided {
        let current = db::offer(&mut *app.pool.acquire().await?, id).await?;
        let current = current.unwrap_or(offer);
        let key = key_of(app, current.ticket_id).await?;
        return tell(
            app,
            a,
            messages::already(current.outcome.as_str(), key.as_deref()),
        )
        .await;
    }
    let mut offer = offer;
    offer.outcome = Outcome::StillNeeded;
    let update = match (&offer.held.notice, &a.channel, &a.message_ts) {
        (Notice::Thread { .. }, Some(c), Some(ts)) => Some(Replace::Message(c.clone(), ts.clone())),
        _ => None,
    };
    let ticket = file_offer(app, &app.filer, &offer, update).await?;
    if let Some(trigger) = &a.trigger_id {
        let view = messages::reason_modal(id, ticket.as_ref().map(|t| t.key.as_str()));
        if let Err(err) = app.slack.open_view(trigger, view).await {
            tracing::warn!(error = %err.chain(), "the self-service reason form did not open");
        }
    }
    Ok(Reply::Empty)
}

/// Where an offer's own message is replaced by what became of it.
enum Replace {
    /// `chat.update` of the message (channel, ts) in a thread.
    Message(String, String),
    /// A command's answer, through its `response_url` (the channel is the row's lane).
    Respond { url: String, channel: String },
}

impl Replace {
    fn message(&self, text: &str) -> OutboxMessage {
        match self {
            Replace::Message(channel, ts) => OutboxMessage {
                method: "chat.update",
                channel: channel.clone(),
                payload: messages::answered(channel, ts, text).to_string(),
                purpose: Purpose::Notice,
            },
            Replace::Respond { url, channel } => {
                let mut body = messages::answered(channel, "", text);
                if let Some(o) = body.as_object_mut() {
                    o.remove("channel");
                    o.remove("ts");
                    o.insert("response_url".into(), json!(url));
                    o.insert("replace_original".into(), json!(true));
                    o.insert("response_type".into(), json!("ephemeral"));
                }
                OutboxMessage {
                    method: outbox::RESPOND,
                    channel: channel.clone(),
                    payload: body.to_string(),
                    purpose: Purpose::Notice,
                }
            }
        }
    }
}

/// How long Slack takes a command's `response_url` (30 minutes), less a margin for the
/// outbox to send the replacement.
const RESPONSE_URL_LASTS: chrono::Duration = chrono::Duration::minutes(28);

/// Files the ticket of a decided offer (created at the request's time), links it to the
/// offer and records the offer on it. Safe to repeat: the offer's inbox key files it once.
async fn file_offer(
    ctx: &Context,
    filer: &TicketFiler,
    offer: &db::Offer,
    update: Option<Replace>,
) -> Result<Option<Ticket>, AppError> {
    let held = offer.held.clone();
    let timeout = ctx.policy.self_service.offer_timeout;
    let ignored = offer.outcome == Outcome::Ignored;
    let notices = move |t: &Ticket| {
        let mut out = vec![filed_notice(&held, t)];
        if let Some(replace) = &update {
            let text = if ignored {
                messages::filed_unanswered(&t.key, timeout)
            } else {
                messages::still_needed(&t.key)
            };
            out.push(replace.message(&text));
        }
        out
    };
    let filed = file_with(
        ctx,
        filer,
        offer.held.new_ticket(),
        vec![format!("offer:{}", offer.id)],
        notices,
        Some(offer.held.requested_at),
    )
    .await?;
    let now = ctx.clock.now();
    let (ticket_id, ticket) = match filed {
        Filed::New(t) => (t.id, Some(*t)),
        Filed::Duplicate => {
            // Filed before the process stopped, its link not yet written.
            let mut conn = ctx.pool.acquire().await?;
            let at = offer.held.requested_at;
            match db::ticket_filed_at(&mut conn, &offer.held.requester, at).await? {
                Some(id) => (id, None),
                None => return Ok(None),
            }
        }
    };
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    db::offer_filed(&mut tx, offer, ticket_id, now).await?;
    tx.commit().await?;
    Ok(ticket)
}

/// "Filed PLAT-n" where the requester was spoken to.
fn filed_notice(held: &Held, t: &Ticket) -> OutboxMessage {
    match &held.notice {
        Notice::Thread { channel, ts } => {
            OutboxMessage::post(channel, intake_messages::filed_notice(t, channel, Some(ts)))
        }
        Notice::Ephemeral { channel } => {
            let text = intake_messages::filed_reply(t)["text"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            OutboxMessage::ephemeral(channel, &held.requester, text)
        }
        Notice::Direct => {
            let body = intake_messages::filed_notice(t, &held.requester, None);
            say(&Notice::Direct, &held.requester, body)
        }
    }
}

/// How long after a redirect `File it anyway` still files it (at the request's time).
/// Later, nothing is filed and the requester is told to ask again: a ticket dated back
/// days would be born past its SLA, a surprise for everyone.
pub const REDIRECT_LASTS: chrono::Duration = chrono::Duration::hours(24);

async fn file_anyway(app: &Intake, a: &Action, id: i64) -> Result<Reply, AppError> {
    let redirect = db::redirect(&mut *app.pool.acquire().await?, id).await?;
    let Some(redirect) = redirect else {
        return tell(app, a, messages::GONE.into()).await;
    };
    if redirect.held.requester != a.user {
        return tell(app, a, messages::NOT_YOURS.into()).await;
    }
    let now = app.clock.now();
    if redirect.ticket_id.is_none() && now - redirect.held.requested_at > REDIRECT_LASTS {
        // Filed now, it would be dated back past its SLA; ignored this long, the requester
        // has likely moved on. Said plainly, and the button goes.
        let text = messages::redirect_expired(&redirect.area);
        let message = answered(&redirect.held, a, text);
        app.say_once(Vec::new(), vec![message]).await?;
        return Ok(Reply::Empty);
    }
    if !db::redirect_claimed(&mut *app.pool.acquire().await?, id, now).await? {
        let key = key_of(app, redirect.ticket_id).await?;
        return tell(app, a, messages::already("filed", key.as_deref())).await;
    }
    let held = redirect.held.clone();
    let update = match (&held.notice, &a.channel, &a.message_ts) {
        (Notice::Thread { .. }, Some(c), Some(ts)) => Some((c.clone(), ts.clone())),
        _ => None,
    };
    let notices = move |t: &Ticket| {
        let mut out = vec![filed_notice(&held, t)];
        if let Some((channel, ts)) = &update {
            let text = messages::filed_anyway(&t.key);
            out.push(OutboxMessage {
                method: "chat.update",
                channel: channel.clone(),
                payload: messages::answered(channel, ts, &text).to_string(),
                purpose: Purpose::Notice,
            });
        }
        out
    };
    // Created at the request's time, its SLA clocks starting there, as after an offer:
    // reading the redirect never eats into the SLA's time.
    let filed = file_with(
        app,
        &app.filer,
        redirect.held.new_ticket(),
        vec![format!("redirect:{id}")],
        notices,
        Some(redirect.held.requested_at),
    )
    .await?;
    if let Filed::New(t) = filed {
        db::redirect_filed(&mut *app.pool.acquire().await?, id, t.id).await?;
    }
    Ok(Reply::Empty)
}

/// The reason form: stored on the offer and on its ticket.
pub async fn on_submission(app: &Intake, s: Submission) -> Result<Reply, AppError> {
    let Ok(id) = s.private_metadata.trim().parse::<i64>() else {
        return Ok(Reply::Empty);
    };
    let reason = s
        .values
        .pointer(&format!("/{}/{}/value", ids::REASON.0, ids::REASON.1))
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() {
        return Ok(Reply::Empty);
    }
    let reason: String = reason.chars().take(1000).collect();
    let mut tx = app.pool.begin_with("begin immediate").await?;
    db::set_reason(&mut tx, id, &s.user, &reason, app.clock.now()).await?;
    tx.commit().await?;
    Ok(Reply::Empty)
}

/// A timer, not a cron job: it wakes when the oldest pending offer's `offer_timeout` ends
/// (or an offer decided but left unfiled by a stop is a minute old), so an idle desk writes
/// nothing, and a clock moved a week in the sandbox stops only where an offer expires, not at
/// every minute on the way. Offers unanswered for `offer_timeout` are filed as asked, at
/// the time they were asked.
pub const TIMER: &str = "self_service_offer_timeout";

/// Registers the timeout when the policy has a catalog (without one nothing is held for an
/// offer) and a ticket writer runs in this process (None where jobs are only listed).
pub fn register(jobs: &mut Registry, policy: &Policy, filer: Option<TicketFiler>) {
    if policy.self_service.entries.is_empty() {
        return;
    }
    if let Some(filer) = filer {
        jobs.add_timer(TIMER, Expire { filer });
    }
}

pub struct Expire {
    filer: TicketFiler,
}

impl Timer for Expire {
    fn next_at<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        Box::pin(async move {
            let timeout = chrono::Duration::from_std(ctx.policy.self_service.offer_timeout)
                .unwrap_or(chrono::Duration::MAX);
            let mut conn = ctx.pool.acquire().await?;
            let (pending, unfiled) = db::oldest_waiting(&mut conn).await?;
            let expires = pending.and_then(|at| at.checked_add_signed(timeout));
            let refile = unfiled.map(|at| at + chrono::Duration::minutes(1));
            Ok(expires.into_iter().chain(refile).min())
        })
    }

    fn fire<'a>(
        &'a self,
        ctx: &'a Context,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(expire(ctx, &self.filer, now))
    }
}

async fn expire(ctx: &Context, filer: &TicketFiler, now: DateTime<Utc>) -> Result<(), AppError> {
    let timeout = chrono::Duration::from_std(ctx.policy.self_service.offer_timeout)
        .unwrap_or(chrono::Duration::MAX);
    let cutoff = now.checked_sub_signed(timeout).unwrap_or(now);
    let (expired, unfiled) = {
        let mut conn = ctx.pool.acquire().await?;
        let expired = db::expired(&mut conn, cutoff).await?;
        let unfiled = db::unfiled(&mut conn, now - chrono::Duration::minutes(1)).await?;
        (expired, unfiled)
    };
    let mut filed = 0;
    for id in expired {
        // Claimed by a conditional update: two runners never both file it.
        let decided = {
            let mut tx = ctx.pool.begin_with("begin immediate").await?;
            let decided = db::decide(&mut tx, id, Outcome::Ignored, now).await?;
            tx.commit().await?;
            decided
        };
        if decided {
            filed += file_by_id(ctx, filer, id, now).await?;
        }
    }
    for id in unfiled {
        filed += file_by_id(ctx, filer, id, now).await?;
    }
    if filed > 0 {
        tracing::info!(filed, "self-service offers not answered in time: filed");
    }
    Ok(())
}

/// Files a decided offer. An ignored one's message loses its buttons and says it was
/// filed: in a thread by `chat.update`; a command's answer through the command's
/// `response_url` while Slack still takes it (30 minutes). An offer posted by
/// `chat.postEphemeral` (a form) cannot be edited without a click: the requester is told
/// apart, and its buttons then answer that it is filed.
async fn file_by_id(
    ctx: &Context,
    filer: &TicketFiler,
    id: i64,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    let Some(offer) = db::offer(&mut conn, id).await? else {
        return Ok(0);
    };
    let update = if offer.outcome == Outcome::Ignored {
        let (ts, url) = db::offer_message(&mut conn, id).await?;
        let fresh = now - offer.held.requested_at < RESPONSE_URL_LASTS;
        match (&offer.held.notice, ts, url) {
            (Notice::Thread { channel, .. }, Some(ts), _) => {
                Some(Replace::Message(channel.clone(), ts))
            }
            (Notice::Ephemeral { channel }, _, Some(url)) if fresh => Some(Replace::Respond {
                url,
                channel: channel.clone(),
            }),
            _ => None,
        }
    } else {
        None
    };
    drop(conn);
    Ok(usize::from(
        file_offer(ctx, filer, &offer, update).await?.is_some(),
    ))
}
