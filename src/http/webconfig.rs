//! The web configuration file of Prometheus's servers (exporter-toolkit's
//! `--web.config.file`): TLS for the listener, basic auth with bcrypt hashes, and extra
//! response headers. Decoded strictly, with yaml.v2's wording for unknown fields and the
//! toolkit's messages for bad values; relative file names are taken from the file's
//! directory.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # with key_file: TLS on
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
//!   client_ca_file: ca.crt
//!   min_version: TLS12              # TLS12 or TLS13 (rustls has no older versions)
//!   max_version: TLS13
//! http_server_config:
//!   headers: {X-Frame-Options: deny}
//! basic_auth_users:
//!   alice: $2y$10$...               # bcrypt
//! ```
//!
//! Cipher suites and curves are rustls's own safe set: `cipher_suites` and
//! `curve_preferences` are refused rather than silently ignored.
//!
//! exporter-toolkit re-reads the file (and the certificates it names) for every request
//! and handshake; [`Watched`] re-reads them when one of them changes, checked once a second
//! by the caller. A file that no longer loads fails closed, as the toolkit does: requests
//! are answered 500 until it is fixed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::yaml;

/// Why a web config file cannot be used.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Who may connect: client certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    VerifyIfGiven,
    RequireAndVerify,
}

/// A decoded web config file.
#[derive(Debug, Default)]
pub struct WebConfig {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// User → bcrypt hash.
    pub users: Vec<(String, String)>,
    /// Headers added to every response.
    pub headers: Vec<(String, String)>,
    /// The files it names (certificates, keys, client CAs), whose changes reload it too.
    pub files: Vec<PathBuf>,
}

const HEADERS: &[&str] = &[
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
];

fn yerr(path: &Path, e: yaml::Error) -> Error {
    Error(format!("{}:{e}", path.display()))
}

