//! A minimal blocking DNS client for `dns_sd_configs` (record types SRV, A and AAAA).
//!
//! This module owns everything between a configured DNS-SD name and its targets: reading
//! `/etc/resolv.conf` ([`ResolvConf`]), expanding the name with the search path, encoding the
//! query, talking to the nameservers (UDP with EDNS0, falling back to TCP when the reply is
//! truncated), decoding the reply without trusting a single byte of it, and turning the answer
//! records into targets with the `__meta_dns_*` labels Prometheus 3.x sets ([`lookup`]). It uses
//! std only: no async runtime, no DNS crate. Refresh intervals, target groups and relabeling belong
//! to the caller.
//!
//! The behaviour follows Prometheus's `discovery/dns` (which uses the miekg/dns Go library):
//!
//! * Candidates: a name ending in a dot is queried as is. Otherwise, when it has at least `ndots`
//!   dots it is tried as is first and then with each search domain appended; with fewer dots the
//!   search domains come first and the bare name last.
//! * Each candidate is asked of the servers in order (all servers once per round, `attempts`
//!   rounds). A reply with RCODE NOERROR or NXDOMAIN is viable; anything else (timeouts, I/O
//!   errors, malformed replies, SERVFAIL, REFUSED, ...) moves on to the next server.
//! * The first candidate answered with NOERROR ends the search, even with an empty answer.
//!   When every candidate got NXDOMAIN the result is an empty list (not an error). When some
//!   candidate got no viable answer from any server, and none succeeded, the result is an error.
//! * Every SRV, A and AAAA record in the answer section becomes a target, whatever type was
//!   asked for (MX and NS too, as Prometheus does); CNAMEs and other types are skipped, not
//!   chased.
//!
//! # Wire format
//!
//! All integers are big-endian. A message (RFC 1035 section 4.1) is a 12-byte header and four
//! sections of variable length:
//!
//! ```text
//!  bit  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
//!     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//!   0 |                      ID                       |  echoed by the server
//!   2 |QR|  OPCODE   |AA|TC|RD|RA| Z|AD|CD|   RCODE   |  TC: truncated, retry over TCP
//!   4 |                    QDCOUNT                    |  questions (1 in a query)
//!   6 |                    ANCOUNT                    |  answer records
//!   8 |                    NSCOUNT                    |  authority records
//!  10 |                    ARCOUNT                    |  additional records (EDNS0 OPT)
//!     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//!  12 | question:  NAME | TYPE (u16) | CLASS (u16)    |
//!     | record:    NAME | TYPE (u16) | CLASS (u16) | TTL (u32) | RDLENGTH (u16) | RDATA
//!     +-----------------------------------------------+
//!
//!  NAME   a sequence of labels ending in the root label:
//!           00LLLLLL then L (1..=63) bytes      one label
//!           00000000                            end of name (root)
//!           11PPPPPP PPPPPPPP                   continue at byte offset P (compression)
//!  RDATA  A: 4 address bytes       AAAA: 16 address bytes
//!         SRV: PRIORITY (u16) | WEIGHT (u16) | PORT (u16) | TARGET (NAME)
//!         CNAME, NS: NAME          MX: PREFERENCE (u16) | NAME
//!  OPT    (EDNS0, in the additional section) NAME = root | TYPE = 41 | CLASS = UDP payload size
//!         | TTL = extended RCODE (u8) VERSION (u8) FLAGS (u16) | RDLENGTH | options
//!  TCP    every message is preceded by its length as a u16.
//! ```
//!
//! Decoding never panics: a name whose labels or pointers run past the end, a pointer chain
//! longer than 126 jumps (loops), a name over 255 bytes, a record whose RDATA overruns the message
//! or does not fit its type, all give [`Error::Malformed`] with the byte offset and a reason.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// The record type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryType {
    Srv,
    A,
    Aaaa,
}

impl QueryType {
    fn code(self) -> u16 {
        match self {
            QueryType::Srv => TYPE_SRV,
            QueryType::A => TYPE_A,
            QueryType::Aaaa => TYPE_AAAA,
        }
    }
}

/// /etc/resolv.conf: nameservers (port 53 unless given), search domains, ndots, timeout, attempts.
#[derive(Clone, Debug)]
pub struct ResolvConf {
    pub servers: Vec<SocketAddr>,
    pub search: Vec<String>,
    pub ndots: usize,
    /// How long one exchange with one server may take (UDP, and again for a TCP retry).
    pub timeout: Duration,
    /// Rounds over the server list before a candidate name counts as failed.
    pub attempts: usize,
}

const RESOLV_CONF: &str = "/etc/resolv.conf";
const DEFAULT_SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

impl Default for ResolvConf {
    fn default() -> ResolvConf {
        ResolvConf {
            servers: vec![DEFAULT_SERVER],
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

impl ResolvConf {
    /// Reads /etc/resolv.conf; when it is missing or unreadable, the defaults
    /// (127.0.0.1:53, no search domains, ndots 1, timeout 5 s, 2 attempts).
    pub fn load() -> ResolvConf {
        match std::fs::read_to_string(RESOLV_CONF) {
            Ok(text) => ResolvConf::parse(&text),
            Err(_) => ResolvConf::default(),
        }
    }

    /// Parses resolv.conf(5) text the way miekg/dns does: `nameserver ADDR` appends a server,
    /// `domain D` sets the search list to D, `search D...` replaces it, and `options` reads
    /// `ndots:N` (clamped to 0..=15), `timeout:N` (seconds, clamped to 1..=30) and `attempts:N`
    /// (clamped to 1..=5, glibc's limits); a value that is not a number counts as 0 before
    /// clamping. Other lines are ignored. A token starting with
    /// `#` or `;` starts a comment. ADDR is an IP address (IPv6 may carry a `%zone`), optionally
    /// with a port (`1.2.3.4:5353`, `[::1]:5353`); host names are skipped. Without any usable
    /// nameserver the list is 127.0.0.1:53.
    pub fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf {
            servers: Vec::new(),
            ..ResolvConf::default()
        };
        for line in text.lines() {
            let fields: Vec<&str> = line
                .split_whitespace()
                .take_while(|f| !f.starts_with('#') && !f.starts_with(';'))
                .collect();
            let Some((&keyword, args)) = fields.split_first() else {
                continue;
            };
            match keyword {
                "nameserver" => {
                    if let Some(addr) = args.first().and_then(|a| parse_server(a)) {
                        conf.servers.push(addr);
                    }
                }
                "domain" => conf.search = args.first().map(|d| d.to_string()).into_iter().collect(),
                "search" => conf.search = args.iter().map(|d| d.to_string()).collect(),
                "options" => {
                    for opt in args {
                        if let Some(v) = opt.strip_prefix("ndots:") {
                            conf.ndots = go_atoi(v).clamp(0, 15) as usize;
                        } else if let Some(v) = opt.strip_prefix("timeout:") {
                            conf.timeout = Duration::from_secs(go_atoi(v).clamp(1, 30) as u64);
                        } else if let Some(v) = opt.strip_prefix("attempts:") {
                            conf.attempts = go_atoi(v).clamp(1, 5) as usize;
                        }
                    }
                }
                _ => {}
            }
        }
        if conf.servers.is_empty() {
            conf.servers.push(DEFAULT_SERVER);
        }
        conf
    }
}

/// Like Go's `strconv.Atoi` with the error ignored: an optional sign and decimal digits,
/// saturating on overflow, and 0 for anything else.
fn go_atoi(s: &str) -> i64 {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// A nameserver entry: an IP address with port 53, or an address with an explicit port.
fn parse_server(text: &str) -> Option<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    // An IPv6 address with a zone: fe80::1%eth0 or fe80::1%2.
    let (ip, zone) = text.split_once('%')?;
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope = match zone.parse::<u32>() {
        Ok(index) => index,
        Err(_) => std::fs::read_to_string(format!("/sys/class/net/{zone}/ifindex"))
            .ok()?
            .trim()
            .parse()
            .ok()?,
    };
    Some(SocketAddr::V6(std::net::SocketAddrV6::new(
        ip, 53, 0, scope,
    )))
}

/// One discovered target: address ("host:port") and its __meta_dns_* labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub address: String,
    /// Always the same five labels, sorted by name; those that do not apply to the record type
    /// are present with empty values, as in Prometheus's target groups.
    pub labels: Vec<(String, String)>,
}

/// Why a lookup (or one exchange in it) failed.
#[derive(Debug)]
pub enum Error {
    /// Sending to or receiving from a server failed.
    Io {
        server: SocketAddr,
        source: io::Error,
    },
    /// A server did not answer within the timeout.
    Timeout { server: SocketAddr, after: Duration },
    /// A reply could not be decoded; `offset` is the byte where decoding stopped.
    Malformed {
        server: Option<SocketAddr>,
        offset: usize,
        reason: &'static str,
    },
    /// A reply arrived but broke the protocol (wrong ID over TCP, truncated over TCP).
    Protocol {
        server: SocketAddr,
        reason: &'static str,
    },
    /// A server answered with an RCODE other than NOERROR and NXDOMAIN.
    Rcode { server: SocketAddr, rcode: u16 },
    /// The name cannot be put into a query.
    BadName { name: String, reason: &'static str },
    /// The configuration lists no nameserver.
    NoServers,
    /// The lookup failed: some candidate name got no viable answer from any server and no
    /// candidate got an answer. `cause` is the last failure seen, for the name `candidate`.
    Unresolved {
        name: String,
        candidate: String,
        cause: Box<Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { server, source } => write!(f, "DNS server {server}: {source}"),
            Error::Timeout { server, after } => {
                write!(f, "DNS server {server}: no reply within {after:?}")
            }
            Error::Malformed {
                server,
                offset,
                reason,
            } => {
                if let Some(server) = server {
                    write!(f, "DNS server {server}: ")?;
                }
                write!(f, "malformed DNS reply at byte {offset}: {reason}")
            }
            Error::Protocol { server, reason } => write!(f, "DNS server {server}: {reason}"),
            Error::Rcode { server, rcode } => {
                write!(
                    f,
                    "DNS server {server} answered {} (rcode {rcode})",
                    rcode_name(*rcode)
                )
            }
            Error::BadName { name, reason } => write!(f, "invalid DNS name {name:?}: {reason}"),
            Error::NoServers => f.write_str("no DNS servers configured"),
            Error::Unresolved {
                name,
                candidate,
                cause,
            } => write!(
                f,
                "could not resolve {name:?}: all servers responded with errors to at least one \
                 search domain (last error, for {candidate}: {cause})"
            ),
        }
    }
}

/// Display already includes any underlying error, so `source` reports none (no double printing
/// in error chains).
impl std::error::Error for Error {}

fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        RCODE_NOERROR => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        RCODE_NXDOMAIN => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        16 => "BADVERS",
        _ => "an error",
    }
}

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const TYPE_SRV: u16 = 33;
const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;
const RCODE_NOERROR: u16 = 0;
const RCODE_NXDOMAIN: u16 = 3;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
/// The EDNS0 UDP payload size advertised (miekg/dns's DefaultMsgSize).
const EDNS_UDP_SIZE: u16 = 4096;
/// At most this many compression pointers are followed in one name (as miekg/dns).
const MAX_POINTERS: usize = 126;
/// Longest name on the wire, in octets.
const MAX_NAME_WIRE: usize = 255;

