//! The access rule of the dashboard and the read API (CONTRACT.md, "HTTP"), over real HTTP:
//! the Bearer token, a wrong one, none; the sign-in form's cookie; loopback only without a
//! token; and the read API's answers (bad `days`, the same numbers as the stats engine).

mod common;
#[path = "dashboard/seed.rs"]
mod seed;

use platform_desk::clock::Clock;
use platform_desk::settings::Policy;
use reqwest::header;
use serde_json::Value;

const TOKEN: &str = "web-token-4b1d9a7f2c";

fn with_token() -> Vec<(String, String)> {
    vec![("WEB_TOKEN".into(), TOKEN.into())]
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn with_a_token_the_bearer_opens_the_api_and_the_dashboard() {
    let (app, _clock) = seed::app(with_token()).await;
    for path in ["/api/v1/stats", "/dashboard"] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let doc: Value = app
        .http
        .get(format!("{}/api/v1/stats?days=7", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["window"]["days"], 7);
}

#[tokio::test]
async fn with_a_token_a_wrong_token_or_none_is_refused_even_from_loopback() {
    let (app, _clock) = seed::app(with_token()).await;
    for auth in [None, Some("Bearer wrong-token"), Some("Basic d2ViOnRva2Vu")] {
        for path in ["/api/v1/stats", "/dashboard", "/api/v1/stats?days=bad"] {
            let mut req = app.http.get(format!("{}{path}", app.base));
            if let Some(auth) = auth {
                req = req.header(header::AUTHORIZATION, auth);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 401, "{path} with {auth:?}");
            assert_eq!(resp.headers()[header::WWW_AUTHENTICATE], "Bearer");
            let body = resp.text().await.unwrap();
            assert!(!body.contains(TOKEN), "{body}");
            if path.starts_with("/api/") {
                let json: Value = serde_json::from_str(&body).unwrap();
                assert!(json["error"].as_str().unwrap().contains("Bearer"), "{body}");
            } else {
                assert!(body.contains("/dashboard/sign-in"), "{body}");
            }
        }
    }
}

#[tokio::test]
async fn the_sign_in_form_sets_an_http_only_cookie_that_opens_the_dashboard() {
    let (app, _clock) = seed::app(with_token()).await;
    let http = no_redirects();
    let form = http
        .get(format!("{}/dashboard/sign-in", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let csp = form.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    assert!(form.text().await.unwrap().contains("type=\"password\""));

    let wrong = http
        .post(format!("{}/dashboard/sign-in", app.base))
        .form(&[("token", "not-it")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());

    let signed = http
        .post(format!("{}/dashboard/sign-in", app.base))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.headers()[header::LOCATION], "/dashboard");
    let cookie = signed.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is not the token: {cookie}"
    );

    let pair = cookie.split(';').next().unwrap().to_string();
    for path in ["/dashboard", "/api/v1/stats"] {
        let resp = http
            .get(format!("{}{path}", app.base))
            .header(header::COOKIE, &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let forged = http
        .get(format!("{}/dashboard", app.base))
        .header(header::COOKIE, format!("platform_desk_session={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn without_a_token_loopback_clients_need_nothing() {
    let (app, _clock) = seed::app(vec![]).await;
    for path in ["/dashboard", "/api/v1/stats?days=90"] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
}

/// This machine's own address on a non-loopback interface, if it has one: the kernel picks
/// the source address a UDP socket would use (nothing is sent).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn without_a_token_a_client_on_another_interface_is_told_to_set_web_token() {
    let Some(ip) = non_loopback_address() else {
        // The guard's decision for such a peer is unit-tested in `web::auth`.
        eprintln!("no non-loopback interface on this machine: only the unit test covers it");
        return;
    };
    let (app, _clock) = seed::app(vec![("LISTEN_ADDR".into(), "0.0.0.0:0".into())]).await;
    let base = format!("http://{}", std::net::SocketAddr::new(ip, app.addr.port()));
    for path in ["/api/v1/stats", "/dashboard"] {
        let resp = app.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path} from {ip}");
        assert!(resp.text().await.unwrap().contains("set WEB_TOKEN"));
    }
    // The probes, metrics and Slack's endpoints stay open as before.
    for path in ["/healthz", "/metrics"] {
        let resp = app.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path} from {ip}");
    }
}

#[tokio::test]
async fn a_bad_days_is_a_400_with_a_json_error() {
    let (app, _clock) = seed::app(vec![]).await;
    for days in ["0", "-3", "abc", "1e3", "99999"] {
        let resp = app
            .http
            .get(format!("{}/api/v1/stats?days={days}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "days={days}");
        let json: Value = resp.json().await.unwrap();
        assert!(json["error"].as_str().unwrap().contains("days"), "{json}");
    }
}

#[tokio::test]
async fn the_stats_api_gives_the_engines_report_for_the_same_data() {
    let (app, clock) = seed::app(vec![]).await;
    let filed = seed::history(&app, &clock, 12).await;
    let api: Value = app
        .http
        .get(format!("{}/api/v1/stats?days=30", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["tickets"]["opened"], filed as u64);
    let pool = platform_desk::store::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let policy = Policy::parse(&seed::policy()).unwrap();
    let report = platform_desk::stats::report(
        &mut conn,
        &policy,
        30,
        &platform_desk::stats::Filters::default(),
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(api, serde_json::to_value(&report).unwrap());
    assert!(api["resolution"]["n"].as_u64().unwrap() > 0, "{api}");
}

#[tokio::test]
async fn the_stats_api_filters_by_priority_category_and_channel_as_the_engine_does() {
    let (app, clock) = seed::app(vec![]).await;
    seed::history(&app, &clock, 12).await;
    let pool = platform_desk::store::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let policy = Policy::parse(&seed::policy()).unwrap();
    let everything: Value = app
        .http
        .get(format!("{}/api/v1/stats?days=30", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = everything["top_channels"][0]["channel"]
        .as_str()
        .unwrap()
        .to_string();
    let category = everything["by_category"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    for (query, filters) in [
        (
            "priority=P1".to_string(),
            platform_desk::stats::Filters {
                priority: Some("P1".into()),
                ..Default::default()
            },
        ),
        (
            format!("category={category}"),
            platform_desk::stats::Filters {
                category: Some(category.clone()),
                ..Default::default()
            },
        ),
        (
            format!("channel={channel}"),
            platform_desk::stats::Filters {
                channel: Some(channel.clone()),
                ..Default::default()
            },
        ),
    ] {
        let api: Value = app
            .http
            .get(format!("{}/api/v1/stats?days=30&{query}", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let report = platform_desk::stats::report(&mut conn, &policy, 30, &filters, clock.now())
            .await
            .unwrap();
        assert_eq!(api, serde_json::to_value(&report).unwrap(), "{query}");
        assert!(
            api["tickets"]["opened"].as_u64().unwrap()
                < everything["tickets"]["opened"].as_u64().unwrap(),
            "{query} narrows the report: {api}"
        );
    }
    let unknown = app
        .http
        .get(format!("{}/api/v1/stats?priority=P9", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn the_dashboard_shows_the_same_counts_as_the_stats_api() {
    let (app, clock) = seed::app(vec![]).await;
    seed::history(&app, &clock, 12).await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.base)).send();
    let api: Value = get("/api/v1/stats?days=30")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = get("/dashboard?days=30")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (label, field) in [
        ("Opened", "opened"),
        ("Resolved", "resolved"),
        ("Backlog now", "backlog"),
    ] {
        let tile = format!("<dt>{label}</dt><dd>{}</dd>", api["tickets"][field]);
        assert!(page.contains(&tile), "{tile} not on the page");
    }
    assert!(api["tickets"]["opened"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn the_dashboard_loads_nothing_from_elsewhere_and_its_policy_forbids_it() {
    let (app, clock) = seed::app(vec![]).await;
    seed::history(&app, &clock, 6).await;
    let resp = app
        .http
        .get(format!("{}/dashboard?days=30", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    for allowed in ["script-src", "font-src", "connect-src"] {
        assert!(!csp.contains(allowed), "{allowed} in {csp}");
    }
    let page = resp.text().await.unwrap().to_ascii_lowercase();
    assert!(page.contains("<svg"), "the charts are inline SVG");
    // No script at all, no stylesheet, font or image fetched from anywhere.
    for outside in [
        "<script",
        "<link",
        "@import",
        "url(",
        "src=\"http",
        "src=\"//",
        "href=\"http",
        "href=\"//",
    ] {
        assert!(!page.contains(outside), "{outside} on the dashboard");
    }
}

#[tokio::test]
async fn the_tickets_api_streams_the_export_records_behind_the_same_rule() {
    let (app, clock) = seed::app(with_token()).await;
    let filed = seed::history(&app, &clock, 6).await;
    let refused = app
        .http
        .get(format!("{}/api/v1/tickets", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let resp = app
        .http
        .get(format!("{}/api/v1/tickets?days=30", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let records: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(records.len(), filed);
    assert_eq!(records[0]["key"], "PLAT-1");
    for field in [
        "priority",
        "category",
        "channel",
        "created_at",
        "first_response_breached",
    ] {
        assert!(records[0].get(field).is_some(), "{field} in {}", records[0]);
    }
    let bad = app
        .http
        .get(format!("{}/api/v1/tickets?days=zero", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
