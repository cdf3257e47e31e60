//! Who may read the dashboard and the read API (CONTRACT.md, "HTTP"). With `WEB_TOKEN` set:
//! `Authorization: Bearer <token>`, or the session cookie the sign-in form sets; without it,
//! clients on the loopback interface only. Everything else gets a 401.
//!
//! The token is compared in constant time and never written to a log, an error or a cookie:
//! the cookie holds an HMAC of a fixed label keyed by the token, so it is worthless once the
//! token changes and does not give the token away if it leaks.

use crate::settings::Secret;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "platform_desk_session";

/// What the session cookie's HMAC is computed over: changing it signs everyone out.
const SESSION_LABEL: &[u8] = b"platform-desk dashboard session v1";

/// How long a browser keeps the session: a dashboard left open on a wall screen for a month.
const SESSION_MAX_AGE_S: u64 = 30 * 24 * 3600;

/// What a 401 tells a client that is not on the loopback interface while no token is set.
pub const LOOPBACK_ONLY_HINT: &str = "the dashboard and the API answer only clients on this \
machine (loopback) while WEB_TOKEN is unset: set WEB_TOKEN to reach them from elsewhere";

/// What a 401 tells a client without a valid token or session.
pub const TOKEN_NEEDED: &str =
    "send Authorization: Bearer <WEB_TOKEN>, or sign in at /dashboard/sign-in";

/// The access rule, built once from the environment.
pub struct Access {
    token: Option<Secret>,
}

/// The guard's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 401, with the reason shown to the client (never the token).
    Deny(&'static str),
}

impl Access {
    pub fn new(token: Option<Secret>) -> Self {
        // An empty token would let an empty Bearer in; `Env` already treats it as unset.
        Self {
            token: token.filter(|t| !t.expose().is_empty()),
        }
    }

    /// Whether a token protects the routes (else loopback only).
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// The decision for a request from `peer` (None when unknown: treated as remote).
    pub fn decide(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Decision {
        let Some(token) = &self.token else {
            return match peer {
                Some(peer) if is_loopback(peer.ip()) => Decision::Allow,
                _ => Decision::Deny(LOOPBACK_ONLY_HINT),
            };
        };
        if let Some(presented) = bearer(headers) {
            if same(presented.as_bytes(), token.expose().as_bytes()) {
                return Decision::Allow;
            }
        }
        let expected = session_value(token);
        if cookies(headers, COOKIE).any(|v| same(v.as_bytes(), expected.as_bytes())) {
            return Decision::Allow;
        }
        Decision::Deny(TOKEN_NEEDED)
    }

    /// Whether `presented` (from the sign-in form) is the token.
    pub fn token_matches(&self, presented: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| same(presented.as_bytes(), t.expose().as_bytes()))
    }

    /// The `Set-Cookie` value that signs a browser in (None without a token).
    pub fn session_cookie(&self, secure: bool) -> Option<HeaderValue> {
        let token = self.token.as_ref()?;
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age={SESSION_MAX_AGE_S}; HttpOnly; SameSite=Strict{secure}",
            session_value(token)
        );
        HeaderValue::from_str(&cookie).ok()
    }
}

/// The middleware in front of the dashboard and the API.
pub async fn guard(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match access.decide(peer, req.headers()) {
        Decision::Allow => next.run(req).await,
        Decision::Deny(why) => {
            tracing::debug!(path = req.uri().path(), ?peer, "access refused: {why}");
            refusal(req.uri().path(), why, access.token_required())
        }
    }
}