/// Reads and checks a web config file (certificates and keys loaded, hashes checked).
pub fn load(path: &Path) -> Result<WebConfig, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error(format!("{}: {e}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let root = yaml::parse(&text).map_err(|e| yerr(path, e))?;
    let mut cfg = WebConfig::default();
    if root.is_null() {
        return Ok(cfg);
    }
    let mut f = root.map("web.Config").map_err(|e| yerr(path, e))?;
    if let Some(t) = f.get("tls_server_config") {
        cfg.tls = tls(t, dir, &mut cfg.files).map_err(|e| match e {
            TlsError::Yaml(e) => yerr(path, e),
            TlsError::Other(s) => Error(format!("{}: {s}", path.display())),
        })?;
    }
    if let Some(h) = f.get("http_server_config") {
        let mut hf = h.map("web.HTTPConfig").map_err(|e| yerr(path, e))?;
        if let Some(v) = hf.get("http2") {
            v.bool().map_err(|e| yerr(path, e))?;
        }
        if let Some(hs) = hf.get("headers") {
            for (k, v, _) in hs.string_map().map_err(|e| yerr(path, e))? {
                if !HEADERS.contains(&k.as_str()) {
                    return Err(Error(format!(
                        "{}: HTTP header {k:?} can not be configured",
                        path.display()
                    )));
                }
                if k == "X-Frame-Options"
                    && !matches!(v.to_ascii_lowercase().as_str(), "deny" | "sameorigin")
                {
                    return Err(Error(format!(
                        "{}: invalid value for X-Frame-Options. Expected one of: [\"deny\" \"sameorigin\"], but got: {v:?}",
                        path.display()
                    )));
                }
                cfg.headers.push((k, v));
            }
        }
        hf.finish().map_err(|e| yerr(path, e))?;
    }
    if let Some(u) = f.get("basic_auth_users") {
        for (user, hash, pos) in u.string_map().map_err(|e| yerr(path, e))? {
            if let Err(why) = check_hash(&hash) {
                return Err(yerr(
                    path,
                    yaml::Error::new(pos, format!("user {user:?}: {why}")),
                ));
            }
            cfg.users.push((user, hash));
        }
    }
    f.finish().map_err(|e| yerr(path, e))?;
    Ok(cfg)
}

/// golang.org/x/crypto/bcrypt's checks of a stored hash, with its messages.
fn check_hash(h: &str) -> Result<(), String> {
    if h.len() < 59 {
        return Err("crypto/bcrypt: hashedSecret too short to be a bcrypted password".into());
    }
    if !h.starts_with('$') {
        return Err(format!(
            "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '{}'",
            h.chars().next().unwrap_or(' ')
        ));
    }
    let major = h.as_bytes()[1];
    if major > b'2' {
        return Err(format!(
            "crypto/bcrypt: bcrypt algorithm version '{}' requested is newer than current version '2'",
            major as char
        ));
    }
    let rest = &h[2..];
    let rest = rest.strip_prefix(|c: char| c != '$').unwrap_or(rest);
    let cost = rest
        .strip_prefix('$')
        .and_then(|r| r.get(..2))
        .ok_or("crypto/bcrypt: hashedSecret too short to be a bcrypted password")?;
    let cost: u32 = cost
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {cost:?}: invalid syntax"))?;
    if !(4..=31).contains(&cost) {
        return Err(format!(
            "crypto/bcrypt: cost {cost} is outside allowed range (4,31)"
        ));
    }
    Ok(())
}

enum TlsError {
    Yaml(yaml::Error),
    Other(String),
}

impl From<yaml::Error> for TlsError {
    fn from(e: yaml::Error) -> TlsError {
        TlsError::Yaml(e)
    }
}

fn tls(
    node: &yaml::Node,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut f = node.map("web.TLSConfig")?;
    let file = |f: &mut yaml::Fields, name: &str| -> Result<Option<PathBuf>, TlsError> {
        Ok(match f.get(name) {
            Some(v) => Some(dir.join(v.str()?)),
            None => None,
        })
    };
    let cert = file(&mut f, "cert_file")?;
    let key = file(&mut f, "key_file")?;
    let ca = file(&mut f, "client_ca_file")?;
    files.extend([&cert, &key, &ca].into_iter().flatten().cloned());
    let auth = match f.get("client_auth_type").map(|v| v.str()).transpose()? {
        None | Some("") | Some("NoClientCert") => ClientAuth::None,
        Some("VerifyClientCertIfGiven") => ClientAuth::VerifyIfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerify,
        Some(s @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert")) => {
            return Err(TlsError::Other(format!(
                "client_auth_type {s}: not supported by prombox (a client certificate is either verified or not asked for)"
            )))
        }
        Some(s) => return Err(TlsError::Other(format!("invalid ClientAuth: {s}"))),
    };
    let version = |f: &mut yaml::Fields, name: &str| -> Result<Option<u8>, TlsError> {
        Ok(match f.get(name).map(|v| v.str()).transpose()? {
            None => None,
            Some("TLS12") => Some(12),
            Some("TLS13") => Some(13),
            Some(v @ ("TLS10" | "TLS11")) => {
                return Err(TlsError::Other(format!(
                    "{name} {v}: not supported (rustls speaks TLS 1.2 and 1.3 only)"
                )))
            }
            Some(v) => return Err(TlsError::Other(format!("unknown TLS version: {v}"))),
        })
    };
    let min = version(&mut f, "min_version")?.unwrap_or(12);
    let max = version(&mut f, "max_version")?.unwrap_or(13);
    for refused in ["cipher_suites", "curve_preferences"] {
        if f.get(refused).is_some() {
            return Err(TlsError::Other(format!(
                "{refused}: not supported by prombox (rustls uses its own safe set)"
            )));
        }
    }
    if let Some(v) = f.get("prefer_server_cipher_suites") {
        v.bool()?;
    }
    f.finish()?;
    if cert.is_none() && key.is_none() && ca.is_none() && auth == ClientAuth::None {
        return Ok(None);
    }
    let cert = cert.ok_or_else(|| TlsError::Other("missing cert_file".into()))?;
    let key = key.ok_or_else(|| TlsError::Other("missing key_file".into()))?;
    if ca.is_some() && auth == ClientAuth::None {
        return Err(TlsError::Other(
            "Client CA's have been configured without a Client Auth Policy".into(),
        ));
    }
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| TlsError::Other(format!("{}: {e}", p.display())));
    let certs = CertificateDer::pem_slice_iter(&read(&cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Other(format!("failed to load X509KeyPair: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&key)?)
        .map_err(|e| TlsError::Other(format!("failed to load X509KeyPair: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();
    if versions.is_empty() {
        return Err(TlsError::Other("min_version is above max_version".into()));
    }
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::Other(e.to_string()))?;
    let builder = match (auth, ca) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(TlsError::Other(
                "client_ca_file is needed to verify client certificates".into(),
            ))
        }
        (auth, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&read(&ca)?) {
                let c = c.map_err(|e| TlsError::Other(format!("{}: {e}", ca.display())))?;
                roots
                    .add(c)
                    .map_err(|e| TlsError::Other(format!("{}: {e}", ca.display())))?;
            }
            let mut v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            if auth == ClientAuth::VerifyIfGiven {
                v = v.allow_unauthenticated();
            }
            let v = v.build().map_err(|e| TlsError::Other(e.to_string()))?;
            builder.with_client_cert_verifier(v)
        }
    };
    let cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Other(format!("failed to load X509KeyPair: {e}")))?;
    Ok(Some(Arc::new(cfg)))
}

/// Checks basic auth as exporter-toolkit does: an unknown user costs a bcrypt check too;
/// results (right or wrong) are cached for up to 100 user/password pairs, since bcrypt is
/// slow by design.
pub struct BasicAuth {
    users: Vec<(String, String)>,
    cache: Mutex<HashMap<(String, String), bool>>,
}

/// The hash compared against for unknown users ("fakepassword"), so their answer takes as
/// long.
const FAKE_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

impl BasicAuth {
    pub fn new(users: Vec<(String, String)>) -> BasicAuth {
        BasicAuth {
            users,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether an `Authorization` header value carries a known user and its password.
    pub fn allows(&self, header: Option<&str>) -> bool {
        let Some((user, pass)) = header.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.iter().find(|(u, _)| *u == user) {
            Some((_, h)) => (h.as_str(), true),
            None => (FAKE_HASH, false),
        };
        let key = (user.clone(), pass.clone());
        if let Some(&ok) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return ok && known;
        }
        let ok = bcrypt::verify(pass.as_bytes(), hash).unwrap_or(false) && known;
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if c.len() >= 100 {
            let drop: Vec<_> = c.keys().take(c.len() / 10 + 1).cloned().collect();
            for k in drop {
                c.remove(&k);
            }
        }
        c.insert(key, ok);
        ok
    }
}

/// What a request is checked against: the web config as last loaded, or why it no longer
/// loads (every request is then refused).
pub enum Current {
    Loaded {
        auth: BasicAuth,
        headers: Vec<(String, String)>,
    },
    Broken(String),
}

/// What [`Watched::refresh`] found.
pub enum Refresh {
    Unchanged,
    /// Reloaded; the new TLS settings, if any.
    Reloaded(Option<Arc<rustls::ServerConfig>>),
    /// Changed and no longer loads.
    Failed(String),
}

/// A file's identity as far as a change goes.
type Stamp = Vec<Option<(std::time::SystemTime, u64, u64)>>;

fn stamp(paths: &[PathBuf]) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len(), m.ino()))
        })
        .collect()
}

