//! The `/platform` grammar as one typed command: the text after `/platform` is parsed into a
//! [`SlashCommand`], and each variant is applied by the capability it belongs to. One file
//! per subcommand family (as tokio's mini-redis has one per command): adding a family is a
//! new file, a variant, and one arm in [`SlashCommand::parse`] and [`SlashCommand::apply`].

pub mod help;
pub mod mine;
pub mod oncall;
pub mod owns;
pub mod queue;
pub mod request;
pub mod roadmap;
pub mod stats;
pub mod status;
pub mod survey;
pub mod win;

use super::Desk;
use crate::context::AppError;
use crate::input::{Command, Reply};

/// What a `/platform ...` invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// `request [text]`
    Request(request::Request),
    /// `status <KEY>`
    Status(status::Status),
    /// `mine`: my open requests.
    Mine(mine::Mine),
    /// `queue`: open tickets by SLA urgency (platform team).
    Queue(queue::Queue),
    /// `oncall ...`: who is on call; `oncall set @user [for 3d]`.
    Oncall(oncall::Oncall),
    /// `stats [7d|30d|90d]`: the support report.
    Stats(stats::Stats),
    /// `roadmap ...`: the roadmap; `add`, `set`, `link` (platform team).
    Roadmap(roadmap::Roadmap),
    /// `survey`: the latest pulse results; `survey start` (platform team).
    Survey(survey::Survey),
    /// `win <what changed> saves <N>h/month` (platform team), `wins`.
    Win(win::Win),
    /// `owns <topic>`: who owns it, from the ownership map.
    Owns(owns::Owns),
    /// `help`, nothing, anything unknown, and the commands this version does not offer yet.
    Help(help::Help),
}

impl SlashCommand {
    /// Parses the command's text (everything after `/platform `). Never fails: what is not
    /// understood is help.
    pub fn parse(text: &str) -> SlashCommand {
        let text = text.trim();
        let (word, rest) = match text.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (text, ""),
        };
        let not_understood = || SlashCommand::Help(help::Help::unknown(text));
        match word.to_ascii_lowercase().as_str() {
            "request" | "req" | "new" => SlashCommand::Request(request::Request::parse(rest)),
            "status" => {
                status::Status::parse(rest).map_or_else(not_understood, SlashCommand::Status)
            }
            "mine" => SlashCommand::Mine(mine::Mine),
            "queue" => SlashCommand::Queue(queue::Queue),
            "oncall" | "on-call" => SlashCommand::Oncall(oncall::Oncall),
            "stats" => SlashCommand::Stats(stats::Stats::parse(rest)),
            "roadmap" => SlashCommand::Roadmap(roadmap::Roadmap::parse(rest)),
            "survey" | "pulse" => SlashCommand::Survey(survey::Survey::parse(rest)),
            "win" => SlashCommand::Win(win::Win::Record(rest.to_string())),
            "wins" => SlashCommand::Win(win::Win::List),
            "owns" => SlashCommand::Owns(owns::Owns {
                topic: rest.to_string(),
            }),
            "" | "help" => SlashCommand::Help(help::Help::Usage),
            other => help::Help::later(other).map_or_else(not_understood, SlashCommand::Help),
        }
    }

    /// Applies the command for the person who typed it.
    pub async fn apply(self, desk: &Desk, cmd: Command) -> Result<Reply, AppError> {
        // Only filing is awaited in place; the other commands' futures are boxed so that the
        // filing path's future (copied into a box per request by axum) stays small.
        match self {
            SlashCommand::Request(c) => c.apply(desk, cmd).await,
            SlashCommand::Status(c) => Box::pin(c.apply(desk)).await,
            SlashCommand::Mine(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Queue(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Oncall(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Stats(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Roadmap(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Survey(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Win(c) => Box::pin(c.apply(desk, &cmd)).await,
            SlashCommand::Owns(c) => Ok(c.apply(desk)),
            SlashCommand::Help(c) => Ok(c.apply(desk)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_reads_each_form() {
        let cases = [
            (
                "request deploy is stuck",
                SlashCommand::Request(request::Request::Text("deploy is stuck".into())),
            ),
            (
                "  Request   multi\nline  ",
                SlashCommand::Request(request::Request::Text("multi\nline".into())),
            ),
            ("request", SlashCommand::Request(request::Request::Form)),
            ("request   ", SlashCommand::Request(request::Request::Form)),
            ("", SlashCommand::Help(help::Help::Usage)),
            ("help", SlashCommand::Help(help::Help::Usage)),
            (
                "status plat-1",
                SlashCommand::Status(status::Status {
                    key: "PLAT-1".into(),
                }),
            ),
            (
                "status",
                SlashCommand::Help(help::Help::Unknown("status".into())),
            ),
            ("mine", SlashCommand::Mine(mine::Mine)),
            ("QUEUE", SlashCommand::Queue(queue::Queue)),
            (
                "oncall set <@U1> for 3d",
                SlashCommand::Oncall(oncall::Oncall),
            ),
            (
                "stats 7d",
                SlashCommand::Stats(stats::Stats::Report { days: 7 }),
            ),
            ("roadmap", SlashCommand::Roadmap(roadmap::Roadmap::Overview)),
            ("survey", SlashCommand::Survey(survey::Survey::Results)),
            ("survey start", SlashCommand::Survey(survey::Survey::Start)),
            (
                "win CI cache saves 7h/month",
                SlashCommand::Win(win::Win::Record("CI cache saves 7h/month".into())),
            ),
            ("wins", SlashCommand::Win(win::Win::List)),
            (
                "owns  database migrations ",
                SlashCommand::Owns(owns::Owns {
                    topic: "database migrations".into(),
                }),
            ),
            (
                "frobnicate now",
                SlashCommand::Help(help::Help::Unknown("frobnicate now".into())),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(SlashCommand::parse(text), expected, "text {text:?}");
        }
    }
}
