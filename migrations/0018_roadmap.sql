-- The roadmap in the open: items (`RM-<n>`), their history, the tickets linked to them, who
-- follows them, and who was told when an item shipped (once per person per item).

create table roadmap_items (
    -- the n in RM-<n>; imported items keep theirs, new ones take the next free number
    id integer primary key,
    title text not null,
    description text,
    status text not null default 'planned'
        check (status in ('planned', 'in_progress', 'shipped', 'dropped')),
    -- a quarter (2027-Q1) or a date (2027-03-31), as written
    target text,
    -- a Slack user id
    owner text,
    link text,
    health text check (health in ('on_track', 'at_risk', 'off_track')),
    created_at text not null,
    updated_at text not null,
    shipped_at text,
    shipped_by text,
    -- when the owner was last reminded that an in-progress item has not changed
    reminded_at text
);

-- Every change to an item, for its history and for the digest ("what changed since the last
-- one"). `field` is 'created' or the name of the column that changed.
create table roadmap_changes (
    id integer primary key,
    item_id integer not null references roadmap_items (id),
    field text not null,
    old text,
    new text,
    actor text,
    at text not null
);
create index roadmap_changes_at on roadmap_changes (at);
create index roadmap_changes_item on roadmap_changes (item_id, id);

create table roadmap_links (
    item_id integer not null references roadmap_items (id),
    ticket_id integer not null references tickets (id),
    linked_by text,
    linked_at text not null,
    primary key (item_id, ticket_id)
);
create index roadmap_links_ticket on roadmap_links (ticket_id);

create table roadmap_followers (
    item_id integer not null references roadmap_items (id),
    user_id text not null,
    followed_at text not null,
    primary key (item_id, user_id)
);

-- "Your request shipped": one direct message per person per item, however many of their
-- tickets are linked; and their answer to "did it solve your problem?", for the reports.
create table roadmap_ship_notices (
    item_id integer not null references roadmap_items (id),
    user_id text not null,
    sent_at text not null,
    answer text check (answer in ('solved', 'not_quite')),
    answered_at text,
    primary key (item_id, user_id)
);
