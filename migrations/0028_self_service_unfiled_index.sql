-- Offers decided as needing a ticket whose ticket is not filed yet (the process stopped
-- between the two). The self-service timer looks for them at every pass of the job runner;
-- by `self_service_offers_decided` that walked every decided offer in the history.
create index self_service_offers_unfiled on self_service_offers (decided_at)
    where ticket_id is null and outcome in ('still_needed', 'ignored');
