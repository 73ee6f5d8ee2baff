//! The built-in host collector: reads `/proc` and `/sys` and renders a Prometheus text-format
//! (0.0.4) exposition whose families are named, typed and documented exactly like
//! prometheus-node-exporter's (checked against the Debian build of node_exporter 1.5.0), so
//! `prombox collect` and `prombox scrape` have host metrics with no setup.
//!
//! This module owns the collectors below, their parsing of kernel files, node_exporter's default
//! exclusions, and the rendering (family grouping and ordering, label escaping, Go-style floats).
//!
//! | collector    | reads                                                   | families |
//! |--------------|---------------------------------------------------------|----------|
//! | `cpu`        | `proc/stat`                                             | `node_cpu_seconds_total`, `node_cpu_guest_seconds_total` |
//! | `diskstats`  | `proc/diskstats`                                        | `node_disk_*` (reads, writes, io, discards, flushes) |
//! | `filefd`     | `proc/sys/fs/file-nr`                                   | `node_filefd_allocated`, `node_filefd_maximum` |
//! | `filesystem` | `proc/1/mounts` (else `proc/mounts`), statfs(2)         | `node_filesystem_*` |
//! | `loadavg`    | `proc/loadavg`                                          | `node_load1`, `node_load5`, `node_load15` |
//! | `meminfo`    | `proc/meminfo`                                          | `node_memory_*` (one gauge per field) |
//! | `netdev`     | `proc/net/dev`                                          | `node_network_{receive,transmit}_*_total` |
//! | `stat`       | `proc/stat`                                             | boot time, context switches, forks, interrupts, procs |
//! | `time`       | the clock, `sys/devices/system/clocksource/clocksource*` | `node_time_seconds`, zone offset, clocksources |
//! | `uname`      | uname(2)                                                | `node_uname_info` |
//!
//! Every collector is also reported in `node_scrape_collector_success` and
//! `node_scrape_collector_duration_seconds`. A collector whose file is missing, unreadable or
//! not in the kernel's format contributes no families and reports success 0.
//!
//! The exclusions are the defaults compiled into the Debian package (the reference on our hosts),
//! written as plain string checks: mount points
//! `^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)` (upstream
//! has `run/credentials/.+` instead of `run`, and no `mnt` or `media`), pseudo file-system types
//! (`proc`, `sysfs`, `cgroup2`, `overlay`, `squashfs`, ...), partitions
//! `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`, and the network device `lo` (Debian only).
//!
//! Deliberately not done: node_exporter's memory between scrapes (it holds CPU counters that
//! step backwards), `node_disk_info` and the other udev-derived disk families,
//! `node_network_receive_nohandler_total` (netlink only, not in /proc/net/dev), and CPU
//! throttle/isolation families. A statfs(2) that hangs is abandoned after five seconds and its
//! mount reported in `node_filesystem_device_error`; each mount point has one long-lived
//! statfs worker thread, so a hung mount holds one thread (and is skipped while it stays hung,
//! as node_exporter skips stuck mounts) however many rounds `scrape --every` runs.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where to read from: normally /proc and /sys; tests point them at a fixture tree.
#[derive(Debug, Clone)]
pub struct Paths {
    pub proc: PathBuf,
    pub sys: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
        }
    }
}

/// Renders the exposition (text format 0.0.4: `# HELP`, `# TYPE`, samples without timestamps) into `out`.
/// A collector whose files are missing or unreadable is skipped (its families absent) and reported in
/// node_scrape_collector_success{collector="..."} 0, like node_exporter; never panics on odd file contents.
pub fn collect(paths: &Paths, out: &mut String) {
    static WORKERS: StatfsWorkers = StatfsWorkers::new(statfs, STATFS_TIMEOUT);
    WORKERS.round(|stat| collect_with(paths, stat, out));
}

/// How long a statfs(2) may take before its mount point is reported as a device error
/// (node_exporter's hidden `--collector.filesystem.mount-timeout` default).
const STATFS_TIMEOUT: Duration = Duration::from_secs(5);

/// Kernel clock ticks per second in /proc/stat (USER_HZ; node_exporter assumes 100 too).
const USER_HZ: f64 = 100.0;

/// The numbers node_exporter takes from statfs(2) for one mount point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FsStat {
    bsize: u64,
    blocks: u64,
    bfree: u64,
    bavail: u64,
    files: u64,
    ffree: u64,
}

/// What the collectors read from: the two roots and the statfs call (injectable for tests).
struct Ctx<'a> {
    paths: &'a Paths,
    statfs: &'a dyn Fn(&str) -> Option<FsStat>,
}

type CollectorFn = fn(&Ctx, &mut Families) -> Result<(), CollectError>;

/// Why a collector gave nothing (it is then reported with
/// `node_scrape_collector_success 0`, as node_exporter reports a failed collector).
#[derive(Debug)]
enum CollectError {
    Read {
        path: PathBuf,
        err: std::io::Error,
    },
    /// A line of a /proc file (`file`) without the expected fields.
    Malformed {
        file: &'static str,
        line: String,
    },
    NotANumber(String),
    /// The clock is before 1970.
    Clock,
    Uname(std::io::Error),
}

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CollectError::Read { path, err } => write!(f, "{}: {err}", path.display()),
            CollectError::Malformed { file, line } => write!(f, "{file}: invalid line {line:?}"),
            CollectError::NotANumber(t) => write!(f, "not a number: {t:?}"),
            CollectError::Clock => f.write_str("the clock is before 1970"),
            CollectError::Uname(e) => write!(f, "uname: {e}"),
        }
    }
}

/// The collectors in the order they run; the output is sorted by family name regardless.
const COLLECTORS: [(&str, CollectorFn); 10] = [
    ("cpu", cpu),
    ("diskstats", diskstats),
    ("filefd", filefd),
    ("filesystem", filesystem),
    ("loadavg", loadavg),
    ("meminfo", meminfo),
    ("netdev", netdev),
    ("stat", stat),
    ("time", time),
    ("uname", uname),
];

fn collect_with(paths: &Paths, statfs: &dyn Fn(&str) -> Option<FsStat>, out: &mut String) {
    let ctx = Ctx { paths, statfs };
    let mut all = Families::default();
    for (name, run) in COLLECTORS {
        let begin = Instant::now();
        let mut own = Families::default();
        let ok = run(&ctx, &mut own).is_ok();
        let elapsed = begin.elapsed().as_secs_f64();
        if ok {
            all.merge(own);
        }
        let labels = [("collector", name)];
        all.add(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            Kind::Gauge,
            &labels,
            elapsed,
        );
        all.add(
            "node_scrape_collector_success",
            "node_exporter: Whether a collector succeeded.",
            Kind::Gauge,
            &labels,
            if ok { 1.0 } else { 0.0 },
        );
    }
    all.render(out);
}

