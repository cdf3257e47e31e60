//! The HTTP listener: serves the router on every accepted connection, closes connections
//! that are slow to send a request (or sit idle), and shuts down gracefully.
//!
//! `axum::serve` sets no read timeouts: a client that opens connections and sends nothing,
//! or a header a byte at a time, would hold them (and their file descriptors) for ever on an
//! endpoint that is public. The default timeout outlasts the idle timeouts of the proxies
//! that sit in front (`settings::env::DEFAULT_HTTP_READ_TIMEOUT` says why that matters).

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long a stop waits for requests still being read or answered: a body that trickles in
/// must not hold the bot's shutdown for a whole read timeout.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` turns true, then lets every connection finish
/// the request it is on and waits for them (at most `STOP_GRACE`).
///
/// A connection gets `read_timeout` to send a request's headers (hyper's timer runs from the
/// moment it waits for a request, so idle keep-alive connections close after it too), and
/// then `read_timeout` to send the body.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let (open_tx, open_rx) = watch::channel(());
    let mut http = http1::Builder::new();
    // `half_close`: a client may stop sending once its request is out and still read the
    // answer. Without it, hyper reads the connection while a handler runs, to notice a
    // client that hangs up; an end of input then dropped the request unanswered. Those
    // reads also reserved 8 KiB of read buffer per request, a new one each time since the
    // request's body still shares the old. A client that hangs up is now noticed when its
    // answer is written, and what it asked for is done.
    http.timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .half_close(true);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = crate::context::stopped(&mut stop) => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(|body| Body::new(TimedBody::new(body, read_timeout)));
            // Who is asking, for the access rule (`web::auth`): axum's `ConnectInfo`, which
            // `axum::serve` would set and this listener sets itself.
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                    return;
                }
                _ = crate::context::stopped(&mut stop) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
            drop(open);
        });
    }
    drop(listener);
    drop(open_rx);
    // Every connection task holds a receiver; all dropped means all finished.
    if tokio::time::timeout(STOP_GRACE, open_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = open_tx.receiver_count(),
            "requests still unfinished {} s after the stop; leaving them",
            STOP_GRACE.as_secs()
        );
    }
}

/// A request body that fails once `timeout` has passed since the request's headers. The
/// timer is armed only if the body is not all there when it is first read: Slack's bodies
/// arrive with their headers, and the hot path pays for no timer.
struct TimedBody {
    inner: Incoming,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::Instant::now() + timeout,
            timer: None,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err("the request body was too slow".into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
