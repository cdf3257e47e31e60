//! The ticket writer's tests: gathering under load, the duplicate check over a large backlog,
//! one commit's rows, redeliveries, and the batch's decision alone.

use super::writer::plan;
use super::*;
use crate::clock::ManualClock;
use crate::context::wake::TimerWake;
use crate::context::workers::Workers;
use crate::outbox::OutboxMessage;
use crate::tickets::recent::{Recent, Remembered};
use crate::tickets::Source;
use crate::tickets::{filer_db, NewTicket, Ticket};
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify};

/// A writer on `pool`'s database as it is now, its clock at `2026-11-10T10:00:00Z`, once
/// it has recalled the recent tickets; it runs until the returned sender is dropped.
async fn start(pool: &Pool) -> (TicketFiler, watch::Sender<bool>) {
    let (filer, _, stop) = start_with(pool, Gather::new(Arc::new(Workers::default()))).await;
    (filer, stop)
}

/// A writer like [`start`]'s that gathers as `gather` says; with its metrics.
async fn start_with(
    pool: &Pool,
    gather: Gather,
) -> (TicketFiler, Arc<Metrics>, watch::Sender<bool>) {
    let (stop, stopped) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let (filer, _) = TicketFiler::spawn(
        pool.clone(),
        Arc::new(Policy::builtin()),
        Arc::new(ManualClock::new("2026-11-10T10:00:00Z".parse().unwrap())),
        Wakes {
            outbox: Arc::new(Notify::new()),
            timers: Arc::new(TimerWake::default()),
        },
        metrics.clone(),
        gather,
        stopped,
    )
    .await
    .unwrap();
    filer.recalled().await;
    (filer, metrics, stop)
}

/// A writer that gathers before every commit, for up to `at_most`, while a worker of
/// `busy` runs; with its metrics.
async fn start_gathering(
    pool: &Pool,
    busy: Arc<Workers>,
    at_most: Duration,
) -> (TicketFiler, Arc<Metrics>, watch::Sender<bool>) {
    let gather = Gather {
        busy,
        from: 0,
        at_most,
    };
    start_with(pool, gather).await
}

/// A command by `requester` in C1 saying `text`, with no messages to send.
fn request(requester: &str, text: &str) -> FileRequest {
    let new = NewTicket {
        title: text.to_string(),
        description: text.to_string(),
        requester: requester.into(),
        channel: Some("C1".into()),
        source: Source::Command,
        source_ts: None,
        urgency: None,
        link: None,
        filed_by: None,
    };
    FileRequest {
        new,
        dedupe: Vec::new(),
        effects: Box::new(|_| Vec::new()),
        requested_at: None,
    }
}

/// Queues a request by `requester` as [`TicketFiler::file`] does; returns its answer.
async fn queue(
    filer: &TicketFiler,
    requester: &str,
) -> oneshot::Receiver<Result<Filed, FileError>> {
    let req = request(
        requester,
        &format!("{requester} cannot reach the staging cluster"),
    );
    let read = Read::of(&filer.policy, &req.new);
    let (reply, answer) = oneshot::channel();
    let job = Job { req, read, reply };
    filer.tx.send(Msg::File(Box::new(job))).await.unwrap();
    answer
}

/// A worker thread that runs (is counted busy) until the returned sender is used.
fn busy_worker(
    workers: &Arc<Workers>,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (park, parks) = std::sync::mpsc::channel::<()>();
    let (running, is_running) = std::sync::mpsc::channel::<()>();
    let workers = workers.clone();
    let thread = std::thread::spawn(move || {
        workers.unparked();
        running.send(()).unwrap();
        let _ = parks.recv();
        workers.parked();
    });
    is_running.recv().unwrap();
    (park, thread)
}

#[test]
fn a_plan_numbers_new_requests_skips_redeliveries_and_compares_within_the_batch() {
    // The decision alone: no database, no writer.
    let policy = Policy::builtin();
    let job = |requester: &str, text: &str| {
        let req = request(requester, text);
        let read = Read::of(&policy, &req.new);
        let (reply, _) = oneshot::channel();
        Box::new(Job { req, read, reply })
    };
    let stuck = "the staging deploy is stuck on the migrations step";
    let jobs = vec![
        job("U1", stuck),
        job("U2", "please rotate the vault token for billing"),
        job("U1", stuck),
    ];
    let new = [true, false, true];
    let mut recent = Recent::of(Vec::new());
    let now = "2026-11-10T10:00:00Z".parse().unwrap();
    let remembered = Remembered::default();
    let planned = plan(&policy, &remembered, 41, &jobs, &new, &mut recent, now);

    let filed: Vec<(i64, &str, Option<&str>)> = planned
        .rows
        .tickets
        .iter()
        .map(|(t, _)| {
            (
                t.id,
                t.key.as_str(),
                t.duplicate_of.as_ref().map(|d| d.1.as_str()),
            )
        })
        .collect();
    assert_eq!(
        filed,
        [(42, "PLAT-42", None), (43, "PLAT-43", Some("PLAT-42"))],
        "the redelivered request takes no number; the repeat is flagged"
    );
    assert_eq!(planned.next_id, 43);
    assert_eq!(
        planned.rows.plans.len(),
        2,
        "each new ticket has its timers"
    );
    assert!(planned.earliest.is_some_and(|due| due > now));
    assert_eq!(planned.results.len(), 3, "an answer for every request");
    assert!(
        planned
            .results
            .iter()
            .all(|r| matches!(r, Filed::Duplicate)),
        "new tickets' answers are filled in only after the commit"
    );
}

