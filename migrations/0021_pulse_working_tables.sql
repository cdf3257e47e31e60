-- Pulse surveys' working tables (src/survey/): what must exist while a survey is open, and
-- nothing of it after its close. The close (one transaction, `secure_delete` on, then a
-- `wal_checkpoint(truncate)`) copies the results into `surveys` and `survey_comments` and
-- deletes every row below for that survey, so that no copy of the database made after the
-- close can tell who answered what, when, or in which order.

-- Who is asked, and when their message goes (their own local time): the list the reminder
-- reads. `answered` is a flag, never a time; the row holds no link to the answer.
create table survey_recipients (
    survey_id integer not null references surveys (id),
    user_id text not null,
    deliver_at text not null,
    delivered integer not null default 0,
    answered integer not null default 0,
    primary key (survey_id, user_id)
) without rowid;
create index survey_recipients_due on survey_recipients (deliver_at) where delivered = 0;

-- The answers while the survey is open. No user id, no time, no rowid: the key is
-- HMAC-SHA256(surveys.answer_key, user id), so the rows sit in the order of that hash, not
-- of answering, and the person can change their answer until the key is destroyed.
create table survey_answers (
    survey_id integer not null references surveys (id),
    link blob not null,
    -- 1 to 5; null for a comment given before any score
    score integer check (score between 1 and 5),
    comment text,
    primary key (survey_id, link)
) without rowid;

-- The comments of a closed survey with enough answers, copied at close in a random order
-- (their rowid is that order), without authors.
create table survey_comments (
    id integer primary key,
    survey_id integer not null references surveys (id),
    comment text not null
);
create index survey_comments_survey on survey_comments (survey_id);

-- The outbox rows a survey wrote (its messages, reminders, and the updates that show a
-- person's choice in their DM): deleted with them at close, since an update row holds a
-- DM channel and the choice made.
create table survey_outbox (
    outbox_id integer primary key,
    survey_id integer not null references surveys (id)
);
create index survey_outbox_survey on survey_outbox (survey_id);
