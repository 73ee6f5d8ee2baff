//! From a scraped body to the samples a target adds, as Prometheus's scrape loop appends
//! them: target labels attached (`honor_labels`, else clashing exposed labels renamed
//! `exported_…`), `metric_relabel_configs`, label limits, `sample_limit`, duplicates,
//! `honor_timestamps`, staleness markers for the series of the previous scrape that are gone,
//! and the five report series (`up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
//! `scrape_samples_post_metric_relabeling`, `scrape_series_added`).
//!
//! A scrape that fails — fetching, parsing, or a limit — adds none of its samples: it counts
//! as an empty scrape, so every series of the previous scrape gets a staleness marker, and
//! `up` is 0. (Prometheus keeps the series a failed scrape parsed before the failure out of
//! that marking; prombox marks them all, so a query never sees a value the failed scrape
//! did not confirm.)

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::config::ScrapeConfig;
use super::error::{ContentTypeError, LimitError, ScrapeError};
use super::relabel::{self, Builder, NameValidation};
use super::state::{series_hash, TargetState};
use crate::expfmt::{Entry, Format, Parser, Strictness};
use crate::model::hash::{HashSet64, IdHasher};
use crate::model::{stale_nan, Labels, METRIC_NAME};

/// One sample to store.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    /// The series' hash when it is tracked for staleness at the next scrape.
    pub track: Option<u64>,
}

/// What a scrape of one target produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Data samples, staleness markers and report samples, in that order.
    pub points: Vec<Point>,
    /// Why the scrape failed (`up` is 0).
    pub error: Option<ScrapeError>,
    pub scraped: u64,
    pub added: u64,
    pub series_added: u64,
    /// Samples dropped for repeating a series at the same timestamp (the first is kept;
    /// Prometheus logs these and goes on).
    pub duplicates: u64,
}

/// The media types a body may come as, from its `Content-Type` (and the job's
/// `fallback_scrape_protocol`), in Prometheus's words when neither tells.
pub fn format_of(content_type: &str, fallback: Option<&str>) -> Result<Format, ContentTypeError> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let pick = |m: &str| match m {
        "application/openmetrics-text" => Some(Ok(Format::OpenMetrics)),
        "text/plain" => Some(Ok(Format::Text)),
        "application/vnd.google.protobuf" => Some(Err(ContentTypeError::Protobuf)),
        _ => None,
    };
    if content_type.is_empty() {
        return match fallback {
            None => Err(ContentTypeError::Blank),
            Some(f) => pick(f.split(';').next().unwrap_or("")).unwrap_or(Ok(Format::Text)),
        };
    }
    match (pick(&media), fallback) {
        (Some(r), _) => r,
        (None, Some(f)) => pick(f.split(';').next().unwrap_or("")).unwrap_or(Ok(Format::Text)),
        (None, None) => Err(ContentTypeError::Unsupported(content_type.to_string())),
    }
}

/// The inputs of one target's scrape besides its body.
pub struct Target<'a> {
    pub cfg: &'a ScrapeConfig,
    /// The target's labels as its series get them (`job`, `instance`, ...; no `__` labels).
    pub labels: &'a Labels,
    /// What the previous scrape of this target tracked.
    pub previous: &'a TargetState,
}

/// Builds the outcome of a scrape at `t` (ms) begun at `start` (its duration, like
/// Prometheus's, runs to the end of parsing and relabeling): `body` is the decoded
/// body in one or more parts (the files of a `file://` glob) with their formats, or the
/// reason fetching failed.
pub fn process(
    target: &Target,
    body: Result<&[(&[u8], Format)], ScrapeError>,
    t: i64,
    start: std::time::Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let result = match body {
        Ok(parts) => append(target, parts, t, &mut out),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        out.points.clear();
        out.error = Some(e);
    }
    // Staleness: the previous scrape's series not seen now.
    let now: HashSet64 = out.points.iter().filter_map(|p| p.track).collect();
    for labels in target.previous.tracked_where(|h| !now.contains(&h)) {
        out.points.push(Point {
            labels,
            t,
            v: stale_nan(),
            track: None,
        });
    }
    if out.error.is_none() {
        let before: HashSet64 = target.previous.hashes.iter().copied().collect();
        out.series_added = now.iter().filter(|h| !before.contains(h)).count() as u64;
    }
    let up = if out.error.is_none() { 1.0 } else { 0.0 };
    let duration_s = start.elapsed().as_secs_f64();
    for (name, v) in [
        ("up", up),
        ("scrape_duration_seconds", duration_s),
        ("scrape_samples_scraped", out.scraped as f64),
        ("scrape_samples_post_metric_relabeling", out.added as f64),
        ("scrape_series_added", out.series_added as f64),
    ] {
        out.points.push(Point {
            labels: report_labels(target.labels, name),
            t,
            v,
            track: None,
        });
    }
    out
}

/// The labels of a report series: the name and the target's labels.
pub fn report_labels(target: &Labels, name: &str) -> Labels {
    target.with(METRIC_NAME, name)
}

