//! Sending alerts to Alertmanager: alerts read as JSON (lines, or one array), checked as
//! Alertmanager's API v2 checks them, and POSTed to `/api/v2/alerts` in batches, as
//! Prometheus's notifier sends them.
//!
//! ```text
//!  {"labels":{...},"annotations":{...},"startsAt":"…","endsAt":"…","generatorURL":"…"}  one per line
//!        │ parse_alerts (line:column errors; nothing is sent if any line is bad)
//!        ▼
//!  batches of --batch (64) ──POST──▶ every Alertmanager; retried on connection errors and 5xx
//! ```
//!
//! A batch counts as delivered when at least one Alertmanager took it, as the notifier
//! counts; the send succeeds when every batch was delivered.
//!
//! Without an Alertmanager, [`webhook_payload`] builds what Alertmanager's webhook receiver
//! would POST for the alerts (version 4, one group holding them all), field for field.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::http::client::{self, Client, Method};
use crate::model::Labels;
use crate::scrape::config::AlertmanagerConfig;
use crate::scrape::relabel::{self, RelabelConfig};

/// One alert, as the API takes it. Times are RFC 3339 text, checked and passed on as given.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub generator_url: Option<String>,
}

/// Why an alert input is refused: where and what.
#[derive(Debug, PartialEq, Eq)]
pub struct InputError {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.reason)
    }
}

impl std::error::Error for InputError {}

/// Fields of `GET /api/v2/alerts` that are not the sender's to set: accepted and dropped, so
/// that a listing can be sent again.
const LISTING_FIELDS: &[&str] = &["fingerprint", "receivers", "status", "updatedAt"];

fn string_map(v: &serde_json::Value, what: &str) -> Result<BTreeMap<String, String>, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what} must be an object of strings"))?;
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_string())),
            None => Err(format!("{what}: {k:?} must be a string")),
        })
        .collect()
}

/// One alert from its JSON object, checked as Alertmanager checks a posted alert.
fn alert_from(v: &serde_json::Value) -> Result<Alert, String> {
    let obj = v.as_object().ok_or("an alert must be a JSON object")?;
    let mut a = Alert {
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        starts_at: None,
        ends_at: None,
        generator_url: None,
    };
    let time = |v: &serde_json::Value, name: &str| -> Result<(String, i64), String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{name} must be an RFC 3339 time"))?;
        let ms = crate::model::time::parse_rfc3339(s)
            .ok_or_else(|| format!("{name} {s:?} is not an RFC 3339 time"))?;
        Ok((s.to_string(), ms))
    };
    let (mut start, mut end) = (None, None);
    for (k, v) in obj {
        match k.as_str() {
            "labels" => a.labels = string_map(v, "labels")?,
            "annotations" => a.annotations = string_map(v, "annotations")?,
            "startsAt" => {
                let (s, ms) = time(v, "startsAt")?;
                a.starts_at = Some(s);
                start = Some(ms);
            }
            "endsAt" => {
                let (s, ms) = time(v, "endsAt")?;
                a.ends_at = Some(s);
                end = Some(ms);
            }
            "generatorURL" => {
                a.generator_url = Some(
                    v.as_str()
                        .ok_or("generatorURL must be a string")?
                        .to_string(),
                )
            }
            k if LISTING_FIELDS.contains(&k) => {}
            k => return Err(format!("unknown field {k:?} (the API takes labels, annotations, startsAt, endsAt, generatorURL)")),
        }
    }
    // Alertmanager's model.Alert.Validate, in its words.
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    for (k, v) in &a.labels {
        if !crate::model::labels::is_legacy_label_name(k) {
            return Err(format!("invalid label set: invalid name {k:?}"));
        }
        if v.is_empty() {
            return Err(format!("invalid label set: empty value for {k:?}"));
        }
    }
    for k in a.annotations.keys() {
        if !crate::model::labels::is_legacy_label_name(k) {
            return Err(format!("invalid annotations: invalid name {k:?}"));
        }
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            return Err("start time must be before end time".into());
        }
    }
    Ok(a)
}

