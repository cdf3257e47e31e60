//! The sandbox's page links to the dashboard, which the bot serves to this machine.

use platform_desk::sandbox;
use platform_desk::settings::Env;

#[tokio::test]
async fn the_sandbox_page_links_to_the_bots_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sandbox.db").display());
    let env = Env::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
    let sandbox = sandbox::start("127.0.0.1:0".parse().unwrap(), env)
        .await
        .expect("the sandbox starts");
    let base = sandbox.page_url().trim_end_matches('/').to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(&base).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"href="/dashboard""#), "no dashboard link");

    let moved = http.get(format!("{base}/dashboard")).send().await.unwrap();
    assert_eq!(moved.status(), 303);
    let to = moved.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("http://127.0.0.1:") && to.ends_with("/dashboard"),
        "{to}"
    );
    let dashboard = http.get(&to).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("Weekly volume"), "{html}");
    sandbox.shutdown().await;
}
