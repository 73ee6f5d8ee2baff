//! Service discovery: the target groups of a job, from `static_configs`, `file_sd_configs`
//! (JSON or YAML files; the last path segment may hold a `*`), `http_sd_configs` (a JSON
//! endpoint) and `dns_sd_configs` (A, AAAA and SRV records).
//!
//! A source that cannot be read or decoded is reported and contributes no targets, while the
//! other sources go on, as in Prometheus. File targets carry `__meta_filepath`, HTTP ones
//! `__meta_url`, DNS ones `__meta_dns_name` and the SRV record's labels.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{DnsSd, DnsType, HttpSd, ScrapeConfig, TargetGroup};
use crate::yaml::{self, Kind};

/// Why a discovery source gave no targets, in Prometheus's words where it has them.
#[derive(Clone, Debug)]
pub enum DiscoveryError {
    Read(Arc<std::io::Error>),
    Json(Arc<serde_json::Error>),
    Yaml(yaml::Error),
    /// JSON of the wrong shape (`expected a list of target groups`, ...).
    Shape(&'static str),
    UnknownField(String),
    InvalidLabelName(String),
    Http(crate::http::client::Error),
    ContentType(String),
    NotUtf8(std::str::Utf8Error),
    Dns(Arc<super::dns::Error>),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Read(e) => e.fmt(f),
            DiscoveryError::Json(e) => e.fmt(f),
            DiscoveryError::Yaml(e) => e.fmt(f),
            DiscoveryError::Shape(what) => f.write_str(what),
            DiscoveryError::UnknownField(k) => write!(f, "unknown field {k:?} in target group"),
            DiscoveryError::InvalidLabelName(n) => write!(f, "{n:?} is not a valid label name"),
            DiscoveryError::Http(e) => e.fmt(f),
            DiscoveryError::ContentType(ct) => write!(f, "unsupported content type {ct:?}"),
            DiscoveryError::NotUtf8(e) => e.fmt(f),
            DiscoveryError::Dns(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DiscoveryError {}

/// A discovery source that failed, and why.
#[derive(Clone, Debug)]
pub struct SourceError {
    pub source: Source,
    pub error: DiscoveryError,
}

/// Where targets were to come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Http(String),
    Dns,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::File(p) => write!(f, "file discovery: {}: {}", p.display(), self.error),
            Source::Http(url) => write!(f, "http discovery: {url}: {}", self.error),
            Source::Dns => write!(f, "dns discovery: {}", self.error),
        }
    }
}

impl std::error::Error for SourceError {}

/// What `check` finds wrong beyond decoding, in promtool's words.
#[derive(Clone, Debug)]
pub enum CheckError {
    CredentialsFile {
        path: PathBuf,
        err: Arc<std::io::Error>,
    },
    /// A client certificate or key file (`what`) that cannot be read.
    CertFile {
        what: &'static str,
        path: PathBuf,
        err: Arc<std::io::Error>,
    },
    /// A target that relabeling leaves invalid.
    Target {
        index: usize,
        group: String,
        why: super::target::TargetError,
    },
    SdFile {
        pattern: String,
        err: DiscoveryError,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::CredentialsFile { path, err } => write!(
                f,
                "error checking authorization credentials or bearer token file {:?}: {err}",
                path.display().to_string()
            ),
            CheckError::CertFile { what, path, err } => write!(
                f,
                "error checking {what} file {:?}: {err}",
                path.display().to_string()
            ),
            CheckError::Target { index, group, why } => {
                write!(f, "instance {index} in group {group}: {why}")
            }
            CheckError::SdFile { pattern, err } => write!(f, "checking SD file {pattern:?}: {err}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// A `file_sd_configs` pattern that names no file (a warning: the file may come later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSdFile {
    pub pattern: String,
    pub job: String,
}

impl fmt::Display for MissingSdFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "file {:?} for file_sd in scrape job {:?} does not exist",
            self.pattern, self.job
        )
    }
}