/// A web config file and the files it names, reloaded when they change.
pub struct Watched {
    path: PathBuf,
    /// The config file, then the files it named when last loaded.
    paths: Mutex<(Vec<PathBuf>, Stamp)>,
    current: std::sync::RwLock<Arc<Current>>,
}

impl Watched {
    /// Loads the file (an error here stops the server from starting); its TLS settings.
    pub fn open(path: &Path) -> Result<(Watched, Option<Arc<rustls::ServerConfig>>), Error> {
        let mut paths = vec![path.to_path_buf()];
        let before = stamp(&paths);
        let cfg = load(path)?;
        paths.extend(cfg.files.iter().cloned());
        let mut st = before;
        st.extend(stamp(&paths[1..]));
        let w = Watched {
            path: path.to_path_buf(),
            paths: Mutex::new((paths, st)),
            current: std::sync::RwLock::new(Arc::new(Current::Loaded {
                auth: BasicAuth::new(cfg.users),
                headers: cfg.headers,
            })),
        };
        Ok((w, cfg.tls))
    }

    /// No file: nothing checked, nothing added.
    pub fn none() -> Watched {
        Watched {
            path: PathBuf::new(),
            paths: Mutex::new((Vec::new(), Vec::new())),
            current: std::sync::RwLock::new(Arc::new(Current::Loaded {
                auth: BasicAuth::new(Vec::new()),
                headers: Vec::new(),
            })),
        }
    }

