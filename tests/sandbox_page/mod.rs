//! The sandbox's page as a visitor's browser drives it: a sandbox on a random port with a
//! temporary database, and its page API (`/api/...`) over HTTP.
#![allow(dead_code)]

use platform_desk::sandbox::{self, Sandbox};
use platform_desk::settings::Env;
use serde_json::Value;

pub struct Page {
    pub sandbox: Sandbox,
    /// The page's address, without a trailing slash.
    pub base: String,
    pub http: reqwest::Client,
    /// The sandbox's `DATABASE_URL`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Page {
    /// A sandbox on a fresh database, first given `history` (`seed-demo`) when asked.
    pub async fn open(history: Option<platform_desk::seed::Options>) -> Page {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("sandbox.db").display());
        let env = Env::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone())).unwrap();
        let sandbox = sandbox::start_with_history("127.0.0.1:0".parse().unwrap(), env, history)
            .await
            .expect("the sandbox starts");
        let base = sandbox.page_url().trim_end_matches('/').to_string();
        Page {
            sandbox,
            base,
            http: reqwest::Client::new(),
            url,
            _dir: dir,
        }
    }

    /// POSTs `body` as JSON to the page's `path`: the status and the JSON answered.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("the page server answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// What the page shows: every channel's messages, modals, the clock.
    pub async fn state(&self) -> Value {
        let resp = self.http.get(format!("{}/api/state", self.base));
        resp.send().await.unwrap().json().await.unwrap()
    }
}
