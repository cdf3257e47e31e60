//! A closed survey's results from its scores (pure): responses, mean, the distribution of
//! the five answers, the share favourable (4 or 5), the change since the previous survey and
//! the trend over the last ones.

/// The results of one survey with enough answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub responses: u32,
    pub mean: f64,
    /// How many answered 1, 2, 3, 4, 5.
    pub distribution: [u32; 5],
    /// The share of answers that were 4 or 5, between 0 and 1.
    pub favourable: f64,
}

/// The tally of `scores` (each 1 to 5; others are ignored); None without any.
pub fn tally(scores: &[i64]) -> Option<Tally> {
    let mut distribution = [0u32; 5];
    for s in scores {
        if let Some(slot) = usize::try_from(*s - 1)
            .ok()
            .and_then(|i| distribution.get_mut(i))
        {
            *slot += 1;
        }
    }
    let responses: u32 = distribution.iter().sum();
    if responses == 0 {
        return None;
    }
    let sum: u32 = distribution
        .iter()
        .zip(1u32..)
        .map(|(count, score)| count * score)
        .sum();
    Some(Tally {
        responses,
        mean: f64::from(sum) / f64::from(responses),
        distribution,
        favourable: f64::from(distribution[3] + distribution[4]) / f64::from(responses),
    })
}

/// `responses / audience`, 0 when nobody was asked.
pub fn response_rate(responses: i64, audience: i64) -> f64 {
    if audience <= 0 {
        0.0
    } else {
        responses as f64 / audience as f64
    }
}

/// The distribution as stored (`surveys.distribution`): a JSON array of five counts.
pub fn distribution_json(d: &[u32; 5]) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "[0,0,0,0,0]".into())
}

/// Reads a stored distribution back; None when it is not five counts.
pub fn parse_distribution(text: &str) -> Option<[u32; 5]> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_means_and_favourable_share() {
        let t = tally(&[5, 4, 4, 3, 1, 9]).unwrap();
        assert_eq!(t.responses, 5, "out-of-range scores are not counted");
        assert_eq!(t.distribution, [1, 0, 1, 2, 1]);
        assert!((t.mean - 3.4).abs() < 1e-9);
        assert!((t.favourable - 0.6).abs() < 1e-9);
        assert_eq!(tally(&[]), None);
    }

    #[test]
    fn the_distribution_is_stored_as_five_counts_and_read_back() {
        let text = distribution_json(&[1, 0, 2, 3, 4]);
        assert_eq!(text, "[1,0,2,3,4]");
        assert_eq!(parse_distribution(&text), Some([1, 0, 2, 3, 4]));
        assert_eq!(parse_distribution("[1,2]"), None);
        assert_eq!(response_rate(3, 0), 0.0);
        assert!((response_rate(3, 4) - 0.75).abs() < 1e-9);
    }
}