/// Every report series of a target (for its markers when it disappears).
pub fn report_series(target: &Labels) -> [Labels; 5] {
    [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ]
    .map(|n| report_labels(target, n))
}

/// Parses and appends into `out.points`; an error fails the scrape (the counters keep what
/// was counted, as Prometheus reports them).
fn append(
    target: &Target,
    parts: &[(&[u8], Format)],
    t: i64,
    out: &mut Outcome,
) -> Result<(), ScrapeError> {
    let cfg = target.cfg;
    let limits = &cfg.limits;
    // (series, timestamp) appended so far, by hash, to the index of its point: a repeat is
    // dropped and the first value kept, as Prometheus's appender does within one scrape.
    let mut seen: HashMap<u64, u32, BuildHasherDefault<IdHasher>> = HashMap::default();
    let mut appended: u64 = 0;
    let mut limit_hit = false;
    let mut duplicates = 0u64;
    for &(body, format) in parts {
        let mut parser = Parser::with_strictness(body, format, Strictness::Prometheus);
        loop {
            let s = match parser.next_entry() {
                None => break,
                Some(Ok(Entry::Sample(s))) => s,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(ScrapeError::Parse(std::sync::Arc::new(e))),
            };
            out.scraped += 1;
            let explicit = s.timestamp.filter(|_| cfg.honor_timestamps);
            let base = s
                .labels
                .to_labels(Some(s.name))
                .map_err(ScrapeError::Labels)?;
            let Some(lset) = mutate(&base, target.labels, cfg) else {
                continue;
            };
            if lset.get(METRIC_NAME).is_none() {
                return Err(ScrapeError::MissingName);
            }
            check_limits(&lset, limits).map_err(ScrapeError::Limit)?;
            out.added += 1;
            let at = explicit.unwrap_or(t);
            let hash = series_hash(&lset);
            let key = hash.rotate_left(17) ^ (at as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            if let Some(&i) = seen.get(&key) {
                let p = &out.points[i as usize];
                if p.t == at && p.labels == lset {
                    duplicates += 1;
                    continue;
                }
            }
            appended += 1;
            if limits.samples > 0 && appended > limits.samples {
                limit_hit = true;
                continue;
            }
            seen.insert(key, out.points.len() as u32);
            out.points.push(Point {
                labels: lset,
                t: at,
                v: s.value,
                track: (explicit.is_none() || cfg.track_timestamps_staleness).then_some(hash),
            });
        }
    }
    if limit_hit {
        return Err(ScrapeError::Limit(LimitError::Samples));
    }
    out.duplicates = duplicates;
    Ok(())
}

/// Target labels and `metric_relabel_configs` (Prometheus's `mutateSampleLabels`); `None`
/// when a rule drops the series.
fn mutate(base: &Labels, target: &Labels, cfg: &ScrapeConfig) -> Option<Labels> {
    let mut b = Builder::new(base);
    if cfg.honor_labels {
        for l in target.iter() {
            if base.get(&l.name).is_none() {
                b.set(&l.name, &l.value);
            }
        }
    } else {
        let mut clashes: Vec<(&str, &str)> = Vec::new();
        for l in target.iter() {
            if let Some(v) = base.get(&l.name).filter(|v| !v.is_empty()) {
                clashes.push((&l.name, v));
            }
            b.set(&l.name, &l.value);
        }
        clashes.sort_by_key(|(n, _)| n.len());
        for (name, value) in clashes {
            let mut new = name.to_string();
            loop {
                new.insert_str(0, "exported_");
                if b.get(&new).is_empty() {
                    b.set(&new, value);
                    break;
                }
            }
        }
    }
    if !relabel::process_builder(&mut b, &cfg.metric_relabel_configs, NameValidation::Utf8) {
        return None;
    }
    let l = b.labels();
    (!l.is_empty()).then_some(l)
}

/// `label_limit`, `label_name_length_limit`, `label_value_length_limit`, in Prometheus's
/// wording.
fn check_limits(l: &Labels, limits: &super::config::Limits) -> Result<(), LimitError> {
    let cut = |s: &str| s.chars().take(50).collect::<String>();
    let met = || cut(l.get(METRIC_NAME).unwrap_or(""));
    if limits.labels > 0 && l.len() as u64 > limits.labels {
        return Err(LimitError::Labels {
            metric: met(),
            labels: l.len(),
            limit: limits.labels,
        });
    }
    if limits.label_name_length == 0 && limits.label_value_length == 0 {
        return Ok(());
    }
    for x in l.iter() {
        if limits.label_name_length > 0 && x.name.len() as u64 > limits.label_name_length {
            return Err(LimitError::LabelName {
                metric: met(),
                name: cut(&x.name),
                length: x.name.len(),
                limit: limits.label_name_length,
            });
        }
        if limits.label_value_length > 0 && x.value.len() as u64 > limits.label_value_length {
            return Err(LimitError::LabelValue {
                metric: met(),
                name: cut(&x.name),
                value: cut(&x.value),
                length: x.value.len(),
                limit: limits.label_value_length,
            });
        }
    }
    Ok(())
}