#[tokio::test]
async fn a_commit_waits_for_the_requests_a_busy_worker_is_still_reading() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let workers = Arc::new(Workers::default());
    let (filer, metrics, _stop) =
        start_gathering(&pool, workers.clone(), Duration::from_secs(600)).await;
    let (park, worker) = busy_worker(&workers);
    let first = queue(&filer, "U1").await;
    // The writer has taken the first request (the queue is empty again) before the
    // second is queued: without gathering, it would commit it alone.
    while filer.tx.capacity() < filer.tx.max_capacity() {
        tokio::task::yield_now().await;
    }
    let second = queue(&filer, "U2").await;
    park.send(()).unwrap();
    worker.join().unwrap();
    for answer in [first, second] {
        assert!(matches!(answer.await.unwrap().unwrap(), Filed::New(_)));
    }
    assert_eq!(metrics.commits.get(), 1, "one commit for both");
    assert_eq!(metrics.committed_requests.get(), 2);
}

#[tokio::test]
async fn an_idle_runtime_is_not_waited_for() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    // Nobody counted as busy: the writer gathers nothing and commits at once, not after
    // the ten minutes it could wait.
    let (filer, metrics, _stop) = start_gathering(
        &pool,
        Arc::new(Workers::default()),
        Duration::from_secs(600),
    )
    .await;
    let answer = queue(&filer, "U1").await;
    let filed = tokio::time::timeout(Duration::from_secs(60), answer).await;
    assert!(matches!(filed, Ok(Ok(Ok(Filed::New(_))))), "{filed:?}");
    assert_eq!(metrics.commits.get(), 1);
}

#[tokio::test]
async fn a_worker_that_stays_busy_delays_a_commit_only_until_the_deadline() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let workers = Arc::new(Workers::default());
    let (park, worker) = busy_worker(&workers);
    let (filer, _metrics, _stop) = start_gathering(&pool, workers, Duration::from_millis(20)).await;
    let answer = queue(&filer, "U1").await;
    let filed = tokio::time::timeout(Duration::from_secs(60), answer).await;
    assert!(matches!(filed, Ok(Ok(Ok(Filed::New(_))))), "{filed:?}");
    park.send(()).unwrap();
    worker.join().unwrap();
}

/// Open tickets `first..=last` in channel C1, each by its own requester, filed the day
/// before, each text the template `<service> staging deploy stuck at the canary step`
/// with one of four services: they share most of their words with one another and with
/// the request of [`file`] (5 of its 6), enough to be taken for duplicates of it.
async fn look_alikes(pool: &Pool, first: i64, last: i64) {
    sqlx::query(
        "with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2) \
         insert into tickets (id, key, title, description, requester, channel, source, \
         category, priority, status, created_at, updated_at) \
         select i, 'PLAT-' || i, \
         case i % 4 when 0 then 'billing' when 1 then 'search' when 2 then 'checkout' \
             else 'ledger' end || ' staging deploy stuck at the canary step', '', \
         'UOTHER' || i, 'C1', 'command', 'general', 'P3', 'open', \
         '2026-11-09T10:00:00.000000Z', '2026-11-09T10:00:00.000000Z' from n",
    )
    .bind(first)
    .bind(last)
    .execute(pool)
    .await
    .unwrap();
}

/// Open ticket `id` by `requester` in channel C1, filed the day before: the request of
/// [`file`] in other words.
async fn the_original(pool: &Pool, id: i64, requester: &str) {
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, channel, source, \
         category, priority, status, created_at, updated_at) \
         values (?1, 'PLAT-' || ?1, 'payments staging deploy stuck at the canary step', '', \
         ?2, 'C1', 'command', 'general', 'P3', 'open', \
         '2026-11-09T10:00:00.000000Z', '2026-11-09T10:00:00.000000Z')",
    )
    .bind(id)
    .bind(requester)
    .execute(pool)
    .await
    .unwrap();
}

/// Files "Payments staging deploy is stuck at the canary step" for `requester` in C1.
async fn file(filer: &TicketFiler, requester: &str) -> Ticket {
    let req = request(
        requester,
        "Payments staging deploy is stuck at the canary step",
    );
    match filer.file(req).await.unwrap() {
        Filed::New(t) => *t,
        Filed::Duplicate => panic!("taken for a redelivery"),
    }
}

