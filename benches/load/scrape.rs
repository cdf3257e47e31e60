//! The server's own view of a phase, from `/metrics`: how long its commits and its handlers
//! took. It tells a stall of the writer from one of the HTTP side or of the machine (a long
//! answer with no long commit or handler behind it).

use super::client::Conn;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Every sample of one `/metrics` page, by name (with its labels).
pub struct Scrape(HashMap<String, f64>);

impl Scrape {
    pub async fn of(addr: SocketAddr) -> Option<Scrape> {
        let mut conn = Conn::connect(addr).await.ok()?;
        let status = conn.request("GET", "/metrics", &[], b"").await.ok()?;
        if status != 200 {
            return None;
        }
        let text = String::from_utf8_lossy(conn.body());
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect();
        Some(Scrape(samples))
    }

    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
}

/// What the server measured between two scrapes.
pub struct ServerSide {
    pub before: Scrape,
    pub after: Scrape,
}

impl ServerSide {
    /// How much `name` grew.
    pub fn delta(&self, name: &str) -> Option<f64> {
        Some(self.after.get(name)? - self.before.get(name)?)
    }

    /// (commits, requests carried by them).
    pub fn commits(&self) -> Option<(f64, f64)> {
        Some((
            self.delta("platform_desk_ticket_commits_total")?,
            self.delta("platform_desk_ticket_commit_requests_total")?,
        ))
    }

    /// Observations of histogram `name` over `le` seconds (a bound it has) in between.
    pub fn over(&self, name: &str, le: &str) -> Option<f64> {
        let count = self.delta(&format!("{name}_count"))?;
        Some(count - self.delta(&format!("{name}_bucket{{le=\"{le}\"}}"))?)
    }

    /// "longest ms (n over 5 ms, m over 10 ms, k over 50 ms)" for histogram `name`; its
    /// longest is since the server started.
    pub fn summary(&self, name: &str) -> Option<String> {
        let max_ms = self.after.get(&format!("{name}_max"))? * 1e3;
        Some(format!(
            "{max_ms:.1} ms ({:.0} > 5, {:.0} > 10, {:.0} > 50 ms)",
            self.over(name, "0.005")?,
            self.over(name, "0.01")?,
            self.over(name, "0.05")?
        ))
    }
}