/// A job's target groups, and whether every source answered.
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    pub groups: Vec<TargetGroup>,
    /// False when a file, HTTP endpoint or DNS name failed: its targets are missing from
    /// `groups` (Prometheus keeps the last ones it had; see `scrape::round`).
    pub complete: bool,
}

/// Every target group of a job; each source that fails is reported to `warn`, and the
/// others go on, as in Prometheus.
pub fn discover(cfg: &ScrapeConfig, warn: &mut dyn FnMut(SourceError)) -> Discovered {
    let mut out = Discovered {
        groups: cfg.static_configs.clone(),
        complete: true,
    };
    for sd in &cfg.file_sd_configs {
        for pattern in &sd.files {
            for path in expand(Path::new(pattern)) {
                match read_file(&path) {
                    Ok(groups) => out.groups.extend(groups),
                    Err(error) => {
                        out.complete = false;
                        warn(SourceError {
                            source: Source::File(path),
                            error,
                        })
                    }
                }
            }
        }
    }
    for sd in &cfg.http_sd_configs {
        match http_groups(sd) {
            Ok(groups) => out.groups.extend(groups),
            Err(error) => {
                out.complete = false;
                warn(SourceError {
                    source: Source::Http(sd.url.clone()),
                    error,
                })
            }
        }
    }
    for sd in &cfg.dns_sd_configs {
        match dns_groups(sd) {
            Ok(groups) => out.groups.extend(groups),
            Err(error) => {
                out.complete = false;
                warn(SourceError {
                    source: Source::Dns,
                    error,
                })
            }
        }
    }
    out
}

/// Prometheus's HTTP discovery: a JSON list of target groups from `url` (status 200,
/// `Content-Type: application/json`), each labeled `__meta_url`.
fn http_groups(sd: &HttpSd) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let client = crate::http::client::Client::new(&sd.client).map_err(DiscoveryError::Http)?;
    let refresh = format!("{}", sd.refresh_interval_ms as f64 / 1000.0);
    let headers = [
        ("Accept", "application/json".to_string()),
        ("X-Prometheus-Refresh-Interval-Seconds", refresh),
    ];
    let body = client
        .get(&crate::http::client::Request {
            url: &sd.url,
            headers: &headers,
            timeout: std::time::Duration::from_secs(30),
            limit: crate::http::client::DEFAULT_BODY_CAP,
            gzip: true,
        })
        .map_err(DiscoveryError::Http)?;
    let ct = body
        .content_type
        .trim()
        .to_ascii_lowercase()
        .replace(' ', "");
    if !matches!(
        ct.as_str(),
        "application/json"
            | "application/json;charset=utf-8"
            | "application/json;charset=\"utf-8\""
    ) {
        return Err(DiscoveryError::ContentType(body.content_type));
    }
    let text =
        String::from_utf8(body.bytes).map_err(|e| DiscoveryError::NotUtf8(e.utf8_error()))?;
    let raw = from_json(&text)?;
    check_names(&raw)?;
    Ok(raw
        .into_iter()
        .enumerate()
        .map(|(i, (targets, mut labels))| {
            labels.retain(|(n, _)| n != "__meta_url");
            labels.push(("__meta_url".into(), sd.url.clone()));
            TargetGroup {
                targets,
                labels,
                source: format!("{}:{i}", sd.url),
                local: false,
            }
        })
        .collect())
}

/// Refuses a group with an invalid label name, in Prometheus's words.
fn check_names(raw: &RawGroups) -> Result<(), DiscoveryError> {
    match raw
        .iter()
        .flat_map(|(_, l)| l)
        .find(|(n, _)| !crate::model::labels::is_valid_name(n))
    {
        Some((n, _)) => Err(DiscoveryError::InvalidLabelName(n.clone())),
        None => Ok(()),
    }
}

