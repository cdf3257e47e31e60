//! Slow and idle clients on the HTTP edge: a connection that sends nothing, a header a byte
//! at a time, or a body that stops half way is closed after `HTTP_READ_TIMEOUT`, and nothing
//! is filed; a prompt client is served as before, also one that stops sending (half-closes)
//! once its request is out.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_TIMEOUT: Duration = Duration::from_millis(300);

async fn app_with_read_timeout() -> TestApp {
    spawn_with(Options {
        env: vec![("HTTP_READ_TIMEOUT".into(), "300ms".into())],
        ..Options::default()
    })
    .await
}

/// Reads until the server closes the connection (or 5 s pass, which fails the test);
/// returns what it sent and how long that took.
async fn read_until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    (String::from_utf8_lossy(&seen).into_owned(), since.elapsed())
}

/// The head of a correctly signed `POST /slack/commands` carrying `body`, with `extra`
/// header lines (each ending in CRLF).
fn signed_command_head(app: &TestApp, body: &str, extra: &str) -> String {
    let (ts, sig) = app.sign(body.as_bytes());
    format!(
        "POST /slack/commands HTTP/1.1\r\nhost: {}\r\ncontent-type: application/x-www-form-urlencoded\r\nx-slack-request-timestamp: {ts}\r\nx-slack-signature: {sig}\r\ncontent-length: {}\r\n{extra}\r\n",
        app.addr,
        body.len()
    )
}

/// The server closed the connection only once the read timeout had passed (less a little
/// for the clocks of the two sides).
fn assert_waited_the_read_timeout(after: Duration) {
    assert!(
        after >= READ_TIMEOUT - Duration::from_millis(50),
        "closed after {after:?}, before the read timeout"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_read_timeout() {
    let app = app_with_read_timeout().await;
    let opened = Instant::now();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let (_, after) = read_until_closed(&mut stream, opened).await;
    assert_waited_the_read_timeout(after);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_read_timeout() {
    let app = app_with_read_timeout().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let host = app.addr.to_string();
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answered = Instant::now();
    let (seen, after) = read_until_closed(&mut stream, answered).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.ends_with("ok"), "one answer, then the close: {seen}");
    assert_waited_the_read_timeout(after);
}

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    let app = app_with_read_timeout().await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /slack/commands HTTP/1.1\r\n")
        .await
        .unwrap();
    // A new header byte every 50 ms keeps the connection busy but never ends the header.
    let mut cut_off = false;
    while started.elapsed() < Duration::from_secs(5) {
        if stream.write_all(b"x").await.is_err() {
            cut_off = true;
            break;
        }
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the trickled header was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_signed_command_whose_body_stops_half_way_is_refused_and_files_nothing() {
    let app = app_with_read_timeout().await;
    let body = fixture("slash_command.form");
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = signed_command_head(&app, &body, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let sent = Instant::now();
    let (seen, after) = read_until_closed(&mut stream, sent).await;
    assert!(seen.starts_with("HTTP/1.1 4"), "a client error: {seen}");
    assert_waited_the_read_timeout(after);
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);

    // The same command sent promptly is filed.
    let answer = app
        .command_json(ALICE, "C04PLATENG", "request prompt")
        .await;
    assert!(
        answer["text"].as_str().unwrap().contains("PLAT-1"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_stop_waits_for_a_stalled_body_only_as_long_as_its_grace() {
    let mut app = spawn_with(Options {
        env: vec![("HTTP_READ_TIMEOUT".into(), "120s".into())],
        ..Options::default()
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: {}\r\ncontent-length: 100\r\n\r\nhalf",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Let the server read the head and start waiting for the body.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = Instant::now();
    app.stop().await;
    let took = stopping.elapsed();
    let grace = platform_desk::web::serve::STOP_GRACE;
    assert!(took >= grace - Duration::from_millis(500), "{took:?}");
    assert!(took < grace + Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_client_that_stops_sending_after_a_whole_command_still_gets_its_answer() {
    let app = app_with_read_timeout().await;
    let body = fixture("slash_command.form");
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = signed_command_head(&app, &body, "connection: close\r\n") + &body;
    stream.write_all(request.as_bytes()).await.unwrap();
    // Half-closed: nothing more will come, but the client still reads.
    stream.shutdown().await.unwrap();
    let (seen, _) = read_until_closed(&mut stream, Instant::now()).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("PLAT-1"), "{seen}");
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
}