/// Reads alerts: one JSON object per line (blank lines skipped), or one JSON array of them.
pub fn parse_alerts(text: &str) -> Result<Vec<Alert>, InputError> {
    let json_err = |e: serde_json::Error, line_base: usize| InputError {
        line: line_base + e.line(),
        column: e.column(),
        reason: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    };
    if text.trim_start().starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_err(e, 0))?;
        let line = text.len() - text.trim_start().len();
        let line = text[..line].matches('\n').count() + 1;
        return v
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, a)| {
                alert_from(a).map_err(|reason| InputError {
                    line,
                    column: 1,
                    reason: format!("alert {}: {reason}", i + 1),
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(l).map_err(|e| json_err(e, i))?;
        let a = alert_from(&v).map_err(|reason| InputError {
            line: i + 1,
            column: 1,
            reason,
        })?;
        out.push(a);
    }
    Ok(out)
}

/// The alerts as the API's JSON array.
pub fn to_json(alerts: &[Alert]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = alerts.iter().map(json_value).collect();
    serde_json::to_vec(&list).unwrap_or_default()
}

/// One alert as a JSON object on one line (no newline), as `rules eval` prints it.
pub fn to_json_line(a: &Alert) -> Vec<u8> {
    serde_json::to_vec(&json_value(a)).unwrap_or_default()
}

fn json_value(a: &Alert) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("labels".into(), serde_json::json!(a.labels));
    m.insert("annotations".into(), serde_json::json!(a.annotations));
    if let Some(s) = &a.starts_at {
        m.insert("startsAt".into(), s.clone().into());
    }
    if let Some(s) = &a.ends_at {
        m.insert("endsAt".into(), s.clone().into());
    }
    if let Some(s) = &a.generator_url {
        m.insert("generatorURL".into(), s.clone().into());
    }
    serde_json::Value::Object(m)
}

/// `/api/v2/alerts` under an Alertmanager's base URL (its path is the route prefix; no
/// scheme means http).
pub fn alerts_url(base: &str) -> String {
    let base = if base.contains("://") {
        base.to_string()
    } else {
        format!("http://{base}")
    };
    format!("{}/api/v2/alerts", base.trim_end_matches('/'))
}

/// The alerts as Prometheus's notifier hands them to one Alertmanager set: the external
/// labels added where an alert lacks them, then the global `alert_relabel_configs` and the
/// set's own applied; an alert they drop (or leave without labels) is not sent.
pub fn relabel_alerts(
    alerts: &[Alert],
    external: &Labels,
    global: &[RelabelConfig],
    own: &[RelabelConfig],
) -> Vec<Alert> {
    alerts
        .iter()
        .filter_map(|a| {
            let mut m = a.labels.clone();
            for l in external.iter() {
                m.entry(l.name.clone()).or_insert_with(|| l.value.clone());
            }
            let labels = crate::rules::alert::labels_from(m);
            let labels = relabel::process(&labels, global)?;
            let labels = relabel::process(&labels, own)?;
            if labels.is_empty() {
                return None;
            }
            Some(Alert {
                labels: labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect(),
                ..a.clone()
            })
        })
        .collect()
}

/// The `/api/v2/alerts` URLs of one `alertmanagers` entry: each static target with the
/// labels `__address__`, `__scheme__` and `__alerts_path__` (and its group's), through the
/// entry's `relabel_configs`, as Prometheus discovers Alertmanagers.
pub fn alertmanager_urls(cfg: &AlertmanagerConfig) -> Vec<String> {
    let prefix = cfg.path_prefix.trim_matches('/');
    let path = if prefix.is_empty() {
        "/api/v2/alerts".to_string()
    } else {
        format!("/{prefix}/api/v2/alerts")
    };
    let mut out = Vec::new();
    for g in &cfg.static_configs {
        for t in &g.targets {
            let mut m: BTreeMap<String, String> = g.labels.iter().cloned().collect();
            m.insert("__address__".into(), t.clone());
            m.insert("__scheme__".into(), cfg.scheme.clone());
            m.insert("__alerts_path__".into(), path.clone());
            let labels = crate::rules::alert::labels_from(m);
            let Some(l) = relabel::process(&labels, &cfg.relabel_configs) else {
                continue;
            };
            let (Some(addr), Some(scheme)) = (l.get("__address__"), l.get("__scheme__")) else {
                continue;
            };
            out.push(format!(
                "{scheme}://{addr}{}",
                l.get("__alerts_path__").unwrap_or("")
            ));
        }
    }
    out
}