/// DNS discovery (A, AAAA, SRV) with the resolvers of /etc/resolv.conf. Prometheus gives
/// one group per name whose targets carry their own `__meta_dns_*` labels; here each target
/// is a group of one with those labels, which relabels the same.
fn dns_groups(sd: &DnsSd) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let conf = super::dns::ResolvConf::load();
    let qtype = match sd.kind {
        DnsType::Srv => super::dns::QueryType::Srv,
        DnsType::A => super::dns::QueryType::A,
        DnsType::Aaaa => super::dns::QueryType::Aaaa,
    };
    let mut out = Vec::new();
    for name in &sd.names {
        let found = super::dns::lookup(&conf, name, qtype, sd.port)
            .map_err(|e| DiscoveryError::Dns(Arc::new(e)))?;
        for f in found {
            out.push(TargetGroup {
                targets: vec![f.address],
                labels: f.labels,
                source: name.clone(),
                local: false,
            });
        }
    }
    Ok(out)
}

/// promtool's `check config` beyond decoding: credential and certificate files exist,
/// static and file-discovered targets survive relabeling. Returns warnings (a missing
/// discovery file), or the first problem in promtool's wording.
pub fn check(cfg: &super::config::Config) -> Result<Vec<MissingSdFile>, CheckError> {
    let mut warnings = Vec::new();
    let exists = |p: &Path| std::fs::metadata(p).map(|_| ()).map_err(Arc::new);
    for sc in &cfg.scrape_configs {
        if let Some(f) = sc
            .client
            .authorization
            .as_ref()
            .and_then(|a| a.credentials_file.as_ref())
        {
            exists(f).map_err(|err| CheckError::CredentialsFile {
                path: f.clone(),
                err,
            })?;
        }
        let tls = &sc.client.tls;
        for (f, what) in [
            (&tls.cert_file, "client cert"),
            (&tls.key_file, "client key"),
        ] {
            if let Some(f) = f {
                exists(f).map_err(|err| CheckError::CertFile {
                    what,
                    path: f.clone(),
                    err,
                })?;
            }
        }
        let check_groups = |groups: &[TargetGroup]| -> Result<(), CheckError> {
            for tg in groups {
                for (i, t) in super::target::from_group(sc, tg).iter().enumerate() {
                    if let super::target::State::Invalid(why) = &t.state {
                        return Err(CheckError::Target {
                            index: i,
                            group: tg.source.clone(),
                            why: why.clone(),
                        });
                    }
                }
            }
            Ok(())
        };
        check_groups(&sc.static_configs)?;
        for sd in &sc.file_sd_configs {
            for pattern in &sd.files {
                let files = expand(Path::new(pattern));
                let files: Vec<PathBuf> = files.into_iter().filter(|f| f.exists()).collect();
                if files.is_empty() {
                    warnings.push(MissingSdFile {
                        pattern: pattern.clone(),
                        job: sc.job_name.clone(),
                    });
                }
                for f in files {
                    let groups = read_file(&f).map_err(|err| CheckError::SdFile {
                        pattern: pattern.clone(),
                        err,
                    })?;
                    check_groups(&groups)?;
                }
            }
        }
    }
    Ok(warnings)
}

/// The files a pattern names: itself, or with a `*` in its last segment, the matching files
/// of its directory (sorted).
pub(crate) fn expand(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(star) = name.find('*') else {
        return vec![pattern.to_path_buf()];
    };
    let (pre, post) = (&name[..star], &name[star + 1..]);
    let dir = match pattern.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            (n.len() >= pre.len() + post.len() && n.starts_with(pre) && n.ends_with(post))
                .then(|| e.path())
        })
        .collect();
    out.sort();
    out
}

