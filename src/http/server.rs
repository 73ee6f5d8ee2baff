//! A blocking HTTP/1.1 server for prombox's long-running commands, safe to face hostile
//! clients without an async runtime.
//!
//! ```text
//!              accept ──► poller thread (poll(2) over every open connection)
//!                         reads heads and bodies as bytes arrive; limits and deadlines
//!                              │ a complete request                  ▲ kept-alive connection
//!                              ▼                                     │ (woken by a pipe)
//!                         worker pool (fixed size): handler(&Request) → Response, written
//! ```
//!
//! One poller owns every connection that is waiting for bytes, so a client that sends its
//! request slowly (slowloris) holds only a buffer and a slot among
//! [`Limits::max_connections`], never a worker; it is dropped when its request is not
//! complete within [`Limits::request_timeout`], or when it sends nothing for
//! [`Limits::idle_timeout`] between requests. Workers see only complete requests. Beyond
//! the connection limit a new connection is answered `503` at once. Memory is bounded: a
//! head larger than [`Limits::max_head`] is answered `431`, a body larger than
//! [`Limits::max_body`] `413` (before it is read, when `Content-Length` says so), and while
//! the bytes held by all connections exceed [`Limits::max_buffered`] the poller stops
//! reading until some are released. TLS (rustls) runs in the same loop.
//!
//! A response body may be streamed ([`Response::stream`]): the worker pulls it piece by
//! piece while it writes, as chunks for HTTP/1.1 (close-delimited for HTTP/1.0); a body
//! that fits in its first piece goes with a `Content-Length` like any other.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::request::{find_head_end, parse_head, Chunked, Framing, Head, HeadError};
pub use super::request::{header, Method, Version};

/// A TLS configuration that may be replaced while the server runs.
pub type SharedTls = Arc<std::sync::RwLock<Arc<rustls::ServerConfig>>>;

/// The server's bounds; every field has a safe default.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Open connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Worker threads running the handler.
    pub workers: usize,
    /// The largest request head in bytes.
    pub max_head: usize,
    /// The largest request body in bytes (after chunked decoding).
    pub max_body: u64,
    /// How long a connection may send nothing before (or between) requests.
    pub idle_timeout: Duration,
    /// How long a request may take to arrive, from its first byte to its last.
    pub request_timeout: Duration,
    /// How long writing a response may take.
    pub write_timeout: Duration,
    /// Bytes held for unfinished and queued requests, all connections together, above which
    /// the poller reads no more until some are released.
    pub max_buffered: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            workers: 8,
            max_head: 64 << 10,
            max_body: 16 << 20,
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_buffered: 256 << 20,
        }
    }
}

/// A complete request as the handler sees it.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    /// The target as sent: path and query, still percent-encoded.
    pub target: String,
    pub version: Version,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote: SocketAddr,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The target's path (before `?`), still percent-encoded.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The target's query (after `?`), still encoded; empty when absent.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
}

/// A response to write: the server adds `Content-Length` (or, for a streamed body that
/// does not fit in its first piece, `Transfer-Encoding: chunked`) and, when it closes,
/// `Connection`.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A body produced while it is written, in place of `body`.
    pub stream: Option<Stream>,
}

/// A body produced piece by piece while it is written, so a large one is never held whole:
/// each call appends the next piece (about [`STREAM_PIECE`] bytes) to the buffer and says
/// whether more follow. It runs on the worker that writes it, without any lock the handler
/// took.
pub struct Stream(pub Box<Produce>);

/// A [`Stream`]'s producer: appends the next piece, returns whether more follow.
pub type Produce = dyn FnMut(&mut Vec<u8>) -> bool + Send;

/// The size a [`Stream`] should give at each call.
pub const STREAM_PIECE: usize = 64 << 10;

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

