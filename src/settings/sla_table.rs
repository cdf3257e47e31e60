//! `Policy::sla_table`: the effective SLA targets as a plain-text table, as printed by
//! `platform-desk config check`.

use std::fmt::Write;

use humantime::format_duration;

use super::policy::Policy;

impl Policy {
    /// One row per priority: name, first response, resolution, and whether the clocks run
    /// in business hours or 24/7; then the business hours, when any priority uses them.
    pub fn sla_table(&self) -> String {
        let header = ["priority", "first response", "resolution", "clock"].map(String::from);
        let rows: Vec<[String; 4]> = self
            .sla
            .priorities
            .iter()
            .map(|(name, target)| {
                [
                    name.clone(),
                    format_duration(target.first_response).to_string(),
                    format_duration(target.resolution).to_string(),
                    if target.business_hours {
                        "business hours"
                    } else {
                        "24/7"
                    }
                    .to_string(),
                ]
            })
            .collect();
        let mut widths = header.clone().map(|cell| cell.len());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        if self
            .sla
            .priorities
            .values()
            .any(|target| target.business_hours)
        {
            let hours = &self.business_hours;
            let days: Vec<String> = hours.days.iter().map(|day| day.to_string()).collect();
            let _ = write!(
                out,
                "\nbusiness hours: {} {}-{} ({})",
                days.join(" "),
                hours.start.format("%H:%M"),
                hours.end.format("%H:%M"),
                self.sla.timezone
            );
            match hours.holidays.len() {
                0 => out.push('\n'),
                1 => out.push_str(", 1 holiday\n"),
                n => {
                    let _ = writeln!(out, ", {n} holidays");
                }
            }
        }
        let _ = writeln!(
            out,
            "warn at {}% of a target",
            (self.sla.warn_at * 100.0).round()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sla_table_of_the_builtin_policy_lists_every_priority() {
        let table = Policy::builtin().sla_table();
        let expected = "\
priority  first response  resolution  clock
P1        15m             4h          24/7
P2        1h              1day        24/7
P3        4h              5days       business hours
P4        1day            10days      business hours

business hours: Mon Tue Wed Thu Fri 09:00-17:30 (Europe/Berlin), 1 holiday
warn at 75% of a target
";
        assert_eq!(table, expected);
    }

    #[test]
    fn sla_table_omits_business_hours_when_every_clock_is_24_7() {
        let policy = Policy::parse(
            "[sla.priorities.URGENT]\nfirst_response = \"90s\"\nresolution = \"1h 30m\"\n",
        )
        .unwrap();
        let table = policy.sla_table();
        assert!(
            table.contains("URGENT    1m 30s          1h 30m      24/7"),
            "{table}"
        );
        assert!(!table.contains("business hours"), "{table}");
    }
}
