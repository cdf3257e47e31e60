//! The web side: health and readiness probes, Prometheus metrics, and the access rule in
//! front of the dashboard and the read API (`auth`).

pub mod auth;
pub mod serve;

use crate::context::Context;
use crate::outbox;
use crate::store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub fn router(app: Arc<Context>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn readyz(State(app): State<Arc<Context>>) -> impl IntoResponse {
    if store::ready(&app.pool).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database not ready")
    }
}

async fn metrics(State(app): State<Arc<Context>>) -> impl IntoResponse {
    let counts = match app.pool.acquire().await {
        Ok(mut conn) => outbox::db::counts(&mut conn).await.unwrap_or_default(),
        Err(_) => Default::default(),
    };
    app.metrics.outbox_pending.set(counts.0);
    app.metrics.outbox_failed_rows.set(counts.2);
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
}
