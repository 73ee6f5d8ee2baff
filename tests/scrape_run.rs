//! `prombox scrape` and `collect` through the binary: local HTTP targets (hostile ones
//! included), staleness across runs, file and HTTP discovery, TLS with client certificates
//! and basic auth, limits and label handling, `--every`, `--output -`; and the real peers:
//! prometheus-node-exporter scraped by prombox and by Prometheus with one shared config.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::server::{Reply, Request, Server};
use crate::util::{free_port, text, Proc, Workdir};

type Series = BTreeMap<String, String>;

/// Every stored series with its samples (value as JSON: a number or "stale"/"NaN").
fn stored(wd: &Workdir, data: &str) -> Vec<(Series, Vec<(i64, serde_json::Value)>)> {
    let out = wd.run(&["export", "--data", data, "--format", "jsonl"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let labels = v["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let ts = v["timestamps"].as_array().unwrap();
            let vals = v["values"].as_array().unwrap();
            let pts = ts
                .iter()
                .zip(vals)
                .map(|(t, v)| (t.as_i64().unwrap(), v.clone()))
                .collect();
            (labels, pts)
        })
        .collect()
}

/// The last value of the one series whose labels include all of `m`.
fn last(all: &[(Series, Vec<(i64, serde_json::Value)>)], m: &[(&str, &str)]) -> serde_json::Value {
    let hits: Vec<_> = all
        .iter()
        .filter(|(l, _)| {
            m.iter()
                .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(hits.len(), 1, "{m:?} matches {} series", hits.len());
    hits[0].1.last().unwrap().1.clone()
}

fn handler(f: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> crate::server::Handler {
    Arc::new(f)
}

/// Runs the binary, returning its output and peak RSS in KiB (from wait4).
fn run_measured(wd: &Workdir, args: &[&str]) -> (Output, i64, Duration) {
    let start = Instant::now();
    // Reaped below with wait4, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = wd
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut so = child.stdout.unwrap();
    let mut se = child.stderr.unwrap();
    let t1 = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut b).unwrap();
        b
    });
    let t2 = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut b).unwrap();
        b
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above (std's Child handle is not used again).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    let wall = start.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let out = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    };
    (out, ru.ru_maxrss, wall)
}

fn gzip(data_len: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..data_len >> 20 {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn hostile_targets_fail_alone_within_the_timeout() {
    let bomb = Arc::new(gzip(256 << 20));
    let b2 = bomb.clone();
    let srv = Server::start(handler(move |r| match r.path.as_str() {
        "/ok" => Reply::text("ok_metric 1\n"),
        "/garbage" => Reply::text("this is { not an exposition\n\x00\x01"),
        "/big" => Reply::text("big_metric 1\n".repeat(200_000)),
        "/bomb" => Reply::Full {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("Content-Encoding".into(), "gzip".into()),
            ],
            body: b2.to_vec(),
        },
        "/hang" => Reply::Hang,
        "/drip" => Reply::Drip(Duration::from_millis(20)),
        _ => Reply::status(404, "no"),
    }));
    let wd = Workdir::new("scrape-hostile");
    let mut cfg = String::from("global:\n  scrape_interval: 10s\n  scrape_timeout: 2s\nscrape_configs:\n- job_name: hostile\n  body_size_limit: 1MB\n  static_configs:\n");
    for p in ["ok", "garbage", "big", "bomb", "hang", "drip"] {
        cfg.push_str(&format!(
            "  - targets: ['{}']\n    labels: {{__metrics_path__: /{p}, instance: {p}}}\n",
            srv.addr
        ));
    }
    // No body_size_limit: prombox's own cap (128 MiB) still stops the bomb.
    cfg.push_str(&format!(
        "- job_name: nolimit\n  static_configs:\n  - targets: ['{}']\n    labels: {{__metrics_path__: /bomb, instance: bomb}}\n",
        srv.addr
    ));
    wd.write("p.yml", cfg);
    let (out, rss_kib, wall) = run_measured(&wd, &["scrape", "--config", "p.yml", "--data", "d"]);
    let err = text(&out.stderr);
    println!(
        "hostile round: {wall:?}, peak RSS {} MiB\n{err}",
        rss_kib / 1024
    );
    assert!(out.status.success(), "{err}");
    assert!(wall < Duration::from_secs(5), "round took {wall:?}");
    assert!(rss_kib < 400 << 10, "peak RSS {rss_kib} KiB");
    let all = stored(&wd, "d");
    assert_eq!(last(&all, &[("__name__", "up"), ("instance", "ok")]), 1.0);
    assert_eq!(last(&all, &[("__name__", "ok_metric")]), 1.0);
    for (inst, why) in [
        ("garbage", "instance=\"garbage\": "),
        ("big", "body size limit exceeded"),
        ("bomb", "body size limit exceeded"),
        ("hang", "context deadline exceeded"),
        ("drip", "context deadline exceeded"),
    ] {
        assert_eq!(
            last(
                &all,
                &[("__name__", "up"), ("job", "hostile"), ("instance", inst)]
            ),
            0.0,
            "{inst}"
        );
        let line = err
            .lines()
            .find(|l| l.contains(&format!("instance=\"{inst}\"")) && l.contains("hostile"))
            .unwrap_or_else(|| panic!("no line for {inst}: {err}"));
        assert!(line.contains(why), "{line}");
    }
    assert_eq!(last(&all, &[("__name__", "up"), ("job", "nolimit")]), 0.0);
    assert!(
        err.contains("job=\"nolimit\" instance=\"bomb\": body size limit exceeded"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 6, "one line per failing target: {err}");
}

#[test]
fn a_round_takes_the_slowest_target_not_the_sum() {
    let srv = Server::start(handler(|r| {
        std::thread::sleep(Duration::from_millis(1000));
        Reply::text(format!("slow{{path=\"{}\"}} 1\n", r.path))
    }));
    let wd = Workdir::new("scrape-concurrent");
    let targets: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "  - targets: ['{}']\n    labels: {{__metrics_path__: /t{i}, instance: t{i}}}\n",
                srv.addr
            )
        })
        .collect();
    wd.write(
        "p.yml",
        format!(
            "scrape_configs:\n- job_name: slow\n  scrape_timeout: 8s\n  static_configs:\n{}",
            targets.concat()
        ),
    );
    let (out, _, wall) = run_measured(&wd, &["scrape", "--config", "p.yml", "--data", "d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    println!("200 targets answering in 1 s each: round {wall:?}");
    assert!(wall < Duration::from_secs(4), "round took {wall:?}");
    let all = stored(&wd, "d");
    assert_eq!(
        all.iter().filter(|(l, _)| l["__name__"] == "up").count(),
        200
    );
    assert_eq!(
        all.iter().filter(|(l, _)| l["__name__"] == "slow").count(),
        200
    );
}

#[test]
fn staleness_across_runs_for_series_targets_and_jobs() {
    let state = Arc::new(std::sync::Mutex::new(String::from("m1 1\nm2 2\n")));
    let s2 = state.clone();
    let srv = Server::start(handler(move |r| match r.path.as_str() {
        "/a" => Reply::text(s2.lock().unwrap().clone()),
        _ => Reply::text("b_metric 1\n"),
    }));
    let wd = Workdir::new("scrape-stale");
    wd.write(
        "sd.yml",
        format!(
            "- targets: ['{0}']\n  labels: {{__metrics_path__: /a, instance: a}}\n- targets: ['{0}']\n  labels: {{__metrics_path__: /b, instance: b}}\n",
            srv.addr
        ),
    );
    let cfg = "scrape_configs:\n- job_name: fs\n  file_sd_configs:\n  - files: ['sd.yml']\n";
    wd.write("p.yml", cfg);
    let run = |args: &[&str]| {
        let out = wd.run(args, b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::thread::sleep(Duration::from_millis(20));
    };
    run(&["scrape", "--config", "p.yml", "--data", "d"]);
    // m2 goes, target b leaves discovery.
    *state.lock().unwrap() = "m1 1\n".into();
    wd.write(
        "sd.yml",
        format!(
            "- targets: ['{0}']\n  labels: {{__metrics_path__: /a, instance: a}}\n",
            srv.addr
        ),
    );
    run(&["scrape", "--config", "p.yml", "--data", "d"]);
    let all = stored(&wd, "d");
    assert_eq!(last(&all, &[("__name__", "m2")]), "stale");
    assert_eq!(last(&all, &[("__name__", "m1")]), 1.0);
    assert_eq!(
        last(
            &all,
            &[("__name__", "scrape_series_added"), ("instance", "a")]
        ),
        0.0
    );
    for name in [
        "b_metric",
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        assert_eq!(
            last(&all, &[("__name__", name), ("instance", "b")]),
            "stale",
            "{name}"
        );
    }
    assert_eq!(last(&all, &[("__name__", "up"), ("instance", "a")]), 1.0);
    // A down target: its series go stale, up is 0.
    *state.lock().unwrap() = "not valid {\n".into();
    run(&["scrape", "--config", "p.yml", "--data", "d"]);
    let all = stored(&wd, "d");
    assert_eq!(last(&all, &[("__name__", "m1")]), "stale");
    assert_eq!(last(&all, &[("__name__", "up"), ("instance", "a")]), 0.0);
    // The job leaves the config: everything it had is stale and its state goes.
    *state.lock().unwrap() = "m1 1\n".into();
    run(&["scrape", "--config", "p.yml", "--data", "d"]);
    wd.write("p.yml", "scrape_configs: []\n");
    run(&["scrape", "--config", "p.yml", "--data", "d"]);
    let all = stored(&wd, "d");
    assert_eq!(last(&all, &[("__name__", "m1")]), "stale");
    assert_eq!(
        last(&all, &[("__name__", "up"), ("instance", "a")]),
        "stale"
    );
    let left: Vec<_> = std::fs::read_dir(wd.dir.join("d/scrape"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "state"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn http_discovery_and_local_targets_only_from_the_config() {
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f2 = fail.clone();
    let addr = Arc::new(std::sync::Mutex::new(String::new()));
    let a2 = addr.clone();
    let srv = Server::start(handler(move |r| match r.path.as_str() {
        "/sd" if f2.load(std::sync::atomic::Ordering::SeqCst) => Reply::status(500, "down"),
        "/sd" => Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: format!(
                r#"[{{"targets": ["{}"], "labels": {{"__metrics_path__": "/m", "team": "a"}}}},
                   {{"targets": ["exec://touch pwned", "file:///etc/passwd"]}}]"#,
                a2.lock().unwrap()
            )
            .into_bytes(),
        },
        "/m" => Reply::text("sd_metric 1\n"),
        _ => Reply::status(404, "no"),
    }));
    *addr.lock().unwrap() = srv.addr.to_string();
    let wd = Workdir::new("scrape-httpsd");
    wd.write(
        "p.yml",
        format!(
            "scrape_configs:\n- job_name: h\n  http_sd_configs:\n  - url: {}\n  relabel_configs:\n  - source_labels: [__meta_url]\n    target_label: sd\n",
            srv.url("/sd")
        ),
    );
    let out = wd.run(&["targets", "--config", "p.yml"], b"");
    let t = text(&out.stdout);
    assert!(
        t.contains("only allowed as written in the static_configs"),
        "{t}"
    );
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!wd.dir.join("pwned").exists());
    let all = stored(&wd, "d");
    assert_eq!(all.iter().filter(|(l, _)| l["__name__"] == "up").count(), 1);
    assert_eq!(
        last(
            &all,
            &[
                ("__name__", "sd_metric"),
                ("team", "a"),
                ("sd", &srv.url("/sd"))
            ]
        ),
        1.0
    );
    // Discovery fails: the last targets are kept and scraped.
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    let err = text(&out.stderr);
    assert!(err.contains("server returned HTTP status 500"), "{err}");
    let all = stored(&wd, "d");
    let (_, pts) = all
        .iter()
        .find(|(l, _)| l["__name__"] == "sd_metric")
        .unwrap();
    assert_eq!(pts.len(), 2, "{pts:?}");
    assert_eq!(pts[1].1, 1.0);
}

#[test]
fn tls_with_client_certificates_and_basic_auth() {
    let wd = Workdir::new("scrape-tls");
    let d = &wd.dir;
    let ok = crate::util::test_certs(d, "DNS:prombox.test");
    if !ok {
        crate::util::skip("openssl could not generate test certificates");
        return;
    }
    let srv = Server::start_tls(
        handler(|r| {
            // "prom:secret"
            if r.header("Authorization") == Some("Basic cHJvbTpzZWNyZXQ=") {
                Reply::text("tls_metric 1\n")
            } else {
                Reply::status(401, "who are you")
            }
        }),
        &d.join("srv.crt"),
        &d.join("srv.key"),
        Some(&d.join("ca.crt")),
    );
    wd.write("pass", "secret\n");
    wd.write("wrong", "nope\n");
    let job = |name: &str, tls: &str, pass: &str| {
        format!(
            "- job_name: {name}\n  scheme: https\n  basic_auth: {{username: prom, password_file: {pass}}}\n  tls_config: {{{tls}}}\n  static_configs:\n  - targets: ['{}']\n",
            srv.addr
        )
    };
    // The server's certificate names only prombox.test: server_name makes it verify.
    let full = "ca_file: ca.crt, cert_file: cli.crt, key_file: cli.key, server_name: prombox.test";
    wd.write(
        "p.yml",
        format!(
            "scrape_configs:\n{}{}{}{}{}",
            job("good", full, "pass"),
            job(
                "noname",
                "ca_file: ca.crt, cert_file: cli.crt, key_file: cli.key",
                "pass"
            ),
            job("badpass", full, "wrong"),
            job(
                "noca",
                "cert_file: cli.crt, key_file: cli.key, server_name: prombox.test",
                "pass"
            ),
            job(
                "nocert",
                "ca_file: ca.crt, server_name: prombox.test",
                "pass"
            ),
        ),
    );
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    let err = text(&out.stderr);
    println!("{err}");
    assert!(out.status.success(), "{err}");
    let all = stored(&wd, "d");
    assert_eq!(
        last(&all, &[("__name__", "tls_metric"), ("job", "good")]),
        1.0
    );
    assert_eq!(last(&all, &[("__name__", "up"), ("job", "good")]), 1.0);
    for j in ["badpass", "noca", "nocert", "noname"] {
        assert_eq!(last(&all, &[("__name__", "up"), ("job", j)]), 0.0, "{j}");
    }
    assert!(
        err.contains("job=\"badpass\"") && err.contains("server returned HTTP status 401"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains("job=\"noca\"") && l.to_lowercase().contains("certificate")),
        "{err}"
    );
}

#[test]
fn labels_limits_and_timestamps_as_prometheus() {
    let srv = Server::start(handler(|_| {
        Reply::text("m{job=\"exp\",instance=\"i\",x=\"1\"} 1\nn 2 1700000000000\nn 3 1700000000000\nm{job=\"exp\",instance=\"i\",x=\"1\"} 5\n")
    }));
    let wd = Workdir::new("scrape-labels");
    let job = |name: &str, extra: &str| {
        format!(
            "- job_name: {name}\n{extra}  static_configs:\n  - targets: ['{}']\n",
            srv.addr
        )
    };
    let tlimit = format!(
        "- job_name: tlimit\n  target_limit: 1\n  static_configs:\n  - targets: ['{0}', 'localhost:{1}']\n",
        srv.addr,
        srv.addr.port()
    );
    wd.write(
        "p.yml",
        format!(
            "scrape_configs:\n{}{}{}{}{}{}",
            job("plain", ""),
            job("honor", "  honor_labels: true\n  honor_timestamps: false\n"),
            job("limit", "  sample_limit: 1\n"),
            job("labels", "  label_limit: 3\n"),
            tlimit,
            job("relabel", "  metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: n\n    action: drop\n  - regex: x\n    action: labeldrop\n"),
        ),
    );
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let all = stored(&wd, "d");
    let addr = srv.addr.to_string();
    // Clashing exposed labels are kept as exported_*; the first of a repeated series wins.
    assert_eq!(
        last(
            &all,
            &[
                ("__name__", "m"),
                ("job", "plain"),
                ("instance", &addr),
                ("exported_job", "exp"),
                ("exported_instance", "i")
            ]
        ),
        1.0
    );
    let (_, n) = all
        .iter()
        .find(|(l, _)| l["__name__"] == "n" && l["job"] == "plain")
        .unwrap();
    assert_eq!(n[0].0, 1_700_000_000_000);
    assert_eq!(
        n[0].1, 2.0,
        "a repeated series and timestamp: the first value is kept"
    );
    assert_eq!(
        last(
            &all,
            &[("__name__", "m"), ("job", "exp"), ("instance", "i")]
        ),
        1.0
    );
    let (_, n) = all
        .iter()
        .find(|(l, _)| l["__name__"] == "n" && l["job"] == "honor")
        .unwrap();
    assert!(
        n[0].0 > 1_700_000_000_000,
        "honor_timestamps: false uses the scrape time"
    );
    assert_eq!(last(&all, &[("__name__", "up"), ("job", "limit")]), 0.0);
    assert_eq!(
        last(
            &all,
            &[("__name__", "scrape_samples_scraped"), ("job", "limit")]
        ),
        4.0
    );
    assert!(!all
        .iter()
        .any(|(l, _)| l["job"] == "limit" && l["__name__"] == "m"));
    assert!(
        err.contains("job=\"limit\"") && err.contains("sample limit exceeded"),
        "{err}"
    );
    assert!(
        err.contains("label_limit exceeded (metric: m, number of labels: 6, limit: 3)"),
        "{err}"
    );
    assert_eq!(
        last(
            &all,
            &[
                ("__name__", "scrape_samples_post_metric_relabeling"),
                ("job", "relabel")
            ]
        ),
        2.0
    );
    assert!(all
        .iter()
        .any(|(l, _)| l["job"] == "relabel" && l["__name__"] == "m" && !l.contains_key("x")));
    assert!(
        err.contains("samples dropped: same series and timestamp"),
        "{err}"
    );
    // target_limit: every target of the job fails, none is scraped.
    for inst in [addr.clone(), format!("localhost:{}", srv.addr.port())] {
        assert_eq!(
            last(
                &all,
                &[("__name__", "up"), ("job", "tlimit"), ("instance", &inst)]
            ),
            0.0
        );
    }
    assert!(!all
        .iter()
        .any(|(l, _)| l["job"] == "tlimit" && l["__name__"] == "m"));
    assert!(
        err.contains("target_limit exceeded (number of targets: 2, limit: 1)"),
        "{err}"
    );
}

#[test]
fn every_runs_rounds_until_sigterm_and_output_streams() {
    let wd = Workdir::new("scrape-every");
    wd.write("m.prom", "file_metric 7\n");
    wd.write(
        "p.yml",
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: f\n  static_configs:\n  - targets: ['file://{}']\n",
            wd.dir.join("m.prom").display()
        ),
    );
    let mut child = wd
        .cmd()
        .args(["scrape", "--config", "p.yml", "--data", "d", "--every"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    let all = stored(&wd, "d");
    let (_, pts) = all
        .iter()
        .find(|(l, _)| l["__name__"] == "file_metric")
        .unwrap();
    assert!((2..=4).contains(&pts.len()), "{pts:?}");
    // --output - feeds store.
    let out = wd.run(&["scrape", "--config", "p.yml", "--output", "-"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let om = text(&out.stdout);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.lines()
            .any(|l| l.starts_with("file_metric{instance=\"file://") && l.contains("} 7 ")),
        "{om}"
    );
    let st = wd.run(&["store", "--data", "e"], om.as_bytes());
    assert!(st.status.success(), "{}", text(&st.stderr));
    assert_eq!(stored(&wd, "e").len(), 6);
}

fn node_exporter() -> Option<(Proc, u16)> {
    if !crate::util::installed("prometheus-node-exporter", "prometheus-node-exporter") {
        return None;
    }
    let port = free_port();
    // Mounts that other tests make under the target dir (storage's out-of-disk tmpfs) come
    // and go while this node_exporter is scraped twice: excluded, so both scrapes see the
    // same filesystems. The rest is node_exporter's default.
    let exclude = format!(
        "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)|^{}",
        regex_quote(env!("CARGO_TARGET_TMPDIR"))
    );
    let p = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--collector.filesystem.mount-points-exclude={exclude}"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc(p);
    for _ in 0..100 {
        if ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .is_ok()
        {
            return Some((p, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("node_exporter did not start");
}

/// `s` with the regex metacharacters escaped.
fn regex_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The series of an exposition (text format), as label maps with `__name__`.
fn exposition_series(text: &str) -> BTreeSet<Series> {
    let mut out = BTreeSet::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, rest) = match l.find('{') {
            Some(i) => (&l[..i], &l[i + 1..l.rfind('}').unwrap()]),
            None => (l.split(' ').next().unwrap(), ""),
        };
        let mut s = Series::new();
        s.insert("__name__".into(), name.into());
        // node_exporter's label values hold no `",` sequences.
        for kv in rest.split("\",").filter(|x| !x.is_empty()) {
            let (k, v) = kv.split_once("=\"").unwrap();
            let v = v
                .trim_end_matches('"')
                .replace("\\\\", "\\")
                .replace("\\\"", "\"")
                .replace("\\n", "\n");
            if !v.is_empty() {
                // An empty value is no label.
                s.insert(k.trim_start_matches(',').into(), v);
            }
        }
        out.insert(s);
    }
    out
}

#[test]
fn node_exporter_series_are_stored_as_exposed() {
    let Some((_ne, port)) = node_exporter() else {
        return;
    };
    let wd = Workdir::new("scrape-node");
    wd.write(
        "p.yml",
        format!("scrape_configs:\n- job_name: node\n  static_configs:\n  - targets: ['127.0.0.1:{port}']\n"),
    );
    let exposed = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = stored(&wd, "d");
    let ours: BTreeSet<Series> = all
        .iter()
        .map(|(l, _)| l.clone())
        .filter(|l| !l["__name__"].starts_with("scrape_") && l["__name__"] != "up")
        .map(|mut l| {
            assert_eq!(l.remove("job").as_deref(), Some("node"));
            assert_eq!(l.remove("instance"), Some(format!("127.0.0.1:{port}")));
            l
        })
        .collect();
    let theirs = exposition_series(&exposed);
    // A few series (per-scrape go and http handler counters) may come and go between reads.
    same_series("node_exporter exposed / prombox stored", &theirs, &ours, 4);
    for name in ["node_memory_MemTotal_bytes", "node_boot_time_seconds"] {
        let want: f64 = exposed
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(last(&all, &[("__name__", name)]), want, "{name}");
    }
    assert_eq!(
        last(&all, &[("__name__", "scrape_samples_scraped")])
            .as_f64()
            .unwrap() as usize,
        theirs.len()
    );
}

/// Asserts two series sets agree but for at most `slack` series, printing the counts.
fn same_series(what: &str, theirs: &BTreeSet<Series>, ours: &BTreeSet<Series>, slack: usize) {
    let missing: Vec<_> = theirs.difference(ours).collect();
    let extra: Vec<_> = ours.difference(theirs).collect();
    println!(
        "{what}: {} / {} series, {} missing, {} extra",
        theirs.len(),
        ours.len(),
        missing.len(),
        extra.len()
    );
    assert!(
        missing.len() + extra.len() <= slack,
        "missing {missing:?}\nextra {extra:?}"
    );
}

pub(crate) fn prom_query(port: u16, q: &str) -> Vec<serde_json::Value> {
    let body = ureq::get(&format!("http://127.0.0.1:{port}/api/v1/query"))
        .query("query", q)
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The label sets of a Prometheus instant query's result.
fn prom_set(port: u16, q: &str) -> BTreeSet<Series> {
    prom_query(port, q)
        .iter()
        .map(|s| labels_of(&s["metric"]))
        .collect()
}

/// The stored series named `name`.
fn named(all: &[(Series, Vec<(i64, serde_json::Value)>)], name: &str) -> BTreeSet<Series> {
    all.iter()
        .filter(|(l, _)| l["__name__"] == name)
        .map(|(l, _)| l.clone())
        .collect()
}

fn labels_of(v: &serde_json::Value) -> Series {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Starts Prometheus on `config` (in `wd`) and waits until each of its `targets` targets has
/// been scraped twice.
pub(crate) fn prometheus(wd: &Workdir, config: &str, targets: usize) -> (Proc, u16) {
    let pport = free_port();
    let prom = Command::new("prometheus")
        .args([
            format!("--config.file={config}"),
            format!("--storage.tsdb.path={}", wd.dir.join("prom").display()),
            format!("--web.listen-address=127.0.0.1:{pport}"),
        ])
        .current_dir(&wd.dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(wd.dir.join("prom.log")).unwrap())
        .spawn()
        .unwrap();
    let prom = Proc(prom);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape: {}",
            std::fs::read_to_string(wd.dir.join("prom.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
        let Ok(r) = ureq::get(&format!("http://127.0.0.1:{pport}/-/ready")).call() else {
            continue;
        };
        if r.status() != 200 {
            continue;
        }
        let up = prom_query(pport, "count_over_time(up[1m])");
        if up.len() == targets
            && up
                .iter()
                .all(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 2.0)
        {
            return (prom, pport);
        }
    }
}

/// Prometheus's real-world expositions (../shared/conformance/textparse) scraped by
/// Prometheus and by prombox from one config: the same series with the same values.
#[test]
fn textparse_files_are_stored_as_prometheus_stores_them() {
    let Some(dir) = crate::util::conformance("textparse") else {
        return;
    };
    if !crate::util::installed("prometheus", "prometheus") {
        return;
    }
    let files = [
        "1histogram.om.txt",
        "alltypes.237mfs.nometa.prom.txt",
        "alltypes.237mfs.prom.txt",
        "alltypes.5mfs.om.txt",
    ];
    let bodies: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|f| (format!("/{f}"), std::fs::read(dir.join(f)).unwrap()))
        .collect();
    let srv = Server::start(handler(move |r| match bodies.get(&r.path) {
        Some(b) => Reply::Full {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                if r.path.ends_with(".om.txt") {
                    "application/openmetrics-text; version=1.0.0; charset=utf-8".into()
                } else {
                    "text/plain; version=0.0.4; charset=utf-8".into()
                },
            )],
            body: b.clone(),
        },
        None => Reply::status(404, "no"),
    }));
    let wd = Workdir::new("scrape-textparse");
    let mut cfg =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for f in files {
        cfg.push_str(&format!(
            "- job_name: '{f}'\n  metrics_path: /{f}\n  static_configs:\n  - targets: ['{}']\n",
            srv.addr
        ));
    }
    wd.write("p.yml", &cfg);
    let (_prom, pport) = prometheus(&wd, "p.yml", files.len());
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = stored(&wd, "d");
    for f in files {
        let q = format!("{{job=\"{f}\"}}");
        // Values compared as bits (NaN as one value), parsed from the API's strings.
        let bits = |v: f64| {
            if v.is_nan() {
                f64::NAN.to_bits()
            } else {
                v.to_bits()
            }
        };
        let theirs: BTreeMap<Series, u64> = prom_query(pport, &q)
            .iter()
            .map(|s| {
                let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels_of(&s["metric"]), bits(v))
            })
            .filter(|(l, _)| !l["__name__"].starts_with("scrape_") && l["__name__"] != "up")
            .collect();
        let ours: BTreeMap<Series, u64> = all
            .iter()
            .filter(|(l, _)| l["job"] == f)
            .filter(|(l, _)| !l["__name__"].starts_with("scrape_") && l["__name__"] != "up")
            .map(|(l, pts)| {
                let v = &pts.last().unwrap().1;
                let v = v
                    .as_f64()
                    .unwrap_or_else(|| v.as_str().unwrap().parse().unwrap());
                (l.clone(), bits(v))
            })
            .collect();
        let theirs_set: BTreeSet<Series> = theirs.keys().cloned().collect();
        let ours_set: BTreeSet<Series> = ours.keys().cloned().collect();
        same_series(
            &format!("textparse {f}: Prometheus / prombox"),
            &theirs_set,
            &ours_set,
            0,
        );
        let differ: Vec<_> = theirs
            .iter()
            .filter(|(l, v)| ours.get(*l) != Some(*v))
            .map(|(l, v)| format!("{l:?}: Prometheus {v}, prombox {:?}", ours.get(l)))
            .collect();
        assert!(
            differ.is_empty(),
            "{f}: values differ:\n{}",
            differ.join("\n")
        );
    }
}

#[test]
fn prometheus_and_prombox_agree_on_a_shared_config() {
    let Some((_ne, ne_port)) = node_exporter() else {
        return;
    };
    if !crate::util::installed("prometheus", "prometheus") {
        return;
    }
    let srv = Server::start(handler(|_| {
        Reply::text("clash{job=\"x\",instance=\"y\",team=\"b\",exported_team=\"c\"} 1\nplain 2\n")
    }));
    let wd = Workdir::new("scrape-prom");
    let cfg = r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: node
  static_configs:
  - targets: ['127.0.0.1:NE_PORT']
    labels: {env: test}
  relabel_configs:
  - source_labels: [__address__]
    regex: '(.*):(\d+)'
    target_label: host
    replacement: '$1'
  metric_relabel_configs:
  - source_labels: [__name__]
    regex: 'go_.*|promhttp_.*|process_.*'
    action: drop
  - action: labelmap
    regex: 'device'
    replacement: dev
  - regex: 'device'
    action: labeldrop
  - source_labels: [__name__, mode]
    regex: 'node_cpu_seconds_total;(idle|user)'
    target_label: busy
    replacement: '${1}_x'
- job_name: clash
  static_configs:
  - targets: ['SRV_ADDR']
    labels: {team: a}
"#
    .replace("NE_PORT", &ne_port.to_string())
    .replace("SRV_ADDR", &srv.addr.to_string());
    wd.write("p.yml", &cfg);
    let (_prom, pport) = prometheus(&wd, "p.yml", 2);
    let out = wd.run(&["scrape", "--config", "p.yml", "--data", "d"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = stored(&wd, "d");
    // Target labels after relabeling: Prometheus's `up` series and ours.
    assert_eq!(named(&all, "up"), prom_set(pport, "up"));
    // Every series of both jobs after metric relabeling, report series included.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = ureq::get(&format!("http://127.0.0.1:{pport}/api/v1/series"))
        .query("match[]", "{job=~\"node|clash\"}")
        .query("start", (now - 3).to_string())
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let theirs: BTreeSet<Series> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(labels_of)
        .collect();
    let ours: BTreeSet<Series> = all.iter().map(|(l, _)| l.clone()).collect();
    same_series("shared config: Prometheus / prombox", &theirs, &ours, 4);
    let names = |q: &str| -> BTreeSet<String> {
        prom_query(pport, q)
            .iter()
            .map(|s| s["metric"]["__name__"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let their_names = names("count by (__name__) ({job=~\"node|clash\"})");
    let our_names: BTreeSet<String> = ours.iter().map(|l| l["__name__"].clone()).collect();
    assert_eq!(our_names, their_names);
    // The synthetic series: same counts.
    for name in [
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
    ] {
        for job in ["node", "clash"] {
            let t = prom_query(pport, &format!("{name}{{job=\"{job}\"}}"));
            let theirs: f64 = t[0]["value"][1].as_str().unwrap().parse().unwrap();
            let ours = last(&all, &[("__name__", name), ("job", job)])
                .as_f64()
                .unwrap();
            println!("{name}{{job={job}}}: Prometheus {theirs}, prombox {ours}");
            assert!(
                (theirs - ours).abs() <= 2.0,
                "{name} {job}: {theirs} vs {ours}"
            );
        }
    }
    assert_eq!(named(&all, "clash"), prom_set(pport, "clash"));
}

#[test]
fn collect_is_named_like_node_exporter() {
    let wd = Workdir::new("collect");
    let out = wd.run(&["collect"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours = text(&out.stdout);
    let chk = wd.run(&["check", "metrics"], ours.as_bytes());
    assert!(chk.status.code() != Some(2), "{}", text(&chk.stderr));
    assert!(ours.contains("# TYPE node_cpu_seconds_total counter"));
    let Some((_ne, port)) = node_exporter() else {
        return;
    };
    let theirs = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let meta = |t: &str| -> BTreeSet<String> {
        t.lines()
            .filter(|l| l.starts_with("# "))
            .map(String::from)
            .collect()
    };
    let (o, t) = (meta(&ours), meta(&theirs));
    let not_there: Vec<_> = o.difference(&t).collect();
    println!(
        "collect: {} HELP/TYPE lines, all in node_exporter's: {}",
        o.len(),
        not_there.is_empty()
    );
    assert!(not_there.is_empty(), "{not_there:?}");
}
