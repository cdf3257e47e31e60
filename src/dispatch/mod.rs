//! The dispatch: every input the edge parsed goes to the capability it belongs to, from this
//! one place. It sits above the capabilities and below the wiring; the edge reaches it only
//! through `Handler`.

pub mod commands;

use crate::context::{AppError, Context, Handler};
use crate::input::{Input, MessageKind, Reply};
use crate::intake::{self, Intake};
use crate::metrics::Metrics;
use crate::{roadmap, survey, tickets};
use commands::SlashCommand;
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// What the handlers are given: the context, and intake with its ticket writer.
pub struct Desk {
    pub ctx: Arc<Context>,
    pub intake: Intake,
}

impl Handler for Desk {
    fn handle(&self, input: Input) -> BoxFuture<'_, Result<Reply, AppError>> {
        Box::pin(self.route(input))
    }
}

impl Desk {
    /// Routes one input to the capability it belongs to.
    pub async fn route(&self, input: Input) -> Result<Reply, AppError> {
        Metrics::inc(&self.ctx.metrics.slack_requests);
        let ctx = &*self.ctx;
        // Every input but a command is boxed: a future is as large as its largest branch,
        // so the filing path, the one under load, would otherwise carry every other path's
        // state.
        match input {
            Input::Command(cmd) => SlashCommand::parse(&cmd.text).apply(self, cmd).await,
            Input::Mention(m) => Box::pin(intake::on_mention(&self.intake, m))
                .await
                .map(|_| Reply::Empty),
            Input::Submission(s) if s.callback_id == intake::messages::form::CALLBACK_ID => {
                Box::pin(intake::on_submission(&self.intake, s)).await
            }
            Input::Submission(s) if intake::answers::handles_form(&s.callback_id) => {
                Box::pin(intake::answers::on_submission(&self.intake, s)).await
            }
            Input::Submission(s) if roadmap::actions::handles_form(&s.callback_id) => {
                Box::pin(roadmap::actions::on_submission(ctx, s)).await
            }
            Input::Submission(s) if survey::answer::handles_form(&s.callback_id) => {
                Box::pin(survey::answer::on_submission(ctx, s)).await
            }
            Input::Submission(s) => Box::pin(tickets::actions::on_submission(ctx, s)).await,
            Input::Action(a) if a.action_id == crate::stats::blocks::POST_ACTION => {
                Box::pin(commands::stats::post(ctx, a)).await
            }
            Input::Action(a) if crate::csat::handles(&a.action_id) => {
                Box::pin(crate::csat::on_action(ctx, a)).await
            }
            Input::Action(a) if intake::answers::handles(&a.action_id) => {
                Box::pin(intake::answers::on_action(&self.intake, a)).await
            }
            Input::Action(a) if roadmap::actions::handles(&a.action_id) => {
                Box::pin(roadmap::actions::on_action(ctx, a)).await
            }
            Input::Action(a) if survey::answer::handles(&a.action_id) => {
                Box::pin(survey::answer::on_action(ctx, a)).await
            }
            Input::Action(a) => Box::pin(tickets::actions::on_action(ctx, a))
                .await
                .map(|_| Reply::Empty),
            Input::Message(m) => match &m.kind {
                MessageKind::Posted { user, ts, text } => Box::pin(intake::on_help_message(
                    &self.intake,
                    m.event_id.as_deref(),
                    &m.channel,
                    user,
                    ts,
                    text,
                ))
                .await
                .map(|_| Reply::Empty),
                _ => Box::pin(tickets::threads::on_message(ctx, m))
                    .await
                    .map(|_| Reply::Empty),
            },
            Input::Reaction(r) => Box::pin(intake::on_reaction(&self.intake, r))
                .await
                .map(|_| Reply::Empty),
            Input::Shortcut(s) => Box::pin(intake::on_shortcut(&self.intake, s)).await,
            Input::HomeOpened { user } => Box::pin(tickets::queries::publish_home(ctx, &user))
                .await
                .map(|_| Reply::Empty),
            Input::Ignored(_) => Ok(Reply::Empty),
        }
    }
}
