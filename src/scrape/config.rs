//! The `global` and `scrape_configs` sections of a Prometheus 3.x configuration file, decoded
//! strictly (an unknown field is an error at its line and column) with Prometheus's defaults
//! and validation rules: job intervals and limits inherit from `global`, a timeout may not
//! exceed its interval, job names are unique.
//!
//! `rule_files` patterns are kept, resolved against the file's directory. Other top-level
//! sections (`alerting`, `remote_write`, ...) are accepted and
//! listed in [`Config::ignored`] so the caller can say they are not used here. Features of
//! prometheus.yml that prombox does not implement (service discoveries other than static,
//! file, HTTP and DNS; OAuth 2; proxies) are refused with an error rather than ignored, so a
//! config never means something else than it says.

use std::path::{Path, PathBuf};

use super::relabel::{Action, Regex, RelabelConfig};
use crate::model::labels::is_valid_name;
use crate::model::Labels;
use crate::yaml::{self, Error, Fields, Kind, Node, Pos, Result};

/// A decoded configuration file.
#[derive(Clone, Debug)]
pub struct Config {
    pub global: Global,
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `rule_files` patterns, relative ones joined to the config's directory.
    pub rule_files: Vec<PathBuf>,
    /// Top-level sections present but not used by scraping.
    pub ignored: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Global {
    pub scrape_interval_ms: i64,
    /// How often rule groups are evaluated by default.
    pub evaluation_interval_ms: i64,
    /// How far before each evaluation rule queries look, for groups that set none.
    pub rule_query_offset_ms: i64,
    pub scrape_timeout_ms: i64,
    pub external_labels: Labels,
    pub scrape_protocols: Option<Vec<Protocol>>,
    pub limits: Limits,
}

/// Per-scrape limits; 0 is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub body_size: u64,
    pub samples: u64,
    pub targets: u64,
    pub labels: u64,
    pub label_name_length: u64,
    pub label_value_length: u64,
}

/// A format a target may be asked for (`scrape_protocols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    PrometheusProto,
    PrometheusText004,
    PrometheusText100,
    OpenMetricsText001,
    OpenMetricsText100,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [
        Protocol::OpenMetricsText001,
        Protocol::OpenMetricsText100,
        Protocol::PrometheusProto,
        Protocol::PrometheusText004,
        Protocol::PrometheusText100,
    ];
    pub const DEFAULT: [Protocol; 4] = [
        Protocol::OpenMetricsText100,
        Protocol::OpenMetricsText001,
        Protocol::PrometheusText100,
        Protocol::PrometheusText004,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::PrometheusProto => "PrometheusProto",
            Protocol::PrometheusText004 => "PrometheusText0.0.4",
            Protocol::PrometheusText100 => "PrometheusText1.0.0",
            Protocol::OpenMetricsText001 => "OpenMetricsText0.0.1",
            Protocol::OpenMetricsText100 => "OpenMetricsText1.0.0",
        }
    }

    /// The media type sent in the Accept header.
    pub fn media_type(self) -> &'static str {
        match self {
            Protocol::PrometheusProto => {
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            }
            Protocol::PrometheusText004 => "text/plain;version=0.0.4",
            Protocol::PrometheusText100 => "text/plain;version=1.0.0",
            Protocol::OpenMetricsText001 => "application/openmetrics-text;version=0.0.1",
            Protocol::OpenMetricsText100 => "application/openmetrics-text;version=1.0.0",
        }
    }

    fn parse(s: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

pub use crate::http::client::{Authorization, BasicAuth, HttpClient, TlsConfig};

/// A group of targets with common labels (a `static_configs` entry, or one from file or
/// HTTP discovery).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: Vec<(String, String)>,
    /// Where the group came from (`static_configs/0`, a file name, a URL).
    pub source: String,
    /// Written in the config file itself (`static_configs`): only such groups may hold
    /// `file://`, `exec://` and `host://` targets.
    pub local: bool,
}

#[derive(Clone, Debug)]
pub struct FileSd {
    pub files: Vec<String>,
    pub refresh_interval_ms: i64,
}