/// Why a batch did not reach an Alertmanager.
#[derive(Debug)]
pub enum SendError {
    Http(client::Error),
    Status {
        code: u16,
        reason: String,
        message: String,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Http(e) => e.fmt(f),
            SendError::Status {
                code,
                reason,
                message,
            } if message.is_empty() => write!(f, "{code} {reason}"),
            SendError::Status {
                code,
                reason,
                message,
            } => write!(f, "{code} {reason}: {message}"),
        }
    }
}

impl std::error::Error for SendError {}

/// An alert's fingerprint as Alertmanager computes it (`model.LabelSet.Fingerprint`):
/// FNV-1a 64 over the labels sorted by name, `name 0xff value 0xff` each.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut add = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (k, v) in labels {
        add(k.as_bytes());
        add(&[0xff]);
        add(v.as_bytes());
        add(&[0xff]);
    }
    h
}

/// Go's `json.Marshal` escaping for what serde_json writes raw: `<`, `>`, `&`, U+2028 and
/// U+2029 (which only ever occur inside strings of the JSON).
fn go_escape(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The body Alertmanager's webhook receiver POSTs (payload version 4) for `alerts` as one
/// group with no grouping labels, sent to `receiver` at `now_ms`: an alert whose `endsAt`
/// has passed is resolved, any other is firing (its `endsAt` the zero time, a missing
/// `startsAt` now); the group is firing while any alert is; `commonLabels` and
/// `commonAnnotations` are the pairs all alerts share. Fields in Alertmanager's order.
pub fn webhook_payload(
    alerts: &[Alert],
    receiver: &str,
    external_url: &str,
    now_ms: i64,
) -> Vec<u8> {
    use serde_json::Value;
    let q = |s: &str| Value::from(s).to_string();
    let obj = |m: &BTreeMap<String, String>| serde_json::json!(m).to_string();
    // Times as Go prints them (RFC 3339 with the fraction's trailing zeros dropped).
    let go_time = |ms: i64| crate::model::time::format_rfc3339_nanos(ms.saturating_mul(1_000_000));
    let now = go_time(now_ms);
    let mut firing_any = false;
    let mut items = Vec::with_capacity(alerts.len());
    for a in alerts {
        let ends = a
            .ends_at
            .as_deref()
            .and_then(crate::model::time::parse_rfc3339);
        let resolved = ends.is_some_and(|e| e <= now_ms);
        firing_any |= !resolved;
        let ends_text = match (resolved, ends) {
            (true, Some(e)) => go_time(e),
            _ => "0001-01-01T00:00:00Z".to_string(),
        };
        let starts = a
            .starts_at
            .as_deref()
            .and_then(crate::model::time::parse_rfc3339)
            .map_or_else(|| now.clone(), go_time);
        items.push(format!(
            "{{\"status\":{},\"labels\":{},\"annotations\":{},\"startsAt\":{},\"endsAt\":{},\"generatorURL\":{},\"fingerprint\":\"{:016x}\"}}",
            q(if resolved { "resolved" } else { "firing" }),
            obj(&a.labels),
            obj(&a.annotations),
            q(&starts),
            q(&ends_text),
            q(a.generator_url.as_deref().unwrap_or("")),
            fingerprint(&a.labels)
        ));
    }
    let common = |pick: &dyn Fn(&Alert) -> &BTreeMap<String, String>| {
        let mut m = alerts.first().map(|a| pick(a).clone()).unwrap_or_default();
        for a in &alerts[1.min(alerts.len())..] {
            m.retain(|k, v| pick(a).get(k) == Some(v));
        }
        m
    };
    let body = format!(
        "{{\"receiver\":{},\"status\":{},\"alerts\":[{}],\"groupLabels\":{{}},\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":{},\"version\":\"4\",\"groupKey\":\"{{}}:{{}}\",\"truncatedAlerts\":0}}",
        q(receiver),
        q(if firing_any { "firing" } else { "resolved" }),
        items.join(","),
        obj(&common(&|a: &Alert| &a.labels)),
        obj(&common(&|a: &Alert| &a.annotations)),
        q(external_url),
    );
    go_escape(body).into_bytes()
}

/// How to send.
pub struct Options {
    pub batch: usize,
    pub timeout: Duration,
    /// Further attempts on connection errors and 5xx replies, with backoff.
    pub retries: u32,
}

/// POSTs one batch to one Alertmanager.
pub fn send_batch(
    client: &Client,
    url: &str,
    body: &[u8],
    opts: &Options,
    sleep: &dyn Fn(Duration),
) -> Result<(), SendError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let r = client::Request {
            url,
            headers: &[],
            timeout: opts.timeout,
            limit: 1 << 20,
            gzip: false,
        };
        let (retry, e) = match client.send(Method::Post, &r, Some((body, "application/json"))) {
            Ok(reply) if (200..300).contains(&reply.status) => return Ok(()),
            Ok(reply) => {
                let message = String::from_utf8_lossy(&reply.body.bytes)
                    .trim()
                    .to_string();
                (
                    reply.status >= 500,
                    SendError::Status {
                        code: reply.status,
                        reason: reply.reason,
                        message,
                    },
                )
            }
            Err(e) => (matches!(e, client::Error::Transport(_)), SendError::Http(e)),
        };
        if !retry || attempt > opts.retries {
            return Err(e);
        }
        let backoff = Duration::from_millis(500u64 << (attempt - 1).min(4));
        sleep(backoff.min(Duration::from_secs(8)));
    }
}

