//! Comparing two builds of the server on a noisy machine: the same phase run against each in
//! turn, round after round, and the medians compared.
//!
//! On a shared VM one binary can measure 20% apart from one minute to the next, so two
//! single runs minutes apart say little about a change. Alternating the builds (A B, then
//! B A, so neither always runs second) puts both under the same drift, and the median of
//! each build over the rounds is less swayed by one unlucky run.

use super::{percentile, run_phase, Phase, Setup};
use std::time::Duration;

/// What one phase measured, in the units the comparison prints.
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_us: f64,
    others_pct: f64,
    stolen_pct: f64,
}

impl Figures {
    fn of(p: &Phase) -> Figures {
        let ms = |q| percentile(&p.latencies_us, q).unwrap_or(f64::NAN);
        Figures {
            rps: p.rps(),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: ms(100.0),
            cpu_us: p.cpu_per_request_us().unwrap_or(f64::NAN),
            others_pct: p.percent_of_wall(p.others_on_cpu0).unwrap_or(f64::NAN),
            stolen_pct: p.percent_of_wall(p.stolen_from_cpu0).unwrap_or(f64::NAN),
        }
    }

    fn line(&self) -> String {
        format!(
            "{:>8.0} rps  p50 {:>6.2}  p99 {:>6.2}  max {:>7.2} ms  {:>6.1} us/req  others {:>3.0}%  stolen {:>3.0}%",
            self.rps,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.cpu_us,
            self.others_pct,
            self.stolen_pct
        )
    }
}

/// The median of `values` (NaN when empty).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Runs `rounds` rounds of each phase against `a` and `b` in turn and prints every run, the
/// median of each build and how far B's median is from A's. True when every consistency
/// check of every run passed.
pub fn compare(
    runtime: &tokio::runtime::Runtime,
    [a, b]: [&Setup; 2],
    connections: &[usize],
    secs: Duration,
    rounds: usize,
) -> anyhow::Result<bool> {
    println!("  A = {}\n  B = {}", a.server.display(), b.server.display());
    let mut consistent = true;
    for &conns in connections {
        let mut runs: [Vec<Figures>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let setup = [a, b][which];
                let phase = runtime.block_on(run_phase(setup, conns, secs))?;
                let failed: Vec<&str> = phase
                    .checks
                    .iter()
                    .filter(|c| !c.pass)
                    .map(|c| c.name)
                    .collect();
                consistent &= failed.is_empty();
                let figures = Figures::of(&phase);
                println!(
                    "  round {} {}: {}  checks {}",
                    round + 1,
                    ["A", "B"][which],
                    figures.line(),
                    if failed.is_empty() {
                        "PASS".to_string()
                    } else {
                        format!("FAIL ({})", failed.join("; "))
                    }
                );
                runs[which].push(figures);
            }
        }
        summarise(conns, &runs);
    }
    println!(
        "\nconsistency: {}",
        if consistent { "PASS" } else { "FAIL" }
    );
    Ok(consistent)
}

/// The medians of each build at `conns` connections, and B against A.
fn summarise(conns: usize, runs: &[Vec<Figures>; 2]) {
    type Metric = (&'static str, fn(&Figures) -> f64);
    let metrics: [Metric; 5] = [
        ("requests/s", |f| f.rps),
        ("latency p50 (ms)", |f| f.p50_ms),
        ("latency p99 (ms)", |f| f.p99_ms),
        ("latency max (ms)", |f| f.max_ms),
        ("CPU / request (us)", |f| f.cpu_us),
    ];
    println!(
        "\n[{conns} connections] medians of {} rounds",
        runs[0].len()
    );
    println!("  {:20} {:>10} {:>10} {:>8}", "", "A", "B", "B vs A");
    for (name, get) in metrics {
        let [ma, mb] = [0, 1].map(|i| median(runs[i].iter().map(get).collect()));
        println!(
            "  {name:20} {ma:>10.2} {mb:>10.2} {:>+7.1}%",
            100.0 * (mb - ma) / ma
        );
    }
}