#[derive(Clone, Debug)]
pub struct HttpSd {
    pub url: String,
    pub refresh_interval_ms: i64,
    pub client: HttpClient,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsType {
    Srv,
    A,
    Aaaa,
}

#[derive(Clone, Debug)]
pub struct DnsSd {
    pub names: Vec<String>,
    pub kind: DnsType,
    pub port: u16,
    pub refresh_interval_ms: i64,
}

#[derive(Clone, Debug)]
pub struct ScrapeConfig {
    pub job_name: String,
    pub pos: Pos,
    pub scrape_interval_ms: i64,
    pub scrape_timeout_ms: i64,
    pub metrics_path: String,
    pub scheme: Scheme,
    pub params: Vec<(String, Vec<String>)>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub track_timestamps_staleness: bool,
    pub enable_compression: bool,
    pub scrape_protocols: Vec<Protocol>,
    pub fallback_protocol: Option<Protocol>,
    pub limits: Limits,
    pub client: HttpClient,
    pub static_configs: Vec<TargetGroup>,
    pub file_sd_configs: Vec<FileSd>,
    pub http_sd_configs: Vec<HttpSd>,
    pub dns_sd_configs: Vec<DnsSd>,
    pub relabel_configs: Vec<RelabelConfig>,
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

/// Top-level sections Prometheus knows that scraping does not use.
const OTHER_SECTIONS: [&str; 8] = [
    "runtime",
    "alerting",
    "scrape_config_files",
    "storage",
    "tracing",
    "remote_write",
    "remote_read",
    "otlp",
];

/// Service discoveries Prometheus has and prombox does not.
const UNSUPPORTED_SD: [&str; 26] = [
    "azure_sd_configs",
    "consul_sd_configs",
    "digitalocean_sd_configs",
    "docker_sd_configs",
    "dockerswarm_sd_configs",
    "ec2_sd_configs",
    "eureka_sd_configs",
    "gce_sd_configs",
    "hetzner_sd_configs",
    "ionos_sd_configs",
    "kubernetes_sd_configs",
    "kuma_sd_configs",
    "lightsail_sd_configs",
    "linode_sd_configs",
    "marathon_sd_configs",
    "nerve_sd_configs",
    "nomad_sd_configs",
    "openstack_sd_configs",
    "ovhcloud_sd_configs",
    "puppetdb_sd_configs",
    "scaleway_sd_configs",
    "serverset_sd_configs",
    "stackit_sd_configs",
    "triton_sd_configs",
    "uyuni_sd_configs",
    "vultr_sd_configs",
];

/// Why a configuration file could not be used.
#[derive(Debug)]
pub enum LoadError {
    Read {
        path: PathBuf,
        err: std::io::Error,
    },
    /// The text is not a valid config; the error has the line and column.
    Invalid {
        path: PathBuf,
        err: Error,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read { path, err } => write!(f, "{}: {err}", path.display()),
            LoadError::Invalid { path, err } => write!(f, "{}:{err}", path.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and decodes a configuration file. Errors carry the line and column.
pub fn load(path: &Path) -> std::result::Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|err| LoadError::Read {
        path: path.to_path_buf(),
        err,
    })?;
    parse(&text, path.parent().unwrap_or(Path::new("."))).map_err(|err| LoadError::Invalid {
        path: path.to_path_buf(),
        err,
    })
}

/// The config `prombox scrape` runs without `--config`: one job, `node`, scraping the
/// built-in host collector every minute, its `instance` the host's name.
pub fn builtin(hostname: &str) -> Config {
    let text = format!(
        "scrape_configs:\n- job_name: node\n  static_configs:\n  - targets: ['host://']\n    labels: {{instance: {}}}\n",
        serde_json::to_string(hostname).unwrap_or_else(|_| "localhost".into())
    );
    parse(&text, Path::new(".")).expect("the built-in config is valid")
}

/// Decodes configuration text; relative file names in it are resolved against `dir` (the
/// directory of the file, as Prometheus does).
pub fn parse(text: &str, dir: &Path) -> Result<Config> {
    let root = yaml::parse(text)?;
    let mut f = root.map("config.plain")?;
    let global = match f.get("global") {
        Some(g) => decode_global(g)?,
        None => default_global(),
    };
    let mut ignored = Vec::new();
    for s in OTHER_SECTIONS {
        if f.get(s).is_some() {
            ignored.push(s.to_string());
        }
    }
    let mut rule_files = Vec::new();
    if let Some(list) = f.get("rule_files") {
        for n in list.seq()? {
            let p = n.str()?;
            // Prometheus's `patRulePath`: a `*` only in the last path element.
            let bad = p.find('*').is_some_and(|i| p[i + 1..].contains(['*', '/']));
            if bad {
                return Err(Error::new(n.pos, format!("invalid rule file path {p:?}")));
            }
            rule_files.push(if p.is_empty() {
                PathBuf::new()
            } else {
                path_in(dir, p)
            });
        }
    }
    let mut scrape_configs: Vec<ScrapeConfig> = Vec::new();
    if let Some(list) = f.get("scrape_configs") {
        for n in list.seq()? {
            if n.is_null() {
                return Err(Error::new(n.pos, "empty or null scrape config section"));
            }
            let sc = decode_scrape(n, &global, dir)?;
            if scrape_configs.iter().any(|o| o.job_name == sc.job_name) {
                return Err(Error::new(
                    sc.pos,
                    format!(
                        "found multiple scrape configs with job name {:?}",
                        sc.job_name
                    ),
                ));
            }
            scrape_configs.push(sc);
        }
    }
    f.finish()?;
    Ok(Config {
        global,
        scrape_configs,
        rule_files,
        ignored,
    })
}

/// The `alerting` section: where alerts go, and how they are relabeled first.
#[derive(Clone, Debug, Default)]
pub struct Alerting {
    /// `global.external_labels`, added to every alert that lacks them.
    pub external_labels: Labels,
    /// Applied to every alert, before each Alertmanager set's own.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// One `alertmanagers` entry: a set of Alertmanagers that get the same alerts.
#[derive(Clone, Debug)]
pub struct AlertmanagerConfig {
    pub scheme: String,
    pub path_prefix: String,
    pub timeout_ms: i64,
    pub client: HttpClient,
    pub static_configs: Vec<TargetGroup>,
    /// Applied to the Alertmanagers' target labels (`__address__`, `__scheme__`,
    /// `__alerts_path__`).
    pub relabel_configs: Vec<RelabelConfig>,
    pub alert_relabel_configs: Vec<RelabelConfig>,
}

/// Reads the `alerting` section (and the external labels) of a config file, decoded as
/// strictly as Prometheus decodes it; the rest of the file is checked by [`load`].
pub fn load_alerting(path: &Path) -> std::result::Result<Alerting, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|err| LoadError::Read {
        path: path.to_path_buf(),
        err,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let invalid = |err| LoadError::Invalid {
        path: path.to_path_buf(),
        err,
    };
    let cfg = parse(&text, dir).map_err(invalid)?;
    let root = yaml::parse(&text).map_err(invalid)?;
    let mut f = root.map("config.plain").map_err(invalid)?;
    let mut a = Alerting {
        external_labels: cfg.global.external_labels,
        ..Alerting::default()
    };
    if let Some(n) = f.get("alerting") {
        decode_alerting(n, dir, &mut a).map_err(invalid)?;
    }
    Ok(a)
}

/// A `static_configs` list.
fn decode_static(v: &Node) -> Result<Vec<TargetGroup>> {
    let mut out = Vec::new();
    for (i, item) in v.seq()?.iter().enumerate() {
        let mut tf = item.map("targetgroup.plain")?;
        let mut tg = TargetGroup {
            targets: Vec::new(),
            labels: Vec::new(),
            source: i.to_string(),
            local: true,
        };
        if let Some(t) = tf.get("targets") {
            // Addresses are checked after relabeling, which may rewrite them.
            tg.targets = t.strings()?;
        }
        if let Some(l) = tf.get("labels") {
            tg.labels = label_pairs(l)?;
        }
        tf.finish()?;
        out.push(tg);
    }
    Ok(out)
}

fn relabel_list(n: &Node, what: &str) -> Result<Vec<RelabelConfig>> {
    let mut out = Vec::new();
    for item in n.seq()? {
        if item.is_null() {
            return Err(Error::new(
                item.pos,
                format!("empty or null {what} relabeling rule"),
            ));
        }
        out.push(decode_relabel(item)?);
    }
    Ok(out)
}

fn decode_alerting(n: &Node, dir: &Path, a: &mut Alerting) -> Result<()> {
    let mut f = n.map("config.AlertingConfig")?;
    if let Some(v) = f.get("alert_relabel_configs") {
        a.alert_relabel_configs = relabel_list(v, "alert")?;
    }
    if let Some(v) = f.get("alertmanagers") {
        for item in v.seq()? {
            let mut af = item.map("config.AlertmanagerConfig")?;
            let mut am = AlertmanagerConfig {
                scheme: "http".into(),
                path_prefix: String::new(),
                timeout_ms: 10_000,
                client: HttpClient::default(),
                static_configs: Vec::new(),
                relabel_configs: Vec::new(),
                alert_relabel_configs: Vec::new(),
            };
            if let Some(v) = af.get("scheme") {
                am.scheme = v.str()?.to_string();
                if am.scheme != "http" && am.scheme != "https" {
                    return Err(Error::new(
                        v.pos,
                        format!("unsupported scheme {:?} for alertmanager", am.scheme),
                    ));
                }
            }
            if let Some(v) = af.get("path_prefix") {
                am.path_prefix = v.str()?.to_string();
            }
            if let Some(v) = af.get("timeout") {
                am.timeout_ms = duration(v)?;
            }
            if let Some(v) = af.get("api_version") {
                let ver = v.str()?;
                if ver != "v2" {
                    return Err(Error::new(
                        v.pos,
                        format!(
                            "expected Alertmanager api version to be one of [v2] but got {ver}"
                        ),
                    ));
                }
            }
            am.client = decode_client(&mut af, dir)?;
            if let Some(v) = af.get("static_configs") {
                am.static_configs = decode_static(v)?;
            }
            if let Some(v) = af.get("relabel_configs") {
                am.relabel_configs = relabel_list(v, "alertmanager target")?;
            }
            if let Some(v) = af.get("alert_relabel_configs") {
                am.alert_relabel_configs = relabel_list(v, "alert")?;
            }
            let sd = af.rest().find_map(|(k, _)| {
                k.str()
                    .ok()
                    .filter(|n| n.ends_with("_sd_configs"))
                    .map(|n| (k.pos, n))
            });
            if let Some((pos, name)) = sd {
                return Err(Error::new(
                    pos,
                    format!("{name} for alertmanagers is not supported by prombox yet (static_configs are)"),
                ));
            }
            af.finish()?;
            a.alertmanagers.push(am);
        }
    }
    f.finish()
}

fn default_global() -> Global {
    Global {
        scrape_interval_ms: 60_000,
        evaluation_interval_ms: 60_000,
        rule_query_offset_ms: 0,
        scrape_timeout_ms: 10_000,
        external_labels: Labels::new(),
        scrape_protocols: None,
        limits: Limits::default(),
    }
}

fn duration(n: &Node) -> Result<i64> {
    let s = n.str()?;
    crate::model::time::parse_duration(s)
        .map_err(|_| Error::new(n.pos, format!("not a valid duration string: {:?}", s)))
}

fn bytes(n: &Node) -> Result<u64> {
    let s = n.str()?;
    crate::model::time::parse_bytes(s).map_err(|e| Error::new(n.pos, e.to_string()))
}

fn limits(f: &mut Fields, base: Limits) -> Result<Limits> {
    let mut l = base;
    if let Some(n) = f.get("body_size_limit") {
        let v = bytes(n)?;
        if v > 0 {
            l.body_size = v;
        }
    }
    for (name, slot) in [
        ("sample_limit", &mut l.samples),
        ("target_limit", &mut l.targets),
        ("label_limit", &mut l.labels),
        ("label_name_length_limit", &mut l.label_name_length),
        ("label_value_length_limit", &mut l.label_value_length),
    ] {
        if let Some(n) = f.get(name) {
            let v = n.uint()?;
            if v > 0 {
                *slot = v;
            }
        }
    }
    Ok(l)
}

fn protocols(n: &Node) -> Result<Vec<Protocol>> {
    let items = n.seq()?;
    if items.is_empty() {
        return Err(Error::new(n.pos, "scrape_protocols cannot be empty"));
    }
    let mut out: Vec<Protocol> = Vec::new();
    for it in items {
        let p = protocol(it)?;
        if out.contains(&p) {
            let names: Vec<&str> = items.iter().filter_map(|i| i.str().ok()).collect();
            return Err(Error::new(
                it.pos,
                format!(
                    "duplicated protocol in scrape_protocols, got [{}]",
                    names.join(" ")
                ),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn protocol(n: &Node) -> Result<Protocol> {
    let s = n.str()?;
    Protocol::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.name()).collect();
        Error::new(
            n.pos,
            format!(
                "unknown scrape protocol {s}, supported: [{}]",
                names.join(" ")
            ),
        )
    })
}

fn label_pairs(n: &Node) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v, pos) in n.string_map()? {
        if !is_valid_name(&k) {
            return Err(Error::new(pos, format!("{k:?} is not a valid label name")));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn decode_global(n: &Node) -> Result<Global> {
    let mut f = n.map("config.GlobalConfig")?;
    let mut g = default_global();
    if let Some(v) = f.get("scrape_interval") {
        g.scrape_interval_ms = duration(v)?;
    }
    let timeout = f.get("scrape_timeout");
    if let Some(v) = timeout {
        g.scrape_timeout_ms = duration(v)?;
    }
    if g.scrape_timeout_ms > g.scrape_interval_ms {
        if timeout.is_some() {
            return Err(Error::new(
                n.pos,
                "global scrape timeout greater than scrape interval",
            ));
        }
        // Only the interval was set below the default timeout: the timeout follows it.
        g.scrape_timeout_ms = g.scrape_interval_ms;
    }
    if let Some(v) = f.get("external_labels") {
        let pairs = label_pairs(v)?;
        g.external_labels = Labels::from_pairs(pairs.into_iter().filter(|(_, v)| !v.is_empty()))
            .map_err(|e| Error::new(v.pos, e.to_string()))?;
    }
    if let Some(v) = f.get("scrape_protocols") {
        g.scrape_protocols = Some(protocols(v)?);
    }
    g.limits = limits(&mut f, Limits::default())?;
    if let Some(v) = f.get("evaluation_interval") {
        g.evaluation_interval_ms = duration(v)?;
    }
    if let Some(v) = f.get("rule_query_offset") {
        g.rule_query_offset_ms = duration(v)?;
    }
    for s in [
        "query_log_file",
        "scrape_failure_log_file",
        "keep_dropped_targets",
        "metric_name_validation_scheme",
        "metric_name_escaping_scheme",
        "scrape_native_histograms",
        "convert_classic_histograms_to_nhcb",
        "always_scrape_classic_histograms",
        "extra_scrape_metrics",
    ] {
        f.skip(s);
    }
    f.finish()?;
    Ok(g)
}

fn path_in(dir: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The HTTP client fields of a job or an HTTP discovery (Prometheus inlines them).
fn decode_client(f: &mut Fields, dir: &Path) -> Result<HttpClient> {
    let mut c = HttpClient::default();
    for s in ["oauth2", "proxy_url", "no_proxy", "proxy_connect_header"] {
        if let Some(v) = f.get(s) {
            return Err(Error::new(
                v.pos,
                format!("{s} is not supported by prombox"),
            ));
        }
    }
    if let Some(v) = f.get("proxy_from_environment") {
        if v.bool()? {
            return Err(Error::new(
                v.pos,
                "proxy_from_environment is not supported by prombox",
            ));
        }
    }
    f.skip("enable_http2");
    if let Some(v) = f.get("follow_redirects") {
        c.follow_redirects = v.bool()?;
    }
    if let Some(v) = f.get("basic_auth") {
        let mut b = v.map("config.BasicAuth")?;
        let mut ba = BasicAuth::default();
        if let Some(x) = b.get("username") {
            ba.username = x.str()?.to_string();
        }
        if let Some(x) = b.get("username_file") {
            ba.username_file = Some(path_in(dir, x.str()?));
        }
        if let Some(x) = b.get("password") {
            ba.password = x.str()?.to_string();
        }
        if let Some(x) = b.get("password_file") {
            ba.password_file = Some(path_in(dir, x.str()?));
        }
        b.finish()?;
        if !ba.username.is_empty() && ba.username_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of basic_auth username & username_file must be configured",
            ));
        }
        if !ba.password.is_empty() && ba.password_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of basic_auth password & password_file must be configured",
            ));
        }
        c.basic_auth = Some(ba);
    }
    if let Some(v) = f.get("authorization") {
        let mut a = v.map("config.Authorization")?;
        let mut au = Authorization {
            kind: "Bearer".into(),
            credentials: String::new(),
            credentials_file: None,
        };
        if let Some(x) = a.get("type") {
            au.kind = x.str()?.to_string();
        }
        if let Some(x) = a.get("credentials") {
            au.credentials = x.str()?.to_string();
        }
        if let Some(x) = a.get("credentials_file") {
            au.credentials_file = Some(path_in(dir, x.str()?));
        }
        a.finish()?;
        if au.kind.eq_ignore_ascii_case("basic") {
            return Err(Error::new(
                v.pos,
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ));
        }
        if !au.credentials.is_empty() && au.credentials_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of authorization credentials & credentials_file must be configured",
            ));
        }
        c.authorization = Some(au);
    }
    let bearer = f.get("bearer_token");
    let bearer_file = f.get("bearer_token_file");
    if let Some(v) = bearer.or(bearer_file) {
        if bearer.is_some() && bearer_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of bearer_token & bearer_token_file must be configured",
            ));
        }
        if c.authorization.is_some() || c.basic_auth.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ));
        }
        c.authorization = Some(Authorization {
            kind: "Bearer".into(),
            credentials: bearer
                .map(|b| b.str())
                .transpose()?
                .unwrap_or("")
                .to_string(),
            credentials_file: bearer_file
                .map(|b| b.str().map(|s| path_in(dir, s)))
                .transpose()?,
        });
    }
    if c.basic_auth.is_some() && c.authorization.is_some() {
        return Err(Error::new(
            Pos::default(),
            "at most one of basic_auth, oauth2 & authorization must be configured",
        ));
    }
    if let Some(v) = f.get("tls_config") {
        let mut t = v.map("config.TLSConfig")?;
        let tls = &mut c.tls;
        for (name, slot) in [
            ("ca_file", &mut tls.ca_file),
            ("cert_file", &mut tls.cert_file),
            ("key_file", &mut tls.key_file),
        ] {
            if let Some(x) = t.get(name) {
                *slot = Some(path_in(dir, x.str()?));
            }
        }
        for (name, slot) in [
            ("ca", &mut tls.ca),
            ("cert", &mut tls.cert),
            ("key", &mut tls.key),
            ("server_name", &mut tls.server_name),
        ] {
            if let Some(x) = t.get(name) {
                *slot = Some(x.str()?.to_string());
            }
        }
        if let Some(x) = t.get("insecure_skip_verify") {
            tls.insecure_skip_verify = x.bool()?;
        }
        for s in ["min_version", "max_version"] {
            if let Some(x) = t.get(s) {
                return Err(Error::new(
                    x.pos,
                    format!("tls_config {s} is not supported by prombox"),
                ));
            }
        }
        t.finish()?;
        if tls.ca.is_some() && tls.ca_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of ca and ca_file must be configured",
            ));
        }
        if tls.cert.is_some() && tls.cert_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of cert and cert_file must be configured",
            ));
        }
        if tls.key.is_some() && tls.key_file.is_some() {
            return Err(Error::new(
                v.pos,
                "at most one of key and key_file must be configured",
            ));
        }
        let has_cert = tls.cert.is_some() || tls.cert_file.is_some();
        let has_key = tls.key.is_some() || tls.key_file.is_some();
        if has_cert != has_key {
            return Err(Error::new(
                v.pos,
                if has_cert {
                    "exactly one of key or key_file must be configured when a client certificate is configured"
                } else {
                    "exactly one of cert or cert_file must be configured when a client key is configured"
                },
            ));
        }
    }
    if let Some(v) = f.get("http_headers") {
        let entries: &[(Node, Node)] = match &v.kind {
            Kind::Map(e) => e,
            _ => {
                return Err(Error::new(
                    v.pos,
                    "cannot unmarshal http_headers into config.Headers",
                ))
            }
        };
        for (k, h) in entries {
            let mut hf = h.map("config.Header")?;
            let mut vals = Vec::new();
            if let Some(x) = hf.get("values") {
                vals.extend(x.strings()?);
            }
            for s in ["secrets", "files"] {
                if let Some(x) = hf.get(s) {
                    return Err(Error::new(
                        x.pos,
                        format!("http_headers {s} are not supported by prombox"),
                    ));
                }
            }
            hf.finish()?;
            let name = k.str()?.to_string();
            let lower = name.to_ascii_lowercase();
            if [
                "authorization",
                "user-agent",
                "accept",
                "accept-encoding",
                "content-type",
                "content-length",
                "x-prometheus-scrape-timeout-seconds",
            ]
            .contains(&lower.as_str())
            {
                return Err(Error::new(
                    k.pos,
                    format!("{name} is a reserved header. It must not be changed"),
                ));
            }
            for val in vals {
                c.headers.push((name.clone(), val));
            }
        }
    }
    Ok(c)
}

