-- Pulse surveys: one row per survey, and, once it is closed, its results. Nothing here names
-- a person who was asked or who answered: the working tables that must (who is asked, the
-- keyed link to an answer while it may change) belong to the survey module's own migration
-- and are emptied at close. The reports read only the closed rows of this table.
create table surveys (
    id integer primary key,
    question text not null,
    -- the survey's instant (its scheduled time in UTC, or when `survey start` was typed)
    started_at text not null,
    -- who typed `survey start` (a platform team member); null for a scheduled survey
    started_by text,
    closes_at text not null,
    -- halfway to the close: when the one reminder goes to those who have not answered
    remind_at text,
    reminded_at text,
    -- the key of the keyed hash that lets a person change their answer while the survey is
    -- open; set to null (and the page scrubbed: secure_delete) at close
    answer_key blob,
    closed_at text,
    -- the results, written at close. `audience`: how many were asked. Under the anonymity
    -- threshold only `responses` is kept: mean, distribution and favourable stay null and
    -- the answers themselves are deleted.
    audience integer not null default 0,
    responses integer,
    mean real,
    -- a JSON array of five counts, for the answers 1 to 5
    distribution text,
    -- the share of answers that were 4 or 5, between 0 and 1
    favourable real
);
create index surveys_closed on surveys (closed_at) where closed_at is not null;
