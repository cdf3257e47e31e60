//! `GET /dashboard`, `GET /api/v1/stats` and `GET /api/v1/tickets`.

use super::days::{DaysQuery, BAD_DAYS};
use super::{report, view, Dashboard};
use crate::stats::series;
use crate::tickets::export;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// The page loads nothing, runs no script, and may only submit its forms here.
pub(super) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The query with its rejection, so that a malformed one is our 400, in our words.
type RawQuery = Result<Query<DaysQuery>, QueryRejection>;

fn days_of(query: RawQuery) -> Result<u32, &'static str> {
    query.map_err(|_| BAD_DAYS)?.0.days()
}

fn bad_request_json(why: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response()
}

fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "the dashboard failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "an internal error occurred",
    )
        .into_response()
}

pub async fn dashboard(State(d): State<Arc<Dashboard>>, query: RawQuery) -> Response {
    let days = match days_of(query) {
        Ok(days) => days,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let now = d.ctx.clock.now();
    let page = async {
        let mut conn = d.ctx.pool.acquire().await?;
        let series = series::weekly(&mut conn, days, now).await?;
        let doc = report::document(&mut conn, &d.ctx.policy, days, now).await?;
        anyhow::Ok(view::page(days, now, &series, &doc).render()?)
    };
    match page.await {
        Ok(html) => {
            let mut response = Html(html).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(err) => internal(err),
    }
}

pub async fn stats(State(d): State<Arc<Dashboard>>, query: RawQuery) -> Response {
    let days = match days_of(query) {
        Ok(days) => days,
        Err(why) => {
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": why }))).into_response()
        }
    };
    let now = d.ctx.clock.now();
    let doc = async {
        let mut conn = d.ctx.pool.acquire().await?;
        report::document(&mut conn, &d.ctx.policy, days, now).await
    };
    match doc.await {
        Ok(doc) => Json(doc).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "the stats API failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "an internal error occurred" })),
            )
                .into_response()
        }
    }
}

/// The export records as one JSON array, streamed as the rows are read (`tickets::export`):
/// constant memory however many tickets. Without `days`, every ticket.
pub async fn tickets(State(d): State<Arc<Dashboard>>, query: RawQuery) -> Response {
    let days = match query
        .map_err(|_| BAD_DAYS)
        .and_then(|q| q.0.days_if_given())
    {
        Ok(days) => days,
        Err(why) => return bad_request_json(why),
    };
    let body = export::json_body(d.ctx.pool.clone(), days, d.ctx.clock.now());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
