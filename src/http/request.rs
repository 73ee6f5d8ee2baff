//! HTTP/1.1 request framing, pure and incremental: the request head (request line and
//! header fields, RFC 9112 §2–5) and the chunked transfer coding (§7.1). The server feeds
//! whatever bytes arrived; each function says how far it got, so a client dripping one byte
//! at a time costs no rescans, and every failure names what was wrong.
//!
//! ```text
//!   GET /metrics?x=1 HTTP/1.1\r\n        request line: method SP target SP version
//!   Host: 127.0.0.1:9091\r\n             field: name ":" OWS value OWS
//!   Content-Length: 12\r\n
//!   \r\n                                 end of head (a bare \n is accepted too, as Go does)
//!   <body>                               Content-Length bytes, or chunks:
//!   c\r\nhello world!\r\n0\r\n\r\n       size in hex (;ext ignored), data, CRLF, ..., 0, trailers
//! ```

use std::fmt;

/// A request method; the common ones by name, anything else kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Other(String),
}

impl Method {
    fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Other(s) => s,
        }
    }
}

/// HTTP/1.0 closes after each response unless asked to keep alive; HTTP/1.1 keeps alive
/// unless asked to close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (no `Content-Length`, or zero).
    Empty,
    Length(u64),
    Chunked,
}

/// A parsed request head.
#[derive(Clone, Debug)]
pub struct Head {
    pub method: Method,
    /// The request target as sent (`/metrics/job/a?x=1`).
    pub target: String,
    pub version: Version,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
}

impl Head {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether the connection stays open after the response.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("");
        let has = |t: &str| conn.split(',').any(|x| x.trim().eq_ignore_ascii_case(t));
        match self.version {
            Version::Http11 => !has("close"),
            Version::Http10 => has("keep-alive"),
        }
    }

    /// Whether the client waits for `100 Continue` before sending its body.
    pub fn expects_continue(&self) -> bool {
        self.version == Version::Http11
            && self
                .header("expect")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }
}

/// The first value of a header in a list, by case-insensitive name.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why a request head or body was refused; the server answers with [`HeadError::status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// The head is longer than the limit.
    TooLarge(usize),
    /// The request line is not `METHOD TARGET HTTP/x.y`.
    RequestLine,
    /// A version other than HTTP/1.0 or HTTP/1.1.
    Version(String),
    /// A header line without a colon, or with a name that is not a token.
    Field(String),
    /// `Content-Length` is not a number, or is given twice with different values.
    ContentLength,
    /// A transfer coding other than `chunked` alone, or both it and `Content-Length`.
    TransferEncoding,
    /// The chunked body is malformed.
    Chunk(&'static str),
    /// The head or a header value is not UTF-8.
    NotUtf8,
}

impl HeadError {
    /// The status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            HeadError::TooLarge(_) => 431,
            HeadError::Version(_) => 505,
            HeadError::TransferEncoding => 501,
            _ => 400,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::TooLarge(n) => write!(f, "request header larger than {n} bytes"),
            HeadError::RequestLine => f.write_str("malformed request line"),
            HeadError::Version(v) => write!(f, "unsupported HTTP version {v:?}"),
            HeadError::Field(l) => write!(f, "malformed header field {l:?}"),
            HeadError::ContentLength => f.write_str("invalid Content-Length"),
            HeadError::TransferEncoding => f.write_str("unsupported Transfer-Encoding"),
            HeadError::Chunk(why) => write!(f, "malformed chunked body: {why}"),
            HeadError::NotUtf8 => f.write_str("request header is not UTF-8"),
        }
    }
}

impl std::error::Error for HeadError {}

