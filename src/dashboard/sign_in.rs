//! The sign-in form: a browser trades `WEB_TOKEN` for the session cookie (`web::auth`), so
//! people need not send a Bearer header. The token is checked in constant time and never
//! logged, echoed or stored in the cookie.

use super::Dashboard;
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    token_required: bool,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
}

fn render(status: StatusCode, page: SignInPage) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (header::CONTENT_SECURITY_POLICY, super::handlers::CSP),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Html(html),
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "the sign-in page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "an internal error occurred",
            )
                .into_response()
        }
    }
}

pub async fn form(State(d): State<Arc<Dashboard>>) -> Response {
    render(
        StatusCode::OK,
        SignInPage {
            token_required: d.access.token_required(),
            error: None,
        },
    )
}

pub async fn submit(
    State(d): State<Arc<Dashboard>>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, FormRejection>,
) -> Response {
    let presented = form.map(|Form(f)| f.token).unwrap_or_default();
    if !d.access.token_matches(presented.trim()) {
        tracing::info!("a dashboard sign-in was refused");
        return render(
            StatusCode::UNAUTHORIZED,
            SignInPage {
                token_required: d.access.token_required(),
                error: Some("That is not the web token."),
            },
        );
    }
    // Behind a TLS proxy the cookie is marked Secure; on plain HTTP (a closed network, or
    // loopback) a Secure cookie would never come back.
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let Some(cookie) = d.access.session_cookie(secure) else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "an internal error occurred",
        )
            .into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, HeaderValue::from_static("/dashboard")),
        ],
    )
        .into_response()
}
