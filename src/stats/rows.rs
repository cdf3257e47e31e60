//! From the window's rows (the `stats_row` text of migration 13) to the report's figures:
//! parsing, counting and nearest-rank percentiles, in plain Rust with no I/O.
//!
//! A row is `priority, category, channel, first_response_s, resolution_s, flags` joined by
//! [`FIELD`] (empty for absent values); rows are joined by [`RECORD`]. The flags are
//! migration 13's: 1 first response given, 2 first response breached (decided), 4 resolved,
//! 8 resolution breached (decided), 16 reopened.

use super::{ChannelCount, Group, Report, Target, Tickets, TOP_CHANNELS};
use super::{Csat, Filters, SupportBurden, Window};
use crate::settings::Policy;
use std::collections::{BTreeMap, HashMap};

pub const FIELD: char = '\u{1f}';
pub const RECORD: char = '\u{1e}';

const ANSWERED: u32 = 1;
const FIRST_RESPONSE_MISSED: u32 = 2;
const RESOLVED: u32 = 4;
const RESOLUTION_MISSED: u32 = 8;
const REOPENED: u32 = 16;

/// One ticket as the report sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub priority: &'a str,
    pub category: &'a str,
    pub channel: &'a str,
    pub first_response_s: Option<i64>,
    pub resolution_s: Option<i64>,
    pub flags: u32,
}

impl<'a> Row<'a> {
    /// None for a malformed row (never written by migration 13's expression); with the row,
    /// the field after its six (the past-due marker of `db::WindowRows::past_due`), if any.
    pub fn parse(text: &'a str) -> Option<(Row<'a>, Option<&'a str>)> {
        let mut f = Fields::new(text, FIELD);
        let priority = f.next()?;
        let category = f.next()?;
        let channel = f.next()?;
        let number = |s: &str| -> Option<Option<i64>> {
            if s.is_empty() {
                Some(None)
            } else {
                integer(s).map(Some)
            }
        };
        let first_response_s = number(f.next()?)?;
        let resolution_s = number(f.next()?)?;
        let flags = u32::try_from(integer(f.next()?)?).ok()?;
        Some((
            Row {
                priority,
                category,
                channel,
                first_response_s,
                resolution_s,
                flags,
            },
            f.next(),
        ))
    }
}

/// `str::split` at an ASCII separator, over bytes: fields and rows are a few bytes long,
/// shorter than what the general searcher's setup pays for, and a quarter of a million rows
/// go through here.
struct Fields<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Fields<'a> {
    fn new(text: &'a str, separator: char) -> Self {
        debug_assert!(separator.is_ascii());
        Self {
            rest: Some(text),
            separator: separator as u8,
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        match text.bytes().position(|b| b == self.separator) {
            Some(i) => {
                self.rest = Some(&text[i + 1..]);
                Some(&text[..i])
            }
            None => {
                self.rest = None;
                Some(text)
            }
        }
    }
}

/// A decimal integer as SQLite writes one; anything else is left to `str::parse`.
fn integer(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return s.parse().ok();
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return s.parse().ok();
        }
        value = value * 10 + i64::from(d);
    }
    Some(if negative { -value } else { value })
}

/// One target's counts and durations while rows are added.
#[derive(Debug, Default, Clone)]
struct TargetAcc {
    durations: Vec<i64>,
    due: u64,
    breached: u64,
}

impl TargetAcc {
    fn add(&mut self, took: Option<i64>, met: bool, missed: bool) {
        if let Some(s) = took {
            self.durations.push(s);
        }
        self.due += u64::from(met || missed);
        self.breached += u64::from(missed);
    }

    /// A target counted as waiting that is in fact past due.
    fn past_due(&mut self) {
        self.due += 1;
        self.breached += 1;
    }