// ---------------------------------------------------------------------------------------------
// Families and rendering

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
}

struct Sample {
    /// Sorted by label name, as client_golang exposes them.
    labels: Vec<(&'static str, String)>,
    value: f64,
}

struct Family {
    help: String,
    kind: Kind,
    samples: Vec<Sample>,
}

/// Families by name; rendering walks them in name order, as client_golang's registry does.
#[derive(Default)]
struct Families(BTreeMap<String, Family>);

impl Families {
    fn add(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        let family = self.0.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            kind,
            samples: Vec::new(),
        });
        let mut labels: Vec<(&'static str, String)> =
            labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        labels.sort_by(|a, b| a.0.cmp(b.0));
        family.samples.push(Sample { labels, value });
    }

    fn merge(&mut self, other: Families) {
        for (name, family) in other.0 {
            match self.0.get_mut(&name) {
                Some(have) => have.samples.extend(family.samples),
                None => {
                    self.0.insert(name, family);
                }
            }
        }
    }

    /// Writes every non-empty family once: HELP, TYPE, then its samples sorted by label values
    /// (the first of several samples with the same labels wins).
    fn render(mut self, out: &mut String) {
        for (name, family) in self.0.iter_mut() {
            if family.samples.is_empty() {
                continue;
            }
            family.samples.sort_by(|a, b| {
                let av = a.labels.iter().map(|l| &l.1);
                let bv = b.labels.iter().map(|l| &l.1);
                av.cmp(bv)
            });
            family
                .samples
                .dedup_by(|later, first| later.labels == first.labels);
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            escape_into(out, &family.help, false);
            out.push_str("\n# TYPE ");
            out.push_str(name);
            out.push_str(match family.kind {
                Kind::Counter => " counter\n",
                Kind::Gauge => " gauge\n",
            });
            for sample in &family.samples {
                out.push_str(name);
                if !sample.labels.is_empty() {
                    out.push('{');
                    for (i, (label, value)) in sample.labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(label);
                        out.push_str("=\"");
                        escape_into(out, value, true);
                        out.push('"');
                    }
                    out.push('}');
                }
                out.push(' ');
                out.push_str(&format_float(sample.value));
                out.push('\n');
            }
        }
    }
}

/// Text-format escaping: `\` and newline always, `"` only inside label values.
fn escape_into(out: &mut String, text: &str, quote: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Formats a sample value the way client_golang does: Go's `strconv.FormatFloat(v, 'g', -1, 64)`
/// (shortest round-trip digits, exponent form when the decimal exponent is < -4 or >= 6,
/// at least two exponent digits) with `+Inf`, `-Inf` and `NaN` spelled out.
fn format_float(v: f64) -> String {
    let mut s = String::with_capacity(24);
    crate::expfmt::number::write_value(&mut s, v);
    s
}

// ---------------------------------------------------------------------------------------------
// Small parsing helpers

fn read_text(path: &Path) -> Result<String, CollectError> {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|err| CollectError::Read {
            path: path.to_path_buf(),
            err,
        })
}

fn parse_f64(text: &str) -> Result<f64, CollectError> {
    text.parse::<f64>()
        .map_err(|_| CollectError::NotANumber(text.to_string()))
}

fn parse_u64(text: &str) -> Result<u64, CollectError> {
    text.parse::<u64>()
        .map_err(|_| CollectError::NotANumber(text.to_string()))
}

