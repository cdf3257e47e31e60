//! A minimal HTTP/1.1 keep-alive client: one connection, one request at a time, buffers
//! reused. The load generator has one core; a full client stack (reqwest, hyper's pool)
//! would spend a good part of it on itself, this spends a few microseconds per request.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    host: String,
    out: Vec<u8>,
    buf: Vec<u8>,
    body: Vec<u8>,
    closed: bool,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            out: Vec::with_capacity(2048),
            buf: Vec::with_capacity(4096),
            body: Vec::with_capacity(2048),
            closed: false,
        })
    }

    /// False once the server said `Connection: close` (or the connection broke).
    pub fn is_open(&self) -> bool {
        !self.closed
    }

    /// The body of the last answer.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Sends one request and reads its whole answer; returns the status code.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<u16> {
        self.out.clear();
        self.out.extend_from_slice(method.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(path.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        self.out.extend_from_slice(self.host.as_bytes());
        for (name, value) in headers {
            self.out.extend_from_slice(b"\r\n");
            self.out.extend_from_slice(name.as_bytes());
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(value.as_bytes());
        }
        self.out.extend_from_slice(b"\r\ncontent-length: ");
        self.out
            .extend_from_slice(body.len().to_string().as_bytes());
        self.out.extend_from_slice(b"\r\n\r\n");
        self.out.extend_from_slice(body);
        let result = self.exchange().await;
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    async fn exchange(&mut self) -> io::Result<u16> {
        self.stream.write_all(&self.out).await?;
        self.buf.clear();
        self.body.clear();
        // The head.
        let head_end = loop {
            let from = self.buf.len().saturating_sub(3);
            self.fill().await?;
            if let Some(i) = find(&self.buf[from..], b"\r\n\r\n") {
                break from + i + 4;
            }
            if self.buf.len() > 64 * 1024 {
                return Err(bad("answer head over 64 KiB"));
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no status line"))?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| bad("content-length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                self.closed |= value.eq_ignore_ascii_case("close");
            }
        }
        if chunked {
            self.read_chunked(head_end).await?;
        } else {
            let length = length.ok_or_else(|| bad("answer without a length"))?;
            while self.buf.len() < head_end + length {
                self.fill().await?;
            }
            self.body
                .extend_from_slice(&self.buf[head_end..head_end + length]);
        }
        Ok(status)
    }

    async fn read_chunked(&mut self, mut at: usize) -> io::Result<()> {
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf[at..], b"\r\n") {
                    break at + i;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[at..line_end])
                .map_err(|_| bad("chunk size"))?
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
            at = line_end + 2;
            while self.buf.len() < at + size + 2 {
                self.fill().await?;
            }
            if size == 0 {
                // No trailers from our servers: the final CRLF follows at once.
                return Ok(());
            }
            self.body.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        let len = self.buf.len();
        self.buf.resize(len + 4096, 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(len);
                return Err(e);
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