#[tokio::test]
async fn the_requesters_own_ticket_is_found_under_thousands_of_newer_look_alikes() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    the_original(&pool, 1, "U1").await;
    look_alikes(&pool, 2, 3001).await;
    let (filer, _stop) = start(&pool).await;
    let ticket = file(&filer, "U1").await;
    assert_eq!(ticket.duplicate_of, Some((1, "PLAT-1".into())));
    assert_eq!(ticket.id, 3002, "numbered after the highest ticket");
}

#[tokio::test]
async fn a_ticket_filed_more_than_two_weeks_ago_is_no_duplicate() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let filed_at = |at: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query("update tickets set created_at = ?")
                .bind(at)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    the_original(&pool, 1, "U1").await;
    let (filer, _stop) = start(&pool).await;
    // The clock reads 2026-11-10T10:00: two weeks before is still in.
    filed_at("2026-10-27T10:00:00.000000Z").await;
    assert_eq!(file(&filer, "U1").await.duplicate_of.map(|d| d.0), Some(1));
    filed_at("2026-10-27T09:59:59.000000Z").await;
    assert_eq!(file(&filer, "U1").await.duplicate_of, None);
}

#[tokio::test]
async fn in_a_channel_full_of_look_alikes_the_true_duplicate_among_the_recent_ones_wins() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    look_alikes(&pool, 1, 2995).await;
    the_original(&pool, 2996, "U2").await;
    look_alikes(&pool, 2997, 3000).await;
    let (filer, _stop) = start(&pool).await;
    // Another requester: the channel's newest tickets are compared, every one of which
    // shares most of the request's words; the original shares them all.
    let ticket = file(&filer, "U3").await;
    assert_eq!(ticket.duplicate_of, Some((2996, "PLAT-2996".into())));
}

#[tokio::test]
async fn a_request_of_the_same_batch_is_compared_with_the_tickets_filed_before_it() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let (filer, _stop) = start(&pool).await;
    // Queued together, so that one commit is likely to carry both; in order either way.
    let (first, second) = tokio::join!(file(&filer, "U1"), file(&filer, "U2"));
    let (older, newer) = if first.id < second.id {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(older.duplicate_of, None);
    assert_eq!(newer.duplicate_of, Some((older.id, older.key.clone())));
}

#[tokio::test]
async fn one_commit_stores_each_tickets_row_created_event_timer_and_outbox_row_once() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let (filer, _stop) = start(&pool).await;
    let request = |n: usize| FileRequest {
        effects: Box::new(|t: &Ticket| {
            vec![OutboxMessage::post(
                "C9",
                serde_json::json!({ "channel": "C9", "text": t.key }),
            )]
        }),
        ..request(
            &format!("U{n}"),
            &format!("kafka consumer lag on topic {n}"),
        )
    };
    // Queued together: one commit is likely to carry all three (one statement text for
    // the four tables), and each row is stored once either way.
    let (a, b, c) = tokio::join!(
        filer.file(request(1)),
        filer.file(request(2)),
        filer.file(request(3))
    );
    let mut keys = Vec::new();
    for filed in [a, b, c] {
        match filed.unwrap() {
            Filed::New(t) => keys.push(t.key),
            Filed::Duplicate => panic!("taken for a redelivery"),
        }
    }
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("select count(*) from tickets").await, 3);
    assert_eq!(
        count("select count(distinct ticket_id) from ticket_events where kind = 'created'").await,
        3
    );
    assert_eq!(count("select count(*) from ticket_events").await, 3);
    assert_eq!(
        count("select count(distinct ticket_id) from timers").await,
        count("select count(*) from timers").await
    );
    assert_eq!(
        count("select count(distinct ticket_id) from timers").await,
        3
    );
    let texts: Vec<String> =
        sqlx::query_scalar("select payload ->> 'text' from outbox order by ticket_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    keys.sort_by_key(|k| k.trim_start_matches("PLAT-").parse::<i64>().unwrap());
    assert_eq!(texts, keys);
}

#[tokio::test]
async fn a_redelivered_request_files_nothing_even_within_one_batch() {
    let (_dir, pool) = filer_db::tests::migrated().await;
    let (filer, _stop) = start(&pool).await;
    let request = |key: &str| FileRequest {
        new: NewTicket {
            title: "vault token expired".into(),
            description: "vault token expired".into(),
            requester: "U1".into(),
            channel: Some("C1".into()),
            source: Source::Mention,
            source_ts: Some("1.2".into()),
            urgency: None,
            link: None,
            filed_by: None,
        },
        dedupe: vec![key.to_string(), "msg:C1:1.2".into()],
        effects: Box::new(|_| Vec::new()),
        requested_at: None,
    };
    let (a, b) = tokio::join!(
        filer.file(request("event:E1")),
        filer.file(request("event:E2"))
    );
    let filed = [a.unwrap(), b.unwrap()];
    let new = filed.iter().filter(|f| matches!(f, Filed::New(_))).count();
    assert_eq!(new, 1, "{filed:?}");
    let tickets: i64 = sqlx::query_scalar("select count(*) from tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tickets, 1);
    // And once the first is committed, a third delivery is a redelivery too.
    assert!(matches!(
        filer.file(request("event:E3")).await.unwrap(),
        Filed::Duplicate
    ));
}