/// Finds the end of a head in `buf`, looking only from `from` on (less three bytes, so a
/// terminator split across reads is found): the index just past the blank line.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let mut i = start;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        if buf.get(nl + 1) == Some(&b'\n') {
            return Some(nl + 2);
        }
        if buf.get(nl + 1) == Some(&b'\r') && buf.get(nl + 2) == Some(&b'\n') {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a complete head (as delimited by [`find_head_end`]). Leading blank lines before
/// the request line are skipped, as RFC 9112 §2.2 allows.
pub fn parse_head(raw: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(raw).map_err(|_| HeadError::NotUtf8)?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let line = lines.next().ok_or(HeadError::RequestLine)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::RequestLine);
    };
    if !is_token(method) || target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HeadError::RequestLine);
    }
    let version = match version {
        "HTTP/1.1" => Version::Http11,
        "HTTP/1.0" => Version::Http10,
        v if v.starts_with("HTTP/") => return Err(HeadError::Version(v.to_string())),
        _ => return Err(HeadError::RequestLine),
    };
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        let Some((name, value)) = l.split_once(':') else {
            return Err(HeadError::Field(l.chars().take(64).collect()));
        };
        if !is_token(name) {
            return Err(HeadError::Field(l.chars().take(64).collect()));
        }
        headers.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    let framing = framing(&headers)?;
    Ok(Head {
        method: Method::parse(method),
        target: target.to_string(),
        version,
        headers,
        framing,
    })
}

fn framing(headers: &[(String, String)]) -> Result<Framing, HeadError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("content-length") {
            for part in v.split(',') {
                let p = part.trim();
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(HeadError::ContentLength);
                }
                let n: u64 = p.parse().map_err(|_| HeadError::ContentLength)?;
                if length.is_some_and(|l| l != n) {
                    return Err(HeadError::ContentLength);
                }
                length = Some(n);
            }
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            for coding in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if chunked || !coding.eq_ignore_ascii_case("chunked") {
                    return Err(HeadError::TransferEncoding);
                }
                chunked = true;
            }
        }
    }
    match (length, chunked) {
        (Some(_), true) => Err(HeadError::TransferEncoding),
        (_, true) => Ok(Framing::Chunked),
        (Some(0) | None, false) => Ok(Framing::Empty),
        (Some(n), false) => Ok(Framing::Length(n)),
    }
}

/// Decodes a chunked body as its bytes arrive.
#[derive(Clone, Debug, Default)]
pub struct Chunked {
    state: ChunkState,
    /// Bytes of the current chunk's size line read so far (bounded).
    line: Vec<u8>,
    remaining: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Data,
    DataEnd,
    Trailer,
    Done,
}

/// The longest chunk-size or trailer line accepted.
const MAX_CHUNK_LINE: usize = 4096;

impl Chunked {
    /// Consumes bytes from `input`, appending data to `out`. Returns how many bytes were
    /// consumed; after the last chunk and trailers [`Chunked::done`] is true and the rest of
    /// `input` (a pipelined request) is left unconsumed.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HeadError> {
        let mut i = 0;
        while i < input.len() && self.state != ChunkState::Done {
            match self.state {
                ChunkState::Size | ChunkState::Trailer | ChunkState::DataEnd => {
                    let b = input[i];
                    i += 1;
                    if b != b'\n' {
                        if self.line.len() >= MAX_CHUNK_LINE {
                            return Err(HeadError::Chunk("line too long"));
                        }
                        self.line.push(b);
                        continue;
                    }
                    let mut line = std::mem::take(&mut self.line);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.state = match self.state {
                        ChunkState::DataEnd if line.is_empty() => ChunkState::Size,
                        ChunkState::DataEnd => {
                            return Err(HeadError::Chunk("missing CRLF after chunk data"))
                        }
                        ChunkState::Trailer if line.is_empty() => ChunkState::Done,
                        ChunkState::Trailer => ChunkState::Trailer,
                        _ => {
                            let size = chunk_size(&line)?;
                            if size == 0 {
                                ChunkState::Trailer
                            } else {
                                self.remaining = size;
                                ChunkState::Data
                            }
                        }
                    };
                }
                ChunkState::Data => {
                    let n = (input.len() - i).min(self.remaining as usize);
                    out.extend_from_slice(&input[i..i + n]);
                    i += n;
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::Done => unreachable!("loop ends at Done"),
            }
        }
        Ok(i)
    }