const LABEL_NAME: &str = "__meta_dns_name";
const LABEL_SRV_TARGET: &str = "__meta_dns_srv_record_target";
const LABEL_SRV_PORT: &str = "__meta_dns_srv_record_port";
const LABEL_MX_TARGET: &str = "__meta_dns_mx_record_target";
const LABEL_NS_TARGET: &str = "__meta_dns_ns_record_target";

/// The targets for one configured name (port used for A/AAAA only).
///
/// `Ok(vec![])` when the name exists without records of the type, or when every candidate name
/// is NXDOMAIN. Blocks for at most candidates × servers × attempts × timeout (twice the timeout
/// for exchanges that fall back to TCP).
pub fn lookup(
    conf: &ResolvConf,
    name: &str,
    qtype: QueryType,
    port: u16,
) -> Result<Vec<Found>, Error> {
    let mut failure = None;
    for candidate in candidates(conf, name) {
        match ask_any_server(conf, &candidate, qtype) {
            Ok(reply) if reply.rcode == RCODE_NOERROR => {
                return Ok(targets(&reply.answers, name, port));
            }
            Ok(_) => {} // NXDOMAIN: try the next candidate.
            Err(e) => failure = Some((candidate, e)),
        }
    }
    match failure {
        None => Ok(Vec::new()),
        Some((candidate, cause)) => Err(Error::Unresolved {
            name: name.to_string(),
            candidate,
            cause: Box::new(cause),
        }),
    }
}

/// The names to query for `name`, in order, each ending in a dot (miekg's `NameList`).
fn candidates(conf: &ResolvConf, name: &str) -> Vec<String> {
    if is_fqdn(name) {
        return vec![name.to_string()];
    }
    let as_is_first = label_count(name) > conf.ndots;
    let fqdn = format!("{name}.");
    let mut names = Vec::with_capacity(conf.search.len() + 1);
    if as_is_first {
        names.push(fqdn.clone());
    }
    for domain in &conf.search {
        let joined = format!("{fqdn}{domain}");
        names.push(if is_fqdn(&joined) {
            joined
        } else {
            joined + "."
        });
    }
    if !as_is_first {
        names.push(fqdn);
    }
    names
}

/// Whether the presentation-format name ends in an unescaped dot.
fn is_fqdn(name: &str) -> bool {
    let Some(rest) = name.strip_suffix('.') else {
        return false;
    };
    let backslashes = rest.bytes().rev().take_while(|&b| b == b'\\').count();
    backslashes % 2 == 0
}

/// Labels in a presentation-format name that does not end in a dot: unescaped dots plus one.
fn label_count(name: &str) -> usize {
    if name == "." {
        return 0;
    }
    let bytes = name.as_bytes();
    let (mut i, mut dots) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'.' => dots += 1,
            _ => {}
        }
        i += 1;
    }
    dots + 1
}

/// Asks the servers in order, `attempts` rounds, for a viable reply (NOERROR or NXDOMAIN).
fn ask_any_server(conf: &ResolvConf, name: &str, qtype: QueryType) -> Result<Reply, Error> {
    let qname = encode_name(name)?;
    let mut last = Error::NoServers;
    for _ in 0..conf.attempts.max(1) {
        for &server in &conf.servers {
            match ask_server(server, &qname, qtype, conf.timeout) {
                Ok(reply) if reply.rcode == RCODE_NOERROR || reply.rcode == RCODE_NXDOMAIN => {
                    return Ok(reply);
                }
                Ok(reply) => {
                    last = Error::Rcode {
                        server,
                        rcode: reply.rcode,
                    }
                }
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

/// One question to one server: UDP with EDNS0, then TCP without it if the reply is truncated.
fn ask_server(
    server: SocketAddr,
    qname: &[u8],
    qtype: QueryType,
    timeout: Duration,
) -> Result<Reply, Error> {
    let id = random_id();
    let query = encode_query(id, qname, qtype.code(), true);
    let reply = exchange_udp(server, &query, id, timeout)?;
    if !reply.truncated {
        return Ok(reply);
    }
    let id = random_id();
    let query = encode_query(id, qname, qtype.code(), false);
    let reply = exchange_tcp(server, &query, id, timeout)?;
    if reply.truncated {
        return Err(Error::Protocol {
            server,
            reason: "got truncated message on TCP (64kiB limit exceeded?)",
        });
    }
    Ok(reply)
}

fn random_id() -> u16 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish() as u16
}

fn io_error(server: SocketAddr, timeout: Duration, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout {
            server,
            after: timeout,
        },
        _ => Error::Io { server, source: e },
    }
}

/// Now plus `timeout`, for any `timeout` (an absurd one is cut to an hour).
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout.min(Duration::from_secs(3600)))
        .unwrap_or(now)
}

