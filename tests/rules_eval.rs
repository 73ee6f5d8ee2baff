//! `prombox rules eval`: cron rounds with state in the data dir (Prometheus's alert state
//! machine, resend rules, restore after a start, staleness, reloads, locking, exit codes),
//! crash safety under SIGKILL, and the `rules eval | alert send` pipeline into Debian's
//! Alertmanager.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{installed, text, Proc, Workdir};

/// A fixed start on a minute boundary.
const T0: i64 = 1_700_000_040_000;
const MIN: i64 = 60_000;

fn at(ms: i64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Two instances of `up`: `a` always 1, `b` 0 for ten minutes then 1; a sample every 15 s
/// over 20 minutes.
fn input() -> String {
    let mut s = String::new();
    let mut t = T0;
    while t <= T0 + 20 * MIN {
        let b = if t < T0 + 10 * MIN { 0 } else { 1 };
        s += &format!(
            "up{{job=\"node\",instance=\"a\"}} 1 {t}\nup{{job=\"node\",instance=\"b\"}} {b} {t}\n"
        );
        t += 15_000;
    }
    s
}

const RULES: &str = "groups:
- name: node
  interval: 1m
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - record: job:up:sum_x10
    expr: job:up:sum * 10
  - alert: Down
    expr: up == 0
    for: 2m
    labels: {severity: page}
    annotations: {summary: '{{ $labels.instance }} is down'}
";

fn eval_at(wd: &Workdir, ms: i64) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let o = wd.run(
        &[
            "rules",
            "eval",
            "--data",
            "d",
            "--at",
            &at(ms),
            "--external-url",
            "http://prom:9090",
            "r.yml",
        ],
        b"",
    );
    let lines = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (o.status.code(), lines, text(&o.stderr))
}

/// `query` at a time: the output lines, sorted.
fn query(wd: &Workdir, q: &str, ms: i64) -> Vec<String> {
    let o = wd.run(
        &[
            "query",
            "--data",
            "d",
            "--format",
            "jsonl",
            "--time",
            &at(ms),
            q,
        ],
        b"",
    );
    assert_eq!(o.status.code().unwrap_or(2) & !1, 0, "{}", text(&o.stderr));
    let mut v: Vec<String> = text(&o.stdout).lines().map(str::to_string).collect();
    v.sort();
    v
}