/// A line of `file` without the expected fields.
fn malformed(file: &'static str, line: &str) -> CollectError {
    CollectError::Malformed {
        file,
        line: line.to_string(),
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

// ---------------------------------------------------------------------------------------------
// cpu: /proc/stat cpuN lines

/// /proc/stat column order after the `cpuN` key.
const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

fn cpu(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("stat"))?;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(key) = fields.next() else { continue };
        let Some(id) = key.strip_prefix("cpu") else {
            continue;
        };
        if id.is_empty() {
            continue; // the all-CPU total line
        }
        parse_u64(id)?;
        // Older kernels have fewer columns; the missing ones count as 0, as in procfs.
        let mut ticks = [0.0; 10];
        for (slot, field) in ticks.iter_mut().zip(fields) {
            *slot = parse_f64(field)? / USER_HZ;
        }
        for (mode, value) in CPU_MODES.iter().zip(ticks) {
            fams.add(
                "node_cpu_seconds_total",
                "Seconds the CPUs spent in each mode.",
                Kind::Counter,
                &[("cpu", id), ("mode", mode)],
                value,
            );
        }
        // Guest time is also counted in user and nice; exposed separately.
        for (mode, value) in [("user", ticks[8]), ("nice", ticks[9])] {
            fams.add(
                "node_cpu_guest_seconds_total",
                "Seconds the CPUs spent in guests (VMs) for each mode.",
                Kind::Counter,
                &[("cpu", id), ("mode", mode)],
                value,
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// stat: the rest of /proc/stat

fn stat(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("stat"))?;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(key), Some(first)) = (fields.next(), fields.next()) else {
            continue;
        };
        let (name, help, kind) = match key {
            "intr" => (
                "node_intr_total",
                "Total number of interrupts serviced.",
                Kind::Counter,
            ),
            "ctxt" => (
                "node_context_switches_total",
                "Total number of context switches.",
                Kind::Counter,
            ),
            "processes" => ("node_forks_total", "Total number of forks.", Kind::Counter),
            "btime" => (
                "node_boot_time_seconds",
                "Node boot time, in unixtime.",
                Kind::Gauge,
            ),
            "procs_running" => (
                "node_procs_running",
                "Number of processes in runnable state.",
                Kind::Gauge,
            ),
            "procs_blocked" => (
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
                Kind::Gauge,
            ),
            _ => continue,
        };
        fams.add(name, help, kind, &[], parse_u64(first)? as f64);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// loadavg

fn loadavg(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("loadavg"))?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() < 3 {
        return Err(malformed("loadavg", &text));
    }
    let names = [
        ("node_load1", "1m load average."),
        ("node_load5", "5m load average."),
        ("node_load15", "15m load average."),
    ];
    for ((name, help), field) in names.iter().zip(&fields) {
        fams.add(name, help, Kind::Gauge, &[], parse_f64(field)?);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// meminfo

fn meminfo(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("meminfo"))?;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let (Some(raw_key), true) = (fields[0].strip_suffix(':'), fields.len() <= 3) else {
            return Err(malformed("meminfo", line));
        };
        let Some(value) = fields.get(1) else {
            return Err(malformed("meminfo", line));
        };
        let mut value = parse_f64(value)?;
        let mut key = meminfo_key(raw_key);
        if fields.len() == 3 {
            // A unit is present; the kernel only ever uses kB.
            value *= 1024.0;
            key.push_str("_bytes");
        }
        let name = format!("node_memory_{key}");
        if !is_metric_name(&name) {
            continue;
        }
        let kind = if key.ends_with("_total") {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        let help = format!("Memory information field {key}.");
        fams.add(&name, &help, kind, &[], value);
    }
    Ok(())
}

/// `Active(anon)` → `Active_anon`: the text from the first `(` to the last `)` becomes `_` plus
/// what was inside.
fn meminfo_key(raw: &str) -> String {
    if let Some(open) = raw.find('(') {
        if let Some(close) = raw.rfind(')').filter(|close| *close > open) {
            return format!(
                "{}_{}{}",
                &raw[..open],
                &raw[open + 1..close],
                &raw[close + 1..]
            );
        }
    }
    raw.to_string()
}

// ---------------------------------------------------------------------------------------------
// diskstats

/// The /proc/diskstats columns after major, minor and name: family, HELP, kind, unit factor
/// (sectors are 512 bytes, times are milliseconds).
const DISK_STATS: [(&str, &str, Kind, f64); 17] = [
    (
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        Kind::Counter,
        512.0,
    ),
    (
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        Kind::Counter,
        0.001,
    ),
    (
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        Kind::Counter,
        512.0,
    ),
    (
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        Kind::Counter,
        0.001,
    ),
    (
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
        Kind::Gauge,
        1.0,
    ),
    (
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
        0.001,
    ),
    (
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        Kind::Counter,
        0.001,
    ),
    (
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        Kind::Counter,
        0.001,
    ),
    (
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        Kind::Counter,
        1.0,
    ),
    (
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        Kind::Counter,
        0.001,
    ),
];

fn diskstats(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("diskstats"))?;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Kernels before 4.18 have 11 stats, before 5.5 15, since then 17.
        if fields.len() < 14 {
            continue;
        }
        parse_u64(fields[0])?;
        parse_u64(fields[1])?;
        let device = fields[2];
        let mut values = Vec::with_capacity(DISK_STATS.len());
        for field in fields.iter().skip(3).take(DISK_STATS.len()) {
            values.push(parse_u64(field)? as f64);
        }
        if disk_excluded(device) {
            continue;
        }
        for ((name, help, kind, factor), value) in DISK_STATS.iter().zip(values) {
            fams.add(name, help, *kind, &[("device", device)], value * factor);
        }
    }
    Ok(())
}

/// node_exporter's default `--collector.diskstats.device-exclude`
/// `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`. Every alternative ends in a non-digit, so
/// the trailing `\d+` is exactly the name's trailing run of digits.
fn disk_excluded(name: &str) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() {
        return false;
    }
    if matches!(stem, "ram" | "loop" | "fd") {
        return true;
    }
    for prefix in ["hd", "sd", "vd", "xvd"] {
        if let Some(rest) = stem.strip_prefix(prefix) {
            if rest.len() == 1 && rest.bytes().all(|b| b.is_ascii_lowercase()) {
                return true;
            }
        }
    }
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = stem.strip_prefix("nvme").and_then(|r| r.strip_suffix('p')) {
        if let Some((controller, namespace)) = rest.split_once('n') {
            return all_digits(controller) && all_digits(namespace);
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// netdev

/// /proc/net/dev columns after `name:`, named as node_exporter's legacy (non-detailed) keys.
const NETDEV_STATS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
];

fn netdev(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("net/dev"))?;
    // Two header lines, then `name: 16 numbers` per device.
    for line in text.lines().skip(2) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((device, stats)) = line.rsplit_once(':') else {
            return Err(malformed("net/dev", line));
        };
        let device = device.trim();
        let stats: Vec<&str> = stats.split_whitespace().collect();
        if device.is_empty() || stats.len() < NETDEV_STATS.len() {
            return Err(malformed("net/dev", line));
        }
        let mut values = Vec::with_capacity(NETDEV_STATS.len());
        for field in &stats[..NETDEV_STATS.len()] {
            values.push(parse_u64(field)? as f64);
        }
        // Debian's default `--collector.netdev.device-exclude=^lo$`.
        if device == "lo" {
            continue;
        }
        for (key, value) in NETDEV_STATS.iter().zip(values) {
            fams.add(
                &format!("node_network_{key}_total"),
                &format!("Network device statistic {key}."),
                Kind::Counter,
                &[("device", device)],
                value,
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// filefd

fn filefd(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let text = read_text(&ctx.paths.proc.join("sys/fs/file-nr"))?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() < 3 {
        return Err(malformed("file-nr", &text));
    }
    for (key, field) in [("allocated", fields[0]), ("maximum", fields[2])] {
        fams.add(
            &format!("node_filefd_{key}"),
            &format!("File descriptor statistics: {key}."),
            Kind::Gauge,
            &[],
            parse_f64(field)?,
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// filesystem

/// One line of a mounts file, with `\040` and `\011` in the mount point decoded as fstab(5) says.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    device: String,
    mount_point: String,
    fs_type: String,
    options: String,
}

fn read_mounts(proc: &Path) -> Result<Vec<Mount>, CollectError> {
    // PID 1's view, unless /proc hides other processes.
    let text = read_text(&proc.join("1/mounts")).or_else(|_| read_text(&proc.join("mounts")))?;
    let mut mounts = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            return Err(malformed("mounts", line));
        }
        mounts.push(Mount {
            device: fields[0].to_string(),
            mount_point: fields[1].replace("\\040", " ").replace("\\011", "\t"),
            fs_type: fields[2].to_string(),
            options: fields[3].to_string(),
        });
    }
    Ok(mounts)
}

/// Debian's `--collector.filesystem.mount-points-exclude`
/// `^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
fn mount_point_excluded(mount_point: &str) -> bool {
    let Some(rest) = mount_point.strip_prefix('/') else {
        return false;
    };
    for dir in ["dev", "proc", "run", "sys", "mnt", "media"] {
        if let Some(after) = rest.strip_prefix(dir) {
            if after.is_empty() || after.starts_with('/') {
                return true;
            }
        }
    }
    ["var/lib/docker/", "var/lib/containers/storage/"]
        .iter()
        .any(|dir| {
            rest.strip_prefix(dir)
                .is_some_and(|after| !after.is_empty())
        })
}

/// node_exporter's default `--collector.filesystem.fs-types-exclude`, as an exact-match list.
const EXCLUDED_FS_TYPES: [&str; 24] = [
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tracefs",
];

fn filesystem(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let mounts = read_mounts(&ctx.paths.proc)?;
    let mut seen: Vec<(&str, &str, &str)> = Vec::new();
    for mount in &mounts {
        if mount_point_excluded(&mount.mount_point)
            || EXCLUDED_FS_TYPES.contains(&mount.fs_type.as_str())
        {
            continue;
        }
        // A mount listed twice (same device, type and place) is exposed once.
        let key = (
            mount.device.as_str(),
            mount.mount_point.as_str(),
            mount.fs_type.as_str(),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let labels = [
            ("device", mount.device.as_str()),
            ("fstype", mount.fs_type.as_str()),
            ("mountpoint", mount.mount_point.as_str()),
        ];
        let stat = (ctx.statfs)(&mount.mount_point);
        fams.add(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            Kind::Gauge,
            &labels,
            if stat.is_some() { 0.0 } else { 1.0 },
        );
        let Some(st) = stat else { continue };
        let read_only = mount.options.split(',').any(|option| option == "ro");
        let bsize = st.bsize as f64;
        for (name, help, value) in [
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                st.blocks as f64 * bsize,
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                st.bfree as f64 * bsize,
            ),
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                st.bavail as f64 * bsize,
            ),
            (
                "node_filesystem_files",
                "Filesystem total file nodes.",
                st.files as f64,
            ),
            (
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                st.ffree as f64,
            ),
            (
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                if read_only { 1.0 } else { 0.0 },
            ),
        ] {
            fams.add(name, help, Kind::Gauge, &labels, value);
        }
    }
    Ok(())
}

/// A reply channel for one statfs(2) request.
type Reply = mpsc::Sender<Option<FsStat>>;

/// The statfs(2) worker of one mount point.
struct Worker {
    requests: mpsc::Sender<Reply>,
    /// A request is in flight (true from sending it until the call returns, so a call that
    /// hangs past the timeout keeps it true).
    busy: Arc<AtomicBool>,
    /// The round that last asked for this mount.
    round: u64,
}

/// statfs(2) on worker threads, one per mount point and reused across rounds, so a hung mount
/// (a dead NFS server) costs at most the timeout once, is reported as a device error while it
/// stays hung, and holds a single thread. Workers of mount points no longer mounted are
/// retired after each round.
struct StatfsWorkers {
    call: fn(&CStr) -> Option<FsStat>,
    timeout: Duration,
    state: Mutex<Option<(u64, HashMap<String, Worker>)>>,
    /// Threads started so far.
    spawned: AtomicUsize,
}

impl StatfsWorkers {
    const fn new(call: fn(&CStr) -> Option<FsStat>, timeout: Duration) -> StatfsWorkers {
        StatfsWorkers {
            call,
            timeout,
            state: Mutex::new(None),
            spawned: AtomicUsize::new(0),
        }
    }

    /// One collection: `f` gets the statfs function; afterwards the workers of mount points
    /// it did not ask for are dropped (their threads end), unless still stuck in a call.
    fn round<T>(&self, f: impl FnOnce(&dyn Fn(&str) -> Option<FsStat>) -> T) -> T {
        let round = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (n, _) = st.get_or_insert_with(|| (0, HashMap::new()));
            *n += 1;
            *n
        };
        let out = f(&|mount_point: &str| self.stat(mount_point, round));
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, workers)) = st.as_mut() {
            // A worker still stuck in a call stays, so the mount is known to be stuck if it
            // comes back, and no second thread hangs on it.
            workers.retain(|_, w| w.round == round || w.busy.load(Ordering::SeqCst));
        }
        out
    }

    fn stat(&self, mount_point: &str, round: u64) -> Option<FsStat> {
        let path = CString::new(mount_point).ok()?;
        let (send, receive) = mpsc::channel();
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (_, workers) = st.get_or_insert_with(|| (0, HashMap::new()));
            let worker = match workers.get_mut(mount_point) {
                Some(w) => w,
                None => {
                    let w = self.spawn(path)?;
                    workers.entry(mount_point.to_string()).or_insert(w)
                }
            };
            worker.round = round;
            if worker.busy.swap(true, Ordering::SeqCst) {
                // Still stuck in an earlier call.
                return None;
            }
            if worker.requests.send(send).is_err() {
                workers.remove(mount_point);
                return None;
            }
        }
        receive.recv_timeout(self.timeout).ok().flatten()
    }

    fn spawn(&self, path: CString) -> Option<Worker> {
        let (requests, incoming) = mpsc::channel::<Reply>();
        let busy = Arc::new(AtomicBool::new(false));
        let flag = busy.clone();
        let call = self.call;
        std::thread::Builder::new()
            .name("statfs".to_string())
            .spawn(move || {
                for reply in incoming {
                    let stat = call(&path);
                    flag.store(false, Ordering::SeqCst);
                    let _ = reply.send(stat);
                }
            })
            .ok()?;
        self.spawned.fetch_add(1, Ordering::Relaxed);
        Some(Worker {
            requests,
            busy,
            round: 0,
        })
    }

    /// Worker threads alive or stuck (for tests).
    #[cfg(test)]
    fn workers(&self) -> usize {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.as_ref().map_or(0, |(_, w)| w.len())
    }
}

