-- Self-service offers: a request matched the catalog, and the best entries were offered to
-- the requester before a human. The outcome is what the requester said (`solved`,
-- `still_needed`) or that they said nothing before `self_service.offer_timeout` (`ignored`).
-- The reports count offers per outcome and per entry; hours saved count `solved` only.
create table self_service_offers (
    id integer primary key,
    requester text not null,
    -- where the request was made (the help channel, the intake channel, a DM)
    channel text,
    -- command, modal, message, mention or reaction, as on tickets
    source text not null,
    -- the request's text, kept to file it as a ticket if the offer does not solve it
    text text not null,
    -- when the request was made: a ticket filed after the offer is created at this time,
    -- and its SLA clocks start here
    requested_at text not null,
    -- the request's message in Slack, when it was one (to thread the offer and the ticket)
    message_ts text,
    outcome text not null default 'pending'
        check (outcome in ('pending', 'solved', 'still_needed', 'ignored')),
    decided_at text,
    -- the ticket filed after `still_needed` or `ignored`
    ticket_id integer references tickets (id),
    -- the requester's answer to "what was missing?", after `I still need help`
    reason text
);
create index self_service_offers_pending on self_service_offers (requested_at)
    where outcome = 'pending';
create index self_service_offers_decided on self_service_offers (decided_at)
    where decided_at is not null;

-- The entries offered, best first (rank 1 to 3). Entries live in the policy file, so they
-- are named by their title as it was when offered.
create table self_service_offer_entries (
    offer_id integer not null references self_service_offers (id),
    rank integer not null check (rank between 1 and 3),
    title text not null,
    primary key (offer_id, rank)
);
create index self_service_offer_entries_title on self_service_offer_entries (title);
