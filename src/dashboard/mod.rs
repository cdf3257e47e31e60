//! The dashboard and the read API (CONTRACT.md, "HTTP"): `GET /dashboard`, one page of SVG
//! charts rendered on the server; `GET /api/v1/stats` and `GET /api/v1/tickets`; and the
//! sign-in form. All but the form sit behind `web::auth`. Above the capabilities, like
//! `dispatch`: it reads `stats` (and the tickets export) and changes nothing.

pub mod charts;
pub mod days;
mod handlers;
mod leverage;
mod report;
mod sign_in;
pub mod view;

use crate::context::Context;
use crate::web::auth::{self, Access};
use axum::middleware;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// What the dashboard's handlers share.
pub struct Dashboard {
    pub ctx: Arc<Context>,
    pub access: Arc<Access>,
}

pub fn router(ctx: Arc<Context>, access: Arc<Access>) -> Router {
    let shared = Arc::new(Dashboard {
        ctx,
        access: access.clone(),
    });
    let guarded = Router::new()
        .route("/dashboard", get(handlers::dashboard))
        .route("/api/v1/stats", get(handlers::stats))
        .route("/api/v1/tickets", get(handlers::tickets))
        .route_layer(middleware::from_fn_with_state(access, auth::guard));
    let open = Router::new().route(
        "/dashboard/sign-in",
        get(sign_in::form).post(sign_in::submit),
    );
    guarded.merge(open).with_state(shared)
}