/// statfs(2) rather than statvfs(3): node_exporter multiplies the block counts by `f_bsize`.
// The field types vary by target; every value is a non-negative count or size.
#[allow(clippy::unnecessary_cast)]
fn statfs(path: &CStr) -> Option<FsStat> {
    // SAFETY: `buf` is a plain C struct for which all-zero bytes are valid, and `path` is a
    // NUL-terminated string that outlives the call.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(path.as_ptr(), &mut buf) };
    if rc != 0 {
        return None;
    }
    Some(FsStat {
        bsize: buf.f_bsize as u64,
        blocks: buf.f_blocks as u64,
        bfree: buf.f_bfree as u64,
        bavail: buf.f_bavail as u64,
        files: buf.f_files as u64,
        ffree: buf.f_ffree as u64,
    })
}

// ---------------------------------------------------------------------------------------------
// time

fn time(ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CollectError::Clock)?;
    fams.add(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
        Kind::Gauge,
        &[],
        now.as_nanos() as f64 / 1e9,
    );
    if let Some((zone, offset)) = local_zone(now.as_secs()) {
        fams.add(
            "node_time_zone_offset_seconds",
            "System time zone offset in seconds.",
            Kind::Gauge,
            &[("time_zone", &zone)],
            offset as f64,
        );
    }
    clocksources(&ctx.paths.sys, fams);
    Ok(())
}

/// The local time zone's abbreviation and UTC offset at `secs`, from the C library.
#[allow(clippy::unnecessary_cast)] // tm_gmtoff is not i64 on every target
fn local_zone(secs: u64) -> Option<(String, i64)> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `tm` is a plain C struct for which all-zero bytes are valid; localtime_r only
    // writes into it; `tm_zone`, when set, points at a NUL-terminated string owned by the C
    // library that we copy at once.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    Some((zone, tm.tm_gmtoff as i64))
}

