//! A cron schedule in plain words ("Mondays at 10:00"), as `config check` and
//! `platform-desk jobs` show it. Our own rather than a general-purpose describer: it reads
//! the schedule as the `cron` crate runs it (seconds first, weekdays counted from Sunday = 1,
//! a day of the month AND a weekday both required when both are given), which describers
//! written for Unix or Quartz cron get wrong. It reads the parsed sets, not the text, so what
//! it says is what runs.

use cron::TimeUnitSpec;

use super::policy::Policy;
use super::sections::CronSchedule;

/// Weekday names, Monday first, singular and plural.
const DAYS: [(&str, &str); 7] = [
    ("Monday", "Mondays"),
    ("Tuesday", "Tuesdays"),
    ("Wednesday", "Wednesdays"),
    ("Thursday", "Thursdays"),
    ("Friday", "Fridays"),
    ("Saturday", "Saturdays"),
    ("Sunday", "Sundays"),
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Listed times of day beyond this many are described field by field instead.
const MAX_LISTED_TIMES: usize = 8;

impl CronSchedule {
    /// The schedule in plain words, such as "Mondays at 10:00" or "every 15 minutes".
    pub fn describe(&self) -> String {
        describe(self.schedule())
    }
}

impl Policy {
    /// Every cron expression of the policy with its key and its meaning, and the grace for
    /// missed runs, as `config check` prints them under the SLA table.
    pub fn schedules_table(&self) -> String {
        let mut rows: Vec<(&str, &CronSchedule)> = Vec::new();
        if let Some(oncall) = &self.oncall {
            rows.push(("oncall.handoff", &oncall.handoff));
        }
        if let Some(cron) = &self.schedules.roadmap_digest {
            rows.push(("schedules.roadmap_digest", cron));
        }
        if let Some(cron) = &self.schedules.pulse_survey {
            rows.push(("schedules.pulse_survey", cron));
        }
        let mut out = format!("schedules, in {}:\n", self.sla.timezone.name());
        if rows.is_empty() {
            out.push_str("  none\n");
        }
        let key_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let expr_width = rows.iter().map(|r| r.1.expr().len()).max().unwrap_or(0);
        for (key, cron) in rows {
            out.push_str(&format!(
                "  {key:<key_width$}  {:<expr_width$}  {}\n",
                cron.expr(),
                cron.describe()
            ));
        }
        out.push_str(&format!(
            "a run missed while the bot was down still runs at start-up up to {} late (schedules.grace)",
            humantime::format_duration(self.schedules.grace)
        ));
        out
    }
}

/// The schedule in plain words.
pub fn describe(s: &cron::Schedule) -> String {
    let time = times(s);
    let repeating = time.starts_with("every");
    let mut out = match days(s) {
        None if repeating => time,
        None => format!("every day {time}"),
        Some(days) if repeating => format!("{days}, {time}"),
        Some(days) => format!("{days} {time}"),
    };
    if !s.months().is_all() {
        let months: Vec<(u32, String)> = s
            .months()
            .iter()
            .map(|m| (m, MONTHS[(m - 1) as usize].to_string()))
            .collect();
        out.push_str(" in ");
        out.push_str(&runs(&months, "to"));
    }
    if !s.years().is_all() {
        out.push_str(" in ");
        out.push_str(&numbers(&s.years().iter().collect::<Vec<_>>()));
    }
    out
}

/// Which days, or None for every day.
fn days(s: &cron::Schedule) -> Option<String> {
    let dom = s.days_of_month();
    let dow = s.days_of_week();
    // cron numbers weekdays from Sunday = 1; this list is Monday first.
    let weekdays: Vec<u32> = (0..7u32)
        .filter(|i| dow.includes((i + 1) % 7 + 1))
        .collect();
    let month_days = || {
        let ordinals: Vec<(u32, String)> = dom.iter().map(|d| (d, ordinal(d))).collect();
        format!("on the {} of the month", runs(&ordinals, "to"))
    };
    match (dom.is_all(), dow.is_all()) {
        (true, true) => None,
        (true, false) => {
            let names: Vec<(u32, String)> = weekdays
                .iter()
                .map(|&i| (i, DAYS[i as usize].1.to_string()))
                .collect();
            Some(runs(&names, "to"))
        }
        (false, true) => Some(month_days()),
        (false, false) => {
            let names: Vec<&str> = weekdays.iter().map(|&i| DAYS[i as usize].0).collect();
            Some(format!(
                "{} when that is a {}",
                month_days(),
                join(&names, "or")
            ))
        }
    }
}

/// The times of day.
fn times(s: &cron::Schedule) -> String {
    let secs: Vec<u32> = s.seconds().iter().collect();
    let mins: Vec<u32> = s.minutes().iter().collect();
    let hours: Vec<u32> = s.hours().iter().collect();
    let (all_secs, all_mins, all_hours) = (
        s.seconds().is_all(),
        s.minutes().is_all(),
        s.hours().is_all(),
    );
    if all_mins && all_hours {
        if all_secs {
            return "every second".into();
        }
        if let Some(k) = step(&secs, 59) {
            return format!("every {k} seconds");
        }
    }
    if let [sec] = secs[..] {
        if !all_hours && !all_mins && mins.len() * hours.len() <= MAX_LISTED_TIMES {
            let listed: Vec<String> = hours
                .iter()
                .flat_map(|h| mins.iter().map(move |m| clock_time(*h, *m, sec)))
                .collect();
            return format!("at {}", join(&listed, "and"));
        }
        if sec == 0 && all_hours {
            if all_mins {
                return "every minute".into();
            }
            if let Some(k) = step(&mins, 59) {
                return format!("every {k} minutes");
            }
            return match mins[..] {
                [0] => "every hour, on the hour".into(),
                _ => format!("every hour at minute {}", numbers(&mins)),
            };
        }
        if sec == 0 && mins.len() == 1 {
            if let Some(k) = step(&hours, 23) {
                return format!("every {k} hours at minute {}", mins[0]);
            }
        }
    }
    let field = |all: bool, values: &[u32]| {
        if all {
            "any".to_string()
        } else {
            numbers(values)
        }
    };
    format!(
        "at hour {}, minute {}, second {}",
        field(all_hours, &hours),
        field(all_mins, &mins),
        field(all_secs, &secs)
    )
}

/// `k` when `values` are 0, k, 2k, ... up to the last value that fits under `max`.
fn step(values: &[u32], max: u32) -> Option<u32> {
    let (&first, &second, &last) = (values.first()?, values.get(1)?, values.last()?);
    let k = second - first;
    let even = values.windows(2).all(|w| w[1] - w[0] == k);
    (first == 0 && even && last + k > max).then_some(k)
}

fn clock_time(hour: u32, minute: u32, second: u32) -> String {
    if second == 0 {
        format!("{hour:02}:{minute:02}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "1-5, 7 and 9": runs of three or more consecutive numbers as ranges.
fn numbers(values: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", values[i], values[j]));
            i = j + 1;
        } else {
            parts.push(values[i].to_string());
            i += 1;
        }
    }
    join(&parts, "and")
}

/// Names with their place in the calendar: three or more in a row are given as "A to C".
fn runs(items: &[(u32, String)], to: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut j = i;
        while j + 1 < items.len() && items[j + 1].0 == items[j].0 + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{} {to} {}", items[i].1, items[j].1));
            i = j + 1;
        } else {
            parts.push(items[i].1.clone());
            i += 1;
        }
    }
    join(&parts, "and")
}

