-- Self-service, beside 0023: what filing a held request needs besides its text (a form's
-- title, urgency and link; who filed it for the requester), where its offer was posted, and
-- the ownership redirects.
alter table self_service_offers add column title text;
alter table self_service_offers add column urgency text;
alter table self_service_offers add column link text;
alter table self_service_offers add column filed_by text;
-- where the offer and the ticket's notice go: the request's thread, or (commands, forms)
-- an ephemeral message in this channel
alter table self_service_offers add column notice_channel text;
alter table self_service_offers add column notice_thread_ts text;
-- which entry's `This solved it` was pressed (each offered entry has its own), for the
-- per-entry counts
alter table self_service_offers add column solved_rank integer;

-- A request in another team's area: redirected, not filed. `File it anyway` files it
-- (outcome `filed`); an ignored redirect stays `redirected` and files nothing.
create table ownership_redirects (
    id integer primary key,
    requester text not null,
    channel text,
    source text not null,
    title text,
    text text not null,
    urgency text,
    link text,
    filed_by text,
    requested_at text not null,
    message_ts text,
    notice_channel text,
    notice_thread_ts text,
    -- the area's name as it was when redirected
    area text not null,
    outcome text not null default 'redirected' check (outcome in ('redirected', 'filed')),
    decided_at text,
    ticket_id integer references tickets (id)
);
create index ownership_redirects_requested on ownership_redirects (requested_at);

-- The reports find the tickets no offer was made for (knowledge gaps) by this.
create index self_service_offers_ticket on self_service_offers (ticket_id)
    where ticket_id is not null;
