//! `prombox gateway` and `prombox push` against the real Pushgateway (Debian's
//! prometheus-pushgateway) and real clients (Python's prometheus_client): the same requests
//! to both gateways, the answers compared; durability under `kill -9`; hostile clients.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prombox::expfmt::family::{Bucket, Family, Histogram, Kind, Metric, Value};
use prombox::expfmt::proto;

use crate::util::{free_port, installed, text, Proc, Workdir};

/// A reply as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), raw: the path is sent
/// as given.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    try_request(port, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 << 10];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            // Go's server (the Pushgateway) may reset a connection whose request body its
            // handler never read, after the whole reply: keep what arrived.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(std::io::Error::other("connection closed before a reply"));
    }
    Ok(parse_reply(&raw))
}

/// The status of a request without extra headers.
fn status(port: u16, method: &str, path: &str, body: &[u8]) -> u16 {
    request(port, method, path, &[], body).status
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no reply head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn wait_ready(port: u16) {
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b);
            // Up: ready, or asking for credentials.
            if b.starts_with(b"HTTP/1.1 200") || b.starts_with(b"HTTP/1.1 401") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the gateway on port {port} did not become ready");
}

/// `prombox gateway` on a free port over `dir`.
fn start_ours(wd: &Workdir, dir: &str, extra: &[&str]) -> (Proc, u16) {
    let port = free_port();
    let child = wd
        .cmd()
        .args([
            "gateway",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            dir,
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    wait_ready(port);
    (p, port)
}

/// Debian's Pushgateway on a free port, in memory only.
fn start_pushgateway(extra: &[&str]) -> Option<(Proc, u16)> {
    if !installed("prometheus-pushgateway", "prometheus-pushgateway") {
        return None;
    }
    let port = free_port();
    let child = Command::new("prometheus-pushgateway")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // Debian's default keeps state in /var/lib; these tests want a fresh gateway.
        .arg("--persistence.file=")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(child);
    wait_ready(port);
    Some((p, port))
}

/// The pushed part of a scrape: the gateways' own families dropped, push times masked.
fn pushed_part(scrape: &str) -> Vec<String> {
    let own = |l: &str| {
        let name = l
            .strip_prefix("# HELP ")
            .or_else(|| l.strip_prefix("# TYPE "))
            .unwrap_or(l);
        ["go_", "process_", "pushgateway_", "prombox_"]
            .iter()
            .any(|p| name.starts_with(p))
    };
    scrape
        .lines()
        .filter(|l| !own(l))
        .map(|l| {
            if l.starts_with("push_time_seconds") || l.starts_with("push_failure_time_seconds") {
                let (series, v) = l.rsplit_once(' ').unwrap();
                format!("{series} {}", if v == "0" { "0" } else { "<time>" })
            } else {
                l.to_string()
            }
        })
        .collect()
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn protobuf_body() -> Vec<u8> {
    let mut f = Family::new("pb_hist", Kind::Histogram);
    f.help = Some("From protobuf.".into());
    f.metrics.push(Metric {
        labels: vec![("route".into(), "/a".into())],
        value: Value::Histogram(Box::new(Histogram {
            count: 4,
            sum: 2.75,
            buckets: vec![
                Bucket {
                    cumulative_count: 1,
                    upper_bound: 0.5,
                    ..Bucket::default()
                },
                Bucket {
                    cumulative_count: 3,
                    upper_bound: 1.0,
                    ..Bucket::default()
                },
            ],
            ..Histogram::default()
        })),
        timestamp_ms: None,
    });
    let mut out = Vec::new();
    proto::encode_delimited(&f.view(), &mut out);
    out
}

const PB: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// One step of the differential sequence: method, path, headers, body, and how much of the
/// reply body must agree (`None`: all of it; `Some(n)`: the first n bytes, where the
/// Pushgateway's message depends on Go's map order or its protobuf rendering).
type Step = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    Option<usize>,
);

fn steps() -> Vec<Step> {
    let t = |s: &str| s.as_bytes().to_vec();
    vec![
        // The README's examples (on a fresh store).
        ("POST", "/metrics/job/some_job", vec![], t("some_metric 3.14\n"), None),
        ("POST", "/metrics/job/some_job/instance/some_instance", vec![],
         t("# TYPE some_metric2 counter\nsome_metric2{label=\"val1\"} 42\n# TYPE another_metric gauge\n# HELP another_metric Just an example.\nanother_metric 2398.283\n"), None),
        ("PUT", "/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA=", vec![], t("cleaned{foo=\"bar\"} 3.14\n"), None),
        ("PUT", "/metrics/job/example/first_label@base64/=/second_label/foobar", vec![], t("ex 1\n"), None),
        ("PUT", "/metrics/job/titan/name/%CE%A0%CF%81%CE%BF%CE%BC%CE%B7%CE%B8%CE%B5%CF%8D%CF%82", vec![], t("titan 1\n"), None),
        ("POST", "/metrics/job/gz", vec![("Content-Encoding", "gzip")], gz(b"zipped 3.14\n"), None),
        // Histograms and summaries, help and escapes.
        ("PUT", "/metrics/job/h", vec![],
         t("# HELP dur Duration \\\\ with \\n escapes.\n# TYPE dur histogram\ndur_bucket{le=\"0.5\"} 1\ndur_bucket{le=\"1\"} 3\ndur_bucket{le=\"+Inf\"} 4\ndur_sum 2.75\ndur_count 4\n# TYPE sz summary\nsz{quantile=\"0.5\"} 10\nsz{quantile=\"0.9\"} 20\nsz_sum 150\nsz_count 10\nbig 1234567\nsmall 0.00001\nlbl{a=\"q\\\"uote\",b=\"back\\\\slash\"} -1e-07\n"), None),
        ("PUT", "/metrics/job@base64/YS9i", vec![("Content-Type", PB)], protobuf_body(), None),
        // Body labels overwritten by the key; instance kept or added.
        ("PUT", "/metrics/job/j/instance/i", vec![], t("over{job=\"bodyjob\",instance=\"bodyinst\",x=\"1\"} 5\n"), None),
        ("PUT", "/metrics/job/k", vec![], t("keep{instance=\"fromBody\"} 1\n"), None),
        // POST replaces only the pushed names; PUT the whole group.
        ("PUT", "/metrics/job/m", vec![], t("a 1\nb 2\n"), None),
        ("POST", "/metrics/job/m", vec![], t("b 3\n"), None),
        ("PUT", "/metrics/job/n", vec![], t("x 1\n"), None),
        ("PUT", "/metrics/job/n", vec![], t(""), None),
        // The gateway's own gauge pushed: silently replaced.
        ("PUT", "/metrics/job/pt", vec![], t("push_time_seconds 5\n"), None),
        // Refusals.
        ("PUT", "/metrics/job/bad", vec![], t("bad metric\n"), Some(40)),
        ("PUT", "/metrics/job/ts", vec![], t("stamped 1 1700000000000\n"), None),
        ("PUT", "/metrics/job/clash", vec![], t("# TYPE some_metric gauge\nsome_metric 1\n"), Some(95)),
        ("PUT", "/metrics/job/dup", vec![], t("d{instance=\"x\"} 1\n"), None),
        ("PUT", "/metrics/job/dup/instance/x", vec![], t("d 1\n"), Some(84)),
        ("PUT", "/metrics/job/hh", vec![], t("# TYPE hh histogram\nhh_bucket{le=\"+Inf\"} 1\nhh_sum 1\nhh_count 1\n"), None),
        // Which of the two names the message puts first follows Go's map order.
        ("PUT", "/metrics/job/hh2", vec![], t("hh_count 1\n"), Some(70)),
        ("PUT", "/metrics/job/odd/a", vec![], t("x 1\n"), None),
        ("PUT", "/metrics/job/improper/__a/b", vec![], t("x 1\n"), None),
        ("PUT", "/metrics/job/improper/a-b/c", vec![], t("x 1\n"), None),
        ("PUT", "/metrics/job/b64/a@base64/a+b", vec![], t("x 1\n"), None),
        ("PUT", "/metrics/job@base64/=", vec![], t("x 1\n"), None),
        // Deletes: existing and not.
        ("DELETE", "/metrics/job/some_job/instance/some_instance", vec![], vec![], None),
        ("DELETE", "/metrics/job/nothing/here/at_all", vec![], vec![], None),
        // Routes.
        ("GET", "/metrics/job/x", vec![], vec![], None),
        ("POST", "/metrics", vec![], vec![], None),
        ("GET", "/no/such/path", vec![], vec![], None),
        ("OPTIONS", "/metrics/job/x", vec![], vec![], None),
        ("PUT", "/metrics/job//x", vec![], t("x 1\n"), None),
        ("GET", "/-/healthy", vec![], vec![], None),
        ("PUT", "/api/v1/admin/wipe", vec![], vec![], None),
    ]
}

/// What Prometheus 2.42 sends by default.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The same requests to the Pushgateway and to prombox gateway: the same statuses and
/// messages, the same `/metrics` (pushed part) and `/api/v1/metrics` structure.
#[test]
fn differential_against_the_pushgateway() {
    let Some((_pg, pport)) = start_pushgateway(&[]) else {
        return;
    };
    let wd = Workdir::new("gw-diff");
    let (_ours, oport) = start_ours(&wd, "state", &[]);
    let mut agree = 0;
    for (method, path, headers, body, prefix) in steps() {
        let a = request(pport, method, path, &headers, &body);
        let b = request(oport, method, path, &headers, &body);
        let ctx = format!("{method} {path}");
        assert_eq!(
            a.status,
            b.status,
            "{ctx}: status; pushgateway said {:?}, prombox {:?}",
            a.text(),
            b.text()
        );
        let (ta, tb) = (a.text(), b.text());
        match prefix {
            None => assert_eq!(ta, tb, "{ctx}: body"),
            Some(n) => {
                let n = n.min(ta.len());
                assert_eq!(
                    &ta[..n],
                    &tb[..n.min(tb.len())],
                    "{ctx}: body prefix ({ta:?} vs {tb:?})"
                );
            }
        }
        for h in ["Allow", "Location"] {
            assert_eq!(a.header(h), b.header(h), "{ctx}: {h}");
        }
        agree += 1;
    }
    let scrape = |port: u16| request(port, "GET", "/metrics", &[], &[]);
    let (sa, sb) = (scrape(pport), scrape(oport));
    assert_eq!(sa.header("Content-Type"), sb.header("Content-Type"));
    assert_eq!(pushed_part(&sa.text()), pushed_part(&sb.text()), "/metrics");
    // Prometheus's Accept (OpenMetrics first) gets text from both, gzipped.
    let prometheus = |port: u16| {
        request(
            port,
            "GET",
            "/metrics",
            &[("Accept", PROMETHEUS_ACCEPT), ("Accept-Encoding", "gzip")],
            &[],
        )
    };
    let (sa, sb) = (prometheus(pport), prometheus(oport));
    assert_eq!(sa.header("Content-Type"), sb.header("Content-Type"));
    assert_eq!(sa.header("Content-Encoding"), Some("gzip"));
    assert_eq!(sb.header("Content-Encoding"), Some("gzip"));
    let gunzip = |r: &Reply| {
        let mut t = String::new();
        flate2::read::GzDecoder::new(&r.body[..])
            .read_to_string(&mut t)
            .unwrap();
        t
    };
    assert_eq!(
        pushed_part(&gunzip(&sa)),
        pushed_part(&gunzip(&sb)),
        "/metrics for Prometheus"
    );
    // The protobuf scrape carries the same families.
    let pb = |port| {
        let r = request(port, "GET", "/metrics", &[("Accept", PB)], &[]);
        assert_eq!(r.header("Content-Type"), Some(PB));
        let mut fams = proto::decode_delimited(&r.body).unwrap();
        fams.retain(|f| f.name == "pb_hist" || f.name == "dur" || f.name == "sz");
        fams
    };
    assert_eq!(pb(pport), pb(oport), "protobuf /metrics");
    // /api/v1/metrics: the same groups, families, types, help and values.
    let api = |port| -> BTreeMap<String, serde_json::Value> {
        let r = request(port, "GET", "/api/v1/metrics", &[], &[]);
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["status"], "success");
        let mut out = BTreeMap::new();
        for g in v["data"].as_array().unwrap() {
            let mut g = g.clone();
            let obj = g.as_object_mut().unwrap();
            obj.remove("prombox");
            for (name, fam) in obj.iter_mut() {
                if let Some(f) = fam.as_object_mut() {
                    f.remove("time_stamp");
                    if name.starts_with("push_") {
                        for m in f["metrics"].as_array_mut().unwrap() {
                            let zero = m["value"] == "0";
                            m["value"] =
                                serde_json::Value::String(if zero { "0" } else { "<time>" }.into());
                        }
                    }
                }
            }
            out.insert(g["labels"].to_string(), g);
        }
        out
    };
    assert_eq!(api(pport), api(oport), "/api/v1/metrics");
    eprintln!("gateway differential: {agree} requests answered alike, /metrics (text, protobuf) and /api/v1/metrics alike");
}

/// The Pushgateway README's curl commands, run as written (the host replaced; `base64url`
/// from basez spelled with coreutils), against both gateways: the same statuses, and the
/// same `/metrics` after each.
#[test]
fn readme_curl_examples_against_both_gateways() {
    if !installed("curl", "curl") {
        return;
    }
    let Some((_pg, pport)) = start_pushgateway(&["--web.enable-admin-api"]) else {
        return;
    };
    let wd = Workdir::new("gw-curl");
    let (_ours, oport) = start_ours(&wd, "state", &["--enable-admin-api"]);
    let commands = [
        "echo \"some_metric 3.14\" | curl --data-binary @- http://GW/metrics/job/some_job",
        "cat <<EOF | curl --data-binary @- http://GW/metrics/job/some_job/instance/some_instance\n# TYPE some_metric counter\nsome_metric{label=\"val1\"} 42\n# TYPE another_metric gauge\n# HELP another_metric Just an example.\nanother_metric 2398.283\nEOF",
        "cat <<EOF | curl --data-binary @- http://GW/metrics/job/some_job/instance/some_instance\n# TYPE some_metric untyped\nsome_metric{label=\"val1\"} 42\n# TYPE another_metric gauge\n# HELP another_metric Just an example.\nanother_metric 2398.283\nEOF",
        "echo 'some_metric{foo=\"bar\"} 3.14' | curl --data-binary @- http://GW/metrics/job/directory_cleaner/path@base64/$(echo -n '/var/tmp' | base64 | tr '+/' '-_')",
        "echo \"some_metric 3.14\" | gzip | curl -H 'Content-Encoding: gzip' --data-binary @- http://GW/metrics/job/some_job",
        "curl -X DELETE http://GW/metrics/job/some_job/instance/some_instance",
        "curl -X DELETE http://GW/metrics/job/some_job",
        "curl -X GET http://GW/api/v1/status",
        "curl -X PUT http://GW/api/v1/admin/wipe",
    ];
    let run = |port: u16, cmd: &str| -> String {
        let cmd = cmd.replacen("curl ", "curl -s -o /dev/null -w '%{http_code}' ", 1);
        let cmd = cmd.replace("GW", &format!("127.0.0.1:{port}"));
        let out = Command::new("sh").args(["-c", &cmd]).output().unwrap();
        assert!(out.status.success(), "{cmd}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    for cmd in commands {
        let (a, b) = (run(pport, cmd), run(oport, cmd));
        assert_eq!(a, b, "{cmd}: status");
        let scrape = |port| pushed_part(&request(port, "GET", "/metrics", &[], &[]).text());
        assert_eq!(scrape(pport), scrape(oport), "{cmd}: /metrics");
    }
    eprintln!("curl: {} README commands answered alike", commands.len());
}

/// `Content-Encoding: snappy` (the framing format), which the current Pushgateway reads
/// (Debian's 1.5.1 predates it): decoded, bounded by --max-body, corrupt input refused.
#[test]
fn snappy_bodies() {
    let wd = Workdir::new("gw-snappy");
    let (_gw, port) = start_ours(&wd, "state", &["--max-body", "1MiB"]);
    let snappy = |b: &[u8]| {
        let mut e = snap::write::FrameEncoder::new(Vec::new());
        e.write_all(b).unwrap();
        e.into_inner().unwrap()
    };
    let enc = [("Content-Encoding", "snappy")];
    let r = request(
        port,
        "PUT",
        "/metrics/job/s",
        &enc,
        &snappy(b"snapped 3.14\n"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let m = request(port, "GET", "/metrics", &[], &[]).text();
    assert!(m.contains("snapped{instance=\"\",job=\"s\"} 3.14\n"), "{m}");
    let bomb = snappy(&vec![b'#'; 4 << 20]);
    assert!(bomb.len() < 1 << 20);
    let r = request(port, "PUT", "/metrics/job/s", &enc, &bomb);
    assert_eq!(r.status, 413, "{}", r.text());
    let r = request(port, "PUT", "/metrics/job/s", &enc, b"not snappy at all");
    assert_eq!(r.status, 400, "{}", r.text());
    let m = request(port, "GET", "/metrics", &[], &[]).text();
    assert!(m.contains("snapped{instance=\"\",job=\"s\"} 3.14\n"), "{m}");
}

/// `prombox push` against the real Pushgateway: every method, base64 keys, NAME=VALUE
/// metrics, and a bad file refused before anything is sent.
#[test]
fn push_to_the_pushgateway() {
    let Some((_pg, port)) = start_pushgateway(&[]) else {
        return;
    };
    let wd = Workdir::new("push-pg");
    let url = format!("http://127.0.0.1:{port}");
    let metrics = || text(&request(port, "GET", "/metrics", &[], &[]).body);
    // NAME=VALUE, typed, with help; a key value with a slash and an empty one.
    let out = wd.run(
        &[
            "push",
            &url,
            "--job",
            "backup",
            "--label",
            "path=/var/tmp",
            "--label",
            "empty=",
            "--type",
            "gauge",
            "--help-text",
            "Seconds taken.",
            "duration_seconds=12.5",
            "files{kind=\"log\"}=3",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = metrics();
    assert!(m.contains("# HELP duration_seconds Seconds taken.\n# TYPE duration_seconds gauge\nduration_seconds{empty=\"\",instance=\"\",job=\"backup\",path=\"/var/tmp\"} 12.5\n"), "{m}");
    assert!(
        m.contains(
            "files{empty=\"\",instance=\"\",job=\"backup\",kind=\"log\",path=\"/var/tmp\"} 3\n"
        ),
        "{m}"
    );
    // A file; then --add keeps the other names, the default replaces the group.
    wd.write(
        "a.prom",
        "# TYPE jobs counter\njobs{kind=\"a\"} 3\nother 1\n",
    );
    wd.write("b.prom", "jobs2 4\n");
    let push = |args: &[&str]| {
        let mut a = vec!["push", url.as_str(), "--job", "batch"];
        a.extend_from_slice(args);
        let o = wd.run(&a, b"");
        assert!(o.status.success(), "{:?}: {}", args, text(&o.stderr));
    };
    push(&["a.prom"]);
    push(&["--add", "b.prom"]);
    let m = metrics();
    assert!(
        m.contains("jobs{instance=\"\",job=\"batch\",kind=\"a\"} 3")
            && m.contains("jobs2{instance=\"\",job=\"batch\"} 4"),
        "{m}"
    );
    push(&["b.prom"]);
    assert!(!metrics().contains("jobs{"), "PUT replaces the group");
    // OpenMetrics is converted to protobuf, which the Pushgateway reads.
    wd.write("c.om", "# TYPE reqs counter\nreqs_total 7\n# EOF\n");
    push(&["--label", "instance=om", "c.om"]);
    assert!(
        metrics().contains("reqs_total{instance=\"om\",job=\"batch\"} 7"),
        "{}",
        metrics()
    );
    // Delete.
    push(&["--delete"]);
    assert!(!metrics().contains("jobs2{"));
    // A bad file: refused locally with its position, the gateway untouched.
    wd.write("bad.prom", "ok 1\nbad metric\n");
    let before = metrics();
    let o = wd.run(&["push", &url, "--job", "x", "bad.prom"], b"");
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.starts_with("prombox: bad.prom:2:"), "{err}");
    assert_eq!(pushed_part(&metrics()), pushed_part(&before));
    // The gateway's refusal: exit 2 with its message.
    let o = wd.run(&["push", &url, "--job", "backup", "stamped=1"], b"");
    assert!(o.status.success());
    let o = wd.run(
        &[
            "push",
            &url,
            "--job",
            "other",
            "--type",
            "counter",
            "stamped=1",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!("prombox: push: {url}: 400 Bad Request: pushed metrics are invalid or inconsistent with existing metrics: collected metric \"stamped\"")),
        "{err}"
    );
    // A bad NAME=VALUE names the argument.
    let o = wd.run(&["push", &url, "--job", "x", "n=abc"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("\"n=abc\""), "{}", text(&o.stderr));
    // Nothing listens: a connection error, after the retries.
    let o = wd.run(
        &[
            "push",
            &format!("http://127.0.0.1:{}", free_port()),
            "--job",
            "x",
            "--retries",
            "1",
            "a=1",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("connection refused"),
        "{}",
        text(&o.stderr)
    );
}

/// Python's prometheus_client, unchanged, against prombox gateway.
#[test]
fn python_client_against_prombox_gateway() {
    let have = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        crate::util::skip("python3 with prometheus_client is not installed (pip install prometheus-client; .ci/run installs it)");
        return;
    }
    let wd = Workdir::new("gw-python");
    let (_gw, port) = start_ours(&wd, "state", &[]);
    let script = format!(
        r#"
from prometheus_client import CollectorRegistry, Gauge, Counter, Histogram, push_to_gateway, pushadd_to_gateway, delete_from_gateway
GW = "http://127.0.0.1:{port}"
reg = CollectorRegistry()
Gauge("py_gauge", "A gauge", ["l"], registry=reg).labels("v").set(3)
Counter("py_requests", "A counter", registry=reg).inc(2)
Histogram("py_latency_seconds", "Latency", registry=reg, buckets=(0.1, 1)).observe(0.5)
push_to_gateway(GW, job="pyjob", registry=reg, grouping_key={{"instance": "h1", "path": "/var/tmp", "sp": "a b", "empty": ""}})
reg2 = CollectorRegistry()
Gauge("py_other", "Other", registry=reg2).set(7)
pushadd_to_gateway(GW, job="pyjob", registry=reg2, grouping_key={{"instance": "h2"}})
push_to_gateway(GW, job="gone", registry=reg2)
delete_from_gateway(GW, job="gone")
print("ok")
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = text(&request(port, "GET", "/metrics", &[], &[]).body);
    for want in [
        "py_gauge{empty=\"\",instance=\"h1\",job=\"pyjob\",l=\"v\",path=\"/var/tmp\",sp=\"a b\"} 3",
        "py_requests_total{empty=\"\",instance=\"h1\",job=\"pyjob\",path=\"/var/tmp\",sp=\"a b\"} 2",
        "py_latency_seconds_bucket{empty=\"\",instance=\"h1\",job=\"pyjob\",path=\"/var/tmp\",sp=\"a b\",le=\"1\"} 1",
        "py_other{instance=\"h2\",job=\"pyjob\"} 7",
    ] {
        assert!(m.contains(want), "{want} missing from\n{m}");
    }
    assert!(!m.contains("job=\"gone\""), "{m}");
}

/// Pushes from several clients while the gateway is killed with SIGKILL, again and again:
/// after each restart every acknowledged push is served, and nothing half-written.
#[test]
fn acknowledged_pushes_survive_kill_9() {
    let wd = Workdir::new("gw-kill");
    let rounds = 6;
    let clients = 4;
    // The last value each client saw acknowledged (and the one it was sending).
    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(vec![(0, 0); clients]));
    let mut total = 0;
    for round in 0..rounds {
        let (gw, port) = start_ours(&wd, "state", &[]);
        // Everything acknowledged before is there.
        let m = text(&request(port, "GET", "/metrics", &[], &[]).body);
        for (c, &(ack, sending)) in acked.lock().unwrap().iter().enumerate() {
            if ack == 0 {
                continue;
            }
            let v = m
                .lines()
                .find(|l| l.starts_with(&format!("seq{{instance=\"\",job=\"c{c}\"}} ")))
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or_else(|| panic!("round {round}: client {c}'s push {ack} lost:\n{m}"));
            let v: u64 = v.parse().unwrap();
            assert!(
                v == ack || v == sending,
                "round {round}: client {c} has {v}, acked {ack}"
            );
            // Each group is whole: its second family has the same value.
            assert!(
                m.contains(&format!("seq_copy{{instance=\"\",job=\"c{c}\"}} {v}\n")),
                "round {round}: half a group for client {c}"
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for c in 0..clients {
            let (stop, acked, count) = (stop.clone(), acked.clone(), count.clone());
            threads.push(std::thread::spawn(move || {
                let mut n = {
                    let a = acked.lock().unwrap();
                    a[c].0.max(a[c].1)
                };
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    acked.lock().unwrap()[c].1 = n;
                    let body = format!("seq {n}\nseq_copy {n}\n");
                    let path = format!("/metrics/job/c{c}");
                    match try_request(port, "PUT", &path, &[], body.as_bytes()).map(|r| r.status) {
                        Ok(200) => {
                            acked.lock().unwrap()[c].0 = n;
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => break,
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(150 + 70 * round as u64));
        let mut gw = gw;
        // SIGKILL while the clients push.
        gw.0.kill().unwrap();
        let _ = gw.0.wait();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        total += count.load(Ordering::Relaxed);
    }
    assert!(
        total > 50,
        "too few pushes acknowledged to mean anything: {total}"
    );
    eprintln!("kill -9: {rounds} kills, {total} acknowledged pushes, none lost");
}

/// Hostile clients: a huge body, invalid UTF-8, `..` in keys, a slowloris, too many groups.
#[test]
fn hostile_clients_are_refused_and_lose_nothing() {
    let wd = Workdir::new("gw-hostile");
    let (_gw, port) = start_ours(&wd, "state", &["--max-body", "1MiB", "--max-groups", "300"]);
    assert_eq!(status(port, "PUT", "/metrics/job/keep", b"kept 1\n"), 200);
    let scrape = || text(&request(port, "GET", "/metrics", &[], &[]).body);
    let before = pushed_part(&scrape());
    // A body larger than the limit, announced: refused before it is read.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"PUT /metrics/job/huge HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        .unwrap();
    let mut b = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.read_to_end(&mut b);
    assert!(
        b.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&b)
    );
    // Chunked, growing past the limit.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"PUT /metrics/job/huge HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, "a".repeat(64 << 10));
    for _ in 0..20 {
        if s.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let mut b = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.read_to_end(&mut b);
    assert!(
        b.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&b)
    );
    // A gzip bomb: small on the wire, past the limit decoded.
    let bomb = gz(&vec![b'#'; 8 << 20]);
    let r = request(
        port,
        "PUT",
        "/metrics/job/bomb",
        &[("Content-Encoding", "gzip")],
        &bomb,
    );
    assert_eq!(r.status, 413, "{}", r.text());
    // Invalid UTF-8 in a body and in a key.
    assert_eq!(
        status(port, "PUT", "/metrics/job/u", b"m{a=\"\xff\"} 1\n"),
        400
    );
    assert_eq!(
        status(port, "PUT", "/metrics/job/u/a@base64/_w", b"m 1\n"),
        400
    );
    assert_eq!(status(port, "PUT", "/metrics/job/%ff", b"m 1\n"), 400);
    // `..` never reaches a file name: the path is cleaned (a redirect), and a key is a key.
    let r = request(
        port,
        "PUT",
        "/metrics/job/../../../etc/passwd",
        &[],
        b"m 1\n",
    );
    assert_eq!(r.status, 301);
    assert_eq!(
        status(port, "PUT", "/metrics/job@base64/Li4vLi4vZXRj", b"dots 1\n"),
        200
    );
    let files: Vec<String> = std::fs::read_dir(wd.dir.join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for f in &files {
        assert!(
            ["lock", "gateway.log", "gateway.snap"].contains(&f.as_str()),
            "unexpected file {f} in the state dir"
        );
    }
    assert_eq!(
        status(port, "DELETE", "/metrics/job@base64/Li4vLi4vZXRj", b""),
        202
    );
    // Malformed requests: 400, nothing changed.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"PUT /metrics/job/x HTTP/1.1\r\nBroken header line\r\n\r\n")
        .unwrap();
    let mut b = Vec::new();
    let _ = s.read_to_end(&mut b);
    assert!(
        b.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&b)
    );
    assert_eq!(pushed_part(&scrape()), before);
    // Slowloris: many connections dripping bytes do not hold up a real client.
    let drip_stop = Arc::new(AtomicBool::new(false));
    let mut drips = Vec::new();
    for _ in 0..4 {
        let stop = drip_stop.clone();
        drips.push(std::thread::spawn(move || {
            let mut conns: Vec<TcpStream> = (0..50)
                .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
                .collect();
            let req = b"PUT /metrics/job/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n";
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < req.len() {
                for c in &mut conns {
                    let _ = c.write_all(&req[i..i + 1]);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(status(port, "PUT", "/metrics/job/fast", b"fast 1\n"), 200);
    let took = t.elapsed();
    drip_stop.store(true, Ordering::Relaxed);
    for d in drips {
        d.join().unwrap();
    }
    assert!(
        took < Duration::from_secs(2),
        "a push behind 200 slow clients took {took:?}"
    );
    // Too many groups: refused with 429 and a message, the rest served.
    let mut last = 0;
    for i in 0..400 {
        let r = request(port, "PUT", &format!("/metrics/job/g{i}"), &[], b"g 1\n");
        last = r.status;
        if r.status != 200 {
            assert_eq!(r.status, 429);
            assert!(r.text().contains("--max-groups"), "{}", r.text());
            break;
        }
    }
    assert_eq!(last, 429);
    assert!(scrape().contains("kept{instance=\"\",job=\"keep\"} 1"));
}

/// 10,000 groups, the default limit: pushed from 8 clients, the next one refused, all served
/// (a streamed, chunked `/metrics`; its length for `HEAD`; close-delimited for HTTP/1.0),
/// and all there after `kill -9`.
#[test]
fn ten_thousand_groups() {
    let wd = Workdir::new("gw-10k");
    let (gw, port) = start_ours(&wd, "state", &[]);
    let groups = 10_000;
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= groups {
                    return;
                }
                let body = format!("# TYPE pushed gauge\npushed {i}\n");
                let path = format!("/metrics/job/j/instance/i{i}");
                let r = request(port, "PUT", &path, &[], body.as_bytes());
                assert_eq!(r.status, 200, "group {i}: {}", r.text());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    eprintln!("10,000 groups pushed in {:?}", t.elapsed());
    let r = request(port, "PUT", "/metrics/job/one-too-many", &[], b"pushed 1\n");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("--max-groups"), "{}", r.text());
    let count = |body: &str| {
        let pushed = body.lines().filter(|l| l.starts_with("pushed{")).count();
        let times = body
            .lines()
            .filter(|l| l.starts_with("push_time_seconds{"))
            .count();
        (pushed, times)
    };
    let n = groups as usize;
    let r = request(port, "GET", "/metrics", &[], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let body = r.text();
    assert_eq!(count(&body), (n, n));
    assert!(body.contains("pushed{instance=\"i9999\",job=\"j\"} 9999\n"));
    // HEAD is not a route, as in the Pushgateway.
    assert_eq!(status(port, "HEAD", "/metrics", &[]), 405);
    // HTTP/1.0: no chunks, the close ends the body.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let r = parse_reply(&raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(count(&r.text()), (n, n));
    // gzip, as Prometheus asks.
    let r = request(port, "GET", "/metrics", &[("Accept-Encoding", "gzip")], &[]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(count(&plain), (n, n));
    let api = request(port, "GET", "/api/v1/metrics", &[], &[]).text();
    assert_eq!(api.matches("\"last_push_successful\"").count(), n);
    let mut gw = gw;
    gw.0.kill().unwrap();
    let _ = gw.0.wait();
    let (_gw, port) = start_ours(&wd, "state", &[]);
    let r = request(port, "GET", "/metrics", &[], &[]);
    assert_eq!(count(&r.text()), (n, n), "groups lost across kill -9");
}

/// `gateway --once` prints the groups of a state dir, with or without a gateway running,
/// and `prombox store` takes it.
#[test]
fn once_prints_the_groups() {
    let wd = Workdir::new("gw-once");
    {
        let (_gw, port) = start_ours(&wd, "state", &[]);
        assert_eq!(
            status(
                port,
                "PUT",
                "/metrics/job/a/instance/x",
                b"# TYPE m gauge\nm 1\n"
            ),
            200
        );
        let out = wd.run(&["gateway", "--once", "--data", "state"], b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("m{instance=\"x\",job=\"a\"} 1\n"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = wd.run(
        &[
            "gateway",
            "--once",
            "--data",
            "state",
            "--format",
            "openmetrics",
        ],
        b"",
    );
    let om = text(&out.stdout);
    assert!(
        om.ends_with("# EOF\n") && om.contains("m{instance=\"x\",job=\"a\"} 1.0\n"),
        "{om}"
    );
    let st = wd.run(&["store", "--data", "d"], &out.stdout);
    assert!(st.status.success(), "{}", text(&st.stderr));
}

/// TTLs: the gateway's default and a push's own; an expired group is gone, also after a
/// restart, and `/api/v1/metrics` reports the expiry.
#[test]
fn groups_expire() {
    let wd = Workdir::new("gw-ttl");
    let (gw, port) = start_ours(&wd, "state", &["--ttl", "1h"]);
    assert_eq!(
        status(port, "PUT", "/metrics/job/short?ttl=1s", b"short 1\n"),
        200
    );
    assert_eq!(
        request(
            port,
            "PUT",
            "/metrics/job/hdr",
            &[("X-Prombox-TTL", "1s")],
            b"hdr 1\n"
        )
        .status,
        200
    );
    assert_eq!(status(port, "PUT", "/metrics/job/long", b"long 1\n"), 200);
    assert_eq!(
        status(port, "PUT", "/metrics/job/bad?ttl=soon", b"x 1\n"),
        400
    );
    let api = text(&request(port, "GET", "/api/v1/metrics", &[], &[]).body);
    assert!(
        api.contains("\"prombox\":{\"ttl_seconds\":\"1\"") || api.contains("\"ttl_seconds\":1"),
        "{api}"
    );
    std::thread::sleep(Duration::from_millis(1200));
    let m = text(&request(port, "GET", "/metrics", &[], &[]).body);
    assert!(
        !m.contains("short") && !m.contains("hdr{") && m.contains("long{"),
        "{m}"
    );
    drop(gw);
    let (_gw, port) = start_ours(&wd, "state", &["--ttl", "1h"]);
    let m = text(&request(port, "GET", "/metrics", &[], &[]).body);
    assert!(!m.contains("short") && m.contains("long{"), "{m}");
}

/// Partial-key deletes, from curl and from `prombox push --delete --partial`.
#[test]
fn partial_deletes() {
    let wd = Workdir::new("gw-partial");
    let (_gw, port) = start_ours(&wd, "state", &[]);
    for p in [
        "/metrics/job/a/instance/1",
        "/metrics/job/a/instance/2",
        "/metrics/job/a/instance/3/x/y",
        "/metrics/job/b/instance/1",
    ] {
        assert_eq!(request(port, "PUT", p, &[], b"m 1\n").status, 200);
    }
    let r = request(
        port,
        "DELETE",
        "/metrics/job/a/instance/3?match=partial",
        &[],
        b"",
    );
    assert_eq!((r.status, r.header("X-Prombox-Deleted")), (202, Some("1")));
    let o = wd.run(
        &[
            "push",
            &format!("127.0.0.1:{port}"),
            "--job",
            "a",
            "--delete",
            "--partial",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m = text(&request(port, "GET", "/metrics", &[], &[]).body);
    assert!(
        !m.contains("job=\"a\"") && m.contains("m{instance=\"1\",job=\"b\"} 1"),
        "{m}"
    );
}

/// `prombox scrape` scrapes the gateway with honor_labels: true, as Prometheus scrapes the
/// Pushgateway.
#[test]
fn prombox_scrape_honors_pushed_labels() {
    let wd = Workdir::new("gw-scrape");
    let (_gw, port) = start_ours(&wd, "state", &["--enable-openmetrics"]);
    assert_eq!(
        status(
            port,
            "PUT",
            "/metrics/job/batch/instance/db1",
            b"# TYPE last_success gauge\nlast_success 5\n"
        ),
        200
    );
    wd.write(
        "prometheus.yml",
        format!("scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    );
    let out = wd.run(
        &["scrape", "--config", "prometheus.yml", "--data", "d"],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let q = wd.run(&["query", "--data", "d", "last_success"], b"");
    let t = text(&q.stdout);
    assert!(t.contains("db1") && t.contains("batch"), "{t}");
    // --enable-openmetrics: OpenMetrics for a scrape that prefers it.
    let r = request(
        port,
        "GET",
        "/metrics",
        &[("Accept", PROMETHEUS_ACCEPT)],
        &[],
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.text().ends_with("# EOF\n"));
}

/// Debian's Prometheus scrapes the Pushgateway and prombox gateway, both holding the same
/// pushes, with `honor_labels: true`: it stores the same series with the same values from
/// both (the pushed labels kept, the gateways' own metrics aside).
#[test]
fn prometheus_scrapes_it_as_it_scrapes_the_pushgateway() {
    if !installed("prometheus", "prometheus") {
        return;
    }
    let Some((_pg, pport)) = start_pushgateway(&[]) else {
        return;
    };
    let wd = Workdir::new("gw-prometheus");
    let (_ours, oport) = start_ours(&wd, "state", &[]);
    let pushes: [(&str, &[u8]); 3] = [
        (
            "/metrics/job/batch/instance/db1",
            b"# TYPE jobs_done counter\njobs_done 7\n# TYPE last_success gauge\nlast_success 1.7e9\n",
        ),
        (
            "/metrics/job/batch/instance@base64/",
            b"# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 1\nlat_bucket{le=\"+Inf\"} 3\nlat_sum 0.9\nlat_count 3\n",
        ),
        (
            "/metrics/job/cron/path@base64/L3Zhci9iYWNrdXA",
            b"# TYPE dur summary\ndur{quantile=\"0.5\"} 2\ndur_sum 10\ndur_count 4\nbytes_total{kind=\"full\"} 12\n",
        ),
    ];
    for (path, body) in pushes {
        assert_eq!(status(pport, "PUT", path, body), 200, "{path}");
        assert_eq!(status(oport, "PUT", path, body), 200, "{path}");
    }
    wd.write(
        "prometheus.yml",
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{pport}']\n        labels: {{gateway: pushgateway}}\n  - job_name: prombox\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{oport}']\n        labels: {{gateway: prombox}}\n"
        ),
    );
    let (_prom, port) = crate::scrape_run::prometheus(&wd, "prometheus.yml", 2);
    let stored = |gateway: &str| -> BTreeMap<String, String> {
        let q = format!("{{gateway=\"{gateway}\",__name__!~\"go_.*|process_.*|pushgateway_.*|prombox_.*|push_time_seconds|push_failure_time_seconds|up|scrape_.*\"}}");
        crate::scrape_run::prom_query(port, &q)
            .iter()
            .map(|s| {
                let mut m = s["metric"].as_object().unwrap().clone();
                m.remove("gateway");
                (
                    serde_json::Value::Object(m).to_string(),
                    s["value"][1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (a, b) = (stored("pushgateway"), stored("prombox"));
    assert_eq!(a.len(), 10, "{a:#?}");
    assert_eq!(a, b, "what Prometheus stored from each gateway");
    // The pushed labels won over the target's; a counter keeps its name (text, not OpenMetrics).
    let jobs = b
        .keys()
        .find(|k| k.contains("\"jobs_done\""))
        .unwrap_or_else(|| panic!("{b:#?}"));
    assert!(
        jobs.contains("\"job\":\"batch\"") && jobs.contains("\"instance\":\"db1\""),
        "{jobs}"
    );
    let times = |gateway: &str| {
        crate::scrape_run::prom_query(
            port,
            &format!("count(push_time_seconds{{gateway=\"{gateway}\"}})"),
        )[0]["value"][1]
            .clone()
    };
    assert_eq!(times("prombox"), "3");
    assert_eq!(times("pushgateway"), "3");
}

/// TLS with client certificates and basic auth from a web config file: `prombox push` and
/// Python's client get in with the right credentials and a 401 without.
#[test]
fn web_config_tls_and_basic_auth() {
    let wd = Workdir::new("gw-tls");
    let d = &wd.dir;
    let ok = crate::util::test_certs(d, "IP:127.0.0.1");
    if !ok {
        crate::util::skip("openssl could not generate test certificates");
        return;
    }
    // exporter-toolkit's test user: carol / carol123.
    let users = "basic_auth_users:\n  carol: $2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu\n";
    wd.write(
        "web.yml",
        format!("tls_server_config:\n  cert_file: srv.crt\n  key_file: srv.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n{users}"),
    );
    wd.write("pass", "carol123\n");
    wd.write("wrong", "nope\n");
    let (_gw, port) = {
        let port = free_port();
        let child = wd
            .cmd()
            .args([
                "gateway",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data",
                "s1",
                "--web.config.file",
                "web.yml",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Proc(child);
        // Ready when it takes a TLS push.
        let url = format!("https://127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..200 {
            let o = wd.run(
                &[
                    "push",
                    &url,
                    "--job",
                    "j",
                    "--ca-file",
                    "ca.crt",
                    "--cert-file",
                    "cli.crt",
                    "--key-file",
                    "cli.key",
                    "--user",
                    "carol",
                    "--password-file",
                    "pass",
                    "up=1",
                ],
                b"",
            );
            if o.status.success() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(up, "the TLS gateway did not take a push");
        (p, port)
    };
    let url = format!("https://127.0.0.1:{port}");
    let tls = [
        "--ca-file",
        "ca.crt",
        "--cert-file",
        "cli.crt",
        "--key-file",
        "cli.key",
    ];
    let push = |extra: &[&str]| {
        let mut a = vec!["push", url.as_str(), "--job", "j"];
        a.extend_from_slice(&tls);
        a.extend_from_slice(extra);
        a.push("x=2");
        wd.run(&a, b"")
    };
    let o = push(&["--user", "carol", "--password-file", "wrong"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("401 Unauthorized"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(push(&[]).status.code(), Some(2));
    // No client certificate: the handshake fails.
    let o = wd.run(
        &[
            "push",
            &url,
            "--job",
            "j",
            "--ca-file",
            "ca.crt",
            "--user",
            "carol",
            "--password-file",
            "pass",
            "x=1",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // Certificates renewed in place (here by another CA) are served from the next
    // connection, as exporter-toolkit re-reads them, without a restart.
    let rot = d.join("rot");
    std::fs::create_dir_all(&rot).unwrap();
    assert!(crate::util::test_certs(&rot, "IP:127.0.0.1"));
    std::fs::copy(rot.join("srv.key"), d.join("srv.key")).unwrap();
    std::fs::copy(rot.join("srv.crt"), d.join("srv.crt")).unwrap();
    let with_ca = |ca: &str| {
        let mut a = vec!["push", url.as_str(), "--job", "j", "--ca-file", ca];
        a.extend_from_slice(&tls[2..]);
        a.extend_from_slice(&["--user", "carol", "--password-file", "pass", "x=3"]);
        wd.run(&a, b"")
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !with_ca("rot/ca.crt").status.success() {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(with_ca("ca.crt").status.code(), Some(2));
    // Plain HTTP with basic auth, for Python's client.
    wd.write("auth.yml", users);
    let (_gw2, port2) = start_ours(&wd, "s2", &["--web.config.file", "auth.yml"]);
    let r = request(port2, "PUT", "/metrics/job/a", &[], b"m 1\n");
    assert_eq!(
        (r.status, r.header("WWW-Authenticate")),
        (401, Some("Basic"))
    );
    assert_eq!(r.text(), "Unauthorized\n");
    let have = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        crate::util::skip("python3 with prometheus_client is not installed");
        return;
    }
    let script = format!(
        r#"
import urllib.error
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler
reg = CollectorRegistry()
Gauge("py_auth", "Auth", registry=reg).set(1)
def ok(url, method, timeout, headers, data):
    return basic_auth_handler(url, method, timeout, headers, data, "carol", "carol123")
def bad(url, method, timeout, headers, data):
    return basic_auth_handler(url, method, timeout, headers, data, "carol", "nope")
push_to_gateway("127.0.0.1:{port2}", job="py", registry=reg, handler=ok)
try:
    push_to_gateway("127.0.0.1:{port2}", job="py", registry=reg, handler=bad)
    raise SystemExit("a wrong password was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 401 and e.headers["WWW-Authenticate"] == "Basic", (e.code, e.headers)
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Users changed in the file apply within a second or so; a file that no longer loads
    // refuses every request (500, as exporter-toolkit answers) until it is fixed.
    let basic = |user: &str, pass: &str| {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        request(
            port2,
            "PUT",
            "/metrics/job/a",
            &[("Authorization", &format!("Basic {b}"))],
            b"m 1\n",
        )
        .status
    };
    let until = |want: u16, user: &str, pass: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while basic(user, pass) != want {
            assert!(Instant::now() < deadline, "{user}: never {want}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    assert_eq!(basic("carol", "carol123"), 200);
    let dave = bcrypt::hash("dave456", 4).unwrap();
    wd.write("auth.yml", format!("basic_auth_users:\n  dave: {dave}\n"));
    until(200, "dave", "dave456");
    assert_eq!(basic("carol", "carol123"), 401);
    wd.write("auth.yml", "basic_auth_users: [broken\n");
    until(500, "dave", "dave456");
    wd.write("auth.yml", users);
    until(200, "carol", "carol123");
    // A web config with an unknown field is refused at start, as exporter-toolkit refuses it.
    wd.write("badweb.yml", "tls_server_config: {}\nfoo: 1\n");
    let o = wd.run(
        &[
            "gateway",
            "--data",
            "s3",
            "--listen",
            "127.0.0.1:0",
            "--web.config.file",
            "badweb.yml",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("field foo not found in type web.Config"),
        "{}",
        text(&o.stderr)
    );
}