    pub fn done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

fn chunk_size(line: &[u8]) -> Result<u64, HeadError> {
    let hex = match line.iter().position(|&b| b == b';') {
        Some(i) => &line[..i],
        None => line,
    };
    let hex = hex.trim_ascii();
    if hex.is_empty() || hex.len() > 15 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(HeadError::Chunk("invalid chunk size"));
    }
    let s = std::str::from_utf8(hex).map_err(|_| HeadError::Chunk("invalid chunk size"))?;
    u64::from_str_radix(s, 16).map_err(|_| HeadError::Chunk("invalid chunk size"))
}

/// Decodes `%XX` escapes of a URL path (or a query component, with `plus` turning `+` into
/// a space); `None` when an escape is malformed. The result may not be UTF-8.
pub fn percent_decode(s: &str, plus: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hi = (*b.get(i + 1)? as char).to_digit(16)?;
                let lo = (*b.get(i + 2)? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The `key=value` pairs of a query string, decoded; malformed escapes drop the pair, as
/// Go's `url.ParseQuery` reports them without failing the request.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = String::from_utf8(percent_decode(k, true)?).ok()?;
            let v = String::from_utf8(percent_decode(v, true)?).ok()?;
            Some((k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_framing() {
        let raw = b"PUT /metrics/job/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let end = find_head_end(raw, 0).unwrap();
        assert_eq!(&raw[end..], b"hello");
        let h = parse_head(&raw[..end]).unwrap();
        assert_eq!(h.method, Method::Put);
        assert_eq!(h.target, "/metrics/job/a");
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive());
        assert_eq!(h.header("HOST"), Some("x"));
    }

    #[test]
    fn head_end_across_reads() {
        let raw = b"GET / HTTP/1.0\r\n\r\n";
        for split in 0..raw.len() {
            assert_eq!(find_head_end(&raw[..split], 0), None);
            assert_eq!(find_head_end(raw, split), Some(raw.len()), "split {split}");
        }
        assert_eq!(find_head_end(b"GET / HTTP/1.0\n\n", 0), Some(16));
    }

    #[test]
    fn bad_heads() {
        let p = |s: &str| parse_head(s.as_bytes()).unwrap_err();
        assert_eq!(p("GET /\r\n\r\n"), HeadError::RequestLine);
        assert_eq!(
            p("GET / HTTP/2.0\r\n\r\n"),
            HeadError::Version("HTTP/2.0".into())
        );
        assert!(matches!(
            p("GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
            HeadError::Field(_)
        ));
        assert_eq!(
            p("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            HeadError::ContentLength
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            HeadError::ContentLength
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            HeadError::TransferEncoding
        );
        assert_eq!(
            p("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
            HeadError::TransferEncoding
        );
    }

    #[test]
    fn chunked_byte_by_byte() {
        let body = b"5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: a\r\n\r\nNEXT";
        for step in [1, 2, 7, body.len()] {
            let mut c = Chunked::default();
            let mut out = Vec::new();
            let mut i = 0;
            while !c.done() {
                let end = (i + step).min(body.len());
                i += c.feed(&body[i..end], &mut out).unwrap();
            }
            assert_eq!(out, b"hello world");
            assert_eq!(&body[i..], b"NEXT");
        }
        let mut c = Chunked::default();
        assert!(c.feed(b"zz\r\n", &mut Vec::new()).is_err());
        let mut c = Chunked::default();
        assert!(c.feed(b"1\r\nab\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2Fb+c", true).unwrap(), b"a/b c");
        assert_eq!(percent_decode("a+b", false).unwrap(), b"a+b");
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(
            query_pairs("ttl=5m&match=partial&x"),
            vec![
                ("ttl".into(), "5m".into()),
                ("match".into(), "partial".into()),
                ("x".into(), "".into())
            ]
        );
    }
}
