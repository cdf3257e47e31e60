//! The `days` query parameter of the dashboard and the read API: the window, in whole days.

use serde::Deserialize;

/// The window when `days` is absent.
pub const DEFAULT_DAYS: u32 = 30;

/// The longest window asked for: ten years.
pub const MAX_DAYS: u32 = 3650;

/// What a bad `days` is answered with.
pub const BAD_DAYS: &str = "days must be a whole number of days from 1 to 3650";

/// The raw query: taken as text so that a bad value is our 400, not the extractor's.
#[derive(Debug, Default, Deserialize)]
pub struct DaysQuery {
    pub days: Option<String>,
}

impl DaysQuery {
    /// The window, `DEFAULT_DAYS` when absent.
    pub fn days(&self) -> Result<u32, &'static str> {
        Ok(self.days_if_given()?.unwrap_or(DEFAULT_DAYS))
    }

    /// The window, None when absent (the tickets export: every ticket).
    pub fn days_if_given(&self) -> Result<Option<u32>, &'static str> {
        match self.days.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
                .map(Some)
                .ok_or(BAD_DAYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(days: Option<&str>) -> Result<u32, &'static str> {
        DaysQuery {
            days: days.map(str::to_string),
        }
        .days()
    }

    #[test]
    fn days_defaults_to_thirty_and_takes_whole_days_in_range() {
        assert_eq!(q(None), Ok(30));
        assert_eq!(q(Some("")), Ok(30));
        assert_eq!(q(Some("7")), Ok(7));
        assert_eq!(q(Some("3650")), Ok(3650));
        let given = |d: Option<&str>| {
            DaysQuery {
                days: d.map(str::to_string),
            }
            .days_if_given()
        };
        assert_eq!(given(None), Ok(None));
        assert_eq!(given(Some("90")), Ok(Some(90)));
        assert_eq!(given(Some("0")), Err(BAD_DAYS));
        for bad in ["0", "-1", "3651", "7.5", "seven", "99999999999999999999"] {
            assert_eq!(q(Some(bad)), Err(BAD_DAYS), "{bad}");
        }
    }
}