/// A 401: JSON for the API, a short page pointing at the sign-in form for browsers.
fn refusal(path: &str, why: &'static str, token_required: bool) -> Response {
    let mut response = if path.starts_with("/api/") {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "error": why })),
        )
            .into_response()
    } else {
        let sign_in = if token_required {
            r#"<p><a href="/dashboard/sign-in">Sign in</a></p>"#
        } else {
            ""
        };
        // Static text only: nothing from the request goes into this page.
        let page = format!(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sign in needed</title>\
             <p>{why}</p>{sign_in}</html>"
        );
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    };
    if token_required {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn is_loopback(ip: IpAddr) -> bool {
    // `::ffff:127.0.0.1` is IPv4's loopback seen through a dual-stack socket.
    ip.to_canonical().is_loopback()
}

/// Equal in constant time for equal lengths (the length alone may show).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Every value of cookie `name` in the request's `Cookie` headers.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn session_value(token: &Secret) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(token.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(SESSION_LABEL);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-web-token-value";

    fn peer(addr: &str) -> Option<SocketAddr> {
        Some(addr.parse().unwrap())
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn with_token() -> Access {
        Access::new(Some(Secret::new(TOKEN)))
    }

    #[test]
    fn without_a_token_loopback_clients_are_let_in() {
        let access = Access::new(None);
        for addr in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            assert_eq!(
                access.decide(peer(addr), &HeaderMap::new()),
                Decision::Allow,
                "{addr}"
            );
        }
    }

    #[test]
    fn without_a_token_other_clients_are_refused_with_the_hint() {
        let access = Access::new(None);
        for addr in ["10.0.0.7:5000", "[2001:db8::1]:443", "192.168.1.2:80"] {
            assert_eq!(
                access.decide(peer(addr), &HeaderMap::new()),
                Decision::Deny(LOOPBACK_ONLY_HINT),
                "{addr}"
            );
        }
        assert_eq!(
            access.decide(None, &HeaderMap::new()),
            Decision::Deny(LOOPBACK_ONLY_HINT)
        );
        assert!(LOOPBACK_ONLY_HINT.contains("WEB_TOKEN"));
    }

    #[test]
    fn with_a_token_the_bearer_lets_in_from_anywhere() {
        let access = with_token();
        let h = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))]);
        assert_eq!(access.decide(peer("10.0.0.7:1"), &h), Decision::Allow);
        let h = headers(&[(header::AUTHORIZATION, &format!("bearer  {TOKEN}"))]);
        assert_eq!(access.decide(peer("10.0.0.7:1"), &h), Decision::Allow);
    }

    #[test]
    fn with_a_token_loopback_alone_is_not_enough() {
        let access = with_token();
        assert_eq!(
            access.decide(peer("127.0.0.1:1"), &HeaderMap::new()),
            Decision::Deny(TOKEN_NEEDED)
        );
    }

    #[test]
    fn a_wrong_token_or_another_scheme_is_refused() {
        let access = with_token();
        for value in [
            "Bearer wrong".to_string(),
            format!("Bearer {TOKEN}x"),
            format!("Basic {TOKEN}"),
            TOKEN.to_string(),
            "Bearer ".to_string(),
        ] {
            let h = headers(&[(header::AUTHORIZATION, &value)]);
            assert_eq!(
                access.decide(peer("127.0.0.1:1"), &h),
                Decision::Deny(TOKEN_NEEDED),
                "{value}"
            );
        }
    }

    #[test]
    fn the_session_cookie_lets_in_and_is_not_the_token() {
        let access = with_token();
        let set = access.session_cookie(false).unwrap();
        let set = set.to_str().unwrap();
        assert!(!set.contains(TOKEN), "{set}");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(!set.contains("Secure"));
        let pair = set.split(';').next().unwrap();
        let h = headers(&[(header::COOKIE, &format!("theme=dark; {pair}"))]);
        assert_eq!(access.decide(peer("10.1.2.3:1"), &h), Decision::Allow);
        assert!(access
            .session_cookie(true)
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }

    #[test]
    fn a_cookie_made_with_another_token_or_the_token_itself_is_refused() {
        let other = Access::new(Some(Secret::new("another-token")));
        let set = other.session_cookie(false).unwrap();
        let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
        let access = with_token();
        for cookie in [pair, format!("{COOKIE}={TOKEN}")] {
            let h = headers(&[(header::COOKIE, &cookie)]);
            assert_eq!(
                access.decide(peer("127.0.0.1:1"), &h),
                Decision::Deny(TOKEN_NEEDED)
            );
        }
    }

    #[test]
    fn the_sign_in_form_matches_the_token_exactly() {
        let access = with_token();
        assert!(access.token_matches(TOKEN));
        assert!(!access.token_matches(""));
        assert!(!access.token_matches(&TOKEN[1..]));
        assert!(!Access::new(None).token_matches(""));
        assert!(!Access::new(Some(Secret::new(""))).token_required());
    }

    #[test]
    fn refusals_never_carry_the_token() {
        for why in [LOOPBACK_ONLY_HINT, TOKEN_NEEDED] {
            for path in ["/api/v1/stats", "/dashboard"] {
                let r = refusal(path, why, true);
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
                assert!(!format!("{:?}", r.headers()).contains(TOKEN));
            }
        }
    }
}