/// The time left before `deadline`, or a timeout error.
fn remaining(deadline: Instant, server: SocketAddr, timeout: Duration) -> Result<Duration, Error> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(Error::Timeout {
            server,
            after: timeout,
        }),
    }
}

fn exchange_udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Reply, Error> {
    let deadline = deadline_after(timeout);
    let io_err = |e| io_error(server, timeout, e);
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(io_err)?;
    // Connecting makes the kernel drop datagrams from any other address.
    socket.connect(server).map_err(io_err)?;
    socket
        .set_write_timeout(Some(remaining(deadline, server, timeout)?))
        .map_err(io_err)?;
    socket.send(query).map_err(io_err)?;
    let mut buf = vec![0u8; 65535];
    loop {
        socket
            .set_read_timeout(Some(remaining(deadline, server, timeout)?))
            .map_err(io_err)?;
        let n = socket.recv(&mut buf).map_err(io_err)?;
        let datagram = &buf[..n];
        // A reply to some earlier query (or junk): keep waiting, as miekg/dns does.
        if n < 2 || u16::from_be_bytes([datagram[0], datagram[1]]) != id {
            continue;
        }
        return parse_reply(datagram).or_else(|e| match e {
            // The TC bit is all that matters in a truncated reply; the TCP retry reads the rest.
            Error::Malformed { .. } if n >= 4 && datagram[2] & 0x02 != 0 => Ok(Reply {
                rcode: RCODE_NOERROR,
                truncated: true,
                answers: Vec::new(),
            }),
            Error::Malformed { offset, reason, .. } => Err(Error::Malformed {
                server: Some(server),
                offset,
                reason,
            }),
            other => Err(other),
        });
    }
}

fn exchange_tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Reply, Error> {
    let deadline = deadline_after(timeout);
    let io_err = |e| io_error(server, timeout, e);
    let mut stream = TcpStream::connect_timeout(&server, remaining(deadline, server, timeout)?)
        .map_err(io_err)?;
    // Nagle would hold back the second half of a split write; send length and query together.
    let _ = stream.set_nodelay(true);
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(query);
    stream
        .set_write_timeout(Some(remaining(deadline, server, timeout)?))
        .map_err(io_err)?;
    stream.write_all(&framed).map_err(io_err)?;
    let mut len = [0u8; 2];
    read_full(&mut stream, &mut len, deadline, server, timeout)?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read_full(&mut stream, &mut reply, deadline, server, timeout)?;
    if reply.len() >= 2 && u16::from_be_bytes([reply[0], reply[1]]) != id {
        return Err(Error::Protocol {
            server,
            reason: "reply ID does not match the query",
        });
    }
    parse_reply(&reply).map_err(|e| match e {
        Error::Malformed { offset, reason, .. } => Error::Malformed {
            server: Some(server),
            offset,
            reason,
        },
        other => other,
    })
}

fn read_full(
    stream: &mut TcpStream,
    mut buf: &mut [u8],
    deadline: Instant,
    server: SocketAddr,
    timeout: Duration,
) -> Result<(), Error> {
    while !buf.is_empty() {
        stream
            .set_read_timeout(Some(remaining(deadline, server, timeout)?))
            .map_err(|e| io_error(server, timeout, e))?;
        match stream.read(buf) {
            Ok(0) => {
                return Err(Error::Io {
                    server,
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before the whole reply arrived",
                    ),
                })
            }
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(server, timeout, e)),
        }
    }
    Ok(())
}

/// Encodes a presentation-format name ending in a dot (`\X` and `\DDD` escapes allowed) as
/// wire-format labels.
fn encode_name(name: &str) -> Result<Vec<u8>, Error> {
    let bad = |reason| Error::BadName {
        name: name.to_string(),
        reason,
    };
    let mut wire = Vec::with_capacity(name.len() + 1);
    if name != "." {
        let bytes = name.as_bytes();
        let mut label: Vec<u8> = Vec::with_capacity(63);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            match b {
                b'.' => {
                    if label.is_empty() {
                        return Err(bad("empty label"));
                    }
                    if label.len() > 63 {
                        return Err(bad("label longer than 63 bytes"));
                    }
                    wire.push(label.len() as u8);
                    wire.append(&mut label);
                }
                b'\\' => {
                    let digits = bytes
                        .get(i..i + 3)
                        .filter(|d| d.iter().all(u8::is_ascii_digit));
                    if let Some(d) = digits {
                        let value = d.iter().fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
                        label.push(u8::try_from(value).map_err(|_| bad("escape above \\255"))?);
                        i += 3;
                    } else if let Some(&c) = bytes.get(i) {
                        label.push(c);
                        i += 1;
                    } else {
                        return Err(bad("trailing backslash"));
                    }
                }
                _ => label.push(b),
            }
        }
        if !label.is_empty() {
            return Err(bad("name does not end in a dot"));
        }
    }
    wire.push(0);
    if wire.len() > MAX_NAME_WIRE {
        return Err(bad("name longer than 255 bytes"));
    }
    Ok(wire)
}

/// A query: header with RD set, one question of class IN, and optionally an EDNS0 OPT record.
fn encode_query(id: u16, qname: &[u8], qtype: u16, edns: bool) -> Vec<u8> {
    let mut msg = Vec::with_capacity(12 + qname.len() + 4 + 11);
    for field in [id, FLAG_RD, 1, 0, 0, u16::from(edns)] {
        msg.extend_from_slice(&field.to_be_bytes());
    }
    msg.extend_from_slice(qname);
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&CLASS_IN.to_be_bytes());
    if edns {
        msg.push(0); // root name
        msg.extend_from_slice(&TYPE_OPT.to_be_bytes());
        msg.extend_from_slice(&EDNS_UDP_SIZE.to_be_bytes());
        msg.extend_from_slice(&0u32.to_be_bytes()); // extended rcode, version, flags
        msg.extend_from_slice(&0u16.to_be_bytes()); // no options
    }
    msg
}

/// What a reply says, as far as discovery cares.
#[derive(Debug)]
struct Reply {
    /// Header RCODE combined with the EDNS0 extended RCODE.
    rcode: u16,
    truncated: bool,
    answers: Vec<Answer>,
}

/// The RDATA of an answer record.
#[derive(Debug, PartialEq)]
enum Answer {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Srv {
        port: u16,
        target: String,
    },
    Mx(String),
    Ns(String),
    /// CNAME and every other type: skipped when building targets.
    Other,
}

fn malformed(offset: usize, reason: &'static str) -> Error {
    Error::Malformed {
        server: None,
        offset,
        reason,
    }
}

fn read_u16(msg: &[u8], off: usize, what: &'static str) -> Result<u16, Error> {
    match msg.get(off..off + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(malformed(off, what)),
    }
}

/// Decodes the name at `start`; returns it in presentation format (ending in a dot, special
/// bytes escaped as miekg/dns does) and the offset just past it where it started.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), Error> {
    let mut name = String::new();
    let mut off = start;
    let mut end = None; // offset after the first pointer, once one is followed
    let mut pointers = 0;
    let mut wire_len = 0;
    loop {
        let Some(&len) = msg.get(off) else {
            return Err(malformed(off, "name runs past the end of the message"));
        };
        match len & 0xC0 {
            0x00 if len == 0 => {
                off += 1;
                break;
            }
            0x00 => {
                let len = usize::from(len);
                let Some(label) = msg.get(off + 1..off + 1 + len) else {
                    return Err(malformed(off, "label runs past the end of the message"));
                };
                wire_len += len + 1;
                if wire_len >= MAX_NAME_WIRE {
                    return Err(malformed(off, "name longer than 255 bytes"));
                }
                for &b in label {
                    match b {
                        b'.' | b' ' | b'\'' | b'@' | b';' | b'(' | b')' | b'"' | b'\\' => {
                            name.push('\\');
                            name.push(char::from(b));
                        }
                        0x20..=0x7E => name.push(char::from(b)),
                        _ => name.push_str(&format!("\\{b:03}")),
                    }
                }
                name.push('.');
                off += 1 + len;
            }
            0xC0 => {
                let Some(&low) = msg.get(off + 1) else {
                    return Err(malformed(off, "compression pointer cut short"));
                };
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(malformed(off, "too many compression pointers (loop?)"));
                }
                let target = usize::from(len & 0x3F) << 8 | usize::from(low);
                if target >= msg.len() {
                    return Err(malformed(off, "compression pointer out of range"));
                }
                end.get_or_insert(off + 2);
                off = target;
            }
            _ => return Err(malformed(off, "reserved label type")),
        }
    }
    if name.is_empty() {
        name.push('.');
    }
    Ok((name, end.unwrap_or(off)))
}