/// A file's target groups: a list of `{targets: [...], labels: {...}}`.
fn read_file(path: &Path) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let text = std::fs::read_to_string(path).map_err(|e| DiscoveryError::Read(Arc::new(e)))?;
    let file = path.to_string_lossy().into_owned();
    let is_json = path.extension().is_some_and(|e| e == "json");
    let raw: RawGroups = if is_json {
        from_json(&text)?
    } else {
        from_yaml(&text).map_err(DiscoveryError::Yaml)?
    };
    check_names(&raw)?;
    Ok(raw
        .into_iter()
        .enumerate()
        .map(|(i, (targets, mut labels))| {
            labels.push(("__meta_filepath".into(), file.clone()));
            TargetGroup {
                targets,
                labels,
                source: format!("{file}:{i}"),
                local: false,
            }
        })
        .collect())
}

type RawGroups = Vec<(Vec<String>, Vec<(String, String)>)>;

fn from_json(text: &str) -> Result<RawGroups, DiscoveryError> {
    use DiscoveryError::Shape;
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DiscoveryError::Json(Arc::new(e)))?;
    let arr = v
        .as_array()
        .ok_or(Shape("expected a list of target groups"))?;
    let mut out = Vec::new();
    for g in arr {
        let obj = g
            .as_object()
            .ok_or(Shape("expected a target group object"))?;
        let mut targets = Vec::new();
        let mut labels = Vec::new();
        for (k, val) in obj {
            match k.as_str() {
                "targets" => {
                    for t in val.as_array().ok_or(Shape("targets must be a list"))? {
                        let t = t.as_str().ok_or(Shape("a target must be a string"))?;
                        targets.push(t.to_string());
                    }
                }
                "labels" => {
                    for (n, lv) in val.as_object().ok_or(Shape("labels must be an object"))? {
                        let lv = lv.as_str().ok_or(Shape("a label value must be a string"))?;
                        labels.push((n.clone(), lv.to_string()));
                    }
                }
                other => return Err(DiscoveryError::UnknownField(other.to_string())),
            }
        }
        out.push((targets, labels));
    }
    Ok(out)
}

fn from_yaml(text: &str) -> yaml::Result<RawGroups> {
    let root = yaml::parse(text)?;
    let mut out = Vec::new();
    for g in root.seq()? {
        let mut f = g.map("targetgroup.plain")?;
        let targets = match f.get("targets") {
            Some(t) => t.strings()?,
            None => Vec::new(),
        };
        let labels = match f.get("labels") {
            Some(l) if matches!(l.kind, Kind::Map(_)) => l
                .string_map()?
                .into_iter()
                .map(|(k, v, _)| (k, v))
                .collect(),
            Some(l) => return Err(yaml::Error::new(l.pos, "labels must be a mapping")),
            None => Vec::new(),
        };
        f.finish()?;
        out.push((targets, labels));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_groups_json_yaml_and_globs() {
        let dir = std::env::temp_dir().join(format!("prombox-fsd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.json"),
            r#"[{"targets": ["x:1", "y:2"], "labels": {"env": "a"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.join("b.yml"), "- targets: ['z:3']\n").unwrap();
        std::fs::write(dir.join("bad.json"), "[{").unwrap();
        std::fs::write(
            dir.join("c.json"),
            r#"[{"targets": ["w:1"], "labels": {"": "x"}}]"#,
        )
        .unwrap();
        let cfg = format!(
            "scrape_configs:\n- job_name: j\n  file_sd_configs:\n  - files: ['{0}/*.json', '{0}/b.yml']\n",
            dir.display()
        );
        let sc = crate::scrape::config::parse(&cfg, &dir)
            .unwrap()
            .scrape_configs
            .remove(0);
        let mut warnings = Vec::new();
        let d = discover(&sc, &mut |w| warnings.push(w.to_string()));
        assert!(!d.complete);
        let groups = d.groups;
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].targets, vec!["x:1", "y:2"]);
        assert!(groups[0].labels.contains(&("env".into(), "a".into())));
        assert_eq!(groups[1].targets, vec!["z:3"]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("bad.json"));
        assert!(warnings[1].contains("c.json: \"\" is not a valid label name"));
        assert!(warnings[1].starts_with("file discovery: "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
