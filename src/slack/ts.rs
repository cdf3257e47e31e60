//! Slack message timestamps (`1700000000.000100`): compared as (seconds, microseconds),
//! exactly, never as floats (an `f64` cannot hold every microsecond of today's dates).

/// A message `ts` as (seconds, microseconds); `None` if it is not one.
pub fn order(ts: &str) -> Option<(u64, u64)> {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    Some((secs.parse().ok()?, micros.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_by_seconds_then_microseconds() {
        assert!(order("1700000000.000100") < order("1700000000.000200"));
        assert!(order("999.999999") < order("1000.000000"));
        assert_eq!(order("12"), Some((12, 0)));
        assert_eq!(order("not a ts"), None);
    }
}
