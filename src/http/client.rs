//! The HTTP client, for scraping, HTTP discovery and pushing: one [`Client`] per job (its TLS settings, redirects
//! and credentials), and [`Client::get`], which fetches a body the way Prometheus's target
//! scraper does — one deadline over connect, headers and body, `Accept-Encoding: gzip` unless
//! compression is off, gzip decoded, the body limited *after* decoding (a gzip bomb stops at
//! the limit), any status but 200 an error worded like Go's `server returned HTTP status 500
//! Internal Server Error`.
//!
//! Credentials are read from their files at every request, as Prometheus does, so a rotated
//! token is picked up by the next round.

use base64::Engine as _;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts};

#[derive(Clone, Debug, Default)]
pub struct BasicAuth {
    pub username: String,
    pub username_file: Option<PathBuf>,
    pub password: String,
    pub password_file: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Authorization {
    /// The scheme written before the credentials (`Bearer` by default).
    pub kind: String,
    pub credentials: String,
    pub credentials_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    pub ca_file: Option<PathBuf>,
    pub ca: Option<String>,
    pub cert_file: Option<PathBuf>,
    pub cert: Option<String>,
    pub key_file: Option<PathBuf>,
    pub key: Option<String>,
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
}

/// How a job (or an HTTP service discovery) talks HTTP.
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
    pub tls: TlsConfig,
    pub follow_redirects: bool,
    pub headers: Vec<(String, String)>,
}

impl Default for HttpClient {
    fn default() -> HttpClient {
        HttpClient {
            basic_auth: None,
            authorization: None,
            tls: TlsConfig::default(),
            follow_redirects: true,
            headers: Vec::new(),
        }
    }
}

/// The cap on a body when no `body_size_limit` is set: a target can never make a scrape hold
/// more than this in memory.
pub const DEFAULT_BODY_CAP: u64 = 128 << 20;

/// Where the system's trusted CA certificates live (Debian first); the bundled Mozilla roots
/// are used when none exists.
const SYSTEM_CA_FILES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Why a request failed; displayed as the one-line reason of a failed scrape.
#[derive(Clone, Debug)]
pub enum Error {
    /// The client settings are unusable (a CA file that does not parse, ...).
    Config(String),
    /// Connecting, TLS, or reading failed (timeouts included).
    Transport(String),
    /// The body grew past the limit (Prometheus's wording).
    BodyLimit,
    /// A status other than 200.
    Status(u16, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) | Error::Transport(m) => f.write_str(m),
            Error::BodyLimit => f.write_str("body size limit exceeded"),
            Error::Status(code, reason) => {
                write!(f, "server returned HTTP status {code} {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A fetched body: decoded bytes and the `Content-Type` header (empty when absent).
#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// A request method the client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }

    /// As Go's client names it in errors (`Put "http://...": ...`).
    pub fn go_name(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Put => "Put",
            Method::Post => "Post",
            Method::Delete => "Delete",
        }
    }
}

/// A reply of any status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The status's reason phrase (`Bad Request`).
    pub reason: String,
    /// The reply's headers (names lower-case).
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// One request's particulars.
pub struct Request<'a> {
    pub url: &'a str,
    /// Extra headers (`Accept`, `X-Prometheus-Scrape-Timeout-Seconds`, ...).
    pub headers: &'a [(&'a str, String)],
    pub timeout: Duration,
    /// The largest body accepted: a body of `limit` bytes or more fails, as in Prometheus.
    pub limit: u64,
    pub gzip: bool,
}

/// An HTTP client configured from a job's `basic_auth`, `authorization`, `tls_config`,
/// `follow_redirects` and `http_headers`. Cheap to clone and shared by threads.
#[derive(Clone)]
pub struct Client {
    plain: ureq::Agent,
    identity: ureq::Agent,
    /// The agents' settings, for the per-request agent `tls_config.server_name` needs.
    gzip_cfg: ureq::config::Config,
    identity_cfg: ureq::config::Config,
    cfg: Arc<HttpClient>,
}

/// Resolves every name to the addresses of the real target: with `server_name`, the URL
/// names the server name (which TLS then sends and verifies) and this sends the
/// connection to the target.
#[derive(Debug)]
struct Pinned(Vec<std::net::SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        for a in self.0.iter().take(16) {
            out.push(*a);
        }
        Ok(out)
    }
}