/// `sys/devices/system/clocksource/clocksource*`: the available and current clocksources, the
/// `device` label being the index in name order (as node_exporter numbers them). A missing
/// directory means none; an unreadable clocksource is left out.
fn clocksources(sys: &Path, fams: &mut Families) {
    let dir = sys.join("devices/system/clocksource");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.strip_prefix("clocksource")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    names.sort();
    for (index, name) in names.iter().enumerate() {
        let base = dir.join(name);
        let (Ok(available), Ok(current)) = (
            read_text(&base.join("available_clocksource")),
            read_text(&base.join("current_clocksource")),
        ) else {
            continue;
        };
        let device = index.to_string();
        for source in available.split_whitespace() {
            fams.add(
                "node_time_clocksource_available_info",
                "Available clocksources read from '/sys/devices/system/clocksource'.",
                Kind::Gauge,
                &[("device", &device), ("clocksource", source)],
                1.0,
            );
        }
        fams.add(
            "node_time_clocksource_current_info",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            Kind::Gauge,
            &[("device", &device), ("clocksource", current.trim())],
            1.0,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// uname

#[allow(clippy::unnecessary_cast)] // c_char is u8 on some targets
fn uname(_ctx: &Ctx, fams: &mut Families) -> Result<(), CollectError> {
    // SAFETY: `utsname` is a plain C struct of char arrays; all-zero bytes are valid and uname
    // fills each array with a NUL-terminated string.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(CollectError::Uname(std::io::Error::last_os_error()));
    }
    let text = |field: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = field
            .iter()
            .map(|c| *c as u8)
            .take_while(|b| *b != 0)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let (sysname, release, version) = (text(&uts.sysname), text(&uts.release), text(&uts.version));
    let (machine, nodename, domainname) = (
        text(&uts.machine),
        text(&uts.nodename),
        text(&uts.domainname),
    );
    fams.add(
        "node_uname_info",
        "Labeled system information as provided by the uname system call.",
        Kind::Gauge,
        &[
            ("sysname", &sysname),
            ("release", &release),
            ("version", &version),
            ("machine", &machine),
            ("nodename", &nodename),
            ("domainname", &domainname),
        ],
        1.0,
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/host");

    /// A hung mount costs one thread and one timeout, however many rounds run (issue 12).
    #[test]
    fn hung_mount_holds_one_worker_across_rounds() {
        static HANG: AtomicBool = AtomicBool::new(true);
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn fake(path: &CStr) -> Option<FsStat> {
            CALLS.fetch_add(1, Ordering::SeqCst);
            if path.to_bytes() == b"/hung" {
                while HANG.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Some(FsStat {
                bsize: 4096,
                blocks: 1,
                bfree: 1,
                bavail: 1,
                files: 1,
                ffree: 1,
            })
        }
        let pool = StatfsWorkers::new(fake, Duration::from_millis(200));
        let started = Instant::now();
        for round in 0..20 {
            let got = pool.round(|stat| (stat("/ok"), stat("/hung"), stat("/gone")));
            assert!(got.0.is_some() && got.1.is_none(), "round {round}");
            // Mount points come and go; their workers go with them.
            let _ = pool.round(|stat| stat("/ok"));
            assert!(
                pool.workers() <= 2,
                "round {round}: {} workers",
                pool.workers()
            );
        }
        // Only the first round waited for the hung mount.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // One thread for the hung mount; /ok's and /gone's come and go with their mounts.
        let spawned = pool.spawned.load(Ordering::Relaxed);
        assert!(spawned <= 1 + 2 * 20, "{spawned} threads started");
        assert_eq!(
            CALLS.load(Ordering::SeqCst) - 20 * 3,
            1,
            "the hung mount was asked once"
        );
        HANG.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        let got = pool.round(|stat| stat("/hung"));
        assert!(got.is_some(), "the mount answers again once unstuck");
    }

    fn fixture() -> Paths {
        Paths {
            proc: Path::new(FIXTURE).join("proc"),
            sys: Path::new(FIXTURE).join("sys"),
        }
    }

    /// A fake statfs: the root file system, a read-only backup disk, and a failing NFS mount.
    fn fake_statfs(mount_point: &str) -> Option<FsStat> {
        match mount_point {
            "/" => Some(FsStat {
                bsize: 4096,
                blocks: 66053021,
                bfree: 60083168,
                bavail: 17851619,
                files: 16777216,
                ffree: 16369769,
            }),
            "/srv/nfs" => None,
            _ => Some(FsStat {
                bsize: 1024,
                blocks: 1000,
                bfree: 500,
                bavail: 400,
                files: 100,
                ffree: 90,
            }),
        }
    }

    fn render(paths: &Paths) -> String {
        let mut out = String::new();
        collect_with(paths, &fake_statfs, &mut out);
        out
    }

    /// The sample lines of one family (without HELP/TYPE).
    fn samples<'a>(out: &'a str, family: &str) -> Vec<&'a str> {
        out.lines()
            .filter(|line| {
                line.strip_prefix(family)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
            .collect()
    }

    fn success(out: &str, collector: &str) -> Option<&'static str> {
        let prefix = format!("node_scrape_collector_success{{collector=\"{collector}\"}} ");
        out.lines().find_map(|line| {
            line.strip_prefix(&prefix).map(|v| match v {
                "1" => "1",
                "0" => "0",
                _ => "?",
            })
        })
    }

    /// Each family: HELP then TYPE once, then only its own samples, contiguous, and never again.
    fn check_structure(out: &str) {
        let mut done: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut lines = out.lines().peekable();
        assert!(out.ends_with('\n'), "exposition must end with a newline");
        while let Some(line) = lines.next() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default().to_string();
                assert!(is_metric_name(&name), "bad family name {name:?}");
                assert!(done.insert(name.clone()), "family {name} appears twice");
                let typ = lines.next().unwrap_or_default();
                let expected_gauge = format!("# TYPE {name} gauge");
                let expected_counter = format!("# TYPE {name} counter");
                assert!(
                    typ == expected_gauge || typ == expected_counter,
                    "{name}: bad TYPE line {typ:?}"
                );
                current = Some(name);
                continue;
            }
            assert!(!line.starts_with('#'), "stray comment {line:?}");
            let family = current.as_deref().expect("sample before any HELP");
            let name_end = line.find(['{', ' ']).expect("sample without value");
            assert_eq!(&line[..name_end], family, "sample outside its family");
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(
                value == "NaN"
                    || value == "+Inf"
                    || value == "-Inf"
                    || value.parse::<f64>().is_ok(),
                "bad value in {line:?}"
            );
        }
    }

    static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A fresh empty directory under the system temp dir, removed on drop.
    struct TempTree(PathBuf);

    impl TempTree {
        fn new() -> TempTree {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::SeqCst);
            let dir =
                std::env::temp_dir().join(format!("prombox-host-test-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("proc")).expect("create temp proc");
            std::fs::create_dir_all(dir.join("sys")).expect("create temp sys");
            TempTree(dir)
        }

        fn paths(&self) -> Paths {
            Paths {
                proc: self.0.join("proc"),
                sys: self.0.join("sys"),
            }
        }

        fn write(&self, rel: &str, content: &[u8]) {
            let path = self.0.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create parent");
            }
            std::fs::write(path, content).expect("write temp file");
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Every regular file of the fixture, as (path relative to the fixture root, content).
    fn fixture_files() -> Vec<(String, Vec<u8>)> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("read fixture dir")
                .map(|e| e.expect("fixture entry").path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under root");
                    let content = std::fs::read(&path).expect("read fixture file");
                    out.push((rel.to_string_lossy().into_owned(), content));
                }
            }
        }
        let mut out = Vec::new();
        walk(Path::new(FIXTURE), Path::new(FIXTURE), &mut out);
        out
    }

    #[test]
    fn floats_format_like_go() {
        let cases: [(f64, &str); 24] = [
            (0.0, "0"),
            (-0.0, "-0"), // as Go's strconv prints it
            (1.0, "1"),
            (-1.0, "-1"),
            (7239.39, "7239.39"),
            (12345.67, "12345.67"),
            (106885.0, "106885"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (5487619.0, "5.487619e+06"),
            (1795540327.0, "1.795540327e+09"),
            (1.7955495972713864e9, "1.7955495972713864e+09"),
            (2466170.0, "2.46617e+06"),
            (4.410976768e10, "4.410976768e+10"),
            (0.000182736, "0.000182736"),
            (0.0001, "0.0001"),
            (3.569e-05, "3.569e-05"),
            (1e-5, "1e-05"),
            (0.01, "0.01"),
            (5e-324, "5e-324"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (-2.5e-7, "-2.5e-07"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_float(value), expected, "formatting {value:?}");
        }
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        // Values computed as node_exporter computes them.
        assert_eq!(format_float(744493.0 * 0.001), "744.493");
        assert_eq!(format_float(177473.0 / USER_HZ), "1774.73");
    }

    #[test]
    fn cpu_lines() {
        let out = render(&fixture());
        assert_eq!(
            samples(&out, "node_cpu_seconds_total"),
            [
                "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 7449.16",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"} 11.21",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"irq\"} 0",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"nice\"} 17.5",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"softirq\"} 6.03",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"steal\"} 1",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"system\"} 195.57",
                "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1775.22",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 6922.76",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"iowait\"} 36.56",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"irq\"} 0",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"nice\"} 29.39",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"softirq\"} 7.52",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"} 1.05",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"system\"} 302.39",
                "node_cpu_seconds_total{cpu=\"1\",mode=\"user\"} 2157.7",
            ]
        );
        assert_eq!(
            samples(&out, "node_cpu_guest_seconds_total"),
            [
                "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"} 0",
                "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"} 0",
                "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"nice\"} 0.03",
                "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"user\"} 0.07",
            ]
        );
        assert!(out.contains(
            "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n\
             # TYPE node_cpu_seconds_total counter\n"
        ));
    }

    #[test]
    fn stat_loadavg_filefd_lines() {
        let out = render(&fixture());
        for expected in [
            "node_boot_time_seconds 1.795540327e+09",
            "node_context_switches_total 5.537222e+06",
            "node_forks_total 108199",
            "node_intr_total 5.400955e+06",
            "node_procs_blocked 0",
            "node_procs_running 3",
            "node_load1 0",
            "node_load5 0.25",
            "node_load15 0.4",
            "node_filefd_allocated 407",
            "node_filefd_maximum 2.46617e+06",
            "# HELP node_boot_time_seconds Node boot time, in unixtime.",
            "# TYPE node_boot_time_seconds gauge",
            "# TYPE node_forks_total counter",
            "# HELP node_load15 15m load average.",
            "# HELP node_filefd_maximum File descriptor statistics: maximum.",
        ] {
            assert!(out.lines().any(|l| l == expected), "missing {expected:?}");
        }
    }

    #[test]
    fn meminfo_naming() {
        let out = render(&fixture());
        for expected in [
            "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.",
            "# TYPE node_memory_MemTotal_bytes gauge",
            "node_memory_MemTotal_bytes 2.5276502016e+10",
            "# HELP node_memory_Active_anon_bytes Memory information field Active_anon_bytes.",
            "node_memory_Active_anon_bytes 1.560576e+06",
            "node_memory_Inactive_file_bytes 5.9584512e+08",
            "# HELP node_memory_HugePages_Total Memory information field HugePages_Total.",
            "node_memory_HugePages_Total 0",
            "node_memory_VmallocTotal_bytes 3.5184372087808e+13",
        ] {
            assert!(out.lines().any(|l| l == expected), "missing {expected:?}");
        }
        assert!(!out.contains("node_memory_HugePages_Total_bytes"));
        assert!(!out
            .lines()
            .any(|l| l.contains("node_memory_") && l.contains('(')));
        assert_eq!(meminfo_key("Active(anon)"), "Active_anon");
        assert_eq!(meminfo_key("a(b)c(d)"), "a_b)c(d");
        assert_eq!(meminfo_key("x)y(z"), "x)y(z");
    }

    #[test]
    fn netdev_lines() {
        let out = render(&fixture());
        let eth0: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("node_network_") && l.contains("device=\"eth0\""))
            .collect();
        assert_eq!(
            eth0,
            [
                "node_network_receive_bytes_total{device=\"eth0\"} 1.79644754e+08",
                "node_network_receive_compressed_total{device=\"eth0\"} 5",
                "node_network_receive_drop_total{device=\"eth0\"} 2",
                "node_network_receive_errs_total{device=\"eth0\"} 1",
                "node_network_receive_fifo_total{device=\"eth0\"} 3",
                "node_network_receive_frame_total{device=\"eth0\"} 4",
                "node_network_receive_multicast_total{device=\"eth0\"} 6",
                "node_network_receive_packets_total{device=\"eth0\"} 7664",
                "node_network_transmit_bytes_total{device=\"eth0\"} 450521",
                "node_network_transmit_carrier_total{device=\"eth0\"} 11",
                "node_network_transmit_colls_total{device=\"eth0\"} 10",
                "node_network_transmit_compressed_total{device=\"eth0\"} 12",
                "node_network_transmit_drop_total{device=\"eth0\"} 8",
                "node_network_transmit_errs_total{device=\"eth0\"} 7",
                "node_network_transmit_fifo_total{device=\"eth0\"} 9",
                "node_network_transmit_packets_total{device=\"eth0\"} 4825",
            ]
        );
        assert_eq!(
            samples(&out, "node_network_receive_bytes_total"),
            [
                "node_network_receive_bytes_total{device=\"eth0\"} 1.79644754e+08",
                "node_network_receive_bytes_total{device=\"ifb0\"} 0",
            ]
        );
        assert!(out.contains(
            "# HELP node_network_transmit_colls_total Network device statistic transmit_colls.\n\
             # TYPE node_network_transmit_colls_total counter\n"
        ));
        assert!(!out.contains("device=\"lo\""));
    }

    #[test]
    fn diskstats_lines_and_exclusion() {
        let out = render(&fixture());
        assert_eq!(
            samples(&out, "node_disk_reads_completed_total"),
            [
                "node_disk_reads_completed_total{device=\"dm-0\"} 5",
                "node_disk_reads_completed_total{device=\"nvme0n1\"} 300",
                "node_disk_reads_completed_total{device=\"sda\"} 2000",
                "node_disk_reads_completed_total{device=\"vda\"} 473550",
            ]
        );
        let vda: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("node_disk_") && l.contains("device=\"vda\""))
            .collect();
        assert_eq!(
            vda,
            [
                "node_disk_discard_time_seconds_total{device=\"vda\"} 13.789",
                "node_disk_discarded_sectors_total{device=\"vda\"} 1.65139848e+08",
                "node_disk_discards_completed_total{device=\"vda\"} 56674",
                "node_disk_discards_merged_total{device=\"vda\"} 93",
                "node_disk_flush_requests_time_seconds_total{device=\"vda\"} 2.825",
                "node_disk_flush_requests_total{device=\"vda\"} 28851",
                "node_disk_io_now{device=\"vda\"} 0",
                "node_disk_io_time_seconds_total{device=\"vda\"} 90.756",
                "node_disk_io_time_weighted_seconds_total{device=\"vda\"} 1176.771",
                "node_disk_read_bytes_total{device=\"vda\"} 4.4127314944e+10",
                "node_disk_read_time_seconds_total{device=\"vda\"} 744.67",
                "node_disk_reads_completed_total{device=\"vda\"} 473550",
                "node_disk_reads_merged_total{device=\"vda\"} 17869",
                "node_disk_write_time_seconds_total{device=\"vda\"} 415.486",
                "node_disk_writes_completed_total{device=\"vda\"} 142372",
                "node_disk_writes_merged_total{device=\"vda\"} 59483",
                "node_disk_written_bytes_total{device=\"vda\"} 4.7996882944e+10",
            ]
        );
        // sda has the pre-4.18 11 stats, nvme0n1 the pre-5.5 15: no later columns for them.
        assert_eq!(
            samples(&out, "node_disk_discards_completed_total"),
            [
                "node_disk_discards_completed_total{device=\"dm-0\"} 0",
                "node_disk_discards_completed_total{device=\"nvme0n1\"} 1",
                "node_disk_discards_completed_total{device=\"vda\"} 56674",
            ]
        );
        assert_eq!(samples(&out, "node_disk_flush_requests_total").len(), 2);
        for excluded in ["loop0", "loop1", "vda1", "sda1", "nvme0n1p1", "ram0"] {
            assert!(
                !out.contains(&format!("device=\"{excluded}\"")),
                "{excluded} should be excluded"
            );
        }
        for (name, excluded) in [
            ("sda", false),
            ("sda1", true),
            ("sdaa1", false),
            ("xvda12", true),
            ("hdb3", true),
            ("vdz0", true),
            ("vd1", false),
            ("nvme10n2p3", true),
            ("nvme0n1", false),
            ("nvmen1p1", false),
            ("mmcblk0p1", false),
            ("dm-1", false),
            ("md0", false),
            ("loop", false),
            ("fd0", true),
            ("ram15", true),
            ("", false),
        ] {
            assert_eq!(disk_excluded(name), excluded, "disk_excluded({name:?})");
        }
    }

    #[test]
    fn filesystem_lines_and_exclusion() {
        let out = render(&fixture());
        let fs: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("node_filesystem_"))
            .collect();
        assert_eq!(
            fs,
            [
                "node_filesystem_avail_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 7.3120231424e+10",
                "node_filesystem_avail_bytes{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 409600",
                "node_filesystem_avail_bytes{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 409600",
                "node_filesystem_avail_bytes{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 409600",
                "node_filesystem_avail_bytes{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 409600",
                "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0",
                "node_filesystem_device_error{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 0",
                "node_filesystem_device_error{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 0",
                "node_filesystem_device_error{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 0",
                "node_filesystem_device_error{device=\"nfs.example:/export\",fstype=\"nfs4\",mountpoint=\"/srv/nfs\"} 1",
                "node_filesystem_device_error{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 0",
                "node_filesystem_files{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 1.6777216e+07",
                "node_filesystem_files{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 100",
                "node_filesystem_files{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 100",
                "node_filesystem_files{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 100",
                "node_filesystem_files{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 100",
                "node_filesystem_files_free{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 1.6369769e+07",
                "node_filesystem_files_free{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 90",
                "node_filesystem_files_free{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 90",
                "node_filesystem_files_free{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 90",
                "node_filesystem_files_free{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 90",
                "node_filesystem_free_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 2.46100656128e+11",
                "node_filesystem_free_bytes{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 512000",
                "node_filesystem_free_bytes{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 512000",
                "node_filesystem_free_bytes{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 512000",
                "node_filesystem_free_bytes{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 512000",
                "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0",
                "node_filesystem_readonly{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 1",
                "node_filesystem_readonly{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 0",
                "node_filesystem_readonly{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 0",
                "node_filesystem_readonly{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 0",
                "node_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 2.70553174016e+11",
                "node_filesystem_size_bytes{device=\"/dev/vdb1\",fstype=\"ext4\",mountpoint=\"/srv/backup disk\"} 1.024e+06",
                "node_filesystem_size_bytes{device=\"/dev/vdb2\",fstype=\"vfat\",mountpoint=\"/boot/efi\"} 1.024e+06",
                "node_filesystem_size_bytes{device=\"/dev/vdc\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"} 1.024e+06",
                "node_filesystem_size_bytes{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"} 1.024e+06",
            ]
        );
        for (mount_point, excluded) in [
            ("/dev", true),
            ("/dev/shm", true),
            ("/devices", false),
            ("/run", true),
            ("/run/user/1000", true),
            ("/mnt/x", true),
            ("/media", true),
            ("/sys/fs/cgroup", true),
            ("/proc", true),
            ("/var/lib/docker", false),
            ("/var/lib/docker/", false),
            ("/var/lib/docker/overlay2/x/merged", true),
            ("/var/lib/containers/storage/overlay", true),
            ("/", false),
            ("/home", false),
            ("relative", false),
        ] {
            assert_eq!(
                mount_point_excluded(mount_point),
                excluded,
                "mount_point_excluded({mount_point:?})"
            );
        }
    }

    #[test]
    fn mounts_prefer_pid1_view() {
        let tree = TempTree::new();
        tree.write("proc/mounts", b"/dev/vda / ext4 rw 0 0\n");
        tree.write("proc/1/mounts", b"/dev/vdb /data xfs ro 0 0\n");
        let out = render(&tree.paths());
        assert_eq!(
            samples(&out, "node_filesystem_readonly"),
            ["node_filesystem_readonly{device=\"/dev/vdb\",fstype=\"xfs\",mountpoint=\"/data\"} 1"]
        );
    }

    #[test]
    fn time_and_clocksource_lines() {
        let out = render(&fixture());
        assert_eq!(
            samples(&out, "node_time_clocksource_available_info"),
            [
                "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1",
                "node_time_clocksource_available_info{clocksource=\"kvm-clock\",device=\"0\"} 1",
                "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1",
            ]
        );
        assert_eq!(
            samples(&out, "node_time_clocksource_current_info"),
            ["node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1"]
        );
        let now = samples(&out, "node_time_seconds");
        assert_eq!(now.len(), 1);
        let value: f64 = now[0]
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("time value");
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        assert!((wall - value).abs() < 60.0, "{value} vs {wall}");
        assert_eq!(samples(&out, "node_time_zone_offset_seconds").len(), 1);
        assert_eq!(samples(&out, "node_uname_info").len(), 1);
    }

    #[test]
    fn fixture_exposition_is_well_formed_and_all_collectors_succeed() {
        let out = render(&fixture());
        check_structure(&out);
        for (collector, _) in COLLECTORS {
            assert_eq!(success(&out, collector), Some("1"), "{collector}");
            assert_eq!(
                samples(&out, "node_scrape_collector_duration_seconds")
                    .iter()
                    .filter(|l| l.contains(&format!("collector=\"{collector}\"")))
                    .count(),
                1
            );
        }
        // Families come out sorted by name, like node_exporter's.
        let names: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("# HELP "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn missing_files_skip_their_collectors() {
        let tree = TempTree::new();
        let out = render(&tree.paths());
        check_structure(&out);
        for collector in [
            "cpu",
            "diskstats",
            "filefd",
            "filesystem",
            "loadavg",
            "meminfo",
            "netdev",
            "stat",
        ] {
            assert_eq!(success(&out, collector), Some("0"), "{collector}");
        }
        assert_eq!(success(&out, "time"), Some("1"));
        assert_eq!(success(&out, "uname"), Some("1"));
        for family in [
            "node_cpu_seconds_total",
            "node_memory_",
            "node_disk_",
            "node_network_",
            "node_filesystem_",
            "node_load1",
            "node_filefd_",
            "node_boot_time_seconds",
            "node_time_clocksource",
        ] {
            assert!(!out.contains(family), "{family} should be absent");
        }
        assert!(out.contains("\nnode_time_seconds "));
    }

    #[test]
    fn garbage_contents_fail_their_collector_without_panicking() {
        let tree = TempTree::new();
        tree.write("proc/stat", b"cpu0 12 x 3\nctxt many\n");
        tree.write("proc/loadavg", b"0.1 0.2\n");
        tree.write("proc/meminfo", b"MemTotal: lots kB\n");
        tree.write("proc/diskstats", b"8 0 sda 1 2 3 4 5 6 7 8 9 -10 11\n");
        tree.write("proc/net/dev", b"h1\nh2\neth0 1 2 3\n");
        tree.write("proc/sys/fs/file-nr", b"\xff\xfe\x00");
        tree.write("proc/mounts", b"rootfs\n");
        let out = render(&tree.paths());
        check_structure(&out);
        for collector in [
            "cpu",
            "diskstats",
            "filefd",
            "filesystem",
            "loadavg",
            "meminfo",
            "netdev",
            "stat",
        ] {
            assert_eq!(success(&out, collector), Some("0"), "{collector}");
        }
    }

    #[test]
    fn mangled_fixture_files_never_panic() {
        let files = fixture_files();
        let mut mutations = 0;
        for (index, (rel, content)) in files.iter().enumerate() {
            let mut variants: Vec<Vec<u8>> = Vec::new();
            // Every prefix that ends mid-line or at a line end, a sample of byte positions.
            for cut in (0..content.len()).step_by(7) {
                variants.push(content[..cut].to_vec());
            }
            // Single bytes replaced by awkward characters.
            for (i, replacement) in (0..content.len()).step_by(5).zip(
                [
                    b'(', b')', b':', b'\n', b'\\', b'"', 0xff, b'-', b' ', b'\t',
                ]
                .iter()
                .cycle(),
            ) {
                let mut v = content.clone();
                v[i] = *replacement;
                variants.push(v);
            }
            variants.push(content.repeat(2));
            variants.push(vec![0; 64]);
            let tree = TempTree::new();
            for (other_index, (other_rel, other)) in files.iter().enumerate() {
                if other_index != index {
                    tree.write(other_rel, other);
                }
            }
            for variant in variants {
                tree.write(rel, &variant);
                let out = render(&tree.paths());
                check_structure(&out);
                mutations += 1;
            }
        }
        assert!(mutations > 100);
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut fams = Families::default();
        fams.add(
            "x_total",
            "a \\ help\nline",
            Kind::Counter,
            &[("v", "q\"b\\s\nn")],
            2.0,
        );
        let mut out = String::new();
        fams.render(&mut out);
        assert_eq!(
            out,
            "# HELP x_total a \\\\ help\\nline\n# TYPE x_total counter\nx_total{v=\"q\\\"b\\\\s\\nn\"} 2\n"
        );
    }

    #[test]
    fn duplicate_samples_render_once() {
        let mut fams = Families::default();
        for value in [1.0, 2.0] {
            fams.add("d", "h", Kind::Gauge, &[("b", "1"), ("a", "2")], value);
        }
        let mut out = String::new();
        fams.render(&mut out);
        assert_eq!(out, "# HELP d h\n# TYPE d gauge\nd{a=\"2\",b=\"1\"} 1\n");
    }

    #[test]
    fn real_host() {
        let mut out = String::new();
        collect(&Paths::default(), &mut out);
        check_structure(&out);
        assert!(out.contains("\nnode_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} "));
        assert!(out.contains("\nnode_memory_MemTotal_bytes "));
        assert_eq!(success(&out, "cpu"), Some("1"));
        assert_eq!(success(&out, "meminfo"), Some("1"));
    }
}
