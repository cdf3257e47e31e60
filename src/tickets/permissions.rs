//! Who may do what to a ticket. Checked on the server for every action, whatever the
//! payload claims: only the platform team triages; a requester may resolve or reopen
//! their own ticket (and merge it into the one it duplicates).

use super::change::Change;
use super::Ticket;
use crate::settings::Policy;

/// Ok, or the phrase for "only the platform team can ...".
pub fn check(
    policy: &Policy,
    ticket: &Ticket,
    actor: &str,
    change: &Change,
) -> Result<(), &'static str> {
    let team = policy.is_platform_team(actor);
    let requester = actor == ticket.requester;
    let (allowed, what) = match change {
        Change::Acknowledge | Change::AckBreach => (team, "acknowledge tickets"),
        Change::Assign(_) => (team, "assign tickets"),
        Change::Priority(_) => (team, "change a ticket's priority"),
        Change::Wait => (team, "mark a ticket as waiting on its requester"),
        Change::Resolve(_) => (team || requester, "resolve someone else's ticket"),
        Change::Reopen => (team || requester, "reopen someone else's ticket"),
        Change::Merge { .. } => (team || requester, "merge someone else's ticket"),
        // Things that happened in Slack, not requests to change anything.
        Change::Reply { .. } | Change::SourceEdited(_) | Change::SourceDeleted => (true, ""),
    };
    if allowed {
        Ok(())
    } else {
        Err(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    #[test]
    fn the_team_may_triage_the_requester_may_only_close_their_own_and_strangers_nothing() {
        let policy = Policy::builtin();
        let t = sample(); // requester U05QRST6UV; team U01ALICE, U01BOB
        let team = "U01ALICE";
        let requester = "U05QRST6UV";
        let stranger = "U09STRANGE";
        let cases: Vec<(Change, bool, bool, bool)> = vec![
            (Change::Acknowledge, true, false, false),
            (Change::Assign("U01BOB".into()), true, false, false),
            (Change::Priority("P1".into()), true, false, false),
            (Change::Wait, true, false, false),
            (Change::Resolve(None), true, true, false),
            (Change::Reopen, true, true, false),
            (Change::Merge { into: 2 }, true, true, false),
        ];
        for (change, by_team, by_requester, by_stranger) in cases {
            assert_eq!(
                check(&policy, &t, team, &change).is_ok(),
                by_team,
                "{change:?} by team"
            );
            assert_eq!(
                check(&policy, &t, requester, &change).is_ok(),
                by_requester,
                "{change:?} by requester"
            );
            assert_eq!(
                check(&policy, &t, stranger, &change).is_ok(),
                by_stranger,
                "{change:?} by stranger"
            );
        }
    }
}
