//! Timings of the on-call rotation (`oncall::rotation`): who is on call, counted from the
//! rotation's epoch a local day at a time, so the cost grows with the days since the epoch,
//! not with the handoffs. These were timing asserts in unit tests (under 250 ms), which a
//! busy machine could fail and a slow change could pass; here they are measured and shown.
//!
//!     cargo bench --bench rotation
//!     BENCH_ROUNDS=50 cargo bench --bench rotation
//!
//! Each case runs `BENCH_ROUNDS` times (default 20) after one warm-up and reports the
//! fastest, the median and the slowest. The first case checks its answer too (the same as
//! the unit test's), so a fast wrong count cannot pass for a fast right one. For reference:
//! walking each of five years of hourly handoffs took about 400 ms in a debug build,
//! counting by days about 20 ms. In the release build, on this project's 2-core VM under
//! other builds' load (2026-12-06), medians: 0.47 ms hourly and 0.35 ms weekly five years
//! out, 0.37 ms with 200 overrides, 2.96 ms to list a year of hourly handoffs.
//!
//! `cargo test --all-targets` runs this binary without `--bench`: it then runs each case
//! once, unreported, so the cases keep compiling and working.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use platform_desk::oncall::rotation::{handoffs_between, on_call, rotation_epoch, Override};
use platform_desk::settings::{CronSchedule, OncallPolicy};
use std::hint::black_box;
use std::time::Instant;

const BERLIN: Tz = chrono_tz::Europe::Berlin;

fn policy(handoff: &str, size: usize) -> OncallPolicy {
    OncallPolicy {
        rotation: (0..size).map(|i| format!("U{i}")).collect(),
        handoff: CronSchedule::parse(handoff).expect("a valid cron"),
        escalate_to: vec!["ULEAD".into()],
        escalate_after: std::time::Duration::from_secs(30 * 60),
        max_rounds: 3,
    }
}

/// A case: its name and one run of it.
type Case = (&'static str, Box<dyn Fn()>);

fn cases() -> Vec<Case> {
    let epoch = rotation_epoch(BERLIN);
    let hourly = policy("0 0 * * * *", 7);
    let weekly = policy("0 0 10 * * Mon", 3);
    let twice_daily = policy("0 0 9,21 * * *", 5);
    let five_years = epoch + Duration::hours(43_824);
    let overrides: Vec<Override> = (0..200)
        .map(|i| {
            let starts = epoch + Duration::days(i * 9);
            Override {
                user: format!("UOVER{i}"),
                starts_at: starts,
                ends_at: starts + Duration::days(3),
                created_at: starts - Duration::days(1),
            }
        })
        .collect();
    vec![
        (
            "hourly rotation, five years after the epoch",
            Box::new(move || {
                // 43,824 handoffs (the spring hour lost and the autumn one repeated cancel
                // out); 43,824 mod 7 = 4.
                let got = on_call(&hourly, BERLIN, &[], black_box(five_years));
                assert_eq!(got.user, "U4");
                assert_eq!(got.until, five_years + Duration::hours(1));
            }),
        ),
        (
            "weekly rotation, five years after the epoch",
            Box::new(move || {
                black_box(on_call(&weekly, BERLIN, &[], black_box(five_years)));
            }),
        ),
        (
            "twice-daily rotation with 200 overrides, five years after",
            Box::new(move || {
                black_box(on_call(
                    &twice_daily,
                    BERLIN,
                    &overrides,
                    black_box(five_years),
                ));
            }),
        ),
        (
            "a year of hourly handoffs listed (8,760)",
            Box::new({
                let hourly = policy("0 0 * * * *", 7);
                move || {
                    let from: DateTime<Utc> = five_years;
                    let list = handoffs_between(&hourly, BERLIN, from, from + Duration::days(365));
                    assert_eq!(black_box(list).len(), 8_760);
                }
            }),
        ),
    ]
}

fn main() {
    let bench = std::env::args().skip(1).any(|a| a == "--bench");
    if !bench {
        for (_, run) in cases() {
            run();
        }
        println!(
            "rotation benchmark: each case ran once; time them with `cargo bench --bench rotation`"
        );
        return;
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(20);
    println!("on-call rotation, {rounds} rounds per case (fastest / median / slowest):");
    for (name, run) in cases() {
        run(); // warm-up
        let mut times: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                run();
                started.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<58} {:>8.3} / {:>8.3} / {:>8.3} ms",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