/// What a send did: per batch, which Alertmanagers failed it and why.
#[derive(Debug, Default)]
pub struct Report {
    pub batches: usize,
    /// (batch index, Alertmanager URL, error).
    pub failures: Vec<(usize, String, SendError)>,
    /// Batches no Alertmanager took.
    pub undelivered: usize,
}

/// Sends the alerts in batches to every Alertmanager (`urls` are `/api/v2/alerts` URLs).
pub fn send(
    client: &Client,
    urls: &[String],
    alerts: &[Alert],
    opts: &Options,
    sleep: &dyn Fn(Duration),
) -> Report {
    let mut report = Report::default();
    for (i, batch) in alerts.chunks(opts.batch.max(1)).enumerate() {
        report.batches += 1;
        let body = to_json(batch);
        let mut delivered = false;
        for url in urls {
            match send_batch(client, url, &body, opts, sleep) {
                Ok(()) => delivered = true,
                Err(e) => report.failures.push((i, url.clone(), e)),
            }
        }
        if !delivered {
            report.undelivered += 1;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_payloads_are_alertmanager_s() {
        // The payload Debian's Alertmanager 0.25 POSTed for this alert, its own URL aside.
        let a = parse_alerts("{\"labels\":{\"alertname\":\"DiskFull\",\"host\":\"db1\",\"severity\":\"page\"},\"annotations\":{\"summary\":\"db1 has no space\"},\"startsAt\":\"2026-12-02T10:30:44.389Z\",\"endsAt\":\"2026-12-02T10:34:44.389Z\",\"generatorURL\":\"http://vm:9090/graph?g0.expr=disk_free+%3D%3D+0&g0.tab=1\"}").unwrap();
        let at = crate::model::time::parse_rfc3339("2026-12-02T10:30:45Z").unwrap();
        let got = String::from_utf8(webhook_payload(&a, "hook", "http://vm:43901", at)).unwrap();
        assert_eq!(
            got,
            r#"{"receiver":"hook","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","host":"db1","severity":"page"},"annotations":{"summary":"db1 has no space"},"startsAt":"2026-12-02T10:30:44.389Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://vm:9090/graph?g0.expr=disk_free+%3D%3D+0\u0026g0.tab=1","fingerprint":"f8b1092659c04591"}],"groupLabels":{},"commonLabels":{"alertname":"DiskFull","host":"db1","severity":"page"},"commonAnnotations":{"summary":"db1 has no space"},"externalURL":"http://vm:43901","version":"4","groupKey":"{}:{}","truncatedAlerts":0}"#
        );
        let later = crate::model::time::parse_rfc3339("2026-12-02T10:35:00Z").unwrap();
        let got = String::from_utf8(webhook_payload(&a, "hook", "", later)).unwrap();
        assert!(
            got.contains(r#""status":"resolved","alerts":[{"status":"resolved""#),
            "{got}"
        );
        assert!(
            got.contains(r#""endsAt":"2026-12-02T10:34:44.389Z""#),
            "{got}"
        );
    }

    #[test]
    fn lines_and_arrays_parse_with_positions() {
        let text = "{\"labels\":{\"alertname\":\"Up\",\"job\":\"a\"},\"annotations\":{\"summary\":\"x\"},\"startsAt\":\"2026-12-01T00:00:00Z\"}\n\n{\"labels\":{\"alertname\":\"B\"},\"status\":{\"state\":\"active\"}}\n";
        let a = parse_alerts(text).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].labels["job"], "a");
        assert_eq!(a[0].starts_at.as_deref(), Some("2026-12-01T00:00:00Z"));
        let arr = format!("[{}]", text.lines().next().unwrap());
        assert_eq!(parse_alerts(&arr).unwrap(), vec![a[0].clone()]);
        let bad = "{\"labels\":{\"a\":\"b\"}}\n{\"labels\":{\"a\":\"b\"},}\n";
        let e = parse_alerts(bad).unwrap_err();
        assert_eq!((e.line, e.column), (2, 21), "{e}");
        let cases = [
            ("{\"labels\":{}}", "at least one label pair required"),
            ("{\"labels\":{\"a-b\":\"c\"}}", "invalid name \"a-b\""),
            ("{\"labels\":{\"a\":\"\"}}", "empty value"),
            ("{\"labels\":{\"a\":1}}", "must be a string"),
            ("{\"labels\":{\"a\":\"b\"},\"startAt\":\"x\"}", "unknown field \"startAt\""),
            ("{\"labels\":{\"a\":\"b\"},\"endsAt\":\"yesterday\"}", "not an RFC 3339 time"),
            (
                "{\"labels\":{\"a\":\"b\"},\"startsAt\":\"2026-12-02T00:00:00Z\",\"endsAt\":\"2026-12-01T00:00:00Z\"}",
                "start time must be before end time",
            ),
            ("[1]", "alert 1: an alert must be a JSON object"),
        ];
        for (input, want) in cases {
            let e = parse_alerts(input).unwrap_err().to_string();
            assert!(e.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn alertmanager_targets_are_relabeled_into_urls() {
        let node =
            crate::yaml::parse("source_labels: [__address__]\nregex: 'b:.*'\naction: drop\n")
                .unwrap();
        let cfg = AlertmanagerConfig {
            scheme: "https".into(),
            path_prefix: "/am/".into(),
            timeout_ms: 10_000,
            client: client::HttpClient::default(),
            static_configs: vec![crate::scrape::config::TargetGroup {
                targets: vec!["a:9093".into(), "b:9093".into()],
                labels: vec![],
                source: "0".into(),
                local: true,
            }],
            relabel_configs: vec![crate::scrape::config::decode_relabel(&node).unwrap()],
            alert_relabel_configs: vec![],
        };
        assert_eq!(
            alertmanager_urls(&cfg),
            vec!["https://a:9093/am/api/v2/alerts".to_string()]
        );
    }

    #[test]
    fn external_labels_fill_in_and_relabeling_drops() {
        let a = parse_alerts(
            "{\"labels\":{\"alertname\":\"A\",\"env\":\"dev\"}}\n{\"labels\":{\"alertname\":\"B\"}}",
        )
        .unwrap();
        let ext = crate::rules::alert::labels_from(
            [
                ("env".to_string(), "prod".to_string()),
                ("dc".to_string(), "x".to_string()),
            ]
            .into_iter()
            .collect(),
        );
        let node =
            crate::yaml::parse("source_labels: [alertname]\nregex: B\naction: drop\n").unwrap();
        let drop_b = vec![crate::scrape::config::decode_relabel(&node).unwrap()];
        let out = relabel_alerts(&a, &ext, &drop_b, &[]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].labels["env"], "dev");
        assert_eq!(out[0].labels["dc"], "x");
    }

    #[test]
    fn urls_take_the_route_prefix() {
        assert_eq!(alerts_url("am:9093"), "http://am:9093/api/v2/alerts");
        assert_eq!(
            alerts_url("https://am.example/prefix/"),
            "https://am.example/prefix/api/v2/alerts"
        );
    }
}