    pub fn current(&self) -> Arc<Current> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads the file if it or a file it names changed since the last look.
    pub fn refresh(&self) -> Refresh {
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        if paths.0.is_empty() || stamp(&paths.0) == paths.1 {
            return Refresh::Unchanged;
        }
        let before = stamp(&paths.0[..1]);
        let (next, result) = match load(&self.path) {
            Ok(cfg) => {
                let mut list = vec![self.path.clone()];
                list.extend(cfg.files.iter().cloned());
                let current = Current::Loaded {
                    auth: BasicAuth::new(cfg.users),
                    headers: cfg.headers,
                };
                ((list, current), Refresh::Reloaded(cfg.tls))
            }
            Err(e) => (
                (paths.0.clone(), Current::Broken(e.0.clone())),
                Refresh::Failed(e.0),
            ),
        };
        let (list, current) = next;
        let mut st = before;
        st.extend(stamp(&list[1..]));
        *paths = (list, st);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(current);
        result
    }

    /// Marks the config unusable (a change the running server cannot apply).
    pub fn break_with(&self, why: String) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Current::Broken(why));
    }
}

/// `Basic base64(user:password)` (the scheme case-insensitive, as Go reads it).
fn parse_basic(h: &str) -> Option<(String, String)> {
    let (scheme, rest) = h.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_checked_with_gos_messages() {
        assert!(check_hash("$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu").is_ok());
        assert_eq!(
            check_hash("short").unwrap_err(),
            "crypto/bcrypt: hashedSecret too short to be a bcrypted password"
        );
        assert_eq!(
            check_hash("$3y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu").unwrap_err(),
            "crypto/bcrypt: bcrypt algorithm version '3' requested is newer than current version '2'"
        );
        assert_eq!(
            check_hash("$2y$03$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu").unwrap_err(),
            "crypto/bcrypt: cost 3 is outside allowed range (4,31)"
        );
    }

    #[test]
    fn basic_auth_with_bcrypt() {
        // exporter-toolkit's test user: carol / carol123.
        let a = BasicAuth::new(vec![(
            "carol".into(),
            "$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu".into(),
        )]);
        let h = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        assert!(a.allows(Some(&h("carol", "carol123"))));
        assert!(a.allows(Some(&h("carol", "carol123"))), "cached");
        assert!(!a.allows(Some(&h("carol", "wrong"))));
        assert!(!a.allows(Some(&h("mallory", "fakepassword"))));
        assert!(!a.allows(None));
        assert!(!a.allows(Some("Bearer x")));
    }
}
