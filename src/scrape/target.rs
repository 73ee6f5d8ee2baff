//! Targets: from a discovered address and its group's labels to the labels a scrape uses,
//! as Prometheus's `PopulateLabels` does: the job's defaults (`job`, `__scheme__`,
//! `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, `__param_*`) fill labels
//! not set by discovery, `relabel_configs` run, the address and intervals are checked,
//! `__meta_*` labels go, and `instance` defaults to the address.

use super::config::{ScrapeConfig, TargetGroup};
use super::relabel;
use crate::model::time::{format_duration, parse_duration};
use crate::model::{Label, Labels};

/// One discovered target after relabeling.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The labels discovery produced, with the job's defaults (what relabeling saw).
    pub discovered: Labels,
    pub state: State,
}

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// To be scraped with these labels (internal `__` labels included).
    Active(Labels),
    /// Dropped by a `keep`/`drop`-like relabeling rule.
    Dropped,
    /// Refused after relabeling (no address, a bad interval, ...).
    Invalid(TargetError),
}

/// Why a target is refused after relabeling, in Prometheus's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    NoAddress,
    /// A `file://`, `exec://` or `host://` address not written as is in `static_configs`.
    LocalNotAllowed(String),
    InvalidHostname(String),
    /// `__scrape_interval__` or `__scrape_timeout__` is no duration.
    BadDuration {
        what: &'static str,
        value: String,
    },
    /// The interval or the timeout is zero.
    Zero(&'static str),
    TimeoutOverInterval {
        timeout: String,
        interval: String,
    },
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::NoAddress => f.write_str("no address"),
            TargetError::LocalNotAllowed(a) => write!(
                f,
                "{a:?}: file://, exec:// and host:// targets are only allowed as written in the \
                 static_configs of the config file"
            ),
            TargetError::InvalidHostname(a) => write!(f, "{a:?} is not a valid hostname"),
            TargetError::BadDuration { what, value } => write!(
                f,
                "error parsing scrape {what}: not a valid duration string: {value:?}"
            ),
            TargetError::Zero(what) => write!(f, "scrape {what} cannot be 0"),
            TargetError::TimeoutOverInterval { timeout, interval } => write!(
                f,
                "scrape timeout cannot be greater than scrape interval ({timeout:?} > {interval:?})"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

/// Builds every target of a group.
pub fn from_group(cfg: &ScrapeConfig, tg: &TargetGroup) -> Vec<Target> {
    tg.targets
        .iter()
        .map(|addr| {
            let own = [("__address__".to_string(), addr.clone())];
            let local = (tg.local && is_local(addr)).then_some(addr.as_str());
            populate(cfg, &own, &tg.labels, local)
        })
        .collect()
}

/// The prefixes of prombox's non-HTTP targets: an exposition file (or glob), a command's
/// output, the built-in host collector.
pub const LOCAL_SCHEMES: [&str; 3] = ["file://", "exec://", "host://"];

/// True for a `file://`, `exec://` or `host://` address.
pub fn is_local(addr: &str) -> bool {
    LOCAL_SCHEMES.iter().any(|p| addr.starts_with(p))
}

/// Prometheus's `PopulateLabels` for one target: `own` are the target's labels (its
/// `__address__` at least), `group` the labels of its group. `local` is the target's
/// address when it is a non-HTTP one written in the config's `static_configs`: it stays
/// allowed if relabeling leaves it as written; any other non-HTTP address is refused, so
/// discovery or relabeling can never make prombox read files or run commands.
pub fn populate(
    cfg: &ScrapeConfig,
    own: &[(String, String)],
    group: &[(String, String)],
    local: Option<&str>,
) -> Target {
    let mut pairs: Vec<(String, String)> = own.to_vec();
    for (k, v) in group {
        if !own.iter().any(|(n, _)| n == k) {
            pairs.push((k.clone(), v.clone()));
        }
    }
    let get = |pairs: &[(String, String)], n: &str| -> String {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let scheme = match cfg.scheme {
        super::config::Scheme::Http => "http",
        super::config::Scheme::Https => "https",
    };
    let defaults = [
        ("job", cfg.job_name.clone()),
        (
            "__scrape_interval__",
            format_duration(cfg.scrape_interval_ms),
        ),
        ("__scrape_timeout__", format_duration(cfg.scrape_timeout_ms)),
        ("__metrics_path__", cfg.metrics_path.clone()),
        ("__scheme__", scheme.to_string()),
    ];
    for (k, v) in defaults {
        if get(&pairs, k).is_empty() {
            pairs.retain(|(n, _)| n != k);
            pairs.push((k.to_string(), v));
        }
    }
    for (k, vals) in &cfg.params {
        let name = format!("__param_{k}");
        if let Some(first) = vals.first() {
            if get(&pairs, &name).is_empty() {
                pairs.retain(|(n, _)| *n != name);
                pairs.push((name, first.clone()));
            }
        }
    }
    // An empty value is no label (Prometheus's label builder deletes it).
    pairs.retain(|(_, v)| !v.is_empty());
    let discovered = labels_of(pairs);
    let state = match relabel::process(&discovered, &cfg.relabel_configs) {
        None => State::Dropped,
        Some(l) => match check(&l, local) {
            Ok(l) => State::Active(l),
            Err(e) => State::Invalid(e),
        },
    };
    Target { discovered, state }
}

fn labels_of(pairs: Vec<(String, String)>) -> Labels {
    let mut v: Vec<Label> = pairs
        .into_iter()
        .map(|(name, value)| Label { name, value })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v.dedup_by(|b, a| a.name == b.name);
    Labels::from_sorted(v).unwrap_or_default()
}

/// The checks after relabeling, and the final touches.
fn check(l: &Labels, local: Option<&str>) -> Result<Labels, TargetError> {
    let addr = l.get("__address__").unwrap_or("");
    if addr.is_empty() {
        return Err(TargetError::NoAddress);
    }
    if is_local(addr) {
        if local != Some(addr) {
            return Err(TargetError::LocalNotAllowed(addr.to_string()));
        }
    } else if addr.contains('/') {
        return Err(TargetError::InvalidHostname(addr.to_string()));
    }
    let duration = |what: &'static str, value: &str| {
        parse_duration(value).map_err(|_| TargetError::BadDuration {
            what,
            value: value.to_string(),
        })
    };
    let interval = l.get("__scrape_interval__").unwrap_or("");
    let iv = duration("interval", interval)?;
    if iv == 0 {
        return Err(TargetError::Zero("interval"));
    }
    let timeout = l.get("__scrape_timeout__").unwrap_or("");
    let tv = duration("timeout", timeout)?;
    if tv == 0 {
        return Err(TargetError::Zero("timeout"));
    }
    if tv > iv {
        return Err(TargetError::TimeoutOverInterval {
            timeout: timeout.to_string(),
            interval: interval.to_string(),
        });
    }
    let kept = l.filter(|x| !x.name.starts_with("__meta_"));
    if kept.get("instance").is_none_or(str::is_empty) {
        return Ok(kept.with("instance", addr));
    }
    Ok(kept)
}

/// The URL a target is scraped at: `__scheme__://__address____metrics_path__?params`, the
/// job's `params` overridden by `__param_*` labels, keys sorted (Go's `url.Values.Encode`).
pub fn url(cfg: &ScrapeConfig, l: &Labels) -> String {
    if let Some(a) = l.get("__address__").filter(|a| is_local(a)) {
        return a.to_string();
    }
    let mut params: Vec<(String, Vec<String>)> = cfg.params.clone();
    for x in l.iter() {
        if let Some(k) = x.name.strip_prefix("__param_") {
            match params.iter_mut().find(|(n, _)| n == k) {
                Some((_, vals)) if !vals.is_empty() => vals[0] = x.value.clone(),
                Some((_, vals)) => vals.push(x.value.clone()),
                None => params.push((k.to_string(), vec![x.value.clone()])),
            }
        }
    }
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let mut u = format!(
        "{}://{}{}",
        l.get("__scheme__").unwrap_or("http"),
        l.get("__address__").unwrap_or(""),
        l.get("__metrics_path__").unwrap_or("")
    );
    let mut first = true;
    for (k, vals) in &params {
        for v in vals {
            u.push(if first { '?' } else { '&' });
            first = false;
            u.push_str(&query_escape(k));
            u.push('=');
            u.push_str(&query_escape(v));
        }
    }
    u
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The labels a target gives its series: all but the internal `__` ones.
pub fn series_labels(l: &Labels) -> Labels {
    l.filter(|x| !x.name.starts_with("__"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::config::parse;

    fn job(yaml: &str) -> ScrapeConfig {
        parse(yaml, std::path::Path::new("/etc"))
            .unwrap()
            .scrape_configs
            .remove(0)
    }

    #[test]
    fn defaults_and_instance() {
        let cfg = job("scrape_configs:\n- job_name: node\n  params: {module: [a, b]}\n  static_configs:\n  - targets: ['h:9100']\n    labels: {env: prod}\n");
        let t = from_group(&cfg, &cfg.static_configs[0]).remove(0);
        assert_eq!(
            t.discovered.to_string(),
            r#"{__address__="h:9100", __metrics_path__="/metrics", __param_module="a", __scheme__="http", __scrape_interval__="1m", __scrape_timeout__="10s", env="prod", job="node"}"#
        );
        let State::Active(l) = &t.state else {
            panic!("{:?}", t.state)
        };
        assert_eq!(url(&cfg, l), "http://h:9100/metrics?module=a&module=b");
        assert_eq!(
            series_labels(l).to_string(),
            r#"{env="prod", instance="h:9100", job="node"}"#
        );
    }

    #[test]
    fn relabeling_drops_and_refuses() {
        let cfg = job("scrape_configs:\n- job_name: j\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: 'skip.*'\n    action: drop\n  - source_labels: [__address__]\n    regex: 'noaddr.*'\n    target_label: __address__\n    replacement: ''\n  - target_label: __param_target\n    source_labels: [__address__]\n  static_configs:\n  - targets: ['skip:1', 'noaddr:1', 'ok:1']\n");
        let ts = from_group(&cfg, &cfg.static_configs[0]);
        assert_eq!(ts[0].state, State::Dropped);
        assert_eq!(ts[1].state, State::Invalid(TargetError::NoAddress));
        let State::Active(l) = &ts[2].state else {
            panic!()
        };
        assert_eq!(url(&cfg, l), "http://ok:1/metrics?target=ok%3A1");
    }
}