/// `https://authority/rest` → (authority, rest).
fn split_https(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("https://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some((&rest[..end], &rest[end..]))
}

fn read_pem(
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
) -> Result<Option<Vec<u8>>, Error> {
    if let Some(s) = inline {
        return Ok(Some(s.as_bytes().to_vec()));
    }
    match file {
        Some(p) => std::fs::read(p)
            .map(Some)
            .map_err(|e| Error::Config(format!("unable to read {}: {e}", p.display()))),
        None => Ok(None),
    }
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<Certificate<'static>>, Error> {
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(c)) => out.push(c),
            Ok(_) => {}
            Err(e) => return Err(Error::Config(format!("unable to parse {what}: {e}"))),
        }
    }
    if out.is_empty() {
        return Err(Error::Config(format!(
            "unable to use specified {what}: no certificate found"
        )));
    }
    Ok(out)
}

fn tls_config(c: &TlsConfig) -> Result<ureq::tls::TlsConfig, Error> {
    let mut b = ureq::tls::TlsConfig::builder().disable_verification(c.insecure_skip_verify);
    let roots = match read_pem(&c.ca, &c.ca_file)? {
        Some(pem) => Some(certificates(&pem, "CA cert")?),
        None => SYSTEM_CA_FILES
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .and_then(|pem| certificates(&pem, "system CA certs").ok()),
    };
    if let Some(roots) = roots {
        b = b.root_certs(RootCerts::Specific(Arc::new(roots)));
    }
    let cert = read_pem(&c.cert, &c.cert_file)?;
    let key = read_pem(&c.key, &c.key_file)?;
    if let (Some(cert), Some(key)) = (cert, key) {
        let chain = certificates(&cert, "client cert")?;
        check_client_cert(&cert, &key)?;
        let key = PrivateKey::from_pem(&key)
            .map_err(|e| Error::Config(format!("unable to use client key: {e}")))?;
        b = b.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(b.build())
}

/// Checks that a client certificate and key (PEM) can be used together: ureq would panic on
/// a pair rustls refuses, such as an X.509 v1 certificate or a key that does not match.
fn check_client_cert(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: &dyn fmt::Display| {
        Error::Config(format!("unable to use client certificate and key: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(&e))?;
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(certs, key)
        .map_err(|e| bad(&e))?;
    Ok(())
}

impl Client {
    /// Builds the client; fails when a certificate or key does not load.
    pub fn new(cfg: &HttpClient) -> Result<Client, Error> {
        let tls = tls_config(&cfg.tls)?;
        let config = |encoding: &'static str| -> ureq::config::Config {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(if cfg.follow_redirects { 10 } else { 0 })
                .max_redirects_will_error(false)
                .tls_config(tls.clone())
                .user_agent(concat!("prombox/", env!("CARGO_PKG_VERSION")))
                .accept_encoding(encoding)
                .max_idle_connections_per_host(1)
                .build()
        };
        let (gzip_cfg, identity_cfg) = (config("gzip"), config("identity"));
        Ok(Client {
            plain: ureq::Agent::new_with_config(gzip_cfg.clone()),
            identity: ureq::Agent::new_with_config(identity_cfg.clone()),
            gzip_cfg,
            identity_cfg,
            cfg: Arc::new(cfg.clone()),
        })
    }

    /// GETs `req.url` and reads its decoded body within the deadline; any status but 200
    /// is an error.
    pub fn get(&self, req: &Request) -> Result<Body, Error> {
        let reply = self.send(Method::Get, req, None)?;
        if reply.status != 200 {
            return Err(Error::Status(reply.status, reply.reason));
        }
        Ok(reply.body)
    }

    /// Sends one request (with `body` and its content type, if any) and reads the reply,
    /// whatever its status, within the deadline.
    pub fn send(
        &self,
        method: Method,
        req: &Request,
        body: Option<(&[u8], &str)>,
    ) -> Result<Reply, Error> {
        let agent = if req.gzip {
            &self.plain
        } else {
            &self.identity
        };
        // tls_config.server_name: connect to the target, but send and verify the name.
        let pinned = match (&self.cfg.tls.server_name, split_https(req.url)) {
            (Some(name), Some((authority, rest))) => {
                Some(self.pinned(method, req, name, authority, rest)?)
            }
            _ => None,
        };
        let (agent, url) = match &pinned {
            Some((a, url, _)) => (a, url.as_str()),
            None => (agent, req.url),
        };
        let mut b = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url);
        for (k, v) in &self.cfg.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        for (k, v) in req.headers {
            b = b.header(*k, v.as_str());
        }
        if let Some(v) = self.auth_header()? {
            b = b.header("Authorization", v);
        }
        if let Some((_, _, host)) = &pinned {
            b = b.header("Host", host.as_str());
        }
        if let Some((_, content_type)) = body {
            b = b.header("Content-Type", content_type);
        }
        let bytes = body.map(|(b, _)| b.to_vec()).unwrap_or_default();
        let r = b
            .body(bytes)
            .map_err(|e| Error::Config(format!("invalid request: {e}")))?;
        let r = agent
            .configure_request(r)
            .timeout_global(Some(req.timeout))
            .allow_non_standard_methods(true)
            .build();
        let mut resp = agent.run(r).map_err(|e| transport(method, req.url, e))?;
        let status = resp.status();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        // Read one byte past the limit to see whether it is reached (Prometheus fails a body
        // of exactly `limit` bytes too).
        let mut bytes = Vec::new();
        let mut reader = resp.body_mut().with_config().reader().take(req.limit);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| transport(method, req.url, ureq::Error::from(e)))?;
        if bytes.len() as u64 >= req.limit {
            return Err(Error::BodyLimit);
        }
        Ok(Reply {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body: Body {
                bytes,
                content_type,
            },
        })
    }

    /// For `server_name`: an agent that connects to the target's `authority`, the URL
    /// naming `name` instead, and the `Host` header to send.
    fn pinned(
        &self,
        method: Method,
        req: &Request,
        name: &str,
        authority: &str,
        rest: &str,
    ) -> Result<(ureq::Agent, String, String), Error> {
        use std::net::ToSocketAddrs;
        let port = authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(443);
        let addrs: Vec<_> = authority
            .to_socket_addrs()
            .or_else(|_| (authority, 443).to_socket_addrs())
            .map_err(|e| Error::Transport(format!("{} {:?}: {e}", method.go_name(), req.url)))?
            .collect();
        let c = if req.gzip {
            &self.gzip_cfg
        } else {
            &self.identity_cfg
        };
        let agent = ureq::Agent::with_parts(
            c.clone(),
            ureq::unversioned::transport::DefaultConnector::new(),
            Pinned(addrs),
        );
        Ok((
            agent,
            format!("https://{name}:{port}{rest}"),
            authority.to_string(),
        ))
    }

    fn auth_header(&self) -> Result<Option<String>, Error> {
        let secret = |inline: &str, file: &Option<std::path::PathBuf>, what: &str| match file {
            Some(p) => std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    Error::Config(format!("unable to read {what} file {}: {e}", p.display()))
                }),
            None => Ok(inline.to_string()),
        };
        if let Some(BasicAuth {
            username,
            username_file,
            password,
            password_file,
        }) = &self.cfg.basic_auth
        {
            let user = secret(username, username_file, "username")?;
            let pass = secret(password, password_file, "password")?;
            return Ok(Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )));
        }
        if let Some(Authorization {
            kind,
            credentials,
            credentials_file,
        }) = &self.cfg.authorization
        {
            let c = secret(credentials, credentials_file, "authorization credentials")?;
            return Ok(Some(format!("{kind} {c}")));
        }
        Ok(None)
    }
}

/// Transport errors in one line, the way Go's client words them: `Get "URL": reason`, and
/// `context deadline exceeded` at the deadline.
fn transport(method: Method, url: &str, e: ureq::Error) -> Error {
    let why = match e {
        ureq::Error::Timeout(_) => "context deadline exceeded".to_string(),
        ureq::Error::BodyExceedsLimit(_) => return Error::BodyLimit,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            "context deadline exceeded".to_string()
        }
        ureq::Error::Io(e) => {
            let s = e.to_string();
            let s = match s.find(" (os error") {
                Some(i) => &s[..i],
                None => &s,
            };
            // Rust capitalises what Go does not ("Connection refused").
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        }
        e => e.to_string().replace('\n', " "),
    };
    Error::Transport(format!("{} {url:?}: {why}", method.go_name()))
}
