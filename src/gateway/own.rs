//! The gateway's own metrics, served beside the pushed ones: requests by handler (named as
//! the Pushgateway names them, so its dashboards work), the process's resources (as
//! client_golang's process collector names them), and the store's size.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::expfmt::family::{Counter, Family, Kind, Metric, Value};

const REQUESTS: &str = "pushgateway_http_requests_total";

/// Name, type and help of every family [`Own::families`] serves.
const FAMILIES: &[(&str, Kind, &str)] = &[
    (
        REQUESTS,
        Kind::Counter,
        "Total HTTP requests processed by the Pushgateway, excluding scrapes.",
    ),
    (
        "process_cpu_seconds_total",
        Kind::Counter,
        "Total user and system CPU time spent in seconds.",
    ),
    (
        "process_max_fds",
        Kind::Gauge,
        "Maximum number of open file descriptors.",
    ),
    (
        "process_open_fds",
        Kind::Gauge,
        "Number of open file descriptors.",
    ),
    (
        "process_resident_memory_bytes",
        Kind::Gauge,
        "Resident memory size in bytes.",
    ),
    (
        "process_start_time_seconds",
        Kind::Gauge,
        "Start time of the process since unix epoch in seconds.",
    ),
    (
        "process_virtual_memory_bytes",
        Kind::Gauge,
        "Virtual memory size in bytes.",
    ),
    (
        "prombox_build_info",
        Kind::Gauge,
        "A metric with a constant '1' value labeled by the version of prombox.",
    ),
    (
        "prombox_gateway_groups",
        Kind::Gauge,
        "Groups held by the gateway.",
    ),
    (
        "prombox_gateway_series",
        Kind::Gauge,
        "Series held by the gateway, its push-time gauges included.",
    ),
];

/// Request counts and the process's start.
pub struct Own {
    requests: Mutex<BTreeMap<(u16, &'static str, String), u64>>,
    start_ns: i64,
}

impl Default for Own {
    fn default() -> Own {
        Own::new()
    }
}

impl Own {
    pub fn new() -> Own {
        Own {
            requests: Mutex::new(BTreeMap::new()),
            start_ns: crate::model::time::now_ns(),
        }
    }

    /// The names and types the store checks pushes against, with their help.
    pub fn names(&self) -> Vec<(String, Kind, String)> {
        FAMILIES
            .iter()
            .map(|(n, k, h)| (n.to_string(), *k, h.to_string()))
            .collect()
    }

    /// Counts one request (`method` lower-case, as the Pushgateway labels it).
    pub fn count(&self, code: u16, handler: &'static str, method: &str) {
        let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *r.entry((code, handler, method.to_ascii_lowercase()))
            .or_insert(0) += 1;
    }

    /// The families as of now.
    pub fn families(&self, groups: usize, series: usize) -> Vec<Family> {
        let proc = read_proc();
        let mut out = Vec::new();
        for (name, kind, help) in FAMILIES {
            let mut f = Family::new(*name, *kind);
            f.help = Some(help.to_string());
            let value = |v: f64| match kind {
                Kind::Counter => Value::Counter(Counter {
                    value: v,
                    ..Counter::default()
                }),
                _ => Value::Gauge(v),
            };
            let one = |v: f64, labels: Vec<(String, String)>| Metric {
                labels,
                value: value(v),
                timestamp_ms: None,
            };
            match *name {
                REQUESTS => {
                    let r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
                    for ((code, handler, method), n) in r.iter() {
                        f.metrics.push(one(
                            *n as f64,
                            vec![
                                ("code".into(), code.to_string()),
                                ("handler".into(), handler.to_string()),
                                ("method".into(), method.clone()),
                            ],
                        ));
                    }
                }
                "process_cpu_seconds_total" => f.metrics.push(one(proc.cpu_seconds, vec![])),
                "process_max_fds" => f.metrics.push(one(proc.max_fds, vec![])),
                "process_open_fds" => f.metrics.push(one(proc.open_fds, vec![])),
                "process_resident_memory_bytes" => f.metrics.push(one(proc.rss_bytes, vec![])),
                "process_start_time_seconds" => f
                    .metrics
                    .push(one((self.start_ns / 1_000_000_000) as f64, vec![])),
                "process_virtual_memory_bytes" => f.metrics.push(one(proc.vm_bytes, vec![])),
                "prombox_build_info" => f.metrics.push(one(
                    1.0,
                    vec![("version".into(), env!("CARGO_PKG_VERSION").into())],
                )),
                "prombox_gateway_groups" => f.metrics.push(one(groups as f64, vec![])),
                _ => f.metrics.push(one(series as f64, vec![])),
            }
            if !f.metrics.is_empty() {
                out.push(f);
            }
        }
        out
    }
}

#[derive(Default)]
struct Proc {
    cpu_seconds: f64,
    rss_bytes: f64,
    vm_bytes: f64,
    open_fds: f64,
    max_fds: f64,
}

/// The process's figures from `/proc/self` (zero where unreadable).
fn read_proc() -> Proc {
    let mut p = Proc::default();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // SAFETY: as above.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesized command name, which may hold spaces.
        if let Some((_, rest)) = stat.rsplit_once(')') {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
            // rest[0] is field 3 (state): utime 14, stime 15, vsize 23, rss 24.
            p.cpu_seconds = (num(11) + num(12)) / ticks;
            p.vm_bytes = num(20);
            p.rss_bytes = num(21) * page;
        }
    }
    p.open_fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as f64)
        .unwrap_or(0.0);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        p.max_fds = lim.rlim_cur as f64;
    }
    p
}