/// "a", "a and b", "a, b and c".
fn join<S: AsRef<str>>(items: &[S], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., end] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", rest.join(", "), end.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(expr: &str) -> String {
        CronSchedule::parse(expr).unwrap().describe()
    }

    #[test]
    fn common_schedules_read_as_people_say_them() {
        let cases = [
            ("0 0 10 * * Mon", "Mondays at 10:00"),
            ("0 0 9 * * Mon-Fri", "Mondays to Fridays at 09:00"),
            ("0 0 14 * * Fri", "Fridays at 14:00"),
            ("0 30 8 * * Mon,Thu", "Mondays and Thursdays at 08:30"),
            ("0 0 9,17 * * *", "every day at 09:00 and 17:00"),
            ("0 0 9 * * Sat,Sun", "Saturdays and Sundays at 09:00"),
            ("0 */15 * * * *", "every 15 minutes"),
            ("0 * * * * *", "every minute"),
            ("*/10 * * * * *", "every 10 seconds"),
            ("* * * * * *", "every second"),
            ("0 0 * * * *", "every hour, on the hour"),
            (
                "0 30 * * * Mon-Fri",
                "Mondays to Fridays, every hour at minute 30",
            ),
            ("0 0 */2 * * *", "every 2 hours at minute 0"),
            ("0 0 9 1 * *", "on the 1st of the month at 09:00"),
            (
                "0 0 9 1,15 * *",
                "on the 1st and 15th of the month at 09:00",
            ),
            (
                "0 0 9 1-7 * Mon",
                "on the 1st to 7th of the month when that is a Monday at 09:00",
            ),
            (
                "0 0 9 * Jan,Apr,Jul,Oct Mon",
                "Mondays at 09:00 in January, April, July and October",
            ),
            ("0 0 9 * Jun-Aug *", "every day at 09:00 in June to August"),
            ("30 15 10 * * Sun", "Sundays at 10:15:30"),
            ("0 0 9 * * * 2027", "every day at 09:00 in 2027"),
        ];
        for (expr, said) in cases {
            assert_eq!(words(expr), said, "{expr}");
        }
    }

    #[test]
    fn a_numbered_weekday_is_read_as_cron_runs_it_from_sunday() {
        // Unix cron would say Monday to Friday; this cron runs Sunday to Thursday.
        assert_eq!(
            words("0 0 9 * * 1-5"),
            "Mondays to Thursdays and Sundays at 09:00"
        );
    }

    #[test]
    fn anything_else_is_described_field_by_field() {
        assert_eq!(
            words("0 0-5 9-17 * * *"),
            "every day at hour 9-17, minute 0-5, second 0"
        );
        assert_eq!(
            words("15,45 * 9 * * Mon"),
            "Mondays at hour 9, minute any, second 15 and 45"
        );
    }

    #[test]
    fn the_schedules_table_explains_each_expression_of_the_builtin_policy() {
        let table = Policy::builtin().schedules_table();
        assert!(
            table.starts_with("schedules, in Europe/Berlin:\n"),
            "{table}"
        );
        for line in [
            "oncall.handoff            0 0 10 * * Mon  Mondays at 10:00",
            "schedules.roadmap_digest  0 0 9 * * Mon   Mondays at 09:00",
            "schedules.pulse_survey    0 0 14 * * Fri  Fridays at 14:00",
            "up to 1h late (schedules.grace)",
        ] {
            assert!(table.contains(line), "{line:?} in\n{table}");
        }
    }

    #[test]
    fn ordinals_take_their_english_suffix() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"]
        );
    }
}