impl Response {
    /// An empty response.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
        }
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status).body("text/plain; charset=utf-8", body.into().into_bytes())
    }

    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Response {
        self.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        self.headers
            .push(("Content-Type".into(), content_type.to_string()));
        self.body = body;
        self
    }

    /// Sets a streamed body and its `Content-Type`.
    pub fn stream(
        mut self,
        content_type: &str,
        produce: impl FnMut(&mut Vec<u8>) -> bool + Send + 'static,
    ) -> Response {
        self = self.body(content_type, Vec::new());
        self.stream = Some(Stream(Box::new(produce)));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The serialized head and body (`head_only` for `HEAD`).
    fn to_bytes(&self, close: bool, version: Version, head_only: bool) -> Vec<u8> {
        let mut out = self.head_bytes(close, version);
        if !head_only && !self.bodiless() {
            out.extend_from_slice(&self.body);
        }
        out
    }

    fn bodiless(&self) -> bool {
        self.status == 204 || self.status == 304 || self.status < 200
    }

    /// The serialized status line and headers; the body is written after them as it is, so
    /// a large one is never copied.
    fn head_bytes(&self, close: bool, version: Version) -> Vec<u8> {
        self.head_with_length(close, version, Some(self.body.len()))
    }

    /// The head with a body of `length` bytes, or (`None`) of unknown length: chunked for
    /// HTTP/1.1, delimited by the close for HTTP/1.0.
    fn head_with_length(&self, close: bool, version: Version, length: Option<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            if k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("connection") {
                continue;
            }
            let _ = write!(out, "{k}: {v}\r\n");
        }
        if !self.bodiless() {
            match length {
                Some(n) => {
                    let _ = write!(out, "Content-Length: {n}\r\n");
                }
                None if version == Version::Http11 => {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                }
                None => {}
            }
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if version == Version::Http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn wants_close(&self) -> bool {
        header(&self.headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// The reason phrase of a status code, as Go's `http.StatusText` gives it.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "",
    }
}

/// The request handler, shared by the workers.
pub type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A bound listener, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    tls: Option<SharedTls>,
}

impl Server {
    /// Binds `addr` (`127.0.0.1:9091`, `[::1]:0`, ...).
    pub fn bind(addr: &str) -> io::Result<Server> {
        Ok(Server {
            listener: TcpListener::bind(addr)?,
            tls: None,
        })
    }

    /// Serves TLS with the configuration in `cfg` as of each connection's accept (so it can be
    /// replaced while the server runs, as certificates are renewed).
    pub fn with_tls(mut self, cfg: SharedTls) -> Server {
        self.tls = Some(cfg);
        self
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the listener fails; the workers run `handler`.
    pub fn run(self, limits: Limits, handler: Arc<Handler>) -> io::Result<()> {
        self.listener.set_nonblocking(true)?;
        let (wake_rx, wake_tx) = UnixStream::pair()?;
        wake_rx.set_nonblocking(true)?;
        wake_tx.set_nonblocking(true)?;
        let wake_tx = Arc::new(wake_tx);
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (back_tx, back_rx) = mpsc::channel::<Conn>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let held = Arc::new(AtomicUsize::new(0));
        for i in 0..limits.workers.max(1) {
            let worker = Worker {
                jobs: job_rx.clone(),
                back: back_tx.clone(),
                wake: wake_tx.clone(),
                handler: handler.clone(),
                held: held.clone(),
                write_timeout: limits.write_timeout,
            };
            std::thread::Builder::new()
                .name(format!("http-worker-{i}"))
                .spawn(move || worker.run())?;
        }
        Poller {
            listener: self.listener,
            tls: self.tls,
            limits,
            conns: Vec::new(),
            wake: wake_rx,
            jobs: job_tx,
            back: back_rx,
            held,
        }
        .run()
    }
}

/// What a worker does with a connection.
enum Work {
    /// Run the handler on the request.
    Handle(Request, bool),
    /// Write this reply and close (the request was refused while it was read).
    Refuse(Response),
}

struct Job {
    conn: Conn,
    work: Work,
}

/// Where a connection is in reading its next request.
enum Phase {
    /// Between requests: nothing of the next one read yet.
    Idle,
    Head,
    Body {
        head: Head,
        body: Vec<u8>,
        chunked: Option<Chunked>,
    },
}

struct Conn {
    stream: TcpStream,
    tls: Option<Box<rustls::ServerConnection>>,
    remote: SocketAddr,
    /// Bytes read and not yet consumed by the framing.
    buf: Vec<u8>,
    /// How far `buf` has been searched for the end of the head.
    scanned: usize,
    phase: Phase,
    deadline: Instant,
}

impl Conn {
    fn held(&self) -> usize {
        self.buf.capacity()
            + match &self.phase {
                Phase::Body { body, .. } => body.capacity(),
                _ => 0,
            }
    }

    /// Writes `bytes` to the client, best effort, without blocking the poller.
    fn write_nonblocking(&mut self, bytes: &[u8]) {
        match &mut self.tls {
            Some(tls) => {
                let _ = tls.writer().write_all(bytes);
                let _ = tls.write_tls(&mut self.stream);
            }
            None => {
                let _ = self.stream.write(bytes);
            }
        }
    }
}

/// What reading did to a connection.
enum Step {
    /// Keep polling it.
    Wait,
    /// Drop it silently.
    Close,
    /// Hand it to a worker.
    Dispatch(Work),
}

struct Poller {
    listener: TcpListener,
    tls: Option<SharedTls>,
    limits: Limits,
    conns: Vec<Conn>,
    wake: UnixStream,
    jobs: mpsc::Sender<Job>,
    back: mpsc::Receiver<Conn>,
    /// Bytes of requests handed to workers and not yet released.
    held: Arc<AtomicUsize>,
}

const READ_CHUNK: usize = 64 << 10;

impl Poller {
    fn run(mut self) -> io::Result<()> {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut scratch = vec![0u8; READ_CHUNK];
        loop {
            while let Ok(mut c) = self.back.try_recv() {
                if c.stream.set_nonblocking(true).is_err() {
                    continue;
                }
                c.phase = Phase::Idle;
                c.deadline = Instant::now() + self.limits.idle_timeout;
                // A pipelined request may already be buffered.
                match advance(&mut c, &self.limits) {
                    Step::Wait => self.conns.push(c),
                    Step::Close => {}
                    Step::Dispatch(work) => self.dispatch(c, work),
                }
            }
            let buffered: usize = self.conns.iter().map(Conn::held).sum::<usize>()
                + self.held.load(Ordering::Relaxed);
            let reading = buffered <= self.limits.max_buffered;
            fds.clear();
            fds.push(pollfd(self.wake.as_raw_fd(), libc::POLLIN));
            fds.push(pollfd(self.listener.as_raw_fd(), libc::POLLIN));
            for c in &self.conns {
                let mut ev = if reading { libc::POLLIN } else { 0 };
                if c.tls.as_ref().is_some_and(|t| t.wants_write()) {
                    ev |= libc::POLLOUT;
                }
                fds.push(pollfd(c.stream.as_raw_fd(), ev));
            }
            let now = Instant::now();
            let next = self.conns.iter().map(|c| c.deadline).min();
            let timeout = next
                .map(|d| d.saturating_duration_since(now).as_millis().clamp(1, 1000) as i32)
                .unwrap_or(1000);
            // SAFETY: `fds` is a valid, initialized slice of pollfd for the whole call.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if fds[0].revents != 0 {
                while matches!((&self.wake).read(&mut scratch[..64]), Ok(n) if n > 0) {}
            }
            // Connections in reverse, so removing one leaves the others' indexes valid.
            for i in (0..self.conns.len()).rev() {
                let rev = fds[i + 2].revents;
                if rev == 0 {
                    continue;
                }
                let step = self.ready(i, rev, &mut scratch);
                match step {
                    Step::Wait => {}
                    Step::Close => {
                        self.conns.swap_remove(i);
                    }
                    Step::Dispatch(work) => {
                        let c = self.conns.swap_remove(i);
                        self.dispatch(c, work);
                    }
                }
            }
            if fds[1].revents != 0 {
                self.accept_all()?;
            }
            let now = Instant::now();
            self.conns.retain(|c| c.deadline > now);
        }
    }

    fn dispatch(&mut self, conn: Conn, work: Work) {
        if let Work::Handle(req, _) = &work {
            self.held.fetch_add(req.body.capacity(), Ordering::Relaxed);
        }
        // The workers outlive the poller; a send fails only if they all panicked.
        let _ = self.jobs.send(Job { conn, work });
    }

    fn accept_all(&mut self) -> io::Result<()> {
        loop {
            let (stream, remote) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if is_transient_accept_error(&e) => return Ok(()),
                Err(e) => return Err(e),
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            if self.conns.len() >= self.limits.max_connections {
                let mut s = &stream;
                if self.tls.is_none() {
                    let _ = s.write(
                        &Response::text(503, "too many open connections\n").to_bytes(
                            true,
                            Version::Http11,
                            false,
                        ),
                    );
                }
                continue;
            }
            let tls = match &self.tls {
                Some(cfg) => match rustls::ServerConnection::new(
                    cfg.read().unwrap_or_else(|e| e.into_inner()).clone(),
                ) {
                    Ok(t) => Some(Box::new(t)),
                    Err(_) => continue,
                },
                None => None,
            };
            self.conns.push(Conn {
                stream,
                tls,
                remote,
                buf: Vec::new(),
                scanned: 0,
                phase: Phase::Idle,
                deadline: Instant::now() + self.limits.idle_timeout,
            });
        }
    }

    /// Reads what is ready on connection `i` and advances its request.
    fn ready(&mut self, i: usize, revents: i16, scratch: &mut [u8]) -> Step {
        let c = &mut self.conns[i];
        if revents & libc::POLLOUT != 0 {
            if let Some(tls) = &mut c.tls {
                if let Err(e) = tls.write_tls(&mut c.stream) {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        return Step::Close;
                    }
                }
            }
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) == 0 {
            return Step::Wait;
        }
        let eof = match &mut c.tls {
            None => match c.stream.read(scratch) {
                Ok(0) => true,
                Ok(n) => {
                    c.buf.extend_from_slice(&scratch[..n]);
                    false
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                Err(_) => true,
            },
            Some(tls) => read_tls(tls, &mut c.stream, &mut c.buf, scratch).unwrap_or(true),
        };
        if eof {
            return Step::Close;
        }
        advance(c, &self.limits)
    }
}

/// Moves a connection's request forward with the bytes it has buffered.
fn advance(c: &mut Conn, limits: &Limits) -> Step {
    loop {
        match &mut c.phase {
            Phase::Idle => {
                if c.buf.is_empty() {
                    return Step::Wait;
                }
                c.phase = Phase::Head;
                c.deadline = Instant::now() + limits.request_timeout;
            }
            Phase::Head => {
                let Some(end) = find_head_end(&c.buf, c.scanned) else {
                    if c.buf.len() > limits.max_head {
                        return refuse(&HeadError::TooLarge(limits.max_head));
                    }
                    c.scanned = c.buf.len();
                    return Step::Wait;
                };
                if end > limits.max_head {
                    return refuse(&HeadError::TooLarge(limits.max_head));
                }
                let head = match parse_head(&c.buf[..end]) {
                    Ok(h) => h,
                    Err(e) => return refuse(&e),
                };
                c.buf.drain(..end);
                c.scanned = 0;
                let chunked = match head.framing {
                    Framing::Empty => return Step::Dispatch(request(c, head, Vec::new())),
                    Framing::Length(n) if n > limits.max_body => {
                        return Step::Dispatch(Work::Refuse(too_large(limits.max_body)))
                    }
                    Framing::Length(_) => None,
                    Framing::Chunked => Some(Chunked::default()),
                };
                if head.expects_continue() {
                    c.write_nonblocking(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let cap = match head.framing {
                    Framing::Length(n) => n.min(1 << 20) as usize,
                    _ => 0,
                };
                c.phase = Phase::Body {
                    head,
                    body: Vec::with_capacity(cap),
                    chunked,
                };
            }
            Phase::Body {
                head,
                body,
                chunked,
            } => {
                let done = match chunked {
                    None => {
                        let Framing::Length(n) = head.framing else {
                            unreachable!("only Length bodies have no chunked decoder")
                        };
                        let want = (n as usize - body.len()).min(c.buf.len());
                        body.extend_from_slice(&c.buf[..want]);
                        c.buf.drain(..want);
                        body.len() as u64 == n
                    }
                    Some(dec) => {
                        let used = match dec.feed(&c.buf, body) {
                            Ok(n) => n,
                            Err(e) => return refuse(&e),
                        };
                        c.buf.drain(..used);
                        if body.len() as u64 > limits.max_body {
                            return Step::Dispatch(Work::Refuse(too_large(limits.max_body)));
                        }
                        dec.done()
                    }
                };
                if !done {
                    return Step::Wait;
                }
                let Phase::Body { head, body, .. } = std::mem::replace(&mut c.phase, Phase::Idle)
                else {
                    unreachable!("matched above")
                };
                return Step::Dispatch(request(c, head, body));
            }
        }
    }
}

fn request(c: &Conn, head: Head, body: Vec<u8>) -> Work {
    let keep = head.keep_alive();
    Work::Handle(
        Request {
            method: head.method,
            target: head.target,
            version: head.version,
            headers: head.headers,
            body,
            remote: c.remote,
        },
        keep,
    )
}

fn refuse(e: &HeadError) -> Step {
    let status = e.status();
    Step::Dispatch(Work::Refuse(Response::text(
        status,
        format!("{status} {}: {e}\n", reason(status)),
    )))
}

/// Runs a stream's producer: whether more follow, or `None` if it panicked.
fn guarded(produce: &mut Produce, buf: &mut Vec<u8>) -> Option<bool> {
    std::panic::catch_unwind(AssertUnwindSafe(|| produce(buf))).ok()
}

/// Writes the head, the first piece and the rest of a streamed body: as chunks, or (HTTP/1.0)
/// as they are, the close ending the body. A producer that panics cuts the body short
/// without its end (no last chunk), so the client sees it incomplete.
fn write_streamed(
    out: &mut impl Write,
    head: Vec<u8>,
    first: &mut Vec<u8>,
    produce: &mut Produce,
    chunked: bool,
) -> io::Result<()> {
    out.write_all(&head)?;
    let piece = first;
    let mut more = true;
    loop {
        if !piece.is_empty() {
            if chunked {
                write!(out, "{:x}\r\n", piece.len())?;
                piece.extend_from_slice(b"\r\n");
            }
            out.write_all(piece)?;
        }
        if !more {
            break;
        }
        piece.clear();
        more = guarded(produce, piece)
            .ok_or_else(|| io::Error::other("the body's producer panicked"))?;
    }
    if chunked {
        out.write_all(b"0\r\n\r\n")?;
    }
    Ok(())
}

fn too_large(max: u64) -> Response {
    Response::text(413, format!("request body larger than {max} bytes\n"))
}

/// Reads TLS records and the plaintext they carry into `buf`; true at end of stream.
fn read_tls(
    tls: &mut rustls::ServerConnection,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    scratch: &mut [u8],
) -> io::Result<bool> {
    let mut eof = false;
    match tls.read_tls(stream) {
        Ok(0) => eof = true,
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    if let Err(e) = tls.process_new_packets() {
        let _ = tls.write_tls(stream);
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    loop {
        match tls.reader().read(scratch) {
            Ok(0) => return Ok(true),
            Ok(n) => buf.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if tls.wants_write() {
        match tls.write_tls(stream) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(eof)
}

fn pollfd(fd: i32, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Accept errors that concern one connection (or a passing shortage), not the listener.
fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    ) || e.kind() == io::ErrorKind::Interrupted
}

struct Worker {
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    back: mpsc::Sender<Conn>,
    wake: Arc<UnixStream>,
    handler: Arc<Handler>,
    held: Arc<AtomicUsize>,
    write_timeout: Duration,
}

impl Worker {
    fn run(self) {
        loop {
            let job = {
                let Ok(rx) = self.jobs.lock() else { return };
                match rx.recv() {
                    Ok(j) => j,
                    Err(_) => return,
                }
            };
            self.serve(job);
        }
    }

    fn serve(&self, job: Job) {
        let Job { mut conn, work } = job;
        let (mut resp, with_body, mut keep, version) = match work {
            Work::Handle(req, keep) => {
                let resp = std::panic::catch_unwind(AssertUnwindSafe(|| (self.handler)(&req)))
                    .unwrap_or_else(|_| Response::text(500, "internal server error\n"));
                self.held.fetch_sub(req.body.capacity(), Ordering::Relaxed);
                let keep = keep && !resp.wants_close();
                let with_body = req.method != Method::Head && !resp.bodiless();
                (resp, with_body, keep, req.version)
            }
            Work::Refuse(resp) => {
                let with_body = !resp.bodiless();
                (resp, with_body, false, Version::Http11)
            }
        };
        // A streamed body: its first piece, and whether more follow. A body that fits in
        // one piece is written with its length, as any other.
        let mut stream = resp.stream.take();
        let mut more = false;
        let mut counted = None;
        if let Some(Stream(produce)) = &mut stream {
            let mut first = Vec::with_capacity(STREAM_PIECE);
            let mut ok = guarded(produce, &mut first);
            if with_body {
                resp.body = first;
            } else {
                // HEAD: the length is counted, the bytes dropped.
                let mut n = first.len();
                while ok == Some(true) {
                    first.clear();
                    ok = guarded(produce, &mut first);
                    n += first.len();
                }
                counted = Some(n);
            }
            match ok {
                Some(m) => more = m && with_body,
                None => {
                    resp = Response::text(500, "internal server error\n");
                    counted = None;
                }
            }
            if !more {
                stream = None;
            }
        }
        let chunked = more && version == Version::Http11;
        if more && !chunked {
            keep = false;
        }
        let head = match counted {
            Some(n) => resp.head_with_length(!keep, version, Some(n)),
            None if more => resp.head_with_length(!keep, version, None),
            None => resp.head_bytes(!keep, version),
        };
        let body: &[u8] = if with_body { &resp.body } else { &[] };
        if conn.stream.set_nonblocking(false).is_err()
            || conn
                .stream
                .set_write_timeout(Some(self.write_timeout))
                .is_err()
            || conn
                .stream
                .set_read_timeout(Some(self.write_timeout))
                .is_err()
        {
            return;
        }
        let written = match &mut conn.tls {
            Some(tls) => {
                let mut s = rustls::Stream::new(&mut **tls, &mut conn.stream);
                match &mut stream {
                    Some(Stream(produce)) if more => {
                        write_streamed(&mut s, head, &mut resp.body, produce, chunked)
                            .and_then(|_| s.flush())
                    }
                    _ => s
                        .write_all(&head)
                        .and_then(|_| s.write_all(body))
                        .and_then(|_| s.flush()),
                }
            }
            None => match &mut stream {
                Some(Stream(produce)) if more => {
                    write_streamed(&mut conn.stream, head, &mut resp.body, produce, chunked)
                }
                // One write for a small reply (one packet), two for a large one (no copy).
                _ if body.len() <= 16 << 10 => {
                    let mut all = head;
                    all.extend_from_slice(body);
                    conn.stream.write_all(&all)
                }
                _ => conn
                    .stream
                    .write_all(&head)
                    .and_then(|_| conn.stream.write_all(body)),
            },
        };
        drop(resp);
        if written.is_ok() && keep {
            if self.back.send(conn).is_ok() {
                let _ = (&*self.wake).write(&[1]);
            }
            return;
        }
        if let Some(tls) = &mut conn.tls {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut conn.stream);
        }
        let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        // Let the client read the reply before the socket closes under it: drain briefly.
        let _ = conn
            .stream
            .set_read_timeout(Some(Duration::from_millis(100)));
        let mut sink = [0u8; 4096];
        let mut budget = 64 << 10;
        while budget > 0 {
            match conn.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => budget -= n.min(budget),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose `/big` streams `pieces` pieces of 10,000 bytes and `/small` one short
    /// piece; the port.
    fn start() -> u16 {
        let server = Server::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let handler: Arc<Handler> = Arc::new(|req: &Request| {
            if req.path() == "/panic" {
                let mut calls = 0;
                return Response::new(200).stream("text/plain", move |out| {
                    calls += 1;
                    assert!(calls < 2, "a producer that fails");
                    out.extend_from_slice(b"first");
                    true
                });
            }
            let mut left = if req.path() == "/big" { 50 } else { 1 };
            let piece = if left == 1 { 5 } else { 10_000 };
            Response::new(200).stream("text/plain", move |out| {
                out.extend(std::iter::repeat_n(b'a' + (left % 26) as u8, piece));
                left -= 1;
                left > 0
            })
        });
        std::thread::spawn(move || server.run(Limits::default(), handler));
        port
    }

    fn exchange(port: u16, request: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let body = raw.split_off(end + 4);
        (String::from_utf8(raw).unwrap(), body)
    }

    fn expected() -> Vec<u8> {
        (1..=50u32)
            .rev()
            .flat_map(|left| std::iter::repeat_n(b'a' + (left % 26) as u8, 10_000))
            .collect()
    }

    #[test]
    fn streamed_bodies_are_chunked_for_http_1_1() {
        let port = start();
        let (head, body) = exchange(
            port,
            "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
        assert!(!head.contains("Content-Length"), "{head}");
        let mut chunks = Chunked::default();
        let mut out = Vec::new();
        let used = chunks.feed(&body, &mut out).unwrap();
        assert!(chunks.done(), "the chunked body is not terminated");
        assert_eq!(used, body.len());
        assert_eq!(out, expected());
    }

    #[test]
    fn a_producer_that_panics_cuts_the_body_short() {
        let port = start();
        let (head, body) = exchange(
            port,
            "GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
        assert_eq!(body, b"5\r\nfirst\r\n", "no last chunk");
    }

    #[test]
    fn streamed_bodies_end_with_the_close_for_http_1_0() {
        let port = start();
        let (head, body) = exchange(port, "GET /big HTTP/1.0\r\n\r\n");
        assert!(!head.contains("Transfer-Encoding"), "{head}");
        assert!(head.contains("Connection: close\r\n"), "{head}");
        assert_eq!(body, expected());
    }

    #[test]
    fn a_streamed_body_in_one_piece_has_a_length_and_head_counts_it() {
        let port = start();
        let (head, body) = exchange(
            port,
            "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(head.contains("Content-Length: 5\r\n"), "{head}");
        assert_eq!(body, b"bbbbb");
        let (head, body) = exchange(
            port,
            "HEAD /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(head.contains("Content-Length: 500000\r\n"), "{head}");
        assert!(body.is_empty());
    }
}
