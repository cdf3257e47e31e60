//! The statistics benchmark: the 90-day report over 1,000,000 tickets spread over a year
//! (about 250,000 in the window) against the straightforward reference, one SQL query with
//! window-function percentiles over the same database, in the same run.
//!
//!     cargo bench --bench stats
//!     BENCH_TICKETS=200000 cargo bench --bench stats
//!
//! The tickets are written with plain SQL (a recursive CTE): priorities 10% P1, 20% P2, 40%
//! P3, 30% P4; eight categories, twenty channels; the last 5,000 open, the last 2,000 of
//! them unanswered; 2% reopened; response and resolution times random within a day and six
//! days. Target: the report in a tenth of the reference's time or less. The two must agree
//! on the overall percentiles (exit 1 otherwise); a missed speed target is only reported.
//!
//! `cargo test --all-targets` runs this binary without `--bench`: it then does nothing.

use chrono::{Duration, Utc};
use platform_desk::clock::db_time;
use platform_desk::settings::Policy;
use platform_desk::stats::{self, Filters};
use platform_desk::store;
use std::time::Instant;

const RUNS: usize = 5;

fn main() {
    if !std::env::args().skip(1).any(|a| a == "--bench") {
        println!("stats benchmark: skipped; run it with `cargo bench --bench stats`");
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if let Err(err) = rt.block_on(run()) {
        eprintln!("stats benchmark: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let tickets: i64 = std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("stats.db").display());
    let pool = store::connect(&url).await?;
    store::migrate(&pool).await?;
    let now = Utc::now();
    let started = Instant::now();
    seed(&pool, tickets, now).await?;
    println!(
        "stats benchmark: {tickets} tickets written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let policy = Policy::builtin();
    let mut conn = pool.acquire().await?;
    sqlx::query("analyze").execute(&mut *conn).await?;

    let mut ours = Vec::new();
    let mut report = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        report = Some(stats::report(&mut conn, &policy, 90, &Filters::default(), now).await?);
        ours.push(t.elapsed().as_secs_f64());
    }
    let report = report.expect("ran");
    let mut reference = Vec::new();
    let mut answer = None;
    for _ in 0..3 {
        let t = Instant::now();
        answer = Some(reference_query(&mut conn, now).await?);
        reference.push(t.elapsed().as_secs_f64());
    }
    let answer = answer.expect("ran");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ours, reference) = (median(&mut ours), median(&mut reference));
    println!(
        "90-day window: {} tickets opened, first response n {}, resolution n {}",
        report.tickets.opened, report.first_response.n, report.resolution.n
    );
    println!("report (median of {RUNS}): {:.1} ms", ours * 1000.0);
    println!("reference (median of 3): {:.1} ms", reference * 1000.0);
    println!(
        "ratio: {:.3} (target 0.100 or less): {}",
        ours / reference,
        if ours * 10.0 <= reference {
            "met"
        } else {
            "MISSED"
        }
    );
    let mine = [
        report.first_response.p50_s,
        report.first_response.p90_s,
        report.first_response.p99_s,
        report.resolution.p50_s,
        report.resolution.p90_s,
        report.resolution.p99_s,
    ];
    if mine != answer {
        anyhow::bail!("the report and the reference disagree: {mine:?} vs {answer:?}");
    }
    println!("the report and the reference agree on the overall percentiles: {mine:?}");
    Ok(())
}

/// `tickets` tickets over the year before `now`, oldest first.
async fn seed(pool: &store::Pool, tickets: i64, now: chrono::DateTime<Utc>) -> anyhow::Result<()> {
    let start = (now - Duration::days(365)).timestamp() as f64;
    let step = 365.0 * 86_400.0 / tickets as f64;
    let mut conn = pool.acquire().await?;
    sqlx::query("pragma synchronous = off")
        .execute(&mut *conn)
        .await?;
    // In chunks, so one transaction stays a reasonable size.
    let chunk = 100_000;
    let mut from = 1;
    while from <= tickets {
        let to = (from + chunk - 1).min(tickets);
        sqlx::query(
            r"with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2),
              t(i, c, p, cat, ch, fr, rs) as (
                select i, ?3 + i * ?4,
                  case when i % 10 = 0 then 'P1' when i % 10 < 3 then 'P2'
                       when i % 10 < 7 then 'P3' else 'P4' end,
                  case abs(random()) % 8 when 0 then 'incident' when 1 then 'access'
                       when 2 then 'ci' when 3 then 'deploy' when 4 then 'database'
                       when 5 then 'network' when 6 then 'question' else 'general' end,
                  'C0' || (abs(random()) % 20),
                  case when i > ?5 - 2000 then null else abs(random()) % 20000 end,
                  case when i > ?5 - 5000 then null else abs(random()) % 500000 end
                from n)
              insert into tickets (id, key, title, description, requester, channel, source,
                category, priority, status, created_at, updated_at, first_response_at,
                resolved_at, first_response_due, resolution_due, first_response_s,
                resolution_s, reopens)
              select i, 'PLAT-' || i, 'Something broke, number ' || i,
                'A longer description of the problem, with logs, context and more words, '
                  || 'as people write them: ticket ' || i,
                'U' || (abs(random()) % 3000), ch, 'command', cat, p,
                case when rs is null then 'open' else 'resolved' end,
                strftime('%Y-%m-%dT%H:%M:%fZ', c, 'unixepoch'),
                strftime('%Y-%m-%dT%H:%M:%fZ', c, 'unixepoch'),
                case when fr is not null then strftime('%Y-%m-%dT%H:%M:%fZ', c + fr, 'unixepoch') end,
                case when rs is not null then strftime('%Y-%m-%dT%H:%M:%fZ', c + rs, 'unixepoch') end,
                strftime('%Y-%m-%dT%H:%M:%fZ', c + 3600, 'unixepoch'),
                strftime('%Y-%m-%dT%H:%M:%fZ', c + 86400, 'unixepoch'),
                fr, rs, i % 50 = 0
              from t",
        )
        .bind(from)
        .bind(to)
        .bind(start)
        .bind(step)
        .bind(tickets)
        .execute(&mut *conn)
        .await?;
        from = to + 1;
    }
    Ok(())
}

/// group, target, opened, due, breached, n, p50, p90, p99
type ReferenceRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// The straightforward way: one query over the window's tickets, the counts by group and
/// the nearest-rank percentiles from `row_number()` over each group's sorted durations, for
/// the whole window, each priority and each category. Returns the overall percentiles.
async fn reference_query(
    conn: &mut sqlx::SqliteConnection,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<[Option<i64>; 6]> {
    let rows: Vec<ReferenceRow> =
        sqlx::query_as(
            r"with w as (
                select priority, category, status, first_response_s, resolution_s,
                  first_response_at, first_response_due, first_response_breached,
                  resolved_at, resolution_due, resolution_breached
                from tickets where created_at >= ?1 and created_at <= ?2),
              d as (
                select 'all' g, * from w
                union all select 'priority ' || priority, * from w
                union all select 'category ' || category, * from w),
              m as (
                select g, 'first_response' k, first_response_s s,
                  first_response_at is not null done,
                  first_response_breached or first_response_at > first_response_due
                    or (first_response_at is null and first_response_due < ?2) missed
                from d
                union all
                select g, 'resolution', resolution_s,
                  resolved_at is not null and status in ('resolved', 'closed'),
                  resolution_breached or (status in ('resolved', 'closed') and resolved_at > resolution_due)
                    or (not (resolved_at is not null and status in ('resolved', 'closed'))
                        and resolution_due < ?2)
                from d),
              r as (
                select g, k, s, done, missed,
                  row_number() over (partition by g, k, s is null order by s) rn,
                  count(s) over (partition by g, k) n
                from m)
              select g, k, count(*), sum(done or missed), sum(coalesce(missed, 0)), max(n),
                min(case when s is not null and rn >= (50 * n + 99) / 100 then s end),
                min(case when s is not null and rn >= (90 * n + 99) / 100 then s end),
                min(case when s is not null and rn >= (99 * n + 99) / 100 then s end)
              from r group by g, k",
        )
        .bind(db_time(now - Duration::days(90)))
        .bind(db_time(now))
        .fetch_all(&mut *conn)
        .await?;
    let find = |k: &str| {
        rows.iter()
            .find(|r| r.0 == "all" && r.1 == k)
            .map(|r| [r.6, r.7, r.8])
            .unwrap_or([None; 3])
    };
    let (fr, rs) = (find("first_response"), find("resolution"));
    Ok([fr[0], fr[1], fr[2], rs[0], rs[1], rs[2]])
}
