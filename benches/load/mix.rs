//! What the load looks like: who asks, where, and in what words. Thousands of requesters, a
//! handful of channels, and texts written from a few templates whose words they mostly
//! share, as a platform team's intake reads; the backlog (`backlog`) is drawn from the same
//! mix. Everything is a pure function of its seed, so both builds of a comparison get the
//! same requests.

/// The channels requests come from.
pub const CHANNELS: &[&str] = &[
    "C04PLATENG",
    "C04DEVHELP",
    "C04INFRAQ",
    "C04DATAENG",
    "C04SECOPS",
];

/// The templates: `{s}` a service, `{c}` a cluster, `{t}` a team, `{x}` a component, `{y}` a
/// symptom, `{w}` since when. Two requests from one template share about 60% of their
/// significant words (the template's own): about one request in six is taken for a likely
/// duplicate of a recent one by chance, besides the true repeats.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "{s} deploy stuck at the {x} step on {c}",
        "the {s} pipeline hangs at {x} {w}, {y}, retried twice",
    ),
    (
        "need read access to {s} {x} for the {t} team",
        "the {t} team starts on {s} {w} and needs read only access to its {x} on {c}",
    ),
    (
        "{s} pods on {c} keep restarting",
        "{w} the {s} pods on {c} restart every few minutes, {y}, the {x} looks fine",
    ),
    (
        "certificate for {s} on {c} expires soon",
        "the TLS certificate of {s} on {c} expires {w}, renew it before the {x} freeze, {t} team",
    ),
    (
        "grafana dashboard for {s} shows no data",
        "the {s} dashboard is empty {w} after the {x} change on {c}, {y}, {t} team",
    ),
    (
        "new kafka topic for {s} {x} events",
        "please create a topic for {s} {x} events on {c} for the {t} team, needed {w}",
    ),
    (
        "terraform plan for {s} fails on {c}",
        "terraform plan for {s} fails on {c}: {y} on the {x}, {t} team is blocked {w}",
    ),
    (
        "vault secret for {s} in {c}",
        "the {t} team needs a secret for {s} in {c} to reach the {x}, {w}, who approves it",
    ),
];

#[rustfmt::skip]
const SERVICES: &[&str] = &[
    "payments", "checkout", "billing", "search", "ledger", "orders", "inventory", "shipping",
    "accounts", "profile", "catalog", "pricing", "reviews", "notifications", "gateway",
    "identity", "reporting", "recommendations", "fraud", "invoicing", "wallet", "loyalty",
    "coupons", "returns", "tracking", "onboarding", "messaging", "scheduler", "exports",
    "imports", "media", "thumbnails", "geocoding", "translations", "forecasts", "settlements",
    "refunds", "subscriptions", "bookings", "quotes",
];
const CLUSTERS: &[&str] = &[
    "eu-prod",
    "eu-staging",
    "us-prod",
    "us-staging",
    "ap-prod",
    "ap-staging",
    "eu-sandbox",
    "us-sandbox",
];
const TEAMS: &[&str] = &[
    "growth",
    "mobile",
    "data",
    "risk",
    "web",
    "partners",
    "support",
    "finance",
    "marketing",
    "logistics",
    "merchant",
    "consumer",
    "ads",
    "trust",
    "compliance",
    "analytics",
];
const COMPONENTS: &[&str] = &[
    "canary",
    "database",
    "cache",
    "queue",
    "warehouse",
    "snapshot",
    "bucket",
    "cronjob",
    "ingress",
    "sidecar",
    "replica",
    "schema",
    "topic",
    "runner",
    "registry",
    "volume",
];
const SYMPTOMS: &[&str] = &[
    "OOMKilled",
    "timeouts",
    "502s",
    "permission denied",
    "connection refused",
    "crashloops",
    "throttling",
    "429s",
    "disk full",
    "certificate errors",
];
const SINCE: &[&str] = &[
    "since this morning",
    "since yesterday",
    "since Friday",
    "after lunch",
    "overnight",
    "since the weekend",
    "since Monday",
    "since the upgrade",
];

/// How often a load request repeats the one its connection sent before (a true
/// duplicate: same requester, channel and words), and how often it is an incident (`sev1`,
/// triaged P1 by the default policy).
const DUPLICATE_EVERY: u64 = 50;
const INCIDENT_EVERY: u64 = 8;

/// A request: who, where, what.
pub struct Request {
    pub requester: String,
    pub channel: &'static str,
    pub title: String,
    pub details: String,
}

impl Request {
    /// The slash command's text: a title line and a details line.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.title, self.details)
    }
}

/// splitmix64: a well-mixed 64-bit value from a seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(list: &[&'a str], x: &mut u64) -> &'a str {
    *x = mix(*x);
    list[(*x % list.len() as u64) as usize]
}

/// The request drawn from `seed`, from one of `requesters` requesters.
pub fn request(seed: u64, requesters: u32) -> Request {
    let mut x = seed;
    x = mix(x);
    let requester = format!("U0REQ{:05}", x % u64::from(requesters.max(1)));
    let channel = pick(CHANNELS, &mut x);
    x = mix(x);
    let (title, details) = TEMPLATES[(x % TEMPLATES.len() as u64) as usize];
    let slots = [
        ("{s}", pick(SERVICES, &mut x)),
        ("{c}", pick(CLUSTERS, &mut x)),
        ("{t}", pick(TEAMS, &mut x)),
        ("{x}", pick(COMPONENTS, &mut x)),
        ("{y}", pick(SYMPTOMS, &mut x)),
        ("{w}", pick(SINCE, &mut x)),
    ];
    let fill = |template: &str| {
        slots
            .iter()
            .fold(template.to_string(), |text, (slot, value)| {
                text.replace(slot, value)
            })
    };
    Request {
        requester,
        channel,
        title: fill(title),
        details: fill(details),
    }
}

/// The `seq`-th request (from 1) of load connection `conn`: every one distinct, one in
/// [`DUPLICATE_EVERY`] repeating the one before it, one in [`INCIDENT_EVERY`] an incident.
pub fn load_request(conn: usize, seq: u64, requesters: u32) -> Request {
    let drawn = if seq > 1 && seq.is_multiple_of(DUPLICATE_EVERY) {
        seq - 1
    } else {
        seq
    };
    // Seeds of the load never meet those of the backlog (below 2^40).
    let mut r = request((1 << 48) + ((conn as u64) << 32) + drawn, requesters);
    if seq.is_multiple_of(INCIDENT_EVERY) {
        r.title = format!("sev1 {}", r.title);
    }
    // Tagged, so that no two requests are the same text (digits are no significant word).
    r.details = format!("{} (#{conn}-{seq})", r.details);
    r
}