    fn finish(mut self, opened: u64) -> Target {
        let [p50_s, p90_s, p99_s] = percentiles(&mut self.durations);
        Target {
            n: self.durations.len() as u64,
            p50_s,
            p90_s,
            p99_s,
            due: self.due,
            breached: self.breached,
            breach_rate: (self.due > 0).then(|| self.breached as f64 / self.due as f64),
            waiting: opened.saturating_sub(self.due),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct GroupAcc {
    opened: u64,
    first_response: TargetAcc,
    resolution: TargetAcc,
}

impl GroupAcc {
    fn add(&mut self, r: &Row) {
        self.opened += 1;
        self.first_response.add(
            r.first_response_s,
            r.flags & ANSWERED != 0,
            r.flags & FIRST_RESPONSE_MISSED != 0,
        );
        self.resolution.add(
            r.resolution_s,
            r.flags & RESOLVED != 0,
            r.flags & RESOLUTION_MISSED != 0,
        );
    }

    fn past_due(&mut self, which: u32) {
        if which & 1 != 0 {
            self.first_response.past_due();
        }
        if which & 2 != 0 {
            self.resolution.past_due();
        }
    }

    fn finish(self) -> Group {
        Group {
            opened: self.opened,
            first_response: self.first_response.finish(self.opened),
            resolution: self.resolution.finish(self.opened),
            csat: Csat::default(),
        }
    }
}

/// The figures of the window, built row by row.
pub struct Accumulator<'a> {
    filters: &'a Filters,
    all: GroupAcc,
    resolved: u64,
    reopened: u64,
    by_priority: Interned<'a, GroupAcc>,
    by_category: Interned<'a, GroupAcc>,
    channels: Interned<'a, u64>,
}

/// Values by name for the handful of priorities, categories and channels of a window: the
/// names of the first rows are compared in a short list (hashing every row's three strings
/// cost more than counting them), a map takes over once there are many.
struct Interned<'a, T> {
    names: Vec<&'a str>,
    values: Vec<T>,
    index: HashMap<&'a str, usize>,
}

/// How many names are looked up by comparison before the map is used.
const LINEAR: usize = 16;

impl<'a, T: Default> Interned<'a, T> {
    fn new() -> Self {
        Self {
            names: Vec::new(),
            values: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn get(&mut self, name: &'a str) -> &mut T {
        let found = if self.names.len() <= LINEAR {
            self.names.iter().position(|n| *n == name)
        } else {
            self.index.get(name).copied()
        };
        let i = found.unwrap_or_else(|| {
            self.names.push(name);
            self.values.push(T::default());
            self.index.insert(name, self.names.len() - 1);
            self.names.len() - 1
        });
        &mut self.values[i]
    }

    fn into_pairs(self) -> impl Iterator<Item = (&'a str, T)> {
        self.names.into_iter().zip(self.values)
    }
}

impl<'a> Accumulator<'a> {
    pub fn new(filters: &'a Filters) -> Self {
        Self {
            filters,
            all: GroupAcc::default(),
            resolved: 0,
            reopened: 0,
            by_priority: Interned::new(),
            by_category: Interned::new(),
            channels: Interned::new(),
        }
    }

    /// Adds the rows of `text` (rows joined by [`RECORD`]); malformed rows are skipped.
    pub fn add_all(&mut self, text: &'a str) {
        // About 40 bytes a row: the whole window's durations without a reallocation.
        let rows = text.len() / 32;
        self.all.first_response.durations.reserve(rows);
        self.all.resolution.durations.reserve(rows);
        for (row, _) in records(text).filter_map(Row::parse) {
            self.add(&row);
        }
    }

    pub fn add(&mut self, r: &Row<'a>) {
        if !self.filters.admit(r.priority, r.category, r.channel) {
            return;
        }
        self.all.add(r);
        self.resolved += u64::from(r.flags & RESOLVED != 0);
        self.reopened += u64::from(r.flags & REOPENED != 0);
        self.by_priority.get(r.priority).add(r);
        self.by_category.get(r.category).add(r);
        if !r.channel.is_empty() {
            *self.channels.get(r.channel) += 1;
        }
    }

    /// Rows already added whose unmet targets are past due: each row is followed by a field
    /// saying which target (1 first response, 2 resolution, 3 both).
    pub fn past_due_all(&mut self, text: &'a str) {
        for (row, rest) in records(text).filter_map(Row::parse) {
            let which = rest.and_then(|w| w.parse().ok()).unwrap_or(0);
            self.past_due(&row, which);
        }
    }

    pub fn past_due(&mut self, r: &Row<'a>, which: u32) {
        if !self.filters.admit(r.priority, r.category, r.channel) {
            return;
        }
        self.all.past_due(which);
        self.by_priority.get(r.priority).past_due(which);
        self.by_category.get(r.category).past_due(which);
    }

    /// The report's figures; the window, the backlog and the burden are the caller's.
    pub fn finish(self, policy: &Policy) -> Report {
        let mut by_priority: BTreeMap<String, Group> = self
            .by_priority
            .into_pairs()
            .map(|(k, g)| (k.to_string(), g.finish()))
            .collect();
        if self.filters.priority.is_none() {
            for name in policy.priority_names() {
                by_priority.entry(name.to_string()).or_default();
            }
        }
        let by_category = self
            .by_category
            .into_pairs()
            .map(|(k, g)| (k.to_string(), g.finish()))
            .collect();
        let mut top: Vec<ChannelCount> = self
            .channels
            .into_pairs()
            .map(|(channel, opened)| ChannelCount {
                channel: channel.to_string(),
                opened,
            })
            .collect();
        top.sort_by(|a, b| b.opened.cmp(&a.opened).then(a.channel.cmp(&b.channel)));
        top.truncate(TOP_CHANNELS);
        let all = self.all.finish();
        Report {
            window: Window {
                days: 0,
                from: String::new(),
                to: String::new(),
            },
            tickets: Tickets {
                opened: all.opened,
                resolved: self.resolved,
                backlog: 0,
                reopened: self.reopened,
            },
            first_response: all.first_response,
            resolution: all.resolution,
            by_priority,
            by_category,
            top_channels: top,
            oldest_open_s: None,
            csat: Csat::default(),
            pulse: None,
            self_service: None,
            hours_saved: None,
            support_share: None,
            support_burden: SupportBurden {
                tickets_per_week: 0.0,
                platform_team: 0,
                tickets_per_engineer_per_week: None,
            },
        }
    }
}

fn records(text: &str) -> impl Iterator<Item = &str> {
    Fields::new(text, RECORD).filter(|r| !r.is_empty())
}

/// Nearest-rank p50, p90 and p99 of `values` (reordered): the value at rank ceil(p/100 × n)
/// of the sorted values. Selection rather than a sort: linear in n.
pub fn percentiles(values: &mut [i64]) -> [Option<i64>; 3] {
    let n = values.len();
    if n == 0 {
        return [None; 3];
    }
    let index = |p: usize| (p * n).div_ceil(100).max(1) - 1;
    // From the highest rank down: each selection leaves the smaller values before it, where
    // the next one looks.
    let (i99, i90, i50) = (index(99), index(90), index(50));
    let (_, &mut p99, _) = values.select_nth_unstable(i99);
    let (_, &mut p90, _) = values[..=i99].select_nth_unstable(i90);
    let (_, &mut p50, _) = values[..=i90].select_nth_unstable(i50);
    [Some(p50), Some(p90), Some(p99)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(priority: &str, category: &str, channel: &str, fr: &str, flags: u32) -> String {
        [priority, category, channel, fr, "", &flags.to_string()].join("\u{1f}")
    }

    #[test]
    fn many_channels_are_counted_once_the_short_list_gives_way_to_the_map() {
        let mut text = Vec::new();
        for c in 0..40 {
            for _ in 0..=c {
                text.push(row("P3", "general", &format!("C{c:02}"), "60", 1));
            }
        }
        let text = text.join("\u{1e}");
        let filters = Filters::default();
        let mut acc = Accumulator::new(&filters);
        acc.add_all(&text);
        let r = acc.finish(&Policy::builtin());
        assert_eq!(r.tickets.opened, (1..=40).sum::<u64>());
        let top: Vec<(&str, u64)> = r
            .top_channels
            .iter()
            .map(|c| (c.channel.as_str(), c.opened))
            .collect();
        assert_eq!(
            top,
            [
                ("C39", 40),
                ("C38", 39),
                ("C37", 38),
                ("C36", 37),
                ("C35", 36)
            ]
        );
    }

    #[test]
    fn numbers_read_as_the_standard_parser_reads_them() {
        for s in [
            "0",
            "7",
            "-12",
            "123456789012345678",
            "9223372036854775807",
            "+5",
        ] {
            assert_eq!(integer(s), s.parse().ok(), "{s}");
        }
        for s in ["", "-", "1x", "99999999999999999999", "١"] {
            assert_eq!(integer(s), None, "{s}");
        }
    }
}