fn refresh(f: &mut Fields, default_ms: i64) -> Result<i64> {
    match f.get("refresh_interval") {
        Some(v) => duration(v),
        None => Ok(default_ms),
    }
}

fn decode_scrape(n: &Node, g: &Global, dir: &Path) -> Result<ScrapeConfig> {
    let mut f = n.map("config.ScrapeConfig")?;
    let job_name = match f.get("job_name") {
        Some(v) => v.str()?.to_string(),
        None => String::new(),
    };
    if job_name.is_empty() {
        return Err(Error::new(n.pos, "job_name is empty"));
    }
    let ctx = |e: Error| {
        Error::new(
            e.pos,
            format!("{} for scrape config with job name {:?}", e.msg, job_name),
        )
    };
    let mut interval = g.scrape_interval_ms;
    if let Some(v) = f.get("scrape_interval") {
        interval = duration(v)?;
    }
    let timeout = match f.get("scrape_timeout") {
        Some(v) => {
            let t = duration(v)?;
            if t > interval {
                return Err(Error::new(
                    v.pos,
                    format!(
                        "scrape timeout greater than scrape interval for scrape config with job name {job_name:?}"
                    ),
                ));
            }
            t
        }
        None => g.scrape_timeout_ms.min(interval),
    };
    let mut sc = ScrapeConfig {
        job_name: job_name.clone(),
        pos: n.pos,
        scrape_interval_ms: interval,
        scrape_timeout_ms: timeout,
        metrics_path: "/metrics".into(),
        scheme: Scheme::Http,
        params: Vec::new(),
        honor_labels: false,
        honor_timestamps: true,
        track_timestamps_staleness: false,
        enable_compression: true,
        scrape_protocols: g
            .scrape_protocols
            .clone()
            .unwrap_or_else(|| Protocol::DEFAULT.to_vec()),
        fallback_protocol: None,
        limits: g.limits,
        client: HttpClient::default(),
        static_configs: Vec::new(),
        file_sd_configs: Vec::new(),
        http_sd_configs: Vec::new(),
        dns_sd_configs: Vec::new(),
        relabel_configs: Vec::new(),
        metric_relabel_configs: Vec::new(),
    };
    if let Some(v) = f.get("metrics_path") {
        sc.metrics_path = v.str()?.to_string();
    }
    if let Some(v) = f.get("scheme") {
        sc.scheme = match v.str()? {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(Error::new(v.pos, "URL scheme must be 'http' or 'https'")),
        };
    }
    if let Some(v) = f.get("params") {
        let Kind::Map(entries) = &v.kind else {
            return Err(Error::new(v.pos, "cannot unmarshal params into url.Values"));
        };
        for (k, vals) in entries {
            sc.params.push((k.str()?.to_string(), vals.strings()?));
        }
    }
    for (name, slot) in [
        ("honor_labels", &mut sc.honor_labels),
        ("honor_timestamps", &mut sc.honor_timestamps),
        (
            "track_timestamps_staleness",
            &mut sc.track_timestamps_staleness,
        ),
        ("enable_compression", &mut sc.enable_compression),
    ] {
        if let Some(v) = f.get(name) {
            *slot = v.bool()?;
        }
    }
    if let Some(v) = f.get("scrape_protocols") {
        sc.scrape_protocols = protocols(v).map_err(ctx)?;
    }
    if let Some(v) = f.get("fallback_scrape_protocol") {
        sc.fallback_protocol = Some(protocol(v).map_err(|e| {
            Error::new(
                e.pos,
                format!(
                    "invalid fallback_scrape_protocol for scrape config with job name {job_name:?}: {}",
                    e.msg
                ),
            )
        })?);
    }
    sc.limits = limits(&mut f, g.limits)?;
    sc.client = decode_client(&mut f, dir)?;
    if let Some(v) = f.get("static_configs") {
        sc.static_configs = decode_static(v)?;
    }
    if let Some(v) = f.get("file_sd_configs") {
        for item in v.seq()? {
            let mut ff = item.map("file.SDConfig")?;
            let files = match ff.get("files") {
                Some(x) => x.strings()?,
                None => Vec::new(),
            };
            for name in &files {
                if ![".json", ".yml", ".yaml"].iter().any(|e| name.ends_with(e)) {
                    return Err(Error::new(
                        item.pos,
                        format!("path name {name:?} is not valid for file discovery"),
                    ));
                }
            }
            if files.is_empty() {
                return Err(Error::new(
                    item.pos,
                    "file service discovery config must contain at least one path name",
                ));
            }
            let refresh_interval_ms = refresh(&mut ff, 300_000)?;
            ff.finish()?;
            sc.file_sd_configs.push(FileSd {
                files: files
                    .iter()
                    .map(|s| path_in(dir, s).to_string_lossy().into_owned())
                    .collect(),
                refresh_interval_ms,
            });
        }
    }
    if let Some(v) = f.get("http_sd_configs") {
        for item in v.seq()? {
            let mut hf = item.map("http.SDConfig")?;
            let url = match hf.get("url") {
                Some(x) => x.str()?.to_string(),
                None => return Err(Error::new(item.pos, "URL is missing")),
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::new(item.pos, "URL scheme must be 'http' or 'https'"));
            }
            let refresh_interval_ms = refresh(&mut hf, 60_000)?;
            let client = decode_client(&mut hf, dir)?;
            hf.finish()?;
            sc.http_sd_configs.push(HttpSd {
                url,
                refresh_interval_ms,
                client,
            });
        }
    }
    if let Some(v) = f.get("dns_sd_configs") {
        for item in v.seq()? {
            let mut df = item.map("dns.SDConfig")?;
            let names = match df.get("names") {
                Some(x) => x.strings()?,
                None => Vec::new(),
            };
            if names.is_empty() {
                return Err(Error::new(
                    item.pos,
                    "DNS-SD config must contain at least one SRV record name",
                ));
            }
            let kind = match df.get("type") {
                None => DnsType::Srv,
                Some(x) => match x.str()?.to_ascii_uppercase().as_str() {
                    "SRV" => DnsType::Srv,
                    "A" => DnsType::A,
                    "AAAA" => DnsType::Aaaa,
                    "MX" | "NS" => {
                        return Err(Error::new(
                            x.pos,
                            format!("DNS-SD type {} is not supported by prombox", x.str()?),
                        ))
                    }
                    other => {
                        return Err(Error::new(
                            x.pos,
                            format!("invalid DNS-SD records type {other}"),
                        ))
                    }
                },
            };
            let port = match df.get("port") {
                Some(x) => {
                    u16::try_from(x.uint()?).map_err(|_| Error::new(x.pos, "port out of range"))?
                }
                None => 0,
            };
            if kind != DnsType::Srv && port == 0 {
                return Err(Error::new(
                    item.pos,
                    "a port is required in DNS-SD configs for all record types except SRV",
                ));
            }
            let refresh_interval_ms = refresh(&mut df, 30_000)?;
            df.finish()?;
            sc.dns_sd_configs.push(DnsSd {
                names,
                kind,
                port,
                refresh_interval_ms,
            });
        }
    }
    for (name, metric) in [("relabel_configs", false), ("metric_relabel_configs", true)] {
        if let Some(v) = f.get(name) {
            let mut out = Vec::new();
            for item in v.seq()? {
                if item.is_null() {
                    let what = if metric { "metric" } else { "target" };
                    return Err(Error::new(
                        item.pos,
                        format!("empty or null {what} relabeling rule in scrape config"),
                    ));
                }
                out.push(decode_relabel(item)?);
            }
            if metric {
                sc.metric_relabel_configs = out;
            } else {
                sc.relabel_configs = out;
            }
        }
    }
    for s in UNSUPPORTED_SD {
        if let Some(v) = f.get(s) {
            return Err(Error::new(
                v.pos,
                format!(
                    "{s} is not supported by prombox (static, file, HTTP and DNS discovery are)"
                ),
            ));
        }
    }
    for s in [
        "scrape_native_histograms",
        "always_scrape_classic_histograms",
        "convert_classic_histograms_to_nhcb",
        "scrape_failure_log_file",
        "native_histogram_bucket_limit",
        "native_histogram_min_bucket_factor",
        "keep_dropped_targets",
        "metric_name_validation_scheme",
        "metric_name_escaping_scheme",
        "extra_scrape_metrics",
    ] {
        f.skip(s);
    }
    f.finish()?;
    Ok(sc)
}