fn values(wd: &Workdir, q: &str, ms: i64) -> Vec<f64> {
    query(wd, q, ms)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let x = &v["value"][1];
            x.as_str().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn rules_eval_rounds_keep_prometheus_state() {
    let wd = Workdir::new("rules-eval");
    wd.write("in.prom", input());
    wd.write("r.yml", RULES);
    let o = wd.run(&["store", "--data", "d", "in.prom"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut sent: Vec<(i64, Vec<serde_json::Value>)> = Vec::new();
    for k in 0..13 {
        if k == 5 {
            // A reload: the recording rule after the first one removed, the alert's
            // annotation changed. The alert keeps its state; the removed rule's series go
            // stale.
            let edited = RULES
                .replace(
                    "  - record: job:up:sum_x10\n    expr: job:up:sum * 10\n",
                    "",
                )
                .replace("is down", "is DOWN");
            wd.write("r.yml", edited);
        }
        let (code, lines, err) = eval_at(&wd, T0 + k * MIN);
        assert_eq!(code, Some(0), "{k}: {err}");
        assert_eq!(err, "", "{k}");
        sent.push((k, lines));
    }
    // Recorded at every slot; the later rule sees the earlier one of the same round.
    for k in 0..10 {
        assert_eq!(values(&wd, "job:up:sum", T0 + k * MIN), vec![1.0], "{k}");
    }
    assert_eq!(values(&wd, "job:up:sum", T0 + 11 * MIN), vec![2.0]);
    assert_eq!(values(&wd, "job:up:sum_x10", T0 + 4 * MIN), vec![10.0]);
    assert_eq!(
        values(&wd, "timestamp(job:up:sum)", T0 + 3 * MIN + 30_000),
        vec![((T0 + 3 * MIN) / 1000) as f64]
    );
    // The removed rule's series got a staleness marker at the next evaluation.
    assert!(values(&wd, "job:up:sum_x10", T0 + 5 * MIN).is_empty());
    // No ALERTS before the group is restored (the first two evaluations after a start),
    // firing from the third, stale once resolved.
    assert!(query(&wd, "ALERTS", T0 + MIN).is_empty());
    let firing = query(&wd, "ALERTS{alertstate=\"firing\"}", T0 + 2 * MIN);
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert!(firing[0].contains("\"instance\":\"b\""), "{firing:?}");
    assert_eq!(
        values(&wd, "ALERTS_FOR_STATE", T0 + 9 * MIN),
        vec![(T0 / 1000) as f64]
    );
    assert!(query(&wd, "ALERTS", T0 + 10 * MIN).is_empty());
    // Resend rules: firing alerts at the first firing evaluation and then whenever the
    // resend delay (1 m) has passed, i.e. every other 1 m round; resolved ones at once and
    // again after the delay while kept.
    let rounds: Vec<i64> = sent
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(rounds, vec![2, 4, 6, 8, 10, 12], "{sent:?}");
    let first = &sent[2].1[0];
    let rfc = prombox::model::time::format_rfc3339;
    assert_eq!(first["labels"]["alertname"], "Down");
    assert_eq!(first["labels"]["instance"], "b");
    assert_eq!(first["labels"]["severity"], "page");
    assert_eq!(first["annotations"]["summary"], "b is down");
    assert_eq!(first["startsAt"], rfc(T0 + 2 * MIN));
    assert_eq!(first["endsAt"], rfc(T0 + 6 * MIN));
    assert_eq!(
        first["generatorURL"],
        "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    let after_reload = &sent[6].1[0];
    assert_eq!(after_reload["annotations"]["summary"], "b is DOWN");
    assert_eq!(after_reload["startsAt"], rfc(T0 + 2 * MIN));
    let resolved = &sent[10].1[0];
    assert_eq!(resolved["endsAt"], rfc(T0 + 10 * MIN));
    assert_eq!(sent[12].1[0]["endsAt"], rfc(T0 + 10 * MIN));

    // Evaluating a time already evaluated: a warning, nothing done.
    let (code, lines, err) = eval_at(&wd, T0 + 5 * MIN);
    assert_eq!(code, Some(0));
    assert!(lines.is_empty());
    assert!(err.contains("already evaluated"), "{err}");

    // A cron round long after: the last hour of slots is caught up, the rest skipped with a
    // warning, and the alert state starts afresh; a second round at once has nothing due.
    let o = wd.run(&["rules", "eval", "--data", "d", "r.yml"], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("evaluations skipped, more than --max-catch-up ago"),
        "{}",
        text(&o.stderr)
    );
    let now = prombox::model::time::now_ms();
    let o = wd.run(
        &[
            "query",
            "--data",
            "d",
            "--format",
            "jsonl",
            "count_over_time(job:up:sum[2h])",
            "--time",
            &at(now),
        ],
        b"",
    );
    // Recorded series went stale long ago (no input): the caught-up slots wrote nothing,
    // and nothing is left over from the catch-up in the last 2 hours.
    assert_eq!(text(&o.stdout), "", "{}", text(&o.stderr));

    // Another process holding the file's lock: skipped, and with nothing else to run, exit 2.
    let lock = std::fs::read_dir(wd.dir.join("d/rules"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "lock"))
        .unwrap();
    let held = std::fs::File::options().write(true).open(&lock).unwrap();
    held.try_lock().unwrap();
    let o = wd.run(&["rules", "eval", "--data", "d", "r.yml"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("r.yml: skipped: another rules eval is evaluating it"),
        "{}",
        text(&o.stderr)
    );
    drop(held);

    // A rule that fails: reported with file, group and rule, the group goes on, exit 1.
    wd.write(
        "bad.yml",
        "groups:\n- name: mixed\n  rules:\n  - record: bad\n    expr: up + on() up\n  - record: good\n    expr: count(up)\n",
    );
    let o = wd.run(
        &[
            "rules",
            "eval",
            "--data",
            "d",
            "--at",
            &at(T0 + 3 * MIN),
            "bad.yml",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("prombox: rules eval: bad.yml: group \"mixed\": rule \"bad\" at ")
            && err.contains("many-to-many matching not allowed"),
        "{err}"
    );
    assert_eq!(values(&wd, "good", T0 + 3 * MIN), vec![2.0]);
    // A rule file that does not load: nothing runs, exit 2 with its position.
    wd.write(
        "broken.yml",
        "groups:\n- name: x\n  rules:\n  - record: y\n    expr: sum(\n",
    );
    let o = wd.run(&["rules", "eval", "--data", "d", "broken.yml"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("broken.yml:5:"),
        "{}",
        text(&o.stderr)
    );
}

/// The table of a person, and backfill: every slot of a range from a fresh state, recorded
/// series and ALERTS alike, the alerts firing at the end printed.
#[test]
fn rules_eval_backfills_a_range() {
    let wd = Workdir::new("rules-backfill");
    wd.write("in.prom", input());
    wd.write("r.yml", RULES);
    let o = wd.run(&["store", "--data", "d", "in.prom"], b"");
    assert_eq!(o.status.code(), Some(0));
    let o = wd.run(
        &[
            "rules",
            "eval",
            "--data",
            "d",
            "--start",
            &at(T0),
            "--end",
            &at(T0 + 8 * MIN),
            "r.yml",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let firing: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(firing[0]["labels"]["instance"], "b");
    assert_eq!(
        firing[0]["startsAt"],
        prombox::model::time::format_rfc3339(T0 + 2 * MIN)
    );
    // Unlike a cron start, a backfill writes ALERTS from its first slot.
    let pending = query(&wd, "ALERTS{alertstate=\"pending\"}", T0);
    assert_eq!(pending.len(), 1, "{pending:?}");
    for k in 0..=8 {
        assert_eq!(
            values(&wd, "job:up:sum_x10", T0 + k * MIN),
            vec![10.0],
            "{k}"
        );
    }
    let o = wd.run(
        &[
            "query",
            "--data",
            "d",
            "--time",
            &at(T0 + 9 * MIN),
            "count_over_time(ALERTS{alertstate=\"firing\"}[10m])",
        ],
        b"",
    );
    assert!(text(&o.stdout).contains(" 7"), "{}", text(&o.stdout));
    // The cron state was not touched: a round at T0 still starts afresh.
    assert!(
        !wd.dir.join("d/rules").exists()
            || std::fs::read_dir(wd.dir.join("d/rules"))
                .unwrap()
                .next()
                .is_none()
    );
    let o = wd.run(
        &[
            "rules",
            "eval",
            "--data",
            "d",
            "--at",
            &at(T0 + 20 * MIN),
            "--format",
            "table",
            "r.yml",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stdout), "");
}

/// SIGKILL at random moments of rounds, each followed by a rerun: every alert a clean run
/// sends is sent, and the data is the clean run's.
#[test]
fn sigkill_rules_eval() {
    let clean = Workdir::new("rules-kill-clean");
    let crashy = Workdir::new("rules-kill");
    for wd in [&clean, &crashy] {
        wd.write("in.prom", input());
        wd.write("r.yml", RULES);
        let o = wd.run(&["store", "--data", "d", "in.prom"], b"");
        assert_eq!(o.status.code(), Some(0));
    }
    let key = |v: &serde_json::Value| v.to_string();
    let mut want = BTreeSet::new();
    let mut got = BTreeSet::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut killed = 0;
    for k in 0..14 {
        let ts = T0 + k * MIN;
        for l in eval_at(&clean, ts).1 {
            want.insert(key(&l));
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let child = crashy
            .cmd()
            .args([
                "rules",
                "eval",
                "--data",
                "d",
                "--at",
                &at(ts),
                "--external-url",
                "http://prom:9090",
                "r.yml",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng % 15_000));
        let pid = child.id() as i32;
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let out = child.wait_with_output().unwrap();
        if out.status.code().is_none() {
            killed += 1;
        }
        for l in text(&out.stdout).lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                got.insert(key(&v));
            }
        }
        let (code, lines, err) = eval_at(&crashy, ts);
        assert_eq!(code, Some(0), "{err}");
        for l in lines {
            got.insert(key(&l));
        }
    }
    eprintln!("rules eval: {killed} of 14 rounds killed");
    assert_eq!(got, want);
    let export = |wd: &Workdir| {
        let o = wd.run(
            &["export", "--data", "d", "{__name__=~\"job:.*|ALERTS.*\"}"],
            b"",
        );
        text(&o.stdout)
    };
    assert_eq!(export(&crashy), export(&clean));
}

/// An Alertmanager on a free port whose route sends to a webhook receiver at `hook`.
fn alertmanager(wd: &Workdir, hook: u16) -> Option<(Proc, u16)> {
    crate::util::alertmanager(
        wd,
        &format!("route:\n  receiver: hook\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook}/hook\n        send_resolved: true\n"),
    )
}

/// A webhook receiver: every request body it gets, sent on the channel.
fn webhook_receiver() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    (port, rx)
}

#[test]
fn rules_eval_into_alertmanager() {
    let wd = Workdir::new("rules-am");
    let (hook, bodies) = webhook_receiver();
    let Some((_am, port)) = alertmanager(&wd, hook) else {
        return;
    };
    let now = prombox::model::time::now_ms();
    let mut s = String::new();
    for k in 0..10 {
        s += &format!(
            "disk_free{{host=\"db1\"}} 0 {}\n",
            now - 600_000 + k * 60_000
        );
    }
    wd.write("in.prom", s);
    wd.write(
        "r.yml",
        "groups:\n- name: disks\n  rules:\n  - alert: DiskFull\n    expr: disk_free == 0\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.host }} has no space'}\n",
    );
    assert_eq!(
        wd.run(&["store", "--data", "d", "in.prom"], b"")
            .status
            .code(),
        Some(0)
    );
    let pipeline = |ts: i64| {
        let o = wd.run(
            &["rules", "eval", "--data", "d", "--at", &at(ts), "r.yml"],
            b"",
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let alerts = o.stdout;
        let o = wd.run(
            &[
                "alert",
                "send",
                "--alertmanager",
                &format!("127.0.0.1:{port}"),
            ],
            &alerts,
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        alerts
    };
    let fired = pipeline(now);
    let body = ureq::get(&format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["labels"]["alertname"], "DiskFull");
    assert_eq!(listed[0]["labels"]["host"], "db1");
    assert_eq!(listed[0]["annotations"]["summary"], "db1 has no space");
    let starts = listed[0]["startsAt"].as_str().unwrap();
    assert_eq!(
        prombox::model::time::parse_rfc3339(starts),
        Some(now),
        "{starts}"
    );
    let first = bodies
        .recv_timeout(Duration::from_secs(20))
        .expect("webhook notified");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["version"], "4");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["alerts"][0]["labels"]["host"], "db1");
    // The same alerts sent straight to a webhook receiver (no Alertmanager): the payload
    // Alertmanager sent, but for the receiver's name and Alertmanager's own URL.
    let (direct, direct_bodies) = webhook_receiver();
    let o = wd.run(
        &[
            "alert",
            "send",
            "--webhook",
            &format!("http://127.0.0.1:{direct}/hook"),
        ],
        &fired,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let ours = direct_bodies.recv_timeout(Duration::from_secs(5)).unwrap();
    let mut ours_v: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let mut theirs_v = v.clone();
    for x in [&mut ours_v, &mut theirs_v] {
        x["receiver"] = "".into();
        x["externalURL"] = "".into();
    }
    assert_eq!(ours_v, theirs_v, "ours {ours}\ntheirs {first}");
    assert!(ours.contains("\\u0026g0.tab=1"), "Go's escaping: {ours}");
    // A receiver that is down: exit 2 with the reason.
    let o = wd.run(
        &[
            "alert",
            "send",
            "--webhook",
            &format!("127.0.0.1:{}", crate::util::free_port()),
        ],
        &fired,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("1 of 1 webhooks did not take the alerts"),
        "{}",
        text(&o.stderr)
    );
    // The condition clears: the next round resolves it.
    wd.write(
        "clear.prom",
        format!("disk_free{{host=\"db1\"}} 5 {}\n", now + 1000),
    );
    assert_eq!(
        wd.run(&["store", "--data", "d", "clear.prom"], b"")
            .status
            .code(),
        Some(0)
    );
    std::thread::sleep(Duration::from_millis(1100));
    pipeline(prombox::model::time::now_ms());
    let body = ureq::get(&format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(body.trim(), "[]", "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let b = bodies
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("resolved notification");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        if v["status"] == "resolved" {
            break;
        }
    }
}

/// An alert as unit tests compare it: labels, annotations.
type LabelsAndAnnotations = (Vec<(String, String)>, Vec<(String, String)>);

/// A field of a YAML mapping.
fn field<'a>(n: &'a prombox::yaml::Node, key: &str) -> Option<&'a prombox::yaml::Node> {
    n.map("test").ok()?.get(key)
}

fn duration(n: Option<&prombox::yaml::Node>) -> i64 {
    n.and_then(|n| n.str().ok())
        .map(|s| prombox::model::time::parse_model_duration(s).unwrap())
        .unwrap_or(0)
}

fn string_map(n: Option<&prombox::yaml::Node>) -> std::collections::BTreeMap<String, String> {
    n.map(|n| {
        n.string_map()
            .unwrap()
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect()
    })
    .unwrap_or_default()
}

/// Every promtool unit-test file of the conformance data, run another way: each test
/// group's input series stored in a data dir, `rules eval --start 0 --end T` backfilled
/// over them, then the alerts it prints at T compared with each `alert_rule_test` and
/// `prombox query` at T with each `promql_expr_test` (recorded series and ALERTS come
/// from the backfill). A group agrees when the backfill runs without a failing rule and
/// matches every case exactly where `rules test` passes the group (some files hold tests
/// meant to fail).
#[test]
fn rules_eval_backfill_agrees_with_rule_unit_tests() {
    let Some(dir) = crate::util::conformance("promtool") else {
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    names.sort();
    let mut total = (0, 0);
    for path in names {
        let src = std::fs::read_to_string(&path).unwrap();
        let Ok(root) = prombox::yaml::parse(&src) else {
            continue;
        };
        let Some(tests) = field(&root, "tests").and_then(|t| t.seq().ok()) else {
            continue;
        };
        let fname = path.file_name().unwrap().to_string_lossy().to_string();
        let rule_files: Vec<String> = field(&root, "rule_files")
            .and_then(|r| r.strings().ok())
            .unwrap_or_default()
            .iter()
            .map(|r| dir.join(r).display().to_string())
            .collect();
        let mut eval_interval = duration(field(&root, "evaluation_interval"));
        if eval_interval == 0 {
            eval_interval = MIN;
        }
        let (mut pass, mut fail, mut skip) = (0, 0, Vec::new());
        let fuzzy = field(&root, "fuzzy_compare")
            .and_then(|x| x.bool().ok())
            .unwrap_or(false);
        for (gi, tg) in tests.iter().enumerate() {
            let interval = match duration(field(tg, "interval")) {
                0 => eval_interval,
                i => i,
            };
            // What `rules test` (promtool's verdicts, checked elsewhere) says of this group;
            // an unnamed group is taken to pass as written.
            let gname = field(tg, "name").and_then(|x| x.str().ok()).unwrap_or("");
            let expect_pass = if gname.is_empty() {
                tests.len() > 1 || {
                    let wd = Workdir::new("rules-conf-verdict");
                    let o = wd.run(&["rules", "test", &path.display().to_string()], b"");
                    o.status.code() == Some(0)
                }
            } else {
                let re: String = gname
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == ' ' {
                            c.to_string()
                        } else {
                            format!("\\{c}")
                        }
                    })
                    .collect();
                let wd = Workdir::new("rules-conf-verdict");
                let o = wd.run(
                    &[
                        "rules",
                        "test",
                        "--run",
                        &format!("^{re}$"),
                        &path.display().to_string(),
                    ],
                    b"",
                );
                o.status.code() == Some(0)
            };
            let mut group_ok = true;
            let mut skipped = false;
            let mut group_cases = 0;
            let start = field(tg, "start_timestamp")
                .and_then(|x| x.str().ok())
                .map(|s| prombox::model::time::parse_timestamp(s).unwrap())
                .unwrap_or(0);
            // Input series as an exposition with timestamps.
            let mut expo = String::new();
            let mut unsupported = None;
            for s in field(tg, "input_series")
                .and_then(|s| s.seq().ok())
                .unwrap_or(&[])
            {
                let series = field(s, "series").and_then(|x| x.str().ok()).unwrap_or("");
                let vals = field(s, "values").and_then(|x| x.str().ok()).unwrap_or("");
                if vals.contains("stale") || vals.contains("{{") {
                    unsupported = Some("stale markers or native histograms in input");
                }
                let Ok(labels) = prombox::promql::script::parse_labels(series.trim()) else {
                    unsupported = Some("input series that do not parse");
                    break;
                };
                let mut budget = usize::MAX;
                let Ok(points) = prombox::model::notation::parse_values(vals, &mut budget) else {
                    unsupported = Some("input values that do not parse");
                    break;
                };
                for (k, p) in points.iter().enumerate() {
                    if let prombox::model::notation::SeqValue::Float(v) = p {
                        let v = if v.is_nan() {
                            "NaN".to_string()
                        } else if v.is_infinite() {
                            if *v > 0.0 {
                                "+Inf".into()
                            } else {
                                "-Inf".into()
                            }
                        } else {
                            format!("{v:?}")
                        };
                        expo += &format!("{labels} {v} {}\n", start + k as i64 * interval);
                    }
                }
            }
            if let Some(why) = unsupported {
                skip.push(format!("group {gi}: {why}"));
                continue;
            }
            let ext = string_map(field(tg, "external_labels"));
            let ext_url = field(tg, "external_url")
                .and_then(|x| x.str().ok())
                .unwrap_or("");
            let alert_tests = field(tg, "alert_rule_test")
                .and_then(|x| x.seq().ok())
                .unwrap_or(&[]);
            let promql_tests = field(tg, "promql_expr_test")
                .and_then(|x| x.seq().ok())
                .unwrap_or(&[]);
            let mut times: Vec<i64> = alert_tests
                .iter()
                .chain(promql_tests)
                .map(|t| duration(field(t, "eval_time")))
                .collect();
            times.sort();
            times.dedup();
            if times.is_empty() {
                times.push(0);
            }
            for t in times {
                let wd = Workdir::new("rules-conf");
                wd.write("in.prom", &expo);
                let mut cfg = String::from("global:\n  external_labels:\n");
                for (k, v) in &ext {
                    cfg += &format!("    {k}: {v:?}\n");
                }
                if ext.is_empty() {
                    cfg = String::from("global: {}\n");
                }
                wd.write("p.yml", cfg);
                let o = wd.run(&["store", "--data", "d", "in.prom"], b"");
                assert_eq!(o.status.code(), Some(0), "{fname}: {}", text(&o.stderr));
                let iv = format!("{}ms", eval_interval);
                let mut args: Vec<&str> = vec![
                    "rules",
                    "eval",
                    "--data",
                    "d",
                    "--config",
                    "p.yml",
                    "--eval-interval",
                    &iv,
                ];
                let end = at(start + t);
                let begin = at(start);
                args.extend(["--start", &begin, "--end", &end]);
                if !ext_url.is_empty() {
                    args.extend(["--external-url", ext_url]);
                }
                args.extend(rule_files.iter().map(String::as_str));
                let o = if rule_files.is_empty() {
                    // Only queries over the input: nothing to evaluate.
                    wd.run(&["query", "--data", "d", "vector(0)"], b"")
                } else {
                    wd.run(&args, b"")
                };
                if o.status.code() != Some(0) {
                    group_ok = false;
                }
                if o.status.code() == Some(2) && text(&o.stderr).contains("not found in type") {
                    skip.push(format!("group {gi}: unknown fields in rule files (promtool's --ignore-unknown-fields)"));
                    skipped = true;
                    break;
                }
                if o.status.code() == Some(2) {
                    // The rule files do not load: nothing is evaluated (rules test fails too).
                    break;
                }
                let firing: Vec<serde_json::Value> = match rule_files.is_empty() {
                    true => Vec::new(),
                    false => text(&o.stdout)
                        .lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect(),
                };
                for at_test in alert_tests
                    .iter()
                    .filter(|a| duration(field(a, "eval_time")) == t)
                {
                    let name = field(at_test, "alertname")
                        .and_then(|x| x.str().ok())
                        .unwrap_or("");
                    let mut want: Vec<LabelsAndAnnotations> = field(at_test, "exp_alerts")
                        .and_then(|x| x.seq().ok())
                        .unwrap_or(&[])
                        .iter()
                        .map(|a| {
                            let mut l = string_map(field(a, "exp_labels"));
                            l.insert("alertname".into(), name.into());
                            let an = string_map(field(a, "exp_annotations"));
                            (l.into_iter().collect(), an.into_iter().collect())
                        })
                        .collect();
                    let mut got: Vec<LabelsAndAnnotations> = firing
                        .iter()
                        .filter(|a| a["labels"]["alertname"] == name)
                        .map(|a| {
                            let m = |v: &serde_json::Value| -> Vec<(String, String)> {
                                v.as_object()
                                    .map(|o| {
                                        o.iter()
                                            .map(|(k, v)| {
                                                (k.clone(), v.as_str().unwrap_or("").to_string())
                                            })
                                            .collect()
                                    })
                                    .unwrap_or_default()
                            };
                            (m(&a["labels"]), m(&a["annotations"]))
                        })
                        .collect();
                    want.sort();
                    got.sort();
                    group_cases += 1;
                    if want != got {
                        group_ok = false;
                        if expect_pass {
                            eprintln!("rules eval vs {fname}: group {gi} alert {name} at {t} ms: want {want:?}, got {got:?}");
                        }
                    }
                }
                for pt in promql_tests
                    .iter()
                    .filter(|p| duration(field(p, "eval_time")) == t)
                {
                    let expr = field(pt, "expr").and_then(|x| x.str().ok()).unwrap_or("");
                    let mut want: Vec<(String, f64)> = field(pt, "exp_samples")
                        .and_then(|x| x.seq().ok())
                        .unwrap_or(&[])
                        .iter()
                        .map(|s| {
                            let l = field(s, "labels")
                                .and_then(|x| x.str().ok())
                                .unwrap_or("{}");
                            let l = prombox::promql::script::parse_labels(l)
                                .map(|l| l.to_string())
                                .unwrap_or_default();
                            let v = field(s, "value").and_then(|x| x.str().ok()).unwrap_or("0");
                            (l, v.parse::<f64>().unwrap_or(f64::NAN))
                        })
                        .collect();
                    let o = wd.run(
                        &[
                            "query", "--data", "d", "--format", "jsonl", "--time", &end, expr,
                        ],
                        b"",
                    );
                    let mut got: Vec<(String, f64)> = text(&o.stdout)
                        .lines()
                        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                        .map(|v| {
                            let pairs: Vec<(String, String)> = v["metric"]
                                .as_object()
                                .map(|o| {
                                    o.iter()
                                        .map(|(k, v)| {
                                            (k.clone(), v.as_str().unwrap_or("").to_string())
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            let l = prombox::model::Labels::from_pairs(
                                pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                            )
                            .map(|l| l.to_string())
                            .unwrap_or_default();
                            let x = v["value"][1]
                                .as_str()
                                .unwrap_or("NaN")
                                .parse::<f64>()
                                .unwrap_or(f64::NAN);
                            (l, x)
                        })
                        .collect();
                    if o.status.code() == Some(2) {
                        // A query error fails the case, as in promtool.
                        group_ok = false;
                        continue;
                    }
                    want.sort_by(|a, b| a.0.cmp(&b.0));
                    got.sort_by(|a, b| a.0.cmp(&b.0));
                    let same = want.len() == got.len()
                        && want.iter().zip(&got).all(|(a, b)| {
                            a.0 == b.0
                                && (a.1 == b.1
                                    || (fuzzy
                                        && a.1.signum() == b.1.signum()
                                        && (a.1.to_bits() as i64 - b.1.to_bits() as i64).abs()
                                            == 1)
                                    || (a.1.is_nan() && b.1.is_nan()))
                        });
                    group_cases += 1;
                    if !same {
                        group_ok = false;
                        if expect_pass {
                            eprintln!("rules eval vs {fname}: group {gi} {expr:?} at {t} ms: want {want:?}, got {got:?}");
                        }
                    }
                }
            }
            if skipped {
                continue;
            }
            if group_ok == expect_pass {
                pass += 1;
            } else {
                fail += 1;
                eprintln!("rules eval vs {fname}: group {gi} ({group_cases} cases): rules test says {}, the backfill {}", if expect_pass { "pass" } else { "fail" }, if group_ok { "agrees with every case" } else { "does not" });
            }
        }
        eprintln!(
            "rules eval vs {fname}: {pass} groups agree, {fail} disagree, {} skipped{}",
            skip.len(),
            if skip.is_empty() {
                String::new()
            } else {
                format!(" ({})", skip.join("; "))
            }
        );
        total.0 += pass;
        total.1 += fail;
    }
    eprintln!(
        "rules eval vs promtool unit tests: {} groups agree, {} disagree",
        total.0, total.1
    );
    assert!(total.0 > 0);
    assert_eq!(total.1, 0);
}

/// The raw samples of a range selector, by series (labels as JSON text): from Prometheus's
/// API or prombox's jsonl, which share the shape.
fn raw_samples(
    results: &[serde_json::Value],
) -> std::collections::BTreeMap<String, Vec<(i64, String)>> {
    results
        .iter()
        .map(|s| {
            let pts = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                    (t, p[1].as_str().unwrap().to_string())
                })
                .collect();
            (s["metric"].to_string(), pts)
        })
        .collect()
}

/// A target whose values step over time, scraped every second by Debian's Prometheus with a
/// rule file at a 2 s evaluation interval, and by `prombox scrape --every` plus `prombox
/// rules eval` from a loop on the same config: the same evaluation slots (one grid), the
/// same recorded series and `ALERTS` / `ALERTS_FOR_STATE` series, and values and alert
/// states that agree at nearly every slot (the two scrape at different moments, so a slot
/// right after a step may see the old value in one and the new in the other).
#[test]
fn rules_eval_agrees_with_prometheus() {
    if !installed("prometheus", "prometheus") {
        return;
    }
    use crate::server::{Reply, Server};
    let wd = Workdir::new("rules-vs-prom");
    let target = Server::start(std::sync::Arc::new(|_req| {
        let s = prombox::model::time::now_ms() / 6000;
        Reply::text(format!(
            "# TYPE step gauge\nstep {}\n# TYPE flag gauge\nflag {}\n",
            s % 5,
            s % 2
        ))
    }));
    wd.write(
        "r.yml",
        "groups:\n- name: steps\n  rules:\n  - record: step:x2\n    expr: step * 2\n  - record: step:x2_plus\n    expr: step:x2 + 1\n  - alert: Odd\n    expr: flag == 1\n    for: 3s\n    labels: {severity: page}\n",
    );
    let cfg = wd.write(
        "p.yml",
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 2s\nrule_files: [r.yml]\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    );
    let cfg = cfg.display().to_string();
    let (_prom, pport) = crate::scrape_run::prometheus(&wd, &cfg, 1);
    let _scrape = Proc(
        wd.cmd()
            .args(["scrape", "--config", &cfg, "--data", "d", "--every"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = prombox::model::time::now_ms();
    std::thread::sleep(Duration::from_millis(1500));
    while prombox::model::time::now_ms() < start + 40_000 {
        let o = wd.run(&["rules", "eval", "--config", &cfg, "--data", "d"], b"");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        std::thread::sleep(Duration::from_millis(300));
    }
    let end = prombox::model::time::now_ms() - 3000;
    let window = format!("[{}ms]", end - start - 6000);
    let ours = |q: &str| {
        let o = wd.run(
            &[
                "query",
                "--data",
                "d",
                "--format",
                "jsonl",
                "--time",
                &at(end),
                q,
            ],
            b"",
        );
        let v: Vec<serde_json::Value> = text(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        raw_samples(&v)
    };
    let theirs = |q: &str| {
        let body = ureq::get(&format!("http://127.0.0.1:{pport}/api/v1/query"))
            .query("query", q)
            .query("time", at(end))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        raw_samples(v["data"]["result"].as_array().unwrap())
    };
    for name in ["step:x2", "step:x2_plus", "ALERTS", "ALERTS_FOR_STATE"] {
        let q = format!("{name}{window}");
        let (a, b) = (ours(&q), theirs(&q));
        let keys = |m: &std::collections::BTreeMap<String, Vec<(i64, String)>>| {
            m.keys().cloned().collect::<BTreeSet<String>>()
        };
        if name.starts_with("ALERTS") {
            // Both wrote the alert (pending and firing states alike).
            assert!(!b.is_empty(), "{name}: Prometheus wrote none");
            assert_eq!(keys(&a), keys(&b), "{name}");
        } else {
            assert_eq!(keys(&a), keys(&b), "{name}");
        }
        let (mut slots, mut same_slot, mut same_value) = (0, 0, 0);
        for (series, theirs_pts) in &b {
            let ours_pts = &a[series];
            let ours_map: std::collections::BTreeMap<i64, &String> =
                ours_pts.iter().map(|(t, v)| (*t, v)).collect();
            for (t, v) in theirs_pts {
                slots += 1;
                if let Some(o) = ours_map.get(t) {
                    same_slot += 1;
                    if *o == v {
                        same_value += 1;
                    }
                }
            }
        }
        eprintln!(
            "rules eval vs Prometheus: {name}: {slots} samples of Prometheus's, {same_slot} at the same slot in prombox, {same_value} with the same value"
        );
        if name.starts_with("step") {
            // Every evaluation slot of the window (one every 2 s).
            assert!(slots >= 12, "{name}: {slots}");
            assert!(
                same_slot * 10 >= slots * 9,
                "{name}: {same_slot} of {slots} slots"
            );
            assert!(
                same_value * 10 >= same_slot * 7,
                "{name}: {same_value} of {same_slot} values"
            );
        } else {
            assert!(
                same_slot * 10 >= slots * 6,
                "{name}: {same_slot} of {slots} slots"
            );
        }
    }
}
