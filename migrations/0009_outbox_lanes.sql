-- Order per lane, not per channel. A lane is a method and its channel (a channel's posts go
-- in order, and so do its ephemeral messages, its reactions...), except that each ticket's
-- card updates have a lane of their own: a click's chat.update no longer waits behind
-- every card queued for the same channel, and an update waiting for its own card's post
-- holds back no other card's. Computed from the row, so no writer has to know about it.
alter table outbox add column lane text generated always as (
    case when purpose = 'card_update' and ticket_id is not null
         then method || ' #' || ticket_id
         else method || ' ' || channel
    end
) virtual;

-- the head of each lane's queue: the sender keeps strict order per lane
create index outbox_lane_pending on outbox (lane, id) where status = 'pending';
-- (channel, id) served the per-channel heads only
drop index outbox_pending;
