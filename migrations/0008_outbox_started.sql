-- When the sender began a chat.postMessage whose outcome it has not recorded yet: set before
-- the call, kept through calls that went unanswered (a crash, a timeout, a 5xx), cleared by
-- any recorded outcome. The next try of a row that has it first asks Slack whether the
-- message is already in the channel (the post carries its outbox id as message metadata),
-- so an answer lost to a crash does not make the message appear twice.
alter table outbox add column started_at text;
