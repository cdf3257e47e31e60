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
    let (counts, open) = match app.pool.acquire().await {
        Ok(mut conn) => (
            outbox::db::counts(&mut conn).await.unwrap_or_default(),
            crate::metrics::db::open_tickets(&mut conn).await,
        ),
        Err(err) => (Default::default(), Err(err)),
    };
    app.metrics.set_outbox(counts.0, counts.1);
    match open {
        Ok(open) => app.metrics.sla.set_open_tickets(&open),
        // The last counts stay: a gap in the database is not a drop to zero tickets.
        Err(err) => tracing::warn!(error = %err, "counting open tickets for /metrics failed"),
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
}