/// Decodes a whole reply. Like miekg/dns, header counts larger than what the message holds are
/// tolerated when the message ends cleanly between records; anything cut inside a record is an
/// error. Authority and additional records are checked but only OPT (extended RCODE) is used.
fn parse_reply(msg: &[u8]) -> Result<Reply, Error> {
    if msg.len() < 12 {
        return Err(malformed(
            msg.len(),
            "reply shorter than the 12-byte header",
        ));
    }
    let flags = read_u16(msg, 2, "header")?;
    let count = |i: usize| usize::from(u16::from_be_bytes([msg[4 + 2 * i], msg[5 + 2 * i]]));
    let (qdcount, ancount, nscount, arcount) = (count(0), count(1), count(2), count(3));
    let mut reply = Reply {
        rcode: flags & 0x000F,
        truncated: flags & FLAG_TC != 0,
        answers: Vec::new(),
    };
    let mut off = 12;
    for _ in 0..qdcount {
        if off == msg.len() {
            return Ok(reply);
        }
        let (_, after) = read_name(msg, off)?;
        off = after;
        if off == msg.len() {
            return Ok(reply);
        }
        if msg.len() - off < 4 {
            return Err(malformed(off, "question type and class cut short"));
        }
        off += 4;
    }
    let mut extended_rcode = None;
    for section in 0..3 {
        let records = [ancount, nscount, arcount][section];
        for _ in 0..records {
            if off == msg.len() {
                break;
            }
            let (_, after) = read_name(msg, off)?;
            let Some(fixed) = msg.get(after..after + 10) else {
                return Err(malformed(after, "record header cut short"));
            };
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata_start = after + 10;
            let rdata_end = rdata_start + rdlength;
            if rdata_end > msg.len() {
                return Err(malformed(
                    after + 8,
                    "record data runs past the end of the message",
                ));
            }
            off = rdata_end;
            if section == 2 && rtype == TYPE_OPT {
                extended_rcode = Some((ttl >> 24) as u16);
            }
            // Records without data carry nothing usable (miekg/dns would yield empty values).
            if section != 0 || rdlength == 0 {
                continue;
            }
            // Names inside RDATA may not point past it, as in miekg/dns.
            let bounded = &msg[..rdata_end];
            let name_at = |at: usize| -> Result<String, Error> {
                let (name, after) = read_name(bounded, at)?;
                if after != rdata_end {
                    return Err(malformed(after, "record data longer than its contents"));
                }
                Ok(name)
            };
            let rdata = &msg[rdata_start..rdata_end];
            let answer = match rtype {
                TYPE_A => Answer::A(Ipv4Addr::from(
                    <[u8; 4]>::try_from(rdata)
                        .map_err(|_| malformed(rdata_start, "A record data is not 4 bytes"))?,
                )),
                TYPE_AAAA => Answer::Aaaa(Ipv6Addr::from(
                    <[u8; 16]>::try_from(rdata)
                        .map_err(|_| malformed(rdata_start, "AAAA record data is not 16 bytes"))?,
                )),
                TYPE_SRV => {
                    if rdlength < 7 {
                        return Err(malformed(rdata_start, "SRV record data cut short"));
                    }
                    let port = read_u16(bounded, rdata_start + 4, "SRV port")?;
                    let target = name_at(rdata_start + 6)?;
                    Answer::Srv { port, target }
                }
                TYPE_MX => {
                    if rdlength < 3 {
                        return Err(malformed(rdata_start, "MX record data cut short"));
                    }
                    Answer::Mx(name_at(rdata_start + 2)?)
                }
                TYPE_NS => Answer::Ns(name_at(rdata_start)?),
                TYPE_CNAME => {
                    name_at(rdata_start)?;
                    Answer::Other
                }
                _ => Answer::Other,
            };
            reply.answers.push(answer);
        }
    }
    if let Some(ext) = extended_rcode {
        reply.rcode |= ext << 4;
    }
    Ok(reply)
}

