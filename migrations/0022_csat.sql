-- Satisfaction after each ticket (CSAT). Not anonymous: the score belongs to the ticket, and
-- the question says so.
--
-- `tickets.csat`: the requester's answer, 1 to 5; null until they answer (or when they were
-- never asked).
alter table tickets add column csat integer check (csat between 1 and 5);

-- Who was asked about which ticket, and when: one row per ticket at most (a ticket reopened
-- and resolved again is not asked about twice), and the cooldown reads a person's latest
-- question from it (`csat.cooldown`: nobody is asked twice within it).
create table csat_asks (
    ticket_id integer primary key references tickets (id),
    person text not null,
    asked_at text not null,
    -- the first answer's time: a second answer replaces the first within a day of it
    answered_at text
);
create index csat_asks_person on csat_asks (person, asked_at);

-- The report's CSAT by priority and category over the tickets created in its window: a
-- range of this partial index, which holds only the answered tickets (the window's index of
-- migration 13 has no score, and reading the table for it would read every ticket).
create index tickets_csat on tickets (created_at, priority, category, channel, csat)
    where csat is not null;