/// One relabeling rule, with Prometheus's defaults for the fields not written.
pub fn decode_relabel(n: &Node) -> Result<RelabelConfig> {
    let mut f = n.map("relabel.Config")?;
    let mut rc = RelabelConfig::default();
    if let Some(v) = f.get("source_labels") {
        rc.source_labels = v.strings()?;
    }
    if let Some(v) = f.get("separator") {
        rc.separator = v.str()?.to_string();
    }
    if let Some(v) = f.get("regex") {
        rc.regex = Regex::new(v.str()?).map_err(|e| Error::new(v.pos, e.to_string()))?;
    }
    if let Some(v) = f.get("modulus") {
        rc.modulus = v.uint()?;
    }
    if let Some(v) = f.get("target_label") {
        rc.target_label = v.str()?.to_string();
    }
    if let Some(v) = f.get("replacement") {
        rc.replacement = v.str_or_empty()?.to_string();
    }
    if let Some(v) = f.get("action") {
        let s = v.str()?;
        rc.action = Action::parse(s)
            .ok_or_else(|| Error::new(v.pos, format!("unknown relabel action {s:?}")))?;
    }
    f.finish()?;
    rc.validate()
        .map_err(|e| Error::new(n.pos, e.to_string()))?;
    Ok(rc)
}