/// `host:port`, with brackets when the host contains a colon (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The targets for the answer records, in answer order, as Prometheus's `refreshOne` builds them.
fn targets(answers: &[Answer], name: &str, port: u16) -> Vec<Found> {
    let mut found = Vec::new();
    for answer in answers {
        let (mut srv_target, mut srv_port, mut mx_target, mut ns_target) =
            (String::new(), String::new(), String::new(), String::new());
        let address = match answer {
            Answer::Srv { port: srv, target } => {
                srv_target = target.clone();
                srv_port = srv.to_string();
                join_host_port(target.trim_end_matches('.'), *srv)
            }
            Answer::Mx(host) => {
                mx_target = host.clone();
                join_host_port(host.trim_end_matches('.'), port)
            }
            Answer::Ns(host) => {
                ns_target = host.clone();
                join_host_port(host.trim_end_matches('.'), port)
            }
            Answer::A(ip) => join_host_port(&ip.to_string(), port),
            // Go prints an IPv4-mapped IPv6 address in dotted form.
            Answer::Aaaa(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => join_host_port(&v4.to_string(), port),
                None => join_host_port(&ip.to_string(), port),
            },
            Answer::Other => continue,
        };
        let labels = [
            (LABEL_MX_TARGET, mx_target),
            (LABEL_NAME, name.to_string()),
            (LABEL_NS_TARGET, ns_target),
            (LABEL_SRV_PORT, srv_port),
            (LABEL_SRV_TARGET, srv_target),
        ];
        found.push(Found {
            address,
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    const FLAG_QR: u16 = 0x8000;

    // ---- Building replies -------------------------------------------------------------------

    /// A query as the test server saw it.
    #[derive(Clone, Debug)]
    struct Seen {
        id: u16,
        name: String,
        qtype: u16,
        tcp: bool,
        /// ARCOUNT of the query (1 when it carries EDNS0).
        arcount: u16,
    }

    fn wire_name(name: &str) -> Vec<u8> {
        encode_name(name).unwrap()
    }

    fn rr(name: &[u8], rtype: u16, rdata: &[u8]) -> Vec<u8> {
        let mut out = name.to_vec();
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&300u32.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
        out
    }

    fn srv(owner: &str, port: u16, target: &str) -> Vec<u8> {
        let mut rdata = vec![0, 10, 0, 5];
        rdata.extend_from_slice(&port.to_be_bytes());
        rdata.extend_from_slice(&wire_name(target));
        rr(&wire_name(owner), TYPE_SRV, &rdata)
    }

    fn a(owner: &str, ip: [u8; 4]) -> Vec<u8> {
        rr(&wire_name(owner), TYPE_A, &ip)
    }

    fn aaaa(owner: &str, ip: Ipv6Addr) -> Vec<u8> {
        rr(&wire_name(owner), TYPE_AAAA, &ip.octets())
    }

    fn cname(owner: &str, target: &str) -> Vec<u8> {
        rr(&wire_name(owner), TYPE_CNAME, &wire_name(target))
    }

    /// A reply to `q`: header, the question echoed, then the given answer records.
    fn reply(q: &Seen, rcode: u16, truncated: bool, answers: &[Vec<u8>]) -> Vec<u8> {
        let flags = FLAG_QR | FLAG_RD | 0x0080 | rcode | if truncated { FLAG_TC } else { 0 };
        let mut msg = Vec::new();
        for field in [q.id, flags, 1, answers.len() as u16, 0, 0] {
            msg.extend_from_slice(&field.to_be_bytes());
        }
        msg.extend_from_slice(&wire_name(&q.name));
        msg.extend_from_slice(&q.qtype.to_be_bytes());
        msg.extend_from_slice(&CLASS_IN.to_be_bytes());
        for answer in answers {
            msg.extend_from_slice(answer);
        }
        msg
    }

    /// Decodes a query the way a server would (test side, trusting our own encoder).
    fn decode_query(msg: &[u8], tcp: bool) -> Seen {
        let (name, after) = read_name(msg, 12).unwrap();
        Seen {
            id: u16::from_be_bytes([msg[0], msg[1]]),
            name,
            qtype: u16::from_be_bytes([msg[after], msg[after + 1]]),
            tcp,
            arcount: u16::from_be_bytes([msg[10], msg[11]]),
        }
    }

    // ---- The test server --------------------------------------------------------------------

    /// Replies to send for a query: zero or more datagrams (over TCP only the first is sent).
    type Handler = dyn Fn(&Seen) -> Vec<Vec<u8>> + Send + Sync;

    /// A DNS server on 127.0.0.1 answering UDP and TCP on the same random port from a handler.
    struct TestServer {
        addr: SocketAddr,
        seen: Arc<Mutex<Vec<Seen>>>,
        stop: Arc<AtomicBool>,
        threads: Vec<JoinHandle<()>>,
    }

    impl TestServer {
        fn start(handler: impl Fn(&Seen) -> Vec<Vec<u8>> + Send + Sync + 'static) -> TestServer {
            let handler: Arc<Handler> = Arc::new(handler);
            let (udp, tcp) = loop {
                let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
                if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                    break (udp, tcp);
                }
            };
            let addr = udp.local_addr().unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            udp.set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            tcp.set_nonblocking(true).unwrap();
            let udp_thread = {
                let (handler, seen, stop) = (handler.clone(), seen.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((n, peer)) = udp.recv_from(&mut buf) else {
                            continue;
                        };
                        let q = decode_query(&buf[..n], false);
                        seen.lock().unwrap().push(q.clone());
                        for datagram in handler(&q) {
                            udp.send_to(&datagram, peer).unwrap();
                        }
                    }
                })
            };
            let tcp_thread = {
                let (handler, seen, stop) = (handler, seen.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((mut conn, _)) = tcp.accept() else {
                            std::thread::sleep(Duration::from_millis(10));
                            continue;
                        };
                        conn.set_nonblocking(false).unwrap();
                        let mut len = [0u8; 2];
                        conn.read_exact(&mut len).unwrap();
                        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                        conn.read_exact(&mut msg).unwrap();
                        let q = decode_query(&msg, true);
                        seen.lock().unwrap().push(q.clone());
                        if let Some(answer) = handler(&q).into_iter().next() {
                            conn.write_all(&(answer.len() as u16).to_be_bytes())
                                .unwrap();
                            conn.write_all(&answer).unwrap();
                        }
                    }
                })
            };
            TestServer {
                addr,
                seen,
                stop,
                threads: vec![udp_thread, tcp_thread],
            }
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }

        fn names_seen(&self) -> Vec<String> {
            self.seen().into_iter().map(|s| s.name).collect()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            for thread in self.threads.drain(..) {
                let _ = thread.join();
            }
        }
    }

    fn conf(servers: &[SocketAddr]) -> ResolvConf {
        ResolvConf {
            servers: servers.to_vec(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(2),
            attempts: 1,
        }
    }

    fn labels(name: &str, srv_target: &str, srv_port: &str) -> Vec<(String, String)> {
        [
            (LABEL_MX_TARGET, ""),
            (LABEL_NAME, name),
            (LABEL_NS_TARGET, ""),
            (LABEL_SRV_PORT, srv_port),
            (LABEL_SRV_TARGET, srv_target),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn found(address: &str, labels: Vec<(String, String)>) -> Found {
        Found {
            address: address.to_string(),
            labels,
        }
    }

    // ---- Lookups against the test server ----------------------------------------------------

    #[test]
    fn srv_two_answers() {
        let server = TestServer::start(|q| {
            vec![reply(
                q,
                RCODE_NOERROR,
                false,
                &[
                    srv(&q.name, 3306, "db1.example.com."),
                    srv(&q.name, 3307, "db2.example.com."),
                ],
            )]
        });
        let name = "_mysql._tcp.db.example.com.";
        let got = lookup(&conf(&[server.addr]), name, QueryType::Srv, 0).unwrap();
        assert_eq!(
            got,
            vec![
                found(
                    "db1.example.com:3306",
                    labels(name, "db1.example.com.", "3306")
                ),
                found(
                    "db2.example.com:3307",
                    labels(name, "db2.example.com.", "3307")
                ),
            ]
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].qtype, TYPE_SRV);
        assert!(!seen[0].tcp);
        assert_eq!(seen[0].arcount, 1, "UDP queries carry an EDNS0 OPT record");
    }

    #[test]
    fn srv_with_compressed_names() {
        // Owner names point at the question (offset 12); the second target is "db2" followed by
        // a pointer to "example.com." inside the first target.
        let server = TestServer::start(|q| {
            let mut msg = reply(q, RCODE_NOERROR, false, &[]);
            msg[7] = 2; // ANCOUNT
            let first = srv("x.", 9090, "db1.example.com.");
            let mut first = first[3..].to_vec(); // drop the owner "x." (3 bytes) ...
            first.splice(0..0, [0xC0, 12]); // ... and point at the question name instead
            let example_at = msg.len() + 2 + 10 + 6 + 4; // "example" label inside db1's target
            msg.extend_from_slice(&first);
            let mut rdata = vec![0, 1, 0, 1, 0x23, 0x82, 3, b'd', b'b', b'2'];
            rdata.extend_from_slice(&[0xC0 | (example_at >> 8) as u8, example_at as u8]);
            msg.extend_from_slice(&rr(&[0xC0, 12], TYPE_SRV, &rdata));
            vec![msg]
        });
        let got = lookup(&conf(&[server.addr]), "svc.", QueryType::Srv, 0).unwrap();
        let addresses: Vec<_> = got.iter().map(|f| f.address.as_str()).collect();
        assert_eq!(addresses, ["db1.example.com:9090", "db2.example.com:9090"]);
    }

    #[test]
    fn a_records_skip_cname() {
        let server = TestServer::start(|q| {
            vec![reply(
                q,
                RCODE_NOERROR,
                false,
                &[
                    cname(&q.name, "real.example.com."),
                    a("real.example.com.", [192, 0, 2, 1]),
                    a("real.example.com.", [192, 0, 2, 2]),
                ],
            )]
        });
        let name = "web.example.com";
        let got = lookup(&conf(&[server.addr]), name, QueryType::A, 9100).unwrap();
        assert_eq!(
            got,
            vec![
                found("192.0.2.1:9100", labels(name, "", "")),
                found("192.0.2.2:9100", labels(name, "", "")),
            ]
        );
        assert_eq!(server.seen()[0].qtype, TYPE_A);
        assert_eq!(server.names_seen(), ["web.example.com."]);
    }

    #[test]
    fn aaaa_records() {
        let server = TestServer::start(|q| {
            vec![reply(
                q,
                RCODE_NOERROR,
                false,
                &[
                    aaaa(&q.name, Ipv6Addr::LOCALHOST),
                    aaaa(&q.name, "2001:db8::1".parse().unwrap()),
                    aaaa(&q.name, "::ffff:192.0.2.7".parse().unwrap()),
                ],
            )]
        });
        let got = lookup(&conf(&[server.addr]), "v6.test.", QueryType::Aaaa, 80).unwrap();
        let addresses: Vec<_> = got.iter().map(|f| f.address.as_str()).collect();
        assert_eq!(addresses, ["[::1]:80", "[2001:db8::1]:80", "192.0.2.7:80"]);
        assert_eq!(got[0].labels, labels("v6.test.", "", ""));
        assert_eq!(server.seen()[0].qtype, TYPE_AAAA);
    }

    #[test]
    fn search_path_expansion() {
        let server = TestServer::start(|q| {
            if q.name == "web.b.test." {
                vec![reply(q, RCODE_NOERROR, false, &[a(&q.name, [10, 0, 0, 1])])]
            } else {
                vec![reply(q, RCODE_NXDOMAIN, false, &[])]
            }
        });
        let mut conf = conf(&[server.addr]);
        conf.search = vec!["a.test".into(), "b.test.".into(), "c.test".into()];
        // Fewer dots than ndots: the search domains first; stops at the first NOERROR.
        let got = lookup(&conf, "web", QueryType::A, 80).unwrap();
        assert_eq!(got, vec![found("10.0.0.1:80", labels("web", "", ""))]);
        assert_eq!(server.names_seen(), ["web.a.test.", "web.b.test."]);
    }

    #[test]
    fn search_path_ndots_tries_name_first() {
        let server = TestServer::start(|q| vec![reply(q, RCODE_NXDOMAIN, false, &[])]);
        let mut conf = conf(&[server.addr]);
        conf.search = vec!["a.test".into()];
        assert_eq!(lookup(&conf, "web.svc", QueryType::A, 80).unwrap(), []);
        assert_eq!(server.names_seen(), ["web.svc.", "web.svc.a.test."]);
    }

    #[test]
    fn nxdomain_everywhere_is_empty() {
        let server = TestServer::start(|q| vec![reply(q, RCODE_NXDOMAIN, false, &[])]);
        let mut conf = conf(&[server.addr]);
        conf.search = vec!["a.test".into(), "b.test".into()];
        let got = lookup(&conf, "nothing", QueryType::Srv, 0).unwrap();
        assert!(got.is_empty());
        assert_eq!(
            server.names_seen(),
            ["nothing.a.test.", "nothing.b.test.", "nothing."]
        );
    }

    #[test]
    fn nodata_ends_the_search() {
        let server = TestServer::start(|q| vec![reply(q, RCODE_NOERROR, false, &[])]);
        let mut conf = conf(&[server.addr]);
        conf.search = vec!["a.test".into(), "b.test".into()];
        assert!(lookup(&conf, "web", QueryType::A, 80).unwrap().is_empty());
        assert_eq!(server.names_seen(), ["web.a.test."]);
    }

    #[test]
    fn truncated_reply_retries_over_tcp() {
        let server = TestServer::start(|q| {
            if q.tcp {
                let answers: Vec<_> = (1..=3)
                    .map(|i| srv(&q.name, 8000 + i, &format!("n{i}.test.")))
                    .collect();
                vec![reply(q, RCODE_NOERROR, false, &answers)]
            } else {
                vec![reply(q, RCODE_NOERROR, true, &[])]
            }
        });
        let got = lookup(&conf(&[server.addr]), "_x._tcp.test.", QueryType::Srv, 0).unwrap();
        let addresses: Vec<_> = got.iter().map(|f| f.address.as_str()).collect();
        assert_eq!(addresses, ["n1.test:8001", "n2.test:8002", "n3.test:8003"]);
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert!(!seen[0].tcp && seen[1].tcp);
        assert_eq!(seen[1].arcount, 0, "the TCP retry goes without EDNS0");
    }

    #[test]
    fn truncated_over_tcp_is_an_error() {
        let server = TestServer::start(|q| vec![reply(q, RCODE_NOERROR, true, &[])]);
        let err = lookup(&conf(&[server.addr]), "big.test.", QueryType::Srv, 0).unwrap_err();
        assert!(
            err.to_string().contains("got truncated message on TCP"),
            "{err}"
        );
    }

    #[test]
    fn mismatched_id_is_ignored() {
        let server = TestServer::start(|q| {
            let mut stale = q.clone();
            stale.id = q.id.wrapping_add(1);
            vec![
                reply(&stale, RCODE_NOERROR, false, &[a(&q.name, [1, 1, 1, 1])]),
                reply(q, RCODE_NOERROR, false, &[a(&q.name, [2, 2, 2, 2])]),
            ]
        });
        let got = lookup(&conf(&[server.addr]), "id.test.", QueryType::A, 1).unwrap();
        assert_eq!(got[0].address, "2.2.2.2:1");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn servfail_moves_to_next_server() {
        let failing = TestServer::start(|q| vec![reply(q, 2, false, &[])]);
        let working = TestServer::start(|q| {
            vec![reply(q, RCODE_NOERROR, false, &[a(&q.name, [9, 9, 9, 9])])]
        });
        let conf = conf(&[failing.addr, working.addr]);
        let got = lookup(&conf, "x.test.", QueryType::A, 80).unwrap();
        assert_eq!(got[0].address, "9.9.9.9:80");
        assert_eq!(failing.seen().len(), 1);
        assert_eq!(working.seen().len(), 1);
    }

    #[test]
    fn all_servers_failing_is_an_error() {
        let failing = TestServer::start(|q| vec![reply(q, 5, false, &[])]);
        let mut conf = conf(&[failing.addr]);
        conf.attempts = 2;
        let err = lookup(&conf, "x.test.", QueryType::A, 80).unwrap_err();
        assert!(matches!(
            &err,
            Error::Unresolved { cause, .. } if matches!(**cause, Error::Rcode { rcode: 5, .. })
        ));
        let text = err.to_string();
        assert!(
            text.starts_with("could not resolve \"x.test.\": all servers responded with errors")
        );
        assert!(text.contains("REFUSED"), "{text}");
        assert!(
            text.contains("(last error, for x.test.: DNS server 127.0.0.1:"),
            "{text}"
        );
        assert_eq!(failing.seen().len(), 2, "one query per attempt");
    }

    #[test]
    fn one_failing_candidate_and_rest_nxdomain_is_an_error() {
        let server = TestServer::start(|q| {
            let rcode = if q.name == "w.a.test." {
                2
            } else {
                RCODE_NXDOMAIN
            };
            vec![reply(q, rcode, false, &[])]
        });
        let mut conf = conf(&[server.addr]);
        conf.search = vec!["a.test".into()];
        assert!(lookup(&conf, "w", QueryType::A, 80).is_err());
        assert_eq!(server.names_seen(), ["w.a.test.", "w."]);
    }

    #[test]
    fn silent_server_times_out() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut conf = conf(&[silent.local_addr().unwrap()]);
        conf.timeout = Duration::from_millis(200);
        let started = Instant::now();
        let err = lookup(&conf, "slow.test.", QueryType::A, 80).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(matches!(
            &err,
            Error::Unresolved { cause, .. } if matches!(**cause, Error::Timeout { .. })
        ));
    }

    #[test]
    fn malformed_reply_is_an_error() {
        let server = TestServer::start(|q| {
            let mut msg = reply(q, RCODE_NOERROR, false, &[a(&q.name, [1, 2, 3, 4])]);
            let len = msg.len();
            msg[len - 5] = 200; // RDLENGTH low byte: far past the end
            vec![msg]
        });
        let err = lookup(&conf(&[server.addr]), "bad.test.", QueryType::A, 80).unwrap_err();
        let Error::Unresolved { cause, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(
            matches!(
                **cause,
                Error::Malformed { server: Some(_), offset, .. } if offset > 12
            ),
            "{cause:?}"
        );
        assert!(
            err.to_string().contains("malformed DNS reply at byte"),
            "{err}"
        );
    }

    #[test]
    fn compression_loop_in_reply_is_an_error() {
        let server = TestServer::start(|q| {
            let mut msg = reply(q, RCODE_NOERROR, false, &[]);
            msg[7] = 1;
            let here = msg.len();
            // The answer's owner name is a pointer to itself.
            msg.extend_from_slice(&rr(
                &[0xC0 | (here >> 8) as u8, here as u8],
                TYPE_A,
                &[1, 2, 3, 4],
            ));
            vec![msg]
        });
        let err = lookup(&conf(&[server.addr]), "loop.test.", QueryType::A, 80).unwrap_err();
        assert!(
            err.to_string().contains("too many compression pointers"),
            "{err}"
        );
    }

    #[test]
    fn invalid_name_is_an_error_without_query() {
        let err = lookup(
            &conf(&[DEFAULT_SERVER]),
            &format!("{}.test.", "x".repeat(64)),
            QueryType::A,
            80,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("label longer than 63 bytes"),
            "{err}"
        );
        assert!(lookup(&conf(&[DEFAULT_SERVER]), "a..b.", QueryType::A, 80).is_err());
    }

    // ---- The reply parser -------------------------------------------------------------------

    fn sample_query() -> Seen {
        Seen {
            id: 7,
            name: "_svc._tcp.example.com.".into(),
            qtype: TYPE_SRV,
            tcp: false,
            arcount: 0,
        }
    }

    fn sample_reply() -> Vec<u8> {
        let q = sample_query();
        let mut msg = reply(
            &q,
            RCODE_NOERROR,
            false,
            &[
                srv(&q.name, 80, "a.example.com."),
                cname("c.example.com.", "a.example.com."),
                a("a.example.com.", [10, 1, 2, 3]),
                aaaa("a.example.com.", "fe80::1".parse().unwrap()),
            ],
        );
        // One authority NS record and an OPT record in the additional section.
        msg[9] = 1;
        msg[11] = 1;
        msg.extend_from_slice(&rr(
            &wire_name("example.com."),
            TYPE_NS,
            &wire_name("ns.example.com."),
        ));
        msg.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        msg
    }

    fn malformed_at(msg: &[u8]) -> (usize, &'static str) {
        match parse_reply(msg) {
            Err(Error::Malformed { offset, reason, .. }) => (offset, reason),
            other => panic!("expected a malformed error, got {other:?}"),
        }
    }

    #[test]
    fn parses_all_sections() {
        let reply = parse_reply(&sample_reply()).unwrap();
        assert_eq!(reply.rcode, RCODE_NOERROR);
        assert!(!reply.truncated);
        assert_eq!(
            reply.answers,
            [
                Answer::Srv {
                    port: 80,
                    target: "a.example.com.".into()
                },
                Answer::Other,
                Answer::A(Ipv4Addr::new(10, 1, 2, 3)),
                Answer::Aaaa("fe80::1".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn extended_rcode_from_opt() {
        let mut msg = sample_reply();
        let len = msg.len();
        msg[len - 6] = 1; // OPT TTL high byte: extended rcode 1 → 16 (BADVERS)
        assert_eq!(parse_reply(&msg).unwrap().rcode, 16);
    }

    #[test]
    fn counts_beyond_the_records_are_tolerated() {
        let q = sample_query();
        let mut msg = reply(&q, RCODE_NOERROR, false, &[srv(&q.name, 1, "t.")]);
        msg[7] = 9;
        assert_eq!(parse_reply(&msg).unwrap().answers.len(), 1);
        // A header alone (as some servers send with REFUSED) is fine too.
        let header = [0, 7, 0x81, 0x85, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_reply(&header).unwrap().rcode, 5);
    }

    #[test]
    fn malformed_replies_report_offset_and_reason() {
        assert_eq!(
            malformed_at(&[0, 1, 2]),
            (3, "reply shorter than the 12-byte header")
        );

        let q = sample_query();
        let good = reply(&q, RCODE_NOERROR, false, &[srv(&q.name, 1, "t.")]);
        let answer_at = 12 + wire_name(&q.name).len() + 4;

        // Cut inside the answer's fixed fields.
        let cut = &good[..answer_at + wire_name(&q.name).len() + 3];
        let (offset, reason) = malformed_at(cut);
        assert_eq!(offset, answer_at + wire_name(&q.name).len());
        assert_eq!(reason, "record header cut short");

        // Cut inside the SRV target: RDATA claims more than there is.
        let cut = &good[..good.len() - 1];
        assert_eq!(
            malformed_at(cut),
            (
                answer_at + wire_name(&q.name).len() + 8,
                "record data runs past the end of the message"
            )
        );

        // A label running past the end of the question.
        let mut bad = good[..14].to_vec();
        bad[12] = 40;
        assert_eq!(
            malformed_at(&bad),
            (12, "label runs past the end of the message")
        );

        // Pointer out of range in the answer's owner name.
        let mut bad = good.clone();
        bad[answer_at] = 0xC3;
        bad[answer_at + 1] = 0xFF;
        assert_eq!(
            malformed_at(&bad),
            (answer_at, "compression pointer out of range")
        );

        // Reserved label type.
        let mut bad = good.clone();
        bad[answer_at] = 0x80;
        assert_eq!(malformed_at(&bad), (answer_at, "reserved label type"));

        // A record of 5 bytes.
        let mut msg = reply(
            &q,
            RCODE_NOERROR,
            false,
            &[rr(&[0], TYPE_A, &[1, 2, 3, 4, 5])],
        );
        assert_eq!(malformed_at(&msg).1, "A record data is not 4 bytes");
        // SRV whose target does not fill the RDATA.
        msg = reply(
            &q,
            RCODE_NOERROR,
            false,
            &[rr(&[0], TYPE_SRV, &[0, 0, 0, 0, 0, 1, 0, 9])],
        );
        assert_eq!(malformed_at(&msg).1, "record data longer than its contents");
        // A name in RDATA pointing past the RDATA (miekg/dns bounds names by it too), here at a
        // root label just after the record.
        let start = reply(&q, RCODE_NOERROR, false, &[]).len() + 1 + 10;
        let past = start + 2;
        msg = reply(
            &q,
            RCODE_NOERROR,
            false,
            &[rr(
                &[0],
                TYPE_CNAME,
                &[0xC0 | (past >> 8) as u8, past as u8],
            )],
        );
        msg.push(0);
        assert_eq!(
            malformed_at(&msg),
            (start, "compression pointer out of range")
        );
    }

    #[test]
    fn compression_loops_are_cut_off() {
        let q = sample_query();
        let mut msg = reply(&q, RCODE_NOERROR, false, &[]);
        msg[7] = 1;
        // Two pointers pointing at each other.
        let here = msg.len();
        msg.extend_from_slice(&[0xC0, (here + 2) as u8, 0xC0, here as u8]);
        let (offset, reason) = malformed_at(&msg);
        assert_eq!(reason, "too many compression pointers (loop?)");
        assert!(offset == here || offset == here + 2);

        // A legitimate chain of pointers (each to the previous) within the limit decodes.
        let mut msg = vec![0u8; 12];
        msg[5] = 1; // QDCOUNT
        msg.extend_from_slice(&[1, b'x', 0]);
        for _ in 0..MAX_POINTERS {
            let prev = msg.len() - if msg.len() == 15 { 3 } else { 2 };
            msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
        }
        assert_eq!(read_name(&msg, msg.len() - 2).unwrap().0, "x.");
        let prev = msg.len() - 2;
        msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
        assert!(read_name(&msg, msg.len() - 2).is_err());
    }

    #[test]
    fn names_are_escaped_like_miekg() {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[5, b'a', b'.', b' ', 0x07, 0xFF, 2, b'@', b'\\', 0]);
        assert_eq!(
            read_name(&msg, 12).unwrap(),
            (r"a\.\ \007\255.\@\\.".to_string(), 22)
        );
        // And our encoder reads such names back.
        assert_eq!(encode_name(r"a\.\ \007\255.\@\\.").unwrap(), msg[12..]);
        assert_eq!(read_name(&[0], 0).unwrap(), (".".to_string(), 1));
    }

    #[test]
    fn long_names_are_rejected() {
        let mut msg = Vec::new();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert_eq!(
            read_name(&msg, 0).unwrap_err().to_string(),
            "malformed DNS reply at byte 192: name longer than 255 bytes"
        );
        assert!(encode_name(&format!("{}.", vec!["a".repeat(63); 4].join("."))).is_err());
        assert!(encode_name(&format!(
            "{}.",
            [
                "a".repeat(63),
                "a".repeat(63),
                "a".repeat(63),
                "a".repeat(61)
            ]
            .join(".")
        ))
        .is_ok());
    }

    /// xorshift64*: deterministic pseudo-random bytes without crates.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn parser_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let seeds = [
            sample_reply(),
            reply(&sample_query(), RCODE_NOERROR, true, &[]),
            {
                let q = sample_query();
                reply(
                    &q,
                    0,
                    false,
                    &[
                        srv(&q.name, 1, "t."),
                        rr(&[0xC0, 12], TYPE_MX, &[0, 1, 0xC0, 12]),
                    ],
                )
            },
        ];
        let mut parsed = 0;
        for round in 0..60_000 {
            let msg: Vec<u8> = if round % 4 == 0 {
                // Pure noise, biased to small messages and pointer-ish bytes.
                let len = rng.below(80);
                (0..len)
                    .map(|_| match rng.below(4) {
                        0 => 0xC0 | rng.below(2) as u8,
                        1 => rng.below(16) as u8,
                        _ => rng.next() as u8,
                    })
                    .collect()
            } else {
                let mut msg = seeds[rng.below(seeds.len())].clone();
                for _ in 0..1 + rng.below(6) {
                    match rng.below(5) {
                        0 if !msg.is_empty() => {
                            let at = rng.below(msg.len());
                            msg[at] = rng.next() as u8;
                        }
                        1 if !msg.is_empty() => {
                            let at = rng.below(msg.len());
                            msg[at] ^= 1 << rng.below(8);
                        }
                        2 => {
                            let at = rng.below(msg.len() + 1);
                            msg.truncate(at);
                        }
                        3 if !msg.is_empty() => {
                            let at = rng.below(msg.len());
                            msg[at] = 0xC0;
                            if at + 1 < msg.len() {
                                msg[at + 1] = rng.below(msg.len()) as u8;
                            }
                        }
                        _ => {
                            let at = rng.below(msg.len() + 1);
                            msg.insert(at, rng.next() as u8);
                        }
                    }
                }
                msg
            };
            if let Ok(reply) = parse_reply(&msg) {
                parsed += 1;
                // What comes out must also be usable without panicking.
                let _ = targets(&reply.answers, "fuzz", 1);
            }
        }
        assert!(
            parsed > 100,
            "the mutations should leave some replies intact ({parsed})"
        );
    }

    // ---- Names and resolv.conf --------------------------------------------------------------

    #[test]
    fn candidate_names() {
        let mut conf = conf(&[DEFAULT_SERVER]);
        conf.search = vec!["a.test".into(), "b.test.".into()];
        assert_eq!(candidates(&conf, "web.example."), ["web.example."]);
        assert_eq!(
            candidates(&conf, "web"),
            ["web.a.test.", "web.b.test.", "web."]
        );
        assert_eq!(
            candidates(&conf, "web.x"),
            ["web.x.", "web.x.a.test.", "web.x.b.test."]
        );
        // An escaped final dot is part of the label, not the root.
        assert_eq!(
            candidates(&conf, r"web\."),
            [r"web\..a.test.", r"web\..b.test.", r"web\.."]
        );
        conf.ndots = 2;
        assert_eq!(
            candidates(&conf, "web.x"),
            ["web.x.a.test.", "web.x.b.test.", "web.x."]
        );
        assert_eq!(
            candidates(&conf, "a.b.c"),
            ["a.b.c.", "a.b.c.a.test.", "a.b.c.b.test."]
        );
        conf.ndots = 0;
        conf.search.clear();
        assert_eq!(candidates(&conf, "web"), ["web."]);
    }

    #[test]
    fn query_encoding() {
        let q = encode_query(0xBEEF, &wire_name("a.bc."), TYPE_SRV, true);
        assert_eq!(
            q,
            [
                0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, // header
                1, b'a', 2, b'b', b'c', 0, 0, 33, 0, 1, // question
                0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0, // OPT, 4096 bytes
            ]
        );
        assert_eq!(encode_query(1, &[0], TYPE_A, false).len(), 12 + 5);
        assert_eq!(encode_name(".").unwrap(), [0]);
        assert!(encode_name("a").is_err());
        assert!(encode_name(r"a\").is_err());
        assert!(encode_name(r"a\256.").is_err());
    }

    #[test]
    fn found_formatting() {
        let answers = [
            Answer::Srv {
                port: 1,
                target: ".".into(),
            },
            Answer::Mx("mx.test.".into()),
            Answer::Ns("ns.test.".into()),
        ];
        let got = targets(&answers, "n", 25);
        assert_eq!(
            got[0].address, ":1",
            "a root SRV target trims to nothing, as in Prometheus"
        );
        assert_eq!(got[1].address, "mx.test:25");
        assert_eq!(
            got[1].labels[0],
            (LABEL_MX_TARGET.to_string(), "mx.test.".to_string())
        );
        assert_eq!(
            got[2].labels[2],
            (LABEL_NS_TARGET.to_string(), "ns.test.".to_string())
        );
    }

    #[test]
    fn resolv_conf_parse() {
        let conf = ResolvConf::parse(
            "# generated\n\
             ; another comment\n\
             nameserver 10.0.0.1\n\
             nameserver   2001:db8::53   # trailing comment\n\
             nameserver 192.0.2.9:5353\n\
             nameserver [::1]:5300\n\
             nameserver fe80::1%3\n\
             nameserver dns.example.com\n\
             nameserver\n\
             domain corp.example\n\
             search a.example b.example.\n\
             options ndots:3 timeout:2 attempts:4 rotate edns0\n",
        );
        assert_eq!(
            conf.servers,
            [
                "10.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap(),
                "192.0.2.9:5353".parse().unwrap(),
                "[::1]:5300".parse().unwrap(),
                "[fe80::1%3]:53".parse().unwrap(),
            ]
        );
        assert_eq!(conf.search, ["a.example", "b.example."]);
        assert_eq!(conf.ndots, 3);
        assert_eq!(conf.timeout, Duration::from_secs(2));
        assert_eq!(conf.attempts, 4);
    }

    #[test]
    fn resolv_conf_defaults_and_clamping() {
        let conf = ResolvConf::parse("");
        assert_eq!(conf.servers, [DEFAULT_SERVER]);
        assert!(conf.search.is_empty());
        assert_eq!(
            (conf.ndots, conf.timeout, conf.attempts),
            (1, Duration::from_secs(5), 2)
        );

        let conf = ResolvConf::parse("options ndots:99 timeout:0 attempts:-3\n");
        assert_eq!(
            (conf.ndots, conf.timeout, conf.attempts),
            (15, Duration::from_secs(1), 1)
        );
        let conf = ResolvConf::parse("options timeout:31 attempts:6\n");
        assert_eq!((conf.timeout, conf.attempts), (Duration::from_secs(30), 5));
        // Not a number counts as 0, as Go's Atoi with its error ignored.
        let conf = ResolvConf::parse("options ndots:x timeout:1.5 attempts:\n");
        assert_eq!(
            (conf.ndots, conf.timeout, conf.attempts),
            (0, Duration::from_secs(1), 1)
        );
        let conf = ResolvConf::parse("options ndots:-2 ndots:+4 timeout:99999999999999999999999\n");
        assert_eq!(conf.ndots, 4);
        assert_eq!(conf.timeout, Duration::from_secs(30));

        // The last of domain/search wins; a bare "search" clears the list.
        assert_eq!(ResolvConf::parse("search a b\ndomain c\n").search, ["c"]);
        assert_eq!(
            ResolvConf::parse("domain c\nsearch a b\n").search,
            ["a", "b"]
        );
        assert!(ResolvConf::parse("search a\nsearch\n").search.is_empty());
        assert!(ResolvConf::parse("search a\ndomain\n").search.is_empty());
        // Keywords are case-sensitive, as in miekg/dns and glibc.
        assert_eq!(
            ResolvConf::parse("NAMESERVER 1.2.3.4\n").servers,
            [DEFAULT_SERVER]
        );
    }

    #[test]
    fn resolv_conf_load_does_not_fail() {
        let conf = ResolvConf::load();
        assert!(!conf.servers.is_empty());
        assert!(conf.attempts >= 1);
    }
}
